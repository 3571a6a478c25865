/*
 * Revocation reasons (RFC 5280 §5.3.1) and certificate revocation lists
 * (RFC 5280 §5). Mechanism only: mkeyd's store says which certificates are
 * revoked and which CRL number comes next; this module turns that into a
 * signed DER CRL. docs/pki.md ("CRL and OCSP") gives the reasons for the
 * choices below.
 */
#ifndef MK_PKI_CRL_H
#define MK_PKI_CRL_H

#include "pki/pki.h"

/* CRLReason codes, RFC 5280 §5.3.1 (7 is not assigned). */
typedef enum mk_pki_reason {
  MK_PKI_REASON_UNSPECIFIED = 0,
  MK_PKI_REASON_KEY_COMPROMISE = 1,
  MK_PKI_REASON_CA_COMPROMISE = 2,
  MK_PKI_REASON_AFFILIATION_CHANGED = 3,
  MK_PKI_REASON_SUPERSEDED = 4,
  MK_PKI_REASON_CESSATION_OF_OPERATION = 5,
  MK_PKI_REASON_CERTIFICATE_HOLD = 6,  /* not used by mkey: revocation is final */
  MK_PKI_REASON_REMOVE_FROM_CRL = 8,   /* delta CRLs only: not used */
  MK_PKI_REASON_PRIVILEGE_WITHDRAWN = 9,
  MK_PKI_REASON_AA_COMPROMISE = 10,    /* attribute certificates only: not used */
} mk_pki_reason;

/* The RFC 5280 name of a code ("keyCompromise"), for every assigned code
 * including those mkey does not use; NULL for anything else. */
const char *mk_pki_reason_name(int reason);

/* 1 when mkey revokes with this code: unspecified, keyCompromise,
 * caCompromise, affiliationChanged, superseded, cessationOfOperation,
 * privilegeWithdrawn. certificateHold, removeFromCRL and aACompromise are
 * refused (docs/pki.md says why). */
int mk_pki_reason_allowed(int reason);

/* Parse an RFC 5280 reason name (ASCII case ignored: "keyCompromise",
 * "keycompromise") into *out. MK_EINVAL for unknown names and for the codes
 * mk_pki_reason_allowed refuses, with the reason in e. */
int mk_pki_reason_parse(const char *name, mk_pki_reason *out, mk_err *e) MK_MUST_CHECK;

/* t (Unix seconds, 1970..9999) as a new ASN1_TIME in *out the caller
 * frees: UTCTime through 2049, GeneralizedTime after (RFC 5280 §4.1.2.5).
 * MK_EINVAL when out of range. Shared with the OCSP responder. */
int mk_pki_time_asn1(int64_t t, ASN1_TIME **out, mk_err *e) MK_MUST_CHECK;

#define MK_PKI_SERIAL_MAX 20 /* octets, RFC 5280 §4.1.2.2 */

/* One revoked certificate, as the store keeps it. */
typedef struct mk_pki_revoked {
  const unsigned char *serial; /* big-endian magnitude; leading zero octets ignored */
  size_t serial_len;           /* 1..MK_PKI_SERIAL_MAX significant octets, value > 0 */
  int64_t revoked_at;          /* Unix seconds */
  mk_pki_reason reason;        /* unspecified: entry without a reasonCode extension */
} mk_pki_revoked;

/* Build and sign a full v2 CRL of ca: issuer = the CA certificate's subject,
 * thisUpdate/nextUpdate as given (next_update > this_update), the n entries
 * of list (sorted by serial; a serial listed twice is MK_EINVAL), each with
 * its revocation date and, unless unspecified, a reasonCode extension; the
 * CRL extensions cRLNumber (crl_number, which the caller increments for each
 * CRL it publishes) and authorityKeyIdentifier (the CA's subjectKeyIdentifier,
 * or the SHA-1 of its public key when it has none). Signed by
 * mk_pki_sign_crl with ca->key, which must match ca->cert; a CA certificate
 * whose keyUsage lacks cRLSign is MK_EINVAL.
 * On success *der (caller frees with free()) holds *len bytes; on failure
 * *der is NULL. */
int mk_pki_crl_build(const mk_pki_ca *ca, const mk_pki_revoked *list, size_t n, uint64_t crl_number,
                     int64_t this_update, int64_t next_update, unsigned char **der, size_t *len,
                     mk_err *e) MK_MUST_CHECK;

#endif
