/* svc/ca.c without HTTP: sandbox seeding (idempotent), the public list,
 * definitions from a cas_file, issuance with its validators, revocation,
 * CRL numbers and OCSP answers, all against a real SQLite store and KEK. */
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pki/ocsp.h"
#include "pki/pki.h"
#include "svc_fixture.h"

#define BASE_URL "http://127.0.0.1:8080"
#define ID_NUMBER "330402199003071237" /* INTEROP.md: valid GB 11643 check digit */
#define USCC "91330402MA2B3C4D53"     /* INTEROP.md: valid GB 32100 check digit */

/* What the tests here share besides the service fixture. */
static struct {
  char *sm2_csr, *rsa_csr, *bad_csr;
  char serial[64]; /* issued by test_issue, revoked by test_revoke */
} cafx;

/* A CSR for a fresh key: SM2 signed with the standard signer ID (through
 * lib/pki), or RSA-2048. bad flips a byte of the signature. */
static char *make_csr(int sm2, int bad) {
  EVP_PKEY *k = sm2 ? EVP_PKEY_Q_keygen(NULL, NULL, "SM2") : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  X509_REQ *req = X509_REQ_new();
  X509_NAME *n = X509_NAME_new();
  mk_err e = {0};
  assert_non_null(k);
  assert_non_null(req);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"ignored", -1, -1, 0);
  X509_REQ_set_subject_name(req, n);
  X509_REQ_set_pubkey(req, k);
  assert_mk_ok(mk_pki_sign_req(req, k, &e));
  if (bad) {
    const ASN1_BIT_STRING *sig = NULL;
    X509_REQ_get0_signature(req, &sig, NULL);
    ((ASN1_BIT_STRING *)sig)->data[10] ^= 0x01;
  }
  BIO *b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_REQ(b, req);
  char *p = NULL;
  long len = BIO_get_mem_data(b, &p);
  char *out = malloc((size_t)len + 1);
  memcpy(out, p, (size_t)len);
  out[len] = '\0';
  BIO_free(b);
  X509_NAME_free(n);
  X509_REQ_free(req);
  EVP_PKEY_free(k);
  return out;
}

static int setup(void **state) {
  (void)state;
  if (fx_open("ca", FX_KEK, 2) < 0)
    return -1;
  cafx.sm2_csr = make_csr(1, 0);
  cafx.rsa_csr = make_csr(0, 0);
  cafx.bad_csr = make_csr(1, 1);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  free(cafx.sm2_csr);
  free(cafx.rsa_csr);
  free(cafx.bad_csr);
  return fx_teardown(state);
}

static char *chain_of(const char *id) {
  char *pem = NULL;
  size_t len = 0;
  mk_err e = {0};
  assert_mk_ok(mk_svc_ca_chain(&fx.ctx, id, &pem, &len, &e));
  assert_int_equal(strlen(pem), len);
  return pem;
}

static void test_seed_idempotent(void **state) {
  (void)state;
  mk_err e = {0};
  assert_mk_ok(mk_svc_ca_init(&fx.ctx, BASE_URL "/", &e));
  assert_int_equal(fx_count("SELECT COUNT(*) FROM ca"), 4);
  assert_int_equal(
      fx_count("SELECT COUNT(*) FROM ca WHERE origin = 'sandbox' AND key_wrapped IS NOT NULL"), 4);
  char *before = chain_of("ca_sbx_zjca");
  assert_non_null(strstr(before, "-----BEGIN CERTIFICATE-----"));
  /* A second start keeps the keys and certificates, and takes the new URL. */
  assert_mk_ok(mk_svc_ca_init(&fx.ctx, "http://mkey.example.com", &e));
  assert_int_equal(fx_count("SELECT COUNT(*) FROM ca"), 4);
  char *after = chain_of("ca_sbx_zjca");
  assert_string_equal(before, after);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM ca WHERE base_url = 'http://mkey.example.com'"),
                   4);
  free(before);
  free(after);
  assert_mk_ok(mk_svc_ca_init(&fx.ctx, BASE_URL, &e));
  /* Outside sandbox nothing is seeded (and nothing removed). */
  fx.cfg.sandbox = 0;
  assert_mk_ok(mk_svc_ca_init(&fx.ctx, BASE_URL, &e));
  fx.cfg.sandbox = 1;
  assert_int_equal(fx_count("SELECT COUNT(*) FROM ca"), 4);
}

