#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "util/buf.h"
#include "util/id.h"
#include "util/file.h"
#include "util/guard.h"
#include "util/json.h"

/* ---- output ---------------------------------------------------------------- */

int cli_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("mkey: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return CLI_FAIL;
}

int cli_usage_error(const char *usage, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("mkey: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  if (usage != NULL)
    fputs(usage, stderr);
  return CLI_USAGE;
}

int cli_fail(const mk_err *e) {
  return cli_error("%s", e->msg[0] != '\0' ? e->msg : mk_code_name(e->code));
}

int cli_print_json(const json_t *v) {
  if (json_dumpf(v, stdout, JSON_INDENT(2)) != 0 || fputc('\n', stdout) == EOF ||
      fflush(stdout) != 0)
    return cli_error("cannot write to stdout: %s", strerror(errno));
  return CLI_OK;
}

/* ---- dispatch ---------------------------------------------------------------- */

const char cmd_help_usage[] =
    "usage: mkey help [--json] [<command>]\n"
    "\n"
    "Show the list of commands, or the usage of one command.\n"
    "--json prints [{\"name\":…,\"summary\":…}, …], or for one command\n"
    "{\"name\":…,\"summary\":…,\"usage\":…}.\n";

static const char global_usage[] =
    "usage: mkey [--server <url>] [--profile <name>] [--json] <command> [<args>]\n";

static const char global_options[] =
    "global options:\n"
    "  --server <url>     mkeyd to talk to; else $MKEY_SERVER, the profile's server,\n"
    "                     " CLI_SERVER_DEFAULT "\n"
    "  --profile <name>   profile to use; else $MKEY_PROFILE, else \"" CLI_PROFILE_DEFAULT "\"\n"
    "  --json             print one JSON document on stdout\n"
    "  -h, --help         show help\n"
    "  --version          print the version of mkey\n"
    "\n"
    "Data lives in $MKEY_HOME (else $XDG_DATA_HOME/mkey, else ~/.local/share/mkey).\n"
    "See 'mkey help <command>' for one command.\n";

const struct cli_command *cli_find_command(const struct cli_command *commands, const char *name) {
  for (const struct cli_command *c = commands; c->name != NULL; c++)
    if (strcmp(c->name, name) == 0)
      return c;
  return NULL;
}

void cli_print_help(const struct cli_command *commands, FILE *out) {
  fputs(global_usage, out);
  fputs("\ncommands:\n", out);
  for (const struct cli_command *c = commands; c->name != NULL; c++)
    fprintf(out, "  %-12s %s\n", c->name, c->summary);
  fputc('\n', out);
  fputs(global_options, out);
}

/* The command list on stdout: text, or with --json an array of
 * {"name","summary"} (a list is an array, as for every --json list). */
static int show_help(const struct cli *ctx) {
  if (!ctx->json) {
    cli_print_help(ctx->commands, stdout);
    return CLI_OK;
  }
  int rc = CLI_OK;
  json_t *doc = json_array();
  if (doc == NULL)
    return cli_error("out of memory");
  for (const struct cli_command *c = ctx->commands; c->name != NULL && rc == CLI_OK; c++)
    if (json_array_append_new(doc, json_pack("{s:s, s:s}", "name", c->name, "summary",
                                             c->summary)) != 0)
      rc = cli_error("out of memory");
  if (rc == CLI_OK)
    rc = cli_print_json(doc);
  json_decref(doc);
  return rc;
}

/* One command's usage on stdout: text, or with --json
 * {"name","summary","usage"}. */
static int show_usage(const struct cli *ctx, const struct cli_command *c) {
  if (!ctx->json) {
    fputs(c->usage, stdout);
    return CLI_OK;
  }
  json_t *doc =
      json_pack("{s:s, s:s, s:s}", "name", c->name, "summary", c->summary, "usage", c->usage);
  int rc = doc != NULL ? cli_print_json(doc) : cli_error("out of memory");
  json_decref(doc);
  return rc;
}

int cmd_help(int argc, const char **argv, struct cli *ctx) {
  const char *args[1];
  int nargs = 0;
  int rc = cli_parse_options(ctx, argc, argv, NULL, args, 1, &nargs, cmd_help_usage);
  if (rc != 0)
    return rc;
  if (nargs == 0)
    return show_help(ctx);
  const struct cli_command *c = cli_find_command(ctx->commands, args[0]);
  if (c == NULL) {
    fprintf(stderr, "mkey: '%s' is not a mkey command. See 'mkey help'.\n", args[0]);
    return CLI_USAGE;
  }
  return show_usage(ctx, c);
}

/* "--name value" or "--name=value": *value set and *i advanced past what
 * was used. Returns 1 when arg is this option, 0 when not, -1 when the
 * value is missing. */
static int take_value(const char *name, int argc, const char **argv, int *i, const char **value) {
  const char *arg = argv[*i];
  size_t n = strlen(name);
  if (strncmp(arg, name, n) != 0)
    return 0;
  if (arg[n] == '=') {
    *value = arg + n + 1;
    return 1;
  }
  if (arg[n] != '\0')
    return 0;
  if (*i + 1 >= argc)
    return -1;
  *value = argv[++*i];
  return 1;
}

/* Options that mean the same before and after the command name. 1 when arg
 * was one (and used), 0 when not, CLI_USAGE (negated) after printing. */
static int take_common(struct cli *ctx, int argc, const char **argv, int *i, const char *usage) {
  const char *v = NULL;
  int r;
  if (strcmp(argv[*i], "--json") == 0) {
    ctx->json = 1;
    return 1;
  }
  if ((r = take_value("--server", argc, argv, i, &v)) != 0) {
    if (r < 0 || v[0] == '\0')
      return -cli_usage_error(usage, "--server needs a URL");
    ctx->server = v;
    return 1;
  }
  if ((r = take_value("--profile", argc, argv, i, &v)) != 0) {
    if (r < 0)
      return -cli_usage_error(usage, "--profile needs a name");
    if (!cli_profile_name_valid(v))
      return -cli_usage_error(usage, "invalid profile name '%.64s': use 1 to %d of a-z, 0-9, _ and -",
                              v, CLI_PROFILE_NAME_MAX);
    memcpy(ctx->profile, v, strlen(v) + 1);
    return 1;
  }
  return 0;
}

int cli_parse_global(struct cli *ctx, int argc, const char **argv, int *used) {
  int i = 1;
  for (; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--") == 0) {
      i++;
      break;
    }
    if (arg[0] != '-' || arg[1] == '\0')
      break;
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      ctx->help = 1;
      continue;
    }
    if (strcmp(arg, "--version") == 0) {
      ctx->version = 1;
      continue;
    }
    int r = take_common(ctx, argc, argv, &i, NULL);
    if (r < 0)
      return -r;
    if (r == 0) {
      fprintf(stderr, "mkey: unknown option '%s'. See 'mkey help'.\n", arg);
      return CLI_USAGE;
    }
  }
  *used = i;
  return 0;
}

