/* The organisation services without HTTP (svc/personal.c, enterprise.c,
 * member.c, authz.c and their hooks in the application engine): personal
 * applications, claims decided by a CA operator, joins decided by the
 * admin then the CA, invitations, removal, transfer of the admin role,
 * changes of enterprise information and authorisations, with the refusals:
 * unverified callers, duplicate claims, wrong admin details, actions out of
 * state, staff doing an admin's work and another enterprise's admin. Every
 * caller is an account session made with mk_svc_session_create and checked
 * with mk_svc_session_check, as the HTTP layer does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "svc_fixture.h"
#include "util/time.h"

/* GB 11643 ID numbers and GB 32100 credit codes with valid check
 * characters (the first of each from INTEROP.md, the others computed the
 * same way). */
#define ID_A "330402199003071237"
#define ID_B "320602198506154565"
#define ID_G "330402199003071210"
#define USCC_1 "91330402MA2B3C4D53"
#define USCC_2 "91320602MA1X2Y3W4J"
#define USCC_3 "91110000600037341L"
#define USCC_4 "91330100MA27XL0K1J"
#define USCC_5 "91330100MA27XL0K2M"
#define USCC_6 "91330100MA27XL0K3Q"

/* The images the tests upload (tests/data), read once. */
static struct {
  unsigned char *png, *jpg;
  size_t png_len, jpg_len;
} img;

/* ---- fixture ------------------------------------------------------------- */

/* The text of the first column of sql's first row (arg binds $1). */
static char *text_of(const char *sql, const char *arg) {
  static char buf[512];
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  mk_err e = {0};
  assert_mk_ok(mk_store_acquire(fx.store, &db, &e));
  assert_mk_ok(mk_db_prepare(db, sql, &st, &e));
  assert_mk_ok(mk_stmt_bind_text(st, 1, arg, &e));
  assert_int_equal(mk_stmt_step(st, &e), 1);
  const char *t = mk_stmt_text(st, 0);
  snprintf(buf, sizeof buf, "%s", t ? t : "(null)");
  mk_stmt_finish(st);
  mk_store_release(fx.store, db);
  return buf;
}

static unsigned char *read_fixture(const char *name, size_t *len) {
  const char *src = getenv("MKEY_SOURCE_DIR");
  char path[1024];
  snprintf(path, sizeof path, "%s/tests/data/%s", src ? src : ".", name);
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    fail_msg("cannot open %s", path);
  unsigned char *buf = malloc(1 << 16);
  *len = fread(buf, 1, 1 << 16, f);
  fclose(f);
  return buf;
}

static const char *ca_profile(const char *review, const char *extra) {
  static char buf[512];
  snprintf(buf, sizeof buf,
           "{\"validity\":[{\"years\":1,\"fee_fen\":20000},{\"years\":2,\"fee_fen\":36000}],"
           "\"attachments\":[{\"id\":\"application_form\",\"name\":\"数字证书申请表\"}%s],"
           "\"review\":\"%s\"}",
           extra, review);
  return buf;
}

static void add_ca(const char *id, const char *review, const char *extra) {
  fx_sql("INSERT INTO ca(id, name, adapter, key_type, profile, origin, base_url, crl_number, "
         "created_at, updated_at) VALUES ($1, $1, 'builtin', 'sm2', $2, 'sandbox', "
         "'http://127.0.0.1', 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
         id, ca_profile(review, extra));
}

static int setup(void **state) {
  (void)state;
  if (fx_open("org", FX_KEK, 2) < 0)
    return -1;
  /* Review policies as the sandbox CAs have them (docs/api.md). */
  add_ca("ca_sbx_zjca", "manual", "");
  add_ca("ca_sbx_jsca", "manual", ",{\"id\":\"business_license\",\"name\":\"营业执照副本\"}");
  add_ca("ca_sbx_ahca", "auto", ",{\"id\":\"power_of_attorney\",\"name\":\"授权委托书\"}");
  fx_exec("INSERT INTO platform(id, name, kind, province, city, lat_e6, lon_e6, created_at) "
          "VALUES ('plt_csj_alliance', '长三角CA互认平台', 'alliance', '长三角', '长三角', "
          "31230000, 121470000, '2026-01-01T00:00:00Z') ON CONFLICT (id) DO NOTHING");
  fx_exec("INSERT INTO platform(id, name, kind, province, city, lat_e6, lon_e6, alliance_id, "
          "created_at) VALUES ('plt_jiaxing', '嘉兴市公共资源交易平台', 'platform', '浙江省', "
          "'嘉兴市', 30750000, 120760000, 'plt_csj_alliance', '2026-01-01T00:00:00Z'), "
          "('plt_nantong', '南通市公共资源交易平台', 'platform', '江苏省', '南通市', 31980000, "
          "120890000, 'plt_csj_alliance', '2026-01-01T00:00:00Z') ON CONFLICT (id) DO NOTHING");
  img.png = read_fixture("form.png", &img.png_len);
  img.jpg = read_fixture("license.jpg", &img.jpg_len);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  free(img.png);
  free(img.jpg);
  return fx_teardown(state);
}

/* ---- people ---------------------------------------------------------------- */

typedef struct person {
  char account[MK_ID_MAX], device[MK_ID_MAX], token[MK_SESSION_TOKEN_MAX];
} person;

/* A valid GB 11643 ID number made from a mobile number, distinct for
 * distinct numbers of the form the tests use (13, a digit, 0000, four
 * digits): birth year from the third digit, month, day and sequence from
 * the last six. */
static void id_from_phone(const char *phone, char out[19]) {
  static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  unsigned n = (unsigned)strtoul(phone + 5, NULL, 10) % 1000000u;
  int sum = 0;
  char buf[32];
  snprintf(buf, sizeof buf, "330402%04u%02u%02u%03u", 1960u + (unsigned)(phone[2] - '0') % 10u,
           1u + (n / 28000u) % 12u, 1u + (n / 1000u) % 28u, n % 1000u);
  memcpy(out, buf, 17);
  for (int i = 0; i < 17; i++)
    sum += (out[i] - '0') * w[i];
  out[17] = "10X98765432"[sum % 11];
  out[18] = '\0';
}

/* An account with phone, verified as name (ID number id_number, or one
 * made from the phone) unless name is NULL, and a session on a device of
 * its own. */
