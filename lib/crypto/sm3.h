/*
 * SM3 (GB/T 32905-2016, GM/T 0004-2012) through OpenSSL's EVP_sm3(), and the
 * SM3-based pieces of SM2 that sit before and after the curve arithmetic:
 *
 *   Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA)   GM/T 0003.2 §5.5
 *   e = SM3(Z || M)                                          GM/T 0003.2 §6.1 A1-A2
 *   KDF(Z, klen)                                             GM/T 0003.4 §5.4.3
 *
 * ENTL is the bit length of ID in two bytes, so an ID has at most 8191 bytes.
 * The empty ID is allowed: OpenSSL 3.0 uses it by default for X.509 and
 * CSRs (../shared/INTEROP.md); GM/T 0009 practice is "1234567812345678".
 */
#ifndef MK_CRYPTO_SM3_H
#define MK_CRYPTO_SM3_H

#include "mkey/mkey.h"

#define MK_SM3_LEN 32
#define MK_SM2_ID_DEFAULT "1234567812345678" /* GM/T 0009-2012 §10 */
#define MK_SM2_ID_DEFAULT_LEN 16
#define MK_SM2_ID_MAX 8191                   /* bytes: ENTL holds 16 bits of bit length */
#define MK_SM2_PUB_LEN 65                    /* 04 || x || y (SEC1 uncompressed) */
#define MK_SM3_KDF_MAX (64u << 20)           /* bytes one KDF call may produce */

/* out = SM3(in[0..n)). in may be NULL when n is 0. */
int mk_sm3(const void *in, size_t n, unsigned char out[MK_SM3_LEN], mk_err *e) MK_MUST_CHECK;

/*
 * Z_A of GM/T 0003.2 §5.5 for the signer's identity id (idlen bytes,
 * 0..MK_SM2_ID_MAX; id may be NULL only when idlen is 0) and public key pub
 * (uncompressed, MK_SM2_PUB_LEN bytes, first byte 0x04; the point itself is
 * not validated here). MK_EINVAL for a bad length or prefix.
 */
int mk_sm2_za(const unsigned char *id, size_t idlen, const unsigned char pub[MK_SM2_PUB_LEN],
              unsigned char z[MK_SM3_LEN], mk_err *e) MK_MUST_CHECK;

/* e = SM3(Z || msg), the value SM2 signs (GM/T 0003.2 §6.1 steps A1-A2).
 * msg may be NULL when msglen is 0. */
int mk_sm2_e(const unsigned char z[MK_SM3_LEN], const void *msg, size_t msglen,
             unsigned char e_out[MK_SM3_LEN], mk_err *e) MK_MUST_CHECK;

/*
 * The SM3 key derivation function of GM/T 0003.4 §5.4.3 (SM2 encryption,
 * §6.1 step A5; GM/T 0003.3 defines the same):
 * out = H(z || ct=1) || H(z || ct=2) || ... cut to outlen bytes, ct a 32-bit
 * big-endian counter. outlen at most MK_SM3_KDF_MAX (MK_ETOOBIG beyond).
 * out is caller-owned and holds key material, so the caller wipes it; on
 * failure it is wiped here.
 */
int mk_sm3_kdf(const unsigned char *z, size_t zlen, unsigned char *out, size_t outlen,
               mk_err *e) MK_MUST_CHECK;

#endif
