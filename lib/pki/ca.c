#include "pki/ca.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/bio.h"
#include "util/guard.h"
#include "util/time.h"

#define TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z, the last GeneralizedTime */
#define LABEL_PREFIX "mkey ca key "

/* ---- checks of names that end up in URLs, labels and certificates -------- */

static int check_ca_id(const char *id, mk_err *e) {
  if (id == NULL || id[0] == '\0')
    return mk_err_set(e, MK_EINVAL, "CA id is missing");
  size_t n = strnlen(id, MK_PKI_CA_ID_MAX);
  if (n >= MK_PKI_CA_ID_MAX)
    return mk_err_set(e, MK_EINVAL, "CA id is too long (more than %d characters)", MK_PKI_CA_ID_MAX - 1);
  for (size_t i = 0; i < n; i++) {
    char c = id[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return mk_err_set(e, MK_EINVAL, "CA id character %zu is not a letter, digit, '_' or '-'", i + 1);
  }
  return 0;
}

/* Characters a base URL may hold: RFC 3986 unreserved, ':' and '/' for
 * scheme, port and path, '[' ']' for IPv6 hosts, '%' for escapes. No '?',
 * '#' or ',' (a path is appended; OpenSSL's config syntax splits at ','). */
static int url_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         strchr("-._~:/[]%", c) != NULL;
}

static int check_base_url(const char *url, mk_err *e) {
  if (url == NULL || url[0] == '\0')
    return mk_err_set(e, MK_EINVAL, "base URL is missing");
  size_t n = strnlen(url, MK_PKI_URL_MAX);
  if (n >= MK_PKI_URL_MAX)
    return mk_err_set(e, MK_EINVAL, "base URL is too long (more than %d characters)", MK_PKI_URL_MAX - 1);
  size_t scheme = strncmp(url, "https://", 8) == 0 ? 8 : strncmp(url, "http://", 7) == 0 ? 7 : 0;
  if (scheme == 0)
    return mk_err_set(e, MK_EINVAL, "base URL must start with http:// or https://");
  if (n == scheme || url[scheme] == '/')
    return mk_err_set(e, MK_EINVAL, "base URL has no host");
  if (url[n - 1] == '/')
    return mk_err_set(e, MK_EINVAL, "base URL must not end with '/'");
  for (size_t i = 0; i < n; i++)
    if (!url_char(url[i]))
      return mk_err_set(e, MK_EINVAL, "base URL character %zu is not allowed", i + 1);
  return 0;
}

int mk_pki_valid_name(const char *s, const char *field, mk_err *e) {
  int rc = mk_valid_person_name(s, e);
  if (rc < 0 && e != NULL && strncmp(e->msg, "name ", 5) == 0) {
    char rest[MK_ERR_MSG_MAX];
    snprintf(rest, sizeof rest, "%s", e->msg + 5);
    mk_err_set(e, rc, "%s %s", field, rest);
  }
  return rc;
}

int mk_pki_ca_url(const mk_pki_ca *ca, const char *leaf, char out[MK_PKI_URL_MAX], mk_err *e) {
  int n = snprintf(out, MK_PKI_URL_MAX, "%s/v1/cas/%s/%s", ca->base_url, ca->id, leaf);
  if (n < 0 || n >= MK_PKI_URL_MAX) {
    out[0] = '\0';
    return mk_err_set(e, MK_ETOOBIG, "the %s URL of CA %s is longer than %d characters", leaf, ca->id,
                      MK_PKI_URL_MAX - 1);
  }
  return 0;
}

/* ---- certificate building blocks --------------------------------------- */

int mk_pki_serial_random(ASN1_INTEGER **out, mk_err *e) {
  int rc = 0;
  unsigned char b[MK_PKI_SERIAL_BYTES];
  BIGNUM *bn = NULL;
  *out = NULL;
  /* RFC 5280 §4.1.2.2: positive, at most 20 octets; CA/B Forum BR 7.1: at
   * least 64 bits from a CSPRNG. Zero has a chance of 2^-127 and is redrawn. */
  do {
    MK_TRY_OSSL(RAND_bytes(b, sizeof b), e, "drawing a serial number");
    b[0] &= 0x7f;
    MK_TRY_PTR_OSSL(bn, BN_bin2bn(b, sizeof b, bn), e, "BN_bin2bn");
  } while (BN_is_zero(bn));
  MK_TRY_PTR_OSSL(*out, BN_to_ASN1_INTEGER(bn, NULL), e, "BN_to_ASN1_INTEGER");
out:
  BN_free(bn);
  return rc;
}

