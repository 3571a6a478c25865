/* The identity foundation without HTTP: sessions (device binding, expiry,
 * CSRF, logout), passwords, masks, the audit hash chain (and its refusal
 * of a tampered row), attachment sniffing and visibility, CA operator
 * accounts, and the application engine's state machine with its messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "svc_fixture.h"

#define ACC1 "acc_00000000000000000000000001"
#define ACC2 "acc_00000000000000000000000002"
#define ACC3 "acc_00000000000000000000000003"
#define DEV1 "dev_00000000000000000000000001"
#define DEV2 "dev_00000000000000000000000002"

static int setup(void **state) {
  (void)state;
  if (fx_open("fnd", FX_KEK | FX_CA, 2) < 0)
    return -1;
  fx_add_platform();
  fx_add_account(ACC1, "13800000001");
  fx_add_account(ACC2, "13800000002");
  fx_add_account(ACC3, "13800000003");
  fx_add_identity(ACC1, "张三", "330402199003071237");
  return 0;
}

static void new_session(int kind, const char *subject, const char *dev, char *token, char *csrf) {
  mk_db *db = NULL;
  mk_err e = {0};
  assert_mk_ok(mk_store_acquire(fx.store, &db, &e));
  assert_mk_ok(mk_db_begin(db, &e));
  assert_mk_ok(mk_svc_session_create(&fx.ctx, db, kind, subject, dev, token, csrf, NULL, &e));
  assert_mk_ok(mk_db_commit(db, &e));
  mk_store_release(fx.store, db);
}

static void test_sessions(void **state) {
  (void)state;
  mk_err e = {0};
  char tok[MK_SESSION_TOKEN_MAX], tok2[MK_SESSION_TOKEN_MAX];
  fx_as_account(ACC1);
  new_session(MK_SESSION_ACCOUNT, ACC1, DEV1, tok, NULL);
  assert_int_equal(strlen(tok), 43); /* 32 bytes, base64url */
  /* only the hash is stored */
  assert_int_equal(fx_count("SELECT COUNT(*) FROM session WHERE token_sha256 = $1", tok), 0);
  memset(&fx.ctx.caller, 0, sizeof fx.ctx.caller);
  assert_mk_ok(mk_svc_session_check(&fx.ctx, MK_SESSION_ACCOUNT, tok, DEV1, 0, NULL, &e));
  assert_int_equal(fx.ctx.caller.role, MK_ROLE_ACCOUNT);
  assert_string_equal(fx.ctx.caller.account_id, ACC1);
  assert_string_equal(fx.ctx.caller.device_id, DEV1);
  /* another device, no device, a wrong token, the wrong kind */
  assert_mk_fails(mk_svc_session_check(&fx.ctx, MK_SESSION_ACCOUNT, tok, DEV2, 0, NULL, &e),
                  MK_EAUTH);
  assert_mk_fails(mk_svc_session_check(&fx.ctx, MK_SESSION_ACCOUNT, tok, NULL, 0, NULL, &e),
                  MK_EAUTH);
  tok[3] ^= 1;
  assert_mk_fails(mk_svc_session_check(&fx.ctx, MK_SESSION_ACCOUNT, tok, DEV1, 0, NULL, &e),
                  MK_EAUTH);
  tok[3] ^= 1;
  assert_mk_fails(mk_svc_session_check(&fx.ctx, MK_SESSION_CA_OPERATOR, tok, NULL, 0, NULL, &e),
                  MK_EAUTH);
  assert_mk_fails(mk_svc_session_check(&fx.ctx, MK_SESSION_ACCOUNT, NULL, DEV1, 0, NULL, &e),
                  MK_EAUTH);
  /* an account session needs a device id */
  mk_db *db = NULL;
  assert_mk_ok(mk_store_acquire(fx.store, &db, &e));
  assert_mk_ok(mk_db_begin(db, &e));
  assert_mk_fails(mk_svc_session_create(&fx.ctx, db, MK_SESSION_ACCOUNT, ACC1, "nodevice", tok2,
                                        NULL, NULL, &e),
                  MK_EINVAL);
  mk_db_rollback(db);
  mk_store_release(fx.store, db);
  /* expiry: 30 days */
  fx.clock += MK_SESSION_TTL_ACCOUNT + 1;
  assert_mk_fails(mk_svc_session_check(&fx.ctx, MK_SESSION_ACCOUNT, tok, DEV1, 0, NULL, &e),
                  MK_EAUTH);
  fx.clock -= MK_SESSION_TTL_ACCOUNT + 1;
  /* logout ends this session only; end_account ends the others */
  new_session(MK_SESSION_ACCOUNT, ACC1, DEV2, tok2, NULL);
  assert_mk_ok(mk_svc_session_check(&fx.ctx, MK_SESSION_ACCOUNT, tok, DEV1, 0, NULL, &e));
  assert_mk_ok(mk_svc_session_end(&fx.ctx, &e));
  assert_mk_fails(mk_svc_session_check(&fx.ctx, MK_SESSION_ACCOUNT, tok, DEV1, 0, NULL, &e),
                  MK_EAUTH);
  assert_mk_ok(mk_svc_session_check(&fx.ctx, MK_SESSION_ACCOUNT, tok2, DEV2, 0, NULL, &e));
  assert_mk_ok(mk_store_acquire(fx.store, &db, &e));
  assert_mk_ok(mk_db_begin(db, &e));
  assert_mk_ok(mk_svc_session_end_account(&fx.ctx, db, ACC1, NULL, &e));
  assert_mk_ok(mk_db_commit(db, &e));
  mk_store_release(fx.store, db);
  assert_mk_fails(mk_svc_session_check(&fx.ctx, MK_SESSION_ACCOUNT, tok2, DEV2, 0, NULL, &e),
                  MK_EAUTH);
}

