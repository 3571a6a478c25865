/* pki/crl.c: revocation reasons (RFC 5280 §5.3.1) and CRLs. RSA CRLs are
 * judged by `openssl crl -verify`; SM2 CRLs by mk_pki_verify_crl (OpenSSL
 * 3.0 cannot give a CRL check the signer ID) and their content by
 * `openssl crl -text`. */
#include "mk_test.h"
#include "pki_testca.h"

#include "pki/crl.h"

/* 2027-01-01T00:00:00Z */
#define T0 INT64_C(1798761600)

static const unsigned char serial_a[] = {0x12, 0x34, 0xAB};
static const unsigned char serial_b[] = {0x00, 0x00, 0x7F, 0x01}; /* leading zeros dropped */
static const unsigned char serial_c[] = {0x9A, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
                                         0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE};

static const mk_pki_revoked three[] = {
    {serial_a, sizeof serial_a, T0 - 86400, MK_PKI_REASON_KEY_COMPROMISE},
    {serial_b, sizeof serial_b, T0 - 3600, MK_PKI_REASON_UNSPECIFIED},
    {serial_c, sizeof serial_c, T0 - 60, MK_PKI_REASON_CESSATION_OF_OPERATION},
};

static X509_CRL *crl_from(const unsigned char *der, size_t len) {
  const unsigned char *p = der;
  X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
  assert_non_null(crl);
  assert_ptr_equal(p, der + len);
  return crl;
}

static long crl_number(X509_CRL *crl) {
  ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
  assert_non_null(n);
  long v = ASN1_INTEGER_get(n);
  ASN1_INTEGER_free(n);
  return v;
}

/* ---- reasons ---------------------------------------------------------- */

static void test_reason_names(void **state) {
  (void)state;
  mk_err e;
  mk_pki_reason r;
  static const struct {
    const char *name;
    mk_pki_reason code;
  } allowed[] = {
      {"unspecified", MK_PKI_REASON_UNSPECIFIED},
      {"keyCompromise", MK_PKI_REASON_KEY_COMPROMISE},
      {"cACompromise", MK_PKI_REASON_CA_COMPROMISE},
      {"affiliationChanged", MK_PKI_REASON_AFFILIATION_CHANGED},
      {"superseded", MK_PKI_REASON_SUPERSEDED},
      {"cessationOfOperation", MK_PKI_REASON_CESSATION_OF_OPERATION},
      {"privilegeWithdrawn", MK_PKI_REASON_PRIVILEGE_WITHDRAWN},
  };
  for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
    assert_mk_ok(mk_pki_reason_parse(allowed[i].name, &r, &e));
    assert_int_equal(r, allowed[i].code);
    assert_string_equal(mk_pki_reason_name(r), allowed[i].name);
    assert_int_equal(mk_pki_reason_allowed(r), 1);
  }
  /* ASCII case does not matter ("caCompromise" as people write it) */
  assert_mk_ok(mk_pki_reason_parse("caCompromise", &r, &e));
  assert_int_equal(r, MK_PKI_REASON_CA_COMPROMISE);
  assert_mk_ok(mk_pki_reason_parse("KEYCOMPROMISE", &r, &e));
  assert_int_equal(r, MK_PKI_REASON_KEY_COMPROMISE);

  /* assigned but refused: hold (revocation is final), delta and AA codes */
  r = MK_PKI_REASON_SUPERSEDED;
  assert_mk_fails(mk_pki_reason_parse("certificateHold", &r, &e), MK_EINVAL);
  assert_non_null(strstr(e.msg, "certificateHold"));
  assert_int_equal(r, MK_PKI_REASON_SUPERSEDED);
  assert_mk_fails(mk_pki_reason_parse("removeFromCRL", &r, &e), MK_EINVAL);
  assert_mk_fails(mk_pki_reason_parse("aACompromise", &r, &e), MK_EINVAL);
  assert_string_equal(mk_pki_reason_name(MK_PKI_REASON_CERTIFICATE_HOLD), "certificateHold");
  assert_string_equal(mk_pki_reason_name(MK_PKI_REASON_REMOVE_FROM_CRL), "removeFromCRL");
  assert_string_equal(mk_pki_reason_name(MK_PKI_REASON_AA_COMPROMISE), "aACompromise");
  assert_int_equal(mk_pki_reason_allowed(MK_PKI_REASON_CERTIFICATE_HOLD), 0);

  /* not reason names at all */
  assert_mk_fails(mk_pki_reason_parse("", &r, &e), MK_EINVAL);
  assert_mk_fails(mk_pki_reason_parse(NULL, &r, &e), MK_EINVAL);
  assert_mk_fails(mk_pki_reason_parse("key compromise", &r, &e), MK_EINVAL);
  assert_mk_fails(mk_pki_reason_parse("keyCompromise ", &r, &e), MK_EINVAL);
  assert_mk_fails(mk_pki_reason_parse("1", &r, &e), MK_EINVAL);
  assert_null(mk_pki_reason_name(7)); /* unassigned in RFC 5280 */
  assert_null(mk_pki_reason_name(-1));
  assert_null(mk_pki_reason_name(11));
  assert_int_equal(mk_pki_reason_allowed(7), 0);
}

