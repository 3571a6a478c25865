/* OpenSSL memory BIOs as C strings. */
#ifndef MK_UTIL_BIO_H
#define MK_UTIL_BIO_H

#include <openssl/bio.h>

#include "mkey/mkey.h"

/* Copy what memory BIO b holds into *out, malloc'd and NUL-terminated (the
 * caller frees it). Empty content fails with MK_EINTERNAL "<what> is empty"
 * unless allow_empty. */
int mk_bio_text(BIO *b, int allow_empty, const char *what, char **out, mk_err *e) MK_MUST_CHECK;

#endif
