#include "mk_test.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/ec.h"
#include "crypto/sm2p.h"
#include "crypto/sm3.h"
#include "util/enc.h"
#include "util/json.h"

#define T0 INT64_C(1767225600) /* 2026-01-01T00:00:00Z */

/* ---- GM/T 0003.5-2012 (GB/T 32918.5-2017) examples on the recommended
 * curve: Appendix A signature of "message digest" with ID
 * "1234567812345678", Appendix C encryption of "encryption standard". Same
 * private key in both; every value was re-derived with an independent Python
 * implementation and the signature verified by OpenSSL. */
static const char kat_d[] = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8";
static const char kat_k[] = "59276e27d506861a16680f3ad9c02dccef3cc1fa3cdbe4ce6d54b80deac1bc21";
static const char kat_pub[] =
    "04"
    "09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020"
    "ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13";
static const char kat_sig[] =
    "3046"
    "022100f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3"
    "022100b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa";
static const char kat_c1[] =
    "04"
    "04ebfc718e8d1798620432268e77feb6415e2ede0e073c0f4f640ecd2e149a73"
    "e858f9d81e5430a57b36daab8f950a3c64e6ee6a63094d99283aff767e124df0";
static const char kat_c3[] = "59983c18f809e262923c53aec295d30383b54e39d609d160afcb1908d0bd8766";
static const char kat_c2[] = "21886ca989ca9c7d58087307ca93092d651efa";

/* Arbitrary fixed shares for the known-answer split. */
static const char kat_d1[] = "0123456789abcdeffedcba98765432100123456789abcdeffedcba9876543210";
static const char kat_w1[] = "1111111111111111222222222222222233333333333333334444444444444444";

/* ---- helpers ----------------------------------------------------------- */

static void hex(const char *h, unsigned char *out, size_t n) {
  assert_int_equal(mk_hex_decode(h, strlen(h), out, n, NULL), (int)n);
}

static const EC_GROUP *grp(void) {
  const EC_GROUP *g = NULL;
  assert_mk_ok(mk_ec_sm2_group(&g, NULL));
  return g;
}

static const BIGNUM *order(void) { return EC_GROUP_get0_order(grp()); }

static BIGNUM *bn_hex(const char *h) {
  BIGNUM *b = NULL;
  assert_true(BN_hex2bn(&b, h) > 0);
  return b;
}

static void bn32(const BIGNUM *b, unsigned char out[32]) {
  assert_int_equal(BN_bn2binpad(b, out, 32), 32);
}

/* A test RNG: a queue of expected (what, value) pairs, then the DRBG. */
static struct {
  const char *what;
  unsigned char v[32];
} rng_q[16];
static size_t rng_n, rng_i;

static int queue_rng(void *ctx, const char *what, unsigned char out[32]) {
  (void)ctx;
  if (rng_i < rng_n) {
    assert_string_equal(what, rng_q[rng_i].what);
    memcpy(out, rng_q[rng_i].v, 32);
    rng_i++;
    return 1;
  }
  return RAND_bytes(out, 32);
}

static void rng_push(const char *what, const unsigned char v[32]) {
  assert_true(rng_n < sizeof rng_q / sizeof rng_q[0]);
  rng_q[rng_n].what = what;
  memcpy(rng_q[rng_n].v, v, 32);
  rng_n++;
  mk_sm2p_insecure_set_test_rng(queue_rng, NULL);
}

static void rng_push_bn(const char *what, const BIGNUM *b) {
  unsigned char v[32];
  bn32(b, v);
  rng_push(what, v);
}

static int rng_teardown(void **state) {
  (void)state;
  mk_sm2p_insecure_set_test_rng(NULL, NULL);
  rng_n = rng_i = 0;
  return 0;
}

/* Through text and back, as over HTTP; frees m. */
static json_t *wire(json_t *m) {
  assert_non_null(m);
  char *s = mk_json_dump(m);
  assert_non_null(s);
  json_t *out = NULL;
  assert_mk_ok(mk_json_parse_object(s, strlen(s), 4096, &out, NULL));
  free(s);
  mk_sm2p_msg_free(m);
  return out;
}

static void set_b64(json_t *m, const char *key, const unsigned char *p, size_t n) {
  char text[200];
  int len = mk_base64url_encode(p, n, text, sizeof text, NULL);
  assert_true(len >= 0);
  assert_int_equal(json_object_set_new(m, key, json_stringn(text, (size_t)len)), 0);
}

static size_t get_b64(const json_t *m, const char *key, unsigned char *out, size_t cap) {
  const char *s = json_string_value(json_object_get(m, key));
  assert_non_null(s);
  int n = mk_base64url_decode(s, strlen(s), out, cap, NULL);
  assert_true(n >= 0);
  return (size_t)n;
}

static void keygen(mk_sm2p_device **dev, mk_sm2p_server **srv) {
  mk_sm2p_devkeygen *st = NULL;
  json_t *msg = NULL, *reply = NULL;
  mk_err e;
  assert_mk_ok(mk_sm2p_keygen_device_begin(&st, &msg, &e));
  msg = wire(msg);
  assert_mk_ok(mk_sm2p_keygen_server(msg, srv, &reply, &e));
  reply = wire(reply);
  assert_mk_ok(mk_sm2p_keygen_device_finish(st, reply, dev, &e));
  mk_sm2p_devkeygen_free(st);
  json_decref(msg);
  json_decref(reply);
}

/* The whole signing exchange; returns the first failure. */
static int sign(const mk_sm2p_device *dev, const mk_sm2p_server *srv, const char *id,
                const void *msg, size_t len, unsigned char *sig, size_t *siglen, mk_err *e) {
  mk_sm2p_devop *dop = NULL;
  mk_sm2p_srvop *sop = NULL;
  json_t *a = NULL, *b = NULL, *c = NULL, *d = NULL;
  int rc = mk_sm2p_sign_device_begin(dev, (const unsigned char *)id, id ? strlen(id) : 0, msg,
                                     len, &dop, &a, e);
  if (rc == 0)
    rc = mk_sm2p_sign_server_begin(srv, a = wire(a), T0, &sop, &b, e);
  if (rc == 0)
    rc = mk_sm2p_sign_device_respond(dev, dop, b = wire(b), &c, e);
  if (rc == 0)
    rc = mk_sm2p_sign_server_finish(srv, sop, c = wire(c), T0 + 1, &d, e);
  if (rc == 0)
    rc = mk_sm2p_sign_device_finish(dev, dop, d = wire(d), sig, MK_SM2P_SIG_MAX, siglen, e);
  mk_sm2p_devop_free(dop);
  mk_sm2p_srvop_free(sop);
  json_decref(a);
  json_decref(b);
  json_decref(c);
  json_decref(d);
  return rc;
}

/* The whole decryption exchange into a new *pt (caller frees). */
static int decrypt(const mk_sm2p_device *dev, const mk_sm2p_server *srv, const unsigned char *ct,
                   size_t ctlen, unsigned char **pt, size_t *ptlen, mk_err *e) {
  mk_sm2p_devop *dop = NULL;
  mk_sm2p_srvop *sop = NULL;
  json_t *a = NULL, *b = NULL, *c = NULL;
  *pt = NULL;
  int rc = mk_sm2p_decrypt_server_challenge(srv, T0, &sop, &a, e);
  if (rc == 0)
    rc = mk_sm2p_decrypt_device_begin(dev, ct, ctlen, a = wire(a), &dop, &b, e);
  if (rc == 0)
    rc = mk_sm2p_decrypt_server_finish(srv, sop, b = wire(b), T0 + 1, &c, e);
  if (rc == 0) {
    size_t n = mk_sm2p_decrypt_plaintext_len(dop);
    *pt = malloc(n);
    assert_non_null(*pt);
    rc = mk_sm2p_decrypt_device_finish(dev, dop, c = wire(c), *pt, n, ptlen, e);
  }
  mk_sm2p_devop_free(dop);
  mk_sm2p_srvop_free(sop);
  json_decref(a);
  json_decref(b);
  json_decref(c);
  return rc;
}

static EVP_PKEY *device_pkey(const mk_sm2p_device *dev) {
  EVP_PKEY *k = NULL;
  assert_mk_ok(mk_sm2p_device_public_key(dev, &k, NULL));
  return k;
}

/* OpenSSL's own SM2 verification with the signer ID (EVP_PKEY_CTX_set1_id). */
static int ossl_verify(EVP_PKEY *pub, const char *id, const void *msg, size_t len,
                       const unsigned char *sig, size_t siglen) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
  assert_non_null(md);
  assert_non_null(pctx);
  assert_int_equal(EVP_PKEY_CTX_set1_id(pctx, id, (int)strlen(id)), 1);
  EVP_MD_CTX_set_pkey_ctx(md, pctx);
  assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sm3(), NULL, pub), 1);
  int ok = EVP_DigestVerify(md, sig, siglen, msg, len);
  EVP_MD_CTX_free(md);
  EVP_PKEY_CTX_free(pctx);
  return ok;
}

static unsigned char *ossl_encrypt(EVP_PKEY *pub, const unsigned char *pt, size_t n,
                                   size_t *ctlen) {
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
  assert_non_null(c);
  assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
  assert_int_equal(EVP_PKEY_encrypt(c, NULL, ctlen, pt, n), 1);
  unsigned char *ct = malloc(*ctlen);
  assert_non_null(ct);
  assert_int_equal(EVP_PKEY_encrypt(c, ct, ctlen, pt, n), 1);
  EVP_PKEY_CTX_free(c);
  return ct;
}

/* The KAT key split: d1 fixed, d2 = ((1 + d) d1)^-1 so that
 * (d1 d2)^-1 - 1 = d. */
static void kat_keygen(mk_sm2p_device **dev, mk_sm2p_server **srv) {
  BN_CTX *ctx = BN_CTX_new();
  BIGNUM *d = bn_hex(kat_d), *d1 = bn_hex(kat_d1), *d2 = BN_new();
  assert_int_equal(BN_add_word(d, 1), 1);
  assert_int_equal(BN_mod_mul(d2, d, d1, order(), ctx), 1);
  assert_non_null(BN_mod_inverse(d2, d2, order(), ctx));
  rng_push_bn("d1", d1);
  rng_push_bn("d2", d2);
  keygen(dev, srv);
  assert_int_equal(rng_i, 2);
  BN_free(d);
  BN_free(d1);
  BN_free(d2);
  BN_CTX_free(ctx);
}

/* ---- ec helpers ------------------------------------------------------- */

static void test_ec_point_codec(void **state) {
  (void)state;
  unsigned char p[65], q[65];
  EC_POINT *pt = NULL;
  mk_err e;
  hex(kat_pub, p, sizeof p);
  assert_mk_ok(mk_ec_point_decode(p, 65, "p", &pt, &e));
  assert_mk_ok(mk_ec_point_encode(pt, q, &e));
  assert_memory_equal(p, q, 65);
  EC_POINT_free(pt);

  /* off the curve: last byte of y changed */
  q[64] ^= 1;
  assert_mk_fails(mk_ec_point_decode(q, 65, "q1", &pt, &e), MK_EINVAL);
  assert_null(pt);
  assert_non_null(strstr(e.msg, "q1: not a point on the SM2 curve"));
  /* the point at infinity has only the one-byte SEC1 encoding 00 */
  const unsigned char inf = 0;
  assert_mk_fails(mk_ec_point_decode(&inf, 1, "q1", &pt, &e), MK_EINVAL);
  memset(q, 0, sizeof q);
  assert_mk_fails(mk_ec_point_decode(q, 65, "q1", &pt, &e), MK_EINVAL);
  /* compressed form, wrong lengths */
  q[0] = 0x02;
  memcpy(q + 1, p + 1, 32);
  assert_mk_fails(mk_ec_point_decode(q, 33, "q1", &pt, &e), MK_EINVAL);
  assert_mk_fails(mk_ec_point_decode(p, 64, "q1", &pt, &e), MK_EINVAL);
  assert_mk_fails(mk_ec_point_decode(NULL, 65, "q1", &pt, &e), MK_EINVAL);
  /* x = p (the field prime): out of range even though x mod p is fine */
  memset(q, 0xFF, sizeof q);
  q[0] = 0x04;
  q[4] = 0xFE;
  q[21] = q[22] = q[23] = q[24] = 0;
  assert_mk_fails(mk_ec_point_decode(q, 65, "q1", &pt, &e), MK_EINVAL);

  EC_POINT *inf_pt = EC_POINT_new(grp());
  assert_int_equal(EC_POINT_set_to_infinity(grp(), inf_pt), 1);
  assert_mk_fails(mk_ec_point_encode(inf_pt, q, &e), MK_EINVAL);
  EC_POINT_free(inf_pt);
}

