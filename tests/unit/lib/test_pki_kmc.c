/* The KMC: encryption keys generated, escrowed, delivered as two shares and
 * opened on the device, judged by OpenSSL (a ciphertext made with the
 * certificate's public key decrypts through the two shares). Recovery by a
 * second delivery, shares of two deliveries that do not combine, wrong keys,
 * wrong key ids, changed bytes; and the SM2 split of an existing key. */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mk_test.h"
#include "crypto/kek.h"
#include "crypto/sm2p.h"
#include "crypto/tp.h"
#include "pki/kmc.h"

#define NOW 1798761600 /* 2027-01-01T00:00:00Z */
#define KEY_ID "key_01J8ZK3M5Q7R"

static char dir[64];

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/mkey-kmc-XXXXXX");
  return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static mk_kek *open_kek(const char *name) {
  char path[128];
  mk_kek *k = NULL;
  mk_err e;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  assert_mk_ok(mk_kek_file_open(path, 1, &k, &e));
  return k;
}

static int verify_sm2(EVP_PKEY *pk, const void *msg, size_t len, const unsigned char *sig,
                      size_t siglen) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(pk, NULL);
  EVP_PKEY_CTX_set1_id(pctx, "1234567812345678", 16);
  EVP_MD_CTX_set_pkey_ctx(md, pctx);
  int ok = EVP_DigestVerifyInit(md, NULL, EVP_sm3(), NULL, pk) == 1 &&
           EVP_DigestVerify(md, sig, siglen, msg, len) == 1;
  EVP_MD_CTX_free(md);
  EVP_PKEY_CTX_free(pctx);
  return ok;
}

static void encrypt(EVP_PKEY *pk, const void *pt, size_t len, unsigned char **ct, size_t *ctlen) {
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pk, NULL);
  assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
  if (EVP_PKEY_is_a(pk, "RSA")) {
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()), 1);
  }
  assert_int_equal(EVP_PKEY_encrypt(c, NULL, ctlen, pt, len), 1);
  *ct = malloc(*ctlen);
  assert_int_equal(EVP_PKEY_encrypt(c, *ct, ctlen, pt, len), 1);
  EVP_PKEY_CTX_free(c);
}

/* rc of a loopback decryption of an OpenSSL ciphertext for pk; on success
 * the plaintext must come back. */
static int decrypts(EVP_PKEY *pk, const mk_tp_device *d, const mk_tp_server *s) {
  const char secret[] = "bid file key 0123456789abcdef";
  unsigned char *ct = NULL;
  size_t ctlen = 0;
  mk_buf pt;
  mk_err e;
  encrypt(pk, secret, sizeof secret - 1, &ct, &ctlen);
  int rc = mk_tp_loop_decrypt(d, s, ct, ctlen, NOW, &pt, &e);
  if (rc == 0) {
    assert_int_equal(pt.len, sizeof secret - 1);
    assert_memory_equal(pt.data, secret, pt.len);
    mk_buf_free(&pt);
  }
  free(ct);
  return rc;
}

static EVP_PKEY *transport_key(int sm2) {
  EVP_PKEY *k = sm2 ? EVP_PKEY_Q_keygen(NULL, NULL, "SM2")
                    : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  assert_non_null(k);
  return k;
}

/* The device hands the KMC only its public transport key. */
static EVP_PKEY *public_only(EVP_PKEY *k) {
  unsigned char *der = NULL;
  int n = i2d_PUBKEY(k, &der);
  assert_true(n > 0);
  const unsigned char *p = der;
  EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, n);
  OPENSSL_free(der);
  assert_non_null(pub);
  return pub;
}

static mk_tp_server *server_share(mk_kek *kek, mk_tp_alg alg, const char *key_id,
                                  const unsigned char *w, size_t wlen) {
  char label[128];
  mk_buf plain;
  mk_err e;
  mk_tp_server *s = NULL;
  snprintf(label, sizeof label, "mkey server share %s %s", mk_tp_alg_name(alg), key_id);
  mk_buf_init_secret(&plain, 4096);
  assert_mk_ok(mk_kek_unwrap(kek, label, w, wlen, &plain, &e));
  assert_mk_ok(mk_tp_server_decode(plain.data, plain.len, &s, &e));
  mk_buf_free_secret(&plain);
  return s;
}

