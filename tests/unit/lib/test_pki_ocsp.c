/* pki/ocsp.c: the OCSP responder (RFC 6960), its GET form, delegated
 * responder certificates and our own verification of responses. Requests
 * come from `openssl ocsp -reqout` where it can make them, answers are
 * judged by `openssl ocsp -respin` (RSA CAs: signature and status; SM2 CAs:
 * status with -noverify, signature by mk_pki_ocsp_verify, INTEROP.md). */
#include "mk_test.h"
#include "pki_testca.h"

#include <openssl/ocsp.h>

#include "pki/ca.h"
#include "pki/crl.h"
#include "pki/ocsp.h"
#include "util/enc.h"

#include "../../fuzz/ocsp_fuzz_ca.h"

static const unsigned char serial_leaf[] = {0x4D, 0x4B, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
                                            0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E};
static const unsigned char serial_leaf2[] = {0x00, 0xC1}; /* 0xC1 needs a leading zero in DER */
static const unsigned char serial_stranger[] = {0x77, 0x77};

/* ---- the lookup ------------------------------------------------------- */

typedef struct entry {
  const unsigned char *serial;
  size_t len;
  mk_pki_cert_status st;
} entry;

typedef struct table {
  entry e[4];
  size_t n;
  int calls;
  int fail; /* returned instead of a status when negative */
} table;

static int lookup(void *ctx, const unsigned char *serial, size_t len, mk_pki_cert_status *st) {
  table *t = ctx;
  t->calls++;
  assert_int_equal(st->state, MK_PKI_CERT_UNKNOWN);
  assert_true(len >= 1 && len <= MK_PKI_SERIAL_MAX);
  assert_int_not_equal(serial[0], 0);
  if (t->fail < 0)
    return t->fail;
  for (size_t i = 0; i < t->n; i++) {
    const unsigned char *s = t->e[i].serial;
    size_t n = t->e[i].len;
    while (n > 0 && s[0] == 0) {
      s++;
      n--;
    }
    if (n == len && memcmp(s, serial, n) == 0) {
      *st = t->e[i].st;
      return 0;
    }
  }
  return MK_ENOTFOUND;
}

static void table_set(table *t, const unsigned char *serial, size_t len, mk_pki_cert_state state,
                      int64_t at, mk_pki_reason reason) {
  for (size_t i = 0; i < t->n; i++) {
    if (t->e[i].serial == serial) {
      t->e[i].st = (mk_pki_cert_status){state, at, reason};
      return;
    }
  }
  assert_true(t->n < 4);
  t->e[t->n++] = (entry){serial, len, {state, at, reason}};
}

/* ---- helpers ---------------------------------------------------------- */

/* Answer the request in file reqname into file respname; returns the
 * status mk_pki_ocsp_respond gave. */
static int respond_files(const mk_pki_ca *ca, const mk_pki_ocsp_signer *signer, table *t,
                         const char *reqname, const char *respname) {
  mk_err e;
  size_t qlen = 0, rlen = 0;
  unsigned char *req = testca_read(reqname, &qlen);
  unsigned char *resp = NULL;
  int rc = mk_pki_ocsp_respond(ca, signer, req, qlen, lookup, t, time(NULL), &resp, &rlen, &e);
  assert_true(rc >= 0);
  assert_non_null(resp);
  testca_write(respname, resp, rlen);
  free(req);
  free(resp);
  return rc;
}

static OCSP_RESPONSE *response_from(const unsigned char *der, size_t len) {
  const unsigned char *p = der;
  OCSP_RESPONSE *r = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
  assert_non_null(r);
  assert_ptr_equal(p, der + len);
  return r;
}

/* The OCSPResponseStatus of DER bytes. */
static int response_status(const unsigned char *der, size_t len) {
  OCSP_RESPONSE *r = response_from(der, len);
  int st = OCSP_response_status(r);
  OCSP_RESPONSE_free(r);
  return st;
}

static unsigned char *request_der(OCSP_REQUEST *req, size_t *len) {
  unsigned char *der = NULL;
  int n = i2d_OCSP_REQUEST(req, &der);
  assert_true(n > 0);
  *len = (size_t)n;
  unsigned char *copy = malloc((size_t)n);
  assert_non_null(copy);
  memcpy(copy, der, (size_t)n);
  OPENSSL_free(der);
  return copy;
}

/* A request for leaf (issued by issuer) with CertID digest md. */
static OCSP_REQUEST *request_for(X509 *issuer, X509 *leaf, const EVP_MD *md) {
  OCSP_REQUEST *req = OCSP_REQUEST_new();
  assert_non_null(req);
  OCSP_CERTID *id = OCSP_cert_to_id(md, leaf, issuer);
  assert_non_null(id);
  assert_non_null(OCSP_request_add0_id(req, id));
  return req;
}

/* A nonce extension whose extnValue is the given bytes. */
static X509_EXTENSION *nonce_ext(const unsigned char *value, size_t n, int critical) {
  ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
  assert_int_equal(ASN1_OCTET_STRING_set(os, value, (int)n), 1);
  X509_EXTENSION *ext = X509_EXTENSION_create_by_NID(NULL, NID_id_pkix_OCSP_Nonce, critical, os);
  assert_non_null(ext);
  ASN1_OCTET_STRING_free(os);
  return ext;
}

/* mk_pki_ocsp_respond on bytes; returns its status, checks the answer
 * carries the same status and that e explains any refusal. */
static int respond_bytes(const mk_pki_ca *ca, const mk_pki_ocsp_signer *signer, table *t,
                         const unsigned char *req, size_t len, mk_err *e) {
  unsigned char *resp = NULL;
  size_t rlen = 0;
  mk_err_clear(e);
  int rc = mk_pki_ocsp_respond(ca, signer, req, len, lookup, t, time(NULL), &resp, &rlen, e);
  assert_true(rc >= 0);
  assert_non_null(resp);
  assert_int_equal(response_status(resp, rlen), rc);
  if (rc != 0)
    assert_true(e->code < 0 && e->msg[0] != '\0');
  free(resp);
  return rc;
}

static int respond_req(const mk_pki_ca *ca, table *t, OCSP_REQUEST *req, mk_err *e) {
  size_t len = 0;
  unsigned char *der = request_der(req, &len);
  int rc = respond_bytes(ca, NULL, t, der, len, e);
  free(der);
  return rc;
}

static void assert_msg(const mk_err *e, const char *words) {
  if (strstr(e->msg, words) == NULL) {
    print_error("expected \"%s\" in \"%s\"\n", words, e->msg);
    fail();
  }
}

/* ---- RSA CA: openssl ocsp is the judge ---------------------------------- */

