/*
 * Review: what applicants, enterprise admins and CA operators see of the
 * application engine (svc/application.c) and how they act on it. Lists are
 * keyset-paged (a cursor is the position of the last item, so approving
 * items between pages skips nothing); every decision is one transaction
 * around mk_svc_app_transition; CA operators see only their CA's
 * applications, and only those that reached the CA; CA logins are limited
 * per username and per client address (docs/review.md).
 */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "svc/svc.h"
#include "util/guard.h"
#include "util/json.h"
#include "util/time.h"
#include "util/utf8.h"

static const char *const all_states[] = {
    MK_APP_AWAITING_ADMIN, MK_APP_ADMIN_REJECTED, MK_APP_AWAITING_CA, MK_APP_CA_REJECTED,
    MK_APP_AWAITING_PAYMENT, MK_APP_PAID, MK_APP_ISSUED, MK_APP_CANCELLED, NULL};
/* What a CA may list: everything from its own step on. */
static const char *const ca_states[] = {MK_APP_AWAITING_CA, MK_APP_CA_REJECTED,
                                        MK_APP_AWAITING_PAYMENT, MK_APP_PAID,
                                        MK_APP_ISSUED, MK_APP_CANCELLED, NULL};

static int in_list(const char *const *list, const char *v) {
  for (size_t i = 0; v != NULL && list[i] != NULL; i++)
    if (strcmp(list[i], v) == 0)
      return 1;
  return 0;
}

static int fail_field(char *field, const char *name, mk_err *e, int code, const char *msg) {
  if (field != NULL)
    snprintf(field, MK_JSON_FIELD_MAX, "%s", name);
  return mk_err_set(e, code, "%s", msg);
}

/* ---- cursors ------------------------------------------------------------- */

int mk_svc_app_cursor_parse(const char *c, mk_svc_app_pos *p, char *field, mk_err *e) {
  int64_t t = 0;
  const char *dash = c ? strchr(c, '-') : NULL;
  p->at[0] = p->id[0] = '\0';
  if (c == NULL)
    return 0;
  size_t n = dash ? (size_t)(dash - c) : 0;
  int ok = n >= 1 && n <= 12 && mk_id_check(dash + 1, "apl", NULL) == 0;
  for (size_t i = 0; ok && i < n; i++) {
    ok = c[i] >= '0' && c[i] <= '9';
    t = t * 10 + (c[i] - '0');
  }
  if (!ok || mk_time_format(t, p->at, NULL) < 0)
    return fail_field(field, "cursor", e, MK_EINVAL, "cursor is not one this server gave");
  snprintf(p->id, sizeof p->id, "%s", dash + 1);
  return 0;
}

int mk_svc_app_cursor_make(const char *at, const char *id, char *out, size_t cap, mk_err *e) {
  int64_t t = 0;
  int rc = mk_time_parse(at, &t, e);
  if (rc < 0)
    return rc;
  snprintf(out, cap, "%lld-%s", (long long)t, id);
  return 0;
}

#define CURSOR_MAX (24 + MK_ID_MAX)

/* ---- the account's lists ------------------------------------------------ */

static int set_new(json_t *o, const char *k, json_t *v, mk_err *e) {
  if (v == NULL || json_object_set_new(o, k, v) != 0)
    return mk_err_set(e, MK_ENOMEM, "out of memory");
  return 0;
}

/* {id, name, uscc} from columns, or null when there is no enterprise. */
static json_t *enterprise_json(mk_stmt *st, int id_col, int name_col, int uscc_col) {
  const char *id = mk_stmt_text(st, id_col);
  if (id == NULL)
    return json_null();
  return json_pack("{s:s,s:s?,s:s?}", "id", id, "name", mk_stmt_text(st, name_col), "uscc",
                   mk_stmt_text(st, uscc_col));
}

