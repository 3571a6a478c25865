/* The fixture the server's service tests share: a temporary directory, a
 * KEK file, a migrated SQLite store and an mk_svc_ctx whose clock is pinned
 * to fx.clock, with helpers for raw SQL, callers and uploads.
 *
 * One fixture per test program: the program's cmocka group setup calls
 * fx_open (then seeds what it needs); fx_teardown ends it. The
 * helpers fail the running test on any store error. */
#ifndef MK_SVC_FIXTURE_H
#define MK_SVC_FIXTURE_H

#include "mk_test.h"
#include "svc/svc.h"
#include "util/json.h"

/* Where fx.clock starts, and the same instant as a timestamp for seeds. */
#define FX_EPOCH INT64_C(1796000000)
#define FX_TS "2026-11-30T00:00:00Z"

typedef struct svc_fx {
  char dir[64];
  mk_config cfg;
  mk_store *store;
  mk_kek *kek; /* NULL unless opened with FX_KEK */
  mk_svc_ctx ctx;
  int64_t clock; /* what fx.ctx.now answers; FX_EPOCH until a test moves it */
} svc_fx;

extern svc_fx fx;

/* fx_open's flags. */
#define FX_KEK 1u /* open (and make) a KEK at DIR/kek for fx.ctx */
#define FX_CA 2u  /* seed the sandbox CAs (mk_svc_ca_init) at FX_BASE_URL */

#define FX_BASE_URL "http://127.0.0.1:8080"

/* Opens the fixture in a new directory /tmp/mkey-TAG-(random): the KEK when
 * flags has FX_KEK, the store at DIR/mkey.db with pool connections,
 * fx.cfg all zero but sandbox, fx.ctx on them and the pinned clock, and
 * the sandbox CAs when flags has FX_CA. 0, or -1 when any of it fails. */
int fx_open(const char *tag, unsigned flags, int pool);
/* A cmocka group teardown: closes the store and the KEK and removes the
 * directory with all in it. */
int fx_teardown(void **state);

/* Runs q with the text parameters that follow ($1, $2, ...; the list ends
 * at the first NULL); the statement may return rows or none. */
#define fx_sql(...) fx_sql_(__VA_ARGS__, (const char *)NULL)
/* The integer in the first column of the one row q returns, parameters as
 * for fx_sql. */
#define fx_count(...) fx_count_(__VA_ARGS__, (const char *)NULL)
void fx_sql_(const char *q, ...);
int64_t fx_count_(const char *q, ...);
/* Runs a script of statements without parameters. */
void fx_exec(const char *script);

/* Seeds: the trading platform plt_t (测试交易平台), an account (created
 * at FX_TS) and a CFCA-verified identity. */
void fx_add_platform(void);
void fx_add_account(const char *account_id, const char *phone);
void fx_add_identity(const char *account_id, const char *name, const char *id_number);

/* The caller of the next service call. An account signed in from
 * 127.0.0.1: */
void fx_as_account(const char *account_id);
/* A CA operator operator_id of ca_id; NULL names it after the CA id's last
 * part (ca_sbx_zjca: cop_zjca). */
void fx_as_ca(const char *ca_id, const char *operator_id);
/* The platform operator (remote may be NULL). */
void fx_as_operator(const char *remote);
/* Nobody signed in, from remote. */
void fx_as_anon(const char *remote);

/* Uploads n bytes of type as account_id (who stays the caller); the
 * attachment's id in id. */
void fx_upload(const char *account_id, const unsigned char *data, size_t n, const char *type,
               char id[MK_ID_MAX]);

/* mk_svc_app_create and mk_svc_app_transition as the current caller, each
 * in a transaction of its own: committed when the call succeeds, rolled
 * back when it fails. Their code; e (and field, which may be NULL) as they
 * leave them. */
int fx_app_create(const mk_app_new *n, char id[MK_ID_MAX], char *field, mk_err *e);
int fx_app_transition(const char *app, int event, const char *reason, mk_err *e);

/* The smallest valid images: a PNG signature with an IHDR chunk, a JPEG
 * with SOI ... EOI. */
extern const unsigned char fx_png[45];
extern const unsigned char fx_jpeg[13];

#endif
