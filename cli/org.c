/* Shared by the organisation commands (cli/org.h). */
#include "org.h"

#include <stdlib.h>
#include <string.h>

#include "util/file.h"
#include "util/image.h"

int org_cli_take_attach(int argc, const char **argv, const char **kept, int *nkept,
                        const char **attach, int *nattach, const char *usage) {
  *nattach = 0;
  if (cli_take_repeated(argc, argv, "--attach", ORG_CLI_ATTACH_MAX, kept, nkept, attach,
                        nattach) < 0)
    return cli_usage_error(usage, "--attach takes ROLE=FILE, at most %d times",
                           ORG_CLI_ATTACH_MAX);
  for (int i = 0; i < *nattach; i++) {
    const char *eq = strchr(attach[i], '=');
    if (eq == NULL || eq == attach[i] || eq - attach[i] > 32 || eq[1] == '\0')
      return cli_usage_error(usage, "--attach takes ROLE=FILE, e.g. power_of_attorney=letter.jpg");
  }
  return 0;
}

int org_cli_parse(struct cli *ctx, int argc, const char **argv, const struct cli_option *opts,
                  const char **args, int max_args, int *nargs, const char **attach, int *nattach,
                  const char *usage) {
  const char *kept[ORG_CLI_ARGS_MAX];
  int nkept = 0;
  if (argc > ORG_CLI_ARGS_MAX)
    return cli_usage_error(usage, "too many arguments");
  int rc = org_cli_take_attach(argc, argv, kept, &nkept, attach, nattach, usage);
  if (rc != 0)
    return rc;
  return cli_parse_options(ctx, nkept, kept, opts, args, max_args, nargs, usage);
}

int org_cli_upload(mk_client *c, const char *file, char id[MK_ID_MAX], mk_err *e) {
  mk_buf raw;
  mk_client_response r = {0};
  int rc = mk_file_read_capped(file, MK_IMAGE_MAX, 0, &raw, e);
  if (rc == MK_ETOOBIG)
    return mk_err_set(e, MK_ETOOBIG, "'%s' is larger than %u bytes: send a smaller photo", file,
                      MK_IMAGE_MAX);
  if (rc < 0) {
    mk_err_wrap(e, "cannot read '%s'", file);
    return rc;
  }
  const char *type = mk_image_type(raw.data, raw.len);
  if (type == NULL) {
    mk_buf_free(&raw);
    return mk_err_set(e, MK_EINVAL, "'%s' is not a PNG or JPEG image", file);
  }
  rc = mk_client_post_bytes(c, "/v1/attachments", type, raw.data, raw.len, &r, e);
  mk_buf_free(&raw);
  if (rc == 0) {
    const char *got = json_string_value(json_object_get(r.json, "id"));
    if (got == NULL || mk_id_check(got, "att", NULL) != 0)
      rc = mk_err_set(e, MK_EPROTO, "the server's answer to an upload has no attachment id");
    else
      snprintf(id, MK_ID_MAX, "%s", got);
  } else {
    mk_err_wrap(e, "cannot upload '%s'", file);
  }
  mk_client_response_clear(&r);
  return rc;
}

static int add_one(mk_client *c, const char *role, size_t role_len, const char *file, json_t *arr,
                   mk_err *e) {
  char id[MK_ID_MAX];
  int rc = org_cli_upload(c, file, id, e);
  if (rc < 0)
    return rc;
  json_t *item = json_pack("{s:s%,s:s}", "role", role, role_len, "id", id);
  if (item == NULL || json_array_append_new(arr, item) != 0)
    return mk_err_set(e, MK_ENOMEM, "out of memory");
  return 0;
}

int org_cli_attachments(mk_client *c, const char *role0, const char *file0,
                        const char *const *attach, int nattach, json_t *arr, mk_err *e) {
  int rc = 0;
  if (file0 != NULL && (rc = add_one(c, role0, strlen(role0), file0, arr, e)) < 0)
    return rc;
  for (int i = 0; i < nattach; i++) {
    const char *eq = strchr(attach[i], '=');
    if ((rc = add_one(c, attach[i], (size_t)(eq - attach[i]), eq + 1, arr, e)) < 0)
      return rc;
  }
  return 0;
}

