#include "util/image.h"

#include <string.h>

const char *mk_image_type(const unsigned char *d, size_t n) {
  static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  /* signature, the IHDR chunk's length, type and 13 data bytes, its CRC */
  if (n >= 33 && memcmp(d, png, 8) == 0 && memcmp(d + 12, "IHDR", 4) == 0)
    return "image/png";
  if (n >= 4 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff && d[n - 2] == 0xff &&
      d[n - 1] == 0xd9)
    return "image/jpeg";
  return NULL;
}