static void test_ec_scalar_codec(void **state) {
  (void)state;
  unsigned char b[32], c[32];
  BIGNUM *s = NULL;
  mk_err e;
  memset(b, 0, sizeof b);
  assert_mk_fails(mk_ec_scalar_decode(b, 32, 0, "s1", &s, &e), MK_EINVAL);
  assert_non_null(strstr(e.msg, "s1: out of range"));
  bn32(order(), b);
  assert_mk_fails(mk_ec_scalar_decode(b, 32, 0, "s1", &s, &e), MK_EINVAL);
  memset(b, 0xFF, sizeof b);
  assert_mk_fails(mk_ec_scalar_decode(b, 32, 1, "s1", &s, &e), MK_EINVAL);
  assert_mk_fails(mk_ec_scalar_decode(b, 31, 0, "s1", &s, &e), MK_EINVAL);
  /* n - 1 and 1 are the ends of the range */
  bn32(order(), b);
  b[31] -= 1;
  assert_mk_ok(mk_ec_scalar_decode(b, 32, 1, "s1", &s, &e));
  assert_true(BN_get_flags(s, BN_FLG_CONSTTIME) != 0);
  assert_mk_ok(mk_ec_scalar_encode(s, c, &e));
  assert_memory_equal(b, c, 32);
  /* inverse: s * s^-1 = 1 */
  BN_CTX *ctx = BN_CTX_new();
  BIGNUM *inv = mk_ec_bn_secret(), *one = BN_new();
  assert_mk_ok(mk_ec_scalar_inv(inv, s, ctx, &e));
  assert_int_equal(BN_mod_mul(one, inv, s, order(), ctx), 1);
  assert_true(BN_is_one(one));
  BN_clear_free(s);
  memset(b, 0, sizeof b);
  b[31] = 1;
  assert_mk_ok(mk_ec_scalar_decode(b, 32, 0, "s1", &s, &e));
  BN_free(s);
  BN_clear_free(inv);
  BN_free(one);
  BN_CTX_free(ctx);
}

/* ---- keygen and sign ----------------------------------------------------- */

static void test_sign_verifies_with_openssl(void **state) {
  (void)state;
  mk_sm2p_device *dev = NULL;
  mk_sm2p_server *srv = NULL;
  unsigned char sig[MK_SM2P_SIG_MAX], p1[65], p2[65];
  size_t siglen = 0;
  mk_err e;
  keygen(&dev, &srv);
  mk_sm2p_device_public(dev, p1);
  mk_sm2p_server_public(srv, p2);
  assert_memory_equal(p1, p2, 65);
  EVP_PKEY *pub = device_pkey(dev);

  const char *msg = "投标文件 bid file v1";
  assert_mk_ok(sign(dev, srv, NULL, msg, strlen(msg), sig, &siglen, &e));
  assert_int_equal(ossl_verify(pub, MK_SM2_ID_DEFAULT, msg, strlen(msg), sig, siglen), 1);
  /* the ID is part of the signed value */
  assert_int_not_equal(ossl_verify(pub, "1234567812345679", msg, strlen(msg), sig, siglen), 1);
  assert_int_not_equal(ossl_verify(pub, MK_SM2_ID_DEFAULT, msg, strlen(msg) - 1, sig, siglen),
                       1);

  assert_mk_ok(sign(dev, srv, "ALICE123@YAHOO.COM", msg, strlen(msg), sig, &siglen, &e));
  assert_int_equal(ossl_verify(pub, "ALICE123@YAHOO.COM", msg, strlen(msg), sig, siglen), 1);
  /* empty message */
  assert_mk_ok(sign(dev, srv, NULL, "", 0, sig, &siglen, &e));
  assert_int_equal(ossl_verify(pub, MK_SM2_ID_DEFAULT, "", 0, sig, siglen), 1);

  /* the empty ID (OpenSSL's default for X.509) */
  assert_mk_ok(sign(dev, srv, "", msg, strlen(msg), sig, &siglen, &e));
  assert_int_equal(ossl_verify(pub, "", msg, strlen(msg), sig, siglen), 1);
  assert_int_not_equal(ossl_verify(pub, MK_SM2_ID_DEFAULT, msg, strlen(msg), sig, siglen), 1);

  /* long IDs: OpenSSL 3.0 takes at most 8190 bytes (it refuses id_len >=
   * UINT16_MAX / 8); GM/T 0003.2's two-byte ENTL allows 8191, which we sign */
  char *id = malloc(MK_SM2_ID_MAX + 1);
  assert_non_null(id);
  memset(id, 'a', MK_SM2_ID_MAX);
  id[MK_SM2_ID_MAX - 1] = '\0';
  assert_mk_ok(sign(dev, srv, id, msg, strlen(msg), sig, &siglen, &e));
  assert_int_equal(ossl_verify(pub, id, msg, strlen(msg), sig, siglen), 1);
  id[MK_SM2_ID_MAX - 1] = 'a';
  id[MK_SM2_ID_MAX] = '\0';
  assert_mk_ok(sign(dev, srv, id, msg, strlen(msg), sig, &siglen, &e));
  mk_sm2p_devop *op = NULL;
  json_t *out = NULL;
  assert_mk_fails(mk_sm2p_sign_device_begin(dev, (const unsigned char *)id, MK_SM2_ID_MAX + 1,
                                            msg, 3, &op, &out, &e),
                  MK_EINVAL);
  assert_null(op);
  assert_null(out);
  free(id);

  EVP_PKEY_free(pub);
  mk_sm2p_device_free(dev);
  mk_sm2p_server_free(srv);
}

/* GM/T 0003.5 Appendix A through the two-party code: with d split as
 * above and the nonce split as w2 = (k - w1) d1, so that k = w1 + w2 d1^-1,
 * the signature must be the published (r, s) byte for byte. The server
 * draws w2 for its commit, Q2 = [w2]P1; the device then draws w1. */
static void test_sign_kat(void **state) {
  (void)state;
  mk_sm2p_device *dev = NULL;
  mk_sm2p_server *srv = NULL;
  unsigned char pub[65], want_pub[65], sig[MK_SM2P_SIG_MAX], want_sig[72];
  size_t siglen = 0;
  mk_err e;
  kat_keygen(&dev, &srv);
  mk_sm2p_device_public(dev, pub);
  hex(kat_pub, want_pub, sizeof want_pub);
  assert_memory_equal(pub, want_pub, 65);

  BN_CTX *ctx = BN_CTX_new();
  BIGNUM *k = bn_hex(kat_k), *w1 = bn_hex(kat_w1), *d1 = bn_hex(kat_d1), *w2 = BN_new();
  assert_int_equal(BN_mod_sub(w2, k, w1, order(), ctx), 1);
  assert_int_equal(BN_mod_mul(w2, w2, d1, order(), ctx), 1);
  rng_push_bn("w2", w2);
  rng_push_bn("w1", w1);
  assert_mk_ok(sign(dev, srv, NULL, "message digest", 14, sig, &siglen, &e));
  assert_int_equal(rng_i, 4);
  hex(kat_sig, want_sig, sizeof want_sig);
  assert_int_equal(siglen, sizeof want_sig);
  assert_memory_equal(sig, want_sig, sizeof want_sig);

  /* The commit is Q2 = [w2]P1 = [w2 d1^-1]G, computed here apart. */
  mk_sm2p_devop *dop = NULL;
  mk_sm2p_srvop *sop = NULL;
  json_t *req = NULL, *commit = NULL;
  unsigned char q2[65], want_q2[65];
  BIGNUM *t = BN_new();
  EC_POINT *q = EC_POINT_new(grp());
  rng_push_bn("w2", w2);
  assert_mk_ok(mk_sm2p_sign_device_begin(dev, NULL, 0, "message digest", 14, &dop, &req, &e));
  assert_mk_ok(mk_sm2p_sign_server_begin(srv, req, T0, &sop, &commit, &e));
  assert_non_null(BN_mod_inverse(t, d1, order(), ctx));
  assert_int_equal(BN_mod_mul(t, t, w2, order(), ctx), 1);
  assert_int_equal(EC_POINT_mul(grp(), q, t, NULL, NULL, ctx), 1);
  assert_mk_ok(mk_ec_point_encode(q, want_q2, NULL));
  assert_int_equal(get_b64(commit, "q2", q2, sizeof q2), 65);
  assert_memory_equal(q2, want_q2, 65);
  BN_free(t);
  EC_POINT_free(q);
  mk_sm2p_devop_free(dop);
  mk_sm2p_srvop_free(sop);
  json_decref(req);
  json_decref(commit);

  EVP_PKEY *pk = device_pkey(dev);
  assert_int_equal(ossl_verify(pk, MK_SM2_ID_DEFAULT, "message digest", 14, sig, siglen), 1);
  EVP_PKEY_free(pk);
  BN_free(k);
  BN_free(w1);
  BN_free(d1);
  BN_free(w2);
  BN_CTX_free(ctx);
  mk_sm2p_device_free(dev);
  mk_sm2p_server_free(srv);
}

static void test_public_key_spki(void **state) {
  (void)state;
  mk_sm2p_device *dev = NULL;
  mk_sm2p_server *srv = NULL;
  EVP_PKEY *a = NULL, *b = NULL;
  mk_buf der;
  mk_err e;
  kat_keygen(&dev, &srv);
  assert_mk_ok(mk_sm2p_device_public_key(dev, &a, &e));
  assert_mk_ok(mk_sm2p_server_public_key(srv, &b, &e));
  assert_int_equal(EVP_PKEY_eq(a, b), 1);
  assert_true(EVP_PKEY_is_a(a, "SM2"));
  mk_buf_init(&der, 4096);
  assert_mk_ok(mk_sm2p_public_spki(a, &der, &e));
  const unsigned char *p = der.data;
  EVP_PKEY *c = d2i_PUBKEY(NULL, &p, (long)der.len);
  assert_non_null(c);
  assert_ptr_equal(p, der.data + der.len);
  assert_int_equal(EVP_PKEY_eq(a, c), 1);
  /* SubjectPublicKeyInfo names the SM2 curve, 1.2.156.10197.1.301 */
  static const unsigned char sm2_oid[] = {0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf,
                                          0x55, 0x01, 0x82, 0x2d};
  assert_non_null(memmem(der.data, der.len, sm2_oid, sizeof sm2_oid));
  mk_buf_free(&der);
  EVP_PKEY_free(a);
  EVP_PKEY_free(b);
  EVP_PKEY_free(c);
  mk_sm2p_device_free(dev);
  mk_sm2p_server_free(srv);
}

