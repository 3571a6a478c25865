/* mkeyd configuration: precedence flags > env > INI > defaults, and every
 * bad value refused with the place it came from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mk_test.h"
#include "config.h"
#include "util/log.h"

/* A fake environment: NAME=VALUE pairs. */
static const char *const *fake_env;
static const char *env_lookup(const char *name) {
  size_t n = strlen(name);
  for (const char *const *p = fake_env; p && *p; p++)
    if (strncmp(*p, name, n) == 0 && (*p)[n] == '=')
      return *p + n + 1;
  return NULL;
}

static int load(mk_config *c, const char *const *env, mk_err *e, int argc, ...) {
  char *argv[32];
  va_list ap;
  va_start(ap, argc);
  argv[0] = "mkeyd";
  for (int i = 1; i < argc; i++)
    argv[i] = va_arg(ap, char *);
  va_end(ap);
  fake_env = env;
  return mk_config_load(c, argc, argv, env_lookup, e);
}

static char ini_path[64];

static void write_ini(const char *text) {
  strcpy(ini_path, "/tmp/mkeyd-test-XXXXXX");
  int fd = mkstemp(ini_path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

static void test_defaults_need_tls_or_sandbox(void **state) {
  (void)state;
  mk_config c;
  mk_err e;
  assert_int_equal(load(&c, NULL, &e, 1), MK_EINVAL);
  assert_non_null(strstr(e.msg, "--tls-cert"));
  assert_int_equal(load(&c, NULL, &e, 2, "--sandbox"), 0);
  assert_string_equal(c.listen, "127.0.0.1:8080");
  assert_string_equal(c.data_dir, "var");
  assert_int_equal(c.threads, 4);
  assert_int_equal(c.body_max, 1u << 20);
  assert_int_equal(c.sandbox, 1);
  /* sandbox providers only in sandbox mode: an outbox instead of real SMS
   * would keep login codes on the server */
  assert_int_equal(load(&c, NULL, &e, 3, "--insecure-http", "--sms-provider=sandbox"), MK_EINVAL);
  assert_non_null(strstr(e.msg, "sms_provider sandbox"));
  assert_int_equal(load(&c, NULL, &e, 3, "--sandbox", "--sms-provider=sandbox"), 0);
}

static void test_precedence(void **state) {
  (void)state;
  write_ini("# mkeyd\n[mkeyd]\nlisten = 127.0.0.1:9001\ndata = /ini\nthreads = 2\n"
            "sandbox = yes\n; comment\n  body_max=2048  \n");
  const char *const env[] = {"MKEYD_LISTEN=127.0.0.1:9002", "MKEYD_THREADS=3", NULL};
  mk_config c;
  mk_err e;
  /* file only */
  assert_int_equal(load(&c, NULL, &e, 3, "--config", ini_path), 0);
  assert_string_equal(c.listen, "127.0.0.1:9001");
  assert_string_equal(c.data_dir, "/ini");
  assert_int_equal(c.threads, 2);
  assert_int_equal(c.body_max, 2048);
  /* env over file */
  assert_int_equal(load(&c, env, &e, 3, "--config", ini_path), 0);
  assert_string_equal(c.listen, "127.0.0.1:9002");
  assert_int_equal(c.threads, 3);
  assert_string_equal(c.data_dir, "/ini");
  /* flags over env, both spellings */
  assert_int_equal(load(&c, env, &e, 6, "--config", ini_path, "--listen", "[::1]:9003",
                        "--threads=5"), 0);
  assert_string_equal(c.listen, "[::1]:9003");
  assert_int_equal(c.threads, 5);
  /* the file named by MKEYD_CONFIG */
  char var[96];
  snprintf(var, sizeof var, "MKEYD_CONFIG=%s", ini_path);
  const char *const env2[] = {var, NULL};
  assert_int_equal(load(&c, env2, &e, 1), 0);
  assert_string_equal(c.data_dir, "/ini");
  /* --no-sandbox overrides the file's sandbox = yes, and then TLS is needed */
  assert_int_equal(load(&c, NULL, &e, 4, "--config", ini_path, "--no-sandbox"), MK_EINVAL);
  unlink(ini_path);
}

static void test_bad_values(void **state) {
  (void)state;
  mk_config c;
  mk_err e;
  assert_int_equal(load(&c, NULL, &e, 3, "--sandbox", "--threads=0"), MK_EINVAL);
  assert_non_null(strstr(e.msg, "threads"));
  assert_int_equal(load(&c, NULL, &e, 3, "--sandbox", "--threads=65"), MK_EINVAL);
  assert_int_equal(load(&c, NULL, &e, 3, "--sandbox", "--threads=4x"), MK_EINVAL);
  assert_int_equal(load(&c, NULL, &e, 3, "--sandbox", "--body-max=-1"), MK_EINVAL);
  assert_int_equal(load(&c, NULL, &e, 3, "--sandbox", "--log-level=loud"), MK_EINVAL);
  assert_int_equal(load(&c, NULL, &e, 3, "--sandbox", "--public-url=ftp://x"), MK_EINVAL);
  assert_int_equal(load(&c, NULL, &e, 2, "--sandbox=maybe"), MK_EINVAL);
  assert_int_equal(load(&c, NULL, &e, 3, "--sandbox", "--frobnicate"), MK_EINVAL);
  assert_non_null(strstr(e.msg, "--frobnicate"));
  assert_int_equal(load(&c, NULL, &e, 3, "--sandbox", "--listen"), MK_EINVAL);
  assert_non_null(strstr(e.msg, "needs a value"));
  const char *const env[] = {"MKEYD_THREADS=many", NULL};
  assert_int_equal(load(&c, env, &e, 2, "--sandbox"), MK_EINVAL);
  assert_non_null(strstr(e.msg, "MKEYD_THREADS"));
  assert_int_equal(load(&c, NULL, &e, 4, "--sandbox", "--tls-cert", "a.pem"), MK_EINVAL);
  assert_int_equal(load(&c, NULL, &e, 3, "--config", "/nonexistent/mkeyd.ini"), MK_ENOTFOUND);
  assert_non_null(strstr(e.msg, "/nonexistent/mkeyd.ini"));
  /* a path longer than the field is refused, not cut */
  char longpath[PATH_MAX + 10];
  memset(longpath, 'a', sizeof longpath - 1);
  longpath[sizeof longpath - 1] = '\0';
  assert_int_equal(load(&c, NULL, &e, 4, "--sandbox", "--data", longpath), MK_EINVAL);
}

static void test_ini_errors(void **state) {
  (void)state;
  mk_config c;
  mk_err e;
  memset(&c, 0, sizeof c);
  const char *bad[] = {"listen\n", "[other]\n", "= x\n", "nosuch = 1\n", "threads = 0\n"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(mk_config_parse_ini(&c, bad[i], strlen(bad[i]), "f.ini", &e), MK_EINVAL);
  assert_int_equal(mk_config_parse_ini(&c, "\n\nnosuch = 1\n", 13, "f.ini", &e), MK_EINVAL);
  assert_non_null(strstr(e.msg, "f.ini:3"));
  char line[MK_CONFIG_LINE_MAX + 20];
  memset(line, 'x', sizeof line);
  assert_int_equal(mk_config_parse_ini(&c, line, sizeof line, "f.ini", &e), MK_EINVAL);
  assert_int_equal(mk_config_parse_ini(&c, "a", MK_CONFIG_FILE_MAX + 1, "f.ini", &e), MK_ETOOBIG);
  assert_int_equal(mk_config_parse_ini(&c, "data = a\0b\n", 11, "f.ini", &e), MK_EINVAL);
  /* CRLF line ends and no final newline are fine */
  assert_int_equal(mk_config_parse_ini(&c, "data = x\r\nthreads = 7", 21, "f.ini", &e), 0);
  assert_string_equal(c.data_dir, "x");
  assert_int_equal(c.threads, 7);
}

static void test_listen_addr(void **state) {
  (void)state;
  mk_config c;
  mk_err e;
  char host[64];
  unsigned port;
  memset(&c, 0, sizeof c);
  strcpy(c.listen, "127.0.0.1:8080");
  assert_int_equal(mk_config_listen_addr(&c, host, sizeof host, &port, &e), 0);
  assert_string_equal(host, "127.0.0.1");
  assert_int_equal(port, 8080);
  strcpy(c.listen, "[::1]:0");
  assert_int_equal(mk_config_listen_addr(&c, host, sizeof host, &port, &e), 0);
  assert_string_equal(host, "::1");
  assert_int_equal(port, 0);
  const char *bad[] = {"127.0.0.1", "127.0.0.1:", ":80", "127.0.0.1:65536", "[::1]80",
                       "127.0.0.1:-1", "127.0.0.1:80x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    strcpy(c.listen, bad[i]);
    assert_int_equal(mk_config_listen_addr(&c, host, sizeof host, &port, &e), MK_EINVAL);
  }
}

static void test_help(void **state) {
  (void)state;
  mk_config c;
  mk_err e;
  FILE *saved = stdout;
  stdout = fopen("/dev/null", "w");
  int rc1 = load(&c, NULL, &e, 2, "--help");
  int rc2 = load(&c, NULL, &e, 2, "--version");
  /* help answers even when other settings are wrong */
  const char *const bad_env[] = {"MKEYD_THREADS=abc", NULL};
  int rc3 = load(&c, bad_env, &e, 4, "--config", "/nonexistent.ini", "--help");
  fclose(stdout);
  stdout = saved;
  assert_int_equal(rc1, 1);
  assert_int_equal(rc2, 1);
  assert_int_equal(rc3, 1);
  assert_int_equal(load(&c, NULL, &e, 3, "--sandbox", "--config"), MK_EINVAL);
  assert_int_equal(load(&c, NULL, &e, 3, "--sandbox", "--config="), MK_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults_need_tls_or_sandbox),
      cmocka_unit_test(test_precedence),
      cmocka_unit_test(test_bad_values),
      cmocka_unit_test(test_ini_errors),
      cmocka_unit_test(test_listen_addr),
      cmocka_unit_test(test_help),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
