/*
 * The store: what svc code uses to reach the database, whatever the back end.
 *
 * A mk_store is a pool of connections to one database (SQLite now, PostgreSQL
 * later through the same calls). A request takes one connection (mk_db) with
 * mk_store_acquire and gives it back with mk_store_release. Writes happen in a
 * transaction owned by the code that began it: mk_db_begin, then exactly one
 * of mk_db_commit or mk_db_rollback; releasing a connection with a
 * transaction still open rolls it back, so nothing is ever half-written.
 *
 * SQL is written once for both back ends: $1..$N placeholders (SQLite binds
 * them by name), standard types (TEXT, BIGINT, BYTEA for bytes: docs/store.md lists
 * the dialect rules), no back-end-only functions.
 * Only prepared statements: values never enter SQL text.
 */
#ifndef MK_STORE_STORE_H
#define MK_STORE_STORE_H

#include "mkey/mkey.h"
#include "util/embed.h"

typedef struct mk_store mk_store; /* pool of connections; thread-safe */
typedef struct mk_db mk_db;       /* one connection; one thread at a time */
typedef struct mk_stmt mk_stmt;   /* a prepared statement of one mk_db */

typedef struct mk_store_config {
  const char *url;          /* "sqlite:/path/to/mkey.db" */
  int pool_size;            /* connections, 0 = 4 */
  int busy_timeout_ms;      /* wait for locks / a free connection, 0 = 5000 */
  /* Migrations to apply, in order, ending with {NULL}; NULL = the ones built
   * from server/store/migrations (NNNN_name.sql files). */
  const struct mk_embedded *migrations;
} mk_store_config;

/* Open the database (creating an SQLite file 0600 if absent) and bring its
 * schema up to date: each pending migration runs in its own transaction and
 * is recorded in schema_migrations with its SHA-256. Refuses (MK_ESTORE,
 * nothing applied past the failure) when an applied migration's file changed,
 * when the database has a version this build does not know, or when a
 * migration fails. *out is owned by the caller: mk_store_close. */
int mk_store_open(const mk_store_config *cfg, mk_store **out, mk_err *e) MK_MUST_CHECK;
/* Close every connection. All connections must have been released. */
void mk_store_close(mk_store *s);

const char *mk_store_backend(const mk_store *s); /* "sqlite" */
/* Round trip to the database (for /v1/health). */
int mk_store_ping(mk_store *s, mk_err *e) MK_MUST_CHECK;
/* Highest applied migration version. */
int mk_store_schema_version(mk_store *s, int64_t *out, mk_err *e) MK_MUST_CHECK;

/* Take a connection, waiting up to busy_timeout_ms (MK_ERATE when none came
 * free). Give it back with mk_store_release (NULL is a no-op) from the same
 * thread: a release from another thread, or a second one, is ignored. */
int mk_store_acquire(mk_store *s, mk_db **out, mk_err *e) MK_MUST_CHECK;
void mk_store_release(mk_store *s, mk_db *db);

/* Transactions. mk_db_begin takes the write lock at once (SQLite BEGIN
 * IMMEDIATE), so a transaction that reads then writes cannot deadlock. */
int mk_db_begin(mk_db *db, mk_err *e) MK_MUST_CHECK;
int mk_db_commit(mk_db *db, mk_err *e) MK_MUST_CHECK;
void mk_db_rollback(mk_db *db); /* no-op without an open transaction */
int mk_db_in_tx(const mk_db *db);

/* Run SQL without parameters or results (several statements allowed): for
 * migrations and tests, never with outside values. */
int mk_db_exec(mk_db *db, const char *sql, mk_err *e) MK_MUST_CHECK;

/* Prepare sql (cached per connection: preparing the same text again is
 * cheap). The statement is owned by the connection: call mk_stmt_finish when
 * done, which resets it for the next user. */
int mk_db_prepare(mk_db *db, const char *sql, mk_stmt **out, mk_err *e) MK_MUST_CHECK;
/* Bind parameter $n (1-based). Text and blobs are copied. */
int mk_stmt_bind_text(mk_stmt *st, int n, const char *s, mk_err *e) MK_MUST_CHECK; /* s NULL binds NULL */
int mk_stmt_bind_int(mk_stmt *st, int n, int64_t v, mk_err *e) MK_MUST_CHECK;
int mk_stmt_bind_blob(mk_stmt *st, int n, const void *p, size_t len, mk_err *e) MK_MUST_CHECK;
int mk_stmt_bind_null(mk_stmt *st, int n, mk_err *e) MK_MUST_CHECK;
/* 1: a row is ready; 0: done; < 0: error. A unique, foreign-key or check
 * constraint violation fails with MK_ECONFLICT, anything else MK_ESTORE. */
int mk_stmt_step(mk_stmt *st, mk_err *e) MK_MUST_CHECK;
/* Columns of the current row (0-based); values live until the next step or
 * finish. Text is NULL for SQL NULL. */
const char *mk_stmt_text(mk_stmt *st, int col);
int64_t mk_stmt_int(mk_stmt *st, int col);
const void *mk_stmt_blob(mk_stmt *st, int col, size_t *len);
int mk_stmt_is_null(mk_stmt *st, int col);
void mk_stmt_finish(mk_stmt *st); /* NULL is a no-op */
/* Rows changed by the last finished INSERT/UPDATE/DELETE on this connection. */
int64_t mk_db_changes(mk_db *db);

#endif
