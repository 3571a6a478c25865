/*
 * The KMC's decoders on arbitrary bytes: an MKES escrow record
 * (mk_pki_kmc_escrow_info, then mk_pki_kmc_deliver) and an MKDL device
 * package (mk_pki_kmc_open_delivery with an SM2 and with an RSA transport
 * key). The KMC KEK and the transport keys are fixed (the KEK behind the
 * mk_kek interface, as in fuzz_wrapped.c) so that the seeds in
 * tests/fuzz/corpus/kmc/ (records and packages for key id "key_fuzz", made
 * with these keys, and copies cut or changed by hand) open. Invariants: a
 * refusal is MK_EINVAL, MK_ECRYPTO or MK_ETOOBIG with a message; a record
 * that delivers gives a package that opens to a share of the record's public
 * key; a package that opens gives a share that encodes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "crypto/kek.h"
#include "crypto/tp.h"
#include "pki/kmc.h"
#include "util/buf.h"

#define FUZZ_KEY_ID "key_fuzz"

static const char fuzz_sm2_transport_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqBHM9VAYItBG0wawIBAQQgv7Z9v8bRO422L4xi\n"
    "Oi3ysWaHiY1RbJbPFUGB8AIT3zKhRANCAARv/FL14OTf3NlqKQK+fEaFYNi4/4m2\n"
    "Z98xSNhGMJjL6bQg034zMWifunNgHWmQUbOkJWljAj7WE36o7eiTrTdj\n"
    "-----END PRIVATE KEY-----\n";

static const char fuzz_rsa_transport_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDUEa8qUqQFi2xz\n"
    "64yrJ0UpIoAx+DovoNDyZbtlLkPDBLLrNnYMPkEyhFMKffXgLZlXc/eUJUPNuS2S\n"
    "RWnLUpjsBMqpzwiZiih/v46L0cQx7G5KQ759PePHdf36K57q0aSavlSoHJE9Wbij\n"
    "NJORbgc1ydc0B9qzDh6cuDDi5xxyu/gIPDVO/yF+uqCdR/pAxaJxD1e1Yeg9r6o1\n"
    "CYOhWAiW2ZIfb5X81fwShnjJhSFcez3/8UtEQfMicV5LWIjD3xubdHDmGMI8HGXM\n"
    "u6vWqamYPiTiiLtSW6vPc6C2M1QARVU7WVEq8qjP7JBttL+FwPYQy9nuI58akmnK\n"
    "5L28SJDPAgMBAAECggEABxD+UcrxGAS8rdXkYaAD3NlUsASA8fnweT+GXEDYbvxO\n"
    "Q6phRd/mHLkdLpZJCBWVbIFpxDeIMsF1TwwzRVw9dNX/GuxrtbRviAjfCw//Nz8M\n"
    "jimuLxcrrvZrP/4no/aT5VIeVMPZ234MsYmjDqKsxn8XcG6ACOnVOzuSgwtyE/5R\n"
    "AuqQvit7Xoh13OTzGcz+WZUEyBM42O+nTUZGmz5hxFJukdFFRQIuE2ob5yIYDLB9\n"
    "rSlkawQHzrKLa9PA0witY2J2NHkgvlutWnCaZouvEKj0+lj3QscquFqSTSrk97Z8\n"
    "dcD0sGEnpcFY7oVAH9zMq2ZwRogIsWaTMBEpjr/wPQKBgQD6CeuHyN9/yZzoQIf9\n"
    "GB9DDtL6Eb8WICwhvagTrgVOJAjOnpBJotJoruK9gWBJG/NerO0QQ3wfM467nlO3\n"
    "qRw9MFKJQLc1yKYZBX5+FQ1TaoLtVU35I9EZRysTqho54d9D/ALYpp8gMJeeSDpD\n"
    "AXkc70v2zhCEC63ZjuhWLomb4wKBgQDZIAVm/LqLc6rzLGRFEJlhsix9Tar9LKLd\n"
    "JCWhJiilWc2Nd4lBAp882AekvNptFWbIYGBe48HD35qzp2QUHisgHy2VAejgG2XD\n"
    "8291D43OjTsi6D2fMBThA7bkTcQgbb+VGvy7LEFOLMbOxENJNUgIL7zsVs29GGlh\n"
    "g4dUS6cjJQKBgQCyyhEe4OXfrDyEXlBfC7ae7qSxp6rpmUu1PLZIjDDC9UVO6Vbn\n"
    "MIQf0p3TQAWngVL+qcxByt+gN++h/M6ED2pf3oPGHP5kePs7/Q+7/DWxJgJEzrCY\n"
    "q6HC337P6twh838AT92BKXOzQsvHpIH0k8MUi4/YBPUOVoOTg3pi1ZgUXQKBgEoo\n"
    "la/HQi+/IfRMhTLRqJGluWxSysQOKtI9Nl0EG33eXkajPU3nB1xQrMundTMszB5E\n"
    "TKYcRGISTVRvJ893PmOKQpdSP6fLs8ZprvfciCK0Oi6CBAoK8haonh78MLCiy3yx\n"
    "6wBC7Us2H/EfN5wZhrDFHVHblAmx/MxBkEdKT5vBAoGAKRv+SPtYIXjXlmC7n5lA\n"
    "S3BaSKYshh/e7JcprO5Jj3Jf7HcL9PgNQVDL+JeDaCO3P/m2GMcx44HwCo81QCcj\n"
    "tvG5IvOAiITLUCDu2N0FWzzfZxYBRGqsy40EJvsnK2N0BwBnirZGCiJvnHqg7KqH\n"
    "LGK4csl+VzzSmD2xB/LLQK8=\n"
    "-----END PRIVATE KEY-----\n";

static unsigned char fuzz_key[MK_KEK_KEY_LEN];

static int fixed_wrap(mk_kek *k, const unsigned char *aad, size_t aadlen,
                      const unsigned char *in, size_t n, unsigned char *out, mk_err *e) {
  (void)k;
  return mk_kek_gcm_seal(fuzz_key, aad, aadlen, in, n, out, e);
}

static int fixed_unwrap(mk_kek *k, const unsigned char *aad, size_t aadlen,
                        const unsigned char *in, size_t n, unsigned char *out, mk_err *e) {
  (void)k;
  return mk_kek_gcm_open(fuzz_key, aad, aadlen, in, n, out, e);
}

static int fixed_derive(mk_kek *k, const char *label, unsigned char out[MK_KEK_DERIVED_LEN],
                        mk_err *e) {
  (void)k;
  return mk_kek_hkdf_sha256(NULL, 0, fuzz_key, sizeof fuzz_key, label, strlen(label), out,
                            MK_KEK_DERIVED_LEN, e);
}

static void fixed_free(mk_kek *k) {
  (void)k;
}

static mk_kek kek;
static EVP_PKEY *sm2_transport, *rsa_transport;

static EVP_PKEY *read_key(const char *pem) {
  BIO *b = BIO_new_mem_buf(pem, -1);
  EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
  BIO_free(b);
  if (k == NULL)
    abort();
  return k;
}

static void setup(void) {
  static int ready;
  if (ready)
    return;
  unsigned char h[32];
  memset(fuzz_key, 0x5a, sizeof fuzz_key); /* the key the seeds were made with */
  if (EVP_Digest(fuzz_key, sizeof fuzz_key, h, NULL, EVP_sha256(), NULL) != 1)
    abort();
  memcpy(kek.id, h, MK_KEK_ID_LEN);
  kek.name = "fuzz";
  kek.wrap = fixed_wrap;
  kek.unwrap = fixed_unwrap;
  kek.derive = fixed_derive;
  kek.free = fixed_free;
  sm2_transport = read_key(fuzz_sm2_transport_pem);
  rsa_transport = read_key(fuzz_rsa_transport_pem);
  ready = 1;
}

