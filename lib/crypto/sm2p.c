#include "crypto/sm2p.h"
#include "crypto/msg.h"
#include "util/guard.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#define PT MK_EC_POINT_LEN
#define SC MK_EC_SCALAR_LEN
#define DRAWS_MAX 64 /* redraws of a random value before giving up */
#define PROOF_LABEL "mkey-sm2p-decrypt-v1"
#define KEYGEN_LABEL "mkey-sm2p-keygen-v1"
#define ALG_SM2 1       /* alg byte of the share encodings */
#define MSG_ALG "sm2"   /* alg of the protocol messages */
#define SHARE_VERSION 1

static const unsigned char device_magic[4] = {'M', 'K', 'S', 'U'};
static const unsigned char server_magic[4] = {'M', 'K', 'S', 'S'};

struct mk_sm2p_device {
  BIGNUM *d1;             /* secret */
  unsigned char p[PT];    /* public key P */
  EVP_PKEY *pub;          /* P, for verification */
};

struct mk_sm2p_server {
  BIGNUM *d2;             /* secret */
  EC_POINT *p1;           /* [d1^-1]G: kept on the server only */
  unsigned char p1_enc[PT];
  unsigned char p[PT];
  EVP_PKEY *pub;
};

struct mk_sm2p_devkeygen {
  BIGNUM *d1;            /* NULL once spent */
  unsigned char p1[PT];  /* [d1^-1]G, to check the server's proof; wiped once spent */
};

enum op_kind { OP_SIGN = 1, OP_DECRYPT = 2 };
enum op_state { ST_BEGUN = 0, ST_RESPONDED = 1, ST_DONE = 2 };

struct mk_sm2p_devop {
  int kind;
  int state;
  unsigned char p[PT];      /* key the op belongs to */
  unsigned char e[SC];      /* sign: SM3(Z || M) */
  unsigned char r[SC];      /* sign: r, once answered */
  BIGNUM *w;                /* decrypt: w (secret); w1 never outlives the answer */
  EC_POINT *c1;             /* decrypt */
  unsigned char c3[MK_SM3_LEN];
  unsigned char *c2;        /* decrypt: owned copy, wiped on free */
  size_t c2_len;
};

struct mk_sm2p_srvop {
  int kind;
  int spent;
  int64_t expires;
  unsigned char p[PT];      /* key the op belongs to */
  unsigned char e[SC];      /* sign */
  BIGNUM *w2;               /* sign (secret) */
  EC_POINT *q2;             /* sign: [w2]P1 */
  unsigned char challenge[MK_SM2P_CHALLENGE_BYTES]; /* decrypt */
};

/* ---- randomness (with the test hook) ------------------------------------ */

static mk_sm2p_rng_fn test_rng;
static void *test_rng_ctx;

void mk_sm2p_insecure_set_test_rng(mk_sm2p_rng_fn fn, void *ctx) {
  test_rng = fn;
  test_rng_ctx = ctx;
}

/* A fresh secret scalar in 1..n-1 named what (for the test hook). */
static int rand_scalar(const char *what, BIGNUM **out, mk_err *e) {
  int rc = 0;
  unsigned char buf[SC];
  *out = NULL;
  if (test_rng == NULL)
    return mk_ec_scalar_rand(out, e);
  for (int i = 0; i < DRAWS_MAX && *out == NULL; i++) {
    MK_ENSURE(test_rng(test_rng_ctx, what, buf) == 1, MK_ECRYPTO, e, "test RNG failed for %s",
              what);
    if (mk_ec_scalar_decode(buf, SC, 1, what, out, NULL) < 0)
      *out = NULL;
  }
  MK_ENSURE(*out != NULL, MK_ECRYPTO, e, "test RNG gave no scalar in range for %s", what);
out:
  OPENSSL_cleanse(buf, sizeof buf);
  return rc;
}

static int rand_challenge(unsigned char out[MK_SM2P_CHALLENGE_BYTES], mk_err *e) {
  int rc = 0;
  if (test_rng != NULL)
    MK_ENSURE(test_rng(test_rng_ctx, "challenge", out) == 1, MK_ECRYPTO, e,
              "test RNG failed for challenge");
  else
    MK_TRY_OSSL(RAND_bytes(out, MK_SM2P_CHALLENGE_BYTES), e, "random challenge");
out:
  return rc;
}

/* ---- small EC helpers ---------------------------------------------------- */

static int group(const EC_GROUP **g, mk_err *e) { return mk_ec_sm2_group(g, e); }

/* out = [k]base (base NULL: G). The single-scalar forms of EC_POINT_mul run
 * OpenSSL's constant-time Montgomery ladder, so k may be secret. */
static int mul1(const EC_GROUP *g, EC_POINT *out, const EC_POINT *base, const BIGNUM *k,
                BN_CTX *ctx, mk_err *e) {
  int rc = 0;
  if (base == NULL)
    MK_TRY_OSSL(EC_POINT_mul(g, out, k, NULL, NULL, ctx), e, "EC scalar multiplication");
  else
    MK_TRY_OSSL(EC_POINT_mul(g, out, NULL, base, k, ctx), e, "EC scalar multiplication");
out:
  return rc;
}

/* out = [a]G - [b]Q for PUBLIC a, b (variable-time double multiplication). */
static int lincomb_pub(const EC_GROUP *g, EC_POINT *out, const BIGNUM *a, const EC_POINT *q,
                       const BIGNUM *b, BN_CTX *ctx, mk_err *e) {
  int rc = 0;
  BIGNUM *nb = NULL;
  MK_TRY_PTR_OSSL(nb, BN_new(), e, "BN_new");
  MK_TRY_OSSL(BN_sub(nb, EC_GROUP_get0_order(g), b), e, "BN_sub");
  MK_TRY_OSSL(EC_POINT_mul(g, out, a, q, nb, ctx), e, "EC double multiplication");
out:
  BN_free(nb);
  return rc;
}

/* x coordinate of a point that is not at infinity, as a BIGNUM. */
static int point_x(const EC_GROUP *g, const EC_POINT *pt, BIGNUM *x, BN_CTX *ctx, mk_err *e) {
  int rc = 0;
  MK_TRY_OSSL(EC_POINT_get_affine_coordinates(g, pt, x, NULL, ctx), e, "EC affine coordinates");
out:
  return rc;
}

/* Build an SM2 EVP_PKEY holding only the public point p. */
static int make_pub(const unsigned char p[PT], EVP_PKEY **out, mk_err *e) {
  int rc = 0;
  EVP_PKEY_CTX *pctx = NULL;
  *out = NULL;
  OSSL_PARAM params[] = {
      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"SM2", 0),
      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)p, PT),
      OSSL_PARAM_END,
  };
  MK_TRY_PTR_OSSL(pctx, EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL), e, "SM2 key context");
  MK_TRY_OSSL(EVP_PKEY_fromdata_init(pctx), e, "SM2 public key");
  MK_TRY_OSSL(EVP_PKEY_fromdata(pctx, out, EVP_PKEY_PUBLIC_KEY, params), e, "SM2 public key");
out:
  EVP_PKEY_CTX_free(pctx);
  return rc;
}

/* P = -G would make d = n - 1, outside 1..n-2 (GM/T 0003.1 §6.1): 1 + d
 * has no inverse and no signature exists. */
static int is_minus_g(const EC_GROUP *g, const EC_POINT *p, BN_CTX *ctx, int *out, mk_err *e) {
  int rc = 0;
  EC_POINT *t = NULL;
  MK_TRY_PTR_OSSL(t, EC_POINT_dup(p, g), e, "EC point");
  MK_TRY_OSSL(EC_POINT_add(g, t, t, EC_GROUP_get0_generator(g), ctx), e, "EC addition");
  *out = EC_POINT_is_at_infinity(g, t);
out:
  EC_POINT_free(t);
  return rc;
}

/* P = [d2^-1]P1 - G into out (infinity possible: the caller decides). */
static int server_public(const EC_GROUP *g, const BIGNUM *d2, const EC_POINT *p1, EC_POINT *out,
                         BN_CTX *ctx, mk_err *e) {
  int rc = 0;
  BIGNUM *inv = mk_ec_bn_secret();
  EC_POINT *neg_g = NULL;
  MK_ENSURE_ALLOC(inv, e);
  MK_TRY(mk_ec_scalar_inv(inv, d2, ctx, e));
  MK_TRY(mul1(g, out, p1, inv, ctx, e));
  MK_TRY_PTR_OSSL(neg_g, EC_POINT_dup(EC_GROUP_get0_generator(g), g), e, "EC point");
  MK_TRY_OSSL(EC_POINT_invert(g, neg_g, ctx), e, "EC negation");
  MK_TRY_OSSL(EC_POINT_add(g, out, out, neg_g, ctx), e, "EC addition");
out:
  BN_clear_free(inv);
  EC_POINT_free(neg_g);
  return rc;
}

/* 1 if the DER signature is valid for digest under pub, 0 if not, < 0 on
 * error. EVP_PKEY_verify on an SM2 key takes e itself as the input
 * (OpenSSL's SM2 signature provider: tbs is the digest). */
static int verify_e(EVP_PKEY *pub, const unsigned char digest[SC], const unsigned char *sig,
                    size_t siglen, mk_err *e) {
  int rc = 0;
  EVP_PKEY_CTX *vctx = NULL;
  MK_TRY_PTR_OSSL(vctx, EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL), e, "SM2 verify context");
  MK_TRY_OSSL(EVP_PKEY_verify_init(vctx), e, "SM2 verify");
  rc = EVP_PKEY_verify(vctx, sig, siglen, digest, SC) == 1 ? 1 : 0;
  ERR_clear_error();
out:
  EVP_PKEY_CTX_free(vctx);
  return rc;
}

/* ---- signatures (DER SEQUENCE { INTEGER r, INTEGER s }) --------------------- */

