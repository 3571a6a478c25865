/*
 * CA operators: the people who review one CA's applications, through
 * `mkey ca` (bearer token) or the web console (cookie + CSRF token). The
 * platform operator creates them; their passwords are Argon2id hashes.
 */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

#include "svc/svc.h"
#include "util/enc.h"
#include "util/guard.h"
#include "util/json.h"
#include "util/time.h"

static int username_ok(const char *u) {
  size_t n = u ? strlen(u) : 0;
  if (n < 3 || n > 64)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = u[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

int mk_svc_ca_operator_add(mk_svc_ctx *ctx, const char *ca_id, const char *username,
                           const char *password, json_t **out, char *field, mk_err *e) {
  int rc = 0, found = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  char id[MK_ID_MAX], ts[MK_TIME_TEXT_MAX], hash[MK_PASSWORD_HASH_MAX];
  *out = NULL;
  MK_ENSURE(ctx->caller.role == MK_ROLE_OPERATOR, MK_EPERM, e,
            "only the platform operator adds CA operators");
  if (!username_ok(username)) {
    if (field)
      snprintf(field, MK_JSON_FIELD_MAX, "username");
    MK_FAIL(MK_EINVAL, e, "a username has 3 to 64 of a-z, 0-9, '.', '_', '-'");
  }
  rc = mk_svc_password_hash(password, hash, e);
  if (rc == MK_EINVAL && field)
    snprintf(field, MK_JSON_FIELD_MAX, "password");
  MK_TRY(rc);
  MK_TRY(mk_id_new(id, "cop", e));
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(mk_db_prepare(db, "SELECT 1 FROM ca WHERE id = $1", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, ca_id ? ca_id : "", e));
  MK_TRY(found = mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  if (!found) {
    if (field)
      snprintf(field, MK_JSON_FIELD_MAX, "ca_id");
    MK_FAIL(MK_EINVAL, e, "no CA %s", ca_id ? ca_id : "");
  }
  MK_TRY(mk_db_prepare(db,
                       "INSERT INTO ca_operator(id, ca_id, username, password_hash, created_at) "
                       "VALUES ($1, $2, $3, $4, $5)",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, ca_id, e));
  MK_TRY(mk_stmt_bind_text(st, 3, username, e));
  MK_TRY(mk_stmt_bind_text(st, 4, hash, e));
  MK_TRY(mk_stmt_bind_text(st, 5, ts, e));
  rc = mk_stmt_step(st, e);
  if (rc == MK_ECONFLICT) {
    if (field)
      snprintf(field, MK_JSON_FIELD_MAX, "username");
    mk_err_set(e, MK_ECONFLICT, "the username %s is taken", username);
    goto out;
  }
  MK_TRY(rc);
  mk_stmt_finish(st);
  st = NULL;
  json_t *d = json_pack("{s:s,s:s}", "ca_id", ca_id, "username", username);
  MK_ENSURE_ALLOC(d, e);
  rc = mk_svc_audit(ctx, db, "ca_operator.add", "ca_operator", id, NULL, NULL, d, e);
  json_decref(d);
  MK_TRY(rc);
  MK_TRY(mk_db_commit(db, e));
  *out = json_pack("{s:s,s:s,s:s,s:s}", "id", id, "ca_id", ca_id, "username", username,
                   "created_at", ts);
  MK_ENSURE_ALLOC(*out, e);
out:
  OPENSSL_cleanse(hash, sizeof hash);
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  return rc;
}

int mk_svc_ca_operator_login(mk_svc_ctx *ctx, int kind, const char *username,
                             const char *password, char token[MK_SESSION_TOKEN_MAX], char *csrf,
                             json_t **out, mk_err *e) {
  int rc = 0, found = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  char id[MK_ID_MAX] = "", ca_id[MK_CALLER_CA_ID_MAX] = "", hash[MK_PASSWORD_HASH_MAX];
  int disabled = 1;
  *out = NULL;
  MK_ENSURE(kind == MK_SESSION_CA_OPERATOR || kind == MK_SESSION_CONSOLE, MK_EINTERNAL, e,
            "a CA operator session is a token or console session");
  /* an unknown username costs the same hashing as a wrong password */
  snprintf(hash, sizeof hash, "%s", mk_svc_password_decoy());
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  if (username_ok(username)) {
    MK_TRY(mk_db_prepare(db,
                         "SELECT id, ca_id, password_hash, disabled_at FROM ca_operator "
                         "WHERE username = $1",
                         &st, e));
    MK_TRY(mk_stmt_bind_text(st, 1, username, e));
    MK_TRY(found = mk_stmt_step(st, e));
    if (found) {
      snprintf(id, sizeof id, "%s", mk_stmt_text(st, 0));
      snprintf(ca_id, sizeof ca_id, "%s", mk_stmt_text(st, 1));
      snprintf(hash, sizeof hash, "%s", mk_stmt_text(st, 2));
      disabled = !mk_stmt_is_null(st, 3);
    }
    mk_stmt_finish(st);
    st = NULL;
  }
  rc = mk_svc_password_verify(hash, password ? password : "", e);
  if (rc == 0 && (!found || disabled))
    rc = mk_err_set(e, MK_EAUTH, "wrong username or password");
  if (rc == MK_EAUTH)
    mk_err_set(e, MK_EAUTH, "wrong username or password");
  MK_TRY(rc);
  MK_TRY(mk_db_begin(db, e));
  ctx->caller.role = MK_ROLE_CA_OPERATOR;
  snprintf(ctx->caller.ca_operator_id, sizeof ctx->caller.ca_operator_id, "%s", id);
  snprintf(ctx->caller.ca_id, sizeof ctx->caller.ca_id, "%s", ca_id);
  MK_TRY(mk_svc_session_create(ctx, db, kind, id, NULL, token, csrf, out, e));
  MK_TRY(mk_svc_audit(ctx, db, kind == MK_SESSION_CONSOLE ? "ca_operator.console_login"
                                                          : "ca_operator.login",
                      "ca_operator", id, NULL, NULL, NULL, e));
  MK_TRY(mk_db_commit(db, e));
  MK_ENSURE(json_object_set_new(*out, "ca_id", json_string(ca_id)) == 0 &&
                json_object_set_new(*out, "username", json_string(username)) == 0,
            MK_ENOMEM, e, "out of memory");
out:
  OPENSSL_cleanse(hash, sizeof hash);
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  if (rc < 0) {
    json_decref(*out);
    *out = NULL;
  }
  return rc;
}