static void person_new(person *p, const char *phone, const char *name, const char *id_number) {
  char idn[19];
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  mk_err e = {0};
  memset(p, 0, sizeof *p);
  assert_mk_ok(mk_id_new(p->account, "acc", &e));
  assert_mk_ok(mk_id_new(p->device, "dev", &e));
  assert_mk_ok(mk_store_acquire(fx.store, &db, &e));
  assert_mk_ok(mk_db_begin(db, &e));
  assert_mk_ok(mk_db_prepare(db,
                             "INSERT INTO account(id, phone, created_at, updated_at) VALUES ($1, "
                             "$2, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                             &st, &e));
  assert_mk_ok(mk_stmt_bind_text(st, 1, p->account, &e));
  assert_mk_ok(mk_stmt_bind_text(st, 2, phone, &e));
  assert_int_equal(mk_stmt_step(st, &e), 0);
  mk_stmt_finish(st);
  if (name != NULL) {
    assert_mk_ok(mk_db_prepare(db,
                               "INSERT INTO identity(account_id, name, id_number, method, "
                               "verified_at) VALUES ($1, $2, $3, 'cfca', '2026-01-01T00:00:00Z')",
                               &st, &e));
    assert_mk_ok(mk_stmt_bind_text(st, 1, p->account, &e));
    assert_mk_ok(mk_stmt_bind_text(st, 2, name, &e));
    if (id_number == NULL)
      id_from_phone(phone, idn);
    assert_mk_ok(mk_stmt_bind_text(st, 3, id_number ? id_number : idn, &e));
    assert_int_equal(mk_stmt_step(st, &e), 0);
    mk_stmt_finish(st);
  }
  fx.ctx.caller = (mk_caller){.role = MK_ROLE_ANONYMOUS};
  assert_mk_ok(mk_svc_session_create(&fx.ctx, db, MK_SESSION_ACCOUNT, p->account, p->device,
                                     p->token, NULL, NULL, &e));
  assert_mk_ok(mk_db_commit(db, &e));
  mk_store_release(fx.store, db);
}

/* Act as p: authenticate its session as the HTTP layer does. */
static void as(const person *p) {
  mk_err e = {0};
  fx.ctx.caller = (mk_caller){.role = MK_ROLE_ANONYMOUS, .request_id = "", .remote = "127.0.0.1"};
  if (mk_svc_session_check(&fx.ctx, MK_SESSION_ACCOUNT, p->token, p->device, 0, NULL, &e) != 0)
    fail_msg("session check: %s", e.msg);
  assert_int_equal(fx.ctx.caller.role, MK_ROLE_ACCOUNT);
  assert_string_equal(fx.ctx.caller.account_id, p->account);
}

/* Act as an operator of ca_id (no session needed: the role is what the
 * engine checks). */
static void as_ca(const char *ca_id) {
  fx.ctx.caller = (mk_caller){.role = MK_ROLE_CA_OPERATOR, .request_id = "", .remote = ""};
  snprintf(fx.ctx.caller.ca_operator_id, MK_ID_MAX, "cop_%s", ca_id + 3);
  snprintf(fx.ctx.caller.ca_id, MK_CALLER_CA_ID_MAX, "%s", ca_id);
}

/* Upload the PNG (or the JPEG) as the current caller. */
static char *upload(int jpeg) {
  static char ids[8][MK_ID_MAX];
  static int next;
  json_t *out = NULL;
  mk_err e = {0};
  assert_mk_ok(mk_svc_attachment_put(&fx.ctx, jpeg ? "image/jpeg" : "image/png",
                                     jpeg ? img.jpg : img.png, jpeg ? img.jpg_len : img.png_len,
                                     &out, &e));
  char *id = ids[next++ % 8];
  snprintf(id, MK_ID_MAX, "%s", json_string_value(json_object_get(out, "id")));
  json_decref(out);
  return id;
}

static json_t *body_of(const char *text) {
  json_t *b = NULL;
  mk_err e = {0};
  if (mk_json_parse_object(text, strlen(text), 1 << 16, &b, &e) != 0)
    fail_msg("bad test body %s: %s", text, e.msg);
  return b;
}

/* Run an svc call taking a body; returns its code, *out (may be NULL) the
 * answer, field the failing field. */
typedef int (*body_call)(mk_svc_ctx *, const json_t *, json_t **, char *, mk_err *);
typedef int (*body_id_call)(mk_svc_ctx *, const char *, const json_t *, json_t **, char *,
                            mk_err *);
static char field[MK_JSON_FIELD_MAX];
static mk_err last;

static int call(body_call fn, const char *text, json_t **out) {
  json_t *b = body_of(text), *o = NULL;
  field[0] = '\0';
  mk_err_clear(&last);
  int rc = fn(&fx.ctx, b, &o, field, &last);
  json_decref(b);
  if (out != NULL)
    *out = o;
  else
    json_decref(o);
  return rc;
}

static int call_id(body_id_call fn, const char *id, const char *text, json_t **out) {
  json_t *b = body_of(text), *o = NULL;
  field[0] = '\0';
  mk_err_clear(&last);
  int rc = fn(&fx.ctx, id, b, &o, field, &last);
  json_decref(b);
  if (out != NULL)
    *out = o;
  else
    json_decref(o);
  return rc;
}

static const char *str(const json_t *o, const char *path) {
  char key[64];
  const char *dot = strchr(path, '.');
  if (dot == NULL)
    return json_string_value(json_object_get(o, path));
  snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
  return str(json_object_get(o, key), dot + 1);
}

/* Apply event to app as the current caller, in a transaction of its own. */
static int transition(const char *app, int event, const char *reason) {
  mk_err_clear(&last);
  return fx_app_transition(app, event, reason, &last);
}

static const char *app_state(const char *app) {
  return text_of("SELECT state FROM application WHERE id = $1", app);
}

/* A claimed enterprise with admin p (claimed through zjca, approved by its
 * operator); ent receives its id. */
static void claimed(const person *p, const char *name, const char *uscc, char ent[MK_ID_MAX]) {
  json_t *app = NULL;
  char body[1024];
  as(p);
  const char *lic = upload(1);
  char form[MK_ID_MAX];
  snprintf(form, sizeof form, "%s", upload(0));
  snprintf(body, sizeof body,
           "{\"name\":\"%s\",\"uscc\":\"%s\",\"legal_name\":\"王五\",\"legal_id_number\":\"%s\","
           "\"license\":\"%s\",\"platform_id\":\"plt_jiaxing\",\"ca_id\":\"ca_sbx_zjca\","
           "\"years\":1,\"attachments\":[{\"role\":\"application_form\",\"id\":\"%s\"}]}",
           name, uscc, ID_G, lic, form);
  if (call(mk_svc_enterprise_claim, body, &app) != 0)
    fail_msg("claim: %s (%s)", last.msg, field);
  snprintf(ent, MK_ID_MAX, "%s", str(app, "enterprise.id"));
  char id[MK_ID_MAX];
  snprintf(id, sizeof id, "%s", str(app, "id"));
  json_decref(app);
  as_ca("ca_sbx_zjca");
  assert_mk_ok(transition(id, MK_APP_EV_CA_APPROVE, NULL));
}

/* p joins ent through the admin and zjca with perms; returns the member id. */
static const char *joined(const person *p, const person *admin, const char *admin_name,
                          const char *admin_phone, const char *ent, const char *perms) {
  static char member[MK_ID_MAX];
  json_t *app = NULL;
  char body[1024], id[MK_ID_MAX];
  as(p);
  const char *form = upload(0);
  snprintf(body, sizeof body,
           "{\"admin_name\":\"%s\",\"admin_phone\":\"%s\",\"permissions\":%s,"
           "\"platform_id\":\"plt_jiaxing\",\"ca_id\":\"ca_sbx_zjca\",\"years\":1,"
           "\"attachments\":[{\"role\":\"application_form\",\"id\":\"%s\"}]}",
           admin_name, admin_phone, perms, form);
  if (call_id(mk_svc_enterprise_join, ent, body, &app) != 0)
    fail_msg("join: %s (%s)", last.msg, field);
  snprintf(id, sizeof id, "%s", str(app, "id"));
  json_decref(app);
  as(admin);
  assert_mk_ok(transition(id, MK_APP_EV_ADMIN_APPROVE, NULL));
  as_ca("ca_sbx_zjca");
  assert_mk_ok(transition(id, MK_APP_EV_CA_APPROVE, NULL));
  snprintf(member, sizeof member, "%s",
           text_of("SELECT id FROM membership WHERE account_id = $1", p->account));
  return member;
}

/* ---- personal applications ---------------------------------------------------- */

static void test_personal(void **state) {
  (void)state;
  person p, q;
  json_t *app = NULL;
  char body[512], form[MK_ID_MAX], app_id[MK_ID_MAX];
  person_new(&p, "13800000001", NULL, NULL);
  as(&p);
  snprintf(form, sizeof form, "%s", upload(0));
  snprintf(body, sizeof body,
           "{\"platform_id\":\"plt_jiaxing\",\"ca_id\":\"ca_sbx_zjca\",\"years\":1,"
           "\"attachments\":[{\"role\":\"application_form\",\"id\":\"%s\"}]}",
           form);
  /* Not verified yet: refused whatever the body says. */
  assert_mk_fails(call(mk_svc_personal_apply, body, NULL), MK_EPERM);
  assert_non_null(strstr(last.msg, "实名认证"));
  person_new(&p, "13800000002", "张三", ID_A);
  as(&p);
  snprintf(form, sizeof form, "%s", upload(0));
  snprintf(body, sizeof body,
           "{\"platform_id\":\"plt_jiaxing\",\"ca_id\":\"ca_sbx_zjca\",\"years\":1,"
           "\"attachments\":[{\"role\":\"application_form\",\"id\":\"%s\"}]}",
           form);
  /* Bad inputs name their field. */
  assert_mk_fails(call(mk_svc_personal_apply,
                       "{\"platform_id\":\"plt_jiaxing\",\"ca_id\":\"ca_sbx_zjca\",\"years\":5}",
                       NULL),
                  MK_EINVAL);
  assert_string_equal(field, "years");
  assert_mk_fails(call(mk_svc_personal_apply,
                       "{\"platform_id\":\"plt_nowhere\",\"ca_id\":\"ca_sbx_zjca\",\"years\":1}",
                       NULL),
                  MK_EINVAL);
  assert_string_equal(field, "platform");
  assert_mk_fails(call(mk_svc_personal_apply,
                       "{\"platform_id\":\"plt_jiaxing\",\"ca_id\":\"ca_sbx_zjca\",\"years\":1,"
                       "\"colour\":\"red\"}",
                       NULL),
                  MK_EINVAL);
  assert_mk_fails(call(mk_svc_personal_apply,
                       "{\"platform_id\":\"plt_jiaxing\",\"ca_id\":\"ca_sbx_zjca\",\"years\":1}",
                       NULL),
                  MK_EINVAL);
  assert_string_equal(field, "attachments.application_form");
  assert_mk_fails(call(mk_svc_personal_apply,
                       "{\"platform_id\":\"plt_jiaxing\",\"ca_id\":\"ca_sbx_zjca\",\"years\":1,"
                       "\"attachments\":[{\"role\":\"Application Form\",\"id\":\"att_x\"}]}",
                       NULL),
                  MK_EINVAL);
  assert_string_equal(field, "attachments");
  /* Somebody else's upload is not yours to send. */
  person_new(&q, "13800000003", "李四", ID_B);
  as(&q);
  const char *theirs = upload(0);
  char other[512];
  snprintf(other, sizeof other,
           "{\"platform_id\":\"plt_jiaxing\",\"ca_id\":\"ca_sbx_zjca\",\"years\":1,"
           "\"attachments\":[{\"role\":\"application_form\",\"id\":\"%s\"}]}",
           theirs);
  as(&p);
  assert_mk_fails(call(mk_svc_personal_apply, other, NULL), MK_EINVAL);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM application"), 0);
  /* The real one: subject from the verified identity, ID number masked. */
  assert_mk_ok(call(mk_svc_personal_apply, body, &app));
  assert_string_equal(str(app, "kind"), "personal");
  assert_string_equal(str(app, "state"), MK_APP_AWAITING_CA);
  assert_string_equal(str(app, "data.name"), "张三");
  assert_string_equal(str(app, "data.id_number"), "330402********1237");
  char *dump = json_dumps(app, JSON_COMPACT);
  assert_null(strstr(dump, ID_A));
  free(dump);
  snprintf(app_id, sizeof app_id, "%s", str(app, "id"));
  json_decref(app);
  /* One live application per CA. */
  assert_mk_fails(call(mk_svc_personal_apply, body, NULL), MK_ECONFLICT);
  /* The CA decides; another CA's operator cannot. */
  as_ca("ca_sbx_jsca");
  assert_mk_fails(transition(app_id, MK_APP_EV_CA_APPROVE, NULL), MK_ENOTFOUND);
  as_ca("ca_sbx_zjca");
  assert_mk_ok(transition(app_id, MK_APP_EV_CA_APPROVE, NULL));
  assert_string_equal(app_state(app_id), MK_APP_AWAITING_PAYMENT);
  assert_mk_fails(transition(app_id, MK_APP_EV_CA_APPROVE, NULL), MK_ECONFLICT);
  /* A CA with automatic review approves at once (its extra attachment too). */
  as(&p);
  char pow[MK_ID_MAX];
  snprintf(pow, sizeof pow, "%s", upload(0));
  snprintf(body, sizeof body,
           "{\"platform_id\":\"plt_csj_alliance\",\"ca_id\":\"ca_sbx_ahca\",\"years\":2,"
           "\"attachments\":[{\"role\":\"application_form\",\"id\":\"%s\"},"
           "{\"role\":\"power_of_attorney\",\"id\":\"%s\"}]}",
           form, pow);
  assert_mk_ok(call(mk_svc_personal_apply, body, &app));
  assert_string_equal(str(app, "state"), MK_APP_AWAITING_PAYMENT);
  json_decref(app);
}

/* ---- claims ------------------------------------------------------------------------ */

static void test_claim(void **state) {
  (void)state;
  person a, b;
  json_t *app = NULL;
  char body[1024], lic[MK_ID_MAX], form[MK_ID_MAX], app_id[MK_ID_MAX], ent[MK_ID_MAX];
  person_new(&a, "13900000001", "赵六", NULL);
  person_new(&b, "13900000002", "钱七", NULL);
  as(&a);
  snprintf(lic, sizeof lic, "%s", upload(1));
  snprintf(form, sizeof form, "%s", upload(0));
#define CLAIM(name, uscc, legal_id)                                                                  \
  (snprintf(body, sizeof body,                                                                       \
            "{\"name\":\"%s\",\"uscc\":\"%s\",\"legal_name\":\"王五\",\"legal_id_number\":\"%s\"," \
            "\"license\":\"%s\",\"platform_id\":\"plt_jiaxing\",\"ca_id\":\"ca_sbx_zjca\","          \
            "\"years\":1,\"attachments\":[{\"role\":\"application_form\",\"id\":\"%s\"}]}",          \
            name, uscc, legal_id, lic, form),                                                        \
   body)
  /* Validators first. */
  assert_mk_fails(call(mk_svc_enterprise_claim,
                       CLAIM("杭州某某科技有限公司", "91330402MA2B3C4D54", ID_G), NULL),
                  MK_EINVAL);
  assert_string_equal(field, "uscc");
  assert_mk_fails(call(mk_svc_enterprise_claim,
                       CLAIM("杭州某某科技有限公司", USCC_1, "330402199003071238"), NULL),
                  MK_EINVAL);
  assert_string_equal(field, "legal_id_number");
  assert_mk_fails(call(mk_svc_enterprise_claim, CLAIM("杭", USCC_1, ID_G), NULL), MK_EINVAL);
  assert_string_equal(field, "name");
  assert_int_equal(fx_count("SELECT COUNT(*) FROM enterprise"), 0);
  /* Typed with spaces and in lower case: normalised, then valid. */
  assert_mk_ok(call(mk_svc_enterprise_claim,
                    CLAIM("杭州某某科技有限公司", "91330402ma2b3c4d53", "330402 19900307 1210"),
                    &app));
  assert_string_equal(str(app, "kind"), "enterprise_claim");
  assert_string_equal(str(app, "state"), MK_APP_AWAITING_CA);
  assert_string_equal(str(app, "enterprise.state"), "claiming");
  assert_string_equal(str(app, "enterprise.uscc"), USCC_1);
  assert_string_equal(str(app, "data.legal_id_number"), "330402********1210");
  snprintf(app_id, sizeof app_id, "%s", str(app, "id"));
  snprintf(ent, sizeof ent, "%s", str(app, "enterprise.id"));
  json_decref(app);
  assert_string_equal(text_of("SELECT legal_id_number FROM enterprise WHERE id = $1", ent), ID_G);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM application_attachment WHERE application_id = $1 "
                            "AND role = 'business_license'",
                            app_id),
                   1);
  /* A second live claim of the same credit code, by anyone, is refused. */
  assert_mk_fails(call(mk_svc_enterprise_claim, body, NULL), MK_ECONFLICT);
  as(&b);
  snprintf(lic, sizeof lic, "%s", upload(1));
  snprintf(form, sizeof form, "%s", upload(0));
  assert_mk_fails(call(mk_svc_enterprise_claim, CLAIM("杭州某某科技有限公司", USCC_1, ID_G), NULL),
                  MK_ECONFLICT);
  assert_non_null(strstr(last.msg, "under review"));
  /* Not admin before the CA says so. */
  assert_int_equal(fx_count("SELECT COUNT(*) FROM membership WHERE enterprise_id = $1", ent), 0);
  as(&a);
  json_t *got = NULL;
  assert_mk_fails(mk_svc_enterprise_get(&fx.ctx, ent, &got, &last), MK_ENOTFOUND);
  /* The CA rejects (reason required), a rejected claim is still live. */
  as_ca("ca_sbx_zjca");
  assert_mk_fails(transition(app_id, MK_APP_EV_CA_REJECT, ""), MK_EINVAL);
  assert_mk_ok(transition(app_id, MK_APP_EV_CA_REJECT, "营业执照不清晰"));
  assert_string_equal(app_state(app_id), MK_APP_CA_REJECTED);
  as(&b);
  assert_mk_fails(call(mk_svc_enterprise_claim, body, NULL), MK_ECONFLICT);
  /* Resubmitted with a corrected name, the legal representative's ID number in
   * full and a new licence photo (what `mkey app resubmit` sends), then
   * approved: the enterprise takes the corrected information, the claimer is
   * admin with every permission. */
  as(&a);
  char lic2[MK_ID_MAX];
  snprintf(lic2, sizeof lic2, "%s", upload(1));
  {
    mk_db *db = NULL;
    mk_err e = {0};
    json_t *changes =
        body_of("{\"name\":\"杭州某某科技股份有限公司\",\"legal_id_number\":\"" ID_A "\"}");
    const char *ids[] = {lic2}, *roles[] = {"business_license"};
    mk_app_new more = {.attachment_ids = ids, .attachment_roles = roles, .nattachments = 1};
    assert_mk_ok(mk_store_acquire(fx.store, &db, &e));
    assert_mk_ok(mk_db_begin(db, &e));
    assert_mk_ok(mk_svc_app_transition(&fx.ctx, db, app_id, MK_APP_EV_RESUBMIT, NULL, changes,
                                       &more, NULL, &e));
    assert_mk_ok(mk_db_commit(db, &e));
    mk_store_release(fx.store, db);
    json_decref(changes);
  }
  as_ca("ca_sbx_zjca");
  assert_mk_ok(transition(app_id, MK_APP_EV_CA_APPROVE, NULL));
  char want[256];
  snprintf(want, sizeof want, "杭州某某科技股份有限公司 %s %s", ID_A, lic2);
  assert_string_equal(text_of("SELECT name || ' ' || legal_id_number || ' ' || "
                              "license_attachment_id FROM enterprise WHERE id = $1",
                              ent),
                      want);
  assert_string_equal(text_of("SELECT state FROM enterprise WHERE id = $1", ent), "claimed");
  assert_string_equal(text_of("SELECT admin_account_id FROM enterprise WHERE id = $1", ent),
                      a.account);
  assert_string_equal(text_of("SELECT role FROM membership WHERE enterprise_id = $1", ent),
                      "admin");
  assert_string_equal(text_of("SELECT permissions FROM membership WHERE enterprise_id = $1", ent),
                      "[\"login\",\"sign\",\"seal\",\"encrypt\",\"decrypt\"]");
  assert_int_equal(fx_count("SELECT COUNT(*) FROM message WHERE account_id = $1 AND type = "
                            "'ca_approved'",
                            a.account),
                   1);
  as(&a);
  assert_mk_ok(mk_svc_enterprise_get(&fx.ctx, ent, &got, &last));
  assert_string_equal(str(got, "my_role"), "admin");
  assert_string_equal(str(got, "legal_id_number"), "330402********1237");
  assert_string_equal(str(got, "admin.name"), "赵六");
  json_decref(got);
  assert_mk_ok(mk_svc_enterprise_mine(&fx.ctx, &got, &last));
  assert_int_equal(json_array_size(json_object_get(got, "items")), 1);
  assert_string_equal(str(json_array_get(json_object_get(got, "items"), 0), "role"), "admin");
  json_decref(got);
  /* A claimed credit code cannot be claimed again. */
  as(&b);
  assert_mk_fails(call(mk_svc_enterprise_claim, body, NULL), MK_ECONFLICT);
  assert_non_null(strstr(last.msg, "claimed already"));
  /* Out of state: the approved claim cannot be approved, rejected or withdrawn. */
  as_ca("ca_sbx_zjca");
  assert_mk_fails(transition(app_id, MK_APP_EV_CA_APPROVE, NULL), MK_ECONFLICT);
  assert_mk_fails(transition(app_id, MK_APP_EV_CA_REJECT, "晚了"), MK_ECONFLICT);
  as(&a);
  assert_mk_fails(transition(app_id, MK_APP_EV_CANCEL, NULL), MK_ECONFLICT);
  /* and a claim is never the admin's to decide, not even its own */
  assert_mk_fails(transition(app_id, MK_APP_EV_ADMIN_APPROVE, NULL), MK_EPERM);
#undef CLAIM
}

