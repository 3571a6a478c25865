/*
 * PIN (证书密码) proofs and the server's retry counter.
 *
 * The PIN is never stored or sent in clear (docs/keys.md):
 * - the device turns it into a proof, Argon2id (RFC 9106) over the PIN with a
 *   salt bound to the account and the device;
 * - the server keeps only verifier = HMAC-SHA256(pepper, proof), where the
 *   32-byte pepper is a server secret (mk_kek_derive), plus a counter of
 *   consecutive failures: the 5th locks key use until an SMS code and an
 *   identity check (mk_pin_unlock).
 * A stolen server database therefore needs the pepper before a PIN can be
 * guessed offline, and device data alone cannot test a guess at all.
 *
 * Persistence rule: the caller stores the state (mk_pin_state_encode) after
 * every mk_pin_check / mk_pin_record_failure / mk_pin_change, and BEFORE it
 * releases any result to the device, so a crash or a killed request can never
 * reset the counter and buy an attacker more guesses.
 */
#ifndef MK_CRYPTO_PIN_H
#define MK_CRYPTO_PIN_H

#include "mkey/mkey.h"

#define MK_PIN_PROOF_LEN 32
#define MK_PIN_PEPPER_LEN 32
#define MK_PIN_VERIFIER_LEN 32
#define MK_PIN_MIN_LEN 6   /* bytes; the product asks for 6 digits */
#define MK_PIN_MAX_LEN 64  /* bytes of UTF-8 */
#define MK_PIN_MAX_FAILURES 5
#define MK_PIN_ID_MAX 128  /* account and device ids, bytes */
#define MK_PIN_STATE_LEN 67 /* mk_pin_state_encode output, version 1 */

/* Argon2id cost (RFC 9106 §3.1). The same struct serves the PIN proof and the
 * keystore passphrase; tests pass tiny values, production uses
 * MK_PIN_PARAMS_DEFAULT. */
typedef struct mk_pin_params {
  uint32_t t_cost;     /* passes, 1..MK_PIN_T_MAX */
  uint32_t m_cost_kib; /* memory in KiB, 8 * lanes..MK_PIN_M_MAX_KIB */
  uint32_t lanes;      /* parallelism, 1..MK_PIN_LANES_MAX */
} mk_pin_params;

/* RFC 9106 §4, second recommended option (t=3, 64 MiB) with one lane: a
 * phone has the memory but not always free cores, and one lane keeps the
 * cost the same on every device (0.17 s on a server core; docs/keys.md). */
#define MK_PIN_PARAMS_DEFAULT {3u, 64u * 1024u, 1u}
#define MK_PIN_T_MAX 64u
#define MK_PIN_M_MAX_KIB (1024u * 1024u) /* 1 GiB: bounds what a crafted file can ask for */
#define MK_PIN_LANES_MAX 16u

/* 0 when p is within the bounds above, else MK_EINVAL. */
int mk_pin_params_check(const mk_pin_params *p, mk_err *e) MK_MUST_CHECK;

/* Argon2id version 0x13 (RFC 9106 §3) with the full input set: secret and
 * ad may be NULL with length 0. outlen 4..1024. Memory is allocated and wiped
 * by libargon2. */
int mk_pin_argon2id(const mk_pin_params *p, const void *pwd, size_t pwdlen, const void *salt,
                    size_t saltlen, const void *secret, size_t secretlen, const void *ad,
                    size_t adlen, unsigned char *out, size_t outlen, mk_err *e) MK_MUST_CHECK;

/* 0 when pin is MK_PIN_MIN_LEN..MK_PIN_MAX_LEN bytes of UTF-8 text without
 * control characters, else MK_EINVAL (the message never repeats the PIN). */
int mk_pin_valid(const char *pin, mk_err *e) MK_MUST_CHECK;

