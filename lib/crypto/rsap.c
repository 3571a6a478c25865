#include "crypto/rsap.h"
#include "crypto/msg.h"
#include "util/guard.h"
#include "util/json.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#define SHARE_VERSION 1
#define SHARE_HEAD 6 /* magic(4) version(1) alg(1) */
#define KEY_ID_BYTES 32
#define HASH_NAME_MAX 16
#define DRAWS_MAX 64 /* redraws of a blinding factor before giving up */

static const char device_magic[4] = {'M', 'K', 'R', 'U'};
static const char server_magic[4] = {'M', 'K', 'R', 'S'};

/* Domain separation: a proof is a signature over a digest no document can
 * have, and it names the key size it was made for. */
static const char decrypt_label[] = "mkey rsap decrypt proof v1";
static const char keygen_label[] = "mkey rsap keygen proof v1";

struct alg {
  const char *name;
  int bits;
  unsigned char code; /* in the share encoding */
};

static const struct alg algs[] = {
    {"rsa2048", 2048, 1},
    {"rsa3072", 3072, 2},
};
#define N_ALGS (sizeof algs / sizeof algs[0])

struct rsap_key {
  const struct alg *alg;
  size_t k;                        /* modulus length in bytes */
  BIGNUM *n;
  BIGNUM *pub_e;
  BIGNUM *share;                   /* d_u or d_s: secure heap, BN_FLG_CONSTTIME */
  BN_MONT_CTX *mont;               /* for n, read-only once set */
  unsigned char id[KEY_ID_BYTES];  /* SHA-256 of N: ties operation state to its key */
};

struct mk_rsap_device {
  struct rsap_key key;
};

struct mk_rsap_server {
  struct rsap_key key;
};

enum { OP_SIGN = 1, OP_DECRYPT = 2 };

struct mk_rsap_devop {
  int kind;
  int spent;
  unsigned char key_id[KEY_ID_BYTES];
  unsigned char m[MK_RSAP_MAX_BYTES]; /* sign: EM to check s^e against; decrypt: c' */
  BIGNUM *x_u;                        /* decrypt: c'^d_u mod N, secret */
  BIGNUM *r_inv;                      /* decrypt: r^-1 mod N, unblinds; secret */
};

struct mk_rsap_srvop {
  int spent;
  int64_t expires;
  unsigned char key_id[KEY_ID_BYTES];
  unsigned char challenge[MK_RSAP_CHALLENGE_BYTES];
};

/* RFC 8017 §9.2 note 1: DER of DigestInfo up to the digest bytes. */
static const unsigned char di_sha256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                          0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                          0x01, 0x05, 0x00, 0x04, 0x20};
/* The same structure with SM3's OID 1.2.156.10197.1.401 (GM/T 0004-2012,
 * GM/T 0006-2012); OpenSSL 3.0 knows the OID but will not sign RSA with it. */
static const unsigned char di_sm3[] = {0x30, 0x30, 0x30, 0x0c, 0x06, 0x08, 0x2a, 0x81, 0x1c,
                                       0xcf, 0x55, 0x01, 0x83, 0x11, 0x05, 0x00, 0x04, 0x20};

/* ---- randomness (with the test hook) ------------------------------------ */

static mk_rsap_rng_fn test_rng;
static void *test_rng_ctx;

void mk_rsap_insecure_set_test_rng(mk_rsap_rng_fn fn, void *ctx) {
  test_rng = fn;
  test_rng_ctx = ctx;
}

/* ---- small helpers ------------------------------------------------------- */

static const struct alg *alg_by_bits(int bits) {
  for (size_t i = 0; i < N_ALGS; i++)
    if (algs[i].bits == bits)
      return &algs[i];
  return NULL;
}

static const struct alg *alg_by_name(const char *name) {
  for (size_t i = 0; i < N_ALGS; i++)
    if (strcmp(algs[i].name, name) == 0)
      return &algs[i];
  return NULL;
}

static const struct alg *alg_by_code(unsigned char code) {
  for (size_t i = 0; i < N_ALGS; i++)
    if (algs[i].code == code)
      return &algs[i];
  return NULL;
}

static const char *hash_name(mk_rsap_hash h) {
  switch (h) {
  case MK_RSAP_HASH_SHA256: return "sha256";
  case MK_RSAP_HASH_SM3: return "sm3";
  }
  return NULL;
}

static BIGNUM *secret_bn(void) {
  BIGNUM *x = BN_secure_new();
  if (x != NULL)
    BN_set_flags(x, BN_FLG_CONSTTIME);
  return x;
}

/* Prefix the detail already in e with what, keeping the code. */
static int wrap(int rc, mk_err *e, const char *what) {
  if (rc < 0 && e != NULL)
    mk_err_wrap(e, "%s", what);
  return rc;
}

/* EMSA-PKCS1-v1_5 (RFC 8017 §9.2): 00 01 FF..FF 00 DigestInfo into em[k].
 * k >= 256 leaves far more than the 8 bytes of padding the RFC requires. */
static void emsa_pkcs1_v15(mk_rsap_hash hash, const unsigned char *digest, size_t k,
                           unsigned char *em) {
  const unsigned char *di = hash == MK_RSAP_HASH_SM3 ? di_sm3 : di_sha256;
  size_t di_len = hash == MK_RSAP_HASH_SM3 ? sizeof di_sm3 : sizeof di_sha256;
  size_t t_len = di_len + MK_RSAP_DIGEST_BYTES;
  size_t ps = k - t_len - 3;
  em[0] = 0x00;
  em[1] = 0x01;
  memset(em + 2, 0xff, ps);
  em[2 + ps] = 0x00;
  memcpy(em + 3 + ps, di, di_len);
  memcpy(em + 3 + ps + di_len, digest, MK_RSAP_DIGEST_BYTES);
}

/* ---- keys ------------------------------------------------------------------ */

static void key_clear(struct rsap_key *key) {
  BN_free(key->n);
  BN_free(key->pub_e);
  BN_clear_free(key->share);
  BN_MONT_CTX_free(key->mont);
  OPENSSL_cleanse(key, sizeof *key);
}

/* Fill key from N and the share, k bytes each, checking that N is an odd
 * number of exactly alg->bits bits and the share is in 1..N-1. what names
 * the input in errors. On failure key holds what was set; key_clear it. */
static int key_set(struct rsap_key *key, const struct alg *alg, const unsigned char *nb,
                   const unsigned char *sb, const char *what, mk_err *e) {
  int rc = 0;
  BN_CTX *ctx = NULL;
  size_t k = (size_t)alg->bits / 8;

  key->alg = alg;
  key->k = k;
  MK_TRY_PTR_OSSL(key->n, BN_bin2bn(nb, (int)k, NULL), e, "RSA modulus");
  MK_ENSURE(BN_num_bits(key->n) == alg->bits && BN_is_odd(key->n), MK_EINVAL, e,
            "%s: n is not a %d-bit RSA modulus", what, alg->bits);
  MK_TRY_PTR_OSSL(key->share, secret_bn(), e, "RSA share");
  MK_ENSURE(BN_bin2bn(sb, (int)k, key->share) != NULL, MK_ECRYPTO, e, "RSA share");
  MK_ENSURE(!BN_is_zero(key->share) && BN_ucmp(key->share, key->n) < 0, MK_EINVAL, e,
            "%s: share out of range", what);
  MK_TRY_PTR_OSSL(key->pub_e, BN_new(), e, "RSA exponent");
  MK_TRY_OSSL(BN_set_word(key->pub_e, MK_RSAP_E), e, "RSA exponent");
  MK_TRY_PTR_OSSL(ctx, BN_CTX_new(), e, "BN_CTX");
  MK_TRY_PTR_OSSL(key->mont, BN_MONT_CTX_new(), e, "Montgomery context");
  MK_TRY_OSSL(BN_MONT_CTX_set(key->mont, key->n, ctx), e, "Montgomery context");
  MK_TRY_OSSL(EVP_Digest(nb, k, key->id, NULL, EVP_sha256(), NULL), e, "key id");
out:
  BN_CTX_free(ctx);
  return rc;
}

