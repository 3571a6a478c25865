/* Test CAs and leaf certificates for the CRL and OCSP tests, made with
 * OpenSSL directly and signed through mk_pki_sign_cert (so SM2 carries the
 * signer ID), plus helpers that run the real openssl command in a private
 * temporary directory. Include after mk_test.h. */
#ifndef MK_PKI_TESTCA_H
#define MK_PKI_TESTCA_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki/pki.h"

static inline EVP_PKEY *testca_key(mk_pki_keytype t) {
  EVP_PKEY *k = t == MK_PKI_SM2 ? EVP_PKEY_Q_keygen(NULL, NULL, "SM2")
                                : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  assert_non_null(k);
  return k;
}

static inline void testca_ext(X509 *issuer, X509 *x, int nid, const char *value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
  X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
  assert_non_null(ext);
  assert_int_equal(X509_add_ext(x, ext, -1), 1);
  X509_EXTENSION_free(ext);
}

/* A self-signed CA named cn; key_usage NULL: keyCertSign and cRLSign. */
static inline void testca_make_ku(mk_pki_ca *ca, mk_pki_keytype t, const char *cn,
                                  const char *key_usage) {
  mk_err e;
  memset(ca, 0, sizeof *ca);
  snprintf(ca->id, sizeof ca->id, "ca_test");
  ca->type = t;
  ca->key = testca_key(t);
  X509 *x = X509_new();
  assert_non_null(x);
  X509_set_version(x, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_NAME *n = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(n, "C", MBSTRING_UTF8, (const unsigned char *)"CN", -1, -1, 0);
  X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"mkey 测试", -1, -1, 0);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
  X509_set_issuer_name(x, n);
  X509_gmtime_adj(X509_getm_notBefore(x), -86400);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 3650);
  X509_set_pubkey(x, ca->key);
  testca_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
  testca_ext(x, x, NID_key_usage, key_usage ? key_usage : "critical,keyCertSign,cRLSign");
  testca_ext(x, x, NID_subject_key_identifier, "hash");
  assert_int_equal(mk_pki_sign_cert(x, ca->key, &e), 0);
  ca->cert = x;
  ca->chain = sk_X509_new_null();
  snprintf(ca->base_url, sizeof ca->base_url, "https://mkey.test");
}

static inline void testca_make(mk_pki_ca *ca, mk_pki_keytype t, const char *cn) {
  testca_make_ku(ca, t, cn, NULL);
}

/* A leaf certificate of ca with the given serial (big-endian bytes), an SM2
 * key of its own, and the extensions named (NULL: none beyond key usage). */
static inline X509 *testca_leaf(const mk_pki_ca *ca, const unsigned char *serial, size_t n,
                         const char *eku) {
  mk_err e;
  EVP_PKEY *k = testca_key(MK_PKI_SM2);
  X509 *x = X509_new();
  assert_non_null(x);
  X509_set_version(x, X509_VERSION_3);
  BIGNUM *bn = BN_bin2bn(serial, (int)n, NULL);
  assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
  BN_free(bn);
  X509_set_issuer_name(x, X509_get_subject_name(ca->cert));
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                             (const unsigned char *)"张三", -1, -1, 0);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365);
  X509_set_pubkey(x, k);
  testca_ext(ca->cert, x, NID_key_usage, "critical,digitalSignature");
  if (eku != NULL)
    testca_ext(ca->cert, x, NID_ext_key_usage, eku);
  assert_int_equal(mk_pki_sign_cert(x, ca->key, &e), 0);
  EVP_PKEY_free(k);
  return x;
}

/* ---- files and the openssl command ---------------------------------- */

static char testca_dir[64];

/* Group setup and teardown: one private directory for the whole run,
 * removed even when a test fails. */
static inline int testca_dir_make(void **state) {
  (void)state;
  snprintf(testca_dir, sizeof testca_dir, "/tmp/mk_pki_XXXXXX");
  return mkdtemp(testca_dir) == NULL ? -1 : 0;
}

static inline int testca_dir_remove(void **state) {
  (void)state;
  char cmd[128];
  if (testca_dir[0] == '\0')
    return 0;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", testca_dir);
  int rc = system(cmd);
  testca_dir[0] = '\0';
  return rc == 0 ? 0 : -1;
}

/* Path of name inside the test directory (static buffer, one of four). */
static inline const char *testca_path(const char *name) {
  static char paths[4][256];
  static int next;
  char *p = paths[next++ % 4];
  snprintf(p, 256, "%s/%s", testca_dir, name);
  return p;
}

static inline void testca_write_pem(const char *name, X509 *x) {
  FILE *f = fopen(testca_path(name), "w");
  assert_non_null(f);
  assert_int_equal(PEM_write_X509(f, x), 1);
  fclose(f);
}

static inline void testca_write(const char *name, const unsigned char *p, size_t n) {
  FILE *f = fopen(testca_path(name), "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(p, 1, n, f), n);
  fclose(f);
}

/* Contents of a file in the test directory (caller frees). */
static inline unsigned char *testca_read(const char *name, size_t *n) {
  FILE *f = fopen(testca_path(name), "rb");
  assert_non_null(f);
  unsigned char *buf = malloc(1 << 16);
  assert_non_null(buf);
  *n = fread(buf, 1, 1 << 16, f);
  fclose(f);
  return buf;
}

#define TESTCA_OUT_MAX 65536

/* Run "cd DIR && cmd" in a shell with stderr joined to stdout; the output
 * goes to out (NUL-terminated), the exit status is returned. */
static inline int testca_run(char *out, const char *cmd) {
  char full[2048];
  snprintf(full, sizeof full, "cd '%s' && %s 2>&1", testca_dir, cmd);
  FILE *p = popen(full, "r");
  assert_non_null(p);
  size_t n = fread(out, 1, TESTCA_OUT_MAX - 1, p);
  out[n] = '\0';
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Run cmd and assert it exits 0, printing its output when it does not. */
#define assert_run_ok(out, cmd)                                                \
  do {                                                                         \
    if (testca_run((out), (cmd)) != 0) {                                       \
      print_error("'%s' failed:\n%s\n", (cmd), (out));                         \
      fail();                                                                  \
    }                                                                          \
  } while (0)

/* Assert that text contains needle, printing text when it does not. */
#define assert_contains(text, needle)                                          \
  do {                                                                         \
    if (strstr((text), (needle)) == NULL) {                                    \
      print_error("expected \"%s\" in:\n%s\n", (needle), (text));              \
      fail();                                                                  \
    }                                                                          \
  } while (0)

#define assert_not_contains(text, needle)                                      \
  do {                                                                         \
    if (strstr((text), (needle)) != NULL) {                                    \
      print_error("did not expect \"%s\" in:\n%s\n", (needle), (text));        \
      fail();                                                                  \
    }                                                                          \
  } while (0)

#endif
