#include "util/json.h"

#include <string.h>

#include "util/guard.h"

/* Deepest nesting in buf, counted without parsing so that a hostile body
 * cannot make jansson recurse before the bound applies. Brackets inside
 * strings do not count; a backslash hides the byte after it, so "\"" does not
 * end a string. Returns 0, or MK_EINVAL as soon as the bound is passed: the
 * body is malformed for mkey, not too large (that is max_len's job). */
static int check_depth(const unsigned char *p, size_t len, mk_err *e) {
  size_t depth = 0;
  int in_string = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = p[i];
    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = 0;
      continue;
    }
    switch (c) {
    case '"':
      in_string = 1;
      break;
    case '[':
    case '{':
      if (++depth > MK_JSON_DEPTH_MAX)
        return mk_err_set(e, MK_EINVAL, "JSON nested deeper than %d", MK_JSON_DEPTH_MAX);
      break;
    case ']':
    case '}':
      /* Unbalanced closers are jansson's to report as syntax errors. */
      if (depth > 0)
        depth--;
      break;
    default:
      break;
    }
  }
  return 0;
}

/* jansson ends many messages with " near '<token>'", and the token can be
 * part of a PIN or password in the body; error strings never carry secrets,
 * so only the reason before it is kept. */
static void copy_reason(char *dst, size_t cap, const char *text) {
  size_t n = strnlen(text, JSON_ERROR_TEXT_LENGTH);
  const char *near = strstr(text, " near ");
  if (near != NULL)
    n = (size_t)(near - text);
  if (n >= cap)
    n = cap - 1;
  memcpy(dst, text, n);
  dst[n] = '\0';
}

int mk_json_parse(const void *buf, size_t len, size_t max_len, json_t **out, mk_err *e) {
  int rc = 0;
  json_t *v = NULL;
  json_error_t jerr;

  MK_ENSURE(out != NULL, MK_EINTERNAL, e, "JSON parse without an output");
  *out = NULL;
  MK_ENSURE(buf != NULL || len == 0, MK_EINVAL, e, "JSON input missing");
  MK_ENSURE(len <= max_len, MK_ETOOBIG, e, "JSON over %zu bytes", max_len);
  MK_ENSURE(len > 0, MK_EINVAL, e, "invalid JSON: empty input");
  MK_TRY(check_depth(buf, len, e));

  /* No JSON_DISABLE_EOF_CHECK: the input is exactly one value, trailing bytes
   * are an error. No JSON_ALLOW_NUL: "\u0000" is refused, so every string is
   * a C string. jansson itself refuses invalid UTF-8, overlongs and lone
   * surrogates. */
  v = json_loadb(buf, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
  if (v == NULL) {
    if (json_error_code(&jerr) == json_error_out_of_memory)
      MK_FAIL(MK_ENOMEM, e, "out of memory parsing JSON");
    char reason[JSON_ERROR_TEXT_LENGTH];
    copy_reason(reason, sizeof reason, jerr.text);
    MK_FAIL(MK_EINVAL, e, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
            reason);
  }
  *out = v;
  v = NULL;
out:
  json_decref(v);
  return rc;
}

int mk_json_parse_object(const void *buf, size_t len, size_t max_len, json_t **out, mk_err *e) {
  int rc = 0;
  json_t *v = NULL;

  MK_ENSURE(out != NULL, MK_EINTERNAL, e, "JSON parse without an output");
  *out = NULL;
  MK_TRY(mk_json_parse(buf, len, max_len, &v, e));
  MK_ENSURE(json_is_object(v), MK_EINVAL, e, "JSON body must be an object");
  *out = v;
  v = NULL;
out:
  json_decref(v);
  return rc;
}

char *mk_json_dump(const json_t *v) {
  if (v == NULL)
    return NULL;
  /* jansson >= 2.8 keeps insertion order; the flag states the intent. Non-ASCII
   * stays UTF-8 (no JSON_ENSURE_ASCII). Reals (coordinates, distances) with 12
   * significant digits: 30.2741, not 30.274100000000001. */
  return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY |
                           JSON_REAL_PRECISION(12));
}

/* ---- getters ------------------------------------------------------------- */

/* Copy name into field (MK_JSON_FIELD_MAX bytes), cut on a code point boundary
 * so a truncated name is still valid UTF-8 for errors[].field. */
static void copy_field(char *field, const char *name) {
  if (field == NULL)
    return;
  size_t n = strnlen(name, MK_JSON_FIELD_MAX);
  if (n == MK_JSON_FIELD_MAX) {
    n = MK_JSON_FIELD_MAX - 1;
    while (n > 0 && ((unsigned char)name[n] & 0xC0) == 0x80)
      n--;
  }
  memcpy(field, name, n);
  field[n] = '\0';
}

/* Look key up in obj: 1 with *v set when present and not null, 0 when absent
 * and optional, negative when absent and required or when obj is no object. */
