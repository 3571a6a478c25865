/* WeChat OAuth providers: the sandbox and WeChat's token endpoint (wechat.h). */
#include "providers/wechat.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "providers/http.h"
#include "util/buf.h"
#include "util/enc.h"
#include "util/file.h"
#include "util/guard.h"

#define SANDBOX_OPENID_LABEL "mkey sandbox wechat openid v1:"
#define SECRET_FILE_MAX 256

static int chars_ok(const char *s, size_t min, size_t max, const char *extra) {
  size_t n = s ? strlen(s) : 0;
  if (n < min || n > max)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          strchr(extra, c) != NULL))
      return 0;
  }
  return 1;
}

int mk_wechat_code_valid(const char *s) { return chars_ok(s, 1, MK_WECHAT_CODE_MAX - 1, "-_"); }
int mk_wechat_user_valid(const char *s) { return chars_ok(s, 1, MK_WECHAT_USER_MAX - 1, "._-"); }

static int sha256_hex(const char *s, char hex[65], mk_err *e) {
  int rc = 0;
  unsigned char d[32];
  unsigned n = 0;
  MK_TRY_OSSL(EVP_Digest(s, strlen(s), d, &n, EVP_sha256(), NULL), e, "SHA-256");
  MK_TRY(mk_hex_encode(d, sizeof d, hex, 65, e));
out:
  return rc;
}

int mk_wechat_sandbox_openid(const char *user, char openid[MK_WECHAT_OPENID_MAX], mk_err *e) {
  int rc = 0;
  char in[sizeof SANDBOX_OPENID_LABEL + MK_WECHAT_USER_MAX], hex[65];
  MK_ENSURE(mk_wechat_user_valid(user), MK_EINVAL, e,
            "a sandbox WeChat user is 1 to 32 of A-Z, a-z, 0-9, '.', '_', '-'");
  snprintf(in, sizeof in, "%s%s", SANDBOX_OPENID_LABEL, user);
  MK_TRY(sha256_hex(in, hex, e));
  snprintf(openid, MK_WECHAT_OPENID_MAX, "osbx_%.24s", hex);
out:
  return rc;
}

int mk_wechat_sandbox_consent(mk_db *db, const char *user, int64_t now,
                              char code[MK_WECHAT_CODE_MAX], mk_err *e) {
  int rc = 0;
  mk_stmt *st = NULL;
  unsigned char raw[32];
  char hex[65];
  MK_ENSURE(mk_wechat_user_valid(user), MK_EINVAL, e,
            "a sandbox WeChat user is 1 to 32 of A-Z, a-z, 0-9, '.', '_', '-'");
  MK_ENSURE(mk_db_in_tx(db), MK_EINTERNAL, e, "sandbox consent needs a transaction");
  MK_TRY_OSSL(RAND_bytes(raw, sizeof raw), e, "authorization code");
  MK_TRY(mk_base64url_encode(raw, sizeof raw, code, MK_WECHAT_CODE_MAX, e));
  MK_TRY(sha256_hex(code, hex, e));
  MK_TRY(mk_db_prepare(db, "DELETE FROM wechat_sandbox_code WHERE expires_at <= $1", &st, e));
  MK_TRY(mk_stmt_bind_int(st, 1, now, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  MK_TRY(mk_db_prepare(db,
                       "INSERT INTO wechat_sandbox_code(code_sha256, user_name, expires_at) "
                       "VALUES ($1, $2, $3)",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, hex, e));
  MK_TRY(mk_stmt_bind_text(st, 2, user, e));
  MK_TRY(mk_stmt_bind_int(st, 3, now + MK_WECHAT_SANDBOX_CODE_TTL, e));
  MK_TRY(mk_stmt_step(st, e));
out:
  OPENSSL_cleanse(raw, sizeof raw);
  mk_stmt_finish(st);
  if (rc < 0)
    OPENSSL_cleanse(code, MK_WECHAT_CODE_MAX);
  return rc;
}

static int sandbox_exchange(const mk_config *cfg, mk_db *db, const char *code, int64_t now,
                            char openid[MK_WECHAT_OPENID_MAX], mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  char hex[65], user[MK_WECHAT_USER_MAX] = "";
  (void)cfg;
  MK_ENSURE(db != NULL && mk_db_in_tx(db), MK_EINTERNAL, e, "the sandbox needs a transaction");
  MK_ENSURE(mk_wechat_code_valid(code), MK_EAUTH, e, "the WeChat authorization code is not valid");
  MK_TRY(sha256_hex(code, hex, e));
  MK_TRY(mk_db_prepare(db,
                       "SELECT user_name FROM wechat_sandbox_code WHERE code_sha256 = $1 "
                       "AND used_at IS NULL AND expires_at > $2",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, hex, e));
  MK_TRY(mk_stmt_bind_int(st, 2, now, e));
  MK_TRY(found = mk_stmt_step(st, e));
  if (found)
    snprintf(user, sizeof user, "%s", mk_stmt_text(st, 0));
  mk_stmt_finish(st);
  st = NULL;
  MK_ENSURE(found, MK_EAUTH, e,
            "the WeChat authorization code is not valid (unknown, used or expired)");
  MK_TRY(mk_db_prepare(db, "UPDATE wechat_sandbox_code SET used_at = $1 WHERE code_sha256 = $2",
                       &st, e));
  MK_TRY(mk_stmt_bind_int(st, 1, now, e));
  MK_TRY(mk_stmt_bind_text(st, 2, hex, e));
  MK_TRY(mk_stmt_step(st, e));
  MK_TRY(mk_wechat_sandbox_openid(user, openid, e));
out:
  mk_stmt_finish(st);
  return rc;
}

/* Append s percent-encoded (RFC 3986 unreserved characters stay). */
static int query_append(mk_buf *b, const char *s, mk_err *e) {
  static const char hexd[] = "0123456789ABCDEF";
  int rc = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
    unsigned char c = *p;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      MK_TRY(mk_buf_append(b, p, 1, e));
    } else {
      char enc[3] = {'%', hexd[c >> 4], hexd[c & 15]};
      MK_TRY(mk_buf_append(b, enc, 3, e));
    }
  }
out:
  return rc;
}

