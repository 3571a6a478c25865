/*
 * The route table and the system handlers. Every route here must appear in
 * openapi.json (tests/unit/server/test_openapi.c checks it).
 */
#include <string.h>

#include "api/api.h"
#include "util/embed.h"
#include "util/guard.h"

/* Escrowed encryption certificates (routes_ca.c). */
int mk_api_ca_issue_enc(mk_req *req, mk_resp *resp, mk_err *e) MK_MUST_CHECK;
int mk_api_ca_recover(mk_req *req, mk_resp *resp, mk_err *e) MK_MUST_CHECK;

extern const struct mk_embedded mk_openapi_files[];

static int get_health(mk_req *req, mk_resp *resp, mk_err *e) {
  return mk_svc_system_health(&req->svc, &resp->json, e);
}

static int get_version(mk_req *req, mk_resp *resp, mk_err *e) {
  return mk_svc_system_version(&req->svc, &resp->json, e);
}

static int get_openapi(mk_req *req, mk_resp *resp, mk_err *e) {
  (void)req;
  (void)e;
  resp->raw = mk_openapi_files[0].data;
  resp->raw_len = mk_openapi_files[0].len;
  resp->content_type = "application/json";
  return 0;
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

const struct mk_route mk_routes[] = {
    {"GET", "/v1/health", get_health, 0, "Server and store health", MK_AUTH_PUBLIC},
    {"GET", "/v1/version", get_version, 0, "Server version, store back end and schema",
     MK_AUTH_PUBLIC},
    {"GET", "/v1/openapi.json", get_openapi, 0, "This API's OpenAPI 3.1 document",
     MK_AUTH_PUBLIC},
    {"POST", "/v1/validations", post_validations, 16 * 1024,
     "Check ID number, USCC, mobile, bank card and name", MK_AUTH_PUBLIC},
    {"GET", "/v1/admin/session", get_admin_session, 0, "The caller's operator session",
     MK_AUTH_OPERATOR},
    {"GET", "/v1/cas", mk_api_cas_list, 0, "The CAs users may choose, with their options",
     MK_AUTH_PUBLIC},
    {"GET", "/v1/cas/{id}/chain", mk_api_ca_chain, 0, "A CA's certificate chain (PEM)",
     MK_AUTH_PUBLIC},
    {"GET", "/v1/cas/{id}/crl", mk_api_ca_crl, 0, "A CA's current CRL (DER)", MK_AUTH_PUBLIC},
    /* An OCSP request with a nonce and a few CertIDs is far under 8 KiB. */
    {"POST", "/v1/cas/{id}/ocsp", mk_api_ca_ocsp_post, 8 * 1024, "OCSP (RFC 6960), POST form",
     MK_AUTH_PUBLIC},
    {"GET", "/v1/cas/{id}/ocsp/{*request}", mk_api_ca_ocsp_get, 0, "OCSP (RFC 6960), GET form",
     MK_AUTH_PUBLIC},
    /* A CSR is at most 16 KiB (MK_PKI_CSR_MAX), the rest a few fields. */
    {"POST", "/v1/cas/{id}/certificates", mk_api_ca_issue, 32 * 1024,
     "Issue a certificate (operator)", MK_AUTH_OPERATOR},
    {"POST", "/v1/cas/{id}/revocations", mk_api_ca_revoke, 4 * 1024,
     "Revoke a certificate (operator)", MK_AUTH_OPERATOR},
    /* A transport key is a PEM public key of at most 8 KiB. */
    {"POST", "/v1/cas/{id}/escrowed-certificates", mk_api_ca_issue_enc, 16 * 1024,
     "Issue an encryption certificate with an escrowed key (operator)", MK_AUTH_OPERATOR},
    {"POST", "/v1/cas/{id}/escrowed-certificates/{serial}/recovery", mk_api_ca_recover, 16 * 1024,
     "Deliver an escrowed key again (operator)", MK_AUTH_OPERATOR},
    {NULL, NULL, NULL, 0, NULL, 0},
};