/* A withdrawn claim releases the enterprise; the next claimer reuses the row,
 * and a CA with automatic review makes it admin at once. */
static void test_claim_released(void **state) {
  (void)state;
  person a, b;
  json_t *app = NULL;
  char body[1024], app_id[MK_ID_MAX], ent[MK_ID_MAX];
  person_new(&a, "13900000011", "孙八", NULL);
  person_new(&b, "13900000012", "周九", NULL);
  as(&a);
  const char *lic = upload(1);
  char form[MK_ID_MAX];
  snprintf(form, sizeof form, "%s", upload(0));
  snprintf(body, sizeof body,
           "{\"name\":\"嘉兴某某建设有限公司\",\"uscc\":\"%s\",\"legal_name\":\"王五\","
           "\"legal_id_number\":\"%s\",\"license\":\"%s\",\"platform_id\":\"plt_jiaxing\","
           "\"ca_id\":\"ca_sbx_zjca\",\"years\":1,\"attachments\":[{\"role\":"
           "\"application_form\",\"id\":\"%s\"}]}",
           USCC_2, ID_G, lic, form);
  assert_mk_ok(call(mk_svc_enterprise_claim, body, &app));
  snprintf(app_id, sizeof app_id, "%s", str(app, "id"));
  snprintf(ent, sizeof ent, "%s", str(app, "enterprise.id"));
  json_decref(app);
  /* Only the applicant withdraws. */
  as(&b);
  assert_mk_fails(transition(app_id, MK_APP_EV_CANCEL, NULL), MK_ENOTFOUND);
  as(&a);
  assert_mk_ok(transition(app_id, MK_APP_EV_CANCEL, NULL));
  assert_string_equal(app_state(app_id), MK_APP_CANCELLED);
  assert_string_equal(text_of("SELECT state FROM enterprise WHERE id = $1", ent), "claiming");
  assert_string_equal(text_of("SELECT COALESCE(license_attachment_id, '-') FROM enterprise "
                              "WHERE id = $1",
                              ent),
                      "-");
  assert_int_equal(fx_count("SELECT COUNT(*) FROM audit_event WHERE action = 'enterprise.released' "
                            "AND object_id = $1",
                            ent),
                   1);
  /* b claims through the automatic CA: claimed inside the request. */
  as(&b);
  char lic2[MK_ID_MAX], f2[MK_ID_MAX], pow[MK_ID_MAX];
  snprintf(lic2, sizeof lic2, "%s", upload(1));
  snprintf(f2, sizeof f2, "%s", upload(0));
  snprintf(pow, sizeof pow, "%s", upload(0));
  snprintf(body, sizeof body,
           "{\"name\":\"嘉兴某某建设有限公司\",\"uscc\":\"%s\",\"legal_name\":\"王五\","
           "\"legal_id_number\":\"%s\",\"license\":\"%s\",\"platform_id\":\"plt_csj_alliance\","
           "\"ca_id\":\"ca_sbx_ahca\",\"years\":1,\"attachments\":[{\"role\":"
           "\"application_form\",\"id\":\"%s\"},{\"role\":\"power_of_attorney\",\"id\":\"%s\"}]}",
           USCC_2, ID_G, lic2, f2, pow);
  assert_mk_ok(call(mk_svc_enterprise_claim, body, &app));
  assert_string_equal(str(app, "state"), MK_APP_AWAITING_PAYMENT);
  assert_string_equal(str(app, "enterprise.id"), ent);
  assert_string_equal(str(app, "enterprise.state"), "claimed");
  json_decref(app);
  assert_string_equal(text_of("SELECT admin_account_id FROM enterprise WHERE id = $1", ent),
                      b.account);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM membership WHERE enterprise_id = $1", ent), 1);
  /* The licence given as an attachment role is refused: it has its field. */
  as(&a);
  snprintf(body, sizeof body,
           "{\"name\":\"某某公司\",\"uscc\":\"%s\",\"legal_name\":\"王五\","
           "\"legal_id_number\":\"%s\",\"license\":\"%s\",\"platform_id\":\"plt_jiaxing\","
           "\"ca_id\":\"ca_sbx_zjca\",\"years\":1,\"attachments\":[{\"role\":"
           "\"business_license\",\"id\":\"%s\"}]}",
           USCC_3, ID_G, form, form);
  assert_mk_fails(call(mk_svc_enterprise_claim, body, NULL), MK_EINVAL);
  assert_string_equal(field, "attachments");
}

