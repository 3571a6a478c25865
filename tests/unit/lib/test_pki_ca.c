/* pki/ca.c: SM2 and RSA hierarchies (root + issuing CA) whose certificates
 * the stock openssl command accepts, with the extensions RFC 5280 asks of
 * CA certificates; the CA at rest (PEM + KEK-wrapped PKCS#8) round-trips,
 * and import refuses another KEK, another CA's blob, a key that does not
 * match, and a chain that does not link. */
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

#define BASE "https://mkey.example.test:8443"
#define SM2_NAME "mkey 沙箱 SM2 CA"
#define RSA_NAME "mkey 沙箱 RSA CA"

static char dir[64];
static int64_t now;

/* One SM2 and one RSA hierarchy for the whole file: RSA-3072 keys take a
 * while to generate. */
static mk_pki_ca sm2_root, sm2_iss, rsa_root, rsa_iss;

static int setup(void **state) {
  (void)state;
  mk_err e;
  snprintf(dir, sizeof dir, "/tmp/mkey-pki-ca-XXXXXX");
  if (mkdtemp(dir) == NULL)
    return -1;
  now = (int64_t)time(NULL);
  if (mk_pki_ca_create_hierarchy(MK_PKI_SM2, "ca_sm2", SM2_NAME, BASE, now, &sm2_root, &sm2_iss, &e) < 0 ||
      mk_pki_ca_create_hierarchy(MK_PKI_RSA, "ca_rsa", RSA_NAME, BASE, now, &rsa_root, &rsa_iss, &e) < 0) {
    fprintf(stderr, "%s\n", e.msg);
    return -1;
  }
  return 0;
}

