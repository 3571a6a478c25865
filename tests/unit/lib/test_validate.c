/*
 * Validators: GB 11643 ID numbers, GB 32100 credit codes, mobile numbers,
 * Luhn card numbers, person names (lib/util/validate.c, docs/validators.md).
 *
 * Known-answer vectors: /work/shared/INTEROP.md "Test data with valid check
 * digits"; GB 11643-1999's worked examples 11010519491231002X and
 * 440524188001010014; card test numbers published by payment processors
 * (Stripe's testing documentation) and the Luhn example 79927398713 (Wikipedia,
 * "Luhn algorithm"). Codes built in the tests get their check character from
 * helpers written independently of the library, and those helpers are first
 * checked against the known-answer vectors.
 */
#include "mk_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/validate.h"

typedef int (*validator)(const char *, mk_err *);

/* Assert that v rejects s with MK_EINVAL, that the message contains want (may
 * be NULL) and that it does not repeat the input (personal data). */
static void expect_invalid(validator v, const char *s, const char *want) {
  mk_err e;
  mk_err_clear(&e);
  int rc = v(s, &e);
  if (rc != MK_EINVAL)
    fail_msg("'%s' accepted or wrong code %d", s ? s : "(null)", rc);
  assert_int_equal(e.code, MK_EINVAL);
  assert_true(e.msg[0] != '\0');
  if (want != NULL && strstr(e.msg, want) == NULL)
    fail_msg("message '%s' lacks '%s'", e.msg, want);
  if (s != NULL && strlen(s) >= 6 && strstr(e.msg, s) != NULL)
    fail_msg("message '%s' repeats the input", e.msg);
}

static void expect_valid(validator v, const char *s) {
  mk_err e;
  mk_err_clear(&e);
  int rc = v(s, &e);
  if (rc != 0)
    fail_msg("'%s' rejected: %s", s, e.msg);
}

/* ---- helpers independent of the library -------------------------------- */

/* GB 11643: weight of position i from the right (check = 1) is 2^(i-1) mod 11. */
static char t_id_check(const char *body17) {
  int sum = 0;
  for (int i = 0; i < 17; i++) {
    int w = 1;
    for (int k = 0; k < 17 - i; k++)
      w = w * 2 % 11;
    sum += (body17[i] - '0') * w;
  }
  int r = (12 - sum % 11) % 11; /* value whose addition makes the total 1 mod 11 */
  return r == 10 ? 'X' : (char)('0' + r);
}

static void t_make_id(char out[19], const char *region6, int y, int m, int d, const char *seq3) {
  char tmp[64]; /* room for any int, so the format cannot truncate */
  snprintf(tmp, sizeof tmp, "%.6s%04d%02d%02d%.3s", region6, y, m, d, seq3);
  memcpy(out, tmp, 17);
  out[17] = t_id_check(out);
  out[18] = '\0';
}

