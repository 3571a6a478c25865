/* mkey app: the applications of the logged-in account (its own, or with
 * --role admin those of the enterprises it administers), resubmission after
 * a CA's rejection (证书申领失败 → 重新申领) with new photos uploaded first, and
 * withdrawal; `mkey approve` and `mkey refuse` are an enterprise admin's
 * decisions on a member's request (加入企业申领, 证书授权). docs/review.md. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "org.h"
#include "util/file.h"

#define APP_PATH_MAX 256
#define LIST_PAGES_MAX 100
#define REPEAT_MAX 16 /* --attach / --change given at most this often */

const char cmd_app_usage[] =
    "usage: mkey app list [--state STATE] [--role applicant|admin]\n"
    "       mkey app show APP\n"
    "       mkey app resubmit APP [--form FILE] [--attach ROLE=FILE ...] [--change KEY=VALUE ...]\n"
    "       mkey app cancel APP\n"
    "\n"
    "list      your applications, newest first (--role admin: those of the enterprises\n"
    "          you administer); STATE is one of awaiting_admin, admin_rejected,\n"
    "          awaiting_ca, ca_rejected, awaiting_payment, paid, issued, cancelled\n"
    "show      one application: state, CA and validity, attachments, history\n"
    "resubmit  send an application the CA rejected again: --form uploads a new\n"
    "          application form photo (PNG or JPEG), --attach another attachment in ROLE\n"
    "          (e.g. business_license), --change a field of the application (text)\n"
    "cancel    withdraw an application that is still waiting or was rejected\n";

const char cmd_approve_usage[] =
    "usage: mkey approve APP\n"
    "\n"
    "As an enterprise's admin, agree to a member's request (加入企业申领, 证书授权): it\n"
    "goes on to the CA's review. See `mkey app list --role admin --state awaiting_admin`.\n";

const char cmd_refuse_usage[] =
    "usage: mkey refuse APP --reason TEXT\n"
    "\n"
    "As an enterprise's admin, refuse a member's request; the applicant receives\n"
    "the reason (1 to 500 characters).\n";

/* "/v1/applications/<id><suffix>" for a well-formed application id. */
static int app_path(char *out, size_t cap, const char *id, const char *suffix) {
  if (mk_id_check(id, "apl", NULL) < 0)
    return -1;
  int w = snprintf(out, cap, "/v1/applications/%s%s", id, suffix);
  return w > 0 && (size_t)w < cap ? 0 : -1;
}

static const char *str(const json_t *o, const char *k) {
  const char *v = json_string_value(json_object_get(o, k));
  return v ? v : "";
}

static void print_decision(const char *who, const json_t *d) {
  if (!json_is_object(d))
    return;
  const char *reason = json_string_value(json_object_get(d, "reason"));
  printf("%-12s%s by %s at %s%s%s\n", who, str(d, "decision"), str(d, "by"), str(d, "at"),
         reason ? ": " : "", reason ? reason : "");
}

