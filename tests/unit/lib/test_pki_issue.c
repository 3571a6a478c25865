/* pki/csr.c and pki/issue.c: CSRs made by the stock openssl command are
 * accepted as proof of possession, broken ones and SM2 CSRs signed with the
 * empty signer ID are refused; every profile issues certificates that
 * `openssl verify` accepts (SM2 with -vfyopt distid:1234567812345678, RSA
 * plain) and whose subject and extensions `openssl x509 -text` shows; keys,
 * profiles, subject fields and validity outside the rules are refused. */
#include "mk_test.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/kek.h"
#include "pki/ca.h"
#include "pki/csr.h"
#include "pki/issue.h"

#define BASE "http://127.0.0.1:8080"
#define ID1 "330402199003071237"   /* INTEROP.md test data */
#define ID2 "320602198506154565"
#define USCC1 "91330402MA2B3C4D53"
#define PERSON "张三"
#define PERSON2 "阿依古丽·买买提"
#define ENTERPRISE "嘉兴示例建设工程有限公司"

static char dir[64];
static int64_t now;
static mk_pki_ca sm2_root, sm2_ca, rsa_root, rsa_ca;
static EVP_PKEY *sm2_key, *rsa_key; /* subject keys */

static int setup(void **state) {
  (void)state;
  mk_err e;
  snprintf(dir, sizeof dir, "/tmp/mkey-pki-issue-XXXXXX");
  if (mkdtemp(dir) == NULL)
    return -1;
  now = (int64_t)time(NULL);
  if (mk_pki_ca_create_hierarchy(MK_PKI_SM2, "ca_sm2", "mkey 沙箱 SM2 CA", BASE, now, &sm2_root, &sm2_ca, &e) < 0 ||
      mk_pki_ca_create_hierarchy(MK_PKI_RSA, "ca_rsa", "mkey 沙箱 RSA CA", BASE, now, &rsa_root, &rsa_ca, &e) < 0) {
    fprintf(stderr, "%s\n", e.msg);
    return -1;
  }
  sm2_key = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
  rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  return sm2_key != NULL && rsa_key != NULL ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  mk_pki_ca_clear(&sm2_root);
  mk_pki_ca_clear(&sm2_ca);
  mk_pki_ca_clear(&rsa_root);
  mk_pki_ca_clear(&rsa_ca);
  EVP_PKEY_free(sm2_key);
  EVP_PKEY_free(rsa_key);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* ---- helpers --------------------------------------------------------------- */

/* Run a shell command in the test directory; stdout + stderr, exit 0 or not. */
static char *run(const char *cmd, int *ok) {
  char full[1024];
  snprintf(full, sizeof full, "cd '%s' && ( %s ) 2>&1", dir, cmd);
  FILE *p = popen(full, "r");
  assert_non_null(p);
  size_t cap = 1 << 16, n = 0, got;
  char *out = malloc(cap);
  assert_non_null(out);
  while ((got = fread(out + n, 1, cap - 1 - n, p)) > 0)
    n += got;
  out[n] = '\0';
  *ok = pclose(p) == 0;
  return out;
}

static void run_ok(const char *cmd) {
  int ok;
  char *out = run(cmd, &ok);
  if (!ok)
    fprintf(stderr, "%s:\n%s\n", cmd, out);
  free(out);
  assert_true(ok);
}

static unsigned char *read_file(const char *name, size_t *len) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  unsigned char *buf = malloc(1 << 16);
  *len = fread(buf, 1, 1 << 16, f);
  fclose(f);
  return buf;
}

static void write_certs(const char *name, X509 *a, X509 *b, X509 *c) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  X509 *all[] = {a, b, c};
  for (int i = 0; i < 3; i++)
    if (all[i] != NULL)
      assert_int_equal(PEM_write_X509(f, all[i]), 1);
  assert_int_equal(fclose(f), 0);
}

static void assert_contains(const char *hay, const char *needle) {
  if (strstr(hay, needle) == NULL) {
    fprintf(stderr, "expected \"%s\" in:\n%s\n", needle, hay);
    fail();
  }
}

/* A CSR for key signed as OpenSSL would (md; for SM2 the signer ID given,
 * or the empty ID when id is NULL), as DER (caller frees). */
static unsigned char *make_csr(EVP_PKEY *key, const EVP_MD *md, const char *id, size_t *len) {
  X509_REQ *req = X509_REQ_new();
  X509_REQ_set_version(req, X509_REQ_VERSION_1);
  X509_REQ_set_pubkey(req, key);
  X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
                             (const unsigned char *)"ignored by the CA", -1, -1, 0);
  EVP_MD_CTX *mctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(key, NULL);
  if (id != NULL)
    assert_true(EVP_PKEY_CTX_set1_id(pctx, id, strlen(id)) > 0);
  EVP_MD_CTX_set_pkey_ctx(mctx, pctx);
  assert_int_equal(EVP_DigestSignInit(mctx, NULL, md, NULL, key), 1);
  assert_true(X509_REQ_sign_ctx(req, mctx) > 0);
  EVP_MD_CTX_free(mctx);
  EVP_PKEY_CTX_free(pctx);
  unsigned char *der = NULL;
  int n = i2d_X509_REQ(req, &der);
  assert_true(n > 0);
  X509_REQ_free(req);
  *len = (size_t)n;
  return der;
}