static void test_rsa_good_revoked_nonce(void **state) {
  (void)state;
  mk_err e;
  mk_pki_ca ca;
  table t = {0};
  char out[TESTCA_OUT_MAX];
  int64_t now = time(NULL);
  testca_make(&ca, MK_PKI_RSA, "RSA 测试 CA");
  X509 *leaf = testca_leaf(&ca, serial_leaf, sizeof serial_leaf, NULL);
  testca_write_pem("ca.pem", ca.cert);
  testca_write_pem("leaf.pem", leaf);
  table_set(&t, serial_leaf, sizeof serial_leaf, MK_PKI_CERT_GOOD, 0, 0);

  /* good, with the nonce openssl puts in by default */
  assert_run_ok(out, "openssl ocsp -issuer ca.pem -cert leaf.pem -reqout req.der");
  assert_int_equal(respond_files(&ca, NULL, &t, "req.der", "resp.der"), 0);
  assert_int_equal(t.calls, 1);
  assert_run_ok(out, "openssl ocsp -respin resp.der -issuer ca.pem -CAfile ca.pem "
                                   "-cert leaf.pem -no_nonce");
  assert_contains(out, "Response verify OK");
  assert_contains(out, "leaf.pem: good");
  assert_contains(out, "Next Update:");
  /* -reqin: openssl compares the nonces of request and response (and,
   * without -issuer, finds the CA as signer only through -verify_other: the
   * CA's own certificate is not repeated in its responses) */
  assert_run_ok(out, "openssl ocsp -reqin req.der -respin resp.der -CAfile ca.pem "
                                   "-verify_other ca.pem -resp_text");
  assert_contains(out, "Response verify OK");
  assert_contains(out, "OCSP Nonce");
  assert_contains(out, "Cert Status: good");
  assert_contains(out, "Responder Id: "); /* byKey: a hex key hash, no name */
  assert_not_contains(out, "Responder Id: C = CN");
  assert_not_contains(out, "Nonce Verify error");
  assert_not_contains(out, "WARNING: no nonce");

  /* the same bytes pass our own check */
  size_t rlen = 0;
  unsigned char *resp = testca_read("resp.der", &rlen);
  assert_mk_ok(mk_pki_ocsp_verify(resp, rlen, ca.cert, &e));
  OCSP_RESPONSE *r = response_from(resp, rlen);
  OCSP_BASICRESP *bs = OCSP_response_get1_basic(r);
  const ASN1_OCTET_STRING *key_hash = NULL;
  const X509_NAME *name = NULL;
  assert_int_equal(OCSP_resp_get0_id(bs, &key_hash, &name), 1);
  assert_non_null(key_hash);
  assert_null(name);
  assert_true(sk_X509_num(OCSP_resp_get0_certs(bs)) <= 0); /* the client has the CA */
  ASN1_GENERALIZEDTIME *this_upd = NULL, *next_upd = NULL;
  int reason = 0;
  assert_int_equal(OCSP_single_get0_status(OCSP_resp_get0(bs, 0), &reason, NULL, &this_upd,
                                           &next_upd),
                   V_OCSP_CERTSTATUS_GOOD);
  int days = 0, secs = 0;
  assert_int_equal(ASN1_TIME_diff(&days, &secs, this_upd, next_upd), 1);
  assert_int_equal(days * 86400 + secs, MK_PKI_OCSP_NEXT_UPDATE);
  assert_int_equal(ASN1_TIME_cmp_time_t(this_upd, (time_t)now) >= 0, 1);
  OCSP_BASICRESP_free(bs);
  OCSP_RESPONSE_free(r);
  free(resp);

  /* revoked once the store says so, with time and reason */
  table_set(&t, serial_leaf, sizeof serial_leaf, MK_PKI_CERT_REVOKED, INT64_C(1798761600),
            MK_PKI_REASON_KEY_COMPROMISE);
  assert_int_equal(respond_files(&ca, NULL, &t, "req.der", "resp.der"), 0);
  assert_run_ok(out, "openssl ocsp -respin resp.der -issuer ca.pem -CAfile ca.pem "
                                   "-cert leaf.pem -no_nonce");
  assert_contains(out, "Response verify OK");
  assert_contains(out, "leaf.pem: revoked");
  assert_contains(out, "Reason: keyCompromise");
  assert_contains(out, "Revocation Time: Jan  1 00:00:00 2027 GMT");
  assert_run_ok(out, "openssl ocsp -reqin req.der -respin resp.der -CAfile ca.pem "
                                   "-verify_other ca.pem -resp_text");
  assert_contains(out, "Response verify OK");
  assert_contains(out, "Cert Status: revoked");

  /* unspecified: revoked without revocationReason */
  table_set(&t, serial_leaf, sizeof serial_leaf, MK_PKI_CERT_REVOKED, INT64_C(1798761600),
            MK_PKI_REASON_UNSPECIFIED);
  assert_int_equal(respond_files(&ca, NULL, &t, "req.der", "resp.der"), 0);
  assert_run_ok(out, "openssl ocsp -respin resp.der -issuer ca.pem -CAfile ca.pem "
                                   "-cert leaf.pem -no_nonce");
  assert_contains(out, "leaf.pem: revoked");
  assert_not_contains(out, "Reason:");

  /* -no_nonce: no nonce comes back, and openssl's comparison still passes */
  assert_run_ok(out, "openssl ocsp -issuer ca.pem -cert leaf.pem -no_nonce -reqout "
                                   "req0.der");
  assert_int_equal(respond_files(&ca, NULL, &t, "req0.der", "resp0.der"), 0);
  assert_run_ok(out, "openssl ocsp -reqin req0.der -respin resp0.der -CAfile ca.pem "
                                   "-verify_other ca.pem -resp_text");
  assert_contains(out, "Response verify OK");
  assert_not_contains(out, "OCSP Nonce");

  /* a response to another request's nonce is caught by openssl */
  assert_run_ok(out, "openssl ocsp -reqin req.der -respin resp0.der -CAfile ca.pem -verify_other ca.pem");
  assert_contains(out, "WARNING: no nonce in response");

  X509_free(leaf);
  mk_pki_ca_clear(&ca);
}

static void test_rsa_unknown_and_other_issuer(void **state) {
  (void)state;
  mk_err e;
  mk_pki_ca ca, other;
  table t = {0};
  char out[TESTCA_OUT_MAX];
  testca_make(&ca, MK_PKI_RSA, "RSA CA");
  testca_make(&other, MK_PKI_SM2, "Other CA");
  X509 *leaf = testca_leaf(&ca, serial_leaf, sizeof serial_leaf, NULL);
  X509 *leaf2 = testca_leaf(&ca, serial_leaf2, sizeof serial_leaf2, NULL);
  X509 *stranger = testca_leaf(&ca, serial_stranger, sizeof serial_stranger, NULL);
  /* the other CA's certificate has a serial our store knows as revoked */
  X509 *foreign = testca_leaf(&other, serial_leaf, sizeof serial_leaf, NULL);
  testca_write_pem("ca.pem", ca.cert);
  testca_write_pem("other.pem", other.cert);
  testca_write_pem("leaf.pem", leaf);
  testca_write_pem("leaf2.pem", leaf2);
  testca_write_pem("stranger.pem", stranger);
  testca_write_pem("foreign.pem", foreign);
  table_set(&t, serial_leaf, sizeof serial_leaf, MK_PKI_CERT_REVOKED, INT64_C(1798761600),
            MK_PKI_REASON_SUPERSEDED);
  table_set(&t, serial_leaf2, sizeof serial_leaf2, MK_PKI_CERT_UNKNOWN, 0, 0);

  /* four CertIDs in one request, answered in order */
  assert_run_ok(out, "openssl ocsp -issuer ca.pem -cert leaf.pem -cert leaf2.pem "
                                   "-cert stranger.pem -issuer other.pem -cert foreign.pem "
                                   "-reqout multi.der");
  assert_int_equal(respond_files(&ca, NULL, &t, "multi.der", "multi.resp"), 0);
  assert_int_equal(t.calls, 3); /* the foreign CertID never reaches the store */
  assert_run_ok(out, "openssl ocsp -respin multi.resp -CAfile ca.pem -no_nonce "
                                   "-issuer ca.pem -cert leaf.pem -cert leaf2.pem -cert "
                                   "stranger.pem -issuer other.pem -cert foreign.pem");
  assert_contains(out, "Response verify OK");
  assert_contains(out, "leaf.pem: revoked");
  assert_contains(out, "Reason: superseded");
  assert_contains(out, "leaf2.pem: unknown");
  assert_contains(out, "stranger.pem: unknown");
  assert_contains(out, "foreign.pem: unknown");

  /* SHA-256 and SM3 CertIDs match too; SHA-224 is not one we hash with */
  table_set(&t, serial_leaf, sizeof serial_leaf, MK_PKI_CERT_GOOD, 0, 0);
  const char *digests[] = {"sha256", "sm3", "sha512"};
  for (size_t i = 0; i < 3; i++) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "openssl ocsp -%s -issuer ca.pem -cert leaf.pem -reqout d.der",
             digests[i]);
    assert_run_ok(out, cmd);
    assert_int_equal(respond_files(&ca, NULL, &t, "d.der", "d.resp"), 0);
    snprintf(cmd, sizeof cmd,
             "openssl ocsp -respin d.resp -CAfile ca.pem -no_nonce -%s -issuer ca.pem -cert "
             "leaf.pem",
             digests[i]);
    assert_run_ok(out, cmd);
    assert_contains(out, "Response verify OK");
    assert_contains(out, "leaf.pem: good");
  }
  int calls = t.calls;
  assert_run_ok(out, "openssl ocsp -sha224 -issuer ca.pem -cert leaf.pem -reqout "
                                   "d.der");
  assert_int_equal(respond_files(&ca, NULL, &t, "d.der", "d.resp"), 0);
  assert_int_equal(t.calls, calls);
  assert_run_ok(out, "openssl ocsp -respin d.resp -CAfile ca.pem -no_nonce -sha224 "
                                   "-issuer ca.pem -cert leaf.pem");
  assert_contains(out, "leaf.pem: unknown");

  /* a CertID whose serial cannot be ours (zero, negative) is unknown at once */
  OCSP_REQUEST *req = OCSP_REQUEST_new();
  X509_NAME *iname = X509_get_subject_name(ca.cert);
  ASN1_BIT_STRING *ikey = X509_get0_pubkey_bitstr(ca.cert);
  ASN1_INTEGER *zero = ASN1_INTEGER_new();
  ASN1_INTEGER_set(zero, 0);
  ASN1_INTEGER *neg = ASN1_INTEGER_new();
  ASN1_INTEGER_set(neg, -5);
  OCSP_request_add0_id(req, OCSP_cert_id_new(EVP_sha1(), iname, ikey, zero));
  OCSP_request_add0_id(req, OCSP_cert_id_new(EVP_sha1(), iname, ikey, neg));
  calls = t.calls;
  assert_int_equal(respond_req(&ca, &t, req, &e), 0);
  assert_int_equal(t.calls, calls);
  ASN1_INTEGER_free(zero);
  ASN1_INTEGER_free(neg);
  OCSP_REQUEST_free(req);

  X509_free(leaf);
  X509_free(leaf2);
  X509_free(stranger);
  X509_free(foreign);
  mk_pki_ca_clear(&ca);
  mk_pki_ca_clear(&other);
}