static json_t *find(json_t *items, const char *id) {
  size_t i;
  json_t *v;
  json_array_foreach(items, i, v) if (strcmp(json_string_value(json_object_get(v, "id")), id) == 0) return v;
  return NULL;
}

static void test_list_shape(void **state) {
  (void)state;
  mk_err e = {0};
  json_t *out = NULL;
  assert_mk_ok(mk_svc_ca_list(&fx.ctx, NULL, 100, &out, &e));
  json_t *items = json_object_get(out, "items");
  assert_int_equal(json_array_size(items), 4);
  assert_true(json_is_null(json_object_get(out, "next_cursor")) ||
              json_object_get(out, "next_cursor") == NULL);
  size_t i;
  json_t *v;
  json_array_foreach(items, i, v) {
    const char *keys[] = {"id", "name", "adapter", "key_type", "signature", "validity",
                          "attachments", "review"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
      assert_non_null(json_object_get(v, keys[k]));
    size_t j;
    json_t *o;
    json_array_foreach(json_object_get(v, "validity"), j, o) {
      assert_string_equal(json_string_value(json_object_get(o, "currency")), "CNY");
      assert_true(json_integer_value(json_object_get(o, "fee_fen")) > 0);
      assert_int_equal(json_integer_value(json_object_get(o, "days")),
                       365 * json_integer_value(json_object_get(o, "years")));
    }
    /* nothing private leaves the registry */
    assert_null(json_object_get(v, "cmp"));
    assert_null(json_object_get(v, "key_wrapped"));
  }
  json_t *js = find(items, "ca_sbx_jsca"), *ah = find(items, "ca_sbx_ahca");
  assert_string_equal(json_string_value(json_object_get(js, "key_type")), "rsa");
  assert_string_equal(json_string_value(json_object_get(js, "signature")), "RSA-with-SHA256");
  assert_int_equal(json_array_size(json_object_get(js, "validity")), 2);
  assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(js, "attachments"), 1), "name")),
                      "营业执照副本");
  assert_string_equal(json_string_value(json_object_get(ah, "review")), "auto");
  assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(ah, "attachments"), 1), "name")),
                      "授权委托书");
  assert_int_equal(json_array_size(json_object_get(find(items, "ca_sbx_csj"), "validity")), 3);
  json_decref(out);

  /* pages */
  assert_mk_ok(mk_svc_ca_list(&fx.ctx, NULL, 3, &out, &e));
  assert_int_equal(json_array_size(json_object_get(out, "items")), 3);
  const char *next = json_string_value(json_object_get(out, "next_cursor"));
  assert_non_null(next);
  json_t *rest = NULL;
  assert_mk_ok(mk_svc_ca_list(&fx.ctx, next, 3, &rest, &e));
  assert_int_equal(json_array_size(json_object_get(rest, "items")), 1);
  assert_null(json_string_value(json_object_get(rest, "next_cursor")));
  json_decref(rest);
  json_decref(out);
  assert_mk_fails(mk_svc_ca_list(&fx.ctx, NULL, 0, &out, &e), MK_EINVAL);
  assert_mk_fails(mk_svc_ca_list(&fx.ctx, NULL, 101, &out, &e), MK_EINVAL);
}

static int define(const char *text, mk_err *e) {
  json_t *def = json_loads(text, 0, NULL);
  assert_non_null(def);
  int rc = mk_svc_ca_define(&fx.ctx, def, "config", BASE_URL, e);
  json_decref(def);
  return rc;
}

