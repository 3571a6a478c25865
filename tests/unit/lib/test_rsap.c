/*
 * Two-party RSA (crypto/rsap) judged by OpenSSL's single-key code: a split
 * key signs byte for byte what OpenSSL signs with the whole key (PKCS#1 v1.5
 * is deterministic), verifies with EVP_DigestVerify and `openssl dgst`, and
 * opens what EVP_PKEY_encrypt and `openssl pkeyutl` made with RSA-OAEP
 * SHA-256. Keys: tests/vectors/rsa/rsa{2048,3072}.pem (openssl genpkey), and
 * rsa2048.{device,server}.bin, a committed split of rsa2048.pem. Then every
 * way to break the protocol: wrong shares, bad fields, replay, expiry.
 */
#include "mk_test.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/rsap.h"
#include "util/enc.h"
#include "util/json.h"

#define T0 1767225600 /* 2026-01-01T00:00:00Z */

struct fixture {
  int bits;
  size_t k;
  EVP_PKEY *key; /* the whole key, as OpenSSL holds it */
  mk_rsap_device *dev;
  mk_rsap_server *srv;
  unsigned char n[MK_RSAP_MAX_BYTES];
};

/* ---- helpers ---------------------------------------------------------------- */

/* ctest sets MKEY_SOURCE_DIR; run by hand, the vectors sit beside the
 * source tree this file was compiled from. */
static char *vector_path(const char *name) {
  static char path[4096];
  const char *src = getenv("MKEY_SOURCE_DIR");
  if (src != NULL) {
    snprintf(path, sizeof path, "%s/tests/vectors/rsa/%s", src, name);
  } else {
    const char *slash = strrchr(__FILE__, '/');
    int dir = slash ? (int)(slash - __FILE__) : 1;
    snprintf(path, sizeof path, "%.*s/../../vectors/rsa/%s", dir, slash ? __FILE__ : ".", name);
  }
  return path;
}

static unsigned char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  unsigned char *b = malloc(1 << 16);
  assert_non_null(b);
  *len = fread(b, 1, 1 << 16, f);
  fclose(f);
  return b;
}

static EVP_PKEY *load_key(const char *name) {
  FILE *f = fopen(vector_path(name), "r");
  assert_non_null(f);
  EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
  fclose(f);
  assert_non_null(k);
  return k;
}

static void bn_param(const EVP_PKEY *key, const char *name, unsigned char *out, size_t len) {
  BIGNUM *x = NULL;
  assert_int_equal(EVP_PKEY_get_bn_param(key, name, &x), 1);
  assert_int_equal(BN_bn2binpad(x, out, (int)len), (int)len);
  BN_clear_free(x);
}

static int fixture_setup(void **state, const char *file, int bits) {
  struct fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->bits = bits;
  f->k = (size_t)bits / 8;
  f->key = load_key(file);
  mk_err e;
  assert_mk_ok(mk_rsap_split(f->key, bits, &f->dev, &f->srv, &e));
  bn_param(f->key, OSSL_PKEY_PARAM_RSA_N, f->n, f->k);
  *state = f;
  return 0;
}

static int setup_2048(void **state) { return fixture_setup(state, "rsa2048.pem", 2048); }
static int setup_3072(void **state) { return fixture_setup(state, "rsa3072.pem", 3072); }

static int fixture_teardown(void **state) {
  struct fixture *f = *state;
  mk_rsap_device_free(f->dev);
  mk_rsap_server_free(f->srv);
  EVP_PKEY_free(f->key);
  free(f);
  return 0;
}

static void digest(const EVP_MD *md, const void *msg, size_t len, unsigned char out[32]) {
  unsigned int n = 0;
  assert_int_equal(EVP_Digest(msg, len, out, &n, md, NULL), 1);
  assert_int_equal(n, 32);
}

/* Both halves of a signature in one process; returns the first failure. */
static int two_party_sign(const mk_rsap_device *dev, const mk_rsap_server *srv, mk_rsap_hash h,
                          const unsigned char dg[32], unsigned char *sig, size_t *sig_len,
                          mk_err *e) {
  mk_rsap_devop *op = NULL;
  json_t *req = NULL, *resp = NULL;
  int rc = mk_rsap_sign_device(dev, h, dg, 32, &op, &req, e);
  if (rc == 0)
    rc = mk_rsap_sign_server(srv, req, &resp, e);
  if (rc == 0)
    rc = mk_rsap_sign_device_finish(dev, op, resp, sig, MK_RSAP_MAX_BYTES, sig_len, e);
  mk_rsap_devop_free(op);
  mk_rsap_msg_free(req);
  mk_rsap_msg_free(resp);
  return rc;
}

static int two_party_decrypt(const mk_rsap_device *dev, const mk_rsap_server *srv,
                             const unsigned char *ct, size_t ct_len, unsigned char *pt,
                             size_t *pt_len, mk_err *e) {
  mk_rsap_srvop *sop = NULL;
  mk_rsap_devop *dop = NULL;
  json_t *ch = NULL, *req = NULL, *resp = NULL;
  int rc = mk_rsap_decrypt_challenge(srv, T0, &sop, &ch, e);
  if (rc == 0)
    rc = mk_rsap_decrypt_device(dev, ch, ct, ct_len, &dop, &req, e);
  if (rc == 0)
    rc = mk_rsap_decrypt_server(srv, sop, T0 + 1, req, &resp, e);
  if (rc == 0)
    rc = mk_rsap_decrypt_device_finish(dev, dop, resp, pt, MK_RSAP_PLAINTEXT_MAX, pt_len, e);
  mk_rsap_srvop_free(sop);
  mk_rsap_devop_free(dop);
  mk_rsap_msg_free(ch);
  mk_rsap_msg_free(req);
  mk_rsap_msg_free(resp);
  return rc;
}

/* RSA-OAEP with SHA-256 and MGF1-SHA-256, as `openssl pkeyutl -encrypt
 * -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256` does. */
static size_t oaep_encrypt(EVP_PKEY *pub, const EVP_MD *md, const unsigned char *pt, size_t len,
                           unsigned char *ct) {
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
  assert_non_null(c);
  assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
  assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING), 1);
  assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(c, md), 1);
  assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(c, md), 1);
  size_t n = MK_RSAP_MAX_BYTES;
  assert_int_equal(EVP_PKEY_encrypt(c, ct, &n, pt, len), 1);
  EVP_PKEY_CTX_free(c);
  return n;
}

/* A copy of msg with key set to value (NULL: removed); value is taken. */
static json_t *with(const json_t *msg, const char *key, json_t *value) {
  json_t *m = json_deep_copy(msg);
  assert_non_null(m);
  if (value == NULL)
    json_object_del(m, key);
  else
    assert_int_equal(json_object_set_new(m, key, value), 0);
  return m;
}

static json_t *b64(const unsigned char *p, size_t n) {
  char text[1024];
  int len = mk_base64url_encode(p, n, text, sizeof text, NULL);
  assert_true(len >= 0);
  return json_stringn(text, (size_t)len);
}

static int has_bytes(const unsigned char *hay, size_t hn, const unsigned char *needle, size_t nn) {
  return memmem(hay, hn, needle, nn) != NULL;
}

/* ---- known answers and interop (each key size) ------------------------------- */

/* PKCS#1 v1.5 with SHA-256 is deterministic: the two-party signature must be
 * OpenSSL's own signature with the unsplit key, byte for byte. */
static void test_sign_sha256_kat(void **state) {
  struct fixture *f = *state;
  static const char *msgs[] = {"", "abc", "mkey bid file 2026-001: 投标文件"};
  for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
    unsigned char want[MK_RSAP_MAX_BYTES], got[MK_RSAP_MAX_BYTES], dg[32];
    size_t want_len = sizeof want, got_len = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, f->key, NULL), 1);
    assert_int_equal(
        EVP_DigestSign(md, want, &want_len, (const unsigned char *)msgs[i], strlen(msgs[i])), 1);
    EVP_MD_CTX_free(md);

    digest(EVP_sha256(), msgs[i], strlen(msgs[i]), dg);
    mk_err e;
    assert_mk_ok(two_party_sign(f->dev, f->srv, MK_RSAP_HASH_SHA256, dg, got, &got_len, &e));
    assert_int_equal(got_len, f->k);
    assert_int_equal(want_len, f->k);
    assert_memory_equal(got, want, f->k);

    /* The public key either half reports verifies it. */
    EVP_PKEY *pub = NULL;
    assert_mk_ok(mk_rsap_device_public_key(f->dev, &pub, &e));
    assert_int_equal(EVP_PKEY_eq(pub, f->key), 1);
    md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pub, NULL), 1);
    assert_int_equal(
        EVP_DigestVerify(md, got, got_len, (const unsigned char *)msgs[i], strlen(msgs[i])), 1);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pub);
  }
}

/* SM3: OpenSSL 3.0 refuses RSA with SM3 ("digest not allowed"), so the
 * answer is OpenSSL's raw RSA private operation on EM built here from the
 * DigestInfo bytes of GM/T 0006 (OID 1.2.156.10197.1.401), and the recovered
 * DigestInfo is parsed by OpenSSL's X509_SIG decoder. */
