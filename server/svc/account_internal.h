/*
 * Pieces of svc/account.c that svc/wechat.c shares: input checks, the
 * failed-login limits, SMS code checks and accounts made at first login.
 * Not for other services: they call the functions in svc.h.
 */
#ifndef MK_SVC_ACCOUNT_INTERNAL_H
#define MK_SVC_ACCOUNT_INTERNAL_H

#include "svc/svc.h"

/* Copy name into field (MK_JSON_FIELD_MAX bytes; may be NULL). */
void mk_svc_acct_field(char *field, const char *name);
/* A mainland mobile number (field name on failure). */
int mk_svc_acct_phone_ok(const char *phone, const char *name, char *field, mk_err *e) MK_MUST_CHECK;
/* 6 digits (field "code"). */
int mk_svc_acct_code_ok(const char *code, char *field, mk_err *e) MK_MUST_CHECK;
/* A device id dev_… (field "device_id"). */
int mk_svc_acct_device_ok(const char *device_id, char *field, mk_err *e) MK_MUST_CHECK;
/* The caller's address, "" when unknown. */
const char *mk_svc_acct_remote(const mk_svc_ctx *ctx);
/* MK_ERATE after too many failed logins of phone (may be NULL: address
 * only) or from the caller's address in the last hour. */
int mk_svc_acct_login_limits(mk_svc_ctx *ctx, mk_db *db, const char *phone,
                             mk_err *e) MK_MUST_CHECK;
/* Count a failed login of phone (may be NULL) and of the caller's address,
 * in db's open transaction. */
int mk_svc_acct_login_failed(mk_svc_ctx *ctx, mk_db *db, const char *phone,
                             mk_err *e) MK_MUST_CHECK;
/* Commit db's transaction and return rc (the failure whose message is in
 * e), or the commit's own failure. */
int mk_svc_acct_commit_failure(mk_db *db, int rc, mk_err *e) MK_MUST_CHECK;
/* Use the live code of phone and purpose (for change_phone, one that
 * account_id asked for; else NULL) in db's open transaction: 0; MK_EEXPIRED
 * without one; MK_EAUTH when wrong (counted; the 5th burns it). Commit
 * whatever the result. */
int mk_svc_acct_code_consume(mk_svc_ctx *ctx, mk_db *db, const char *phone, const char *purpose,
                             const char *account_id, const char *code, mk_err *e) MK_MUST_CHECK;
/* The account of phone, made (and audited) when there is none: *created. */
int mk_svc_acct_get_or_create(mk_svc_ctx *ctx, mk_db *db, const char *phone, char id[MK_ID_MAX],
                              int *created, mk_err *e) MK_MUST_CHECK;

#endif
