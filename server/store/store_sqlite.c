/*
 * The SQLite driver of the store (docs/store.md: pragmas and why).
 */
#include "store/store_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/guard.h"

/* The sqlite3 member of the guard families: SQLITE_OK, _ROW and _DONE are
 * success; anything else fails with "what: sqlite3_errmsg(db)", as
 * MK_ECONFLICT for a constraint violation and MK_ESTORE otherwise. db may be
 * NULL when sqlite3 could not even allocate one. */
#define MK_TRY_SQLITE(expr, db, err, what)                                     \
  do {                                                                         \
    int mk_sqlite_rc_ = (expr);                                                \
    if (mk_sqlite_rc_ != SQLITE_OK && mk_sqlite_rc_ != SQLITE_ROW &&           \
        mk_sqlite_rc_ != SQLITE_DONE) {                                        \
      rc = sqlite_fail((err), mk_sqlite_rc_, (db), (what));                    \
      goto out;                                                                \
    }                                                                          \
  } while (0)

static int sqlite_fail(mk_err *e, int src, sqlite3 *db, const char *what) {
  /* Extended codes are on: SQLITE_CONSTRAINT_UNIQUE etc. share the low byte. */
  int code = (src & 0xff) == SQLITE_CONSTRAINT ? MK_ECONFLICT : MK_ESTORE;
  return mk_err_set(e, code, "%s: %s", what, db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(src));
}

/* The next character that is neither white space nor inside a comment. */
static const char *skip_space(const char *p) {
  for (;;) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v')
      p++;
    if (p[0] == '-' && p[1] == '-') {
      while (*p != '\0' && *p != '\n')
        p++;
    } else if (p[0] == '/' && p[1] == '*') {
      const char *end = strstr(p + 2, "*/");
      p = end != NULL ? end + 2 : p + strlen(p);
    } else {
      return p;
    }
  }
}

static int line_of(const char *start, const char *p) {
  int line = 1;
  for (const char *q = start; q < p; q++)
    line += *q == '\n';
  return line;
}

/* Create the file owner-only before sqlite3 does it with 0644 & ~umask: the
 * database holds wrapped key shares and personal data. -wal and -shm files
 * get the database file's mode from sqlite3. */
static int create_private(const char *path, mk_err *e) {
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST)
      return 0;
    return mk_err_set(e, MK_EIO, "cannot create '%s': %s", path, strerror(errno));
  }
  /* The umask may have taken the owner's bits away too. */
  int failed = fchmod(fd, 0600) != 0;
  int saved = errno;
  if (close(fd) != 0 && !failed) {
    failed = 1;
    saved = errno;
  }
  if (failed) {
    (void)unlink(path); /* we made it empty a moment ago; nothing to keep */
    return mk_err_set(e, MK_EIO, "cannot create '%s': %s", path, strerror(saved));
  }
  return 0;
}

/* Run a PRAGMA that answers one row; copy its first column to out. */
static int pragma_text(sqlite3 *db, const char *sql, char *out, size_t cap, mk_err *e) {
  int rc = 0;
  sqlite3_stmt *st = NULL;
  MK_TRY_SQLITE(sqlite3_prepare_v2(db, sql, -1, &st, NULL), db, e, sql);
  int src = sqlite3_step(st);
  MK_TRY_SQLITE(src, db, e, sql);
  MK_ENSURE(src == SQLITE_ROW, MK_ESTORE, e, "%s: no answer", sql);
  const unsigned char *v = sqlite3_column_text(st, 0);
  snprintf(out, cap, "%s", v != NULL ? (const char *)v : "");
out:
  /* finalize repeats the step's error, which was already reported */
  (void)sqlite3_finalize(st);
  return rc;
}

static int sq_exec(void *conn, const char *sql, mk_err *e);

