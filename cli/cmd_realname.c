/* mkey realname: real-name verification (实名认证) of the logged-in
 * account by CFCA, Alipay face or bank card four elements, once; with
 * --again a re-verification against the stored identity (what 证书找回
 * asks for). The server masks the ID number in every answer. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FACE_WAIT_DEFAULT 120 /* seconds: doing a face check takes a person a while */
#define FACE_WAIT_MAX 600
#define FACE_POLL_MS 1000

const char cmd_realname_usage[] =
    "usage: mkey realname --method cfca|alipay|bankcard --name NAME --id-number ID\n"
    "                     [--card NUMBER --card-phone PHONE] [--again]\n"
    "                     [--face-result pass|fail] [--wait SECONDS]\n"
    "       mkey realname show\n"
    "\n"
    "Verify the logged-in account's real name (once per account; one account per\n"
    "ID number):\n"
    "  cfca      中金认证: name and ID number\n"
    "  bankcard  银行卡四要素: also --card (the bank card number) and --card-phone\n"
    "            (the phone number the bank has for it)\n"
    "  alipay    支付宝认证: starts a face check and prints its URL, then waits up to\n"
    "            --wait seconds (default 120) for the result. On a sandbox server\n"
    "            --face-result pass|fail gives the result Alipay would.\n"
    "--again     re-verify instead: the name and ID number must be the account's\n"
    "            verified ones; prints the verification id recovery asks for\n"
    "show        the account's verified identity (ID number masked)\n"
    "--json prints the server's answer.\n";

static int api(struct cli *ctx, const char *method, const char *path, const json_t *body,
               mk_client_response *r, mk_err *e) {
  mk_client *c = NULL;
  int rc = cli_client_open(ctx, &c, e);
  if (rc == 0)
    rc = mk_client_request(c, method, path, body, r, e);
  mk_client_free(c);
  if (rc == MK_EAUTH)
    mk_err_wrap(e, "log in first (mkey login --phone N)");
  return rc;
}

