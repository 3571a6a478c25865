/*
 * OCSP responder (RFC 6960) for one CA: parses a request strictly, asks a
 * lookup callback for the status of each serial, and answers with a
 * BasicOCSPResponse signed by the CA or by a delegated responder
 * certificate. Mechanism only: mkeyd's store answers the lookups and its
 * routes (POST /v1/cas/{id}/ocsp, GET /v1/cas/{id}/ocsp/{request}) carry
 * the bytes. docs/pki.md ("CRL and OCSP") explains the choices.
 */
#ifndef MK_PKI_OCSP_H
#define MK_PKI_OCSP_H

#include "pki/crl.h"
#include "pki/pki.h"

#define MK_PKI_OCSP_REQUEST_MAX 16384   /* bytes of DER a request may have */
#define MK_PKI_OCSP_CERTS_MAX 32        /* CertIDs answered in one request */
#define MK_PKI_OCSP_NONCE_MIN 1         /* RFC 8954 §2.1 */
#define MK_PKI_OCSP_NONCE_MAX 32
#define MK_PKI_OCSP_NEXT_UPDATE 3600    /* default seconds from thisUpdate to nextUpdate */
#define MK_PKI_OCSP_RESPONDER_DAYS_MAX 365

/* OCSPResponseStatus, RFC 6960 §4.2.1 (the values OpenSSL uses too). */
typedef enum mk_pki_ocsp_status {
  MK_PKI_OCSP_SUCCESSFUL = 0,
  MK_PKI_OCSP_MALFORMED_REQUEST = 1,
  MK_PKI_OCSP_INTERNAL_ERROR = 2,
  MK_PKI_OCSP_TRY_LATER = 3,
  MK_PKI_OCSP_SIG_REQUIRED = 5,
  MK_PKI_OCSP_UNAUTHORIZED = 6,
} mk_pki_ocsp_status;

/* CertStatus, RFC 6960 §4.2.1. */
typedef enum mk_pki_cert_state {
  MK_PKI_CERT_GOOD = 0,
  MK_PKI_CERT_REVOKED = 1,
  MK_PKI_CERT_UNKNOWN = 2,
} mk_pki_cert_state;

typedef struct mk_pki_cert_status {
  mk_pki_cert_state state;
  int64_t revoked_at;   /* revoked only: Unix seconds */
  mk_pki_reason reason; /* revoked only: unspecified leaves revocationReason out */
} mk_pki_cert_status;

/* Status of the certificate of this CA with that serial (big-endian
 * magnitude, 1..MK_PKI_SERIAL_MAX octets, no leading zero). Fill *st (it
 * arrives set to unknown) and return 0; MK_ENOTFOUND also means unknown.
 * Any other negative result makes the whole answer tryLater (MK_EINTERNAL
 * and MK_ENOMEM: internalError). */
typedef int (*mk_pki_ocsp_lookup)(void *ctx, const unsigned char *serial, size_t serial_len,
                                  mk_pki_cert_status *st);

/* Who signs the responses: the CA itself (cert == the CA certificate), or a
 * delegated responder whose certificate the CA issued with extended key
 * usage id-kp-OCSPSigning (mk_pki_ocsp_responder_cert makes one). The
 * caller owns cert and key. */
typedef struct mk_pki_ocsp_signer {
  X509 *cert;
  EVP_PKEY *key;
  int64_t next_update; /* seconds from thisUpdate to nextUpdate; 0: MK_PKI_OCSP_NEXT_UPDATE */
} mk_pki_ocsp_signer;

