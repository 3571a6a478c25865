/* mkey password set|change|reset: the account's login password (设置 →
 * 修改登录密码, 忘记原密码). Passwords come from private files or the
 * terminal (no echo), never from the command line. */
#include "cmd_account.h"

#include <string.h>

#include <openssl/crypto.h>

#include "util/guard.h"

const char cmd_password_usage[] =
    "usage: mkey password set [--password-file F]\n"
    "       mkey password change [--old-password-file F] [--new-password-file F]\n"
    "       mkey password reset --phone N [--code C] [--new-password-file F]\n"
    "\n"
    "set     give a logged-in account without a password one, for `mkey login\n"
    "        --password-file`\n"
    "change  replace the password (the old one is required); the account's other\n"
    "        sessions end\n"
    "reset   forgotten password: an SMS code to N sets a new one and ends every\n"
    "        session. Without --code the code is sent: on a terminal you are asked for\n"
    "        it, otherwise run again with --code.\n"
    "\n"
    "A password has 8 to 64 characters with a letter and a digit. Files hold it on\n"
    "their first line and must be private (0600); without a file it is asked for on\n"
    "the terminal.\n";

static int print_result(const struct cli *ctx, const json_t *answer, const char *what) {
  if (ctx->json)
    return cli_print_json(answer);
  json_int_t ended = json_integer_value(json_object_get(answer, "sessions_ended"));
  printf("%s", what);
  if (ended > 0)
    printf("; %lld other session%s ended", (long long)ended, ended == 1 ? "" : "s");
  printf("\n");
  return CLI_OK;
}

/* set and change: PUT /v1/me/password. */
static int password_put(int argc, const char **argv, struct cli *ctx, int change) {
  const char *newfile = NULL, *oldfile = NULL;
  const struct cli_option set_opts[] = {{"--password-file", &newfile, NULL},
                                        {NULL, NULL, NULL}};
  const struct cli_option change_opts[] = {{"--old-password-file", &oldfile, NULL},
                                           {"--new-password-file", &newfile, NULL},
                                           {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, change ? change_opts : set_opts, NULL, 0, NULL,
                             cmd_password_usage);
  if (rc != 0)
    return rc;
  mk_err e = {0};
  mk_client *c = NULL;
  mk_client_response r = {0};
  json_t *body = NULL;
  char oldpw[ACCT_SECRET_MAX] = "", newpw[ACCT_SECRET_MAX] = "";
  rc = CLI_FAIL;
  if ((change && acct_read_secret(oldfile, "Old password: ", 0, oldpw, &e) < 0) ||
      acct_read_secret(newfile, "New password: ", 1, newpw, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  body = change ? json_pack("{s:s,s:s}", "old_password", oldpw, "new_password", newpw)
                : json_pack("{s:s}", "new_password", newpw);
  if (body == NULL) {
    cli_error("out of memory");
    goto out;
  }
  if (cli_client_open(ctx, &c, &e) < 0 ||
      mk_client_request(c, "PUT", "/v1/me/password", body, &r, &e) < 0) {
    if (e.code == MK_EAUTH)
      mk_err_wrap(&e, "log in first (mkey login)");
    cli_fail(&e);
    goto out;
  }
  rc = print_result(ctx, r.json, change ? "password changed" : "password set");
out:
  acct_wipe(body, "old_password");
  acct_wipe(body, "new_password");
  json_decref(body);
  OPENSSL_cleanse(oldpw, sizeof oldpw);
  OPENSSL_cleanse(newpw, sizeof newpw);
  mk_client_response_clear(&r);
  mk_client_free(c);
  return rc;
}

static int password_reset(int argc, const char **argv, struct cli *ctx) {
  const char *phone = NULL, *code = NULL, *newfile = NULL;
  const struct cli_option opts[] = {{"--phone", &phone, NULL},
                                    {"--code", &code, NULL},
                                    {"--new-password-file", &newfile, NULL},
                                    {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, opts, NULL, 0, NULL, cmd_password_usage);
  if (rc != 0)
    return rc;
  mk_err e = {0};
  if (phone == NULL)
    return cli_usage_error(cmd_password_usage, "reset needs --phone N");
  if (mk_valid_mobile(phone, &e) < 0)
    return cli_usage_error(cmd_password_usage, "--phone: %s", e.msg);
  mk_client *c = NULL;
  mk_client_response r = {0};
  json_t *body = NULL, *profile = NULL;
  char newpw[ACCT_SECRET_MAX] = "", typed[ACCT_CODE_MAX] = "", masked[32];
  rc = CLI_FAIL;
  acct_mask_phone(phone, masked);
  if (cli_client_open(ctx, &c, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  if (code == NULL) {
    char said[128], again[128];
    snprintf(said, sizeof said, "if %s has an account, an SMS code was sent to it", masked);
    snprintf(again, sizeof again, "mkey password reset --phone %s --code CODE --new-password-file F",
             phone);
    int got = acct_send_code(ctx, c, phone, "reset_password", said, again, typed, &rc, &e);
    if (got < 0) {
      cli_fail(&e);
      goto out;
    }
    if (got > 0)
      goto out;
    code = typed;
  }
  if (acct_read_secret(newfile, "New password: ", 1, newpw, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  body = json_pack("{s:s,s:s,s:s}", "phone", phone, "code", code, "new_password", newpw);
  if (body == NULL) {
    cli_error("out of memory");
    goto out;
  }
  if (mk_client_request(c, "POST", "/v1/password-resets", body, &r, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  /* Every session of the account ended, this profile's too if it was the
   * same account. */
  if (cli_profile_load(ctx->profile, &profile, &e) == 0) {
    const char *mine = json_string_value(json_object_get(profile, "account_id"));
    const char *reset = json_string_value(json_object_get(r.json, "account_id"));
    if (mine != NULL && reset != NULL && strcmp(mine, reset) == 0 &&
        acct_forget_session(ctx, &e) < 0) {
      cli_fail(&e);
      goto out;
    }
  }
  if (ctx->json) {
    rc = cli_print_json(r.json);
  } else {
    printf("password of %s reset; every session ended: log in again\n", masked);
    rc = CLI_OK;
  }
out:
  acct_wipe(body, "new_password");
  json_decref(body);
  cli_profile_free(profile);
  OPENSSL_cleanse(newpw, sizeof newpw);
  OPENSSL_cleanse(typed, sizeof typed);
  mk_client_response_clear(&r);
  mk_client_free(c);
  return rc;
}

int cmd_password(int argc, const char **argv, struct cli *ctx) {
  if (argc < 2)
    return cli_usage_error(cmd_password_usage, "password needs set, change or reset");
  if (strcmp(argv[1], "set") == 0)
    return password_put(argc - 1, argv + 1, ctx, 0);
  if (strcmp(argv[1], "change") == 0)
    return password_put(argc - 1, argv + 1, ctx, 1);
  if (strcmp(argv[1], "reset") == 0)
    return password_reset(argc - 1, argv + 1, ctx);
  return cli_usage_error(cmd_password_usage, "unknown password subcommand '%s'", argv[1]);
}
