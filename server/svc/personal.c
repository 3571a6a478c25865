/*
 * Personal certificate applications (自然人 / 申领个人证书): a verified
 * person picks platform, CA and validity and uploads the signed application
 * form; the CA reviews. The subject is the verified identity, never typed
 * again; the application's data shows it with the ID number masked (the CA
 * reads the full number from the identity record when it issues).
 */
#include <openssl/crypto.h>
#include <string.h>

#include "svc/org.h"
#include "util/guard.h"

int mk_svc_personal_apply(mk_svc_ctx *ctx, const json_t *body, json_t **out, char *field,
                          mk_err *e) {
  static const char *const allowed[] = {"platform_id", "ca_id", "years", "attachments", NULL};
  int rc = 0, live = 0;
  mk_db *db = NULL;
  json_t *data = NULL;
  org_atts atts = {0};
  const char *platform_id = NULL, *ca_id = NULL;
  int years = 0;
  char name[ORG_PERSON_MAX], idn[ORG_CODE_MAX], masked[ORG_CODE_MAX], id[MK_ID_MAX],
      other[MK_ID_MAX];
  *out = NULL;
  idn[0] = '\0';
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(org_need_verified(ctx, db, name, idn, e));
  MK_TRY(mk_json_only_keys(body, allowed, field, e));
  MK_TRY(org_get_cert_choice(body, 1, 1, &platform_id, &ca_id, &years, field, e));
  MK_TRY(org_atts_parse(body, "attachments", NULL, &atts, field, e));
  MK_TRY(live = org_live_app(db, "personal", ctx->caller.account_id, NULL, ca_id, NULL, other, e));
  MK_ENSURE(!live, MK_ECONFLICT, e,
            "you have a personal application with CA %s already (%s): wait for it or withdraw it",
            ca_id, other);
  mk_svc_mask_id_number(idn, masked, sizeof masked);
  data = json_pack("{s:s,s:s}", "name", name, "id_number", masked);
  MK_ENSURE_ALLOC(data, e);
  mk_app_new n = {.kind = "personal",
                  .account_id = ctx->caller.account_id,
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
  OPENSSL_cleanse(idn, sizeof idn);
  json_decref(data);
  mk_store_release(ctx->store, db);
  return rc;
}
