/*
 * Outbound HTTP for providers that call outside services (SMS gateway,
 * WeChat token endpoint): one libcurl exchange per call, http and https
 * only, no redirects, bounded time and answer size. Bodies carry codes, so
 * every buffer is wiped, and error messages never quote what was sent or
 * received.
 */
#ifndef MK_PROVIDERS_HTTP_H
#define MK_PROVIDERS_HTTP_H

#include <jansson.h>

#include "mkey/mkey.h"

#define MK_PROVIDER_HTTP_TIMEOUT_MS 10000L
#define MK_PROVIDER_HTTP_ANSWER_MAX (64u * 1024)

/* method "GET" or "POST" to url; body (may be NULL) is sent as
 * application/json. *status receives the HTTP status; *answer (may be NULL)
 * the answer parsed as JSON when it is JSON, else NULL (the caller's,
 * json_decref). Fails with MK_ENET when no complete answer came (the
 * message names the host), MK_ETOOBIG past MK_PROVIDER_HTTP_ANSWER_MAX. */
int mk_provider_http(const char *method, const char *url, const json_t *body, long *status,
                     json_t **answer, mk_err *e) MK_MUST_CHECK;

#endif