/* Strict: the DER must decode, re-encode to the same bytes (so one signature
 * has one encoding) and carry r, s in 1..n-1. r goes to r_out. */
static int sig_check(const EC_GROUP *g, const unsigned char *der, size_t len,
                     unsigned char r_out[SC], mk_err *e) {
  int rc = 0;
  ECDSA_SIG *sig = NULL;
  unsigned char *again = NULL;
  const unsigned char *p = der;
  const BIGNUM *r = NULL, *s = NULL;
  const BIGNUM *n = EC_GROUP_get0_order(g);
  MK_ENSURE(len >= 8 && len <= MK_SM2P_SIG_MAX, MK_EINVAL, e, "sig: must be 8 to %d bytes",
            MK_SM2P_SIG_MAX);
  sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
  ERR_clear_error();
  MK_ENSURE(sig != NULL && p == der + len, MK_EINVAL, e, "sig: not a DER SM2 signature");
  int n2 = i2d_ECDSA_SIG(sig, &again);
  MK_ENSURE(n2 > 0 && (size_t)n2 == len && memcmp(again, der, len) == 0, MK_EINVAL, e,
            "sig: not canonical DER");
  ECDSA_SIG_get0(sig, &r, &s);
  MK_ENSURE(!BN_is_zero(r) && !BN_is_negative(r) && BN_cmp(r, n) < 0 && !BN_is_zero(s) &&
                !BN_is_negative(s) && BN_cmp(s, n) < 0,
            MK_EINVAL, e, "sig: r or s out of range 1..n-1");
  MK_ENSURE(BN_bn2binpad(r, r_out, SC) == SC, MK_EINTERNAL, e, "sig: r over 32 bytes");
out:
  ECDSA_SIG_free(sig);
  OPENSSL_free(again);
  ERR_clear_error();
  return rc;
}

/* ---- messages ----------------------------------------------------------- */

static const char *const sm2_algs[] = {MSG_ALG, NULL};
_Static_assert(MK_SM2P_SIG_MAX <= MK_PMSG_FIELD_MAX, "SM2 signature over the message field cap");

static int msg_get_point(const json_t *m, const char *key, EC_POINT **out, mk_err *e) {
  int rc = 0;
  unsigned char buf[PT];
  *out = NULL;
  MK_TRY(mk_pmsg_get(m, key, buf, PT, PT, NULL, e));
  MK_TRY(mk_ec_point_decode(buf, PT, key, out, e));
out:
  return rc;
}

static int msg_get_scalar(const json_t *m, const char *key, BIGNUM **out, mk_err *e) {
  int rc = 0;
  unsigned char buf[SC];
  *out = NULL;
  MK_TRY(mk_pmsg_get(m, key, buf, SC, SC, NULL, e));
  MK_TRY(mk_ec_scalar_decode(buf, SC, 0, key, out, e));
out:
  return rc;
}

static int msg_put_point(json_t *m, const char *key, const EC_POINT *pt, mk_err *e) {
  int rc = 0;
  unsigned char buf[PT];
  MK_TRY(mk_ec_point_encode(pt, buf, e));
  MK_TRY(mk_pmsg_put(m, key, buf, PT, e));
out:
  return rc;
}

static int msg_put_scalar(json_t *m, const char *key, const BIGNUM *s, mk_err *e) {
  int rc = 0;
  unsigned char buf[SC];
  MK_TRY(mk_ec_scalar_encode(s, buf, e));
  MK_TRY(mk_pmsg_put(m, key, buf, SC, e));
out:
  OPENSSL_cleanse(buf, sizeof buf);
  return rc;
}

void mk_sm2p_msg_free(json_t *msg) { mk_pmsg_free(msg); }

/* ---- handles -------------------------------------------------------------- */

void mk_sm2p_device_free(mk_sm2p_device *dev) {
  if (dev == NULL)
    return;
  BN_clear_free(dev->d1);
  EVP_PKEY_free(dev->pub);
  OPENSSL_clear_free(dev, sizeof *dev);
}

void mk_sm2p_server_free(mk_sm2p_server *srv) {
  if (srv == NULL)
    return;
  BN_clear_free(srv->d2);
  EC_POINT_clear_free(srv->p1);
  EVP_PKEY_free(srv->pub);
  OPENSSL_clear_free(srv, sizeof *srv);
}

void mk_sm2p_devkeygen_free(mk_sm2p_devkeygen *st) {
  if (st == NULL)
    return;
  BN_clear_free(st->d1);
  OPENSSL_clear_free(st, sizeof *st);
}

void mk_sm2p_devop_free(mk_sm2p_devop *op) {
  if (op == NULL)
    return;
  BN_clear_free(op->w);
  EC_POINT_free(op->c1);
  OPENSSL_clear_free(op->c2, op->c2_len);
  OPENSSL_clear_free(op, sizeof *op);
}

void mk_sm2p_srvop_free(mk_sm2p_srvop *op) {
  if (op == NULL)
    return;
  BN_clear_free(op->w2);
  EC_POINT_free(op->q2);
  OPENSSL_clear_free(op, sizeof *op);
}

void mk_sm2p_device_public(const mk_sm2p_device *dev, unsigned char out[PT]) {
  memcpy(out, dev->p, PT);
}

void mk_sm2p_server_public(const mk_sm2p_server *srv, unsigned char out[PT]) {
  memcpy(out, srv->p, PT);
}

int mk_sm2p_device_public_key(const mk_sm2p_device *dev, EVP_PKEY **out, mk_err *e) {
  return make_pub(dev->p, out, e);
}

int mk_sm2p_server_public_key(const mk_sm2p_server *srv, EVP_PKEY **out, mk_err *e) {
  return make_pub(srv->p, out, e);
}

int mk_sm2p_public_spki(const EVP_PKEY *pub, mk_buf *out, mk_err *e) {
  int rc = 0;
  unsigned char *der = NULL;
  int n = i2d_PUBKEY(pub, &der);
  if (n <= 0) {
    rc = mk_err_ossl(e, MK_ECRYPTO, "SubjectPublicKeyInfo");
    goto out;
  }
  MK_TRY(mk_buf_append(out, der, (size_t)n, e));
out:
  OPENSSL_free(der);
  return rc;
}

/* New device share from d1 (taken over) and P (validated by the caller). */
static int device_new(BIGNUM **d1, const unsigned char p[PT], mk_sm2p_device **out, mk_err *e) {
  int rc = 0;
  mk_sm2p_device *dev = OPENSSL_zalloc(sizeof *dev);
  *out = NULL;
  MK_ENSURE_ALLOC(dev, e);
  dev->d1 = *d1;
  *d1 = NULL;
  memcpy(dev->p, p, PT);
  MK_TRY(make_pub(p, &dev->pub, e));
  *out = dev;
  dev = NULL;
out:
  mk_sm2p_device_free(dev);
  return rc;
}

/* ---- share encodings ---------------------------------------------------- */

int mk_sm2p_device_encode(const mk_sm2p_device *dev, mk_buf *out, mk_err *e) {
  int rc = 0;
  unsigned char b[MK_SM2P_DEVICE_SHARE_LEN];
  memcpy(b, device_magic, 4);
  b[4] = SHARE_VERSION;
  b[5] = ALG_SM2;
  MK_TRY(mk_ec_scalar_encode(dev->d1, b + 6, e));
  memcpy(b + 6 + SC, dev->p, PT);
  MK_TRY(mk_buf_append(out, b, sizeof b, e));
out:
  OPENSSL_cleanse(b, sizeof b);
  return rc;
}

/* Header of a share encoding: length, magic, version, alg. */
static int share_header(const unsigned char *in, size_t len, size_t want,
                        const unsigned char magic[4], const char *what, mk_err *e) {
  int rc = 0;
  MK_ENSURE(in != NULL && len == want, MK_EINVAL, e, "%s share: must be %zu bytes", what, want);
  MK_ENSURE(memcmp(in, magic, 4) == 0, MK_EINVAL, e, "%s share: wrong magic", what);
  MK_ENSURE(in[4] == SHARE_VERSION, MK_EINVAL, e, "%s share: unsupported version %u", what,
            in[4]);
  MK_ENSURE(in[5] == ALG_SM2, MK_EINVAL, e, "%s share: unsupported algorithm %u", what, in[5]);
out:
  return rc;
}

int mk_sm2p_device_decode(const unsigned char *in, size_t len, mk_sm2p_device **dev, mk_err *e) {
  int rc = 0;
  const EC_GROUP *g = NULL;
  BIGNUM *d1 = NULL;
  EC_POINT *p = NULL;
  BN_CTX *ctx = NULL;
  int minus_g = 0;
  *dev = NULL;
  MK_TRY(group(&g, e));
  MK_TRY(share_header(in, len, MK_SM2P_DEVICE_SHARE_LEN, device_magic, "device", e));
  MK_TRY(mk_ec_scalar_decode(in + 6, SC, 1, "device share d1", &d1, e));
  MK_TRY(mk_ec_point_decode(in + 6 + SC, PT, "device share P", &p, e));
  MK_TRY_PTR_OSSL(ctx, BN_CTX_new(), e, "BN_CTX");
  MK_TRY(is_minus_g(g, p, ctx, &minus_g, e));
  MK_ENSURE(!minus_g, MK_EINVAL, e, "device share P: unusable public key");
  MK_TRY(device_new(&d1, in + 6 + SC, dev, e));
out:
  BN_clear_free(d1);
  EC_POINT_free(p);
  BN_CTX_free(ctx);
  return rc;
}

int mk_sm2p_server_encode(const mk_sm2p_server *srv, mk_buf *out, mk_err *e) {
  int rc = 0;
  unsigned char b[MK_SM2P_SERVER_SHARE_LEN];
  memcpy(b, server_magic, 4);
  b[4] = SHARE_VERSION;
  b[5] = ALG_SM2;
  MK_TRY(mk_ec_scalar_encode(srv->d2, b + 6, e));
  memcpy(b + 6 + SC, srv->p1_enc, PT);
  memcpy(b + 6 + SC + PT, srv->p, PT);
  MK_TRY(mk_buf_append(out, b, sizeof b, e));
out:
  OPENSSL_cleanse(b, sizeof b);
  return rc;
}

