/*
 * Sessions: 256-bit random tokens handed to the client once and kept only as
 * SHA-256, so a copy of the database logs nobody in. An account session is
 * bound to the device that logged in (its Mkey-Device id): a token copied to
 * another device is refused. Console sessions carry a second secret, the
 * CSRF token, that the page sends in a header on every change.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "svc/svc.h"
#include "util/enc.h"
#include "util/guard.h"
#include "util/time.h"

static const char *const kind_names[] = {"account", "ca_operator", "console"};

static int token_new(char token[MK_SESSION_TOKEN_MAX], mk_err *e) {
  int rc = 0;
  unsigned char raw[32];
  MK_TRY_OSSL(RAND_priv_bytes(raw, sizeof raw), e, "session token");
  MK_TRY(mk_base64url_encode(raw, sizeof raw, token, MK_SESSION_TOKEN_MAX, e));
out:
  OPENSSL_cleanse(raw, sizeof raw);
  return rc;
}

static int token_hash(const char *token, char hex[65], mk_err *e) {
  int rc = 0;
  unsigned char d[32];
  unsigned n = 0;
  MK_TRY_OSSL(EVP_Digest(token, strlen(token), d, &n, EVP_sha256(), NULL), e, "SHA-256");
  MK_TRY(mk_hex_encode(d, sizeof d, hex, 65, e));
out:
  return rc;
}

int mk_svc_session_create(mk_svc_ctx *ctx, mk_db *db, int kind, const char *subject_id,
                          const char *device_id, char token[MK_SESSION_TOKEN_MAX], char *csrf,
                          json_t **out, mk_err *e) {
  int rc = 0;
  mk_stmt *st = NULL;
  char id[MK_ID_MAX], hex[65], csrf_hex[65], ts[MK_TIME_TEXT_MAX];
  int64_t ttl = kind == MK_SESSION_ACCOUNT       ? MK_SESSION_TTL_ACCOUNT
                : kind == MK_SESSION_CA_OPERATOR ? MK_SESSION_TTL_CA_OPERATOR
                                                 : MK_SESSION_TTL_CONSOLE;
  MK_ENSURE(kind >= MK_SESSION_ACCOUNT && kind <= MK_SESSION_CONSOLE, MK_EINTERNAL, e,
            "unknown session kind");
  MK_ENSURE(mk_db_in_tx(db), MK_EINTERNAL, e, "session_create needs a transaction");
  if (kind == MK_SESSION_ACCOUNT) {
    rc = device_id ? mk_id_check(device_id, "dev", e) : MK_EINVAL;
    if (rc < 0) {
      mk_err_set(e, MK_EINVAL, "a device id (dev_…) is required to log in");
      goto out;
    }
  } else {
    device_id = "";
  }
  MK_ENSURE((kind == MK_SESSION_CONSOLE) == (csrf != NULL), MK_EINTERNAL, e,
            "a CSRF token belongs to console sessions only");
  MK_TRY(token_new(token, e));
  MK_TRY(token_hash(token, hex, e));
  if (csrf != NULL) {
    MK_TRY(token_new(csrf, e));
    MK_TRY(token_hash(csrf, csrf_hex, e));
  }
  MK_TRY(mk_id_new(id, "ses", e));
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_db_prepare(db,
                       "INSERT INTO session(id, token_sha256, kind, account_id, ca_operator_id, "
                       "device_id, csrf_sha256, remote, created_at, expires_at) "
                       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, hex, e));
  MK_TRY(mk_stmt_bind_text(st, 3, kind_names[kind], e));
  MK_TRY(mk_stmt_bind_text(st, 4, kind == MK_SESSION_ACCOUNT ? subject_id : NULL, e));
  MK_TRY(mk_stmt_bind_text(st, 5, kind == MK_SESSION_ACCOUNT ? NULL : subject_id, e));
  MK_TRY(mk_stmt_bind_text(st, 6, device_id, e));
  MK_TRY(mk_stmt_bind_text(st, 7, csrf ? csrf_hex : NULL, e));
  MK_TRY(mk_stmt_bind_text(st, 8, ctx->caller.remote ? ctx->caller.remote : "", e));
  MK_TRY(mk_stmt_bind_text(st, 9, ts, e));
  MK_TRY(mk_stmt_bind_int(st, 10, ctx->now() + ttl, e));
  MK_TRY(mk_stmt_step(st, e));
  if (out != NULL) {
    char exp[MK_TIME_TEXT_MAX];
    MK_TRY(mk_time_format(ctx->now() + ttl, exp, e));
    *out = json_pack("{s:s,s:s}", "session_id", id, "expires_at", exp);
    MK_ENSURE_ALLOC(*out, e);
  }
  snprintf(ctx->caller.session_id, sizeof ctx->caller.session_id, "%s", id);
out:
  mk_stmt_finish(st);
  if (rc < 0) {
    OPENSSL_cleanse(token, MK_SESSION_TOKEN_MAX);
    if (csrf != NULL)
      OPENSSL_cleanse(csrf, MK_SESSION_TOKEN_MAX);
  }
  return rc;
}

int mk_svc_session_check(mk_svc_ctx *ctx, int kind, const char *token, const char *device_id,
                         int need_csrf, const char *csrf, mk_err *e) {
  int rc = 0, found = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  char hex[65], csrf_hex[65];
  MK_ENSURE(kind >= MK_SESSION_ACCOUNT && kind <= MK_SESSION_CONSOLE, MK_EINTERNAL, e,
            "unknown session kind");
  MK_ENSURE(token != NULL && *token != '\0' && strlen(token) < MK_SESSION_TOKEN_MAX, MK_EAUTH, e,
            kind == MK_SESSION_CONSOLE ? "log in to the console first" : "log in first");
  MK_TRY(token_hash(token, hex, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_prepare(db,
                       "SELECT s.id, s.token_sha256, s.account_id, s.ca_operator_id, s.device_id, "
                       "s.csrf_sha256, s.expires_at, o.ca_id, o.disabled_at "
                       "FROM session s LEFT JOIN ca_operator o ON o.id = s.ca_operator_id "
                       "WHERE s.token_sha256 = $1 AND s.kind = $2 AND s.revoked_at IS NULL",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, hex, e));
  MK_TRY(mk_stmt_bind_text(st, 2, kind_names[kind], e));
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found && CRYPTO_memcmp(mk_stmt_text(st, 1), hex, 64) == 0, MK_EAUTH, e,
            "the session is not valid; log in again");
  MK_ENSURE(mk_stmt_int(st, 6) > ctx->now(), MK_EAUTH, e, "the session has expired; log in again");
  if (kind == MK_SESSION_ACCOUNT) {
    const char *bound = mk_stmt_text(st, 4);
    MK_ENSURE(device_id != NULL && strlen(device_id) == strlen(bound) &&
                  CRYPTO_memcmp(device_id, bound, strlen(bound)) == 0,
              MK_EAUTH, e, "the session belongs to another device; log in on this one");
  } else {
    MK_ENSURE(mk_stmt_is_null(st, 8), MK_EAUTH, e, "the CA operator account is disabled");
  }
  if (need_csrf) {
    const char *want = mk_stmt_text(st, 5);
    MK_ENSURE(csrf != NULL && *csrf != '\0' && strlen(csrf) < MK_SESSION_TOKEN_MAX && want, MK_EPERM,
              e, "the X-CSRF-Token header is missing");
    MK_TRY(token_hash(csrf, csrf_hex, e));
    MK_ENSURE(CRYPTO_memcmp(csrf_hex, want, 64) == 0, MK_EPERM, e,
              "the X-CSRF-Token header does not match the session");
  }
  mk_caller *c = &ctx->caller;
  snprintf(c->session_id, sizeof c->session_id, "%s", mk_stmt_text(st, 0));
  if (kind == MK_SESSION_ACCOUNT) {
    c->role = MK_ROLE_ACCOUNT;
    snprintf(c->account_id, sizeof c->account_id, "%s", mk_stmt_text(st, 2));
    snprintf(c->device_id, sizeof c->device_id, "%s", mk_stmt_text(st, 4));
  } else {
    c->role = MK_ROLE_CA_OPERATOR;
    snprintf(c->ca_operator_id, sizeof c->ca_operator_id, "%s", mk_stmt_text(st, 3));
    snprintf(c->ca_id, sizeof c->ca_id, "%s", mk_stmt_text(st, 7));
  }
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  return rc;
}

static int end_where(mk_db *db, const char *sql, const char *a, const char *b, const char *ts,
                     mk_err *e) {
  int rc = 0;
  mk_stmt *st = NULL;
  MK_TRY(mk_db_prepare(db, sql, &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, ts, e));
  MK_TRY(mk_stmt_bind_text(st, 2, a, e));
  if (b != NULL)
    MK_TRY(mk_stmt_bind_text(st, 3, b, e));
  MK_TRY(mk_stmt_step(st, e));
out:
  mk_stmt_finish(st);
  return rc;
}

int mk_svc_session_end(mk_svc_ctx *ctx, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  char ts[MK_TIME_TEXT_MAX];
  MK_ENSURE(ctx->caller.session_id[0] != '\0', MK_EAUTH, e, "not logged in");
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(end_where(db, "UPDATE session SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                   ctx->caller.session_id, NULL, ts, e));
  MK_TRY(mk_svc_audit(ctx, db, "session.end", "session", ctx->caller.session_id,
                      ctx->caller.role == MK_ROLE_ACCOUNT ? ctx->caller.account_id : NULL, NULL,
                      NULL, e));
  MK_TRY(mk_db_commit(db, e));
out:
  mk_store_release(ctx->store, db);
  return rc;
}

int mk_svc_session_end_account(mk_svc_ctx *ctx, mk_db *db, const char *account_id,
                               const char *except_id, mk_err *e) {
  int rc = 0;
  char ts[MK_TIME_TEXT_MAX];
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(end_where(db,
                   "UPDATE session SET revoked_at = $1 WHERE account_id = $2 AND "
                   "revoked_at IS NULL AND id <> $3",
                   account_id, except_id ? except_id : "", ts, e));
out:
  return rc;
}
