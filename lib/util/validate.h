/*
 * Internal entry points of the validators (lib/util/validate.c) whose public
 * form in <mkey/mkey.h> reads the clock: tests pass the instant instead.
 */
#ifndef MK_UTIL_VALIDATE_H
#define MK_UTIL_VALIDATE_H

#include "mkey/mkey.h"

/* mk_valid_id_number as of now (Unix seconds): the birth date must not be
 * after today's date in Beijing (UTC+8). */
int mk_valid_id_number_at(const char *s, int64_t now, mk_err *e) MK_MUST_CHECK;

#endif
