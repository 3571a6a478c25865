/* mkey phone change: move the logged-in account to a new number (设置 →
 * 更换手机号). The code goes to the new number; the number must be free. */
#include "cmd_account.h"

#include <string.h>

#include <openssl/crypto.h>

#include "util/guard.h"

const char cmd_phone_usage[] =
    "usage: mkey phone change --phone NEW [--code C]\n"
    "\n"
    "Move this profile's account to the number NEW, which no account may have.\n"
    "Without --code an SMS code is sent to NEW: on a terminal you are asked for it,\n"
    "otherwise run again with --code. The account's other sessions end; this one\n"
    "stays, and you log in with NEW from now on.\n";

static int phone_change(int argc, const char **argv, struct cli *ctx) {
  const char *phone = NULL, *code = NULL;
  const struct cli_option opts[] = {
      {"--phone", &phone, NULL}, {"--code", &code, NULL}, {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, opts, NULL, 0, NULL, cmd_phone_usage);
  if (rc != 0)
    return rc;
  mk_err e = {0};
  if (phone == NULL)
    return cli_usage_error(cmd_phone_usage, "change needs --phone NEW");
  if (mk_valid_mobile(phone, &e) < 0)
    return cli_usage_error(cmd_phone_usage, "--phone: %s", e.msg);
  mk_client *c = NULL;
  mk_client_response r = {0};
  json_t *body = NULL, *profile = NULL;
  char typed[ACCT_CODE_MAX] = "", masked[32];
  rc = CLI_FAIL;
  acct_mask_phone(phone, masked);
  if (cli_client_open(ctx, &c, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  if (code == NULL) {
    char said[128], again[128];
    snprintf(said, sizeof said, "an SMS code was sent to %s", masked);
    snprintf(again, sizeof again, "mkey phone change --phone %s --code CODE", phone);
    int got = acct_send_code(ctx, c, phone, "change_phone", said, again, typed, &rc, &e);
    if (got < 0) {
      if (e.code == MK_EAUTH)
        mk_err_wrap(&e, "log in first (mkey login)");
      cli_fail(&e);
      goto out;
    }
    if (got > 0)
      goto out;
    code = typed;
  }
  body = json_pack("{s:s,s:s}", "new_phone", phone, "code", code);
  if (body == NULL) {
    cli_error("out of memory");
    goto out;
  }
  if (mk_client_request(c, "POST", "/v1/me/phone", body, &r, &e) < 0) {
    if (e.code == MK_EAUTH)
      mk_err_wrap(&e, "log in first (mkey login)");
    cli_fail(&e);
    goto out;
  }
  if (cli_profile_load(ctx->profile, &profile, &e) < 0 ||
      json_object_set_new(profile, "phone", json_string(phone)) != 0 ||
      cli_profile_save(ctx->profile, profile, &e) < 0) {
    if (e.msg[0] == '\0')
      mk_err_set(&e, MK_ENOMEM, "out of memory");
    cli_fail(&e);
    goto out;
  }
  if (ctx->json) {
    rc = cli_print_json(r.json);
  } else {
    json_int_t ended = json_integer_value(json_object_get(r.json, "sessions_ended"));
    printf("phone number changed to %s", masked);
    if (ended > 0)
      printf("; %lld other session%s ended", (long long)ended, ended == 1 ? "" : "s");
    printf("\n");
    rc = CLI_OK;
  }
out:
  OPENSSL_cleanse(typed, sizeof typed);
  json_decref(body);
  cli_profile_free(profile);
  mk_client_response_clear(&r);
  mk_client_free(c);
  return rc;
}

int cmd_phone(int argc, const char **argv, struct cli *ctx) {
  if (argc < 2)
    return cli_usage_error(cmd_phone_usage, "phone needs a subcommand (change)");
  if (strcmp(argv[1], "change") == 0)
    return phone_change(argc - 1, argv + 1, ctx);
  return cli_usage_error(cmd_phone_usage, "unknown phone subcommand '%s'", argv[1]);
}