int mk_pki_time_unix(const ASN1_TIME *t, int64_t *out, mk_err *e) {
  struct tm tm;
  if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
    ERR_clear_error();
    return mk_err_set(e, MK_EINVAL, "malformed certificate time");
  }
  *out = mk_days_from_civil(tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday) * 86400 +
         tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
  return 0;
}

int mk_pki_cert_set_validity(X509 *x, int64_t from, int64_t days, mk_err *e) {
  if (from < 0 || days <= 0 || from > TIME_MAX - days * 86400)
    return mk_err_set(e, MK_EINVAL, "validity lies outside the years 1970 to 9999");
  /* ASN1_TIME_set writes UTCTime through 2049 and GeneralizedTime after,
   * as RFC 5280 §4.1.2.5 requires. */
  if (ASN1_TIME_set(X509_getm_notBefore(x), (time_t)from) == NULL ||
      ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(from + days * 86400)) == NULL)
    return mk_err_ossl(e, MK_ECRYPTO, "setting the validity");
  return 0;
}

int mk_pki_cert_add_ext(X509 *x, X509 *issuer, int nid, const char *value, mk_err *e) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
  X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
  if (ext == NULL)
    return mk_err_ossl(e, MK_ECRYPTO, OBJ_nid2sn(nid));
  int ok = X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1)
    return mk_err_ossl(e, MK_ECRYPTO, OBJ_nid2sn(nid));
  return 0;
}

static int name_add(X509_NAME *n, int nid, int type, const char *value, mk_err *e) {
  if (X509_NAME_add_entry_by_NID(n, nid, type, (const unsigned char *)value, -1, -1, 0) != 1)
    return mk_err_ossl(e, MK_ECRYPTO, OBJ_nid2sn(nid));
  return 0;
}

static int keygen(mk_pki_keytype type, EVP_PKEY **out, mk_err *e) {
  *out = type == MK_PKI_SM2 ? EVP_PKEY_Q_keygen(NULL, NULL, "SM2")
                            : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)MK_PKI_CA_RSA_BITS);
  if (*out == NULL)
    return mk_err_ossl(e, MK_ECRYPTO, "generating the CA key");
  return 0;
}

/* A root (issuer == NULL: self-signed) or issuing CA certificate for key. */
static int make_ca_cert(X509 **out, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, const char *name,
                        int64_t now, mk_err *e) {
  int rc = 0;
  int root = issuer == NULL;
  X509 *x = NULL;
  X509_NAME *n = NULL;
  ASN1_INTEGER *serial = NULL;
  char cn[MK_ERR_MSG_MAX];
  MK_TRY_PTR_OSSL(x, X509_new(), e, "X509_new");
  MK_TRY_OSSL(X509_set_version(x, X509_VERSION_3), e, "X509_set_version");
  MK_TRY(mk_pki_serial_random(&serial, e));
  MK_TRY_OSSL(X509_set_serialNumber(x, serial), e, "X509_set_serialNumber");
  snprintf(cn, sizeof cn, root ? "%s Root" : "%s", name);
  MK_TRY_PTR_OSSL(n, X509_NAME_new(), e, "X509_NAME_new");
  MK_TRY(name_add(n, NID_countryName, V_ASN1_PRINTABLESTRING, "CN", e));
  MK_TRY(name_add(n, NID_organizationName, V_ASN1_UTF8STRING, name, e));
  MK_TRY(name_add(n, NID_commonName, V_ASN1_UTF8STRING, cn, e));
  MK_TRY_OSSL(X509_set_subject_name(x, n), e, "X509_set_subject_name");
  MK_TRY_OSSL(X509_set_issuer_name(x, root ? n : X509_get_subject_name(issuer)), e,
              "X509_set_issuer_name");
  MK_TRY(mk_pki_cert_set_validity(x, now, root ? MK_PKI_ROOT_DAYS : MK_PKI_ISSUING_DAYS, e));
  MK_TRY_OSSL(X509_set_pubkey(x, key), e, "X509_set_pubkey");
  /* RFC 5280 §4.2.1.9 and §4.2.1.3: both critical in a CA certificate. The
   * issuing CA signs OCSP responses with its own key, hence digitalSignature. */
  MK_TRY(mk_pki_cert_add_ext(x, issuer, NID_basic_constraints,
                             root ? "critical,CA:TRUE" : "critical,CA:TRUE,pathlen:0", e));
  MK_TRY(mk_pki_cert_add_ext(x, issuer, NID_key_usage,
                             root ? "critical,keyCertSign,cRLSign"
                                  : "critical,digitalSignature,keyCertSign,cRLSign",
                             e));
  MK_TRY(mk_pki_cert_add_ext(x, issuer, NID_subject_key_identifier, "hash", e));
  if (!root)
    MK_TRY(mk_pki_cert_add_ext(x, issuer, NID_authority_key_identifier, "keyid:always", e));
  MK_TRY(mk_pki_sign_cert(x, root ? key : issuer_key, e));
  MK_TRY(mk_pki_verify_cert(x, root ? key : X509_get0_pubkey(issuer), e));
  *out = x;
  x = NULL;
out:
  X509_free(x);
  X509_NAME_free(n);
  ASN1_INTEGER_free(serial);
  return rc;
}

