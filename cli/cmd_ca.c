/* mkey ca: the CA registry. `list`, `chain` and `crl` read public data;
 * `issue`, `issue-enc`, `recover` and `revoke` are the platform operator's
 * (the token kept by `mkey admin login`). The subject of an issued certificate comes from the vetted
 * data given here, never from the CSR: its signature is only the proof of
 * possession (docs/api.md, POST /v1/cas/{id}/certificates). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/enc.h"
#include "util/file.h"

#define CSR_FILE_MAX (64u * 1024)
#define DOWNLOAD_MAX ((size_t)4 << 20) /* a chain or a CRL */
#define CA_PATH_MAX 256

const char cmd_ca_usage[] =
    "usage: mkey ca list\n"
    "       mkey ca chain CA_ID [--out FILE]\n"
    "       mkey ca crl CA_ID --out FILE\n"
    "       mkey ca issue --ca CA_ID --profile PROFILE --csr FILE\n"
    "                     (--name N --id-number ID | --enterprise N --uscc U\n"
    "                      [--name STAFF --id-number ID]) [--days N] --out CERT.pem\n"
    "       mkey ca issue-enc --ca CA_ID --profile PROFILE --transport-key PUB.pem\n"
    "                     (subject as issue) [--days N] --out CERT.pem --package-out PKG\n"
    "       mkey ca recover --ca CA_ID --serial HEX --transport-key PUB.pem --package-out PKG\n"
    "       mkey ca revoke --ca CA_ID --serial HEX --reason REASON\n"
    "\n"
    "list     the CAs users may choose: algorithm, validity options with fees,\n"
    "         required attachments, review policy (--json: an array)\n"
    "chain    the CA's certificate chain (issuing CA, then root) as PEM, to FILE or stdout\n"
    "crl      the CA's current CRL (DER) to FILE\n"
    "issue    (operator) issue a certificate for the key in the CSR; PROFILE is one of\n"
    "         personal-sign, personal-enc, enterprise-sign, enterprise-enc, staff-sign,\n"
    "         staff-enc; the subject is the person (--name, --id-number), the enterprise\n"
    "         (--enterprise, --uscc), or for staff profiles both; --days is one of the\n"
    "         CA's validity options (default: its first). Writes CERT.pem, prints the serial.\n"
    "issue-enc (operator) issue an encryption certificate (personal-enc,\n"
    "         enterprise-enc, staff-enc) for a key pair the CA's KMC makes and escrows;\n"
    "         the device share is sealed to PUB.pem (the device's SM2 or RSA transport\n"
    "         key) and written to PKG (MKDL)\n"
    "recover  (operator) deliver an escrowed key again to PUB.pem: a fresh split, the\n"
    "         old shares stop combining; refused once the certificate is revoked\n"
    "revoke   (operator) revoke by serial (hex) with an RFC 5280 reason: unspecified,\n"
    "         keyCompromise, cACompromise, affiliationChanged, superseded,\n"
    "         cessationOfOperation, privilegeWithdrawn (revocation is final: no\n"
    "         certificateHold)\n"
    "\n"
    "Operator commands need `mkey admin login --token-file FILE` first. After `ca\n"
    "issue`, --profile is the certificate profile; name an mkey profile before the\n"
    "command (mkey --profile NAME ca issue …).\n";

/* "/v1/cas/<id><suffix>"; the id must be a path parameter the server can
 * accept (unreserved characters), so nothing in it needs escaping. */
static int ca_path(char *out, size_t cap, const char *id, const char *suffix) {
  size_t n = strlen(id);
  if (n == 0 || n > 128)
    return -1;
  for (size_t i = 0; i < n; i++) {
    char c = id[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '_' || c == '.' || c == '~'))
      return -1;
  }
  int w = snprintf(out, cap, "/v1/cas/%s%s", id, suffix);
  return w > 0 && (size_t)w < cap ? 0 : -1;
}

/* "¥200.00" from fen. */
static void yuan(char *out, size_t cap, json_int_t fen) {
  snprintf(out, cap, "\xc2\xa5%lld.%02lld", (long long)(fen / 100), (long long)(fen % 100));
}