static mk_pki_issue_req request(const char *profile, EVP_PKEY *key) {
  mk_pki_issue_req r;
  memset(&r, 0, sizeof r);
  r.profile = profile;
  r.subject_key = key;
  r.days = 730;
  if (strncmp(profile, "personal", 8) == 0 || strncmp(profile, "staff", 5) == 0) {
    r.person_name = PERSON;
    r.id_number = ID1;
  }
  if (strncmp(profile, "enterprise", 10) == 0 || strncmp(profile, "staff", 5) == 0) {
    r.enterprise_name = ENTERPRISE;
    r.uscc = USCC1;
  }
  return r;
}

static const char *entry(X509 *x, int nid, int *type) {
  X509_NAME *n = X509_get_subject_name(x);
  int i = X509_NAME_get_index_by_NID(n, nid, -1);
  if (i < 0)
    return NULL;
  assert_int_equal(X509_NAME_get_index_by_NID(n, nid, i), -1); /* once */
  ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
  *type = ASN1_STRING_type(s);
  return (const char *)ASN1_STRING_get0_data(s);
}

static const char *uri_of(GENERAL_NAME *gn) {
  int type;
  ASN1_IA5STRING *s = GENERAL_NAME_get0_value(gn, &type);
  assert_int_equal(type, GEN_URI);
  return (const char *)ASN1_STRING_get0_data(s);
}

/* ---- CSR ------------------------------------------------------------------ */

static void test_csr_from_openssl(void **state) {
  (void)state;
  mk_err e;
  mk_pki_keytype t;
  X509_REQ *req = NULL;
  size_t len;
  unsigned char *buf;
  run_ok("openssl genpkey -algorithm SM2 -out sm2.key && "
         "openssl req -new -key sm2.key -subj '/CN=ignored' -sm3 -sigopt distid:" MK_PKI_SM2_ID " -out sm2.csr && "
         "openssl req -in sm2.csr -outform DER -out sm2.der && "
         "openssl req -new -key sm2.key -subj '/CN=ignored' -sm3 -out sm2-empty-id.csr && "
         "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key && "
         "openssl req -new -key rsa.key -subj '/CN=ignored' -sha256 -out rsa.csr && "
         "openssl req -in rsa.csr -outform DER -out rsa.der && "
         "openssl req -new -key rsa.key -subj '/CN=ignored' -sha1 -out rsa-sha1.csr");
  const struct {
    const char *file;
    mk_pki_keytype type;
  } good[] = {{"sm2.csr", MK_PKI_SM2}, {"sm2.der", MK_PKI_SM2}, {"rsa.csr", MK_PKI_RSA}, {"rsa.der", MK_PKI_RSA}};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    buf = read_file(good[i].file, &len);
    assert_mk_ok(mk_pki_csr_parse(buf, len, &req, &e));
    assert_mk_ok(mk_pki_csr_key_type(req, &t, &e));
    assert_int_equal(t, good[i].type);
    X509_REQ_free(req);
    free(buf);
  }

  /* OpenSSL 3.0 without -sigopt signs with the empty ID: refused, and the
   * message says why and what to do */
  buf = read_file("sm2-empty-id.csr", &len);
  assert_mk_fails(mk_pki_csr_parse(buf, len, &req, &e), MK_EINVAL);
  assert_null(req);
  assert_contains(e.msg, "empty SM2 signer ID");
  assert_contains(e.msg, "distid:1234567812345678");
  free(buf);

  buf = read_file("rsa-sha1.csr", &len);
  assert_mk_fails(mk_pki_csr_parse(buf, len, &req, &e), MK_EINVAL);
  assert_contains(e.msg, "sha256WithRSAEncryption");
  free(buf);

  /* PEM: white space around it is fine, other text and a second CSR not */
  buf = read_file("sm2.csr", &len);
  char *pem = malloc(2 * len + 16);
  size_t n = (size_t)sprintf(pem, " \r\n%.*s\n\n", (int)len, (const char *)buf);
  assert_mk_ok(mk_pki_csr_parse((unsigned char *)pem, n, &req, &e));
  X509_REQ_free(req);
  n = (size_t)sprintf(pem, "%.*s%.*s", (int)len, (const char *)buf, (int)len, (const char *)buf);
  assert_mk_fails(mk_pki_csr_parse((unsigned char *)pem, n, &req, &e), MK_EINVAL);
  assert_contains(e.msg, "more than one CSR");
  n = (size_t)sprintf(pem, "%.*sjunk\n", (int)len, (const char *)buf);
  assert_mk_fails(mk_pki_csr_parse((unsigned char *)pem, n, &req, &e), MK_EINVAL);
  n = (size_t)sprintf(pem, "Subject: x\n%.*s", (int)len, (const char *)buf);
  assert_mk_fails(mk_pki_csr_parse((unsigned char *)pem, n, &req, &e), MK_EINVAL);
  /* the older label is accepted */
  char *body = strstr((char *)buf, "\n") + 1;
  char *end = strstr(body, "-----END");
  n = (size_t)sprintf(pem, "-----BEGIN NEW CERTIFICATE REQUEST-----\n%.*s-----END NEW CERTIFICATE REQUEST-----\n",
                      (int)(end - body), body);
  assert_mk_ok(mk_pki_csr_parse((unsigned char *)pem, n, &req, &e));
  X509_REQ_free(req);
  n = (size_t)sprintf(pem, "-----BEGIN CERTIFICATE-----\n%.*s-----END CERTIFICATE-----\n", (int)(end - body), body);
  assert_mk_fails(mk_pki_csr_parse((unsigned char *)pem, n, &req, &e), MK_EINVAL);
  assert_contains(e.msg, "not a CERTIFICATE REQUEST");
  n = (size_t)sprintf(pem, "-----BEGIN CERTIFICATE REQUEST-----\nProc-Type: 4,ENCRYPTED\n\n%.*s-----END CERTIFICATE REQUEST-----\n",
                      (int)(end - body), body);
  assert_mk_fails(mk_pki_csr_parse((unsigned char *)pem, n, &req, &e), MK_EINVAL);
  free(pem);
  free(buf);
}

