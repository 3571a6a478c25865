#include "pki/csr.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>

#include "util/guard.h"

#define PEM_BEGIN "-----BEGIN "

static int is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The DER inside one PEM block that starts the input; white space only
 * after it. *der is OPENSSL_malloc'd. */
static int pem_to_der(const unsigned char *in, size_t len, unsigned char **der, long *derlen, mk_err *e) {
  int rc = 0;
  BIO *b = NULL;
  char *name = NULL, *header = NULL;
  unsigned char rest[256];
  *der = NULL;
  MK_TRY_PTR_OSSL(b, BIO_new_mem_buf(in, (int)len), e, "BIO_new_mem_buf");
  if (PEM_read_bio(b, &name, &header, der, derlen) != 1) {
    ERR_clear_error();
    MK_FAIL(MK_EINVAL, e, "the CSR is not well-formed PEM");
  }
  MK_ENSURE(strcmp(name, "CERTIFICATE REQUEST") == 0 || strcmp(name, "NEW CERTIFICATE REQUEST") == 0,
            MK_EINVAL, e, "the PEM block is not a CERTIFICATE REQUEST");
  MK_ENSURE(header[0] == '\0', MK_EINVAL, e, "the CSR's PEM block has headers (an encrypted CSR?)");
  for (;;) {
    int n = BIO_read(b, rest, sizeof rest);
    if (n <= 0)
      break;
    for (int i = 0; i < n; i++)
      MK_ENSURE(is_space(rest[i]), MK_EINVAL, e, "the input holds more than one CSR or text after it");
  }
out:
  if (rc < 0 && *der != NULL) {
    OPENSSL_free(*der);
    *der = NULL;
  }
  OPENSSL_free(name);
  OPENSSL_free(header);
  BIO_free(b);
  return rc;
}

/* Why a CSR's signature failed: for SM2, tell the empty signer ID (which
 * OpenSSL 3.0 uses unless told otherwise) from any other fault. */
static int bad_signature(X509_REQ *req, mk_pki_keytype t, mk_err *e) {
  if (t != MK_PKI_SM2)
    return mk_err_set(e, MK_EINVAL, "CSR signature does not verify");
  /* X509_REQ_verify without a distinguishing ID verifies with the empty one. */
  int empty = X509_REQ_verify(req, X509_REQ_get0_pubkey(req)) == 1;
  ERR_clear_error();
  if (empty)
    return mk_err_set(e, MK_EINVAL,
                      "CSR is signed with the empty SM2 signer ID; SM2 CSRs must use the signer ID "
                      MK_PKI_SM2_ID " (openssl req -sigopt distid:" MK_PKI_SM2_ID ")");
  return mk_err_set(e, MK_EINVAL,
                    "CSR signature does not verify (SM2 CSRs must use the signer ID " MK_PKI_SM2_ID ")");
}

int mk_pki_csr_parse(const unsigned char *in, size_t len, X509_REQ **out, mk_err *e) {
  int rc = 0;
  unsigned char *pem_der = NULL;
  long derlen = 0;
  X509_REQ *req = NULL;
  mk_pki_keytype t;
  MK_ENSURE(out != NULL, MK_EINVAL, e, "no place for the CSR");
  *out = NULL;
  MK_ENSURE(in != NULL && len > 0, MK_EINVAL, e, "the CSR is empty");
  MK_ENSURE(len <= MK_PKI_CSR_MAX, MK_ETOOBIG, e, "the CSR is over %u bytes", MK_PKI_CSR_MAX);

  size_t i = 0;
  while (i < len && is_space(in[i]))
    i++;
  const unsigned char *der = in;
  if (len - i >= strlen(PEM_BEGIN) && memcmp(in + i, PEM_BEGIN, strlen(PEM_BEGIN)) == 0) {
    MK_TRY(pem_to_der(in + i, len - i, &pem_der, &derlen, e));
    der = pem_der;
  } else {
    derlen = (long)len;
  }
  const unsigned char *p = der;
  req = d2i_X509_REQ(NULL, &p, derlen);
  MK_ENSURE(req != NULL, MK_EINVAL, e, "the CSR is neither PEM nor a DER PKCS#10 request");
  MK_ENSURE(p == der + derlen, MK_EINVAL, e, "the CSR is followed by %ld more bytes",
            (long)(der + derlen - p));
  MK_ENSURE(X509_REQ_get_version(req) == X509_REQ_VERSION_1, MK_EINVAL, e,
            "the CSR's version is not 1 (RFC 2986 §4.1)");
  MK_ENSURE(X509_REQ_get0_pubkey(req) != NULL, MK_EINVAL, e, "the CSR has no usable public key");
  rc = mk_pki_csr_key_type(req, &t, e);
  if (rc < 0) {
    mk_err_wrap(e, "the CSR's key");
    goto out;
  }
  int want = t == MK_PKI_SM2 ? NID_SM2_with_SM3 : NID_sha256WithRSAEncryption;
  MK_ENSURE(X509_REQ_get_signature_nid(req) == want, MK_EINVAL, e, "%s CSRs must be signed with %s",
            t == MK_PKI_SM2 ? "SM2" : "RSA", t == MK_PKI_SM2 ? "SM2-with-SM3" : "sha256WithRSAEncryption");
  if (mk_pki_verify_req(req, e) < 0) {
    rc = bad_signature(req, t, e);
    goto out;
  }
  *out = req;
  req = NULL;
out:
  if (rc < 0)
    ERR_clear_error();
  X509_REQ_free(req);
  OPENSSL_free(pem_der);
  return rc;
}

int mk_pki_csr_key_type(const X509_REQ *req, mk_pki_keytype *out, mk_err *e) {
  if (req == NULL)
    return mk_err_set(e, MK_EINVAL, "no CSR");
  /* X509_REQ_get0_pubkey only reads, but OpenSSL 3.0 does not take a const. */
  return mk_pki_key_type(X509_REQ_get0_pubkey((X509_REQ *)req), out, e);
}