static void test_keygen_negative(void **state) {
  (void)state;
  mk_sm2p_devkeygen *st = NULL;
  mk_sm2p_server *srv = NULL;
  mk_sm2p_device *dev = NULL, *dev2 = NULL;
  json_t *msg = NULL, *reply = NULL, *bad = NULL;
  unsigned char p1[65];
  mk_err e;
  assert_mk_ok(mk_sm2p_keygen_device_begin(&st, &msg, &e));

  /* P1 off the curve */
  bad = json_deep_copy(msg);
  get_b64(bad, "p1", p1, sizeof p1);
  p1[64] ^= 1;
  set_b64(bad, "p1", p1, 65);
  assert_mk_fails(mk_sm2p_keygen_server(bad, &srv, &reply, &e), MK_EINVAL);
  assert_null(srv);
  assert_null(reply);
  json_decref(bad);
  /* wrong step, unknown field */
  bad = json_deep_copy(msg);
  json_object_set_new(bad, "step", json_string("stored"));
  assert_mk_fails(mk_sm2p_keygen_server(bad, &srv, &reply, &e), MK_EINVAL);
  json_decref(bad);
  bad = json_deep_copy(msg);
  json_object_set_new(bad, "d2", json_string("AA"));
  assert_mk_fails(mk_sm2p_keygen_server(bad, &srv, &reply, &e), MK_EINVAL);
  assert_non_null(strstr(e.msg, "unknown field 'd2'"));
  json_decref(bad);

  assert_mk_ok(mk_sm2p_keygen_server(msg, &srv, &reply, &e));
  /* the device refuses P = -G (d = n - 1 has no signature) */
  bad = json_deep_copy(reply);
  EC_POINT *ng = EC_POINT_dup(EC_GROUP_get0_generator(grp()), grp());
  assert_int_equal(EC_POINT_invert(grp(), ng, NULL), 1);
  unsigned char ngb[65];
  assert_mk_ok(mk_ec_point_encode(ng, ngb, NULL));
  EC_POINT_free(ng);
  set_b64(bad, "p", ngb, 65);
  assert_mk_fails(mk_sm2p_keygen_device_finish(st, bad, &dev, &e), MK_EPROTO);
  json_decref(bad);
  /* P off the curve */
  bad = json_deep_copy(reply);
  ngb[64] ^= 1;
  set_b64(bad, "p", ngb, 65);
  assert_mk_fails(mk_sm2p_keygen_device_finish(st, bad, &dev, &e), MK_EINVAL);
  json_decref(bad);
  assert_null(dev);

  assert_mk_ok(mk_sm2p_keygen_device_finish(st, reply, &dev, &e));
  assert_mk_fails(mk_sm2p_keygen_device_finish(st, reply, &dev2, &e), MK_EEXPIRED);
  assert_null(dev2);
  mk_sm2p_devkeygen_free(st);
  mk_sm2p_devkeygen_free(NULL);
  json_decref(msg);
  json_decref(reply);
  mk_sm2p_device_free(dev);
  mk_sm2p_server_free(srv);
}

/* A d2 with d1 d2 = 1 gives P = infinity: the server draws again. */
static void test_keygen_infinity_redraw(void **state) {
  (void)state;
  mk_sm2p_device *dev = NULL;
  mk_sm2p_server *srv = NULL;
  unsigned char sig[MK_SM2P_SIG_MAX];
  size_t siglen;
  BN_CTX *ctx = BN_CTX_new();
  BIGNUM *d1 = bn_hex(kat_d1), *inv = BN_new(), *d2 = bn_hex(kat_w1);
  assert_non_null(BN_mod_inverse(inv, d1, order(), ctx));
  rng_push_bn("d1", d1);
  rng_push_bn("d2", inv);
  rng_push_bn("d2", d2);
  keygen(&dev, &srv);
  assert_int_equal(rng_i, 3);
  assert_mk_ok(sign(dev, srv, NULL, "x", 1, sig, &siglen, NULL));
  EVP_PKEY *pk = device_pkey(dev);
  assert_int_equal(ossl_verify(pk, MK_SM2_ID_DEFAULT, "x", 1, sig, siglen), 1);
  EVP_PKEY_free(pk);
  BN_free(d1);
  BN_free(inv);
  BN_free(d2);
  BN_CTX_free(ctx);
  mk_sm2p_device_free(dev);
  mk_sm2p_server_free(srv);
}

/* One signing exchange up to the device's "response". */
struct pending {
  mk_sm2p_devop *dop;
  mk_sm2p_srvop *sop;
  json_t *req, *commit, *resp;
};

static void pending_start(const mk_sm2p_device *dev, const mk_sm2p_server *srv,
                          struct pending *p) {
  memset(p, 0, sizeof *p);
  assert_mk_ok(mk_sm2p_sign_device_begin(dev, NULL, 0, "m", 1, &p->dop, &p->req, NULL));
  assert_mk_ok(mk_sm2p_sign_server_begin(srv, p->req, T0, &p->sop, &p->commit, NULL));
  assert_mk_ok(mk_sm2p_sign_device_respond(dev, p->dop, p->commit, &p->resp, NULL));
}

static void pending_free(struct pending *p) {
  mk_sm2p_devop_free(p->dop);
  mk_sm2p_srvop_free(p->sop);
  json_decref(p->req);
  json_decref(p->commit);
  json_decref(p->resp);
}

static void test_sign_request_strict(void **state) {
  (void)state;
  mk_sm2p_device *dev = NULL;
  mk_sm2p_server *srv = NULL;
  mk_sm2p_devop *dop = NULL;
  mk_sm2p_srvop *sop = NULL;
  json_t *req = NULL, *reply = NULL;
  unsigned char q1[65];
  mk_err e;
  keygen(&dev, &srv);
  assert_mk_ok(mk_sm2p_sign_device_begin(dev, NULL, 0, "m", 1, &dop, &req, &e));
  /* The request carries e and no nonce: v, alg, op, step, e. */
  assert_int_equal(json_object_size(req), 5);
  hex(kat_pub, q1, sizeof q1);

  struct {
    const char *key;
    json_t *value; /* NULL: delete the key */
  } cases[] = {
      {"v", json_integer(2)},
      {"v", json_string("1")},
      {"v", json_real(1.0)},
      {"v", NULL},
      {"alg", json_string("rsa2048")},
      {"alg", json_integer(1)},
      {"op", json_string("decrypt")},
      {"step", json_string("commit")},
      {"step", NULL},
      {"e", NULL},
      {"e", json_integer(4)},
      {"e", json_string("")},
      {"extra", json_string("x")},
      /* the earlier format sent Q1 here, letting the server pick Q2 after it */
      {"q1", json_string("BAAA")},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *bad = json_deep_copy(req);
    if (cases[i].value == NULL)
      json_object_del(bad, cases[i].key);
    else
      json_object_set_new(bad, cases[i].key, cases[i].value);
    assert_mk_fails(mk_sm2p_sign_server_begin(srv, bad, T0, &sop, &reply, &e), MK_EINVAL);
    assert_null(sop);
    assert_null(reply);
    json_decref(bad);
  }
  /* wrong lengths, padding, alphabet, curve */
  const struct {
    const char *key;
    size_t n;
  } lens[] = {{"e", 31}, {"e", 33}, {"e", 1}, {"e", 65}};
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    unsigned char v[70];
    memset(v, 0x11, sizeof v);
    memcpy(v, q1, lens[i].n < 65 ? lens[i].n : 65);
    json_t *bad = json_deep_copy(req);
    set_b64(bad, lens[i].key, v, lens[i].n);
    assert_mk_fails(mk_sm2p_sign_server_begin(srv, bad, T0, &sop, &reply, &e), MK_EINVAL);
    json_decref(bad);
  }
  const char *texts[] = {"AA==", "AAA=", "+/+/", "A A", "!"};
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    json_t *bad = json_deep_copy(req);
    json_object_set_new(bad, "e", json_string(texts[i]));
    assert_mk_fails(mk_sm2p_sign_server_begin(srv, bad, T0, &sop, &reply, &e), MK_EINVAL);
    json_decref(bad);
  }
  /* e with padding appended stays invalid even though it decodes */
  {
    const char *s = json_string_value(json_object_get(req, "e"));
    char padded[64];
    snprintf(padded, sizeof padded, "%s=", s);
    json_t *bad = json_deep_copy(req);
    json_object_set_new(bad, "e", json_string(padded));
    assert_mk_fails(mk_sm2p_sign_server_begin(srv, bad, T0, &sop, &reply, &e), MK_EINVAL);
    json_decref(bad);
  }
  /* a valid point as an extra q1 is still an unknown field */
  json_t *bad = json_deep_copy(req);
  set_b64(bad, "q1", q1, 65);
  assert_mk_fails(mk_sm2p_sign_server_begin(srv, bad, T0, &sop, &reply, &e), MK_EINVAL);
  assert_non_null(strstr(e.msg, "q1"));
  json_decref(bad);
  /* not an object */
  json_t *arr = json_array();
  assert_mk_fails(mk_sm2p_sign_server_begin(srv, arr, T0, &sop, &reply, &e), MK_EINVAL);
  assert_mk_fails(mk_sm2p_sign_server_begin(srv, NULL, T0, &sop, &reply, &e), MK_EINVAL);
  json_decref(arr);

  mk_sm2p_devop_free(dop);
  json_decref(req);
  mk_sm2p_device_free(dev);
  mk_sm2p_server_free(srv);
}

/* The device draws w1 after the commit, so it is the device that draws
 * again while Q1 + Q2 = O or r = 0 (GM/T 0003.2 §6.1 A3-A4); the server
 * refuses a response that lands there. Both cases are built from known w2
 * and d1: w1 = -w2 d1^-1 gives Q = O, and e = n - x(Q) gives r = 0. */
