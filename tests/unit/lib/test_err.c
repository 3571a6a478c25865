#include "mk_test.h"
#include "util/json.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <string.h>

#include "util/guard.h"

static void test_clear_and_set(void **state) {
  (void)state;
  mk_err e;
  memset(&e, 'x', sizeof e);
  mk_err_clear(&e);
  assert_int_equal(e.code, MK_OK);
  assert_string_equal(e.msg, "");
  mk_err_clear(NULL);

  assert_int_equal(mk_err_set(&e, MK_EIO, "cannot open '%s': %s", "x.pem", "permission denied"),
                   MK_EIO);
  assert_int_equal(e.code, MK_EIO);
  assert_string_equal(e.msg, "cannot open 'x.pem': permission denied");
  /* Without an error object the code still comes back. */
  assert_int_equal(mk_err_set(NULL, MK_ENOTFOUND, "no %s", "cert"), MK_ENOTFOUND);
}

static void test_set_truncates(void **state) {
  (void)state;
  char long_msg[600];
  memset(long_msg, 'm', sizeof long_msg - 1);
  long_msg[sizeof long_msg - 1] = '\0';
  mk_err e;
  assert_int_equal(mk_err_set(&e, MK_EINVAL, "%s", long_msg), MK_EINVAL);
  assert_int_equal(strlen(e.msg), MK_ERR_MSG_MAX - 1);
  assert_memory_equal(e.msg, long_msg, MK_ERR_MSG_MAX - 1);
}

static void test_wrap(void **state) {
  (void)state;
  mk_err e;
  mk_err_set(&e, MK_EIO, "permission denied");
  assert_int_equal(mk_err_wrap(&e, "cannot open '%s'", "x.pem"), MK_EIO);
  assert_int_equal(e.code, MK_EIO);
  assert_string_equal(e.msg, "cannot open 'x.pem': permission denied");
  assert_int_equal(mk_err_wrap(&e, "load config"), MK_EIO);
  assert_string_equal(e.msg, "load config: cannot open 'x.pem': permission denied");

  /* An empty message gets no dangling ": ". */
  mk_err_set(&e, MK_EINVAL, "%s", "");
  assert_int_equal(mk_err_wrap(&e, "field 'pin'"), MK_EINVAL);
  assert_string_equal(e.msg, "field 'pin'");

  /* Wrapping where nothing failed is a bug, and says so. */
  mk_err_clear(&e);
  assert_int_equal(mk_err_wrap(&e, "step"), MK_EINTERNAL);
  assert_int_equal(e.code, MK_EINTERNAL);
  assert_int_equal(mk_err_wrap(NULL, "step"), MK_EINTERNAL);
}

