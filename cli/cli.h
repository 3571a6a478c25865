/*
 * Plumbing shared by every mkey command: the context built from global
 * options, dispatch, option parsing, output, MKEY_HOME and profiles.
 * docs/cli.md describes what users see; this file is for people adding a
 * command group (cli/cmd_<group>.c with `int cmd_<group>(argc, argv, ctx)`,
 * one line in cli/main.c's commands[]).
 *
 * Exit statuses: 0 done, 1 failed (the server said no, unreachable, file
 * error), 2 usage error (unknown command or option, bad argument).
 */
#ifndef MKEY_CLI_CLI_H
#define MKEY_CLI_CLI_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "client/client.h"
#include "mkey/mkey.h"
#include "util/id.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

#define CLI_PATH_MAX 4096
#define CLI_LIST_PATH_MAX 256 /* a list request with its query and cursor */
#define CLI_CURSOR_CHARS "abcdefghijklmnopqrstuvwxyz0123456789-_" /* ids the server pages by */
#define CLI_PROFILE_NAME_MAX 32            /* [a-z0-9_-]{1,32} */
#define CLI_PROFILE_DEFAULT "default"
#define CLI_PROFILE_FILE "profile.json"
#define CLI_PROFILE_FILE_MAX (64 * 1024)   /* profile.json is small; refuse more */
#define CLI_SERVER_DEFAULT "http://127.0.0.1:8080"

struct cli_command;

/* What the global options said; commands read it, some options after the
 * command name (--json, --server, --profile) update it too. */
struct cli {
  const char *server;                     /* --server, NULL when not given */
  char profile[CLI_PROFILE_NAME_MAX + 1]; /* --profile, else $MKEY_PROFILE, else "default" */
  int json;                               /* --json: one JSON document on stdout */
  int help;                               /* --help / -h before the command */
  int version;                            /* --version */
  const struct cli_command *commands;     /* the table, for `mkey help` */
};

struct cli_command {
  const char *name;
  int (*fn)(int argc, const char **argv, struct cli *ctx); /* argv[0] is name */
  const char *summary; /* one line for `mkey help` */
  const char *usage;   /* full text for `mkey help <name>` and `mkey <name> --help` */
};

/* ---- commands (one file each; the return value is the exit status) ---- */
int cmd_help(int argc, const char **argv, struct cli *ctx);
int cmd_version(int argc, const char **argv, struct cli *ctx);
int cmd_status(int argc, const char **argv, struct cli *ctx);
int cmd_profile(int argc, const char **argv, struct cli *ctx);
int cmd_keytool(int argc, const char **argv, struct cli *ctx);
int cmd_admin(int argc, const char **argv, struct cli *ctx);
int cmd_ca(int argc, const char **argv, struct cli *ctx);
int cmd_login(int argc, const char **argv, struct cli *ctx);
int cmd_logout(int argc, const char **argv, struct cli *ctx);
int cmd_password(int argc, const char **argv, struct cli *ctx);
int cmd_phone(int argc, const char **argv, struct cli *ctx);
int cmd_wechat(int argc, const char **argv, struct cli *ctx);
int cli_admin_sms_outbox(int argc, const char **argv, struct cli *ctx, const char *usage);
int cmd_realname(int argc, const char **argv, struct cli *ctx);
int cmd_platform(int argc, const char **argv, struct cli *ctx);
int cmd_me(int argc, const char **argv, struct cli *ctx);
int cmd_help_center(int argc, const char **argv, struct cli *ctx);
int cmd_cache(int argc, const char **argv, struct cli *ctx);
int cmd_cert(int argc, const char **argv, struct cli *ctx);
int cmd_enterprise(int argc, const char **argv, struct cli *ctx);
int cmd_staff(int argc, const char **argv, struct cli *ctx);
int cmd_auth(int argc, const char **argv, struct cli *ctx);
int cmd_app(int argc, const char **argv, struct cli *ctx);
int cmd_approve(int argc, const char **argv, struct cli *ctx);
int cmd_refuse(int argc, const char **argv, struct cli *ctx);
int cmd_messages(int argc, const char **argv, struct cli *ctx);
extern const char cmd_help_usage[];
extern const char cmd_version_usage[];
extern const char cmd_status_usage[];
extern const char cmd_profile_usage[];
extern const char cmd_keytool_usage[];
extern const char cmd_admin_usage[];
extern const char cmd_ca_usage[];
extern const char cmd_login_usage[];
extern const char cmd_logout_usage[];
extern const char cmd_password_usage[];
extern const char cmd_phone_usage[];
extern const char cmd_wechat_usage[];
extern const char cmd_realname_usage[];
extern const char cmd_platform_usage[];
extern const char cmd_me_usage[];
extern const char cmd_help_center_usage[];
extern const char cmd_cache_usage[];
extern const char cmd_cert_usage[];
extern const char cmd_enterprise_usage[];
extern const char cmd_staff_usage[];
extern const char cmd_auth_usage[];
extern const char cmd_app_usage[];
extern const char cmd_approve_usage[];
extern const char cmd_refuse_usage[];
extern const char cmd_messages_usage[];