int mk_svc_app_list(mk_svc_ctx *ctx, const char *role, const char *state, const char *cursor,
                    int64_t limit, json_t **out, char *field, mk_err *e) {
  int rc = 0, row = 0, admin = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  json_t *items = NULL;
  mk_svc_app_pos p;
  char next[CURSOR_MAX] = "", last_at[MK_TIME_TEXT_MAX] = "", last_id[MK_ID_MAX] = "";
  *out = NULL;
  MK_TRY(mk_svc_need_account(ctx, e));
  if (role != NULL && strcmp(role, "admin") == 0)
    admin = 1;
  else if (role != NULL && strcmp(role, "applicant") != 0)
    MK_TRY(fail_field(field, "role", e, MK_EINVAL, "role is applicant or admin"));
  if (state != NULL && !in_list(all_states, state))
    MK_TRY(fail_field(field, "state", e, MK_EINVAL, "state is not one an application has"));
  if (limit < 1 || limit > MK_SVC_LIST_MAX)
    MK_TRY(fail_field(field, "limit", e, MK_EINVAL, "limit is 1..100"));
  MK_TRY(mk_svc_app_cursor_parse(cursor, &p, field, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  const char *sql_applicant =
      "SELECT p.id, p.kind, p.state, p.account_id, p.enterprise_id, p.platform_id, p.ca_id, "
      "p.years, p.created_at, p.updated_at, c.phone, i.name, e.name, e.uscc "
      "FROM application p JOIN account c ON c.id = p.account_id "
      "LEFT JOIN identity i ON i.account_id = p.account_id "
      "LEFT JOIN enterprise e ON e.id = p.enterprise_id "
      "WHERE p.account_id = $1 AND (CAST($2 AS TEXT) = '' OR p.state = $2) "
      "AND (CAST($3 AS TEXT) = '' OR p.created_at < $3 OR (p.created_at = $3 AND p.id < $4)) "
      "ORDER BY p.created_at DESC, p.id DESC LIMIT $5";
  const char *sql_admin =
      "SELECT p.id, p.kind, p.state, p.account_id, p.enterprise_id, p.platform_id, p.ca_id, "
      "p.years, p.created_at, p.updated_at, c.phone, i.name, e.name, e.uscc "
      "FROM application p JOIN account c ON c.id = p.account_id "
      "LEFT JOIN identity i ON i.account_id = p.account_id "
      "LEFT JOIN enterprise e ON e.id = p.enterprise_id "
      "WHERE p.kind IN " MK_APP_ADMIN_KINDS " AND p.enterprise_id IN (SELECT m.enterprise_id "
      "FROM membership m WHERE m.account_id = $1 AND m.role = 'admin' AND m.state = 'active') "
      "AND (CAST($2 AS TEXT) = '' OR p.state = $2) "
      "AND (CAST($3 AS TEXT) = '' OR p.created_at < $3 OR (p.created_at = $3 AND p.id < $4)) "
      "ORDER BY p.created_at DESC, p.id DESC LIMIT $5";
  MK_TRY(mk_db_prepare(db, admin ? sql_admin : sql_applicant, &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, ctx->caller.account_id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, state ? state : "", e));
  MK_TRY(mk_stmt_bind_text(st, 3, p.at, e));
  MK_TRY(mk_stmt_bind_text(st, 4, p.id, e));
  MK_TRY(mk_stmt_bind_int(st, 5, limit + 1, e));
  items = json_array();
  MK_ENSURE_ALLOC(items, e);
  int64_t n = 0;
  int more = 0;
  while ((row = mk_stmt_step(st, e)) == 1) {
    if (n == limit) {
      more = 1;
      break;
    }
    const char *kind = mk_stmt_text(st, 1), *st_state = mk_stmt_text(st, 2);
    const mk_app_kind *k = mk_svc_app_kind(kind);
    char phone[32];
    mk_svc_mask_phone(mk_stmt_text(st, 10), phone, sizeof phone);
    /* What this reader may do next (the message's action, docs/messages.md). */
    const char *action = NULL;
    if (!admin && strcmp(st_state, MK_APP_CA_REJECTED) == 0)
      action = "resubmit";
    else if (admin && strcmp(st_state, MK_APP_AWAITING_ADMIN) == 0)
      action = "approve";
    json_t *it = json_pack("{s:s,s:s,s:s,s:s,s:s?,s:{s:s,s:s?,s:s},s:s?,s:s?,s:s,s:s}", "id",
                           mk_stmt_text(st, 0), "kind", kind, "title", k ? k->title : kind,
                           "state", st_state, "action", action, "applicant", "account_id",
                           mk_stmt_text(st, 3), "name", mk_stmt_text(st, 11), "phone", phone,
                           "platform_id", mk_stmt_text(st, 5), "ca_id", mk_stmt_text(st, 6),
                           "created_at", mk_stmt_text(st, 8), "updated_at",
                           mk_stmt_text(st, 9));
    MK_ENSURE(it != NULL && json_array_append_new(items, it) == 0, MK_ENOMEM, e, "out of memory");
    MK_TRY(set_new(it, "enterprise", enterprise_json(st, 4, 12, 13), e));
    MK_TRY(set_new(it, "years",
                   mk_stmt_is_null(st, 7) ? json_null() : json_integer(mk_stmt_int(st, 7)), e));
    snprintf(last_at, sizeof last_at, "%s", mk_stmt_text(st, 8));
    snprintf(last_id, sizeof last_id, "%s", mk_stmt_text(st, 0));
    n++;
  }
  MK_TRY(row);
  if (more)
    MK_TRY(mk_svc_app_cursor_make(last_at, last_id, next, sizeof next, e));
  *out = json_pack("{s:O,s:s?}", "items", items, "next_cursor", more ? next : NULL);
  MK_ENSURE_ALLOC(*out, e);
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  json_decref(items);
  return rc;
}

/* ---- acting on an application ---------------------------------------------- */

#define CHANGES_MAX 32
#define CHANGE_TEXT_MAX 256 /* bytes of one changed text value */
#define RESUBMIT_ATTACHMENTS_MAX 8

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* A new value for key of data: text, validated as the field it is. */
static int change_check(const char *key, const json_t *old, const json_t *v, char *field,
                        mk_err *e) {
  int rc = 0;
  char f[MK_JSON_FIELD_MAX];
  snprintf(f, sizeof f, "changes.%s", key);
  if (!json_is_string(old))
    return fail_field(field, f, e, MK_EINVAL, "the application has no such field to change");
  const char *s = json_string_value(v);
  size_t n = s ? strlen(s) : 0;
  if (s == NULL || n == 0 || n > CHANGE_TEXT_MAX || !mk_utf8_valid_text(s, n, 0))
    return fail_field(field, f, e, MK_EINVAL, "give text of 1..256 bytes");
  mk_err ve;
  mk_err_clear(&ve);
  if (strcmp(key, "uscc") == 0 || ends_with(key, "_uscc"))
    rc = mk_valid_uscc(s, &ve);
  else if (strcmp(key, "id_number") == 0 || ends_with(key, "_id_number"))
    rc = mk_valid_id_number(s, &ve);
  else if (strcmp(key, "phone") == 0 || strcmp(key, "mobile") == 0 || ends_with(key, "_phone"))
    rc = mk_valid_mobile(s, &ve);
  else if (strcmp(key, "legal_name") == 0 || strcmp(key, "admin_name") == 0 ||
           strcmp(key, "person_name") == 0)
    rc = mk_valid_person_name(s, &ve);
  if (rc < 0)
    return fail_field(field, f, e, MK_EINVAL, ve.msg);
  return 0;
}

static int role_ok(const char *r) {
  size_t n = r ? strlen(r) : 0;
  if (n == 0 || n > 32)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((r[i] >= 'a' && r[i] <= 'z') || r[i] == '_'))
      return 0;
  return 1;
}

/* Check a resubmission body against data; fills n's attachment lists (ids
 * and roles point into body). */
static int resubmission_parse(const json_t *body, const char *app_kind, const json_t *data,
                              json_t **changes,
                              mk_app_new *n, const char **ids, const char **roles, char *field,
                              mk_err *e) {
  static const char *const allowed[] = {"changes", "attachments", NULL};
  int rc = 0;
  json_t *ch = NULL, *atts = NULL;
  *changes = NULL;
  if (body == NULL)
    return 0;
  MK_TRY(mk_json_only_keys(body, allowed, field, e));
  MK_TRY(mk_json_get_object(body, "changes", 0, &ch, field, e));
  MK_TRY(mk_json_get_array(body, "attachments", 0, RESUBMIT_ATTACHMENTS_MAX, &atts, field, e));
  if (ch != NULL) {
    if (!json_is_object(ch) || json_object_size(ch) > CHANGES_MAX)
      MK_TRY(fail_field(field, "changes", e, MK_EINVAL, "changes is an object of at most 32 fields"));
    const char *k;
    json_t *v;
    const mk_app_kind *kind = mk_svc_app_kind(app_kind);
    json_object_foreach(ch, k, v) {
      /* Only what the kind lets a resubmission correct (an enterprise's
       * registered details); who is named, the verified identity and the
       * rest of data are fixed at submission. */
      int ok = 0;
      for (size_t x = 0; kind != NULL && kind->editable != NULL && kind->editable[x]; x++)
        ok |= strcmp(kind->editable[x], k) == 0;
      if (!ok) {
        char f[MK_JSON_FIELD_MAX];
        snprintf(f, sizeof f, "changes.%s", k);
        MK_TRY(fail_field(field, f, e, MK_EINVAL, "this field cannot be changed by resubmitting"));
      }
      MK_TRY(change_check(k, json_object_get(data, k), v, field, e));
    }
    *changes = ch;
  }
  size_t i;
  json_t *a;
  json_array_foreach(atts, i, a) {
    char f[MK_JSON_FIELD_MAX];
    const char *role = json_string_value(json_object_get(a, "role"));
    const char *id = json_string_value(json_object_get(a, "id"));
    snprintf(f, sizeof f, "attachments[%zu]", i);
    if (!json_is_object(a) || json_object_size(a) != 2 || !role_ok(role) || id == NULL ||
        mk_id_check(id, "att", NULL) < 0)
      MK_TRY(fail_field(field, f, e, MK_EINVAL,
                        "each attachment is {role (a-z and _), id (att_…) of your upload}"));
    ids[i] = id;
    roles[i] = role;
  }
  n->attachment_ids = ids;
  n->attachment_roles = roles;
  n->nattachments = json_array_size(atts);
out:
  return rc;
}

int mk_svc_app_act(mk_svc_ctx *ctx, const char *id, int event, const char *reason,
                   const json_t *body, json_t **out, char *field, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  json_t *before = NULL, *changes = NULL;
  const char *ids[RESUBMIT_ATTACHMENTS_MAX], *roles[RESUBMIT_ATTACHMENTS_MAX];
  mk_app_new n = {0};
  *out = NULL;
  MK_ENSURE(id != NULL && mk_id_check(id, "apl", NULL) == 0, MK_ENOTFOUND, e,
            "no such application");
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  if (event == MK_APP_EV_RESUBMIT && body != NULL) {
    MK_TRY(mk_svc_app_get_db(ctx, db, id, &before, e));
    MK_TRY(resubmission_parse(body, json_string_value(json_object_get(before, "kind")),
                              json_object_get(before, "data"), &changes, &n, ids, roles,
                              field, e));
  }
  rc = mk_svc_app_transition(ctx, db, id, event, reason, changes,
                             n.nattachments > 0 ? &n : NULL, field, e);
  if (rc == MK_EINVAL && field != NULL && field[0] == '\0' && n.nattachments > 0)
    snprintf(field, MK_JSON_FIELD_MAX, "attachments");
  MK_TRY(rc);
  MK_TRY(mk_svc_app_get_db(ctx, db, id, out, e));
  MK_TRY(mk_db_commit(db, e));
out:
  if (rc < 0) {
    json_decref(*out);
    *out = NULL;
  }
  json_decref(before);
  mk_store_release(ctx->store, db); /* rolls back what did not commit */
  return rc;
}

/* ---- the CA's side ------------------------------------------------------------ */

static int need_ca(const mk_svc_ctx *ctx, mk_err *e) {
  if (ctx->caller.role != MK_ROLE_CA_OPERATOR || ctx->caller.ca_id[0] == '\0')
    return mk_err_set(e, MK_EPERM, "only a CA operator reviews applications");
  return 0;
}

/* 1 when application id of the caller's CA ever waited for the CA. */
static int reached_ca(mk_svc_ctx *ctx, mk_db *db, const char *id, mk_err *e) {
  int rc = 0;
  mk_stmt *st = NULL;
  MK_TRY(mk_db_prepare(db,
                       "SELECT 1 FROM application p WHERE p.id = $1 AND p.ca_id = $2 AND EXISTS "
                       "(SELECT 1 FROM application_event v WHERE v.application_id = p.id AND "
                       "v.to_state = 'awaiting_ca')",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, ctx->caller.ca_id, e));
  MK_TRY(rc = mk_stmt_step(st, e));
out:
  mk_stmt_finish(st);
  return rc;
}

int mk_svc_ca_queue(mk_svc_ctx *ctx, const char *state, const char *cursor, int64_t limit,
                    json_t **out, char *field, mk_err *e) {
  int rc = 0, row = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  json_t *items = NULL;
  mk_svc_app_pos p;
  char next[CURSOR_MAX] = "", last_at[MK_TIME_TEXT_MAX] = "", last_id[MK_ID_MAX] = "";
  *out = NULL;
  MK_TRY(need_ca(ctx, e));
  if (state == NULL)
    state = MK_APP_AWAITING_CA;
  if (!in_list(ca_states, state))
    MK_TRY(fail_field(field, "state", e, MK_EINVAL,
                      "state is one of awaiting_ca, ca_rejected, awaiting_payment, paid, issued, "
                      "cancelled"));
  if (limit < 1 || limit > MK_SVC_LIST_MAX)
    MK_TRY(fail_field(field, "limit", e, MK_EINVAL, "limit is 1..100"));
  MK_TRY(mk_svc_app_cursor_parse(cursor, &p, field, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_prepare(
      db,
      "SELECT p.id, p.kind, p.state, p.account_id, p.enterprise_id, p.platform_id, p.years, "
      "p.created_at, p.updated_at, c.phone, i.name, i.id_number, e.name, e.uscc, "
      "(SELECT COUNT(*) FROM application_attachment x WHERE x.application_id = p.id) "
      "FROM application p JOIN account c ON c.id = p.account_id "
      "LEFT JOIN identity i ON i.account_id = p.account_id "
      "LEFT JOIN enterprise e ON e.id = p.enterprise_id "
      "WHERE p.ca_id = $1 AND p.state = $2 AND EXISTS (SELECT 1 FROM application_event v "
      "WHERE v.application_id = p.id AND v.to_state = 'awaiting_ca') "
      "AND (CAST($3 AS TEXT) = '' OR p.updated_at > $3 OR (p.updated_at = $3 AND p.id > $4)) "
      "ORDER BY p.updated_at, p.id LIMIT $5",
      &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, ctx->caller.ca_id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, state, e));
  MK_TRY(mk_stmt_bind_text(st, 3, p.at, e));
  MK_TRY(mk_stmt_bind_text(st, 4, p.id, e));
  MK_TRY(mk_stmt_bind_int(st, 5, limit + 1, e));
  items = json_array();
  MK_ENSURE_ALLOC(items, e);
  int64_t n = 0;
  int more = 0;
  while ((row = mk_stmt_step(st, e)) == 1) {
    if (n == limit) {
      more = 1;
      break;
    }
    const char *kind = mk_stmt_text(st, 1);
    const mk_app_kind *k = mk_svc_app_kind(kind);
    char phone[32], idn[40];
    mk_svc_mask_phone(mk_stmt_text(st, 9), phone, sizeof phone);
    mk_svc_mask_id_number(mk_stmt_text(st, 11), idn, sizeof idn);
    json_t *it = json_pack(
        "{s:s,s:s,s:s,s:s,s:{s:s,s:s?,s:s,s:s?},s:s?,s:I,s:s,s:s}", "id", mk_stmt_text(st, 0),
        "kind", kind, "title", k ? k->title : kind, "state", mk_stmt_text(st, 2), "applicant",
        "account_id", mk_stmt_text(st, 3), "name", mk_stmt_text(st, 10), "phone", phone,
        "id_number", mk_stmt_is_null(st, 11) ? NULL : idn, "platform_id", mk_stmt_text(st, 5),
        "attachments", (json_int_t)mk_stmt_int(st, 14), "created_at", mk_stmt_text(st, 7),
        "updated_at", mk_stmt_text(st, 8));
    MK_ENSURE(it != NULL && json_array_append_new(items, it) == 0, MK_ENOMEM, e, "out of memory");
    MK_TRY(set_new(it, "enterprise", enterprise_json(st, 4, 12, 13), e));
    MK_TRY(set_new(it, "years",
                   mk_stmt_is_null(st, 6) ? json_null() : json_integer(mk_stmt_int(st, 6)), e));
    snprintf(last_at, sizeof last_at, "%s", mk_stmt_text(st, 8));
    snprintf(last_id, sizeof last_id, "%s", mk_stmt_text(st, 0));
    n++;
  }
  MK_TRY(row);
  if (more)
    MK_TRY(mk_svc_app_cursor_make(last_at, last_id, next, sizeof next, e));
  *out = json_pack("{s:O,s:s?,s:s,s:s}", "items", items, "next_cursor", more ? next : NULL,
                   "ca_id", ctx->caller.ca_id, "state", state);
  MK_ENSURE_ALLOC(*out, e);
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  json_decref(items);
  return rc;
}

int mk_svc_ca_app_get(mk_svc_ctx *ctx, const char *id, json_t **out, mk_err *e) {
  int rc = 0, found = 0;
  mk_db *db = NULL;
  json_t *o = NULL;
  char idn[32] = "", masked[40];
  *out = NULL;
  MK_TRY(need_ca(ctx, e));
  MK_ENSURE(id != NULL && mk_id_check(id, "apl", NULL) == 0, MK_ENOTFOUND, e,
            "no such application");
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(found = reached_ca(ctx, db, id, e));
  MK_ENSURE(found, MK_ENOTFOUND, e, "no such application");
  MK_TRY(mk_svc_app_get_db(ctx, db, id, &o, e));
  json_t *applicant = json_object_get(o, "applicant");
  const char *acc = json_string_value(json_object_get(applicant, "account_id"));
  MK_TRY(found = mk_svc_identity_of(db, acc, NULL, idn, e));
  mk_svc_mask_id_number(idn, masked, sizeof masked);
  MK_TRY(set_new(applicant, "id_number", found ? json_string(masked) : json_null(), e));
  MK_TRY(set_new(applicant, "verified", json_boolean(found), e));
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(o, "attachments"), i, a) {
    char url[160];
    snprintf(url, sizeof url, "/v1/ca/applications/%s/attachments/%s", id,
             json_string_value(json_object_get(a, "id")));
    MK_TRY(set_new(a, "url", json_string(url), e));
  }
  *out = o;
  o = NULL;
out:
  OPENSSL_cleanse(idn, sizeof idn);
  json_decref(o);
  mk_store_release(ctx->store, db);
  return rc;
}

int mk_svc_ca_app_attachment(mk_svc_ctx *ctx, const char *id, const char *att,
                             unsigned char **data, size_t *len, char media_type[16], mk_err *e) {
  int rc = 0, found = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  *data = NULL;
  *len = 0;
  MK_TRY(need_ca(ctx, e));
  MK_ENSURE(id != NULL && mk_id_check(id, "apl", NULL) == 0 && att != NULL &&
                mk_id_check(att, "att", NULL) == 0,
            MK_ENOTFOUND, e, "no such attachment");
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(found = reached_ca(ctx, db, id, e));
  MK_ENSURE(found, MK_ENOTFOUND, e, "no such attachment");
  MK_TRY(mk_db_prepare(db,
                       "SELECT a.media_type, a.data FROM application_attachment x JOIN attachment "
                       "a ON a.id = x.attachment_id WHERE x.application_id = $1 AND "
                       "x.attachment_id = $2",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, att, e));
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found, MK_ENOTFOUND, e, "no such attachment");
  size_t n = 0;
  const void *b = mk_stmt_blob(st, 1, &n);
  *data = malloc(n ? n : 1);
  MK_ENSURE_ALLOC(*data, e);
  memcpy(*data, b, n);
  *len = n;
  snprintf(media_type, 16, "%s", mk_stmt_text(st, 0));
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  return rc;
}

