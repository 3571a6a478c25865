/*
 * libmkey: the public C API.
 *
 * Conventions (docs/conventions.md has the long form):
 * - Fallible functions return int: 0 on success, a negative MK_E* code on failure,
 *   and write the reason into the mk_err the caller passed (which may be NULL).
 * - Handles are opaque, made by *_new and released by *_free; *_free(NULL) is a no-op.
 * - Secrets are wiped before their memory is released.
 */
#ifndef MKEY_MKEY_H
#define MKEY_MKEY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MKEY_BUILDING)
#define MK_EXPORT __attribute__((visibility("default")))
#else
#define MK_EXPORT
#endif

#define MK_MUST_CHECK __attribute__((warn_unused_result))

/* ---- version ---------------------------------------------------------- */

MK_EXPORT const char *mk_version(void);

/* ---- errors ----------------------------------------------------------- */

/* Stable error codes; the API maps each to a problem type (docs/api.md). */
enum mk_code {
  MK_OK = 0,
  MK_EINVAL = -1,     /* bad input: syntax, range, check digit */
  MK_ENOMEM = -2,     /* allocation failed */
  MK_ETOOBIG = -3,    /* input or buffer over its cap */
  MK_EIO = -4,        /* file or socket error */
  MK_ECRYPTO = -5,    /* a cryptographic operation failed */
  MK_ESTORE = -6,     /* the database failed */
  MK_ENOTFOUND = -7,  /* no such object */
  MK_ECONFLICT = -8,  /* state forbids it, or it exists already */
  MK_EAUTH = -9,      /* not authenticated */
  MK_EPERM = -10,     /* authenticated, not allowed */
  MK_ELOCKED = -11,   /* locked after too many failures */
  MK_EEXPIRED = -12,  /* expired or already used */
  MK_ERATE = -13,     /* rate limited */
  MK_ENET = -14,      /* could not reach a peer */
  MK_EPROTO = -15,    /* a peer answered something unexpected */
  MK_EINTERNAL = -16, /* a bug: an invariant did not hold */
};

#define MK_ERR_MSG_MAX 256

/* Caller-allocated error detail; keep one on the stack and pass its address.
 * A message names what failed first and never contains a secret. */
typedef struct mk_err {
  int code;                  /* enum mk_code */
  char msg[MK_ERR_MSG_MAX];  /* NUL-terminated, may be empty */
} mk_err;

/* Clear e (may be NULL). */
MK_EXPORT void mk_err_clear(mk_err *e);
/* Record code and a printf-style message in e (may be NULL); returns code. */
MK_EXPORT int mk_err_set(mk_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix the message already in e with "what: ", keeping its code; returns it. */
MK_EXPORT int mk_err_wrap(mk_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Short stable name of a code, e.g. "invalid" for MK_EINVAL. */
MK_EXPORT const char *mk_code_name(int code);

/* ---- validators (GB 11643, GB 32100, Luhn; docs/validators.md) ---------- */

/* Each returns 0 when s is valid, else MK_EINVAL with the reason in e. */
MK_EXPORT int mk_valid_id_number(const char *s, mk_err *e) MK_MUST_CHECK;
MK_EXPORT int mk_valid_uscc(const char *s, mk_err *e) MK_MUST_CHECK;
MK_EXPORT int mk_valid_mobile(const char *s, mk_err *e) MK_MUST_CHECK;
MK_EXPORT int mk_valid_bank_card(const char *s, mk_err *e) MK_MUST_CHECK;
MK_EXPORT int mk_valid_person_name(const char *s, mk_err *e) MK_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
