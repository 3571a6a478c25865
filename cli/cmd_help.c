/* mkey help-center: the help articles (使用帮助) and the 智能客服
 * answerer, which finds the best articles for a question in plain Chinese;
 * every answer ends with the customer-service phone (电话咨询). Public:
 * no login needed. (`mkey help` is the CLI's own usage.) */
#include "cli.h"

#include <string.h>

#define QUESTION_MAX 400 /* bytes; the server allows 100 characters */

const char cmd_help_center_usage[] =
    "usage: mkey help-center\n"
    "       mkey help-center search TEXT... [--limit N]\n"
    "       mkey help-center show ID\n"
    "\n"
    "(no subcommand)  the help articles, in the help centre's order (cached in the\n"
    "                 profile)\n"
    "search           智能客服: the articles that best answer the question TEXT\n"
    "                 (e.g. mkey help-center search 证书过期了怎么办), best first\n"
    "show             one article in full\n"
    "Each answer ends with the customer-service phone. --json prints the server's\n"
    "answer (the list: an array).\n";

static const char *str(const json_t *o, const char *k) {
  const char *v = json_string_value(json_object_get(o, k));
  return v != NULL ? v : "?";
}

static int get(struct cli *ctx, const char *path, mk_client_response *r, mk_err *e) {
  return cli_request(ctx, "GET", path, NULL, r, NULL, e);
}

static int help_list(struct cli *ctx) {
  mk_err e = {0};
  mk_client_response r = {0};
  json_t *all = json_array();
  char path[256] = "/v1/help/articles?limit=100";
  int rc = CLI_FAIL;
  if (all == NULL)
    return cli_error("out of memory");
  for (int page = 0; page < 100; page++) {
    if (get(ctx, path, &r, &e) < 0) {
      cli_fail(&e);
      goto out;
    }
    json_t *items = json_object_get(r.json, "items");
    if (!json_is_array(items) || json_array_extend(all, items) != 0) {
      cli_error("the server's article list has no items");
      goto out;
    }
    const char *next = json_string_value(json_object_get(r.json, "next_cursor"));
    char q[160];
    if (next == NULL)
      break;
    if (cli_query_escape(next, q, sizeof q) != 0) {
      cli_error("the server sent a bad cursor");
      goto out;
    }
    snprintf(path, sizeof path, "/v1/help/articles?limit=100&cursor=%s", q);
  }
  (void)cli_cache_put(ctx, "help-articles", all); /* best effort: shown offline */
  if (ctx->json) {
    rc = cli_print_json(all);
    goto out;
  }
  size_t i;
  json_t *v;
  const char *section = "";
  json_array_foreach(all, i, v) {
    if (strcmp(section, str(v, "section")) != 0) {
      section = str(v, "section");
      printf("%s\n", section);
    }
    printf("  %-24s %s\n", str(v, "id"), str(v, "title"));
  }
  rc = CLI_OK;
out:
  json_decref(all);
  mk_client_response_clear(&r);
  return rc;
}

static int help_search(int argc, const char **argv, struct cli *ctx) {
  const char *limit = NULL;
  const char *args[16];
  int nargs = 0;
  const struct cli_option opts[] = {{"--limit", &limit, NULL}, {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, opts, args, 16, &nargs, cmd_help_center_usage);
  if (rc != 0)
    return rc;
  if (nargs == 0)
    return cli_usage_error(cmd_help_center_usage, "search needs a question");
  /* Words given apart are one question. */
  char question[QUESTION_MAX + 1] = "", q[3 * QUESTION_MAX + 1], ql[32] = "5";
  for (int i = 0; i < nargs; i++) {
    size_t have = strlen(question), add = strlen(args[i]) + (i ? 1 : 0);
    if (have + add > QUESTION_MAX)
      return cli_usage_error(cmd_help_center_usage, "the question is too long");
    snprintf(question + have, sizeof question - have, "%s%s", i ? " " : "", args[i]);
  }
  if (cli_query_escape(question, q, sizeof q) != 0 ||
      (limit != NULL && cli_query_escape(limit, ql, sizeof ql) != 0))
    return cli_usage_error(cmd_help_center_usage, "the question is too long");
  char path[sizeof q + 64];
  snprintf(path, sizeof path, "/v1/help/search?q=%s&limit=%s", q, ql);
  mk_err e = {0};
  mk_client_response r = {0};
  if (get(ctx, path, &r, &e) < 0) {
    rc = cli_fail(&e);
  } else if (ctx->json) {
    rc = cli_print_json(r.json);
  } else {
    json_t *items = json_object_get(r.json, "items");
    size_t i;
    json_t *v;
    if (json_array_size(items) == 0)
      printf("no article answers that; please call customer service\n");
    json_array_foreach(items, i, v) {
      printf("%zu. %s  (%s)\n   %s\n", i + 1, str(v, "title"), str(v, "id"), str(v, "excerpt"));
    }
    printf("客服电话 %s\n", str(r.json, "service_phone"));
    rc = CLI_OK;
  }
  mk_client_response_clear(&r);
  return rc;
}

static int help_show(int argc, const char **argv, struct cli *ctx) {
  const char *args[1];
  int nargs = 0;
  int rc = cli_parse_options(ctx, argc, argv, NULL, args, 1, &nargs, cmd_help_center_usage);
  if (rc != 0)
    return rc;
  size_t n = nargs == 1 ? strlen(args[0]) : 0;
  if (n == 0 || n > 64 ||
      strspn(args[0], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~") != n)
    return cli_usage_error(cmd_help_center_usage, "show needs an article id (hlp_…)");
  char path[128];
  snprintf(path, sizeof path, "/v1/help/articles/%s", args[0]);
  mk_err e = {0};
  mk_client_response r = {0};
  if (get(ctx, path, &r, &e) < 0) {
    rc = cli_fail(&e);
  } else if (ctx->json) {
    rc = cli_print_json(r.json);
  } else {
    printf("%s\n[%s]\n\n%s\n\n客服电话 %s\n", str(r.json, "title"), str(r.json, "section"),
           str(r.json, "body"), str(r.json, "service_phone"));
    rc = CLI_OK;
  }
  mk_client_response_clear(&r);
  return rc;
}

int cmd_help_center(int argc, const char **argv, struct cli *ctx) {
  if (argc >= 2 && strcmp(argv[1], "search") == 0)
    return help_search(argc - 1, argv + 1, ctx);
  if (argc >= 2 && strcmp(argv[1], "show") == 0)
    return help_show(argc - 1, argv + 1, ctx);
  int rc = cli_parse_options(ctx, argc, argv, NULL, NULL, 0, NULL, cmd_help_center_usage);
  if (rc != 0)
    return rc;
  return help_list(ctx);
}
