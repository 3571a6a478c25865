/*
 * Handlers of the CA registry: /v1/cas and per CA its chain, CRL, OCSP
 * responder (POST and the GET form of RFC 6960 appendix A), and the
 * operator's issuance and revocation. Each parses, calls one svc function
 * and maps the result; docs/api.md describes the routes.
 */
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "pki/ocsp.h"
#include "util/guard.h"
#include "util/log.h"

/* Escrowed encryption certificates; declared here and in routes.c. */
int mk_api_ca_issue_enc(mk_req *req, mk_resp *resp, mk_err *e) MK_MUST_CHECK;
int mk_api_ca_recover(mk_req *req, mk_resp *resp, mk_err *e) MK_MUST_CHECK;

/* GET /v1/cas?limit=&cursor= */
int mk_api_cas_list(mk_req *req, mk_resp *resp, mk_err *e) {
  int rc = 0;
  int64_t limit = 100;
  const char *l = mk_api_query(req, "limit");
  const char *cursor = mk_api_query(req, "cursor");
  if (l != NULL) {
    char *end = NULL;
    long v = strtol(l, &end, 10);
    if (end == l || *end != '\0' || v < 1 || v > 100) {
      req->problem_type = "/problems/bad-request";
      MK_FAIL(MK_EINVAL, e, "limit must be a whole number from 1 to 100");
    }
    limit = v;
  }
  if (cursor != NULL && strlen(cursor) > MK_PARAM_MAX) {
    req->problem_type = "/problems/bad-request";
    MK_FAIL(MK_EINVAL, e, "cursor is not one this server gave");
  }
  MK_TRY(mk_svc_ca_list(&req->svc, cursor, limit, &resp->json, e));
out:
  return rc;
}

/* GET /v1/cas/{id}/chain: issuing CA then root, PEM (RFC 8555 §9.1's type). */
int mk_api_ca_chain(mk_req *req, mk_resp *resp, mk_err *e) {
  char *pem = NULL;
  size_t len = 0;
  int rc = mk_svc_ca_chain(&req->svc, req->params[0], &pem, &len, e);
  if (rc < 0)
    return rc;
  resp->raw_owned = (unsigned char *)pem;
  resp->raw_len = len;
  resp->content_type = "application/pem-certificate-chain";
  return 0;
}

/* GET /v1/cas/{id}/crl: DER (RFC 5280 §4.2.1.13 points here). */
int mk_api_ca_crl(mk_req *req, mk_resp *resp, mk_err *e) {
  unsigned char *der = NULL;
  size_t len = 0;
  int rc = mk_svc_ca_crl(&req->svc, req->params[0], &der, &len, e);
  if (rc < 0)
    return rc;
  resp->raw_owned = der;
  resp->raw_len = len;
  resp->content_type = "application/pkix-crl";
  return 0;
}

/* An OCSPResponse as the answer; one that is not successful is logged with
 * its reason (it never carries it). */
static int ocsp_answer(mk_req *req, mk_resp *resp, int status, unsigned char *der, size_t len,
                       const mk_err *why) {
  if (status > 0)
    mk_log(MK_LOG_INFO, "ocsp.refused", "{s:s,s:i,s:s}", "ca", req->params[0], "status", status,
           "detail", why->msg);
  resp->raw_owned = der;
  resp->raw_len = len;
  resp->content_type = "application/ocsp-response";
  return 0;
}

/* POST /v1/cas/{id}/ocsp with an application/ocsp-request body (RFC 6960
 * appendix A.1). */
int mk_api_ca_ocsp_post(mk_req *req, mk_resp *resp, mk_err *e) {
  int rc = 0;
  unsigned char *der = NULL;
  size_t len = 0;
  const char *ct = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Content-Type");
  if (ct == NULL || strncasecmp(ct, "application/ocsp-request", 24) != 0 ||
      (ct[24] != '\0' && ct[24] != ';' && ct[24] != ' ')) {
    req->problem_type = "/problems/unsupported-media-type";
    MK_FAIL(MK_EINVAL, e, "send the OCSP request as application/ocsp-request");
  }
  mk_err why;
  mk_err_clear(&why);
  int status = mk_svc_ca_ocsp(&req->svc, req->params[0], req->body, req->body_len, &der, &len,
                              &why);
  if (status < 0) {
    *e = why;
    return status;
  }
  return ocsp_answer(req, resp, status, der, len, &why);
out:
  return rc;
}

