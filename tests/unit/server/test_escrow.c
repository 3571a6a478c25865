/* svc/ca.c's escrowed encryption certificates without HTTP: issuance on an
 * SM2 and an RSA sandbox CA, the device package opened on the "device" with
 * mk_pki_kmc_open_delivery, and an OpenSSL ciphertext for the certificate's
 * key decrypted through the device share and the stored server share;
 * recovery (a new split that does not combine with the old one), the
 * refusals, and destruction on revocation. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/kek.h"
#include "crypto/tp.h"
#include "pki/kmc.h"
#include "svc_fixture.h"
#include "util/enc.h"

#define BASE_URL "http://127.0.0.1:8080"
#define ID_NUMBER "330402199003071237" /* INTEROP.md: valid GB 11643 check digit */
#define USCC "91330402MA2B3C4D53"     /* INTEROP.md: valid GB 32100 check digit */

static int setup(void **state) {
  (void)state;
  mk_err e = {0};
  char path[128];
  mk_kek *kmc = NULL;
  if (fx_open("escrow", FX_KEK, 2) < 0)
    return -1;
  /* mkeyd makes DATA/kmc.kek at first start; the service only opens it. */
  snprintf(path, sizeof path, "%s/kmc.kek", fx.dir);
  if (mk_kek_file_open(path, 1, &kmc, &e) < 0)
    return -1;
  mk_kek_free(kmc);
  snprintf(fx.cfg.data_dir, sizeof fx.cfg.data_dir, "%s", fx.dir);
  return mk_svc_ca_init(&fx.ctx, BASE_URL, &e) < 0 ? -1 : 0;
}

static char *public_pem(EVP_PKEY *k) {
  BIO *b = BIO_new(BIO_s_mem());
  char *p = NULL;
  assert_int_equal(PEM_write_bio_PUBKEY(b, k), 1);
  long n = BIO_get_mem_data(b, &p);
  char *out = malloc((size_t)n + 1);
  assert_non_null(out);
  memcpy(out, p, (size_t)n);
  out[n] = '\0';
  BIO_free(b);
  return out;
}

/* The stored server share of serial, unwrapped with mkeyd's KEK. */
static mk_tp_server *stored_share(const char *serial, const char *key_id, mk_tp_alg alg) {
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  mk_err e = {0};
  mk_buf plain;
  mk_tp_server *s = NULL;
  char label[160];
  size_t n = 0;
  assert_mk_ok(mk_store_acquire(fx.store, &db, &e));
  assert_mk_ok(mk_db_prepare(db, "SELECT server_share FROM ca_escrow WHERE serial = $1", &st, &e));
  assert_mk_ok(mk_stmt_bind_text(st, 1, serial, &e));
  assert_int_equal(mk_stmt_step(st, &e), 1);
  const unsigned char *w = mk_stmt_blob(st, 0, &n);
  snprintf(label, sizeof label, "mkey server share %s %s", mk_tp_alg_name(alg), key_id);
  mk_buf_init_secret(&plain, 4096);
  assert_mk_ok(mk_kek_unwrap(fx.kek, label, w, n, &plain, &e));
  assert_mk_ok(mk_tp_server_decode(plain.data, plain.len, &s, &e));
  mk_buf_free_secret(&plain);
  mk_stmt_finish(st);
  mk_store_release(fx.store, db);
  return s;
}

static int64_t escrow_rows(const char *serial) {
  return fx_count("SELECT count(*) FROM ca_escrow WHERE serial = $1", serial);
}

/* Open an answer's device package with the transport private key. */
static mk_tp_device *open_package(const json_t *answer, EVP_PKEY *transport) {
  const char *text = json_string_value(json_object_get(answer, "device_package"));
  const char *key_id = json_string_value(json_object_get(answer, "key_id"));
  unsigned char pkg[MK_PKI_KMC_PACKAGE_MAX];
  mk_err e = {0};
  mk_tp_device *d = NULL;
  assert_non_null(text);
  assert_non_null(key_id);
  int n = mk_base64url_decode(text, strlen(text), pkg, sizeof pkg, &e);
  assert_true(n > 4);
  assert_memory_equal(pkg, "MKDL", 4);
  assert_mk_ok(mk_pki_kmc_open_delivery(pkg, (size_t)n, key_id, transport, &d, &e));
  return d;
}

/* rc of a loopback decryption of an OpenSSL ciphertext made for the
 * certificate's public key. */
static int decrypts(X509 *cert, const mk_tp_device *d, const mk_tp_server *s) {
  const unsigned char secret[] = "bid file key 0123456789abcdef";
  EVP_PKEY *pk = X509_get0_pubkey(cert);
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pk, NULL);
  unsigned char *ct = NULL;
  size_t ctlen = 0;
  mk_buf pt;
  mk_err e = {0};
  assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
  if (EVP_PKEY_is_a(pk, "RSA")) {
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()), 1);
  }
  assert_int_equal(EVP_PKEY_encrypt(c, NULL, &ctlen, secret, sizeof secret - 1), 1);
  ct = malloc(ctlen);
  assert_int_equal(EVP_PKEY_encrypt(c, ct, &ctlen, secret, sizeof secret - 1), 1);
  EVP_PKEY_CTX_free(c);
  int rc = mk_tp_loop_decrypt(d, s, ct, ctlen, fx.clock, &pt, &e);
  if (rc == 0) {
    assert_int_equal(pt.len, sizeof secret - 1);
    assert_memory_equal(pt.data, secret, pt.len);
    mk_buf_free(&pt);
  }
  free(ct);
  return rc;
}