/* r = a^share mod N; the exponent is secret, so the constant-time ladder. */
static int exp_share(const struct rsap_key *key, BIGNUM *r, const BIGNUM *a, BN_CTX *ctx,
                     mk_err *e) {
  int rc = 0;
  MK_TRY_OSSL(BN_mod_exp_mont_consttime(r, a, key->share, key->n, ctx, key->mont), e,
              "RSA share exponentiation");
out:
  return rc;
}

/* r = a^e mod N (public). */
static int exp_public(const struct rsap_key *key, BIGNUM *r, const BIGNUM *a, BN_CTX *ctx,
                      mk_err *e) {
  int rc = 0;
  MK_TRY_OSSL(BN_mod_exp_mont(r, a, key->pub_e, key->n, ctx, key->mont), e,
              "RSA public exponentiation");
out:
  return rc;
}

/* r = a * b mod N in Montgomery form, which keeps a fixed-size code path for
 * the secret products (a plaintext representative, a partial signature). */
static int mul_mod(const struct rsap_key *key, BIGNUM *r, const BIGNUM *a, const BIGNUM *b,
                   BN_CTX *ctx, mk_err *e) {
  int rc = 0;
  BIGNUM *am = NULL;
  MK_TRY_PTR_OSSL(am, secret_bn(), e, "BIGNUM");
  MK_TRY_OSSL(BN_to_montgomery(am, a, key->mont, ctx), e, "Montgomery form");
  MK_TRY_OSSL(BN_mod_mul_montgomery(r, am, b, key->mont, ctx), e, "Montgomery product");
out:
  BN_clear_free(am);
  return rc;
}

/* s = s_u * m^share mod N, and whether s^e == m: the check that both shares
 * were right. *ok is 1 or 0; rc < 0 only when OpenSSL failed. */
static int finish_check(const struct rsap_key *key, BIGNUM *s, const BIGNUM *s_u, const BIGNUM *m,
                        BN_CTX *ctx, int *ok, mk_err *e) {
  int rc = 0;
  BIGNUM *t = NULL, *v = NULL;
  *ok = 0;
  MK_TRY_PTR_OSSL(t, secret_bn(), e, "BIGNUM");
  MK_TRY_PTR_OSSL(v, BN_new(), e, "BIGNUM");
  MK_TRY(exp_share(key, t, m, ctx, e));
  MK_TRY(mul_mod(key, s, s_u, t, ctx, e));
  MK_TRY(exp_public(key, v, s, ctx, e));
  *ok = BN_cmp(v, m) == 0;
out:
  BN_clear_free(t);
  BN_free(v);
  return rc;
}

static int key_public(const struct rsap_key *key, EVP_PKEY **out, mk_err *e) {
  int rc = 0;
  OSSL_PARAM_BLD *bld = NULL;
  OSSL_PARAM *params = NULL;
  EVP_PKEY_CTX *pctx = NULL;
  MK_ENSURE(out != NULL, MK_EINVAL, e, "public key: no output");
  *out = NULL;
  MK_TRY_PTR_OSSL(bld, OSSL_PARAM_BLD_new(), e, "public key");
  MK_TRY_OSSL(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, key->n), e, "public key");
  MK_TRY_OSSL(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, key->pub_e), e, "public key");
  MK_TRY_PTR_OSSL(params, OSSL_PARAM_BLD_to_param(bld), e, "public key");
  MK_TRY_PTR_OSSL(pctx, EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL), e, "public key");
  MK_TRY_OSSL(EVP_PKEY_fromdata_init(pctx), e, "public key");
  MK_TRY_OSSL(EVP_PKEY_fromdata(pctx, out, EVP_PKEY_PUBLIC_KEY, params), e, "public key");
out:
  EVP_PKEY_CTX_free(pctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  return rc;
}

/* ---- messages -------------------------------------------------------------- */

_Static_assert(MK_RSAP_MAX_BYTES <= MK_PMSG_FIELD_MAX, "RSA integer over the message field cap");

static int put_str(json_t *msg, const char *key, const char *value, mk_err *e) {
  int rc = 0;
  json_t *s = json_string(value);
  MK_ENSURE_ALLOC(s, e);
  MK_ENSURE(json_object_set_new(msg, key, s) == 0, MK_ENOMEM, e, "out of memory");
out:
  return rc;
}

/* An integer mod N as exactly k bytes (RFC 8017 §4.1 I2OSP). */
static int put_num(json_t *msg, const char *key, const struct rsap_key *rk, const BIGNUM *x,
                   mk_err *e) {
  int rc = 0;
  unsigned char b[MK_RSAP_MAX_BYTES];
  MK_ENSURE(BN_bn2binpad(x, b, (int)rk->k) == (int)rk->k, MK_EINTERNAL, e,
            "%s does not fit in %zu bytes", key, rk->k);
  MK_TRY(mk_pmsg_put(msg, key, b, rk->k, e));
out:
  OPENSSL_cleanse(b, sizeof b);
  return rc;
}

/* mk_pmsg_check with errors prefixed by what names the message. *alg: the
 * key's algorithm, or NULL to accept either and learn it from msg. */
static int msg_check(const json_t *msg, const struct alg **alg, const char *op, const char *step,
                     const char *const *fields, const char *what, mk_err *e) {
  int rc = 0;
  const char *names[N_ALGS + 1] = {NULL};
  const char *got = NULL;
  if (*alg != NULL)
    names[0] = (*alg)->name;
  else
    for (size_t i = 0; i < N_ALGS; i++)
      names[i] = algs[i].name;
  MK_TRY(wrap(mk_pmsg_check(msg, names, op, step, fields, &got, e), e, what));
  *alg = alg_by_name(got);
out:
  return rc;
}

/* A binary field of exactly want bytes. */
static int get_b64(const json_t *msg, const char *key, unsigned char *out, size_t want,
                   const char *what, mk_err *e) {
  return wrap(mk_pmsg_get(msg, key, out, want, want, NULL, e), e, what);
}

/* An integer field: exactly k bytes big-endian, value in 1..N-1. The bytes
 * go to raw too (k bytes; may be NULL). */
static int get_num(const json_t *msg, const char *key, const struct rsap_key *rk, BIGNUM *x,
                   unsigned char *raw, const char *what, mk_err *e) {
  int rc = 0;
  unsigned char b[MK_RSAP_MAX_BYTES];
  MK_TRY(get_b64(msg, key, b, rk->k, what, e));
  MK_ENSURE(BN_bin2bn(b, (int)rk->k, x) != NULL, MK_ECRYPTO, e, "BIGNUM");
  MK_ENSURE(!BN_is_zero(x) && BN_ucmp(x, rk->n) < 0, MK_EINVAL, e, "%s: %s out of range", what,
            key);
  if (raw != NULL)
    memcpy(raw, b, rk->k);
out:
  OPENSSL_cleanse(b, sizeof b);
  return rc;
}

void mk_rsap_msg_free(json_t *msg) { mk_pmsg_free(msg); }

/* ---- split ------------------------------------------------------------------ */

static void device_free(mk_rsap_device *dev) {
  if (dev == NULL)
    return;
  key_clear(&dev->key);
  free(dev);
}

static void server_free(mk_rsap_server *srv) {
  if (srv == NULL)
    return;
  key_clear(&srv->key);
  free(srv);
}

