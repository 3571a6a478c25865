#include "mk_test.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/kek.h"
#include "util/buf.h"

#define LABEL "mkey server share sm2 key_01HZX3Q7"

static char dir[64];

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/mkey-kek-XXXXXX");
  return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static void path_of(const char *name, char *out, size_t cap) {
  snprintf(out, cap, "%s/%s", dir, name);
}

static mk_kek *open_kek(const char *name) {
  char path[128];
  mk_kek *k = NULL;
  mk_err e;
  path_of(name, path, sizeof path);
  assert_mk_ok(mk_kek_file_open(path, 1, &k, &e));
  assert_non_null(k);
  return k;
}

static void write_file(const char *path, const void *data, size_t n, mode_t mode) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(chmod(path, mode), 0);
}

/* RFC 5869 Appendix A.1 (test case 1) and A.3 (test case 3: no salt, no
 * info, the form mk_kek_derive's salt takes). */
static void test_hkdf_rfc5869(void **state) {
  (void)state;
  unsigned char ikm[22], salt[13], info[10], okm[42];
  memset(ikm, 0x0b, sizeof ikm);
  for (int i = 0; i < 13; i++)
    salt[i] = (unsigned char)i;
  for (int i = 0; i < 10; i++)
    info[i] = (unsigned char)(0xf0 + i);
  static const unsigned char okm1[42] = {
      0x3c, 0xb2, 0x5f, 0x25, 0xfa, 0xac, 0xd5, 0x7a, 0x90, 0x43, 0x4f, 0x64, 0xd0, 0x36,
      0x2f, 0x2a, 0x2d, 0x2d, 0x0a, 0x90, 0xcf, 0x1a, 0x5a, 0x4c, 0x5d, 0xb0, 0x2d, 0x56,
      0xec, 0xc4, 0xc5, 0xbf, 0x34, 0x00, 0x72, 0x08, 0xd5, 0xb8, 0x87, 0x18, 0x58, 0x65};
  static const unsigned char okm3[42] = {
      0x8d, 0xa4, 0xe7, 0x75, 0xa5, 0x63, 0xc1, 0x8f, 0x71, 0x5f, 0x80, 0x2a, 0x06, 0x3c,
      0x5a, 0x31, 0xb8, 0xa1, 0x1f, 0x5c, 0x5e, 0xe1, 0x87, 0x9e, 0xc3, 0x45, 0x4e, 0x5f,
      0x3c, 0x73, 0x8d, 0x2d, 0x9d, 0x20, 0x13, 0x95, 0xfa, 0xa4, 0xb6, 0x1a, 0x96, 0xc8};
  mk_err e;
  assert_mk_ok(mk_kek_hkdf_sha256(salt, sizeof salt, ikm, sizeof ikm, info, sizeof info, okm,
                                  sizeof okm, &e));
  assert_memory_equal(okm, okm1, sizeof okm);
  assert_mk_ok(mk_kek_hkdf_sha256(NULL, 0, ikm, sizeof ikm, NULL, 0, okm, sizeof okm, &e));
  assert_memory_equal(okm, okm3, sizeof okm);
  assert_mk_fails(mk_kek_hkdf_sha256(NULL, 0, ikm, sizeof ikm, NULL, 0, okm, 0, &e), MK_EINVAL);
  assert_mk_fails(mk_kek_hkdf_sha256(NULL, 0, NULL, 0, NULL, 0, okm, 32, &e), MK_EINVAL);
}

/* McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 13 and
 * 14 (AES-256, zero key, zero 96-bit IV), opened through the nonce||ct||tag
 * layout; then seal/open round trips with AAD. */
