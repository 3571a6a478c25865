#include "pki/ocsp.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "pki/ca.h"
#include "util/enc.h"
#include "util/guard.h"

/* ---- encoding helpers ------------------------------------------------- */

/* i2d of an OCSPResponse into a malloc'd block (caller frees with free()). */
static int response_der(OCSP_RESPONSE *resp, unsigned char **der, size_t *len, mk_err *e) {
  int n = i2d_OCSP_RESPONSE(resp, NULL);
  if (n <= 0)
    return mk_err_ossl(e, MK_ECRYPTO, "encoding the OCSP response");
  unsigned char *buf = malloc((size_t)n);
  if (buf == NULL)
    return mk_err_set(e, MK_ENOMEM, "out of memory");
  unsigned char *p = buf;
  if (i2d_OCSP_RESPONSE(resp, &p) != n) {
    free(buf);
    return mk_err_ossl(e, MK_ECRYPTO, "encoding the OCSP response");
  }
  *der = buf;
  *len = (size_t)n;
  return 0;
}

int mk_pki_ocsp_error_response(mk_pki_ocsp_status status, unsigned char **der, size_t *len,
                               mk_err *e) {
  *der = NULL;
  *len = 0;
  if (status != MK_PKI_OCSP_MALFORMED_REQUEST && status != MK_PKI_OCSP_INTERNAL_ERROR &&
      status != MK_PKI_OCSP_TRY_LATER && status != MK_PKI_OCSP_SIG_REQUIRED &&
      status != MK_PKI_OCSP_UNAUTHORIZED)
    return mk_err_set(e, MK_EINVAL, "OCSP status %d is not an error status", (int)status);
  OCSP_RESPONSE *resp = OCSP_response_create((int)status, NULL);
  if (resp == NULL)
    return mk_err_ossl(e, MK_ENOMEM, "making the OCSP response");
  int rc = response_der(resp, der, len, e);
  OCSP_RESPONSE_free(resp);
  return rc;
}

/* ---- request ---------------------------------------------------------- */

