/*
 * Runs every validator over the same input and checks the promises of
 * include/mkey/mkey.h and docs/validators.md that hold for any input: the
 * result is 0 or MK_EINVAL, a rejection carries a message, the message never
 * repeats the input, and an accepted value has the documented shape.
 */
#include "mkey/mkey.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX 4096 /* every validator reads at most 201 bytes */

typedef int (*validator)(const char *, mk_err *);

static int looks_like_number(const char *s) {
  size_t n = 0;
  for (; s[n] != '\0'; n++)
    if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'A' && s[n] <= 'Z')))
      return 0;
  return n >= 8;
}

static int check(validator v, const char *s) {
  mk_err e;
  mk_err_clear(&e);
  int rc = v(s, &e);
  if (rc != 0 && rc != MK_EINVAL)
    abort();
  if (rc == MK_EINVAL && (e.code != MK_EINVAL || e.msg[0] == '\0'))
    abort();
  /* Shaped like a whole ID, credit code, card or phone number: never echoed.
   * (Free text could match the message's own words, so only these.) */
  if (rc != 0 && looks_like_number(s) && strstr(e.msg, s) != NULL)
    abort();
  return rc;
}

static int all_digits(const char *s, size_t from, size_t to) {
  for (size_t i = from; i < to; i++)
    if (s[i] < '0' || s[i] > '9')
      return 0;
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > FUZZ_MAX)
    return 0;
  char *s = malloc(size + 1);
  if (s == NULL)
    return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  size_t n = strlen(s);

  if (check(mk_valid_id_number, s) == 0 &&
      (n != 18 || !all_digits(s, 0, 17) || (s[17] != 'X' && !all_digits(s, 17, 18))))
    abort();
  if (check(mk_valid_uscc, s) == 0 && (n != 18 || !all_digits(s, 2, 8)))
    abort();
  if (check(mk_valid_mobile, s) == 0 && (n != 11 || s[0] != '1' || s[1] < '3' || !all_digits(s, 0, 11)))
    abort();
  if (check(mk_valid_bank_card, s) == 0 && (n < 12 || n > 19 || !all_digits(s, 0, n)))
    abort();
  if (check(mk_valid_person_name, s) == 0 && (n == 0 || n > 200 || s[0] == ' ' || s[n - 1] == ' '))
    abort();

  free(s);
  return 0;
}