/* ---- what is malformed -------------------------------------------------- */

/* DER TLV: tag, length, content into out; returns bytes written. */
static size_t tlv(unsigned char *out, unsigned char tag, const unsigned char *c, size_t n) {
  size_t i = 0;
  out[i++] = tag;
  if (n < 0x80) {
    out[i++] = (unsigned char)n;
  } else if (n < 0x100) {
    out[i++] = 0x81;
    out[i++] = (unsigned char)n;
  } else {
    out[i++] = 0x82;
    out[i++] = (unsigned char)(n >> 8);
    out[i++] = (unsigned char)n;
  }
  memcpy(out + i, c, n);
  return i + n;
}

/* The content of the TLV at der (its header skipped). */
static const unsigned char *tlv_body(const unsigned char *der, size_t len, size_t *n) {
  const unsigned char *p = der;
  long body = 0;
  int tag = 0, cls = 0;
  assert_false(ASN1_get_object(&p, &body, &tag, &cls, (long)len) & 0x80);
  *n = (size_t)body;
  return p;
}

static void test_malformed(void **state) {
  (void)state;
  mk_err e;
  mk_pki_ca ca;
  table t = {0};
  char out[TESTCA_OUT_MAX];
  testca_make(&ca, MK_PKI_SM2, "SM2 CA");
  X509 *leaf = testca_leaf(&ca, serial_leaf, sizeof serial_leaf, NULL);
  table_set(&t, serial_leaf, sizeof serial_leaf, MK_PKI_CERT_GOOD, 0, 0);
  OCSP_REQUEST *req = request_for(ca.cert, leaf, EVP_sha1());
  size_t len = 0;
  unsigned char *good = request_der(req, &len);
  assert_int_equal(respond_bytes(&ca, NULL, &t, good, len, &e), 0);

  /* the answer is the unsigned malformedRequest openssl reads as such */
  unsigned char *resp = NULL;
  size_t rlen = 0;
  const unsigned char junk[] = "GET / HTTP/1.1\r\n";
  assert_int_equal(mk_pki_ocsp_respond(&ca, NULL, junk, sizeof junk - 1, lookup, &t, time(NULL),
                                       &resp, &rlen, &e),
                   MK_PKI_OCSP_MALFORMED_REQUEST);
  assert_int_equal(e.code, MK_EINVAL);
  testca_write("malformed.resp", resp, rlen);
  free(resp);
  testca_run(out, "openssl ocsp -respin malformed.resp -resp_text -noverify");
  assert_contains(out, "Responder Error: malformedrequest (1)");

  int calls = t.calls;
  unsigned char *buf = malloc(MK_PKI_OCSP_REQUEST_MAX + 64);
  assert_non_null(buf);
  /* empty, truncated, one byte more, one byte changed in the structure */
  assert_int_equal(respond_bytes(&ca, NULL, &t, good, 0, &e), MK_PKI_OCSP_MALFORMED_REQUEST);
  assert_int_equal(respond_bytes(&ca, NULL, &t, NULL, 5, &e), MK_PKI_OCSP_MALFORMED_REQUEST);
  for (size_t cut = 1; cut < len; cut += 7)
    assert_int_equal(respond_bytes(&ca, NULL, &t, good, len - cut, &e),
                     MK_PKI_OCSP_MALFORMED_REQUEST);
  memcpy(buf, good, len);
  buf[len] = 0;
  assert_int_equal(respond_bytes(&ca, NULL, &t, buf, len + 1, &e), MK_PKI_OCSP_MALFORMED_REQUEST);
  assert_msg(&e, "bytes after");
  buf[0] = 0x31;
  assert_int_equal(respond_bytes(&ca, NULL, &t, buf, len, &e), MK_PKI_OCSP_MALFORMED_REQUEST);

  /* not DER: the outer length in long form though it fits in one byte */
  assert_true(good[1] < 0x80);
  buf[0] = 0x30;
  buf[1] = 0x81;
  memcpy(buf + 2, good + 1, len - 1);
  assert_int_equal(respond_bytes(&ca, NULL, &t, buf, len + 1, &e), MK_PKI_OCSP_MALFORMED_REQUEST);

  /* an explicit version v1 (DEFAULT, so DER leaves it out) */
  size_t outer_n = 0, tbs_n = 0;
  const unsigned char *outer = tlv_body(good, len, &outer_n);
  const unsigned char *tbs = tlv_body(outer, outer_n, &tbs_n);
  unsigned char inner[512], tbs2[512];
  const unsigned char version[] = {0xA0, 0x03, 0x02, 0x01, 0x00};
  memcpy(inner, version, sizeof version);
  memcpy(inner + sizeof version, tbs, tbs_n);
  size_t tbs2_n = tlv(tbs2, 0x30, inner, sizeof version + tbs_n);
  size_t vlen = tlv(buf, 0x30, tbs2, tbs2_n);
  assert_int_equal(respond_bytes(&ca, NULL, &t, buf, vlen, &e), MK_PKI_OCSP_MALFORMED_REQUEST);
  assert_msg(&e, "version");

  /* oversized: refused before any parsing, whatever it holds */
  memset(buf, 0x30, MK_PKI_OCSP_REQUEST_MAX + 1);
  assert_int_equal(respond_bytes(&ca, NULL, &t, buf, MK_PKI_OCSP_REQUEST_MAX + 1, &e),
                   MK_PKI_OCSP_MALFORMED_REQUEST);
  assert_msg(&e, "over 16384 bytes");
  /* a real request padded past the cap by a non-critical extension */
  OCSP_REQUEST *fat = request_for(ca.cert, leaf, EVP_sha1());
  unsigned char *pad = calloc(1, MK_PKI_OCSP_REQUEST_MAX);
  ASN1_OCTET_STRING *pad_os = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(pad_os, pad, MK_PKI_OCSP_REQUEST_MAX);
  ASN1_OBJECT *pad_oid = OBJ_txt2obj("1.3.6.1.4.1.99999.1", 1);
  X509_EXTENSION *pad_ext = X509_EXTENSION_create_by_OBJ(NULL, pad_oid, 0, pad_os);
  OCSP_REQUEST_add_ext(fat, pad_ext, -1);
  ASN1_OBJECT_free(pad_oid);
  assert_int_equal(respond_req(&ca, &t, fat, &e), MK_PKI_OCSP_MALFORMED_REQUEST);
  assert_msg(&e, "over");
  X509_EXTENSION_free(pad_ext);
  ASN1_OCTET_STRING_free(pad_os);
  free(pad);
  OCSP_REQUEST_free(fat);

  /* no CertID at all; more than MK_PKI_OCSP_CERTS_MAX; exactly that many */
  OCSP_REQUEST *none = OCSP_REQUEST_new();
  assert_int_equal(respond_req(&ca, &t, none, &e), MK_PKI_OCSP_MALFORMED_REQUEST);
  OCSP_REQUEST_free(none);
  OCSP_REQUEST *many = OCSP_REQUEST_new();
  for (int i = 0; i < MK_PKI_OCSP_CERTS_MAX; i++)
    OCSP_request_add0_id(many, OCSP_cert_to_id(EVP_sha1(), leaf, ca.cert));
  assert_int_equal(t.calls, calls);
  assert_int_equal(respond_req(&ca, &t, many, &e), 0);
  assert_int_equal(t.calls, calls + MK_PKI_OCSP_CERTS_MAX);
  calls = t.calls;
  OCSP_request_add0_id(many, OCSP_cert_to_id(EVP_sha1(), leaf, ca.cert));
  assert_int_equal(respond_req(&ca, &t, many, &e), MK_PKI_OCSP_MALFORMED_REQUEST);
  assert_msg(&e, "33 certificates");
  OCSP_REQUEST_free(many);

  /* unknown critical extensions, on the request or on one CertID;
   * non-critical ones are ignored */
  ASN1_OBJECT *odd = OBJ_txt2obj("1.3.6.1.4.1.99999.2", 1);
  ASN1_OCTET_STRING *odd_v = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(odd_v, (const unsigned char *)"\x05\x00", 2);
  for (int crit = 0; crit <= 1; crit++) {
    X509_EXTENSION *ext = X509_EXTENSION_create_by_OBJ(NULL, odd, crit, odd_v);
    OCSP_REQUEST *r1 = request_for(ca.cert, leaf, EVP_sha1());
    OCSP_REQUEST_add_ext(r1, ext, -1);
    assert_int_equal(respond_req(&ca, &t, r1, &e), crit ? MK_PKI_OCSP_MALFORMED_REQUEST : 0);
    OCSP_REQUEST_free(r1);
    OCSP_REQUEST *r2 = OCSP_REQUEST_new();
    OCSP_ONEREQ *one = OCSP_request_add0_id(r2, OCSP_cert_to_id(EVP_sha1(), leaf, ca.cert));
    OCSP_ONEREQ_add_ext(one, ext, -1);
    assert_int_equal(respond_req(&ca, &t, r2, &e), crit ? MK_PKI_OCSP_MALFORMED_REQUEST : 0);
    OCSP_REQUEST_free(r2);
    X509_EXTENSION_free(ext);
  }
  ASN1_OBJECT_free(odd);
  ASN1_OCTET_STRING_free(odd_v);

  /* a signed request is answered like any other: status is public, so the
   * signature is neither needed nor checked */
  OCSP_REQUEST *signed_req = request_for(ca.cert, leaf, EVP_sha1());
  EVP_PKEY *rk = testca_key(MK_PKI_RSA);
  X509 *rcert = X509_dup(ca.cert);
  X509_set_pubkey(rcert, rk);
  assert_int_equal(OCSP_request_sign(signed_req, rcert, rk, EVP_sha256(), NULL, 0), 1);
  assert_int_equal(OCSP_request_is_signed(signed_req), 1);
  assert_int_equal(respond_req(&ca, &t, signed_req, &e), 0);
  OCSP_REQUEST_free(signed_req);
  EVP_PKEY_free(rk);
  X509_free(rcert);

  free(buf);
  free(good);
  OCSP_REQUEST_free(req);
  X509_free(leaf);
  mk_pki_ca_clear(&ca);
}

