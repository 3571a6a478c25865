/* mkey enterprise: claim an enterprise (认领企业), find one and ask to join it
 * (加入企业), show it, change its information (变更企业信息), and see or
 * accept invitations. docs/enterprises.md has the rules. */
#include "org.h"

#include <stdlib.h>
#include <string.h>

const char cmd_enterprise_usage[] =
    "usage: mkey enterprise claim --name N --uscc U --legal-name L --legal-id ID --license FILE\n"
    "                             --platform P --ca C --years Y --form FILE [--attach ROLE=FILE "
    "...]\n"
    "       mkey enterprise query --name N --uscc U\n"
    "       mkey enterprise join --uscc U --name N --admin-name A --admin-phone P\n"
    "                            --permissions LIST --platform P --ca C --years Y\n"
    "                            [--form FILE] [--attach ROLE=FILE ...]\n"
    "       mkey enterprise list\n"
    "       mkey enterprise show [--enterprise ID]\n"
    "       mkey enterprise change --name N --uscc U --legal-name L --legal-id ID --license FILE\n"
    "                              [--certs LIST] [--ca C] [--form FILE] [--attach ROLE=FILE ...]\n"
    "                              --yes [--enterprise ID]\n"
    "       mkey enterprise invitations\n"
    "       mkey enterprise accept INVITATION [--platform P --ca C --years Y --form FILE\n"
    "                              [--attach ROLE=FILE ...]]\n"
    "\n"
    "claim        claim the enterprise with its business licence photo (--license) and\n"
    "             the stamped application form (--form); the CA reviews, and on approval\n"
    "             you are the enterprise's admin\n"
    "query        find a claimed enterprise by its exact name and credit code\n"
    "join         ask to join a claimed enterprise; the admin's name and mobile number\n"
    "             must be the admin's; LIST is some of login,sign,seal,encrypt,decrypt.\n"
    "             The admin agrees or refuses, then the CA reviews\n"
    "list         the enterprises you belong to and your role\n"
    "show         the enterprise (default: the only one you belong to)\n"
    "change       (admin) new licence and information for the CA to review; --certs\n"
    "             lists certificates to re-issue. CA证书一经变更，不能恢复，无法解密原有文件！\n"
    "             (files encrypted to the old certificates cannot be decrypted): --yes\n"
    "             says you read this\n"
    "invitations  invitations to your mobile number\n"
    "accept       accept an invitation: staff at once, or with --platform --ca --years\n"
    "             (and the form) a certificate application to the CA\n";

#define USAGE cmd_enterprise_usage

/* Set key to s in o; 0, or -1 when out of memory. */
static int put(json_t *o, const char *key, const char *s) {
  return s == NULL ? 0 : json_object_set_new(o, key, json_string(s));
}

/* ---- claim ---- */

static int claim(int argc, const char **argv, struct cli *ctx) {
  const char *attach[ORG_CLI_ATTACH_MAX];
  int nattach = 0, years = 0;
  const char *name = NULL, *uscc = NULL, *legal = NULL, *legal_id = NULL, *license = NULL,
             *platform = NULL, *ca = NULL, *ys = NULL, *form = NULL;
  const struct cli_option opts[] = {{"--name", &name, NULL},
                                    {"--uscc", &uscc, NULL},
                                    {"--legal-name", &legal, NULL},
                                    {"--legal-id", &legal_id, NULL},
                                    {"--license", &license, NULL},
                                    {"--platform", &platform, NULL},
                                    {"--ca", &ca, NULL},
                                    {"--years", &ys, NULL},
                                    {"--form", &form, NULL},
                                    {NULL, NULL, NULL}};
  int rc = org_cli_parse(ctx, argc, argv, opts, NULL, 0, NULL, attach, &nattach, USAGE);
  if (rc != 0)
    return rc;
  if (!name || !uscc || !legal || !legal_id || !license || !platform || !ca || !ys || !form)
    return cli_usage_error(USAGE, "claim needs --name, --uscc, --legal-name, --legal-id, "
                                  "--license, --platform, --ca, --years and --form");
  if (org_cli_years(ys, &years) != 0)
    return cli_usage_error(USAGE, "--years is a whole number of years, 1 to 10");
  mk_err e = {0};
  mk_client *c = NULL;
  json_t *body = NULL;
  char lic[MK_ID_MAX];
  rc = CLI_FAIL;
  if (cli_client_open(ctx, &c, &e) < 0 || org_cli_upload(c, license, lic, &e) < 0) {
    org_cli_fail(&e);
    goto out;
  }
  body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i}", "name", name, "uscc", uscc, "legal_name",
                   legal, "legal_id_number", legal_id, "license", lic, "platform_id", platform,
                   "ca_id", ca, "years", years);
  if (body == NULL) {
    cli_error("out of memory");
    goto out;
  }
  rc = org_cli_submit(ctx, c, "/v1/enterprises/claims", body, form, attach, nattach);
