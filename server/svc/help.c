/*
 * Help (使用帮助) and 智能客服: the articles of migration 0007, and an
 * answerer that ranks them for a free-text Chinese question.
 *
 * Chinese has no spaces, so a question is cut into runs of characters
 * after its question words (怎么, 如何, 吗 …) are dropped. Each run gives
 * trigrams, matched by an FTS5 index with the trigram tokenizer (SQLite;
 * built here at run time because migrations stay portable), and bigrams and
 * single characters, which that tokenizer cannot match (INTEROP.md), matched
 * by LIKE over the same rows and weighted by how rare they are. On a back
 * end without FTS5 every term goes the LIKE way. docs/identity.md has the
 * measured hit rate.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "svc/svc.h"
#include "util/guard.h"
#include "util/json.h"

#define ARTICLES_MAX 500
#define EXCERPT_CHARS 60
#define SEARCH_MAX 10

/* Field weights: a word in the title says more than one in the body. */
#define W_TITLE 5.0
#define W_KEYWORDS 3.0
#define W_BODY 1.0
/* A single character says little; a term FTS5 could not see (no index)
 * counts as a trigram would. */
#define F_UNIGRAM 0.3
#define F_BIGRAM 1.0
#define F_LONG 1.5

/* Question words and particles, longest first so 怎么办 goes before 怎么. */
static const char *const stopwords[] = {
    "怎么办", "怎么样", "为什么", "能不能", "是不是", "有没有", "可不可以", "什么",  "怎么",
    "怎样",   "如何",   "为啥",   "哪里",   "哪儿",   "在哪",   "哪个",     "哪些",  "请问",
    "一下",   "可以",   "能否",   "是否",   "我们",   "需要",   "应该",     "还是",  "我",
    "你",     "了",     "的",     "吗",     "呢",     "吧",     "啊",       "呀",    "是",
    "想",     "和",     "与",     "跟",     "在",     "去",     "该",       "么",    "得",
};

static int is_cjk(uint32_t c) {
  return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) ||
         (c >= 0xf900 && c <= 0xfaff);
}

static int is_alnum(uint32_t c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

static size_t put_utf8(uint32_t c, char *out) {
  if (c < 0x80) {
    out[0] = (char)c;
    return 1;
  }
  if (c < 0x800) {
    out[0] = (char)(0xc0 | (c >> 6));
    out[1] = (char)(0x80 | (c & 0x3f));
    return 2;
  }
  if (c < 0x10000) {
    out[0] = (char)(0xe0 | (c >> 12));
    out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
    out[2] = (char)(0x80 | (c & 0x3f));
    return 3;
  }
  out[0] = (char)(0xf0 | (c >> 18));
  out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
  out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
  out[3] = (char)(0x80 | (c & 0x3f));
  return 4;
}

/* Add the term made of cps[from..from+n) unless present or full. */
static void add_term(mk_help_terms *t, const uint32_t *cps, size_t from, size_t n) {
  char text[MK_HELP_TERM_BYTES];
  size_t len = 0;
  if (t->n == MK_HELP_TERMS_MAX)
    return;
  for (size_t i = 0; i < n; i++) {
    if (len + 4 >= sizeof text)
      break;
    len += put_utf8(cps[from + i], text + len);
  }
  text[len] = '\0';
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->term[i].text, text) == 0)
      return;
  memcpy(t->term[t->n].text, text, len + 1);
  t->term[t->n].chars = (int)n;
  t->n++;
}

