#include "crypto/keystore.h"
#include "crypto/kek.h"
#include "util/file.h"
#include "util/guard.h"
#include "util/json.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

/* ---- MKKS v1: the keystore file ---------------------------------------------
 *  0  4  "MKKS"
 *  4  1  version 1
 *  5  1  protection: 0 none, 1 passphrase
 * none:        6 32  key                                   (38 bytes)
 * passphrase:  6 12  Argon2id t, m KiB, lanes (BE32 each)
 *             18 16  salt
 *             34 12  nonce | 46 32 encrypted key | 78 16 tag (94 bytes)
 *             AAD = bytes 0..34, so the cost and salt cannot be changed.
 */
#define KS_MAGIC "MKKS"
#define KS_VERSION 1
#define KS_PROT_NONE 0
#define KS_PROT_PASSPHRASE 1
#define KS_SALT_LEN 16
#define KS_AAD_LEN 34
#define KS_LEN_NONE (6 + MK_KEYSTORE_KEY_LEN)
#define KS_LEN_PASSPHRASE (KS_AAD_LEN + MK_GCM_NONCE_LEN + MK_KEYSTORE_KEY_LEN + MK_GCM_TAG_LEN)

/* ---- MKDS v1: a sealed device share -------------------------------------------
 *  0  4  "MKDS" | 4 1 version 1 | 5 1 alg 1 = AES-256-GCM
 *  6 12  nonce | 18 n ciphertext | 18+n 16 tag
 *  AAD = bytes 0..6 || label
 */
#define DS_MAGIC "MKDS"
#define DS_VERSION 1
#define DS_ALG_AES256GCM 1
#define DS_HEADER_LEN 6

struct mk_keystore {
  unsigned char key[MK_KEYSTORE_KEY_LEN];
};

static void put32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int check_passphrase(const char *pass, mk_err *e) {
  size_t n = strnlen(pass, MK_KEYSTORE_PASSPHRASE_MAX + 1);
  if (n == 0)
    return mk_err_set(e, MK_EINVAL, "empty passphrase (pass none instead)");
  if (n > MK_KEYSTORE_PASSPHRASE_MAX)
    return mk_err_set(e, MK_EINVAL, "passphrase is longer than %d bytes",
                      MK_KEYSTORE_PASSPHRASE_MAX);
  return 0;
}

static int check_label(const char *label, mk_err *e) {
  if (label == NULL || label[0] == '\0')
    return mk_err_set(e, MK_EINVAL, "no label given");
  size_t n = strnlen(label, MK_KEYSTORE_LABEL_MAX + 1);
  if (n > MK_KEYSTORE_LABEL_MAX)
    return mk_err_set(e, MK_EINVAL, "label is longer than %d bytes", MK_KEYSTORE_LABEL_MAX);
  if (!mk_utf8_valid_text(label, n, 0))
    return mk_err_set(e, MK_EINVAL, "label is not valid UTF-8 text");
  return 0;
}

/* Argon2id(passphrase, salt) -> the 32-byte key that seals the keystore key. */
static int passphrase_key(const mk_pin_params *p, const char *pass,
                          const unsigned char salt[KS_SALT_LEN], unsigned char out[32],
                          mk_err *e) {
  return mk_pin_argon2id(p, pass, strlen(pass), salt, KS_SALT_LEN, NULL, 0, NULL, 0, out, 32, e);
}

int mk_keystore_create(const char *path, const char *passphrase, const mk_pin_params *params,
                       mk_err *e) {
  int rc = 0;
  unsigned char file[KS_LEN_PASSPHRASE], key[MK_KEYSTORE_KEY_LEN], pk[32];
  size_t len = 0;
  const mk_pin_params dflt = MK_PIN_PARAMS_DEFAULT;
  const mk_pin_params *p = params != NULL ? params : &dflt;

  MK_TRY_OSSL(RAND_priv_bytes(key, sizeof key), e, "random keystore key");
  memcpy(file, KS_MAGIC, 4);
  file[4] = KS_VERSION;
  if (passphrase == NULL) {
    file[5] = KS_PROT_NONE;
    memcpy(file + 6, key, sizeof key);
    len = KS_LEN_NONE;
  } else {
    MK_TRY(check_passphrase(passphrase, e));
    MK_TRY(mk_pin_params_check(p, e));
    file[5] = KS_PROT_PASSPHRASE;
    put32(file + 6, p->t_cost);
    put32(file + 10, p->m_cost_kib);
    put32(file + 14, p->lanes);
    MK_TRY_OSSL(RAND_bytes(file + 18, KS_SALT_LEN), e, "random salt");
    MK_TRY(passphrase_key(p, passphrase, file + 18, pk, e));
    MK_TRY(mk_kek_gcm_seal(pk, file, KS_AAD_LEN, key, sizeof key, file + KS_AAD_LEN, e));
    len = KS_LEN_PASSPHRASE;
  }
  rc = mk_file_write_private(path, file, len, MK_FILE_EXCL, e);
  if (rc == MK_ECONFLICT)
    rc = mk_err_set(e, MK_ECONFLICT,
                    "keystore '%s' exists already (replacing it would lose every share it sealed)",
                    path);
out:
  OPENSSL_cleanse(file, sizeof file);
  OPENSSL_cleanse(key, sizeof key);
  OPENSSL_cleanse(pk, sizeof pk);
  return rc;
}

