/* RAND_set_rand_method is deprecated in OpenSSL 3 but still honoured by
 * RAND_bytes; it is the shortest way to feed mk_id_new known bytes. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include "mk_test.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "util/id.h"

static const char crockford[] = "0123456789abcdefghjkmnpqrstvwxyz";

/* ---- a scripted RNG for known-answer tests ---------------------------------- */

static unsigned char kat_bytes[16];
static int kat_fail;

static int kat_rand(unsigned char *buf, int num) {
  if (kat_fail)
    return 0;
  for (int i = 0; i < num; i++)
    buf[i] = kat_bytes[i % 16];
  return 1;
}

static int kat_status(void) { return 1; }

static const RAND_METHOD kat_method = {
    .bytes = kat_rand,
    .status = kat_status,
};

static int use_scripted_rng(void **state) {
  (void)state;
  kat_fail = 0;
  return RAND_set_rand_method(&kat_method) == 1 ? 0 : -1;
}

static int use_real_rng(void **state) {
  (void)state;
  return RAND_set_rand_method(NULL) == 1 ? 0 : -1;
}

/* Expected texts are the Crockford base32 digits of the 16 bytes read as one
 * big-endian number, computed independently with Python's int.from_bytes;
 * the all-ones value matches the ULID spec's maximum "7ZZZZZZZZZZZZZZZZZZZZZZZZZ". */
static void test_known_answers(void **state) {
  (void)state;
  static const struct {
    unsigned char bytes[16];
    const char *id;
  } kat[] = {
      {{0}, "acc_00000000000000000000000000"},
      {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, "acc_00041061050r3gg28a1c60t3gf"},
      {{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54,
        0x32, 0x10},
       "acc_014d2pf2dbsqqzxq5tk1v58cgg"},
      {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff},
       "acc_7zzzzzzzzzzzzzzzzzzzzzzzzz"},
  };
  for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
    char id[MK_ID_MAX];
    memcpy(kat_bytes, kat[i].bytes, 16);
    assert_mk_ok(mk_id_new(id, "acc", NULL));
    assert_string_equal(id, kat[i].id);
    assert_mk_ok(mk_id_check(id, "acc", NULL));
  }
}

static void test_rng_failure(void **state) {
  (void)state;
  char id[MK_ID_MAX];
  mk_err e;
  mk_err_clear(&e);
  kat_fail = 1;
  assert_mk_fails(mk_id_new(id, "acc", &e), MK_ECRYPTO);
  assert_int_equal(e.code, MK_ECRYPTO);
  assert_non_null(strstr(e.msg, "random"));
}

/* ---- with the real CSPRNG ----------------------------------------------- */

static void test_shape(void **state) {
  (void)state;
  static const char *prefixes[] = {"acc", "ent", "apl", "crt", "key", "qr", "msg", "seal",
                                   "app", "ord", "req", "a", "abcdefgh"};
  for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
    char id[MK_ID_MAX];
    size_t plen = strlen(prefixes[i]);
    assert_mk_ok(mk_id_new(id, prefixes[i], NULL));
    assert_int_equal(strlen(id), plen + 1 + MK_ID_RANDOM_CHARS);
    assert_memory_equal(id, prefixes[i], plen);
    assert_int_equal(id[plen], '_');
    for (size_t k = plen + 1; id[k] != '\0'; k++)
      assert_non_null(strchr(crockford, id[k]));
    assert_true(id[plen + 1] >= '0' && id[plen + 1] <= '7');
    assert_mk_ok(mk_id_check(id, prefixes[i], NULL));
    assert_mk_ok(mk_id_check(id, NULL, NULL));
  }
}

static int cmp_str(const void *a, const void *b) {
  return strcmp((const char *)a, (const char *)b);
}

static void test_unique_and_spread(void **state) {
  (void)state;
  enum { N = 1000 };
  char(*ids)[MK_ID_MAX] = calloc(N, MK_ID_MAX);
  assert_non_null(ids);
  unsigned seen[32] = {0};
  for (int i = 0; i < N; i++) {
    assert_mk_ok(mk_id_new(ids[i], "key", NULL));
    for (const char *p = ids[i] + 4; *p; p++)
      seen[strchr(crockford, *p) - crockford]++;
  }
  qsort(ids, N, MK_ID_MAX, cmp_str);
  for (int i = 1; i < N; i++)
    assert_string_not_equal(ids[i - 1], ids[i]);
  /* 25 000 uniformly random characters (the first one is 0..7) give each
   * symbol about 780; under 500 means the bits are not spread. */
  for (int c = 0; c < 32; c++)
    assert_true(seen[c] > 500);
  free(ids);
}

static void test_bad_prefix(void **state) {
  (void)state;
  char id[MK_ID_MAX];
  mk_err e;
  static const char *bad[] = {"", "ACC", "a1", "ac_c", "abcdefghi", "acc ", "é"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    mk_err_clear(&e);
    assert_mk_fails(mk_id_new(id, bad[i], &e), MK_EINVAL);
    assert_int_equal(e.code, MK_EINVAL);
  }
  assert_mk_fails(mk_id_new(id, NULL, NULL), MK_EINVAL);
}

