#include "mk_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#include <jansson.h>

/* Everything written to f so far, NUL-terminated; caller frees. */
static char *slurp(FILE *f) {
  assert_int_equal(fflush(f), 0);
  long n = ftell(f);
  assert_true(n >= 0);
  char *s = malloc((size_t)n + 1);
  assert_non_null(s);
  rewind(f);
  assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
  s[n] = '\0';
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  return s;
}

/* Lines of text as parsed objects in a JSON array; every line must be one
 * compact JSON object ending in '\n'. */
static json_t *parse_lines(const char *text) {
  json_t *lines = json_array();
  assert_non_null(lines);
  const char *p = text;
  while (*p != '\0') {
    const char *nl = strchr(p, '\n');
    assert_non_null(nl);
    json_error_t jerr;
    json_t *v = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES, &jerr);
    if (v == NULL)
      fail_msg("line is not JSON: %s: %.*s", jerr.text, (int)(nl - p), p);
    assert_true(json_is_object(v));
    assert_int_equal(json_array_append_new(lines, v), 0);
    p = nl + 1;
  }
  return lines;
}

static FILE *g_file;

static int setup(void **state) {
  (void)state;
  g_file = tmpfile();
  if (g_file == NULL)
    return -1;
  mk_log_init(MK_LOG_DEBUG, g_file);
  mk_log_set_request_id(NULL);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  mk_log_init(MK_LOG_INFO, NULL);
  mk_log_set_request_id(NULL);
  return fclose(g_file);
}

static json_t *read_all(void) {
  char *text = slurp(g_file);
  json_t *lines = parse_lines(text);
  free(text);
  return lines;
}

static const char *str_of(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  assert_non_null(v);
  assert_true(json_is_string(v));
  return json_string_value(v);
}

static void test_line_shape(void **state) {
  (void)state;
  mk_log(MK_LOG_INFO, "http.access", "{s:s, s:i, s:b}", "method", "GET", "status", 200, "tls", 1);
  mk_log(MK_LOG_WARN, "store.slow", NULL);
  json_t *lines = read_all();
  assert_int_equal(json_array_size(lines), 2);

  json_t *a = json_array_get(lines, 0);
  assert_string_equal(str_of(a, "level"), "info");
  assert_string_equal(str_of(a, "event"), "http.access");
  assert_string_equal(str_of(a, "method"), "GET");
  assert_int_equal(json_integer_value(json_object_get(a, "status")), 200);
  assert_true(json_is_true(json_object_get(a, "tls")));
  assert_null(json_object_get(a, "req"));
  /* Order: ts, level, event first. */
  void *it = json_object_iter(a);
  assert_string_equal(json_object_iter_key(it), "ts");
  it = json_object_iter_next(a, it);
  assert_string_equal(json_object_iter_key(it), "level");
  it = json_object_iter_next(a, it);
  assert_string_equal(json_object_iter_key(it), "event");

  /* RFC 3339 UTC with milliseconds: 2026-11-29T05:04:32.123Z */
  const char *ts = str_of(a, "ts");
  assert_int_equal(strlen(ts), 24);
  const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";
  for (size_t i = 0; i < 24; i++) {
    if (shape[i] == 'd')
      assert_true(ts[i] >= '0' && ts[i] <= '9');
    else
      assert_int_equal(ts[i], shape[i]);
  }

  json_t *b = json_array_get(lines, 1);
  assert_string_equal(str_of(b, "level"), "warn");
  assert_int_equal(json_object_size(b), 3);
  json_decref(lines);
}

