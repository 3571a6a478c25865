/*
 * HTTP client of mkeyd's API over libcurl, shared by the mkey CLI and phone
 * apps. One mk_client per thread: it keeps one curl handle so connections are
 * reused between requests. Redirects are never followed and only http and
 * https are spoken, so a bearer token goes nowhere but the configured server.
 *
 *   mk_client *c = NULL;
 *   mk_client_response r = {0};
 *   MK_TRY(mk_client_new("http://127.0.0.1:8080", &c, err));
 *   MK_TRY(mk_client_request(c, "GET", "/v1/health", NULL, &r, err));
 * out:
 *   mk_client_response_clear(&r);
 *   mk_client_free(c);
 */
#ifndef MK_CLIENT_CLIENT_H
#define MK_CLIENT_CLIENT_H

#include <jansson.h>

#include "mkey/mkey.h"

#define MK_CLIENT_BODY_MAX ((size_t)8 << 20) /* response and request bodies */
#define MK_CLIENT_URL_MAX 2048               /* base URL, and base URL + path */
#define MK_CLIENT_TOKEN_MAX 4096             /* bearer token */
#define MK_CLIENT_REQUEST_ID_MAX 128         /* X-Request-Id kept, with the NUL */
#define MK_CLIENT_TIMEOUT_MS_DEFAULT 30000L

typedef struct mk_client mk_client;

typedef struct mk_client_response {
  long status;                                /* HTTP status, 0 when none came */
  json_t *json;                               /* owned; NULL for an empty body */
  char request_id[MK_CLIENT_REQUEST_ID_MAX];  /* X-Request-Id, "" when absent */
} mk_client_response;

/*
 * Make a client for base_url: "http://" or "https://", a host, an optional
 * port and an optional path prefix (a reverse proxy's mount point); no user
 * info, query or fragment. Trailing slashes are dropped, so "http://h:8080/"
 * and "http://h:8080" are the same server. Nothing is sent. Caller frees *out
 * with mk_client_free; *out stays NULL on failure (MK_EINVAL for a bad URL).
 */
int mk_client_new(const char *base_url, mk_client **out, mk_err *e) MK_MUST_CHECK;

/* Release c and wipe its bearer token; c may be NULL. */
void mk_client_free(mk_client *c);

/* The normalised base URL (no trailing slash), valid while c lives. */
const char *mk_client_base_url(const mk_client *c);

/*
 * Send "Authorization: Bearer <token>" with every later request; token NULL
 * stops sending it. The previous token is wiped. A token is 1..4096 visible
 * ASCII characters (no space, so it cannot inject a header): MK_EINVAL else.
 */
int mk_client_set_bearer(mk_client *c, const char *token, mk_err *e) MK_MUST_CHECK;

/* Send "Mkey-Device: <device>" with every later request (the device an
 * account session is bound to); NULL stops it. 1..63 visible ASCII
 * characters, else MK_EINVAL. */
#define MK_CLIENT_DEVICE_MAX 64
int mk_client_set_device(mk_client *c, const char *device, mk_err *e) MK_MUST_CHECK;

/* Whole-request timeout; ms <= 0 restores the 30 s default. Connecting is
 * bounded by the smaller of this and 10 s. */
void mk_client_set_timeout_ms(mk_client *c, long ms);

/*
 * Send method path (path starts with "/", e.g. "/v1/certs?limit=10"; no ".."
 * segment, no control character, space or '#') with body as the JSON request
 * body (may be NULL). *out must be zeroed or hold an earlier response: it is
 * cleared first, then filled whenever an answer came, including on error.
 *
 * Returns 0 for a 2xx answer whose body is empty or JSON (application/json or
 * application/problem+json). Otherwise a negative code, message in e:
 *   MK_ENET     "cannot reach <base>: <curl's reason>" (connect, TLS, timeout)
 *   MK_ETOOBIG  the response body exceeded MK_CLIENT_BODY_MAX
 *   MK_EPROTO   a 2xx with another content type or invalid JSON, or a 3xx
 *   status >= 400: 400/422 MK_EINVAL, 401 MK_EAUTH, 403 MK_EPERM,
 *     404 MK_ENOTFOUND, 409 MK_ECONFLICT, 410 MK_EEXPIRED, 413 MK_ETOOBIG,
 *     423 MK_ELOCKED, 429 MK_ERATE, other 4xx MK_EINVAL, 5xx MK_EPROTO; the
 *     message is "<detail or title> (HTTP 404)" and out->json keeps the
 *     problem document so callers can read errors[].field.
 * Text taken from the server has control characters replaced, so it is safe
 * to print on a terminal.
 */
int mk_client_request(mk_client *c, const char *method, const char *path, const json_t *body,
                      mk_client_response *out, mk_err *e) MK_MUST_CHECK;

/* POST data (len bytes, e.g. an image) as the body with content_type, and
 * read a JSON answer as mk_client_request does. */
int mk_client_post_bytes(mk_client *c, const char *path, const char *content_type,
                         const void *data, size_t len, mk_client_response *out,
                         mk_err *e) MK_MUST_CHECK;

/* Release the JSON and reset r to empty; r may be NULL. */
void mk_client_response_clear(mk_client_response *r);

/*
 * GET path for a non-JSON download (PEM, DER, images): accept is sent as the
 * Accept header (may be NULL for any type). On a 2xx answer *out holds the
 * body (caller frees with free(); NUL-terminated one byte past *out_len).
 * Bodies over max bytes (at most MK_CLIENT_BODY_MAX) fail with MK_ETOOBIG.
 * Errors as for mk_client_request; *out stays NULL on failure.
 */
int mk_client_get_bytes(mk_client *c, const char *path, const char *accept, size_t max,
                        unsigned char **out, size_t *out_len, mk_err *e) MK_MUST_CHECK;

/* The mk_code for an HTTP error status (>= 300), as listed above. */
int mk_client_status_code(long status);

#endif
