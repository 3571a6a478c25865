/*
 * Enterprises (认领企业, 加入企业, 变更企业信息): a verified person claims an
 * enterprise with its licence and becomes its admin when the CA approves;
 * others find a claimed enterprise by name and credit code and ask to join,
 * naming its admin; the admin changes the enterprise's information through
 * the CA. The consequences of each decision are the hooks at the end, run
 * by the application engine inside the decision's transaction.
 * docs/enterprises.md tells the rules and why.
 */
#include <openssl/crypto.h>
#include <string.h>

#include "svc/org.h"
#include "util/guard.h"
#include "util/time.h"
#include "util/validate.h"

/* ---- claim ------------------------------------------------------------------ */

/* The enterprise row a claim of uscc uses: a new one, or one whose earlier
 * claim closed. MK_ECONFLICT when it is claimed or under another claim. */
static int claim_row(mk_svc_ctx *ctx, mk_db *db, const char *name, const char *uscc,
                     const char *legal_name, const char *legal_id, const char *license,
                     char id[MK_ID_MAX], mk_err *e) {
  int rc = 0, found = 0, live = 0;
  mk_stmt *st = NULL;
  char state[16] = "", ts[MK_TIME_TEXT_MAX];
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_db_prepare(db, "SELECT id, state FROM enterprise WHERE uscc = $1", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, uscc, e));
  MK_TRY(found = mk_stmt_step(st, e));
  if (found) {
    snprintf(id, MK_ID_MAX, "%s", mk_stmt_text(st, 0));
    snprintf(state, sizeof state, "%s", mk_stmt_text(st, 1));
  }
  mk_stmt_finish(st);
  st = NULL;
  if (found) {
    MK_ENSURE(strcmp(state, "claimed") != 0, MK_ECONFLICT, e,
              "this enterprise is claimed already: ask its admin to invite you, or join it");
    MK_TRY(live = org_pending_app(db, "enterprise_claim", NULL, id, NULL, NULL, NULL, e));
    MK_ENSURE(!live, MK_ECONFLICT, e, "another claim of this enterprise is under review");
    MK_TRY(mk_db_prepare(db,
                         "UPDATE enterprise SET name = $1, legal_name = $2, legal_id_number = $3, "
                         "license_attachment_id = $4, admin_account_id = NULL, updated_at = $5 "
                         "WHERE id = $6 AND state = 'claiming'",
                         &st, e));
    MK_TRY(mk_stmt_bind_text(st, 6, id, e));
  } else {
    MK_TRY(mk_id_new(id, "ent", e));
    MK_TRY(mk_db_prepare(db,
                         "INSERT INTO enterprise(name, legal_name, legal_id_number, "
                         "license_attachment_id, created_at, updated_at, id, uscc, state) "
                         "VALUES ($1, $2, $3, $4, $5, $5, $6, $7, 'claiming')",
                         &st, e));
    MK_TRY(mk_stmt_bind_text(st, 6, id, e));
    MK_TRY(mk_stmt_bind_text(st, 7, uscc, e));
  }
  MK_TRY(mk_stmt_bind_text(st, 1, name, e));
  MK_TRY(mk_stmt_bind_text(st, 2, legal_name, e));
  MK_TRY(mk_stmt_bind_text(st, 3, legal_id, e));
  MK_TRY(mk_stmt_bind_text(st, 4, license, e));
  MK_TRY(mk_stmt_bind_text(st, 5, ts, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  MK_ENSURE(mk_db_changes(db) == 1, MK_ECONFLICT, e, "the enterprise changed meanwhile; try again");
  json_t *d = json_pack("{s:s,s:b}", "uscc", uscc, "new", !found);
  MK_ENSURE_ALLOC(d, e);
  rc = mk_svc_audit(ctx, db, "enterprise.claiming", "enterprise", id, ctx->caller.account_id, id, d,
                    e);
  json_decref(d);
out:
  mk_stmt_finish(st);
  return rc;
}

int mk_svc_enterprise_claim(mk_svc_ctx *ctx, const json_t *body, json_t **out, char *field,
                            mk_err *e) {
  static const char *const allowed[] = {
      "name",        "uscc",  "legal_name", "legal_id_number", "license",
      "platform_id", "ca_id", "years",      "attachments",     NULL};
  int rc = 0;
  mk_db *db = NULL;
  json_t *data = NULL;
  org_atts atts = {0};
  const char *platform_id = NULL, *ca_id = NULL, *license = NULL;
  int years = 0;
  char name[ORG_NAME_MAX], uscc[ORG_CODE_MAX], legal_name[ORG_PERSON_MAX],
      legal_id[ORG_CODE_MAX] = "", masked[ORG_CODE_MAX], ent[MK_ID_MAX], id[MK_ID_MAX];
  *out = NULL;
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(org_need_verified(ctx, db, NULL, NULL, e));
  MK_TRY(mk_json_only_keys(body, allowed, field, e));
  MK_TRY(org_get_enterprise_name(body, "name", name, field, e));
  MK_TRY(org_get_uscc(body, "uscc", uscc, field, e));
  MK_TRY(org_get_person_name(body, "legal_name", legal_name, field, e));
  MK_TRY(org_get_id_number(ctx, body, "legal_id_number", legal_id, field, e));
  MK_TRY(mk_json_get_str(body, "license", 1, MK_ID_MAX - 1, &license, field, e));
  MK_TRY(org_get_cert_choice(body, 1, 1, &platform_id, &ca_id, &years, field, e));
  MK_TRY(org_atts_add(&atts, license, "business_license", "license", field, e));
  MK_TRY(org_atts_parse(body, "attachments", "business_license", &atts, field, e));
  MK_TRY(claim_row(ctx, db, name, uscc, legal_name, legal_id, license, ent, e));
  mk_svc_mask_id_number(legal_id, masked, sizeof masked);
  data = json_pack("{s:s,s:s,s:s,s:s}", "name", name, "uscc", uscc, "legal_name", legal_name,
                   "legal_id_number", masked);
  MK_ENSURE_ALLOC(data, e);
  mk_app_new n = {.kind = "enterprise_claim",
                  .account_id = ctx->caller.account_id,
                  .enterprise_id = ent,
                  .platform_id = platform_id,
                  .ca_id = ca_id,
                  .years = years,
                  .data = data};
  MK_TRY(org_app_submit(ctx, db, &n, &atts, id, out, field, e));
  MK_TRY(mk_db_commit(db, e));
out:
  if (rc < 0) {
    json_decref(*out);
    *out = NULL;
  }
  OPENSSL_cleanse(legal_id, sizeof legal_id);
  json_decref(data);
  mk_store_release(ctx->store, db);
  return rc;
}

/* The enterprise information an application ends with. */
typedef struct subject {
  char name[ORG_NAME_MAX], uscc[ORG_CODE_MAX], legal_name[ORG_PERSON_MAX], legal_id[ORG_CODE_MAX],
      license[MK_ID_MAX];
} subject;

/* Start from what the request stored (s), then take what a resubmission
 * changed in the application's data (name, credit code, legal name, and the
 * legal ID number when given in full rather than masked), each checked
 * again, and the business licence the application carries now. A value
 * that does not pass is MK_ECONFLICT: the CA rejects, the applicant fixes
 * it. */
static int subject_final(mk_svc_ctx *ctx, mk_db *db, const mk_app_row *a, subject *s, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  const char *v;
  char code[ORG_CODE_MAX];
  if ((v = json_string_value(json_object_get(a->data, "name"))) != NULL) {
    MK_ENSURE(org_valid_enterprise_name(v, NULL) == 0 && strlen(v) < sizeof s->name, MK_ECONFLICT,
              e, "the application's enterprise name is not valid");
    snprintf(s->name, sizeof s->name, "%s", v);
  }
  if ((v = json_string_value(json_object_get(a->data, "uscc"))) != NULL) {
    MK_ENSURE(org_norm_code(v, code) == 0 && mk_valid_uscc(code, NULL) == 0, MK_ECONFLICT, e,
              "the application's unified social credit code is not valid");
    snprintf(s->uscc, sizeof s->uscc, "%s", code);
  }
  if ((v = json_string_value(json_object_get(a->data, "legal_name"))) != NULL) {
    MK_ENSURE(mk_valid_person_name(v, NULL) == 0 && strlen(v) < sizeof s->legal_name, MK_ECONFLICT,
              e, "the application's legal representative name is not valid");
    snprintf(s->legal_name, sizeof s->legal_name, "%s", v);
  }
  v = json_string_value(json_object_get(a->data, "legal_id_number"));
  if (v != NULL && strchr(v, '*') == NULL) {
    MK_ENSURE(org_norm_code(v, code) == 0 && mk_valid_id_number_at(code, ctx->now(), NULL) == 0,
              MK_ECONFLICT, e, "the application's legal representative ID number is not valid");
    snprintf(s->legal_id, sizeof s->legal_id, "%s", code);
  }
  MK_TRY(mk_db_prepare(db,
                       "SELECT attachment_id FROM application_attachment WHERE application_id = "
                       "$1 AND role = 'business_license'",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, a->id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  if (found)
    snprintf(s->license, sizeof s->license, "%s", mk_stmt_text(st, 0));
out:
  OPENSSL_cleanse(code, sizeof code);
  mk_stmt_finish(st);
  return rc;
}

/* Write s into enterprise id (state claiming or claimed as given), with the
 * admin when admin is not NULL. */
static int subject_write(mk_svc_ctx *ctx, mk_db *db, const char *id, const char *state,
                         const char *admin, const subject *s, mk_err *e) {
  int rc = 0;
  mk_stmt *st = NULL;
  char ts[MK_TIME_TEXT_MAX];
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_db_prepare(db,
                       "UPDATE enterprise SET name = $1, uscc = $2, legal_name = $3, "
                       "legal_id_number = $4, license_attachment_id = $5, updated_at = $6, "
                       "state = 'claimed', admin_account_id = COALESCE($7, admin_account_id) "
                       "WHERE id = $8 AND state = $9",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, s->name, e));
  MK_TRY(mk_stmt_bind_text(st, 2, s->uscc, e));
  MK_TRY(mk_stmt_bind_text(st, 3, s->legal_name, e));
  MK_TRY(mk_stmt_bind_text(st, 4, s->legal_id, e));
  MK_TRY(mk_stmt_bind_text(st, 5, s->license[0] ? s->license : NULL, e));
  MK_TRY(mk_stmt_bind_text(st, 6, ts, e));
  MK_TRY(mk_stmt_bind_text(st, 7, admin, e));
  MK_TRY(mk_stmt_bind_text(st, 8, id, e));
  MK_TRY(mk_stmt_bind_text(st, 9, state, e));
  rc = mk_stmt_step(st, e);
  if (rc == MK_ECONFLICT) /* UNIQUE (uscc): taken meanwhile */
    rc = mk_err_set(e, MK_ECONFLICT, "another enterprise has the unified social credit code %s",
                    s->uscc);
  MK_TRY(rc);
  mk_stmt_finish(st);
  st = NULL;
  MK_ENSURE(mk_db_changes(db) == 1, MK_ECONFLICT, e,
            "the enterprise is not waiting for this application any more");
out:
  mk_stmt_finish(st);
  return rc;
}

/* The CA approved a claim: the enterprise is claimed, with the information
 * the application ends with, and the claimer its admin with every
 * permission. */
int mk_svc_claim_approved(mk_svc_ctx *ctx, mk_db *db, const mk_app_row *a, mk_err *e) {
  int rc = 0;
  json_t *all = NULL;
  org_enterprise ent;
  subject s;
  char member[MK_ID_MAX];
  memset(&ent, 0, sizeof ent);
  memset(&s, 0, sizeof s);
  MK_ENSURE(a->enterprise_id != NULL, MK_EINTERNAL, e, "a claim names its enterprise");
  MK_TRY(org_enterprise_load(db, a->enterprise_id, &ent, e));
  MK_ENSURE(strcmp(ent.state, "claiming") == 0, MK_ECONFLICT, e,
            "the enterprise is not waiting for this claim any more");
  snprintf(s.name, sizeof s.name, "%s", ent.name);
  snprintf(s.uscc, sizeof s.uscc, "%s", ent.uscc);
  snprintf(s.legal_name, sizeof s.legal_name, "%s", ent.legal_name);
  snprintf(s.legal_id, sizeof s.legal_id, "%s", ent.legal_id_number);
  snprintf(s.license, sizeof s.license, "%s", ent.license);
  MK_TRY(subject_final(ctx, db, a, &s, e));
  MK_TRY(subject_write(ctx, db, a->enterprise_id, "claiming", a->account_id, &s, e));
  all = org_permissions_all();
  MK_ENSURE_ALLOC(all, e);
  MK_TRY(org_membership_set(ctx, db, a->enterprise_id, a->account_id, "admin", all, member, e));
  json_t *d =
      json_pack("{s:s,s:s,s:s}", "application_id", a->id, "member_id", member, "uscc", s.uscc);
  MK_ENSURE_ALLOC(d, e);
  rc = mk_svc_audit(ctx, db, "enterprise.claimed", "enterprise", a->enterprise_id, a->account_id,
                    a->enterprise_id, d, e);
  json_decref(d);
out:
  OPENSSL_cleanse(ent.legal_id_number, sizeof ent.legal_id_number);
  OPENSSL_cleanse(s.legal_id, sizeof s.legal_id);
  json_decref(all);
  return rc;
}

/* A claim was withdrawn or refused: with no other live claim the enterprise
 * row waits for the next claimer, without this claim's licence. */
int mk_svc_claim_closed(mk_svc_ctx *ctx, mk_db *db, const mk_app_row *a, mk_err *e) {
  int rc = 0, live = 0;
  mk_stmt *st = NULL;
  char ts[MK_TIME_TEXT_MAX];
  if (a->enterprise_id == NULL)
    return 0;
  MK_TRY(live =
             org_pending_app(db, "enterprise_claim", NULL, a->enterprise_id, NULL, a->id, NULL, e));
  if (live)
    goto out;
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_db_prepare(db,
                       "UPDATE enterprise SET license_attachment_id = NULL, admin_account_id = "
                       "NULL, updated_at = $1 WHERE id = $2 AND state = 'claiming'",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, ts, e));
  MK_TRY(mk_stmt_bind_text(st, 2, a->enterprise_id, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  if (mk_db_changes(db) == 1) {
    json_t *d = json_pack("{s:s}", "application_id", a->id);
    MK_ENSURE_ALLOC(d, e);
    rc = mk_svc_audit(ctx, db, "enterprise.released", "enterprise", a->enterprise_id, a->account_id,
                      a->enterprise_id, d, e);
    json_decref(d);
  }
out:
  mk_stmt_finish(st);
  return rc;
}

/* ---- looking enterprises up --------------------------------------------------- */

int mk_svc_enterprise_query(mk_svc_ctx *ctx, const char *name, const char *uscc, json_t **out,
                            char *field, mk_err *e) {
  int rc = 0, row = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  json_t *items = NULL, *q = NULL;
  char n[ORG_NAME_MAX], u[ORG_CODE_MAX], masked[ORG_CODE_MAX];
  *out = NULL;
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(org_need_verified(ctx, db, NULL, NULL, e));
  /* The same validators as a form: a typing mistake is named, not "no match". */
  q = json_pack("{s:s?,s:s?}", "name", name, "uscc", uscc);
  MK_ENSURE_ALLOC(q, e);
  MK_TRY(org_get_enterprise_name(q, "name", n, field, e));
  MK_TRY(org_get_uscc(q, "uscc", u, field, e));
  items = json_array();
  MK_ENSURE_ALLOC(items, e);
  MK_TRY(mk_db_prepare(db,
                       "SELECT id, name, uscc, state FROM enterprise WHERE uscc = $1 AND "
                       "name = $2 AND state = 'claimed'",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, u, e));
  MK_TRY(mk_stmt_bind_text(st, 2, n, e));
  while ((row = mk_stmt_step(st, e)) == 1) {
    org_mask_uscc(mk_stmt_text(st, 2), masked, sizeof masked);
    json_t *it = json_pack("{s:s,s:s,s:s,s:s}", "id", mk_stmt_text(st, 0), "name",
                           mk_stmt_text(st, 1), "uscc", masked, "state", mk_stmt_text(st, 3));
    MK_ENSURE(it != NULL && json_array_append_new(items, it) == 0, MK_ENOMEM, e, "out of memory");
  }
  MK_TRY(row);
  *out = json_pack("{s:O}", "items", items);
  MK_ENSURE_ALLOC(*out, e);
out:
  mk_stmt_finish(st);
  json_decref(items);
  json_decref(q);
  mk_store_release(ctx->store, db);
  return rc;
}

int mk_svc_enterprise_mine(mk_svc_ctx *ctx, json_t **out, mk_err *e) {
  int rc = 0, row = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  json_t *items = NULL, *perms = NULL;
  *out = NULL;
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  items = json_array();
  MK_ENSURE_ALLOC(items, e);
  MK_TRY(mk_db_prepare(db,
                       "SELECT e.id, e.name, e.uscc, m.role, m.id, m.permissions FROM membership "
                       "m JOIN enterprise e ON e.id = m.enterprise_id WHERE m.account_id = $1 AND "
                       "m.state = 'active' AND e.state = 'claimed' ORDER BY e.name, e.id",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, ctx->caller.account_id, e));
  while ((row = mk_stmt_step(st, e)) == 1) {
    MK_TRY(org_permissions_load(mk_stmt_text(st, 5), &perms, e));
    json_t *it =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "id", mk_stmt_text(st, 0), "name",
                  mk_stmt_text(st, 1), "uscc", mk_stmt_text(st, 2), "role", mk_stmt_text(st, 3),
                  "member_id", mk_stmt_text(st, 4), "permissions", perms);
    perms = NULL; /* taken by "o", also on failure */
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

int mk_svc_enterprise_get(mk_svc_ctx *ctx, const char *id, json_t **out, mk_err *e) {
  int rc = 0, role = 0, row = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  org_enterprise ent;
  char masked[ORG_CODE_MAX], me[MK_ID_MAX] = "";
  *out = NULL;
  memset(&ent, 0, sizeof ent);
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(org_need_member(ctx, db, id, 1, &ent, &role, e));
  MK_TRY(org_membership_of(db, id, ctx->caller.account_id, me, NULL, e));
  mk_svc_mask_id_number(ent.legal_id_number, masked, sizeof masked);
  *out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s?,s:s,s:s,s:s,s:s}", "id", ent.id, "name", ent.name,
                   "uscc", ent.uscc, "legal_name", ent.legal_name, "legal_id_number", masked,
                   "state", ent.state, "license_attachment_id", ent.license[0] ? ent.license : NULL,
                   "my_role", role == 2 ? "admin" : "staff", "my_member_id", me, "created_at",
                   ent.created_at, "updated_at", ent.updated_at);
  MK_ENSURE_ALLOC(*out, e);
  MK_TRY(mk_db_prepare(db,
                       "SELECT m.id, i.name, (SELECT COUNT(*) FROM membership c WHERE "
                       "c.enterprise_id = m.enterprise_id AND c.state = 'active') FROM membership "
                       "m LEFT JOIN identity i ON i.account_id = m.account_id WHERE "
                       "m.enterprise_id = $1 AND m.role = 'admin' AND m.state = 'active'",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(row = mk_stmt_step(st, e));
  if (row) {
    MK_TRY(org_set(
        *out, "admin",
        json_pack("{s:s,s:s?}", "member_id", mk_stmt_text(st, 0), "name", mk_stmt_text(st, 1)), e));
    MK_TRY(org_set(*out, "member_count", json_integer(mk_stmt_int(st, 2)), e));
  }
out:
  if (rc < 0) {
    json_decref(*out);
    *out = NULL;
  }
  OPENSSL_cleanse(ent.legal_id_number, sizeof ent.legal_id_number);
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  return rc;
}

/* ---- join ---------------------------------------------------------------------- */

/* Failed guesses of admin details by this account in the last day. */
static int join_mismatches(mk_svc_ctx *ctx, mk_db *db, int64_t *n, mk_err *e) {
  int rc = 0;
  mk_stmt *st = NULL;
  char since[MK_TIME_TEXT_MAX];
  MK_TRY(mk_time_format(ctx->now() - 86400, since, e));
  /* RFC 3339 UTC text of one width orders as the times do. */
  MK_TRY(mk_db_prepare(db,
                       "SELECT COUNT(*) FROM audit_event WHERE account_id = $1 AND action = "
                       "'enterprise.join_mismatch' AND at >= $2",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, ctx->caller.account_id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, since, e));
  MK_TRY(mk_stmt_step(st, e));
  *n = mk_stmt_int(st, 0);
out:
  mk_stmt_finish(st);
  return rc;
}

/* 1 when name and phone are the admin's verified name and login phone. */
static int admin_matches(mk_db *db, const char *enterprise_id, const char *name, const char *phone,
                         mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  MK_TRY(mk_db_prepare(db,
                       "SELECT i.name, a.phone FROM enterprise n JOIN account a ON a.id = "
                       "n.admin_account_id JOIN identity i ON i.account_id = a.id WHERE n.id = $1",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, enterprise_id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  /* Both compared every time, so the answer's timing does not say which
   * of the two was right. */
  int ok_name = found && strcmp(mk_stmt_text(st, 0), name) == 0;
  int ok_phone = found && strcmp(mk_stmt_text(st, 1), phone) == 0;
  rc = ok_name & ok_phone;
out:
  mk_stmt_finish(st);
  return rc;
}

int mk_svc_enterprise_join(mk_svc_ctx *ctx, const char *id, const json_t *body, json_t **out,
                           char *field, mk_err *e) {
  static const char *const allowed[] = {"admin_name", "admin_phone", "permissions", "platform_id",
                                        "ca_id",      "years",       "attachments", NULL};
  int rc = 0, member = 0, live = 0, match = 0;
  mk_db *db = NULL;
  json_t *data = NULL, *perms = NULL, *pv = NULL;
  org_atts atts = {0};
  org_enterprise ent;
  const char *platform_id = NULL, *ca_id = NULL;
  int years = 0;
  int64_t misses = 0;
  char admin_name[ORG_PERSON_MAX], admin_phone[ORG_CODE_MAX], app[MK_ID_MAX];
  *out = NULL;
  memset(&ent, 0, sizeof ent);
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(org_need_verified(ctx, db, NULL, NULL, e));
  MK_TRY(org_check_param(id, "ent", "enterprise", e));
  MK_TRY(org_enterprise_load(db, id, &ent, e));
  MK_ENSURE(strcmp(ent.state, "claimed") == 0, MK_ENOTFOUND, e, "no such enterprise");
  MK_TRY(mk_json_only_keys(body, allowed, field, e));
  MK_TRY(org_get_person_name(body, "admin_name", admin_name, field, e));
  MK_TRY(org_get_phone(body, "admin_phone", admin_phone, field, e));
  MK_TRY(mk_json_get_array(body, "permissions", 1, 8, &pv, field, e));
  MK_TRY(org_permissions_parse(pv, "permissions", &perms, field, e));
  MK_TRY(org_get_cert_choice(body, 1, 1, &platform_id, &ca_id, &years, field, e));
  MK_TRY(org_atts_parse(body, "attachments", NULL, &atts, field, e));
  MK_TRY(member = org_membership_of(db, id, ctx->caller.account_id, NULL, NULL, e));
  MK_ENSURE(!member, MK_ECONFLICT, e, "you are a member of this enterprise already");
  MK_TRY(live = org_pending_app(db, "enterprise_join", ctx->caller.account_id, id, NULL, NULL, app,
                                e));
  MK_ENSURE(!live, MK_ECONFLICT, e, "you asked to join this enterprise already (%s)", app);
  MK_TRY(join_mismatches(ctx, db, &misses, e));
  MK_ENSURE(misses < ORG_JOIN_MISMATCH_MAX, MK_ERATE, e,
            "too many wrong admin details today; ask the admin for them and try tomorrow");
  MK_TRY(match = admin_matches(db, id, admin_name, admin_phone, e));
  if (!match) {
    /* Kept even though the request fails: the count above reads it. */
    MK_TRY(org_audit(ctx, db, "enterprise.join_mismatch", "enterprise", id, ctx->caller.account_id,
                     id, e));
    MK_TRY(mk_db_commit(db, e));
    if (field != NULL)
      snprintf(field, MK_JSON_FIELD_MAX, "admin");
    MK_FAIL(MK_EINVAL, e,
            "the admin's name and mobile number do not match this enterprise's admin");
  }
  /* The admin's agreement will carry the admin's signature made with the
   * enterprise certificate over the authorisation letter (确认并盖章); until
   * certificates can be downloaded the agreement is recorded without it. */
  data = json_pack("{s:O,s:s,s:{s:s,s:b}}", "permissions", perms, "enterprise_name", ent.name,
                   "authorization_letter", "signer", "admin_enterprise_certificate", "signed", 0);
  MK_ENSURE_ALLOC(data, e);
  mk_app_new n = {.kind = "enterprise_join",
                  .account_id = ctx->caller.account_id,
                  .enterprise_id = id,
                  .platform_id = platform_id,
                  .ca_id = ca_id,
                  .years = years,
                  .data = data,
                  .needs_admin = 1};
  MK_TRY(org_app_submit(ctx, db, &n, &atts, app, out, field, e));
  MK_TRY(mk_db_commit(db, e));
out:
  if (rc < 0) {
    json_decref(*out);
    *out = NULL;
  }
  OPENSSL_cleanse(ent.legal_id_number, sizeof ent.legal_id_number);
  json_decref(data);
  json_decref(perms);
  mk_store_release(ctx->store, db);
  return rc;
}

/* The permissions an application's data asks for; every one when absent. */
static int data_permissions(const mk_app_row *a, json_t **out, mk_err *e) {
  const json_t *p = json_object_get(a->data, "permissions");
  if (p == NULL) {
    *out = org_permissions_all();
    return *out ? 0 : mk_err_set(e, MK_ENOMEM, "out of memory");
  }
  return org_permissions_parse(p, "permissions", out, NULL, e);
}

/* The CA approved a join: the applicant is staff with the permissions it
 * asked for (an admin stays admin), authorised on the application's
 * platform. */
int mk_svc_join_approved(mk_svc_ctx *ctx, mk_db *db, const mk_app_row *a, mk_err *e) {
  int rc = 0, found = 0;
  json_t *perms = NULL;
  char member[MK_ID_MAX], role[16] = "";
  MK_ENSURE(a->enterprise_id != NULL, MK_EINTERNAL, e, "a join names its enterprise");
  MK_TRY(data_permissions(a, &perms, e));
  MK_TRY(found = org_membership_of(db, a->enterprise_id, a->account_id, member, role, e));
  if (!found || strcmp(role, "admin") != 0)
    MK_TRY(org_membership_set(ctx, db, a->enterprise_id, a->account_id, "staff", perms, member, e));
  if (a->platform_id != NULL)
    MK_TRY(org_authz_grant_db(ctx, db, a->enterprise_id, member, a->platform_id, perms, "join",
                              a->id, "system", NULL, e));
  rc = 0;
out:
  json_decref(perms);
  return rc;
}

/* The CA approved a staff member's certificate: the member is authorised on
 * its platform with the permissions the application names. */
int mk_svc_staff_cert_approved(mk_svc_ctx *ctx, mk_db *db, const mk_app_row *a, mk_err *e) {
  int rc = 0, found = 0;
  json_t *perms = NULL;
  char member[MK_ID_MAX];
  MK_ENSURE(a->enterprise_id != NULL, MK_EINTERNAL, e, "a staff certificate names its enterprise");
  MK_TRY(found = org_membership_of(db, a->enterprise_id, a->account_id, member, NULL, e));
  MK_ENSURE(found, MK_ECONFLICT, e, "the applicant is no longer a member of the enterprise");
  MK_TRY(data_permissions(a, &perms, e));
  if (a->platform_id != NULL)
    MK_TRY(org_authz_grant_db(ctx, db, a->enterprise_id, member, a->platform_id, perms,
                              "staff_cert", a->id, "system", NULL, e));
  rc = 0;
out:
  json_decref(perms);
  return rc;
}

/* ---- change of enterprise information -------------------------------------------- */

static int certificates_parse(const json_t *body, json_t **out, char *field, mk_err *e) {
  int rc = 0;
  json_t *arr = NULL, *v;
  size_t i;
  *out = NULL;
  MK_TRY(mk_json_get_array(body, "certificates", 0, ORG_CERTS_MAX, &arr, field, e));
  *out = json_array();
  MK_ENSURE_ALLOC(*out, e);
  json_array_foreach(arr, i, v) {
    const char *c = json_string_value(v);
    if (c == NULL || mk_id_check(c, "crt", NULL) != 0) {
      if (field)
        snprintf(field, MK_JSON_FIELD_MAX, "certificates");
      MK_FAIL(MK_EINVAL, e, "certificates: item %zu is not a certificate id (crt_…)", i + 1);
    }
    for (size_t k = 0; k < json_array_size(*out); k++)
      if (strcmp(json_string_value(json_array_get(*out, k)), c) == 0) {
        if (field)
          snprintf(field, MK_JSON_FIELD_MAX, "certificates");
        MK_FAIL(MK_EINVAL, e, "certificates names %s twice", c);
      }
    MK_ENSURE(json_array_append_new(*out, json_string(c)) == 0, MK_ENOMEM, e, "out of memory");
  }
out:
  if (rc < 0) {
    json_decref(*out);
    *out = NULL;
  }
  return rc;
}

int org_review_ca(mk_db *db, const char *enterprise_id, const char *asked,
                  char ca[MK_CALLER_CA_ID_MAX], char *field, mk_err *e) {
  int rc = 0;
  MK_TRY(org_claim_ca(db, enterprise_id, ca, e));
  MK_ENSURE(ca[0] != '\0', MK_ECONFLICT, e, "no CA has certified this enterprise's claim");
  if (asked != NULL && strcmp(asked, ca) != 0) {
    if (field)
      snprintf(field, MK_JSON_FIELD_MAX, "ca_id");
    MK_FAIL(MK_EINVAL, e, "%s certified this enterprise and reviews its changes, not %s", ca,
            asked);
  }
out:
  return rc;
}

int org_claim_ca(mk_db *db, const char *enterprise_id, char ca[MK_CALLER_CA_ID_MAX], mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  ca[0] = '\0';
  MK_TRY(mk_db_prepare(db,
                       "SELECT ca_id FROM application WHERE enterprise_id = $1 AND kind = "
                       "'enterprise_claim' AND state IN ('awaiting_payment', 'paid', 'issued') "
                       "ORDER BY updated_at DESC LIMIT 1",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, enterprise_id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  if (found && mk_stmt_text(st, 0) != NULL)
    snprintf(ca, MK_CALLER_CA_ID_MAX, "%s", mk_stmt_text(st, 0));
out:
  mk_stmt_finish(st);
  return rc;
}

int mk_svc_enterprise_change(mk_svc_ctx *ctx, const char *id, const json_t *body, json_t **out,
                             char *field, mk_err *e) {
  static const char *const allowed[] = {
      "name",         "uscc",  "legal_name",  "legal_id_number", "license",
      "certificates", "ca_id", "attachments", "acknowledge",     NULL};
  int rc = 0, live = 0, found = 0, ack = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  json_t *data = NULL, *certs = NULL;
  org_atts atts = {0};
  org_enterprise ent;
  const char *license = NULL, *ca_body = NULL;
  char name[ORG_NAME_MAX], uscc[ORG_CODE_MAX], legal_name[ORG_PERSON_MAX],
      legal_id[ORG_CODE_MAX] = "", masked[ORG_CODE_MAX], app[MK_ID_MAX], chg[MK_ID_MAX],
      ts[MK_TIME_TEXT_MAX], ca[MK_CALLER_CA_ID_MAX], *ctext = NULL;
  *out = NULL;
  memset(&ent, 0, sizeof ent);
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(org_need_member(ctx, db, id, 2, &ent, NULL, e));
  MK_TRY(mk_json_only_keys(body, allowed, field, e));
  MK_TRY(org_get_enterprise_name(body, "name", name, field, e));
  MK_TRY(org_get_uscc(body, "uscc", uscc, field, e));
  MK_TRY(org_get_person_name(body, "legal_name", legal_name, field, e));
  MK_TRY(org_get_id_number(ctx, body, "legal_id_number", legal_id, field, e));
  MK_TRY(mk_json_get_str(body, "license", 1, MK_ID_MAX - 1, &license, field, e));
  MK_TRY(certificates_parse(body, &certs, field, e));
  MK_TRY(mk_json_get_str(body, "ca_id", 0, MK_CALLER_CA_ID_MAX - 1, &ca_body, field, e));
  MK_TRY(org_atts_add(&atts, license, "business_license", "license", field, e));
  MK_TRY(org_atts_parse(body, "attachments", "business_license", &atts, field, e));
  MK_TRY(mk_json_get_bool(body, "acknowledge", 0, &ack, field, e));
  if (!ack) {
    if (field)
      snprintf(field, MK_JSON_FIELD_MAX, "acknowledge");
    MK_FAIL(MK_EINVAL, e, "confirm the warning with acknowledge: true: " ORG_CHANGE_WARNING);
  }
  if (strcmp(name, ent.name) == 0 && strcmp(uscc, ent.uscc) == 0 &&
      strcmp(legal_name, ent.legal_name) == 0 && strcmp(legal_id, ent.legal_id_number) == 0 &&
      strcmp(license, ent.license) == 0) {
    if (field)
      snprintf(field, MK_JSON_FIELD_MAX, "name");
    MK_FAIL(MK_EINVAL, e, "nothing changes: give the new licence and information");
  }
  if (strcmp(uscc, ent.uscc) != 0) {
    MK_TRY(mk_db_prepare(db, "SELECT 1 FROM enterprise WHERE uscc = $1", &st, e));
    MK_TRY(mk_stmt_bind_text(st, 1, uscc, e));
    MK_TRY(found = mk_stmt_step(st, e));
    mk_stmt_finish(st);
    st = NULL;
    MK_ENSURE(!found, MK_ECONFLICT, e, "another enterprise has this unified social credit code");
  }
  MK_TRY(live = org_pending_app(db, "enterprise_change", NULL, id, NULL, NULL, app, e));
  MK_ENSURE(!live, MK_ECONFLICT, e, "a change of this enterprise is under review already (%s)",
            app);
  MK_TRY(org_review_ca(db, id, ca_body, ca, field, e));
  /* The new information waits in its own row (full legal ID number), the
   * application's data shows it masked. Written before the application:
   * a CA with automatic review approves inside mk_svc_app_create. */
  ctext = json_dumps(certs, JSON_COMPACT);
  MK_ENSURE_ALLOC(ctext, e);
  MK_TRY(mk_id_new(chg, "chg", e));
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_db_prepare(db,
                       "INSERT INTO enterprise_change(id, enterprise_id, name, uscc, legal_name, "
                       "legal_id_number, license_attachment_id, certificates, state, created_at, "
                       "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $9)",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, chg, e));
  MK_TRY(mk_stmt_bind_text(st, 2, id, e));
  MK_TRY(mk_stmt_bind_text(st, 3, name, e));
  MK_TRY(mk_stmt_bind_text(st, 4, uscc, e));
  MK_TRY(mk_stmt_bind_text(st, 5, legal_name, e));
  MK_TRY(mk_stmt_bind_text(st, 6, legal_id, e));
  MK_TRY(mk_stmt_bind_text(st, 7, license, e));
  MK_TRY(mk_stmt_bind_text(st, 8, ctext, e));
  MK_TRY(mk_stmt_bind_text(st, 9, ts, e));
  rc = mk_stmt_step(st, e);
  if (rc == MK_ECONFLICT) { /* the licence is not an attachment at all */
    if (field)
      snprintf(field, MK_JSON_FIELD_MAX, "license");
    MK_FAIL(MK_EINVAL, e, "license is not one of your uploads");
  }
  MK_TRY(rc);
  mk_stmt_finish(st);
  st = NULL;
  mk_svc_mask_id_number(legal_id, masked, sizeof masked);
  data = json_pack("{s:s,s:s,s:s,s:s,s:O,s:s,s:{s:s,s:s,s:s}}", "name", name, "uscc", uscc,
                   "legal_name", legal_name, "legal_id_number", masked, "certificates", certs,
                   "warning", ORG_CHANGE_WARNING, "previous", "name", ent.name, "uscc", ent.uscc,
                   "legal_name", ent.legal_name);
  MK_ENSURE_ALLOC(data, e);
  mk_app_new n = {.kind = "enterprise_change",
                  .account_id = ctx->caller.account_id,
                  .enterprise_id = id,
                  .ca_id = ca,
                  .data = data};
  org_atts_apply(&atts, &n);
  MK_TRY(mk_svc_app_create(ctx, db, &n, app, field, e));
  MK_TRY(
      mk_db_prepare(db, "UPDATE enterprise_change SET application_id = $1 WHERE id = $2", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, app, e));
  MK_TRY(mk_stmt_bind_text(st, 2, chg, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  MK_TRY(mk_svc_app_get_db(ctx, db, app, out, e));
  MK_TRY(mk_db_commit(db, e));
out:
  if (rc < 0) {
    json_decref(*out);
    *out = NULL;
  }
  OPENSSL_cleanse(legal_id, sizeof legal_id);
  OPENSSL_cleanse(ent.legal_id_number, sizeof ent.legal_id_number);
  mk_stmt_finish(st);
  free(ctext);
  json_decref(data);
  json_decref(certs);
  mk_store_release(ctx->store, db);
  return rc;
}

/* Mark the enterprise's pending change applied or dropped; *found says
 * whether there was one. With apply, the new information replaces the old. */
static int change_finish(mk_svc_ctx *ctx, mk_db *db, const mk_app_row *a, int apply, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  char chg[MK_ID_MAX], ts[MK_TIME_TEXT_MAX];
  MK_ENSURE(a->enterprise_id != NULL, MK_EINTERNAL, e, "a change names its enterprise");
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_db_prepare(db,
                       "SELECT id FROM enterprise_change WHERE enterprise_id = $1 AND state = "
                       "'pending' AND (application_id IS NULL OR application_id = $2)",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, a->enterprise_id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, a->id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found, MK_EINTERNAL, e, "no pending change for application %s", a->id);
  snprintf(chg, sizeof chg, "%s", mk_stmt_text(st, 0));
  mk_stmt_finish(st);
  st = NULL;
  if (apply) {
    subject sub;
    memset(&sub, 0, sizeof sub);
    MK_TRY(mk_db_prepare(db,
                         "SELECT name, uscc, legal_name, legal_id_number, license_attachment_id "
                         "FROM enterprise_change WHERE id = $1",
                         &st, e));
    MK_TRY(mk_stmt_bind_text(st, 1, chg, e));
    MK_TRY(found = mk_stmt_step(st, e));
    MK_ENSURE(found, MK_EINTERNAL, e, "change %s vanished", chg);
    snprintf(sub.name, sizeof sub.name, "%s", mk_stmt_text(st, 0));
    snprintf(sub.uscc, sizeof sub.uscc, "%s", mk_stmt_text(st, 1));
    snprintf(sub.legal_name, sizeof sub.legal_name, "%s", mk_stmt_text(st, 2));
    snprintf(sub.legal_id, sizeof sub.legal_id, "%s", mk_stmt_text(st, 3));
    snprintf(sub.license, sizeof sub.license, "%s", mk_stmt_text(st, 4) ? mk_stmt_text(st, 4) : "");
    mk_stmt_finish(st);
    st = NULL;
    rc = subject_final(ctx, db, a, &sub, e);
    if (rc == 0)
      rc = subject_write(ctx, db, a->enterprise_id, "claimed", NULL, &sub, e);
    OPENSSL_cleanse(sub.legal_id, sizeof sub.legal_id);
    MK_TRY(rc);
  }
  MK_TRY(mk_db_prepare(db,
                       "UPDATE enterprise_change SET state = $1, application_id = $2, "
                       "updated_at = $3 WHERE id = $4",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, apply ? "applied" : "dropped", e));
  MK_TRY(mk_stmt_bind_text(st, 2, a->id, e));
  MK_TRY(mk_stmt_bind_text(st, 3, ts, e));
  MK_TRY(mk_stmt_bind_text(st, 4, chg, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  json_t *d = json_pack("{s:s,s:s}", "application_id", a->id, "change_id", chg);
  MK_ENSURE_ALLOC(d, e);
  rc = mk_svc_audit(ctx, db, apply ? "enterprise.changed" : "enterprise.change_dropped",
                    "enterprise", a->enterprise_id, a->account_id, a->enterprise_id, d, e);
  json_decref(d);
out:
  mk_stmt_finish(st);
  return rc;
}

/* The CA approved a change: the new information replaces the old. The
 * certificates named in data.certificates are re-issued when they are next
 * downloaded; their old keys stop decrypting. */
int mk_svc_change_approved(mk_svc_ctx *ctx, mk_db *db, const mk_app_row *a, mk_err *e) {
  return change_finish(ctx, db, a, 1, e);
}

int mk_svc_change_closed(mk_svc_ctx *ctx, mk_db *db, const mk_app_row *a, mk_err *e) {
  return change_finish(ctx, db, a, 0, e);
}
