#include "pki/cmp.h"

#include <openssl/cmp.h>
#include <openssl/crmf.h>
#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/httperr.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <time.h>

#include "util/guard.h"
#include "util/utf8.h"

#define CONTENT_TYPE "application/pkixcmp" /* RFC 6712 §3.4 */
#define FAIL_BIT(name) (1 << OSSL_CMP_PKIFAILUREINFO_##name)

/* One transaction's state, reached from OpenSSL's callbacks through the
 * transfer callback's argument. */
struct session {
  const char *url;  /* cfg->url, for messages */
  char *host;       /* from OSSL_HTTP_parse_url; OPENSSL_free */
  char *port;
  char *path;
  mk_err *err;
  int transfer_rc;  /* set when an HTTP exchange failed; the detail is in err */
  int sent;         /* requests handed to the transport */
  int key_mismatch; /* the new certificate is for another public key */
  int wrong_sender; /* an answer came from another sender than srv_cert */
  int refused;      /* we refused the new certificate in certConf */
};

/* Set while a session runs; the log callback has no argument of its own. */
static _Thread_local struct session *current;

/* OpenSSL's CMP log names subjects (personal names, ID numbers in mkey's
 * certificates): nothing of it is printed or kept. One line is noted:
 * OpenSSL 3.0 drops an answer from another sender than the pinned server
 * certificate with this log line only, no error on the queue. */
static int quiet_log(const char *func, const char *file, int line, OSSL_CMP_severity level,
                     const char *msg) {
  if (current != NULL && msg != NULL && strstr(msg, "does not match expected sender") != NULL)
    current->wrong_sender = 1;
  return 1;
}

/* Copy outside text (a server's status string) into out as valid UTF-8
 * without control characters: those and malformed bytes become '?'. */
static void clean_text(const char *in, char *out, size_t cap) {
  size_t n = strlen(in), i = 0, o = 0;
  while (i < n && o + 1 < cap) {
    uint32_t cp;
    int k = mk_utf8_next((const unsigned char *)in + i, n - i, &cp);
    if (k < 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
      out[o++] = '?';
      i += k < 0 ? 1 : (size_t)k;
      continue;
    }
    if (o + (size_t)k >= cap)
      break;
    memcpy(out + o, in + i, (size_t)k);
    o += (size_t)k;
    i += (size_t)k;
  }
  out[o] = '\0';
}

/* The reason of a failed HTTP exchange, from OpenSSL's error queue (which
 * it clears): the system error when there is one ("Connection refused"),
 * else the first reason with its data. *http_reason is the first reason of
 * the HTTP library, or 0. */