int mk_pki_ca_create_hierarchy(mk_pki_keytype type, const char *ca_id, const char *name,
                               const char *base_url, int64_t now, mk_pki_ca *root_out,
                               mk_pki_ca *issuing_out, mk_err *e) {
  int rc = 0;
  mk_pki_ca root, issuing;
  char url[MK_PKI_URL_MAX];
  memset(&root, 0, sizeof root);
  memset(&issuing, 0, sizeof issuing);
  if (root_out != NULL)
    memset(root_out, 0, sizeof *root_out);
  MK_ENSURE(issuing_out != NULL, MK_EINVAL, e, "no place for the issuing CA");
  memset(issuing_out, 0, sizeof *issuing_out);
  MK_ENSURE(type == MK_PKI_SM2 || type == MK_PKI_RSA, MK_EINVAL, e, "CA key type must be SM2 or RSA");
  MK_TRY(check_ca_id(ca_id, e));
  MK_TRY(check_base_url(base_url, e));
  MK_TRY(mk_pki_valid_name(name, "CA name", e));
  MK_ENSURE(now >= 0 && now <= TIME_MAX - (int64_t)MK_PKI_ROOT_DAYS * 86400, MK_EINVAL, e,
            "CA creation time is out of range");

  snprintf(root.id, sizeof root.id, "%s", ca_id);
  snprintf(root.base_url, sizeof root.base_url, "%s", base_url);
  root.type = type;
  issuing = root;
  /* "chain" is the longest route: if it fits, every URL does. */
  MK_TRY(mk_pki_ca_url(&issuing, "chain", url, e));

  MK_TRY(keygen(type, &root.key, e));
  MK_TRY(make_ca_cert(&root.cert, root.key, NULL, NULL, name, now, e));
  MK_TRY_PTR_OSSL(root.chain, sk_X509_new_null(), e, "sk_X509_new_null");

  MK_TRY(keygen(type, &issuing.key, e));
  MK_TRY(make_ca_cert(&issuing.cert, issuing.key, root.cert, root.key, name, now, e));
  MK_TRY_PTR_OSSL(issuing.chain, sk_X509_new_null(), e, "sk_X509_new_null");
  MK_TRY_OSSL(X509_up_ref(root.cert), e, "X509_up_ref");
  if (sk_X509_push(issuing.chain, root.cert) <= 0) {
    X509_free(root.cert);
    MK_FAIL(MK_ENOMEM, e, "out of memory");
  }

  *issuing_out = issuing;
  memset(&issuing, 0, sizeof issuing);
  if (root_out != NULL) {
    *root_out = root;
    memset(&root, 0, sizeof root);
  }
out:
  mk_pki_ca_clear(&root);
  mk_pki_ca_clear(&issuing);
  return rc;
}

/* ---- at rest ------------------------------------------------------------ */

/* first, then every certificate of rest, as one PEM text (malloc'd). */
static int pem_of(X509 *first, STACK_OF(X509) *rest, char **out, mk_err *e) {
  int rc = 0;
  BIO *b = NULL;
  *out = NULL;
  MK_TRY_PTR_OSSL(b, BIO_new(BIO_s_mem()), e, "BIO_new");
  MK_TRY_OSSL(PEM_write_bio_X509(b, first), e, "writing PEM");
  for (int i = 0; i < sk_X509_num(rest); i++)
    MK_TRY_OSSL(PEM_write_bio_X509(b, sk_X509_value(rest, i)), e, "writing PEM");
  MK_TRY(mk_bio_text(b, 0, "PEM", out, e));
out:
  BIO_free(b);
  return rc;
}