static const char t_uscc_alpha[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/* GB 32100: weight of position i from the left is 3^(i-1) mod 31. */
static char t_uscc_check(const char *body17) {
  int sum = 0, w = 1;
  for (int i = 0; i < 17; i++) {
    int v = (int)(strchr(t_uscc_alpha, body17[i]) - t_uscc_alpha);
    sum += v * w;
    w = w * 3 % 31;
  }
  return t_uscc_alpha[(31 - sum % 31) % 31];
}

static void t_make_uscc(char out[19], const char *body17) {
  memcpy(out, body17, 17);
  out[17] = t_uscc_check(body17);
  out[18] = '\0';
}

/* Luhn check digit for body (the digits before it). */
static char t_luhn_digit(const char *body) {
  size_t n = strlen(body);
  int sum = 0;
  for (size_t i = 0; i < n; i++) {
    int d = body[n - 1 - i] - '0';
    if (i % 2 == 0) /* doubled: it becomes odd-positioned once the check is appended */
      d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return (char)('0' + (10 - sum % 10) % 10);
}

/* The date offset seconds from now, in UTC, as YYYY, MM, DD. */
static void t_date(time_t offset, int *y, int *m, int *d) {
  time_t t = time(NULL) + offset;
  struct tm tm;
  assert_non_null(gmtime_r(&t, &tm));
  *y = tm.tm_year + 1900;
  *m = tm.tm_mon + 1;
  *d = tm.tm_mday;
}

/* ---- resident ID number ------------------------------------------------ */

static const char *const id_vectors[] = {
    "330402199003071237", "320602198506154565", "341802199209207894", /* INTEROP.md */
    "11010519491231002X",                                             /* GB 11643-1999 */
};
#define N_ID (sizeof id_vectors / sizeof id_vectors[0])

static void test_id_known_valid(void **state) {
  (void)state;
  for (size_t i = 0; i < N_ID; i++)
    expect_valid(mk_valid_id_number, id_vectors[i]);
  /* The error object is optional. */
  assert_int_equal(mk_valid_id_number(id_vectors[0], NULL), 0);
  assert_int_equal(mk_valid_id_number("330402199003071230", NULL), MK_EINVAL);
}

static void test_id_helper_matches_vectors(void **state) {
  (void)state;
  for (size_t i = 0; i < N_ID; i++)
    assert_int_equal(t_id_check(id_vectors[i]), id_vectors[i][17]);
  assert_int_equal(t_id_check("440524188001010014"), '4'); /* GB 11643-1999 */
}

/* Generated numbers whose check character takes each of its 11 values. */
static void test_id_every_check_value(void **state) {
  (void)state;
  const char *want = "0123456789X";
  for (const char *c = want; *c; c++) {
    char s[19] = "";
    for (int seq = 0; seq < 1000 && s[17] != *c; seq++) {
      char seq3[12];
      snprintf(seq3, sizeof seq3, "%03d", seq);
      t_make_id(s, "330402", 1990, 3, 7, seq3);
    }
    assert_int_equal(s[17], *c);
    expect_valid(mk_valid_id_number, s);
  }
}

static void test_id_every_wrong_check_char(void **state) {
  (void)state;
  for (size_t i = 0; i < N_ID; i++) {
    char s[19];
    memcpy(s, id_vectors[i], sizeof s);
    for (const char *c = "0123456789X"; *c; c++) {
      if (*c == id_vectors[i][17])
        continue;
      s[17] = *c;
      expect_invalid(mk_valid_id_number, s, "check character is wrong");
    }
    for (const char *c = "AZ -/"; *c; c++) {
      s[17] = *c;
      expect_invalid(mk_valid_id_number, s, "must be a digit or 'X'");
    }
  }
}

static void test_id_single_digit_changes(void **state) {
  (void)state;
  for (size_t i = 0; i < N_ID; i++) {
    for (size_t pos = 0; pos < 17; pos++) {
      char s[19];
      memcpy(s, id_vectors[i], sizeof s);
      for (char c = '0'; c <= '9'; c++) {
        if (c == id_vectors[i][pos])
          continue;
        s[pos] = c;
        expect_invalid(mk_valid_id_number, s, NULL);
      }
    }
  }
}

static void test_id_adjacent_swaps(void **state) {
  (void)state;
  for (size_t i = 0; i < N_ID; i++) {
    for (size_t pos = 0; pos + 1 < 18; pos++) {
      char s[19];
      memcpy(s, id_vectors[i], sizeof s);
      if (s[pos] == s[pos + 1] || s[pos + 1] == 'X')
        continue;
      char t = s[pos];
      s[pos] = s[pos + 1];
      s[pos + 1] = t;
      expect_invalid(mk_valid_id_number, s, NULL);
    }
  }
}

static void test_id_length(void **state) {
  (void)state;
  expect_invalid(mk_valid_id_number, "33040219900307123", "too short (17 of 18");
  expect_invalid(mk_valid_id_number, "3304021990030712370", "too long");
  expect_invalid(mk_valid_id_number, "3304021990030712371", "too long");
  expect_invalid(mk_valid_id_number, "330402199003071237330402199003071237", "too long");
  expect_invalid(mk_valid_id_number, "", "empty");
  expect_invalid(mk_valid_id_number, NULL, "missing");
}

static void test_id_non_digit(void **state) {
  (void)state;
  expect_invalid(mk_valid_id_number, "3304A2199003071237", "character 5 is not a digit");
  expect_invalid(mk_valid_id_number, "X30402199003071237", "character 1 is not a digit");
  expect_invalid(mk_valid_id_number, "33040219900307123\xC3", "must be a digit or 'X'");
  expect_invalid(mk_valid_id_number, "３040219900307123", "character 1 is not a digit"); /* U+FF13: 3 bytes */
}

static void test_id_province(void **state) {
  (void)state;
  static const char *const bad[] = {"00", "10", "16", "19", "20", "24", "30", "38", "40", "47",
                                    "49", "55", "60", "66", "70", "72", "80", "84", "90", "99"};
  static const char *const good[] = {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32",
                                     "33", "34", "35", "36", "37", "41", "42", "43", "44", "45",
                                     "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
                                     "65", "71", "81", "82", "83"};
  char region[7], s[19];
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(region, sizeof region, "%s0101", bad[i]);
    t_make_id(s, region, 1990, 3, 7, "123");
    expect_invalid(mk_valid_id_number, s, "region code");
  }
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    snprintf(region, sizeof region, "%s0101", good[i]);
    t_make_id(s, region, 1990, 3, 7, "123");
    expect_valid(mk_valid_id_number, s);
  }
}

