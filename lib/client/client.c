#include "client/client.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/guard.h"
#include "util/json.h"

#define CONNECT_TIMEOUT_MS_MAX 10000L
#define CONTENT_TYPE_MAX 128
#define SERVER_TEXT_MAX 200 /* leaves room for " (HTTP 404)" in an mk_err */

struct mk_client {
  CURL *curl;
  char *token; /* owned, wiped before free; NULL when none */
  char device[MK_CLIENT_DEVICE_MAX]; /* Mkey-Device value; "" when none */
  long timeout_ms;
  char base[MK_CLIENT_URL_MAX];
};

/* What one exchange brought back. */
struct reply {
  mk_buf body;
  int write_rc; /* first mk_buf failure inside the write callback */
  long status;
  char request_id[MK_CLIENT_REQUEST_ID_MAX];
  char content_type[CONTENT_TYPE_MAX];
};

/* curl_global_init is not thread-safe before curl 7.84, and a phone app may
 * create clients from several threads: run it exactly once. It is never
 * undone; the process exit releases it. */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void) { global_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

/* Characters that never belong in a URL we build (RFC 3986 §2 excludes
 * them); '?' and '#' are judged separately. */
static int url_char_ok(unsigned char ch) {
  return ch > 0x20 && ch < 0x7f && strchr("\"<>\\^`{|}", ch) == NULL;
}

/* 1 when the path part of p (up to '?' or the end) has a "." or ".."
 * segment, also percent-encoded: the server would resolve it, so the
 * request would not go where the caller's string says. */
static int has_dot_segment(const char *p) {
  while (*p == '/') {
    const char *seg = ++p;
    size_t dots = 0, other = 0;
    while (*p != '\0' && *p != '/' && *p != '?') {
      if (*p == '.') {
        dots++;
        p++;
      } else if (p[0] == '%' && p[1] == '2' && (p[2] == 'e' || p[2] == 'E')) {
        dots++;
        p += 3;
      } else {
        other++;
        p++;
      }
    }
    if (p > seg && other == 0 && dots <= 2)
      return 1;
  }
  return 0;
}

static int check_base_url(const char *url, char *norm, size_t cap, mk_err *e) {
  int rc = 0;
  CURLU *u = NULL;
  char *part = NULL;
  size_t len = strnlen(url, MK_CLIENT_URL_MAX);

  MK_ENSURE(len > 0, MK_EINVAL, e, "server URL is empty");
  MK_ENSURE(len < MK_CLIENT_URL_MAX && len < cap, MK_EINVAL, e, "server URL over %d bytes",
            MK_CLIENT_URL_MAX - 1);
  /* Checked here rather than left to curl, which would guess a scheme for
   * "host:8080" and accept others it was built with. */
  size_t skip = strncasecmp(url, "http://", 7) == 0    ? 7
                : strncasecmp(url, "https://", 8) == 0 ? 8
                                                       : 0;
  MK_ENSURE(skip > 0, MK_EINVAL, e, "server URL '%.64s' must start with http:// or https://", url);
  /* curl would read "http:///v1" as host "v1". */
  MK_ENSURE(url[skip] != '\0' && url[skip] != '/', MK_EINVAL, e, "server URL '%.64s' has no host",
            url);
  /* No query or fragment either: the request path is appended verbatim. */
  for (size_t i = 0; i < len; i++)
    MK_ENSURE(url_char_ok((unsigned char)url[i]) && url[i] != '?' && url[i] != '#', MK_EINVAL,
              e, "server URL has a character not allowed at offset %zu", i);

  u = curl_url();
  MK_ENSURE_ALLOC(u, e);
  CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
  MK_ENSURE(uc == CURLUE_OK, MK_EINVAL, e, "server URL '%.64s': %s", url, curl_url_strerror(uc));
  uc = curl_url_get(u, CURLUPART_HOST, &part, 0);
  MK_ENSURE(uc == CURLUE_OK && part[0] != '\0', MK_EINVAL, e, "server URL '%.64s' has no host",
            url);
  curl_free(part);
  part = NULL;
  /* Credentials in a URL end up in shell history and logs; tokens go in
   * the Authorization header instead. */
  uc = curl_url_get(u, CURLUPART_USER, &part, 0);
  MK_ENSURE(uc == CURLUE_NO_USER, MK_EINVAL, e, "server URL must not contain a user name");
  const char *path = strchr(url + skip, '/');
  MK_ENSURE(path == NULL || !has_dot_segment(path), MK_EINVAL, e,
            "server URL must not contain '.' or '..' path segments");

  while (len > skip && url[len - 1] == '/')
    len--;
  memcpy(norm, url, len);
  norm[len] = '\0';
out:
  curl_free(part);
  curl_url_cleanup(u);
  return rc;
}

static int check_path(const char *path, mk_err *e) {
  int rc = 0;
  size_t len = strnlen(path, MK_CLIENT_URL_MAX);
  MK_ENSURE(path[0] == '/' && path[1] != '/', MK_EINVAL, e, "request path must start with one '/'");
  MK_ENSURE(len < MK_CLIENT_URL_MAX, MK_ETOOBIG, e, "request path over %d bytes",
            MK_CLIENT_URL_MAX - 1);
  for (size_t i = 0; i < len; i++)
    MK_ENSURE(url_char_ok((unsigned char)path[i]) && path[i] != '#', MK_EINVAL, e,
              "request path has a character not allowed at offset %zu", i);
  MK_ENSURE(!has_dot_segment(path), MK_EINVAL, e,
            "request path must not contain '.' or '..' segments");
out:
  return rc;
}

static int check_method(const char *m, mk_err *e) {
  static const char *const known[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp(m, known[i]) == 0)
      return 0;
  return mk_err_set(e, MK_EINVAL, "HTTP method '%.16s' is not supported", m);
}

int mk_client_new(const char *base_url, mk_client **out, mk_err *e) {
  int rc = 0;
  mk_client *c = NULL;

  *out = NULL;
  MK_ENSURE(base_url != NULL, MK_EINVAL, e, "server URL is missing");
  MK_ENSURE(pthread_once(&global_once, global_init) == 0 && global_rc == CURLE_OK, MK_EINTERNAL,
            e, "cannot initialise libcurl: %s", curl_easy_strerror(global_rc));
  c = calloc(1, sizeof *c);
  MK_ENSURE_ALLOC(c, e);
  MK_TRY(check_base_url(base_url, c->base, sizeof c->base, e));
  c->timeout_ms = MK_CLIENT_TIMEOUT_MS_DEFAULT;
  c->curl = curl_easy_init();
  MK_ENSURE(c->curl != NULL, MK_ENOMEM, e, "cannot make a curl handle");
  *out = c;
  c = NULL;
out:
  mk_client_free(c);
  return rc;
}

static void wipe_token(mk_client *c) {
  if (c->token != NULL) {
    OPENSSL_cleanse(c->token, strlen(c->token));
    free(c->token);
    c->token = NULL;
  }
}

void mk_client_free(mk_client *c) {
  if (c == NULL)
    return;
  wipe_token(c);
  if (c->curl != NULL)
    curl_easy_cleanup(c->curl);
  free(c);
}

const char *mk_client_base_url(const mk_client *c) { return c->base; }

int mk_client_set_bearer(mk_client *c, const char *token, mk_err *e) {
  int rc = 0;
  char *copy = NULL;
  if (token != NULL) {
    size_t len = strnlen(token, MK_CLIENT_TOKEN_MAX + 1);
    MK_ENSURE(len > 0 && len <= MK_CLIENT_TOKEN_MAX, MK_EINVAL, e,
              "bearer token must be 1 to %d characters", MK_CLIENT_TOKEN_MAX);
    for (size_t i = 0; i < len; i++)
      MK_ENSURE(token[i] > 0x20 && token[i] < 0x7f, MK_EINVAL, e,
                "bearer token has a character not allowed in a header");
    copy = strdup(token);
    MK_ENSURE_ALLOC(copy, e);
  }
  wipe_token(c);
  c->token = copy;
out:
  return rc;
}

int mk_client_set_device(mk_client *c, const char *device, mk_err *e) {
  size_t len = device ? strnlen(device, MK_CLIENT_DEVICE_MAX) : 0;
  if (device == NULL) {
    c->device[0] = '\0';
    return 0;
  }
  if (len == 0 || len >= MK_CLIENT_DEVICE_MAX)
    return mk_err_set(e, MK_EINVAL, "device id must be 1 to %d characters",
                      MK_CLIENT_DEVICE_MAX - 1);
  for (size_t i = 0; i < len; i++)
    if (device[i] <= 0x20 || device[i] >= 0x7f)
      return mk_err_set(e, MK_EINVAL, "device id has a character not allowed in a header");
  memcpy(c->device, device, len + 1);
  return 0;
}

void mk_client_set_timeout_ms(mk_client *c, long ms) {
  c->timeout_ms = ms > 0 ? ms : MK_CLIENT_TIMEOUT_MS_DEFAULT;
}

/* Response documents may carry session tokens: wipe their strings before
 * the memory goes back, but only where nobody else holds a reference. */
static void wipe_strings(json_t *v, int depth) {
  const char *key;
  json_t *x;
  size_t i;
  if (v == NULL || v->refcount != 1 || depth > MK_JSON_DEPTH_MAX)
    return;
  if (json_is_string(v)) {
    OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
  } else if (json_is_object(v)) {
    json_object_foreach(v, key, x)
      wipe_strings(x, depth + 1);
  } else if (json_is_array(v)) {
    json_array_foreach(v, i, x)
      wipe_strings(x, depth + 1);
  }
}

void mk_client_response_clear(mk_client_response *r) {
  if (r == NULL)
    return;
  wipe_strings(r->json, 0);
  json_decref(r->json);
  r->json = NULL;
  r->status = 0;
  r->request_id[0] = '\0';
}

static size_t on_body(char *p, size_t size, size_t n, void *arg) {
  struct reply *r = arg;
  size_t len = size * n;
  int rc = mk_buf_append(&r->body, p, len, NULL);
  if (rc < 0) {
    r->write_rc = rc;
    return 0; /* any count other than len makes curl abort the transfer */
  }
  return len;
}

/* Header lines arrive one at a time, "\r\n" included; a status line starts
 * each response (an interim 1xx comes first), so it resets what we kept. */
static size_t on_header(char *p, size_t size, size_t n, void *arg) {
  static const char name[] = "x-request-id:";
  struct reply *r = arg;
  size_t len = size * n;
  if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
    r->request_id[0] = '\0';
  } else if (len > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
    size_t i = sizeof name - 1, k = 0;
    while (i < len && (p[i] == ' ' || p[i] == '\t'))
      i++;
    /* Only visible ASCII, bounded: the id is printed in error reports. */
    while (i < len && k + 1 < sizeof r->request_id && p[i] > 0x20 && p[i] < 0x7f)
      r->request_id[k++] = p[i++];
    r->request_id[k] = '\0';
  }
  return len;
}