void mk_rsap_device_free(mk_rsap_device *dev) { device_free(dev); }
void mk_rsap_server_free(mk_rsap_server *srv) { server_free(srv); }

int mk_rsap_device_bits(const mk_rsap_device *dev) { return dev ? dev->key.alg->bits : 0; }
int mk_rsap_server_bits(const mk_rsap_server *srv) { return srv ? srv->key.alg->bits : 0; }

/* A private RSA component as a secret BIGNUM; MK_EINVAL when the key has
 * none (a public key, or a key held by a provider that will not export). */
static int get_private(const EVP_PKEY *key, const char *name, BIGNUM **out, mk_err *e) {
  int rc = 0;
  MK_TRY_PTR_OSSL(*out, secret_bn(), e, "BIGNUM");
  if (EVP_PKEY_get_bn_param(key, name, out) != 1) {
    ERR_clear_error();
    MK_FAIL(MK_EINVAL, e, "rsap split: the key has no exportable private part");
  }
  BN_set_flags(*out, BN_FLG_CONSTTIME);
out:
  return rc;
}

/* Both halves combine to a verifying signature of a random m: proves that
 * d_u + d_s inverts e before the shares leave. */
static int split_self_test(const mk_rsap_device *dev, const mk_rsap_server *srv, BN_CTX *ctx,
                           mk_err *e) {
  int rc = 0, ok = 0;
  BIGNUM *m = NULL, *s_u = NULL, *s = NULL;
  MK_TRY_PTR_OSSL(m, BN_new(), e, "BIGNUM");
  MK_TRY_PTR_OSSL(s_u, BN_new(), e, "BIGNUM");
  MK_TRY_PTR_OSSL(s, BN_new(), e, "BIGNUM");
  MK_TRY_OSSL(BN_rand_range_ex(m, dev->key.n, 0, ctx), e, "rsap split: random test value");
  MK_TRY_OSSL(BN_add_word(m, 2), e, "BIGNUM");
  if (BN_ucmp(m, dev->key.n) >= 0)
    MK_TRY_OSSL(BN_sub_word(m, 3), e, "BIGNUM");
  MK_TRY(exp_share(&dev->key, s_u, m, ctx, e));
  MK_TRY(finish_check(&srv->key, s, s_u, m, ctx, &ok, e));
  MK_ENSURE(ok, MK_EINVAL, e, "rsap split: d does not invert e for this key");
out:
  BN_free(m);
  BN_free(s_u);
  BN_clear_free(s);
  return rc;
}

int mk_rsap_split(const EVP_PKEY *key, int bits, mk_rsap_device **dev, mk_rsap_server **srv,
                  mk_err *e) {
  int rc = 0;
  EVP_PKEY *made = NULL;
  BN_CTX *ctx = NULL;
  BIGNUM *n = NULL, *pub_e = NULL, *p = NULL, *q = NULL, *d = NULL;
  BIGNUM *phi = NULL, *range = NULL, *d_s = NULL, *d_u = NULL, *t = NULL;
  unsigned char nb[MK_RSAP_MAX_BYTES], ub[MK_RSAP_MAX_BYTES], sb[MK_RSAP_MAX_BYTES];
  mk_rsap_device *dv = NULL;
  mk_rsap_server *sv = NULL;
  const struct alg *alg = NULL;

  MK_ENSURE(dev != NULL && srv != NULL, MK_EINVAL, e, "rsap split: no output");
  *dev = NULL;
  *srv = NULL;
  if (key == NULL) {
    MK_ENSURE(alg_by_bits(bits) != NULL, MK_EINVAL, e,
              "rsap split: key size must be 2048 or 3072 bits");
    /* OpenSSL's default public exponent is 65537 (RFC 8017 §3.1 allows any
     * odd e; 65537 is what CAs accept). */
    MK_TRY_PTR_OSSL(made, EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits), e,
                    "rsap split: RSA key generation");
    key = made;
  }
  MK_ENSURE(EVP_PKEY_is_a(key, "RSA"), MK_EINVAL, e, "rsap split: not an RSA key");
  alg = alg_by_bits(EVP_PKEY_get_bits(key));
  MK_ENSURE(alg != NULL, MK_EINVAL, e, "rsap split: key size must be 2048 or 3072 bits");
  MK_ENSURE(bits == 0 || bits == alg->bits, MK_EINVAL, e,
            "rsap split: the key has %d bits, not %d", alg->bits, bits);
  size_t k = (size_t)alg->bits / 8;

  MK_TRY_OSSL(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n), e, "rsap split: modulus");
  MK_TRY_OSSL(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &pub_e), e,
              "rsap split: public exponent");
  MK_ENSURE(BN_is_word(pub_e, MK_RSAP_E), MK_EINVAL, e, "rsap split: public exponent must be 65537");
  MK_TRY(get_private(key, OSSL_PKEY_PARAM_RSA_FACTOR1, &p, e));
  MK_TRY(get_private(key, OSSL_PKEY_PARAM_RSA_FACTOR2, &q, e));
  MK_TRY(get_private(key, OSSL_PKEY_PARAM_RSA_D, &d, e));

  MK_TRY_PTR_OSSL(ctx, BN_CTX_secure_new(), e, "BN_CTX");
  MK_TRY_PTR_OSSL(t, secret_bn(), e, "BIGNUM");
  MK_TRY_PTR_OSSL(phi, secret_bn(), e, "BIGNUM");
  MK_TRY_PTR_OSSL(range, secret_bn(), e, "BIGNUM");
  MK_TRY_PTR_OSSL(d_s, secret_bn(), e, "BIGNUM");
  MK_TRY_PTR_OSSL(d_u, secret_bn(), e, "BIGNUM");
  /* A multi-prime key (RFC 8017 §3.1, u > 2) has N != p*q: refused. */
  MK_TRY_OSSL(BN_mul(t, p, q, ctx), e, "BIGNUM");
  MK_ENSURE(BN_cmp(t, n) == 0, MK_EINVAL, e, "rsap split: only two-prime RSA keys can be split");

  /* φ(N) = (p-1)(q-1). OpenSSL's d may be e^-1 mod λ(N); λ divides φ, so
   * shares that add up to d mod φ still give m^(d_u + d_s) = m^d. */
  MK_TRY_OSSL(BN_sub_word(p, 1), e, "BIGNUM");
  MK_TRY_OSSL(BN_sub_word(q, 1), e, "BIGNUM");
  MK_TRY_OSSL(BN_mul(phi, p, q, ctx), e, "BIGNUM");
  MK_TRY_OSSL(BN_nnmod(d, d, phi, ctx), e, "BIGNUM");
  MK_TRY_PTR_OSSL(range, BN_copy(range, phi), e, "BIGNUM");
  MK_TRY_OSSL(BN_sub_word(range, 1), e, "BIGNUM");
  /* d_s uniform in [1, φ): a uniform draw from [0, φ-1) plus one. d_u = 0
   * would make the device share meaningless; its chance is 1/φ, the retry
   * keeps the encodings' 1..N-1 rule true regardless. */
  do {
    MK_TRY_OSSL(BN_priv_rand_range_ex(d_s, range, 0, ctx), e, "rsap split: random share");
    MK_TRY_OSSL(BN_add_word(d_s, 1), e, "BIGNUM");
    MK_TRY_OSSL(BN_mod_sub(d_u, d, d_s, phi, ctx), e, "BIGNUM");
  } while (BN_is_zero(d_u));

  MK_ENSURE(BN_bn2binpad(n, nb, (int)k) == (int)k && BN_bn2binpad(d_u, ub, (int)k) == (int)k &&
                BN_bn2binpad(d_s, sb, (int)k) == (int)k,
            MK_EINTERNAL, e, "rsap split: value longer than the modulus");
  dv = calloc(1, sizeof *dv);
  sv = calloc(1, sizeof *sv);
  MK_ENSURE(dv != NULL && sv != NULL, MK_ENOMEM, e, "out of memory");
  MK_TRY(key_set(&dv->key, alg, nb, ub, "rsap split", e));
  MK_TRY(key_set(&sv->key, alg, nb, sb, "rsap split", e));
  MK_TRY(split_self_test(dv, sv, ctx, e));
  *dev = dv;
  *srv = sv;
  dv = NULL;
  sv = NULL;
