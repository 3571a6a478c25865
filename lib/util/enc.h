/*
 * Text encodings: hex, base64 (RFC 4648 §4, padded) and base64url (RFC 4648
 * §5, unpadded on output, padding optional on input). Decoders are strict:
 * they reject characters outside the alphabet, bad padding, non-zero trailing
 * bits and whitespace, so one value has exactly one encoding.
 *
 * Output buffers are caller-owned: *_enc_len / *_dec_max give the size needed
 * (encoders count the NUL). Functions return the number of bytes written
 * (without the NUL) or a negative MK_E* code.
 */
#ifndef MK_UTIL_ENC_H
#define MK_UTIL_ENC_H

#include "mkey/mkey.h"

size_t mk_hex_enc_len(size_t n);          /* 2n + 1 */
size_t mk_base64_enc_len(size_t n);       /* padded, + 1 */
size_t mk_base64url_enc_len(size_t n);    /* unpadded, + 1 */
size_t mk_base64_dec_max(size_t textlen); /* upper bound of decoded bytes */

/* Lower-case hex. */
int mk_hex_encode(const void *in, size_t n, char *out, size_t outcap, mk_err *e) MK_MUST_CHECK;
/* Accepts upper and lower case; rejects odd length. */
int mk_hex_decode(const char *in, size_t len, void *out, size_t outcap, mk_err *e) MK_MUST_CHECK;

int mk_base64_encode(const void *in, size_t n, char *out, size_t outcap, mk_err *e) MK_MUST_CHECK;
int mk_base64_decode(const char *in, size_t len, void *out, size_t outcap, mk_err *e) MK_MUST_CHECK;
int mk_base64url_encode(const void *in, size_t n, char *out, size_t outcap, mk_err *e) MK_MUST_CHECK;
int mk_base64url_decode(const char *in, size_t len, void *out, size_t outcap, mk_err *e) MK_MUST_CHECK;

#endif
