/*
 * Two-party SM2 (GM/T 0003 curve, SM3): the private key d exists only as a
 * multiplicative split,
 *
 *   d = (d1 * d2)^-1 - 1 mod n,   P = [d]G = [(d1 d2)^-1]G - G,
 *
 * d1 on the device (phone, CLI), d2 on the server (mkeyd), and exists
 * nowhere else, not even during keygen. The device keeps d1 and P only:
 * without P1 = [d1^-1]G it cannot test a guessed d1 offline; the server keeps
 * d2, P1 and P. Every result is an ordinary SM2 signature or plaintext that
 * OpenSSL's single-key code accepts.
 *
 * Each operation is a device half and a server half that exchange only JSON
 * messages (jansson objects), so the same code runs in one process (keytool,
 * tests) and over HTTP:
 *
 *   {"v":1, "alg":"sm2", "op":"keygen"|"sign"|"decrypt", "step":"<name>", ...}
 *
 * Binary fields are base64url without padding: points 65 bytes (04||x||y),
 * scalars 32 bytes big-endian in 1..n-1, e and challenge 32 bytes.
 *
 *   keygen   device -> server  "share":     p1 = [d1^-1]G
 *            server -> device  "stored":    p  = [d2^-1]P1 - G, and a
 *                                           Schnorr proof of x = d2^-1 for
 *                                           P + G = [x]P1 over base P1:
 *                                           proof_r = [k]P1, proof_z = k + c x,
 *                                           c = SM3("mkey-sm2p-keygen-v1" ||
 *                                           P1 || P || proof_r)
 *   sign     device -> server  "request":   e = SM3(Z||M)
 *            server -> device  "commit":    q2 = [w2]P1
 *            device -> server  "response":  q1 = [w1]G, s1 = d1 (r + w1) mod n,
 *                                           r = (e + x(Q1 + Q2)) mod n
 *            server -> device  "result":    sig = DER SEQUENCE{r, s},
 *                                           s = d2 (s1 + w2) - r mod n
 *   decrypt  server -> device  "challenge": challenge (32 random bytes)
 *            device -> server  "request":   t1 = [w]C1, and a Schnorr proof
 *                                           of x = d1^-1 for P1 = [x]G:
 *                                           proof_r = [k]G, proof_z = k + c x,
 *                                           c = SM3("mkey-sm2p-decrypt-v1" ||
 *                                           P1 || proof_r || t1 || challenge)
 *            server -> device  "result":    t2 = [d2^-1]T1
 *
 * The device checks the server's keygen proof ([z]P1 == R + [c](P + G),
 * MK_EPROTO otherwise), so a P whose private key the server alone knows is
 * refused; it keeps neither P1 nor the proof afterwards. In a signature the
 * server commits to Q2 before it sees any nonce of the device, and the
 * device computes r itself from its own e: s1 completes a signature on e
 * and on nothing else (docs/protocol.md §5 says why the server must not see
 * Q1 first).
 *
 * The nonce of a signature is k = w1 + w2 d1^-1 (Q = [k]G); neither side can
 * choose it alone. The server checks [s1]P1 == [r]G + Q1 before it uses d2,
 * so a wrong device share fails there; it then verifies (r, s) against P.
 * Decryption is finished on the device, [w^-1 d1^-1]T2 - C1 = [d]C1, so the
 * plaintext never reaches the server, which answers only after the proof.
 *
 * Errors: a wrong device share or a failed proof is MK_EAUTH "device share
 * check failed" (the caller counts it against the PIN); a finished or
 * expired operation is MK_EEXPIRED; a server answer that does not check out
 * on the device is MK_EPROTO; every decryption failure after the server's
 * answer is the one MK_ECRYPTO "decryption failed"; other malformed input is
 * MK_EINVAL; OpenSSL failures MK_ECRYPTO.
 *
 * Secret BIGNUMs are BN_secure_new + BN_FLG_CONSTTIME and BN_clear_free'd;
 * scalar multiplications by secrets use OpenSSL's constant-time ladder,
 * inverses BN_mod_exp_mont_consttime. Handles are not thread-safe; shares
 * (mk_sm2p_device, mk_sm2p_server) may be shared read-only between threads.
 *
 * Messages that this module returns are new references the caller owns;
 * release them with mk_sm2p_msg_free (or json_decref). Messages passed in are
 * borrowed.
 */
#ifndef MK_CRYPTO_SM2P_H
#define MK_CRYPTO_SM2P_H

#include <jansson.h>
#include <openssl/evp.h>

#include "crypto/ec.h"
#include "crypto/sm3.h"
#include "mkey/mkey.h"
#include "util/buf.h"

