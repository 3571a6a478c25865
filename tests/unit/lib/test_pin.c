#include "mk_test.h"

#include <argon2.h>
#include <openssl/evp.h>
#include <string.h>

#include "crypto/pin.h"

/* Tiny cost so the suite stays fast under ASan; production uses
 * MK_PIN_PARAMS_DEFAULT (checked in test_default_params). */
static const mk_pin_params FAST = {1, 8, 1};

static const unsigned char PEPPER[MK_PIN_PEPPER_LEN] = {
    0x70, 0x65, 0x70, 0x70, 0x65, 0x72, 0x2d, 0x66, 0x6f, 0x72, 0x2d, 0x74, 0x65, 0x73, 0x74, 0x73,
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10};

static void proof_of(const char *pin, unsigned char out[MK_PIN_PROOF_LEN]) {
  mk_err e;
  assert_mk_ok(mk_pin_proof(&FAST, pin, "acc_01", "dev_01", out, &e));
}

static void enroll(mk_pin_state *st, const char *pin) {
  unsigned char proof[MK_PIN_PROOF_LEN];
  mk_err e;
  proof_of(pin, proof);
  assert_mk_ok(mk_pin_enroll(st, &FAST, PEPPER, proof, &e));
}

/* RFC 9106 §5.3: Argon2id, version 0x13, t=3, m=32 KiB, p=4, with secret and
 * associated data, through the wrapper's full input set. */
static void test_argon2id_rfc9106(void **state) {
  (void)state;
  unsigned char pwd[32], salt[16], secret[8], ad[12], out[32];
  memset(pwd, 0x01, sizeof pwd);
  memset(salt, 0x02, sizeof salt);
  memset(secret, 0x03, sizeof secret);
  memset(ad, 0x04, sizeof ad);
  static const unsigned char tag[32] = {
      0x0d, 0x64, 0x0d, 0xf5, 0x8d, 0x78, 0x76, 0x6c, 0x08, 0xc0, 0x37, 0xa3, 0x4a, 0x8b, 0x53, 0xc9,
      0xd0, 0x1e, 0xf0, 0x45, 0x2d, 0x75, 0xb6, 0x5e, 0xb5, 0x25, 0x20, 0xe9, 0x6b, 0x01, 0xe6, 0x59};
  const mk_pin_params p = {3, 32, 4};
  mk_err e;
  assert_mk_ok(mk_pin_argon2id(&p, pwd, sizeof pwd, salt, sizeof salt, secret, sizeof secret, ad,
                               sizeof ad, out, sizeof out, &e));
  assert_memory_equal(out, tag, sizeof tag);
}

static void test_argon2id_bad_params(void **state) {
  (void)state;
  unsigned char salt[16] = {0}, out[32];
  mk_err e;
  const mk_pin_params bad[] = {
      {0, 8, 1},                        /* no pass */
      {MK_PIN_T_MAX + 1, 8, 1},         /* too many passes */
      {1, 7, 1},                        /* m < 8p (RFC 9106 §3.1) */
      {1, 31, 4},
      {1, 8, 0},                        /* no lane */
      {1, 8 * 17, MK_PIN_LANES_MAX + 1},
      {1, MK_PIN_M_MAX_KIB + 1, 1},     /* over the cap a crafted file could ask for */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    mk_err_clear(&e);
    assert_mk_fails(mk_pin_argon2id(&bad[i], "pw", 2, salt, sizeof salt, NULL, 0, NULL, 0, out,
                                    sizeof out, &e),
                    MK_EINVAL);
    assert_int_equal(e.code, MK_EINVAL);
  }
  assert_mk_fails(mk_pin_argon2id(NULL, "pw", 2, salt, sizeof salt, NULL, 0, NULL, 0, out, 32, &e),
                  MK_EINVAL);
  /* libargon2 wants at least 8 bytes of salt. */
  assert_mk_fails(mk_pin_argon2id(&FAST, "pw", 2, salt, 7, NULL, 0, NULL, 0, out, 32, &e),
                  MK_EINVAL);
  assert_mk_fails(mk_pin_argon2id(&FAST, "pw", 2, salt, 16, NULL, 0, NULL, 0, out, 3, &e),
                  MK_EINVAL);
}