static void test_sign_sm3_kat(void **state) {
  struct fixture *f = *state;
  static const unsigned char di_sm3[] = {0x30, 0x30, 0x30, 0x0c, 0x06, 0x08, 0x2a, 0x81, 0x1c,
                                         0xcf, 0x55, 0x01, 0x83, 0x11, 0x05, 0x00, 0x04, 0x20};
  unsigned char dg[32], em[MK_RSAP_MAX_BYTES], want[MK_RSAP_MAX_BYTES], got[MK_RSAP_MAX_BYTES];
  size_t k = f->k, ps = k - sizeof di_sm3 - 32 - 3, got_len = 0, want_len = sizeof want;
  digest(EVP_sm3(), "abc", 3, dg);
  /* GB/T 32905-2016 appendix A.1: SM3("abc"). */
  static const unsigned char sm3_abc[32] = {
      0x66, 0xc7, 0xf0, 0xf4, 0x62, 0xee, 0xed, 0xd9, 0xd1, 0xf2, 0xd4, 0x6b, 0xdc, 0x10, 0xe4, 0xe2,
      0x41, 0x67, 0xc4, 0x87, 0x5c, 0xf2, 0xf7, 0xa2, 0x29, 0x7d, 0xa0, 0x2b, 0x8f, 0x4b, 0xa8, 0xe0};
  assert_memory_equal(dg, sm3_abc, 32);
  em[0] = 0x00;
  em[1] = 0x01;
  memset(em + 2, 0xff, ps);
  em[2 + ps] = 0x00;
  memcpy(em + 3 + ps, di_sm3, sizeof di_sm3);
  memcpy(em + 3 + ps + sizeof di_sm3, dg, 32);

  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, f->key, NULL);
  assert_int_equal(EVP_PKEY_decrypt_init(c), 1);
  assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING), 1);
  assert_int_equal(EVP_PKEY_decrypt(c, want, &want_len, em, k), 1);
  EVP_PKEY_CTX_free(c);
  assert_int_equal(want_len, k);

  mk_err e;
  assert_mk_ok(two_party_sign(f->dev, f->srv, MK_RSAP_HASH_SM3, dg, got, &got_len, &e));
  assert_int_equal(got_len, k);
  assert_memory_equal(got, want, k);

  /* Recover with the public key and read the DigestInfo back. */
  unsigned char rec[MK_RSAP_MAX_BYTES];
  size_t rec_len = sizeof rec;
  c = EVP_PKEY_CTX_new_from_pkey(NULL, f->key, NULL);
  assert_int_equal(EVP_PKEY_verify_recover_init(c), 1);
  assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING), 1);
  assert_int_equal(EVP_PKEY_verify_recover(c, rec, &rec_len, got, got_len), 1);
  EVP_PKEY_CTX_free(c);
  const unsigned char *p = rec;
  X509_SIG *sig = d2i_X509_SIG(NULL, &p, (long)rec_len);
  assert_non_null(sig);
  assert_true(p == rec + rec_len);
  const X509_ALGOR *alg = NULL;
  const ASN1_OCTET_STRING *os = NULL;
  X509_SIG_get0(sig, &alg, &os);
  const ASN1_OBJECT *oid = NULL;
  X509_ALGOR_get0(&oid, NULL, NULL, alg);
  assert_int_equal(OBJ_obj2nid(oid), NID_sm3);
  char txt[64];
  OBJ_obj2txt(txt, sizeof txt, oid, 1);
  assert_string_equal(txt, "1.2.156.10197.1.401");
  assert_int_equal(ASN1_STRING_length(os), 32);
  assert_memory_equal(ASN1_STRING_get0_data(os), dg, 32);
  X509_SIG_free(sig);
}

static void test_decrypt_oaep(void **state) {
  struct fixture *f = *state;
  EVP_PKEY *pub = NULL;
  mk_err e;
  assert_mk_ok(mk_rsap_server_public_key(f->srv, &pub, &e));
  assert_int_equal(EVP_PKEY_eq(pub, f->key), 1);
  size_t lens[] = {0, 1, 32, f->k - 66};
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    unsigned char pt[MK_RSAP_MAX_BYTES], ct[MK_RSAP_MAX_BYTES], out[MK_RSAP_MAX_BYTES];
    for (size_t j = 0; j < lens[i]; j++)
      pt[j] = (unsigned char)(j * 7 + i);
    size_t ct_len = oaep_encrypt(pub, EVP_sha256(), pt, lens[i], ct);
    assert_int_equal(ct_len, f->k);
    size_t out_len = 99;
    assert_mk_ok(two_party_decrypt(f->dev, f->srv, ct, ct_len, out, &out_len, &e));
    assert_int_equal(out_len, lens[i]);
    if (lens[i] > 0)
      assert_memory_equal(out, pt, lens[i]);
  }
  EVP_PKEY_free(pub);
}

/* The shares as the key-protection layer stores them hold N and one share,
 * never p, q or d; they round-trip exactly and still work. */
static void test_shares_hold_no_factors(void **state) {
  struct fixture *f = *state;
  unsigned char p[MK_RSAP_MAX_BYTES / 2], q[MK_RSAP_MAX_BYTES / 2], d[MK_RSAP_MAX_BYTES];
  size_t half = f->k / 2;
  bn_param(f->key, OSSL_PKEY_PARAM_RSA_FACTOR1, p, half);
  bn_param(f->key, OSSL_PKEY_PARAM_RSA_FACTOR2, q, half);
  bn_param(f->key, OSSL_PKEY_PARAM_RSA_D, d, f->k);
  mk_buf db, sb, again;
  mk_buf_init(&db, MK_RSAP_SHARE_MAX);
  mk_buf_init(&sb, MK_RSAP_SHARE_MAX);
  mk_buf_init(&again, MK_RSAP_SHARE_MAX);
  mk_err e;
  assert_mk_ok(mk_rsap_device_encode(f->dev, &db, &e));
  assert_mk_ok(mk_rsap_server_encode(f->srv, &sb, &e));
  assert_int_equal(db.len, 6 + 2 * f->k);
  assert_int_equal(sb.len, 6 + 2 * f->k);
  assert_memory_equal(db.data, "MKRU\x01", 5);
  assert_memory_equal(sb.data, "MKRS\x01", 5);
  assert_int_equal(db.data[5], f->bits == 2048 ? 1 : 2);
  assert_memory_equal(db.data + 6, f->n, f->k);
  for (int i = 0; i < 2; i++) {
    mk_buf *b = i ? &sb : &db;
    assert_false(has_bytes(b->data, b->len, p, half));
    assert_false(has_bytes(b->data, b->len, q, half));
    assert_false(has_bytes(b->data, b->len, d, f->k));
    /* Nor any 16-byte piece of them. */
    for (size_t off = 0; off + 16 <= half; off += 16) {
      assert_false(has_bytes(b->data, b->len, p + off, 16));
      assert_false(has_bytes(b->data, b->len, q + off, 16));
    }
  }
  assert_memory_not_equal(db.data + 6 + f->k, sb.data + 6 + f->k, f->k);

  mk_rsap_device *dev = NULL;
  mk_rsap_server *srv = NULL;
  assert_mk_ok(mk_rsap_device_decode(db.data, db.len, &dev, &e));
  assert_mk_ok(mk_rsap_server_decode(sb.data, sb.len, &srv, &e));
  assert_int_equal(mk_rsap_device_bits(dev), f->bits);
  assert_int_equal(mk_rsap_server_bits(srv), f->bits);
  assert_mk_ok(mk_rsap_device_encode(dev, &again, &e));
  assert_int_equal(again.len, db.len);
  assert_memory_equal(again.data, db.data, db.len);
  mk_buf_reset(&again);
  assert_mk_ok(mk_rsap_server_encode(srv, &again, &e));
  assert_memory_equal(again.data, sb.data, sb.len);

  unsigned char dg[32], s1[MK_RSAP_MAX_BYTES], s2[MK_RSAP_MAX_BYTES];
  size_t l1 = 0, l2 = 0;
  digest(EVP_sha256(), "shares", 6, dg);
  assert_mk_ok(two_party_sign(dev, srv, MK_RSAP_HASH_SHA256, dg, s1, &l1, &e));
  assert_mk_ok(two_party_sign(f->dev, f->srv, MK_RSAP_HASH_SHA256, dg, s2, &l2, &e));
  assert_memory_equal(s1, s2, f->k);

  mk_rsap_device_free(dev);
  mk_rsap_server_free(srv);
  mk_buf_free_secret(&db);
  mk_buf_free_secret(&sb);
  mk_buf_free_secret(&again);
  OPENSSL_cleanse(d, sizeof d);
}

/* Two splits of one key share nothing but N, and both sign the same. */
static void test_split_is_random(void **state) {
  struct fixture *f = *state;
  mk_rsap_device *dev = NULL;
  mk_rsap_server *srv = NULL;
  mk_err e;
  assert_mk_ok(mk_rsap_split(f->key, 0, &dev, &srv, &e));
  mk_buf a, b;
  mk_buf_init(&a, MK_RSAP_SHARE_MAX);
  mk_buf_init(&b, MK_RSAP_SHARE_MAX);
  assert_mk_ok(mk_rsap_device_encode(dev, &a, &e));
  assert_mk_ok(mk_rsap_device_encode(f->dev, &b, &e));
  assert_memory_equal(a.data, b.data, 6 + f->k);
  assert_memory_not_equal(a.data + 6 + f->k, b.data + 6 + f->k, f->k);
  unsigned char dg[32], s1[MK_RSAP_MAX_BYTES], s2[MK_RSAP_MAX_BYTES];
  size_t l1 = 0, l2 = 0;
  digest(EVP_sha256(), "random", 6, dg);
  assert_mk_ok(two_party_sign(dev, srv, MK_RSAP_HASH_SHA256, dg, s1, &l1, &e));
  assert_mk_ok(two_party_sign(f->dev, f->srv, MK_RSAP_HASH_SHA256, dg, s2, &l2, &e));
  assert_memory_equal(s1, s2, f->k);
  mk_buf_free_secret(&a);
  mk_buf_free_secret(&b);
  mk_rsap_device_free(dev);
  mk_rsap_server_free(srv);
}

/* The keygen flow as it runs over HTTP: text in between, the server's share
 * only ever in the "share" message. */
