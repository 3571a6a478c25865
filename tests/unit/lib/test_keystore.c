#include "mk_test.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/keystore.h"
#include "util/buf.h"
#include "util/file.h"

#define LABEL "mkey device share sm2 key_01HZX3Q7"

/* Tiny Argon2id cost for the passphrase tests (production: default). */
static const mk_pin_params FAST = {1, 8, 1};

static char dir[64];

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/mkey-ks-XXXXXX");
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

static void write_raw(const char *path, const void *data, size_t n, mode_t mode) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(chmod(path, mode), 0);
}

static size_t read_raw(const char *path, unsigned char *out, size_t cap) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  size_t n = fread(out, 1, cap, f);
  fclose(f);
  return n;
}

static unsigned mode_of(const char *path) {
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  return (unsigned)(st.st_mode & 07777);
}

/* Files in dir whose name starts with prefix (temp files left behind). */
static int count_prefixed(const char *prefix) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL)
    if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
      n++;
  closedir(d);
  return n;
}

static mk_keystore *key_of(unsigned char fill) {
  unsigned char key[MK_KEYSTORE_KEY_LEN];
  mk_keystore *ks = NULL;
  memset(key, fill, sizeof key);
  assert_mk_ok(mk_keystore_from_key(key, &ks, NULL));
  return ks;
}

/* ---- util/file ------------------------------------------------------------ */

static void test_file_write_private(void **state) {
  (void)state;
  char path[128];
  mk_buf b;
  mk_err e;
  path_of("w.bin", path, sizeof path);
  mode_t old = umask(0);
  assert_mk_ok(mk_file_write_private(path, "first", 5, 0, &e));
  umask(old);
  assert_int_equal(mode_of(path), 0600);
  assert_mk_ok(mk_file_write_private(path, "second", 6, 0, &e));
  assert_mk_ok(mk_file_read_capped(path, 64, MK_FILE_PRIVATE, &b, &e));
  assert_int_equal(b.len, 6);
  assert_memory_equal(b.data, "second", 6);
  mk_buf_free_secret(&b);

  /* Exclusive create refuses to replace and leaves the file as it was. */
  assert_mk_fails(mk_file_write_private(path, "third", 5, MK_FILE_EXCL, &e), MK_ECONFLICT);
  assert_non_null(strstr(e.msg, "exists already"));
  assert_mk_ok(mk_file_read_capped(path, 64, 0, &b, &e));
  assert_memory_equal(b.data, "second", 6);
  mk_buf_free(&b);
  path_of("x.bin", path, sizeof path);
  assert_mk_ok(mk_file_write_private(path, "", 0, MK_FILE_EXCL, &e));
  assert_int_equal(mode_of(path), 0600);
  /* No temp file is left behind, on success or failure. */
  assert_int_equal(count_prefixed("w.bin."), 0);
  assert_int_equal(count_prefixed("x.bin."), 0);

  path_of("missing/dir.bin", path, sizeof path);
  assert_mk_fails(mk_file_write_private(path, "x", 1, 0, &e), MK_EIO);
  assert_mk_fails(mk_file_write_private("", "x", 1, 0, &e), MK_EINVAL);
  assert_mk_fails(mk_file_write_private(path, "x", 1, MK_FILE_PRIVATE, &e), MK_EINVAL);
}

