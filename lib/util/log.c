#include "util/log.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/buf.h"
#include "util/json.h"

#define REQ_ID_MAX 64
/* A line past this is cut down to ts/level/event/req and a log_error. */
#define LINE_MAX_BYTES (64u * 1024)
/* Nested field values deeper than this are replaced whole, like a secret. */
#define REDACT_DEPTH_MAX MK_JSON_DEPTH_MAX
#define REDACTED "[redacted]"

/* Set by mk_log_init before threads start, read-only afterwards. */
static int g_level = MK_LOG_INFO;
static FILE *g_out = NULL;
/* Serialises writers so each line reaches the stream whole. */
static pthread_mutex_t g_write_lock = PTHREAD_MUTEX_INITIALIZER;

static _Thread_local char t_request_id[REQ_ID_MAX + 1];

/* Matched as case-insensitive substrings, so "user_pin", "X-Api-Key" and
 * "refresh_token" are caught without listing every spelling. The price is
 * that harmless names containing one ("keyboard", "zip_code", "status_code")
 * are redacted too: callers name such fields differently ("status", "err"),
 * which is cheaper than a secret that slips through an exact-match list. */
static const char *const secret_words[] = {
    "pin",    "password", "passwd",        "secret", "token",     "code", "otp", "key",
    "share",  "private",  "authorization", "cookie", "id_number", "card", NULL,
};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void mk_log_init(int level, FILE *out) {
  g_level = level;
  g_out = out;
}

int mk_log_level_parse(const char *s) {
  if (s == NULL)
    return -1;
  for (int i = MK_LOG_DEBUG; i <= MK_LOG_ERROR; i++)
    if (strcasecmp(s, level_names[i]) == 0)
      return i;
  return -1;
}

void mk_log_set_request_id(const char *id) {
  size_t n = 0;
  if (id != NULL) {
    /* The id may come from a client header: anything but printable ASCII
     * becomes '_', so it is always valid UTF-8 for the "req" string and a
     * line viewed raw cannot be spoofed with newlines or terminal escapes. */
    for (; n < REQ_ID_MAX && id[n] != '\0'; n++) {
      unsigned char c = (unsigned char)id[n];
      t_request_id[n] = (c > 0x20 && c < 0x7F) ? (char)c : '_';
    }
  }
  t_request_id[n] = '\0';
}

char *mk_log_clean(const char *in, char *out, size_t cap) {
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;
  if (cap == 0)
    return out;
  for (const unsigned char *p = (const unsigned char *)in; p && *p; p++) {
    if (*p >= 0x20 && *p < 0x7F && *p != '%') {
      if (o + 1 >= cap)
        break;
      out[o++] = (char)*p;
    } else {
      if (o + 3 >= cap)
        break;
      out[o++] = '%';
      out[o++] = hex[*p >> 4];
      out[o++] = hex[*p & 15];
    }
  }
  out[o] = '\0';
  return out;
}

const char *mk_log_request_id(void) {
  return t_request_id;
}

int mk_log_key_is_secret(const char *key) {
  if (key == NULL)
    return 0;
  for (const char *const *w = secret_words; *w != NULL; w++)
    if (strcasestr(key, *w) != NULL)
      return 1;
  return 0;
}

static int is_reserved(const char *key) {
  return strcmp(key, "ts") == 0 || strcmp(key, "level") == 0 || strcmp(key, "event") == 0 ||
         strcmp(key, "req") == 0;
}

/* A copy of v with the value of every secret-named key replaced, at any depth.
 * A copy rather than an edit in place, because "O" in the caller's format
 * shares the caller's own object. New reference, NULL when out of memory. */
static json_t *redacted_copy(json_t *v, int depth) {
  if (depth > REDACT_DEPTH_MAX)
    return json_string(REDACTED);
  if (json_is_object(v)) {
    json_t *copy = json_object();
    const char *k;
    json_t *child;
    if (copy == NULL)
      return NULL;
    json_object_foreach(v, k, child) {
      json_t *c = mk_log_key_is_secret(k) ? json_string(REDACTED) : redacted_copy(child, depth + 1);
      if (json_object_set_new(copy, k, c) != 0) {
        json_decref(copy);
        return NULL;
      }
    }
    return copy;
  }
  if (json_is_array(v)) {
    json_t *copy = json_array();
    size_t i;
    json_t *child;
    if (copy == NULL)
      return NULL;
    json_array_foreach(v, i, child) {
      if (json_array_append_new(copy, redacted_copy(child, depth + 1)) != 0) {
        json_decref(copy);
        return NULL;
      }
    }
    return copy;
  }
  /* Scalars are shared: nothing here changes them. */
  return json_incref(v);
}

