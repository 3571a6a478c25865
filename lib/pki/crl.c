#include "pki/crl.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/x509v3.h>

#include "util/guard.h"

/* 9999-12-31T23:59:59Z: the last second GeneralizedTime in X.509 can say. */
#define TIME_MAX INT64_C(253402300799)

static const char *const reason_names[] = {
    [MK_PKI_REASON_UNSPECIFIED] = "unspecified",
    [MK_PKI_REASON_KEY_COMPROMISE] = "keyCompromise",
    [MK_PKI_REASON_CA_COMPROMISE] = "cACompromise",
    [MK_PKI_REASON_AFFILIATION_CHANGED] = "affiliationChanged",
    [MK_PKI_REASON_SUPERSEDED] = "superseded",
    [MK_PKI_REASON_CESSATION_OF_OPERATION] = "cessationOfOperation",
    [MK_PKI_REASON_CERTIFICATE_HOLD] = "certificateHold",
    [MK_PKI_REASON_REMOVE_FROM_CRL] = "removeFromCRL",
    [MK_PKI_REASON_PRIVILEGE_WITHDRAWN] = "privilegeWithdrawn",
    [MK_PKI_REASON_AA_COMPROMISE] = "aACompromise",
};

#define REASON_SLOTS ((int)(sizeof reason_names / sizeof reason_names[0]))

const char *mk_pki_reason_name(int reason) {
  if (reason < 0 || reason >= REASON_SLOTS)
    return NULL;
  return reason_names[reason];
}

int mk_pki_reason_allowed(int reason) {
  switch (reason) {
  case MK_PKI_REASON_UNSPECIFIED:
  case MK_PKI_REASON_KEY_COMPROMISE:
  case MK_PKI_REASON_CA_COMPROMISE:
  case MK_PKI_REASON_AFFILIATION_CHANGED:
  case MK_PKI_REASON_SUPERSEDED:
  case MK_PKI_REASON_CESSATION_OF_OPERATION:
  case MK_PKI_REASON_PRIVILEGE_WITHDRAWN:
    return 1;
  default:
    return 0;
  }
}

int mk_pki_reason_parse(const char *name, mk_pki_reason *out, mk_err *e) {
  if (name == NULL || name[0] == '\0')
    return mk_err_set(e, MK_EINVAL, "no revocation reason given");
  for (int i = 0; i < REASON_SLOTS; i++) {
    if (reason_names[i] == NULL || strcasecmp(name, reason_names[i]) != 0)
      continue;
    if (i == MK_PKI_REASON_CERTIFICATE_HOLD)
      return mk_err_set(e, MK_EINVAL,
                        "revocation reason certificateHold is not used: revocation destroys "
                        "the key shares, so it cannot be lifted");
    if (!mk_pki_reason_allowed(i))
      return mk_err_set(e, MK_EINVAL, "revocation reason %s does not apply to mkey's certificates",
                        reason_names[i]);
    *out = (mk_pki_reason)i;
    return 0;
  }
  return mk_err_set(e, MK_EINVAL, "unknown revocation reason (RFC 5280 names, e.g. keyCompromise)");
}

int mk_pki_time_asn1(int64_t t, ASN1_TIME **out, mk_err *e) {
  if (t < 0 || t > TIME_MAX)
    return mk_err_set(e, MK_EINVAL, "time %lld is outside 1970..9999", (long long)t);
  if ((*out = ASN1_TIME_set(NULL, (time_t)t)) == NULL)
    return mk_err_ossl(e, MK_ECRYPTO, "encoding a time");
  return 0;
}

/* rc, with "what: " put before e's message when it is an error. */
static int wrapped(int rc, mk_err *e, const char *what) {
  if (rc < 0 && e != NULL)
    mk_err_wrap(e, "%s", what);
  return rc;
}

