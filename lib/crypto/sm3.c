#include "crypto/sm3.h"
#include "util/guard.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

/* a || b || xG || yG of the recommended curve of GM/T 0003.5 (the same
 * values OpenSSL calls NID_sm2); the Z known-answer test pins them. */
static const unsigned char curve_abg[128] = {
    /* a */
    0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFC,
    /* b */
    0x28, 0xE9, 0xFA, 0x9E, 0x9D, 0x9F, 0x5E, 0x34, 0x4D, 0x5A, 0x9E, 0x4B, 0xCF, 0x65, 0x09,
    0xA7, 0xF3, 0x97, 0x89, 0xF5, 0x15, 0xAB, 0x8F, 0x92, 0xDD, 0xBC, 0xBD, 0x41, 0x4D, 0x94,
    0x0E, 0x93,
    /* xG */
    0x32, 0xC4, 0xAE, 0x2C, 0x1F, 0x19, 0x81, 0x19, 0x5F, 0x99, 0x04, 0x46, 0x6A, 0x39, 0xC9,
    0x94, 0x8F, 0xE3, 0x0B, 0xBF, 0xF2, 0x66, 0x0B, 0xE1, 0x71, 0x5A, 0x45, 0x89, 0x33, 0x4C,
    0x74, 0xC7,
    /* yG */
    0xBC, 0x37, 0x36, 0xA2, 0xF4, 0xF6, 0x77, 0x9C, 0x59, 0xBD, 0xCE, 0xE3, 0x6B, 0x69, 0x21,
    0x53, 0xD0, 0xA9, 0x87, 0x7C, 0xC6, 0x2A, 0x47, 0x40, 0x02, 0xDF, 0x32, 0xE5, 0x21, 0x39,
    0xF0, 0xA0,
};

int mk_sm3(const void *in, size_t n, unsigned char out[MK_SM3_LEN], mk_err *e) {
  int rc = 0;
  unsigned int len = 0;
  static const unsigned char none = 0;
  MK_TRY_OSSL(EVP_Digest(n ? in : &none, n, out, &len, EVP_sm3(), NULL), e, "SM3");
  MK_ENSURE(len == MK_SM3_LEN, MK_EINTERNAL, e, "SM3: digest of %u bytes", len);
out:
  return rc;
}

int mk_sm2_za(const unsigned char *id, size_t idlen, const unsigned char pub[MK_SM2_PUB_LEN],
              unsigned char z[MK_SM3_LEN], mk_err *e) {
  int rc = 0;
  unsigned int len = 0;
  EVP_MD_CTX *ctx = NULL;
  MK_ENSURE(idlen <= MK_SM2_ID_MAX, MK_EINVAL, e, "SM2 signer ID over %d bytes", MK_SM2_ID_MAX);
  MK_ENSURE(id != NULL || idlen == 0, MK_EINVAL, e, "SM2 signer ID missing");
  MK_ENSURE(pub != NULL && pub[0] == 0x04, MK_EINVAL, e,
            "SM2 public key must be an uncompressed point");
  /* ENTL: the ID's length in bits, two bytes big-endian (GM/T 0003.2 §5.5). */
  size_t bits = idlen * 8;
  unsigned char entl[2] = {(unsigned char)(bits >> 8), (unsigned char)bits};
  MK_TRY_PTR_OSSL(ctx, EVP_MD_CTX_new(), e, "SM3 context");
  MK_TRY_OSSL(EVP_DigestInit_ex(ctx, EVP_sm3(), NULL), e, "SM3 init");
  MK_TRY_OSSL(EVP_DigestUpdate(ctx, entl, sizeof entl), e, "SM3 update");
  if (idlen > 0)
    MK_TRY_OSSL(EVP_DigestUpdate(ctx, id, idlen), e, "SM3 update");
  MK_TRY_OSSL(EVP_DigestUpdate(ctx, curve_abg, sizeof curve_abg), e, "SM3 update");
  MK_TRY_OSSL(EVP_DigestUpdate(ctx, pub + 1, MK_SM2_PUB_LEN - 1), e, "SM3 update");
  MK_TRY_OSSL(EVP_DigestFinal_ex(ctx, z, &len), e, "SM3 final");
  MK_ENSURE(len == MK_SM3_LEN, MK_EINTERNAL, e, "SM3: digest of %u bytes", len);
out:
  EVP_MD_CTX_free(ctx);
  return rc;
}