/* New server share from d2 and P1 (both taken over); computes P, and fails
 * with MK_EINVAL "infinity" when P is the point at infinity. */
static int server_new(BIGNUM **d2, EC_POINT **p1, mk_sm2p_server **out, mk_err *e) {
  int rc = 0;
  const EC_GROUP *g = NULL;
  BN_CTX *ctx = NULL;
  EC_POINT *p = NULL;
  mk_sm2p_server *srv = OPENSSL_zalloc(sizeof *srv);
  *out = NULL;
  MK_ENSURE_ALLOC(srv, e);
  srv->d2 = *d2;
  *d2 = NULL;
  srv->p1 = *p1;
  *p1 = NULL;
  MK_TRY(group(&g, e));
  MK_TRY_PTR_OSSL(ctx, BN_CTX_secure_new(), e, "BN_CTX");
  MK_TRY_PTR_OSSL(p, EC_POINT_new(g), e, "EC point");
  MK_TRY(server_public(g, srv->d2, srv->p1, p, ctx, e));
  MK_ENSURE(!EC_POINT_is_at_infinity(g, p), MK_EINVAL, e, "public key is the point at infinity");
  MK_TRY(mk_ec_point_encode(srv->p1, srv->p1_enc, e));
  MK_TRY(mk_ec_point_encode(p, srv->p, e));
  MK_TRY(make_pub(srv->p, &srv->pub, e));
  *out = srv;
  srv = NULL;
out:
  mk_sm2p_server_free(srv);
  EC_POINT_free(p);
  BN_CTX_free(ctx);
  return rc;
}

int mk_sm2p_server_decode(const unsigned char *in, size_t len, mk_sm2p_server **srv, mk_err *e) {
  int rc = 0;
  BIGNUM *d2 = NULL;
  EC_POINT *p1 = NULL, *p = NULL;
  mk_sm2p_server *s = NULL;
  *srv = NULL;
  MK_TRY(share_header(in, len, MK_SM2P_SERVER_SHARE_LEN, server_magic, "server", e));
  MK_TRY(mk_ec_scalar_decode(in + 6, SC, 1, "server share d2", &d2, e));
  MK_TRY(mk_ec_point_decode(in + 6 + SC, PT, "server share P1", &p1, e));
  MK_TRY(mk_ec_point_decode(in + 6 + SC + PT, PT, "server share P", &p, e));
  if (server_new(&d2, &p1, &s, e) < 0) {
    rc = mk_err_set(e, MK_EINVAL, "server share: d2 and P1 do not give P");
    goto out;
  }
  /* The stored P must be the one d2 and P1 make: a damaged or swapped
   * share is refused here rather than producing bad signatures later. */
  MK_ENSURE(CRYPTO_memcmp(s->p, in + 6 + SC + PT, PT) == 0, MK_EINVAL, e,
            "server share: d2 and P1 do not give P");
  *srv = s;
  s = NULL;
out:
  BN_clear_free(d2);
  EC_POINT_clear_free(p1);
  EC_POINT_free(p);
  mk_sm2p_server_free(s);
  return rc;
}

/* ---- keygen --------------------------------------------------------------- */

/* c = SM3(label || P1 || P || R) mod n: the Fiat-Shamir challenge of the
 * server's keygen proof, bound to the device's P1 and to the P it answers. */
static int keygen_c(const EC_GROUP *g, const unsigned char p1[PT], const unsigned char p[PT],
                    const unsigned char r[PT], BIGNUM *c, BN_CTX *ctx, mk_err *e) {
  int rc = 0;
  unsigned char buf[sizeof KEYGEN_LABEL - 1 + 3 * PT];
  unsigned char h[MK_SM3_LEN];
  memcpy(buf, KEYGEN_LABEL, sizeof KEYGEN_LABEL - 1);
  memcpy(buf + sizeof KEYGEN_LABEL - 1, p1, PT);
  memcpy(buf + sizeof KEYGEN_LABEL - 1 + PT, p, PT);
  memcpy(buf + sizeof KEYGEN_LABEL - 1 + 2 * PT, r, PT);
  MK_TRY(mk_sm3(buf, sizeof buf, h, e));
  MK_TRY_PTR_OSSL(c, BN_bin2bn(h, sizeof h, c), e, "BN_bin2bn");
  MK_TRY_OSSL(BN_nnmod(c, c, EC_GROUP_get0_order(g), ctx), e, "BN_nnmod");
out:
  return rc;
}

/* Server: Schnorr proof of x = d2^-1 for P + G = [x]P1, over base P1:
 * R = [k]P1, z = k + c x mod n, into rb and z. Without it the device could
 * not tell an honest P from one whose private key the server chose. */
static int keygen_prove(const EC_GROUP *g, const mk_sm2p_server *srv, unsigned char rb[PT],
                        BIGNUM *z, BN_CTX *ctx, mk_err *e) {
  int rc = 0;
  BIGNUM *x = mk_ec_bn_secret(), *k = NULL, *c = NULL;
  EC_POINT *r = NULL;
  const BIGNUM *n = EC_GROUP_get0_order(g);
  MK_ENSURE_ALLOC(x, e);
  MK_TRY_PTR_OSSL(c, BN_new(), e, "BN_new");
  MK_TRY_PTR_OSSL(r, EC_POINT_new(g), e, "EC point");
  MK_TRY(mk_ec_scalar_inv(x, srv->d2, ctx, e));
  for (int i = 0;; i++) {
    MK_ENSURE(i < DRAWS_MAX, MK_ECRYPTO, e, "keygen: no usable proof nonce drawn");
    BN_clear_free(k);
    k = NULL;
    MK_TRY(rand_scalar("k2", &k, e));
    MK_TRY(mul1(g, r, srv->p1, k, ctx, e));
    MK_TRY(mk_ec_point_encode(r, rb, e));
    MK_TRY(keygen_c(g, srv->p1_enc, srv->p, rb, c, ctx, e));
    if (BN_is_zero(c))
      continue;
    MK_TRY_OSSL(BN_mod_mul(z, c, x, n, ctx), e, "BN_mod_mul");
    MK_TRY_OSSL(BN_mod_add(z, z, k, n, ctx), e, "BN_mod_add");
    if (!BN_is_zero(z))
      break;
  }
out:
  BN_clear_free(x);
  BN_clear_free(k);
  BN_free(c);
  EC_POINT_clear_free(r);
  return rc;
}

/* Device: [z]P1 == R + [c](P + G), c != 0. z and c are public, but P1 is
 * not G, so two single multiplications instead of lincomb_pub. */
static int keygen_verify(const EC_GROUP *g, const unsigned char p1b[PT], const unsigned char pb[PT],
                         const EC_POINT *p, const unsigned char rb[PT], const EC_POINT *r,
                         const BIGNUM *z, int *ok, BN_CTX *ctx, mk_err *e) {
  int rc = 0;
  BIGNUM *c = NULL;
  EC_POINT *p1 = NULL, *pg = NULL, *lhs = NULL, *rhs = NULL;
  *ok = 0;
  MK_TRY_PTR_OSSL(c, BN_new(), e, "BN_new");
  MK_TRY(keygen_c(g, p1b, pb, rb, c, ctx, e));
  if (BN_is_zero(c))
    goto out;
  MK_TRY(mk_ec_point_decode(p1b, PT, "P1", &p1, e));
  MK_TRY_PTR_OSSL(lhs, EC_POINT_new(g), e, "EC point");
  MK_TRY_PTR_OSSL(rhs, EC_POINT_new(g), e, "EC point");
  MK_TRY_PTR_OSSL(pg, EC_POINT_new(g), e, "EC point");
  MK_TRY(mul1(g, lhs, p1, z, ctx, e));
  MK_TRY_OSSL(EC_POINT_add(g, pg, p, EC_GROUP_get0_generator(g), ctx), e, "EC addition");
  MK_TRY(mul1(g, rhs, pg, c, ctx, e));
  MK_TRY_OSSL(EC_POINT_add(g, rhs, rhs, r, ctx), e, "EC addition");
  int cmp = EC_POINT_cmp(g, lhs, rhs, ctx);
  MK_ENSURE(cmp >= 0, MK_ECRYPTO, e, "EC comparison failed");
  *ok = cmp == 0;
out:
  BN_free(c);
  EC_POINT_free(p1);
  EC_POINT_free(pg);
  EC_POINT_free(lhs);
  EC_POINT_free(rhs);
  return rc;
}

int mk_sm2p_keygen_device_begin(mk_sm2p_devkeygen **st, json_t **msg, mk_err *e) {
  int rc = 0;
  const EC_GROUP *g = NULL;
  BN_CTX *ctx = NULL;
  BIGNUM *inv = NULL;
  EC_POINT *p1 = NULL;
  mk_sm2p_devkeygen *s = NULL;
  json_t *m = NULL;
  *st = NULL;
  *msg = NULL;
  MK_TRY(group(&g, e));
  s = OPENSSL_zalloc(sizeof *s);
  MK_ENSURE_ALLOC(s, e);
  MK_TRY(rand_scalar("d1", &s->d1, e));
  MK_TRY_PTR_OSSL(ctx, BN_CTX_secure_new(), e, "BN_CTX");
  inv = mk_ec_bn_secret();
  MK_ENSURE_ALLOC(inv, e);
  MK_TRY(mk_ec_scalar_inv(inv, s->d1, ctx, e));
  MK_TRY_PTR_OSSL(p1, EC_POINT_new(g), e, "EC point");
  MK_TRY(mul1(g, p1, NULL, inv, ctx, e));
  MK_TRY(mk_ec_point_encode(p1, s->p1, e));
  MK_TRY(mk_pmsg_new(MSG_ALG, "keygen", "share", &m, e));
  MK_TRY(mk_pmsg_put(m, "p1", s->p1, PT, e));
  *st = s;
  *msg = m;
  s = NULL;
  m = NULL;
out:
  mk_sm2p_devkeygen_free(s);
  json_decref(m);
  BN_clear_free(inv);
  EC_POINT_clear_free(p1);
  BN_CTX_free(ctx);
  return rc;
}

