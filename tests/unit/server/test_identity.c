/* Real-name verification, platforms and 我的 through svc/ without HTTP:
 * the sandbox rules, every validator with its field, each method (CFCA,
 * Alipay face with the sandbox result, bank card four elements), refusals,
 * one identity per account and per ID number, re-verification against the
 * stored identity and its one-time use, the per-account rate limit, the
 * http provider against a gateway served by libmicrohttpd in this test,
 * masking in every output and audit detail, the platform registry and
 * nearest search, and GET /v1/me's next step, roles and shortcuts. */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "providers/realname.h"
#include "svc_fixture.h"
#include "util/file.h"

/* INTEROP.md: valid GB 11643 check digits. */
#define ID1 "330402199003071237"
#define ID2 "320602198506154565"
#define ID3 "341802199209207894"
#define ID4 "310115198001011238"
#define ID5 "11010519491231002X"
#define ID6 "320602198506150011" /* check digits computed per GB 11643 */
#define ID7 "310115198001011254"
#define ID8 "330106198808081234"
#define ID_REFUSED "330402199003079992" /* sequence code 999: the sandbox refuses it */
#define CARD "6222021000123456781"      /* INTEROP.md: Luhn-valid */
#define CARD_PHONE "13812345678"

/* The accounts setup makes. */
static struct {
  char a[MK_ID_MAX], b[MK_ID_MAX], c[MK_ID_MAX], d[MK_ID_MAX], r[MK_ID_MAX], h[MK_ID_MAX];
} people;

static void make_account(const char *phone, char id[MK_ID_MAX]) {
  mk_err e = {0};
  assert_mk_ok(mk_id_new(id, "acc", &e));
  fx_add_account(id, phone);
}

static void as(const char *account_id) {
  fx_as_account(account_id);
  snprintf(fx.ctx.caller.device_id, sizeof fx.ctx.caller.device_id, "dev_test");
  fx.ctx.caller.request_id = "req_test";
}

/* Result of one svc call with a body. */
typedef struct res {
  int rc;
  json_t *out;
  char field[MK_JSON_FIELD_MAX];
  const char *ptype;
  mk_err e;
} res;

typedef int (*svc_fn)(mk_svc_ctx *, const json_t *, json_t **, char *, const char **, mk_err *);

static res call(svc_fn fn, json_t *body) {
  res r;
  memset(&r, 0, sizeof r);
  assert_non_null(body);
  r.rc = fn(&fx.ctx, body, &r.out, r.field, &r.ptype, &r.e);
  json_decref(body);
  return r;
}

static json_t *cfca(const char *name, const char *id) {
  return json_pack("{s:s,s:s,s:s}", "method", "cfca", "name", name, "id_number", id);
}

static json_t *bankcard(const char *name, const char *id, const char *card, const char *phone) {
  return json_pack("{s:s,s:s,s:s,s:s,s:s}", "method", "bankcard", "name", name, "id_number", id,
                   "card_number", card, "card_phone", phone);
}

static void expect_field(res r, int code, const char *field) {
  if (r.rc != code)
    fail_msg("rc %d (%s), want %d", r.rc, r.e.msg, code);
  assert_string_equal(r.field, field);
  json_decref(r.out);
}

static int setup(void **state) {
  (void)state;
  if (fx_open("idn", 0, 2) < 0)
    return -1;
  snprintf(fx.cfg.public_url, sizeof fx.cfg.public_url, "http://127.0.0.1:8080");
  make_account("13800000001", people.a);
  make_account("13800000002", people.b);
  make_account("13800000003", people.c);
  make_account("13800000004", people.d);
  make_account("13800000005", people.r);
  make_account("13800000006", people.h);
  return 0;
}

/* ---- the sandbox provider -------------------------------------------------- */

static void test_sandbox_rules(void **state) {
  (void)state;
  mk_realname *p = NULL;
  mk_err e = {0};
  int v = -1;
  char reason[MK_REALNAME_REASON_MAX], ref[MK_REALNAME_REF_MAX], url[MK_REALNAME_URL_MAX];
  assert_mk_ok(mk_realname_open(&fx.cfg, &p, &e));
  assert_string_equal(mk_realname_kind(p), "sandbox");
  mk_realname_subject ok = {.name = "张三", .id_number = ID1};
  assert_mk_ok(mk_realname_check(p, MK_REALNAME_CFCA, &ok, &v, reason, &e));
  assert_int_equal(v, MK_REALNAME_MATCH);
  mk_realname_subject bad_name = {.name = MK_REALNAME_SANDBOX_REFUSED_NAME, .id_number = ID1};
  assert_mk_ok(mk_realname_check(p, MK_REALNAME_CFCA, &bad_name, &v, reason, &e));
  assert_int_equal(v, MK_REALNAME_MISMATCH);
  assert_string_equal(reason, "姓名与身份证号不一致");
  mk_realname_subject bad_id = {.name = "张三", .id_number = ID_REFUSED};
  assert_mk_ok(mk_realname_check(p, MK_REALNAME_CFCA, &bad_id, &v, reason, &e));
  assert_int_equal(v, MK_REALNAME_MISMATCH);
  mk_realname_subject card = {.name = "张三", .id_number = ID1, .card_number = CARD,
                              .card_phone = CARD_PHONE};
  assert_mk_ok(mk_realname_check(p, MK_REALNAME_BANKCARD, &card, &v, reason, &e));
  assert_int_equal(v, MK_REALNAME_MATCH);
  card.card_phone = MK_REALNAME_SANDBOX_REFUSED_PHONE;
  assert_mk_ok(mk_realname_check(p, MK_REALNAME_BANKCARD, &card, &v, reason, &e));
  assert_int_equal(v, MK_REALNAME_MISMATCH);
  assert_string_equal(reason, "银行预留手机号不一致");
  /* A bank card check without the card is a caller's bug. */
  assert_mk_fails(mk_realname_check(p, MK_REALNAME_BANKCARD, &ok, &v, reason, &e), MK_EINTERNAL);
  /* Face: refused at once for the refused data; else pending until the
   * sandbox endpoint records an outcome. */
  assert_mk_ok(mk_realname_face_start(p, &bad_id, "fce_x", &v, reason, ref, url, &e));
  assert_int_equal(v, MK_REALNAME_MISMATCH);
  assert_mk_ok(mk_realname_face_start(p, &ok, "fce_y", &v, reason, ref, url, &e));
  assert_int_equal(v, MK_REALNAME_PENDING);
  assert_string_equal(ref, "fce_y");
  assert_string_equal(url, "http://127.0.0.1:8080/v1/sandbox/face-sessions/fce_y");
  assert_mk_ok(mk_realname_face_result(p, ref, NULL, &v, reason, &e));
  assert_int_equal(v, MK_REALNAME_PENDING);
  assert_mk_ok(mk_realname_face_result(p, ref, "pass", &v, reason, &e));
  assert_int_equal(v, MK_REALNAME_MATCH);
  assert_mk_ok(mk_realname_face_result(p, ref, "fail", &v, reason, &e));
  assert_int_equal(v, MK_REALNAME_MISMATCH);
  mk_realname_free(p);
  /* The sandbox never runs outside sandbox mode. */
  mk_config prod = fx.cfg;
  prod.sandbox = 0;
  snprintf(prod.realname, sizeof prod.realname, "sandbox");
  assert_mk_fails(mk_realname_open(&prod, &p, &e), MK_EINVAL);
  prod.realname[0] = '\0'; /* http by default outside sandbox, and no URL */
  assert_mk_fails(mk_realname_open(&prod, &p, &e), MK_ENET);
  assert_null(p);
}