static int contains(const unsigned char *hay, size_t n, const unsigned char *needle, size_t m) {
  for (size_t i = 0; m <= n && i <= n - m; i++)
    if (memcmp(hay + i, needle, m) == 0)
      return 1;
  return 0;
}

static void check_no_clear_key(mk_kek *kmc, const unsigned char *rec, size_t len,
                               EVP_PKEY *pub) {
  /* MKES | 1 | type | id_len | id | spki_len | spki | wrapped_len | wrapped */
  size_t off = 7 + rec[6];
  size_t spki_len = ((size_t)rec[off] << 8) | rec[off + 1];
  off += 2 + spki_len;
  size_t wlen = ((size_t)rec[off] << 8) | rec[off + 1];
  off += 2;
  assert_int_equal(off + wlen, len);
  mk_buf plain;
  mk_err e;
  mk_buf_init_secret(&plain, 4096);
  assert_mk_ok(mk_kek_unwrap(kmc, "mkey escrow " KEY_ID, rec + off, wlen, &plain, &e));
  const unsigned char *p = plain.data;
  PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)plain.len);
  assert_non_null(p8);
  EVP_PKEY *priv = EVP_PKCS82PKEY(p8);
  PKCS8_PRIV_KEY_INFO_free(p8);
  assert_non_null(priv);
  assert_int_equal(EVP_PKEY_eq(priv, pub), 1);
  /* neither the PKCS#8 encoding nor any 16-byte window of the secret
   * numbers in it (d; for RSA also p and q) appears in the record */
  assert_false(contains(rec, len, plain.data, plain.len));
  const char *names[] = {OSSL_PKEY_PARAM_PRIV_KEY, OSSL_PKEY_PARAM_RSA_D,
                         OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2};
  int found = 0;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(priv, names[i], &bn) != 1)
      continue;
    found++;
    unsigned char b[512];
    int n = BN_bn2bin(bn, b);
    assert_true(n >= 16);
    for (int j = 0; j + 16 <= n; j++)
      assert_false(contains(rec, len, b + j, 16));
    OPENSSL_cleanse(b, sizeof b);
    BN_clear_free(bn);
  }
  assert_true(found >= 1);
  EVP_PKEY_free(priv);
  mk_buf_free_secret(&plain);
}

