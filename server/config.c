#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/file.h"
#include "util/guard.h"
#include "util/log.h"

/* Copy value into a fixed field or fail: a silently cut path is a bug. */
static int set_str(char *dst, size_t cap, const char *key, const char *value, const char *source,
                   mk_err *e) {
  size_t n = strlen(value);
  if (n >= cap)
    return mk_err_set(e, MK_EINVAL, "%s: %s is longer than %zu bytes", source, key, cap - 1);
  memcpy(dst, value, n + 1);
  return 0;
}

static int parse_bool(const char *v, int *out) {
  static const char *const yes[] = {"1", "true", "yes", "on"};
  static const char *const no[] = {"0", "false", "no", "off"};
  for (size_t i = 0; i < 4; i++) {
    if (strcasecmp(v, yes[i]) == 0) {
      *out = 1;
      return 0;
    }
    if (strcasecmp(v, no[i]) == 0) {
      *out = 0;
      return 0;
    }
  }
  return -1;
}

static int parse_long(const char *v, long min, long max, long *out) {
  if (*v == '\0' || !isdigit((unsigned char)*v))
    return -1;
  errno = 0;
  char *end = NULL;
  long x = strtol(v, &end, 10);
  if (errno != 0 || *end != '\0' || x < min || x > max)
    return -1;
  *out = x;
  return 0;
}

