/*
 * JSON helpers over jansson. Input from outside goes through mk_json_parse,
 * which bounds size and nesting depth before jansson sees it and rejects
 * duplicate keys and NUL in strings. Getters check type and bounds and name
 * the field in their error, so an API can answer with errors[].field.
 */
#ifndef MK_UTIL_JSON_H
#define MK_UTIL_JSON_H

#include <jansson.h>

#include "mkey/mkey.h"
#include "util/utf8.h" /* mk_utf8_valid_text, mk_utf8_count: callers of json.h use them */

#define MK_JSON_DEPTH_MAX 32

/* Parse len bytes (need not be NUL-terminated) as one JSON value (any type;
 * trailing bytes other than whitespace are an error). Fails with MK_ETOOBIG
 * past max_len bytes (the body is too large), MK_EINVAL for nesting deeper
 * than MK_JSON_DEPTH_MAX, bad syntax, invalid UTF-8 or duplicate keys (a
 * malformed body; the message has line and column, never the offending
 * input). Caller owns *out (json_decref); NULL on failure. */
int mk_json_parse(const void *buf, size_t len, size_t max_len, json_t **out, mk_err *e) MK_MUST_CHECK;

/* Parse and require an object. */
int mk_json_parse_object(const void *buf, size_t len, size_t max_len, json_t **out, mk_err *e) MK_MUST_CHECK;

/* Serialise compactly with keys in insertion order; caller frees. NULL when
 * out of memory. */
char *mk_json_dump(const json_t *v);

/*
 * Typed getters. `required`: when the key is absent (or null), required
 * fails with MK_EINVAL "field 'k' is required" and optional leaves *out
 * untouched and returns 0. Type or bound violations fail with MK_EINVAL and
 * a message that starts with the field name. The failing field name is also
 * copied to field (may be NULL, MK_JSON_FIELD_MAX bytes) for errors[].field.
 */
#define MK_JSON_FIELD_MAX 64

/* *out points into obj (valid while obj lives); length 1..max_len bytes of
 * valid UTF-8 without control characters. */
int mk_json_get_str(const json_t *obj, const char *key, int required, size_t max_len,
                    const char **out, char *field, mk_err *e) MK_MUST_CHECK;
/* Integer in [min, max]. */
int mk_json_get_int(const json_t *obj, const char *key, int required, int64_t min, int64_t max,
                    int64_t *out, char *field, mk_err *e) MK_MUST_CHECK;
int mk_json_get_bool(const json_t *obj, const char *key, int required, int *out,
                     char *field, mk_err *e) MK_MUST_CHECK;
/* Object or array value, borrowed reference. */
int mk_json_get_object(const json_t *obj, const char *key, int required, json_t **out,
                       char *field, mk_err *e) MK_MUST_CHECK;
int mk_json_get_array(const json_t *obj, const char *key, int required, size_t max_items,
                      json_t **out, char *field, mk_err *e) MK_MUST_CHECK;

/* Reject keys in obj that are not in the NULL-terminated list allowed. */
int mk_json_only_keys(const json_t *obj, const char *const *allowed, char *field,
                      mk_err *e) MK_MUST_CHECK;

#endif
