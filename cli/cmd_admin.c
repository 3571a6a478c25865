/* mkey admin: the platform operator's commands. `admin login` keeps the
 * operator token (DATA/admin.token, written by mkeyd at first start) in the
 * profile, after the server has confirmed it, for `mkey ca …` and later
 * operator commands; `admin ca-operator add` creates a CA's reviewer. */
#include "cli.h"

#include <string.h>

#include <openssl/crypto.h>

#include "util/file.h"

#define TOKEN_FILE_MAX 1024
#define PASSWORD_MAX 256

const char cmd_admin_usage[] =
    "usage: mkey admin login --token-file FILE\n"
    "       mkey admin sms-outbox --phone N\n"
    "       mkey admin ca-operator add --ca CA_ID --user USER --password-file FILE\n"
    "\n"
    "login reads the platform operator token from FILE (mkeyd writes it to\n"
    "DATA/admin.token at first start; the file must be private, 0600), checks it\n"
    "with the server, and keeps it in this profile with the server's URL.\n"
    "--json prints {\"server\",\"role\"}.\n"
    "sms-outbox lists the sandbox SMS messages sent to N, newest first (--json: an array).\n"
    "ca-operator add creates an operator who reviews CA_ID's applications (mkey ca\n"
    "login, the web console): USER is 3..64 of a-z 0-9 . _ -, the password (8..64\n"
    "bytes with a letter and a digit) is read from FILE (0600; '-' is stdin).\n";

static int admin_login(int argc, const char **argv, struct cli *ctx) {
  const char *file = NULL;
  const struct cli_option opts[] = {{"--token-file", &file, NULL}, {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, opts, NULL, 0, NULL, cmd_admin_usage);
  if (rc != 0)
    return rc;
  if (file == NULL)
    return cli_usage_error(cmd_admin_usage, "login needs --token-file FILE");

  mk_err e = {0};
  mk_buf raw;
  mk_client *c = NULL;
  mk_client_response r = {0};
  json_t *profile = NULL;
  char token[TOKEN_FILE_MAX];
  rc = CLI_FAIL;
  if (mk_file_read_capped(file, TOKEN_FILE_MAX - 1, MK_FILE_PRIVATE, &raw, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  size_t n = raw.len;
  while (n > 0 && (raw.data[n - 1] == '\n' || raw.data[n - 1] == '\r'))
    n--;
  memcpy(token, raw.data, n);
  token[n] = '\0';
  mk_buf_free_secret(&raw);
  if (n == 0 || strlen(token) != n) {
    cli_error("'%s' does not hold a token", file);
    goto out;
  }
  if (cli_client_open(ctx, &c, &e) < 0 || mk_client_set_bearer(c, token, &e) < 0 ||
      mk_client_request(c, "GET", "/v1/admin/session", NULL, &r, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  if (cli_profile_load(ctx->profile, &profile, &e) < 0 ||
      json_object_set_new(profile, "server", json_string(mk_client_base_url(c))) != 0 ||
      json_object_set_new(profile, "token", json_string(token)) != 0 ||
      json_object_set_new(profile, "role", json_string("operator")) != 0 ||
      cli_profile_save(ctx->profile, profile, &e) < 0) {
    if (e.msg[0] == '\0')
      mk_err_set(&e, MK_ENOMEM, "out of memory");
    cli_fail(&e);
    goto out;
  }
  if (ctx->json) {
    json_t *doc = json_pack("{s:s,s:s}", "server", mk_client_base_url(c), "role", "operator");
    rc = doc != NULL ? cli_print_json(doc) : cli_error("out of memory");
    json_decref(doc);
  } else {
    printf("logged in to %s as the platform operator (profile %s)\n", mk_client_base_url(c),
           ctx->profile);
    rc = CLI_OK;
  }
out:
  OPENSSL_cleanse(token, sizeof token);
  cli_profile_free(profile);
  mk_client_response_clear(&r);
  mk_client_free(c);
  return rc;
}

static int admin_ca_operator(int argc, const char **argv, struct cli *ctx) {
  const char *ca = NULL, *user = NULL, *file = NULL;
  const struct cli_option opts[] = {{"--ca", &ca, NULL},
                                    {"--user", &user, NULL},
                                    {"--password-file", &file, NULL},
                                    {NULL, NULL, NULL}};
  if (argc < 2 || strcmp(argv[1], "add") != 0)
    return cli_usage_error(cmd_admin_usage, "ca-operator takes the subcommand add");
  int rc = cli_parse_options(ctx, argc - 1, argv + 1, opts, NULL, 0, NULL, cmd_admin_usage);
  if (rc != 0)
    return rc;
  if (ca == NULL || user == NULL || file == NULL)
    return cli_usage_error(cmd_admin_usage,
                           "ca-operator add needs --ca, --user and --password-file");
  mk_err e = {0};
  mk_client *c = NULL;
  mk_client_response r = {0};
  json_t *body = NULL;
  char pw[PASSWORD_MAX];
  rc = CLI_FAIL;
  if (cli_read_password(file, pw, sizeof pw, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  body = json_pack("{s:s,s:s,s:s}", "ca_id", ca, "username", user, "password", pw);
  if (body == NULL) {
    cli_error("the arguments must be UTF-8 text");
    goto out;
  }
  if (cli_client_open(ctx, &c, &e) < 0 ||
      (rc = mk_client_request(c, "POST", "/v1/admin/ca-operators", body, &r, &e)) < 0) {
    if (rc == MK_EAUTH)
      mk_err_wrap(&e, "operator access (run 'mkey admin login --token-file FILE')");
    rc = cli_fail(&e);
    goto out;
  }
  if (ctx->json) {
    rc = cli_print_json(r.json);
  } else {
    printf("added %s (%s), operator of %s\n", user,
           json_string_value(json_object_get(r.json, "id")), ca);
    rc = CLI_OK;
  }
out:
  OPENSSL_cleanse(pw, sizeof pw);
  json_decref(body);
  mk_client_response_clear(&r);
  mk_client_free(c);
  return rc;
}

int cmd_admin(int argc, const char **argv, struct cli *ctx) {
  if (argc < 2)
    return cli_usage_error(cmd_admin_usage, "admin needs a subcommand");
  if (strcmp(argv[1], "login") == 0)
    return admin_login(argc - 1, argv + 1, ctx);
  if (strcmp(argv[1], "sms-outbox") == 0)
    return cli_admin_sms_outbox(argc - 1, argv + 1, ctx, cmd_admin_usage);
  if (strcmp(argv[1], "ca-operator") == 0)
    return admin_ca_operator(argc - 1, argv + 1, ctx);
  return cli_usage_error(cmd_admin_usage, "unknown admin subcommand '%s'", argv[1]);
}
