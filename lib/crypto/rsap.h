/*
 * Two-party ("mediated") RSA: RSA-2048 and RSA-3072 with e = 65537 whose
 * private exponent exists only as two additive shares,
 *
 *   d = d_u + d_s mod φ(N),   d_s uniform in [1, φ(N)),
 *
 * d_u on the device (phone, CLI) and d_s on the server (mkeyd). The side that
 * generates the key splits it and destroys p, q, φ(N) and d; nothing kept
 * afterwards allows them to be rebuilt from one share.
 *
 * Every operation is a device half and a server half that exchange only JSON
 * messages (jansson objects), so the same code runs in one process (keytool,
 * tests) and over HTTP:
 *
 *   {"v":1, "alg":"rsa2048"|"rsa3072", "op":"keygen"|"sign"|"decrypt",
 *    "step":"<name>", ...fields}
 *
 * Binary fields are base64url without padding; RSA integers are big-endian
 * and exactly k = modulus-length bytes. Decoders are strict (exact keys,
 * exact lengths, integers in 1..N-1) and answer MK_EINVAL for anything else.
 *
 *   keygen   device -> server  step "share":     n, d_s, s_u (proof share)
 *            server -> device  step "stored":    n
 *   sign     device -> server  step "request":   hash ("sha256"|"sm3"),
 *                                                digest, s_u = m^d_u mod N
 *            server -> device  step "result":    s = s_u * m^d_s mod N
 *   decrypt  server -> device  step "challenge": challenge (32 random bytes)
 *            device -> server  step "request":   c = c' = c0 r^e mod N (the
 *                                                ciphertext c0 blinded by a
 *                                                fresh r), s_u (proof share)
 *            server -> device  step "result":    c_s = c'^d_s mod N
 *
 * A proof share is m'^d_u with m' = EMSA-PKCS1-v1_5-SHA-256 of
 * SHA-256(label || 0x00 || alg || 0x00 || data): label "mkey rsap keygen
 * proof v1" with data = N, or "mkey rsap decrypt proof v1" with data =
 * challenge || c'. The server completes it with its share and checks s^e == m'.
 *
 * m is the EMSA-PKCS1-v1_5 encoding (RFC 8017 §9.2) of the digest; the server
 * rebuilds it from the digest itself, so it knows what it signs, and releases
 * s only after s^e == m. Decryption (RSA-OAEP, SHA-256, MGF1-SHA-256, RFC 8017
 * §7.1.2) is finished on the device: the server answers with c'^d_s only
 * after the device has proven its share by a two-party signature over the
 * fresh challenge bound to c'. The device picks r uniform in [1, N) with
 * gcd(r, N) = 1 for every decryption and unblinds c'^d_u c'^d_s = m r to
 * m = (m r) r^-1 mod N, so the server sees neither the ciphertext (c' is
 * uniform among the units) nor the plaintext.
 *
 * Errors: a wrong device share or a failed proof is MK_EAUTH "device share
 * check failed" (the caller counts it against the PIN); a used or expired
 * server operation is MK_EEXPIRED; a server answer that does not check out on
 * the device is MK_EPROTO; every OAEP padding failure is the one MK_ECRYPTO
 * "decryption failed"; other malformed input is MK_EINVAL; OpenSSL failures
 * MK_ECRYPTO.
 *
 * Messages that this module returns are new references the caller owns;
 * release them with mk_rsap_msg_free, which wipes the strings first (the
 * keygen "share" message carries d_s). Messages passed in are borrowed.
 */
#ifndef MK_CRYPTO_RSAP_H
#define MK_CRYPTO_RSAP_H

#include <jansson.h>
#include <openssl/evp.h>

#include "mkey/mkey.h"
#include "util/buf.h"

#define MK_RSAP_E 65537u
#define MK_RSAP_MAX_BYTES 384        /* k for RSA-3072 */
#define MK_RSAP_DIGEST_BYTES 32      /* SHA-256 and SM3 */
#define MK_RSAP_CHALLENGE_BYTES 32
#define MK_RSAP_OP_TTL 120           /* seconds a server operation lives */
/* Share encoding: magic(4) version(1) alg(1) N(k) share(k). */
#define MK_RSAP_SHARE_MAX (6 + 2 * MK_RSAP_MAX_BYTES)
/* Longest OAEP-SHA-256 plaintext: k - 2*32 - 2 (RFC 8017 §7.1.1). */
#define MK_RSAP_PLAINTEXT_MAX (MK_RSAP_MAX_BYTES - 66)

typedef struct mk_rsap_device mk_rsap_device; /* d_u with (N, e) */
typedef struct mk_rsap_server mk_rsap_server; /* d_s with (N, e) */
typedef struct mk_rsap_devop mk_rsap_devop;   /* device state between request and result */
typedef struct mk_rsap_srvop mk_rsap_srvop;   /* server state of one decryption */