static void format_ts(char *out, size_t cap) {
  struct timespec now;
  struct tm tm;
  char sec[32];
  if (clock_gettime(CLOCK_REALTIME, &now) != 0 || gmtime_r(&now.tv_sec, &tm) == NULL ||
      strftime(sec, sizeof sec, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
    snprintf(out, cap, "1970-01-01T00:00:00.000Z");
    return;
  }
  snprintf(out, cap, "%s.%03ldZ", sec, now.tv_nsec / 1000000L);
}

/* Writes the whole line under the lock; a line that cannot be written has
 * nowhere else to go, so write errors are dropped. */
static void write_line(const char *p, size_t n) {
  FILE *out = g_out != NULL ? g_out : stderr;
  if (pthread_mutex_lock(&g_write_lock) != 0)
    return;
  if (fwrite(p, 1, n, out) == n)
    (void)fflush(out);
  (void)pthread_mutex_unlock(&g_write_lock);
}

static int dump_cb(const char *buffer, size_t size, void *data) {
  return mk_buf_append(data, buffer, size, NULL) == 0 ? 0 : -1;
}

/* ts, level, event and req: the fields every line starts with. */
static json_t *base_line(int level, const char *event) {
  char ts[48];
  format_ts(ts, sizeof ts);
  json_t *line = json_object();
  if (line == NULL)
    return NULL;
  json_t *ev = json_string(event != NULL ? event : "");
  int bad_event = ev == NULL;
  if (bad_event)
    ev = json_string("log.invalid_event");
  const char *req = t_request_id;
  if (json_object_set_new(line, "ts", json_string(ts)) != 0 ||
      json_object_set_new(line, "level", json_string(level_names[level])) != 0 ||
      json_object_set_new(line, "event", ev) != 0 ||
      (req[0] != '\0' && json_object_set_new(line, "req", json_string(req)) != 0) ||
      (bad_event &&
       json_object_set_new(line, "log_error", json_string("event name is not UTF-8")) != 0)) {
    json_decref(line);
    return NULL;
  }
  return line;
}

/* Serialise line with a newline into b; 0 or -1. */
static int dump_line(json_t *line, mk_buf *b) {
  mk_buf_reset(b);
  if (json_dump_callback(line, dump_cb, b, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0)
    return -1;
  return mk_buf_append(b, "\n", 1, NULL);
}

void mk_log(int level, const char *event, const char *fmt, ...) {
  if (level < MK_LOG_DEBUG)
    level = MK_LOG_DEBUG;
  if (level > MK_LOG_ERROR)
    level = MK_LOG_ERROR;

  json_t *fields = NULL;
  const char *pack_error = NULL;
  json_error_t jerr;
  int dropped = level < g_level;

  /* "o" hands the caller's reference over; a dropped line must still take it
   * (pack and release), or every filtered debug line with one would leak. */
  if (fmt != NULL && (!dropped || strchr(fmt, 'o') != NULL)) {
    va_list ap;
    va_start(ap, fmt);
    fields = json_vpack_ex(&jerr, 0, fmt, ap);
    va_end(ap);
    if (fields == NULL)
      pack_error = jerr.text;
    else if (!json_is_object(fields))
      pack_error = "fields are not a JSON object";
  }
  if (dropped) {
    json_decref(fields);
    return;
  }

  mk_buf b;
  mk_buf_init(&b, LINE_MAX_BYTES);
  json_t *line = base_line(level, event);
  if (line == NULL)
    goto oom;
  if (pack_error != NULL) {
    if (json_object_set_new(line, "log_error", json_string(pack_error)) != 0)
      goto oom;
  } else if (fields != NULL) {
    const char *k;
    json_t *v;
    json_object_foreach(fields, k, v) {
      if (is_reserved(k))
        continue;
      json_t *c = mk_log_key_is_secret(k) ? json_string(REDACTED) : redacted_copy(v, 1);
      if (json_object_set_new(line, k, c) != 0)
        goto oom;
    }
  }

  if (dump_line(line, &b) != 0) {
    /* Too long (or out of memory): keep the event, drop the fields. */
    json_decref(line);
    line = base_line(level, event);
    if (line == NULL ||
        json_object_set_new(line, "log_error", json_string("line too long, fields dropped")) != 0 ||
        dump_line(line, &b) != 0)
      goto oom;
  }
  write_line((const char *)b.data, b.len);
  goto out;

oom: {
  /* Fixed text: nothing left to allocate, and no caller data to escape. */
  char ts[48], fallback[160];
  format_ts(ts, sizeof ts);
  int n = snprintf(fallback, sizeof fallback,
                   "{\"ts\":\"%s\",\"level\":\"error\",\"event\":\"log.out_of_memory\"}\n", ts);
  if (n > 0 && (size_t)n < sizeof fallback)
    write_line(fallback, (size_t)n);
}
out:
  json_decref(line);
  json_decref(fields);
  mk_buf_free(&b);
}
