#include "mk_test.h"

#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/msg.h"
#include "util/json.h"

static void watch_free(void *p);

static const char *const sm2[] = {"sm2", NULL};
static const char *const rsa[] = {"rsa2048", "rsa3072", NULL};
static const char *const one[] = {"x", NULL};
static const char *const none[] = {NULL};

static json_t *parse(const char *text) {
  json_t *m = NULL;
  mk_err e;
  assert_mk_ok(mk_json_parse_object(text, strlen(text), 4096, &m, &e));
  return m;
}

/* Check text as an sm2 sign/request with the one field "x"; code 0 is
 * success, otherwise the code and a piece of the message. */
static void check_text(const char *text, int code, const char *says) {
  json_t *m = parse(text);
  mk_err e;
  mk_err_clear(&e);
  int rc = mk_pmsg_check(m, sm2, "sign", "request", one, NULL, &e);
  assert_int_equal(rc, code);
  if (says != NULL && strstr(e.msg, says) == NULL)
    fail_msg("'%s' does not say '%s'", e.msg, says);
  json_decref(m);
}

/* Decode {"f": text} as min..max bytes. */
static int get_text(const char *text, size_t min, size_t max, unsigned char *out, size_t *len,
                    mk_err *e) {
  json_t *m = json_pack("{s:s}", "f", text);
  assert_non_null(m);
  mk_err_clear(e);
  int rc = mk_pmsg_get(m, "f", out, min, max, len, e);
  json_decref(m);
  return rc;
}

static void expect_get_fails(const char *text, size_t min, size_t max, const char *says) {
  unsigned char out[MK_PMSG_FIELD_MAX];
  mk_err e;
  assert_mk_fails(get_text(text, min, max, out, NULL, &e), MK_EINVAL);
  if (strstr(e.msg, says) == NULL)
    fail_msg("'%s' does not say '%s'", e.msg, says);
  assert_int_equal(e.msg[0], 'f'); /* the field comes first */
}

/* ---- encoding ---- */