static void test_csr_bad_signature(void **state) {
  (void)state;
  mk_err e;
  X509_REQ *req = NULL;
  size_t len;
  unsigned char *der = make_csr(sm2_key, EVP_sm3(), MK_PKI_SM2_ID, &len);
  assert_mk_ok(mk_pki_csr_parse(der, len, &req, &e));
  X509_REQ_free(req);
  /* the last bytes are the signature's s */
  der[len - 1] ^= 0x01;
  assert_mk_fails(mk_pki_csr_parse(der, len, &req, &e), MK_EINVAL);
  assert_null(req);
  assert_string_equal(e.msg, "CSR signature does not verify (SM2 CSRs must use the signer ID 1234567812345678)");
  OPENSSL_free(der);

  /* another ID than the standard one or the empty one */
  der = make_csr(sm2_key, EVP_sm3(), "ALICE123@YAHOO.COM", &len);
  assert_mk_fails(mk_pki_csr_parse(der, len, &req, &e), MK_EINVAL);
  assert_contains(e.msg, "CSR signature does not verify");
  OPENSSL_free(der);

  /* the empty ID, signed in-process */
  der = make_csr(sm2_key, EVP_sm3(), NULL, &len);
  assert_mk_fails(mk_pki_csr_parse(der, len, &req, &e), MK_EINVAL);
  assert_contains(e.msg, "empty SM2 signer ID");
  OPENSSL_free(der);

  der = make_csr(rsa_key, EVP_sha256(), NULL, &len);
  assert_mk_ok(mk_pki_csr_parse(der, len, &req, &e));
  X509_REQ_free(req);
  der[len - 1] ^= 0x01;
  assert_mk_fails(mk_pki_csr_parse(der, len, &req, &e), MK_EINVAL);
  assert_string_equal(e.msg, "CSR signature does not verify");
  OPENSSL_free(der);
}

static void test_csr_malformed(void **state) {
  (void)state;
  mk_err e;
  X509_REQ *req = NULL;
  size_t len;
  unsigned char *der = make_csr(sm2_key, EVP_sm3(), MK_PKI_SM2_ID, &len);

  assert_mk_fails(mk_pki_csr_parse(der, 0, &req, &e), MK_EINVAL);
  assert_contains(e.msg, "empty");
  assert_mk_fails(mk_pki_csr_parse(NULL, 10, &req, &e), MK_EINVAL);
  assert_mk_fails(mk_pki_csr_parse(der, len, NULL, &e), MK_EINVAL);
  for (size_t cut = 1; cut < len; cut += 7)
    assert_mk_fails(mk_pki_csr_parse(der, len - cut, &req, &e), MK_EINVAL);

  unsigned char *big = calloc(1, MK_PKI_CSR_MAX + 2);
  memcpy(big, der, len);
  assert_mk_fails(mk_pki_csr_parse(big, len + 1, &req, &e), MK_EINVAL); /* one trailing byte */
  assert_contains(e.msg, "followed by 1 more bytes");
  assert_mk_fails(mk_pki_csr_parse(big, MK_PKI_CSR_MAX + 1, &req, &e), MK_ETOOBIG);
  memset(big, ' ', MK_PKI_CSR_MAX);
  memcpy(big + MK_PKI_CSR_MAX - len, der, len);
  assert_mk_fails(mk_pki_csr_parse(big, MK_PKI_CSR_MAX, &req, &e), MK_EINVAL); /* not PEM, not DER */
  free(big);
  assert_mk_fails(mk_pki_csr_parse((const unsigned char *)"hello", 5, &req, &e), MK_EINVAL);
  assert_null(req);
  OPENSSL_free(der);

  /* keys mkey does not certify */
  EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  der = make_csr(p256, EVP_sha256(), NULL, &len);
  assert_mk_fails(mk_pki_csr_parse(der, len, &req, &e), MK_EINVAL);
  assert_contains(e.msg, "the CSR's key");
  OPENSSL_free(der);
  EVP_PKEY_free(p256);
  EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
  der = make_csr(small, EVP_sha256(), NULL, &len);
  assert_mk_fails(mk_pki_csr_parse(der, len, &req, &e), MK_EINVAL);
  assert_contains(e.msg, "2048");
  OPENSSL_free(der);
  EVP_PKEY_free(small);
}

