#include "util/enc.h"
#include "util/guard.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <stdint.h>

/*
 * The text may carry key material (a wrapped key share, a PIN-derived
 * secret), so characters are mapped with masks instead of table lookups or
 * branches on their value: no secret-indexed memory access, no
 * secret-dependent jump (the technique of libsodium's codecs.c). Only the
 * length and the position of padding, which are public, steer control flow.
 */

/* For a, b in 0..255: 0xFF when the relation holds, else 0. */
static unsigned ct_lt(unsigned a, unsigned b) { return ((a - b) >> 8) & 0xFF; }
static unsigned ct_ge(unsigned a, unsigned b) { return ct_lt(a, b) ^ 0xFF; }
static unsigned ct_le(unsigned a, unsigned b) { return ct_lt(b, a) ^ 0xFF; }
static unsigned ct_eq(unsigned a, unsigned b) {
  return (((0U - (a ^ b)) >> 8) & 0xFF) ^ 0xFF;
}
static unsigned ct_range(unsigned c, unsigned lo, unsigned hi) {
  return ct_ge(c, lo) & ct_le(c, hi);
}

/* 0..15 to '0'..'9', 'a'..'f'. */
static char hex_char(unsigned v) {
  return (char)(v + '0' + (ct_ge(v, 10) & ('a' - '0' - 10)));
}

/* Character to 0..15, or 0xFF when it is not a hex digit. */
static unsigned hex_value(unsigned char c) {
  unsigned m_dig = ct_range(c, '0', '9');
  unsigned m_low = ct_range(c, 'a', 'f');
  unsigned m_up = ct_range(c, 'A', 'F');
  unsigned v = (m_dig & (c - '0')) | (m_low & (c - 'a' + 10)) | (m_up & (c - 'A' + 10));
  return v | ((m_dig | m_low | m_up) ^ 0xFF);
}

/* 0..63 to the RFC 4648 §4 alphabet, or §5 when url is set. */
static char b64_char(unsigned v, int url) {
  unsigned c62 = url ? '-' : '+', c63 = url ? '_' : '/';
  return (char)((ct_lt(v, 26) & (v + 'A')) |
                (ct_range(v, 26, 51) & (v - 26 + 'a')) |
                (ct_range(v, 52, 61) & (v - 52 + '0')) |
                (ct_eq(v, 62) & c62) | (ct_eq(v, 63) & c63));
}

/* Character to 0..63, or 0xFF when it is outside the alphabet. */
static unsigned b64_value(unsigned char c, int url) {
  unsigned c62 = url ? '-' : '+', c63 = url ? '_' : '/';
  unsigned m_up = ct_range(c, 'A', 'Z');
  unsigned m_low = ct_range(c, 'a', 'z');
  unsigned m_dig = ct_range(c, '0', '9');
  unsigned m_62 = ct_eq(c, c62), m_63 = ct_eq(c, c63);
  unsigned v = (m_up & (c - 'A')) | (m_low & (c - 'a' + 26)) |
               (m_dig & (c - '0' + 52)) | (m_62 & 62) | (m_63 & 63);
  return v | ((m_up | m_low | m_dig | m_62 | m_63) ^ 0xFF);
}

/* Offset of the first character that is not in the alphabet. Runs only once
 * the input is known to be bad, to name the place in the message. */
static size_t first_bad(const char *in, size_t len, int kind) {
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)in[i];
    unsigned v = kind < 0 ? hex_value(c) : b64_value(c, kind);
    if (v == 0xFF)
      return i;
  }
  return len;
}

/* ---- sizes ----------------------------------------------------------------
 * Saturate at SIZE_MAX so an absurd n gives a size no buffer can have. */

size_t mk_hex_enc_len(size_t n) {
  if (n > (SIZE_MAX - 1) / 2)
    return SIZE_MAX;
  return 2 * n + 1;
}

size_t mk_base64_enc_len(size_t n) {
  size_t groups = n / 3 + (n % 3 != 0);
  if (groups > (SIZE_MAX - 1) / 4)
    return SIZE_MAX;
  return 4 * groups + 1;
}