static void test_id_calendar(void **state) {
  (void)state;
  char s[19];
  t_make_id(s, "330402", 1900, 2, 29, "123"); /* 1900 is not a leap year */
  expect_invalid(mk_valid_id_number, s, "birth date 19000229 is not a date");
  t_make_id(s, "330402", 1999, 2, 29, "123");
  expect_invalid(mk_valid_id_number, s, "birth date 19990229 is not a date");
  t_make_id(s, "330402", 1990, 2, 30, "123");
  expect_invalid(mk_valid_id_number, s, "ID number birth date 19900230 is not a date");
  t_make_id(s, "330402", 1990, 4, 31, "123");
  expect_invalid(mk_valid_id_number, s, "not a date");
  t_make_id(s, "330402", 1990, 0, 10, "123");
  expect_invalid(mk_valid_id_number, s, "not a date");
  t_make_id(s, "330402", 1990, 13, 10, "123");
  expect_invalid(mk_valid_id_number, s, "not a date");
  t_make_id(s, "330402", 1990, 1, 0, "123");
  expect_invalid(mk_valid_id_number, s, "not a date");
  t_make_id(s, "330402", 1990, 1, 32, "123");
  expect_invalid(mk_valid_id_number, s, "not a date");

  t_make_id(s, "330402", 2000, 2, 29, "123"); /* divisible by 400: leap */
  expect_valid(mk_valid_id_number, s);
  t_make_id(s, "330402", 1996, 2, 29, "123");
  expect_valid(mk_valid_id_number, s);
  t_make_id(s, "330402", 1990, 4, 30, "123");
  expect_valid(mk_valid_id_number, s);
  t_make_id(s, "330402", 1990, 12, 31, "123");
  expect_valid(mk_valid_id_number, s);
}

static void test_id_date_bounds(void **state) {
  (void)state;
  char s[19];
  int y, m, d;
  t_make_id(s, "330402", 1900, 1, 1, "123");
  expect_valid(mk_valid_id_number, s);
  t_make_id(s, "330402", 1899, 12, 31, "123");
  expect_invalid(mk_valid_id_number, s, "before 1900-01-01");
  /* GB 11643's own example is born in 1880: refused by the 1900 floor. */
  expect_invalid(mk_valid_id_number, "440524188001010014", "before 1900-01-01");

  t_date(0, &y, &m, &d); /* today in UTC is never after today in Beijing */
  t_make_id(s, "330402", y, m, d, "123");
  expect_valid(mk_valid_id_number, s);
  t_date(8 * 3600, &y, &m, &d); /* today in Beijing (UTC+8) */
  t_make_id(s, "330402", y, m, d, "123");
  expect_valid(mk_valid_id_number, s);
  t_date(-86400, &y, &m, &d);
  t_make_id(s, "330402", y, m, d, "123");
  expect_valid(mk_valid_id_number, s);
  t_date(2 * 86400, &y, &m, &d); /* tomorrow at the least, in any time zone */
  t_make_id(s, "330402", y, m, d, "123");
  expect_invalid(mk_valid_id_number, s, "in the future");
  t_make_id(s, "330402", 2099, 12, 31, "123");
  expect_invalid(mk_valid_id_number, s, "in the future");
}

