/*
 * Real-name providers: the deterministic sandbox and the HTTP gateway
 * client. docs/identity.md has the sandbox rules and the gateway contract.
 */
#include "providers/realname.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/guard.h"
#include "util/json.h"

#define TOKEN_FILE_MAX 4096

struct mk_realname {
  int http;                 /* 0 sandbox, 1 http */
  char base[256];           /* gateway base URL (http); public URL (sandbox) */
  char token[TOKEN_FILE_MAX + 1]; /* bearer for the gateway; "" = none */
  long timeout_ms;
};

static const char *const method_names[] = {"cfca", "alipay", "bankcard"};

const char *mk_realname_method_name(int method) {
  return method >= 0 && method <= MK_REALNAME_BANKCARD ? method_names[method] : NULL;
}

int mk_realname_method_parse(const char *name) {
  for (int i = 0; name != NULL && i <= MK_REALNAME_BANKCARD; i++)
    if (strcmp(name, method_names[i]) == 0)
      return i;
  return -1;
}

const char *mk_realname_kind(const mk_realname *p) { return p->http ? "http" : "sandbox"; }

/* The token file holds one line: the bearer token (surrounding whitespace
 * dropped). It must be private (0600), like every secret file of mkeyd. */
static int load_token(mk_realname *p, const char *path, mk_err *e) {
  int rc = 0;
  mk_buf b;
  MK_TRY(mk_file_read_capped(path, TOKEN_FILE_MAX, MK_FILE_PRIVATE, &b, e));
  size_t s = 0, n = b.len;
  while (s < n && (b.data[s] == ' ' || b.data[s] == '\t' || b.data[s] == '\r' || b.data[s] == '\n'))
    s++;
  while (n > s && (b.data[n - 1] == ' ' || b.data[n - 1] == '\t' || b.data[n - 1] == '\r' ||
                   b.data[n - 1] == '\n'))
    n--;
  if (n == s) {
    mk_buf_free_secret(&b);
    MK_FAIL(MK_EINVAL, e, "realname_token_file is empty");
  }
  memcpy(p->token, b.data + s, n - s);
  p->token[n - s] = '\0';
  mk_buf_free_secret(&b);
out:
  if (rc < 0)
    mk_err_wrap(e, "realname_token_file");
  return rc;
}

int mk_realname_open(const mk_config *cfg, mk_realname **out, mk_err *e) {
  int rc = 0;
  mk_realname *p = NULL;
  *out = NULL;
  int http = strcmp(cfg->realname, "http") == 0 || (cfg->realname[0] == '\0' && !cfg->sandbox);
  MK_ENSURE(http || cfg->sandbox, MK_EINVAL, e,
            "the sandbox identity provider runs only in sandbox mode");
  MK_ENSURE(!http || cfg->realname_url[0] != '\0', MK_ENET, e,
            "no identity gateway is configured (realname_url)");
  p = calloc(1, sizeof *p);
  MK_ENSURE_ALLOC(p, e);
  p->http = http;
  p->timeout_ms = cfg->realname_timeout_ms > 0 ? cfg->realname_timeout_ms : 10000;
  snprintf(p->base, sizeof p->base, "%s", http ? cfg->realname_url : cfg->public_url);
  if (http && cfg->realname_token_file[0] != '\0')
    MK_TRY(load_token(p, cfg->realname_token_file, e));
  *out = p;
  p = NULL;
out:
  mk_realname_free(p);
  return rc;
}

void mk_realname_free(mk_realname *p) {
  if (p == NULL)
    return;
  OPENSSL_cleanse(p->token, sizeof p->token);
  free(p);
}

static void set_reason(char reason[MK_REALNAME_REASON_MAX], const char *text) {
  /* Cut at a character boundary: reasons are shown to users. */
  size_t n = strlen(text);
  if (n >= MK_REALNAME_REASON_MAX) {
    n = MK_REALNAME_REASON_MAX - 1;
    while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
      n--;
  }
  memcpy(reason, text, n);
  reason[n] = '\0';
}

/* ---- sandbox ---------------------------------------------------------- */

/* The rules every sandbox method shares: a name and a sequence code the
 * sandbox "does not find". 1 when refused (reason set). */
static int sandbox_refuses(const mk_realname_subject *s, char reason[MK_REALNAME_REASON_MAX]) {
  if (strcmp(s->name, MK_REALNAME_SANDBOX_REFUSED_NAME) == 0) {
    set_reason(reason, "姓名与身份证号不一致");
    return 1;
  }
  if (strlen(s->id_number) == 18 && memcmp(s->id_number + 14, "999", 3) == 0) {
    set_reason(reason, "身份证号查无此人");
    return 1;
  }
  return 0;
}