static void test_passwords_and_operators(void **state) {
  (void)state;
  mk_err e = {0};
  char h[MK_PASSWORD_HASH_MAX], tok[MK_SESSION_TOKEN_MAX], csrf[MK_SESSION_TOKEN_MAX];
  char field[MK_JSON_FIELD_MAX] = "";
  json_t *out = NULL;
  assert_mk_fails(mk_svc_password_check_policy("short1", &e), MK_EINVAL);
  assert_mk_fails(mk_svc_password_check_policy("onlyletters", &e), MK_EINVAL);
  assert_mk_fails(mk_svc_password_check_policy("12345678", &e), MK_EINVAL);
  assert_mk_fails(mk_svc_password_check_policy("tab\tpass1", &e), MK_EINVAL);
  assert_mk_ok(mk_svc_password_hash("correct horse 1", h, &e));
  assert_int_equal(strncmp(h, "$argon2id$v=19$m=19456,t=2,p=1$", 31), 0);
  assert_mk_ok(mk_svc_password_verify(h, "correct horse 1", &e));
  assert_mk_fails(mk_svc_password_verify(h, "correct horse 2", &e), MK_EAUTH);
  assert_mk_fails(mk_svc_password_verify("$argon2i$bogus", "x", &e), MK_EAUTH);

  /* only the platform operator adds CA operators */
  fx_as_account(ACC1);
  assert_mk_fails(mk_svc_ca_operator_add(&fx.ctx, "ca_sbx_zjca", "zj.reviewer", "review pass 1",
                                         &out, field, &e),
                  MK_EPERM);
  fx_as_operator(NULL);
  assert_mk_fails(mk_svc_ca_operator_add(&fx.ctx, "ca_none", "zj.reviewer", "review pass 1", &out,
                                         field, &e),
                  MK_EINVAL);
  assert_string_equal(field, "ca_id");
  assert_mk_fails(mk_svc_ca_operator_add(&fx.ctx, "ca_sbx_zjca", "Bad User", "review pass 1",
                                         &out, field, &e),
                  MK_EINVAL);
  assert_string_equal(field, "username");
  assert_mk_ok(mk_svc_ca_operator_add(&fx.ctx, "ca_sbx_zjca", "zj.reviewer", "review pass 1",
                                      &out, field, &e));
  json_decref(out);
  assert_mk_fails(mk_svc_ca_operator_add(&fx.ctx, "ca_sbx_jsca", "zj.reviewer", "review pass 1",
                                         &out, field, &e),
                  MK_ECONFLICT);
  /* logins: wrong password and unknown user fail alike */
  memset(&fx.ctx.caller, 0, sizeof fx.ctx.caller);
  assert_mk_fails(mk_svc_ca_operator_login(&fx.ctx, MK_SESSION_CA_OPERATOR, "zj.reviewer",
                                           "review pass 2", tok, NULL, &out, &e),
                  MK_EAUTH);
  char msg1[sizeof e.msg];
  snprintf(msg1, sizeof msg1, "%s", e.msg);
  assert_mk_fails(mk_svc_ca_operator_login(&fx.ctx, MK_SESSION_CA_OPERATOR, "nobody",
                                           "review pass 1", tok, NULL, &out, &e),
                  MK_EAUTH);
  assert_string_equal(msg1, e.msg);
  assert_mk_ok(mk_svc_ca_operator_login(&fx.ctx, MK_SESSION_CONSOLE, "zj.reviewer",
                                        "review pass 1", tok, csrf, &out, &e));
  assert_string_equal(json_string_value(json_object_get(out, "ca_id")), "ca_sbx_zjca");
  json_decref(out);
  /* the console cookie needs the CSRF token for changes */
  memset(&fx.ctx.caller, 0, sizeof fx.ctx.caller);
  assert_mk_ok(mk_svc_session_check(&fx.ctx, MK_SESSION_CONSOLE, tok, NULL, 0, NULL, &e));
  assert_int_equal(fx.ctx.caller.role, MK_ROLE_CA_OPERATOR);
  assert_string_equal(fx.ctx.caller.ca_id, "ca_sbx_zjca");
  assert_mk_fails(mk_svc_session_check(&fx.ctx, MK_SESSION_CONSOLE, tok, NULL, 1, NULL, &e),
                  MK_EPERM);
  assert_mk_fails(mk_svc_session_check(&fx.ctx, MK_SESSION_CONSOLE, tok, NULL, 1, tok, &e),
                  MK_EPERM);
  assert_mk_ok(mk_svc_session_check(&fx.ctx, MK_SESSION_CONSOLE, tok, NULL, 1, csrf, &e));
  /* a console cookie is not a bearer token and the reverse */
  assert_mk_fails(mk_svc_session_check(&fx.ctx, MK_SESSION_CA_OPERATOR, tok, NULL, 0, NULL, &e),
                  MK_EAUTH);
  /* a disabled operator is refused at once */
  fx_sql("UPDATE ca_operator SET disabled_at = '2026-11-30T00:00:00Z' WHERE username = $1",
         "zj.reviewer");
  assert_mk_fails(mk_svc_session_check(&fx.ctx, MK_SESSION_CONSOLE, tok, NULL, 0, NULL, &e),
                  MK_EAUTH);
  assert_mk_fails(mk_svc_ca_operator_login(&fx.ctx, MK_SESSION_CA_OPERATOR, "zj.reviewer",
                                           "review pass 1", tok, NULL, &out, &e),
                  MK_EAUTH);
  fx_sql("UPDATE ca_operator SET disabled_at = NULL WHERE username = $1", "zj.reviewer");
}