/* ---- validators --------------------------------------------------------------- */

static void test_validators_name_fields(void **state) {
  (void)state;
  as(people.a);
  expect_field(call(mk_svc_realname_verify, json_pack("{s:s}", "name", "张三")), MK_EINVAL, "method");
  expect_field(call(mk_svc_realname_verify, json_pack("{s:s,s:s,s:s}", "method", "face", "name",
                                                      "张三", "id_number", ID1)),
               MK_EINVAL, "method");
  expect_field(call(mk_svc_realname_verify, cfca("张三", "330402199003071238")), MK_EINVAL,
               "id_number");
  expect_field(call(mk_svc_realname_verify, cfca("张三", "33040219900307123")), MK_EINVAL,
               "id_number");
  expect_field(call(mk_svc_realname_verify, cfca("", ID1)), MK_EINVAL, "name");
  expect_field(call(mk_svc_realname_verify, cfca("张\xe2\x80\x8b三", ID1)), MK_EINVAL, "name");
  expect_field(call(mk_svc_realname_verify, json_pack("{s:s,s:s}", "method", "cfca", "name", "张三")),
               MK_EINVAL, "id_number");
  expect_field(call(mk_svc_realname_verify,
                    bankcard("张三", ID1, "6222021000123456782", CARD_PHONE)),
               MK_EINVAL, "card_number");
  expect_field(call(mk_svc_realname_verify, bankcard("张三", ID1, CARD, "12812345678")),
               MK_EINVAL, "card_phone");
  expect_field(call(mk_svc_realname_verify,
                    json_pack("{s:s,s:s,s:s,s:s}", "method", "bankcard", "name", "张三",
                              "id_number", ID1, "card_number", CARD)),
               MK_EINVAL, "card_phone");
  expect_field(call(mk_svc_realname_verify,
                    json_pack("{s:s,s:s,s:s,s:s}", "method", "cfca", "name", "张三", "id_number",
                              ID1, "card_number", CARD)),
               MK_EINVAL, "card_number");
  expect_field(call(mk_svc_realname_verify, json_pack("{s:s}", "method", "alipay")), MK_EINVAL,
               "face_session_id");
  expect_field(call(mk_svc_realname_verify,
                    json_pack("{s:s,s:s}", "method", "alipay", "face_session_id", "acc_nope")),
               MK_EINVAL, "face_session_id");
  expect_field(call(mk_svc_realname_verify, json_pack("{s:s,s:s,s:s,s:s}", "method", "cfca",
                                                      "name", "张三", "id_number", ID1, "extra",
                                                      "x")),
               MK_EINVAL, "extra");
  /* Nothing reached a provider: no attempt, no identity. */
  assert_int_equal(fx_count("SELECT COUNT(*) FROM identity_attempt"), 0);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM identity"), 0);
  /* Anonymous callers are refused before anything else. */
  memset(&fx.ctx.caller, 0, sizeof fx.ctx.caller);
  res r = call(mk_svc_realname_verify, cfca("张三", ID1));
  assert_int_equal(r.rc, MK_EAUTH);
}

/* ---- CFCA, duplicates, masking ------------------------------------------------ */

static int contains(const json_t *v, const char *needle) {
  char *text = mk_json_dump(v);
  int found = text != NULL && strstr(text, needle) != NULL;
  free(text);
  return found;
}

static void test_verify_cfca(void **state) {
  (void)state;
  as(people.a);
  res r = call(mk_svc_realname_verify, cfca("张三", ID1));
  if (r.rc != 0)
    fail_msg("verify: %s", r.e.msg);
  assert_string_equal(json_string_value(json_object_get(r.out, "name")), "张三");
  assert_string_equal(json_string_value(json_object_get(r.out, "id_number")), "330402********1237");
  assert_string_equal(json_string_value(json_object_get(r.out, "method")), "cfca");
  assert_string_equal(json_string_value(json_object_get(r.out, "verified_at")),
                      "2026-11-30T00:53:20Z");
  assert_false(contains(r.out, ID1));
  json_decref(r.out);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM identity WHERE id_number = '" ID1 "'"), 1);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM identity_attempt WHERE outcome = 'match'"), 1);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM audit_event WHERE action = 'identity.verify'"),
                   1);
  /* Stored once: a second verification is the re-verification's job. */
  r = call(mk_svc_realname_verify, cfca("张三", ID1));
  assert_int_equal(r.rc, MK_ECONFLICT);
  assert_non_null(strstr(r.e.msg, "verifications"));
  /* GET /v1/me/identity shows it masked. */
  json_t *out = NULL;
  mk_err e = {0};
  assert_mk_ok(mk_svc_realname_get(&fx.ctx, &out, &e));
  assert_string_equal(json_string_value(json_object_get(out, "id_number")), "330402********1237");
  json_decref(out);
  as(people.b);
  assert_mk_fails(mk_svc_realname_get(&fx.ctx, &out, &e), MK_ENOTFOUND);
}

static void test_refused_and_duplicate(void **state) {
  (void)state;
  as(people.b);
  res r = call(mk_svc_realname_verify, cfca(MK_REALNAME_SANDBOX_REFUSED_NAME, ID2));
  assert_int_equal(r.rc, MK_EPERM);
  assert_string_equal(r.ptype, "/problems/identity-refused");
  assert_non_null(strstr(r.e.msg, "姓名与身份证号不一致"));
  r = call(mk_svc_realname_verify, cfca("李四", ID_REFUSED));
  assert_int_equal(r.rc, MK_EPERM);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM identity"), 1);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM audit_event WHERE action = 'identity.refused'"),
                   2);
  /* A's ID number on B: the provider agrees (sandbox), the store refuses. */
  r = call(mk_svc_realname_verify, cfca("张三", ID1));
  assert_int_equal(r.rc, MK_ECONFLICT);
  assert_string_equal(r.field, "id_number");
  assert_non_null(strstr(r.e.msg, "another account"));
  assert_int_equal(fx_count("SELECT COUNT(*) FROM identity"), 1);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM audit_event WHERE action = 'identity.duplicate'"),
                   1);
  /* A lower-case check character is folded before the check. */
  r = call(mk_svc_realname_verify, cfca("李四", "11010519491231002x"));
  if (r.rc != 0)
    fail_msg("lower-case x: %s", r.e.msg);
  assert_string_equal(json_string_value(json_object_get(r.out, "id_number")), "110105********002X");
  json_decref(r.out);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM identity WHERE id_number = '" ID5 "'"), 1);
}

