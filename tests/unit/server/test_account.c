/* Accounts without HTTP in front: SMS codes (expiry on the pinned clock,
 * single use, 5 wrong tries, resend throttle, per-phone and per-address
 * limits), logins by code and password and their failure limit, password
 * policy, set/change/reset and the sessions they end, device binding and
 * logout, phone changes, WeChat binding, and both outside providers (SMS
 * gateway, WeChat token endpoint) against a local HTTP server. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "providers/sms.h"
#include "providers/wechat.h"
#include "svc_fixture.h"

#define DEV1 "dev_00000000000000000000000001"
#define DEV2 "dev_00000000000000000000000002"
#define DEV3 "dev_00000000000000000000000003"

/* The newest code the sandbox sent to phone ("" when none). */
static void outbox_code(const char *phone, char code[8]) {
  json_t *out = NULL;
  mk_err e = {0};
  mk_caller saved = fx.ctx.caller;
  fx_as_operator("127.0.0.1");
  assert_mk_ok(mk_svc_sms_outbox(&fx.ctx, phone, &out, NULL, &e));
  fx.ctx.caller = saved;
  json_t *first = json_array_get(json_object_get(out, "items"), 0);
  const char *c = json_string_value(json_object_get(first, "code"));
  snprintf(code, 8, "%s", c ? c : "");
  json_decref(out);
}

static void wrong_of(const char *code, char wrong[8]) {
  snprintf(wrong, 8, "%06d", (atoi(code) + 1) % 1000000);
}

static int request_code(const char *phone, const char *purpose) {
  json_t *out = NULL;
  mk_err e = {0};
  char field[MK_JSON_FIELD_MAX] = "";
  int rc = mk_svc_sms_code_request(&fx.ctx, phone, purpose, &out, field, &e);
  json_decref(out);
  return rc;
}

/* Log in by code; token (MK_SESSION_TOKEN_MAX, may be NULL) receives the
 * session token, *fresh (may be NULL) new_account. */
static int login(const char *phone, const char *code, const char *password, const char *dev,
                 char *token, int *fresh) {
  json_t *out = NULL;
  mk_err e = {0};
  char field[MK_JSON_FIELD_MAX] = "";
  int rc = mk_svc_account_login(&fx.ctx, phone, code, password, dev, &out, field, &e);
  if (rc == 0) {
    if (token != NULL)
      snprintf(token, MK_SESSION_TOKEN_MAX, "%s", json_string_value(json_object_get(out, "token")));
    if (fresh != NULL)
      *fresh = json_is_true(json_object_get(out, "new_account"));
    assert_non_null(json_string_value(json_object_get(out, "session_id")));
    assert_non_null(json_string_value(json_object_get(out, "expires_at")));
  }
  json_decref(out);
  return rc;
}

/* Request a login code for phone and log in with it. */
static void code_login(const char *phone, const char *dev, char *token, int *fresh) {
  char code[8];
  assert_mk_ok(request_code(phone, "login"));
  outbox_code(phone, code);
  assert_mk_ok(login(phone, code, NULL, dev, token, fresh));
}

/* Become the session of token on dev (as authentication does). */
static int use_session(const char *token, const char *dev, const char *remote) {
  mk_err e = {0};
  fx_as_anon(remote);
  return mk_svc_session_check(&fx.ctx, MK_SESSION_ACCOUNT, token, dev, 0, NULL, &e);
}

static int setup(void **state) {
  (void)state;
  return fx_open("acc", FX_KEK, 2);
}

/* ---- codes ---- */

static void test_code_lifecycle(void **state) {
  (void)state;
  char code[8], wrong[8], tok[MK_SESSION_TOKEN_MAX];
  int fresh = -1;
  fx_as_anon("10.0.0.1");
  assert_mk_ok(request_code("13800000001", "login"));
  outbox_code("13800000001", code);
  assert_int_equal(strlen(code), 6);
  assert_int_equal(strspn(code, "0123456789"), 6);
  /* only a MAC is stored, never the code */
  assert_int_equal(fx_count("SELECT COUNT(*) FROM sms_code WHERE code_mac = $1", code), 0);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM sms_code WHERE length(code_mac) = 64 AND "
                            "phone = $1",
                            "13800000001"),
                   1);
  /* nor in any audit event */
  char like[16];
  snprintf(like, sizeof like, "%%%s%%", code);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM audit_event WHERE detail LIKE $1", like), 0);
  /* the message text carries it */
  assert_int_equal(fx_count("SELECT COUNT(*) FROM sms_outbox WHERE text LIKE $1", like), 1);
  /* malformed codes cost no try and are validation errors */
  assert_mk_fails(login("13800000001", "12345", NULL, DEV1, NULL, NULL), MK_EINVAL);
  assert_mk_fails(login("13800000001", "12a456", NULL, DEV1, NULL, NULL), MK_EINVAL);
  assert_mk_fails(login("13800000001", code, NULL, "laptop", NULL, NULL), MK_EINVAL);
  assert_mk_fails(login("13800000001", code, "pw", DEV1, NULL, NULL), MK_EINVAL);
  assert_mk_fails(login("13800000001", NULL, NULL, DEV1, NULL, NULL), MK_EINVAL);
  assert_mk_fails(login("1380000000", code, NULL, DEV1, NULL, NULL), MK_EINVAL);
  assert_int_equal(fx_count("SELECT attempts FROM sms_code WHERE phone = $1", "13800000001"), 0);
  /* a wrong code costs a try */
  wrong_of(code, wrong);
  assert_mk_fails(login("13800000001", wrong, NULL, DEV1, NULL, NULL), MK_EAUTH);
  assert_int_equal(fx_count("SELECT attempts FROM sms_code WHERE phone = $1", "13800000001"), 1);
  /* the right code: account created, session bound to DEV1 */
  assert_mk_ok(login("13800000001", code, NULL, DEV1, tok, &fresh));
  assert_int_equal(fresh, 1);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM account WHERE phone = $1", "13800000001"), 1);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM audit_event WHERE action = 'account.create'"), 1);
  /* single use */
  assert_mk_fails(login("13800000001", code, NULL, DEV1, NULL, NULL), MK_EEXPIRED);
  /* the second login finds the account */
  code_login("13800000001", DEV2, NULL, &fresh);
  assert_int_equal(fresh, 0);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM account WHERE phone = $1", "13800000001"), 1);
  /* expiry, on the pinned clock */
  assert_mk_ok(request_code("13800000001", "login"));
  outbox_code("13800000001", code);
  fx.clock += MK_SMS_CODE_TTL;
  assert_mk_fails(login("13800000001", code, NULL, DEV1, NULL, NULL), MK_EEXPIRED);
  fx.clock += 1;
  /* a code for another purpose does not log in */
  assert_mk_ok(request_code("13800000001", "reset_password"));
  outbox_code("13800000001", code);
  assert_mk_fails(login("13800000001", code, NULL, DEV1, NULL, NULL), MK_EEXPIRED);
  /* bad requests */
  assert_mk_fails(request_code("13800000001", "spam"), MK_EINVAL);
  assert_mk_fails(request_code("+8613800000001", "login"), MK_EINVAL);
  assert_mk_fails(request_code("13800000001", NULL), MK_EINVAL);
  fx_as_anon("10.0.0.1");
  assert_mk_fails(request_code("13800000001", "change_phone"), MK_EAUTH); /* needs a session */
}

