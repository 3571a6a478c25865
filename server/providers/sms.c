/* SMS providers: the sandbox outbox and the http gateway (sms.h). */
#include "providers/sms.h"

#include <string.h>

#include "providers/http.h"
#include "util/guard.h"
#include "util/id.h"
#include "util/time.h"

static int sandbox_send(const mk_config *cfg, mk_db *db, const mk_sms_message *m, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  char id[MK_ID_MAX], ts[MK_TIME_TEXT_MAX];
  int64_t seq = 0;
  (void)cfg;
  MK_ENSURE(db != NULL && mk_db_in_tx(db), MK_EINTERNAL, e, "the SMS outbox needs a transaction");
  MK_TRY(mk_id_new(id, "sms", e));
  MK_TRY(mk_time_format(m->now, ts, e));
  MK_TRY(mk_db_prepare(db, "SELECT COALESCE(MAX(seq), 0) FROM sms_outbox", &st, e));
  MK_TRY(found = mk_stmt_step(st, e));
  seq = (found ? mk_stmt_int(st, 0) : 0) + 1;
  mk_stmt_finish(st);
  st = NULL;
  MK_TRY(mk_db_prepare(db,
                       "INSERT INTO sms_outbox(seq, id, phone, purpose, code, text, created_at) "
                       "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                       &st, e));
  MK_TRY(mk_stmt_bind_int(st, 1, seq, e));
  MK_TRY(mk_stmt_bind_text(st, 2, id, e));
  MK_TRY(mk_stmt_bind_text(st, 3, m->phone, e));
  MK_TRY(mk_stmt_bind_text(st, 4, m->purpose, e));
  MK_TRY(mk_stmt_bind_text(st, 5, m->code, e));
  MK_TRY(mk_stmt_bind_text(st, 6, m->text, e));
  MK_TRY(mk_stmt_bind_text(st, 7, ts, e));
  MK_TRY(mk_stmt_step(st, e));
out:
  mk_stmt_finish(st);
  return rc;
}

static int http_send(const mk_config *cfg, mk_db *db, const mk_sms_message *m, mk_err *e) {
  int rc = 0;
  long status = 0;
  json_t *body = NULL;
  (void)db;
  MK_ENSURE(cfg->sms_url[0] != '\0', MK_ENET, e, "SMS is not configured (sms_url is empty)");
  body = json_pack("{s:s,s:s,s:s?,s:s}", "phone", m->phone, "purpose", m->purpose, "code",
                   m->code, "text", m->text);
  MK_ENSURE_ALLOC(body, e);
  MK_TRY(mk_provider_http("POST", cfg->sms_url, body, &status, NULL, e));
  MK_ENSURE(status >= 200 && status < 300, MK_ENET, e,
            "the SMS gateway refused the message (HTTP %ld)", status);
out:
  if (body != NULL) {
    /* the code is in it: drop the string before the object goes */
    json_t *c = json_object_get(body, "code");
    if (c != NULL && json_string_value(c) != NULL)
      json_string_set(c, "");
    json_decref(body);
  }
  return rc;
}

static const mk_sms_provider providers[] = {
    {"sandbox", 1, sandbox_send},
    {"http", 0, http_send},
};

int mk_sms_provider_get(const mk_config *cfg, const mk_sms_provider **out, mk_err *e) {
  const char *name = cfg->sms_provider;
  *out = NULL;
  if (name[0] == '\0')
    name = cfg->sandbox ? "sandbox" : "";
  for (size_t i = 0; i < sizeof providers / sizeof providers[0]; i++)
    if (strcmp(providers[i].name, name) == 0) {
      *out = &providers[i];
      return 0;
    }
  return mk_err_set(e, MK_ENET, "this server cannot send SMS: no sms_provider is configured");
}

int mk_sms_code_text(const char *purpose, const char *code, int minutes,
                     char out[MK_SMS_TEXT_MAX], mk_err *e) {
  const char *what = strcmp(purpose, "login") == 0            ? "登录"
                     : strcmp(purpose, "reset_password") == 0 ? "重置登录密码"
                     : strcmp(purpose, "change_phone") == 0   ? "更换手机号"
                                                               : NULL;
  if (what == NULL)
    return mk_err_set(e, MK_EINVAL, "unknown SMS purpose");
  int n = snprintf(out, MK_SMS_TEXT_MAX,
                   "【mkey】您的%s验证码为%s，%d分钟内有效。请勿将验证码告诉他人。", what, code,
                   minutes);
  if (n < 0 || n >= MK_SMS_TEXT_MAX)
    return mk_err_set(e, MK_ETOOBIG, "SMS text too long");
  return 0;
}

int mk_sms_outbox_list(mk_db *db, const char *phone, int64_t limit, json_t **out, mk_err *e) {
  int rc = 0, row = 0;
  mk_stmt *st = NULL;
  json_t *items = json_array();
  *out = NULL;
  MK_ENSURE_ALLOC(items, e);
  MK_TRY(mk_db_prepare(db,
                       "SELECT id, phone, purpose, code, text, created_at FROM sms_outbox "
                       "WHERE phone = $1 ORDER BY seq DESC LIMIT $2",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, phone, e));
  MK_TRY(mk_stmt_bind_int(st, 2, limit, e));
  while ((row = mk_stmt_step(st, e)) == 1) {
    json_t *it = json_pack("{s:s,s:s,s:s,s:s?,s:s,s:s}", "id", mk_stmt_text(st, 0), "phone",
                           mk_stmt_text(st, 1), "purpose", mk_stmt_text(st, 2), "code",
                           mk_stmt_text(st, 3), "text", mk_stmt_text(st, 4), "created_at",
                           mk_stmt_text(st, 5));
    MK_ENSURE(it != NULL && json_array_append_new(items, it) == 0, MK_ENOMEM, e,
              "out of memory");
  }
  MK_TRY(row);
  *out = json_pack("{s:O}", "items", items);
  MK_ENSURE_ALLOC(*out, e);
out:
  mk_stmt_finish(st);
  json_decref(items);
  return rc;
}