static void test_verify_bankcard(void **state) {
  (void)state;
  as(people.c);
  res r = call(mk_svc_realname_verify,
               bankcard("王五", ID2, CARD, MK_REALNAME_SANDBOX_REFUSED_PHONE));
  assert_int_equal(r.rc, MK_EPERM);
  assert_non_null(strstr(r.e.msg, "银行预留手机号不一致"));
  r = call(mk_svc_realname_verify, bankcard("王五", ID2, CARD, CARD_PHONE));
  if (r.rc != 0)
    fail_msg("bankcard: %s", r.e.msg);
  assert_string_equal(json_string_value(json_object_get(r.out, "method")), "bankcard");
  assert_false(contains(r.out, CARD));
  assert_false(contains(r.out, ID2));
  json_decref(r.out);
  /* The audit trail has the masked card, never the number. */
  assert_int_equal(
      fx_count("SELECT COUNT(*) FROM audit_event WHERE detail LIKE '%6222***********6781%'"), 2);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM audit_event WHERE detail LIKE '%" CARD "%' OR "
                            "detail LIKE '%" ID1 "%' OR detail LIKE '%" ID2 "%'"),
                   0);
}

/* ---- Alipay face ------------------------------------------------------------------ */

static char *face_start(const char *name, const char *id) {
  res r = call(mk_svc_realname_face_start, json_pack("{s:s,s:s}", "name", name, "id_number", id));
  if (r.rc != 0)
    fail_msg("face start: %s", r.e.msg);
  assert_string_equal(json_string_value(json_object_get(r.out, "state")), "pending");
  char *id_out = strdup(json_string_value(json_object_get(r.out, "face_session_id")));
  const char *url = json_string_value(json_object_get(r.out, "url"));
  assert_non_null(strstr(url, "/v1/sandbox/face-sessions/fce_"));
  json_decref(r.out);
  return id_out;
}

static int face_result(const char *fid, const char *outcome) {
  json_t *out = NULL;
  char field[MK_JSON_FIELD_MAX] = "";
  mk_err e = {0};
  json_t *b = json_pack("{s:s}", "outcome", outcome);
  int rc = mk_svc_realname_face_sandbox(&fx.ctx, fid, b, &out, field, &e);
  json_decref(b);
  json_decref(out);
  return rc;
}

static json_t *alipay(const char *fid) {
  return json_pack("{s:s,s:s}", "method", "alipay", "face_session_id", fid);
}

static void test_verify_alipay(void **state) {
  (void)state;
  as(people.d);
  mk_err e = {0};
  json_t *out = NULL;
  /* Refused name: no session at all. */
  res r = call(mk_svc_realname_face_start,
               json_pack("{s:s,s:s}", "name", MK_REALNAME_SANDBOX_REFUSED_NAME, "id_number", ID3));
  assert_int_equal(r.rc, MK_EPERM);
  assert_string_equal(r.ptype, "/problems/identity-refused");
  expect_field(call(mk_svc_realname_face_start,
                    json_pack("{s:s,s:s}", "name", "赵六", "id_number", "341802199209207895")),
               MK_EINVAL, "id_number");

  char *f1 = face_start("赵六", ID3);
  /* Not finished yet. */
  r = call(mk_svc_realname_verify, alipay(f1));
  assert_int_equal(r.rc, MK_ECONFLICT);
  assert_mk_ok(mk_svc_realname_face_get(&fx.ctx, f1, &out, &e));
  assert_string_equal(json_string_value(json_object_get(out, "state")), "pending");
  json_decref(out);
  /* The face does not match. */
  assert_mk_ok(face_result(f1, "fail"));
  assert_mk_fails(face_result(f1, "pass"), MK_ECONFLICT); /* recorded once */
  r = call(mk_svc_realname_verify, alipay(f1));
  assert_int_equal(r.rc, MK_EPERM);
  assert_non_null(strstr(r.e.msg, "人脸比对不通过"));
  assert_mk_ok(mk_svc_realname_face_get(&fx.ctx, f1, &out, &e));
  assert_string_equal(json_string_value(json_object_get(out, "state")), "failed");
  json_decref(out);

  /* A new session that passes; the given name must be the session's. */
  char *f2 = face_start("赵六", ID3);
  assert_mk_fails(face_result(f2, "maybe"), MK_EINVAL);
  assert_mk_ok(face_result(f2, "pass"));
  expect_field(call(mk_svc_realname_verify,
                    json_pack("{s:s,s:s,s:s}", "method", "alipay", "face_session_id", f2, "name",
                              "赵七")),
               MK_EINVAL, "name");
  /* Another account cannot use it. */
  as(people.h);
  expect_field(call(mk_svc_realname_verify, alipay(f2)), MK_EINVAL, "face_session_id");
  assert_mk_fails(mk_svc_realname_face_get(&fx.ctx, f2, &out, &e), MK_ENOTFOUND);
  as(people.d);
  r = call(mk_svc_realname_verify, alipay(f2));
  if (r.rc != 0)
    fail_msg("alipay: %s", r.e.msg);
  assert_string_equal(json_string_value(json_object_get(r.out, "method")), "alipay");
  assert_string_equal(json_string_value(json_object_get(r.out, "name")), "赵六");
  json_decref(r.out);
  assert_mk_ok(mk_svc_realname_face_get(&fx.ctx, f2, &out, &e));
  assert_string_equal(json_string_value(json_object_get(out, "state")), "used");
  json_decref(out);

  /* Expiry: a session older than MK_FACE_SESSION_TTL is refused. */
  as(people.h);
  char *f3 = face_start("孙八", ID4);
  assert_mk_ok(face_result(f3, "pass"));
  fx.clock += MK_FACE_SESSION_TTL + 1;
  r = call(mk_svc_realname_verify, alipay(f3));
  assert_int_equal(r.rc, MK_EEXPIRED);
  assert_mk_ok(mk_svc_realname_face_get(&fx.ctx, f3, &out, &e));
  assert_string_equal(json_string_value(json_object_get(out, "state")), "expired");
  json_decref(out);
  char *f4 = face_start("孙八", ID4);
  fx.clock += MK_FACE_SESSION_TTL + 1;
  assert_mk_fails(face_result(f4, "pass"), MK_ECONFLICT);
  /* Outside sandbox mode the sandbox endpoint does not exist. */
  fx.cfg.sandbox = 0;
  assert_mk_fails(face_result(f4, "pass"), MK_ENOTFOUND);
  fx.cfg.sandbox = 1;
  assert_mk_fails(face_result("fce_notanid", "pass"), MK_ENOTFOUND);
  free(f1);
  free(f2);
  free(f3);
  free(f4);
}

/* ---- re-verification ------------------------------------------------------------ */

