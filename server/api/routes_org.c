/*
 * Handlers of the organisation area: personal applications, enterprise
 * claims and joins, members, invitations and authorisations. Each reads
 * the request, calls one svc function and maps the result; the rules
 * (verified, admin of this enterprise) are the service's.
 * docs/enterprises.md describes the routes.
 */
#include <string.h>

#include "api/api.h"
#include "util/guard.h"

#define ORG_BODY_MAX (16 * 1024) /* a form names ids and a few fields */

typedef int (*body_fn)(mk_svc_ctx *, const json_t *, json_t **, char *, mk_err *);
typedef int (*body_id_fn)(mk_svc_ctx *, const char *, const json_t *, json_t **, char *, mk_err *);

/* POST with a JSON body and no path parameter; 201 with what was made. */
static int post_body(mk_req *req, mk_resp *resp, mk_err *e, body_fn fn) {
  int rc = 0;
  json_t *body = NULL;
  MK_TRY(mk_api_body_object(req, &body, e));
  MK_TRY(fn(&req->svc, body, &resp->json, req->problem_field, e));
  resp->status = 201;
out:
  json_decref(body);
  return rc;
}

/* POST with a JSON body about the object named by the first parameter. */
static int post_body_id(mk_req *req, mk_resp *resp, mk_err *e, body_id_fn fn) {
  int rc = 0;
  json_t *body = NULL;
  MK_TRY(mk_api_body_object(req, &body, e));
  MK_TRY(fn(&req->svc, req->params[0], body, &resp->json, req->problem_field, e));
  resp->status = 201;
out:
  json_decref(body);
  return rc;
}

static int post_personal(mk_req *req, mk_resp *resp, mk_err *e) {
  return post_body(req, resp, e, mk_svc_personal_apply);
}

static int post_claim(mk_req *req, mk_resp *resp, mk_err *e) {
  return post_body(req, resp, e, mk_svc_enterprise_claim);
}

/* GET /v1/enterprises?name=&uscc= */
static int get_enterprises(mk_req *req, mk_resp *resp, mk_err *e) {
  return mk_svc_enterprise_query(&req->svc, mk_api_query(req, "name"), mk_api_query(req, "uscc"),
                                 &resp->json, req->problem_field, e);
}

static int get_my_enterprises(mk_req *req, mk_resp *resp, mk_err *e) {
  return mk_svc_enterprise_mine(&req->svc, &resp->json, e);
}

static int get_enterprise(mk_req *req, mk_resp *resp, mk_err *e) {
  return mk_svc_enterprise_get(&req->svc, req->params[0], &resp->json, e);
}

static int post_join(mk_req *req, mk_resp *resp, mk_err *e) {
  return post_body_id(req, resp, e, mk_svc_enterprise_join);
}

static int post_change(mk_req *req, mk_resp *resp, mk_err *e) {
  return post_body_id(req, resp, e, mk_svc_enterprise_change);
}

static int get_members(mk_req *req, mk_resp *resp, mk_err *e) {
  return mk_svc_member_list(&req->svc, req->params[0], &resp->json, e);
}

static int delete_member(mk_req *req, mk_resp *resp, mk_err *e) {
  (void)resp; /* 204 */
  return mk_svc_member_remove(&req->svc, req->params[0], req->params[1], e);
}

static int post_transfer(mk_req *req, mk_resp *resp, mk_err *e) {
  return post_body_id(req, resp, e, mk_svc_member_transfer_admin);
}

static int post_invitation(mk_req *req, mk_resp *resp, mk_err *e) {
  return post_body_id(req, resp, e, mk_svc_invitation_create);
}

static int get_invitations(mk_req *req, mk_resp *resp, mk_err *e) {
  return mk_svc_invitation_list_mine(&req->svc, &resp->json, e);
}

static int post_acceptance(mk_req *req, mk_resp *resp, mk_err *e) {
  return post_body_id(req, resp, e, mk_svc_invitation_accept);
}

static int get_authorizations(mk_req *req, mk_resp *resp, mk_err *e) {
  return mk_svc_authz_list(&req->svc, req->params[0], mk_api_query(req, "by"), &resp->json,
                           req->problem_field, e);
}

static int post_authorization(mk_req *req, mk_resp *resp, mk_err *e) {
  return post_body_id(req, resp, e, mk_svc_authz_grant);
}

static int delete_authorization(mk_req *req, mk_resp *resp, mk_err *e) {
  (void)resp; /* 204 */
  return mk_svc_authz_revoke(&req->svc, req->params[0], req->params[1], e);
}

const struct mk_route mk_routes_org[] = {
    {"POST", "/v1/applications/personal", post_personal, ORG_BODY_MAX,
     "Apply for a personal certificate (自然人)", MK_AUTH_ACCOUNT},
    {"POST", "/v1/enterprises/claims", post_claim, ORG_BODY_MAX,
     "Claim an enterprise and apply for its certificate (认领企业)", MK_AUTH_ACCOUNT},
    {"GET", "/v1/enterprises", get_enterprises, 0,
     "Find a claimed enterprise by name and credit code", MK_AUTH_ACCOUNT},
    {"GET", "/v1/me/enterprises", get_my_enterprises, 0, "The caller's enterprises and roles",
     MK_AUTH_ACCOUNT},
    {"GET", "/v1/enterprises/{id}", get_enterprise, 0, "An enterprise, as its members see it",
     MK_AUTH_ACCOUNT},
    {"POST", "/v1/enterprises/{id}/join-requests", post_join, ORG_BODY_MAX,
     "Ask to join an enterprise (加入企业)", MK_AUTH_ACCOUNT},
    {"POST", "/v1/enterprises/{id}/changes", post_change, ORG_BODY_MAX,
     "Change the enterprise's information (admin)", MK_AUTH_ACCOUNT},
    {"GET", "/v1/enterprises/{id}/members", get_members, 0, "The enterprise's members",
     MK_AUTH_ACCOUNT},
    {"DELETE", "/v1/enterprises/{id}/members/{member_id}", delete_member, 0,
     "Remove a member (admin)", MK_AUTH_ACCOUNT},
    {"POST", "/v1/enterprises/{id}/admin-transfers", post_transfer, ORG_BODY_MAX,
     "Transfer the admin role (admin)", MK_AUTH_ACCOUNT},
    {"POST", "/v1/enterprises/{id}/invitations", post_invitation, ORG_BODY_MAX,
     "Invite a person by name and mobile number (admin)", MK_AUTH_ACCOUNT},
    {"GET", "/v1/invitations", get_invitations, 0, "Invitations to the caller's mobile number",
     MK_AUTH_ACCOUNT},
    {"POST", "/v1/invitations/{id}/acceptance", post_acceptance, ORG_BODY_MAX,
     "Accept an invitation", MK_AUTH_ACCOUNT},
    {"GET", "/v1/enterprises/{id}/authorizations", get_authorizations, 0,
     "Authorisations with history, by platform or person (admin)", MK_AUTH_ACCOUNT},
    {"POST", "/v1/enterprises/{id}/authorizations", post_authorization, ORG_BODY_MAX,
     "Authorise a staff member on a platform (admin)", MK_AUTH_ACCOUNT},
    {"DELETE", "/v1/enterprises/{id}/authorizations/{auth_id}", delete_authorization, 0,
     "Revoke an authorisation (admin)", MK_AUTH_ACCOUNT},
    {NULL, NULL, NULL, 0, NULL, 0},
};
