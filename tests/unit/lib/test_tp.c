/* The algorithm-independent two-party layer: loopback keygen, sign and
 * decrypt for every algorithm, judged by OpenSSL's ordinary single-key
 * verification and encryption; share encodings; mismatched shares. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "mk_test.h"
#include "crypto/tp.h"

#define NOW 1798761600 /* 2027-01-01T00:00:00Z */

static EVP_PKEY *pub_of(const mk_tp_device *d) {
  char *pem = NULL;
  mk_err e;
  assert_int_equal(mk_tp_public_pem(d, &pem, &e), 0);
  assert_non_null(strstr(pem, "-----BEGIN PUBLIC KEY-----"));
  BIO *bio = BIO_new_mem_buf(pem, -1);
  EVP_PKEY *pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
  BIO_free(bio);
  free(pem);
  assert_non_null(pk);
  return pk;
}

static int verify(EVP_PKEY *pk, mk_tp_alg alg, const void *msg, size_t len,
                  const unsigned char *sig, size_t siglen) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  EVP_PKEY_CTX *pctx = NULL;
  int ok;
  if (alg == MK_TP_SM2) {
    pctx = EVP_PKEY_CTX_new(pk, NULL);
    EVP_PKEY_CTX_set1_id(pctx, "1234567812345678", 16);
    EVP_MD_CTX_set_pkey_ctx(md, pctx);
    ok = EVP_DigestVerifyInit(md, NULL, EVP_sm3(), NULL, pk) == 1 &&
         EVP_DigestVerify(md, sig, siglen, msg, len) == 1;
  } else {
    ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
         EVP_DigestVerify(md, sig, siglen, msg, len) == 1;
  }
  EVP_MD_CTX_free(md);
  EVP_PKEY_CTX_free(pctx);
  return ok;
}

static void encrypt(EVP_PKEY *pk, mk_tp_alg alg, const void *pt, size_t len, unsigned char **ct,
                    size_t *ctlen) {
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pk, NULL);
  assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
  if (alg != MK_TP_SM2) {
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()), 1);
  }
  assert_int_equal(EVP_PKEY_encrypt(c, NULL, ctlen, pt, len), 1);
  *ct = malloc(*ctlen);
  assert_int_equal(EVP_PKEY_encrypt(c, *ct, ctlen, pt, len), 1);
  EVP_PKEY_CTX_free(c);
}

static void round_trip(mk_tp_alg alg) {
  mk_err e;
  mk_tp_device *d = NULL;
  mk_tp_server *s = NULL;
  assert_int_equal(mk_tp_loop_keygen(alg, &d, &s, &e), 0);
  assert_int_equal(mk_tp_device_alg(d), alg);
  assert_true(mk_tp_same_key(d, s));
  EVP_PKEY *pk = pub_of(d);

  const char msg[] = "招标文件 bid file v1";
  unsigned char sig[MK_TP_SIG_MAX];
  size_t siglen = 0;
  assert_int_equal(mk_tp_loop_sign(d, s, msg, sizeof msg - 1, NOW, sig, &siglen, &e), 0);
  assert_true(verify(pk, alg, msg, sizeof msg - 1, sig, siglen));
  assert_false(verify(pk, alg, msg, sizeof msg - 2, sig, siglen));

  const char secret[] = "file key 0123456789abcdef";
  unsigned char *ct = NULL;
  size_t ctlen = 0;
  encrypt(pk, alg, secret, sizeof secret - 1, &ct, &ctlen);
  mk_buf pt;
  assert_int_equal(mk_tp_loop_decrypt(d, s, ct, ctlen, NOW, &pt, &e), 0);
  assert_int_equal(pt.len, sizeof secret - 1);
  assert_memory_equal(pt.data, secret, pt.len);
  mk_buf_free(&pt);
  ct[ctlen - 1] ^= 1; /* SM2: inside C2, so the C3 check fails; RSA: any byte */
  assert_int_equal(mk_tp_loop_decrypt(d, s, ct, ctlen, NOW, &pt, &e), MK_ECRYPTO);
  free(ct);

  /* shares survive their encodings */
  mk_buf db, sb;
  assert_int_equal(mk_tp_device_encode(d, &db, &e), 0);
  assert_int_equal(mk_tp_server_encode(s, &sb, &e), 0);
  mk_tp_device *d2 = NULL;
  mk_tp_server *s2 = NULL;
  assert_int_equal(mk_tp_device_decode(db.data, db.len, &d2, &e), 0);
  assert_int_equal(mk_tp_server_decode(sb.data, sb.len, &s2, &e), 0);
  assert_int_equal(mk_tp_loop_sign(d2, s2, "x", 1, NOW, sig, &siglen, &e), 0);
  assert_true(verify(pk, alg, "x", 1, sig, siglen));
  /* a device share is not a server share, and the tag must match */
  mk_tp_server *bad = NULL;
  assert_int_equal(mk_tp_server_decode(db.data, db.len, &bad, &e), MK_EINVAL);
  db.data[0] = (unsigned char)(alg == MK_TP_SM2 ? MK_TP_RSA2048 : MK_TP_SM2);
  mk_tp_device *badd = NULL;
  assert_int_equal(mk_tp_device_decode(db.data, db.len, &badd, &e), MK_EINVAL);
  db.data[0] = 9;
  assert_int_equal(mk_tp_device_decode(db.data, db.len, &badd, &e), MK_EINVAL);
  assert_int_equal(mk_tp_device_decode(db.data, 1, &badd, &e), MK_EINVAL);
  mk_buf_free(&db);
  mk_buf_free(&sb);
  mk_tp_device_free(d2);
  mk_tp_server_free(s2);

  /* shares of two different keys are refused before any protocol runs */
  mk_tp_device *od = NULL;
  mk_tp_server *os = NULL;
  assert_int_equal(mk_tp_loop_keygen(alg, &od, &os, &e), 0);
  assert_false(mk_tp_same_key(od, s));
  assert_int_equal(mk_tp_loop_sign(od, s, "x", 1, NOW, sig, &siglen, &e), MK_EINVAL);
  mk_tp_device_free(od);
  mk_tp_server_free(os);

  EVP_PKEY_free(pk);
  mk_tp_device_free(d);
  mk_tp_server_free(s);
}

static void test_sm2(void **state) { (void)state; round_trip(MK_TP_SM2); }
static void test_rsa2048(void **state) { (void)state; round_trip(MK_TP_RSA2048); }
static void test_rsa3072(void **state) { (void)state; round_trip(MK_TP_RSA3072); }

static void test_alg_names(void **state) {
  (void)state;
  mk_tp_alg a;
  mk_err e;
  assert_int_equal(mk_tp_alg_parse("sm2", &a, &e), 0);
  assert_int_equal(a, MK_TP_SM2);
  assert_int_equal(mk_tp_alg_parse("rsa3072", &a, &e), 0);
  assert_string_equal(mk_tp_alg_name(a), "rsa3072");
  assert_int_equal(mk_tp_alg_parse("rsa1024", &a, &e), MK_EINVAL);
  assert_int_equal(mk_tp_alg_parse(NULL, &a, &e), MK_EINVAL);
  assert_int_equal(mk_tp_alg_parse("SM2", &a, &e), MK_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_alg_names),
      cmocka_unit_test(test_sm2),
      cmocka_unit_test(test_rsa2048),
      cmocka_unit_test(test_rsa3072),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
