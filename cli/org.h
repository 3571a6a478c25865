/*
 * What the organisation commands share (cli/org.c): uploading the images a
 * form names, repeated --attach ROLE=FILE options, --years, comma lists of
 * permissions, choosing the enterprise to act on, sending a request and
 * printing its answer, and one-line summaries of applications. Used by
 * cmd_cert.c, cmd_enterprise.c, cmd_staff.c and cmd_auth.c.
 */
#ifndef MKEY_CLI_ORG_H
#define MKEY_CLI_ORG_H

#include "cli.h"

#define ORG_CLI_ATTACH_MAX 8                 /* --attach options on one command line */
#define ORG_CLI_PATH_MAX 512                 /* request paths with ids and a query */
#define ORG_CLI_ARGS_MAX 64                  /* arguments of a command that takes --attach */

/* Take every "--attach ROLE=FILE" (or --attach=ROLE=FILE) out of argv:
 * kept receives the other arguments (argc of them, like argv), attach the
 * values. Returns 0, or CLI_USAGE after printing. */
int org_cli_take_attach(int argc, const char **argv, const char **kept, int *nkept,
                        const char **attach, int *nattach, const char *usage);

/* cli_parse_options on argv without its --attach options
 * (org_cli_take_attach), at most ORG_CLI_ARGS_MAX arguments; attach
 * (ORG_CLI_ATTACH_MAX) receives the values. 0, or CLI_USAGE after printing. */
int org_cli_parse(struct cli *ctx, int argc, const char **argv, const struct cli_option *opts,
                  const char **args, int max_args, int *nargs, const char **attach, int *nattach,
                  const char *usage);

/* Upload file (a PNG or JPEG of at most 2 MiB, checked here first) to
 * POST /v1/attachments; id receives the attachment id. */
int org_cli_upload(mk_client *c, const char *file, char id[MK_ID_MAX], mk_err *e) MK_MUST_CHECK;

/* Upload the files and append {role, id} to arr: first role0/file0 (when
 * file0 is not NULL), then each "ROLE=FILE" of attach. */
int org_cli_attachments(mk_client *c, const char *role0, const char *file0,
                        const char *const *attach, int nattach, json_t *arr,
                        mk_err *e) MK_MUST_CHECK;

/* "login,seal" as a JSON array; NULL (after printing) for an empty item. */
json_t *org_cli_list(const char *text, const char *what, const char *usage);

/* Append "<key>=<value percent-encoded>" to the query in path (cap bytes);
 * -1 when it does not fit. */
int org_cli_query_add(char *path, size_t cap, const char *key, const char *value);

/* The enterprise to act on: given (--enterprise), else the only one the
 * caller admins (need_admin) or belongs to. id receives it. */
int org_cli_enterprise(mk_client *c, const char *given, int need_admin, char id[MK_ID_MAX],
                       mk_err *e) MK_MUST_CHECK;

/* Check that s is an id with prefix (so it can go into a path); else
 * print a usage error naming what and return CLI_USAGE. */
int org_cli_check_id(const char *s, const char *prefix, const char *what, const char *usage);

/* "apl_…  认领企业 (enterprise_claim)  awaiting_ca" and what comes next. */
void org_cli_print_app(const json_t *app);

/* Print e, with a hint to log in when the server asked for it; CLI_FAIL. */
int org_cli_fail(mk_err *e);

/* "--years": a whole number 1 to 10 into *out; -1 otherwise. */
int org_cli_years(const char *s, int *out);

/* Open a client (*c, freed by the caller even on failure) and find the
 * enterprise as org_cli_enterprise does; path receives
 * "/v1/enterprises/<id><suffix>". 0, or CLI_FAIL after printing. */
int org_cli_open_enterprise(struct cli *ctx, const char *given, int need_admin,
                            const char *suffix, mk_client **c, char *path, size_t cap);

/* Send one request on c and print the answer: with --json the document (its
 * member key when key is not NULL), else text(document). The command's exit
 * status; a failure is printed. */
int org_cli_send(const struct cli *ctx, mk_client *c, const char *method, const char *path,
                 const json_t *body, const char *key, void (*text)(const json_t *));

/* DELETE "/v1/enterprises/<id><suffix>" as the enterprise's admin (given
 * or the only one), then print done (--json; NULL: out of memory) or said.
 * The command's exit status. */
int org_cli_delete(struct cli *ctx, const char *given, const char *suffix, const json_t *done,
                   const char *said);

/* Upload form (role application_form, when not NULL) and each "ROLE=FILE"
 * of attach, set them as body's "attachments", POST body to path and print
 * the application. The command's exit status; a failure is printed. */
int org_cli_submit(const struct cli *ctx, mk_client *c, const char *path, json_t *body,
                   const char *form, const char *const *attach, int nattach);

/* Open a client for ctx and send one request; on failure print why and
 * return CLI_FAIL, else 0 with *out filled. */
int org_cli_call(struct cli *ctx, const char *method, const char *path, const json_t *body,
                 mk_client_response *out);

/* Print r's JSON (--json) or run text(r.json); the command's exit status. */
int org_cli_output(const struct cli *ctx, const json_t *doc, void (*text)(const json_t *));

#endif