#define SETOPT(opt, val)                                                                  \
  do {                                                                                     \
    CURLcode setopt_rc_ = curl_easy_setopt(c->curl, (opt), (val));                         \
    MK_ENSURE(setopt_rc_ == CURLE_OK, MK_EINTERNAL, e, "curl option " #opt ": %s",         \
              curl_easy_strerror(setopt_rc_));                                             \
  } while (0)

static int add_header(struct curl_slist **list, const char *h, mk_err *e) {
  struct curl_slist *l = curl_slist_append(*list, h);
  if (l == NULL)
    return mk_err_set(e, MK_ENOMEM, "out of memory");
  *list = l;
  return 0;
}

/* Wipe every header before freeing: one of them may carry the token. */
static void free_headers(struct curl_slist *list) {
  for (struct curl_slist *l = list; l != NULL; l = l->next)
    OPENSSL_cleanse(l->data, strlen(l->data));
  curl_slist_free_all(list);
}

/* One exchange: r->body is capped at max. Fails only when no complete answer
 * came (network, cap, bad arguments); HTTP statuses are judged by callers. */
static int perform(mk_client *c, const char *method, const char *path, const char *accept,
                   const char *body_type, const char *body, size_t body_len, size_t max,
                   struct reply *r, mk_err *e) {
  int rc = 0;
  struct curl_slist *hdrs = NULL;
  char url[MK_CLIENT_URL_MAX];
  char auth[MK_CLIENT_TOKEN_MAX + 32];
  char *ctype = NULL;

  MK_TRY(check_method(method, e));
  MK_TRY(check_path(path, e));
  int n = snprintf(url, sizeof url, "%s%s", c->base, path);
  MK_ENSURE(n > 0 && (size_t)n < sizeof url, MK_ETOOBIG, e, "request URL over %d bytes",
            MK_CLIENT_URL_MAX - 1);
  MK_ENSURE(body_len <= MK_CLIENT_BODY_MAX, MK_ETOOBIG, e, "request body over %zu bytes",
            MK_CLIENT_BODY_MAX);

  if (accept != NULL) {
    char h[160];
    for (const char *a = accept; *a != '\0'; a++)
      MK_ENSURE(*a >= 0x20 && *a < 0x7f, MK_EINVAL, e, "Accept value has a control character");
    n = snprintf(h, sizeof h, "Accept: %s", accept);
    MK_ENSURE(n > 0 && (size_t)n < sizeof h, MK_EINVAL, e, "Accept value too long");
    MK_TRY(add_header(&hdrs, h, e));
  }
  if (body != NULL) {
    char h[128];
    const char *t = body_type ? body_type : "application/json";
    for (const char *a = t; *a != '\0'; a++)
      MK_ENSURE(*a >= 0x20 && *a < 0x7f, MK_EINVAL, e, "Content-Type has a control character");
    n = snprintf(h, sizeof h, "Content-Type: %s", t);
    MK_ENSURE(n > 0 && (size_t)n < sizeof h, MK_EINVAL, e, "Content-Type value too long");
    MK_TRY(add_header(&hdrs, h, e));
  }
  if (c->device[0] != '\0') {
    char h[MK_CLIENT_DEVICE_MAX + 16];
    snprintf(h, sizeof h, "Mkey-Device: %s", c->device);
    MK_TRY(add_header(&hdrs, h, e));
  }
  /* No "Expect: 100-continue" round trip before a body. */
  MK_TRY(add_header(&hdrs, "Expect:", e));
  if (c->token != NULL) {
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->token);
    rc = add_header(&hdrs, auth, e);
    OPENSSL_cleanse(auth, sizeof auth);
    MK_TRY(rc);
  }

  curl_easy_reset(c->curl);
  SETOPT(CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
  SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
  SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
  SETOPT(CURLOPT_NOSIGNAL, 1L);
  SETOPT(CURLOPT_TIMEOUT_MS, c->timeout_ms);
  SETOPT(CURLOPT_CONNECTTIMEOUT_MS,
         c->timeout_ms < CONNECT_TIMEOUT_MS_MAX ? c->timeout_ms : CONNECT_TIMEOUT_MS_MAX);
  SETOPT(CURLOPT_USERAGENT, "mkey/" MKEY_VERSION);
  SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
  SETOPT(CURLOPT_WRITEFUNCTION, on_body);
  SETOPT(CURLOPT_WRITEDATA, r);
  SETOPT(CURLOPT_HEADERFUNCTION, on_header);
  SETOPT(CURLOPT_HEADERDATA, r);
  SETOPT(CURLOPT_HTTPHEADER, hdrs);
  if (strcmp(method, "GET") == 0) {
    SETOPT(CURLOPT_HTTPGET, 1L);
  } else if (body != NULL || strcmp(method, "POST") == 0) {
    SETOPT(CURLOPT_POST, 1L);
    SETOPT(CURLOPT_POSTFIELDS, body != NULL ? body : "");
    SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
  }
  if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
    SETOPT(CURLOPT_CUSTOMREQUEST, method);

  mk_buf_init_secret(&r->body, max); /* answers carry tokens and key messages */
  CURLcode cc = curl_easy_perform(c->curl);
  if (r->write_rc == MK_ENOMEM)
    MK_FAIL(MK_ENOMEM, e, "out of memory");
  MK_ENSURE(r->write_rc == 0 && cc != CURLE_FILESIZE_EXCEEDED, MK_ETOOBIG, e,
            "response from %s over %zu bytes", c->base, max);
  MK_ENSURE(cc == CURLE_OK, MK_ENET, e, "cannot reach %s: %s", c->base, curl_easy_strerror(cc));
  MK_ENSURE(curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status) == CURLE_OK,
            MK_EINTERNAL, e, "curl: no response code");
  MK_ENSURE(curl_easy_getinfo(c->curl, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK, MK_EINTERNAL,
            e, "curl: no content type");
  snprintf(r->content_type, sizeof r->content_type, "%s", ctype != NULL ? ctype : "");
out:
  /* Drop curl's pointers to our header list and body before they go. */
  curl_easy_reset(c->curl);
  free_headers(hdrs);
  return rc;
}