static void test_code_tries_and_resend(void **state) {
  (void)state;
  char code[8], old[8], wrong[8];
  fx_as_anon("10.0.0.2");
  assert_mk_ok(request_code("13800000002", "login"));
  outbox_code("13800000002", code);
  wrong_of(code, wrong);
  for (int i = 1; i <= MK_SMS_CODE_TRIES; i++)
    assert_mk_fails(login("13800000002", wrong, NULL, DEV1, NULL, NULL), MK_EAUTH);
  assert_int_equal(
      fx_count("SELECT COUNT(*) FROM sms_code WHERE phone = $1 AND state = 'burnt'", "13800000002"),
      1);
  /* burnt: the right code no longer works */
  assert_mk_fails(login("13800000002", code, NULL, DEV1, NULL, NULL), MK_EEXPIRED);
  /* a burnt code does not hold back a new one */
  assert_mk_ok(request_code("13800000002", "login"));
  outbox_code("13800000002", old);
  /* resend throttle: 60 s while a code is outstanding */
  assert_mk_fails(request_code("13800000002", "login"), MK_ERATE);
  fx.clock += MK_SMS_RESEND - 1;
  assert_mk_fails(request_code("13800000002", "login"), MK_ERATE);
  /* per purpose: a reset code may go out meanwhile (no account: answered, not sent) */
  assert_mk_ok(request_code("13800000002", "reset_password"));
  fx.clock += 1;
  assert_mk_ok(request_code("13800000002", "login"));
  outbox_code("13800000002", code);
  /* the newer code replaced the older one */
  if (strcmp(old, code) != 0)
    assert_mk_fails(login("13800000002", old, NULL, DEV1, NULL, NULL), MK_EAUTH);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM sms_code WHERE phone = $1 AND state = 'replaced'",
                            "13800000002"),
                   1);
  assert_mk_ok(login("13800000002", code, NULL, DEV1, NULL, NULL));
  /* once used, a new code may be asked for at once */
  assert_mk_ok(request_code("13800000002", "login"));
}

static void test_rate_limits(void **state) {
  (void)state;
  char phone[32];
  fx.cfg.sms_phone_limit = 3;
  fx.cfg.sms_ip_limit = 4;
  fx_as_anon("10.0.0.3");
  /* per phone: 3 an hour, from any address */
  for (int i = 0; i < 3; i++) {
    fx.ctx.caller.remote = i == 0 ? "10.0.0.3" : i == 1 ? "10.0.0.4" : "10.0.0.5";
    code_login("13800000003", DEV1, NULL, NULL);
  }
  fx.ctx.caller.remote = "10.0.0.6";
  assert_mk_fails(request_code("13800000003", "login"), MK_ERATE);
  /* per address: 10.0.0.3 asked once; 3 more, then refused */
  fx.ctx.caller.remote = "10.0.0.3";
  for (unsigned i = 0; i < 3; i++) {
    snprintf(phone, sizeof phone, "1390000001%u", i);
    assert_mk_ok(request_code(phone, "login"));
  }
  assert_mk_fails(request_code("13900000019", "login"), MK_ERATE);
  fx.ctx.caller.remote = "10.0.0.7";
  assert_mk_ok(request_code("13900000019", "login"));
  /* the window slides: an hour later both may ask again */
  fx.clock += 3601;
  fx.ctx.caller.remote = "10.0.0.3";
  assert_mk_ok(request_code("13800000003", "login"));
  assert_mk_ok(request_code("13900000018", "login"));
  fx.cfg.sms_phone_limit = 0;
  fx.cfg.sms_ip_limit = 0;
  /* old rows of a bucket are dropped as new ones come */
  assert_int_equal(
      fx_count("SELECT COUNT(*) FROM rate_event WHERE bucket = $1", "sms.phone:13800000003"), 1);
}

