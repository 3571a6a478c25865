/*
 * Authorisations (授权管理): the admin lets a staff member act for the
 * enterprise on one trading platform with some permissions. Revoking keeps
 * the row, so the history by platform (按交易平台) and by person (按人员) is
 * complete. Joins and staff certificates approved by the CA add rows too
 * (svc/enterprise.c's hooks).
 */
#include <openssl/crypto.h>
#include <string.h>

#include "svc/org.h"
#include "util/guard.h"
#include "util/time.h"

#define AUTHZ_COLS                                                                                 \
  "z.id, z.membership_id, i.name, z.platform_id, p.name, z.permissions, z.source, "                \
  "z.application_id, z.granted_by, z.granted_at, z.revoked_by, z.revoked_at, m.state "             \
  "FROM staff_authorization z JOIN membership m ON m.id = z.membership_id "                        \
  "JOIN platform p ON p.id = z.platform_id LEFT JOIN identity i ON i.account_id = m.account_id"

static int authz_json(mk_stmt *st, json_t **out, mk_err *e) {
  int rc = 0;
  json_t *perms = NULL;
  MK_TRY(org_permissions_load(mk_stmt_text(st, 5), &perms, e));
  *out = json_pack("{s:s,s:{s:s,s:s?,s:s},s:{s:s,s:s},s:o,s:s,s:s?,s:s,s:s,s:s?,s:s?,s:b}", "id",
                   mk_stmt_text(st, 0), "member", "member_id", mk_stmt_text(st, 1), "name",
                   mk_stmt_text(st, 2), "state", mk_stmt_text(st, 12), "platform", "id",
                   mk_stmt_text(st, 3), "name", mk_stmt_text(st, 4), "permissions", perms, "source",
                   mk_stmt_text(st, 6), "application_id", mk_stmt_text(st, 7), "granted_by",
                   mk_stmt_text(st, 8), "granted_at", mk_stmt_text(st, 9), "revoked_by",
                   mk_stmt_text(st, 10), "revoked_at", mk_stmt_text(st, 11), "active",
                   mk_stmt_is_null(st, 11));
  perms = NULL;
  MK_ENSURE_ALLOC(*out, e);
out:
  json_decref(perms);
  return rc;
}

int mk_svc_authz_list(mk_svc_ctx *ctx, const char *enterprise_id, const char *by, json_t **out,
                      char *field, mk_err *e) {
  int rc = 0, row = 0, by_person = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  json_t *groups = NULL, *group = NULL, *it = NULL;
  char key[MK_ID_MAX + 64] = "";
  *out = NULL;
  MK_TRY(mk_svc_need_account(ctx, e));
  if (by != NULL && strcmp(by, "person") == 0) {
    by_person = 1;
  } else if (by != NULL && strcmp(by, "platform") != 0) {
    if (field)
      snprintf(field, MK_JSON_FIELD_MAX, "by");
    MK_FAIL(MK_EINVAL, e, "by is platform or person");
  }
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(org_need_member(ctx, db, enterprise_id, 2, NULL, NULL, e));
  groups = json_array();
  MK_ENSURE_ALLOC(groups, e);
  /* Grouped in SQL order: each group's rows come together, active ones
   * first, newest first. */
  MK_TRY(mk_db_prepare(
      db,
      by_person ? "SELECT " AUTHZ_COLS " WHERE z.enterprise_id = $1 ORDER BY "
                  "i.name, z.membership_id, CASE WHEN z.revoked_at IS NULL THEN 0 ELSE 1 END, "
                  "z.granted_at DESC, z.id"
                : "SELECT " AUTHZ_COLS " WHERE z.enterprise_id = $1 ORDER BY "
                  "p.name, z.platform_id, CASE WHEN z.revoked_at IS NULL THEN 0 ELSE 1 END, "
                  "z.granted_at DESC, z.id",
      &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, enterprise_id, e));
  while ((row = mk_stmt_step(st, e)) == 1) {
    const char *k = mk_stmt_text(st, by_person ? 1 : 3);
    if (group == NULL || strcmp(key, k) != 0) {
      snprintf(key, sizeof key, "%s", k);
      group = by_person ? json_pack("{s:{s:s,s:s?,s:s},s:[]}", "member", "member_id", k, "name",
                                    mk_stmt_text(st, 2), "state", mk_stmt_text(st, 12), "items")
                        : json_pack("{s:{s:s,s:s},s:[]}", "platform", "id", k, "name",
                                    mk_stmt_text(st, 4), "items");
      MK_ENSURE(group != NULL && json_array_append_new(groups, group) == 0, MK_ENOMEM, e,
                "out of memory");
    }
    MK_TRY(authz_json(st, &it, e));
    MK_ENSURE(json_array_append_new(json_object_get(group, "items"), it) == 0, MK_ENOMEM, e,
              "out of memory");
    it = NULL;
  }
  MK_TRY(row);
  *out = json_pack("{s:s,s:O}", "by", by_person ? "person" : "platform", "groups", groups);
  MK_ENSURE_ALLOC(*out, e);
out:
  mk_stmt_finish(st);
  json_decref(groups);
  mk_store_release(ctx->store, db);
  return rc;
}

