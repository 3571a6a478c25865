/*
 * Structured logging: one JSON object per line on stderr (or a file):
 *   {"ts":"2026-11-29T05:04:32Z","level":"info","event":"http.access",
 *    "req":"req_...","method":"GET","path":"/v1/health","status":200,"ms":1}
 *
 * Fields come as a jansson json_pack format and its arguments. Keys whose
 * name suggests a secret (pin, password, passwd, secret, token, code, otp,
 * key, share, private, authorization, cookie, id_number, card) are written
 * as "[redacted]", whatever the caller passed: a second line of defence, the
 * first being not to pass secrets at all. Names match as case-insensitive
 * substrings at any depth ("user_pin", "X-Api-Key", a "token" inside an
 * object inside an array), so harmless names such as "status_code" or
 * "keyboard" are redacted too: give such fields another name ("status").
 * Fields named ts, level, event or req are dropped, never overriding the
 * line's own.
 */
#ifndef MK_UTIL_LOG_H
#define MK_UTIL_LOG_H

#include <stdio.h>

#include "mkey/mkey.h"

enum mk_log_level { MK_LOG_DEBUG = 0, MK_LOG_INFO = 1, MK_LOG_WARN = 2, MK_LOG_ERROR = 3 };

/* Process-wide: lines below level are dropped; out NULL means stderr.
 * Call before threads start. */
void mk_log_init(int level, FILE *out);
/* "debug", "info", "warn", "error" -> level; -1 when unknown. */
int mk_log_level_parse(const char *s);

/* The request id of the calling thread ("req" field), NULL to clear. Copied
 * (at most 64 bytes); bytes outside printable ASCII become '_'. */
void mk_log_set_request_id(const char *id);
const char *mk_log_request_id(void); /* "" when none */

/* Write one line. fmt is a json_pack object format without the outer braces'
 * keys ts/level/event/req, e.g. mk_log(MK_LOG_INFO, "store.open", "{s:s}",
 * "path", p). fmt may be NULL for no fields. A line is written whole (one
 * write call) so threads do not interleave. When the fields cannot be packed
 * (NULL or non-UTF-8 string, bad format) or the line passes 64 KiB, the line
 * keeps ts/level/event/req and says why in "log_error". */
void mk_log(int level, const char *event, const char *fmt, ...);

/* Copy outside text (a request path, a library's message) into out as
 * printable ASCII: other bytes, and '%', become %XX, so the line stays valid
 * JSON text and a raw view cannot be spoofed; cut at cap - 1 bytes without
 * splitting an escape. Returns out. */
char *mk_log_clean(const char *in, char *out, size_t cap);

/* 1 when a field of this name is redacted. */
int mk_log_key_is_secret(const char *key);

#endif
