/* Every route in the table is documented in openapi.json with its method,
 * and every documented operation is served: the document cannot drift. */
#include <ctype.h>
#include <string.h>

#include "mk_test.h"
#include "api/api.h"
#include "util/embed.h"
#include "util/json.h"

static json_t *doc;

static int setup(void **state) {
  (void)state;
  mk_err e;
  const char *text = NULL;
  size_t len = 0;
  if (mk_api_openapi(&text, &len, &e) < 0) {
    print_error("openapi: %s\n", e.msg);
    return -1;
  }
  return mk_json_parse(text, len, 1u << 20, &doc, &e);
}

static int teardown(void **state) {
  (void)state;
  json_decref(doc);
  return 0;
}

static void test_document_shape(void **state) {
  (void)state;
  assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
  assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "info"), "version")),
                      mk_version());
}

static void test_every_route_documented(void **state) {
  (void)state;
  json_t *paths = json_object_get(doc, "paths");
  assert_non_null(paths);
  for (const struct mk_route *r = mk_api_routes(); r->method; r++) {
    /* Static pages (the web console, docs/console.md) are not API operations. */
    if (strncmp(r->pattern, "/v1/", 4) != 0)
      continue;
    json_t *item = json_object_get(paths, r->pattern);
    if (item == NULL)
      fail_msg("route %s %s is not in openapi.json", r->method, r->pattern);
    char m[16];
    size_t i = 0;
    for (; r->method[i] && i < sizeof m - 1; i++)
      m[i] = (char)tolower((unsigned char)r->method[i]);
    m[i] = '\0';
    json_t *op = json_object_get(item, m);
    if (op == NULL)
      fail_msg("route %s %s has no '%s' operation in openapi.json", r->method, r->pattern, m);
    assert_non_null(json_object_get(op, "responses"));
    assert_non_null(json_object_get(op, "operationId"));
  }
}

static void test_every_operation_served(void **state) {
  (void)state;
  const char *path;
  json_t *item;
  json_object_foreach(json_object_get(doc, "paths"), path, item) {
    const char *method;
    json_t *op;
    json_object_foreach(item, method, op) {
      int found = 0;
      for (const struct mk_route *r = mk_api_routes(); r->method && !found; r++)
        found = strcasecmp(r->method, method) == 0 && strcmp(r->pattern, path) == 0;
      if (!found)
        fail_msg("openapi.json documents %s %s, which no route serves", method, path);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_document_shape),
      cmocka_unit_test(test_every_route_documented),
      cmocka_unit_test(test_every_operation_served),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
