/*
 * mk_client against a canned HTTP server: a thread on 127.0.0.1:<ephemeral>
 * that answers each connection with one fixed response and keeps the last
 * request it read, so tests check both directions without mkeyd.
 */
#include "mk_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/client.h"

#define REQ_MAX 16384

struct canned {
  int fd; /* listening socket */
  int port;
  pthread_t thread;
  char *response; /* owned */
  size_t response_len;
  int answers; /* connections to serve before the thread ends */
  int silent;  /* read the request, answer nothing, wait for the client to go */
  int running; /* thread started and not joined */
  char request[REQ_MAX];
  size_t request_len;
};

/* A complete response; body_len lets a test send a body larger than a C
 * string would hold comfortably. content_length 0 omits the header so the
 * body ends with the connection. */
static char *make_response(int status, const char *ctype, const char *extra, const char *body,
                           size_t body_len, int content_length, size_t *out_len) {
  char head[1024];
  int n = snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nConnection: close\r\n%s%s%s%s", status,
                   ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "",
                   extra ? extra : "");
  assert_true(n > 0 && (size_t)n < sizeof head);
  if (content_length) {
    int m = snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %zu\r\n", body_len);
    assert_true(m > 0);
    n += m;
  }
  assert_true((size_t)n + 2 < sizeof head);
  memcpy(head + n, "\r\n", 3);
  n += 2;
  char *r = malloc((size_t)n + body_len + 1);
  assert_non_null(r);
  memcpy(r, head, (size_t)n);
  if (body_len > 0)
    memcpy(r + n, body, body_len);
  r[(size_t)n + body_len] = '\0';
  *out_len = (size_t)n + body_len;
  return r;
}

/* Read headers, then Content-Length bytes of body, into s->request. */
static void read_request(struct canned *s, int fd) {
  s->request_len = 0;
  size_t want = 0;
  int have_head = 0;
  while (s->request_len < sizeof s->request - 1) {
    ssize_t n = recv(fd, s->request + s->request_len, sizeof s->request - 1 - s->request_len, 0);
    if (n <= 0)
      break;
    s->request_len += (size_t)n;
    s->request[s->request_len] = '\0';
    char *end = strstr(s->request, "\r\n\r\n");
    if (end != NULL && !have_head) {
      have_head = 1;
      const char *cl = strcasestr(s->request, "\r\nContent-Length:");
      size_t body = cl != NULL && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
      want = (size_t)(end + 4 - s->request) + body;
    }
    if (have_head && s->request_len >= want)
      break;
  }
  s->request[s->request_len] = '\0';
}

static void *serve(void *arg) {
  struct canned *s = arg;
  for (int i = 0; i < s->answers; i++) {
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    if (poll(&p, 1, 10000) != 1) /* a test that never connects must not hang */
      break;
    int fd = accept(s->fd, NULL, NULL);
    if (fd < 0)
      break;
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    read_request(s, fd);
    if (s->silent) {
      char c;
      while (recv(fd, &c, 1, 0) > 0) {
      }
    } else {
      size_t off = 0;
      while (off < s->response_len) {
        ssize_t n = send(fd, s->response + off, s->response_len - off, MSG_NOSIGNAL);
        if (n <= 0)
          break; /* the client gave up, as an over-cap test expects */
        off += (size_t)n;
      }
      shutdown(fd, SHUT_WR);
    }
    close(fd);
  }
  return NULL;
}

