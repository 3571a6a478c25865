/* mkey platform: the trading platforms (平台选择): the registry by
 * province, the nearest ones to a position (what the app's location
 * does), and choosing the account's current platform (切换). */
#include "cli.h"

#include <string.h>

const char cmd_platform_usage[] =
    "usage: mkey platform list [--province P]\n"
    "       mkey platform show ID\n"
    "       mkey platform nearest --lat X --lon Y [--limit N]\n"
    "       mkey platform use ID\n"
    "\n"
    "list     trading platforms, optionally of one province (浙江, 江苏, 安徽, 上海;\n"
    "         长三角 for the 长三角CA互认平台); the list is cached in the profile\n"
    "show     one platform; an alliance lists its member platforms\n"
    "nearest  the platforms nearest to latitude X and longitude Y (decimal degrees),\n"
    "         with the distance; a member names its alliance (default 3, at most 10)\n"
    "use      make ID the logged-in account's current platform\n"
    "--json prints the server's answer (list and nearest: an array).\n";

static const char *str(const json_t *o, const char *k) {
  const char *v = json_string_value(json_object_get(o, k));
  return v != NULL ? v : "?";
}

static int api(struct cli *ctx, const char *method, const char *path, const json_t *body,
               mk_client_response *r, mk_err *e) {
  return cli_request(ctx, method, path, body, r, "log in first (mkey login --phone N)", e);
}

/* An id the router accepts as one path segment. */
static int id_ok(const char *id) {
  size_t n = strlen(id);
  return n > 0 && n <= 64 &&
         strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~") == n;
}

static void print_platform(const json_t *p) {
  const json_t *dist = json_object_get(p, "distance_km");
  printf("%-18s %s  %s %s", str(p, "id"), str(p, "name"), str(p, "province"), str(p, "city"));
  if (json_is_number(dist))
    printf("  %.1f km", json_number_value(dist));
  const json_t *a = json_object_get(p, "alliance");
  if (json_is_object(a))
    printf("  [%s]", str(a, "name"));
  printf("\n");
  size_t i;
  json_t *m;
  json_array_foreach(json_object_get(p, "members"), i, m)
      printf("    member: %s %s\n", str(m, "id"), str(m, "name"));
}

static int print_items(struct cli *ctx, const json_t *items, const char *none) {
  if (ctx->json)
    return cli_print_json(items);
  size_t i;
  json_t *v;
  json_array_foreach(items, i, v) print_platform(v);
  if (json_array_size(items) == 0)
    printf("%s\n", none);
  return CLI_OK;
}