static void test_file_read_capped(void **state) {
  (void)state;
  char path[128];
  mk_buf b;
  mk_err e;
  unsigned char data[100];
  memset(data, 'z', sizeof data);
  path_of("r.bin", path, sizeof path);
  write_raw(path, data, sizeof data, 0600);
  assert_mk_ok(mk_file_read_capped(path, 100, MK_FILE_PRIVATE, &b, &e));
  assert_int_equal(b.len, 100);
  mk_buf_free_secret(&b);
  assert_mk_fails(mk_file_read_capped(path, 99, MK_FILE_PRIVATE, &b, &e), MK_ETOOBIG);
  assert_null(b.data);
  assert_int_equal(b.len, 0);

  static const unsigned refused[] = {0644, 0604, 0660, 0606, 0610, 0601, 0777};
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    assert_int_equal(chmod(path, refused[i]), 0);
    mk_err_clear(&e);
    assert_mk_fails(mk_file_read_capped(path, 100, MK_FILE_PRIVATE, &b, &e), MK_EPERM);
    assert_non_null(strstr(e.msg, "chmod 600"));
    /* Without the flag, a public file reads fine. */
    assert_mk_ok(mk_file_read_capped(path, 100, 0, &b, &e));
    mk_buf_free(&b);
  }
  assert_int_equal(chmod(path, 0400), 0);
  assert_mk_ok(mk_file_read_capped(path, 100, MK_FILE_PRIVATE, &b, &e));
  mk_buf_free(&b);

  path_of("nothing.bin", path, sizeof path);
  assert_mk_fails(mk_file_read_capped(path, 100, 0, &b, &e), MK_ENOTFOUND);
  assert_mk_fails(mk_file_read_capped(dir, 100, 0, &b, &e), MK_EINVAL); /* a directory */
  path_of("empty.bin", path, sizeof path);
  write_raw(path, "", 0, 0600);
  assert_mk_ok(mk_file_read_capped(path, 100, MK_FILE_PRIVATE, &b, &e));
  assert_int_equal(b.len, 0);
  mk_buf_free(&b);
}

/* ---- keystore file (MKKS) --------------------------------------------------- */

static void test_keystore_plain(void **state) {
  (void)state;
  char path[128];
  unsigned char raw[128];
  mk_keystore *ks = NULL, *again = NULL;
  mk_buf sealed, plain;
  mk_err e;
  path_of("plain.ks", path, sizeof path);

  assert_mk_ok(mk_keystore_create(path, NULL, NULL, &e));
  assert_int_equal(mode_of(path), 0600);
  assert_int_equal(read_raw(path, raw, sizeof raw), 38);
  assert_memory_equal(raw, "MKKS\x01\x00", 6);
  assert_mk_fails(mk_keystore_create(path, NULL, NULL, &e), MK_ECONFLICT);
  assert_non_null(strstr(e.msg, "exists already"));
  assert_int_equal(read_raw(path, raw + 64, 64), 38);
  assert_memory_equal(raw, raw + 64, 38); /* untouched */

  assert_mk_ok(mk_keystore_open(path, NULL, &ks, &e));
  assert_mk_fails(mk_keystore_open(path, "unexpected", &again, &e), MK_EINVAL);
  assert_null(again);
  /* The key is what the file holds: a keystore made from those bytes opens
   * what this one sealed. */
  mk_buf_init(&sealed, 4096);
  mk_buf_init(&plain, 4096);
  assert_mk_ok(mk_keystore_seal(ks, LABEL, "d1", 2, &sealed, &e));
  assert_mk_ok(mk_keystore_from_key(raw + 6, &again, &e));
  assert_mk_ok(mk_keystore_open_sealed(again, LABEL, sealed.data, sealed.len, &plain, &e));
  assert_int_equal(plain.len, 2);
  assert_memory_equal(plain.data, "d1", 2);
  mk_buf_free(&sealed);
  mk_buf_free_secret(&plain);
  mk_keystore_free(again);
  mk_keystore_free(ks);
  mk_keystore_free(NULL);
}

