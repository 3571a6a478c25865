/*
 * Time: Unix seconds (int64) inside mkey; RFC 3339 UTC text ("Z") outside.
 */
#ifndef MK_UTIL_TIME_H
#define MK_UTIL_TIME_H

#include "mkey/mkey.h"

#define MK_TIME_TEXT_MAX 32 /* "2026-11-29T05:04:32Z" + room */

/* Wall clock, Unix seconds. */
int64_t mk_time_now(void);
/* Monotonic clock in milliseconds, for durations and timeouts. */
int64_t mk_time_mono_ms(void);

/* Format t as "YYYY-MM-DDTHH:MM:SSZ" (years 0000..9999). */
int mk_time_format(int64_t t, char out[MK_TIME_TEXT_MAX], mk_err *e) MK_MUST_CHECK;

/* Parse RFC 3339 date-time (§5.6): "T" or "t" or " " separator, optional
 * fraction (ignored, truncated), "Z"/"z" or ±HH:MM offset; checks ranges and
 * days in month (leap years), allows second 60 only as RFC 3339 does (read as
 * 59). Result in Unix seconds UTC. */
int mk_time_parse(const char *s, int64_t *out, mk_err *e) MK_MUST_CHECK;

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian); helper for callers
 * that check dates (e.g. a birth date in an ID number). */
int64_t mk_days_from_civil(int64_t y, unsigned m, unsigned d);
/* 1 when y-m-d is a real calendar date, else 0. */
int mk_date_valid(int y, int m, int d);

#endif
