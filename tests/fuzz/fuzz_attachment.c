/*
 * Attachment type sniffing (util/image.c, used by the CLI and svc/attachment.c) over any upload: the answer is
 * NULL, "image/png" or "image/jpeg", and a type is only given to bytes that
 * start (and for JPEG end) the way that format does. The bytes come in a
 * buffer of exactly their size, so ASan reports any read past len.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "svc/svc.h"
#include "util/image.h"

static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > MK_ATTACHMENT_MAX)
    return 0;
  const char *t = mk_image_type(data, size);
  if (t == NULL)
    return 0;
  if (strcmp(t, "image/png") == 0) {
    /* signature, then the IHDR chunk's length, type and 13 data bytes */
    if (size < 8 + 4 + 4 + 13 + 4 || memcmp(data, png_sig, 8) != 0 ||
        memcmp(data + 12, "IHDR", 4) != 0)
      abort();
  } else if (strcmp(t, "image/jpeg") == 0) {
    /* SOI, the first marker's 0xff, EOI */
    if (size < 4 || data[0] != 0xff || data[1] != 0xd8 || data[2] != 0xff ||
        data[size - 2] != 0xff || data[size - 1] != 0xd9)
      abort();
  } else {
    abort();
  }
  /* The same bytes sniff the same way. */
  if (mk_image_type(data, size) != t)
    abort();
  return 0;
}