#define MK_SM2P_OP_TTL 120           /* seconds a server operation lives */
#define MK_SM2P_CHALLENGE_BYTES 32
#define MK_SM2P_SIG_MAX 72           /* DER SEQUENCE of two 33-byte INTEGERs */
#define MK_SM2P_C2_MAX (1u << 20)    /* bytes of ciphertext (= plaintext) */
#define MK_SM2P_CT_MAX (MK_SM2P_C2_MAX + 128) /* DER ciphertext, with framing */
/* Share encodings, version 1: magic(4) version(1) alg(1) then
 *   device "MKSU": d1(32) P(65)
 *   server "MKSS": d2(32) P1(65) P(65) */
#define MK_SM2P_DEVICE_SHARE_LEN (6 + 32 + 65)
#define MK_SM2P_SERVER_SHARE_LEN (6 + 32 + 65 + 65)

typedef struct mk_sm2p_device mk_sm2p_device;       /* d1 and P */
typedef struct mk_sm2p_server mk_sm2p_server;       /* d2, P1 and P */
typedef struct mk_sm2p_devkeygen mk_sm2p_devkeygen; /* device state during keygen */
typedef struct mk_sm2p_devop mk_sm2p_devop;         /* device state of one sign/decrypt */
typedef struct mk_sm2p_srvop mk_sm2p_srvop;         /* server state of one sign/decrypt */

/* ---- shares and public keys ------------------------------------------- */

/* Wipe and release; NULL does nothing. */
void mk_sm2p_device_free(mk_sm2p_device *dev);
void mk_sm2p_server_free(mk_sm2p_server *srv);
void mk_sm2p_devkeygen_free(mk_sm2p_devkeygen *st);
void mk_sm2p_devop_free(mk_sm2p_devop *op);
void mk_sm2p_srvop_free(mk_sm2p_srvop *op);
/* Wipe every string in msg and drop the reference (strings are wiped only
 * when this is the last reference); NULL does nothing. */
void mk_sm2p_msg_free(json_t *msg);

/* The public key P, uncompressed (04 || x || y). */
void mk_sm2p_device_public(const mk_sm2p_device *dev, unsigned char out[MK_EC_POINT_LEN]);
void mk_sm2p_server_public(const mk_sm2p_server *srv, unsigned char out[MK_EC_POINT_LEN]);
/* The public key P as a new SM2 EVP_PKEY the caller frees (EVP_PKEY_free);
 * NULL on failure. Sign and verify with it after EVP_PKEY_CTX_set1_id. */
int mk_sm2p_device_public_key(const mk_sm2p_device *dev, EVP_PKEY **out, mk_err *e) MK_MUST_CHECK;
int mk_sm2p_server_public_key(const mk_sm2p_server *srv, EVP_PKEY **out, mk_err *e) MK_MUST_CHECK;
/* Append the DER SubjectPublicKeyInfo of pub to out (caller's buffer; on
 * failure out is as it was). PEM_write_bio_PUBKEY makes pub.pem. */
int mk_sm2p_public_spki(const EVP_PKEY *pub, mk_buf *out, mk_err *e) MK_MUST_CHECK;

/*
 * Versioned binary encodings of the shares, for the key-protection layer to
 * seal (device) or wrap (server); layouts above. The device encoding holds
 * neither P1 nor anything of the server's. encode appends to out (caller-
 * owned; it now holds a secret: release it with mk_buf_free_secret). decode
 * is strict: exact length, magic, version, alg 1 (sm2), share in 1..n-1,
 * points on the curve, P != -G; the server decoder also checks P ==
 * [d2^-1]P1 - G, so a damaged server share is refused. The caller owns the
 * new *dev / *srv (NULL on failure).
 */
int mk_sm2p_device_encode(const mk_sm2p_device *dev, mk_buf *out, mk_err *e) MK_MUST_CHECK;
int mk_sm2p_device_decode(const unsigned char *in, size_t len, mk_sm2p_device **dev,
                          mk_err *e) MK_MUST_CHECK;
int mk_sm2p_server_encode(const mk_sm2p_server *srv, mk_buf *out, mk_err *e) MK_MUST_CHECK;
int mk_sm2p_server_decode(const unsigned char *in, size_t len, mk_sm2p_server **srv,
                          mk_err *e) MK_MUST_CHECK;

/* ---- keygen ----------------------------------------------------------- */

/* Device: pick d1 and make the "share" message. The caller owns *st (keeps
 * d1 until finish) and *msg; both NULL on failure. */
int mk_sm2p_keygen_device_begin(mk_sm2p_devkeygen **st, json_t **msg, mk_err *e) MK_MUST_CHECK;
/* Server: validate P1, pick d2 (again while P would be the point at
 * infinity), keep d2, P1 and P in a new *srv and answer with the "stored"
 * message *reply: P and the proof of d2^-1. Caller owns both; NULL on
 * failure. */