/* ---- dispatch ---------------------------------------------------------- */

/* Run `mkey [global options] <command> [args]` with commands (ended by an
 * entry whose name is NULL); returns the exit status. */
int cli_main(const struct cli_command *commands, int argc, const char **argv);

/* Fill ctx from the options before the command; *used is the index of the
 * command name (argc when none). Returns 0, or CLI_USAGE after printing. */
int cli_parse_global(struct cli *ctx, int argc, const char **argv, int *used);

/* The command called name, NULL when there is none. */
const struct cli_command *cli_find_command(const struct cli_command *commands, const char *name);

/* `mkey help` text (mkey --json help prints the list as JSON instead). */
void cli_print_help(const struct cli_command *commands, FILE *out);

/* Options of one command. */
struct cli_option {
  const char *name;   /* "--limit" */
  const char **value; /* takes an argument ("--limit 5" or "--limit=5"); or NULL */
  int *flag;          /* set to 1 when present (value NULL) */
};

/*
 * Parse argv[1..] of a command: options from opts (ended by a NULL name),
 * the global --json, --server and --profile, and up to max_args positional
 * arguments into args (*nargs of them). "--" ends options. Returns 0, or
 * CLI_USAGE after printing the problem and usage on stderr.
 */
int cli_parse_options(struct cli *ctx, int argc, const char **argv, const struct cli_option *opts,
                      const char **args, int max_args, int *nargs, const char *usage);

/* ---- output ------------------------------------------------------------ */

/* "mkey: <message>" on stderr; returns CLI_FAIL. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "mkey: <message>" and usage on stderr; returns CLI_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* cli_error with e's message. */
int cli_fail(const mk_err *e);
/* v as one JSON document on stdout (2-space indent, UTF-8, newline): the
 * object created or shown, or an array for a list; returns CLI_OK, or
 * CLI_FAIL after printing why. */
int cli_print_json(const json_t *v);

/* ---- MKEY_HOME and profiles ---------------------------------------------- */

/* 1 when name matches [a-z0-9_-]{1,32}. */
int cli_profile_name_valid(const char *name);

/* $MKEY_HOME, else $XDG_DATA_HOME/mkey, else $HOME/.local/share/mkey; each
 * must be absolute (a relative XDG_DATA_HOME is ignored, as the XDG spec
 * says). Nothing is created. */
int cli_home_resolve(char *out, size_t cap, mk_err *e) MK_MUST_CHECK;

/* <home>/profiles/<name>. With create, missing directories are made 0700
 * and the profile directory itself is made 0700 if it was looser; it must
 * be a real directory owned by the caller. */
int cli_profile_dir(const char *name, int create, char *out, size_t cap, mk_err *e) MK_MUST_CHECK;