static void test_redaction(void **state) {
  (void)state;
  mk_log(MK_LOG_INFO, "auth.test",
         "{s:s, s:s, s:s, s:{s:s, s:i, s:{s:s}}, s:[{s:s}, i], s:s, s:s, s:s, s:i}", "pin",
         "918273", "password", "hunter2-secret", "sms_code", "654321", "session", "token",
         "tok-Zq8v-xyz", "n", 5, "inner", "Authorization", "Bearer abc.def", "items", "otp",
         "777111", 3, "user", "alice", "X-Api-Key", "ak-99887766", "id_number",
         "11010519491231002X", "PIN", 55443322);
  char *text = slurp(g_file);
  const char *leaked[] = {"918273", "hunter2", "654321", "tok-Zq8v", "Bearer", "777111",
                          "ak-99887766", "11010519491231002X", "55443322"};
  for (size_t i = 0; i < sizeof leaked / sizeof leaked[0]; i++)
    if (strstr(text, leaked[i]) != NULL)
      fail_msg("'%s' reached the log: %s", leaked[i], text);
  json_t *lines = parse_lines(text);
  free(text);
  assert_int_equal(json_array_size(lines), 1);
  json_t *l = json_array_get(lines, 0);
  assert_string_equal(str_of(l, "pin"), "[redacted]");
  assert_string_equal(str_of(l, "password"), "[redacted]");
  assert_string_equal(str_of(l, "sms_code"), "[redacted]");
  assert_string_equal(str_of(l, "X-Api-Key"), "[redacted]");
  assert_string_equal(str_of(l, "id_number"), "[redacted]");
  assert_string_equal(str_of(l, "PIN"), "[redacted]"); /* any value type */
  json_t *session = json_object_get(l, "session");
  assert_string_equal(str_of(session, "token"), "[redacted]");
  assert_int_equal(json_integer_value(json_object_get(session, "n")), 5);
  assert_string_equal(str_of(json_object_get(session, "inner"), "Authorization"), "[redacted]");
  json_t *items = json_object_get(l, "items");
  assert_string_equal(str_of(json_array_get(items, 0), "otp"), "[redacted]");
  assert_int_equal(json_integer_value(json_array_get(items, 1)), 3);
  assert_string_equal(str_of(l, "user"), "alice");
  json_decref(lines);
}

static void test_redaction_leaves_caller_object(void **state) {
  (void)state;
  /* "O" shares the caller's object: redaction must not edit it. */
  json_t *mine = json_pack("{s:s}", "secret", "s3cr3t-value");
  assert_non_null(mine);
  mk_log(MK_LOG_INFO, "x", "{s:O}", "ctx", mine);
  assert_string_equal(json_string_value(json_object_get(mine, "secret")), "s3cr3t-value");
  /* And an object whose own key is secret is replaced whole. */
  mk_log(MK_LOG_INFO, "x", "{s:O}", "private", mine);
  json_decref(mine);
  char *text = slurp(g_file);
  assert_null(strstr(text, "s3cr3t"));
  free(text);
}

static void test_key_is_secret(void **state) {
  (void)state;
  const char *secret[] = {"pin", "PIN", "new_pin", "password", "Passwd", "client_secret",
                          "refresh_token", "sms_code", "otp", "api_key", "key_share",
                          "private_key", "authorization", "Cookie", "set-cookie", "id_number",
                          "bank_card",
                          /* substring match is deliberate: these go too */
                          "keyboard", "status_code"};
  const char *plain[] = {"method", "path", "status", "ms", "user", "cert_id", "err", "serial",
                         "enterprise", ""};
  for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++)
    if (!mk_log_key_is_secret(secret[i]))
      fail_msg("'%s' should be secret", secret[i]);
  for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
    if (mk_log_key_is_secret(plain[i]))
      fail_msg("'%s' should not be secret", plain[i]);
  assert_false(mk_log_key_is_secret(NULL));
}

static void test_clean(void **state) {
  (void)state;
  char out[32];
  assert_string_equal(mk_log_clean("/v1/health", out, sizeof out), "/v1/health");
  assert_string_equal(mk_log_clean("/v1/\xff\xfe", out, sizeof out), "/v1/%FF%FE");
  assert_string_equal(mk_log_clean("a\nb%c\x1b", out, sizeof out), "a%0Ab%25c%1B");
  assert_string_equal(mk_log_clean("\xe4\xb8\xad", out, sizeof out), "%E4%B8%AD");
  /* cut without splitting an escape */
  assert_string_equal(mk_log_clean("abcd\xff", out, 7), "abcd");
  assert_string_equal(mk_log_clean("abcdef", out, 4), "abc");
  assert_string_equal(mk_log_clean(NULL, out, sizeof out), "");
}