/* ---- query and join ------------------------------------------------------------------- */

static void test_query_and_join(void **state) {
  (void)state;
  person admin, v, s, t, unverified;
  json_t *out = NULL, *app = NULL;
  char ent[MK_ID_MAX], app_id[MK_ID_MAX], body[1024], formid[MK_ID_MAX], detail[256];
  person_new(&admin, "13700000001", "吴十", NULL);
  person_new(&v, "13700000002", "褚四", NULL);
  person_new(&s, "13700000003", "郑一", NULL);
  person_new(&t, "13700000004", "冯二", NULL);
  person_new(&unverified, "13700000005", NULL, NULL);
  claimed(&admin, "南通某某工程有限公司", USCC_3, ent);
  /* Query: verified callers only, both fields, claimed enterprises only. */
  as(&unverified);
  assert_mk_fails(
      mk_svc_enterprise_query(&fx.ctx, "南通某某工程有限公司", USCC_3, &out, field, &last),
      MK_EPERM);
  as(&v);
  assert_mk_fails(
      mk_svc_enterprise_query(&fx.ctx, "南通某某工程有限公司", NULL, &out, field, &last),
      MK_EINVAL);
  assert_string_equal(field, "uscc");
  assert_mk_fails(mk_svc_enterprise_query(&fx.ctx, "南通某某工程有限公司", "91110000600037341X",
                                          &out, field, &last),
                  MK_EINVAL);
  assert_mk_ok(mk_svc_enterprise_query(&fx.ctx, "南通某某工程公司", USCC_3, &out, field, &last));
  assert_int_equal(json_array_size(json_object_get(out, "items")), 0);
  json_decref(out);
  assert_mk_ok(
      mk_svc_enterprise_query(&fx.ctx, "南通某某工程有限公司", USCC_3, &out, field, &last));
  assert_int_equal(json_array_size(json_object_get(out, "items")), 1);
  json_t *hit = json_array_get(json_object_get(out, "items"), 0);
  assert_string_equal(str(hit, "id"), ent);
  assert_string_equal(str(hit, "uscc"), "9111**********341L");
  json_decref(out);

  as(&v);
  snprintf(formid, sizeof formid, "%s", upload(0));
#define JOIN(name, phone, perms)                                                                   \
  (snprintf(body, sizeof body,                                                                     \
            "{\"admin_name\":\"%s\",\"admin_phone\":\"%s\",\"permissions\":%s,"                    \
            "\"platform_id\":\"plt_nantong\",\"ca_id\":\"ca_sbx_zjca\",\"years\":1,"               \
            "\"attachments\":[{\"role\":\"application_form\",\"id\":\"%s\"}]}",                    \
            name, phone, perms, formid),                                                           \
   body)
  /* Wrong admin details: one answer whichever part is wrong, naming nobody. */
  assert_mk_fails(
      call_id(mk_svc_enterprise_join, ent, JOIN("吴十", "13700000009", "[\"login\"]"), NULL),
      MK_EINVAL);
  assert_string_equal(field, "admin");
  snprintf(detail, sizeof detail, "%s", last.msg);
  assert_mk_fails(
      call_id(mk_svc_enterprise_join, ent, JOIN("吴九", "13700000001", "[\"login\"]"), NULL),
      MK_EINVAL);
  assert_string_equal(last.msg, detail);
  assert_string_equal(field, "admin");
  assert_null(strstr(detail, "吴"));
  assert_null(strstr(detail, "1370000"));
  assert_int_equal(fx_count("SELECT COUNT(*) FROM application WHERE kind = 'enterprise_join'"), 0);
  /* Bad permissions, an enterprise that does not exist. */
  assert_mk_fails(
      call_id(mk_svc_enterprise_join, ent, JOIN("吴十", "13700000001", "[\"fly\"]"), NULL),
      MK_EINVAL);
  assert_string_equal(field, "permissions");
  assert_mk_fails(call_id(mk_svc_enterprise_join, ent,
                          JOIN("吴十", "13700000001", "[\"login\",\"login\"]"), NULL),
                  MK_EINVAL);
  assert_mk_fails(call_id(mk_svc_enterprise_join, ent, JOIN("吴十", "13700000001", "[]"), NULL),
                  MK_EINVAL);
  assert_mk_fails(call_id(mk_svc_enterprise_join, "ent_00000000000000000000000000",
                          JOIN("吴十", "13700000001", "[\"login\"]"), NULL),
                  MK_ENOTFOUND);
  /* Right (the phone typed as people type it): awaiting the admin, who is told. */
  assert_mk_ok(call_id(mk_svc_enterprise_join, ent,
                       JOIN("吴十", "+86 137-0000-0001", "[\"seal\",\"login\"]"), &app));
  assert_string_equal(str(app, "state"), MK_APP_AWAITING_ADMIN);
  assert_string_equal(str(app, "kind"), "enterprise_join");
  assert_string_equal(str(app, "data.authorization_letter.signer"), "admin_enterprise_certificate");
  assert_true(json_is_false(json_object_get(
      json_object_get(json_object_get(app, "data"), "authorization_letter"), "signed")));
  snprintf(app_id, sizeof app_id, "%s", str(app, "id"));
  json_decref(app);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM message WHERE account_id = $1 AND type = "
                            "'admin_review'",
                            admin.account),
                   1);
  /* Asking twice is refused. */
  assert_mk_fails(
      call_id(mk_svc_enterprise_join, ent, JOIN("吴十", "13700000001", "[\"login\"]"), NULL),
      MK_ECONFLICT);
  /* The CA cannot decide before the admin; the applicant cannot decide for it. */
  as_ca("ca_sbx_zjca");
  assert_mk_fails(transition(app_id, MK_APP_EV_CA_APPROVE, NULL), MK_ENOTFOUND);
  as(&v);
  assert_mk_fails(transition(app_id, MK_APP_EV_ADMIN_APPROVE, NULL), MK_EPERM);
  as(&admin);
  assert_mk_ok(transition(app_id, MK_APP_EV_ADMIN_APPROVE, NULL));
  assert_string_equal(app_state(app_id), MK_APP_AWAITING_CA);
  assert_mk_fails(transition(app_id, MK_APP_EV_ADMIN_APPROVE, NULL), MK_ECONFLICT);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM membership WHERE account_id = $1", v.account), 0);
  as_ca("ca_sbx_zjca");
  assert_mk_ok(transition(app_id, MK_APP_EV_CA_APPROVE, NULL));
  /* Staff with the asked permissions, authorised on the chosen platform. */
  assert_string_equal(text_of("SELECT role || ' ' || permissions FROM membership WHERE "
                              "account_id = $1",
                              v.account),
                      "staff [\"login\",\"seal\"]");
  assert_string_equal(text_of("SELECT z.platform_id || ' ' || z.source FROM staff_authorization "
                              "z JOIN membership m ON m.id = z.membership_id WHERE m.account_id "
                              "= $1",
                              v.account),
                      "plt_nantong join");
  as(&v);
  assert_mk_fails(
      call_id(mk_svc_enterprise_join, ent, JOIN("吴十", "13700000001", "[\"login\"]"), NULL),
      MK_ECONFLICT);
  assert_non_null(strstr(last.msg, "member"));

  /* The admin refuses another join: no membership, the applicant is told. */
  as(&s);
  snprintf(formid, sizeof formid, "%s", upload(0));
  assert_mk_ok(
      call_id(mk_svc_enterprise_join, ent, JOIN("吴十", "13700000001", "[\"decrypt\"]"), &app));
  snprintf(app_id, sizeof app_id, "%s", str(app, "id"));
  json_decref(app);
  as(&admin);
  assert_mk_fails(transition(app_id, MK_APP_EV_ADMIN_REJECT, NULL), MK_EINVAL);
  assert_mk_ok(transition(app_id, MK_APP_EV_ADMIN_REJECT, "不认识此人"));
  assert_string_equal(app_state(app_id), MK_APP_ADMIN_REJECTED);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM membership WHERE account_id = $1", s.account), 0);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM message WHERE account_id = $1 AND type = "
                            "'admin_rejected'",
                            s.account),
                   1);
  as_ca("ca_sbx_zjca");
  assert_mk_fails(transition(app_id, MK_APP_EV_CA_APPROVE, NULL), MK_ENOTFOUND);
  /* A refused request is closed: asking again is allowed. */
  as(&s);
  assert_mk_ok(
      call_id(mk_svc_enterprise_join, ent, JOIN("吴十", "13700000001", "[\"decrypt\"]"), NULL));

  /* Guessing admin details is limited per account and day. */
  as(&t);
  snprintf(formid, sizeof formid, "%s", upload(0));
  for (int i = 0; i < 5; i++) {
    char phone[16] = "13700000100";
    phone[10] = (char)('0' + i);
    assert_mk_fails(call_id(mk_svc_enterprise_join, ent, JOIN("吴十", phone, "[\"login\"]"), NULL),
                    MK_EINVAL);
  }
  assert_mk_fails(
      call_id(mk_svc_enterprise_join, ent, JOIN("吴十", "13700000001", "[\"login\"]"), NULL),
      MK_ERATE);
  fx.clock += 86401;
  assert_mk_ok(
      call_id(mk_svc_enterprise_join, ent, JOIN("吴十", "13700000001", "[\"login\"]"), NULL));
  fx.clock -= 86401;
