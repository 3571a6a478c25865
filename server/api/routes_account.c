/*
 * Accounts over HTTP: SMS codes, sessions (login by code or password,
 * logout), passwords, phone changes, WeChat login, and the operator's view
 * of the sandbox SMS outbox. Each handler reads its JSON body, calls one svc
 * function and maps the result; docs/accounts.md describes the flows.
 */
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "util/guard.h"
#include "util/json.h"

#define ACCOUNT_BODY_MAX (4 * 1024)
#define FIELD_MAX 256 /* bytes of one string field; the services bound them further */

/* Parse the body, refuse keys other than allowed. */
static int body_of(mk_req *req, const char *const *allowed, json_t **body, mk_err *e) {
  int rc = 0;
  MK_TRY(mk_api_body_object(req, body, e));
  MK_TRY(mk_json_only_keys(*body, allowed, req->problem_field, e));
out:
  return rc;
}

static int str_of(mk_req *req, const json_t *body, const char *key, int required,
                  const char **out, mk_err *e) {
  return mk_json_get_str(body, key, required, FIELD_MAX, out, req->problem_field, e);
}

/* POST /v1/sms-codes {phone, purpose}. change_phone is for a logged-in
 * account, so that route checks the session itself. */
static int post_sms_code(mk_req *req, mk_resp *resp, mk_err *e) {
  static const char *const allowed[] = {"phone", "purpose", NULL};
  int rc = 0;
  json_t *body = NULL;
  const char *phone = NULL, *purpose = NULL;
  MK_TRY(body_of(req, allowed, &body, e));
  MK_TRY(str_of(req, body, "phone", 1, &phone, e));
  MK_TRY(str_of(req, body, "purpose", 1, &purpose, e));
  if (strcmp(purpose, "change_phone") == 0) {
    const char *h = mk_api_header(req, "Authorization");
    const char *token = NULL;
    if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
      token = h + 7;
      while (*token == ' ')
        token++;
    }
    MK_TRY(mk_svc_session_check(&req->svc, MK_SESSION_ACCOUNT, token,
                                mk_api_header(req, "Mkey-Device"), 0, NULL, e));
  }
  MK_TRY(mk_svc_sms_code_request(&req->svc, phone, purpose, &resp->json, req->problem_field, e));
  resp->status = 202;
out:
  json_decref(body);
  return rc;
}

/* POST /v1/sessions {phone, code | password, device_id} */
static int post_session(mk_req *req, mk_resp *resp, mk_err *e) {
  static const char *const allowed[] = {"phone", "code", "password", "device_id", NULL};
  int rc = 0;
  json_t *body = NULL;
  const char *phone = NULL, *code = NULL, *password = NULL, *device = NULL;
  MK_TRY(body_of(req, allowed, &body, e));
  MK_TRY(str_of(req, body, "phone", 1, &phone, e));
  MK_TRY(str_of(req, body, "code", 0, &code, e));
  MK_TRY(str_of(req, body, "password", 0, &password, e));
  MK_TRY(str_of(req, body, "device_id", 1, &device, e));
  MK_TRY(mk_svc_account_login(&req->svc, phone, code, password, device, &resp->json,
                              req->problem_field, e));
  resp->status = 201;
out:
  json_decref(body);
  return rc;
}

/* DELETE /v1/sessions/current */
static int delete_session(mk_req *req, mk_resp *resp, mk_err *e) {
  (void)resp;
  return mk_svc_account_logout(&req->svc, e);
}

/* GET /v1/admin/sms-outbox?phone=N */
static int get_sms_outbox(mk_req *req, mk_resp *resp, mk_err *e) {
  const char *phone = mk_api_query(req, "phone");
  if (phone == NULL) {
    snprintf(req->problem_field, sizeof req->problem_field, "phone");
    return mk_err_set(e, MK_EINVAL, "give the number: ?phone=N");
  }
  return mk_svc_sms_outbox(&req->svc, phone, &resp->json, req->problem_field, e);
}

/* PUT /v1/me/password {old_password?, new_password} */
static int put_password(mk_req *req, mk_resp *resp, mk_err *e) {
  static const char *const allowed[] = {"old_password", "new_password", NULL};
  int rc = 0;
  json_t *body = NULL;
  const char *old = NULL, *fresh = NULL;
  MK_TRY(body_of(req, allowed, &body, e));
  MK_TRY(str_of(req, body, "old_password", 0, &old, e));
  MK_TRY(str_of(req, body, "new_password", 1, &fresh, e));
  MK_TRY(mk_svc_account_password_set(&req->svc, old, fresh, &resp->json, req->problem_field, e));
out:
  json_decref(body);
  return rc;
}

/* POST /v1/password-resets {phone, code, new_password} */
static int post_password_reset(mk_req *req, mk_resp *resp, mk_err *e) {
  static const char *const allowed[] = {"phone", "code", "new_password", NULL};
  int rc = 0;
  json_t *body = NULL;
  const char *phone = NULL, *code = NULL, *fresh = NULL;
  MK_TRY(body_of(req, allowed, &body, e));
  MK_TRY(str_of(req, body, "phone", 1, &phone, e));
  MK_TRY(str_of(req, body, "code", 1, &code, e));
  MK_TRY(str_of(req, body, "new_password", 1, &fresh, e));
  MK_TRY(mk_svc_account_password_reset(&req->svc, phone, code, fresh, &resp->json,
                                       req->problem_field, e));
out:
  json_decref(body);
  return rc;
}