static void test_definitions(void **state) {
  (void)state;
  mk_err e = {0};
  /* A new builtin CA from config, then updated in place. */
  assert_mk_ok(define("{\"id\":\"ca_own\",\"name\":\"Own CA\",\"adapter\":\"builtin\","
                      "\"key_type\":\"sm2\",\"validity\":[{\"years\":1,\"fee_fen\":100}]}",
                      &e));
  char *first = chain_of("ca_own");
  assert_mk_ok(define("{\"id\":\"ca_own\",\"name\":\"Own CA renamed\",\"adapter\":\"builtin\","
                      "\"key_type\":\"sm2\",\"validity\":[{\"years\":2,\"fee_fen\":200}],"
                      "\"review\":\"auto\"}",
                      &e));
  char *second = chain_of("ca_own");
  assert_string_equal(first, second);
  free(first);
  free(second);
  assert_int_equal(
      fx_count("SELECT COUNT(*) FROM ca WHERE id = 'ca_own' AND name = 'Own CA renamed' "
               "AND origin = 'config'"),
      1);
  /* what cannot change, and what is not a definition */
  assert_mk_fails(define("{\"id\":\"ca_own\",\"name\":\"x\",\"adapter\":\"builtin\","
                         "\"key_type\":\"rsa\",\"validity\":[{\"years\":1,\"fee_fen\":1}]}",
                         &e),
                  MK_ECONFLICT);
  const char *bad[] = {
      "{\"id\":\"own\",\"name\":\"x\",\"adapter\":\"builtin\",\"key_type\":\"sm2\",\"validity\":[{\"years\":1,\"fee_fen\":1}]}",
      "{\"id\":\"ca_Own\",\"name\":\"x\",\"adapter\":\"builtin\",\"key_type\":\"sm2\",\"validity\":[{\"years\":1,\"fee_fen\":1}]}",
      "{\"id\":\"ca_x\",\"name\":\"x\",\"adapter\":\"acme\",\"key_type\":\"sm2\",\"validity\":[{\"years\":1,\"fee_fen\":1}]}",
      "{\"id\":\"ca_x\",\"name\":\"x\",\"adapter\":\"builtin\",\"key_type\":\"ecdsa\",\"validity\":[{\"years\":1,\"fee_fen\":1}]}",
      "{\"id\":\"ca_x\",\"name\":\"x\",\"adapter\":\"builtin\",\"key_type\":\"sm2\",\"validity\":[{\"years\":4,\"fee_fen\":1}]}",
      "{\"id\":\"ca_x\",\"name\":\"x\",\"adapter\":\"builtin\",\"key_type\":\"sm2\",\"validity\":[{\"years\":1,\"fee_fen\":-1}]}",
      "{\"id\":\"ca_x\",\"name\":\"x\",\"adapter\":\"builtin\",\"key_type\":\"sm2\",\"validity\":[{\"years\":1,\"fee_fen\":1},{\"years\":1,\"fee_fen\":2}]}",
      "{\"id\":\"ca_x\",\"name\":\"x\",\"adapter\":\"builtin\",\"key_type\":\"sm2\",\"validity\":[]}",
      "{\"id\":\"ca_x\",\"name\":\"x\",\"adapter\":\"builtin\",\"key_type\":\"sm2\",\"validity\":[{\"years\":1,\"fee_fen\":1}],\"review\":\"maybe\"}",
      "{\"id\":\"ca_x\",\"name\":\"x\",\"adapter\":\"builtin\",\"key_type\":\"sm2\",\"validity\":[{\"years\":1,\"fee_fen\":1}],\"extra\":1}",
      "{\"id\":\"ca_x\",\"name\":\"x\",\"adapter\":\"cmp\",\"key_type\":\"rsa\",\"validity\":[{\"years\":1,\"fee_fen\":1}]}",
      "{\"id\":\"ca_x\",\"name\":\"x\",\"adapter\":\"cmp\",\"key_type\":\"rsa\",\"validity\":[{\"years\":1,\"fee_fen\":1}],"
      "\"cmp\":{\"server\":\"ftp://x\",\"ref\":\"r\",\"secret_file\":\"/s\",\"trusted_cert\":\"/t\"}}",
      "{\"id\":\"ca_x\",\"name\":\"x\",\"adapter\":\"builtin\",\"key_type\":\"sm2\",\"validity\":[{\"years\":1,\"fee_fen\":1}],"
      "\"cmp\":{\"server\":\"http://x\",\"ref\":\"r\",\"secret_file\":\"/s\",\"trusted_cert\":\"/t\"}}",
      "{\"id\":\"ca_x\",\"name\":\"\\u200bx\",\"adapter\":\"builtin\",\"key_type\":\"sm2\",\"validity\":[{\"years\":1,\"fee_fen\":1}]}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    mk_err_clear(&e);
    int rc = define(bad[i], &e);
    if (rc != MK_EINVAL)
      fail_msg("definition %zu: got %d (%s)", i, rc, e.msg);
  }
  assert_int_equal(fx_count("SELECT COUNT(*) FROM ca WHERE id = 'ca_x'"), 0);
  /* cmp: the trusted certificate must be there */
  assert_mk_fails(define("{\"id\":\"ca_x\",\"name\":\"x\",\"adapter\":\"cmp\",\"key_type\":\"rsa\","
                         "\"validity\":[{\"years\":1,\"fee_fen\":1}],\"cmp\":{\"server\":\"http://127.0.0.1:1/pkix/\","
                         "\"ref\":\"r\",\"secret_file\":\"/nonexistent\",\"trusted_cert\":\"/nonexistent\"}}",
                         &e),
                  MK_ENOTFOUND);
}