size_t mk_base64url_enc_len(size_t n) {
  static const size_t tail[3] = {0, 2, 3};
  size_t groups = n / 3;
  if (groups > (SIZE_MAX - 4) / 4)
    return SIZE_MAX;
  return 4 * groups + tail[n % 3] + 1;
}

size_t mk_base64_dec_max(size_t textlen) {
  /* A trailing group of 2 or 3 characters carries 1 or 2 bytes. */
  return textlen / 4 * 3 + (textlen % 4) * 3 / 4;
}

/* ---- hex ----------------------------------------------------------------- */

int mk_hex_encode(const void *in, size_t n, char *out, size_t outcap, mk_err *e) {
  int rc = 0;
  const unsigned char *p = in;
  size_t need = mk_hex_enc_len(n);
  MK_ENSURE(need - 1 <= INT_MAX, MK_ETOOBIG, e, "hex: %zu bytes are too many to encode", n);
  MK_ENSURE(outcap >= need, MK_ETOOBIG, e, "hex: output needs %zu bytes, has %zu", need, outcap);
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hex_char(p[i] >> 4);
    out[2 * i + 1] = hex_char(p[i] & 0x0F);
  }
  out[2 * n] = '\0';
  rc = (int)(2 * n);
out:
  return rc;
}

int mk_hex_decode(const char *in, size_t len, void *out, size_t outcap, mk_err *e) {
  int rc = 0;
  unsigned char *o = out;
  size_t n = len / 2;
  unsigned bad = 0;
  MK_ENSURE(len % 2 == 0, MK_EINVAL, e, "hex: odd length %zu", len);
  MK_ENSURE(n <= INT_MAX, MK_ETOOBIG, e, "hex: %zu characters are too many to decode", len);
  MK_ENSURE(outcap >= n, MK_ETOOBIG, e, "hex: output needs %zu bytes, has %zu", n, outcap);
  for (size_t i = 0; i < n; i++) {
    unsigned hi = hex_value((unsigned char)in[2 * i]);
    unsigned lo = hex_value((unsigned char)in[2 * i + 1]);
    bad |= ct_eq(hi, 0xFF) | ct_eq(lo, 0xFF);
    o[i] = (unsigned char)((hi << 4) | (lo & 0x0F));
  }
  if (bad != 0) {
    OPENSSL_cleanse(o, n);
    MK_FAIL(MK_EINVAL, e, "hex: bad character at offset %zu", first_bad(in, len, -1));
  }
  rc = (int)n;
out:
  return rc;
}

/* ---- base64 and base64url ------------------------------------------------ */

static int b64_encode(const void *in, size_t n, char *out, size_t outcap, int url, mk_err *e) {
  int rc = 0;
  const unsigned char *p = in;
  const char *name = url ? "base64url" : "base64";
  size_t need = url ? mk_base64url_enc_len(n) : mk_base64_enc_len(n);
  MK_ENSURE(need - 1 <= INT_MAX, MK_ETOOBIG, e, "%s: %zu bytes are too many to encode", name, n);
  MK_ENSURE(outcap >= need, MK_ETOOBIG, e, "%s: output needs %zu bytes, has %zu", name, need, outcap);
  size_t i = 0, o = 0;
  for (; n - i >= 3; i += 3) {
    uint32_t w = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    out[o++] = b64_char(w >> 18, url);
    out[o++] = b64_char((w >> 12) & 63, url);
    out[o++] = b64_char((w >> 6) & 63, url);
    out[o++] = b64_char(w & 63, url);
  }
  if (n - i > 0) {
    uint32_t w = (uint32_t)p[i] << 16;
    if (n - i == 2)
      w |= (uint32_t)p[i + 1] << 8;
    out[o++] = b64_char(w >> 18, url);
    out[o++] = b64_char((w >> 12) & 63, url);
    if (n - i == 2)
      out[o++] = b64_char((w >> 6) & 63, url);
    else if (!url)
      out[o++] = '=';
    if (!url)
      out[o++] = '=';
  }
  out[o] = '\0';
  rc = (int)o;
out:
  return rc;
}

