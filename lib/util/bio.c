#include "util/bio.h"

#include <stdlib.h>
#include <string.h>

#include "util/guard.h"

int mk_bio_text(BIO *b, int allow_empty, const char *what, char **out, mk_err *e) {
  int rc = 0;
  char *data = NULL;
  *out = NULL;
  long n = BIO_get_mem_data(b, &data);
  MK_ENSURE(n >= 0 && (n > 0 || allow_empty), MK_EINTERNAL, e, "%s is empty", what);
  *out = malloc((size_t)n + 1);
  MK_ENSURE_ALLOC(*out, e);
  if (n > 0)
    memcpy(*out, data, (size_t)n);
  (*out)[n] = '\0';
out:
  return rc;
}