static void test_sign_nonce_redraw(void **state) {
  (void)state;
  mk_sm2p_device *dev = NULL;
  mk_sm2p_server *srv = NULL;
  mk_sm2p_devop *dop = NULL;
  mk_sm2p_srvop *sop = NULL;
  json_t *req = NULL, *commit = NULL, *resp = NULL, *result = NULL;
  unsigned char eb[32], got[65], want[65], sig[MK_SM2P_SIG_MAX];
  size_t siglen = 0;
  mk_err e;
  BN_CTX *ctx = BN_CTX_new();
  BIGNUM *d1 = bn_hex(kat_d1), *w2 = bn_hex(kat_k), *w1b = bn_hex(kat_d), *w1c = bn_hex(kat_w1);
  BIGNUM *inv = BN_new(), *w1a = BN_new(), *x = BN_new(), *ebn = BN_new(), *r = BN_new(),
         *s1 = BN_new();
  EC_POINT *q2 = EC_POINT_new(grp()), *q = EC_POINT_new(grp()), *q1a = EC_POINT_new(grp()),
           *q1b = EC_POINT_new(grp());
  rng_push_bn("d1", d1);
  keygen(&dev, &srv);
  /* Q2 = [w2 d1^-1]G; w1a = -w2 d1^-1 */
  assert_non_null(BN_mod_inverse(inv, d1, order(), ctx));
  assert_int_equal(BN_mod_mul(w1a, w2, inv, order(), ctx), 1);
  assert_int_equal(EC_POINT_mul(grp(), q2, w1a, NULL, NULL, ctx), 1);
  assert_int_equal(BN_sub(w1a, order(), w1a), 1);
  assert_int_equal(EC_POINT_mul(grp(), q1a, w1a, NULL, NULL, ctx), 1);
  /* e = n - x([w1b]G + Q2) mod n */
  assert_int_equal(EC_POINT_mul(grp(), q1b, w1b, NULL, NULL, ctx), 1);
  assert_int_equal(EC_POINT_add(grp(), q, q1b, q2, ctx), 1);
  assert_int_equal(EC_POINT_get_affine_coordinates(grp(), q, x, NULL, ctx), 1);
  assert_int_equal(BN_nnmod(x, x, order(), ctx), 1);
  assert_int_equal(BN_mod_sub(ebn, order(), x, order(), ctx), 1);
  bn32(ebn, eb);

  rng_push_bn("w2", w2);
  rng_push_bn("w1", w1a);
  rng_push_bn("w1", w1b);
  rng_push_bn("w1", w1c);
  assert_mk_ok(mk_sm2p_sign_device_begin_digest(dev, eb, &dop, &req, &e));
  assert_mk_ok(mk_sm2p_sign_server_begin(srv, req, T0, &sop, &commit, &e));
  assert_mk_ok(mk_sm2p_sign_device_respond(dev, dop, commit, &resp, &e));
  assert_int_equal(rng_i, 5);
  /* the answer is w1c's: Q1 = [w1c]G, s1 = d1 (e + x(Q1 + Q2) + w1c) */
  EC_POINT *q1c = EC_POINT_new(grp());
  assert_int_equal(EC_POINT_mul(grp(), q1c, w1c, NULL, NULL, ctx), 1);
  assert_mk_ok(mk_ec_point_encode(q1c, want, NULL));
  assert_int_equal(get_b64(resp, "q1", got, sizeof got), 65);
  assert_memory_equal(got, want, 65);
  assert_int_equal(EC_POINT_add(grp(), q, q1c, q2, ctx), 1);
  assert_int_equal(EC_POINT_get_affine_coordinates(grp(), q, x, NULL, ctx), 1);
  assert_int_equal(BN_mod_add(r, ebn, x, order(), ctx), 1);
  assert_int_equal(BN_mod_add(s1, r, w1c, order(), ctx), 1);
  assert_int_equal(BN_mod_mul(s1, s1, d1, order(), ctx), 1);
  bn32(s1, want);
  assert_int_equal(get_b64(resp, "s1", got, sizeof got), 32);
  assert_memory_equal(got, want, 32);
  assert_mk_ok(mk_sm2p_sign_server_finish(srv, sop, resp, T0 + 1, &result, &e));
  assert_mk_ok(mk_sm2p_sign_device_finish(dev, dop, result, sig, sizeof sig, &siglen, &e));
  mk_sm2p_srvop_free(sop);
  sop = NULL;

  /* the server refuses a response with Q = O or r = 0 (and is spent) */
  EC_POINT *bad_q1[] = {q1a, q1b};
  for (size_t i = 0; i < 2; i++) {
    json_t *c2 = NULL, *reply = NULL, *bad = json_deep_copy(resp);
    rng_push_bn("w2", w2);
    assert_mk_ok(mk_sm2p_sign_server_begin(srv, req, T0, &sop, &c2, &e));
    assert_mk_ok(mk_ec_point_encode(bad_q1[i], got, NULL));
    set_b64(bad, "q1", got, 65);
    assert_mk_fails(mk_sm2p_sign_server_finish(srv, sop, bad, T0 + 1, &reply, &e), MK_EINVAL);
    assert_string_equal(e.msg, "q1: gives Q = O or r = 0");
    assert_null(reply);
    assert_mk_fails(mk_sm2p_sign_server_finish(srv, sop, resp, T0 + 1, &reply, &e),
                    MK_EEXPIRED);
    mk_sm2p_srvop_free(sop);
    sop = NULL;
    json_decref(c2);
    json_decref(bad);
  }

  EC_POINT_free(q1c);
  EC_POINT_free(q2);
  EC_POINT_free(q);
  EC_POINT_free(q1a);
  EC_POINT_free(q1b);
  BN_free(d1);
  BN_free(w2);
  BN_free(w1a);
  BN_free(w1b);
  BN_free(w1c);
  BN_free(inv);
  BN_free(x);
  BN_free(ebn);
  BN_free(r);
  BN_free(s1);
  BN_CTX_free(ctx);
  mk_sm2p_devop_free(dop);
  json_decref(req);
  json_decref(commit);
  json_decref(resp);
  json_decref(result);
  mk_sm2p_device_free(dev);
  mk_sm2p_server_free(srv);
}

static void test_sign_s1_out_of_range(void **state) {
  (void)state;
  mk_sm2p_device *dev = NULL;
  mk_sm2p_server *srv = NULL;
  json_t *reply = NULL;
  unsigned char v[32];
  mk_err e;
  keygen(&dev, &srv);
  for (int i = 0; i < 4; i++) {
    struct pending p;
    pending_start(dev, srv, &p);
    if (i == 0)
      memset(v, 0, sizeof v);
    else if (i == 1)
      bn32(order(), v);
    else if (i == 2)
      memset(v, 0xFF, sizeof v);
    json_t *bad = json_deep_copy(p.resp);
    if (i < 3)
      set_b64(bad, "s1", v, 32);
    else
      set_b64(bad, "s1", v, 31);
    assert_mk_fails(mk_sm2p_sign_server_finish(srv, p.sop, bad, T0 + 1, &reply, &e), MK_EINVAL);
    assert_null(reply);
    /* a malformed answer still spends the op */
    assert_mk_fails(mk_sm2p_sign_server_finish(srv, p.sop, p.resp, T0 + 1, &reply, &e),
                    MK_EEXPIRED);
    json_decref(bad);
    pending_free(&p);
  }
  mk_sm2p_device_free(dev);
  mk_sm2p_server_free(srv);
}

static void test_sign_replay_and_expiry(void **state) {
  (void)state;
  mk_sm2p_device *dev = NULL;
  mk_sm2p_server *srv = NULL;
  json_t *reply = NULL;
  mk_err e;
  struct pending p;
  keygen(&dev, &srv);

  /* replayed finish */
  pending_start(dev, srv, &p);
  assert_mk_ok(mk_sm2p_sign_server_finish(srv, p.sop, p.resp, T0 + 1, &reply, &e));
  json_decref(reply);
  reply = NULL;
  assert_mk_fails(mk_sm2p_sign_server_finish(srv, p.sop, p.resp, T0 + 1, &reply, &e),
                  MK_EEXPIRED);
  assert_string_equal(e.msg, "operation already finished");
  assert_null(reply);
  /* the device answers one commit once */
  json_t *out = NULL;
  assert_mk_fails(mk_sm2p_sign_device_respond(dev, p.dop, p.commit, &out, &e), MK_EEXPIRED);
  pending_free(&p);

  /* last second of life, then expiry at exactly t + 120 */
  pending_start(dev, srv, &p);
  assert_mk_ok(mk_sm2p_sign_server_finish(srv, p.sop, p.resp, T0 + MK_SM2P_OP_TTL - 1, &reply,
                                          &e));
  json_decref(reply);
  reply = NULL;
  pending_free(&p);
  pending_start(dev, srv, &p);
  assert_mk_fails(mk_sm2p_sign_server_finish(srv, p.sop, p.resp, T0 + MK_SM2P_OP_TTL, &reply,
                                             &e),
                  MK_EEXPIRED);
  assert_string_equal(e.msg, "operation expired");
  assert_mk_fails(mk_sm2p_sign_server_finish(srv, p.sop, p.resp, T0 + 1, &reply, &e),
                  MK_EEXPIRED);
  assert_string_equal(e.msg, "operation already finished");
  pending_free(&p);

  /* an op of another key, and a decrypt op, are refused */
  mk_sm2p_device *dev2 = NULL;
  mk_sm2p_server *srv2 = NULL;
  keygen(&dev2, &srv2);
  pending_start(dev, srv, &p);
  assert_mk_fails(mk_sm2p_sign_server_finish(srv2, p.sop, p.resp, T0 + 1, &reply, &e),
                  MK_EINVAL);
  pending_free(&p);
  mk_sm2p_srvop *dec = NULL;
  json_t *ch = NULL;
  assert_mk_ok(mk_sm2p_decrypt_server_challenge(srv, T0, &dec, &ch, &e));
  pending_start(dev, srv, &p);
  assert_mk_fails(mk_sm2p_sign_server_finish(srv, dec, p.resp, T0 + 1, &reply, &e), MK_EINVAL);
  pending_free(&p);
  mk_sm2p_srvop_free(dec);
  json_decref(ch);

  mk_sm2p_device_free(dev2);
  mk_sm2p_server_free(srv2);
  mk_sm2p_device_free(dev);
  mk_sm2p_server_free(srv);
}

/* A device share with another d1 for the same P: the server's [s1]P1 check
 * catches it (MK_EAUTH, counted by the caller). */
static mk_sm2p_device *other_d1(const mk_sm2p_device *dev) {
  mk_buf b;
  mk_sm2p_device *bad = NULL;
  mk_buf_init(&b, 1024);
  assert_mk_ok(mk_sm2p_device_encode(dev, &b, NULL));
  assert_int_equal(b.len, MK_SM2P_DEVICE_SHARE_LEN);
  b.data[6 + 31] ^= 0x01;
  assert_mk_ok(mk_sm2p_device_decode(b.data, b.len, &bad, NULL));
  mk_buf_free_secret(&b);
  return bad;
}

static void test_sign_wrong_device_share(void **state) {
  (void)state;
  mk_sm2p_device *dev = NULL, *bad = NULL;
  mk_sm2p_server *srv = NULL;
  unsigned char sig[MK_SM2P_SIG_MAX];
  size_t siglen;
  mk_err e;
  keygen(&dev, &srv);
  bad = other_d1(dev);
  assert_mk_fails(sign(bad, srv, NULL, "m", 1, sig, &siglen, &e), MK_EAUTH);
  assert_string_equal(e.msg, "device share check failed");
  /* the right share still works */
  assert_mk_ok(sign(dev, srv, NULL, "m", 1, sig, &siglen, &e));
  mk_sm2p_device_free(bad);
  mk_sm2p_device_free(dev);
  mk_sm2p_server_free(srv);
}

static void test_sign_device_checks_result(void **state) {
  (void)state;
  mk_sm2p_device *dev = NULL;
  mk_sm2p_server *srv = NULL;
  json_t *result = NULL;
  unsigned char sig[MK_SM2P_SIG_MAX], der[80];
  size_t siglen = 0;
  mk_err e;
  struct pending p;
  keygen(&dev, &srv);

  pending_start(dev, srv, &p);
  /* finish before respond is refused, and too small a buffer */
  assert_mk_ok(mk_sm2p_sign_server_finish(srv, p.sop, p.resp, T0 + 1, &result, &e));
  assert_mk_fails(mk_sm2p_sign_device_finish(dev, p.dop, result, sig, 70, &siglen, &e),
                  MK_ETOOBIG);
  size_t n = get_b64(result, "sig", der, sizeof der);

  /* a valid-looking signature with s + 1 */
  const unsigned char *q = der;
  ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &q, (long)n);
  assert_non_null(s);
  const BIGNUM *r0 = NULL, *s0 = NULL;
  ECDSA_SIG_get0(s, &r0, &s0);
  BIGNUM *r1 = BN_dup(r0), *s1 = BN_dup(s0);
  assert_int_equal(BN_add_word(s1, 1), 1);
  if (BN_cmp(s1, order()) >= 0)
    BN_set_word(s1, 1);
  assert_int_equal(ECDSA_SIG_set0(s, r1, s1), 1);
  unsigned char *der2 = NULL;
  int n2 = i2d_ECDSA_SIG(s, &der2);
  assert_true(n2 > 0);
  json_t *bad = json_deep_copy(result);
  set_b64(bad, "sig", der2, (size_t)n2);
  assert_mk_fails(mk_sm2p_sign_device_finish(dev, p.dop, bad, sig, sizeof sig, &siglen, &e),
                  MK_EPROTO);
  /* spent */
  assert_mk_fails(mk_sm2p_sign_device_finish(dev, p.dop, result, sig, sizeof sig, &siglen, &e),
                  MK_EEXPIRED);
  json_decref(bad);
  OPENSSL_free(der2);
  ECDSA_SIG_free(s);
  pending_free(&p);

  /* non-canonical DER (a superfluous leading zero in r) */
  pending_start(dev, srv, &p);
  json_decref(result);
  assert_mk_ok(mk_sm2p_sign_server_finish(srv, p.sop, p.resp, T0 + 1, &result, &e));
  n = get_b64(result, "sig", der, sizeof der);
  unsigned char nc[80];
  size_t rl = der[3];
  if (rl == 32 && der[4] < 0x80) {
    nc[0] = 0x30;
    nc[1] = (unsigned char)(der[1] + 1);
    nc[2] = 0x02;
    nc[3] = 33;
    nc[4] = 0;
    memcpy(nc + 5, der + 4, n - 4);
  } else {
    /* r needs its 00 already: drop the sequence into BER long form */
    nc[0] = 0x30;
    nc[1] = 0x81;
    nc[2] = der[1];
    memcpy(nc + 3, der + 2, n - 2);
  }
  bad = json_deep_copy(result);
  set_b64(bad, "sig", nc, n + 1);
  assert_mk_fails(mk_sm2p_sign_device_finish(dev, p.dop, bad, sig, sizeof sig, &siglen, &e),
                  MK_EINVAL);
  json_decref(bad);
  pending_free(&p);

  /* a sign op used for decryption, and respond before begin's state */
  pending_start(dev, srv, &p);
  unsigned char pt[4];
  size_t ptlen;
  assert_mk_fails(mk_sm2p_decrypt_device_finish(dev, p.dop, result, pt, sizeof pt, &ptlen, &e),
                  MK_EINVAL);
  assert_int_equal(mk_sm2p_decrypt_plaintext_len(p.dop), 0);
  pending_free(&p);

  json_decref(result);
  mk_sm2p_device_free(dev);
  mk_sm2p_server_free(srv);
}

