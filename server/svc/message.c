/*
 * Messages (消息): an inbox per account. Workflows post inside the
 * transaction of the change the message reports, so a message never tells
 * of something that did not happen. seq grows per account: a client that
 * saw seq N waits for N+1 (long-poll).
 *
 * Long-polls wait on an in-process notifier keyed by account id. A post
 * only remembers, per thread, whom it wrote to; the request's owner calls
 * mk_svc_message_flush once its transactions are over (the HTTP server does
 * after every handler), so a waiter is woken after the commit and finds the
 * message when it reads again. A flush after a rollback wakes a waiter that
 * finds nothing and waits again. Each account's version number (striped)
 * closes the gap between a waiter's read and its registration. One process
 * only: several mkeyd nodes on PostgreSQL need LISTEN/NOTIFY (docs/messages.md).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "svc/svc.h"
#include "util/guard.h"
#include "util/json.h"
#include "util/time.h"

int mk_svc_message_post(mk_svc_ctx *ctx, mk_db *db, const char *account_id, const char *type,
                        const char *title, const char *body, const char *application_id,
                        const char *action, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  char id[MK_ID_MAX], ts[MK_TIME_TEXT_MAX];
  int64_t seq = 1;
  MK_ENSURE(mk_db_in_tx(db), MK_EINTERNAL, e, "messages are posted inside a transaction");
  MK_TRY(mk_db_prepare(db, "SELECT MAX(seq) FROM message WHERE account_id = $1", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, account_id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  if (found && !mk_stmt_is_null(st, 0))
    seq = mk_stmt_int(st, 0) + 1;
  mk_stmt_finish(st);
  st = NULL;
  MK_TRY(mk_id_new(id, "msg", e));
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_db_prepare(db,
                       "INSERT INTO message(id, account_id, seq, type, title, body, "
                       "application_id, action, created_at) "
                       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, account_id, e));
  MK_TRY(mk_stmt_bind_int(st, 3, seq, e));
  MK_TRY(mk_stmt_bind_text(st, 4, type, e));
  MK_TRY(mk_stmt_bind_text(st, 5, title, e));
  MK_TRY(mk_stmt_bind_text(st, 6, body ? body : "", e));
  MK_TRY(mk_stmt_bind_text(st, 7, application_id, e));
  MK_TRY(mk_stmt_bind_text(st, 8, action, e));
  MK_TRY(mk_stmt_bind_text(st, 9, ts, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_svc_message_pending(account_id);
out:
  mk_stmt_finish(st);
  return rc;
}

/* ---- reading the inbox ---------------------------------------------------- */

#define MSG_COLS "id, seq, type, title, body, application_id, action, read_at, created_at"

static json_t *message_json(mk_stmt *st) {
  return json_pack("{s:s,s:I,s:s,s:s,s:s,s:s?,s:s?,s:s?,s:s}", "id", mk_stmt_text(st, 0), "seq",
                   (json_int_t)mk_stmt_int(st, 1), "type", mk_stmt_text(st, 2), "title",
                   mk_stmt_text(st, 3), "body", mk_stmt_text(st, 4), "application_id",
                   mk_stmt_text(st, 5), "action", mk_stmt_text(st, 6), "read_at",
                   mk_stmt_text(st, 7), "created_at", mk_stmt_text(st, 8));
}

int64_t mk_svc_message_seq_parse(const char *s) {
  int64_t v = 0;
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > 18)
    return -1;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

static int field_fail(char *field, const char *name, mk_err *e, int code, const char *msg) {
  if (field != NULL)
    snprintf(field, MK_JSON_FIELD_MAX, "%s", name);
  return mk_err_set(e, code, "%s", msg);
}

static int unread_and_last(mk_db *db, const char *account_id, int64_t *unread, int64_t *last,
                           mk_err *e) {
  int rc = 0;
  mk_stmt *st = NULL;
  MK_TRY(mk_db_prepare(db,
                       "SELECT COALESCE(SUM(CASE WHEN read_at IS NULL THEN 1 ELSE 0 END), 0), "
                       "COALESCE(MAX(seq), 0) FROM message WHERE account_id = $1",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, account_id, e));
  MK_TRY(mk_stmt_step(st, e));
  *unread = mk_stmt_int(st, 0);
  *last = mk_stmt_int(st, 1);
out:
  mk_stmt_finish(st);
  return rc;
}