static int platform_list(int argc, const char **argv, struct cli *ctx) {
  const char *province = NULL;
  const struct cli_option opts[] = {{"--province", &province, NULL}, {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, opts, NULL, 0, NULL, cmd_platform_usage);
  if (rc != 0)
    return rc;
  char path[512] = "/v1/platforms?limit=100", q[256];
  if (province != NULL) {
    if (cli_query_escape(province, q, sizeof q) != 0)
      return cli_usage_error(cmd_platform_usage, "--province is too long");
    snprintf(path, sizeof path, "/v1/platforms?limit=100&province=%s", q);
  }
  mk_err e = {0};
  mk_client_response r = {0};
  json_t *all = json_array();
  rc = CLI_FAIL;
  if (all == NULL) {
    cli_error("out of memory");
    goto out;
  }
  /* Follow next_cursor; a bounded number of pages. */
  for (int page = 0; page < 100; page++) {
    if (api(ctx, "GET", path, NULL, &r, &e) < 0) {
      cli_fail(&e);
      goto out;
    }
    json_t *items = json_object_get(r.json, "items");
    if (!json_is_array(items) || json_array_extend(all, items) != 0) {
      cli_error("the server's platform list has no items");
      goto out;
    }
    const char *next = json_string_value(json_object_get(r.json, "next_cursor"));
    if (next == NULL)
      break;
    if (!id_ok(next)) {
      cli_error("the server sent a bad cursor");
      goto out;
    }
    snprintf(path, sizeof path, "/v1/platforms?limit=100&cursor=%s%s%s", next,
             province ? "&province=" : "", province ? q : "");
  }
  if (province == NULL)
    (void)cli_cache_put(ctx, "platforms", all); /* best effort: shown offline */
  rc = print_items(ctx, all, "no platforms");
out:
  json_decref(all);
  mk_client_response_clear(&r);
  return rc;
}

static int platform_show(int argc, const char **argv, struct cli *ctx) {
  const char *args[1];
  int nargs = 0;
  int rc = cli_parse_options(ctx, argc, argv, NULL, args, 1, &nargs, cmd_platform_usage);
  if (rc != 0)
    return rc;
  if (nargs != 1 || !id_ok(args[0]))
    return cli_usage_error(cmd_platform_usage, "show needs a platform id");
  char path[128];
  snprintf(path, sizeof path, "/v1/platforms/%s", args[0]);
  mk_err e = {0};
  mk_client_response r = {0};
  if (api(ctx, "GET", path, NULL, &r, &e) < 0)
    rc = cli_fail(&e);
  else if (ctx->json)
    rc = cli_print_json(r.json);
  else {
    print_platform(r.json);
    rc = CLI_OK;
  }
  mk_client_response_clear(&r);
  return rc;
}

static int platform_nearest(int argc, const char **argv, struct cli *ctx) {
  const char *lat = NULL, *lon = NULL, *limit = NULL;
  const struct cli_option opts[] = {
      {"--lat", &lat, NULL}, {"--lon", &lon, NULL}, {"--limit", &limit, NULL}, {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, opts, NULL, 0, NULL, cmd_platform_usage);
  if (rc != 0)
    return rc;
  if (lat == NULL || lon == NULL)
    return cli_usage_error(cmd_platform_usage, "nearest needs --lat and --lon");
  char qlat[64], qlon[64], qlim[32] = "3", path[256];
  /* The server checks the numbers; here they only have to fit a query. */
  if (cli_query_escape(lat, qlat, sizeof qlat) != 0 || cli_query_escape(lon, qlon, sizeof qlon) != 0 ||
      (limit != NULL && cli_query_escape(limit, qlim, sizeof qlim) != 0))
    return cli_usage_error(cmd_platform_usage, "--lat, --lon and --limit are short numbers");
  snprintf(path, sizeof path, "/v1/platforms/nearest?lat=%s&lon=%s&limit=%s", qlat, qlon, qlim);
  mk_err e = {0};
  mk_client_response r = {0};
  if (api(ctx, "GET", path, NULL, &r, &e) < 0)
    rc = cli_fail(&e);
  else
    rc = print_items(ctx, json_object_get(r.json, "items"), "no platforms");
  mk_client_response_clear(&r);
  return rc;
}

static int platform_use(int argc, const char **argv, struct cli *ctx) {
  const char *args[1];
  int nargs = 0;
  int rc = cli_parse_options(ctx, argc, argv, NULL, args, 1, &nargs, cmd_platform_usage);
  if (rc != 0)
    return rc;
  if (nargs != 1)
    return cli_usage_error(cmd_platform_usage, "use needs a platform id");
  mk_err e = {0};
  mk_client_response r = {0};
  json_t *body = json_pack("{s:s}", "platform_id", args[0]);
  if (body == NULL)
    return cli_error("the platform id must be UTF-8");
  if (api(ctx, "PUT", "/v1/me/platform", body, &r, &e) < 0) {
    rc = cli_fail(&e);
  } else if (ctx->json) {
    rc = cli_print_json(r.json);
  } else {
    const json_t *p = json_object_get(r.json, "platform");
    printf("current platform: %s %s\n", str(p, "id"), str(p, "name"));
    rc = CLI_OK;
  }
  json_decref(body);
  mk_client_response_clear(&r);
  return rc;
}

int cmd_platform(int argc, const char **argv, struct cli *ctx) {
  static const struct {
    const char *name;
    int (*fn)(int, const char **, struct cli *);
  } subs[] = {{"list", platform_list},
              {"show", platform_show},
              {"nearest", platform_nearest},
              {"use", platform_use}};
  if (argc < 2)
    return cli_usage_error(cmd_platform_usage, "platform needs a subcommand");
  for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
    if (strcmp(argv[1], subs[i].name) == 0)
      return subs[i].fn(argc - 1, argv + 1, ctx);
  return cli_usage_error(cmd_platform_usage, "unknown platform subcommand '%.64s'", argv[1]);
}
