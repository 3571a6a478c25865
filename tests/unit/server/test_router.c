/* Router: pattern matching, parameters, 404 vs 405 with Allow. */
#include <string.h>

#include "mk_test.h"
#include "api/api.h"

static int h(mk_req *r, mk_resp *s, mk_err *e) { (void)r; (void)s; (void)e; return 0; }

static const struct mk_route routes[] = {
    {"GET", "/v1/health", h, 0, "health", MK_AUTH_PUBLIC},
    {"GET", "/v1/cas", h, 0, "list", MK_AUTH_PUBLIC},
    {"GET", "/v1/cas/{id}/chain", h, 0, "chain", MK_AUTH_PUBLIC},
    {"POST", "/v1/cas/{id}/ocsp", h, 0, "ocsp", MK_AUTH_PUBLIC},
    {"GET", "/v1/cas/{id}/ocsp/{*req}", h, 0, "ocsp get", MK_AUTH_PUBLIC},
    {"DELETE", "/v1/auth/{id}", h, 0, "revoke", MK_AUTH_PUBLIC},
    {"GET", "/v1/auth/{id}", h, 0, "show", MK_AUTH_PUBLIC},
    {NULL, NULL, NULL, 0, NULL, 0},
};

typedef struct {
  char seg[MK_PATH_MAX];
  const struct mk_route *r;
  const char *params[MK_ROUTE_PARAMS_MAX];
  size_t n;
  char allow[64];
} match_t;

static int m(match_t *x, const char *method, const char *path) {
  memset(x, 0, sizeof *x);
  return mk_router_match(routes, method, path, x->seg, sizeof x->seg, &x->r, x->params, &x->n,
                         x->allow, sizeof x->allow);
}

static void test_static_paths(void **state) {
  (void)state;
  match_t x;
  assert_int_equal(m(&x, "GET", "/v1/health"), MK_ROUTE_FOUND);
  assert_string_equal(x.r->summary, "health");
  assert_int_equal(x.n, 0);
  assert_int_equal(m(&x, "GET", "/v1/cas"), MK_ROUTE_FOUND);
  assert_string_equal(x.r->summary, "list");
  /* HEAD is served by GET routes. */
  assert_int_equal(m(&x, "HEAD", "/v1/health"), MK_ROUTE_FOUND);
}

static void test_params(void **state) {
  (void)state;
  match_t x;
  assert_int_equal(m(&x, "GET", "/v1/cas/ca_sandbox-sm2/chain"), MK_ROUTE_FOUND);
  assert_string_equal(x.r->summary, "chain");
  assert_int_equal(x.n, 1);
  assert_string_equal(x.params[0], "ca_sandbox-sm2");
  assert_int_equal(m(&x, "GET", "/v1/cas/a.b~c/ocsp/MEUwQz"), MK_ROUTE_FOUND);
  assert_int_equal(x.n, 2);
  assert_string_equal(x.params[0], "a.b~c");
  assert_string_equal(x.params[1], "MEUwQz");
}

/* RFC 6960 appendix A: GET {url}/{url-encoding of base-64 encoding of the
 * DER OCSPRequest}. libmicrohttpd decodes %2F before the router sees the
 * path, so the trailing catch-all takes every segment that is left. */
static void test_catch_all(void **state) {
  (void)state;
  match_t x;
  assert_int_equal(m(&x, "GET", "/v1/cas/ca_x/ocsp/MEUwQzBBMD8wPTAJBgUrDgMCGgUABBQ="),
                   MK_ROUTE_FOUND);
  assert_string_equal(x.r->summary, "ocsp get");
  assert_int_equal(x.n, 2);
  assert_string_equal(x.params[0], "ca_x");
  assert_string_equal(x.params[1], "MEUwQzBBMD8wPTAJBgUrDgMCGgUABBQ=");
  /* '/' inside the base64 text, also doubled and at the end */
  assert_int_equal(m(&x, "GET", "/v1/cas/ca_x/ocsp/ME+w/QzB//BQ/"), MK_ROUTE_FOUND);
  assert_string_equal(x.params[0], "ca_x");
  assert_string_equal(x.params[1], "ME+w/QzB//BQ/");
  /* more segments than fixed routes ever have */
  assert_int_equal(m(&x, "GET", "/v1/cas/c/ocsp/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v"),
                   MK_ROUTE_FOUND);
  assert_string_equal(x.params[1], "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v");
  /* HEAD too, through the GET route */
  assert_int_equal(m(&x, "HEAD", "/v1/cas/ca_x/ocsp/AAAA"), MK_ROUTE_FOUND);
  /* the rest must be there and be base64 or unreserved text */
  assert_int_equal(m(&x, "GET", "/v1/cas/ca_x/ocsp/"), MK_ROUTE_NO_PATH);
  assert_int_equal(m(&x, "GET", "/v1/cas/ca_x/ocsp/a b"), MK_ROUTE_NO_PATH);
  assert_int_equal(m(&x, "GET", "/v1/cas/ca_x/ocsp/a%2Fb"), MK_ROUTE_NO_PATH);
  assert_int_equal(m(&x, "GET", "/v1/cas/ca_x/ocsp/a/\x01"), MK_ROUTE_NO_PATH);
  /* fixed parameters before it keep their own rules */
  assert_int_equal(m(&x, "GET", "/v1/cas/a+b/ocsp/AAAA"), MK_ROUTE_NO_PATH);
  /* the POST route of the prefix still answers 405 for GET without a rest */
  assert_int_equal(m(&x, "GET", "/v1/cas/ca_x/ocsp"), MK_ROUTE_NO_METHOD);
  assert_int_equal(m(&x, "POST", "/v1/cas/ca_x/ocsp/AAAA"), MK_ROUTE_NO_METHOD);
  assert_string_equal(x.allow, "GET, HEAD");
  /* a path of nearly MK_PATH_MAX bytes of base64 */
  char big[MK_PATH_MAX];
  size_t pre = strlen("/v1/cas/c/ocsp/");
  memcpy(big, "/v1/cas/c/ocsp/", pre);
  for (size_t i = pre; i < sizeof big - 1; i++)
    big[i] = (i % 7 == 0) ? '/' : 'Q';
  big[sizeof big - 1] = '\0';
  big[sizeof big - 2] = 'Q';
  assert_int_equal(m(&x, "GET", big), MK_ROUTE_FOUND);
  assert_string_equal(x.params[1], big + pre);
}