out:
  json_decref(body);
  mk_client_free(c);
  return rc;
}

/* ---- query and join ---- */

/* "/v1/enterprises?name=&uscc=" into path. */
static int find_path(const char *name, const char *uscc, char *path, size_t cap, mk_err *e) {
  snprintf(path, cap, "/v1/enterprises");
  if (org_cli_query_add(path, cap, "name", name) != 0 ||
      org_cli_query_add(path, cap, "uscc", uscc) != 0)
    return mk_err_set(e, MK_EINVAL, "the name or credit code is too long");
  return 0;
}

/* GET /v1/enterprises?name=&uscc= into r. */
static int find(mk_client *c, const char *name, const char *uscc, mk_client_response *r,
                mk_err *e) {
  char path[ORG_CLI_PATH_MAX + 1024];
  int rc = find_path(name, uscc, path, sizeof path, e);
  return rc < 0 ? rc : mk_client_request(c, "GET", path, NULL, r, e);
}

static void print_found(const json_t *doc) {
  size_t i;
  json_t *it;
  json_array_foreach(json_object_get(doc, "items"), i, it) {
    printf("%s  %s  %s\n", json_string_value(json_object_get(it, "id")),
           json_string_value(json_object_get(it, "name")),
           json_string_value(json_object_get(it, "uscc")));
  }
  if (json_array_size(json_object_get(doc, "items")) == 0)
    printf("no claimed enterprise has this name and credit code (ask its admin to claim it)\n");
}