/* Set e (code MK_EINVAL) and return the OCSP status for the answer. */
static int refuse(mk_err *e, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(mk_err *e, int status, const char *fmt, ...) {
  if (e != NULL) {
    char msg[MK_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mk_err_set(e, MK_EINVAL, "%s", msg);
  }
  ERR_clear_error();
  return status;
}

/* TBSRequest.version is DEFAULT v1, which DER leaves out (X.690 §11.5):
 * any explicit [0] is either not DER or a version we do not speak. The
 * input is known to be DER already (it re-encodes to itself). */
static int has_explicit_version(const unsigned char *der, size_t len) {
  const unsigned char *p = der;
  long body = 0;
  int tag = 0, cls = 0;
  if (ASN1_get_object(&p, &body, &tag, &cls, (long)len) & 0x80)
    return 1;
  long left = (long)len - (long)(p - der);
  if (ASN1_get_object(&p, &body, &tag, &cls, left) & 0x80)
    return 1;
  return body > 0 && p[0] == 0xA0;
}

/* The request's nonce (RFC 8954 §2.1): extnValue holds the DER of an
 * OCTET STRING of 1..32 octets. Returns 0 or a refusal status. */
static int check_nonce(X509_EXTENSION *ext, mk_err *e) {
  const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(ext);
  const unsigned char *p = ASN1_STRING_get0_data(v);
  long n = ASN1_STRING_length(v);
  const unsigned char *start = p;
  ASN1_OCTET_STRING *nonce = d2i_ASN1_OCTET_STRING(NULL, &p, n);
  int status = 0;
  if (nonce == NULL || p != start + n) {
    status = refuse(e, MK_PKI_OCSP_MALFORMED_REQUEST, "the OCSP nonce is not an OCTET STRING");
  } else if (i2d_ASN1_OCTET_STRING(nonce, NULL) != n) {
    status = refuse(e, MK_PKI_OCSP_MALFORMED_REQUEST, "the OCSP nonce is not DER");
  } else if (ASN1_STRING_length(nonce) < MK_PKI_OCSP_NONCE_MIN ||
             ASN1_STRING_length(nonce) > MK_PKI_OCSP_NONCE_MAX) {
    status = refuse(e, MK_PKI_OCSP_MALFORMED_REQUEST, "the OCSP nonce has %d octets, not %d..%d",
                    ASN1_STRING_length(nonce), MK_PKI_OCSP_NONCE_MIN, MK_PKI_OCSP_NONCE_MAX);
  }
  ASN1_OCTET_STRING_free(nonce);
  return status;
}

/* Parse der strictly into *out (caller frees). Returns 0, or the refusal
 * status with e set and *out NULL. */
static int parse_request(const unsigned char *der, size_t len, OCSP_REQUEST **out, mk_err *e) {
  OCSP_REQUEST *req = NULL;
  unsigned char *again = NULL;
  int status = 0, n = 0, count = 0, nonces = 0;
  *out = NULL;
  if (der == NULL || len == 0)
    return refuse(e, MK_PKI_OCSP_MALFORMED_REQUEST, "empty OCSP request");
  if (len > MK_PKI_OCSP_REQUEST_MAX)
    return refuse(e, MK_PKI_OCSP_MALFORMED_REQUEST, "OCSP request over %d bytes",
                  MK_PKI_OCSP_REQUEST_MAX);
  const unsigned char *p = der;
  req = d2i_OCSP_REQUEST(NULL, &p, (long)len);
  if (req == NULL) {
    status = refuse(e, MK_PKI_OCSP_MALFORMED_REQUEST, "not an OCSP request");
    goto out;
  }
  if (p != der + len) {
    status = refuse(e, MK_PKI_OCSP_MALFORMED_REQUEST, "bytes after the OCSP request");
    goto out;
  }
  n = i2d_OCSP_REQUEST(req, &again);
  if (n < 0 || (size_t)n != len || memcmp(again, der, len) != 0) {
    status = refuse(e, MK_PKI_OCSP_MALFORMED_REQUEST, "the OCSP request is not DER");
    goto out;
  }
  if (has_explicit_version(der, len)) {
    status = refuse(e, MK_PKI_OCSP_MALFORMED_REQUEST, "the OCSP request has an explicit version");
    goto out;
  }
  count = OCSP_request_onereq_count(req);
  if (count < 1 || count > MK_PKI_OCSP_CERTS_MAX) {
    status = refuse(e, MK_PKI_OCSP_MALFORMED_REQUEST, "the OCSP request asks about %d certificates, "
                    "not 1..%d", count, MK_PKI_OCSP_CERTS_MAX);
    goto out;
  }
  for (int i = 0; i < OCSP_REQUEST_get_ext_count(req); i++) {
    X509_EXTENSION *ext = OCSP_REQUEST_get_ext(req, i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) == NID_id_pkix_OCSP_Nonce) {
      if (++nonces > 1) {
        status = refuse(e, MK_PKI_OCSP_MALFORMED_REQUEST, "the OCSP request has two nonces");
        goto out;
      }
      if ((status = check_nonce(ext, e)) != 0)
        goto out;
    } else if (X509_EXTENSION_get_critical(ext)) {
      status = refuse(e, MK_PKI_OCSP_MALFORMED_REQUEST,
                      "the OCSP request has an unknown critical extension");
      goto out;
    }
  }
  for (int i = 0; i < count; i++) {
    if (OCSP_ONEREQ_get_ext_by_critical(OCSP_request_onereq_get0(req, i), 1, -1) >= 0) {
      status = refuse(e, MK_PKI_OCSP_MALFORMED_REQUEST,
                      "an OCSP single request has an unknown critical extension");
      goto out;
    }
  }
  *out = req;
  req = NULL;
out:
  OPENSSL_free(again);
  OCSP_REQUEST_free(req);
  return status;
}

/* ---- matching CertIDs against the CA ---------------------------------- */

static const int id_digests[] = {NID_sha1, NID_sha256, NID_sha384, NID_sha512, NID_sm3};
#define ID_DIGESTS (sizeof id_digests / sizeof id_digests[0])

/* The CA's issuerNameHash and issuerKeyHash per digest, made on first use. */
typedef struct issuer_hashes {
  int done[ID_DIGESTS];
  unsigned char name[ID_DIGESTS][EVP_MAX_MD_SIZE];
  unsigned char key[ID_DIGESTS][EVP_MAX_MD_SIZE];
  unsigned int name_len[ID_DIGESTS];
  unsigned int key_len[ID_DIGESTS];
} issuer_hashes;

/* 1 when cid names ca as issuer, 0 when not (other CA, other digest),
 * negative on a hashing failure. */
static int issuer_matches(X509 *ca_cert, issuer_hashes *h, OCSP_CERTID *cid, mk_err *e) {
  ASN1_OCTET_STRING *name_hash = NULL, *key_hash = NULL;
  ASN1_OBJECT *md_obj = NULL;
  if (OCSP_id_get0_info(&name_hash, &md_obj, &key_hash, NULL, cid) != 1)
    return 0;
  int nid = OBJ_obj2nid(md_obj);
  size_t i = 0;
  while (i < ID_DIGESTS && id_digests[i] != nid)
    i++;
  if (i == ID_DIGESTS)
    return 0;
  if (!h->done[i]) {
    const EVP_MD *md = EVP_get_digestbynid(nid);
    if (md == NULL ||
        X509_NAME_digest(X509_get_subject_name(ca_cert), md, h->name[i], &h->name_len[i]) != 1 ||
        X509_pubkey_digest(ca_cert, md, h->key[i], &h->key_len[i]) != 1)
      return mk_err_ossl(e, MK_ECRYPTO, "hashing the CA name and key");
    h->done[i] = 1;
  }
  return ASN1_STRING_length(name_hash) == (int)h->name_len[i] &&
         ASN1_STRING_length(key_hash) == (int)h->key_len[i] &&
         CRYPTO_memcmp(ASN1_STRING_get0_data(name_hash), h->name[i], h->name_len[i]) == 0 &&
         CRYPTO_memcmp(ASN1_STRING_get0_data(key_hash), h->key[i], h->key_len[i]) == 0;
}

/* The CertID's serial as a big-endian magnitude without leading zeros;
 * 0 when it cannot be one of ours (negative, zero, over 20 octets). */
static size_t serial_bytes(OCSP_CERTID *cid, const unsigned char **p) {
  ASN1_INTEGER *serial = NULL;
  if (OCSP_id_get0_info(NULL, NULL, NULL, &serial, cid) != 1 || serial == NULL ||
      ASN1_STRING_type(serial) != V_ASN1_INTEGER)
    return 0;
  const unsigned char *d = ASN1_STRING_get0_data(serial);
  size_t n = (size_t)ASN1_STRING_length(serial);
  while (n > 0 && d[0] == 0) {
    d++;
    n--;
  }
  if (n > MK_PKI_SERIAL_MAX)
    return 0;
  *p = d;
  return n;
}

/* ---- the signer ------------------------------------------------------- */

/* Whether signer can sign for ca at now; 0 or a negative code with e set. */
static int check_signer(const mk_pki_ca *ca, X509 *cert, EVP_PKEY *key, int64_t now, int *delegated,
                        mk_err *e) {
  if (cert == NULL || key == NULL)
    return mk_err_set(e, MK_EINVAL, "the OCSP signer has no certificate or no key");
  if (X509_check_private_key(cert, key) != 1)
    return mk_err_ossl(e, MK_EINVAL, "the OCSP signer's key does not match its certificate");
  *delegated = X509_cmp(cert, ca->cert) != 0;
  if (!*delegated)
    return 0;
  if (X509_check_issued(ca->cert, cert) != X509_V_OK)
    return mk_err_set(e, MK_EINVAL, "the OCSP responder certificate was not issued by CA %s",
                      ca->id);
  if ((X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) == 0 ||
      (X509_get_extended_key_usage(cert) & XKU_OCSP_SIGN) == 0)
    return mk_err_set(e, MK_EINVAL, "the OCSP responder certificate lacks id-kp-OCSPSigning");
  int before = ASN1_TIME_cmp_time_t(X509_get0_notBefore(cert), (time_t)now);
  int after = ASN1_TIME_cmp_time_t(X509_get0_notAfter(cert), (time_t)now);
  if (before == -2 || after == -2 || before > 0 || after < 0)
    return mk_err_set(e, MK_EINVAL, "the OCSP responder certificate is not valid now");
  return 0;
}

/* ---- the response ----------------------------------------------------- */

/* Status of one CertID into bs. Returns 0, a negative code (the answer
 * becomes internalError), or a positive OCSP status (the lookup failed). */
static int add_status(OCSP_BASICRESP *bs, OCSP_CERTID *cid, X509 *ca_cert, issuer_hashes *h,
                      mk_pki_ocsp_lookup lookup, void *ctx, ASN1_TIME *this_upd,
                      ASN1_TIME *next_upd, mk_err *e) {
  int rc = 0;
  ASN1_TIME *rev_time = NULL;
  mk_pki_cert_status st = {.state = MK_PKI_CERT_UNKNOWN, .revoked_at = 0,
                           .reason = MK_PKI_REASON_UNSPECIFIED};
  const unsigned char *serial = NULL;
  size_t serial_len = serial_bytes(cid, &serial);
  int mine = issuer_matches(ca_cert, h, cid, e);
  MK_TRY(mine);
  if (mine && serial_len > 0) {
    int lrc = lookup(ctx, serial, serial_len, &st);
    if (lrc == MK_ENOTFOUND) {
      st.state = MK_PKI_CERT_UNKNOWN;
    } else if (lrc == MK_EINTERNAL || lrc == MK_ENOMEM) {
      MK_FAIL(lrc, e, "the certificate status lookup failed (%s)", mk_code_name(lrc));
    } else if (lrc < 0) {
      mk_err_set(e, lrc, "the certificate status lookup failed (%s)", mk_code_name(lrc));
      return MK_PKI_OCSP_TRY_LATER;
    }
  }
  int reason = OCSP_REVOKED_STATUS_NOSTATUS;
  switch (st.state) {
  case MK_PKI_CERT_GOOD:
  case MK_PKI_CERT_UNKNOWN:
    break;
  case MK_PKI_CERT_REVOKED:
    MK_ENSURE(mk_pki_reason_allowed((int)st.reason), MK_EINTERNAL, e,
              "the lookup gave revocation reason %d, which mkey does not use", (int)st.reason);
    if (st.reason != MK_PKI_REASON_UNSPECIFIED)
      reason = (int)st.reason;
    MK_TRY(mk_pki_time_asn1(st.revoked_at, &rev_time, e));
    break;
  default:
    MK_FAIL(MK_EINTERNAL, e, "the lookup gave certificate state %d", (int)st.state);
  }
  MK_ENSURE(OCSP_basic_add1_status(bs, cid, (int)st.state, reason, rev_time, this_upd, next_upd) !=
                NULL,
            MK_ECRYPTO, e, "adding a certificate status");
out:
  ASN1_TIME_free(rev_time);
  return rc;
}

/* The signed BasicOCSPResponse for a parsed request, in *out. Returns the
 * OCSP status: 0 with *out set, or an error status with e set. */
static int answer(const mk_pki_ca *ca, const mk_pki_ocsp_signer *signer, OCSP_REQUEST *req,
                  mk_pki_ocsp_lookup lookup, void *ctx, int64_t now, OCSP_BASICRESP **out,
                  mk_err *e) {
  int status = MK_PKI_OCSP_INTERNAL_ERROR;
  OCSP_BASICRESP *bs = NULL;
  ASN1_TIME *this_upd = NULL, *next_upd = NULL;
  issuer_hashes h;
  X509 *cert = signer ? signer->cert : ca->cert;
  EVP_PKEY *key = signer ? signer->key : ca->key;
  int64_t next = signer && signer->next_update > 0 ? signer->next_update : MK_PKI_OCSP_NEXT_UPDATE;
  int delegated = 0;
  memset(&h, 0, sizeof h);

  if (check_signer(ca, cert, key, now, &delegated, e) < 0)
    goto out;
  if (now > INT64_MAX - next || mk_pki_time_asn1(now, &this_upd, e) < 0 ||
      mk_pki_time_asn1(now + next, &next_upd, e) < 0) {
    mk_err_set(e, MK_EINVAL, "the OCSP response times are out of range");
    goto out;
  }
  if ((bs = OCSP_BASICRESP_new()) == NULL) {
    mk_err_ossl(e, MK_ENOMEM, "making the OCSP response");
    goto out;
  }
  for (int i = 0; i < OCSP_request_onereq_count(req); i++) {
    OCSP_CERTID *cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i));
    int rc = add_status(bs, cid, ca->cert, &h, lookup, ctx, this_upd, next_upd, e);
    if (rc > 0)
      status = rc;
    if (rc != 0)
      goto out;
  }
  if (OCSP_copy_nonce(bs, req) <= 0) {
    mk_err_ossl(e, MK_ECRYPTO, "echoing the OCSP nonce");
    goto out;
  }
  /* RFC 6960 §4.2.2.3 byKey; the CA's own certificate is the client's
   * already, a delegated one is sent so the client can check it. */
  unsigned long flags = OCSP_RESPID_KEY | (delegated ? 0 : OCSP_NOCERTS);
  if (mk_pki_sign_ocsp(bs, cert, key, NULL, flags, e) < 0)
    goto out;
  *out = bs;
  bs = NULL;
  status = MK_PKI_OCSP_SUCCESSFUL;