static void label_of(const char *ca_id, char out[MK_KEK_LABEL_MAX + 1]) {
  snprintf(out, MK_KEK_LABEL_MAX + 1, LABEL_PREFIX "%s", ca_id);
}

int mk_pki_ca_export(const mk_pki_ca *ca, mk_kek *kek, char **cert_pem, char **chain_pem,
                     unsigned char **wrapped_key, size_t *wrapped_len, mk_err *e) {
  int rc = 0;
  char *cp = NULL, *chp = NULL;
  PKCS8_PRIV_KEY_INFO *p8 = NULL;
  unsigned char *der = NULL;
  int derlen = 0;
  char label[MK_KEK_LABEL_MAX + 1];
  mk_buf wrapped;
  mk_buf_init(&wrapped, MK_KEK_WRAP_MAX + MK_KEK_WRAP_OVERHEAD);
  *cert_pem = NULL;
  *chain_pem = NULL;
  *wrapped_key = NULL;
  *wrapped_len = 0;
  MK_ENSURE(ca != NULL && ca->cert != NULL && ca->key != NULL, MK_EINVAL, e,
            "the CA has no certificate or no key");
  MK_ENSURE(kek != NULL, MK_EINVAL, e, "no KEK to wrap the CA key");
  MK_TRY(check_ca_id(ca->id, e));
  MK_TRY(pem_of(ca->cert, NULL, &cp, e));
  MK_TRY(pem_of(ca->cert, ca->chain, &chp, e));
  MK_TRY_PTR_OSSL(p8, EVP_PKEY2PKCS8(ca->key), e, "encoding the CA key as PKCS#8");
  derlen = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
  MK_ENSURE(derlen > 0, MK_ECRYPTO, e, "encoding the CA key as PKCS#8");
  label_of(ca->id, label);
  MK_TRY(mk_kek_wrap(kek, label, der, (size_t)derlen, &wrapped, e));
  size_t n = 0;
  *wrapped_key = mk_buf_detach(&wrapped, &n);
  MK_ENSURE_ALLOC(*wrapped_key, e);
  *wrapped_len = n;
  *cert_pem = cp;
  *chain_pem = chp;
  cp = chp = NULL;
out:
  free(cp);
  free(chp);
  PKCS8_PRIV_KEY_INFO_free(p8); /* its key octets are cleared on free */
  if (der != NULL)
    OPENSSL_clear_free(der, (size_t)derlen);
  mk_buf_free(&wrapped);
  return rc;
}

/* Every certificate of pem (NULL or empty: none) into a new stack. Blocks
 * other than certificates are skipped, as PEM readers do. */
static int read_certs(const char *pem, const char *what, int max, STACK_OF(X509) **out, mk_err *e) {
  int rc = 0;
  BIO *b = NULL;
  X509 *x = NULL;
  STACK_OF(X509) *sk = NULL;
  *out = NULL;
  MK_TRY_PTR_OSSL(sk, sk_X509_new_null(), e, "sk_X509_new_null");
  size_t n = pem == NULL ? 0 : strnlen(pem, MK_PKI_PEM_MAX + 1);
  MK_ENSURE(n <= MK_PKI_PEM_MAX, MK_ETOOBIG, e, "%s is over %u bytes", what, MK_PKI_PEM_MAX);
  if (n > 0) {
    MK_TRY_PTR_OSSL(b, BIO_new_mem_buf(pem, (int)n), e, "BIO_new_mem_buf");
    for (;;) {
      ERR_clear_error();
      x = PEM_read_bio_X509(b, NULL, NULL, NULL);
      if (x == NULL) {
        unsigned long err = ERR_peek_last_error();
        MK_ENSURE(ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE,
                  MK_EINVAL, e, "%s is not well-formed PEM", what);
        ERR_clear_error();
        break;
      }
      MK_ENSURE(sk_X509_num(sk) < max, MK_EINVAL, e, "%s holds more than %d certificates", what, max);
      MK_ENSURE(sk_X509_push(sk, x) > 0, MK_ENOMEM, e, "out of memory");
      x = NULL;
    }
  }
  *out = sk;
  sk = NULL;
out:
  if (rc < 0)
    ERR_clear_error();
  X509_free(x);
  BIO_free(b);
  sk_X509_pop_free(sk, X509_free);
  return rc;
}

