/*
 * Device keystore: the key that seals the device's key shares at rest.
 *
 * On a phone the platform protects the keystore key (stored wrapped by an
 * Android Keystore or Secure Enclave key, unwrapped by the app and handed
 * to mk_keystore_from_key); for the CLI it is a 0600 file under the profile
 * directory, "MKKS" v1, holding 32 random bytes, optionally sealed under a
 * passphrase (Argon2id, then AES-256-GCM).
 *
 * Each share is sealed into an "MKDS" v1 record (AES-256-GCM; SM4-GCM would
 * be the national choice but OpenSSL 3.0 has no SM4-GCM, so algorithm 2 is
 * reserved for it). The caller's label ("mkey device share sm2 key_…") is
 * authenticated with the header, so a share file copied over another key's
 * file, or used for another purpose, does not open.
 *
 * Rule the format cannot enforce: a device share file holds the device's own
 * share only, never P1, the server share or anything else that would let a
 * guessed share be checked offline (docs/keys.md). Byte layouts are in
 * docs/keys.md.
 */
#ifndef MK_CRYPTO_KEYSTORE_H
#define MK_CRYPTO_KEYSTORE_H

#include "crypto/pin.h"
#include "mkey/mkey.h"
#include "util/buf.h"

#define MK_KEYSTORE_KEY_LEN 32
#define MK_KEYSTORE_PASSPHRASE_MAX 1024 /* bytes */
#define MK_KEYSTORE_LABEL_MAX 255       /* bytes of text */
#define MK_KEYSTORE_FILE_MAX 256        /* a keystore file is 38 or 94 bytes */
#define MK_KEYSTORE_SEALED_OVERHEAD 34  /* header 6, nonce 12, tag 16 */
#define MK_KEYSTORE_SEALED_MAX (64u * 1024u) /* a whole MKDS record */
#define MK_KEYSTORE_PLAIN_MAX (MK_KEYSTORE_SEALED_MAX - MK_KEYSTORE_SEALED_OVERHEAD)

typedef struct mk_keystore mk_keystore;

/* Create a keystore file at path (0600, atomically; MK_ECONFLICT if it
 * exists, since replacing it would orphan every share it sealed). passphrase
 * (may be NULL: no passphrase) is 1..1024 bytes; params (may be NULL: the
 * MK_PIN_PARAMS_DEFAULT cost) set its Argon2id cost and are stored in the
 * file. */
int mk_keystore_create(const char *path, const char *passphrase, const mk_pin_params *params,
                       mk_err *e) MK_MUST_CHECK;

/* Open the keystore file at path. Refuses (MK_EPERM) a file other users can
 * read or write. passphrase must be given exactly when the file has one:
 * a wrong one is MK_EAUTH. *ks is freed with mk_keystore_free. */
int mk_keystore_open(const char *path, const char *passphrase, mk_keystore **ks,
                     mk_err *e) MK_MUST_CHECK;

/* The same from bytes already read (len <= MK_KEYSTORE_FILE_MAX); strict:
 * exact length, magic, version, protection, parameters in bounds. */
int mk_keystore_load(const void *data, size_t len, const char *passphrase, mk_keystore **ks,
                     mk_err *e) MK_MUST_CHECK;

/* A keystore over a key the platform protects (unwrapped by Android
 * Keystore or the Secure Enclave); the 32 bytes are copied, the caller
 * wipes its own copy. */
int mk_keystore_from_key(const unsigned char key[MK_KEYSTORE_KEY_LEN], mk_keystore **ks,
                         mk_err *e) MK_MUST_CHECK;

/* Wipe the key and release; NULL does nothing. */
void mk_keystore_free(mk_keystore *ks);

/* Seal n bytes (<= MK_KEYSTORE_PLAIN_MAX) under label into an MKDS record
 * appended to out (caller's buffer and cap; on failure out keeps its old
 * length). */
int mk_keystore_seal(mk_keystore *ks, const char *label, const void *plain, size_t n,
                     mk_buf *out, mk_err *e) MK_MUST_CHECK;

/* Open an MKDS record under label; the plaintext is appended to plain (start
 * it with mk_buf_init_secret so growth leaves no copies; mk_buf_free_secret).
 * Not MKDS / another version or algorithm / truncated: MK_EINVAL. Wrong
 * label, another keystore or any changed byte: MK_ECRYPTO. */
int mk_keystore_open_sealed(mk_keystore *ks, const char *label, const void *in, size_t n,
                            mk_buf *plain, mk_err *e) MK_MUST_CHECK;

/* Seal and write to path (0600, atomically replacing it). */
int mk_keystore_write_share(mk_keystore *ks, const char *label, const void *plain, size_t n,
                            const char *path, mk_err *e) MK_MUST_CHECK;

/* Read path (refusing a file other users can access, MK_EPERM) and open it
 * as mk_keystore_open_sealed does. */
int mk_keystore_read_share(mk_keystore *ks, const char *label, const char *path, mk_buf *plain,
                           mk_err *e) MK_MUST_CHECK;

#endif
