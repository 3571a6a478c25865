/*
 * The CA web console's sessions (docs/console.md): who is logged in, and a
 * fresh CSRF token for a page that lost its copy. Logins go through
 * mk_svc_ca_login (svc/review.c), whose bound on failed logins the console
 * shares with `mkey ca login`.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "svc/svc.h"
#include "util/enc.h"
#include "util/guard.h"
#include "util/time.h"

int mk_svc_console_session(mk_svc_ctx *ctx, json_t **out, mk_err *e) {
  int rc = 0, found = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  char exp[MK_TIME_TEXT_MAX];
  *out = NULL;
  MK_ENSURE(ctx->caller.role == MK_ROLE_CA_OPERATOR && ctx->caller.session_id[0] != '\0',
            MK_EAUTH, e, "log in to the console first");
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_prepare(db,
                       "SELECT o.username, o.ca_id, c.name, s.expires_at, s.kind "
                       "FROM session s JOIN ca_operator o ON o.id = s.ca_operator_id "
                       "JOIN ca c ON c.id = o.ca_id WHERE s.id = $1",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, ctx->caller.session_id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found, MK_EAUTH, e, "the session is not valid; log in again");
  MK_TRY(mk_time_format(mk_stmt_int(st, 3), exp, e));
  *out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "username", mk_stmt_text(st, 0), "ca_id",
                   mk_stmt_text(st, 1), "ca_name", mk_stmt_text(st, 2), "session_id",
                   ctx->caller.session_id, "kind", mk_stmt_text(st, 4), "expires_at", exp);
  MK_ENSURE_ALLOC(*out, e);
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  return rc;
}

int mk_svc_console_csrf_renew(mk_svc_ctx *ctx, char csrf[MK_SESSION_TOKEN_MAX], mk_err *e) {
  int rc = 0, changed = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  unsigned char raw[32], d[32];
  unsigned dn = 0;
  char hex[65];
  MK_ENSURE(ctx->caller.role == MK_ROLE_CA_OPERATOR && ctx->caller.session_id[0] != '\0',
            MK_EAUTH, e, "log in to the console first");
  MK_TRY_OSSL(RAND_priv_bytes(raw, sizeof raw), e, "CSRF token");
  MK_TRY(mk_base64url_encode(raw, sizeof raw, csrf, MK_SESSION_TOKEN_MAX, e));
  MK_TRY_OSSL(EVP_Digest(csrf, strlen(csrf), d, &dn, EVP_sha256(), NULL), e, "SHA-256");
  MK_TRY(mk_hex_encode(d, sizeof d, hex, sizeof hex, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(mk_db_prepare(db,
                       "UPDATE session SET csrf_sha256 = $1 WHERE id = $2 AND kind = 'console' "
                       "AND revoked_at IS NULL RETURNING id",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, hex, e));
  MK_TRY(mk_stmt_bind_text(st, 2, ctx->caller.session_id, e));
  MK_TRY(changed = mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  MK_ENSURE(changed, MK_EAUTH, e, "the session is not a console session; log in again");
  MK_TRY(mk_svc_audit(ctx, db, "ca_operator.console_csrf", "session", ctx->caller.session_id,
                      NULL, NULL, NULL, e));
  MK_TRY(mk_db_commit(db, e));
out:
  OPENSSL_cleanse(raw, sizeof raw);
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  if (rc < 0)
    OPENSSL_cleanse(csrf, MK_SESSION_TOKEN_MAX);
  return rc;
}