int mk_svc_help_terms(const char *q, mk_help_terms *t, mk_err *e) {
  int rc = 0;
  uint32_t cps[MK_HELP_QUERY_MAX];
  unsigned char sep[MK_HELP_QUERY_MAX]; /* 1: not part of any term */
  size_t n = 0;
  memset(t, 0, sizeof *t);
  MK_ENSURE(q != NULL, MK_EINVAL, e, "q is required");
  size_t len = strnlen(q, MK_HELP_QUERY_BYTES + 1);
  MK_ENSURE(len <= MK_HELP_QUERY_BYTES, MK_EINVAL, e, "q is at most %d bytes", MK_HELP_QUERY_BYTES);
  MK_ENSURE(mk_utf8_valid_text(q, len, 1), MK_EINVAL, e,
            "q must be UTF-8 text without control characters");
  for (size_t off = 0; off < len;) {
    uint32_t c;
    int k = mk_utf8_next((const unsigned char *)q + off, len - off, &c);
    MK_ENSURE(k > 0, MK_EINVAL, e, "q is not valid UTF-8");
    MK_ENSURE(n < MK_HELP_QUERY_MAX, MK_EINVAL, e, "q is at most %d characters",
              MK_HELP_QUERY_MAX);
    off += (size_t)k;
    if (c >= 0xff01 && c <= 0xff5e) /* full-width ASCII forms */
      c -= 0xfee0;
    if (c >= 'A' && c <= 'Z')
      c += 'a' - 'A';
    cps[n] = c;
    sep[n] = !(is_cjk(c) || is_alnum(c));
    n++;
  }
  /* Question words are separators: match each at every CJK position. */
  for (size_t i = 0; i < n; i++) {
    if (sep[i] || !is_cjk(cps[i]))
      continue;
    for (size_t w = 0; w < sizeof stopwords / sizeof stopwords[0]; w++) {
      const unsigned char *s = (const unsigned char *)stopwords[w];
      size_t sl = strlen(stopwords[w]), j = i, off = 0;
      while (off < sl && j < n) {
        uint32_t c;
        int k = mk_utf8_next(s + off, sl - off, &c);
        if (k <= 0 || c != cps[j])
          break;
        off += (size_t)k;
        j++;
      }
      if (off == sl) {
        for (size_t x = i; x < j; x++)
          sep[x] = 1;
        i = j - 1;
        break;
      }
    }
  }
  /* Runs of one kind: CJK runs give trigrams, bigrams (and a lone
   * character); an ASCII word is one term, cut to the term size. */
  for (size_t i = 0; i < n;) {
    if (sep[i]) {
      i++;
      continue;
    }
    int cjk = is_cjk(cps[i]);
    size_t j = i;
    while (j < n && !sep[j] && is_cjk(cps[j]) == cjk)
      j++;
    size_t run = j - i;
    if (!cjk) {
      add_term(t, cps, i, run < 32 ? run : 32);
    } else if (run == 1) {
      add_term(t, cps, i, 1);
    } else {
      for (size_t x = i; x + 3 <= j; x++)
        add_term(t, cps, x, 3);
      for (size_t x = i; x + 2 <= j; x++)
        add_term(t, cps, x, 2);
    }
    i = j;
  }
  MK_ENSURE(t->n > 0, MK_EINVAL, e, "q has no words to search for");
out:
  return rc;
}

int mk_svc_help_fts_query(const mk_help_terms *t, char *out, size_t cap, mk_err *e) {
  size_t o = 0;
  if (cap == 0)
    return mk_err_set(e, MK_ETOOBIG, "no room for the FTS query");
  out[0] = '\0';
  for (size_t i = 0; i < t->n; i++) {
    if (t->term[i].chars < 3)
      continue;
    /* A quoted FTS5 string: operators, column filters and prefixes inside
     * it are plain text; a '"' is written twice. */
    const char *s = t->term[i].text;
    size_t need = (o ? 4 : 0) + 2 + 2 * strlen(s) + 1;
    if (o + need > cap)
      return mk_err_set(e, MK_ETOOBIG, "FTS query over %zu bytes", cap);
    if (o) {
      memcpy(out + o, " OR ", 4);
      o += 4;
    }
    out[o++] = '"';
    for (; *s; s++) {
      if (*s == '"')
        out[o++] = '"';
      out[o++] = *s;
    }
    out[o++] = '"';
    out[o] = '\0';
  }
  return 0;
}

/* ---- the index ------------------------------------------------------- */

/* Count and total length of the articles and of what help_fts holds: a
 * migration that changes articles makes them differ. */
static int fts_fresh(mk_db *db, int *fresh, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  *fresh = 0;
  MK_TRY(mk_db_prepare(db,
                       "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'help_fts'",
                       &st, e));
  MK_TRY(mk_stmt_step(st, e));
  found = mk_stmt_int(st, 0) > 0;
  mk_stmt_finish(st);
  st = NULL;
  if (!found)
    goto out;
  MK_TRY(mk_db_prepare(
      db,
      "SELECT (SELECT COUNT(*) FROM help_article), (SELECT COUNT(*) FROM help_fts), "
      "(SELECT COALESCE(SUM(LENGTH(title) + LENGTH(keywords) + LENGTH(body)), 0) FROM "
      "help_article), (SELECT COALESCE(SUM(LENGTH(title) + LENGTH(keywords) + LENGTH(body)), 0) "
      "FROM help_fts)",
      &st, e));
  MK_TRY(mk_stmt_step(st, e));
  *fresh = mk_stmt_int(st, 0) == mk_stmt_int(st, 1) && mk_stmt_int(st, 2) == mk_stmt_int(st, 3);
out:
  mk_stmt_finish(st);
  return rc;
}