#undef JOIN
}

/* ---- members, removal, another enterprise's admin ------------------------------------------ */

static void test_members(void **state) {
  (void)state;
  person admin, staff, other_admin, stranger;
  json_t *out = NULL;
  char ent[MK_ID_MAX], other_ent[MK_ID_MAX], member[MK_ID_MAX], admin_member[MK_ID_MAX];
  person_new(&admin, "13600000001", "蒋六", NULL);
  person_new(&staff, "13600000002", "沈七", NULL);
  person_new(&other_admin, "13600000003", "韩八", NULL);
  person_new(&stranger, "13600000004", "杨九", NULL);
  claimed(&admin, "宣城某某贸易有限公司", USCC_4, ent);
  claimed(&other_admin, "宣城另一贸易有限公司", USCC_5, other_ent);
  snprintf(member, sizeof member, "%s",
           joined(&staff, &admin, "蒋六", "13600000001", ent, "[\"login\",\"sign\"]"));
  snprintf(admin_member, sizeof admin_member, "%s",
           text_of("SELECT id FROM membership WHERE account_id = $1", admin.account));
  /* The admin sees everything, phone masked. */
  as(&admin);
  assert_mk_ok(mk_svc_member_list(&fx.ctx, ent, &out, &last));
  json_t *items = json_object_get(out, "items");
  assert_int_equal(json_array_size(items), 2);
  assert_string_equal(str(json_array_get(items, 0), "role"), "admin");
  assert_string_equal(str(json_array_get(items, 1), "name"), "沈七");
  assert_string_equal(str(json_array_get(items, 1), "phone"), "136****0002");
  assert_non_null(json_object_get(json_array_get(items, 1), "permissions"));
  json_decref(out);
  /* Staff see names and roles only. */
  as(&staff);
  assert_mk_ok(mk_svc_member_list(&fx.ctx, ent, &out, &last));
  items = json_object_get(out, "items");
  assert_int_equal(json_array_size(items), 2);
  assert_null(json_object_get(json_array_get(items, 1), "phone"));
  assert_null(json_object_get(json_array_get(items, 1), "permissions"));
  assert_null(json_object_get(json_array_get(items, 0), "account_id"));
  json_decref(out);
  assert_mk_ok(mk_svc_enterprise_get(&fx.ctx, ent, &out, &last));
  assert_string_equal(str(out, "my_role"), "staff");
  assert_int_equal(json_integer_value(json_object_get(out, "member_count")), 2);
  json_decref(out);
  /* Strangers and another enterprise's admin do not see it at all. */
  as(&stranger);
  assert_mk_fails(mk_svc_member_list(&fx.ctx, ent, &out, &last), MK_ENOTFOUND);
  assert_mk_fails(mk_svc_enterprise_get(&fx.ctx, ent, &out, &last), MK_ENOTFOUND);
  as(&other_admin);
  assert_mk_fails(mk_svc_member_list(&fx.ctx, ent, &out, &last), MK_ENOTFOUND);
  assert_mk_fails(mk_svc_member_remove(&fx.ctx, ent, member, &last), MK_ENOTFOUND);
  /* Nor can it remove this member through its own enterprise. */
  assert_mk_fails(mk_svc_member_remove(&fx.ctx, other_ent, member, &last), MK_ENOTFOUND);
  assert_mk_fails(mk_svc_member_remove(&fx.ctx, "not-an-id", member, &last), MK_ENOTFOUND);
  /* Staff cannot remove anyone; the admin cannot remove itself. */
  as(&staff);
  assert_mk_fails(mk_svc_member_remove(&fx.ctx, ent, admin_member, &last), MK_EPERM);
  as(&admin);
  assert_mk_fails(mk_svc_member_remove(&fx.ctx, ent, admin_member, &last), MK_ECONFLICT);
  assert_mk_ok(mk_svc_member_remove(&fx.ctx, ent, member, &last));
  assert_string_equal(text_of("SELECT state FROM membership WHERE id = $1", member), "removed");
  assert_int_equal(fx_count("SELECT COUNT(*) FROM staff_authorization WHERE membership_id = $1 AND "
                            "revoked_at IS NULL",
                            member),
                   0);
  assert_int_equal(
      fx_count("SELECT COUNT(*) FROM staff_authorization WHERE membership_id = $1", member), 1);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM audit_event WHERE action = 'member.remove' AND "
                            "object_id = $1",
                            member),
                   1);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM message WHERE account_id = $1 AND type = "
                            "'member_removed'",
                            staff.account),
                   1);
  assert_mk_fails(mk_svc_member_remove(&fx.ctx, ent, member, &last), MK_ENOTFOUND);
  /* Removed means gone: no longer sees the enterprise. */
  as(&staff);
  assert_mk_fails(mk_svc_member_list(&fx.ctx, ent, &out, &last), MK_ENOTFOUND);
  /* Rejoining revives the same member id. */
  assert_string_equal(joined(&staff, &admin, "蒋六", "13600000001", ent, "[\"seal\"]"), member);
  assert_string_equal(text_of("SELECT state FROM membership WHERE id = $1", member), "active");
}

