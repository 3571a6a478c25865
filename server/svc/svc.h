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

#endif