static int sandbox_check(int method, const mk_realname_subject *s, int *verdict,
                         char reason[MK_REALNAME_REASON_MAX]) {
  *verdict = MK_REALNAME_MATCH;
  reason[0] = '\0';
  if (sandbox_refuses(s, reason)) {
    *verdict = MK_REALNAME_MISMATCH;
  } else if (method == MK_REALNAME_BANKCARD && s->card_phone != NULL &&
             strcmp(s->card_phone, MK_REALNAME_SANDBOX_REFUSED_PHONE) == 0) {
    *verdict = MK_REALNAME_MISMATCH;
    set_reason(reason, "银行预留手机号不一致");
  }
  return 0;
}

/* ---- http gateway ----------------------------------------------------- */

static int gateway(mk_realname *p, const char *method, const char *path, const json_t *body,
                   mk_client_response *r, mk_err *e) {
  int rc = 0;
  mk_client *c = NULL;
  MK_TRY(mk_client_new(p->base, &c, e));
  mk_client_set_timeout_ms(c, p->timeout_ms);
  if (p->token[0] != '\0')
    MK_TRY(mk_client_set_bearer(c, p->token, e));
  rc = mk_client_request(c, method, path, body, r, e);
  if (rc < 0) {
    /* The gateway's refusals of our request are its failures, not the
     * user's: 502 upstream-failed, whatever status it chose. */
    if (rc != MK_ENET && rc != MK_EPROTO)
      rc = r->status >= 300 ? mk_err_set(e, MK_EPROTO, "identity gateway answered HTTP %ld", r->status)
                            : mk_err_set(e, MK_EPROTO, "identity gateway failed (%s)",
                                         mk_code_name(rc));
    else
      mk_err_wrap(e, "identity gateway");
    goto out;
  }
  MK_ENSURE(json_is_object(r->json), MK_EPROTO, e, "identity gateway: the answer is not an object");
out:
  mk_client_free(c);
  return rc;
}

/* {"result": "match" | "mismatch" [| "pending"], "reason": "..."}. */
int mk_realname_gateway_result(const json_t *ans, int allow_pending, int *verdict,
                               char reason[MK_REALNAME_REASON_MAX], mk_err *e) {
  const char *r = json_string_value(json_object_get(ans, "result"));
  const char *why = json_string_value(json_object_get(ans, "reason"));
  reason[0] = '\0';
  if (r != NULL && strcmp(r, "match") == 0) {
    *verdict = MK_REALNAME_MATCH;
    return 0;
  }
  if (r != NULL && strcmp(r, "mismatch") == 0) {
    *verdict = MK_REALNAME_MISMATCH;
    /* An empty or blank reason would show the user a refusal without one. */
    set_reason(reason, why != NULL && why[strspn(why, " ")] != '\0' &&
                               mk_utf8_valid_text(why, strlen(why), 0)
                           ? why
                           : "身份信息核验不通过");
    return 0;
  }
  if (allow_pending && r != NULL && strcmp(r, "pending") == 0) {
    *verdict = MK_REALNAME_PENDING;
    return 0;
  }
  return mk_err_set(e, MK_EPROTO, "identity gateway: unexpected result");
}

/* 1..128 unreserved characters: safe in a path and in our tables. */
static int ref_ok(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n >= MK_REALNAME_REF_MAX)
    return 0;
  return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~") == n;
}

/* {"result": "mismatch", "reason"} or {"certify_id", "url"}. */
int mk_realname_gateway_face_start(const json_t *ans, int *verdict,
                                   char reason[MK_REALNAME_REASON_MAX],
                                   char ref[MK_REALNAME_REF_MAX], char url[MK_REALNAME_URL_MAX],
                                   mk_err *e) {
  int rc = 0;
  reason[0] = ref[0] = url[0] = '\0';
  *verdict = MK_REALNAME_PENDING;
  if (json_object_get(ans, "result") != NULL) {
    MK_TRY(mk_realname_gateway_result(ans, 1, verdict, reason, e));
    MK_ENSURE(*verdict == MK_REALNAME_MISMATCH, MK_EPROTO, e,
              "identity gateway: a certification without an id");
    goto out;
  }
  const char *id = json_string_value(json_object_get(ans, "certify_id"));
  const char *u = json_string_value(json_object_get(ans, "url"));
  MK_ENSURE(ref_ok(id), MK_EPROTO, e, "identity gateway: bad certify_id");
  MK_ENSURE(u != NULL && strlen(u) < MK_REALNAME_URL_MAX &&
                (strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0 ||
                 strncmp(u, "alipays://", 10) == 0) &&
                mk_utf8_valid_text(u, strlen(u), 0) && strchr(u, ' ') == NULL,
            MK_EPROTO, e, "identity gateway: bad face url");
  snprintf(ref, MK_REALNAME_REF_MAX, "%s", id);
  snprintf(url, MK_REALNAME_URL_MAX, "%s", u);
out:
  return rc;
}