/* Answer the DER OCSP request req_der (req_len bytes) about certificates
 * issued by ca, signing with signer (NULL: the CA itself).
 *
 * A successful response has one SingleResponse per CertID, in request
 * order, with the request's CertID: status from lookup when the CertID's
 * issuerNameHash and issuerKeyHash (SHA-1, SHA-256, SHA-384, SHA-512 or SM3)
 * match ca, else unknown; thisUpdate = now, nextUpdate = now +
 * signer->next_update; the request's nonce echoed; responderID by key hash;
 * the signer certificate included when delegated; signed by
 * mk_pki_sign_ocsp. producedAt is the clock at signing (OpenSSL sets it).
 *
 * Returns the OCSPResponseStatus of the answer when one was made: 0
 * (successful), or MK_PKI_OCSP_MALFORMED_REQUEST (empty, over
 * MK_PKI_OCSP_REQUEST_MAX, not DER, trailing bytes, an explicit version,
 * more than MK_PKI_OCSP_CERTS_MAX CertIDs, a nonce outside 1..32 octets or
 * given twice, an unknown critical extension), MK_PKI_OCSP_INTERNAL_ERROR
 * (the signer cannot sign: wrong key, not issued by ca, no OCSPSigning,
 * outside its validity; a lookup result that cannot be encoded) or
 * MK_PKI_OCSP_TRY_LATER (the lookup failed), each an unsigned
 * OCSPResponse as RFC 6960 §2.3 says, with the reason in e for the log.
 * Either way *resp_der (caller frees with free()) holds *resp_len bytes to
 * send. A negative MK_E* code means no answer could be made (out of
 * memory); *resp_der is NULL then. */
int mk_pki_ocsp_respond(const mk_pki_ca *ca, const mk_pki_ocsp_signer *signer,
                        const unsigned char *req_der, size_t req_len, mk_pki_ocsp_lookup lookup,
                        void *ctx, int64_t now, unsigned char **resp_der, size_t *resp_len,
                        mk_err *e) MK_MUST_CHECK;

/* An unsigned OCSPResponse with the given non-successful status (e.g.
 * malformedRequest for a GET path that does not decode, unauthorized for a
 * CA this server does not serve). *der as above. */
int mk_pki_ocsp_error_response(mk_pki_ocsp_status status, unsigned char **der, size_t *len,
                               mk_err *e) MK_MUST_CHECK;

/* The GET form (RFC 6960 Appendix A.1): path is the {request} segment after
 * /ocsp/, the URL-encoding of the base64 of the DER request, plen bytes.
 * Percent escapes are decoded ("%2F", "%2B", "%3D"; a raw '/' is taken as
 * is), then strict padded base64 (RFC 4648 §4). On success *der (caller
 * frees with free()) holds *der_len bytes to give mk_pki_ocsp_respond;
 * MK_EINVAL for bad escapes or base64, MK_ETOOBIG past
 * MK_PKI_OCSP_REQUEST_MAX bytes. The DER itself is checked by the
 * responder. */
int mk_pki_ocsp_request_parse(const char *path, size_t plen, unsigned char **der, size_t *der_len,
                              mk_err *e) MK_MUST_CHECK;

/* A delegated OCSP responder certificate for key (SM2, or RSA >= 2048),
 * issued and signed (mk_pki_sign_cert) by ca: subject "<CA common name>
 * OCSP Responder" under the CA's other subject attributes, a serial from
 * mk_pki_serial_random, valid from now for days
 * (1..MK_PKI_OCSP_RESPONDER_DAYS_MAX, cut at the CA's notAfter);
 * basicConstraints CA:FALSE, keyUsage digitalSignature, extendedKeyUsage
 * id-kp-OCSPSigning, id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1: keep it
 * short-lived), subject and authority key identifiers (the CA needs a
 * subjectKeyIdentifier, as mk_pki_ca_create_hierarchy's have).
 * *out is the caller's (X509_free); NULL on failure. */
int mk_pki_ocsp_responder_cert(const mk_pki_ca *ca, EVP_PKEY *key, int64_t now, int days,
                               X509 **out, mk_err *e) MK_MUST_CHECK;

/* Check a DER OCSPResponse as a relying party would, for certificates
 * issued by issuer: status successful, a BasicOCSPResponse whose responderID
 * names issuer or a certificate in the response that issuer signed
 * (mk_pki_verify_cert) with id-kp-OCSPSigning, and a signature over
 * tbsResponseData by that signer: SM3 with signer ID 1234567812345678 for
 * SM2 (which OCSP_basic_verify cannot check in OpenSSL 3.0), the signature
 * algorithm's digest for RSA. 0 when all holds; MK_EINVAL for a response
 * that does not parse or is not successful, MK_EAUTH for an unauthorised
 * signer, MK_ECRYPTO for a bad signature. Times and CertIDs are the
 * caller's to check. */
int mk_pki_ocsp_verify(const unsigned char *der, size_t len, X509 *issuer, mk_err *e) MK_MUST_CHECK;

#endif