static void test_login_failure_limit(void **state) {
  (void)state;
  char code[8], wrong[8];
  fx_as_anon("10.0.1.1");
  int failures = 0;
  /* MK_LOGIN_FAIL_PHONE_MAX wrong codes over several codes */
  while (failures < MK_LOGIN_FAIL_PHONE_MAX) {
    assert_mk_ok(request_code("13800000004", "login"));
    outbox_code("13800000004", code);
    wrong_of(code, wrong);
    for (int i = 0; i < MK_SMS_CODE_TRIES && failures < MK_LOGIN_FAIL_PHONE_MAX; i++, failures++)
      assert_mk_fails(login("13800000004", wrong, NULL, DEV1, NULL, NULL), MK_EAUTH);
    fx.clock += MK_SMS_RESEND;
  }
  assert_mk_ok(request_code("13800000004", "login"));
  outbox_code("13800000004", code);
  /* now even the right code is refused, from any address */
  fx.ctx.caller.remote = "10.0.1.2";
  assert_mk_fails(login("13800000004", code, NULL, DEV1, NULL, NULL), MK_ERATE);
  /* passwords are counted under the same limit */
  assert_mk_fails(login("13800000004", NULL, "whatever1", DEV1, NULL, NULL), MK_ERATE);
  /* the refusal did not use the code up */
  assert_int_equal(
      fx_count("SELECT COUNT(*) FROM sms_code WHERE phone = $1 AND state = 'live'", "13800000004"),
      1);
  /* an hour after the failures the number may log in again */
  fx.clock += 3601;
  code_login("13800000004", DEV1, NULL, NULL);
}

/* ---- passwords ---- */

static void test_passwords(void **state) {
  (void)state;
  mk_err e = {0};
  json_t *out = NULL;
  char field[MK_JSON_FIELD_MAX] = "", t1[MK_SESSION_TOKEN_MAX], t2[MK_SESSION_TOKEN_MAX],
       t3[MK_SESSION_TOKEN_MAX], code[8], wrong[8], msg_wrong[MK_ERR_MSG_MAX];
  fx_as_anon("10.0.2.1");
  code_login("13800000005", DEV1, t1, NULL);
  code_login("13800000005", DEV2, t2, NULL);
  /* a password login before one is set fails like a wrong one */
  fx_as_anon("10.0.2.1");
  assert_mk_fails(login("13800000005", NULL, "alice2024", DEV3, NULL, NULL), MK_EAUTH);
  /* policy */
  assert_mk_ok(use_session(t1, DEV1, "10.0.2.1"));
  const char *weak[] = {"short1", "alllettersnodigit", "12345678901", ""};
  for (size_t i = 0; i < sizeof weak / sizeof weak[0]; i++) {
    field[0] = '\0';
    assert_mk_fails(mk_svc_account_password_set(&fx.ctx, NULL, weak[i], &out, field, &e), MK_EINVAL);
    assert_string_equal(field, "new_password");
  }
  /* set: the other session ends, this one stays */
  assert_mk_fails(mk_svc_account_password_set(&fx.ctx, "alice2024", "alice2024", &out, field, &e),
                  MK_EINVAL); /* no old password to give yet */
  assert_mk_ok(mk_svc_account_password_set(&fx.ctx, NULL, "alice2024", &out, field, &e));
  assert_int_equal(json_integer_value(json_object_get(out, "sessions_ended")), 1);
  json_decref(out);
  out = NULL;
  char hash[200];
  {
    mk_db *db = NULL;
    mk_stmt *st = NULL;
    assert_mk_ok(mk_store_acquire(fx.store, &db, &e));
    assert_mk_ok(mk_db_prepare(db, "SELECT password_hash FROM account WHERE phone = $1", &st, &e));
    assert_mk_ok(mk_stmt_bind_text(st, 1, "13800000005", &e));
    assert_int_equal(mk_stmt_step(st, &e), 1);
    snprintf(hash, sizeof hash, "%s", mk_stmt_text(st, 0));
    mk_stmt_finish(st);
    mk_store_release(fx.store, db);
  }
  assert_memory_equal(hash, "$argon2id$v=19$m=19456,t=2,p=1$", 31);
  assert_null(strstr(hash, "alice2024"));
  assert_mk_fails(use_session(t2, DEV2, "10.0.2.1"), MK_EAUTH);
  assert_mk_ok(use_session(t1, DEV1, "10.0.2.1"));
  /* log in with it; wrong password and unknown phone read the same */
  fx_as_anon("10.0.2.1");
  assert_mk_ok(login("13800000005", NULL, "alice2024", DEV3, t3, NULL));
  json_t *o2 = NULL;
  e = (mk_err){0};
  assert_mk_fails(mk_svc_account_login(&fx.ctx, "13800000005", NULL, "alice2025", DEV3, &o2,
                                       field, &e),
                  MK_EAUTH);
  snprintf(msg_wrong, sizeof msg_wrong, "%s", e.msg);
  e = (mk_err){0};
  assert_mk_fails(mk_svc_account_login(&fx.ctx, "13600000005", NULL, "alice2024", DEV3, &o2,
                                       field, &e),
                  MK_EAUTH);
  assert_string_equal(e.msg, msg_wrong);
  assert_null(o2);
  /* change: needs the right old one */
  assert_mk_ok(use_session(t1, DEV1, "10.0.2.1"));
  field[0] = '\0';
  assert_mk_fails(mk_svc_account_password_set(&fx.ctx, NULL, "newpass99", &out, field, &e),
                  MK_EINVAL);
  assert_string_equal(field, "old_password");
  assert_mk_fails(mk_svc_account_password_set(&fx.ctx, "alice2025", "newpass99", &out, field, &e),
                  MK_EPERM);
  assert_string_equal(field, "old_password");
  assert_mk_ok(mk_svc_account_password_set(&fx.ctx, "alice2024", "newpass99", &out, field, &e));
  json_decref(out);
  out = NULL;
  assert_mk_fails(use_session(t3, DEV3, "10.0.2.1"), MK_EAUTH);
  fx_as_anon("10.0.2.1");
  assert_mk_fails(login("13800000005", NULL, "alice2024", DEV3, NULL, NULL), MK_EAUTH);
  assert_mk_ok(login("13800000005", NULL, "newpass99", DEV3, t3, NULL));
  /* reset by SMS: every session ends */
  assert_mk_ok(request_code("13800000005", "reset_password"));
  outbox_code("13800000005", code);
  wrong_of(code, wrong);
  assert_mk_fails(mk_svc_account_password_reset(&fx.ctx, "13800000005", code, "weak", &out, field,
                                                &e),
                  MK_EINVAL); /* checked before the code is tried */
  assert_mk_fails(mk_svc_account_password_reset(&fx.ctx, "13800000005", wrong, "reset2024", &out,
                                                field, &e),
                  MK_EAUTH);
  assert_string_equal(field, "code");
  assert_mk_ok(mk_svc_account_password_reset(&fx.ctx, "13800000005", code, "reset2024", &out,
                                             field, &e));
  assert_int_equal(json_integer_value(json_object_get(out, "sessions_ended")), 2);
  json_decref(out);
  out = NULL;
  assert_mk_fails(use_session(t1, DEV1, "10.0.2.1"), MK_EAUTH);
  assert_mk_fails(use_session(t3, DEV3, "10.0.2.1"), MK_EAUTH);
  fx_as_anon("10.0.2.1");
  assert_mk_fails(mk_svc_account_password_reset(&fx.ctx, "13800000005", code, "again2024", &out,
                                                field, &e),
                  MK_EEXPIRED); /* single use */
  assert_mk_ok(login("13800000005", NULL, "reset2024", DEV1, NULL, NULL));
  /* a reset code for a number without an account: same answer, nothing sent */
  int64_t before = fx_count("SELECT COUNT(*) FROM sms_outbox");
  assert_mk_ok(request_code("13600000005", "reset_password"));
  assert_int_equal(fx_count("SELECT COUNT(*) FROM sms_outbox"), before);
  /* and asking again at once is throttled exactly as for a real account */
  assert_mk_fails(request_code("13600000005", "reset_password"), MK_ERATE);
  assert_int_equal(
      fx_count("SELECT COUNT(*) FROM audit_event WHERE action = 'account.password_reset'"), 1);
}