static void test_keygen_flow(void **state) {
  struct fixture *f = *state;
  mk_rsap_device *dev = NULL;
  mk_rsap_server *srv = NULL;
  json_t *msg = NULL, *wire = NULL, *reply = NULL, *wire2 = NULL;
  mk_err e;
  assert_mk_ok(mk_rsap_keygen_device(f->bits, &dev, &msg, &e));
  assert_int_equal(mk_rsap_device_bits(dev), f->bits);
  char *text = mk_json_dump(msg);
  assert_non_null(text);
  assert_mk_ok(mk_json_parse_object(text, strlen(text), 8192, &wire, &e));
  OPENSSL_cleanse(text, strlen(text));
  free(text);
  assert_mk_ok(mk_rsap_keygen_server(wire, &srv, &reply, &e));
  text = mk_json_dump(reply);
  assert_non_null(text);
  assert_mk_ok(mk_json_parse_object(text, strlen(text), 8192, &wire2, &e));
  free(text);
  assert_mk_ok(mk_rsap_keygen_device_finish(dev, wire2, &e));
  /* A reply naming another modulus: the server kept something else. */
  assert_mk_fails(mk_rsap_keygen_device_finish(f->dev, wire2, &e), MK_EPROTO);

  EVP_PKEY *pd = NULL, *ps = NULL;
  assert_mk_ok(mk_rsap_device_public_key(dev, &pd, &e));
  assert_mk_ok(mk_rsap_server_public_key(srv, &ps, &e));
  assert_int_equal(EVP_PKEY_eq(pd, ps), 1);
  assert_int_equal(EVP_PKEY_get_bits(pd), f->bits);
  BIGNUM *pe = NULL;
  assert_int_equal(EVP_PKEY_get_bn_param(pd, OSSL_PKEY_PARAM_RSA_E, &pe), 1);
  assert_true(BN_is_word(pe, 65537));
  BN_free(pe);

  unsigned char dg[32], sig[MK_RSAP_MAX_BYTES], ct[MK_RSAP_MAX_BYTES], pt[MK_RSAP_MAX_BYTES];
  size_t sl = 0, pl = 0;
  digest(EVP_sha256(), "keygen", 6, dg);
  assert_mk_ok(two_party_sign(dev, srv, MK_RSAP_HASH_SHA256, dg, sig, &sl, &e));
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  assert_int_equal(EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, ps, NULL), 1);
  assert_int_equal(EVP_DigestVerify(md, sig, sl, (const unsigned char *)"keygen", 6), 1);
  EVP_MD_CTX_free(md);
  size_t cl = oaep_encrypt(pd, EVP_sha256(), (const unsigned char *)"file key", 8, ct);
  assert_mk_ok(two_party_decrypt(dev, srv, ct, cl, pt, &pl, &e));
  assert_int_equal(pl, 8);
  assert_memory_equal(pt, "file key", 8);

  /* The SPKI DER is what pub.pem holds. */
  mk_buf der;
  mk_buf_init(&der, 4096);
  assert_mk_ok(mk_rsap_public_spki(pd, &der, &e));
  const unsigned char *p = der.data;
  EVP_PKEY *back = d2i_PUBKEY(NULL, &p, (long)der.len);
  assert_non_null(back);
  assert_int_equal(EVP_PKEY_eq(back, pd), 1);
  EVP_PKEY_free(back);
  mk_buf_free(&der);

  EVP_PKEY_free(pd);
  EVP_PKEY_free(ps);
  mk_rsap_msg_free(msg);
  mk_rsap_msg_free(wire);
  mk_rsap_msg_free(reply);
  mk_rsap_msg_free(wire2);
  mk_rsap_device_free(dev);
  mk_rsap_server_free(srv);
}

/* The stock `openssl` command as the other party: it verifies our signature
 * against pub.pem and makes the ciphertext we open. */
static void test_openssl_cli(void **state) {
  struct fixture *f = *state;
  if (system("openssl version >/dev/null 2>&1") != 0)
    skip();
  char dir[] = "/tmp/mk_rsap_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256], cmd[1024];
  mk_err e;
  EVP_PKEY *pub = NULL;
  assert_mk_ok(mk_rsap_device_public_key(f->dev, &pub, &e));
  snprintf(path, sizeof path, "%s/pub.pem", dir);
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  assert_int_equal(PEM_write_PUBKEY(fp, pub), 1);
  fclose(fp);
  EVP_PKEY_free(pub);

  static const char doc[] = "tender document\n";
  snprintf(path, sizeof path, "%s/doc.txt", dir);
  fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(doc, fp);
  fclose(fp);
  unsigned char dg[32], sig[MK_RSAP_MAX_BYTES];
  size_t sl = 0;
  digest(EVP_sha256(), doc, strlen(doc), dg);
  assert_mk_ok(two_party_sign(f->dev, f->srv, MK_RSAP_HASH_SHA256, dg, sig, &sl, &e));
  snprintf(path, sizeof path, "%s/doc.sig", dir);
  fp = fopen(path, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(sig, 1, sl, fp), sl);
  fclose(fp);
  snprintf(cmd, sizeof cmd,
           "cd %s && openssl dgst -sha256 -verify pub.pem -signature doc.sig doc.txt >/dev/null",
           dir);
  assert_int_equal(system(cmd), 0);

  snprintf(cmd, sizeof cmd,
           "cd %s && openssl pkeyutl -encrypt -pubin -inkey pub.pem -in doc.txt -out ct.bin "
           "-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256",
           dir);
  assert_int_equal(system(cmd), 0);
  snprintf(path, sizeof path, "%s/ct.bin", dir);
  size_t cl = 0;
  unsigned char *ct = read_all(path, &cl);
  unsigned char pt[MK_RSAP_MAX_BYTES];
  size_t pl = 0;
  assert_mk_ok(two_party_decrypt(f->dev, f->srv, ct, cl, pt, &pl, &e));
  assert_int_equal(pl, strlen(doc));
  assert_memory_equal(pt, doc, pl);
  free(ct);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

/* ---- split ------------------------------------------------------------------------ */

static void test_split_generates(void **state) {
  (void)state;
  mk_rsap_device *dev = NULL;
  mk_rsap_server *srv = NULL;
  mk_err e;
  assert_mk_ok(mk_rsap_split(NULL, 2048, &dev, &srv, &e));
  unsigned char dg[32], sig[MK_RSAP_MAX_BYTES];
  size_t sl = 0;
  digest(EVP_sha256(), "x", 1, dg);
  assert_mk_ok(two_party_sign(dev, srv, MK_RSAP_HASH_SHA256, dg, sig, &sl, &e));
  assert_int_equal(sl, 256);
  mk_rsap_device_free(dev);
  mk_rsap_server_free(srv);
}

static void test_split_refuses(void **state) {
  struct fixture *f = *state;
  mk_rsap_device *dev = NULL;
  mk_rsap_server *srv = NULL;
  mk_err e;
  assert_mk_fails(mk_rsap_split(NULL, 1024, &dev, &srv, &e), MK_EINVAL);
  assert_mk_fails(mk_rsap_split(NULL, 4096, &dev, &srv, &e), MK_EINVAL);
  assert_mk_fails(mk_rsap_split(f->key, 3072, &dev, &srv, &e), MK_EINVAL);
  assert_null(dev);
  assert_null(srv);
  assert_mk_fails(mk_rsap_split(f->key, 0, NULL, &srv, &e), MK_EINVAL);

  /* A public key has nothing to split. */
  EVP_PKEY *pub = NULL;
  assert_mk_ok(mk_rsap_device_public_key(f->dev, &pub, &e));
  assert_mk_fails(mk_rsap_split(pub, 0, &dev, &srv, &e), MK_EINVAL);
  EVP_PKEY_free(pub);

  /* Not RSA; RSA of another size; another public exponent. */
  EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  assert_non_null(ec);
  assert_mk_fails(mk_rsap_split(ec, 0, &dev, &srv, &e), MK_EINVAL);
  EVP_PKEY_free(ec);
  EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
  assert_non_null(small);
  assert_mk_fails(mk_rsap_split(small, 0, &dev, &srv, &e), MK_EINVAL);
  EVP_PKEY_free(small);
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
  BIGNUM *three = BN_new();
  assert_true(BN_set_word(three, 3));
  EVP_PKEY *e3 = NULL;
  assert_int_equal(EVP_PKEY_keygen_init(c), 1);
  assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(c, 2048), 1);
  assert_int_equal(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(c, three), 1);
  assert_int_equal(EVP_PKEY_keygen(c, &e3), 1);
  assert_mk_fails(mk_rsap_split(e3, 0, &dev, &srv, &e), MK_EINVAL);
  assert_non_null(strstr(e.msg, "65537"));
  EVP_PKEY_free(e3);
  BN_free(three);
  EVP_PKEY_CTX_free(c);
  assert_null(dev);
  assert_null(srv);
}

/* The committed split of rsa2048.pem (the fuzz target's key) still decodes
 * and signs what OpenSSL signs with the whole key. */
static void test_committed_shares(void **state) {
  struct fixture *f = *state;
  size_t dl = 0, sl = 0;
  unsigned char *db = read_all(vector_path("rsa2048.device.bin"), &dl);
  unsigned char *sb = read_all(vector_path("rsa2048.server.bin"), &sl);
  mk_rsap_device *dev = NULL;
  mk_rsap_server *srv = NULL;
  mk_err e;
  assert_mk_ok(mk_rsap_device_decode(db, dl, &dev, &e));
  assert_mk_ok(mk_rsap_server_decode(sb, sl, &srv, &e));
  unsigned char dg[32], s1[MK_RSAP_MAX_BYTES], s2[MK_RSAP_MAX_BYTES];
  size_t l1 = 0, l2 = sizeof s2;
  digest(EVP_sha256(), "abc", 3, dg);
  assert_mk_ok(two_party_sign(dev, srv, MK_RSAP_HASH_SHA256, dg, s1, &l1, &e));
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  assert_int_equal(EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, f->key, NULL), 1);
  assert_int_equal(EVP_DigestSign(md, s2, &l2, (const unsigned char *)"abc", 3), 1);
  EVP_MD_CTX_free(md);
  assert_memory_equal(s1, s2, 256);
  /* Shares of different splits do not fit together. */
  assert_mk_fails(two_party_sign(dev, f->srv, MK_RSAP_HASH_SHA256, dg, s1, &l1, &e), MK_EAUTH);
  /* rsa2048.oaep.bin was made by `openssl pkeyutl -encrypt` (make_vectors.py). */
  size_t cl = 0, pl = 0;
  unsigned char *ct = read_all(vector_path("rsa2048.oaep.bin"), &cl);
  assert_mk_ok(two_party_decrypt(dev, srv, ct, cl, s2, &pl, &e));
  assert_int_equal(pl, 21);
  assert_memory_equal(s2, "fuzz corpus plaintext", 21);
  free(ct);
  mk_rsap_device_free(dev);
  mk_rsap_server_free(srv);
  OPENSSL_cleanse(db, dl);
  OPENSSL_cleanse(sb, sl);
  free(db);
  free(sb);
}

