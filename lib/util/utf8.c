#include "util/utf8.h"

/* RFC 3629 §4 (Unicode table 3-7, "well-formed UTF-8 byte sequences"): the
 * range of the second byte depends on the first, which is what excludes
 * overlongs (C0, C1, E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and code
 * points past U+10FFFF (F4 90.., F5..FF); later bytes are 80..BF. */
int mk_utf8_next(const unsigned char *s, size_t len, uint32_t *cp) {
  if (s == NULL || len == 0)
    return -1;
  unsigned char b = s[0];
  unsigned char lo = 0x80, hi = 0xBF;
  size_t want;
  uint32_t c;
  if (b < 0x80) {
    *cp = b;
    return 1;
  } else if (b >= 0xC2 && b <= 0xDF) {
    want = 2;
    c = b & 0x1F;
  } else if (b >= 0xE0 && b <= 0xEF) {
    want = 3;
    c = b & 0x0F;
    if (b == 0xE0)
      lo = 0xA0;
    else if (b == 0xED)
      hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    want = 4;
    c = b & 0x07;
    if (b == 0xF0)
      lo = 0x90;
    else if (b == 0xF4)
      hi = 0x8F;
  } else {
    return -1;
  }
  if (len < want)
    return -1;
  for (size_t i = 1; i < want; i++) {
    if (s[i] < lo || s[i] > hi)
      return -1;
    lo = 0x80;
    hi = 0xBF;
    c = (c << 6) | (s[i] & 0x3F);
  }
  *cp = c;
  return (int)want;
}

int mk_utf8_valid_text(const char *s, size_t len, int allow_newlines) {
  if (s == NULL)
    return len == 0;
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < len;) {
    uint32_t c = 0;
    int k = mk_utf8_next(p + i, len - i, &c);
    if (k < 0)
      return 0;
    /* Unicode Cc: C0 (with NUL), DEL and C1 U+0080..U+009F. */
    if (c < 0x20 && !(allow_newlines && (c == '\n' || c == '\r' || c == '\t')))
      return 0;
    if (c >= 0x7F && c <= 0x9F)
      return 0;
    i += (size_t)k;
  }
  return 1;
}

size_t mk_utf8_count(const char *s, size_t len) {
  size_t count = 0;
  if (s == NULL)
    return 0;
  for (size_t i = 0; i < len; i++)
    if (((unsigned char)s[i] & 0xC0) != 0x80)
      count++;
  return count;
}