/* ---- sessions ---- */

static void test_sessions_and_logout(void **state) {
  (void)state;
  mk_err e = {0};
  char t1[MK_SESSION_TOKEN_MAX], t2[MK_SESSION_TOKEN_MAX];
  fx_as_anon("10.0.3.1");
  code_login("13800000006", DEV1, t1, NULL);
  code_login("13800000006", DEV2, t2, NULL);
  /* a token works only on its device */
  assert_mk_ok(use_session(t1, DEV1, "10.0.3.1"));
  assert_mk_fails(use_session(t1, DEV2, "10.0.3.1"), MK_EAUTH);
  assert_mk_fails(use_session(t2, DEV1, "10.0.3.1"), MK_EAUTH);
  assert_mk_fails(use_session(t1, NULL, "10.0.3.1"), MK_EAUTH);
  /* logout ends this session only */
  assert_mk_ok(use_session(t1, DEV1, "10.0.3.1"));
  assert_mk_ok(mk_svc_account_logout(&fx.ctx, &e));
  assert_mk_fails(use_session(t1, DEV1, "10.0.3.1"), MK_EAUTH);
  assert_mk_ok(use_session(t2, DEV2, "10.0.3.1"));
  fx_as_anon("10.0.3.1");
  assert_mk_fails(mk_svc_account_logout(&fx.ctx, &e), MK_EAUTH);
  assert_true(fx_count("SELECT COUNT(*) FROM audit_event WHERE action = 'account.login' AND "
                       "detail LIKE '%\"method\":\"sms\"%'") >= 2);
  assert_true(fx_count("SELECT COUNT(*) FROM audit_event WHERE action = 'session.end'") >= 1);
  int64_t n = 0;
  assert_mk_ok(mk_svc_audit_verify(&fx.ctx, &n, &e));
  assert_true(n > 10);
}

/* ---- phone change ---- */