/* ---- sign: negatives ----------------------------------------------------------------- */

static json_t *sign_request(const struct fixture *f, const mk_rsap_device *dev, const char *text,
                            mk_rsap_devop **op) {
  unsigned char dg[32];
  json_t *req = NULL;
  mk_rsap_devop *o = NULL;
  digest(EVP_sha256(), text, strlen(text), dg);
  assert_mk_ok(mk_rsap_sign_device(dev ? dev : f->dev, MK_RSAP_HASH_SHA256, dg, 32, &o, &req,
                                   NULL));
  if (op != NULL)
    *op = o;
  else
    mk_rsap_devop_free(o);
  return req;
}

/* Run the server on msg (taken) and expect code. */
static void expect_sign_server(const struct fixture *f, json_t *msg, int code) {
  json_t *resp = (json_t *)0x1;
  mk_err e;
  mk_err_clear(&e);
  assert_mk_fails(mk_rsap_sign_server(f->srv, msg, &resp, &e), code);
  assert_null(resp);
  assert_int_equal(e.code, code);
  assert_true(e.msg[0] != '\0');
  json_decref(msg);
}

static void test_sign_wrong_device_share(void **state) {
  struct fixture *f = *state;
  mk_rsap_device *other = NULL;
  mk_rsap_server *other_srv = NULL;
  mk_err e;
  assert_mk_ok(mk_rsap_split(f->key, 0, &other, &other_srv, &e));
  json_t *req = sign_request(f, other, "bid", NULL);
  json_t *resp = NULL;
  assert_mk_fails(mk_rsap_sign_server(f->srv, req, &resp, &e), MK_EAUTH);
  assert_string_equal(e.msg, "device share check failed");
  assert_null(resp);
  mk_rsap_msg_free(req);
  mk_rsap_device_free(other);
  mk_rsap_server_free(other_srv);
}

static void test_sign_tampered_server_share(void **state) {
  struct fixture *f = *state;
  mk_buf b;
  mk_buf_init(&b, MK_RSAP_SHARE_MAX);
  mk_err e;
  assert_mk_ok(mk_rsap_server_encode(f->srv, &b, &e));
  b.data[6 + f->k + f->k / 2] ^= 0x10; /* one bit of d_s */
  mk_rsap_server *bad = NULL;
  assert_mk_ok(mk_rsap_server_decode(b.data, b.len, &bad, &e));
  json_t *req = sign_request(f, NULL, "bid", NULL), *resp = NULL;
  assert_mk_fails(mk_rsap_sign_server(bad, req, &resp, &e), MK_EAUTH);
  assert_null(resp);
  mk_rsap_msg_free(req);
  mk_rsap_server_free(bad);
  mk_buf_free_secret(&b);
}

static void test_sign_request_fields(void **state) {
  struct fixture *f = *state;
  json_t *req = sign_request(f, NULL, "fields", NULL);
  unsigned char buf[MK_RSAP_MAX_BYTES + 1];
  size_t k = f->k;

  /* The untouched request works. */
  json_t *resp = NULL;
  assert_mk_ok(mk_rsap_sign_server(f->srv, req, &resp, NULL));
  json_decref(resp);

  /* s_u = 0, = N, > N, one byte short, one byte long. */
  memset(buf, 0, k);
  expect_sign_server(f, with(req, "s_u", b64(buf, k)), MK_EINVAL);
  expect_sign_server(f, with(req, "s_u", b64(f->n, k)), MK_EINVAL);
  memset(buf, 0xff, k);
  expect_sign_server(f, with(req, "s_u", b64(buf, k)), MK_EINVAL);
  memset(buf, 0x01, sizeof buf);
  expect_sign_server(f, with(req, "s_u", b64(buf, k - 1)), MK_EINVAL);
  expect_sign_server(f, with(req, "s_u", b64(buf, k + 1)), MK_EINVAL);
  /* s_u = N - 1 is in range but wrong: counted. */
  memcpy(buf, f->n, k);
  buf[k - 1] -= 1;
  expect_sign_server(f, with(req, "s_u", b64(buf, k)), MK_EAUTH);

  /* digest: 31 and 33 bytes, padded, standard-alphabet characters, a
   * non-canonical last character, not a string. */
  memset(buf, 0x3e, 33);
  expect_sign_server(f, with(req, "digest", b64(buf, 31)), MK_EINVAL);
  expect_sign_server(f, with(req, "digest", b64(buf, 33)), MK_EINVAL);
  char text[64];
  assert_int_equal(mk_base64url_encode(buf, 32, text, sizeof text, NULL), 43);
  strcat(text, "=");
  expect_sign_server(f, with(req, "digest", json_string(text)), MK_EINVAL);
  text[43] = '\0';
  text[0] = '+';
  expect_sign_server(f, with(req, "digest", json_string(text)), MK_EINVAL);
  assert_int_equal(mk_base64url_encode(buf, 32, text, sizeof text, NULL), 43);
  text[42] = 'B'; /* 43 chars carry 258 bits: the last two must be zero */
  expect_sign_server(f, with(req, "digest", json_string(text)), MK_EINVAL);
  expect_sign_server(f, with(req, "digest", json_integer(5)), MK_EINVAL);
  expect_sign_server(f, with(req, "digest", json_string("")), MK_EINVAL);

  /* Another digest than the one s_u was made for: the server builds m
   * itself, so the share no longer fits. Same with another hash name. */
  memset(buf, 0x42, 32);
  expect_sign_server(f, with(req, "digest", b64(buf, 32)), MK_EAUTH);
  expect_sign_server(f, with(req, "hash", json_string("sm3")), MK_EAUTH);
  expect_sign_server(f, with(req, "hash", json_string("sha1")), MK_EINVAL);
  expect_sign_server(f, with(req, "hash", json_string("SHA256")), MK_EINVAL);
  expect_sign_server(f, with(req, "hash", json_null()), MK_EINVAL);

  /* Header and key set. */
  expect_sign_server(f, with(req, "v", json_integer(2)), MK_EINVAL);
  expect_sign_server(f, with(req, "v", json_integer(0)), MK_EINVAL);
  expect_sign_server(f, with(req, "v", json_string("1")), MK_EINVAL);
  expect_sign_server(f, with(req, "v", json_real(1.0)), MK_EINVAL);
  expect_sign_server(f, with(req, "alg", json_string(f->bits == 2048 ? "rsa3072" : "rsa2048")),
                     MK_EINVAL);
  expect_sign_server(f, with(req, "alg", json_string("sm2")), MK_EINVAL);
  expect_sign_server(f, with(req, "op", json_string("decrypt")), MK_EINVAL);
  expect_sign_server(f, with(req, "op", json_string("keygen")), MK_EINVAL);
  expect_sign_server(f, with(req, "step", json_string("result")), MK_EINVAL);
  expect_sign_server(f, with(req, "extra", json_true()), MK_EINVAL);
  expect_sign_server(f, with(req, "e", json_integer(3)), MK_EINVAL);
  const char *fields[] = {"v", "alg", "op", "step", "hash", "digest", "s_u"};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    expect_sign_server(f, with(req, fields[i], NULL), MK_EINVAL);
  expect_sign_server(f, json_array(), MK_EINVAL);
  json_t *resp2 = (json_t *)0x1;
  assert_mk_fails(mk_rsap_sign_server(f->srv, NULL, &resp2, NULL), MK_EINVAL);
  assert_null(resp2);

  /* The error names the field. */
  mk_err e;
  json_t *bad = with(req, "s_u", json_integer(1));
  assert_mk_fails(mk_rsap_sign_server(f->srv, bad, &resp, &e), MK_EINVAL);
  assert_non_null(strstr(e.msg, "sign request"));
  assert_non_null(strstr(e.msg, "s_u"));
  json_decref(bad);
  bad = with(req, "junk", json_true());
  assert_mk_fails(mk_rsap_sign_server(f->srv, bad, &resp, &e), MK_EINVAL);
  assert_non_null(strstr(e.msg, "unknown field 'junk'"));
  json_decref(bad);
  mk_rsap_msg_free(req);
}

