/*
 * Two-party keys, whatever the algorithm: one handle type for a device share
 * and one for a server share over two-party SM2 (crypto/sm2p.h) and mediated
 * RSA (crypto/rsap.h), and "loopback" runners that play both halves of
 * keygen, sign and decrypt in one process. Each message between the halves
 * is serialised to JSON text and parsed back with the same caps as over HTTP,
 * so the keytool and the benchmark exercise the real protocol encoding.
 *
 * Policy (PIN checks, counters, who may ask) is the caller's: these runners
 * only report MK_EAUTH when the server half rejected the device share.
 */
#ifndef MK_CRYPTO_TP_H
#define MK_CRYPTO_TP_H

#include <openssl/evp.h>

#include "mkey/mkey.h"
#include "util/buf.h"

typedef enum mk_tp_alg {
  MK_TP_SM2 = 1,     /* two-party SM2, SM3, signer ID 1234567812345678 */
  MK_TP_RSA2048 = 2, /* mediated RSA, PKCS#1 v1.5 SHA-256 / OAEP SHA-256 */
  MK_TP_RSA3072 = 3,
} mk_tp_alg;

#define MK_TP_SIG_MAX 384          /* RSA-3072 signature; SM2 DER is <= 72 */
#define MK_TP_MSG_MAX (4u << 20)   /* one protocol message as text */
#define MK_TP_SHARE_MAX 1024       /* encoded share of any algorithm */

typedef struct mk_tp_device mk_tp_device;
typedef struct mk_tp_server mk_tp_server;

/* "sm2", "rsa2048", "rsa3072" <-> enum. */
int mk_tp_alg_parse(const char *name, mk_tp_alg *out, mk_err *e) MK_MUST_CHECK;
const char *mk_tp_alg_name(mk_tp_alg alg);

mk_tp_alg mk_tp_device_alg(const mk_tp_device *d);
mk_tp_alg mk_tp_server_alg(const mk_tp_server *s);
void mk_tp_device_free(mk_tp_device *d);
void mk_tp_server_free(mk_tp_server *s);

/* Shares as bytes: a one-byte algorithm tag, then the algorithm's own
 * versioned encoding. out is a secret buffer the caller frees with
 * mk_buf_free. Decoders are strict. */
int mk_tp_device_encode(const mk_tp_device *d, mk_buf *out, mk_err *e) MK_MUST_CHECK;
int mk_tp_device_decode(const unsigned char *in, size_t len, mk_tp_device **out,
                        mk_err *e) MK_MUST_CHECK;
int mk_tp_server_encode(const mk_tp_server *s, mk_buf *out, mk_err *e) MK_MUST_CHECK;
int mk_tp_server_decode(const unsigned char *in, size_t len, mk_tp_server **out,
                        mk_err *e) MK_MUST_CHECK;

/* The public key as SubjectPublicKeyInfo PEM text (caller frees). */
int mk_tp_public_pem(const mk_tp_device *d, char **pem, mk_err *e) MK_MUST_CHECK;
/* 1 when device and server shares belong to the same public key. */
int mk_tp_same_key(const mk_tp_device *d, const mk_tp_server *s);

/* Loopback runners: both halves here, every message through JSON text.
 * now is the server's clock (Unix seconds). */
int mk_tp_loop_keygen(mk_tp_alg alg, mk_tp_device **dev, mk_tp_server **srv,
                      mk_err *e) MK_MUST_CHECK;
/* SM2: signature over msg with the default signer ID (DER); RSA: PKCS#1 v1.5
 * over SHA-256(msg). */
int mk_tp_loop_sign(const mk_tp_device *dev, const mk_tp_server *srv, const void *msg,
                    size_t len, int64_t now, unsigned char sig[MK_TP_SIG_MAX], size_t *siglen,
                    mk_err *e) MK_MUST_CHECK;
/* SM2: GM/T 0009 DER ciphertext; RSA: OAEP-SHA-256 ciphertext. pt is
 * initialised here as a secret buffer; the caller frees it. */
int mk_tp_loop_decrypt(const mk_tp_device *dev, const mk_tp_server *srv, const unsigned char *ct,
                       size_t len, int64_t now, mk_buf *pt, mk_err *e) MK_MUST_CHECK;

#endif