/* The real-name provider and the service phone (docs/identity.md). */
static int config_set_identity(mk_config *c, const char *key, const char *value,
                               const char *source, mk_err *e) {
  long n;
  if (strcmp(key, "realname") == 0) {
    if (*value != '\0' && strcmp(value, "sandbox") != 0 && strcmp(value, "http") != 0)
      return mk_err_set(e, MK_EINVAL, "%s: realname must be sandbox or http", source);
    return set_str(c->realname, sizeof c->realname, key, value, source, e);
  }
  if (strcmp(key, "realname_url") == 0) {
    if (*value != '\0' && strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
      return mk_err_set(e, MK_EINVAL, "%s: realname_url must start with http:// or https://",
                        source);
    return set_str(c->realname_url, sizeof c->realname_url, key, value, source, e);
  }
  if (strcmp(key, "realname_token_file") == 0)
    return set_str(c->realname_token_file, sizeof c->realname_token_file, key, value, source, e);
  if (strcmp(key, "realname_timeout_ms") == 0) {
    if (parse_long(value, 100, 120000, &n) != 0)
      return mk_err_set(e, MK_EINVAL, "%s: realname_timeout_ms must be 100 to 120000", source);
    c->realname_timeout_ms = (int)n;
    return 0;
  }
  if (strcmp(key, "service_phone") == 0) {
    size_t len = strlen(value);
    if (len < 3 || len > 20 || strspn(value, "0123456789-+ ") != len)
      return mk_err_set(e, MK_EINVAL,
                        "%s: service_phone is 3 to 20 digits, '-', '+' or spaces", source);
    return set_str(c->service_phone, sizeof c->service_phone, key, value, source, e);
  }
  return mk_err_set(e, MK_EINVAL, "%s: unknown setting '%s'", source, key);
}

int mk_config_set(mk_config *c, const char *key, const char *value, const char *source,
                  mk_err *e) {
  long n;
  if (strcmp(key, "data") == 0)
    return set_str(c->data_dir, sizeof c->data_dir, key, value, source, e);
  if (strcmp(key, "listen") == 0)
    return set_str(c->listen, sizeof c->listen, key, value, source, e);
  if (strcmp(key, "public_url") == 0) {
    if (*value != '\0' && strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
      return mk_err_set(e, MK_EINVAL, "%s: public_url must start with http:// or https://", source);
    return set_str(c->public_url, sizeof c->public_url, key, value, source, e);
  }
  if (strcmp(key, "store") == 0)
    return set_str(c->store_url, sizeof c->store_url, key, value, source, e);
  if (strcmp(key, "tls_cert") == 0)
    return set_str(c->tls_cert, sizeof c->tls_cert, key, value, source, e);
  if (strcmp(key, "tls_key") == 0)
    return set_str(c->tls_key, sizeof c->tls_key, key, value, source, e);
  if (strcmp(key, "cas_file") == 0)
    return set_str(c->cas_file, sizeof c->cas_file, key, value, source, e);
  if (strcmp(key, "sandbox") == 0 || strcmp(key, "insecure_http") == 0) {
    int b;
    if (parse_bool(value, &b) != 0)
      return mk_err_set(e, MK_EINVAL, "%s: %s must be true or false", source, key);
    *(key[0] == 's' ? &c->sandbox : &c->insecure_http) = b;
    return 0;
  }
  if (strcmp(key, "threads") == 0) {
    if (parse_long(value, 1, 64, &n) != 0)
      return mk_err_set(e, MK_EINVAL, "%s: threads must be a whole number from 1 to 64", source);
    c->threads = (int)n;
    return 0;
  }
  if (strcmp(key, "body_max") == 0) {
    if (parse_long(value, 1024, 64L << 20, &n) != 0)
      return mk_err_set(e, MK_EINVAL, "%s: body_max must be bytes from 1024 to 67108864", source);
    c->body_max = (size_t)n;
    return 0;
  }
  if (strcmp(key, "sms_provider") == 0 || strcmp(key, "wechat_provider") == 0) {
    if (*value != '\0' && strcmp(value, "sandbox") != 0 && strcmp(value, "http") != 0)
      return mk_err_set(e, MK_EINVAL, "%s: %s must be sandbox or http", source, key);
    return set_str(key[0] == 's' ? c->sms_provider : c->wechat_provider, sizeof c->sms_provider,
                   key, value, source, e);
  }
  if (strcmp(key, "sms_url") == 0 || strcmp(key, "wechat_url") == 0) {
    if (*value != '\0' && strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
      return mk_err_set(e, MK_EINVAL, "%s: %s must start with http:// or https://", source, key);
    return set_str(key[0] == 's' ? c->sms_url : c->wechat_url, sizeof c->sms_url, key, value,
                   source, e);
  }
  if (strcmp(key, "sms_phone_limit") == 0 || strcmp(key, "sms_ip_limit") == 0) {
    if (parse_long(value, 1, 100000, &n) != 0)
      return mk_err_set(e, MK_EINVAL, "%s: %s must be a whole number from 1 to 100000", source,
                        key);
    *(key[4] == 'p' ? &c->sms_phone_limit : &c->sms_ip_limit) = (int)n;
    return 0;
  }
  if (strcmp(key, "wechat_appid") == 0)
    return set_str(c->wechat_appid, sizeof c->wechat_appid, key, value, source, e);
  if (strcmp(key, "wechat_secret_file") == 0)
    return set_str(c->wechat_secret_file, sizeof c->wechat_secret_file, key, value, source, e);
  if (strncmp(key, "realname", 8) == 0 || strcmp(key, "service_phone") == 0)
    return config_set_identity(c, key, value, source, e);
  if (strcmp(key, "log_level") == 0) {
    int lvl = mk_log_level_parse(value);
    if (lvl < 0)
      return mk_err_set(e, MK_EINVAL, "%s: log_level must be debug, info, warn or error", source);
    c->log_level = lvl;
    return 0;
  }
  return mk_err_set(e, MK_EINVAL, "%s: unknown setting '%s'", source, key);
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t')
    s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
    s[--n] = '\0';
  return s;
}

int mk_config_parse_ini(mk_config *c, const char *text, size_t len, const char *name, mk_err *e) {
  if (len > MK_CONFIG_FILE_MAX)
    return mk_err_set(e, MK_ETOOBIG, "%s: over %u bytes", name, MK_CONFIG_FILE_MAX);
  size_t pos = 0;
  int lineno = 0;
  char line[MK_CONFIG_LINE_MAX + 1];
  while (pos < len) {
    lineno++;
    size_t start = pos;
    while (pos < len && text[pos] != '\n')
      pos++;
    size_t n = pos - start;
    if (pos < len)
      pos++; /* the newline */
    if (n > MK_CONFIG_LINE_MAX)
      return mk_err_set(e, MK_EINVAL, "%s:%d: line longer than %d bytes", name, lineno,
                        MK_CONFIG_LINE_MAX);
    memcpy(line, text + start, n);
    line[n] = '\0';
    if (memchr(line, '\0', n) != NULL)
      return mk_err_set(e, MK_EINVAL, "%s:%d: NUL byte", name, lineno);
    char *s = trim(line);
    if (*s == '\0' || *s == '#' || *s == ';')
      continue;
    if (*s == '[') {
      if (strcmp(s, "[mkeyd]") != 0)
        return mk_err_set(e, MK_EINVAL, "%s:%d: unknown section %s (only [mkeyd])", name,
                          lineno, s);
      continue;
    }
    char *eq = strchr(s, '=');
    if (eq == NULL)
      return mk_err_set(e, MK_EINVAL, "%s:%d: expected 'key = value'", name, lineno);
    *eq = '\0';
    char *key = trim(s);
    char *value = trim(eq + 1);
    if (*key == '\0')
      return mk_err_set(e, MK_EINVAL, "%s:%d: empty key", name, lineno);
    char where[PATH_MAX + 32];
    snprintf(where, sizeof where, "%.*s:%d", PATH_MAX - 1, name, lineno);
    int rc = mk_config_set(c, key, value, where, e);
    if (rc < 0)
      return rc;
  }
  return 0;
}

static int load_file(mk_config *c, const char *path, mk_err *e) {
  mk_buf text;
  int rc = mk_file_read_capped(path, MK_CONFIG_FILE_MAX, 0, &text, e);
  if (rc < 0) {
    mk_err_wrap(e, "config");
    return rc;
  }
  rc = mk_config_parse_ini(c, (const char *)text.data, text.len, path, e);
  mk_buf_free_secret(&text); /* it may name secrets' paths; cheap to wipe */
  return rc;
}

static const struct {
  const char *env;
  const char *key;
} env_keys[] = {
    {"MKEYD_DATA", "data"},         {"MKEYD_LISTEN", "listen"},
    {"MKEYD_PUBLIC_URL", "public_url"}, {"MKEYD_STORE", "store"},
    {"MKEYD_TLS_CERT", "tls_cert"}, {"MKEYD_TLS_KEY", "tls_key"},
    {"MKEYD_CAS_FILE", "cas_file"},
    {"MKEYD_SANDBOX", "sandbox"},   {"MKEYD_INSECURE_HTTP", "insecure_http"},
    {"MKEYD_THREADS", "threads"},   {"MKEYD_BODY_MAX", "body_max"},
    {"MKEYD_LOG_LEVEL", "log_level"},
    {"MKEYD_SMS_PROVIDER", "sms_provider"}, {"MKEYD_SMS_URL", "sms_url"},
    {"MKEYD_SMS_PHONE_LIMIT", "sms_phone_limit"}, {"MKEYD_SMS_IP_LIMIT", "sms_ip_limit"},
    {"MKEYD_WECHAT_PROVIDER", "wechat_provider"}, {"MKEYD_WECHAT_URL", "wechat_url"},
    {"MKEYD_WECHAT_APPID", "wechat_appid"}, {"MKEYD_WECHAT_SECRET_FILE", "wechat_secret_file"},
    {"MKEYD_REALNAME", "realname"}, {"MKEYD_REALNAME_URL", "realname_url"},
    {"MKEYD_REALNAME_TOKEN_FILE", "realname_token_file"},
    {"MKEYD_REALNAME_TIMEOUT_MS", "realname_timeout_ms"},
    {"MKEYD_SERVICE_PHONE", "service_phone"},
};

/* Flags: --data DIR; --sandbox (boolean); --no-sandbox; --key=value also. */
static const struct {
  const char *flag;
  const char *key;
  int boolean;
} flags[] = {
    {"--data", "data", 0},           {"--listen", "listen", 0},
    {"--public-url", "public_url", 0}, {"--store", "store", 0},
    {"--tls-cert", "tls_cert", 0},   {"--tls-key", "tls_key", 0},
    {"--cas-file", "cas_file", 0},
    {"--sandbox", "sandbox", 1},     {"--insecure-http", "insecure_http", 1},
    {"--threads", "threads", 0},     {"--body-max", "body_max", 0},
    {"--log-level", "log_level", 0},
    {"--sms-provider", "sms_provider", 0}, {"--sms-url", "sms_url", 0},
    {"--sms-phone-limit", "sms_phone_limit", 0}, {"--sms-ip-limit", "sms_ip_limit", 0},
    {"--wechat-provider", "wechat_provider", 0}, {"--wechat-url", "wechat_url", 0},
    {"--wechat-appid", "wechat_appid", 0}, {"--wechat-secret-file", "wechat_secret_file", 0},
};

static void defaults(mk_config *c) {
  memset(c, 0, sizeof *c);
  strcpy(c->data_dir, "var");
  strcpy(c->listen, "127.0.0.1:8080");
  c->threads = 4;
  c->body_max = 1u << 20;
  c->log_level = MK_LOG_INFO;
  c->realname_timeout_ms = 10000;
  strcpy(c->service_phone, "0512-58188000");
}

void mk_config_usage(FILE *out) {
  fputs("usage: mkeyd [--data DIR] [--listen ADDR:PORT] [--sandbox] [--config FILE]\n"
        "             [--public-url URL] [--store URL] [--tls-cert PEM --tls-key PEM]\n"
        "             [--cas-file JSON] [--insecure-http] [--threads N] [--body-max BYTES]\n"
        "             [--log-level debug|info|warn|error] [--help] [--version]\n"
        "\n"
        "  --data DIR         data directory (database, keys); created 0700 (default: var)\n"
        "  --listen ADDR:PORT where to accept HTTP (default: 127.0.0.1:8080; port 0 picks one\n"
        "                     and writes the URL to DIR/mkeyd.url)\n"
        "  --sandbox          sandbox providers (SMS outbox, deterministic identity checks)\n"
        "                     and plain HTTP: for trying mkey and for tests, never production\n"
        "  --config FILE      INI file with the same settings as keys ([mkeyd] section)\n"
        "  --public-url URL   base URL clients and certificates use (default: from --listen)\n"
        "  --store URL        database (default: sqlite:DIR/mkey.db)\n"
        "  --cas-file JSON    CA definitions (builtin or cmp) created or updated at start\n"
        "  --tls-cert/--tls-key  PEM certificate chain and key for HTTPS\n"
        "  --insecure-http    plain HTTP outside sandbox, only behind a TLS-terminating proxy\n"
        "  --sms-provider sandbox|http, --sms-url URL, --sms-phone-limit N, --sms-ip-limit N\n"
        "                     how SMS codes are sent (default: sandbox outbox under --sandbox)\n"
        "  --wechat-provider sandbox|http, --wechat-url URL, --wechat-appid ID,\n"
        "  --wechat-secret-file FILE  WeChat login (default: simulated under --sandbox)\n"
        "\n"
        "Precedence: flags, then environment (MKEYD_DATA, MKEYD_LISTEN, MKEYD_SANDBOX, ...,\n"
        "MKEYD_CONFIG), then the INI file, then defaults. See docs/operations.md.\n",
        out);
}

int mk_config_load(mk_config *c, int argc, char **argv, mk_getenv_fn env, mk_err *e) {
  defaults(c);
  /* --help and --version answer whatever else is wrong. */
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      mk_config_usage(stdout);
      return 1;
    }
    if (strcmp(argv[i], "--version") == 0) {
      printf("mkeyd %s\n", mk_version());
      return 1;
    }
  }
  /* The file comes first in order of application, lowest in precedence. */
  const char *file = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--config") == 0) {
      if (i + 1 >= argc || argv[i + 1][0] == '\0')
        return mk_err_set(e, MK_EINVAL, "option --config needs a value");
      file = argv[++i];
    } else if (strncmp(argv[i], "--config=", 9) == 0) {
      file = argv[i] + 9;
      if (*file == '\0')
        return mk_err_set(e, MK_EINVAL, "option --config needs a value");
    }
  }
  if (file == NULL && env != NULL)
    file = env("MKEYD_CONFIG");
  if (file != NULL && *file != '\0') {
    int rc = set_str(c->config_file, sizeof c->config_file, "config", file, "--config", e);
    if (rc < 0)
      return rc;
    rc = load_file(c, file, e);
    if (rc < 0)
      return rc;
  }
  for (size_t i = 0; env != NULL && i < sizeof env_keys / sizeof env_keys[0]; i++) {
    const char *v = env(env_keys[i].env);
    if (v == NULL)
      continue;
    int rc = mk_config_set(c, env_keys[i].key, v, env_keys[i].env, e);
    if (rc < 0)
      return rc;
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--config") == 0) {
      i++;
      continue;
    }
    if (strncmp(a, "--config=", 9) == 0)
      continue;
    if (strcmp(a, "--no-sandbox") == 0) {
      c->sandbox = 0;
      continue;
    }
    const char *eq = strchr(a, '=');
    size_t alen = eq ? (size_t)(eq - a) : strlen(a);
    size_t k = 0;
    for (; k < sizeof flags / sizeof flags[0]; k++)
      if (strlen(flags[k].flag) == alen && strncmp(a, flags[k].flag, alen) == 0)
        break;
    if (k == sizeof flags / sizeof flags[0])
      return mk_err_set(e, MK_EINVAL, "unknown option '%s' (see mkeyd --help)", a);
    const char *value;
    if (eq != NULL)
      value = eq + 1;
    else if (flags[k].boolean)
      value = "true";
    else if (i + 1 < argc)
      value = argv[++i];
    else
      return mk_err_set(e, MK_EINVAL, "option %s needs a value", flags[k].flag);
    int rc = mk_config_set(c, flags[k].key, value, flags[k].flag, e);
    if (rc < 0)
      return rc;
  }
  return mk_config_validate(c, e);
}

