/*
 * The service layer: product policy and workflows, one file per aggregate.
 * svc functions take a context and return 0 or a negative MK_E* code with the
 * reason in e; they know nothing of HTTP, so they are tested directly.
 */
#ifndef MK_SVC_SVC_H
#define MK_SVC_SVC_H

#include <jansson.h>

#include "config.h"
#include "crypto/kek.h"
#include "mkey/mkey.h"
#include "store/store.h"

/* What a caller is; grows with accounts (issue 5) and CA operators. */
enum mk_role {
  MK_ROLE_ANONYMOUS = 0,
  MK_ROLE_OPERATOR = 1, /* platform operator: runs mkeyd, manages CAs */
};

/* Who is calling. */
typedef struct mk_caller {
  int role;               /* enum mk_role, set by authentication */
  const char *request_id; /* for audit events; may be "" */
  const char *remote;     /* client address text; may be "" */
} mk_caller;

typedef struct mk_svc_ctx {
  mk_store *store;
  mk_kek *kek;          /* wraps server key shares; derives the PIN pepper */
  const mk_config *cfg;
  int64_t (*now)(void); /* wall clock, Unix seconds; tests pin it */
  mk_caller caller;
} mk_svc_ctx;

/* ---- system (svc/system.c) ---- */

/* First start: record this installation's id once. Idempotent. */
int mk_svc_system_init(mk_svc_ctx *ctx, mk_err *e) MK_MUST_CHECK;
/* {"status":"ok","store":"ok"}; MK_ESTORE when the database does not answer. */
int mk_svc_system_health(mk_svc_ctx *ctx, json_t **out, mk_err *e) MK_MUST_CHECK;
/* {"name":"mkeyd","version","api":"v1","store","schema","sandbox","instance"}. */
int mk_svc_system_version(mk_svc_ctx *ctx, json_t **out, mk_err *e) MK_MUST_CHECK;

/* ---- platform operators (svc/operator.c) ---- */

/* First start: make the operator token, write it to DATA/admin.token (0600)
 * and keep only its SHA-256. Does nothing once a token exists. */
int mk_svc_operator_init(mk_svc_ctx *ctx, const char *data_dir, mk_err *e) MK_MUST_CHECK;
/* MK_EAUTH unless token is an operator's; on success the caller's role is
 * MK_ROLE_OPERATOR. */
int mk_svc_operator_check(mk_svc_ctx *ctx, const char *token, mk_err *e) MK_MUST_CHECK;

/* ---- certificate authorities (svc/ca.c) ---- */

/* At start, after the server is listening: in sandbox mode the four sandbox
 * CAs, then every CA of cfg->cas_file (a JSON array of definitions, shape in
 * docs/operations.md), each created (a builtin one gets a fresh root and
 * issuing CA whose key is wrapped by ctx->kek) or updated (name, options,
 * adapter settings; keys and certificates stay). Every CA's base URL
 * becomes base_url (a trailing '/' is dropped). Idempotent. */
int mk_svc_ca_init(mk_svc_ctx *ctx, const char *base_url, mk_err *e) MK_MUST_CHECK;
/* Create or update one CA from its definition; origin is "sandbox" or
 * "config". A definition that changes an existing CA's adapter or key type
 * is MK_ECONFLICT; a bad one MK_EINVAL naming the CA and the key. */
int mk_svc_ca_define(mk_svc_ctx *ctx, const json_t *def, const char *origin, const char *base_url,
                     mk_err *e) MK_MUST_CHECK;
/* {"items":[{id, name, adapter, key_type, signature, validity:[{years, days,
 * fee_fen, currency}], attachments:[{id, name}], review}], "next_cursor"}
 * in id order after cursor (may be NULL), at most limit (1..100). */
int mk_svc_ca_list(mk_svc_ctx *ctx, const char *cursor, int64_t limit, json_t **out,
                   mk_err *e) MK_MUST_CHECK;
/* The CA's chain as PEM (issuing CA, then root); *pem is the caller's
 * (free). MK_ENOTFOUND for an unknown CA. */
int mk_svc_ca_chain(mk_svc_ctx *ctx, const char *id, char **pem, size_t *len,
                    mk_err *e) MK_MUST_CHECK;
/* The CA's current CRL (DER; *der is the caller's, free). A CRL is made
 * when none is published at the current CRL number or the last one is a day
 * old, and kept in the store. A cmp CA publishes its own: MK_ECONFLICT. */
int mk_svc_ca_crl(mk_svc_ctx *ctx, const char *id, unsigned char **der, size_t *len,
                  mk_err *e) MK_MUST_CHECK;
/* Answer a DER OCSP request for CA id. Returns the OCSPResponseStatus of
 * the answer in *der (0 successful, 1 malformedRequest, ...; the reason of a
 * non-successful one in e, for the log), or a negative code when no answer
 * could be made (MK_ENOTFOUND: no such CA). *der is the caller's (free). */
int mk_svc_ca_ocsp(mk_svc_ctx *ctx, const char *id, const unsigned char *req, size_t req_len,
                   unsigned char **der, size_t *len, mk_err *e) MK_MUST_CHECK;
/* Issue (operator): body {profile, csr (PEM), name, id_number | enterprise,
 * uscc (staff profiles: all four), days (one of the CA's options; default
 * the first)}. The subject comes from those fields; the CSR only proves
 * possession. *out {ca_id, serial, profile, subject, not_before, not_after,
 * certificate (PEM)}. field (MK_JSON_FIELD_MAX bytes, may be NULL) names the
 * failing input of an MK_EINVAL. */
int mk_svc_ca_issue(mk_svc_ctx *ctx, const char *id, const json_t *body, json_t **out,
                    char *field, mk_err *e) MK_MUST_CHECK;
/* Operator issuance of an encryption certificate with an escrowed key (dual
 * certificates, docs/pki.md): body {profile (personal-enc, enterprise-enc or
 * staff-enc), the subject fields as mk_svc_ca_issue, days, transport_key (PEM
 * public key of the device, SM2 or RSA)}. The CA's KMC (DATA/kmc.kek) makes
 * the key pair of the CA's key type, the CA certifies it, and the first
 * delivery is made; certificate, escrow and server share are stored in one
 * transaction. *out as mk_svc_ca_issue plus key_id and device_package
 * (base64url MKDL). MK_ECONFLICT for a cmp CA. */
int mk_svc_ca_issue_enc(mk_svc_ctx *ctx, const char *id, const json_t *body, json_t **out,
                        char *field, mk_err *e) MK_MUST_CHECK;
/* Recovery: a fresh delivery of the escrowed key of serial to body
 * {transport_key}; its server share replaces the stored one. *out {ca_id,
 * serial, key_id, device_package}. MK_ENOTFOUND without such a certificate
 * or escrow, MK_ECONFLICT once revoked (the key was destroyed). */
int mk_svc_ca_recover(mk_svc_ctx *ctx, const char *id, const char *serial, const json_t *body,
                      json_t **out, char *field, mk_err *e) MK_MUST_CHECK;
/* Revoke (operator) serial (hex) of CA id with an RFC 5280 reason name;
 * the next CRL gets a new number. MK_ENOTFOUND for a serial the CA did not
 * issue, MK_ECONFLICT when already revoked. *out {ca_id, serial, reason,
 * revoked_at, crl_number}. */
int mk_svc_ca_revoke(mk_svc_ctx *ctx, const char *id, const char *serial, const char *reason,
                     json_t **out, char *field, mk_err *e) MK_MUST_CHECK;

#endif
