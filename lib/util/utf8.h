/*
 * UTF-8 as RFC 3629 defines it: one decoder for every module that reads text
 * from outside (JSON strings, labels, PINs, names).
 */
#ifndef MK_UTIL_UTF8_H
#define MK_UTIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decode the sequence at s (len bytes available) into *cp. Returns the bytes
 * it took (1..4), or -1 when it is not well-formed UTF-8: an overlong form, a
 * surrogate (U+D800..DFFF), a value past U+10FFFF, a stray continuation
 * byte, or a sequence cut short (len 0 included). *cp is set only on success. */
int mk_utf8_next(const unsigned char *s, size_t len, uint32_t *cp);

/* 1 when s (len bytes) is valid UTF-8 without NUL, C0/C1 controls or DEL,
 * other than those allowed by allow_newlines (\n, \r, \t). */
int mk_utf8_valid_text(const char *s, size_t len, int allow_newlines);

/* Number of Unicode code points in valid UTF-8 s (bytes that are not
 * continuation bytes, so at most len for any input). */
size_t mk_utf8_count(const char *s, size_t len);

#endif
