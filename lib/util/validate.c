/*
 * Validators for identifiers people type in: resident ID number (GB 11643),
 * unified social credit code (GB 32100), mainland mobile number, bank card
 * number (Luhn) and a person's name. docs/validators.md gives the rules, their
 * sources and the choices made here.
 *
 * Messages say what is wrong but never repeat the whole value: ID, card and
 * phone numbers are personal data, and error messages may end up in logs.
 */
#include "util/validate.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "util/guard.h"
#include "util/time.h"
#include "util/utf8.h"

#define ID_LEN 18
#define USCC_LEN 18
#define MOBILE_LEN 11
#define CARD_MIN 12
#define CARD_MAX 19
#define NAME_MAX_CHARS 50
#define NAME_MAX_BYTES (NAME_MAX_CHARS * 4) /* UTF-8 uses at most 4 bytes */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* ---- resident ID number, GB 11643-1999 -------------------------------- */

/* Province-level codes of GB/T 2260, plus 83: residence permits for Taiwan
 * residents use 830000 (as 810000/820000 for Hong Kong and Macao). */
static bool id_province_known(int p) {
  return (p >= 11 && p <= 15) || (p >= 21 && p <= 23) ||
         (p >= 31 && p <= 37) || (p >= 41 && p <= 46) ||
         (p >= 50 && p <= 54) || (p >= 61 && p <= 65) || p == 71 ||
         p == 81 || p == 82 || p == 83;
}

static int digits_value(const char *s, size_t n) {
  int v = 0;
  for (size_t i = 0; i < n; i++)
    v = v * 10 + (s[i] - '0');
  return v;
}

#define SECS_PER_DAY 86400
/* China Standard Time is UTC+8 all year (no daylight saving since 1991). */
#define CST_OFFSET (8 * 3600)

/* Days since 1970-01-01 of the Beijing date at now: the birth date in an ID
 * number is a Beijing date, and a child born after midnight there is still
 * "tomorrow" in UTC for up to eight hours. Floor division, so instants
 * before 1970 fall on the right day too. */
static int64_t today_china(int64_t now) {
  int64_t t = now > INT64_MAX - CST_OFFSET ? INT64_MAX : now + CST_OFFSET;
  return t / SECS_PER_DAY - (t % SECS_PER_DAY < 0);
}

/* ISO 7064 MOD 11-2 as GB 11643-1999 applies it: position i counted from the
 * right (the check character is i = 1) weighs 2^(i-1) mod 11. */
static char id_check_char(const char *s) {
  static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (int i = 0; i < 17; i++)
    sum += (s[i] - '0') * w[i];
  return "10X98765432"[sum % 11];
}

int mk_valid_id_number_at(const char *s, int64_t now, mk_err *e) {
  int rc = 0;
  MK_ENSURE(s != NULL, MK_EINVAL, e, "ID number is missing");
  size_t n = strnlen(s, ID_LEN + 1);
  MK_ENSURE(n != 0, MK_EINVAL, e, "ID number is empty");
  MK_ENSURE(n <= ID_LEN, MK_EINVAL, e, "ID number is too long (more than %d characters)", ID_LEN);
  MK_ENSURE(n == ID_LEN, MK_EINVAL, e, "ID number is too short (%zu of %d characters)", n, ID_LEN);
  for (size_t i = 0; i < 17; i++)
    MK_ENSURE(is_digit(s[i]), MK_EINVAL, e, "ID number character %zu is not a digit", i + 1);
  /* Lower-case 'x' is refused, not folded: the standard writes 'X', and
   * callers that accept typed input upper-case it before validating. */
  MK_ENSURE(s[17] != 'x', MK_EINVAL, e, "ID number check character must be upper-case 'X', not 'x'");
  MK_ENSURE(is_digit(s[17]) || s[17] == 'X', MK_EINVAL, e,
            "ID number check character must be a digit or 'X'");

  int province = digits_value(s, 2);
  MK_ENSURE(id_province_known(province), MK_EINVAL, e,
            "ID number region code %02d is not a province-level code", province);

  int y = digits_value(s + 6, 4), m = digits_value(s + 10, 2), d = digits_value(s + 12, 2);
  int birth = y * 10000 + m * 100 + d;
  /* The birth date is echoed, never the whole number (see top of file). */
  MK_ENSURE(mk_date_valid(y, m, d), MK_EINVAL, e, "ID number birth date %08d is not a date",
            birth);
  MK_ENSURE(birth >= 19000101, MK_EINVAL, e, "ID number birth date is before 1900-01-01");
  MK_ENSURE(mk_days_from_civil(y, (unsigned)m, (unsigned)d) <= today_china(now), MK_EINVAL, e,
            "ID number birth date is in the future");

  MK_ENSURE(id_check_char(s) == s[17], MK_EINVAL, e, "ID number check character is wrong");
out:
  return rc;
}

