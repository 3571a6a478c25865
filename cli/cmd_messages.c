/* mkey messages: the account's inbox (消息), newest first, with the unread
 * count; `--wait SECONDS` long-polls for the next message (the server holds
 * the request until one arrives or the time is up); `show` reads one and
 * marks it read; `read-all` marks them all. docs/messages.md. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define MSG_PATH_MAX 256
#define WAIT_MAX 60

const char cmd_messages_usage[] =
    "usage: mkey messages [--unread] [--limit N] [--wait SECONDS [--after SEQ]]\n"
    "       mkey messages show MSG\n"
    "       mkey messages read-all\n"
    "\n"
    "Without a subcommand: your messages, newest first ('*' marks unread) and how\n"
    "many are unread. --wait waits up to SECONDS (1..60) for messages newer than\n"
    "SEQ (default: the newest you have now) and prints them; it prints nothing when\n"
    "none came. --json prints the list as an array.\n"
    "show      one message (title, text, its application and what to do next); marks it read\n"
    "read-all  mark every message read\n";

static const char *str(const json_t *o, const char *k) {
  const char *v = json_string_value(json_object_get(o, k));
  return v ? v : "";
}

static int inbox_get(mk_client *c, const char *path, mk_client_response *r, mk_err *e) {
  int rc = mk_client_request(c, "GET", path, NULL, r, e);
  if (rc == MK_EAUTH)
    mk_err_wrap(e, "log in first ('mkey login --phone N')");
  return rc;
}

static void print_message(const json_t *m) {
  printf("%s %4lld  %s  %s", json_is_null(json_object_get(m, "read_at")) ? "*" : " ",
         (long long)json_integer_value(json_object_get(m, "seq")), str(m, "created_at"),
         str(m, "title"));
  if (str(m, "body")[0] != '\0')
    printf(": %s", str(m, "body"));
  if (json_is_string(json_object_get(m, "action")))
    printf("  [%s %s]", str(m, "action"), str(m, "application_id"));
  printf("  %s\n", str(m, "id"));
}

/* A whole number in [lo, hi] from text, else -1. */
static long long whole(const char *s, long long lo, long long hi) {
  char *end = NULL;
  if (s == NULL || *s == '\0' || strlen(s) > 18)
    return -1;
  long long v = strtoll(s, &end, 10);
  return *end == '\0' && v >= lo && v <= hi ? v : -1;
}