int mk_sm2p_keygen_server(const json_t *msg, mk_sm2p_server **srv, json_t **reply, mk_err *e) {
  int rc = 0;
  static const char *const fields[] = {"p1", NULL};
  EC_POINT *p1 = NULL, *p1c = NULL;
  BIGNUM *d2 = NULL, *z = NULL;
  BN_CTX *ctx = NULL;
  unsigned char rb[PT];
  mk_sm2p_server *s = NULL;
  json_t *m = NULL;
  const EC_GROUP *g = NULL;
  *srv = NULL;
  *reply = NULL;
  MK_TRY(group(&g, e));
  MK_TRY(mk_pmsg_check(msg, sm2_algs, "keygen", "share", fields, NULL, e));
  MK_TRY(msg_get_point(msg, "p1", &p1, e));
  /* P is infinity only when d1 d2 = 1 (d = 0): draw d2 again. */
  for (int i = 0; i < DRAWS_MAX && s == NULL; i++) {
    MK_TRY(rand_scalar("d2", &d2, e));
    MK_TRY_PTR_OSSL(p1c, EC_POINT_dup(p1, g), e, "EC point");
    mk_err sub;
    int r = server_new(&d2, &p1c, &s, &sub);
    BN_clear_free(d2);
    d2 = NULL;
    EC_POINT_free(p1c);
    p1c = NULL;
    if (r < 0 && r != MK_EINVAL) {
      rc = r;
      if (e != NULL)
        *e = sub;
      goto out;
    }
  }
  MK_ENSURE(s != NULL, MK_ECRYPTO, e, "keygen: no usable server share drawn");
  MK_TRY_PTR_OSSL(ctx, BN_CTX_secure_new(), e, "BN_CTX");
  z = mk_ec_bn_secret();
  MK_ENSURE_ALLOC(z, e);
  MK_TRY(keygen_prove(g, s, rb, z, ctx, e));
  MK_TRY(mk_pmsg_new(MSG_ALG, "keygen", "stored", &m, e));
  MK_TRY(mk_pmsg_put(m, "p", s->p, PT, e));
  MK_TRY(mk_pmsg_put(m, "proof_r", rb, PT, e));
  MK_TRY(msg_put_scalar(m, "proof_z", z, e));
  *srv = s;
  *reply = m;
  s = NULL;
  m = NULL;
out:
  EC_POINT_free(p1);
  EC_POINT_free(p1c);
  BN_clear_free(d2);
  BN_clear_free(z);
  BN_CTX_free(ctx);
  mk_sm2p_server_free(s);
  json_decref(m);
  return rc;
}

int mk_sm2p_keygen_device_finish(mk_sm2p_devkeygen *st, const json_t *reply, mk_sm2p_device **dev,
                                 mk_err *e) {
  int rc = 0;
  static const char *const fields[] = {"p", "proof_r", "proof_z", NULL};
  const EC_GROUP *g = NULL;
  EC_POINT *p = NULL, *r = NULL;
  BIGNUM *z = NULL;
  BN_CTX *ctx = NULL;
  unsigned char pbuf[PT], rb[PT];
  int minus_g = 0, ok = 0;
  *dev = NULL;
  MK_TRY(group(&g, e));
  MK_ENSURE(st != NULL, MK_EINVAL, e, "keygen: no device state");
  MK_ENSURE(st->d1 != NULL, MK_EEXPIRED, e, "operation already finished");
  MK_TRY(mk_pmsg_check(reply, sm2_algs, "keygen", "stored", fields, NULL, e));
  MK_TRY(mk_pmsg_get(reply, "p", pbuf, PT, PT, NULL, e));
  MK_TRY(mk_ec_point_decode(pbuf, PT, "p", &p, e));
  MK_TRY(mk_pmsg_get(reply, "proof_r", rb, PT, PT, NULL, e));
  MK_TRY(mk_ec_point_decode(rb, PT, "proof_r", &r, e));
  MK_TRY(msg_get_scalar(reply, "proof_z", &z, e));
  MK_TRY_PTR_OSSL(ctx, BN_CTX_new(), e, "BN_CTX");
  MK_TRY(is_minus_g(g, p, ctx, &minus_g, e));
  MK_ENSURE(!minus_g, MK_EPROTO, e, "p: the server returned an unusable public key");
  /* Only a server that knows x with P + G = [x]P1 can answer: any other P
   * (one whose private key the server picked) is refused. */
  MK_TRY(keygen_verify(g, st->p1, pbuf, p, rb, r, z, &ok, ctx, e));
  MK_ENSURE(ok, MK_EPROTO, e, "p: the server's keygen proof does not check");
  /* device_new takes d1 over, which also spends st; P1 goes with it. */
  MK_TRY(device_new(&st->d1, pbuf, dev, e));
  OPENSSL_cleanse(st->p1, sizeof st->p1);
out:
  EC_POINT_free(p);
  EC_POINT_free(r);
  BN_free(z);
  BN_CTX_free(ctx);
  return rc;
}

/* ---- sign ------------------------------------------------------------------ */

int mk_sm2p_sign_device_begin(const mk_sm2p_device *dev, const unsigned char *id, size_t idlen,
                              const void *msg, size_t msglen, mk_sm2p_devop **op, json_t **out,
                              mk_err *e) {
  int rc = 0;
  unsigned char z[MK_SM3_LEN], digest[MK_SM3_LEN];
  *op = NULL;
  *out = NULL;
  if (id == NULL) {
    id = (const unsigned char *)MK_SM2_ID_DEFAULT;
    idlen = MK_SM2_ID_DEFAULT_LEN;
  }
  MK_TRY(mk_sm2_za(id, idlen, dev->p, z, e));
  MK_TRY(mk_sm2_e(z, msg, msglen, digest, e));
  MK_TRY(mk_sm2p_sign_device_begin_digest(dev, digest, op, out, e));
out:
  return rc;
}

int mk_sm2p_sign_device_begin_digest(const mk_sm2p_device *dev,
                                     const unsigned char digest[MK_SM3_LEN], mk_sm2p_devop **op,
                                     json_t **out, mk_err *e) {
  int rc = 0;
  mk_sm2p_devop *o = NULL;
  json_t *m = NULL;
  *op = NULL;
  *out = NULL;
  o = OPENSSL_zalloc(sizeof *o);
  MK_ENSURE_ALLOC(o, e);
  o->kind = OP_SIGN;
  o->state = ST_BEGUN;
  memcpy(o->p, dev->p, PT);
  memcpy(o->e, digest, SC);
  /* No nonce yet: w1 is drawn only after the server has committed to Q2. */
  MK_TRY(mk_pmsg_new(MSG_ALG, "sign", "request", &m, e));
  MK_TRY(mk_pmsg_put(m, "e", digest, SC, e));
  *op = o;
  *out = m;
  o = NULL;
  m = NULL;
out:
  mk_sm2p_devop_free(o);
  json_decref(m);
  return rc;
}

int mk_sm2p_sign_server_begin(const mk_sm2p_server *srv, const json_t *in, int64_t now,
                              mk_sm2p_srvop **op, json_t **reply, mk_err *e) {
  int rc = 0;
  static const char *const fields[] = {"e", NULL};
  const EC_GROUP *g = NULL;
  BN_CTX *ctx = NULL;
  mk_sm2p_srvop *o = NULL;
  json_t *m = NULL;
  *op = NULL;
  *reply = NULL;
  MK_TRY(group(&g, e));
  MK_ENSURE(now <= INT64_MAX - MK_SM2P_OP_TTL, MK_EINVAL, e, "time out of range");
  MK_TRY(mk_pmsg_check(in, sm2_algs, "sign", "request", fields, NULL, e));
  o = OPENSSL_zalloc(sizeof *o);
  MK_ENSURE_ALLOC(o, e);
  o->kind = OP_SIGN;
  o->expires = now + MK_SM2P_OP_TTL;
  memcpy(o->p, srv->p, PT);
  /* e is a hash output: any 32 bytes, used as an integer (GM/T 0003.2 §6.1
   * A4: r = (e + x1) mod n), so no range check. */
  MK_TRY(mk_pmsg_get(in, "e", o->e, SC, SC, NULL, e));
  MK_TRY_PTR_OSSL(ctx, BN_CTX_secure_new(), e, "BN_CTX");
  /* Q2 = [w2]P1, fixed before the server sees any nonce of the device: it
   * cannot pick Q2 to steer r towards a digest of its own. Q2 is never the
   * point at infinity (w2 in 1..n-1, P1 a valid point, prime order). */
  MK_TRY(rand_scalar("w2", &o->w2, e));
  MK_TRY_PTR_OSSL(o->q2, EC_POINT_new(g), e, "EC point");
  MK_TRY(mul1(g, o->q2, srv->p1, o->w2, ctx, e));
  MK_TRY(mk_pmsg_new(MSG_ALG, "sign", "commit", &m, e));
  MK_TRY(msg_put_point(m, "q2", o->q2, e));
  *op = o;
  *reply = m;
  o = NULL;
  m = NULL;
out:
  mk_sm2p_srvop_free(o);
  json_decref(m);
  BN_CTX_free(ctx);
  return rc;
}

/* r = (e + x(Q1 + Q2)) mod n into r (GM/T 0003.2 §6.1 A3-A4 with
 * Q = [w1 + w2 d1^-1]G). *ok is 0 when Q is the point at infinity or r = 0,
 * where the standard draws the nonce again. (The other retry condition,
 * r + k = n, needs k, which no party knows; it happens with probability
 * 1/n.) */