static void test_reverify(void **state) {
  (void)state;
  mk_err e = {0};
  mk_db *db = NULL;
  as(people.a); /* verified by CFCA as 张三 / ID1 */
  res r = call(mk_svc_realname_reverify, cfca("张三", ID1));
  if (r.rc != 0)
    fail_msg("reverify: %s", r.e.msg);
  assert_true(json_is_true(json_object_get(r.out, "match")));
  char vid[MK_ID_MAX];
  snprintf(vid, sizeof vid, "%s", json_string_value(json_object_get(r.out, "verification_id")));
  assert_mk_ok(mk_id_check(vid, "idv", &e));
  json_decref(r.out);
  /* Another method for the same person matches too. */
  r = call(mk_svc_realname_reverify, bankcard("张三", ID1, CARD, CARD_PHONE));
  assert_int_equal(r.rc, 0);
  json_decref(r.out);
  /* Someone else's data: refused before any provider, counted. */
  int64_t before = fx_count("SELECT COUNT(*) FROM identity_attempt");
  r = call(mk_svc_realname_reverify, cfca("张三", ID2));
  assert_int_equal(r.rc, MK_EPERM);
  assert_string_equal(r.ptype, "/problems/identity-mismatch");
  r = call(mk_svc_realname_reverify, cfca("张叁", ID1));
  assert_int_equal(r.rc, MK_EPERM);
  assert_string_equal(r.ptype, "/problems/identity-mismatch");
  assert_int_equal(fx_count("SELECT COUNT(*) FROM identity_attempt"), before + 2);
  assert_int_equal(
      fx_count("SELECT COUNT(*) FROM audit_event WHERE action = 'identity.reverify_mismatch'"), 2);
  /* A never-verified account has nothing to match. */
  as(people.r);
  r = call(mk_svc_realname_reverify, cfca("周九", ID4));
  assert_int_equal(r.rc, MK_ECONFLICT);

  /* Recovery consumes a verification once, only its owner's, only fresh. */
  as(people.a);
  assert_mk_ok(mk_store_acquire(fx.store, &db, &e));
  assert_mk_ok(mk_db_begin(db, &e));
  assert_mk_ok(mk_svc_realname_consume(&fx.ctx, db, vid, 3600, &e));
  assert_mk_fails(mk_svc_realname_consume(&fx.ctx, db, vid, 3600, &e), MK_EPERM);
  assert_mk_fails(mk_svc_realname_consume(&fx.ctx, db, "idv_nope", 3600, &e), MK_EPERM);
  assert_mk_ok(mk_db_commit(db, &e));
  mk_store_release(fx.store, db);
  r = call(mk_svc_realname_reverify, cfca("张三", ID1));
  assert_int_equal(r.rc, 0);
  snprintf(vid, sizeof vid, "%s", json_string_value(json_object_get(r.out, "verification_id")));
  json_decref(r.out);
  as(people.b);
  assert_mk_ok(mk_store_acquire(fx.store, &db, &e));
  assert_mk_ok(mk_db_begin(db, &e));
  assert_mk_fails(mk_svc_realname_consume(&fx.ctx, db, vid, 3600, &e), MK_EPERM);
  as(people.a);
  fx.clock += 3601;
  assert_mk_fails(mk_svc_realname_consume(&fx.ctx, db, vid, 3600, &e), MK_EPERM);
  mk_db_rollback(db);
  mk_store_release(fx.store, db);

  /* Alipay re-verification: the face session's person must be the stored
   * one (赵六 / ID3 for account d). */
  as(people.d);
  char *f = face_start("赵六", ID3);
  assert_mk_ok(face_result(f, "pass"));
  r = call(mk_svc_realname_reverify, alipay(f));
  if (r.rc != 0)
    fail_msg("alipay reverify: %s", r.e.msg);
  assert_non_null(json_object_get(r.out, "verification_id"));
  json_decref(r.out);
  free(f);
  f = face_start("赵七", ID2);
  assert_mk_ok(face_result(f, "pass"));
  r = call(mk_svc_realname_reverify, alipay(f));
  assert_int_equal(r.rc, MK_EPERM);
  assert_string_equal(r.ptype, "/problems/identity-mismatch");
  free(f);
}

/* ---- rate limit ----------------------------------------------------------------- */

static void test_rate_limit(void **state) {
  (void)state;
  as(people.r);
  int64_t used =
      fx_count("SELECT COUNT(*) FROM identity_attempt WHERE account_id IN (SELECT id FROM "
               "account WHERE phone = '13800000005')");
  for (int64_t i = used; i < MK_REALNAME_ATTEMPTS_MAX; i++) {
    res r = call(mk_svc_realname_verify, cfca(MK_REALNAME_SANDBOX_REFUSED_NAME, ID4));
    assert_int_equal(r.rc, MK_EPERM);
  }
  res r = call(mk_svc_realname_verify, cfca("周九", ID4));
  assert_int_equal(r.rc, MK_ERATE);
  r = call(mk_svc_realname_face_start, json_pack("{s:s,s:s}", "name", "周九", "id_number", ID4));
  assert_int_equal(r.rc, MK_ERATE);
  /* Other accounts are not affected. */
  as(people.h);
  r = call(mk_svc_realname_verify, cfca(MK_REALNAME_SANDBOX_REFUSED_NAME, ID4));
  assert_int_equal(r.rc, MK_EPERM);
  /* The window passes. */
  as(people.r);
  fx.clock += MK_REALNAME_ATTEMPT_WINDOW;
  r = call(mk_svc_realname_verify, cfca("周九", ID4));
  if (r.rc != 0)
    fail_msg("after the window: %s", r.e.msg);
  json_decref(r.out);
}

/* ---- the http provider against a gateway -------------------------------------------- */

static const char *gw_face_state = "pending";

struct gw_req {
  char body[4096];
  size_t len;
};

