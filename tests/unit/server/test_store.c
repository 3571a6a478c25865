/* The store against real SQLite files in a temporary directory. */
#include <dirent.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mk_test.h"
#include "store/store.h"

extern const struct mk_embedded mk_migrations[];

#define MIG(name, sql) {(name), (const unsigned char *)(sql), sizeof(sql) - 1}

struct fx {
  char dir[64];
  char path[128];
  char url[160];
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof *f);
  if (f == NULL)
    return -1;
  snprintf(f->dir, sizeof f->dir, "/tmp/mkey-store-XXXXXX");
  if (mkdtemp(f->dir) == NULL) {
    free(f);
    return -1;
  }
  snprintf(f->path, sizeof f->path, "%s/mkey.db", f->dir);
  snprintf(f->url, sizeof f->url, "sqlite:%s", f->path);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  DIR *d = opendir(f->dir);
  if (d != NULL) {
    struct dirent *de;
    char p[512];
    while ((de = readdir(d)) != NULL) {
      if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
        continue;
      snprintf(p, sizeof p, "%s/%s", f->dir, de->d_name);
      unlink(p);
    }
    closedir(d);
  }
  rmdir(f->dir);
  free(f);
  return 0;
}

static int open_store(struct fx *f, const struct mk_embedded *migs, int pool, int busy_ms,
                      mk_store **s, mk_err *e) {
  mk_store_config cfg = {.url = f->url, .pool_size = pool, .busy_timeout_ms = busy_ms,
                         .migrations = migs};
  return mk_store_open(&cfg, s, e);
}

/* Default migrations plus a scratch table t. */
static mk_store *open_with_t(struct fx *f, int pool, int busy_ms) {
  mk_store *s = NULL;
  mk_db *db = NULL;
  mk_err e = {0};
  assert_mk_ok(open_store(f, NULL, pool, busy_ms, &s, &e));
  assert_mk_ok(mk_store_acquire(s, &db, &e));
  assert_mk_ok(mk_db_exec(db,
                          "CREATE TABLE t (id TEXT PRIMARY KEY, i BIGINT, b BYTEA, n TEXT);\n"
                          "CREATE TABLE parent (id TEXT PRIMARY KEY);\n"
                          "CREATE TABLE child (id TEXT PRIMARY KEY,\n"
                          "  parent_id TEXT NOT NULL REFERENCES parent(id))",
                          &e));
  mk_store_release(s, db);
  return s;
}

static int64_t count_rows(mk_db *db, const char *sql) {
  mk_stmt *st = NULL;
  mk_err e = {0};
  assert_mk_ok(mk_db_prepare(db, sql, &st, &e));
  assert_int_equal(mk_stmt_step(st, &e), 1);
  int64_t n = mk_stmt_int(st, 0);
  mk_stmt_finish(st);
  return n;
}

static int insert_t(mk_db *db, const char *id, mk_err *e) {
  mk_stmt *st = NULL;
  int rc = mk_db_prepare(db, "INSERT INTO t(id) VALUES ($1)", &st, e);
  if (rc == 0)
    rc = mk_stmt_bind_text(st, 1, id, e);
  if (rc == 0)
    rc = mk_stmt_step(st, e);
  mk_stmt_finish(st);
  return rc;
}

static int64_t highest_known(void) {
  int64_t v = 0;
  for (const struct mk_embedded *m = mk_migrations; m->name != NULL; m++)
    v = strtoll(m->name, NULL, 10);
  return v;
}

static double mono_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

/* ---- open and migrations ------------------------------------------------ */

