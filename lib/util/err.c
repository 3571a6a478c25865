#include "util/guard.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
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