static enum MHD_Result gw_answer(struct MHD_Connection *c, unsigned status, const char *json) {
  struct MHD_Response *r =
      MHD_create_response_from_buffer(strlen(json), (void *)json, MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(r, "Content-Type", "application/json");
  enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result gw(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                          const char *version, const char *data, size_t *size, void **ctx) {
  (void)cls;
  (void)version;
  struct gw_req *q = *ctx;
  if (q == NULL) {
    *ctx = calloc(1, sizeof *q);
    return *ctx ? MHD_YES : MHD_NO;
  }
  if (*size > 0) {
    size_t n = *size < sizeof q->body - 1 - q->len ? *size : sizeof q->body - 1 - q->len;
    memcpy(q->body + q->len, data, n);
    q->len += n;
    *size = 0;
    return MHD_YES;
  }
  const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
  if (auth == NULL || strcmp(auth, "Bearer gw-secret") != 0)
    return gw_answer(c, 401, "{\"error\":\"token\"}");
  if (strcmp(method, "POST") == 0 && strcmp(url, "/gw/v1/cfca-verifications") == 0) {
    if (strstr(q->body, "\"王五\"") != NULL)
      return gw_answer(c, 500, "{\"error\":\"down\"}");
    if (strstr(q->body, "\"赵六\"") != NULL)
      return gw_answer(c, 200, "{\"result\":\"maybe\"}");
    if (strstr(q->body, "\"李四\"") != NULL)
      return gw_answer(c, 200, "{\"result\":\"mismatch\",\"reason\":\"公安库比对不一致\"}");
    if (strstr(q->body, "\"钱七\"") != NULL)
      return gw_answer(c, 200, "{\"result\":\"mismatch\",\"reason\":\"\"}");
    if (strstr(q->body, "\"孙八\"") != NULL)
      return gw_answer(c, 200, "{\"result\":\"mismatch\",\"reason\":\"   \"}");
    return gw_answer(c, 200, "{\"result\":\"match\"}");
  }
  if (strcmp(method, "POST") == 0 && strcmp(url, "/gw/v1/bankcard-verifications") == 0)
    return gw_answer(c, 200, strstr(q->body, "\"card_number\":\"" CARD "\"") != NULL &&
                                     strstr(q->body, "\"phone\":\"" CARD_PHONE "\"") != NULL
                                 ? "{\"result\":\"match\"}"
                                 : "{\"result\":\"mismatch\"}");
  if (strcmp(method, "POST") == 0 && strcmp(url, "/gw/v1/face-certifications") == 0)
    return gw_answer(c, 200,
                     "{\"certify_id\":\"cert-123\",\"url\":\"https://render.alipay.com/p/c/abc\"}");
  if (strcmp(method, "GET") == 0 && strcmp(url, "/gw/v1/face-certifications/cert-123") == 0) {
    char buf[64];
    snprintf(buf, sizeof buf, "{\"result\":\"%s\"}", gw_face_state);
    return gw_answer(c, 200, buf);
  }
  return gw_answer(c, 404, "{}");
}

static void gw_done(void *cls, struct MHD_Connection *c, void **ctx,
                    enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)c;
  (void)toe;
  free(*ctx);
  *ctx = NULL;
}

static void test_http_provider(void **state) {
  (void)state;
  struct MHD_Daemon *d =
      MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, gw, NULL,
                       MHD_OPTION_NOTIFY_COMPLETED, gw_done, NULL, MHD_OPTION_END);
  assert_non_null(d);
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  assert_non_null(info);
  unsigned port = (unsigned)info->port;
  mk_config cfg = fx.cfg;
  mk_err e = {0};
  char tok[128];
  snprintf(cfg.realname, sizeof cfg.realname, "http");
  snprintf(cfg.realname_url, sizeof cfg.realname_url, "http://127.0.0.1:%u/gw", port);
  snprintf(tok, sizeof tok, "%s/gw.token", fx.dir);
  assert_mk_ok(mk_file_write_private(tok, "gw-secret\n", 10, 0, &e));
  snprintf(cfg.realname_token_file, sizeof cfg.realname_token_file, "%s", tok);
  cfg.realname_timeout_ms = 5000;

  mk_realname *p = NULL;
  int v = -1;
  char reason[MK_REALNAME_REASON_MAX], ref[MK_REALNAME_REF_MAX], url[MK_REALNAME_URL_MAX];
  assert_mk_ok(mk_realname_open(&cfg, &p, &e));
  assert_string_equal(mk_realname_kind(p), "http");
  mk_realname_subject s = {.name = "张三", .id_number = ID1};
  assert_mk_ok(mk_realname_check(p, MK_REALNAME_CFCA, &s, &v, reason, &e));
  assert_int_equal(v, MK_REALNAME_MATCH);
  s.name = "李四";
  assert_mk_ok(mk_realname_check(p, MK_REALNAME_CFCA, &s, &v, reason, &e));
  assert_int_equal(v, MK_REALNAME_MISMATCH);
  assert_string_equal(reason, "公安库比对不一致");
  s.name = "钱七"; /* an empty reason: the user still reads why */
  assert_mk_ok(mk_realname_check(p, MK_REALNAME_CFCA, &s, &v, reason, &e));
  assert_int_equal(v, MK_REALNAME_MISMATCH);
  assert_string_equal(reason, "身份信息核验不通过");
  s.name = "孙八"; /* a blank one */
  assert_mk_ok(mk_realname_check(p, MK_REALNAME_CFCA, &s, &v, reason, &e));
  assert_string_equal(reason, "身份信息核验不通过");
  s.name = "王五"; /* the gateway fails: upstream failure, not a refusal */
  assert_mk_fails(mk_realname_check(p, MK_REALNAME_CFCA, &s, &v, reason, &e), MK_EPROTO);
  assert_non_null(strstr(e.msg, "HTTP 500"));
  s.name = "赵六"; /* an answer outside the contract */
  assert_mk_fails(mk_realname_check(p, MK_REALNAME_CFCA, &s, &v, reason, &e), MK_EPROTO);
  s = (mk_realname_subject){.name = "张三", .id_number = ID1, .card_number = CARD,
                            .card_phone = CARD_PHONE};
  assert_mk_ok(mk_realname_check(p, MK_REALNAME_BANKCARD, &s, &v, reason, &e));
  assert_int_equal(v, MK_REALNAME_MATCH);
  s.card_phone = "13912345678";
  assert_mk_ok(mk_realname_check(p, MK_REALNAME_BANKCARD, &s, &v, reason, &e));
  assert_int_equal(v, MK_REALNAME_MISMATCH);
  assert_string_equal(reason, "身份信息核验不通过");
  assert_mk_ok(mk_realname_face_start(p, &s, "fce_abc", &v, reason, ref, url, &e));
  assert_int_equal(v, MK_REALNAME_PENDING);
  assert_string_equal(ref, "cert-123");
  assert_string_equal(url, "https://render.alipay.com/p/c/abc");
  gw_face_state = "pending";
  assert_mk_ok(mk_realname_face_result(p, ref, "pass", &v, reason, &e)); /* hint ignored */
  assert_int_equal(v, MK_REALNAME_PENDING);
  gw_face_state = "match";
  assert_mk_ok(mk_realname_face_result(p, ref, NULL, &v, reason, &e));
  assert_int_equal(v, MK_REALNAME_MATCH);
  mk_realname_free(p);