int cli_parse_options(struct cli *ctx, int argc, const char **argv, const struct cli_option *opts,
                      const char **args, int max_args, int *nargs, const char *usage) {
  int n = 0, only_args = 0;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (!only_args && strcmp(arg, "--") == 0) {
      only_args = 1;
      continue;
    }
    if (only_args || arg[0] != '-' || arg[1] == '\0') {
      if (n >= max_args)
        return cli_usage_error(usage, "unexpected argument '%.64s'", arg);
      args[n++] = arg;
      continue;
    }
    int r = take_common(ctx, argc, argv, &i, usage);
    if (r < 0)
      return -r;
    if (r > 0)
      continue;
    const struct cli_option *o = opts;
    for (; o != NULL && o->name != NULL; o++) {
      if (o->value == NULL && strcmp(arg, o->name) == 0) {
        *o->flag = 1;
        break;
      }
      if (o->value != NULL && (r = take_value(o->name, argc, argv, &i, o->value)) != 0) {
        if (r < 0)
          return cli_usage_error(usage, "%s needs a value", o->name);
        break;
      }
    }
    if (o == NULL || o->name == NULL)
      return cli_usage_error(usage, "unknown option '%.64s'", arg);
  }
  if (nargs != NULL)
    *nargs = n;
  return 0;
}

