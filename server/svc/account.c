/*
 * Accounts (登录, 设置): SMS codes, login by code or password, passwords,
 * phone changes, and the rate limits that keep codes and passwords from
 * being guessed. docs/accounts.md has the flows and the numbers.
 *
 * An SMS code is 6 digits from the CSPRNG, stored only as an HMAC under a
 * key derived from the KEK, valid MK_SMS_CODE_TTL seconds, single use, void
 * after MK_SMS_CODE_TRIES wrong tries or when a newer code for the same
 * phone and purpose is sent. Failed checks are written (and committed) even
 * though the request fails: a wrong try that rolled back would be free.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

#include "providers/sms.h"
#include "svc/account_internal.h"
#include "svc/svc.h"
#include "util/enc.h"
#include "util/guard.h"
#include "util/json.h"
#include "util/log.h"
#include "util/time.h"

#define CODE_MAC_LABEL "mkey sms code mac v1"
#define RATE_WINDOW 3600 /* seconds: every limit here counts one hour */

static const char *const purposes[] = {"login", "reset_password", "change_phone", NULL};

void mk_svc_acct_field(char *field, const char *name) {
  if (field != NULL)
    snprintf(field, MK_JSON_FIELD_MAX, "%s", name);
}

int mk_svc_sms_purpose_valid(const char *purpose) {
  for (size_t i = 0; purpose != NULL && purposes[i] != NULL; i++)
    if (strcmp(purpose, purposes[i]) == 0)
      return 1;
  return 0;
}

/* Phone numbers arrive from outside: validate, and name the field. */
int mk_svc_acct_phone_ok(const char *phone, const char *name, char *field, mk_err *e) {
  int rc = mk_valid_mobile(phone, e);
  if (rc < 0)
    mk_svc_acct_field(field, name);
  return rc;
}

/* Exactly 6 ASCII digits. A malformed code is a validation error and costs
 * no try. */
int mk_svc_acct_code_ok(const char *code, char *field, mk_err *e) {
  size_t n = code ? strlen(code) : 0;
  int ok = n == MK_SMS_CODE_DIGITS;
  for (size_t i = 0; ok && i < n; i++)
    ok = code[i] >= '0' && code[i] <= '9';
  if (ok)
    return 0;
  mk_svc_acct_field(field, "code");
  return mk_err_set(e, MK_EINVAL, "a code is the %d digits of the SMS", MK_SMS_CODE_DIGITS);
}

/* ---- rate limits ---- */

/* Events in bucket during the last window. */
static int rate_count(mk_svc_ctx *ctx, mk_db *db, const char *kind, const char *subject,
                      int64_t *n, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  char bucket[160];
  snprintf(bucket, sizeof bucket, "%s:%s", kind, subject ? subject : "");
  MK_TRY(mk_db_prepare(db, "SELECT COUNT(*) FROM rate_event WHERE bucket = $1 AND at > $2", &st,
                       e));
  MK_TRY(mk_stmt_bind_text(st, 1, bucket, e));
  MK_TRY(mk_stmt_bind_int(st, 2, ctx->now() - RATE_WINDOW, e));
  MK_TRY(found = mk_stmt_step(st, e));
  *n = found ? mk_stmt_int(st, 0) : 0;
out:
  mk_stmt_finish(st);
  return rc;
}

/* Count one event in bucket (db's open transaction), dropping the bucket's
 * rows that fell out of the window. */
static int rate_add(mk_svc_ctx *ctx, mk_db *db, const char *kind, const char *subject,
                    mk_err *e) {
  int rc = 0;
  mk_stmt *st = NULL;
  char bucket[160];
  snprintf(bucket, sizeof bucket, "%s:%s", kind, subject ? subject : "");
  /* This bucket's old rows go every time; now and then every bucket's, so
   * addresses that never come back leave nothing behind. */
  unsigned char dice = 0;
  int all = RAND_bytes(&dice, 1) == 1 && dice < 4;
  if (all) {
    MK_TRY(mk_db_prepare(db, "DELETE FROM rate_event WHERE at <= $1", &st, e));
    MK_TRY(mk_stmt_bind_int(st, 1, ctx->now() - RATE_WINDOW, e));
  } else {
    MK_TRY(mk_db_prepare(db, "DELETE FROM rate_event WHERE bucket = $1 AND at <= $2", &st, e));
    MK_TRY(mk_stmt_bind_text(st, 1, bucket, e));
    MK_TRY(mk_stmt_bind_int(st, 2, ctx->now() - RATE_WINDOW, e));
  }
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  MK_TRY(mk_db_prepare(db, "INSERT INTO rate_event(bucket, at) VALUES ($1, $2)", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, bucket, e));
  MK_TRY(mk_stmt_bind_int(st, 2, ctx->now(), e));
  MK_TRY(mk_stmt_step(st, e));
out:
  mk_stmt_finish(st);
  return rc;
}

