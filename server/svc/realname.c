/*
 * Real-name verification (实名认证): an account's identity is verified once
 * by CFCA, Alipay face or bank card four elements and stored; a later
 * re-verification (证书找回) must name the same person. Validators run
 * before any provider; every provider check is an attempt row, counted for
 * the per-account rate limit, and a transaction with its audit event
 * records the outcome. ID and card numbers leave only masked.
 *
 * Provider calls happen between transactions: an outside service is never
 * waited for while the database's write lock is held.
 */
#include <openssl/crypto.h>
#include <string.h>

#include "providers/realname.h"
#include "svc/svc.h"
#include "util/guard.h"
#include "util/json.h"
#include "util/time.h"
#include "util/validate.h"

#define PURPOSE_VERIFY "verify"
#define PURPOSE_REVERIFY "reverify"
#define PT_REFUSED "/problems/identity-refused"
#define PT_MISMATCH "/problems/identity-mismatch"

/* A request as read from the body, validated. */
typedef struct input {
  int method;
  const char *name;
  char id_number[20];     /* upper-case X; "" when not given (alipay) */
  const char *card_number;
  const char *card_phone;
  const char *face_id;    /* alipay */
} input;

static void set_field(char *field, const char *name) {
  if (field != NULL)
    snprintf(field, MK_JSON_FIELD_MAX, "%s", name);
}

/* The ID number as typed, with a lower-case check character folded
 * (validate.c leaves that to callers), then GB 11643. */
static int read_id_number(const json_t *body, int required, char out[20], char *field,
                          int64_t now, mk_err *e) {
  int rc = 0;
  const char *v = NULL;
  out[0] = '\0';
  MK_TRY(mk_json_get_str(body, "id_number", required, 32, &v, field, e));
  if (v == NULL)
    goto out;
  snprintf(out, 20, "%s", v);
  if (strlen(v) == 18 && out[17] == 'x')
    out[17] = 'X';
  rc = mk_valid_id_number_at(out, now, e);
  if (rc < 0)
    set_field(field, "id_number");
out:
  return rc;
}

static int read_input(mk_svc_ctx *ctx, const json_t *body, input *in, char *field, mk_err *e) {
  static const char *const allowed[] = {"method",      "name",       "id_number",
                                        "card_number", "card_phone", "face_session_id", NULL};
  int rc = 0;
  const char *m = NULL;
  memset(in, 0, sizeof *in);
  MK_TRY(mk_json_only_keys(body, allowed, field, e));
  MK_TRY(mk_json_get_str(body, "method", 1, 16, &m, field, e));
  in->method = mk_realname_method_parse(m);
  if (in->method < 0) {
    set_field(field, "method");
    MK_FAIL(MK_EINVAL, e, "method must be cfca, alipay or bankcard");
  }
  int alipay = in->method == MK_REALNAME_ALIPAY, card = in->method == MK_REALNAME_BANKCARD;
  MK_TRY(mk_json_get_str(body, "name", !alipay, 128, &in->name, field, e));
  if (in->name != NULL && (rc = mk_valid_person_name(in->name, e)) < 0) {
    set_field(field, "name");
    goto out;
  }
  MK_TRY(read_id_number(body, !alipay, in->id_number, field, ctx->now(), e));
  MK_TRY(mk_json_get_str(body, "card_number", card, 32, &in->card_number, field, e));
  MK_TRY(mk_json_get_str(body, "card_phone", card, 16, &in->card_phone, field, e));
  MK_TRY(mk_json_get_str(body, "face_session_id", alipay, MK_ID_MAX, &in->face_id, field, e));
  if (!card && (in->card_number != NULL || in->card_phone != NULL)) {
    set_field(field, in->card_number != NULL ? "card_number" : "card_phone");
    MK_FAIL(MK_EINVAL, e, "card_number and card_phone belong to the bankcard method");
  }
  if (!alipay && in->face_id != NULL) {
    set_field(field, "face_session_id");
    MK_FAIL(MK_EINVAL, e, "face_session_id belongs to the alipay method");
  }
  if (card) {
    if ((rc = mk_valid_bank_card(in->card_number, e)) < 0) {
      set_field(field, "card_number");
      goto out;
    }
    if ((rc = mk_valid_mobile(in->card_phone, e)) < 0) {
      set_field(field, "card_phone");
      goto out;
    }
  }
  if (alipay && mk_id_check(in->face_id, "fce", NULL) < 0) {
    set_field(field, "face_session_id");
    MK_FAIL(MK_EINVAL, e, "face_session_id is not a face session id (fce_…)");
  }
out:
  return rc;
}

