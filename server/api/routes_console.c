/*
 * The CA web console (docs/console.md): its session routes under
 * /v1/console/ and its static pages under /console/, compiled into mkeyd
 * from web/console/. The page keeps the session in an HttpOnly, SameSite=
 * Strict cookie it cannot read, and the CSRF token that every change must
 * carry in sessionStorage.
 */
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "util/embed.h"
#include "util/guard.h"

extern const struct mk_embedded mk_console_files[];

#define COOKIE_NAME "mkey_console"
#define LOGIN_BODY_MAX (4 * 1024)

/* Every page of the console: nothing but its own files, no inline script
 * or style, images from itself or from blob: URLs it made, never framed. */
static const char csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' blob:; connect-src 'self'; object-src 'none'; "
                          "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/* The cookie is Secure whenever the browser reaches mkeyd over HTTPS: mkeyd
 * serves TLS itself, or its public URL is https (behind a TLS proxy). */
static int cookie_secure(const mk_req *req) {
  const mk_config *c = req->svc.cfg;
  return c != NULL &&
         (c->tls_cert[0] != '\0' || strncmp(c->public_url, "https://", 8) == 0);
}

static int set_cookie(mk_req *req, mk_resp *resp, const char *token, mk_err *e) {
  char v[160];
  int n;
  if (token != NULL)
    n = snprintf(v, sizeof v, COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Strict%s", token,
                 cookie_secure(req) ? "; Secure" : "");
  else
    n = snprintf(v, sizeof v, COOKIE_NAME "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s",
                 cookie_secure(req) ? "; Secure" : "");
  int rc = n > 0 && (size_t)n < sizeof v ? mk_api_resp_header(resp, "Set-Cookie", v, e)
                                         : mk_err_set(e, MK_EINTERNAL, "cookie too long");
  OPENSSL_cleanse(v, sizeof v);
  return rc;
}

/* Browsers say where a request comes from (Fetch Metadata); one started by
 * another site may not log in or take a CSRF token, whatever its cookie. */
static int same_site_only(mk_req *req, mk_err *e) {
  const char *site = mk_api_header(req, "Sec-Fetch-Site");
  if (site != NULL && strcmp(site, "same-origin") != 0)
    return mk_err_set(e, MK_EPERM, "the console accepts this only from its own pages");
  return 0;
}

/* POST /v1/console/session {username, password} */
static int post_session(mk_req *req, mk_resp *resp, mk_err *e) {
  static const char *const allowed[] = {"username", "password", NULL};
  int rc = 0;
  json_t *body = NULL, *out = NULL;
  char token[MK_SESSION_TOKEN_MAX] = "", csrf[MK_SESSION_TOKEN_MAX] = "";
  const char *username = NULL, *password = NULL;
  int64_t retry_after = 0;
  MK_TRY(same_site_only(req, e));
  MK_TRY(mk_api_body_object(req, &body, e));
  MK_TRY(mk_json_only_keys(body, allowed, req->problem_field, e));
  MK_TRY(mk_json_get_str(body, "username", 1, 64, &username, req->problem_field, e));
  MK_TRY(mk_json_get_str(body, "password", 1, 1024, &password, req->problem_field, e));
  rc = mk_svc_console_login(&req->svc, username, password, token, csrf, &out, &retry_after, e);
  if (rc == MK_ERATE) {
    /* Answered here rather than as an error, to say when to come back. */
    char secs[24];
    int status;
    const char *type, *title;
    mk_problem_for_code(MK_ERATE, &status, &type, &title);
    resp->json = mk_problem_new(status, type, title, e->msg, NULL, req->request_id);
    MK_ENSURE_ALLOC(resp->json, e);
    resp->status = status;
    resp->content_type = "application/problem+json";
    snprintf(secs, sizeof secs, "%lld", (long long)retry_after);
    rc = mk_api_resp_header(resp, "Retry-After", secs, e);
    goto out;
  }
  MK_TRY(rc);
  MK_TRY(set_cookie(req, resp, token, e));
  MK_ENSURE(json_object_set_new(out, "csrf_token", json_string(csrf)) == 0, MK_ENOMEM, e,
            "out of memory");
  resp->json = out;
  out = NULL;
  resp->status = 201;
out:
  if (password != NULL)
    OPENSSL_cleanse((char *)password, strlen(password));
  OPENSSL_cleanse(token, sizeof token);
  OPENSSL_cleanse(csrf, sizeof csrf);
  json_decref(out);
  json_decref(body);
  return rc;
}

/* GET /v1/console/session */
static int get_session(mk_req *req, mk_resp *resp, mk_err *e) {
  return mk_svc_console_session(&req->svc, &resp->json, e);
}

