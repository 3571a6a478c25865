/* Review and messages without HTTP: the CA queue and its isolation between
 * CAs, detail and attachment visibility, decisions (approve, reject with
 * reason bounds, resubmit with changes and new attachments, cancel, admin
 * approve and refuse) and the illegal ones, the accounts' lists, the inbox
 * (list, unread, after, cursor, read marks), the long-poll notifier, the CA
 * login limit, and the audit chain after all of it (and its refusal of a
 * tampered row). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "svc_fixture.h"
#include "util/time.h"

static mk_err e;
/* Succeeds, or fails the test with the error's message. */
#define OK(expr)                                                                                   \
  do {                                                                                             \
    mk_err_clear(&e);                                                                              \
    int ok_rc_ = (expr);                                                                           \
    if (ok_rc_ != 0)                                                                               \
      fail_msg("%s: %s (%d)", #expr, e.msg, ok_rc_);                                               \
  } while (0)

#define ACC1 "acc_00000000000000000000000001" /* 张三, verified */
#define ACC2 "acc_00000000000000000000000002" /* 李四, verified */
#define ACC3 "acc_00000000000000000000000003" /* enterprise admin, verified */
#define ACC4 "acc_00000000000000000000000004" /* not verified */

static int setup(void **state) {
  (void)state;
  if (fx_open("rev", FX_KEK | FX_CA, 3) < 0)
    return -1;
  fx_add_platform();
  fx_add_account(ACC1, "13800000001");
  fx_add_account(ACC2, "13800000002");
  fx_add_account(ACC3, "13800000003");
  fx_add_account(ACC4, "13800000004");
  fx_add_identity(ACC1, "张三", "330402199003071237");
  fx_add_identity(ACC2, "李四", "320602198506154565");
  fx_add_identity(ACC3, "王五", "110101199001011237");
  fx_sql("INSERT INTO enterprise(id, name, uscc, legal_name, legal_id_number, state, "
         "admin_account_id, created_at, updated_at) VALUES ('ent_t', '嘉兴测试有限公司', "
         "'91330402MA2B3C4D53', '王五', '110101199001011237', 'claimed', $1, $2, $2)",
         ACC3, FX_TS);
  fx_sql("INSERT INTO membership(id, enterprise_id, account_id, role, permissions, state, "
         "created_at, updated_at) VALUES ('mbr_t', 'ent_t', $1, 'admin', '[]', 'active', $2, $2)",
         ACC3, FX_TS);
  return 0;
}

/* A personal application of acc to ca with a form, a second later than the
 * last; its id in id and its form's attachment id in form (may be NULL). */
static void apply(const char *acc, const char *ca, char id[MK_ID_MAX], char *form) {
  char att[MK_ID_MAX], field[MK_JSON_FIELD_MAX] = "";
  fx.clock++;
  fx_upload(acc, fx_jpeg, sizeof fx_jpeg, "image/jpeg", att);
  if (form != NULL)
    snprintf(form, MK_ID_MAX, "%s", att);
  const char *ids[] = {att}, *roles[] = {"application_form"};
  json_t *data = json_pack("{s:s,s:s,s:i,s:s,s:b,s:{s:s},s:s,s:s}", "note", "测试",
                           "contact_phone", "13800000001", "copies", 1, "plan_id", "p1", "urgent",
                           0, "extra", "k", "v", "name", "张三", "id_number",
                           "330402********1237");
  mk_app_new n = {.kind = "personal", .account_id = acc, .platform_id = "plt_t", .ca_id = ca,
                  .years = 1, .data = data, .attachment_ids = ids, .attachment_roles = roles,
                  .nattachments = 1};
  fx_as_account(acc);
  OK(fx_app_create(&n, id, field, &e));
  json_decref(data);
}

/* A join request of acc to ent_t (decided by ACC3 first). */
static void apply_join(const char *acc, const char *ca, char id[MK_ID_MAX]) {
  char att[MK_ID_MAX], field[MK_JSON_FIELD_MAX] = "";
  fx.clock++;
  fx_upload(acc, fx_png, sizeof fx_png, "image/png", att);
  const char *ids[] = {att}, *roles[] = {"application_form"};
  mk_app_new n = {.kind = "enterprise_join", .account_id = acc, .enterprise_id = "ent_t",
                  .platform_id = "plt_t", .ca_id = ca, .years = 1, .needs_admin = 1,
                  .attachment_ids = ids, .attachment_roles = roles, .nattachments = 1};
  fx_as_account(acc);
  OK(fx_app_create(&n, id, field, &e));
}

static int act(const char *id, int ev, const char *reason, const json_t *body, char *field) {
  json_t *out = NULL;
  fx.clock++;
  mk_err_clear(&e);
  if (field)
    field[0] = '\0';
  int rc = mk_svc_app_act(&fx.ctx, id, ev, reason, body, &out, field, &e);
  if (rc == 0) {
    assert_non_null(out);
    assert_string_equal(json_string_value(json_object_get(out, "id")), id);
  } else {
    assert_null(out);
  }
  json_decref(out);
  return rc;
}

static const char *state_of(const char *id) {
  static char s[32];
  json_t *o = NULL;
  mk_caller keep = fx.ctx.caller;
  fx_as_operator(NULL);
  OK(mk_svc_app_get(&fx.ctx, id, &o, &e));
  snprintf(s, sizeof s, "%s", json_string_value(json_object_get(o, "state")));
  json_decref(o);
  fx.ctx.caller = keep;
  return s;
}

static json_t *queue(const char *ca, const char *state, const char *cursor, int64_t limit) {
  json_t *out = NULL;
  char field[MK_JSON_FIELD_MAX] = "";
  fx_as_ca(ca, NULL);
  OK(mk_svc_ca_queue(&fx.ctx, state, cursor, limit, &out, field, &e));
  return out;
}

static const char *item_id(const json_t *list, size_t i) {
  return json_string_value(json_object_get(json_array_get(json_object_get(list, "items"), i), "id"));
}

/* Applications used across the tests. */
static char z1[MK_ID_MAX], z2[MK_ID_MAX], j1[MK_ID_MAX], z1_form[MK_ID_MAX], jn[MK_ID_MAX];

static void test_queue_isolation(void **state) {
  (void)state;
  char field[MK_JSON_FIELD_MAX] = "";
  json_t *out = NULL;
  apply(ACC1, "ca_sbx_zjca", z1, z1_form);
  apply(ACC2, "ca_sbx_jsca", j1, NULL);
  apply(ACC2, "ca_sbx_zjca", z2, NULL);
  apply_join(ACC4, "ca_sbx_zjca", jn); /* waits for the admin: no CA sees it */

  json_t *q = queue("ca_sbx_zjca", NULL, NULL, 50);
  assert_string_equal(json_string_value(json_object_get(q, "state")), MK_APP_AWAITING_CA);
  assert_int_equal(json_array_size(json_object_get(q, "items")), 2);
  assert_string_equal(item_id(q, 0), z1); /* oldest first */
  assert_string_equal(item_id(q, 1), z2);
  json_t *it = json_array_get(json_object_get(q, "items"), 0);
  json_t *who = json_object_get(it, "applicant");
  assert_string_equal(json_string_value(json_object_get(who, "name")), "张三");
  assert_string_equal(json_string_value(json_object_get(who, "phone")), "138****0001");
  assert_string_equal(json_string_value(json_object_get(who, "id_number")), "330402********1237");
  assert_string_equal(json_string_value(json_object_get(it, "title")), "自然人证书申领");
  assert_int_equal(json_integer_value(json_object_get(it, "years")), 1);
  assert_int_equal(json_integer_value(json_object_get(it, "attachments")), 1);
  assert_true(json_is_null(json_object_get(it, "enterprise")));
  /* the ID number appears nowhere unmasked */
  char *text = json_dumps(q, 0);
  assert_null(strstr(text, "330402199003071237"));
  free(text);
  json_decref(q);

  q = queue("ca_sbx_jsca", NULL, NULL, 50);
  assert_int_equal(json_array_size(json_object_get(q, "items")), 1);
  assert_string_equal(item_id(q, 0), j1);
  json_decref(q);
  q = queue("ca_sbx_ahca", NULL, NULL, 50);
  assert_int_equal(json_array_size(json_object_get(q, "items")), 0);
  json_decref(q);

  /* paging: one at a time, nothing skipped when the first is decided */
  q = queue("ca_sbx_zjca", NULL, NULL, 1);
  assert_string_equal(item_id(q, 0), z1);
  char cur[96];
  snprintf(cur, sizeof cur, "%s", json_string_value(json_object_get(q, "next_cursor")));
  json_decref(q);
  fx_as_ca("ca_sbx_zjca", NULL);
  OK(act(z1, MK_APP_EV_CA_REJECT, "申请表不清晰", NULL, NULL));
  q = queue("ca_sbx_zjca", NULL, cur, 1);
  assert_int_equal(json_array_size(json_object_get(q, "items")), 1);
  assert_string_equal(item_id(q, 0), z2);
  assert_true(json_is_null(json_object_get(q, "next_cursor")));
  json_decref(q);
  q = queue("ca_sbx_zjca", MK_APP_CA_REJECTED, NULL, 50);
  assert_int_equal(json_array_size(json_object_get(q, "items")), 1);
  assert_string_equal(item_id(q, 0), z1);
  json_decref(q);
  /* the join request is in no state of the CA's, not even once cancelled */
  fx_as_account(ACC4);
  OK(act(jn, MK_APP_EV_CANCEL, NULL, NULL, NULL));
  q = queue("ca_sbx_zjca", MK_APP_CANCELLED, NULL, 50);
  assert_int_equal(json_array_size(json_object_get(q, "items")), 0);
  json_decref(q);

  /* refusals: bad state, bad cursor, bad limit, not a CA operator */
  fx_as_ca("ca_sbx_zjca", NULL);
  assert_mk_fails(mk_svc_ca_queue(&fx.ctx, MK_APP_AWAITING_ADMIN, NULL, 10, &out, field, &e),
                  MK_EINVAL);
  assert_string_equal(field, "state");
  assert_mk_fails(mk_svc_ca_queue(&fx.ctx, "bogus", NULL, 10, &out, field, &e), MK_EINVAL);
  assert_mk_fails(mk_svc_ca_queue(&fx.ctx, NULL, "12x-apl_1", 10, &out, field, &e), MK_EINVAL);
  assert_string_equal(field, "cursor");
  assert_mk_fails(mk_svc_ca_queue(&fx.ctx, NULL, NULL, 0, &out, field, &e), MK_EINVAL);
  assert_mk_fails(mk_svc_ca_queue(&fx.ctx, NULL, NULL, 101, &out, field, &e), MK_EINVAL);
  assert_string_equal(field, "limit");
  fx_as_account(ACC1);
  assert_mk_fails(mk_svc_ca_queue(&fx.ctx, NULL, NULL, 10, &out, field, &e), MK_EPERM);
  fx_as_operator(NULL);
  assert_mk_fails(mk_svc_ca_queue(&fx.ctx, NULL, NULL, 10, &out, field, &e), MK_EPERM);
  assert_null(out);
}

static void test_ca_detail_and_attachments(void **state) {
  (void)state;
  json_t *o = NULL;
  unsigned char *data = NULL;
  size_t len = 0;
  char mt[16], z2_form[MK_ID_MAX];
  fx_as_ca("ca_sbx_zjca", NULL);
  OK(mk_svc_ca_app_get(&fx.ctx, z1, &o, &e));
  json_t *who = json_object_get(o, "applicant");
  assert_string_equal(json_string_value(json_object_get(who, "id_number")), "330402********1237");
  assert_true(json_is_true(json_object_get(who, "verified")));
  json_t *att = json_array_get(json_object_get(o, "attachments"), 0);
  assert_string_equal(json_string_value(json_object_get(att, "id")), z1_form);
  char url[160];
  snprintf(url, sizeof url, "/v1/ca/applications/%s/attachments/%s", z1, z1_form);
  assert_string_equal(json_string_value(json_object_get(att, "url")), url);
  assert_true(json_array_size(json_object_get(o, "history")) >= 3);
  json_decref(o);
  OK(mk_svc_ca_app_attachment(&fx.ctx, z1, z1_form, &data, &len, mt, &e));
  assert_int_equal(len, sizeof fx_jpeg);
  assert_memory_equal(data, fx_jpeg, len);
  assert_string_equal(mt, "image/jpeg");
  free(data);
  data = NULL;
  /* another application's attachment through this one, even of the same CA */
  fx_as_operator(NULL);
  OK(mk_svc_app_get(&fx.ctx, z2, &o, &e));
  snprintf(z2_form, sizeof z2_form, "%s",
           json_string_value(json_object_get(json_array_get(json_object_get(o, "attachments"), 0), "id")));
  json_decref(o);
  fx_as_ca("ca_sbx_zjca", NULL);
  assert_mk_fails(mk_svc_ca_app_attachment(&fx.ctx, z1, z2_form, &data, &len, mt, &e),
                  MK_ENOTFOUND);
  OK(mk_svc_ca_app_attachment(&fx.ctx, z2, z2_form, &data, &len, mt, &e));
  free(data);
  data = NULL;
  /* another CA sees neither the application nor its images */
  fx_as_ca("ca_sbx_jsca", NULL);
  assert_mk_fails(mk_svc_ca_app_get(&fx.ctx, z1, &o, &e), MK_ENOTFOUND);
  assert_null(o);
  assert_mk_fails(mk_svc_ca_app_attachment(&fx.ctx, z1, z1_form, &data, &len, mt, &e),
                  MK_ENOTFOUND);
  assert_null(data);
  /* a request that never reached the CA, and malformed ids */
  fx_as_ca("ca_sbx_zjca", NULL);
  assert_mk_fails(mk_svc_ca_app_get(&fx.ctx, jn, &o, &e), MK_ENOTFOUND);
  assert_mk_fails(mk_svc_ca_app_get(&fx.ctx, "apl_nope", &o, &e), MK_ENOTFOUND);
  assert_mk_fails(mk_svc_ca_app_attachment(&fx.ctx, z1, "../etc", &data, &len, mt, &e),
                  MK_ENOTFOUND);
  /* accounts use the account routes, not these */
  fx_as_account(ACC1);
  assert_mk_fails(mk_svc_ca_app_get(&fx.ctx, z1, &o, &e), MK_EPERM);
}

static void test_decisions(void **state) {
  (void)state;
  char field[MK_JSON_FIELD_MAX];
  /* reason bounds: required, at most 500 characters (not bytes) */
  fx_as_ca("ca_sbx_zjca", NULL);
  assert_mk_fails(act(z2, MK_APP_EV_CA_REJECT, NULL, NULL, field), MK_EINVAL);
  assert_string_equal(field, "reason");
  assert_mk_fails(act(z2, MK_APP_EV_CA_REJECT, "", NULL, field), MK_EINVAL);
  assert_string_equal(field, "reason");
  char long_reason[501 * 3 + 1] = "";
  for (int i = 0; i < 501; i++)
    strcat(long_reason, "拒");
  assert_mk_fails(act(z2, MK_APP_EV_CA_REJECT, long_reason, NULL, field), MK_EINVAL);
  assert_string_equal(field, "reason");
  assert_mk_fails(act(z2, MK_APP_EV_CA_REJECT, "bad\x01control", NULL, field), MK_EINVAL);
  assert_string_equal(state_of(z2), MK_APP_AWAITING_CA); /* nothing happened */
  long_reason[500 * 3] = '\0';
  fx_as_ca("ca_sbx_zjca", NULL);
  OK(act(z2, MK_APP_EV_CA_REJECT, long_reason, NULL, field));
  assert_string_equal(state_of(z2), MK_APP_CA_REJECTED);
  assert_int_equal(
      fx_count("SELECT COUNT(*) FROM message WHERE account_id = $1 AND application_id = "
               "$2 AND type = 'ca_rejected' AND title = '证书申领失败' AND "
               "action = 'resubmit'",
               ACC2, z2),
      1);
  /* illegal: reject twice, approve a rejected one, the wrong CA, the applicant deciding */
  fx_as_ca("ca_sbx_zjca", NULL);
  assert_mk_fails(act(z2, MK_APP_EV_CA_REJECT, "again", NULL, NULL), MK_ECONFLICT);
  assert_mk_fails(act(z2, MK_APP_EV_CA_APPROVE, NULL, NULL, NULL), MK_ECONFLICT);
  fx_as_ca("ca_sbx_jsca", NULL);
  assert_mk_fails(act(z1, MK_APP_EV_CA_REJECT, "not mine", NULL, NULL), MK_ENOTFOUND);
  assert_mk_fails(act(z1, MK_APP_EV_CA_APPROVE, NULL, NULL, NULL), MK_ENOTFOUND);
  fx_as_account(ACC1);
  assert_mk_fails(act(z1, MK_APP_EV_CA_APPROVE, NULL, NULL, NULL), MK_EPERM);
  fx_as_account(ACC2);
  assert_mk_fails(act(z1, MK_APP_EV_RESUBMIT, NULL, NULL, NULL), MK_ENOTFOUND);
  assert_mk_fails(act(z1, MK_APP_EV_CANCEL, NULL, NULL, NULL), MK_ENOTFOUND);
  assert_mk_fails(act("apl_bogus", MK_APP_EV_CANCEL, NULL, NULL, NULL), MK_ENOTFOUND);

  /* resubmission bodies are checked against the application's data */
  char att[MK_ID_MAX], other[MK_ID_MAX];
  fx_upload(ACC1, fx_png, sizeof fx_png, "image/png", att);
  fx_upload(ACC2, fx_png, sizeof fx_png, "image/png", other);
  struct {
    const char *json, *field;
  } bad[] = {
      {"{\"changes\":{\"nothere\":\"x\"}}", "changes.nothere"},
      {"{\"changes\":{\"plan_id\":\"p2\"}}", "changes.plan_id"},
      {"{\"changes\":{\"extra\":\"x\"}}", "changes.extra"},
      {"{\"changes\":{\"copies\":\"2\"}}", "changes.copies"},
      {"{\"changes\":{\"urgent\":1}}", "changes.urgent"},
      {"{\"changes\":{\"note\":\"\"}}", "changes.note"},
      {"{\"changes\":{\"contact_phone\":\"12345\"}}", "changes.contact_phone"},
      /* the verified identity's name and number are not the applicant's to edit */
      {"{\"changes\":{\"name\":\"李四\"}}", "changes.name"},
      {"{\"changes\":{\"id_number\":\"330402199003071237\"}}", "changes.id_number"},
      {"{\"changes\":[]}", "changes"},
      {"{\"attachments\":[{\"role\":\"application_form\"}]}", "attachments[0]"},
      {"{\"attachments\":[{\"role\":\"Form!\",\"id\":\"att_00000000000000000000000001\"}]}",
       "attachments[0]"},
      {"{\"other\":1}", "other"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    json_t *b = NULL;
    OK(mk_json_parse_object(bad[i].json, strlen(bad[i].json), 4096, &b, &e));
    fx_as_account(ACC1);
    assert_mk_fails(act(z1, MK_APP_EV_RESUBMIT, NULL, b, field), MK_EINVAL);
    if (strcmp(field, bad[i].field) != 0)
      fail_msg("%s: field %s, want %s", bad[i].json, field, bad[i].field);
    json_decref(b);
  }
  /* someone else's upload */
  json_t *b = json_pack("{s:[{s:s,s:s}]}", "attachments", "role", "application_form", "id", other);
  fx_as_account(ACC1);
  assert_mk_fails(act(z1, MK_APP_EV_RESUBMIT, NULL, b, field), MK_EINVAL);
  assert_string_equal(field, "attachments");
  json_decref(b);
  assert_string_equal(state_of(z1), MK_APP_CA_REJECTED);
  /* a good one: a new form (a personal application's data is fixed: who
   * applies comes from the verified identity) */
  b = json_pack("{s:[{s:s,s:s}]}", "attachments", "role", "application_form", "id", att);
  fx_as_account(ACC1);
  OK(act(z1, MK_APP_EV_RESUBMIT, NULL, b, field));
  json_decref(b);
  assert_string_equal(state_of(z1), MK_APP_AWAITING_CA);
  json_t *o = NULL;
  fx_as_ca("ca_sbx_zjca", NULL);
  OK(mk_svc_ca_app_get(&fx.ctx, z1, &o, &e));
  json_t *data = json_object_get(o, "data");
  assert_string_equal(json_string_value(json_object_get(data, "contact_phone")), "138****0001"); /* masked */
  assert_string_equal(json_string_value(json_object_get(data, "note")), "测试");
  assert_int_equal(json_integer_value(json_object_get(data, "copies")), 1);
  json_t *atts = json_object_get(o, "attachments");
  assert_int_equal(json_array_size(atts), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(atts, 0), "id")), att);
  json_decref(o);
  /* the old form is no longer the application's */
  unsigned char *bytes = NULL;
  size_t len = 0;
  char mt[16];
  assert_mk_fails(mk_svc_ca_app_attachment(&fx.ctx, z1, z1_form, &bytes, &len, mt, &e),
                  MK_ENOTFOUND);
  fx_as_account(ACC1);
  assert_mk_fails(act(z1, MK_APP_EV_RESUBMIT, NULL, NULL, NULL), MK_ECONFLICT);
  /* approve, then approve twice */
  fx_as_ca("ca_sbx_zjca", NULL);
  OK(act(z1, MK_APP_EV_CA_APPROVE, NULL, NULL, NULL));
  assert_string_equal(state_of(z1), MK_APP_AWAITING_PAYMENT);
  assert_mk_fails(act(z1, MK_APP_EV_CA_APPROVE, NULL, NULL, NULL), MK_ECONFLICT);
  assert_mk_fails(act(z1, MK_APP_EV_CA_REJECT, "late", NULL, NULL), MK_ECONFLICT);
  assert_int_equal(
      fx_count("SELECT COUNT(*) FROM message WHERE account_id = $1 AND application_id = "
               "$2 AND type = 'ca_approved'",
               ACC1, z1),
      1);
  fx_as_account(ACC1);
  assert_mk_fails(act(z1, MK_APP_EV_CANCEL, NULL, NULL, NULL), MK_ECONFLICT);
  /* the applicant withdraws a rejected one; then nothing more */
  fx_as_account(ACC2);
  OK(act(z2, MK_APP_EV_CANCEL, NULL, NULL, NULL));
  assert_string_equal(state_of(z2), MK_APP_CANCELLED);
  assert_mk_fails(act(z2, MK_APP_EV_CANCEL, NULL, NULL, NULL), MK_ECONFLICT);
  assert_mk_fails(act(z2, MK_APP_EV_RESUBMIT, NULL, NULL, NULL), MK_ECONFLICT);
  fx_as_ca("ca_sbx_zjca", NULL);
  assert_mk_fails(act(z2, MK_APP_EV_CA_APPROVE, NULL, NULL, NULL), MK_ECONFLICT);
}