/* The fuzz seeds are made by the openssl command (see their names); each
 * is accepted or refused as its name says. */
static void test_csr_corpus(void **state) {
  (void)state;
  const char *src = getenv("MKEY_SOURCE_DIR");
  if (src == NULL)
    skip();
  const struct {
    const char *file;
    int rc;
    const char *msg;
  } seeds[] = {
      {"sm2.pem", 0, NULL},
      {"sm2.der", 0, NULL},
      {"rsa.pem", 0, NULL},
      {"rsa.der", 0, NULL},
      {"new_label.pem", 0, NULL},
      {"pem_space_around.pem", 0, NULL},
      {"sm2_empty_id.pem", MK_EINVAL, "empty SM2 signer ID"},
      {"sm2_other_id.pem", MK_EINVAL, "must use the signer ID " MK_PKI_SM2_ID},
      {"sm2_bad_sig.der", MK_EINVAL, "CSR signature does not verify"},
      {"rsa_bad_sig.der", MK_EINVAL, "CSR signature does not verify"},
      {"rsa_sha1.pem", MK_EINVAL, "sha256WithRSAEncryption"},
      {"rsa_1024.pem", MK_EINVAL, "2048"},
      {"p256.pem", MK_EINVAL, "neither SM2 nor RSA"},
      {"sm2_trailing_byte.der", MK_EINVAL, "followed by 1 more bytes"},
      {"sm2_truncated.der", MK_EINVAL, "neither PEM nor"},
      {"sm2_version2.der", MK_EINVAL, "version"},
      {"two_csrs.pem", MK_EINVAL, "more than one CSR"},
      {"pem_text_after.pem", MK_EINVAL, "more than one CSR"},
      {"pem_unterminated.pem", MK_EINVAL, "not well-formed PEM"},
      {"certificate_label.pem", MK_EINVAL, "not a CERTIFICATE REQUEST"},
      {"encrypted_header.pem", MK_EINVAL, "headers"},
      {"empty", MK_EINVAL, "empty"},
      {"text", MK_EINVAL, "neither PEM nor"},
      {"oversize", MK_ETOOBIG, "over 16384 bytes"},
  };
  for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
    char path[512];
    snprintf(path, sizeof path, "%s/tests/fuzz/corpus/csr/%s", src, seeds[i].file);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *buf = malloc(1 << 16);
    size_t len = fread(buf, 1, 1 << 16, f);
    fclose(f);
    mk_err e;
    mk_err_clear(&e);
    X509_REQ *req = NULL;
    int rc = mk_pki_csr_parse(buf, len, &req, &e);
    if (rc != seeds[i].rc || (seeds[i].msg != NULL && strstr(e.msg, seeds[i].msg) == NULL)) {
      fprintf(stderr, "%s: %d %s\n", seeds[i].file, rc, e.msg);
      fail();
    }
    assert_true((req != NULL) == (rc == 0));
    X509_REQ_free(req);
    free(buf);
  }
}

/* ---- issuance -------------------------------------------------------------- */

static const char *const profiles[] = {"personal-sign", "personal-enc",  "enterprise-sign",
                                       "enterprise-enc", "staff-sign", "staff-enc"};