/* ---- a malicious server --------------------------------------------------- */

/* c = SM3("mkey-sm2p-keygen-v1" || P1 || P || R) mod n, as the device computes it. */
static BIGNUM *keygen_c(const unsigned char p1[65], const unsigned char p[65],
                        const unsigned char r[65]) {
  unsigned char buf[19 + 3 * 65], h[32];
  memcpy(buf, "mkey-sm2p-keygen-v1", 19);
  memcpy(buf + 19, p1, 65);
  memcpy(buf + 19 + 65, p, 65);
  memcpy(buf + 19 + 130, r, 65);
  assert_mk_ok(mk_sm3(buf, sizeof buf, h, NULL));
  BIGNUM *c = BN_bin2bn(h, 32, NULL);
  BN_CTX *ctx = BN_CTX_new();
  assert_int_equal(BN_nnmod(c, c, order(), ctx), 1);
  BN_CTX_free(ctx);
  return c;
}

/* d2 and P1 of a server share, as a server would have them. */
static void server_secrets(const mk_sm2p_server *srv, BIGNUM **d2, EC_POINT **p1) {
  mk_buf b;
  mk_buf_init(&b, 1024);
  assert_mk_ok(mk_sm2p_server_encode(srv, &b, NULL));
  *d2 = BN_bin2bn(b.data + 6, 32, NULL);
  assert_mk_ok(mk_ec_point_decode(b.data + 38, 65, "P1", p1, NULL));
  mk_buf_free_secret(&b);
}

/* The honest answer with fixed d1, d2 and proof nonce k2: P is the GM/T
 * 0003.5 public key and the proof is R = [k2]P1, z = k2 + c d2^-1 mod n,
 * each value recomputed here apart from the module. */
static void test_keygen_proof_kat(void **state) {
  (void)state;
  mk_sm2p_devkeygen *st = NULL;
  mk_sm2p_server *srv = NULL;
  mk_sm2p_device *dev = NULL;
  json_t *msg = NULL, *reply = NULL;
  unsigned char p1[65], p[65], rb[65], zb[32], want[65];
  mk_err e;
  BN_CTX *ctx = BN_CTX_new();
  BIGNUM *d = bn_hex(kat_d), *d1 = bn_hex(kat_d1), *d2 = BN_new(), *k2 = bn_hex(kat_w1);
  assert_int_equal(BN_add_word(d, 1), 1);
  assert_int_equal(BN_mod_mul(d2, d, d1, order(), ctx), 1);
  assert_non_null(BN_mod_inverse(d2, d2, order(), ctx));
  rng_push_bn("d1", d1);
  rng_push_bn("d2", d2);
  rng_push_bn("k2", k2);
  assert_mk_ok(mk_sm2p_keygen_device_begin(&st, &msg, &e));
  msg = wire(msg);
  assert_mk_ok(mk_sm2p_keygen_server(msg, &srv, &reply, &e));
  reply = wire(reply);
  assert_int_equal(rng_i, 3);
  /* v, alg, op, step, p, proof_r, proof_z */
  assert_int_equal(json_object_size(reply), 7);
  get_b64(msg, "p1", p1, sizeof p1);
  get_b64(reply, "p", p, sizeof p);
  hex(kat_pub, want, sizeof want);
  assert_memory_equal(p, want, 65);

  EC_POINT *pt1 = NULL, *r = EC_POINT_new(grp());
  assert_mk_ok(mk_ec_point_decode(p1, 65, "P1", &pt1, NULL));
  assert_int_equal(EC_POINT_mul(grp(), r, NULL, pt1, k2, ctx), 1);
  assert_mk_ok(mk_ec_point_encode(r, want, NULL));
  assert_int_equal(get_b64(reply, "proof_r", rb, sizeof rb), 65);
  assert_memory_equal(rb, want, 65);
  BIGNUM *c = keygen_c(p1, p, rb), *z = BN_new(), *x = BN_new();
  assert_non_null(BN_mod_inverse(x, d2, order(), ctx));
  assert_int_equal(BN_mod_mul(z, c, x, order(), ctx), 1);
  assert_int_equal(BN_mod_add(z, z, k2, order(), ctx), 1);
  bn32(z, want);
  assert_int_equal(get_b64(reply, "proof_z", zb, sizeof zb), 32);
  assert_memory_equal(zb, want, 32);

  assert_mk_ok(mk_sm2p_keygen_device_finish(st, reply, &dev, &e));
  mk_sm2p_device_public(dev, want);
  assert_memory_equal(p, want, 65);

  EC_POINT_free(pt1);
  EC_POINT_free(r);
  BN_free(c);
  BN_free(z);
  BN_free(x);
  BN_free(d);
  BN_free(d1);
  BN_free(d2);
  BN_free(k2);
  BN_CTX_free(ctx);
  mk_sm2p_devkeygen_free(st);
  json_decref(msg);
  json_decref(reply);
  mk_sm2p_device_free(dev);
  mk_sm2p_server_free(srv);
}

/* A server that answers keygen with a key of its own, P' = [d']G, has no
 * proof for it over P1 (that needs d1): every such "stored" is MK_EPROTO,
 * and the honest answer still completes afterwards. */
static void test_keygen_malicious_server(void **state) {
  (void)state;
  mk_sm2p_devkeygen *st = NULL;
  mk_sm2p_server *srv = NULL;
  mk_sm2p_device *dev = NULL;
  json_t *msg = NULL, *reply = NULL;
  unsigned char p1[65], p[65], pp[65], rb[65], zb[32];
  mk_err e;
  BN_CTX *ctx = BN_CTX_new();
  assert_mk_ok(mk_sm2p_keygen_device_begin(&st, &msg, &e));
  assert_mk_ok(mk_sm2p_keygen_server(msg, &srv, &reply, &e));
  get_b64(msg, "p1", p1, sizeof p1);
  get_b64(reply, "p", p, sizeof p);
  EC_POINT *pt1 = NULL;
  assert_mk_ok(mk_ec_point_decode(p1, 65, "P1", &pt1, NULL));

  /* the server's own key d' (here the GM/T example key) */
  BIGNUM *dd = bn_hex(kat_d), *x = BN_dup(dd), *k = bn_hex(kat_k), *z = BN_new();
  assert_int_equal(BN_add_word(x, 1), 1); /* P' + G = [d' + 1]G */
  EC_POINT *pt = EC_POINT_new(grp()), *r = EC_POINT_new(grp());
  assert_int_equal(EC_POINT_mul(grp(), pt, dd, NULL, NULL, ctx), 1);
  assert_mk_ok(mk_ec_point_encode(pt, pp, NULL));

  struct {
    const char *why;
    int base_p1;          /* R = [k]P1 (else [k]G) */
    const unsigned char *p;
  } forged[] = {
      {"a proof of d' + 1 over G", 0, pp},
      {"d' + 1 used as if it were d2^-1 over P1", 1, pp},
  };
  for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
    const EC_POINT *base = forged[i].base_p1 ? pt1 : EC_GROUP_get0_generator(grp());
    assert_int_equal(EC_POINT_mul(grp(), r, NULL, base, k, ctx), 1);
    assert_mk_ok(mk_ec_point_encode(r, rb, NULL));
    BIGNUM *c = keygen_c(p1, forged[i].p, rb);
    assert_int_equal(BN_mod_mul(z, c, x, order(), ctx), 1);
    assert_int_equal(BN_mod_add(z, z, k, order(), ctx), 1);
    bn32(z, zb);
    json_t *bad = json_deep_copy(reply);
    set_b64(bad, "p", forged[i].p, 65);
    set_b64(bad, "proof_r", rb, 65);
    set_b64(bad, "proof_z", zb, 32);
    assert_mk_fails(mk_sm2p_keygen_device_finish(st, bad, &dev, &e), MK_EPROTO);
    assert_string_equal(e.msg, "p: the server's keygen proof does not check");
    assert_null(dev);
    json_decref(bad);
    BN_free(c);
  }
  /* P' with the honest proof (made for the honest P) */
  json_t *bad = json_deep_copy(reply);
  set_b64(bad, "p", pp, 65);
  assert_mk_fails(mk_sm2p_keygen_device_finish(st, bad, &dev, &e), MK_EPROTO);
  json_decref(bad);
  /* the honest P with a changed z, or another R */
  get_b64(reply, "proof_z", zb, sizeof zb);
  zb[31] ^= 1;
  bad = json_deep_copy(reply);
  set_b64(bad, "proof_z", zb, 32);
  assert_mk_fails(mk_sm2p_keygen_device_finish(st, bad, &dev, &e), MK_EPROTO);
  json_decref(bad);
  bad = json_deep_copy(reply);
  set_b64(bad, "proof_r", pp, 65);
  assert_mk_fails(mk_sm2p_keygen_device_finish(st, bad, &dev, &e), MK_EPROTO);
  json_decref(bad);
  /* malformed proofs: no proof at all (the earlier format), z = 0, R off the curve */
  bad = json_deep_copy(reply);
  json_object_del(bad, "proof_r");
  json_object_del(bad, "proof_z");
  assert_mk_fails(mk_sm2p_keygen_device_finish(st, bad, &dev, &e), MK_EINVAL);
  json_decref(bad);
  memset(zb, 0, sizeof zb);
  bad = json_deep_copy(reply);
  set_b64(bad, "proof_z", zb, 32);
  assert_mk_fails(mk_sm2p_keygen_device_finish(st, bad, &dev, &e), MK_EINVAL);
  json_decref(bad);
  get_b64(reply, "proof_r", rb, sizeof rb);
  rb[64] ^= 1;
  bad = json_deep_copy(reply);
  set_b64(bad, "proof_r", rb, 65);
  assert_mk_fails(mk_sm2p_keygen_device_finish(st, bad, &dev, &e), MK_EINVAL);
  json_decref(bad);
  assert_null(dev);

  /* refusals leave the keygen open: the honest answer completes it */
  assert_mk_ok(mk_sm2p_keygen_device_finish(st, reply, &dev, &e));
  unsigned char got[65];
  mk_sm2p_device_public(dev, got);
  assert_memory_equal(got, p, 65);

  EC_POINT_free(pt1);
  EC_POINT_free(pt);
  EC_POINT_free(r);
  BN_free(dd);
  BN_free(x);
  BN_free(k);
  BN_free(z);
  BN_CTX_free(ctx);
  mk_sm2p_devkeygen_free(st);
  json_decref(msg);
  json_decref(reply);
  mk_sm2p_device_free(dev);
  mk_sm2p_server_free(srv);
}

/* The commit carries exactly Q2; anything else is refused before a nonce
 * is drawn, and the operation is answered (spent) all the same. */