static void test_not_found(void **state) {
  (void)state;
  match_t x;
  assert_int_equal(m(&x, "GET", "/v1/nothing"), MK_ROUTE_NO_PATH);
  assert_int_equal(m(&x, "GET", "/"), MK_ROUTE_NO_PATH);
  assert_int_equal(m(&x, "GET", ""), MK_ROUTE_NO_PATH);
  assert_int_equal(m(&x, "GET", "/v1/health/"), MK_ROUTE_NO_PATH);  /* trailing slash */
  assert_int_equal(m(&x, "GET", "/v1//health"), MK_ROUTE_NO_PATH);
  assert_int_equal(m(&x, "GET", "/v1/cas//chain"), MK_ROUTE_NO_PATH); /* empty param */
  assert_int_equal(m(&x, "GET", "/v1/cas/a%2Fb/chain"), MK_ROUTE_NO_PATH); /* not unreserved */
  assert_int_equal(m(&x, "GET", "/v1/cas/a b/chain"), MK_ROUTE_NO_PATH);
  assert_int_equal(m(&x, "GET", "/V1/HEALTH"), MK_ROUTE_NO_PATH); /* case matters */
  char longparam[MK_PARAM_MAX + 32] = "/v1/cas/";
  memset(longparam + 8, 'a', MK_PARAM_MAX + 1);
  strcat(longparam, "/chain");
  assert_int_equal(m(&x, "GET", longparam), MK_ROUTE_NO_PATH);
  /* 20 segments: no route has as many. */
  assert_int_equal(m(&x, "GET", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t"), MK_ROUTE_NO_PATH);
}

static void test_method_not_allowed(void **state) {
  (void)state;
  match_t x;
  assert_int_equal(m(&x, "POST", "/v1/health"), MK_ROUTE_NO_METHOD);
  assert_string_equal(x.allow, "GET, HEAD");
  assert_int_equal(m(&x, "PUT", "/v1/auth/auz_1"), MK_ROUTE_NO_METHOD);
  assert_string_equal(x.allow, "DELETE, GET, HEAD");
  assert_int_equal(m(&x, "GET", "/v1/cas/x/ocsp"), MK_ROUTE_NO_METHOD);
  assert_string_equal(x.allow, "POST");
}

static void test_path_too_long(void **state) {
  (void)state;
  char seg[16];
  const struct mk_route *r;
  const char *p[MK_ROUTE_PARAMS_MAX];
  size_t n;
  char allow[8];
  assert_int_equal(mk_router_match(routes, "GET", "/v1/health", seg, 10, &r, p, &n, allow,
                                   sizeof allow),
                   MK_ETOOBIG);
}

/* The real table: every pattern is well formed and no two routes collide. */
static void test_real_table(void **state) {
  (void)state;
  for (const struct mk_route *r = mk_api_routes(); r->method; r++) {
    /* the API under /v1/; the web console's static pages under /console */
    assert_true(strncmp(r->pattern, "/v1/", 4) == 0 || strcmp(r->pattern, "/console") == 0 ||
                strncmp(r->pattern, "/console/", 9) == 0);
    assert_non_null(r->fn);
    assert_non_null(r->summary);
    /* every route names who may call it; admin routes are never public */
    assert_true(r->auth >= MK_AUTH_PUBLIC && r->auth <= MK_AUTH_CA_OPERATOR);
    if (strncmp(r->pattern, "/v1/admin/", 10) == 0)
      assert_int_equal(r->auth, MK_AUTH_OPERATOR);
    for (const struct mk_route *o = r + 1; o->method; o++)
      assert_false(strcmp(r->method, o->method) == 0 && strcmp(r->pattern, o->pattern) == 0);
  }
}

/* The web console's pages: the directory is its page, the rest one file
 * name (the handler serves only embedded names, so "a/b" finds nothing). */
static void test_console_routes(void **state) {
  (void)state;
  char seg[MK_PATH_MAX], allow[64];
  const struct mk_route *r = NULL;
  const char *p[MK_ROUTE_PARAMS_MAX];
  size_t n = 0;
  const struct mk_route *all = mk_api_routes();
  assert_int_equal(mk_router_match(all, "GET", "/console/", seg, sizeof seg, &r, p, &n, allow,
                                   sizeof allow),
                   MK_ROUTE_FOUND);
  assert_string_equal(r->pattern, "/console/");
  assert_int_equal(n, 0);
  assert_int_equal(mk_router_match(all, "GET", "/console/app.js", seg, sizeof seg, &r, p, &n,
                                   allow, sizeof allow),
                   MK_ROUTE_FOUND);
  assert_string_equal(r->pattern, "/console/{*file}");
  assert_string_equal(p[0], "app.js");
  assert_int_equal(mk_router_match(all, "GET", "/console/a/b.js", seg, sizeof seg, &r, p, &n,
                                   allow, sizeof allow),
                   MK_ROUTE_FOUND);
  assert_string_equal(p[0], "a/b.js");
  assert_int_equal(mk_router_match(all, "GET", "/console", seg, sizeof seg, &r, p, &n, allow,
                                   sizeof allow),
                   MK_ROUTE_FOUND);
  assert_string_equal(r->pattern, "/console");
  assert_int_equal(mk_router_match(all, "POST", "/console/", seg, sizeof seg, &r, p, &n, allow,
                                   sizeof allow),
                   MK_ROUTE_NO_METHOD);
  assert_int_equal(mk_router_match(all, "GET", "/console/%2e%2e", seg, sizeof seg, &r, p, &n,
                                   allow, sizeof allow),
                   MK_ROUTE_NO_PATH);
}

static void test_problem_mapping(void **state) {
  (void)state;
  int status;
  const char *type, *title;
  mk_problem_for_code(MK_EINVAL, &status, &type, &title);
  assert_int_equal(status, 422);
  assert_string_equal(type, "/problems/validation-failed");
  mk_problem_for_code(MK_ENOTFOUND, &status, &type, &title);
  assert_int_equal(status, 404);
  mk_problem_for_code(MK_ELOCKED, &status, &type, &title);
  assert_int_equal(status, 423);
  mk_problem_for_code(MK_EINTERNAL, &status, &type, &title);
  assert_int_equal(status, 500);
  assert_string_equal(type, "/problems/internal");
  mk_problem_for_code(-999, &status, &type, &title);
  assert_int_equal(status, 500);

  json_t *p = mk_problem_new(422, "/problems/validation-failed", "t", "bad id", "id_number",
                             "req_x");
  assert_non_null(p);
  assert_int_equal(json_integer_value(json_object_get(p, "status")), 422);
  assert_string_equal(json_string_value(json_object_get(p, "detail")), "bad id");
  assert_string_equal(json_string_value(json_object_get(p, "request_id")), "req_x");
  json_t *errs = json_object_get(p, "errors");
  assert_int_equal(json_array_size(errs), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(errs, 0), "field")),
                      "id_number");
  assert_int_equal(mk_problem_add_error(p, "uscc", "bad"), 0);
  assert_int_equal(json_array_size(json_object_get(p, "errors")), 2);
  json_decref(p);

  /* A detail cut mid-character is dropped, not fatal. */
  p = mk_problem_new(422, "/problems/validation-failed", "t", "bad \xe4\xb8", "f", NULL);
  assert_non_null(p);
  assert_null(json_object_get(p, "detail"));
  assert_int_equal(json_array_size(json_object_get(p, "errors")), 1);
  json_decref(p);

  p = mk_problem_new(404, "/problems/not-found", "Not found", NULL, NULL, NULL);
  assert_null(json_object_get(p, "detail"));
  assert_null(json_object_get(p, "errors"));
  json_decref(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_static_paths),     cmocka_unit_test(test_params),
      cmocka_unit_test(test_catch_all),
      cmocka_unit_test(test_not_found),        cmocka_unit_test(test_method_not_allowed),
      cmocka_unit_test(test_path_too_long),    cmocka_unit_test(test_real_table),
      cmocka_unit_test(test_problem_mapping),  cmocka_unit_test(test_console_routes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
