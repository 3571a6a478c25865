/*
 * The route table and the system handlers. Every route here must appear in
 * openapi.json (tests/unit/server/test_openapi.c checks it).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "util/embed.h"
#include "util/guard.h"

extern const struct mk_embedded mk_openapi_files[];

static int get_health(mk_req *req, mk_resp *resp, mk_err *e) {
  return mk_svc_system_health(&req->svc, &resp->json, e);
}

static int get_version(mk_req *req, mk_resp *resp, mk_err *e) {
  return mk_svc_system_version(&req->svc, &resp->json, e);
}

static int get_openapi(mk_req *req, mk_resp *resp, mk_err *e) {
  (void)req;
  int rc = 0;
  const char *doc = NULL;
  MK_TRY(mk_api_openapi(&doc, &resp->raw_len, e));
  resp->raw = (const unsigned char *)doc;
  resp->content_type = "application/json";
out:
  return rc;
}

/* POST /v1/validations: check personal and enterprise data the way every
 * later form will (ID number, USCC, mobile, bank card, name), so a client can
 * tell a user what is wrong before submitting. Every failing field is listed
 * in the problem's errors[]. */
static int post_validations(mk_req *req, mk_resp *resp, mk_err *e) {
  static const struct {
    const char *field;
    int (*check)(const char *, mk_err *);
  } checks[] = {
      {"id_number", mk_valid_id_number}, {"uscc", mk_valid_uscc},
      {"mobile", mk_valid_mobile},       {"bank_card", mk_valid_bank_card},
      {"name", mk_valid_person_name},
  };
  static const char *const allowed[] = {"id_number", "uscc", "mobile", "bank_card", "name", NULL};
  int rc = 0;
  json_t *body = NULL, *problem = NULL, *checked = NULL;
  MK_TRY(mk_api_body_object(req, &body, e));
  MK_TRY(mk_json_only_keys(body, allowed, req->problem_field, e));
  checked = json_array();
  MK_ENSURE_ALLOC(checked, e);
  for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
    const char *v = NULL;
    MK_TRY(mk_json_get_str(body, checks[i].field, 0, 256, &v, req->problem_field, e));
    if (v == NULL)
      continue;
    MK_ENSURE(json_array_append_new(checked, json_string(checks[i].field)) == 0, MK_ENOMEM, e,
              "out of memory");
    mk_err fe;
    mk_err_clear(&fe);
    if (checks[i].check(v, &fe) == 0)
      continue;
    if (problem == NULL) {
      int status;
      const char *type, *title;
      mk_problem_for_code(MK_EINVAL, &status, &type, &title);
      problem = mk_problem_new(status, type, title, "some fields are not valid", NULL,
                               req->request_id);
      MK_ENSURE_ALLOC(problem, e);
    }
    MK_ENSURE(mk_problem_add_error(problem, checks[i].field, fe.msg) == 0, MK_ENOMEM, e,
              "out of memory");
  }
  MK_ENSURE(json_array_size(checked) > 0, MK_EINVAL, e,
            "give at least one of id_number, uscc, mobile, bank_card, name");
  if (problem != NULL) {
    resp->status = 422;
    resp->json = problem;
    resp->content_type = "application/problem+json";
    problem = NULL;
  } else {
    resp->json = json_pack("{s:b,s:O}", "valid", 1, "checked", checked);
    MK_ENSURE_ALLOC(resp->json, e);
  }
out:
  json_decref(body);
  json_decref(problem);
  json_decref(checked);
  return rc;
}

/* GET /v1/admin/session: who the bearer token makes the caller; `mkey admin
 * login` checks a token with it before keeping it. */
static int get_admin_session(mk_req *req, mk_resp *resp, mk_err *e) {
  int rc = 0;
  MK_ENSURE(req->svc.caller.role == MK_ROLE_OPERATOR, MK_EINTERNAL, e, "role not set");
  resp->json = json_pack("{s:s}", "role", "operator");
  MK_ENSURE_ALLOC(resp->json, e);
out:
  return rc;
}

const struct mk_route mk_routes_system[] = {
    {"GET", "/v1/health", get_health, 0, "Server and store health", MK_AUTH_PUBLIC},
    {"GET", "/v1/version", get_version, 0, "Server version, store back end and schema",
     MK_AUTH_PUBLIC},
    {"GET", "/v1/openapi.json", get_openapi, 0, "This API's OpenAPI 3.1 document",
     MK_AUTH_PUBLIC},
    {"POST", "/v1/validations", post_validations, 16 * 1024,
     "Check ID number, USCC, mobile, bank card and name", MK_AUTH_PUBLIC},
    {"GET", "/v1/admin/session", get_admin_session, 0, "The caller's operator session",
     MK_AUTH_OPERATOR},
    {NULL, NULL, NULL, 0, NULL, 0},
};