static int sq_open(const char *target, int busy_timeout_ms, void **conn, mk_err *e) {
  int rc = 0;
  sqlite3 *db = NULL;
  char what[96], v[16];
  *conn = NULL;
  MK_ENSURE(target[0] != '\0' && strcmp(target, ":memory:") != 0, MK_EINVAL, e,
            "sqlite store needs a file path, not '%s'", target);
  /* NOMUTEX still needs a library built thread-safe (SQLITE_THREADSAFE != 0). */
  MK_ENSURE(sqlite3_threadsafe() != 0, MK_ESTORE, e, "sqlite3 was built without thread support");
  MK_TRY(create_private(target, e));
  snprintf(what, sizeof what, "cannot open database '%.64s'", target);
  MK_TRY_SQLITE(sqlite3_open_v2(target, &db,
                                SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                NULL),
                db, e, what);
  MK_TRY_SQLITE(sqlite3_extended_result_codes(db, 1), db, e, what);
  MK_TRY_SQLITE(sqlite3_busy_timeout(db, busy_timeout_ms), db, e, what);
  MK_TRY(pragma_text(db, "PRAGMA journal_mode=WAL", v, sizeof v, e));
  MK_ENSURE(strcmp(v, "wal") == 0, MK_ESTORE, e, "%s: journal mode is '%s', not WAL", what, v);
  MK_TRY(sq_exec(db, "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL", e));
  /* A build with SQLITE_OMIT_FOREIGN_KEY ignores the pragma silently. */
  MK_TRY(pragma_text(db, "PRAGMA foreign_keys", v, sizeof v, e));
  MK_ENSURE(strcmp(v, "1") == 0, MK_ESTORE, e, "%s: foreign keys cannot be enforced", what);
  *conn = db;
  db = NULL;
out:
  /* close_v2 answers SQLITE_OK for any handle open_v2 gave, even a failed one */
  (void)sqlite3_close_v2(db);
  return rc;
}

static void sq_close(void *conn) {
  /* SQLITE_OK for every valid handle; a statement left open would turn the
   * connection into a zombie freed with it, never leak it. */
  (void)sqlite3_close_v2(conn);
}

static int sq_exec(void *conn, const char *sql, mk_err *e) {
  int rc = 0;
  sqlite3 *db = conn;
  sqlite3_stmt *st = NULL;
  char what[32];
  const char *p = skip_space(sql);
  while (*p != '\0') {
    const char *next = NULL;
    snprintf(what, sizeof what, "line %d", line_of(sql, p));
    MK_TRY_SQLITE(sqlite3_prepare_v2(db, p, -1, &st, &next), db, e, what);
    if (st != NULL) {
      int src;
      do
        src = sqlite3_step(st);
      while (src == SQLITE_ROW);
      MK_TRY_SQLITE(src, db, e, what);
      MK_TRY_SQLITE(sqlite3_finalize(st), db, e, what);
      st = NULL;
    }
    if (next == NULL || next == p)
      break;
    p = skip_space(next);
  }
out:
  (void)sqlite3_finalize(st); /* only after a failure already reported */
  return rc;
}

static int sq_prepare(void *conn, const char *sql, void **out, mk_err *e) {
  int rc = 0;
  sqlite3 *db = conn;
  sqlite3_stmt *st = NULL;
  const char *tail = NULL;
  *out = NULL;
  /* PERSISTENT: the statement lives in the connection's cache for a long
   * time, so sqlite3 should not take its memory from the lookaside pool. */
  MK_TRY_SQLITE(sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, &tail), db, e,
                "cannot prepare statement");
  MK_ENSURE(st != NULL, MK_EINVAL, e, "cannot prepare statement: no SQL in it");
  /* sqlite3 would silently ignore everything after the first statement. */
  MK_ENSURE(tail == NULL || *skip_space(tail) == '\0', MK_EINVAL, e,
            "cannot prepare statement: more than one statement in one call");
  *out = st;
  st = NULL;
out:
  (void)sqlite3_finalize(st); /* NULL, or a statement nobody stepped */
  return rc;
}

static void sq_finalize(void *stmt) {
  /* finalize repeats the last step's error, which its caller already had */
  (void)sqlite3_finalize(stmt);
}

static void sq_reset(void *stmt) {
  /* reset repeats the last step's error; clear_bindings always answers OK */
  (void)sqlite3_reset(stmt);
  (void)sqlite3_clear_bindings(stmt);
}

/* $N is a named parameter to SQLite; its position is the bind index. */
static int param_index(sqlite3_stmt *st, int n, mk_err *e) {
  char name[16];
  if (n < 1)
    return mk_err_set(e, MK_EINVAL, "cannot bind $%d: parameters start at $1", n);
  snprintf(name, sizeof name, "$%d", n);
  int i = sqlite3_bind_parameter_index(st, name);
  if (i == 0)
    return mk_err_set(e, MK_EINVAL, "cannot bind $%d: the statement has no such parameter", n);
  return i;
}

enum bind_kind { BIND_NULL, BIND_TEXT, BIND_INT, BIND_BLOB };

