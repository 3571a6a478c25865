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
#include "util/image.h"
#include "util/time.h"

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
/* The hash of a random password nobody knows (made once): verify against it
 * for an unknown user, so that costs the same Argon2id run as a wrong
 * password and the timing does not tell who exists. */
const char *mk_svc_password_decoy(void);

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

#define MK_ATTACHMENT_MAX MK_IMAGE_MAX /* bytes of one image (util/image.h) */
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
  /* The enterprise's admin decides first (joins, staff requests). Only for
   * these kinds is the admin shown the application and its attachments: a
   * later admin does not read earlier claimants' claims. Keep MK_APP_ADMIN_KINDS
   * (the SQL form) in step. */
  int admin_decides;
  /* Keys of data (text fields) a resubmission may correct; NULL: none. */
  const char *const *editable;
} mk_app_kind;
/* The kinds with admin_decides, as an SQL list. */
#define MK_APP_ADMIN_KINDS "('enterprise_join', 'staff_cert')"
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
/* ---- identity, platforms, 我的, help (svc/realname.c, platform.c, me.c,
 * help.c; docs/identity.md) ---- */

#define MK_REALNAME_ATTEMPTS_MAX 10      /* provider checks per account per window */
#define MK_REALNAME_ATTEMPT_WINDOW 3600  /* seconds */
#define MK_FACE_SESSION_TTL 600          /* seconds to finish a face check */
/* Verify the caller's identity once (实名认证): body {method: cfca|alipay|
 * bankcard, name, id_number, card_number + card_phone (bankcard),
 * face_session_id (alipay; name and id_number then optional but must match
 * the session's)}. Validators first (field named), then the provider;
 * MK_EPERM with type /problems/identity-refused when it refuses (reason in
 * e), MK_ECONFLICT when the account is verified already or the ID number is
 * verified on another account, MK_ERATE past MK_REALNAME_ATTEMPTS_MAX
 * provider checks in MK_REALNAME_ATTEMPT_WINDOW. *out {name, id_number
 * (masked), method, verified_at}. problem_type (may be NULL) receives a
 * problem type overriding the code's. */
int mk_svc_realname_verify(mk_svc_ctx *ctx, const json_t *body, json_t **out, char *field,
                           const char **problem_type, mk_err *e) MK_MUST_CHECK;
/* The caller's stored identity as above; MK_ENOTFOUND when not verified. */
int mk_svc_realname_get(mk_svc_ctx *ctx, json_t **out, mk_err *e) MK_MUST_CHECK;
/* Alipay face: start a certification for body {name, id_number}. *out
 * {face_session_id, url, state, expires_at}. Counts as an attempt. */
int mk_svc_realname_face_start(mk_svc_ctx *ctx, const json_t *body, json_t **out, char *field,
                               const char **problem_type, mk_err *e) MK_MUST_CHECK;
/* A face session of the caller, its state asked of the provider while
 * pending: pending, passed, failed, used or expired. */
int mk_svc_realname_face_get(mk_svc_ctx *ctx, const char *id, json_t **out,
                             mk_err *e) MK_MUST_CHECK;
/* Sandbox mode only (else MK_ENOTFOUND): record the face result body
 * {outcome: pass|fail} of a pending session, as Alipay would. */
int mk_svc_realname_face_sandbox(mk_svc_ctx *ctx, const char *id, const json_t *body, json_t **out,
                                 char *field, mk_err *e) MK_MUST_CHECK;
/* Re-verification (证书找回: 认证信息需与账号首次实名信息保持一致): the same
 * body as verify; the name and ID number must equal the stored identity
 * (else MK_EPERM, type /problems/identity-mismatch) and the provider must
 * accept them again. *out {verification_id, match: true, method,
 * verified_at}; recovery consumes verification_id. MK_ECONFLICT when the
 * account was never verified. */