static void test_masks(void **state) {
  (void)state;
  char out[40];
  mk_svc_mask_id_number("330402199003071237", out, sizeof out);
  assert_string_equal(out, "330402********1237");
  mk_svc_mask_phone("13800001234", out, sizeof out);
  assert_string_equal(out, "138****1234");
  mk_svc_mask_card("6222021234567890123", out, sizeof out);
  assert_string_equal(out, "6222***********0123");
  mk_svc_mask_phone("123", out, sizeof out);
  assert_string_equal(out, "***");
  mk_svc_mask_phone(NULL, out, sizeof out);
  assert_string_equal(out, "");
}

static void test_attachments(void **state) {
  (void)state;
  mk_err e = {0};
  json_t *out = NULL;
  unsigned char *data = NULL;
  size_t len = 0;
  char mt[16], id[MK_ID_MAX];
  /* the sniffing rule itself: tests/unit/lib/test_image.c */
  memset(&fx.ctx.caller, 0, sizeof fx.ctx.caller);
  assert_mk_fails(mk_svc_attachment_put(&fx.ctx, "image/png", fx_png, sizeof fx_png, &out, &e),
                  MK_EAUTH);
  fx_as_account(ACC1);
  assert_mk_fails(mk_svc_attachment_put(&fx.ctx, "image/jpeg", fx_png, sizeof fx_png, &out, &e),
                  MK_EINVAL);
  assert_mk_fails(mk_svc_attachment_put(&fx.ctx, "image/png", fx_png, 0, &out, &e), MK_EINVAL);
  assert_mk_fails(mk_svc_attachment_put(&fx.ctx, "application/pdf",
                                        (const unsigned char *)"%PDF-1.7", 8, &out, &e),
                  MK_EINVAL);
  unsigned char *big = calloc(1, MK_ATTACHMENT_MAX + 1);
  assert_non_null(big);
  memcpy(big, fx_png, sizeof fx_png);
  assert_mk_fails(mk_svc_attachment_put(&fx.ctx, "image/png", big, MK_ATTACHMENT_MAX + 1, &out,
                                        &e),
                  MK_ETOOBIG);
  free(big);
  fx_upload(ACC1, fx_png, sizeof fx_png, "image/png; charset=binary", id);
  assert_mk_ok(mk_svc_attachment_get(&fx.ctx, id, &data, &len, mt, &e));
  assert_int_equal(len, sizeof fx_png);
  assert_memory_equal(data, fx_png, len);
  assert_string_equal(mt, "image/png");
  free(data);
  /* nobody else sees it while no application carries it */
  fx_as_account(ACC2);
  assert_mk_fails(mk_svc_attachment_get(&fx.ctx, id, &data, &len, mt, &e), MK_ENOTFOUND);
  fx_as_ca("ca_sbx_zjca", "cop_test");
  assert_mk_fails(mk_svc_attachment_get(&fx.ctx, id, &data, &len, mt, &e), MK_ENOTFOUND);
}

