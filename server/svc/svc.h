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

/* Who is calling; grows with accounts (issue 5) and operators. */
typedef struct mk_caller {
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

#endif