int mk_svc_realname_reverify(mk_svc_ctx *ctx, const json_t *body, json_t **out, char *field,
                             const char **problem_type, mk_err *e) MK_MUST_CHECK;
/* In db's transaction: consume a re-verification of the caller that matched
 * at most max_age seconds ago and was not consumed yet; MK_EPERM otherwise. */
int mk_svc_realname_consume(mk_svc_ctx *ctx, mk_db *db, const char *verification_id,
                            int64_t max_age, mk_err *e) MK_MUST_CHECK;

/* Platforms (平台选择). An item: {id, name, kind (platform|alliance),
 * province, city, lat, lon, alliance {id, name} | null[, members [{id, name,
 * city}] for an alliance]}. List in id order after cursor (may be NULL),
 * province (may be NULL; "浙江" or "浙江省"), 1..100 items. */
int mk_svc_platform_list(mk_svc_ctx *ctx, const char *province, const char *cursor, int64_t limit,
                         json_t **out, mk_err *e) MK_MUST_CHECK;
int mk_svc_platform_get(mk_svc_ctx *ctx, const char *id, json_t **out, mk_err *e) MK_MUST_CHECK;
/* The limit (1..10) trading platforms nearest to lat/lon (millionths of a
 * degree, within ±90/±180), by great-circle distance: {origin {lat, lon},
 * items [item + distance_km]}. Alliances are not places: members name theirs. */
int mk_svc_platform_nearest(mk_svc_ctx *ctx, int64_t lat_e6, int64_t lon_e6, int64_t limit,
                            json_t **out, mk_err *e) MK_MUST_CHECK;
/* PUT /v1/me/platform body {platform_id}: the caller's current platform. */
int mk_svc_platform_select(mk_svc_ctx *ctx, const json_t *body, json_t **out, char *field,
                           mk_err *e) MK_MUST_CHECK;
/* Haversine distance in km on a sphere of radius 6371.0088 km (IUGG mean). */
double mk_svc_distance_km(int64_t lat1_e6, int64_t lon1_e6, int64_t lat2_e6, int64_t lon2_e6);
/* Parse a decimal degree ("30.7469", "-120") within ±max into millionths;
 * MK_EINVAL for anything else (exponents, hex, nan, more than 7 decimals). */
int mk_svc_parse_degrees(const char *s, int max, int64_t *out_e6, mk_err *e) MK_MUST_CHECK;

/* 我的 and the home page: GET /v1/me {account_id, phone, identity | null,
 * platform | null, roles, enterprises [{id, name, role}], unread_messages,
 * next_step verify|apply|download|null, next_step_label, shortcuts,
 * service_phone}. */
int mk_svc_me_get(mk_svc_ctx *ctx, json_t **out, mk_err *e) MK_MUST_CHECK;
/* Home shortcuts (应用中心): {items [{id, title}], catalogue [{id, title}]};
 * put takes {items: [id, ...]} (1..8 distinct catalogue ids). */
int mk_svc_me_shortcuts_get(mk_svc_ctx *ctx, json_t **out, mk_err *e) MK_MUST_CHECK;
int mk_svc_me_shortcuts_put(mk_svc_ctx *ctx, const json_t *body, json_t **out, char *field,
                            mk_err *e) MK_MUST_CHECK;
/* The customer-service phone (service_phone). */
const char *mk_svc_service_phone(const mk_svc_ctx *ctx);

/* Help (使用帮助) and 智能客服. Articles in position order: {items [{id,
 * title, section}], next_cursor}; one article {id, title, section, keywords,
 * body, service_phone}. */
int mk_svc_help_list(mk_svc_ctx *ctx, const char *cursor, int64_t limit, json_t **out,
                     mk_err *e) MK_MUST_CHECK;
int mk_svc_help_get(mk_svc_ctx *ctx, const char *id, json_t **out, mk_err *e) MK_MUST_CHECK;
/* The limit (1..10) best articles for the free-text question q: {query,
 * items [{id, title, section, score, excerpt}], service_phone}. */