static void print_ca(const json_t *ca) {
  const char *id = json_string_value(json_object_get(ca, "id"));
  const char *name = json_string_value(json_object_get(ca, "name"));
  const char *adapter = json_string_value(json_object_get(ca, "adapter"));
  const char *kt = json_string_value(json_object_get(ca, "key_type"));
  const char *review = json_string_value(json_object_get(ca, "review"));
  printf("%s  %s\n", id ? id : "?", name ? name : "");
  printf("    %s, %s, review %s\n", kt ? kt : "?", adapter ? adapter : "?", review ? review : "?");
  size_t i;
  json_t *v;
  printf("    validity:");
  json_array_foreach(json_object_get(ca, "validity"), i, v) {
    char fee[32];
    yuan(fee, sizeof fee, json_integer_value(json_object_get(v, "fee_fen")));
    printf("%s %lld year%s %s", i ? "," : "", (long long)json_integer_value(json_object_get(v, "years")),
           json_integer_value(json_object_get(v, "years")) == 1 ? "" : "s", fee);
  }
  printf("\n    attachments:");
  json_array_foreach(json_object_get(ca, "attachments"), i, v) {
    const char *an = json_string_value(json_object_get(v, "name"));
    printf("%s %s", i ? "," : "", an ? an : "?");
  }
  printf("\n");
}