out:
  OPENSSL_cleanse(ub, sizeof ub);
  OPENSSL_cleanse(sb, sizeof sb);
  device_free(dv);
  server_free(sv);
  BN_clear_free(p);
  BN_clear_free(q);
  BN_clear_free(d);
  BN_clear_free(phi);
  BN_clear_free(range);
  BN_clear_free(d_s);
  BN_clear_free(d_u);
  BN_clear_free(t);
  BN_free(n);
  BN_free(pub_e);
  BN_CTX_free(ctx);
  /* RSA_free clears p, q, d and the CRT values of the key made here. */
  EVP_PKEY_free(made);
  return rc;
}

/* ---- public key ---------------------------------------------------------------- */

int mk_rsap_device_public_key(const mk_rsap_device *dev, EVP_PKEY **out, mk_err *e) {
  int rc = 0;
  MK_ENSURE(dev != NULL, MK_EINVAL, e, "public key: no device share");
  MK_TRY(key_public(&dev->key, out, e));
out:
  return rc;
}

int mk_rsap_server_public_key(const mk_rsap_server *srv, EVP_PKEY **out, mk_err *e) {
  int rc = 0;
  MK_ENSURE(srv != NULL, MK_EINVAL, e, "public key: no server share");
  MK_TRY(key_public(&srv->key, out, e));
out:
  return rc;
}

int mk_rsap_public_spki(const EVP_PKEY *pub, mk_buf *out, mk_err *e) {
  int rc = 0;
  unsigned char *der = NULL;
  MK_ENSURE(pub != NULL && out != NULL, MK_EINVAL, e, "public key: missing argument");
  MK_ENSURE(EVP_PKEY_is_a(pub, "RSA"), MK_EINVAL, e, "public key: not an RSA key");
  int len = i2d_PUBKEY(pub, &der);
  MK_ENSURE(len > 0, MK_ECRYPTO, e, "public key: cannot encode SubjectPublicKeyInfo");
  MK_TRY(mk_buf_append(out, der, (size_t)len, e));
out:
  OPENSSL_free(der);
  return rc;
}

/* ---- share encodings -------------------------------------------------------------- */

static int share_encode(const struct rsap_key *key, const char magic[4], mk_buf *out,
                        mk_err *e) {
  int rc = 0;
  unsigned char b[MK_RSAP_SHARE_MAX];
  size_t k = key->k;
  memcpy(b, magic, 4);
  b[4] = SHARE_VERSION;
  b[5] = key->alg->code;
  MK_ENSURE(BN_bn2binpad(key->n, b + SHARE_HEAD, (int)k) == (int)k &&
                BN_bn2binpad(key->share, b + SHARE_HEAD + k, (int)k) == (int)k,
            MK_EINTERNAL, e, "share: value longer than the modulus");
  MK_TRY(mk_buf_append(out, b, SHARE_HEAD + 2 * k, e));
out:
  OPENSSL_cleanse(b, sizeof b);
  return rc;
}

static int share_decode(const unsigned char *in, size_t len, const char magic[4],
                        const char *what, struct rsap_key *key, mk_err *e) {
  int rc = 0;
  MK_ENSURE(in != NULL && len >= SHARE_HEAD, MK_EINVAL, e, "%s: truncated", what);
  MK_ENSURE(memcmp(in, magic, 4) == 0, MK_EINVAL, e, "%s: not an encoded %s", what, what);
  MK_ENSURE(in[4] == SHARE_VERSION, MK_EINVAL, e, "%s: unsupported version %u", what,
            (unsigned)in[4]);
  const struct alg *alg = alg_by_code(in[5]);
  MK_ENSURE(alg != NULL, MK_EINVAL, e, "%s: unknown algorithm %u", what, (unsigned)in[5]);
  size_t k = (size_t)alg->bits / 8;
  MK_ENSURE(len == SHARE_HEAD + 2 * k, MK_EINVAL, e, "%s: must be %zu bytes for %s", what,
            SHARE_HEAD + 2 * k, alg->name);
  MK_TRY(key_set(key, alg, in + SHARE_HEAD, in + SHARE_HEAD + k, what, e));
out:
  return rc;
}

int mk_rsap_device_encode(const mk_rsap_device *dev, mk_buf *out, mk_err *e) {
  int rc = 0;
  MK_ENSURE(dev != NULL && out != NULL, MK_EINVAL, e, "device share: missing argument");
  MK_TRY(share_encode(&dev->key, device_magic, out, e));
out:
  return rc;
}

int mk_rsap_server_encode(const mk_rsap_server *srv, mk_buf *out, mk_err *e) {
  int rc = 0;
  MK_ENSURE(srv != NULL && out != NULL, MK_EINVAL, e, "server share: missing argument");
  MK_TRY(share_encode(&srv->key, server_magic, out, e));
out:
  return rc;
}

int mk_rsap_device_decode(const unsigned char *in, size_t len, mk_rsap_device **dev, mk_err *e) {
  int rc = 0;
  mk_rsap_device *dv = NULL;
  MK_ENSURE(dev != NULL, MK_EINVAL, e, "device share: no output");
  *dev = NULL;
  dv = calloc(1, sizeof *dv);
  MK_ENSURE_ALLOC(dv, e);
  MK_TRY(share_decode(in, len, device_magic, "device share", &dv->key, e));
  *dev = dv;
  dv = NULL;
out:
  device_free(dv);
  return rc;
}

int mk_rsap_server_decode(const unsigned char *in, size_t len, mk_rsap_server **srv, mk_err *e) {
  int rc = 0;
  mk_rsap_server *sv = NULL;
  MK_ENSURE(srv != NULL, MK_EINVAL, e, "server share: no output");
  *srv = NULL;
  sv = calloc(1, sizeof *sv);
  MK_ENSURE_ALLOC(sv, e);
  MK_TRY(share_decode(in, len, server_magic, "server share", &sv->key, e));
  *srv = sv;
  sv = NULL;
out:
  server_free(sv);
  return rc;
}

/* ---- operation state ------------------------------------------------------------- */

void mk_rsap_devop_free(mk_rsap_devop *op) {
  if (op == NULL)
    return;
  BN_clear_free(op->x_u);
  BN_clear_free(op->r_inv);
  OPENSSL_cleanse(op, sizeof *op);
  free(op);
}

void mk_rsap_srvop_free(mk_rsap_srvop *op) {
  if (op == NULL)
    return;
  OPENSSL_cleanse(op, sizeof *op);
  free(op);
}

/* Device-side checks common to both finishes; spends op. */
static int devop_take(const struct rsap_key *key, mk_rsap_devop *op, int kind, const char *what,
                      mk_err *e) {
  int rc = 0;
  MK_ENSURE(op != NULL && op->kind == kind, MK_EINVAL, e, "%s: not a %s operation", what,
            kind == OP_SIGN ? "signing" : "decryption");
  MK_ENSURE(memcmp(op->key_id, key->id, KEY_ID_BYTES) == 0, MK_EINVAL, e,
            "%s: operation belongs to another key", what);
  MK_ENSURE(!op->spent, MK_EEXPIRED, e, "operation already finished");
  op->spent = 1;
out:
  return rc;
}

