/* mkey login / logout, `mkey admin sms-outbox`, and the helpers the other
 * account commands share (cmd_account.h). A session is bound to this
 * profile's device id: the token is useless on another device. */
#include "cmd_account.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "util/file.h"
#include "util/guard.h"

const char cmd_login_usage[] =
    "usage: mkey login --phone N [--code C | --password-file F]\n"
    "\n"
    "Log in with a mainland mobile number; the first login creates the account.\n"
    "Without --code or --password-file an SMS code is sent: on a terminal you are\n"
    "asked for it, otherwise mkey says so and exits 0, and you run it again with\n"
    "--code. --password-file F reads the password from the first line of F (a\n"
    "private, 0600 file); passwords are never taken from the command line.\n"
    "The session is bound to this profile's device and kept in the profile.\n"
    "--json prints {server, account_id, session_id, expires_at, new_account}.\n";

const char cmd_logout_usage[] =
    "usage: mkey logout\n"
    "\n"
    "End this profile's session on the server and forget it here.\n";

/* ---- shared helpers ---- */

void acct_mask_phone(const char *phone, char out[32]) {
  size_t n = phone ? strlen(phone) : 0, o = 0;
  for (size_t i = 0; i < n && o < 31; i++)
    out[o++] = (n > 7 && (i < 3 || i >= n - 4)) ? phone[i] : '*';
  out[o] = '\0';
}

void acct_wipe(json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  if (json_is_string(v))
    OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
}

int acct_interactive(void) { return isatty(STDIN_FILENO) == 1; }

/* One line from the terminal, echo off when secret. */
static int tty_line(const char *prompt, int secret, char *out, size_t cap, mk_err *e) {
  struct termios old, quiet;
  int restore = 0;
  fputs(prompt, stderr);
  fflush(stderr);
  if (secret && tcgetattr(STDIN_FILENO, &old) == 0) {
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    quiet.c_lflag |= ECHONL;
    restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
  }
  char *got = fgets(out, (int)cap, stdin);
  if (restore)
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  if (got == NULL) {
    out[0] = '\0';
    return mk_err_set(e, MK_EIO, "nothing was typed");
  }
  size_t n = strlen(out);
  if (n > 0 && out[n - 1] != '\n' && !feof(stdin)) {
    OPENSSL_cleanse(out, cap);
    return mk_err_set(e, MK_ETOOBIG, "the line is too long");
  }
  while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
    out[--n] = '\0';
  return 0;
}

int acct_read_secret(const char *file, const char *prompt, int confirm, char out[ACCT_SECRET_MAX],
                     mk_err *e) {
  int rc = 0;
  mk_buf raw;
  char again[ACCT_SECRET_MAX];
  out[0] = '\0';
  if (file != NULL) {
    MK_TRY(mk_file_read_capped(file, ACCT_SECRET_MAX - 1, MK_FILE_PRIVATE, &raw, e));
    size_t n = 0;
    while (n < raw.len && raw.data[n] != '\n' && raw.data[n] != '\r')
      n++;
    memcpy(out, raw.data, n);
    out[n] = '\0';
    mk_buf_free_secret(&raw);
    MK_ENSURE(n > 0 && strlen(out) == n, MK_EINVAL, e, "'%s' does not hold a password", file);
    goto out;
  }
  MK_ENSURE(acct_interactive(), MK_EINVAL, e,
            "no terminal to ask for the password: give it in a private file");
  MK_TRY(tty_line(prompt, 1, out, ACCT_SECRET_MAX, e));
  if (confirm) {
    MK_TRY(tty_line("Again: ", 1, again, sizeof again, e));
    MK_ENSURE(strcmp(out, again) == 0, MK_EINVAL, e, "the two passwords differ");
  }
out:
  OPENSSL_cleanse(again, sizeof again);
  if (rc < 0)
    OPENSSL_cleanse(out, ACCT_SECRET_MAX);
  return rc;
}

int acct_ask_code(char out[ACCT_CODE_MAX], mk_err *e) {
  return tty_line("SMS code: ", 0, out, ACCT_CODE_MAX, e);
}

int acct_request_code(mk_client *c, const char *phone, const char *purpose, json_t **answer,
                      mk_err *e) {
  int rc = 0;
  mk_client_response r = {0};
  json_t *body = json_pack("{s:s,s:s}", "phone", phone, "purpose", purpose);
  MK_ENSURE_ALLOC(body, e);
  MK_TRY(mk_client_request(c, "POST", "/v1/sms-codes", body, &r, e));
  if (answer != NULL) {
    *answer = r.json;
    r.json = NULL;
  }
out:
  json_decref(body);
  mk_client_response_clear(&r);
  return rc;
}

int acct_send_code(const struct cli *ctx, mk_client *c, const char *phone, const char *purpose,
                   const char *said, const char *again, char typed[ACCT_CODE_MAX], int *status,
                   mk_err *e) {
  json_t *sent = NULL;
  int rc = acct_request_code(c, phone, purpose, &sent, e);
  if (rc < 0)
    return rc;
  if (!acct_interactive()) {
    if (ctx->json) {
      *status = cli_print_json(sent);
    } else {
      printf("%s; run: %s\n", said, again);
      *status = CLI_OK;
    }
    json_decref(sent);
    return 1;
  }
  json_decref(sent);
  fprintf(stderr, "%s\n", said);
  return acct_ask_code(typed, e);
}