typedef enum mk_rsap_hash {
  MK_RSAP_HASH_SHA256 = 1, /* DigestInfo OID 2.16.840.1.101.3.4.2.1 */
  MK_RSAP_HASH_SM3 = 2,    /* DigestInfo OID 1.2.156.10197.1.401 (GM/T 0004) */
} mk_rsap_hash;

/* ---- keys and shares -------------------------------------------------- */

/*
 * Split an RSA key into the two shares. key (borrowed, may be NULL): an
 * existing two-prime RSA key with e = 65537 and 2048 or 3072 bits, which the
 * caller still owns and must free (its p, q and d stay in it: use this for
 * tests and imports). key NULL: generate a key of `bits` (2048 or 3072) with
 * OpenSSL and free it, so p, q and d exist nowhere once this returns. bits is
 * 0 or the key's size when key is given. p, q, φ and d are wiped here.
 * On success the caller owns *dev and *srv; on failure both are NULL.
 */
int mk_rsap_split(const EVP_PKEY *key, int bits, mk_rsap_device **dev, mk_rsap_server **srv,
                  mk_err *e) MK_MUST_CHECK;

/* Wipe and release; NULL does nothing. */
void mk_rsap_device_free(mk_rsap_device *dev);
void mk_rsap_server_free(mk_rsap_server *srv);

/* 2048 or 3072. */
int mk_rsap_device_bits(const mk_rsap_device *dev);
int mk_rsap_server_bits(const mk_rsap_server *srv);

/* The public key (N, e) as a new EVP_PKEY the caller frees; NULL on failure. */
int mk_rsap_device_public_key(const mk_rsap_device *dev, EVP_PKEY **out, mk_err *e) MK_MUST_CHECK;
int mk_rsap_server_public_key(const mk_rsap_server *srv, EVP_PKEY **out, mk_err *e) MK_MUST_CHECK;
/* Append the DER SubjectPublicKeyInfo of an RSA public key to out (caller's
 * buffer; on failure out is as it was). PEM_write_bio_PUBKEY makes pub.pem. */
int mk_rsap_public_spki(const EVP_PKEY *pub, mk_buf *out, mk_err *e) MK_MUST_CHECK;

/*
 * Versioned binary encodings of the shares, for the key-protection layer to
 * seal (device) or wrap (server): "MKRU" or "MKRS", version 1, alg (1 =
 * rsa2048, 2 = rsa3072), N and the share, each k bytes big-endian. They hold
 * no p, q, φ or d. encode appends to out (caller-owned; it now holds a
 * secret: release it with mk_buf_free_secret). decode is strict (exact
 * length, magic, version, alg, N odd of the exact size, share in 1..N-1) and
 * gives the caller a new *dev / *srv (NULL on failure).
 */
int mk_rsap_device_encode(const mk_rsap_device *dev, mk_buf *out, mk_err *e) MK_MUST_CHECK;
int mk_rsap_device_decode(const unsigned char *in, size_t len, mk_rsap_device **dev,
                          mk_err *e) MK_MUST_CHECK;
int mk_rsap_server_encode(const mk_rsap_server *srv, mk_buf *out, mk_err *e) MK_MUST_CHECK;
int mk_rsap_server_decode(const unsigned char *in, size_t len, mk_rsap_server **srv,
                          mk_err *e) MK_MUST_CHECK;

/* Wipe every string in msg (shares, proofs) and drop the reference; NULL does
 * nothing. Use it for messages received as well as made. */
void mk_rsap_msg_free(json_t *msg);
/* Wipe and release; NULL does nothing. */
void mk_rsap_devop_free(mk_rsap_devop *op);
void mk_rsap_srvop_free(mk_rsap_srvop *op);

/* ---- keygen ----------------------------------------------------------- */

/*
 * Device: generate a key of bits (2048 or 3072), split it, keep d_u in *dev
 * and put d_s into the "share" message *msg for the server, with the
 * device's share of a signature over N that proves the pair. *msg carries a
 * secret: it travels to mkeyd only under TLS, its serialised text is wiped
 * after sending, and it is released with mk_rsap_msg_free. The caller owns
 * *dev and *msg (both NULL on failure).
 */
int mk_rsap_keygen_device(int bits, mk_rsap_device **dev, json_t **msg, mk_err *e) MK_MUST_CHECK;
/* Server: check that d_s completes the device's signature share over N
 * (MK_EAUTH otherwise: a share that does not pair is never stored), take it
 * into a new *srv and answer with the public key it stored ("stored" message
 * *reply). Caller owns both; NULL on failure. */
int mk_rsap_keygen_server(const json_t *msg, mk_rsap_server **srv, json_t **reply,
                          mk_err *e) MK_MUST_CHECK;
/* Device: check that the server stored this key (MK_EPROTO if it names
 * another modulus). */