json_t *org_cli_list(const char *text, const char *what, const char *usage) {
  json_t *arr = json_array();
  const char *p = text;
  if (arr == NULL) {
    cli_error("out of memory");
    return NULL;
  }
  for (;;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    while (n > 0 && *p == ' ') {
      p++;
      n--;
    }
    while (n > 0 && p[n - 1] == ' ')
      n--;
    if (n == 0 || n > 32) {
      json_decref(arr);
      cli_usage_error(usage, "%s is a comma-separated list, e.g. login,sign,seal", what);
      return NULL;
    }
    if (json_array_append_new(arr, json_stringn(p, n)) != 0) {
      json_decref(arr);
      cli_error("out of memory");
      return NULL;
    }
    if (comma == NULL)
      return arr;
    p = comma + 1;
  }
}

int org_cli_query_add(char *path, size_t cap, const char *key, const char *value) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen(path);
  int w = snprintf(path + n, cap - n, "%s%s=", strchr(path, '?') ? "&" : "?", key);
  if (w < 0 || (size_t)w >= cap - n)
    return -1;
  n += (size_t)w;
  for (const unsigned char *v = (const unsigned char *)value; *v != '\0'; v++) {
    int plain = (*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') || (*v >= '0' && *v <= '9') ||
                *v == '-' || *v == '_' || *v == '.' || *v == '~';
    if (n + (plain ? 1 : 3) >= cap)
      return -1;
    if (plain) {
      path[n++] = (char)*v;
    } else {
      path[n++] = '%';
      path[n++] = hex[*v >> 4];
      path[n++] = hex[*v & 15];
    }
  }
  path[n] = '\0';
  return 0;
}

int org_cli_check_id(const char *s, const char *prefix, const char *what, const char *usage) {
  if (s == NULL || mk_id_check(s, prefix, NULL) != 0)
    return cli_usage_error(usage, "'%.64s' is not %s id (%s_…)", s ? s : "", what, prefix);
  return 0;
}

int org_cli_enterprise(mk_client *c, const char *given, int need_admin, char id[MK_ID_MAX],
                       mk_err *e) {
  mk_client_response r = {0};
  int rc = 0, found = 0;
  size_t i;
  json_t *it;
  if (given != NULL) {
    if (mk_id_check(given, "ent", NULL) != 0)
      return mk_err_set(e, MK_EINVAL, "'%.64s' is not an enterprise id (ent_…)", given);
    snprintf(id, MK_ID_MAX, "%s", given);
    return 0;
  }
  if ((rc = mk_client_request(c, "GET", "/v1/me/enterprises", NULL, &r, e)) < 0)
    return rc;
  json_array_foreach(json_object_get(r.json, "items"), i, it) {
    const char *role = json_string_value(json_object_get(it, "role"));
    const char *eid = json_string_value(json_object_get(it, "id"));
    if (eid == NULL || mk_id_check(eid, "ent", NULL) != 0 ||
        (need_admin && (role == NULL || strcmp(role, "admin") != 0)))
      continue;
    if (found++ == 0)
      snprintf(id, MK_ID_MAX, "%s", eid);
  }
  mk_client_response_clear(&r);
  if (found == 0)
    return mk_err_set(e, MK_ENOTFOUND,
                      need_admin ? "you are not the admin of an enterprise"
                                 : "you are not a member of an enterprise");
  if (found > 1)
    return mk_err_set(e, MK_EINVAL, "you %s %d enterprises: give --enterprise ID",
                      need_admin ? "are the admin of" : "belong to", found);
  return 0;
}

