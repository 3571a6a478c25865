/*
 * Review and messages: an account's applications and its decisions on them
 * (resubmit, cancel, an admin's approval or refusal), CA operators (added by
 * the platform operator, logging in for `mkey ca`) and their queue, detail,
 * attachment images and decisions, and the inbox with its long-poll. Each
 * handler parses, calls one svc function and maps the result; docs/review.md
 * and docs/messages.md describe the routes.
 */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "util/guard.h"

#define DECISION_BODY_MAX (8 * 1024)     /* {reason} of at most 500 characters */
#define RESUBMIT_BODY_MAX (64 * 1024)    /* {changes, attachments} */
#define LOGIN_BODY_MAX (4 * 1024)
#define LONG_POLL_MAX 60                 /* seconds (DESIGN.md: API conventions) */

/* A query parameter that is not what the route takes: 400 naming it. */
static int bad_query(mk_req *req, const char *name, mk_err *e, const char *msg) {
  req->problem_type = "/problems/bad-request";
  snprintf(req->problem_field, sizeof req->problem_field, "%s", name);
  return mk_err_set(e, MK_EINVAL, "%s", msg);
}

/* Whole number query parameter name in [lo, hi], def when absent. */
static int query_int(mk_req *req, const char *name, int64_t lo, int64_t hi, int64_t def,
                     int64_t *out, mk_err *e) {
  const char *v = mk_api_query(req, name);
  *out = def;
  if (v == NULL)
    return 0;
  char *end = NULL;
  long long n = strtoll(v, &end, 10);
  if (end == v || *end != '\0' || n < lo || n > hi || strlen(v) > 19) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a whole number from %lld to %lld", name, (long long)lo,
             (long long)hi);
    return bad_query(req, name, e, msg);
  }
  *out = n;
  return 0;
}

/* A list's svc error on its query parameters is a bad request. */
static int list_error(mk_req *req, int rc) {
  if (rc == MK_EINVAL)
    req->problem_type = "/problems/bad-request";
  return rc;
}

/* A body a route does not need must be empty or {}. */
static int no_body(mk_req *req, mk_err *e) {
  static const char *const none[] = {NULL};
  int rc = 0;
  json_t *b = NULL;
  if (req->body_len == 0)
    return 0;
  MK_TRY(mk_api_body_object(req, &b, e));
  MK_TRY(mk_json_only_keys(b, none, req->problem_field, e));
out:
  json_decref(b);
  return rc;
}

/* ---- an account's applications ----------------------------------------------- */

static int get_applications(mk_req *req, mk_resp *resp, mk_err *e) {
  int rc = 0;
  int64_t limit = 20;
  MK_TRY(query_int(req, "limit", 1, MK_SVC_LIST_MAX, 20, &limit, e));
  rc = mk_svc_app_list(&req->svc, mk_api_query(req, "role"), mk_api_query(req, "state"),
                       mk_api_query(req, "cursor"), limit, &resp->json, req->problem_field, e);
  MK_TRY(list_error(req, rc));
out:
  return rc;
}

static int get_application(mk_req *req, mk_resp *resp, mk_err *e) {
  if (mk_id_check(req->params[0], "apl", NULL) < 0)
    return mk_err_set(e, MK_ENOTFOUND, "no such application");
  return mk_svc_app_get(&req->svc, req->params[0], &resp->json, e);
}

static int post_resubmission(mk_req *req, mk_resp *resp, mk_err *e) {
  int rc = 0;
  json_t *body = NULL;
  if (req->body_len > 0)
    MK_TRY(mk_api_body_object(req, &body, e));
  MK_TRY(mk_svc_app_act(&req->svc, req->params[0], MK_APP_EV_RESUBMIT, NULL, body, &resp->json,
                        req->problem_field, e));
out:
  json_decref(body);
  return rc;
}

static int act_plain(mk_req *req, mk_resp *resp, int event, mk_err *e) {
  int rc = 0;
  MK_TRY(no_body(req, e));
  MK_TRY(mk_svc_app_act(&req->svc, req->params[0], event, NULL, NULL, &resp->json,
                        req->problem_field, e));
out:
  return rc;
}

static int act_reject(mk_req *req, mk_resp *resp, int event, mk_err *e) {
  static const char *const allowed[] = {"reason", NULL};
  int rc = 0;
  json_t *body = NULL;
  const char *reason = NULL;
  MK_TRY(mk_api_body_object(req, &body, e));
  MK_TRY(mk_json_only_keys(body, allowed, req->problem_field, e));
  /* Optional here: the engine asks for it after deciding that the caller may
   * act, so a stranger learns nothing from the answer. */
  MK_TRY(mk_json_get_str(body, "reason", 0, 2000, &reason, req->problem_field, e));
  MK_TRY(mk_svc_app_act(&req->svc, req->params[0], event, reason, NULL, &resp->json,
                        req->problem_field, e));
out:
  json_decref(body);
  return rc;
}

static int post_cancellation(mk_req *req, mk_resp *resp, mk_err *e) {
  return act_plain(req, resp, MK_APP_EV_CANCEL, e);
}

