/*
 * The store's back-end-neutral half: URL dispatch, the connection pool, the
 * per-connection statement cache and the migration runner. Everything that
 * touches a database goes through a struct mk_store_driver (store_impl.h).
 */
#include "store/store.h"

#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_impl.h"
#include "util/enc.h"
#include "util/guard.h"
#include "util/time.h"

/* build/gen/migrations.c: server/store/migrations/NNNN_name.sql in name order */
extern const struct mk_embedded mk_migrations[];

#define STMT_CACHE 64        /* statements kept per connection; more open at once is a leak */
#define POOL_DEFAULT 4
#define POOL_MAX 256
#define BUSY_DEFAULT_MS 5000

struct mk_stmt {
  mk_db *db;
  void *h;       /* driver statement; NULL while the slot is empty */
  char *sql;     /* cache key; owned */
  uint64_t hash; /* of sql, to skip most string compares */
  uint64_t used; /* db->tick at the last prepare, for LRU eviction */
  int busy;      /* handed out by mk_db_prepare, not yet finished */
  int has_row;   /* the last step returned a row */
};

struct mk_db {
  mk_store *s;
  void *conn;      /* driver connection; NULL after it had to be dropped */
  int idle;        /* in the pool's free list */
  pthread_t owner; /* the thread that acquired it; meaningful while !idle */
  uint64_t tick;
  struct mk_stmt cache[STMT_CACHE];
};

struct mk_store {
  const struct mk_store_driver *drv;
  char *target; /* URL after "scheme:" */
  int busy_timeout_ms;
  int size;
  mk_db *dbs;   /* size */
  mk_db **free; /* stack of idle connections, nfree of them */
  int nfree;
  int sync_ready;
  pthread_mutex_t mu;
  pthread_cond_t cv; /* signalled when a connection comes back */
};

static const struct mk_store_driver *const drivers[] = {&mk_store_sqlite_driver};

/* ---- pool --------------------------------------------------------------- */

/* pthread mutexes fail only on misuse or a corrupted object; carrying on
 * would hand one connection to two threads. */
static void lock(mk_store *s) {
  if (pthread_mutex_lock(&s->mu) != 0)
    abort();
}

static void unlock(mk_store *s) {
  if (pthread_mutex_unlock(&s->mu) != 0)
    abort();
}

/* A connection pushed twice would later be handed to two threads at once,
 * and a push past size would write beyond the free list: both are refused. */
static void put_back(mk_store *s, mk_db *db) {
  lock(s);
  if (!db->idle && s->nfree < s->size) {
    db->idle = 1;
    s->free[s->nfree++] = db;
    if (pthread_cond_signal(&s->cv) != 0)
      abort();
  }
  unlock(s);
}

/* 1 when the calling thread holds db (acquired it and has not released it).
 * Read under the lock: another thread may be acquiring db right now. */
static int held_by_caller(mk_store *s, const mk_db *db) {
  if (db->s != s)
    return 0;
  lock(s);
  int held = !db->idle && pthread_equal(db->owner, pthread_self());
  unlock(s);
  return held;
}

static void drop_statements(mk_db *db) {
  for (int i = 0; i < STMT_CACHE; i++) {
    struct mk_stmt *c = &db->cache[i];
    if (c->h != NULL)
      db->s->drv->finalize(c->h);
    free(c->sql);
    memset(c, 0, sizeof *c);
  }
}

static void drop_conn(mk_db *db) {
  if (db->conn == NULL)
    return;
  drop_statements(db);
  db->s->drv->close(db->conn);
  db->conn = NULL;
}

static int deadline_after(struct timespec *t, int ms, mk_err *e) {
  if (clock_gettime(CLOCK_MONOTONIC, t) != 0)
    return mk_err_set(e, MK_EINTERNAL, "monotonic clock: %s", strerror(errno));
  t->tv_sec += ms / 1000;
  t->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (t->tv_nsec >= 1000000000L) {
    t->tv_sec++;
    t->tv_nsec -= 1000000000L;
  }
  return 0;
}

