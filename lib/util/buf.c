#include "util/buf.h"
#include "util/guard.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mk_buf_init(mk_buf *b, size_t max) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  b->max = max;
  b->secret = 0;
}

void mk_buf_init_secret(mk_buf *b, size_t max) {
  mk_buf_init(b, max);
  b->secret = 1;
}

void mk_buf_free(mk_buf *b) {
  if (b->secret && b->data != NULL)
    OPENSSL_cleanse(b->data, b->cap);
  free(b->data);
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
}

void mk_buf_free_secret(mk_buf *b) {
  b->secret = 1;
  mk_buf_free(b);
}

void mk_buf_reset(mk_buf *b) {
  if (b->secret && b->data != NULL)
    OPENSSL_cleanse(b->data, b->len);
  b->len = 0;
  if (b->data != NULL)
    b->data[0] = '\0';
}

/* Make room for n more bytes plus the NUL; growth doubles, bounded by max. */
static int reserve(mk_buf *b, size_t n, mk_err *e) {
  if (n > b->max || b->len > b->max - n)
    return mk_err_set(e, MK_ETOOBIG, "buffer over its cap of %zu bytes", b->max);
  size_t need = b->len + n + 1;
  if (need <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  if (b->max < SIZE_MAX && cap > b->max + 1) /* max + 1 would wrap at SIZE_MAX */
    cap = b->max + 1;
  unsigned char *p;
  if (b->secret) {
    p = malloc(cap);
    if (p == NULL)
      return mk_err_set(e, MK_ENOMEM, "out of memory");
    if (b->data != NULL) {
      memcpy(p, b->data, b->len + 1);
      OPENSSL_cleanse(b->data, b->cap);
      free(b->data);
    }
  } else {
    p = realloc(b->data, cap);
    if (p == NULL)
      return mk_err_set(e, MK_ENOMEM, "out of memory");
  }
  b->data = p;
  b->cap = cap;
  return 0;
}

int mk_buf_append(mk_buf *b, const void *p, size_t n, mk_err *e) {
  int rc = reserve(b, n, e);
  if (rc < 0)
    return rc;
  if (n > 0)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int mk_buf_append_str(mk_buf *b, const char *s, mk_err *e) {
  return mk_buf_append(b, s, strlen(s), e);
}

int mk_buf_printf(mk_buf *b, mk_err *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return mk_err_set(e, MK_EINVAL, "bad format");
  int rc = reserve(b, (size_t)n, e);
  if (rc < 0)
    return rc;
  va_start(ap, fmt);
  int m = vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  if (m != n) {
    b->data[b->len] = '\0';
    return mk_err_set(e, MK_EINVAL, "bad format");
  }
  b->len += (size_t)n;
  return 0;
}

unsigned char *mk_buf_detach(mk_buf *b, size_t *len) {
  unsigned char *p = b->data;
  if (p == NULL) {
    p = calloc(1, 1);
    if (p == NULL)
      return NULL;
  }
  if (len != NULL)
    *len = b->len;
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  return p;
}