static void full_cycle(mk_pki_keytype type, int sm2_transport) {
  mk_err e;
  mk_kek *kmc = open_kek("kmc.kek");
  mk_kek *srv_kek = open_kek("server.kek");
  mk_tp_alg alg = type == MK_PKI_SM2 ? MK_TP_SM2 : MK_TP_RSA2048;
  unsigned char *rec = NULL;
  size_t rec_len = 0;
  EVP_PKEY *pub = NULL;
  assert_mk_ok(mk_pki_kmc_generate(type, kmc, KEY_ID, &rec, &rec_len, &pub, &e));
  assert_true(rec_len > 0 && rec_len <= MK_PKI_KMC_ESCROW_MAX);
  assert_memory_equal(rec, "MKES\x01", 5);
  assert_true(EVP_PKEY_is_a(pub, type == MK_PKI_SM2 ? "SM2" : "RSA"));
  check_no_clear_key(kmc, rec, rec_len, pub);

  mk_pki_keytype t;
  char id[MK_PKI_KMC_KEY_ID_MAX + 1];
  EVP_PKEY *info_pub = NULL;
  assert_mk_ok(mk_pki_kmc_escrow_info(rec, rec_len, &t, id, &info_pub, &e));
  assert_int_equal(t, type);
  assert_string_equal(id, KEY_ID);
  assert_int_equal(EVP_PKEY_eq(info_pub, pub), 1);
  EVP_PKEY_free(info_pub);

  /* first delivery */
  EVP_PKEY *tk1 = transport_key(sm2_transport), *tk1_pub = public_only(tk1);
  unsigned char *pkg1 = NULL, *w1 = NULL;
  size_t pkg1_len = 0, w1_len = 0;
  assert_mk_ok(mk_pki_kmc_deliver(rec, rec_len, kmc, KEY_ID, tk1_pub, srv_kek, &pkg1, &pkg1_len,
                                  &w1, &w1_len, &e));
  assert_memory_equal(pkg1, "MKDL\x01", 5);
  mk_tp_device *d1 = NULL;
  assert_mk_ok(mk_pki_kmc_open_delivery(pkg1, pkg1_len, KEY_ID, tk1, &d1, &e));
  assert_int_equal(mk_tp_device_alg(d1), alg);
  mk_tp_server *s1 = server_share(srv_kek, alg, KEY_ID, w1, w1_len);
  assert_true(mk_tp_same_key(d1, s1));
  assert_mk_ok(decrypts(pub, d1, s1));
  char *pem = NULL;
  assert_mk_ok(mk_tp_public_pem(d1, &pem, &e));
  BIO *bio = BIO_new_mem_buf(pem, -1);
  EVP_PKEY *dpub = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
  BIO_free(bio);
  free(pem);
  assert_int_equal(EVP_PKEY_eq(dpub, pub), 1);
  EVP_PKEY_free(dpub);

  /* recovery: a new phone, a new transport key, a fresh split */
  EVP_PKEY *tk2 = transport_key(sm2_transport), *tk2_pub = public_only(tk2);
  unsigned char *pkg2 = NULL, *w2 = NULL;
  size_t pkg2_len = 0, w2_len = 0;
  assert_mk_ok(mk_pki_kmc_deliver(rec, rec_len, kmc, KEY_ID, tk2_pub, srv_kek, &pkg2, &pkg2_len,
                                  &w2, &w2_len, &e));
  mk_tp_device *d2 = NULL;
  assert_mk_ok(mk_pki_kmc_open_delivery(pkg2, pkg2_len, KEY_ID, tk2, &d2, &e));
  mk_tp_server *s2 = server_share(srv_kek, alg, KEY_ID, w2, w2_len);
  assert_mk_ok(decrypts(pub, d2, s2));
  /* old and new shares do not combine, either way round */
  assert_mk_fails(decrypts(pub, d1, s2), MK_EAUTH);
  assert_mk_fails(decrypts(pub, d2, s1), MK_EAUTH);
  /* the old phone's transport key does not open the new package */
  mk_tp_device *dx = NULL;
  assert_mk_fails(mk_pki_kmc_open_delivery(pkg2, pkg2_len, KEY_ID, tk1, &dx, &e), MK_ECRYPTO);
  assert_non_null(strstr(e.msg, "not for this device key"));
  assert_null(dx);

  mk_tp_device_free(d1);
  mk_tp_device_free(d2);
  mk_tp_server_free(s1);
  mk_tp_server_free(s2);
  free(pkg1);
  free(pkg2);
  mk_pki_kmc_destroy(w1, w1_len);
  mk_pki_kmc_destroy(w2, w2_len);
  EVP_PKEY_free(tk1);
  EVP_PKEY_free(tk1_pub);
  EVP_PKEY_free(tk2);
  EVP_PKEY_free(tk2_pub);
  EVP_PKEY_free(pub);
  mk_pki_kmc_destroy(rec, rec_len);
  mk_kek_free(kmc);
  mk_kek_free(srv_kek);
}

static void test_sm2(void **state) {
  (void)state;
  full_cycle(MK_PKI_SM2, 1);
}

static void test_rsa(void **state) {
  (void)state;
  full_cycle(MK_PKI_RSA, 0);
}

/* An SM2 encryption key delivered to a phone whose transport key is RSA,
 * and the reverse. */
static void test_cross_transport(void **state) {
  (void)state;
  full_cycle(MK_PKI_SM2, 0);
  full_cycle(MK_PKI_RSA, 1);
}