/* SQLite: make or refresh help_fts. 1 when FTS5 can be used, 0 on another
 * back end. Run once at start, after the migrations (the only writers of
 * help_article), so searches do no index upkeep. */
static int fts_ensure(mk_svc_ctx *ctx, mk_db *db, mk_err *e) {
  int rc = 0, fresh = 0;
  if (strcmp(mk_store_backend(ctx->store), "sqlite") != 0)
    return 0;
  MK_TRY(fts_fresh(db, &fresh, e));
  if (fresh)
    return 1;
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(fts_fresh(db, &fresh, e)); /* another request may have built it */
  if (!fresh)
    MK_TRY(mk_db_exec(db,
                      "CREATE VIRTUAL TABLE IF NOT EXISTS help_fts USING fts5("
                      "article_id UNINDEXED, title, keywords, body, tokenize = 'trigram');"
                      "DELETE FROM help_fts;"
                      "INSERT INTO help_fts(article_id, title, keywords, body) "
                      "SELECT id, title, keywords, body FROM help_article;",
                      e));
  MK_TRY(mk_db_commit(db, e));
  rc = 1;
out:
  if (rc < 0)
    mk_db_rollback(db);
  return rc;
}

int mk_svc_help_index(mk_svc_ctx *ctx, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  rc = fts_ensure(ctx, db, e);
  rc = rc < 0 ? rc : 0;
out:
  mk_store_release(ctx->store, db);
  return rc;
}

/* ---- search ----------------------------------------------------------- */

typedef struct scored {
  char id[64];
  int64_t position;
  double score;
} scored;

static scored *find(scored *a, size_t n, const char *id) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(a[i].id, id) == 0)
      return &a[i];
  return NULL;
}

static int by_score(const void *x, const void *y) {
  const scored *a = x, *b = y;
  if (a->score != b->score)
    return a->score > b->score ? -1 : 1;
  return a->position < b->position ? -1 : a->position > b->position;
}

/* FTS5 over the trigram terms: bm25 is negative, lower is better; it comes
 * back in millionths since the store reads integers. */
static int score_fts(mk_db *db, const mk_help_terms *t, scored *a, size_t n, mk_err *e) {
  int rc = 0, row = 0;
  mk_stmt *st = NULL;
  char match[MK_HELP_TERMS_MAX * (2 * MK_HELP_TERM_BYTES + 8)];
  MK_TRY(mk_svc_help_fts_query(t, match, sizeof match, e));
  if (match[0] == '\0')
    goto out;
  MK_TRY(mk_db_prepare(db,
                       "SELECT article_id, CAST(-1000000 * bm25(help_fts, 0.0, 5.0, 3.0, 1.0) AS INTEGER) "
                       "FROM help_fts "
                       "WHERE help_fts MATCH $1",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, match, e));
  while ((row = mk_stmt_step(st, e)) == 1) {
    scored *s = find(a, n, mk_stmt_text(st, 0));
    if (s != NULL)
      s->score += (double)mk_stmt_int(st, 1) / 1e6 * F_LONG;
  }
  MK_TRY(row);
out:
  mk_stmt_finish(st);
  return rc;
}

/* LIKE for one term over title, keywords and body; weighted by the fields
 * it is in and by its rarity (the BM25 idf). */