static void issue_every_profile(mk_pki_ca *root, mk_pki_ca *ca) {
  mk_err e;
  mk_pki_keytype t = ca->type;
  EVP_PKEY *subject = t == MK_PKI_SM2 ? EVP_PKEY_Q_keygen(NULL, NULL, "SM2")
                                      : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  /* the phone's way in: a CSR, whose key alone is used */
  size_t len;
  unsigned char *der = make_csr(subject, t == MK_PKI_SM2 ? EVP_sm3() : EVP_sha256(),
                                t == MK_PKI_SM2 ? MK_PKI_SM2_ID : NULL, &len);
  X509_REQ *csr = NULL;
  assert_mk_ok(mk_pki_csr_parse(der, len, &csr, &e));
  OPENSSL_free(der);
  write_certs("chain.pem", ca->cert, root->cert, NULL);
  write_certs("root.pem", root->cert, NULL, NULL);
  write_certs("issuing.pem", ca->cert, NULL, NULL);
  int ok;
  char *out = run(t == MK_PKI_SM2 ? "openssl verify -vfyopt distid:" MK_PKI_SM2_ID " -CAfile root.pem issuing.pem"
                                  : "openssl verify -CAfile root.pem issuing.pem",
                  &ok);
  assert_contains(out, "issuing.pem: OK");
  assert_true(ok);
  free(out);

  for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++) {
    const char *p = profiles[i];
    int enc = strstr(p, "-enc") != NULL;
    int person = strncmp(p, "enterprise", 10) != 0;
    int enterprise = strncmp(p, "personal", 8) != 0;
    mk_pki_issue_req r = request(p, X509_REQ_get0_pubkey(csr));
    X509 *x = NULL;
    assert_mk_ok(mk_pki_issue(ca, &r, now, &x, &e));
    assert_non_null(x);

    /* signature, issuer, key */
    assert_mk_ok(mk_pki_verify_cert(x, X509_get0_pubkey(ca->cert), &e));
    assert_int_equal(X509_check_issued(ca->cert, x), X509_V_OK);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), subject), 1);
    assert_int_equal(X509_get_signature_nid(x), t == MK_PKI_SM2 ? NID_SM2_with_SM3 : NID_sha256WithRSAEncryption);
    assert_int_equal(X509_get_version(x), X509_VERSION_3);

    /* serial: positive, at most 127 bits */
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    assert_false(BN_is_negative(bn));
    assert_false(BN_is_zero(bn));
    assert_true(BN_num_bits(bn) <= 127);
    BN_free(bn);

    /* validity */
    int64_t nb, na;
    assert_mk_ok(mk_pki_time_unix(X509_get0_notBefore(x), &nb, &e));
    assert_mk_ok(mk_pki_time_unix(X509_get0_notAfter(x), &na, &e));
    assert_int_equal(nb, now);
    assert_int_equal(na, now + 730 * 86400);

    /* subject */
    int type;
    const char *v = entry(x, NID_countryName, &type);
    assert_string_equal(v, "CN");
    assert_int_equal(type, V_ASN1_PRINTABLESTRING);
    v = entry(x, NID_commonName, &type);
    assert_string_equal(v, person ? PERSON : ENTERPRISE);
    assert_int_equal(type, V_ASN1_UTF8STRING);
    v = entry(x, NID_serialNumber, &type);
    if (person) {
      assert_string_equal(v, ID1);
      assert_int_equal(type, V_ASN1_PRINTABLESTRING);
    } else {
      assert_null(v);
    }
    v = entry(x, NID_organizationName, &type);
    if (enterprise) {
      assert_string_equal(v, ENTERPRISE);
      assert_int_equal(type, V_ASN1_UTF8STRING);
      v = entry(x, NID_organizationIdentifier, &type);
      assert_string_equal(v, USCC1);
    } else {
      assert_null(v);
      assert_null(entry(x, NID_organizationIdentifier, &type));
    }

    /* extensions */
    assert_int_equal(X509_check_ca(x), 0);
    int crit = -1;
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
    assert_non_null(bc);
    assert_int_equal(crit, 1);
    assert_int_equal(bc->ca, 0);
    BASIC_CONSTRAINTS_free(bc);
    ASN1_BIT_STRING *ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
    assert_int_equal(crit, 1);
    ASN1_BIT_STRING_free(ku);
    assert_int_equal(X509_get_key_usage(x), enc ? KU_KEY_ENCIPHERMENT | KU_DATA_ENCIPHERMENT
                                                : KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION);
    assert_int_equal(X509_get_extended_key_usage(x), enc ? XKU_SMIME : XKU_SSL_CLIENT | XKU_SMIME);
    assert_non_null(X509_get0_subject_key_id(x));
    assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x), X509_get0_subject_key_id(ca->cert)), 0);
    char crl[MK_PKI_URL_MAX], ocsp[MK_PKI_URL_MAX], chain[MK_PKI_URL_MAX];
    snprintf(crl, sizeof crl, BASE "/v1/cas/%s/crl", ca->id);
    snprintf(ocsp, sizeof ocsp, BASE "/v1/cas/%s/ocsp", ca->id);
    snprintf(chain, sizeof chain, BASE "/v1/cas/%s/chain", ca->id);
    CRL_DIST_POINTS *dps = X509_get_ext_d2i(x, NID_crl_distribution_points, &crit, NULL);
    assert_int_equal(crit, 0);
    assert_int_equal(sk_DIST_POINT_num(dps), 1);
    DIST_POINT *dp = sk_DIST_POINT_value(dps, 0);
    assert_int_equal(dp->distpoint->type, 0);
    assert_string_equal(uri_of(sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0)), crl);
    CRL_DIST_POINTS_free(dps);
    AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(x, NID_info_access, &crit, NULL);
    assert_int_equal(sk_ACCESS_DESCRIPTION_num(aia), 2);
    assert_int_equal(OBJ_obj2nid(sk_ACCESS_DESCRIPTION_value(aia, 0)->method), NID_ad_OCSP);
    assert_string_equal(uri_of(sk_ACCESS_DESCRIPTION_value(aia, 0)->location), ocsp);
    assert_int_equal(OBJ_obj2nid(sk_ACCESS_DESCRIPTION_value(aia, 1)->method), NID_ad_ca_issuers);
    assert_string_equal(uri_of(sk_ACCESS_DESCRIPTION_value(aia, 1)->location), chain);
    AUTHORITY_INFO_ACCESS_free(aia);

    /* the stock openssl command agrees */
    write_certs("leaf.pem", x, NULL, NULL);
    /* OpenSSL 3.0's verify command gives -vfyopt's ID to the target
     * certificate only and checks CA certificates' signatures with the empty
     * ID, so for SM2 the leaf is judged under the trusted issuing CA
     * (-partial_chain), and the issuing CA under the root above. */
    out = run(t == MK_PKI_SM2 ? "openssl verify -vfyopt distid:" MK_PKI_SM2_ID
                                " -partial_chain -CAfile chain.pem leaf.pem"
                              : "openssl verify -CAfile chain.pem leaf.pem",
              &ok);
    assert_contains(out, "leaf.pem: OK");
    assert_true(ok);
    free(out);
    if (t == MK_PKI_SM2) {
      out = run("openssl verify -CAfile chain.pem leaf.pem", &ok);
      assert_false(ok);
      free(out);
    }
    out = run("openssl x509 -in leaf.pem -noout -text -nameopt oneline,-esc_msb", &ok);
    assert_true(ok);
    char line[512];
    if (p[0] == 'p')
      snprintf(line, sizeof line, "Subject: C = CN, CN = %s, serialNumber = %s\n", PERSON, ID1);
    else if (p[0] == 'e')
      snprintf(line, sizeof line, "Subject: C = CN, O = %s, organizationIdentifier = %s, CN = %s\n", ENTERPRISE,
               USCC1, ENTERPRISE);
    else
      snprintf(line, sizeof line, "Subject: C = CN, O = %s, organizationIdentifier = %s, CN = %s, serialNumber = %s\n",
               ENTERPRISE, USCC1, PERSON, ID1);
    assert_contains(out, line);
    assert_contains(out, "X509v3 Basic Constraints: critical\n                CA:FALSE");
    assert_contains(out, enc ? "X509v3 Key Usage: critical\n                Key Encipherment, Data Encipherment"
                             : "X509v3 Key Usage: critical\n                Digital Signature, Non Repudiation");
    assert_contains(out, enc ? "X509v3 Extended Key Usage: \n                E-mail Protection\n"
                             : "X509v3 Extended Key Usage: \n                TLS Web Client Authentication, E-mail Protection");
    assert_contains(out, "X509v3 Subject Key Identifier");
    assert_contains(out, "X509v3 Authority Key Identifier");
    snprintf(line, sizeof line, "Full Name:\n                  URI:%s\n", crl);
    assert_contains(out, line);
    snprintf(line, sizeof line, "OCSP - URI:%s\n", ocsp);
    assert_contains(out, line);
    snprintf(line, sizeof line, "CA Issuers - URI:%s\n", chain);
    assert_contains(out, line);
    free(out);
    X509_free(x);
  }
  X509_REQ_free(csr);
  EVP_PKEY_free(subject);
}