out:
  if (status != MK_PKI_OCSP_SUCCESSFUL)
    ERR_clear_error();
  OCSP_BASICRESP_free(bs);
  ASN1_TIME_free(this_upd);
  ASN1_TIME_free(next_upd);
  return status;
}

int mk_pki_ocsp_respond(const mk_pki_ca *ca, const mk_pki_ocsp_signer *signer,
                        const unsigned char *req_der, size_t req_len, mk_pki_ocsp_lookup lookup,
                        void *ctx, int64_t now, unsigned char **resp_der, size_t *resp_len,
                        mk_err *e) {
  OCSP_REQUEST *req = NULL;
  OCSP_BASICRESP *bs = NULL;
  OCSP_RESPONSE *resp = NULL;
  *resp_der = NULL;
  *resp_len = 0;
  if (ca == NULL || ca->cert == NULL || lookup == NULL)
    return mk_err_set(e, MK_EINVAL, "OCSP responder without a CA certificate or a lookup");

  int status = parse_request(req_der, req_len, &req, e);
  if (status == 0)
    status = answer(ca, signer, req, lookup, ctx, now, &bs, e);
  if (status == 0) {
    resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
    if (resp == NULL || response_der(resp, resp_der, resp_len, e) < 0) {
      mk_err_set(e, MK_ECRYPTO, "encoding the OCSP response");
      status = MK_PKI_OCSP_INTERNAL_ERROR;
    }
  }
  if (status != 0) {
    /* e keeps the reason for the status; only a failure here replaces it. */
    int rc = mk_pki_ocsp_error_response((mk_pki_ocsp_status)status, resp_der, resp_len, NULL);
    if (rc < 0)
      status = mk_err_set(e, rc, "cannot make the OCSP error response");
  }
  ERR_clear_error();
  OCSP_RESPONSE_free(resp);
  OCSP_BASICRESP_free(bs);
  OCSP_REQUEST_free(req);
  return status;
}