static int ca_list(int argc, const char **argv, struct cli *ctx) {
  int rc = cli_parse_options(ctx, argc, argv, NULL, NULL, 0, NULL, cmd_ca_usage);
  if (rc != 0)
    return rc;
  mk_err e = {0};
  mk_client *c = NULL;
  mk_client_response r = {0};
  json_t *all = json_array();
  char path[CA_PATH_MAX] = "/v1/cas?limit=100";
  rc = CLI_FAIL;
  if (all == NULL) {
    cli_error("out of memory");
    goto out;
  }
  if (cli_client_open(ctx, &c, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  /* Follow next_cursor to the end; a bounded number of pages keeps a
   * misbehaving server from looping us. */
  for (int page = 0; page < 1000; page++) {
    if (mk_client_request(c, "GET", path, NULL, &r, &e) < 0) {
      cli_fail(&e);
      goto out;
    }
    json_t *items = json_object_get(r.json, "items");
    if (!json_is_array(items) || json_array_extend(all, items) != 0) {
      cli_error("the server's CA list has no items");
      goto out;
    }
    const char *next = json_string_value(json_object_get(r.json, "next_cursor"));
    if (next == NULL)
      break;
    /* The cursor goes back into the query as it came: only plain id text. */
    if (strspn(next, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~") !=
            strlen(next) ||
        snprintf(path, sizeof path, "/v1/cas?limit=100&cursor=%s", next) >= (int)sizeof path) {
      cli_error("the server sent a bad cursor");
      goto out;
    }
  }
  if (ctx->json) {
    rc = cli_print_json(all);
    goto out;
  }
  size_t i;
  json_t *v;
  json_array_foreach(all, i, v) print_ca(v);
  if (json_array_size(all) == 0)
    printf("no CAs\n");
  rc = CLI_OK;
out:
  json_decref(all);
  mk_client_response_clear(&r);
  mk_client_free(c);
  return rc;
}

/* GET a public file of one CA (chain, CRL) to out_file, or stdout. */
static int ca_download(struct cli *ctx, const char *id, const char *suffix, const char *accept,
                       const char *out_file, const char *what) {
  mk_err e = {0};
  mk_client *c = NULL;
  unsigned char *data = NULL;
  size_t len = 0;
  char path[CA_PATH_MAX];
  int rc = CLI_FAIL;
  if (ca_path(path, sizeof path, id, suffix) != 0)
    return cli_usage_error(cmd_ca_usage, "'%.64s' is not a CA id", id);
  if (cli_client_open(ctx, &c, &e) < 0 ||
      mk_client_get_bytes(c, path, accept, DOWNLOAD_MAX, &data, &len, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  if (out_file != NULL) {
    if (mk_file_write_private(out_file, data, len, 0, &e) < 0) {
      cli_fail(&e);
      goto out;
    }
  } else if (fwrite(data, 1, len, stdout) != len) {
    cli_error("cannot write to stdout");
    goto out;
  }
  if (ctx->json) {
    json_t *doc = json_pack("{s:s,s:s,s:I,s:s?}", "ca", id, "kind", what, "bytes",
                            (json_int_t)len, "out", out_file);
    rc = doc != NULL ? cli_print_json(doc) : cli_error("out of memory");
    json_decref(doc);
  } else {
    rc = CLI_OK;
  }
out:
  free(data);
  mk_client_free(c);
  return rc;
}

static int ca_chain(int argc, const char **argv, struct cli *ctx) {
  const char *out = NULL;
  const char *args[1];
  int nargs = 0;
  const struct cli_option opts[] = {{"--out", &out, NULL}, {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, opts, args, 1, &nargs, cmd_ca_usage);
  if (rc != 0)
    return rc;
  if (nargs != 1)
    return cli_usage_error(cmd_ca_usage, "chain needs a CA id");
  /* With --json the document is stdout's only content, so the PEM needs a file. */
  if (ctx->json && out == NULL)
    return cli_usage_error(cmd_ca_usage, "chain --json needs --out FILE");
  return ca_download(ctx, args[0], "/chain", "application/pem-certificate-chain", out, "chain");
}

static int ca_crl(int argc, const char **argv, struct cli *ctx) {
  const char *out = NULL;
  const char *args[1];
  int nargs = 0;
  const struct cli_option opts[] = {{"--out", &out, NULL}, {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, opts, args, 1, &nargs, cmd_ca_usage);
  if (rc != 0)
    return rc;
  if (nargs != 1)
    return cli_usage_error(cmd_ca_usage, "crl needs a CA id");
  if (out == NULL)
    return cli_usage_error(cmd_ca_usage, "crl needs --out FILE (the CRL is binary DER)");
  return ca_download(ctx, args[0], "/crl", "application/pkix-crl", out, "crl");
}

/* POST body to path with the operator's session; *out keeps the answer. */
static int operator_post(struct cli *ctx, const char *path, const json_t *body,
                         mk_client_response *out, mk_err *e) {
  mk_client *c = NULL;
  int rc = cli_client_open(ctx, &c, e);
  if (rc == 0)
    rc = mk_client_request(c, "POST", path, body, out, e);
  mk_client_free(c);
  if (rc == MK_EAUTH)
    mk_err_wrap(e, "operator access (run 'mkey admin login --token-file FILE')");
  return rc;
}

/* After `ca issue`, --profile names the certificate profile, not the mkey
 * profile (give that one before the command: `mkey --profile ops ca issue
 * …`). Take it out of argv before the common options see it; kept holds the
 * other arguments (argc of them, like argv). */
static int take_cert_profile(int argc, const char **argv, const char **kept, int *nkept,
                             const char **profile) {
  int n = 0;
  for (int i = 0; i < argc; i++) {
    if (i > 0 && strcmp(argv[i], "--") == 0) {
      while (i < argc)
        kept[n++] = argv[i++];
      break;
    }
    if (i > 0 && strcmp(argv[i], "--profile") == 0) {
      if (i + 1 >= argc)
        return -1;
      *profile = argv[++i];
    } else if (i > 0 && strncmp(argv[i], "--profile=", 10) == 0) {
      *profile = argv[i] + 10;
    } else {
      kept[n++] = argv[i];
    }
  }
  kept[n] = NULL;
  *nkept = n;
  return 0;
}

/* The device package of an answer (base64url MKDL) to file, 0600. */
static int write_package(const json_t *answer, const char *file, mk_err *e) {
  const char *text = json_string_value(json_object_get(answer, "device_package"));
  if (text == NULL)
    return mk_err_set(e, MK_EPROTO, "the server's answer has no device package");
  size_t cap = mk_base64_dec_max(strlen(text)) + 1;
  unsigned char *pkg = malloc(cap);
  if (pkg == NULL)
    return mk_err_set(e, MK_ENOMEM, "out of memory");
  int n = mk_base64url_decode(text, strlen(text), pkg, cap, e);
  int rc = n < 0 ? n : mk_file_write_private(file, pkg, (size_t)n, 0, e);
  free(pkg);
  return rc;
}

/* `issue` (a CSR's key) and `issue-enc` (a key the CA's KMC makes and
 * escrows, delivered to --transport-key). */
static int issue_common(int argc, const char **argv, struct cli *ctx, int enc) {
  const char *ca = NULL, *profile = NULL, *csr = NULL, *name = NULL, *idn = NULL,
             *enterprise = NULL, *uscc = NULL, *days = NULL, *out = NULL, *pkg_out = NULL;
  const char *what = enc ? "issue-enc" : "issue";
  const char **kept = calloc((size_t)argc + 1, sizeof *kept);
  int nkept = 0;
  if (kept == NULL)
    return cli_error("out of memory");
  if (take_cert_profile(argc, argv, kept, &nkept, &profile) != 0) {
    free(kept);
    return cli_usage_error(cmd_ca_usage, "--profile needs a value");
  }
  const struct cli_option opts[] = {
      {"--ca", &ca, NULL},         {"--csr", &csr, NULL},       {"--name", &name, NULL},
      {"--id-number", &idn, NULL}, {"--enterprise", &enterprise, NULL},
      {"--uscc", &uscc, NULL},     {"--days", &days, NULL},
      {"--out", &out, NULL},       {"--transport-key", &csr, NULL},
      {"--package-out", &pkg_out, NULL}, {NULL, NULL, NULL},
  };
  int rc = cli_parse_options(ctx, nkept, kept, opts, NULL, 0, NULL, cmd_ca_usage);
  free(kept);
  if (rc != 0)
    return rc;
  /* --csr and --transport-key share a slot: each command takes its own. */
  int wrong = 0;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], enc ? "--csr" : "--transport-key") == 0 ||
        (!enc && strcmp(argv[i], "--package-out") == 0))
      wrong = 1;
  if (wrong)
    return cli_usage_error(cmd_ca_usage, "%s takes %s", what,
                           enc ? "--transport-key, not --csr" : "--csr, not --transport-key");
  if (ca == NULL || profile == NULL || csr == NULL || out == NULL || (enc && pkg_out == NULL))
    return cli_usage_error(cmd_ca_usage, "%s needs --ca, --profile, %s and --out", what,
                           enc ? "--transport-key, --package-out" : "--csr");
  if (enterprise == NULL && uscc == NULL && (name == NULL || idn == NULL))
    return cli_usage_error(cmd_ca_usage,
                           "%s needs --name and --id-number, or --enterprise and --uscc", what);
  if ((enterprise == NULL) != (uscc == NULL))
    return cli_usage_error(cmd_ca_usage, "--enterprise and --uscc go together");
  if ((name == NULL) != (idn == NULL))
    return cli_usage_error(cmd_ca_usage, "--name and --id-number go together");
  long ndays = 0;
  if (days != NULL) {
    char *end = NULL;
    ndays = strtol(days, &end, 10);
    if (end == days || *end != '\0' || ndays <= 0 || ndays > 100000)
      return cli_usage_error(cmd_ca_usage, "--days must be a whole number of days");
  }
  char path[CA_PATH_MAX];
  if (ca_path(path, sizeof path, ca, enc ? "/escrowed-certificates" : "/certificates") != 0)
    return cli_usage_error(cmd_ca_usage, "'%.64s' is not a CA id", ca);

  mk_err e = {0};
  mk_buf pem;
  mk_client_response r = {0};
  json_t *body = NULL;
  rc = CLI_FAIL;
  if (mk_file_read_capped(csr, CSR_FILE_MAX, 0, &pem, &e) < 0) {
    cli_fail(&e);
    return CLI_FAIL;
  }
  body = json_pack("{s:s,s:s%}", "profile", profile, enc ? "transport_key" : "csr",
                   (const char *)pem.data, pem.len);
  if (body == NULL || (name && json_object_set_new(body, "name", json_string(name)) != 0) ||
      (idn && json_object_set_new(body, "id_number", json_string(idn)) != 0) ||
      (enterprise && json_object_set_new(body, "enterprise", json_string(enterprise)) != 0) ||
      (uscc && json_object_set_new(body, "uscc", json_string(uscc)) != 0) ||
      (days && json_object_set_new(body, "days", json_integer(ndays)) != 0)) {
    cli_error("cannot build the request (is every argument UTF-8?)");
    goto out;
  }
  if (operator_post(ctx, path, body, &r, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  const char *cert = json_string_value(json_object_get(r.json, "certificate"));
  const char *serial = json_string_value(json_object_get(r.json, "serial"));
  if (cert == NULL || serial == NULL) {
    cli_error("the server's answer has no certificate");
    goto out;
  }
  if (mk_file_write_private(out, cert, strlen(cert), 0, &e) < 0 ||
      (enc && write_package(r.json, pkg_out, &e) < 0)) {
    cli_fail(&e);
    goto out;
  }
  if (ctx->json) {
    json_t *doc = json_deep_copy(r.json);
    if (doc == NULL || json_object_del(doc, "certificate") != 0 ||
        (enc && (json_object_del(doc, "device_package") != 0 ||
                 json_object_set_new(doc, "package_out", json_string(pkg_out)) != 0)) ||
        json_object_set_new(doc, "out", json_string(out)) != 0) {
      json_decref(doc);
      cli_error("out of memory");
      goto out;
    }
    rc = cli_print_json(doc);
    json_decref(doc);
  } else {
    const char *subject = json_string_value(json_object_get(r.json, "subject"));
    const char *na = json_string_value(json_object_get(r.json, "not_after"));
    printf("issued serial %s by %s: %s (until %s), written to %s\n", serial, ca,
           subject ? subject : "", na ? na : "?", out);
    if (enc)
      printf("escrowed key %s, device package written to %s\n",
             json_string_value(json_object_get(r.json, "key_id")), pkg_out);
    rc = CLI_OK;
  }
out:
  mk_buf_free(&pem);
  json_decref(body);
  mk_client_response_clear(&r);
  return rc;
}

static int ca_issue(int argc, const char **argv, struct cli *ctx) {
  return issue_common(argc, argv, ctx, 0);
}

static int ca_issue_enc(int argc, const char **argv, struct cli *ctx) {
  return issue_common(argc, argv, ctx, 1);
}

static int ca_recover(int argc, const char **argv, struct cli *ctx) {
  const char *ca = NULL, *serial = NULL, *tk = NULL, *pkg_out = NULL;
  const struct cli_option opts[] = {{"--ca", &ca, NULL},
                                    {"--serial", &serial, NULL},
                                    {"--transport-key", &tk, NULL},
                                    {"--package-out", &pkg_out, NULL},
                                    {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, opts, NULL, 0, NULL, cmd_ca_usage);
  if (rc != 0)
    return rc;
  if (ca == NULL || serial == NULL || tk == NULL || pkg_out == NULL)
    return cli_usage_error(cmd_ca_usage,
                           "recover needs --ca, --serial, --transport-key and --package-out");
  char hex[80];
  size_t k = 0;
  for (const char *p = serial; *p != '\0'; p++) {
    if (*p == ':')
      continue;
    if (!strchr("0123456789abcdefABCDEF", *p) || k + 1 >= sizeof hex)
      return cli_usage_error(cmd_ca_usage, "--serial must be hexadecimal");
    hex[k++] = *p;
  }
  hex[k] = '\0';
  if (k == 0)
    return cli_usage_error(cmd_ca_usage, "--serial must be hexadecimal");
  char suffix[128];
  snprintf(suffix, sizeof suffix, "/escrowed-certificates/%s/recovery", hex);
  char path[CA_PATH_MAX];
  if (ca_path(path, sizeof path, ca, suffix) != 0)
    return cli_usage_error(cmd_ca_usage, "'%.64s' is not a CA id", ca);
  mk_err e = {0};
  mk_buf pem;
  mk_client_response r = {0};
  json_t *body = NULL;
  rc = CLI_FAIL;
  if (mk_file_read_capped(tk, CSR_FILE_MAX, 0, &pem, &e) < 0) {
    cli_fail(&e);
    return CLI_FAIL;
  }
  body = json_pack("{s:s%}", "transport_key", (const char *)pem.data, pem.len);
  if (body == NULL) {
    cli_error("cannot build the request (is the key file PEM text?)");
    goto out;
  }
  if (operator_post(ctx, path, body, &r, &e) < 0 || write_package(r.json, pkg_out, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  if (ctx->json) {
    json_t *doc = json_deep_copy(r.json);
    if (doc == NULL || json_object_del(doc, "device_package") != 0 ||
        json_object_set_new(doc, "package_out", json_string(pkg_out)) != 0) {
      json_decref(doc);
      cli_error("out of memory");
      goto out;
    }
    rc = cli_print_json(doc);
    json_decref(doc);
  } else {
    printf("delivered escrowed key %s of serial %s again, device package written to %s\n",
           json_string_value(json_object_get(r.json, "key_id")), hex, pkg_out);
    rc = CLI_OK;
  }
out:
  mk_buf_free(&pem);
  json_decref(body);
  mk_client_response_clear(&r);
  return rc;
}

static int ca_revoke(int argc, const char **argv, struct cli *ctx) {
  const char *ca = NULL, *serial = NULL, *reason = NULL;
  const struct cli_option opts[] = {{"--ca", &ca, NULL},
                                    {"--serial", &serial, NULL},
                                    {"--reason", &reason, NULL},
                                    {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, opts, NULL, 0, NULL, cmd_ca_usage);
  if (rc != 0)
    return rc;
  if (ca == NULL || serial == NULL || reason == NULL)
    return cli_usage_error(cmd_ca_usage, "revoke needs --ca, --serial and --reason");
  char path[CA_PATH_MAX];
  if (ca_path(path, sizeof path, ca, "/revocations") != 0)
    return cli_usage_error(cmd_ca_usage, "'%.64s' is not a CA id", ca);
  mk_err e = {0};
  mk_client_response r = {0};
  json_t *body = json_pack("{s:s,s:s}", "serial", serial, "reason", reason);
  rc = CLI_FAIL;
  if (body == NULL) {
    cli_error("cannot build the request (is every argument UTF-8?)");
    goto out;
  }
  if (operator_post(ctx, path, body, &r, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  if (ctx->json) {
    rc = cli_print_json(r.json);
  } else {
    const char *s = json_string_value(json_object_get(r.json, "serial"));
    const char *at = json_string_value(json_object_get(r.json, "revoked_at"));
    printf("revoked serial %s of %s (%s) at %s\n", s ? s : serial, ca, reason, at ? at : "?");
    rc = CLI_OK;
  }
out:
  json_decref(body);
  mk_client_response_clear(&r);
  return rc;
}

int cmd_ca(int argc, const char **argv, struct cli *ctx) {
  static const struct {
    const char *name;
    int (*fn)(int, const char **, struct cli *);
  } subs[] = {{"list", ca_list},   {"chain", ca_chain},   {"crl", ca_crl},
              {"issue", ca_issue}, {"issue-enc", ca_issue_enc},
              {"recover", ca_recover}, {"revoke", ca_revoke}};
  if (argc < 2)
    return cli_usage_error(cmd_ca_usage, "ca needs a subcommand");
  for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
    if (strcmp(argv[1], subs[i].name) == 0)
      return subs[i].fn(argc - 1, argv + 1, ctx);
  return cli_usage_error(cmd_ca_usage, "unknown ca subcommand '%.64s'", argv[1]);
}