/* Constant-time equality of two short strings (ID numbers, names): the
 * lengths are not secret, the content is. */
static int same(const char *a, const char *b) {
  size_t n = strlen(a);
  return n == strlen(b) && CRYPTO_memcmp(a, b, n) == 0;
}

/* In db's transaction: refuse past the rate limit, else record a pending
 * attempt; id receives its id. */
static int attempt_begin(mk_svc_ctx *ctx, mk_db *db, const char *purpose, int method,
                         char id[MK_ID_MAX], mk_err *e) {
  int rc = 0;
  mk_stmt *st = NULL;
  int64_t now = ctx->now();
  MK_TRY(mk_db_prepare(db, "SELECT COUNT(*) FROM identity_attempt WHERE account_id = $1 AND at > $2",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, ctx->caller.account_id, e));
  MK_TRY(mk_stmt_bind_int(st, 2, now - MK_REALNAME_ATTEMPT_WINDOW, e));
  MK_TRY(mk_stmt_step(st, e));
  MK_ENSURE(mk_stmt_int(st, 0) < MK_REALNAME_ATTEMPTS_MAX, MK_ERATE, e,
            "too many identity checks: at most %d an hour, try again later",
            MK_REALNAME_ATTEMPTS_MAX);
  mk_stmt_finish(st);
  st = NULL;
  MK_TRY(mk_id_new(id, "idv", e));
  MK_TRY(mk_db_prepare(db,
                       "INSERT INTO identity_attempt(id, account_id, purpose, method, outcome, at) "
                       "VALUES ($1, $2, $3, $4, 'pending', $5)",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, ctx->caller.account_id, e));
  MK_TRY(mk_stmt_bind_text(st, 3, purpose, e));
  MK_TRY(mk_stmt_bind_text(st, 4, mk_realname_method_name(method), e));
  MK_TRY(mk_stmt_bind_int(st, 5, now, e));
  MK_TRY(mk_stmt_step(st, e));
out:
  mk_stmt_finish(st);
  return rc;
}

static int attempt_end(mk_db *db, const char *id, const char *outcome, mk_err *e) {
  int rc = 0;
  mk_stmt *st = NULL;
  MK_TRY(mk_db_prepare(db, "UPDATE identity_attempt SET outcome = $1 WHERE id = $2", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, outcome, e));
  MK_TRY(mk_stmt_bind_text(st, 2, id, e));
  MK_TRY(mk_stmt_step(st, e));
out:
  mk_stmt_finish(st);
  return rc;
}

/* After a provider failure (unreachable, bad answer): mark the attempt
 * "error", best effort; the failure itself is what the caller reports. */
static void attempt_failed(mk_db *db, const char *id) {
  if (mk_db_begin(db, NULL) == 0 && attempt_end(db, id, "error", NULL) == 0 &&
      mk_db_commit(db, NULL) == 0)
    return;
  mk_db_rollback(db);
}

