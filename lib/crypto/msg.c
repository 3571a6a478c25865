#include "crypto/msg.h"
#include "util/enc.h"
#include "util/guard.h"
#include "util/json.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#define TEXT_MAX (((MK_PMSG_FIELD_MAX + 2) / 3) * 4) /* base64url of the largest field */

int mk_pmsg_new(const char *alg, const char *op, const char *step, json_t **out, mk_err *e) {
  int rc = 0;
  *out = json_pack("{s:i, s:s, s:s, s:s}", "v", MK_PMSG_VERSION, "alg", alg, "op", op, "step",
                   step);
  MK_ENSURE_ALLOC(*out, e);
out:
  return rc;
}

int mk_pmsg_put(json_t *m, const char *key, const unsigned char *p, size_t n, mk_err *e) {
  int rc = 0;
  char text[TEXT_MAX + 1];
  MK_ENSURE(n <= MK_PMSG_FIELD_MAX, MK_EINTERNAL, e, "%s: field over %d bytes", key,
            MK_PMSG_FIELD_MAX);
  int len = mk_base64url_encode(p, n, text, sizeof text, e);
  MK_TRY(len);
  MK_ENSURE(json_object_set_new(m, key, json_stringn(text, (size_t)len)) == 0, MK_ENOMEM, e,
            "out of memory");
out:
  OPENSSL_cleanse(text, sizeof text);
  return rc;
}

/* "'a'", "'a' or 'b'", "'a', 'b' or 'c'" into buf (cut to fit). */
static void name_list(const char *const *names, char *buf, size_t cap) {
  size_t k = 0;
  buf[0] = '\0';
  for (size_t i = 0; names[i] != NULL && k < cap; i++) {
    const char *sep = i == 0 ? "" : names[i + 1] == NULL ? " or " : ", ";
    int w = snprintf(buf + k, cap - k, "%s'%s'", sep, names[i]);
    if (w < 0)
      break;
    k += (size_t)w;
  }
}

/* One of the header names alg, op or step, as the NUL-terminated want lists. */
static int check_name(const json_t *m, const char *key, const char *const *want, const char **got,
                      mk_err *e) {
  int rc = 0;
  const char *s = NULL;
  MK_TRY(mk_json_get_str(m, key, 1, MK_PMSG_NAME_MAX, &s, NULL, e));
  for (const char *const *w = want; *w != NULL; w++)
    if (strcmp(s, *w) == 0) {
      if (got != NULL)
        *got = *w;
      goto out;
    }
  char list[128];
  name_list(want, list, sizeof list);
  MK_FAIL(MK_EINVAL, e, "%s: expected %s", key, list);
out:
  return rc;
}

int mk_pmsg_check(const json_t *m, const char *const *algs, const char *op, const char *step,
                  const char *const *fields, const char **alg_out, mk_err *e) {
  int rc = 0;
  const char *allowed[4 + MK_PMSG_FIELDS_MAX + 1] = {"v", "alg", "op", "step"};
  const char *const ops[] = {op, NULL}, *const steps[] = {step, NULL};
  size_t k = 4;
  for (const char *const *f = fields; *f != NULL; f++) {
    MK_ENSURE(k < 4 + MK_PMSG_FIELDS_MAX, MK_EINTERNAL, e, "too many message fields");
    allowed[k++] = *f;
  }
  allowed[k] = NULL;
  MK_ENSURE(m != NULL && json_is_object(m), MK_EINVAL, e, "message must be a JSON object");
  MK_TRY(mk_json_only_keys(m, allowed, NULL, e));
  json_t *v = json_object_get(m, "v");
  MK_ENSURE(v != NULL && !json_is_null(v), MK_EINVAL, e, "field 'v' is required");
  MK_ENSURE(json_is_integer(v) && json_integer_value(v) == MK_PMSG_VERSION, MK_EINVAL, e,
            "v: unsupported message version");
  MK_TRY(check_name(m, "alg", algs, alg_out, e));
  MK_TRY(check_name(m, "op", ops, NULL, e));
  MK_TRY(check_name(m, "step", steps, NULL, e));
  for (const char *const *f = fields; *f != NULL; f++) {
    json_t *x = json_object_get(m, *f);
    MK_ENSURE(x != NULL && !json_is_null(x), MK_EINVAL, e, "field '%s' is required", *f);
  }
out:
  return rc;
}

int mk_pmsg_get(const json_t *m, const char *key, unsigned char *out, size_t min, size_t max,
                size_t *len, mk_err *e) {
  int rc = 0;
  const char *s = NULL;
  MK_ENSURE(min >= 1 && min <= max && max <= MK_PMSG_FIELD_MAX, MK_EINTERNAL, e,
            "%s: field bounds %zu..%zu", key, min, max);
  MK_TRY(mk_json_get_str(m, key, 1, TEXT_MAX, &s, NULL, e));
  size_t n = strlen(s);
  /* Padding would give one value two texts. */
  MK_ENSURE(memchr(s, '=', n) == NULL, MK_EINVAL, e, "%s: base64url must not be padded", key);
  /* Unpadded base64url lengths grow with the byte count, so the text length
   * alone bounds the value and the decoder never runs out of room. */
  if (min == max)
    MK_ENSURE(n == mk_base64url_enc_len(min) - 1, MK_EINVAL, e, "%s: must be %zu bytes", key,
              min);
  else
    MK_ENSURE(n >= mk_base64url_enc_len(min) - 1 && n <= mk_base64url_enc_len(max) - 1,
              MK_EINVAL, e, "%s: must be %zu to %zu bytes", key, min, max);
  int got = mk_base64url_decode(s, n, out, max, e);
  if (got < 0)
    MK_FAIL(MK_EINVAL, e, "%s: not base64url", key);
  if (len != NULL)
    *len = (size_t)got;
out:
  return rc;
}

/* Wipe the strings of v unless another holder still reads them. */
static void wipe(json_t *v) {
  const char *k;
  json_t *x;
  size_t i;
  if (v->refcount != 1)
    return;
  if (json_is_string(v)) {
    OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
  } else if (json_is_object(v)) {
    json_object_foreach(v, k, x) wipe(x);
  } else if (json_is_array(v)) {
    json_array_foreach(v, i, x) wipe(x);
  }
}

void mk_pmsg_free(json_t *m) {
  if (m == NULL)
    return;
  wipe(m);
  json_decref(m);
}
