/* mkey wechat login: log in as a WeChat user (微信登录). On a sandbox
 * server mkey plays the user's side of WeChat's consent page itself; with a
 * real WeChat the app's authorization code is given with --auth-code. A
 * WeChat user not yet bound is bound to a phone number with an SMS code. */
#include "cmd_account.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "util/enc.h"
#include "util/guard.h"

const char cmd_wechat_usage[] =
    "usage: mkey wechat login [--user NAME | --auth-code CODE] [--phone N [--code C]]\n"
    "\n"
    "Log in with WeChat. On a sandbox server mkey consents as the simulated WeChat\n"
    "user NAME (default: the profile's name); otherwise give the authorization code\n"
    "WeChat handed the app (--auth-code). A WeChat user that is not bound to an\n"
    "account yet is bound to the number N: without --code an SMS code is sent to N\n"
    "(on a terminal you are asked for it, otherwise run again with --code); the\n"
    "first binding of a new number creates its account. Afterwards WeChat alone\n"
    "logs in. The session is bound to this profile's device.\n";

/* The sandbox consent page: an authorization code for user. *code (caller's
 * buffer) receives it; state must come back unchanged. */
static int sandbox_consent(mk_client *c, const char *user, char code[160], mk_err *e) {
  int rc = 0;
  mk_client_response r = {0};
  unsigned char raw[12];
  char state[20], path[256];
  MK_ENSURE(RAND_bytes(raw, sizeof raw) == 1, MK_ECRYPTO, e, "no randomness for state");
  MK_TRY(mk_base64url_encode(raw, sizeof raw, state, sizeof state, e));
  snprintf(path, sizeof path, "/v1/sandbox/wechat/consent?user=%s&state=%s", user, state);
  rc = mk_client_request(c, "GET", path, NULL, &r, e);
  if (rc == MK_ENOTFOUND)
    mk_err_set(e, MK_ENOTFOUND,
               "this server has no simulated WeChat (not in sandbox mode): give --auth-code");
  MK_TRY(rc);
  const char *got = json_string_value(json_object_get(r.json, "code"));
  const char *back = json_string_value(json_object_get(r.json, "state"));
  MK_ENSURE(got != NULL && strlen(got) < 160 && back != NULL && strcmp(back, state) == 0,
            MK_EPROTO, e, "the consent page answered without the code or with another state");
  snprintf(code, 160, "%s", got);
out:
  mk_client_response_clear(&r);
  return rc;
}

static int name_ok(const char *s) {
  size_t n = strlen(s);
  return n >= 1 && n <= 32 &&
         strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static int wechat_login(int argc, const char **argv, struct cli *ctx) {
  const char *user = NULL, *auth = NULL, *phone = NULL, *code = NULL;
  const struct cli_option opts[] = {{"--user", &user, NULL},
                                    {"--auth-code", &auth, NULL},
                                    {"--phone", &phone, NULL},
                                    {"--code", &code, NULL},
                                    {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, opts, NULL, 0, NULL, cmd_wechat_usage);
  if (rc != 0)
    return rc;
  mk_err e = {0};
  if (user != NULL && auth != NULL)
    return cli_usage_error(cmd_wechat_usage, "give --user or --auth-code, not both");
  if (user == NULL)
    user = ctx->profile;
  if (!name_ok(user))
    return cli_usage_error(cmd_wechat_usage, "--user is 1 to 32 of A-Z, a-z, 0-9, '.', '_', '-'");
  if (phone != NULL && mk_valid_mobile(phone, &e) < 0)
    return cli_usage_error(cmd_wechat_usage, "--phone: %s", e.msg);
  if (code != NULL && phone == NULL)
    return cli_usage_error(cmd_wechat_usage, "--code goes with --phone");

  mk_client *c = NULL;
  mk_client_response r = {0}, b = {0};
  json_t *body = NULL;
  char device[MK_ID_MAX], authcode[160] = "", typed[ACCT_CODE_MAX] = "", masked[32];
  rc = CLI_FAIL;
  if (cli_profile_device(ctx, device, &e) < 0 || cli_client_open(ctx, &c, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  if (auth != NULL) {
    snprintf(authcode, sizeof authcode, "%s", auth);
  } else if (sandbox_consent(c, user, authcode, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  body = json_pack("{s:s,s:s}", "code", authcode, "device_id", device);
  if (body == NULL) {
    cli_error("out of memory");
    goto out;
  }
  if (mk_client_request(c, "POST", "/v1/wechat/sessions", body, &r, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  if (r.status == 201) { /* bound: logged in */
    if (acct_save_session(ctx, c, r.json, NULL, &e) < 0) {
      cli_fail(&e);
      goto out;
    }
    if (ctx->json) {
      rc = acct_print_login(ctx, c, r.json, NULL);
    } else {
      printf("logged in with WeChat (account %s, profile %s)\n",
             json_string_value(json_object_get(r.json, "account_id")), ctx->profile);
      rc = CLI_OK;
    }
    goto out;
  }
  const char *ticket = json_string_value(json_object_get(r.json, "binding_ticket"));
  if (ticket == NULL) {
    cli_error("the server answered neither a session nor a binding ticket");
    goto out;
  }
  if (phone == NULL) {
    cli_error("this WeChat user is not bound to an account yet: bind it with --phone N");
    goto out;
  }
  acct_mask_phone(phone, masked);
  if (code == NULL) {
    char said[128], again[256];
    snprintf(said, sizeof said, "an SMS code was sent to %s", masked);
    snprintf(again, sizeof again, "mkey wechat login%s%s --phone %s --code CODE",
             auth ? "" : " --user ", auth ? "" : user, phone);
    int got = acct_send_code(ctx, c, phone, "login", said, again, typed, &rc, &e);
    if (got < 0) {
      cli_fail(&e);
      goto out;
    }
    if (got > 0)
      goto out;
    code = typed;
  }
  json_decref(body);
  body = json_pack("{s:s,s:s,s:s,s:s}", "binding_ticket", ticket, "phone", phone, "code", code,
                   "device_id", device);
  if (body == NULL) {
    cli_error("out of memory");
    goto out;
  }
  if (mk_client_request(c, "POST", "/v1/wechat/bindings", body, &b, &e) < 0 ||
      acct_save_session(ctx, c, b.json, phone, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  if (ctx->json) {
    rc = acct_print_login(ctx, c, b.json, phone);
  } else {
    printf("WeChat bound to %s%s; logged in (profile %s)\n", masked,
           json_is_true(json_object_get(b.json, "new_account")) ? ", a new account" : "",
           ctx->profile);
    rc = CLI_OK;
  }
out:
  OPENSSL_cleanse(authcode, sizeof authcode);
  OPENSSL_cleanse(typed, sizeof typed);
  json_decref(body);
  acct_wipe(r.json, "token");
  acct_wipe(b.json, "token");
  mk_client_response_clear(&r);
  mk_client_response_clear(&b);
  mk_client_free(c);
  return rc;
}

int cmd_wechat(int argc, const char **argv, struct cli *ctx) {
  if (argc < 2)
    return cli_usage_error(cmd_wechat_usage, "wechat needs a subcommand (login)");
  if (strcmp(argv[1], "login") == 0)
    return wechat_login(argc - 1, argv + 1, ctx);
  return cli_usage_error(cmd_wechat_usage, "unknown wechat subcommand '%s'", argv[1]);
}