int acct_save_session(const struct cli *ctx, mk_client *c, const json_t *answer,
                      const char *phone, mk_err *e) {
  int rc = 0;
  json_t *profile = NULL;
  const char *token = json_string_value(json_object_get(answer, "token"));
  const char *account = json_string_value(json_object_get(answer, "account_id"));
  MK_ENSURE(token != NULL && account != NULL, MK_EPROTO, e, "the server's login answer has no token");
  MK_TRY(cli_profile_load(ctx->profile, &profile, e));
  MK_ENSURE(json_object_set_new(profile, "server", json_string(mk_client_base_url(c))) == 0 &&
                json_object_set_new(profile, "token", json_string(token)) == 0 &&
                json_object_set_new(profile, "role", json_string("account")) == 0 &&
                json_object_set_new(profile, "account_id", json_string(account)) == 0 &&
                (phone == NULL || json_object_set_new(profile, "phone", json_string(phone)) == 0),
            MK_ENOMEM, e, "out of memory");
  if (phone == NULL) /* a WeChat login: the number is not known here */
    json_object_del(profile, "phone");
  MK_TRY(cli_profile_save(ctx->profile, profile, e));
out:
  cli_profile_free(profile);
  return rc;
}

int acct_forget_session(const struct cli *ctx, mk_err *e) {
  int rc = 0;
  json_t *profile = NULL;
  MK_TRY(cli_profile_load(ctx->profile, &profile, e));
  json_t *tok = json_object_get(profile, "token");
  if (json_is_string(tok))
    OPENSSL_cleanse((char *)json_string_value(tok), json_string_length(tok));
  json_object_del(profile, "token");
  json_object_del(profile, "role");
  json_object_del(profile, "account_id");
  json_object_del(profile, "phone");
  MK_TRY(cli_profile_save(ctx->profile, profile, e));
out:
  cli_profile_free(profile);
  return rc;
}

int acct_print_login(const struct cli *ctx, mk_client *c, const json_t *answer,
                     const char *phone) {
  const char *account = json_string_value(json_object_get(answer, "account_id"));
  int fresh = json_is_true(json_object_get(answer, "new_account"));
  if (ctx->json) {
    json_t *doc = json_pack("{s:s,s:s?,s:O?,s:O?,s:b}", "server", mk_client_base_url(c),
                            "account_id", account, "session_id",
                            json_object_get(answer, "session_id"), "expires_at",
                            json_object_get(answer, "expires_at"), "new_account", fresh);
    int rc = doc != NULL ? cli_print_json(doc) : cli_error("out of memory");
    json_decref(doc);
    return rc;
  }
  char masked[32];
  acct_mask_phone(phone, masked);
  printf("logged in as %s%s (profile %s)\n", masked, fresh ? ", a new account" : "",
         ctx->profile);
  return CLI_OK;
}

/* ---- mkey login ---- */