/* At start, after the migrations: build help_fts (SQLite FTS5, trigram) or
 * rebuild it when the articles changed. Searches rely on it. */
int mk_svc_help_index(mk_svc_ctx *ctx, mk_err *e) MK_MUST_CHECK;
int mk_svc_help_search(mk_svc_ctx *ctx, const char *q, int64_t limit, json_t **out,
                       mk_err *e) MK_MUST_CHECK;
/* The query parser behind it, pure: q (at most MK_HELP_QUERY_MAX code
 * points, MK_HELP_QUERY_BYTES bytes, valid UTF-8; else MK_EINVAL) loses its
 * question words (怎么, 如何, 吗 …) and punctuation; each remaining run gives
 * its trigrams (searched with FTS5) and its bigrams and single characters
 * (searched by LIKE: the trigram tokenizer cannot match them). */
#define MK_HELP_QUERY_MAX 100
#define MK_HELP_QUERY_BYTES 400
#define MK_HELP_TERMS_MAX 64
#define MK_HELP_TERM_BYTES 40
typedef struct mk_help_terms {
  size_t n;
  struct {
    char text[MK_HELP_TERM_BYTES]; /* CJK characters or lower-case [a-z0-9] */
    int chars;                     /* code points: 1, 2, or 3+ (FTS5) */
  } term[MK_HELP_TERMS_MAX];
} mk_help_terms;
int mk_svc_help_terms(const char *q, mk_help_terms *t, mk_err *e) MK_MUST_CHECK;
/* The FTS5 MATCH expression of t's terms of 3+ characters, each a quoted
 * string ("" doubled), joined by OR; "" when there are none. */
int mk_svc_help_fts_query(const mk_help_terms *t, char *out, size_t cap, mk_err *e) MK_MUST_CHECK;

/* ---- accounts (svc/account.c, svc/wechat.c, docs/accounts.md) ---- */

#define MK_SMS_CODE_DIGITS 6
#define MK_SMS_CODE_TTL 300         /* seconds a code is valid */
#define MK_SMS_RESEND 60            /* seconds before a live code may be sent again */
#define MK_SMS_CODE_TRIES 5         /* wrong tries that void a code */
#define MK_SMS_PHONE_MAX 10         /* codes per phone per hour (cfg sms_phone_limit) */
#define MK_SMS_IP_MAX 30            /* codes per address per hour (cfg sms_ip_limit) */
#define MK_LOGIN_FAIL_PHONE_MAX 20  /* failed logins per phone per hour */
#define MK_LOGIN_FAIL_IP_MAX 50     /* failed logins per address per hour */
/* 1 when purpose is login, reset_password or change_phone. */
int mk_svc_sms_purpose_valid(const char *purpose);
/* Send a code to phone for purpose (change_phone: the caller's account
 * asks, and the number must be free). Rate limited per phone and per
 * address (MK_ERATE), one live code per phone and purpose, resend after
 * MK_SMS_RESEND s. A reset code goes only to a number with an account; the
 * answer does not tell. *out {phone (masked), purpose, expires_in,
 * resend_after}. field (may be NULL) names a failing input. */
int mk_svc_sms_code_request(mk_svc_ctx *ctx, const char *phone, const char *purpose,
                            json_t **out, char *field, mk_err *e) MK_MUST_CHECK;
/* Operator: the sandbox SMS outbox of phone, newest first. */
int mk_svc_sms_outbox(mk_svc_ctx *ctx, const char *phone, json_t **out, char *field,
                      mk_err *e) MK_MUST_CHECK;
/* Log in with phone and either an SMS code (login; the first login creates
 * the account) or the password, on device_id. *out {token, session_id,
 * expires_at, account_id, new_account}. MK_EAUTH for a wrong code or
 * password (the same for an unknown phone), MK_EEXPIRED without a live
 * code, MK_ERATE after too many failures. */