static int init_sync(mk_store *s, mk_err *e) {
  pthread_condattr_t ca;
  if (pthread_condattr_init(&ca) != 0)
    return mk_err_set(e, MK_ENOMEM, "out of memory");
  /* Waits for a connection must not stretch or shrink when the wall clock
   * is set. */
  int bad = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0;
  if (!bad && pthread_cond_init(&s->cv, &ca) != 0)
    bad = 1;
  if (pthread_condattr_destroy(&ca) != 0 && !bad) {
    (void)pthread_cond_destroy(&s->cv);
    bad = 1;
  }
  if (bad)
    return mk_err_set(e, MK_EINTERNAL, "cannot set up the connection pool's condition variable");
  if (pthread_mutex_init(&s->mu, NULL) != 0) {
    (void)pthread_cond_destroy(&s->cv);
    return mk_err_set(e, MK_EINTERNAL, "cannot set up the connection pool's mutex");
  }
  s->sync_ready = 1;
  return 0;
}

int mk_store_acquire(mk_store *s, mk_db **out, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  struct timespec deadline;
  *out = NULL;
  MK_TRY(deadline_after(&deadline, s->busy_timeout_ms, e));
  lock(s);
  while (s->nfree == 0) {
    int w = pthread_cond_timedwait(&s->cv, &s->mu, &deadline);
    if (w == ETIMEDOUT)
      break;
    if (w != 0) {
      unlock(s);
      MK_FAIL(MK_EINTERNAL, e, "waiting for a database connection: %s", strerror(w));
    }
  }
  if (s->nfree > 0) {
    db = s->free[--s->nfree];
    db->idle = 0;
    db->owner = pthread_self();
  }
  unlock(s);
  MK_ENSURE(db != NULL, MK_ERATE, e, "no database connection free");
  if (db->conn == NULL) {
    /* dropped by an earlier release that could not end its transaction */
    rc = s->drv->open(s->target, s->busy_timeout_ms, &db->conn, e);
    if (rc < 0) {
      put_back(s, db);
      goto out;
    }
  }
  *out = db;
out:
  return rc;
}

void mk_store_release(mk_store *s, mk_db *db) {
  /* A second release is a no-op, even after another thread acquired the
   * same connection: resetting its statements or rolling back its
   * transaction from here would break that thread's work. */
  if (db == NULL || !held_by_caller(s, db))
    return;
  const struct mk_store_driver *drv = s->drv;
  for (int i = 0; i < STMT_CACHE; i++) {
    struct mk_stmt *c = &db->cache[i];
    if (c->busy) {
      drv->reset(c->h);
      c->busy = 0;
      c->has_row = 0;
    }
  }
  if (db->conn != NULL && drv->in_tx(db->conn)) {
    drv->rollback(db->conn);
    /* Never hand a half-done transaction to the next user: a fresh
     * connection is opened at the next acquire instead. */
    if (drv->in_tx(db->conn))
      drop_conn(db);
  }
  put_back(s, db);
}

/* ---- open, close -------------------------------------------------------- */

static int find_driver(const char *url, const struct mk_store_driver **drv, const char **target,
                       mk_err *e) {
  const char *colon = strchr(url, ':');
  if (colon != NULL) {
    size_t n = (size_t)(colon - url);
    for (size_t i = 0; i < sizeof drivers / sizeof drivers[0]; i++) {
      if (strlen(drivers[i]->scheme) == n && memcmp(drivers[i]->scheme, url, n) == 0) {
        *drv = drivers[i];
        *target = colon + 1;
        return 0;
      }
    }
  }
  /* The URL may carry a password (PostgreSQL): show the scheme only. */
  return mk_err_set(e, MK_EINVAL, "unsupported store URL scheme '%.*s' (use sqlite:PATH)",
                    colon != NULL ? (int)(colon - url) : 0, url);
}

struct known {
  const struct mk_embedded *m;
  int64_t version;
  char sha[2 * 32 + 1]; /* SHA-256, lower-case hex */
};

static int check_migrations(const struct mk_embedded *list, struct known **out, size_t *count,
                            mk_err *e);
static int migrate(mk_store *s, const struct known *k, size_t n, mk_err *e);