/* ---- GET form --------------------------------------------------------- */

static int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int mk_pki_ocsp_request_parse(const char *path, size_t plen, unsigned char **der, size_t *der_len,
                              mk_err *e) {
  int rc = 0;
  char *text = NULL;
  unsigned char *bin = NULL;
  size_t tlen = 0;
  size_t text_max = mk_base64_enc_len(MK_PKI_OCSP_REQUEST_MAX) - 1;
  *der = NULL;
  *der_len = 0;
  MK_ENSURE(path != NULL && plen > 0, MK_EINVAL, e, "empty OCSP request path");
  MK_ENSURE(plen <= 3 * text_max, MK_ETOOBIG, e, "OCSP request path over %zu bytes", 3 * text_max);
  text = malloc(plen + 1);
  MK_ENSURE_ALLOC(text, e);
  for (size_t i = 0; i < plen; i++) {
    char c = path[i];
    if (c == '%') {
      int hi = i + 2 < plen ? hex_digit(path[i + 1]) : -1;
      int lo = i + 2 < plen ? hex_digit(path[i + 2]) : -1;
      MK_ENSURE(hi >= 0 && lo >= 0, MK_EINVAL, e, "bad percent escape in the OCSP request path");
      c = (char)(hi << 4 | lo);
      i += 2;
    }
    text[tlen++] = c;
  }
  MK_ENSURE(tlen <= text_max, MK_ETOOBIG, e, "OCSP request over %d bytes", MK_PKI_OCSP_REQUEST_MAX);
  size_t cap = mk_base64_dec_max(tlen);
  bin = malloc(cap ? cap : 1);
  MK_ENSURE_ALLOC(bin, e);
  int n = mk_base64_decode(text, tlen, bin, cap, e);
  if (n < 0) {
    rc = n;
    if (e != NULL)
      mk_err_wrap(e, "the OCSP request path is not base64");
    goto out;
  }
  MK_ENSURE(n > 0, MK_EINVAL, e, "empty OCSP request");
  MK_ENSURE((size_t)n <= MK_PKI_OCSP_REQUEST_MAX, MK_ETOOBIG, e, "OCSP request over %d bytes",
            MK_PKI_OCSP_REQUEST_MAX);
  *der = bin;
  *der_len = (size_t)n;
  bin = NULL;
out:
  free(text);
  free(bin);
  return rc;
}