static int lookup(const json_t *obj, const char *key, int required, json_t **v, char *field,
                  mk_err *e) {
  if (key == NULL)
    return mk_err_set(e, MK_EINTERNAL, "JSON getter without a key");
  if (!json_is_object(obj)) {
    copy_field(field, key);
    return mk_err_set(e, MK_EINVAL, "%s: enclosing value must be an object", key);
  }
  json_t *found = json_object_get(obj, key);
  if (found == NULL || json_is_null(found)) {
    if (!required)
      return 0;
    copy_field(field, key);
    return mk_err_set(e, MK_EINVAL, "field '%s' is required", key);
  }
  *v = found;
  return 1;
}

/* Record a type or bound violation of key. */
#define FIELD_FAIL(key, ...)                                                   \
  do {                                                                         \
    copy_field(field, (key));                                                  \
    MK_FAIL(MK_EINVAL, e, __VA_ARGS__);                                        \
  } while (0)

int mk_json_get_str(const json_t *obj, const char *key, int required, size_t max_len,
                    const char **out, char *field, mk_err *e) {
  int rc = 0;
  json_t *v = NULL;
  int found = lookup(obj, key, required, &v, field, e);
  MK_TRY(found);
  if (found == 0)
    goto out;
  if (!json_is_string(v))
    FIELD_FAIL(key, "%s must be a string", key);
  size_t n = json_string_length(v);
  const char *s = json_string_value(v);
  if (n == 0)
    FIELD_FAIL(key, "%s must not be empty", key);
  if (n > max_len)
    FIELD_FAIL(key, "%s must be at most %zu bytes", key, max_len);
  if (!mk_utf8_valid_text(s, n, 0))
    FIELD_FAIL(key, "%s must be UTF-8 text without control characters", key);
  *out = s;
out:
  return rc;
}

int mk_json_get_int(const json_t *obj, const char *key, int required, int64_t min, int64_t max,
                    int64_t *out, char *field, mk_err *e) {
  int rc = 0;
  json_t *v = NULL;
  int found = lookup(obj, key, required, &v, field, e);
  MK_TRY(found);
  if (found == 0)
    goto out;
  /* A real such as 1.0 is not an integer: amounts and counts are exact. */
  if (!json_is_integer(v))
    FIELD_FAIL(key, "%s must be an integer", key);
  json_int_t x = json_integer_value(v);
  if (x < min || x > max)
    FIELD_FAIL(key, "%s must be between %lld and %lld", key, (long long)min, (long long)max);
  *out = (int64_t)x;
out:
  return rc;
}

int mk_json_get_bool(const json_t *obj, const char *key, int required, int *out, char *field,
                     mk_err *e) {
  int rc = 0;
  json_t *v = NULL;
  int found = lookup(obj, key, required, &v, field, e);
  MK_TRY(found);
  if (found == 0)
    goto out;
  if (!json_is_boolean(v))
    FIELD_FAIL(key, "%s must be true or false", key);
  *out = json_is_true(v);
out:
  return rc;
}

int mk_json_get_object(const json_t *obj, const char *key, int required, json_t **out,
                       char *field, mk_err *e) {
  int rc = 0;
  json_t *v = NULL;
  int found = lookup(obj, key, required, &v, field, e);
  MK_TRY(found);
  if (found == 0)
    goto out;
  if (!json_is_object(v))
    FIELD_FAIL(key, "%s must be an object", key);
  *out = v;
out:
  return rc;
}

int mk_json_get_array(const json_t *obj, const char *key, int required, size_t max_items,
                      json_t **out, char *field, mk_err *e) {
  int rc = 0;
  json_t *v = NULL;
  int found = lookup(obj, key, required, &v, field, e);
  MK_TRY(found);
  if (found == 0)
    goto out;
  if (!json_is_array(v))
    FIELD_FAIL(key, "%s must be an array", key);
  if (json_array_size(v) > max_items)
    FIELD_FAIL(key, "%s must have at most %zu items", key, max_items);
  *out = v;
out:
  return rc;
}

int mk_json_only_keys(const json_t *obj, const char *const *allowed, char *field, mk_err *e) {
  int rc = 0;
  const char *key;
  json_t *v;

  MK_ENSURE(allowed != NULL, MK_EINTERNAL, e, "JSON key check without a list");
  MK_ENSURE(json_is_object(obj), MK_EINVAL, e, "JSON value must be an object");
  json_object_foreach((json_t *)obj, key, v) {
    (void)v;
    int known = 0;
    for (const char *const *a = allowed; *a != NULL && !known; a++)
      known = strcmp(key, *a) == 0;
    if (known)
      continue;
    /* The name comes from the client: report it only when it is printable
     * text, and cut to the field size so the message stays bounded. */
    char name[MK_JSON_FIELD_MAX];
    if (mk_utf8_valid_text(key, strlen(key), 0))
      copy_field(name, key);
    else
      copy_field(name, "(unprintable)");
    copy_field(field, name);
    MK_FAIL(MK_EINVAL, e, "unknown field '%s'", name);
  }
out:
  return rc;
}