static void test_keystore_passphrase(void **state) {
  (void)state;
  char path[128];
  unsigned char raw[128];
  mk_keystore *ks = NULL, *again = NULL;
  mk_buf sealed, plain;
  mk_err e;
  path_of("pass.ks", path, sizeof path);

  assert_mk_fails(mk_keystore_create(path, "", &FAST, &e), MK_EINVAL);
  const mk_pin_params weak = {0, 8, 1};
  assert_mk_fails(mk_keystore_create(path, "correct horse", &weak, &e), MK_EINVAL);
  assert_int_equal(access(path, F_OK), -1); /* nothing written */
  assert_mk_ok(mk_keystore_create(path, "correct horse", &FAST, &e));
  assert_int_equal(mode_of(path), 0600);
  assert_int_equal(read_raw(path, raw, sizeof raw), 94);
  assert_memory_equal(raw, "MKKS\x01\x01", 6);
  /* The cost is stored, big-endian: t=1, m=8 KiB, one lane. */
  assert_memory_equal(raw + 6, "\0\0\0\x01\0\0\0\x08\0\0\0\x01", 12);

  assert_mk_fails(mk_keystore_open(path, "correct horsf", &ks, &e), MK_EAUTH);
  assert_non_null(strstr(e.msg, "wrong passphrase"));
  assert_non_null(strstr(e.msg, path));
  assert_null(ks);
  assert_mk_fails(mk_keystore_open(path, NULL, &ks, &e), MK_EAUTH);
  assert_non_null(strstr(e.msg, "passphrase"));
  assert_mk_ok(mk_keystore_open(path, "correct horse", &ks, &e));
  assert_mk_ok(mk_keystore_open(path, "correct horse", &again, &e));

  mk_buf_init(&sealed, 4096);
  mk_buf_init(&plain, 4096);
  assert_mk_ok(mk_keystore_seal(ks, LABEL, "device share", 12, &sealed, &e));
  assert_mk_ok(mk_keystore_open_sealed(again, LABEL, sealed.data, sealed.len, &plain, &e));
  assert_memory_equal(plain.data, "device share", 12);
  mk_buf_free(&sealed);
  mk_buf_free_secret(&plain);
  mk_keystore_free(ks);
  mk_keystore_free(again);
  ks = NULL;

  /* Any changed byte of the passphrase-sealed file fails: a cost or salt
   * change is caught by the AAD, never silently accepted. */
  for (size_t i = 0; i < 94; i++) {
    for (int bit = 0; bit < 8; bit += 7) {
      unsigned char copy[94];
      memcpy(copy, raw, sizeof copy);
      copy[i] ^= (unsigned char)(1u << bit);
      int rc = mk_keystore_load(copy, sizeof copy, "correct horse", &ks, &e);
      assert_true(rc == MK_EINVAL || rc == MK_EAUTH);
      assert_null(ks);
    }
  }
  for (size_t n = 0; n < 94; n++)
    assert_mk_fails(mk_keystore_load(raw, n, "correct horse", &ks, &e), MK_EINVAL);
}

static void test_keystore_mode_refused(void **state) {
  (void)state;
  char path[128];
  mk_keystore *ks = NULL;
  mk_err e;
  path_of("mode.ks", path, sizeof path);
  assert_mk_ok(mk_keystore_create(path, NULL, NULL, &e));
  assert_int_equal(chmod(path, 0644), 0);
  assert_mk_fails(mk_keystore_open(path, NULL, &ks, &e), MK_EPERM);
  assert_non_null(strstr(e.msg, "accessible by other users"));
  assert_non_null(strstr(e.msg, "0644"));
  assert_null(ks);
  assert_int_equal(chmod(path, 0600), 0);
  assert_mk_ok(mk_keystore_open(path, NULL, &ks, &e));
  mk_keystore_free(ks);

  path_of("none.ks", path, sizeof path);
  assert_mk_fails(mk_keystore_open(path, NULL, &ks, &e), MK_ENOTFOUND);
}

