/*
 * Growable byte buffer with a hard cap (like curl's dynbuf): appending past
 * max fails with MK_ETOOBIG and leaves the buffer as it was. data is always
 * NUL-terminated (one byte beyond len) so text can be read as a C string.
 */
#ifndef MK_UTIL_BUF_H
#define MK_UTIL_BUF_H

#include "mkey/mkey.h"

typedef struct mk_buf {
  unsigned char *data; /* NULL until the first append; owned */
  size_t len;
  size_t cap;          /* allocated bytes, including the NUL */
  size_t max;          /* hard cap on len */
  int secret;          /* grow by copy-and-wipe; wipe on free (mk_buf_init_secret) */
} mk_buf;

/* Start an empty buffer that may hold at most max bytes; allocates nothing. */
void mk_buf_init(mk_buf *b, size_t max);
/* The same for content that may be secret (request bodies, key files, PIN
 * proofs): growing copies into a new block and wipes the old one (realloc
 * would free it unwiped), and mk_buf_free / mk_buf_reset wipe. */
void mk_buf_init_secret(mk_buf *b, size_t max);
/* Release the memory (wiped first for a secret buffer); the buffer is empty
 * and reusable after. */
void mk_buf_free(mk_buf *b);
/* Like mk_buf_free, but wipes the current allocation first. Blocks left
 * behind by earlier growth are wiped only for mk_buf_init_secret buffers:
 * use that for anything secret. */
void mk_buf_free_secret(mk_buf *b);
/* Drop the content (wiped for a secret buffer), keep the memory. */
void mk_buf_reset(mk_buf *b);

int mk_buf_append(mk_buf *b, const void *p, size_t n, mk_err *e) MK_MUST_CHECK;
int mk_buf_append_str(mk_buf *b, const char *s, mk_err *e) MK_MUST_CHECK;
int mk_buf_printf(mk_buf *b, mk_err *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4))) MK_MUST_CHECK;

/* Hand the content over: returns data (caller frees; never NULL on success,
 * an empty string when nothing was appended) and resets b. NULL if out of
 * memory. */
unsigned char *mk_buf_detach(mk_buf *b, size_t *len);

#endif
