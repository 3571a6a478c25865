#include "svc/svc.h"

#include "util/guard.h"
#include "util/id.h"
#include "util/time.h"

int mk_svc_system_init(mk_svc_ctx *ctx, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  char id[MK_ID_MAX], ts[MK_TIME_TEXT_MAX];
  MK_TRY(mk_id_new(id, "ins", e));
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e)); /* holds the write lock: one first start wins */
  MK_TRY(mk_db_prepare(db, "SELECT id FROM instance", &st, e));
  int exists = 0;
  MK_TRY(exists = mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  if (!exists) {
    MK_TRY(mk_db_prepare(db, "INSERT INTO instance(id, created_at) VALUES ($1, $2)", &st, e));
    MK_TRY(mk_stmt_bind_text(st, 1, id, e));
    MK_TRY(mk_stmt_bind_text(st, 2, ts, e));
    MK_TRY(mk_stmt_step(st, e));
    mk_stmt_finish(st);
    st = NULL;
  }
  MK_TRY(mk_db_commit(db, e));
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db); /* rolls back on failure */
  return rc;
}

int mk_svc_system_health(mk_svc_ctx *ctx, json_t **out, mk_err *e) {
  int rc = 0;
  MK_TRY(mk_store_ping(ctx->store, e));
  *out = json_pack("{s:s,s:s}", "status", "ok", "store", "ok");
  MK_ENSURE_ALLOC(*out, e);
out:
  return rc;
}

int mk_svc_system_version(mk_svc_ctx *ctx, json_t **out, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  int64_t schema = 0;
  MK_TRY(mk_store_schema_version(ctx->store, &schema, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_prepare(db, "SELECT id FROM instance", &st, e));
  int has = 0;
  MK_TRY(has = mk_stmt_step(st, e));
  const char *instance = has == 1 ? mk_stmt_text(st, 0) : NULL;
  *out = json_pack("{s:s,s:s,s:s,s:s,s:I,s:b,s:s?}", "name", "mkeyd", "version", mk_version(),
                   "api", "v1", "store", mk_store_backend(ctx->store), "schema",
                   (json_int_t)schema, "sandbox", ctx->cfg->sandbox, "instance", instance);
  MK_ENSURE_ALLOC(*out, e);
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  return rc;
}
