#include "util/time.h"
#include "util/guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SECS_PER_DAY 86400
/* Longer than any RFC 3339 text a peer has reason to send (nanosecond
 * fraction and offset need 35); bounds the scan of outside input. */
#define PARSE_MAX 64

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range of 4-digit years. */
#define FORMAT_MIN INT64_C(-62167219200)
#define FORMAT_MAX INT64_C(253402300799)

/* CLOCK_REALTIME and CLOCK_MONOTONIC always exist on the systems mkey runs on
 * (POSIX.1-2008); clock_gettime can then fail only on a bad pointer, which is
 * a bug. A made-up time would silently break expiry checks, so stop. */
static int64_t clock_ms_or_s(clockid_t id, int ms) {
  struct timespec ts;
  if (clock_gettime(id, &ts) != 0)
    abort();
  if (ms)
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  return (int64_t)ts.tv_sec;
}

int64_t mk_time_now(void) { return clock_ms_or_s(CLOCK_REALTIME, 0); }

int64_t mk_time_mono_ms(void) { return clock_ms_or_s(CLOCK_MONOTONIC, 1); }

static int is_leap(int64_t y) {
  return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int days_in_month(int64_t y, int m) {
  static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

int mk_date_valid(int y, int m, int d) {
  return m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

/* H. Hinnant, "chrono-Compatible Low-Level Date Algorithms", days_from_civil:
 * exact for the proleptic Gregorian calendar, no tables, no loops. Needs
 * m 1..12, d 1..31 and |y| < 10^15 (beyond that era * 146097 overflows). */
int64_t mk_days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;                                    /* 0..399 */
  int64_t mp = m > 2 ? (int64_t)m - 3 : (int64_t)m + 9;           /* March = 0 */
  int64_t doy = (153 * mp + 2) / 5 + (int64_t)d - 1;              /* 0..365 */
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            /* 0..146096 */
  return era * 146097 + doe - 719468;
}

/* The inverse, civil_from_days, from the same paper. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;                                 /* 0..146096 */
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);          /* 0..365 */
  int64_t mp = (5 * doy + 2) / 153;                               /* 0..11 */
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

int mk_time_format(int64_t t, char out[MK_TIME_TEXT_MAX], mk_err *e) {
  int rc = 0;
  MK_ENSURE(t >= FORMAT_MIN && t <= FORMAT_MAX, MK_EINVAL, e,
            "time: %lld is outside years 0000..9999", (long long)t);
  int64_t days = t / SECS_PER_DAY, secs = t % SECS_PER_DAY;
  if (secs < 0) {
    secs += SECS_PER_DAY;
    days--;
  }
  int64_t y;
  int m, d;
  civil_from_days(days, &y, &m, &d);
  int n = snprintf(out, MK_TIME_TEXT_MAX, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, m, d,
                   (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
  MK_ENSURE(n == 20, MK_EINTERNAL, e, "time: formatted %d characters, expected 20", n);
out:
  return rc;
}

/* Exactly n ASCII digits at *p; advances *p. */
static int digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    char c = (*p)[i];
    if (c < '0' || c > '9')
      return 0;
    v = v * 10 + (c - '0');
  }
  *p += n;
  *out = v;
  return 1;
}

static int expect(const char **p, char c) {
  if (**p != c)
    return 0;
  (*p)++;
  return 1;
}

int mk_time_parse(const char *s, int64_t *out, mk_err *e) {
  int rc = 0;
  int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
  MK_ENSURE(s != NULL, MK_EINVAL, e, "time: missing");
  MK_ENSURE(strnlen(s, PARSE_MAX + 1) <= PARSE_MAX, MK_EINVAL, e,
            "time: longer than %d characters", PARSE_MAX);
  const char *p = s;
  /* RFC 3339 §5.6: full-date */
  MK_ENSURE(digits(&p, 4, &y) && expect(&p, '-') && digits(&p, 2, &mo) && expect(&p, '-') &&
                digits(&p, 2, &d),
            MK_EINVAL, e, "time: expected YYYY-MM-DD at the start");
  MK_ENSURE(mo >= 1 && mo <= 12, MK_EINVAL, e, "time: month %02d out of range", mo);
  MK_ENSURE(mk_date_valid(y, mo, d), MK_EINVAL, e, "time: %04d-%02d has no day %02d", y, mo, d);
  /* "T" per the grammar; "t" and " " as §5.6 NOTE allows. */
  MK_ENSURE(*p == 'T' || *p == 't' || *p == ' ', MK_EINVAL, e,
            "time: expected 'T' after the date");
  p++;
  /* partial-time */
  MK_ENSURE(digits(&p, 2, &h) && expect(&p, ':') && digits(&p, 2, &mi) && expect(&p, ':') &&
                digits(&p, 2, &sec),
            MK_EINVAL, e, "time: expected HH:MM:SS after the date");
  MK_ENSURE(h <= 23 && mi <= 59 && sec <= 60, MK_EINVAL, e,
            "time: %02d:%02d:%02d out of range", h, mi, sec);
  if (*p == '.') {
    p++;
    MK_ENSURE(*p >= '0' && *p <= '9', MK_EINVAL, e, "time: expected digits after '.'");
    while (*p >= '0' && *p <= '9')
      p++;
  }
  /* time-offset */
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else {
    MK_ENSURE(*p == '+' || *p == '-', MK_EINVAL, e, "time: expected 'Z' or an offset +HH:MM");
    sign = *p == '+' ? 1 : -1;
    p++;
    MK_ENSURE(digits(&p, 2, &oh) && expect(&p, ':') && digits(&p, 2, &om), MK_EINVAL, e,
              "time: expected an offset +HH:MM");
    MK_ENSURE(oh <= 23 && om <= 59, MK_EINVAL, e, "time: offset %02d:%02d out of range", oh, om);
  }
  MK_ENSURE(*p == '\0', MK_EINVAL, e, "time: unexpected text after the offset");

  int64_t t = mk_days_from_civil(y, (unsigned)mo, (unsigned)d) * SECS_PER_DAY +
              (int64_t)h * 3600 + (int64_t)mi * 60 + (sec == 60 ? 59 : sec) -
              (int64_t)sign * (oh * 3600 + om * 60);
  if (sec == 60) {
    /* RFC 3339 §5.7: a leap second is 23:59:60 UTC on the last day of a
     * month (ITU-R TF.460), whatever the local offset. */
    int64_t next = t + 1, ny;
    int nm, nd;
    int64_t nday = next / SECS_PER_DAY - (next % SECS_PER_DAY < 0);
    civil_from_days(nday, &ny, &nm, &nd);
    MK_ENSURE(next % SECS_PER_DAY == 0 && nd == 1, MK_EINVAL, e,
              "time: second 60 is only valid at 23:59:60 UTC at the end of a month");
  }
  *out = t;
out:
  return rc;
}
