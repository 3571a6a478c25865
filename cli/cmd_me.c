/* mkey me: 我的 and the home page of the logged-in account: identity (ID
 * number masked), current platform, roles and enterprises, unread
 * messages, the next step the home page suggests (去认证 → 去申请 →
 * 去下载), the home shortcuts (应用中心), the customer-service phone. */
#include "cli.h"

#include <string.h>

#define SHORTCUTS_MAX 8

const char cmd_me_usage[] =
    "usage: mkey me\n"
    "       mkey me shortcuts [set APP...]\n"
    "\n"
    "me         who you are and what the home page suggests next:\n"
    "           verify (去认证: mkey realname), apply (去申请: mkey cert apply …),\n"
    "           download (去下载: an approved application waits)\n"
    "shortcuts  the apps on your home page, and all apps of the app centre;\n"
    "           set APP... replaces them (1 to 8 app ids, e.g. cert_apply scan seal)\n"
    "--json prints the server's answer.\n";

static const char *str(const json_t *o, const char *k) {
  const char *v = json_string_value(json_object_get(o, k));
  return v != NULL ? v : "?";
}

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

static void print_apps(const char *label, const json_t *apps) {
  size_t i;
  json_t *v;
  printf("%s", label);
  json_array_foreach(apps, i, v) printf("%s %s (%s)", i ? "," : "", str(v, "title"), str(v, "id"));
  printf("\n");
}

static void print_me(const json_t *me) {
  const json_t *idn = json_object_get(me, "identity");
  const json_t *plt = json_object_get(me, "platform");
  printf("account    %s\n", str(me, "account_id"));
  printf("phone      %s\n", str(me, "phone"));
  if (json_is_object(idn))
    printf("identity   %s %s (%s, %s)\n", str(idn, "name"), str(idn, "id_number"),
           str(idn, "method"), str(idn, "verified_at"));
  else
    printf("identity   not verified\n");
  if (json_is_object(plt))
    printf("platform   %s %s\n", str(plt, "id"), str(plt, "name"));
  else
    printf("platform   none chosen (mkey platform nearest / use)\n");
  size_t i;
  json_t *v;
  printf("roles     ");
  json_array_foreach(json_object_get(me, "roles"), i, v)
      printf(" %s", json_is_string(v) ? json_string_value(v) : "?");
  printf("\n");
  json_array_foreach(json_object_get(me, "enterprises"), i, v)
      printf("enterprise %s %s (%s)\n", str(v, "id"), str(v, "name"), str(v, "role"));
  printf("messages   %lld unread\n",
         (long long)json_integer_value(json_object_get(me, "unread_messages")));
  const char *step = json_string_value(json_object_get(me, "next_step"));
  if (step == NULL)
    printf("next       nothing to do\n");
  else if (strcmp(step, "verify") == 0)
    printf("next       %s: verify your real name (mkey realname --method cfca ...)\n",
           str(me, "next_step_label"));
  else if (strcmp(step, "apply") == 0)
    printf("next       %s: apply for a certificate\n", str(me, "next_step_label"));
  else
    printf("next       %s: application %s is approved (mkey messages)\n",
           str(me, "next_step_label"), str(me, "next_step_application_id"));
  print_apps("shortcuts ", json_object_get(me, "shortcuts"));
  printf("service    %s\n", str(me, "service_phone"));
}

static int me_shortcuts(int argc, const char **argv, struct cli *ctx) {
  const char *args[SHORTCUTS_MAX + 2];
  int nargs = 0;
  int rc = cli_parse_options(ctx, argc, argv, NULL, args, SHORTCUTS_MAX + 1, &nargs, cmd_me_usage);
  if (rc != 0)
    return rc;
  json_t *body = NULL;
  if (nargs > 0) {
    if (strcmp(args[0], "set") != 0)
      return cli_usage_error(cmd_me_usage, "unknown shortcuts subcommand '%.64s'", args[0]);
    if (nargs < 2)
      return cli_usage_error(cmd_me_usage, "shortcuts set needs 1 to %d app ids", SHORTCUTS_MAX);
    body = json_pack("{s:[]}", "items");
    for (int i = 1; body != NULL && i < nargs; i++)
      if (json_array_append_new(json_object_get(body, "items"), json_string(args[i])) != 0) {
        json_decref(body);
        body = NULL;
      }
    if (body == NULL)
      return cli_error("app ids must be UTF-8");
  }
  mk_err e = {0};
  mk_client_response r = {0};
  if (api(ctx, body ? "PUT" : "GET", "/v1/me/shortcuts", body, &r, &e) < 0) {
    rc = cli_fail(&e);
  } else if (ctx->json) {
    rc = cli_print_json(r.json);
  } else {
    print_apps("home:", json_object_get(r.json, "items"));
    print_apps("all: ", json_object_get(r.json, "catalogue"));
    rc = CLI_OK;
  }
  json_decref(body);
  mk_client_response_clear(&r);
  return rc;
}

int cmd_me(int argc, const char **argv, struct cli *ctx) {
  if (argc >= 2 && strcmp(argv[1], "shortcuts") == 0)
    return me_shortcuts(argc - 1, argv + 1, ctx);
  int rc = cli_parse_options(ctx, argc, argv, NULL, NULL, 0, NULL, cmd_me_usage);
  if (rc != 0)
    return rc;
  mk_err e = {0};
  mk_client_response r = {0};
  if (api(ctx, "GET", "/v1/me", NULL, &r, &e) < 0) {
    rc = cli_fail(&e);
  } else if (ctx->json) {
    rc = cli_print_json(r.json);
  } else {
    print_me(r.json);
    rc = CLI_OK;
  }
  mk_client_response_clear(&r);
  return rc;
}
