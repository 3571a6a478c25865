/* pki/sign.c: SM2 signatures carry the signer ID 1234567812345678, RSA uses
 * SHA-256; our verification agrees with OpenSSL's own where OpenSSL can
 * take the ID, and refuses signatures made with the empty ID. */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "mk_test.h"
#include "pki/pki.h"

static X509 *self_signed(EVP_PKEY *key) {
  X509 *x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
  X509_NAME *n = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"测试 CA", -1, -1, 0);
  X509_set_issuer_name(x, n);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  return x;
}

static void sign_and_verify(EVP_PKEY *key, mk_pki_keytype want) {
  mk_err e;
  mk_pki_keytype t;
  assert_int_equal(mk_pki_key_type(key, &t, &e), 0);
  assert_int_equal(t, want);
  X509 *x = self_signed(key);
  assert_int_equal(mk_pki_sign_cert(x, key, &e), 0);
  assert_int_equal(mk_pki_verify_cert(x, key, &e), 0);
  if (want == MK_PKI_SM2) {
    /* OpenSSL's own check agrees once it is given the same ID ... */
    ASN1_OCTET_STRING *id = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(id, (const unsigned char *)MK_PKI_SM2_ID, MK_PKI_SM2_ID_LEN);
    X509_set0_distinguishing_id(x, id);
    assert_int_equal(X509_verify(x, key), 1);
    /* ... and a certificate signed with the empty ID fails ours. */
    X509 *y = self_signed(key);
    assert_true(X509_sign(y, key, EVP_sm3()) > 0);
    assert_int_equal(mk_pki_verify_cert(y, key, &e), MK_ECRYPTO);
    X509_free(y);
  } else {
    assert_int_equal(X509_verify(x, key), 1);
    assert_int_equal(X509_get_signature_nid(x), NID_sha256WithRSAEncryption);
  }
  /* a changed certificate no longer verifies */
  X509_gmtime_adj(X509_getm_notAfter(x), 7200);
  assert_int_equal(mk_pki_verify_cert(x, key, &e), MK_ECRYPTO);
  X509_free(x);

  X509_REQ *req = X509_REQ_new();
  X509_REQ_set_pubkey(req, key);
  X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
                             (const unsigned char *)"csr", -1, -1, 0);
  assert_int_equal(mk_pki_sign_req(req, key, &e), 0);
  assert_int_equal(mk_pki_verify_req(req, &e), 0);
  X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "O", MBSTRING_UTF8,
                             (const unsigned char *)"changed", -1, -1, 0);
  assert_int_equal(mk_pki_verify_req(req, &e), MK_ECRYPTO);
  X509_REQ_free(req);

  X509 *issuer = self_signed(key);
  X509_CRL *crl = X509_CRL_new();
  X509_CRL_set_version(crl, 1);
  X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
  ASN1_TIME *now = ASN1_TIME_set(NULL, 1798761600);
  X509_CRL_set1_lastUpdate(crl, now);
  assert_int_equal(mk_pki_sign_crl(crl, key, &e), 0);
  assert_int_equal(mk_pki_verify_crl(crl, key, &e), 0);
  if (want == MK_PKI_RSA)
    assert_int_equal(X509_CRL_verify(crl, key), 1);
  ASN1_TIME_set(now, 1798761601);
  X509_CRL_set1_lastUpdate(crl, now);
  assert_int_equal(mk_pki_verify_crl(crl, key, &e), MK_ECRYPTO);
  ASN1_TIME_free(now);
  X509_CRL_free(crl);
  X509_free(issuer);
}

static void test_sm2(void **state) {
  (void)state;
  EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
  assert_non_null(k);
  sign_and_verify(k, MK_PKI_SM2);
  EVP_PKEY_free(k);
}

static void test_rsa(void **state) {
  (void)state;
  EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  assert_non_null(k);
  sign_and_verify(k, MK_PKI_RSA);
  EVP_PKEY_free(k);
}

static void test_key_types(void **state) {
  (void)state;
  mk_err e;
  mk_pki_keytype t;
  EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  assert_int_equal(mk_pki_key_type(p256, &t, &e), MK_EINVAL);
  EVP_PKEY_free(p256);
  EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
  assert_int_equal(mk_pki_key_type(small, &t, &e), MK_EINVAL);
  EVP_PKEY_free(small);
  assert_int_equal(mk_pki_key_type(NULL, &t, &e), MK_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sm2),
      cmocka_unit_test(test_rsa),
      cmocka_unit_test(test_key_types),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
