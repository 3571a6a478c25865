/*
 * Elliptic-curve helpers shared by the SM2 code: the one SM2 group
 * (GM/T 0003.5 recommended curve, OpenSSL's NID_sm2), and strict fixed-size
 * encodings of what crosses a trust boundary:
 *
 *   point:  04 || x || y, 65 bytes (SEC1 §2.3.3 uncompressed); decoding
 *           checks x, y < p, the curve equation and "not the point at
 *           infinity". The cofactor is 1, so every such point lies in the
 *           group of prime order n and no subgroup check is needed.
 *   scalar: 32 bytes big-endian, value in 1..n-1.
 *
 * Decoders answer MK_EINVAL naming `what` (a field name such as "q1"; may be
 * NULL) for anything else, and never leave OpenSSL errors queued.
 */
#ifndef MK_CRYPTO_EC_H
#define MK_CRYPTO_EC_H

#include <openssl/bn.h>
#include <openssl/ec.h>

#include "mkey/mkey.h"

#define MK_EC_POINT_LEN 65
#define MK_EC_SCALAR_LEN 32

/* The SM2 group, built on first use (thread-safe, CRYPTO_THREAD_run_once)
 * and shared read-only for the life of the process: *out is borrowed, never
 * freed. MK_ECRYPTO if OpenSSL cannot build it. */
int mk_ec_sm2_group(const EC_GROUP **out, mk_err *e) MK_MUST_CHECK;

/* A BIGNUM for a secret (share, nonce, inverse): allocated with
 * BN_secure_new and flagged BN_FLG_CONSTTIME. Free with BN_clear_free.
 * NULL when out of memory. */
BIGNUM *mk_ec_bn_secret(void);

/* Decode a point (exactly MK_EC_POINT_LEN bytes). The caller owns *out
 * (EC_POINT_free); NULL on failure. */
int mk_ec_point_decode(const unsigned char *in, size_t len, const char *what, EC_POINT **out,
                       mk_err *e) MK_MUST_CHECK;
/* Encode a point that is not at infinity (MK_EINVAL otherwise). */
int mk_ec_point_encode(const EC_POINT *pt, unsigned char out[MK_EC_POINT_LEN],
                       mk_err *e) MK_MUST_CHECK;

/* Decode a scalar (exactly MK_EC_SCALAR_LEN bytes, 1..n-1). secret: the
 * result is a mk_ec_bn_secret. The caller owns *out (BN_clear_free); NULL
 * on failure. */
int mk_ec_scalar_decode(const unsigned char *in, size_t len, int secret, const char *what,
                        BIGNUM **out, mk_err *e) MK_MUST_CHECK;
/* Encode 0 <= s < 2^256 as 32 bytes big-endian (BN_bn2binpad, which does not
 * branch on the value's length). */
int mk_ec_scalar_encode(const BIGNUM *s, unsigned char out[MK_EC_SCALAR_LEN],
                        mk_err *e) MK_MUST_CHECK;

/* A uniform secret scalar in 1..n-1 from OpenSSL's private DRBG
 * (BN_priv_rand_range). The caller owns *out (BN_clear_free). */
int mk_ec_scalar_rand(BIGNUM **out, mk_err *e) MK_MUST_CHECK;

/* out = a^-1 mod n for a secret a in 1..n-1, computed as a^(n-2) mod n with
 * BN_mod_exp_mont_consttime (n is prime), so its timing does not depend on
 * a. out must be a mk_ec_bn_secret owned by the caller. */
int mk_ec_scalar_inv(BIGNUM *out, const BIGNUM *a, BN_CTX *ctx, mk_err *e) MK_MUST_CHECK;

#endif
