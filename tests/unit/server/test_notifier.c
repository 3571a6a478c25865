/* The long-poll notifier's bound: one account holds at most eight waiting
 * long-polls; a ninth is answered at once instead of parked, and a slot
 * freed by one that ended is usable again. Other accounts are not affected. */
#include <string.h>

#include "mk_test.h"
#include "svc/svc.h"
#include "util/time.h"

#define ACC "acc_00000000000000000000000001"
#define OTHER "acc_00000000000000000000000002"

static int woken[16];
static void on_wake(void *arg) { woken[(size_t)arg]++; }

static void test_waits_per_account(void **state) {
  (void)state;
  mk_err e = {0};
  mk_svc_watch *w[12] = {0};
  static int owner;
  int64_t far = mk_time_mono_ms() + 3600 * 1000;
  assert_mk_ok(mk_svc_message_notifier_start(&e));
  for (size_t i = 0; i < 8; i++) {
    assert_mk_ok(mk_svc_message_watch(ACC, mk_svc_message_version(ACC), far, &owner, on_wake,
                                      (void *)i, &w[i], &e));
    assert_int_equal(woken[i], 0); /* parked */
  }
  assert_mk_ok(mk_svc_message_watch(ACC, mk_svc_message_version(ACC), far, &owner, on_wake,
                                    (void *)8, &w[8], &e));
  assert_int_equal(woken[8], 1); /* the ninth answers at once */
  assert_mk_ok(mk_svc_message_watch(OTHER, mk_svc_message_version(OTHER), far, &owner, on_wake,
                                    (void *)9, &w[9], &e));
  assert_int_equal(woken[9], 0); /* another account still waits */
  mk_svc_message_unwatch(w[8]);
  mk_svc_message_unwatch(w[0]); /* one ended: its slot is free */
  assert_mk_ok(mk_svc_message_watch(ACC, mk_svc_message_version(ACC), far, &owner, on_wake,
                                    (void *)10, &w[10], &e));
  assert_int_equal(woken[10], 0);
  /* stopping wakes everyone */
  mk_svc_message_wake_owner(&owner);
  for (size_t i = 1; i <= 10; i++)
    if (i != 8)
      assert_int_equal(woken[i], 1);
  for (size_t i = 1; i <= 10; i++)
    if (i != 8)
      mk_svc_message_unwatch(w[i]);
  mk_svc_message_notifier_stop();
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_waits_per_account)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