/* The cas_file setting: a JSON array applied at start; a broken file stops it. */
static void test_cas_file(void **state) {
  (void)state;
  mk_err e = {0};
  char path[128];
  snprintf(path, sizeof path, "%s/cas.json", fx.dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("[{\"id\":\"ca_file\",\"name\":\"File CA\",\"adapter\":\"builtin\",\"key_type\":\"sm2\","
        "\"validity\":[{\"years\":3,\"fee_fen\":1}]}]",
        f);
  fclose(f);
  assert_mk_ok(mk_config_set(&fx.cfg, "cas_file", path, "test", &e));
  assert_mk_ok(mk_svc_ca_init(&fx.ctx, BASE_URL, &e));
  assert_int_equal(fx_count("SELECT COUNT(*) FROM ca WHERE id = 'ca_file'"), 1);
  f = fopen(path, "w");
  fputs("[{\"id\":\"ca_file\"},", f);
  fclose(f);
  assert_mk_fails(mk_svc_ca_init(&fx.ctx, BASE_URL, &e), MK_EINVAL);
  assert_non_null(strstr(e.msg, "cas_file"));
  f = fopen(path, "w");
  fputs("[{\"id\":\"ca_file\",\"name\":\"F\",\"adapter\":\"builtin\",\"key_type\":\"sm2\","
        "\"validity\":[{\"years\":3,\"fee_fen\":1}]},{\"id\":\"ca_file\",\"name\":\"F\","
        "\"adapter\":\"builtin\",\"key_type\":\"sm2\",\"validity\":[{\"years\":3,\"fee_fen\":1}]}]",
        f);
  fclose(f);
  assert_mk_fails(mk_svc_ca_init(&fx.ctx, BASE_URL, &e), MK_EINVAL);
  fx.cfg.cas_file[0] = '\0';
}

static int issue(const char *ca, const char *body_fmt, const char *csr, json_t **out,
                 char *field, mk_err *e) {
  json_t *body = json_loads(body_fmt, 0, NULL);
  assert_non_null(body);
  if (csr != NULL)
    json_object_set_new(body, "csr", json_string(csr));
  field[0] = '\0';
  int rc = mk_svc_ca_issue(&fx.ctx, ca, body, out, field, e);
  json_decref(body);
  return rc;
}

static void test_issue(void **state) {
  (void)state;
  mk_err e = {0};
  json_t *out = NULL;
  char field[MK_JSON_FIELD_MAX];
  assert_mk_ok(issue("ca_sbx_zjca",
                     "{\"profile\":\"personal-sign\",\"name\":\"张三\",\"id_number\":\"" ID_NUMBER
                     "\",\"days\":730}",
                     cafx.sm2_csr, &out, field, &e));
  const char *serial = json_string_value(json_object_get(out, "serial"));
  assert_non_null(serial);
  snprintf(cafx.serial, sizeof cafx.serial, "%s", serial);
  assert_true(strspn(serial, "0123456789abcdef") == strlen(serial));
  assert_non_null(strstr(json_string_value(json_object_get(out, "subject")), "CN=张三"));
  assert_non_null(strstr(json_string_value(json_object_get(out, "certificate")), "BEGIN CERTIFICATE"));
  assert_string_equal(json_string_value(json_object_get(out, "not_after")), "2028-11-29T00:53:20Z");
  json_decref(out);
  assert_int_equal(
      fx_count("SELECT COUNT(*) FROM ca_cert WHERE ca_id = 'ca_sbx_zjca' AND revoked_at IS NULL"),
      1);

  /* RSA CA, staff profile, default days (its first option) */
  assert_mk_ok(issue("ca_sbx_jsca",
                     "{\"profile\":\"staff-enc\",\"name\":\"张三\",\"id_number\":\"" ID_NUMBER
                     "\",\"enterprise\":\"杭州某某科技有限公司\",\"uscc\":\"" USCC "\"}",
                     cafx.rsa_csr, &out, field, &e));
  assert_string_equal(json_string_value(json_object_get(out, "not_after")), "2027-11-30T00:53:20Z");
  json_decref(out);

  /* negatives, each naming its field */
  const struct {
    const char *ca, *body, *csr, *field;
    int code;
  } bad[] = {
      {"ca_sbx_zjca", "{\"profile\":\"personal-sign\",\"name\":\"张三\",\"id_number\":\"" ID_NUMBER "\"}",
       "bad", "csr", MK_EINVAL},
      {"ca_sbx_zjca", "{\"profile\":\"personal-sign\",\"name\":\"张三\",\"id_number\":\"" ID_NUMBER "\"}",
       "BAD", "csr", MK_EINVAL},
      {"ca_sbx_zjca", "{\"profile\":\"personal-sign\",\"name\":\"张三\",\"id_number\":\"" ID_NUMBER "\"}",
       "RSA", "csr", MK_EINVAL},
      {"ca_sbx_jsca", "{\"profile\":\"personal-sign\",\"name\":\"张三\",\"id_number\":\"" ID_NUMBER "\"}",
       "SM2", "csr", MK_EINVAL},
      {"ca_sbx_zjca", "{\"profile\":\"root-ca\",\"name\":\"张三\",\"id_number\":\"" ID_NUMBER "\"}", "SM2",
       "profile", MK_EINVAL},
      {"ca_sbx_zjca", "{\"profile\":\"personal-sign\",\"name\":\"张三\",\"id_number\":\"330402199003071238\"}",
       "SM2", "id_number", MK_EINVAL},
      {"ca_sbx_zjca", "{\"profile\":\"enterprise-sign\",\"enterprise\":\"杭州某某科技有限公司\",\"uscc\":\"91330402MA2B3C4D54\"}",
       "SM2", "uscc", MK_EINVAL},
      {"ca_sbx_zjca", "{\"profile\":\"enterprise-sign\",\"uscc\":\"" USCC "\"}", "SM2", "enterprise",
       MK_EINVAL},
      {"ca_sbx_zjca", "{\"profile\":\"personal-sign\",\"name\":\"张三\",\"id_number\":\"" ID_NUMBER
       "\",\"uscc\":\"" USCC "\"}", "SM2", "uscc", MK_EINVAL},
      {"ca_sbx_ahca", "{\"profile\":\"personal-sign\",\"name\":\"张三\",\"id_number\":\"" ID_NUMBER
       "\",\"days\":1095}", "SM2", "days", MK_EINVAL},
      {"ca_sbx_zjca", "{\"profile\":\"personal-sign\",\"name\":\"张三\",\"id_number\":\"" ID_NUMBER
       "\",\"days\":100}", "SM2", "days", MK_EINVAL},
      {"ca_sbx_zjca", "{\"profile\":\"personal-sign\",\"name\":\"张三\",\"id_number\":\"" ID_NUMBER
       "\",\"color\":\"red\"}", "SM2", "color", MK_EINVAL},
      {"ca_none", "{\"profile\":\"personal-sign\",\"name\":\"张三\",\"id_number\":\"" ID_NUMBER "\"}", "SM2",
       "", MK_ENOTFOUND},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *csr = strcmp(bad[i].csr, "SM2") == 0   ? cafx.sm2_csr
                      : strcmp(bad[i].csr, "RSA") == 0 ? cafx.rsa_csr
                      : strcmp(bad[i].csr, "BAD") == 0
                          ? cafx.bad_csr
                          : "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
                            "-----END CERTIFICATE REQUEST-----\n";
    mk_err_clear(&e);
    out = NULL;
    int rc = issue(bad[i].ca, bad[i].body, csr, &out, field, &e);
    if (rc != bad[i].code || strcmp(field, bad[i].field) != 0)
      fail_msg("case %zu: got %d field '%s' (%s)", i, rc, field, e.msg);
    assert_null(out);
  }
  assert_int_equal(fx_count("SELECT COUNT(*) FROM ca_cert"), 2);
}

static int ocsp_status(const char *ca_id, const char *serial_hex) {
  /* a request for (issuer of ca_id, serial) */
  char *pem = chain_of(ca_id);
  BIO *b = BIO_new_mem_buf(pem, -1);
  X509 *issuer = PEM_read_bio_X509(b, NULL, NULL, NULL);
  BIO_free(b);
  free(pem);
  assert_non_null(issuer);
  ASN1_INTEGER *sn = NULL;
  BIGNUM *bn = NULL;
  assert_true(BN_hex2bn(&bn, serial_hex) > 0);
  sn = BN_to_ASN1_INTEGER(bn, NULL);
  OCSP_CERTID *id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer),
                                     X509_get0_pubkey_bitstr(issuer), sn);
  OCSP_REQUEST *req = OCSP_REQUEST_new();
  assert_non_null(OCSP_request_add0_id(req, id));
  unsigned char *der = NULL;
  int dlen = i2d_OCSP_REQUEST(req, &der);
  unsigned char *resp = NULL;
  size_t rlen = 0;
  mk_err e = {0};
  int st = mk_svc_ca_ocsp(&fx.ctx, ca_id, der, (size_t)dlen, &resp, &rlen, &e);
  assert_int_equal(st, 0);
  mk_err ve = {0};
  assert_mk_ok(mk_pki_ocsp_verify(resp, rlen, issuer, &ve));
  const unsigned char *p = resp;
  OCSP_RESPONSE *r = d2i_OCSP_RESPONSE(NULL, &p, (long)rlen);
  OCSP_BASICRESP *bs = OCSP_response_get1_basic(r);
  int status = -1, reason = -1;
  ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
  OCSP_SINGLERESP *one = OCSP_resp_get0(bs, 0);
  status = OCSP_single_get0_status(one, &reason, &rev, &thisupd, &nextupd);
  OCSP_BASICRESP_free(bs);
  OCSP_RESPONSE_free(r);
  OCSP_REQUEST_free(req);
  OPENSSL_free(der);
  free(resp);
  ASN1_INTEGER_free(sn);
  BN_free(bn);
  X509_free(issuer);
  return status;
}