int mk_store_open(const mk_store_config *cfg, mk_store **out, mk_err *e) {
  int rc = 0;
  mk_store *s = NULL;
  struct known *k = NULL;
  size_t nk = 0;
  const struct mk_store_driver *drv = NULL;
  const char *target = NULL;
  *out = NULL;
  MK_ENSURE(cfg != NULL && cfg->url != NULL, MK_EINVAL, e, "store URL missing");
  MK_ENSURE(cfg->pool_size >= 0 && cfg->pool_size <= POOL_MAX, MK_EINVAL, e,
            "store pool size %d is outside 0..%d (0 = default)", cfg->pool_size, POOL_MAX);
  MK_ENSURE(cfg->busy_timeout_ms >= 0, MK_EINVAL, e, "store busy timeout %d ms is negative",
            cfg->busy_timeout_ms);
  MK_TRY(find_driver(cfg->url, &drv, &target, e));
  /* Before touching the database: a bad list must not create a file. */
  MK_TRY(check_migrations(cfg->migrations != NULL ? cfg->migrations : mk_migrations, &k, &nk, e));

  s = calloc(1, sizeof *s);
  MK_ENSURE_ALLOC(s, e);
  s->drv = drv;
  s->busy_timeout_ms = cfg->busy_timeout_ms > 0 ? cfg->busy_timeout_ms : BUSY_DEFAULT_MS;
  s->size = cfg->pool_size > 0 ? cfg->pool_size : POOL_DEFAULT;
  s->target = strdup(target);
  MK_ENSURE_ALLOC(s->target, e);
  s->dbs = calloc((size_t)s->size, sizeof *s->dbs);
  MK_ENSURE_ALLOC(s->dbs, e);
  s->free = calloc((size_t)s->size, sizeof *s->free);
  MK_ENSURE_ALLOC(s->free, e);
  MK_TRY(init_sync(s, e));
  for (int i = 0; i < s->size; i++) {
    mk_db *db = &s->dbs[i];
    db->s = s;
    MK_TRY(drv->open(s->target, s->busy_timeout_ms, &db->conn, e));
    db->idle = 1;
    s->free[s->nfree++] = db;
  }
  MK_TRY(migrate(s, k, nk, e));
  *out = s;
  s = NULL;
out:
  free(k);
  mk_store_close(s);
  return rc;
}

void mk_store_close(mk_store *s) {
  if (s == NULL)
    return;
  for (int i = 0; s->dbs != NULL && i < s->size; i++)
    if (s->dbs[i].s != NULL)
      drop_conn(&s->dbs[i]);
  if (s->sync_ready) {
    /* Both fail only while in use, which the contract rules out. */
    (void)pthread_cond_destroy(&s->cv);
    (void)pthread_mutex_destroy(&s->mu);
  }
  free(s->dbs);
  free(s->free);
  free(s->target);
  free(s);
}

const char *mk_store_backend(const mk_store *s) { return s->drv->scheme; }

/* Step a statement that must answer one row. */
static int one_row(mk_stmt *st, const char *what, mk_err *e) {
  int rc = 0, r = 0;
  MK_TRY(r = mk_stmt_step(st, e));
  MK_ENSURE(r == 1, MK_ESTORE, e, "%s: no row", what);
out:
  return rc;
}

int mk_store_ping(mk_store *s, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  MK_TRY(mk_store_acquire(s, &db, e));
  MK_TRY(mk_db_prepare(db, "SELECT 1", &st, e));
  MK_TRY(one_row(st, "ping", e));
  MK_ENSURE(mk_stmt_int(st, 0) == 1, MK_ESTORE, e, "ping: the database answered nonsense");
out:
  mk_stmt_finish(st);
  mk_store_release(s, db);
  return rc;
}

int mk_store_schema_version(mk_store *s, int64_t *out, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  MK_TRY(mk_store_acquire(s, &db, e));
  MK_TRY(mk_db_prepare(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &st, e));
  MK_TRY(one_row(st, "schema version", e));
  *out = mk_stmt_int(st, 0);
out:
  mk_stmt_finish(st);
  mk_store_release(s, db);
  return rc;
}

/* ---- transactions, statements -------------------------------------------- */

int mk_db_begin(mk_db *db, mk_err *e) {
  int rc = 0;
  /* Nesting would need savepoints; no caller needs them, so it is a bug. */
  MK_ENSURE(!mk_db_in_tx(db), MK_EINTERNAL, e, "a transaction is already open on this connection");
  MK_TRY(db->s->drv->begin(db->conn, e));
out:
  return rc;
}