static void test_sign_commit_strict(void **state) {
  (void)state;
  mk_sm2p_device *dev = NULL;
  mk_sm2p_server *srv = NULL;
  unsigned char q2[65], rb[32];
  mk_err e;
  keygen(&dev, &srv);
  for (int i = 0; i < 5; i++) {
    mk_sm2p_devop *dop = NULL;
    mk_sm2p_srvop *sop = NULL;
    json_t *req = NULL, *commit = NULL, *out = NULL;
    assert_mk_ok(mk_sm2p_sign_device_begin(dev, NULL, 0, "m", 1, &dop, &req, &e));
    assert_mk_ok(mk_sm2p_sign_server_begin(srv, req, T0, &sop, &commit, &e));
    /* v, alg, op, step, q2 */
    assert_int_equal(json_object_size(commit), 5);
    get_b64(commit, "q2", q2, sizeof q2);
    json_t *bad = json_deep_copy(commit);
    memset(rb, 0x11, sizeof rb);
    if (i == 0) {
      json_object_del(bad, "q2");
    } else if (i == 1) {
      q2[64] ^= 1; /* off the curve */
      set_b64(bad, "q2", q2, 65);
    } else if (i == 2) {
      set_b64(bad, "r", rb, 32); /* the earlier format's server-chosen r */
    } else if (i == 3) {
      json_object_del(bad, "q2"); /* the earlier format: r alone */
      set_b64(bad, "r", rb, 32);
    } else {
      set_b64(bad, "q2", q2, 33);
    }
    assert_mk_fails(mk_sm2p_sign_device_respond(dev, dop, bad, &out, &e), MK_EINVAL);
    assert_null(out);
    assert_mk_fails(mk_sm2p_sign_device_respond(dev, dop, commit, &out, &e), MK_EEXPIRED);
    assert_null(out);
    json_decref(bad);
    json_decref(req);
    json_decref(commit);
    mk_sm2p_devop_free(dop);
    mk_sm2p_srvop_free(sop);
  }
  mk_sm2p_device_free(dev);
  mk_sm2p_server_free(srv);
}

/* The gap the commit order closes. Were the device to send Q1 first and
 * check the server's r against a bare Q2, a server could pick w2 for a
 * digest e' of its own, r' = e' + x(Q1 + [w2]P1), and send Q2 = Q' - Q1
 * with x(Q') = r' - e: the check passes and s1 completes a signature on
 * e'. Now Q2 comes first: the server can aim only at a guessed Q1 (here the
 * device's previous one), the device's fresh w1 makes r = e + x(Q1 + Q2),
 * and nothing the server can finish verifies for e'. A result for another
 * digest is MK_EPROTO on the device. */
static void test_sign_server_cannot_choose_digest(void **state) {
  (void)state;
  mk_sm2p_device *dev = NULL;
  mk_sm2p_server *srv = NULL;
  json_t *reply = NULL;
  unsigned char pub[65], z[32], eb[32], e2[32], q1b[65], q2b[65], s1b[32];
  unsigned char sig[MK_SM2P_SIG_MAX];
  size_t siglen = 0;
  mk_err e;
  BN_CTX *ctx = BN_CTX_new();
  keygen(&dev, &srv);
  BIGNUM *d2 = NULL;
  EC_POINT *p1 = NULL;
  server_secrets(srv, &d2, &p1);
  mk_sm2p_device_public(dev, pub);
  assert_mk_ok(mk_sm2_za((const unsigned char *)MK_SM2_ID_DEFAULT, 16, pub, z, NULL));
  assert_mk_ok(mk_sm2_e(z, "pay 1000000", 11, e2, NULL));
  EVP_PKEY *pk = device_pkey(dev);

  /* an earlier, honest exchange: the Q1 the server will aim at */
  struct pending old;
  pending_start(dev, srv, &old);
  get_b64(old.resp, "q1", q1b, sizeof q1b);
  EC_POINT *q1_guess = NULL;
  assert_mk_ok(mk_ec_point_decode(q1b, 65, "Q1", &q1_guess, NULL));

  /* the user signs "pay 10"; the request carries e only */
  mk_sm2p_devop *dop = NULL;
  json_t *req = NULL, *resp = NULL;
  assert_mk_ok(mk_sm2p_sign_device_begin(dev, NULL, 0, "pay 10", 6, &dop, &req, &e));
  assert_null(json_object_get(req, "q1"));
  get_b64(req, "e", eb, sizeof eb);

  /* the attack's commit, aimed at the guessed Q1 */
  BIGNUM *ebn = BN_bin2bn(eb, 32, NULL), *e2bn = BN_bin2bn(e2, 32, NULL);
  BIGNUM *w2 = BN_new(), *x = BN_new(), *r2 = BN_new(), *X = BN_new();
  EC_POINT *qs = EC_POINT_new(grp()), *qp = EC_POINT_new(grp()), *q2 = EC_POINT_new(grp());
  for (int found = 0; !found;) {
    assert_int_equal(BN_rand_range(w2, order()), 1);
    assert_int_equal(EC_POINT_mul(grp(), qs, NULL, p1, w2, ctx), 1);
    assert_int_equal(EC_POINT_add(grp(), qs, qs, q1_guess, ctx), 1);
    assert_int_equal(EC_POINT_get_affine_coordinates(grp(), qs, x, NULL, ctx), 1);
    assert_int_equal(BN_mod_add(r2, e2bn, x, order(), ctx), 1);
    assert_int_equal(BN_mod_sub(X, r2, ebn, order(), ctx), 1);
    found = EC_POINT_set_compressed_coordinates(grp(), qp, X, 0, ctx) == 1;
  }
  assert_int_equal(EC_POINT_copy(q2, q1_guess), 1);
  assert_int_equal(EC_POINT_invert(grp(), q2, ctx), 1);
  assert_int_equal(EC_POINT_add(grp(), q2, qp, q2, ctx), 1);
  assert_mk_ok(mk_ec_point_encode(q2, q2b, NULL));
  json_t *commit = json_pack("{s:i, s:s, s:s, s:s}", "v", 1, "alg", "sm2", "op", "sign", "step",
                             "commit");
  set_b64(commit, "q2", q2b, 65);
  /* any valid Q2 is answered: the device's own fresh w1 decides r */
  assert_mk_ok(mk_sm2p_sign_device_respond(dev, dop, commit, &resp, &e));
  get_b64(resp, "q1", q1b, sizeof q1b);
  EC_POINT *q1 = NULL;
  assert_mk_ok(mk_ec_point_decode(q1b, 65, "Q1", &q1, NULL));
  assert_int_not_equal(EC_POINT_cmp(grp(), q1, q1_guess, ctx), 0);

  /* the server finishes with its w2, for r' (the attack's) and for the r
   * the device used; neither is a signature on e' */
  get_b64(resp, "s1", s1b, sizeof s1b);
  BIGNUM *s1 = BN_bin2bn(s1b, 32, NULL), *r = BN_new();
  EC_POINT *q = EC_POINT_new(grp());
  assert_int_equal(EC_POINT_add(grp(), q, q1, q2, ctx), 1);
  assert_int_equal(EC_POINT_get_affine_coordinates(grp(), q, x, NULL, ctx), 1);
  assert_int_equal(BN_mod_add(r, ebn, x, order(), ctx), 1);
  const BIGNUM *rs[] = {r2, r};
  for (size_t i = 0; i < 2; i++) {
    BIGNUM *s = BN_new();
    assert_int_equal(BN_mod_add(s, s1, w2, order(), ctx), 1);
    assert_int_equal(BN_mod_mul(s, s, d2, order(), ctx), 1);
    assert_int_equal(BN_mod_sub(s, s, rs[i], order(), ctx), 1);
    ECDSA_SIG *es = ECDSA_SIG_new();
    assert_int_equal(ECDSA_SIG_set0(es, BN_dup(rs[i]), s), 1);
    unsigned char *der = NULL;
    int dl = i2d_ECDSA_SIG(es, &der);
    assert_true(dl > 0);
    EVP_PKEY_CTX *vc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    assert_int_equal(EVP_PKEY_verify_init(vc), 1);
    assert_int_not_equal(EVP_PKEY_verify(vc, der, (size_t)dl, e2, 32), 1);
    assert_int_not_equal(EVP_PKEY_verify(vc, der, (size_t)dl, eb, 32), 1);
    EVP_PKEY_CTX_free(vc);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
  }

  /* a genuine signature of this key on another digest is refused too */
  struct pending other;
  pending_start(dev, srv, &other);
  assert_mk_ok(mk_sm2p_sign_server_finish(srv, other.sop, other.resp, T0 + 1, &reply, &e));
  assert_mk_fails(mk_sm2p_sign_device_finish(dev, dop, reply, sig, sizeof sig, &siglen, &e),
                  MK_EPROTO);
  assert_string_equal(e.msg, "sig: the server's signature is not for this operation");
  /* while the same result finishes the operation it belongs to */
  assert_mk_ok(mk_sm2p_sign_device_finish(dev, other.dop, reply, sig, sizeof sig, &siglen, &e));
  assert_int_equal(ossl_verify(pk, MK_SM2_ID_DEFAULT, "m", 1, sig, siglen), 1);

  json_decref(reply);
  pending_free(&other);
  pending_free(&old);
  EC_POINT_free(q1_guess);
  EC_POINT_free(q1);
  EC_POINT_free(q);
  EC_POINT_free(qs);
  EC_POINT_free(qp);
  EC_POINT_free(q2);
  EC_POINT_free(p1);
  BN_free(d2);
  BN_free(ebn);
  BN_free(e2bn);
  BN_free(w2);
  BN_free(x);
  BN_free(r2);
  BN_free(X);
  BN_free(s1);
  BN_free(r);
  BN_CTX_free(ctx);
  EVP_PKEY_free(pk);
  mk_sm2p_devop_free(dop);
  json_decref(req);
  json_decref(commit);
  json_decref(resp);
  mk_sm2p_device_free(dev);
  mk_sm2p_server_free(srv);
}

/* ---- shares ------------------------------------------------------------- */

static void test_share_codec(void **state) {
  (void)state;
  mk_sm2p_device *dev = NULL, *dev2 = NULL;
  mk_sm2p_server *srv = NULL, *srv2 = NULL;
  mk_buf a, b;
  unsigned char sig[MK_SM2P_SIG_MAX];
  size_t siglen;
  mk_err e;
  kat_keygen(&dev, &srv);
  mk_buf_init(&a, 1024);
  mk_buf_init(&b, 1024);

  assert_mk_ok(mk_sm2p_device_encode(dev, &a, &e));
  assert_int_equal(a.len, MK_SM2P_DEVICE_SHARE_LEN);
  assert_memory_equal(a.data, "MKSU\x01\x01", 6);
  unsigned char d1[32], pub[65];
  hex(kat_d1, d1, 32);
  hex(kat_pub, pub, 65);
  assert_memory_equal(a.data + 6, d1, 32);
  assert_memory_equal(a.data + 38, pub, 65);
  assert_mk_ok(mk_sm2p_device_decode(a.data, a.len, &dev2, &e));
  assert_mk_ok(mk_sm2p_device_encode(dev2, &b, &e));
  assert_int_equal(a.len, b.len);
  assert_memory_equal(a.data, b.data, a.len);
  mk_buf_free_secret(&a);
  mk_buf_free_secret(&b);
  mk_buf_init(&a, 1024);
  mk_buf_init(&b, 1024);

  assert_mk_ok(mk_sm2p_server_encode(srv, &a, &e));
  assert_int_equal(a.len, MK_SM2P_SERVER_SHARE_LEN);
  assert_memory_equal(a.data, "MKSS\x01\x01", 6);
  assert_memory_equal(a.data + 6 + 32 + 65, pub, 65);
  assert_mk_ok(mk_sm2p_server_decode(a.data, a.len, &srv2, &e));
  assert_mk_ok(mk_sm2p_server_encode(srv2, &b, &e));
  assert_memory_equal(a.data, b.data, a.len);

  /* decoded shares work together */
  assert_mk_ok(sign(dev2, srv2, NULL, "m", 1, sig, &siglen, &e));
  EVP_PKEY *pk = device_pkey(dev);
  assert_int_equal(ossl_verify(pk, MK_SM2_ID_DEFAULT, "m", 1, sig, siglen), 1);
  EVP_PKEY_free(pk);

  mk_buf_free_secret(&a);
  mk_buf_free_secret(&b);
  mk_sm2p_device_free(dev2);
  mk_sm2p_server_free(srv2);
  mk_sm2p_device_free(dev);
  mk_sm2p_server_free(srv);
  mk_sm2p_device_free(NULL);
  mk_sm2p_server_free(NULL);
}