static unsigned long crl_number(const char *id) {
  unsigned char *der = NULL;
  size_t len = 0;
  mk_err e = {0};
  assert_mk_ok(mk_svc_ca_crl(&fx.ctx, id, &der, &len, &e));
  const unsigned char *p = der;
  X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
  assert_non_null(crl);
  ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
  unsigned long v = (unsigned long)ASN1_INTEGER_get(n);
  ASN1_INTEGER_free(n);
  X509_CRL_free(crl);
  free(der);
  return v;
}

static void test_revoke(void **state) {
  (void)state;
  mk_err e = {0};
  json_t *out = NULL;
  char field[MK_JSON_FIELD_MAX] = "";
  assert_int_equal(crl_number("ca_sbx_zjca"), 1);
  assert_int_equal(crl_number("ca_sbx_zjca"), 1); /* kept, not rebuilt */
  assert_int_equal(ocsp_status("ca_sbx_zjca", cafx.serial), V_OCSP_CERTSTATUS_GOOD);
  assert_int_equal(ocsp_status("ca_sbx_zjca", "1234abcd"), V_OCSP_CERTSTATUS_UNKNOWN);

  /* upper case and colons are the same serial */
  char upper[80];
  size_t k = 0;
  for (size_t i = 0; cafx.serial[i]; i++) {
    if (i > 0 && i % 2 == 0)
      upper[k++] = ':';
    upper[k++] = (char)(cafx.serial[i] >= 'a' ? cafx.serial[i] - 32 : cafx.serial[i]);
  }
  upper[k] = '\0';
  assert_mk_ok(mk_svc_ca_revoke(&fx.ctx, "ca_sbx_zjca", upper, "keyCompromise", &out, field, &e));
  assert_string_equal(json_string_value(json_object_get(out, "serial")), cafx.serial);
  assert_string_equal(json_string_value(json_object_get(out, "reason")), "keyCompromise");
  assert_int_equal(json_integer_value(json_object_get(out, "crl_number")), 2);
  json_decref(out);
  assert_int_equal(ocsp_status("ca_sbx_zjca", cafx.serial), V_OCSP_CERTSTATUS_REVOKED);
  assert_int_equal(crl_number("ca_sbx_zjca"), 2);

  /* twice: conflict; unknown serial: not found; bad input names its field */
  assert_mk_fails(
      mk_svc_ca_revoke(&fx.ctx, "ca_sbx_zjca", cafx.serial, "superseded", &out, field, &e),
      MK_ECONFLICT);
  assert_null(out);
  assert_mk_fails(mk_svc_ca_revoke(&fx.ctx, "ca_sbx_zjca", "abcdef", "superseded", &out, field, &e),
                  MK_ENOTFOUND);
  assert_mk_fails(
      mk_svc_ca_revoke(&fx.ctx, "ca_sbx_jsca", cafx.serial, "superseded", &out, field, &e),
      MK_ENOTFOUND);
  assert_mk_fails(mk_svc_ca_revoke(&fx.ctx, "ca_none", cafx.serial, "superseded", &out, field, &e),
                  MK_ENOTFOUND);
  assert_mk_fails(mk_svc_ca_revoke(&fx.ctx, "ca_sbx_zjca", "xyz", "superseded", &out, field, &e),
                  MK_EINVAL);
  assert_string_equal(field, "serial");
  assert_mk_fails(mk_svc_ca_revoke(&fx.ctx, "ca_sbx_zjca", "00", "superseded", &out, field, &e),
                  MK_EINVAL);
  assert_mk_fails(
      mk_svc_ca_revoke(&fx.ctx, "ca_sbx_zjca", cafx.serial, "certificateHold", &out, field, &e),
      MK_EINVAL);
  assert_string_equal(field, "reason");
  assert_mk_fails(
      mk_svc_ca_revoke(&fx.ctx, "ca_sbx_zjca", cafx.serial, "whatever", &out, field, &e),
      MK_EINVAL);
  assert_int_equal(crl_number("ca_sbx_zjca"), 2);
}

