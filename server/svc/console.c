/*
 * The CA web console's sessions (docs/console.md): CA operator logins with
 * a cookie and a CSRF token, bounded against password guessing; who is
 * logged in; a fresh CSRF token for a page that lost its copy.
 *
 * Failed logins are counted per username and per client address in this
 * process's memory, in fixed windows of MK_CONSOLE_FAIL_WINDOW seconds. An
 * attempt counts before its password is checked, so parallel guesses cannot
 * pass the bound; a success takes its attempt back and clears its
 * username's count (not its address's: one known account must not reset
 * the bound on guessing others from that address).
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

#include "svc/svc.h"
#include "util/enc.h"
#include "util/guard.h"
#include "util/log.h"
#include "util/time.h"

#define SLOTS 512
#define KEY_MAX 72

struct slot {
  char key[KEY_MAX]; /* username or address; "" when free */
  int64_t first;     /* start of the window */
  int n;             /* attempts counted in it */
};

static struct limiter {
  pthread_mutex_t mu;
  struct slot users[SLOTS];
  struct slot remotes[SLOTS];
} lim = {.mu = PTHREAD_MUTEX_INITIALIZER};

void mk_svc_console_limits_reset(void) {
  pthread_mutex_lock(&lim.mu);
  memset(lim.users, 0, sizeof lim.users);
  memset(lim.remotes, 0, sizeof lim.remotes);
  pthread_mutex_unlock(&lim.mu);
}

/* The live slot of key in table, or NULL; slots whose window has passed
 * are freed on the way. Called with the mutex held. */
static struct slot *slot_find(struct slot *table, const char *key, int64_t now) {
  struct slot *found = NULL;
  for (size_t i = 0; i < SLOTS; i++) {
    struct slot *s = &table[i];
    if (s->key[0] != '\0' && now - s->first >= MK_CONSOLE_FAIL_WINDOW)
      memset(s, 0, sizeof *s);
    if (found == NULL && s->key[0] != '\0' && strcmp(s->key, key) == 0)
      found = s;
  }
  return found;
}

/* The slot of key, made when missing: a free slot, else the one whose
 * window started first (the table stays bounded; a flood of new keys
 * forgets the oldest counts first). Called with the mutex held. */
static struct slot *slot_get(struct slot *table, const char *key, int64_t now) {
  struct slot *s = slot_find(table, key, now);
  if (s != NULL)
    return s;
  for (size_t i = 0; i < SLOTS; i++) {
    if (table[i].key[0] == '\0') {
      s = &table[i];
      break;
    }
    if (s == NULL || table[i].first < s->first)
      s = &table[i];
  }
  memset(s, 0, sizeof *s);
  snprintf(s->key, sizeof s->key, "%s", key);
  s->first = now;
  return s;
}

/* Count an attempt, or refuse it with the seconds until its window ends.
 * A refused attempt makes no slot, so refusals cannot flush the tables. */
static int attempt_begin(const char *username, const char *remote, int64_t now,
                         int64_t *retry_after) {
  pthread_mutex_lock(&lim.mu);
  struct slot *u = slot_find(lim.users, username, now);
  struct slot *r = slot_find(lim.remotes, remote, now);
  int64_t wait = 0;
  if (u != NULL && u->n >= MK_CONSOLE_FAIL_MAX_USER)
    wait = u->first + MK_CONSOLE_FAIL_WINDOW - now;
  if (r != NULL && r->n >= MK_CONSOLE_FAIL_MAX_REMOTE &&
      r->first + MK_CONSOLE_FAIL_WINDOW - now > wait)
    wait = r->first + MK_CONSOLE_FAIL_WINDOW - now;
  if (wait == 0) {
    slot_get(lim.users, username, now)->n++;
    slot_get(lim.remotes, remote, now)->n++;
  }
  pthread_mutex_unlock(&lim.mu);
  *retry_after = wait;
  return wait > 0 ? MK_ERATE : 0;
}

/* Take back an attempt that did not fail on its password; on success also
 * clear the username's count. */
static void attempt_undo(const char *username, const char *remote, int64_t now, int success) {
  pthread_mutex_lock(&lim.mu);
  struct slot *u = slot_find(lim.users, username, now);
  struct slot *r = slot_find(lim.remotes, remote, now);
  if (u != NULL && success)
    memset(u, 0, sizeof *u);
  else if (u != NULL && u->n > 0)
    u->n--;
  if (r != NULL && r->n > 0)
    r->n--;
  pthread_mutex_unlock(&lim.mu);
}