int mk_sm2p_keygen_server(const json_t *msg, mk_sm2p_server **srv, json_t **reply,
                          mk_err *e) MK_MUST_CHECK;
/* Device: take P from reply, check the server's proof (MK_EPROTO if it
 * does not check or P = -G) and give the caller a new *dev (d1 and P; NULL
 * on failure). On success st is spent (MK_EEXPIRED on a second use, d1 and
 * P1 wiped); the caller still frees it. */
int mk_sm2p_keygen_device_finish(mk_sm2p_devkeygen *st, const json_t *reply, mk_sm2p_device **dev,
                                 mk_err *e) MK_MUST_CHECK;

/* ---- sign: GM/T 0003.2 §6.1, the server finishes ---------------------- */

/*
 * Device: start signing msg (msglen bytes, may be 0) for the signer ID id
 * (idlen bytes, 0..MK_SM2_ID_MAX; id NULL means MK_SM2_ID_DEFAULT). Gives the
 * caller a new *op (keeps e) and a new "request" message *out; both NULL on
 * failure.
 */
int mk_sm2p_sign_device_begin(const mk_sm2p_device *dev, const unsigned char *id, size_t idlen,
                              const void *msg, size_t msglen, mk_sm2p_devop **op, json_t **out,
                              mk_err *e) MK_MUST_CHECK;
/* The same for a caller that hashed the message itself: digest = SM3(Z || M)
 * with Z from mk_sm2_za over this key (mk_sm2p_device_public). */
int mk_sm2p_sign_device_begin_digest(const mk_sm2p_device *dev,
                                     const unsigned char digest[MK_SM3_LEN], mk_sm2p_devop **op,
                                     json_t **out, mk_err *e) MK_MUST_CHECK;
/* Server: validate the "request", pick w2 and answer with the "commit"
 * message *reply (Q2 = [w2]P1). *op (caller owns, frees with
 * mk_sm2p_srvop_free) is single-use and expires at now + MK_SM2P_OP_TTL.
 * Both NULL on failure. */
int mk_sm2p_sign_server_begin(const mk_sm2p_server *srv, const json_t *in, int64_t now,
                              mk_sm2p_srvop **op, json_t **reply, mk_err *e) MK_MUST_CHECK;
/* Device: draw w1 (again while Q1 + Q2 = O, r = 0 or s1 = 0), compute
 * r = (e + x(Q1 + Q2)) mod n from this op's own e and answer the "commit"
 * with the "response" message *out (Q1 and s1; caller owns; NULL on
 * failure). w1 is wiped before this returns. op answers once, whatever the
 * outcome: a second call fails with MK_EEXPIRED. */
int mk_sm2p_sign_device_respond(const mk_sm2p_device *dev, mk_sm2p_devop *op, const json_t *reply,
                                json_t **out, mk_err *e) MK_MUST_CHECK;
/*
 * Server: spend op (MK_EEXPIRED "operation already finished" on a second
 * call, "operation expired" at or after its expiry; either way op stays
 * spent), compute r from e, Q1 and Q2 (MK_EINVAL if Q = O or r = 0), check
 * [s1]P1 == [r]G + Q1 (MK_EAUTH "device share check failed"), finish s,
 * verify (r, s) against P and answer with the "result" message *reply
 * (caller owns; NULL on failure).
 */
int mk_sm2p_sign_server_finish(const mk_sm2p_server *srv, mk_sm2p_srvop *op, const json_t *in,
                               int64_t now, json_t **reply, mk_err *e) MK_MUST_CHECK;
/* Device: check that the signature carries the r this op computed and
 * verifies against P and e (MK_EPROTO otherwise) and copy its DER to sig,
 * its length to *sig_len. sig_cap must be at least
 * MK_SM2P_SIG_MAX (MK_ETOOBIG before anything is spent). op is spent. */
int mk_sm2p_sign_device_finish(const mk_sm2p_device *dev, mk_sm2p_devop *op, const json_t *reply,
                               unsigned char *sig, size_t sig_cap, size_t *sig_len,
                               mk_err *e) MK_MUST_CHECK;

/* ---- decrypt: GM/T 0003.4 §7.1, finished on the device ---------------- */

/* Server: open a decryption with a fresh challenge. *op (caller owns) is
 * single-use and expires at now + MK_SM2P_OP_TTL; *challenge is the
 * "challenge" message. Both NULL on failure. */
int mk_sm2p_decrypt_server_challenge(const mk_sm2p_server *srv, int64_t now, mk_sm2p_srvop **op,
                                     json_t **challenge, mk_err *e) MK_MUST_CHECK;
