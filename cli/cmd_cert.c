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

static int years_of(const char *s, int *out) {
  char *end = NULL;
  long v = s ? strtol(s, &end, 10) : 0;
  if (s == NULL || end == s || *end != '\0' || v < 1 || v > 10)
    return -1;
  *out = (int)v;
  return 0;
}

static int apply_personal(int argc, const char **argv, struct cli *ctx) {
  const char *kept[64], *attach[ORG_CLI_ATTACH_MAX];
  int nkept = 0, nattach = 0, years = 0;
  const char *platform = NULL, *ca = NULL, *ys = NULL, *form = NULL;
  if (argc > 64)
    return cli_usage_error(cmd_cert_usage, "too many arguments");
  int rc = org_cli_take_attach(argc, argv, kept, &nkept, attach, &nattach, cmd_cert_usage);
  if (rc != 0)
    return rc;
  const struct cli_option opts[] = {{"--platform", &platform, NULL},
                                    {"--ca", &ca, NULL},
                                    {"--years", &ys, NULL},
                                    {"--form", &form, NULL},
                                    {NULL, NULL, NULL}};
  rc = cli_parse_options(ctx, nkept, kept, opts, NULL, 0, NULL, cmd_cert_usage);
  if (rc != 0)
    return rc;
  if (platform == NULL || ca == NULL || ys == NULL || form == NULL)
    return cli_usage_error(cmd_cert_usage,
                           "apply personal needs --platform, --ca, --years and --form");
  if (years_of(ys, &years) != 0)
    return cli_usage_error(cmd_cert_usage, "--years is a whole number of years, 1 to 10");

  mk_err e = {0};
  mk_client *c = NULL;
  mk_client_response r = {0};
  json_t *atts = json_array(), *body = NULL;
  rc = CLI_FAIL;
  if (atts == NULL || cli_client_open(ctx, &c, &e) < 0 ||
      org_cli_attachments(c, "application_form", form, attach, nattach, atts, &e) < 0) {
    if (atts == NULL)
      mk_err_set(&e, MK_ENOMEM, "out of memory");
    cli_fail(&e);
    goto out;
  }
  body = json_pack("{s:s,s:s,s:i,s:O}", "platform_id", platform, "ca_id", ca, "years", years,
                   "attachments", atts);
  if (body == NULL) {
    cli_error("out of memory");
    goto out;
  }
  if (mk_client_request(c, "POST", "/v1/applications/personal", body, &r, &e) < 0) {
    if (e.code == MK_EAUTH)
      mk_err_wrap(&e, "log in first ('mkey login --phone N')");
    cli_fail(&e);
    goto out;
  }
  rc = org_cli_output(ctx, r.json, org_cli_print_app);
out:
  json_decref(atts);
  json_decref(body);
  mk_client_response_clear(&r);
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