int mk_svc_console_login(mk_svc_ctx *ctx, const char *username, const char *password,
                         char token[MK_SESSION_TOKEN_MAX], char csrf[MK_SESSION_TOKEN_MAX],
                         json_t **out, int64_t *retry_after, mk_err *e) {
  char user[KEY_MAX], remote[KEY_MAX];
  int64_t now = ctx->now();
  *out = NULL;
  *retry_after = 0;
  /* The username as typed, cut to fit: anything longer is no username. */
  snprintf(user, sizeof user, "%s", username ? username : "");
  snprintf(remote, sizeof remote, "%s",
           ctx->caller.remote && *ctx->caller.remote ? ctx->caller.remote : "-");
  if (attempt_begin(user, remote, now, retry_after) < 0) {
    char clean[KEY_MAX * 3];
    mk_log(MK_LOG_WARN, "console.login_limited", "{s:s,s:I}", "remote",
           mk_log_clean(remote, clean, sizeof clean), "retry_after", (json_int_t)*retry_after);
    return mk_err_set(e, MK_ERATE, "too many failed logins; try again in %lld minutes",
                      (long long)((*retry_after + 59) / 60));
  }
  int rc = mk_svc_ca_operator_login(ctx, MK_SESSION_CONSOLE, username, password, token, csrf,
                                    out, e);
  if (rc == MK_EAUTH) {
    char clean[KEY_MAX * 3];
    mk_log(MK_LOG_INFO, "console.login_failed", "{s:s}", "remote",
           mk_log_clean(remote, clean, sizeof clean));
  } else {
    attempt_undo(user, remote, now, rc == 0);
  }
  return rc;
}

int mk_svc_console_session(mk_svc_ctx *ctx, json_t **out, mk_err *e) {
  int rc = 0, found = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  char exp[MK_TIME_TEXT_MAX];
  *out = NULL;
  MK_ENSURE(ctx->caller.role == MK_ROLE_CA_OPERATOR && ctx->caller.session_id[0] != '\0',
            MK_EAUTH, e, "log in to the console first");
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_prepare(db,
                       "SELECT o.username, o.ca_id, c.name, s.expires_at, s.kind "
                       "FROM session s JOIN ca_operator o ON o.id = s.ca_operator_id "
                       "JOIN ca c ON c.id = o.ca_id WHERE s.id = $1",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, ctx->caller.session_id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found, MK_EAUTH, e, "the session is not valid; log in again");
  MK_TRY(mk_time_format(mk_stmt_int(st, 3), exp, e));
  *out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "username", mk_stmt_text(st, 0), "ca_id",
                   mk_stmt_text(st, 1), "ca_name", mk_stmt_text(st, 2), "session_id",
                   ctx->caller.session_id, "kind", mk_stmt_text(st, 4), "expires_at", exp);
  MK_ENSURE_ALLOC(*out, e);
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  return rc;
}

int mk_svc_console_csrf_renew(mk_svc_ctx *ctx, char csrf[MK_SESSION_TOKEN_MAX], mk_err *e) {
  int rc = 0, changed = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  unsigned char raw[32], d[32];
  unsigned dn = 0;
  char hex[65];
  MK_ENSURE(ctx->caller.role == MK_ROLE_CA_OPERATOR && ctx->caller.session_id[0] != '\0',
            MK_EAUTH, e, "log in to the console first");
  MK_TRY_OSSL(RAND_priv_bytes(raw, sizeof raw), e, "CSRF token");
  MK_TRY(mk_base64url_encode(raw, sizeof raw, csrf, MK_SESSION_TOKEN_MAX, e));
  MK_TRY_OSSL(EVP_Digest(csrf, strlen(csrf), d, &dn, EVP_sha256(), NULL), e, "SHA-256");
  MK_TRY(mk_hex_encode(d, sizeof d, hex, sizeof hex, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(mk_db_prepare(db,
                       "UPDATE session SET csrf_sha256 = $1 WHERE id = $2 AND kind = 'console' "
                       "AND revoked_at IS NULL RETURNING id",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, hex, e));
  MK_TRY(mk_stmt_bind_text(st, 2, ctx->caller.session_id, e));
  MK_TRY(changed = mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  MK_ENSURE(changed, MK_EAUTH, e, "the session is not a console session; log in again");
  MK_TRY(mk_svc_audit(ctx, db, "ca_operator.console_csrf", "session", ctx->caller.session_id,
                      NULL, NULL, NULL, e));
  MK_TRY(mk_db_commit(db, e));
out:
  OPENSSL_cleanse(raw, sizeof raw);
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  if (rc < 0)
    OPENSSL_cleanse(csrf, MK_SESSION_TOKEN_MAX);
  return rc;
}