static void test_admin_decisions(void **state) {
  (void)state;
  char a1[MK_ID_MAX], a2[MK_ID_MAX], field[MK_JSON_FIELD_MAX];
  json_t *out = NULL;
  apply_join(ACC2, "ca_sbx_zjca", a1);
  apply_join(ACC4, "ca_sbx_csj", a2);
  assert_int_equal(
      fx_count("SELECT COUNT(*) FROM message WHERE account_id = $1 AND application_id = "
               "$2 AND type = 'admin_review' AND action = 'approve'",
               ACC3, a1),
      1);
  /* the admin's list: its enterprise's requests, newest first, with the action */
  fx_as_account(ACC3);
  OK(mk_svc_app_list(&fx.ctx, "admin", MK_APP_AWAITING_ADMIN, NULL, 50, &out, field, &e));
  assert_int_equal(json_array_size(json_object_get(out, "items")), 2);
  assert_string_equal(item_id(out, 0), a2);
  assert_string_equal(item_id(out, 1), a1);
  json_t *it = json_array_get(json_object_get(out, "items"), 1);
  assert_string_equal(json_string_value(json_object_get(it, "action")), "approve");
  assert_string_equal(json_string_value(json_object_get(json_object_get(it, "enterprise"), "uscc")),
                      "91330402MA2B3C4D53");
  assert_string_equal(json_string_value(json_object_get(json_object_get(it, "applicant"), "phone")),
                      "138****0002");
  json_decref(out);
  /* the admin has no applications of its own */
  OK(mk_svc_app_list(&fx.ctx, NULL, NULL, NULL, 50, &out, field, &e));
  assert_int_equal(json_array_size(json_object_get(out, "items")), 0);
  json_decref(out);
  /* the applicant cannot decide its own; a stranger cannot see it */
  fx_as_account(ACC2);
  assert_mk_fails(act(a1, MK_APP_EV_ADMIN_APPROVE, NULL, NULL, NULL), MK_EPERM);
  fx_as_account(ACC1);
  assert_mk_fails(act(a1, MK_APP_EV_ADMIN_APPROVE, NULL, NULL, NULL), MK_ENOTFOUND);
  fx_as_ca("ca_sbx_zjca", NULL);
  assert_mk_fails(act(a1, MK_APP_EV_CA_APPROVE, NULL, NULL, NULL), MK_ENOTFOUND);
  /* the admin agrees: on to the CA, whose queue now has it */
  fx_as_account(ACC3);
  OK(act(a1, MK_APP_EV_ADMIN_APPROVE, NULL, NULL, NULL));
  assert_string_equal(state_of(a1), MK_APP_AWAITING_CA);
  assert_mk_fails(act(a1, MK_APP_EV_ADMIN_APPROVE, NULL, NULL, NULL), MK_ECONFLICT);
  assert_mk_fails(act(a1, MK_APP_EV_ADMIN_REJECT, "late", NULL, NULL), MK_ECONFLICT);
  json_t *q = queue("ca_sbx_zjca", NULL, NULL, 50);
  int found = 0;
  for (size_t i = 0; i < json_array_size(json_object_get(q, "items")); i++)
    if (strcmp(item_id(q, i), a1) == 0) {
      found = 1;
      it = json_array_get(json_object_get(q, "items"), i);
      assert_string_equal(
          json_string_value(json_object_get(json_object_get(it, "enterprise"), "name")),
          "嘉兴测试有限公司");
    }
  assert_true(found);
  json_decref(q);
  /* the admin refuses the other with a reason (bounded like the CA's) */
  fx_as_account(ACC3);
  assert_mk_fails(act(a2, MK_APP_EV_ADMIN_REJECT, "", NULL, field), MK_EINVAL);
  assert_string_equal(field, "reason");
  OK(act(a2, MK_APP_EV_ADMIN_REJECT, "非本公司员工", NULL, field));
  assert_string_equal(state_of(a2), MK_APP_ADMIN_REJECTED);
  assert_int_equal(
      fx_count("SELECT COUNT(*) FROM message WHERE account_id = $1 AND application_id = "
               "$2 AND type = 'admin_rejected' AND body = '非本公司员工'",
               ACC4, a2),
      1);
  fx_as_account(ACC4);
  assert_mk_fails(act(a2, MK_APP_EV_RESUBMIT, NULL, NULL, NULL), MK_ECONFLICT);
  fx_as_ca("ca_sbx_csj", NULL);
  assert_mk_fails(act(a2, MK_APP_EV_CA_APPROVE, NULL, NULL, NULL), MK_ENOTFOUND);
}