static void test_ocsp_malformed(void **state) {
  (void)state;
  mk_err e = {0};
  unsigned char *resp = NULL;
  size_t len = 0;
  static const unsigned char junk[] = {0x30, 0x03, 0x02, 0x01};
  int st = mk_svc_ca_ocsp(&fx.ctx, "ca_sbx_jsca", junk, sizeof junk, &resp, &len, &e);
  assert_int_equal(st, MK_PKI_OCSP_MALFORMED_REQUEST);
  const unsigned char *p = resp;
  OCSP_RESPONSE *r = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
  assert_non_null(r);
  assert_int_equal(OCSP_response_status(r), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  OCSP_RESPONSE_free(r);
  free(resp);
  resp = NULL;
  assert_mk_fails(mk_svc_ca_ocsp(&fx.ctx, "ca_none", junk, sizeof junk, &resp, &len, &e),
                  MK_ENOTFOUND);
  assert_null(resp);
  char *pem = NULL;
  assert_mk_fails(mk_svc_ca_chain(&fx.ctx, "ca_none", &pem, &len, &e), MK_ENOTFOUND);
  assert_mk_fails(mk_svc_ca_crl(&fx.ctx, "ca_none", &resp, &len, &e), MK_ENOTFOUND);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_seed_idempotent), cmocka_unit_test(test_list_shape),
      cmocka_unit_test(test_definitions),     cmocka_unit_test(test_cas_file),
      cmocka_unit_test(test_issue),           cmocka_unit_test(test_revoke),
      cmocka_unit_test(test_ocsp_malformed),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
