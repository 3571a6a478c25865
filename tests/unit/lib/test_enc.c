#include "mk_test.h"

#include <stdio.h>
#include <string.h>

#include "util/enc.h"

/* RFC 4648 §10 test vectors: input, BASE64, BASE16 (upper case as printed in
 * the RFC). base64url has the same text without padding for these inputs. */
static const struct {
  const char *plain, *b64, *b64url, *hex_upper, *hex;
} rfc4648[] = {
    {"", "", "", "", ""},
    {"f", "Zg==", "Zg", "66", "66"},
    {"fo", "Zm8=", "Zm8", "666F", "666f"},
    {"foo", "Zm9v", "Zm9v", "666F6F", "666f6f"},
    {"foob", "Zm9vYg==", "Zm9vYg", "666F6F62", "666f6f62"},
    {"fooba", "Zm9vYmE=", "Zm9vYmE", "666F6F6261", "666f6f6261"},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy", "666F6F626172", "666f6f626172"},
};
#define N_RFC (sizeof rfc4648 / sizeof rfc4648[0])

/* 48 bytes whose encoding is the whole alphabet in order, value 0 to 63
 * (bit pattern 000000 000001 ... 111111); checks every character mapping. */
static const unsigned char all64[48] = {
    0x00, 0x10, 0x83, 0x10, 0x51, 0x87, 0x20, 0x92, 0x8b, 0x30, 0xd3, 0x8f,
    0x41, 0x14, 0x93, 0x51, 0x55, 0x97, 0x61, 0x96, 0x9b, 0x71, 0xd7, 0x9f,
    0x82, 0x18, 0xa3, 0x92, 0x59, 0xa7, 0xa2, 0x9a, 0xab, 0xb2, 0xdb, 0xaf,
    0xc3, 0x1c, 0xb3, 0xd3, 0x5d, 0xb7, 0xe3, 0x9e, 0xbb, 0xf3, 0xdf, 0xbf};
static const char all64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char all64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void test_sizes(void **state) {
  (void)state;
  assert_int_equal(mk_hex_enc_len(0), 1);
  assert_int_equal(mk_hex_enc_len(32), 65);
  assert_int_equal(mk_base64_enc_len(0), 1);
  assert_int_equal(mk_base64_enc_len(1), 5);
  assert_int_equal(mk_base64_enc_len(3), 5);
  assert_int_equal(mk_base64_enc_len(4), 9);
  assert_int_equal(mk_base64url_enc_len(0), 1);
  assert_int_equal(mk_base64url_enc_len(1), 3);
  assert_int_equal(mk_base64url_enc_len(2), 4);
  assert_int_equal(mk_base64url_enc_len(3), 5);
  assert_int_equal(mk_base64url_enc_len(32), 44); /* 43 chars for 256 bits */
  assert_int_equal(mk_base64_dec_max(0), 0);
  assert_int_equal(mk_base64_dec_max(4), 3);
  assert_int_equal(mk_base64_dec_max(2), 1);
  assert_int_equal(mk_base64_dec_max(3), 2);
  assert_int_equal(mk_base64_dec_max(43), 32);
  /* Absurd sizes saturate instead of wrapping to a small number. */
  assert_true(mk_hex_enc_len(SIZE_MAX / 2 + 1) == SIZE_MAX);
  assert_true(mk_base64_enc_len(SIZE_MAX) == SIZE_MAX);
  assert_true(mk_base64url_enc_len(SIZE_MAX) == SIZE_MAX);
}

static void test_rfc4648_encode(void **state) {
  (void)state;
  char out[64];
  for (size_t i = 0; i < N_RFC; i++) {
    const char *p = rfc4648[i].plain;
    size_t n = strlen(p);
    assert_int_equal(mk_base64_encode(p, n, out, sizeof out, NULL), (int)strlen(rfc4648[i].b64));
    assert_string_equal(out, rfc4648[i].b64);
    assert_int_equal(mk_base64url_encode(p, n, out, sizeof out, NULL),
                     (int)strlen(rfc4648[i].b64url));
    assert_string_equal(out, rfc4648[i].b64url);
    assert_int_equal(mk_hex_encode(p, n, out, sizeof out, NULL), (int)(2 * n));
    assert_string_equal(out, rfc4648[i].hex);
  }
}

static void check_decode(int (*dec)(const char *, size_t, void *, size_t, mk_err *),
                         const char *text, const char *want) {
  unsigned char out[64];
  memset(out, 0xAA, sizeof out);
  mk_err e;
  mk_err_clear(&e);
  int n = dec(text, strlen(text), out, sizeof out, &e);
  if (n < 0)
    fail_msg("decoding '%s' failed: %s", text, e.msg);
  assert_int_equal(n, (int)strlen(want));
  assert_memory_equal(out, want, strlen(want));
}

