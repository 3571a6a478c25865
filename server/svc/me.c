/*
 * 我的 and the home page: who the caller is (identity, platform, roles,
 * enterprises), how many messages wait, the next step the home page
 * suggests (去认证 → 去申请 → 去下载), and the home shortcuts chosen in the
 * app centre (应用中心).
 */
#include <stdlib.h>
#include <string.h>

#include "svc/svc.h"
#include "util/guard.h"
#include "util/json.h"
#include "util/time.h"

#define SHORTCUTS_MAX 8
#define SERVICE_PHONE_DEFAULT "0512-58188000"

/* The manual's apps (应用中心, 我的). Ids are stable: clients map them to
 * screens. */
static const struct {
  const char *id, *title;
} catalogue[] = {
    {"cert_apply", "证书申请"},  {"cert_add", "证书新增"},      {"scan", "开始扫码"},
    {"zone", "专区"},            {"seal", "印章管理"},          {"staff", "人员管理"},
    {"authorization", "授权管理"}, {"my_certs", "我的证书"},    {"bank_cards", "银行卡管理"},
    {"bills", "账单管理"},       {"invoices", "开票管理"},      {"help", "使用帮助"},
    {"service", "智能客服"},     {"phone", "电话咨询"},
};
#define NCATALOGUE (sizeof catalogue / sizeof catalogue[0])
static const char *const default_shortcuts[] = {"cert_apply", "scan", "my_certs", "help"};

const char *mk_svc_service_phone(const mk_svc_ctx *ctx) {
  return ctx->cfg != NULL && ctx->cfg->service_phone[0] != '\0' ? ctx->cfg->service_phone
                                                                 : SERVICE_PHONE_DEFAULT;
}

static const char *title_of(const char *id) {
  for (size_t i = 0; i < NCATALOGUE; i++)
    if (strcmp(catalogue[i].id, id) == 0)
      return catalogue[i].title;
  return NULL;
}

static int append_app(json_t *arr, const char *id, mk_err *e) {
  const char *t = title_of(id);
  if (t == NULL) /* an id a later build dropped: not shown */
    return 0;
  json_t *o = json_pack("{s:s,s:s}", "id", id, "title", t);
  if (o == NULL || json_array_append_new(arr, o) != 0)
    return mk_err_set(e, MK_ENOMEM, "out of memory");
  return 0;
}

