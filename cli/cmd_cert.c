/* mkey cert: certificates of the logged-in person. `apply personal` is the
 * manual's 申领个人证书: the subject is the verified identity, the user picks
 * platform, CA and validity and sends the photographed application form
 * (and any extra document the CA asks for, `mkey ca list`). */
#include "org.h"

#include <stdlib.h>
#include <string.h>

const char cmd_cert_usage[] =
    "usage: mkey cert apply personal --platform ID --ca CA_ID --years N --form FILE\n"
    "                                [--attach ROLE=FILE ...]\n"
    "\n"
    "apply personal  apply for a personal certificate (自然人). Needs a verified\n"
    "                identity (mkey realname). FILE is the photo of the signed\n"
    "                application form (PNG or JPEG, at most 2 MiB); --attach adds\n"
    "                another document the CA requires, ROLE being the id `mkey ca\n"
    "                list` shows (e.g. power_of_attorney=letter.jpg). Prints the\n"
    "                application; the CA's decision arrives as a message.\n";

static int apply_personal(int argc, const char **argv, struct cli *ctx) {
  const char *attach[ORG_CLI_ATTACH_MAX];
  int nattach = 0, years = 0;
  const char *platform = NULL, *ca = NULL, *ys = NULL, *form = NULL;
  const struct cli_option opts[] = {{"--platform", &platform, NULL},
                                    {"--ca", &ca, NULL},
                                    {"--years", &ys, NULL},
                                    {"--form", &form, NULL},
                                    {NULL, NULL, NULL}};
  int rc = org_cli_parse(ctx, argc, argv, opts, NULL, 0, NULL, attach, &nattach, cmd_cert_usage);
  if (rc != 0)
    return rc;
  if (platform == NULL || ca == NULL || ys == NULL || form == NULL)
    return cli_usage_error(cmd_cert_usage,
                           "apply personal needs --platform, --ca, --years and --form");
  if (org_cli_years(ys, &years) != 0)
    return cli_usage_error(cmd_cert_usage, "--years is a whole number of years, 1 to 10");

  mk_err e = {0};
  mk_client *c = NULL;
  json_t *body = NULL;
  rc = CLI_FAIL;
  if (cli_client_open(ctx, &c, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  body = json_pack("{s:s,s:s,s:i}", "platform_id", platform, "ca_id", ca, "years", years);
  if (body == NULL) {
    cli_error("out of memory");
    goto out;
  }
  rc = org_cli_submit(ctx, c, "/v1/applications/personal", body, form, attach, nattach);
out:
  json_decref(body);
  mk_client_free(c);
  return rc;
}

int cmd_cert(int argc, const char **argv, struct cli *ctx) {
  if (argc < 2)
    return cli_usage_error(cmd_cert_usage, "cert needs a subcommand");
  if (strcmp(argv[1], "apply") == 0) {
    if (argc < 3 || strcmp(argv[2], "personal") != 0)
      return cli_usage_error(cmd_cert_usage, "cert apply needs 'personal' (enterprise "
                                             "certificates: mkey enterprise claim|join)");
    return apply_personal(argc - 2, argv + 2, ctx);
  }
  return cli_usage_error(cmd_cert_usage, "unknown cert subcommand '%.64s'", argv[1]);
}
