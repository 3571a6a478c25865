/*
 * Helpers shared by the account commands (cmd_login.c, cmd_password.c,
 * cmd_phone.c, cmd_wechat.c): secrets from private files or the terminal,
 * SMS codes, and keeping a session in the profile.
 */
#ifndef MKEY_CLI_CMD_ACCOUNT_H
#define MKEY_CLI_CMD_ACCOUNT_H

#include "cli.h"

#define ACCT_SECRET_MAX 128 /* a password and its newline; the server allows 64 bytes */
#define ACCT_CODE_MAX 16

/* A secret (password): the first line of file (which must be private,
 * 0600), else typed on the terminal without echo after prompt (twice when
 * confirm). Never from argv. MK_EINVAL when there is neither a file nor a
 * terminal. out is wiped by the caller. */
int acct_read_secret(const char *file, const char *prompt, int confirm, char out[ACCT_SECRET_MAX],
                     mk_err *e) MK_MUST_CHECK;

/* 1 when standard input is a terminal (codes and passwords can be asked). */
int acct_interactive(void);

/* Ask for the SMS code on the terminal. */
int acct_ask_code(char out[ACCT_CODE_MAX], mk_err *e) MK_MUST_CHECK;

/* POST /v1/sms-codes {phone, purpose} with c; *answer (may be NULL) keeps
 * the server's answer. */
int acct_request_code(mk_client *c, const char *phone, const char *purpose, json_t **answer,
                      mk_err *e) MK_MUST_CHECK;

/* Have an SMS code sent to phone for purpose (acct_request_code). On a
 * terminal, print said (where it went) and ask for the code into typed:
 * returns 0. Otherwise print the server's answer (--json) or said with
 * "; run: <again>" and return 1 with *status the command's exit status: the
 * command stops there. A negative mk_err code on failure. */
int acct_send_code(const struct cli *ctx, mk_client *c, const char *phone, const char *purpose,
                   const char *said, const char *again, char typed[ACCT_CODE_MAX], int *status,
                   mk_err *e) MK_MUST_CHECK;

/* Keep the session of a login answer ({token, account_id, ...}) in the
 * profile with the server's URL, role "account" and phone. */
int acct_save_session(const struct cli *ctx, mk_client *c, const json_t *answer,
                      const char *phone, mk_err *e) MK_MUST_CHECK;

/* Print what a login did (or its JSON without the token) and return the
 * exit status. */
int acct_print_login(const struct cli *ctx, mk_client *c, const json_t *answer,
                     const char *phone);

/* Drop the session from the profile (token, role, account_id, phone). */
int acct_forget_session(const struct cli *ctx, mk_err *e) MK_MUST_CHECK;

/* Wipe the string obj[key] in place (a token or password); obj may be NULL. */
void acct_wipe(json_t *obj, const char *key);

/* "138****0000" */
void acct_mask_phone(const char *phone, char out[32]);

#endif