/* ---- RSA: openssl is the judge ----------------------------------------- */

static void test_crl_rsa_openssl(void **state) {
  (void)state;
  mk_err e;
  mk_pki_ca ca;
  char out[TESTCA_OUT_MAX];
  unsigned char *der = NULL;
  size_t len = 0;
  testca_make(&ca, MK_PKI_RSA, "RSA 测试 CA");
  testca_write_pem("ca.pem", ca.cert);

  assert_mk_ok(mk_pki_crl_build(&ca, three, 3, 1, T0, T0 + 7 * 86400, &der, &len, &e));
  testca_write("1.crl", der, len);
  assert_run_ok(out, "openssl crl -inform DER -in 1.crl -CAfile ca.pem -verify -noout");
  assert_contains(out, "verify OK");
  assert_run_ok(out, "openssl crl -inform DER -in 1.crl -text -noout");
  assert_contains(out, "Version 2 (0x1)");
  assert_contains(out, "sha256WithRSAEncryption");
  assert_contains(out, "Issuer: C = CN, O = mkey");
  assert_contains(out, "Last Update: Jan  1 00:00:00 2027 GMT");
  assert_contains(out, "Next Update: Jan  8 00:00:00 2027 GMT");
  assert_contains(out, "X509v3 CRL Number: \n                1");
  assert_contains(out, "X509v3 Authority Key Identifier:");
  assert_contains(out, "Serial Number: 1234AB");
  assert_contains(out, "Key Compromise");
  assert_contains(out, "Serial Number: 7F01");
  assert_contains(out, "Serial Number: 9A00112233445566778899AABBCCDDEE");
  assert_contains(out, "Cessation Of Operation");
  assert_contains(out, "Revocation Date: Dec 31 00:00:00 2026 GMT");

  /* the unspecified entry carries no reasonCode (RFC 5280 §5.3.1) */
  X509_CRL *crl = crl_from(der, len);
  assert_int_equal(crl_number(crl), 1);
  STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);
  assert_int_equal(sk_X509_REVOKED_num(revs), 3);
  int with_reason = 0;
  for (int i = 0; i < 3; i++) {
    X509_REVOKED *r = sk_X509_REVOKED_value(revs, i);
    ASN1_ENUMERATED *reason = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
    if (ASN1_INTEGER_get(X509_REVOKED_get0_serialNumber(r)) == 0x7F01)
      assert_null(reason);
    else
      with_reason++;
    ASN1_ENUMERATED_free(reason);
  }
  assert_int_equal(with_reason, 2);
  /* the AKI is the CA's SKI */
  AUTHORITY_KEYID *akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
  assert_non_null(akid);
  assert_int_equal(ASN1_OCTET_STRING_cmp(akid->keyid, X509_get0_subject_key_id(ca.cert)), 0);
  AUTHORITY_KEYID_free(akid);
  assert_int_equal(X509_CRL_verify(crl, ca.key), 1);
  X509_CRL_free(crl);
  free(der);

  /* the next CRL: number 2, one more entry, still verifies */
  const unsigned char serial_d[] = {0x01};
  mk_pki_revoked four[4];
  memcpy(four, three, sizeof three);
  four[3] = (mk_pki_revoked){serial_d, 1, T0 + 10, MK_PKI_REASON_SUPERSEDED};
  assert_mk_ok(mk_pki_crl_build(&ca, four, 4, 2, T0 + 3600, T0 + 3600 + 86400, &der, &len, &e));
  testca_write("2.crl", der, len);
  assert_run_ok(out, "openssl crl -inform DER -in 2.crl -CAfile ca.pem -verify -text "
                                   "-noout");
  assert_contains(out, "verify OK");
  assert_contains(out, "X509v3 CRL Number: \n                2");
  assert_contains(out, "Superseded");
  crl = crl_from(der, len);
  assert_int_equal(crl_number(crl), 2);
  assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 4);
  /* entries are sorted by serial */
  assert_int_equal(ASN1_INTEGER_get(X509_REVOKED_get0_serialNumber(
                       sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl), 0))),
                   1);
  X509_CRL_free(crl);
  free(der);

  /* an empty CRL is a CRL too */
  assert_mk_ok(mk_pki_crl_build(&ca, NULL, 0, 3, T0, T0 + 86400, &der, &len, &e));
  testca_write("3.crl", der, len);
  assert_run_ok(out, "openssl crl -inform DER -in 3.crl -CAfile ca.pem -verify -text "
                                   "-noout");
  assert_contains(out, "verify OK");
  assert_contains(out, "No Revoked Certificates.");
  free(der);

  /* a changed CRL fails openssl's check (which still exits 0 in 3.0: the
   * words are the verdict) */
  assert_mk_ok(mk_pki_crl_build(&ca, three, 3, 4, T0, T0 + 86400, &der, &len, &e));
  der[len - 10] ^= 0x01;
  testca_write("4.crl", der, len);
  testca_run(out, "openssl crl -inform DER -in 4.crl -CAfile ca.pem -verify -noout");
  assert_contains(out, "verify failure");
  assert_not_contains(out, "verify OK");
  free(der);

  mk_pki_ca_clear(&ca);
}

