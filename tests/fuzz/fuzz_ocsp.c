/*
 * The OCSP responder on arbitrary bytes, as mkeyd's routes would hand them
 * over: the POST body (mk_pki_ocsp_respond), the GET path segment
 * (mk_pki_ocsp_request_parse, then the responder), and a response as a
 * relying party receives it (mk_pki_ocsp_verify).
 *
 * The CA and the lookup are fixed (ocsp_fuzz_ca.h) so that the seeds in
 * tests/fuzz/corpus/ocsp/ reach the status lookup: `openssl ocsp -reqout`
 * requests for certificates of that CA (good, revoked, unknown, not found,
 * store failure, one CertID of another CA), copies edited by hand (nonce of
 * 0, 1, 32, 33 octets or raw bytes, explicit version, trailing byte,
 * truncation, long-form length), GET path segments, and responses (ours,
 * direct and delegated; one from `openssl ocsp -index` with the empty SM2
 * ID). unit_pki_ocsp checks each seed's answer. Invariants:
 * every input gets an answer whose status is the one returned; a successful
 * answer verifies; a refusal says why; a store failure is tryLater; nothing
 * else is internalError.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "ocsp_fuzz_ca.h"

static mk_pki_ca ca;
static mk_pki_ocsp_signer delegated;

static void setup(void) {
  mk_err e;
  BIO *b = BIO_new_mem_buf(ocsp_fuzz_key_pem, -1);
  ca.key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
  BIO_free(b);
  b = BIO_new_mem_buf(ocsp_fuzz_cert_pem, -1);
  ca.cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
  BIO_free(b);
  if (ca.key == NULL || ca.cert == NULL)
    abort();
  ca.type = MK_PKI_SM2;
  memcpy(ca.id, "ca_fuzz", sizeof "ca_fuzz");
  delegated.key = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
  if (delegated.key == NULL ||
      mk_pki_ocsp_responder_cert(&ca, delegated.key, OCSP_FUZZ_NOW - 60, 30, &delegated.cert, &e) != 0)
    abort();
}

static int lookup(void *ctx, const unsigned char *serial, size_t n, mk_pki_cert_status *st) {
  if (n == 0 || n > MK_PKI_SERIAL_MAX || serial[0] == 0 || st->state != MK_PKI_CERT_UNKNOWN)
    abort();
  return ocsp_fuzz_status(ctx, serial, n, st);
}

static void respond(const uint8_t *data, size_t size, const mk_pki_ocsp_signer *signer) {
  unsigned char *resp = NULL;
  size_t rlen = 0;
  mk_err e;
  mk_err_clear(&e);
  int rc = mk_pki_ocsp_respond(&ca, signer, data, size, lookup, NULL, OCSP_FUZZ_NOW, &resp, &rlen, &e);
  if (rc < 0 || resp == NULL || rlen == 0)
    abort();
  const unsigned char *p = resp;
  OCSP_RESPONSE *r = d2i_OCSP_RESPONSE(NULL, &p, (long)rlen);
  if (r == NULL || p != resp + rlen || OCSP_response_status(r) != rc)
    abort();
  OCSP_RESPONSE_free(r);
  switch (rc) {
  case MK_PKI_OCSP_SUCCESSFUL:
    if (mk_pki_ocsp_verify(resp, rlen, ca.cert, &e) != 0)
      abort();
    break;
  case MK_PKI_OCSP_MALFORMED_REQUEST:
    if (e.code != MK_EINVAL || e.msg[0] == '\0')
      abort();
    break;
  case MK_PKI_OCSP_TRY_LATER:
    if (e.code != MK_ESTORE)
      abort();
    break;
  default:
    abort();
  }
  free(resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready;
  if (!ready) {
    setup();
    ready = 1;
  }
  if (size > 4 * MK_PKI_OCSP_REQUEST_MAX)
    return 0;
  mk_err e;

  /* POST body, answered by the CA and, for odd sizes, by the delegate */
  respond(data, size, NULL);
  if (size & 1)
    respond(data, size, &delegated);

  /* GET path segment */
  unsigned char *der = NULL;
  size_t len = 0;
  int rc = mk_pki_ocsp_request_parse((const char *)data, size, &der, &len, &e);
  if (rc == 0) {
    if (der == NULL || len == 0 || len > MK_PKI_OCSP_REQUEST_MAX)
      abort();
    respond(der, len, NULL);
    free(der);
  } else if ((rc != MK_EINVAL && rc != MK_ETOOBIG) || der != NULL || e.msg[0] == '\0') {
    abort();
  }

  /* a response as a relying party receives it */
  rc = mk_pki_ocsp_verify(data, size, ca.cert, &e);
  if (rc != 0 && rc != MK_EINVAL && rc != MK_EAUTH && rc != MK_ECRYPTO)
    abort();
  ERR_clear_error();
  return 0;
}
