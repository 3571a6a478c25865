/*
 * Guard macros: keep the happy path straight and every error checked.
 *
 * A function that uses them declares `int rc = 0;`, an `mk_err *err` (may be
 * NULL) and a single `out:` label where it frees what it owns and returns rc:
 *
 *   int rc = 0;
 *   MK_TRY(mk_buf_append(&b, p, n, err));
 *   MK_ENSURE(n <= MAX, MK_ETOOBIG, err, "body over %zu bytes", MAX);
 *   MK_TRY_OSSL(EVP_DigestInit_ex(ctx, md, NULL), err, "SM3 init");
 * out:
 *   mk_buf_free(&b);
 *   return rc;
 *
 * Families: MK_* for mkey's own int-returning calls, MK_*_OSSL for OpenSSL's
 * 1-on-success and pointer results, MK_TRY_SQLITE in server/store for sqlite3.
 */
#ifndef MK_UTIL_GUARD_H
#define MK_UTIL_GUARD_H

#include "mkey/mkey.h"

/* Propagate a negative result; err already holds the detail. */
#define MK_TRY(expr)                                                           \
  do {                                                                         \
    int mk_try_rc_ = (expr);                                                   \
    if (mk_try_rc_ < 0) {                                                      \
      rc = mk_try_rc_;                                                         \
      goto out;                                                                \
    }                                                                          \
  } while (0)

/* Fail with code and a message unless cond holds. */
#define MK_ENSURE(cond, code, err, ...)                                        \
  do {                                                                         \
    if (!(cond)) {                                                             \
      rc = mk_err_set((err), (code), __VA_ARGS__);                             \
      goto out;                                                                \
    }                                                                          \
  } while (0)

/* Fail with MK_ENOMEM when an allocation returned NULL. */
#define MK_ENSURE_ALLOC(ptr, err)                                              \
  MK_ENSURE((ptr) != NULL, MK_ENOMEM, (err), "out of memory")

/* Fail unconditionally. */
#define MK_FAIL(code, err, ...)                                                \
  do {                                                                         \
    rc = mk_err_set((err), (code), __VA_ARGS__);                               \
    goto out;                                                                  \
  } while (0)

/* OpenSSL: calls that return 1 on success. The OpenSSL error queue is
 * drained into the message ("what: reason"). */
#define MK_TRY_OSSL(expr, err, what)                                           \
  do {                                                                         \
    if ((expr) != 1) {                                                         \
      rc = mk_err_ossl((err), MK_ECRYPTO, (what));                             \
      goto out;                                                                \
    }                                                                          \
  } while (0)

/* OpenSSL: calls that return a pointer, NULL on failure. */
#define MK_TRY_PTR_OSSL(lhs, expr, err, what)                                  \
  do {                                                                         \
    if (((lhs) = (expr)) == NULL) {                                            \
      rc = mk_err_ossl((err), MK_ECRYPTO, (what));                             \
      goto out;                                                                \
    }                                                                          \
  } while (0)

/* Record code with "what: <first OpenSSL error>" and clear OpenSSL's error
 * queue; returns code. Defined in util/err.c. */
int mk_err_ossl(mk_err *e, int code, const char *what);

#endif
