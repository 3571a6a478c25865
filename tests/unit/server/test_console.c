/* Web console sessions without HTTP: a login gives a cookie token and a
 * CSRF token that authenticate together; failed logins are bounded per
 * username and per address, with the wait told; a success clears its
 * username's count but not its address's; a renewed CSRF token replaces the
 * old one, for console sessions only; who-am-I. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mk_test.h"
#include "svc/svc.h"
#include "util/json.h"

static struct fx {
  char dir[64];
  mk_config cfg;
  mk_store *store;
  mk_kek *kek;
  mk_svc_ctx ctx;
} fx;

static int64_t now_value = 1796000000; /* 2026-11-30 */
static int64_t pinned_now(void) { return now_value; }

#define PASSWORD "correct horse 42"

static void sql(const char *q, const char *a) {
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  mk_err e = {0};
  assert_mk_ok(mk_store_acquire(fx.store, &db, &e));
  assert_mk_ok(mk_db_prepare(db, q, &st, &e));
  if (a)
    assert_mk_ok(mk_stmt_bind_text(st, 1, a, &e));
  assert_true(mk_stmt_step(st, &e) >= 0);
  mk_stmt_finish(st);
  mk_store_release(fx.store, db);
}

static int64_t count(const char *q, const char *a) {
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  mk_err e = {0};
  assert_mk_ok(mk_store_acquire(fx.store, &db, &e));
  assert_mk_ok(mk_db_prepare(db, q, &st, &e));
  if (a)
    assert_mk_ok(mk_stmt_bind_text(st, 1, a, &e));
  assert_int_equal(mk_stmt_step(st, &e), 1);
  int64_t n = mk_stmt_int(st, 0);
  mk_stmt_finish(st);
  mk_store_release(fx.store, db);
  return n;
}

/* An anonymous caller from address remote, as the login route has it. */
static void from(const char *remote) {
  memset(&fx.ctx.caller, 0, sizeof fx.ctx.caller);
  fx.ctx.caller.remote = remote;
  fx.ctx.caller.request_id = "req-test";
}

static void add_operator(const char *ca, const char *user) {
  mk_err e = {0};
  json_t *out = NULL;
  memset(&fx.ctx.caller, 0, sizeof fx.ctx.caller);
  fx.ctx.caller.role = MK_ROLE_OPERATOR;
  assert_mk_ok(mk_svc_ca_operator_add(&fx.ctx, ca, user, PASSWORD, &out, NULL, &e));
  json_decref(out);
}

static int setup(void **state) {
  (void)state;
  mk_err e = {0};
  char path[128], url[160];
  snprintf(fx.dir, sizeof fx.dir, "/tmp/mkey-console-XXXXXX");
  if (mkdtemp(fx.dir) == NULL)
    return -1;
  snprintf(path, sizeof path, "%s/kek", fx.dir);
  if (mk_kek_file_open(path, 1, &fx.kek, &e) < 0)
    return -1;
  snprintf(url, sizeof url, "sqlite:%s/mkey.db", fx.dir);
  mk_store_config sc = {.url = url, .pool_size = 2};
  if (mk_store_open(&sc, &fx.store, &e) < 0)
    return -1;
  memset(&fx.cfg, 0, sizeof fx.cfg);
  fx.cfg.sandbox = 1;
  fx.ctx = (mk_svc_ctx){.store = fx.store, .kek = fx.kek, .cfg = &fx.cfg, .now = pinned_now};
  /* Two CAs as rows: the console needs their ids and names, not their keys. */
  sql("INSERT INTO ca(id, name, adapter, key_type, profile, origin, base_url, crl_number, "
      "created_at, updated_at) VALUES ($1, '浙江CA（测试）', 'builtin', 'sm2', '{}', 'sandbox', "
      "'http://127.0.0.1', 1, '2026-11-30T00:00:00Z', '2026-11-30T00:00:00Z')",
      "ca_t_zj");
  sql("INSERT INTO ca(id, name, adapter, key_type, profile, origin, base_url, crl_number, "
      "created_at, updated_at) VALUES ($1, '江苏CA（测试）', 'builtin', 'rsa', '{}', 'sandbox', "
      "'http://127.0.0.1', 1, '2026-11-30T00:00:00Z', '2026-11-30T00:00:00Z')",
      "ca_t_js");
  add_operator("ca_t_zj", "zj.reviewer");
  add_operator("ca_t_zj", "zj.second");
  add_operator("ca_t_js", "js.reviewer");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  mk_store_close(fx.store);
  mk_kek_free(fx.kek);
  snprintf(cmd, sizeof cmd, "rm -rf %s", fx.dir);
  return system(cmd) == 0 ? 0 : -1;
}