/* RFC 4648 §3.5: a canonical encoding sets the unused bits of the last
 * character to zero; accepting others would give one value many texts. */
static int b64_decode(const char *in, size_t len, void *out, size_t outcap, int url, mk_err *e) {
  int rc = 0;
  unsigned char *o = out;
  const char *name = url ? "base64url" : "base64";
  size_t pad = 0, n = 0, data, rem;
  unsigned bad = 0;
  if (len >= 1 && in[len - 1] == '=')
    pad++;
  if (len >= 2 && in[len - 2] == '=')
    pad++;
  if (!url || pad > 0)
    MK_ENSURE(len % 4 == 0, MK_EINVAL, e, "%s: length %zu is not a multiple of 4", name, len);
  data = len - pad;
  rem = data % 4;
  MK_ENSURE(rem != 1, MK_EINVAL, e, "%s: truncated input (length %zu)", name, len);
  n = data / 4 * 3 + (rem == 0 ? 0 : rem - 1);
  MK_ENSURE(n <= INT_MAX, MK_ETOOBIG, e, "%s: %zu characters are too many to decode", name, len);
  MK_ENSURE(outcap >= n, MK_ETOOBIG, e, "%s: output needs %zu bytes, has %zu", name, n, outcap);

  size_t i = 0, w = 0;
  for (; data - i >= 4; i += 4) {
    unsigned a = b64_value((unsigned char)in[i], url);
    unsigned b = b64_value((unsigned char)in[i + 1], url);
    unsigned c = b64_value((unsigned char)in[i + 2], url);
    unsigned d = b64_value((unsigned char)in[i + 3], url);
    bad |= ct_eq(a, 0xFF) | ct_eq(b, 0xFF) | ct_eq(c, 0xFF) | ct_eq(d, 0xFF);
    uint32_t v = (a & 63) << 18 | (b & 63) << 12 | (c & 63) << 6 | (d & 63);
    o[w++] = (unsigned char)(v >> 16);
    o[w++] = (unsigned char)(v >> 8);
    o[w++] = (unsigned char)v;
  }
  if (rem > 0) {
    unsigned a = b64_value((unsigned char)in[i], url);
    unsigned b = b64_value((unsigned char)in[i + 1], url);
    bad |= ct_eq(a, 0xFF) | ct_eq(b, 0xFF);
    o[w++] = (unsigned char)(((a & 63) << 2) | ((b & 63) >> 4));
    if (rem == 2) {
      bad |= ct_eq(b & 0x0F, 0) ^ 0xFF;
    } else {
      unsigned c = b64_value((unsigned char)in[i + 2], url);
      bad |= ct_eq(c, 0xFF);
      o[w++] = (unsigned char)(((b & 0x0F) << 4) | ((c & 63) >> 2));
      bad |= ct_eq(c & 0x03, 0) ^ 0xFF;
    }
  }
  if (bad != 0) {
    OPENSSL_cleanse(o, n);
    size_t at = first_bad(in, data, url);
    if (at < data)
      MK_FAIL(MK_EINVAL, e, "%s: bad character at offset %zu", name, at);
    MK_FAIL(MK_EINVAL, e, "%s: non-zero trailing bits at offset %zu", name, data - 1);
  }
  rc = (int)n;
out:
  return rc;
}

int mk_base64_encode(const void *in, size_t n, char *out, size_t outcap, mk_err *e) {
  return b64_encode(in, n, out, outcap, 0, e);
}

int mk_base64_decode(const char *in, size_t len, void *out, size_t outcap, mk_err *e) {
  return b64_decode(in, len, out, outcap, 0, e);
}

int mk_base64url_encode(const void *in, size_t n, char *out, size_t outcap, mk_err *e) {
  return b64_encode(in, n, out, outcap, 1, e);
}

int mk_base64url_decode(const char *in, size_t len, void *out, size_t outcap, mk_err *e) {
  return b64_decode(in, len, out, outcap, 1, e);
}