static int bind(sqlite3_stmt *st, int n, enum bind_kind kind, const void *p, size_t len,
                int64_t v, mk_err *e) {
  int rc = 0, i = 0;
  char what[32];
  MK_TRY(i = param_index(st, n, e));
  snprintf(what, sizeof what, "cannot bind $%d", n);
  sqlite3 *db = sqlite3_db_handle(st);
  switch (kind) {
  case BIND_NULL:
    MK_TRY_SQLITE(sqlite3_bind_null(st, i), db, e, what);
    break;
  case BIND_TEXT:
    MK_TRY_SQLITE(sqlite3_bind_text(st, i, p, -1, SQLITE_TRANSIENT), db, e, what);
    break;
  case BIND_INT:
    MK_TRY_SQLITE(sqlite3_bind_int64(st, i, v), db, e, what);
    break;
  case BIND_BLOB:
    /* A NULL pointer would bind SQL NULL; an empty blob is not NULL. */
    MK_TRY_SQLITE(sqlite3_bind_blob64(st, i, p != NULL ? p : "", len, SQLITE_TRANSIENT), db,
                  e, what);
    break;
  }
out:
  return rc;
}

static int sq_bind_text(void *stmt, int n, const char *s, mk_err *e) {
  return bind(stmt, n, s != NULL ? BIND_TEXT : BIND_NULL, s, 0, 0, e);
}

static int sq_bind_int(void *stmt, int n, int64_t v, mk_err *e) {
  return bind(stmt, n, BIND_INT, NULL, 0, v, e);
}

static int sq_bind_blob(void *stmt, int n, const void *p, size_t len, mk_err *e) {
  return bind(stmt, n, BIND_BLOB, p, len, 0, e);
}

static int sq_bind_null(void *stmt, int n, mk_err *e) {
  return bind(stmt, n, BIND_NULL, NULL, 0, 0, e);
}

static int sq_step(void *stmt, mk_err *e) {
  int rc = 0;
  int src = sqlite3_step(stmt);
  MK_TRY_SQLITE(src, sqlite3_db_handle(stmt), e, "statement failed");
  rc = src == SQLITE_ROW ? 1 : 0;
out:
  return rc;
}

static int sq_column_count(void *stmt) { return sqlite3_column_count(stmt); }

static int sq_column_is_null(void *stmt, int col) {
  return sqlite3_column_type(stmt, col) == SQLITE_NULL;
}

static const char *sq_column_text(void *stmt, int col) {
  return (const char *)sqlite3_column_text(stmt, col);
}

static int64_t sq_column_int(void *stmt, int col) { return sqlite3_column_int64(stmt, col); }

static const void *sq_column_blob(void *stmt, int col, size_t *len) {
  *len = 0;
  if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
    return NULL;
  const void *p = sqlite3_column_blob(stmt, col);
  /* sqlite3_column_bytes after _blob, as the sqlite3 documentation orders */
  int n = sqlite3_column_bytes(stmt, col);
  if (p == NULL || n <= 0)
    return ""; /* an empty value, which sqlite3 gives as NULL */
  *len = (size_t)n;
  return p;
}

static int simple(void *conn, const char *sql, const char *what, mk_err *e) {
  int rc = 0;
  sqlite3 *db = conn;
  MK_TRY_SQLITE(sqlite3_exec(db, sql, NULL, NULL, NULL), db, e, what);
out:
  return rc;
}

static int sq_begin(void *conn, mk_err *e) {
  return simple(conn, "BEGIN IMMEDIATE", "cannot begin transaction", e);
}

static int sq_commit(void *conn, mk_err *e) {
  return simple(conn, "COMMIT", "cannot commit transaction", e);
}

static int sq_in_tx(const void *conn) {
  return !sqlite3_get_autocommit((sqlite3 *)conn);
}

static void sq_rollback(void *conn) {
  sqlite3 *db = conn;
  if (!sq_in_tx(db))
    return;
  if (sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK)
    return;
  /* A statement still writing keeps ROLLBACK busy: stop them all, retry. */
  for (sqlite3_stmt *p = sqlite3_next_stmt(db, NULL); p != NULL; p = sqlite3_next_stmt(db, p))
    (void)sqlite3_reset(p);
  /* Judged by in_tx afterwards: store.c replaces a connection that is still
   * in a transaction rather than hand it to the next user. */
  (void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

static int64_t sq_changes(void *conn) { return sqlite3_changes(conn); }

const struct mk_store_driver mk_store_sqlite_driver = {
    .scheme = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .exec = sq_exec,
    .prepare = sq_prepare,
    .finalize = sq_finalize,
    .reset = sq_reset,
    .bind_text = sq_bind_text,
    .bind_int = sq_bind_int,
    .bind_blob = sq_bind_blob,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .column_count = sq_column_count,
    .column_is_null = sq_column_is_null,
    .column_text = sq_column_text,
    .column_int = sq_column_int,
    .column_blob = sq_column_blob,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .in_tx = sq_in_tx,
    .changes = sq_changes,
};
