/*
 * Personnel (人员管理): the members of an enterprise, invitations by name and
 * mobile number (新增人员), removal (删除人员) and the transfer of the admin
 * role (转授管理员). Only the admin changes anything; staff see who the
 * members are, by name. docs/enterprises.md gives the rules.
 */
#include <openssl/crypto.h>
#include <string.h>

#include "svc/org.h"
#include "util/guard.h"
#include "util/time.h"

/* ---- members ---------------------------------------------------------------- */

int mk_svc_member_list(mk_svc_ctx *ctx, const char *enterprise_id, json_t **out, mk_err *e) {
  int rc = 0, role = 0, row = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  json_t *items = NULL, *perms = NULL;
  char phone[32];
  *out = NULL;
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(org_need_member(ctx, db, enterprise_id, 1, NULL, &role, e));
  items = json_array();
  MK_ENSURE_ALLOC(items, e);
  MK_TRY(mk_db_prepare(db,
                       "SELECT m.id, m.account_id, i.name, a.phone, m.role, m.permissions, "
                       "m.created_at FROM membership m JOIN account a ON a.id = m.account_id "
                       "LEFT JOIN identity i ON i.account_id = m.account_id WHERE "
                       "m.enterprise_id = $1 AND m.state = 'active' ORDER BY m.role, "
                       "m.created_at, m.id",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, enterprise_id, e));
  while ((row = mk_stmt_step(st, e)) == 1) {
    json_t *it;
    if (role == 2) {
      mk_svc_mask_phone(mk_stmt_text(st, 3), phone, sizeof phone);
      MK_TRY(org_permissions_load(mk_stmt_text(st, 5), &perms, e));
      it = json_pack("{s:s,s:s,s:s?,s:s,s:s,s:o,s:s}", "member_id", mk_stmt_text(st, 0),
                     "account_id", mk_stmt_text(st, 1), "name", mk_stmt_text(st, 2), "phone", phone,
                     "role", mk_stmt_text(st, 4), "permissions", perms, "joined_at",
                     mk_stmt_text(st, 6));
      perms = NULL;
    } else {
      it = json_pack("{s:s,s:s?,s:s}", "member_id", mk_stmt_text(st, 0), "name",
                     mk_stmt_text(st, 2), "role", mk_stmt_text(st, 4));
    }
    MK_ENSURE(it != NULL && json_array_append_new(items, it) == 0, MK_ENOMEM, e, "out of memory");
  }
  MK_TRY(row);
  *out = json_pack("{s:O}", "items", items);
  MK_ENSURE_ALLOC(*out, e);
out:
  mk_stmt_finish(st);
  json_decref(items);
  json_decref(perms);
  mk_store_release(ctx->store, db);
  return rc;
}

/* The active membership member_id of enterprise_id: its account and role
 * (16 bytes). MK_ENOTFOUND otherwise. */