/* The representative a proof signs: EMSA-PKCS1-v1_5 over SHA-256(label ||
 * 0 || alg || 0 || a || b), label and alg with their NUL. Decryption binds a
 * = challenge, b = c; keygen binds a = N. */
static int proof_em(const struct rsap_key *key, const char *label, size_t label_size,
                    const unsigned char *a, size_t a_len, const unsigned char *b, size_t b_len,
                    unsigned char *em, mk_err *e) {
  int rc = 0;
  EVP_MD_CTX *md = NULL;
  unsigned char dg[MK_RSAP_DIGEST_BYTES];
  unsigned int dlen = 0;
  MK_TRY_PTR_OSSL(md, EVP_MD_CTX_new(), e, "SHA-256");
  MK_TRY_OSSL(EVP_DigestInit_ex(md, EVP_sha256(), NULL), e, "SHA-256");
  MK_TRY_OSSL(EVP_DigestUpdate(md, label, label_size), e, "SHA-256");
  MK_TRY_OSSL(EVP_DigestUpdate(md, key->alg->name, strlen(key->alg->name) + 1), e, "SHA-256");
  MK_TRY_OSSL(EVP_DigestUpdate(md, a, a_len), e, "SHA-256");
  if (b_len > 0)
    MK_TRY_OSSL(EVP_DigestUpdate(md, b, b_len), e, "SHA-256");
  MK_TRY_OSSL(EVP_DigestFinal_ex(md, dg, &dlen), e, "SHA-256");
  MK_ENSURE(dlen == sizeof dg, MK_EINTERNAL, e, "SHA-256: unexpected length");
  emsa_pkcs1_v15(MK_RSAP_HASH_SHA256, dg, key->k, em);
out:
  EVP_MD_CTX_free(md);
  return rc;
}

/* ---- keygen ---------------------------------------------------------------------- */

/* The device's share of a signature over its own key (keygen_label, N):
 * lets the server check the pair before it stores d_s. k bytes into s_u. */
static int keygen_proof(const struct rsap_key *key, unsigned char *s_u, mk_err *e) {
  int rc = 0;
  unsigned char nb[MK_RSAP_MAX_BYTES], em[MK_RSAP_MAX_BYTES];
  BN_CTX *ctx = NULL;
  BIGNUM *m = NULL, *x = NULL;
  MK_ENSURE(BN_bn2binpad(key->n, nb, (int)key->k) == (int)key->k, MK_EINTERNAL, e,
            "keygen: modulus longer than its size");
  MK_TRY(proof_em(key, keygen_label, sizeof keygen_label, nb, key->k, NULL, 0, em, e));
  MK_TRY_PTR_OSSL(ctx, BN_CTX_secure_new(), e, "BN_CTX");
  MK_TRY_PTR_OSSL(m, BN_bin2bn(em, (int)key->k, NULL), e, "BIGNUM");
  MK_TRY_PTR_OSSL(x, BN_new(), e, "BIGNUM");
  MK_TRY(exp_share(key, x, m, ctx, e));
  MK_ENSURE(BN_bn2binpad(x, s_u, (int)key->k) == (int)key->k, MK_EINTERNAL, e,
            "keygen: value longer than the modulus");
out:
  BN_free(m);
  BN_free(x);
  BN_CTX_free(ctx);
  return rc;
}

int mk_rsap_keygen_device(int bits, mk_rsap_device **dev, json_t **msg, mk_err *e) {
  int rc = 0;
  unsigned char s_u[MK_RSAP_MAX_BYTES];
  mk_rsap_device *dv = NULL;
  mk_rsap_server *sv = NULL;
  json_t *m = NULL;
  MK_ENSURE(dev != NULL && msg != NULL, MK_EINVAL, e, "keygen: no output");
  *dev = NULL;
  *msg = NULL;
  MK_TRY(mk_rsap_split(NULL, bits, &dv, &sv, e));
  MK_TRY(keygen_proof(&dv->key, s_u, e));
  MK_TRY(mk_pmsg_new(sv->key.alg->name, "keygen", "share", &m, e));
  MK_TRY(put_num(m, "n", &sv->key, sv->key.n, e));
  MK_TRY(put_num(m, "d_s", &sv->key, sv->key.share, e));
  MK_TRY(mk_pmsg_put(m, "s_u", s_u, dv->key.k, e));
  *dev = dv;
  *msg = m;
  dv = NULL;
  m = NULL;
out:
  device_free(dv);
  server_free(sv);
  mk_rsap_msg_free(m);
  return rc;
}

int mk_rsap_keygen_server(const json_t *msg, mk_rsap_server **srv, json_t **reply, mk_err *e) {
  static const char *const fields[] = {"n", "d_s", "s_u", NULL};
  static const char what[] = "keygen share";
  int rc = 0, ok = 0;
  const struct alg *alg = NULL;
  unsigned char nb[MK_RSAP_MAX_BYTES], sb[MK_RSAP_MAX_BYTES], em[MK_RSAP_MAX_BYTES];
  mk_rsap_server *sv = NULL;
  json_t *r = NULL;
  BN_CTX *ctx = NULL;
  BIGNUM *s_u = NULL, *m = NULL, *s = NULL;
  MK_ENSURE(srv != NULL && reply != NULL, MK_EINVAL, e, "keygen: no output");
  *srv = NULL;
  *reply = NULL;
  MK_TRY(msg_check(msg, &alg, "keygen", "share", fields, what, e));
  size_t k = (size_t)alg->bits / 8;
  MK_TRY(get_b64(msg, "n", nb, k, what, e));
  MK_TRY(get_b64(msg, "d_s", sb, k, what, e));
  sv = calloc(1, sizeof *sv);
  MK_ENSURE_ALLOC(sv, e);
  MK_TRY(key_set(&sv->key, alg, nb, sb, what, e));
  MK_TRY_PTR_OSSL(s_u, BN_new(), e, "BIGNUM");
  MK_TRY(get_num(msg, "s_u", &sv->key, s_u, NULL, what, e));
  /* Store only a share that completes a signature with the device's. */
  MK_TRY(proof_em(&sv->key, keygen_label, sizeof keygen_label, nb, k, NULL, 0, em, e));
  MK_TRY_PTR_OSSL(ctx, BN_CTX_secure_new(), e, "BN_CTX");
  MK_TRY_PTR_OSSL(m, BN_bin2bn(em, (int)k, NULL), e, "BIGNUM");
  MK_TRY_PTR_OSSL(s, secret_bn(), e, "BIGNUM");
  MK_TRY(finish_check(&sv->key, s, s_u, m, ctx, &ok, e));
  MK_ENSURE(ok, MK_EAUTH, e, "device share check failed");
  MK_TRY(mk_pmsg_new(alg->name, "keygen", "stored", &r, e));
  MK_TRY(put_num(r, "n", &sv->key, sv->key.n, e));
  *srv = sv;
  *reply = r;
  sv = NULL;
  r = NULL;
out:
  OPENSSL_cleanse(sb, sizeof sb);
  BN_free(s_u);
  BN_free(m);
  BN_clear_free(s);
  BN_CTX_free(ctx);
  server_free(sv);
  json_decref(r);
  return rc;
}