static int query(int argc, const char **argv, struct cli *ctx) {
  const char *name = NULL, *uscc = NULL;
  const struct cli_option opts[] = {
      {"--name", &name, NULL}, {"--uscc", &uscc, NULL}, {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, opts, NULL, 0, NULL, USAGE);
  if (rc != 0)
    return rc;
  if (name == NULL || uscc == NULL)
    return cli_usage_error(USAGE, "query needs --name and --uscc");
  mk_err e = {0};
  mk_client *c = NULL;
  char path[ORG_CLI_PATH_MAX + 1024];
  if (cli_client_open(ctx, &c, &e) < 0 || find_path(name, uscc, path, sizeof path, &e) < 0)
    rc = org_cli_fail(&e);
  else
    rc = org_cli_send(ctx, c, "GET", path, NULL, "items", print_found);
  mk_client_free(c);
  return rc;
}

static int join(int argc, const char **argv, struct cli *ctx) {
  const char *attach[ORG_CLI_ATTACH_MAX];
  int nattach = 0, years = 0;
  const char *name = NULL, *uscc = NULL, *aname = NULL, *aphone = NULL, *perms = NULL,
             *platform = NULL, *ca = NULL, *ys = NULL, *form = NULL;
  const struct cli_option opts[] = {{"--name", &name, NULL},
                                    {"--uscc", &uscc, NULL},
                                    {"--admin-name", &aname, NULL},
                                    {"--admin-phone", &aphone, NULL},
                                    {"--permissions", &perms, NULL},
                                    {"--platform", &platform, NULL},
                                    {"--ca", &ca, NULL},
                                    {"--years", &ys, NULL},
                                    {"--form", &form, NULL},
                                    {NULL, NULL, NULL}};
  int rc = org_cli_parse(ctx, argc, argv, opts, NULL, 0, NULL, attach, &nattach, USAGE);
  if (rc != 0)
    return rc;
  if (!name || !uscc || !aname || !aphone || !perms || !platform || !ca || !ys)
    return cli_usage_error(USAGE, "join needs --name, --uscc, --admin-name, --admin-phone, "
                                  "--permissions, --platform, --ca and --years");
  if (org_cli_years(ys, &years) != 0)
    return cli_usage_error(USAGE, "--years is a whole number of years, 1 to 10");
  json_t *plist = org_cli_list(perms, "--permissions", USAGE);
  if (plist == NULL)
    return CLI_USAGE;
  mk_err e = {0};
  mk_client *c = NULL;
  mk_client_response r = {0};
  json_t *body = NULL;
  char path[ORG_CLI_PATH_MAX];
  rc = CLI_FAIL;
  if (cli_client_open(ctx, &c, &e) < 0 || find(c, name, uscc, &r, &e) < 0) {
    org_cli_fail(&e);
    goto out;
  }
  const char *id =
      json_string_value(json_object_get(json_array_get(json_object_get(r.json, "items"), 0), "id"));
  if (id == NULL || mk_id_check(id, "ent", NULL) != 0) {
    cli_error("no claimed enterprise has this name and credit code; ask its admin to claim it");
    goto out;
  }
  snprintf(path, sizeof path, "/v1/enterprises/%s/join-requests", id);
  body = json_pack("{s:s,s:s,s:O,s:s,s:s,s:i}", "admin_name", aname, "admin_phone", aphone,
                   "permissions", plist, "platform_id", platform, "ca_id", ca, "years", years);
  if (body == NULL) {
    cli_error("out of memory");
    goto out;
  }
  rc = org_cli_submit(ctx, c, path, body, form, attach, nattach);
out:
  json_decref(plist);
  json_decref(body);
  mk_client_response_clear(&r);
  mk_client_free(c);
  return rc;
}

/* ---- list and show ---- */

static void print_mine(const json_t *doc) {
  size_t i;
  json_t *it;
  json_array_foreach(json_object_get(doc, "items"), i, it) {
    printf("%s  %s  %s  %s\n", json_string_value(json_object_get(it, "id")),
           json_string_value(json_object_get(it, "name")),
           json_string_value(json_object_get(it, "uscc")),
           json_string_value(json_object_get(it, "role")));
  }
  if (json_array_size(json_object_get(doc, "items")) == 0)
    printf("you belong to no enterprise yet (mkey enterprise claim | join)\n");
}

static int list(int argc, const char **argv, struct cli *ctx) {
  int rc = cli_parse_options(ctx, argc, argv, NULL, NULL, 0, NULL, USAGE);
  if (rc != 0)
    return rc;
  mk_client_response r = {0};
  if ((rc = org_cli_call(ctx, "GET", "/v1/me/enterprises", NULL, &r)) != 0)
    return rc;
  rc = ctx->json ? cli_print_json(json_object_get(r.json, "items"))
                 : org_cli_output(ctx, r.json, print_mine);
  mk_client_response_clear(&r);
  return rc;
}

static void print_enterprise(const json_t *o) {
  const json_t *admin = json_object_get(o, "admin");
  printf("%s  %s\n", json_string_value(json_object_get(o, "id")),
         json_string_value(json_object_get(o, "name")));
  printf("    credit code  %s\n", json_string_value(json_object_get(o, "uscc")));
  printf("    legal rep.   %s (%s)\n", json_string_value(json_object_get(o, "legal_name")),
         json_string_value(json_object_get(o, "legal_id_number")));
  printf("    admin        %s\n", admin ? json_string_value(json_object_get(admin, "name")) : "?");
  printf("    members      %lld\n",
         (long long)json_integer_value(json_object_get(o, "member_count")));
  printf("    your role    %s\n", json_string_value(json_object_get(o, "my_role")));
}

static int show(int argc, const char **argv, struct cli *ctx) {
  const char *given = NULL;
  const struct cli_option opts[] = {{"--enterprise", &given, NULL}, {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, opts, NULL, 0, NULL, USAGE);
  if (rc != 0)
    return rc;
  mk_client *c = NULL;
  char path[ORG_CLI_PATH_MAX];
  if ((rc = org_cli_open_enterprise(ctx, given, 0, "", &c, path, sizeof path)) == 0)
    rc = org_cli_send(ctx, c, "GET", path, NULL, NULL, print_enterprise);
  mk_client_free(c);
  return rc;
}

/* ---- change ---- */

static int change(int argc, const char **argv, struct cli *ctx) {
  const char *attach[ORG_CLI_ATTACH_MAX];
  int nattach = 0, yes = 0;
  const char *name = NULL, *uscc = NULL, *legal = NULL, *legal_id = NULL, *license = NULL,
             *certs = NULL, *ca = NULL, *form = NULL, *given = NULL;
  const struct cli_option opts[] = {{"--name", &name, NULL},
                                    {"--uscc", &uscc, NULL},
                                    {"--legal-name", &legal, NULL},
                                    {"--legal-id", &legal_id, NULL},
                                    {"--license", &license, NULL},
                                    {"--certs", &certs, NULL},
                                    {"--ca", &ca, NULL},
                                    {"--form", &form, NULL},
                                    {"--enterprise", &given, NULL},
                                    {"--yes", NULL, &yes},
                                    {NULL, NULL, NULL}};
  int rc = org_cli_parse(ctx, argc, argv, opts, NULL, 0, NULL, attach, &nattach, USAGE);
  if (rc != 0)
    return rc;
  if (!name || !uscc || !legal || !legal_id || !license)
    return cli_usage_error(USAGE, "change needs --name, --uscc, --legal-name, --legal-id and "
                                  "--license");
  /* DESIGN.md: the client says so before it acts. */
  fprintf(stderr, "mkey: CA证书一经变更，不能恢复，无法解密原有文件！ (after the change, files "
                  "encrypted to the old certificates cannot be decrypted)\n");
  if (!yes) {
    cli_error("not changed: run again with --yes once you have read the warning");
    return CLI_FAIL;
  }
  json_t *clist = certs ? org_cli_list(certs, "--certs", USAGE) : json_array();
  if (clist == NULL)
    return CLI_USAGE;
  mk_err e = {0};
  mk_client *c = NULL;
  json_t *body = NULL;
  char lic[MK_ID_MAX], path[ORG_CLI_PATH_MAX];
  if ((rc = org_cli_open_enterprise(ctx, given, 1, "/changes", &c, path, sizeof path)) != 0)
    goto out;
  rc = CLI_FAIL;
  if (org_cli_upload(c, license, lic, &e) < 0) {
    org_cli_fail(&e);
    goto out;
  }
  body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:O,s:b}", "name", name, "uscc", uscc, "legal_name",
                   legal, "legal_id_number", legal_id, "license", lic, "certificates", clist,
                   "acknowledge", 1);
  if (body == NULL || put(body, "ca_id", ca) != 0) {
    cli_error("out of memory");
    goto out;
  }
  rc = org_cli_submit(ctx, c, path, body, form, attach, nattach);
out:
  json_decref(clist);
  json_decref(body);
  mk_client_free(c);
  return rc;
}

