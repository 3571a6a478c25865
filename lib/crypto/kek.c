#include "crypto/kek.h"
#include "util/file.h"
#include "util/guard.h"
#include "util/json.h"

#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#define WRAP_MAGIC "MKWR"
#define WRAP_VERSION 1
#define WRAP_ALG_AES256GCM 1
#define WRAP_HEADER_LEN 14 /* magic 4, version 1, alg 1, kek id 8 */
#define GCM_OVERHEAD (MK_GCM_NONCE_LEN + MK_GCM_TAG_LEN)

/* ---- primitives ------------------------------------------------------------ */

int mk_kek_hkdf_sha256(const void *salt, size_t saltlen, const void *ikm, size_t ikmlen,
                       const void *info, size_t infolen, unsigned char *out, size_t outlen,
                       mk_err *e) {
  int rc = 0;
  EVP_KDF *kdf = NULL;
  EVP_KDF_CTX *ctx = NULL;
  OSSL_PARAM params[5], *p = params;

  MK_ENSURE(out != NULL && outlen >= 1 && outlen <= 255 * 32, MK_EINVAL, e,
            "HKDF-SHA256 output length %zu out of range", outlen); /* RFC 5869 §2.3 */
  MK_ENSURE(ikm != NULL && ikmlen > 0, MK_EINVAL, e, "HKDF-SHA256 needs input key material");
  *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
  *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(uintptr_t)ikm, ikmlen);
  /* An absent salt is HashLen zeros (RFC 5869 §2.2); HMAC pads it the same. */
  if (saltlen > 0)
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(uintptr_t)salt,
                                             saltlen);
  if (infolen > 0)
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)(uintptr_t)info,
                                             infolen);
  *p = OSSL_PARAM_construct_end();
  MK_TRY_PTR_OSSL(kdf, EVP_KDF_fetch(NULL, "HKDF", NULL), e, "HKDF fetch");
  MK_TRY_PTR_OSSL(ctx, EVP_KDF_CTX_new(kdf), e, "HKDF context");
  MK_TRY_OSSL(EVP_KDF_derive(ctx, out, outlen, params), e, "HKDF-SHA256");
out:
  EVP_KDF_CTX_free(ctx);
  EVP_KDF_free(kdf);
  if (rc < 0 && out != NULL && outlen > 0 && outlen <= 255 * 32)
    OPENSSL_cleanse(out, outlen);
  return rc;
}

int mk_kek_gcm_seal(const unsigned char key[32], const unsigned char *aad, size_t aadlen,
                    const unsigned char *in, size_t n, unsigned char *out, mk_err *e) {
  int rc = 0, len = 0;
  EVP_CIPHER_CTX *ctx = NULL;
  unsigned char *nonce = out, *ct = out + MK_GCM_NONCE_LEN, *tag = ct + n;

  MK_ENSURE(n <= INT_MAX - 16 && aadlen <= INT_MAX, MK_ETOOBIG, e, "AES-GCM input too long");
  /* Random 96-bit nonces (SP 800-38D §8.2.2): each key seals far fewer than
   * 2^32 messages (a share per key, a handful of keys per device or KEK). */
  MK_TRY_OSSL(RAND_bytes(nonce, MK_GCM_NONCE_LEN), e, "random nonce");
  MK_TRY_PTR_OSSL(ctx, EVP_CIPHER_CTX_new(), e, "AES-256-GCM");
  MK_TRY_OSSL(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce), e, "AES-256-GCM init");
  if (aadlen > 0)
    MK_TRY_OSSL(EVP_EncryptUpdate(ctx, NULL, &len, aad, (int)aadlen), e, "AES-256-GCM AAD");
  if (n > 0)
    MK_TRY_OSSL(EVP_EncryptUpdate(ctx, ct, &len, in, (int)n), e, "AES-256-GCM encrypt");
  MK_TRY_OSSL(EVP_EncryptFinal_ex(ctx, ct + n, &len), e, "AES-256-GCM final");
  MK_TRY_OSSL(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, MK_GCM_TAG_LEN, tag), e,
              "AES-256-GCM tag");
out:
  EVP_CIPHER_CTX_free(ctx);
  return rc;
}