static void test_sign_device_side(void **state) {
  struct fixture *f = *state;
  unsigned char dg[32] = {0}, sig[MK_RSAP_MAX_BYTES];
  size_t sl = 0;
  mk_rsap_devop *op = NULL;
  json_t *req = NULL, *resp = NULL;
  mk_err e;
  assert_mk_fails(mk_rsap_sign_device(f->dev, MK_RSAP_HASH_SHA256, dg, 31, &op, &req, &e),
                  MK_EINVAL);
  assert_mk_fails(mk_rsap_sign_device(f->dev, (mk_rsap_hash)7, dg, 32, &op, &req, &e), MK_EINVAL);
  assert_mk_fails(mk_rsap_sign_device(f->dev, MK_RSAP_HASH_SHA256, NULL, 32, &op, &req, &e),
                  MK_EINVAL);
  assert_mk_fails(mk_rsap_sign_device(NULL, MK_RSAP_HASH_SHA256, dg, 32, &op, &req, &e),
                  MK_EINVAL);
  assert_null(op);
  assert_null(req);

  /* The answer to another request does not verify on the device. */
  mk_rsap_devop *op2 = NULL;
  json_t *req1 = sign_request(f, NULL, "one", &op);
  json_t *req2 = sign_request(f, NULL, "two", &op2);
  assert_mk_ok(mk_rsap_sign_server(f->srv, req2, &resp, &e));
  assert_mk_fails(mk_rsap_sign_device_finish(f->dev, op, resp, sig, sizeof sig, &sl, &e),
                  MK_EPROTO);
  /* Spent: even the right answer is refused now. */
  assert_mk_ok(mk_rsap_sign_device_finish(f->dev, op2, resp, sig, sizeof sig, &sl, &e));
  assert_mk_fails(mk_rsap_sign_device_finish(f->dev, op2, resp, sig, sizeof sig, &sl, &e),
                  MK_EEXPIRED);
  assert_string_equal(e.msg, "operation already finished");
  mk_rsap_devop_free(op);
  mk_rsap_devop_free(op2);

  /* Too small for the signature: refused before the operation is spent. */
  req = sign_request(f, NULL, "two", &op);
  assert_mk_fails(mk_rsap_sign_device_finish(f->dev, op, resp, sig, f->k - 1, &sl, &e),
                  MK_ETOOBIG);
  /* Bad result messages. */
  json_t *bad = with(resp, "step", json_string("request"));
  assert_mk_fails(mk_rsap_sign_device_finish(f->dev, op, bad, sig, sizeof sig, &sl, &e),
                  MK_EINVAL);
  json_decref(bad);
  mk_rsap_devop_free(op);
  op = NULL;
  mk_rsap_msg_free(req);
  req = sign_request(f, NULL, "two", &op);
  bad = with(resp, "s", b64(f->n, f->k));
  assert_mk_fails(mk_rsap_sign_device_finish(f->dev, op, bad, sig, sizeof sig, &sl, &e),
                  MK_EINVAL);
  json_decref(bad);
  mk_rsap_devop_free(op);

  mk_rsap_msg_free(req);
  mk_rsap_msg_free(req1);
  mk_rsap_msg_free(req2);
  mk_rsap_msg_free(resp);
}

/* ---- decrypt: negatives ------------------------------------------------------------- */

struct dec {
  mk_rsap_srvop *sop;
  mk_rsap_devop *dop;
  json_t *ch, *req, *resp;
  unsigned char ct[MK_RSAP_MAX_BYTES];
  size_t ct_len;
};

static void dec_start(const struct fixture *f, struct dec *d, const char *pt, int64_t now) {
  memset(d, 0, sizeof *d);
  EVP_PKEY *pub = NULL;
  assert_mk_ok(mk_rsap_device_public_key(f->dev, &pub, NULL));
  d->ct_len = oaep_encrypt(pub, EVP_sha256(), (const unsigned char *)pt, strlen(pt), d->ct);
  EVP_PKEY_free(pub);
  assert_mk_ok(mk_rsap_decrypt_challenge(f->srv, now, &d->sop, &d->ch, NULL));
  assert_mk_ok(mk_rsap_decrypt_device(f->dev, d->ch, d->ct, d->ct_len, &d->dop, &d->req, NULL));
}

static void dec_end(struct dec *d) {
  mk_rsap_srvop_free(d->sop);
  mk_rsap_devop_free(d->dop);
  mk_rsap_msg_free(d->ch);
  mk_rsap_msg_free(d->req);
  mk_rsap_msg_free(d->resp);
}

static void test_decrypt_replay(void **state) {
  struct fixture *f = *state;
  struct dec d;
  mk_err e;
  dec_start(f, &d, "once", T0);
  assert_mk_ok(mk_rsap_decrypt_server(f->srv, d.sop, T0 + 5, d.req, &d.resp, &e));
  json_t *again = NULL;
  assert_mk_fails(mk_rsap_decrypt_server(f->srv, d.sop, T0 + 6, d.req, &again, &e), MK_EEXPIRED);
  assert_string_equal(e.msg, "operation already finished");
  assert_null(again);
  unsigned char pt[MK_RSAP_MAX_BYTES];
  size_t pl = 0;
  assert_mk_ok(mk_rsap_decrypt_device_finish(f->dev, d.dop, d.resp, pt, sizeof pt, &pl, &e));
  assert_int_equal(pl, 4);
  assert_memory_equal(pt, "once", 4);
  assert_mk_fails(mk_rsap_decrypt_device_finish(f->dev, d.dop, d.resp, pt, sizeof pt, &pl, &e),
                  MK_EEXPIRED);
  dec_end(&d);

  /* A failed attempt spends the challenge too: one proof per challenge. */
  dec_start(f, &d, "once", T0);
  json_t *bad = with(d.req, "s_u", json_string("x"));
  assert_mk_fails(mk_rsap_decrypt_server(f->srv, d.sop, T0, bad, &d.resp, &e), MK_EINVAL);
  assert_mk_fails(mk_rsap_decrypt_server(f->srv, d.sop, T0, d.req, &d.resp, &e), MK_EEXPIRED);
  json_decref(bad);
  dec_end(&d);
}

static void test_decrypt_expiry(void **state) {
  struct fixture *f = *state;
  struct dec d;
  mk_err e;
  dec_start(f, &d, "late", T0);
  assert_mk_ok(mk_rsap_decrypt_server(f->srv, d.sop, T0 + MK_RSAP_OP_TTL - 1, d.req, &d.resp, &e));
  dec_end(&d);
  dec_start(f, &d, "late", T0);
  assert_mk_fails(mk_rsap_decrypt_server(f->srv, d.sop, T0 + MK_RSAP_OP_TTL, d.req, &d.resp, &e),
                  MK_EEXPIRED);
  assert_string_equal(e.msg, "operation expired");
  assert_null(d.resp);
  assert_mk_fails(mk_rsap_decrypt_server(f->srv, d.sop, T0, d.req, &d.resp, &e), MK_EEXPIRED);
  dec_end(&d);
  mk_rsap_srvop *op = NULL;
  json_t *ch = NULL;
  assert_mk_fails(mk_rsap_decrypt_challenge(f->srv, INT64_MAX, &op, &ch, &e), MK_EINVAL);
  assert_mk_fails(mk_rsap_decrypt_challenge(f->srv, -1, &op, &ch, &e), MK_EINVAL);
  assert_null(op);
  assert_null(ch);
}

static void test_decrypt_proof(void **state) {
  struct fixture *f = *state;
  struct dec a, b;
  mk_err e;
  /* A proof made for challenge a, presented to operation b. */
  dec_start(f, &a, "proof", T0);
  dec_start(f, &b, "proof", T0);
  assert_mk_fails(mk_rsap_decrypt_server(f->srv, b.sop, T0, a.req, &b.resp, &e), MK_EAUTH);
  assert_string_equal(e.msg, "device share check failed");
  assert_null(b.resp);
  /* The proof binds c: another ciphertext under the same proof. */
  json_t *swapped = with(a.req, "c", b64(b.ct, b.ct_len));
  assert_mk_fails(mk_rsap_decrypt_server(f->srv, a.sop, T0, swapped, &a.resp, &e), MK_EAUTH);
  json_decref(swapped);
  dec_end(&a);
  dec_end(&b);

  /* A wrong device share. */
  mk_rsap_device *other = NULL;
  mk_rsap_server *other_srv = NULL;
  assert_mk_ok(mk_rsap_split(f->key, 0, &other, &other_srv, &e));
  dec_start(f, &a, "proof", T0);
  mk_rsap_devop *op = NULL;
  json_t *req = NULL;
  assert_mk_ok(mk_rsap_decrypt_device(other, a.ch, a.ct, a.ct_len, &op, &req, &e));
  assert_mk_fails(mk_rsap_decrypt_server(f->srv, a.sop, T0, req, &a.resp, &e), MK_EAUTH);
  mk_rsap_devop_free(op);
  mk_rsap_msg_free(req);
  dec_end(&a);

  /* Another split of the same key: the operation fits, the proof does not. */
  dec_start(f, &a, "proof", T0);
  assert_mk_fails(mk_rsap_decrypt_server(other_srv, a.sop, T0, a.req, &a.resp, &e), MK_EAUTH);
  dec_end(&a);
  /* An operation opened for another key is refused before it is spent. */
  EVP_PKEY *k3 = load_key("rsa3072.pem");
  mk_rsap_device *d3 = NULL;
  mk_rsap_server *s3 = NULL;
  assert_mk_ok(mk_rsap_split(k3, 3072, &d3, &s3, &e));
  dec_start(f, &a, "proof", T0);
  assert_mk_fails(mk_rsap_decrypt_server(s3, a.sop, T0, a.req, &a.resp, &e), MK_EINVAL);
  assert_string_equal(e.msg, "decrypt: operation belongs to another key");
  assert_mk_ok(mk_rsap_decrypt_server(f->srv, a.sop, T0, a.req, &a.resp, &e));
  dec_end(&a);
  mk_rsap_device_free(d3);
  mk_rsap_server_free(s3);
  EVP_PKEY_free(k3);
  mk_rsap_device_free(other);
  mk_rsap_server_free(other_srv);
}