/* ---- the interface ---------------------------------------------------- */

int mk_realname_check(mk_realname *p, int method, const mk_realname_subject *s, int *verdict,
                      char reason[MK_REALNAME_REASON_MAX], mk_err *e) {
  int rc = 0;
  json_t *body = NULL;
  mk_client_response r = {0};
  MK_ENSURE(method == MK_REALNAME_CFCA || method == MK_REALNAME_BANKCARD, MK_EINTERNAL, e,
            "mk_realname_check takes cfca or bankcard");
  MK_ENSURE(method != MK_REALNAME_BANKCARD || (s->card_number != NULL && s->card_phone != NULL),
            MK_EINTERNAL, e, "a bank card check needs the card and its phone");
  if (!p->http)
    return sandbox_check(method, s, verdict, reason);
  if (method == MK_REALNAME_CFCA)
    body = json_pack("{s:s,s:s}", "name", s->name, "id_number", s->id_number);
  else
    body = json_pack("{s:s,s:s,s:s,s:s}", "name", s->name, "id_number", s->id_number,
                     "card_number", s->card_number, "phone", s->card_phone);
  MK_ENSURE_ALLOC(body, e);
  MK_TRY(gateway(p, "POST",
                 method == MK_REALNAME_CFCA ? "/v1/cfca-verifications" : "/v1/bankcard-verifications",
                 body, &r, e));
  MK_TRY(mk_realname_gateway_result(r.json, 0, verdict, reason, e));
out:
  json_decref(body);
  mk_client_response_clear(&r);
  return rc;
}

int mk_realname_face_start(mk_realname *p, const mk_realname_subject *s, const char *session_id,
                           int *verdict, char reason[MK_REALNAME_REASON_MAX],
                           char ref[MK_REALNAME_REF_MAX], char url[MK_REALNAME_URL_MAX],
                           mk_err *e) {
  int rc = 0;
  json_t *body = NULL;
  mk_client_response r = {0};
  reason[0] = ref[0] = url[0] = '\0';
  *verdict = MK_REALNAME_PENDING;
  if (!p->http) {
    if (sandbox_refuses(s, reason)) {
      *verdict = MK_REALNAME_MISMATCH;
      return 0;
    }
    /* The sandbox's "Alipay page" is mkeyd's own sandbox endpoint. */
    snprintf(ref, MK_REALNAME_REF_MAX, "%s", session_id);
    snprintf(url, MK_REALNAME_URL_MAX, "%s/v1/sandbox/face-sessions/%s", p->base, session_id);
    return 0;
  }
  body = json_pack("{s:s,s:s,s:s}", "name", s->name, "id_number", s->id_number, "outer_id",
                   session_id);
  MK_ENSURE_ALLOC(body, e);
  MK_TRY(gateway(p, "POST", "/v1/face-certifications", body, &r, e));
  MK_TRY(mk_realname_gateway_face_start(r.json, verdict, reason, ref, url, e));
out:
  json_decref(body);
  mk_client_response_clear(&r);
  return rc;
}

int mk_realname_face_result(mk_realname *p, const char *ref, const char *sandbox_outcome,
                            int *verdict, char reason[MK_REALNAME_REASON_MAX], mk_err *e) {
  int rc = 0;
  mk_client_response r = {0};
  char path[64 + MK_REALNAME_REF_MAX];
  reason[0] = '\0';
  if (!p->http) {
    *verdict = sandbox_outcome == NULL                ? MK_REALNAME_PENDING
               : strcmp(sandbox_outcome, "pass") == 0 ? MK_REALNAME_MATCH
                                                      : MK_REALNAME_MISMATCH;
    if (*verdict == MK_REALNAME_MISMATCH)
      set_reason(reason, "人脸比对不通过");
    return 0;
  }
  MK_ENSURE(ref_ok(ref), MK_EINTERNAL, e, "bad certification id");
  snprintf(path, sizeof path, "/v1/face-certifications/%s", ref);
  MK_TRY(gateway(p, "GET", path, NULL, &r, e));
  MK_TRY(mk_realname_gateway_result(r.json, 1, verdict, reason, e));
out:
  mk_client_response_clear(&r);
  return rc;
}