static int teardown(void **state) {
  (void)state;
  mk_pki_ca_clear(&sm2_root);
  mk_pki_ca_clear(&sm2_iss);
  mk_pki_ca_clear(&rsa_root);
  mk_pki_ca_clear(&rsa_iss);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static void path_of(const char *name, char *out, size_t cap) {
  snprintf(out, cap, "%s/%s", dir, name);
}

static void write_cert(const char *name, X509 *x) {
  char path[128];
  path_of(name, path, sizeof path);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(PEM_write_X509(f, x), 1);
  assert_int_equal(fclose(f), 0);
}

/* Run a shell command; its stdout and stderr, and whether it exited 0. */
static char *run(const char *cmd, int *ok) {
  char full[1024];
  snprintf(full, sizeof full, "cd '%s' && ( %s ) 2>&1", dir, cmd);
  FILE *p = popen(full, "r");
  assert_non_null(p);
  size_t cap = 1 << 16, n = 0;
  char *out = malloc(cap);
  assert_non_null(out);
  size_t got;
  while ((got = fread(out + n, 1, cap - 1 - n, p)) > 0)
    n += got;
  out[n] = '\0';
  int status = pclose(p);
  *ok = status == 0;
  return out;
}

static void assert_contains(const char *hay, const char *needle) {
  if (strstr(hay, needle) == NULL) {
    fprintf(stderr, "expected \"%s\" in:\n%s\n", needle, hay);
    fail();
  }
}

static void assert_serial_ok(X509 *x) {
  BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
  assert_non_null(bn);
  assert_false(BN_is_negative(bn));
  assert_false(BN_is_zero(bn));
  assert_true(BN_num_bits(bn) <= 127);
  BN_free(bn);
}

static void assert_basic_constraints(X509 *x, int ca, long pathlen) {
  int crit = -1;
  BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
  assert_non_null(bc);
  assert_int_equal(crit, 1);
  assert_int_equal(bc->ca != 0, ca);
  if (pathlen < 0)
    assert_null(bc->pathlen);
  else
    assert_int_equal(ASN1_INTEGER_get(bc->pathlen), pathlen);
  BASIC_CONSTRAINTS_free(bc);
}

static void assert_validity(X509 *x, int64_t from, int64_t days) {
  mk_err e;
  int64_t nb, na;
  assert_mk_ok(mk_pki_time_unix(X509_get0_notBefore(x), &nb, &e));
  assert_mk_ok(mk_pki_time_unix(X509_get0_notAfter(x), &na, &e));
  assert_int_equal(nb, from);
  assert_int_equal(na, from + days * 86400);
}

static void check_hierarchy(mk_pki_ca *root, mk_pki_ca *iss, mk_pki_keytype t, const char *id,
                            const char *name) {
  mk_err e;
  assert_string_equal(iss->id, id);
  assert_string_equal(root->id, id);
  assert_string_equal(iss->base_url, BASE);
  assert_int_equal(iss->type, t);
  assert_int_equal(root->type, t);
  assert_int_equal(sk_X509_num(root->chain), 0);
  assert_int_equal(sk_X509_num(iss->chain), 1);
  assert_int_equal(X509_cmp(sk_X509_value(iss->chain, 0), root->cert), 0);
  if (t == MK_PKI_RSA) {
    assert_int_equal(EVP_PKEY_get_bits(root->key), MK_PKI_CA_RSA_BITS);
    assert_int_equal(EVP_PKEY_get_bits(iss->key), MK_PKI_CA_RSA_BITS);
    assert_int_equal(X509_get_signature_nid(iss->cert), NID_sha256WithRSAEncryption);
  } else {
    assert_true(EVP_PKEY_is_a(iss->key, "SM2"));
    assert_int_equal(X509_get_signature_nid(iss->cert), NID_SM2_with_SM3);
  }

  /* signatures: root by itself, issuing CA by the root, not by itself */
  assert_mk_ok(mk_pki_verify_cert(root->cert, X509_get0_pubkey(root->cert), &e));
  assert_mk_ok(mk_pki_verify_cert(iss->cert, X509_get0_pubkey(root->cert), &e));
  assert_mk_fails(mk_pki_verify_cert(iss->cert, X509_get0_pubkey(iss->cert), &e), MK_ECRYPTO);
  assert_int_equal(X509_check_issued(root->cert, iss->cert), X509_V_OK);
  assert_int_equal(X509_check_issued(root->cert, root->cert), X509_V_OK);

  /* RFC 5280 §4.2.1.9, §4.2.1.3, §4.2.1.2, §4.2.1.1 */
  assert_basic_constraints(root->cert, 1, -1);
  assert_basic_constraints(iss->cert, 1, 0);
  assert_int_equal(X509_get_key_usage(root->cert), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
  assert_int_equal(X509_get_key_usage(iss->cert), KU_DIGITAL_SIGNATURE | KU_KEY_CERT_SIGN | KU_CRL_SIGN);
  assert_true(X509_get_extension_flags(iss->cert) & EXFLAG_KUSAGE);
  const ASN1_OCTET_STRING *root_ski = X509_get0_subject_key_id(root->cert);
  assert_non_null(root_ski);
  assert_non_null(X509_get0_subject_key_id(iss->cert));
  assert_non_null(X509_get0_authority_key_id(iss->cert));
  assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(iss->cert), root_ski), 0);
  assert_null(X509_get0_authority_key_id(root->cert));

  assert_validity(root->cert, now, MK_PKI_ROOT_DAYS);
  assert_validity(iss->cert, now, MK_PKI_ISSUING_DAYS);
  assert_serial_ok(root->cert);
  assert_serial_ok(iss->cert);
  assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(root->cert), X509_get0_serialNumber(iss->cert)), 0);

  /* names: UTF8String for the Chinese text, PrintableString for C */
  X509_NAME *n = X509_get_subject_name(iss->cert);
  X509_NAME_ENTRY *cn = X509_NAME_get_entry(n, X509_NAME_get_index_by_NID(n, NID_commonName, -1));
  assert_int_equal(ASN1_STRING_type(X509_NAME_ENTRY_get_data(cn)), V_ASN1_UTF8STRING);
  assert_string_equal((const char *)ASN1_STRING_get0_data(X509_NAME_ENTRY_get_data(cn)), name);
  X509_NAME_ENTRY *c = X509_NAME_get_entry(n, X509_NAME_get_index_by_NID(n, NID_countryName, -1));
  assert_int_equal(ASN1_STRING_type(X509_NAME_ENTRY_get_data(c)), V_ASN1_PRINTABLESTRING);
  assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(iss->cert), X509_get_subject_name(root->cert)), 0);
  assert_int_not_equal(X509_NAME_cmp(X509_get_subject_name(iss->cert), X509_get_subject_name(root->cert)), 0);

  /* the stock openssl command: the issuing CA verifies under the root */
  int ok;
  write_cert("root.pem", root->cert);
  write_cert("issuing.pem", iss->cert);
  char *out = run(t == MK_PKI_SM2 ? "openssl verify -vfyopt distid:" MK_PKI_SM2_ID " -CAfile root.pem issuing.pem"
                                  : "openssl verify -CAfile root.pem issuing.pem",
                  &ok);
  assert_contains(out, "issuing.pem: OK");
  assert_true(ok);
  free(out);
  if (t == MK_PKI_SM2) {
    /* without the signer ID OpenSSL 3.0 checks with the empty one and fails */
    out = run("openssl verify -CAfile root.pem issuing.pem", &ok);
    assert_false(ok);
    free(out);
  }
  out = run("openssl x509 -in issuing.pem -noout -text -nameopt oneline,-esc_msb", &ok);
  assert_true(ok);
  char line[256];
  snprintf(line, sizeof line, "Subject: C = CN, O = %s, CN = %s\n", name, name);
  assert_contains(out, line);
  snprintf(line, sizeof line, "Issuer: C = CN, O = %s, CN = %s Root\n", name, name);
  assert_contains(out, line);
  assert_contains(out, "X509v3 Basic Constraints: critical\n                CA:TRUE, pathlen:0");
  assert_contains(out, "X509v3 Key Usage: critical\n                Digital Signature, Certificate Sign, CRL Sign");
  assert_contains(out, "X509v3 Subject Key Identifier");
  assert_contains(out, "X509v3 Authority Key Identifier");
  assert_contains(out, t == MK_PKI_SM2 ? "Signature Algorithm: SM2-with-SM3" : "Signature Algorithm: sha256WithRSAEncryption");
  assert_contains(out, t == MK_PKI_SM2 ? "ASN1 OID: SM2" : "Public-Key: (3072 bit)");
  free(out);
}