int mk_kek_gcm_open(const unsigned char key[32], const unsigned char *aad, size_t aadlen,
                    const unsigned char *in, size_t n, unsigned char *out, mk_err *e) {
  int rc = 0, len = 0;
  EVP_CIPHER_CTX *ctx = NULL;
  size_t ctlen = n >= GCM_OVERHEAD ? n - GCM_OVERHEAD : 0;

  MK_ENSURE(n >= GCM_OVERHEAD, MK_EINVAL, e, "AES-GCM message is truncated");
  MK_ENSURE(n <= INT_MAX && aadlen <= INT_MAX, MK_ETOOBIG, e, "AES-GCM input too long");
  const unsigned char *nonce = in, *ct = in + MK_GCM_NONCE_LEN, *tag = ct + ctlen;
  MK_TRY_PTR_OSSL(ctx, EVP_CIPHER_CTX_new(), e, "AES-256-GCM");
  MK_TRY_OSSL(EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce), e, "AES-256-GCM init");
  if (aadlen > 0)
    MK_TRY_OSSL(EVP_DecryptUpdate(ctx, NULL, &len, aad, (int)aadlen), e, "AES-256-GCM AAD");
  if (ctlen > 0)
    MK_TRY_OSSL(EVP_DecryptUpdate(ctx, out, &len, ct, (int)ctlen), e, "AES-256-GCM decrypt");
  MK_TRY_OSSL(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, MK_GCM_TAG_LEN, (void *)(uintptr_t)tag),
              e, "AES-256-GCM tag");
  if (EVP_DecryptFinal_ex(ctx, out + ctlen, &len) != 1) {
    ERR_clear_error();
    MK_FAIL(MK_ECRYPTO, e, "authentication failed");
  }
out:
  EVP_CIPHER_CTX_free(ctx);
  if (rc < 0 && out != NULL && ctlen > 0)
    OPENSSL_cleanse(out, ctlen);
  return rc;
}

/* ---- file KEK ---------------------------------------------------------------- */

struct file_kek {
  mk_kek base; /* first, so a mk_kek * is a struct file_kek * */
  unsigned char key[MK_KEK_KEY_LEN];
};

static int file_wrap(mk_kek *k, const unsigned char *aad, size_t aadlen, const unsigned char *in,
                     size_t n, unsigned char *out, mk_err *e) {
  return mk_kek_gcm_seal(((struct file_kek *)k)->key, aad, aadlen, in, n, out, e);
}

static int file_unwrap(mk_kek *k, const unsigned char *aad, size_t aadlen,
                       const unsigned char *in, size_t n, unsigned char *out, mk_err *e) {
  return mk_kek_gcm_open(((struct file_kek *)k)->key, aad, aadlen, in, n, out, e);
}

/* The same key feeds AES-GCM and HKDF's HMAC: distinct primitives with no
 * known interaction, and an HSM key is used the same way (one object, two
 * mechanisms). */
static int file_derive(mk_kek *k, const char *label, unsigned char out[MK_KEK_DERIVED_LEN],
                       mk_err *e) {
  return mk_kek_hkdf_sha256(NULL, 0, ((struct file_kek *)k)->key, MK_KEK_KEY_LEN, label,
                            strlen(label), out, MK_KEK_DERIVED_LEN, e);
}

static void file_free(mk_kek *k) {
  OPENSSL_cleanse(k, sizeof(struct file_kek));
  free(k);
}

static int kek_id(const unsigned char key[MK_KEK_KEY_LEN], unsigned char id[MK_KEK_ID_LEN],
                  mk_err *e) {
  unsigned char h[32];
  unsigned int hl = 0;
  if (EVP_Digest(key, MK_KEK_KEY_LEN, h, &hl, EVP_sha256(), NULL) != 1)
    return mk_err_ossl(e, MK_ECRYPTO, "SHA-256 of the KEK");
  memcpy(id, h, MK_KEK_ID_LEN);
  OPENSSL_cleanse(h, sizeof h);
  return 0;
}

