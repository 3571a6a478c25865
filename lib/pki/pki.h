/*
 * Shared ground of the CA engine (lib/pki): key types, the CA handle, and
 * signing/verification of certificates, CRLs, CSRs and OCSP responses with
 * the right digest and, for SM2, the signer ID 1234567812345678 (GM/T 0015
 * practice; OpenSSL 3.0 would use an empty ID unless told, INTEROP.md).
 * Mechanisms only: which CA exists, who may ask, and storage are mkeyd's.
 */
#ifndef MK_PKI_PKI_H
#define MK_PKI_PKI_H

#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "mkey/mkey.h"

#define MK_PKI_SM2_ID "1234567812345678"
#define MK_PKI_SM2_ID_LEN 16
#define MK_PKI_URL_MAX 256
#define MK_PKI_CA_ID_MAX 64

typedef enum mk_pki_keytype {
  MK_PKI_SM2 = 1, /* SM2 keys, SM3 digests, signer ID above */
  MK_PKI_RSA = 2, /* RSA keys, SHA-256, PKCS#1 v1.5 */
} mk_pki_keytype;

/* A CA that signs: its certificate, its private key, the chain above it.
 * The caller owns every member (mk_pki_ca_clear releases them). The key is
 * the unwrapped CA key: keep it only while signing (mkeyd unwraps it with
 * the KEK per use, or holds it for the life of the process; docs/pki.md). */
typedef struct mk_pki_ca {
  char id[MK_PKI_CA_ID_MAX];      /* mkey's CA id, as in /v1/cas/{id}/... */
  mk_pki_keytype type;
  X509 *cert;
  EVP_PKEY *key;
  STACK_OF(X509) *chain;          /* issuers above cert up to the root; may be empty */
  char base_url[MK_PKI_URL_MAX];  /* mkeyd's public URL: CRL DP and OCSP URLs hang off it */
} mk_pki_ca;

void mk_pki_ca_clear(mk_pki_ca *ca);

/* Key type of a key, or MK_EINVAL for anything but SM2 and RSA >= 2048. */
int mk_pki_key_type(const EVP_PKEY *key, mk_pki_keytype *out, mk_err *e) MK_MUST_CHECK;

/* Sign x / crl / req / an OCSP basic response with key: SM3 + signer ID for
 * SM2, SHA-256 for RSA. */
int mk_pki_sign_cert(X509 *x, EVP_PKEY *key, mk_err *e) MK_MUST_CHECK;
int mk_pki_sign_crl(X509_CRL *crl, EVP_PKEY *key, mk_err *e) MK_MUST_CHECK;
int mk_pki_sign_req(X509_REQ *req, EVP_PKEY *key, mk_err *e) MK_MUST_CHECK;
int mk_pki_sign_ocsp(OCSP_BASICRESP *bs, X509 *signer, EVP_PKEY *key, STACK_OF(X509) *certs,
                     unsigned long flags, mk_err *e) MK_MUST_CHECK;

/* Verify with the signer ID for SM2. 0 when the signature holds, MK_ECRYPTO
 * "signature does not verify" when not (the OpenSSL queue is cleared). */
int mk_pki_verify_cert(X509 *x, EVP_PKEY *issuer_key, mk_err *e) MK_MUST_CHECK;
int mk_pki_verify_crl(X509_CRL *crl, EVP_PKEY *issuer_key, mk_err *e) MK_MUST_CHECK;
/* A CSR's proof of possession: its own signature under its own key. */
int mk_pki_verify_req(X509_REQ *req, mk_err *e) MK_MUST_CHECK;

#endif
