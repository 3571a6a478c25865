/*
 * Messages (消息): an inbox per account. Workflows post inside the
 * transaction of the change the message reports, so a message never tells
 * of something that did not happen. seq grows per account: a client that
 * saw seq N waits for N+1 (long-poll).
 */
#include <string.h>

#include "svc/svc.h"
#include "util/guard.h"
#include "util/time.h"

int mk_svc_message_post(mk_svc_ctx *ctx, mk_db *db, const char *account_id, const char *type,
                        const char *title, const char *body, const char *application_id,
                        const char *action, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  char id[MK_ID_MAX], ts[MK_TIME_TEXT_MAX];
  int64_t seq = 1;
  MK_ENSURE(mk_db_in_tx(db), MK_EINTERNAL, e, "messages are posted inside a transaction");
  MK_TRY(mk_db_prepare(db, "SELECT MAX(seq) FROM message WHERE account_id = $1", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, account_id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  if (found && !mk_stmt_is_null(st, 0))
    seq = mk_stmt_int(st, 0) + 1;
  mk_stmt_finish(st);
  st = NULL;
  MK_TRY(mk_id_new(id, "msg", e));
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_db_prepare(db,
                       "INSERT INTO message(id, account_id, seq, type, title, body, "
                       "application_id, action, created_at) "
                       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, account_id, e));
  MK_TRY(mk_stmt_bind_int(st, 3, seq, e));
  MK_TRY(mk_stmt_bind_text(st, 4, type, e));
  MK_TRY(mk_stmt_bind_text(st, 5, title, e));
  MK_TRY(mk_stmt_bind_text(st, 6, body ? body : "", e));
  MK_TRY(mk_stmt_bind_text(st, 7, application_id, e));
  MK_TRY(mk_stmt_bind_text(st, 8, action, e));
  MK_TRY(mk_stmt_bind_text(st, 9, ts, e));
  MK_TRY(mk_stmt_step(st, e));
out:
  mk_stmt_finish(st);
  return rc;
}
