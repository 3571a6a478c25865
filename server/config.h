/*
 * mkeyd's configuration. Sources, highest precedence first: command-line
 * flags, environment (MKEYD_*), the INI file (--config / MKEYD_CONFIG), then
 * built-in defaults. Every source goes through one setter, so a key means the
 * same thing wherever it is given (docs/operations.md lists them).
 */
#ifndef MK_SERVER_CONFIG_H
#define MK_SERVER_CONFIG_H

#include <limits.h>
#include <stdio.h>

#include "mkey/mkey.h"

#define MK_CONFIG_FILE_MAX (64u * 1024)
#define MK_CONFIG_LINE_MAX 1024

typedef struct mk_config {
  char data_dir[PATH_MAX];   /* data directory, created 0700 at first start */
  char listen[128];          /* "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:443" */
  char public_url[256];      /* base URL others reach us at; "" = from listen */
  char store_url[PATH_MAX + 16]; /* "" = sqlite:<data_dir>/mkey.db */
  char tls_cert[PATH_MAX];   /* PEM files; required unless sandbox or insecure_http */
  char tls_key[PATH_MAX];
  char config_file[PATH_MAX];
  char cas_file[PATH_MAX];   /* JSON file of CA definitions, applied at start; "" = none */
  int sandbox;               /* sandbox providers and plain HTTP */
  int insecure_http;         /* plain HTTP outside sandbox (behind a TLS proxy) */
  int threads;               /* HTTP worker threads, 1..64 */
  size_t body_max;           /* default request body cap in bytes */
  int log_level;             /* enum mk_log_level */
  /* Accounts (docs/accounts.md). Providers "" = sandbox under --sandbox, else none. */
  char sms_provider[16];     /* "sandbox" (outbox) or "http" (gateway at sms_url) */
  char sms_url[512];
  int sms_phone_limit;       /* SMS codes per phone per hour; 0 = 10 */
  int sms_ip_limit;          /* SMS codes per client address per hour; 0 = 30 */
  char wechat_provider[16];  /* "sandbox" or "http" (OAuth token endpoint at wechat_url) */
  char wechat_url[512];
  char wechat_appid[64];
  char wechat_secret_file[PATH_MAX]; /* the app secret, a private (0600) file */
  /* Real-name verification (docs/identity.md): provider "sandbox" or "http"
   * ("" = sandbox in sandbox mode, else http), the gateway's base URL, a file
   * holding its bearer token ("" = none), the whole-call timeout. */
  char realname[16];
  char realname_url[256];
  char realname_token_file[PATH_MAX];
  int realname_timeout_ms;
  char service_phone[32];    /* customer-service number shown by /v1/me and help */
} mk_config;

/* Where environment values come from; tests pass their own. */
typedef const char *(*mk_getenv_fn)(const char *name);

/* Fill c from defaults, the INI file, env and argv (argv[0] is skipped).
 * Returns 0, 1 when --help or --version was printed to stdout (the caller
 * exits 0), or MK_EINVAL with the offending flag/key/line in e. */
int mk_config_load(mk_config *c, int argc, char **argv, mk_getenv_fn env, mk_err *e) MK_MUST_CHECK;

/* Apply one setting by its INI key name (data, listen, public_url, store,
 * tls_cert, tls_key, cas_file, sandbox, insecure_http, threads, body_max, log_level,
 * sms_provider, sms_url, sms_phone_limit, sms_ip_limit, wechat_provider, wechat_url,
 * wechat_appid, wechat_secret_file).
 * realname, realname_url, realname_token_file, realname_timeout_ms, service_phone).
 * source names where it came from, for the error message. */
int mk_config_set(mk_config *c, const char *key, const char *value, const char *source,
                  mk_err *e) MK_MUST_CHECK;

/* Parse INI text (bounded by MK_CONFIG_FILE_MAX): "[section]" lines are
 * allowed only as [mkeyd]; "key = value" lines; '#' and ';' start comments.
 * Unknown keys are errors. */
int mk_config_parse_ini(mk_config *c, const char *text, size_t len, const char *name,
                        mk_err *e) MK_MUST_CHECK;

/* Split c->listen into host (without brackets) and port. */
int mk_config_listen_addr(const mk_config *c, char *host, size_t hostcap, unsigned *port,
                          mk_err *e) MK_MUST_CHECK;

/* Check the combination (TLS files or sandbox/insecure_http, data dir set). */
int mk_config_validate(const mk_config *c, mk_err *e) MK_MUST_CHECK;

void mk_config_usage(FILE *out);

#endif