/* Valid or "in the future" for an ID born on y-m-d, checked at now. */
static void expect_born_at(int y, int m, int d, int64_t now, int ok) {
  char s[19];
  mk_err e;
  mk_err_clear(&e);
  t_make_id(s, "330402", y, m, d, "123");
  int rc = mk_valid_id_number_at(s, now, &e);
  if (ok && rc != 0)
    fail_msg("born %04d-%02d-%02d refused at %lld: %s", y, m, d, (long long)now, e.msg);
  if (!ok) {
    assert_int_equal(rc, MK_EINVAL);
    assert_non_null(strstr(e.msg, "in the future"));
  }
}

/* The birth date is a Beijing (UTC+8) date: midnight there is 16:00 UTC the
 * day before. Instants from Python's calendar.timegm. */
static void test_id_beijing_midnight(void **state) {
  (void)state;
  const int64_t before = 1709222399; /* 2024-02-29T15:59:59Z = 23:59:59 in Beijing */
  const int64_t at = 1709222400;     /* 2024-02-29T16:00:00Z = 03-01 00:00 in Beijing */
  expect_born_at(2024, 2, 29, before, 1);
  expect_born_at(2024, 3, 1, before, 0);
  expect_born_at(2024, 3, 1, at, 1);
  expect_born_at(2024, 3, 2, at, 0);
  /* New year arrives in Beijing first. */
  expect_born_at(2026, 1, 1, 1767196799, 0); /* 2025-12-31T15:59:59Z */
  expect_born_at(2026, 1, 1, 1767196800, 1); /* 2025-12-31T16:00:00Z */
  expect_born_at(2025, 12, 31, 1767196800, 1);
  /* Before 1970 the day is floored, not truncated toward zero. */
  expect_born_at(1970, 1, 1, -8 * 3600, 1);     /* 1970-01-01 00:00 in Beijing */
  expect_born_at(1970, 1, 1, -8 * 3600 - 1, 0); /* 1969-12-31 23:59:59 there */
  expect_born_at(1969, 12, 31, -8 * 3600 - 1, 1);
  expect_born_at(1900, 1, 1, -2208988800 - 8 * 3600, 1); /* 1900-01-01 00:00 in Beijing */
  expect_born_at(1900, 1, 2, -2208988800 - 8 * 3600, 0);
  /* Instants far outside any calendar do not overflow. */
  expect_born_at(2099, 12, 31, INT64_MAX, 1);
  expect_born_at(1990, 3, 7, INT64_MIN, 0);
  /* The other checks do not depend on the instant. */
  mk_err e;
  assert_mk_fails(mk_valid_id_number_at("330402199003071238", at, &e), MK_EINVAL);
  assert_non_null(strstr(e.msg, "check character"));
  assert_mk_ok(mk_valid_id_number_at("330402199003071237", at, &e));
}

static void test_id_lower_case_x(void **state) {
  (void)state;
  expect_valid(mk_valid_id_number, "11010519491231002X");
  expect_invalid(mk_valid_id_number, "11010519491231002x", "upper-case 'X'");
  /* 'x' where the check is a digit: refused for the case, not the check. */
  expect_invalid(mk_valid_id_number, "33040219900307123x", "upper-case 'X'");
}

/* ---- unified social credit code --------------------------------------- */

static const char *const uscc_vectors[] = {
    "91330402MA2B3C4D53", "91320602MA1X2Y3W4J", "91110000600037341L", /* INTEROP.md */
};
#define N_USCC (sizeof uscc_vectors / sizeof uscc_vectors[0])

static void test_uscc_known_valid(void **state) {
  (void)state;
  for (size_t i = 0; i < N_USCC; i++)
    expect_valid(mk_valid_uscc, uscc_vectors[i]);
}

static void test_uscc_helper_matches_vectors(void **state) {
  (void)state;
  for (size_t i = 0; i < N_USCC; i++)
    assert_int_equal(t_uscc_check(uscc_vectors[i]), uscc_vectors[i][17]);
}

/* Generated codes whose check character takes each of its 31 values
 * (including '0', where 31 - sum mod 31 is 31). */
static void test_uscc_every_check_value(void **state) {
  (void)state;
  for (const char *c = t_uscc_alpha; *c; c++) {
    char body[32], s[19] = "";
    for (int serial = 0; serial < 100000 && s[17] != *c; serial++) {
      snprintf(body, sizeof body, "91330402MA%07d", serial);
      t_make_uscc(s, body);
    }
    assert_int_equal(s[17], *c);
    expect_valid(mk_valid_uscc, s);
  }
}