static void test_request_id(void **state) {
  (void)state;
  assert_string_equal(mk_log_request_id(), "");
  mk_log_set_request_id("req_01HZX");
  assert_string_equal(mk_log_request_id(), "req_01HZX");
  mk_log(MK_LOG_INFO, "with.req", NULL);

  /* Client-supplied ids are cut to 64 bytes and printable ASCII. */
  char long_id[100];
  memset(long_id, 'r', sizeof long_id - 1);
  long_id[sizeof long_id - 1] = '\0';
  mk_log_set_request_id(long_id);
  assert_int_equal(strlen(mk_log_request_id()), 64);
  mk_log_set_request_id("a b\n\"c\xE4");
  assert_string_equal(mk_log_request_id(), "a_b_\"c_");

  mk_log_set_request_id(NULL);
  assert_string_equal(mk_log_request_id(), "");
  mk_log(MK_LOG_INFO, "without.req", NULL);

  json_t *lines = read_all();
  assert_int_equal(json_array_size(lines), 2);
  assert_string_equal(str_of(json_array_get(lines, 0), "req"), "req_01HZX");
  assert_null(json_object_get(json_array_get(lines, 1), "req"));
  json_decref(lines);
}

static void test_level_filter(void **state) {
  (void)state;
  mk_log_init(MK_LOG_WARN, g_file);
  mk_log(MK_LOG_DEBUG, "dropped.debug", "{s:i}", "n", 1);
  mk_log(MK_LOG_INFO, "dropped.info", NULL);
  /* A filtered line still releases a reference handed over with "o". */
  mk_log(MK_LOG_INFO, "dropped.owned", "{s:o}", "obj", json_pack("{s:i}", "n", 1));
  mk_log(MK_LOG_WARN, "kept.warn", NULL);
  mk_log(MK_LOG_ERROR, "kept.error", "{s:o}", "obj", json_pack("{s:i}", "n", 2));
  mk_log(99, "kept.clamped", NULL);
  json_t *lines = read_all();
  assert_int_equal(json_array_size(lines), 3);
  assert_string_equal(str_of(json_array_get(lines, 0), "event"), "kept.warn");
  assert_string_equal(str_of(json_array_get(lines, 0), "level"), "warn");
  assert_string_equal(str_of(json_array_get(lines, 1), "level"), "error");
  assert_int_equal(
      json_integer_value(json_object_get(json_object_get(json_array_get(lines, 1), "obj"), "n")),
      2);
  assert_string_equal(str_of(json_array_get(lines, 2), "level"), "error");
  json_decref(lines);
}

static void test_level_parse(void **state) {
  (void)state;
  assert_int_equal(mk_log_level_parse("debug"), MK_LOG_DEBUG);
  assert_int_equal(mk_log_level_parse("info"), MK_LOG_INFO);
  assert_int_equal(mk_log_level_parse("WARN"), MK_LOG_WARN);
  assert_int_equal(mk_log_level_parse("error"), MK_LOG_ERROR);
  assert_int_equal(mk_log_level_parse("verbose"), -1);
  assert_int_equal(mk_log_level_parse(""), -1);
  assert_int_equal(mk_log_level_parse(NULL), -1);
}

static void test_reserved_fields(void **state) {
  (void)state;
  mk_log_set_request_id("req_real");
  mk_log(MK_LOG_ERROR, "real.event", "{s:s, s:s, s:s, s:s, s:i}", "ts", "1999-01-01", "level",
         "debug", "event", "forged", "req", "req_forged", "n", 1);
  json_t *lines = read_all();
  json_t *l = json_array_get(lines, 0);
  assert_string_equal(str_of(l, "level"), "error");
  assert_string_equal(str_of(l, "event"), "real.event");
  assert_string_equal(str_of(l, "req"), "req_real");
  assert_string_not_equal(str_of(l, "ts"), "1999-01-01");
  assert_int_equal(json_object_size(l), 5);
  json_decref(lines);
}

