/* Web console sessions without HTTP: a login gives a cookie token and a
 * CSRF token that authenticate together; the same answer for every wrong
 * credential; console and `mkey ca` logins share one bound on failures; a
 * renewed CSRF token replaces the old one, for console sessions only;
 * who-am-I. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "svc_fixture.h"

#define PASSWORD "correct horse 42"

static void add_operator(const char *ca, const char *user) {
  mk_err e = {0};
  json_t *out = NULL;
  fx_as_operator(NULL);
  assert_mk_ok(mk_svc_ca_operator_add(&fx.ctx, ca, user, PASSWORD, &out, NULL, &e));
  json_decref(out);
}

static int setup(void **state) {
  (void)state;
  if (fx_open("console", FX_KEK, 2) < 0)
    return -1;
  /* Two CAs as rows: the console needs their ids and names, not their keys. */
  fx_sql("INSERT INTO ca(id, name, adapter, key_type, profile, origin, base_url, crl_number, "
         "created_at, updated_at) VALUES ($1, '浙江CA（测试）', 'builtin', 'sm2', '{}', 'sandbox', "
         "'http://127.0.0.1', 1, '2026-11-30T00:00:00Z', '2026-11-30T00:00:00Z')",
         "ca_t_zj");
  fx_sql("INSERT INTO ca(id, name, adapter, key_type, profile, origin, base_url, crl_number, "
         "created_at, updated_at) VALUES ($1, '江苏CA（测试）', 'builtin', 'rsa', '{}', 'sandbox', "
         "'http://127.0.0.1', 1, '2026-11-30T00:00:00Z', '2026-11-30T00:00:00Z')",
         "ca_t_js");
  add_operator("ca_t_zj", "zj.reviewer");
  add_operator("ca_t_zj", "zj.second");
  add_operator("ca_t_js", "js.reviewer");
  return 0;
}

static int reset(void **state) {
  (void)state;
  fx_sql("DELETE FROM rate_event WHERE bucket LIKE $1", "ca_login.%");
  fx.clock = FX_EPOCH;
  return 0;
}

/* One console login attempt (kind MK_SESSION_CONSOLE, or the bearer kind of
 * mkey ca when csrf is NULL); its code. */
static int try_kind(const char *user, const char *pw, char token[MK_SESSION_TOKEN_MAX],
                    char *csrf) {
  mk_err e = {0};
  json_t *out = NULL;
  int rc = mk_svc_ca_login(&fx.ctx, csrf ? MK_SESSION_CONSOLE : MK_SESSION_CA_OPERATOR, user, pw,
                           token, csrf, &out, &e);
  if (rc == 0) {
    assert_non_null(out);
    assert_string_equal(json_string_value(json_object_get(out, "username")), user);
    assert_non_null(json_string_value(json_object_get(out, "expires_at")));
  } else {
    assert_null(out);
  }
  if (rc == MK_EAUTH)
    assert_string_equal(e.msg, "wrong username or password");
  json_decref(out);
  return rc;
}

static int try_login(const char *user, const char *pw, char token[MK_SESSION_TOKEN_MAX],
                     char csrf[MK_SESSION_TOKEN_MAX]) {
  return try_kind(user, pw, token, csrf);
}

