/*
 * Image type sniffing for uploads (licence photos, application forms): the
 * one rule shared by the client, which refuses a wrong file before sending
 * it, and mkeyd, which refuses it again whatever the client said.
 */
#ifndef MK_UTIL_IMAGE_H
#define MK_UTIL_IMAGE_H

#include <stddef.h>

#define MK_IMAGE_MAX (2u * 1024 * 1024) /* bytes of one uploaded image */

/* "image/png" for a PNG signature followed by its IHDR chunk, "image/jpeg"
 * for SOI + a marker ... EOI, else NULL. Reads only the len bytes of d. */
const char *mk_image_type(const unsigned char *d, size_t len);

#endif