static void test_phone_change(void **state) {
  (void)state;
  mk_err e = {0};
  json_t *out = NULL;
  char field[MK_JSON_FIELD_MAX] = "", ta[MK_SESSION_TOKEN_MAX], ta2[MK_SESSION_TOKEN_MAX],
       tb[MK_SESSION_TOKEN_MAX], code[8], wrong[8];
  fx_as_anon("10.0.4.1");
  code_login("13800000007", DEV1, ta, NULL);
  code_login("13800000007", DEV3, ta2, NULL);
  code_login("13800000008", DEV2, tb, NULL);
  /* the new number must be free, when asking and when changing */
  assert_mk_ok(use_session(ta, DEV1, "10.0.4.1"));
  /* asking for a taken number answers as for a free one (no enumeration), but
   * nothing is sent, a second ask is throttled alike, and no code changes to it */
  int64_t sent = fx_count("SELECT COUNT(*) FROM sms_outbox WHERE phone = '13800000008'");
  assert_mk_ok(request_code("13800000008", "change_phone"));
  assert_int_equal(fx_count("SELECT COUNT(*) FROM sms_outbox WHERE phone = '13800000008'"), sent);
  assert_mk_fails(request_code("13800000008", "change_phone"), MK_ERATE);
  assert_mk_ok(use_session(ta, DEV1, "10.0.4.1"));
  assert_true(mk_svc_account_phone_change(&fx.ctx, "13800000008", "000000", &out, field, &e) < 0);
  assert_mk_ok(request_code("13700000007", "change_phone"));
  outbox_code("13700000007", code);
  /* the code is for the account that asked */
  assert_mk_ok(use_session(tb, DEV2, "10.0.4.1"));
  assert_mk_fails(mk_svc_account_phone_change(&fx.ctx, "13700000007", code, &out, field, &e),
                  MK_EEXPIRED);
  /* a wrong code is 403 (not 401: the session is fine) */
  assert_mk_ok(use_session(ta, DEV1, "10.0.4.1"));
  wrong_of(code, wrong);
  field[0] = '\0';
  assert_mk_fails(mk_svc_account_phone_change(&fx.ctx, "13700000007", wrong, &out, field, &e),
                  MK_EPERM);
  assert_string_equal(field, "code");
  assert_mk_fails(mk_svc_account_phone_change(&fx.ctx, "1370000000", code, &out, field, &e),
                  MK_EINVAL);
  assert_string_equal(field, "new_phone");
  /* a login code of the new number does not change it */
  fx_as_anon("10.0.4.1");
  assert_mk_ok(request_code("13700000009", "login"));
  char login_code[8];
  outbox_code("13700000009", login_code);
  assert_mk_ok(use_session(ta, DEV1, "10.0.4.1"));
  assert_mk_fails(mk_svc_account_phone_change(&fx.ctx, "13700000009", login_code, &out, field, &e),
                  MK_EEXPIRED);
  assert_mk_ok(mk_svc_account_phone_change(&fx.ctx, "13700000007", code, &out, field, &e));
  assert_string_equal(json_string_value(json_object_get(out, "phone")), "137****0007");
  assert_int_equal(json_integer_value(json_object_get(out, "sessions_ended")), 1);
  json_decref(out);
  out = NULL;
  assert_mk_fails(use_session(ta2, DEV3, "10.0.4.1"), MK_EAUTH);
  assert_mk_ok(use_session(ta, DEV1, "10.0.4.1"));
  const char *acc = fx.ctx.caller.account_id;
  assert_int_equal(
      fx_count("SELECT COUNT(*) FROM account WHERE phone = '13700000007' AND id = $1", acc), 1);
  /* the old number is free again: its next login makes a new account */
  int fresh = 0;
  fx_as_anon("10.0.4.1");
  code_login("13800000007", DEV1, NULL, &fresh);
  assert_int_equal(fresh, 1);
  /* the change code is used */
  assert_mk_ok(use_session(tb, DEV2, "10.0.4.1"));
  assert_mk_fails(mk_svc_account_phone_change(&fx.ctx, "13700000007", code, &out, field, &e),
                  MK_EEXPIRED);
}

/* ---- WeChat ---- */

static int wechat_code(const char *user, char code[MK_WECHAT_CODE_MAX]) {
  json_t *out = NULL;
  mk_err e = {0};
  int rc = mk_svc_wechat_consent(&fx.ctx, user, "st", &out, NULL, &e);
  if (rc == 0) {
    snprintf(code, MK_WECHAT_CODE_MAX, "%s", json_string_value(json_object_get(out, "code")));
    assert_string_equal(json_string_value(json_object_get(out, "state")), "st");
  }
  json_decref(out);
  return rc;
}