int mk_svc_message_list(mk_svc_ctx *ctx, int unread_only, const char *after, const char *cursor,
                        int64_t limit, json_t **out, char *field, mk_err *e) {
  int rc = 0, row = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  json_t *o = NULL, *items = NULL;
  int64_t a = 0, before = INT64_MAX, unread = 0, last = 0, n = 0, min_seq = 0;
  *out = NULL;
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_ENSURE(limit >= 1 && limit <= MK_SVC_LIST_MAX, MK_EINVAL, e, "limit is 1..%d",
            MK_SVC_LIST_MAX);
  if (after != NULL && (a = mk_svc_message_seq_parse(after)) < 0)
    MK_TRY(field_fail(field, "after", e, MK_EINVAL, "after is a message seq (a whole number)"));
  if (cursor != NULL && (before = mk_svc_message_seq_parse(cursor)) < 1)
    MK_TRY(field_fail(field, "cursor", e, MK_EINVAL, "cursor is not one this server gave"));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_prepare(db,
                       "SELECT " MSG_COLS " FROM message WHERE account_id = $1 AND seq > $2 "
                       "AND seq < $3 AND ($4 = 0 OR read_at IS NULL) ORDER BY seq DESC LIMIT $5",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, ctx->caller.account_id, e));
  MK_TRY(mk_stmt_bind_int(st, 2, a, e));
  MK_TRY(mk_stmt_bind_int(st, 3, before, e));
  MK_TRY(mk_stmt_bind_int(st, 4, unread_only ? 1 : 0, e));
  MK_TRY(mk_stmt_bind_int(st, 5, limit + 1, e));
  items = json_array();
  MK_ENSURE_ALLOC(items, e);
  int more = 0;
  while ((row = mk_stmt_step(st, e)) == 1) {
    if (n == limit) {
      more = 1;
      break;
    }
    json_t *m = message_json(st);
    MK_ENSURE(m != NULL && json_array_append_new(items, m) == 0, MK_ENOMEM, e, "out of memory");
    min_seq = mk_stmt_int(st, 1);
    n++;
  }
  MK_TRY(row);
  mk_stmt_finish(st);
  st = NULL;
  MK_TRY(unread_and_last(db, ctx->caller.account_id, &unread, &last, e));
  char next[24];
  snprintf(next, sizeof next, "%lld", (long long)min_seq);
  o = json_pack("{s:O,s:s?,s:I,s:I}", "items", items, "next_cursor", more ? next : NULL,
                "unread_count", (json_int_t)unread, "last_seq", (json_int_t)last);
  MK_ENSURE_ALLOC(o, e);
  *out = o;
  o = NULL;
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  json_decref(items);
  json_decref(o);
  return rc;
}