static void test_uscc_every_wrong_check_char(void **state) {
  (void)state;
  for (size_t i = 0; i < N_USCC; i++) {
    char s[19];
    memcpy(s, uscc_vectors[i], sizeof s);
    for (const char *c = t_uscc_alpha; *c; c++) {
      if (*c == uscc_vectors[i][17])
        continue;
      s[17] = *c;
      expect_invalid(mk_valid_uscc, s, "check character is wrong");
    }
    /* Everything printable outside the alphabet fails too. */
    for (int c = 0x21; c < 0x7F; c++) {
      if (strchr(t_uscc_alpha, c) != NULL)
        continue;
      s[17] = (char)c;
      expect_invalid(mk_valid_uscc, s, "character 18");
    }
  }
}

static void test_uscc_single_char_changes(void **state) {
  (void)state;
  for (size_t i = 0; i < N_USCC; i++) {
    for (size_t pos = 0; pos < 17; pos++) {
      char s[19];
      memcpy(s, uscc_vectors[i], sizeof s);
      for (const char *c = t_uscc_alpha; *c; c++) {
        if (*c == uscc_vectors[i][pos])
          continue;
        s[pos] = *c;
        expect_invalid(mk_valid_uscc, s, NULL);
      }
    }
  }
}

static void test_uscc_adjacent_swaps(void **state) {
  (void)state;
  for (size_t i = 0; i < N_USCC; i++) {
    for (size_t pos = 0; pos + 1 < 18; pos++) {
      char s[19];
      memcpy(s, uscc_vectors[i], sizeof s);
      if (s[pos] == s[pos + 1])
        continue;
      char t = s[pos];
      s[pos] = s[pos + 1];
      s[pos + 1] = t;
      expect_invalid(mk_valid_uscc, s, NULL);
    }
  }
}

static void test_uscc_length(void **state) {
  (void)state;
  expect_invalid(mk_valid_uscc, "91330402MA2B3C4D5", "too short (17 of 18");
  expect_invalid(mk_valid_uscc, "91330402MA2B3C4D533", "too long");
  expect_invalid(mk_valid_uscc, "", "empty");
  expect_invalid(mk_valid_uscc, NULL, "missing");
}

static void test_uscc_letters(void **state) {
  (void)state;
  expect_valid(mk_valid_uscc, "91320602MA1X2Y3W4J");
  expect_invalid(mk_valid_uscc, "91320602MA1X2Y3W4j", "character 18 must be an upper-case letter");
  expect_invalid(mk_valid_uscc, "91320602mA1X2Y3W4J", "character 9 must be an upper-case letter");
  char s[19];
  for (const char *c = "IOZSV"; *c; c++) {
    memcpy(s, "91330402MA2B3C4D53", sizeof s);
    s[9] = *c;
    expect_invalid(mk_valid_uscc, s, "character 10 is a letter the code does not use");
  }
  expect_invalid(mk_valid_uscc, "91330402-A2B3C4D53", "character 9 is not a digit or letter");
  expect_invalid(mk_valid_uscc, "91330402\xC3\x80" "2B3C4D53", "character 9 is not a digit or letter");
}

static void test_uscc_authority_table(void **state) {
  (void)state;
  /* GB 32100 code table: registration authority and its organisation types. */
  static const char *const valid_pairs[] = {
      "11", "12", "13", "19", "21", "29", "31", "32", "33", "34", "35", "39", "41", "49",
      "51", "52", "53", "59", "61", "62", "69", "71", "72", "79", "81", "89", "91", "92",
      "93", "A1", "A9", "N1", "N2", "N3", "N9", "Y1"};
  static const char *const bad_types[] = {"10", "14", "18", "22", "36", "42", "54", "63", "73",
                                          "82", "90", "94", "99", "A2", "N4", "Y2", "Y9", "1A"};
  char body[18], s[19];
  for (size_t i = 0; i < sizeof valid_pairs / sizeof valid_pairs[0]; i++) {
    snprintf(body, sizeof body, "%s110000MA1234567", valid_pairs[i]);
    t_make_uscc(s, body);
    expect_valid(mk_valid_uscc, s);
  }
  for (size_t i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++) {
    snprintf(body, sizeof body, "%s110000MA1234567", bad_types[i]);
    t_make_uscc(s, body);
    expect_invalid(mk_valid_uscc, s, "is not defined for registration authority");
  }
  for (const char *a = "0BCDEFGHJKLMPQRTUWX"; *a; a++) {
    snprintf(body, sizeof body, "%c1110000MA1234567", *a);
    t_make_uscc(s, body);
    expect_invalid(mk_valid_uscc, s, "is not assigned");
  }
}

