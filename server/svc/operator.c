/* Platform operators: the bearer token made at first start, and the check
 * every operator route runs. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "svc/svc.h"
#include "util/enc.h"
#include "util/file.h"
#include "util/guard.h"
#include "util/id.h"
#include "util/time.h"

#define TOKEN_BYTES 32
#define TOKEN_TEXT_MAX 64 /* base64url of 32 bytes is 43 characters */

static int token_hash(const char *token, char hex[65], mk_err *e) {
  unsigned char d[32];
  unsigned int n = 0;
  int rc = 0;
  MK_TRY_OSSL(EVP_Digest(token, strlen(token), d, &n, EVP_sha256(), NULL), e, "SHA-256");
  MK_TRY(mk_hex_encode(d, sizeof d, hex, 65, e));
  rc = 0;
out:
  return rc;
}

int mk_svc_operator_init(mk_svc_ctx *ctx, const char *data_dir, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  unsigned char raw[TOKEN_BYTES];
  char token[TOKEN_TEXT_MAX], hex[65], id[MK_ID_MAX], ts[MK_TIME_TEXT_MAX],
      path[4096 + 32];
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(mk_db_prepare(db, "SELECT 1 FROM operator_token", &st, e));
  int exists = 0;
  MK_TRY(exists = mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  if (exists) {
    mk_db_rollback(db);
    goto out;
  }
  MK_TRY_OSSL(RAND_priv_bytes(raw, sizeof raw), e, "operator token");
  MK_TRY(mk_base64url_encode(raw, sizeof raw, token, sizeof token, e));
  MK_TRY(token_hash(token, hex, e));
  MK_TRY(mk_id_new(id, "opt", e));
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_db_prepare(db,
                       "INSERT INTO operator_token(id, token_sha256, created_at) "
                       "VALUES ($1, $2, $3)",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, hex, e));
  MK_TRY(mk_stmt_bind_text(st, 3, ts, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  /* The file first, the row second: a crash in between leaves a token file
   * whose row is missing, and the next start makes a fresh pair. */
  int n = snprintf(path, sizeof path, "%s/admin.token", data_dir);
  MK_ENSURE(n > 0 && (size_t)n < sizeof path, MK_EINVAL, e, "data directory path too long");
  size_t len = strlen(token);
  token[len] = '\n';
  rc = mk_file_write_private(path, token, len + 1, 0, e);
  token[len] = '\0';
  MK_TRY(rc);
  MK_TRY(mk_db_commit(db, e));
out:
  OPENSSL_cleanse(raw, sizeof raw);
  OPENSSL_cleanse(token, sizeof token);
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  return rc;
}

int mk_svc_operator_check(mk_svc_ctx *ctx, const char *token, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  char hex[65];
  MK_ENSURE(token != NULL && *token != '\0' && strlen(token) < TOKEN_TEXT_MAX, MK_EAUTH, e,
            "an operator token is required");
  MK_TRY(token_hash(token, hex, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  /* The lookup is by hash of a 256-bit secret: timing of the index lookup
   * reveals nothing usable about the token itself. */
  MK_TRY(mk_db_prepare(db, "SELECT token_sha256 FROM operator_token WHERE token_sha256 = $1",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, hex, e));
  int found = 0;
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found == 1 && CRYPTO_memcmp(mk_stmt_text(st, 0), hex, 64) == 0, MK_EAUTH, e,
            "the operator token is not valid");
  ctx->caller.role = MK_ROLE_OPERATOR;
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  return rc;
}
