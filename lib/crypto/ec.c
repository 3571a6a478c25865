#include "crypto/ec.h"
#include "util/guard.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>

static CRYPTO_ONCE sm2_once = CRYPTO_ONCE_STATIC_INIT;
static EC_GROUP *sm2_group;

static void sm2_group_init(void) {
  /* Built once and only read afterwards, which OpenSSL allows from many
   * threads at once (EC_POINT_mul etc. take the group const). */
  sm2_group = EC_GROUP_new_by_curve_name(NID_sm2);
}

int mk_ec_sm2_group(const EC_GROUP **out, mk_err *e) {
  int rc = 0;
  *out = NULL;
  MK_TRY_OSSL(CRYPTO_THREAD_run_once(&sm2_once, sm2_group_init), e, "SM2 group");
  if (sm2_group == NULL)
    MK_FAIL(MK_ECRYPTO, e, "SM2 group: OpenSSL has no NID_sm2 curve");
  *out = sm2_group;
out:
  return rc;
}

BIGNUM *mk_ec_bn_secret(void) {
  BIGNUM *b = BN_secure_new();
  if (b != NULL)
    BN_set_flags(b, BN_FLG_CONSTTIME);
  return b;
}

int mk_ec_point_decode(const unsigned char *in, size_t len, const char *what, EC_POINT **out,
                       mk_err *e) {
  int rc = 0;
  const EC_GROUP *g = NULL;
  EC_POINT *pt = NULL;
  BN_CTX *ctx = NULL;
  const char *name = what ? what : "point";
  *out = NULL;
  MK_TRY(mk_ec_sm2_group(&g, e));
  MK_ENSURE(in != NULL && len == MK_EC_POINT_LEN, MK_EINVAL, e, "%s: must be %d bytes", name,
            MK_EC_POINT_LEN);
  /* Only the uncompressed form: one point, one encoding. */
  MK_ENSURE(in[0] == 0x04, MK_EINVAL, e, "%s: not an uncompressed point", name);
  MK_TRY_PTR_OSSL(ctx, BN_CTX_new(), e, "BN_CTX");
  MK_TRY_PTR_OSSL(pt, EC_POINT_new(g), e, "EC point");
  /* oct2point rejects coordinates >= p and points off the curve. */
  if (EC_POINT_oct2point(g, pt, in, len, ctx) != 1) {
    ERR_clear_error();
    MK_FAIL(MK_EINVAL, e, "%s: not a point on the SM2 curve", name);
  }
  int on = EC_POINT_is_on_curve(g, pt, ctx);
  ERR_clear_error();
  MK_ENSURE(on == 1, MK_EINVAL, e, "%s: not a point on the SM2 curve", name);
  MK_ENSURE(!EC_POINT_is_at_infinity(g, pt), MK_EINVAL, e, "%s: point at infinity", name);
  *out = pt;
  pt = NULL;
out:
  EC_POINT_free(pt);
  BN_CTX_free(ctx);
  return rc;
}

int mk_ec_point_encode(const EC_POINT *pt, unsigned char out[MK_EC_POINT_LEN], mk_err *e) {
  int rc = 0;
  const EC_GROUP *g = NULL;
  BN_CTX *ctx = NULL;
  MK_TRY(mk_ec_sm2_group(&g, e));
  MK_ENSURE(pt != NULL && !EC_POINT_is_at_infinity(g, pt), MK_EINVAL, e,
            "cannot encode the point at infinity");
  MK_TRY_PTR_OSSL(ctx, BN_CTX_new(), e, "BN_CTX");
  size_t n = EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, out, MK_EC_POINT_LEN, ctx);
  if (n != MK_EC_POINT_LEN) {
    rc = mk_err_ossl(e, MK_ECRYPTO, "EC point encoding");
    goto out;
  }
out:
  BN_CTX_free(ctx);
  return rc;
}

int mk_ec_scalar_decode(const unsigned char *in, size_t len, int secret, const char *what,
                        BIGNUM **out, mk_err *e) {
  int rc = 0;
  const EC_GROUP *g = NULL;
  BIGNUM *s = NULL;
  const char *name = what ? what : "scalar";
  *out = NULL;
  MK_TRY(mk_ec_sm2_group(&g, e));
  MK_ENSURE(in != NULL && len == MK_EC_SCALAR_LEN, MK_EINVAL, e, "%s: must be %d bytes", name,
            MK_EC_SCALAR_LEN);
  s = secret ? mk_ec_bn_secret() : BN_new();
  MK_ENSURE_ALLOC(s, e);
  MK_TRY_PTR_OSSL(s, BN_bin2bn(in, (int)len, s), e, "BN_bin2bn");
  MK_ENSURE(!BN_is_zero(s) && BN_cmp(s, EC_GROUP_get0_order(g)) < 0, MK_EINVAL, e,
            "%s: out of range 1..n-1", name);
  *out = s;
  s = NULL;
out:
  BN_clear_free(s);
  return rc;
}

int mk_ec_scalar_encode(const BIGNUM *s, unsigned char out[MK_EC_SCALAR_LEN], mk_err *e) {
  int rc = 0;
  MK_ENSURE(s != NULL && !BN_is_negative(s), MK_EINVAL, e, "scalar must not be negative");
  MK_ENSURE(BN_bn2binpad(s, out, MK_EC_SCALAR_LEN) == MK_EC_SCALAR_LEN, MK_EINVAL, e,
            "scalar over %d bytes", MK_EC_SCALAR_LEN);
out:
  return rc;
}

int mk_ec_scalar_rand(BIGNUM **out, mk_err *e) {
  int rc = 0;
  const EC_GROUP *g = NULL;
  BIGNUM *s = NULL;
  *out = NULL;
  MK_TRY(mk_ec_sm2_group(&g, e));
  s = mk_ec_bn_secret();
  MK_ENSURE_ALLOC(s, e);
  /* Uniform in [0, n); 0 is drawn with probability 1/n and simply redrawn. */
  do {
    MK_TRY_OSSL(BN_priv_rand_range(s, EC_GROUP_get0_order(g)), e, "random scalar");
  } while (BN_is_zero(s));
  *out = s;
  s = NULL;
out:
  BN_clear_free(s);
  return rc;
}

int mk_ec_scalar_inv(BIGNUM *out, const BIGNUM *a, BN_CTX *ctx, mk_err *e) {
  int rc = 0;
  const EC_GROUP *g = NULL;
  BIGNUM *exp = NULL;
  MK_TRY(mk_ec_sm2_group(&g, e));
  const BIGNUM *n = EC_GROUP_get0_order(g);
  MK_ENSURE(!BN_is_zero(a) && BN_cmp(a, n) < 0, MK_EINVAL, e, "inverse of a value out of range");
  MK_TRY_PTR_OSSL(exp, BN_dup(n), e, "BN_dup");
  MK_TRY_OSSL(BN_sub_word(exp, 2), e, "BN_sub_word");
  /* Fermat: a^(n-2) = a^-1 mod the prime n. */
  MK_TRY_OSSL(BN_mod_exp_mont_consttime(out, a, exp, n, ctx, NULL), e, "modular inverse");
out:
  BN_free(exp);
  return rc;
}