static void test_check_rejects(void **state) {
  (void)state;
  static const char *bad[] = {
      "ent_01j9x3k7q2m8v4w6y0z5r1t3bd",    /* other type */
      "accx_01j9x3k7q2m8v4w6y0z5r1t3bd",   /* longer prefix */
      "ac_01j9x3k7q2m8v4w6y0z5r1t3bd",     /* shorter prefix */
      "acc_01j9x3k7q2m8v4w6y0z5r1t3b",     /* 25 characters */
      "acc_01j9x3k7q2m8v4w6y0z5r1t3bdd",   /* 27 characters */
      "acc_",                              /* nothing after '_' */
      "acc01j9x3k7q2m8v4w6y0z5r1t3bd",     /* no '_' */
      "_01j9x3k7q2m8v4w6y0z5r1t3bd",       /* no prefix */
      "acc_01j9x3k7q2m8v4w6y0z5r1t3bi",    /* i */
      "acc_01j9x3k7q2m8v4w6y0z5r1t3bl",    /* l */
      "acc_01j9x3k7q2m8v4w6y0z5r1t3bo",    /* o */
      "acc_01j9x3k7q2m8v4w6y0z5r1t3bu",    /* u */
      "acc_01J9X3K7Q2M8V4W6Y0Z5R1T3BD",    /* upper case */
      "ACC_01j9x3k7q2m8v4w6y0z5r1t3bd",    /* upper-case prefix */
      "acc_01j9x3k7q2m8v4w6y0z5r1t3b-",    /* punctuation */
      "acc_01j9x3k7q2m8v4w6y0z5r1t3b ",    /* trailing space */
      " acc_01j9x3k7q2m8v4w6y0z5r1t3bd",   /* leading space */
      "acc_01j9x3k7q2m8v4w6y0z5r1t3bd\n",  /* newline */
      "acc_81j9x3k7q2m8v4w6y0z5r1t3bd",    /* over 128 bits */
      "acc_z1j9x3k7q2m8v4w6y0z5r1t3bd",    /* over 128 bits */
      "acc_acc_01j9x3k7q2m8v4w6y0z5r1t3",  /* '_' inside */
      "",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    mk_err e;
    mk_err_clear(&e);
    int rc = mk_id_check(bad[i], "acc", &e);
    if (rc != MK_EINVAL)
      fail_msg("'%s' gave %d, expected MK_EINVAL", bad[i], rc);
    assert_true(e.msg[0] != '\0');
  }
  /* Without an expected prefix the shape rules still hold. */
  assert_mk_fails(mk_id_check("acc_01j9x3k7q2m8v4w6y0z5r1t3bi", NULL, NULL), MK_EINVAL);
  assert_mk_fails(mk_id_check("a1_01j9x3k7q2m8v4w6y0z5r1t3bd", NULL, NULL), MK_EINVAL);
  assert_mk_fails(mk_id_check("abcdefghi_01j9x3k7q2m8v4w6y0z5r1t3bd", NULL, NULL), MK_EINVAL);
  assert_mk_fails(mk_id_check(NULL, NULL, NULL), MK_EINVAL);
  /* An expected prefix that is not a prefix at all. */
  assert_mk_fails(mk_id_check("acc_01j9x3k7q2m8v4w6y0z5r1t3bd", "", NULL), MK_EINVAL);
  /* The header's example and the edges of the alphabet pass. */
  assert_mk_ok(mk_id_check("acc_01j9x3k7q2m8v4w6y0z5r1t3bd", "acc", NULL));
  assert_mk_ok(mk_id_check("acc_01j9x3k7q2m8v4w6y0z5r1t3bd", NULL, NULL));
  assert_mk_ok(mk_id_check("abcdefgh_7zzzzzzzzzzzzzzzzzzzzzzzzz", "abcdefgh", NULL));
  assert_mk_ok(mk_id_check("q_00000000000000000000000000", NULL, NULL));
}

/* A very long string is rejected without reading all of it past the cap. */
static void test_check_long(void **state) {
  (void)state;
  enum { LONG = 1 << 16 };
  char *s = malloc(LONG + 1);
  assert_non_null(s);
  memcpy(s, "acc_", 4);
  memset(s + 4, '0', LONG - 4);
  s[LONG] = '\0';
  assert_mk_fails(mk_id_check(s, "acc", NULL), MK_EINVAL);
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_known_answers, use_scripted_rng, use_real_rng),
      cmocka_unit_test_setup_teardown(test_rng_failure, use_scripted_rng, use_real_rng),
      cmocka_unit_test(test_shape),
      cmocka_unit_test(test_unique_and_spread),
      cmocka_unit_test(test_bad_prefix),
      cmocka_unit_test(test_check_rejects),
      cmocka_unit_test(test_check_long),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