void cli_print_application(const json_t *a) {
  json_t *who = json_object_get(a, "applicant"), *ent = json_object_get(a, "enterprise");
  printf("%s  %s (%s)\n", str(a, "id"), str(a, "title"), str(a, "kind"));
  printf("%-12s%s\n", "state:", str(a, "state"));
  printf("%-12s%s %s", "applicant:", str(who, "name")[0] ? str(who, "name") : "(not verified)",
         str(who, "phone"));
  if (json_is_string(json_object_get(who, "id_number")))
    printf(" %s", str(who, "id_number"));
  printf("\n");
  if (json_is_object(ent))
    printf("%-12s%s %s\n", "enterprise:", str(ent, "name"), str(ent, "uscc"));
  if (json_is_string(json_object_get(a, "platform_id")))
    printf("%-12s%s\n", "platform:", str(a, "platform_id"));
  json_int_t years = json_integer_value(json_object_get(a, "years"));
  printf("%-12s%s", "CA:", str(a, "ca_id"));
  if (years > 0)
    printf(", %lld year%s", (long long)years, years == 1 ? "" : "s");
  printf("\n");
  print_decision("admin:", json_object_get(a, "admin_decision"));
  print_decision("CA review:", json_object_get(a, "ca_decision"));
  size_t i;
  json_t *v;
  if (json_array_size(json_object_get(a, "attachments")) > 0)
    printf("attachments:\n");
  json_array_foreach(json_object_get(a, "attachments"), i, v) printf(
      "  %-18s %s  %s  %lld bytes\n", str(v, "role"), str(v, "id"), str(v, "media_type"),
      (long long)json_integer_value(json_object_get(v, "size")));
  printf("history:\n");
  json_array_foreach(json_object_get(a, "history"), i, v) {
    const char *reason = json_string_value(json_object_get(v, "reason"));
    printf("  %s  %-16s %s -> %s  by %s%s%s\n", str(v, "at"), str(v, "event"),
           json_is_string(json_object_get(v, "from")) ? str(v, "from") : "-", str(v, "to"),
           str(v, "actor"), reason ? ": " : "", reason ? reason : "");
  }
}

/* Request method path (body may be NULL) as the account; *out keeps the answer. */
#define LOGIN_HINT "log in first ('mkey login --phone N')"

static int account_request(struct cli *ctx, const char *method, const char *path,
                           const json_t *body, mk_client_response *out, mk_err *e) {
  return cli_request(ctx, method, path, body, out, LOGIN_HINT, e);
}