static void test_account_lists(void **state) {
  (void)state;
  char field[MK_JSON_FIELD_MAX] = "";
  json_t *out = NULL;
  /* ACC2: j1 (awaiting_ca), z2 (cancelled), a1 (awaiting_ca): newest first */
  fx_as_account(ACC2);
  OK(mk_svc_app_list(&fx.ctx, "applicant", NULL, NULL, 50, &out, field, &e));
  json_t *items = json_object_get(out, "items");
  assert_int_equal(json_array_size(items), 3);
  for (size_t i = 0; i + 1 < json_array_size(items); i++)
    assert_true(strcmp(json_string_value(json_object_get(json_array_get(items, i), "created_at")),
                       json_string_value(json_object_get(json_array_get(items, i + 1),
                                                         "created_at"))) >= 0);
  for (size_t i = 0; i < json_array_size(items); i++)
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(items, i), "applicant"), "account_id")),
                        ACC2);
  json_decref(out);
  /* pages of one, following next_cursor, give the same three */
  char cur[96] = "";
  const char *seen[3];
  char ids[3][MK_ID_MAX];
  for (int page = 0; page < 3; page++) {
    OK(mk_svc_app_list(&fx.ctx, NULL, NULL, page ? cur : NULL, 1, &out, field, &e));
    assert_int_equal(json_array_size(json_object_get(out, "items")), 1);
    snprintf(ids[page], MK_ID_MAX, "%s", item_id(out, 0));
    seen[page] = ids[page];
    const char *next = json_string_value(json_object_get(out, "next_cursor"));
    if (page < 2)
      snprintf(cur, sizeof cur, "%s", next);
    else
      assert_null(next);
    json_decref(out);
  }
  assert_true(strcmp(seen[0], seen[1]) != 0 && strcmp(seen[1], seen[2]) != 0 &&
              strcmp(seen[0], seen[2]) != 0);
  /* state filter */
  OK(mk_svc_app_list(&fx.ctx, NULL, MK_APP_CANCELLED, NULL, 50, &out, field, &e));
  assert_int_equal(json_array_size(json_object_get(out, "items")), 1);
  assert_string_equal(item_id(out, 0), z2);
  json_decref(out);
  /* the rejected one offers resubmission to its applicant */
  fx_as_account(ACC1);
  char r[MK_ID_MAX];
  apply(ACC1, "ca_sbx_csj", r, NULL);
  fx_as_ca("ca_sbx_csj", NULL);
  OK(act(r, MK_APP_EV_CA_REJECT, "请补充材料", NULL, NULL));
  fx_as_account(ACC1);
  OK(mk_svc_app_list(&fx.ctx, NULL, MK_APP_CA_REJECTED, NULL, 50, &out, field, &e));
  assert_string_equal(item_id(out, 0), r);
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(json_object_get(out, "items"), 0), "action")),
      "resubmit");
  json_decref(out);
  /* refusals */
  assert_mk_fails(mk_svc_app_list(&fx.ctx, "owner", NULL, NULL, 50, &out, field, &e), MK_EINVAL);
  assert_string_equal(field, "role");
  assert_mk_fails(mk_svc_app_list(&fx.ctx, NULL, "approved", NULL, 50, &out, field, &e), MK_EINVAL);
  assert_string_equal(field, "state");
  assert_mk_fails(mk_svc_app_list(&fx.ctx, NULL, NULL, "apl_x", 50, &out, field, &e), MK_EINVAL);
  assert_string_equal(field, "cursor");
  assert_mk_fails(mk_svc_app_list(&fx.ctx, NULL, NULL, NULL, 0, &out, field, &e), MK_EINVAL);
  fx_as_ca("ca_sbx_zjca", NULL);
  assert_mk_fails(mk_svc_app_list(&fx.ctx, NULL, NULL, NULL, 10, &out, field, &e), MK_EAUTH);
  assert_null(out);
}

