#include "mk_test.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/time.h"

/* Unix times computed independently with Python's datetime (timestamp() of
 * the aware value); year 0 and 9999 are the well-known bounds of 4-digit
 * proleptic Gregorian years. */
static const struct {
  int64_t t;
  const char *text;
} known[] = {
    {0, "1970-01-01T00:00:00Z"},
    {-1, "1969-12-31T23:59:59Z"},
    {951782400, "2000-02-29T00:00:00Z"},
    {1798761600, "2027-01-01T00:00:00Z"},
    {1795928672, "2026-11-29T05:04:32Z"},
    {1234567890, "2009-02-13T23:31:30Z"},
    {482196050, "1985-04-12T23:20:50Z"},
    {-2203891200, "1900-03-01T00:00:00Z"},
    {-62135596800, "0001-01-01T00:00:00Z"},
    {INT64_C(-62167219200), "0000-01-01T00:00:00Z"},
    {INT64_C(253402300799), "9999-12-31T23:59:59Z"},
};
#define N_KNOWN (sizeof known / sizeof known[0])

static void test_format_known(void **state) {
  (void)state;
  for (size_t i = 0; i < N_KNOWN; i++) {
    char out[MK_TIME_TEXT_MAX];
    assert_mk_ok(mk_time_format(known[i].t, out, NULL));
    assert_string_equal(out, known[i].text);
  }
}

static void test_format_range(void **state) {
  (void)state;
  char out[MK_TIME_TEXT_MAX];
  mk_err e;
  mk_err_clear(&e);
  assert_mk_fails(mk_time_format(INT64_C(-62167219201), out, &e), MK_EINVAL);
  assert_int_equal(e.code, MK_EINVAL);
  assert_mk_fails(mk_time_format(INT64_C(253402300800), out, &e), MK_EINVAL);
  assert_mk_fails(mk_time_format(INT64_MIN, out, &e), MK_EINVAL);
  assert_mk_fails(mk_time_format(INT64_MAX, out, &e), MK_EINVAL);
}

static void test_parse_known(void **state) {
  (void)state;
  for (size_t i = 0; i < N_KNOWN; i++) {
    int64_t t = 42;
    mk_err e;
    mk_err_clear(&e);
    if (mk_time_parse(known[i].text, &t, &e) != 0)
      fail_msg("'%s': %s", known[i].text, e.msg);
    assert_int_equal(t, known[i].t);
  }
}

static void expect_time(const char *s, int64_t want) {
  int64_t t = 42;
  mk_err e;
  mk_err_clear(&e);
  if (mk_time_parse(s, &t, &e) != 0)
    fail_msg("'%s': %s", s, e.msg);
  if (t != want)
    fail_msg("'%s' gave %lld, expected %lld", s, (long long)t, (long long)want);
}

static void test_parse_forms(void **state) {
  (void)state;
  /* The offset from the brief: 13:04:32 at +08:00 is 05:04:32 UTC. */
  expect_time("2026-11-29T13:04:32+08:00", 1795928672);
  expect_time("2026-11-29T05:04:32+00:00", 1795928672);
  expect_time("2026-11-29T05:04:32-00:00", 1795928672); /* RFC 3339 §4.3 */
  expect_time("2026-11-28T21:04:32-08:00", 1795928672);
  /* RFC 3339 §5.8 examples. */
  expect_time("1985-04-12T23:20:50.52Z", 482196050);
  expect_time("1996-12-19T16:39:57-08:00", 851042397);
  expect_time("1937-01-01T12:00:27.87+00:20", -1041337173);
  /* Lower-case "t" and "z", a space separator (§5.6 NOTE). */
  expect_time("2026-11-29t05:04:32z", 1795928672);
  expect_time("2026-11-29 05:04:32Z", 1795928672);
  /* Fractions are truncated, never rounded up. */
  expect_time("2026-11-29T05:04:32.999999999Z", 1795928672);
  expect_time("2026-11-29T05:04:32.0Z", 1795928672);
  expect_time("1969-12-31T23:59:59.9Z", -1);
  /* Offsets that move the date across a day, month and year. */
  expect_time("2027-01-01T07:59:59+08:00", 1798761599);
  expect_time("2026-12-31T23:30:00-00:30", 1798761600);
  expect_time("0000-01-01T00:00:00+01:00", INT64_C(-62167222800));
  expect_time("9999-12-31T23:59:59-23:59", INT64_C(253402300799) + 23 * 3600 + 59 * 60);
}