static void test_keystore_file_strict(void **state) {
  (void)state;
  char path[128];
  unsigned char raw[300];
  mk_keystore *ks = NULL;
  mk_err e;
  path_of("strict.ks", path, sizeof path);
  assert_mk_ok(mk_keystore_create(path, NULL, NULL, &e));
  assert_int_equal(read_raw(path, raw, sizeof raw), 38);

  unsigned char copy[39];
  memcpy(copy, raw, 38);
  copy[0] = 'X';
  assert_mk_fails(mk_keystore_load(copy, 38, NULL, &ks, &e), MK_EINVAL);
  assert_non_null(strstr(e.msg, "not a keystore"));
  memcpy(copy, raw, 38);
  copy[4] = 2;
  assert_mk_fails(mk_keystore_load(copy, 38, NULL, &ks, &e), MK_EINVAL);
  assert_non_null(strstr(e.msg, "version 2"));
  memcpy(copy, raw, 38);
  copy[5] = 7;
  assert_mk_fails(mk_keystore_load(copy, 38, NULL, &ks, &e), MK_EINVAL);
  memcpy(copy, raw, 38);
  copy[38] = 0;
  assert_mk_fails(mk_keystore_load(copy, 39, NULL, &ks, &e), MK_EINVAL);
  for (size_t n = 0; n < 38; n++)
    assert_mk_fails(mk_keystore_load(raw, n, NULL, &ks, &e), MK_EINVAL);
  assert_null(ks);

  /* A file over the cap is refused before it is parsed. */
  memset(raw + 38, 0, sizeof raw - 38);
  write_raw(path, raw, sizeof raw, 0600);
  assert_mk_fails(mk_keystore_open(path, NULL, &ks, &e), MK_EINVAL);
  assert_null(ks);
}

/* ---- sealed shares (MKDS) ----------------------------------------------------- */

static void test_seal_round_trip(void **state) {
  (void)state;
  mk_keystore *ks = key_of(0x11);
  mk_buf sealed, plain;
  mk_err e;
  unsigned char share[48];
  for (size_t i = 0; i < sizeof share; i++)
    share[i] = (unsigned char)(i * 7);
  mk_buf_init(&sealed, MK_KEYSTORE_SEALED_MAX);
  mk_buf_init(&plain, MK_KEYSTORE_SEALED_MAX);

  assert_mk_ok(mk_keystore_seal(ks, LABEL, share, sizeof share, &sealed, &e));
  assert_int_equal(sealed.len, sizeof share + MK_KEYSTORE_SEALED_OVERHEAD);
  assert_memory_equal(sealed.data, "MKDS\x01\x01", 6);
  /* The label is authenticated, not stored. */
  assert_null(memmem(sealed.data, sealed.len, "key_01HZX3Q7", 12));
  assert_mk_ok(mk_keystore_open_sealed(ks, LABEL, sealed.data, sealed.len, &plain, &e));
  assert_int_equal(plain.len, sizeof share);
  assert_memory_equal(plain.data, share, sizeof share);

  /* Appends to what the buffer holds. */
  mk_buf_reset(&plain);
  assert_mk_ok(mk_buf_append(&plain, "x", 1, &e));
  assert_mk_ok(mk_keystore_open_sealed(ks, LABEL, sealed.data, sealed.len, &plain, &e));
  assert_int_equal(plain.len, 1 + sizeof share);

  /* Empty and largest plaintexts; one byte more is refused. */
  unsigned char *big = calloc(1, MK_KEYSTORE_PLAIN_MAX + 1);
  assert_non_null(big);
  mk_buf_reset(&sealed);
  assert_mk_ok(mk_keystore_seal(ks, LABEL, big, MK_KEYSTORE_PLAIN_MAX, &sealed, &e));
  assert_int_equal(sealed.len, MK_KEYSTORE_SEALED_MAX);
  mk_buf_reset(&plain);
  assert_mk_ok(mk_keystore_open_sealed(ks, LABEL, sealed.data, sealed.len, &plain, &e));
  assert_int_equal(plain.len, MK_KEYSTORE_PLAIN_MAX);
  mk_buf_reset(&sealed);
  assert_mk_fails(mk_keystore_seal(ks, LABEL, big, MK_KEYSTORE_PLAIN_MAX + 1, &sealed, &e),
                  MK_ETOOBIG);
  assert_int_equal(sealed.len, 0);
  free(big);
  assert_mk_ok(mk_keystore_seal(ks, LABEL, NULL, 0, &sealed, &e));
  mk_buf_reset(&plain);
  assert_mk_ok(mk_keystore_open_sealed(ks, LABEL, sealed.data, sealed.len, &plain, &e));
  assert_int_equal(plain.len, 0);

  assert_mk_fails(mk_keystore_seal(ks, "", "x", 1, &sealed, &e), MK_EINVAL);
  assert_mk_fails(mk_keystore_seal(NULL, LABEL, "x", 1, &sealed, &e), MK_EINVAL);
  mk_buf_free(&sealed);
  mk_buf_free_secret(&plain);
  mk_keystore_free(ks);
}