/* The caller's shortcuts as [{id, title}]. */
static int shortcuts_of(mk_db *db, const char *account_id, json_t **out, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  json_t *stored = NULL, *arr = json_array();
  MK_ENSURE_ALLOC(arr, e);
  MK_TRY(mk_db_prepare(db, "SELECT items FROM account_shortcut WHERE account_id = $1", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, account_id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  if (found) {
    const char *text = mk_stmt_text(st, 0);
    MK_TRY(mk_json_parse(text, strlen(text), 4096, &stored, e));
    size_t i;
    json_t *v;
    json_array_foreach(stored, i, v) {
      if (json_is_string(v))
        MK_TRY(append_app(arr, json_string_value(v), e));
    }
  } else {
    for (size_t i = 0; i < sizeof default_shortcuts / sizeof default_shortcuts[0]; i++)
      MK_TRY(append_app(arr, default_shortcuts[i], e));
  }
  *out = arr;
  arr = NULL;
out:
  mk_stmt_finish(st);
  json_decref(stored);
  json_decref(arr);
  return rc;
}

static int shortcuts_doc(mk_db *db, const char *account_id, json_t **out, mk_err *e) {
  int rc = 0;
  json_t *items = NULL, *cat = json_array();
  *out = NULL;
  MK_ENSURE_ALLOC(cat, e);
  for (size_t i = 0; i < NCATALOGUE; i++)
    MK_TRY(append_app(cat, catalogue[i].id, e));
  MK_TRY(shortcuts_of(db, account_id, &items, e));
  *out = json_pack("{s:o,s:o}", "items", items, "catalogue", cat);
  items = cat = NULL;
  MK_ENSURE_ALLOC(*out, e);
out:
  json_decref(items);
  json_decref(cat);
  return rc;
}

int mk_svc_me_shortcuts_get(mk_svc_ctx *ctx, json_t **out, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  *out = NULL;
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(shortcuts_doc(db, ctx->caller.account_id, out, e));
out:
  mk_store_release(ctx->store, db);
  return rc;
}

int mk_svc_me_shortcuts_put(mk_svc_ctx *ctx, const json_t *body, json_t **out, char *field,
                            mk_err *e) {
  static const char *const allowed[] = {"items", NULL};
  int rc = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  json_t *items = NULL;
  char *text = NULL, ts[MK_TIME_TEXT_MAX];
  *out = NULL;
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(mk_json_only_keys(body, allowed, field, e));
  MK_TRY(mk_json_get_array(body, "items", 1, SHORTCUTS_MAX, &items, field, e));
  size_t i, j;
  json_t *v;
  json_array_foreach(items, i, v) {
    const char *id = json_string_value(v);
    if (field != NULL)
      snprintf(field, MK_JSON_FIELD_MAX, "items");
    MK_ENSURE(id != NULL && title_of(id) != NULL, MK_EINVAL, e,
              "items[%zu] is not an app of the app centre", i);
    for (j = 0; j < i; j++)
      MK_ENSURE(strcmp(json_string_value(json_array_get(items, j)), id) != 0, MK_EINVAL, e,
                "items lists %s twice", id);
  }
  if (field != NULL)
    field[0] = '\0';
  text = mk_json_dump(items);
  MK_ENSURE_ALLOC(text, e);
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(mk_db_prepare(db,
                       "INSERT INTO account_shortcut(account_id, items, updated_at) "
                       "VALUES ($1, $2, $3) ON CONFLICT (account_id) DO UPDATE SET "
                       "items = excluded.items, updated_at = excluded.updated_at",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, ctx->caller.account_id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, text, e));
  MK_TRY(mk_stmt_bind_text(st, 3, ts, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  json_t *d = json_pack("{s:O}", "items", items);
  MK_ENSURE_ALLOC(d, e);
  rc = mk_svc_audit(ctx, db, "account.shortcuts", "account", ctx->caller.account_id,
                    ctx->caller.account_id, NULL, d, e);
  json_decref(d);
  MK_TRY(rc);
  MK_TRY(mk_db_commit(db, e));
  MK_TRY(shortcuts_doc(db, ctx->caller.account_id, out, e));
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  free(text);
  return rc;
}

/* One integer from a query with the account id as $1. */
static int count_of(mk_db *db, const char *sql, const char *account_id, int64_t *n, mk_err *e) {
  int rc = 0;
  mk_stmt *st = NULL;
  MK_TRY(mk_db_prepare(db, sql, &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, account_id, e));
  MK_TRY(mk_stmt_step(st, e));
  *n = mk_stmt_int(st, 0);
out:
  mk_stmt_finish(st);
  return rc;
}

/* next_step: "verify" (去认证) without an identity; "download" (去下载)
 * when an application waits for payment or download; "apply" (去申请)
 * when no application is under way or done; else null. */
static int next_step(mk_db *db, const char *account_id, int verified, json_t *me, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  const char *step = NULL, *label = NULL;
  char app[MK_ID_MAX] = "";
  int64_t live = 0;
  if (!verified) {
    step = "verify";
    label = "去认证";
    goto done;
  }
  MK_TRY(mk_db_prepare(db,
                       "SELECT id FROM application WHERE account_id = $1 AND state IN "
                       "('" MK_APP_AWAITING_PAYMENT "', '" MK_APP_PAID "') "
                       "ORDER BY updated_at DESC, id LIMIT 1",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, account_id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  if (found) {
    snprintf(app, sizeof app, "%s", mk_stmt_text(st, 0));
    step = "download";
    label = "去下载";
    goto done;
  }
  mk_stmt_finish(st);
  st = NULL;
  MK_TRY(count_of(db,
                  "SELECT COUNT(*) FROM application WHERE account_id = $1 AND state NOT IN "
                  "('" MK_APP_ADMIN_REJECTED "', '" MK_APP_CANCELLED "')",
                  account_id, &live, e));
  if (live == 0) {
    step = "apply";
    label = "去申请";
  }
done:
  MK_ENSURE(json_object_set_new(me, "next_step", step ? json_string(step) : json_null()) == 0 &&
                json_object_set_new(me, "next_step_label",
                                    label ? json_string(label) : json_null()) == 0 &&
                json_object_set_new(me, "next_step_application_id",
                                    app[0] ? json_string(app) : json_null()) == 0,
            MK_ENOMEM, e, "out of memory");
out:
  mk_stmt_finish(st);
  return rc;
}

/* identity {name, id_number masked, method, verified_at} or null. */
static int identity_part(mk_db *db, const char *account_id, json_t *me, int *verified, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  json_t *v = NULL;
  char masked[32];
  MK_TRY(mk_db_prepare(
      db, "SELECT name, id_number, method, verified_at FROM identity WHERE account_id = $1", &st,
      e));
  MK_TRY(mk_stmt_bind_text(st, 1, account_id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  if (found) {
    mk_svc_mask_id_number(mk_stmt_text(st, 1), masked, sizeof masked);
    v = json_pack("{s:s,s:s,s:s,s:s}", "name", mk_stmt_text(st, 0), "id_number", masked, "method",
                  mk_stmt_text(st, 2), "verified_at", mk_stmt_text(st, 3));
  } else {
    v = json_null();
  }
  MK_ENSURE(v != NULL && json_object_set_new(me, "identity", v) == 0, MK_ENOMEM, e,
            "out of memory");
  *verified = found;
out:
  mk_stmt_finish(st);
  return rc;
}

/* enterprises [{id, name, role}] and roles ["person", "admin"?, "staff"?]. */
static int roles_part(mk_db *db, const char *account_id, json_t *me, mk_err *e) {
  int rc = 0, row = 0, admin = 0, staff = 0;
  mk_stmt *st = NULL;
  json_t *ents = json_array(), *roles = json_array();
  MK_ENSURE(ents != NULL && roles != NULL, MK_ENOMEM, e, "out of memory");
  MK_TRY(mk_db_prepare(db,
                       "SELECT e.id, e.name, m.role FROM membership m JOIN enterprise e ON "
                       "e.id = m.enterprise_id WHERE m.account_id = $1 AND m.state = 'active' "
                       "ORDER BY e.name, e.id",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, account_id, e));
  while ((row = mk_stmt_step(st, e)) == 1) {
    const char *role = mk_stmt_text(st, 2);
    admin |= strcmp(role, "admin") == 0;
    staff |= strcmp(role, "staff") == 0;
    json_t *o = json_pack("{s:s,s:s,s:s}", "id", mk_stmt_text(st, 0), "name", mk_stmt_text(st, 1),
                          "role", role);
    MK_ENSURE(o != NULL && json_array_append_new(ents, o) == 0, MK_ENOMEM, e, "out of memory");
  }
  MK_TRY(row);
  MK_ENSURE(json_array_append_new(roles, json_string("person")) == 0 &&
                (!admin || json_array_append_new(roles, json_string("admin")) == 0) &&
                (!staff || json_array_append_new(roles, json_string("staff")) == 0) &&
                json_object_set(me, "roles", roles) == 0 &&
                json_object_set(me, "enterprises", ents) == 0,
            MK_ENOMEM, e, "out of memory");
out:
  mk_stmt_finish(st);
  json_decref(ents);
  json_decref(roles);
  return rc;
}

/* platform {id, name, kind, province, city} or null. */
static int platform_part(mk_db *db, const char *platform_id, json_t *me, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  json_t *v = json_null();
  if (platform_id != NULL) {
    MK_TRY(mk_db_prepare(db, "SELECT id, name, kind, province, city FROM platform WHERE id = $1",
                         &st, e));
    MK_TRY(mk_stmt_bind_text(st, 1, platform_id, e));
    MK_TRY(found = mk_stmt_step(st, e));
    if (found)
      v = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", mk_stmt_text(st, 0), "name",
                    mk_stmt_text(st, 1), "kind", mk_stmt_text(st, 2), "province",
                    mk_stmt_text(st, 3), "city", mk_stmt_text(st, 4));
  }
  MK_ENSURE(v != NULL && json_object_set_new(me, "platform", v) == 0, MK_ENOMEM, e,
            "out of memory");
out:
  mk_stmt_finish(st);
  return rc;
}

int mk_svc_me_get(mk_svc_ctx *ctx, json_t **out, mk_err *e) {
  int rc = 0, found = 0, verified = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  json_t *me = NULL, *shortcuts = NULL;
  char phone[32], platform[MK_ID_MAX + 32];
  int has_platform = 0;
  int64_t unread = 0;
  *out = NULL;
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_prepare(db, "SELECT phone, platform_id FROM account WHERE id = $1", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, ctx->caller.account_id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found, MK_EAUTH, e, "the account no longer exists");
  snprintf(phone, sizeof phone, "%s", mk_stmt_text(st, 0));
  if (!mk_stmt_is_null(st, 1)) {
    snprintf(platform, sizeof platform, "%s", mk_stmt_text(st, 1));
    has_platform = 1;
  }
  mk_stmt_finish(st);
  st = NULL;
  /* The owner sees the whole phone number: it is how they log in. */
  me = json_pack("{s:s,s:s}", "account_id", ctx->caller.account_id, "phone", phone);
  MK_ENSURE_ALLOC(me, e);
  MK_TRY(identity_part(db, ctx->caller.account_id, me, &verified, e));
  MK_TRY(platform_part(db, has_platform ? platform : NULL, me, e));
  MK_TRY(roles_part(db, ctx->caller.account_id, me, e));
  MK_TRY(count_of(db, "SELECT COUNT(*) FROM message WHERE account_id = $1 AND read_at IS NULL",
                  ctx->caller.account_id, &unread, e));
  MK_ENSURE(json_object_set_new(me, "unread_messages", json_integer(unread)) == 0, MK_ENOMEM, e,
            "out of memory");
  MK_TRY(next_step(db, ctx->caller.account_id, verified, me, e));
  MK_TRY(shortcuts_of(db, ctx->caller.account_id, &shortcuts, e));
  MK_ENSURE(json_object_set_new(me, "shortcuts", shortcuts) == 0 &&
                json_object_set_new(me, "service_phone", json_string(mk_svc_service_phone(ctx))) ==
                    0,
            MK_ENOMEM, e, "out of memory");
  shortcuts = NULL;
  *out = me;
  me = NULL;
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  json_decref(me);
  return rc;
}