/* A personal application of ACC1 to ca with a form; returns its id. */
static int apply(const char *ca, int years, int with_form, char id[MK_ID_MAX], char *field) {
  mk_err e = {0};
  char att[MK_ID_MAX];
  fx_upload(ACC1, fx_jpeg, sizeof fx_jpeg, "image/jpeg", att);
  const char *ids[] = {att}, *roles[] = {"application_form"};
  json_t *data = json_pack("{s:s,s:s,s:s,s:s}", "note", "test", "legal_id_number",
                           "330402199003071237", "admin_phone", "13800009999", "card_number",
                           "6222021234567890123");
  mk_app_new n = {.kind = "personal",
                  .account_id = ACC1,
                  .platform_id = "plt_t",
                  .ca_id = ca,
                  .years = years,
                  .data = data,
                  .attachment_ids = ids,
                  .attachment_roles = roles,
                  .nattachments = with_form ? 1 : 0};
  int rc = fx_app_create(&n, id, field, &e);
  json_decref(data);
  return rc;
}

static int transition(const char *id, int ev, const char *reason) {
  mk_err e = {0};
  return fx_app_transition(id, ev, reason, &e);
}

static const char *state_of(const char *id) {
  static char s[32];
  mk_err e = {0};
  json_t *o = NULL;
  fx_as_operator(NULL);
  assert_mk_ok(mk_svc_app_get(&fx.ctx, id, &o, &e));
  snprintf(s, sizeof s, "%s", json_string_value(json_object_get(o, "state")));
  json_decref(o);
  return s;
}

