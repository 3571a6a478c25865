#include "mk_test.h"

#include <stdlib.h>
#include <string.h>

#include "util/json.h"

#define CAP 4096

/* Parse a C string literal (sizeof - 1 keeps embedded NULs). */
#define PARSE(lit, outp, errp) mk_json_parse((lit), sizeof(lit) - 1, CAP, (outp), (errp))

static int parse_str(const char *s, json_t **out, mk_err *e) {
  return mk_json_parse(s, strlen(s), CAP, out, e);
}

/* open repeated depth times, then inner, then close repeated depth times. */
static char *nested(int depth, const char *open, const char *inner, const char *close) {
  size_t n = (strlen(open) + strlen(close)) * (size_t)depth + strlen(inner) + 1;
  char *s = malloc(n);
  assert_non_null(s);
  s[0] = '\0';
  for (int i = 0; i < depth; i++)
    strcat(s, open);
  strcat(s, inner);
  for (int i = 0; i < depth; i++)
    strcat(s, close);
  return s;
}

static void expect_depth(const char *s, int ok) {
  json_t *v = NULL;
  mk_err e;
  mk_err_clear(&e);
  if (ok) {
    assert_mk_ok(parse_str(s, &v, &e));
    assert_non_null(v);
    json_decref(v);
  } else {
    /* A malformed body (400), not an oversized one (413). */
    assert_mk_fails(parse_str(s, &v, &e), MK_EINVAL);
    assert_int_equal(e.code, MK_EINVAL);
    assert_null(v);
    assert_string_equal(e.msg, "JSON nested deeper than 32");
  }
}

static void test_depth_arrays(void **state) {
  (void)state;
  char *s32 = nested(32, "[", "1", "]");
  char *s33 = nested(33, "[", "1", "]");
  expect_depth(s32, 1);
  expect_depth(s33, 0);
  free(s32);
  free(s33);
}

static void test_depth_objects(void **state) {
  (void)state;
  char *s32 = nested(32, "{\"a\":", "1", "}");
  char *s33 = nested(33, "{\"a\":", "1", "}");
  /* 32 objects nest 33 levels once the innermost is an empty array. */
  char *mixed = nested(32, "{\"a\":", "[]", "}");
  expect_depth(s32, 1);
  expect_depth(s33, 0);
  expect_depth(mixed, 0);
  free(s32);
  free(s33);
  free(mixed);
}

static void test_depth_ignores_strings(void **state) {
  (void)state;
  /* 31 levels plus one string holding 40 brackets and an escaped quote. */
  char *inner = nested(40, "[{", "\\\"", "}]");
  char *str = malloc(strlen(inner) + 3);
  assert_non_null(str);
  sprintf(str, "\"%s\"", inner);
  char *s = nested(31, "[", str, "]");
  expect_depth(s, 1);
  free(s);

  /* "\\" ends with an escaped backslash, so the quote after it closes the
   * string and the brackets that follow do count: 1 + 32 is too deep,
   * 1 + 31 is not. */
  char *d32 = nested(32, "[", "1", "]");
  char *d31 = nested(31, "[", "1", "]");
  char *t = malloc(strlen(d32) + 16);
  assert_non_null(t);
  sprintf(t, "[\"\\\\\",%s]", d32);
  expect_depth(t, 0);
  sprintf(t, "[\"\\\\\",%s]", d31);
  expect_depth(t, 1);
  free(d32);
  free(d31);
  free(t);
  free(str);
  free(inner);
}

static void test_size_cap(void **state) {
  (void)state;
  json_t *v = NULL;
  mk_err e;
  const char *s = "[1,2,3,4]"; /* 9 bytes */
  assert_mk_fails(mk_json_parse(s, 9, 8, &v, &e), MK_ETOOBIG);
  assert_null(v);
  assert_string_equal(e.msg, "JSON over 8 bytes");
  assert_mk_ok(mk_json_parse(s, 9, 9, &v, &e));
  assert_int_equal(json_array_size(v), 4);
  json_decref(v);

  /* Too large and too deep at once: the size is checked first. */
  char *deep = nested(40, "[", "", "]");
  assert_mk_fails(mk_json_parse(deep, strlen(deep), 10, &v, &e), MK_ETOOBIG);
  assert_int_equal(e.code, MK_ETOOBIG);
  assert_mk_fails(mk_json_parse(deep, strlen(deep), CAP, &v, &e), MK_EINVAL);
  assert_null(v);
  free(deep);
}