/* ---- SM2: our verification, openssl shows the content ------------------ */

static void test_crl_sm2(void **state) {
  (void)state;
  mk_err e;
  mk_pki_ca ca, other;
  char out[TESTCA_OUT_MAX];
  unsigned char *der = NULL;
  size_t len = 0;
  testca_make(&ca, MK_PKI_SM2, "SM2 测试 CA");
  testca_make(&other, MK_PKI_SM2, "SM2 other CA");

  assert_mk_ok(mk_pki_crl_build(&ca, three, 3, 41, T0, T0 + 86400, &der, &len, &e));
  X509_CRL *crl = crl_from(der, len);
  assert_mk_ok(mk_pki_verify_crl(crl, X509_get0_pubkey(ca.cert), &e));
  assert_mk_fails(mk_pki_verify_crl(crl, X509_get0_pubkey(other.cert), &e), MK_ECRYPTO);
  /* OpenSSL 3.0's own check uses the empty ID, so the signer ID is really there */
  assert_int_not_equal(X509_CRL_verify(crl, ca.key), 1);
  ERR_clear_error();
  assert_int_equal(crl_number(crl), 41);
  assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca.cert)), 0);
  X509_CRL_free(crl);

  testca_write("sm2.crl", der, len);
  assert_run_ok(out, "openssl crl -inform DER -in sm2.crl -text -noout");
  assert_contains(out, "Version 2 (0x1)");
  assert_contains(out, "SM2-with-SM3");
  assert_contains(out, "Next Update:");
  assert_contains(out, "X509v3 CRL Number: \n                41");
  assert_contains(out, "Serial Number: 1234AB");
  assert_contains(out, "Key Compromise");
  assert_contains(out, "Cessation Of Operation");

  /* one flipped bit in the signed part and ours refuses it */
  der[40] ^= 0x01;
  const unsigned char *p = der;
  crl = d2i_X509_CRL(NULL, &p, (long)len);
  if (crl != NULL) {
    assert_mk_fails(mk_pki_verify_crl(crl, X509_get0_pubkey(ca.cert), &e), MK_ECRYPTO);
    X509_CRL_free(crl);
  }
  free(der);

  mk_pki_ca_clear(&ca);
  mk_pki_ca_clear(&other);
}

