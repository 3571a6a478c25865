/*
 * Audit events in a hash chain. Each event's hash is SHA-256 over the
 * previous hash and the event's fields, each as a 4-byte big-endian length
 * then its bytes, in the order of FIELDS below, so no two different events
 * hash the same way. The chain is appended inside the transaction of the
 * change it records: a change without its event cannot be committed, and the
 * write lock of the transaction orders the sequence numbers.
 */
#include <openssl/evp.h>
#include <string.h>

#include "svc/svc.h"
#include "util/enc.h"
#include "util/guard.h"
#include "util/time.h"

enum { F_SEQ, F_ID, F_AT, F_ACTOR, F_ACTION, F_OTYPE, F_OID, F_ACC, F_ENT, F_REMOTE, F_REQ,
       F_DETAIL, F_COUNT };

static int chain_hash(const char *prev, const char *const f[F_COUNT], char out[65], mk_err *e) {
  int rc = 0;
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  unsigned char d[32];
  unsigned n = 0;
  MK_ENSURE_ALLOC(md, e);
  MK_TRY_OSSL(EVP_DigestInit_ex(md, EVP_sha256(), NULL), e, "SHA-256");
  for (int i = -1; i < F_COUNT; i++) {
    const char *v = i < 0 ? prev : (f[i] ? f[i] : "");
    size_t len = strlen(v);
    unsigned char be[4] = {(unsigned char)(len >> 24), (unsigned char)(len >> 16),
                           (unsigned char)(len >> 8), (unsigned char)len};
    MK_TRY_OSSL(EVP_DigestUpdate(md, be, 4), e, "SHA-256");
    MK_TRY_OSSL(EVP_DigestUpdate(md, v, len), e, "SHA-256");
  }
  MK_TRY_OSSL(EVP_DigestFinal_ex(md, d, &n), e, "SHA-256");
  MK_TRY(mk_hex_encode(d, sizeof d, out, 65, e));
out:
  EVP_MD_CTX_free(md);
  return rc;
}

static const char zero_hash[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

int mk_svc_audit(mk_svc_ctx *ctx, mk_db *db, const char *action, const char *object_type,
                 const char *object_id, const char *account_id, const char *enterprise_id,
                 const json_t *detail, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  char *detail_text = NULL, id[MK_ID_MAX], ts[MK_TIME_TEXT_MAX], prev[65], hash[65],
       seqtext[24];
  int64_t seq = 1;
  MK_ENSURE(mk_db_in_tx(db), MK_EINTERNAL, e, "audit events are written inside a transaction");
  detail_text = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
  MK_ENSURE_ALLOC(detail_text, e);
  MK_TRY(mk_db_prepare(db, "SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1", &st, e));
  MK_TRY(found = mk_stmt_step(st, e));
  if (found) {
    seq = mk_stmt_int(st, 0) + 1;
    snprintf(prev, sizeof prev, "%s", mk_stmt_text(st, 1));
  } else {
    memcpy(prev, zero_hash, sizeof zero_hash);
  }
  mk_stmt_finish(st);
  st = NULL;
  MK_TRY(mk_id_new(id, "aud", e));
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  snprintf(seqtext, sizeof seqtext, "%lld", (long long)seq);
  const char *f[F_COUNT] = {seqtext,
                            id,
                            ts,
                            mk_svc_actor(ctx),
                            action,
                            object_type,
                            object_id,
                            account_id,
                            enterprise_id,
                            ctx->caller.remote ? ctx->caller.remote : "",
                            ctx->caller.request_id ? ctx->caller.request_id : "",
                            detail_text};
  MK_TRY(chain_hash(prev, f, hash, e));
  MK_TRY(mk_db_prepare(db,
                       "INSERT INTO audit_event(seq, id, at, actor, action, object_type, "
                       "object_id, account_id, enterprise_id, remote, request_id, detail, "
                       "prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
                       "$12, $13, $14)",
                       &st, e));
  MK_TRY(mk_stmt_bind_int(st, 1, seq, e));
  for (int i = F_ID; i < F_COUNT; i++) {
    const char *v = f[i];
    if ((i == F_ACC || i == F_ENT) && (v == NULL || *v == '\0'))
      v = NULL;
    else if (v == NULL)
      v = "";
    MK_TRY(mk_stmt_bind_text(st, i + 1, v, e));
  }
  MK_TRY(mk_stmt_bind_text(st, 13, prev, e));
  MK_TRY(mk_stmt_bind_text(st, 14, hash, e));
  MK_TRY(mk_stmt_step(st, e));
out:
  mk_stmt_finish(st);
  free(detail_text);
  return rc;
}

int mk_svc_audit_verify(mk_svc_ctx *ctx, int64_t *count, mk_err *e) {
  int rc = 0, row = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  char prev[65], hash[65], seqtext[24];
  int64_t want = 1;
  memcpy(prev, zero_hash, sizeof zero_hash);
  *count = 0;
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_prepare(db,
                       "SELECT seq, id, at, actor, action, object_type, object_id, account_id, "
                       "enterprise_id, remote, request_id, detail, prev_hash, hash "
                       "FROM audit_event ORDER BY seq",
                       &st, e));
  while ((row = mk_stmt_step(st, e)) == 1) {
    int64_t seq = mk_stmt_int(st, 0);
    MK_ENSURE(seq == want, MK_ECRYPTO, e, "audit chain: event %lld is missing", (long long)want);
    snprintf(seqtext, sizeof seqtext, "%lld", (long long)seq);
    const char *f[F_COUNT];
    f[F_SEQ] = seqtext;
    for (int i = F_ID; i < F_COUNT; i++)
      f[i] = mk_stmt_text(st, i);
    MK_ENSURE(strcmp(mk_stmt_text(st, 12), prev) == 0, MK_ECRYPTO, e,
              "audit chain: event %lld does not follow its predecessor", (long long)seq);
    MK_TRY(chain_hash(prev, f, hash, e));
    MK_ENSURE(strcmp(mk_stmt_text(st, 13), hash) == 0, MK_ECRYPTO, e,
              "audit chain: event %lld was altered", (long long)seq);
    memcpy(prev, hash, sizeof hash);
    want++;
  }
  MK_TRY(row);
  *count = want - 1;
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  return rc;
}