static int listen_any(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

static struct canned *server_start(char *response, size_t response_len, int answers) {
  struct canned *s = calloc(1, sizeof *s);
  assert_non_null(s);
  s->response = response;
  s->response_len = response_len;
  s->answers = answers;
  s->fd = listen_any(&s->port);
  assert_int_equal(listen(s->fd, 8), 0);
  assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
  s->running = 1;
  return s;
}

/* Wait until the server has answered: s->request then holds the last request. */
static void server_wait(struct canned *s) {
  if (s->running)
    pthread_join(s->thread, NULL);
  s->running = 0;
}

/* Serve `answers` more connections on the same port. */
static void server_again(struct canned *s, int answers) {
  server_wait(s);
  s->answers = answers;
  assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
  s->running = 1;
}

static struct canned *serve_json(int status, const char *ctype, const char *extra,
                                 const char *body, int answers) {
  size_t len;
  char *r = make_response(status, ctype, extra, body, strlen(body), 1, &len);
  return server_start(r, len, answers);
}

static void server_stop(struct canned *s) {
  server_wait(s);
  close(s->fd);
  free(s->response);
  free(s);
}

static mk_client *client_for(const struct canned *s) {
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", s->port);
  mk_client *c = NULL;
  mk_err e = {0};
  assert_mk_ok(mk_client_new(url, &c, &e));
  mk_client_set_timeout_ms(c, 5000);
  return c;
}

/* ---- URL and argument checks (no network) --------------------------------- */

static void test_client_url_accepted(void **state) {
  static const char *const cases[][2] = {
      {"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
      {"http://127.0.0.1:8080/", "http://127.0.0.1:8080"},
      {"https://mkey.example.com//", "https://mkey.example.com"},
      {"https://proxy.example.com/mkey/", "https://proxy.example.com/mkey"},
      {"http://[::1]:8080", "http://[::1]:8080"},
      {"HTTPS://Example.com", "HTTPS://Example.com"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    mk_client *c = NULL;
    mk_err e = {0};
    assert_mk_ok(mk_client_new(cases[i][0], &c, &e));
    assert_string_equal(mk_client_base_url(c), cases[i][1]);
    mk_client_free(c);
  }
  mk_client_free(NULL);
}

static void test_client_url_rejected(void **state) {
  static const char *const bad[] = {
      "",
      "ftp://example.com",
      "file:///etc/passwd",
      "127.0.0.1:8080",
      "http://",
      "http:///v1",
      "http://user:pw@example.com",
      "http://example.com@evil.example",
      "http://example.com/?q=1",
      "http://example.com/#top",
      "http://example.com/a/../b",
      "http://example.com/%2e%2E/b",
      "http://exa mple.com",
      "http://example.com\r\nX: y",
      "http://example.com:99999",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    mk_client *c = (mk_client *)&c; /* must be reset to NULL */
    mk_err e = {0};
    int rc = mk_client_new(bad[i], &c, &e);
    if (rc != MK_EINVAL)
      fail_msg("accepted '%s'", bad[i]);
    assert_null(c);
    assert_true(e.msg[0] != '\0');
  }
}

static void test_client_path_rejected(void **state) {
  static const char *const bad[] = {
      "v1/health", "//evil.example/v1", "/v1/../admin", "/v1/%2E%2e/admin", "/v1/./x",
      "/v1/a b",   "/v1/x\r\nX-Evil: 1", "/v1/x#frag", "/v1/\\x",
  };
  mk_client *c = NULL;
  mk_client_response r = {0};
  mk_err e = {0};
  assert_mk_ok(mk_client_new("http://127.0.0.1:1", &c, &e));
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_mk_fails(mk_client_request(c, "GET", bad[i], NULL, &r, &e), MK_EINVAL);
  assert_mk_fails(mk_client_request(c, "TRACE", "/v1/health", NULL, &r, &e), MK_EINVAL);
  assert_int_equal(r.status, 0);
  mk_client_free(c);
}

static void test_client_bearer_rejected(void **state) {
  mk_client *c = NULL;
  mk_err e = {0};
  char big[MK_CLIENT_TOKEN_MAX + 2];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_mk_ok(mk_client_new("http://127.0.0.1:1", &c, &e));
  assert_mk_fails(mk_client_set_bearer(c, "", &e), MK_EINVAL);
  assert_mk_fails(mk_client_set_bearer(c, "a b", &e), MK_EINVAL);
  assert_mk_fails(mk_client_set_bearer(c, "tok\r\nX-Evil: 1", &e), MK_EINVAL);
  assert_mk_fails(mk_client_set_bearer(c, big, &e), MK_EINVAL);
  big[MK_CLIENT_TOKEN_MAX] = '\0';
  assert_mk_ok(mk_client_set_bearer(c, big, &e));
  mk_client_free(c);
}

static void test_client_status_map(void **state) {
  static const struct { long status; int code; } map[] = {
      {400, MK_EINVAL},    {401, MK_EAUTH},    {403, MK_EPERM},  {404, MK_ENOTFOUND},
      {409, MK_ECONFLICT}, {410, MK_EEXPIRED}, {413, MK_ETOOBIG}, {418, MK_EINVAL},
      {422, MK_EINVAL},    {423, MK_ELOCKED},  {429, MK_ERATE},  {500, MK_EPROTO},
      {503, MK_EPROTO},    {302, MK_EPROTO},
  };
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    assert_int_equal(mk_client_status_code(map[i].status), map[i].code);
}

/* ---- exchanges with the canned server --------------------------------------- */

static void test_client_ok_json(void **state) {
  struct canned *s = serve_json(200, "application/json; charset=utf-8", "X-Request-Id: req_7f3a\r\n",
                                "{\"status\":\"ok\",\"store\":\"ok\"}", 1);
  mk_client *c = client_for(s);
  mk_client_response r = {0};
  mk_err e = {0};
  assert_mk_ok(mk_client_request(c, "GET", "/v1/health", NULL, &r, &e));
  assert_int_equal(r.status, 200);
  assert_string_equal(r.request_id, "req_7f3a");
  assert_string_equal(json_string_value(json_object_get(r.json, "status")), "ok");
  server_wait(s);
  assert_non_null(strstr(s->request, "GET /v1/health HTTP/1.1\r\n"));
  assert_non_null(strstr(s->request, "\r\nUser-Agent: mkey/"));
  mk_client_response_clear(&r);
  assert_null(r.json);
  assert_int_equal(r.status, 0);
  mk_client_free(c);
  server_stop(s);
}

static void test_client_request_headers(void **state) {
  struct canned *s = serve_json(201, "application/json", NULL, "{\"id\":\"acc_1\"}", 1);
  mk_client *c = client_for(s);
  mk_client_response r = {0};
  mk_err e = {0};
  json_t *body = json_pack("{s:s}", "mobile", "13800138000");
  assert_non_null(body);
  assert_mk_ok(mk_client_request(c, "POST", "/v1/accounts?x=1", body, &r, &e));
  assert_int_equal(r.status, 201);
  server_wait(s);
  assert_non_null(strstr(s->request, "POST /v1/accounts?x=1 HTTP/1.1\r\n"));
  assert_non_null(strcasestr(s->request, "\r\nContent-Type: application/json\r\n"));
  assert_non_null(strcasestr(s->request, "\r\nAccept: application/json, application/problem+json\r\n"));
  assert_non_null(strstr(s->request, "\r\n\r\n{\"mobile\":\"13800138000\"}"));
  assert_null(strcasestr(s->request, "Authorization:"));
  assert_null(strcasestr(s->request, "Expect:"));
  json_decref(body);
  mk_client_response_clear(&r);
  mk_client_free(c);
  server_stop(s);
}

static void test_client_bearer_sent(void **state) {
  struct canned *s = serve_json(200, "application/json", NULL, "{}", 1);
  mk_client *c = client_for(s);
  mk_client_response r = {0};
  mk_err e = {0};
  assert_mk_ok(mk_client_set_bearer(c, "tok_first", &e));
  assert_mk_ok(mk_client_set_bearer(c, "tok_2Yx.-_~+/=", &e)); /* replaces the first */
  assert_mk_ok(mk_client_request(c, "GET", "/v1/me", NULL, &r, &e));
  server_wait(s);
  assert_non_null(strstr(s->request, "\r\nAuthorization: Bearer tok_2Yx.-_~+/=\r\n"));
  assert_null(strstr(s->request, "tok_first"));

  /* Cleared: the next request carries no Authorization header. */
  server_again(s, 1);
  assert_mk_ok(mk_client_set_bearer(c, NULL, &e));
  assert_mk_ok(mk_client_request(c, "DELETE", "/v1/sessions/current", NULL, &r, &e));
  server_wait(s);
  assert_non_null(strstr(s->request, "DELETE /v1/sessions/current HTTP/1.1\r\n"));
  assert_null(strcasestr(s->request, "Authorization:"));
  mk_client_response_clear(&r);
  mk_client_free(c);
  server_stop(s);
}

static void test_client_empty_body(void **state) {
  struct canned *s = serve_json(204, NULL, NULL, "", 1);
  mk_client *c = client_for(s);
  mk_client_response r = {0};
  mk_err e = {0};
  assert_mk_ok(mk_client_request(c, "DELETE", "/v1/certs/crt_1", NULL, &r, &e));
  assert_int_equal(r.status, 204);
  assert_null(r.json);
  assert_string_equal(r.request_id, "");
  mk_client_free(c);
  server_stop(s);
}

static void test_client_problem_404(void **state) {
  struct canned *s = serve_json(
      404, "application/problem+json", "x-request-id: req_404\r\n",
      "{\"type\":\"/problems/not-found\",\"title\":\"Not found\",\"status\":404,"
      "\"detail\":\"certificate crt_9 not found\",\"errors\":[{\"field\":\"id\",\"detail\":\"unknown\"}]}",
      1);
  mk_client *c = client_for(s);
  mk_client_response r = {0};
  mk_err e = {0};
  assert_mk_fails(mk_client_request(c, "GET", "/v1/certs/crt_9", NULL, &r, &e), MK_ENOTFOUND);
  assert_int_equal(e.code, MK_ENOTFOUND);
  assert_string_equal(e.msg, "certificate crt_9 not found (HTTP 404)");
  assert_int_equal(r.status, 404);
  assert_string_equal(r.request_id, "req_404");
  json_t *err0 = json_array_get(json_object_get(r.json, "errors"), 0);
  assert_string_equal(json_string_value(json_object_get(err0, "field")), "id");
  mk_client_response_clear(&r);
  mk_client_free(c);
  server_stop(s);
}

static void test_client_problem_title_only(void **state) {
  struct canned *s = serve_json(423, "application/problem+json", NULL,
                                "{\"type\":\"/problems/pin-locked\",\"title\":\"PIN locked\",\"status\":423}", 1);
  mk_client *c = client_for(s);
  mk_client_response r = {0};
  mk_err e = {0};
  assert_mk_fails(mk_client_request(c, "POST", "/v1/keys/key_1/sign", NULL, &r, &e), MK_ELOCKED);
  assert_string_equal(e.msg, "PIN locked (HTTP 423)");
  mk_client_response_clear(&r);
  mk_client_free(c);
  server_stop(s);
}

static void test_client_problem_text_sanitised(void **state) {
  struct canned *s = serve_json(400, "application/problem+json", NULL,
                                "{\"title\":\"x\",\"detail\":\"bad\\u001b]0;pwned\\u0007 \\u009b31m name\"}", 1);
  mk_client *c = client_for(s);
  mk_client_response r = {0};
  mk_err e = {0};
  assert_mk_fails(mk_client_request(c, "GET", "/v1/me", NULL, &r, &e), MK_EINVAL);
  assert_string_equal(e.msg, "bad?]0;pwned? ??31m name (HTTP 400)");
  mk_client_response_clear(&r);
  mk_client_free(c);
  server_stop(s);
}

static void test_client_error_not_json(void **state) {
  struct canned *s = serve_json(502, "text/html", NULL, "<html>bad gateway</html>", 1);
  mk_client *c = client_for(s);
  mk_client_response r = {0};
  mk_err e = {0};
  assert_mk_fails(mk_client_request(c, "GET", "/v1/health", NULL, &r, &e), MK_EPROTO);
  assert_string_equal(e.msg, "Bad Gateway (HTTP 502)");
  assert_int_equal(r.status, 502);
  assert_null(r.json);
  mk_client_free(c);
  server_stop(s);
}

static void test_client_wrong_content_type(void **state) {
  struct canned *s = serve_json(200, "text/html", NULL, "<html>{}</html>", 1);
  mk_client *c = client_for(s);
  mk_client_response r = {0};
  mk_err e = {0};
  assert_mk_fails(mk_client_request(c, "GET", "/v1/health", NULL, &r, &e), MK_EPROTO);
  assert_non_null(strstr(e.msg, "'text/html', not JSON (HTTP 200)"));
  assert_null(r.json);
  mk_client_free(c);
  server_stop(s);

  /* "application/jsonx" is another type, not JSON with a suffix. */
  s = serve_json(200, "application/jsonx", NULL, "{}", 1);
  c = client_for(s);
  assert_mk_fails(mk_client_request(c, "GET", "/v1/health", NULL, &r, &e), MK_EPROTO);
  mk_client_free(c);
  server_stop(s);
}

static void test_client_invalid_json(void **state) {
  struct canned *s = serve_json(200, "application/json", NULL, "{\"status\":", 1);
  mk_client *c = client_for(s);
  mk_client_response r = {0};
  mk_err e = {0};
  assert_mk_fails(mk_client_request(c, "GET", "/v1/health", NULL, &r, &e), MK_EPROTO);
  assert_int_equal(e.code, MK_EPROTO);
  assert_non_null(strstr(e.msg, "invalid JSON from http://127.0.0.1:"));
  assert_null(r.json);
  mk_client_free(c);
  server_stop(s);
}

static void test_client_redirect_not_followed(void **state) {
  struct canned *s = serve_json(302, NULL, "Location: http://evil.example/v1/me\r\n", "", 1);
  mk_client *c = client_for(s);
  mk_client_response r = {0};
  mk_err e = {0};
  assert_mk_ok(mk_client_set_bearer(c, "tok_secret", &e));
  assert_mk_fails(mk_client_request(c, "GET", "/v1/me", NULL, &r, &e), MK_EPROTO);
  assert_int_equal(r.status, 302);
  mk_client_free(c);
  server_stop(s);
}

static void oversize(int content_length) {
  size_t body_len = MK_CLIENT_BODY_MAX + 1, len;
  char *body = malloc(body_len);
  assert_non_null(body);
  memset(body, ' ', body_len);
  body[0] = '[';
  char *resp = make_response(200, "application/json", NULL, body, body_len, content_length, &len);
  free(body);
  struct canned *s = server_start(resp, len, 1);
  mk_client *c = client_for(s);
  mk_client_response r = {0};
  mk_err e = {0};
  assert_mk_fails(mk_client_request(c, "GET", "/v1/big", NULL, &r, &e), MK_ETOOBIG);
  assert_non_null(strstr(e.msg, "over 8388608 bytes"));
  assert_null(r.json);
  mk_client_free(c);
  server_stop(s);
}

/* Declared length over the cap: refused before the body is read. */
static void test_client_oversize_declared(void **state) { oversize(1); }
/* No length, body until close: the running total trips the cap. */
static void test_client_oversize_streamed(void **state) { oversize(0); }

static void test_client_connection_refused(void **state) {
  int port;
  int fd = listen_any(&port); /* bound but not listening: connect is refused */
  char url[64], want[160];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
  snprintf(want, sizeof want, "cannot reach %s: Couldn't connect to server", url);
  mk_client *c = NULL;
  mk_client_response r = {0};
  mk_err e = {0};
  assert_mk_ok(mk_client_new(url, &c, &e));
  assert_mk_fails(mk_client_request(c, "GET", "/v1/health", NULL, &r, &e), MK_ENET);
  assert_string_equal(e.msg, want);
  assert_int_equal(r.status, 0);
  assert_null(r.json);
  mk_client_free(c);
  close(fd);
}

static void test_client_timeout(void **state) {
  struct canned *s = serve_json(200, "application/json", NULL, "{}", 1);
  s->silent = 1;
  mk_client *c = client_for(s);
  mk_client_response r = {0};
  mk_err e = {0};
  mk_client_set_timeout_ms(c, 300);
  assert_mk_fails(mk_client_request(c, "GET", "/v1/health", NULL, &r, &e), MK_ENET);
  assert_non_null(strstr(e.msg, "Timeout was reached"));
  mk_client_free(c);
  server_stop(s);
}

static void test_client_get_bytes(void **state) {
  static const char pem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  struct canned *s = serve_json(200, "application/x-pem-file", NULL, pem, 1);
  mk_client *c = client_for(s);
  mk_err e = {0};
  unsigned char *data = NULL;
  size_t len = 0;
  assert_mk_ok(mk_client_get_bytes(c, "/v1/certs/crt_1/pem", "application/x-pem-file",
                                   sizeof pem - 1, &data, &len, &e));
  assert_int_equal(len, sizeof pem - 1);
  assert_string_equal((char *)data, pem);
  free(data);
  server_wait(s);
  assert_non_null(strstr(s->request, "\r\nAccept: application/x-pem-file\r\n"));

  /* A cap one byte under the body: refused, nothing returned. */
  server_again(s, 1);
  assert_mk_fails(mk_client_get_bytes(c, "/v1/certs/crt_1/pem", NULL, sizeof pem - 2, &data,
                                      &len, &e), MK_ETOOBIG);
  assert_null(data);
  assert_int_equal(len, 0);
  mk_client_free(c);
  server_stop(s);
}

static void test_client_get_bytes_problem(void **state) {
  struct canned *s = serve_json(404, "application/problem+json", NULL,
                                "{\"title\":\"Not found\",\"detail\":\"no CRL for ca_x\"}", 1);
  mk_client *c = client_for(s);
  mk_err e = {0};
  unsigned char *data = NULL;
  size_t len = 0;
  assert_mk_fails(mk_client_get_bytes(c, "/v1/cas/ca_x/crl", "application/pkix-crl", 4096, &data,
                                      &len, &e), MK_ENOTFOUND);
  assert_string_equal(e.msg, "no CRL for ca_x (HTTP 404)");
  assert_null(data);
  mk_client_free(c);
  server_stop(s);
}

int main(void) {
  /* The canned server is local: never route it through a proxy. */
  unsetenv("http_proxy");
  unsetenv("HTTP_PROXY");
  unsetenv("https_proxy");
  unsetenv("HTTPS_PROXY");
  unsetenv("all_proxy");
  unsetenv("ALL_PROXY");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_client_url_accepted),
      cmocka_unit_test(test_client_url_rejected),
      cmocka_unit_test(test_client_path_rejected),
      cmocka_unit_test(test_client_bearer_rejected),
      cmocka_unit_test(test_client_status_map),
      cmocka_unit_test(test_client_ok_json),
      cmocka_unit_test(test_client_request_headers),
      cmocka_unit_test(test_client_bearer_sent),
      cmocka_unit_test(test_client_empty_body),
      cmocka_unit_test(test_client_problem_404),
      cmocka_unit_test(test_client_problem_title_only),
      cmocka_unit_test(test_client_problem_text_sanitised),
      cmocka_unit_test(test_client_error_not_json),
      cmocka_unit_test(test_client_wrong_content_type),
      cmocka_unit_test(test_client_invalid_json),
      cmocka_unit_test(test_client_redirect_not_followed),
      cmocka_unit_test(test_client_oversize_declared),
      cmocka_unit_test(test_client_oversize_streamed),
      cmocka_unit_test(test_client_connection_refused),
      cmocka_unit_test(test_client_timeout),
      cmocka_unit_test(test_client_get_bytes),
      cmocka_unit_test(test_client_get_bytes_problem),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