MK_EXPORT int mk_valid_id_number(const char *s, mk_err *e) {
  time_t now = time(NULL);
  if (now == (time_t)-1)
    return mk_err_set(e, MK_EINTERNAL, "cannot read the system clock");
  return mk_valid_id_number_at(s, (int64_t)now, e);
}

/* ---- unified social credit code, GB 32100-2015 ------------------------ */

/* GB 32100-2015: digits and upper-case letters without I, O, Z, S, V;
 * a character's value is its index here. */
static const char uscc_alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

static int uscc_value(char c) {
  if (c == '\0')
    return -1;
  const char *p = strchr(uscc_alphabet, c);
  return p ? (int)(p - uscc_alphabet) : -1;
}

/* Registration authority (character 1) and the organisation types (character
 * 2) each may register, as in the code table of GB 32100 and the authority
 * codes assigned since (docs/validators.md). */
static const struct {
  char authority;
  const char *types;
} uscc_kinds[] = {
    {'1', "1239"},   /* 机构编制: 机关, 事业单位, 群众团体, 其他 */
    {'2', "19"},     /* 外交: 外国常驻新闻机构, 其他 */
    {'3', "123459"}, /* 司法行政: 律师执业机构 … 仲裁委员会, 其他 */
    {'4', "19"},     /* 文化: 外国在华文化中心, 其他 */
    {'5', "1239"},   /* 民政: 社会团体, 民办非企业单位, 基金会, 其他 */
    {'6', "129"},    /* 旅游: 外国/港澳台旅游部门常驻代表机构, 其他 */
    {'7', "129"},    /* 宗教: 宗教活动场所, 宗教院校, 其他 */
    {'8', "19"},     /* 工会: 基层工会, 其他 */
    {'9', "123"},    /* 工商: 企业, 个体工商户, 农民专业合作社 */
    {'A', "19"},     /* 中央军委改革和编制办公室: 军队事业单位, 其他 */
    {'N', "1239"},   /* 农业: 组级, 村级, 乡镇级集体经济组织, 其他 */
    {'Y', "1"},      /* 其他: one type only */
};

static const char *uscc_types_of(char authority) {
  for (size_t i = 0; i < sizeof uscc_kinds / sizeof uscc_kinds[0]; i++)
    if (uscc_kinds[i].authority == authority)
      return uscc_kinds[i].types;
  return NULL;
}

/* GB 32100-2015 check character: weights 3^(i-1) mod 31 from the left,
 * check = 31 - sum mod 31, where 31 stands for 0. */