static int sign_r(const EC_GROUP *g, const unsigned char e_bytes[SC], const EC_POINT *q1,
                  const EC_POINT *q2, BIGNUM *r, int *ok, BN_CTX *ctx, mk_err *e) {
  int rc = 0;
  EC_POINT *q = NULL;
  BIGNUM *ebn = NULL;
  *ok = 0;
  MK_TRY_PTR_OSSL(q, EC_POINT_new(g), e, "EC point");
  MK_TRY_OSSL(EC_POINT_add(g, q, q1, q2, ctx), e, "EC addition");
  if (EC_POINT_is_at_infinity(g, q))
    goto out;
  MK_TRY_PTR_OSSL(ebn, BN_bin2bn(e_bytes, SC, NULL), e, "BN_bin2bn");
  MK_TRY(point_x(g, q, r, ctx, e));
  MK_TRY_OSSL(BN_mod_add(r, ebn, r, EC_GROUP_get0_order(g), ctx), e, "BN_mod_add");
  *ok = !BN_is_zero(r);
out:
  EC_POINT_clear_free(q);
  BN_free(ebn);
  return rc;
}

int mk_sm2p_sign_device_respond(const mk_sm2p_device *dev, mk_sm2p_devop *op, const json_t *reply,
                                json_t **out, mk_err *e) {
  int rc = 0;
  static const char *const fields[] = {"q2", NULL};
  const EC_GROUP *g = NULL;
  BN_CTX *ctx = NULL;
  BIGNUM *w1 = NULL, *r = NULL, *t = NULL, *s1 = NULL;
  EC_POINT *q1 = NULL, *q2 = NULL;
  json_t *m = NULL;
  *out = NULL;
  MK_TRY(group(&g, e));
  MK_ENSURE(op != NULL && op->kind == OP_SIGN, MK_EINVAL, e, "sign: not a signing operation");
  MK_ENSURE(op->state == ST_BEGUN, MK_EEXPIRED, e, "operation already answered");
  MK_ENSURE(memcmp(op->p, dev->p, PT) == 0, MK_EINVAL, e,
            "sign: operation belongs to another key");
  /* One answer per operation, whatever happens next. */
  op->state = ST_RESPONDED;
  MK_TRY(mk_pmsg_check(reply, sm2_algs, "sign", "commit", fields, NULL, e));
  MK_TRY(msg_get_point(reply, "q2", &q2, e));
  const BIGNUM *n = EC_GROUP_get0_order(g);
  MK_TRY_PTR_OSSL(ctx, BN_CTX_secure_new(), e, "BN_CTX");
  MK_TRY_PTR_OSSL(q1, EC_POINT_new(g), e, "EC point");
  MK_TRY_PTR_OSSL(r, BN_new(), e, "BN_new");
  t = mk_ec_bn_secret();
  s1 = mk_ec_bn_secret();
  MK_ENSURE_ALLOC(t, e);
  MK_ENSURE_ALLOC(s1, e);
  /* w1 is drawn now, after Q2 is fixed, and r is computed here from this
   * op's own e: s1 completes a signature on e and on nothing else. Drawn
   * again while Q = O, r = 0 or s1 = 0 (GM/T 0003.2 §6.1 A3-A5). */
  for (int i = 0;; i++) {
    int ok = 0;
    MK_ENSURE(i < DRAWS_MAX, MK_ECRYPTO, e, "sign: no usable nonce drawn");
    BN_clear_free(w1);
    w1 = NULL;
    MK_TRY(rand_scalar("w1", &w1, e));
    MK_TRY(mul1(g, q1, NULL, w1, ctx, e));
    MK_TRY(sign_r(g, op->e, q1, q2, r, &ok, ctx, e));
    if (!ok)
      continue;
    /* s1 = d1 (r + w1) mod n */
    MK_TRY_OSSL(BN_mod_add(t, r, w1, n, ctx), e, "BN_mod_add");
    MK_TRY_OSSL(BN_mod_mul(s1, t, dev->d1, n, ctx), e, "BN_mod_mul");
    if (!BN_is_zero(s1))
      break;
  }
  MK_TRY(mk_ec_scalar_encode(r, op->r, e));
  MK_TRY(mk_pmsg_new(MSG_ALG, "sign", "response", &m, e));
  MK_TRY(msg_put_point(m, "q1", q1, e));
  MK_TRY(msg_put_scalar(m, "s1", s1, e));
  *out = m;
  m = NULL;
out:
  json_decref(m);
  BN_clear_free(w1);
  BN_free(r);
  BN_clear_free(t);
  BN_clear_free(s1);
  EC_POINT_clear_free(q1);
  EC_POINT_free(q2);
  BN_CTX_free(ctx);
  return rc;
}

/* Spend a server op before anything else is looked at: a second finish, an
 * expired op and a malformed message all leave it unusable. */
static int srvop_spend(const mk_sm2p_server *srv, mk_sm2p_srvop *op, int kind, int64_t now,
                       mk_err *e) {
  int rc = 0;
  const char *name = kind == OP_SIGN ? "signing" : "decryption";
  MK_ENSURE(op != NULL && op->kind == kind, MK_EINVAL, e, "not a %s operation", name);
  MK_ENSURE(!op->spent, MK_EEXPIRED, e, "operation already finished");
  op->spent = 1;
  MK_ENSURE(now < op->expires, MK_EEXPIRED, e, "operation expired");
  MK_ENSURE(memcmp(op->p, srv->p, PT) == 0, MK_EINVAL, e, "operation belongs to another key");
out:
  return rc;
}

int mk_sm2p_sign_server_finish(const mk_sm2p_server *srv, mk_sm2p_srvop *op, const json_t *in,
                               int64_t now, json_t **reply, mk_err *e) {
  int rc = 0;
  static const char *const fields[] = {"q1", "s1", NULL};
  const EC_GROUP *g = NULL;
  BN_CTX *ctx = NULL;
  BIGNUM *r = NULL, *s1 = NULL, *t = NULL, *s = NULL, *rr = NULL, *ss = NULL;
  EC_POINT *q1 = NULL, *x = NULL;
  ECDSA_SIG *sig = NULL;
  unsigned char *der = NULL;
  int derlen = 0, ok = 0;
  json_t *m = NULL;
  *reply = NULL;
  MK_TRY(group(&g, e));
  MK_TRY(srvop_spend(srv, op, OP_SIGN, now, e));
  MK_TRY(mk_pmsg_check(in, sm2_algs, "sign", "response", fields, NULL, e));
  MK_TRY(msg_get_point(in, "q1", &q1, e));
  MK_TRY(msg_get_scalar(in, "s1", &s1, e));
  const BIGNUM *n = EC_GROUP_get0_order(g);
  MK_TRY_PTR_OSSL(ctx, BN_CTX_secure_new(), e, "BN_CTX");
  MK_TRY_PTR_OSSL(r, BN_new(), e, "BN_new");
  MK_TRY(sign_r(g, op->e, q1, op->q2, r, &ok, ctx, e));
  /* An honest device draws w1 again in these cases. */
  MK_ENSURE(ok, MK_EINVAL, e, "q1: gives Q = O or r = 0");
  MK_TRY_PTR_OSSL(x, EC_POINT_new(g), e, "EC point");
  /* [s1]P1 == [r]G + Q1, i.e. [r]G - [s1]P1 + Q1 is infinity: holds exactly
   * when s1 = d1 (r + w1) for the d1 behind P1, so a wrong device share
   * fails here, before d2 is used. r and s1 are public. */
  MK_TRY(lincomb_pub(g, x, r, srv->p1, s1, ctx, e));
  MK_TRY_OSSL(EC_POINT_add(g, x, x, q1, ctx), e, "EC addition");
  MK_ENSURE(EC_POINT_is_at_infinity(g, x), MK_EAUTH, e, "device share check failed");
  /* s = d2 (s1 + w2) - r mod n = (1 + d)^-1 (k + r) - r (GM/T 0003.2 §6.1 A5). */
  t = mk_ec_bn_secret();
  s = mk_ec_bn_secret();
  MK_ENSURE_ALLOC(t, e);
  MK_ENSURE_ALLOC(s, e);
  MK_TRY_OSSL(BN_mod_add(t, s1, op->w2, n, ctx), e, "BN_mod_add");
  MK_TRY_OSSL(BN_mod_mul(t, t, srv->d2, n, ctx), e, "BN_mod_mul");
  MK_TRY_OSSL(BN_mod_sub(s, t, r, n, ctx), e, "BN_mod_sub");
  MK_ENSURE(!BN_is_zero(s), MK_ECRYPTO, e, "sign: degenerate signature, start again");
  MK_TRY_PTR_OSSL(sig, ECDSA_SIG_new(), e, "ECDSA_SIG");
  MK_TRY_PTR_OSSL(rr, BN_dup(r), e, "BN_dup");
  MK_TRY_PTR_OSSL(ss, BN_dup(s), e, "BN_dup");
  MK_TRY_OSSL(ECDSA_SIG_set0(sig, rr, ss), e, "ECDSA_SIG");
  rr = ss = NULL;
  derlen = i2d_ECDSA_SIG(sig, &der);
  MK_ENSURE(derlen > 0 && derlen <= MK_SM2P_SIG_MAX, MK_ECRYPTO, e, "sign: DER encoding failed");
  /* Nothing leaves the server that is not an ordinary valid signature. */
  int v = verify_e(srv->pub, op->e, der, (size_t)derlen, e);
  MK_TRY(v);
  MK_ENSURE(v == 1, MK_ECRYPTO, e, "sign: signature check failed");
  MK_TRY(mk_pmsg_new(MSG_ALG, "sign", "result", &m, e));
  MK_TRY(mk_pmsg_put(m, "sig", der, (size_t)derlen, e));
  *reply = m;
  m = NULL;
out:
  /* The op is spent: its nonce share must never serve again. */
  if (op != NULL && op->kind == OP_SIGN && op->spent) {
    BN_clear_free(op->w2);
    op->w2 = NULL;
  }
  json_decref(m);
  BN_free(r);
  BN_free(s1);
  BN_clear_free(t);
  BN_clear_free(s);
  BN_free(rr);
  BN_free(ss);
  EC_POINT_free(q1);
  EC_POINT_free(x);
  ECDSA_SIG_free(sig);
  OPENSSL_free(der);
  BN_CTX_free(ctx);
  return rc;
}