int mk_config_listen_addr(const mk_config *c, char *host, size_t hostcap, unsigned *port,
                          mk_err *e) {
  const char *s = c->listen;
  const char *colon;
  size_t hlen;
  if (*s == '[') {
    const char *close = strchr(s, ']');
    if (close == NULL || close[1] != ':')
      return mk_err_set(e, MK_EINVAL, "listen '%s': expected [IPv6]:PORT", s);
    hlen = (size_t)(close - s - 1);
    s++;
    colon = close + 1;
  } else {
    colon = strrchr(s, ':');
    if (colon == NULL)
      return mk_err_set(e, MK_EINVAL, "listen '%s': expected ADDR:PORT", c->listen);
    hlen = (size_t)(colon - s);
  }
  if (hlen == 0 || hlen >= hostcap)
    return mk_err_set(e, MK_EINVAL, "listen '%s': bad address", c->listen);
  long p;
  if (parse_long(colon + 1, 0, 65535, &p) != 0)
    return mk_err_set(e, MK_EINVAL, "listen '%s': port must be 0..65535", c->listen);
  memcpy(host, s, hlen);
  host[hlen] = '\0';
  *port = (unsigned)p;
  return 0;
}

int mk_config_validate(const mk_config *c, mk_err *e) {
  char host[64];
  unsigned port;
  int rc = mk_config_listen_addr(c, host, sizeof host, &port, e);
  if (rc < 0)
    return rc;
  if (c->data_dir[0] == '\0')
    return mk_err_set(e, MK_EINVAL, "no data directory (--data DIR)");
  if ((c->tls_cert[0] == '\0') != (c->tls_key[0] == '\0'))
    return mk_err_set(e, MK_EINVAL, "--tls-cert and --tls-key go together");
  if (!c->sandbox && !c->insecure_http && c->tls_cert[0] == '\0')
    return mk_err_set(e, MK_EINVAL,
                      "HTTPS needs --tls-cert and --tls-key (or --sandbox to try mkey locally, or "
                      "--insecure-http behind a TLS proxy)");
  if (strcmp(c->sms_provider, "http") == 0 && c->sms_url[0] == '\0')
    return mk_err_set(e, MK_EINVAL, "sms_provider http needs sms_url");
  if (strcmp(c->wechat_provider, "http") == 0 &&
      (c->wechat_url[0] == '\0' || c->wechat_appid[0] == '\0' || c->wechat_secret_file[0] == '\0'))
    return mk_err_set(e, MK_EINVAL,
                      "wechat_provider http needs wechat_url, wechat_appid and wechat_secret_file");
  if (strcmp(c->sms_provider, "sandbox") == 0 && !c->sandbox)
    return mk_err_set(e, MK_EINVAL,
                      "sms_provider sandbox keeps login codes in the outbox instead of sending "
                      "them: only with --sandbox");
  if (strcmp(c->wechat_provider, "sandbox") == 0 && !c->sandbox)
    return mk_err_set(e, MK_EINVAL, "wechat_provider sandbox runs only with --sandbox");
  if (strcmp(c->realname, "sandbox") == 0 && !c->sandbox)
    return mk_err_set(e, MK_EINVAL, "realname = sandbox accepts anyone: only in sandbox mode");
  if (strcmp(c->realname, "http") == 0 && c->realname_url[0] == '\0')
    return mk_err_set(e, MK_EINVAL, "realname = http needs realname_url");
  return 0;
}
