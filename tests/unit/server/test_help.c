/* svc/help.c without HTTP: the query parser (question words dropped,
 * trigrams for FTS5, bigrams and single characters for the LIKE fallback,
 * FTS syntax quoted), the bounds on q, the article list and pages, and the
 * 智能客服 answerer measured on 20 questions people ask, each of which must
 * find its article in the top 3 (the hit rate is printed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "svc_fixture.h"

static int setup(void **state) {
  (void)state;
  if (fx_open("help", 0, 2) < 0)
    return -1;
  snprintf(fx.cfg.service_phone, sizeof fx.cfg.service_phone, "400-000-1234");
  mk_err e = {0};
  return mk_svc_help_index(&fx.ctx, &e) < 0 ? -1 : 0; /* as mkeyd does at start */
}

static int has_term(const mk_help_terms *t, const char *text, int chars) {
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->term[i].text, text) == 0 && t->term[i].chars == chars)
      return 1;
  return 0;
}

static void test_terms(void **state) {
  (void)state;
  mk_help_terms t;
  mk_err e = {0};
  /* 怎么办 and 了 are question words: one run 证书过期 is left. */
  assert_mk_ok(mk_svc_help_terms("证书过期了怎么办？", &t, &e));
  assert_true(has_term(&t, "证书过", 3));
  assert_true(has_term(&t, "书过期", 3));
  assert_true(has_term(&t, "证书", 2));
  assert_true(has_term(&t, "过期", 2));
  assert_false(has_term(&t, "期了", 2));
  assert_false(has_term(&t, "怎么", 2));
  assert_int_equal(t.n, 5); /* 2 trigrams, 3 bigrams */
  /* Full-width letters fold to ASCII, upper case to lower; a lone
   * character stays a term of its own. */
  assert_mk_ok(mk_svc_help_terms("忘记ＰＩＮ码", &t, &e));
  assert_true(has_term(&t, "忘记", 2));
  assert_true(has_term(&t, "pin", 3));
  assert_true(has_term(&t, "码", 1));
  /* Punctuation and spaces split runs; repeated terms appear once. */
  assert_mk_ok(mk_svc_help_terms("续期, 续期!! CA", &t, &e));
  assert_int_equal(t.n, 2);
  assert_true(has_term(&t, "续期", 2));
  assert_true(has_term(&t, "ca", 2));
}

static void test_terms_bounds(void **state) {
  (void)state;
  mk_help_terms t;
  mk_err e = {0};
  char big[MK_HELP_QUERY_BYTES + 8];
  assert_mk_fails(mk_svc_help_terms(NULL, &t, &e), MK_EINVAL);
  assert_mk_fails(mk_svc_help_terms("", &t, &e), MK_EINVAL);
  assert_mk_fails(mk_svc_help_terms("   ？！", &t, &e), MK_EINVAL);
  assert_mk_fails(mk_svc_help_terms("怎么办呢", &t, &e), MK_EINVAL); /* only question words */
  assert_mk_fails(mk_svc_help_terms("证书\xff", &t, &e), MK_EINVAL);  /* not UTF-8 */
  assert_mk_fails(mk_svc_help_terms("证书\x01", &t, &e), MK_EINVAL);  /* control character */
  /* 100 characters pass, 101 do not. */
  memset(big, 'a', 100);
  big[100] = '\0';
  assert_mk_ok(mk_svc_help_terms(big, &t, &e));
  big[100] = 'a';
  big[101] = '\0';
  assert_mk_fails(mk_svc_help_terms(big, &t, &e), MK_EINVAL);
  /* More bytes than MK_HELP_QUERY_BYTES. */
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_mk_fails(mk_svc_help_terms(big, &t, &e), MK_EINVAL);
  /* 64 terms at most, however long the run. */
  char cjk[3 * 100 + 1];
  for (int i = 0; i < 100; i++) { /* 100 different characters from U+4E00 on */
    unsigned cp = 0x4e00u + (unsigned)i * 7u;
    cjk[3 * i] = (char)(0xe0 | (cp >> 12));
    cjk[3 * i + 1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    cjk[3 * i + 2] = (char)(0x80 | (cp & 0x3f));
  }
  cjk[300] = '\0';
  assert_mk_ok(mk_svc_help_terms(cjk, &t, &e));
  assert_true(t.n <= MK_HELP_TERMS_MAX);
}

static void test_fts_query_quoting(void **state) {
  (void)state;
  mk_help_terms t;
  mk_err e = {0};
  char out[512];
  memset(&t, 0, sizeof t);
  snprintf(t.term[0].text, sizeof t.term[0].text, "证书过");
  t.term[0].chars = 3;
  snprintf(t.term[1].text, sizeof t.term[1].text, "过期");
  t.term[1].chars = 2; /* not for FTS */
  snprintf(t.term[2].text, sizeof t.term[2].text, "a\"b");
  t.term[2].chars = 3;
  t.n = 3;
  assert_mk_ok(mk_svc_help_fts_query(&t, out, sizeof out, &e));
  assert_string_equal(out, "\"证书过\" OR \"a\"\"b\"");
  assert_mk_fails(mk_svc_help_fts_query(&t, out, 8, &e), MK_ETOOBIG);
  t.n = 0;
  assert_mk_ok(mk_svc_help_fts_query(&t, out, sizeof out, &e));
  assert_string_equal(out, "");
}

static void test_list_and_get(void **state) {
  (void)state;
  json_t *out = NULL;
  mk_err e = {0};
  assert_mk_ok(mk_svc_help_list(&fx.ctx, NULL, 100, &out, &e));
  size_t n = json_array_size(json_object_get(out, "items"));
  assert_true(n >= 25);
  assert_true(json_is_null(json_object_get(out, "next_cursor")));
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(json_object_get(out, "items"), 0), "id")),
      "hlp_overview");
  json_decref(out);
  /* Pages of 10 cover the same articles once each. */
  size_t seen = 0;
  char cursor[64] = "";
  for (int page = 0; page < 20; page++) {
    assert_mk_ok(mk_svc_help_list(&fx.ctx, cursor[0] ? cursor : NULL, 10, &out, &e));
    seen += json_array_size(json_object_get(out, "items"));
    const char *next = json_string_value(json_object_get(out, "next_cursor"));
    if (next == NULL) {
      json_decref(out);
      break;
    }
    snprintf(cursor, sizeof cursor, "%s", next);
    json_decref(out);
  }
  assert_int_equal(seen, n);
  assert_mk_fails(mk_svc_help_list(&fx.ctx, "hlp_nope", 10, &out, &e), MK_EINVAL);
  assert_mk_fails(mk_svc_help_list(&fx.ctx, NULL, 0, &out, &e), MK_EINVAL);

  assert_mk_ok(mk_svc_help_get(&fx.ctx, "hlp_recover", &out, &e));
  assert_string_equal(json_string_value(json_object_get(out, "section")), "证书找回");
  assert_non_null(strstr(json_string_value(json_object_get(out, "body")), "首次实名信息"));
  assert_string_equal(json_string_value(json_object_get(out, "service_phone")), "400-000-1234");
  json_decref(out);
  assert_mk_fails(mk_svc_help_get(&fx.ctx, "hlp_nope", &out, &e), MK_ENOTFOUND);
}

