#include "util/id.h"
#include "util/guard.h"

#include <openssl/rand.h>
#include <string.h>

#define ID_RANDOM_BYTES 16 /* 128 bits */

/* Crockford base32, lower case: no i l o u, so an id read aloud or retyped
 * cannot be confused (https://www.crockford.com/base32.html). */
static const char alphabet[32] = "0123456789abcdefghjkmnpqrstvwxyz";

static int prefix_ok(const char *p, size_t n) {
  if (n < 1 || n > MK_ID_PREFIX_MAX)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (p[i] < 'a' || p[i] > 'z')
      return 0;
  return 1;
}

static int in_alphabet(char c) {
  return c != '\0' && memchr(alphabet, c, sizeof alphabet) != NULL;
}

int mk_id_new(char out[MK_ID_MAX], const char *prefix, mk_err *e) {
  int rc = 0;
  unsigned char r[ID_RANDOM_BYTES];
  size_t plen = prefix ? strnlen(prefix, MK_ID_PREFIX_MAX + 1) : 0;
  MK_ENSURE(prefix_ok(prefix, plen), MK_EINVAL, e,
            "id: prefix must be 1 to %d letters a-z", MK_ID_PREFIX_MAX);
  MK_TRY_OSSL(RAND_bytes(r, sizeof r), e, "id: random bytes");

  memcpy(out, prefix, plen);
  out[plen] = '_';
  char *o = out + plen + 1;
  /* 26 characters hold 130 bits: the 128 random bits, big-endian, behind two
   * zero bits (as ULID does), so the first character is always 0..7. */
  unsigned acc = 0, bits = 2, k = 0;
  for (size_t i = 0; i < sizeof r; i++) {
    acc = ((acc << 8) | r[i]) & 0xFFF;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      o[k++] = alphabet[(acc >> bits) & 31];
    }
  }
  o[k] = '\0';
out:
  /* ids are public by design; nothing here to wipe. */
  return rc;
}

int mk_id_check(const char *s, const char *prefix, mk_err *e) {
  int rc = 0;
  MK_ENSURE(s != NULL, MK_EINVAL, e, "id: missing");
  size_t len = strnlen(s, MK_ID_MAX);
  MK_ENSURE(len < MK_ID_MAX, MK_EINVAL, e, "id: too long");
  const char *us = memchr(s, '_', len);
  MK_ENSURE(us != NULL, MK_EINVAL, e, "id: no '_' after the type prefix");
  size_t plen = (size_t)(us - s);
  MK_ENSURE(prefix_ok(s, plen), MK_EINVAL, e,
            "id: prefix must be 1 to %d letters a-z", MK_ID_PREFIX_MAX);
  if (prefix != NULL) {
    size_t want = strnlen(prefix, MK_ID_PREFIX_MAX + 1);
    MK_ENSURE(prefix_ok(prefix, want), MK_EINVAL, e, "id: bad expected prefix");
    MK_ENSURE(plen == want && memcmp(s, prefix, plen) == 0, MK_EINVAL, e,
              "id: expected a '%s' id", prefix);
  }
  const char *body = us + 1;
  MK_ENSURE(len - plen - 1 == MK_ID_RANDOM_CHARS, MK_EINVAL, e,
            "id: expected %d characters after '_'", MK_ID_RANDOM_CHARS);
  for (size_t i = 0; i < MK_ID_RANDOM_CHARS; i++)
    MK_ENSURE(in_alphabet(body[i]), MK_EINVAL, e,
              "id: character %zu is not lower-case Crockford base32", plen + 1 + i);
  /* The two bits above 128 are zero in every id mk_id_new makes. */
  MK_ENSURE(body[0] <= '7', MK_EINVAL, e, "id: value over 128 bits");
out:
  return rc;
}