/* The record is what docs/keys.md says: decrypt it by hand with OpenSSL,
 * AAD = the 6 header bytes || label. */
static void test_seal_layout(void **state) {
  (void)state;
  unsigned char key[32];
  memset(key, 0x11, sizeof key);
  mk_keystore *ks = key_of(0x11);
  mk_buf sealed;
  mk_err e;
  mk_buf_init(&sealed, 4096);
  assert_mk_ok(mk_keystore_seal(ks, LABEL, "secret d1", 9, &sealed, &e));

  unsigned char aad[6 + sizeof LABEL], out[9];
  memcpy(aad, sealed.data, 6);
  memcpy(aad + 6, LABEL, sizeof LABEL - 1);
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int len = 0;
  assert_int_equal(EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, sealed.data + 6), 1);
  assert_int_equal(EVP_DecryptUpdate(c, NULL, &len, aad, 6 + (int)sizeof LABEL - 1), 1);
  assert_int_equal(EVP_DecryptUpdate(c, out, &len, sealed.data + 18, 9), 1);
  assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, sealed.data + 27), 1);
  assert_int_equal(EVP_DecryptFinal_ex(c, out + 9, &len), 1);
  EVP_CIPHER_CTX_free(c);
  assert_memory_equal(out, "secret d1", 9);
  mk_buf_free(&sealed);
  mk_keystore_free(ks);
}

static void test_seal_wrong_label_or_keystore(void **state) {
  (void)state;
  mk_keystore *ks = key_of(0x11), *other = key_of(0x12);
  mk_buf sealed, plain;
  mk_err e;
  mk_buf_init(&sealed, 4096);
  mk_buf_init(&plain, 4096);
  assert_mk_ok(mk_keystore_seal(ks, LABEL, "d1", 2, &sealed, &e));

  static const char *const labels[] = {
      "mkey device share sm2 key_01HZX3Q8", /* another key's share */
      "mkey device share rsa key_01HZX3Q7", /* another purpose */
      "mkey device share sm2 key_01HZX3Q7 ",
      "mkey device share sm2 key_01HZX3Q",
  };
  for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++) {
    assert_mk_fails(mk_keystore_open_sealed(ks, labels[i], sealed.data, sealed.len, &plain, &e),
                    MK_ECRYPTO);
    assert_non_null(strstr(e.msg, "does not open"));
    assert_int_equal(plain.len, 0);
  }
  assert_mk_fails(mk_keystore_open_sealed(other, LABEL, sealed.data, sealed.len, &plain, &e),
                  MK_ECRYPTO);
  assert_int_equal(plain.len, 0);
  mk_buf_free(&sealed);
  mk_buf_free(&plain);
  mk_keystore_free(ks);
  mk_keystore_free(other);
}