/* child is issued (names, AKI, keyUsage) and signed by parent. */
static int check_link(X509 *child, X509 *parent, int depth, mk_err *e) {
  int rc = 0;
  int why = X509_check_issued(parent, child);
  MK_ENSURE(why == X509_V_OK, MK_EINVAL, e, "certificate %d of the chain is not issued by the next: %s",
            depth, X509_verify_cert_error_string(why));
  rc = mk_pki_verify_cert(child, X509_get0_pubkey(parent), e);
  if (rc < 0)
    mk_err_set(e, MK_EINVAL, "certificate %d of the chain: signature of its issuer does not verify", depth);
out:
  return rc;
}

int mk_pki_ca_import(const char *ca_id, const char *base_url, const char *cert_pem,
                     const char *chain_pem, mk_kek *kek, const unsigned char *wrapped_key,
                     size_t wrapped_len, mk_pki_ca *out, mk_err *e) {
  int rc = 0;
  STACK_OF(X509) *certs = NULL, *chain = NULL;
  PKCS8_PRIV_KEY_INFO *p8 = NULL;
  EVP_PKEY *key = NULL;
  mk_pki_keytype type;
  char label[MK_KEK_LABEL_MAX + 1];
  mk_buf der;
  mk_buf_init_secret(&der, MK_KEK_WRAP_MAX);
  MK_ENSURE(out != NULL, MK_EINVAL, e, "no place for the CA");
  memset(out, 0, sizeof *out);
  MK_ENSURE(kek != NULL, MK_EINVAL, e, "no KEK to unwrap the CA key");
  MK_TRY(check_ca_id(ca_id, e));
  MK_TRY(check_base_url(base_url, e));

  MK_TRY(read_certs(cert_pem, "CA certificate PEM", 2, &certs, e));
  MK_ENSURE(sk_X509_num(certs) == 1, MK_EINVAL, e, "CA certificate PEM must hold exactly one certificate");
  X509 *cert = sk_X509_value(certs, 0);
  MK_ENSURE(X509_check_ca(cert) >= 1, MK_EINVAL, e, "the certificate is not a CA certificate");
  MK_TRY(read_certs(chain_pem, "CA chain PEM", MK_PKI_CHAIN_MAX + 1, &chain, e));
  if (sk_X509_num(chain) > 0 && X509_cmp(sk_X509_value(chain, 0), cert) == 0)
    X509_free(sk_X509_shift(chain));
  MK_ENSURE(sk_X509_num(chain) <= MK_PKI_CHAIN_MAX, MK_EINVAL, e,
            "CA chain holds more than %d issuers", MK_PKI_CHAIN_MAX);

  label_of(ca_id, label);
  MK_ENSURE(wrapped_key != NULL, MK_EINVAL, e, "the wrapped CA key is missing");
  rc = mk_kek_unwrap(kek, label, wrapped_key, wrapped_len, &der, e);
  if (rc < 0) {
    mk_err_wrap(e, "cannot unwrap the key of CA %s", ca_id);
    goto out;
  }
  const unsigned char *p = der.data;
  p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)der.len);
  MK_ENSURE(p8 != NULL && p == der.data + der.len, MK_EINVAL, e, "the CA key is not PKCS#8 DER");
  key = EVP_PKCS82PKEY(p8);
  MK_ENSURE(key != NULL, MK_EINVAL, e, "the CA key is not PKCS#8 DER");
  MK_TRY(mk_pki_key_type(key, &type, e));
  MK_ENSURE(EVP_PKEY_eq(key, X509_get0_pubkey(cert)) == 1, MK_EINVAL, e,
            "the key of CA %s does not match its certificate", ca_id);

  X509 *child = cert;
  for (int i = 0; i < sk_X509_num(chain); i++) {
    MK_TRY(check_link(child, sk_X509_value(chain, i), i, e));
    child = sk_X509_value(chain, i);
  }
  MK_TRY(check_link(child, child, sk_X509_num(chain), e));

  snprintf(out->id, sizeof out->id, "%s", ca_id);
  snprintf(out->base_url, sizeof out->base_url, "%s", base_url);
  out->type = type;
  out->cert = sk_X509_shift(certs);
  out->key = key;
  out->chain = chain;
  key = NULL;
  chain = NULL;
out:
  if (rc < 0)
    ERR_clear_error();
  sk_X509_pop_free(certs, X509_free);
  sk_X509_pop_free(chain, X509_free);
  PKCS8_PRIV_KEY_INFO_free(p8);
  EVP_PKEY_free(key);
  mk_buf_free_secret(&der);
  return rc;
}
