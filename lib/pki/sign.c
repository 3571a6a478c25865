#include "pki/pki.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include "util/guard.h"

void mk_pki_ca_clear(mk_pki_ca *ca) {
  if (ca == NULL)
    return;
  X509_free(ca->cert);
  EVP_PKEY_free(ca->key);
  sk_X509_pop_free(ca->chain, X509_free);
  ca->cert = NULL;
  ca->key = NULL;
  ca->chain = NULL;
}

int mk_pki_key_type(const EVP_PKEY *key, mk_pki_keytype *out, mk_err *e) {
  if (key == NULL)
    return mk_err_set(e, MK_EINVAL, "no key");
  if (EVP_PKEY_is_a(key, "SM2")) {
    *out = MK_PKI_SM2;
    return 0;
  }
  if (EVP_PKEY_is_a(key, "RSA")) {
    if (EVP_PKEY_get_bits(key) < 2048)
      return mk_err_set(e, MK_EINVAL, "RSA keys must have at least 2048 bits");
    *out = MK_PKI_RSA;
    return 0;
  }
  return mk_err_set(e, MK_EINVAL, "key type %s is neither SM2 nor RSA", EVP_PKEY_get0_type_name(key));
}

/* An EVP_MD_CTX ready to sign or verify with key: SM3 and the signer ID for
 * SM2 (the ID must be on the EVP_PKEY_CTX before the digest init), SHA-256
 * for RSA. *pctx_out is owned by the caller (EVP_MD_CTX does not free a ctx
 * set with EVP_MD_CTX_set_pkey_ctx). */
static int md_ctx(EVP_PKEY *key, int sign, EVP_MD_CTX **out, EVP_PKEY_CTX **pctx_out, mk_err *e) {
  int rc = 0;
  mk_pki_keytype t;
  EVP_MD_CTX *md = NULL;
  EVP_PKEY_CTX *pctx = NULL;
  MK_TRY(mk_pki_key_type(key, &t, e));
  MK_TRY_PTR_OSSL(md, EVP_MD_CTX_new(), e, "EVP_MD_CTX_new");
  if (t == MK_PKI_SM2) {
    MK_TRY_PTR_OSSL(pctx, EVP_PKEY_CTX_new(key, NULL), e, "EVP_PKEY_CTX_new");
    MK_TRY_OSSL(EVP_PKEY_CTX_set1_id(pctx, MK_PKI_SM2_ID, MK_PKI_SM2_ID_LEN) > 0 ? 1 : 0, e,
                "setting the SM2 signer ID");
    EVP_MD_CTX_set_pkey_ctx(md, pctx);
    MK_TRY_OSSL(sign ? EVP_DigestSignInit(md, NULL, EVP_sm3(), NULL, key)
                     : EVP_DigestVerifyInit(md, NULL, EVP_sm3(), NULL, key),
                e, "SM2 with SM3 init");
  } else {
    MK_TRY_OSSL(sign ? EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key)
                     : EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key),
                e, "RSA with SHA-256 init");
  }
  *out = md;
  *pctx_out = pctx;
  md = NULL;
  pctx = NULL;
out:
  EVP_MD_CTX_free(md);
  EVP_PKEY_CTX_free(pctx);
  return rc;
}

/* Run one OpenSSL *_sign_ctx call with a context md_ctx prepared for key. */
static int sign_with(EVP_PKEY *key, int (*op)(void *obj, EVP_MD_CTX *md), void *obj,
                     const char *what, mk_err *e) {
  EVP_MD_CTX *md = NULL;
  EVP_PKEY_CTX *pctx = NULL;
  int rc = md_ctx(key, 1, &md, &pctx, e);
  if (rc == 0 && op(obj, md) <= 0)
    rc = mk_err_ossl(e, MK_ECRYPTO, what);
  EVP_MD_CTX_free(md);
  EVP_PKEY_CTX_free(pctx);
  return rc;
}

