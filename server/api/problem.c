#include "api/api.h"

/* One problem type per error code (docs/api.md keeps the list). Types are
 * stable: clients branch on them, so never rename one. */
static const struct {
  int code;
  int status;
  const char *type;
  const char *title;
} problems[] = {
    {MK_EINVAL, 422, "/problems/validation-failed", "The request is not valid"},
    {MK_ETOOBIG, 413, "/problems/too-large", "The request is too large"},
    {MK_ENOTFOUND, 404, "/problems/not-found", "Not found"},
    {MK_ECONFLICT, 409, "/problems/conflict", "The request conflicts with the current state"},
    {MK_EAUTH, 401, "/problems/unauthenticated", "Authentication is required"},
    {MK_EPERM, 403, "/problems/forbidden", "Not allowed"},
    {MK_ELOCKED, 423, "/problems/locked", "Locked after too many failures"},
    {MK_EEXPIRED, 410, "/problems/expired", "Expired or already used"},
    {MK_ERATE, 429, "/problems/rate-limited", "Too many requests"},
    {MK_ESTORE, 503, "/problems/store-unavailable", "The database is unavailable"},
    {MK_ENET, 502, "/problems/upstream-failed", "An outside service failed"},
    {MK_EPROTO, 502, "/problems/upstream-failed", "An outside service failed"},
};

void mk_problem_for_code(int code, int *status, const char **type, const char **title) {
  for (size_t i = 0; i < sizeof problems / sizeof problems[0]; i++) {
    if (problems[i].code == code) {
      *status = problems[i].status;
      *type = problems[i].type;
      *title = problems[i].title;
      return;
    }
  }
  *status = 500;
  *type = "/problems/internal";
  *title = "Internal error";
}

json_t *mk_problem_new(int status, const char *type, const char *title, const char *detail,
                       const char *field, const char *request_id) {
  json_t *p = json_pack("{s:s,s:s,s:i}", "type", type, "title", title, "status", status);
  if (p == NULL)
    return NULL;
  /* A detail that is not valid UTF-8 (a message cut mid-character, bytes
   * from outside) is left out rather than turning the answer into a 500. */
  json_t *d = detail != NULL && *detail != '\0' ? json_string(detail) : NULL;
  if (d != NULL && json_object_set_new(p, "detail", d) != 0)
    goto fail;
  if (field != NULL && *field != '\0' && mk_problem_add_error(p, field, detail) != 0)
    goto fail;
  if (request_id != NULL && *request_id != '\0' &&
      json_object_set_new(p, "request_id", json_string(request_id)) != 0)
    goto fail;
  return p;
fail:
  json_decref(p);
  return NULL;
}

int mk_problem_add_error(json_t *problem, const char *field, const char *detail) {
  json_t *errors = json_object_get(problem, "errors");
  if (errors == NULL) {
    errors = json_array();
    if (errors == NULL || json_object_set_new(problem, "errors", errors) != 0)
      return MK_ENOMEM;
  }
  json_t *item = json_object();
  if (item == NULL || json_array_append_new(errors, item) != 0)
    return MK_ENOMEM;
  json_t *f = json_string(field), *d = json_string(detail ? detail : "");
  if (f == NULL)
    f = json_string("(not UTF-8)");
  if (d == NULL)
    d = json_string("");
  if (json_object_set_new(item, "field", f) != 0 || json_object_set_new(item, "detail", d) != 0)
    return MK_ENOMEM;
  return 0;
}