static void test_application_flow(void **state) {
  (void)state;
  mk_err e = {0};
  char id[MK_ID_MAX], field[MK_JSON_FIELD_MAX] = "";
  json_t *o = NULL;
  fx_as_account(ACC1);
  /* the CA's options and attachments are checked */
  assert_mk_fails(apply("ca_sbx_zjca", 9, 1, id, field), MK_EINVAL);
  assert_string_equal(field, "years");
  assert_mk_fails(apply("ca_nope", 1, 1, id, field), MK_EINVAL);
  assert_string_equal(field, "ca");
  assert_mk_fails(apply("ca_sbx_zjca", 1, 0, id, field), MK_EINVAL);
  assert_string_equal(field, "attachments.application_form");
  int64_t apps = fx_count("SELECT COUNT(*) FROM application");
  assert_int_equal(apps, 0); /* failed creations left nothing behind */

  fx_as_account(ACC1);
  assert_mk_ok(apply("ca_sbx_zjca", 1, 1, id, field));
  assert_string_equal(state_of(id), MK_APP_AWAITING_CA);
  /* the applicant cannot decide; another CA's operator cannot see it */
  fx_as_account(ACC1);
  assert_mk_fails(transition(id, MK_APP_EV_CA_APPROVE, NULL), MK_EPERM);
  fx_as_account(ACC2);
  assert_mk_fails(transition(id, MK_APP_EV_CANCEL, NULL), MK_ENOTFOUND);
  fx_as_ca("ca_sbx_jsca", "cop_test");
  assert_mk_fails(transition(id, MK_APP_EV_CA_APPROVE, NULL), MK_ENOTFOUND);
  /* the reviewing CA sees the form; a rejection needs a reason */
  fx_as_ca("ca_sbx_zjca", "cop_test");
  assert_mk_ok(mk_svc_app_get(&fx.ctx, id, &o, &e));
  const char *att = json_string_value(json_object_get(json_array_get(json_object_get(o, "attachments"), 0), "id"));
  unsigned char *data = NULL;
  size_t len = 0;
  char mt[16];
  assert_mk_ok(mk_svc_attachment_get(&fx.ctx, att, &data, &len, mt, &e));
  free(data);
  assert_string_equal(json_string_value(json_object_get(json_object_get(o, "applicant"), "phone")),
                      "138****0001");
  json_decref(o);
  assert_mk_fails(transition(id, MK_APP_EV_CA_REJECT, NULL), MK_EINVAL);
  assert_mk_fails(transition(id, MK_APP_EV_CA_REJECT, ""), MK_EINVAL);
  assert_mk_ok(transition(id, MK_APP_EV_CA_REJECT, "申请表照片不清晰"));
  assert_string_equal(state_of(id), MK_APP_CA_REJECTED);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM message WHERE account_id = $1 AND "
                            "type = 'ca_rejected' AND title = '证书申领失败'",
                            ACC1),
                   1);
  fx_as_ca("ca_sbx_zjca", "cop_test");
  assert_mk_fails(transition(id, MK_APP_EV_CA_APPROVE, NULL), MK_ECONFLICT);
  /* the applicant resubmits; the CA approves; payment is next */
  fx_as_account(ACC1);
  assert_mk_ok(transition(id, MK_APP_EV_RESUBMIT, NULL));
  assert_string_equal(state_of(id), MK_APP_AWAITING_CA);
  fx_as_account(ACC1);
  assert_mk_fails(transition(id, MK_APP_EV_RESUBMIT, NULL), MK_ECONFLICT);
  fx_as_ca("ca_sbx_zjca", "cop_test");
  assert_mk_ok(transition(id, MK_APP_EV_CA_APPROVE, NULL));
  assert_string_equal(state_of(id), MK_APP_AWAITING_PAYMENT);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM message WHERE account_id = $1 AND "
                            "type = 'ca_approved' AND action = 'download'",
                            ACC1),
                   1);
  fx_as_account(ACC1);
  assert_mk_fails(transition(id, MK_APP_EV_CANCEL, NULL), MK_ECONFLICT);
  /* the history passes through every state of DESIGN.md */
  fx_as_operator(NULL);
  assert_mk_ok(mk_svc_app_get(&fx.ctx, id, &o, &e));
  json_t *h = json_object_get(o, "history");
  const char *want[] = {"submitted",   MK_APP_AWAITING_CA, MK_APP_CA_REJECTED,
                        "resubmitted", MK_APP_AWAITING_CA, "ca_approved",
                        MK_APP_AWAITING_PAYMENT};
  assert_int_equal(json_array_size(h), sizeof want / sizeof want[0]);
  for (size_t i = 0; i < json_array_size(h); i++)
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, i), "to")), want[i]);
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(o, "ca_decision"), "decision")),
      "approved");
  /* numbers a kind keeps in its data are masked in every answer */
  json_t *d = json_object_get(o, "data");
  assert_string_equal(json_string_value(json_object_get(d, "legal_id_number")),
                      "330402********1237");
  assert_string_equal(json_string_value(json_object_get(d, "admin_phone")), "138****9999");
  assert_string_equal(json_string_value(json_object_get(d, "card_number")), "6222***********0123");
  assert_string_equal(json_string_value(json_object_get(d, "note")), "test");
  json_decref(o);

  /* automatic review approves at once */
  fx_as_account(ACC1);
  assert_mk_ok(apply("ca_sbx_ahca", 1, 1, id, field));
  assert_string_equal(state_of(id), MK_APP_AWAITING_PAYMENT);
  /* cancel while waiting */
  fx_as_account(ACC1);
  assert_mk_ok(apply("ca_sbx_zjca", 2, 1, id, field));
  fx_as_account(ACC1);
  assert_mk_ok(transition(id, MK_APP_EV_CANCEL, NULL));
  assert_string_equal(state_of(id), MK_APP_CANCELLED);
}