/* Device side: kind, key and state of an op before it is used. */
static int devop_check(const mk_sm2p_device *dev, const mk_sm2p_devop *op, int kind, int state,
                       mk_err *e) {
  int rc = 0;
  const char *name = kind == OP_SIGN ? "signing" : "decryption";
  MK_ENSURE(op != NULL && op->kind == kind, MK_EINVAL, e, "not a %s operation", name);
  MK_ENSURE(op->state <= state, MK_EEXPIRED, e, "operation already finished");
  MK_ENSURE(op->state == state, MK_EINVAL, e, "operation not ready for this step");
  MK_ENSURE(memcmp(op->p, dev->p, PT) == 0, MK_EINVAL, e, "operation belongs to another key");
out:
  return rc;
}

int mk_sm2p_sign_device_finish(const mk_sm2p_device *dev, mk_sm2p_devop *op, const json_t *reply,
                               unsigned char *sig, size_t sig_cap, size_t *sig_len, mk_err *e) {
  int rc = 0;
  static const char *const fields[] = {"sig", NULL};
  const EC_GROUP *g = NULL;
  unsigned char der[MK_SM2P_SIG_MAX], rsig[SC];
  size_t len = 0;
  MK_TRY(group(&g, e));
  MK_TRY(devop_check(dev, op, OP_SIGN, ST_RESPONDED, e));
  MK_ENSURE(sig != NULL && sig_cap >= MK_SM2P_SIG_MAX, MK_ETOOBIG, e,
            "sign: signature buffer under %d bytes", MK_SM2P_SIG_MAX);
  op->state = ST_DONE;
  MK_TRY(mk_pmsg_check(reply, sm2_algs, "sign", "result", fields, NULL, e));
  MK_TRY(mk_pmsg_get(reply, "sig", der, 8, MK_SM2P_SIG_MAX, &len, e));
  MK_TRY(sig_check(g, der, len, rsig, e));
  /* The r this device computed for its own e (all zero if it never
   * answered, which no signature matches). */
  MK_ENSURE(CRYPTO_memcmp(rsig, op->r, SC) == 0, MK_EPROTO, e,
            "sig: the server's signature is not for this operation");
  int ok = verify_e(dev->pub, op->e, der, len, e);
  MK_TRY(ok);
  MK_ENSURE(ok == 1, MK_EPROTO, e, "sig: the server's signature does not verify");
  memcpy(sig, der, len);
  *sig_len = len;
out:
  return rc;
}

/* ---- decrypt --------------------------------------------------------------- */

int mk_sm2p_decrypt_server_challenge(const mk_sm2p_server *srv, int64_t now, mk_sm2p_srvop **op,
                                     json_t **challenge, mk_err *e) {
  int rc = 0;
  mk_sm2p_srvop *o = NULL;
  json_t *m = NULL;
  *op = NULL;
  *challenge = NULL;
  MK_ENSURE(now <= INT64_MAX - MK_SM2P_OP_TTL, MK_EINVAL, e, "time out of range");
  o = OPENSSL_zalloc(sizeof *o);
  MK_ENSURE_ALLOC(o, e);
  o->kind = OP_DECRYPT;
  o->expires = now + MK_SM2P_OP_TTL;
  memcpy(o->p, srv->p, PT);
  MK_TRY(rand_challenge(o->challenge, e));
  MK_TRY(mk_pmsg_new(MSG_ALG, "decrypt", "challenge", &m, e));
  MK_TRY(mk_pmsg_put(m, "challenge", o->challenge, MK_SM2P_CHALLENGE_BYTES, e));
  *op = o;
  *challenge = m;
  o = NULL;
  m = NULL;
out:
  mk_sm2p_srvop_free(o);
  json_decref(m);
  return rc;
}

/* c = SM3(label || P1 || R || T1 || challenge) mod n: the Fiat-Shamir
 * challenge of the proof, bound to the server's fresh challenge and to the
 * T1 it authorises. */
static int proof_c(const EC_GROUP *g, const unsigned char p1[PT], const unsigned char r[PT],
                   const unsigned char t1[PT], const unsigned char ch[MK_SM2P_CHALLENGE_BYTES],
                   BIGNUM *c, BN_CTX *ctx, mk_err *e) {
  int rc = 0;
  unsigned char buf[sizeof PROOF_LABEL - 1 + 3 * PT + MK_SM2P_CHALLENGE_BYTES];
  unsigned char h[MK_SM3_LEN];
  size_t k = 0;
  memcpy(buf, PROOF_LABEL, sizeof PROOF_LABEL - 1);
  k += sizeof PROOF_LABEL - 1;
  memcpy(buf + k, p1, PT);
  k += PT;
  memcpy(buf + k, r, PT);
  k += PT;
  memcpy(buf + k, t1, PT);
  k += PT;
  memcpy(buf + k, ch, MK_SM2P_CHALLENGE_BYTES);
  MK_TRY(mk_sm3(buf, sizeof buf, h, e));
  MK_TRY_PTR_OSSL(c, BN_bin2bn(h, sizeof h, c), e, "BN_bin2bn");
  MK_TRY_OSSL(BN_nnmod(c, c, EC_GROUP_get0_order(g), ctx), e, "BN_nnmod");
out:
  return rc;
}

int mk_sm2p_decrypt_device_begin(const mk_sm2p_device *dev, const unsigned char *ct, size_t ctlen,
                                 const json_t *challenge, mk_sm2p_devop **op, json_t **out,
                                 mk_err *e) {
  int rc = 0;
  static const char *const fields[] = {"challenge", NULL};
  const EC_GROUP *g = NULL;
  BN_CTX *ctx = NULL;
  mk_sm2p_ct c;
  unsigned char ch[MK_SM2P_CHALLENGE_BYTES], p1b[PT], t1b[PT], rb[PT];
  BIGNUM *x = NULL, *k = NULL, *c_bn = NULL, *z = NULL;
  EC_POINT *p1 = NULL, *t1 = NULL, *r = NULL;
  mk_sm2p_devop *o = NULL;
  json_t *m = NULL;
  *op = NULL;
  *out = NULL;
  MK_TRY(group(&g, e));
  MK_TRY(mk_pmsg_check(challenge, sm2_algs, "decrypt", "challenge", fields, NULL, e));
  MK_TRY(mk_pmsg_get(challenge, "challenge", ch, sizeof ch, sizeof ch, NULL, e));
  MK_TRY(mk_sm2p_ct_decode(ct, ctlen, &c, e));
  o = OPENSSL_zalloc(sizeof *o);
  MK_ENSURE_ALLOC(o, e);
  o->kind = OP_DECRYPT;
  o->state = ST_BEGUN;
  memcpy(o->p, dev->p, PT);
  memcpy(o->c3, c.c3, sizeof o->c3);
  MK_TRY(mk_ec_point_decode(c.c1, PT, "C1", &o->c1, e));
  o->c2 = OPENSSL_malloc(c.c2_len);
  MK_ENSURE_ALLOC(o->c2, e);
  memcpy(o->c2, c.c2, c.c2_len);
  o->c2_len = c.c2_len;

  const BIGNUM *n = EC_GROUP_get0_order(g);
  MK_TRY_PTR_OSSL(ctx, BN_CTX_secure_new(), e, "BN_CTX");
  x = mk_ec_bn_secret();
  z = mk_ec_bn_secret();
  MK_ENSURE_ALLOC(x, e);
  MK_ENSURE_ALLOC(z, e);
  MK_TRY_PTR_OSSL(c_bn, BN_new(), e, "BN_new");
  MK_TRY_PTR_OSSL(p1, EC_POINT_new(g), e, "EC point");
  MK_TRY_PTR_OSSL(t1, EC_POINT_new(g), e, "EC point");
  MK_TRY_PTR_OSSL(r, EC_POINT_new(g), e, "EC point");
  /* The device keeps no P1; it is [d1^-1]G. */
  MK_TRY(mk_ec_scalar_inv(x, dev->d1, ctx, e));
  MK_TRY(mul1(g, p1, NULL, x, ctx, e));
  MK_TRY(mk_ec_point_encode(p1, p1b, e));
  /* T1 = [w]C1: the server sees only a blinded C1. */
  MK_TRY(rand_scalar("w", &o->w, e));
  MK_TRY(mul1(g, t1, o->c1, o->w, ctx, e));
  MK_TRY(mk_ec_point_encode(t1, t1b, e));
  /* Schnorr proof of x for P1 = [x]G: R = [k]G, z = k + c x mod n. */
  for (int i = 0;; i++) {
    MK_ENSURE(i < DRAWS_MAX, MK_ECRYPTO, e, "decrypt: no usable proof nonce drawn");
    BN_clear_free(k);
    k = NULL;
    MK_TRY(rand_scalar("k", &k, e));
    MK_TRY(mul1(g, r, NULL, k, ctx, e));
    MK_TRY(mk_ec_point_encode(r, rb, e));
    MK_TRY(proof_c(g, p1b, rb, t1b, ch, c_bn, ctx, e));
    if (BN_is_zero(c_bn))
      continue;
    MK_TRY_OSSL(BN_mod_mul(z, c_bn, x, n, ctx), e, "BN_mod_mul");
    MK_TRY_OSSL(BN_mod_add(z, z, k, n, ctx), e, "BN_mod_add");
    if (!BN_is_zero(z))
      break;
  }
  MK_TRY(mk_pmsg_new(MSG_ALG, "decrypt", "request", &m, e));
  MK_TRY(mk_pmsg_put(m, "t1", t1b, PT, e));
  MK_TRY(mk_pmsg_put(m, "proof_r", rb, PT, e));
  MK_TRY(msg_put_scalar(m, "proof_z", z, e));
  *op = o;
  *out = m;
  o = NULL;
  m = NULL;
out:
  mk_sm2p_devop_free(o);
  json_decref(m);
  BN_clear_free(x);
  BN_clear_free(k);
  BN_clear_free(z);
  BN_free(c_bn);
  EC_POINT_clear_free(p1);
  EC_POINT_free(t1);
  EC_POINT_free(r);
  BN_CTX_free(ctx);
  return rc;
}