/* ---- delegated responder certificate ---------------------------------- */

/* Number of characters in UTF-8 text of n bytes. */
static size_t utf8_chars(const unsigned char *s, size_t n) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++)
    c += (s[i] & 0xC0) != 0x80;
  return c;
}

#define RESPONDER_SUFFIX " OCSP Responder"
#define CN_MAX_CHARS 64 /* ub-common-name, RFC 5280 Appendix A.1 */

/* The CA's subject with its common name changed to "<CN> OCSP Responder"
 * (just "OCSP Responder" when the CA has no CN or it would grow too long). */
static int responder_name(X509 *ca_cert, X509_NAME **out, mk_err *e) {
  int rc = 0;
  X509_NAME *name = NULL;
  unsigned char *cn = NULL;
  char *text = NULL;
  int cn_len = -1;
  MK_TRY_PTR_OSSL(name, X509_NAME_dup(X509_get_subject_name(ca_cert)), e, "responder subject");
  int last = -1, i;
  while ((i = X509_NAME_get_index_by_NID(name, NID_commonName, last)) >= 0)
    last = i;
  if (last >= 0) {
    X509_NAME_ENTRY *ent = X509_NAME_get_entry(name, last);
    cn_len = ASN1_STRING_to_UTF8(&cn, X509_NAME_ENTRY_get_data(ent));
    X509_NAME_ENTRY_free(X509_NAME_delete_entry(name, last));
  }
  size_t suffix = sizeof RESPONDER_SUFFIX - 1;
  if (cn_len > 0 && utf8_chars(cn, (size_t)cn_len) + suffix <= CN_MAX_CHARS) {
    text = malloc((size_t)cn_len + suffix + 1);
    MK_ENSURE_ALLOC(text, e);
    memcpy(text, cn, (size_t)cn_len);
    memcpy(text + cn_len, RESPONDER_SUFFIX, suffix + 1);
  } else {
    text = strdup(&RESPONDER_SUFFIX[1]); /* without the leading space */
    MK_ENSURE_ALLOC(text, e);
  }
  MK_TRY_OSSL(X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                         (const unsigned char *)text, -1, -1, 0),
              e, "responder common name");
  *out = name;
  name = NULL;