static void test_pack_failure(void **state) {
  (void)state;
  mk_log(MK_LOG_INFO, "bad.null", "{s:s}", "user", (const char *)NULL);
  mk_log(MK_LOG_INFO, "bad.utf8", "{s:s}", "user", "\xFF\xFE");
  mk_log(MK_LOG_INFO, "bad.format", "{s:s", "user", "x");
  mk_log(MK_LOG_INFO, "bad.notobject", "[i]", 1);
  mk_log(MK_LOG_INFO, "\xC0\xAF", NULL);
  json_t *lines = read_all();
  assert_int_equal(json_array_size(lines), 5);
  const char *events[] = {"bad.null", "bad.utf8", "bad.format", "bad.notobject",
                          "log.invalid_event"};
  for (size_t i = 0; i < 5; i++) {
    json_t *l = json_array_get(lines, i);
    assert_string_equal(str_of(l, "event"), events[i]);
    assert_true(strlen(str_of(l, "log_error")) > 0);
    assert_null(json_object_get(l, "user"));
  }
  json_decref(lines);
}

static void test_long_line(void **state) {
  (void)state;
  size_t n = 100 * 1024;
  char *big = malloc(n + 1);
  assert_non_null(big);
  memset(big, 'x', n);
  big[n] = '\0';
  mk_log(MK_LOG_INFO, "big.line", "{s:s}", "body", big);
  free(big);
  json_t *lines = read_all();
  json_t *l = json_array_get(lines, 0);
  assert_string_equal(str_of(l, "event"), "big.line");
  assert_string_equal(str_of(l, "log_error"), "line too long, fields dropped");
  assert_null(json_object_get(l, "body"));
  json_decref(lines);
}

#define THREADS 4
#define PER_THREAD 200

static void *writer(void *arg) {
  int id = (int)(intptr_t)arg;
  char req[16];
  snprintf(req, sizeof req, "req_t%d", id);
  mk_log_set_request_id(req);
  for (int i = 0; i < PER_THREAD; i++)
    mk_log(MK_LOG_INFO, "thread.line", "{s:i, s:i, s:s}", "thread", id, "i", i, "pad",
           "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
  return NULL;
}

static void test_threads(void **state) {
  (void)state;
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, writer, (void *)(intptr_t)i), 0);
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(pthread_join(t[i], NULL), 0);
  /* The request id is per thread: this one never set it. */
  assert_string_equal(mk_log_request_id(), "");

  json_t *lines = read_all();
  assert_int_equal(json_array_size(lines), THREADS * PER_THREAD);
  int next[THREADS] = {0};
  size_t i;
  json_t *l;
  json_array_foreach(lines, i, l) {
    int id = (int)json_integer_value(json_object_get(l, "thread"));
    assert_in_range(id, 0, THREADS - 1);
    char req[16];
    snprintf(req, sizeof req, "req_t%d", id);
    assert_string_equal(str_of(l, "req"), req);
    /* Each thread's lines arrive whole and in its own order. */
    assert_int_equal(json_integer_value(json_object_get(l, "i")), next[id]);
    next[id]++;
  }
  for (int k = 0; k < THREADS; k++)
    assert_int_equal(next[k], PER_THREAD);
  json_decref(lines);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_line_shape, setup, teardown),
      cmocka_unit_test_setup_teardown(test_redaction, setup, teardown),
      cmocka_unit_test_setup_teardown(test_redaction_leaves_caller_object, setup, teardown),
      cmocka_unit_test(test_key_is_secret),
      cmocka_unit_test_setup_teardown(test_request_id, setup, teardown),
      cmocka_unit_test(test_clean),
      cmocka_unit_test_setup_teardown(test_level_filter, setup, teardown),
      cmocka_unit_test(test_level_parse),
      cmocka_unit_test_setup_teardown(test_reserved_fields, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pack_failure, setup, teardown),
      cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
      cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