static int member_load(mk_db *db, const char *enterprise_id, const char *member_id,
                       char account[MK_ID_MAX], char role[16], mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  MK_TRY(mk_db_prepare(db,
                       "SELECT account_id, role FROM membership WHERE id = $1 AND "
                       "enterprise_id = $2 AND state = 'active'",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, member_id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, enterprise_id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found, MK_ENOTFOUND, e, "no such member");
  snprintf(account, MK_ID_MAX, "%s", mk_stmt_text(st, 0));
  snprintf(role, 16, "%s", mk_stmt_text(st, 1));
out:
  mk_stmt_finish(st);
  return rc;
}

int mk_svc_member_remove(mk_svc_ctx *ctx, const char *enterprise_id, const char *member_id,
                         mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  org_enterprise ent;
  char account[MK_ID_MAX], role[16], ts[MK_TIME_TEXT_MAX], body[512];
  memset(&ent, 0, sizeof ent);
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(org_need_member(ctx, db, enterprise_id, 2, &ent, NULL, e));
  MK_TRY(org_check_param(member_id, "mbr", "member", e));
  MK_TRY(member_load(db, enterprise_id, member_id, account, role, e));
  MK_ENSURE(strcmp(account, ctx->caller.account_id) != 0 && strcmp(role, "admin") != 0,
            MK_ECONFLICT, e, "the admin cannot be removed: transfer the admin role first");
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_db_prepare(db,
                       "UPDATE membership SET state = 'removed', updated_at = $1 WHERE id = $2 "
                       "AND state = 'active'",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, ts, e));
  MK_TRY(mk_stmt_bind_text(st, 2, member_id, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  MK_ENSURE(mk_db_changes(db) == 1, MK_ECONFLICT, e, "the member changed meanwhile; try again");
  MK_TRY(org_authz_revoke_member(ctx, db, enterprise_id, member_id, e));
  MK_TRY(org_audit(ctx, db, "member.remove", "membership", member_id, account, enterprise_id, e));
  snprintf(body, sizeof body, "您已被移出企业：%s。", ent.name);
  MK_TRY(mk_svc_message_post(ctx, db, account, "member_removed", "您已被移出企业", body, NULL, NULL,
                             e));
  MK_TRY(mk_db_commit(db, e));
out:
  OPENSSL_cleanse(ent.legal_id_number, sizeof ent.legal_id_number);
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  return rc;
}

/* ---- transfer of the admin role ------------------------------------------------- */

int mk_svc_member_transfer_admin(mk_svc_ctx *ctx, const char *enterprise_id, const json_t *body,
                                 json_t **out, char *field, mk_err *e) {
  static const char *const allowed[] = {"member_id", "form", "ca_id", "attachments", NULL};
  int rc = 0, live = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  json_t *data = NULL;
  org_atts atts = {0};
  org_enterprise ent;
  const char *member_id = NULL, *form = NULL, *ca_body = NULL;
  char account[MK_ID_MAX], role[16], ca[MK_CALLER_CA_ID_MAX], app[MK_ID_MAX], name[64] = "";
  *out = NULL;
  memset(&ent, 0, sizeof ent);
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(org_need_member(ctx, db, enterprise_id, 2, &ent, NULL, e));
  MK_TRY(mk_json_only_keys(body, allowed, field, e));
  MK_TRY(mk_json_get_str(body, "member_id", 1, MK_ID_MAX - 1, &member_id, field, e));
  MK_TRY(mk_json_get_str(body, "form", 0, MK_ID_MAX - 1, &form, field, e));
  MK_TRY(mk_json_get_str(body, "ca_id", 0, MK_CALLER_CA_ID_MAX - 1, &ca_body, field, e));
  if (form != NULL)
    MK_TRY(org_atts_add(&atts, form, "application_form", "form", field, e));
  MK_TRY(org_atts_parse(body, "attachments", "application_form", &atts, field, e));
  rc = mk_id_check(member_id, "mbr", NULL) == 0
           ? member_load(db, enterprise_id, member_id, account, role, e)
           : MK_ENOTFOUND;
  if (rc == MK_ENOTFOUND) {
    if (field)
      snprintf(field, MK_JSON_FIELD_MAX, "member_id");
    MK_FAIL(MK_EINVAL, e, "member_id is not a member of this enterprise");
  }
  MK_TRY(rc);
  MK_ENSURE(strcmp(role, "staff") == 0, MK_ECONFLICT, e, "member_id is the admin already");
  /* 有证转授管理员: the admin signs the authorisation letter with the
   * enterprise certificate and the roles swap at once. That needs a
   * downloaded certificate; until then only the form path exists. */
  MK_ENSURE(form != NULL, MK_ECONFLICT, e,
            "a transfer with the enterprise certificate needs your signed authorisation letter, "
            "which needs a downloaded enterprise certificate; upload the stamped letter as form "
            "instead (无证转授管理员)");
  MK_TRY(live = org_pending_app(db, "admin_transfer", NULL, enterprise_id, NULL, NULL, app, e));
  MK_ENSURE(!live, MK_ECONFLICT, e, "a transfer of the admin role is under review already (%s)",
            app);
  MK_TRY(org_review_ca(db, enterprise_id, ca_body, ca, field, e));
  MK_TRY(mk_svc_identity_of(db, account, name, NULL, e));
  data = json_pack("{s:s,s:s,s:s,s:s,s:s}", "member_id", member_id, "to_account_id", account,
                   "to_name", name, "enterprise_name", ent.name, "method", "form");
  MK_ENSURE_ALLOC(data, e);
  mk_app_new n = {.kind = "admin_transfer",
                  .account_id = ctx->caller.account_id,
                  .enterprise_id = enterprise_id,
                  .ca_id = ca,
                  .data = data};
  MK_TRY(org_app_submit(ctx, db, &n, &atts, app, out, field, e));
  MK_TRY(mk_db_commit(db, e));
out:
  if (rc < 0) {
    json_decref(*out);
    *out = NULL;
  }
  OPENSSL_cleanse(ent.legal_id_number, sizeof ent.legal_id_number);
  mk_stmt_finish(st);
  json_decref(data);
  mk_store_release(ctx->store, db);
  return rc;
}

/* The CA approved the transfer: the admin becomes staff and the named staff
 * member admin, both with every permission. */
int mk_svc_transfer_approved(mk_svc_ctx *ctx, mk_db *db, const mk_app_row *a, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  json_t *all = NULL;
  const char *member_id = json_string_value(json_object_get(a->data, "member_id"));
  char account[MK_ID_MAX], role[16], old_role[16] = "", ts[MK_TIME_TEXT_MAX], body[512],
                                     ename[ORG_NAME_MAX] = "";
  MK_ENSURE(a->enterprise_id != NULL && member_id != NULL, MK_EINTERNAL, e,
            "a transfer names its enterprise and member");
  MK_TRY(found = org_membership_of(db, a->enterprise_id, a->account_id, NULL, old_role, e));
  MK_ENSURE(found && strcmp(old_role, "admin") == 0, MK_ECONFLICT, e,
            "the applicant is no longer the enterprise's admin");
  rc = member_load(db, a->enterprise_id, member_id, account, role, e);
  if (rc == MK_ENOTFOUND)
    rc = mk_err_set(e, MK_ECONFLICT, "the new admin is no longer a member of the enterprise");
  MK_TRY(rc);
  MK_ENSURE(strcmp(role, "staff") == 0, MK_ECONFLICT, e, "the new admin is not staff any more");
  all = org_permissions_all();
  MK_ENSURE_ALLOC(all, e);
  MK_TRY(org_membership_set(ctx, db, a->enterprise_id, a->account_id, "staff", all, NULL, e));
  MK_TRY(org_membership_set(ctx, db, a->enterprise_id, account, "admin", all, NULL, e));
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_db_prepare(db,
                       "UPDATE enterprise SET admin_account_id = $1, updated_at = $2 WHERE id = $3 "
                       "RETURNING name",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, account, e));
  MK_TRY(mk_stmt_bind_text(st, 2, ts, e));
  MK_TRY(mk_stmt_bind_text(st, 3, a->enterprise_id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found, MK_EINTERNAL, e, "no enterprise %s", a->enterprise_id);
  snprintf(ename, sizeof ename, "%s", mk_stmt_text(st, 0));
  mk_stmt_finish(st);
  st = NULL;
  json_t *d =
      json_pack("{s:s,s:s,s:s}", "application_id", a->id, "from", a->account_id, "to", account);
  MK_ENSURE_ALLOC(d, e);
  rc = mk_svc_audit(ctx, db, "enterprise.admin_transferred", "enterprise", a->enterprise_id,
                    account, a->enterprise_id, d, e);
  json_decref(d);
  MK_TRY(rc);
  snprintf(body, sizeof body, "您已成为%s的管理员。", ename);
  MK_TRY(mk_svc_message_post(ctx, db, account, "admin_transferred", "转授管理员成功", body, a->id,
                             NULL, e));
out:
  mk_stmt_finish(st);
  json_decref(all);
  return rc;
}

/* ---- invitations ------------------------------------------------------------------- */

static int invitation_json(mk_stmt *st, json_t **out, mk_err *e) {
  int rc = 0;
  json_t *perms = NULL;
  char phone[32], exp[MK_TIME_TEXT_MAX];
  mk_svc_mask_phone(mk_stmt_text(st, 3), phone, sizeof phone);
  MK_TRY(org_permissions_load(mk_stmt_text(st, 4), &perms, e));
  MK_TRY(mk_time_format(mk_stmt_int(st, 7), exp, e));
  *out = json_pack("{s:s,s:{s:s,s:s},s:s,s:s,s:o,s:s,s:s?,s:s,s:s}", "id", mk_stmt_text(st, 0),
                   "enterprise", "id", mk_stmt_text(st, 1), "name", mk_stmt_text(st, 8), "name",
                   mk_stmt_text(st, 2), "phone", phone, "permissions", perms, "state",
                   mk_stmt_text(st, 5), "application_id", mk_stmt_text(st, 9), "created_at",
                   mk_stmt_text(st, 6), "expires_at", exp);
  perms = NULL;
  MK_ENSURE_ALLOC(*out, e);
out:
  json_decref(perms);
  return rc;
}

#define INVITATION_COLS                                                                            \
  "v.id, v.enterprise_id, v.name, v.phone, v.permissions, v.state, v.created_at, v.expires_at, "   \
  "n.name, v.application_id FROM invitation v JOIN enterprise n ON n.id = v.enterprise_id"

static int invitation_get(mk_db *db, const char *id, json_t **out, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  MK_TRY(mk_db_prepare(db, "SELECT " INVITATION_COLS " WHERE v.id = $1", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found, MK_ENOTFOUND, e, "no such invitation");
  MK_TRY(invitation_json(st, out, e));
out:
  mk_stmt_finish(st);
  return rc;
}

static int account_of_phone(mk_db *db, const char *phone, char account[MK_ID_MAX], mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  account[0] = '\0';
  MK_TRY(mk_db_prepare(db, "SELECT id FROM account WHERE phone = $1", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, phone, e));
  MK_TRY(found = mk_stmt_step(st, e));
  if (found)
    snprintf(account, MK_ID_MAX, "%s", mk_stmt_text(st, 0));
  rc = found;
out:
  mk_stmt_finish(st);
  return rc;
}

int mk_svc_invitation_create(mk_svc_ctx *ctx, const char *enterprise_id, const json_t *body,
                             json_t **out, char *field, mk_err *e) {
  static const char *const allowed[] = {"name", "phone", "permissions", NULL};
  static const char *const default_perms[] = {"login", "sign", "seal"};
  int rc = 0, found = 0, has_account = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  json_t *perms = NULL, *pv = NULL;
  org_enterprise ent;
  char name[ORG_PERSON_MAX], phone[ORG_CODE_MAX], id[MK_ID_MAX], ts[MK_TIME_TEXT_MAX],
      account[MK_ID_MAX], masked[32], text[512], *ptext = NULL;
  *out = NULL;
  memset(&ent, 0, sizeof ent);
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(org_need_member(ctx, db, enterprise_id, 2, &ent, NULL, e));
  MK_TRY(mk_json_only_keys(body, allowed, field, e));
  MK_TRY(org_get_person_name(body, "name", name, field, e));
  MK_TRY(org_get_phone(body, "phone", phone, field, e));
  MK_TRY(mk_json_get_array(body, "permissions", 0, 8, &pv, field, e));
  if (pv != NULL) {
    MK_TRY(org_permissions_parse(pv, "permissions", &perms, field, e));
  } else {
    perms = json_array();
    MK_ENSURE_ALLOC(perms, e);
    for (size_t i = 0; i < sizeof default_perms / sizeof default_perms[0]; i++)
      MK_ENSURE(json_array_append_new(perms, json_string(default_perms[i])) == 0, MK_ENOMEM, e,
                "out of memory");
  }
  MK_TRY(has_account = account_of_phone(db, phone, account, e));
  if (has_account) {
    MK_TRY(found = org_membership_of(db, enterprise_id, account, NULL, NULL, e));
    MK_ENSURE(!found, MK_ECONFLICT, e, "this person is a member already");
  }
  MK_TRY(mk_db_prepare(db,
                       "SELECT 1 FROM invitation WHERE enterprise_id = $1 AND phone = $2 AND "
                       "state = 'pending' AND expires_at > $3",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, enterprise_id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, phone, e));
  MK_TRY(mk_stmt_bind_int(st, 3, ctx->now(), e));
  MK_TRY(found = mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  MK_ENSURE(!found, MK_ECONFLICT, e, "this person has a pending invitation already");
  ptext = org_permissions_text(perms);
  MK_ENSURE_ALLOC(ptext, e);
  MK_TRY(mk_id_new(id, "inv", e));
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_db_prepare(db,
                       "INSERT INTO invitation(id, enterprise_id, name, phone, permissions, "
                       "invited_by, state, created_at, expires_at, updated_at) VALUES ($1, $2, "
                       "$3, $4, $5, $6, 'pending', $7, $8, $7)",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, enterprise_id, e));
  MK_TRY(mk_stmt_bind_text(st, 3, name, e));
  MK_TRY(mk_stmt_bind_text(st, 4, phone, e));
  MK_TRY(mk_stmt_bind_text(st, 5, ptext, e));
  MK_TRY(mk_stmt_bind_text(st, 6, ctx->caller.account_id, e));
  MK_TRY(mk_stmt_bind_text(st, 7, ts, e));
  MK_TRY(mk_stmt_bind_int(st, 8, ctx->now() + ORG_INVITE_TTL, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  mk_svc_mask_phone(phone, masked, sizeof masked);
  json_t *d = json_pack("{s:s,s:O}", "phone", masked, "permissions", perms);
  MK_ENSURE_ALLOC(d, e);
  rc = mk_svc_audit(ctx, db, "invitation.create", "invitation", id, has_account ? account : NULL,
                    enterprise_id, d, e);
  json_decref(d);
  MK_TRY(rc);
  /* No SMS here: someone with an account finds the invitation in the inbox,
   * someone without one in GET /v1/invitations after the first login. */
  if (has_account) {
    snprintf(text, sizeof text, "%s的管理员邀请您加入企业（邀请编号 %s），实名认证后即可接受。",
             ent.name, id);
    MK_TRY(mk_svc_message_post(ctx, db, account, "enterprise_invitation", "企业邀请", text, NULL,
                               "accept_invitation", e));
  }
  MK_TRY(invitation_get(db, id, out, e));
  MK_TRY(mk_db_commit(db, e));
out:
  if (rc < 0) {
    json_decref(*out);
    *out = NULL;
  }
  OPENSSL_cleanse(ent.legal_id_number, sizeof ent.legal_id_number);
  mk_stmt_finish(st);
  free(ptext);
  json_decref(perms);
  mk_store_release(ctx->store, db);
  return rc;
}

static int caller_phone(mk_svc_ctx *ctx, mk_db *db, char phone[ORG_CODE_MAX], mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  MK_TRY(mk_db_prepare(db, "SELECT phone FROM account WHERE id = $1", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, ctx->caller.account_id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found, MK_EAUTH, e, "log in first");
  snprintf(phone, ORG_CODE_MAX, "%s", mk_stmt_text(st, 0));
out:
  mk_stmt_finish(st);
  return rc;
}

int mk_svc_invitation_list_mine(mk_svc_ctx *ctx, json_t **out, mk_err *e) {
  int rc = 0, row = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  json_t *items = NULL, *it = NULL;
  char phone[ORG_CODE_MAX];
  *out = NULL;
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(caller_phone(ctx, db, phone, e));
  items = json_array();
  MK_ENSURE_ALLOC(items, e);
  MK_TRY(mk_db_prepare(db,
                       "SELECT " INVITATION_COLS " WHERE v.phone = $1 AND v.state = 'pending' AND "
                       "v.expires_at > $2 AND n.state = 'claimed' ORDER BY v.created_at, v.id",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, phone, e));
  MK_TRY(mk_stmt_bind_int(st, 2, ctx->now(), e));
  while ((row = mk_stmt_step(st, e)) == 1) {
    MK_TRY(invitation_json(st, &it, e));
    MK_ENSURE(json_array_append_new(items, it) == 0, MK_ENOMEM, e, "out of memory");
    it = NULL;
  }
  MK_TRY(row);
  *out = json_pack("{s:O}", "items", items);
  MK_ENSURE_ALLOC(*out, e);
out:
  mk_stmt_finish(st);
  json_decref(items);
  mk_store_release(ctx->store, db);
  return rc;
}

int mk_svc_invitation_accept(mk_svc_ctx *ctx, const char *id, const json_t *body, json_t **out,
                             char *field, mk_err *e) {
  static const char *const allowed[] = {"platform_id", "ca_id", "years", "attachments", NULL};
  int rc = 0, found = 0, member = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  json_t *perms = NULL, *data = NULL, *result = NULL, *inv = NULL;
  org_atts atts = {0};
  const char *platform_id = NULL, *ca_id = NULL;
  int64_t years = 0, expires = 0;
  char name[ORG_PERSON_MAX], phone[ORG_CODE_MAX], ent[MK_ID_MAX], state[16], inv_name[64],
      inv_phone[ORG_CODE_MAX], ent_state[16], ts[MK_TIME_TEXT_MAX], app[MK_ID_MAX] = "",
                                                                    member_id[MK_ID_MAX] = "";
  *out = NULL;
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(org_need_verified(ctx, db, name, NULL, e));
  MK_TRY(caller_phone(ctx, db, phone, e));
  MK_TRY(org_check_param(id, "inv", "invitation", e));
  MK_TRY(mk_db_prepare(db,
                       "SELECT v.enterprise_id, v.state, v.name, v.phone, v.permissions, "
                       "v.expires_at, n.state FROM invitation v JOIN enterprise n ON n.id = "
                       "v.enterprise_id WHERE v.id = $1",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found, MK_ENOTFOUND, e, "no such invitation");
  snprintf(ent, sizeof ent, "%s", mk_stmt_text(st, 0));
  snprintf(state, sizeof state, "%s", mk_stmt_text(st, 1));
  snprintf(inv_name, sizeof inv_name, "%s", mk_stmt_text(st, 2));
  snprintf(inv_phone, sizeof inv_phone, "%s", mk_stmt_text(st, 3));
  MK_TRY(org_permissions_load(mk_stmt_text(st, 4), &perms, e));
  expires = mk_stmt_int(st, 5);
  snprintf(ent_state, sizeof ent_state, "%s", mk_stmt_text(st, 6));
  mk_stmt_finish(st);
  st = NULL;
  /* Someone else's invitation stays invisible. */
  MK_ENSURE(strcmp(inv_phone, phone) == 0, MK_ENOTFOUND, e, "no such invitation");
  MK_ENSURE(strcmp(inv_name, name) == 0, MK_EPERM, e,
            "the invitation names another person than your verified identity; ask the admin to "
            "invite you under your real name");
  MK_ENSURE(strcmp(state, "pending") == 0, MK_ECONFLICT, e, "the invitation is %s already", state);
  MK_ENSURE(expires > ctx->now(), MK_EEXPIRED, e, "the invitation expired; ask for a new one");
  MK_ENSURE(strcmp(ent_state, "claimed") == 0, MK_ENOTFOUND, e, "no such invitation");
  MK_TRY(member = org_membership_of(db, ent, ctx->caller.account_id, NULL, NULL, e));
  MK_ENSURE(!member, MK_ECONFLICT, e, "you are a member of this enterprise already");
  MK_TRY(mk_json_only_keys(body, allowed, field, e));
  MK_TRY(mk_json_get_str(body, "platform_id", 0, ORG_BODY_ID_MAX, &platform_id, field, e));
  MK_TRY(mk_json_get_str(body, "ca_id", 0, MK_CALLER_CA_ID_MAX - 1, &ca_id, field, e));
  MK_TRY(mk_json_get_int(body, "years", 0, 1, ORG_YEARS_MAX, &years, field, e));
  MK_TRY(org_atts_parse(body, "attachments", NULL, &atts, field, e));
  result = json_object();
  MK_ENSURE_ALLOC(result, e);
  if (ca_id != NULL || platform_id != NULL || years != 0) {
    /* The invitation is the admin's agreement: the join goes to the CA. */
    if (ca_id == NULL || platform_id == NULL || years == 0) {
      if (field)
        snprintf(field, MK_JSON_FIELD_MAX, "%s",
                 ca_id == NULL         ? "ca_id"
                 : platform_id == NULL ? "platform_id"
                                       : "years");
      MK_FAIL(MK_EINVAL, e, "a certificate needs platform_id, ca_id and years together");
    }
    data = json_pack("{s:O,s:s}", "permissions", perms, "invitation_id", id);
    MK_ENSURE_ALLOC(data, e);
    mk_app_new n = {.kind = "enterprise_join",
                    .account_id = ctx->caller.account_id,
                    .enterprise_id = ent,
                    .platform_id = platform_id,
                    .ca_id = ca_id,
                    .years = (int)years,
                    .data = data};
    json_t *a = NULL;
    MK_TRY(org_app_submit(ctx, db, &n, &atts, app, &a, field, e));
    MK_TRY(org_set(result, "application", a, e));
  } else {
    MK_ENSURE(atts.n == 0, MK_EINVAL, e, "attachments come with a certificate application");
    MK_TRY(org_membership_set(ctx, db, ent, ctx->caller.account_id, "staff", perms, member_id, e));
    MK_TRY(org_set(result, "member_id", json_string(member_id), e));
  }
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_db_prepare(db,
                       "UPDATE invitation SET state = 'accepted', account_id = $1, application_id "
                       "= $2, updated_at = $3 WHERE id = $4 AND state = 'pending'",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, ctx->caller.account_id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, app[0] ? app : NULL, e));
  MK_TRY(mk_stmt_bind_text(st, 3, ts, e));
  MK_TRY(mk_stmt_bind_text(st, 4, id, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  MK_ENSURE(mk_db_changes(db) == 1, MK_ECONFLICT, e, "the invitation changed meanwhile");
  json_t *d = json_pack("{s:s?,s:s?}", "application_id", app[0] ? app : NULL, "member_id",
                        member_id[0] ? member_id : NULL);
  MK_ENSURE_ALLOC(d, e);
  rc = mk_svc_audit(ctx, db, "invitation.accept", "invitation", id, ctx->caller.account_id, ent, d,
                    e);
  json_decref(d);
  MK_TRY(rc);
  MK_TRY(invitation_get(db, id, &inv, e));
  rc = org_set(result, "invitation", inv, e);
  inv = NULL;
  MK_TRY(rc);
  MK_TRY(mk_db_commit(db, e));
  *out = result;
  result = NULL;
out:
  mk_stmt_finish(st);
  json_decref(perms);
  json_decref(data);
  json_decref(result);
  json_decref(inv);
  mk_store_release(ctx->store, db);
  return rc;
}
