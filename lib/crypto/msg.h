/*
 * The JSON codec of the two-party protocol messages (sm2p, rsap):
 *
 *   {"v":1, "alg":"sm2", "op":"sign", "step":"request", "e":"…", "q1":"…"}
 *
 * Binary fields are base64url without padding (RFC 4648 §5). Decoding is
 * strict, so one message has one text: exactly the header keys and the named
 * fields, v == 1, the expected alg, op and step, no padding, the canonical
 * encoding of a value in its byte bounds. Input is refused with MK_EINVAL and
 * a message naming the field first (a caller may prefix the message's name);
 * MK_EINTERNAL means the caller passed impossible bounds.
 */
#ifndef MK_CRYPTO_MSG_H
#define MK_CRYPTO_MSG_H

#include <jansson.h>
#include <stddef.h>

#include "mkey/mkey.h"

#define MK_PMSG_VERSION 1
#define MK_PMSG_FIELD_MAX 512 /* largest binary field: an RSA-4096 integer */
#define MK_PMSG_NAME_MAX 16   /* alg, op and step names */
#define MK_PMSG_FIELDS_MAX 8  /* fields besides v, alg, op, step */

/* A new message {"v":1,"alg":alg,"op":op,"step":step}. Caller owns *out
 * (mk_pmsg_free); NULL on failure. */
int mk_pmsg_new(const char *alg, const char *op, const char *step, json_t **out,
                mk_err *e) MK_MUST_CHECK;

/* Set key to the base64url text of p[0..n) (n <= MK_PMSG_FIELD_MAX). The
 * stack copy of the text is wiped: fields may carry secret shares. */
int mk_pmsg_put(json_t *m, const char *key, const unsigned char *p, size_t n,
                mk_err *e) MK_MUST_CHECK;

/* Check that m is a message with exactly v, alg, op, step and the
 * NULL-terminated fields (all present, not null), v == MK_PMSG_VERSION, alg
 * one of the NULL-terminated algs, and the given op and step. *alg_out (may
 * be NULL) gets the entry of algs that matched, not a pointer into m. */
int mk_pmsg_check(const json_t *m, const char *const *algs, const char *op, const char *step,
                  const char *const *fields, const char **alg_out, mk_err *e) MK_MUST_CHECK;

/* Decode the base64url field key into out (max bytes of room): unpadded,
 * canonical, min..max bytes (1 <= min <= max <= MK_PMSG_FIELD_MAX). *len (may
 * be NULL) gets the length. On failure out may hold part of the value. */
int mk_pmsg_get(const json_t *m, const char *key, unsigned char *out, size_t min, size_t max,
                size_t *len, mk_err *e) MK_MUST_CHECK;

/* Drop a reference to m; when it is the last, wipe every string in it (and
 * in nested values nobody else holds) first. NULL does nothing. */
void mk_pmsg_free(json_t *m);

#endif