int mk_svc_account_login(mk_svc_ctx *ctx, const char *phone, const char *code,
                         const char *password, const char *device_id, json_t **out, char *field,
                         mk_err *e) MK_MUST_CHECK;
/* In db's open transaction: start a session of account_id on device_id as
 * the caller, audited as account.login by method; *out as above. */
int mk_svc_account_session_start(mk_svc_ctx *ctx, mk_db *db, const char *account_id,
                                 const char *device_id, const char *method, int new_account,
                                 json_t **out, mk_err *e) MK_MUST_CHECK;
/* End the caller's account session. */
int mk_svc_account_logout(mk_svc_ctx *ctx, mk_err *e) MK_MUST_CHECK;
/* Set the caller's password (none yet: old_password NULL) or change it
 * (old_password required; wrong: MK_EPERM). Other sessions end. *out
 * {account_id, password_set, sessions_ended}. */
int mk_svc_account_password_set(mk_svc_ctx *ctx, const char *old_password,
                                const char *new_password, json_t **out, char *field,
                                mk_err *e) MK_MUST_CHECK;
/* Forgotten password: a reset_password code of phone sets a new one and
 * ends every session. *out {account_id, phone (masked), password_set,
 * sessions_ended}. */
int mk_svc_account_password_reset(mk_svc_ctx *ctx, const char *phone, const char *code,
                                  const char *new_password, json_t **out, char *field,
                                  mk_err *e) MK_MUST_CHECK;
/* Move the caller's account to new_phone with the change_phone code sent
 * there; the number must be free (MK_ECONFLICT). Other sessions end. *out
 * {account_id, phone (masked), sessions_ended}. */
int mk_svc_account_phone_change(mk_svc_ctx *ctx, const char *new_phone, const char *code,
                                json_t **out, char *field, mk_err *e) MK_MUST_CHECK;

/* ---- WeChat login (svc/wechat.c) ---- */
#define MK_WECHAT_TICKET_TTL 600 /* seconds a binding ticket is valid */
/* Sandbox only (MK_ENOTFOUND otherwise): the simulated consent page gives
 * user (1..32 of A-Z a-z 0-9 . _ -) a one-time authorization code. *out
 * {code, state, expires_in}; state (may be NULL) is echoed. */
int mk_svc_wechat_consent(mk_svc_ctx *ctx, const char *user, const char *state, json_t **out,
                          char *field, mk_err *e) MK_MUST_CHECK;
/* Trade WeChat's authorization code for a session on device_id when its
 * openid is bound (*bound 1, *out as mk_svc_account_login), else for a
 * binding ticket (*bound 0, *out {binding_ticket, expires_in}). MK_EAUTH
 * for a code WeChat does not accept. */
int mk_svc_wechat_login(mk_svc_ctx *ctx, const char *code, const char *device_id, json_t **out,
                        int *bound, char *field, mk_err *e) MK_MUST_CHECK;
/* Bind the ticket's openid to the account of phone (made when there is
 * none) with a login SMS code sent to phone, and log in on device_id. *out
 * as mk_svc_account_login. MK_EEXPIRED for a used or expired ticket,
 * MK_ECONFLICT when the account has another WeChat user or the openid was
 * bound meanwhile. */
int mk_svc_wechat_bind(mk_svc_ctx *ctx, const char *ticket, const char *phone, const char *code,
                       const char *device_id, json_t **out, char *field, mk_err *e) MK_MUST_CHECK;

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
/* ---- review: application lists, CA review, messages (svc/review.c,
 * svc/message.c; docs/review.md, docs/messages.md) ---- */

#define MK_SVC_LIST_MAX 100 /* items of one page */