static void test_login_tokens(void **state) {
  (void)state;
  char token[MK_SESSION_TOKEN_MAX], csrf[MK_SESSION_TOKEN_MAX];
  mk_err e = {0};
  fx_as_anon("192.0.2.1");
  assert_mk_ok(try_login("zj.reviewer", PASSWORD, token, csrf));
  assert_true(strlen(token) >= 43 && strlen(csrf) >= 43);
  assert_string_not_equal(token, csrf);
  /* the cookie alone reads; a change needs the CSRF token too */
  fx_as_anon("192.0.2.1");
  assert_mk_ok(mk_svc_session_check(&fx.ctx, MK_SESSION_CONSOLE, token, NULL, 0, NULL, &e));
  assert_int_equal(fx.ctx.caller.role, MK_ROLE_CA_OPERATOR);
  assert_string_equal(fx.ctx.caller.ca_id, "ca_t_zj");
  assert_mk_ok(mk_svc_session_check(&fx.ctx, MK_SESSION_CONSOLE, token, NULL, 1, csrf, &e));
  assert_mk_fails(mk_svc_session_check(&fx.ctx, MK_SESSION_CONSOLE, token, NULL, 1, NULL, &e),
                  MK_EPERM);
  assert_mk_fails(mk_svc_session_check(&fx.ctx, MK_SESSION_CONSOLE, token, NULL, 1, token, &e),
                  MK_EPERM);
  /* the console cookie is no bearer token for mkey ca */
  assert_mk_fails(
      mk_svc_session_check(&fx.ctx, MK_SESSION_CA_OPERATOR, token, NULL, 0, NULL, &e), MK_EAUTH);
  /* the login is audited */
  assert_int_equal(
      fx_count("SELECT count(*) FROM audit_event WHERE action = $1", "ca_operator.console_login"),
      1);
  /* the same answer for an unknown user, a wrong password, a disabled account */
  fx_as_anon("192.0.2.1");
  assert_mk_fails(try_login("nobody.here", PASSWORD, token, csrf), MK_EAUTH);
  assert_mk_fails(try_login("zj.reviewer", "wrong password 1", token, csrf), MK_EAUTH);
  assert_mk_fails(try_login("no such user at all!", PASSWORD, token, csrf), MK_EAUTH);
  fx_sql("UPDATE ca_operator SET disabled_at = '2026-11-30T00:00:00Z' WHERE username = $1",
         "js.reviewer");
  assert_mk_fails(try_login("js.reviewer", PASSWORD, token, csrf), MK_EAUTH);
  fx_sql("UPDATE ca_operator SET disabled_at = NULL WHERE username = $1", "js.reviewer");
  assert_mk_ok(try_login("js.reviewer", PASSWORD, token, csrf));
}

/* Failures through the console and through mkey ca count together. */
static void test_shared_limit(void **state) {
  (void)state;
  char token[MK_SESSION_TOKEN_MAX], csrf[MK_SESSION_TOKEN_MAX];
  fx_as_anon("192.0.2.10");
  for (int i = 0; i < MK_CA_LOGIN_FAILS_USER; i++)
    assert_mk_fails(i % 2 ? try_kind("zj.reviewer", "wrong password 1", token, NULL)
                          : try_login("zj.reviewer", "wrong password 1", token, csrf),
                    MK_EAUTH);
  /* now refused whatever the password, from any address, either way */
  assert_mk_fails(try_login("zj.reviewer", PASSWORD, token, csrf), MK_ERATE);
  fx_as_anon("198.51.100.7");
  assert_mk_fails(try_kind("zj.reviewer", PASSWORD, token, NULL), MK_ERATE);
  /* another username is not held up */
  assert_mk_ok(try_login("zj.second", PASSWORD, token, csrf));
  /* once the window has passed, the right password works again */
  fx.clock += MK_CA_LOGIN_WINDOW + 1;
  assert_mk_ok(try_login("zj.reviewer", PASSWORD, token, csrf));
}

