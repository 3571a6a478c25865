/*
 * What the organisation services share: the fixed permission list, the
 * attachments a form names, input normalising and validation, who the
 * caller is in an enterprise, memberships and authorisations as rows.
 */
#include <ctype.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "svc/org.h"
#include "util/guard.h"
#include "util/time.h"
#include "util/validate.h"

/* The manual's 授权权限: what a member may do with the enterprise
 * certificate on a trading platform (扫码登录, 签名, 签章, 扫码生成投标文件,
 * 扫码解密). */
const char *const org_permissions[] = {"login", "sign", "seal", "encrypt", "decrypt", NULL};
#define PERMS_COUNT 5

static void set_field(char *field, const char *name) {
  if (field != NULL)
    snprintf(field, MK_JSON_FIELD_MAX, "%s", name);
}

int org_set(json_t *o, const char *key, json_t *v, mk_err *e) {
  if (v == NULL || json_object_set_new(o, key, v) != 0)
    return mk_err_set(e, MK_ENOMEM, "out of memory");
  return 0;
}

int org_audit(mk_svc_ctx *ctx, mk_db *db, const char *action, const char *object_type,
              const char *object_id, const char *account_id, const char *enterprise_id, mk_err *e) {
  json_t *d = json_object();
  if (d == NULL)
    return mk_err_set(e, MK_ENOMEM, "out of memory");
  int rc = mk_svc_audit(ctx, db, action, object_type, object_id, account_id, enterprise_id, d, e);
  json_decref(d);
  return rc;
}

int org_permissions_parse(const json_t *v, const char *key, json_t **out, char *field, mk_err *e) {
  int rc = 0;
  int seen[PERMS_COUNT] = {0};
  size_t i;
  json_t *p;
  *out = NULL;
  if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > PERMS_COUNT) {
    set_field(field, key);
    MK_FAIL(MK_EINVAL, e, "%s must be a list of 1 to %d of login, sign, seal, encrypt, decrypt",
            key, PERMS_COUNT);
  }
  json_array_foreach(v, i, p) {
    const char *name = json_string_value(p);
    int k = 0;
    while (name != NULL && org_permissions[k] != NULL && strcmp(org_permissions[k], name) != 0)
      k++;
    if (name == NULL || org_permissions[k] == NULL) {
      set_field(field, key);
      MK_FAIL(MK_EINVAL, e, "%s: item %zu is not one of login, sign, seal, encrypt, decrypt", key,
              i + 1);
    }
    if (seen[k]) {
      set_field(field, key);
      MK_FAIL(MK_EINVAL, e, "%s names %s twice", key, name);
    }
    seen[k] = 1;
  }
  *out = json_array();
  MK_ENSURE_ALLOC(*out, e);
  for (int k = 0; k < PERMS_COUNT; k++)
    if (seen[k])
      MK_ENSURE(json_array_append_new(*out, json_string(org_permissions[k])) == 0, MK_ENOMEM, e,
                "out of memory");
out:
  if (rc < 0) {
    json_decref(*out);
    *out = NULL;
  }
  return rc;
}

json_t *org_permissions_all(void) {
  json_t *a = json_array();
  for (int k = 0; a != NULL && org_permissions[k] != NULL; k++)
    if (json_array_append_new(a, json_string(org_permissions[k])) != 0) {
      json_decref(a);
      return NULL;
    }
  return a;
}

int org_permissions_load(const char *text, json_t **out, mk_err *e) {
  int rc = mk_json_parse(text ? text : "[]", text ? strlen(text) : 2, 4096, out, e);
  if (rc == 0 && !json_is_array(*out)) {
    json_decref(*out);
    *out = NULL;
    rc = mk_err_set(e, MK_EINTERNAL, "stored permissions are not a list");
  }
  return rc;
}

char *org_permissions_text(const json_t *perms) { return json_dumps(perms, JSON_COMPACT); }

/* ---- attachments -------------------------------------------------------- */

static int role_ok(const char *r) {
  size_t n = r ? strlen(r) : 0;
  if (n == 0 || n > 32)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9') || r[i] == '_'))
      return 0;
  return 1;
}