static void test_seal_tamper_every_byte(void **state) {
  (void)state;
  mk_keystore *ks = key_of(0x33);
  mk_buf sealed, plain;
  mk_err e;
  mk_buf_init(&sealed, 4096);
  mk_buf_init(&plain, 4096);
  assert_mk_ok(mk_keystore_seal(ks, LABEL, "0123456789abcdef0123456789abcdef", 32, &sealed, &e));
  unsigned char *copy = malloc(sealed.len + 1);
  assert_non_null(copy);

  for (size_t i = 0; i < sealed.len; i++) {
    for (int bit = 0; bit < 8; bit++) {
      memcpy(copy, sealed.data, sealed.len);
      copy[i] ^= (unsigned char)(1u << bit);
      int rc = mk_keystore_open_sealed(ks, LABEL, copy, sealed.len, &plain, &e);
      assert_int_equal(rc, i < 6 ? MK_EINVAL : MK_ECRYPTO);
      assert_int_equal(plain.len, 0);
    }
  }
  for (size_t n = 0; n < sealed.len; n++) {
    int rc = mk_keystore_open_sealed(ks, LABEL, sealed.data, n, &plain, &e);
    assert_int_equal(rc, n < MK_KEYSTORE_SEALED_OVERHEAD ? MK_EINVAL : MK_ECRYPTO);
    assert_int_equal(plain.len, 0);
  }
  memcpy(copy, sealed.data, sealed.len);
  copy[sealed.len] = 0;
  assert_mk_fails(mk_keystore_open_sealed(ks, LABEL, copy, sealed.len + 1, &plain, &e),
                  MK_ECRYPTO);

  memcpy(copy, sealed.data, sealed.len);
  memcpy(copy, "MKWR", 4);
  assert_mk_fails(mk_keystore_open_sealed(ks, LABEL, copy, sealed.len, &plain, &e), MK_EINVAL);
  assert_non_null(strstr(e.msg, "not a device share"));
  memcpy(copy, sealed.data, sealed.len);
  copy[4] = 2;
  assert_mk_fails(mk_keystore_open_sealed(ks, LABEL, copy, sealed.len, &plain, &e), MK_EINVAL);
  assert_non_null(strstr(e.msg, "version 2"));
  memcpy(copy, sealed.data, sealed.len);
  copy[5] = 2; /* SM4-GCM, not supported */
  assert_mk_fails(mk_keystore_open_sealed(ks, LABEL, copy, sealed.len, &plain, &e), MK_EINVAL);
  assert_non_null(strstr(e.msg, "algorithm 2"));
  free(copy);
  mk_buf_free(&sealed);
  mk_buf_free(&plain);
  mk_keystore_free(ks);
}

static void test_share_files(void **state) {
  (void)state;
  char path[128];
  mk_keystore *ks = key_of(0x44);
  mk_buf plain;
  mk_err e;
  path_of("device.key", path, sizeof path);
  mk_buf_init(&plain, 4096);

  assert_mk_ok(mk_keystore_write_share(ks, LABEL, "d1 share", 8, path, &e));
  assert_int_equal(mode_of(path), 0600);
  assert_mk_ok(mk_keystore_read_share(ks, LABEL, path, &plain, &e));
  assert_int_equal(plain.len, 8);
  assert_memory_equal(plain.data, "d1 share", 8);
  mk_buf_reset(&plain);
  assert_mk_fails(mk_keystore_read_share(ks, "mkey device share sm2 key_X", path, &plain, &e),
                  MK_ECRYPTO);
  assert_non_null(strstr(e.msg, path));

  assert_int_equal(chmod(path, 0644), 0);
  assert_mk_fails(mk_keystore_read_share(ks, LABEL, path, &plain, &e), MK_EPERM);
  assert_int_equal(plain.len, 0);

  /* Rewriting replaces atomically and restores 0600. */
  assert_mk_ok(mk_keystore_write_share(ks, LABEL, "d1 again", 8, path, &e));
  assert_int_equal(mode_of(path), 0600);
  assert_mk_ok(mk_keystore_read_share(ks, LABEL, path, &plain, &e));
  assert_memory_equal(plain.data, "d1 again", 8);
  mk_buf_free_secret(&plain);
  mk_keystore_free(ks);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_file_write_private),
      cmocka_unit_test(test_file_read_capped),
      cmocka_unit_test(test_keystore_plain),
      cmocka_unit_test(test_keystore_passphrase),
      cmocka_unit_test(test_keystore_mode_refused),
      cmocka_unit_test(test_keystore_file_strict),
      cmocka_unit_test(test_seal_round_trip),
      cmocka_unit_test(test_seal_layout),
      cmocka_unit_test(test_seal_wrong_label_or_keystore),
      cmocka_unit_test(test_seal_tamper_every_byte),
      cmocka_unit_test(test_share_files),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