/* RFC 8954: a nonce of 1..32 octets is echoed; anything else is malformed. */
static void test_nonce(void **state) {
  (void)state;
  mk_err e;
  mk_pki_ca ca;
  table t = {0};
  testca_make(&ca, MK_PKI_SM2, "SM2 CA");
  X509 *leaf = testca_leaf(&ca, serial_leaf, sizeof serial_leaf, NULL);
  table_set(&t, serial_leaf, sizeof serial_leaf, MK_PKI_CERT_GOOD, 0, 0);

  static const int ok_lens[] = {1, 16, 32};
  for (size_t i = 0; i < 3; i++) {
    OCSP_REQUEST *req = request_for(ca.cert, leaf, EVP_sha1());
    unsigned char nonce[32];
    memset(nonce, 0xA0 + (int)i, sizeof nonce);
    assert_int_equal(OCSP_request_add1_nonce(req, nonce, ok_lens[i]), 1);
    size_t len = 0, rlen = 0;
    unsigned char *der = request_der(req, &len), *resp = NULL;
    assert_int_equal(mk_pki_ocsp_respond(&ca, NULL, der, len, lookup, &t, time(NULL), &resp, &rlen,
                                         &e),
                     0);
    OCSP_RESPONSE *r = response_from(resp, rlen);
    OCSP_BASICRESP *bs = OCSP_response_get1_basic(r);
    assert_int_equal(OCSP_check_nonce(req, bs), 1);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(r);
    free(resp);
    free(der);
    OCSP_REQUEST_free(req);
  }

  /* extnValue contents: an OCTET STRING of 0 and 33 octets, a non-DER
   * length, raw bytes (the pre-RFC 8954 habit), bytes after it */
  unsigned char v33[35] = {0x04, 33};
  memset(v33 + 2, 0x33, 33);
  const unsigned char v0[] = {0x04, 0x00};
  const unsigned char long_form[] = {0x04, 0x81, 0x02, 0xAB, 0xCD};
  const unsigned char raw[] = {0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04};
  const unsigned char trailing[] = {0x04, 0x01, 0xAB, 0x00};
  const unsigned char integer[] = {0x02, 0x01, 0x05};
  const struct {
    const unsigned char *v;
    size_t n;
    const char *words;
  } bad[] = {
      {v33, sizeof v33, "33 octets"},      {v0, sizeof v0, "0 octets"},
      {long_form, sizeof long_form, "DER"}, {raw, sizeof raw, "OCTET STRING"},
      {trailing, sizeof trailing, "OCTET STRING"}, {integer, sizeof integer, "OCTET STRING"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    OCSP_REQUEST *req = request_for(ca.cert, leaf, EVP_sha1());
    X509_EXTENSION *ext = nonce_ext(bad[i].v, bad[i].n, 0);
    OCSP_REQUEST_add_ext(req, ext, -1);
    assert_int_equal(respond_req(&ca, &t, req, &e), MK_PKI_OCSP_MALFORMED_REQUEST);
    assert_msg(&e, bad[i].words);
    X509_EXTENSION_free(ext);
    OCSP_REQUEST_free(req);
  }

  /* two nonces; a critical nonce is fine (we understand it) */
  const unsigned char v2[] = {0x04, 0x02, 0x01, 0x02};
  OCSP_REQUEST *req = request_for(ca.cert, leaf, EVP_sha1());
  X509_EXTENSION *ext = nonce_ext(v2, sizeof v2, 1);
  OCSP_REQUEST_add_ext(req, ext, -1);
  assert_int_equal(respond_req(&ca, &t, req, &e), 0);
  OCSP_REQUEST_add_ext(req, ext, -1);
  assert_int_equal(respond_req(&ca, &t, req, &e), MK_PKI_OCSP_MALFORMED_REQUEST);
  assert_msg(&e, "two nonces");
  X509_EXTENSION_free(ext);
  OCSP_REQUEST_free(req);

  X509_free(leaf);
  mk_pki_ca_clear(&ca);
}

/* ---- lookups that fail or say nonsense ---------------------------------- */

static void test_lookup_failures(void **state) {
  (void)state;
  mk_err e;
  mk_pki_ca ca;
  table t = {0};
  testca_make(&ca, MK_PKI_SM2, "SM2 CA");
  X509 *leaf = testca_leaf(&ca, serial_leaf, sizeof serial_leaf, NULL);
  OCSP_REQUEST *req = request_for(ca.cert, leaf, EVP_sha256());

  t.fail = MK_ESTORE;
  assert_int_equal(respond_req(&ca, &t, req, &e), MK_PKI_OCSP_TRY_LATER);
  assert_int_equal(e.code, MK_ESTORE);
  t.fail = MK_EINTERNAL;
  assert_int_equal(respond_req(&ca, &t, req, &e), MK_PKI_OCSP_INTERNAL_ERROR);
  t.fail = 0;
  assert_int_equal(respond_req(&ca, &t, req, &e), 0); /* MK_ENOTFOUND: unknown */

  table_set(&t, serial_leaf, sizeof serial_leaf, MK_PKI_CERT_REVOKED, 1798761600,
            MK_PKI_REASON_CERTIFICATE_HOLD);
  assert_int_equal(respond_req(&ca, &t, req, &e), MK_PKI_OCSP_INTERNAL_ERROR);
  assert_msg(&e, "reason 6");
  table_set(&t, serial_leaf, sizeof serial_leaf, MK_PKI_CERT_REVOKED, -1,
            MK_PKI_REASON_SUPERSEDED);
  assert_int_equal(respond_req(&ca, &t, req, &e), MK_PKI_OCSP_INTERNAL_ERROR);
  table_set(&t, serial_leaf, sizeof serial_leaf, (mk_pki_cert_state)3, 0, 0);
  assert_int_equal(respond_req(&ca, &t, req, &e), MK_PKI_OCSP_INTERNAL_ERROR);
  table_set(&t, serial_leaf, sizeof serial_leaf, MK_PKI_CERT_REVOKED, 1798761600,
            MK_PKI_REASON_PRIVILEGE_WITHDRAWN);
  assert_int_equal(respond_req(&ca, &t, req, &e), 0);

  /* no lookup, no CA: nothing to answer with */
  unsigned char *resp = NULL;
  size_t rlen = 0, len = 0;
  unsigned char *der = request_der(req, &len);
  assert_mk_fails(mk_pki_ocsp_respond(&ca, NULL, der, len, NULL, &t, 0, &resp, &rlen, &e),
                  MK_EINVAL);
  assert_null(resp);
  assert_mk_fails(mk_pki_ocsp_respond(NULL, NULL, der, len, lookup, &t, 0, &resp, &rlen, &e),
                  MK_EINVAL);
  /* a time the response cannot carry */
  assert_int_equal(mk_pki_ocsp_respond(&ca, NULL, der, len, lookup, &t, -1, &resp, &rlen, &e),
                   MK_PKI_OCSP_INTERNAL_ERROR);
  free(resp);
  free(der);

  OCSP_REQUEST_free(req);
  X509_free(leaf);
  mk_pki_ca_clear(&ca);
}

/* ---- delegated responders ----------------------------------------------- */

static void test_delegated_rsa(void **state) {
  (void)state;
  mk_err e;
  mk_pki_ca ca, other;
  table t = {0};
  char out[TESTCA_OUT_MAX];
  int64_t now = time(NULL);
  testca_make(&ca, MK_PKI_RSA, "RSA 测试 CA");
  testca_make(&other, MK_PKI_RSA, "Other RSA CA");
  X509 *leaf = testca_leaf(&ca, serial_leaf, sizeof serial_leaf, NULL);
  EVP_PKEY *rkey = testca_key(MK_PKI_RSA);
  X509 *rcert = NULL;
  assert_mk_ok(mk_pki_ocsp_responder_cert(&ca, rkey, now, 7, &rcert, &e));
  testca_write_pem("ca.pem", ca.cert);
  testca_write_pem("leaf.pem", leaf);
  testca_write_pem("responder.pem", rcert);
  table_set(&t, serial_leaf, sizeof serial_leaf, MK_PKI_CERT_GOOD, 0, 0);

  assert_run_ok(out, "openssl verify -CAfile ca.pem -purpose ocsphelper "
                                   "responder.pem");
  assert_contains(out, "responder.pem: OK");
  assert_run_ok(out, "openssl x509 -in responder.pem -noout -text -nameopt utf8");
  assert_contains(out, "CN=RSA 测试 CA OCSP Responder");
  assert_contains(out, "O=mkey 测试");
  assert_contains(out, "OCSP Signing");
  assert_contains(out, "OCSP No Check");
  assert_contains(out, "CA:FALSE");
  assert_contains(out, "Digital Signature");
  assert_contains(out, "X509v3 Subject Key Identifier");
  assert_contains(out, "X509v3 Authority Key Identifier");
  assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notAfter(rcert), (time_t)(now + 7 * 86400)), 0);
  /* mk_pki_serial_random: 127 random bits, 16 octets but for rare short ones */
  assert_true(ASN1_STRING_length(X509_get0_serialNumber(rcert)) >= 8);

  mk_pki_ocsp_signer signer = {rcert, rkey, 600};
  assert_run_ok(out, "openssl ocsp -issuer ca.pem -cert leaf.pem -reqout req.der");
  assert_int_equal(respond_files(&ca, &signer, &t, "req.der", "resp.der"), 0);
  /* the responder certificate travels in the response ... */
  assert_run_ok(out, "openssl ocsp -respin resp.der -issuer ca.pem -CAfile ca.pem "
                                   "-cert leaf.pem -no_nonce -resp_text");
  assert_contains(out, "Response verify OK");
  assert_contains(out, "leaf.pem: good");
  assert_contains(out, "OCSP Responder");
  /* ... and -verify_other finds it as well */
  assert_run_ok(out, "openssl ocsp -reqin req.der -respin resp.der -CAfile ca.pem "
                                   "-verify_other responder.pem");
  assert_contains(out, "Response verify OK");
  size_t rlen = 0;
  unsigned char *resp = testca_read("resp.der", &rlen);
  assert_mk_ok(mk_pki_ocsp_verify(resp, rlen, ca.cert, &e));
  assert_mk_fails(mk_pki_ocsp_verify(resp, rlen, other.cert, &e), MK_EAUTH);
  OCSP_RESPONSE *r = response_from(resp, rlen);
  OCSP_BASICRESP *bs = OCSP_response_get1_basic(r);
  assert_int_equal(sk_X509_num(OCSP_resp_get0_certs(bs)), 1);
  ASN1_GENERALIZEDTIME *tu = NULL, *nu = NULL;
  OCSP_single_get0_status(OCSP_resp_get0(bs, 0), NULL, NULL, &tu, &nu);
  int days = 0, secs = 0;
  assert_int_equal(ASN1_TIME_diff(&days, &secs, tu, nu), 1);
  assert_int_equal(days * 86400 + secs, 600);
  OCSP_BASICRESP_free(bs);
  OCSP_RESPONSE_free(r);
  free(resp);

  /* signers that may not sign: the answer is internalError */
  size_t len = 0;
  unsigned char *req = testca_read("req.der", &len);
  EVP_PKEY *lkey = testca_key(MK_PKI_SM2);
  X509 *foreign = NULL;
  assert_mk_ok(mk_pki_ocsp_responder_cert(&other, rkey, now, 7, &foreign, &e));
  mk_pki_ocsp_signer bad = {foreign, rkey, 0};
  assert_int_equal(respond_bytes(&ca, &bad, &t, req, len, &e), MK_PKI_OCSP_INTERNAL_ERROR);
  assert_msg(&e, "not issued by CA ca_test");
  bad = (mk_pki_ocsp_signer){rcert, lkey, 0};
  assert_int_equal(respond_bytes(&ca, &bad, &t, req, len, &e), MK_PKI_OCSP_INTERNAL_ERROR);
  assert_msg(&e, "does not match");
  X509 *reissued = NULL;
  assert_mk_ok(mk_pki_ocsp_responder_cert(&ca, lkey, now, 1, &reissued, &e));
  X509_EXTENSION_free(X509_delete_ext(reissued, X509_get_ext_by_NID(reissued, NID_ext_key_usage, -1)));
  assert_mk_ok(mk_pki_sign_cert(reissued, ca.key, &e));
  bad = (mk_pki_ocsp_signer){reissued, lkey, 0};
  assert_int_equal(respond_bytes(&ca, &bad, &t, req, len, &e), MK_PKI_OCSP_INTERNAL_ERROR);
  assert_msg(&e, "OCSPSigning");
  /* outside its validity */
  unsigned char *out_der = NULL;
  size_t out_len = 0;
  assert_int_equal(mk_pki_ocsp_respond(&ca, &signer, req, len, lookup, &t, now + 8 * 86400,
                                       &out_der, &out_len, &e),
                   MK_PKI_OCSP_INTERNAL_ERROR);
  assert_msg(&e, "not valid now");
  free(out_der);
  assert_int_equal(mk_pki_ocsp_respond(&ca, &signer, req, len, lookup, &t, now - 60, &out_der,
                                       &out_len, &e),
                   MK_PKI_OCSP_INTERNAL_ERROR);
  free(out_der);

  X509_free(reissued);
  X509_free(foreign);
  EVP_PKEY_free(lkey);
  free(req);
  X509_free(rcert);
  EVP_PKEY_free(rkey);
  X509_free(leaf);
  mk_pki_ca_clear(&ca);
  mk_pki_ca_clear(&other);
}