/* The stored identity of the caller: 1 found, 0 not. */
static int stored_identity(mk_db *db, const char *account_id, char name[64], char idn[32],
                           char method[16], char at[MK_TIME_TEXT_MAX], mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  MK_TRY(mk_db_prepare(
      db, "SELECT name, id_number, method, verified_at FROM identity WHERE account_id = $1", &st,
      e));
  MK_TRY(mk_stmt_bind_text(st, 1, account_id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  if (found) {
    snprintf(name, 64, "%s", mk_stmt_text(st, 0));
    snprintf(idn, 32, "%s", mk_stmt_text(st, 1));
    snprintf(method, 16, "%s", mk_stmt_text(st, 2));
    snprintf(at, MK_TIME_TEXT_MAX, "%s", mk_stmt_text(st, 3));
  }
  rc = found;
out:
  mk_stmt_finish(st);
  return rc;
}

static json_t *identity_json(const char *name, const char *idn, const char *method,
                             const char *at) {
  char masked[32];
  mk_svc_mask_id_number(idn, masked, sizeof masked);
  return json_pack("{s:s,s:s,s:s,s:s}", "name", name, "id_number", masked, "method", method,
                   "verified_at", at);
}

/* Audit detail: the method, the masked numbers, and the provider's reason. */
static json_t *audit_detail(const input *in, const char *idn, const char *reason) {
  char mid[32], mcard[40];
  mk_svc_mask_id_number(idn, mid, sizeof mid);
  json_t *d = json_pack("{s:s,s:s}", "method", mk_realname_method_name(in->method), "id_masked",
                        mid);
  if (d != NULL && in->card_number != NULL) {
    mk_svc_mask_card(in->card_number, mcard, sizeof mcard);
    if (json_object_set_new(d, "card_masked", json_string(mcard)) != 0) {
      json_decref(d);
      return NULL;
    }
  }
  if (d != NULL && reason != NULL && *reason != '\0' &&
      json_object_set_new(d, "reason", json_string(reason)) != 0) {
    json_decref(d);
    return NULL;
  }
  return d;
}

static int audit(mk_svc_ctx *ctx, mk_db *db, const char *action, const input *in,
                 const char *idn, const char *reason, mk_err *e) {
  json_t *d = audit_detail(in, idn, reason);
  if (d == NULL)
    return mk_err_set(e, MK_ENOMEM, "out of memory");
  int rc = mk_svc_audit(ctx, db, action, "identity", ctx->caller.account_id,
                        ctx->caller.account_id, NULL, d, e);
  json_decref(d);
  return rc;
}

/* ---- face sessions ---------------------------------------------------- */

typedef struct face {
  char name[136];
  char id_number[32];
  char ref[MK_REALNAME_REF_MAX];
  char url[MK_REALNAME_URL_MAX];
  char state[16];
  char sandbox[8]; /* "" when none recorded */
  int64_t expires_at;
} face;

static int face_load(mk_db *db, const char *id, const char *account_id, face *f, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  MK_TRY(mk_db_prepare(db,
                       "SELECT name, id_number, provider_ref, url, state, sandbox_outcome, "
                       "expires_at FROM face_session WHERE id = $1 AND account_id = $2",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, account_id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found, MK_ENOTFOUND, e, "no such face session");
  snprintf(f->name, sizeof f->name, "%s", mk_stmt_text(st, 0));
  snprintf(f->id_number, sizeof f->id_number, "%s", mk_stmt_text(st, 1));
  snprintf(f->ref, sizeof f->ref, "%s", mk_stmt_text(st, 2));
  snprintf(f->url, sizeof f->url, "%s", mk_stmt_text(st, 3));
  snprintf(f->state, sizeof f->state, "%s", mk_stmt_text(st, 4));
  snprintf(f->sandbox, sizeof f->sandbox, "%s",
           mk_stmt_is_null(st, 5) ? "" : mk_stmt_text(st, 5));
  f->expires_at = mk_stmt_int(st, 6);
out:
  mk_stmt_finish(st);
  return rc;
}

static int face_set_state(mk_db *db, const char *id, const char *state, mk_err *e) {
  int rc = 0;
  mk_stmt *st = NULL;
  MK_TRY(mk_db_prepare(db, "UPDATE face_session SET state = $1 WHERE id = $2", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, state, e));
  MK_TRY(mk_stmt_bind_text(st, 2, id, e));
  MK_TRY(mk_stmt_step(st, e));
out:
  mk_stmt_finish(st);
  return rc;
}

/* Ask the provider about a pending session (outside a transaction) and
 * record a final answer. f->state is updated. */
static int face_refresh(mk_svc_ctx *ctx, mk_db *db, const char *id, face *f, char *reason,
                        mk_err *e) {
  int rc = 0, verdict = MK_REALNAME_PENDING;
  mk_realname *p = NULL;
  if (strcmp(f->state, "pending") != 0 || f->expires_at <= ctx->now())
    return 0;
  MK_TRY(mk_realname_open(ctx->cfg, &p, e));
  MK_TRY(mk_realname_face_result(p, f->ref, f->sandbox[0] ? f->sandbox : NULL, &verdict, reason,
                                 e));
  if (verdict == MK_REALNAME_PENDING)
    goto out;
  const char *state = verdict == MK_REALNAME_MATCH ? "passed" : "failed";
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(face_set_state(db, id, state, e));
  MK_TRY(mk_db_commit(db, e));
  snprintf(f->state, sizeof f->state, "%s", state);
out:
  if (rc < 0)
    mk_db_rollback(db);
  mk_realname_free(p);
  return rc;
}

static json_t *face_json(mk_svc_ctx *ctx, const char *id, const face *f) {
  char exp[MK_TIME_TEXT_MAX];
  if (mk_time_format(f->expires_at, exp, NULL) < 0)
    return NULL;
  int live = strcmp(f->state, "pending") == 0 || strcmp(f->state, "passed") == 0;
  const char *state = live && f->expires_at <= ctx->now() ? "expired" : f->state;
  return json_pack("{s:s,s:s,s:s,s:s}", "face_session_id", id, "url", f->url, "state", state,
                   "expires_at", exp);
}

int mk_svc_realname_face_start(mk_svc_ctx *ctx, const json_t *body, json_t **out, char *field,
                               const char **problem_type, mk_err *e) {
  static const char *const allowed[] = {"name", "id_number", NULL};
  int rc = 0, verdict = MK_REALNAME_PENDING, in_tx = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  mk_realname *p = NULL;
  const char *name = NULL;
  char idn[20], aid[MK_ID_MAX], fid[MK_ID_MAX], reason[MK_REALNAME_REASON_MAX] = "";
  char ref[MK_REALNAME_REF_MAX], url[MK_REALNAME_URL_MAX], ts[MK_TIME_TEXT_MAX];
  input in = {.method = MK_REALNAME_ALIPAY};
  *out = NULL;
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(mk_json_only_keys(body, allowed, field, e));
  MK_TRY(mk_json_get_str(body, "name", 1, 128, &name, field, e));
  if ((rc = mk_valid_person_name(name, e)) < 0) {
    set_field(field, "name");
    goto out;
  }
  MK_TRY(read_id_number(body, 1, idn, field, ctx->now(), e));
  MK_TRY(mk_realname_open(ctx->cfg, &p, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  in_tx = 1;
  MK_TRY(attempt_begin(ctx, db, "face", MK_REALNAME_ALIPAY, aid, e));
  MK_TRY(mk_db_commit(db, e));
  in_tx = 0;

  MK_TRY(mk_id_new(fid, "fce", e));
  mk_realname_subject s = {.name = name, .id_number = idn};
  rc = mk_realname_face_start(p, &s, fid, &verdict, reason, ref, url, e);
  if (rc < 0) {
    attempt_failed(db, aid);
    goto out;
  }
  MK_TRY(mk_db_begin(db, e));
  in_tx = 1;
  MK_TRY(attempt_end(db, aid, verdict == MK_REALNAME_MISMATCH ? "mismatch" : "pending", e));
  if (verdict == MK_REALNAME_MISMATCH) {
    MK_TRY(audit(ctx, db, "identity.refused", &in, idn, reason, e));
    MK_TRY(mk_db_commit(db, e));
    in_tx = 0;
    if (problem_type != NULL)
      *problem_type = PT_REFUSED;
    MK_FAIL(MK_EPERM, e, "identity check refused: %s", reason);
  }
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_db_prepare(db,
                       "INSERT INTO face_session(id, account_id, name, id_number, provider_ref, "
                       "url, state, created_at, expires_at) "
                       "VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8)",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, fid, e));
  MK_TRY(mk_stmt_bind_text(st, 2, ctx->caller.account_id, e));
  MK_TRY(mk_stmt_bind_text(st, 3, name, e));
  MK_TRY(mk_stmt_bind_text(st, 4, idn, e));
  MK_TRY(mk_stmt_bind_text(st, 5, ref, e));
  MK_TRY(mk_stmt_bind_text(st, 6, url, e));
  MK_TRY(mk_stmt_bind_text(st, 7, ts, e));
  MK_TRY(mk_stmt_bind_int(st, 8, ctx->now() + MK_FACE_SESSION_TTL, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  json_t *d = json_pack("{s:s}", "method", "alipay");
  MK_ENSURE_ALLOC(d, e);
  rc = mk_svc_audit(ctx, db, "identity.face_start", "face_session", fid, ctx->caller.account_id,
                    NULL, d, e);
  json_decref(d);
  MK_TRY(rc);
  MK_TRY(mk_db_commit(db, e));
  in_tx = 0;
  face f = {.expires_at = ctx->now() + MK_FACE_SESSION_TTL};
  snprintf(f.url, sizeof f.url, "%s", url);
  snprintf(f.state, sizeof f.state, "pending");
  *out = face_json(ctx, fid, &f);
  MK_ENSURE_ALLOC(*out, e);
out:
  mk_stmt_finish(st);
  if (in_tx)
    mk_db_rollback(db);
  mk_store_release(ctx->store, db);
  mk_realname_free(p);
  return rc;
}

int mk_svc_realname_face_get(mk_svc_ctx *ctx, const char *id, json_t **out, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  face f;
  char reason[MK_REALNAME_REASON_MAX] = "";
  *out = NULL;
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_ENSURE(mk_id_check(id, "fce", NULL) == 0, MK_ENOTFOUND, e, "no such face session");
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(face_load(db, id, ctx->caller.account_id, &f, e));
  MK_TRY(face_refresh(ctx, db, id, &f, reason, e));
  *out = face_json(ctx, id, &f);
  MK_ENSURE_ALLOC(*out, e);
  if (reason[0] != '\0' && json_object_set_new(*out, "reason", json_string(reason)) != 0)
    MK_FAIL(MK_ENOMEM, e, "out of memory");
out:
  mk_store_release(ctx->store, db);
  return rc;
}

int mk_svc_realname_face_sandbox(mk_svc_ctx *ctx, const char *id, const json_t *body, json_t **out,
                                 char *field, mk_err *e) {
  static const char *const allowed[] = {"outcome", NULL};
  int rc = 0, found = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  const char *outcome = NULL;
  *out = NULL;
  /* Outside sandbox mode this route does not exist. */
  MK_ENSURE(ctx->cfg->sandbox, MK_ENOTFOUND, e, "no such resource");
  MK_ENSURE(mk_id_check(id, "fce", NULL) == 0, MK_ENOTFOUND, e, "no such face session");
  MK_TRY(mk_json_only_keys(body, allowed, field, e));
  MK_TRY(mk_json_get_str(body, "outcome", 1, 8, &outcome, field, e));
  if (strcmp(outcome, "pass") != 0 && strcmp(outcome, "fail") != 0) {
    set_field(field, "outcome");
    MK_FAIL(MK_EINVAL, e, "outcome must be pass or fail");
  }
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(mk_db_prepare(db,
                       "UPDATE face_session SET sandbox_outcome = $1 WHERE id = $2 AND "
                       "state = 'pending' AND sandbox_outcome IS NULL AND expires_at > $3 "
                       "RETURNING account_id",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, outcome, e));
  MK_TRY(mk_stmt_bind_text(st, 2, id, e));
  MK_TRY(mk_stmt_bind_int(st, 3, ctx->now(), e));
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found, MK_ECONFLICT, e, "no pending face session %s (unknown, finished or expired)",
            id);
  char account[MK_ID_MAX];
  snprintf(account, sizeof account, "%s", mk_stmt_text(st, 0));
  mk_stmt_finish(st);
  st = NULL;
  json_t *d = json_pack("{s:s}", "outcome", outcome);
  MK_ENSURE_ALLOC(d, e);
  rc = mk_svc_audit(ctx, db, "identity.face_sandbox", "face_session", id, account, NULL, d, e);
  json_decref(d);
  MK_TRY(rc);
  MK_TRY(mk_db_commit(db, e));
  *out = json_pack("{s:s,s:s}", "face_session_id", id, "outcome", outcome);
  MK_ENSURE_ALLOC(*out, e);
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  return rc;
}

/* ---- verification and re-verification --------------------------------- */

/*
 * The provider check of in for purpose, shared by verify and reverify. For
 * alipay the face session supplies name and ID number (given ones must
 * match) and its result is the check; it was counted when it started. On
 * return *verdict is MATCH or MISMATCH (reason), in->name/id_number are the
 * checked ones (pointing into f for alipay), and aid the attempt row
 * ("" for alipay).
 */
static int provider_check(mk_svc_ctx *ctx, mk_db *db, const char *purpose, input *in, face *f,
                          int *verdict, char reason[MK_REALNAME_REASON_MAX], char aid[MK_ID_MAX],
                          char *field, mk_err *e) {
  int rc = 0, in_tx = 0;
  mk_realname *p = NULL;
  aid[0] = '\0';
  reason[0] = '\0';
  if (in->method == MK_REALNAME_ALIPAY) {
    rc = face_load(db, in->face_id, ctx->caller.account_id, f, e);
    if (rc == MK_ENOTFOUND) {
      set_field(field, "face_session_id");
      MK_FAIL(MK_EINVAL, e, "no such face session");
    }
    MK_TRY(rc);
    MK_ENSURE(strcmp(f->state, "used") != 0, MK_EEXPIRED, e, "the face session was used already");
    MK_ENSURE(f->expires_at > ctx->now(), MK_EEXPIRED, e,
              "the face session expired: start a new one");
    if ((in->name != NULL && !same(in->name, f->name)) ||
        (in->id_number[0] != '\0' && !same(in->id_number, f->id_number))) {
      set_field(field, in->name != NULL && !same(in->name, f->name) ? "name" : "id_number");
      MK_FAIL(MK_EINVAL, e, "the face session was started for another name or ID number");
    }
    in->name = f->name;
    snprintf(in->id_number, sizeof in->id_number, "%.18s", f->id_number);
    MK_TRY(face_refresh(ctx, db, in->face_id, f, reason, e));
    MK_ENSURE(strcmp(f->state, "pending") != 0, MK_ECONFLICT, e,
              "the face check is not finished: complete it in Alipay, then try again");
    *verdict = strcmp(f->state, "passed") == 0 ? MK_REALNAME_MATCH : MK_REALNAME_MISMATCH;
    if (*verdict == MK_REALNAME_MISMATCH && reason[0] == '\0')
      snprintf(reason, MK_REALNAME_REASON_MAX, "人脸比对不通过");
    goto out;
  }
  MK_TRY(mk_realname_open(ctx->cfg, &p, e));
  MK_TRY(mk_db_begin(db, e));
  in_tx = 1;
  MK_TRY(attempt_begin(ctx, db, purpose, in->method, aid, e));
  MK_TRY(mk_db_commit(db, e));
  in_tx = 0;
  mk_realname_subject s = {.name = in->name,
                           .id_number = in->id_number,
                           .card_number = in->card_number,
                           .card_phone = in->card_phone};
  rc = mk_realname_check(p, in->method, &s, verdict, reason, e);
  if (rc < 0)
    attempt_failed(db, aid);
out:
  if (in_tx)
    mk_db_rollback(db);
  mk_realname_free(p);
  return rc;
}

int mk_svc_realname_verify(mk_svc_ctx *ctx, const json_t *body, json_t **out, char *field,
                           const char **problem_type, mk_err *e) {
  int rc = 0, in_tx = 0, found = 0, verdict = MK_REALNAME_MISMATCH;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  input in;
  face f;
  char aid[MK_ID_MAX], reason[MK_REALNAME_REASON_MAX], ts[MK_TIME_TEXT_MAX];
  char sn[64], sid[32], sm[16], sat[MK_TIME_TEXT_MAX];
  *out = NULL;
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(read_input(ctx, body, &in, field, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(found = stored_identity(db, ctx->caller.account_id, sn, sid, sm, sat, e));
  MK_ENSURE(!found, MK_ECONFLICT, e,
            "this account is verified already; a new check goes to /v1/me/identity/verifications");
  MK_TRY(provider_check(ctx, db, PURPOSE_VERIFY, &in, &f, &verdict, reason, aid, field, e));

  MK_TRY(mk_db_begin(db, e));
  in_tx = 1;
  if (aid[0] != '\0')
    MK_TRY(attempt_end(db, aid, verdict == MK_REALNAME_MATCH ? "match" : "mismatch", e));
  if (verdict != MK_REALNAME_MATCH) {
    MK_TRY(audit(ctx, db, "identity.refused", &in, in.id_number, reason, e));
    MK_TRY(mk_db_commit(db, e));
    in_tx = 0;
    if (problem_type != NULL)
      *problem_type = PT_REFUSED;
    MK_FAIL(MK_EPERM, e, "identity check refused: %s", reason);
  }
  /* After the provider, so only someone holding a matching name and ID
   * number learns that the number is taken. */
  MK_TRY(found = stored_identity(db, ctx->caller.account_id, sn, sid, sm, sat, e));
  MK_ENSURE(!found, MK_ECONFLICT, e, "this account is verified already");
  MK_TRY(mk_db_prepare(db, "SELECT 1 FROM identity WHERE id_number = $1", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, in.id_number, e));
  MK_TRY(found = mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  if (found) {
    set_field(field, "id_number");
    MK_TRY(audit(ctx, db, "identity.duplicate", &in, in.id_number, "ID number on another account",
                 e));
    MK_TRY(mk_db_commit(db, e));
    in_tx = 0;
    MK_FAIL(MK_ECONFLICT, e, "this ID number is verified on another account");
  }
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_db_prepare(db,
                       "INSERT INTO identity(account_id, name, id_number, method, verified_at) "
                       "VALUES ($1, $2, $3, $4, $5)",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, ctx->caller.account_id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, in.name, e));
  MK_TRY(mk_stmt_bind_text(st, 3, in.id_number, e));
  MK_TRY(mk_stmt_bind_text(st, 4, mk_realname_method_name(in.method), e));
  MK_TRY(mk_stmt_bind_text(st, 5, ts, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  if (in.method == MK_REALNAME_ALIPAY)
    MK_TRY(face_set_state(db, in.face_id, "used", e));
  MK_TRY(audit(ctx, db, "identity.verify", &in, in.id_number, NULL, e));
  MK_TRY(mk_db_commit(db, e));
  in_tx = 0;
  *out = identity_json(in.name, in.id_number, mk_realname_method_name(in.method), ts);
  MK_ENSURE_ALLOC(*out, e);
out:
  mk_stmt_finish(st);
  if (in_tx)
    mk_db_rollback(db);
  mk_store_release(ctx->store, db);
  OPENSSL_cleanse(in.id_number, sizeof in.id_number);
  OPENSSL_cleanse(sid, sizeof sid);
  return rc;
}

int mk_svc_realname_get(mk_svc_ctx *ctx, json_t **out, mk_err *e) {
  int rc = 0, found = 0;
  mk_db *db = NULL;
  char sn[64], sid[32] = "", sm[16], sat[MK_TIME_TEXT_MAX];
  *out = NULL;
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(found = stored_identity(db, ctx->caller.account_id, sn, sid, sm, sat, e));
  MK_ENSURE(found, MK_ENOTFOUND, e, "this account is not verified yet");
  *out = identity_json(sn, sid, sm, sat);
  MK_ENSURE_ALLOC(*out, e);
out:
  mk_store_release(ctx->store, db);
  OPENSSL_cleanse(sid, sizeof sid);
  return rc;
}

int mk_svc_realname_reverify(mk_svc_ctx *ctx, const json_t *body, json_t **out, char *field,
                             const char **problem_type, mk_err *e) {
  int rc = 0, in_tx = 0, found = 0, verdict = MK_REALNAME_MISMATCH;
  mk_db *db = NULL;
  input in;
  face f;
  char aid[MK_ID_MAX] = "", reason[MK_REALNAME_REASON_MAX], ts[MK_TIME_TEXT_MAX];
  char sn[64], sid[32] = "", sm[16], sat[MK_TIME_TEXT_MAX];
  *out = NULL;
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(read_input(ctx, body, &in, field, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(found = stored_identity(db, ctx->caller.account_id, sn, sid, sm, sat, e));
  MK_ENSURE(found, MK_ECONFLICT, e, "this account was never verified: verify it first");
  if (in.method != MK_REALNAME_ALIPAY && !(same(in.name, sn) && same(in.id_number, sid))) {
    /* Counted like a provider check: guessing the stored identity is what
     * the limit is for. */
    MK_TRY(mk_db_begin(db, e));
    in_tx = 1;
    MK_TRY(attempt_begin(ctx, db, PURPOSE_REVERIFY, in.method, aid, e));
    MK_TRY(attempt_end(db, aid, "mismatch", e));
    MK_TRY(audit(ctx, db, "identity.reverify_mismatch", &in, in.id_number, NULL, e));
    MK_TRY(mk_db_commit(db, e));
    in_tx = 0;
    if (problem_type != NULL)
      *problem_type = PT_MISMATCH;
    MK_FAIL(MK_EPERM, e, "the name and ID number differ from the account's verified identity");
  }
  MK_TRY(provider_check(ctx, db, PURPOSE_REVERIFY, &in, &f, &verdict, reason, aid, field, e));
  MK_TRY(mk_db_begin(db, e));
  in_tx = 1;
  if (in.method == MK_REALNAME_ALIPAY) {
    /* The face session's person must be the stored one too. */
    if (!(same(in.name, sn) && same(in.id_number, sid))) {
      MK_TRY(face_set_state(db, in.face_id, "used", e));
      MK_TRY(audit(ctx, db, "identity.reverify_mismatch", &in, in.id_number, NULL, e));
      MK_TRY(mk_db_commit(db, e));
      in_tx = 0;
      if (problem_type != NULL)
        *problem_type = PT_MISMATCH;
      MK_FAIL(MK_EPERM, e, "the name and ID number differ from the account's verified identity");
    }
    /* A record of this re-verification for recovery to consume. */
    if (verdict == MK_REALNAME_MATCH) {
      mk_stmt *st = NULL;
      MK_TRY(mk_id_new(aid, "idv", e));
      rc = mk_db_prepare(db,
                         "INSERT INTO identity_attempt(id, account_id, purpose, method, outcome, "
                         "at) VALUES ($1, $2, 'reverify', 'alipay', 'pending', $3)",
                         &st, e);
      if (rc == 0)
        rc = mk_stmt_bind_text(st, 1, aid, e);
      if (rc == 0)
        rc = mk_stmt_bind_text(st, 2, ctx->caller.account_id, e);
      if (rc == 0)
        rc = mk_stmt_bind_int(st, 3, ctx->now(), e);
      if (rc == 0)
        rc = mk_stmt_step(st, e);
      mk_stmt_finish(st);
      MK_TRY(rc);
      MK_TRY(face_set_state(db, in.face_id, "used", e));
    }
  }
  if (aid[0] != '\0')
    MK_TRY(attempt_end(db, aid, verdict == MK_REALNAME_MATCH ? "match" : "mismatch", e));
  if (verdict != MK_REALNAME_MATCH) {
    MK_TRY(audit(ctx, db, "identity.reverify_refused", &in, in.id_number, reason, e));
    MK_TRY(mk_db_commit(db, e));
    in_tx = 0;
    if (problem_type != NULL)
      *problem_type = PT_REFUSED;
    MK_FAIL(MK_EPERM, e, "identity check refused: %s", reason);
  }
  MK_TRY(audit(ctx, db, "identity.reverify", &in, in.id_number, NULL, e));
  MK_TRY(mk_db_commit(db, e));
  in_tx = 0;
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  *out = json_pack("{s:s,s:b,s:s,s:s}", "verification_id", aid, "match", 1, "method",
                   mk_realname_method_name(in.method), "verified_at", ts);
  MK_ENSURE_ALLOC(*out, e);
out:
  if (in_tx)
    mk_db_rollback(db);
  mk_store_release(ctx->store, db);
  OPENSSL_cleanse(in.id_number, sizeof in.id_number);
  OPENSSL_cleanse(sid, sizeof sid);
  return rc;
}

int mk_svc_realname_consume(mk_svc_ctx *ctx, mk_db *db, const char *verification_id,
                            int64_t max_age, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  char ts[MK_TIME_TEXT_MAX];
  MK_ENSURE(mk_db_in_tx(db), MK_EINTERNAL, e, "consume a verification inside a transaction");
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_ENSURE(verification_id != NULL && mk_id_check(verification_id, "idv", NULL) == 0, MK_EPERM, e,
            "a re-verification of your identity is required");
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_db_prepare(db,
                       "UPDATE identity_attempt SET used_at = $1 WHERE id = $2 AND account_id = $3 "
                       "AND purpose = 'reverify' AND outcome = 'match' AND used_at IS NULL AND "
                       "at >= $4 RETURNING id",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, ts, e));
  MK_TRY(mk_stmt_bind_text(st, 2, verification_id, e));
  MK_TRY(mk_stmt_bind_text(st, 3, ctx->caller.account_id, e));
  MK_TRY(mk_stmt_bind_int(st, 4, ctx->now() - max_age, e));
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found, MK_EPERM, e,
            "the identity re-verification is unknown, used or too old: verify again");
out:
  mk_stmt_finish(st);
  return rc;
}