static void test_syntax_errors(void **state) {
  (void)state;
  json_t *v = NULL;
  mk_err e;

  assert_mk_fails(PARSE("{\"a\":1} x", &v, &e), MK_EINVAL);
  assert_string_equal(e.msg, "invalid JSON at line 1 column 9: end of file expected");
  assert_mk_fails(PARSE("{\"a\":1}{}", &v, &e), MK_EINVAL);
  assert_mk_fails(PARSE("", &v, &e), MK_EINVAL);
  assert_mk_fails(PARSE("   ", &v, &e), MK_EINVAL);
  assert_mk_fails(PARSE("[1,]", &v, &e), MK_EINVAL);
  assert_mk_fails(mk_json_parse(NULL, 3, CAP, &v, &e), MK_EINVAL);
  assert_null(v);

  /* Trailing whitespace is part of the one value. */
  assert_mk_ok(PARSE("{\"a\":1} \n", &v, &e));
  json_decref(v);
  /* Any value at the top, not only containers. */
  assert_mk_ok(PARSE("42", &v, &e));
  assert_int_equal(json_integer_value(v), 42);
  json_decref(v);
}

static void test_error_hides_input(void **state) {
  (void)state;
  json_t *v = NULL;
  mk_err e;
  assert_mk_fails(PARSE("{\"pin\":\"918273", &v, &e), MK_EINVAL);
  assert_string_equal(e.msg, "invalid JSON at line 1 column 14: premature end of input");
  assert_null(strstr(e.msg, "918273"));
  assert_mk_fails(PARSE("{\n\"password\":hunter2}", &v, &e), MK_EINVAL);
  assert_int_equal(strncmp(e.msg, "invalid JSON at line 2 column ", 30), 0);
  assert_null(strstr(e.msg, "hunter2"));
}

static void test_duplicates_and_nul(void **state) {
  (void)state;
  json_t *v = NULL;
  mk_err e;
  assert_mk_fails(PARSE("{\"a\":1,\"b\":2,\"a\":3}", &v, &e), MK_EINVAL);
  assert_non_null(strstr(e.msg, "duplicate object key"));
  assert_mk_fails(PARSE("{\"a\":{\"x\":1,\"x\":1}}", &v, &e), MK_EINVAL);
  assert_mk_fails(PARSE("[\"a\\u0000b\"]", &v, &e), MK_EINVAL);
  assert_mk_fails(PARSE("{\"a\\u0000\":1}", &v, &e), MK_EINVAL);
  assert_mk_fails(PARSE("[\"a\0b\"]", &v, &e), MK_EINVAL);
  assert_mk_fails(PARSE("[1]\0", &v, &e), MK_EINVAL);
  assert_null(v);
}

static void test_invalid_utf8(void **state) {
  (void)state;
  json_t *v = NULL;
  mk_err e;
  assert_mk_fails(PARSE("[\"\xC0\xAF\"]", &v, &e), MK_EINVAL);         /* overlong '/' */
  assert_mk_fails(PARSE("[\"\xED\xA0\x80\"]", &v, &e), MK_EINVAL);     /* surrogate */
  assert_mk_fails(PARSE("[\"\xF4\x90\x80\x80\"]", &v, &e), MK_EINVAL); /* > U+10FFFF */
  assert_mk_fails(PARSE("[\"\xE4\xB8\"]", &v, &e), MK_EINVAL);         /* truncated */
  assert_mk_fails(PARSE("[\"\\uD800\"]", &v, &e), MK_EINVAL);          /* lone escape */
  assert_null(v);
  assert_mk_ok(PARSE("[\"\\uD83D\\uDE00\xE4\xB8\xAD\"]", &v, &e));
  assert_string_equal(json_string_value(json_array_get(v, 0)), "\xF0\x9F\x98\x80\xE4\xB8\xAD");
  json_decref(v);
}

