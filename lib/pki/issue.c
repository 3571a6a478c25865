#include "pki/issue.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "util/guard.h"
#include "util/time.h"
#include "util/validate.h"

/* What each profile names and what its key does (docs/pki.md, "Profiles"). */
static const struct profile {
  mk_pki_profile id;
  const char *name;
  int person;     /* CN = person name, serialNumber = ID number */
  int enterprise; /* O = enterprise name, organizationIdentifier = USCC */
  int enc;        /* encryption key (escrowed) rather than signing key */
} profiles[] = {
    {MK_PKI_PERSONAL_SIGN, "personal-sign", 1, 0, 0},
    {MK_PKI_PERSONAL_ENC, "personal-enc", 1, 0, 1},
    {MK_PKI_ENTERPRISE_SIGN, "enterprise-sign", 0, 1, 0},
    {MK_PKI_ENTERPRISE_ENC, "enterprise-enc", 0, 1, 1},
    {MK_PKI_STAFF_SIGN, "staff-sign", 1, 1, 0},
    {MK_PKI_STAFF_ENC, "staff-enc", 1, 1, 1},
};
#define NPROFILES (sizeof profiles / sizeof profiles[0])

int mk_pki_profile_parse(const char *name, mk_pki_profile *out, mk_err *e) {
  if (name == NULL || name[0] == '\0')
    return mk_err_set(e, MK_EINVAL, "certificate profile is missing");
  for (size_t i = 0; i < NPROFILES; i++)
    if (strcmp(name, profiles[i].name) == 0) {
      *out = profiles[i].id;
      return 0;
    }
  return mk_err_set(e, MK_EINVAL,
                    "unknown certificate profile (expected personal-sign, personal-enc, enterprise-sign, "
                    "enterprise-enc, staff-sign or staff-enc)");
}

const char *mk_pki_profile_name(mk_pki_profile p) {
  for (size_t i = 0; i < NPROFILES; i++)
    if (profiles[i].id == p)
      return profiles[i].name;
  return NULL;
}

static const char *type_name(mk_pki_keytype t) {
  return t == MK_PKI_SM2 ? "SM2" : "RSA";
}

/* The fields a profile needs pass their validators; the others are absent,
 * so that what was vetted is exactly what the certificate says. */
static int check_fields(const struct profile *pf, const mk_pki_issue_req *r, int64_t now, mk_err *e) {
  int rc = 0;
  if (pf->person) {
    MK_TRY(mk_pki_valid_name(r->person_name, "person name", e));
    MK_TRY(mk_valid_id_number_at(r->id_number, now, e));
  } else {
    MK_ENSURE(r->person_name == NULL, MK_EINVAL, e, "%s certificates name no person (person name given)",
              pf->name);
    MK_ENSURE(r->id_number == NULL, MK_EINVAL, e, "%s certificates name no person (ID number given)",
              pf->name);
  }
  if (pf->enterprise) {
    MK_TRY(mk_pki_valid_name(r->enterprise_name, "enterprise name", e));
    MK_TRY(mk_valid_uscc(r->uscc, e));
  } else {
    MK_ENSURE(r->enterprise_name == NULL, MK_EINVAL, e,
              "%s certificates name no enterprise (enterprise name given)", pf->name);
    MK_ENSURE(r->uscc == NULL, MK_EINVAL, e,
              "%s certificates name no enterprise (unified social credit code given)", pf->name);
  }
out:
  return rc;
}

static int name_add(X509_NAME *n, int nid, int type, const char *value, mk_err *e) {
  if (X509_NAME_add_entry_by_NID(n, nid, type, (const unsigned char *)value, -1, -1, 0) != 1)
    return mk_err_ossl(e, MK_ECRYPTO, OBJ_nid2sn(nid));
  return 0;
}

/* C=CN, [O=enterprise, organizationIdentifier=USCC,] CN=person or
 * enterprise, [serialNumber=ID number]; docs/pki.md, "Subject encoding". */