/* A string member for printing; "?" when the server left it out. */
static const char *str(const json_t *o, const char *k) {
  const char *v = json_string_value(json_object_get(o, k));
  return v != NULL ? v : "?";
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Alipay: start a face session, tell the user where to go, optionally
 * record the sandbox result, wait for the outcome. face_id receives the
 * session id. */
static int face_check(struct cli *ctx, const char *name, const char *idn, const char *result,
                      long wait_s, char face_id[MK_ID_MAX], mk_err *e) {
  int rc = 0;
  mk_client_response r = {0};
  json_t *body = json_pack("{s:s,s:s}", "name", name, "id_number", idn);
  char path[128];
  if (body == NULL)
    return mk_err_set(e, MK_EINVAL, "name and ID number must be UTF-8");
  rc = api(ctx, "POST", "/v1/me/identity/face-sessions", body, &r, e);
  json_decref(body);
  if (rc < 0)
    goto out;
  const char *id = json_string_value(json_object_get(r.json, "face_session_id"));
  const char *url = json_string_value(json_object_get(r.json, "url"));
  if (id == NULL || mk_id_check(id, "fce", NULL) < 0 || url == NULL) {
    rc = mk_err_set(e, MK_EPROTO, "the server's answer has no face session");
    goto out;
  }
  snprintf(face_id, MK_ID_MAX, "%s", id);
  fprintf(stderr, "face check: open %s in Alipay (session %s)\n", url, id);
  if (result != NULL) {
    body = json_pack("{s:s}", "outcome", result);
    snprintf(path, sizeof path, "/v1/sandbox/face-sessions/%s/result", face_id);
    rc = body != NULL ? api(ctx, "POST", path, body, &r, e) : mk_err_set(e, MK_ENOMEM, "out of memory");
    json_decref(body);
    if (rc == MK_ENOTFOUND)
      mk_err_wrap(e, "--face-result works only with a sandbox server");
    if (rc < 0)
      goto out;
  }
  snprintf(path, sizeof path, "/v1/me/identity/face-sessions/%s", face_id);
  for (long waited = 0;; waited += FACE_POLL_MS) {
    if ((rc = api(ctx, "GET", path, NULL, &r, e)) < 0)
      goto out;
    const char *state = json_string_value(json_object_get(r.json, "state"));
    if (state == NULL || strcmp(state, "pending") != 0)
      break;
    if (waited >= wait_s * 1000) {
      rc = mk_err_set(e, MK_EEXPIRED, "the face check did not finish within %ld s", wait_s);
      goto out;
    }
    sleep_ms(FACE_POLL_MS);
  }
out:
  mk_client_response_clear(&r);
  return rc;
}

static int realname_show(int argc, const char **argv, struct cli *ctx) {
  int rc = cli_parse_options(ctx, argc, argv, NULL, NULL, 0, NULL, cmd_realname_usage);
  if (rc != 0)
    return rc;
  mk_err e = {0};
  mk_client_response r = {0};
  if (api(ctx, "GET", "/v1/me/identity", NULL, &r, &e) < 0) {
    rc = cli_fail(&e);
  } else if (ctx->json) {
    rc = cli_print_json(r.json);
  } else {
    printf("%s %s (%s, %s)\n", str(r.json, "name"),
           str(r.json, "id_number"),
           str(r.json, "method"),
           str(r.json, "verified_at"));
    rc = CLI_OK;
  }
  mk_client_response_clear(&r);
  return rc;
}

int cmd_realname(int argc, const char **argv, struct cli *ctx) {
  if (argc >= 2 && strcmp(argv[1], "show") == 0)
    return realname_show(argc - 1, argv + 1, ctx);
  const char *method = NULL, *name = NULL, *idn = NULL, *card = NULL, *card_phone = NULL,
             *result = NULL, *wait = NULL;
  int again = 0;
  const struct cli_option opts[] = {
      {"--method", &method, NULL},  {"--name", &name, NULL},
      {"--id-number", &idn, NULL},  {"--card", &card, NULL},
      {"--card-phone", &card_phone, NULL}, {"--face-result", &result, NULL},
      {"--wait", &wait, NULL},      {"--again", NULL, &again},
      {NULL, NULL, NULL},
  };
  int rc = cli_parse_options(ctx, argc, argv, opts, NULL, 0, NULL, cmd_realname_usage);
  if (rc != 0)
    return rc;
  if (method == NULL || name == NULL || idn == NULL)
    return cli_usage_error(cmd_realname_usage, "realname needs --method, --name and --id-number");
  int card_m = strcmp(method, "bankcard") == 0, face = strcmp(method, "alipay") == 0;
  if (!card_m && !face && strcmp(method, "cfca") != 0)
    return cli_usage_error(cmd_realname_usage, "--method is cfca, alipay or bankcard");
  if (card_m != (card != NULL) || card_m != (card_phone != NULL))
    return cli_usage_error(cmd_realname_usage,
                           "--card and --card-phone go with --method bankcard, and it needs both");
  if (!face && (result != NULL || wait != NULL))
    return cli_usage_error(cmd_realname_usage, "--face-result and --wait go with --method alipay");
  if (result != NULL && strcmp(result, "pass") != 0 && strcmp(result, "fail") != 0)
    return cli_usage_error(cmd_realname_usage, "--face-result is pass or fail");
  long wait_s = FACE_WAIT_DEFAULT;
  if (wait != NULL) {
    char *end = NULL;
    wait_s = strtol(wait, &end, 10);
    if (end == wait || *end != '\0' || wait_s < 0 || wait_s > FACE_WAIT_MAX)
      return cli_usage_error(cmd_realname_usage, "--wait is 0 to %d seconds", FACE_WAIT_MAX);
  }

  mk_err e = {0};
  mk_client_response r = {0};
  json_t *body = NULL;
  char face_id[MK_ID_MAX];
  rc = CLI_FAIL;
  if (face) {
    if (face_check(ctx, name, idn, result, wait_s, face_id, &e) < 0) {
      cli_fail(&e);
      goto out;
    }
    body = json_pack("{s:s,s:s}", "method", "alipay", "face_session_id", face_id);
  } else {
    body = json_pack("{s:s,s:s,s:s}", "method", method, "name", name, "id_number", idn);
    if (body != NULL && card_m &&
        (json_object_set_new(body, "card_number", json_string(card)) != 0 ||
         json_object_set_new(body, "card_phone", json_string(card_phone)) != 0)) {
      json_decref(body);
      body = NULL;
    }
  }
  if (body == NULL) {
    cli_error("cannot build the request (is every argument UTF-8?)");
    goto out;
  }
  if (api(ctx, "POST", again ? "/v1/me/identity/verifications" : "/v1/me/identity", body, &r,
          &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  if (ctx->json) {
    rc = cli_print_json(r.json);
  } else if (again) {
    printf("re-verified: the identity matches (%s); verification %s\n", method,
           str(r.json, "verification_id"));
    rc = CLI_OK;
  } else {
    printf("verified: %s %s by %s at %s\n", str(r.json, "name"),
           str(r.json, "id_number"), method,
           str(r.json, "verified_at"));
    rc = CLI_OK;
  }
out:
  json_decref(body);
  mk_client_response_clear(&r);
  return rc;
}