static void test_parse_object(void **state) {
  (void)state;
  json_t *v = NULL;
  mk_err e;
  assert_mk_fails(mk_json_parse_object("[1]", 3, CAP, &v, &e), MK_EINVAL);
  assert_string_equal(e.msg, "JSON body must be an object");
  assert_null(v);
  assert_mk_fails(mk_json_parse_object("{}", 2, 1, &v, &e), MK_ETOOBIG);
  assert_mk_ok(mk_json_parse_object("{}", 2, 2, &v, &e));
  assert_true(json_is_object(v));
  json_decref(v);
}

static void test_dump(void **state) {
  (void)state;
  json_t *v = NULL;
  mk_err e;
  assert_mk_ok(PARSE("{ \"b\" : 1, \"a\" : [true, null, \"\\u00e9\\/\"], \"c\": {} }", &v, &e));
  char *s = mk_json_dump(v);
  assert_non_null(s);
  assert_string_equal(s, "{\"b\":1,\"a\":[true,null,\"\xC3\xA9/\"],\"c\":{}}");
  free(s);
  json_decref(v);

  json_t *str = json_string("a\"\n");
  s = mk_json_dump(str);
  assert_string_equal(s, "\"a\\\"\\n\"");
  free(s);
  json_decref(str);
  /* reals with 12 significant digits, not the binary expansion */
  json_t *coords = json_pack("[f,f]", 30.2741, 120.1551);
  s = mk_json_dump(coords);
  assert_string_equal(s, "[30.2741,120.1551]");
  free(s);
  json_decref(coords);
  assert_null(mk_json_dump(NULL));
}

/* ---- getters ------------------------------------------------------------- */

static json_t *sample(void) {
  json_t *v = NULL;
  mk_err e;
  assert_mk_ok(PARSE("{\"name\":\"\xE5\xBC\xA0\xE4\xB8\x89\",\"empty\":\"\",\"n\":7,\"big\":"
                     "9007199254740993,\"real\":1.0,\"flag\":true,\"nil\":null,\"ctl\":\"a\\u0001b\","
                     "\"tab\":\"a\\tb\",\"c1\":\"a\\u0085b\",\"del\":\"a\\u007fb\",\"obj\":{\"x\":1},"
                     "\"arr\":[1,2,3],\"num_str\":\"5\"}",
                     &v, &e));
  return v;
}

static void test_get_str(void **state) {
  (void)state;
  json_t *o = sample();
  mk_err e;
  char field[MK_JSON_FIELD_MAX];
  const char *s = "untouched";

  assert_mk_ok(mk_json_get_str(o, "name", 1, 6, &s, field, &e));
  assert_string_equal(s, "\xE5\xBC\xA0\xE4\xB8\x89");
  /* Bytes, not characters: two Han characters are six bytes. */
  assert_mk_fails(mk_json_get_str(o, "name", 1, 5, &s, field, &e), MK_EINVAL);
  assert_string_equal(e.msg, "name must be at most 5 bytes");
  assert_string_equal(field, "name");

  assert_mk_fails(mk_json_get_str(o, "missing", 1, 10, &s, field, &e), MK_EINVAL);
  assert_string_equal(e.msg, "field 'missing' is required");
  assert_string_equal(field, "missing");
  assert_mk_fails(mk_json_get_str(o, "nil", 1, 10, &s, field, &e), MK_EINVAL);
  assert_string_equal(e.msg, "field 'nil' is required");

  s = "untouched";
  assert_mk_ok(mk_json_get_str(o, "missing", 0, 10, &s, field, &e));
  assert_mk_ok(mk_json_get_str(o, "nil", 0, 10, &s, NULL, NULL));
  assert_string_equal(s, "untouched");

  assert_mk_fails(mk_json_get_str(o, "empty", 0, 10, &s, field, &e), MK_EINVAL);
  assert_string_equal(e.msg, "empty must not be empty");
  assert_string_equal(field, "empty");
  assert_mk_fails(mk_json_get_str(o, "n", 1, 10, &s, field, &e), MK_EINVAL);
  assert_string_equal(e.msg, "n must be a string");
  assert_string_equal(field, "n");

  const char *ctl[] = {"ctl", "tab", "c1", "del"};
  for (size_t i = 0; i < 4; i++) {
    assert_mk_fails(mk_json_get_str(o, ctl[i], 1, 10, &s, field, &e), MK_EINVAL);
    assert_string_equal(field, ctl[i]);
    assert_non_null(strstr(e.msg, "without control characters"));
  }
  assert_string_equal(s, "untouched");

  /* No mk_err and no field buffer: the code alone. */
  assert_mk_fails(mk_json_get_str(o, "n", 1, 10, &s, NULL, NULL), MK_EINVAL);
  json_decref(o);
}