int mk_rsap_keygen_device_finish(const mk_rsap_device *dev, const json_t *reply, mk_err *e) {
  static const char *const fields[] = {"n", NULL};
  static const char what[] = "keygen reply";
  int rc = 0;
  unsigned char got[MK_RSAP_MAX_BYTES], mine[MK_RSAP_MAX_BYTES];
  MK_ENSURE(dev != NULL, MK_EINVAL, e, "keygen: no device share");
  const struct alg *alg = dev->key.alg;
  size_t k = dev->key.k;
  MK_TRY(msg_check(reply, &alg, "keygen", "stored", fields, what, e));
  MK_TRY(get_b64(reply, "n", got, k, what, e));
  MK_ENSURE(BN_bn2binpad(dev->key.n, mine, (int)k) == (int)k, MK_EINTERNAL, e,
            "keygen: modulus longer than its size");
  MK_ENSURE(memcmp(got, mine, k) == 0, MK_EPROTO, e, "keygen: the server stored another key");
out:
  return rc;
}

/* ---- sign ----------------------------------------------------------------------- */

int mk_rsap_sign_device(const mk_rsap_device *dev, mk_rsap_hash hash, const unsigned char *digest,
                        size_t digest_len, mk_rsap_devop **op, json_t **req, mk_err *e) {
  int rc = 0;
  mk_rsap_devop *o = NULL;
  json_t *r = NULL;
  BN_CTX *ctx = NULL;
  BIGNUM *m = NULL, *s_u = NULL;
  MK_ENSURE(op != NULL && req != NULL, MK_EINVAL, e, "sign: no output");
  *op = NULL;
  *req = NULL;
  MK_ENSURE(dev != NULL, MK_EINVAL, e, "sign: no device share");
  MK_ENSURE(hash_name(hash) != NULL, MK_EINVAL, e, "sign: unknown hash algorithm");
  MK_ENSURE(digest != NULL && digest_len == MK_RSAP_DIGEST_BYTES, MK_EINVAL, e,
            "sign: digest must be %d bytes", MK_RSAP_DIGEST_BYTES);
  const struct rsap_key *key = &dev->key;

  o = calloc(1, sizeof *o);
  MK_ENSURE_ALLOC(o, e);
  o->kind = OP_SIGN;
  memcpy(o->key_id, key->id, KEY_ID_BYTES);
  emsa_pkcs1_v15(hash, digest, key->k, o->m);

  MK_TRY_PTR_OSSL(ctx, BN_CTX_secure_new(), e, "BN_CTX");
  MK_TRY_PTR_OSSL(m, BN_bin2bn(o->m, (int)key->k, NULL), e, "BIGNUM");
  MK_TRY_PTR_OSSL(s_u, BN_new(), e, "BIGNUM");
  MK_TRY(exp_share(key, s_u, m, ctx, e));

  MK_TRY(mk_pmsg_new(key->alg->name, "sign", "request", &r, e));
  MK_TRY(put_str(r, "hash", hash_name(hash), e));
  MK_TRY(mk_pmsg_put(r, "digest", digest, digest_len, e));
  MK_TRY(put_num(r, "s_u", key, s_u, e));
  *op = o;
  *req = r;
  o = NULL;
  r = NULL;
out:
  BN_free(m);
  BN_free(s_u);
  BN_CTX_free(ctx);
  mk_rsap_devop_free(o);
  json_decref(r);
  return rc;
}

int mk_rsap_sign_server(const mk_rsap_server *srv, const json_t *req, json_t **resp, mk_err *e) {
  static const char *const fields[] = {"hash", "digest", "s_u", NULL};
  static const char what[] = "sign request";
  int rc = 0, ok = 0;
  json_t *r = NULL;
  BN_CTX *ctx = NULL;
  BIGNUM *m = NULL, *s_u = NULL, *s = NULL;
  unsigned char digest[MK_RSAP_DIGEST_BYTES], em[MK_RSAP_MAX_BYTES];
  const char *hname = NULL;
  mk_rsap_hash hash = MK_RSAP_HASH_SHA256;
  MK_ENSURE(resp != NULL, MK_EINVAL, e, "sign: no output");
  *resp = NULL;
  MK_ENSURE(srv != NULL, MK_EINVAL, e, "sign: no server share");
  const struct rsap_key *key = &srv->key;
  const struct alg *alg = key->alg;

  MK_TRY(msg_check(req, &alg, "sign", "request", fields, what, e));
  MK_TRY(wrap(mk_json_get_str(req, "hash", 1, HASH_NAME_MAX, &hname, NULL, e), e, what));
  if (strcmp(hname, "sha256") == 0)
    hash = MK_RSAP_HASH_SHA256;
  else if (strcmp(hname, "sm3") == 0)
    hash = MK_RSAP_HASH_SM3;
  else
    MK_FAIL(MK_EINVAL, e, "%s: hash must be \"sha256\" or \"sm3\"", what);
  MK_TRY(get_b64(req, "digest", digest, sizeof digest, what, e));
  MK_TRY_PTR_OSSL(s_u, BN_new(), e, "BIGNUM");
  MK_TRY(get_num(req, "s_u", key, s_u, NULL, what, e));

  /* The server encodes m itself: it signs the digest it was shown, never a
   * representative the device chose. */
  emsa_pkcs1_v15(hash, digest, key->k, em);
  MK_TRY_PTR_OSSL(ctx, BN_CTX_secure_new(), e, "BN_CTX");
  MK_TRY_PTR_OSSL(m, BN_bin2bn(em, (int)key->k, NULL), e, "BIGNUM");
  MK_TRY_PTR_OSSL(s, secret_bn(), e, "BIGNUM");
  MK_TRY(finish_check(key, s, s_u, m, ctx, &ok, e));
  MK_ENSURE(ok, MK_EAUTH, e, "device share check failed");

  MK_TRY(mk_pmsg_new(alg->name, "sign", "result", &r, e));
  MK_TRY(put_num(r, "s", key, s, e));
  *resp = r;
  r = NULL;
out:
  BN_free(m);
  BN_free(s_u);
  BN_clear_free(s);
  BN_CTX_free(ctx);
  json_decref(r);
  return rc;
}

int mk_rsap_sign_device_finish(const mk_rsap_device *dev, mk_rsap_devop *op, const json_t *resp,
                               unsigned char *sig, size_t sig_cap, size_t *sig_len, mk_err *e) {
  static const char *const fields[] = {"s", NULL};
  static const char what[] = "sign result";
  int rc = 0;
  BN_CTX *ctx = NULL;
  BIGNUM *s = NULL, *v = NULL, *m = NULL;
  MK_ENSURE(dev != NULL && sig != NULL && sig_len != NULL, MK_EINVAL, e,
            "sign: missing argument");
  const struct rsap_key *key = &dev->key;
  const struct alg *alg = key->alg;
  MK_ENSURE(sig_cap >= key->k, MK_ETOOBIG, e, "sign: signature needs %zu bytes", key->k);
  MK_TRY(devop_take(key, op, OP_SIGN, "sign", e));

  MK_TRY(msg_check(resp, &alg, "sign", "result", fields, what, e));
  MK_TRY_PTR_OSSL(s, BN_new(), e, "BIGNUM");
  MK_TRY(get_num(resp, "s", key, s, NULL, what, e));
  MK_TRY_PTR_OSSL(ctx, BN_CTX_new(), e, "BN_CTX");
  MK_TRY_PTR_OSSL(v, BN_new(), e, "BIGNUM");
  MK_TRY_PTR_OSSL(m, BN_bin2bn(op->m, (int)key->k, NULL), e, "BIGNUM");
  MK_TRY(exp_public(key, v, s, ctx, e));
  MK_ENSURE(BN_cmp(v, m) == 0, MK_EPROTO, e, "%s: the signature does not verify", what);
  MK_ENSURE(BN_bn2binpad(s, sig, (int)key->k) == (int)key->k, MK_EINTERNAL, e,
            "sign: signature longer than the modulus");
  *sig_len = key->k;
out:
  BN_free(s);
  BN_free(v);
  BN_free(m);
  BN_CTX_free(ctx);
  return rc;
}

