/*
 * Issuing end-entity certificates by profile. The subject is built from
 * vetted data (a real-name result, an enterprise record), never from a CSR,
 * whose only role is to prove possession of subject_key (csr.h). The
 * profiles, the subject layout and the extensions are described, with the
 * reasons for them, in docs/pki.md.
 */
#ifndef MK_PKI_ISSUE_H
#define MK_PKI_ISSUE_H

#include "pki/ca.h"

#define MK_PKI_DAYS_MIN 365  /* validity 1 to 3 years, as applications offer */
#define MK_PKI_DAYS_MAX 1095
#define MK_PKI_NOT_BEFORE_AHEAD_MAX (366LL * 86400) /* how far a start may lie ahead */

/* Who a certificate names and what it is for. */
typedef enum mk_pki_profile {
  MK_PKI_PERSONAL_SIGN = 1, /* a person: name, ID number */
  MK_PKI_PERSONAL_ENC,
  MK_PKI_ENTERPRISE_SIGN,   /* an enterprise: name, unified social credit code */
  MK_PKI_ENTERPRISE_ENC,
  MK_PKI_STAFF_SIGN,        /* a person acting for an enterprise: all four */
  MK_PKI_STAFF_ENC,
} mk_pki_profile;

/* "personal-sign" -> MK_PKI_PERSONAL_SIGN, ...; MK_EINVAL "unknown
 * certificate profile" for anything else (the name is not echoed). */
int mk_pki_profile_parse(const char *name, mk_pki_profile *out, mk_err *e) MK_MUST_CHECK;
/* The profile's name, or NULL for a value outside the enum. */
const char *mk_pki_profile_name(mk_pki_profile p);

typedef struct mk_pki_issue_req {
  const char *profile;         /* a name mk_pki_profile_parse knows */
  EVP_PKEY *subject_key;       /* the CSR's public key; borrowed */
  const char *person_name;     /* personal-*, staff-*; NULL otherwise */
  const char *id_number;       /* personal-*, staff-*: GB 11643 */
  const char *enterprise_name; /* enterprise-*, staff-*; NULL otherwise */
  const char *uscc;            /* enterprise-*, staff-*: GB 32100 */
  int days;                    /* MK_PKI_DAYS_MIN..MK_PKI_DAYS_MAX */
  int64_t not_before;          /* 0: now; else now..now + MK_PKI_NOT_BEFORE_AHEAD_MAX */
} mk_pki_issue_req;

/* Issue a certificate of req->profile for req->subject_key, signed by ca
 * (mk_pki_sign_cert) at time now (Unix seconds), and check the signature
 * before returning it. Refused with MK_EINVAL and a message naming the
 * field: an unknown profile; a key of the other type than the CA's ("an RSA
 * key cannot be certified by an SM2 CA") or the CA's own key; a missing
 * field the profile needs, a field it does not use, a field its validator
 * refuses (mk_pki_valid_name, mk_valid_id_number_at as of now,
 * mk_valid_uscc); days outside 365..1095; a not_before in the past or too
 * far ahead. A CA that is not yet or no longer valid is MK_EEXPIRED; a
 * certificate that would outlive its CA, MK_ECONFLICT.
 * On success *out is the caller's (X509_free); on failure NULL. */
int mk_pki_issue(const mk_pki_ca *ca, const mk_pki_issue_req *req, int64_t now, X509 **out,
                 mk_err *e) MK_MUST_CHECK;

#endif