static void test_rfc4648_decode(void **state) {
  (void)state;
  for (size_t i = 0; i < N_RFC; i++) {
    check_decode(mk_base64_decode, rfc4648[i].b64, rfc4648[i].plain);
    check_decode(mk_base64url_decode, rfc4648[i].b64url, rfc4648[i].plain);
    /* base64url takes padding when it is right (RFC 4648 §5 with §3.2). */
    check_decode(mk_base64url_decode, rfc4648[i].b64, rfc4648[i].plain);
    check_decode(mk_hex_decode, rfc4648[i].hex_upper, rfc4648[i].plain);
    check_decode(mk_hex_decode, rfc4648[i].hex, rfc4648[i].plain);
  }
  check_decode(mk_hex_decode, "aBcD", "\xab\xcd");
}

static void test_alphabets(void **state) {
  (void)state;
  char text[80];
  unsigned char bin[64];
  assert_int_equal(mk_base64_encode(all64, sizeof all64, text, sizeof text, NULL), 64);
  assert_string_equal(text, all64_std);
  assert_int_equal(mk_base64url_encode(all64, sizeof all64, text, sizeof text, NULL), 64);
  assert_string_equal(text, all64_url);
  assert_int_equal(mk_base64_decode(all64_std, 64, bin, sizeof bin, NULL), 48);
  assert_memory_equal(bin, all64, 48);
  assert_int_equal(mk_base64url_decode(all64_url, 64, bin, sizeof bin, NULL), 48);
  assert_memory_equal(bin, all64, 48);

  /* Bytes that map to the two characters where the alphabets differ. */
  static const unsigned char fbff[] = {0xfb, 0xff};
  assert_int_equal(mk_base64_encode(fbff, 2, text, sizeof text, NULL), 4);
  assert_string_equal(text, "+/8=");
  assert_int_equal(mk_base64url_encode(fbff, 2, text, sizeof text, NULL), 3);
  assert_string_equal(text, "-_8");
  assert_int_equal(mk_base64url_decode("-_8", 3, bin, sizeof bin, NULL), 2);
  assert_memory_equal(bin, fbff, 2);
  assert_int_equal(mk_base64url_decode("-_8=", 4, bin, sizeof bin, NULL), 2);
  assert_memory_equal(bin, fbff, 2);
  /* Each alphabet rejects the other's two characters. */
  assert_mk_fails(mk_base64_decode("-_8=", 4, bin, sizeof bin, NULL), MK_EINVAL);
  assert_mk_fails(mk_base64url_decode("+/8", 3, bin, sizeof bin, NULL), MK_EINVAL);
  assert_mk_fails(mk_base64url_decode("____+___", 8, bin, sizeof bin, NULL), MK_EINVAL);
  assert_mk_fails(mk_base64_decode("////-///", 8, bin, sizeof bin, NULL), MK_EINVAL);
}

/* Every byte value through hex against snprintf's "%02x". */
static void test_hex_all_bytes(void **state) {
  (void)state;
  unsigned char in[256], back[256];
  char text[513], want[513];
  for (int i = 0; i < 256; i++) {
    in[i] = (unsigned char)i;
    snprintf(want + 2 * i, 3, "%02x", i);
  }
  assert_int_equal(mk_hex_encode(in, 256, text, sizeof text, NULL), 512);
  assert_string_equal(text, want);
  assert_int_equal(mk_hex_decode(text, 512, back, sizeof back, NULL), 256);
  assert_memory_equal(back, in, 256);
}

static void expect_einval(int (*dec)(const char *, size_t, void *, size_t, mk_err *),
                          const char *text, size_t len) {
  unsigned char out[64];
  mk_err e;
  mk_err_clear(&e);
  int rc = dec(text, len, out, sizeof out, &e);
  if (rc != MK_EINVAL)
    fail_msg("'%.*s' gave %d, expected MK_EINVAL", (int)len, text, rc);
  assert_int_equal(e.code, MK_EINVAL);
  assert_true(e.msg[0] != '\0');
}
#define BAD(dec, lit) expect_einval(dec, lit, sizeof lit - 1)

static void test_base64_rejects(void **state) {
  (void)state;
  /* Non-zero trailing bits (RFC 4648 §3.5): "Zh==" and "Zm9=" would also
   * decode to "f" and "fo" if accepted. */
  BAD(mk_base64_decode, "Zh==");
  BAD(mk_base64_decode, "Zm9=");
  BAD(mk_base64url_decode, "Zh");
  BAD(mk_base64url_decode, "Zm9");
  BAD(mk_base64url_decode, "Zh==");
  /* Padding missing, wrong, too much, or inside the text. */
  BAD(mk_base64_decode, "Zg");
  BAD(mk_base64_decode, "Zg=");
  BAD(mk_base64_decode, "Zm8");
  BAD(mk_base64_decode, "Z===");
  BAD(mk_base64_decode, "====");
  BAD(mk_base64_decode, "Zg==Zg==");
  BAD(mk_base64_decode, "Zm=v");
  BAD(mk_base64_decode, "Zg=a");
  BAD(mk_base64url_decode, "Zg=");
  BAD(mk_base64url_decode, "Zm8==");
  BAD(mk_base64url_decode, "Z===");
  /* A single leftover character carries fewer than 8 bits. */
  BAD(mk_base64_decode, "Zm9vY===");
  BAD(mk_base64url_decode, "Zm9vY");
  BAD(mk_base64url_decode, "Z");
  /* Whitespace, line breaks, NUL and other characters. */
  BAD(mk_base64_decode, "Zm9v YmFy");
  BAD(mk_base64_decode, "Zm9v\nYmFy");
  BAD(mk_base64_decode, "Zm9vYmFy\n");
  BAD(mk_base64_decode, " Zm9vYmFy");
  BAD(mk_base64_decode, "Zm9v\0mFy");
  BAD(mk_base64_decode, "Zm9v*mFy");
  BAD(mk_base64_decode, "Zm9v\xc3\xa9mF");
  BAD(mk_base64url_decode, "Zm9v.mFy");
}