static json_t *inbox(const char *acc, int unread, const char *after, const char *cursor,
                     int64_t limit) {
  json_t *out = NULL;
  char field[MK_JSON_FIELD_MAX] = "";
  fx_as_account(acc);
  OK(mk_svc_message_list(&fx.ctx, unread, after, cursor, limit, &out, field, &e));
  return out;
}

static void post(const char *acc, const char *type, const char *title) {
  mk_db *db = NULL;
  fx.clock++;
  OK(mk_store_acquire(fx.store, &db, &e));
  OK(mk_db_begin(db, &e));
  OK(mk_svc_message_post(&fx.ctx, db, acc, type, title, "正文", NULL, NULL, &e));
  OK(mk_db_commit(db, &e));
  mk_store_release(fx.store, db);
}

static void test_messages(void **state) {
  (void)state;
  char field[MK_JSON_FIELD_MAX] = "";
  json_t *out = NULL;
  /* ACC1: ca_rejected (z1), ca_approved (z1), ca_rejected (r): newest first */
  json_t *m = inbox(ACC1, 0, NULL, NULL, 20);
  json_t *items = json_object_get(m, "items");
  assert_int_equal(json_array_size(items), 3);
  assert_int_equal(json_integer_value(json_object_get(m, "unread_count")), 3);
  assert_int_equal(json_integer_value(json_object_get(m, "last_seq")), 3);
  const char *types[] = {"ca_rejected", "ca_approved", "ca_rejected"};
  for (size_t i = 0; i < 3; i++) {
    json_t *it = json_array_get(items, i);
    assert_int_equal(json_integer_value(json_object_get(it, "seq")), (json_int_t)(3 - i));
    assert_string_equal(json_string_value(json_object_get(it, "type")), types[i]);
    assert_true(json_is_null(json_object_get(it, "read_at")));
  }
  json_t *first = json_array_get(items, 2);
  assert_string_equal(json_string_value(json_object_get(first, "title")), "证书申领失败");
  assert_string_equal(json_string_value(json_object_get(first, "body")), "申请表不清晰");
  assert_string_equal(json_string_value(json_object_get(first, "application_id")), z1);
  assert_string_equal(json_string_value(json_object_get(first, "action")), "resubmit");
  char msg1[MK_ID_MAX];
  snprintf(msg1, sizeof msg1, "%s", json_string_value(json_object_get(first, "id")));
  json_decref(m);
  /* after and cursor */
  m = inbox(ACC1, 0, "2", NULL, 20);
  assert_int_equal(json_array_size(json_object_get(m, "items")), 1);
  json_decref(m);
  m = inbox(ACC1, 0, "3", NULL, 20);
  assert_int_equal(json_array_size(json_object_get(m, "items")), 0);
  assert_int_equal(json_integer_value(json_object_get(m, "last_seq")), 3);
  json_decref(m);
  m = inbox(ACC1, 0, NULL, NULL, 2);
  assert_string_equal(json_string_value(json_object_get(m, "next_cursor")), "2");
  json_decref(m);
  m = inbox(ACC1, 0, NULL, "2", 2);
  assert_int_equal(json_array_size(json_object_get(m, "items")), 1);
  assert_true(json_is_null(json_object_get(m, "next_cursor")));
  json_decref(m);
  /* reading marks it read, once, audited once */
  int64_t audits = fx_count("SELECT COUNT(*) FROM audit_event WHERE action = 'message.read'");
  fx_as_account(ACC1);
  OK(mk_svc_message_get(&fx.ctx, msg1, &out, &e));
  assert_false(json_is_null(json_object_get(out, "read_at")));
  json_decref(out);
  OK(mk_svc_message_get(&fx.ctx, msg1, &out, &e));
  json_decref(out);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM audit_event WHERE action = 'message.read'"),
                   audits + 1);
  m = inbox(ACC1, 1, NULL, NULL, 20);
  assert_int_equal(json_array_size(json_object_get(m, "items")), 2);
  assert_int_equal(json_integer_value(json_object_get(m, "unread_count")), 2);
  json_decref(m);
  /* nobody reads another's message */
  fx_as_account(ACC2);
  assert_mk_fails(mk_svc_message_get(&fx.ctx, msg1, &out, &e), MK_ENOTFOUND);
  assert_mk_fails(mk_svc_message_get(&fx.ctx, "msg_bogus", &out, &e), MK_ENOTFOUND);
  fx_as_ca("ca_sbx_zjca", NULL);
  assert_mk_fails(mk_svc_message_get(&fx.ctx, msg1, &out, &e), MK_EAUTH);
  assert_mk_fails(mk_svc_message_list(&fx.ctx, 0, NULL, NULL, 20, &out, field, &e), MK_EAUTH);
  /* read-all up to a seq leaves a later one unread */
  post(ACC1, "system", "通知");
  fx_as_account(ACC1);
  OK(mk_svc_message_read_all(&fx.ctx, 3, &out, &e));
  assert_int_equal(json_integer_value(json_object_get(out, "marked")), 2);
  assert_int_equal(json_integer_value(json_object_get(out, "unread_count")), 1);
  assert_int_equal(json_integer_value(json_object_get(out, "last_seq")), 4);
  json_decref(out);
  OK(mk_svc_message_read_all(&fx.ctx, 0, &out, &e));
  assert_int_equal(json_integer_value(json_object_get(out, "marked")), 1);
  assert_int_equal(json_integer_value(json_object_get(out, "unread_count")), 0);
  json_decref(out);
  /* seq is per account */
  m = inbox(ACC4, 0, NULL, NULL, 20);
  json_t *it = json_array_get(json_object_get(m, "items"), json_array_size(json_object_get(m, "items")) - 1);
  assert_int_equal(json_integer_value(json_object_get(it, "seq")), 1);
  json_decref(m);
  /* refusals */
  fx_as_account(ACC1);
  assert_mk_fails(mk_svc_message_list(&fx.ctx, 0, "-1", NULL, 20, &out, field, &e), MK_EINVAL);
  assert_string_equal(field, "after");
  assert_mk_fails(mk_svc_message_list(&fx.ctx, 0, "1e3", NULL, 20, &out, field, &e), MK_EINVAL);
  assert_mk_fails(mk_svc_message_list(&fx.ctx, 0, NULL, "0", 20, &out, field, &e), MK_EINVAL);
  assert_string_equal(field, "cursor");
  assert_mk_fails(mk_svc_message_list(&fx.ctx, 0, NULL, NULL, 101, &out, field, &e), MK_EINVAL);
  assert_null(out);
}