/* ---- invitations ------------------------------------------------------------------------ */

static void test_invitations(void **state) {
  (void)state;
  person admin, invitee, impostor, late, staff;
  json_t *out = NULL;
  char ent[MK_ID_MAX], inv[MK_ID_MAX], inv2[MK_ID_MAX];
  person_new(&admin, "13500000001", "朱一", NULL);
  person_new(&invitee, "13500000002", "秦二", NULL);
  person_new(&impostor, "13500000003", "尤三", NULL);
  claimed(&admin, "嘉兴某某物流有限公司", USCC_6, ent);
  /* Staff cannot invite. */
  person_new(&staff, "13500000005", "许五", NULL);
  joined(&staff, &admin, "朱一", "13500000001", ent, "[\"login\"]");
  as(&staff);
  assert_mk_fails(
      call_id(mk_svc_invitation_create, ent, "{\"name\":\"秦二\",\"phone\":\"13500000002\"}", NULL),
      MK_EPERM);
  /* Bad inputs. */
  as(&admin);
  assert_mk_fails(
      call_id(mk_svc_invitation_create, ent, "{\"name\":\"秦二\",\"phone\":\"12345\"}", NULL),
      MK_EINVAL);
  assert_string_equal(field, "phone");
  assert_mk_fails(
      call_id(mk_svc_invitation_create, ent, "{\"name\":\"\",\"phone\":\"13500000002\"}", NULL),
      MK_EINVAL);
  assert_string_equal(field, "name");
  /* A member cannot be invited. */
  assert_mk_fails(
      call_id(mk_svc_invitation_create, ent, "{\"name\":\"许五\",\"phone\":\"13500000005\"}", NULL),
      MK_ECONFLICT);
  /* Invite: stored, the invitee's inbox has it, the phone is masked. */
  assert_mk_ok(call_id(mk_svc_invitation_create, ent,
                       "{\"name\":\"秦二\",\"phone\":\"135 0000 0002\"}", &out));
  snprintf(inv, sizeof inv, "%s", str(out, "id"));
  assert_string_equal(str(out, "phone"), "135****0002");
  assert_string_equal(str(out, "state"), "pending");
  assert_int_equal(json_array_size(json_object_get(out, "permissions")), 3);
  json_decref(out);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM message WHERE account_id = $1 AND type = "
                            "'enterprise_invitation'",
                            invitee.account),
                   1);
  assert_mk_fails(
      call_id(mk_svc_invitation_create, ent, "{\"name\":\"秦二\",\"phone\":\"13500000002\"}", NULL),
      MK_ECONFLICT);
  /* Someone without an account yet: no message, found after the first login. */
  assert_mk_ok(
      call_id(mk_svc_invitation_create, ent,
              "{\"name\":\"吕四\",\"phone\":\"13500000004\",\"permissions\":[\"decrypt\"]}", &out));
  snprintf(inv2, sizeof inv2, "%s", str(out, "id"));
  json_decref(out);
  person_new(&late, "13500000004", "吕四", NULL);
  as(&late);
  assert_mk_ok(mk_svc_invitation_list_mine(&fx.ctx, &out, &last));
  assert_int_equal(json_array_size(json_object_get(out, "items")), 1);
  assert_string_equal(str(json_array_get(json_object_get(out, "items"), 0), "id"), inv2);
  json_decref(out);
  /* Another person's invitation is invisible; a wrong name is refused. */
  as(&impostor);
  assert_mk_fails(call_id(mk_svc_invitation_accept, inv, "{}", NULL), MK_ENOTFOUND);
  fx_exec("UPDATE identity SET name = '秦三' WHERE account_id IN (SELECT id FROM account WHERE "
          "phone = '13500000002')");
  as(&invitee);
  assert_mk_fails(call_id(mk_svc_invitation_accept, inv, "{}", NULL), MK_EPERM);
  fx_exec("UPDATE identity SET name = '秦二' WHERE account_id IN (SELECT id FROM account WHERE "
          "phone = '13500000002')");
  /* Half a certificate choice is refused. */
  assert_mk_fails(call_id(mk_svc_invitation_accept, inv, "{\"ca_id\":\"ca_sbx_zjca\"}", NULL),
                  MK_EINVAL);
  assert_string_equal(field, "platform_id");
  /* Accept without a certificate: staff at once, with the invited permissions. */
  assert_mk_ok(call_id(mk_svc_invitation_accept, inv, "{}", &out));
  assert_string_equal(str(out, "invitation.state"), "accepted");
  assert_non_null(str(out, "member_id"));
  json_decref(out);
  assert_string_equal(text_of("SELECT role || ' ' || permissions FROM membership WHERE "
                              "account_id = $1",
                              invitee.account),
                      "staff [\"login\",\"sign\",\"seal\"]");
  assert_mk_fails(call_id(mk_svc_invitation_accept, inv, "{}", NULL), MK_ECONFLICT);
  /* Accept with a certificate: a join application straight to the CA. */
  fx.clock += 8 * 86400;
  as(&late);
  assert_mk_fails(call_id(mk_svc_invitation_accept, inv2, "{}", NULL), MK_EEXPIRED);
  fx.clock -= 8 * 86400;
  char body[512];
  const char *form = upload(0);
  snprintf(body, sizeof body,
           "{\"platform_id\":\"plt_jiaxing\",\"ca_id\":\"ca_sbx_zjca\",\"years\":1,"
           "\"attachments\":[{\"role\":\"application_form\",\"id\":\"%s\"}]}",
           form);
  assert_mk_ok(call_id(mk_svc_invitation_accept, inv2, body, &out));
  assert_string_equal(str(out, "application.state"), MK_APP_AWAITING_CA);
  assert_string_equal(str(out, "application.data.invitation_id"), inv2);
  char app[MK_ID_MAX];
  snprintf(app, sizeof app, "%s", str(out, "application.id"));
  json_decref(out);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM membership WHERE account_id = $1", late.account),
                   0);
  as_ca("ca_sbx_zjca");
  assert_mk_ok(transition(app, MK_APP_EV_CA_APPROVE, NULL));
  assert_string_equal(text_of("SELECT role || ' ' || permissions FROM membership WHERE "
                              "account_id = $1",
                              late.account),
                      "staff [\"decrypt\"]");
}

/* ---- transfer of the admin role ----------------------------------------------------------- */