int mk_db_commit(mk_db *db, mk_err *e) {
  int rc = 0;
  MK_ENSURE(mk_db_in_tx(db), MK_EINTERNAL, e, "no transaction open to commit");
  rc = db->s->drv->commit(db->conn, e);
  /* A failed COMMIT may leave the transaction open (SQLite: busy, deferred
   * foreign key); the caller's transaction is over either way. */
  if (rc < 0)
    db->s->drv->rollback(db->conn);
out:
  return rc;
}

void mk_db_rollback(mk_db *db) {
  if (db->conn != NULL)
    db->s->drv->rollback(db->conn);
}

int mk_db_in_tx(const mk_db *db) { return db->conn != NULL && db->s->drv->in_tx(db->conn); }

int mk_db_exec(mk_db *db, const char *sql, mk_err *e) {
  int rc = 0;
  MK_ENSURE(sql != NULL, MK_EINVAL, e, "no SQL to run");
  MK_TRY(db->s->drv->exec(db->conn, sql, e));
out:
  return rc;
}

static uint64_t fnv1a(const char *s) {
  uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64-bit offset basis and prime */
  for (; *s != '\0'; s++)
    h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
  return h;
}

int mk_db_prepare(mk_db *db, const char *sql, mk_stmt **out, mk_err *e) {
  int rc = 0;
  char *copy = NULL;
  void *h = NULL;
  *out = NULL;
  MK_ENSURE(sql != NULL, MK_EINVAL, e, "no SQL to prepare");
  uint64_t hash = fnv1a(sql);
  struct mk_stmt *hit = NULL, *victim = NULL;
  for (int i = 0; i < STMT_CACHE && hit == NULL; i++) {
    struct mk_stmt *c = &db->cache[i];
    if (c->busy)
      continue;
    if (c->h == NULL) {
      if (victim == NULL || victim->h != NULL)
        victim = c; /* an empty slot beats evicting anything */
    } else if (c->hash == hash && strcmp(c->sql, sql) == 0) {
      hit = c;
    } else if (victim == NULL || (victim->h != NULL && c->used < victim->used)) {
      victim = c;
    }
  }
  if (hit == NULL) {
    MK_ENSURE(victim != NULL, MK_EINTERNAL, e,
              "more than %d statements open on one connection (one not finished?)", STMT_CACHE);
    copy = strdup(sql);
    MK_ENSURE_ALLOC(copy, e);
    MK_TRY(db->s->drv->prepare(db->conn, sql, &h, e));
    if (victim->h != NULL)
      db->s->drv->finalize(victim->h);
    free(victim->sql);
    victim->h = h;
    victim->sql = copy;
    victim->hash = hash;
    victim->db = db;
    copy = NULL;
    hit = victim;
  }
  hit->busy = 1;
  hit->has_row = 0;
  hit->used = ++db->tick;
  *out = hit;
out:
  free(copy);
  return rc;
}

int mk_stmt_bind_text(mk_stmt *st, int n, const char *s, mk_err *e) {
  return st->db->s->drv->bind_text(st->h, n, s, e);
}

int mk_stmt_bind_int(mk_stmt *st, int n, int64_t v, mk_err *e) {
  return st->db->s->drv->bind_int(st->h, n, v, e);
}

int mk_stmt_bind_blob(mk_stmt *st, int n, const void *p, size_t len, mk_err *e) {
  return st->db->s->drv->bind_blob(st->h, n, p, len, e);
}

int mk_stmt_bind_null(mk_stmt *st, int n, mk_err *e) {
  return st->db->s->drv->bind_null(st->h, n, e);
}

int mk_stmt_step(mk_stmt *st, mk_err *e) {
  int rc = st->db->s->drv->step(st->h, e);
  st->has_row = rc == 1;
  return rc;
}

/* Reading a column without a current row is undefined in sqlite3; answer
 * "no value" instead. */
static int col_ok(mk_stmt *st, int col) {
  return st != NULL && st->has_row && col >= 0 && col < st->db->s->drv->column_count(st->h);
}

const char *mk_stmt_text(mk_stmt *st, int col) {
  if (!col_ok(st, col) || st->db->s->drv->column_is_null(st->h, col))
    return NULL;
  return st->db->s->drv->column_text(st->h, col);
}

int64_t mk_stmt_int(mk_stmt *st, int col) {
  return col_ok(st, col) ? st->db->s->drv->column_int(st->h, col) : 0;
}

const void *mk_stmt_blob(mk_stmt *st, int col, size_t *len) {
  *len = 0;
  return col_ok(st, col) ? st->db->s->drv->column_blob(st->h, col, len) : NULL;
}