/* The serial as an ASN1_INTEGER the caller frees. */
static int serial_integer(const unsigned char *p, size_t n, ASN1_INTEGER **out, mk_err *e) {
  int rc = 0;
  BIGNUM *bn = NULL;
  while (n > 0 && p[0] == 0) {
    p++;
    n--;
  }
  MK_ENSURE(n > 0, MK_EINVAL, e, "serial number must be positive");
  MK_ENSURE(n <= MK_PKI_SERIAL_MAX, MK_EINVAL, e, "serial number over %d octets", MK_PKI_SERIAL_MAX);
  MK_TRY_PTR_OSSL(bn, BN_bin2bn(p, (int)n, NULL), e, "serial number");
  MK_TRY_PTR_OSSL(*out, BN_to_ASN1_INTEGER(bn, NULL), e, "serial number");
out:
  BN_free(bn);
  return rc;
}

static int add_entry(X509_CRL *crl, const mk_pki_revoked *r, size_t i, mk_err *e) {
  int rc = 0;
  X509_REVOKED *rev = NULL;
  ASN1_INTEGER *serial = NULL;
  ASN1_TIME *when = NULL;
  ASN1_ENUMERATED *reason = NULL;
  MK_ENSURE(r->serial != NULL, MK_EINVAL, e, "revoked entry %zu has no serial number", i);
  MK_TRY(wrapped(serial_integer(r->serial, r->serial_len, &serial, e), e, "revoked entry"));
  MK_ENSURE(mk_pki_reason_allowed((int)r->reason), MK_EINVAL, e,
            "revoked entry %zu: reason %d is not one mkey uses", i, (int)r->reason);
  MK_TRY(wrapped(mk_pki_time_asn1(r->revoked_at, &when, e), e, "revocation date"));
  MK_TRY_PTR_OSSL(rev, X509_REVOKED_new(), e, "CRL entry");
  MK_TRY_OSSL(X509_REVOKED_set_serialNumber(rev, serial), e, "CRL entry serial");
  MK_TRY_OSSL(X509_REVOKED_set_revocationDate(rev, when), e, "CRL entry date");
  /* RFC 5280 §5.3.1: omit reasonCode rather than say unspecified. */
  if (r->reason != MK_PKI_REASON_UNSPECIFIED) {
    MK_TRY_PTR_OSSL(reason, ASN1_ENUMERATED_new(), e, "CRL entry reason");
    MK_TRY_OSSL(ASN1_ENUMERATED_set(reason, (long)r->reason), e, "CRL entry reason");
    MK_TRY_OSSL(X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0, 0), e,
                "CRL entry reason");
  }
  MK_TRY_OSSL(X509_CRL_add0_revoked(crl, rev), e, "adding a CRL entry");
  rev = NULL;
out:
  X509_REVOKED_free(rev);
  ASN1_INTEGER_free(serial);
  ASN1_TIME_free(when);
  ASN1_ENUMERATED_free(reason);
  return rc;
}

/* authorityKeyIdentifier naming issuer: its subjectKeyIdentifier, or the
 * SHA-1 of its subjectPublicKey when it has none (RFC 5280 §4.2.1.2 method
 * 1). *out is the caller's. */
static int make_akid(X509 *issuer, AUTHORITY_KEYID **out, mk_err *e) {
  int rc = 0;
  AUTHORITY_KEYID *akid = NULL;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  *out = NULL;
  MK_TRY_PTR_OSSL(akid, AUTHORITY_KEYID_new(), e, "authorityKeyIdentifier");
  const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(issuer);
  if (ski != NULL) {
    MK_TRY_PTR_OSSL(akid->keyid, ASN1_OCTET_STRING_dup(ski), e, "authorityKeyIdentifier");
  } else {
    MK_TRY_OSSL(X509_pubkey_digest(issuer, EVP_sha1(), md, &mdlen), e, "issuer key identifier");
    MK_TRY_PTR_OSSL(akid->keyid, ASN1_OCTET_STRING_new(), e, "authorityKeyIdentifier");
    MK_TRY_OSSL(ASN1_OCTET_STRING_set(akid->keyid, md, (int)mdlen), e, "authorityKeyIdentifier");
  }
  *out = akid;
  akid = NULL;
out:
  AUTHORITY_KEYID_free(akid);
  return rc;
}