const char *mk_svc_acct_remote(const mk_svc_ctx *ctx) {
  return ctx->caller.remote != NULL ? ctx->caller.remote : "";
}

/* MK_ERATE when phone or the caller's address had too many failed logins
 * (wrong codes, wrong passwords) in the last hour. */
int mk_svc_acct_login_limits(mk_svc_ctx *ctx, mk_db *db, const char *phone, mk_err *e) {
  int rc = 0;
  int64_t n = 0;
  if (phone != NULL)
    MK_TRY(rate_count(ctx, db, "login.fail.phone", phone, &n, e));
  MK_ENSURE(phone == NULL || n < MK_LOGIN_FAIL_PHONE_MAX, MK_ERATE, e,
            "too many failed attempts for this phone number; try again within an hour");
  MK_TRY(rate_count(ctx, db, "login.fail.ip", mk_svc_acct_remote(ctx), &n, e));
  MK_ENSURE(n < MK_LOGIN_FAIL_IP_MAX, MK_ERATE, e,
            "too many failed attempts from this address; try again within an hour");
out:
  return rc;
}

int mk_svc_acct_login_failed(mk_svc_ctx *ctx, mk_db *db, const char *phone, mk_err *e) {
  int rc = 0;
  if (phone != NULL)
    MK_TRY(rate_add(ctx, db, "login.fail.phone", phone, e));
  MK_TRY(rate_add(ctx, db, "login.fail.ip", mk_svc_acct_remote(ctx), e));
out:
  return rc;
}

/* Commit db's transaction (so failure counters stick) and return the
 * original failure rc, whose message stays in e; a commit that fails wins. */
int mk_svc_acct_commit_failure(mk_db *db, int rc, mk_err *e) {
  mk_err ce;
  mk_err_clear(&ce);
  if (mk_db_commit(db, &ce) < 0) {
    *e = ce;
    return ce.code;
  }
  return rc;
}

/* ---- codes ---- */

static int code_mac(mk_svc_ctx *ctx, const char *id, const char *phone, const char *purpose,
                    const char *code, char hex[65], mk_err *e) {
  int rc = 0;
  unsigned char key[MK_KEK_DERIVED_LEN], mac[32];
  unsigned maclen = 0;
  char msg[256];
  int n = snprintf(msg, sizeof msg, "%s%c%s%c%s%c%s", id, 0, phone, 0, purpose, 0, code);
  MK_ENSURE(n > 0 && (size_t)n < sizeof msg, MK_EINTERNAL, e, "code MAC input too long");
  MK_TRY(mk_kek_derive(ctx->kek, CODE_MAC_LABEL, key, e));
  MK_ENSURE(HMAC(EVP_sha256(), key, sizeof key, (const unsigned char *)msg, (size_t)n, mac,
                 &maclen) != NULL &&
                maclen == sizeof mac,
            MK_ECRYPTO, e, "HMAC-SHA256 failed");
  MK_TRY(mk_hex_encode(mac, sizeof mac, hex, 65, e));
out:
  OPENSSL_cleanse(key, sizeof key);
  OPENSSL_cleanse(mac, sizeof mac);
  OPENSSL_cleanse(msg, sizeof msg);
  return rc;
}

/* 6 uniform digits: 32-bit draws below the largest multiple of 10^6. */
static int code_new(char code[MK_SMS_CODE_DIGITS + 1], mk_err *e) {
  int rc = 0;
  uint32_t v = 0;
  do {
    MK_TRY_OSSL(RAND_priv_bytes((unsigned char *)&v, sizeof v), e, "SMS code");
  } while (v >= 4294000000u);
  snprintf(code, MK_SMS_CODE_DIGITS + 1, "%06u", (unsigned)(v % 1000000u));
out:
  OPENSSL_cleanse(&v, sizeof v);
  return rc;
}

/* Check code against the live code of phone and purpose in db's open
 * transaction (for change_phone, one that account_id asked for). 0 and the
 * code is used; MK_EEXPIRED when there is no live code; MK_EAUTH for a
 * wrong code (counted; the MK_SMS_CODE_TRIES-th burns it). The caller
 * commits in every case. */
