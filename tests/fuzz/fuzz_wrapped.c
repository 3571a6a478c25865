/*
 * Server-side records on arbitrary bytes: an MKWR wrapped share
 * (mk_kek_unwrap) and an MKPS PIN state (mk_pin_state_decode). A wrapped
 * share that opens must wrap and open again to the same bytes; a PIN state
 * that decodes must encode to exactly the input (one encoding per state).
 * The KEK is a fixed key behind the mk_kek interface, the way a PKCS#11
 * backend would plug in, so seeds in tests/fuzz/corpus/wrapped/ open.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto/kek.h"
#include "crypto/pin.h"
#include "util/buf.h"

#define FUZZ_LABEL "mkey server share sm2 key_fuzz"

static unsigned char fuzz_key[MK_KEK_KEY_LEN];

static int fixed_wrap(mk_kek *k, const unsigned char *aad, size_t aadlen,
                      const unsigned char *in, size_t n, unsigned char *out, mk_err *e) {
  (void)k;
  return mk_kek_gcm_seal(fuzz_key, aad, aadlen, in, n, out, e);
}

static int fixed_unwrap(mk_kek *k, const unsigned char *aad, size_t aadlen,
                        const unsigned char *in, size_t n, unsigned char *out, mk_err *e) {
  (void)k;
  return mk_kek_gcm_open(fuzz_key, aad, aadlen, in, n, out, e);
}

static int fixed_derive(mk_kek *k, const char *label, unsigned char out[MK_KEK_DERIVED_LEN],
                        mk_err *e) {
  (void)k;
  return mk_kek_hkdf_sha256(NULL, 0, fuzz_key, sizeof fuzz_key, label, strlen(label), out,
                            MK_KEK_DERIVED_LEN, e);
}

static void fixed_free(mk_kek *k) {
  (void)k;
}

static mk_kek *fixed_kek(void) {
  static mk_kek k;
  static int ready;
  if (!ready) {
    unsigned char h[32];
    memset(fuzz_key, 0xa5, sizeof fuzz_key); /* the key the seeds were made with */
    if (EVP_Digest(fuzz_key, sizeof fuzz_key, h, NULL, EVP_sha256(), NULL) != 1)
      abort();
    memcpy(k.id, h, MK_KEK_ID_LEN);
    k.name = "fuzz";
    k.wrap = fixed_wrap;
    k.unwrap = fixed_unwrap;
    k.derive = fixed_derive;
    k.free = fixed_free;
    ready = 1;
  }
  return &k;
}

static void wrapped(const uint8_t *data, size_t size) {
  mk_kek *k = fixed_kek();
  mk_buf plain, again, back;
  mk_err e;
  mk_buf_init(&plain, MK_KEK_WRAP_MAX);
  mk_buf_init(&again, MK_KEK_WRAP_MAX + MK_KEK_WRAP_OVERHEAD);
  mk_buf_init(&back, MK_KEK_WRAP_MAX);
  int rc = mk_kek_unwrap(k, FUZZ_LABEL, data, size, &plain, &e);
  if (rc == 0) {
    if (plain.len + MK_KEK_WRAP_OVERHEAD != size)
      abort();
    if (mk_kek_wrap(k, FUZZ_LABEL, plain.data, plain.len, &again, &e) != 0 ||
        again.len != size || memcmp(again.data, data, 6 + MK_KEK_ID_LEN) != 0 ||
        mk_kek_unwrap(k, FUZZ_LABEL, again.data, again.len, &back, &e) != 0 ||
        back.len != plain.len || (plain.len > 0 && memcmp(back.data, plain.data, plain.len) != 0))
      abort();
  } else {
    if (rc != MK_EINVAL && rc != MK_ECRYPTO && rc != MK_ETOOBIG)
      abort();
    if (e.code != rc || e.msg[0] == '\0' || plain.len != 0)
      abort();
  }
  mk_buf_free_secret(&plain);
  mk_buf_free(&again);
  mk_buf_free_secret(&back);
}

static void pin_state(const uint8_t *data, size_t size) {
  mk_pin_state st;
  unsigned char out[MK_PIN_STATE_LEN];
  mk_err e;
  int rc = mk_pin_state_decode(data, size, &st, &e);
  if (rc == 0) {
    if (size != MK_PIN_STATE_LEN || mk_pin_state_encode(&st, out, &e) != 0 ||
        memcmp(out, data, size) != 0)
      abort();
    /* The counter never passes the limit, whatever is stored. */
    int r = mk_pin_record_failure(&st, 1, &e);
    if ((r != MK_EAUTH && r != MK_ELOCKED) || st.failures > MK_PIN_MAX_FAILURES ||
        mk_pin_state_encode(&st, out, &e) != 0)
      abort();
  } else if (rc != MK_EINVAL || e.code != MK_EINVAL || e.msg[0] == '\0') {
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > MK_KEK_WRAP_MAX + MK_KEK_WRAP_OVERHEAD + 16)
    return 0;
  wrapped(data, size);
  pin_state(data, size);
  return 0;
}