static void test_refusals(void **state) {
  (void)state;
  mk_err e;
  mk_kek *kmc = open_kek("kmc.kek");
  mk_kek *other = open_kek("other.kek");
  mk_kek *srv_kek = open_kek("server.kek");
  unsigned char *rec = NULL, *pkg = NULL, *w = NULL;
  size_t rec_len = 0, pkg_len = 0, w_len = 0;
  EVP_PKEY *pub = NULL;
  EVP_PKEY *tk = transport_key(1), *tk_pub = public_only(tk);
  mk_tp_device *d = NULL;

  assert_mk_fails(mk_pki_kmc_generate(MK_PKI_SM2, kmc, "", &rec, &rec_len, &pub, &e), MK_EINVAL);
  assert_mk_fails(mk_pki_kmc_generate(MK_PKI_SM2, kmc, "key 1", &rec, &rec_len, &pub, &e),
                  MK_EINVAL);
  assert_mk_fails(mk_pki_kmc_generate((mk_pki_keytype)7, kmc, KEY_ID, &rec, &rec_len, &pub, &e),
                  MK_EINVAL);
  assert_null(rec);
  assert_null(pub);
  assert_mk_ok(mk_pki_kmc_generate(MK_PKI_SM2, kmc, KEY_ID, &rec, &rec_len, &pub, &e));

  /* wrong KMC key */
  assert_mk_fails(mk_pki_kmc_deliver(rec, rec_len, other, KEY_ID, tk_pub, srv_kek, &pkg, &pkg_len,
                                     &w, &w_len, &e),
                  MK_ECRYPTO);
  assert_non_null(strstr(e.msg, "another KMC key"));
  assert_null(pkg);
  assert_null(w);
  /* wrong key id */
  assert_mk_fails(mk_pki_kmc_deliver(rec, rec_len, kmc, "key_OTHER", tk_pub, srv_kek, &pkg,
                                     &pkg_len, &w, &w_len, &e),
                  MK_EINVAL);
  assert_non_null(strstr(e.msg, "escrow record is for key"));
  /* a record relabelled in clear to another id of the same length */
  unsigned char *moved = malloc(rec_len);
  memcpy(moved, rec, rec_len);
  moved[7 + strlen(KEY_ID) - 1] ^= 1;
  char moved_id[] = KEY_ID;
  moved_id[sizeof moved_id - 2] ^= 1;
  assert_mk_fails(mk_pki_kmc_deliver(moved, rec_len, kmc, moved_id, tk_pub, srv_kek, &pkg,
                                     &pkg_len, &w, &w_len, &e),
                  MK_ECRYPTO);
  assert_non_null(strstr(e.msg, "another key id"));
  /* every single changed byte of the record is refused */
  for (size_t i = 0; i < rec_len; i++) {
    memcpy(moved, rec, rec_len);
    moved[i] ^= 0x40;
    int rc = mk_pki_kmc_deliver(moved, rec_len, kmc, KEY_ID, tk_pub, srv_kek, &pkg, &pkg_len, &w,
                                &w_len, &e);
    assert_true(rc == MK_EINVAL || rc == MK_ECRYPTO);
    assert_null(pkg);
  }
  assert_mk_fails(mk_pki_kmc_deliver(rec, rec_len - 1, kmc, KEY_ID, tk_pub, srv_kek, &pkg,
                                     &pkg_len, &w, &w_len, &e),
                  MK_EINVAL);
  free(moved);
  /* a transport key the KMC does not take */
  EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
  EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  assert_mk_fails(mk_pki_kmc_deliver(rec, rec_len, kmc, KEY_ID, small, srv_kek, &pkg, &pkg_len,
                                     &w, &w_len, &e),
                  MK_EINVAL);
  assert_mk_fails(mk_pki_kmc_deliver(rec, rec_len, kmc, KEY_ID, ec, srv_kek, &pkg, &pkg_len, &w,
                                     &w_len, &e),
                  MK_EINVAL);

  assert_mk_ok(mk_pki_kmc_deliver(rec, rec_len, kmc, KEY_ID, tk_pub, srv_kek, &pkg, &pkg_len, &w,
                                  &w_len, &e));
  /* the server share is bound to its key id */
  mk_buf plain;
  mk_buf_init_secret(&plain, 4096);
  assert_mk_fails(mk_kek_unwrap(srv_kek, "mkey server share sm2 key_OTHER", w, w_len, &plain, &e),
                  MK_ECRYPTO);
  mk_buf_free_secret(&plain);

  /* wrong device key: another SM2 key, an RSA key */
  EVP_PKEY *tk_other = transport_key(1), *tk_rsa = transport_key(0);
  assert_mk_fails(mk_pki_kmc_open_delivery(pkg, pkg_len, KEY_ID, tk_other, &d, &e), MK_ECRYPTO);
  assert_non_null(strstr(e.msg, "not for this device key"));
  assert_mk_fails(mk_pki_kmc_open_delivery(pkg, pkg_len, KEY_ID, tk_rsa, &d, &e), MK_ECRYPTO);
  /* wrong key id */
  assert_mk_fails(mk_pki_kmc_open_delivery(pkg, pkg_len, "key_OTHER", tk, &d, &e), MK_EINVAL);
  assert_non_null(strstr(e.msg, "is for key '" KEY_ID "'"));
  /* every single changed byte, and every truncation, is refused */
  unsigned char *bad = malloc(pkg_len);
  for (size_t i = 0; i < pkg_len; i++) {
    memcpy(bad, pkg, pkg_len);
    bad[i] ^= 0x01;
    int rc = mk_pki_kmc_open_delivery(bad, pkg_len, KEY_ID, tk, &d, &e);
    assert_true(rc == MK_EINVAL || rc == MK_ECRYPTO);
    assert_null(d);
  }
  memcpy(bad, pkg, pkg_len);
  bad[pkg_len - 1] ^= 0x80;
  assert_mk_fails(mk_pki_kmc_open_delivery(bad, pkg_len, KEY_ID, tk, &d, &e), MK_ECRYPTO);
  assert_non_null(strstr(e.msg, "damaged"));
  for (size_t n = 0; n < pkg_len; n++)
    assert_true(mk_pki_kmc_open_delivery(pkg, n, KEY_ID, tk, &d, &e) < 0);
  free(bad);
  assert_mk_ok(mk_pki_kmc_open_delivery(pkg, pkg_len, KEY_ID, tk, &d, &e));

  mk_tp_device_free(d);
  free(pkg);
  mk_pki_kmc_destroy(w, w_len);
  mk_pki_kmc_destroy(rec, rec_len);
  mk_pki_kmc_destroy(NULL, 0);
  EVP_PKEY_free(small);
  EVP_PKEY_free(ec);
  EVP_PKEY_free(tk_other);
  EVP_PKEY_free(tk_rsa);
  EVP_PKEY_free(tk);
  EVP_PKEY_free(tk_pub);
  EVP_PKEY_free(pub);
  mk_kek_free(kmc);
  mk_kek_free(other);
  mk_kek_free(srv_kek);
}

