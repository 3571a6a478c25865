/*
 * libmicrohttpd plumbing: one epoll thread pool, a request context per
 * request, bodies read into capped buffers, one problem+json for every
 * failure, and an access log line when the request completes. A long-poll
 * (GET /v1/messages?wait=) is suspended while it waits, holding a
 * connection but no thread, and resumed by the message notifier
 * (svc/message.c) on a post for its account, at its deadline, or when the
 * server stops.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include "api/api.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/guard.h"
#include "util/id.h"
#include "util/log.h"
#include "util/time.h"

#define TLS_FILE_MAX (256u * 1024)
/* A body that passes its cap is read and dropped up to this much more, so the
 * client can still be told 413; past it the connection is closed (a chunked
 * upload has no declared end, and libmicrohttpd cannot answer mid-body). */
#define DRAIN_MAX (4u << 20)

struct mk_server {
  const mk_config *cfg;
  mk_store *store;
  mk_kek *kek;
  struct MHD_Daemon *daemon;
  atomic_int in_flight; /* requests between first callback and completion */
  atomic_int stopping;  /* set by mk_server_stop: close connections, refuse new requests */
  unsigned port;
  int notifier;         /* holds a start of the long-poll notifier */
};

/* Per-request state, from the first access callback to completion. */
typedef struct reqctx {
  mk_req req;
  mk_buf body;
  char segbuf[MK_PATH_MAX];
  int64_t t0_ms;
  int status;       /* what was queued */
  int queued;       /* a response is queued (maybe early, e.g. 404/413) */
  int too_big;      /* the body passed the cap: answer 413 at the end */
  size_t drained;   /* bytes read and dropped after the cap or an early answer */
  char method[16];
  int stopping;     /* the server is draining: ask the client to close */
  const mk_resp *extra; /* while queueing a handler's answer: its extra headers */
  mk_server *srv;
  struct {                /* a long-poll (mk_api_poll_begin / _park) */
    int64_t deadline_ms;  /* mk_time_mono_ms; 0 until the handler first asks */
    char key[MK_ID_MAX];  /* the account it waits for */
    uint64_t version;     /* the key's notifier version the handler read under */
    int park;             /* the handler asked to wait */
    int failed;           /* waiting failed once: answer at once from now on */
    mk_svc_watch *watch;  /* while suspended (and until the next run) */
  } poll;
} reqctx;

static int valid_request_id(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > MK_REQUEST_ID_MAX)
    return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '_' || c == '.'))
      return 0;
  }
  return 1;
}

int mk_api_resp_header(mk_resp *resp, const char *name, const char *value, mk_err *e) {
  for (size_t i = 0; i < sizeof resp->headers / sizeof resp->headers[0]; i++) {
    if (resp->headers[i].name != NULL)
      continue;
    resp->headers[i].value = strdup(value);
    if (resp->headers[i].value == NULL)
      return mk_err_set(e, MK_ENOMEM, "out of memory");
    resp->headers[i].name = name;
    return 0;
  }
  return mk_err_set(e, MK_ETOOBIG, "too many response headers");
}

static void resp_headers_free(mk_resp *resp) {
  for (size_t i = 0; i < sizeof resp->headers / sizeof resp->headers[0]; i++) {
    free(resp->headers[i].value);
    resp->headers[i].value = NULL;
    resp->headers[i].name = NULL;
  }
}

static void add_common_headers(struct MHD_Response *r, const reqctx *ctx) {
  MHD_add_response_header(r, "X-Request-Id", ctx->req.request_id);
  if (ctx->extra != NULL)
    for (size_t i = 0; i < sizeof ctx->extra->headers / sizeof ctx->extra->headers[0]; i++)
      if (ctx->extra->headers[i].name != NULL)
        MHD_add_response_header(r, ctx->extra->headers[i].name, ctx->extra->headers[i].value);
  if (ctx->stopping)
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
  MHD_add_response_header(r, "Cache-Control", "no-store");
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
}

