/* libcurl for outbound provider calls; see http.h. */
#include "providers/http.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/guard.h"
#include "util/json.h"

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;
static void global_init(void) { global_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

struct sink {
  mk_buf body;
  int overflow;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg) {
  struct sink *s = arg;
  size_t len = size * n;
  if (mk_buf_append(&s->body, p, len, NULL) < 0) {
    s->overflow = 1;
    return 0;
  }
  return len;
}

/* "host" of url for messages: never the path or query, which may carry
 * a key or a code. */
static void host_of(const char *url, char *out, size_t cap) {
  const char *p = strstr(url, "://");
  p = p ? p + 3 : url;
  size_t n = strcspn(p, "/?#");
  snprintf(out, cap, "%.*s", (int)(n < 200 ? n : 200), p);
}

#define SETOPT(opt, val)                                                                  \
  do {                                                                                     \
    CURLcode setopt_rc_ = curl_easy_setopt(curl, (opt), (val));                            \
    MK_ENSURE(setopt_rc_ == CURLE_OK, MK_EINTERNAL, e, "curl option " #opt ": %s",         \
              curl_easy_strerror(setopt_rc_));                                             \
  } while (0)

int mk_provider_http(const char *method, const char *url, const json_t *body, long *status,
                     json_t **answer, mk_err *e) {
  int rc = 0;
  CURL *curl = NULL;
  struct curl_slist *hdrs = NULL, *l = NULL;
  char *text = NULL, *ctype = NULL, host[256];
  struct sink s = {.overflow = 0};
  mk_buf_init_secret(&s.body, MK_PROVIDER_HTTP_ANSWER_MAX);
  *status = 0;
  if (answer != NULL)
    *answer = NULL;
  host_of(url ? url : "", host, sizeof host);
  MK_ENSURE(url != NULL && (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0),
            MK_EINVAL, e, "a provider URL starts with http:// or https://");
  MK_ENSURE(strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0, MK_EINTERNAL, e,
            "provider calls are GET or POST");
  pthread_once(&global_once, global_init);
  MK_ENSURE(global_rc == CURLE_OK, MK_EINTERNAL, e, "cannot initialise libcurl");
  curl = curl_easy_init();
  MK_ENSURE(curl != NULL, MK_ENOMEM, e, "cannot make a curl handle");
  MK_ENSURE((l = curl_slist_append(hdrs, "Expect:")) != NULL, MK_ENOMEM, e, "out of memory");
  hdrs = l;
  MK_ENSURE((l = curl_slist_append(hdrs, "Accept: application/json")) != NULL, MK_ENOMEM, e,
            "out of memory");
  hdrs = l;
  SETOPT(CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
  SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
  SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
  SETOPT(CURLOPT_NOSIGNAL, 1L);
  SETOPT(CURLOPT_TIMEOUT_MS, MK_PROVIDER_HTTP_TIMEOUT_MS);
  SETOPT(CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  SETOPT(CURLOPT_USERAGENT, "mkeyd/" MKEY_VERSION);
  SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)MK_PROVIDER_HTTP_ANSWER_MAX);
  SETOPT(CURLOPT_WRITEFUNCTION, on_body);
  SETOPT(CURLOPT_WRITEDATA, &s);
  if (body != NULL) {
    text = mk_json_dump(body);
    MK_ENSURE_ALLOC(text, e);
    MK_ENSURE((l = curl_slist_append(hdrs, "Content-Type: application/json")) != NULL, MK_ENOMEM,
              e, "out of memory");
    hdrs = l;
    SETOPT(CURLOPT_POST, 1L);
    SETOPT(CURLOPT_POSTFIELDS, text);
    SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(text));
  } else if (strcmp(method, "POST") == 0) {
    SETOPT(CURLOPT_POST, 1L);
    SETOPT(CURLOPT_POSTFIELDS, "");
    SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
  } else {
    SETOPT(CURLOPT_HTTPGET, 1L);
  }
  SETOPT(CURLOPT_HTTPHEADER, hdrs);
  CURLcode cc = curl_easy_perform(curl);
  MK_ENSURE(!s.overflow && cc != CURLE_FILESIZE_EXCEEDED, MK_ETOOBIG, e,
            "the answer of %s is over %u bytes", host, MK_PROVIDER_HTTP_ANSWER_MAX);
  MK_ENSURE(cc == CURLE_OK, MK_ENET, e, "cannot reach %s: %s", host, curl_easy_strerror(cc));
  MK_ENSURE(curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status) == CURLE_OK, MK_EINTERNAL, e,
            "curl: no response code");
  if (answer != NULL && s.body.len > 0 &&
      curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK) {
    /* WeChat answers JSON as text/plain: try any body, keep what parses. */
    mk_err ignored;
    if (mk_json_parse(s.body.data, s.body.len, MK_PROVIDER_HTTP_ANSWER_MAX, answer, &ignored) < 0)
      *answer = NULL;
  }
out:
  if (curl != NULL)
    curl_easy_cleanup(curl);
  curl_slist_free_all(hdrs);
  if (text != NULL) {
    OPENSSL_cleanse(text, strlen(text));
    free(text);
  }
  mk_buf_free_secret(&s.body);
  return rc;
}
