/*
 * The web console's static files (api/routes_console.c) from any request
 * path under /console/: the router picks the route the server would, and
 * the handler serves only files of the table compiled in from web/console/,
 * by their exact name; every other path (traversal, '/', dot files, unknown
 * names) is MK_ENOTFOUND. Each embedded file is reachable by its own name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "util/embed.h"

extern const struct mk_embedded mk_console_files[];

#define PREFIX "/console/"
#define FUZZ_MAX (2 * MK_PATH_MAX) /* past the router's own bound */

static const struct mk_embedded *by_data(const unsigned char *raw, size_t len) {
  for (size_t i = 0; mk_console_files[i].name != NULL; i++)
    if (mk_console_files[i].data == raw && mk_console_files[i].len == len)
      return &mk_console_files[i];
  return NULL;
}

static const struct mk_embedded *by_name(const char *name) {
  for (size_t i = 0; mk_console_files[i].name != NULL; i++)
    if (strcmp(mk_console_files[i].name, name) == 0)
      return &mk_console_files[i];
  return NULL;
}

static void free_headers(mk_resp *resp) {
  for (size_t i = 0; i < sizeof resp->headers / sizeof resp->headers[0]; i++)
    free(resp->headers[i].value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > FUZZ_MAX)
    return 0;
  /* The path as libmicrohttpd hands it over: decoded, ending at a NUL. */
  char *path = malloc(sizeof PREFIX + size);
  if (path == NULL)
    abort();
  memcpy(path, PREFIX, sizeof PREFIX - 1);
  memcpy(path + sizeof PREFIX - 1, data, size);
  path[sizeof PREFIX - 1 + size] = '\0';
  const char *file = path + sizeof PREFIX - 1;

  char segbuf[MK_PATH_MAX], allow[128];
  mk_req req;
  memset(&req, 0, sizeof req);
  int m = mk_router_match(mk_api_routes(), "GET", path, segbuf, sizeof segbuf, &req.route,
                          req.params, &req.nparams, allow, sizeof allow);
  const struct mk_embedded *want = by_name(file[0] != '\0' ? file : "index.html");
  if (m != MK_ROUTE_FOUND) {
    if (want != NULL || (m != MK_ROUTE_NO_PATH && m != MK_ROUTE_NO_METHOD && m != MK_ETOOBIG))
      abort();
    free(path);
    return 0;
  }
  if (strncmp(req.route->pattern, PREFIX, sizeof PREFIX - 1) != 0)
    abort();
  mk_resp resp;
  memset(&resp, 0, sizeof resp);
  mk_err e;
  mk_err_clear(&e);
  int rc = req.route->fn(&req, &resp, &e);
  if (rc == 0) {
    const struct mk_embedded *f = by_data(resp.raw, resp.raw_len);
    /* One of the table's files, the one the path names, and a type. */
    if (f == NULL || f != want || strchr(f->name, '/') != NULL || f->name[0] == '.' ||
        resp.content_type == NULL || resp.json != NULL || resp.raw_owned != NULL)
      abort();
    if (req.nparams == 1 && strcmp(req.params[0], f->name) != 0)
      abort();
  } else if (rc != MK_ENOTFOUND || want != NULL || e.msg[0] == '\0') {
    abort();
  }
  free_headers(&resp);
  free(path);
  return 0;
}