static void test_default_params(void **state) {
  (void)state;
  const mk_pin_params d = MK_PIN_PARAMS_DEFAULT;
  assert_int_equal(d.t_cost, 3);
  assert_int_equal(d.m_cost_kib, 64 * 1024);
  assert_int_equal(d.lanes, 1);
  assert_mk_ok(mk_pin_params_check(&d, NULL));
}

/* The proof is Argon2id over the PIN with the documented salt: recompute it
 * with libargon2's own one-call API and OpenSSL's SHA-256. */
static void test_proof_matches_reference(void **state) {
  (void)state;
  const char *pin = "123456", *acc = "acc_01HZX3", *dev = "dev_7Q2M";
  unsigned char salt[32], want[32], got[32];
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  assert_non_null(md);
  assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
  assert_int_equal(EVP_DigestUpdate(md, "mkey-pin-v1", 11), 1);
  assert_int_equal(EVP_DigestUpdate(md, acc, strlen(acc)), 1);
  assert_int_equal(EVP_DigestUpdate(md, "", 1), 1); /* the 0x00 separator */
  assert_int_equal(EVP_DigestUpdate(md, dev, strlen(dev)), 1);
  assert_int_equal(EVP_DigestFinal_ex(md, salt, NULL), 1);
  EVP_MD_CTX_free(md);
  const mk_pin_params p = {2, 64, 1};
  assert_int_equal(argon2id_hash_raw(p.t_cost, p.m_cost_kib, p.lanes, pin, strlen(pin), salt,
                                     sizeof salt, want, sizeof want),
                   ARGON2_OK);
  mk_err e;
  assert_mk_ok(mk_pin_proof(&p, pin, acc, dev, got, &e));
  assert_memory_equal(got, want, sizeof want);
}

static void test_proof_separates_inputs(void **state) {
  (void)state;
  unsigned char a[32], b[32];
  mk_err e;
  assert_mk_ok(mk_pin_proof(&FAST, "123456", "acc_1", "dev_1", a, &e));
  assert_mk_ok(mk_pin_proof(&FAST, "123456", "acc_1", "dev_1", b, &e));
  assert_memory_equal(a, b, 32);
  assert_mk_ok(mk_pin_proof(&FAST, "123457", "acc_1", "dev_1", b, &e));
  assert_memory_not_equal(a, b, 32);
  assert_mk_ok(mk_pin_proof(&FAST, "123456", "acc_2", "dev_1", b, &e));
  assert_memory_not_equal(a, b, 32);
  assert_mk_ok(mk_pin_proof(&FAST, "123456", "acc_1", "dev_2", b, &e));
  assert_memory_not_equal(a, b, 32);
  /* The separator keeps the id boundary: ("ab","c") is not ("a","bc"). */
  assert_mk_ok(mk_pin_proof(&FAST, "123456", "ab", "c", a, &e));
  assert_mk_ok(mk_pin_proof(&FAST, "123456", "a", "bc", b, &e));
  assert_memory_not_equal(a, b, 32);
  const mk_pin_params more = {2, 8, 1};
  assert_mk_ok(mk_pin_proof(&more, "123456", "ab", "c", b, &e));
  assert_memory_not_equal(a, b, 32);
}

static void test_pin_rules(void **state) {
  (void)state;
  unsigned char proof[32];
  mk_err e;
  char long_pin[MK_PIN_MAX_LEN + 2];
  memset(long_pin, '7', sizeof long_pin - 1);
  long_pin[sizeof long_pin - 1] = '\0';

  assert_mk_ok(mk_pin_valid("123456", &e));
  assert_mk_ok(mk_pin_valid("\xe8\xaf\x81\xe4\xb9\xa6\xe5\xaf\x86\xe7\xa0\x81", &e)); /* 证书密码 */
  assert_mk_fails(mk_pin_valid("12345", &e), MK_EINVAL);
  assert_null(strstr(e.msg, "12345")); /* the PIN never reaches a message */
  assert_mk_fails(mk_pin_valid(long_pin, &e), MK_EINVAL);
  long_pin[MK_PIN_MAX_LEN] = '\0';
  assert_mk_ok(mk_pin_valid(long_pin, &e));
  assert_mk_fails(mk_pin_valid("1234\xff" "56", &e), MK_EINVAL);   /* not UTF-8 */
  assert_mk_fails(mk_pin_valid("\xc0\xb1" "23456", &e), MK_EINVAL); /* overlong '1' */
  assert_mk_fails(mk_pin_valid("123\n456", &e), MK_EINVAL);        /* control character */
  assert_mk_fails(mk_pin_valid(NULL, &e), MK_EINVAL);

  assert_mk_fails(mk_pin_proof(&FAST, "12345", "acc", "dev", proof, &e), MK_EINVAL);
  assert_mk_fails(mk_pin_proof(&FAST, "123456", "", "dev", proof, &e), MK_EINVAL);
  assert_mk_fails(mk_pin_proof(&FAST, "123456", "acc", NULL, proof, &e), MK_EINVAL);
  char long_id[MK_PIN_ID_MAX + 2];
  memset(long_id, 'a', sizeof long_id - 1);
  long_id[sizeof long_id - 1] = '\0';
  assert_mk_fails(mk_pin_proof(&FAST, "123456", long_id, "dev", proof, &e), MK_EINVAL);
}