/* tp handles from sm2p shares: the tag byte, then the share (crypto/tp.h). */
static void tp_from_sm2p(const mk_sm2p_device *sd, const mk_sm2p_server *ss, mk_tp_device **d,
                         mk_tp_server **s) {
  mk_buf b;
  mk_err e;
  unsigned char tag = MK_TP_SM2;
  mk_buf_init_secret(&b, 4096);
  assert_mk_ok(mk_buf_append(&b, &tag, 1, &e));
  assert_mk_ok(mk_sm2p_device_encode(sd, &b, &e));
  assert_mk_ok(mk_tp_device_decode(b.data, b.len, d, &e));
  mk_buf_reset(&b);
  assert_mk_ok(mk_buf_append(&b, &tag, 1, &e));
  assert_mk_ok(mk_sm2p_server_encode(ss, &b, &e));
  assert_mk_ok(mk_tp_server_decode(b.data, b.len, s, &e));
  mk_buf_free_secret(&b);
}

/* mk_sm2p_split_existing: an OpenSSL key split into shares whose loopback
 * signature verifies, and whose loopback decryption opens, under the
 * original key; two splits differ and do not combine; d out of range. */
static void test_sm2p_split_existing(void **state) {
  (void)state;
  mk_err e;
  EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
  assert_non_null(key);
  BIGNUM *d = NULL;
  assert_int_equal(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &d), 1);

  mk_sm2p_device *sd = NULL, *sd2 = NULL;
  mk_sm2p_server *ss = NULL, *ss2 = NULL;
  assert_mk_ok(mk_sm2p_split_existing(d, &sd, &ss, &e));
  assert_mk_ok(mk_sm2p_split_existing(d, &sd2, &ss2, &e));
  mk_tp_device *td = NULL, *td2 = NULL;
  mk_tp_server *ts = NULL, *ts2 = NULL;
  tp_from_sm2p(sd, ss, &td, &ts);
  tp_from_sm2p(sd2, ss2, &td2, &ts2);

  const char msg[] = "招标文件 bid file v1";
  unsigned char sig[MK_TP_SIG_MAX];
  size_t siglen = 0;
  assert_mk_ok(mk_tp_loop_sign(td, ts, msg, sizeof msg - 1, NOW, sig, &siglen, &e));
  assert_true(verify_sm2(key, msg, sizeof msg - 1, sig, siglen));
  assert_false(verify_sm2(key, msg, sizeof msg - 2, sig, siglen));
  assert_mk_ok(mk_tp_loop_sign(td2, ts2, msg, sizeof msg - 1, NOW, sig, &siglen, &e));
  assert_true(verify_sm2(key, msg, sizeof msg - 1, sig, siglen));
  assert_mk_ok(decrypts(key, td, ts));
  assert_mk_ok(decrypts(key, td2, ts2));
  assert_mk_fails(decrypts(key, td, ts2), MK_EAUTH);
  assert_true(mk_tp_loop_sign(td2, ts, msg, sizeof msg - 1, NOW, sig, &siglen, &e) < 0);

  unsigned char p[MK_EC_POINT_LEN], q[MK_EC_POINT_LEN];
  size_t plen = 0;
  assert_int_equal(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, p, sizeof p,
                                                   &plen),
                   1);
  mk_sm2p_server_public(ss, q);
  assert_memory_equal(p, q, sizeof q);
  mk_sm2p_device_public(sd2, q);
  assert_memory_equal(p, q, sizeof q);

  /* 0 and n - 1 are not SM2 private keys */
  mk_sm2p_device *bd = NULL;
  mk_sm2p_server *bs = NULL;
  BIGNUM *bad = BN_new();
  BN_zero(bad);
  assert_mk_fails(mk_sm2p_split_existing(bad, &bd, &bs, &e), MK_EINVAL);
  const EC_GROUP *g = NULL;
  assert_mk_ok(mk_ec_sm2_group(&g, &e));
  assert_int_equal(BN_sub(bad, EC_GROUP_get0_order(g), BN_value_one()), 1);
  assert_mk_fails(mk_sm2p_split_existing(bad, &bd, &bs, &e), MK_EINVAL);
  assert_null(bd);
  assert_null(bs);
  BN_free(bad);

  mk_tp_device_free(td);
  mk_tp_device_free(td2);
  mk_tp_server_free(ts);
  mk_tp_server_free(ts2);
  mk_sm2p_device_free(sd);
  mk_sm2p_device_free(sd2);
  mk_sm2p_server_free(ss);
  mk_sm2p_server_free(ss2);
  BN_clear_free(d);
  EVP_PKEY_free(key);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sm2p_split_existing),
      cmocka_unit_test(test_sm2),
      cmocka_unit_test(test_rsa),
      cmocka_unit_test(test_cross_transport),
      cmocka_unit_test(test_refusals),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