/*
 * Device: parse ct (GM/T 0009 DER, at most MK_SM2P_CT_MAX bytes), blind C1
 * and prove d1 for this challenge: the "request" message *out. The caller
 * owns the new *op (keeps w and a copy of the ciphertext, wiped on free) and
 * *out; both NULL on failure.
 */
int mk_sm2p_decrypt_device_begin(const mk_sm2p_device *dev, const unsigned char *ct, size_t ctlen,
                                 const json_t *challenge, mk_sm2p_devop **op, json_t **out,
                                 mk_err *e) MK_MUST_CHECK;
/* Server: spend op (as mk_sm2p_sign_server_finish), check the proof
 * (MK_EAUTH "device share check failed") and answer with the "result"
 * message *reply (caller owns; NULL on failure). */
int mk_sm2p_decrypt_server_finish(const mk_sm2p_server *srv, mk_sm2p_srvop *op, const json_t *in,
                                  int64_t now, json_t **reply, mk_err *e) MK_MUST_CHECK;
/* Length of the plaintext a decrypt op will give (= length of C2); 0 for
 * any other op. */
size_t mk_sm2p_decrypt_plaintext_len(const mk_sm2p_devop *op);
/* Device: finish, check C3 and write the plaintext to pt (pt_cap bytes;
 * MK_ETOOBIG before anything is spent if it does not fit) and its length to
 * *pt_len. Every failure of the KDF or C3 check is MK_ECRYPTO "decryption
 * failed" with pt wiped. op is spent. */
int mk_sm2p_decrypt_device_finish(const mk_sm2p_device *dev, mk_sm2p_devop *op, const json_t *reply,
                                  unsigned char *pt, size_t pt_cap, size_t *pt_len,
                                  mk_err *e) MK_MUST_CHECK;

/* ---- GM/T 0009 ciphertext: SEQUENCE { INTEGER x, INTEGER y,
 *      OCTET STRING C3 (32), OCTET STRING C2 } (DER) --------------------- */

typedef struct mk_sm2p_ct {
  unsigned char c1[MK_EC_POINT_LEN]; /* 04 || x || y, a valid point */
  unsigned char c3[MK_SM3_LEN];
  const unsigned char *c2;           /* borrowed: points into the decoded input */
  size_t c2_len;                     /* 1..MK_SM2P_C2_MAX */
} mk_sm2p_ct;

/* Strict DER (definite minimal lengths, minimal non-negative INTEGERs, no
 * trailing bytes), C1 a valid point, C3 exactly 32 bytes, C2 1..MK_SM2P_C2_MAX
 * bytes. MK_EINVAL otherwise (MK_ETOOBIG for C2 over the cap). */
int mk_sm2p_ct_decode(const unsigned char *in, size_t len, mk_sm2p_ct *out, mk_err *e) MK_MUST_CHECK;
/* Append the DER of ct to out (caller's buffer; on failure as it was). */
int mk_sm2p_ct_encode(const mk_sm2p_ct *ct, mk_buf *out, mk_err *e) MK_MUST_CHECK;

/* ---- tests only -------------------------------------------------------- */

/*
 * INSECURE, for known-answer tests and fuzzing: while fn is set, every
 * random value of this module comes from fn instead of OpenSSL's DRBG. fn
 * writes 32 bytes for `what` ("d1", "d2", "k2", "w1", "w2", "w", "k",
 * "challenge"; k2 is the nonce of the server's keygen proof) and returns
 * 1, or 0 to fail the operation (MK_ECRYPTO). A scalar outside 1..n-1 is
 * drawn again. Not thread-safe; NULL restores the
 * DRBG. Never call it outside tests.
 */
typedef int (*mk_sm2p_rng_fn)(void *ctx, const char *what, unsigned char out[32]);
void mk_sm2p_insecure_set_test_rng(mk_sm2p_rng_fn fn, void *ctx);

/*
 * Split an existing SM2 private key d (borrowed, 1..n-2) into the two
 * shares, for keys made elsewhere (the CA's key-management service,
 * pki/kmc.h): d1 uniform in [1, n-1], d2 = ((1 + d) d1)^-1 mod n, so that
 * d = (d1 d2)^-1 - 1 as after keygen; P = [d]G, P1 = [d1^-1]G. Every call
 * splits afresh: shares of two calls do not combine. The caller still owns
 * and wipes d. On success the caller owns *dev and *srv; on failure both
 * are NULL (MK_EINVAL for d out of range).
 */
int mk_sm2p_split_existing(const BIGNUM *d, mk_sm2p_device **dev, mk_sm2p_server **srv,
                           mk_err *e) MK_MUST_CHECK;

#endif