static void test_gcm(void **state) {
  (void)state;
  unsigned char key[32] = {0}, msg[12 + 16 + 16] = {0}, out[32];
  static const unsigned char tag13[16] = {0x53, 0x0f, 0x8a, 0xfb, 0xc7, 0x45, 0x36, 0xb9,
                                          0xa9, 0x63, 0xb4, 0xf1, 0xc4, 0xcb, 0x73, 0x8b};
  static const unsigned char ct14[32] = {
      0xce, 0xa7, 0x40, 0x3d, 0x4d, 0x60, 0x6b, 0x6e, 0x07, 0x4e, 0xc5, 0xd3, 0xba, 0xf3, 0x9d, 0x18,
      0xd0, 0xd1, 0xc8, 0xa7, 0x99, 0x99, 0x6b, 0xf0, 0x26, 0x5b, 0x98, 0xb5, 0xd4, 0x8a, 0xb9, 0x19};
  mk_err e;
  memcpy(msg + 12, tag13, 16);
  assert_mk_ok(mk_kek_gcm_open(key, NULL, 0, msg, 28, out, &e));
  memcpy(msg + 12, ct14, 32);
  memset(out, 0xff, sizeof out);
  assert_mk_ok(mk_kek_gcm_open(key, NULL, 0, msg, 44, out, &e));
  static const unsigned char zero16[16] = {0};
  assert_memory_equal(out, zero16, 16);
  msg[12] ^= 1;
  assert_mk_fails(mk_kek_gcm_open(key, NULL, 0, msg, 44, out, &e), MK_ECRYPTO);
  assert_memory_equal(out, zero16, 16); /* wiped after a failed tag */
  assert_mk_fails(mk_kek_gcm_open(key, NULL, 0, msg, 27, out, &e), MK_EINVAL);

  unsigned char sealed[12 + 5 + 16], back[5];
  memset(key, 0x42, sizeof key);
  assert_mk_ok(mk_kek_gcm_seal(key, (const unsigned char *)"aad", 3,
                               (const unsigned char *)"share", 5, sealed, &e));
  assert_mk_ok(mk_kek_gcm_open(key, (const unsigned char *)"aad", 3, sealed, sizeof sealed, back, &e));
  assert_memory_equal(back, "share", 5);
  assert_mk_fails(mk_kek_gcm_open(key, (const unsigned char *)"aaD", 3, sealed, sizeof sealed,
                                  back, &e),
                  MK_ECRYPTO);
}

static void test_file_kek_create_and_reopen(void **state) {
  (void)state;
  char path[128];
  mk_kek *k = NULL, *again = NULL;
  mk_err e;
  struct stat st;
  path_of("kek.key", path, sizeof path);

  assert_mk_fails(mk_kek_file_open(path, 0, &k, &e), MK_ENOTFOUND);
  assert_null(k);
  assert_mk_ok(mk_kek_file_open(path, 1, &k, &e));
  assert_string_equal(k->name, "file");
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(st.st_size, MK_KEK_KEY_LEN);

  /* The id is the first 8 bytes of SHA-256 of the key in the file. */
  unsigned char raw[MK_KEK_KEY_LEN], h[32];
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  assert_int_equal(fread(raw, 1, sizeof raw, f), sizeof raw);
  fclose(f);
  assert_int_equal(EVP_Digest(raw, sizeof raw, h, NULL, EVP_sha256(), NULL), 1);
  assert_memory_equal(k->id, h, MK_KEK_ID_LEN);

  /* Opening again, with or without create, reads the same key. */
  assert_mk_ok(mk_kek_file_open(path, 1, &again, &e));
  assert_memory_equal(again->id, k->id, MK_KEK_ID_LEN);
  mk_kek_free(again);
  assert_mk_ok(mk_kek_file_open(path, 0, &again, &e));
  assert_memory_equal(again->id, k->id, MK_KEK_ID_LEN);
  mk_kek_free(again);
  mk_kek_free(k);
  mk_kek_free(NULL);
}

static void test_file_kek_refuses(void **state) {
  (void)state;
  char path[128];
  mk_kek *k = NULL;
  mk_err e;
  unsigned char key[40] = {1, 2, 3};

  path_of("open.key", path, sizeof path);
  write_file(path, key, MK_KEK_KEY_LEN, 0644);
  assert_mk_fails(mk_kek_file_open(path, 1, &k, &e), MK_EPERM);
  assert_non_null(strstr(e.msg, "chmod 600"));
  assert_null(k);
  assert_int_equal(chmod(path, 0640), 0);
  assert_mk_fails(mk_kek_file_open(path, 0, &k, &e), MK_EPERM);

  path_of("short.key", path, sizeof path);
  write_file(path, key, MK_KEK_KEY_LEN - 1, 0600);
  assert_mk_fails(mk_kek_file_open(path, 1, &k, &e), MK_EINVAL);
  path_of("long.key", path, sizeof path);
  write_file(path, key, MK_KEK_KEY_LEN + 1, 0600);
  assert_mk_fails(mk_kek_file_open(path, 1, &k, &e), MK_EINVAL);
  path_of("huge.key", path, sizeof path);
  write_file(path, key, sizeof key, 0600);
  {
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    for (int i = 0; i < 100; i++)
      assert_int_equal(fwrite(key, 1, sizeof key, f), sizeof key);
    fclose(f);
  }
  assert_mk_fails(mk_kek_file_open(path, 1, &k, &e), MK_EINVAL);
  path_of("no/such/dir.key", path, sizeof path);
  assert_mk_fails(mk_kek_file_open(path, 1, &k, &e), MK_EIO);
  assert_null(k);
}