static void test_admin_step(void **state) {
  (void)state;
  mk_err e = {0};
  char id[MK_ID_MAX], field[MK_JSON_FIELD_MAX] = "";
  const char *ts = "2026-11-30T00:00:00Z";
  fx_sql("INSERT INTO enterprise(id, name, uscc, legal_name, legal_id_number, state, "
         "admin_account_id, created_at, updated_at) VALUES ('ent_t', '嘉兴测试有限公司', "
         "'91330402MA2B3C4D53', '张三', '330402199003071237', 'claimed', $1, $2, $2)",
         ACC1, ts);
  fx_sql("INSERT INTO membership(id, enterprise_id, account_id, role, permissions, state, "
         "created_at, updated_at) VALUES ('mbr_t', 'ent_t', $1, 'admin', '[]', 'active', $2, $2)",
         ACC1, ts);
  char att[MK_ID_MAX];
  fx_upload(ACC2, fx_png, sizeof fx_png, "image/png", att);
  const char *ids[] = {att}, *roles[] = {"application_form"};
  mk_app_new n = {.kind = "enterprise_join", .account_id = ACC2, .enterprise_id = "ent_t",
                  .platform_id = "plt_t", .ca_id = "ca_sbx_zjca", .years = 1,
                  .needs_admin = 1, .attachment_ids = ids, .attachment_roles = roles,
                  .nattachments = 1};
  fx_as_account(ACC2);
  assert_mk_ok(fx_app_create(&n, id, field, &e));
  assert_string_equal(state_of(id), MK_APP_AWAITING_ADMIN);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM message WHERE account_id = $1 AND "
                            "type = 'admin_review' AND title = '加入企业申领'",
                            ACC1),
                   1);
  /* the CA does not see it yet; the applicant and a stranger cannot decide */
  fx_as_ca("ca_sbx_zjca", "cop_test");
  assert_mk_fails(transition(id, MK_APP_EV_CA_APPROVE, NULL), MK_ENOTFOUND);
  fx_as_account(ACC2);
  assert_mk_fails(transition(id, MK_APP_EV_ADMIN_APPROVE, NULL), MK_EPERM);
  fx_as_account(ACC3);
  assert_mk_fails(transition(id, MK_APP_EV_ADMIN_APPROVE, NULL), MK_ENOTFOUND);
  /* the admin sees the attachment and agrees: on to the CA */
  fx_as_account(ACC1);
  unsigned char *data = NULL;
  size_t len = 0;
  char mt[16];
  assert_mk_ok(mk_svc_attachment_get(&fx.ctx, att, &data, &len, mt, &e));
  free(data);
  assert_mk_ok(transition(id, MK_APP_EV_ADMIN_APPROVE, NULL));
  assert_string_equal(state_of(id), MK_APP_AWAITING_CA);
  fx_as_account(ACC1);
  assert_mk_fails(transition(id, MK_APP_EV_ADMIN_REJECT, "不同意"), MK_ECONFLICT);
  /* a second request, refused by the admin with a reason */
  fx_as_account(ACC2);
  fx_upload(ACC2, fx_png, sizeof fx_png, "image/png", att);
  fx_as_account(ACC2);
  assert_mk_ok(fx_app_create(&n, id, field, &e));
  fx_as_account(ACC1);
  assert_mk_ok(transition(id, MK_APP_EV_ADMIN_REJECT, "非本公司员工"));
  assert_string_equal(state_of(id), MK_APP_ADMIN_REJECTED);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM message WHERE account_id = $1 AND "
                            "type = 'admin_rejected'",
                            ACC2),
                   1);

  /* A claim of the enterprise by someone else is not the admin's to read:
   * the admin sees only the kinds it decides (joins, staff requests). */
  char claim_att[MK_ID_MAX], claim[MK_ID_MAX];
  fx_upload(ACC3, fx_png, sizeof fx_png, "image/png", claim_att);
  const char *cids[] = {claim_att}, *croles[] = {"application_form"};
  json_t *cdata = json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", "嘉兴测试有限公司", "note",
                            "first claim", "uscc", "91330402MA2B3C4D53", "legal_name", "张三",
                            "legal_id_number", "330402199003071237");
  mk_app_new c = {.kind = "enterprise_claim", .account_id = ACC3, .enterprise_id = "ent_t",
                  .platform_id = "plt_t", .ca_id = "ca_sbx_zjca", .years = 1, .data = cdata,
                  .attachment_ids = cids, .attachment_roles = croles, .nattachments = 1};
  fx_as_account(ACC3);
  assert_mk_ok(fx_app_create(&c, claim, field, &e));
  json_decref(cdata);
  json_t *o = NULL;
  fx_as_account(ACC1);
  assert_mk_fails(mk_svc_app_get(&fx.ctx, claim, &o, &e), MK_ENOTFOUND);
  assert_mk_fails(mk_svc_attachment_get(&fx.ctx, claim_att, &data, &len, mt, &e), MK_ENOTFOUND);

  /* A resubmission corrects only what the kind allows: a claim's
   * registered details, not the rest of its data. */
  fx_as_ca("ca_sbx_zjca", "cop_test");
  assert_mk_ok(transition(claim, MK_APP_EV_CA_REJECT, "名称有误"));
  fx_as_account(ACC3);
  /* each corrected value is validated as the field it is */
  static const struct {
    const char *json, *field;
  } bad[] = {
      {"{\"changes\":{\"uscc\":\"91330402MA2B3C4D54\"}}", "changes.uscc"},
      {"{\"changes\":{\"legal_id_number\":\"330402199003071238\"}}", "changes.legal_id_number"},
      {"{\"changes\":{\"legal_name\":\" 张三\"}}", "changes.legal_name"}, /* leading space */
      {"{\"changes\":{\"name\":\"\"}}", "changes.name"},
      {"{\"changes\":{\"name\":5}}", "changes.name"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    json_t *q = NULL;
    assert_mk_ok(mk_json_parse_object(bad[i].json, strlen(bad[i].json), 4096, &q, &e));
    field[0] = '\0';
    if (mk_svc_app_act(&fx.ctx, claim, MK_APP_EV_RESUBMIT, NULL, q, &o, field, &e) != MK_EINVAL)
      fail_msg("%s was accepted", bad[i].json);
    if (strcmp(field, bad[i].field) != 0)
      fail_msg("%s: field %s, want %s", bad[i].json, field, bad[i].field);
    json_decref(q);
  }
  json_t *b = json_pack("{s:{s:s}}", "changes", "note", "edited");
  assert_mk_fails(mk_svc_app_act(&fx.ctx, claim, MK_APP_EV_RESUBMIT, NULL, b, &o, field, &e),
                  MK_EINVAL);
  assert_string_equal(field, "changes.note");
  json_decref(b);
  b = json_pack("{s:{s:s}}", "changes", "name", "嘉兴测试科技有限公司");
  assert_mk_ok(mk_svc_app_act(&fx.ctx, claim, MK_APP_EV_RESUBMIT, NULL, b, &o, field, &e));
  assert_string_equal(json_string_value(json_object_get(json_object_get(o, "data"), "name")),
                      "嘉兴测试科技有限公司");
  json_decref(o);
  json_decref(b);
}