static int make_subject(const struct profile *pf, const mk_pki_issue_req *r, X509_NAME **out, mk_err *e) {
  int rc = 0;
  X509_NAME *n = NULL;
  MK_TRY_PTR_OSSL(n, X509_NAME_new(), e, "X509_NAME_new");
  MK_TRY(name_add(n, NID_countryName, V_ASN1_PRINTABLESTRING, "CN", e));
  if (pf->enterprise) {
    MK_TRY(name_add(n, NID_organizationName, V_ASN1_UTF8STRING, r->enterprise_name, e));
    MK_TRY(name_add(n, NID_organizationIdentifier, V_ASN1_PRINTABLESTRING, r->uscc, e));
  }
  MK_TRY(name_add(n, NID_commonName, V_ASN1_UTF8STRING, pf->person ? r->person_name : r->enterprise_name,
                  e));
  if (pf->person)
    MK_TRY(name_add(n, NID_serialNumber, V_ASN1_PRINTABLESTRING, r->id_number, e));
  *out = n;
  n = NULL;
out:
  X509_NAME_free(n);
  return rc;
}

static int uri_name(const char *url, GENERAL_NAME **out, mk_err *e) {
  int rc = 0;
  ASN1_IA5STRING *s = NULL;
  GENERAL_NAME *gn = NULL;
  *out = NULL;
  MK_TRY_PTR_OSSL(s, ASN1_IA5STRING_new(), e, "ASN1_IA5STRING_new");
  MK_TRY_OSSL(ASN1_STRING_set(s, url, -1), e, "ASN1_STRING_set");
  MK_TRY_PTR_OSSL(gn, GENERAL_NAME_new(), e, "GENERAL_NAME_new");
  GENERAL_NAME_set0_value(gn, GEN_URI, s);
  s = NULL;
  *out = gn;
out:
  ASN1_IA5STRING_free(s);
  return rc;
}

/* CRL distribution point (RFC 5280 §4.2.1.13) and authority information
 * access (§4.2.2.1: OCSP and caIssuers), all at the issuing CA's routes in
 * mkeyd. Built as structures: URLs never pass through a config parser. */
static int add_urls(X509 *x, const mk_pki_ca *ca, mk_err *e) {
  int rc = 0;
  char crl[MK_PKI_URL_MAX], ocsp[MK_PKI_URL_MAX], chain[MK_PKI_URL_MAX];
  CRL_DIST_POINTS *dps = NULL;
  DIST_POINT *dp = NULL;
  AUTHORITY_INFO_ACCESS *aia = NULL;
  ACCESS_DESCRIPTION *ad = NULL;
  GENERAL_NAME *gn = NULL;
  MK_TRY(mk_pki_ca_url(ca, "crl", crl, e));
  MK_TRY(mk_pki_ca_url(ca, "ocsp", ocsp, e));
  MK_TRY(mk_pki_ca_url(ca, "chain", chain, e));

  MK_TRY_PTR_OSSL(dps, sk_DIST_POINT_new_null(), e, "CRL distribution points");
  MK_TRY_PTR_OSSL(dp, DIST_POINT_new(), e, "CRL distribution points");
  MK_TRY_PTR_OSSL(dp->distpoint, DIST_POINT_NAME_new(), e, "CRL distribution points");
  dp->distpoint->type = 0; /* fullName */
  MK_TRY_PTR_OSSL(dp->distpoint->name.fullname, GENERAL_NAMES_new(), e, "CRL distribution points");
  MK_TRY(uri_name(crl, &gn, e));
  MK_ENSURE(sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn) > 0, MK_ENOMEM, e, "out of memory");
  gn = NULL;
  MK_ENSURE(sk_DIST_POINT_push(dps, dp) > 0, MK_ENOMEM, e, "out of memory");
  dp = NULL;
  MK_TRY_OSSL(X509_add1_ext_i2d(x, NID_crl_distribution_points, dps, 0, X509V3_ADD_APPEND), e,
              "CRL distribution points");

  MK_TRY_PTR_OSSL(aia, sk_ACCESS_DESCRIPTION_new_null(), e, "authority information access");
  const struct {
    int nid;
    const char *url;
  } access[] = {{NID_ad_OCSP, ocsp}, {NID_ad_ca_issuers, chain}};
  for (size_t i = 0; i < sizeof access / sizeof access[0]; i++) {
    MK_TRY_PTR_OSSL(ad, ACCESS_DESCRIPTION_new(), e, "authority information access");
    ASN1_OBJECT_free(ad->method);
    ad->method = OBJ_nid2obj(access[i].nid);
    GENERAL_NAME_free(ad->location);
    MK_TRY(uri_name(access[i].url, &ad->location, e));
    MK_ENSURE(sk_ACCESS_DESCRIPTION_push(aia, ad) > 0, MK_ENOMEM, e, "out of memory");
    ad = NULL;
  }
  MK_TRY_OSSL(X509_add1_ext_i2d(x, NID_info_access, aia, 0, X509V3_ADD_APPEND), e,
              "authority information access");