int mk_kek_file_open(const char *path, int create_if_missing, mk_kek **out, mk_err *e) {
  int rc = 0;
  mk_buf b;
  unsigned char fresh[MK_KEK_KEY_LEN];
  struct file_kek *k = NULL;

  mk_buf_init_secret(&b, 0);
  MK_ENSURE(out != NULL, MK_EINVAL, e, "no KEK handle given");
  *out = NULL;
  rc = mk_file_read_capped(path, 4 * MK_KEK_KEY_LEN, MK_FILE_PRIVATE, &b, e);
  if (rc == MK_ENOTFOUND && create_if_missing) {
    MK_TRY_OSSL(RAND_priv_bytes(fresh, sizeof fresh), e, "random KEK");
    rc = mk_file_write_private(path, fresh, sizeof fresh, MK_FILE_EXCL, e);
    /* Lost a race with another process creating it: use theirs. */
    if (rc == 0 || rc == MK_ECONFLICT)
      rc = mk_file_read_capped(path, 4 * MK_KEK_KEY_LEN, MK_FILE_PRIVATE, &b, e);
  }
  if (rc < 0) {
    if (rc == MK_ETOOBIG)
      rc = mk_err_set(e, MK_EINVAL, "'%s' is not a KEK file (over %d bytes)", path,
                      MK_KEK_KEY_LEN);
    goto out;
  }
  MK_ENSURE(b.len == MK_KEK_KEY_LEN, MK_EINVAL, e,
            "'%s' is not a KEK file (%zu bytes, a KEK file holds %d)", path, b.len,
            MK_KEK_KEY_LEN);
  k = calloc(1, sizeof *k);
  MK_ENSURE_ALLOC(k, e);
  memcpy(k->key, b.data, MK_KEK_KEY_LEN);
  MK_TRY(kek_id(k->key, k->base.id, e));
  k->base.name = "file";
  k->base.wrap = file_wrap;
  k->base.unwrap = file_unwrap;
  k->base.derive = file_derive;
  k->base.free = file_free;
  k->base.impl = k->key;
  *out = &k->base;
  k = NULL;
out:
  OPENSSL_cleanse(fresh, sizeof fresh);
  mk_buf_free_secret(&b);
  if (k != NULL)
    file_free(&k->base);
  return rc;
}

/* ---- MKWR framing ----------------------------------------------------------- */

static int check_label(const char *label, mk_err *e) {
  if (label == NULL || label[0] == '\0')
    return mk_err_set(e, MK_EINVAL, "no label given");
  size_t n = strnlen(label, MK_KEK_LABEL_MAX + 1);
  if (n > MK_KEK_LABEL_MAX)
    return mk_err_set(e, MK_EINVAL, "label is longer than %d bytes", MK_KEK_LABEL_MAX);
  if (!mk_utf8_valid_text(label, n, 0))
    return mk_err_set(e, MK_EINVAL, "label is not valid UTF-8 text");
  return 0;
}

static int check_kek(const mk_kek *k, mk_err *e) {
  if (k == NULL || k->wrap == NULL || k->unwrap == NULL || k->derive == NULL)
    return mk_err_set(e, MK_EINVAL, "no KEK given");
  return 0;
}

/* aad = header || label; returns its length. */
static size_t make_aad(const unsigned char header[WRAP_HEADER_LEN], const char *label,
                       unsigned char aad[WRAP_HEADER_LEN + MK_KEK_LABEL_MAX]) {
  size_t n = strlen(label);
  memcpy(aad, header, WRAP_HEADER_LEN);
  memcpy(aad + WRAP_HEADER_LEN, label, n);
  return WRAP_HEADER_LEN + n;
}

int mk_kek_wrap(mk_kek *k, const char *label, const void *in, size_t n, mk_buf *out, mk_err *e) {
  int rc = 0;
  unsigned char header[WRAP_HEADER_LEN], aad[WRAP_HEADER_LEN + MK_KEK_LABEL_MAX];
  unsigned char *sealed = NULL;
  size_t old = out != NULL ? out->len : 0;

  MK_TRY(check_kek(k, e));
  MK_TRY(check_label(label, e));
  MK_ENSURE(out != NULL && (in != NULL || n == 0), MK_EINVAL, e, "no input or output given");
  MK_ENSURE(n <= MK_KEK_WRAP_MAX, MK_ETOOBIG, e, "cannot wrap %zu bytes (at most %u)", n,
            MK_KEK_WRAP_MAX);
  memcpy(header, WRAP_MAGIC, 4);
  header[4] = WRAP_VERSION;
  header[5] = WRAP_ALG_AES256GCM;
  memcpy(header + 6, k->id, MK_KEK_ID_LEN);
  size_t aadlen = make_aad(header, label, aad);
  sealed = malloc(n + GCM_OVERHEAD);
  MK_ENSURE_ALLOC(sealed, e);
  MK_TRY(k->wrap(k, aad, aadlen, in, n, sealed, e));
  MK_TRY(mk_buf_append(out, header, sizeof header, e));
  MK_TRY(mk_buf_append(out, sealed, n + GCM_OVERHEAD, e));
out:
  free(sealed);
  if (rc < 0 && out != NULL && out->len > old) {
    OPENSSL_cleanse(out->data + old, out->len - old);
    out->len = old;
    out->data[old] = '\0';
  }
  return rc;
}

