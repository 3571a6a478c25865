/* Files compiled into a program by cmake/embed.cmake (migrations, OpenAPI). */
#ifndef MK_UTIL_EMBED_H
#define MK_UTIL_EMBED_H

#include <stddef.h>

struct mk_embedded {
  const char *name;          /* file name without directory; NULL ends a table */
  const unsigned char *data; /* NUL-terminated */
  size_t len;                /* without the NUL */
};

#endif