/* ---- decrypt -------------------------------------------------------------------- */

int mk_rsap_decrypt_challenge(const mk_rsap_server *srv, int64_t now, mk_rsap_srvop **op,
                              json_t **msg, mk_err *e) {
  int rc = 0;
  mk_rsap_srvop *o = NULL;
  json_t *m = NULL;
  MK_ENSURE(op != NULL && msg != NULL, MK_EINVAL, e, "decrypt: no output");
  *op = NULL;
  *msg = NULL;
  MK_ENSURE(srv != NULL, MK_EINVAL, e, "decrypt: no server share");
  MK_ENSURE(now >= 0 && now <= INT64_MAX - MK_RSAP_OP_TTL, MK_EINVAL, e,
            "decrypt: time out of range");
  o = calloc(1, sizeof *o);
  MK_ENSURE_ALLOC(o, e);
  o->expires = now + MK_RSAP_OP_TTL;
  memcpy(o->key_id, srv->key.id, KEY_ID_BYTES);
  if (test_rng != NULL)
    MK_ENSURE(test_rng(test_rng_ctx, "challenge", o->challenge, sizeof o->challenge) == 1,
              MK_ECRYPTO, e, "test RNG failed for challenge");
  else
    MK_TRY_OSSL(RAND_bytes(o->challenge, sizeof o->challenge), e, "decrypt: random challenge");
  MK_TRY(mk_pmsg_new(srv->key.alg->name, "decrypt", "challenge", &m, e));
  MK_TRY(mk_pmsg_put(m, "challenge", o->challenge, sizeof o->challenge, e));
  *op = o;
  *msg = m;
  o = NULL;
  m = NULL;
out:
  mk_rsap_srvop_free(o);
  json_decref(m);
  return rc;
}

/* A blinding factor r uniform in [1, N) with gcd(r, N) = 1, and r^-1 mod N
 * into r_inv (both secret). BN_mod_inverse takes its constant-time path for
 * a BN_FLG_CONSTTIME r. An r that shares a factor with N (probability about
 * 2/sqrt(N)) is drawn again. */
static int blind_draw(const struct rsap_key *key, BIGNUM *r, BIGNUM *r_inv, BN_CTX *ctx,
                      mk_err *e) {
  int rc = 0;
  unsigned char b[MK_RSAP_MAX_BYTES];
  for (int i = 0;; i++) {
    MK_ENSURE(i < DRAWS_MAX, MK_ECRYPTO, e, "decrypt: no usable blinding factor drawn");
    if (test_rng != NULL) {
      MK_ENSURE(test_rng(test_rng_ctx, "r", b, key->k) == 1, MK_ECRYPTO, e,
                "test RNG failed for r");
      MK_ENSURE(BN_bin2bn(b, (int)key->k, r) != NULL, MK_ECRYPTO, e, "BIGNUM");
    } else {
      MK_TRY_OSSL(BN_priv_rand_range(r, key->n), e, "decrypt: random blinding factor");
    }
    if (BN_is_zero(r) || BN_ucmp(r, key->n) >= 0)
      continue;
    if (BN_mod_inverse(r_inv, r, key->n, ctx) != NULL)
      break;
    unsigned long err = ERR_peek_last_error();
    MK_ENSURE(ERR_GET_LIB(err) == ERR_LIB_BN && ERR_GET_REASON(err) == BN_R_NO_INVERSE,
              MK_ECRYPTO, e, "decrypt: inverse of the blinding factor");
    ERR_clear_error();
  }
out:
  OPENSSL_cleanse(b, sizeof b);
  return rc;
}

int mk_rsap_decrypt_device(const mk_rsap_device *dev, const json_t *challenge,
                           const unsigned char *ct, size_t ct_len, mk_rsap_devop **op,
                           json_t **req, mk_err *e) {
  static const char *const fields[] = {"challenge", NULL};
  static const char what[] = "decrypt challenge";
  int rc = 0;
  mk_rsap_devop *o = NULL;
  json_t *r = NULL;
  BN_CTX *ctx = NULL;
  BIGNUM *c = NULL, *m = NULL, *s_u = NULL, *rb = NULL, *t = NULL, *cb = NULL;
  unsigned char ch[MK_RSAP_CHALLENGE_BYTES], em[MK_RSAP_MAX_BYTES];
  MK_ENSURE(op != NULL && req != NULL, MK_EINVAL, e, "decrypt: no output");
  *op = NULL;
  *req = NULL;
  MK_ENSURE(dev != NULL, MK_EINVAL, e, "decrypt: no device share");
  const struct rsap_key *key = &dev->key;
  const struct alg *alg = key->alg;
  /* RFC 8017 §7.1.2 step 1: the ciphertext is exactly k octets, c < N. */
  MK_ENSURE(ct != NULL && ct_len == key->k, MK_EINVAL, e, "decrypt: ciphertext must be %zu bytes",
            key->k);
  MK_TRY_PTR_OSSL(c, BN_bin2bn(ct, (int)ct_len, NULL), e, "BIGNUM");
  MK_ENSURE(!BN_is_zero(c) && BN_ucmp(c, key->n) < 0, MK_EINVAL, e,
            "decrypt: ciphertext out of range");
  MK_TRY(msg_check(challenge, &alg, "decrypt", "challenge", fields, what, e));
  MK_TRY(get_b64(challenge, "challenge", ch, sizeof ch, what, e));

  o = calloc(1, sizeof *o);
  MK_ENSURE_ALLOC(o, e);
  o->kind = OP_DECRYPT;
  memcpy(o->key_id, key->id, KEY_ID_BYTES);
  MK_TRY_PTR_OSSL(o->x_u, secret_bn(), e, "BIGNUM");
  MK_TRY_PTR_OSSL(o->r_inv, secret_bn(), e, "BIGNUM");
  MK_TRY_PTR_OSSL(ctx, BN_CTX_secure_new(), e, "BN_CTX");
  /* Blind: c' = c r^e mod N, so the server never sees which ciphertext it
   * helps to open. r^e is exponentiated with the constant-time ladder too:
   * the base is secret. c' is never 0, since r is a unit and 0 < c < N. */
  MK_TRY_PTR_OSSL(rb, secret_bn(), e, "BIGNUM");
  MK_TRY_PTR_OSSL(t, secret_bn(), e, "BIGNUM");
  MK_TRY_PTR_OSSL(cb, BN_new(), e, "BIGNUM");
  MK_TRY(blind_draw(key, rb, o->r_inv, ctx, e));
  MK_TRY_OSSL(BN_mod_exp_mont_consttime(t, rb, key->pub_e, key->n, ctx, key->mont), e,
              "RSA blinding exponentiation");
  MK_TRY(mul_mod(key, cb, c, t, ctx, e));
  MK_ENSURE(BN_bn2binpad(cb, o->m, (int)key->k) == (int)key->k, MK_EINTERNAL, e,
            "decrypt: value longer than the modulus");
  MK_TRY(exp_share(key, o->x_u, cb, ctx, e));

  MK_TRY(proof_em(key, decrypt_label, sizeof decrypt_label, ch, sizeof ch, o->m, key->k, em, e));
  MK_TRY_PTR_OSSL(m, BN_bin2bn(em, (int)key->k, NULL), e, "BIGNUM");
  MK_TRY_PTR_OSSL(s_u, BN_new(), e, "BIGNUM");
  MK_TRY(exp_share(key, s_u, m, ctx, e));

  MK_TRY(mk_pmsg_new(alg->name, "decrypt", "request", &r, e));
  MK_TRY(mk_pmsg_put(r, "c", o->m, key->k, e));
  MK_TRY(put_num(r, "s_u", key, s_u, e));
  *op = o;
  *req = r;
  o = NULL;
  r = NULL;
out:
  BN_free(c);
  BN_free(m);
  BN_free(s_u);
  BN_clear_free(rb);
  BN_clear_free(t);
  BN_free(cb);
  BN_CTX_free(ctx);
  mk_rsap_devop_free(o);
  json_decref(r);
  return rc;
}