static void reply_free(struct reply *r) {
  /* Bodies may hold tokens (login) or key material. */
  mk_buf_free_secret(&r->body);
}

/* Media type of a Content-Type value, parameters ignored (RFC 9110 §8.3.1). */
static int media_type_is(const char *ctype, const char *want) {
  size_t n = strlen(want);
  return strncasecmp(ctype, want, n) == 0 &&
         (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ' || ctype[n] == '\t');
}

static int is_json_type(const char *ctype) {
  return media_type_is(ctype, "application/json") ||
         media_type_is(ctype, "application/problem+json");
}

int mk_client_status_code(long status) {
  switch (status) {
  case 400: case 422: return MK_EINVAL;
  case 401: return MK_EAUTH;
  case 403: return MK_EPERM;
  case 404: return MK_ENOTFOUND;
  case 409: return MK_ECONFLICT;
  case 410: return MK_EEXPIRED;
  case 413: return MK_ETOOBIG;
  case 423: return MK_ELOCKED;
  case 429: return MK_ERATE;
  default: return status >= 400 && status < 500 ? MK_EINVAL : MK_EPROTO;
  }
}

/* Copy server text for a terminal: C0, DEL and C1 controls (UTF-8 C2 80..9F)
 * become '?', so a server cannot move the cursor or retitle the window;
 * cut at a character boundary. */
static void sanitise(char *dst, size_t cap, const char *src) {
  size_t n = strnlen(src, cap - 1);
  while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
    n--;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)src[i];
    if (ch == 0xC2 && i + 1 < n && (unsigned char)src[i + 1] >= 0x80 &&
        (unsigned char)src[i + 1] <= 0x9F) {
      dst[i] = dst[i + 1] = '?';
      i++;
    } else {
      dst[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
  }
  dst[n] = '\0';
}

static const char *reason_phrase(long status) {
  switch (status) {
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 409: return "Conflict";
  case 410: return "Gone";
  case 413: return "Content Too Large";
  case 422: return "Unprocessable Content";
  case 423: return "Locked";
  case 429: return "Too Many Requests";
  case 500: return "Internal Server Error";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default: return "unexpected answer";
  }
}

/* The error for a status >= 300: "<detail or title> (HTTP 404)". */
static int status_error(long status, const json_t *doc, mk_err *e) {
  const char *text = NULL;
  if (json_is_object(doc)) {
    const json_t *d = json_object_get(doc, "detail");
    const json_t *t = json_object_get(doc, "title");
    if (json_is_string(d) && json_string_length(d) > 0)
      text = json_string_value(d);
    else if (json_is_string(t) && json_string_length(t) > 0)
      text = json_string_value(t);
  }
  char clean[SERVER_TEXT_MAX];
  sanitise(clean, sizeof clean, text != NULL ? text : reason_phrase(status));
  return mk_err_set(e, mk_client_status_code(status), "%s (HTTP %ld)", clean, status);
}

/* Parse a JSON body into *doc; 0 and NULL for an empty body. */
static int parse_body(const mk_client *c, const struct reply *r, json_t **doc, mk_err *e) {
  int rc = 0;
  char ctype[64];
  *doc = NULL;
  if (r->body.len == 0)
    return 0;
  if (!is_json_type(r->content_type)) {
    sanitise(ctype, sizeof ctype, r->content_type[0] != '\0' ? r->content_type : "none");
    return mk_err_set(e, MK_EPROTO, "%s answered content type '%s', not JSON (HTTP %ld)",
                      c->base, ctype, r->status);
  }
  rc = mk_json_parse(r->body.data, r->body.len, MK_CLIENT_BODY_MAX, doc, e);
  if (rc < 0) {
    *doc = NULL;
    if (rc == MK_ENOMEM)
      return rc;
    mk_err_wrap(e, "invalid JSON from %s (HTTP %ld)", c->base, r->status);
    if (e != NULL)
      e->code = MK_EPROTO;
    return MK_EPROTO;
  }
  return 0;
}

/* Send body (of type body_type, NULL = JSON) and read a JSON answer. */
static int exchange(mk_client *c, const char *method, const char *path, const char *body_type,
                    const char *text, size_t text_len, mk_client_response *out, mk_err *e) {
  int rc = 0;
  struct reply r = {0};
  json_t *doc = NULL;

  mk_client_response_clear(out);
  MK_TRY(perform(c, method, path, "application/json, application/problem+json", body_type, text,
                 text_len, MK_CLIENT_BODY_MAX, &r, e));
  out->status = r.status;
  memcpy(out->request_id, r.request_id, sizeof out->request_id);

  int parse_rc = parse_body(c, &r, &doc, e);
  out->json = doc;
  if (r.status >= 300) {
    /* The status decides the code even when the body was no problem
     * document (a proxy's HTML page, say). */
    rc = status_error(r.status, doc, e);
  } else if (r.status < 200) {
    rc = mk_err_set(e, MK_EPROTO, "%s answered HTTP %ld", c->base, r.status);
  } else {
    rc = parse_rc;
  }
out:
  reply_free(&r);
  return rc;
}

int mk_client_request(mk_client *c, const char *method, const char *path, const json_t *body,
                      mk_client_response *out, mk_err *e) {
  int rc = 0;
  char *text = NULL;
  size_t text_len = 0;

  if (body != NULL) {
    text = mk_json_dump(body);
    if (text == NULL) {
      mk_client_response_clear(out);
      return mk_err_set(e, MK_ENOMEM, "out of memory");
    }
    text_len = strlen(text);
  }
  rc = exchange(c, method, path, NULL, text, text_len, out, e);
  if (text != NULL) {
    OPENSSL_cleanse(text, text_len);
    free(text);
  }
  return rc;
}

int mk_client_post_bytes(mk_client *c, const char *path, const char *content_type,
                         const void *data, size_t len, mk_client_response *out, mk_err *e) {
  if (content_type == NULL || data == NULL) {
    mk_client_response_clear(out);
    return mk_err_set(e, MK_EINVAL, "an upload has a type and bytes");
  }
  return exchange(c, "POST", path, content_type, data, len, out, e);
}

int mk_client_get_bytes(mk_client *c, const char *path, const char *accept, size_t max,
                        unsigned char **out, size_t *out_len, mk_err *e) {
  int rc = 0;
  struct reply r = {0};
  json_t *doc = NULL;

  *out = NULL;
  *out_len = 0;
  if (max > MK_CLIENT_BODY_MAX)
    max = MK_CLIENT_BODY_MAX;
  MK_TRY(perform(c, "GET", path, accept, NULL, NULL, 0, max, &r, e));
  if (r.status >= 300) {
    /* The detail of a problem document is worth having; its absence or a
     * parse failure still leaves the status to report. */
    if (parse_body(c, &r, &doc, NULL) < 0)
      doc = NULL;
    rc = status_error(r.status, doc, e);
    goto out;
  }
  MK_ENSURE(r.status >= 200, MK_EPROTO, e, "%s answered HTTP %ld", c->base, r.status);
  *out = mk_buf_detach(&r.body, out_len);
  MK_ENSURE_ALLOC(*out, e);
out:
  json_decref(doc);
  reply_free(&r);
  return rc;
}