/* Queue bytes (taken: freed by MHD with free()) with a content type. */
static enum MHD_Result queue_bytes(reqctx *ctx, int status, char *data, size_t len,
                                   enum MHD_ResponseMemoryMode mode, const char *ctype,
                                   const char *allow) {
  struct MHD_Response *r = MHD_create_response_from_buffer(len, data, mode);
  if (r == NULL) {
    if (mode == MHD_RESPMEM_MUST_FREE)
      free(data);
    return MHD_NO;
  }
  add_common_headers(r, ctx);
  MHD_add_response_header(r, "Content-Type", ctype);
  if (allow != NULL)
    MHD_add_response_header(r, "Allow", allow);
  if (status == 401)
    MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
  enum MHD_Result ret = MHD_queue_response(ctx->req.conn, (unsigned)status, r);
  MHD_destroy_response(r);
  ctx->queued = 1;
  ctx->status = status;
  return ret;
}

static enum MHD_Result queue_json(reqctx *ctx, int status, json_t *v, const char *ctype,
                                  const char *allow) {
  char *text = v ? mk_json_dump(v) : NULL;
  json_decref(v);
  if (text == NULL) {
    static char oom[] = "{\"type\":\"/problems/internal\",\"title\":\"Internal error\","
                        "\"status\":500}";
    return queue_bytes(ctx, 500, oom, sizeof oom - 1, MHD_RESPMEM_PERSISTENT,
                       "application/problem+json", NULL);
  }
  return queue_bytes(ctx, status, text, strlen(text), MHD_RESPMEM_MUST_FREE, ctype, allow);
}

static enum MHD_Result queue_problem(reqctx *ctx, int status, const char *type, const char *title,
                                     const char *detail, const char *field, const char *allow) {
  json_t *p = mk_problem_new(status, type, title, detail, field, ctx->req.request_id);
  return queue_json(ctx, status, p, "application/problem+json", allow);
}

/* The error from a handler, as problem+json. Internal failures are logged
 * with their message and answered without it: it may describe internals. */
static enum MHD_Result queue_error(reqctx *ctx, const mk_err *e) {
  int status;
  const char *type, *title;
  mk_problem_for_code(e->code, &status, &type, &title);
  const char *detail = e->msg;
  if (ctx->req.problem_type != NULL) {
    type = ctx->req.problem_type;
    if (strcmp(type, "/problems/malformed-json") == 0) {
      status = 400;
      title = "The request body is not valid JSON";
    } else if (strcmp(type, "/problems/unsupported-media-type") == 0) {
      status = 415;
      title = "Unsupported media type";
    } else if (strcmp(type, "/problems/bad-request") == 0) {
      status = 400;
      title = "Bad request";
    }
  }
  if (status >= 500) {
    mk_log(MK_LOG_ERROR, "http.error", "{s:s,s:s}", "err", mk_code_name(e->code), "detail",
           e->msg);
    if (status == 500)
      detail = "internal error; quote the request id when reporting it";
  }
  return queue_problem(ctx, status, type, title, detail, ctx->req.problem_field, NULL);
}

/* "Bearer <token>" (RFC 6750 §2.1), or NULL. */
static const char *bearer(mk_req *req) {
  const char *h = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Authorization");
  if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
    return NULL;
  h += 7;
  while (*h == ' ')
    h++;
  return h;
}

const char *mk_api_header(mk_req *req, const char *name) {
  return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}
#define header mk_api_header

static int authenticate(mk_req *req, mk_err *e) {
  switch (req->route->auth) {
  case MK_AUTH_PUBLIC:
    return 0;
  case MK_AUTH_OPERATOR:
    return mk_svc_operator_check(&req->svc, bearer(req), e);
  case MK_AUTH_ACCOUNT:
    return mk_svc_session_check(&req->svc, MK_SESSION_ACCOUNT, bearer(req),
                                header(req, "Mkey-Device"), 0, NULL, e);
  case MK_AUTH_CA_OPERATOR: {
    /* mkey ca sends a bearer token; the web console a cookie, with the
     * CSRF token on every method that may change something. */
    if (bearer(req) != NULL)
      return mk_svc_session_check(&req->svc, MK_SESSION_CA_OPERATOR, bearer(req), NULL, 0, NULL,
                                  e);
    const char *cookie =
        MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, "mkey_console");
    int safe = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    return mk_svc_session_check(&req->svc, MK_SESSION_CONSOLE, cookie, NULL, !safe,
                                header(req, "X-CSRF-Token"), e);
  }
  default:
    return mk_err_set(e, MK_EINTERNAL, "route has an unknown auth rule");
  }
}