int org_atts_add(org_atts *a, const char *id, const char *role, const char *key, char *field,
                 mk_err *e) {
  if (a->n == ORG_ATT_MAX) {
    set_field(field, key);
    return mk_err_set(e, MK_EINVAL, "an application carries at most %d attachments", ORG_ATT_MAX);
  }
  if (id == NULL || mk_id_check(id, "att", NULL) != 0) {
    set_field(field, key);
    return mk_err_set(e, MK_EINVAL, "%s must be an attachment id (att_…) from POST /v1/attachments",
                      key);
  }
  for (size_t i = 0; i < a->n; i++)
    if (strcmp(a->roles[i], role) == 0) {
      set_field(field, key);
      return mk_err_set(e, MK_EINVAL, "%s: the role %s is given twice", key, role);
    }
  a->ids[a->n] = id;
  a->roles[a->n] = role;
  a->n++;
  return 0;
}

int org_atts_parse(const json_t *body, const char *key, const char *reserved, org_atts *a,
                   char *field, mk_err *e) {
  static const char *const allowed[] = {"role", "id", NULL};
  int rc = 0;
  json_t *arr = NULL, *v;
  size_t i;
  MK_TRY(mk_json_get_array(body, key, 0, ORG_ATT_MAX, &arr, field, e));
  json_array_foreach(arr, i, v) {
    const char *role = NULL, *id = NULL;
    if (!json_is_object(v) || mk_json_only_keys(v, allowed, NULL, NULL) != 0) {
      set_field(field, key);
      MK_FAIL(MK_EINVAL, e, "%s: item %zu must be {\"role\", \"id\"}", key, i + 1);
    }
    role = json_string_value(json_object_get(v, "role"));
    id = json_string_value(json_object_get(v, "id"));
    if (!role_ok(role)) {
      set_field(field, key);
      MK_FAIL(MK_EINVAL, e,
              "%s: item %zu needs a role of 1 to 32 of a-z, 0-9, _ (the CA's "
              "attachment id, e.g. application_form)",
              key, i + 1);
    }
    if (reserved != NULL && strcmp(role, reserved) == 0) {
      set_field(field, key);
      MK_FAIL(MK_EINVAL, e, "%s: the %s is given in its own field", key, reserved);
    }
    MK_TRY(org_atts_add(a, id, role, key, field, e));
  }
out:
  return rc;
}

void org_atts_apply(const org_atts *a, mk_app_new *n) {
  n->attachment_ids = a->ids;
  n->attachment_roles = a->roles;
  n->nattachments = a->n;
}

int org_app_submit(mk_svc_ctx *ctx, mk_db *db, mk_app_new *n, const org_atts *a,
                   char id[MK_ID_MAX], json_t **out, char *field, mk_err *e) {
  int rc = 0;
  org_atts_apply(a, n);
  MK_TRY(mk_svc_app_create(ctx, db, n, id, field, e));
  MK_TRY(mk_svc_app_get_db(ctx, db, id, out, e));
out:
  return rc;
}

/* ---- the caller ----------------------------------------------------------- */

int org_need_verified(mk_svc_ctx *ctx, mk_db *db, char name[ORG_PERSON_MAX],
                      char id_number[ORG_CODE_MAX], mk_err *e) {
  int rc = 0, verified = 0;
  char n[64], idn[32];
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(verified = mk_svc_identity_of(db, ctx->caller.account_id, n, idn, e));
  MK_ENSURE(verified, MK_EPERM, e,
            "verify your identity first (实名认证: POST /v1/me/identity, mkey realname)");
  if (name != NULL)
    snprintf(name, ORG_PERSON_MAX, "%s", n);
  if (id_number != NULL)
    snprintf(id_number, ORG_CODE_MAX, "%s", idn);
out:
  OPENSSL_cleanse(idn, sizeof idn);
  return rc;
}

/* ---- input ----------------------------------------------------------------- */

int org_norm_code(const char *in, char out[ORG_CODE_MAX]) {
  size_t o = 0;
  for (const char *p = in; *p != '\0'; p++) {
    if (*p == ' ' || *p == '-' || *p == '\t')
      continue;
    if (o + 1 >= ORG_CODE_MAX)
      return -1;
    out[o++] = (char)toupper((unsigned char)*p);
  }
  out[o] = '\0';
  return 0;
}