/* The position of id among the answer's items, or -1. */
static int rank_of(const json_t *ans, const char *id) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(ans, "items"), i, v) {
    if (strcmp(json_string_value(json_object_get(v, "id")), id) == 0)
      return (int)i;
  }
  return -1;
}

static void test_sample_questions(void **state) {
  (void)state;
  /* Questions as users phrase them, and the article each should find. */
  static const struct {
    const char *q, *want;
  } samples[] = {
      {"证书过期了怎么办", "hlp_reapply"},
      {"怎么加入企业", "hlp_join"},
      {"忘记密码", "hlp_change_password"},
      {"忘记证书密码怎么办", "hlp_change_pin"},
      {"换了新手机，证书怎么找回", "hlp_recover"},
      {"如何实名认证", "hlp_realname"},
      {"支付宝人脸识别失败", "hlp_realname_alipay"},
      {"银行卡认证需要哪些信息", "hlp_realname_bankcard"},
      {"怎么认领企业", "hlp_claim"},
      {"CA审核不通过怎么办", "hlp_claim_resubmit"},
      {"证书快到期了怎么续期", "hlp_renew"},
      {"怎么扫码登录交易系统", "hlp_scan_login"},
      {"开标时怎么解密投标文件", "hlp_decrypt"},
      {"怎么切换交易平台", "hlp_platform"},
      {"如何申请个人证书", "hlp_personal"},
      {"怎么更换手机号", "hlp_change_phone"},
      {"如何注销证书", "hlp_revoke"},
      {"管理员怎么转给别人", "hlp_admin_transfer"},
      {"怎么删除企业里的员工", "hlp_staff_remove"},
      {"怎么开发票", "hlp_bills"},
  };
  const size_t n = sizeof samples / sizeof samples[0];
  size_t top1 = 0, top3 = 0;
  mk_err e = {0};
  for (size_t i = 0; i < n; i++) {
    json_t *ans = NULL;
    assert_mk_ok(mk_svc_help_search(&fx.ctx, samples[i].q, 5, &ans, &e));
    int r = rank_of(ans, samples[i].want);
    if (r == 0)
      top1++;
    if (r >= 0 && r < 3)
      top3++;
    else
      print_message("miss: %s -> %s (rank %d; first %s)\n", samples[i].q, samples[i].want, r,
                    json_string_value(json_object_get(
                        json_array_get(json_object_get(ans, "items"), 0), "id")));
    json_decref(ans);
  }
  print_message("help search hit rate: top-3 %zu/%zu (%.0f%%), top-1 %zu/%zu (%.0f%%)\n", top3, n,
                100.0 * (double)top3 / (double)n, top1, n, 100.0 * (double)top1 / (double)n);
  assert_int_equal(top3, n);
}