/* ---- CA logins, limited ------------------------------------------------------- */

/* Failed CA logins go into the sliding-window table of the account limits
 * (rate_event, migration 0006) under buckets of their own. */
#define BUCKET_MAX 96

static int failures(mk_db *db, const char *bucket, int64_t since, int64_t *count, mk_err *e) {
  int rc = 0;
  mk_stmt *st = NULL;
  MK_TRY(mk_db_prepare(db, "SELECT COUNT(*) FROM rate_event WHERE bucket = $1 AND at > $2", &st,
                       e));
  MK_TRY(mk_stmt_bind_text(st, 1, bucket, e));
  MK_TRY(mk_stmt_bind_int(st, 2, since, e));
  MK_TRY(mk_stmt_step(st, e));
  *count = mk_stmt_int(st, 0);
out:
  mk_stmt_finish(st);
  return rc;
}

/* sql with text $1 and, when t >= 0, integer $2. */
static int exec_bucket(mk_db *db, const char *sql, const char *bucket, int64_t t, mk_err *e) {
  int rc = 0;
  mk_stmt *st = NULL;
  MK_TRY(mk_db_prepare(db, sql, &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, bucket, e));
  if (t >= 0)
    MK_TRY(mk_stmt_bind_int(st, 2, t, e));
  MK_TRY(mk_stmt_step(st, e));
out:
  mk_stmt_finish(st);
  return rc;
}

