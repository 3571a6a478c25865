/*
 * mkey-bench crypto: two-party SM2 and RSA-2048 (both halves in-process,
 * every message through JSON text, as crypto/tp.h runs them) against
 * OpenSSL's own single-key operations measured in the same run.
 * Target (issue 3): two-party SM2 sign >= 0.15x OpenSSL's SM2 sign.
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "crypto/tp.h"
#include "util/time.h"

#define MSG "bench message: a bid file digest would be signed like this"

typedef struct ctx {
  mk_tp_alg alg;
  EVP_PKEY *key;   /* single-key reference */
  mk_tp_device *dev;
  mk_tp_server *srv;
  unsigned char ct_ref[512], ct_tp[512];
  size_t ct_ref_len, ct_tp_len;
} ctx;

static int ossl_sign(void *arg) {
  ctx *c = arg;
  return bench_openssl_sign(c->key, MSG, sizeof MSG - 1);
}

static int tp_sign(void *arg) {
  ctx *c = arg;
  unsigned char sig[MK_TP_SIG_MAX];
  size_t siglen;
  return mk_tp_loop_sign(c->dev, c->srv, MSG, sizeof MSG - 1, mk_time_now(), sig, &siglen, NULL);
}

static EVP_PKEY_CTX *cipher_ctx(ctx *c, EVP_PKEY *k, int enc) {
  EVP_PKEY_CTX *p = EVP_PKEY_CTX_new(k, NULL);
  if (p == NULL || (enc ? EVP_PKEY_encrypt_init(p) : EVP_PKEY_decrypt_init(p)) != 1)
    goto fail;
  if (c->alg != MK_TP_SM2 && (EVP_PKEY_CTX_set_rsa_padding(p, RSA_PKCS1_OAEP_PADDING) != 1 ||
                              EVP_PKEY_CTX_set_rsa_oaep_md(p, EVP_sha256()) != 1 ||
                              EVP_PKEY_CTX_set_rsa_mgf1_md(p, EVP_sha256()) != 1))
    goto fail;
  return p;
fail:
  EVP_PKEY_CTX_free(p);
  return NULL;
}

static int ossl_decrypt(void *arg) {
  ctx *c = arg;
  unsigned char pt[512];
  size_t n = sizeof pt;
  EVP_PKEY_CTX *p = cipher_ctx(c, c->key, 0);
  int ok = p != NULL && EVP_PKEY_decrypt(p, pt, &n, c->ct_ref, c->ct_ref_len) == 1 && n == 32;
  EVP_PKEY_CTX_free(p);
  return ok ? 0 : -1;
}

static int tp_decrypt(void *arg) {
  ctx *c = arg;
  mk_buf pt;
  int rc = mk_tp_loop_decrypt(c->dev, c->srv, c->ct_tp, c->ct_tp_len, mk_time_now(), &pt, NULL);
  if (rc == 0) {
    rc = pt.len == 32 ? 0 : -1;
    mk_buf_free(&pt);
  }
  return rc;
}

static int encrypt_to(ctx *c, EVP_PKEY *k, unsigned char *ct, size_t *len) {
  static const unsigned char file_key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  EVP_PKEY_CTX *p = cipher_ctx(c, k, 1);
  *len = 512;
  int ok = p != NULL && EVP_PKEY_encrypt(p, ct, len, file_key, sizeof file_key) == 1;
  EVP_PKEY_CTX_free(p);
  return ok ? 0 : -1;
}

static int setup(ctx *c, mk_tp_alg alg) {
  memset(c, 0, sizeof *c);
  c->alg = alg;
  mk_err e;
  c->key = alg == MK_TP_SM2 ? EVP_PKEY_Q_keygen(NULL, NULL, "SM2")
                            : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  if (c->key == NULL || mk_tp_loop_keygen(alg, &c->dev, &c->srv, &e) < 0) {
    fprintf(stderr, "mkey-bench: key generation failed: %s\n", e.msg);
    return -1;
  }
  char *pem = NULL;
  if (mk_tp_public_pem(c->dev, &pem, &e) < 0)
    return -1;
  BIO *bio = BIO_new_mem_buf(pem, -1);
  EVP_PKEY *pub = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
  BIO_free(bio);
  free(pem);
  int rc = pub != NULL && encrypt_to(c, c->key, c->ct_ref, &c->ct_ref_len) == 0 &&
                   encrypt_to(c, pub, c->ct_tp, &c->ct_tp_len) == 0
               ? 0
               : -1;
  EVP_PKEY_free(pub);
  return rc;
}

static void teardown(ctx *c) {
  EVP_PKEY_free(c->key);
  mk_tp_device_free(c->dev);
  mk_tp_server_free(c->srv);
}

static int measure(const char *alg, ctx *c, double seconds) {
  char name[64], ref[64];
  double r_sign = bench_rate(seconds, ossl_sign, c);
  double t_sign = bench_rate(seconds, tp_sign, c);
  double r_dec = bench_rate(seconds, ossl_decrypt, c);
  double t_dec = bench_rate(seconds, tp_decrypt, c);
  if (r_sign < 0 || t_sign < 0 || r_dec < 0 || t_dec < 0) {
    fprintf(stderr, "mkey-bench: a %s operation failed\n", alg);
    return -1;
  }
  snprintf(name, sizeof name, "two-party %s sign", alg);
  snprintf(ref, sizeof ref, "openssl %s sign", alg);
  bench_report(name, t_sign, ref, r_sign);
  snprintf(name, sizeof name, "two-party %s decrypt", alg);
  snprintf(ref, sizeof ref, "openssl %s decrypt", alg);
  bench_report(name, t_dec, ref, r_dec);
  return 0;
}

int bench_crypto(double seconds) {
  ctx c;
  int rc = 0;
  if (setup(&c, MK_TP_SM2) < 0 || measure("sm2", &c, seconds) < 0)
    rc = 1;
  teardown(&c);
  if (setup(&c, MK_TP_RSA2048) < 0 || measure("rsa2048", &c, seconds) < 0)
    rc = 1;
  teardown(&c);
  return rc;
}