static void test_wrap_truncates(void **state) {
  (void)state;
  mk_err e;
  char old[MK_ERR_MSG_MAX];
  memset(old, 'o', sizeof old - 1);
  old[sizeof old - 1] = '\0';
  mk_err_set(&e, MK_ECRYPTO, "%s", old);
  assert_int_equal(mk_err_wrap(&e, "prefix"), MK_ECRYPTO);
  assert_int_equal(strlen(e.msg), MK_ERR_MSG_MAX - 1);
  assert_memory_equal(e.msg, "prefix: ooo", 11);

  /* A prefix that fills the message leaves no room for the old one. */
  char big[400];
  memset(big, 'p', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  mk_err_set(&e, MK_ECRYPTO, "old");
  assert_int_equal(mk_err_wrap(&e, "%s", big), MK_ECRYPTO);
  assert_int_equal(strlen(e.msg), MK_ERR_MSG_MAX - 1);
  assert_null(strchr(e.msg, 'o'));
}

/* Cut messages never end inside a UTF-8 character (they become JSON). */
static void test_truncation_keeps_utf8(void **state) {
  (void)state;
  char text[3 * 200 + 1];
  for (int shift = 0; shift < 3; shift++) {
    size_t n = 0;
    for (int i = 0; i < shift; i++)
      text[n++] = 'a';
    for (int i = 0; i < 180; i++) {
      memcpy(text + n, "\xe4\xb8\xad", 3); /* U+4E2D */
      n += 3;
    }
    text[n] = '\0';
    mk_err e;
    mk_err_set(&e, MK_EINVAL, "%s", text);
    assert_true(mk_utf8_valid_text(e.msg, strlen(e.msg), 0));
    assert_true(strlen(e.msg) >= MK_ERR_MSG_MAX - 4);
    mk_err_set(&e, MK_EINVAL, "x");
    mk_err_wrap(&e, "%s", text);
    assert_true(mk_utf8_valid_text(e.msg, strlen(e.msg), 0));
  }
}

static void test_code_names(void **state) {
  (void)state;
  assert_string_equal(mk_code_name(MK_OK), "ok");
  assert_string_equal(mk_code_name(MK_EINVAL), "invalid");
  assert_string_equal(mk_code_name(MK_ETOOBIG), "too-big");
  assert_string_equal(mk_code_name(MK_EAUTH), "unauthenticated");
  assert_string_equal(mk_code_name(MK_EPERM), "forbidden");
  assert_string_equal(mk_code_name(MK_EINTERNAL), "internal");
  assert_string_equal(mk_code_name(1), "unknown");
  assert_string_equal(mk_code_name(MK_EINTERNAL - 1), "unknown");
  /* Every code has its own name: the API maps names to problem types. */
  for (int a = MK_OK; a >= MK_EINTERNAL; a--) {
    assert_string_not_equal(mk_code_name(a), "unknown");
    for (int b = a - 1; b >= MK_EINTERNAL; b--)
      assert_string_not_equal(mk_code_name(a), mk_code_name(b));
  }
}

/* Leave a few errors in OpenSSL's queue: DER that is not a certificate. */
static unsigned long provoke_ossl_error(void) {
  static const unsigned char junk[] = {0x30, 0x03, 0x02, 0x01};
  const unsigned char *p = junk;
  ERR_clear_error();
  X509 *x = d2i_X509(NULL, &p, sizeof junk);
  assert_null(x);
  unsigned long first = ERR_peek_error();
  assert_int_not_equal(first, 0);
  return first;
}

static void test_ossl_drains_queue(void **state) {
  (void)state;
  mk_err e;
  unsigned long first = provoke_ossl_error();
  char want[160];
  ERR_error_string_n(first, want, sizeof want);
  assert_int_equal(mk_err_ossl(&e, MK_ECRYPTO, "parse cert"), MK_ECRYPTO);
  assert_int_equal(e.code, MK_ECRYPTO);
  assert_memory_equal(e.msg, "parse cert: ", 12);
  assert_string_equal(e.msg + 12, want);
  assert_int_equal(ERR_peek_error(), 0);

  /* Nothing queued: still a clear message. */
  assert_int_equal(mk_err_ossl(&e, MK_ECRYPTO, "sign"), MK_ECRYPTO);
  assert_string_equal(e.msg, "sign: unknown OpenSSL error");

  /* No error object: the queue is drained all the same. */
  provoke_ossl_error();
  assert_int_equal(mk_err_ossl(NULL, MK_EPROTO, "parse"), MK_EPROTO);
  assert_int_equal(ERR_peek_error(), 0);
}

/* The guard macros as a caller uses them. */
static int guarded(int step, mk_err *err) {
  int rc = 0;
  const unsigned char *p = (const unsigned char *)"\x30\x00";
  X509 *x = NULL;
  MK_ENSURE(step != 1, MK_EINVAL, err, "step %d refused", step);
  MK_TRY(step == 2 ? mk_err_set(err, MK_EIO, "inner") : 0);
  if (step == 3)
    MK_TRY_PTR_OSSL(x, d2i_X509(NULL, &p, 2), err, "parse cert");
  MK_TRY_OSSL(step == 4 ? 0 : 1, err, "verify");
  if (step == 5)
    MK_FAIL(MK_ECONFLICT, err, "exists");
  rc = 7;
out:
  X509_free(x);
  return rc;
}

static void test_guards(void **state) {
  (void)state;
  mk_err e;
  assert_int_equal(guarded(0, &e), 7);
  assert_int_equal(guarded(1, &e), MK_EINVAL);
  assert_string_equal(e.msg, "step 1 refused");
  assert_int_equal(guarded(2, &e), MK_EIO);
  assert_string_equal(e.msg, "inner");
  ERR_clear_error();
  assert_int_equal(guarded(3, &e), MK_ECRYPTO);
  assert_memory_equal(e.msg, "parse cert: error:", 18);
  assert_int_equal(ERR_peek_error(), 0);
  assert_int_equal(guarded(4, &e), MK_ECRYPTO);
  assert_string_equal(e.msg, "verify: unknown OpenSSL error");
  assert_int_equal(guarded(5, &e), MK_ECONFLICT);
  assert_string_equal(e.msg, "exists");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clear_and_set),
      cmocka_unit_test(test_set_truncates),
      cmocka_unit_test(test_wrap),
      cmocka_unit_test(test_wrap_truncates),
      cmocka_unit_test(test_code_names),
      cmocka_unit_test(test_truncation_keeps_utf8),
      cmocka_unit_test(test_ossl_drains_queue),
      cmocka_unit_test(test_guards),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
