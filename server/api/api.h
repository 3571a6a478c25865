/*
 * mkeyd's HTTP layer: libmicrohttpd server, router, JSON in and out, RFC 9457
 * problem+json errors. Handlers are thin: they read the request, call svc,
 * and map the result. docs/api.md lists routes, problem types and limits.
 */
#ifndef MK_API_API_H
#define MK_API_API_H

#include <jansson.h>

#include "config.h"
#include "mkey/mkey.h"
#include "svc/svc.h"
#include "util/json.h"

#define MK_PATH_MAX 1024         /* longer request paths get 414 */
#define MK_ROUTE_PARAMS_MAX 4
#define MK_REQUEST_ID_MAX 64
#define MK_PARAM_MAX 128         /* bytes in one path parameter */

typedef struct mk_server mk_server;

typedef struct mk_req {
  const char *method;
  const char *path;
  const struct mk_route *route;
  const char *params[MK_ROUTE_PARAMS_MAX]; /* path parameters in pattern order */
  size_t nparams;
  const unsigned char *body; /* NUL-terminated; NULL when none */
  size_t body_len;
  char request_id[MK_REQUEST_ID_MAX + 1];
  char remote[64];
  struct MHD_Connection *conn;
  mk_svc_ctx svc;
  /* Set by a handler (or mk_api_body_object) to shape the problem when it
   * returns an error: the field that failed, and a problem type overriding
   * the one of the error code. */
  char problem_field[MK_JSON_FIELD_MAX];
  const char *problem_type;
} mk_req;

typedef struct mk_resp {
  int status;               /* 0 = 200 */
  json_t *json;             /* owned; sent as application/json */
  const char *content_type; /* with raw: the body's type */
  const unsigned char *raw; /* not owned: must outlive the request (embedded) */
  size_t raw_len;
  unsigned char *raw_owned; /* instead of raw: malloc'd, freed once sent or on error */
  /* Extra headers of a successful answer (Set-Cookie, Content-Security-
   * Policy, ...): name static, value malloc'd and freed by the server. */
  struct mk_resp_header {
    const char *name;
    char *value;
  } headers[4];
} mk_resp;

/* Add header name: value to resp (value copied). MK_ETOOBIG when full. */
int mk_api_resp_header(mk_resp *resp, const char *name, const char *value,
                       mk_err *e) MK_MUST_CHECK;

/* 0 with resp filled, or a negative MK_E* with the detail in e; the server
 * turns the error into problem+json. */
typedef int (*mk_handler_fn)(mk_req *req, mk_resp *resp, mk_err *e);

struct mk_route {
  const char *method;  /* "GET", "POST", ... (HEAD is served by GET routes) */
  const char *pattern; /* "/v1/cas/{id}/chain": a {name} matches one segment; a last
                          {*name} matches the rest of the path, '/' included */
  mk_handler_fn fn;
  size_t body_max;     /* 0: the configured default (1 MiB) */
  const char *summary;
  int auth;            /* enum mk_route_auth: who may call it */
};

/* Who may call a route; checked before the handler runs. Finer rules
 * (verified identity, admin of this enterprise, operator of this CA) are the
 * service's, against the object concerned. */
enum mk_route_auth {
  MK_AUTH_PUBLIC = 0,      /* anyone */
  MK_AUTH_OPERATOR = 1,    /* Authorization: Bearer <platform operator token> */
  MK_AUTH_ACCOUNT = 2,     /* Bearer <account session> + Mkey-Device: <device id> */
  MK_AUTH_CA_OPERATOR = 3, /* Bearer <CA operator session>, or the console cookie
                              (mkey_console) with X-CSRF-Token on every method but GET */
};

/* Route tables, each ending with {NULL}: one per area, listed in routes.c. */
extern const struct mk_route mk_routes_system[]; /* routes.c */
extern const struct mk_route mk_routes_ca[];     /* routes_ca.c */
extern const struct mk_route mk_routes_files[];  /* routes_files.c */
extern const struct mk_route mk_routes_account[]; /* routes_account.c */
extern const struct mk_route mk_routes_identity[]; /* routes_identity.c */
extern const struct mk_route mk_routes_org[];    /* routes_org.c */
extern const struct mk_route mk_routes_review[]; /* routes_review.c */
extern const struct mk_route mk_routes_console[]; /* routes_console.c */