static void test_wechat(void **state) {
  (void)state;
  mk_err e = {0};
  json_t *out = NULL;
  int bound = -1;
  char field[MK_JSON_FIELD_MAX] = "", wc[MK_WECHAT_CODE_MAX], ticket[64], code[8], wrong[8],
       openid[MK_WECHAT_OPENID_MAX];
  /* documented: osbx_ + 24 hex digits of SHA-256("mkey sandbox wechat openid v1:alice") */
  assert_mk_ok(mk_wechat_sandbox_openid("alice", openid, &e));
  assert_string_equal(openid, "osbx_a97e57bc6e61f2e9ed65f8a1");
  assert_mk_fails(mk_wechat_sandbox_openid("a b", openid, &e), MK_EINVAL);
  fx_as_anon("10.0.5.1");
  assert_mk_fails(wechat_code("bad name", wc), MK_EINVAL);
  assert_mk_ok(wechat_code("alice", wc));
  /* only the hash of the authorization code is kept */
  assert_int_equal(fx_count("SELECT COUNT(*) FROM wechat_sandbox_code WHERE code_sha256 = $1", wc),
                   0);
  assert_mk_fails(mk_svc_wechat_login(&fx.ctx, wc, "nodev", &out, &bound, field, &e), MK_EINVAL);
  assert_mk_ok(mk_svc_wechat_login(&fx.ctx, wc, DEV1, &out, &bound, field, &e));
  assert_int_equal(bound, 0);
  snprintf(ticket, sizeof ticket, "%s", json_string_value(json_object_get(out, "binding_ticket")));
  assert_int_equal(strlen(ticket), 43);
  assert_null(json_object_get(out, "token"));
  json_decref(out);
  out = NULL;
  /* an authorization code is single use; a made-up one fails */
  assert_mk_fails(mk_svc_wechat_login(&fx.ctx, wc, DEV1, &out, &bound, field, &e), MK_EAUTH);
  assert_mk_fails(mk_svc_wechat_login(&fx.ctx, "madeUpCode", DEV1, &out, &bound, field, &e),
                  MK_EAUTH);
  /* bind: a login code of the phone */
  assert_mk_ok(request_code("13800000009", "login"));
  outbox_code("13800000009", code);
  wrong_of(code, wrong);
  assert_mk_fails(mk_svc_wechat_bind(&fx.ctx, ticket, "13800000009", wrong, DEV1, &out, field, &e),
                  MK_EAUTH);
  assert_mk_fails(mk_svc_wechat_bind(&fx.ctx, "short", "13800000009", code, DEV1, &out, field, &e),
                  MK_EINVAL);
  assert_string_equal(field, "binding_ticket");
  char forged[64];
  snprintf(forged, sizeof forged, "%s", ticket);
  forged[0] = forged[0] == 'A' ? 'B' : 'A';
  assert_mk_fails(mk_svc_wechat_bind(&fx.ctx, forged, "13800000009", code, DEV1, &out, field, &e),
                  MK_EEXPIRED);
  assert_mk_ok(mk_svc_wechat_bind(&fx.ctx, ticket, "13800000009", code, DEV1, &out, field, &e));
  assert_true(json_is_true(json_object_get(out, "new_account")));
  char tok[MK_SESSION_TOKEN_MAX];
  snprintf(tok, sizeof tok, "%s", json_string_value(json_object_get(out, "token")));
  json_decref(out);
  out = NULL;
  assert_mk_ok(use_session(tok, DEV1, "10.0.5.1"));
  assert_int_equal(fx_count("SELECT COUNT(*) FROM account WHERE wechat_openid = $1",
                            "osbx_a97e57bc6e61f2e9ed65f8a1"),
                   1);
  /* the ticket is used */
  fx_as_anon("10.0.5.1");
  assert_mk_fails(mk_svc_wechat_bind(&fx.ctx, ticket, "13800000009", code, DEV1, &out, field, &e),
                  MK_EEXPIRED);
  /* from now on WeChat logs straight in */
  assert_mk_ok(wechat_code("alice", wc));
  assert_mk_ok(mk_svc_wechat_login(&fx.ctx, wc, DEV2, &out, &bound, field, &e));
  assert_int_equal(bound, 1);
  assert_false(json_is_true(json_object_get(out, "new_account")));
  json_decref(out);
  out = NULL;
  /* a second WeChat user cannot bind the same account */
  assert_mk_ok(wechat_code("bob", wc));
  assert_mk_ok(mk_svc_wechat_login(&fx.ctx, wc, DEV1, &out, &bound, field, &e));
  snprintf(ticket, sizeof ticket, "%s", json_string_value(json_object_get(out, "binding_ticket")));
  json_decref(out);
  out = NULL;
  fx.clock += MK_SMS_RESEND;
  assert_mk_ok(request_code("13800000009", "login"));
  outbox_code("13800000009", code);
  assert_mk_fails(mk_svc_wechat_bind(&fx.ctx, ticket, "13800000009", code, DEV1, &out, field, &e),
                  MK_ECONFLICT);
  /* tickets expire */
  fx.clock += MK_WECHAT_TICKET_TTL;
  assert_mk_ok(request_code("13800000010", "login"));
  outbox_code("13800000010", code);
  assert_mk_fails(mk_svc_wechat_bind(&fx.ctx, ticket, "13800000010", code, DEV1, &out, field, &e),
                  MK_EEXPIRED);
  /* authorization codes expire too */
  assert_mk_ok(wechat_code("carol", wc));
  fx.clock += MK_WECHAT_SANDBOX_CODE_TTL;
  assert_mk_fails(mk_svc_wechat_login(&fx.ctx, wc, DEV1, &out, &bound, field, &e), MK_EAUTH);
  /* outside sandbox mode the consent page does not exist and WeChat is not configured */
  fx.cfg.sandbox = 0;
  assert_mk_fails(wechat_code("alice", wc), MK_ENOTFOUND);
  assert_mk_fails(mk_svc_wechat_login(&fx.ctx, "abc", DEV1, &out, &bound, field, &e), MK_ENET);
  assert_mk_fails(request_code("13800000011", "login"), MK_ENET);
  fx.cfg.sandbox = 1;
  assert_true(fx_count("SELECT COUNT(*) FROM audit_event WHERE action = 'account.wechat_bind' AND "
                       "detail NOT LIKE '%a97e57bc6e61f2e9%'") == 1);
}

/* ---- outside providers against a local HTTP server ---- */

static struct gw {
  struct MHD_Daemon *d;
  unsigned port;
  int status;              /* what to answer */
  const char *answer;      /* body to answer */
  char got_body[2048];     /* the last request's body */
  char got_url[1024];      /* path and query of the last request */
  char got_type[128];
  int requests;
} gw;