static void test_responder_cert_limits(void **state) {
  (void)state;
  mk_err e;
  mk_pki_ca ca, short_ca;
  int64_t now = time(NULL);
  EVP_PKEY *k = testca_key(MK_PKI_SM2);
  X509 *x = (X509 *)1;
  /* 50 characters: with " OCSP Responder" it would pass ub-common-name */
  testca_make(&ca, MK_PKI_SM2, "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十");
  assert_mk_fails(mk_pki_ocsp_responder_cert(&ca, k, now, 0, &x, &e), MK_EINVAL);
  assert_null(x);
  assert_mk_fails(mk_pki_ocsp_responder_cert(&ca, k, now, MK_PKI_OCSP_RESPONDER_DAYS_MAX + 1, &x,
                                             &e),
                  MK_EINVAL);
  EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  assert_mk_fails(mk_pki_ocsp_responder_cert(&ca, p256, now, 1, &x, &e), MK_EINVAL);
  EVP_PKEY_free(p256);
  assert_mk_fails(mk_pki_ocsp_responder_cert(&ca, k, now + 86400L * 4000, 1, &x, &e), MK_EINVAL);
  assert_msg(&e, "expired");

  /* a CN that would grow past 64 characters gives way to the plain name */
  assert_mk_ok(mk_pki_ocsp_responder_cert(&ca, k, now, 1, &x, &e));
  char cn[128];
  assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn) > 0);
  assert_string_equal(cn, "OCSP Responder");
  assert_mk_ok(mk_pki_verify_cert(x, X509_get0_pubkey(ca.cert), &e));
  X509_free(x);

  /* notAfter stops at the CA's */
  testca_make(&short_ca, MK_PKI_SM2, "Short CA");
  X509_gmtime_adj(X509_getm_notAfter(short_ca.cert), 10L * 86400);
  assert_mk_ok(mk_pki_sign_cert(short_ca.cert, short_ca.key, &e));
  assert_mk_ok(mk_pki_ocsp_responder_cert(&short_ca, k, now, 30, &x, &e));
  assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(short_ca.cert)), 0);
  X509_free(x);

  EVP_PKEY_free(k);
  mk_pki_ca_clear(&ca);
  mk_pki_ca_clear(&short_ca);
}

