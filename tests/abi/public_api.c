/*
 * A program that uses libmkey as an outside user would: only <mkey/mkey.h>,
 * linked against the shared library. It proves the public API is exported
 * and usable without any internal header.
 */
#include <mkey/mkey.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  mk_err e;
  mk_err_clear(&e);
  if (strcmp(mk_version(), MKEY_VERSION) != 0) {
    fprintf(stderr, "version %s != %s\n", mk_version(), MKEY_VERSION);
    return 1;
  }
  if (mk_valid_id_number("330402199003071237", &e) != 0 ||
      mk_valid_uscc("91330402MA2B3C4D53", &e) != 0 || mk_valid_mobile("13800138000", &e) != 0 ||
      mk_valid_bank_card("6222021000123456781", &e) != 0 ||
      mk_valid_person_name("张三", &e) != 0) {
    fprintf(stderr, "a valid value was refused: %s\n", e.msg);
    return 1;
  }
  if (mk_valid_id_number("330402199003071238", &e) != MK_EINVAL || e.code != MK_EINVAL ||
      e.msg[0] == '\0') {
    fprintf(stderr, "a wrong check digit was accepted\n");
    return 1;
  }
  if (strcmp(mk_code_name(MK_ENOTFOUND), "not-found") != 0)
    return 1;
  puts("public API ok");
  return 0;
}