void org_cli_print_app(const json_t *app) {
  const char *id = json_string_value(json_object_get(app, "id"));
  const char *kind = json_string_value(json_object_get(app, "kind"));
  const char *title = json_string_value(json_object_get(app, "title"));
  const char *state = json_string_value(json_object_get(app, "state"));
  const char *ca = json_string_value(json_object_get(app, "ca_id"));
  printf("%s  %s (%s)  %s\n", id ? id : "?", title ? title : "", kind ? kind : "?",
         state ? state : "?");
  if (ca != NULL)
    printf("    CA %s\n", ca);
  if (state == NULL)
    return;
  if (strcmp(state, "awaiting_admin") == 0)
    printf("    waiting for the enterprise's admin to agree\n");
  else if (strcmp(state, "awaiting_ca") == 0)
    printf("    waiting for the CA's review\n");
  else if (strcmp(state, "awaiting_payment") == 0)
    printf("    approved by the CA; pay and download the certificate next\n");
}

int org_cli_fail(mk_err *e) {
  if (e->code == MK_EAUTH)
    mk_err_wrap(e, "log in first ('mkey login --phone N')");
  return cli_fail(e);
}

int org_cli_years(const char *s, int *out) {
  char *end = NULL;
  long v = s ? strtol(s, &end, 10) : 0;
  if (s == NULL || end == s || *end != '\0' || v < 1 || v > 10)
    return -1;
  *out = (int)v;
  return 0;
}

int org_cli_open_enterprise(struct cli *ctx, const char *given, int need_admin,
                            const char *suffix, mk_client **c, char *path, size_t cap) {
  mk_err e = {0};
  char id[MK_ID_MAX];
  if (cli_client_open(ctx, c, &e) < 0 || org_cli_enterprise(*c, given, need_admin, id, &e) < 0)
    return org_cli_fail(&e);
  snprintf(path, cap, "/v1/enterprises/%s%s", id, suffix);
  return 0;
}

int org_cli_send(const struct cli *ctx, mk_client *c, const char *method, const char *path,
                 const json_t *body, const char *key, void (*text)(const json_t *)) {
  mk_err e = {0};
  mk_client_response r = {0};
  int rc;
  if (mk_client_request(c, method, path, body, &r, &e) < 0)
    rc = org_cli_fail(&e);
  else if (ctx->json)
    rc = cli_print_json(key != NULL ? json_object_get(r.json, key) : r.json);
  else
    rc = org_cli_output(ctx, r.json, text);
  mk_client_response_clear(&r);
  return rc;
}

int org_cli_delete(struct cli *ctx, const char *given, const char *suffix, const json_t *done,
                   const char *said) {
  mk_err e = {0};
  mk_client *c = NULL;
  mk_client_response r = {0};
  char path[ORG_CLI_PATH_MAX];
  int rc = org_cli_open_enterprise(ctx, given, 1, suffix, &c, path, sizeof path);
  if (rc != 0)
    goto out;
  if (mk_client_request(c, "DELETE", path, NULL, &r, &e) < 0) {
    rc = org_cli_fail(&e);
  } else if (ctx->json) {
    rc = done ? cli_print_json(done) : cli_error("out of memory");
  } else {
    printf("%s\n", said);
    rc = CLI_OK;
  }
out:
  mk_client_response_clear(&r);
  mk_client_free(c);
  return rc;
}

int org_cli_submit(const struct cli *ctx, mk_client *c, const char *path, json_t *body,
                   const char *form, const char *const *attach, int nattach) {
  mk_err e = {0};
  json_t *atts = json_array();
  if (atts == NULL)
    return cli_error("out of memory");
  if (org_cli_attachments(c, "application_form", form, attach, nattach, atts, &e) < 0) {
    json_decref(atts);
    return org_cli_fail(&e);
  }
  if (json_object_set_new(body, "attachments", atts) != 0)
    return cli_error("out of memory");
  return org_cli_send(ctx, c, "POST", path, body, NULL, org_cli_print_app);
}

int org_cli_call(struct cli *ctx, const char *method, const char *path, const json_t *body,
                 mk_client_response *out) {
  mk_err e = {0};
  if (cli_request(ctx, method, path, body, out, NULL, &e) < 0)
    return org_cli_fail(&e);
  return 0;
}

int org_cli_output(const struct cli *ctx, const json_t *doc, void (*text)(const json_t *)) {
  if (ctx->json)
    return cli_print_json(doc);
  text(doc);
  return CLI_OK;
}