/* POST /v1/sessions with body; on success keep and print the session. */
static int login_with(struct cli *ctx, mk_client *c, json_t *body, const char *phone) {
  mk_err e = {0};
  mk_client_response r = {0};
  int rc = CLI_FAIL;
  if (mk_client_request(c, "POST", "/v1/sessions", body, &r, &e) < 0 ||
      acct_save_session(ctx, c, r.json, phone, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  rc = acct_print_login(ctx, c, r.json, phone);
out:
  acct_wipe(r.json, "token");
  mk_client_response_clear(&r);
  return rc;
}

/* 0 for a well-formed number (the server checks it again); else a usage error. */
static int phone_arg(const char *phone, const char *usage) {
  mk_err e = {0};
  if (phone == NULL)
    return cli_usage_error(usage, "give the phone number: --phone N");
  if (mk_valid_mobile(phone, &e) < 0)
    return cli_usage_error(usage, "--phone: %s", e.msg);
  return 0;
}

int cmd_login(int argc, const char **argv, struct cli *ctx) {
  const char *phone = NULL, *code = NULL, *pwfile = NULL;
  const struct cli_option opts[] = {{"--phone", &phone, NULL},
                                    {"--code", &code, NULL},
                                    {"--password-file", &pwfile, NULL},
                                    {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, opts, NULL, 0, NULL, cmd_login_usage);
  if (rc != 0)
    return rc;
  if ((rc = phone_arg(phone, cmd_login_usage)) != 0)
    return rc;
  if (code != NULL && pwfile != NULL)
    return cli_usage_error(cmd_login_usage, "give --code or --password-file, not both");

  mk_err e = {0};
  mk_client *c = NULL;
  json_t *body = NULL;
  char device[MK_ID_MAX], secret[ACCT_SECRET_MAX] = "", typed[ACCT_CODE_MAX] = "";
  rc = CLI_FAIL;
  if (cli_profile_device(ctx, device, &e) < 0 || cli_client_open(ctx, &c, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  if (pwfile != NULL) {
    if (acct_read_secret(pwfile, "Password: ", 0, secret, &e) < 0) {
      cli_fail(&e);
      goto out;
    }
    body = json_pack("{s:s,s:s,s:s}", "phone", phone, "password", secret, "device_id", device);
  } else {
    if (code == NULL) {
      char masked[32], said[128], again[128];
      acct_mask_phone(phone, masked);
      snprintf(said, sizeof said, "an SMS code was sent to %s", masked);
      snprintf(again, sizeof again, "mkey login --phone %s --code CODE", phone);
      int got = acct_send_code(ctx, c, phone, "login", said, again, typed, &rc, &e);
      if (got < 0) {
        cli_fail(&e);
        goto out;
      }
      if (got > 0)
        goto out;
      code = typed;
    }
    body = json_pack("{s:s,s:s,s:s}", "phone", phone, "code", code, "device_id", device);
  }
  if (body == NULL) {
    cli_error("out of memory");
    goto out;
  }
  rc = login_with(ctx, c, body, phone);
out:
  acct_wipe(body, "password");
  OPENSSL_cleanse(secret, sizeof secret);
  OPENSSL_cleanse(typed, sizeof typed);
  json_decref(body);
  mk_client_free(c);
  return rc;
}

/* ---- mkey logout ---- */

int cmd_logout(int argc, const char **argv, struct cli *ctx) {
  int rc = cli_parse_options(ctx, argc, argv, NULL, NULL, 0, NULL, cmd_logout_usage);
  if (rc != 0)
    return rc;
  mk_err e = {0};
  mk_client *c = NULL;
  mk_client_response r = {0};
  json_t *profile = NULL;
  const char *note = "logged out";
  rc = CLI_FAIL;
  if (cli_profile_load(ctx->profile, &profile, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  if (!json_is_string(json_object_get(profile, "token"))) {
    note = "not logged in";
  } else if (json_is_string(json_object_get(profile, "role")) &&
             strcmp(json_string_value(json_object_get(profile, "role")), "account") == 0) {
    /* The server ends the session first; one it no longer knows is gone
     * already. Unreachable: keep the token so logout can be tried again. */
    if (cli_client_open(ctx, &c, &e) < 0) {
      cli_fail(&e);
      goto out;
    }
    int r2 = mk_client_request(c, "DELETE", "/v1/sessions/current", NULL, &r, &e);
    if (r2 == MK_EAUTH) {
      note = "the session had already ended; forgotten here";
    } else if (r2 < 0) {
      cli_fail(&e);
      goto out;
    }
  }
  if (acct_forget_session(ctx, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  if (ctx->json) {
    json_t *doc = json_pack("{s:s,s:s}", "profile", ctx->profile, "result", note);
    rc = doc != NULL ? cli_print_json(doc) : cli_error("out of memory");
    json_decref(doc);
  } else {
    printf("%s (profile %s)\n", note, ctx->profile);
    rc = CLI_OK;
  }
out:
  cli_profile_free(profile);
  mk_client_response_clear(&r);
  mk_client_free(c);
  return rc;
}

/* ---- mkey admin sms-outbox ---- */

int cli_admin_sms_outbox(int argc, const char **argv, struct cli *ctx, const char *usage) {
  const char *phone = NULL;
  const struct cli_option opts[] = {{"--phone", &phone, NULL}, {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, opts, NULL, 0, NULL, usage);
  if (rc != 0)
    return rc;
  if ((rc = phone_arg(phone, usage)) != 0)
    return rc;
  mk_err e = {0};
  mk_client *c = NULL;
  mk_client_response r = {0};
  char path[96];
  rc = CLI_FAIL;
  snprintf(path, sizeof path, "/v1/admin/sms-outbox?phone=%s", phone); /* digits only */
  if (cli_client_open(ctx, &c, &e) < 0 ||
      mk_client_request(c, "GET", path, NULL, &r, &e) < 0) {
    if (e.code == MK_EAUTH)
      mk_err_wrap(&e, "operator access (run 'mkey admin login --token-file FILE')");
    cli_fail(&e);
    goto out;
  }
  json_t *items = json_object_get(r.json, "items");
  if (!json_is_array(items)) {
    cli_error("the server's outbox answer has no items");
    goto out;
  }
  if (ctx->json) {
    rc = cli_print_json(items);
    goto out;
  }
  size_t i;
  json_t *m;
  json_array_foreach(items, i, m) {
    const char *at = json_string_value(json_object_get(m, "created_at"));
    const char *purpose = json_string_value(json_object_get(m, "purpose"));
    const char *code = json_string_value(json_object_get(m, "code"));
    const char *text = json_string_value(json_object_get(m, "text"));
    printf("%s  %-14s %-6s  %s\n", at ? at : "?", purpose ? purpose : "?", code ? code : "-",
           text ? text : "");
  }
  if (json_array_size(items) == 0)
    printf("no messages to %s\n", phone);
  rc = CLI_OK;
out:
  mk_client_response_clear(&r);
  mk_client_free(c);
  return rc;
}