/* RFC 3339 §5.7 and §5.8: a leap second is 23:59:60 UTC at a month's end,
 * at any local offset; mkey reads it as second 59. */
static void test_leap_second(void **state) {
  (void)state;
  expect_time("1990-12-31T23:59:60Z", 662687999);
  expect_time("1990-12-31T15:59:60-08:00", 662687999);
  expect_time("2016-12-31T23:59:60Z", 1483228799);
  expect_time("2017-01-01T08:59:60+09:00", 1483228799);
  int64_t t;
  assert_mk_fails(mk_time_parse("1990-12-31T23:58:60Z", &t, NULL), MK_EINVAL);
  assert_mk_fails(mk_time_parse("1990-12-30T23:59:60Z", &t, NULL), MK_EINVAL);
  assert_mk_fails(mk_time_parse("1990-12-31T15:59:60Z", &t, NULL), MK_EINVAL);
  assert_mk_fails(mk_time_parse("1990-12-31T23:59:60+08:00", &t, NULL), MK_EINVAL);
  assert_mk_fails(mk_time_parse("2026-11-29T13:04:60Z", &t, NULL), MK_EINVAL);
  assert_mk_fails(mk_time_parse("1990-12-31T23:59:61Z", &t, NULL), MK_EINVAL);
}

static void test_parse_rejects(void **state) {
  (void)state;
  static const char *bad[] = {
      "2026-02-29T00:00:00Z",   /* not a leap year */
      "1900-02-29T00:00:00Z",   /* divisible by 100, not by 400 */
      "2026-13-01T00:00:00Z",   /* month 13 */
      "2026-00-01T00:00:00Z",   /* month 0 */
      "2026-04-31T00:00:00Z",   /* April has 30 days */
      "2026-01-32T00:00:00Z",
      "2026-01-00T00:00:00Z",
      "2026-11-29T24:00:00Z",   /* hour 24 */
      "2026-11-29T23:60:00Z",   /* minute 60 */
      "2026-11-29T13:04:32",    /* missing offset */
      "2026-11-29T13:04:32+08", /* offset without minutes */
      "2026-11-29T13:04:32+0800",
      "2026-11-29T13:04:32+24:00",
      "2026-11-29T13:04:32+08:60",
      "2026-11-29T13:04:32.Z",  /* '.' without digits */
      "2026-11-29T13:04Z",      /* no seconds */
      "2026-11-29",             /* date only */
      "2026-11-29X13:04:32Z",
      "2026-11-29T13:04:32ZZ",  /* trailing text */
      "2026-11-29T13:04:32Z ",
      " 2026-11-29T13:04:32Z",
      "26-11-29T13:04:32Z",
      "+2026-11-29T13:04:32Z",
      "2026-1-29T13:04:32Z",
      "2026/11/29T13:04:32Z",
      "2026-11-29T1:04:32Z",
      "2026-11-29T13:04:3aZ",
      "２026-11-29T13:04:32Z", /* full-width digit */
      "",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t t = 42;
    mk_err e;
    mk_err_clear(&e);
    int rc = mk_time_parse(bad[i], &t, &e);
    if (rc != MK_EINVAL)
      fail_msg("'%s' gave %d, expected MK_EINVAL", bad[i], rc);
    assert_true(e.msg[0] != '\0');
    assert_int_equal(t, 42); /* untouched on failure */
  }
  int64_t t;
  assert_mk_fails(mk_time_parse(NULL, &t, NULL), MK_EINVAL);
  /* Bounded: a fraction of a few hundred digits is refused, not scanned. */
  char longfrac[300];
  memset(longfrac, '0', sizeof longfrac);
  memcpy(longfrac, "2026-11-29T13:04:32.", 20);
  memcpy(longfrac + sizeof longfrac - 2, "Z", 2);
  assert_mk_fails(mk_time_parse(longfrac, &t, NULL), MK_EINVAL);
}