static void test_five_wrong_locks(void **state) {
  (void)state;
  mk_pin_state st;
  unsigned char right[32], wrong[32];
  mk_err e;
  enroll(&st, "246810");
  proof_of("246810", right);
  proof_of("135790", wrong);

  static const char *const msgs[] = {"wrong PIN (4 attempts left)", "wrong PIN (3 attempts left)",
                                     "wrong PIN (2 attempts left)", "wrong PIN (1 attempt left)"};
  for (int i = 0; i < 4; i++) {
    assert_mk_fails(mk_pin_check(&st, PEPPER, wrong, 1000 + i, &e), MK_EAUTH);
    assert_string_equal(e.msg, msgs[i]);
    assert_int_equal(st.failures, i + 1);
    assert_int_equal(mk_pin_attempts_left(&st), 4 - i);
    assert_false(st.locked);
  }
  assert_mk_fails(mk_pin_check(&st, PEPPER, wrong, 2000, &e), MK_ELOCKED);
  assert_string_equal(e.msg, "key locked after 5 failed PIN attempts");
  assert_true(st.locked);
  assert_int_equal(st.locked_at, 2000);
  assert_int_equal(st.last_failure, 2000);
  assert_int_equal(mk_pin_attempts_left(&st), 0);

  /* The 6th attempt, with the right PIN, still reports the lock and changes
   * nothing. */
  mk_pin_state before = st;
  assert_mk_fails(mk_pin_check(&st, PEPPER, right, 3000, &e), MK_ELOCKED);
  assert_string_equal(e.msg, "key locked after 5 failed PIN attempts");
  assert_memory_equal(&st, &before, sizeof st);
  assert_mk_fails(mk_pin_check(&st, PEPPER, wrong, 3001, &e), MK_ELOCKED);
  assert_int_equal(st.failures, MK_PIN_MAX_FAILURES);
  assert_mk_fails(mk_pin_record_failure(&st, 3002, &e), MK_ELOCKED);
  assert_int_equal(st.failures, MK_PIN_MAX_FAILURES);
}

static void test_success_resets_counter(void **state) {
  (void)state;
  mk_pin_state st;
  unsigned char right[32], wrong[32];
  mk_err e;
  enroll(&st, "246810");
  proof_of("246810", right);
  proof_of("000000", wrong);
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 4; i++)
      assert_mk_fails(mk_pin_check(&st, PEPPER, wrong, 10, &e), MK_EAUTH);
    assert_mk_ok(mk_pin_check(&st, PEPPER, right, 11, &e));
    assert_int_equal(st.failures, 0);
    assert_false(st.locked);
    assert_int_equal(mk_pin_attempts_left(&st), MK_PIN_MAX_FAILURES);
  }
}

/* A wrong device share found by the two-party protocol counts the same. */
static void test_record_failure_counts(void **state) {
  (void)state;
  mk_pin_state st;
  unsigned char wrong[32];
  mk_err e;
  enroll(&st, "246810");
  proof_of("999999", wrong);
  assert_mk_fails(mk_pin_record_failure(&st, 5, &e), MK_EAUTH);
  assert_string_equal(e.msg, "wrong PIN (4 attempts left)");
  assert_mk_fails(mk_pin_record_failure(&st, 6, &e), MK_EAUTH);
  assert_mk_fails(mk_pin_check(&st, PEPPER, wrong, 7, &e), MK_EAUTH);
  assert_mk_fails(mk_pin_check(&st, PEPPER, wrong, 8, &e), MK_EAUTH);
  assert_mk_fails(mk_pin_record_failure(&st, 9, &e), MK_ELOCKED);
  assert_true(st.locked);
  assert_int_equal(st.locked_at, 9);
}