static void test_csrf_renew(void **state) {
  (void)state;
  char token[MK_SESSION_TOKEN_MAX], csrf[MK_SESSION_TOKEN_MAX], fresh[MK_SESSION_TOKEN_MAX];
  mk_err e = {0};
  fx_as_anon("192.0.2.30");
  assert_mk_ok(try_login("zj.reviewer", PASSWORD, token, csrf));
  fx_as_anon("192.0.2.30");
  assert_mk_ok(mk_svc_session_check(&fx.ctx, MK_SESSION_CONSOLE, token, NULL, 0, NULL, &e));
  int64_t before =
      fx_count("SELECT count(*) FROM audit_event WHERE action = $1", "ca_operator.console_csrf");
  assert_mk_ok(mk_svc_console_csrf_renew(&fx.ctx, fresh, &e));
  assert_string_not_equal(fresh, csrf);
  assert_int_equal(
      fx_count("SELECT count(*) FROM audit_event WHERE action = $1", "ca_operator.console_csrf"),
      before + 1);
  /* the old token no longer authorises a change; the new one does */
  assert_mk_fails(mk_svc_session_check(&fx.ctx, MK_SESSION_CONSOLE, token, NULL, 1, csrf, &e),
                  MK_EPERM);
  assert_mk_ok(mk_svc_session_check(&fx.ctx, MK_SESSION_CONSOLE, token, NULL, 1, fresh, &e));
  /* nobody logged in, or a bearer session of mkey ca: no CSRF token */
  fx_as_anon("192.0.2.30");
  assert_mk_fails(mk_svc_console_csrf_renew(&fx.ctx, fresh, &e), MK_EAUTH);
  mk_db *db = NULL;
  char bearer[MK_SESSION_TOKEN_MAX];
  fx.ctx.caller.role = MK_ROLE_CA_OPERATOR;
  assert_mk_ok(mk_store_acquire(fx.store, &db, &e));
  assert_mk_ok(mk_db_begin(db, &e));
  char cop[MK_ID_MAX];
  {
    mk_stmt *st = NULL;
    assert_mk_ok(mk_db_prepare(db, "SELECT id FROM ca_operator WHERE username = 'zj.second'",
                               &st, &e));
    assert_int_equal(mk_stmt_step(st, &e), 1);
    snprintf(cop, sizeof cop, "%s", mk_stmt_text(st, 0));
    mk_stmt_finish(st);
  }
  assert_mk_ok(mk_svc_session_create(&fx.ctx, db, MK_SESSION_CA_OPERATOR, cop, NULL, bearer,
                                     NULL, NULL, &e));
  assert_mk_ok(mk_db_commit(db, &e));
  mk_store_release(fx.store, db);
  assert_mk_ok(
      mk_svc_session_check(&fx.ctx, MK_SESSION_CA_OPERATOR, bearer, NULL, 0, NULL, &e));
  assert_mk_fails(mk_svc_console_csrf_renew(&fx.ctx, fresh, &e), MK_EAUTH);
  /* an ended console session takes no new token */
  fx_as_anon("192.0.2.30");
  assert_mk_ok(mk_svc_session_check(&fx.ctx, MK_SESSION_CONSOLE, token, NULL, 0, NULL, &e));
  assert_mk_ok(mk_svc_session_end(&fx.ctx, &e));
  assert_mk_fails(mk_svc_console_csrf_renew(&fx.ctx, fresh, &e), MK_EAUTH);
  assert_mk_fails(mk_svc_session_check(&fx.ctx, MK_SESSION_CONSOLE, token, NULL, 0, NULL, &e),
                  MK_EAUTH);
}

static void test_whoami(void **state) {
  (void)state;
  char token[MK_SESSION_TOKEN_MAX], csrf[MK_SESSION_TOKEN_MAX];
  mk_err e = {0};
  json_t *out = NULL;
  fx_as_anon("192.0.2.40");
  assert_mk_fails(mk_svc_console_session(&fx.ctx, &out, &e), MK_EAUTH);
  assert_null(out);
  assert_mk_ok(try_login("js.reviewer", PASSWORD, token, csrf));
  fx_as_anon("192.0.2.40");
  assert_mk_ok(mk_svc_session_check(&fx.ctx, MK_SESSION_CONSOLE, token, NULL, 0, NULL, &e));
  assert_mk_ok(mk_svc_console_session(&fx.ctx, &out, &e));
  assert_string_equal(json_string_value(json_object_get(out, "username")), "js.reviewer");
  assert_string_equal(json_string_value(json_object_get(out, "ca_id")), "ca_t_js");
  assert_string_equal(json_string_value(json_object_get(out, "ca_name")), "江苏CA（测试）");
  assert_string_equal(json_string_value(json_object_get(out, "kind")), "console");
  assert_string_equal(json_string_value(json_object_get(out, "expires_at")),
                      "2026-11-30T08:53:20Z"); /* 1796000000 + 8 h */
  json_decref(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_login_tokens, reset),
      cmocka_unit_test_setup(test_shared_limit, reset),
      cmocka_unit_test_setup(test_csrf_renew, reset),
      cmocka_unit_test_setup(test_whoami, reset),
  };
  return cmocka_run_group_tests(tests, setup, fx_teardown);
}
