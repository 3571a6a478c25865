/*
 * mk_json_parse on arbitrary bytes: whatever it accepts must dump and parse
 * back to an equal value, and the getters must hold their contracts on it.
 * mk_utf8_valid_text is checked against jansson's own UTF-8 validation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

#define FUZZ_CAP 4096

/* Control characters as mk_utf8_valid_text defines them, given valid UTF-8. */
static int has_control(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (p[i] < 0x20 || p[i] == 0x7F)
      return 1;
    if (p[i] == 0xC2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9F)
      return 1;
  }
  return 0;
}

static void check_utf8(const uint8_t *data, size_t size) {
  int ours = mk_utf8_valid_text((const char *)data, size, 0);
  /* jansson (without JSON_ALLOW_NUL in effect for C strings) validates UTF-8
   * in json_stringn; NUL is a control for us and allowed by it. */
  json_t *s = json_stringn((const char *)data, size);
  int theirs = s != NULL && !has_control(data, size);
  json_decref(s);
  if (ours != theirs)
    abort();
  if (ours && mk_utf8_count((const char *)data, size) > size)
    abort();
}

static void check_getters(json_t *obj) {
  const char *k;
  json_t *v;
  char field[MK_JSON_FIELD_MAX];
  mk_err e;
  json_object_foreach(obj, k, v) {
    const char *s = NULL;
    int64_t i = 0;
    int b = 0;
    json_t *j = NULL;
    if (mk_json_get_str(obj, k, 1, 64, &s, field, &e) == 0) {
      size_t n = strlen(s);
      if (n == 0 || n > 64 || !mk_utf8_valid_text(s, n, 0))
        abort();
    } else {
      /* The name is the client's key, cut to size but still valid UTF-8. */
      json_t *f = json_string(field);
      if (f == NULL || strlen(field) >= MK_JSON_FIELD_MAX)
        abort();
      json_decref(f);
    }
    if (mk_json_get_int(obj, k, 1, -1000, 1000, &i, field, &e) == 0 && (i < -1000 || i > 1000))
      abort();
    if (mk_json_get_bool(obj, k, 1, &b, field, &e) == 0 && b != json_is_true(v))
      abort();
    if (mk_json_get_array(obj, k, 1, 4, &j, field, &e) == 0 && json_array_size(j) > 4)
      abort();
    if (mk_json_get_object(obj, k, 1, &j, field, &e) == 0 && j != v)
      abort();
  }
  static const char *const allowed[] = {"a", "name", NULL};
  if (mk_json_only_keys(obj, allowed, field, &e) != 0 &&
      !mk_utf8_valid_text(field, strlen(field), 0))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_t *v = NULL, *w = NULL;
  mk_err e;
  char *dump = NULL;

  check_utf8(data, size);
  if (mk_json_parse(data, size, FUZZ_CAP, &v, &e) != 0) {
    if (v != NULL || e.code >= 0)
      abort();
    return 0;
  }
  dump = mk_json_dump(v);
  if (dump == NULL)
    abort();
  /* A dump can be longer than its input ("1E-5" becomes
   * "1.0000000000000001e-05"), never deeper. */
  size_t n = strlen(dump);
  if (mk_json_parse(dump, n, n, &w, &e) != 0)
    abort();
  if (!json_equal(v, w))
    abort();
  if (json_is_object(v))
    check_getters(v);
  free(dump);
  json_decref(v);
  json_decref(w);
  return 0;
}