static void test_issue_sm2_profiles(void **state) {
  (void)state;
  issue_every_profile(&sm2_root, &sm2_ca);
}

static void test_issue_rsa_profiles(void **state) {
  (void)state;
  issue_every_profile(&rsa_root, &rsa_ca);
}

static void test_profile_names(void **state) {
  (void)state;
  mk_err e;
  mk_pki_profile p;
  for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++) {
    assert_mk_ok(mk_pki_profile_parse(profiles[i], &p, &e));
    assert_string_equal(mk_pki_profile_name(p), profiles[i]);
  }
  assert_null(mk_pki_profile_name((mk_pki_profile)0));
  assert_null(mk_pki_profile_name((mk_pki_profile)7));
}

static void test_unknown_profile(void **state) {
  (void)state;
  mk_err e;
  X509 *x = NULL;
  const char *bad[] = {"personal", "PERSONAL-SIGN", "personal-sign ", "server", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    mk_pki_issue_req r = request("personal-sign", sm2_key);
    r.profile = bad[i];
    assert_mk_fails(mk_pki_issue(&sm2_ca, &r, now, &x, &e), MK_EINVAL);
    assert_null(x);
  }
  mk_pki_issue_req r = request("personal-sign", sm2_key);
  r.profile = "server-auth";
  assert_mk_fails(mk_pki_issue(&sm2_ca, &r, now, &x, &e), MK_EINVAL);
  assert_contains(e.msg, "unknown certificate profile");
  r.profile = NULL;
  assert_mk_fails(mk_pki_issue(&sm2_ca, &r, now, &x, &e), MK_EINVAL);
  assert_contains(e.msg, "profile is missing");
}

static void test_wrong_key_type(void **state) {
  (void)state;
  mk_err e;
  X509 *x = NULL;
  mk_pki_issue_req r = request("personal-sign", rsa_key);
  assert_mk_fails(mk_pki_issue(&sm2_ca, &r, now, &x, &e), MK_EINVAL);
  assert_string_equal(e.msg, "an RSA key cannot be certified by an SM2 CA");
  r.subject_key = sm2_key;
  assert_mk_fails(mk_pki_issue(&rsa_ca, &r, now, &x, &e), MK_EINVAL);
  assert_string_equal(e.msg, "an SM2 key cannot be certified by an RSA CA");
  EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  r.subject_key = p256;
  assert_mk_fails(mk_pki_issue(&sm2_ca, &r, now, &x, &e), MK_EINVAL);
  assert_contains(e.msg, "the subject's key");
  EVP_PKEY_free(p256);
  r.subject_key = NULL;
  assert_mk_fails(mk_pki_issue(&sm2_ca, &r, now, &x, &e), MK_EINVAL);
  r.subject_key = sm2_ca.key;
  assert_mk_fails(mk_pki_issue(&sm2_ca, &r, now, &x, &e), MK_EINVAL);
  assert_contains(e.msg, "CA's own key");
  assert_null(x);
}

