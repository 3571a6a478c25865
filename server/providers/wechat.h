/*
 * WeChat login (OAuth 2.0 authorization code): the app sends the user to
 * WeChat's consent page, gets an authorization code back, and mkeyd trades
 * the code for the user's openid through a provider:
 *
 *   sandbox  (only under --sandbox) mkeyd plays WeChat: GET
 *            /v1/sandbox/wechat/consent?user=NAME&state=S hands out a
 *            one-time code for the simulated user NAME, and the exchange
 *            gives NAME's openid: "osbx_" followed by the first 24 hex
 *            digits of SHA-256("mkey sandbox wechat openid v1:" NAME).
 *   http     GET wechat_url?appid=…&secret=…&code=…&grant_type=
 *            authorization_code (WeChat's sns/oauth2/access_token) and read
 *            openid from the JSON answer; errcode 40029/40163 (bad or used
 *            code) is MK_EAUTH, any other failure MK_ENET.
 *
 * docs/accounts.md describes the flow around it.
 */
#ifndef MK_PROVIDERS_WECHAT_H
#define MK_PROVIDERS_WECHAT_H

#include <jansson.h>
#include <stdint.h>

#include "config.h"
#include "mkey/mkey.h"
#include "store/store.h"

#define MK_WECHAT_OPENID_MAX 65      /* WeChat's are 28 characters; we allow 64 */
#define MK_WECHAT_CODE_MAX 129       /* an authorization code, NUL included */
#define MK_WECHAT_USER_MAX 33        /* a sandbox user name, NUL included */
#define MK_WECHAT_SANDBOX_CODE_TTL 300

typedef struct mk_wechat_provider {
  const char *name; /* "sandbox", "http" */
  /* 1: exchange reads and writes db in the caller's open transaction;
   * 0: it calls out and runs with no transaction open (db may be NULL). */
  int in_transaction;
  /* Trade an authorization code for the user's openid. MK_EAUTH when the
   * code is not valid (unknown, used, expired). */
  int (*exchange)(const mk_config *cfg, mk_db *db, const char *code, int64_t now,
                  char openid[MK_WECHAT_OPENID_MAX], mk_err *e);
} mk_wechat_provider;

/* The provider cfg selects (wechat_provider; "" is sandbox under
 * --sandbox). MK_ENET when none is configured. */
int mk_wechat_provider_get(const mk_config *cfg, const mk_wechat_provider **out,
                           mk_err *e) MK_MUST_CHECK;

/* How the http provider reads the token endpoint's answer: status 200 and
 * a JSON object (answer, may be NULL when the body was not JSON) with a
 * valid openid and no errcode; errcode 40029 or 40163 is MK_EAUTH, any
 * other failure MK_ENET, a missing or malformed openid MK_EPROTO. */
int mk_wechat_token_answer(long status, const json_t *answer, char openid[MK_WECHAT_OPENID_MAX],
                           mk_err *e) MK_MUST_CHECK;

/* 1 when s is an authorization code we accept (1..128 of A-Z a-z 0-9 - _). */
int mk_wechat_code_valid(const char *s);
/* 1 when s is a sandbox user name (1..32 of A-Z a-z 0-9 . _ -). */
int mk_wechat_user_valid(const char *s);

/* Sandbox consent: in db's open transaction, a one-time authorization code
 * for user, valid MK_WECHAT_SANDBOX_CODE_TTL seconds; only its SHA-256 is
 * stored. */
int mk_wechat_sandbox_consent(mk_db *db, const char *user, int64_t now,
                              char code[MK_WECHAT_CODE_MAX], mk_err *e) MK_MUST_CHECK;
/* The openid the sandbox gives user. */
int mk_wechat_sandbox_openid(const char *user, char openid[MK_WECHAT_OPENID_MAX],
                             mk_err *e) MK_MUST_CHECK;

#endif