/* A failure in bucket, dropping the bucket's rows that left the window. */
static int failure_add(mk_db *db, const char *bucket, int64_t now, mk_err *e) {
  int rc = 0;
  MK_TRY(exec_bucket(db, "DELETE FROM rate_event WHERE bucket = $1 AND at <= $2", bucket,
                     now - MK_CA_LOGIN_WINDOW, e));
  MK_TRY(exec_bucket(db, "INSERT INTO rate_event(bucket, at) VALUES ($1, $2)", bucket, now, e));
out:
  return rc;
}

/* The username as its rate-limit subject: itself when it has a username's
 * form (it may name nobody), else one shared bucket. */
static const char *user_subject(const char *u) {
  size_t n = u ? strlen(u) : 0;
  if (n < 3 || n > 64)
    return "(malformed)";
  for (size_t i = 0; i < n; i++)
    if (!((u[i] >= 'a' && u[i] <= 'z') || (u[i] >= '0' && u[i] <= '9') || u[i] == '.' ||
          u[i] == '_' || u[i] == '-'))
      return "(malformed)";
  return u;
}

int mk_svc_ca_login(mk_svc_ctx *ctx, int kind, const char *username, const char *password,
                    char token[MK_SESSION_TOKEN_MAX], char *csrf, json_t **out, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  int64_t now = ctx->now(), nuser = 0, nremote = 0;
  const char *user = user_subject(username);
  char ubucket[BUCKET_MAX], rbucket[BUCKET_MAX];
  snprintf(ubucket, sizeof ubucket, "ca_login.user:%s", user);
  snprintf(rbucket, sizeof rbucket, "ca_login.ip:%s",
           ctx->caller.remote != NULL && ctx->caller.remote[0] != '\0' ? ctx->caller.remote
                                                                         : "local");
  *out = NULL;
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(failures(db, ubucket, now - MK_CA_LOGIN_WINDOW, &nuser, e));
  MK_TRY(failures(db, rbucket, now - MK_CA_LOGIN_WINDOW, &nremote, e));
  MK_ENSURE(nuser < MK_CA_LOGIN_FAILS_USER && nremote < MK_CA_LOGIN_FAILS_REMOTE, MK_ERATE, e,
            "too many failed logins; try again in %d minutes", MK_CA_LOGIN_WINDOW / 60);
  /* The login takes a connection of its own. */
  mk_store_release(ctx->store, db);
  db = NULL;
  rc = mk_svc_ca_operator_login(ctx, kind, username, password, token, csrf, out, e);
  if (rc != MK_EAUTH && rc < 0)
    goto out;
  mk_err saved = *e;
  int login_rc = rc;
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  if (login_rc == 0) {
    MK_TRY(exec_bucket(db, "DELETE FROM rate_event WHERE bucket = $1", ubucket, -1, e));
  } else {
    MK_TRY(failure_add(db, ubucket, now, e));
    MK_TRY(failure_add(db, rbucket, now, e));
    json_t *d = json_pack("{s:s}", "username", user);
    MK_ENSURE_ALLOC(d, e);
    rc = mk_svc_audit(ctx, db, "ca_operator.login_failed", "ca_operator", user, NULL, NULL, d, e);
    json_decref(d);
    MK_TRY(rc);
  }
  MK_TRY(mk_db_commit(db, e));
  rc = login_rc;
  *e = saved;
out:
  mk_store_release(ctx->store, db);
  if (rc < 0) {
    json_decref(*out);
    *out = NULL;
    OPENSSL_cleanse(token, MK_SESSION_TOKEN_MAX);
  }
  return rc;
}