/* ---- what is refused ---------------------------------------------------- */

static void expect_refused(const mk_pki_ca *ca, const mk_pki_revoked *list, size_t n,
                           int64_t this_update, int64_t next_update, int code, const char *words) {
  mk_err e;
  unsigned char *der = (unsigned char *)"x";
  size_t len = 9;
  assert_mk_fails(mk_pki_crl_build(ca, list, n, 5, this_update, next_update, &der, &len, &e), code);
  assert_null(der);
  assert_int_equal(len, 0);
  assert_int_equal(e.code, code);
  if (strstr(e.msg, words) == NULL) {
    print_error("expected \"%s\" in \"%s\"\n", words, e.msg);
    fail();
  }
}

static void test_crl_refuses(void **state) {
  (void)state;
  mk_pki_ca ca, no_crl_sign, mismatched;
  testca_make(&ca, MK_PKI_SM2, "SM2 CA");
  const unsigned char zero[] = {0x00, 0x00};
  unsigned char big[21];
  memset(big, 0x11, sizeof big);
  unsigned char big_padded[21] = {0x00};
  memset(big_padded + 1, 0xFF, 20);

  mk_pki_revoked one = {serial_a, sizeof serial_a, T0, MK_PKI_REASON_KEY_COMPROMISE};
  expect_refused(&ca, &one, 1, T0, T0, MK_EINVAL, "nextUpdate");
  expect_refused(&ca, &one, 1, T0, T0 - 1, MK_EINVAL, "nextUpdate");
  expect_refused(&ca, &one, 1, -1, T0, MK_EINVAL, "thisUpdate");
  expect_refused(&ca, &one, 1, T0, INT64_C(253402300800), MK_EINVAL, "nextUpdate");
  expect_refused(&ca, NULL, 1, T0, T0 + 1, MK_EINVAL, "no list");

  mk_pki_revoked bad = one;
  bad.serial = zero;
  bad.serial_len = sizeof zero;
  expect_refused(&ca, &bad, 1, T0, T0 + 1, MK_EINVAL, "positive");
  bad.serial_len = 0;
  expect_refused(&ca, &bad, 1, T0, T0 + 1, MK_EINVAL, "positive");
  bad.serial = NULL;
  expect_refused(&ca, &bad, 1, T0, T0 + 1, MK_EINVAL, "no serial");
  bad.serial = big;
  bad.serial_len = sizeof big;
  expect_refused(&ca, &bad, 1, T0, T0 + 1, MK_EINVAL, "20 octets");
  bad = one;
  bad.reason = MK_PKI_REASON_CERTIFICATE_HOLD;
  expect_refused(&ca, &bad, 1, T0, T0 + 1, MK_EINVAL, "reason 6");
  bad.reason = (mk_pki_reason)7;
  expect_refused(&ca, &bad, 1, T0, T0 + 1, MK_EINVAL, "reason 7");
  bad = one;
  bad.revoked_at = -5;
  expect_refused(&ca, &bad, 1, T0, T0 + 1, MK_EINVAL, "revocation date");

  /* the same serial twice, once with leading zeros */
  const unsigned char a_padded[] = {0x00, 0x12, 0x34, 0xAB};
  mk_pki_revoked twice[2] = {one, {a_padded, sizeof a_padded, T0, MK_PKI_REASON_SUPERSEDED}};
  expect_refused(&ca, twice, 2, T0, T0 + 1, MK_EINVAL, "twice");

  /* 20 significant octets after a leading zero are fine */
  mk_err e;
  unsigned char *der = NULL;
  size_t len = 0;
  mk_pki_revoked widest = {big_padded, sizeof big_padded, T0, MK_PKI_REASON_UNSPECIFIED};
  assert_mk_ok(mk_pki_crl_build(&ca, &widest, 1, 1, T0, T0 + 1, &der, &len, &e));
  free(der);

  /* a CA certificate that may not sign CRLs, a key that is not the CA's */
  testca_make_ku(&no_crl_sign, MK_PKI_SM2, "no CRL", "critical,keyCertSign,digitalSignature");
  expect_refused(&no_crl_sign, &one, 1, T0, T0 + 1, MK_EINVAL, "cRLSign");
  testca_make(&mismatched, MK_PKI_SM2, "mismatched");
  EVP_PKEY_free(mismatched.key);
  mismatched.key = testca_key(MK_PKI_SM2);
  expect_refused(&mismatched, &one, 1, T0, T0 + 1, MK_EINVAL, "does not match");
  EVP_PKEY_free(mismatched.key);
  mismatched.key = NULL;
  expect_refused(&mismatched, &one, 1, T0, T0 + 1, MK_EINVAL, "no key");

  mk_pki_ca_clear(&ca);
  mk_pki_ca_clear(&no_crl_sign);
  mk_pki_ca_clear(&mismatched);
}