/* ---- the notifier ---- */

static pthread_mutex_t wake_mu = PTHREAD_MUTEX_INITIALIZER;
static int wakes[4];

static void on_wake(void *arg) {
  pthread_mutex_lock(&wake_mu);
  wakes[(intptr_t)arg]++;
  pthread_mutex_unlock(&wake_mu);
}

static int woken(int i) {
  pthread_mutex_lock(&wake_mu);
  int n = wakes[i];
  pthread_mutex_unlock(&wake_mu);
  return n;
}

/* Wait (up to 20 s, no time asserted) for watch i to fire. */
static int wait_woken(int i) {
  for (int k = 0; k < 2000 && woken(i) == 0; k++)
    usleep(10 * 1000);
  return woken(i);
}

static void test_notifier(void **state) {
  (void)state;
  mk_svc_watch *w[4] = {0};
  static int owner_a, owner_b;
  mk_svc_message_flush(); /* what the earlier tests posted */
  int64_t far = mk_time_mono_ms() + 3600 * 1000;
  /* not running: refused */
  assert_mk_fails(mk_svc_message_watch(ACC1, mk_svc_message_version(ACC1), far, &owner_a,
                                       on_wake, (void *)0, &w[0], &e),
                  MK_EINTERNAL);
  OK(mk_svc_message_notifier_start(&e));
  OK(mk_svc_message_notifier_start(&e)); /* counted */
  mk_svc_message_notifier_stop();

  /* a post wakes the account's watch after the flush, not before, and not another's */
  OK(mk_svc_message_watch(ACC1, mk_svc_message_version(ACC1), far, &owner_a, on_wake, (void *)0,
                          &w[0], &e));
  OK(mk_svc_message_watch(ACC2, mk_svc_message_version(ACC2), far, &owner_a, on_wake, (void *)1,
                          &w[1], &e));
  post(ACC1, "system", "一");
  assert_int_equal(woken(0), 0);
  mk_svc_message_flush();
  assert_int_equal(woken(0), 1);
  assert_int_equal(woken(1), 0);
  mk_svc_message_flush(); /* nothing pending: nothing happens */
  mk_svc_message_fire(w[0]); /* fired already: not again */
  assert_int_equal(woken(0), 1);
  mk_svc_message_unwatch(w[0]);
  /* a version taken before a post that was flushed fires at once */
  uint64_t v = mk_svc_message_version(ACC1);
  post(ACC1, "system", "二");
  mk_svc_message_flush();
  OK(mk_svc_message_watch(ACC1, v, far, &owner_a, on_wake, (void *)2, &w[2], &e));
  assert_int_equal(woken(2), 1);
  mk_svc_message_unwatch(w[2]);
  /* a rolled-back post wakes a waiter too (it reads, finds nothing, waits again) */
  OK(mk_svc_message_watch(ACC2, mk_svc_message_version(ACC2), far, &owner_b, on_wake, (void *)3,
                          &w[3], &e));
  mk_db *db = NULL;
  OK(mk_store_acquire(fx.store, &db, &e));
  OK(mk_db_begin(db, &e));
  OK(mk_svc_message_post(&fx.ctx, db, ACC2, "system", "回滚", "", NULL, NULL, &e));
  mk_db_rollback(db);
  mk_store_release(fx.store, db);
  mk_svc_message_flush();
  assert_int_equal(woken(1), 1);
  assert_int_equal(woken(3), 1);
  mk_svc_message_unwatch(w[1]);
  mk_svc_message_unwatch(w[3]);
  /* deadlines fire from the timer thread */
  memset(wakes, 0, sizeof wakes);
  OK(mk_svc_message_watch(ACC3, mk_svc_message_version(ACC3), mk_time_mono_ms() + 50, &owner_a,
                          on_wake, (void *)0, &w[0], &e));
  OK(mk_svc_message_watch(ACC3, mk_svc_message_version(ACC3), far, &owner_b, on_wake, (void *)1,
                          &w[1], &e));
  assert_int_equal(wait_woken(0), 1);
  assert_int_equal(woken(1), 0);
  mk_svc_message_unwatch(w[0]);
  /* an owner's watches, and only those, wake together (a server stopping) */
  OK(mk_svc_message_watch(ACC4, mk_svc_message_version(ACC4), far, &owner_a, on_wake, (void *)2,
                          &w[2], &e));
  mk_svc_message_wake_owner(&owner_b);
  assert_int_equal(woken(1), 1);
  assert_int_equal(woken(2), 0);
  mk_svc_message_unwatch(w[1]);
  /* an unwatched one never fires */
  mk_svc_message_unwatch(w[2]);
  mk_svc_message_wake_owner(&owner_a);
  assert_int_equal(woken(2), 0);
  /* more accounts in one request than are remembered: everyone wakes */
  memset(wakes, 0, sizeof wakes);
  OK(mk_svc_message_watch(ACC4, mk_svc_message_version(ACC4), far, &owner_a, on_wake, (void *)0,
                          &w[0], &e));
  for (int i = 0; i < 9; i++) {
    char id[MK_ID_MAX];
    snprintf(id, sizeof id, "acc_0000000000000000000000009%c", (char)('0' + i));
    mk_svc_message_pending(id);
  }
  mk_svc_message_flush();
  assert_int_equal(woken(0), 1);
  mk_svc_message_unwatch(w[0]);
  /* stopping fires what is left */
  OK(mk_svc_message_watch(ACC4, mk_svc_message_version(ACC4), far, &owner_a, on_wake, (void *)1,
                          &w[1], &e));
  mk_svc_message_notifier_stop();
  assert_int_equal(woken(1), 1);
  mk_svc_message_unwatch(w[1]);
}

