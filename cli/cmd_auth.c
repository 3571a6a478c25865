/* mkey auth: authorisation management (授权管理), the admin's: which staff
 * member may act for the enterprise on which trading platform with which
 * permissions; the history by platform (按交易平台) or by person (按人员),
 * revoked grants included. The enterprise is --enterprise ID, or the only
 * one you admin. */
#include "org.h"

#include <stdlib.h>
#include <string.h>

const char cmd_auth_usage[] =
    "usage: mkey auth list [--by platform|person] [--enterprise ID]\n"
    "       mkey auth grant --person MEMBER_ID --platform P --permissions LIST [--enterprise ID]\n"
    "       mkey auth revoke AUTH_ID [--enterprise ID]\n"
    "\n"
    "list    every authorisation with its history, grouped by platform (default) or person\n"
    "grant   authorise a staff member (a member id from `mkey staff list`) on a platform;\n"
    "        LIST is some of login,sign,seal,encrypt,decrypt\n"
    "revoke  end an authorisation (it stays in the history)\n";

#define USAGE cmd_auth_usage

static void print_item(const json_t *it) {
  char *p = json_dumps(json_object_get(it, "permissions"), JSON_COMPACT);
  const char *revoked = json_string_value(json_object_get(it, "revoked_at"));
  printf("    %s  %s  %s  %s  granted %s%s%s\n", json_string_value(json_object_get(it, "id")),
         json_string_value(json_object_get(json_object_get(it, "member"), "name")),
         json_string_value(json_object_get(json_object_get(it, "platform"), "name")), p ? p : "",
         json_string_value(json_object_get(it, "granted_at")), revoked ? ", revoked " : "",
         revoked ? revoked : "");
  free(p);
}

static void print_groups(const json_t *doc) {
  size_t i, k;
  json_t *g, *it;
  int by_person = strcmp(json_string_value(json_object_get(doc, "by")), "person") == 0;
  json_array_foreach(json_object_get(doc, "groups"), i, g) {
    const json_t *head = json_object_get(g, by_person ? "member" : "platform");
    printf("%s  %s\n", json_string_value(json_object_get(head, by_person ? "member_id" : "id")),
           json_string_value(json_object_get(head, "name")));
    json_array_foreach(json_object_get(g, "items"), k, it) print_item(it);
  }
  if (json_array_size(json_object_get(doc, "groups")) == 0)
    printf("no authorisations\n");
}

static int list(int argc, const char **argv, struct cli *ctx) {
  const char *given = NULL, *by = "platform";
  const struct cli_option opts[] = {
      {"--by", &by, NULL}, {"--enterprise", &given, NULL}, {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, opts, NULL, 0, NULL, USAGE);
  if (rc != 0)
    return rc;
  if (strcmp(by, "platform") != 0 && strcmp(by, "person") != 0)
    return cli_usage_error(USAGE, "--by is platform or person");
  mk_client *c = NULL;
  char suffix[64], path[ORG_CLI_PATH_MAX];
  snprintf(suffix, sizeof suffix, "/authorizations?by=%s", by);
  if ((rc = org_cli_open_enterprise(ctx, given, 1, suffix, &c, path, sizeof path)) == 0)
    rc = org_cli_send(ctx, c, "GET", path, NULL, "groups", print_groups);
  mk_client_free(c);
  return rc;
}

static void print_granted(const json_t *it) {
  printf("granted:\n");
  print_item(it);
}

static int grant(int argc, const char **argv, struct cli *ctx) {
  const char *given = NULL, *person = NULL, *platform = NULL, *perms = NULL;
  const struct cli_option opts[] = {{"--person", &person, NULL},
                                    {"--platform", &platform, NULL},
                                    {"--permissions", &perms, NULL},
                                    {"--enterprise", &given, NULL},
                                    {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, opts, NULL, 0, NULL, USAGE);
  if (rc != 0)
    return rc;
  if (person == NULL || platform == NULL || perms == NULL)
    return cli_usage_error(USAGE, "grant needs --person, --platform and --permissions");
  json_t *plist = org_cli_list(perms, "--permissions", USAGE);
  if (plist == NULL)
    return CLI_USAGE;
  json_t *body = json_pack("{s:s,s:s,s:o}", "member_id", person, "platform_id", platform,
                           "permissions", plist);
  if (body == NULL)
    return cli_error("out of memory");
  mk_client *c = NULL;
  char path[ORG_CLI_PATH_MAX];
  if ((rc = org_cli_open_enterprise(ctx, given, 1, "/authorizations", &c, path, sizeof path)) ==
      0)
    rc = org_cli_send(ctx, c, "POST", path, body, NULL, print_granted);
  json_decref(body);
  mk_client_free(c);
  return rc;
}

static int revoke(int argc, const char **argv, struct cli *ctx) {
  const char *given = NULL, *args[1];
  int nargs = 0;
  const struct cli_option opts[] = {{"--enterprise", &given, NULL}, {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, opts, args, 1, &nargs, USAGE);
  if (rc != 0)
    return rc;
  if (nargs != 1)
    return cli_usage_error(USAGE, "revoke needs the authorisation id (mkey auth list)");
  if ((rc = org_cli_check_id(args[0], "auz", "an authorisation", USAGE)) != 0)
    return rc;
  char suffix[64], said[96];
  snprintf(suffix, sizeof suffix, "/authorizations/%s", args[0]);
  snprintf(said, sizeof said, "revoked authorisation %s", args[0]);
  json_t *done = json_pack("{s:s,s:b}", "id", args[0], "active", 0);
  rc = org_cli_delete(ctx, given, suffix, done, said);
  json_decref(done);
  return rc;
}

int cmd_auth(int argc, const char **argv, struct cli *ctx) {
  static const struct {
    const char *name;
    int (*fn)(int, const char **, struct cli *);
  } subs[] = {{"list", list}, {"grant", grant}, {"revoke", revoke}};
  if (argc < 2)
    return cli_usage_error(USAGE, "auth needs a subcommand");
  for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
    if (strcmp(argv[1], subs[i].name) == 0)
      return subs[i].fn(argc - 1, argv + 1, ctx);
  return cli_usage_error(USAGE, "unknown auth subcommand '%.64s'", argv[1]);
}
