/*
 * The application engine: one state machine for every kind of request
 * (docs/applications.md). Stored states are where an application waits:
 *
 *   awaiting_admin ─admin_approve→ (admin_approved) → awaiting_ca
 *   awaiting_admin ─admin_reject→  admin_rejected
 *   awaiting_ca    ─ca_approve→    (ca_approved) → awaiting_payment → paid → issued
 *   awaiting_ca    ─ca_reject→     ca_rejected ─resubmit→ (resubmitted) → awaiting_ca
 *   awaiting_admin | awaiting_ca | ca_rejected ─cancel→ cancelled
 *
 * The states in parentheses are passed through and kept in the history.
 * Every transition runs in the caller's transaction and writes its history
 * row, an audit event and the message to whoever must act next; the kind's
 * hook (the claimer becomes admin, a staff member joins, ...) runs in the
 * same transaction, so a decision and its consequences land together.
 */
#include <string.h>

#include "svc/svc.h"
#include "util/guard.h"
#include "util/json.h"
#include "util/time.h"
#include "util/utf8.h"

#define REASON_MAX 500 /* characters */

/* What a resubmission may correct: an enterprise's registered details. */
static const char *const enterprise_details[] = {"name", "uscc", "legal_name", "legal_id_number",
                                                  NULL};
static const mk_app_kind kinds[] = {
    {"personal", "自然人证书申领", "证书申领成功，请下载证书", NULL, NULL, 0, NULL},
    {"enterprise_claim", "认领企业", "认领企业，请下载证书", mk_svc_claim_approved,
     mk_svc_claim_closed, 0, enterprise_details},
    {"enterprise_join", "加入企业申领", "加入成功，请下载证书", mk_svc_join_approved, NULL, 1, NULL},
    {"staff_cert", "证书授权", "证书申领成功，请下载证书", mk_svc_staff_cert_approved, NULL, 1, NULL},
    {"enterprise_change", "企业信息变更", "企业信息变更成功", mk_svc_change_approved,
     mk_svc_change_closed, 0, enterprise_details},
    {"admin_transfer", "转授管理员", "转授管理员成功", mk_svc_transfer_approved, NULL, 0, NULL},
};

const mk_app_kind *mk_svc_app_kind(const char *name) {
  for (size_t i = 0; name != NULL && i < sizeof kinds / sizeof kinds[0]; i++)
    if (strcmp(kinds[i].name, name) == 0)
      return &kinds[i];
  return NULL;
}

/* One application as loaded. */
typedef struct app {
  char id[MK_ID_MAX], kind[32], state[24], account_id[MK_ID_MAX], enterprise_id[MK_ID_MAX],
      platform_id[MK_ID_MAX], ca_id[MK_CALLER_CA_ID_MAX];
  int has_enterprise, has_platform;
  int years;
  int64_t version;
  json_t *data;
} app;

static void app_clear(app *a) {
  json_decref(a->data);
  a->data = NULL;
}

static void app_row_of(const app *a, mk_app_row *r) {
  r->id = a->id;
  r->kind = a->kind;
  r->state = a->state;
  r->account_id = a->account_id;
  r->enterprise_id = a->has_enterprise ? a->enterprise_id : NULL;
  r->platform_id = a->has_platform ? a->platform_id : NULL;
  r->ca_id = a->ca_id;
  r->years = a->years;
  r->data = a->data;
}

static void copy_col(mk_stmt *st, int col, char *out, size_t cap, int *present) {
  const char *v = mk_stmt_text(st, col);
  snprintf(out, cap, "%s", v ? v : "");
  if (present)
    *present = v != NULL;
}