static int op_cert(void *x, EVP_MD_CTX *md) { return X509_sign_ctx(x, md); }
static int op_crl(void *crl, EVP_MD_CTX *md) { return X509_CRL_sign_ctx(crl, md); }
static int op_req(void *req, EVP_MD_CTX *md) { return X509_REQ_sign_ctx(req, md); }

struct ocsp_args {
  OCSP_BASICRESP *bs;
  X509 *signer;
  STACK_OF(X509) *certs;
  unsigned long flags;
};
static int op_ocsp(void *a, EVP_MD_CTX *md) {
  struct ocsp_args *o = a;
  return OCSP_basic_sign_ctx(o->bs, o->signer, md, o->certs, o->flags);
}

int mk_pki_sign_cert(X509 *x, EVP_PKEY *key, mk_err *e) {
  return sign_with(key, op_cert, x, "signing the certificate", e);
}

int mk_pki_sign_crl(X509_CRL *crl, EVP_PKEY *key, mk_err *e) {
  return sign_with(key, op_crl, crl, "signing the CRL", e);
}

int mk_pki_sign_req(X509_REQ *req, EVP_PKEY *key, mk_err *e) {
  return sign_with(key, op_req, req, "signing the CSR", e);
}

int mk_pki_sign_ocsp(OCSP_BASICRESP *bs, X509 *signer, EVP_PKEY *key, STACK_OF(X509) *certs,
                     unsigned long flags, mk_err *e) {
  struct ocsp_args a = {bs, signer, certs, flags};
  return sign_with(key, op_ocsp, &a, "signing the OCSP response", e);
}

/* Verify sig over the DER of a to-be-signed structure. One path for
 * certificates, CRLs and CSRs, so SM2's signer ID is always set (OpenSSL
 * 3.0 has no way to give it for a CRL). */
static int verify_tbs(EVP_PKEY *key, unsigned char *tbs, int tbslen, const ASN1_BIT_STRING *sig,
                      const char *what, mk_err *e) {
  EVP_MD_CTX *md = NULL;
  EVP_PKEY_CTX *pctx = NULL;
  int rc = 0;
  if (tbslen <= 0 || sig == NULL) {
    rc = mk_err_ossl(e, MK_EINVAL, what);
    goto out;
  }
  rc = md_ctx(key, 0, &md, &pctx, e);
  if (rc < 0)
    goto out;
  if (EVP_DigestVerify(md, ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig), tbs,
                       (size_t)tbslen) != 1) {
    ERR_clear_error();
    rc = mk_err_set(e, MK_ECRYPTO, "%s does not verify", what);
  }
out:
  OPENSSL_free(tbs);
  EVP_MD_CTX_free(md);
  EVP_PKEY_CTX_free(pctx);
  return rc;
}

int mk_pki_verify_cert(X509 *x, EVP_PKEY *issuer_key, mk_err *e) {
  const ASN1_BIT_STRING *sig = NULL;
  unsigned char *tbs = NULL;
  X509_get0_signature(&sig, NULL, x);
  int n = i2d_re_X509_tbs(x, &tbs);
  return verify_tbs(issuer_key, tbs, n, sig, "the certificate's signature", e);
}

int mk_pki_verify_crl(X509_CRL *crl, EVP_PKEY *issuer_key, mk_err *e) {
  const ASN1_BIT_STRING *sig = NULL;
  unsigned char *tbs = NULL;
  X509_CRL_get0_signature(crl, &sig, NULL);
  int n = i2d_re_X509_CRL_tbs(crl, &tbs);
  return verify_tbs(issuer_key, tbs, n, sig, "the CRL's signature", e);
}

int mk_pki_verify_req(X509_REQ *req, mk_err *e) {
  const ASN1_BIT_STRING *sig = NULL;
  unsigned char *tbs = NULL;
  EVP_PKEY *key = X509_REQ_get0_pubkey(req);
  if (key == NULL)
    return mk_err_set(e, MK_EINVAL, "the CSR has no usable public key");
  X509_REQ_get0_signature(req, &sig, NULL);
  int n = i2d_re_X509_REQ_tbs(req, &tbs);
  return verify_tbs(key, tbs, n, sig, "the CSR's signature", e);
}