int org_norm_phone(const char *in, char out[ORG_CODE_MAX]) {
  size_t o = 0;
  const char *p = in;
  if (strncmp(p, "+86", 3) == 0)
    p += 3;
  else if (strncmp(p, "0086", 4) == 0)
    p += 4;
  for (; *p != '\0'; p++) {
    if (*p == ' ' || *p == '-' || *p == '\t')
      continue;
    if (o + 1 >= ORG_CODE_MAX)
      return -1;
    out[o++] = *p;
  }
  out[o] = '\0';
  return 0;
}

int org_valid_enterprise_name(const char *s, mk_err *e) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || !mk_utf8_valid_text(s, n, 0))
    return mk_err_set(e, MK_EINVAL, "the enterprise name is missing or not text");
  size_t chars = mk_utf8_count(s, n);
  if (chars < 2 || chars > ORG_NAME_CHARS)
    return mk_err_set(e, MK_EINVAL, "the enterprise name has 2 to %d characters", ORG_NAME_CHARS);
  if (s[0] == ' ' || s[n - 1] == ' ')
    return mk_err_set(e, MK_EINVAL, "the enterprise name must not start or end with a space");
  return 0;
}

int org_get_enterprise_name(const json_t *body, const char *key, char out[ORG_NAME_MAX],
                            char *field, mk_err *e) {
  int rc = 0;
  const char *v = NULL;
  MK_TRY(mk_json_get_str(body, key, 1, ORG_NAME_MAX - 1, &v, field, e));
  rc = org_valid_enterprise_name(v, e);
  if (rc < 0) {
    set_field(field, key);
    goto out;
  }
  snprintf(out, ORG_NAME_MAX, "%s", v);
out:
  return rc;
}

int org_get_person_name(const json_t *body, const char *key, char out[ORG_PERSON_MAX], char *field,
                        mk_err *e) {
  int rc = 0;
  const char *v = NULL;
  MK_TRY(mk_json_get_str(body, key, 1, ORG_PERSON_MAX - 1, &v, field, e));
  rc = mk_valid_person_name(v, e);
  if (rc < 0) {
    set_field(field, key);
    mk_err_wrap(e, "%s", key);
    goto out;
  }
  snprintf(out, ORG_PERSON_MAX, "%s", v);
out:
  return rc;
}

/* body[key], 1 to 64 bytes, through norm into out; what names it in the
 * message when it does not fit. */
static int get_norm(const json_t *body, const char *key, int (*norm)(const char *, char *),
                    const char *what, char out[ORG_CODE_MAX], char *field, mk_err *e) {
  int rc = 0;
  const char *v = NULL;
  MK_TRY(mk_json_get_str(body, key, 1, 64, &v, field, e));
  if (norm(v, out) != 0) {
    set_field(field, key);
    MK_FAIL(MK_EINVAL, e, "%s is too long for %s", key, what);
  }
out:
  return rc;
}

/* rc from the check of key's value; the field names key when it failed. */
static int checked(int rc, const char *key, char *field) {
  if (rc < 0)
    set_field(field, key);
  return rc;
}

int org_get_id_number(mk_svc_ctx *ctx, const json_t *body, const char *key, char out[ORG_CODE_MAX],
                      char *field, mk_err *e) {
  int rc = get_norm(body, key, org_norm_code, "an ID number", out, field, e);
  return rc < 0 ? rc : checked(mk_valid_id_number_at(out, ctx->now(), e), key, field);
}

int org_get_uscc(const json_t *body, const char *key, char out[ORG_CODE_MAX], char *field,
                 mk_err *e) {
  int rc = get_norm(body, key, org_norm_code, "a unified social credit code", out, field, e);
  return rc < 0 ? rc : checked(mk_valid_uscc(out, e), key, field);
}

int org_get_phone(const json_t *body, const char *key, char out[ORG_CODE_MAX], char *field,
                  mk_err *e) {
  int rc = get_norm(body, key, org_norm_phone, "a mobile number", out, field, e);
  return rc < 0 ? rc : checked(mk_valid_mobile(out, e), key, field);
}