/* RFC 4648 §10 vectors, without the padding §5 allows us to drop. */
static void test_put_vectors(void **state) {
  (void)state;
  static const struct {
    const char *in, *out;
  } v[] = {{"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"}, {"foob", "Zm9vYg"},
           {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
  mk_err e;
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    json_t *m = NULL;
    assert_mk_ok(mk_pmsg_new("sm2", "sign", "request", &m, &e));
    assert_mk_ok(mk_pmsg_put(m, "x", (const unsigned char *)v[i].in, strlen(v[i].in), &e));
    assert_string_equal(json_string_value(json_object_get(m, "x")), v[i].out);
    unsigned char back[8];
    size_t n = 0;
    assert_mk_ok(mk_pmsg_get(m, "x", back, 1, sizeof back, &n, &e));
    assert_int_equal(n, strlen(v[i].in));
    assert_memory_equal(back, v[i].in, n);
    mk_pmsg_free(m);
  }
}

/* Header first, in this order, then fields as put: the wire text is fixed. */
static void test_new_text(void **state) {
  (void)state;
  json_t *m = NULL;
  mk_err e;
  static const unsigned char b[] = {0xfb, 0xff, 0xbf};
  assert_mk_ok(mk_pmsg_new("rsa3072", "decrypt", "challenge", &m, &e));
  assert_mk_ok(mk_pmsg_put(m, "challenge", b, sizeof b, &e));
  char *text = mk_json_dump(m);
  assert_non_null(text);
  assert_string_equal(text, "{\"v\":1,\"alg\":\"rsa3072\",\"op\":\"decrypt\","
                            "\"step\":\"challenge\",\"challenge\":\"-_-_\"}");
  watch_free(text); /* jansson's block: see main */
  static const char *const fields[] = {"challenge", NULL};
  assert_mk_ok(mk_pmsg_check(m, rsa, "decrypt", "challenge", fields, NULL, &e));
  mk_pmsg_free(m);
}

static void test_put_cap(void **state) {
  (void)state;
  static unsigned char big[MK_PMSG_FIELD_MAX + 1];
  json_t *m = NULL;
  mk_err e;
  assert_mk_ok(mk_pmsg_new("sm2", "sign", "request", &m, &e));
  assert_mk_ok(mk_pmsg_put(m, "x", big, MK_PMSG_FIELD_MAX, &e));
  assert_int_equal(json_string_length(json_object_get(m, "x")), 683);
  assert_mk_fails(mk_pmsg_put(m, "y", big, sizeof big, &e), MK_EINTERNAL);
  assert_null(json_object_get(m, "y"));
  /* A second put replaces the value: one key, one text. */
  assert_mk_ok(mk_pmsg_put(m, "x", big, 1, &e));
  assert_string_equal(json_string_value(json_object_get(m, "x")), "AA");
  mk_pmsg_free(m);
}

/* ---- header and key set ---- */

static void test_check_accepts(void **state) {
  (void)state;
  check_text("{\"v\":1,\"alg\":\"sm2\",\"op\":\"sign\",\"step\":\"request\",\"x\":\"AA\"}", 0,
             NULL);
  /* Key order is free; only the set of keys is fixed. */
  check_text("{\"x\":\"AA\",\"step\":\"request\",\"op\":\"sign\",\"alg\":\"sm2\",\"v\":1}", 0,
             NULL);
}

static void test_check_keys(void **state) {
  (void)state;
  check_text("{\"v\":1,\"alg\":\"sm2\",\"op\":\"sign\",\"step\":\"request\"}", MK_EINVAL,
               "field 'x' is required");
  check_text("{\"v\":1,\"alg\":\"sm2\",\"op\":\"sign\",\"step\":\"request\",\"x\":null}", MK_EINVAL,
               "field 'x' is required");
  check_text("{\"v\":1,\"alg\":\"sm2\",\"op\":\"sign\",\"step\":\"request\",\"x\":\"AA\","
               "\"d2\":\"AA\"}",
               MK_EINVAL, "unknown field 'd2'");
  check_text("{\"alg\":\"sm2\",\"op\":\"sign\",\"step\":\"request\",\"x\":\"AA\"}", MK_EINVAL,
               "field 'v' is required");
  check_text("{\"v\":1,\"op\":\"sign\",\"step\":\"request\",\"x\":\"AA\"}", MK_EINVAL,
               "field 'alg' is required");
  check_text("{\"v\":1,\"alg\":\"sm2\",\"step\":\"request\",\"x\":\"AA\"}", MK_EINVAL,
               "field 'op' is required");
  check_text("{\"v\":1,\"alg\":\"sm2\",\"op\":\"sign\",\"x\":\"AA\"}", MK_EINVAL,
               "field 'step' is required");

  mk_err e;
  json_t *a = json_array();
  assert_mk_fails(mk_pmsg_check(a, sm2, "sign", "request", one, NULL, &e), MK_EINVAL);
  assert_string_equal(e.msg, "message must be a JSON object");
  assert_mk_fails(mk_pmsg_check(NULL, sm2, "sign", "request", one, NULL, &e), MK_EINVAL);
  json_decref(a);

  /* A message with no fields besides the header. */
  json_t *m = parse("{\"v\":1,\"alg\":\"sm2\",\"op\":\"sign\",\"step\":\"request\"}");
  assert_mk_ok(mk_pmsg_check(m, sm2, "sign", "request", none, NULL, &e));
  /* More fields than the codec holds is the caller's mistake. */
  static const char *const many[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", NULL};
  assert_mk_fails(mk_pmsg_check(m, sm2, "sign", "request", many, NULL, &e), MK_EINTERNAL);
  json_decref(m);
}

static void test_check_version(void **state) {
  (void)state;
  static const char *const bad[] = {"0", "2", "-1", "1.0", "\"1\"", "true", "null", "[1]"};
  char text[128];
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(text, sizeof text,
             "{\"v\":%s,\"alg\":\"sm2\",\"op\":\"sign\",\"step\":\"request\",\"x\":\"AA\"}",
             bad[i]);
    check_text(text, MK_EINVAL, "v");
  }
}

static void test_check_names(void **state) {
  (void)state;
  check_text("{\"v\":1,\"alg\":\"rsa2048\",\"op\":\"sign\",\"step\":\"request\",\"x\":\"AA\"}",
               MK_EINVAL, "alg: expected 'sm2'");
  check_text("{\"v\":1,\"alg\":\"SM2\",\"op\":\"sign\",\"step\":\"request\",\"x\":\"AA\"}",
               MK_EINVAL, "alg: expected 'sm2'");
  check_text("{\"v\":1,\"alg\":1,\"op\":\"sign\",\"step\":\"request\",\"x\":\"AA\"}", MK_EINVAL,
               "alg");
  check_text("{\"v\":1,\"alg\":\"sm2\",\"op\":\"decrypt\",\"step\":\"request\",\"x\":\"AA\"}",
               MK_EINVAL, "op: expected 'sign'");
  check_text("{\"v\":1,\"alg\":\"sm2\",\"op\":\"sign\",\"step\":\"result\",\"x\":\"AA\"}",
               MK_EINVAL, "step: expected 'request'");
  check_text("{\"v\":1,\"alg\":\"sm2\",\"op\":\"sign\",\"step\":\"requestrequestrequest\","
               "\"x\":\"AA\"}",
               MK_EINVAL, "step");
  check_text("{\"v\":1,\"alg\":\"sm2\",\"op\":\"sign\",\"step\":\"\",\"x\":\"AA\"}", MK_EINVAL,
               "step");

  /* Several algorithms: the match comes back as the caller's own string. */
  mk_err e;
  const char *alg = NULL;
  json_t *m = parse("{\"v\":1,\"alg\":\"rsa3072\",\"op\":\"sign\",\"step\":\"result\"}");
  assert_mk_ok(mk_pmsg_check(m, rsa, "sign", "result", none, &alg, &e));
  assert_ptr_equal(alg, rsa[1]);
  json_decref(m);
  m = parse("{\"v\":1,\"alg\":\"rsa4096\",\"op\":\"sign\",\"step\":\"result\"}");
  alg = NULL;
  assert_mk_fails(mk_pmsg_check(m, rsa, "sign", "result", none, &alg, &e), MK_EINVAL);
  assert_string_equal(e.msg, "alg: expected 'rsa2048' or 'rsa3072'");
  assert_null(alg);
  json_decref(m);
}

/* ---- binary fields ---- */

static void test_get_exact(void **state) {
  (void)state;
  unsigned char out[MK_PMSG_FIELD_MAX];
  size_t n = 0;
  mk_err e;
  assert_mk_ok(get_text("Zm9vYmFy", 6, 6, out, &n, &e));
  assert_int_equal(n, 6);
  assert_memory_equal(out, "foobar", 6);
  expect_get_fails("Zm9vYmE", 6, 6, "must be 6 bytes");    /* 5 bytes */
  expect_get_fails("Zm9vYmFyYQ", 6, 6, "must be 6 bytes"); /* 7 bytes */
  expect_get_fails("Zm9vYmFy=", 6, 6, "must not be padded");
  expect_get_fails("Zm9vYg==", 4, 4, "must not be padded");
  expect_get_fails("Zm9vYg=", 4, 4, "must not be padded");
}

/* One value, one text: every other spelling is refused. */
static void test_get_canonical(void **state) {
  (void)state;
  /* "fo" is Zm8; Zm9 carries the same 16 bits and two non-zero spare ones. */
  unsigned char out[8];
  size_t n = 0;
  mk_err e;
  assert_mk_ok(get_text("Zm8", 2, 2, out, &n, &e));
  expect_get_fails("Zm9", 2, 2, "not base64url");
  expect_get_fails("Zg_", 2, 2, "not base64url");
  expect_get_fails("Zh", 1, 1, "not base64url");
  /* base64's alphabet, whitespace and other bytes are not base64url. */
  expect_get_fails("-_+/", 3, 3, "not base64url");
  expect_get_fails("Zm9v Y", 4, 4, "not base64url");
  expect_get_fails("Zm9v.g", 4, 4, "not base64url");
  /* 4k+1 characters decode to nothing. */
  expect_get_fails("Zm9vY", 3, 4, "not base64url");
}

static void test_get_range(void **state) {
  (void)state;
  unsigned char out[MK_PMSG_FIELD_MAX];
  size_t n = 0;
  mk_err e;
  assert_mk_ok(get_text("Zm9v", 2, 5, out, &n, &e));
  assert_int_equal(n, 3);
  assert_mk_ok(get_text("Zm8", 2, 5, out, &n, &e));
  assert_int_equal(n, 2);
  assert_mk_ok(get_text("Zm9vYmE", 2, 5, out, &n, &e));
  assert_int_equal(n, 5);
  expect_get_fails("Zg", 2, 5, "must be 2 to 5 bytes");
  expect_get_fails("Zm9vYmFy", 2, 5, "must be 2 to 5 bytes");
  /* Far too long for any field: refused before decoding. */
  char *huge = malloc(4096);
  assert_non_null(huge);
  memset(huge, 'A', 4095);
  huge[4095] = '\0';
  expect_get_fails(huge, 1, MK_PMSG_FIELD_MAX, "f");
  free(huge);
  /* The largest field decodes. */
  char text[684];
  memset(text, 'A', 683);
  text[683] = '\0';
  assert_mk_ok(get_text(text, MK_PMSG_FIELD_MAX, MK_PMSG_FIELD_MAX, out, &n, &e));
  assert_int_equal(n, MK_PMSG_FIELD_MAX);
}

static void test_get_type(void **state) {
  (void)state;
  unsigned char out[8];
  mk_err e;
  expect_get_fails("", 1, 1, "f");
  json_t *m = json_pack("{s:i, s:n, s:[s]}", "i", 1, "z", "a", "AA");
  assert_non_null(m);
  assert_mk_fails(mk_pmsg_get(m, "i", out, 1, 1, NULL, &e), MK_EINVAL);
  assert_mk_fails(mk_pmsg_get(m, "z", out, 1, 1, NULL, &e), MK_EINVAL);
  assert_mk_fails(mk_pmsg_get(m, "a", out, 1, 1, NULL, &e), MK_EINVAL);
  assert_mk_fails(mk_pmsg_get(m, "missing", out, 1, 1, NULL, &e), MK_EINVAL);
  assert_string_equal(e.msg, "field 'missing' is required");
  /* Bounds that make no sense are the caller's mistake. */
  assert_mk_fails(mk_pmsg_get(m, "i", out, 0, 1, NULL, &e), MK_EINTERNAL);
  assert_mk_fails(mk_pmsg_get(m, "i", out, 2, 1, NULL, &e), MK_EINTERNAL);
  assert_mk_fails(mk_pmsg_get(m, "i", out, 1, MK_PMSG_FIELD_MAX + 1, NULL, &e), MK_EINTERNAL);
  json_decref(m);
}

/* ---- wiping ---- */

/* jansson's allocator, watched: each block carries its size, and a block
 * freed while it still holds the marker is counted. */
#define MARK "c2VjcmV0LXNoYXJl" /* base64url of "secret-share" */
static const unsigned char mark_bytes[] = "secret-share";
static int freed_with_mark;

struct head {
  alignas(max_align_t) size_t size;
};

static void *watch_malloc(size_t n) {
  struct head *h = malloc(sizeof *h + n);
  if (h == NULL)
    return NULL;
  h->size = n;
  return h + 1;
}

static void watch_free(void *p) {
  if (p == NULL)
    return;
  struct head *h = (struct head *)p - 1;
  if (h->size >= sizeof MARK - 1) {
    for (size_t i = 0; i + sizeof MARK - 1 <= h->size; i++)
      if (memcmp((char *)p + i, MARK, sizeof MARK - 1) == 0) {
        freed_with_mark++;
        break;
      }
  }
  free(h);
}

static json_t *marked(mk_err *e) {
  json_t *m = NULL;
  assert_mk_ok(mk_pmsg_new("sm2", "sign", "request", &m, e));
  assert_mk_ok(mk_pmsg_put(m, "x", mark_bytes, sizeof mark_bytes - 1, e));
  assert_string_equal(json_string_value(json_object_get(m, "x")), MARK);
  return m;
}

static void test_free_wipes(void **state) {
  (void)state;
  mk_err e;
  /* The watch sees a plain json_decref leave the text behind... */
  freed_with_mark = 0;
  json_decref(marked(&e));
  assert_int_equal(freed_with_mark, 1);
  /* ...and mk_pmsg_free leave none, nested values included. */
  json_t *m = marked(&e);
  json_t *inner = json_pack("{s:[s, {s:s}]}", "deep", MARK, "deeper", MARK);
  assert_non_null(inner);
  assert_int_equal(json_object_set_new(m, "nested", inner), 0);
  freed_with_mark = 0;
  mk_pmsg_free(m);
  assert_int_equal(freed_with_mark, 0);
  mk_pmsg_free(NULL);
}

/* A value someone else holds is not wiped under them, nor is the message
 * while another reference to it lives. */
static void test_free_shared(void **state) {
  (void)state;
  mk_err e;
  json_t *m = marked(&e);
  json_t *x = json_incref(json_object_get(m, "x"));
  mk_pmsg_free(m);
  assert_string_equal(json_string_value(x), MARK);
  json_decref(x);

  m = marked(&e);
  json_incref(m);
  mk_pmsg_free(m);
  assert_string_equal(json_string_value(json_object_get(m, "x")), MARK);
  freed_with_mark = 0;
  mk_pmsg_free(m);
  assert_int_equal(freed_with_mark, 0);
}

int main(void) {
  /* Before any jansson value exists, so every block is the watch's. */
  json_set_alloc_funcs(watch_malloc, watch_free);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_put_vectors),   cmocka_unit_test(test_new_text),
      cmocka_unit_test(test_put_cap),       cmocka_unit_test(test_check_accepts),
      cmocka_unit_test(test_check_keys),    cmocka_unit_test(test_check_version),
      cmocka_unit_test(test_check_names),   cmocka_unit_test(test_get_exact),
      cmocka_unit_test(test_get_canonical), cmocka_unit_test(test_get_range),
      cmocka_unit_test(test_get_type),      cmocka_unit_test(test_free_wipes),
      cmocka_unit_test(test_free_shared),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