/* The calling account's applications, newest first: role "applicant" (its
 * own; NULL means this) or "admin" (those of the enterprises it administers),
 * state (may be NULL) one of the stored states, cursor (may be NULL) a
 * next_cursor this gave. *out {items:[{id, kind, title, state, action,
 * applicant {account_id, name, phone (masked)}, enterprise {id, name, uscc} |
 * null, platform_id, ca_id, years, created_at, updated_at}], next_cursor}.
 * MK_EINVAL naming field (role, state, cursor, limit). */
int mk_svc_app_list(mk_svc_ctx *ctx, const char *role, const char *state, const char *cursor,
                    int64_t limit, json_t **out, char *field, mk_err *e) MK_MUST_CHECK;
/* A position in mk_svc_app_list or mk_svc_ca_queue: its cursor is
 * "<unix seconds>-<application id>" of the page's last item. */
typedef struct mk_svc_app_pos {
  char at[MK_TIME_TEXT_MAX]; /* "" at the start */
  char id[MK_ID_MAX];
} mk_svc_app_pos;
/* Read cursor c (NULL: the start, at and id ""); MK_EINVAL naming field
 * "cursor" for anything mk_svc_app_cursor_make does not give. */
int mk_svc_app_cursor_parse(const char *c, mk_svc_app_pos *p, char *field,
                            mk_err *e) MK_MUST_CHECK;
/* The cursor of the item at (a timestamp text), id into out (cap bytes). */
int mk_svc_app_cursor_make(const char *at, const char *id, char *out, size_t cap,
                           mk_err *e) MK_MUST_CHECK;
/* event on application id in a transaction of its own, as the caller
 * (mk_svc_app_transition says who may and when); *out the application as it
 * is then (mk_svc_app_get). reason for rejections. body is the resubmission
 * {changes?, attachments?: [{role, id}]} (may be NULL): changes replace
 * scalar keys the data has (same type; ids are not changeable; ID numbers,
 * USCCs, phones and person names validated by key), attachments replace
 * those of the same role. */
int mk_svc_app_act(mk_svc_ctx *ctx, const char *id, int event, const char *reason,
                   const json_t *body, json_t **out, char *field, mk_err *e) MK_MUST_CHECK;
/* CA operator: its CA's applications in state (NULL: awaiting_ca; only
 * states after the CA step), oldest in that state first. *out {items:[{id,
 * kind, title, state, applicant {account_id, name, phone, id_number} (both
 * masked), enterprise {id, name, uscc} | null, platform_id, years,
 * attachments (a count), created_at, updated_at}], next_cursor}. */
int mk_svc_ca_queue(mk_svc_ctx *ctx, const char *state, const char *cursor, int64_t limit,
                    json_t **out, char *field, mk_err *e) MK_MUST_CHECK;
/* CA operator: one application of its CA as mk_svc_app_get, plus
 * applicant.id_number (masked) and each attachment's url. MK_ENOTFOUND for
 * another CA's application or one that never reached the CA. */
int mk_svc_ca_app_get(mk_svc_ctx *ctx, const char *id, json_t **out, mk_err *e) MK_MUST_CHECK;
/* CA operator: the bytes of attachment att of application id (only one that
 * application carries). *data is the caller's (free). */
int mk_svc_ca_app_attachment(mk_svc_ctx *ctx, const char *id, const char *att,
                             unsigned char **data, size_t *len, char media_type[16],
                             mk_err *e) MK_MUST_CHECK;
/* mk_svc_ca_operator_login behind a limit on failures: at most
 * MK_CA_LOGIN_FAILS_USER per username and MK_CA_LOGIN_FAILS_REMOTE per
 * client address (ctx->caller.remote) within MK_CA_LOGIN_WINDOW seconds,
 * then MK_ERATE until older failures leave the window. A success clears the
 * username's failures. For `mkey ca login` and the console's login. */
#define MK_CA_LOGIN_WINDOW (15 * 60)
#define MK_CA_LOGIN_FAILS_USER 5
#define MK_CA_LOGIN_FAILS_REMOTE 20
int mk_svc_ca_login(mk_svc_ctx *ctx, int kind, const char *username, const char *password,
                    char token[MK_SESSION_TOKEN_MAX], char *csrf, json_t **out,
                    mk_err *e) MK_MUST_CHECK;