static int score_like(mk_db *db, const char *term, double factor, scored *a, size_t n, mk_err *e) {
  int rc = 0, row = 0;
  mk_stmt *st = NULL;
  char pat[2 * MK_HELP_TERM_BYTES + 3];
  size_t o = 0;
  size_t hits_idx[ARTICLES_MAX];
  double hits_w[ARTICLES_MAX];
  size_t df = 0;
  pat[o++] = '%';
  for (const char *s = term; *s; s++) {
    if (*s == '%' || *s == '_' || *s == '\\')
      pat[o++] = '\\';
    pat[o++] = *s;
  }
  pat[o++] = '%';
  pat[o] = '\0';
  MK_TRY(mk_db_prepare(db,
                       "SELECT id, CASE WHEN LOWER(title) LIKE $1 ESCAPE '\\' THEN 1 ELSE 0 END, "
                       "CASE WHEN LOWER(keywords) LIKE $1 ESCAPE '\\' THEN 1 ELSE 0 END, "
                       "CASE WHEN LOWER(body) LIKE $1 ESCAPE '\\' THEN 1 ELSE 0 END "
                       "FROM help_article WHERE LOWER(title) LIKE $1 ESCAPE '\\' OR "
                       "LOWER(keywords) LIKE $1 ESCAPE '\\' OR LOWER(body) LIKE $1 ESCAPE '\\'",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, pat, e));
  while ((row = mk_stmt_step(st, e)) == 1) {
    scored *s = find(a, n, mk_stmt_text(st, 0));
    if (s == NULL || df == ARTICLES_MAX)
      continue;
    hits_idx[df] = (size_t)(s - a);
    hits_w[df] = W_TITLE * (double)mk_stmt_int(st, 1) + W_KEYWORDS * (double)mk_stmt_int(st, 2) +
                 W_BODY * (double)mk_stmt_int(st, 3);
    df++;
  }
  MK_TRY(row);
  double idf = log(1.0 + ((double)n - (double)df + 0.5) / ((double)df + 0.5));
  for (size_t i = 0; i < df; i++)
    a[hits_idx[i]].score += hits_w[i] * idf * factor;
out:
  mk_stmt_finish(st);
  return rc;
}

static json_t *excerpt(const char *body) {
  char out[EXCERPT_CHARS * 4 + 4];
  size_t len = strlen(body), off = 0, chars = 0;
  while (off < len && chars < EXCERPT_CHARS) {
    uint32_t c;
    int k = mk_utf8_next((const unsigned char *)body + off, len - off, &c);
    if (k <= 0)
      break;
    off += (size_t)k;
    chars++;
  }
  memcpy(out, body, off);
  if (off < len)
    memcpy(out + off, "\xe2\x80\xa6", 4); /* … and the NUL */
  else
    out[off] = '\0';
  return json_string(out);
}