int mk_keystore_from_key(const unsigned char key[MK_KEYSTORE_KEY_LEN], mk_keystore **ks,
                         mk_err *e) {
  if (ks == NULL)
    return mk_err_set(e, MK_EINVAL, "no keystore handle given");
  *ks = NULL;
  if (key == NULL)
    return mk_err_set(e, MK_EINVAL, "no keystore key given");
  mk_keystore *k = calloc(1, sizeof *k);
  if (k == NULL)
    return mk_err_set(e, MK_ENOMEM, "out of memory");
  memcpy(k->key, key, MK_KEYSTORE_KEY_LEN);
  *ks = k;
  return 0;
}

void mk_keystore_free(mk_keystore *ks) {
  if (ks == NULL)
    return;
  OPENSSL_cleanse(ks, sizeof *ks);
  free(ks);
}

int mk_keystore_load(const void *data, size_t len, const char *passphrase, mk_keystore **ks,
                     mk_err *e) {
  int rc = 0;
  const unsigned char *p = data;
  unsigned char key[MK_KEYSTORE_KEY_LEN], pk[32];

  MK_ENSURE(ks != NULL, MK_EINVAL, e, "no keystore handle given");
  *ks = NULL;
  MK_ENSURE(p != NULL || len == 0, MK_EINVAL, e, "no keystore data given");
  MK_ENSURE(len >= 4 && memcmp(p, KS_MAGIC, 4) == 0, MK_EINVAL, e,
            "not a keystore file (no MKKS header)");
  MK_ENSURE(len >= 5 && p[4] == KS_VERSION, MK_EINVAL, e,
            "keystore version %u is not supported (want %d)", len >= 5 ? p[4] : 0, KS_VERSION);
  MK_ENSURE(len >= 6, MK_EINVAL, e, "keystore file is truncated");
  if (p[5] == KS_PROT_NONE) {
    MK_ENSURE(len == KS_LEN_NONE, MK_EINVAL, e, "keystore file is %zu bytes, want %d", len,
              KS_LEN_NONE);
    MK_ENSURE(passphrase == NULL, MK_EINVAL, e,
              "keystore has no passphrase, but one was given");
    MK_TRY(mk_keystore_from_key(p + 6, ks, e));
  } else if (p[5] == KS_PROT_PASSPHRASE) {
    MK_ENSURE(len == KS_LEN_PASSPHRASE, MK_EINVAL, e, "keystore file is %zu bytes, want %d",
              len, KS_LEN_PASSPHRASE);
    mk_pin_params prm = {get32(p + 6), get32(p + 10), get32(p + 14)};
    MK_TRY(mk_pin_params_check(&prm, e));
    MK_ENSURE(passphrase != NULL, MK_EAUTH, e, "keystore is sealed under a passphrase: give it");
    MK_TRY(check_passphrase(passphrase, e));
    MK_TRY(passphrase_key(&prm, passphrase, p + 18, pk, e));
    if (mk_kek_gcm_open(pk, p, KS_AAD_LEN, p + KS_AAD_LEN, len - KS_AAD_LEN, key, NULL) < 0)
      MK_FAIL(MK_EAUTH, e, "wrong passphrase for the keystore (or the file is damaged)");
    MK_TRY(mk_keystore_from_key(key, ks, e));
  } else {
    MK_FAIL(MK_EINVAL, e, "keystore protection %u is unknown", p[5]);
  }
out:
  OPENSSL_cleanse(key, sizeof key);
  OPENSSL_cleanse(pk, sizeof pk);
  return rc;
}

int mk_keystore_open(const char *path, const char *passphrase, mk_keystore **ks, mk_err *e) {
  int rc = 0;
  mk_buf b;
  mk_buf_init_secret(&b, 0);
  MK_ENSURE(ks != NULL, MK_EINVAL, e, "no keystore handle given");
  *ks = NULL;
  rc = mk_file_read_capped(path, MK_KEYSTORE_FILE_MAX, MK_FILE_PRIVATE, &b, e);
  if (rc == MK_ETOOBIG)
    rc = mk_err_set(e, MK_EINVAL, "'%s' is not a keystore file (over %d bytes)", path,
                    MK_KEYSTORE_FILE_MAX);
  if (rc < 0)
    goto out;
  rc = mk_keystore_load(b.data, b.len, passphrase, ks, e);
  if (rc < 0 && e != NULL)
    mk_err_wrap(e, "keystore '%s'", path);
out:
  mk_buf_free_secret(&b);
  return rc;
}