out:
  GENERAL_NAME_free(gn);
  DIST_POINT_free(dp);
  CRL_DIST_POINTS_free(dps);
  ACCESS_DESCRIPTION_free(ad);
  AUTHORITY_INFO_ACCESS_free(aia);
  return rc;
}

/* Times the certificate may cover: from now (or the requested start) for
 * days, inside the CA's own validity. */
static int check_validity(const mk_pki_ca *ca, const mk_pki_issue_req *r, int64_t now, int64_t *from,
                          mk_err *e) {
  int rc = 0;
  int64_t ca_from = 0, ca_until = 0;
  char until_text[MK_TIME_TEXT_MAX];
  MK_ENSURE(r->days >= MK_PKI_DAYS_MIN && r->days <= MK_PKI_DAYS_MAX, MK_EINVAL, e,
            "validity must be %d to %d days (1 to 3 years), not %d", MK_PKI_DAYS_MIN, MK_PKI_DAYS_MAX,
            r->days);
  *from = r->not_before != 0 ? r->not_before : now;
  MK_ENSURE(*from >= now, MK_EINVAL, e, "not_before lies in the past");
  MK_ENSURE(*from - now <= MK_PKI_NOT_BEFORE_AHEAD_MAX, MK_EINVAL, e,
            "not_before lies more than %lld days ahead", MK_PKI_NOT_BEFORE_AHEAD_MAX / 86400);
  MK_TRY(mk_pki_time_unix(X509_get0_notBefore(ca->cert), &ca_from, e));
  MK_TRY(mk_pki_time_unix(X509_get0_notAfter(ca->cert), &ca_until, e));
  MK_ENSURE(now >= ca_from && now <= ca_until, MK_EEXPIRED, e, "CA %s is not valid at this time", ca->id);
  if (*from + (int64_t)r->days * 86400 > ca_until) {
    if (mk_time_format(ca_until, until_text, NULL) < 0)
      snprintf(until_text, sizeof until_text, "its end");
    MK_FAIL(MK_ECONFLICT, e, "the certificate would outlive CA %s (valid until %s)", ca->id, until_text);
  }
out:
  return rc;
}