/* name or alias (may be NULL) among a command's arguments, before any "--". */
static int has_flag(int argc, const char **argv, const char *name, const char *alias) {
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
    if (strcmp(argv[i], name) == 0 || (alias != NULL && strcmp(argv[i], alias) == 0))
      return 1;
  return 0;
}

int cli_main(const struct cli_command *commands, int argc, const char **argv) {
  struct cli ctx = {.commands = commands};
  int i = 0, rc;

  if ((rc = cli_parse_global(&ctx, argc, argv, &i)) != 0)
    return rc;
  /* --profile wins; a bad MKEY_PROFILE matters only when it is used. */
  const char *env = getenv("MKEY_PROFILE");
  if (ctx.profile[0] == '\0' && env != NULL && env[0] != '\0') {
    if (!cli_profile_name_valid(env))
      return cli_usage_error(NULL, "invalid profile name '%.64s' in MKEY_PROFILE", env);
    memcpy(ctx.profile, env, strlen(env) + 1);
  } else if (ctx.profile[0] == '\0') {
    memcpy(ctx.profile, CLI_PROFILE_DEFAULT, sizeof CLI_PROFILE_DEFAULT);
  }

  const struct cli_command *cmd = NULL;
  if (i < argc) {
    cmd = cli_find_command(commands, argv[i]);
    if (cmd == NULL) {
      fprintf(stderr, "mkey: '%s' is not a mkey command. See 'mkey help'.\n", argv[i]);
      return CLI_USAGE;
    }
  }
  if (cmd != NULL && (ctx.help || has_flag(argc - i, argv + i, "--help", "-h"))) {
    /* The command's options are not parsed when only its usage is asked
     * for; --json among them still chooses the form. */
    if (has_flag(argc - i, argv + i, "--json", NULL))
      ctx.json = 1;
    rc = show_usage(&ctx, cmd);
  } else if (ctx.help) {
    rc = show_help(&ctx);
  } else if (cmd == NULL && ctx.version && (cmd = cli_find_command(commands, "version")) != NULL) {
    const char *vargv[] = {"version", NULL};
    rc = cmd->fn(1, vargv, &ctx);
  } else if (cmd == NULL) {
    cli_print_help(commands, stderr);
    return CLI_USAGE;
  } else {
    rc = cmd->fn(argc - i, argv + i, &ctx);
  }
  /* A full disk or a closed pipe must not pass for success (git does the
   * same after every builtin). */
  if (fflush(stdout) != 0 || ferror(stdout)) {
    cli_error("cannot write to stdout");
    return rc != CLI_OK ? rc : CLI_FAIL;
  }
  return rc;
}

/* ---- MKEY_HOME and profiles ------------------------------------------------- */