static void test_decrypt_ciphertext_range(void **state) {
  struct fixture *f = *state;
  unsigned char ct[MK_RSAP_MAX_BYTES + 1];
  size_t k = f->k;
  mk_rsap_srvop *sop = NULL;
  mk_rsap_devop *dop = NULL;
  json_t *ch = NULL, *req = NULL;
  mk_err e;
  assert_mk_ok(mk_rsap_decrypt_challenge(f->srv, T0, &sop, &ch, &e));
  memset(ct, 0x11, sizeof ct);
  assert_mk_fails(mk_rsap_decrypt_device(f->dev, ch, ct, k - 1, &dop, &req, &e), MK_EINVAL);
  assert_mk_fails(mk_rsap_decrypt_device(f->dev, ch, ct, k + 1, &dop, &req, &e), MK_EINVAL);
  assert_mk_fails(mk_rsap_decrypt_device(f->dev, ch, NULL, k, &dop, &req, &e), MK_EINVAL);
  memset(ct, 0xff, k);
  assert_mk_fails(mk_rsap_decrypt_device(f->dev, ch, ct, k, &dop, &req, &e), MK_EINVAL);
  assert_mk_fails(mk_rsap_decrypt_device(f->dev, ch, f->n, k, &dop, &req, &e), MK_EINVAL);
  memset(ct, 0, k);
  assert_mk_fails(mk_rsap_decrypt_device(f->dev, ch, ct, k, &dop, &req, &e), MK_EINVAL);
  assert_null(dop);
  assert_null(req);
  /* A broken challenge message. */
  memset(ct, 0x11, k);
  json_t *bad = with(ch, "challenge", b64(ct, 31));
  assert_mk_fails(mk_rsap_decrypt_device(f->dev, bad, ct, k, &dop, &req, &e), MK_EINVAL);
  json_decref(bad);
  bad = with(ch, "step", json_string("request"));
  assert_mk_fails(mk_rsap_decrypt_device(f->dev, bad, ct, k, &dop, &req, &e), MK_EINVAL);
  json_decref(bad);
  mk_rsap_srvop_free(sop);
  mk_rsap_msg_free(ch);

  /* The server checks c as strictly: each attempt on a fresh operation. */
  struct dec d;
  json_t *bads[6];
  memset(ct, 0xff, k);
  dec_start(f, &d, "range", T0);
  bads[0] = with(d.req, "c", b64(f->n, k));
  bads[1] = with(d.req, "c", b64(ct, k));
  memset(ct, 0, k);
  bads[2] = with(d.req, "c", b64(ct, k));
  bads[3] = with(d.req, "c", b64(d.ct, k - 1));
  bads[4] = with(d.req, "c", NULL);
  bads[5] = with(d.req, "step", json_string("challenge"));
  dec_end(&d);
  for (size_t i = 0; i < 6; i++) {
    json_t *resp = NULL;
    assert_mk_ok(mk_rsap_decrypt_challenge(f->srv, T0, &sop, &ch, &e));
    assert_mk_fails(mk_rsap_decrypt_server(f->srv, sop, T0, bads[i], &resp, &e), MK_EINVAL);
    assert_null(resp);
    mk_rsap_srvop_free(sop);
    mk_rsap_msg_free(ch);
    json_decref(bads[i]);
  }
}

/* Every padding failure looks the same: one code, one message. */
static void test_decrypt_corrupted(void **state) {
  struct fixture *f = *state;
  EVP_PKEY *pub = NULL;
  mk_err e;
  assert_mk_ok(mk_rsap_device_public_key(f->dev, &pub, &e));
  unsigned char pt[MK_RSAP_MAX_BYTES], ct[MK_RSAP_MAX_BYTES];
  size_t pl = 0;
  for (size_t pos = 1; pos < f->k; pos += f->k / 4) {
    size_t cl = oaep_encrypt(pub, EVP_sha256(), (const unsigned char *)"secret", 6, ct);
    ct[pos] ^= 0x01;
    assert_mk_fails(two_party_decrypt(f->dev, f->srv, ct, cl, pt, &pl, &e), MK_ECRYPTO);
    assert_string_equal(e.msg, "decryption failed");
  }
  /* OAEP with SHA-1 (OpenSSL's default) and PKCS#1 v1.5 encryption. */
  size_t cl = oaep_encrypt(pub, EVP_sha1(), (const unsigned char *)"secret", 6, ct);
  assert_mk_fails(two_party_decrypt(f->dev, f->srv, ct, cl, pt, &pl, &e), MK_ECRYPTO);
  assert_string_equal(e.msg, "decryption failed");
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
  assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
  assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING), 1);
  cl = sizeof ct;
  assert_int_equal(EVP_PKEY_encrypt(c, ct, &cl, (const unsigned char *)"secret", 6), 1);
  EVP_PKEY_CTX_free(c);
  assert_mk_fails(two_party_decrypt(f->dev, f->srv, ct, cl, pt, &pl, &e), MK_ECRYPTO);
  assert_string_equal(e.msg, "decryption failed");
  EVP_PKEY_free(pub);
}

static void test_decrypt_device_side(void **state) {
  struct fixture *f = *state;
  struct dec d;
  mk_err e;
  unsigned char pt[MK_RSAP_MAX_BYTES], junk[MK_RSAP_MAX_BYTES];
  size_t pl = 0;
  /* A server answer that does not combine to c. */
  dec_start(f, &d, "answer", T0);
  assert_mk_ok(mk_rsap_decrypt_server(f->srv, d.sop, T0, d.req, &d.resp, &e));
  memset(junk, 0x22, f->k);
  json_t *bad = with(d.resp, "c_s", b64(junk, f->k));
  assert_mk_fails(mk_rsap_decrypt_device_finish(f->dev, d.dop, bad, pt, sizeof pt, &pl, &e),
                  MK_EPROTO);
  json_decref(bad);
  /* The operation is spent by that attempt. */
  assert_mk_fails(mk_rsap_decrypt_device_finish(f->dev, d.dop, d.resp, pt, sizeof pt, &pl, &e),
                  MK_EEXPIRED);
  dec_end(&d);

  /* Plaintext larger than the caller's buffer. */
  dec_start(f, &d, "answer", T0);
  assert_mk_ok(mk_rsap_decrypt_server(f->srv, d.sop, T0, d.req, &d.resp, &e));
  assert_mk_fails(mk_rsap_decrypt_device_finish(f->dev, d.dop, d.resp, pt, 5, &pl, &e),
                  MK_ETOOBIG);
  dec_end(&d);

  /* Malformed results, and a signing operation in a decryption finish. */
  dec_start(f, &d, "answer", T0);
  assert_mk_ok(mk_rsap_decrypt_server(f->srv, d.sop, T0, d.req, &d.resp, &e));
  mk_rsap_devop *sop = NULL;
  json_t *sreq = sign_request(f, NULL, "x", &sop);
  assert_mk_fails(mk_rsap_decrypt_device_finish(f->dev, sop, d.resp, pt, sizeof pt, &pl, &e),
                  MK_EINVAL);
  mk_rsap_devop_free(sop);
  mk_rsap_msg_free(sreq);
  bad = with(d.resp, "c_s", b64(f->n, f->k));
  assert_mk_fails(mk_rsap_decrypt_device_finish(f->dev, d.dop, bad, pt, sizeof pt, &pl, &e),
                  MK_EINVAL);
  json_decref(bad);
  dec_end(&d);
}

/* ---- decrypt: blinding ---------------------------------------------------------- */

/* A test RNG: a queue of (what, value) pairs, then the DRBG. */
static struct {
  const char *what;
  unsigned char v[MK_RSAP_MAX_BYTES];
  size_t len;
} rng_q[8];
static size_t rng_n, rng_i;

static int queue_rng(void *ctx, const char *what, unsigned char *out, size_t len) {
  (void)ctx;
  if (rng_i < rng_n) {
    assert_string_equal(what, rng_q[rng_i].what);
    assert_int_equal(len, rng_q[rng_i].len);
    memcpy(out, rng_q[rng_i].v, len);
    rng_i++;
    return 1;
  }
  return RAND_bytes(out, (int)len);
}

static void rng_push_bn(const char *what, const BIGNUM *b, size_t len) {
  assert_true(rng_n < sizeof rng_q / sizeof rng_q[0]);
  rng_q[rng_n].what = what;
  rng_q[rng_n].len = len;
  assert_int_equal(BN_bn2binpad(b, rng_q[rng_n].v, (int)len), (int)len);
  rng_n++;
  mk_rsap_insecure_set_test_rng(queue_rng, NULL);
}

static void rng_reset(void) {
  mk_rsap_insecure_set_test_rng(NULL, NULL);
  rng_n = rng_i = 0;
}

static BIGNUM *field_bn(const json_t *m, const char *key, size_t k) {
  unsigned char b[MK_RSAP_MAX_BYTES];
  const char *s = json_string_value(json_object_get(m, key));
  assert_non_null(s);
  assert_int_equal(mk_base64url_decode(s, strlen(s), b, sizeof b, NULL), (int)k);
  return BN_bin2bn(b, (int)k, NULL);
}

/* The server's half never sees c: the request carries c' = c r^e mod N for
 * a fresh r, different for every decryption of the same ciphertext, and
 * the device still opens what OpenSSL encrypted. With r fixed through the
 * test hook, c' is exactly c r^e mod N, computed here apart. */
