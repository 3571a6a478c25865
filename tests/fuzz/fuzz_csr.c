/*
 * mk_pki_csr_parse over any input (csr.h). What holds for every input: the
 * result is 0, MK_EINVAL or MK_ETOOBIG (over MK_PKI_CSR_MAX, and only
 * then); a refusal carries its code and a message and hands back no CSR;
 * an accepted CSR has an SM2 or RSA key, and its DER encoding is accepted
 * again (the proof of possession does not depend on how the input was
 * wrapped).
 */
#include <openssl/x509.h>
#include <stdint.h>
#include <stdlib.h>

#include "pki/csr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mk_err e;
  mk_err_clear(&e);
  X509_REQ *req = NULL;
  int rc = mk_pki_csr_parse(data, size, &req, &e);
  if (rc != 0) {
    if (rc != MK_EINVAL && rc != MK_ETOOBIG)
      abort();
    if ((rc == MK_ETOOBIG) != (size > MK_PKI_CSR_MAX))
      abort();
    if (req != NULL || e.code != rc || e.msg[0] == '\0')
      abort();
    return 0;
  }
  if (req == NULL || size > MK_PKI_CSR_MAX)
    abort();
  mk_pki_keytype t;
  if (mk_pki_csr_key_type(req, &t, &e) != 0 || (t != MK_PKI_SM2 && t != MK_PKI_RSA))
    abort();

  unsigned char *der = NULL;
  int n = i2d_X509_REQ(req, &der);
  if (n <= 0)
    abort();
  X509_REQ *again = NULL;
  if (mk_pki_csr_parse(der, (size_t)n, &again, &e) != 0 || again == NULL)
    abort();
  if (EVP_PKEY_eq(X509_REQ_get0_pubkey(req), X509_REQ_get0_pubkey(again)) != 1)
    abort();
  X509_REQ_free(again);
  OPENSSL_free(der);
  X509_REQ_free(req);
  return 0;
}