/* Every route of every table, ending with {NULL}. */
const struct mk_route *mk_api_routes(void);
/* The OpenAPI document (openapi.json with server/api/openapi/ merged in);
 * *doc is static. */
int mk_api_openapi(const char **doc, size_t *len, mk_err *e) MK_MUST_CHECK;

/* ---- handlers of the CA registry (routes_ca.c) ---- */
int mk_api_cas_list(mk_req *req, mk_resp *resp, mk_err *e) MK_MUST_CHECK;
int mk_api_ca_chain(mk_req *req, mk_resp *resp, mk_err *e) MK_MUST_CHECK;
int mk_api_ca_crl(mk_req *req, mk_resp *resp, mk_err *e) MK_MUST_CHECK;
int mk_api_ca_ocsp_post(mk_req *req, mk_resp *resp, mk_err *e) MK_MUST_CHECK;
int mk_api_ca_ocsp_get(mk_req *req, mk_resp *resp, mk_err *e) MK_MUST_CHECK;
int mk_api_ca_issue(mk_req *req, mk_resp *resp, mk_err *e) MK_MUST_CHECK;
int mk_api_ca_revoke(mk_req *req, mk_resp *resp, mk_err *e) MK_MUST_CHECK;
int mk_api_ca_issue_enc(mk_req *req, mk_resp *resp, mk_err *e) MK_MUST_CHECK;
int mk_api_ca_recover(mk_req *req, mk_resp *resp, mk_err *e) MK_MUST_CHECK;

/* ---- router (router.c) ---- */
enum mk_route_result { MK_ROUTE_FOUND = 0, MK_ROUTE_NO_PATH = 1, MK_ROUTE_NO_METHOD = 2 };
/* Match method and path against routes. On FOUND, *route is set and params
 * point into segbuf (a working copy of the path, segcap bytes). On
 * NO_METHOD, allow lists the methods the path does accept ("GET, POST").
 * Returns MK_ETOOBIG when the path does not fit segbuf. */
int mk_router_match(const struct mk_route *routes, const char *method, const char *path,
                    char *segbuf, size_t segcap, const struct mk_route **route,
                    const char **params, size_t *nparams, char *allow, size_t allowcap);

/* ---- problems (problem.c) ---- */
/* Problem type of an error code: "/problems/<slug>", its status and title. */
void mk_problem_for_code(int code, int *status, const char **type, const char **title);
/* {"type","title","status","detail"[,"errors":[{"field","detail"}]],"request_id"};
 * field may be NULL or "". NULL when out of memory. */
json_t *mk_problem_new(int status, const char *type, const char *title, const char *detail,
                       const char *field, const char *request_id);
/* Append {"field","detail"} to problem's errors[]. */
int mk_problem_add_error(json_t *problem, const char *field, const char *detail);

/* ---- helpers for handlers (server.c) ---- */
/* Parse the body as a JSON object bounded by the route's cap. Wrong media type
 * → MK_EINVAL with type unsupported-media-type (415); bad JSON → malformed-json
 * (400). *out is owned by the caller. */
int mk_api_body_object(mk_req *req, json_t **out, mk_err *e) MK_MUST_CHECK;
/* The value of request header name, or NULL. */
const char *mk_api_header(mk_req *req, const char *name);
/* The value of query parameter name, or NULL. */
const char *mk_api_query(mk_req *req, const char *name);
/* Long-polls (docs/messages.md): begin, before reading the store, gives 1 and
 * key's notifier version while the request may still wait (wait_s seconds
 * from its arrival, server not stopping); park then makes the handler's 0
 * mean "no answer yet": the request waits, holding no thread, and the
 * handler runs again on a notification for key or at the deadline. */
int mk_api_poll_begin(mk_req *req, const char *key, int wait_s, uint64_t *version);
int mk_api_poll_park(mk_req *req, uint64_t version, mk_err *e) MK_MUST_CHECK;

/* ---- server (server.c) ---- */
/* Start listening with cfg, store and kek (all must outlive the server). */
int mk_server_start(const mk_config *cfg, mk_store *store, mk_kek *kek, mk_server **out,
                    mk_err *e) MK_MUST_CHECK;
/* The port actually bound (useful with port 0). */
unsigned mk_server_port(const mk_server *s);
/* Stop accepting, let in-flight requests finish (up to grace_ms), stop. */
void mk_server_stop(mk_server *s, int grace_ms);

#endif
