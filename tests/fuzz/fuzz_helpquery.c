/*
 * The 智能客服 query parser (svc/help.c) over any bytes: it answers 0 or
 * MK_EINVAL; accepted input gives 1..MK_HELP_TERMS_MAX terms, each
 * NUL-terminated, of CJK characters or lower-case [a-z0-9] only (so no FTS5
 * operator or quote can come from the question), with the character count
 * it claims; the FTS5 expression built from them is a list of quoted
 * strings joined by " OR ".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "svc/svc.h"

static size_t count_chars(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    n += ((unsigned char)*s & 0xc0) != 0x80;
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 2 * MK_HELP_QUERY_BYTES)
    return 0;
  char *q = malloc(size + 1);
  if (q == NULL)
    return 0;
  memcpy(q, data, size);
  q[size] = '\0';
  mk_help_terms t;
  mk_err e;
  mk_err_clear(&e);
  int rc = mk_svc_help_terms(q, &t, &e);
  if (rc != 0 && rc != MK_EINVAL)
    abort();
  if (rc == MK_EINVAL && e.msg[0] == '\0')
    abort();
  if (rc == 0) {
    if (t.n == 0 || t.n > MK_HELP_TERMS_MAX)
      abort();
    for (size_t i = 0; i < t.n; i++) {
      const char *s = t.term[i].text;
      if (memchr(s, '\0', MK_HELP_TERM_BYTES) == NULL || *s == '\0')
        abort();
      for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x80 && !((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
          abort();
      if ((int)count_chars(s) != t.term[i].chars)
        abort();
    }
    char fts[MK_HELP_TERMS_MAX * (2 * MK_HELP_TERM_BYTES + 8)];
    if (mk_svc_help_fts_query(&t, fts, sizeof fts, &e) != 0)
      abort();
    /* Quoted strings joined by " OR ": the only '"' are the quotes. */
    size_t quotes = 0;
    for (const char *p = fts; *p; p++)
      quotes += *p == '"';
    if (quotes % 2 != 0 || (fts[0] != '\0' && (fts[0] != '"' || fts[strlen(fts) - 1] != '"')))
      abort();
  }
  free(q);
  return 0;
}