/* Times after 2049 are GeneralizedTime, before are UTCTime (RFC 5280
 * §5.1.2.4), and the CA's own AKI falls back to the key hash. */
static void test_crl_times_and_aki(void **state) {
  (void)state;
  mk_err e;
  mk_pki_ca ca;
  unsigned char *der = NULL;
  size_t len = 0;
  testca_make(&ca, MK_PKI_SM2, "SM2 CA");
  const int64_t y2050 = INT64_C(2524608000); /* 2050-01-01 */
  mk_pki_revoked one = {serial_a, sizeof serial_a, y2050 + 5, MK_PKI_REASON_KEY_COMPROMISE};
  assert_mk_ok(mk_pki_crl_build(&ca, &one, 1, 1, y2050 - 1, y2050 + 86400, &der, &len, &e));
  X509_CRL *crl = crl_from(der, len);
  assert_int_equal(ASN1_STRING_type(X509_CRL_get0_lastUpdate(crl)), V_ASN1_UTCTIME);
  assert_int_equal(ASN1_STRING_type(X509_CRL_get0_nextUpdate(crl)), V_ASN1_GENERALIZEDTIME);
  X509_REVOKED *r = sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl), 0);
  assert_int_equal(ASN1_STRING_type(X509_REVOKED_get0_revocationDate(r)), V_ASN1_GENERALIZEDTIME);
  X509_CRL_free(crl);
  free(der);

  /* a CA certificate without subjectKeyIdentifier: AKI = SHA-1 of its key */
  X509 *bare = X509_dup(ca.cert);
  X509_EXTENSION_free(X509_delete_ext(bare, X509_get_ext_by_NID(bare, NID_subject_key_identifier, -1)));
  assert_mk_ok(mk_pki_sign_cert(bare, ca.key, &e));
  X509_free(ca.cert);
  ca.cert = bare;
  assert_null(X509_get0_subject_key_id(ca.cert));
  assert_mk_ok(mk_pki_crl_build(&ca, &one, 1, 1, T0, T0 + 86400, &der, &len, &e));
  crl = crl_from(der, len);
  AUTHORITY_KEYID *akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
  assert_non_null(akid);
  unsigned char md[20];
  unsigned int mdlen = 0;
  assert_int_equal(X509_pubkey_digest(ca.cert, EVP_sha1(), md, &mdlen), 1);
  assert_int_equal(ASN1_STRING_length(akid->keyid), 20);
  assert_memory_equal(ASN1_STRING_get0_data(akid->keyid), md, 20);
  AUTHORITY_KEYID_free(akid);
  assert_mk_ok(mk_pki_verify_crl(crl, X509_get0_pubkey(ca.cert), &e));
  X509_CRL_free(crl);
  free(der);
  mk_pki_ca_clear(&ca);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reason_names),
      cmocka_unit_test(test_crl_rsa_openssl),
      cmocka_unit_test(test_crl_sm2),
      cmocka_unit_test(test_crl_refuses),
      cmocka_unit_test(test_crl_times_and_aki),
  };
  return cmocka_run_group_tests(tests, testca_dir_make, testca_dir_remove);
}