  /* Through the service, a fresh account verified via the gateway. */
  char acc[MK_ID_MAX];
  make_account("13800000007", acc);
  as(acc);
  const mk_config *saved = fx.ctx.cfg;
  fx.ctx.cfg = &cfg;
  res r = call(mk_svc_realname_verify, cfca("王五", ID6)); /* the gateway fails: 502 */
  assert_int_equal(r.rc, MK_EPROTO);
  r = call(mk_svc_realname_verify, cfca("李四", ID4));
  assert_int_equal(r.rc, MK_EPERM);
  assert_non_null(strstr(r.e.msg, "公安库比对不一致"));
  gw_face_state = "match";
  r = call(mk_svc_realname_face_start, json_pack("{s:s,s:s}", "name", "郑十一", "id_number", ID8));
  assert_int_equal(r.rc, 0);
  assert_string_equal(json_string_value(json_object_get(r.out, "url")),
                      "https://render.alipay.com/p/c/abc");
  char fid[MK_ID_MAX];
  snprintf(fid, sizeof fid, "%s", json_string_value(json_object_get(r.out, "face_session_id")));
  json_decref(r.out);
  r = call(mk_svc_realname_verify, alipay(fid));
  if (r.rc != 0)
    fail_msg("alipay through the gateway: %s", r.e.msg);
  json_decref(r.out);
  /* A wrong token: the gateway's 401 is an upstream failure (502). */
  assert_mk_ok(mk_file_write_private(tok, "wrong", 5, 0, &e));
  as(people.h);
  r = call(mk_svc_realname_verify, cfca("周九", ID5));
  assert_int_equal(r.rc, MK_EPROTO);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM identity_attempt WHERE outcome = 'error'"), 2);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM identity WHERE id_number = '" ID6 "'"), 0);
  fx.ctx.cfg = saved;
  MHD_stop_daemon(d);

  /* Nobody listening: MK_ENET. */
  snprintf(cfg.realname_url, sizeof cfg.realname_url, "http://127.0.0.1:%u/gw", port);
  assert_mk_ok(mk_realname_open(&cfg, &p, &e));
  s = (mk_realname_subject){.name = "张三", .id_number = ID1};
  assert_mk_fails(mk_realname_check(p, MK_REALNAME_CFCA, &s, &v, reason, &e), MK_ENET);
  mk_realname_free(p);
  /* A token file others may read is refused. */
  assert_int_equal(chmod(tok, 0644), 0);
  assert_mk_fails(mk_realname_open(&cfg, &p, &e), MK_EPERM);
}

/* ---- platforms -------------------------------------------------------------------- */

static json_t *item_by_id(const json_t *items, const char *id) {
  size_t i;
  json_t *v;
  json_array_foreach(items, i, v) {
    if (strcmp(json_string_value(json_object_get(v, "id")), id) == 0)
      return v;
  }
  return NULL;
}

static void test_platforms(void **state) {
  (void)state;
  json_t *out = NULL;
  mk_err e = {0};
  assert_mk_ok(mk_svc_platform_list(&fx.ctx, NULL, NULL, 100, &out, &e));
  json_t *items = json_object_get(out, "items");
  assert_true(json_array_size(items) >= 25);
  json_t *jx = item_by_id(items, "plt_jiaxing");
  assert_non_null(jx);
  assert_string_equal(json_string_value(json_object_get(jx, "province")), "浙江");
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(jx, "alliance"), "id")), "plt_csj_alliance");
  json_t *csj = item_by_id(items, "plt_csj_alliance");
  assert_string_equal(json_string_value(json_object_get(csj, "kind")), "alliance");
  assert_string_equal(json_string_value(json_object_get(csj, "name")), "长三角CA互认平台");
  json_t *members = json_object_get(csj, "members");
  assert_non_null(item_by_id(members, "plt_jiaxing"));
  assert_non_null(item_by_id(members, "plt_nantong"));
  assert_non_null(item_by_id(members, "plt_xuancheng"));
  assert_null(item_by_id(members, "plt_hangzhou"));
  json_decref(out);
  /* Province filter, with or without 省. */
  const char *provs[] = {"浙江", "浙江省"};
  for (int k = 0; k < 2; k++) {
    assert_mk_ok(mk_svc_platform_list(&fx.ctx, provs[k], NULL, 100, &out, &e));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(out, "items"), i, v)
        assert_string_equal(json_string_value(json_object_get(v, "province")), "浙江");
    assert_true(json_array_size(json_object_get(out, "items")) >= 8);
    json_decref(out);
  }
  assert_mk_ok(mk_svc_platform_list(&fx.ctx, "西藏", NULL, 100, &out, &e));
  assert_int_equal(json_array_size(json_object_get(out, "items")), 0);
  json_decref(out);
  /* Pages. */
  assert_mk_ok(mk_svc_platform_list(&fx.ctx, "江苏", NULL, 3, &out, &e));
  assert_int_equal(json_array_size(json_object_get(out, "items")), 3);
  char next[64];
  snprintf(next, sizeof next, "%s", json_string_value(json_object_get(out, "next_cursor")));
  json_decref(out);
  assert_mk_ok(mk_svc_platform_list(&fx.ctx, "江苏", next, 100, &out, &e));
  assert_true(strcmp(json_string_value(json_object_get(
                         json_array_get(json_object_get(out, "items"), 0), "id")),
                     next) > 0);
  assert_true(json_is_null(json_object_get(out, "next_cursor")));
  json_decref(out);
  assert_mk_fails(mk_svc_platform_list(&fx.ctx, NULL, NULL, 0, &out, &e), MK_EINVAL);
  assert_mk_ok(mk_svc_platform_get(&fx.ctx, "plt_csj_alliance", &out, &e));
  assert_int_equal(json_array_size(json_object_get(out, "members")), 3);
  json_decref(out);
  assert_mk_fails(mk_svc_platform_get(&fx.ctx, "plt_nowhere", &out, &e), MK_ENOTFOUND);
}