static void test_pepper_matters(void **state) {
  (void)state;
  mk_pin_state st;
  unsigned char right[32], other[MK_PIN_PEPPER_LEN];
  mk_err e;
  enroll(&st, "246810");
  proof_of("246810", right);
  memcpy(other, PEPPER, sizeof other);
  other[31] ^= 1;
  assert_mk_fails(mk_pin_check(&st, other, right, 1, &e), MK_EAUTH);
  assert_mk_ok(mk_pin_check(&st, PEPPER, right, 2, &e));
  /* The verifier is not the proof itself. */
  assert_memory_not_equal(st.verifier, right, 32);
}

static void test_unlock(void **state) {
  (void)state;
  mk_pin_state st;
  unsigned char right[32], wrong[32], fresh[32];
  mk_err e;
  enroll(&st, "246810");
  proof_of("246810", right);
  proof_of("111111", wrong);
  proof_of("975310", fresh);
  for (int i = 0; i < 5; i++)
    assert_true(mk_pin_check(&st, PEPPER, wrong, 100, &e) < 0);
  assert_true(st.locked);

  /* Unlock keeping the PIN. */
  assert_mk_ok(mk_pin_unlock(&st, PEPPER, NULL, &e));
  assert_false(st.locked);
  assert_int_equal(st.failures, 0);
  assert_int_equal(st.locked_at, 0);
  assert_mk_ok(mk_pin_check(&st, PEPPER, right, 101, &e));

  /* Forgot PIN: unlock with a new one; the old one stops working. */
  for (int i = 0; i < 5; i++)
    assert_true(mk_pin_check(&st, PEPPER, wrong, 102, &e) < 0);
  assert_mk_ok(mk_pin_unlock(&st, PEPPER, fresh, &e));
  assert_mk_fails(mk_pin_check(&st, PEPPER, right, 103, &e), MK_EAUTH);
  assert_mk_ok(mk_pin_check(&st, PEPPER, fresh, 104, &e));
}

static void test_change(void **state) {
  (void)state;
  mk_pin_state st;
  unsigned char oldp[32], newp[32], wrong[32];
  mk_err e;
  enroll(&st, "246810");
  proof_of("246810", oldp);
  proof_of("802468", newp);
  proof_of("111111", wrong);

  unsigned char verifier[32];
  memcpy(verifier, st.verifier, 32);
  assert_mk_fails(mk_pin_change(&st, PEPPER, wrong, newp, 1, &e), MK_EAUTH);
  assert_int_equal(st.failures, 1);
  assert_memory_equal(st.verifier, verifier, 32);

  assert_mk_ok(mk_pin_change(&st, PEPPER, oldp, newp, 2, &e));
  assert_int_equal(st.failures, 0);
  assert_mk_fails(mk_pin_check(&st, PEPPER, oldp, 3, &e), MK_EAUTH);
  assert_mk_ok(mk_pin_check(&st, PEPPER, newp, 4, &e));

  /* A locked key cannot have its PIN changed with the old PIN. */
  for (int i = 0; i < 5; i++)
    assert_true(mk_pin_check(&st, PEPPER, wrong, 5, &e) < 0);
  assert_mk_fails(mk_pin_change(&st, PEPPER, newp, oldp, 6, &e), MK_ELOCKED);
  assert_mk_fails(mk_pin_change(&st, PEPPER, newp, NULL, 6, &e), MK_EINVAL);
}