int mk_svc_message_get(mk_svc_ctx *ctx, const char *id, json_t **out, mk_err *e) {
  int rc = 0, found = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  char ts[MK_TIME_TEXT_MAX];
  *out = NULL;
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_ENSURE(id != NULL && mk_id_check(id, "msg", NULL) == 0, MK_ENOTFOUND, e, "no such message");
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  /* The first reading marks it read: a change of the inbox, audited once. */
  MK_TRY(mk_db_prepare(db,
                       "UPDATE message SET read_at = $1 WHERE id = $2 AND account_id = $3 AND "
                       "read_at IS NULL",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, ts, e));
  MK_TRY(mk_stmt_bind_text(st, 2, id, e));
  MK_TRY(mk_stmt_bind_text(st, 3, ctx->caller.account_id, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  if (mk_db_changes(db) == 1)
    MK_TRY(mk_svc_audit(ctx, db, "message.read", "message", id, ctx->caller.account_id, NULL,
                        NULL, e));
  MK_TRY(mk_db_prepare(db, "SELECT " MSG_COLS " FROM message WHERE id = $1 AND account_id = $2",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, ctx->caller.account_id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found, MK_ENOTFOUND, e, "no such message");
  *out = message_json(st);
  MK_ENSURE_ALLOC(*out, e);
  mk_stmt_finish(st);
  st = NULL;
  MK_TRY(mk_db_commit(db, e));
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  if (rc < 0) {
    json_decref(*out);
    *out = NULL;
  }
  return rc;
}

int mk_svc_message_read_all(mk_svc_ctx *ctx, int64_t up_to, json_t **out, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  char ts[MK_TIME_TEXT_MAX];
  int64_t marked = 0, unread = 0, last = 0;
  *out = NULL;
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_ENSURE(up_to >= 0, MK_EINVAL, e, "up_to is a message seq");
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(mk_db_prepare(db,
                       "UPDATE message SET read_at = $1 WHERE account_id = $2 AND read_at IS NULL "
                       "AND ($3 = 0 OR seq <= $3)",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, ts, e));
  MK_TRY(mk_stmt_bind_text(st, 2, ctx->caller.account_id, e));
  MK_TRY(mk_stmt_bind_int(st, 3, up_to, e));
  MK_TRY(mk_stmt_step(st, e));
  marked = mk_db_changes(db);
  mk_stmt_finish(st);
  st = NULL;
  if (marked > 0) {
    json_t *d = json_pack("{s:I,s:I}", "marked", (json_int_t)marked, "up_to", (json_int_t)up_to);
    MK_ENSURE_ALLOC(d, e);
    rc = mk_svc_audit(ctx, db, "message.read_all", "account", ctx->caller.account_id,
                      ctx->caller.account_id, NULL, d, e);
    json_decref(d);
    MK_TRY(rc);
  }
  MK_TRY(unread_and_last(db, ctx->caller.account_id, &unread, &last, e));
  MK_TRY(mk_db_commit(db, e));
  *out = json_pack("{s:I,s:I,s:I}", "marked", (json_int_t)marked, "unread_count",
                   (json_int_t)unread, "last_seq", (json_int_t)last);
  MK_ENSURE_ALLOC(*out, e);
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  return rc;
}

/* ---- the notifier ----------------------------------------------------------- */

#define STRIPES 256   /* version counters; two accounts may share one (a spare wake-up) */
#define PENDING_MAX 8 /* accounts remembered per thread before waking everyone */
#define WAITS_PER_ACCOUNT_MAX 8 /* long-polls one account may hold; more answer at once */

struct mk_svc_watch {
  struct mk_svc_watch *prev, *next;
  char key[MK_ID_MAX];
  int64_t deadline_ms; /* mk_time_mono_ms */
  const void *owner;
  mk_svc_wake_fn fn;
  void *arg;
  int fired, listed;
};

static pthread_mutex_t nt_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t nt_cv;
static pthread_once_t nt_once = PTHREAD_ONCE_INIT;
static int nt_cv_ok;
static mk_svc_watch *nt_head;
static uint64_t nt_version[STRIPES];
static int nt_users, nt_running;
static pthread_t nt_timer;

static _Thread_local struct {
  char key[PENDING_MAX][MK_ID_MAX];
  int n, overflow;
} pending;

static unsigned stripe(const char *key) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++)
    h = (h ^ *p) * 16777619u;
  return h % STRIPES;
}

static void cv_init(void) {
  pthread_condattr_t a;
  if (pthread_condattr_init(&a) != 0)
    return;
  if (pthread_condattr_setclock(&a, CLOCK_MONOTONIC) == 0 && pthread_cond_init(&nt_cv, &a) == 0)
    nt_cv_ok = 1;
  pthread_condattr_destroy(&a);
}

/* With nt_mu held: take w off the list and call its function, once. */
static void fire_locked(mk_svc_watch *w) {
  if (w->fired)
    return;
  if (w->listed) {
    if (w->prev != NULL)
      w->prev->next = w->next;
    else
      nt_head = w->next;
    if (w->next != NULL)
      w->next->prev = w->prev;
    w->prev = w->next = NULL;
    w->listed = 0;
  }
  w->fired = 1;
  w->fn(w->arg);
}

/* Fire every listed watch for which match says so (key NULL: all of owner,
 * or every one when owner is NULL too). */
static void fire_matching_locked(const char *key, const void *owner) {
  mk_svc_watch *w = nt_head;
  while (w != NULL) {
    mk_svc_watch *next = w->next;
    if ((key != NULL && strcmp(w->key, key) == 0) ||
        (key == NULL && (owner == NULL || w->owner == owner)))
      fire_locked(w);
    w = next;
  }
}

static void *timer_main(void *arg) {
  (void)arg;
  pthread_mutex_lock(&nt_mu);
  while (nt_running) {
    int64_t now = mk_time_mono_ms(), next = INT64_MAX;
    mk_svc_watch *w = nt_head;
    while (w != NULL) {
      mk_svc_watch *after = w->next;
      if (w->deadline_ms <= now)
        fire_locked(w);
      else if (w->deadline_ms < next)
        next = w->deadline_ms;
      w = after;
    }
    if (next == INT64_MAX) {
      pthread_cond_wait(&nt_cv, &nt_mu);
    } else {
      struct timespec ts = {.tv_sec = (time_t)(next / 1000),
                            .tv_nsec = (long)(next % 1000) * 1000000L};
      pthread_cond_timedwait(&nt_cv, &nt_mu, &ts);
    }
  }
  pthread_mutex_unlock(&nt_mu);
  return NULL;
}

int mk_svc_message_notifier_start(mk_err *e) {
  int rc = 0;
  pthread_once(&nt_once, cv_init);
  MK_ENSURE(nt_cv_ok, MK_EINTERNAL, e, "cannot make the long-poll timer's condition variable");
  pthread_mutex_lock(&nt_mu);
  if (nt_users == 0) {
    nt_running = 1;
    if (pthread_create(&nt_timer, NULL, timer_main, NULL) != 0) {
      nt_running = 0;
      pthread_mutex_unlock(&nt_mu);
      MK_FAIL(MK_EINTERNAL, e, "cannot start the long-poll timer thread");
    }
  }
  nt_users++;
  pthread_mutex_unlock(&nt_mu);
out:
  return rc;
}

void mk_svc_message_notifier_stop(void) {
  pthread_mutex_lock(&nt_mu);
  if (nt_users == 0 || --nt_users > 0) {
    pthread_mutex_unlock(&nt_mu);
    return;
  }
  nt_running = 0;
  fire_matching_locked(NULL, NULL); /* nobody is left to time them out */
  pthread_cond_signal(&nt_cv);
  pthread_mutex_unlock(&nt_mu);
  pthread_join(nt_timer, NULL);
}

uint64_t mk_svc_message_version(const char *account_id) {
  pthread_mutex_lock(&nt_mu);
  uint64_t v = nt_version[stripe(account_id)];
  pthread_mutex_unlock(&nt_mu);
  return v;
}

int mk_svc_message_watch(const char *account_id, uint64_t version, int64_t deadline_ms,
                         const void *owner, mk_svc_wake_fn fn, void *arg, mk_svc_watch **out,
                         mk_err *e) {
  int rc = 0;
  *out = NULL;
  MK_ENSURE(account_id != NULL && strlen(account_id) < MK_ID_MAX && fn != NULL, MK_EINTERNAL, e,
            "a watch needs an account id and a function");
  mk_svc_watch *w = calloc(1, sizeof *w);
  MK_ENSURE_ALLOC(w, e);
  snprintf(w->key, sizeof w->key, "%s", account_id);
  w->deadline_ms = deadline_ms;
  w->owner = owner;
  w->fn = fn;
  w->arg = arg;
  pthread_mutex_lock(&nt_mu);
  if (!nt_running) {
    pthread_mutex_unlock(&nt_mu);
    free(w);
    MK_FAIL(MK_EINTERNAL, e, "the long-poll notifier is not running");
  }
  *out = w;
  int waiting = 0;
  for (mk_svc_watch *o = nt_head; o != NULL && waiting < WAITS_PER_ACCOUNT_MAX; o = o->next)
    waiting += strcmp(o->key, w->key) == 0;
  if (nt_version[stripe(account_id)] != version) {
    fire_locked(w); /* something was posted since the caller read */
  } else if (waiting >= WAITS_PER_ACCOUNT_MAX) {
    fire_locked(w); /* one account cannot pile up waiting connections */
  } else {
    w->next = nt_head;
    if (nt_head != NULL)
      nt_head->prev = w;
    nt_head = w;
    w->listed = 1;
    pthread_cond_signal(&nt_cv); /* the timer may need to wake earlier */
  }
  pthread_mutex_unlock(&nt_mu);
out:
  return rc;
}

void mk_svc_message_fire(mk_svc_watch *w) {
  if (w == NULL)
    return;
  pthread_mutex_lock(&nt_mu);
  fire_locked(w);
  pthread_mutex_unlock(&nt_mu);
}

void mk_svc_message_unwatch(mk_svc_watch *w) {
  if (w == NULL)
    return;
  pthread_mutex_lock(&nt_mu);
  if (w->listed) {
    if (w->prev != NULL)
      w->prev->next = w->next;
    else
      nt_head = w->next;
    if (w->next != NULL)
      w->next->prev = w->prev;
  }
  pthread_mutex_unlock(&nt_mu);
  free(w);
}

void mk_svc_message_wake_owner(const void *owner) {
  pthread_mutex_lock(&nt_mu);
  fire_matching_locked(NULL, owner);
  pthread_mutex_unlock(&nt_mu);
}

void mk_svc_message_notify(const char *account_id) {
  pthread_mutex_lock(&nt_mu);
  if (account_id == NULL) {
    for (size_t i = 0; i < STRIPES; i++)
      nt_version[i]++;
    fire_matching_locked(NULL, NULL);
  } else {
    nt_version[stripe(account_id)]++;
    fire_matching_locked(account_id, NULL);
  }
  pthread_mutex_unlock(&nt_mu);
}

void mk_svc_message_pending(const char *account_id) {
  for (int i = 0; i < pending.n; i++)
    if (strcmp(pending.key[i], account_id) == 0)
      return;
  if (pending.n == PENDING_MAX || strlen(account_id) >= MK_ID_MAX) {
    pending.overflow = 1;
    return;
  }
  snprintf(pending.key[pending.n++], MK_ID_MAX, "%s", account_id);
}

void mk_svc_message_flush(void) {
  if (pending.overflow) {
    mk_svc_message_notify(NULL);
  } else {
    for (int i = 0; i < pending.n; i++)
      mk_svc_message_notify(pending.key[i]);
  }
  pending.n = 0;
  pending.overflow = 0;
}
