/*
 * Attachments: licence photos, application forms, extra documents. Only PNG
 * and JPEG, sniffed from the bytes (the declared type must agree), at most
 * MK_ATTACHMENT_MAX bytes, stored in the database (DESIGN.md: files live in
 * the store with size and type limits).
 */
#include <openssl/evp.h>
#include <string.h>

#include "svc/svc.h"
#include "util/enc.h"
#include "util/guard.h"
#include "util/image.h"
#include "util/time.h"

int mk_svc_attachment_put(mk_svc_ctx *ctx, const char *declared, const unsigned char *data,
                          size_t len, json_t **out, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  char id[MK_ID_MAX], ts[MK_TIME_TEXT_MAX], hex[65];
  unsigned char d[32];
  unsigned dn = 0;
  *out = NULL;
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_ENSURE(len > 0, MK_EINVAL, e, "the upload is empty");
  MK_ENSURE(len <= MK_ATTACHMENT_MAX, MK_ETOOBIG, e, "an attachment is at most %d bytes",
            MK_ATTACHMENT_MAX);
  const char *type = mk_image_type(data, len);
  MK_ENSURE(type != NULL, MK_EINVAL, e, "an attachment is a PNG or JPEG image");
  MK_ENSURE(declared != NULL && strncmp(declared, type, strlen(type)) == 0 &&
                (declared[strlen(type)] == '\0' || declared[strlen(type)] == ';'),
            MK_EINVAL, e, "the Content-Type does not match the image (%s)", type);
  MK_TRY_OSSL(EVP_Digest(data, len, d, &dn, EVP_sha256(), NULL), e, "SHA-256");
  MK_TRY(mk_hex_encode(d, sizeof d, hex, sizeof hex, e));
  MK_TRY(mk_id_new(id, "att", e));
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(mk_db_prepare(db,
                       "INSERT INTO attachment(id, account_id, media_type, size, sha256, data, "
                       "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, ctx->caller.account_id, e));
  MK_TRY(mk_stmt_bind_text(st, 3, type, e));
  MK_TRY(mk_stmt_bind_int(st, 4, (int64_t)len, e));
  MK_TRY(mk_stmt_bind_text(st, 5, hex, e));
  MK_TRY(mk_stmt_bind_blob(st, 6, data, len, e));
  MK_TRY(mk_stmt_bind_text(st, 7, ts, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  json_t *detail = json_pack("{s:s,s:I}", "media_type", type, "size", (json_int_t)len);
  MK_ENSURE_ALLOC(detail, e);
  rc = mk_svc_audit(ctx, db, "attachment.upload", "attachment", id, ctx->caller.account_id, NULL,
                    detail, e);
  json_decref(detail);
  MK_TRY(rc);
  MK_TRY(mk_db_commit(db, e));
  *out = json_pack("{s:s,s:s,s:I,s:s}", "id", id, "media_type", type, "size", (json_int_t)len,
                   "sha256", hex);
  MK_ENSURE_ALLOC(*out, e);
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  return rc;
}

int mk_svc_attachment_get(mk_svc_ctx *ctx, const char *id, unsigned char **data, size_t *len,
                          char media_type[16], mk_err *e) {
  int rc = 0, found = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  *data = NULL;
  *len = 0;
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  /* Visible to its uploader, to an operator of the CA of an application
   * carrying it once the application reached the CA (as in application.c),
   * and to the admin of the enterprise of such an application of a kind the
   * admin decides (a join, a staff request). */
  MK_TRY(mk_db_prepare(
      db,
      "SELECT a.media_type, a.data FROM attachment a WHERE a.id = $1 AND ("
      " ($2 <> '' AND a.account_id = $2)"
      " OR EXISTS (SELECT 1 FROM application_attachment x JOIN application p"
      "   ON p.id = x.application_id WHERE x.attachment_id = a.id AND ("
      "   ($3 <> '' AND p.ca_id = $3 AND p.state NOT IN ('awaiting_admin', 'admin_rejected'))"
      "   OR ($2 <> '' AND p.kind IN " MK_APP_ADMIN_KINDS " AND EXISTS (SELECT 1 FROM membership m"
      "     WHERE m.enterprise_id = p.enterprise_id AND m.account_id = $2 AND m.role = 'admin'"
      "     AND m.state = 'active')))))",
      &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_text(
      st, 2, ctx->caller.role == MK_ROLE_ACCOUNT ? ctx->caller.account_id : "", e));
  MK_TRY(mk_stmt_bind_text(st, 3, ctx->caller.role == MK_ROLE_CA_OPERATOR ? ctx->caller.ca_id : "",
                           e));
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found, MK_ENOTFOUND, e, "no such attachment");
  size_t n = 0;
  const void *p = mk_stmt_blob(st, 1, &n);
  *data = malloc(n ? n : 1);
  MK_ENSURE_ALLOC(*data, e);
  memcpy(*data, p, n);
  *len = n;
  snprintf(media_type, 16, "%s", mk_stmt_text(st, 0));
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  return rc;
}