int mk_stmt_is_null(mk_stmt *st, int col) {
  return !col_ok(st, col) || st->db->s->drv->column_is_null(st->h, col);
}

void mk_stmt_finish(mk_stmt *st) {
  if (st == NULL || !st->busy)
    return;
  st->db->s->drv->reset(st->h);
  st->busy = 0;
  st->has_row = 0;
}

int64_t mk_db_changes(mk_db *db) { return db->s->drv->changes(db->conn); }

/* ---- migrations ---------------------------------------------------------- */

/* Portable to PostgreSQL as written (docs/store.md, dialect rules). */
static const char schema_migrations_ddl[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations (\n"
    "  version INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL,\n"
    "  sha256 TEXT NOT NULL,\n"
    "  applied_at TEXT NOT NULL\n"
    ")";

/* "NNNN_name.sql": four digits (not 0000), '_', then [a-z0-9_]+. */
static int parse_name(const char *name, int64_t *version) {
  size_t n = strlen(name);
  if (n < 4 + 1 + 1 + 4 || name[4] != '_' || strcmp(name + n - 4, ".sql") != 0)
    return -1;
  int64_t v = 0;
  for (int i = 0; i < 4; i++) {
    if (name[i] < '0' || name[i] > '9')
      return -1;
    v = v * 10 + (name[i] - '0');
  }
  for (size_t i = 5; i < n - 4; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return -1;
  }
  if (v == 0) /* 0 means "nothing applied" to mk_store_schema_version */
    return -1;
  *version = v;
  return 0;
}

static int sha256_hex(const void *p, size_t len, char out[2 * 32 + 1], mk_err *e) {
  int rc = 0;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  MK_TRY_OSSL(EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL), e, "SHA-256");
  MK_ENSURE(mdlen == 32, MK_EINTERNAL, e, "SHA-256 gave %u bytes", mdlen);
  MK_TRY(mk_hex_encode(md, mdlen, out, 2 * 32 + 1, e));
out:
  return rc;
}

/* Validate the list (names, strictly increasing versions, no NUL inside)
 * and hash each file. *out is the caller's: free. */
static int check_migrations(const struct mk_embedded *list, struct known **out, size_t *count,
                            mk_err *e) {
  int rc = 0;
  size_t n = 0;
  struct known *k = NULL;
  while (list[n].name != NULL)
    n++;
  k = calloc(n > 0 ? n : 1, sizeof *k);
  MK_ENSURE_ALLOC(k, e);
  for (size_t i = 0; i < n; i++) {
    const struct mk_embedded *m = &list[i];
    MK_ENSURE(parse_name(m->name, &k[i].version) == 0, MK_EINVAL, e,
              "migration file name '%s' is not NNNN_name.sql (name: a-z, 0-9, _)", m->name);
    MK_ENSURE(i == 0 || k[i].version > k[i - 1].version, MK_EINVAL, e,
              "migration %s: version repeats or is out of order (after %s)", m->name,
              list[i - 1].name);
    /* The SQL is run as a C string: a NUL would silently cut it short. */
    MK_ENSURE(m->data != NULL && strlen((const char *)m->data) == m->len, MK_EINVAL, e,
              "migration %s contains a NUL byte", m->name);
    MK_TRY(sha256_hex(m->data, m->len, k[i].sha, e));
    k[i].m = m;
  }
  *out = k;
  *count = n;
  k = NULL;
out:
  free(k);
  return rc;
}

static int check_recorded(const struct known *m, const char *name, const char *sha, mk_err *e) {
  int rc = 0;
  MK_ENSURE(sha != NULL && strcmp(sha, m->sha) == 0, MK_ESTORE, e,
            "migration %s was changed after it was applied (checksum differs)", m->m->name);
  MK_ENSURE(name != NULL && strcmp(name, m->m->name) == 0, MK_ESTORE, e,
            "migration %s was applied under another name (%s)", m->m->name,
            name != NULL ? name : "");
out:
  return rc;
}

/* Apply one migration in its own transaction, unless another mkeyd starting
 * at the same moment got there first. */
static int apply(mk_db *db, const struct known *m, mk_err *e) {
  int rc = 0, found = 0, refused = 0;
  mk_stmt *st = NULL;
  char now[MK_TIME_TEXT_MAX];
  MK_TRY(mk_time_format(mk_time_now(), now, e)); /* RFC 3339 UTC */
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(mk_db_prepare(db, "SELECT name, sha256 FROM schema_migrations WHERE version = $1", &st,
                       e));
  MK_TRY(mk_stmt_bind_int(st, 1, m->version, e));
  MK_TRY(found = mk_stmt_step(st, e));
  if (found) {
    refused = 1;
    MK_TRY(check_recorded(m, mk_stmt_text(st, 0), mk_stmt_text(st, 1), e));
    goto out; /* already there and unchanged; the rollback below ends the read */
  }
  mk_stmt_finish(st);
  st = NULL;
  MK_TRY(mk_db_exec(db, (const char *)m->m->data, e));
  MK_ENSURE(mk_db_in_tx(db), MK_ESTORE, e,
            "it ended the transaction (migrations hold no BEGIN, COMMIT or ROLLBACK)");
  MK_TRY(mk_db_prepare(db,
                       "INSERT INTO schema_migrations(version, name, sha256, applied_at) "
                       "VALUES ($1, $2, $3, $4)",
                       &st, e));
  MK_TRY(mk_stmt_bind_int(st, 1, m->version, e));
  MK_TRY(mk_stmt_bind_text(st, 2, m->m->name, e));
  MK_TRY(mk_stmt_bind_text(st, 3, m->sha, e));
  MK_TRY(mk_stmt_bind_text(st, 4, now, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  MK_TRY(mk_db_commit(db, e));
out:
  mk_stmt_finish(st);
  mk_db_rollback(db); /* no-op after the commit */
  if (rc < 0 && !refused) {
    rc = MK_ESTORE; /* a failed migration is the store's refusal, whatever broke inside */
    if (e != NULL) {
      (void)mk_err_wrap(e, "migration %s failed", m->m->name);
      e->code = rc;
    }
  }
  return rc;
}

static const struct known *find_known(const struct known *k, size_t n, int64_t version) {
  for (size_t i = 0; i < n; i++)
    if (k[i].version == version)
      return &k[i];
  return NULL;
}

/* Check everything recorded against the list before applying anything, so
 * a refusal leaves the database as it was. */
static int migrate(mk_store *s, const struct known *k, size_t n, mk_err *e) {
  int rc = 0, r = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  char *applied = calloc(n > 0 ? n : 1, 1);
  int64_t max_known = n > 0 ? k[n - 1].version : 0, max_db = 0;
  MK_ENSURE_ALLOC(applied, e);
  MK_TRY(mk_store_acquire(s, &db, e));
  MK_TRY(mk_db_exec(db, schema_migrations_ddl, e));
  MK_TRY(mk_db_prepare(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &st, e));
  MK_TRY(one_row(st, "schema version", e));
  max_db = mk_stmt_int(st, 0);
  mk_stmt_finish(st);
  st = NULL;
  MK_ENSURE(max_db <= max_known, MK_ESTORE, e,
            "database schema version %lld is newer than this mkeyd knows (%lld)",
            (long long)max_db, (long long)max_known);
  MK_TRY(mk_db_prepare(db, "SELECT version, name, sha256 FROM schema_migrations ORDER BY version",
                       &st, e));
  while ((r = mk_stmt_step(st, e)) == 1) {
    int64_t v = mk_stmt_int(st, 0);
    const char *name = mk_stmt_text(st, 1);
    const struct known *m = find_known(k, n, v);
    MK_ENSURE(m != NULL, MK_ESTORE, e,
              "database has migration %lld (%s) that this mkeyd does not know", (long long)v,
              name != NULL ? name : "");
    MK_TRY(check_recorded(m, name, mk_stmt_text(st, 2), e));
    applied[m - k] = 1;
  }
  MK_TRY(r);
  mk_stmt_finish(st);
  st = NULL;
  for (size_t i = 0; i < n; i++) {
    if (applied[i])
      continue;
    /* Applying it now would run it after migrations written later. */
    MK_ENSURE(k[i].version > max_db, MK_ESTORE, e,
              "migration %s is older than the database schema (version %lld) but was never "
              "applied",
              k[i].m->name, (long long)max_db);
    MK_TRY(apply(db, &k[i], e));
  }
out:
  mk_stmt_finish(st);
  mk_store_release(s, db);
  free(applied);
  return rc;
}