static void test_ca_login_limit(void **state) {
  (void)state;
  char tok[MK_SESSION_TOKEN_MAX], csrf[MK_SESSION_TOKEN_MAX], field[MK_JSON_FIELD_MAX] = "";
  json_t *out = NULL;
  fx_as_operator(NULL);
  OK(mk_svc_ca_operator_add(&fx.ctx, "ca_sbx_zjca", "zj.review", "review pass 1", &out, field,
                            &e));
  json_decref(out);
  OK(mk_svc_ca_operator_add(&fx.ctx, "ca_sbx_jsca", "js.review", "review pass 2", &out, field,
                            &e));
  json_decref(out);
  /* five failures for one username, then even the right password waits */
  for (int i = 0; i < MK_CA_LOGIN_FAILS_USER; i++) {
    fx_as_anon("10.0.0.1");
    assert_mk_fails(mk_svc_ca_login(&fx.ctx, MK_SESSION_CA_OPERATOR, "zj.review", "wrong pass 9",
                                    tok, NULL, &out, &e),
                    MK_EAUTH);
    assert_null(out);
  }
  fx_as_anon("10.0.0.2");
  assert_mk_fails(mk_svc_ca_login(&fx.ctx, MK_SESSION_CA_OPERATOR, "zj.review", "review pass 1",
                                  tok, NULL, &out, &e),
                  MK_ERATE);
  assert_int_equal(fx.ctx.caller.role, MK_ROLE_ANONYMOUS);
  /* another username is not held up */
  OK(mk_svc_ca_login(&fx.ctx, MK_SESSION_CA_OPERATOR, "js.review", "review pass 2", tok, NULL,
                     &out, &e));
  assert_string_equal(json_string_value(json_object_get(out, "ca_id")), "ca_sbx_jsca");
  json_decref(out);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM audit_event WHERE action = "
                            "'ca_operator.login_failed' AND object_id = 'zj.review'"),
                   MK_CA_LOGIN_FAILS_USER);
  /* the window passes; a success clears the username's failures */
  fx.clock += MK_CA_LOGIN_WINDOW;
  fx_as_anon("10.0.0.2");
  OK(mk_svc_ca_login(&fx.ctx, MK_SESSION_CA_OPERATOR, "zj.review", "review pass 1", tok, NULL,
                     &out, &e));
  json_decref(out);
  assert_int_equal(
      fx_count("SELECT COUNT(*) FROM rate_event WHERE bucket = 'ca_login.user:zj.review'"), 0);
  /* one address trying many usernames is stopped at its own limit */
  for (int i = 0; i < MK_CA_LOGIN_FAILS_REMOTE; i++) {
    char user[32];
    snprintf(user, sizeof user, "guess%d", i);
    fx_as_anon("10.0.0.66");
    assert_mk_fails(mk_svc_ca_login(&fx.ctx, MK_SESSION_CA_OPERATOR, user, "whatever 1", tok,
                                    NULL, &out, &e),
                    MK_EAUTH);
  }
  fx_as_anon("10.0.0.66");
  assert_mk_fails(mk_svc_ca_login(&fx.ctx, MK_SESSION_CA_OPERATOR, "zj.review", "review pass 1",
                                  tok, NULL, &out, &e),
                  MK_ERATE);
  fx_as_anon("10.0.0.67");
  OK(mk_svc_ca_login(&fx.ctx, MK_SESSION_CONSOLE, "zj.review", "review pass 1", tok, csrf, &out,
                     &e));
  json_decref(out);
  /* malformed usernames share one bucket and never reach the table as typed */
  fx_as_anon("10.0.0.68");
  assert_mk_fails(mk_svc_ca_login(&fx.ctx, MK_SESSION_CA_OPERATOR, "Robert'); DROP", "x", tok,
                                  NULL, &out, &e),
                  MK_EAUTH);
  assert_int_equal(
      fx_count("SELECT COUNT(*) FROM rate_event WHERE bucket = 'ca_login.user:(malformed)'"), 1);
  /* a bucket's failures age out as new ones come */
  fx.clock += MK_CA_LOGIN_WINDOW + 1;
  fx_as_anon("10.0.0.66");
  assert_mk_fails(mk_svc_ca_login(&fx.ctx, MK_SESSION_CA_OPERATOR, "zj.review", "nope nope 1",
                                  tok, NULL, &out, &e),
                  MK_EAUTH);
  assert_int_equal(
      fx_count("SELECT COUNT(*) FROM rate_event WHERE bucket = 'ca_login.ip:10.0.0.66'"), 1);
}