/* ---- SM2 CA: openssl reads the status, we check the signature ---------- */

static void test_sm2(void **state) {
  (void)state;
  mk_err e;
  mk_pki_ca ca, other;
  table t = {0};
  char out[TESTCA_OUT_MAX];
  testca_make(&ca, MK_PKI_SM2, "SM2 测试 CA");
  testca_make(&other, MK_PKI_SM2, "Other SM2 CA");
  X509 *leaf = testca_leaf(&ca, serial_leaf, sizeof serial_leaf, NULL);
  testca_write_pem("ca.pem", ca.cert);
  testca_write_pem("leaf.pem", leaf);
  table_set(&t, serial_leaf, sizeof serial_leaf, MK_PKI_CERT_GOOD, 0, 0);

  assert_run_ok(out, "openssl ocsp -issuer ca.pem -cert leaf.pem -reqout req.der");
  assert_int_equal(respond_files(&ca, NULL, &t, "req.der", "resp.der"), 0);
  assert_run_ok(out, "openssl ocsp -respin resp.der -noverify -issuer ca.pem -cert "
                                   "leaf.pem -no_nonce");
  assert_contains(out, "leaf.pem: good");
  /* OpenSSL 3.0 checks SM2 with the empty ID, so it must fail ours */
  testca_run(out, "openssl ocsp -respin resp.der -issuer ca.pem -CAfile ca.pem -cert leaf.pem "
                  "-no_nonce");
  assert_contains(out, "Response Verify Failure");

  size_t rlen = 0, qlen = 0;
  unsigned char *resp = testca_read("resp.der", &rlen);
  unsigned char *reqb = testca_read("req.der", &qlen);
  assert_mk_ok(mk_pki_ocsp_verify(resp, rlen, ca.cert, &e));
  assert_mk_fails(mk_pki_ocsp_verify(resp, rlen, other.cert, &e), MK_EAUTH);
  OCSP_RESPONSE *r = response_from(resp, rlen);
  OCSP_BASICRESP *bs = OCSP_response_get1_basic(r);
  const unsigned char *qp = reqb;
  OCSP_REQUEST *req = d2i_OCSP_REQUEST(NULL, &qp, (long)qlen);
  assert_int_equal(OCSP_check_nonce(req, bs), 1);
  assert_int_equal(OBJ_obj2nid(OCSP_resp_get0_tbs_sigalg(bs)->algorithm), NID_SM2_with_SM3);
  OCSP_REQUEST_free(req);
  OCSP_BASICRESP_free(bs);
  OCSP_RESPONSE_free(r);
  /* a flipped bit in the signature, then in the signed data */
  resp[rlen - 3] ^= 0x01;
  assert_mk_fails(mk_pki_ocsp_verify(resp, rlen, ca.cert, &e), MK_ECRYPTO);
  resp[rlen - 3] ^= 0x01;
  resp[40] ^= 0x01;
  assert_true(mk_pki_ocsp_verify(resp, rlen, ca.cert, &e) < 0);
  free(resp);

  /* revoked */
  table_set(&t, serial_leaf, sizeof serial_leaf, MK_PKI_CERT_REVOKED, INT64_C(1798761600),
            MK_PKI_REASON_AFFILIATION_CHANGED);
  assert_int_equal(respond_files(&ca, NULL, &t, "req.der", "resp.der"), 0);
  assert_run_ok(out, "openssl ocsp -respin resp.der -noverify -issuer ca.pem -cert "
                                   "leaf.pem -no_nonce");
  assert_contains(out, "leaf.pem: revoked");
  assert_contains(out, "Reason: affiliationChanged");
  resp = testca_read("resp.der", &rlen);
  assert_mk_ok(mk_pki_ocsp_verify(resp, rlen, ca.cert, &e));
  free(resp);

  /* a delegated SM2 responder */
  EVP_PKEY *rkey = testca_key(MK_PKI_SM2);
  X509 *rcert = NULL;
  assert_mk_ok(mk_pki_ocsp_responder_cert(&ca, rkey, time(NULL), 2, &rcert, &e));
  assert_mk_ok(mk_pki_verify_cert(rcert, X509_get0_pubkey(ca.cert), &e));
  testca_write_pem("responder.pem", rcert);
  assert_run_ok(out, "openssl verify -vfyopt distid:" MK_PKI_SM2_ID " -CAfile ca.pem responder.pem");
  assert_contains(out, "responder.pem: OK");
  mk_pki_ocsp_signer signer = {rcert, rkey, 0};
  assert_int_equal(respond_files(&ca, &signer, &t, "req.der", "resp.der"), 0);
  assert_run_ok(out, "openssl ocsp -respin resp.der -noverify -issuer ca.pem -cert "
                                   "leaf.pem -no_nonce");
  assert_contains(out, "leaf.pem: revoked");
  resp = testca_read("resp.der", &rlen);
  assert_mk_ok(mk_pki_ocsp_verify(resp, rlen, ca.cert, &e));
  assert_mk_fails(mk_pki_ocsp_verify(resp, rlen, other.cert, &e), MK_EAUTH);
  free(resp);

  /* the CA's certificate with a key that is not its own: we refuse to sign */
  mk_pki_ocsp_signer wrong = {ca.cert, other.key, 0};
  unsigned char *forged = NULL;
  size_t flen = 0;
  assert_int_equal(mk_pki_ocsp_respond(&ca, &wrong, reqb, qlen, lookup, &t, time(NULL), &forged,
                                       &flen, &e),
                   MK_PKI_OCSP_INTERNAL_ERROR);
  assert_msg(&e, "does not match");
  free(forged);

  free(reqb);
  X509_free(rcert);
  EVP_PKEY_free(rkey);
  X509_free(leaf);
  mk_pki_ca_clear(&ca);
  mk_pki_ca_clear(&other);
}

