/* mkey staff: personnel management (人员管理) of the enterprise you belong
 * to: the member list, inviting a person (新增人员), removing one (删除人员)
 * and transferring the admin role (转授管理员). Every command but list is
 * the admin's. The enterprise is --enterprise ID, or the only one you admin
 * (belong to, for list). */
#include "org.h"

#include <stdlib.h>
#include <string.h>

const char cmd_staff_usage[] =
    "usage: mkey staff list [--enterprise ID]\n"
    "       mkey staff invite --name N --phone P [--permissions LIST] [--enterprise ID]\n"
    "       mkey staff remove MEMBER_ID [--enterprise ID]\n"
    "       mkey staff transfer-admin MEMBER_ID [--form FILE] [--ca CA_ID]\n"
    "                                 [--attach ROLE=FILE ...] [--enterprise ID]\n"
    "\n"
    "list            the members; the admin also sees masked phone numbers and permissions\n"
    "invite          (admin) invite a person by name and mobile number; LIST is some of\n"
    "                login,sign,seal,encrypt,decrypt (default login,sign,seal). They accept\n"
    "                with `mkey enterprise accept` after logging in with that number\n"
    "remove          (admin) remove a member; their authorisations end\n"
    "transfer-admin  (admin) make a staff member the admin. With --form (the stamped\n"
    "                authorisation letter) the CA reviews it and the roles swap on\n"
    "                approval; without it the letter must be signed with the enterprise\n"
    "                certificate, which needs a downloaded certificate\n";

#define USAGE cmd_staff_usage

static void print_members(const json_t *doc) {
  size_t i;
  json_t *it;
  json_array_foreach(json_object_get(doc, "items"), i, it) {
    const char *phone = json_string_value(json_object_get(it, "phone"));
    const json_t *perms = json_object_get(it, "permissions");
    char *p = perms ? json_dumps(perms, JSON_COMPACT) : NULL;
    printf("%s  %-6s  %s%s%s%s%s\n", json_string_value(json_object_get(it, "member_id")),
           json_string_value(json_object_get(it, "role")),
           json_string_value(json_object_get(it, "name"))
               ? json_string_value(json_object_get(it, "name"))
               : "?",
           phone ? "  " : "", phone ? phone : "", p ? "  " : "", p ? p : "");
    free(p);
  }
}