/* ---- invitations ---- */

static void print_invitations(const json_t *doc) {
  size_t i;
  json_t *it;
  json_array_foreach(json_object_get(doc, "items"), i, it) {
    const json_t *ent = json_object_get(it, "enterprise");
    char *perms = json_dumps(json_object_get(it, "permissions"), JSON_COMPACT);
    printf("%s  %s  for %s  %s  until %s\n", json_string_value(json_object_get(it, "id")),
           json_string_value(json_object_get(ent, "name")),
           json_string_value(json_object_get(it, "name")), perms ? perms : "",
           json_string_value(json_object_get(it, "expires_at")));
    free(perms);
  }
  if (json_array_size(json_object_get(doc, "items")) == 0)
    printf("no invitations\n");
}

static int invitations(int argc, const char **argv, struct cli *ctx) {
  int rc = cli_parse_options(ctx, argc, argv, NULL, NULL, 0, NULL, USAGE);
  if (rc != 0)
    return rc;
  mk_client_response r = {0};
  if ((rc = org_cli_call(ctx, "GET", "/v1/invitations", NULL, &r)) != 0)
    return rc;
  rc = ctx->json ? cli_print_json(json_object_get(r.json, "items"))
                 : org_cli_output(ctx, r.json, print_invitations);
  mk_client_response_clear(&r);
  return rc;
}

