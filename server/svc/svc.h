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
#include "util/id.h"

/* What a caller is, as authentication found it. Finer rules (verified,
 * admin of this enterprise, operator of this CA) are checked by svc code
 * against the object concerned. */
enum mk_role {
  MK_ROLE_ANONYMOUS = 0,
  MK_ROLE_OPERATOR = 1,    /* platform operator: runs mkeyd, manages CAs */
  MK_ROLE_ACCOUNT = 2,     /* a phone user with an account session */
  MK_ROLE_CA_OPERATOR = 3, /* reviews the applications of one CA */
};

#define MK_CALLER_CA_ID_MAX 64 /* MK_PKI_CA_ID_MAX */

/* Who is calling. */
typedef struct mk_caller {
  int role;                             /* enum mk_role, set by authentication */
  char session_id[MK_ID_MAX];           /* "" without a session */
  char account_id[MK_ID_MAX];           /* MK_ROLE_ACCOUNT */
  char device_id[MK_ID_MAX];            /* MK_ROLE_ACCOUNT: the device bound to the session */
  char ca_operator_id[MK_ID_MAX];       /* MK_ROLE_CA_OPERATOR */
  char ca_id[MK_CALLER_CA_ID_MAX];      /* MK_ROLE_CA_OPERATOR: the only CA it acts for */
  const char *request_id;               /* for audit events; may be "" */
  const char *remote;                   /* client address text; may be "" */
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

/* ---- who acts (svc/common.c) ---- */

/* The caller as an audit actor: the account or CA operator id, "operator",
 * or "anonymous". */
const char *mk_svc_actor(const mk_svc_ctx *ctx);
/* MK_EAUTH unless the caller has an account session. */
int mk_svc_need_account(const mk_svc_ctx *ctx, mk_err *e) MK_MUST_CHECK;
/* The verified identity of account (name, ID number; buffers of 64 and 32
 * bytes, either may be NULL). 1 when verified, 0 when not, < 0 on error. */
int mk_svc_identity_of(mk_db *db, const char *account_id, char *name, char *id_number,
                       mk_err *e) MK_MUST_CHECK;
/* The caller's active role in enterprise_id: 2 admin, 1 staff, 0 none. */
int mk_svc_member_role(mk_db *db, const char *enterprise_id, const char *account_id,
                       mk_err *e) MK_MUST_CHECK;
/* Masked forms for output (out holds at least 32 bytes):
 * 330106********0012, 138****0000, 6222 **** **** 1234 → 6222********1234. */
void mk_svc_mask_id_number(const char *v, char *out, size_t cap);
void mk_svc_mask_phone(const char *v, char *out, size_t cap);
void mk_svc_mask_card(const char *v, char *out, size_t cap);

/* ---- passwords (svc/password.c) ---- */

/* Login passwords of accounts and CA operators: 8..64 bytes of UTF-8 with
 * a letter and a digit (MK_EINVAL otherwise). Hashed with Argon2id
 * (t=2, m=19 MiB, p=1; docs/accounts.md), encoded with its salt. */
#define MK_PASSWORD_HASH_MAX 160
int mk_svc_password_check_policy(const char *password, mk_err *e) MK_MUST_CHECK;
int mk_svc_password_hash(const char *password, char out[MK_PASSWORD_HASH_MAX],
                         mk_err *e) MK_MUST_CHECK;
/* 0 when password matches encoded; MK_EAUTH when not. */
int mk_svc_password_verify(const char *encoded, const char *password, mk_err *e) MK_MUST_CHECK;

/* ---- sessions (svc/session.c) ---- */

enum mk_session_kind {
  MK_SESSION_ACCOUNT = 0,     /* phone client: Bearer token + Mkey-Device header */
  MK_SESSION_CA_OPERATOR = 1, /* mkey ca: Bearer token */
  MK_SESSION_CONSOLE = 2,     /* web console: HttpOnly cookie + X-CSRF-Token */
};
#define MK_SESSION_TOKEN_MAX 48 /* base64url of 32 random bytes, NUL included */
#define MK_SESSION_TTL_ACCOUNT (30 * 86400)
#define MK_SESSION_TTL_CA_OPERATOR (12 * 3600)
#define MK_SESSION_TTL_CONSOLE (8 * 3600)
/* Start a session in db's open transaction for subject_id (an account for
 * MK_SESSION_ACCOUNT, else a CA operator), bound to device_id ("dev_…",
 * required for accounts, ignored otherwise). token receives the secret;
 * csrf (console only, else NULL) the CSRF token. Only their hashes are
 * stored. *out (may be NULL) {session_id, expires_at}. */
int mk_svc_session_create(mk_svc_ctx *ctx, mk_db *db, int kind, const char *subject_id,
                          const char *device_id, char token[MK_SESSION_TOKEN_MAX],
                          char *csrf, json_t **out, mk_err *e) MK_MUST_CHECK;
/* Authenticate a request: token of a live session of kind; device_id must
 * be the one the session is bound to (accounts); for console sessions with
 * need_csrf, csrf must match. Fills ctx->caller. MK_EAUTH otherwise. */
int mk_svc_session_check(mk_svc_ctx *ctx, int kind, const char *token, const char *device_id,
                         int need_csrf, const char *csrf, mk_err *e) MK_MUST_CHECK;
/* End the caller's own session (logout). */
int mk_svc_session_end(mk_svc_ctx *ctx, mk_err *e) MK_MUST_CHECK;
/* In db's transaction: end every session of account_id except except_id
 * (may be NULL): after a password or phone change. */
int mk_svc_session_end_account(mk_svc_ctx *ctx, mk_db *db, const char *account_id,
                               const char *except_id, mk_err *e) MK_MUST_CHECK;

/* ---- audit (svc/audit.c) ---- */

/* Append an event to the hash chain in db's open transaction: the caller
 * (mk_svc_actor) did action ("application.submit") to object_type/object_id;
 * account_id and enterprise_id (may be NULL) make it findable; detail may be
 * NULL (never secrets). */
int mk_svc_audit(mk_svc_ctx *ctx, mk_db *db, const char *action, const char *object_type,
                 const char *object_id, const char *account_id, const char *enterprise_id,
                 const json_t *detail, mk_err *e) MK_MUST_CHECK;
/* Recompute the chain: *count events; MK_ECRYPTO naming the first bad seq. */
int mk_svc_audit_verify(mk_svc_ctx *ctx, int64_t *count, mk_err *e) MK_MUST_CHECK;

/* ---- messages (svc/message.c) ---- */

/* Post a message to account_id's inbox in db's open transaction. type is one
 * of docs/messages.md; application_id and action may be NULL. */
int mk_svc_message_post(mk_svc_ctx *ctx, mk_db *db, const char *account_id, const char *type,
                        const char *title, const char *body, const char *application_id,
                        const char *action, mk_err *e) MK_MUST_CHECK;

/* ---- attachments (svc/attachment.c) ---- */

#define MK_ATTACHMENT_MAX (2 * 1024 * 1024) /* bytes of one image */
/* "image/png" or "image/jpeg" when data starts like one, else NULL. */
const char *mk_svc_attachment_sniff(const unsigned char *data, size_t len);
/* Store an upload of the calling account. declared is the Content-Type;
 * it must agree with the sniffed type (MK_EINVAL), size 1..MK_ATTACHMENT_MAX
 * (MK_ETOOBIG). *out {id, media_type, size, sha256}. */
int mk_svc_attachment_put(mk_svc_ctx *ctx, const char *declared, const unsigned char *data,
                          size_t len, json_t **out, mk_err *e) MK_MUST_CHECK;
/* The bytes of attachment id if the caller may see it: its uploader, or the
 * operator of a CA that has an application carrying it, or the admin of the
 * enterprise of such an application. *data is the caller's (free). */
int mk_svc_attachment_get(mk_svc_ctx *ctx, const char *id, unsigned char **data, size_t *len,
                          char media_type[16], mk_err *e) MK_MUST_CHECK;

/* ---- applications (svc/application.c, docs/applications.md) ---- */

/* States, as stored. */
#define MK_APP_AWAITING_ADMIN "awaiting_admin"
#define MK_APP_ADMIN_REJECTED "admin_rejected"
#define MK_APP_AWAITING_CA "awaiting_ca"
#define MK_APP_CA_REJECTED "ca_rejected"
#define MK_APP_AWAITING_PAYMENT "awaiting_payment"
#define MK_APP_PAID "paid"
#define MK_APP_ISSUED "issued"
#define MK_APP_CANCELLED "cancelled"

enum mk_app_event {
  MK_APP_EV_ADMIN_APPROVE = 0, /* enterprise admin agrees */
  MK_APP_EV_ADMIN_REJECT,      /* enterprise admin refuses (reason) */
  MK_APP_EV_CA_APPROVE,        /* CA operator approves */
  MK_APP_EV_CA_REJECT,         /* CA operator rejects (reason) */
  MK_APP_EV_RESUBMIT,          /* applicant edits and sends again */
  MK_APP_EV_CANCEL,            /* applicant withdraws */
};

/* A new application, built by the service of its kind. */
typedef struct mk_app_new {
  const char *kind;          /* docs/applications.md: personal, enterprise_claim, ... */
  const char *account_id;    /* the applicant */
  const char *enterprise_id; /* may be NULL (personal) */
  const char *platform_id;   /* may be NULL (kinds without a certificate) */
  const char *ca_id;         /* the reviewing CA */
  int years;                 /* one of the CA's validity options; 0 = none */
  const json_t *data;        /* what the kind needs; copied */
  int needs_admin;           /* the enterprise's admin decides first */
  /* Attachments the applicant uploaded, each with its role (an attachment
   * id of the CA's profile, e.g. application_form, business_license). */
  const char *const *attachment_ids;
  const char *const *attachment_roles;
  size_t nattachments;
} mk_app_new;

/* The per-kind consequences of a decision, run in the same transaction. */
typedef struct mk_app_row {
  const char *id, *kind, *state, *account_id, *enterprise_id, *platform_id, *ca_id;
  int years;
  const json_t *data;
} mk_app_row;
typedef int (*mk_app_hook_fn)(mk_svc_ctx *ctx, mk_db *db, const mk_app_row *app, mk_err *e);

typedef struct mk_app_kind {
  const char *name;            /* stored in application.kind */
  const char *title;           /* shown to users: 自然人证书申领, 认领企业, ... */
  const char *approved_title;  /* message when the CA approves */
  mk_app_hook_fn on_ca_approved;  /* may be NULL */
  mk_app_hook_fn on_closed;       /* rejected by the admin or cancelled; may be NULL */
} mk_app_kind;
/* The kind named name, or NULL. */
const mk_app_kind *mk_svc_app_kind(const char *name);

/* Create an application in db's open transaction: checks the platform, the
 * CA, years among its options and the CA's required attachments (each owned
 * by the applicant); then awaiting_admin (a message to the admin) or
 * awaiting_ca (a CA with automatic review approves at once). id receives the
 * new id. field (may be NULL) names a failing input. */
int mk_svc_app_create(mk_svc_ctx *ctx, mk_db *db, const mk_app_new *a, char id[MK_ID_MAX],
                      char *field, mk_err *e) MK_MUST_CHECK;
/* Apply event to application id in db's open transaction, as the caller:
 * the admin of its enterprise for admin events, an operator of its CA for CA
 * events, the applicant for resubmit/cancel. reason is required for
 * rejections (1..500 characters). changes (resubmit, may be NULL) replaces
 * keys of data; new_attachments replace attachments of the same role.
 * MK_ENOTFOUND when the caller may not see it, MK_EPERM when it may see but
 * not act, MK_ECONFLICT when the state does not allow the event. */
int mk_svc_app_transition(mk_svc_ctx *ctx, mk_db *db, const char *id, int event,
                          const char *reason, const json_t *changes,
                          const mk_app_new *new_attachments, char *field,
                          mk_err *e) MK_MUST_CHECK;
/* 1 when the caller may see application id (applicant, admin of its
 * enterprise, operator of its CA, platform operator), else 0; < 0 on error. */
int mk_svc_app_visible(mk_svc_ctx *ctx, mk_db *db, const char *id, mk_err *e) MK_MUST_CHECK;
/* Application id as JSON {id, kind, title, state, applicant {account_id,
 * name, phone (masked)}, enterprise {id, name, uscc} | null, platform_id,
 * ca_id, years, data, admin_decision, ca_decision, attachments [{id, role,
 * media_type, size}], history [{event, from, to, actor, reason, at}],
 * created_at, updated_at}; MK_ENOTFOUND unless visible. */
int mk_svc_app_get(mk_svc_ctx *ctx, const char *id, json_t **out, mk_err *e) MK_MUST_CHECK;
/* The same, inside an open transaction on db. */
int mk_svc_app_get_db(mk_svc_ctx *ctx, mk_db *db, const char *id, json_t **out,
                      mk_err *e) MK_MUST_CHECK;

/* ---- CA operators (svc/ca_operator.c) ---- */

/* Platform operator: create an operator of CA ca_id with username (3..64 of
 * [a-z0-9._-]) and a password meeting the policy. *out {id, ca_id,
 * username, created_at}. MK_ECONFLICT when the username is taken. */
int mk_svc_ca_operator_add(mk_svc_ctx *ctx, const char *ca_id, const char *username,
                           const char *password, json_t **out, char *field,
                           mk_err *e) MK_MUST_CHECK;
/* Log in a CA operator: kind MK_SESSION_CA_OPERATOR (token for mkey ca) or
 * MK_SESSION_CONSOLE (cookie; csrf receives the CSRF token). The same
 * MK_EAUTH for an unknown user, a wrong password and a disabled account.
 * *out {session_id, expires_at, ca_id, username}. */
int mk_svc_ca_operator_login(mk_svc_ctx *ctx, int kind, const char *username,
                             const char *password, char token[MK_SESSION_TOKEN_MAX], char *csrf,
                             json_t **out, mk_err *e) MK_MUST_CHECK;

/* ---- organisation (svc/personal.c, enterprise.c, member.c, authz.c;
 * docs/enterprises.md) ---- */

/* Personal certificate application (自然人), as a verified account: body
 * {platform_id, ca_id, years, attachments: [{role, id}]}. One live personal
 * application per account and CA (MK_ECONFLICT). *out is the application
 * (mk_svc_app_get). */
int mk_svc_personal_apply(mk_svc_ctx *ctx, const json_t *body, json_t **out, char *field,
                          mk_err *e) MK_MUST_CHECK;
/* Claim an enterprise (认领企业): body {name, uscc, legal_name,
 * legal_id_number, license, platform_id, ca_id, years, attachments}. A
 * claimed USCC, or one with a live claim, is MK_ECONFLICT. *out the
 * application. */
int mk_svc_enterprise_claim(mk_svc_ctx *ctx, const json_t *body, json_t **out, char *field,
                            mk_err *e) MK_MUST_CHECK;
/* Find a claimed enterprise by exact name and USCC (加入企业 / 查询):
 * *out {items: [{id, name, uscc (masked), state}]}. */
int mk_svc_enterprise_query(mk_svc_ctx *ctx, const char *name, const char *uscc, json_t **out,
                            char *field, mk_err *e) MK_MUST_CHECK;
/* The caller's enterprises: *out {items: [{id, name, uscc, role, member_id,
 * permissions}]}. */
int mk_svc_enterprise_mine(mk_svc_ctx *ctx, json_t **out, mk_err *e) MK_MUST_CHECK;
/* Enterprise id as one of its members sees it; MK_ENOTFOUND otherwise. */
int mk_svc_enterprise_get(mk_svc_ctx *ctx, const char *id, json_t **out, mk_err *e) MK_MUST_CHECK;
/* Ask to join (加入企业): body {admin_name, admin_phone, permissions,
 * platform_id, ca_id, years, attachments}. Wrong admin details are one
 * MK_EINVAL that does not say which; more than 5 a day
 * is MK_ERATE. *out the application, awaiting the admin. */
int mk_svc_enterprise_join(mk_svc_ctx *ctx, const char *id, const json_t *body, json_t **out,
                           char *field, mk_err *e) MK_MUST_CHECK;
/* Change enterprise information (admin): body {name, uscc, legal_name,
 * legal_id_number, license, certificates, ca_id, attachments, acknowledge}.
 * *out the application (data.warning carries the manual's warning). */
int mk_svc_enterprise_change(mk_svc_ctx *ctx, const char *id, const json_t *body, json_t **out,
                             char *field, mk_err *e) MK_MUST_CHECK;
/* Members: the admin sees every field, staff names and roles only. */
int mk_svc_member_list(mk_svc_ctx *ctx, const char *enterprise_id, json_t **out,
                       mk_err *e) MK_MUST_CHECK;
/* Remove a member (admin; not the admin itself); its authorisations end. */
int mk_svc_member_remove(mk_svc_ctx *ctx, const char *enterprise_id, const char *member_id,
                         mk_err *e) MK_MUST_CHECK;
/* Transfer the admin role (admin): body {member_id, form, ca_id,
 * attachments}. With form: an admin_transfer application reviewed by the
 * CA. Without: the transfer signed with the enterprise certificate, refused
 * (MK_ECONFLICT) until certificates can be downloaded. */
int mk_svc_member_transfer_admin(mk_svc_ctx *ctx, const char *enterprise_id, const json_t *body,
                                 json_t **out, char *field, mk_err *e) MK_MUST_CHECK;
/* Invite a person (admin): body {name, phone, permissions}. */
int mk_svc_invitation_create(mk_svc_ctx *ctx, const char *enterprise_id, const json_t *body,
                             json_t **out, char *field, mk_err *e) MK_MUST_CHECK;
/* Pending invitations addressed to the caller's phone number. */
int mk_svc_invitation_list_mine(mk_svc_ctx *ctx, json_t **out, mk_err *e) MK_MUST_CHECK;
/* Accept an invitation (verified account with the invited phone and name):
 * body {} makes a staff membership; {platform_id, ca_id, years,
 * attachments} makes a join application awaiting the CA instead. */
int mk_svc_invitation_accept(mk_svc_ctx *ctx, const char *id, const json_t *body, json_t **out,
                             char *field, mk_err *e) MK_MUST_CHECK;
/* Authorisations (admin): list grouped by "platform" or "person" with
 * history; grant {member_id, platform_id, permissions}; revoke. */
int mk_svc_authz_list(mk_svc_ctx *ctx, const char *enterprise_id, const char *by, json_t **out,
                      char *field, mk_err *e) MK_MUST_CHECK;
int mk_svc_authz_grant(mk_svc_ctx *ctx, const char *enterprise_id, const json_t *body,
                       json_t **out, char *field, mk_err *e) MK_MUST_CHECK;
int mk_svc_authz_revoke(mk_svc_ctx *ctx, const char *enterprise_id, const char *auth_id,
                        mk_err *e) MK_MUST_CHECK;
/* Hooks of the application kinds (svc/application.c's table). */
int mk_svc_claim_approved(mk_svc_ctx *ctx, mk_db *db, const mk_app_row *a, mk_err *e) MK_MUST_CHECK;
int mk_svc_claim_closed(mk_svc_ctx *ctx, mk_db *db, const mk_app_row *a, mk_err *e) MK_MUST_CHECK;
int mk_svc_join_approved(mk_svc_ctx *ctx, mk_db *db, const mk_app_row *a, mk_err *e) MK_MUST_CHECK;
int mk_svc_staff_cert_approved(mk_svc_ctx *ctx, mk_db *db, const mk_app_row *a,
                               mk_err *e) MK_MUST_CHECK;
int mk_svc_change_approved(mk_svc_ctx *ctx, mk_db *db, const mk_app_row *a, mk_err *e) MK_MUST_CHECK;
int mk_svc_change_closed(mk_svc_ctx *ctx, mk_db *db, const mk_app_row *a, mk_err *e) MK_MUST_CHECK;
int mk_svc_transfer_approved(mk_svc_ctx *ctx, mk_db *db, const mk_app_row *a,
                             mk_err *e) MK_MUST_CHECK;

#endif