static int list(int argc, const char **argv, struct cli *ctx) {
  const char *given = NULL;
  const struct cli_option opts[] = {{"--enterprise", &given, NULL}, {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, opts, NULL, 0, NULL, USAGE);
  if (rc != 0)
    return rc;
  mk_client *c = NULL;
  char path[ORG_CLI_PATH_MAX];
  if ((rc = org_cli_open_enterprise(ctx, given, 0, "/members", &c, path, sizeof path)) == 0)
    rc = org_cli_send(ctx, c, "GET", path, NULL, "items", print_members);
  mk_client_free(c);
  return rc;
}

static void print_invitation(const json_t *o) {
  printf("invited %s (%s): invitation %s, valid until %s\n",
         json_string_value(json_object_get(o, "name")),
         json_string_value(json_object_get(o, "phone")),
         json_string_value(json_object_get(o, "id")),
         json_string_value(json_object_get(o, "expires_at")));
}

static int invite(int argc, const char **argv, struct cli *ctx) {
  const char *given = NULL, *name = NULL, *phone = NULL, *perms = NULL;
  const struct cli_option opts[] = {{"--name", &name, NULL},
                                    {"--phone", &phone, NULL},
                                    {"--permissions", &perms, NULL},
                                    {"--enterprise", &given, NULL},
                                    {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, opts, NULL, 0, NULL, USAGE);
  if (rc != 0)
    return rc;
  if (name == NULL || phone == NULL)
    return cli_usage_error(USAGE, "invite needs --name and --phone");
  json_t *plist = NULL, *body = json_pack("{s:s,s:s}", "name", name, "phone", phone);
  if (body == NULL)
    return cli_error("out of memory");
  if (perms != NULL) {
    if ((plist = org_cli_list(perms, "--permissions", USAGE)) == NULL) {
      json_decref(body);
      return CLI_USAGE;
    }
    if (json_object_set_new(body, "permissions", plist) != 0) {
      json_decref(body);
      return cli_error("out of memory");
    }
  }
  mk_client *c = NULL;
  char path[ORG_CLI_PATH_MAX];
  if ((rc = org_cli_open_enterprise(ctx, given, 1, "/invitations", &c, path, sizeof path)) == 0)
    rc = org_cli_send(ctx, c, "POST", path, body, NULL, print_invitation);
  json_decref(body);
  mk_client_free(c);
  return rc;
}

static int remove_member(int argc, const char **argv, struct cli *ctx) {
  const char *given = NULL, *args[1];
  int nargs = 0;
  const struct cli_option opts[] = {{"--enterprise", &given, NULL}, {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, opts, args, 1, &nargs, USAGE);
  if (rc != 0)
    return rc;
  if (nargs != 1)
    return cli_usage_error(USAGE, "remove needs the member id (mkey staff list)");
  if ((rc = org_cli_check_id(args[0], "mbr", "a member", USAGE)) != 0)
    return rc;
  char suffix[64], said[96];
  snprintf(suffix, sizeof suffix, "/members/%s", args[0]);
  snprintf(said, sizeof said, "removed member %s", args[0]);
  json_t *done = json_pack("{s:s,s:s}", "member_id", args[0], "state", "removed");
  rc = org_cli_delete(ctx, given, suffix, done, said);
  json_decref(done);
  return rc;
}

static int transfer_admin(int argc, const char **argv, struct cli *ctx) {
  const char *attach[ORG_CLI_ATTACH_MAX], *args[1];
  int nattach = 0, nargs = 0;
  const char *given = NULL, *form = NULL, *ca = NULL;
  const struct cli_option opts[] = {{"--form", &form, NULL},
                                    {"--ca", &ca, NULL},
                                    {"--enterprise", &given, NULL},
                                    {NULL, NULL, NULL}};
  int rc = org_cli_parse(ctx, argc, argv, opts, args, 1, &nargs, attach, &nattach, USAGE);
  if (rc != 0)
    return rc;
  if (nargs != 1)
    return cli_usage_error(USAGE, "transfer-admin needs the member id (mkey staff list)");
  if ((rc = org_cli_check_id(args[0], "mbr", "a member", USAGE)) != 0)
    return rc;
  mk_err e = {0};
  mk_client *c = NULL;
  json_t *atts = json_array(), *body = json_pack("{s:s}", "member_id", args[0]);
  char path[ORG_CLI_PATH_MAX], form_id[MK_ID_MAX];
  if (atts == NULL || body == NULL) {
    rc = cli_error("out of memory");
    goto out;
  }
  if ((rc = org_cli_open_enterprise(ctx, given, 1, "/admin-transfers", &c, path, sizeof path)) !=
      0)
    goto out;
  rc = CLI_FAIL;
  if ((form != NULL && org_cli_upload(c, form, form_id, &e) < 0) ||
      org_cli_attachments(c, NULL, NULL, attach, nattach, atts, &e) < 0) {
    org_cli_fail(&e);
    goto out;
  }
  if ((form != NULL && json_object_set_new(body, "form", json_string(form_id)) != 0) ||
      (ca != NULL && json_object_set_new(body, "ca_id", json_string(ca)) != 0) ||
      json_object_set(body, "attachments", atts) != 0) {
    cli_error("out of memory");
    goto out;
  }
  rc = org_cli_send(ctx, c, "POST", path, body, NULL, org_cli_print_app);
out:
  json_decref(atts);
  json_decref(body);
  mk_client_free(c);
  return rc;
}

int cmd_staff(int argc, const char **argv, struct cli *ctx) {
  static const struct {
    const char *name;
    int (*fn)(int, const char **, struct cli *);
  } subs[] = {{"list", list},
              {"invite", invite},
              {"remove", remove_member},
              {"transfer-admin", transfer_admin}};
  if (argc < 2)
    return cli_usage_error(USAGE, "staff needs a subcommand");
  for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
    if (strcmp(argv[1], subs[i].name) == 0)
      return subs[i].fn(argc - 1, argv + 1, ctx);
  return cli_usage_error(USAGE, "unknown staff subcommand '%.64s'", argv[1]);
}