out:
  ERR_clear_error();
  OPENSSL_free(cn);
  free(text);
  X509_NAME_free(name);
  return rc;
}

int mk_pki_ocsp_responder_cert(const mk_pki_ca *ca, EVP_PKEY *key, int64_t now, int days,
                               X509 **out, mk_err *e) {
  int rc = 0;
  X509 *x = NULL;
  X509_NAME *subject = NULL;
  ASN1_INTEGER *serial = NULL;
  mk_pki_keytype kt;
  *out = NULL;
  MK_ENSURE(ca != NULL && ca->cert != NULL && ca->key != NULL, MK_EINVAL, e,
            "the CA has no certificate or no key");
  MK_TRY(mk_pki_key_type(key, &kt, e));
  MK_ENSURE(days >= 1 && days <= MK_PKI_OCSP_RESPONDER_DAYS_MAX, MK_EINVAL, e,
            "responder certificate validity must be 1..%d days", MK_PKI_OCSP_RESPONDER_DAYS_MAX);
  MK_ENSURE(ASN1_TIME_cmp_time_t(X509_get0_notAfter(ca->cert), (time_t)now) > 0, MK_EINVAL, e,
            "the CA certificate has expired");

  MK_TRY_PTR_OSSL(x, X509_new(), e, "X509_new");
  MK_TRY_OSSL(X509_set_version(x, X509_VERSION_3), e, "certificate version");
  MK_TRY(mk_pki_serial_random(&serial, e));
  MK_TRY_OSSL(X509_set_serialNumber(x, serial), e, "serial number");
  MK_TRY_OSSL(X509_set_issuer_name(x, X509_get_subject_name(ca->cert)), e, "issuer name");
  MK_TRY(responder_name(ca->cert, &subject, e));
  MK_TRY_OSSL(X509_set_subject_name(x, subject), e, "subject name");
  MK_TRY(mk_pki_cert_set_validity(x, now, days, e));
  if (ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(ca->cert)) > 0)
    MK_TRY_OSSL(X509_set1_notAfter(x, X509_get0_notAfter(ca->cert)), e, "notAfter");
  MK_TRY_OSSL(X509_set_pubkey(x, key), e, "public key");

  MK_TRY(mk_pki_cert_add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE", e));
  MK_TRY(mk_pki_cert_add_ext(x, ca->cert, NID_key_usage, "critical,digitalSignature", e));
  MK_TRY(mk_pki_cert_add_ext(x, ca->cert, NID_ext_key_usage, "OCSPSigning", e));
  /* RFC 6960 §4.2.2.2.1: clients need not check this certificate's own
   * revocation, so it must stay short-lived. */
  MK_TRY(mk_pki_cert_add_ext(x, ca->cert, NID_id_pkix_OCSP_noCheck, "ignored", e));
  MK_TRY(mk_pki_cert_add_ext(x, ca->cert, NID_subject_key_identifier, "hash", e));
  MK_TRY(mk_pki_cert_add_ext(x, ca->cert, NID_authority_key_identifier, "keyid:always", e));

  MK_TRY(mk_pki_sign_cert(x, ca->key, e));
  *out = x;
  x = NULL;
out:
  X509_free(x);
  X509_NAME_free(subject);
  ASN1_INTEGER_free(serial);
  return rc;
}

