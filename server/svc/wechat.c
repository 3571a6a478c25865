/*
 * WeChat login (微信登录): the client trades WeChat's authorization code for
 * a session when the WeChat user (openid) is bound to an account; otherwise
 * it gets a binding ticket, and binds the openid to a phone number with an
 * SMS login code, which logs it in. Tickets are 256-bit random, kept as
 * SHA-256, valid MK_WECHAT_TICKET_TTL seconds and used once.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "providers/wechat.h"
#include "svc/account_internal.h"
#include "svc/svc.h"
#include "util/enc.h"
#include "util/guard.h"
#include "util/json.h"

static int sha256_hex(const char *s, char hex[65], mk_err *e) {
  int rc = 0;
  unsigned char d[32];
  unsigned n = 0;
  MK_TRY_OSSL(EVP_Digest(s, strlen(s), d, &n, EVP_sha256(), NULL), e, "SHA-256");
  MK_TRY(mk_hex_encode(d, sizeof d, hex, 65, e));
out:
  return rc;
}

/* First 8 characters of an openid then "…": enough to tell two apart in
 * an audit trail, not enough to act as the user at WeChat. */
static void openid_short(const char *openid, char out[16]) {
  snprintf(out, 16, "%.8s…", openid);
}

int mk_svc_wechat_consent(mk_svc_ctx *ctx, const char *user, const char *state, json_t **out,
                          char *field, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  const mk_wechat_provider *prov = NULL;
  char code[MK_WECHAT_CODE_MAX] = "";
  *out = NULL;
  /* Outside sandbox mode this page does not exist. */
  MK_ENSURE(ctx->cfg->sandbox && mk_wechat_provider_get(ctx->cfg, &prov, NULL) == 0 &&
                strcmp(prov->name, "sandbox") == 0,
            MK_ENOTFOUND, e, "no such resource");
  if (!mk_wechat_user_valid(user)) {
    mk_svc_acct_field(field, "user");
    MK_FAIL(MK_EINVAL, e, "user is 1 to 32 of A-Z, a-z, 0-9, '.', '_', '-'");
  }
  if (state != NULL && !(strlen(state) <= 128 && strspn(state, "abcdefghijklmnopqrstuvwxyz"
                                                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                               "0123456789-_.~") == strlen(state))) {
    mk_svc_acct_field(field, "state");
    MK_FAIL(MK_EINVAL, e, "state is up to 128 of A-Z, a-z, 0-9, '-', '_', '.', '~'");
  }
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(mk_wechat_sandbox_consent(db, user, ctx->now(), code, e));
  MK_TRY(mk_db_commit(db, e));
  *out = json_pack("{s:s,s:s?,s:i}", "code", code, "state", state, "expires_in",
                   MK_WECHAT_SANDBOX_CODE_TTL);
  MK_ENSURE_ALLOC(*out, e);
out:
  OPENSSL_cleanse(code, sizeof code);
  mk_store_release(ctx->store, db);
  return rc;
}

/* The account bound to openid: 1 and id, or 0. */
static int account_of_openid(mk_db *db, const char *openid, char id[MK_ID_MAX], mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  MK_TRY(mk_db_prepare(db, "SELECT id FROM account WHERE wechat_openid = $1", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, openid, e));
  MK_TRY(found = mk_stmt_step(st, e));
  if (found)
    snprintf(id, MK_ID_MAX, "%s", mk_stmt_text(st, 0));
  rc = found;
out:
  mk_stmt_finish(st);
  return rc;
}