static int post_admin_approval(mk_req *req, mk_resp *resp, mk_err *e) {
  return act_plain(req, resp, MK_APP_EV_ADMIN_APPROVE, e);
}

static int post_admin_rejection(mk_req *req, mk_resp *resp, mk_err *e) {
  return act_reject(req, resp, MK_APP_EV_ADMIN_REJECT, e);
}

/* ---- CA operators -------------------------------------------------------------- */

static int post_ca_operator(mk_req *req, mk_resp *resp, mk_err *e) {
  static const char *const allowed[] = {"ca_id", "username", "password", NULL};
  int rc = 0;
  json_t *body = NULL;
  const char *ca = NULL, *user = NULL, *pw = NULL;
  MK_TRY(mk_api_body_object(req, &body, e));
  MK_TRY(mk_json_only_keys(body, allowed, req->problem_field, e));
  MK_TRY(mk_json_get_str(body, "ca_id", 1, 64, &ca, req->problem_field, e));
  MK_TRY(mk_json_get_str(body, "username", 1, 64, &user, req->problem_field, e));
  MK_TRY(mk_json_get_str(body, "password", 1, 256, &pw, req->problem_field, e));
  MK_TRY(mk_svc_ca_operator_add(&req->svc, ca, user, pw, &resp->json, req->problem_field, e));
  resp->status = 201;
out:
  json_decref(body); /* the body buffer itself is wiped by the server */
  return rc;
}

static int post_ca_session(mk_req *req, mk_resp *resp, mk_err *e) {
  static const char *const allowed[] = {"username", "password", NULL};
  int rc = 0;
  json_t *body = NULL, *out = NULL;
  const char *user = NULL, *pw = NULL;
  char token[MK_SESSION_TOKEN_MAX];
  MK_TRY(mk_api_body_object(req, &body, e));
  MK_TRY(mk_json_only_keys(body, allowed, req->problem_field, e));
  MK_TRY(mk_json_get_str(body, "username", 1, 256, &user, req->problem_field, e));
  MK_TRY(mk_json_get_str(body, "password", 1, 256, &pw, req->problem_field, e));
  MK_TRY(mk_svc_ca_login(&req->svc, MK_SESSION_CA_OPERATOR, user, pw, token, NULL, &out, e));
  MK_ENSURE(json_object_set_new(out, "token", json_string(token)) == 0, MK_ENOMEM, e,
            "out of memory");
  resp->json = out;
  out = NULL;
  resp->status = 201;
out:
  OPENSSL_cleanse(token, sizeof token);
  json_decref(out);
  json_decref(body);
  return rc;
}

static int delete_ca_session(mk_req *req, mk_resp *resp, mk_err *e) {
  (void)resp;
  return mk_svc_session_end(&req->svc, e);
}

/* ---- the CA's queue -------------------------------------------------------------- */

static int get_ca_applications(mk_req *req, mk_resp *resp, mk_err *e) {
  int rc = 0;
  int64_t limit = 50;
  MK_TRY(query_int(req, "limit", 1, MK_SVC_LIST_MAX, 50, &limit, e));
  rc = mk_svc_ca_queue(&req->svc, mk_api_query(req, "state"), mk_api_query(req, "cursor"), limit,
                       &resp->json, req->problem_field, e);
  MK_TRY(list_error(req, rc));
out:
  return rc;
}

static int get_ca_application(mk_req *req, mk_resp *resp, mk_err *e) {
  return mk_svc_ca_app_get(&req->svc, req->params[0], &resp->json, e);
}

static int get_ca_attachment(mk_req *req, mk_resp *resp, mk_err *e) {
  int rc = 0;
  char mt[16];
  MK_TRY(mk_svc_ca_app_attachment(&req->svc, req->params[0], req->params[1], &resp->raw_owned,
                                  &resp->raw_len, mt, e));
  resp->content_type = strcmp(mt, "image/png") == 0 ? "image/png" : "image/jpeg";
out:
  return rc;
}

static int post_ca_approval(mk_req *req, mk_resp *resp, mk_err *e) {
  if (mk_id_check(req->params[0], "apl", NULL) < 0)
    return mk_err_set(e, MK_ENOTFOUND, "no such application");
  return act_plain(req, resp, MK_APP_EV_CA_APPROVE, e);
}

static int post_ca_rejection(mk_req *req, mk_resp *resp, mk_err *e) {
  if (mk_id_check(req->params[0], "apl", NULL) < 0)
    return mk_err_set(e, MK_ENOTFOUND, "no such application");
  return act_reject(req, resp, MK_APP_EV_CA_REJECT, e);
}

/* ---- messages ------------------------------------------------------------------- */

