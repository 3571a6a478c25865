/*
 * mkey-bench pki: the builtin CA engine in-process (lib/pki, no HTTP, no
 * store): certificates issued per second (mk_pki_issue: build, sign, check
 * the signature) and OCSP responses per second (mk_pki_ocsp_respond: parse a
 * one-CertID request with a nonce, look the serial up, sign), for an SM2 CA
 * and an RSA-3072 CA. The reference is OpenSSL's own signature with the CA's
 * key and algorithm (an EVP_DigestSign loop, what `openssl speed` measures),
 * in the same run, since one CA signature is the floor of either operation.
 */
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "pki/ca.h"
#include "pki/issue.h"
#include "pki/ocsp.h"
#include "util/time.h"

#define TBS "a certificate's to-be-signed bytes are about this long: 600 bytes or so, "

typedef struct ctx {
  mk_pki_keytype type;
  mk_pki_ca ca;
  EVP_PKEY *subject; /* the key certified in the issue loop */
  unsigned char *ocsp_req;
  size_t ocsp_req_len;
  int64_t now;
} ctx;

/* OpenSSL's signature with the CA's key: SM3 + signer ID for SM2, SHA-256
 * PKCS#1 v1.5 for RSA. */
static int ossl_sign(void *arg) {
  ctx *c = arg;
  return bench_openssl_sign(c->ca.key, TBS, sizeof TBS - 1);
}

static int issue(void *arg) {
  ctx *c = arg;
  X509 *x = NULL;
  mk_pki_issue_req req = {.profile = "personal-sign",
                          .subject_key = c->subject,
                          .person_name = "张三",
                          .id_number = "330402199003071237",
                          .days = 365};
  mk_err e;
  int rc = mk_pki_issue(&c->ca, &req, c->now, &x, &e);
  if (rc < 0)
    fprintf(stderr, "mkey-bench: issue: %s\n", e.msg);
  X509_free(x);
  return rc < 0 ? -1 : 0;
}

static int lookup_good(void *arg, const unsigned char *serial, size_t len, mk_pki_cert_status *st) {
  (void)arg;
  (void)serial;
  (void)len;
  st->state = MK_PKI_CERT_GOOD;
  return 0;
}

static int ocsp(void *arg) {
  ctx *c = arg;
  unsigned char *der = NULL;
  size_t len = 0;
  mk_err e;
  int rc = mk_pki_ocsp_respond(&c->ca, NULL, c->ocsp_req, c->ocsp_req_len, lookup_good, NULL,
                               c->now, &der, &len, &e);
  free(der);
  if (rc != 0)
    fprintf(stderr, "mkey-bench: ocsp: %d %s\n", rc, e.msg);
  return rc == 0 ? 0 : -1;
}

/* A DER request as `openssl ocsp` sends it: one CertID (SHA-1) for a
 * random serial of this CA, and a 16-byte nonce. */
static int make_ocsp_request(ctx *c) {
  unsigned char sn[16];
  ASN1_INTEGER *serial = NULL;
  BIGNUM *bn = NULL;
  OCSP_REQUEST *req = OCSP_REQUEST_new();
  OCSP_CERTID *id = NULL;
  int ok = req != NULL && RAND_bytes(sn, sizeof sn) == 1;
  sn[0] &= 0x7f;
  ok = ok && (bn = BN_bin2bn(sn, sizeof sn, NULL)) != NULL &&
       (serial = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
       (id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(c->ca.cert),
                              X509_get0_pubkey_bitstr(c->ca.cert), serial)) != NULL &&
       OCSP_request_add0_id(req, id) != NULL;
  if (!ok)
    OCSP_CERTID_free(id);
  ok = ok && OCSP_request_add1_nonce(req, NULL, 16) == 1;
  unsigned char *der = NULL;
  int n = ok ? i2d_OCSP_REQUEST(req, &der) : -1;
  if (n > 0) {
    c->ocsp_req = malloc((size_t)n);
    if (c->ocsp_req != NULL) {
      memcpy(c->ocsp_req, der, (size_t)n);
      c->ocsp_req_len = (size_t)n;
    }
  }
  OPENSSL_free(der);
  OCSP_REQUEST_free(req);
  ASN1_INTEGER_free(serial);
  BN_free(bn);
  return c->ocsp_req != NULL ? 0 : -1;
}

static int setup(ctx *c, mk_pki_keytype type) {
  mk_err e;
  memset(c, 0, sizeof *c);
  c->type = type;
  c->now = mk_time_now();
  if (mk_pki_ca_create_hierarchy(type, type == MK_PKI_SM2 ? "ca_bench_sm2" : "ca_bench_rsa",
                                 "mkey bench CA", "http://127.0.0.1:8080", c->now, NULL, &c->ca,
                                 &e) < 0) {
    fprintf(stderr, "mkey-bench: CA: %s\n", e.msg);
    return -1;
  }
  c->subject = type == MK_PKI_SM2 ? EVP_PKEY_Q_keygen(NULL, NULL, "SM2")
                                  : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  if (c->subject == NULL || make_ocsp_request(c) < 0) {
    fprintf(stderr, "mkey-bench: setup failed\n");
    return -1;
  }
  return 0;
}

static void teardown(ctx *c) {
  mk_pki_ca_clear(&c->ca);
  EVP_PKEY_free(c->subject);
  free(c->ocsp_req);
}

static int measure(const char *alg, ctx *c, double seconds) {
  char name[64], ref[64];
  double r_sign = bench_rate(seconds, ossl_sign, c);
  double t_issue = bench_rate(seconds, issue, c);
  double t_ocsp = bench_rate(seconds, ocsp, c);
  if (r_sign < 0 || t_issue < 0 || t_ocsp < 0) {
    fprintf(stderr, "mkey-bench: a %s CA operation failed\n", alg);
    return -1;
  }
  snprintf(ref, sizeof ref, "openssl %s sign", alg);
  snprintf(name, sizeof name, "issue certificate, %s CA", alg);
  bench_report(name, t_issue, ref, r_sign);
  snprintf(name, sizeof name, "OCSP response, %s CA", alg);
  bench_report(name, t_ocsp, ref, r_sign);
  return 0;
}

int bench_pki(double seconds) {
  ctx c;
  int rc = 0;
  if (setup(&c, MK_PKI_SM2) < 0 || measure("sm2", &c, seconds) < 0)
    rc = 1;
  teardown(&c);
  if (setup(&c, MK_PKI_RSA) < 0 || measure("rsa3072", &c, seconds) < 0)
    rc = 1;
  teardown(&c);
  return rc;
}