int mk_sm2p_decrypt_server_finish(const mk_sm2p_server *srv, mk_sm2p_srvop *op, const json_t *in,
                                  int64_t now, json_t **reply, mk_err *e) {
  int rc = 0;
  static const char *const fields[] = {"t1", "proof_r", "proof_z", NULL};
  const EC_GROUP *g = NULL;
  BN_CTX *ctx = NULL;
  unsigned char t1b[PT], rb[PT];
  EC_POINT *t1 = NULL, *r = NULL, *x = NULL, *t2 = NULL;
  BIGNUM *z = NULL, *c = NULL, *inv = NULL;
  json_t *m = NULL;
  *reply = NULL;
  MK_TRY(group(&g, e));
  MK_TRY(srvop_spend(srv, op, OP_DECRYPT, now, e));
  MK_TRY(mk_pmsg_check(in, sm2_algs, "decrypt", "request", fields, NULL, e));
  MK_TRY(mk_pmsg_get(in, "t1", t1b, PT, PT, NULL, e));
  MK_TRY(mk_ec_point_decode(t1b, PT, "t1", &t1, e));
  MK_TRY(mk_pmsg_get(in, "proof_r", rb, PT, PT, NULL, e));
  MK_TRY(mk_ec_point_decode(rb, PT, "proof_r", &r, e));
  MK_TRY(msg_get_scalar(in, "proof_z", &z, e));
  MK_TRY_PTR_OSSL(ctx, BN_CTX_secure_new(), e, "BN_CTX");
  MK_TRY_PTR_OSSL(c, BN_new(), e, "BN_new");
  MK_TRY_PTR_OSSL(x, EC_POINT_new(g), e, "EC point");
  MK_TRY(proof_c(g, srv->p1_enc, rb, t1b, op->challenge, c, ctx, e));
  /* [z]G == R + [c]P1, i.e. [z]G - [c]P1 == R. */
  MK_ENSURE(!BN_is_zero(c), MK_EAUTH, e, "device share check failed");
  MK_TRY(lincomb_pub(g, x, z, srv->p1, c, ctx, e));
  int cmp = EC_POINT_cmp(g, x, r, ctx);
  MK_ENSURE(cmp >= 0, MK_ECRYPTO, e, "EC comparison failed");
  MK_ENSURE(cmp == 0, MK_EAUTH, e, "device share check failed");
  /* T2 = [d2^-1]T1 */
  inv = mk_ec_bn_secret();
  MK_ENSURE_ALLOC(inv, e);
  MK_TRY(mk_ec_scalar_inv(inv, srv->d2, ctx, e));
  MK_TRY_PTR_OSSL(t2, EC_POINT_new(g), e, "EC point");
  MK_TRY(mul1(g, t2, t1, inv, ctx, e));
  MK_TRY(mk_pmsg_new(MSG_ALG, "decrypt", "result", &m, e));
  MK_TRY(msg_put_point(m, "t2", t2, e));
  *reply = m;
  m = NULL;
out:
  json_decref(m);
  EC_POINT_free(t1);
  EC_POINT_free(r);
  EC_POINT_free(x);
  EC_POINT_free(t2);
  BN_free(z);
  BN_free(c);
  BN_clear_free(inv);
  BN_CTX_free(ctx);
  return rc;
}

size_t mk_sm2p_decrypt_plaintext_len(const mk_sm2p_devop *op) {
  return op != NULL && op->kind == OP_DECRYPT ? op->c2_len : 0;
}

int mk_sm2p_decrypt_device_finish(const mk_sm2p_device *dev, mk_sm2p_devop *op, const json_t *reply,
                                  unsigned char *pt, size_t pt_cap, size_t *pt_len, mk_err *e) {
  int rc = 0;
  static const char *const fields[] = {"t2", NULL};
  const EC_GROUP *g = NULL;
  BN_CTX *ctx = NULL;
  EC_POINT *t2 = NULL, *s = NULL, *neg_c1 = NULL;
  BIGNUM *u = NULL, *inv = NULL;
  EVP_MD_CTX *md = NULL;
  unsigned char xy[PT], c3[MK_SM3_LEN];
  unsigned int hl = 0;
  int wrote = 0;
  MK_TRY(group(&g, e));
  MK_TRY(devop_check(dev, op, OP_DECRYPT, ST_BEGUN, e));
  MK_ENSURE(pt != NULL && pt_cap >= op->c2_len, MK_ETOOBIG, e,
            "decrypt: plaintext needs %zu bytes, buffer has %zu", op->c2_len, pt_cap);
  op->state = ST_DONE;
  MK_TRY(mk_pmsg_check(reply, sm2_algs, "decrypt", "result", fields, NULL, e));
  MK_TRY(msg_get_point(reply, "t2", &t2, e));
  const BIGNUM *n = EC_GROUP_get0_order(g);
  MK_TRY_PTR_OSSL(ctx, BN_CTX_secure_new(), e, "BN_CTX");
  u = mk_ec_bn_secret();
  inv = mk_ec_bn_secret();
  MK_ENSURE_ALLOC(u, e);
  MK_ENSURE_ALLOC(inv, e);
  /* [w^-1 d1^-1]T2 - C1 = [(d1 d2)^-1 - 1]C1 = [d]C1 = (x2, y2)
   * (GM/T 0003.4 §7.1 B3). */
  MK_TRY(mk_ec_scalar_inv(u, op->w, ctx, e));
  MK_TRY(mk_ec_scalar_inv(inv, dev->d1, ctx, e));
  MK_TRY_OSSL(BN_mod_mul(u, u, inv, n, ctx), e, "BN_mod_mul");
  MK_TRY_PTR_OSSL(s, EC_POINT_new(g), e, "EC point");
  MK_TRY(mul1(g, s, t2, u, ctx, e));
  MK_TRY_PTR_OSSL(neg_c1, EC_POINT_dup(op->c1, g), e, "EC point");
  MK_TRY_OSSL(EC_POINT_invert(g, neg_c1, ctx), e, "EC negation");
  MK_TRY_OSSL(EC_POINT_add(g, s, s, neg_c1, ctx), e, "EC addition");
  MK_ENSURE(!EC_POINT_is_at_infinity(g, s), MK_ECRYPTO, e, "decryption failed");
  MK_TRY(mk_ec_point_encode(s, xy, e));
  /* B4: t = KDF(x2 || y2, klen), refused when all zero; B5: M = C2 xor t. */
  wrote = 1;
  MK_TRY(mk_sm3_kdf(xy + 1, PT - 1, pt, op->c2_len, e));
  unsigned char acc = 0;
  for (size_t i = 0; i < op->c2_len; i++) {
    acc |= pt[i];
    pt[i] ^= op->c2[i];
  }
  /* B6: u = SM3(x2 || M || y2) must equal C3. */
  MK_TRY_PTR_OSSL(md, EVP_MD_CTX_new(), e, "SM3 context");
  MK_TRY_OSSL(EVP_DigestInit_ex(md, EVP_sm3(), NULL), e, "SM3 init");
  MK_TRY_OSSL(EVP_DigestUpdate(md, xy + 1, SC), e, "SM3 update");
  MK_TRY_OSSL(EVP_DigestUpdate(md, pt, op->c2_len), e, "SM3 update");
  MK_TRY_OSSL(EVP_DigestUpdate(md, xy + 1 + SC, SC), e, "SM3 update");
  MK_TRY_OSSL(EVP_DigestFinal_ex(md, c3, &hl), e, "SM3 final");
  int bad = (hl != MK_SM3_LEN) | (CRYPTO_memcmp(c3, op->c3, MK_SM3_LEN) != 0) | (acc == 0);
  /* One answer for every failure, whichever check it was. */
  MK_ENSURE(!bad, MK_ECRYPTO, e, "decryption failed");
  *pt_len = op->c2_len;
out:
  if (rc < 0 && wrote) {
    /* Past the server's answer every failure looks the same. */
    OPENSSL_cleanse(pt, op->c2_len);
    rc = mk_err_set(e, MK_ECRYPTO, "decryption failed");
  }
  if (op != NULL && op->kind == OP_DECRYPT && op->state == ST_DONE) {
    BN_clear_free(op->w);
    op->w = NULL;
  }
  OPENSSL_cleanse(xy, sizeof xy);
  OPENSSL_cleanse(c3, sizeof c3);
  EVP_MD_CTX_free(md);
  EC_POINT_free(t2);
  EC_POINT_clear_free(s);
  EC_POINT_free(neg_c1);
  BN_clear_free(u);
  BN_clear_free(inv);
  BN_CTX_free(ctx);
  return rc;
}

/* ---- GM/T 0009 ciphertext DER -------------------------------------------- */

/* Read one DER TLV with tag from [*p, end): definite, minimal length of at
 * most 3 length bytes (16 MiB, far over the cap). 0 on success. */
