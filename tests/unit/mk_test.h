/* Shared by the cmocka unit tests: include after <setjmp.h> etc. come in. */
#ifndef MK_TEST_H
#define MK_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mkey/mkey.h"

/* Assert that expr fails with the given mk_code. */
#define assert_mk_fails(expr, code) assert_int_equal((expr), (code))
/* Assert success (0). */
#define assert_mk_ok(expr) assert_int_equal((expr), 0)

#endif