int mk_svc_acct_code_consume(mk_svc_ctx *ctx, mk_db *db, const char *phone, const char *purpose,
                        const char *account_id, const char *code, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  char id[MK_ID_MAX], want[65], got[65];
  int64_t attempts = 0, expires = 0;
  int owner_ok = 1;
  MK_TRY(mk_db_prepare(db,
                       "SELECT id, code_mac, attempts, expires_at, account_id FROM sms_code "
                       "WHERE phone = $1 AND purpose = $2 AND state = 'live' "
                       "ORDER BY created_at DESC LIMIT 1",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, phone, e));
  MK_TRY(mk_stmt_bind_text(st, 2, purpose, e));
  MK_TRY(found = mk_stmt_step(st, e));
  if (found) {
    snprintf(id, sizeof id, "%s", mk_stmt_text(st, 0));
    snprintf(want, sizeof want, "%s", mk_stmt_text(st, 1));
    attempts = mk_stmt_int(st, 2);
    expires = mk_stmt_int(st, 3);
    if (account_id != NULL)
      owner_ok = !mk_stmt_is_null(st, 4) && strcmp(mk_stmt_text(st, 4), account_id) == 0;
  }
  mk_stmt_finish(st);
  st = NULL;
  MK_ENSURE(found && owner_ok, MK_EEXPIRED, e,
            "no valid code for this number: request a new one (a code is void once used, "
            "replaced, expired or after %d wrong tries)",
            MK_SMS_CODE_TRIES);
  MK_ENSURE(expires > ctx->now(), MK_EEXPIRED, e, "the code has expired; request a new one");
  MK_TRY(code_mac(ctx, id, phone, purpose, code, got, e));
  if (CRYPTO_memcmp(want, got, 64) == 0) {
    MK_TRY(mk_db_prepare(db, "UPDATE sms_code SET state = 'used', closed_at = $1 WHERE id = $2",
                         &st, e));
    MK_TRY(mk_stmt_bind_int(st, 1, ctx->now(), e));
    MK_TRY(mk_stmt_bind_text(st, 2, id, e));
    MK_TRY(mk_stmt_step(st, e));
    goto out;
  }
  attempts++;
  int burnt = attempts >= MK_SMS_CODE_TRIES;
  if (burnt) {
    MK_TRY(mk_db_prepare(db,
                         "UPDATE sms_code SET attempts = $1, state = 'burnt', closed_at = $2 "
                         "WHERE id = $3",
                         &st, e));
    MK_TRY(mk_stmt_bind_int(st, 1, attempts, e));
    MK_TRY(mk_stmt_bind_int(st, 2, ctx->now(), e));
    MK_TRY(mk_stmt_bind_text(st, 3, id, e));
  } else {
    MK_TRY(mk_db_prepare(db, "UPDATE sms_code SET attempts = $1 WHERE id = $2", &st, e));
    MK_TRY(mk_stmt_bind_int(st, 1, attempts, e));
    MK_TRY(mk_stmt_bind_text(st, 2, id, e));
  }
  MK_TRY(mk_stmt_step(st, e));
  if (burnt)
    MK_FAIL(MK_EAUTH, e, "wrong code; after %d wrong tries it is void: request a new one",
            MK_SMS_CODE_TRIES);
  MK_FAIL(MK_EAUTH, e, "wrong code (%d of %d tries left)", (int)(MK_SMS_CODE_TRIES - attempts),
          MK_SMS_CODE_TRIES);
out:
  OPENSSL_cleanse(got, sizeof got);
  mk_stmt_finish(st);
  return rc;
}

/* The account with phone: 1 and id/hash filled (hash may be NULL; "" when
 * no password is set), 0 when none. */
static int account_by_phone(mk_db *db, const char *phone, char id[MK_ID_MAX], char *hash,
                            mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  MK_TRY(mk_db_prepare(db, "SELECT id, password_hash FROM account WHERE phone = $1", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, phone, e));
  MK_TRY(found = mk_stmt_step(st, e));
  if (found) {
    snprintf(id, MK_ID_MAX, "%s", mk_stmt_text(st, 0));
    if (hash != NULL)
      snprintf(hash, MK_PASSWORD_HASH_MAX, "%s",
               mk_stmt_is_null(st, 1) ? "" : mk_stmt_text(st, 1));
  }
  rc = found;
out:
  mk_stmt_finish(st);
  return rc;
}

/* A code whose sending failed stops being live, so a resend is not
 * throttled by it. Errors are the caller's to log: the request already
 * failed for a better reason. */
static int code_void(mk_svc_ctx *ctx, mk_db *db, const char *id) {
  int rc = 0;
  mk_stmt *st = NULL;
  mk_err e;
  mk_err_clear(&e);
  MK_TRY(mk_db_begin(db, &e));
  MK_TRY(mk_db_prepare(db, "UPDATE sms_code SET state = 'failed', closed_at = $1 WHERE id = $2",
                       &st, &e));
  MK_TRY(mk_stmt_bind_int(st, 1, ctx->now(), &e));
  MK_TRY(mk_stmt_bind_text(st, 2, id, &e));
  MK_TRY(mk_stmt_step(st, &e));
  mk_stmt_finish(st);
  st = NULL;
  MK_TRY(mk_db_commit(db, &e));
out:
  mk_stmt_finish(st);
  mk_db_rollback(db);
  return rc;
}

