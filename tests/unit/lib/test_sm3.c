#include "mk_test.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/sm3.h"
#include "util/enc.h"

static void hex(const char *h, unsigned char *out, size_t n) {
  assert_int_equal(mk_hex_decode(h, strlen(h), out, n, NULL), (int)n);
}

static void assert_hex(const unsigned char *got, size_t n, const char *want) {
  char text[1024];
  assert_true(n * 2 + 1 <= sizeof text);
  assert_int_equal(mk_hex_encode(got, n, text, sizeof text, NULL), (int)(n * 2));
  assert_string_equal(text, want);
}

/* GB/T 32905-2016 Appendix A (= GM/T 0004-2012 Appendix A), examples 1 and
 * 2; the empty message is the value every SM3 implementation publishes. */
static void test_sm3_kat(void **state) {
  (void)state;
  unsigned char d[MK_SM3_LEN];
  assert_mk_ok(mk_sm3("abc", 3, d, NULL));
  assert_hex(d, sizeof d, "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
  char m64[65];
  for (int i = 0; i < 16; i++)
    memcpy(m64 + 4 * i, "abcd", 4);
  assert_mk_ok(mk_sm3(m64, 64, d, NULL));
  assert_hex(d, sizeof d, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732");
  assert_mk_ok(mk_sm3(NULL, 0, d, NULL));
  assert_hex(d, sizeof d, "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b");
}

/* The signature example of GM/T 0003.5-2012 Appendix A (GB/T 32918.5-2017):
 * the recommended curve, d = 3945208F..., ID "1234567812345678", message
 * "message digest". Published Z and e; re-derived with an independent
 * Python implementation before they were copied here. */
static const char kat_pub[] =
    "04"
    "09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020"
    "ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13";

static void test_za_and_e_kat(void **state) {
  (void)state;
  unsigned char pub[MK_SM2_PUB_LEN], z[MK_SM3_LEN], e[MK_SM3_LEN];
  hex(kat_pub, pub, sizeof pub);
  assert_mk_ok(mk_sm2_za((const unsigned char *)MK_SM2_ID_DEFAULT, MK_SM2_ID_DEFAULT_LEN, pub, z,
                         NULL));
  assert_hex(z, sizeof z, "b2e14c5c79c6df5b85f4fe7ed8db7a262b9da7e07ccb0ea9f4747b8ccda8a4f3");
  assert_mk_ok(mk_sm2_e(z, "message digest", 14, e, NULL));
  assert_hex(e, sizeof e, "f0b43e94ba45accaace692ed534382eb17e6ab5a19ce7b31f4486fdfc0d28640");
}

/* Other IDs (values from the same independent implementation): the
 * GM/T 0003.2 example ID, and the empty ID OpenSSL 3.0 uses for X.509. */
static void test_za_other_ids(void **state) {
  (void)state;
  unsigned char pub[MK_SM2_PUB_LEN], z[MK_SM3_LEN];
  hex(kat_pub, pub, sizeof pub);
  assert_mk_ok(mk_sm2_za((const unsigned char *)"ALICE123@YAHOO.COM", 18, pub, z, NULL));
  assert_hex(z, sizeof z, "26db4bc1839bd22e97e1dab667ec5e0a730d5e16521398b4435c576a93afd7ed");
  assert_mk_ok(mk_sm2_za(NULL, 0, pub, z, NULL));
  assert_hex(z, sizeof z, "f2a1724ed3d6767e22fcd19bfb33cd8af34f59ad7fdc8747cce6acacd414f1f9");
}

static void test_za_limits(void **state) {
  (void)state;
  unsigned char pub[MK_SM2_PUB_LEN], z[MK_SM3_LEN];
  unsigned char *id = calloc(MK_SM2_ID_MAX + 1, 1);
  mk_err e;
  assert_non_null(id);
  hex(kat_pub, pub, sizeof pub);
  /* ENTL is 16 bits of bit length: 8191 bytes fit, 8192 do not. */
  assert_mk_ok(mk_sm2_za(id, MK_SM2_ID_MAX, pub, z, &e));
  assert_mk_fails(mk_sm2_za(id, MK_SM2_ID_MAX + 1, pub, z, &e), MK_EINVAL);
  assert_mk_fails(mk_sm2_za(NULL, 3, pub, z, &e), MK_EINVAL);
  pub[0] = 0x02;
  assert_mk_fails(mk_sm2_za(id, 16, pub, z, &e), MK_EINVAL);
  assert_non_null(strstr(e.msg, "uncompressed"));
  free(id);
}

/* e computed by mk_sm2_za/mk_sm2_e must be what OpenSSL hashes inside
 * EVP_DigestSign with the same ID: sign with OpenSSL, verify on e. */
static void test_e_matches_openssl(void **state) {
  (void)state;
  EVP_PKEY *key = NULL;
  EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);
  assert_non_null(kctx);
  assert_int_equal(EVP_PKEY_keygen_init(kctx), 1);
  assert_int_equal(EVP_PKEY_generate(kctx, &key), 1);
  EVP_PKEY_CTX_free(kctx);

  static const char *ids[] = {MK_SM2_ID_DEFAULT, "ALICE123@YAHOO.COM", "x"};
  for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
    const char *msg = "bid document";
    unsigned char sig[80], pub[MK_SM2_PUB_LEN], z[MK_SM3_LEN], e[MK_SM3_LEN];
    size_t siglen = sizeof sig, publen = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    assert_int_equal(EVP_PKEY_CTX_set1_id(pctx, ids[i], (int)strlen(ids[i])), 1);
    EVP_MD_CTX_set_pkey_ctx(md, pctx);
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sm3(), NULL, key), 1);
    assert_int_equal(EVP_DigestSign(md, sig, &siglen, (const unsigned char *)msg, strlen(msg)),
                     1);
    EVP_MD_CTX_free(md);
    EVP_PKEY_CTX_free(pctx);

    assert_int_equal(EVP_PKEY_get_octet_string_param(key, "pub", pub, sizeof pub, &publen), 1);
    assert_int_equal(publen, MK_SM2_PUB_LEN);
    assert_mk_ok(mk_sm2_za((const unsigned char *)ids[i], strlen(ids[i]), pub, z, NULL));
    assert_mk_ok(mk_sm2_e(z, msg, strlen(msg), e, NULL));
    EVP_PKEY_CTX *vctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    assert_int_equal(EVP_PKEY_verify_init(vctx), 1);
    assert_int_equal(EVP_PKEY_verify(vctx, sig, siglen, e, sizeof e), 1);
    e[0] ^= 1;
    assert_int_not_equal(EVP_PKEY_verify(vctx, sig, siglen, e, sizeof e), 1);
    EVP_PKEY_CTX_free(vctx);
  }
  EVP_PKEY_free(key);
}