static void http_reason(char *out, size_t cap, int *http_reason_out) {
  unsigned long err;
  const char *data = NULL;
  int flags = 0, have_sys = 0;
  *http_reason_out = 0;
  snprintf(out, cap, "no reason given");
  int first = 1;
  while ((err = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
    if (ERR_SYSTEM_ERROR(err)) {
      char sys[96];
      if (!have_sys) /* GNU strerror_r: _GNU_SOURCE is set for every target */
        snprintf(out, cap, "%s", strerror_r(ERR_GET_REASON(err), sys, sizeof sys));
      have_sys = 1;
      continue;
    }
    if (ERR_GET_LIB(err) == ERR_LIB_HTTP && *http_reason_out == 0)
      *http_reason_out = ERR_GET_REASON(err);
    if (first && !have_sys) {
      const char *r = ERR_reason_error_string(err);
      int with_data = data != NULL && (flags & ERR_TXT_STRING) && data[0] != '\0';
      snprintf(out, cap, "%s%s%s", r != NULL ? r : "unknown error", with_data ? ": " : "",
               with_data ? data : "");
    }
    first = 0;
  }
}

/* Map a failed OSSL_HTTP_transfer to a code and message in s->err. */
static int http_failure(struct session *s) {
  char reason[160], clean[160];
  int http;
  http_reason(reason, sizeof reason, &http);
  clean_text(reason, clean, sizeof clean);
  switch (http) {
  case HTTP_R_MAX_RESP_LEN_EXCEEDED:
  case HTTP_R_ASN1_LEN_EXCEEDS_MAX_RESP_LEN:
    return mk_err_set(s->err, MK_ETOOBIG, "the answer of the CMP server at %s is over %d bytes",
                      s->url, MK_PKI_CMP_RESP_MAX);
  case HTTP_R_RECEIVED_ERROR:
  case HTTP_R_STATUS_CODE_UNSUPPORTED:
  case HTTP_R_UNEXPECTED_CONTENT_TYPE:
  case HTTP_R_MISSING_CONTENT_TYPE:
  case HTTP_R_RESPONSE_PARSE_ERROR:
  case HTTP_R_HEADER_PARSE_ERROR:
  case HTTP_R_RESPONSE_LINE_TOO_LONG:
  case HTTP_R_RECEIVED_WRONG_HTTP_VERSION:
  case HTTP_R_MISSING_ASN1_ENCODING:
  case HTTP_R_ERROR_PARSING_ASN1_LENGTH:
  case HTTP_R_ERROR_PARSING_CONTENT_LENGTH:
  case HTTP_R_INCONSISTENT_CONTENT_LENGTH:
  case HTTP_R_MISSING_REDIRECT_LOCATION:
  case HTTP_R_REDIRECTION_NOT_ENABLED:
  case HTTP_R_TOO_MANY_REDIRECTIONS:
    return mk_err_set(s->err, MK_EPROTO, "the CMP server at %s answered no CMP message: %s",
                      s->url, clean);
  default:
    return mk_err_set(s->err, MK_ENET, "cannot reach the CMP server at %s: %s", s->url, clean);
  }
}

/* One TCP connection, tried once until deadline. OSSL_HTTP_transfer's own
 * connect retries a refused connection until its timeout, which would turn
 * "nothing listens there" into a wait of the whole message timeout. The
 * name lookup before it blocks outside the deadline (getaddrinfo).
 * Returns 0 with *out set, or the code with the detail in s->err. */
static int connect_once(struct session *s, time_t deadline, BIO **out) {
  BIO *b = BIO_new_connect(s->host);
  int rc = 0;
  if (b == NULL || BIO_set_conn_port(b, s->port) != 1 || BIO_set_nbio(b, 1) != 1) {
    rc = mk_err_ossl(s->err, MK_ECRYPTO, "CMP connection setup");
    goto out;
  }
  for (;;) {
    if (BIO_do_connect(b) > 0)
      break;
    if (!BIO_should_retry(b)) {
      rc = http_failure(s);
      goto out;
    }
    int r = BIO_wait(b, deadline, 50);
    if (r == 0) {
      ERR_clear_error();
      rc = mk_err_set(s->err, MK_ENET, "cannot reach the CMP server at %s: connection timed out",
                      s->url);
      goto out;
    }
    if (r < 0) {
      rc = http_failure(s);
      goto out;
    }
  }
  *out = b;
  b = NULL;
out:
  BIO_free_all(b);
  return rc;
}

/* OSSL_CMP transfer callback: one HTTP POST per message on a connection of
 * its own (RFC 6712), with our bound on the response instead of
 * OSSL_HTTP_DEFAULT_MAX_RESP_LEN, no proxy whatever http_proxy says, and
 * no keep-alive. */
static OSSL_CMP_MSG *transfer(OSSL_CMP_CTX *ctx, const OSSL_CMP_MSG *req) {
  struct session *s = OSSL_CMP_CTX_get_transfer_cb_arg(ctx);
  STACK_OF(CONF_VALUE) *headers = NULL;
  BIO *conn = NULL, *body = NULL, *rsp = NULL;
  OSSL_CMP_MSG *res = NULL;
  /* OpenSSL lowers this to what is left of the total timeout. */
  int timeout = OSSL_CMP_CTX_get_option(ctx, OSSL_CMP_OPT_MSG_TIMEOUT);
  time_t deadline = time(NULL) + (timeout > 0 ? timeout : MK_PKI_CMP_MSG_TIMEOUT);

  s->sent++;
  if (X509V3_add_value("Pragma", "no-cache", &headers) != 1 ||
      (body = BIO_new(BIO_s_mem())) == NULL || i2d_OSSL_CMP_MSG_bio(body, req) != 1) {
    s->transfer_rc = mk_err_ossl(s->err, MK_ECRYPTO, "encoding the CMP request");
    goto out;
  }
  if ((s->transfer_rc = connect_once(s, deadline, &conn)) != 0)
    goto out;
  time_t left = deadline - time(NULL);
  rsp = OSSL_HTTP_transfer(NULL, s->host, s->port, s->path, 0, NULL, NULL, conn, NULL, NULL,
                           NULL, 0, headers, CONTENT_TYPE, body, CONTENT_TYPE,
                           1 /* expect ASN.1 */, MK_PKI_CMP_RESP_MAX, left > 0 ? (int)left : 1,
                           0 /* no keep-alive */);
  if (rsp == NULL) {
    s->transfer_rc = http_failure(s);
    goto out;
  }
  res = d2i_OSSL_CMP_MSG_bio(rsp, NULL);
  if (res == NULL) {
    ERR_clear_error();
    s->transfer_rc = mk_err_set(s->err, MK_EPROTO,
                                "the CMP server at %s answered something that is not a CMP "
                                "message", s->url);
  }
out:
  BIO_free(rsp);
  BIO_free_all(conn);
  BIO_free(body);
  sk_CONF_VALUE_pop_free(headers, X509V3_conf_free);
  return res;
}

/* certConf callback: OpenSSL has already compared the new certificate's
 * key with ours (incorrectData when they differ); OSSL_CMP_certConf_cb
 * then validates it against issuer_trust (its callback argument) when one
 * is set. We only note why a certificate was refused. */
static int cert_conf(OSSL_CMP_CTX *ctx, X509 *cert, int fail_info, const char **text) {
  struct session *s = OSSL_CMP_CTX_get_transfer_cb_arg(ctx);
  if (fail_info & FAIL_BIT(incorrectData))
    s->key_mismatch = 1;
  fail_info = OSSL_CMP_certConf_cb(ctx, cert, fail_info, text);
  if (fail_info != 0)
    s->refused = 1;
  return fail_info;
}

static int is_protection_reason(int reason) {
  switch (reason) {
  case CMP_R_ERROR_VALIDATING_PROTECTION:
  case CMP_R_ERROR_VALIDATING_SIGNATURE:
  case CMP_R_WRONG_PBM_VALUE:
  case CMP_R_MISSING_PROTECTION:
  case CMP_R_SRVCERT_DOES_NOT_VALIDATE_MSG:
  case CMP_R_NO_SUITABLE_SENDER_CERT:
  case CMP_R_MISSING_TRUST_STORE:
  case CMP_R_MISSING_TRUST_ANCHOR:
  case CMP_R_MISSING_KEY_USAGE_DIGITALSIGNATURE:
  case CMP_R_WRONG_ALGORITHM_OID:
  case CMP_R_UNSUPPORTED_PROTECTION_ALG_DHBASEDMAC:
    return 1;
  default:
    return 0;
  }
}

/* Turn a failed OSSL_CMP_exec_* into a code and a message; what names the
 * request ("p10cr", "ir", "rr"). Clears OpenSSL's error queue. */
static int exec_failure(struct session *s, OSSL_CMP_CTX *ctx, const char *what, mk_err *e) {
  if (s->transfer_rc != 0) {
    ERR_clear_error();
    return s->transfer_rc;
  }
  unsigned long err, first = 0, protection = 0;
  int timeout = 0;
  while ((err = ERR_get_error()) != 0) {
    if (first == 0)
      first = err;
    if (ERR_GET_LIB(err) != ERR_LIB_CMP)
      continue;
    if (protection == 0 && is_protection_reason(ERR_GET_REASON(err)))
      protection = err;
    if (ERR_GET_REASON(err) == CMP_R_TOTAL_TIMEOUT)
      timeout = 1;
  }
  if (s->key_mismatch)
    return mk_err_set(e, MK_EPROTO,
                      "the CMP server returned a certificate for another public key; refused");
  if (s->refused)
    return mk_err_set(e, MK_EPROTO,
                      "the certificate from the CMP server does not validate against the "
                      "trusted issuers; refused");
  if (protection != 0 || s->wrong_sender) {
    const char *r = protection != 0 ? ERR_reason_error_string(protection) : NULL;
    return mk_err_set(e, MK_EAUTH,
                      "cannot authenticate the answer of the CMP server at %s: %s (check the "
                      "secret, reference, server certificate and trust anchors)",
                      s->url, r != NULL ? r : "it comes from another sender");
  }
  if (timeout)
    return mk_err_set(e, MK_ENET, "the CMP server at %s did not finish the %s in time",
                      s->url, what);
  int status = OSSL_CMP_CTX_get_status(ctx);
  if (status == OSSL_CMP_PKISTATUS_rejection || status == OSSL_CMP_PKISTATUS_waiting) {
    char raw[OSSL_CMP_PKISI_BUFLEN], text[OSSL_CMP_PKISI_BUFLEN];
    if (OSSL_CMP_CTX_snprint_PKIStatus(ctx, raw, sizeof raw) == NULL)
      snprintf(raw, sizeof raw, "PKIStatus %d", status);
    clean_text(raw, text, sizeof text);
    ERR_clear_error();
    int info = OSSL_CMP_CTX_get_failInfoCode(ctx);
    if (info > 0 && (info & (FAIL_BIT(badMessageCheck) | FAIL_BIT(wrongIntegrity) |
                             FAIL_BIT(notAuthorized) | FAIL_BIT(signerNotTrusted))))
      return mk_err_set(e, MK_EAUTH, "the CMP server refused our authentication: %s", text);
    return mk_err_set(e, MK_EPROTO, "the CMP server rejected the %s: %s", what, text);
  }
  const char *r = first != 0 ? ERR_reason_error_string(first) : NULL;
  if (s->sent == 0)
    return mk_err_set(e, MK_ECRYPTO, "cannot build the CMP %s: %s", what,
                      r != NULL ? r : "no reason given");
  return mk_err_set(e, MK_EPROTO, "unexpected answer from the CMP server at %s to the %s: %s",
                    s->url, what, r != NULL ? r : "no reason given");
}

static void session_close(struct session *s, OSSL_CMP_CTX *ctx) {
  current = NULL;
  OSSL_CMP_CTX_free(ctx);
  OPENSSL_free(s->host);
  OPENSSL_free(s->port);
  OPENSSL_free(s->path);
  memset(s, 0, sizeof *s);
}

static int check_config(const mk_pki_cmp_config *cfg, mk_err *e) {
  int rc = 0;
  MK_ENSURE(cfg != NULL && cfg->url != NULL, MK_EINVAL, e, "no CMP server URL");
  MK_ENSURE(strnlen(cfg->url, MK_PKI_CMP_URL_MAX) < MK_PKI_CMP_URL_MAX, MK_EINVAL, e,
            "CMP server URL over %d bytes", MK_PKI_CMP_URL_MAX - 1);
  int with_secret = cfg->secret != NULL, with_cert = cfg->cert != NULL || cfg->key != NULL;
  MK_ENSURE(with_secret != with_cert, MK_EINVAL, e,
            "CMP protection needs either a shared secret or a certificate and key");
  if (with_secret) {
    MK_ENSURE(cfg->secret_len > 0 && cfg->secret_len <= MK_PKI_CMP_SECRET_MAX, MK_EINVAL, e,
              "CMP shared secret must have 1 to %d bytes", MK_PKI_CMP_SECRET_MAX);
    MK_ENSURE(cfg->ref != NULL && cfg->ref[0] != '\0', MK_EINVAL, e,
              "CMP protection with a shared secret needs its reference");
  } else {
    MK_ENSURE(cfg->cert != NULL && cfg->key != NULL, MK_EINVAL, e,
              "CMP signature protection needs both a certificate and its key");
    MK_ENSURE(X509_check_private_key(cfg->cert, cfg->key) == 1, MK_EINVAL, e,
              "the CMP signing key does not match its certificate");
    MK_ENSURE(cfg->srv_cert != NULL || cfg->trusted != NULL, MK_EINVAL, e,
              "CMP signature protection needs the server certificate or trust anchors");
  }
  MK_ENSURE(cfg->ref == NULL || strnlen(cfg->ref, MK_PKI_CMP_REF_MAX + 1) <= MK_PKI_CMP_REF_MAX,
            MK_EINVAL, e, "CMP reference over %d bytes", MK_PKI_CMP_REF_MAX);
  MK_ENSURE(cfg->msg_timeout <= MK_PKI_CMP_TIMEOUT_MAX &&
                cfg->total_timeout <= MK_PKI_CMP_TIMEOUT_MAX,
            MK_EINVAL, e, "CMP timeouts are at most %d seconds", MK_PKI_CMP_TIMEOUT_MAX);
out:
  ERR_clear_error();
  return rc;
}

/* Parse cfg->url into s and make a CMP context set up from cfg, with our
 * transfer and certConf callbacks. On success the caller ends with
 * session_close(s, *ctx_out). */
static int session_open(struct session *s, const mk_pki_cmp_config *cfg, OSSL_CMP_CTX **ctx_out,
                        mk_err *e) {
  int rc = 0, tls = 0, port = 0;
  char *user = NULL, *query = NULL, *frag = NULL;
  OSSL_CMP_CTX *ctx = NULL;
  memset(s, 0, sizeof *s);
  *ctx_out = NULL;
  MK_TRY(check_config(cfg, e));
  s->url = cfg->url;
  s->err = e;
  if (OSSL_HTTP_parse_url(cfg->url, &tls, &user, &s->host, &s->port, &port, &s->path, &query,
                          &frag) != 1) {
    ERR_clear_error();
    MK_FAIL(MK_EINVAL, e, "CMP server URL is not an http:// URL");
  }
  /* CMP messages carry their own protection, so plain HTTP is the transfer
   * RFC 6712 describes; TLS would need a client TLS setup of its own. */
  MK_ENSURE(!tls && strncmp(cfg->url, "http://", 7) == 0, MK_EINVAL, e,
            "CMP server URL must start with http://");
  /* absent parts come back as empty strings */
  MK_ENSURE((user == NULL || user[0] == '\0') && (query == NULL || query[0] == '\0') &&
                (frag == NULL || frag[0] == '\0'),
            MK_EINVAL, e,
            "CMP server URL must not carry user, query or fragment");

  MK_TRY_PTR_OSSL(ctx, OSSL_CMP_CTX_new(NULL, NULL), e, "OSSL_CMP_CTX_new");
  MK_TRY_OSSL(OSSL_CMP_CTX_set_log_cb(ctx, quiet_log), e, "CMP log callback");
  /* the sender mismatch line (quiet_log) is logged at INFO */
  MK_TRY_OSSL(OSSL_CMP_CTX_set_log_verbosity(ctx, OSSL_CMP_LOG_INFO), e, "CMP log level");
  MK_TRY_OSSL(OSSL_CMP_CTX_set1_server(ctx, s->host), e, "CMP server");
  MK_TRY_OSSL(OSSL_CMP_CTX_set_serverPort(ctx, port), e, "CMP server port");
  MK_TRY_OSSL(OSSL_CMP_CTX_set1_serverPath(ctx, s->path), e, "CMP server path");
  MK_TRY_OSSL(OSSL_CMP_CTX_set_transfer_cb(ctx, transfer), e, "CMP transfer callback");
  MK_TRY_OSSL(OSSL_CMP_CTX_set_transfer_cb_arg(ctx, s), e, "CMP transfer callback");
  MK_TRY_OSSL(OSSL_CMP_CTX_set_certConf_cb(ctx, cert_conf), e, "CMP certConf callback");
  MK_TRY_OSSL(OSSL_CMP_CTX_set_certConf_cb_arg(ctx, cfg->issuer_trust), e,
              "CMP certConf callback");
  MK_TRY_OSSL(OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_MSG_TIMEOUT,
                                      cfg->msg_timeout ? (int)cfg->msg_timeout
                                                       : MK_PKI_CMP_MSG_TIMEOUT),
              e, "CMP message timeout");
  MK_TRY_OSSL(OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_TOTAL_TIMEOUT,
                                      cfg->total_timeout ? (int)cfg->total_timeout
                                                         : MK_PKI_CMP_TOTAL_TIMEOUT),
              e, "CMP total timeout");
  if (cfg->ref != NULL)
    MK_TRY_OSSL(OSSL_CMP_CTX_set1_referenceValue(ctx, (const unsigned char *)cfg->ref,
                                                 (int)strlen(cfg->ref)),
                e, "CMP reference");
  if (cfg->secret != NULL) {
    MK_TRY_OSSL(OSSL_CMP_CTX_set1_secretValue(ctx, cfg->secret, (int)cfg->secret_len), e,
                "CMP shared secret");
  } else {
    MK_TRY_OSSL(OSSL_CMP_CTX_set1_cert(ctx, cfg->cert), e, "CMP signing certificate");
    MK_TRY_OSSL(OSSL_CMP_CTX_set1_pkey(ctx, cfg->key), e, "CMP signing key");
    /* OpenSSL sends cert and the chain it builds from these in extraCerts. */
    if (cfg->cert_chain != NULL)
      MK_TRY_OSSL(OSSL_CMP_CTX_set1_untrusted(ctx, cfg->cert_chain), e, "CMP signing chain");
  }
  if (cfg->srv_cert != NULL)
    MK_TRY_OSSL(OSSL_CMP_CTX_set1_srvCert(ctx, cfg->srv_cert), e, "CMP server certificate");
  if (cfg->trusted != NULL) {
    MK_TRY_OSSL(X509_STORE_up_ref(cfg->trusted), e, "CMP trust anchors");
    if (OSSL_CMP_CTX_set0_trustedStore(ctx, cfg->trusted) != 1) {
      X509_STORE_free(cfg->trusted);
      rc = mk_err_ossl(e, MK_ECRYPTO, "CMP trust anchors");
      goto out;
    }
  }
  current = s;
  *ctx_out = ctx;
  ctx = NULL;