static void test_sm2_hierarchy(void **state) {
  (void)state;
  check_hierarchy(&sm2_root, &sm2_iss, MK_PKI_SM2, "ca_sm2", SM2_NAME);
}

static void test_rsa_hierarchy(void **state) {
  (void)state;
  check_hierarchy(&rsa_root, &rsa_iss, MK_PKI_RSA, "ca_rsa", RSA_NAME);
}

/* Refused before any key is made. */
static void test_create_refuses(void **state) {
  (void)state;
  mk_err e;
  mk_pki_ca root, iss;
  char long_id[80], long_url[300];
  memset(long_id, 'a', 64);
  long_id[64] = '\0';
  snprintf(long_url, sizeof long_url, "https://%0240d", 0);
  const struct {
    mk_pki_keytype type;
    const char *id, *name, *url, *msg;
    int code;
  } cases[] = {
      {0, "ca_x", SM2_NAME, BASE, "SM2 or RSA", MK_EINVAL},
      {MK_PKI_SM2, "", SM2_NAME, BASE, "CA id is missing", MK_EINVAL},
      {MK_PKI_SM2, NULL, SM2_NAME, BASE, "CA id is missing", MK_EINVAL},
      {MK_PKI_SM2, "ca/x", SM2_NAME, BASE, "CA id character 3", MK_EINVAL},
      {MK_PKI_SM2, "ca x", SM2_NAME, BASE, "CA id character 3", MK_EINVAL},
      {MK_PKI_SM2, long_id, SM2_NAME, BASE, "CA id is too long", MK_EINVAL},
      {MK_PKI_SM2, "ca_x", SM2_NAME, "ftp://x", "http:// or https://", MK_EINVAL},
      {MK_PKI_SM2, "ca_x", SM2_NAME, "https://", "no host", MK_EINVAL},
      {MK_PKI_SM2, "ca_x", SM2_NAME, "https://x/", "must not end with '/'", MK_EINVAL},
      {MK_PKI_SM2, "ca_x", SM2_NAME, "https://x y", "character 10", MK_EINVAL},
      {MK_PKI_SM2, "ca_x", SM2_NAME, "https://x,y", "character 10", MK_EINVAL},
      {MK_PKI_SM2, "ca_x", SM2_NAME, "https://x?a=1", "character 10", MK_EINVAL},
      {MK_PKI_SM2, "ca_x", SM2_NAME, NULL, "base URL is missing", MK_EINVAL},
      {MK_PKI_SM2, "ca_x", SM2_NAME, long_url, "URL of CA ca_x is longer", MK_ETOOBIG},
      {MK_PKI_SM2, "ca_x", "", BASE, "CA name is empty", MK_EINVAL},
      {MK_PKI_SM2, "ca_x", NULL, BASE, "CA name is missing", MK_EINVAL},
      {MK_PKI_SM2, "ca_x", " mkey", BASE, "CA name must not start with a space", MK_EINVAL},
      {MK_PKI_SM2, "ca_x", "mkey\nCA", BASE, "CA name character 5 is a control character", MK_EINVAL},
      {MK_PKI_SM2, "ca_x", "mkey\xe2\x80\xae" "CA", BASE, "CA name character 5", MK_EINVAL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    memset(&root, 0x5a, sizeof root);
    mk_err_clear(&e);
    assert_mk_fails(mk_pki_ca_create_hierarchy(cases[i].type, cases[i].id, cases[i].name, cases[i].url, now,
                                               &root, &iss, &e),
                    cases[i].code);
    assert_contains(e.msg, cases[i].msg);
    assert_null(root.cert);
    assert_null(iss.key);
  }
  assert_mk_fails(mk_pki_ca_create_hierarchy(MK_PKI_SM2, "ca_x", SM2_NAME, BASE, now, &root, NULL, &e),
                  MK_EINVAL);
  assert_mk_fails(mk_pki_ca_create_hierarchy(MK_PKI_SM2, "ca_x", SM2_NAME, BASE, -1, &root, &iss, &e),
                  MK_EINVAL);
  /* a 50-character name fits the CN's 64 with " Root" */
  assert_mk_fails(mk_pki_ca_create_hierarchy(MK_PKI_SM2, "ca_x",
                                             "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十"
                                             "一二三四五六七八九十一二三四五六七八九十一",
                                             BASE, now, &root, &iss, &e),
                  MK_EINVAL);
  assert_contains(e.msg, "CA name is too long");
}

/* Without a place for the root, its key is dropped; the chain still
 * carries the root certificate. */
static void test_create_without_root(void **state) {
  (void)state;
  mk_err e;
  mk_pki_ca iss;
  assert_mk_ok(mk_pki_ca_create_hierarchy(MK_PKI_SM2, "ca_noroot", SM2_NAME, "http://127.0.0.1:8080", now,
                                          NULL, &iss, &e));
  assert_int_equal(sk_X509_num(iss.chain), 1);
  assert_mk_ok(mk_pki_verify_cert(iss.cert, X509_get0_pubkey(sk_X509_value(iss.chain, 0)), &e));
  mk_pki_ca_clear(&iss);
}

static void test_url(void **state) {
  (void)state;
  mk_err e;
  char url[MK_PKI_URL_MAX];
  assert_mk_ok(mk_pki_ca_url(&sm2_iss, "crl", url, &e));
  assert_string_equal(url, BASE "/v1/cas/ca_sm2/crl");
  assert_mk_ok(mk_pki_ca_url(&rsa_iss, "ocsp", url, &e));
  assert_string_equal(url, BASE "/v1/cas/ca_rsa/ocsp");
}

static void test_serial_random(void **state) {
  (void)state;
  mk_err e;
  enum { N = 256 };
  ASN1_INTEGER *s[N];
  for (int i = 0; i < N; i++) {
    assert_mk_ok(mk_pki_serial_random(&s[i], &e));
    BIGNUM *bn = ASN1_INTEGER_to_BN(s[i], NULL);
    assert_false(BN_is_negative(bn));
    assert_false(BN_is_zero(bn));
    assert_true(BN_num_bits(bn) <= 8 * MK_PKI_SERIAL_BYTES - 1);
    BN_free(bn);
    for (int j = 0; j < i; j++)
      assert_int_not_equal(ASN1_INTEGER_cmp(s[i], s[j]), 0);
  }
  for (int i = 0; i < N; i++)
    ASN1_INTEGER_free(s[i]);
}

/* RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
static void test_time(void **state) {
  (void)state;
  mk_err e;
  int64_t t;
  ASN1_TIME *a = ASN1_TIME_new();
  assert_int_equal(ASN1_TIME_set_string(a, "491231235959Z"), 1);
  assert_mk_ok(mk_pki_time_unix(a, &t, &e));
  assert_int_equal(t, 2524607999LL);
  assert_int_equal(ASN1_TIME_set_string(a, "20500101000000Z"), 1);
  assert_mk_ok(mk_pki_time_unix(a, &t, &e));
  assert_int_equal(t, 2524608000LL);
  assert_mk_fails(mk_pki_time_unix(NULL, &t, &e), MK_EINVAL);
  ASN1_TIME_free(a);

  X509 *x = X509_new();
  assert_mk_ok(mk_pki_cert_set_validity(x, 2524607999LL - 86400, 2, &e));
  assert_int_equal(ASN1_STRING_type(X509_get0_notBefore(x)), V_ASN1_UTCTIME);
  assert_int_equal(ASN1_STRING_type(X509_get0_notAfter(x)), V_ASN1_GENERALIZEDTIME);
  assert_mk_fails(mk_pki_cert_set_validity(x, -1, 1, &e), MK_EINVAL);
  assert_mk_fails(mk_pki_cert_set_validity(x, 253402300799LL, 1, &e), MK_EINVAL);
  X509_free(x);
}

/* ---- at rest -------------------------------------------------------------- */

static mk_kek *open_kek(const char *name) {
  char path[128];
  mk_kek *k = NULL;
  mk_err e;
  path_of(name, path, sizeof path);
  assert_mk_ok(mk_kek_file_open(path, 1, &k, &e));
  return k;
}

typedef struct {
  char *cert, *chain;
  unsigned char *key;
  size_t keylen;
} stored;

static void export_ca(const mk_pki_ca *ca, mk_kek *k, stored *s) {
  mk_err e;
  assert_mk_ok(mk_pki_ca_export(ca, k, &s->cert, &s->chain, &s->key, &s->keylen, &e));
}

static void stored_free(stored *s) {
  free(s->cert);
  free(s->chain);
  free(s->key);
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
    n++;
  return n;
}

/* A key that signs what the certificate's public key verifies. */
static void assert_key_signs_for(EVP_PKEY *key, X509 *cert) {
  mk_err e;
  X509 *x = X509_new();
  X509_set_version(x, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_set_issuer_name(x, X509_get_subject_name(cert));
  X509_set_subject_name(x, X509_get_subject_name(cert));
  X509_set_pubkey(x, key);
  assert_mk_ok(mk_pki_cert_set_validity(x, now, 1, &e));
  assert_mk_ok(mk_pki_sign_cert(x, key, &e));
  assert_mk_ok(mk_pki_verify_cert(x, X509_get0_pubkey(cert), &e));
  X509_free(x);
}

static void roundtrip(mk_pki_ca *root, mk_pki_ca *iss) {
  mk_err e;
  mk_kek *k = open_kek("kek");
  stored s;
  export_ca(iss, k, &s);
  assert_int_equal(count(s.cert, "-----BEGIN CERTIFICATE-----"), 1);
  assert_int_equal(count(s.chain, "-----BEGIN CERTIFICATE-----"), 2);
  assert_int_equal(strncmp(s.chain, s.cert, strlen(s.cert)), 0);
  assert_int_equal(memcmp(s.key, "MKWR", 4), 0);

  mk_pki_ca back;
  assert_mk_ok(mk_pki_ca_import(iss->id, iss->base_url, s.cert, s.chain, k, s.key, s.keylen, &back, &e));
  assert_string_equal(back.id, iss->id);
  assert_string_equal(back.base_url, iss->base_url);
  assert_int_equal(back.type, iss->type);
  assert_int_equal(X509_cmp(back.cert, iss->cert), 0);
  assert_int_equal(EVP_PKEY_eq(back.key, iss->key), 1);
  assert_int_equal(sk_X509_num(back.chain), 1);
  assert_int_equal(X509_cmp(sk_X509_value(back.chain, 0), root->cert), 0);
  assert_key_signs_for(back.key, iss->cert);
  mk_pki_ca_clear(&back);

  /* the chain without the CA's own certificate is read the same */
  const char *issuers = s.chain + strlen(s.cert);
  assert_mk_ok(mk_pki_ca_import(iss->id, iss->base_url, s.cert, issuers, k, s.key, s.keylen, &back, &e));
  assert_int_equal(sk_X509_num(back.chain), 1);
  mk_pki_ca_clear(&back);
  stored_free(&s);

  /* a root stands alone */
  export_ca(root, k, &s);
  assert_int_equal(count(s.chain, "-----BEGIN CERTIFICATE-----"), 1);
  assert_mk_ok(mk_pki_ca_import(root->id, root->base_url, s.cert, s.chain, k, s.key, s.keylen, &back, &e));
  assert_int_equal(sk_X509_num(back.chain), 0);
  mk_pki_ca_clear(&back);
  assert_mk_ok(mk_pki_ca_import(root->id, root->base_url, s.cert, NULL, k, s.key, s.keylen, &back, &e));
  mk_pki_ca_clear(&back);
  stored_free(&s);
  mk_kek_free(k);
}

static void test_export_import_sm2(void **state) {
  (void)state;
  roundtrip(&sm2_root, &sm2_iss);
}

static void test_export_import_rsa(void **state) {
  (void)state;
  roundtrip(&rsa_root, &rsa_iss);
}

static void test_import_refuses(void **state) {
  (void)state;
  mk_err e;
  mk_pki_ca back;
  mk_kek *k = open_kek("kek");
  mk_kek *other = open_kek("other-kek");
  stored s, r;
  export_ca(&sm2_iss, k, &s);

  /* another KEK, another CA's label, a changed blob */
  memset(&back, 0x5a, sizeof back);
  assert_mk_fails(mk_pki_ca_import("ca_sm2", BASE, s.cert, s.chain, other, s.key, s.keylen, &back, &e),
                  MK_ECRYPTO);
  assert_contains(e.msg, "cannot unwrap the key of CA ca_sm2");
  assert_null(back.cert);
  assert_null(back.key);
  assert_mk_fails(mk_pki_ca_import("ca_rsa", BASE, s.cert, s.chain, k, s.key, s.keylen, &back, &e),
                  MK_ECRYPTO);
  s.key[s.keylen - 1] ^= 1;
  assert_mk_fails(mk_pki_ca_import("ca_sm2", BASE, s.cert, s.chain, k, s.key, s.keylen, &back, &e),
                  MK_ECRYPTO);
  s.key[s.keylen - 1] ^= 1;
  assert_mk_fails(mk_pki_ca_import("ca_sm2", BASE, s.cert, s.chain, k, s.key, 10, &back, &e), MK_EINVAL);
  assert_mk_fails(mk_pki_ca_import("ca_sm2", BASE, s.cert, s.chain, k, NULL, 0, &back, &e), MK_EINVAL);

  /* the root's key (same CA id, so the label matches) under the issuing
   * CA's certificate */
  export_ca(&sm2_root, k, &r);
  assert_mk_fails(mk_pki_ca_import("ca_sm2", BASE, s.cert, s.chain, k, r.key, r.keylen, &back, &e), MK_EINVAL);
  assert_contains(e.msg, "does not match its certificate");

  /* chains that do not link: the issuing CA alone, or under another root */
  assert_mk_fails(mk_pki_ca_import("ca_sm2", BASE, s.cert, NULL, k, s.key, s.keylen, &back, &e), MK_EINVAL);
  stored t;
  export_ca(&rsa_iss, k, &t);
  assert_mk_fails(mk_pki_ca_import("ca_sm2", BASE, s.cert, t.chain, k, s.key, s.keylen, &back, &e), MK_EINVAL);
  assert_contains(e.msg, "certificate 0 of the chain");
  mk_pki_ca other_root, other_iss;
  assert_mk_ok(mk_pki_ca_create_hierarchy(MK_PKI_SM2, "ca_sm2", SM2_NAME, BASE, now, &other_root, &other_iss, &e));
  stored o;
  export_ca(&other_root, k, &o);
  /* same names, other key: caught by the AKI, then by the signature */
  assert_mk_fails(mk_pki_ca_import("ca_sm2", BASE, s.cert, o.chain, k, s.key, s.keylen, &back, &e), MK_EINVAL);
  stored_free(&o);
  mk_pki_ca_clear(&other_root);
  mk_pki_ca_clear(&other_iss);

  /* malformed PEM inputs; two certificates where one is expected */
  assert_mk_fails(mk_pki_ca_import("ca_sm2", BASE, "", s.chain, k, s.key, s.keylen, &back, &e), MK_EINVAL);
  assert_mk_fails(mk_pki_ca_import("ca_sm2", BASE, NULL, s.chain, k, s.key, s.keylen, &back, &e), MK_EINVAL);
  assert_mk_fails(mk_pki_ca_import("ca_sm2", BASE, s.chain, s.chain, k, s.key, s.keylen, &back, &e), MK_EINVAL);
  assert_contains(e.msg, "exactly one certificate");
  char broken[4096];
  snprintf(broken, sizeof broken, "%.*s", (int)(strlen(s.cert) / 2), s.cert);
  assert_mk_fails(mk_pki_ca_import("ca_sm2", BASE, broken, s.chain, k, s.key, s.keylen, &back, &e), MK_EINVAL);
  assert_mk_fails(mk_pki_ca_import("ca/sm2", BASE, s.cert, s.chain, k, s.key, s.keylen, &back, &e), MK_EINVAL);
  assert_mk_fails(mk_pki_ca_import("ca_sm2", "mkey.example", s.cert, s.chain, k, s.key, s.keylen, &back, &e),
                  MK_EINVAL);
  assert_mk_fails(mk_pki_ca_import("ca_sm2", BASE, s.cert, s.chain, NULL, s.key, s.keylen, &back, &e), MK_EINVAL);
  char *huge = malloc(MK_PKI_PEM_MAX + 2);
  memset(huge, ' ', MK_PKI_PEM_MAX + 1);
  huge[MK_PKI_PEM_MAX + 1] = '\0';
  assert_mk_fails(mk_pki_ca_import("ca_sm2", BASE, s.cert, huge, k, s.key, s.keylen, &back, &e), MK_ETOOBIG);
  free(huge);
  assert_null(back.cert);

  /* export needs a certificate, a key and a KEK */
  char *c1, *c2;
  unsigned char *w;
  size_t wl;
  mk_pki_ca empty;
  memset(&empty, 0, sizeof empty);
  assert_mk_fails(mk_pki_ca_export(&empty, k, &c1, &c2, &w, &wl, &e), MK_EINVAL);
  assert_null(c1);
  assert_null(w);
  assert_mk_fails(mk_pki_ca_export(&sm2_iss, NULL, &c1, &c2, &w, &wl, &e), MK_EINVAL);

  stored_free(&s);
  stored_free(&r);
  stored_free(&t);
  mk_kek_free(k);
  mk_kek_free(other);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sm2_hierarchy),
      cmocka_unit_test(test_rsa_hierarchy),
      cmocka_unit_test(test_create_refuses),
      cmocka_unit_test(test_create_without_root),
      cmocka_unit_test(test_url),
      cmocka_unit_test(test_serial_random),
      cmocka_unit_test(test_time),
      cmocka_unit_test(test_export_import_sm2),
      cmocka_unit_test(test_export_import_rsa),
      cmocka_unit_test(test_import_refuses),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
