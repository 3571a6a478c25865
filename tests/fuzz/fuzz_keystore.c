/*
 * Device-side files on arbitrary bytes: an MKDS sealed share
 * (mk_keystore_open_sealed) and an MKKS keystore file (mk_keystore_load).
 * Whatever opens must seal and open again to the same bytes; whatever fails
 * must fail with a known code and a message. The key and label are fixed so
 * seeds made with them (tests/fuzz/corpus/keystore/) reach the plaintext.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keystore.h"
#include "util/buf.h"

#define FUZZ_LABEL "mkey device share sm2 key_fuzz"
#define FUZZ_PASSPHRASE "fuzz passphrase"

static void round_trip(mk_keystore *ks, const unsigned char *plain, size_t n) {
  mk_buf sealed, back;
  mk_err e;
  mk_buf_init(&sealed, MK_KEYSTORE_SEALED_MAX);
  mk_buf_init(&back, MK_KEYSTORE_SEALED_MAX);
  if (mk_keystore_seal(ks, FUZZ_LABEL, plain, n, &sealed, &e) != 0 ||
      sealed.len != n + MK_KEYSTORE_SEALED_OVERHEAD ||
      mk_keystore_open_sealed(ks, FUZZ_LABEL, sealed.data, sealed.len, &back, &e) != 0 ||
      back.len != n || (n > 0 && memcmp(back.data, plain, n) != 0))
    abort();
  mk_buf_free(&sealed);
  mk_buf_free_secret(&back);
}

static void expect_failure(int rc, const mk_err *e) {
  if (rc != MK_EINVAL && rc != MK_ECRYPTO && rc != MK_ETOOBIG && rc != MK_EAUTH)
    abort();
  if (e->code != rc || e->msg[0] == '\0')
    abort();
}

static void sealed_share(const uint8_t *data, size_t size) {
  unsigned char key[MK_KEYSTORE_KEY_LEN];
  mk_keystore *ks = NULL;
  mk_buf plain;
  mk_err e;
  memset(key, 0x5a, sizeof key);
  if (mk_keystore_from_key(key, &ks, &e) != 0)
    abort();
  mk_buf_init(&plain, MK_KEYSTORE_SEALED_MAX);
  int rc = mk_keystore_open_sealed(ks, FUZZ_LABEL, data, size, &plain, &e);
  if (rc == 0) {
    if (plain.len + MK_KEYSTORE_SEALED_OVERHEAD != size)
      abort();
    round_trip(ks, plain.data, plain.len);
  } else {
    expect_failure(rc, &e);
    if (plain.len != 0)
      abort();
  }
  mk_buf_free_secret(&plain);
  mk_keystore_free(ks);
}

/* Big-endian 32-bit field of an MKKS file, 0 when out of range. */
static uint32_t field(const uint8_t *data, size_t size, size_t at) {
  if (size < at + 4)
    return 0;
  return (uint32_t)data[at] << 24 | (uint32_t)data[at + 1] << 16 | (uint32_t)data[at + 2] << 8 |
         data[at + 3];
}

static void keystore_file(const uint8_t *data, size_t size) {
  mk_keystore *ks = NULL;
  mk_err e;
  int rc = mk_keystore_load(data, size, NULL, &ks, &e);
  if (rc == 0) {
    round_trip(ks, data, size < 64 ? size : 64);
    mk_keystore_free(ks);
    ks = NULL;
  } else {
    expect_failure(rc, &e);
    if (ks != NULL)
      abort();
  }
  /* Try the passphrase only where the stored cost is tiny: the fuzzer must
   * not spend its time in Argon2id (the parser bounds the cost anyway). */
  if (size > 5 && data[5] == 1 && field(data, size, 6) <= 2 && field(data, size, 10) <= 64 &&
      field(data, size, 14) <= 2) {
    rc = mk_keystore_load(data, size, FUZZ_PASSPHRASE, &ks, &e);
    if (rc == 0) {
      round_trip(ks, data, 16);
      mk_keystore_free(ks);
    } else {
      expect_failure(rc, &e);
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > MK_KEYSTORE_SEALED_MAX + 16)
    return 0;
  sealed_share(data, size);
  if (size <= MK_KEYSTORE_FILE_MAX)
    keystore_file(data, size);
  return 0;
}