static void test_search_answer(void **state) {
  (void)state;
  json_t *ans = NULL;
  mk_err e = {0};
  assert_mk_ok(mk_svc_help_search(&fx.ctx, "续期", 3, &ans, &e)); /* two characters: LIKE */
  assert_string_equal(json_string_value(json_object_get(ans, "service_phone")), "400-000-1234");
  assert_string_equal(json_string_value(json_object_get(ans, "search")), "fts5+like");
  assert_true(json_array_size(json_object_get(ans, "items")) <= 3);
  assert_int_equal(rank_of(ans, "hlp_renew"), 0);
  json_t *first = json_array_get(json_object_get(ans, "items"), 0);
  assert_true(json_real_value(json_object_get(first, "score")) > 0);
  const char *ex = json_string_value(json_object_get(first, "excerpt"));
  assert_true(mk_utf8_count(ex, strlen(ex)) <= 61);
  json_decref(ans);
  /* A word no article has: an empty answer, still with the phone. */
  assert_mk_ok(mk_svc_help_search(&fx.ctx, "火星移民", 5, &ans, &e));
  assert_int_equal(json_array_size(json_object_get(ans, "items")), 0);
  assert_non_null(json_object_get(ans, "service_phone"));
  json_decref(ans);
  assert_mk_fails(mk_svc_help_search(&fx.ctx, "续期", 11, &ans, &e), MK_EINVAL);
  assert_mk_fails(mk_svc_help_search(&fx.ctx, "？？", 5, &ans, &e), MK_EINVAL);
}

static void test_search_is_not_fts_syntax(void **state) {
  (void)state;
  /* FTS5 operators, column filters, prefixes and quotes in a question are
   * text: none makes the query fail or changes what it means. */
  static const char *const qs[] = {
      "证书\" OR title:* NEAR(a b)", "body:注销", "\"\"\"", "NOT 证书", "注销*",
      "^证书 AND OR", "a'b; DROP TABLE help_article; --", "(证书) {title}",
  };
  mk_err e = {0};
  for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
    json_t *ans = NULL;
    int rc = mk_svc_help_search(&fx.ctx, qs[i], 5, &ans, &e);
    assert_true(rc == 0 || rc == MK_EINVAL);
    json_decref(ans);
  }
  json_t *ans = NULL;
  assert_mk_ok(mk_svc_help_search(&fx.ctx, "body:注销", 3, &ans, &e));
  assert_int_equal(rank_of(ans, "hlp_revoke"), 0);
  json_decref(ans);
  assert_mk_ok(mk_svc_help_list(&fx.ctx, NULL, 100, &ans, &e));
  assert_true(json_array_size(json_object_get(ans, "items")) >= 25);
  json_decref(ans);
}

static void test_index_follows_articles(void **state) {
  (void)state;
  mk_db *db = NULL;
  mk_err e = {0};
  json_t *ans = NULL;
  assert_mk_ok(mk_svc_help_search(&fx.ctx, "量子纠缠", 3, &ans, &e));
  assert_int_equal(json_array_size(json_object_get(ans, "items")), 0);
  json_decref(ans);
  /* A later migration changing an article: the next start rebuilds the
   * index, and the full-text search finds the new words. */
  assert_mk_ok(mk_store_acquire(fx.store, &db, &e));
  assert_mk_ok(mk_db_exec(db,
                          "UPDATE help_article SET keywords = keywords || ' 量子纠缠' "
                          "WHERE id = 'hlp_overview'",
                          &e));
  mk_store_release(fx.store, db);
  const char *in_index = "SELECT COUNT(*) FROM help_fts WHERE help_fts MATCH '\"量子纠缠\"'";
  assert_int_equal(fx_count(in_index, NULL), 0);
  assert_mk_ok(mk_svc_help_index(&fx.ctx, &e)); /* the start after the migration */
  assert_int_equal(fx_count(in_index, NULL), 1);
  assert_mk_ok(mk_svc_help_search(&fx.ctx, "量子纠缠", 3, &ans, &e));
  assert_int_equal(rank_of(ans, "hlp_overview"), 0);
  json_decref(ans);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_terms),
      cmocka_unit_test(test_terms_bounds),
      cmocka_unit_test(test_fts_query_quoting),
      cmocka_unit_test(test_list_and_get),
      cmocka_unit_test(test_sample_questions),
      cmocka_unit_test(test_search_answer),
      cmocka_unit_test(test_search_is_not_fts_syntax),
      cmocka_unit_test(test_index_follows_articles),
  };
  return cmocka_run_group_tests(tests, setup, fx_teardown);
}