int mk_api_poll_begin(mk_req *req, const char *key, int wait_s, uint64_t *version) {
  reqctx *ctx = (reqctx *)(void *)req; /* req is reqctx's first member */
  if (ctx->poll.failed || atomic_load(&ctx->srv->stopping) || key == NULL ||
      strlen(key) >= sizeof ctx->poll.key || wait_s <= 0)
    return 0;
  if (ctx->poll.deadline_ms == 0)
    ctx->poll.deadline_ms = ctx->t0_ms + (int64_t)wait_s * 1000;
  if (mk_time_mono_ms() >= ctx->poll.deadline_ms)
    return 0;
  snprintf(ctx->poll.key, sizeof ctx->poll.key, "%s", key);
  *version = mk_svc_message_version(key);
  return 1;
}

int mk_api_poll_park(mk_req *req, uint64_t version, mk_err *e) {
  reqctx *ctx = (reqctx *)(void *)req;
  if (ctx->poll.key[0] == '\0')
    return mk_err_set(e, MK_EINTERNAL, "a long-poll parks after mk_api_poll_begin");
  ctx->poll.park = 1;
  ctx->poll.version = version;
  return 0;
}

/* The notifier's call (any thread): the connection is suspended until now. */
static void poll_resume(void *arg) {
  reqctx *ctx = arg;
  MHD_resume_connection(ctx->req.conn);
}

/* Suspend the request until its watch fires; the handler runs again then. */
static enum MHD_Result poll_suspend(mk_server *srv, reqctx *ctx) {
  mk_err e;
  mk_err_clear(&e);
  MHD_suspend_connection(ctx->req.conn);
  if (mk_svc_message_watch(ctx->poll.key, ctx->poll.version, ctx->poll.deadline_ms, srv,
                           poll_resume, ctx, &ctx->poll.watch, &e) < 0) {
    mk_log(MK_LOG_WARN, "http.long_poll", "{s:s}", "detail", e.msg);
    ctx->poll.failed = 1;
    MHD_resume_connection(ctx->req.conn);
    return MHD_YES;
  }
  /* mk_server_stop sets stopping, then wakes every watch: one registered
   * after that sees the flag here. */
  if (atomic_load(&srv->stopping))
    mk_svc_message_fire(ctx->poll.watch);
  return MHD_YES;
}

static enum MHD_Result dispatch(mk_server *srv, reqctx *ctx) {
  mk_resp resp = {0};
  mk_err e;
  mk_err_clear(&e);
  mk_log_set_request_id(ctx->req.request_id);
  ctx->req.body = ctx->body.len > 0 ? ctx->body.data : NULL;
  ctx->req.body_len = ctx->body.len;
  /* A long-poll runs again after it waited: start from the same caller. */
  ctx->req.svc.caller = (mk_caller){.request_id = ctx->req.request_id, .remote = ctx->req.remote};
  ctx->req.problem_field[0] = '\0';
  ctx->req.problem_type = NULL;
  int rc = authenticate(&ctx->req, &e);
  if (rc == 0)
    rc = ctx->req.route->fn(&ctx->req, &resp, &e);
  /* The handler's transactions are over: wake whoever waits for the
   * messages it posted. */
  mk_svc_message_flush();
  if (rc == 0 && ctx->poll.park) {
    ctx->poll.park = 0;
    json_decref(resp.json);
    free(resp.raw_owned);
    resp_headers_free(&resp);
    mk_log_set_request_id(NULL);
    return poll_suspend(srv, ctx);
  }
  ctx->poll.park = 0;
  enum MHD_Result ret;
  if (rc == 0)
    ctx->extra = &resp;
  if (rc < 0) {
    json_decref(resp.json);
    free(resp.raw_owned);
    if (e.code == MK_OK)
      mk_err_set(&e, rc, "%s", mk_code_name(rc));
    ret = queue_error(ctx, &e);
  } else if (resp.raw_owned != NULL) {
    ret = queue_bytes(ctx, resp.status ? resp.status : 200, (char *)resp.raw_owned, resp.raw_len,
                      MHD_RESPMEM_MUST_FREE, resp.content_type ? resp.content_type
                                                               : "application/octet-stream",
                      NULL);
  } else if (resp.raw != NULL) {
    ret = queue_bytes(ctx, resp.status ? resp.status : 200, (char *)resp.raw, resp.raw_len,
                      MHD_RESPMEM_PERSISTENT, resp.content_type ? resp.content_type
                                                                : "application/octet-stream",
                      NULL);
  } else if (resp.json == NULL) {
    ret = queue_bytes(ctx, 204, (char *)"", 0, MHD_RESPMEM_PERSISTENT, "application/json", NULL);
  } else {
    ret = queue_json(ctx, resp.status ? resp.status : 200, resp.json,
                     resp.content_type ? resp.content_type : "application/json", NULL);
  }
  ctx->extra = NULL;
  resp_headers_free(&resp);
  mk_log_set_request_id(NULL);
  return ret;
}