static void test_uscc_division_digits(void **state) {
  (void)state;
  char s[19];
  t_make_uscc(s, "91A30402MA2B3C4D5");
  expect_invalid(mk_valid_uscc, s, "administrative division");
  t_make_uscc(s, "9133040YMA2B3C4D5");
  expect_invalid(mk_valid_uscc, s, "administrative division");
  t_make_uscc(s, "12100000400012345"); /* national level (GB/T 2260 100000) */
  expect_valid(mk_valid_uscc, s);
}

/* ---- mobile number ---------------------------------------------------- */

static void test_mobile(void **state) {
  (void)state;
  for (const char *p = "3456789"; *p; p++) {
    char s[12];
    snprintf(s, sizeof s, "1%c812345678", *p);
    expect_valid(mk_valid_mobile, s);
  }
  expect_invalid(mk_valid_mobile, "10812345678", "prefix 10 is not a mainland mobile prefix");
  expect_invalid(mk_valid_mobile, "11812345678", "prefix 11 is not a mainland mobile prefix");
  expect_invalid(mk_valid_mobile, "12812345678", "prefix 12 is not a mainland mobile prefix");
  expect_invalid(mk_valid_mobile, "23812345678", "must start with 1");
  expect_invalid(mk_valid_mobile, "03812345678", "must start with 1");
  expect_invalid(mk_valid_mobile, "1381234567", "too short (10 of 11");
  expect_invalid(mk_valid_mobile, "138123456789", "too long");
  expect_invalid(mk_valid_mobile, "+8613812345678", "+86");
  expect_invalid(mk_valid_mobile, "8613812345678", "too long");
  expect_invalid(mk_valid_mobile, "138 1234 5678", "character 4 is not a digit");
  expect_invalid(mk_valid_mobile, "138-1234-5678", "character 4 is not a digit");
  expect_invalid(mk_valid_mobile, "１3812345678", "character 1 is not a digit");
  expect_invalid(mk_valid_mobile, "", "empty");
  expect_invalid(mk_valid_mobile, NULL, "missing");
}

/* ---- bank card -------------------------------------------------------- */

static const char *const card_vectors[] = {
    "6222021000123456781", /* INTEROP.md, 19 digits */
    "4111111111111111", "5555555555554444", "378282246310005", "6011111111111117",
    "3530111333300000", "6200000000000005", /* processors' published test numbers */
};
#define N_CARD (sizeof card_vectors / sizeof card_vectors[0])

static void test_card_known_valid(void **state) {
  (void)state;
  for (size_t i = 0; i < N_CARD; i++) {
    expect_valid(mk_valid_bank_card, card_vectors[i]);
    char body[20];
    size_t n = strlen(card_vectors[i]);
    memcpy(body, card_vectors[i], n - 1);
    body[n - 1] = '\0';
    assert_int_equal(t_luhn_digit(body), card_vectors[i][n - 1]);
  }
}

static void test_card_single_digit_changes(void **state) {
  (void)state;
  for (size_t i = 0; i < N_CARD; i++) {
    size_t n = strlen(card_vectors[i]);
    for (size_t pos = 0; pos < n; pos++) {
      char s[20];
      memcpy(s, card_vectors[i], n + 1);
      for (char c = '0'; c <= '9'; c++) {
        if (c == card_vectors[i][pos])
          continue;
        s[pos] = c;
        expect_invalid(mk_valid_bank_card, s, "check digit is wrong");
      }
    }
  }
}