static enum MHD_Result gw_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value) {
  (void)cls;
  (void)kind;
  size_t n = strlen(gw.got_url);
  snprintf(gw.got_url + n, sizeof gw.got_url - n, "%s%s=%s", strchr(gw.got_url, '?') ? "&" : "?",
           key, value ? value : "");
  return MHD_YES;
}

static enum MHD_Result gw_handle(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *data,
                                 size_t *size, void **con_cls) {
  (void)cls;
  (void)method;
  (void)version;
  if (*con_cls == NULL) {
    *con_cls = (void *)1;
    gw.got_body[0] = '\0';
    snprintf(gw.got_url, sizeof gw.got_url, "%s", url);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, gw_query, NULL);
    const char *t = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    snprintf(gw.got_type, sizeof gw.got_type, "%s", t ? t : "");
    return MHD_YES;
  }
  if (*size > 0) {
    size_t n = strlen(gw.got_body);
    snprintf(gw.got_body + n, sizeof gw.got_body - n, "%.*s", (int)*size, data);
    *size = 0;
    return MHD_YES;
  }
  gw.requests++;
  struct MHD_Response *r = MHD_create_response_from_buffer(strlen(gw.answer), (void *)gw.answer,
                                                           MHD_RESPMEM_PERSISTENT);
  MHD_add_response_header(r, "Content-Type", "text/plain");
  enum MHD_Result ret = MHD_queue_response(c, (unsigned)gw.status, r);
  MHD_destroy_response(r);
  return ret;
}

static void gw_start(void) {
  struct sockaddr_in sin;
  memset(&gw, 0, sizeof gw);
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  gw.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, gw_handle, NULL,
                          MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin, MHD_OPTION_END);
  assert_non_null(gw.d);
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(gw.d, MHD_DAEMON_INFO_BIND_PORT);
  assert_non_null(di);
  gw.port = di->port;
}

static void test_sms_http_provider(void **state) {
  (void)state;
  char code[8];
  gw_start();
  snprintf(fx.cfg.sms_provider, sizeof fx.cfg.sms_provider, "http");
  snprintf(fx.cfg.sms_url, sizeof fx.cfg.sms_url, "http://127.0.0.1:%u/send", gw.port);
  gw.status = 200;
  gw.answer = "{\"ok\":true}";
  fx_as_anon("10.0.6.1");
  int64_t outbox = fx_count("SELECT COUNT(*) FROM sms_outbox");
  assert_mk_ok(request_code("13800000012", "login"));
  assert_int_equal(gw.requests, 1);
  assert_string_equal(gw.got_url, "/send");
  assert_string_equal(gw.got_type, "application/json");
  json_t *sent = NULL;
  mk_err e = {0};
  assert_mk_ok(mk_json_parse_object(gw.got_body, strlen(gw.got_body), 4096, &sent, &e));
  assert_string_equal(json_string_value(json_object_get(sent, "phone")), "13800000012");
  assert_string_equal(json_string_value(json_object_get(sent, "purpose")), "login");
  snprintf(code, sizeof code, "%s", json_string_value(json_object_get(sent, "code")));
  assert_int_equal(strlen(code), 6);
  assert_non_null(strstr(json_string_value(json_object_get(sent, "text")), code));
  json_decref(sent);
  /* nothing went to the sandbox outbox */
  assert_int_equal(fx_count("SELECT COUNT(*) FROM sms_outbox"), outbox);
  assert_mk_ok(login("13800000012", code, NULL, DEV1, NULL, NULL));
  /* the gateway refuses: 502, and the code is void so a resend is allowed at once */
  gw.status = 500;
  assert_mk_fails(request_code("13800000013", "login"), MK_ENET);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM sms_code WHERE phone = $1 AND state = 'failed'",
                            "13800000013"),
                   1);
  gw.status = 200;
  assert_mk_ok(request_code("13800000013", "login"));
  /* an unreachable gateway */
  MHD_stop_daemon(gw.d);
  fx.clock += MK_SMS_RESEND;
  assert_mk_fails(request_code("13800000013", "login"), MK_ENET);
  fx.cfg.sms_provider[0] = '\0';
  fx.cfg.sms_url[0] = '\0';
}