/* DELETE /v1/console/session: logout; the cookie is cleared. */
static int delete_session(mk_req *req, mk_resp *resp, mk_err *e) {
  int rc = 0;
  MK_TRY(mk_svc_session_end(&req->svc, e));
  MK_TRY(set_cookie(req, resp, NULL, e));
out:
  return rc;
}

/* POST /v1/console/session/csrf-token: a fresh CSRF token for the cookie's
 * session, for a page opened without one (a new tab). The cookie is checked
 * here, not by the route's rule, since the page has no CSRF token to send:
 * SameSite=Strict keeps the cookie off other sites' requests, Fetch
 * Metadata refuses them, and no other site can read the answer. */
static int post_csrf_token(mk_req *req, mk_resp *resp, mk_err *e) {
  int rc = 0;
  char csrf[MK_SESSION_TOKEN_MAX] = "";
  MK_TRY(same_site_only(req, e));
  const char *cookie = MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, COOKIE_NAME);
  MK_TRY(mk_svc_session_check(&req->svc, MK_SESSION_CONSOLE, cookie, NULL, 0, NULL, e));
  MK_TRY(mk_svc_console_csrf_renew(&req->svc, csrf, e));
  resp->json = json_pack("{s:s}", "csrf_token", csrf);
  MK_ENSURE_ALLOC(resp->json, e);
out:
  OPENSSL_cleanse(csrf, sizeof csrf);
  return rc;
}

/* ---- static pages ---- */

static const char *type_of(const char *name) {
  static const struct {
    const char *ext, *type;
  } types[] = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},   {".svg", "image/svg+xml"},
      {".png", "image/png"},                 {".ico", "image/x-icon"},
  };
  const char *dot = strrchr(name, '.');
  for (size_t i = 0; dot != NULL && i < sizeof types / sizeof types[0]; i++)
    if (strcmp(dot, types[i].ext) == 0)
      return types[i].type;
  return NULL;
}

/* One embedded file by its name: only the files web/console/ holds, so no
 * path can reach anything else ('/' never names one of them). */
static int serve_file(mk_req *req, mk_resp *resp, const char *name, mk_err *e) {
  int rc = 0;
  const char *type = type_of(name);
  const struct mk_embedded *f = NULL;
  if (type != NULL && name[0] != '.' && strchr(name, '/') == NULL)
    for (size_t i = 0; mk_console_files[i].name != NULL && f == NULL; i++)
      if (strcmp(mk_console_files[i].name, name) == 0)
        f = &mk_console_files[i];
  MK_ENSURE(f != NULL, MK_ENOTFOUND, e, "no such file in the console");
  MK_TRY(mk_api_resp_header(resp, "Content-Security-Policy", csp, e));
  MK_TRY(mk_api_resp_header(resp, "X-Frame-Options", "DENY", e));
  MK_TRY(mk_api_resp_header(resp, "Referrer-Policy", "no-referrer", e));
  resp->raw = f->data;
  resp->raw_len = f->len;
  resp->content_type = type;
  (void)req;
out:
  return rc;
}

/* GET /console: the pages' base is the directory. */
static int get_console_redirect(mk_req *req, mk_resp *resp, mk_err *e) {
  (void)req;
  resp->status = 308;
  resp->raw = (const unsigned char *)"";
  resp->raw_len = 0;
  resp->content_type = "text/plain; charset=utf-8";
  return mk_api_resp_header(resp, "Location", "/console/", e);
}

static int get_console_index(mk_req *req, mk_resp *resp, mk_err *e) {
  return serve_file(req, resp, "index.html", e);
}

static int get_console_file(mk_req *req, mk_resp *resp, mk_err *e) {
  return serve_file(req, resp, req->params[0], e);
}

const struct mk_route mk_routes_console[] = {
    {"POST", "/v1/console/session", post_session, LOGIN_BODY_MAX,
     "Log a CA operator in to the web console (cookie + CSRF token)", MK_AUTH_PUBLIC},
    {"GET", "/v1/console/session", get_session, 0, "Who is logged in to the console",
     MK_AUTH_CA_OPERATOR},
    {"DELETE", "/v1/console/session", delete_session, 0, "Log out of the console",
     MK_AUTH_CA_OPERATOR},
    {"POST", "/v1/console/session/csrf-token", post_csrf_token, 0,
     "A new CSRF token for the console cookie's session", MK_AUTH_PUBLIC},
    {"GET", "/console", get_console_redirect, 0, "The web console (redirects to /console/)",
     MK_AUTH_PUBLIC},
    {"GET", "/console/", get_console_index, 0, "The web console's page", MK_AUTH_PUBLIC},
    {"GET", "/console/{*file}", get_console_file, 0, "The web console's scripts and styles",
     MK_AUTH_PUBLIC},
    {NULL, NULL, NULL, 0, NULL, 0},
};