static char uscc_check_char(const char *s) {
  static const int w[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
  int sum = 0;
  for (int i = 0; i < 17; i++)
    sum += uscc_value(s[i]) * w[i];
  return uscc_alphabet[(31 - sum % 31) % 31];
}

MK_EXPORT int mk_valid_uscc(const char *s, mk_err *e) {
  int rc = 0;
  MK_ENSURE(s != NULL, MK_EINVAL, e, "unified social credit code is missing");
  size_t n = strnlen(s, USCC_LEN + 1);
  MK_ENSURE(n != 0, MK_EINVAL, e, "unified social credit code is empty");
  MK_ENSURE(n <= USCC_LEN, MK_EINVAL, e,
            "unified social credit code is too long (more than %d characters)", USCC_LEN);
  MK_ENSURE(n == USCC_LEN, MK_EINVAL, e,
            "unified social credit code is too short (%zu of %d characters)", n, USCC_LEN);
  for (size_t i = 0; i < USCC_LEN; i++) {
    char c = s[i];
    if (uscc_value(c) >= 0)
      continue;
    /* Same choice as for the ID number's 'x': refuse, callers upper-case. */
    MK_ENSURE(!(c >= 'a' && c <= 'z'), MK_EINVAL, e,
              "unified social credit code character %zu must be an upper-case letter", i + 1);
    MK_ENSURE(!(c >= 'A' && c <= 'Z'), MK_EINVAL, e,
              "unified social credit code character %zu is a letter the code does not use "
              "(I, O, Z, S, V)", i + 1);
    MK_FAIL(MK_EINVAL, e, "unified social credit code character %zu is not a digit or letter", i + 1);
  }

  const char *types = uscc_types_of(s[0]);
  MK_ENSURE(types != NULL, MK_EINVAL, e,
            "unified social credit code registration authority '%c' is not assigned", s[0]);
  MK_ENSURE(strchr(types, s[1]) != NULL, MK_EINVAL, e,
            "unified social credit code organisation type '%c' is not defined for "
            "registration authority '%c'", s[1], s[0]);
  for (size_t i = 2; i < 8; i++)
    MK_ENSURE(is_digit(s[i]), MK_EINVAL, e,
              "unified social credit code administrative division (characters 3-8) "
              "must be digits");

  MK_ENSURE(uscc_check_char(s) == s[17], MK_EINVAL, e,
            "unified social credit code check character is wrong");
out:
  return rc;
}

/* ---- mainland mobile number ------------------------------------------- */

MK_EXPORT int mk_valid_mobile(const char *s, mk_err *e) {
  int rc = 0;
  MK_ENSURE(s != NULL, MK_EINVAL, e, "mobile number is missing");
  /* The country code is the caller's to strip: one stored form, 11 digits. */
  MK_ENSURE(s[0] != '+', MK_EINVAL, e, "mobile number must be given without the +86 country code");
  size_t n = strnlen(s, MOBILE_LEN + 1);
  MK_ENSURE(n != 0, MK_EINVAL, e, "mobile number is empty");
  for (size_t i = 0; i < n; i++)
    MK_ENSURE(is_digit(s[i]), MK_EINVAL, e,
              "mobile number character %zu is not a digit (no spaces or dashes)", i + 1);
  MK_ENSURE(n <= MOBILE_LEN, MK_EINVAL, e, "mobile number is too long (more than %d digits)", MOBILE_LEN);
  MK_ENSURE(n == MOBILE_LEN, MK_EINVAL, e, "mobile number is too short (%zu of %d digits)", n, MOBILE_LEN);
  MK_ENSURE(s[0] == '1', MK_EINVAL, e, "mobile number must start with 1");
  /* Mainland mobile network codes are 13x-19x; 10x-12x are service and
   * special numbers. */
  MK_ENSURE(s[1] >= '3', MK_EINVAL, e, "mobile number prefix 1%c is not a mainland mobile prefix", s[1]);
out:
  return rc;
}

/* ---- bank card number ------------------------------------------------- */

/* Luhn formula (ISO/IEC 7812-1): from the right, double every second digit. */
static bool luhn_ok(const char *s, size_t n) {
  int sum = 0;
  for (size_t i = 0; i < n; i++) {
    int d = s[n - 1 - i] - '0';
    if (i % 2 == 1) {
      d *= 2;
      if (d > 9)
        d -= 9;
    }
    sum += d;
  }
  return sum % 10 == 0;
}

MK_EXPORT int mk_valid_bank_card(const char *s, mk_err *e) {
  int rc = 0;
  MK_ENSURE(s != NULL, MK_EINVAL, e, "bank card number is missing");
  size_t n = strnlen(s, CARD_MAX + 1);
  MK_ENSURE(n != 0, MK_EINVAL, e, "bank card number is empty");
  for (size_t i = 0; i < n; i++)
    MK_ENSURE(is_digit(s[i]), MK_EINVAL, e,
              "bank card number character %zu is not a digit (no spaces or dashes)", i + 1);
  MK_ENSURE(n <= CARD_MAX, MK_EINVAL, e, "bank card number is too long (more than %d digits)", CARD_MAX);
  MK_ENSURE(n >= CARD_MIN, MK_EINVAL, e, "bank card number is too short (%zu digits, at least %d)",
            n, CARD_MIN);
  MK_ENSURE(luhn_ok(s, n), MK_EINVAL, e, "bank card number check digit is wrong");
out:
  return rc;
}

/* ---- person name ------------------------------------------------------ */

static bool is_control(uint32_t c) { return c < 0x20 || (c >= 0x7F && c <= 0x9F); }

/* Spaces other than U+0020 (Unicode White_Space): they look like a space but
 * compare differently, so one name could be stored in two spellings. */
static bool is_other_space(uint32_t c) {
  return c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Characters that render as nothing or reorder text (bidi controls, zero-width
 * characters, Hangul fillers, tags): they let two different names look the
 * same on a certificate or a screen. */
static bool is_invisible(uint32_t c) {
  return c == 0xAD || c == 0x34F || c == 0x61C || c == 0x115F || c == 0x1160 ||
         c == 0x180E || (c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) ||
         (c >= 0x2060 && c <= 0x206F) || c == 0x3164 || c == 0xFEFF || c == 0xFFA0 ||
         (c >= 0xFFF9 && c <= 0xFFFB) || (c >= 0xE0000 && c <= 0xE007F);
}

static bool is_noncharacter(uint32_t c) {
  return (c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE;
}

MK_EXPORT int mk_valid_person_name(const char *s, mk_err *e) {
  int rc = 0;
  MK_ENSURE(s != NULL, MK_EINVAL, e, "name is missing");
  size_t n = strnlen(s, NAME_MAX_BYTES + 1);
  MK_ENSURE(n != 0, MK_EINVAL, e, "name is empty");
  MK_ENSURE(n <= NAME_MAX_BYTES, MK_EINVAL, e, "name is too long (more than %d characters)",
            NAME_MAX_CHARS);
  const unsigned char *p = (const unsigned char *)s;
  size_t chars = 0;
  uint32_t c = 0;
  for (size_t off = 0; off < n;) {
    int len = mk_utf8_next(p + off, n - off, &c);
    chars++;
    /* Names never appear in messages: a position and a code point do. */
    MK_ENSURE(len > 0, MK_EINVAL, e, "name is not valid UTF-8 at character %zu", chars);
    MK_ENSURE(chars <= NAME_MAX_CHARS, MK_EINVAL, e, "name is too long (more than %d characters)",
              NAME_MAX_CHARS);
    MK_ENSURE(!is_control(c), MK_EINVAL, e, "name character %zu is a control character (U+%04X)",
              chars, (unsigned)c);
    MK_ENSURE(!is_other_space(c), MK_EINVAL, e,
              "name character %zu is a special space (U+%04X); only the ordinary space is allowed",
              chars, (unsigned)c);
    MK_ENSURE(!is_invisible(c), MK_EINVAL, e,
              "name character %zu is an invisible formatting character (U+%04X)", chars, (unsigned)c);
    MK_ENSURE(!is_noncharacter(c), MK_EINVAL, e, "name character %zu is a Unicode noncharacter (U+%04X)",
              chars, (unsigned)c);
    MK_ENSURE(!(chars == 1 && c == ' '), MK_EINVAL, e, "name must not start with a space");
    off += (size_t)len;
  }
  MK_ENSURE(c != ' ', MK_EINVAL, e, "name must not end with a space");
out:
  return rc;
}