static void remote_text(struct MHD_Connection *conn, char *out, size_t cap) {
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  out[0] = '\0';
  if (ci == NULL || ci->client_addr == NULL)
    return;
  const struct sockaddr *sa = ci->client_addr;
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, (socklen_t)cap);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out, (socklen_t)cap);
}

static enum MHD_Result on_first_call(mk_server *srv, struct MHD_Connection *conn, const char *url,
                                     const char *method, void **con_cls) {
  reqctx *ctx = calloc(1, sizeof *ctx);
  if (ctx == NULL)
    return MHD_NO;
  *con_cls = ctx;
  atomic_fetch_add(&srv->in_flight, 1);
  ctx->srv = srv;
  ctx->t0_ms = mk_time_mono_ms();
  ctx->req.conn = conn;
  snprintf(ctx->method, sizeof ctx->method, "%s", method);
  ctx->req.method = ctx->method;
  const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
  if (rid != NULL && valid_request_id(rid)) {
    snprintf(ctx->req.request_id, sizeof ctx->req.request_id, "%s", rid);
  } else if (mk_id_new(ctx->req.request_id, "req", NULL) < 0) {
    return MHD_NO;
  }
  remote_text(conn, ctx->req.remote, sizeof ctx->req.remote);
  ctx->stopping = atomic_load(&srv->stopping);
  ctx->req.svc.store = srv->store;
  ctx->req.svc.kek = srv->kek;
  ctx->req.svc.cfg = srv->cfg;
  ctx->req.svc.now = mk_time_now;
  ctx->req.svc.caller.request_id = ctx->req.request_id;
  ctx->req.svc.caller.remote = ctx->req.remote;

  if (ctx->stopping)
    return queue_problem(ctx, 503, "/problems/shutting-down", "The server is shutting down",
                         "retry shortly", NULL, NULL);
  char allow[128];
  int m = mk_router_match(mk_api_routes(), method, url, ctx->segbuf, sizeof ctx->segbuf,
                          &ctx->req.route, ctx->req.params, &ctx->req.nparams, allow, sizeof allow);
  ctx->req.path = url;
  if (m == MK_ETOOBIG)
    return queue_problem(ctx, 414, "/problems/uri-too-long", "The request path is too long",
                         NULL, NULL, NULL);
  if (m == MK_ROUTE_NO_PATH)
    return queue_problem(ctx, 404, "/problems/not-found", "Not found",
                         "no such resource", NULL, NULL);
  if (m == MK_ROUTE_NO_METHOD)
    return queue_problem(ctx, 405, "/problems/method-not-allowed", "Method not allowed",
                         "this resource accepts only the methods in the Allow header", NULL, allow);

  size_t cap = ctx->req.route->body_max ? ctx->req.route->body_max : srv->cfg->body_max;
  mk_buf_init_secret(&ctx->body, cap); /* bodies carry PIN proofs and codes */
  /* Refuse a declared oversize body before reading any of it. */
  const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
  if (cl != NULL) {
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(cl, &end, 10);
    if (errno != 0 || end == cl || n > cap) {
      char detail[96];
      snprintf(detail, sizeof detail, "the body may be at most %zu bytes", cap);
      return queue_problem(ctx, 413, "/problems/too-large", "The request is too large", detail,
                           NULL, NULL);
    }
  }
  return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
  mk_server *srv = cls;
  (void)version;
  if (*con_cls == NULL)
    return on_first_call(srv, conn, url, method, con_cls);
  reqctx *ctx = *con_cls;
  if (ctx->poll.watch != NULL) { /* resumed after a wait */
    mk_svc_message_unwatch(ctx->poll.watch);
    ctx->poll.watch = NULL;
    ctx->stopping = atomic_load(&srv->stopping);
  }
  if (*upload_data_size > 0) {
    /* After an early answer (or past the cap) the rest is read and dropped,
     * up to DRAIN_MAX; then the connection is closed. */
    if (ctx->queued || ctx->too_big ||
        mk_buf_append(&ctx->body, upload_data, *upload_data_size, NULL) < 0) {
      ctx->too_big = !ctx->queued;
      ctx->drained += *upload_data_size;
      if (ctx->drained > DRAIN_MAX)
        return MHD_NO;
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (ctx->queued)
    return MHD_YES;
  if (ctx->too_big) {
    char detail[96];
    snprintf(detail, sizeof detail, "the body may be at most %zu bytes", ctx->body.max);
    return queue_problem(ctx, 413, "/problems/too-large", "The request is too large", detail,
                         NULL, NULL);
  }
  return dispatch(srv, ctx);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  mk_server *srv = cls;
  reqctx *ctx = *con_cls;
  (void)conn;
  if (ctx == NULL)
    return;
  /* Path only: query strings may carry codes or tokens and are not logged. */
  char path[MK_PATH_MAX + 64], method[sizeof ctx->method * 3];
  mk_log_clean(ctx->req.path, path, sizeof path);
  mk_log_clean(ctx->method, method, sizeof method);
  mk_log_set_request_id(ctx->req.request_id);
  mk_log(MK_LOG_INFO, "http.access", "{s:s,s:s,s:i,s:I,s:I,s:s,s:b}", "method", method, "path",
         path, "status", ctx->status, "ms", (json_int_t)(mk_time_mono_ms() - ctx->t0_ms), "bytes_in",
         (json_int_t)ctx->body.len, "remote", ctx->req.remote, "completed",
         toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
  mk_log_set_request_id(NULL);
  mk_svc_message_unwatch(ctx->poll.watch);
  mk_buf_free(&ctx->body);
  free(ctx);
  *con_cls = NULL;
  atomic_fetch_sub(&srv->in_flight, 1);
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt,
                                                            va_list ap) {
  char msg[256], clean[256 * 3];
  (void)cls;
  vsnprintf(msg, sizeof msg, fmt, ap);
  size_t n = strlen(msg);
  while (n > 0 && msg[n - 1] == '\n')
    msg[--n] = '\0';
  mk_log(MK_LOG_WARN, "http.mhd", "{s:s}", "detail", mk_log_clean(msg, clean, sizeof clean));
}

int mk_api_body_object(mk_req *req, json_t **out, mk_err *e) {
  const char *ct = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Content-Type");
  size_t cap = req->route->body_max ? req->route->body_max : req->svc.cfg->body_max;
  /* "application/json" with optional parameters (charset=utf-8). */
  if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
      (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ')) {
    req->problem_type = "/problems/unsupported-media-type";
    return mk_err_set(e, MK_EINVAL, "send the body as application/json");
  }
  int rc = mk_json_parse_object(req->body ? req->body : (const unsigned char *)"",
                                req->body_len, cap, out, e);
  if (rc == MK_EINVAL)
    req->problem_type = "/problems/malformed-json";
  return rc;
}

const char *mk_api_query(mk_req *req, const char *name) {
  return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

int mk_server_start(const mk_config *cfg, mk_store *store, mk_kek *kek, mk_server **out,
                    mk_err *e) {
  int rc = 0;
  mk_server *srv = calloc(1, sizeof *srv);
  MK_ENSURE_ALLOC(srv, e);
  srv->cfg = cfg;
  srv->store = store;
  srv->kek = kek;
  atomic_init(&srv->in_flight, 0);
  atomic_init(&srv->stopping, 0);
  mk_buf cert, key;
  mk_buf_init_secret(&cert, TLS_FILE_MAX);
  mk_buf_init_secret(&key, TLS_FILE_MAX);

  char host[64];
  unsigned port;
  MK_TRY(mk_config_listen_addr(cfg, host, sizeof host, &port, e));
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
  struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
  } else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)port);
    flags |= MHD_USE_IPv6;
  } else {
    MK_FAIL(MK_EINVAL, e, "listen address '%s' is not an IPv4 or IPv6 address", host);
  }
  if (cfg->tls_cert[0] != '\0') {
    MK_ENSURE(MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES, MK_EINVAL, e,
              "this libmicrohttpd has no TLS support");
    MK_TRY(mk_file_read_capped(cfg->tls_cert, TLS_FILE_MAX, 0, &cert, e));
    /* The key file must be private to this user, like every key of ours. */
    MK_TRY(mk_file_read_capped(cfg->tls_key, TLS_FILE_MAX, MK_FILE_PRIVATE, &key, e));
    flags |= MHD_USE_TLS;
  }
  /* libmicrohttpd hands both to GnuTLS while it starts, which keeps its own
   * copies: ours are wiped as soon as the daemon runs. */
  struct MHD_OptionItem tls_opts[] = {
      {MHD_OPTION_HTTPS_MEM_CERT, 0, cert.data},
      {MHD_OPTION_HTTPS_MEM_KEY, 0, key.data},
      {MHD_OPTION_END, 0, NULL},
  };
  struct MHD_OptionItem no_opts[] = {{MHD_OPTION_END, 0, NULL}};
  MK_TRY(mk_svc_message_notifier_start(e));
  srv->notifier = 1;
  srv->daemon = MHD_start_daemon(
      flags, 0, NULL, NULL, on_request, srv,
      MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv, /* first, so it sees every message */
      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
      MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024,
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)256,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
      MHD_OPTION_ARRAY, cert.data != NULL ? tls_opts : no_opts,
      MHD_OPTION_END);
  MK_ENSURE(srv->daemon != NULL, MK_EIO, e, "cannot listen on %s (in use, or not allowed?)",
            cfg->listen);
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
  srv->port = di ? di->port : port;
  *out = srv;
  srv = NULL;