static int app_list(int argc, const char **argv, struct cli *ctx) {
  const char *state = NULL, *role = NULL;
  const struct cli_option opts[] = {{"--state", &state, NULL}, {"--role", &role, NULL},
                                    {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, opts, NULL, 0, NULL, cmd_app_usage);
  if (rc != 0)
    return rc;
  if (role != NULL && strcmp(role, "admin") != 0 && strcmp(role, "applicant") != 0)
    return cli_usage_error(cmd_app_usage, "--role is applicant or admin");
  if (state != NULL && strspn(state, "abcdefghijklmnopqrstuvwxyz_") != strlen(state))
    return cli_usage_error(cmd_app_usage, "'%.64s' is not a state", state);
  json_t *all = json_array();
  char base[128];
  rc = CLI_FAIL;
  if (all == NULL) {
    cli_error("out of memory");
    goto out;
  }
  snprintf(base, sizeof base, "/v1/applications?limit=100%s%s%s%s", role ? "&role=" : "",
           role ? role : "", state ? "&state=" : "", state ? state : "");
  if (cli_get_all(ctx, base, LOGIN_HINT, CLI_CURSOR_CHARS, LIST_PAGES_MAX, "list", all) != 0)
    goto out;
  if (ctx->json) {
    rc = cli_print_json(all);
    goto out;
  }
  size_t i;
  json_t *v;
  json_array_foreach(all, i, v) {
    json_int_t years = json_integer_value(json_object_get(v, "years"));
    json_t *ent = json_object_get(v, "enterprise");
    printf("%s  %-16s %s  %s", str(v, "id"), str(v, "state"), str(v, "title"), str(v, "ca_id"));
    if (years > 0)
      printf(" %lldy", (long long)years);
    printf("  %s", str(v, "created_at"));
    if (role != NULL && strcmp(role, "admin") == 0)
      printf("  %s %s", str(json_object_get(v, "applicant"), "name"),
             str(json_object_get(v, "applicant"), "phone"));
    if (json_is_object(ent))
      printf("  %s", str(ent, "name"));
    if (json_is_string(json_object_get(v, "action")))
      printf("  [%s]", str(v, "action"));
    printf("\n");
  }
  if (json_array_size(all) == 0)
    printf("no applications\n");
  rc = CLI_OK;
out:
  json_decref(all);
  return rc;
}

/* One positional application id; path gets its URL with suffix. */
static int one_app(struct cli *ctx, int argc, const char **argv, const struct cli_option *opts,
                   const char *usage, const char *suffix, char *path, const char **id) {
  const char *args[1];
  int nargs = 0;
  int rc = cli_parse_options(ctx, argc, argv, opts, args, 1, &nargs, usage);
  if (rc != 0)
    return rc;
  if (nargs != 1)
    return cli_usage_error(usage, "%s needs an application id (apl_…)", argv[0]);
  if (app_path(path, APP_PATH_MAX, args[0], suffix) != 0)
    return cli_usage_error(usage, "'%.64s' is not an application id", args[0]);
  *id = args[0];
  return 0;
}

/* Print an application the server answered with, after verb. */
static int show_result(struct cli *ctx, const json_t *app, const char *verb) {
  if (ctx->json)
    return cli_print_json(app);
  printf("%s %s: now %s\n", verb, str(app, "id"), str(app, "state"));
  return CLI_OK;
}

static int app_show(int argc, const char **argv, struct cli *ctx) {
  char path[APP_PATH_MAX];
  const char *id = NULL;
  int rc = one_app(ctx, argc, argv, NULL, cmd_app_usage, "", path, &id);
  if (rc != 0)
    return rc;
  mk_err e = {0};
  mk_client_response r = {0};
  if (account_request(ctx, "GET", path, NULL, &r, &e) < 0) {
    rc = cli_fail(&e);
  } else if (ctx->json) {
    rc = cli_print_json(r.json);
  } else {
    cli_print_application(r.json);
    rc = CLI_OK;
  }
  mk_client_response_clear(&r);
  return rc;
}

/* Act on path with body; prints the application as it is now. */
static int post_action(struct cli *ctx, const char *path, const json_t *body, const char *verb) {
  mk_err e = {0};
  mk_client_response r = {0};
  int rc;
  if (account_request(ctx, "POST", path, body, &r, &e) < 0)
    rc = cli_fail(&e);
  else
    rc = show_result(ctx, r.json, verb);
  mk_client_response_clear(&r);
  return rc;
}

static int app_cancel(int argc, const char **argv, struct cli *ctx) {
  char path[APP_PATH_MAX];
  const char *id = NULL;
  int rc = one_app(ctx, argc, argv, NULL, cmd_app_usage, "/cancellation", path, &id);
  return rc != 0 ? rc : post_action(ctx, path, NULL, "withdrew");
}

static int app_resubmit(int argc, const char **argv, struct cli *ctx) {
  const char **k1 = calloc((size_t)argc + 1, sizeof *k1), **k2 = calloc((size_t)argc + 1, sizeof *k2);
  const char *attach[REPEAT_MAX], *change[REPEAT_MAX], *form = NULL, *id = NULL;
  int n1 = 0, n2 = 0, nattach = 0, nchange = 0, rc = CLI_FAIL;
  char path[APP_PATH_MAX];
  json_t *body = NULL, *atts = NULL, *changes = NULL;
  mk_client *c = NULL;
  mk_err e = {0};
  if (k1 == NULL || k2 == NULL) {
    rc = cli_error("out of memory");
    goto out;
  }
  if ((rc = org_cli_take_attach(argc, argv, k1, &n1, attach, &nattach, cmd_app_usage)) != 0)
    goto out;
  rc = CLI_FAIL;
  if (cli_take_repeated(n1, k1, "--change", REPEAT_MAX, k2, &n2, change, &nchange) < 0) {
    rc = cli_usage_error(cmd_app_usage, "--attach and --change need values (at most %d each)",
                         REPEAT_MAX);
    goto out;
  }
  const struct cli_option opts[] = {{"--form", &form, NULL}, {NULL, NULL, NULL}};
  if ((rc = one_app(ctx, n2, k2, opts, cmd_app_usage, "/resubmission", path, &id)) != 0)
    goto out;
  rc = CLI_FAIL;
  body = json_object();
  atts = json_array();
  changes = json_object();
  if (body == NULL || atts == NULL || changes == NULL) {
    rc = cli_error("out of memory");
    goto out;
  }
  for (int i = 0; i < nchange; i++) {
    const char *eq = strchr(change[i], '=');
    char key[64];
    if (eq == NULL || eq == change[i] || (size_t)(eq - change[i]) >= sizeof key) {
      rc = cli_usage_error(cmd_app_usage, "--change takes KEY=VALUE");
      goto out;
    }
    snprintf(key, sizeof key, "%.*s", (int)(eq - change[i]), change[i]);
    if (json_object_set_new(changes, key, json_string(eq + 1)) != 0) {
      rc = cli_error("--change %s: the value is not UTF-8 text", key);
      goto out;
    }
  }
  if (cli_client_open(ctx, &c, &e) < 0) {
    rc = cli_fail(&e);
    goto out;
  }
  /* The form first (role application_form), then each --attach ROLE=FILE. */
  for (int i = form != NULL ? -1 : 0; i < nattach; i++) {
    char role[40], att[MK_ID_MAX];
    const char *file = form;
    snprintf(role, sizeof role, "application_form");
    if (i >= 0) {
      const char *eq = strchr(attach[i], '='); /* checked above */
      snprintf(role, sizeof role, "%.*s", (int)(eq - attach[i]), attach[i]);
      file = eq + 1;
    }
    if (org_cli_upload(c, file, att, &e) < 0) {
      rc = cli_fail(&e);
      goto out;
    }
    if (json_array_append_new(atts, json_pack("{s:s,s:s}", "role", role, "id", att)) != 0) {
      rc = cli_error("out of memory");
      goto out;
    }
  }
  if ((json_array_size(atts) > 0 && json_object_set(body, "attachments", atts) != 0) ||
      (json_object_size(changes) > 0 && json_object_set(body, "changes", changes) != 0)) {
    rc = cli_error("out of memory");
    goto out;
  }
  mk_client_free(c);
  c = NULL;
  rc = post_action(ctx, path, body, "resubmitted");
out:
  mk_client_free(c);
  json_decref(body);
  json_decref(atts);
  json_decref(changes);
  free(k1);
  free(k2);
  return rc;
}

int cmd_app(int argc, const char **argv, struct cli *ctx) {
  static const struct {
    const char *name;
    int (*fn)(int, const char **, struct cli *);
  } subs[] = {{"list", app_list}, {"show", app_show}, {"resubmit", app_resubmit},
              {"cancel", app_cancel}};
  if (argc < 2)
    return cli_usage_error(cmd_app_usage, "app needs a subcommand");
  for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
    if (strcmp(argv[1], subs[i].name) == 0)
      return subs[i].fn(argc - 1, argv + 1, ctx);
  return cli_usage_error(cmd_app_usage, "unknown app subcommand '%.64s'", argv[1]);
}

int cmd_approve(int argc, const char **argv, struct cli *ctx) {
  char path[APP_PATH_MAX];
  const char *id = NULL;
  int rc = one_app(ctx, argc, argv, NULL, cmd_approve_usage, "/admin-approval", path, &id);
  return rc != 0 ? rc : post_action(ctx, path, NULL, "approved");
}

int cmd_refuse(int argc, const char **argv, struct cli *ctx) {
  char path[APP_PATH_MAX];
  const char *id = NULL, *reason = NULL;
  const struct cli_option opts[] = {{"--reason", &reason, NULL}, {NULL, NULL, NULL}};
  int rc = one_app(ctx, argc, argv, opts, cmd_refuse_usage, "/admin-rejection", path, &id);
  if (rc != 0)
    return rc;
  if (reason == NULL || reason[0] == '\0')
    return cli_usage_error(cmd_refuse_usage, "refuse needs --reason TEXT");
  json_t *body = json_pack("{s:s}", "reason", reason);
  if (body == NULL)
    return cli_error("--reason is not UTF-8 text");
  rc = post_action(ctx, path, body, "refused");
  json_decref(body);
  return rc;
}