static void hex8(const unsigned char id[MK_KEK_ID_LEN], char out[2 * MK_KEK_ID_LEN + 1]) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < MK_KEK_ID_LEN; i++) {
    out[2 * i] = digits[id[i] >> 4];
    out[2 * i + 1] = digits[id[i] & 15];
  }
  out[2 * MK_KEK_ID_LEN] = '\0';
}

int mk_kek_unwrap(mk_kek *k, const char *label, const void *in, size_t n, mk_buf *out,
                  mk_err *e) {
  int rc = 0;
  const unsigned char *p = in;
  unsigned char aad[WRAP_HEADER_LEN + MK_KEK_LABEL_MAX];
  unsigned char *plain = NULL;
  size_t plen = 0;

  MK_TRY(check_kek(k, e));
  MK_TRY(check_label(label, e));
  MK_ENSURE(out != NULL && (p != NULL || n == 0), MK_EINVAL, e, "no input or output given");
  MK_ENSURE(n >= 4 && memcmp(p, WRAP_MAGIC, 4) == 0, MK_EINVAL, e,
            "not a wrapped key (no MKWR header)");
  MK_ENSURE(n >= 5 && p[4] == WRAP_VERSION, MK_EINVAL, e,
            "wrapped key version %u is not supported (want %d)", n >= 5 ? p[4] : 0,
            WRAP_VERSION);
  MK_ENSURE(n >= 6 && p[5] == WRAP_ALG_AES256GCM, MK_EINVAL, e,
            "wrapped key uses unknown algorithm %u", n >= 6 ? p[5] : 0);
  MK_ENSURE(n >= WRAP_HEADER_LEN + GCM_OVERHEAD, MK_EINVAL, e,
            "wrapped key is truncated (%zu bytes)", n);
  MK_ENSURE(n - WRAP_HEADER_LEN - GCM_OVERHEAD <= MK_KEK_WRAP_MAX, MK_ETOOBIG, e,
            "wrapped key is over %u bytes", MK_KEK_WRAP_MAX);
  if (CRYPTO_memcmp(p + 6, k->id, MK_KEK_ID_LEN) != 0) {
    char theirs[2 * MK_KEK_ID_LEN + 1], ours[2 * MK_KEK_ID_LEN + 1];
    hex8(p + 6, theirs);
    hex8(k->id, ours);
    MK_FAIL(MK_ECRYPTO, e, "server share was wrapped by another key (KEK %s, this KEK is %s)",
            theirs, ours);
  }
  size_t aadlen = make_aad(p, label, aad);
  plen = n - WRAP_HEADER_LEN - GCM_OVERHEAD;
  plain = malloc(plen ? plen : 1);
  MK_ENSURE_ALLOC(plain, e);
  mk_err inner;
  mk_err_clear(&inner);
  int u = k->unwrap(k, aad, aadlen, p + WRAP_HEADER_LEN, n - WRAP_HEADER_LEN, plain, &inner);
  /* A failed tag: flipped bits, a wrong label, or a key with a colliding id. */
  MK_ENSURE(u != MK_ECRYPTO, MK_ECRYPTO, e, "server share is corrupt or was wrapped by another key");
  MK_ENSURE(u == 0, u, e, "KEK '%s': %s", k->name, inner.msg);
  MK_TRY(mk_buf_append(out, plain, plen, e));
out:
  if (plain != NULL) {
    OPENSSL_cleanse(plain, plen);
    free(plain);
  }
  return rc;
}

int mk_kek_derive(mk_kek *k, const char *label, unsigned char out[MK_KEK_DERIVED_LEN], mk_err *e) {
  int rc = 0;
  MK_TRY(check_kek(k, e));
  MK_TRY(check_label(label, e));
  MK_ENSURE(out != NULL, MK_EINVAL, e, "no output given");
  MK_TRY(k->derive(k, label, out, e));
out:
  return rc;
}

void mk_kek_free(mk_kek *k) {
  if (k != NULL && k->free != NULL)
    k->free(k);
}