static void test_state_round_trip(void **state) {
  (void)state;
  mk_pin_state st, back;
  unsigned char wrong[32], rec[MK_PIN_STATE_LEN], rec2[MK_PIN_STATE_LEN];
  mk_err e;
  enroll(&st, "246810");
  proof_of("111111", wrong);
  for (int step = 0; step <= 5; step++) {
    assert_mk_ok(mk_pin_state_encode(&st, rec, &e));
    assert_memory_equal(rec, "MKPS\x01", 5);
    memset(&back, 0xa5, sizeof back);
    assert_mk_ok(mk_pin_state_decode(rec, sizeof rec, &back, &e));
    assert_int_equal(back.failures, st.failures);
    assert_int_equal(back.locked, st.locked);
    assert_int_equal(back.last_failure, st.last_failure);
    assert_int_equal(back.locked_at, st.locked_at);
    assert_int_equal(back.params.t_cost, st.params.t_cost);
    assert_int_equal(back.params.m_cost_kib, st.params.m_cost_kib);
    assert_int_equal(back.params.lanes, st.params.lanes);
    assert_memory_equal(back.verifier, st.verifier, 32);
    assert_mk_ok(mk_pin_state_encode(&back, rec2, &e));
    assert_memory_equal(rec, rec2, sizeof rec);
    if (step < 5)
      assert_true(mk_pin_check(&st, PEPPER, wrong, INT64_C(1767225600) + step, &e) < 0);
  }
  assert_true(back.locked);
  assert_int_equal(back.locked_at, INT64_C(1767225604));
}

static void test_state_strict(void **state) {
  (void)state;
  mk_pin_state st, out;
  unsigned char rec[MK_PIN_STATE_LEN], bad[MK_PIN_STATE_LEN + 1];
  mk_err e;
  enroll(&st, "246810");
  assert_mk_ok(mk_pin_state_encode(&st, rec, &e));

  memset(&out, 0x5a, sizeof out);
  mk_pin_state untouched = out;
#define REJECT(len)                                                                                \
  do {                                                                                             \
    mk_err_clear(&e);                                                                              \
    assert_mk_fails(mk_pin_state_decode(bad, (len), &out, &e), MK_EINVAL);                         \
    assert_true(e.msg[0] != '\0');                                                                 \
    assert_memory_equal(&out, &untouched, sizeof out);                                             \
  } while (0)

  /* Every truncation and one byte too many. */
  for (size_t n = 0; n < sizeof rec; n++) {
    memcpy(bad, rec, n);
    REJECT(n);
  }
  memcpy(bad, rec, sizeof rec);
  bad[sizeof rec] = 0;
  REJECT(sizeof rec + 1);

  struct { size_t at; unsigned char v; } edits[] = {
      {0, 'm'},    /* magic */
      {4, 2},      /* version 2 */
      {4, 0},      /* version 0 */
      {5, 0x02},   /* unknown flag */
      {5, 0x80},
      {6, 6},      /* failures over 5 */
      {6, 5},      /* 5 failures but not locked */
      {10, 0},     /* t = 0 */
      {7, 1},      /* t = 2^24 + 1, over MK_PIN_T_MAX */
      {14, 0},     /* m = 0 (was 8) */
      {11, 0x40},  /* m over 1 GiB */
      {18, 0},     /* lanes = 0 */
      {30, 1},     /* locked_at set without a lock */
      {19, 0x80},  /* negative last_failure */
  };
  for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
    memcpy(bad, rec, sizeof rec);
    bad[edits[i].at] = edits[i].v;
    REJECT(sizeof rec);
  }
  assert_mk_fails(mk_pin_state_decode(NULL, 4, &out, &e), MK_EINVAL);

  /* A state decode would refuse cannot be encoded either. */
  mk_pin_state wrong = st;
  wrong.failures = 5;
  assert_mk_fails(mk_pin_state_encode(&wrong, rec, &e), MK_EINVAL);
  wrong = st;
  wrong.locked = 2;
  assert_mk_fails(mk_pin_state_encode(&wrong, rec, &e), MK_EINVAL);
  wrong = st;
  wrong.params.lanes = 0;
  assert_mk_fails(mk_pin_state_encode(&wrong, rec, &e), MK_EINVAL);
#undef REJECT
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_argon2id_rfc9106),
      cmocka_unit_test(test_argon2id_bad_params),
      cmocka_unit_test(test_default_params),
      cmocka_unit_test(test_proof_matches_reference),
      cmocka_unit_test(test_proof_separates_inputs),
      cmocka_unit_test(test_pin_rules),
      cmocka_unit_test(test_five_wrong_locks),
      cmocka_unit_test(test_success_resets_counter),
      cmocka_unit_test(test_record_failure_counts),
      cmocka_unit_test(test_pepper_matters),
      cmocka_unit_test(test_unlock),
      cmocka_unit_test(test_change),
      cmocka_unit_test(test_state_round_trip),
      cmocka_unit_test(test_state_strict),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
