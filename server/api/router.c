#include <string.h>

#include "api/api.h"

/* Split path into '/'-separated segments in place; returns the count, or -1
 * when there are more than cap. An empty path segment ("//") is kept so that
 * it matches nothing. */
static int split(char *p, char **segs, int cap) {
  int n = 0;
  if (*p == '/')
    p++;
  if (*p == '\0')
    return 0;
  for (;;) {
    if (n == cap)
      return -1;
    segs[n++] = p;
    char *slash = strchr(p, '/');
    if (slash == NULL)
      return n;
    *slash = '\0';
    p = slash + 1;
  }
}

/* A parameter segment: 1..MK_PARAM_MAX bytes of unreserved URL characters
 * (RFC 3986 §2.3). Ids, serials and names all fit; anything else is not
 * one of ours and is refused before a handler sees it. */
static int param_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > MK_PARAM_MAX)
    return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '_' || c == '.' || c == '~'))
      return 0;
  }
  return 1;
}

/* A trailing catch-all parameter ("{*name}"): the rest of the path, '/'
 * included, 1..MK_PATH_MAX bytes of unreserved characters and the base64
 * alphabet's '+', '/' and '=' (RFC 6960 appendix A puts base64 in the path,
 * and libmicrohttpd has already decoded a "%2F" into a separator). */
static int rest_ok(char **segs, int from, int nsegs) {
  for (int i = from; i < nsegs; i++) {
    for (const char *c = segs[i]; *c != '\0'; c++) {
      unsigned char ch = (unsigned char)*c;
      if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == '+' || ch == '='))
        return 0;
    }
  }
  return segs[from][0] != '\0' || from + 1 < nsegs;
}

static int is_catch_all(const char *pseg) { return pseg[0] == '{' && pseg[1] == '*'; }

/* Every segment a path under MK_PATH_MAX bytes can have (empty ones count):
 * a catch-all over base64 text may span many, fixed routes only a few. */
#define SEGS_MAX MK_PATH_MAX
#define PATTERN_SEGS_MAX 16

/* Does the pattern match the request segments? Fills params on success; a
 * catch-all parameter is the first of its segments (the caller joins them
 * again once the route is chosen). */
static int match_path(const char *pattern, char **segs, int nsegs, const char **params,
                      size_t *nparams) {
  char pbuf[256];
  char *psegs[PATTERN_SEGS_MAX];
  size_t plen = strlen(pattern);
  if (plen >= sizeof pbuf)
    return 0;
  memcpy(pbuf, pattern, plen + 1);
  int np = split(pbuf, psegs, PATTERN_SEGS_MAX);
  if (np <= 0)
    return np == nsegs;
  int rest = is_catch_all(psegs[np - 1]);
  if (rest ? nsegs < np : np != nsegs)
    return 0;
  size_t k = 0;
  for (int i = 0; i < np; i++) {
    if (rest && i == np - 1) {
      if (!rest_ok(segs, i, nsegs) || k == MK_ROUTE_PARAMS_MAX)
        return 0;
      params[k++] = segs[i];
    } else if (psegs[i][0] == '{') {
      if (!param_ok(segs[i]) || k == MK_ROUTE_PARAMS_MAX)
        return 0;
      params[k++] = segs[i];
    } else if (strcmp(psegs[i], segs[i]) != 0) {
      return 0;
    }
  }
  *nparams = k;
  return 1;
}

int mk_router_match(const struct mk_route *routes, const char *method, const char *path,
                    char *segbuf, size_t segcap, const struct mk_route **route,
                    const char **params, size_t *nparams, char *allow, size_t allowcap) {
  size_t len = strlen(path);
  if (len >= segcap)
    return MK_ETOOBIG;
  memcpy(segbuf, path, len + 1);
  char *segs[SEGS_MAX];
  int nsegs = split(segbuf, segs, SEGS_MAX);
  if (allowcap > 0)
    allow[0] = '\0';
  if (nsegs < 0)
    return MK_ROUTE_NO_PATH;
  const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
  int path_seen = 0;
  size_t used = 0;
  for (const struct mk_route *r = routes; r->method != NULL; r++) {
    const char *p[MK_ROUTE_PARAMS_MAX];
    size_t n = 0;
    if (!match_path(r->pattern, segs, nsegs, p, &n))
      continue;
    if (strcmp(r->method, want) == 0) {
      /* A catch-all takes the rest of the path: put back the separators
       * split() cut, from its first segment to the end. */
      if (n > 0 && is_catch_all(strrchr(r->pattern, '/') + 1))
        for (char *c = (char *)p[n - 1]; c < segbuf + len; c++)
          if (*c == '\0')
            *c = '/';
      *route = r;
      memcpy(params, p, n * sizeof p[0]);
      *nparams = n;
      return MK_ROUTE_FOUND;
    }
    path_seen = 1;
    /* GET routes serve HEAD too, so Allow names both (RFC 9110 §9.3.2). */
    const char *names[2] = {r->method, strcmp(r->method, "GET") == 0 ? "HEAD" : NULL};
    for (int k = 0; k < 2 && names[k] != NULL; k++) {
      size_t ml = strlen(names[k]);
      if (used + ml + 3 >= allowcap)
        break;
      if (used > 0) {
        memcpy(allow + used, ", ", 2);
        used += 2;
      }
      memcpy(allow + used, names[k], ml + 1);
      used += ml;
    }
  }
  return path_seen ? MK_ROUTE_NO_METHOD : MK_ROUTE_NO_PATH;
}