/* The signing CA's certificate and key belong together and may sign CRLs. */
static int check_ca(const mk_pki_ca *ca, mk_err *e) {
  if (ca == NULL || ca->cert == NULL || ca->key == NULL)
    return mk_err_set(e, MK_EINVAL, "the CA has no certificate or no key");
  if (X509_check_private_key(ca->cert, ca->key) != 1)
    return mk_err_ossl(e, MK_EINVAL, "the CA key does not match its certificate");
  if ((X509_get_key_usage(ca->cert) & KU_CRL_SIGN) == 0)
    return mk_err_set(e, MK_EINVAL, "the CA certificate's keyUsage does not allow cRLSign");
  return 0;
}

/* i2d into a malloc'd block the caller frees with free(). */
static int crl_der(X509_CRL *crl, unsigned char **der, size_t *len, mk_err *e) {
  int n = i2d_X509_CRL(crl, NULL);
  if (n <= 0)
    return mk_err_ossl(e, MK_ECRYPTO, "encoding the CRL");
  unsigned char *buf = malloc((size_t)n);
  if (buf == NULL)
    return mk_err_set(e, MK_ENOMEM, "out of memory");
  unsigned char *p = buf;
  if (i2d_X509_CRL(crl, &p) != n) {
    free(buf);
    return mk_err_ossl(e, MK_ECRYPTO, "encoding the CRL");
  }
  *der = buf;
  *len = (size_t)n;
  return 0;
}

int mk_pki_crl_build(const mk_pki_ca *ca, const mk_pki_revoked *list, size_t n, uint64_t crl_number,
                     int64_t this_update, int64_t next_update, unsigned char **der, size_t *len,
                     mk_err *e) {
  int rc = 0;
  X509_CRL *crl = NULL;
  ASN1_TIME *t = NULL;
  ASN1_INTEGER *number = NULL;
  AUTHORITY_KEYID *akid = NULL;
  *der = NULL;
  *len = 0;
  MK_TRY(check_ca(ca, e));
  MK_ENSURE(n == 0 || list != NULL, MK_EINVAL, e, "no list of revoked certificates");
  MK_ENSURE(n <= INT_MAX, MK_ETOOBIG, e, "too many revoked certificates for one CRL");
  MK_ENSURE(next_update > this_update, MK_EINVAL, e, "nextUpdate must come after thisUpdate");

  MK_TRY_PTR_OSSL(crl, X509_CRL_new(), e, "X509_CRL_new");
  MK_TRY_OSSL(X509_CRL_set_version(crl, X509_CRL_VERSION_2), e, "CRL version");
  MK_TRY_OSSL(X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert)), e, "CRL issuer");
  MK_TRY(wrapped(mk_pki_time_asn1(this_update, &t, e), e, "thisUpdate"));
  MK_TRY_OSSL(X509_CRL_set1_lastUpdate(crl, t), e, "thisUpdate");
  ASN1_TIME_free(t);
  t = NULL;
  MK_TRY(wrapped(mk_pki_time_asn1(next_update, &t, e), e, "nextUpdate"));
  MK_TRY_OSSL(X509_CRL_set1_nextUpdate(crl, t), e, "nextUpdate");

  for (size_t i = 0; i < n; i++)
    MK_TRY(add_entry(crl, &list[i], i, e));
  MK_TRY_OSSL(X509_CRL_sort(crl), e, "sorting the CRL entries");
  STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);
  for (int i = 1; i < sk_X509_REVOKED_num(revs); i++) {
    const ASN1_INTEGER *a = X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revs, i - 1));
    const ASN1_INTEGER *b = X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revs, i));
    MK_ENSURE(ASN1_INTEGER_cmp(a, b) != 0, MK_EINVAL, e, "a serial number is listed twice");
  }

  MK_TRY_PTR_OSSL(number, ASN1_INTEGER_new(), e, "cRLNumber");
  MK_TRY_OSSL(ASN1_INTEGER_set_uint64(number, crl_number), e, "cRLNumber");
  MK_TRY_OSSL(X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, 0), e, "cRLNumber");
  MK_TRY(make_akid(ca->cert, &akid, e));
  MK_TRY_OSSL(X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0, 0), e,
              "authorityKeyIdentifier");

  MK_TRY(mk_pki_sign_crl(crl, ca->key, e));
  MK_TRY(crl_der(crl, der, len, e));
out:
  ASN1_TIME_free(t);
  ASN1_INTEGER_free(number);
  AUTHORITY_KEYID_free(akid);
  X509_CRL_free(crl);
  return rc;
}