/* POST /v1/me/phone {new_phone, code} */
static int post_phone(mk_req *req, mk_resp *resp, mk_err *e) {
  static const char *const allowed[] = {"new_phone", "code", NULL};
  int rc = 0;
  json_t *body = NULL;
  const char *phone = NULL, *code = NULL;
  MK_TRY(body_of(req, allowed, &body, e));
  MK_TRY(str_of(req, body, "new_phone", 1, &phone, e));
  MK_TRY(str_of(req, body, "code", 1, &code, e));
  MK_TRY(mk_svc_account_phone_change(&req->svc, phone, code, &resp->json, req->problem_field, e));
out:
  json_decref(body);
  return rc;
}

/* GET /v1/sandbox/wechat/consent?user=NAME&state=S (sandbox only) */
static int get_wechat_consent(mk_req *req, mk_resp *resp, mk_err *e) {
  const char *user = mk_api_query(req, "user");
  if (user == NULL && req->svc.cfg->sandbox) {
    snprintf(req->problem_field, sizeof req->problem_field, "user");
    return mk_err_set(e, MK_EINVAL, "give the simulated WeChat user: ?user=NAME");
  }
  return mk_svc_wechat_consent(&req->svc, user, mk_api_query(req, "state"), &resp->json,
                               req->problem_field, e);
}

/* POST /v1/wechat/sessions {code, device_id}: 201 with a session when the
 * WeChat user is bound, else 200 with a binding ticket. */
static int post_wechat_session(mk_req *req, mk_resp *resp, mk_err *e) {
  static const char *const allowed[] = {"code", "device_id", NULL};
  int rc = 0, bound = 0;
  json_t *body = NULL;
  const char *code = NULL, *device = NULL;
  MK_TRY(body_of(req, allowed, &body, e));
  MK_TRY(str_of(req, body, "code", 1, &code, e));
  MK_TRY(str_of(req, body, "device_id", 1, &device, e));
  MK_TRY(mk_svc_wechat_login(&req->svc, code, device, &resp->json, &bound, req->problem_field, e));
  resp->status = bound ? 201 : 200;
out:
  json_decref(body);
  return rc;
}

/* POST /v1/wechat/bindings {binding_ticket, phone, code, device_id} */
static int post_wechat_binding(mk_req *req, mk_resp *resp, mk_err *e) {
  static const char *const allowed[] = {"binding_ticket", "phone", "code", "device_id", NULL};
  int rc = 0;
  json_t *body = NULL;
  const char *ticket = NULL, *phone = NULL, *code = NULL, *device = NULL;
  MK_TRY(body_of(req, allowed, &body, e));
  MK_TRY(str_of(req, body, "binding_ticket", 1, &ticket, e));
  MK_TRY(str_of(req, body, "phone", 1, &phone, e));
  MK_TRY(str_of(req, body, "code", 1, &code, e));
  MK_TRY(str_of(req, body, "device_id", 1, &device, e));
  MK_TRY(mk_svc_wechat_bind(&req->svc, ticket, phone, code, device, &resp->json,
                            req->problem_field, e));
  resp->status = 201;
out:
  json_decref(body);
  return rc;
}

const struct mk_route mk_routes_account[] = {
    {"POST", "/v1/sms-codes", post_sms_code, ACCOUNT_BODY_MAX,
     "Send an SMS code (login, reset_password, change_phone)", MK_AUTH_PUBLIC},
    {"POST", "/v1/sessions", post_session, ACCOUNT_BODY_MAX,
     "Log in with phone and SMS code or password", MK_AUTH_PUBLIC},
    {"DELETE", "/v1/sessions/current", delete_session, 0, "Log out", MK_AUTH_ACCOUNT},
    {"PUT", "/v1/me/password", put_password, ACCOUNT_BODY_MAX,
     "Set or change the login password", MK_AUTH_ACCOUNT},
    {"POST", "/v1/password-resets", post_password_reset, ACCOUNT_BODY_MAX,
     "Set a new password with an SMS code", MK_AUTH_PUBLIC},
    {"POST", "/v1/me/phone", post_phone, ACCOUNT_BODY_MAX,
     "Change the account's phone number with a code sent to the new one", MK_AUTH_ACCOUNT},
    {"POST", "/v1/wechat/sessions", post_wechat_session, ACCOUNT_BODY_MAX,
     "Log in with a WeChat authorization code, or get a binding ticket", MK_AUTH_PUBLIC},
    {"POST", "/v1/wechat/bindings", post_wechat_binding, ACCOUNT_BODY_MAX,
     "Bind a WeChat user to a phone number with an SMS code and log in", MK_AUTH_PUBLIC},
    {"GET", "/v1/sandbox/wechat/consent", get_wechat_consent, 0,
     "Sandbox: the simulated WeChat consent page", MK_AUTH_PUBLIC},
    {"GET", "/v1/admin/sms-outbox", get_sms_outbox, 0,
     "The sandbox SMS outbox of one number (operator)", MK_AUTH_OPERATOR},
    {NULL, NULL, NULL, 0, NULL, 0},
};
