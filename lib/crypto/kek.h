/*
 * Key-encryption keys: how the server keeps split-key shares at rest.
 *
 * A KEK is a small interface (struct mk_kek) so the file KEK of today and a
 * PKCS#11 token later (SoftHSM2, a real HSM) serve the same callers. The
 * wrapped blob format "MKWR" v1 is built here, above the backends:
 *
 *   "MKWR" | version 1 | alg 1 (AES-256-GCM) | kek id (8) | nonce (12) |
 *   ciphertext | tag (16)
 *
 * with AAD = the 14 header bytes || label. The label names what the blob is
 * ("mkey server share sm2 key_…"), so a blob copied onto another key's row
 * does not open. The kek id (first 8 bytes of SHA-256 of the key for the file
 * KEK) tells "wrong KEK" apart from "damaged blob". Byte layouts and the
 * threat model: docs/keys.md.
 */
#ifndef MK_CRYPTO_KEK_H
#define MK_CRYPTO_KEK_H

#include "mkey/mkey.h"
#include "util/buf.h"

#define MK_KEK_KEY_LEN 32
#define MK_KEK_ID_LEN 8
#define MK_KEK_DERIVED_LEN 32
#define MK_KEK_LABEL_MAX 255   /* bytes of text */
#define MK_KEK_WRAP_MAX (60u * 1024u) /* plaintext; blobs stay under 64 KiB */
#define MK_GCM_NONCE_LEN 12
#define MK_GCM_TAG_LEN 16
#define MK_KEK_WRAP_OVERHEAD (14 + MK_GCM_NONCE_LEN + MK_GCM_TAG_LEN)

/* Label under which mkeyd derives the PIN pepper (mk_pin_check). */
#define MK_KEK_LABEL_PIN_PEPPER "mkey pin pepper v1"

typedef struct mk_kek mk_kek;

/* A backend fills these in; callers use mk_kek_wrap / mk_kek_unwrap /
 * mk_kek_derive / mk_kek_free, which add the MKWR framing. The backend runs
 * the AEAD (AES-256-GCM) under the KEK and picks the nonce, as an HSM does:
 *   wrap:   out[0..12) nonce, out[12..12+n) ciphertext, then the 16-byte tag;
 *   unwrap: in is that layout (n >= 28), out receives n - 28 bytes; a failed
 *           tag is MK_ECRYPTO and out is wiped;
 *   derive: HKDF-SHA256 (RFC 5869) with the KEK as input key and label as
 *           info, 32 bytes (PKCS#11 3.0: CKM_HKDF_DERIVE);
 *   free:   wipe and release the backend state and the handle itself. */
struct mk_kek {
  const char *name;                    /* "file", later "pkcs11" */
  unsigned char id[MK_KEK_ID_LEN];     /* written into every blob */
  int (*wrap)(mk_kek *k, const unsigned char *aad, size_t aadlen, const unsigned char *in,
                size_t n, unsigned char *out, mk_err *e);
  int (*unwrap)(mk_kek *k, const unsigned char *aad, size_t aadlen, const unsigned char *in,
              size_t n, unsigned char *out, mk_err *e);
  int (*derive)(mk_kek *k, const char *label, unsigned char out[MK_KEK_DERIVED_LEN], mk_err *e);
  void (*free)(mk_kek *k);
  void *impl; /* backend state */
};

/* File KEK: 32 random bytes in a 0600 file. A missing file is generated when
 * create_if_missing is set (atomically: two processes starting at once end
 * up with the same key), else MK_ENOTFOUND. A file other users can read is
 * refused with MK_EPERM; a file that is not exactly 32 bytes, MK_EINVAL.
 * *out is freed with mk_kek_free. */
int mk_kek_file_open(const char *path, int create_if_missing, mk_kek **out,
                     mk_err *e) MK_MUST_CHECK;

/* Wrap n bytes (<= MK_KEK_WRAP_MAX) under label into an MKWR blob appended
 * to out (caller's buffer and cap; on failure out keeps its old length). */
int mk_kek_wrap(mk_kek *k, const char *label, const void *in, size_t n, mk_buf *out,
                mk_err *e) MK_MUST_CHECK;

/* Open an MKWR blob under label; the plaintext is appended to out (start it
 * with mk_buf_init_secret so growth leaves no copies; mk_buf_free_secret).
 * Not a blob / other version: MK_EINVAL. Another KEK's id, a failed tag
 * (tampering, wrong label): MK_ECRYPTO. */
int mk_kek_unwrap(mk_kek *k, const char *label, const void *in, size_t n, mk_buf *out,
                  mk_err *e) MK_MUST_CHECK;

/* 32 bytes for a purpose named by label (e.g. MK_KEK_LABEL_PIN_PEPPER), so
 * the server needs no second secret file. Same KEK and label, same bytes. */
int mk_kek_derive(mk_kek *k, const char *label, unsigned char out[MK_KEK_DERIVED_LEN],
                  mk_err *e) MK_MUST_CHECK;

/* Wipe and release; NULL does nothing. */
void mk_kek_free(mk_kek *k);

/* ---- primitives shared with the device keystore --------------------------- */

/* HKDF-SHA256 (RFC 5869): salt may be NULL/0 (then HashLen zeros, §2.2),
 * outlen 1..255*32. */
int mk_kek_hkdf_sha256(const void *salt, size_t saltlen, const void *ikm, size_t ikmlen,
                   const void *info, size_t infolen, unsigned char *out, size_t outlen,
                   mk_err *e) MK_MUST_CHECK;

/* AES-256-GCM with a fresh random 96-bit nonce (NIST SP 800-38D §8.2.2):
 * out = nonce || ciphertext || tag, n + 28 bytes. */
int mk_kek_gcm_seal(const unsigned char key[32], const unsigned char *aad, size_t aadlen,
                const unsigned char *in, size_t n, unsigned char *out, mk_err *e) MK_MUST_CHECK;

/* Inverse of mk_kek_gcm_seal: in is n >= 28 bytes, out receives n - 28. A failed
 * tag gives MK_ECRYPTO "authentication failed" and leaves out wiped. */
int mk_kek_gcm_open(const unsigned char key[32], const unsigned char *aad, size_t aadlen,
                const unsigned char *in, size_t n, unsigned char *out, mk_err *e) MK_MUST_CHECK;

#endif
