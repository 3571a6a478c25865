/* util/utf8: the decoder every text check goes through. Boundaries from
 * RFC 3629 §4 (Unicode table 3-7) and Markus Kuhn's UTF-8 decoder stress test. */
#include "mk_test.h"

#include <string.h>

#include "util/utf8.h"

/* Decode a whole literal as one sequence: bytes taken and code point. */
#define NEXT(lit, cpp) mk_utf8_next((const unsigned char *)(lit), sizeof(lit) - 1, (cpp))

static void expect_cp(const char *bytes, size_t len, uint32_t want) {
  uint32_t cp = 0xFFFFFFFF;
  assert_int_equal(mk_utf8_next((const unsigned char *)bytes, len, &cp), (int)len);
  assert_int_equal(cp, want);
}

static void expect_bad(const char *bytes, size_t len) {
  uint32_t cp = 0x12345;
  assert_int_equal(mk_utf8_next((const unsigned char *)bytes, len, &cp), -1);
  assert_int_equal(cp, 0x12345); /* untouched on failure */
}

#define CP(lit, want) expect_cp((lit), sizeof(lit) - 1, (want))
#define BAD(lit) expect_bad((lit), sizeof(lit) - 1)

static void test_utf8_next_boundaries(void **state) {
  (void)state;
  CP("\x00", 0x0000);
  CP("\x7F", 0x007F);             /* last 1-byte */
  CP("\xC2\x80", 0x0080);         /* first 2-byte */
  CP("\xDF\xBF", 0x07FF);         /* last 2-byte */
  CP("\xE0\xA0\x80", 0x0800);     /* first 3-byte */
  CP("\xED\x9F\xBF", 0xD7FF);     /* last before the surrogates */
  CP("\xEE\x80\x80", 0xE000);     /* first after them */
  CP("\xEF\xBF\xBF", 0xFFFF);     /* last 3-byte */
  CP("\xF0\x90\x80\x80", 0x10000); /* first 4-byte */
  CP("\xF4\x8F\xBF\xBF", 0x10FFFF); /* last code point */
  CP("\xE4\xB8\xAD", 0x4E2D);     /* 中 */
  CP("\xF0\x9F\x98\x80", 0x1F600);
}

static void test_utf8_next_refuses(void **state) {
  (void)state;
  BAD("\xF4\x90\x80\x80"); /* U+110000 */
  BAD("\xF5\x80\x80\x80");
  BAD("\xF7\xBF\xBF\xBF"); /* U+1FFFFF */
  BAD("\xED\xA0\x80");     /* U+D800 */
  BAD("\xED\xBF\xBF");     /* U+DFFF */
  BAD("\xED\xB0\x80");     /* U+DC00 */
  /* Overlong forms of NUL, '/', U+007F, U+07FF and U+FFFF. */
  BAD("\xC0\x80");
  BAD("\xE0\x80\x80");
  BAD("\xF0\x80\x80\x80");
  BAD("\xC0\xAF");
  BAD("\xC1\xBF");
  BAD("\xE0\x9F\xBF");
  BAD("\xF0\x8F\xBF\xBF");
  /* Bytes that never start a sequence. */
  BAD("\x80");
  BAD("\xBF");
  BAD("\xF8\x88\x80\x80\x80");
  BAD("\xFE");
  BAD("\xFF");
  /* A continuation byte out of range. */
  BAD("\xC2\x41");
  BAD("\xE4\x41\xAD");
  BAD("\xE4\xB8\xC0");
  BAD("\xF0\x9F\x98\x41");
}

static void test_utf8_next_truncated(void **state) {
  (void)state;
  static const char *const whole[] = {"\xC2\x80", "\xE0\xA0\x80", "\xEF\xBF\xBF",
                                      "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF"};
  for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++) {
    size_t n = strlen(whole[i]);
    for (size_t cut = 0; cut < n; cut++)
      expect_bad(whole[i], cut); /* cut == 0: nothing to decode */
  }
  /* The length bounds the read even when the buffer goes on. */
  uint32_t cp = 0;
  assert_int_equal(mk_utf8_next((const unsigned char *)"\xE4\xB8\xAD", 2, &cp), -1);
  assert_int_equal(mk_utf8_next(NULL, 0, &cp), -1);
  /* Only the first sequence is taken. */
  assert_int_equal(NEXT("a\xE4\xB8\xAD", &cp), 1);
  assert_int_equal(cp, 'a');
  assert_int_equal(NEXT("\xC3\xA9z", &cp), 2);
  assert_int_equal(cp, 0xE9);
}