static void test_wrap_round_trip(void **state) {
  (void)state;
  mk_kek *k = open_kek("rt.key");
  mk_buf blob, blob2, plain;
  mk_err e;
  const char share[] = "opaque server share bytes \x00\x01\x02";
  mk_buf_init(&blob, 4096);
  mk_buf_init(&blob2, 4096);
  mk_buf_init(&plain, 4096);

  assert_mk_ok(mk_kek_wrap(k, LABEL, share, sizeof share, &blob, &e));
  assert_int_equal(blob.len, sizeof share + MK_KEK_WRAP_OVERHEAD);
  assert_memory_equal(blob.data, "MKWR\x01\x01", 6);
  assert_memory_equal(blob.data + 6, k->id, MK_KEK_ID_LEN);
  assert_mk_ok(mk_kek_unwrap(k, LABEL, blob.data, blob.len, &plain, &e));
  assert_int_equal(plain.len, sizeof share);
  assert_memory_equal(plain.data, share, sizeof share);

  /* A fresh nonce each time: the same share wraps differently. */
  assert_mk_ok(mk_kek_wrap(k, LABEL, share, sizeof share, &blob2, &e));
  assert_int_equal(blob2.len, blob.len);
  assert_memory_not_equal(blob.data, blob2.data, blob.len);

  /* Empty input and the largest allowed one. */
  mk_buf_reset(&blob);
  mk_buf_reset(&plain);
  assert_mk_ok(mk_kek_wrap(k, LABEL, NULL, 0, &blob, &e));
  assert_mk_ok(mk_kek_unwrap(k, LABEL, blob.data, blob.len, &plain, &e));
  assert_int_equal(plain.len, 0);
  unsigned char *big = calloc(1, MK_KEK_WRAP_MAX + 1);
  assert_non_null(big);
  mk_buf_free(&blob);
  mk_buf_init(&blob, 64 * 1024);
  assert_mk_ok(mk_kek_wrap(k, LABEL, big, MK_KEK_WRAP_MAX, &blob, &e));
  assert_mk_fails(mk_kek_wrap(k, LABEL, big, MK_KEK_WRAP_MAX + 1, &blob, &e), MK_ETOOBIG);
  /* A capped output buffer that is too small keeps what it had. */
  mk_buf small;
  mk_buf_init(&small, 20);
  assert_mk_ok(mk_buf_append(&small, "keep", 4, &e));
  assert_mk_fails(mk_kek_wrap(k, LABEL, share, sizeof share, &small, &e), MK_ETOOBIG);
  assert_int_equal(small.len, 4);
  assert_string_equal((char *)small.data, "keep");
  mk_buf_free(&small);
  free(big);

  assert_mk_fails(mk_kek_wrap(k, "", share, 4, &blob, &e), MK_EINVAL);
  assert_mk_fails(mk_kek_wrap(k, NULL, share, 4, &blob, &e), MK_EINVAL);
  assert_mk_fails(mk_kek_wrap(NULL, LABEL, share, 4, &blob, &e), MK_EINVAL);
  mk_buf_free(&blob);
  mk_buf_free(&blob2);
  mk_buf_free_secret(&plain);
  mk_kek_free(k);
}

static void test_wrong_kek_and_label(void **state) {
  (void)state;
  mk_kek *k = open_kek("a.key"), *other = open_kek("b.key");
  mk_buf blob, plain;
  mk_err e;
  mk_buf_init(&blob, 4096);
  mk_buf_init(&plain, 4096);
  assert_mk_ok(mk_kek_wrap(k, LABEL, "d2", 2, &blob, &e));

  assert_mk_fails(mk_kek_unwrap(other, LABEL, blob.data, blob.len, &plain, &e), MK_ECRYPTO);
  assert_non_null(strstr(e.msg, "wrapped by another key (KEK "));
  assert_int_equal(plain.len, 0);

  assert_mk_fails(mk_kek_unwrap(k, "mkey server share sm2 key_OTHER", blob.data, blob.len, &plain,
                                &e),
                  MK_ECRYPTO);
  assert_string_equal(e.msg, "server share is corrupt or was wrapped by another key");
  assert_int_equal(plain.len, 0);
  mk_buf_free(&blob);
  mk_buf_free(&plain);
  mk_kek_free(k);
  mk_kek_free(other);
}