static void test_card_length(void **state) {
  (void)state;
  /* The classic Luhn example is valid Luhn but only 11 digits. */
  expect_invalid(mk_valid_bank_card, "79927398713", "too short (11 digits, at least 12)");
  char s[22] = "12345678901";
  s[11] = t_luhn_digit(s);
  s[12] = '\0';
  expect_valid(mk_valid_bank_card, s);
  memcpy(s, "6222021000123456781", 19);
  s[19] = t_luhn_digit("6222021000123456781");
  s[20] = '\0';
  expect_invalid(mk_valid_bank_card, s, "too long");
  expect_invalid(mk_valid_bank_card, "6222 0210 0012 3456 781", "character 5 is not a digit");
  expect_invalid(mk_valid_bank_card, "", "empty");
  expect_invalid(mk_valid_bank_card, NULL, "missing");
}

/* ---- person name ------------------------------------------------------ */

static void test_name_valid(void **state) {
  (void)state;
  expect_valid(mk_valid_person_name, "张三");
  expect_valid(mk_valid_person_name, "李");
  expect_valid(mk_valid_person_name, "欧阳娜娜");
  expect_valid(mk_valid_person_name, "阿卜杜热合曼·买买提");      /* U+00B7 */
  expect_valid(mk_valid_person_name, "买买提•吐尔逊");            /* U+2022 */
  expect_valid(mk_valid_person_name, "古丽・艾则孜");             /* U+30FB */
  expect_valid(mk_valid_person_name, "Zhang San");
  expect_valid(mk_valid_person_name, "Anne-Marie O'Neil");
  expect_valid(mk_valid_person_name, "\xF0\xA0\x80\x80");          /* U+20000, CJK ext. B */
  expect_valid(mk_valid_person_name, "王\xEE\x80\x80");            /* U+E000, private use */
}

static void repeat(char *out, size_t cap, const char *unit, int times) {
  size_t u = strlen(unit);
  assert_true(u * (size_t)times < cap);
  for (int i = 0; i < times; i++)
    memcpy(out + (size_t)i * u, unit, u);
  out[u * (size_t)times] = '\0';
}

static void test_name_length(void **state) {
  (void)state;
  char s[256];
  repeat(s, sizeof s, "龘", 50); /* 3 bytes each: 150 bytes */
  expect_valid(mk_valid_person_name, s);
  repeat(s, sizeof s, "龘", 51);
  expect_invalid(mk_valid_person_name, s, "too long (more than 50 characters)");
  repeat(s, sizeof s, "\xF0\xA0\x80\x80", 50); /* 4 bytes each: 200 bytes */
  expect_valid(mk_valid_person_name, s);
  repeat(s, sizeof s, "\xF0\xA0\x80\x80", 51);
  expect_invalid(mk_valid_person_name, s, "too long (more than 50 characters)");
  repeat(s, sizeof s, "a", 50);
  expect_valid(mk_valid_person_name, s);
  repeat(s, sizeof s, "a", 51);
  expect_invalid(mk_valid_person_name, s, "too long (more than 50 characters)");
  expect_invalid(mk_valid_person_name, "", "empty");
  expect_invalid(mk_valid_person_name, NULL, "missing");
}

static void test_name_spaces(void **state) {
  (void)state;
  expect_invalid(mk_valid_person_name, " 张三", "must not start with a space");
  expect_invalid(mk_valid_person_name, "张三 ", "must not end with a space");
  expect_invalid(mk_valid_person_name, " ", "must not start with a space");
  expect_invalid(mk_valid_person_name, "张\xC2\xA0三", "character 2 is a special space (U+00A0)");
  expect_invalid(mk_valid_person_name, "Zhang\xE3\x80\x80San", "special space (U+3000)");
  expect_invalid(mk_valid_person_name, "\xE3\x80\x80张三", "special space (U+3000)");
}