static void test_get_int(void **state) {
  (void)state;
  json_t *o = sample();
  mk_err e;
  char field[MK_JSON_FIELD_MAX];
  int64_t x = -1;

  assert_mk_ok(mk_json_get_int(o, "n", 1, 7, 7, &x, field, &e));
  assert_int_equal(x, 7);
  assert_mk_ok(mk_json_get_int(o, "big", 1, 0, INT64_MAX, &x, field, &e));
  assert_true(x == 9007199254740993LL);
  assert_mk_fails(mk_json_get_int(o, "n", 1, 8, 100, &x, field, &e), MK_EINVAL);
  assert_string_equal(e.msg, "n must be between 8 and 100");
  assert_string_equal(field, "n");
  assert_mk_fails(mk_json_get_int(o, "n", 1, -5, 6, &x, field, &e), MK_EINVAL);
  assert_string_equal(e.msg, "n must be between -5 and 6");
  assert_int_equal(x, 9007199254740993LL);

  const char *wrong[] = {"real", "flag", "num_str", "obj"};
  for (size_t i = 0; i < 4; i++) {
    assert_mk_fails(mk_json_get_int(o, wrong[i], 1, 0, 10, &x, field, &e), MK_EINVAL);
    assert_string_equal(field, wrong[i]);
    assert_non_null(strstr(e.msg, "must be an integer"));
  }
  assert_mk_fails(mk_json_get_int(o, "nope", 1, 0, 10, &x, field, &e), MK_EINVAL);
  assert_string_equal(e.msg, "field 'nope' is required");
  x = 99;
  assert_mk_ok(mk_json_get_int(o, "nope", 0, 0, 10, &x, field, &e));
  assert_int_equal(x, 99);
  json_decref(o);
}

static void test_get_bool_object_array(void **state) {
  (void)state;
  json_t *o = sample();
  mk_err e;
  char field[MK_JSON_FIELD_MAX];
  int b = -1;
  json_t *j = NULL;

  assert_mk_ok(mk_json_get_bool(o, "flag", 1, &b, field, &e));
  assert_int_equal(b, 1);
  assert_mk_fails(mk_json_get_bool(o, "n", 1, &b, field, &e), MK_EINVAL);
  assert_string_equal(e.msg, "n must be true or false");
  assert_mk_ok(mk_json_get_bool(o, "nope", 0, &b, field, &e));
  assert_int_equal(b, 1);

  assert_mk_ok(mk_json_get_object(o, "obj", 1, &j, field, &e));
  assert_int_equal(json_integer_value(json_object_get(j, "x")), 1);
  assert_mk_fails(mk_json_get_object(o, "arr", 1, &j, field, &e), MK_EINVAL);
  assert_string_equal(e.msg, "arr must be an object");
  assert_string_equal(field, "arr");

  j = NULL;
  assert_mk_ok(mk_json_get_array(o, "arr", 1, 3, &j, field, &e));
  assert_int_equal(json_array_size(j), 3);
  assert_mk_fails(mk_json_get_array(o, "arr", 1, 2, &j, field, &e), MK_EINVAL);
  assert_string_equal(e.msg, "arr must have at most 2 items");
  assert_mk_fails(mk_json_get_array(o, "obj", 1, 9, &j, field, &e), MK_EINVAL);
  assert_string_equal(e.msg, "obj must be an array");
  assert_string_equal(field, "obj");
  assert_mk_fails(mk_json_get_array(o, "nil", 1, 9, &j, field, &e), MK_EINVAL);
  assert_string_equal(field, "nil");

  /* A getter on something that is not an object names the field too. */
  json_t *arr = json_object_get(o, "arr");
  assert_mk_fails(mk_json_get_bool(arr, "flag", 1, &b, field, &e), MK_EINVAL);
  assert_string_equal(field, "flag");
  json_decref(o);
}