static void test_transfer(void **state) {
  (void)state;
  person admin, staff, other;
  json_t *out = NULL;
  char ent[MK_ID_MAX], member[MK_ID_MAX], admin_member[MK_ID_MAX], body[512], app[MK_ID_MAX];
  person_new(&admin, "13400000001", "何一", NULL);
  person_new(&staff, "13400000002", "施二", NULL);
  person_new(&other, "13400000003", "张三", NULL);
  claimed(&admin, "南通某某电子有限公司", "91330100MA27XL0K88", ent);
  snprintf(member, sizeof member, "%s",
           joined(&staff, &admin, "何一", "13400000001", ent, "[\"login\"]"));
  snprintf(admin_member, sizeof admin_member, "%s",
           text_of("SELECT id FROM membership WHERE account_id = $1", admin.account));
  as(&admin);
  /* With the enterprise certificate: needs the signature, refused for now. */
  snprintf(body, sizeof body, "{\"member_id\":\"%s\"}", member);
  assert_mk_fails(call_id(mk_svc_member_transfer_admin, ent, body, NULL), MK_ECONFLICT);
  assert_non_null(strstr(last.msg, "certificate"));
  /* Not to oneself, not to a stranger. */
  const char *form = upload(0);
  char formid[MK_ID_MAX];
  snprintf(formid, sizeof formid, "%s", form);
  snprintf(body, sizeof body, "{\"member_id\":\"%s\",\"form\":\"%s\"}", admin_member, formid);
  assert_mk_fails(call_id(mk_svc_member_transfer_admin, ent, body, NULL), MK_ECONFLICT);
  snprintf(body, sizeof body, "{\"member_id\":\"mbr_00000000000000000000000000\",\"form\":\"%s\"}",
           formid);
  assert_mk_fails(call_id(mk_svc_member_transfer_admin, ent, body, NULL), MK_EINVAL);
  assert_string_equal(field, "member_id");
  /* Staff cannot transfer. */
  as(&staff);
  snprintf(body, sizeof body, "{\"member_id\":\"%s\",\"form\":\"%s\"}", member, formid);
  assert_mk_fails(call_id(mk_svc_member_transfer_admin, ent, body, NULL), MK_EPERM);
  /* With the stamped letter: reviewed by the CA of the claim. */
  as(&admin);
  assert_mk_ok(call_id(mk_svc_member_transfer_admin, ent, body, &out));
  assert_string_equal(str(out, "kind"), "admin_transfer");
  assert_string_equal(str(out, "ca_id"), "ca_sbx_zjca");
  assert_string_equal(str(out, "state"), MK_APP_AWAITING_CA);
  assert_string_equal(str(out, "data.to_name"), "施二");
  snprintf(app, sizeof app, "%s", str(out, "id"));
  json_decref(out);
  assert_mk_fails(call_id(mk_svc_member_transfer_admin, ent, body, NULL), MK_ECONFLICT);
  /* Nothing changes before the CA approves. */
  assert_string_equal(text_of("SELECT role FROM membership WHERE id = $1", member), "staff");
  as_ca("ca_sbx_zjca");
  assert_mk_ok(transition(app, MK_APP_EV_CA_APPROVE, NULL));
  assert_string_equal(text_of("SELECT role FROM membership WHERE id = $1", member), "admin");
  assert_string_equal(text_of("SELECT role FROM membership WHERE id = $1", admin_member), "staff");
  assert_string_equal(text_of("SELECT admin_account_id FROM enterprise WHERE id = $1", ent),
                      staff.account);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM message WHERE account_id = $1 AND type = "
                            "'admin_transferred'",
                            staff.account),
                   1);
  /* The roles follow: the old admin is staff now. */
  as(&admin);
  assert_mk_fails(mk_svc_member_remove(&fx.ctx, ent, member, &last), MK_EPERM);
  as(&staff);
  assert_mk_ok(mk_svc_member_remove(&fx.ctx, ent, admin_member, &last));
  (void)other;
}

/* ---- change of enterprise information -------------------------------------------------------- */

static void test_change(void **state) {
  (void)state;
  person admin, staff;
  json_t *out = NULL;
  char ent[MK_ID_MAX], body[1024], app[MK_ID_MAX], lic[MK_ID_MAX], form[MK_ID_MAX];
  person_new(&admin, "13300000001", "孔一", NULL);
  person_new(&staff, "13300000002", "曹二", NULL);
  claimed(&admin, "杭州某某网络有限公司", "91330100MA27XL0K4U", ent);
  joined(&staff, &admin, "孔一", "13300000001", ent, "[\"login\"]");
  as(&admin);
  snprintf(lic, sizeof lic, "%s", upload(1));
  snprintf(form, sizeof form, "%s", upload(0));
#define CHANGE(name, uscc, ack)                                                                      \
  (snprintf(body, sizeof body,                                                                       \
            "{\"name\":\"%s\",\"uscc\":\"%s\",\"legal_name\":\"王五\",\"legal_id_number\":\"%s\"," \
            "\"license\":\"%s\",\"certificates\":[\"crt_00000000000000000000000000\"],"              \
            "\"attachments\":[{\"role\":\"application_form\",\"id\":\"%s\"}]%s}",                    \
            name, uscc, ID_G, lic, form, ack),                                                       \
   body)
  /* The warning must have been shown. */
  assert_mk_fails(call_id(mk_svc_enterprise_change, ent,
                          CHANGE("杭州某某数字有限公司", "91330100MA27XL0K4U", ""), NULL),
                  MK_EINVAL);
  assert_string_equal(field, "acknowledge");
  assert_non_null(strstr(last.msg, "无法解密原有文件"));
  /* Another enterprise's credit code is taken. */
  assert_mk_fails(call_id(mk_svc_enterprise_change, ent,
                          CHANGE("杭州某某数字有限公司", USCC_1, ",\"acknowledge\":true"), NULL),
                  MK_ECONFLICT);
  /* Staff cannot change it. */
  as(&staff);
  assert_mk_fails(
      call_id(mk_svc_enterprise_change, ent,
              CHANGE("杭州某某数字有限公司", "91330100MA27XL0K4U", ",\"acknowledge\":true"), NULL),
      MK_EPERM);
  as(&admin);
  assert_mk_ok(
      call_id(mk_svc_enterprise_change, ent,
              CHANGE("杭州某某数字有限公司", "91330100MA27XL0K5Y", ",\"acknowledge\":true"), &out));
  assert_string_equal(str(out, "kind"), "enterprise_change");
  assert_string_equal(str(out, "data.warning"), "CA证书一经变更，不能恢复，无法解密原有文件！");
  assert_string_equal(str(out, "data.previous.name"), "杭州某某网络有限公司");
  assert_int_equal(json_array_size(json_object_get(json_object_get(out, "data"), "certificates")),
                   1);
  snprintf(app, sizeof app, "%s", str(out, "id"));
  json_decref(out);
  assert_mk_fails(call_id(mk_svc_enterprise_change, ent, body, NULL), MK_ECONFLICT);
  /* Unchanged until the CA approves. */
  assert_string_equal(text_of("SELECT name FROM enterprise WHERE id = $1", ent),
                      "杭州某某网络有限公司");
  as_ca("ca_sbx_zjca");
  assert_mk_ok(transition(app, MK_APP_EV_CA_APPROVE, NULL));
  assert_string_equal(text_of("SELECT name || ' ' || uscc FROM enterprise WHERE id = $1", ent),
                      "杭州某某数字有限公司 91330100MA27XL0K5Y");
  assert_string_equal(text_of("SELECT state FROM enterprise_change WHERE application_id = $1", app),
                      "applied");
  /* A withdrawn change is dropped and changes nothing. */
  as(&admin);
  snprintf(form, sizeof form, "%s", upload(0));
  assert_mk_ok(
      call_id(mk_svc_enterprise_change, ent,
              CHANGE("杭州某某智能有限公司", "91330100MA27XL0K5Y", ",\"acknowledge\":true"), &out));
  snprintf(app, sizeof app, "%s", str(out, "id"));
  json_decref(out);
  assert_mk_ok(transition(app, MK_APP_EV_CANCEL, NULL));
  assert_string_equal(text_of("SELECT state FROM enterprise_change WHERE application_id = $1", app),
                      "dropped");
  assert_string_equal(text_of("SELECT name FROM enterprise WHERE id = $1", ent),
                      "杭州某某数字有限公司");
  /* A credit code another enterprise took while the change waited: the CA's
   * approval is refused and nothing changes. */
  snprintf(form, sizeof form, "%s", upload(0));
  assert_mk_ok(call_id(mk_svc_enterprise_change, ent,
                       CHANGE("杭州某某智能有限公司", "91330100MA27XL0KBH", ",\"acknowledge\":true"),
                       &out));
  snprintf(app, sizeof app, "%s", str(out, "id"));
  json_decref(out);
  person other;
  char other_ent[MK_ID_MAX];
  person_new(&other, "13300000003", "曹三", NULL);
  claimed(&other, "杭州另一智能有限公司", "91330100MA27XL0KBH", other_ent);
  as_ca("ca_sbx_zjca");
  assert_mk_fails(transition(app, MK_APP_EV_CA_APPROVE, NULL), MK_ECONFLICT);
  assert_non_null(strstr(last.msg, "91330100MA27XL0KBH"));
  assert_string_equal(app_state(app), MK_APP_AWAITING_CA);
  assert_string_equal(text_of("SELECT name FROM enterprise WHERE id = $1", ent),
                      "杭州某某数字有限公司");
#undef CHANGE
}

/* ---- authorisations ------------------------------------------------------------------------- */