static void test_decrypt_blinded(void **state) {
  struct fixture *f = *state;
  EVP_PKEY *pub = NULL;
  mk_err e;
  assert_mk_ok(mk_rsap_device_public_key(f->dev, &pub, &e));
  BN_CTX *ctx = BN_CTX_new();
  BIGNUM *n = BN_bin2bn(f->n, (int)f->k, NULL), *pe = BN_new();
  assert_int_equal(BN_set_word(pe, MK_RSAP_E), 1);
  static const char *pts[] = {"", "bid-file-key", "投标文件 key 2026"};
  for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
    unsigned char ct[MK_RSAP_MAX_BYTES], out[MK_RSAP_MAX_BYTES];
    size_t cl = oaep_encrypt(pub, EVP_sha256(), (const unsigned char *)pts[i], strlen(pts[i]), ct);
    BIGNUM *c = BN_bin2bn(ct, (int)cl, NULL), *seen[2] = {NULL, NULL};
    for (int run = 0; run < 2; run++) {
      struct dec d;
      memset(&d, 0, sizeof d);
      assert_mk_ok(mk_rsap_decrypt_challenge(f->srv, T0, &d.sop, &d.ch, &e));
      assert_mk_ok(mk_rsap_decrypt_device(f->dev, d.ch, ct, cl, &d.dop, &d.req, &e));
      seen[run] = field_bn(d.req, "c", f->k);
      assert_int_not_equal(BN_cmp(seen[run], c), 0);
      assert_true(!BN_is_zero(seen[run]) && BN_cmp(seen[run], n) < 0);
      /* the raw ciphertext appears nowhere in what the server gets */
      char *text = mk_json_dump(d.req);
      assert_non_null(text);
      char ctext[600];
      assert_true(mk_base64url_encode(ct, cl, ctext, sizeof ctext, NULL) > 0);
      assert_null(strstr(text, ctext));
      free(text);
      assert_mk_ok(mk_rsap_decrypt_server(f->srv, d.sop, T0 + 1, d.req, &d.resp, &e));
      size_t ol = 99;
      assert_mk_ok(mk_rsap_decrypt_device_finish(f->dev, d.dop, d.resp, out, sizeof out, &ol, &e));
      assert_int_equal(ol, strlen(pts[i]));
      assert_memory_equal(out, pts[i], ol);
      dec_end(&d);
    }
    assert_int_not_equal(BN_cmp(seen[0], seen[1]), 0);

    /* r fixed: c' = c r^e mod N exactly */
    BIGNUM *r = BN_new(), *want = BN_new();
    assert_int_equal(BN_rand_range(r, n), 1);
    assert_int_equal(BN_mod_exp(want, r, pe, n, ctx), 1);
    assert_int_equal(BN_mod_mul(want, want, c, n, ctx), 1);
    size_t ol = 0;
    struct dec d;
    memset(&d, 0, sizeof d);
    assert_mk_ok(mk_rsap_decrypt_challenge(f->srv, T0, &d.sop, &d.ch, &e));
    rng_push_bn("r", r, f->k);
    assert_mk_ok(mk_rsap_decrypt_device(f->dev, d.ch, ct, cl, &d.dop, &d.req, &e));
    assert_int_equal(rng_i, 1);
    BIGNUM *got = field_bn(d.req, "c", f->k);
    assert_int_equal(BN_cmp(got, want), 0);
    assert_mk_ok(mk_rsap_decrypt_server(f->srv, d.sop, T0 + 1, d.req, &d.resp, &e));
    assert_mk_ok(mk_rsap_decrypt_device_finish(f->dev, d.dop, d.resp, out, sizeof out, &ol, &e));
    assert_int_equal(ol, strlen(pts[i]));
    assert_memory_equal(out, pts[i], ol);
    dec_end(&d);
    rng_reset();
    BN_free(got);
    BN_free(r);
    BN_free(want);
    BN_free(c);
    BN_free(seen[0]);
    BN_free(seen[1]);
  }
  BN_free(n);
  BN_free(pe);
  BN_CTX_free(ctx);
  EVP_PKEY_free(pub);
}

/* A blinding factor out of range or sharing a factor with N is drawn
 * again: 0, N and the prime p are skipped, the fourth value is used. The
 * server's challenge comes from the hook too. */
static void test_decrypt_blind_redraw(void **state) {
  struct fixture *f = *state;
  mk_err e;
  BN_CTX *ctx = BN_CTX_new();
  BIGNUM *n = BN_bin2bn(f->n, (int)f->k, NULL), *zero = BN_new(), *p = NULL, *r = BN_new();
  BIGNUM *pe = BN_new(), *want = BN_new(), *chv = BN_new();
  assert_int_equal(EVP_PKEY_get_bn_param(f->key, OSSL_PKEY_PARAM_RSA_FACTOR1, &p), 1);
  BN_zero(zero);
  assert_int_equal(BN_set_word(r, 0x10001), 1);
  assert_int_equal(BN_lshift(r, r, 300), 1);
  assert_int_equal(BN_add_word(r, 7), 1);
  assert_int_equal(BN_set_word(pe, MK_RSAP_E), 1);
  assert_int_equal(BN_set_word(chv, 0x5a5a), 1);
  rng_push_bn("challenge", chv, MK_RSAP_CHALLENGE_BYTES);
  rng_push_bn("r", zero, f->k);
  rng_push_bn("r", n, f->k);
  rng_push_bn("r", p, f->k);
  rng_push_bn("r", r, f->k);
  unsigned char ct[MK_RSAP_MAX_BYTES], out[MK_RSAP_MAX_BYTES], chb[MK_RSAP_CHALLENGE_BYTES];
  EVP_PKEY *pub = NULL;
  assert_mk_ok(mk_rsap_device_public_key(f->dev, &pub, &e));
  size_t cl = oaep_encrypt(pub, EVP_sha256(), (const unsigned char *)"redraw", 6, ct), ol = 0;
  struct dec d;
  memset(&d, 0, sizeof d);
  assert_mk_ok(mk_rsap_decrypt_challenge(f->srv, T0, &d.sop, &d.ch, &e));
  const char *s = json_string_value(json_object_get(d.ch, "challenge"));
  assert_int_equal(mk_base64url_decode(s, strlen(s), chb, sizeof chb, NULL), 32);
  assert_int_equal(chb[30], 0x5a);
  assert_int_equal(chb[31], 0x5a);
  assert_mk_ok(mk_rsap_decrypt_device(f->dev, d.ch, ct, cl, &d.dop, &d.req, &e));
  assert_int_equal(rng_i, 5);
  BIGNUM *c = BN_bin2bn(ct, (int)cl, NULL), *got = field_bn(d.req, "c", f->k);
  assert_int_equal(BN_mod_exp(want, r, pe, n, ctx), 1);
  assert_int_equal(BN_mod_mul(want, want, c, n, ctx), 1);
  assert_int_equal(BN_cmp(got, want), 0);
  assert_mk_ok(mk_rsap_decrypt_server(f->srv, d.sop, T0 + 1, d.req, &d.resp, &e));
  assert_mk_ok(mk_rsap_decrypt_device_finish(f->dev, d.dop, d.resp, out, sizeof out, &ol, &e));
  assert_int_equal(ol, 6);
  assert_memory_equal(out, "redraw", 6);
  dec_end(&d);
  rng_reset();
  BN_free(c);
  BN_free(got);
  BN_free(n);
  BN_free(zero);
  BN_clear_free(p);
  BN_free(r);
  BN_free(pe);
  BN_free(want);
  BN_free(chv);
  BN_CTX_free(ctx);
  EVP_PKEY_free(pub);
}

/* An answer made for the unblinded ciphertext, c^d_s (obtained here by
 * forcing r = 1 once), does not combine with c'^d_u: MK_EPROTO, before any
 * padding is looked at. */
static void test_decrypt_result_for_raw_c(void **state) {
  struct fixture *f = *state;
  mk_err e;
  EVP_PKEY *pub = NULL;
  unsigned char ct[MK_RSAP_MAX_BYTES], out[MK_RSAP_MAX_BYTES];
  size_t ol = 0;
  assert_mk_ok(mk_rsap_device_public_key(f->dev, &pub, &e));
  size_t cl = oaep_encrypt(pub, EVP_sha256(), (const unsigned char *)"raw", 3, ct);
  BIGNUM *one = BN_new();
  assert_int_equal(BN_one(one), 1);
  struct dec raw, d;
  memset(&raw, 0, sizeof raw);
  assert_mk_ok(mk_rsap_decrypt_challenge(f->srv, T0, &raw.sop, &raw.ch, &e));
  rng_push_bn("r", one, f->k);
  assert_mk_ok(mk_rsap_decrypt_device(f->dev, raw.ch, ct, cl, &raw.dop, &raw.req, &e));
  rng_reset();
  BIGNUM *c = BN_bin2bn(ct, (int)cl, NULL), *got = field_bn(raw.req, "c", f->k);
  assert_int_equal(BN_cmp(got, c), 0);
  assert_mk_ok(mk_rsap_decrypt_server(f->srv, raw.sop, T0 + 1, raw.req, &raw.resp, &e));

  memset(&d, 0, sizeof d);
  assert_mk_ok(mk_rsap_decrypt_challenge(f->srv, T0, &d.sop, &d.ch, &e));
  assert_mk_ok(mk_rsap_decrypt_device(f->dev, d.ch, ct, cl, &d.dop, &d.req, &e));
  assert_mk_fails(mk_rsap_decrypt_device_finish(f->dev, d.dop, raw.resp, out, sizeof out, &ol, &e),
                  MK_EPROTO);
  assert_string_equal(e.msg, "decrypt result: the server's share does not combine");
  /* the operation is spent by that attempt */
  assert_mk_ok(mk_rsap_decrypt_server(f->srv, d.sop, T0 + 1, d.req, &d.resp, &e));
  assert_mk_fails(mk_rsap_decrypt_device_finish(f->dev, d.dop, d.resp, out, sizeof out, &ol, &e),
                  MK_EEXPIRED);
  dec_end(&d);
  /* the r = 1 operation itself still opens */
  assert_mk_ok(mk_rsap_decrypt_device_finish(f->dev, raw.dop, raw.resp, out, sizeof out, &ol, &e));
  assert_int_equal(ol, 3);
  assert_memory_equal(out, "raw", 3);
  dec_end(&raw);
  BN_free(one);
  BN_free(c);
  BN_free(got);
  EVP_PKEY_free(pub);
}

/* ---- share decoders and keygen messages ----------------------------------------------- */

static void expect_device_decode(const unsigned char *p, size_t n) {
  mk_rsap_device *dev = (mk_rsap_device *)0x1;
  mk_err e;
  assert_mk_fails(mk_rsap_device_decode(p, n, &dev, &e), MK_EINVAL);
  assert_null(dev);
  assert_true(e.msg[0] != '\0');
}

