/* The server service tests' shared fixture: see svc_fixture.h. */
#include "svc_fixture.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

svc_fx fx = {.clock = FX_EPOCH};

const unsigned char fx_png[] = {
    0x89, 'P',  'N',  'G',  '\r', '\n', 0x1a, '\n', 0,    0,    0,    13,   'I',  'H',
    'D',  'R',  0,    0,    0,    1,    0,    0,    0,    1,    8,    6,    0,    0,
    0,    0x1f, 0x15, 0xc4, 0x89, 0,    0,    0,    0,    'I',  'E',  'N',  'D',  0xae,
    0x42, 0x60, 0x82};
const unsigned char fx_jpeg[] = {0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 0xff, 0xd9};

static int64_t fx_now(void) { return fx.clock; }

int fx_open(const char *tag, unsigned flags, int pool) {
  mk_err e = {0};
  char path[128], url[160];
  snprintf(fx.dir, sizeof fx.dir, "/tmp/mkey-%s-XXXXXX", tag);
  if (mkdtemp(fx.dir) == NULL)
    return -1;
  if (flags & FX_KEK) {
    snprintf(path, sizeof path, "%s/kek", fx.dir);
    if (mk_kek_file_open(path, 1, &fx.kek, &e) < 0)
      return -1;
  }
  snprintf(url, sizeof url, "sqlite:%s/mkey.db", fx.dir);
  mk_store_config sc = {.url = url, .pool_size = pool};
  if (mk_store_open(&sc, &fx.store, &e) < 0)
    return -1;
  memset(&fx.cfg, 0, sizeof fx.cfg);
  fx.cfg.sandbox = 1;
  fx.ctx = (mk_svc_ctx){.store = fx.store, .kek = fx.kek, .cfg = &fx.cfg, .now = fx_now};
  if ((flags & FX_CA) && mk_svc_ca_init(&fx.ctx, FX_BASE_URL, &e) < 0)
    return -1;
  return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
  (void)sb;
  (void)type;
  (void)ftw;
  return remove(path);
}