static int messages_list(int argc, const char **argv, struct cli *ctx) {
  const char *limit_s = NULL, *wait_s = NULL, *after_s = NULL;
  int unread = 0;
  const struct cli_option opts[] = {{"--unread", NULL, &unread},
                                    {"--limit", &limit_s, NULL},
                                    {"--wait", &wait_s, NULL},
                                    {"--after", &after_s, NULL},
                                    {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, opts, NULL, 0, NULL, cmd_messages_usage);
  if (rc != 0)
    return rc;
  long long limit = limit_s ? whole(limit_s, 1, 100) : 20;
  long long wait = wait_s ? whole(wait_s, 1, WAIT_MAX) : 0;
  long long after = after_s ? whole(after_s, 0, (1LL << 62)) : -1;
  if (limit < 0)
    return cli_usage_error(cmd_messages_usage, "--limit is a whole number from 1 to 100");
  if (wait < 0)
    return cli_usage_error(cmd_messages_usage, "--wait is a whole number of seconds, 1 to %d",
                           WAIT_MAX);
  if (after_s != NULL && after < 0)
    return cli_usage_error(cmd_messages_usage, "--after is a message seq");
  if (after_s != NULL && wait == 0)
    return cli_usage_error(cmd_messages_usage, "--after goes with --wait");
  mk_err e = {0};
  mk_client *c = NULL;
  mk_client_response r = {0};
  char path[MSG_PATH_MAX];
  rc = CLI_FAIL;
  if (cli_client_open(ctx, &c, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  if (wait > 0 && after < 0) {
    /* Wait for what is newer than the newest now. */
    if (inbox_get(c, "/v1/messages?limit=1", &r, &e) < 0) {
      cli_fail(&e);
      goto out;
    }
    after = json_integer_value(json_object_get(r.json, "last_seq"));
  }
  if (wait > 0) {
    /* The server answers by the deadline; allow for the way there and back. */
    mk_client_set_timeout_ms(c, (long)(wait + 15) * 1000);
    snprintf(path, sizeof path, "/v1/messages?after=%lld&wait=%lld&limit=%lld%s", after, wait,
             limit, unread ? "&unread=true" : "");
  } else {
    snprintf(path, sizeof path, "/v1/messages?limit=%lld%s", limit, unread ? "&unread=true" : "");
  }
  if (inbox_get(c, path, &r, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  json_t *items = json_object_get(r.json, "items");
  if (!json_is_array(items)) {
    cli_error("the server's answer has no messages");
    goto out;
  }
  if (ctx->json) {
    rc = cli_print_json(items);
    goto out;
  }
  size_t i;
  json_t *m;
  json_array_foreach(items, i, m) print_message(m);
  if (wait == 0)
    printf("%lld unread\n", (long long)json_integer_value(json_object_get(r.json, "unread_count")));
  rc = CLI_OK;
out:
  mk_client_response_clear(&r);
  mk_client_free(c);
  return rc;
}

static int messages_show(int argc, const char **argv, struct cli *ctx) {
  const char *args[1];
  int nargs = 0;
  int rc = cli_parse_options(ctx, argc, argv, NULL, args, 1, &nargs, cmd_messages_usage);
  if (rc != 0)
    return rc;
  if (nargs != 1)
    return cli_usage_error(cmd_messages_usage, "show needs a message id (msg_…)");
  if (mk_id_check(args[0], "msg", NULL) < 0)
    return cli_usage_error(cmd_messages_usage, "'%.64s' is not a message id", args[0]);
  char path[MSG_PATH_MAX];
  snprintf(path, sizeof path, "/v1/messages/%s", args[0]);
  mk_err e = {0};
  mk_client *c = NULL;
  mk_client_response r = {0};
  rc = CLI_FAIL;
  if (cli_client_open(ctx, &c, &e) < 0 || inbox_get(c, path, &r, &e) < 0) {
    cli_fail(&e);
  } else if (ctx->json) {
    rc = cli_print_json(r.json);
  } else {
    printf("%s\n%s\n", str(r.json, "title"), str(r.json, "body"));
    printf("%-13s%s (%s)\n", "received:", str(r.json, "created_at"), str(r.json, "type"));
    if (json_is_string(json_object_get(r.json, "application_id")))
      printf("%-13s%s\n", "application:", str(r.json, "application_id"));
    if (json_is_string(json_object_get(r.json, "action")))
      printf("%-13s%s\n", "next:", str(r.json, "action"));
    rc = CLI_OK;
  }
  mk_client_response_clear(&r);
  mk_client_free(c);
  return rc;
}

static int messages_read_all(int argc, const char **argv, struct cli *ctx) {
  int rc = cli_parse_options(ctx, argc, argv, NULL, NULL, 0, NULL, cmd_messages_usage);
  if (rc != 0)
    return rc;
  mk_err e = {0};
  mk_client *c = NULL;
  mk_client_response r = {0};
  rc = CLI_FAIL;
  if (cli_client_open(ctx, &c, &e) < 0 ||
      mk_client_request(c, "POST", "/v1/messages/read-all", NULL, &r, &e) < 0) {
    cli_fail(&e);
  } else if (ctx->json) {
    rc = cli_print_json(r.json);
  } else {
    printf("marked %lld message(s) read\n",
           (long long)json_integer_value(json_object_get(r.json, "marked")));
    rc = CLI_OK;
  }
  mk_client_response_clear(&r);
  mk_client_free(c);
  return rc;
}

int cmd_messages(int argc, const char **argv, struct cli *ctx) {
  if (argc >= 2 && strcmp(argv[1], "show") == 0)
    return messages_show(argc - 1, argv + 1, ctx);
  if (argc >= 2 && strcmp(argv[1], "read-all") == 0)
    return messages_read_all(argc - 1, argv + 1, ctx);
  return messages_list(argc, argv, ctx);
}
