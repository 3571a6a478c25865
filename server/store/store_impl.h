/*
 * Inside the store: the driver interface a database back end implements.
 *
 * store.c owns everything that does not depend on the database: URL
 * dispatch, the connection pool, the per-connection statement cache and the
 * migration runner. A driver (store_sqlite.c; PostgreSQL later) only talks to
 * its library through these calls, on handles it defines itself and store.c
 * never looks into (void *).
 *
 * Every fallible call returns 0 (step: 1 row / 0 done) or a negative MK_E*
 * code with "what: database message" in e. Constraint violations (unique,
 * foreign key, check, not null) are MK_ECONFLICT; other database failures
 * MK_ESTORE; a parameter the statement lacks MK_EINVAL.
 *
 * A connection is used by one thread at a time (the pool guarantees it), so
 * drivers need no locking of their own.
 */
#ifndef MK_STORE_STORE_IMPL_H
#define MK_STORE_STORE_IMPL_H

#include "mkey/mkey.h"

struct mk_store_driver {
  const char *scheme; /* URL scheme before ':' and mk_store_backend()'s answer */

  /* Open one connection to target (the URL after "scheme:"), set up for
   * mkey's use (locks wait busy_timeout_ms). *conn is the caller's: close. */
  int (*open)(const char *target, int busy_timeout_ms, void **conn, mk_err *e);
  /* Close a connection whose statements were all finalized; NULL no-op. */
  void (*close)(void *conn);

  /* Run SQL text without parameters, several statements allowed, rows
   * discarded. Messages start with the line the failing statement is on. */
  int (*exec)(void *conn, const char *sql, mk_err *e);

  /* Prepare exactly one statement for repeated use; *stmt is the caller's:
   * finalize. SQL holding more than one statement is MK_EINVAL. */
  int (*prepare)(void *conn, const char *sql, void **stmt, mk_err *e);
  void (*finalize)(void *stmt); /* NULL no-op */
  /* Make a statement ready for its next user: results dropped, every
   * parameter back to NULL. Cannot fail (an error it would repeat was
   * already returned by step). */
  void (*reset)(void *stmt);

  int (*bind_text)(void *stmt, int n, const char *s, mk_err *e); /* copied */
  int (*bind_int)(void *stmt, int n, int64_t v, mk_err *e);
  int (*bind_blob)(void *stmt, int n, const void *p, size_t len, mk_err *e); /* copied */
  int (*bind_null)(void *stmt, int n, mk_err *e);
  int (*step)(void *stmt, mk_err *e); /* 1 row, 0 done, < 0 error */

  /* Columns of the current row; store.c checks that a row is there and col
   * is in range before calling. */
  int (*column_count)(void *stmt);
  int (*column_is_null)(void *stmt, int col);
  const char *(*column_text)(void *stmt, int col);
  int64_t (*column_int)(void *stmt, int col);
  const void *(*column_blob)(void *stmt, int col, size_t *len);

  /* begin takes the write lock at once; rollback is a no-op outside a
   * transaction. in_tx asks the database, not a flag, because some failures
   * end a transaction on the database's own initiative. */
  int (*begin)(void *conn, mk_err *e);
  int (*commit)(void *conn, mk_err *e);
  void (*rollback)(void *conn);
  int (*in_tx)(const void *conn);
  int64_t (*changes)(void *conn);
};

extern const struct mk_store_driver mk_store_sqlite_driver;

#endif