static void test_tamper_every_byte(void **state) {
  (void)state;
  mk_kek *k = open_kek("t.key");
  mk_buf blob, plain;
  mk_err e;
  mk_buf_init(&blob, 4096);
  mk_buf_init(&plain, 4096);
  assert_mk_ok(mk_kek_wrap(k, LABEL, "server share d2", 15, &blob, &e));
  unsigned char *copy = malloc(blob.len);
  assert_non_null(copy);

  for (size_t i = 0; i < blob.len; i++) {
    for (int bit = 0; bit < 8; bit += 7) {
      memcpy(copy, blob.data, blob.len);
      copy[i] ^= (unsigned char)(1u << bit);
      int rc = mk_kek_unwrap(k, LABEL, copy, blob.len, &plain, &e);
      if (i < 6)
        assert_int_equal(rc, MK_EINVAL); /* magic, version, algorithm */
      else
        assert_int_equal(rc, MK_ECRYPTO); /* kek id, nonce, ciphertext, tag */
      assert_int_equal(plain.len, 0);
    }
  }
  for (size_t n = 0; n < blob.len; n++) {
    int rc = mk_kek_unwrap(k, LABEL, blob.data, n, &plain, &e);
    assert_true(rc == MK_EINVAL || rc == MK_ECRYPTO);
    assert_int_equal(plain.len, 0);
  }
  /* One byte more is tampering too. */
  mk_buf longer;
  mk_buf_init(&longer, 4096);
  assert_mk_ok(mk_buf_append(&longer, blob.data, blob.len, &e));
  assert_mk_ok(mk_buf_append(&longer, "", 1, &e));
  assert_mk_fails(mk_kek_unwrap(k, LABEL, longer.data, longer.len, &plain, &e), MK_ECRYPTO);
  assert_string_equal(e.msg, "server share is corrupt or was wrapped by another key");
  mk_buf_free(&longer);
  /* Version 2 and an unknown algorithm say so. */
  memcpy(copy, blob.data, blob.len);
  copy[4] = 2;
  assert_mk_fails(mk_kek_unwrap(k, LABEL, copy, blob.len, &plain, &e), MK_EINVAL);
  assert_non_null(strstr(e.msg, "version 2"));
  free(copy);
  mk_buf_free(&blob);
  mk_buf_free(&plain);
  mk_kek_free(k);
}

static void test_derive(void **state) {
  (void)state;
  char path[128];
  mk_kek *k = open_kek("d.key");
  unsigned char raw[MK_KEK_KEY_LEN], want[32], got[32], again[32];
  mk_err e;

  path_of("d.key", path, sizeof path);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  assert_int_equal(fread(raw, 1, sizeof raw, f), sizeof raw);
  fclose(f);
  /* Defined as HKDF-SHA256(salt = none, IKM = KEK, info = label). */
  assert_mk_ok(mk_kek_hkdf_sha256(NULL, 0, raw, sizeof raw, MK_KEK_LABEL_PIN_PEPPER,
                                  strlen(MK_KEK_LABEL_PIN_PEPPER), want, sizeof want, &e));
  assert_mk_ok(mk_kek_derive(k, MK_KEK_LABEL_PIN_PEPPER, got, &e));
  assert_memory_equal(got, want, 32);
  assert_mk_ok(mk_kek_derive(k, MK_KEK_LABEL_PIN_PEPPER, again, &e));
  assert_memory_equal(got, again, 32);
  assert_mk_ok(mk_kek_derive(k, "mkey something else v1", again, &e));
  assert_memory_not_equal(got, again, 32);
  assert_mk_fails(mk_kek_derive(k, "", again, &e), MK_EINVAL);
  assert_mk_fails(mk_kek_derive(k, "bad\xff", again, &e), MK_EINVAL);

  /* Same file, same pepper after a restart. */
  mk_kek *reopened = NULL;
  assert_mk_ok(mk_kek_file_open(path, 0, &reopened, &e));
  assert_mk_ok(mk_kek_derive(reopened, MK_KEK_LABEL_PIN_PEPPER, again, &e));
  assert_memory_equal(got, again, 32);
  mk_kek_free(reopened);
  mk_kek_free(k);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hkdf_rfc5869),
      cmocka_unit_test(test_gcm),
      cmocka_unit_test(test_file_kek_create_and_reopen),
      cmocka_unit_test(test_file_kek_refuses),
      cmocka_unit_test(test_wrap_round_trip),
      cmocka_unit_test(test_wrong_kek_and_label),
      cmocka_unit_test(test_tamper_every_byte),
      cmocka_unit_test(test_derive),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