static void test_days_from_civil(void **state) {
  (void)state;
  /* Day counts from Python's date subtraction. */
  assert_int_equal(mk_days_from_civil(1970, 1, 1), 0);
  assert_int_equal(mk_days_from_civil(1969, 12, 31), -1);
  assert_int_equal(mk_days_from_civil(2024, 2, 29), 19782);
  assert_int_equal(mk_days_from_civil(1, 1, 1), -719162);
  assert_int_equal(mk_days_from_civil(0, 1, 1), -719528);
  assert_int_equal(mk_days_from_civil(-1, 1, 1), -719528 - 365); /* -1 is not leap */
  assert_int_equal(mk_days_from_civil(1600, 3, 1), -135080);
  assert_int_equal(mk_days_from_civil(9999, 12, 31), 2932896);
  /* Consecutive days across a leap-year February and a year end. */
  assert_int_equal(mk_days_from_civil(2000, 3, 1) - mk_days_from_civil(2000, 2, 28), 2);
  assert_int_equal(mk_days_from_civil(1900, 3, 1) - mk_days_from_civil(1900, 2, 28), 1);
  assert_int_equal(mk_days_from_civil(2027, 1, 1) - mk_days_from_civil(2026, 12, 31), 1);
}

static void test_date_valid(void **state) {
  (void)state;
  assert_true(mk_date_valid(2000, 2, 29));
  assert_true(mk_date_valid(2024, 2, 29));
  assert_true(mk_date_valid(1990, 3, 7));
  assert_true(mk_date_valid(2026, 12, 31));
  assert_true(mk_date_valid(0, 2, 29));
  assert_false(mk_date_valid(1900, 2, 29));
  assert_false(mk_date_valid(2026, 2, 29));
  assert_false(mk_date_valid(2026, 2, 30));
  assert_false(mk_date_valid(2026, 4, 31));
  assert_false(mk_date_valid(2026, 6, 31));
  assert_false(mk_date_valid(2026, 9, 31));
  assert_false(mk_date_valid(2026, 11, 31));
  assert_false(mk_date_valid(2026, 13, 1));
  assert_false(mk_date_valid(2026, 0, 1));
  assert_false(mk_date_valid(2026, -1, 1));
  assert_false(mk_date_valid(2026, 1, 0));
  assert_false(mk_date_valid(2026, 1, 32));
  assert_false(mk_date_valid(2026, 1, -5));
  /* Every valid day of a leap and a common year, exactly 366 and 365. */
  int n2000 = 0, n2026 = 0;
  for (int m = 1; m <= 12; m++)
    for (int d = 1; d <= 31; d++) {
      n2000 += mk_date_valid(2000, m, d);
      n2026 += mk_date_valid(2026, m, d);
    }
  assert_int_equal(n2000, 366);
  assert_int_equal(n2026, 365);
}

/* Every day from 1899 to 2101 through format and parse. */
static void test_round_trip_days(void **state) {
  (void)state;
  for (int64_t day = mk_days_from_civil(1899, 1, 1); day <= mk_days_from_civil(2101, 1, 1);
       day++) {
    int64_t t = day * 86400 + 86399, back = 0;
    char out[MK_TIME_TEXT_MAX];
    assert_mk_ok(mk_time_format(t, out, NULL));
    assert_mk_ok(mk_time_parse(out, &back, NULL));
    assert_int_equal(back, t);
  }
}

static void test_clocks(void **state) {
  (void)state;
  int64_t now = mk_time_now();
  int64_t sys = (int64_t)time(NULL);
  assert_true(now >= sys - 1 && now <= sys + 1);
  assert_true(now > 1767225600); /* after 2026-01-01: the clock is set */
  int64_t a = mk_time_mono_ms();
  usleep(20 * 1000);
  int64_t b = mk_time_mono_ms();
  assert_true(b - a >= 20);
  assert_true(b - a < 5000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_format_known),
      cmocka_unit_test(test_format_range),
      cmocka_unit_test(test_parse_known),
      cmocka_unit_test(test_parse_forms),
      cmocka_unit_test(test_leap_second),
      cmocka_unit_test(test_parse_rejects),
      cmocka_unit_test(test_days_from_civil),
      cmocka_unit_test(test_date_valid),
      cmocka_unit_test(test_round_trip_days),
      cmocka_unit_test(test_clocks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