out:
  OPENSSL_free(user);
  OPENSSL_free(query);
  OPENSSL_free(frag);
  if (rc != 0)
    session_close(s, ctx);
  return rc;
}

int mk_pki_cmp_issue(const mk_pki_cmp_config *cfg, X509_REQ *csr, EVP_PKEY *ir_key,
                     X509 **cert_out, STACK_OF(X509) **chain_out, mk_err *e) {
  int rc = 0;
  struct session s;
  OSSL_CMP_CTX *ctx = NULL;
  X509 *cert = NULL;
  STACK_OF(X509) *chain = NULL;
  STACK_OF(X509_EXTENSION) *exts = NULL;
  const char *what = ir_key != NULL ? "ir" : "p10cr";
  memset(&s, 0, sizeof s);
  if (cert_out != NULL)
    *cert_out = NULL;
  if (chain_out != NULL)
    *chain_out = NULL;
  MK_ENSURE(csr != NULL && cert_out != NULL, MK_EINVAL, e,
            "no CSR or no place for the certificate");
  int der_len = i2d_X509_REQ(csr, NULL);
  MK_ENSURE(der_len > 0, MK_EINVAL, e, "the CSR cannot be encoded");
  MK_ENSURE(der_len <= MK_PKI_CMP_CSR_MAX, MK_ETOOBIG, e, "CSR over %d bytes", MK_PKI_CMP_CSR_MAX);
  EVP_PKEY *csr_key = X509_REQ_get0_pubkey(csr);
  MK_ENSURE(csr_key != NULL, MK_EINVAL, e, "the CSR has no usable public key");
  if (ir_key != NULL)
    MK_ENSURE(EVP_PKEY_eq(ir_key, csr_key) == 1, MK_EINVAL, e,
              "the key for the ir is not the CSR's key");

  MK_TRY(session_open(&s, cfg, &ctx, e));
  if (ir_key == NULL) {
    MK_TRY_OSSL(OSSL_CMP_CTX_set1_p10CSR(ctx, csr), e, "CMP p10cr CSR");
  } else {
    MK_TRY_OSSL(OSSL_CMP_CTX_set1_subjectName(ctx, X509_REQ_get_subject_name(csr)), e,
                "CMP ir subject");
    exts = X509_REQ_get_extensions(csr);
    if (exts != NULL && sk_X509_EXTENSION_num(exts) > 0) {
      MK_TRY_OSSL(OSSL_CMP_CTX_set0_reqExtensions(ctx, exts), e, "CMP ir extensions");
      exts = NULL;
    }
    MK_TRY_OSSL(EVP_PKEY_up_ref(ir_key), e, "CMP ir key");
    if (OSSL_CMP_CTX_set0_newPkey(ctx, 1, ir_key) != 1) {
      EVP_PKEY_free(ir_key);
      rc = mk_err_ossl(e, MK_ECRYPTO, "CMP ir key");
      goto out;
    }
    MK_TRY_OSSL(OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_POPO_METHOD, OSSL_CRMF_POPO_SIGNATURE),
                e, "CMP ir proof of possession");
  }
  if (OSSL_CMP_exec_certreq(ctx, ir_key != NULL ? OSSL_CMP_IR : OSSL_CMP_P10CR, NULL) == NULL) {
    rc = exec_failure(&s, ctx, what, e);
    goto out;
  }
  MK_TRY_PTR_OSSL(cert, OSSL_CMP_CTX_get0_newCert(ctx), e, "CMP new certificate");
  MK_TRY_OSSL(X509_up_ref(cert), e, "CMP new certificate");
  /* OpenSSL checked this before confirming; it is what the caller relies on. */
  if (EVP_PKEY_eq(X509_get0_pubkey(cert), csr_key) != 1) {
    ERR_clear_error();
    MK_FAIL(MK_EPROTO, e, "the CMP server returned a certificate for another public key");
  }
  if (chain_out != NULL) {
    /* made by OSSL_CMP_certConf_cb: without the new certificate and without
     * self-signed ones */
    chain = OSSL_CMP_CTX_get1_newChain(ctx);
    if (chain == NULL)
      MK_TRY_PTR_OSSL(chain, sk_X509_new_null(), e, "CMP chain");
    *chain_out = chain;
    chain = NULL;
  }
  *cert_out = cert;
  cert = NULL;