static int der_tlv(const unsigned char **p, const unsigned char *end, unsigned char tag,
                   const unsigned char **val, size_t *len) {
  const unsigned char *q = *p;
  if (end - q < 2 || q[0] != tag)
    return -1;
  size_t l = q[1];
  q += 2;
  if (l & 0x80) {
    size_t nb = l & 0x7F;
    /* 0x80 is BER's indefinite form; a leading zero byte is not minimal. */
    if (nb == 0 || nb > 3 || (size_t)(end - q) < nb || q[0] == 0)
      return -1;
    l = 0;
    for (size_t i = 0; i < nb; i++)
      l = l << 8 | q[i];
    q += nb;
    if (l < 0x80)
      return -1;
  }
  if ((size_t)(end - q) < l)
    return -1;
  *val = q;
  *len = l;
  *p = q + l;
  return 0;
}

/* A non-negative minimal INTEGER of at most 256 bits into 32 bytes. */
static int der_uint256(const unsigned char *v, size_t len, unsigned char out[SC]) {
  if (len == 0 || (v[0] & 0x80))
    return -1;
  if (len > 1 && v[0] == 0 && !(v[1] & 0x80))
    return -1;
  if (v[0] == 0 && len > 1) {
    v++;
    len--;
  }
  if (len > SC)
    return -1;
  memset(out, 0, SC - len);
  memcpy(out + SC - len, v, len);
  return 0;
}

int mk_sm2p_ct_decode(const unsigned char *in, size_t len, mk_sm2p_ct *out, mk_err *e) {
  int rc = 0;
  const unsigned char *p = in, *end = in + len, *seq, *v;
  size_t seqlen, vlen;
  EC_POINT *c1 = NULL;
  memset(out, 0, sizeof *out);
  MK_ENSURE(in != NULL && len > 0, MK_EINVAL, e, "ciphertext: empty");
  MK_ENSURE(len <= MK_SM2P_CT_MAX, MK_ETOOBIG, e, "ciphertext: over %u bytes", MK_SM2P_CT_MAX);
  MK_ENSURE(der_tlv(&p, end, 0x30, &seq, &seqlen) == 0, MK_EINVAL, e,
            "ciphertext: not a DER SEQUENCE");
  MK_ENSURE(p == end, MK_EINVAL, e, "ciphertext: bytes after the SEQUENCE");
  p = seq;
  end = seq + seqlen;
  out->c1[0] = 0x04;
  MK_ENSURE(der_tlv(&p, end, 0x02, &v, &vlen) == 0 && der_uint256(v, vlen, out->c1 + 1) == 0,
            MK_EINVAL, e, "ciphertext: bad x coordinate");
  MK_ENSURE(der_tlv(&p, end, 0x02, &v, &vlen) == 0 &&
                der_uint256(v, vlen, out->c1 + 1 + SC) == 0,
            MK_EINVAL, e, "ciphertext: bad y coordinate");
  MK_ENSURE(der_tlv(&p, end, 0x04, &v, &vlen) == 0 && vlen == MK_SM3_LEN, MK_EINVAL, e,
            "ciphertext: C3 must be a %d-byte OCTET STRING", MK_SM3_LEN);
  memcpy(out->c3, v, MK_SM3_LEN);
  MK_ENSURE(der_tlv(&p, end, 0x04, &v, &vlen) == 0 && vlen > 0, MK_EINVAL, e,
            "ciphertext: C2 must be a non-empty OCTET STRING");
  MK_ENSURE(vlen <= MK_SM2P_C2_MAX, MK_ETOOBIG, e, "ciphertext: C2 over %u bytes",
            MK_SM2P_C2_MAX);
  MK_ENSURE(p == end, MK_EINVAL, e, "ciphertext: extra fields");
  /* GM/T 0003.4 §7.1 B1: C1 must be a point of the curve. */
  MK_TRY(mk_ec_point_decode(out->c1, PT, "ciphertext C1", &c1, e));
  out->c2 = v;
  out->c2_len = vlen;
out:
  EC_POINT_free(c1);
  if (rc < 0)
    memset(out, 0, sizeof *out);
  return rc;
}

/* DER length octets of l into out (at most 4 bytes); returns their count. */
static size_t der_len(size_t l, unsigned char *out) {
  if (l < 0x80) {
    out[0] = (unsigned char)l;
    return 1;
  }
  size_t nb = l <= 0xFF ? 1 : l <= 0xFFFF ? 2 : 3;
  out[0] = (unsigned char)(0x80 | nb);
  for (size_t i = 0; i < nb; i++)
    out[1 + i] = (unsigned char)(l >> (8 * (nb - 1 - i)));
  return 1 + nb;
}

/* Content octets of the minimal INTEGER for 32 unsigned bytes into out
 * (33 bytes); returns their count. */
static size_t der_int_content(const unsigned char v[SC], unsigned char out[SC + 1]) {
  size_t i = 0;
  while (i < SC - 1 && v[i] == 0)
    i++;
  size_t k = 0;
  if (v[i] & 0x80)
    out[k++] = 0;
  memcpy(out + k, v + i, SC - i);
  return k + SC - i;
}

int mk_sm2p_ct_encode(const mk_sm2p_ct *ct, mk_buf *out, mk_err *e) {
  int rc = 0;
  unsigned char xi[SC + 1], yi[SC + 1], hdr[4];
  unsigned char *der = NULL;
  MK_ENSURE(ct != NULL && ct->c2 != NULL && ct->c2_len > 0 && ct->c2_len <= MK_SM2P_C2_MAX,
            MK_EINVAL, e, "ciphertext: C2 must be 1 to %u bytes", MK_SM2P_C2_MAX);
  size_t xl = der_int_content(ct->c1 + 1, xi), yl = der_int_content(ct->c1 + 1 + SC, yi);
  size_t body = 2 + xl + 2 + yl + 2 + MK_SM3_LEN + der_len(ct->c2_len, hdr) + ct->c2_len + 1;
  size_t total = der_len(body, hdr) + 1 + body;
  der = OPENSSL_malloc(total);
  MK_ENSURE_ALLOC(der, e);
  size_t k = 0;
  der[k++] = 0x30;
  k += der_len(body, der + k);
  der[k++] = 0x02;
  der[k++] = (unsigned char)xl;
  memcpy(der + k, xi, xl);
  k += xl;
  der[k++] = 0x02;
  der[k++] = (unsigned char)yl;
  memcpy(der + k, yi, yl);
  k += yl;
  der[k++] = 0x04;
  der[k++] = MK_SM3_LEN;
  memcpy(der + k, ct->c3, MK_SM3_LEN);
  k += MK_SM3_LEN;
  der[k++] = 0x04;
  k += der_len(ct->c2_len, der + k);
  memcpy(der + k, ct->c2, ct->c2_len);
  k += ct->c2_len;
  MK_ENSURE(k == total, MK_EINTERNAL, e, "ciphertext: DER length mismatch");
  MK_TRY(mk_buf_append(out, der, total, e));
out:
  OPENSSL_free(der);
  return rc;
}

/* ---- splitting an existing key -------------------------------------------- */

int mk_sm2p_split_existing(const BIGNUM *d, mk_sm2p_device **dev, mk_sm2p_server **srv,
                           mk_err *e) {
  int rc = 0;
  const EC_GROUP *g = NULL;
  BN_CTX *ctx = NULL;
  BIGNUM *d1 = NULL, *d1inv = NULL, *t = NULL, *d2 = NULL;
  EC_POINT *p1 = NULL, *p = NULL;
  unsigned char penc[PT];
  mk_sm2p_server *s = NULL;
  *dev = NULL;
  *srv = NULL;
  MK_TRY(group(&g, e));
  const BIGNUM *n = EC_GROUP_get0_order(g);
  MK_TRY_PTR_OSSL(ctx, BN_CTX_secure_new(), e, "BN_CTX");
  t = mk_ec_bn_secret();
  d1inv = mk_ec_bn_secret();
  d2 = mk_ec_bn_secret();
  MK_ENSURE_ALLOC(t, e);
  MK_ENSURE_ALLOC(d1inv, e);
  MK_ENSURE_ALLOC(d2, e);
  MK_TRY_OSSL(BN_add(t, d, BN_value_one()), e, "BN_add");
  /* d in 1..n-2 (GM/T 0003.1 §6.1), so 1 + d != n has an inverse mod n */
  MK_ENSURE(d != NULL && !BN_is_negative(d) && !BN_is_zero(d) && BN_cmp(t, n) < 0, MK_EINVAL, e,
            "SM2 private key out of range");
  MK_TRY(rand_scalar("d1", &d1, e));
  MK_TRY_OSSL(BN_mod_mul(t, t, d1, n, ctx), e, "BN_mod_mul");
  MK_TRY(mk_ec_scalar_inv(d2, t, ctx, e));   /* d2 = ((1 + d) d1)^-1 */
  MK_TRY(mk_ec_scalar_inv(d1inv, d1, ctx, e));
  MK_TRY_PTR_OSSL(p1, EC_POINT_new(g), e, "EC point");
  MK_TRY(mul1(g, p1, NULL, d1inv, ctx, e));  /* P1 = [d1^-1]G */
  MK_TRY(server_new(&d2, &p1, &s, e));       /* P = [d2^-1]P1 - G */
  /* The shares must give back the key's own P = [d]G. */
  MK_TRY_PTR_OSSL(p, EC_POINT_new(g), e, "EC point");
  MK_TRY(mul1(g, p, NULL, d, ctx, e));
  MK_TRY(mk_ec_point_encode(p, penc, e));
  MK_ENSURE(CRYPTO_memcmp(penc, s->p, PT) == 0, MK_EINTERNAL, e,
            "split shares do not give the key's public point");
  MK_TRY(device_new(&d1, penc, dev, e));
  *srv = s;
  s = NULL;
out:
  BN_clear_free(d1);
  BN_clear_free(d1inv);
  BN_clear_free(t);
  BN_clear_free(d2);
  EC_POINT_clear_free(p1);
  EC_POINT_free(p);
  BN_CTX_free(ctx);
  mk_sm2p_server_free(s);
  return rc;
}
