/* mkey profile: named sets of settings (server URL, later the session token)
 * under $MKEY_HOME/profiles/<name>/, so one user can keep, say, a sandbox
 * and a production server apart. */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#define PROFILE_LIST_MAX 256

const char cmd_profile_usage[] =
    "usage: mkey profile list\n"
    "   or: mkey profile show\n"
    "   or: mkey profile set-server <url>\n"
    "\n"
    "A profile keeps a server URL and, once logged in, a session token in\n"
    "$MKEY_HOME/profiles/<name>/profile.json (mode 0600). Choose one with\n"
    "--profile <name> or $MKEY_PROFILE; without either it is \"default\".\n"
    "set-server on a logged-in profile signs it out: a session belongs to the\n"
    "server that opened it.\n"
    "--json prints one JSON document: for list an array of\n"
    "{\"name\",\"server\",\"current\"}, for show\n"
    "{\"name\",\"path\",\"server\",\"server_source\",\"logged_in\"}, for set-server\n"
    "{\"name\",\"server\",\"signed_out\"}.\n";

static int by_name(const void *a, const void *b) { return strcmp(a, b); }

/* Names of the profile directories, sorted; *n of them. */
static int list_names(char (*names)[CLI_PROFILE_NAME_MAX + 1], size_t *n, mk_err *e) {
  char home[CLI_PATH_MAX], dir[CLI_PATH_MAX + 16];
  *n = 0;
  int rc = cli_home_resolve(home, sizeof home, e);
  if (rc < 0)
    return rc;
  snprintf(dir, sizeof dir, "%s/profiles", home);
  DIR *d = opendir(dir);
  if (d == NULL)
    return errno == ENOENT ? 0 : mk_err_set(e, MK_EIO, "cannot open '%s': %s", dir, strerror(errno));
  struct dirent *ent;
  while ((ent = readdir(d)) != NULL) {
    if (!cli_profile_name_valid(ent->d_name))
      continue;
    struct stat st;
    if (fstatat(dirfd(d), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
      continue;
    if (*n == PROFILE_LIST_MAX) {
      fprintf(stderr, "mkey: more than %d profiles in '%s'; listing %d\n", PROFILE_LIST_MAX, dir,
              PROFILE_LIST_MAX);
      break;
    }
    memcpy(names[(*n)++], ent->d_name, strlen(ent->d_name) + 1);
  }
  closedir(d);
  qsort(names, *n, sizeof names[0], by_name);
  return 0;
}

static int profile_list(int argc, const char **argv, struct cli *ctx) {
  static char names[PROFILE_LIST_MAX][CLI_PROFILE_NAME_MAX + 1];
  size_t n = 0;
  mk_err e = {0};
  json_t *items = NULL;
  int rc = cli_parse_options(ctx, argc, argv, NULL, NULL, 0, NULL, cmd_profile_usage);
  if (rc != 0)
    return rc;
  if (list_names(names, &n, &e) < 0)
    return cli_fail(&e);

  items = json_array(); /* --json: the list itself, as every list is */
  if (items == NULL)
    return cli_error("out of memory");
  for (size_t i = 0; i < n; i++) {
    json_t *cfg = NULL;
    const json_t *server = NULL;
    int current = strcmp(names[i], ctx->profile) == 0;
    if (cli_profile_load(names[i], &cfg, &e) < 0) {
      rc = cli_fail(&e); /* one bad profile does not hide the others */
    } else {
      server = json_object_get(cfg, "server");
      if (!json_is_string(server))
        server = NULL;
    }
    if (ctx->json) {
      if (json_array_append_new(items, json_pack("{s:s, s:O?, s:b}", "name", names[i], "server",
                                                 server, "current", current)) != 0)
        rc = cli_error("out of memory");
    } else {
      printf("%c %-12s %s\n", current ? '*' : ' ', names[i],
             server != NULL ? json_string_value(server) : "(no server set)");
    }
    cli_profile_free(cfg);
  }
  if (ctx->json) {
    int out = cli_print_json(items);
    rc = rc != CLI_OK ? rc : out;
  } else if (n == 0) {
    printf("no profiles yet; 'mkey profile set-server <url>' makes one\n");
  }
  json_decref(items);
  return rc;
}

static int profile_show(int argc, const char **argv, struct cli *ctx) {
  char dir[CLI_PATH_MAX];
  mk_err e = {0};
  json_t *cfg = NULL, *doc = NULL;
  const char *source = NULL;
  int rc = cli_parse_options(ctx, argc, argv, NULL, NULL, 0, NULL, cmd_profile_usage);
  if (rc != 0)
    return rc;
  if (cli_profile_dir(ctx->profile, 0, dir, sizeof dir, &e) < 0 ||
      cli_profile_load(ctx->profile, &cfg, &e) < 0)
    return cli_fail(&e);
  const char *server = cli_server_url(ctx, cfg, &source);
  int logged_in = json_is_string(json_object_get(cfg, "token"));
  if (ctx->json) {
    doc = json_pack("{s:s, s:s, s:s, s:s, s:b}", "name", ctx->profile, "path", dir, "server",
                    server, "server_source", source, "logged_in", logged_in);
    rc = doc != NULL ? cli_print_json(doc) : cli_error("out of memory");
  } else {
    printf("profile    %s\ndirectory  %s\nserver     %s (%s)\nlogged in  %s\n", ctx->profile, dir,
           server, source, logged_in ? "yes" : "no");
  }
  json_decref(doc);
  cli_profile_free(cfg);
  return rc;
}

static int profile_set_server(int argc, const char **argv, struct cli *ctx) {
  const char *args[1];
  int nargs = 0;
  mk_err e = {0};
  mk_client *c = NULL;
  json_t *cfg = NULL, *doc = NULL;
  int rc = cli_parse_options(ctx, argc, argv, NULL, args, 1, &nargs, cmd_profile_usage);
  if (rc != 0)
    return rc;
  if (nargs != 1)
    return cli_usage_error(cmd_profile_usage, "set-server needs a URL");
  /* Validating through the client normalises the URL the way every later
   * request will see it ("http://h/" and "http://h" are one server). */
  if (mk_client_new(args[0], &c, &e) < 0)
    return cli_usage_error(NULL, "%s", e.msg);
  const char *url = mk_client_base_url(c);
  if (cli_profile_load(ctx->profile, &cfg, &e) < 0) {
    rc = cli_fail(&e);
    goto out;
  }
  const json_t *old = json_object_get(cfg, "server");
  json_t *token = json_object_get(cfg, "token");
  int signed_out = 0;
  if (token != NULL && !(json_is_string(old) && strcmp(json_string_value(old), url) == 0)) {
    if (json_is_string(token) && token->refcount == 1)
      OPENSSL_cleanse((char *)json_string_value(token), json_string_length(token));
    signed_out = json_object_del(cfg, "token") == 0;
  }
  if (json_object_set_new(cfg, "server", json_string(url)) != 0) {
    rc = cli_error("out of memory");
    goto out;
  }
  if (cli_profile_save(ctx->profile, cfg, &e) < 0) {
    rc = cli_fail(&e);
    goto out;
  }
  if (ctx->json) {
    doc = json_pack("{s:s, s:s, s:b}", "name", ctx->profile, "server", url, "signed_out",
                    signed_out);
    rc = doc != NULL ? cli_print_json(doc) : cli_error("out of memory");
  } else {
    printf("profile %s: server set to %s%s\n", ctx->profile, url,
           signed_out ? " (signed out of the previous server)" : "");
  }
out:
  json_decref(doc);
  cli_profile_free(cfg);
  mk_client_free(c);
  return rc;
}

int cmd_profile(int argc, const char **argv, struct cli *ctx) {
  static const struct {
    const char *name;
    int (*fn)(int, const char **, struct cli *);
  } subs[] = {
      {"list", profile_list},
      {"show", profile_show},
      {"set-server", profile_set_server},
  };
  if (argc < 2)
    return cli_usage_error(cmd_profile_usage, "profile needs a subcommand");
  for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
    if (strcmp(argv[1], subs[i].name) == 0)
      return subs[i].fn(argc - 1, argv + 1, ctx);
  return cli_usage_error(cmd_profile_usage, "unknown profile subcommand '%.64s'", argv[1]);
}