/* Every route table, in match order. A new table is added here. */
static const struct mk_route *const route_tables[] = {
    mk_routes_system,
    mk_routes_ca,
    mk_routes_files,
    mk_routes_account,
    mk_routes_identity,
    mk_routes_org,
    mk_routes_review,
    mk_routes_console,
    NULL,
};

#define ROUTES_MAX 512
static struct mk_route all_routes[ROUTES_MAX + 1];
static pthread_once_t routes_once = PTHREAD_ONCE_INIT;

static void routes_build(void) {
  size_t n = 0;
  for (size_t t = 0; route_tables[t] != NULL; t++)
    for (const struct mk_route *r = route_tables[t]; r->method != NULL; r++) {
      if (n == ROUTES_MAX)
        abort(); /* a build with more routes raises ROUTES_MAX */
      all_routes[n++] = *r;
    }
  all_routes[n] = (struct mk_route){NULL, NULL, NULL, 0, NULL, 0};
}

const struct mk_route *mk_api_routes(void) {
  pthread_once(&routes_once, routes_build);
  return all_routes;
}

/* The OpenAPI document: openapi.json with the "paths" of every part merged
 * in, built once. A part that does not parse or repeats a path fails the
 * build of the document (tests/unit/server/test_openapi.c). */
static pthread_once_t openapi_once = PTHREAD_ONCE_INIT;
static char *openapi_doc;
static size_t openapi_len;
static mk_err openapi_err;

static void openapi_build(void) {
  int rc = 0;
  mk_err *e = &openapi_err;
  json_t *doc = NULL, *part = NULL;
  MK_TRY(mk_json_parse(mk_openapi_files[0].data, mk_openapi_files[0].len, 1u << 20, &doc, e));
  json_t *paths = json_object_get(doc, "paths");
  MK_ENSURE(json_is_object(paths), MK_EINTERNAL, e, "openapi.json has no paths");
  for (size_t i = 1; mk_openapi_files[i].name != NULL; i++) {
    rc = mk_json_parse(mk_openapi_files[i].data, mk_openapi_files[i].len, 1u << 20, &part, e);
    if (rc < 0) {
      mk_err_wrap(e, "openapi/%s", mk_openapi_files[i].name);
      goto out;
    }
    const char *path;
    json_t *item;
    json_object_foreach(json_object_get(part, "paths"), path, item) {
      MK_ENSURE(json_object_get(paths, path) == NULL, MK_EINTERNAL, e,
                "openapi/%s repeats %s", mk_openapi_files[i].name, path);
      MK_ENSURE(json_object_set(paths, path, item) == 0, MK_ENOMEM, e, "out of memory");
    }
    json_t *schemas = json_object_get(json_object_get(part, "components"), "schemas");
    if (schemas != NULL) {
      json_t *comp = json_object_get(doc, "components");
      json_t *to = json_object_get(comp, "schemas");
      MK_ENSURE(json_is_object(to), MK_EINTERNAL, e, "openapi.json has no components.schemas");
      const char *k;
      json_t *v;
      json_object_foreach(schemas, k, v) {
        MK_ENSURE(json_object_get(to, k) == NULL, MK_EINTERNAL, e, "openapi/%s repeats schema %s",
                  mk_openapi_files[i].name, k);
        MK_ENSURE(json_object_set(to, k, v) == 0, MK_ENOMEM, e, "out of memory");
      }
    }
    json_decref(part);
    part = NULL;
  }
  openapi_doc = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
  MK_ENSURE_ALLOC(openapi_doc, e);
  openapi_len = strlen(openapi_doc);
out:
  (void)rc;
  json_decref(part);
  json_decref(doc);
}

int mk_api_openapi(const char **doc, size_t *len, mk_err *e) {
  pthread_once(&openapi_once, openapi_build);
  if (openapi_doc == NULL)
    return mk_err_set(e, openapi_err.code ? openapi_err.code : MK_EINTERNAL, "%s",
                      openapi_err.msg);
  *doc = openapi_doc;
  *len = openapi_len;
  return 0;
}