static void test_share_decode_negative(void **state) {
  (void)state;
  mk_sm2p_device *dev = NULL, *d = NULL;
  mk_sm2p_server *srv = NULL, *s = NULL, *other_srv = NULL;
  mk_sm2p_device *other_dev = NULL;
  mk_buf a, b, o;
  unsigned char t[MK_SM2P_SERVER_SHARE_LEN + 1];
  mk_err e;
  keygen(&dev, &srv);
  keygen(&other_dev, &other_srv);
  mk_buf_init(&a, 1024);
  mk_buf_init(&b, 1024);
  mk_buf_init(&o, 1024);
  assert_mk_ok(mk_sm2p_device_encode(dev, &a, &e));
  assert_mk_ok(mk_sm2p_server_encode(srv, &b, &e));
  assert_mk_ok(mk_sm2p_server_encode(other_srv, &o, &e));

  /* device: length, magic, version, alg, d1 = 0, d1 = n, P off curve, P = -G */
  assert_mk_fails(mk_sm2p_device_decode(a.data, a.len - 1, &d, &e), MK_EINVAL);
  memcpy(t, a.data, a.len);
  t[a.len] = 0;
  assert_mk_fails(mk_sm2p_device_decode(t, a.len + 1, &d, &e), MK_EINVAL);
  assert_mk_fails(mk_sm2p_device_decode(b.data, b.len, &d, &e), MK_EINVAL);
  const size_t offs[] = {0, 4, 5};
  for (size_t i = 0; i < 3; i++) {
    memcpy(t, a.data, a.len);
    t[offs[i]] ^= 0x02;
    assert_mk_fails(mk_sm2p_device_decode(t, a.len, &d, &e), MK_EINVAL);
  }
  memcpy(t, a.data, a.len);
  memset(t + 6, 0, 32);
  assert_mk_fails(mk_sm2p_device_decode(t, a.len, &d, &e), MK_EINVAL);
  bn32(order(), t + 6);
  assert_mk_fails(mk_sm2p_device_decode(t, a.len, &d, &e), MK_EINVAL);
  memcpy(t, a.data, a.len);
  t[a.len - 1] ^= 1;
  assert_mk_fails(mk_sm2p_device_decode(t, a.len, &d, &e), MK_EINVAL);
  EC_POINT *ng = EC_POINT_dup(EC_GROUP_get0_generator(grp()), grp());
  assert_int_equal(EC_POINT_invert(grp(), ng, NULL), 1);
  memcpy(t, a.data, a.len);
  assert_mk_ok(mk_ec_point_encode(ng, t + 38, NULL));
  EC_POINT_free(ng);
  assert_mk_fails(mk_sm2p_device_decode(t, a.len, &d, &e), MK_EINVAL);
  assert_null(d);

  /* server: tampered d2, P1 or P, shares of two keys spliced */
  assert_mk_fails(mk_sm2p_server_decode(a.data, a.len, &s, &e), MK_EINVAL);
  assert_mk_fails(mk_sm2p_server_decode(b.data, b.len - 1, &s, &e), MK_EINVAL);
  memcpy(t, b.data, b.len);
  t[6 + 31] ^= 1;
  assert_mk_fails(mk_sm2p_server_decode(t, b.len, &s, &e), MK_EINVAL);
  assert_non_null(strstr(e.msg, "do not give P"));
  memcpy(t, b.data, b.len);
  memcpy(t + 6 + 32 + 65, o.data + 6 + 32 + 65, 65);
  assert_mk_fails(mk_sm2p_server_decode(t, b.len, &s, &e), MK_EINVAL);
  memcpy(t, b.data, b.len);
  memcpy(t + 6 + 32, o.data + 6 + 32, 65);
  assert_mk_fails(mk_sm2p_server_decode(t, b.len, &s, &e), MK_EINVAL);
  memcpy(t, b.data, b.len);
  t[6 + 32 + 64] ^= 1;
  assert_mk_fails(mk_sm2p_server_decode(t, b.len, &s, &e), MK_EINVAL);
  memcpy(t, b.data, b.len);
  t[4] = 2;
  assert_mk_fails(mk_sm2p_server_decode(t, b.len, &s, &e), MK_EINVAL);
  memcpy(t, b.data, b.len);
  t[5] = 2;
  assert_mk_fails(mk_sm2p_server_decode(t, b.len, &s, &e), MK_EINVAL);
  assert_null(s);

  mk_buf_free_secret(&a);
  mk_buf_free_secret(&b);
  mk_buf_free_secret(&o);
  mk_sm2p_device_free(dev);
  mk_sm2p_server_free(srv);
  mk_sm2p_device_free(other_dev);
  mk_sm2p_server_free(other_srv);
}

/* ---- decrypt ------------------------------------------------------------ */

static void test_decrypt_openssl_ciphertexts(void **state) {
  (void)state;
  mk_sm2p_device *dev = NULL;
  mk_sm2p_server *srv = NULL;
  mk_err e;
  keygen(&dev, &srv);
  EVP_PKEY *pub = device_pkey(dev);
  const size_t sizes[] = {1, 31, 32, 33, 100, 1000, 70000, MK_SM2P_C2_MAX};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    unsigned char *msg = malloc(sizes[i]), *pt = NULL;
    size_t ctlen = 0, ptlen = 0;
    assert_non_null(msg);
    assert_int_equal(RAND_bytes(msg, (int)sizes[i]), 1);
    unsigned char *ct = ossl_encrypt(pub, msg, sizes[i], &ctlen);
    assert_mk_ok(decrypt(dev, srv, ct, ctlen, &pt, &ptlen, &e));
    assert_int_equal(ptlen, sizes[i]);
    assert_memory_equal(pt, msg, sizes[i]);
    /* our DER codec gives OpenSSL's bytes back */
    mk_sm2p_ct c;
    mk_buf b;
    mk_buf_init(&b, MK_SM2P_CT_MAX);
    assert_mk_ok(mk_sm2p_ct_decode(ct, ctlen, &c, &e));
    assert_mk_ok(mk_sm2p_ct_encode(&c, &b, &e));
    assert_int_equal(b.len, ctlen);
    assert_memory_equal(b.data, ct, ctlen);
    mk_buf_free(&b);
    free(msg);
    free(ct);
    free(pt);
  }
  EVP_PKEY_free(pub);
  mk_sm2p_device_free(dev);
  mk_sm2p_server_free(srv);
}

static unsigned char *kat_ciphertext(size_t *len) {
  mk_sm2p_ct c;
  unsigned char c2[19];
  mk_buf b;
  hex(kat_c1, c.c1, sizeof c.c1);
  hex(kat_c3, c.c3, sizeof c.c3);
  hex(kat_c2, c2, sizeof c2);
  c.c2 = c2;
  c.c2_len = sizeof c2;
  mk_buf_init(&b, 4096);
  assert_mk_ok(mk_sm2p_ct_encode(&c, &b, NULL));
  return mk_buf_detach(&b, len);
}

/* GM/T 0003.5 Appendix C through the two-party code. */
static void test_decrypt_kat(void **state) {
  (void)state;
  mk_sm2p_device *dev = NULL;
  mk_sm2p_server *srv = NULL;
  unsigned char *pt = NULL;
  size_t ctlen, ptlen;
  mk_err e;
  kat_keygen(&dev, &srv);
  unsigned char *ct = kat_ciphertext(&ctlen);
  /* x fits 32 bytes as a positive INTEGER, y needs a leading 00 */
  assert_int_equal(ctlen, 2 + 34 + 35 + 34 + 21);
  assert_mk_ok(decrypt(dev, srv, ct, ctlen, &pt, &ptlen, &e));
  assert_int_equal(ptlen, 19);
  assert_memory_equal(pt, "encryption standard", 19);
  free(pt);
  free(ct);
  mk_sm2p_device_free(dev);
  mk_sm2p_server_free(srv);
}

/* One decryption exchange up to the device's request. */
struct dpending {
  mk_sm2p_devop *dop;
  mk_sm2p_srvop *sop;
  json_t *ch, *req;
};

static void dpending_start(const mk_sm2p_device *dev, const mk_sm2p_server *srv,
                           const unsigned char *ct, size_t ctlen, struct dpending *p) {
  memset(p, 0, sizeof *p);
  assert_mk_ok(mk_sm2p_decrypt_server_challenge(srv, T0, &p->sop, &p->ch, NULL));
  assert_mk_ok(mk_sm2p_decrypt_device_begin(dev, ct, ctlen, p->ch, &p->dop, &p->req, NULL));
}

static void dpending_free(struct dpending *p) {
  mk_sm2p_devop_free(p->dop);
  mk_sm2p_srvop_free(p->sop);
  json_decref(p->ch);
  json_decref(p->req);
}

static void test_decrypt_proof_checks(void **state) {
  (void)state;
  mk_sm2p_device *dev = NULL, *bad_dev = NULL;
  mk_sm2p_server *srv = NULL;
  json_t *reply = NULL;
  unsigned char *pt = NULL, v[70];
  size_t ctlen, ptlen;
  mk_err e;
  kat_keygen(&dev, &srv);
  unsigned char *ct = kat_ciphertext(&ctlen);
  struct dpending p;

  /* wrong device share: its proof is for another P1 */
  bad_dev = other_d1(dev);
  assert_mk_fails(decrypt(bad_dev, srv, ct, ctlen, &pt, &ptlen, &e), MK_EAUTH);
  assert_string_equal(e.msg, "device share check failed");
  free(pt);

  /* tampered proof_z, proof_r and t1 (each still well-formed) */
  const char *keys[] = {"proof_z", "proof_r", "t1"};
  for (size_t i = 0; i < 3; i++) {
    dpending_start(dev, srv, ct, ctlen, &p);
    json_t *bad = json_deep_copy(p.req);
    if (i == 0) {
      get_b64(bad, "proof_z", v, 32);
      v[31] ^= 1;
      set_b64(bad, "proof_z", v, 32);
    } else {
      /* swap in the other point of the request */
      get_b64(bad, i == 1 ? "t1" : "proof_r", v, 65);
      set_b64(bad, keys[i], v, 65);
    }
    assert_mk_fails(mk_sm2p_decrypt_server_finish(srv, p.sop, bad, T0 + 1, &reply, &e),
                    MK_EAUTH);
    assert_null(reply);
    json_decref(bad);
    dpending_free(&p);
  }

  /* a good request answers its own challenge only */
  struct dpending q;
  dpending_start(dev, srv, ct, ctlen, &p);
  dpending_start(dev, srv, ct, ctlen, &q);
  assert_mk_fails(mk_sm2p_decrypt_server_finish(srv, q.sop, p.req, T0 + 1, &reply, &e),
                  MK_EAUTH);
  assert_mk_ok(mk_sm2p_decrypt_server_finish(srv, p.sop, p.req, T0 + 1, &reply, &e));
  json_decref(reply);
  reply = NULL;
  /* replay */
  assert_mk_fails(mk_sm2p_decrypt_server_finish(srv, p.sop, p.req, T0 + 1, &reply, &e),
                  MK_EEXPIRED);
  assert_string_equal(e.msg, "operation already finished");
  dpending_free(&p);
  dpending_free(&q);

  /* expiry */
  dpending_start(dev, srv, ct, ctlen, &p);
  assert_mk_fails(mk_sm2p_decrypt_server_finish(srv, p.sop, p.req, T0 + MK_SM2P_OP_TTL, &reply,
                                                &e),
                  MK_EEXPIRED);
  assert_string_equal(e.msg, "operation expired");
  dpending_free(&p);

  /* malformed request fields */
  const struct {
    const char *key;
    size_t n;
  } lens[] = {{"t1", 64}, {"proof_r", 66}, {"proof_z", 31}, {"proof_z", 33}};
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    dpending_start(dev, srv, ct, ctlen, &p);
    json_t *bad = json_deep_copy(p.req);
    memset(v, 0x42, sizeof v);
    set_b64(bad, lens[i].key, v, lens[i].n);
    assert_mk_fails(mk_sm2p_decrypt_server_finish(srv, p.sop, bad, T0 + 1, &reply, &e),
                    MK_EINVAL);
    json_decref(bad);
    dpending_free(&p);
  }
  /* proof_z = 0 and t1 off the curve */
  dpending_start(dev, srv, ct, ctlen, &p);
  json_t *bad = json_deep_copy(p.req);
  memset(v, 0, 32);
  set_b64(bad, "proof_z", v, 32);
  assert_mk_fails(mk_sm2p_decrypt_server_finish(srv, p.sop, bad, T0 + 1, &reply, &e), MK_EINVAL);
  json_decref(bad);
  dpending_free(&p);
  dpending_start(dev, srv, ct, ctlen, &p);
  bad = json_deep_copy(p.req);
  get_b64(bad, "t1", v, 65);
  v[64] ^= 1;
  set_b64(bad, "t1", v, 65);
  assert_mk_fails(mk_sm2p_decrypt_server_finish(srv, p.sop, bad, T0 + 1, &reply, &e), MK_EINVAL);
  json_decref(bad);
  dpending_free(&p);

  /* a challenge message of the wrong shape */
  mk_sm2p_srvop *sop = NULL;
  json_t *ch = NULL, *out = NULL;
  mk_sm2p_devop *dop = NULL;
  assert_mk_ok(mk_sm2p_decrypt_server_challenge(srv, T0, &sop, &ch, &e));
  bad = json_deep_copy(ch);
  json_object_set_new(bad, "op", json_string("sign"));
  assert_mk_fails(mk_sm2p_decrypt_device_begin(dev, ct, ctlen, bad, &dop, &out, &e), MK_EINVAL);
  json_decref(bad);
  bad = json_deep_copy(ch);
  set_b64(bad, "challenge", v, 31);
  assert_mk_fails(mk_sm2p_decrypt_device_begin(dev, ct, ctlen, bad, &dop, &out, &e), MK_EINVAL);
  assert_null(dop);
  assert_null(out);
  json_decref(bad);
  json_decref(ch);
  mk_sm2p_srvop_free(sop);

  free(ct);
  mk_sm2p_device_free(bad_dev);
  mk_sm2p_device_free(dev);
  mk_sm2p_server_free(srv);
}

