/*
 * SMS providers: how mkeyd delivers a text to a mobile number. Two kinds:
 *
 *   sandbox  writes the message to the sms_outbox table, in the caller's
 *            transaction; only the platform operator reads it (GET
 *            /v1/admin/sms-outbox, `mkey admin sms-outbox`). The default
 *            under --sandbox.
 *   http     POSTs {"phone","purpose","code","text"} as JSON to sms_url (a
 *            gateway the operator runs or buys); any 2xx is delivered.
 *
 * docs/accounts.md and docs/operations.md describe both. Nothing here logs
 * a message's text or code.
 */
#ifndef MK_PROVIDERS_SMS_H
#define MK_PROVIDERS_SMS_H

#include <jansson.h>
#include <stdint.h>

#include "config.h"
#include "mkey/mkey.h"
#include "store/store.h"

#define MK_SMS_TEXT_MAX 512

typedef struct mk_sms_message {
  const char *phone;   /* 11-digit mainland mobile number */
  const char *purpose; /* login, reset_password, change_phone; "notice" without a code */
  const char *code;    /* the code the text carries; NULL for a notice */
  const char *text;    /* the message as delivered, UTF-8, < MK_SMS_TEXT_MAX bytes */
  int64_t now;         /* Unix seconds */
} mk_sms_message;

typedef struct mk_sms_provider {
  const char *name;  /* "sandbox", "http" */
  /* 1: send writes to db inside the caller's open transaction, so it is
   * called before commit; 0: send talks to the outside and is called with
   * no transaction open (db may be NULL). */
  int in_transaction;
  int (*send)(const mk_config *cfg, mk_db *db, const mk_sms_message *m, mk_err *e);
} mk_sms_provider;

/* The provider cfg selects: sms_provider, or sandbox when it is "" under
 * --sandbox. MK_ENET when none is configured (SMS cannot be sent). */
int mk_sms_provider_get(const mk_config *cfg, const mk_sms_provider **out, mk_err *e) MK_MUST_CHECK;

/* The text of a code message for purpose (【mkey】您的登录验证码为…，5分钟内有效…)
 * into out (MK_SMS_TEXT_MAX bytes). */
int mk_sms_code_text(const char *purpose, const char *code, int minutes,
                     char out[MK_SMS_TEXT_MAX], mk_err *e) MK_MUST_CHECK;

/* The sandbox outbox of phone, newest first, at most limit (1..100):
 * *out {"items":[{id, phone, purpose, code, text, created_at}]}. */
int mk_sms_outbox_list(mk_db *db, const char *phone, int64_t limit, json_t **out,
                       mk_err *e) MK_MUST_CHECK;

#endif