/* GET /v1/cas/{id}/ocsp/{*request}: the URL-encoded base64 of the DER
 * request; one that does not decode is answered malformedRequest, as a
 * POST with a bad body is. */
int mk_api_ca_ocsp_get(mk_req *req, mk_resp *resp, mk_err *e) {
  unsigned char *der = NULL, *ans = NULL;
  size_t der_len = 0, len = 0;
  mk_err why;
  mk_err_clear(&why);
  const char *path = req->params[1];
  /* Text that does not decode goes on as an empty request, which the
   * responder answers malformedRequest (after the CA is looked up). */
  mk_err parse;
  mk_err_clear(&parse);
  int parsed = mk_pki_ocsp_request_parse(path, strlen(path), &der, &der_len, &parse);
  if (parsed < 0) {
    free(der);
    der = NULL;
    der_len = 0;
  }
  int status = mk_svc_ca_ocsp(&req->svc, req->params[0], der, der_len, &ans, &len, &why);
  free(der);
  if (status < 0) {
    *e = why;
    return status;
  }
  return ocsp_answer(req, resp, status, ans, len, parsed < 0 ? &parse : &why);
}

/* POST /v1/cas/{id}/certificates (operator). */
int mk_api_ca_issue(mk_req *req, mk_resp *resp, mk_err *e) {
  int rc = 0;
  json_t *body = NULL;
  MK_TRY(mk_api_body_object(req, &body, e));
  MK_TRY(mk_svc_ca_issue(&req->svc, req->params[0], body, &resp->json, req->problem_field, e));
  resp->status = 201;
out:
  json_decref(body);
  return rc;
}

/* POST /v1/cas/{id}/revocations (operator): {"serial","reason"}. */
int mk_api_ca_revoke(mk_req *req, mk_resp *resp, mk_err *e) {
  static const char *const allowed[] = {"serial", "reason", NULL};
  int rc = 0;
  json_t *body = NULL;
  const char *serial = NULL, *reason = NULL;
  MK_TRY(mk_api_body_object(req, &body, e));
  MK_TRY(mk_json_only_keys(body, allowed, req->problem_field, e));
  MK_TRY(mk_json_get_str(body, "serial", 1, 64, &serial, req->problem_field, e));
  MK_TRY(mk_json_get_str(body, "reason", 1, 64, &reason, req->problem_field, e));
  MK_TRY(mk_svc_ca_revoke(&req->svc, req->params[0], serial, reason, &resp->json,
                          req->problem_field, e));
out:
  json_decref(body);
  return rc;
}

/* POST /v1/cas/{id}/escrowed-certificates (operator). */
int mk_api_ca_issue_enc(mk_req *req, mk_resp *resp, mk_err *e) {
  int rc = 0;
  json_t *body = NULL;
  MK_TRY(mk_api_body_object(req, &body, e));
  MK_TRY(mk_svc_ca_issue_enc(&req->svc, req->params[0], body, &resp->json, req->problem_field, e));
  resp->status = 201;
out:
  json_decref(body);
  return rc;
}

/* POST /v1/cas/{id}/escrowed-certificates/{serial}/recovery (operator):
 * {"transport_key"}. */
int mk_api_ca_recover(mk_req *req, mk_resp *resp, mk_err *e) {
  int rc = 0;
  json_t *body = NULL;
  MK_TRY(mk_api_body_object(req, &body, e));
  MK_TRY(mk_svc_ca_recover(&req->svc, req->params[0], req->params[1], body, &resp->json,
                           req->problem_field, e));
out:
  json_decref(body);
  return rc;
}

const struct mk_route mk_routes_ca[] = {
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