/* Device side: proof = Argon2id(pin, salt, p) with
 * salt = SHA-256("mkey-pin-v1" || account_id || 0x00 || device_id).
 * Ids are non-empty text of at most MK_PIN_ID_MAX bytes. The proof stands
 * for the PIN: send it only over the authenticated channel, wipe it after. */
int mk_pin_proof(const mk_pin_params *p, const char *pin, const char *account_id,
                 const char *device_id, unsigned char proof[MK_PIN_PROOF_LEN],
                 mk_err *e) MK_MUST_CHECK;

/* Server side: everything kept about one key's PIN. */
typedef struct mk_pin_state {
  mk_pin_params params;  /* what the device used for the proof */
  unsigned char verifier[MK_PIN_VERIFIER_LEN];
  uint32_t failures;     /* consecutive, 0..MK_PIN_MAX_FAILURES */
  int locked;            /* 1: no check runs until mk_pin_unlock */
  int64_t last_failure;  /* Unix seconds of the last failure, 0 if none */
  int64_t locked_at;     /* Unix seconds, 0 when not locked */
} mk_pin_state;

/* Start st for a new key: verifier from proof, counter 0, unlocked. */
int mk_pin_enroll(mk_pin_state *st, const mk_pin_params *p,
                  const unsigned char pepper[MK_PIN_PEPPER_LEN],
                  const unsigned char proof[MK_PIN_PROOF_LEN], mk_err *e) MK_MUST_CHECK;

/* Check a proof and update the counter; persist st afterwards (see above).
 * 0: right PIN, counter reset. MK_EAUTH "wrong PIN (N attempts left)": counted.
 * MK_ELOCKED: locked now (5th failure) or before, in which case the proof is
 * not even looked at. */
int mk_pin_check(mk_pin_state *st, const unsigned char pepper[MK_PIN_PEPPER_LEN],
                 const unsigned char proof[MK_PIN_PROOF_LEN], int64_t now,
                 mk_err *e) MK_MUST_CHECK;

/* Count a failure found elsewhere (the two-party protocol's MK_EAUTH on a
 * wrong device share): returns MK_EAUTH or MK_ELOCKED like mk_pin_check. */
int mk_pin_record_failure(mk_pin_state *st, int64_t now, mk_err *e) MK_MUST_CHECK;

/* Attempts left before the lock (0 when locked). */
unsigned mk_pin_attempts_left(const mk_pin_state *st);

/* After the SMS code and identity check (policy lives in server/): clear the
 * counter and the lock. new_proof (may be NULL) replaces the verifier, which
 * is the "forgot PIN" flow; NULL keeps the old PIN. */
int mk_pin_unlock(mk_pin_state *st, const unsigned char pepper[MK_PIN_PEPPER_LEN],
                  const unsigned char *new_proof, mk_err *e) MK_MUST_CHECK;

/* Change PIN: old_proof is checked exactly like mk_pin_check (a wrong one
 * counts, a locked state refuses); on success the verifier becomes that of
 * new_proof and the counter is 0. */
int mk_pin_change(mk_pin_state *st, const unsigned char pepper[MK_PIN_PEPPER_LEN],
                  const unsigned char old_proof[MK_PIN_PROOF_LEN],
                  const unsigned char new_proof[MK_PIN_PROOF_LEN], int64_t now,
                  mk_err *e) MK_MUST_CHECK;

/* Fixed 67-byte "MKPS" v1 record (layout in docs/keys.md). Encode fails with
 * MK_EINVAL for a state that decode would refuse. */
int mk_pin_state_encode(const mk_pin_state *st, unsigned char out[MK_PIN_STATE_LEN],
                        mk_err *e) MK_MUST_CHECK;
/* Strict: exact length, magic, version, no unknown flag bits, parameters in
 * bounds, counter consistent with the lock. st is written only on success. */
int mk_pin_state_decode(const void *in, size_t len, mk_pin_state *st, mk_err *e) MK_MUST_CHECK;

#endif
