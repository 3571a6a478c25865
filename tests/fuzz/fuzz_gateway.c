/*
 * What the http providers make of an outside gateway's answer body: the
 * identity gateway's (providers/realname.c; mk_client parses it, the
 * provider requires an object) and WeChat's token endpoint's
 * (providers/wechat.c; mk_provider_http parses any body, keeping what is
 * JSON). The SMS gateway's body is never read: only its status counts.
 * Whatever the body, a reader gives one of its documented outcomes, and
 * what it hands on (reason, certification id, face URL, openid) is bounded,
 * NUL-terminated and of the characters its contract allows.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/http.h"
#include "providers/realname.h"
#include "providers/wechat.h"
#include "util/json.h"

static int terminated(const char *s, size_t cap) { return memchr(s, '\0', cap) != NULL; }

static int only(const char *s, const char *set) { return strspn(s, set) == strlen(s); }

#define ID_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"

static void realname_result(const json_t *ans, int allow_pending) {
  int verdict = -1;
  char reason[MK_REALNAME_REASON_MAX];
  mk_err e;
  mk_err_clear(&e);
  memset(reason, 'x', sizeof reason);
  int rc = mk_realname_gateway_result(ans, allow_pending, &verdict, reason, &e);
  if (rc == MK_EPROTO && e.msg[0] != '\0')
    return;
  if (rc != 0 || !terminated(reason, sizeof reason))
    abort();
  switch (verdict) {
  case MK_REALNAME_MATCH:
    if (reason[0] != '\0')
      abort();
    break;
  case MK_REALNAME_MISMATCH:
    /* shown to the user: never blank, valid text, cut at a character */
    if (reason[strspn(reason, " ")] == '\0' || !mk_utf8_valid_text(reason, strlen(reason), 0))
      abort();
    break;
  case MK_REALNAME_PENDING:
    if (!allow_pending || reason[0] != '\0')
      abort();
    break;
  default:
    abort();
  }
}

static void realname_face_start(const json_t *ans) {
  int verdict = -1;
  char reason[MK_REALNAME_REASON_MAX], ref[MK_REALNAME_REF_MAX], url[MK_REALNAME_URL_MAX];
  mk_err e;
  mk_err_clear(&e);
  int rc = mk_realname_gateway_face_start(ans, &verdict, reason, ref, url, &e);
  if (rc == MK_EPROTO && e.msg[0] != '\0')
    return;
  if (rc != 0 || !terminated(reason, sizeof reason) || !terminated(ref, sizeof ref) ||
      !terminated(url, sizeof url))
    abort();
  if (verdict == MK_REALNAME_MISMATCH) {
    if (reason[strspn(reason, " ")] == '\0' || ref[0] != '\0' || url[0] != '\0')
      abort();
  } else if (verdict == MK_REALNAME_PENDING) {
    /* ref goes into a gateway path and our tables; url to the user's app */
    if (reason[0] != '\0' || ref[0] == '\0' || !only(ref, ID_CHARS ".~") ||
        strcmp(ref, json_string_value(json_object_get(ans, "certify_id"))) != 0)
      abort();
    if ((strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0 &&
         strncmp(url, "alipays://", 10) != 0) ||
        strchr(url, ' ') != NULL || !mk_utf8_valid_text(url, strlen(url), 0) ||
        strcmp(url, json_string_value(json_object_get(ans, "url"))) != 0)
      abort();
  } else {
    abort();
  }
}

static void wechat(long status, const json_t *answer) {
  char openid[MK_WECHAT_OPENID_MAX];
  mk_err e;
  mk_err_clear(&e);
  int rc = mk_wechat_token_answer(status, answer, openid, &e);
  if (rc == 0) {
    if (status != 200 || !terminated(openid, sizeof openid) || openid[0] == '\0' ||
        !only(openid, ID_CHARS) ||
        strcmp(openid, json_string_value(json_object_get(answer, "openid"))) != 0)
      abort();
    return;
  }
  if ((rc != MK_ENET && rc != MK_EAUTH && rc != MK_EPROTO) || e.msg[0] == '\0')
    abort();
  if (rc == MK_EAUTH && status != 200)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > MK_PROVIDER_HTTP_ANSWER_MAX)
    return 0;
  json_t *doc = NULL;
  mk_err e;
  /* Both callers parse with mk_json_parse; only the size cap differs. */
  if (mk_json_parse(data, size, MK_PROVIDER_HTTP_ANSWER_MAX, &doc, &e) < 0)
    doc = NULL;
  if (json_is_object(doc)) {
    realname_result(doc, 0);
    realname_result(doc, 1);
    realname_face_start(doc);
  }
  wechat(200, doc);
  wechat(502, doc);
  json_decref(doc);
  return 0;
}