/* ---- relying party ---------------------------------------------------- */

/* A delegated signer is authorised by issuer (RFC 6960 §4.2.2.2). */
static int authorised(X509 *issuer, X509 *signer, mk_err *e) {
  mk_err ignored;
  if (X509_check_issued(issuer, signer) != X509_V_OK ||
      mk_pki_verify_cert(signer, X509_get0_pubkey(issuer), &ignored) != 0)
    return mk_err_set(e, MK_EAUTH, "the OCSP response is signed by a certificate the issuer did "
                                   "not issue");
  if ((X509_get_extension_flags(signer) & EXFLAG_XKUSAGE) == 0 ||
      (X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN) == 0)
    return mk_err_set(e, MK_EAUTH, "the OCSP response signer lacks id-kp-OCSPSigning");
  return 0;
}

int mk_pki_ocsp_verify(const unsigned char *der, size_t len, X509 *issuer, mk_err *e) {
  int rc = 0;
  OCSP_RESPONSE *resp = NULL;
  OCSP_BASICRESP *bs = NULL;
  STACK_OF(X509) *extra = NULL;
  ASN1_OCTET_STRING *id = NULL;
  X509 *signer = NULL;
  mk_pki_keytype kt;
  MK_ENSURE(der != NULL && len > 0 && len <= LONG_MAX, MK_EINVAL, e, "empty OCSP response");
  MK_ENSURE(issuer != NULL, MK_EINVAL, e, "no issuer certificate");
  const unsigned char *p = der;
  resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
  MK_ENSURE(resp != NULL && p == der + len, MK_EINVAL, e, "not an OCSP response");
  int status = OCSP_response_status(resp);
  MK_ENSURE(status == OCSP_RESPONSE_STATUS_SUCCESSFUL, MK_EINVAL, e,
            "the OCSP response status is %s", OCSP_response_status_str(status));
  bs = OCSP_response_get1_basic(resp);
  MK_ENSURE(bs != NULL, MK_EINVAL, e, "the OCSP response is not a basic response");

  MK_TRY_PTR_OSSL(extra, sk_X509_new_null(), e, "certificate list");
  MK_TRY_OSSL(sk_X509_push(extra, issuer) > 0 ? 1 : 0, e, "certificate list");
  MK_ENSURE(OCSP_resp_get0_signer(bs, &signer, extra) == 1, MK_EAUTH, e,
            "the OCSP responder is neither the issuer nor a certificate in the response");
  if (X509_cmp(signer, issuer) != 0)
    MK_TRY(authorised(issuer, signer, e));

  EVP_PKEY *key = X509_get0_pubkey(signer);
  MK_TRY(mk_pki_key_type(key, &kt, e));
  if (kt == MK_PKI_SM2) {
    MK_TRY_PTR_OSSL(id, ASN1_OCTET_STRING_new(), e, "SM2 signer ID");
    MK_TRY_OSSL(ASN1_OCTET_STRING_set(id, (const unsigned char *)MK_PKI_SM2_ID, MK_PKI_SM2_ID_LEN),
                e, "SM2 signer ID");
  }
  if (ASN1_item_verify_ex(ASN1_ITEM_rptr(OCSP_RESPDATA), OCSP_resp_get0_tbs_sigalg(bs),
                          OCSP_resp_get0_signature(bs), OCSP_resp_get0_respdata(bs), id, key, NULL,
                          NULL) != 1)
    MK_FAIL(MK_ECRYPTO, e, "the OCSP response's signature does not verify");
out:
  ERR_clear_error();
  ASN1_OCTET_STRING_free(id);
  sk_X509_free(extra);
  OCSP_BASICRESP_free(bs);
  OCSP_RESPONSE_free(resp);
  return rc;
}