static void test_open_creates_private_file_and_migrates(void **state) {
  struct fx *f = *state;
  mk_store *s = NULL;
  mk_db *db = NULL;
  mk_err e = {0};
  struct stat sb;
  int64_t v = -1;
  /* With umask 0, a file left to sqlite3 would be 0644. */
  mode_t old = umask(0);
  int rc = open_store(f, NULL, 2, 0, &s, &e);
  umask(old);
  assert_mk_ok(rc);
  assert_int_equal(stat(f->path, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  char wal[160];
  snprintf(wal, sizeof wal, "%s-wal", f->path);
  assert_int_equal(stat(wal, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  assert_string_equal(mk_store_backend(s), "sqlite");
  assert_mk_ok(mk_store_ping(s, &e));
  assert_mk_ok(mk_store_schema_version(s, &v, &e));
  assert_true(highest_known() >= 1);
  assert_int_equal(v, highest_known());
  /* 0001_init.sql made the instance table. */
  assert_mk_ok(mk_store_acquire(s, &db, &e));
  assert_mk_ok(mk_db_exec(db, "INSERT INTO instance(id, created_at) "
                              "VALUES ('ins_x', '2026-01-01T00:00:00Z')", &e));
  assert_int_equal(count_rows(db, "SELECT COUNT(*) FROM instance"), 1);
  mk_store_release(s, db);
  mk_store_close(s);
}

static void test_reopen_applies_nothing(void **state) {
  struct fx *f = *state;
  mk_store *s = NULL;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  mk_err e = {0};
  int64_t known = 0;
  for (const struct mk_embedded *m = mk_migrations; m->name != NULL; m++)
    known++;
  assert_mk_ok(open_store(f, NULL, 1, 0, &s, &e));
  assert_mk_ok(mk_store_acquire(s, &db, &e));
  assert_int_equal(count_rows(db, "SELECT COUNT(*) FROM schema_migrations"), known);
  assert_mk_ok(mk_db_prepare(db, "SELECT name, sha256, applied_at FROM schema_migrations "
                                 "WHERE version = 1", &st, &e));
  assert_int_equal(mk_stmt_step(st, &e), 1);
  assert_string_equal(mk_stmt_text(st, 0), "0001_init.sql");
  assert_int_equal(strlen(mk_stmt_text(st, 1)), 64);
  const char *at = mk_stmt_text(st, 2);
  assert_int_equal(strlen(at), 20); /* YYYY-MM-DDTHH:MM:SSZ */
  assert_int_equal(at[10], 'T');
  assert_int_equal(at[19], 'Z');
  mk_stmt_finish(st);
  assert_mk_ok(mk_db_exec(db, "UPDATE schema_migrations SET applied_at = 'sentinel'", &e));
  mk_store_release(s, db);
  mk_store_close(s);

  /* 0001_init.sql has a plain CREATE TABLE: running it again would fail. */
  assert_mk_ok(open_store(f, NULL, 1, 0, &s, &e));
  assert_mk_ok(mk_store_acquire(s, &db, &e));
  assert_int_equal(count_rows(db, "SELECT COUNT(*) FROM schema_migrations"), known);
  assert_int_equal(count_rows(db, "SELECT COUNT(*) FROM schema_migrations "
                                  "WHERE applied_at <> 'sentinel'"), 0);
  mk_store_release(s, db);
  mk_store_close(s);
}

static void test_pragmas_on_every_connection(void **state) {
  struct fx *f = *state;
  mk_store *s = open_with_t(f, 3, 1234);
  mk_db *dbs[3] = {0};
  mk_stmt *st = NULL;
  mk_err e = {0};
  for (int i = 0; i < 3; i++) {
    assert_mk_ok(mk_store_acquire(s, &dbs[i], &e));
    assert_mk_ok(mk_db_prepare(dbs[i], "PRAGMA journal_mode", &st, &e));
    assert_int_equal(mk_stmt_step(st, &e), 1);
    assert_string_equal(mk_stmt_text(st, 0), "wal");
    mk_stmt_finish(st);
    assert_int_equal(count_rows(dbs[i], "PRAGMA foreign_keys"), 1);
    assert_int_equal(count_rows(dbs[i], "PRAGMA synchronous"), 1); /* NORMAL */
    assert_int_equal(count_rows(dbs[i], "PRAGMA busy_timeout"), 1234);
  }
  /* Foreign keys are enforced, and a violation is a conflict. */
  assert_mk_fails(mk_db_exec(dbs[0], "INSERT INTO child VALUES ('c1', 'nope')", &e),
                  MK_ECONFLICT);
  assert_non_null(strstr(e.msg, "FOREIGN KEY"));
  for (int i = 0; i < 3; i++)
    mk_store_release(s, dbs[i]);
  mk_store_close(s);
}

static void test_migration_checksum_changed(void **state) {
  struct fx *f = *state;
  const struct mk_embedded v1[] = {MIG("0001_a.sql", "CREATE TABLE a (x TEXT);"), {0}};
  const struct mk_embedded v1b[] = {MIG("0001_a.sql", "CREATE TABLE a (x TEXT, y TEXT);"), {0}};
  mk_store *s = NULL;
  mk_err e = {0};
  assert_mk_ok(open_store(f, v1, 1, 0, &s, &e));
  mk_store_close(s);
  s = NULL;
  assert_mk_fails(open_store(f, v1b, 1, 0, &s, &e), MK_ESTORE);
  assert_null(s);
  assert_string_equal(e.msg, "migration 0001_a.sql was changed after it was applied "
                             "(checksum differs)");
  /* The original is still accepted. */
  assert_mk_ok(open_store(f, v1, 1, 0, &s, &e));
  mk_store_close(s);
}

static void test_migration_failure_rolls_back(void **state) {
  struct fx *f = *state;
  const struct mk_embedded both[] = {
      MIG("0001_a.sql", "CREATE TABLE a (x TEXT);"),
      MIG("0002_b.sql", "CREATE TABLE b (x TEXT);\n\nINSERT INTO nosuch VALUES (1);"),
      {0}};
  mk_store *s = NULL;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  mk_err e = {0};
  int64_t v = 0;
  assert_mk_fails(open_store(f, both, 1, 0, &s, &e), MK_ESTORE);
  assert_null(s);
  assert_string_equal(e.msg, "migration 0002_b.sql failed: line 3: no such table: nosuch");

  /* Still refused on the next start, with nothing of 0002 left behind. */
  assert_mk_fails(open_store(f, both, 1, 0, &s, &e), MK_ESTORE);
  assert_null(s);
  const struct mk_embedded first[] = {both[0], {0}};
  assert_mk_ok(open_store(f, first, 1, 0, &s, &e));
  assert_mk_ok(mk_store_schema_version(s, &v, &e));
  assert_int_equal(v, 1);
  assert_mk_ok(mk_store_acquire(s, &db, &e));
  assert_int_equal(count_rows(db, "SELECT COUNT(*) FROM a"), 0);
  assert_mk_fails(mk_db_prepare(db, "SELECT COUNT(*) FROM b", &st, &e), MK_ESTORE);
  assert_non_null(strstr(e.msg, "no such table: b"));
  mk_store_release(s, db);
  mk_store_close(s);
}

static void test_migration_newer_database_refused(void **state) {
  struct fx *f = *state;
  const struct mk_embedded two[] = {MIG("0001_a.sql", "CREATE TABLE a (x TEXT);"),
                                    MIG("0002_b.sql", "CREATE TABLE b (x TEXT);"), {0}};
  const struct mk_embedded one[] = {two[0], {0}};
  const struct mk_embedded gap[] = {two[0], MIG("0003_c.sql", "CREATE TABLE c (x TEXT);"), {0}};
  mk_store *s = NULL;
  mk_err e = {0};
  assert_mk_ok(open_store(f, two, 1, 0, &s, &e));
  mk_store_close(s);
  s = NULL;
  assert_mk_fails(open_store(f, one, 1, 0, &s, &e), MK_ESTORE);
  assert_string_equal(e.msg, "database schema version 2 is newer than this mkeyd knows (1)");
  /* A build that skips a version the database has is refused too. */
  assert_mk_fails(open_store(f, gap, 1, 0, &s, &e), MK_ESTORE);
  assert_string_equal(e.msg, "database has migration 2 (0002_b.sql) that this mkeyd does not know");
  assert_null(s);
}

static void test_migration_inserted_late_refused(void **state) {
  struct fx *f = *state;
  const struct mk_embedded a_c[] = {MIG("0001_a.sql", "CREATE TABLE a (x TEXT);"),
                                    MIG("0003_c.sql", "CREATE TABLE c (x TEXT);"), {0}};
  const struct mk_embedded a_b_c[] = {a_c[0], MIG("0002_b.sql", "CREATE TABLE b (x TEXT);"),
                                      a_c[1], {0}};
  mk_store *s = NULL;
  mk_err e = {0};
  assert_mk_ok(open_store(f, a_c, 1, 0, &s, &e));
  mk_store_close(s);
  s = NULL;
  assert_mk_fails(open_store(f, a_b_c, 1, 0, &s, &e), MK_ESTORE);
  assert_string_equal(e.msg, "migration 0002_b.sql is older than the database schema "
                             "(version 3) but was never applied");
}

static void test_migration_bad_names_refused(void **state) {
  struct fx *f = *state;
  static const char *bad[] = {"1_a.sql", "0001a.sql", "0001_.sql", "0001_a.txt", "0000_a.sql",
                              "0001_A.sql", "0001_a-b.sql", "x001_a.sql", "0001_a.sql.bak"};
  mk_store *s = NULL;
  mk_err e = {0};
  struct stat sb;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const struct mk_embedded list[] = {{bad[i], (const unsigned char *)"SELECT 1;", 9}, {0}};
    assert_mk_fails(open_store(f, list, 1, 0, &s, &e), MK_EINVAL);
    assert_non_null(strstr(e.msg, "is not NNNN_name.sql"));
    assert_non_null(strstr(e.msg, bad[i]));
  }
  const struct mk_embedded dup[] = {MIG("0001_a.sql", "SELECT 1;"), MIG("0001_b.sql", "SELECT 1;"),
                                    {0}};
  assert_mk_fails(open_store(f, dup, 1, 0, &s, &e), MK_EINVAL);
  assert_string_equal(e.msg, "migration 0001_b.sql: version repeats or is out of order "
                             "(after 0001_a.sql)");
  const struct mk_embedded order[] = {MIG("0002_a.sql", "SELECT 1;"),
                                      MIG("0001_b.sql", "SELECT 1;"), {0}};
  assert_mk_fails(open_store(f, order, 1, 0, &s, &e), MK_EINVAL);
  assert_non_null(strstr(e.msg, "out of order"));
  const struct mk_embedded nul[] = {{"0001_a.sql", (const unsigned char *)"SELECT 1;\0DROP", 14},
                                    {0}};
  assert_mk_fails(open_store(f, nul, 1, 0, &s, &e), MK_EINVAL);
  assert_string_equal(e.msg, "migration 0001_a.sql contains a NUL byte");
  assert_null(s);
  /* Refused before any database was touched. */
  assert_int_equal(stat(f->path, &sb), -1);
}

static void test_migration_ending_transaction_refused(void **state) {
  struct fx *f = *state;
  const struct mk_embedded list[] = {MIG("0001_a.sql", "CREATE TABLE a (x TEXT); COMMIT;"), {0}};
  mk_store *s = NULL;
  mk_err e = {0};
  assert_mk_fails(open_store(f, list, 1, 0, &s, &e), MK_ESTORE);
  assert_string_equal(e.msg, "migration 0001_a.sql failed: it ended the transaction "
                             "(migrations hold no BEGIN, COMMIT or ROLLBACK)");
}

static void test_bad_urls_and_settings(void **state) {
  struct fx *f = *state;
  mk_store *s = NULL;
  mk_err e = {0};
  mk_store_config cfg = {.url = "postgres://u:secret@h/db"};
  assert_mk_fails(mk_store_open(&cfg, &s, &e), MK_EINVAL);
  assert_string_equal(e.msg, "unsupported store URL scheme 'postgres' (use sqlite:PATH)");
  assert_null(strstr(e.msg, "secret"));
  cfg.url = "/var/lib/mkey.db";
  assert_mk_fails(mk_store_open(&cfg, &s, &e), MK_EINVAL);
  assert_non_null(strstr(e.msg, "unsupported store URL scheme"));
  cfg.url = "sqlitex:/tmp/x.db";
  assert_mk_fails(mk_store_open(&cfg, &s, &e), MK_EINVAL);
  cfg.url = "sqlite:";
  assert_mk_fails(mk_store_open(&cfg, &s, &e), MK_EINVAL);
  cfg.url = "sqlite::memory:";
  assert_mk_fails(mk_store_open(&cfg, &s, &e), MK_EINVAL);
  cfg.url = NULL;
  assert_mk_fails(mk_store_open(&cfg, &s, &e), MK_EINVAL);
  cfg.url = f->url;
  cfg.pool_size = -1;
  assert_mk_fails(mk_store_open(&cfg, &s, &e), MK_EINVAL);
  cfg.pool_size = 1;
  cfg.busy_timeout_ms = -5;
  assert_mk_fails(mk_store_open(&cfg, &s, &e), MK_EINVAL);
  char url[200];
  snprintf(url, sizeof url, "sqlite:%s/no/such/dir/x.db", f->dir);
  cfg.url = url;
  cfg.busy_timeout_ms = 0;
  assert_mk_fails(mk_store_open(&cfg, &s, &e), MK_EIO);
  assert_non_null(strstr(e.msg, "cannot create"));
  assert_null(s);
}

/* ---- statements ------------------------------------------------------------ */

static void test_types_round_trip(void **state) {
  struct fx *f = *state;
  mk_store *s = open_with_t(f, 1, 0);
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  mk_err e = {0};
  static const unsigned char blob[] = {'a', 0, 'b', 0, 0xff};
  size_t len = 99;
  assert_mk_ok(mk_store_acquire(s, &db, &e));
  assert_mk_ok(mk_db_prepare(db, "INSERT INTO t(id, i, b, n) VALUES ($1, $2, $3, $4)", &st, &e));
  assert_mk_ok(mk_stmt_bind_text(st, 1, "min-\xe4\xb8\xad\xe6\x96\x87", &e));
  assert_mk_ok(mk_stmt_bind_int(st, 2, INT64_MIN, &e));
  assert_mk_ok(mk_stmt_bind_blob(st, 3, blob, sizeof blob, &e));
  assert_mk_ok(mk_stmt_bind_null(st, 4, &e));
  assert_int_equal(mk_stmt_step(st, &e), 0);
  assert_int_equal(mk_db_changes(db), 1);
  mk_stmt_finish(st);
  /* Same statement again from the cache: bindings start as NULL. */
  assert_mk_ok(mk_db_prepare(db, "INSERT INTO t(id, i, b, n) VALUES ($1, $2, $3, $4)", &st, &e));
  assert_mk_ok(mk_stmt_bind_text(st, 1, "max", &e));
  assert_mk_ok(mk_stmt_bind_int(st, 2, INT64_MAX, &e));
  assert_mk_ok(mk_stmt_bind_blob(st, 3, "123", 3, &e)); /* digits stay bytes in BYTEA */
  assert_mk_ok(mk_stmt_bind_text(st, 4, NULL, &e));
  assert_int_equal(mk_stmt_step(st, &e), 0);
  mk_stmt_finish(st);
  assert_mk_ok(mk_db_prepare(db, "INSERT INTO t(id, b) VALUES ($1, $2)", &st, &e));
  assert_mk_ok(mk_stmt_bind_text(st, 1, "empty", &e));
  assert_mk_ok(mk_stmt_bind_blob(st, 2, NULL, 0, &e));
  assert_int_equal(mk_stmt_step(st, &e), 0);
  mk_stmt_finish(st);

  assert_mk_ok(mk_db_prepare(db, "SELECT id, i, b, n FROM t ORDER BY i", &st, &e));
  assert_int_equal(mk_stmt_step(st, &e), 1);
  assert_string_equal(mk_stmt_text(st, 0), "empty");
  assert_true(mk_stmt_is_null(st, 1));
  assert_int_equal(mk_stmt_int(st, 1), 0);
  const void *p = mk_stmt_blob(st, 2, &len);
  assert_non_null(p); /* empty, not NULL */
  assert_int_equal(len, 0);
  assert_false(mk_stmt_is_null(st, 2));
  assert_int_equal(mk_stmt_step(st, &e), 1);
  assert_string_equal(mk_stmt_text(st, 0), "min-\xe4\xb8\xad\xe6\x96\x87");
  assert_true(mk_stmt_int(st, 1) == INT64_MIN);
  p = mk_stmt_blob(st, 2, &len);
  assert_int_equal(len, sizeof blob);
  assert_memory_equal(p, blob, sizeof blob);
  assert_true(mk_stmt_is_null(st, 3));
  assert_null(mk_stmt_text(st, 3));
  assert_null(mk_stmt_blob(st, 3, &len));
  assert_int_equal(len, 0);
  assert_int_equal(mk_stmt_step(st, &e), 1);
  assert_string_equal(mk_stmt_text(st, 0), "max");
  assert_true(mk_stmt_int(st, 1) == INT64_MAX);
  p = mk_stmt_blob(st, 2, &len);
  assert_int_equal(len, 3);
  assert_memory_equal(p, "123", 3);
  assert_null(mk_stmt_text(st, 3));
  /* Out of range columns answer "no value". */
  assert_null(mk_stmt_text(st, 4));
  assert_null(mk_stmt_text(st, -1));
  assert_true(mk_stmt_is_null(st, 4));
  assert_int_equal(mk_stmt_step(st, &e), 0);
  assert_null(mk_stmt_text(st, 0)); /* no current row */
  mk_stmt_finish(st);
  mk_store_release(s, db);
  mk_store_close(s);
}

static void test_parameters(void **state) {
  struct fx *f = *state;
  mk_store *s = open_with_t(f, 1, 0);
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  mk_err e = {0};
  assert_mk_ok(mk_store_acquire(s, &db, &e));
  /* $1 twice binds once. */
  assert_mk_ok(mk_db_prepare(db, "SELECT $1 + $1, $2", &st, &e));
  assert_mk_ok(mk_stmt_bind_int(st, 1, 21, &e));
  assert_mk_ok(mk_stmt_bind_text(st, 2, "x", &e));
  assert_mk_fails(mk_stmt_bind_int(st, 3, 1, &e), MK_EINVAL);
  assert_string_equal(e.msg, "cannot bind $3: the statement has no such parameter");
  assert_mk_fails(mk_stmt_bind_text(st, 0, "x", &e), MK_EINVAL);
  assert_mk_fails(mk_stmt_bind_blob(st, 7, "x", 1, &e), MK_EINVAL);
  assert_mk_fails(mk_stmt_bind_null(st, -1, &e), MK_EINVAL);
  assert_int_equal(mk_stmt_step(st, &e), 1);
  assert_int_equal(mk_stmt_int(st, 0), 42);
  assert_string_equal(mk_stmt_text(st, 1), "x");
  assert_int_equal(mk_stmt_step(st, &e), 0);
  mk_stmt_finish(st);
  /* Values never become SQL: a quote in a value is just a character. */
  assert_mk_ok(insert_t(db, "a'); DROP TABLE t; --", &e));
  assert_int_equal(count_rows(db, "SELECT COUNT(*) FROM t"), 1);
  /* One statement per prepare; none at all is invalid too. */
  assert_mk_fails(mk_db_prepare(db, "SELECT 1; SELECT 2", &st, &e), MK_EINVAL);
  assert_null(st);
  assert_mk_fails(mk_db_prepare(db, "  -- nothing\n", &st, &e), MK_EINVAL);
  assert_mk_ok(mk_db_prepare(db, "SELECT 1; -- trailing comment\n", &st, &e));
  mk_stmt_finish(st);
  assert_mk_fails(mk_db_prepare(db, "SELEC 1", &st, &e), MK_ESTORE);
  assert_non_null(strstr(e.msg, "cannot prepare statement: "));
  mk_store_release(s, db);
  mk_store_close(s);
}

static void test_unique_violation_is_conflict(void **state) {
  struct fx *f = *state;
  mk_store *s = open_with_t(f, 1, 0);
  mk_db *db = NULL;
  mk_err e = {0};
  assert_mk_ok(mk_store_acquire(s, &db, &e));
  assert_mk_ok(insert_t(db, "k1", &e));
  assert_mk_fails(insert_t(db, "k1", &e), MK_ECONFLICT);
  assert_string_equal(e.msg, "statement failed: UNIQUE constraint failed: t.id");
  assert_mk_fails(mk_db_exec(db, "INSERT INTO t(id) VALUES ('k1')", &e), MK_ECONFLICT);
  /* Not every failure is a conflict. */
  assert_mk_fails(mk_db_exec(db, "SELECT 1;\nSELECT * FROM nosuch", &e), MK_ESTORE);
  assert_string_equal(e.msg, "line 2: no such table: nosuch");
  /* The statement is usable after the failure. */
  assert_mk_ok(insert_t(db, "k2", &e));
  assert_int_equal(mk_db_changes(db), 1);
  assert_mk_ok(mk_db_exec(db, "UPDATE t SET n = 'x'", &e));
  assert_int_equal(mk_db_changes(db), 2);
  mk_store_release(s, db);
  mk_store_close(s);
}

static void test_statement_cache(void **state) {
  struct fx *f = *state;
  mk_store *s = open_with_t(f, 1, 0);
  mk_db *db = NULL;
  mk_stmt *a = NULL, *b = NULL, *st = NULL;
  mk_err e = {0};
  char sql[64];
  assert_mk_ok(mk_store_acquire(s, &db, &e));
  assert_mk_ok(mk_db_prepare(db, "SELECT 7", &a, &e));
  assert_int_equal(mk_stmt_step(a, &e), 1);
  mk_stmt_finish(a);
  assert_mk_ok(mk_db_prepare(db, "SELECT 7", &b, &e));
  assert_ptr_equal(a, b); /* reused from the cache */
  assert_int_equal(mk_stmt_step(b, &e), 1);
  assert_int_equal(mk_stmt_int(b, 0), 7);
  /* Same text while the first is still in use: a second statement. */
  assert_mk_ok(mk_db_prepare(db, "SELECT 7", &a, &e));
  assert_ptr_not_equal(a, b);
  assert_int_equal(mk_stmt_step(a, &e), 1);
  assert_int_equal(mk_stmt_int(a, 0), 7);
  assert_int_equal(mk_stmt_int(b, 0), 7);
  mk_stmt_finish(a);
  mk_stmt_finish(b);
  mk_stmt_finish(b); /* twice is harmless */
  /* More distinct statements than the cache holds: old ones are evicted. */
  for (int i = 0; i < 100; i++) {
    snprintf(sql, sizeof sql, "SELECT %d", i);
    assert_mk_ok(mk_db_prepare(db, sql, &st, &e));
    assert_int_equal(mk_stmt_step(st, &e), 1);
    assert_int_equal(mk_stmt_int(st, 0), i);
    mk_stmt_finish(st);
  }
  assert_mk_ok(mk_db_prepare(db, "SELECT 7", &st, &e));
  assert_int_equal(mk_stmt_step(st, &e), 1);
  assert_int_equal(mk_stmt_int(st, 0), 7);
  mk_stmt_finish(st);
  /* 64 unfinished statements fill the cache; the 65th is a leak. */
  mk_stmt *open[64];
  for (int i = 0; i < 64; i++) {
    snprintf(sql, sizeof sql, "SELECT %d", i);
    assert_mk_ok(mk_db_prepare(db, sql, &open[i], &e));
  }
  assert_mk_fails(mk_db_prepare(db, "SELECT 'one more'", &st, &e), MK_EINTERNAL);
  assert_non_null(strstr(e.msg, "more than 64 statements open"));
  /* Release finishes them all. */
  mk_store_release(s, db);
  assert_mk_ok(mk_store_acquire(s, &db, &e));
  assert_mk_ok(mk_db_prepare(db, "SELECT 'one more'", &st, &e));
  assert_int_equal(mk_stmt_step(st, &e), 1);
  assert_string_equal(mk_stmt_text(st, 0), "one more");
  mk_store_release(s, db); /* st left unfinished on purpose */
  assert_mk_ok(mk_store_acquire(s, &db, &e));
  assert_mk_ok(mk_db_prepare(db, "SELECT 'one more'", &a, &e));
  assert_ptr_equal(a, st);
  assert_int_equal(mk_stmt_step(a, &e), 1);
  mk_stmt_finish(a);
  mk_store_release(s, db);
  mk_store_close(s);
}

/* ---- transactions ------------------------------------------------------------ */

static void test_transactions_between_connections(void **state) {
  struct fx *f = *state;
  mk_store *s = open_with_t(f, 2, 200);
  mk_db *w = NULL, *r = NULL;
  mk_err e = {0};
  assert_mk_ok(mk_store_acquire(s, &w, &e));
  assert_mk_ok(mk_store_acquire(s, &r, &e));
  assert_ptr_not_equal(w, r);
  assert_false(mk_db_in_tx(w));
  assert_mk_ok(mk_db_begin(w, &e));
  assert_true(mk_db_in_tx(w));
  assert_mk_fails(mk_db_begin(w, &e), MK_EINTERNAL);
  assert_mk_ok(insert_t(w, "c1", &e));
  assert_int_equal(count_rows(r, "SELECT COUNT(*) FROM t"), 0); /* not yet committed */
  assert_mk_ok(mk_db_commit(w, &e));
  assert_false(mk_db_in_tx(w));
  assert_int_equal(count_rows(r, "SELECT COUNT(*) FROM t"), 1);

  assert_mk_ok(mk_db_begin(w, &e));
  assert_mk_ok(insert_t(w, "r1", &e));
  assert_int_equal(count_rows(w, "SELECT COUNT(*) FROM t"), 2);
  mk_db_rollback(w);
  assert_false(mk_db_in_tx(w));
  mk_db_rollback(w); /* no-op without a transaction */
  assert_int_equal(count_rows(r, "SELECT COUNT(*) FROM t"), 1);
  assert_int_equal(count_rows(w, "SELECT COUNT(*) FROM t"), 1);
  assert_mk_fails(mk_db_commit(w, &e), MK_EINTERNAL);

  /* BEGIN IMMEDIATE: a second writer waits for the lock, gives up after the
   * busy timeout, and gets it once the first is done. */
  assert_mk_ok(mk_db_begin(w, &e));
  double t0 = mono_ms();
  assert_mk_fails(mk_db_begin(r, &e), MK_ESTORE);
  assert_true(mono_ms() - t0 >= 150.0);
  assert_string_equal(e.msg, "cannot begin transaction: database is locked");
  assert_false(mk_db_in_tx(r));
  mk_db_rollback(w);
  assert_mk_ok(mk_db_begin(r, &e));
  mk_db_rollback(r);
  mk_store_release(s, r);
  mk_store_release(s, w);
  mk_store_close(s);
}

static void test_commit_failure_ends_transaction(void **state) {
  struct fx *f = *state;
  mk_store *s = open_with_t(f, 1, 0);
  mk_db *db = NULL;
  mk_err e = {0};
  assert_mk_ok(mk_store_acquire(s, &db, &e));
  assert_mk_ok(mk_db_exec(db, "CREATE TABLE dchild (id TEXT PRIMARY KEY, parent_id TEXT\n"
                              "  REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)", &e));
  assert_mk_ok(mk_db_begin(db, &e));
  assert_mk_ok(mk_db_exec(db, "INSERT INTO dchild VALUES ('c', 'missing')", &e));
  assert_mk_fails(mk_db_commit(db, &e), MK_ECONFLICT);
  assert_non_null(strstr(e.msg, "cannot commit transaction: FOREIGN KEY"));
  assert_false(mk_db_in_tx(db));
  assert_int_equal(count_rows(db, "SELECT COUNT(*) FROM dchild"), 0);
  mk_store_release(s, db);
  mk_store_close(s);
}

static void test_release_rolls_back(void **state) {
  struct fx *f = *state;
  mk_store *s = open_with_t(f, 1, 0);
  mk_db *db = NULL, *again = NULL;
  mk_stmt *st = NULL;
  mk_err e = {0};
  assert_mk_ok(mk_store_acquire(s, &db, &e));
  assert_mk_ok(mk_db_begin(db, &e));
  assert_mk_ok(insert_t(db, "lost", &e));
  /* A statement mid-iteration, never finished. */
  assert_mk_ok(mk_db_prepare(db, "SELECT id FROM t", &st, &e));
  assert_int_equal(mk_stmt_step(st, &e), 1);
  mk_store_release(s, db);
  mk_store_release(s, NULL);
  assert_mk_ok(mk_store_acquire(s, &again, &e));
  assert_ptr_equal(again, db); /* pool of one */
  assert_false(mk_db_in_tx(again));
  assert_int_equal(count_rows(again, "SELECT COUNT(*) FROM t"), 0);
  /* The connection works normally afterwards. */
  assert_mk_ok(mk_db_begin(again, &e));
  assert_mk_ok(insert_t(again, "kept", &e));
  assert_mk_ok(mk_db_commit(again, &e));
  assert_int_equal(count_rows(again, "SELECT COUNT(*) FROM t"), 1);
  mk_store_release(s, again);
  mk_store_close(s);
}

/* ---- pool ---------------------------------------------------------------- */

static void test_pool_exhaustion_times_out(void **state) {
  struct fx *f = *state;
  mk_store *s = open_with_t(f, 2, 150);
  mk_db *a = NULL, *b = NULL, *c = NULL;
  mk_err e = {0};
  assert_mk_ok(mk_store_acquire(s, &a, &e));
  assert_mk_ok(mk_store_acquire(s, &b, &e));
  double t0 = mono_ms();
  assert_mk_fails(mk_store_acquire(s, &c, &e), MK_ERATE);
  double waited = mono_ms() - t0;
  assert_null(c);
  assert_string_equal(e.msg, "no database connection free");
  assert_true(waited >= 140.0);
  assert_true(waited < 3000.0);
  mk_store_release(s, a);
  assert_mk_ok(mk_store_acquire(s, &c, &e));
  assert_ptr_equal(c, a);
  mk_store_release(s, b);
  mk_store_release(s, c);
  mk_store_close(s);
}

/* A second thread that holds a connection. cmocka's asserts belong to the
 * test's own thread, so it records what went wrong for the test to check. */
struct holder {
  mk_store *s;
  mk_db *db;
  int tx;         /* write a row in a transaction, committed after go */
  sem_t acquired; /* posted once db is held (or acquiring failed) */
  sem_t go;       /* posted by the test to let it finish (tx only) */
  int rc;         /* first failure, 0 when none */
  char msg[MK_ERR_MSG_MAX];
};

static void holder_init(struct holder *h, mk_store *s, int tx) {
  memset(h, 0, sizeof *h);
  h->s = s;
  h->tx = tx;
  assert_int_equal(sem_init(&h->acquired, 0, 0), 0);
  assert_int_equal(sem_init(&h->go, 0, 0), 0);
}

static void holder_done(struct holder *h) {
  if (h->rc != 0)
    fail_msg("holder thread failed (%d): %s", h->rc, h->msg);
  sem_destroy(&h->acquired);
  sem_destroy(&h->go);
}

static void *hold(void *arg) {
  struct holder *h = arg;
  mk_err e = {0};
  int rc = mk_store_acquire(h->s, &h->db, &e);
  if (rc == 0 && h->tx)
    rc = mk_db_begin(h->db, &e);
  if (rc == 0 && h->tx)
    rc = insert_t(h->db, "held", &e);
  h->rc = rc;
  sem_post(&h->acquired);
  if (h->tx) {
    while (sem_wait(&h->go) != 0)
      ;
    if (rc == 0)
      rc = mk_db_commit(h->db, &e);
  } else {
    struct timespec ts = {0, 200 * 1000000L};
    nanosleep(&ts, NULL);
  }
  if (h->rc == 0 && rc != 0)
    h->rc = rc;
  if (rc != 0)
    snprintf(h->msg, sizeof h->msg, "%s", e.msg);
  mk_store_release(h->s, h->db);
  return NULL;
}

static void test_pool_waiter_is_woken(void **state) {
  struct fx *f = *state;
  mk_store *s = open_with_t(f, 1, 10000);
  struct holder h;
  mk_db *db = NULL;
  mk_err e = {0};
  pthread_t t;
  holder_init(&h, s, 0);
  assert_int_equal(pthread_create(&t, NULL, hold, &h), 0);
  assert_int_equal(sem_wait(&h.acquired), 0);
  double t0 = mono_ms();
  assert_mk_ok(mk_store_acquire(s, &db, &e));
  double waited = mono_ms() - t0;
  assert_int_equal(pthread_join(t, NULL), 0);
  holder_done(&h);
  assert_ptr_equal(db, h.db);
  assert_true(waited >= 150.0);
  assert_true(waited < 5000.0); /* woken by the release, not the timeout */
  mk_store_release(s, db);
  mk_store_close(s);
}

/* Both connections of a pool of two can be taken, once each, and no more. */
static void expect_pool_of_two(mk_store *s) {
  mk_db *a = NULL, *b = NULL, *c = NULL;
  mk_err e = {0};
  assert_mk_ok(mk_store_acquire(s, &a, &e));
  assert_mk_ok(mk_store_acquire(s, &b, &e));
  assert_ptr_not_equal(a, b);
  assert_mk_fails(mk_store_acquire(s, &c, &e), MK_ERATE);
  mk_store_release(s, a);
  mk_store_release(s, b);
}

static void test_double_release_is_noop(void **state) {
  struct fx *f = *state;
  mk_store *s = open_with_t(f, 2, 150);
  mk_db *a = NULL, *b = NULL, *c = NULL;
  mk_err e = {0};
  struct holder h;
  pthread_t t;

  /* In one thread. */
  assert_mk_ok(mk_store_acquire(s, &a, &e));
  mk_store_release(s, a);
  mk_store_release(s, a);
  expect_pool_of_two(s);

  /* Another thread takes the connection in between: the stale release must
   * neither put it back nor roll back that thread's transaction. */
  assert_mk_ok(mk_store_acquire(s, &a, &e));
  mk_store_release(s, a);
  holder_init(&h, s, 1);
  assert_int_equal(pthread_create(&t, NULL, hold, &h), 0);
  assert_int_equal(sem_wait(&h.acquired), 0);
  assert_ptr_equal(h.db, a); /* the free list is a stack: last released, first taken */
  mk_store_release(s, a);
  assert_mk_ok(mk_store_acquire(s, &b, &e));
  assert_ptr_not_equal(b, a);
  assert_mk_fails(mk_store_acquire(s, &c, &e), MK_ERATE); /* a is not free */
  assert_null(c);
  assert_int_equal(sem_post(&h.go), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
  holder_done(&h); /* its commit found the transaction still open */
  assert_int_equal(count_rows(b, "SELECT COUNT(*) FROM t WHERE id = 'held'"), 1);
  mk_store_release(s, b);
  mk_store_release(s, b);
  expect_pool_of_two(s);
  mk_store_close(s);
}

#define WRITERS 4
#define ROWS_EACH 100

struct writer {
  mk_store *s;
  int n;
  int failures;
  char first_error[MK_ERR_MSG_MAX];
};

static void *write_rows(void *arg) {
  struct writer *w = arg;
  for (int i = 0; i < ROWS_EACH; i++) {
    mk_db *db = NULL;
    mk_err e = {0};
    char id[32];
    snprintf(id, sizeof id, "w%d-%d", w->n, i);
    int rc = mk_store_acquire(w->s, &db, &e);
    if (rc == 0)
      rc = mk_db_begin(db, &e);
    if (rc == 0)
      rc = insert_t(db, id, &e);
    if (rc == 0)
      rc = mk_db_commit(db, &e);
    mk_store_release(w->s, db);
    if (rc < 0 && w->failures++ == 0)
      snprintf(w->first_error, sizeof w->first_error, "%s", e.msg);
  }
  return NULL;
}

static void test_concurrent_writers(void **state) {
  struct fx *f = *state;
  mk_store *s = open_with_t(f, WRITERS, 10000);
  struct writer w[WRITERS];
  pthread_t t[WRITERS];
  mk_db *db = NULL;
  mk_err e = {0};
  for (int i = 0; i < WRITERS; i++) {
    w[i] = (struct writer){.s = s, .n = i};
    assert_int_equal(pthread_create(&t[i], NULL, write_rows, &w[i]), 0);
  }
  for (int i = 0; i < WRITERS; i++)
    assert_int_equal(pthread_join(t[i], NULL), 0);
  for (int i = 0; i < WRITERS; i++) {
    if (w[i].failures != 0)
      fail_msg("writer %d: %d failures, first: %s", i, w[i].failures, w[i].first_error);
  }
  assert_mk_ok(mk_store_acquire(s, &db, &e));
  assert_int_equal(count_rows(db, "SELECT COUNT(*) FROM t"), WRITERS * ROWS_EACH);
  assert_int_equal(count_rows(db, "SELECT COUNT(DISTINCT id) FROM t"), WRITERS * ROWS_EACH);
  mk_store_release(s, db);
  mk_store_close(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_open_creates_private_file_and_migrates, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reopen_applies_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pragmas_on_every_connection, setup, teardown),
      cmocka_unit_test_setup_teardown(test_migration_checksum_changed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_migration_failure_rolls_back, setup, teardown),
      cmocka_unit_test_setup_teardown(test_migration_newer_database_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_migration_inserted_late_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_migration_bad_names_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_migration_ending_transaction_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_urls_and_settings, setup, teardown),
      cmocka_unit_test_setup_teardown(test_types_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_parameters, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unique_violation_is_conflict, setup, teardown),
      cmocka_unit_test_setup_teardown(test_statement_cache, setup, teardown),
      cmocka_unit_test_setup_teardown(test_transactions_between_connections, setup, teardown),
      cmocka_unit_test_setup_teardown(test_commit_failure_ends_transaction, setup, teardown),
      cmocka_unit_test_setup_teardown(test_release_rolls_back, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pool_exhaustion_times_out, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pool_waiter_is_woken, setup, teardown),
      cmocka_unit_test_setup_teardown(test_double_release_is_noop, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