static int authz_get(mk_db *db, const char *id, json_t **out, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  MK_TRY(mk_db_prepare(db, "SELECT " AUTHZ_COLS " WHERE z.id = $1", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found, MK_ENOTFOUND, e, "no such authorisation");
  MK_TRY(authz_json(st, out, e));
out:
  mk_stmt_finish(st);
  return rc;
}

static int platform_name(mk_db *db, const char *id, char *out, size_t cap, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  MK_TRY(mk_db_prepare(db, "SELECT name FROM platform WHERE id = $1", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  if (found)
    snprintf(out, cap, "%s", mk_stmt_text(st, 0));
  rc = found;
out:
  mk_stmt_finish(st);
  return rc;
}

int mk_svc_authz_grant(mk_svc_ctx *ctx, const char *enterprise_id, const json_t *body, json_t **out,
                       char *field, mk_err *e) {
  static const char *const allowed[] = {"member_id", "platform_id", "permissions", NULL};
  int rc = 0, found = 0, made = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  json_t *perms = NULL, *pv = NULL;
  const char *member_id = NULL, *platform_id = NULL;
  char account[MK_ID_MAX] = "", role[16] = "", id[MK_ID_MAX], pname[256], text[512];
  *out = NULL;
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(org_need_member(ctx, db, enterprise_id, 2, NULL, NULL, e));
  MK_TRY(mk_json_only_keys(body, allowed, field, e));
  MK_TRY(mk_json_get_str(body, "member_id", 1, MK_ID_MAX - 1, &member_id, field, e));
  MK_TRY(mk_json_get_str(body, "platform_id", 1, ORG_BODY_ID_MAX, &platform_id, field, e));
  MK_TRY(mk_json_get_array(body, "permissions", 1, 8, &pv, field, e));
  MK_TRY(org_permissions_parse(pv, "permissions", &perms, field, e));
  if (mk_id_check(member_id, "mbr", NULL) == 0) {
    MK_TRY(mk_db_prepare(db,
                         "SELECT account_id, role FROM membership WHERE id = $1 AND "
                         "enterprise_id = $2 AND state = 'active'",
                         &st, e));
    MK_TRY(mk_stmt_bind_text(st, 1, member_id, e));
    MK_TRY(mk_stmt_bind_text(st, 2, enterprise_id, e));
    MK_TRY(found = mk_stmt_step(st, e));
    if (found) {
      snprintf(account, sizeof account, "%s", mk_stmt_text(st, 0));
      snprintf(role, sizeof role, "%s", mk_stmt_text(st, 1));
    }
    mk_stmt_finish(st);
    st = NULL;
  }
  if (!found) {
    if (field)
      snprintf(field, MK_JSON_FIELD_MAX, "member_id");
    MK_FAIL(MK_EINVAL, e, "member_id is not a member of this enterprise");
  }
  MK_ENSURE(strcmp(role, "staff") == 0, MK_ECONFLICT, e,
            "the admin holds every permission on every platform; authorise staff members");
  MK_TRY(found = platform_name(db, platform_id, pname, sizeof pname, e));
  if (!found) {
    if (field)
      snprintf(field, MK_JSON_FIELD_MAX, "platform_id");
    MK_FAIL(MK_EINVAL, e, "no platform %s", platform_id);
  }
  MK_TRY(made = org_authz_grant_db(ctx, db, enterprise_id, member_id, platform_id, perms, "grant",
                                   NULL, ctx->caller.account_id, id, e));
  MK_ENSURE(made, MK_ECONFLICT, e,
            "the member is authorised on this platform already: revoke that authorisation first");
  snprintf(text, sizeof text, "管理员授权您在%s办理业务。", pname);
  MK_TRY(mk_svc_message_post(ctx, db, account, "authorization_granted", "新增授权", text, NULL,
                             NULL, e));
  MK_TRY(authz_get(db, id, out, e));
  MK_TRY(mk_db_commit(db, e));
out:
  if (rc < 0) {
    json_decref(*out);
    *out = NULL;
  }
  mk_stmt_finish(st);
  json_decref(perms);
  mk_store_release(ctx->store, db);
  return rc;
}

int mk_svc_authz_revoke(mk_svc_ctx *ctx, const char *enterprise_id, const char *auth_id,
                        mk_err *e) {
  int rc = 0, found = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  char ts[MK_TIME_TEXT_MAX], account[MK_ID_MAX], pname[256], text[512];
  int revoked = 0;
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(org_need_member(ctx, db, enterprise_id, 2, NULL, NULL, e));
  MK_TRY(org_check_param(auth_id, "auz", "authorisation", e));
  MK_TRY(mk_db_prepare(
      db,
      "SELECT m.account_id, p.name, CASE WHEN z.revoked_at IS NULL THEN 0 ELSE 1 END FROM "
      "staff_authorization z JOIN membership m ON m.id = z.membership_id JOIN "
      "platform p ON p.id = z.platform_id WHERE z.id = $1 AND z.enterprise_id = $2",
      &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, auth_id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, enterprise_id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found, MK_ENOTFOUND, e, "no such authorisation");
  snprintf(account, sizeof account, "%s", mk_stmt_text(st, 0));
  snprintf(pname, sizeof pname, "%s", mk_stmt_text(st, 1));
  revoked = mk_stmt_int(st, 2) != 0;
  mk_stmt_finish(st);
  st = NULL;
  MK_ENSURE(!revoked, MK_ECONFLICT, e, "the authorisation is revoked already");
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_db_prepare(db,
                       "UPDATE staff_authorization SET revoked_at = $1, revoked_by = $2 WHERE "
                       "id = $3 AND revoked_at IS NULL",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, ts, e));
  MK_TRY(mk_stmt_bind_text(st, 2, ctx->caller.account_id, e));
  MK_TRY(mk_stmt_bind_text(st, 3, auth_id, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  MK_ENSURE(mk_db_changes(db) == 1, MK_ECONFLICT, e, "the authorisation changed meanwhile");
  MK_TRY(org_audit(ctx, db, "authorization.revoke", "authorization", auth_id, account,
                   enterprise_id, e));
  snprintf(text, sizeof text, "管理员取消了您在%s的授权。", pname);
  MK_TRY(mk_svc_message_post(ctx, db, account, "authorization_revoked", "删除授权", text, NULL,
                             NULL, e));
  MK_TRY(mk_db_commit(db, e));
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  return rc;
}