static void test_distance_and_degrees(void **state) {
  (void)state;
  mk_err e = {0};
  int64_t v = 0;
  /* Shanghai (31.2304, 121.4737) to Beijing (39.9042, 116.4074): 1067 km
   * by the haversine formula on the IUGG mean sphere. */
  double km = mk_svc_distance_km(31230400, 121473700, 39904200, 116407400);
  assert_true(km > 1066.0 && km < 1069.0);
  assert_true(mk_svc_distance_km(30746900, 120755500, 30746900, 120755500) == 0.0);
  /* Antipodes: half the circumference. */
  km = mk_svc_distance_km(0, 0, 0, 180000000);
  assert_true(km > 20015.0 && km < 20016.0);
  assert_mk_ok(mk_svc_parse_degrees("30.7469", 90, &v, &e));
  assert_int_equal(v, 30746900);
  assert_mk_ok(mk_svc_parse_degrees("-120", 180, &v, &e));
  assert_int_equal(v, -120000000);
  assert_mk_ok(mk_svc_parse_degrees("+0.0000005", 90, &v, &e));
  assert_int_equal(v, 1);
  assert_mk_ok(mk_svc_parse_degrees("90", 90, &v, &e));
  const char *bad[] = {"90.0000001", "-180.5", "1e2", "0x1p3", "nan", "inf", "", "30.", ".5",
                       "30.12345678", "3 0", "--1", "1000", "30,5"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (mk_svc_parse_degrees(bad[i], i == 1 ? 180 : 90, &v, &e) != MK_EINVAL)
      fail_msg("'%s' was accepted", bad[i]);
}

static void test_nearest(void **state) {
  (void)state;
  json_t *out = NULL;
  mk_err e = {0};
  /* At 嘉兴's trading centre: 嘉兴 first, with its alliance. */
  assert_mk_ok(mk_svc_platform_nearest(&fx.ctx, 30750000, 120760000, 3, &out, &e));
  json_t *items = json_object_get(out, "items");
  assert_int_equal(json_array_size(items), 3);
  json_t *first = json_array_get(items, 0);
  assert_string_equal(json_string_value(json_object_get(first, "id")), "plt_jiaxing");
  assert_true(json_real_value(json_object_get(first, "distance_km")) < 1.0);
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(first, "alliance"), "name")),
      "长三角CA互认平台");
  /* Sorted by distance; the alliance itself is not a place. */
  double prev = -1;
  size_t i;
  json_t *v;
  json_array_foreach(items, i, v) {
    double d = json_real_value(json_object_get(v, "distance_km"));
    assert_true(d >= prev);
    prev = d;
    assert_string_equal(json_string_value(json_object_get(v, "kind")), "platform");
  }
  json_decref(out);
  /* 南通 and 宣城 likewise; 合肥 has no alliance. */
  assert_mk_ok(mk_svc_platform_nearest(&fx.ctx, 31980000, 120890000, 1, &out, &e));
  assert_string_equal(json_string_value(json_object_get(
                          json_array_get(json_object_get(out, "items"), 0), "id")),
                      "plt_nantong");
  json_decref(out);
  assert_mk_ok(mk_svc_platform_nearest(&fx.ctx, 30940000, 118760000, 1, &out, &e));
  assert_string_equal(json_string_value(json_object_get(
                          json_array_get(json_object_get(out, "items"), 0), "id")),
                      "plt_xuancheng");
  json_decref(out);
  assert_mk_ok(mk_svc_platform_nearest(&fx.ctx, 31820000, 117230000, 1, &out, &e));
  first = json_array_get(json_object_get(out, "items"), 0);
  assert_string_equal(json_string_value(json_object_get(first, "id")), "plt_hefei");
  assert_true(json_is_null(json_object_get(first, "alliance")));
  json_decref(out);
  /* Far away still answers, with the distance. */
  assert_mk_ok(mk_svc_platform_nearest(&fx.ctx, -33868800, 151209300, 1, &out, &e));
  assert_true(json_real_value(json_object_get(json_array_get(json_object_get(out, "items"), 0),
                                              "distance_km")) > 7000.0);
  json_decref(out);
  assert_mk_fails(mk_svc_platform_nearest(&fx.ctx, 90000001, 0, 3, &out, &e), MK_EINVAL);
  assert_mk_fails(mk_svc_platform_nearest(&fx.ctx, 0, -180000001, 3, &out, &e), MK_EINVAL);
  assert_mk_fails(mk_svc_platform_nearest(&fx.ctx, 0, 0, 11, &out, &e), MK_EINVAL);
  assert_mk_fails(mk_svc_platform_nearest(&fx.ctx, 0, 0, 0, &out, &e), MK_EINVAL);
}

static void test_select_platform(void **state) {
  (void)state;
  json_t *out = NULL, *b = NULL;
  char field[MK_JSON_FIELD_MAX] = "";
  mk_err e = {0};
  as(people.b);
  b = json_pack("{s:s}", "platform_id", "plt_nowhere");
  assert_mk_fails(mk_svc_platform_select(&fx.ctx, b, &out, field, &e), MK_EINVAL);
  assert_string_equal(field, "platform_id");
  json_decref(b);
  b = json_pack("{s:s}", "platform_id", "plt_csj_alliance");
  assert_mk_ok(mk_svc_platform_select(&fx.ctx, b, &out, field, &e));
  json_decref(b);
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(out, "platform"), "name")),
      "长三角CA互认平台");
  json_decref(out);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM account WHERE platform_id = 'plt_csj_alliance'"),
                   1);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM audit_event WHERE action = 'account.platform'"),
                   1);
  assert_mk_ok(mk_svc_me_get(&fx.ctx, &out, &e));
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(out, "platform"), "id")),
      "plt_csj_alliance");
  json_decref(out);
  memset(&fx.ctx.caller, 0, sizeof fx.ctx.caller);
  b = json_pack("{s:s}", "platform_id", "plt_jiaxing");
  assert_mk_fails(mk_svc_platform_select(&fx.ctx, b, &out, field, &e), MK_EAUTH);
  json_decref(b);
}

/* ---- 我的 ------------------------------------------------------------------------- */

static const char *next_step_of(const char *account) {
  static char step[32];
  json_t *out = NULL;
  mk_err e = {0};
  as(account);
  assert_mk_ok(mk_svc_me_get(&fx.ctx, &out, &e));
  json_t *s = json_object_get(out, "next_step");
  snprintf(step, sizeof step, "%s", json_is_null(s) ? "null" : json_string_value(s));
  json_decref(out);
  return step;
}

static void app_row(const char *id, const char *account, const char *state) {
  char sql[8192];
  snprintf(sql, sizeof sql,
           "INSERT INTO application(id, kind, state, account_id, data, version, created_at, "
           "updated_at) VALUES ('%s', 'personal', '%s', '%s', '{}', 1, '2026-11-30T00:00:00Z', "
           "'2026-11-30T00:00:00Z')",
           id, state, account);
  fx_exec(sql);
}