/* ---- GET form and unsigned answers -------------------------------------- */

/* Percent-encode base64 text as a URL path segment (RFC 3986). */
static void url_encode(const char *in, char *out) {
  for (; *in; in++) {
    if (*in == '+' || *in == '/' || *in == '=')
      out += sprintf(out, "%%%02X", (unsigned char)*in);
    else
      *out++ = *in;
  }
  *out = '\0';
}

static void test_get_form(void **state) {
  (void)state;
  mk_err e;
  mk_pki_ca ca;
  table t = {0};
  testca_make(&ca, MK_PKI_SM2, "SM2 CA");
  X509 *leaf = testca_leaf(&ca, serial_leaf, sizeof serial_leaf, NULL);
  table_set(&t, serial_leaf, sizeof serial_leaf, MK_PKI_CERT_GOOD, 0, 0);
  OCSP_REQUEST *req = request_for(ca.cert, leaf, EVP_sha1());
  OCSP_request_add1_nonce(req, NULL, 16);
  size_t len = 0;
  unsigned char *der = request_der(req, &len);
  char b64[1024], path[3072];
  assert_true(mk_base64_encode(der, len, b64, sizeof b64, &e) > 0);
  url_encode(b64, path);

  unsigned char *back = NULL;
  size_t blen = 0;
  assert_mk_ok(mk_pki_ocsp_request_parse(path, strlen(path), &back, &blen, &e));
  assert_int_equal(blen, len);
  assert_memory_equal(back, der, len);
  assert_int_equal(respond_bytes(&ca, NULL, &t, back, blen, &e), 0);
  free(back);
  /* plain base64 (a raw '/' as some clients send it) and lower-case escapes */
  assert_mk_ok(mk_pki_ocsp_request_parse(b64, strlen(b64), &back, &blen, &e));
  assert_memory_equal(back, der, len);
  free(back);
  for (char *p = path; *p; p++)
    if (p[0] == '%' && p[1] == '2')
      p[2] = (char)(p[2] == 'F' ? 'f' : p[2] == 'B' ? 'b' : p[2]);
  assert_mk_ok(mk_pki_ocsp_request_parse(path, strlen(path), &back, &blen, &e));
  assert_memory_equal(back, der, len);
  free(back);

  const char *bad[] = {"", "%", "%2", "%zz", "MA%3", "abc", "MA=", "M A==", "MA==%00", "-_-_"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    back = (unsigned char *)"x";
    assert_mk_fails(mk_pki_ocsp_request_parse(bad[i], strlen(bad[i]), &back, &blen, &e), MK_EINVAL);
    assert_null(back);
  }
  /* past the cap, before and after decoding */
  size_t huge = 3 * (mk_base64_enc_len(MK_PKI_OCSP_REQUEST_MAX) - 1) + 1;
  char *big = malloc(huge + 1);
  memset(big, 'A', huge);
  assert_mk_fails(mk_pki_ocsp_request_parse(big, huge, &back, &blen, &e), MK_ETOOBIG);
  size_t over = mk_base64_enc_len(MK_PKI_OCSP_REQUEST_MAX + 3) - 1;
  assert_mk_fails(mk_pki_ocsp_request_parse(big, over, &back, &blen, &e), MK_ETOOBIG);
  size_t at_cap = mk_base64_enc_len(MK_PKI_OCSP_REQUEST_MAX - 1) - 1; /* 16383 bytes */
  assert_mk_ok(mk_pki_ocsp_request_parse(big, at_cap, &back, &blen, &e));
  assert_int_equal(blen, MK_PKI_OCSP_REQUEST_MAX - 1);
  assert_int_equal(respond_bytes(&ca, NULL, &t, back, blen, &e), MK_PKI_OCSP_MALFORMED_REQUEST);
  free(back);
  free(big);

  free(der);
  OCSP_REQUEST_free(req);
  X509_free(leaf);
  mk_pki_ca_clear(&ca);
}

static void test_error_responses(void **state) {
  (void)state;
  mk_err e;
  mk_pki_ca ca;
  char out[TESTCA_OUT_MAX];
  unsigned char *der = NULL;
  size_t len = 0;
  testca_make(&ca, MK_PKI_SM2, "SM2 CA");
  static const struct {
    mk_pki_ocsp_status st;
    const char *text;
  } all[] = {
      {MK_PKI_OCSP_MALFORMED_REQUEST, "malformedrequest (1)"},
      {MK_PKI_OCSP_INTERNAL_ERROR, "internalerror (2)"},
      {MK_PKI_OCSP_TRY_LATER, "trylater (3)"},
      {MK_PKI_OCSP_SIG_REQUIRED, "sigrequired (5)"},
      {MK_PKI_OCSP_UNAUTHORIZED, "unauthorized (6)"},
  };
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    assert_mk_ok(mk_pki_ocsp_error_response(all[i].st, &der, &len, &e));
    assert_int_equal(response_status(der, len), all[i].st);
    testca_write("err.resp", der, len);
    testca_run(out, "openssl ocsp -respin err.resp -resp_text -noverify");
    assert_contains(out, all[i].text);
    /* not something a relying party may accept */
    assert_mk_fails(mk_pki_ocsp_verify(der, len, ca.cert, &e), MK_EINVAL);
    free(der);
  }
  assert_mk_fails(mk_pki_ocsp_error_response(MK_PKI_OCSP_SUCCESSFUL, &der, &len, &e), MK_EINVAL);
  assert_null(der);
  assert_mk_fails(mk_pki_ocsp_error_response((mk_pki_ocsp_status)4, &der, &len, &e), MK_EINVAL);

  const unsigned char junk[] = {0x30, 0x03, 0x0A, 0x01, 0x00};
  assert_mk_fails(mk_pki_ocsp_verify(junk, sizeof junk, ca.cert, &e), MK_EINVAL);
  assert_mk_fails(mk_pki_ocsp_verify(junk, 0, ca.cert, &e), MK_EINVAL);
  assert_mk_fails(mk_pki_ocsp_verify(NULL, 5, ca.cert, &e), MK_EINVAL);
  mk_pki_ca_clear(&ca);
}

/* The CAs mkeyd really uses (mk_pki_ca_create_hierarchy's issuing CA) sign
 * CRLs, answer OCSP and certify a delegated responder. */