static void cycle(const char *ca, int sm2) {
  mk_err e = {0};
  char field[MK_JSON_FIELD_MAX] = "";
  mk_tp_alg alg = sm2 ? MK_TP_SM2 : MK_TP_RSA2048;
  EVP_PKEY *tk = sm2 ? EVP_PKEY_Q_keygen(NULL, NULL, "SM2")
                     : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  assert_non_null(tk);
  char *tpem = public_pem(tk);
  json_t *body = sm2 ? json_pack("{s:s,s:s,s:s,s:s}", "profile", "personal-enc", "name", "张三",
                                 "id_number", ID_NUMBER, "transport_key", tpem)
                     : json_pack("{s:s,s:s,s:s,s:s}", "profile", "enterprise-enc", "enterprise",
                                 "杭州某某科技有限公司", "uscc", USCC, "transport_key", tpem);
  json_t *out = NULL, *again = NULL, *rev = NULL;
  assert_mk_ok(mk_svc_ca_issue_enc(&fx.ctx, ca, body, &out, field, &e));
  const char *serial = json_string_value(json_object_get(out, "serial"));
  const char *key_id = json_string_value(json_object_get(out, "key_id"));
  const char *pem = json_string_value(json_object_get(out, "certificate"));
  assert_non_null(serial);
  BIO *b = BIO_new_mem_buf(pem, -1);
  X509 *cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
  BIO_free(b);
  assert_non_null(cert);
  assert_int_equal(escrow_rows(serial), 1);

  mk_tp_device *d1 = open_package(out, tk);
  assert_int_equal(mk_tp_device_alg(d1), alg);
  mk_tp_server *s1 = stored_share(serial, key_id, alg);
  assert_int_equal(decrypts(cert, d1, s1), 0);

  /* Recovery: a new split; the old device share no longer combines with
   * the stored server share. */
  json_t *rbody = json_pack("{s:s}", "transport_key", tpem);
  assert_mk_ok(mk_svc_ca_recover(&fx.ctx, ca, serial, rbody, &again, field, &e));
  assert_string_equal(json_string_value(json_object_get(again, "key_id")), key_id);
  assert_string_not_equal(json_string_value(json_object_get(again, "device_package")),
                          json_string_value(json_object_get(out, "device_package")));
  mk_tp_device *d2 = open_package(again, tk);
  mk_tp_server *s2 = stored_share(serial, key_id, alg);
  assert_int_equal(decrypts(cert, d2, s2), 0);
  assert_int_not_equal(decrypts(cert, d1, s2), 0);

  /* Revocation destroys the escrow; recovery is refused afterwards. */
  assert_mk_ok(mk_svc_ca_revoke(&fx.ctx, ca, serial, "keyCompromise", &rev, field, &e));
  assert_true(json_is_true(json_object_get(rev, "escrow_destroyed")));
  assert_int_equal(escrow_rows(serial), 0);
  json_decref(again);
  again = NULL;
  assert_mk_fails(mk_svc_ca_recover(&fx.ctx, ca, serial, rbody, &again, field, &e), MK_ECONFLICT);
  assert_null(again);

  json_decref(rev);
  json_decref(rbody);
  json_decref(body);
  json_decref(out);
  mk_tp_device_free(d1);
  mk_tp_device_free(d2);
  mk_tp_server_free(s1);
  mk_tp_server_free(s2);
  X509_free(cert);
  free(tpem);
  EVP_PKEY_free(tk);
}

static void test_sm2(void **state) {
  (void)state;
  cycle("ca_sbx_zjca", 1);
}

static void test_rsa(void **state) {
  (void)state;
  cycle("ca_sbx_jsca", 0);
}

static void test_refusals(void **state) {
  (void)state;
  mk_err e = {0};
  char field[MK_JSON_FIELD_MAX] = "";
  json_t *out = NULL;
  EVP_PKEY *tk = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
  char *tpem = public_pem(tk);
  json_t *sign = json_pack("{s:s,s:s,s:s,s:s}", "profile", "personal-sign", "name", "张三",
                           "id_number", ID_NUMBER, "transport_key", tpem);
  assert_mk_fails(mk_svc_ca_issue_enc(&fx.ctx, "ca_sbx_zjca", sign, &out, field, &e), MK_EINVAL);
  assert_string_equal(field, "profile");
  json_t *junk = json_pack("{s:s,s:s,s:s,s:s}", "profile", "personal-enc", "name", "张三",
                           "id_number", ID_NUMBER, "transport_key", "not a key");
  assert_mk_fails(mk_svc_ca_issue_enc(&fx.ctx, "ca_sbx_zjca", junk, &out, field, &e), MK_EINVAL);
  assert_string_equal(field, "transport_key");
  json_t *rbody = json_pack("{s:s}", "transport_key", tpem);
  assert_mk_fails(mk_svc_ca_recover(&fx.ctx, "ca_sbx_zjca", "abc123", rbody, &out, field, &e),
                  MK_ENOTFOUND);
  assert_mk_fails(mk_svc_ca_issue_enc(&fx.ctx, "ca_nope", sign, &out, field, &e), MK_ENOTFOUND);
  assert_null(out);
  json_decref(rbody);
  json_decref(junk);
  json_decref(sign);
  free(tpem);
  EVP_PKEY_free(tk);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sm2),
      cmocka_unit_test(test_rsa),
      cmocka_unit_test(test_refusals),
  };
  return cmocka_run_group_tests(tests, setup, fx_teardown);
}