/* The encryption example of GM/T 0003.5-2012 Appendix C: for (x2, y2) =
 * [k]P_B, t = KDF(x2 || y2, 152) is C2 xor "encryption standard"; the
 * standard prints t = 44E60F DBF0BAE8 14376653 74BEF267 49046C9E. */
static void test_kdf_kat(void **state) {
  (void)state;
  unsigned char z[64], t[19];
  hex("335e18d751e51f040e27d468138b7ab1dc86ad7f981d7d416222fd6ab3ed230d"
      "ab743ebcfb22d64f7b6ab791f70658f25b48fa93e54064fdbfbed3f0bd847ac9",
      z, sizeof z);
  assert_mk_ok(mk_sm3_kdf(z, sizeof z, t, sizeof t, NULL));
  assert_hex(t, sizeof t, "44e60fdbf0bae81437665374bef26749046c9e");
}

/* Block boundaries: KDF output is H(z||1) || H(z||2) || ..., so every
 * prefix of a longer output is the shorter output. */
static void test_kdf_blocks(void **state) {
  (void)state;
  const unsigned char z[3] = {1, 2, 3};
  unsigned char long_out[100], short_out[100], h[MK_SM3_LEN], in[7];
  assert_mk_ok(mk_sm3_kdf(z, sizeof z, long_out, sizeof long_out, NULL));
  assert_hex(long_out, 100,
             "01c714520c138fe0e1214c6959180f705edd91904f0e3e803ecd8f55c5dda5c2"
             "ecf1238c07f6578008b436e713f2ff51ad57fb44b961870f0d51d0eb73565b39"
             "6f72477930cab0a89b950fbdeb6dba443a943397ba41662ae8ff70686903e9c7"
             "1afa08ad");
  const size_t lens[] = {0, 1, 31, 32, 33, 64, 65, 99};
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    memset(short_out, 0xAA, sizeof short_out);
    assert_mk_ok(mk_sm3_kdf(z, sizeof z, short_out, lens[i], NULL));
    assert_memory_equal(short_out, long_out, lens[i]);
    if (lens[i] < sizeof short_out)
      assert_int_equal(short_out[lens[i]], 0xAA);
  }
  /* Third block by hand: SM3(z || 00000003). */
  memcpy(in, z, 3);
  memcpy(in + 3, "\x00\x00\x00\x03", 4);
  assert_mk_ok(mk_sm3(in, sizeof in, h, NULL));
  assert_memory_equal(long_out + 64, h, 32);
}

static void test_kdf_limits(void **state) {
  (void)state;
  unsigned char out[4];
  mk_err e;
  assert_mk_fails(mk_sm3_kdf(NULL, 1, out, sizeof out, &e), MK_EINVAL);
  assert_mk_fails(mk_sm3_kdf(out, 1, NULL, 4, &e), MK_EINVAL);
  assert_mk_fails(mk_sm3_kdf(out, 1, out, (size_t)MK_SM3_KDF_MAX + 1, &e), MK_ETOOBIG);
  assert_mk_ok(mk_sm3_kdf(NULL, 0, out, sizeof out, &e));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sm3_kat),
      cmocka_unit_test(test_za_and_e_kat),
      cmocka_unit_test(test_za_other_ids),
      cmocka_unit_test(test_za_limits),
      cmocka_unit_test(test_e_matches_openssl),
      cmocka_unit_test(test_kdf_kat),
      cmocka_unit_test(test_kdf_blocks),
      cmocka_unit_test(test_kdf_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