static void test_builtin_hierarchy(void **state) {
  (void)state;
  mk_err e;
  mk_pki_ca root, issuing;
  table t = {0};
  int64_t now = time(NULL);
  assert_mk_ok(mk_pki_ca_create_hierarchy(MK_PKI_SM2, "sm2-sandbox", "mkey 沙箱 SM2 CA",
                                          "https://mkey.test", now - 60, &root, &issuing, &e));
  X509 *leaf = testca_leaf(&issuing, serial_leaf, sizeof serial_leaf, NULL);
  table_set(&t, serial_leaf, sizeof serial_leaf, MK_PKI_CERT_REVOKED, now - 30,
            MK_PKI_REASON_KEY_COMPROMISE);

  mk_pki_revoked r = {serial_leaf, sizeof serial_leaf, now - 30, MK_PKI_REASON_KEY_COMPROMISE};
  unsigned char *der = NULL;
  size_t len = 0;
  assert_mk_ok(mk_pki_crl_build(&issuing, &r, 1, 1, now, now + 86400, &der, &len, &e));
  const unsigned char *p = der;
  X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
  assert_non_null(crl);
  assert_mk_ok(mk_pki_verify_crl(crl, X509_get0_pubkey(issuing.cert), &e));
  X509_CRL_free(crl);
  free(der);

  EVP_PKEY *rkey = testca_key(MK_PKI_SM2);
  X509 *rcert = NULL;
  assert_mk_ok(mk_pki_ocsp_responder_cert(&issuing, rkey, now - 30, 2, &rcert, &e));
  assert_mk_ok(mk_pki_verify_cert(rcert, X509_get0_pubkey(issuing.cert), &e));
  mk_pki_ocsp_signer delegated = {rcert, rkey, 0};
  OCSP_REQUEST *req = request_for(issuing.cert, leaf, EVP_sha256());
  der = request_der(req, &len);
  for (int d = 0; d < 2; d++) {
    unsigned char *resp = NULL;
    size_t rlen = 0;
    assert_int_equal(mk_pki_ocsp_respond(&issuing, d ? &delegated : NULL, der, len, lookup, &t,
                                         now, &resp, &rlen, &e),
                     0);
    assert_mk_ok(mk_pki_ocsp_verify(resp, rlen, issuing.cert, &e));
    assert_mk_fails(mk_pki_ocsp_verify(resp, rlen, root.cert, &e), MK_EAUTH);
    OCSP_RESPONSE *whole = response_from(resp, rlen);
    OCSP_BASICRESP *bs = OCSP_response_get1_basic(whole);
    int reason = -1;
    assert_int_equal(OCSP_single_get0_status(OCSP_resp_get0(bs, 0), &reason, NULL, NULL, NULL),
                     V_OCSP_CERTSTATUS_REVOKED);
    assert_int_equal(reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(whole);
    free(resp);
  }
  free(der);
  OCSP_REQUEST_free(req);
  X509_free(rcert);
  EVP_PKEY_free(rkey);
  X509_free(leaf);
  mk_pki_ca_clear(&root);
  mk_pki_ca_clear(&issuing);
}

/* Each seed of tests/fuzz/corpus/ocsp/ still gets the answer it was made
 * for, so the corpus keeps reaching the paths it was meant to reach. */
static void test_fuzz_seeds(void **state) {
  (void)state;
  static const struct {
    const char *name;
    int post;   /* mk_pki_ocsp_respond on the bytes */
    int first;  /* status of the first CertID when post is successful */
    int get;    /* mk_pki_ocsp_request_parse (then respond: successful) */
    int verify; /* mk_pki_ocsp_verify */
  } seeds[] = {
      {"sha1-nonce-good", 0, V_OCSP_CERTSTATUS_GOOD, MK_EINVAL, MK_EINVAL},
      {"sha256-revoked", 0, V_OCSP_CERTSTATUS_REVOKED, MK_EINVAL, MK_EINVAL},
      {"sm3-unknown", 0, V_OCSP_CERTSTATUS_UNKNOWN, MK_EINVAL, MK_EINVAL},
      {"four-certids", 0, V_OCSP_CERTSTATUS_GOOD, MK_EINVAL, MK_EINVAL},
      {"nonce-32", 0, V_OCSP_CERTSTATUS_REVOKED, MK_EINVAL, MK_EINVAL},
      {"nonce-1-critical", 0, V_OCSP_CERTSTATUS_REVOKED, MK_EINVAL, MK_EINVAL},
      {"store-failure", MK_PKI_OCSP_TRY_LATER, 0, MK_EINVAL, MK_EINVAL},
      {"nonce-33", MK_PKI_OCSP_MALFORMED_REQUEST, 0, MK_EINVAL, MK_EINVAL},
      {"nonce-empty", MK_PKI_OCSP_MALFORMED_REQUEST, 0, MK_EINVAL, MK_EINVAL},
      {"nonce-raw", MK_PKI_OCSP_MALFORMED_REQUEST, 0, MK_EINVAL, MK_EINVAL},
      {"explicit-version", MK_PKI_OCSP_MALFORMED_REQUEST, 0, MK_EINVAL, MK_EINVAL},
      {"trailing-byte", MK_PKI_OCSP_MALFORMED_REQUEST, 0, MK_EINVAL, MK_EINVAL},
      {"truncated", MK_PKI_OCSP_MALFORMED_REQUEST, 0, MK_EINVAL, MK_EINVAL},
      {"long-form-length", MK_PKI_OCSP_MALFORMED_REQUEST, 0, MK_EINVAL, MK_EINVAL},
      {"garbage", MK_PKI_OCSP_MALFORMED_REQUEST, 0, MK_EINVAL, MK_EINVAL},
      {"empty", MK_PKI_OCSP_MALFORMED_REQUEST, 0, MK_EINVAL, MK_EINVAL},
      {"get-path", MK_PKI_OCSP_MALFORMED_REQUEST, 0, 0, MK_EINVAL},
      {"get-path-raw", MK_PKI_OCSP_MALFORMED_REQUEST, 0, 0, MK_EINVAL},
      {"get-path-bad-escape", MK_PKI_OCSP_MALFORMED_REQUEST, 0, MK_EINVAL, MK_EINVAL},
      {"response-mkey", MK_PKI_OCSP_MALFORMED_REQUEST, 0, MK_EINVAL, 0},
      {"response-mkey-delegated", MK_PKI_OCSP_MALFORMED_REQUEST, 0, MK_EINVAL, 0},
      {"response-openssl-sm2", MK_PKI_OCSP_MALFORMED_REQUEST, 0, MK_EINVAL, MK_ECRYPTO},
  };
  const char *src = getenv("MKEY_SOURCE_DIR");
  assert_non_null(src);
  mk_err e;
  mk_pki_ca ca;
  memset(&ca, 0, sizeof ca);
  BIO *b = BIO_new_mem_buf(ocsp_fuzz_key_pem, -1);
  ca.key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
  BIO_free(b);
  b = BIO_new_mem_buf(ocsp_fuzz_cert_pem, -1);
  ca.cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
  BIO_free(b);
  assert_non_null(ca.key);
  assert_non_null(ca.cert);
  ca.type = MK_PKI_SM2;

  for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
    char path[512];
    snprintf(path, sizeof path, "%s/tests/fuzz/corpus/ocsp/%s", src, seeds[i].name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
      print_error("cannot open '%s'\n", path);
      fail();
    }
    unsigned char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    unsigned char *resp = NULL, *der = NULL;
    size_t rlen = 0, dlen = 0;
    print_message("%s\n", seeds[i].name);
    int rc = mk_pki_ocsp_respond(&ca, NULL, buf, n, ocsp_fuzz_status, NULL, OCSP_FUZZ_NOW, &resp,
                                 &rlen, &e);
    assert_int_equal(rc, seeds[i].post);
    if (rc == 0) {
      OCSP_RESPONSE *whole = response_from(resp, rlen);
      OCSP_BASICRESP *bs = OCSP_response_get1_basic(whole);
      assert_int_equal(OCSP_single_get0_status(OCSP_resp_get0(bs, 0), NULL, NULL, NULL, NULL),
                       seeds[i].first);
      OCSP_BASICRESP_free(bs);
      OCSP_RESPONSE_free(whole);
    }
    free(resp);
    assert_int_equal(mk_pki_ocsp_request_parse((const char *)buf, n, &der, &dlen, &e),
                     seeds[i].get);
    if (der != NULL) {
      assert_int_equal(mk_pki_ocsp_respond(&ca, NULL, der, dlen, ocsp_fuzz_status, NULL,
                                           OCSP_FUZZ_NOW, &resp, &rlen, &e),
                       0);
      free(resp);
      free(der);
    }
    assert_int_equal(mk_pki_ocsp_verify(buf, n, ca.cert, &e), seeds[i].verify);
  }
  mk_pki_ca_clear(&ca);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rsa_good_revoked_nonce),
      cmocka_unit_test(test_rsa_unknown_and_other_issuer),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_nonce),
      cmocka_unit_test(test_lookup_failures),
      cmocka_unit_test(test_delegated_rsa),
      cmocka_unit_test(test_responder_cert_limits),
      cmocka_unit_test(test_sm2),
      cmocka_unit_test(test_get_form),
      cmocka_unit_test(test_error_responses),
      cmocka_unit_test(test_builtin_hierarchy),
      cmocka_unit_test(test_fuzz_seeds),
  };
  return cmocka_run_group_tests(tests, testca_dir_make, testca_dir_remove);
}
