/*
 * CMP client (RFC 4210, profiled by RFC 9483) for external CAs: the `cmp`
 * CA adapter asks another CA to certify a key (p10cr or ir) and to revoke a
 * certificate (rr), with OpenSSL 3.0's OSSL_CMP_* client over HTTP.
 * Mechanism only: which CA, which secret and who may ask are mkeyd's.
 * docs/pki-cmp.md says what is sent, how answers are checked and how
 * failures map to codes.
 */
#ifndef MK_PKI_CMP_H
#define MK_PKI_CMP_H

#include <openssl/x509.h>

#include "mkey/mkey.h"

#define MK_PKI_CMP_URL_MAX 256           /* bytes of the server URL */
#define MK_PKI_CMP_REF_MAX 128           /* bytes of the reference (senderKID) */
#define MK_PKI_CMP_SECRET_MAX 256        /* bytes of the shared secret */
#define MK_PKI_CMP_CSR_MAX (16 * 1024)   /* DER bytes of a CSR we send */
#define MK_PKI_CMP_RESP_MAX (64 * 1024)  /* bytes of one HTTP response body */
#define MK_PKI_CMP_MSG_TIMEOUT 20        /* seconds per exchange when 0 is given */
#define MK_PKI_CMP_TOTAL_TIMEOUT 60      /* seconds per transaction when 0 is given */
#define MK_PKI_CMP_TIMEOUT_MAX 3600      /* seconds: larger values are refused */

/* How to reach and authenticate one CMP server. Nothing is copied or owned:
 * every pointer is the caller's and must outlive the call.
 *
 * Our requests are protected either by a shared secret (PBM, RFC 4210
 * §5.1.3.1: secret + ref, the "reference number and initial secret" a CA
 * hands out) or by a signature (cert + key); exactly one of the two. The
 * server's answers must carry the same kind of protection: a MAC with the
 * same secret, or a signature by srv_cert (pinned) or by a certificate
 * that validates against trusted (one of the two is needed then). */
typedef struct mk_pki_cmp_config {
  const char *url;               /* "http://host[:port]/path", e.g. "http://127.0.0.1:8080/pkix/" */
  const char *ref;               /* may be NULL with cert; sent as senderKID */
  const unsigned char *secret;   /* may be NULL; 1..MK_PKI_CMP_SECRET_MAX bytes */
  size_t secret_len;
  X509 *cert;                    /* may be NULL: our CMP signing certificate */
  EVP_PKEY *key;                 /* its private key */
  STACK_OF(X509) *cert_chain;    /* may be NULL: issuers of cert, sent along */
  X509 *srv_cert;                /* may be NULL: the server's certificate, pinned */
  X509_STORE *trusted;           /* may be NULL: anchors for the server's signing cert */
  X509_STORE *issuer_trust;      /* may be NULL: new certificates must validate against it */
  unsigned msg_timeout;          /* seconds per request/response; 0: MK_PKI_CMP_MSG_TIMEOUT */
  unsigned total_timeout;        /* seconds per transaction; 0: MK_PKI_CMP_TOTAL_TIMEOUT */
} mk_pki_cmp_config;

/* Ask the server to certify the key of csr; on success *cert_out is the new
 * certificate, already confirmed to the server (certConf).
 *
 * ir_key NULL: p10cr, the CSR sent as is; its signature is the proof of
 * possession, so a CSR is all the caller needs (mkey's split keys never
 * exist in one piece). ir_key set: ir (CRMF) with the CSR's subject and
 * extensions and the public key of ir_key, which must be the CSR's key;
 * the proof of possession is a signature by ir_key.
 *
 * The certificate is refused (certConf with a failure, then MK_EPROTO)
 * when its public key is not the CSR's, or when issuer_trust is set and it
 * does not validate against it. chain_out (may be NULL) receives the
 * intermediate CAs between the new certificate and its root, neither of
 * them included (possibly none): with issuer_trust, those of the validated
 * path; without, what OpenSSL could build from the certificates the server
 * sent (extraCerts), unvalidated. The caller frees *cert_out (X509_free)
 * and *chain_out (sk_X509_pop_free); both are NULL on failure.
 *
 * Errors: MK_EINVAL bad configuration or CSR; MK_ETOOBIG CSR over
 * MK_PKI_CMP_CSR_MAX or an answer over MK_PKI_CMP_RESP_MAX; MK_ENET the
 * server cannot be reached or does not answer in time; MK_EAUTH its answer
 * fails the protection check, or it refuses ours (badMessageCheck,
 * wrongIntegrity, notAuthorized, signerNotTrusted); MK_EPROTO it rejects
 * the request (the PKIStatus text is in e) or answers something else than
 * CMP. */
int mk_pki_cmp_issue(const mk_pki_cmp_config *cfg, X509_REQ *csr, EVP_PKEY *ir_key,
                     X509 **cert_out, STACK_OF(X509) **chain_out, mk_err *e) MK_MUST_CHECK;

/* Ask the server to revoke cert (rr, identified by its issuer and serial)
 * with an RFC 5280 CRLReason code (0..10 but 7, or -1 to send none).
 * Success when the server answers accepted, or a revocation warning or
 * notification. Errors as for mk_pki_cmp_issue. */
int mk_pki_cmp_revoke(const mk_pki_cmp_config *cfg, X509 *cert, int reason,
                      mk_err *e) MK_MUST_CHECK;

#endif