static int reset(void **state) {
  (void)state;
  mk_svc_console_limits_reset();
  now_value = 1796000000;
  return 0;
}

/* One login attempt; its code, with the tokens and the wait. */
static int try_login(const char *user, const char *pw, char token[MK_SESSION_TOKEN_MAX],
                     char csrf[MK_SESSION_TOKEN_MAX], int64_t *retry) {
  mk_err e = {0};
  json_t *out = NULL;
  int64_t r = -1;
  int rc = mk_svc_console_login(&fx.ctx, user, pw, token, csrf, &out, &r, &e);
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
  if (retry)
    *retry = r;
  return rc;
}

static void test_login_tokens(void **state) {
  (void)state;
  char token[MK_SESSION_TOKEN_MAX], csrf[MK_SESSION_TOKEN_MAX];
  mk_err e = {0};
  from("192.0.2.1");
  assert_mk_ok(try_login("zj.reviewer", PASSWORD, token, csrf, NULL));
  assert_true(strlen(token) >= 43 && strlen(csrf) >= 43);
  assert_string_not_equal(token, csrf);
  /* the cookie alone reads; a change needs the CSRF token too */
  from("192.0.2.1");
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
  assert_int_equal(count("SELECT count(*) FROM audit_event WHERE action = $1",
                         "ca_operator.console_login"),
                   1);
  /* the same answer for an unknown user, a wrong password, a disabled account */
  from("192.0.2.1");
  assert_mk_fails(try_login("nobody.here", PASSWORD, token, csrf, NULL), MK_EAUTH);
  assert_mk_fails(try_login("zj.reviewer", "wrong password 1", token, csrf, NULL), MK_EAUTH);
  assert_mk_fails(try_login("no such user at all!", PASSWORD, token, csrf, NULL), MK_EAUTH);
  sql("UPDATE ca_operator SET disabled_at = '2026-11-30T00:00:00Z' WHERE username = $1",
      "js.reviewer");
  assert_mk_fails(try_login("js.reviewer", PASSWORD, token, csrf, NULL), MK_EAUTH);
  sql("UPDATE ca_operator SET disabled_at = NULL WHERE username = $1", "js.reviewer");
  assert_mk_ok(try_login("js.reviewer", PASSWORD, token, csrf, NULL));
}

static void test_username_limit(void **state) {
  (void)state;
  char token[MK_SESSION_TOKEN_MAX], csrf[MK_SESSION_TOKEN_MAX];
  int64_t retry = -1;
  from("192.0.2.10");
  for (int i = 0; i < MK_CONSOLE_FAIL_MAX_USER; i++)
    assert_mk_fails(try_login("zj.reviewer", "wrong password 1", token, csrf, &retry), MK_EAUTH);
  assert_int_equal(retry, 0);
  /* now refused whatever the password, from any address, with the wait */
  assert_mk_fails(try_login("zj.reviewer", PASSWORD, token, csrf, &retry), MK_ERATE);
  assert_int_equal(retry, MK_CONSOLE_FAIL_WINDOW);
  from("198.51.100.7");
  now_value += 60;
  assert_mk_fails(try_login("zj.reviewer", PASSWORD, token, csrf, &retry), MK_ERATE);
  assert_int_equal(retry, MK_CONSOLE_FAIL_WINDOW - 60);
  /* another username is not held up */
  assert_mk_ok(try_login("zj.second", PASSWORD, token, csrf, NULL));
  /* once the window has passed, the right password works again */
  now_value += MK_CONSOLE_FAIL_WINDOW;
  assert_mk_ok(try_login("zj.reviewer", PASSWORD, token, csrf, &retry));
  assert_int_equal(retry, 0);
}