/* WeChat answers JSON; the fields this needs are openid or errcode. */
int mk_wechat_token_answer(long status, const json_t *answer, char openid[MK_WECHAT_OPENID_MAX],
                           mk_err *e) {
  int rc = 0;
  MK_ENSURE(status == 200 && json_is_object(answer), MK_ENET, e,
            "the WeChat token endpoint failed (HTTP %ld)", status);
  json_int_t errcode = json_integer_value(json_object_get(answer, "errcode"));
  MK_ENSURE(errcode != 40029 && errcode != 40163, MK_EAUTH, e,
            "the WeChat authorization code is not valid (unknown, used or expired)");
  MK_ENSURE(errcode == 0, MK_ENET, e, "WeChat refused the exchange (errcode %lld)",
            (long long)errcode);
  const char *oid = json_string_value(json_object_get(answer, "openid"));
  MK_ENSURE(chars_ok(oid, 1, MK_WECHAT_OPENID_MAX - 1, "-_"), MK_EPROTO, e,
            "WeChat's answer has no valid openid");
  snprintf(openid, MK_WECHAT_OPENID_MAX, "%s", oid);
out:
  return rc;
}

static int http_exchange(const mk_config *cfg, mk_db *db, const char *code, int64_t now,
                         char openid[MK_WECHAT_OPENID_MAX], mk_err *e) {
  int rc = 0;
  mk_buf secret, url;
  char sec[SECRET_FILE_MAX];
  json_t *answer = NULL;
  long status = 0;
  (void)db;
  (void)now;
  sec[0] = '\0';
  mk_buf_init_secret(&secret, SECRET_FILE_MAX);
  mk_buf_init_secret(&url, 8192);
  MK_ENSURE(mk_wechat_code_valid(code), MK_EAUTH, e, "the WeChat authorization code is not valid");
  MK_TRY(mk_file_read_capped(cfg->wechat_secret_file, SECRET_FILE_MAX - 1, MK_FILE_PRIVATE,
                             &secret, e));
  size_t n = 0;
  while (n < secret.len && secret.data[n] != '\n' && secret.data[n] != '\r')
    n++;
  memcpy(sec, secret.data, n);
  sec[n] = '\0';
  MK_ENSURE(n > 0 && strlen(sec) == n, MK_EINVAL, e, "wechat_secret_file holds no secret");
  MK_TRY(mk_buf_append_str(&url, cfg->wechat_url, e));
  MK_TRY(mk_buf_append_str(&url, strchr(cfg->wechat_url, '?') ? "&appid=" : "?appid=", e));
  MK_TRY(query_append(&url, cfg->wechat_appid, e));
  MK_TRY(mk_buf_append_str(&url, "&secret=", e));
  MK_TRY(query_append(&url, sec, e));
  MK_TRY(mk_buf_append_str(&url, "&code=", e));
  MK_TRY(query_append(&url, code, e));
  MK_TRY(mk_buf_append(&url, "&grant_type=authorization_code", 31, e)); /* with the NUL */
  MK_TRY(mk_provider_http("GET", (const char *)url.data, NULL, &status, &answer, e));
  MK_TRY(mk_wechat_token_answer(status, answer, openid, e));
out:
  OPENSSL_cleanse(sec, sizeof sec);
  mk_buf_free_secret(&secret);
  mk_buf_free_secret(&url);
  json_decref(answer); /* holds an access token that is never used */
  return rc;
}

static const mk_wechat_provider providers[] = {
    {"sandbox", 1, sandbox_exchange},
    {"http", 0, http_exchange},
};

int mk_wechat_provider_get(const mk_config *cfg, const mk_wechat_provider **out, mk_err *e) {
  const char *name = cfg->wechat_provider;
  *out = NULL;
  if (name[0] == '\0')
    name = cfg->sandbox ? "sandbox" : "";
  /* The simulated WeChat never runs outside sandbox mode. */
  if (strcmp(name, "sandbox") == 0 && !cfg->sandbox)
    name = "";
  for (size_t i = 0; i < sizeof providers / sizeof providers[0]; i++)
    if (strcmp(providers[i].name, name) == 0) {
      *out = &providers[i];
      return 0;
    }
  return mk_err_set(e, MK_ENET, "WeChat login is not configured on this server (wechat_provider)");
}