static void test_wechat_http_provider(void **state) {
  (void)state;
  mk_err e = {0};
  json_t *out = NULL;
  int bound = -1;
  char path[160], field[MK_JSON_FIELD_MAX] = "";
  gw_start();
  snprintf(path, sizeof path, "%s/wechat.secret", fx.dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("s3cr&t\n", f);
  fclose(f);
  chmod(path, 0600);
  snprintf(fx.cfg.wechat_provider, sizeof fx.cfg.wechat_provider, "http");
  snprintf(fx.cfg.wechat_url, sizeof fx.cfg.wechat_url,
           "http://127.0.0.1:%u/sns/oauth2/access_token", gw.port);
  snprintf(fx.cfg.wechat_appid, sizeof fx.cfg.wechat_appid, "wx123");
  snprintf(fx.cfg.wechat_secret_file, sizeof fx.cfg.wechat_secret_file, "%s", path);
  gw.status = 200;
  gw.answer = "{\"access_token\":\"AT\",\"expires_in\":7200,\"openid\":\"oWx_real-1\","
              "\"scope\":\"snsapi_userinfo\"}";
  fx_as_anon("10.0.7.1");
  assert_mk_ok(mk_svc_wechat_login(&fx.ctx, "CODE-1", DEV1, &out, &bound, field, &e));
  assert_int_equal(bound, 0);
  assert_string_equal(gw.got_url, "/sns/oauth2/access_token?appid=wx123&secret=s3cr&t&code=CODE-1"
                                  "&grant_type=authorization_code");
  json_decref(out);
  out = NULL;
  gw.answer = "{\"errcode\":40029,\"errmsg\":\"invalid code\"}";
  assert_mk_fails(mk_svc_wechat_login(&fx.ctx, "CODE-2", DEV1, &out, &bound, field, &e), MK_EAUTH);
  assert_string_equal(field, "code");
  gw.answer = "{\"errcode\":40013,\"errmsg\":\"invalid appid\"}";
  assert_mk_fails(mk_svc_wechat_login(&fx.ctx, "CODE-3", DEV1, &out, &bound, field, &e), MK_ENET);
  gw.answer = "{\"openid\":\"bad openid!\"}";
  assert_mk_fails(mk_svc_wechat_login(&fx.ctx, "CODE-4", DEV1, &out, &bound, field, &e), MK_EPROTO);
  gw.status = 503;
  gw.answer = "busy";
  assert_mk_fails(mk_svc_wechat_login(&fx.ctx, "CODE-5", DEV1, &out, &bound, field, &e), MK_ENET);
  /* a secret file others can read is refused */
  chmod(path, 0644);
  gw.status = 200;
  gw.answer = "{\"openid\":\"oWx_real-1\"}";
  assert_mk_fails(mk_svc_wechat_login(&fx.ctx, "CODE-6", DEV1, &out, &bound, field, &e), MK_EPERM);
  MHD_stop_daemon(gw.d);
  unlink(path);
  fx.cfg.wechat_provider[0] = '\0';
}

static void test_providers(void **state) {
  (void)state;
  mk_err e = {0};
  const mk_sms_provider *sp = NULL;
  const mk_wechat_provider *wp = NULL;
  char text[MK_SMS_TEXT_MAX];
  mk_config c;
  memset(&c, 0, sizeof c);
  assert_mk_fails(mk_sms_provider_get(&c, &sp, &e), MK_ENET);
  assert_mk_fails(mk_wechat_provider_get(&c, &wp, &e), MK_ENET);
  c.sandbox = 1;
  assert_mk_ok(mk_sms_provider_get(&c, &sp, &e));
  assert_string_equal(sp->name, "sandbox");
  assert_true(sp->in_transaction);
  assert_mk_ok(mk_wechat_provider_get(&c, &wp, &e));
  assert_string_equal(wp->name, "sandbox");
  snprintf(c.sms_provider, sizeof c.sms_provider, "http");
  assert_mk_ok(mk_sms_provider_get(&c, &sp, &e));
  assert_string_equal(sp->name, "http");
  c.sandbox = 0;
  snprintf(c.sms_provider, sizeof c.sms_provider, "sandbox");
  assert_mk_ok(mk_sms_provider_get(&c, &sp, &e)); /* an outbox may serve a staging server */
  snprintf(c.wechat_provider, sizeof c.wechat_provider, "sandbox");
  assert_mk_fails(mk_wechat_provider_get(&c, &wp, &e), MK_ENET); /* never outside sandbox */
  assert_mk_ok(mk_sms_code_text("login", "123456", 5, text, &e));
  assert_non_null(strstr(text, "登录验证码为123456"));
  assert_mk_ok(mk_sms_code_text("change_phone", "123456", 5, text, &e));
  assert_non_null(strstr(text, "更换手机号"));
  assert_mk_fails(mk_sms_code_text("other", "123456", 5, text, &e), MK_EINVAL);
  /* config keys */
  mk_config k;
  memset(&k, 0, sizeof k);
  assert_mk_ok(mk_config_set(&k, "sms_provider", "http", "test", &e));
  assert_mk_fails(mk_config_set(&k, "sms_provider", "carrier-pigeon", "test", &e), MK_EINVAL);
  assert_mk_fails(mk_config_set(&k, "sms_url", "ftp://x", "test", &e), MK_EINVAL);
  assert_mk_ok(mk_config_set(&k, "sms_ip_limit", "100", "test", &e));
  assert_int_equal(k.sms_ip_limit, 100);
  assert_mk_fails(mk_config_set(&k, "sms_phone_limit", "0", "test", &e), MK_EINVAL);
  snprintf(k.data_dir, sizeof k.data_dir, "var");
  snprintf(k.listen, sizeof k.listen, "127.0.0.1:0");
  k.sandbox = 1;
  assert_mk_fails(mk_config_validate(&k, &e), MK_EINVAL); /* http without sms_url */
  assert_mk_ok(mk_config_set(&k, "sms_url", "https://sms.example.cn/send", "test", &e));
  assert_mk_ok(mk_config_validate(&k, &e));
  assert_mk_ok(mk_config_set(&k, "wechat_provider", "http", "test", &e));
  assert_mk_fails(mk_config_validate(&k, &e), MK_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_providers),
      cmocka_unit_test(test_code_lifecycle),
      cmocka_unit_test(test_code_tries_and_resend),
      cmocka_unit_test(test_rate_limits),
      cmocka_unit_test(test_login_failure_limit),
      cmocka_unit_test(test_passwords),
      cmocka_unit_test(test_sessions_and_logout),
      cmocka_unit_test(test_phone_change),
      cmocka_unit_test(test_wechat),
      cmocka_unit_test(test_sms_http_provider),
      cmocka_unit_test(test_wechat_http_provider),
  };
  return cmocka_run_group_tests(tests, setup, fx_teardown);
}