out:
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  sk_X509_pop_free(chain, X509_free);
  X509_free(cert);
  if (ctx != NULL)
    session_close(&s, ctx);
  ERR_clear_error();
  return rc;
}

int mk_pki_cmp_revoke(const mk_pki_cmp_config *cfg, X509 *cert, int reason, mk_err *e) {
  int rc = 0;
  struct session s;
  OSSL_CMP_CTX *ctx = NULL;
  memset(&s, 0, sizeof s);
  MK_ENSURE(cert != NULL, MK_EINVAL, e, "no certificate to revoke");
  /* RFC 5280 §5.3.1: 7 is not assigned */
  MK_ENSURE(reason == -1 || (reason >= 0 && reason <= 10 && reason != 7), MK_EINVAL, e,
            "revocation reason %d is not an RFC 5280 CRLReason", reason);
  MK_TRY(session_open(&s, cfg, &ctx, e));
  MK_TRY_OSSL(OSSL_CMP_CTX_set1_oldCert(ctx, cert), e, "CMP rr certificate");
  MK_TRY_OSSL(OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_REVOCATION_REASON, reason), e,
              "CMP rr reason");
  if (OSSL_CMP_exec_RR_ses(ctx) != 1) {
    rc = exec_failure(&s, ctx, "rr", e);
    goto out;
  }
out:
  if (ctx != NULL)
    session_close(&s, ctx);
  ERR_clear_error();
  return rc;
}
