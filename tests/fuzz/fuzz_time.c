/*
 * util/time on arbitrary text: whatever parses must format and parse again
 * to the same instant, and formatting must agree with the 0000..9999 range.
 * The first 8 bytes are also read as an int64 to drive format directly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/time.h"

#define FUZZ_MAX 256 /* past the parser's own 64-character cap */

#define T_MIN INT64_C(-62167219200) /* 0000-01-01T00:00:00Z */
#define T_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

static void format_parse(int64_t t) {
  char text[MK_TIME_TEXT_MAX];
  mk_err e;
  int rc = mk_time_format(t, text, &e);
  if (t < T_MIN || t > T_MAX) {
    if (rc != MK_EINVAL)
      abort();
    return;
  }
  if (rc != 0 || strlen(text) != 20)
    abort();
  int64_t back = 0;
  if (mk_time_parse(text, &back, &e) != 0 || back != t)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > FUZZ_MAX)
    return 0;
  char *s = malloc(size + 1);
  if (s == NULL)
    abort();
  memcpy(s, data, size);
  s[size] = '\0';

  int64_t t = 0;
  mk_err e;
  int rc = mk_time_parse(s, &t, &e);
  if (rc == 0) {
    /* Offsets can carry a 4-digit year just outside the format's range. */
    if (t < T_MIN - 86400 || t > T_MAX + 86400)
      abort();
    format_parse(t);
    /* Year, month and day of the text form a real date. */
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (!mk_date_valid(y, m, d))
      abort();
  } else if (rc != MK_EINVAL || e.code != MK_EINVAL || e.msg[0] == '\0') {
    abort();
  }

  if (size >= 8) {
    int64_t v;
    memcpy(&v, data, sizeof v);
    format_parse(v);
    /* Also near the valid range, where the interesting edges are. */
    format_parse(v % (T_MAX - T_MIN + 2) + (v < 0 ? T_MAX : T_MIN));
  }
  free(s);
  return 0;
}