int mk_pki_issue(const mk_pki_ca *ca, const mk_pki_issue_req *r, int64_t now, X509 **out, mk_err *e) {
  int rc = 0;
  const struct profile *pf = NULL;
  mk_pki_profile id = MK_PKI_PERSONAL_SIGN; /* set by mk_pki_profile_parse */
  mk_pki_keytype ca_type, key_type;
  int64_t from = 0;
  X509 *x = NULL;
  X509_NAME *subject = NULL;
  ASN1_INTEGER *serial = NULL;
  MK_ENSURE(out != NULL, MK_EINVAL, e, "no place for the certificate");
  *out = NULL;
  MK_ENSURE(ca != NULL && ca->cert != NULL && ca->key != NULL, MK_EINVAL, e,
            "the CA has no certificate or no key");
  MK_ENSURE(r != NULL, MK_EINVAL, e, "no issuance request");
  MK_TRY(mk_pki_profile_parse(r->profile, &id, e));
  for (size_t i = 0; i < NPROFILES; i++)
    if (profiles[i].id == id)
      pf = &profiles[i];

  MK_TRY(mk_pki_key_type(ca->key, &ca_type, e));
  MK_ENSURE(r->subject_key != NULL, MK_EINVAL, e, "the subject's public key is missing");
  rc = mk_pki_key_type(r->subject_key, &key_type, e);
  if (rc < 0) {
    mk_err_wrap(e, "the subject's key");
    goto out;
  }
  MK_ENSURE(key_type == ca_type, MK_EINVAL, e, "an %s key cannot be certified by an %s CA",
            type_name(key_type), type_name(ca_type));
  MK_ENSURE(EVP_PKEY_eq(r->subject_key, ca->key) != 1, MK_EINVAL, e, "the subject's key is the CA's own key");
  ERR_clear_error();
  MK_TRY(check_fields(pf, r, now, e));
  MK_TRY(check_validity(ca, r, now, &from, e));

  MK_TRY_PTR_OSSL(x, X509_new(), e, "X509_new");
  MK_TRY_OSSL(X509_set_version(x, X509_VERSION_3), e, "X509_set_version");
  MK_TRY(mk_pki_serial_random(&serial, e));
  MK_TRY_OSSL(X509_set_serialNumber(x, serial), e, "X509_set_serialNumber");
  MK_TRY_OSSL(X509_set_issuer_name(x, X509_get_subject_name(ca->cert)), e, "X509_set_issuer_name");
  MK_TRY(make_subject(pf, r, &subject, e));
  MK_TRY_OSSL(X509_set_subject_name(x, subject), e, "X509_set_subject_name");
  MK_TRY(mk_pki_cert_set_validity(x, from, r->days, e));
  MK_TRY_OSSL(X509_set_pubkey(x, r->subject_key), e, "X509_set_pubkey");

  MK_TRY(mk_pki_cert_add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE", e));
  /* Signing keys: digitalSignature for logins and session signatures,
   * nonRepudiation (contentCommitment) for signed bids and documents.
   * Encryption keys (GM/T 0015 practice for SM2 as for RSA): keyEncipherment
   * for wrapped file keys, dataEncipherment for direct encryption. */
  MK_TRY(mk_pki_cert_add_ext(x, ca->cert, NID_key_usage,
                             pf->enc ? "critical,keyEncipherment,dataEncipherment"
                                     : "critical,digitalSignature,nonRepudiation",
                             e));
  MK_TRY(mk_pki_cert_add_ext(x, ca->cert, NID_ext_key_usage,
                             pf->enc ? "emailProtection" : "clientAuth,emailProtection", e));
  MK_TRY(mk_pki_cert_add_ext(x, ca->cert, NID_subject_key_identifier, "hash", e));
  MK_TRY(mk_pki_cert_add_ext(x, ca->cert, NID_authority_key_identifier, "keyid:always", e));
  MK_TRY(add_urls(x, ca, e));

  MK_TRY(mk_pki_sign_cert(x, ca->key, e));
  rc = mk_pki_verify_cert(x, X509_get0_pubkey(ca->cert), e);
  if (rc < 0) {
    mk_err_wrap(e, "CA %s: its key does not match its certificate", ca->id);
    goto out;
  }
  *out = x;
  x = NULL;
out:
  X509_free(x);
  X509_NAME_free(subject);
  ASN1_INTEGER_free(serial);
  return rc;
}