static void test_name_bad_utf8(void **state) {
  (void)state;
  static const char *const bad[] = {
      "\xC0\xAF",                 /* overlong '/' */
      "\xC1\xBF",                 /* overlong U+007F */
      "\xE0\x80\xAF",             /* overlong, 3 bytes */
      "\xE0\x9F\xBF",             /* overlong U+07FF */
      "\xF0\x80\x80\xAF",         /* overlong, 4 bytes */
      "\xF0\x8F\xBF\xBF",         /* overlong U+FFFF */
      "\xED\xA0\x80",             /* surrogate U+D800 */
      "\xED\xBF\xBF",             /* surrogate U+DFFF */
      "\xED\xA0\xBD\xED\xB8\x80", /* CESU-8 surrogate pair */
      "\xF4\x90\x80\x80",         /* U+110000 */
      "\xF5\x80\x80\x80",
      "\xFF",
      "\x80",                     /* lone continuation byte */
      "张\xE4\xB8",               /* truncated */
      "\xE4\xB8\x41",             /* continuation replaced by ASCII */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_invalid(mk_valid_person_name, bad[i], "not valid UTF-8");
  expect_invalid(mk_valid_person_name, "张三\xE4\xB8", "not valid UTF-8 at character 3");
}

static void test_name_controls(void **state) {
  (void)state;
  expect_invalid(mk_valid_person_name, "张\x01三", "character 2 is a control character (U+0001)");
  expect_invalid(mk_valid_person_name, "张\t三", "control character (U+0009)");
  expect_invalid(mk_valid_person_name, "张三\n", "control character (U+000A)");
  expect_invalid(mk_valid_person_name, "\x1B[31m张三", "control character (U+001B)");
  expect_invalid(mk_valid_person_name, "张\x7F三", "control character (U+007F)");
  expect_invalid(mk_valid_person_name, "张\xC2\x80三", "control character (U+0080)");
  expect_invalid(mk_valid_person_name, "张\xC2\x85三", "control character (U+0085)");
  expect_invalid(mk_valid_person_name, "张\xC2\x9F三", "control character (U+009F)");
}

static void test_name_invisible(void **state) {
  (void)state;
  expect_invalid(mk_valid_person_name, "张\xE2\x80\xAE三", "invisible formatting character (U+202E)");
  expect_invalid(mk_valid_person_name, "张\xE2\x80\x8B三", "invisible formatting character (U+200B)");
  expect_invalid(mk_valid_person_name, "\xEF\xBB\xBF张三", "invisible formatting character (U+FEFF)");
  expect_invalid(mk_valid_person_name, "张\xC2\xAD三", "invisible formatting character (U+00AD)");
  expect_invalid(mk_valid_person_name, "张\xF3\xA0\x80\x81", "invisible formatting character (U+E0001)");
  expect_invalid(mk_valid_person_name, "张\xEF\xBF\xBF", "noncharacter (U+FFFF)");
  expect_invalid(mk_valid_person_name, "张\xEF\xB7\x90", "noncharacter (U+FDD0)");
  expect_invalid(mk_valid_person_name, "张\xF0\x9F\xBF\xBE", "noncharacter (U+1FFFE)");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_id_known_valid),
      cmocka_unit_test(test_id_helper_matches_vectors),
      cmocka_unit_test(test_id_every_check_value),
      cmocka_unit_test(test_id_every_wrong_check_char),
      cmocka_unit_test(test_id_single_digit_changes),
      cmocka_unit_test(test_id_adjacent_swaps),
      cmocka_unit_test(test_id_length),
      cmocka_unit_test(test_id_non_digit),
      cmocka_unit_test(test_id_province),
      cmocka_unit_test(test_id_calendar),
      cmocka_unit_test(test_id_date_bounds),
      cmocka_unit_test(test_id_beijing_midnight),
      cmocka_unit_test(test_id_lower_case_x),
      cmocka_unit_test(test_uscc_known_valid),
      cmocka_unit_test(test_uscc_helper_matches_vectors),
      cmocka_unit_test(test_uscc_every_check_value),
      cmocka_unit_test(test_uscc_every_wrong_check_char),
      cmocka_unit_test(test_uscc_single_char_changes),
      cmocka_unit_test(test_uscc_adjacent_swaps),
      cmocka_unit_test(test_uscc_length),
      cmocka_unit_test(test_uscc_letters),
      cmocka_unit_test(test_uscc_authority_table),
      cmocka_unit_test(test_uscc_division_digits),
      cmocka_unit_test(test_mobile),
      cmocka_unit_test(test_card_known_valid),
      cmocka_unit_test(test_card_single_digit_changes),
      cmocka_unit_test(test_card_length),
      cmocka_unit_test(test_name_valid),
      cmocka_unit_test(test_name_length),
      cmocka_unit_test(test_name_spaces),
      cmocka_unit_test(test_name_bad_utf8),
      cmocka_unit_test(test_name_controls),
      cmocka_unit_test(test_name_invisible),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