static void test_share_decode_refuses(void **state) {
  struct fixture *f = *state;
  mk_buf b, s;
  mk_buf_init(&b, MK_RSAP_SHARE_MAX);
  mk_buf_init(&s, MK_RSAP_SHARE_MAX);
  mk_err e;
  assert_mk_ok(mk_rsap_device_encode(f->dev, &b, &e));
  assert_mk_ok(mk_rsap_server_encode(f->srv, &s, &e));
  size_t k = f->k, len = b.len;
  unsigned char x[MK_RSAP_SHARE_MAX + 1];

  expect_device_decode(NULL, 0);
  expect_device_decode(b.data, 0);
  expect_device_decode(b.data, 5);
  expect_device_decode(b.data, 6);
  expect_device_decode(b.data, len - 1);
  memcpy(x, b.data, len);
  x[len] = 0;
  expect_device_decode(x, len + 1);
  /* A server share is not a device share, and the other way round. */
  expect_device_decode(s.data, s.len);
  mk_rsap_server *srv = NULL;
  assert_mk_fails(mk_rsap_server_decode(b.data, b.len, &srv, &e), MK_EINVAL);
  assert_null(srv);
  /* version, algorithm */
  memcpy(x, b.data, len);
  x[4] = 2;
  expect_device_decode(x, len);
  memcpy(x, b.data, len);
  x[5] = 3;
  expect_device_decode(x, len);
  memcpy(x, b.data, len);
  x[5] = f->bits == 2048 ? 2 : 1; /* the other size: wrong length */
  expect_device_decode(x, len);
  /* share 0, share N, share all ones */
  memcpy(x, b.data, len);
  memset(x + 6 + k, 0, k);
  expect_device_decode(x, len);
  memcpy(x + 6 + k, f->n, k);
  expect_device_decode(x, len);
  memset(x + 6 + k, 0xff, k);
  expect_device_decode(x, len);
  /* N even; N with its top bit clear */
  memcpy(x, b.data, len);
  x[6 + k - 1] ^= 1;
  expect_device_decode(x, len);
  memcpy(x, b.data, len);
  x[6] &= 0x7f;
  expect_device_decode(x, len);
  /* Share 1 is in range: accepted (it just will not fit the server's). */
  memcpy(x, b.data, len);
  memset(x + 6 + k, 0, k);
  x[6 + 2 * k - 1] = 1;
  mk_rsap_device *dev = NULL;
  assert_mk_ok(mk_rsap_device_decode(x, len, &dev, &e));
  mk_rsap_device_free(dev);
  mk_rsap_device_free(NULL);
  mk_rsap_server_free(NULL);
  mk_rsap_devop_free(NULL);
  mk_rsap_srvop_free(NULL);
  mk_rsap_msg_free(NULL);
  mk_buf_free_secret(&b);
  mk_buf_free_secret(&s);
  OPENSSL_cleanse(x, sizeof x);
}

static void expect_keygen_server(json_t *msg, int code) {
  mk_rsap_server *srv = (mk_rsap_server *)0x1;
  json_t *reply = (json_t *)0x1;
  mk_err e;
  assert_mk_fails(mk_rsap_keygen_server(msg, &srv, &reply, &e), code);
  assert_null(srv);
  assert_null(reply);
  json_decref(msg);
}

static void test_keygen_messages_refused(void **state) {
  struct fixture *f = *state;
  size_t k = f->k;
  mk_rsap_device *dev = NULL;
  json_t *good = NULL, *reply = NULL;
  mk_rsap_server *srv = NULL;
  mk_err e;
  assert_mk_ok(mk_rsap_keygen_device(f->bits, &dev, &good, &e));
  unsigned char n[MK_RSAP_MAX_BYTES], x[MK_RSAP_MAX_BYTES];
  const char *nt = json_string_value(json_object_get(good, "n"));
  assert_int_equal(mk_base64url_decode(nt, strlen(nt), n, k, &e), (int)k);
  assert_mk_ok(mk_rsap_keygen_server(good, &srv, &reply, &e));
  assert_mk_ok(mk_rsap_keygen_device_finish(dev, reply, &e));
  mk_rsap_server_free(srv);

  /* n: even, short, one byte short, another odd modulus of the right size
   * (the device's proof no longer fits it). */
  memcpy(x, n, k);
  x[k - 1] ^= 1;
  expect_keygen_server(with(good, "n", b64(x, k)), MK_EINVAL);
  memcpy(x, n, k);
  x[0] = 0x01;
  expect_keygen_server(with(good, "n", b64(x, k)), MK_EINVAL);
  expect_keygen_server(with(good, "n", b64(n, k - 1)), MK_EINVAL);
  memcpy(x, n, k);
  x[k - 1] ^= 2;
  expect_keygen_server(with(good, "n", b64(x, k)), MK_EAUTH);
  /* d_s: zero, N, missing, one bit off (in range, but not the device's
   * partner: caught before it is stored). */
  memset(x, 0, k);
  expect_keygen_server(with(good, "d_s", b64(x, k)), MK_EINVAL);
  expect_keygen_server(with(good, "d_s", b64(n, k)), MK_EINVAL);
  expect_keygen_server(with(good, "d_s", NULL), MK_EINVAL);
  const char *dt = json_string_value(json_object_get(good, "d_s"));
  assert_int_equal(mk_base64url_decode(dt, strlen(dt), x, k, &e), (int)k);
  x[k / 2] ^= 0x04;
  expect_keygen_server(with(good, "d_s", b64(x, k)), MK_EAUTH);
  /* s_u: zero, missing, another value. */
  memset(x, 0, k);
  expect_keygen_server(with(good, "s_u", b64(x, k)), MK_EINVAL);
  expect_keygen_server(with(good, "s_u", NULL), MK_EINVAL);
  x[k - 1] = 2;
  expect_keygen_server(with(good, "s_u", b64(x, k)), MK_EAUTH);
  /* Header and key set. */
  expect_keygen_server(with(good, "e", json_integer(65537)), MK_EINVAL);
  expect_keygen_server(with(good, "step", json_string("stored")), MK_EINVAL);
  expect_keygen_server(with(good, "op", json_string("sign")), MK_EINVAL);
  expect_keygen_server(with(good, "alg", json_string("rsa4096")), MK_EINVAL);
  expect_keygen_server(with(good, "alg", json_string(f->bits == 2048 ? "rsa3072" : "rsa2048")),
                       MK_EINVAL);
  expect_keygen_server(with(good, "v", json_integer(2)), MK_EINVAL);
  expect_keygen_server(json_string("share"), MK_EINVAL);

  /* Device side of the reply. */
  json_t *bad = with(reply, "step", json_string("share"));
  assert_mk_fails(mk_rsap_keygen_device_finish(dev, bad, &e), MK_EINVAL);
  json_decref(bad);
  bad = with(reply, "d_s", b64(n, k));
  assert_mk_fails(mk_rsap_keygen_device_finish(dev, bad, &e), MK_EINVAL);
  json_decref(bad);
  memcpy(x, n, k);
  x[k - 1] ^= 2;
  bad = with(reply, "n", b64(x, k));
  assert_mk_fails(mk_rsap_keygen_device_finish(dev, bad, &e), MK_EPROTO);
  assert_string_equal(e.msg, "keygen: the server stored another key");
  json_decref(bad);
  assert_mk_fails(mk_rsap_keygen_device_finish(f->dev, reply, &e), MK_EPROTO);

  /* A message with another holder is released but left intact; the last
   * release wipes it. */
  json_incref(good);
  mk_rsap_msg_free(good);
  const char *still = json_string_value(json_object_get(good, "d_s"));
  assert_non_null(still);
  assert_int_equal(strlen(still), mk_base64url_enc_len(k) - 1);
  mk_rsap_msg_free(good);
  mk_rsap_msg_free(reply);
  mk_rsap_device_free(dev);
}

int main(void) {
  const struct CMUnitTest each_size[] = {
      cmocka_unit_test(test_sign_sha256_kat),
      cmocka_unit_test(test_sign_sm3_kat),
      cmocka_unit_test(test_decrypt_oaep),
      cmocka_unit_test(test_decrypt_blinded),
      cmocka_unit_test(test_shares_hold_no_factors),
      cmocka_unit_test(test_split_is_random),
      cmocka_unit_test(test_keygen_flow),
      cmocka_unit_test(test_openssl_cli),
      cmocka_unit_test(test_sign_request_fields),
      cmocka_unit_test(test_share_decode_refuses),
      cmocka_unit_test(test_keygen_messages_refused),
  };
  const struct CMUnitTest negatives[] = {
      cmocka_unit_test(test_split_generates),
      cmocka_unit_test(test_split_refuses),
      cmocka_unit_test(test_committed_shares),
      cmocka_unit_test(test_sign_wrong_device_share),
      cmocka_unit_test(test_sign_tampered_server_share),
      cmocka_unit_test(test_sign_device_side),
      cmocka_unit_test(test_decrypt_replay),
      cmocka_unit_test(test_decrypt_expiry),
      cmocka_unit_test(test_decrypt_proof),
      cmocka_unit_test(test_decrypt_ciphertext_range),
      cmocka_unit_test(test_decrypt_corrupted),
      cmocka_unit_test(test_decrypt_device_side),
      cmocka_unit_test(test_decrypt_blind_redraw),
      cmocka_unit_test(test_decrypt_result_for_raw_c),
  };
  int failed = 0;
  failed += cmocka_run_group_tests_name("rsap_2048", each_size, setup_2048, fixture_teardown);
  failed += cmocka_run_group_tests_name("rsap_3072", each_size, setup_3072, fixture_teardown);
  failed += cmocka_run_group_tests_name("rsap_protocol", negatives, setup_2048, fixture_teardown);
  return failed;
}
