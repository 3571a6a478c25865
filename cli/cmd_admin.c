/* mkey admin: the platform operator's commands. `admin login` keeps the
 * operator token (DATA/admin.token, written by mkeyd at first start) in the
 * profile, after the server has confirmed it, for `mkey ca …` and later
 * operator commands. */
#include "cli.h"

#include <string.h>

#include <openssl/crypto.h>

#include "util/file.h"

#define TOKEN_FILE_MAX 1024

const char cmd_admin_usage[] =
    "usage: mkey admin login --token-file FILE\n"
    "       mkey admin sms-outbox --phone N\n"
    "\n"
    "login reads the platform operator token from FILE (mkeyd writes it to\n"
    "DATA/admin.token at first start; the file must be private, 0600), checks it\n"
    "with the server, and keeps it in this profile with the server's URL.\n"
    "--json prints {\"server\",\"role\"}.\n"
    "sms-outbox lists the sandbox SMS messages sent to N, newest first (--json: an array).\n";

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

int cmd_admin(int argc, const char **argv, struct cli *ctx) {
  if (argc < 2)
    return cli_usage_error(cmd_admin_usage, "admin needs a subcommand");
  if (strcmp(argv[1], "login") == 0)
    return admin_login(argc - 1, argv + 1, ctx);
  if (strcmp(argv[1], "sms-outbox") == 0)
    return cli_admin_sms_outbox(argc - 1, argv + 1, ctx, cmd_admin_usage);
  return cli_usage_error(cmd_admin_usage, "unknown admin subcommand '%s'", argv[1]);
}