int mk_sm2_e(const unsigned char z[MK_SM3_LEN], const void *msg, size_t msglen,
             unsigned char e_out[MK_SM3_LEN], mk_err *e) {
  int rc = 0;
  unsigned int len = 0;
  EVP_MD_CTX *ctx = NULL;
  MK_ENSURE(msg != NULL || msglen == 0, MK_EINVAL, e, "SM2 message missing");
  MK_TRY_PTR_OSSL(ctx, EVP_MD_CTX_new(), e, "SM3 context");
  MK_TRY_OSSL(EVP_DigestInit_ex(ctx, EVP_sm3(), NULL), e, "SM3 init");
  MK_TRY_OSSL(EVP_DigestUpdate(ctx, z, MK_SM3_LEN), e, "SM3 update");
  if (msglen > 0)
    MK_TRY_OSSL(EVP_DigestUpdate(ctx, msg, msglen), e, "SM3 update");
  MK_TRY_OSSL(EVP_DigestFinal_ex(ctx, e_out, &len), e, "SM3 final");
  MK_ENSURE(len == MK_SM3_LEN, MK_EINTERNAL, e, "SM3: digest of %u bytes", len);
out:
  EVP_MD_CTX_free(ctx);
  return rc;
}

int mk_sm3_kdf(const unsigned char *z, size_t zlen, unsigned char *out, size_t outlen,
               mk_err *e) {
  int rc = 0;
  unsigned int len = 0;
  unsigned char block[MK_SM3_LEN];
  int writing = 0;
  EVP_MD_CTX *base = NULL, *ctx = NULL;
  MK_ENSURE(z != NULL || zlen == 0, MK_EINVAL, e, "KDF: input missing");
  MK_ENSURE(out != NULL || outlen == 0, MK_EINVAL, e, "KDF: output missing");
  MK_ENSURE(outlen <= MK_SM3_KDF_MAX, MK_ETOOBIG, e, "KDF: %zu bytes requested, at most %u",
            outlen, MK_SM3_KDF_MAX);
  MK_TRY_PTR_OSSL(base, EVP_MD_CTX_new(), e, "SM3 context");
  MK_TRY_PTR_OSSL(ctx, EVP_MD_CTX_new(), e, "SM3 context");
  /* Hash z once and copy the state for each counter: z is the same in every
   * block, and a 1 MiB output takes 32768 blocks. */
  MK_TRY_OSSL(EVP_DigestInit_ex(base, EVP_sm3(), NULL), e, "SM3 init");
  if (zlen > 0)
    MK_TRY_OSSL(EVP_DigestUpdate(base, z, zlen), e, "SM3 update");
  uint32_t ct = 1;
  writing = 1;
  for (size_t off = 0; off < outlen; off += MK_SM3_LEN, ct++) {
    unsigned char cb[4] = {(unsigned char)(ct >> 24), (unsigned char)(ct >> 16),
                           (unsigned char)(ct >> 8), (unsigned char)ct};
    MK_TRY_OSSL(EVP_MD_CTX_copy_ex(ctx, base), e, "SM3 copy");
    MK_TRY_OSSL(EVP_DigestUpdate(ctx, cb, sizeof cb), e, "SM3 update");
    MK_TRY_OSSL(EVP_DigestFinal_ex(ctx, block, &len), e, "SM3 final");
    MK_ENSURE(len == MK_SM3_LEN, MK_EINTERNAL, e, "SM3: digest of %u bytes", len);
    size_t take = outlen - off < MK_SM3_LEN ? outlen - off : MK_SM3_LEN;
    memcpy(out + off, block, take);
  }
out:
  OPENSSL_cleanse(block, sizeof block);
  if (rc < 0 && writing)
    OPENSSL_cleanse(out, outlen);
  /* EVP_MD_CTX_free wipes the digest state, which holds z. */
  EVP_MD_CTX_free(base);
  EVP_MD_CTX_free(ctx);
  return rc;
}