int org_get_cert_choice(const json_t *body, int need_platform, int need_years,
                        const char **platform_id, const char **ca_id, int *years, char *field,
                        mk_err *e) {
  int rc = 0;
  int64_t y = 0;
  *platform_id = NULL;
  *ca_id = NULL;
  *years = 0;
  MK_TRY(
      mk_json_get_str(body, "platform_id", need_platform, ORG_BODY_ID_MAX, platform_id, field, e));
  MK_TRY(mk_json_get_str(body, "ca_id", 1, MK_CALLER_CA_ID_MAX - 1, ca_id, field, e));
  MK_TRY(mk_json_get_int(body, "years", need_years, 1, ORG_YEARS_MAX, &y, field, e));
  *years = (int)y;
out:
  return rc;
}

int org_check_param(const char *id, const char *prefix, const char *what, mk_err *e) {
  if (id == NULL || mk_id_check(id, prefix, NULL) != 0)
    return mk_err_set(e, MK_ENOTFOUND, "no such %s", what);
  return 0;
}

/* ---- enterprises and members ------------------------------------------------ */

static void copy_col(mk_stmt *st, int col, char *out, size_t cap) {
  const char *v = mk_stmt_text(st, col);
  snprintf(out, cap, "%s", v ? v : "");
}

int org_enterprise_load(mk_db *db, const char *id, org_enterprise *ent, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  memset(ent, 0, sizeof *ent);
  MK_TRY(mk_db_prepare(db,
                       "SELECT id, name, uscc, legal_name, legal_id_number, license_attachment_id, "
                       "state, admin_account_id, created_at, updated_at FROM enterprise "
                       "WHERE id = $1",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found, MK_ENOTFOUND, e, "no such enterprise");
  copy_col(st, 0, ent->id, sizeof ent->id);
  copy_col(st, 1, ent->name, sizeof ent->name);
  copy_col(st, 2, ent->uscc, sizeof ent->uscc);
  copy_col(st, 3, ent->legal_name, sizeof ent->legal_name);
  copy_col(st, 4, ent->legal_id_number, sizeof ent->legal_id_number);
  copy_col(st, 5, ent->license, sizeof ent->license);
  copy_col(st, 6, ent->state, sizeof ent->state);
  copy_col(st, 7, ent->admin, sizeof ent->admin);
  copy_col(st, 8, ent->created_at, sizeof ent->created_at);
  copy_col(st, 9, ent->updated_at, sizeof ent->updated_at);
out:
  mk_stmt_finish(st);
  return rc;
}

int org_need_member(mk_svc_ctx *ctx, mk_db *db, const char *id, int min_role, org_enterprise *ent,
                    int *role, mk_err *e) {
  int rc = 0, r = 0;
  org_enterprise local;
  org_enterprise *en = ent ? ent : &local;
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(org_check_param(id, "ent", "enterprise", e));
  rc = org_enterprise_load(db, id, en, e);
  MK_TRY(rc);
  MK_TRY(r = mk_svc_member_role(db, id, ctx->caller.account_id, e));
  MK_ENSURE(r > 0 && strcmp(en->state, "claimed") == 0, MK_ENOTFOUND, e, "no such enterprise");
  MK_ENSURE(r >= min_role, MK_EPERM, e, "only the enterprise's admin may do this");
  if (role != NULL)
    *role = r;
  rc = 0;
out:
  if (ent == NULL)
    OPENSSL_cleanse(local.legal_id_number, sizeof local.legal_id_number);
  return rc;
}

static int app_find(mk_db *db, const char *sql, const char *kind, const char *account_id,
                    const char *enterprise_id, const char *ca_id, const char *except_id,
                    char out[MK_ID_MAX], mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  MK_TRY(mk_db_prepare(db, sql, &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, kind, e));
  MK_TRY(mk_stmt_bind_text(st, 2, account_id ? account_id : "", e));
  MK_TRY(mk_stmt_bind_text(st, 3, enterprise_id ? enterprise_id : "", e));
  MK_TRY(mk_stmt_bind_text(st, 4, ca_id ? ca_id : "", e));
  MK_TRY(mk_stmt_bind_text(st, 5, except_id ? except_id : "", e));
  MK_TRY(found = mk_stmt_step(st, e));
  if (found && out != NULL)
    snprintf(out, MK_ID_MAX, "%s", mk_stmt_text(st, 0));
  rc = found;
out:
  mk_stmt_finish(st);
  return rc;
}

#define APP_FIND(states)                                                                           \
  "SELECT id FROM application WHERE kind = $1 AND " states                                         \
  " AND ($2 = '' OR account_id = $2) AND ($3 = '' OR enterprise_id = $3)"                          \
  " AND ($4 = '' OR ca_id = $4) AND id <> $5 ORDER BY created_at LIMIT 1"

int org_pending_app(mk_db *db, const char *kind, const char *account_id, const char *enterprise_id,
                    const char *ca_id, const char *except_id, char out[MK_ID_MAX], mk_err *e) {
  return app_find(db, APP_FIND(ORG_PENDING), kind, account_id, enterprise_id, ca_id, except_id, out,
                  e);
}

int org_live_app(mk_db *db, const char *kind, const char *account_id, const char *enterprise_id,
                 const char *ca_id, const char *except_id, char out[MK_ID_MAX], mk_err *e) {
  return app_find(db, APP_FIND(ORG_LIVE), kind, account_id, enterprise_id, ca_id, except_id, out,
                  e);
}

int org_membership_of(mk_db *db, const char *enterprise_id, const char *account_id,
                      char member_id[MK_ID_MAX], char *role, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  MK_TRY(mk_db_prepare(db,
                       "SELECT id, role FROM membership WHERE enterprise_id = $1 AND "
                       "account_id = $2 AND state = 'active'",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, enterprise_id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, account_id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  if (found) {
    if (member_id != NULL)
      snprintf(member_id, MK_ID_MAX, "%s", mk_stmt_text(st, 0));
    if (role != NULL)
      snprintf(role, 16, "%s", mk_stmt_text(st, 1));
  }
  rc = found;
out:
  mk_stmt_finish(st);
  return rc;
}

int org_membership_set(mk_svc_ctx *ctx, mk_db *db, const char *enterprise_id,
                       const char *account_id, const char *role, const json_t *perms,
                       char member_id[MK_ID_MAX], mk_err *e) {
  int rc = 0, row = 0;
  mk_stmt *st = NULL;
  char id[MK_ID_MAX], ts[MK_TIME_TEXT_MAX], *ptext = NULL;
  ptext = org_permissions_text(perms);
  MK_ENSURE_ALLOC(ptext, e);
  MK_TRY(mk_id_new(id, "mbr", e));
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  /* One row per person and enterprise (UNIQUE): someone removed who comes
   * back gets the row again, so the history of the member id stays one. */
  MK_TRY(mk_db_prepare(db,
                       "INSERT INTO membership(id, enterprise_id, account_id, role, permissions, "
                       "state, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'active', $6, "
                       "$6) ON CONFLICT (enterprise_id, account_id) DO UPDATE SET role = "
                       "excluded.role, permissions = excluded.permissions, state = 'active', "
                       "updated_at = excluded.updated_at RETURNING id",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, enterprise_id, e));
  MK_TRY(mk_stmt_bind_text(st, 3, account_id, e));
  MK_TRY(mk_stmt_bind_text(st, 4, role, e));
  MK_TRY(mk_stmt_bind_text(st, 5, ptext, e));
  MK_TRY(mk_stmt_bind_text(st, 6, ts, e));
  MK_TRY(row = mk_stmt_step(st, e));
  MK_ENSURE(row, MK_EINTERNAL, e, "membership upsert returned no row");
  snprintf(id, sizeof id, "%s", mk_stmt_text(st, 0));
  mk_stmt_finish(st);
  st = NULL;
  json_t *d = json_pack("{s:s,s:O}", "role", role, "permissions", perms);
  MK_ENSURE_ALLOC(d, e);
  rc = mk_svc_audit(ctx, db, "member.set", "membership", id, account_id, enterprise_id, d, e);
  json_decref(d);
  MK_TRY(rc);
  if (member_id != NULL)
    snprintf(member_id, MK_ID_MAX, "%s", id);
out:
  mk_stmt_finish(st);
  free(ptext);
  return rc;
}

/* ---- authorisations ----------------------------------------------------------- */

int org_authz_grant_db(mk_svc_ctx *ctx, mk_db *db, const char *enterprise_id, const char *member_id,
                       const char *platform_id, const json_t *perms, const char *source,
                       const char *application_id, const char *granted_by, char id_out[MK_ID_MAX],
                       mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  char id[MK_ID_MAX], ts[MK_TIME_TEXT_MAX], account[MK_ID_MAX], *ptext = NULL;
  MK_TRY(mk_db_prepare(db,
                       "SELECT 1 FROM staff_authorization WHERE membership_id = $1 AND "
                       "platform_id = $2 AND revoked_at IS NULL",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, member_id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, platform_id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  if (found)
    goto out; /* rc 0: one is active already */
  MK_TRY(mk_db_prepare(db, "SELECT account_id FROM membership WHERE id = $1", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, member_id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found, MK_EINTERNAL, e, "no membership %s", member_id);
  snprintf(account, sizeof account, "%s", mk_stmt_text(st, 0));
  mk_stmt_finish(st);
  st = NULL;
  ptext = org_permissions_text(perms);
  MK_ENSURE_ALLOC(ptext, e);
  MK_TRY(mk_id_new(id, "auz", e));
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_db_prepare(db,
                       "INSERT INTO staff_authorization(id, enterprise_id, membership_id, "
                       "platform_id, permissions, source, application_id, granted_by, granted_at) "
                       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, enterprise_id, e));
  MK_TRY(mk_stmt_bind_text(st, 3, member_id, e));
  MK_TRY(mk_stmt_bind_text(st, 4, platform_id, e));
  MK_TRY(mk_stmt_bind_text(st, 5, ptext, e));
  MK_TRY(mk_stmt_bind_text(st, 6, source, e));
  MK_TRY(mk_stmt_bind_text(st, 7, application_id, e));
  MK_TRY(mk_stmt_bind_text(st, 8, granted_by, e));
  MK_TRY(mk_stmt_bind_text(st, 9, ts, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  json_t *d = json_pack("{s:s,s:s,s:O,s:s}", "member_id", member_id, "platform_id", platform_id,
                        "permissions", perms, "source", source);
  MK_ENSURE_ALLOC(d, e);
  rc = mk_svc_audit(ctx, db, "authorization.grant", "authorization", id, account, enterprise_id, d,
                    e);
  json_decref(d);
  MK_TRY(rc);
  if (id_out != NULL)
    snprintf(id_out, MK_ID_MAX, "%s", id);
  rc = 1;
out:
  mk_stmt_finish(st);
  free(ptext);
  return rc;
}

int org_authz_revoke_member(mk_svc_ctx *ctx, mk_db *db, const char *enterprise_id,
                            const char *member_id, mk_err *e) {
  int rc = 0;
  mk_stmt *st = NULL;
  char ts[MK_TIME_TEXT_MAX];
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_db_prepare(db,
                       "UPDATE staff_authorization SET revoked_at = $1, revoked_by = $2 WHERE "
                       "membership_id = $3 AND revoked_at IS NULL",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, ts, e));
  MK_TRY(mk_stmt_bind_text(st, 2, mk_svc_actor(ctx), e));
  MK_TRY(mk_stmt_bind_text(st, 3, member_id, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  int64_t n = mk_db_changes(db);
  if (n > 0) {
    json_t *d = json_pack("{s:s,s:I}", "member_id", member_id, "revoked", (json_int_t)n);
    MK_ENSURE_ALLOC(d, e);
    rc = mk_svc_audit(ctx, db, "authorization.revoke_all", "membership", member_id, NULL,
                      enterprise_id, d, e);
    json_decref(d);
    MK_TRY(rc);
  }
out:
  mk_stmt_finish(st);
  return rc;
}

/* ---- output ------------------------------------------------------------------ */

void org_mask_uscc(const char *v, char *out, size_t cap) {
  size_t n = v ? strlen(v) : 0, o = 0;
  if (cap == 0)
    return;
  for (size_t i = 0; i < n && o + 1 < cap; i++)
    out[o++] = (n > 8 && (i < 4 || i >= n - 4)) ? v[i] : '*';
  out[o] = '\0';
}