static void test_me(void **state) {
  (void)state;
  json_t *out = NULL;
  mk_err e = {0};
  char acc[MK_ID_MAX], sql[2048];
  make_account("13900001111", acc);
  as(acc);
  assert_mk_ok(mk_svc_me_get(&fx.ctx, &out, &e));
  assert_string_equal(json_string_value(json_object_get(out, "phone")), "13900001111");
  assert_true(json_is_null(json_object_get(out, "identity")));
  assert_true(json_is_null(json_object_get(out, "platform")));
  assert_string_equal(json_string_value(json_object_get(out, "next_step")), "verify");
  assert_string_equal(json_string_value(json_object_get(out, "next_step_label")), "去认证");
  assert_int_equal(json_integer_value(json_object_get(out, "unread_messages")), 0);
  assert_int_equal(json_array_size(json_object_get(out, "roles")), 1);
  assert_string_equal(json_string_value(json_array_get(json_object_get(out, "roles"), 0)),
                      "person");
  assert_int_equal(json_array_size(json_object_get(out, "enterprises")), 0);
  assert_string_equal(json_string_value(json_object_get(out, "service_phone")), "0512-58188000");
  assert_int_equal(json_array_size(json_object_get(out, "shortcuts")), 4);
  json_decref(out);

  res r = call(mk_svc_realname_verify, cfca("吴十", ID7));
  json_decref(r.out);
  if (r.rc != 0)
    fail_msg("verify for me: %s", r.e.msg);
  assert_string_equal(next_step_of(acc), "apply");
  assert_mk_ok(mk_svc_me_get(&fx.ctx, &out, &e));
  assert_string_equal(json_string_value(json_object_get(json_object_get(out, "identity"), "name")),
                      "吴十");
  assert_non_null(strstr(json_string_value(json_object_get(json_object_get(out, "identity"),
                                                           "id_number")),
                         "********"));
  json_decref(out);
  /* A refused or cancelled application leaves 去申请; one under review
   * leaves nothing to do; one to pay or download is 去下载. */
  snprintf(sql, sizeof sql, "apl_%s_1", acc + 4);
  app_row(sql, acc, MK_APP_CANCELLED);
  assert_string_equal(next_step_of(acc), "apply");
  snprintf(sql, sizeof sql, "apl_%s_2", acc + 4);
  app_row(sql, acc, MK_APP_AWAITING_CA);
  assert_string_equal(next_step_of(acc), "null");
  char ready[64];
  snprintf(ready, sizeof ready, "apl_%s_3", acc + 4);
  app_row(ready, acc, MK_APP_AWAITING_PAYMENT);
  assert_string_equal(next_step_of(acc), "download");
  assert_mk_ok(mk_svc_me_get(&fx.ctx, &out, &e));
  assert_string_equal(json_string_value(json_object_get(out, "next_step_label")), "去下载");
  assert_string_equal(json_string_value(json_object_get(out, "next_step_application_id")), ready);
  json_decref(out);
  snprintf(sql, sizeof sql, "UPDATE application SET state = 'issued' WHERE account_id = '%s'", acc);
  fx_exec(sql);
  assert_string_equal(next_step_of(acc), "null");

  /* Roles from memberships; unread messages counted. */
  snprintf(sql, sizeof sql,
           "INSERT INTO enterprise(id, name, uscc, legal_name, legal_id_number, state, "
           "created_at, updated_at) VALUES ('ent_t1', '嘉兴某某建设有限公司', "
           "'91330402MA2B3C4D53', '吴十', '" ID1 "', 'claimed', 'x', 'x'), ('ent_t2', "
           "'南通某某工程有限公司', '91320602MA1X2Y3W4J', '钱一', '" ID2 "', 'claimed', 'x', 'x');"
           "INSERT INTO membership(id, enterprise_id, account_id, role, permissions, state, "
           "created_at, updated_at) VALUES ('mbr_t1', 'ent_t1', '%s', 'admin', '[]', 'active', "
           "'x', 'x'), ('mbr_t2', 'ent_t2', '%s', 'staff', '[]', 'active', 'x', 'x');"
           "INSERT INTO message(id, account_id, seq, type, title, body, created_at, read_at) "
           "VALUES ('msg_t1', '%s', 1, 't', 't', '', 'x', NULL), ('msg_t2', '%s', 2, 't', 't', "
           "'', 'x', NULL), ('msg_t3', '%s', 3, 't', 't', '', 'x', 'x')",
           acc, acc, acc, acc, acc);
  fx_exec(sql);
  assert_mk_ok(mk_svc_me_get(&fx.ctx, &out, &e));
  assert_int_equal(json_integer_value(json_object_get(out, "unread_messages")), 2);
  json_t *roles = json_object_get(out, "roles");
  assert_int_equal(json_array_size(roles), 3);
  assert_string_equal(json_string_value(json_array_get(roles, 1)), "admin");
  assert_string_equal(json_string_value(json_array_get(roles, 2)), "staff");
  json_t *ents = json_object_get(out, "enterprises");
  assert_int_equal(json_array_size(ents), 2);
  assert_non_null(item_by_id(ents, "ent_t1"));
  assert_string_equal(json_string_value(json_object_get(item_by_id(ents, "ent_t2"), "role")),
                      "staff");
  json_decref(out);
  /* A removed membership no longer counts. */
  fx_exec("UPDATE membership SET state = 'removed' WHERE id = 'mbr_t2'");
  assert_mk_ok(mk_svc_me_get(&fx.ctx, &out, &e));
  assert_int_equal(json_array_size(json_object_get(out, "roles")), 2);
  json_decref(out);
  memset(&fx.ctx.caller, 0, sizeof fx.ctx.caller);
  assert_mk_fails(mk_svc_me_get(&fx.ctx, &out, &e), MK_EAUTH);
}

static void test_shortcuts(void **state) {
  (void)state;
  json_t *out = NULL;
  char field[MK_JSON_FIELD_MAX] = "";
  mk_err e = {0};
  as(people.c);
  assert_mk_ok(mk_svc_me_shortcuts_get(&fx.ctx, &out, &e));
  assert_int_equal(json_array_size(json_object_get(out, "items")), 4);
  assert_int_equal(json_array_size(json_object_get(out, "catalogue")), 14);
  json_decref(out);
  const char *bad[] = {"{\"items\":[\"zone\",\"nope\"]}", "{\"items\":[\"zone\",\"zone\"]}",
                       "{\"items\":[1]}", "{\"items\":\"zone\"}",
                       ("{\"items\":[\"a\",\"b\",\"c\",\"d\",\"e\","
                        "\"f\",\"g\",\"h\",\"i\"]}"),
                       "{\"other\":[]}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    json_t *b = NULL;
    assert_mk_ok(mk_json_parse(bad[i], strlen(bad[i]), 4096, &b, &e));
    if (mk_svc_me_shortcuts_put(&fx.ctx, b, &out, field, &e) != MK_EINVAL)
      fail_msg("%s accepted", bad[i]);
    json_decref(b);
  }
  json_t *b = json_pack("{s:[s,s,s]}", "items", "zone", "seal", "service");
  assert_mk_ok(mk_svc_me_shortcuts_put(&fx.ctx, b, &out, field, &e));
  json_decref(b);
  json_t *items = json_object_get(out, "items");
  assert_int_equal(json_array_size(items), 3);
  assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "id")), "zone");
  assert_string_equal(json_string_value(json_object_get(json_array_get(items, 1), "title")),
                      "印章管理");
  json_decref(out);
  assert_mk_ok(mk_svc_me_get(&fx.ctx, &out, &e));
  assert_int_equal(json_array_size(json_object_get(out, "shortcuts")), 3);
  json_decref(out);
  /* Per account: another one still has the default. */
  as(people.b);
  assert_mk_ok(mk_svc_me_shortcuts_get(&fx.ctx, &out, &e));
  assert_int_equal(json_array_size(json_object_get(out, "items")), 4);
  json_decref(out);
}

static void test_audit_chain(void **state) {
  (void)state;
  int64_t n = 0;
  mk_err e = {0};
  assert_mk_ok(mk_svc_audit_verify(&fx.ctx, &n, &e));
  assert_true(n > 20);
  /* No full ID or card number anywhere in the audit trail. */
  assert_int_equal(fx_count("SELECT COUNT(*) FROM audit_event WHERE detail LIKE '%" ID1 "%' OR "
                            "detail LIKE '%" ID3 "%' OR detail LIKE '%" ID4
                            "%' OR detail LIKE '%" CARD "%'"),
                   0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sandbox_rules),
      cmocka_unit_test(test_validators_name_fields),
      cmocka_unit_test(test_verify_cfca),
      cmocka_unit_test(test_refused_and_duplicate),
      cmocka_unit_test(test_verify_bankcard),
      cmocka_unit_test(test_verify_alipay),
      cmocka_unit_test(test_reverify),
      cmocka_unit_test(test_rate_limit),
      cmocka_unit_test(test_http_provider),
      cmocka_unit_test(test_platforms),
      cmocka_unit_test(test_distance_and_degrees),
      cmocka_unit_test(test_nearest),
      cmocka_unit_test(test_select_platform),
      cmocka_unit_test(test_me),
      cmocka_unit_test(test_shortcuts),
      cmocka_unit_test(test_audit_chain),
  };
  return cmocka_run_group_tests(tests, setup, fx_teardown);
}