/* GET /v1/messages?unread=&after=&cursor=&limit=&wait= */
static int get_messages(mk_req *req, mk_resp *resp, mk_err *e) {
  int rc = 0, unread = 0;
  int64_t limit = 20, wait = 0;
  json_t *out = NULL;
  const char *u = mk_api_query(req, "unread"), *after = mk_api_query(req, "after");
  const char *cursor = mk_api_query(req, "cursor");
  if (u != NULL) {
    if (strcmp(u, "true") == 0)
      unread = 1;
    else if (strcmp(u, "false") != 0)
      MK_TRY(bad_query(req, "unread", e, "unread is true or false"));
  }
  MK_TRY(query_int(req, "limit", 1, MK_SVC_LIST_MAX, 20, &limit, e));
  MK_TRY(query_int(req, "wait", 0, LONG_POLL_MAX, 0, &wait, e));
  if (wait > 0 && (after == NULL || cursor != NULL))
    MK_TRY(bad_query(req, "wait", e,
                     "wait needs after=SEQ (the last seq seen) and no cursor"));
  uint64_t version = 0;
  /* The version is read before the store, so a message posted between the
   * read and the wait still wakes this request. */
  int may_wait = wait > 0 && mk_api_poll_begin(req, req->svc.caller.account_id, (int)wait,
                                               &version);
  rc = mk_svc_message_list(&req->svc, unread, after, cursor, limit, &out, req->problem_field, e);
  MK_TRY(list_error(req, rc));
  if (may_wait && json_array_size(json_object_get(out, "items")) == 0) {
    MK_TRY(mk_api_poll_park(req, version, e));
    goto out;
  }
  resp->json = out;
  out = NULL;
out:
  json_decref(out);
  return rc;
}

static int get_message(mk_req *req, mk_resp *resp, mk_err *e) {
  return mk_svc_message_get(&req->svc, req->params[0], &resp->json, e);
}

static int post_read_all(mk_req *req, mk_resp *resp, mk_err *e) {
  static const char *const allowed[] = {"up_to", NULL};
  int rc = 0;
  json_t *body = NULL;
  int64_t up_to = 0;
  if (req->body_len > 0) {
    MK_TRY(mk_api_body_object(req, &body, e));
    MK_TRY(mk_json_only_keys(body, allowed, req->problem_field, e));
    MK_TRY(mk_json_get_int(body, "up_to", 0, 1, INT64_MAX / 2, &up_to, req->problem_field, e));
  }
  MK_TRY(mk_svc_message_read_all(&req->svc, up_to, &resp->json, e));
out:
  json_decref(body);
  return rc;
}

const struct mk_route mk_routes_review[] = {
    {"GET", "/v1/applications", get_applications, 0,
     "Your applications, or those of the enterprises you administer", MK_AUTH_ACCOUNT},
    {"GET", "/v1/applications/{id}", get_application, 0, "One application you may see",
     MK_AUTH_ACCOUNT},
    {"POST", "/v1/applications/{id}/resubmission", post_resubmission, RESUBMIT_BODY_MAX,
     "Edit and send a rejected application again", MK_AUTH_ACCOUNT},
    {"POST", "/v1/applications/{id}/cancellation", post_cancellation, DECISION_BODY_MAX,
     "Withdraw your application", MK_AUTH_ACCOUNT},
    {"POST", "/v1/applications/{id}/admin-approval", post_admin_approval, DECISION_BODY_MAX,
     "The enterprise admin agrees", MK_AUTH_ACCOUNT},
    {"POST", "/v1/applications/{id}/admin-rejection", post_admin_rejection, DECISION_BODY_MAX,
     "The enterprise admin refuses, with a reason", MK_AUTH_ACCOUNT},
    {"POST", "/v1/admin/ca-operators", post_ca_operator, LOGIN_BODY_MAX,
     "Add an operator of a CA", MK_AUTH_OPERATOR},
    {"POST", "/v1/ca-sessions", post_ca_session, LOGIN_BODY_MAX, "Log in as a CA operator",
     MK_AUTH_PUBLIC},
    {"DELETE", "/v1/ca-sessions/current", delete_ca_session, 0, "Log out a CA operator",
     MK_AUTH_CA_OPERATOR},
    {"GET", "/v1/ca/applications", get_ca_applications, 0, "Your CA's applications in one state",
     MK_AUTH_CA_OPERATOR},
    {"GET", "/v1/ca/applications/{id}", get_ca_application, 0,
     "One application of your CA, with attachments and history", MK_AUTH_CA_OPERATOR},
    {"GET", "/v1/ca/applications/{id}/attachments/{att}", get_ca_attachment, 0,
     "An attachment image of one application of your CA", MK_AUTH_CA_OPERATOR},
    {"POST", "/v1/ca/applications/{id}/approval", post_ca_approval, DECISION_BODY_MAX,
     "Approve an application awaiting your CA", MK_AUTH_CA_OPERATOR},
    {"POST", "/v1/ca/applications/{id}/rejection", post_ca_rejection, DECISION_BODY_MAX,
     "Reject an application awaiting your CA, with a reason", MK_AUTH_CA_OPERATOR},
    {"GET", "/v1/messages", get_messages, 0, "Your messages; long-poll with after and wait",
     MK_AUTH_ACCOUNT},
    {"POST", "/v1/messages/read-all", post_read_all, 1024, "Mark your messages read",
     MK_AUTH_ACCOUNT},
    {"GET", "/v1/messages/{id}", get_message, 0, "One of your messages; marks it read",
     MK_AUTH_ACCOUNT},
    {NULL, NULL, NULL, 0, NULL, 0},
};
