/*
 * Handlers of real-name verification (/v1/me/identity…), platforms
 * (/v1/platforms…, /v1/me/platform), 我的 (/v1/me, /v1/me/shortcuts) and
 * help (/v1/help…). Each parses, calls one svc function and maps the
 * result; docs/identity.md describes them.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "util/guard.h"

/* A malformed query parameter: 400 bad-request naming it. */
static int bad_query(mk_req *req, mk_err *e, const char *name, const char *why) {
  req->problem_type = "/problems/bad-request";
  snprintf(req->problem_field, sizeof req->problem_field, "%s", name);
  return mk_err_set(e, MK_EINVAL, "%s: %s", name, why);
}

/* ?limit= within 1..max (default dflt). */
static int query_limit(mk_req *req, int64_t dflt, int64_t max, int64_t *out, mk_err *e) {
  const char *l = mk_api_query(req, "limit");
  *out = dflt;
  if (l == NULL)
    return 0;
  char *end = NULL;
  long v = strtol(l, &end, 10);
  if (end == l || *end != '\0' || v < 1 || v > max) {
    char why[64];
    snprintf(why, sizeof why, "must be a whole number from 1 to %lld", (long long)max);
    return bad_query(req, e, "limit", why);
  }
  *out = v;
  return 0;
}

static int query_cursor(mk_req *req, const char **out, mk_err *e) {
  *out = mk_api_query(req, "cursor");
  if (*out != NULL && (strlen(*out) == 0 || strlen(*out) > MK_PARAM_MAX))
    return bad_query(req, e, "cursor", "is not one this server gave");
  return 0;
}

/* Run a body-taking svc call: parse the object, call, 201 or 200. */
typedef int (*body_fn)(mk_svc_ctx *ctx, const json_t *body, json_t **out, char *field,
                       const char **problem_type, mk_err *e);

static int with_body(mk_req *req, mk_resp *resp, mk_err *e, body_fn fn, int status) {
  int rc = 0;
  json_t *body = NULL;
  MK_TRY(mk_api_body_object(req, &body, e));
  MK_TRY(fn(&req->svc, body, &resp->json, req->problem_field, &req->problem_type, e));
  resp->status = status;
out:
  json_decref(body);
  return rc;
}

/* ---- real-name ---------------------------------------------------------- */

static int post_identity(mk_req *req, mk_resp *resp, mk_err *e) {
  return with_body(req, resp, e, mk_svc_realname_verify, 201);
}

static int get_identity(mk_req *req, mk_resp *resp, mk_err *e) {
  return mk_svc_realname_get(&req->svc, &resp->json, e);
}

static int post_face_session(mk_req *req, mk_resp *resp, mk_err *e) {
  return with_body(req, resp, e, mk_svc_realname_face_start, 201);
}

static int get_face_session(mk_req *req, mk_resp *resp, mk_err *e) {
  return mk_svc_realname_face_get(&req->svc, req->params[0], &resp->json, e);
}

static int post_reverification(mk_req *req, mk_resp *resp, mk_err *e) {
  return with_body(req, resp, e, mk_svc_realname_reverify, 201);
}

static int post_sandbox_face(mk_req *req, mk_resp *resp, mk_err *e) {
  int rc = 0;
  json_t *body = NULL;
  /* Outside sandbox mode the route answers as if it did not exist. */
  MK_ENSURE(req->svc.cfg->sandbox, MK_ENOTFOUND, e, "no such resource");
  MK_TRY(mk_api_body_object(req, &body, e));
  MK_TRY(mk_svc_realname_face_sandbox(&req->svc, req->params[0], body, &resp->json,
                                      req->problem_field, e));
out:
  json_decref(body);
  return rc;
}

/* ---- platforms ---------------------------------------------------------- */

static int get_platforms(mk_req *req, mk_resp *resp, mk_err *e) {
  int rc = 0;
  int64_t limit = 100;
  const char *cursor = NULL, *province = mk_api_query(req, "province");
  MK_TRY(query_limit(req, 100, 100, &limit, e));
  MK_TRY(query_cursor(req, &cursor, e));
  if (province != NULL && (strlen(province) == 0 || strlen(province) > 48))
    MK_TRY(bad_query(req, e, "province", "is a province name such as 浙江"));
  rc = mk_svc_platform_list(&req->svc, province, cursor, limit, &resp->json, e);
  if (rc == MK_EINVAL) {
    mk_err why = *e;
    (void)bad_query(req, e, "province", why.msg);
  }
out:
  return rc;
}

static int get_platform(mk_req *req, mk_resp *resp, mk_err *e) {
  return mk_svc_platform_get(&req->svc, req->params[0], &resp->json, e);
}

static int get_nearest(mk_req *req, mk_resp *resp, mk_err *e) {
  int rc = 0;
  int64_t lat = 0, lon = 0, limit = 3;
  mk_err pe;
  const char *names[2] = {"lat", "lon"};
  int64_t *vals[2] = {&lat, &lon};
  for (int i = 0; i < 2; i++) {
    const char *v = mk_api_query(req, names[i]);
    if (v == NULL)
      MK_TRY(bad_query(req, e, names[i], "is required (decimal degrees)"));
    if (mk_svc_parse_degrees(v, i == 0 ? 90 : 180, vals[i], &pe) < 0)
      MK_TRY(bad_query(req, e, names[i], pe.msg));
  }
  MK_TRY(query_limit(req, 3, 10, &limit, e));
  MK_TRY(mk_svc_platform_nearest(&req->svc, lat, lon, limit, &resp->json, e));
out:
  return rc;
}

