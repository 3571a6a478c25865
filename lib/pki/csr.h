/*
 * Certificate signing requests (PKCS#10, RFC 2986) from outside: a phone's
 * CSR co-signed by the split key, or one an operator hands to `mkey ca
 * issue`. The CSR only proves possession of the key. Its subject,
 * attributes and requested extensions are never used: the certificate's
 * subject comes from vetted data (issue.h, docs/pki.md).
 */
#ifndef MK_PKI_CSR_H
#define MK_PKI_CSR_H

#include "pki/pki.h"

#define MK_PKI_CSR_MAX (16u * 1024u) /* bytes of PEM or DER */

/* Parse exactly one CSR, PEM ("CERTIFICATE REQUEST" or "NEW CERTIFICATE
 * REQUEST", nothing but white space around it) or DER (no trailing bytes),
 * of at most MK_PKI_CSR_MAX bytes, and check its proof of possession:
 * version 1, an SM2 or RSA >= 2048 key, SM2-with-SM3 or sha256WithRSA as
 * the signature algorithm, and a signature that verifies under its own key
 * with mk_pki_verify_req, which for SM2 means the signer ID
 * 1234567812345678. An SM2 CSR signed with the empty ID (OpenSSL 3.0's
 * default without -sigopt distid:…) is refused with a message that says so.
 * Errors: MK_ETOOBIG over the cap, MK_EINVAL for everything else.
 * On success *out is the caller's (X509_REQ_free); on failure NULL. */
int mk_pki_csr_parse(const unsigned char *der_or_pem, size_t len, X509_REQ **out,
                     mk_err *e) MK_MUST_CHECK;

/* Key type of a parsed CSR's public key (mk_pki_key_type). */
int mk_pki_csr_key_type(const X509_REQ *req, mk_pki_keytype *out, mk_err *e) MK_MUST_CHECK;

#endif
