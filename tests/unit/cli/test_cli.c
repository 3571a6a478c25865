/*
 * The CLI's plumbing and first commands: dispatch, global and per-command
 * options, MKEY_HOME resolution, profile files (modes, atomic writes, refusals),
 * server precedence, error codes, --json documents (an array for lists), and
 * `version`, `status`, `profile` against a canned server.
 * Every test runs with its own MKEY_HOME under /tmp.
 */
#include "mk_test.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

/* ---- fixtures ------------------------------------------------------------ */

static char home[128];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  return remove(path);
}

static int setup(void **state) {
  snprintf(home, sizeof home, "/tmp/mkey-test-cli-XXXXXX");
  assert_non_null(mkdtemp(home));
  setenv("MKEY_HOME", home, 1);
  unsetenv("MKEY_SERVER");
  unsetenv("MKEY_PROFILE");
  return 0;
}

static int teardown(void **state) {
  umask(022);
  nftw(home, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return 0;
}

/* stdout and stderr of one call, read back after it. */
struct capture {
  int saved_out, saved_err;
  FILE *out, *err;
  char stdout_text[16384], stderr_text[16384];
};

static void capture_begin(struct capture *c) {
  fflush(stdout);
  fflush(stderr);
  c->out = tmpfile();
  c->err = tmpfile();
  assert_non_null(c->out);
  assert_non_null(c->err);
  c->saved_out = dup(1);
  c->saved_err = dup(2);
  assert_true(dup2(fileno(c->out), 1) >= 0);
  assert_true(dup2(fileno(c->err), 2) >= 0);
}

static void slurp(FILE *f, char *buf, size_t cap) {
  rewind(f);
  size_t n = fread(buf, 1, cap - 1, f);
  buf[n] = '\0';
  fclose(f);
}

static void capture_end(struct capture *c) {
  fflush(stdout);
  fflush(stderr);
  dup2(c->saved_out, 1);
  dup2(c->saved_err, 2);
  close(c->saved_out);
  close(c->saved_err);
  slurp(c->out, c->stdout_text, sizeof c->stdout_text);
  slurp(c->err, c->stderr_text, sizeof c->stderr_text);
}

/* A stand-in command that records how it was called. */
static int probe_calls, probe_argc, probe_json;
static char probe_args[4][64];
static const char probe_usage[] = "usage: mkey probe [<arg>...]\n";

static int cmd_probe(int argc, const char **argv, struct cli *ctx) {
  probe_calls++;
  probe_argc = argc;
  probe_json = ctx->json;
  for (int i = 0; i < argc && i < 4; i++)
    snprintf(probe_args[i], sizeof probe_args[i], "%s", argv[i]);
  return 7;
}

static const struct cli_command commands[] = {
    {"probe", cmd_probe, "a command for tests", probe_usage},
    {"help", cmd_help, "show help", cmd_help_usage},
    {"profile", cmd_profile, "profiles", cmd_profile_usage},
    {"status", cmd_status, "server status", cmd_status_usage},
    {"version", cmd_version, "version", cmd_version_usage},
    {NULL, NULL, NULL, NULL},
};

/* cli_main on a NULL-terminated argument list (without "mkey"). */
static int run(struct capture *c, const char *const *args) {
  const char *argv[16] = {"mkey"};
  int argc = 1;
  while (args[argc - 1] != NULL && argc < 15) {
    argv[argc] = args[argc - 1];
    argc++;
  }
  capture_begin(c);
  int rc = cli_main(commands, argc, argv);
  capture_end(c);
  return rc;
}
#define RUN(c, ...) run((c), (const char *const[]){__VA_ARGS__, NULL})

/* ---- canned HTTP server: connection i gets responses[i] ------------------ */

#define CANNED_MAX 4

struct canned {
  int fd, port, n;
  pthread_t thread;
  const char *responses[CANNED_MAX];
  char requests[CANNED_MAX][4096];
};

static void *serve(void *arg) {
  struct canned *s = arg;
  for (int i = 0; i < s->n; i++) {
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    if (poll(&p, 1, 10000) != 1)
      break;
    int fd = accept(s->fd, NULL, NULL);
    if (fd < 0)
      break;
    size_t len = 0;
    char *req = s->requests[i];
    while (len < sizeof s->requests[i] - 1 && strstr(req, "\r\n\r\n") == NULL) {
      ssize_t r = recv(fd, req + len, sizeof s->requests[i] - 1 - len, 0);
      if (r <= 0)
        break;
      len += (size_t)r;
      req[len] = '\0';
    }
    const char *resp = s->responses[i];
    (void)!send(fd, resp, strlen(resp), MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR);
    close(fd);
  }
  return NULL;
}

static int loopback_socket(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

static void canned_start(struct canned *s) {
  s->fd = loopback_socket(&s->port);
  assert_int_equal(listen(s->fd, 4), 0);
  assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void canned_stop(struct canned *s) {
  pthread_join(s->thread, NULL);
  close(s->fd);
}

#define HEALTH_OK                                                                                \
  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 28\r\n"                 \
  "Connection: close\r\n\r\n{\"status\":\"ok\",\"store\":\"ok\"}"
#define VERSION_OK                                                                               \
  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 45\r\n"                 \
  "Connection: close\r\n\r\n{\"name\":\"mkeyd\",\"version\":\"0.1.0\",\"api\":\"v1\"}"

/* ---- profile names and MKEY_HOME ------------------------------------------- */

static void test_cli_profile_name_valid(void **state) {
  static const char *const good[] = {"default", "work-2", "a_b", "0", "abcdefghijklmnopqrstuvwxyz012345"};
  static const char *const bad[] = {"",   "Default", "a.b", "a/b", "..", "a b", "caf\xc3\xa9",
                                    "abcdefghijklmnopqrstuvwxyz0123456"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    assert_true(cli_profile_name_valid(good[i]));
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_false(cli_profile_name_valid(bad[i]));
}

static void test_cli_home_mkey_home(void **state) {
  char out[CLI_PATH_MAX];
  mk_err e = {0};
  setenv("XDG_DATA_HOME", "/xdg", 1);
  setenv("MKEY_HOME", "/srv/mkey//", 1);
  assert_mk_ok(cli_home_resolve(out, sizeof out, &e));
  assert_string_equal(out, "/srv/mkey");
  setenv("MKEY_HOME", "relative/dir", 1);
  assert_mk_fails(cli_home_resolve(out, sizeof out, &e), MK_EINVAL);
  assert_non_null(strstr(e.msg, "MKEY_HOME must be an absolute path"));
  /* Empty counts as unset. */
  setenv("MKEY_HOME", "", 1);
  assert_mk_ok(cli_home_resolve(out, sizeof out, &e));
  assert_string_equal(out, "/xdg/mkey");
  char small[8];
  setenv("MKEY_HOME", "/a/long/path", 1);
  assert_mk_fails(cli_home_resolve(small, sizeof small, &e), MK_ETOOBIG);
}

static void test_cli_home_xdg_and_home(void **state) {
  char out[CLI_PATH_MAX];
  mk_err e = {0};
  const char *saved = getenv("HOME");
  char saved_home[CLI_PATH_MAX] = "";
  if (saved != NULL)
    snprintf(saved_home, sizeof saved_home, "%s", saved);
  unsetenv("MKEY_HOME");
  setenv("HOME", "/home/alice", 1);
  setenv("XDG_DATA_HOME", "/home/alice/data", 1);
  assert_mk_ok(cli_home_resolve(out, sizeof out, &e));
  assert_string_equal(out, "/home/alice/data/mkey");
  /* The XDG spec says a relative value is invalid and must be ignored. */
  setenv("XDG_DATA_HOME", "data", 1);
  assert_mk_ok(cli_home_resolve(out, sizeof out, &e));
  assert_string_equal(out, "/home/alice/.local/share/mkey");
  unsetenv("XDG_DATA_HOME");
  assert_mk_ok(cli_home_resolve(out, sizeof out, &e));
  assert_string_equal(out, "/home/alice/.local/share/mkey");
  unsetenv("HOME");
  assert_mk_fails(cli_home_resolve(out, sizeof out, &e), MK_EINVAL);
  assert_non_null(strstr(e.msg, "set MKEY_HOME"));
  if (saved_home[0] != '\0')
    setenv("HOME", saved_home, 1);
}

/* ---- dispatch and options ---------------------------------------------------- */

static void test_cli_parse_global(void **state) {
  struct cli ctx = {0};
  int used = 0;
  const char *a1[] = {"mkey", "--server", "http://h:1", "--profile=work", "--json", "status", "--x"};
  assert_int_equal(cli_parse_global(&ctx, 7, a1, &used), 0);
  assert_string_equal(ctx.server, "http://h:1");
  assert_string_equal(ctx.profile, "work");
  assert_true(ctx.json);
  assert_int_equal(used, 5);

  struct cli c2 = {0};
  const char *a2[] = {"mkey", "--server=https://h", "-h", "--version", "--", "--odd"};
  assert_int_equal(cli_parse_global(&c2, 6, a2, &used), 0);
  assert_string_equal(c2.server, "https://h");
  assert_true(c2.help);
  assert_true(c2.version);
  assert_int_equal(used, 5);

  struct cli c3 = {0};
  const char *a3[] = {"mkey"};
  assert_int_equal(cli_parse_global(&c3, 1, a3, &used), 0);
  assert_int_equal(used, 1);

  struct capture cap;
  const char *bad[][3] = {
      {"mkey", "--server", NULL}, {"mkey", "--profile", "Bad!"}, {"mkey", "--bogus", "status"},
      {"mkey", "--server=", "status"}, {"mkey", "--jsonx", "status"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct cli c = {0};
    int argc = bad[i][2] == NULL ? 2 : 3;
    capture_begin(&cap);
    int rc = cli_parse_global(&c, argc, bad[i], &used);
    capture_end(&cap);
    assert_int_equal(rc, CLI_USAGE);
    assert_true(strncmp(cap.stderr_text, "mkey: ", 6) == 0);
  }
}

static void test_cli_dispatch_unknown(void **state) {
  struct capture c;
  assert_int_equal(RUN(&c, "frobnicate", "--json"), CLI_USAGE);
  assert_string_equal(c.stderr_text, "mkey: 'frobnicate' is not a mkey command. See 'mkey help'.\n");
  assert_string_equal(c.stdout_text, "");
  assert_int_equal(RUN(&c, "--json", "--bogus", "version"), CLI_USAGE);
  assert_string_equal(c.stderr_text, "mkey: unknown option '--bogus'. See 'mkey help'.\n");
  /* Unknown even when asking for help with it. */
  assert_int_equal(RUN(&c, "help", "frobnicate"), CLI_USAGE);
  assert_string_equal(c.stderr_text, "mkey: 'frobnicate' is not a mkey command. See 'mkey help'.\n");
}

static void test_cli_dispatch_runs_command(void **state) {
  struct capture c;
  probe_calls = 0;
  assert_int_equal(RUN(&c, "--json", "--profile", "work", "probe", "a", "--", "-h"), 7);
  assert_int_equal(probe_calls, 1);
  assert_int_equal(probe_argc, 4);
  assert_string_equal(probe_args[0], "probe");
  assert_string_equal(probe_args[1], "a");
  assert_string_equal(probe_args[3], "-h"); /* after "--" it is an argument */
  assert_true(probe_json);
}

static void test_cli_help(void **state) {
  struct capture c;
  probe_calls = 0;
  assert_int_equal(RUN(&c, "help"), CLI_OK);
  assert_non_null(strstr(c.stdout_text, "usage: mkey [--server <url>]"));
  assert_non_null(strstr(c.stdout_text, "  probe        a command for tests\n"));
  assert_non_null(strstr(c.stdout_text, "  version      version\n"));
  assert_int_equal(RUN(&c, "--help"), CLI_OK);
  assert_non_null(strstr(c.stdout_text, "commands:"));
  assert_int_equal(RUN(&c, "help", "probe"), CLI_OK);
  assert_string_equal(c.stdout_text, probe_usage);
  assert_int_equal(RUN(&c, "probe", "x", "--help"), CLI_OK);
  assert_string_equal(c.stdout_text, probe_usage);
  assert_int_equal(RUN(&c, "-h", "probe"), CLI_OK);
  assert_string_equal(c.stdout_text, probe_usage);
  assert_int_equal(probe_calls, 0);
  /* No command: usage on stderr, a usage error. */
  const char *none[] = {NULL};
  assert_int_equal(run(&c, none), CLI_USAGE);
  assert_string_equal(c.stdout_text, "");
  assert_non_null(strstr(c.stderr_text, "usage: mkey"));
}

/* --json help: a list is an array, one command an object. */
static void test_cli_help_json(void **state) {
  struct capture c;
  const char *const forms[][4] = {{"--json", "help", NULL}, {"help", "--json", NULL},
                                  {"--json", "--help", NULL}};
  for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
    assert_int_equal(run(&c, forms[f]), CLI_OK);
    assert_string_equal(c.stderr_text, "");
    json_t *doc = json_loads(c.stdout_text, 0, NULL);
    assert_non_null(doc);
    assert_true(json_is_array(doc));
    assert_int_equal(json_array_size(doc), 5); /* every entry of commands[] */
    json_t *first = json_array_get(doc, 0);
    assert_int_equal(json_object_size(first), 2);
    assert_string_equal(json_string_value(json_object_get(first, "name")), "probe");
    assert_string_equal(json_string_value(json_object_get(first, "summary")), "a command for tests");
    assert_string_equal(json_string_value(json_object_get(json_array_get(doc, 4), "name")), "version");
    json_decref(doc);
  }

  const char *const one[][4] = {{"--json", "help", "probe", NULL}, {"help", "probe", "--json", NULL},
                                {"--json", "probe", "--help", NULL}, {"probe", "-h", "--json", NULL}};
  probe_calls = 0;
  for (size_t f = 0; f < sizeof one / sizeof one[0]; f++) {
    assert_int_equal(run(&c, one[f]), CLI_OK);
    json_t *doc = json_loads(c.stdout_text, 0, NULL);
    assert_non_null(doc);
    assert_true(json_is_object(doc));
    assert_int_equal(json_object_size(doc), 3);
    assert_string_equal(json_string_value(json_object_get(doc, "name")), "probe");
    assert_string_equal(json_string_value(json_object_get(doc, "summary")), "a command for tests");
    assert_string_equal(json_string_value(json_object_get(doc, "usage")), probe_usage);
    json_decref(doc);
  }
  assert_int_equal(probe_calls, 0);

  /* An unknown command stays an error with nothing on stdout. */
  assert_int_equal(RUN(&c, "--json", "help", "frobnicate"), CLI_USAGE);
  assert_string_equal(c.stdout_text, "");
}

static void test_cli_command_options(void **state) {
  struct cli ctx = {0};
  const char *limit = NULL, *args[2];
  int all = 0, n = 0;
  const struct cli_option opts[] = {{"--limit", &limit, NULL}, {"--all", NULL, &all}, {NULL, NULL, NULL}};
  const char *a1[] = {"list", "--limit", "5", "x", "--all", "--json", "--", "--y"};
  assert_int_equal(cli_parse_options(&ctx, 8, a1, opts, args, 2, &n, "u\n"), 0);
  assert_string_equal(limit, "5");
  assert_true(all);
  assert_true(ctx.json);
  assert_int_equal(n, 2);
  assert_string_equal(args[0], "x");
  assert_string_equal(args[1], "--y");
  const char *a2[] = {"list", "--limit=7", "--profile", "other"};
  assert_int_equal(cli_parse_options(&ctx, 4, a2, opts, args, 2, &n, "u\n"), 0);
  assert_string_equal(limit, "7");
  assert_string_equal(ctx.profile, "other");
  assert_int_equal(n, 0);

  struct capture c;
  const char *bad[][3] = {{"list", "--nope", NULL}, {"list", "--limit", NULL}, {"list", "a", "b"}};
  for (size_t i = 0; i < 3; i++) {
    capture_begin(&c);
    int rc = cli_parse_options(&ctx, bad[i][2] ? 3 : 2, bad[i], opts, args, 1, &n, "usage: u\n");
    capture_end(&c);
    assert_int_equal(rc, CLI_USAGE);
    assert_true(strncmp(c.stderr_text, "mkey: ", 6) == 0);
    assert_non_null(strstr(c.stderr_text, "usage: u\n"));
  }
}

/* ---- files --------------------------------------------------------------------- */

static mode_t mode_of(const char *path) {
  struct stat st;
  assert_int_equal(lstat(path, &st), 0);
  return st.st_mode & 07777;
}

static void test_cli_profile_modes(void **state) {
  char dir[CLI_PATH_MAX], path[CLI_PATH_MAX + 32], sub[CLI_PATH_MAX];
  mk_err e = {0};
  umask(0); /* the modes must not depend on the caller's umask */
  snprintf(sub, sizeof sub, "%s/nested/mkey", home);
  setenv("MKEY_HOME", sub, 1);
  json_t *cfg = json_pack("{s:s}", "server", "http://127.0.0.1:8080");
  assert_mk_ok(cli_profile_save("default", cfg, &e));
  json_decref(cfg);
  assert_mk_ok(cli_profile_dir("default", 0, dir, sizeof dir, &e));
  snprintf(path, sizeof path, "%s/profile.json", dir);
  assert_int_equal(mode_of(sub), 0700);
  assert_int_equal(mode_of(dir), 0700);
  assert_int_equal(mode_of(path), 0600);
  snprintf(path, sizeof path, "%s/profiles", sub);
  assert_int_equal(mode_of(path), 0700);

  /* A profile directory left open by hand is closed again. */
  assert_int_equal(chmod(dir, 0755), 0);
  assert_mk_ok(cli_profile_dir("default", 1, dir, sizeof dir, &e));
  assert_int_equal(mode_of(dir), 0700);

  /* A symlink in its place is refused, not followed. */
  char link[CLI_PATH_MAX + 32];
  snprintf(link, sizeof link, "%s/profiles/evil", sub);
  assert_int_equal(symlink(home, link), 0);
  assert_mk_fails(cli_profile_dir("evil", 1, dir, sizeof dir, &e), MK_EPERM);
  assert_mk_fails(cli_profile_dir("Evil", 1, dir, sizeof dir, &e), MK_EINVAL);
}

static void test_cli_profile_roundtrip(void **state) {
  mk_err e = {0};
  json_t *cfg = NULL;
  char dir[CLI_PATH_MAX];
  struct stat st;
  /* Loading a profile that does not exist creates nothing. */
  assert_mk_ok(cli_profile_load("fresh", &cfg, &e));
  assert_int_equal(json_object_size(cfg), 0);
  cli_profile_free(cfg);
  assert_mk_ok(cli_profile_dir("fresh", 0, dir, sizeof dir, &e));
  assert_int_equal(stat(dir, &st), -1);

  json_t *in = json_pack("{s:s, s:s}", "server", "https://mkey.example.com", "token", "tok_secret");
  assert_mk_ok(cli_profile_save("fresh", in, &e));
  json_decref(in);
  assert_mk_ok(cli_profile_load("fresh", &cfg, &e));
  assert_string_equal(json_string_value(json_object_get(cfg, "server")), "https://mkey.example.com");
  assert_string_equal(json_string_value(json_object_get(cfg, "token")), "tok_secret");
  cli_profile_free(cfg);
}

static void test_cli_profile_load_refuses(void **state) {
  mk_err e = {0};
  json_t *cfg = NULL;
  char dir[CLI_PATH_MAX], path[CLI_PATH_MAX + 32];
  json_t *in = json_pack("{s:s}", "token", "tok_secret");
  assert_mk_ok(cli_profile_save("default", in, &e));
  json_decref(in);
  assert_mk_ok(cli_profile_dir("default", 0, dir, sizeof dir, &e));
  snprintf(path, sizeof path, "%s/profile.json", dir);

  assert_int_equal(chmod(path, 0644), 0);
  assert_mk_fails(cli_profile_load("default", &cfg, &e), MK_EPERM);
  assert_null(cfg);
  assert_non_null(strstr(e.msg, "accessible by other users (mode 0644): run chmod 600"));
  assert_null(strstr(e.msg, "tok_secret"));
  assert_int_equal(chmod(path, 0640), 0);
  assert_mk_fails(cli_profile_load("default", &cfg, &e), MK_EPERM);
  assert_int_equal(chmod(path, 0602), 0);
  assert_mk_fails(cli_profile_load("default", &cfg, &e), MK_EPERM);
  assert_int_equal(chmod(path, 0400), 0); /* read-only for its owner is fine */
  assert_mk_ok(cli_profile_load("default", &cfg, &e));
  assert_string_equal(json_string_value(json_object_get(cfg, "token")), "tok_secret");
  cli_profile_free(cfg);
  cfg = NULL;
  assert_int_equal(chmod(path, 0600), 0);

  /* Not JSON: named in the error. */
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("{\"server\":", f);
  fclose(f);
  assert_int_equal(chmod(path, 0600), 0);
  assert_mk_fails(cli_profile_load("default", &cfg, &e), MK_EINVAL);
  assert_non_null(strstr(e.msg, "profile.json"));
  /* Without an error object the code is still the parser's. */
  assert_mk_fails(cli_profile_load("default", &cfg, NULL), MK_EINVAL);
  assert_null(cfg);

  /* Over the cap. */
  f = fopen(path, "w");
  assert_non_null(f);
  fputs("{\"server\":\"", f);
  for (int i = 0; i < CLI_PROFILE_FILE_MAX; i++)
    fputc('a', f);
  fputs("\"}", f);
  fclose(f);
  assert_mk_fails(cli_profile_load("default", &cfg, &e), MK_ETOOBIG);
  assert_null(cfg);

  /* A symlink is not followed, even to a private file of the same user. */
  char other[CLI_PATH_MAX + 32];
  snprintf(other, sizeof other, "%s/elsewhere.json", home);
  f = fopen(other, "w");
  assert_non_null(f);
  fputs("{\"token\":\"tok_planted\"}", f);
  fclose(f);
  assert_int_equal(chmod(other, 0600), 0);
  assert_int_equal(unlink(path), 0);
  assert_int_equal(symlink(other, path), 0);
  assert_mk_fails(cli_profile_load("default", &cfg, &e), MK_EPERM);
  assert_null(cfg);
  assert_non_null(strstr(e.msg, "symbolic link"));
  assert_int_equal(unlink(path), 0);
  assert_int_equal(symlink("/nonexistent/profile.json", path), 0); /* dangling */
  assert_mk_fails(cli_profile_load("default", &cfg, &e), MK_EPERM);
  assert_null(cfg);

  /* A directory in its place. */
  assert_int_equal(unlink(path), 0);
  assert_int_equal(mkdir(path, 0700), 0);
  assert_true(cli_profile_load("default", &cfg, &e) < 0);
  assert_null(cfg);
}

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  int n = 0;
  struct dirent *ent;
  while ((ent = readdir(d)) != NULL)
    if (strcmp(ent->d_name, ".") != 0 && strcmp(ent->d_name, "..") != 0)
      n++;
  closedir(d);
  return n;
}

/* Saving goes through mk_file_write_private: the file is replaced whole,
 * 0600 whatever it was before, and no temp file is left either way. */
static void test_cli_profile_save_atomic(void **state) {
  char dir[CLI_PATH_MAX], path[CLI_PATH_MAX + 32];
  mk_err e = {0};
  json_t *cfg = NULL;
  umask(0);
  json_t *in = json_pack("{s:s, s:s}", "server", "https://a.example", "token", "tok_first");
  assert_mk_ok(cli_profile_save("default", in, &e));
  json_decref(in);
  assert_mk_ok(cli_profile_dir("default", 0, dir, sizeof dir, &e));
  snprintf(path, sizeof path, "%s/profile.json", dir);
  assert_int_equal(chmod(path, 0644), 0);

  in = json_pack("{s:s}", "server", "https://b.example");
  assert_mk_ok(cli_profile_save("default", in, &e));
  json_decref(in);
  assert_int_equal(mode_of(path), 0600);
  assert_int_equal(count_entries(dir), 1);
  assert_mk_ok(cli_profile_load("default", &cfg, &e));
  assert_int_equal(json_object_size(cfg), 1);
  assert_string_equal(json_string_value(json_object_get(cfg, "server")), "https://b.example");
  cli_profile_free(cfg);

  /* profile.json is a non-empty directory: the rename fails, nothing is left. */
  assert_int_equal(unlink(path), 0);
  assert_int_equal(mkdir(path, 0700), 0);
  char inner[CLI_PATH_MAX + 64];
  snprintf(inner, sizeof inner, "%s/keep", path);
  assert_int_equal(mkdir(inner, 0700), 0);
  in = json_pack("{s:s}", "server", "https://c.example");
  assert_mk_fails(cli_profile_save("default", in, &e), MK_EIO);
  assert_non_null(strstr(e.msg, "cannot rename"));
  /* Without an error object the code is still the write's. */
  assert_mk_fails(cli_profile_save("default", in, NULL), MK_EIO);
  json_decref(in);
  assert_int_equal(count_entries(dir), 1);
}

/* cli_client_open keeps the code of what failed, with or without an mk_err. */
static void test_cli_client_open_codes(void **state) {
  struct cli ctx = {.server = "ftp://x", .profile = "default"};
  mk_client *c = NULL;
  mk_err e = {0};
  mk_err probe = {0};
  int want = mk_client_new("ftp://x", &c, &probe);
  assert_true(want < 0);
  assert_null(c);
  assert_mk_fails(cli_client_open(&ctx, &c, &e), want);
  assert_non_null(strstr(e.msg, "server URL from --server: "));
  assert_mk_fails(cli_client_open(&ctx, &c, NULL), want);
  assert_null(c);
}

/* ---- server precedence --------------------------------------------------------- */

static void test_cli_server_precedence(void **state) {
  struct cli ctx = {.server = "http://flag:1"};
  const char *src = NULL;
  json_t *profile = json_pack("{s:s}", "server", "http://profile:3");
  setenv("MKEY_SERVER", "http://env:2", 1);
  assert_string_equal(cli_server_url(&ctx, profile, &src), "http://flag:1");
  assert_string_equal(src, "flag");
  ctx.server = NULL;
  assert_string_equal(cli_server_url(&ctx, profile, &src), "http://env:2");
  assert_string_equal(src, "env");
  setenv("MKEY_SERVER", "", 1);
  assert_string_equal(cli_server_url(&ctx, profile, &src), "http://profile:3");
  assert_string_equal(src, "profile");
  unsetenv("MKEY_SERVER");
  assert_string_equal(cli_server_url(&ctx, NULL, &src), CLI_SERVER_DEFAULT);
  assert_string_equal(src, "default");
  json_decref(profile);
}

/* ---- commands ------------------------------------------------------------------ */

static void test_cli_version(void **state) {
  struct capture c;
  assert_int_equal(RUN(&c, "version"), CLI_OK);
  assert_string_equal(c.stdout_text, "mkey " MKEY_VERSION "\n");
  assert_int_equal(RUN(&c, "--version"), CLI_OK);
  assert_string_equal(c.stdout_text, "mkey " MKEY_VERSION "\n");
  assert_int_equal(RUN(&c, "version", "--json"), CLI_OK);
  json_t *doc = json_loads(c.stdout_text, 0, NULL);
  assert_non_null(doc);
  assert_string_equal(json_string_value(json_object_get(doc, "name")), "mkey");
  assert_string_equal(json_string_value(json_object_get(doc, "version")), MKEY_VERSION);
  json_decref(doc);
  assert_int_equal(RUN(&c, "version", "extra"), CLI_USAGE);
}

static void test_cli_status_ok(void **state) {
  struct canned s = {.n = 4, .responses = {HEALTH_OK, VERSION_OK, HEALTH_OK, VERSION_OK}};
  canned_start(&s);
  char url[64], want[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", s.port);
  snprintf(want, sizeof want, "server %s: ok (mkeyd 0.1.0, store ok)\n", url);
  struct capture c;
  assert_int_equal(RUN(&c, "--server", url, "status"), CLI_OK);
  assert_string_equal(c.stdout_text, want);
  assert_string_equal(c.stderr_text, "");

  assert_int_equal(RUN(&c, "--server", url, "status", "--json"), CLI_OK);
  canned_stop(&s);
  json_t *doc = json_loads(c.stdout_text, 0, NULL);
  assert_non_null(doc);
  assert_string_equal(json_string_value(json_object_get(doc, "server")), url);
  assert_string_equal(json_string_value(json_object_get(doc, "status")), "ok");
  assert_string_equal(json_string_value(json_object_get(doc, "store")), "ok");
  assert_string_equal(json_string_value(json_object_get(doc, "version")), "0.1.0");
  assert_string_equal(json_string_value(json_object_get(doc, "api")), "v1");
  json_decref(doc);
  assert_non_null(strstr(s.requests[0], "GET /v1/health HTTP/1.1\r\n"));
  assert_non_null(strstr(s.requests[1], "GET /v1/version HTTP/1.1\r\n"));
}

static void test_cli_status_unhealthy(void **state) {
  struct canned s = {
      .n = 2,
      .responses = {"HTTP/1.1 503 X\r\nContent-Type: application/json\r\nContent-Length: 37\r\n"
                    "Connection: close\r\n\r\n{\"status\":\"degraded\",\"store\":\"error\"}",
                    VERSION_OK}};
  canned_start(&s);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", s.port);
  struct capture c;
  assert_int_equal(RUN(&c, "--server", url, "status"), CLI_FAIL);
  canned_stop(&s);
  assert_non_null(strstr(c.stdout_text, ": degraded (mkeyd 0.1.0, store error)\n"));
}

static void test_cli_status_unreachable(void **state) {
  int port;
  int fd = loopback_socket(&port); /* bound, not listening: refused */
  char url[64], want[160];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
  snprintf(want, sizeof want, "mkey: cannot reach %s: Couldn't connect to server\n", url);
  setenv("MKEY_SERVER", url, 1);
  struct capture c;
  assert_int_equal(RUN(&c, "status"), CLI_FAIL);
  assert_string_equal(c.stderr_text, want);
  assert_string_equal(c.stdout_text, "");
  assert_int_equal(RUN(&c, "--json", "status"), CLI_FAIL);
  assert_string_equal(c.stderr_text, want);
  assert_string_equal(c.stdout_text, "");
  close(fd);
  assert_int_equal(RUN(&c, "--server", "ftp://x", "status"), CLI_FAIL);
  assert_non_null(strstr(c.stderr_text, "mkey: server URL from --server: "));
}

/* The session token goes to the server that issued it and nowhere else. */
static void test_cli_token_only_to_its_server(void **state) {
  struct canned s = {.n = 4, .responses = {HEALTH_OK, VERSION_OK, HEALTH_OK, VERSION_OK}};
  canned_start(&s);
  char url[64], other[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", s.port);
  snprintf(other, sizeof other, "http://localhost:%d", s.port);
  mk_err e = {0};
  json_t *cfg = json_pack("{s:s, s:s}", "server", url, "token", "tok_abc123");
  assert_mk_ok(cli_profile_save("default", cfg, &e));
  json_decref(cfg);
  struct capture c;
  assert_int_equal(RUN(&c, "status"), CLI_OK);
  assert_int_equal(RUN(&c, "--server", other, "status"), CLI_OK);
  canned_stop(&s);
  assert_non_null(strstr(s.requests[0], "\r\nAuthorization: Bearer tok_abc123\r\n"));
  assert_null(strstr(s.requests[2], "tok_abc123"));
  assert_null(strstr(c.stdout_text, "tok_abc123"));
}

static void test_cli_profile_commands(void **state) {
  struct capture c;
  assert_int_equal(RUN(&c, "profile", "list"), CLI_OK);
  assert_non_null(strstr(c.stdout_text, "no profiles yet"));
  assert_int_equal(RUN(&c, "profile", "list", "--json"), CLI_OK);
  assert_string_equal(c.stdout_text, "[]\n");
  assert_int_equal(RUN(&c, "profile", "set-server", "https://mkey.example.com/"), CLI_OK);
  assert_string_equal(c.stdout_text, "profile default: server set to https://mkey.example.com\n");
  assert_int_equal(RUN(&c, "--profile", "work", "profile", "set-server", "http://10.0.0.1:8080"), CLI_OK);
  assert_int_equal(RUN(&c, "profile", "list"), CLI_OK);
  assert_string_equal(c.stdout_text, "* default      https://mkey.example.com\n"
                                     "  work         http://10.0.0.1:8080\n");
  assert_int_equal(RUN(&c, "--json", "--profile", "work", "profile", "list"), CLI_OK);
  json_t *doc = json_loads(c.stdout_text, 0, NULL);
  assert_non_null(doc);
  assert_true(json_is_array(doc)); /* a list is the top-level array */
  assert_int_equal(json_array_size(doc), 2);
  json_t *first = json_array_get(doc, 0), *second = json_array_get(doc, 1);
  assert_string_equal(json_string_value(json_object_get(first, "name")), "default");
  assert_string_equal(json_string_value(json_object_get(first, "server")), "https://mkey.example.com");
  assert_true(json_is_false(json_object_get(first, "current")));
  assert_string_equal(json_string_value(json_object_get(second, "name")), "work");
  assert_true(json_is_true(json_object_get(second, "current")));
  json_decref(doc);

  assert_int_equal(RUN(&c, "profile", "show", "--json"), CLI_OK);
  doc = json_loads(c.stdout_text, 0, NULL);
  assert_non_null(doc);
  assert_string_equal(json_string_value(json_object_get(doc, "server")), "https://mkey.example.com");
  assert_string_equal(json_string_value(json_object_get(doc, "server_source")), "profile");
  assert_true(json_is_false(json_object_get(doc, "logged_in")));
  json_decref(doc);
  setenv("MKEY_PROFILE", "work", 1);
  assert_int_equal(RUN(&c, "--server", "http://flag:1", "profile", "show"), CLI_OK);
  assert_non_null(strstr(c.stdout_text, "profile    work\n"));
  assert_non_null(strstr(c.stdout_text, "server     http://flag:1 (flag)\n"));

  assert_int_equal(RUN(&c, "profile", "set-server", "ftp://x"), CLI_USAGE);
  assert_int_equal(RUN(&c, "profile", "set-server"), CLI_USAGE);
  assert_int_equal(RUN(&c, "profile", "rename"), CLI_USAGE);
  assert_non_null(strstr(c.stderr_text, "unknown profile subcommand 'rename'"));
  assert_int_equal(RUN(&c, "profile"), CLI_USAGE);
  setenv("MKEY_PROFILE", "Not Valid", 1);
  assert_int_equal(RUN(&c, "profile", "show"), CLI_USAGE);
  assert_non_null(strstr(c.stderr_text, "in MKEY_PROFILE"));
  assert_int_equal(RUN(&c, "--profile", "work", "profile", "show"), CLI_OK);
}

static void test_cli_set_server_signs_out(void **state) {
  mk_err e = {0};
  json_t *cfg = json_pack("{s:s, s:s}", "server", "https://a.example", "token", "tok_old");
  assert_mk_ok(cli_profile_save("default", cfg, &e));
  json_decref(cfg);
  struct capture c;
  /* Same server, spelled with a trailing slash: still logged in. */
  assert_int_equal(RUN(&c, "profile", "set-server", "https://a.example/"), CLI_OK);
  assert_mk_ok(cli_profile_load("default", &cfg, &e));
  assert_non_null(json_object_get(cfg, "token"));
  cli_profile_free(cfg);

  assert_int_equal(RUN(&c, "--json", "profile", "set-server", "https://b.example"), CLI_OK);
  json_t *doc = json_loads(c.stdout_text, 0, NULL);
  assert_non_null(doc);
  assert_true(json_is_true(json_object_get(doc, "signed_out")));
  json_decref(doc);
  assert_mk_ok(cli_profile_load("default", &cfg, &e));
  assert_null(json_object_get(cfg, "token"));
  assert_string_equal(json_string_value(json_object_get(cfg, "server")), "https://b.example");
  cli_profile_free(cfg);
}

/* The real binary, when built: cli/main.c's table and exit statuses. */
static void test_cli_binary(void **state) {
  const char *build = getenv("MKEY_BUILD_DIR");
  char bin[512], cmd[700], out[8192];
  if (build == NULL)
    skip();
  snprintf(bin, sizeof bin, "%s/bin/mkey", build);
  if (access(bin, X_OK) != 0)
    skip();
  snprintf(cmd, sizeof cmd, "'%s' nosuchcmd 2>&1", bin);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t n = fread(out, 1, sizeof out - 1, p);
  out[n] = '\0';
  int st = pclose(p);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 2);
  assert_string_equal(out, "mkey: 'nosuchcmd' is not a mkey command. See 'mkey help'.\n");

  snprintf(cmd, sizeof cmd, "'%s' help", bin);
  p = popen(cmd, "r");
  assert_non_null(p);
  n = fread(out, 1, sizeof out - 1, p);
  out[n] = '\0';
  st = pclose(p);
  assert_int_equal(WEXITSTATUS(st), 0);
  assert_non_null(strstr(out, "  status "));
  assert_non_null(strstr(out, "  profile "));
  assert_non_null(strstr(out, "  version "));
}

int main(void) {
  unsetenv("http_proxy");
  unsetenv("HTTP_PROXY");
  unsetenv("all_proxy");
  unsetenv("ALL_PROXY");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_cli_profile_name_valid, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_home_mkey_home, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_home_xdg_and_home, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_parse_global, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_dispatch_unknown, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_dispatch_runs_command, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_help, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_help_json, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_command_options, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_profile_modes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_profile_roundtrip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_profile_load_refuses, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_profile_save_atomic, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_client_open_codes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_server_precedence, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_version, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_status_ok, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_status_unhealthy, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_status_unreachable, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_token_only_to_its_server, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_profile_commands, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_set_server_signs_out, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_binary, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
