/*
 * Small facts every service asks about the caller: who acts, whether an
 * account is verified, what it is in an enterprise; and the masks that keep
 * ID, phone and card numbers out of responses.
 */
#include <string.h>

#include "svc/svc.h"
#include "util/guard.h"

const char *mk_svc_actor(const mk_svc_ctx *ctx) {
  switch (ctx->caller.role) {
  case MK_ROLE_ACCOUNT:
    return ctx->caller.account_id;
  case MK_ROLE_CA_OPERATOR:
    return ctx->caller.ca_operator_id;
  case MK_ROLE_OPERATOR:
    return "operator";
  default:
    return "anonymous";
  }
}

int mk_svc_need_account(const mk_svc_ctx *ctx, mk_err *e) {
  if (ctx->caller.role != MK_ROLE_ACCOUNT || ctx->caller.account_id[0] == '\0')
    return mk_err_set(e, MK_EAUTH, "log in first");
  return 0;
}

int mk_svc_identity_of(mk_db *db, const char *account_id, char *name, char *id_number,
                       mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  MK_TRY(mk_db_prepare(db, "SELECT name, id_number FROM identity WHERE account_id = $1", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, account_id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  if (found) {
    if (name != NULL)
      snprintf(name, 64, "%s", mk_stmt_text(st, 0));
    if (id_number != NULL)
      snprintf(id_number, 32, "%s", mk_stmt_text(st, 1));
  }
  rc = found;
out:
  mk_stmt_finish(st);
  return rc;
}

int mk_svc_member_role(mk_db *db, const char *enterprise_id, const char *account_id, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  if (enterprise_id == NULL || account_id == NULL || *account_id == '\0')
    return 0;
  MK_TRY(mk_db_prepare(db,
                       "SELECT role FROM membership WHERE enterprise_id = $1 AND account_id = $2 "
                       "AND state = 'active'",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, enterprise_id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, account_id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  rc = !found ? 0 : strcmp(mk_stmt_text(st, 0), "admin") == 0 ? 2 : 1;
out:
  mk_stmt_finish(st);
  return rc;
}

/* Keep the first head and last tail characters of v, star the rest. */
static void mask(const char *v, size_t head, size_t tail, char *out, size_t cap) {
  size_t n = v ? strlen(v) : 0, o = 0;
  if (cap == 0)
    return;
  if (n <= head + tail) { /* too short to show any part safely */
    for (size_t i = 0; i < n && o + 1 < cap; i++)
      out[o++] = '*';
    out[o] = '\0';
    return;
  }
  for (size_t i = 0; i < n && o + 1 < cap; i++)
    out[o++] = (i < head || i >= n - tail) ? v[i] : '*';
  out[o] = '\0';
}

void mk_svc_mask_id_number(const char *v, char *out, size_t cap) { mask(v, 6, 4, out, cap); }
void mk_svc_mask_phone(const char *v, char *out, size_t cap) { mask(v, 3, 4, out, cap); }
void mk_svc_mask_card(const char *v, char *out, size_t cap) { mask(v, 4, 4, out, cap); }