int cli_profile_name_valid(const char *name) {
  size_t n = 0;
  for (; name[n] != '\0'; n++) {
    char ch = name[n];
    if (n >= CLI_PROFILE_NAME_MAX ||
        !((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
      return 0;
  }
  return n > 0;
}

static int set_path(char *out, size_t cap, mk_err *e, const char *a, const char *b) {
  int n = snprintf(out, cap, "%s%s", a, b);
  if (n < 0 || (size_t)n >= cap)
    return mk_err_set(e, MK_ETOOBIG, "path '%.64s...' is too long", a);
  /* "/x/" and "/x" name the same directory; keep one spelling. */
  while (n > 1 && out[n - 1] == '/')
    out[--n] = '\0';
  return 0;
}

int cli_home_resolve(char *out, size_t cap, mk_err *e) {
  const char *v = getenv("MKEY_HOME");
  if (v != NULL && v[0] != '\0') {
    if (v[0] != '/')
      return mk_err_set(e, MK_EINVAL, "MKEY_HOME must be an absolute path, not '%.64s'", v);
    return set_path(out, cap, e, v, "");
  }
  v = getenv("XDG_DATA_HOME");
  if (v != NULL && v[0] == '/')
    return set_path(out, cap, e, v, "/mkey");
  v = getenv("HOME");
  if (v != NULL && v[0] == '/')
    return set_path(out, cap, e, v, "/.local/share/mkey");
  return mk_err_set(e, MK_EINVAL, "cannot find a data directory: set MKEY_HOME or HOME");
}

/* mkdir -p with 0700 for what it creates; existing directories are left as
 * they are (the user may keep MKEY_HOME somewhere shared). */
static int mkdir_p(const char *path, mk_err *e) {
  char p[CLI_PATH_MAX];
  size_t n = strlen(path);
  if (n >= sizeof p)
    return mk_err_set(e, MK_ETOOBIG, "path '%.64s...' is too long", path);
  memcpy(p, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (p[i] != '/' && p[i] != '\0')
      continue;
    char saved = p[i];
    p[i] = '\0';
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
      return mk_err_set(e, MK_EIO, "cannot create '%s': %s", p, strerror(errno));
    p[i] = saved;
  }
  return 0;
}

int cli_profile_dir(const char *name, int create, char *out, size_t cap, mk_err *e) {
  int rc = 0;
  char home[CLI_PATH_MAX];
  struct stat st;

  MK_ENSURE(cli_profile_name_valid(name), MK_EINVAL, e, "invalid profile name '%.64s'", name);
  MK_TRY(cli_home_resolve(home, sizeof home, e));
  MK_TRY(set_path(out, cap, e, home, "/profiles/"));
  size_t n = strlen(out);
  MK_ENSURE(n + 1 + strlen(name) < cap, MK_ETOOBIG, e, "path '%.64s...' is too long", out);
  memcpy(out + n, "/", 2);
  memcpy(out + n + 1, name, strlen(name) + 1);
  if (!create)
    goto out;
  MK_TRY(mkdir_p(out, e));
  /* The directory holds the session token and key shares: refuse a symlink
   * planted in its place or someone else's directory, and close it to
   * others if it was created open. */
  MK_ENSURE(lstat(out, &st) == 0, MK_EIO, e, "cannot stat '%s': %s", out, strerror(errno));
  MK_ENSURE(S_ISDIR(st.st_mode), MK_EPERM, e, "'%s' is not a directory", out);
  MK_ENSURE(st.st_uid == geteuid(), MK_EPERM, e, "'%s' belongs to another user", out);
  if ((st.st_mode & 07777) != 0700)
    MK_ENSURE(chmod(out, 0700) == 0, MK_EIO, e, "cannot chmod 700 '%s': %s", out,
              strerror(errno));
out:
  return rc;
}

static int profile_file(const char *name, int create, char *out, size_t cap, mk_err *e) {
  int rc = 0;
  MK_TRY(cli_profile_dir(name, create, out, cap, e));
  size_t n = strlen(out);
  MK_ENSURE(n + sizeof "/" CLI_PROFILE_FILE <= cap, MK_ETOOBIG, e, "path '%.64s...' is too long",
            out);
  memcpy(out + n, "/" CLI_PROFILE_FILE, sizeof "/" CLI_PROFILE_FILE);
out:
  return rc;
}

int cli_profile_load(const char *name, json_t **out, mk_err *e) {
  int rc = 0;
  char path[CLI_PATH_MAX];
  mk_buf b;
  struct stat st;

  *out = NULL;
  mk_buf_init(&b, CLI_PROFILE_FILE_MAX);
  MK_TRY(profile_file(name, 0, path, sizeof path, e));
  /* The token is read only from the file mkey wrote: a symlink planted in
   * its place is not followed. */
  MK_ENSURE(lstat(path, &st) != 0 || !S_ISLNK(st.st_mode), MK_EPERM, e,
            "'%s' is a symbolic link: refusing to read a session token through it", path);
  /* MK_FILE_PRIVATE: like ssh with a private key, a token that other users
   * can read is not used ("run chmod 600"). */
  rc = mk_file_read_capped(path, CLI_PROFILE_FILE_MAX, MK_FILE_PRIVATE, &b, e);
  if (rc == MK_ENOTFOUND) {
    mk_err_clear(e);
    rc = 0;
    *out = json_object();
    MK_ENSURE_ALLOC(*out, e);
    goto out;
  }
  if (rc < 0)
    goto out;
  rc = mk_json_parse_object(b.data != NULL ? (const void *)b.data : "", b.len,
                            CLI_PROFILE_FILE_MAX, out, e);
  if (rc < 0) {
    mk_err_wrap(e, "'%s'", path);
    goto out;
  }
out:
  mk_buf_free_secret(&b);
  return rc;
}

void cli_profile_free(json_t *cfg) {
  json_t *tok = json_object_get(cfg, "token");
  if (json_is_string(tok) && tok->refcount == 1)
    OPENSSL_cleanse((char *)json_string_value(tok), json_string_length(tok));
  json_decref(cfg);
}

int cli_profile_save(const char *name, const json_t *cfg, mk_err *e) {
  int rc = 0;
  char path[CLI_PATH_MAX];
  char *text = NULL;

  MK_TRY(profile_file(name, 1, path, sizeof path, e));
  text = json_dumps(cfg, JSON_INDENT(2));
  MK_ENSURE_ALLOC(text, e);
  size_t len = strlen(text);
  text[len] = '\n'; /* json_dumps' NUL becomes the final newline */
  rc = mk_file_write_private(path, text, len + 1, 0, e);
  OPENSSL_cleanse(text, len + 1); /* holds the token */
out:
  free(text);
  return rc;
}

/* ---- server ---------------------------------------------------------------- */

const char *cli_server_url(const struct cli *ctx, const json_t *profile, const char **source) {
  const char *src = "flag", *url = ctx->server;
  const char *env = getenv("MKEY_SERVER");
  const json_t *saved = json_object_get(profile, "server");
  if (url == NULL && env != NULL && env[0] != '\0') {
    src = "env";
    url = env;
  }
  if (url == NULL && json_is_string(saved) && json_string_length(saved) > 0) {
    src = "profile";
    url = json_string_value(saved);
  }
  if (url == NULL) {
    src = "default";
    url = CLI_SERVER_DEFAULT;
  }
  if (source != NULL)
    *source = src;
  return url;
}

int cli_client_open(const struct cli *ctx, mk_client **out, mk_err *e) {
  int rc = 0;
  json_t *profile = NULL;
  mk_client *c = NULL;
  const char *source = NULL;

  *out = NULL;
  MK_TRY(cli_profile_load(ctx->profile, &profile, e));
  const char *url = cli_server_url(ctx, profile, &source);
  rc = mk_client_new(url, &c, e);
  if (rc < 0) {
    mk_err_wrap(e, "server URL from %s",
                strcmp(source, "flag") == 0      ? "--server"
                : strcmp(source, "env") == 0     ? "MKEY_SERVER"
                : strcmp(source, "profile") == 0 ? "the profile"
                                                 : "the default");
    goto out;
  }
  const json_t *saved = json_object_get(profile, "server");
  const json_t *token = json_object_get(profile, "token");
  if (json_is_string(token) && json_is_string(saved) &&
      strcmp(json_string_value(saved), mk_client_base_url(c)) == 0)
    MK_TRY(mk_client_set_bearer(c, json_string_value(token), e));
  const json_t *device = json_object_get(profile, "device");
  if (json_is_string(device))
    MK_TRY(mk_client_set_device(c, json_string_value(device), e));
  *out = c;
  c = NULL;
out:
  mk_client_free(c);
  cli_profile_free(profile);
  return rc;
}

int cli_request(const struct cli *ctx, const char *method, const char *path, const json_t *body,
                mk_client_response *out, const char *hint, mk_err *e) {
  mk_client *c = NULL;
  int rc = cli_client_open(ctx, &c, e);
  if (rc == 0)
    rc = mk_client_request(c, method, path, body, out, e);
  mk_client_free(c);
  if (rc == MK_EAUTH && hint != NULL)
    mk_err_wrap(e, "%s", hint);
  return rc;
}

int cli_get_all(const struct cli *ctx, const char *base, const char *hint,
                const char *cursor_chars, int pages, const char *what, json_t *all) {
  mk_err e = {0};
  mk_client_response r = {0};
  char path[CLI_LIST_PATH_MAX];
  int rc = CLI_FAIL;
  if (snprintf(path, sizeof path, "%s", base) >= (int)sizeof path)
    return cli_error("the query is too long");
  for (int page = 0; page < pages; page++) {
    if (cli_request(ctx, "GET", path, NULL, &r, hint, &e) < 0) {
      cli_fail(&e);
      goto out;
    }
    json_t *items = json_object_get(r.json, "items");
    if (!json_is_array(items) || json_array_extend(all, items) != 0) {
      cli_error("the server's %s has no items", what);
      goto out;
    }
    const char *next = json_string_value(json_object_get(r.json, "next_cursor"));
    if (next == NULL)
      break;
    if (strspn(next, cursor_chars) != strlen(next) ||
        snprintf(path, sizeof path, "%s&cursor=%s", base, next) >= (int)sizeof path) {
      cli_error("the server sent a bad cursor");
      goto out;
    }
  }
  rc = 0;
out:
  mk_client_response_clear(&r);
  return rc;
}

int cli_profile_device(const struct cli *ctx, char out[MK_ID_MAX], mk_err *e) {
  int rc = 0;
  json_t *profile = NULL;
  MK_TRY(cli_profile_load(ctx->profile, &profile, e));
  const json_t *device = json_object_get(profile, "device");
  if (json_is_string(device) && mk_id_check(json_string_value(device), "dev", NULL) == 0) {
    snprintf(out, MK_ID_MAX, "%s", json_string_value(device));
    goto out;
  }
  MK_TRY(mk_id_new(out, "dev", e));
  MK_ENSURE(json_object_set_new(profile, "device", json_string(out)) == 0, MK_ENOMEM, e,
            "out of memory");
  MK_TRY(cli_profile_save(ctx->profile, profile, e));
out:
  cli_profile_free(profile);
  return rc;
}

int cli_take_repeated(int argc, const char **argv, const char *name, int max, const char **kept,
                      int *nkept, const char **vals, int *nvals) {
  size_t nl = strlen(name);
  int n = 0;
  for (int i = 0; i < argc; i++) {
    const char *v = NULL;
    if (i > 0 && strcmp(argv[i], "--") == 0) {
      while (i < argc)
        kept[n++] = argv[i++];
      break;
    }
    if (i > 0 && strcmp(argv[i], name) == 0) {
      if (i + 1 >= argc)
        return -1;
      v = argv[++i];
    } else if (i > 0 && strncmp(argv[i], name, nl) == 0 && argv[i][nl] == '=') {
      v = argv[i] + nl + 1;
    }
    if (v == NULL) {
      kept[n++] = argv[i];
    } else {
      if (*nvals == max)
        return -1;
      vals[(*nvals)++] = v;
    }
  }
  *nkept = n;
  return 0;
}