int mk_svc_help_search(mk_svc_ctx *ctx, const char *q, int64_t limit, json_t **out, mk_err *e) {
  int rc = 0, row = 0, fts = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  scored *a = NULL;
  size_t n = 0;
  json_t *items = NULL;
  mk_help_terms *t = NULL;
  *out = NULL;
  MK_ENSURE(limit >= 1 && limit <= SEARCH_MAX, MK_EINVAL, e, "limit must be 1..%d", SEARCH_MAX);
  t = malloc(sizeof *t);
  a = calloc(ARTICLES_MAX, sizeof *a);
  MK_ENSURE(t != NULL && a != NULL, MK_ENOMEM, e, "out of memory");
  MK_TRY(mk_svc_help_terms(q, t, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  /* help_fts is built at start (mk_svc_help_index): SQLite only. */
  fts = strcmp(mk_store_backend(ctx->store), "sqlite") == 0;
  MK_TRY(mk_db_prepare(db, "SELECT id, position FROM help_article ORDER BY position LIMIT $1",
                       &st, e));
  MK_TRY(mk_stmt_bind_int(st, 1, ARTICLES_MAX, e));
  while ((row = mk_stmt_step(st, e)) == 1) {
    snprintf(a[n].id, sizeof a[n].id, "%s", mk_stmt_text(st, 0));
    a[n].position = mk_stmt_int(st, 1);
    n++;
  }
  MK_TRY(row);
  mk_stmt_finish(st);
  st = NULL;
  if (fts)
    MK_TRY(score_fts(db, t, a, n, e));
  for (size_t i = 0; i < t->n; i++) {
    int c = t->term[i].chars;
    if (c >= 3 && fts)
      continue;
    MK_TRY(score_like(db, t->term[i].text, c == 1 ? F_UNIGRAM : c == 2 ? F_BIGRAM : F_LONG, a, n,
                      e));
  }
  qsort(a, n, sizeof *a, by_score);
  items = json_array();
  MK_ENSURE_ALLOC(items, e);
  for (size_t i = 0; i < n && (int64_t)i < limit && a[i].score > 0; i++) {
    MK_TRY(mk_db_prepare(db, "SELECT title, section, body FROM help_article WHERE id = $1", &st,
                         e));
    MK_TRY(mk_stmt_bind_text(st, 1, a[i].id, e));
    MK_TRY(row = mk_stmt_step(st, e));
    MK_ENSURE(row == 1, MK_EINTERNAL, e, "article %s vanished", a[i].id);
    json_t *it = json_pack("{s:s,s:s,s:s,s:f,s:o}", "id", a[i].id, "title", mk_stmt_text(st, 0),
                           "section", mk_stmt_text(st, 1), "score",
                           round(a[i].score * 100.0) / 100.0, "excerpt",
                           excerpt(mk_stmt_text(st, 2)));
    MK_ENSURE(it != NULL && json_array_append_new(items, it) == 0, MK_ENOMEM, e, "out of memory");
    mk_stmt_finish(st);
    st = NULL;
  }
  *out = json_pack("{s:s,s:O,s:s,s:s}", "query", q, "items", items, "service_phone",
                   mk_svc_service_phone(ctx), "search", fts ? "fts5+like" : "like");
  MK_ENSURE_ALLOC(*out, e);
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  json_decref(items);
  free(a);
  if (t != NULL) {
    memset(t, 0, sizeof *t);
    free(t);
  }
  return rc;
}

int mk_svc_help_list(mk_svc_ctx *ctx, const char *cursor, int64_t limit, json_t **out,
                     mk_err *e) {
  int rc = 0, row = 0, found = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  json_t *items = NULL;
  int64_t after = 0;
  int more = 0;
  char last[64] = "";
  *out = NULL;
  MK_ENSURE(limit >= 1 && limit <= 100, MK_EINVAL, e, "limit must be 1..100");
  items = json_array();
  MK_ENSURE_ALLOC(items, e);
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  if (cursor != NULL) {
    MK_TRY(mk_db_prepare(db, "SELECT position FROM help_article WHERE id = $1", &st, e));
    MK_TRY(mk_stmt_bind_text(st, 1, cursor, e));
    MK_TRY(found = mk_stmt_step(st, e));
    MK_ENSURE(found, MK_EINVAL, e, "cursor is not one this server gave");
    after = mk_stmt_int(st, 0);
    mk_stmt_finish(st);
    st = NULL;
  }
  MK_TRY(mk_db_prepare(db,
                       "SELECT id, title, section FROM help_article WHERE position > $1 "
                       "ORDER BY position LIMIT $2",
                       &st, e));
  MK_TRY(mk_stmt_bind_int(st, 1, after, e));
  MK_TRY(mk_stmt_bind_int(st, 2, limit + 1, e));
  while ((row = mk_stmt_step(st, e)) == 1) {
    if ((int64_t)json_array_size(items) == limit) {
      more = 1;
      break;
    }
    snprintf(last, sizeof last, "%s", mk_stmt_text(st, 0));
    json_t *it = json_pack("{s:s,s:s,s:s}", "id", mk_stmt_text(st, 0), "title",
                           mk_stmt_text(st, 1), "section", mk_stmt_text(st, 2));
    MK_ENSURE(it != NULL && json_array_append_new(items, it) == 0, MK_ENOMEM, e, "out of memory");
  }
  MK_TRY(row);
  *out = json_pack("{s:O,s:s?}", "items", items, "next_cursor", more ? last : NULL);
  MK_ENSURE_ALLOC(*out, e);
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  json_decref(items);
  return rc;
}

int mk_svc_help_get(mk_svc_ctx *ctx, const char *id, json_t **out, mk_err *e) {
  int rc = 0, found = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  *out = NULL;
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_prepare(db, "SELECT id, title, section, keywords, body FROM help_article WHERE id = $1",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found, MK_ENOTFOUND, e, "no such help article");
  *out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "id", mk_stmt_text(st, 0), "title",
                   mk_stmt_text(st, 1), "section", mk_stmt_text(st, 2), "keywords",
                   mk_stmt_text(st, 3), "body", mk_stmt_text(st, 4), "service_phone",
                   mk_svc_service_phone(ctx));
  MK_ENSURE_ALLOC(*out, e);
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  return rc;
}