static int ticket_new(mk_svc_ctx *ctx, mk_db *db, const char *openid, json_t **out, mk_err *e) {
  int rc = 0;
  mk_stmt *st = NULL;
  unsigned char raw[32];
  char ticket[48] = "", hex[65];
  int64_t now = ctx->now();
  MK_TRY_OSSL(RAND_priv_bytes(raw, sizeof raw), e, "binding ticket");
  MK_TRY(mk_base64url_encode(raw, sizeof raw, ticket, sizeof ticket, e));
  MK_TRY(sha256_hex(ticket, hex, e));
  MK_TRY(mk_db_prepare(db, "DELETE FROM wechat_ticket WHERE expires_at <= $1", &st, e));
  MK_TRY(mk_stmt_bind_int(st, 1, now, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  MK_TRY(mk_db_prepare(db,
                       "INSERT INTO wechat_ticket(ticket_sha256, openid, remote, created_at, "
                       "expires_at) VALUES ($1, $2, $3, $4, $5)",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, hex, e));
  MK_TRY(mk_stmt_bind_text(st, 2, openid, e));
  MK_TRY(mk_stmt_bind_text(st, 3, mk_svc_acct_remote(ctx), e));
  MK_TRY(mk_stmt_bind_int(st, 4, now, e));
  MK_TRY(mk_stmt_bind_int(st, 5, now + MK_WECHAT_TICKET_TTL, e));
  MK_TRY(mk_stmt_step(st, e));
  *out = json_pack("{s:s,s:i}", "binding_ticket", ticket, "expires_in", MK_WECHAT_TICKET_TTL);
  MK_ENSURE_ALLOC(*out, e);
out:
  OPENSSL_cleanse(raw, sizeof raw);
  OPENSSL_cleanse(ticket, sizeof ticket);
  mk_stmt_finish(st);
  return rc;
}

int mk_svc_wechat_login(mk_svc_ctx *ctx, const char *code, const char *device_id, json_t **out,
                        int *bound, char *field, mk_err *e) {
  int rc = 0, found = 0;
  mk_db *db = NULL;
  const mk_wechat_provider *prov = NULL;
  char openid[MK_WECHAT_OPENID_MAX] = "", id[MK_ID_MAX];
  *out = NULL;
  *bound = 0;
  MK_TRY(mk_svc_acct_device_ok(device_id, field, e));
  if (!mk_wechat_code_valid(code)) {
    mk_svc_acct_field(field, "code");
    MK_FAIL(MK_EINVAL, e, "code is WeChat's authorization code (1 to 128 of A-Z, a-z, 0-9, -, _)");
  }
  MK_TRY(mk_wechat_provider_get(ctx->cfg, &prov, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_svc_acct_login_limits(ctx, db, NULL, e));
  if (!prov->in_transaction) {
    rc = prov->exchange(ctx->cfg, NULL, code, ctx->now(), openid, e);
    if (rc == MK_EAUTH) {
      mk_svc_acct_field(field, "code");
      MK_TRY(mk_db_begin(db, e));
      MK_TRY(mk_svc_acct_login_failed(ctx, db, NULL, e));
      rc = mk_svc_acct_commit_failure(db, MK_EAUTH, e);
      goto out;
    }
    MK_TRY(rc);
  }
  MK_TRY(mk_db_begin(db, e));
  if (prov->in_transaction) {
    rc = prov->exchange(ctx->cfg, db, code, ctx->now(), openid, e);
    if (rc == MK_EAUTH) {
      mk_svc_acct_field(field, "code");
      MK_TRY(mk_svc_acct_login_failed(ctx, db, NULL, e));
      rc = mk_svc_acct_commit_failure(db, MK_EAUTH, e);
      goto out;
    }
    MK_TRY(rc);
  }
  MK_TRY(found = account_of_openid(db, openid, id, e));
  if (found) {
    MK_TRY(mk_svc_account_session_start(ctx, db, id, device_id, "wechat", 0, out, e));
    *bound = 1;
  } else {
    MK_TRY(ticket_new(ctx, db, openid, out, e));
  }
  MK_TRY(mk_db_commit(db, e));
out:
  OPENSSL_cleanse(openid, sizeof openid);
  mk_store_release(ctx->store, db);
  if (rc < 0 && *out != NULL) {
    json_decref(*out);
    *out = NULL;
  }
  return rc;
}

int mk_svc_wechat_bind(mk_svc_ctx *ctx, const char *ticket, const char *phone, const char *code,
                       const char *device_id, json_t **out, char *field, mk_err *e) {
  int rc = 0, found = 0, created = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  char hex[65], openid[MK_WECHAT_OPENID_MAX] = "", id[MK_ID_MAX], other[MK_ID_MAX], shown[16];
  *out = NULL;
  MK_TRY(mk_svc_acct_phone_ok(phone, "phone", field, e));
  MK_TRY(mk_svc_acct_code_ok(code, field, e));
  MK_TRY(mk_svc_acct_device_ok(device_id, field, e));
  if (ticket == NULL || strlen(ticket) != 43 || !mk_wechat_code_valid(ticket)) {
    mk_svc_acct_field(field, "binding_ticket");
    MK_FAIL(MK_EINVAL, e, "binding_ticket is the one POST /v1/wechat/sessions gave");
  }
  MK_TRY(sha256_hex(ticket, hex, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(mk_svc_acct_login_limits(ctx, db, phone, e));
  MK_TRY(mk_db_prepare(db,
                       "SELECT openid FROM wechat_ticket WHERE ticket_sha256 = $1 "
                       "AND used_at IS NULL AND expires_at > $2",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, hex, e));
  MK_TRY(mk_stmt_bind_int(st, 2, ctx->now(), e));
  MK_TRY(found = mk_stmt_step(st, e));
  if (found)
    snprintf(openid, sizeof openid, "%s", mk_stmt_text(st, 0));
  mk_stmt_finish(st);
  st = NULL;
  if (!found) {
    mk_svc_acct_field(field, "binding_ticket");
    mk_err_set(e, MK_EEXPIRED, "the binding ticket is not valid (used or expired): log in with "
                               "WeChat again");
    MK_TRY(mk_svc_acct_login_failed(ctx, db, NULL, e));
    rc = mk_svc_acct_commit_failure(db, MK_EEXPIRED, e);
    goto out;
  }
  rc = mk_svc_acct_code_consume(ctx, db, phone, "login", NULL, code, e);
  if (rc == MK_EAUTH || rc == MK_EEXPIRED) {
    mk_svc_acct_field(field, "code");
    int r2 = mk_svc_acct_login_failed(ctx, db, phone, e);
    rc = r2 < 0 ? r2 : mk_svc_acct_commit_failure(db, rc, e);
    goto out;
  }
  MK_TRY(rc);
  /* Another binding of this openid may have won meanwhile. */
  MK_TRY(found = account_of_openid(db, openid, other, e));
  MK_ENSURE(!found, MK_ECONFLICT, e, "this WeChat user is already bound to an account");
  MK_TRY(mk_svc_acct_get_or_create(ctx, db, phone, id, &created, e));
  MK_TRY(mk_db_prepare(db,
                       "UPDATE account SET wechat_openid = $1 WHERE id = $2 "
                       "AND wechat_openid IS NULL",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, openid, e));
  MK_TRY(mk_stmt_bind_text(st, 2, id, e));
  rc = mk_stmt_step(st, e);
  MK_ENSURE(rc != MK_ECONFLICT, MK_ECONFLICT, e, "this WeChat user is already bound to an account");
  MK_TRY(rc);
  mk_stmt_finish(st);
  st = NULL;
  if (mk_db_changes(db) != 1) {
    mk_svc_acct_field(field, "phone");
    MK_FAIL(MK_ECONFLICT, e, "the account of this number is bound to another WeChat user");
  }
  MK_TRY(mk_db_prepare(db, "UPDATE wechat_ticket SET used_at = $1 WHERE ticket_sha256 = $2", &st,
                       e));
  MK_TRY(mk_stmt_bind_int(st, 1, ctx->now(), e));
  MK_TRY(mk_stmt_bind_text(st, 2, hex, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  ctx->caller.role = MK_ROLE_ACCOUNT; /* the owner, proven by the code */
  snprintf(ctx->caller.account_id, sizeof ctx->caller.account_id, "%s", id);
  openid_short(openid, shown);
  json_t *d = json_pack("{s:s}", "openid", shown);
  MK_ENSURE_ALLOC(d, e);
  rc = mk_svc_audit(ctx, db, "account.wechat_bind", "account", id, id, NULL, d, e);
  json_decref(d);
  MK_TRY(rc);
  MK_TRY(mk_svc_account_session_start(ctx, db, id, device_id, "wechat", created, out, e));
  MK_TRY(mk_db_commit(db, e));
out:
  OPENSSL_cleanse(openid, sizeof openid);
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  if (rc < 0 && *out != NULL) {
    json_decref(*out);
    *out = NULL;
  }
  return rc;
}
