/*
 * Internal helpers of the organisation services (svc/org.c): personal
 * applications, enterprises, members, invitations and authorisations share
 * them. Nothing outside svc/{org,personal,enterprise,member,authz}.c
 * includes this file; the public entry points are in svc.h.
 */
#ifndef MK_SVC_ORG_H
#define MK_SVC_ORG_H

#include "svc/svc.h"
#include "util/json.h"
#include "util/time.h"

#define ORG_NAME_MAX 304 /* an enterprise name: 100 characters of up to 3 bytes */
#define ORG_NAME_CHARS 100
#define ORG_PERSON_MAX 64  /* mk_svc_identity_of's name buffer */
#define ORG_CODE_MAX 32    /* ID number, USCC, phone after normalising */
#define ORG_ATT_MAX 16     /* attachments on one application */
#define ORG_CERTS_MAX 100  /* certificates named by one change */
#define ORG_BODY_ID_MAX 64 /* platform and CA ids in a body */
#define ORG_YEARS_MAX 10
#define ORG_INVITE_TTL (7 * 86400)
#define ORG_JOIN_MISMATCH_MAX 5 /* wrong admin details per account per day */

/* Applications not yet decided: waiting for the admin or the CA, or
 * rejected by the CA (the applicant may resubmit). Once the CA approves, the
 * kind's consequence has happened and a new request may follow. */
#define ORG_PENDING "state IN ('awaiting_admin', 'awaiting_ca', 'ca_rejected')"
/* Personal applications hold a certificate to come until it is issued. */
#define ORG_LIVE "state NOT IN ('issued', 'cancelled', 'admin_rejected')"

/* The manual's warning before enterprise information changes (变更企业信息). */
#define ORG_CHANGE_WARNING "CA证书一经变更，不能恢复，无法解密原有文件！"

/* ---- permissions ---- */

/* The permissions a member or an authorisation may carry, in canonical
 * order, ending with NULL (docs/enterprises.md). */
extern const char *const org_permissions[];
/* Parse v (a JSON array of distinct names from org_permissions, 1..all of
 * them) into a new array in canonical order; field names key on failure. */
int org_permissions_parse(const json_t *v, const char *key, json_t **out, char *field,
                          mk_err *e) MK_MUST_CHECK;
/* A new array of every permission (an admin's). NULL when out of memory. */
json_t *org_permissions_all(void);
/* Parse a stored permissions column. */
int org_permissions_load(const char *text, json_t **out, mk_err *e) MK_MUST_CHECK;
/* The array as compact JSON text; the caller frees. NULL when out of memory. */
char *org_permissions_text(const json_t *perms);

/* ---- attachments named by a body ---- */

typedef struct org_atts {
  const char *ids[ORG_ATT_MAX]; /* point into the body or constant text */
  const char *roles[ORG_ATT_MAX];
  size_t n;
} org_atts;
/* Read body[key] (optional): an array of {role, id}, role 1..32 of [a-z0-9_],
 * id an attachment id. reserved (may be NULL) is a role the body must give
 * elsewhere (the licence). */
int org_atts_parse(const json_t *body, const char *key, const char *reserved, org_atts *a,
                   char *field, mk_err *e) MK_MUST_CHECK;
/* Add one (id from outside: checked). */
int org_atts_add(org_atts *a, const char *id, const char *role, const char *key, char *field,
                 mk_err *e) MK_MUST_CHECK;
/* Point n's attachment arrays at a. */
void org_atts_apply(const org_atts *a, mk_app_new *n);
/* Create application n with the attachments a in db's open transaction
 * (mk_svc_app_create; id receives its id) and read it back into *out, the
 * caller's to free. */
int org_app_submit(mk_svc_ctx *ctx, mk_db *db, mk_app_new *n, const org_atts *a,
                   char id[MK_ID_MAX], json_t **out, char *field, mk_err *e) MK_MUST_CHECK;

/* ---- the caller ---- */

/* The caller must be an account with a verified identity (MK_EAUTH, then
 * MK_EPERM with what to do). name/id_number (may be NULL) receive it. */
int org_need_verified(mk_svc_ctx *ctx, mk_db *db, char name[ORG_PERSON_MAX],
                      char id_number[ORG_CODE_MAX], mk_err *e) MK_MUST_CHECK;

/* ---- input ---- */

/* Copy in without spaces and dashes, letters upper-cased (ID numbers, credit
 * codes). -1 when it does not fit. */
int org_norm_code(const char *in, char out[ORG_CODE_MAX]);
/* Copy a mobile number without spaces, dashes and a +86 / 0086 prefix. */
int org_norm_phone(const char *in, char out[ORG_CODE_MAX]);
/* An enterprise name: 2..100 characters of text. */
int org_valid_enterprise_name(const char *s, mk_err *e) MK_MUST_CHECK;
/* Read and validate body[key] as an enterprise name / person name / ID
 * number / USCC / mobile into out (normalised). */
int org_get_enterprise_name(const json_t *body, const char *key, char out[ORG_NAME_MAX],
                            char *field, mk_err *e) MK_MUST_CHECK;
int org_get_person_name(const json_t *body, const char *key, char out[ORG_PERSON_MAX], char *field,
                        mk_err *e) MK_MUST_CHECK;
int org_get_id_number(mk_svc_ctx *ctx, const json_t *body, const char *key, char out[ORG_CODE_MAX],
                      char *field, mk_err *e) MK_MUST_CHECK;
int org_get_uscc(const json_t *body, const char *key, char out[ORG_CODE_MAX], char *field,
                 mk_err *e) MK_MUST_CHECK;
