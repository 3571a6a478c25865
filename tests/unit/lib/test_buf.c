#include "mk_test.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

static void test_init(void **state) {
  (void)state;
  mk_buf b;
  mk_buf_init(&b, 16);
  assert_null(b.data);
  assert_int_equal(b.len, 0);
  assert_int_equal(b.max, 16);
  /* Freeing a buffer that never allocated, twice, is fine. */
  mk_buf_free(&b);
  mk_buf_free(&b);
  assert_null(b.data);
}

static void test_cap_keeps_content(void **state) {
  (void)state;
  mk_buf b;
  mk_err e;
  mk_buf_init(&b, 10);
  assert_mk_ok(mk_buf_append(&b, "12345678", 8, &e));
  mk_err_clear(&e);
  assert_mk_fails(mk_buf_append(&b, "abc", 3, &e), MK_ETOOBIG);
  assert_int_equal(e.code, MK_ETOOBIG);
  assert_non_null(strstr(e.msg, "10"));
  assert_int_equal(b.len, 8);
  assert_string_equal((char *)b.data, "12345678");
  /* Exactly up to the cap is allowed, one more byte is not. */
  assert_mk_ok(mk_buf_append(&b, "ab", 2, &e));
  assert_int_equal(b.len, 10);
  assert_string_equal((char *)b.data, "12345678ab");
  assert_mk_fails(mk_buf_append(&b, "x", 1, &e), MK_ETOOBIG);
  assert_mk_fails(mk_buf_append_str(&b, "x", &e), MK_ETOOBIG);
  assert_string_equal((char *)b.data, "12345678ab");
  assert_true(b.cap <= b.max + 1);
  /* A length that would wrap len + n is refused before anything is read. */
  assert_mk_fails(mk_buf_append(&b, "", SIZE_MAX, &e), MK_ETOOBIG);
  assert_mk_fails(mk_buf_append(&b, "", SIZE_MAX - 5, &e), MK_ETOOBIG);
  assert_int_equal(b.len, 10);
  mk_buf_free(&b);
}

static void test_cap_zero(void **state) {
  (void)state;
  mk_buf b;
  mk_buf_init(&b, 0);
  assert_mk_ok(mk_buf_append(&b, NULL, 0, NULL));
  assert_non_null(b.data);
  assert_string_equal((char *)b.data, "");
  assert_mk_fails(mk_buf_append(&b, "a", 1, NULL), MK_ETOOBIG);
  assert_int_equal(b.len, 0);
  mk_buf_free(&b);
}

static void test_growth(void **state) {
  (void)state;
  enum { N = 10000 };
  mk_buf b;
  mk_buf_init(&b, N);
  for (size_t i = 0; i < N; i++) {
    unsigned char c = (unsigned char)(i * 7);
    assert_mk_ok(mk_buf_append(&b, &c, 1, NULL));
    assert_int_equal(b.len, i + 1);
    assert_true(b.cap >= b.len + 1);
    assert_int_equal(b.data[b.len], '\0');
  }
  assert_true(b.cap <= (size_t)N + 1);
  for (size_t i = 0; i < N; i++)
    assert_int_equal(b.data[i], (unsigned char)(i * 7));
  assert_mk_fails(mk_buf_append(&b, "z", 1, NULL), MK_ETOOBIG);
  mk_buf_free(&b);

  /* One large append past the first allocation. */
  char big[5000];
  memset(big, 'q', sizeof big);
  mk_buf_init(&b, 1 << 20);
  assert_mk_ok(mk_buf_append(&b, "x", 1, NULL));
  assert_mk_ok(mk_buf_append(&b, big, sizeof big, NULL));
  assert_int_equal(b.len, 1 + sizeof big);
  assert_int_equal(b.data[0], 'x');
  assert_memory_equal(b.data + 1, big, sizeof big);
  assert_int_equal(b.data[b.len], '\0');
  mk_buf_free(&b);
}

/* Binary content with NULs keeps its length and a NUL after it. */
static void test_binary_nul(void **state) {
  (void)state;
  mk_buf b;
  mk_buf_init(&b, 64);
  assert_mk_ok(mk_buf_append(&b, "a\0b", 3, NULL));
  assert_mk_ok(mk_buf_append_str(&b, "cd", NULL));
  assert_int_equal(b.len, 5);
  assert_memory_equal(b.data, "a\0bcd", 6);
  mk_buf_free(&b);
}

static void test_printf(void **state) {
  (void)state;
  mk_buf b;
  mk_err e;
  mk_buf_init(&b, 16);
  assert_mk_ok(mk_buf_printf(&b, &e, "%s-%d", "abc", 42));
  assert_string_equal((char *)b.data, "abc-42");
  assert_int_equal(b.len, 6);
  assert_mk_ok(mk_buf_printf(&b, &e, "/%05x", 0xbeefu));
  assert_string_equal((char *)b.data, "abc-42/0beef");
  /* 12 + 5 > 16: refused, content unchanged. */
  mk_err_clear(&e);
  assert_mk_fails(mk_buf_printf(&b, &e, "%s", "12345"), MK_ETOOBIG);
  assert_int_equal(e.code, MK_ETOOBIG);
  assert_string_equal((char *)b.data, "abc-42/0beef");
  assert_int_equal(b.len, 12);
  assert_mk_ok(mk_buf_printf(&b, &e, "%s", "1234"));
  assert_string_equal((char *)b.data, "abc-42/0beef1234");
  assert_mk_ok(mk_buf_printf(&b, &e, "%s", ""));
  assert_int_equal(b.len, 16);
  mk_buf_free(&b);
}