static void test_hex_rejects(void **state) {
  (void)state;
  BAD(mk_hex_decode, "6");
  BAD(mk_hex_decode, "666");
  BAD(mk_hex_decode, "6g");
  BAD(mk_hex_decode, "g6");
  BAD(mk_hex_decode, "66 6f");
  BAD(mk_hex_decode, " 666f");
  BAD(mk_hex_decode, "0x66");
  BAD(mk_hex_decode, "66\0" "6");
  BAD(mk_hex_decode, "@6");  /* '@' is 'A' - 1 */
  BAD(mk_hex_decode, "G6");  /* 'G' is 'F' + 1 */
  BAD(mk_hex_decode, "`6");  /* '`' is 'a' - 1 */
  BAD(mk_hex_decode, "/6");  /* '/' is '0' - 1 */
  BAD(mk_hex_decode, ":6");  /* ':' is '9' + 1 */
}

static void test_too_small(void **state) {
  (void)state;
  char text[16];
  unsigned char bin[8];
  mk_err e;
  /* Encoders count the NUL: "Zm9vYmFy" needs 9 bytes. */
  memset(text, 'X', sizeof text);
  assert_mk_fails(mk_base64_encode("foobar", 6, text, 8, &e), MK_ETOOBIG);
  assert_int_equal(e.code, MK_ETOOBIG);
  assert_int_equal(mk_base64_encode("foobar", 6, text, 9, &e), 8);
  assert_mk_fails(mk_base64url_encode("fo", 2, text, 3, &e), MK_ETOOBIG);
  assert_int_equal(mk_base64url_encode("fo", 2, text, 4, &e), 3);
  assert_mk_fails(mk_hex_encode("foo", 3, text, 6, &e), MK_ETOOBIG);
  assert_int_equal(mk_hex_encode("foo", 3, text, 7, &e), 6);
  assert_mk_fails(mk_hex_encode("", 0, NULL, 0, &e), MK_ETOOBIG);

  /* Decoders need exactly the decoded length, and write nothing on failure. */
  memset(bin, 0xAA, sizeof bin);
  assert_mk_fails(mk_base64_decode("Zm9vYmFy", 8, bin, 5, &e), MK_ETOOBIG);
  assert_int_equal(e.code, MK_ETOOBIG);
  assert_int_equal(bin[0], 0xAA);
  assert_int_equal(mk_base64_decode("Zm9vYmE=", 8, bin, 5, &e), 5);
  assert_mk_fails(mk_base64url_decode("Zm9vYmE", 7, bin, 4, &e), MK_ETOOBIG);
  assert_int_equal(mk_base64url_decode("Zm9vYmE", 7, bin, 5, &e), 5);
  assert_mk_fails(mk_hex_decode("666f6f", 6, bin, 2, &e), MK_ETOOBIG);
  assert_int_equal(mk_hex_decode("666f6f", 6, bin, 3, &e), 3);
  /* Empty text decodes to nothing, even into no buffer. */
  assert_int_equal(mk_base64_decode("", 0, NULL, 0, &e), 0);
  assert_int_equal(mk_base64url_decode("", 0, NULL, 0, &e), 0);
  assert_int_equal(mk_hex_decode("", 0, NULL, 0, &e), 0);
}

/* A decoder that fails after writing wipes what it wrote: decoded text may
 * be a key. */
static void test_failed_decode_wipes(void **state) {
  (void)state;
  unsigned char bin[8];
  memset(bin, 0xAA, sizeof bin);
  assert_mk_fails(mk_base64_decode("Zm9vYm!y", 8, bin, sizeof bin, NULL), MK_EINVAL);
  for (size_t i = 0; i < 6; i++)
    assert_int_equal(bin[i], 0); /* OPENSSL_cleanse writes zeros */
  assert_int_equal(bin[6], 0xAA);
  memset(bin, 0xAA, sizeof bin);
  assert_mk_fails(mk_hex_decode("666f6fzz", 8, bin, sizeof bin, NULL), MK_EINVAL);
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(bin[i], 0);
  assert_int_equal(bin[4], 0xAA);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sizes),
      cmocka_unit_test(test_rfc4648_encode),
      cmocka_unit_test(test_rfc4648_decode),
      cmocka_unit_test(test_alphabets),
      cmocka_unit_test(test_hex_all_bytes),
      cmocka_unit_test(test_base64_rejects),
      cmocka_unit_test(test_hex_rejects),
      cmocka_unit_test(test_too_small),
      cmocka_unit_test(test_failed_decode_wipes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