static void test_only_keys(void **state) {
  (void)state;
  json_t *o = NULL;
  mk_err e;
  char field[MK_JSON_FIELD_MAX];
  const char *const allowed[] = {"a", "b", NULL};
  const char *const none[] = {NULL};

  assert_mk_ok(PARSE("{\"b\":1,\"a\":2}", &o, &e));
  assert_mk_ok(mk_json_only_keys(o, allowed, field, &e));
  assert_mk_fails(mk_json_only_keys(o, none, field, &e), MK_EINVAL);
  assert_string_equal(e.msg, "unknown field 'b'");
  assert_string_equal(field, "b");
  json_decref(o);

  assert_mk_ok(PARSE("{\"a\":1,\"admin\":true}", &o, &e));
  assert_mk_fails(mk_json_only_keys(o, allowed, field, &e), MK_EINVAL);
  assert_string_equal(e.msg, "unknown field 'admin'");
  assert_string_equal(field, "admin");
  json_decref(o);

  /* A long multibyte name is cut whole characters: 30 x U+4E2D is 90 bytes,
   * so 21 characters (63 bytes) fit. */
  char key[128] = "";
  for (int i = 0; i < 30; i++)
    strcat(key, "\xE4\xB8\xAD");
  json_t *k = json_pack("{s:i}", key, 1);
  assert_non_null(k);
  assert_mk_fails(mk_json_only_keys(k, allowed, field, &e), MK_EINVAL);
  assert_int_equal(strlen(field), 63);
  assert_true(mk_utf8_valid_text(field, strlen(field), 0));
  json_decref(k);

  /* A cut in the middle of a character backs off to its start. */
  memset(key, 'x', 62);
  strcpy(key + 62, "\xE4\xB8\xAD");
  k = json_pack("{s:i}", key, 1);
  assert_mk_fails(mk_json_only_keys(k, allowed, field, &e), MK_EINVAL);
  assert_int_equal(strlen(field), 62);
  json_decref(k);

  /* A name with control characters is not echoed. */
  k = json_pack("{s:i}", "a\nb", 1);
  assert_mk_fails(mk_json_only_keys(k, allowed, field, &e), MK_EINVAL);
  assert_string_equal(field, "(unprintable)");
  json_decref(k);

  json_t *arr = json_array();
  assert_mk_fails(mk_json_only_keys(arr, allowed, field, &e), MK_EINVAL);
  json_decref(arr);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_depth_arrays),
      cmocka_unit_test(test_depth_objects),
      cmocka_unit_test(test_depth_ignores_strings),
      cmocka_unit_test(test_size_cap),
      cmocka_unit_test(test_syntax_errors),
      cmocka_unit_test(test_error_hides_input),
      cmocka_unit_test(test_duplicates_and_nul),
      cmocka_unit_test(test_invalid_utf8),
      cmocka_unit_test(test_parse_object),
      cmocka_unit_test(test_dump),
      cmocka_unit_test(test_get_str),
      cmocka_unit_test(test_get_int),
      cmocka_unit_test(test_get_bool_object_array),
      cmocka_unit_test(test_only_keys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