static void test_reset(void **state) {
  (void)state;
  mk_buf b;
  mk_buf_init(&b, 32);
  assert_mk_ok(mk_buf_append_str(&b, "hello", NULL));
  unsigned char *mem = b.data;
  size_t cap = b.cap;
  mk_buf_reset(&b);
  assert_int_equal(b.len, 0);
  assert_ptr_equal(b.data, mem);
  assert_int_equal(b.cap, cap);
  assert_string_equal((char *)b.data, "");
  assert_mk_ok(mk_buf_append_str(&b, "bye", NULL));
  assert_string_equal((char *)b.data, "bye");
  mk_buf_free(&b);
  mk_buf_reset(&b); /* no memory: nothing to touch */
  assert_int_equal(b.len, 0);
}

static void test_detach(void **state) {
  (void)state;
  mk_buf b;
  size_t len = 99;
  mk_buf_init(&b, 32);
  assert_mk_ok(mk_buf_append_str(&b, "owned", NULL));
  unsigned char *p = mk_buf_detach(&b, &len);
  assert_non_null(p);
  assert_int_equal(len, 5);
  assert_string_equal((char *)p, "owned");
  assert_null(b.data);
  assert_int_equal(b.len, 0);
  assert_int_equal(b.cap, 0);
  assert_int_equal(b.max, 32);
  free(p);
  /* The buffer is reusable, and detaching an empty one gives "". */
  p = mk_buf_detach(&b, &len);
  assert_non_null(p);
  assert_int_equal(len, 0);
  assert_string_equal((char *)p, "");
  free(p);
  assert_mk_ok(mk_buf_append_str(&b, "again", NULL));
  p = mk_buf_detach(&b, NULL);
  assert_string_equal((char *)p, "again");
  free(p);
}

/* A cap of SIZE_MAX means "no cap of ours": growth must not wrap to a
 * zero-byte allocation. */
static void test_cap_size_max(void **state) {
  (void)state;
  mk_buf b;
  mk_err e;
  mk_buf_init(&b, SIZE_MAX);
  char chunk[300];
  memset(chunk, 'z', sizeof chunk);
  for (int i = 0; i < 10; i++)
    assert_int_equal(mk_buf_append(&b, chunk, sizeof chunk, &e), 0);
  assert_int_equal(b.len, 3000);
  assert_true(b.cap > b.len);
  assert_int_equal(b.data[2999], 'z');
  assert_int_equal(b.data[3000], '\0');
  mk_buf_free(&b);
}

/* Linked with -Wl,--wrap=free (tests/CMakeLists.txt): while `watching`,
 * every block libmkey frees is recorded with whether its first 64 bytes
 * (every mk_buf block holds at least 64) were wiped. */
void __real_free(void *p);
static int watching, freed_blocks, freed_dirty;
void __wrap_free(void *p) {
  if (watching && p != NULL) {
    const unsigned char *c = p;
    int dirty = 0;
    for (int i = 0; i < 64; i++)
      dirty |= c[i];
    freed_blocks++;
    freed_dirty += dirty != 0;
  }
  __real_free(p);
}

static void grow_and_free(mk_buf *b) {
  mk_err e;
  char chunk[100];
  memset(chunk, 's', sizeof chunk);
  watching = 1;
  freed_blocks = freed_dirty = 0;
  for (int i = 0; i < 40; i++)
    assert_int_equal(mk_buf_append(b, chunk, sizeof chunk, &e), 0);
  mk_buf_reset(b);
  assert_int_equal(mk_buf_append(b, chunk, sizeof chunk, &e), 0);
  mk_buf_free(b);
  watching = 0;
}

/* A secret buffer leaves no copy behind: growth wipes the old block and
 * free wipes the last one. */
static void test_secret_growth_wipes(void **state) {
  (void)state;
  mk_buf b;
  mk_buf_init_secret(&b, 1u << 20);
  grow_and_free(&b);
  assert_true(freed_blocks >= 6); /* 64 -> 4096+: several generations */
  assert_int_equal(freed_dirty, 0);
}

static void test_free_secret(void **state) {
  (void)state;
  mk_buf b;
  mk_buf_init(&b, 64);
  assert_mk_ok(mk_buf_append_str(&b, "pin=123456", NULL));
  mk_buf_free_secret(&b);
  assert_null(b.data);
  assert_int_equal(b.len, 0);
  assert_int_equal(b.cap, 0);
  assert_int_equal(b.max, 64);
  mk_buf_free_secret(&b); /* nothing allocated: no-op */
  assert_mk_ok(mk_buf_append_str(&b, "next", NULL));
  assert_string_equal((char *)b.data, "next");
  mk_buf_free_secret(&b);
  assert_null(b.data);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_init),
      cmocka_unit_test(test_cap_keeps_content),
      cmocka_unit_test(test_cap_zero),
      cmocka_unit_test(test_growth),
      cmocka_unit_test(test_binary_nul),
      cmocka_unit_test(test_printf),
      cmocka_unit_test(test_reset),
      cmocka_unit_test(test_detach),
      cmocka_unit_test(test_free_secret),
      cmocka_unit_test(test_cap_size_max),
      cmocka_unit_test(test_secret_growth_wipes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