/* The calling account's messages, newest first: seq > after (may be NULL),
 * below cursor (may be NULL; a next_cursor this gave), unread_only. *out
 * {items:[{id, seq, type, title, body, application_id, action, read_at,
 * created_at}], next_cursor, unread_count, last_seq}. */
int mk_svc_message_list(mk_svc_ctx *ctx, int unread_only, const char *after, const char *cursor,
                        int64_t limit, json_t **out, char *field, mk_err *e) MK_MUST_CHECK;
/* A message seq (after=, cursor=): 0..2^62 from text of at most 18
 * digits, else -1. */
int64_t mk_svc_message_seq_parse(const char *s);
/* One message of the caller; the first reading marks it read. */
int mk_svc_message_get(mk_svc_ctx *ctx, const char *id, json_t **out, mk_err *e) MK_MUST_CHECK;
/* Mark the caller's unread messages read, up to seq up_to (0: all). *out
 * {marked, unread_count, last_seq}. */
int mk_svc_message_read_all(mk_svc_ctx *ctx, int64_t up_to, json_t **out,
                            mk_err *e) MK_MUST_CHECK;

/* Long-poll notifier (one process; docs/messages.md). mk_svc_message_post
 * remembers, per thread, whom it wrote to; whoever owns the transactions
 * calls mk_svc_message_flush once they are committed or rolled back (the
 * HTTP server does after every handler; other threads that post must too),
 * which wakes the watches of those accounts. A waiter takes the account's
 * version before it reads the store and passes it to watch: a post flushed
 * in between fires the watch at once. fn runs exactly once per watch (on a
 * post, at deadline_ms of mk_time_mono_ms, by fire or wake_owner, or when
 * the notifier stops), on some thread, with the notifier's lock held: it
 * must be quick and must not call back into the notifier. */
typedef struct mk_svc_watch mk_svc_watch;
typedef void (*mk_svc_wake_fn)(void *arg);
int mk_svc_message_notifier_start(mk_err *e) MK_MUST_CHECK; /* counted: start/stop pairs */
void mk_svc_message_notifier_stop(void);
uint64_t mk_svc_message_version(const char *account_id);
/* *out is the caller's: mk_svc_message_unwatch it once fired or unwanted. */
int mk_svc_message_watch(const char *account_id, uint64_t version, int64_t deadline_ms,
                         const void *owner, mk_svc_wake_fn fn, void *arg, mk_svc_watch **out,
                         mk_err *e) MK_MUST_CHECK;
void mk_svc_message_fire(mk_svc_watch *w);       /* now, unless it fired already */
void mk_svc_message_unwatch(mk_svc_watch *w);    /* NULL does nothing */
void mk_svc_message_wake_owner(const void *owner); /* fire every watch of owner */
void mk_svc_message_notify(const char *account_id); /* NULL: every account */
void mk_svc_message_pending(const char *account_id); /* what mk_svc_message_post calls */
void mk_svc_message_flush(void);

/* ---- web console sessions (svc/console.c, docs/console.md) ---- */
/* (Logins are mk_svc_ca_login with MK_SESSION_CONSOLE: one bound on failed
 * logins with `mkey ca login`.) */

/* The caller's CA operator session: {username, ca_id, ca_name, session_id,
 * kind, expires_at}. */
int mk_svc_console_session(mk_svc_ctx *ctx, json_t **out, mk_err *e) MK_MUST_CHECK;
/* A new CSRF token for the caller's console session; the old one stops
 * working. MK_EAUTH for any other kind of session. */
int mk_svc_console_csrf_renew(mk_svc_ctx *ctx, char csrf[MK_SESSION_TOKEN_MAX],
                              mk_err *e) MK_MUST_CHECK;

#endif