/* profile.json of the named profile; an empty object when it does not exist
 * yet. It holds the session token, so (MK_EPERM) a symlink, a file of
 * another user, or one that other users can read or write is refused, and
 * more than CLI_PROFILE_FILE_MAX bytes is MK_ETOOBIG. Caller frees *out with
 * cli_profile_free. */
int cli_profile_load(const char *name, json_t **out, mk_err *e) MK_MUST_CHECK;

/* Write cfg as profile.json, creating the directory: mk_file_write_private
 * (lib/util/file.h), so 0600 and atomic, a crash leaves the old or the new
 * file. */
int cli_profile_save(const char *name, const json_t *cfg, mk_err *e) MK_MUST_CHECK;

/* This profile's device id ("dev_…", the device an account session is bound
 * to): made and saved on first use; cli_client_open sends it. */
int cli_profile_device(const struct cli *ctx, char out[MK_ID_MAX], mk_err *e) MK_MUST_CHECK;

/* Wipe the token held in cfg, then release cfg; NULL does nothing. */
void cli_profile_free(json_t *cfg);

/* ---- server -------------------------------------------------------------- */

/* The server to use: --server, else $MKEY_SERVER, else the profile's
 * "server" (profile may be NULL), else CLI_SERVER_DEFAULT. *source (may be
 * NULL) says which: "flag", "env", "profile" or "default". Points into ctx,
 * the environment, profile or a constant. */
const char *cli_server_url(const struct cli *ctx, const json_t *profile, const char **source);

/*
 * A client for the current profile's server. The profile's session token is
 * sent only when the server is the one the profile names (the server that
 * issued it), so `--server` pointed elsewhere never receives it. Caller
 * frees *out with mk_client_free.
 */
int cli_client_open(const struct cli *ctx, mk_client **out, mk_err *e) MK_MUST_CHECK;

/* One request on a client of its own (cli_client_open): method path with
 * body (may be NULL); *out keeps the answer. When the server asks for a
 * login, e is wrapped with hint (may be NULL), which says how. */
int cli_request(const struct cli *ctx, const char *method, const char *path, const json_t *body,
                mk_client_response *out, const char *hint, mk_err *e) MK_MUST_CHECK;

/* Every item of a paged list appended to all: GET base (which has a query),
 * then base&cursor=<next_cursor> while the server names one made only of
 * the characters in cursor_chars, at most pages times so a misbehaving
 * server cannot loop us. hint as cli_request; what names the list when an
 * answer has no items. 0, or CLI_FAIL after printing. */
int cli_get_all(const struct cli *ctx, const char *base, const char *hint,
                const char *cursor_chars, int pages, const char *what, json_t *all);

/* ---- cache and queries (cmd_cache.c) ------------------------------------ */

/* Write v as <profile>/cache/<name>.json (name: [a-z0-9-]+), 0600; what
 * `mkey cache clear` removes. Best effort: -1 on any failure. */
int cli_cache_put(const struct cli *ctx, const char *name, const json_t *v);
/* Percent-encode in (RFC 3986: all but unreserved characters) for a query
 * string; -1 when it does not fit cap. */
int cli_query_escape(const char *in, char *out, size_t cap);
/* ---- shared by command groups ------------------------------------------------ */
/* Take every "--NAME X" / "--NAME=X" out of argv (argv[0], the command,
 * is kept; "--" ends the options) into vals, which holds *nvals already and
 * at most max; kept (argc entries) gets the rest. -1 when one lacks its
 * value or there are more than max. */
int cli_take_repeated(int argc, const char **argv, const char *name, int max, const char **kept,
                      int *nkept, const char **vals, int *nvals);
/* An application as text (cmd_app.c; `app show`, `ca show`). */
void cli_print_application(const json_t *app);
/* A password from file (private, 0600; "-": one line of stdin), or asked on
 * the terminal when file is NULL; trailing newline dropped, wiped on failure
 * (cmd_ca.c). */
int cli_read_password(const char *file, char *out, size_t cap, mk_err *e) MK_MUST_CHECK;

#endif
