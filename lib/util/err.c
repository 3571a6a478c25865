#include "util/guard.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A message cut to fit may end inside a UTF-8 character; drop the partial
 * character so the text stays valid (it ends up in JSON answers and logs). */
static void trim_partial_utf8(char *msg) {
  size_t n = strlen(msg);
  size_t i = n;
  while (i > 0 && n - i < 4 && ((unsigned char)msg[i - 1] & 0xC0) == 0x80)
    i--;
  if (i == 0)
    return;
  unsigned char lead = (unsigned char)msg[i - 1];
  size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  if (lead >= 0x80 && n - (i - 1) < want)
    msg[i - 1] = '\0';
}

MK_EXPORT void mk_err_clear(mk_err *e) {
  if (e == NULL)
    return;
  e->code = MK_OK;
  e->msg[0] = '\0';
}

MK_EXPORT int mk_err_set(mk_err *e, int code, const char *fmt, ...) {
  if (e == NULL)
    return code;
  e->code = code;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  if (n >= (int)sizeof e->msg)
    trim_partial_utf8(e->msg);
  return code;
}

MK_EXPORT int mk_err_wrap(mk_err *e, const char *fmt, ...) {
  if (e == NULL)
    return MK_EINTERNAL;
  char prefix[MK_ERR_MSG_MAX];
  char old[MK_ERR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, e->msg, sizeof old);
  /* "prefix: old", cut to fit: the message is for people and stays bounded. */
  size_t cap = sizeof e->msg - 1, n = strnlen(prefix, cap);
  memcpy(e->msg, prefix, n);
  if (old[0] != '\0' && n + 2 < cap) {
    memcpy(e->msg + n, ": ", 2);
    n += 2;
    size_t m = strnlen(old, cap - n);
    memcpy(e->msg + n, old, m);
    n += m;
  }
  e->msg[n] = '\0';
  trim_partial_utf8(e->msg);
  if (e->code == MK_OK)
    e->code = MK_EINTERNAL;
  return e->code;
}

int mk_err_ossl(mk_err *e, int code, const char *what) {
  unsigned long first = ERR_peek_error();
  char reason[160] = "unknown OpenSSL error";
  if (first != 0)
    ERR_error_string_n(first, reason, sizeof reason);
  ERR_clear_error();
  return mk_err_set(e, code, "%s: %s", what, reason);
}

MK_EXPORT const char *mk_code_name(int code) {
  switch (code) {
  case MK_OK: return "ok";
  case MK_EINVAL: return "invalid";
  case MK_ENOMEM: return "no-memory";
  case MK_ETOOBIG: return "too-big";
  case MK_EIO: return "io";
  case MK_ECRYPTO: return "crypto";
  case MK_ESTORE: return "store";
  case MK_ENOTFOUND: return "not-found";
  case MK_ECONFLICT: return "conflict";
  case MK_EAUTH: return "unauthenticated";
  case MK_EPERM: return "forbidden";
  case MK_ELOCKED: return "locked";
  case MK_EEXPIRED: return "expired";
  case MK_ERATE: return "rate-limited";
  case MK_ENET: return "network";
  case MK_EPROTO: return "protocol";
  case MK_EINTERNAL: return "internal";
  default: return "unknown";
  }
}