int mk_svc_sms_code_request(mk_svc_ctx *ctx, const char *phone, const char *purpose, json_t **out,
                            char *field, mk_err *e) {
  int rc = 0, exists = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  const mk_sms_provider *prov = NULL;
  char id[MK_ID_MAX] = "", acc[MK_ID_MAX] = "", code[MK_SMS_CODE_DIGITS + 1] = "", mac[65];
  char text[MK_SMS_TEXT_MAX] = "", masked[32];
  int64_t n = 0, now = ctx->now();
  *out = NULL;
  MK_TRY(mk_svc_acct_phone_ok(phone, "phone", field, e));
  if (!mk_svc_sms_purpose_valid(purpose)) {
    mk_svc_acct_field(field, "purpose");
    MK_FAIL(MK_EINVAL, e, "purpose is one of login, reset_password, change_phone");
  }
  int change = strcmp(purpose, "change_phone") == 0;
  if (change)
    MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(mk_sms_provider_get(ctx->cfg, &prov, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(exists = account_by_phone(db, phone, acc, NULL, e));
  /* A reset code goes only to a number with an account, a phone-change code
   * only to a free number. Otherwise nothing is sent, but a code row nobody
   * knows is kept like a real one: the limits, the resend throttle and the
   * answer are the same either way, so this route tells nobody which numbers
   * have accounts (POST /v1/me/phone still refuses a taken number). */
  int silent = (strcmp(purpose, "reset_password") == 0 && !exists) || (change && exists);
  int phone_max = ctx->cfg->sms_phone_limit > 0 ? ctx->cfg->sms_phone_limit : MK_SMS_PHONE_MAX;
  int ip_max = ctx->cfg->sms_ip_limit > 0 ? ctx->cfg->sms_ip_limit : MK_SMS_IP_MAX;
  MK_TRY(rate_count(ctx, db, "sms.phone", phone, &n, e));
  MK_ENSURE(n < phone_max, MK_ERATE, e,
            "%d codes were sent to this number in the last hour; try again later", phone_max);
  MK_TRY(rate_count(ctx, db, "sms.ip", mk_svc_acct_remote(ctx), &n, e));
  MK_ENSURE(n < ip_max, MK_ERATE, e,
            "%d codes were requested from this address in the last hour; try again later", ip_max);
  /* A code still outstanding blocks a resend for MK_SMS_RESEND seconds. */
  MK_TRY(mk_db_prepare(db,
                       "SELECT MAX(created_at) FROM sms_code WHERE phone = $1 AND purpose = $2 "
                       "AND state = 'live' AND created_at > $3",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, phone, e));
  MK_TRY(mk_stmt_bind_text(st, 2, purpose, e));
  MK_TRY(mk_stmt_bind_int(st, 3, now - MK_SMS_RESEND, e));
  MK_TRY(mk_stmt_step(st, e));
  int64_t last = mk_stmt_is_null(st, 0) ? 0 : mk_stmt_int(st, 0);
  mk_stmt_finish(st);
  st = NULL;
  MK_ENSURE(last == 0, MK_ERATE, e, "a code was just sent; ask again in %lld s",
            (long long)(last + MK_SMS_RESEND - now));
  MK_TRY(rate_add(ctx, db, "sms.phone", phone, e));
  MK_TRY(rate_add(ctx, db, "sms.ip", mk_svc_acct_remote(ctx), e));
  /* A day's codes of this number are kept (for the audit trail's ids and
   * support questions); older rows go. */
  MK_TRY(mk_db_prepare(db, "DELETE FROM sms_code WHERE phone = $1 AND created_at < $2", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, phone, e));
  MK_TRY(mk_stmt_bind_int(st, 2, now - 86400, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  MK_TRY(mk_db_prepare(db,
                       "UPDATE sms_code SET state = 'replaced', closed_at = $1 WHERE phone = $2 "
                       "AND purpose = $3 AND state = 'live'",
                       &st, e));
  MK_TRY(mk_stmt_bind_int(st, 1, now, e));
  MK_TRY(mk_stmt_bind_text(st, 2, phone, e));
  MK_TRY(mk_stmt_bind_text(st, 3, purpose, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  MK_TRY(mk_id_new(id, "smc", e));
  MK_TRY(code_new(code, e));
  MK_TRY(code_mac(ctx, id, phone, purpose, code, mac, e));
  MK_TRY(mk_db_prepare(db,
                       "INSERT INTO sms_code(id, phone, purpose, account_id, code_mac, attempts, "
                       "state, remote, created_at, expires_at) "
                       "VALUES ($1, $2, $3, $4, $5, 0, 'live', $6, $7, $8)",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, phone, e));
  MK_TRY(mk_stmt_bind_text(st, 3, purpose, e));
  MK_TRY(mk_stmt_bind_text(st, 4, change ? ctx->caller.account_id : NULL, e));
  MK_TRY(mk_stmt_bind_text(st, 5, mac, e));
  MK_TRY(mk_stmt_bind_text(st, 6, mk_svc_acct_remote(ctx), e));
  MK_TRY(mk_stmt_bind_int(st, 7, now, e));
  MK_TRY(mk_stmt_bind_int(st, 8, now + MK_SMS_CODE_TTL, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  MK_TRY(mk_sms_code_text(purpose, code, MK_SMS_CODE_TTL / 60, text, e));
  mk_sms_message m = {.phone = phone, .purpose = purpose, .code = code, .text = text, .now = now};
  if (prov->in_transaction && !silent)
    MK_TRY(prov->send(ctx->cfg, db, &m, e));
  mk_svc_mask_phone(phone, masked, sizeof masked);
  json_t *d = json_pack("{s:s,s:s,s:s,s:b}", "phone", masked, "purpose", purpose, "provider",
                        prov->name, "sent", !silent);
  MK_ENSURE_ALLOC(d, e);
  rc = mk_svc_audit(ctx, db, "sms_code.send", "sms_code", id, exists ? acc : NULL, NULL, d, e);
  json_decref(d);
  MK_TRY(rc);
  MK_TRY(mk_db_commit(db, e));
  if (!prov->in_transaction && !silent) {
    rc = prov->send(ctx->cfg, NULL, &m, e);
    if (rc < 0) {
      /* Not delivered: void the code so a resend is not throttled by it. */
      if (code_void(ctx, db, id) < 0)
        mk_log(MK_LOG_WARN, "sms.void_failed", "{s:s}", "id", id);
      goto out;
    }
  }
  mk_svc_mask_phone(phone, masked, sizeof masked);
  *out = json_pack("{s:s,s:s,s:i,s:i}", "phone", masked, "purpose", purpose, "expires_in",
                   MK_SMS_CODE_TTL, "resend_after", MK_SMS_RESEND);
  MK_ENSURE_ALLOC(*out, e);
out:
  OPENSSL_cleanse(code, sizeof code);
  OPENSSL_cleanse(text, sizeof text);
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  return rc;
}

int mk_svc_sms_outbox(mk_svc_ctx *ctx, const char *phone, json_t **out, char *field, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  *out = NULL;
  MK_ENSURE(ctx->caller.role == MK_ROLE_OPERATOR, MK_EPERM, e,
            "only the platform operator reads the SMS outbox");
  MK_TRY(mk_svc_acct_phone_ok(phone, "phone", field, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_sms_outbox_list(db, phone, 50, out, e));
out:
  mk_store_release(ctx->store, db);
  return rc;
}

/* ---- login ---- */

/* In db's open transaction: the account of phone, created when there is
 * none (*created 1, audited). */
int mk_svc_acct_get_or_create(mk_svc_ctx *ctx, mk_db *db, const char *phone,
                                 char id[MK_ID_MAX], int *created, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  char ts[MK_TIME_TEXT_MAX], masked[32];
  *created = 0;
  MK_TRY(found = account_by_phone(db, phone, id, NULL, e));
  if (found)
    goto out;
  MK_TRY(mk_id_new(id, "acc", e));
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_db_prepare(db,
                       "INSERT INTO account(id, phone, created_at, updated_at) "
                       "VALUES ($1, $2, $3, $3)",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, phone, e));
  MK_TRY(mk_stmt_bind_text(st, 3, ts, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_svc_mask_phone(phone, masked, sizeof masked);
  json_t *d = json_pack("{s:s}", "phone", masked);
  MK_ENSURE_ALLOC(d, e);
  rc = mk_svc_audit(ctx, db, "account.create", "account", id, id, NULL, d, e);
  json_decref(d);
  MK_TRY(rc);
  *created = 1;
out:
  mk_stmt_finish(st);
  return rc;
}

/* In db's open transaction: the caller becomes account id, a session bound
 * to device_id starts, and the login is audited. *out {token, session_id,
 * expires_at, account_id, new_account}. */
int mk_svc_account_session_start(mk_svc_ctx *ctx, mk_db *db, const char *account_id,
                                 const char *device_id, const char *method, int new_account,
                                 json_t **out, mk_err *e) {
  int rc = 0;
  char token[MK_SESSION_TOKEN_MAX] = "";
  json_t *d = NULL;
  *out = NULL;
  memset(&ctx->caller.session_id, 0, sizeof ctx->caller.session_id);
  ctx->caller.role = MK_ROLE_ACCOUNT;
  snprintf(ctx->caller.account_id, sizeof ctx->caller.account_id, "%s", account_id);
  snprintf(ctx->caller.device_id, sizeof ctx->caller.device_id, "%s", device_id);
  MK_TRY(mk_svc_session_create(ctx, db, MK_SESSION_ACCOUNT, account_id, device_id, token, NULL,
                               out, e));
  d = json_pack("{s:s,s:s,s:s}", "method", method, "session_id", ctx->caller.session_id,
                "device_id", device_id);
  MK_ENSURE_ALLOC(d, e);
  MK_TRY(mk_svc_audit(ctx, db, "account.login", "account", account_id, account_id, NULL, d, e));
  MK_ENSURE(json_object_set_new(*out, "token", json_string(token)) == 0 &&
                json_object_set_new(*out, "account_id", json_string(account_id)) == 0 &&
                json_object_set_new(*out, "new_account", json_boolean(new_account)) == 0,
            MK_ENOMEM, e, "out of memory");
out:
  OPENSSL_cleanse(token, sizeof token);
  json_decref(d);
  if (rc < 0) {
    json_decref(*out);
    *out = NULL;
  }
  return rc;
}

int mk_svc_acct_device_ok(const char *device_id, char *field, mk_err *e) {
  if (device_id != NULL && mk_id_check(device_id, "dev", NULL) == 0)
    return 0;
  mk_svc_acct_field(field, "device_id");
  return mk_err_set(e, MK_EINVAL, "device_id is this device's id (dev_…)");
}

static int login_code(mk_svc_ctx *ctx, const char *phone, const char *code,
                      const char *device_id, json_t **out, char *field, mk_err *e) {
  int rc = 0, created = 0;
  mk_db *db = NULL;
  char id[MK_ID_MAX];
  MK_TRY(mk_svc_acct_code_ok(code, field, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(mk_svc_acct_login_limits(ctx, db, phone, e));
  rc = mk_svc_acct_code_consume(ctx, db, phone, "login", NULL, code, e);
  if (rc == MK_EAUTH || rc == MK_EEXPIRED) {
    mk_svc_acct_field(field, "code");
    int r2 = mk_svc_acct_login_failed(ctx, db, phone, e);
    rc = r2 < 0 ? r2 : mk_svc_acct_commit_failure(db, rc, e);
    goto out;
  }
  MK_TRY(rc);
  MK_TRY(mk_svc_acct_get_or_create(ctx, db, phone, id, &created, e));
  MK_TRY(mk_svc_account_session_start(ctx, db, id, device_id, "sms", created, out, e));
  MK_TRY(mk_db_commit(db, e));
out:
  mk_store_release(ctx->store, db);
  if (rc < 0 && *out != NULL) {
    json_decref(*out);
    *out = NULL;
  }
  return rc;
}

static int login_password(mk_svc_ctx *ctx, const char *phone, const char *password,
                          const char *device_id, json_t **out, char *field, mk_err *e) {
  int rc = 0, found = 0;
  mk_db *db = NULL;
  char id[MK_ID_MAX] = "", hash[MK_PASSWORD_HASH_MAX] = "";
  const char *decoy_hash = mk_svc_password_decoy(); /* an unknown phone costs the same */
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_svc_acct_login_limits(ctx, db, phone, e));
  MK_TRY(found = account_by_phone(db, phone, id, hash, e));
  if (!found || hash[0] == '\0')
    snprintf(hash, sizeof hash, "%s", decoy_hash);
  /* Argon2id runs with no transaction open: it takes a while. */
  rc = mk_svc_password_verify(hash, password, e);
  if (rc == 0 && (!found || strcmp(hash, decoy_hash) == 0))
    rc = MK_EAUTH;
  if (rc == MK_EAUTH) {
    mk_err_set(e, MK_EAUTH, "wrong phone number or password");
    mk_svc_acct_field(field, "password");
    MK_TRY(mk_db_begin(db, e));
    MK_TRY(mk_svc_acct_login_failed(ctx, db, phone, e));
    rc = mk_svc_acct_commit_failure(db, MK_EAUTH, e);
    goto out;
  }
  MK_TRY(rc);
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(mk_svc_account_session_start(ctx, db, id, device_id, "password", 0, out, e));
  MK_TRY(mk_db_commit(db, e));
out:
  OPENSSL_cleanse(hash, sizeof hash);
  mk_store_release(ctx->store, db);
  if (rc < 0 && *out != NULL) {
    json_decref(*out);
    *out = NULL;
  }
  return rc;
}

int mk_svc_account_login(mk_svc_ctx *ctx, const char *phone, const char *code,
                         const char *password, const char *device_id, json_t **out, char *field,
                         mk_err *e) {
  int rc = 0;
  *out = NULL;
  MK_TRY(mk_svc_acct_phone_ok(phone, "phone", field, e));
  MK_TRY(mk_svc_acct_device_ok(device_id, field, e));
  if ((code == NULL) == (password == NULL)) {
    mk_svc_acct_field(field, code == NULL ? "code" : "password");
    MK_FAIL(MK_EINVAL, e, "log in with either code or password");
  }
  rc = code != NULL ? login_code(ctx, phone, code, device_id, out, field, e)
                    : login_password(ctx, phone, password, device_id, out, field, e);
out:
  return rc;
}

int mk_svc_account_logout(mk_svc_ctx *ctx, mk_err *e) {
  int rc = 0;
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(mk_svc_session_end(ctx, e));
out:
  return rc;
}

/* ---- passwords ---- */

/* The caller's phone and password hash ("" when none). */
static int caller_account(mk_svc_ctx *ctx, mk_db *db, char phone[32], char *hash, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  MK_TRY(mk_db_prepare(db, "SELECT phone, password_hash FROM account WHERE id = $1", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, ctx->caller.account_id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found, MK_EAUTH, e, "the account no longer exists");
  snprintf(phone, 32, "%s", mk_stmt_text(st, 0));
  if (hash != NULL)
    snprintf(hash, MK_PASSWORD_HASH_MAX, "%s", mk_stmt_is_null(st, 1) ? "" : mk_stmt_text(st, 1));
out:
  mk_stmt_finish(st);
  return rc;
}

static int store_password(mk_svc_ctx *ctx, mk_db *db, const char *account_id, const char *hash,
                          mk_err *e) {
  int rc = 0;
  mk_stmt *st = NULL;
  char ts[MK_TIME_TEXT_MAX];
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_db_prepare(db, "UPDATE account SET password_hash = $1, updated_at = $2 WHERE id = $3",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, hash, e));
  MK_TRY(mk_stmt_bind_text(st, 2, ts, e));
  MK_TRY(mk_stmt_bind_text(st, 3, account_id, e));
  MK_TRY(mk_stmt_step(st, e));
out:
  mk_stmt_finish(st);
  return rc;
}

int mk_svc_account_password_set(mk_svc_ctx *ctx, const char *old_password,
                                const char *new_password, json_t **out, char *field, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  char phone[32] = "", hash[MK_PASSWORD_HASH_MAX] = "", fresh[MK_PASSWORD_HASH_MAX] = "";
  int64_t ended = 0;
  *out = NULL;
  MK_TRY(mk_svc_need_account(ctx, e));
  rc = mk_svc_password_check_policy(new_password, e);
  if (rc < 0)
    mk_svc_acct_field(field, "new_password");
  MK_TRY(rc);
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(caller_account(ctx, db, phone, hash, e));
  int had = hash[0] != '\0';
  if (had) {
    if (old_password == NULL) {
      mk_svc_acct_field(field, "old_password");
      MK_FAIL(MK_EINVAL, e, "a password is set: give old_password to change it");
    }
    MK_TRY(mk_svc_acct_login_limits(ctx, db, phone, e));
    rc = mk_svc_password_verify(hash, old_password, e);
    if (rc == MK_EAUTH) {
      mk_svc_acct_field(field, "old_password");
      mk_err_set(e, MK_EPERM, "the old password is wrong");
      MK_TRY(mk_db_begin(db, e));
      MK_TRY(mk_svc_acct_login_failed(ctx, db, phone, e));
      rc = mk_svc_acct_commit_failure(db, MK_EPERM, e);
      goto out;
    }
    MK_TRY(rc);
  } else if (old_password != NULL) {
    mk_svc_acct_field(field, "old_password");
    MK_FAIL(MK_EINVAL, e, "no password is set yet: leave out old_password");
  }
  MK_TRY(mk_svc_password_hash(new_password, fresh, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(store_password(ctx, db, ctx->caller.account_id, fresh, e));
  MK_TRY(mk_svc_session_end_account(ctx, db, ctx->caller.account_id, ctx->caller.session_id, e));
  ended = mk_db_changes(db);
  json_t *d = json_pack("{s:I}", "sessions_ended", (json_int_t)ended);
  MK_ENSURE_ALLOC(d, e);
  rc = mk_svc_audit(ctx, db, had ? "account.password_change" : "account.password_set", "account",
                    ctx->caller.account_id, ctx->caller.account_id, NULL, d, e);
  json_decref(d);
  MK_TRY(rc);
  MK_TRY(mk_db_commit(db, e));
  *out = json_pack("{s:s,s:b,s:I}", "account_id", ctx->caller.account_id, "password_set", 1,
                   "sessions_ended", (json_int_t)ended);
  MK_ENSURE_ALLOC(*out, e);
out:
  OPENSSL_cleanse(hash, sizeof hash);
  OPENSSL_cleanse(fresh, sizeof fresh);
  mk_store_release(ctx->store, db);
  return rc;
}

int mk_svc_account_password_reset(mk_svc_ctx *ctx, const char *phone, const char *code,
                                  const char *new_password, json_t **out, char *field,
                                  mk_err *e) {
  int rc = 0, found = 0;
  mk_db *db = NULL;
  char id[MK_ID_MAX] = "", fresh[MK_PASSWORD_HASH_MAX] = "", masked[32];
  int64_t ended = 0;
  *out = NULL;
  MK_TRY(mk_svc_acct_phone_ok(phone, "phone", field, e));
  MK_TRY(mk_svc_acct_code_ok(code, field, e));
  rc = mk_svc_password_check_policy(new_password, e);
  if (rc < 0)
    mk_svc_acct_field(field, "new_password");
  MK_TRY(rc);
  /* Hashed before the transaction: Argon2id takes a while. */
  MK_TRY(mk_svc_password_hash(new_password, fresh, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(mk_svc_acct_login_limits(ctx, db, phone, e));
  rc = mk_svc_acct_code_consume(ctx, db, phone, "reset_password", NULL, code, e);
  if (rc == MK_EAUTH || rc == MK_EEXPIRED) {
    mk_svc_acct_field(field, "code");
    int r2 = mk_svc_acct_login_failed(ctx, db, phone, e);
    rc = r2 < 0 ? r2 : mk_svc_acct_commit_failure(db, rc, e);
    goto out;
  }
  MK_TRY(rc);
  MK_TRY(found = account_by_phone(db, phone, id, NULL, e));
  MK_ENSURE(found, MK_EEXPIRED, e, "no valid code for this number: request a new one");
  MK_TRY(store_password(ctx, db, id, fresh, e));
  MK_TRY(mk_svc_session_end_account(ctx, db, id, NULL, e));
  ended = mk_db_changes(db);
  ctx->caller.role = MK_ROLE_ACCOUNT; /* the owner, proven by the code */
  snprintf(ctx->caller.account_id, sizeof ctx->caller.account_id, "%s", id);
  json_t *d = json_pack("{s:I}", "sessions_ended", (json_int_t)ended);
  MK_ENSURE_ALLOC(d, e);
  rc = mk_svc_audit(ctx, db, "account.password_reset", "account", id, id, NULL, d, e);
  json_decref(d);
  MK_TRY(rc);
  MK_TRY(mk_db_commit(db, e));
  mk_svc_mask_phone(phone, masked, sizeof masked);
  *out = json_pack("{s:s,s:s,s:b,s:I}", "account_id", id, "phone", masked, "password_set", 1,
                   "sessions_ended", (json_int_t)ended);
  MK_ENSURE_ALLOC(*out, e);
out:
  OPENSSL_cleanse(fresh, sizeof fresh);
  mk_store_release(ctx->store, db);
  return rc;
}

/* ---- phone change ---- */

int mk_svc_account_phone_change(mk_svc_ctx *ctx, const char *new_phone, const char *code,
                                json_t **out, char *field, mk_err *e) {
  int rc = 0, taken = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  char old[32] = "", other[MK_ID_MAX], ts[MK_TIME_TEXT_MAX], m_old[32], m_new[32];
  int64_t ended = 0;
  *out = NULL;
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(mk_svc_acct_phone_ok(new_phone, "new_phone", field, e));
  MK_TRY(mk_svc_acct_code_ok(code, field, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(caller_account(ctx, db, old, NULL, e));
  MK_TRY(mk_svc_acct_login_limits(ctx, db, old, e));
  rc = mk_svc_acct_code_consume(ctx, db, new_phone, "change_phone", ctx->caller.account_id, code, e);
  if (rc == MK_EAUTH || rc == MK_EEXPIRED) {
    mk_svc_acct_field(field, "code");
    if (rc == MK_EAUTH) { /* 401 would tell the client its session is bad */
      char msg[MK_ERR_MSG_MAX];
      snprintf(msg, sizeof msg, "%s", e != NULL ? e->msg : "wrong code");
      rc = mk_err_set(e, MK_EPERM, "%s", msg);
    }
    int r2 = mk_svc_acct_login_failed(ctx, db, old, e);
    rc = r2 < 0 ? r2 : mk_svc_acct_commit_failure(db, rc, e);
    goto out;
  }
  MK_TRY(rc);
  MK_TRY(taken = account_by_phone(db, new_phone, other, NULL, e));
  if (taken) {
    mk_svc_acct_field(field, "new_phone");
    MK_FAIL(MK_ECONFLICT, e, "this number belongs to an account already");
  }
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_db_prepare(db, "UPDATE account SET phone = $1, updated_at = $2 WHERE id = $3", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, new_phone, e));
  MK_TRY(mk_stmt_bind_text(st, 2, ts, e));
  MK_TRY(mk_stmt_bind_text(st, 3, ctx->caller.account_id, e));
  rc = mk_stmt_step(st, e);
  if (rc == MK_ECONFLICT) {
    mk_svc_acct_field(field, "new_phone");
    mk_err_set(e, MK_ECONFLICT, "this number belongs to an account already");
  }
  MK_TRY(rc);
  mk_stmt_finish(st);
  st = NULL;
  MK_TRY(mk_svc_session_end_account(ctx, db, ctx->caller.account_id, ctx->caller.session_id, e));
  ended = mk_db_changes(db);
  mk_svc_mask_phone(old, m_old, sizeof m_old);
  mk_svc_mask_phone(new_phone, m_new, sizeof m_new);
  json_t *d = json_pack("{s:s,s:s,s:I}", "from", m_old, "to", m_new, "sessions_ended",
                        (json_int_t)ended);
  MK_ENSURE_ALLOC(d, e);
  rc = mk_svc_audit(ctx, db, "account.phone_change", "account", ctx->caller.account_id,
                    ctx->caller.account_id, NULL, d, e);
  json_decref(d);
  MK_TRY(rc);
  MK_TRY(mk_db_commit(db, e));
  *out = json_pack("{s:s,s:s,s:I}", "account_id", ctx->caller.account_id, "phone", m_new,
                   "sessions_ended", (json_int_t)ended);
  MK_ENSURE_ALLOC(*out, e);
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  return rc;
}