int mk_rsap_decrypt_server(const mk_rsap_server *srv, mk_rsap_srvop *op, int64_t now,
                           const json_t *req, json_t **resp, mk_err *e) {
  static const char *const fields[] = {"c", "s_u", NULL};
  static const char what[] = "decrypt request";
  int rc = 0, ok = 0;
  json_t *r = NULL;
  BN_CTX *ctx = NULL;
  BIGNUM *c = NULL, *s_u = NULL, *m = NULL, *s = NULL, *c_s = NULL;
  unsigned char cb[MK_RSAP_MAX_BYTES], em[MK_RSAP_MAX_BYTES];
  MK_ENSURE(resp != NULL, MK_EINVAL, e, "decrypt: no output");
  *resp = NULL;
  MK_ENSURE(srv != NULL && op != NULL, MK_EINVAL, e, "decrypt: missing argument");
  const struct rsap_key *key = &srv->key;
  const struct alg *alg = key->alg;
  MK_ENSURE(memcmp(op->key_id, key->id, KEY_ID_BYTES) == 0, MK_EINVAL, e,
            "decrypt: operation belongs to another key");
  /* Spent by any attempt, good or bad: one proof per challenge. */
  MK_ENSURE(!op->spent, MK_EEXPIRED, e, "operation already finished");
  op->spent = 1;
  MK_ENSURE(now < op->expires, MK_EEXPIRED, e, "operation expired");

  MK_TRY(msg_check(req, &alg, "decrypt", "request", fields, what, e));
  MK_TRY_PTR_OSSL(c, BN_new(), e, "BIGNUM");
  MK_TRY(get_num(req, "c", key, c, cb, what, e));
  MK_TRY_PTR_OSSL(s_u, BN_new(), e, "BIGNUM");
  MK_TRY(get_num(req, "s_u", key, s_u, NULL, what, e));

  MK_TRY(proof_em(key, decrypt_label, sizeof decrypt_label, op->challenge,
                    sizeof op->challenge, cb, key->k, em, e));
  MK_TRY_PTR_OSSL(ctx, BN_CTX_secure_new(), e, "BN_CTX");
  MK_TRY_PTR_OSSL(m, BN_bin2bn(em, (int)key->k, NULL), e, "BIGNUM");
  MK_TRY_PTR_OSSL(s, secret_bn(), e, "BIGNUM");
  MK_TRY(finish_check(key, s, s_u, m, ctx, &ok, e));
  MK_ENSURE(ok, MK_EAUTH, e, "device share check failed");

  MK_TRY_PTR_OSSL(c_s, secret_bn(), e, "BIGNUM");
  MK_TRY(exp_share(key, c_s, c, ctx, e));
  MK_TRY(mk_pmsg_new(alg->name, "decrypt", "result", &r, e));
  MK_TRY(put_num(r, "c_s", key, c_s, e));
  *resp = r;
  r = NULL;
out:
  BN_free(c);
  BN_free(s_u);
  BN_free(m);
  BN_clear_free(s);
  BN_clear_free(c_s);
  BN_CTX_free(ctx);
  json_decref(r);
  return rc;
}

/* RFC 8017 §7.1.2 step 3 through OpenSSL's constant-time EME-OAEP decoder.
 * RSA_padding_check_PKCS1_OAEP_mgf1 is deprecated in 3.0 only in favour of
 * EVP_PKEY_decrypt, which needs a whole private key; a split key never is
 * one, so the padding step is called on its own. Returns the message length
 * or -1, and leaves nothing on the error queue that tells failures apart. */
static int oaep_decode(unsigned char *to, size_t tlen, const unsigned char *em, size_t k) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  int n = RSA_padding_check_PKCS1_OAEP_mgf1(to, (int)tlen, em, (int)k, (int)k, NULL, 0,
                                            EVP_sha256(), EVP_sha256());
#pragma GCC diagnostic pop
  ERR_clear_error();
  return n;
}

int mk_rsap_decrypt_device_finish(const mk_rsap_device *dev, mk_rsap_devop *op,
                                  const json_t *resp, unsigned char *pt, size_t pt_cap,
                                  size_t *pt_len, mk_err *e) {
  static const char *const fields[] = {"c_s", NULL};
  static const char what[] = "decrypt result";
  int rc = 0;
  BN_CTX *ctx = NULL;
  BIGNUM *c_s = NULL, *x = NULL, *v = NULL, *c = NULL, *y = NULL;
  unsigned char em[MK_RSAP_MAX_BYTES], msg[MK_RSAP_MAX_BYTES];
  MK_ENSURE(dev != NULL && pt_len != NULL && (pt != NULL || pt_cap == 0), MK_EINVAL, e,
            "decrypt: missing argument");
  const struct rsap_key *key = &dev->key;
  const struct alg *alg = key->alg;
  MK_TRY(devop_take(key, op, OP_DECRYPT, "decrypt", e));

  MK_TRY(msg_check(resp, &alg, "decrypt", "result", fields, what, e));
  MK_TRY_PTR_OSSL(c_s, secret_bn(), e, "BIGNUM");
  MK_TRY(get_num(resp, "c_s", key, c_s, NULL, what, e));
  MK_TRY_PTR_OSSL(ctx, BN_CTX_secure_new(), e, "BN_CTX");
  MK_TRY_PTR_OSSL(x, secret_bn(), e, "BIGNUM");
  MK_TRY(mul_mod(key, x, op->x_u, c_s, ctx, e));
  /* x^e == c', as OpenSSL checks its own CRT result: a wrong server answer is
   * the server's fault, not a padding failure. */
  MK_TRY_PTR_OSSL(v, BN_new(), e, "BIGNUM");
  MK_TRY_PTR_OSSL(c, BN_bin2bn(op->m, (int)key->k, NULL), e, "BIGNUM");
  MK_TRY(exp_public(key, v, x, ctx, e));
  MK_ENSURE(BN_cmp(v, c) == 0, MK_EPROTO, e, "%s: the server's share does not combine", what);
  /* x = c'^d = m r mod N: unblind, m = x r^-1 mod N. */
  MK_TRY_PTR_OSSL(y, secret_bn(), e, "BIGNUM");
  MK_TRY(mul_mod(key, y, x, op->r_inv, ctx, e));

  MK_ENSURE(BN_bn2binpad(y, em, (int)key->k) == (int)key->k, MK_EINTERNAL, e,
            "decrypt: value longer than the modulus");
  int n = oaep_decode(msg, sizeof msg, em, key->k);
  MK_ENSURE(n >= 0, MK_ECRYPTO, e, "decryption failed");
  MK_ENSURE((size_t)n <= pt_cap, MK_ETOOBIG, e, "decrypt: plaintext of %d bytes over %zu", n,
            pt_cap);
  if (n > 0)
    memcpy(pt, msg, (size_t)n);
  *pt_len = (size_t)n;
out:
  OPENSSL_cleanse(em, sizeof em);
  OPENSSL_cleanse(msg, sizeof msg);
  if (op != NULL && op->kind == OP_DECRYPT && op->spent) {
    BN_clear_free(op->r_inv);
    op->r_inv = NULL;
  }
  BN_clear_free(c_s);
  BN_clear_free(x);
  BN_clear_free(y);
  BN_clear_free(v);
  BN_free(c);
  BN_CTX_free(ctx);
  return rc;
}