static void print_acceptance(const json_t *doc) {
  const json_t *app = json_object_get(doc, "application");
  if (app != NULL) {
    org_cli_print_app(app);
    return;
  }
  printf("you are staff of %s now (member %s)\n",
         json_string_value(json_object_get(
             json_object_get(json_object_get(doc, "invitation"), "enterprise"), "name")),
         json_string_value(json_object_get(doc, "member_id")));
}

static int accept(int argc, const char **argv, struct cli *ctx) {
  const char *attach[ORG_CLI_ATTACH_MAX], *args[1];
  int nattach = 0, nargs = 0, years = 0;
  const char *platform = NULL, *ca = NULL, *ys = NULL, *form = NULL;
  const struct cli_option opts[] = {{"--platform", &platform, NULL},
                                    {"--ca", &ca, NULL},
                                    {"--years", &ys, NULL},
                                    {"--form", &form, NULL},
                                    {NULL, NULL, NULL}};
  int rc = org_cli_parse(ctx, argc, argv, opts, args, 1, &nargs, attach, &nattach, USAGE);
  if (rc != 0)
    return rc;
  if (nargs != 1)
    return cli_usage_error(USAGE, "accept needs the invitation id");
  if ((rc = org_cli_check_id(args[0], "inv", "an invitation", USAGE)) != 0)
    return rc;
  int cert = platform || ca || ys || form || nattach;
  if (cert && (!platform || !ca || !ys))
    return cli_usage_error(USAGE, "a certificate needs --platform, --ca and --years together");
  if (cert && org_cli_years(ys, &years) != 0)
    return cli_usage_error(USAGE, "--years is a whole number of years, 1 to 10");
  mk_err e = {0};
  mk_client *c = NULL;
  json_t *atts = json_array(), *body = json_object();
  char path[ORG_CLI_PATH_MAX];
  rc = CLI_FAIL;
  if (atts == NULL || body == NULL) {
    cli_error("out of memory");
    goto out;
  }
  if (cli_client_open(ctx, &c, &e) < 0 ||
      (cert && org_cli_attachments(c, "application_form", form, attach, nattach, atts, &e) < 0)) {
    org_cli_fail(&e);
    goto out;
  }
  if (cert && (put(body, "platform_id", platform) != 0 || put(body, "ca_id", ca) != 0 ||
               json_object_set_new(body, "years", json_integer(years)) != 0 ||
               json_object_set(body, "attachments", atts) != 0)) {
    cli_error("out of memory");
    goto out;
  }
  snprintf(path, sizeof path, "/v1/invitations/%s/acceptance", args[0]);
  rc = org_cli_send(ctx, c, "POST", path, body, NULL, print_acceptance);
out:
  json_decref(atts);
  json_decref(body);
  mk_client_free(c);
  return rc;
}

int cmd_enterprise(int argc, const char **argv, struct cli *ctx) {
  static const struct {
    const char *name;
    int (*fn)(int, const char **, struct cli *);
  } subs[] = {{"claim", claim},
              {"query", query},
              {"join", join},
              {"list", list},
              {"show", show},
              {"change", change},
              {"invitations", invitations},
              {"accept", accept}};
  if (argc < 2)
    return cli_usage_error(USAGE, "enterprise needs a subcommand");
  for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
    if (strcmp(argv[1], subs[i].name) == 0)
      return subs[i].fn(argc - 1, argv + 1, ctx);
  return cli_usage_error(USAGE, "unknown enterprise subcommand '%.64s'", argv[1]);
}