#define VALID(lit, nl) mk_utf8_valid_text((lit), sizeof(lit) - 1, (nl))

static void test_utf8_valid_text(void **state) {
  (void)state;
  assert_true(VALID("", 0));
  assert_true(VALID("plain ASCII ~", 0));
  assert_true(VALID("\xC2\xA0", 0));             /* U+00A0, first after C1 */
  assert_true(VALID("\xDF\xBF", 0));             /* U+07FF */
  assert_true(VALID("\xE0\xA0\x80", 0));         /* U+0800 */
  assert_true(VALID("\xED\x9F\xBF", 0));         /* U+D7FF */
  assert_true(VALID("\xEE\x80\x80", 0));         /* U+E000 */
  assert_true(VALID("\xEF\xBF\xBD", 0));         /* U+FFFD */
  assert_true(VALID("\xF0\x90\x80\x80", 0));     /* U+10000 */
  assert_true(VALID("\xF4\x8F\xBF\xBF", 0));     /* U+10FFFF */
  assert_true(VALID("\xE4\xB8\xAD\xE6\x96\x87", 0));

  assert_false(VALID("\xC0\x80", 0));             /* overlong NUL */
  assert_false(VALID("\xC1\xBF", 0));             /* overlong U+007F */
  assert_false(VALID("\xE0\x80\xAF", 0));         /* overlong '/' */
  assert_false(VALID("\xE0\x9F\xBF", 0));         /* overlong U+07FF */
  assert_false(VALID("\xF0\x8F\xBF\xBF", 0));     /* overlong U+FFFF */
  assert_false(VALID("\xED\xA0\x80", 0));         /* U+D800 */
  assert_false(VALID("\xED\xBF\xBF", 0));         /* U+DFFF */
  assert_false(VALID("\xF4\x90\x80\x80", 0));     /* U+110000 */
  assert_false(VALID("\xF5\x80\x80\x80", 0));
  assert_false(VALID("\xFE", 0));
  assert_false(VALID("\xFF", 0));
  assert_false(VALID("\x80", 0));                 /* lone continuation */
  assert_false(VALID("\xE4\xB8", 0));             /* truncated */
  assert_false(VALID("ok\xF0\x9F\x98", 0));       /* truncated at the end */
  assert_false(VALID("\xE4\x41\xAD", 0));         /* bad continuation */
  assert_false(VALID("a\0b", 1));                 /* NUL */
  assert_false(VALID("a\x1b[31m", 1));            /* ESC */
  assert_false(VALID("\x7F", 1));                 /* DEL */
  assert_false(VALID("\xC2\x80", 1));             /* U+0080, C1 */
  assert_false(VALID("\xC2\x9F", 1));             /* U+009F, C1 */

  assert_false(VALID("a\nb", 0));
  assert_false(VALID("a\tb", 0));
  assert_true(VALID("a\nb\r\n\tc", 1));
  assert_true(mk_utf8_valid_text(NULL, 0, 0));
  assert_false(mk_utf8_valid_text(NULL, 1, 0));
}

static void test_utf8_count(void **state) {
  (void)state;
  const char *s = "a\xE4\xB8\xAD\xF0\x9F\x98\x80\xC3\xA9";
  assert_int_equal(mk_utf8_count(s, strlen(s)), 4);
  assert_int_equal(mk_utf8_count("", 0), 0);
  assert_int_equal(mk_utf8_count(NULL, 3), 0);
  /* Never more than the byte count, whatever the input. */
  assert_int_equal(mk_utf8_count("\x80\x80", 2), 0);
  assert_int_equal(mk_utf8_count("\xFF\xFF", 2), 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_utf8_next_boundaries),
      cmocka_unit_test(test_utf8_next_refuses),
      cmocka_unit_test(test_utf8_next_truncated),
      cmocka_unit_test(test_utf8_valid_text),
      cmocka_unit_test(test_utf8_count),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
