/* mkey status: is the server up, which version, is its store healthy. */
#include "cli.h"

#include <string.h>

#include "util/json.h"

/* A health check should answer at once; do not wait the default 30 s. */
#define STATUS_TIMEOUT_MS 10000L
#define FIELD_MAX 64

const char cmd_status_usage[] =
    "usage: mkey status [--json]\n"
    "\n"
    "Ask the server for GET /v1/health and /v1/version and print\n"
    "  server http://127.0.0.1:8080: ok (mkeyd 0.1.0, store ok)\n"
    "Exits 1 when the server cannot be reached or is not healthy.\n"
    "--json prints {\"server\":…,\"status\":…,\"store\":…,\"name\":…,\"version\":…,\"api\":…}.\n";

int cmd_status(int argc, const char **argv, struct cli *ctx) {
  int rc = cli_parse_options(ctx, argc, argv, NULL, NULL, 0, NULL, cmd_status_usage);
  if (rc != 0)
    return rc;

  mk_client *c = NULL;
  mk_client_response health = {0}, version = {0};
  json_t *doc = NULL;
  mk_err e = {0};
  const char *status = NULL, *store = NULL, *name = NULL, *ver = NULL, *api = NULL;

  if (cli_client_open(ctx, &c, &e) < 0) {
    rc = cli_fail(&e);
    goto out;
  }
  mk_client_set_timeout_ms(c, STATUS_TIMEOUT_MS);
  /* An unhealthy server may answer 503 with the health document itself;
   * report what it says rather than the bare status. */
  if (mk_client_request(c, "GET", "/v1/health", NULL, &health, &e) < 0 &&
      !json_is_string(json_object_get(health.json, "status"))) {
    rc = cli_fail(&e);
    goto out;
  }
  if (mk_client_request(c, "GET", "/v1/version", NULL, &version, &e) < 0) {
    rc = cli_fail(&e);
    goto out;
  }
  /* The getters also refuse control characters, so what is printed below
   * cannot drive the terminal. */
  if (mk_json_get_str(health.json, "status", 1, FIELD_MAX, &status, NULL, &e) < 0 ||
      mk_json_get_str(health.json, "store", 0, FIELD_MAX, &store, NULL, &e) < 0 ||
      mk_json_get_str(version.json, "name", 1, FIELD_MAX, &name, NULL, &e) < 0 ||
      mk_json_get_str(version.json, "version", 1, FIELD_MAX, &ver, NULL, &e) < 0 ||
      mk_json_get_str(version.json, "api", 0, FIELD_MAX, &api, NULL, &e) < 0) {
    rc = cli_error("unexpected answer from %s: %s", mk_client_base_url(c), e.msg);
    goto out;
  }
  if (ctx->json) {
    doc = json_pack("{s:s, s:s, s:s*, s:s, s:s, s:s*}", "server", mk_client_base_url(c), "status",
                    status, "store", store, "name", name, "version", ver, "api", api);
    if (doc == NULL) {
      rc = cli_error("out of memory");
      goto out;
    }
    rc = cli_print_json(doc);
  } else {
    printf("server %s: %s (%s %s, store %s)\n", mk_client_base_url(c), status, name, ver,
           store != NULL ? store : "unknown");
  }
  if (rc == CLI_OK && strcmp(status, "ok") != 0)
    rc = CLI_FAIL;
out:
  json_decref(doc);
  mk_client_response_clear(&health);
  mk_client_response_clear(&version);
  mk_client_free(c);
  return rc;
}
