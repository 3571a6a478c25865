/* mkey version: the version of this mkey (the server's is in `mkey status`). */
#include "cli.h"

const char cmd_version_usage[] =
    "usage: mkey version [--json]\n"
    "\n"
    "Print the version of mkey: \"mkey 0.1.0\", or {\"name\":\"mkey\",\"version\":\"0.1.0\"}\n"
    "with --json.\n";

int cmd_version(int argc, const char **argv, struct cli *ctx) {
  int rc = cli_parse_options(ctx, argc, argv, NULL, NULL, 0, NULL, cmd_version_usage);
  if (rc != 0)
    return rc;
  if (!ctx->json) {
    printf("mkey %s\n", mk_version());
    return CLI_OK;
  }
  json_t *doc = json_pack("{s:s, s:s}", "name", "mkey", "version", mk_version());
  if (doc == NULL)
    return cli_error("out of memory");
  rc = cli_print_json(doc);
  json_decref(doc);
  return rc;
}
