/*
 * The builtin CA's hierarchy: for each mkey CA id one self-signed root and
 * one issuing CA under it, both SM2 (SM3, signer ID 1234567812345678) or
 * both RSA-3072 (SHA-256), and the form a CA takes at rest: its certificate
 * and chain as PEM, its private key as PKCS#8 DER wrapped by the KEK.
 * Names, extensions and lifetimes are explained in docs/pki.md.
 */
#ifndef MK_PKI_CA_H
#define MK_PKI_CA_H

#include "crypto/kek.h"
#include "pki/pki.h"

#define MK_PKI_ROOT_DAYS 7305    /* 20 years of 365.25 days */
#define MK_PKI_ISSUING_DAYS 3653 /* 10 years */
#define MK_PKI_CA_RSA_BITS 3072  /* NIST SP 800-57 Part 1: 128-bit strength past 2030 */
#define MK_PKI_SERIAL_BYTES 16   /* 128 random bits, top bit cleared */
#define MK_PKI_PEM_MAX (64u * 1024u) /* certificate or chain PEM handed to import */
#define MK_PKI_CHAIN_MAX 8       /* certificates above a CA */

/* Create the hierarchy of CA ca_id (1..63 of [A-Za-z0-9_-], it becomes a
 * URL path segment and part of the KEK label) at time now (Unix seconds):
 *   root:    C=CN, O=<name>, CN=<name> Root; self-signed; CA:TRUE;
 *            keyCertSign, cRLSign; SKI; MK_PKI_ROOT_DAYS.
 *   issuing: C=CN, O=<name>, CN=<name>; CA:TRUE, pathlen 0; keyCertSign,
 *            cRLSign, digitalSignature (it signs OCSP responses itself);
 *            SKI, AKI; MK_PKI_ISSUING_DAYS.
 * name is what users see ("mkey 沙箱 SM2 CA"), under the person-name rules
 * of mk_valid_person_name (1..50 characters, no invisible ones). base_url is
 * mkeyd's public URL (http:// or https://, no trailing '/', only
 * [A-Za-z0-9-._~:/[]%]); the certificates the issuing CA signs point at
 * <base_url>/v1/cas/<ca_id>/{crl,ocsp,chain}.
 * root_out may be NULL: the root key is then destroyed once the issuing CA
 * is signed (docs/pki.md, "CA hierarchy"). On success the caller owns the
 * handles (mk_pki_ca_clear); on failure both are left cleared. */
int mk_pki_ca_create_hierarchy(mk_pki_keytype type, const char *ca_id, const char *name,
                               const char *base_url, int64_t now, mk_pki_ca *root_out,
                               mk_pki_ca *issuing_out, mk_err *e) MK_MUST_CHECK;

/* A CA at rest:
 *   *cert_pem     the CA certificate (PEM, NUL-terminated);
 *   *chain_pem    the CA certificate, then its issuers up to the root (PEM):
 *                 what GET /v1/cas/{id}/chain serves and `openssl verify
 *                 -CAfile` reads;
 *   *wrapped_key  the private key as PKCS#8 DER wrapped by kek under the
 *                 label "mkey ca key <ca_id>" (an MKWR blob of *wrapped_len
 *                 bytes); the clear DER is wiped before it is freed.
 * The caller frees the three outputs with free(); on failure they are NULL. */
int mk_pki_ca_export(const mk_pki_ca *ca, mk_kek *kek, char **cert_pem, char **chain_pem,
                     unsigned char **wrapped_key, size_t *wrapped_len, mk_err *e) MK_MUST_CHECK;

/* The reverse of mk_pki_ca_export. chain_pem may start with the CA
 * certificate itself (it is then skipped) and may be NULL or empty for a
 * root. Checks: exactly one certificate in cert_pem, and it is a CA
 * certificate; the key unwraps under "mkey ca key <ca_id>" (another KEK, a
 * changed blob or another CA's blob: MK_ECRYPTO) and matches the
 * certificate (MK_EINVAL otherwise); each certificate is issued and signed
 * by the next one of the chain, the last by a self-signed root.
 * On success *out is filled (mk_pki_ca_clear releases it); on failure it is
 * left cleared. */
int mk_pki_ca_import(const char *ca_id, const char *base_url, const char *cert_pem,
                     const char *chain_pem, mk_kek *kek, const unsigned char *wrapped_key,
                     size_t wrapped_len, mk_pki_ca *out, mk_err *e) MK_MUST_CHECK;

/* "<base_url>/v1/cas/<id>/<leaf>" into out; MK_ETOOBIG if it does not fit.
 * leaf is "crl", "ocsp" or "chain", the routes mkeyd serves per CA. */
int mk_pki_ca_url(const mk_pki_ca *ca, const char *leaf, char out[MK_PKI_URL_MAX],
                  mk_err *e) MK_MUST_CHECK;

/* A fresh certificate serial: MK_PKI_SERIAL_BYTES from RAND_bytes with the
 * top bit cleared (positive in DER), never zero. *out is the caller's. */
int mk_pki_serial_random(ASN1_INTEGER **out, mk_err *e) MK_MUST_CHECK;

/* A certificate time as Unix seconds. MK_EINVAL for a malformed time. */
int mk_pki_time_unix(const ASN1_TIME *t, int64_t *out, mk_err *e) MK_MUST_CHECK;

/* Building blocks shared with issue.c: validity [from, from + days * 86400],
 * and extensions written in OpenSSL's configuration syntax (value is a
 * constant of ours, never outside input) with issuer as the AKI source. */
int mk_pki_cert_set_validity(X509 *x, int64_t from, int64_t days, mk_err *e) MK_MUST_CHECK;
int mk_pki_cert_add_ext(X509 *x, X509 *issuer, int nid, const char *value,
                        mk_err *e) MK_MUST_CHECK;
/* mk_valid_person_name's rules for any name put in a certificate, with the
 * message naming field ("enterprise name is empty"). */
int mk_pki_valid_name(const char *s, const char *field, mk_err *e) MK_MUST_CHECK;

#endif