int mk_keystore_seal(mk_keystore *ks, const char *label, const void *plain, size_t n,
                     mk_buf *out, mk_err *e) {
  int rc = 0;
  unsigned char aad[DS_HEADER_LEN + MK_KEYSTORE_LABEL_MAX];
  unsigned char *sealed = NULL;
  size_t old = out != NULL ? out->len : 0;

  MK_ENSURE(ks != NULL, MK_EINVAL, e, "no keystore given");
  MK_TRY(check_label(label, e));
  MK_ENSURE(out != NULL && (plain != NULL || n == 0), MK_EINVAL, e, "no input or output given");
  MK_ENSURE(n <= MK_KEYSTORE_PLAIN_MAX, MK_ETOOBIG, e, "cannot seal %zu bytes (at most %u)", n,
            MK_KEYSTORE_PLAIN_MAX);
  size_t lablen = strlen(label);
  memcpy(aad, DS_MAGIC, 4);
  aad[4] = DS_VERSION;
  aad[5] = DS_ALG_AES256GCM;
  memcpy(aad + DS_HEADER_LEN, label, lablen);
  sealed = malloc(n + MK_GCM_NONCE_LEN + MK_GCM_TAG_LEN);
  MK_ENSURE_ALLOC(sealed, e);
  MK_TRY(mk_kek_gcm_seal(ks->key, aad, DS_HEADER_LEN + lablen, plain, n, sealed, e));
  MK_TRY(mk_buf_append(out, aad, DS_HEADER_LEN, e));
  MK_TRY(mk_buf_append(out, sealed, n + MK_GCM_NONCE_LEN + MK_GCM_TAG_LEN, e));
out:
  free(sealed);
  if (rc < 0 && out != NULL && out->len > old) {
    out->len = old;
    out->data[old] = '\0';
  }
  return rc;
}

int mk_keystore_open_sealed(mk_keystore *ks, const char *label, const void *in, size_t n,
                            mk_buf *plain, mk_err *e) {
  int rc = 0;
  const unsigned char *p = in;
  unsigned char aad[DS_HEADER_LEN + MK_KEYSTORE_LABEL_MAX];
  unsigned char *tmp = NULL;
  size_t plen = 0;

  MK_ENSURE(ks != NULL, MK_EINVAL, e, "no keystore given");
  MK_TRY(check_label(label, e));
  MK_ENSURE(plain != NULL && (p != NULL || n == 0), MK_EINVAL, e, "no input or output given");
  MK_ENSURE(n >= 4 && memcmp(p, DS_MAGIC, 4) == 0, MK_EINVAL, e,
            "not a device share file (no MKDS header)");
  MK_ENSURE(n >= 5 && p[4] == DS_VERSION, MK_EINVAL, e,
            "device share version %u is not supported (want %d)", n >= 5 ? p[4] : 0,
            DS_VERSION);
  MK_ENSURE(n >= 6 && p[5] == DS_ALG_AES256GCM, MK_EINVAL, e,
            "device share uses unknown algorithm %u", n >= 6 ? p[5] : 0);
  MK_ENSURE(n >= MK_KEYSTORE_SEALED_OVERHEAD, MK_EINVAL, e,
            "device share is truncated (%zu bytes)", n);
  MK_ENSURE(n <= MK_KEYSTORE_SEALED_MAX, MK_ETOOBIG, e, "device share is over %u bytes",
            MK_KEYSTORE_SEALED_MAX);
  size_t lablen = strlen(label);
  memcpy(aad, p, DS_HEADER_LEN);
  memcpy(aad + DS_HEADER_LEN, label, lablen);
  plen = n - MK_KEYSTORE_SEALED_OVERHEAD;
  tmp = malloc(plen ? plen : 1);
  MK_ENSURE_ALLOC(tmp, e);
  int r = mk_kek_gcm_open(ks->key, aad, DS_HEADER_LEN + lablen, p + DS_HEADER_LEN,
                          n - DS_HEADER_LEN, tmp, e);
  MK_ENSURE(r != MK_ECRYPTO, MK_ECRYPTO, e,
            "device share does not open: damaged, sealed by another keystore, or not the "
            "share for '%s'",
            label);
  MK_TRY(r);
  MK_TRY(mk_buf_append(plain, tmp, plen, e));
out:
  if (tmp != NULL) {
    OPENSSL_cleanse(tmp, plen);
    free(tmp);
  }
  return rc;
}

int mk_keystore_write_share(mk_keystore *ks, const char *label, const void *plain, size_t n,
                            const char *path, mk_err *e) {
  int rc = 0;
  mk_buf b;
  mk_buf_init(&b, MK_KEYSTORE_SEALED_MAX);
  MK_TRY(mk_keystore_seal(ks, label, plain, n, &b, e));
  MK_TRY(mk_file_write_private(path, b.data, b.len, 0, e));
out:
  mk_buf_free(&b);
  return rc;
}

int mk_keystore_read_share(mk_keystore *ks, const char *label, const char *path, mk_buf *plain,
                           mk_err *e) {
  int rc = 0;
  mk_buf b;
  mk_buf_init_secret(&b, 0);
  MK_TRY(mk_file_read_capped(path, MK_KEYSTORE_SEALED_MAX, MK_FILE_PRIVATE, &b, e));
  rc = mk_keystore_open_sealed(ks, label, b.data, b.len, plain, e);
  if (rc < 0 && e != NULL)
    mk_err_wrap(e, "'%s'", path);
out:
  mk_buf_free(&b);
  return rc;
}