/* Each subject field through its validator, and the message names it. */
static void test_subject_validators(void **state) {
  (void)state;
  mk_err e;
  X509 *x = NULL;
  const struct {
    const char *profile;
    int field; /* 0 person name, 1 ID number, 2 enterprise name, 3 USCC */
    const char *value;
    const char *msg;
  } cases[] = {
      {"personal-sign", 0, NULL, "person name is missing"},
      {"personal-sign", 0, "", "person name is empty"},
      {"personal-sign", 0, " 张三", "person name must not start with a space"},
      {"personal-sign", 0, "张\n三", "person name character 2 is a control character"},
      {"personal-enc", 0, "张\xe2\x80\x8b三", "person name character 2"},
      {"staff-sign", 0, "\xff", "person name is not valid UTF-8"},
      {"personal-sign", 1, NULL, "ID number is missing"},
      {"personal-sign", 1, "330402199003071238", "ID number check character is wrong"},
      {"personal-sign", 1, "33040219900307123x", "upper-case 'X'"},
      {"staff-enc", 1, "33040219900307123", "ID number is too short"},
      {"personal-sign", 1, "330402209901011234", "ID number"},
      {"enterprise-sign", 2, NULL, "enterprise name is missing"},
      {"enterprise-sign", 2, "公司 ", "enterprise name must not end with a space"},
      {"staff-sign", 2, "", "enterprise name is empty"},
      {"enterprise-enc", 3, NULL, "unified social credit code is missing"},
      {"enterprise-sign", 3, "91330402MA2B3C4D54", "unified social credit code"},
      {"staff-enc", 3, "91330402ma2b3c4d53", "unified social credit code"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    mk_pki_issue_req r = request(cases[i].profile, sm2_key);
    const char **f[] = {&r.person_name, &r.id_number, &r.enterprise_name, &r.uscc};
    *f[cases[i].field] = cases[i].value;
    mk_err_clear(&e);
    assert_mk_fails(mk_pki_issue(&sm2_ca, &r, now, &x, &e), MK_EINVAL);
    assert_null(x);
    assert_contains(e.msg, cases[i].msg);
    /* personal numbers are never repeated in a message */
    if (cases[i].value != NULL && strlen(cases[i].value) == 18)
      assert_null(strstr(e.msg, cases[i].value));
  }

  /* fields a profile does not name are refused, not ignored */
  mk_pki_issue_req r = request("personal-sign", sm2_key);
  r.enterprise_name = ENTERPRISE;
  assert_mk_fails(mk_pki_issue(&sm2_ca, &r, now, &x, &e), MK_EINVAL);
  assert_contains(e.msg, "personal-sign certificates name no enterprise (enterprise name given)");
  r = request("personal-enc", sm2_key);
  r.uscc = USCC1;
  assert_mk_fails(mk_pki_issue(&sm2_ca, &r, now, &x, &e), MK_EINVAL);
  assert_contains(e.msg, "unified social credit code given");
  r = request("enterprise-sign", sm2_key);
  r.person_name = PERSON;
  assert_mk_fails(mk_pki_issue(&sm2_ca, &r, now, &x, &e), MK_EINVAL);
  assert_contains(e.msg, "enterprise-sign certificates name no person (person name given)");
  r = request("enterprise-enc", sm2_key);
  r.id_number = ID1;
  assert_mk_fails(mk_pki_issue(&sm2_ca, &r, now, &x, &e), MK_EINVAL);
  assert_contains(e.msg, "ID number given");

  /* a minority name with a middle dot and another ID pass */
  r = request("staff-sign", sm2_key);
  r.person_name = PERSON2;
  r.id_number = ID2;
  assert_mk_ok(mk_pki_issue(&sm2_ca, &r, now, &x, &e));
  int type;
  assert_string_equal(entry(x, NID_commonName, &type), PERSON2);
  X509_free(x);
}

static void test_days(void **state) {
  (void)state;
  mk_err e;
  X509 *x = NULL;
  const int bad[] = {364, 1096, 0, -365, 3650};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    mk_pki_issue_req r = request("personal-sign", rsa_key);
    r.days = bad[i];
    assert_mk_fails(mk_pki_issue(&rsa_ca, &r, now, &x, &e), MK_EINVAL);
    assert_contains(e.msg, "validity must be 365 to 1095 days");
    assert_null(x);
  }
  const int good[] = {365, 1095};
  for (size_t i = 0; i < 2; i++) {
    mk_pki_issue_req r = request("personal-sign", rsa_key);
    r.days = good[i];
    assert_mk_ok(mk_pki_issue(&rsa_ca, &r, now, &x, &e));
    int64_t na;
    assert_mk_ok(mk_pki_time_unix(X509_get0_notAfter(x), &na, &e));
    assert_int_equal(na, now + (int64_t)good[i] * 86400);
    X509_free(x);
  }
}