int org_get_phone(const json_t *body, const char *key, char out[ORG_CODE_MAX], char *field,
                  mk_err *e) MK_MUST_CHECK;
/* platform_id (required when need_platform), ca_id (required), years
 * (required when need_years, 1..ORG_YEARS_MAX). Pointers into body. */
int org_get_cert_choice(const json_t *body, int need_platform, int need_years,
                        const char **platform_id, const char **ca_id, int *years, char *field,
                        mk_err *e) MK_MUST_CHECK;
/* MK_ENOTFOUND ("no such <what>") unless id is a well-formed id of prefix. */
int org_check_param(const char *id, const char *prefix, const char *what, mk_err *e) MK_MUST_CHECK;

/* ---- enterprises and members ---- */

typedef struct org_enterprise {
  char id[MK_ID_MAX], name[ORG_NAME_MAX], uscc[ORG_CODE_MAX], legal_name[ORG_PERSON_MAX],
      legal_id_number[ORG_CODE_MAX], license[MK_ID_MAX], state[16], admin[MK_ID_MAX],
      created_at[MK_TIME_TEXT_MAX], updated_at[MK_TIME_TEXT_MAX];
} org_enterprise;

/* Load enterprise id (MK_ENOTFOUND when absent). */
int org_enterprise_load(mk_db *db, const char *id, org_enterprise *ent, mk_err *e) MK_MUST_CHECK;
/* The caller is an account with at least role (1 staff, 2 admin) in claimed
 * enterprise id: MK_ENOTFOUND when it is not a member (the enterprise stays
 * invisible), MK_EPERM when staff does an admin's work. *role (may be NULL)
 * receives the caller's role. ent (may be NULL) receives the enterprise. */
int org_need_member(mk_svc_ctx *ctx, mk_db *db, const char *id, int min_role, org_enterprise *ent,
                    int *role, mk_err *e) MK_MUST_CHECK;

/* An undecided (ORG_PENDING) application of kind for account_id /
 * enterprise_id / ca_id (each may be NULL to match any) other than
 * except_id (may be NULL): 1 with its id in out (may be NULL), else 0.
 * org_live_app counts ORG_LIVE ones instead. */
int org_pending_app(mk_db *db, const char *kind, const char *account_id, const char *enterprise_id,
                    const char *ca_id, const char *except_id, char out[MK_ID_MAX],
                    mk_err *e) MK_MUST_CHECK;
int org_live_app(mk_db *db, const char *kind, const char *account_id, const char *enterprise_id,
                 const char *ca_id, const char *except_id, char out[MK_ID_MAX],
                 mk_err *e) MK_MUST_CHECK;

/* Make account_id an active member of role with perms (an earlier removed
 * membership is revived). member_id (may be NULL) receives its id. Audited. */
int org_membership_set(mk_svc_ctx *ctx, mk_db *db, const char *enterprise_id,
                       const char *account_id, const char *role, const json_t *perms,
                       char member_id[MK_ID_MAX], mk_err *e) MK_MUST_CHECK;
/* The active membership of account_id in enterprise_id: 1 and its id (and
 * role, 16 bytes, may be NULL), or 0. */
int org_membership_of(mk_db *db, const char *enterprise_id, const char *account_id,
                      char member_id[MK_ID_MAX], char *role, mk_err *e) MK_MUST_CHECK;

/* The CA an enterprise was claimed through (svc/enterprise.c): it reviews
 * the enterprise's later requests unless the admin names another. "" when
 * none. */
/* The CA that reviews changes and admin transfers of enterprise_id: the one
 * that approved its claim. asked (the body's ca_id, may be NULL) must be
 * that CA (MK_EINVAL naming ca_id): an applicant does not pick a more
 * lenient reviewer. MK_ECONFLICT when no claim was approved. */
int org_review_ca(mk_db *db, const char *enterprise_id, const char *asked,
                  char ca[MK_CALLER_CA_ID_MAX], char *field, mk_err *e) MK_MUST_CHECK;
int org_claim_ca(mk_db *db, const char *enterprise_id, char ca[MK_CALLER_CA_ID_MAX],
                 mk_err *e) MK_MUST_CHECK;

/* ---- authorisations ---- */

/* Record an authorisation of member_id for platform_id with perms, unless
 * an active one exists for that platform (then 0 and nothing changes);
 * 1 when one was made (id, may be NULL, receives it). Audited. */
int org_authz_grant_db(mk_svc_ctx *ctx, mk_db *db, const char *enterprise_id, const char *member_id,
                       const char *platform_id, const json_t *perms, const char *source,
                       const char *application_id, const char *granted_by, char id[MK_ID_MAX],
                       mk_err *e) MK_MUST_CHECK;
/* Revoke every active authorisation of member_id (the member left). */
int org_authz_revoke_member(mk_svc_ctx *ctx, mk_db *db, const char *enterprise_id,
                            const char *member_id, mk_err *e) MK_MUST_CHECK;

/* ---- output ---- */

/* 9133**********4D53: a credit code shown to someone who typed it. */
void org_mask_uscc(const char *v, char *out, size_t cap);
/* mk_svc_audit with an empty detail. */
int org_audit(mk_svc_ctx *ctx, mk_db *db, const char *action, const char *object_type,
              const char *object_id, const char *account_id, const char *enterprise_id,
              mk_err *e) MK_MUST_CHECK;
/* json_object_set_new that fails with MK_ENOMEM. */
int org_set(json_t *o, const char *key, json_t *v, mk_err *e) MK_MUST_CHECK;

#endif