static int app_load(mk_db *db, const char *id, app *a, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  memset(a, 0, sizeof *a);
  MK_TRY(mk_db_prepare(db,
                       "SELECT id, kind, state, account_id, enterprise_id, platform_id, ca_id, "
                       "years, version, data FROM application WHERE id = $1",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found, MK_ENOTFOUND, e, "no such application");
  copy_col(st, 0, a->id, sizeof a->id, NULL);
  copy_col(st, 1, a->kind, sizeof a->kind, NULL);
  copy_col(st, 2, a->state, sizeof a->state, NULL);
  copy_col(st, 3, a->account_id, sizeof a->account_id, NULL);
  copy_col(st, 4, a->enterprise_id, sizeof a->enterprise_id, &a->has_enterprise);
  copy_col(st, 5, a->platform_id, sizeof a->platform_id, &a->has_platform);
  copy_col(st, 6, a->ca_id, sizeof a->ca_id, NULL);
  a->years = (int)mk_stmt_int(st, 7);
  a->version = mk_stmt_int(st, 8);
  const char *d = mk_stmt_text(st, 9);
  MK_TRY(mk_json_parse_object(d, strlen(d), 1u << 20, &a->data, e));
out:
  mk_stmt_finish(st);
  if (rc < 0)
    app_clear(a);
  return rc;
}

/* Who the caller is to a: bit 1 applicant, 2 admin of its enterprise, 4
 * operator of its CA (once it reached the CA), 8 platform operator. */
enum { REL_APPLICANT = 1, REL_ADMIN = 2, REL_CA = 4, REL_OPERATOR = 8 };

static int relation(mk_svc_ctx *ctx, mk_db *db, const app *a, mk_err *e) {
  int rel = 0;
  const mk_caller *c = &ctx->caller;
  if (c->role == MK_ROLE_OPERATOR)
    rel |= REL_OPERATOR;
  if (c->role == MK_ROLE_CA_OPERATOR && strcmp(c->ca_id, a->ca_id) == 0 &&
      strcmp(a->state, MK_APP_AWAITING_ADMIN) != 0 && strcmp(a->state, MK_APP_ADMIN_REJECTED) != 0)
    rel |= REL_CA;
  if (c->role == MK_ROLE_ACCOUNT) {
    if (strcmp(c->account_id, a->account_id) == 0)
      rel |= REL_APPLICANT;
    const mk_app_kind *k = mk_svc_app_kind(a->kind);
    if (a->has_enterprise && k != NULL && k->admin_decides) {
      int r = mk_svc_member_role(db, a->enterprise_id, c->account_id, e);
      if (r < 0)
        return r;
      if (r == 2)
        rel |= REL_ADMIN;
    }
  }
  return rel;
}

int mk_svc_app_visible(mk_svc_ctx *ctx, mk_db *db, const char *id, mk_err *e) {
  int rc = 0;
  app a = {0};
  rc = app_load(db, id, &a, e);
  if (rc == MK_ENOTFOUND) {
    mk_err_clear(e);
    return 0;
  }
  MK_TRY(rc);
  MK_TRY(rc = relation(ctx, db, &a, e));
  rc = rc != 0;
out:
  app_clear(&a);
  return rc;
}

/* The CA's profile {validity:[{years,...}], attachments:[{id,name}], review}. */
static int ca_profile(mk_db *db, const char *ca_id, json_t **out, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  *out = NULL;
  MK_TRY(mk_db_prepare(db, "SELECT profile FROM ca WHERE id = $1", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, ca_id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found, MK_ENOTFOUND, e, "no CA %s", ca_id);
  const char *p = mk_stmt_text(st, 0);
  MK_TRY(mk_json_parse_object(p, strlen(p), 1u << 16, out, e));
out:
  mk_stmt_finish(st);
  return rc;
}

static int history(mk_svc_ctx *ctx, mk_db *db, const char *id, const char *event,
                   const char *from, const char *to, const char *reason, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  char hid[MK_ID_MAX], ts[MK_TIME_TEXT_MAX];
  int64_t seq = 1;
  MK_TRY(mk_db_prepare(db, "SELECT MAX(seq) FROM application_event WHERE application_id = $1",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  if (found && !mk_stmt_is_null(st, 0))
    seq = mk_stmt_int(st, 0) + 1;
  mk_stmt_finish(st);
  st = NULL;
  MK_TRY(mk_id_new(hid, "ape", e));
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_db_prepare(db,
                       "INSERT INTO application_event(id, application_id, seq, event, "
                       "from_state, to_state, actor, reason, at) "
                       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, hid, e));
  MK_TRY(mk_stmt_bind_text(st, 2, id, e));
  MK_TRY(mk_stmt_bind_int(st, 3, seq, e));
  MK_TRY(mk_stmt_bind_text(st, 4, event, e));
  MK_TRY(mk_stmt_bind_text(st, 5, from, e));
  MK_TRY(mk_stmt_bind_text(st, 6, to, e));
  MK_TRY(mk_stmt_bind_text(st, 7, strcmp(event, "auto_approve") == 0 ||
                                          strcmp(event, "request_payment") == 0 ||
                                          strcmp(event, "forward_to_ca") == 0
                                      ? "system"
                                      : mk_svc_actor(ctx),
                           e));
  MK_TRY(mk_stmt_bind_text(st, 8, reason, e));
  MK_TRY(mk_stmt_bind_text(st, 9, ts, e));
  MK_TRY(mk_stmt_step(st, e));
out:
  mk_stmt_finish(st);
  return rc;
}

static int audit_app(mk_svc_ctx *ctx, mk_db *db, const app *a, const char *action,
                     const char *to, const char *reason, mk_err *e) {
  int rc = 0;
  json_t *d = json_pack("{s:s,s:s,s:s}", "kind", a->kind, "from", a->state, "to", to);
  MK_ENSURE_ALLOC(d, e);
  if (reason != NULL)
    MK_ENSURE(json_object_set_new(d, "reason", json_string(reason)) == 0, MK_ENOMEM, e,
              "out of memory");
  MK_TRY(mk_svc_audit(ctx, db, action, "application", a->id, a->account_id,
                      a->has_enterprise ? a->enterprise_id : NULL, d, e));
out:
  json_decref(d);
  return rc;
}

static int set_state(mk_svc_ctx *ctx, mk_db *db, app *a, const char *to, const char *decision_col,
                     const json_t *decision, mk_err *e) {
  int rc = 0;
  mk_stmt *st = NULL;
  char ts[MK_TIME_TEXT_MAX], *dtext = NULL;
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  if (decision != NULL) {
    dtext = json_dumps(decision, JSON_COMPACT | JSON_SORT_KEYS);
    MK_ENSURE_ALLOC(dtext, e);
  }
  char *data = json_dumps(a->data, JSON_COMPACT | JSON_SORT_KEYS);
  MK_ENSURE_ALLOC(data, e);
  const char *sql =
      decision_col == NULL
          ? "UPDATE application SET state = $1, updated_at = $2, version = version + 1, "
            "data = $3 WHERE id = $4 AND version = $5"
      : strcmp(decision_col, "admin") == 0
          ? "UPDATE application SET state = $1, updated_at = $2, version = version + 1, "
            "data = $3, admin_decision = $6 WHERE id = $4 AND version = $5"
          : "UPDATE application SET state = $1, updated_at = $2, version = version + 1, "
            "data = $3, ca_decision = $6 WHERE id = $4 AND version = $5";
  rc = mk_db_prepare(db, sql, &st, e);
  if (rc == 0)
    rc = mk_stmt_bind_text(st, 3, data, e);
  free(data);
  MK_TRY(rc);
  MK_TRY(mk_stmt_bind_text(st, 1, to, e));
  MK_TRY(mk_stmt_bind_text(st, 2, ts, e));
  MK_TRY(mk_stmt_bind_text(st, 4, a->id, e));
  MK_TRY(mk_stmt_bind_int(st, 5, a->version, e));
  if (decision_col != NULL)
    MK_TRY(mk_stmt_bind_text(st, 6, dtext, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  MK_ENSURE(mk_db_changes(db) == 1, MK_ECONFLICT, e,
            "the application changed meanwhile; load it again");
  snprintf(a->state, sizeof a->state, "%s", to);
  a->version++;
out:
  mk_stmt_finish(st);
  free(dtext);
  return rc;
}

static int decision_new(mk_svc_ctx *ctx, const char *decision, const char *reason, json_t **out,
                        mk_err *e) {
  int rc = 0;
  char ts[MK_TIME_TEXT_MAX];
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  *out = json_pack("{s:s,s:s,s:s,s:s?}", "decision", decision, "by", mk_svc_actor(ctx), "at", ts,
                   "reason", reason);
  MK_ENSURE_ALLOC(*out, e);
out:
  return rc;
}

/* The enterprise admin's account, or "" when there is none. */
static int admin_of(mk_db *db, const char *enterprise_id, char out[MK_ID_MAX], mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  out[0] = '\0';
  MK_TRY(mk_db_prepare(db,
                       "SELECT account_id FROM membership WHERE enterprise_id = $1 AND "
                       "role = 'admin' AND state = 'active'",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, enterprise_id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  if (found)
    snprintf(out, MK_ID_MAX, "%s", mk_stmt_text(st, 0));
out:
  mk_stmt_finish(st);
  return rc;
}

/* The CA approved: the kind's consequences, the message, then payment. */
static int ca_approved(mk_svc_ctx *ctx, mk_db *db, app *a, const char *event, mk_err *e) {
  int rc = 0;
  json_t *dec = NULL;
  const mk_app_kind *k = mk_svc_app_kind(a->kind);
  MK_ENSURE(k != NULL, MK_EINTERNAL, e, "unknown application kind %s", a->kind);
  MK_TRY(decision_new(ctx, "approved", NULL, &dec, e));
  if (strcmp(event, "auto_approve") == 0)
    MK_ENSURE(json_object_set_new(dec, "by", json_string("system")) == 0, MK_ENOMEM, e,
              "out of memory");
  MK_TRY(history(ctx, db, a->id, event, a->state, "ca_approved", NULL, e));
  MK_TRY(audit_app(ctx, db, a, "application.ca_approve", "ca_approved", NULL, e));
  if (k->on_ca_approved != NULL) {
    mk_app_row r;
    app_row_of(a, &r);
    MK_TRY(k->on_ca_approved(ctx, db, &r, e));
  }
  MK_TRY(history(ctx, db, a->id, "request_payment", "ca_approved", MK_APP_AWAITING_PAYMENT, NULL,
                 e));
  MK_TRY(set_state(ctx, db, a, MK_APP_AWAITING_PAYMENT, "ca", dec, e));
  MK_TRY(mk_svc_message_post(ctx, db, a->account_id, "ca_approved", k->approved_title,
                             "CA审核通过。", a->id, "download", e));
out:
  json_decref(dec);
  return rc;
}

/* Enter awaiting_ca; a CA with automatic review approves at once. */
static int to_ca(mk_svc_ctx *ctx, mk_db *db, app *a, const char *event, const json_t *admin_dec,
                 mk_err *e) {
  int rc = 0;
  json_t *prof = NULL;
  MK_TRY(history(ctx, db, a->id, event, a->state, MK_APP_AWAITING_CA, NULL, e));
  MK_TRY(set_state(ctx, db, a, MK_APP_AWAITING_CA, admin_dec ? "admin" : NULL, admin_dec, e));
  MK_TRY(ca_profile(db, a->ca_id, &prof, e));
  const char *review = json_string_value(json_object_get(prof, "review"));
  if (review != NULL && strcmp(review, "auto") == 0)
    MK_TRY(ca_approved(ctx, db, a, "auto_approve", e));
out:
  json_decref(prof);
  return rc;
}

/* Bind the listed attachments (owned by the applicant) to application id,
 * replacing earlier ones of the same role. */
static int attach(mk_db *db, const char *id, const char *owner, const mk_app_new *n, mk_err *e) {
  int rc = 0;
  mk_stmt *st = NULL;
  for (size_t i = 0; n != NULL && i < n->nattachments; i++) {
    int found = 0;
    MK_TRY(mk_db_prepare(db, "SELECT 1 FROM attachment WHERE id = $1 AND account_id = $2", &st,
                         e));
    MK_TRY(mk_stmt_bind_text(st, 1, n->attachment_ids[i], e));
    MK_TRY(mk_stmt_bind_text(st, 2, owner, e));
    MK_TRY(found = mk_stmt_step(st, e));
    mk_stmt_finish(st);
    st = NULL;
    MK_ENSURE(found, MK_EINVAL, e, "attachment %s is not one of your uploads",
              n->attachment_ids[i]);
    MK_TRY(mk_db_prepare(db,
                         "DELETE FROM application_attachment WHERE application_id = $1 AND "
                         "role = $2",
                         &st, e));
    MK_TRY(mk_stmt_bind_text(st, 1, id, e));
    MK_TRY(mk_stmt_bind_text(st, 2, n->attachment_roles[i], e));
    MK_TRY(mk_stmt_step(st, e));
    mk_stmt_finish(st);
    st = NULL;
    MK_TRY(mk_db_prepare(db,
                         "INSERT INTO application_attachment(application_id, attachment_id, "
                         "role) VALUES ($1, $2, $3)",
                         &st, e));
    MK_TRY(mk_stmt_bind_text(st, 1, id, e));
    MK_TRY(mk_stmt_bind_text(st, 2, n->attachment_ids[i], e));
    MK_TRY(mk_stmt_bind_text(st, 3, n->attachment_roles[i], e));
    rc = mk_stmt_step(st, e);
    if (rc == MK_ECONFLICT) {
      mk_err_set(e, MK_EINVAL, "attachment %s is given twice", n->attachment_ids[i]);
      goto out;
    }
    MK_TRY(rc);
    mk_stmt_finish(st);
    st = NULL;
  }
out:
  mk_stmt_finish(st);
  return rc;
}

/* Documents about an enterprise: a personal application needs none. */
static int enterprise_document(const char *role) {
  return strcmp(role, "business_license") == 0 || strcmp(role, "power_of_attorney") == 0;
}

/* Every attachment the CA requires is on the application, except the
 * enterprise documents for a personal one. */
static int check_required(mk_db *db, const char *id, const char *kind, const json_t *prof,
                          char *field, mk_err *e) {
  int rc = 0;
  mk_stmt *st = NULL;
  size_t i;
  json_t *req;
  json_array_foreach(json_object_get(prof, "attachments"), i, req) {
    const char *role = json_string_value(json_object_get(req, "id"));
    if (role == NULL || (strcmp(kind, "personal") == 0 && enterprise_document(role)))
      continue;
    int found = 0;
    MK_TRY(mk_db_prepare(db,
                         "SELECT 1 FROM application_attachment WHERE application_id = $1 AND "
                         "role = $2",
                         &st, e));
    MK_TRY(mk_stmt_bind_text(st, 1, id, e));
    MK_TRY(mk_stmt_bind_text(st, 2, role, e));
    MK_TRY(found = mk_stmt_step(st, e));
    mk_stmt_finish(st);
    st = NULL;
    if (!found) {
      if (field != NULL)
        snprintf(field, MK_JSON_FIELD_MAX, "attachments.%s", role);
      rc = mk_err_set(e, MK_EINVAL, "the CA requires the attachment %s (%s)", role,
                      json_string_value(json_object_get(req, "name")));
      goto out;
    }
  }
out:
  mk_stmt_finish(st);
  return rc;
}

static int row_exists(mk_db *db, const char *sql, const char *id, mk_err *e) {
  int rc = 0;
  mk_stmt *st = NULL;
  MK_TRY(mk_db_prepare(db, sql, &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(rc = mk_stmt_step(st, e));
out:
  mk_stmt_finish(st);
  return rc;
}

int mk_svc_app_create(mk_svc_ctx *ctx, mk_db *db, const mk_app_new *n, char id[MK_ID_MAX],
                      char *field, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  json_t *prof = NULL;
  char *data = NULL, ts[MK_TIME_TEXT_MAX];
  app a = {0};
  MK_ENSURE(mk_db_in_tx(db), MK_EINTERNAL, e, "applications are created inside a transaction");
  const mk_app_kind *k = mk_svc_app_kind(n->kind);
  MK_ENSURE(k != NULL, MK_EINTERNAL, e, "unknown application kind %s", n->kind ? n->kind : "");
  MK_ENSURE(!n->needs_admin || n->enterprise_id != NULL, MK_EINTERNAL, e,
            "an admin decision needs an enterprise");
  if (n->platform_id != NULL) {
    MK_TRY(found = row_exists(db, "SELECT 1 FROM platform WHERE id = $1", n->platform_id, e));
    if (!found) {
      if (field)
        snprintf(field, MK_JSON_FIELD_MAX, "platform");
      MK_FAIL(MK_EINVAL, e, "no platform %s", n->platform_id);
    }
  }
  MK_ENSURE(n->ca_id != NULL, MK_EINTERNAL, e, "an application names its CA");
  rc = ca_profile(db, n->ca_id, &prof, e);
  if (rc == MK_ENOTFOUND) {
    if (field)
      snprintf(field, MK_JSON_FIELD_MAX, "ca");
    rc = MK_EINVAL;
  }
  MK_TRY(rc);
  if (n->years != 0) {
    size_t i;
    json_t *v;
    int ok = 0;
    json_array_foreach(json_object_get(prof, "validity"), i, v) ok |=
        json_integer_value(json_object_get(v, "years")) == n->years;
    if (!ok) {
      if (field)
        snprintf(field, MK_JSON_FIELD_MAX, "years");
      MK_FAIL(MK_EINVAL, e, "CA %s does not offer %d years", n->ca_id, n->years);
    }
  }
  MK_ENSURE(n->data == NULL || json_is_object(n->data), MK_EINTERNAL, e,
            "application data is an object");
  data = n->data ? json_dumps(n->data, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
  MK_ENSURE_ALLOC(data, e);
  MK_TRY(mk_id_new(id, "apl", e));
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  const char *first = n->needs_admin ? MK_APP_AWAITING_ADMIN : MK_APP_AWAITING_CA;
  MK_TRY(mk_db_prepare(db,
                       "INSERT INTO application(id, kind, state, account_id, enterprise_id, "
                       "platform_id, ca_id, years, data, version, created_at, updated_at) "
                       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $10)",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, n->kind, e));
  MK_TRY(mk_stmt_bind_text(st, 3, first, e));
  MK_TRY(mk_stmt_bind_text(st, 4, n->account_id, e));
  MK_TRY(mk_stmt_bind_text(st, 5, n->enterprise_id, e));
  MK_TRY(mk_stmt_bind_text(st, 6, n->platform_id, e));
  MK_TRY(mk_stmt_bind_text(st, 7, n->ca_id, e));
  if (n->years != 0)
    MK_TRY(mk_stmt_bind_int(st, 8, n->years, e));
  else
    MK_TRY(mk_stmt_bind_null(st, 8, e));
  MK_TRY(mk_stmt_bind_text(st, 9, data, e));
  MK_TRY(mk_stmt_bind_text(st, 10, ts, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  rc = attach(db, id, n->account_id, n, e);
  if (rc < 0 && field)
    snprintf(field, MK_JSON_FIELD_MAX, "attachments");
  MK_TRY(rc);
  MK_TRY(check_required(db, id, n->kind, prof, field, e));
  MK_TRY(app_load(db, id, &a, e));
  MK_TRY(history(ctx, db, id, "submit", NULL, "submitted", NULL, e));
  json_t *d = json_pack("{s:s,s:s}", "kind", n->kind, "ca_id", n->ca_id);
  MK_ENSURE_ALLOC(d, e);
  rc = mk_svc_audit(ctx, db, "application.submit", "application", id, n->account_id,
                    n->enterprise_id, d, e);
  json_decref(d);
  MK_TRY(rc);
  if (n->needs_admin) {
    char admin[MK_ID_MAX];
    MK_TRY(admin_of(db, n->enterprise_id, admin, e));
    MK_ENSURE(admin[0] != '\0', MK_ECONFLICT, e, "the enterprise has no admin yet");
    MK_TRY(history(ctx, db, id, "forward_to_admin", "submitted", MK_APP_AWAITING_ADMIN, NULL, e));
    MK_TRY(mk_svc_message_post(ctx, db, admin, "admin_review", k->title,
                               "办事人员提交了申请，请审核。", id, "approve", e));
  } else {
    /* stored as awaiting_ca already; record the step and apply auto review */
    snprintf(a.state, sizeof a.state, "submitted");
    MK_TRY(history(ctx, db, id, "forward_to_ca", "submitted", MK_APP_AWAITING_CA, NULL, e));
    snprintf(a.state, sizeof a.state, MK_APP_AWAITING_CA);
    json_t *p2 = NULL;
    MK_TRY(ca_profile(db, n->ca_id, &p2, e));
    const char *review = json_string_value(json_object_get(p2, "review"));
    int autor = review != NULL && strcmp(review, "auto") == 0;
    json_decref(p2);
    if (autor)
      MK_TRY(ca_approved(ctx, db, &a, "auto_approve", e));
  }
out:
  mk_stmt_finish(st);
  json_decref(prof);
  free(data);
  app_clear(&a);
  return rc;
}

static int reason_check(const char *reason, char *field, mk_err *e) {
  size_t chars = 0, off = 0, n = reason ? strlen(reason) : 0;
  uint32_t cp;
  if (n == 0 || !mk_utf8_valid_text(reason, n, 1)) {
    if (field)
      snprintf(field, MK_JSON_FIELD_MAX, "reason");
    return mk_err_set(e, MK_EINVAL, "give the reason (1..%d characters of text)", REASON_MAX);
  }
  while (off < n) {
    int k = mk_utf8_next((const unsigned char *)reason + off, n - off, &cp);
    if (k <= 0)
      break;
    off += (size_t)k;
    chars++;
  }
  if (chars > REASON_MAX) {
    if (field)
      snprintf(field, MK_JSON_FIELD_MAX, "reason");
    return mk_err_set(e, MK_EINVAL, "the reason has at most %d characters", REASON_MAX);
  }
  return 0;
}

int mk_svc_app_transition(mk_svc_ctx *ctx, mk_db *db, const char *id, int event,
                          const char *reason, const json_t *changes,
                          const mk_app_new *new_attachments, char *field, mk_err *e) {
  int rc = 0, rel = 0;
  app a = {0};
  json_t *dec = NULL, *prof = NULL;
  MK_ENSURE(mk_db_in_tx(db), MK_EINTERNAL, e, "transitions run inside a transaction");
  MK_TRY(app_load(db, id, &a, e));
  MK_TRY(rel = relation(ctx, db, &a, e));
  MK_ENSURE(rel != 0, MK_ENOTFOUND, e, "no such application");
  const mk_app_kind *k = mk_svc_app_kind(a.kind);
  MK_ENSURE(k != NULL, MK_EINTERNAL, e, "unknown application kind %s", a.kind);
  switch (event) {
  case MK_APP_EV_ADMIN_APPROVE:
  case MK_APP_EV_ADMIN_REJECT:
    MK_ENSURE(rel & REL_ADMIN, MK_EPERM, e, "only the enterprise's admin decides this");
    MK_ENSURE(strcmp(a.state, MK_APP_AWAITING_ADMIN) == 0, MK_ECONFLICT, e,
              "the application is %s, not awaiting the admin", a.state);
    if (event == MK_APP_EV_ADMIN_REJECT) {
      MK_TRY(reason_check(reason, field, e));
      MK_TRY(decision_new(ctx, "rejected", reason, &dec, e));
      MK_TRY(history(ctx, db, a.id, "admin_reject", a.state, MK_APP_ADMIN_REJECTED, reason, e));
      MK_TRY(audit_app(ctx, db, &a, "application.admin_reject", MK_APP_ADMIN_REJECTED, reason, e));
      MK_TRY(set_state(ctx, db, &a, MK_APP_ADMIN_REJECTED, "admin", dec, e));
      if (k->on_closed != NULL) {
        mk_app_row r;
        app_row_of(&a, &r);
        MK_TRY(k->on_closed(ctx, db, &r, e));
      }
      MK_TRY(mk_svc_message_post(ctx, db, a.account_id, "admin_rejected", "管理员拒绝了申请", reason,
                                 a.id, NULL, e));
    } else {
      MK_TRY(decision_new(ctx, "approved", NULL, &dec, e));
      MK_TRY(history(ctx, db, a.id, "admin_approve", a.state, "admin_approved", NULL, e));
      MK_TRY(audit_app(ctx, db, &a, "application.admin_approve", "admin_approved", NULL, e));
      snprintf(a.state, sizeof a.state, "admin_approved");
      MK_TRY(to_ca(ctx, db, &a, "forward_to_ca", dec, e));
    }
    break;
  case MK_APP_EV_CA_APPROVE:
  case MK_APP_EV_CA_REJECT:
    MK_ENSURE(rel & REL_CA, MK_EPERM, e, "only an operator of CA %s decides this", a.ca_id);
    MK_ENSURE(strcmp(a.state, MK_APP_AWAITING_CA) == 0, MK_ECONFLICT, e,
              "the application is %s, not awaiting the CA", a.state);
    if (event == MK_APP_EV_CA_REJECT) {
      MK_TRY(reason_check(reason, field, e));
      MK_TRY(decision_new(ctx, "rejected", reason, &dec, e));
      MK_TRY(history(ctx, db, a.id, "ca_reject", a.state, MK_APP_CA_REJECTED, reason, e));
      MK_TRY(audit_app(ctx, db, &a, "application.ca_reject", MK_APP_CA_REJECTED, reason, e));
      MK_TRY(set_state(ctx, db, &a, MK_APP_CA_REJECTED, "ca", dec, e));
      MK_TRY(mk_svc_message_post(ctx, db, a.account_id, "ca_rejected", "证书申领失败", reason, a.id,
                                 "resubmit", e));
    } else {
      MK_TRY(ca_approved(ctx, db, &a, "ca_approve", e));
    }
    break;
  case MK_APP_EV_RESUBMIT:
    MK_ENSURE(rel & REL_APPLICANT, MK_EPERM, e, "only the applicant resubmits");
    MK_ENSURE(strcmp(a.state, MK_APP_CA_REJECTED) == 0, MK_ECONFLICT, e,
              "only a rejected application is resubmitted; this one is %s", a.state);
    if (changes != NULL) {
      MK_ENSURE(json_is_object(changes), MK_EINTERNAL, e, "changes are an object");
      MK_ENSURE(json_object_update(a.data, (json_t *)changes) == 0, MK_ENOMEM, e, "out of memory");
    }
    MK_TRY(attach(db, a.id, a.account_id, new_attachments, e));
    MK_TRY(ca_profile(db, a.ca_id, &prof, e));
    MK_TRY(check_required(db, a.id, a.kind, prof, field, e));
    MK_TRY(history(ctx, db, a.id, "resubmit", a.state, "resubmitted", NULL, e));
    MK_TRY(audit_app(ctx, db, &a, "application.resubmit", "resubmitted", NULL, e));
    snprintf(a.state, sizeof a.state, "resubmitted");
    MK_TRY(to_ca(ctx, db, &a, "forward_to_ca", NULL, e));
    break;
  case MK_APP_EV_CANCEL:
    MK_ENSURE(rel & REL_APPLICANT, MK_EPERM, e, "only the applicant withdraws an application");
    MK_ENSURE(strcmp(a.state, MK_APP_AWAITING_ADMIN) == 0 ||
                  strcmp(a.state, MK_APP_AWAITING_CA) == 0 ||
                  strcmp(a.state, MK_APP_CA_REJECTED) == 0,
              MK_ECONFLICT, e, "an application that is %s cannot be withdrawn", a.state);
    MK_TRY(history(ctx, db, a.id, "cancel", a.state, MK_APP_CANCELLED, NULL, e));
    MK_TRY(audit_app(ctx, db, &a, "application.cancel", MK_APP_CANCELLED, NULL, e));
    MK_TRY(set_state(ctx, db, &a, MK_APP_CANCELLED, NULL, NULL, e));
    if (k->on_closed != NULL) {
      mk_app_row r;
      app_row_of(&a, &r);
      MK_TRY(k->on_closed(ctx, db, &r, e));
    }
    break;
  default:
    MK_FAIL(MK_EINTERNAL, e, "unknown application event %d", event);
  }
out:
  json_decref(dec);
  json_decref(prof);
  app_clear(&a);
  return rc;
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* A copy of data for output: ID, card and phone numbers masked wherever a
 * kind keeps them (id_number, legal_id_number, card_number, admin_phone,
 * ...), whatever a resubmission put there. */
static int data_masked(const json_t *data, json_t **out, mk_err *e) {
  const char *k;
  json_t *v;
  char m[64];
  *out = json_deep_copy(data);
  if (*out == NULL)
    return mk_err_set(e, MK_ENOMEM, "out of memory");
  json_object_foreach(*out, k, v) {
    const char *s = json_string_value(v);
    if (s == NULL)
      continue;
    if (ends_with(k, "id_number"))
      mk_svc_mask_id_number(s, m, sizeof m);
    else if (ends_with(k, "card_number"))
      mk_svc_mask_card(s, m, sizeof m);
    else if (strcmp(k, "phone") == 0 || ends_with(k, "_phone") || strcmp(k, "mobile") == 0)
      mk_svc_mask_phone(s, m, sizeof m);
    else
      continue;
    if (json_string_set(v, m) != 0)
      return mk_err_set(e, MK_ENOMEM, "out of memory");
  }
  return 0;
}

static int get_json_col(mk_stmt *st, int col, json_t **out, mk_err *e) {
  const char *t = mk_stmt_text(st, col);
  if (t == NULL) {
    *out = json_null();
    return 0;
  }
  return mk_json_parse(t, strlen(t), 1u << 20, out, e);
}

int mk_svc_app_get_db(mk_svc_ctx *ctx, mk_db *db, const char *id, json_t **out, mk_err *e) {
  int rc = 0, row = 0;
  mk_stmt *st = NULL;
  app a = {0};
  json_t *o = NULL, *j = NULL;
  *out = NULL;
  rc = app_load(db, id, &a, e);
  MK_TRY(rc);
  MK_TRY(rc = relation(ctx, db, &a, e));
  MK_ENSURE(rc != 0, MK_ENOTFOUND, e, "no such application");
  rc = 0;
  const mk_app_kind *k = mk_svc_app_kind(a.kind);
  MK_TRY(mk_db_prepare(db,
                       "SELECT p.admin_decision, p.ca_decision, p.created_at, p.updated_at, "
                       "c.phone, i.name FROM application p JOIN account c ON c.id = p.account_id "
                       "LEFT JOIN identity i ON i.account_id = p.account_id WHERE p.id = $1",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(row = mk_stmt_step(st, e));
  MK_ENSURE(row, MK_ENOTFOUND, e, "no such application");
  char phone[32];
  mk_svc_mask_phone(mk_stmt_text(st, 4), phone, sizeof phone);
  MK_TRY(data_masked(a.data, &j, e));
  o = json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:s?,s:s},s:n,s:s?,s:s,s:o,s:s,s:s}", "id", a.id, "kind",
                a.kind, "title", k ? k->title : a.kind, "state", a.state, "applicant",
                "account_id", a.account_id, "name", mk_stmt_text(st, 5), "phone", phone,
                "enterprise", "platform_id", a.has_platform ? a.platform_id : NULL, "ca_id",
                a.ca_id, "data", j, "created_at", mk_stmt_text(st, 2), "updated_at",
                mk_stmt_text(st, 3));
  MK_ENSURE_ALLOC(o, e);
  if (a.years > 0)
    MK_ENSURE(json_object_set_new(o, "years", json_integer(a.years)) == 0, MK_ENOMEM, e, "oom");
  else
    MK_ENSURE(json_object_set_new(o, "years", json_null()) == 0, MK_ENOMEM, e, "oom");
  MK_TRY(get_json_col(st, 0, &j, e));
  MK_ENSURE(json_object_set_new(o, "admin_decision", j) == 0, MK_ENOMEM, e, "oom");
  MK_TRY(get_json_col(st, 1, &j, e));
  MK_ENSURE(json_object_set_new(o, "ca_decision", j) == 0, MK_ENOMEM, e, "oom");
  mk_stmt_finish(st);
  st = NULL;
  if (a.has_enterprise) {
    MK_TRY(mk_db_prepare(db, "SELECT name, uscc, state FROM enterprise WHERE id = $1", &st, e));
    MK_TRY(mk_stmt_bind_text(st, 1, a.enterprise_id, e));
    MK_TRY(row = mk_stmt_step(st, e));
    if (row) {
      j = json_pack("{s:s,s:s,s:s,s:s}", "id", a.enterprise_id, "name", mk_stmt_text(st, 0),
                    "uscc", mk_stmt_text(st, 1), "state", mk_stmt_text(st, 2));
      MK_ENSURE_ALLOC(j, e);
      MK_ENSURE(json_object_set_new(o, "enterprise", j) == 0, MK_ENOMEM, e, "oom");
    }
    mk_stmt_finish(st);
    st = NULL;
  }
  json_t *atts = json_array(), *hist = json_array();
  if (atts == NULL || hist == NULL || json_object_set_new(o, "attachments", atts) != 0 ||
      json_object_set_new(o, "history", hist) != 0) {
    json_decref(atts); /* at most one of them was not yet handed over */
    MK_FAIL(MK_ENOMEM, e, "out of memory");
  }
  MK_TRY(mk_db_prepare(db,
                       "SELECT x.attachment_id, x.role, a.media_type, a.size FROM "
                       "application_attachment x JOIN attachment a ON a.id = x.attachment_id "
                       "WHERE x.application_id = $1 ORDER BY x.role, x.attachment_id",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  while ((row = mk_stmt_step(st, e)) == 1) {
    j = json_pack("{s:s,s:s,s:s,s:I}", "id", mk_stmt_text(st, 0), "role", mk_stmt_text(st, 1),
                  "media_type", mk_stmt_text(st, 2), "size", (json_int_t)mk_stmt_int(st, 3));
    MK_ENSURE(j != NULL && json_array_append_new(atts, j) == 0, MK_ENOMEM, e, "oom");
  }
  MK_TRY(row);
  mk_stmt_finish(st);
  st = NULL;
  MK_TRY(mk_db_prepare(db,
                       "SELECT event, from_state, to_state, actor, reason, at FROM "
                       "application_event WHERE application_id = $1 ORDER BY seq",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  while ((row = mk_stmt_step(st, e)) == 1) {
    j = json_pack("{s:s,s:s?,s:s,s:s,s:s?,s:s}", "event", mk_stmt_text(st, 0), "from",
                  mk_stmt_text(st, 1), "to", mk_stmt_text(st, 2), "actor", mk_stmt_text(st, 3),
                  "reason", mk_stmt_text(st, 4), "at", mk_stmt_text(st, 5));
    MK_ENSURE(j != NULL && json_array_append_new(hist, j) == 0, MK_ENOMEM, e, "oom");
  }
  MK_TRY(row);
  *out = o;
  o = NULL;
out:
  mk_stmt_finish(st);
  json_decref(o);
  app_clear(&a);
  return rc;
}

int mk_svc_app_get(mk_svc_ctx *ctx, const char *id, json_t **out, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_svc_app_get_db(ctx, db, id, out, e));
out:
  mk_store_release(ctx->store, db);
  return rc;
}
