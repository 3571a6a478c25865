/*
 * Object ids: a type prefix, "_", then 26 characters of lower-case Crockford
 * base32 (0-9 a-z without i l o u) carrying 128 random bits from the OpenSSL
 * CSPRNG, e.g. "acc_01j9x3k7q2m8v4w6y0z5r1t3bd". The prefix (DESIGN.md: acc,
 * ent, apl, crt, key, qr, msg, seal, app, ord, req, ...) makes a stray id
 * recognisable in a log. 128 bits make ids unguessable; they still are not
 * authorisation.
 */
#ifndef MK_UTIL_ID_H
#define MK_UTIL_ID_H

#include "mkey/mkey.h"

#define MK_ID_PREFIX_MAX 8
#define MK_ID_RANDOM_CHARS 26
/* prefix + '_' + 26 + NUL */
#define MK_ID_MAX (MK_ID_PREFIX_MAX + 1 + MK_ID_RANDOM_CHARS + 1)

/* Write a new id with prefix (1..8 chars of [a-z]) into out (MK_ID_MAX bytes).
 * Fails with MK_EINVAL for a bad prefix, MK_ECRYPTO when the RNG fails. */
int mk_id_new(char out[MK_ID_MAX], const char *prefix, mk_err *e) MK_MUST_CHECK;

/* 0 when s is a well-formed id with this prefix (NULL: any valid prefix),
 * else MK_EINVAL. Use it on every id that arrives from outside. */
int mk_id_check(const char *s, const char *prefix, mk_err *e) MK_MUST_CHECK;

#endif