static void test_audit_chain(void **state) {
  (void)state;
  mk_err e = {0};
  int64_t n = 0;
  fx_as_operator(NULL);
  assert_mk_ok(mk_svc_audit_verify(&fx.ctx, &n, &e));
  assert_true(n > 10); /* every step above wrote one */
  /* the applicant's events are findable */
  assert_true(fx_count("SELECT COUNT(*) FROM audit_event WHERE account_id = $1 AND "
                       "action = 'application.submit'",
                       ACC1) >= 3);
  /* an altered detail, then a removed event, are found */
  fx_sql("UPDATE audit_event SET detail = '{\"kind\":\"forged\"}' WHERE seq = 3");
  assert_mk_fails(mk_svc_audit_verify(&fx.ctx, &n, &e), MK_ECRYPTO);
  assert_non_null(strstr(e.msg, "event 3 was altered"));
  fx_sql("DELETE FROM audit_event WHERE seq = 3");
  assert_mk_fails(mk_svc_audit_verify(&fx.ctx, &n, &e), MK_ECRYPTO);
  assert_non_null(strstr(e.msg, "event 3 is missing"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sessions),        cmocka_unit_test(test_passwords_and_operators),
      cmocka_unit_test(test_masks),           cmocka_unit_test(test_attachments),
      cmocka_unit_test(test_application_flow), cmocka_unit_test(test_admin_step),
      cmocka_unit_test(test_audit_chain),
  };
  return cmocka_run_group_tests(tests, setup, fx_teardown);
}