static void test_decrypt_bad_ciphertexts(void **state) {
  (void)state;
  mk_sm2p_device *dev = NULL;
  mk_sm2p_server *srv = NULL;
  unsigned char *pt = NULL;
  size_t ctlen, ptlen;
  mk_err e;
  kat_keygen(&dev, &srv);
  unsigned char *ct = kat_ciphertext(&ctlen);
  unsigned char *t = malloc(ctlen + 8);
  assert_non_null(t);

  /* wrong C3, tampered C2: one generic failure, plaintext wiped */
  const size_t c3_at = ctlen - 21 - 32, c2_at = ctlen - 19;
  const size_t flips[] = {c3_at, c3_at + 31, c2_at, ctlen - 1};
  for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
    memcpy(t, ct, ctlen);
    t[flips[i]] ^= 0x80;
    assert_mk_fails(decrypt(dev, srv, t, ctlen, &pt, &ptlen, &e), MK_ECRYPTO);
    assert_string_equal(e.msg, "decryption failed");
    unsigned char zero[19] = {0};
    assert_memory_equal(pt, zero, 19);
    free(pt);
  }
  /* C1 off the curve */
  memcpy(t, ct, ctlen);
  t[4 + 31] ^= 1;
  assert_mk_fails(decrypt(dev, srv, t, ctlen, &pt, &ptlen, &e), MK_EINVAL);
  /* every truncation */
  for (size_t n = 0; n < ctlen; n++)
    assert_mk_fails(decrypt(dev, srv, ct, n, &pt, &ptlen, &e), MK_EINVAL);
  /* trailing byte */
  memcpy(t, ct, ctlen);
  t[ctlen] = 0;
  assert_mk_fails(decrypt(dev, srv, t, ctlen + 1, &pt, &ptlen, &e), MK_EINVAL);

  /* a server answer that is a valid point but wrong */
  struct dpending p;
  json_t *reply = NULL;
  dpending_start(dev, srv, ct, ctlen, &p);
  assert_mk_ok(mk_sm2p_decrypt_server_finish(srv, p.sop, p.req, T0 + 1, &reply, &e));
  unsigned char buf[19], g[65];
  /* too small a buffer is refused before anything is spent */
  assert_int_equal(mk_sm2p_decrypt_plaintext_len(p.dop), 19);
  assert_mk_fails(mk_sm2p_decrypt_device_finish(dev, p.dop, reply, buf, 18, &ptlen, &e),
                  MK_ETOOBIG);
  json_t *bad = json_deep_copy(reply);
  assert_mk_ok(mk_ec_point_encode(EC_GROUP_get0_generator(grp()), g, NULL));
  set_b64(bad, "t2", g, 65);
  assert_mk_fails(mk_sm2p_decrypt_device_finish(dev, p.dop, bad, buf, sizeof buf, &ptlen, &e),
                  MK_ECRYPTO);
  assert_string_equal(e.msg, "decryption failed");
  /* spent */
  assert_mk_fails(mk_sm2p_decrypt_device_finish(dev, p.dop, reply, buf, sizeof buf, &ptlen, &e),
                  MK_EEXPIRED);
  json_decref(bad);
  json_decref(reply);
  dpending_free(&p);

  free(t);
  free(ct);
  mk_sm2p_device_free(dev);
  mk_sm2p_server_free(srv);
}

static void test_ct_der_strict(void **state) {
  (void)state;
  mk_sm2p_ct c;
  size_t len;
  mk_err e;
  unsigned char *ct = kat_ciphertext(&len);
  unsigned char t[300];
  assert_mk_ok(mk_sm2p_ct_decode(ct, len, &c, &e));
  assert_int_equal(c.c2_len, 19);
  assert_ptr_equal(c.c2, ct + len - 19);

  /* indefinite length */
  memcpy(t, ct, len);
  t[1] = 0x80;
  assert_mk_fails(mk_sm2p_ct_decode(t, len, &c, &e), MK_EINVAL);
  /* long form where the short one fits: 30 81 7c */
  t[0] = 0x30;
  t[1] = 0x81;
  memcpy(t + 2, ct + 1, len - 1);
  assert_mk_fails(mk_sm2p_ct_decode(t, len + 1, &c, &e), MK_EINVAL);
  /* INTEGER x with a superfluous leading zero */
  t[0] = 0x30;
  t[1] = (unsigned char)(ct[1] + 1);
  t[2] = 0x02;
  t[3] = 33;
  t[4] = 0;
  memcpy(t + 5, ct + 4, len - 4);
  assert_mk_fails(mk_sm2p_ct_decode(t, len + 1, &c, &e), MK_EINVAL);
  /* y without its leading zero reads as negative */
  memcpy(t, ct, len);
  size_t y_at = 2 + 34;
  assert_int_equal(t[y_at + 1], 33);
  t[1] -= 1;
  t[y_at + 1] = 32;
  memmove(t + y_at + 2, t + y_at + 3, len - y_at - 3);
  assert_mk_fails(mk_sm2p_ct_decode(t, len - 1, &c, &e), MK_EINVAL);
  /* C3 of 31 bytes */
  memcpy(t, ct, len);
  size_t c3_at = len - 21 - 34;
  assert_int_equal(t[c3_at], 0x04);
  t[1] -= 1;
  t[c3_at + 1] = 31;
  memmove(t + c3_at + 2, t + c3_at + 3, len - c3_at - 3);
  assert_mk_fails(mk_sm2p_ct_decode(t, len - 1, &c, &e), MK_EINVAL);
  /* empty C2 */
  memcpy(t, ct, len);
  t[1] = (unsigned char)(t[1] - 19);
  t[len - 20] = 0;
  assert_mk_fails(mk_sm2p_ct_decode(t, len - 19, &c, &e), MK_EINVAL);
  /* wrong outer tag, wrong inner tags */
  memcpy(t, ct, len);
  t[0] = 0x31;
  assert_mk_fails(mk_sm2p_ct_decode(t, len, &c, &e), MK_EINVAL);
  memcpy(t, ct, len);
  t[2] = 0x04;
  assert_mk_fails(mk_sm2p_ct_decode(t, len, &c, &e), MK_EINVAL);
  /* encoder refuses what the decoder would */
  mk_buf b;
  mk_buf_init(&b, 4096);
  c.c2_len = 0;
  assert_mk_fails(mk_sm2p_ct_encode(&c, &b, &e), MK_EINVAL);
  assert_int_equal(b.len, 0);
  mk_buf_free(&b);
  free(ct);

  /* C2 one byte over the cap: refused as too big, not parsed */
  size_t big = MK_SM2P_C2_MAX + 1, n = 0;
  unsigned char *huge = calloc(1, big + 200);
  assert_non_null(huge);
  unsigned char c1[65];
  hex(kat_c1, c1, 65);
  size_t body = 34 + 35 + 34 + 5 + big;
  huge[n++] = 0x30;
  huge[n++] = 0x83;
  huge[n++] = (unsigned char)(body >> 16);
  huge[n++] = (unsigned char)(body >> 8);
  huge[n++] = (unsigned char)body;
  huge[n++] = 0x02;
  huge[n++] = 32;
  memcpy(huge + n, c1 + 1, 32);
  n += 32;
  huge[n++] = 0x02;
  huge[n++] = 33;
  huge[n++] = 0;
  memcpy(huge + n, c1 + 33, 32);
  n += 32;
  huge[n++] = 0x04;
  huge[n++] = 32;
  n += 32;
  huge[n++] = 0x04;
  huge[n++] = 0x83;
  huge[n++] = (unsigned char)(big >> 16);
  huge[n++] = (unsigned char)(big >> 8);
  huge[n++] = (unsigned char)big;
  n += big;
  assert_mk_fails(mk_sm2p_ct_decode(huge, n, &c, &e), MK_ETOOBIG);
  free(huge);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_ec_point_codec, rng_teardown),
      cmocka_unit_test_teardown(test_ec_scalar_codec, rng_teardown),
      cmocka_unit_test_teardown(test_sign_verifies_with_openssl, rng_teardown),
      cmocka_unit_test_teardown(test_sign_kat, rng_teardown),
      cmocka_unit_test_teardown(test_public_key_spki, rng_teardown),
      cmocka_unit_test_teardown(test_keygen_negative, rng_teardown),
      cmocka_unit_test_teardown(test_keygen_infinity_redraw, rng_teardown),
      cmocka_unit_test_teardown(test_sign_request_strict, rng_teardown),
      cmocka_unit_test_teardown(test_sign_nonce_redraw, rng_teardown),
      cmocka_unit_test_teardown(test_sign_s1_out_of_range, rng_teardown),
      cmocka_unit_test_teardown(test_sign_replay_and_expiry, rng_teardown),
      cmocka_unit_test_teardown(test_sign_wrong_device_share, rng_teardown),
      cmocka_unit_test_teardown(test_sign_device_checks_result, rng_teardown),
      cmocka_unit_test_teardown(test_keygen_proof_kat, rng_teardown),
      cmocka_unit_test_teardown(test_keygen_malicious_server, rng_teardown),
      cmocka_unit_test_teardown(test_sign_commit_strict, rng_teardown),
      cmocka_unit_test_teardown(test_sign_server_cannot_choose_digest, rng_teardown),
      cmocka_unit_test_teardown(test_share_codec, rng_teardown),
      cmocka_unit_test_teardown(test_share_decode_negative, rng_teardown),
      cmocka_unit_test_teardown(test_decrypt_openssl_ciphertexts, rng_teardown),
      cmocka_unit_test_teardown(test_decrypt_kat, rng_teardown),
      cmocka_unit_test_teardown(test_decrypt_proof_checks, rng_teardown),
      cmocka_unit_test_teardown(test_decrypt_bad_ciphertexts, rng_teardown),
      cmocka_unit_test_teardown(test_ct_der_strict, rng_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