static void test_not_before_and_ca_lifetime(void **state) {
  (void)state;
  mk_err e;
  X509 *x = NULL;
  int64_t nb;
  mk_pki_issue_req r = request("staff-enc", sm2_key);
  /* a renewal that starts when the old certificate ends */
  r.not_before = now + 30 * 86400;
  assert_mk_ok(mk_pki_issue(&sm2_ca, &r, now, &x, &e));
  assert_mk_ok(mk_pki_time_unix(X509_get0_notBefore(x), &nb, &e));
  assert_int_equal(nb, now + 30 * 86400);
  X509_free(x);
  r.not_before = now - 1;
  assert_mk_fails(mk_pki_issue(&sm2_ca, &r, now, &x, &e), MK_EINVAL);
  assert_contains(e.msg, "in the past");
  r.not_before = now + MK_PKI_NOT_BEFORE_AHEAD_MAX + 1;
  assert_mk_fails(mk_pki_issue(&sm2_ca, &r, now, &x, &e), MK_EINVAL);
  assert_contains(e.msg, "ahead");

  /* the CA's own validity bounds what it issues */
  r.not_before = 0;
  int64_t ca_end = now + (int64_t)MK_PKI_ISSUING_DAYS * 86400;
  assert_mk_fails(mk_pki_issue(&sm2_ca, &r, ca_end - 100 * 86400, &x, &e), MK_ECONFLICT);
  assert_contains(e.msg, "would outlive CA ca_sm2");
  r.days = 365;
  assert_mk_ok(mk_pki_issue(&sm2_ca, &r, ca_end - 365 * 86400, &x, &e));
  X509_free(x);
  assert_mk_fails(mk_pki_issue(&sm2_ca, &r, ca_end + 1, &x, &e), MK_EEXPIRED);
  assert_mk_fails(mk_pki_issue(&sm2_ca, &r, now - 1, &x, &e), MK_EEXPIRED);
  assert_null(x);
}

static void test_serials_differ(void **state) {
  (void)state;
  mk_err e;
  enum { N = 24 };
  X509 *x[N];
  for (int i = 0; i < N; i++) {
    mk_pki_issue_req r = request(profiles[i % 6], sm2_key);
    assert_mk_ok(mk_pki_issue(&sm2_ca, &r, now, &x[i], &e));
    for (int j = 0; j < i; j++)
      assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(x[i]), X509_get0_serialNumber(x[j])), 0);
  }
  for (int i = 0; i < N; i++)
    X509_free(x[i]);
}

/* mkeyd's path: the CA comes back from storage and issues; a CA whose key
 * does not match its certificate issues nothing. */
static void test_issue_from_stored_ca(void **state) {
  (void)state;
  mk_err e;
  char path[128];
  snprintf(path, sizeof path, "%s/kek", dir);
  mk_kek *k = NULL;
  assert_mk_ok(mk_kek_file_open(path, 1, &k, &e));
  char *cert, *chain;
  unsigned char *wrapped;
  size_t wlen;
  assert_mk_ok(mk_pki_ca_export(&rsa_ca, k, &cert, &chain, &wrapped, &wlen, &e));
  mk_pki_ca back;
  assert_mk_ok(mk_pki_ca_import("ca_rsa", BASE, cert, chain, k, wrapped, wlen, &back, &e));
  mk_pki_issue_req r = request("enterprise-sign", rsa_key);
  X509 *x = NULL;
  assert_mk_ok(mk_pki_issue(&back, &r, now, &x, &e));
  assert_mk_ok(mk_pki_verify_cert(x, X509_get0_pubkey(rsa_ca.cert), &e));
  X509_free(x);

  EVP_PKEY *wrong = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  EVP_PKEY_free(back.key);
  back.key = wrong;
  assert_mk_fails(mk_pki_issue(&back, &r, now, &x, &e), MK_ECRYPTO);
  assert_contains(e.msg, "does not match its certificate");
  assert_null(x);
  mk_pki_ca_clear(&back);
  free(cert);
  free(chain);
  free(wrapped);
  mk_kek_free(k);

  mk_pki_ca empty;
  memset(&empty, 0, sizeof empty);
  assert_mk_fails(mk_pki_issue(&empty, &r, now, &x, &e), MK_EINVAL);
  assert_mk_fails(mk_pki_issue(&rsa_ca, NULL, now, &x, &e), MK_EINVAL);
  assert_mk_fails(mk_pki_issue(&rsa_ca, &r, now, NULL, &e), MK_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_csr_from_openssl),
      cmocka_unit_test(test_csr_bad_signature),
      cmocka_unit_test(test_csr_malformed),
      cmocka_unit_test(test_csr_corpus),
      cmocka_unit_test(test_issue_sm2_profiles),
      cmocka_unit_test(test_issue_rsa_profiles),
      cmocka_unit_test(test_profile_names),
      cmocka_unit_test(test_unknown_profile),
      cmocka_unit_test(test_wrong_key_type),
      cmocka_unit_test(test_subject_validators),
      cmocka_unit_test(test_days),
      cmocka_unit_test(test_not_before_and_ca_lifetime),
      cmocka_unit_test(test_serials_differ),
      cmocka_unit_test(test_issue_from_stored_ca),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