int mk_rsap_keygen_device_finish(const mk_rsap_device *dev, const json_t *reply,
                                 mk_err *e) MK_MUST_CHECK;

/* ---- sign: PKCS#1 v1.5 (RFC 8017 §8.2, §9.2) -------------------------- */

/*
 * Device: start signing digest (MK_RSAP_DIGEST_BYTES of hash's output).
 * Gives the caller a new *op (keeps m for the final check) and a new
 * "request" message *req; both NULL on failure.
 */
int mk_rsap_sign_device(const mk_rsap_device *dev, mk_rsap_hash hash, const unsigned char *digest,
                        size_t digest_len, mk_rsap_devop **op, json_t **req,
                        mk_err *e) MK_MUST_CHECK;
/* Server: rebuild m from the digest, finish the signature, check s^e == m
 * (MK_EAUTH otherwise) and answer with a new "result" message *resp (caller
 * owns; NULL on failure). No server state: one round trip. */
int mk_rsap_sign_server(const mk_rsap_server *srv, const json_t *req, json_t **resp,
                        mk_err *e) MK_MUST_CHECK;
/* Device: check s^e == m and write the k-byte signature to sig (sig_cap >= k)
 * and its length to *sig_len. op is spent (MK_EEXPIRED on a second use);
 * the caller still frees it. */
int mk_rsap_sign_device_finish(const mk_rsap_device *dev, mk_rsap_devop *op, const json_t *resp,
                               unsigned char *sig, size_t sig_cap, size_t *sig_len,
                               mk_err *e) MK_MUST_CHECK;

/* ---- decrypt: RSA-OAEP SHA-256 / MGF1-SHA-256 (RFC 8017 §7.1.2) -------- */

/*
 * Server: open a decryption with a fresh challenge. *op (caller owns, frees
 * with mk_rsap_srvop_free) is single-use and expires at now + MK_RSAP_OP_TTL;
 * *msg is the "challenge" message. Both NULL on failure.
 */
int mk_rsap_decrypt_challenge(const mk_rsap_server *srv, int64_t now, mk_rsap_srvop **op,
                              json_t **msg, mk_err *e) MK_MUST_CHECK;
/*
 * Device: answer challenge for ciphertext ct (exactly k bytes, value in
 * 1..N-1) with the "request" message *req: the blinded c' = ct r^e mod N for
 * a fresh random r, and the device's share of a signature over the
 * challenge and c'. The caller owns the new *op (keeps c', c'^d_u and r^-1,
 * wiped on free) and *req; both NULL on failure.
 */
int mk_rsap_decrypt_device(const mk_rsap_device *dev, const json_t *challenge,
                           const unsigned char *ct, size_t ct_len, mk_rsap_devop **op,
                           json_t **req, mk_err *e) MK_MUST_CHECK;
/*
 * Server: spend op (MK_EEXPIRED "operation already finished" on a second
 * call, "operation expired" at or after its expiry; either way op stays
 * spent), finish and check the device's proof (MK_EAUTH), then answer with
 * c'^d_s in a new "result" message *resp (caller owns; NULL on failure).
 */
int mk_rsap_decrypt_server(const mk_rsap_server *srv, mk_rsap_srvop *op, int64_t now,
                           const json_t *req, json_t **resp, mk_err *e) MK_MUST_CHECK;
/*
 * Device: combine x = c'^d_u * c'^d_s, check x^e == c' (MK_EPROTO if the
 * server answered wrongly), unblind (x r^-1 mod N; r^-1 is wiped), remove
 * the OAEP padding and write the plaintext to pt
 * (pt_cap bytes, MK_RSAP_PLAINTEXT_MAX always suffices; MK_ETOOBIG if it
 * does not fit) and its length to *pt_len.
 * Every padding failure is MK_ECRYPTO "decryption failed". op is spent.
 */
int mk_rsap_decrypt_device_finish(const mk_rsap_device *dev, mk_rsap_devop *op,
                                  const json_t *resp, unsigned char *pt, size_t pt_cap,
                                  size_t *pt_len, mk_err *e) MK_MUST_CHECK;

/* ---- tests only -------------------------------------------------------- */

/*
 * INSECURE, for known-answer tests and fuzzing: while fn is set, the
 * decryption's random values come from fn instead of OpenSSL's DRBG. fn
 * writes len bytes for `what`: "challenge" (32 bytes, the server's) or "r"
 * (k bytes big-endian, the device's blinding factor; a value outside 1..N-1
 * or not prime to N is drawn again), and returns 1, or 0 to fail the
 * operation (MK_ECRYPTO). Key generation and splitting always use OpenSSL.
 * Not thread-safe; NULL restores the DRBG. Never call it outside tests.
 */
typedef int (*mk_rsap_rng_fn)(void *ctx, const char *what, unsigned char *out, size_t len);
void mk_rsap_insecure_set_test_rng(mk_rsap_rng_fn fn, void *ctx);

#endif