static void refused(int rc, const mk_err *e) {
  if (rc != MK_EINVAL && rc != MK_ECRYPTO && rc != MK_ETOOBIG)
    abort();
  if (e->code != rc || e->msg[0] == '\0')
    abort();
}

static void escrow(const uint8_t *data, size_t size) {
  mk_pki_keytype type;
  char id[MK_PKI_KMC_KEY_ID_MAX + 1];
  EVP_PKEY *pub = NULL, *dpub = NULL;
  unsigned char *pkg = NULL, *w = NULL;
  size_t pkg_len = 0, w_len = 0;
  mk_tp_device *d = NULL;
  char *pem = NULL;
  mk_err e;
  int rc = mk_pki_kmc_escrow_info(data, size, &type, id, &pub, &e);
  if (rc < 0) {
    refused(rc, &e);
    return;
  }
  if ((type != MK_PKI_SM2 && type != MK_PKI_RSA) || strlen(id) == 0 || pub == NULL)
    abort();
  rc = mk_pki_kmc_deliver(data, size, &kek, id, sm2_transport, &kek, &pkg, &pkg_len, &w, &w_len,
                          &e);
  if (rc < 0) {
    refused(rc, &e);
    if (pkg != NULL || w != NULL)
      abort();
  } else {
    if (mk_pki_kmc_open_delivery(pkg, pkg_len, id, sm2_transport, &d, &e) != 0 ||
        mk_tp_public_pem(d, &pem, &e) != 0)
      abort();
    BIO *b = BIO_new_mem_buf(pem, -1);
    dpub = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (dpub == NULL || EVP_PKEY_eq(dpub, pub) != 1)
      abort();
  }
  free(pem);
  mk_tp_device_free(d);
  free(pkg);
  mk_pki_kmc_destroy(w, w_len);
  EVP_PKEY_free(dpub);
  EVP_PKEY_free(pub);
}

static void package(const uint8_t *data, size_t size, EVP_PKEY *transport) {
  mk_tp_device *d = NULL;
  mk_buf enc;
  mk_err e;
  int rc = mk_pki_kmc_open_delivery(data, size, FUZZ_KEY_ID, transport, &d, &e);
  if (rc < 0) {
    refused(rc, &e);
    if (d != NULL)
      abort();
    return;
  }
  if (mk_tp_device_encode(d, &enc, &e) != 0)
    abort();
  mk_buf_free(&enc);
  mk_tp_device_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  setup();
  if (size > MK_PKI_KMC_ESCROW_MAX + MK_PKI_KMC_PACKAGE_MAX)
    return 0;
  escrow(data, size);
  package(data, size, sm2_transport);
  package(data, size, rsa_transport);
  return 0;
}