static void test_success_clears_username_only(void **state) {
  (void)state;
  char token[MK_SESSION_TOKEN_MAX], csrf[MK_SESSION_TOKEN_MAX];
  from("192.0.2.20");
  for (int i = 0; i < MK_CONSOLE_FAIL_MAX_USER - 1; i++)
    assert_mk_fails(try_login("zj.reviewer", "wrong password 1", token, csrf, NULL), MK_EAUTH);
  assert_mk_ok(try_login("zj.reviewer", PASSWORD, token, csrf, NULL));
  /* the username starts again: as many failures as before are allowed */
  for (int i = 0; i < MK_CONSOLE_FAIL_MAX_USER - 1; i++)
    assert_mk_fails(try_login("zj.reviewer", "wrong password 1", token, csrf, NULL), MK_EAUTH);
  assert_mk_ok(try_login("zj.reviewer", PASSWORD, token, csrf, NULL));
  /* the address kept its count: 2 * (MAX_USER - 1) failures so far */
  int left = MK_CONSOLE_FAIL_MAX_REMOTE - 2 * (MK_CONSOLE_FAIL_MAX_USER - 1);
  assert_true(left > 0);
  for (int i = 0; i < left; i++) {
    char user[32];
    snprintf(user, sizeof user, "guess.%d", i);
    assert_mk_fails(try_login(user, "wrong password 1", token, csrf, NULL), MK_EAUTH);
  }
  assert_mk_fails(try_login("zj.second", PASSWORD, token, csrf, NULL), MK_ERATE);
}

static void test_address_limit(void **state) {
  (void)state;
  char token[MK_SESSION_TOKEN_MAX], csrf[MK_SESSION_TOKEN_MAX];
  int64_t retry = -1;
  from("2001:db8::5");
  for (int i = 0; i < MK_CONSOLE_FAIL_MAX_REMOTE; i++) {
    char user[32];
    snprintf(user, sizeof user, "spray.%d", i);
    assert_mk_fails(try_login(user, "wrong password 1", token, csrf, NULL), MK_EAUTH);
  }
  now_value += 100;
  assert_mk_fails(try_login("zj.reviewer", PASSWORD, token, csrf, &retry), MK_ERATE);
  assert_int_equal(retry, MK_CONSOLE_FAIL_WINDOW - 100);
  /* another address may still log in */
  from("2001:db8::6");
  assert_mk_ok(try_login("zj.reviewer", PASSWORD, token, csrf, NULL));
  /* the window ends for the first address too */
  from("2001:db8::5");
  now_value += MK_CONSOLE_FAIL_WINDOW;
  assert_mk_ok(try_login("zj.reviewer", PASSWORD, token, csrf, NULL));
}

static void test_csrf_renew(void **state) {
  (void)state;
  char token[MK_SESSION_TOKEN_MAX], csrf[MK_SESSION_TOKEN_MAX], fresh[MK_SESSION_TOKEN_MAX];
  mk_err e = {0};
  from("192.0.2.30");
  assert_mk_ok(try_login("zj.reviewer", PASSWORD, token, csrf, NULL));
  from("192.0.2.30");
  assert_mk_ok(mk_svc_session_check(&fx.ctx, MK_SESSION_CONSOLE, token, NULL, 0, NULL, &e));
  int64_t before = count("SELECT count(*) FROM audit_event WHERE action = $1",
                         "ca_operator.console_csrf");
  assert_mk_ok(mk_svc_console_csrf_renew(&fx.ctx, fresh, &e));
  assert_string_not_equal(fresh, csrf);
  assert_int_equal(count("SELECT count(*) FROM audit_event WHERE action = $1",
                         "ca_operator.console_csrf"),
                   before + 1);
  /* the old token no longer authorises a change; the new one does */
  assert_mk_fails(mk_svc_session_check(&fx.ctx, MK_SESSION_CONSOLE, token, NULL, 1, csrf, &e),
                  MK_EPERM);
  assert_mk_ok(mk_svc_session_check(&fx.ctx, MK_SESSION_CONSOLE, token, NULL, 1, fresh, &e));
  /* nobody logged in, or a bearer session of mkey ca: no CSRF token */
  from("192.0.2.30");
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
  from("192.0.2.30");
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
  from("192.0.2.40");
  assert_mk_fails(mk_svc_console_session(&fx.ctx, &out, &e), MK_EAUTH);
  assert_null(out);
  assert_mk_ok(try_login("js.reviewer", PASSWORD, token, csrf, NULL));
  from("192.0.2.40");
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
      cmocka_unit_test_setup(test_username_limit, reset),
      cmocka_unit_test_setup(test_success_clears_username_only, reset),
      cmocka_unit_test_setup(test_address_limit, reset),
      cmocka_unit_test_setup(test_csrf_renew, reset),
      cmocka_unit_test_setup(test_whoami, reset),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