static void test_audit_chain(void **state) {
  (void)state;
  int64_t n = 0;
  fx_as_operator(NULL);
  OK(mk_svc_audit_verify(&fx.ctx, &n, &e));
  assert_true(n > 30);
  /* each decision left its event, findable by account */
  assert_int_equal(fx_count("SELECT COUNT(*) FROM audit_event WHERE object_id = $1 AND action = "
                            "'application.ca_reject'",
                            z1),
                   1);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM audit_event WHERE object_id = $1 AND action = "
                            "'application.resubmit' AND account_id = $2",
                            z1, ACC1),
                   1);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM audit_event WHERE object_id = $1 AND action = "
                            "'application.ca_approve'",
                            z1),
                   1);
  /* a changed actor is found */
  fx_sql("UPDATE audit_event SET actor = 'cop_forged' WHERE action = 'application.ca_approve' AND "
         "object_id = $1",
         z1);
  assert_mk_fails(mk_svc_audit_verify(&fx.ctx, &n, &e), MK_ECRYPTO);
  assert_non_null(strstr(e.msg, "altered"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_queue_isolation), cmocka_unit_test(test_ca_detail_and_attachments),
      cmocka_unit_test(test_decisions),       cmocka_unit_test(test_admin_decisions),
      cmocka_unit_test(test_account_lists),   cmocka_unit_test(test_messages),
      cmocka_unit_test(test_notifier),        cmocka_unit_test(test_ca_login_limit),
      cmocka_unit_test(test_audit_chain),
  };
  return cmocka_run_group_tests(tests, setup, fx_teardown);
}