static int put_my_platform(mk_req *req, mk_resp *resp, mk_err *e) {
  int rc = 0;
  json_t *body = NULL;
  MK_TRY(mk_api_body_object(req, &body, e));
  MK_TRY(mk_svc_platform_select(&req->svc, body, &resp->json, req->problem_field, e));
out:
  json_decref(body);
  return rc;
}

/* ---- 我的 --------------------------------------------------------------- */

static int get_me(mk_req *req, mk_resp *resp, mk_err *e) {
  return mk_svc_me_get(&req->svc, &resp->json, e);
}

static int get_shortcuts(mk_req *req, mk_resp *resp, mk_err *e) {
  return mk_svc_me_shortcuts_get(&req->svc, &resp->json, e);
}

static int put_shortcuts(mk_req *req, mk_resp *resp, mk_err *e) {
  int rc = 0;
  json_t *body = NULL;
  MK_TRY(mk_api_body_object(req, &body, e));
  MK_TRY(mk_svc_me_shortcuts_put(&req->svc, body, &resp->json, req->problem_field, e));
out:
  json_decref(body);
  return rc;
}

/* ---- help --------------------------------------------------------------- */

static int get_help_articles(mk_req *req, mk_resp *resp, mk_err *e) {
  int rc = 0;
  int64_t limit = 100;
  const char *cursor = NULL;
  MK_TRY(query_limit(req, 100, 100, &limit, e));
  MK_TRY(query_cursor(req, &cursor, e));
  rc = mk_svc_help_list(&req->svc, cursor, limit, &resp->json, e);
  if (rc == MK_EINVAL)
    (void)bad_query(req, e, "cursor", "is not one this server gave");
out:
  return rc;
}

static int get_help_article(mk_req *req, mk_resp *resp, mk_err *e) {
  return mk_svc_help_get(&req->svc, req->params[0], &resp->json, e);
}

static int get_help_search(mk_req *req, mk_resp *resp, mk_err *e) {
  int rc = 0;
  int64_t limit = 5;
  const char *q = mk_api_query(req, "q");
  if (q == NULL)
    MK_TRY(bad_query(req, e, "q", "is required: the question"));
  MK_TRY(query_limit(req, 5, 10, &limit, e));
  rc = mk_svc_help_search(&req->svc, q, limit, &resp->json, e);
  if (rc == MK_EINVAL) {
    mk_err why = *e;
    (void)bad_query(req, e, "q", why.msg);
  }
out:
  return rc;
}

const struct mk_route mk_routes_identity[] = {
    {"POST", "/v1/me/identity", post_identity, 16 * 1024, "Verify the caller's real name",
     MK_AUTH_ACCOUNT},
    {"GET", "/v1/me/identity", get_identity, 0, "The caller's verified identity (masked)",
     MK_AUTH_ACCOUNT},
    {"POST", "/v1/me/identity/face-sessions", post_face_session, 16 * 1024,
     "Start an Alipay face verification", MK_AUTH_ACCOUNT},
    {"GET", "/v1/me/identity/face-sessions/{id}", get_face_session, 0,
     "State of a face verification", MK_AUTH_ACCOUNT},
    {"POST", "/v1/me/identity/verifications", post_reverification, 16 * 1024,
     "Re-verify the caller against the stored identity", MK_AUTH_ACCOUNT},
    {"POST", "/v1/sandbox/face-sessions/{id}/result", post_sandbox_face, 1024,
     "Sandbox only: the face result Alipay would give", MK_AUTH_PUBLIC},
    {"GET", "/v1/platforms", get_platforms, 0, "Trading platforms", MK_AUTH_PUBLIC},
    /* Before /v1/platforms/{id}: the first matching route wins. */
    {"GET", "/v1/platforms/nearest", get_nearest, 0, "Platforms nearest to a position",
     MK_AUTH_PUBLIC},
    {"GET", "/v1/platforms/{id}", get_platform, 0, "One trading platform", MK_AUTH_PUBLIC},
    {"PUT", "/v1/me/platform", put_my_platform, 4096, "Choose the caller's current platform",
     MK_AUTH_ACCOUNT},
    {"GET", "/v1/me", get_me, 0, "The caller: identity, platform, roles, next step",
     MK_AUTH_ACCOUNT},
    {"GET", "/v1/me/shortcuts", get_shortcuts, 0, "The caller's home shortcuts",
     MK_AUTH_ACCOUNT},
    {"PUT", "/v1/me/shortcuts", put_shortcuts, 4096, "Choose the home shortcuts",
     MK_AUTH_ACCOUNT},
    {"GET", "/v1/help/articles", get_help_articles, 0, "Help articles", MK_AUTH_PUBLIC},
    {"GET", "/v1/help/articles/{id}", get_help_article, 0, "One help article", MK_AUTH_PUBLIC},
    {"GET", "/v1/help/search", get_help_search, 0, "Best help articles for a question",
     MK_AUTH_PUBLIC},
    {NULL, NULL, NULL, 0, NULL, 0},
};