int fx_teardown(void **state) {
  (void)state;
  mk_store_close(fx.store);
  mk_kek_free(fx.kek);
  fx.store = NULL;
  fx.kek = NULL;
  return nftw(fx.dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

/* Runs q with the NULL-ended text parameters in ap. With row, q must
 * return a row: the integer in its first column is the answer. */
static int64_t run(const char *q, va_list ap, int row) {
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  mk_err e = {0};
  const char *arg;
  int64_t n = 0;
  if (mk_store_acquire(fx.store, &db, &e) != 0)
    fail_msg("acquire: %s", e.msg);
  if (mk_db_prepare(db, q, &st, &e) != 0)
    fail_msg("%s: %s", q, e.msg);
  for (int i = 1; (arg = va_arg(ap, const char *)) != NULL; i++)
    if (mk_stmt_bind_text(st, i, arg, &e) != 0)
      fail_msg("%s: $%d: %s", q, i, e.msg);
  int rc = mk_stmt_step(st, &e);
  if (row) {
    assert_int_equal(rc, 1);
    n = mk_stmt_int(st, 0);
  } else {
    assert_true(rc >= 0);
  }
  mk_stmt_finish(st);
  mk_store_release(fx.store, db);
  return n;
}

void fx_sql_(const char *q, ...) {
  va_list ap;
  va_start(ap, q);
  run(q, ap, 0);
  va_end(ap);
}

int64_t fx_count_(const char *q, ...) {
  va_list ap;
  va_start(ap, q);
  int64_t n = run(q, ap, 1);
  va_end(ap);
  return n;
}

void fx_exec(const char *script) {
  mk_db *db = NULL;
  mk_err e = {0};
  assert_mk_ok(mk_store_acquire(fx.store, &db, &e));
  if (mk_db_exec(db, script, &e) != 0)
    fail_msg("%s: %s", script, e.msg);
  mk_store_release(fx.store, db);
}

void fx_add_platform(void) {
  fx_sql("INSERT INTO platform(id, name, kind, province, city, lat_e6, lon_e6, created_at) "
         "VALUES ('plt_t', '测试交易平台', 'platform', '浙江', '嘉兴', 30750000, 120750000, $1)",
         FX_TS);
}

void fx_add_account(const char *account_id, const char *phone) {
  fx_sql("INSERT INTO account(id, phone, created_at, updated_at) VALUES ($1, $2, $3, $3)",
         account_id, phone, FX_TS);
}

void fx_add_identity(const char *account_id, const char *name, const char *id_number) {
  fx_sql("INSERT INTO identity(account_id, name, id_number, method, verified_at) "
         "VALUES ($1, $2, $3, 'cfca', $4)",
         account_id, name, id_number, FX_TS);
}

void fx_as_account(const char *account_id) {
  memset(&fx.ctx.caller, 0, sizeof fx.ctx.caller);
  fx.ctx.caller.role = MK_ROLE_ACCOUNT;
  snprintf(fx.ctx.caller.account_id, sizeof fx.ctx.caller.account_id, "%s", account_id);
  fx.ctx.caller.remote = "127.0.0.1";
  fx.ctx.caller.request_id = "req-test";
}

void fx_as_ca(const char *ca_id, const char *operator_id) {
  memset(&fx.ctx.caller, 0, sizeof fx.ctx.caller);
  fx.ctx.caller.role = MK_ROLE_CA_OPERATOR;
  if (operator_id != NULL) {
    snprintf(fx.ctx.caller.ca_operator_id, sizeof fx.ctx.caller.ca_operator_id, "%s", operator_id);
  } else {
    const char *last = strrchr(ca_id, '_');
    snprintf(fx.ctx.caller.ca_operator_id, sizeof fx.ctx.caller.ca_operator_id, "cop_%s",
             last != NULL ? last + 1 : ca_id);
  }
  snprintf(fx.ctx.caller.ca_id, sizeof fx.ctx.caller.ca_id, "%s", ca_id);
}

void fx_as_operator(const char *remote) {
  memset(&fx.ctx.caller, 0, sizeof fx.ctx.caller);
  fx.ctx.caller.role = MK_ROLE_OPERATOR;
  fx.ctx.caller.remote = remote;
}

void fx_as_anon(const char *remote) {
  memset(&fx.ctx.caller, 0, sizeof fx.ctx.caller);
  fx.ctx.caller.remote = remote;
  fx.ctx.caller.request_id = "req-test";
}

void fx_upload(const char *account_id, const unsigned char *data, size_t n, const char *type,
               char id[MK_ID_MAX]) {
  json_t *out = NULL;
  mk_err e = {0};
  fx_as_account(account_id);
  if (mk_svc_attachment_put(&fx.ctx, type, data, n, &out, &e) != 0)
    fail_msg("upload: %s", e.msg);
  snprintf(id, MK_ID_MAX, "%s", json_string_value(json_object_get(out, "id")));
  json_decref(out);
}

int fx_app_create(const mk_app_new *n, char id[MK_ID_MAX], char *field, mk_err *e) {
  mk_db *db = NULL;
  assert_mk_ok(mk_store_acquire(fx.store, &db, e));
  assert_mk_ok(mk_db_begin(db, e));
  int rc = mk_svc_app_create(&fx.ctx, db, n, id, field, e);
  if (rc == 0)
    assert_mk_ok(mk_db_commit(db, e));
  mk_store_release(fx.store, db); /* rolls back on failure */
  return rc;
}

int fx_app_transition(const char *app, int event, const char *reason, mk_err *e) {
  mk_db *db = NULL;
  char field[MK_JSON_FIELD_MAX] = "";
  assert_mk_ok(mk_store_acquire(fx.store, &db, e));
  assert_mk_ok(mk_db_begin(db, e));
  int rc = mk_svc_app_transition(&fx.ctx, db, app, event, reason, NULL, NULL, field, e);
  if (rc == 0)
    assert_mk_ok(mk_db_commit(db, e));
  mk_store_release(fx.store, db); /* rolls back on failure */
  return rc;
}