out:
  mk_buf_free(&cert);
  mk_buf_free(&key);
  if (srv != NULL)
    mk_server_stop(srv, 0);
  return rc;
}

unsigned mk_server_port(const mk_server *s) { return s->port; }

void mk_server_stop(mk_server *s, int grace_ms) {
  if (s == NULL)
    return;
  if (s->daemon != NULL) {
    /* Stop accepting; requests already in flight may finish, answers ask
     * keep-alive clients to close, and new requests on open connections are
     * refused with 503. */
    atomic_store(&s->stopping, 1);
    mk_svc_message_wake_owner(s); /* waiting long-polls answer now */
    MHD_socket lsock = MHD_quiesce_daemon(s->daemon);
    if (lsock != MHD_INVALID_SOCKET)
      close(lsock);
    int64_t deadline = mk_time_mono_ms() + grace_ms;
    while (atomic_load(&s->in_flight) > 0 && mk_time_mono_ms() < deadline)
      usleep(10 * 1000);
    if (atomic_load(&s->in_flight) > 0)
      mk_log(MK_LOG_WARN, "server.stop", "{s:i}", "abandoned_requests", atomic_load(&s->in_flight));
    /* libmicrohttpd must not stop with a suspended connection: every
     * watch of ours has fired (stopping is set) and so resumed its own. */
    MHD_stop_daemon(s->daemon);
  }
  if (s->notifier)
    mk_svc_message_notifier_stop();
  free(s);
}