static void test_authorizations(void **state) {
  (void)state;
  person admin, staff, other_admin;
  json_t *out = NULL;
  char ent[MK_ID_MAX], other_ent[MK_ID_MAX], member[MK_ID_MAX], admin_member[MK_ID_MAX], body[512],
      auz[MK_ID_MAX];
  person_new(&admin, "13200000001", "严一", NULL);
  person_new(&staff, "13200000002", "华二", NULL);
  person_new(&other_admin, "13200000003", "金三", NULL);
  claimed(&admin, "宣城某某能源有限公司", "91330100MA27XL0K62", ent);
  claimed(&other_admin, "宣城某某材料有限公司", "91330100MA27XL0K75", other_ent);
  snprintf(member, sizeof member, "%s",
           joined(&staff, &admin, "严一", "13200000001", ent, "[\"login\"]"));
  snprintf(admin_member, sizeof admin_member, "%s",
           text_of("SELECT id FROM membership WHERE account_id = $1", admin.account));
  /* The join authorised plt_jiaxing already. */
  as(&admin);
  snprintf(body, sizeof body,
           "{\"member_id\":\"%s\",\"platform_id\":\"plt_jiaxing\",\"permissions\":[\"seal\"]}",
           member);
  assert_mk_fails(call_id(mk_svc_authz_grant, ent, body, NULL), MK_ECONFLICT);
  snprintf(body, sizeof body,
           "{\"member_id\":\"%s\",\"platform_id\":\"plt_csj_alliance\",\"permissions\":"
           "[\"decrypt\",\"seal\"]}",
           member);
  assert_mk_ok(call_id(mk_svc_authz_grant, ent, body, &out));
  snprintf(auz, sizeof auz, "%s", str(out, "id"));
  assert_string_equal(str(out, "platform.name"), "长三角CA互认平台");
  assert_string_equal(str(out, "member.name"), "华二");
  assert_true(json_is_true(json_object_get(out, "active")));
  json_decref(out);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM message WHERE account_id = $1 AND type = "
                            "'authorization_granted'",
                            staff.account),
                   1);
  assert_mk_fails(call_id(mk_svc_authz_grant, ent, body, NULL), MK_ECONFLICT);
  /* Refusals: the admin, unknown platform, bad permissions, no such member. */
  snprintf(body, sizeof body,
           "{\"member_id\":\"%s\",\"platform_id\":\"plt_nantong\",\"permissions\":[\"seal\"]}",
           admin_member);
  assert_mk_fails(call_id(mk_svc_authz_grant, ent, body, NULL), MK_ECONFLICT);
  snprintf(body, sizeof body,
           "{\"member_id\":\"%s\",\"platform_id\":\"plt_mars\",\"permissions\":[\"seal\"]}",
           member);
  assert_mk_fails(call_id(mk_svc_authz_grant, ent, body, NULL), MK_EINVAL);
  assert_string_equal(field, "platform_id");
  snprintf(body, sizeof body,
           "{\"member_id\":\"%s\",\"platform_id\":\"plt_nantong\",\"permissions\":[\"sing\"]}",
           member);
  assert_mk_fails(call_id(mk_svc_authz_grant, ent, body, NULL), MK_EINVAL);
  assert_string_equal(field, "permissions");
  assert_mk_fails(call_id(mk_svc_authz_grant, ent,
                          "{\"member_id\":\"mbr_00000000000000000000000000\",\"platform_id\":"
                          "\"plt_nantong\",\"permissions\":[\"seal\"]}",
                          NULL),
                  MK_EINVAL);
  assert_string_equal(field, "member_id");
  /* Staff and another enterprise's admin cannot see or change them. */
  as(&staff);
  assert_mk_fails(mk_svc_authz_list(&fx.ctx, ent, NULL, &out, field, &last), MK_EPERM);
  assert_mk_fails(mk_svc_authz_revoke(&fx.ctx, ent, auz, &last), MK_EPERM);
  as(&other_admin);
  assert_mk_fails(mk_svc_authz_list(&fx.ctx, ent, NULL, &out, field, &last), MK_ENOTFOUND);
  assert_mk_fails(mk_svc_authz_revoke(&fx.ctx, ent, auz, &last), MK_ENOTFOUND);
  assert_mk_fails(mk_svc_authz_revoke(&fx.ctx, other_ent, auz, &last), MK_ENOTFOUND);
  snprintf(body, sizeof body,
           "{\"member_id\":\"%s\",\"platform_id\":\"plt_nantong\",\"permissions\":[\"seal\"]}",
           member);
  assert_mk_fails(call_id(mk_svc_authz_grant, other_ent, body, NULL), MK_EINVAL);
  /* Revoke keeps the row; twice is refused. */
  as(&admin);
  assert_mk_ok(mk_svc_authz_revoke(&fx.ctx, ent, auz, &last));
  assert_mk_fails(mk_svc_authz_revoke(&fx.ctx, ent, auz, &last), MK_ECONFLICT);
  assert_mk_fails(mk_svc_authz_revoke(&fx.ctx, ent, "auz_00000000000000000000000000", &last),
                  MK_ENOTFOUND);
  /* A new grant on the same platform after revocation: history of two. */
  snprintf(
      body, sizeof body,
      "{\"member_id\":\"%s\",\"platform_id\":\"plt_csj_alliance\",\"permissions\":[\"login\"]}",
      member);
  assert_mk_ok(call_id(mk_svc_authz_grant, ent, body, NULL));
  assert_mk_fails(mk_svc_authz_list(&fx.ctx, ent, "team", &out, field, &last), MK_EINVAL);
  assert_string_equal(field, "by");
  assert_mk_ok(mk_svc_authz_list(&fx.ctx, ent, "platform", &out, field, &last));
  json_t *groups = json_object_get(out, "groups");
  assert_int_equal(json_array_size(groups), 2); /* 嘉兴 (join) and 长三角 */
  json_t *csj = NULL;
  for (size_t i = 0; i < json_array_size(groups); i++)
    if (strcmp(str(json_array_get(groups, i), "platform.id"), "plt_csj_alliance") == 0)
      csj = json_array_get(groups, i);
  assert_non_null(csj);
  json_t *hist = json_object_get(csj, "items");
  assert_int_equal(json_array_size(hist), 2);
  assert_true(json_is_true(json_object_get(json_array_get(hist, 0), "active")));
  assert_true(json_is_false(json_object_get(json_array_get(hist, 1), "active")));
  assert_string_equal(str(json_array_get(hist, 1), "revoked_by"), admin.account);
  json_decref(out);
  assert_mk_ok(mk_svc_authz_list(&fx.ctx, ent, "person", &out, field, &last));
  groups = json_object_get(out, "groups");
  assert_int_equal(json_array_size(groups), 1);
  assert_string_equal(str(json_array_get(groups, 0), "member.name"), "华二");
  assert_int_equal(json_array_size(json_object_get(json_array_get(groups, 0), "items")), 3);
  json_decref(out);
  assert_int_equal(
      fx_count("SELECT COUNT(*) FROM audit_event WHERE action = 'authorization.revoke' "
               "AND object_id = $1",
               auz),
      1);
}

/* A staff certificate approved by the CA authorises its platform (the
 * kind's hook; the route that makes these applications comes with
 * certificate download). */
static void test_staff_cert_hook(void **state) {
  (void)state;
  person admin, staff;
  char ent[MK_ID_MAX], app[MK_ID_MAX], member[MK_ID_MAX];
  mk_err e = {0};
  person_new(&admin, "13100000001", "魏一", NULL);
  person_new(&staff, "13100000002", "陶二", NULL);
  claimed(&admin, "嘉兴某某设计有限公司", "91330100MA27XL0K9B", ent);
  snprintf(member, sizeof member, "%s",
           joined(&staff, &admin, "魏一", "13100000001", ent, "[\"login\"]"));
  as(&staff);
  const char *form = upload(0);
  json_t *data = json_pack("{s:[s]}", "permissions", "decrypt");
  const char *ids[] = {form}, *roles[] = {"application_form"};
  mk_app_new n = {.kind = "staff_cert",
                  .account_id = staff.account,
                  .enterprise_id = ent,
                  .platform_id = "plt_nantong",
                  .ca_id = "ca_sbx_zjca",
                  .years = 1,
                  .data = data,
                  .needs_admin = 1,
                  .attachment_ids = ids,
                  .attachment_roles = roles,
                  .nattachments = 1};
  assert_mk_ok(fx_app_create(&n, app, NULL, &e));
  json_decref(data);
  as(&admin);
  assert_mk_ok(transition(app, MK_APP_EV_ADMIN_APPROVE, NULL));
  as_ca("ca_sbx_zjca");
  assert_mk_ok(transition(app, MK_APP_EV_CA_APPROVE, NULL));
  assert_string_equal(text_of("SELECT permissions || ' ' || source FROM staff_authorization WHERE "
                              "platform_id = 'plt_nantong' AND membership_id = $1",
                              member),
                      "[\"decrypt\"] staff_cert");
}

/* Every change above wrote its audit event into one unbroken chain. */
static void test_audit_chain(void **state) {
  (void)state;
  int64_t n = 0;
  mk_err e = {0};
  assert_mk_ok(mk_svc_audit_verify(&fx.ctx, &n, &e));
  assert_true(n > 100);
  assert_true(fx_count("SELECT COUNT(*) FROM audit_event WHERE action = 'enterprise.claimed'") >=
              8);
  /* No full ID number of anyone in any audit detail or message. */
  assert_int_equal(
      fx_count("SELECT COUNT(*) FROM audit_event WHERE detail LIKE '%3304021990030712%'"), 0);
  assert_int_equal(fx_count("SELECT COUNT(*) FROM message WHERE body LIKE '%3304021990030712%'"),
                   0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_personal),       cmocka_unit_test(test_claim),
      cmocka_unit_test(test_claim_released), cmocka_unit_test(test_query_and_join),
      cmocka_unit_test(test_members),        cmocka_unit_test(test_invitations),
      cmocka_unit_test(test_transfer),       cmocka_unit_test(test_change),
      cmocka_unit_test(test_authorizations), cmocka_unit_test(test_staff_cert_hook),
      cmocka_unit_test(test_audit_chain),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
