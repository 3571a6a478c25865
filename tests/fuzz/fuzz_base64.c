/*
 * util/enc decoders on arbitrary text. Strict decoding means one value has
 * one text, so whatever decodes must re-encode to exactly the input (for
 * base64url: the input without its optional padding; for hex: the input in
 * lower case). The same bytes are also encoded and decoded back as data.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/enc.h"

#define FUZZ_MAX 4096 /* longer inputs exercise nothing new */

typedef int (*dec_fn)(const char *, size_t, void *, size_t, mk_err *);
typedef int (*enc_fn)(const void *, size_t, char *, size_t, mk_err *);

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (p == NULL)
    abort();
  return p;
}

/* Decode text into a buffer of exactly the advertised bound, so ASan sees
 * any write past it; when it decodes, check that it is canonical. */
static void decode_canonical(dec_fn dec, enc_fn enc, size_t (*enc_len)(size_t),
                             size_t (*dec_max)(size_t), const char *text, size_t len,
                             const char *canon, size_t canon_len) {
  size_t cap = dec_max(len);
  unsigned char *bin = xmalloc(cap);
  mk_err e;
  int n = dec(text, len, bin, cap, &e);
  if (n < 0) {
    if (n != MK_EINVAL && n != MK_ETOOBIG)
      abort();
    if (e.code != n || e.msg[0] == '\0')
      abort();
    free(bin);
    return;
  }
  if ((size_t)n > cap)
    abort();
  /* One byte less room must be refused, not overrun. */
  if (n > 0 && dec(text, len, bin, (size_t)n - 1, &e) != MK_ETOOBIG)
    abort();
  size_t tcap = enc_len((size_t)n);
  char *again = xmalloc(tcap);
  int m = enc(bin, (size_t)n, again, tcap, &e);
  if (m < 0 || (size_t)m != canon_len || (size_t)m + 1 != tcap || again[m] != '\0')
    abort();
  if (memcmp(again, canon, canon_len) != 0)
    abort();
  free(again);
  free(bin);
}

static size_t hex_dec_max(size_t len) { return len / 2; }
static size_t b64url_dec_max(size_t len) { return mk_base64_dec_max(len); }

/* Encode data, decode the text, compare: the encoders' side of the contract. */
static void encode_round_trip(enc_fn enc, dec_fn dec, size_t (*enc_len)(size_t),
                              size_t (*dec_max)(size_t), const uint8_t *data, size_t size) {
  size_t tcap = enc_len(size);
  char *text = xmalloc(tcap);
  mk_err e;
  int m = enc(data, size, text, tcap, &e);
  if (m < 0 || (size_t)m + 1 != tcap || strlen(text) != (size_t)m)
    abort();
  if (size > 0 && enc(data, size, text, tcap - 1, &e) != MK_ETOOBIG)
    abort();
  m = enc(data, size, text, tcap, &e);
  size_t cap = dec_max((size_t)m);
  unsigned char *bin = xmalloc(cap);
  int n = dec(text, (size_t)m, bin, cap, &e);
  if (n < 0 || (size_t)n != size || (size > 0 && memcmp(bin, data, size) != 0))
    abort();
  free(bin);
  free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > FUZZ_MAX)
    return 0;
  const char *text = (const char *)data;

  decode_canonical(mk_base64_decode, mk_base64_encode, mk_base64_enc_len, mk_base64_dec_max,
                   text, size, text, size);

  size_t unpadded = size;
  while (unpadded > 0 && text[unpadded - 1] == '=')
    unpadded--;
  decode_canonical(mk_base64url_decode, mk_base64url_encode, mk_base64url_enc_len,
                   b64url_dec_max, text, size, text, unpadded);

  char *lower = xmalloc(size);
  for (size_t i = 0; i < size; i++)
    lower[i] = (char)tolower((unsigned char)text[i]);
  decode_canonical(mk_hex_decode, mk_hex_encode, mk_hex_enc_len, hex_dec_max, text, size, lower,
                   size);
  free(lower);

  encode_round_trip(mk_base64_encode, mk_base64_decode, mk_base64_enc_len, mk_base64_dec_max,
                    data, size);
  encode_round_trip(mk_base64url_encode, mk_base64url_decode, mk_base64url_enc_len,
                    b64url_dec_max, data, size);
  encode_round_trip(mk_hex_encode, mk_hex_decode, mk_hex_enc_len, hex_dec_max, data, size);
  return 0;
}
