/* mkey ca: the CA registry. `list`, `chain` and `crl` read public data;
 * `issue`, `issue-enc`, `recover` and `revoke` are the platform operator's
 * (the token kept by `mkey admin login`); `login`, `logout`, `queue`, `show`,
 * `approve` and `reject` are a CA operator's review (CA审核, docs/review.md). The subject of an issued certificate comes from the vetted
 * data given here, never from the CSR: its signature is only the proof of
 * possession (docs/api.md, POST /v1/cas/{id}/certificates). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "util/buf.h"
#include "util/enc.h"
#include "util/file.h"
#include "util/image.h"

#define CSR_FILE_MAX (64u * 1024)
#define DOWNLOAD_MAX ((size_t)4 << 20) /* a chain or a CRL */
#define CA_PATH_MAX 256
#define PASSWORD_MAX 256

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
    "       mkey ca login --user USER [--password-file FILE]\n"
    "       mkey ca logout\n"
    "       mkey ca queue [--state STATE]\n"
    "       mkey ca show APP [--save-attachments DIR]\n"
    "       mkey ca approve APP\n"
    "       mkey ca reject APP --reason TEXT\n"
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
    "login    log in as an operator of one CA (the platform operator adds them with\n"
    "         `mkey admin ca-operator add`); the password comes from FILE (private,\n"
    "         0600; '-' reads one line from stdin) or is asked on the terminal. Keeps\n"
    "         the session (12 hours) in this profile: use a profile of its own\n"
    "logout   end the CA operator session of this profile\n"
    "queue    your CA's applications in STATE (default awaiting_ca; also ca_rejected,\n"
    "         awaiting_payment, paid, issued, cancelled), oldest first; --status is the\n"
    "         same option\n"
    "show     one application: applicant (ID number masked), enterprise, attachments,\n"
    "         history; --save-attachments writes its images into DIR\n"
    "approve  approve an application awaiting your CA; the applicant may then pay and\n"
    "         download\n"
    "reject   reject it with a reason (1 to 500 characters): the applicant receives\n"
    "         证书申领失败 with it and may resubmit\n"
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
  json_t *all = json_array();
  rc = CLI_FAIL;
  if (all == NULL) {
    cli_error("out of memory");
    goto out;
  }
  /* The cursor goes back into the query as it came: only plain id text. */
  if (cli_get_all(ctx, "/v1/cas?limit=100", NULL,
                  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~", 1000,
                  "CA list", all) != 0)
    goto out;
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

/* ---- CA operators ------------------------------------------------------- */

/* Read a line without echo from the terminal after prompt. */
static int read_tty_secret(const char *prompt, char *out, size_t cap, mk_err *e) {
  FILE *tty = fopen("/dev/tty", "r+");
  struct termios old, quiet;
  int rc = 0, restore = 0;
  if (tty == NULL)
    return mk_err_set(e, MK_EINVAL, "no terminal to ask the password on; give --password-file");
  fputs(prompt, tty);
  fflush(tty);
  if (tcgetattr(fileno(tty), &old) == 0) {
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    restore = tcsetattr(fileno(tty), TCSAFLUSH, &quiet) == 0;
  }
  if (fgets(out, (int)cap, tty) == NULL)
    rc = mk_err_set(e, MK_EINVAL, "no password given");
  if (restore)
    tcsetattr(fileno(tty), TCSAFLUSH, &old);
  fputs("\n", tty);
  fclose(tty);
  return rc;
}

int cli_read_password(const char *file, char *out, size_t cap, mk_err *e) {
  int rc = 0;
  out[0] = '\0';
  if (file == NULL) {
    rc = read_tty_secret("password: ", out, cap, e);
  } else if (strcmp(file, "-") == 0) {
    if (fgets(out, (int)cap, stdin) == NULL)
      rc = mk_err_set(e, MK_EINVAL, "no password on stdin");
  } else {
    mk_buf raw;
    rc = mk_file_read_capped(file, cap - 1, MK_FILE_PRIVATE, &raw, e);
    if (rc == 0) {
      memcpy(out, raw.data, raw.len);
      out[raw.len] = '\0';
      if (strlen(out) != raw.len)
        rc = mk_err_set(e, MK_EINVAL, "'%s' holds a NUL byte", file);
      mk_buf_free_secret(&raw);
    }
  }
  size_t n = strlen(out);
  while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
    out[--n] = '\0';
  if (rc == 0 && n == 0)
    rc = mk_err_set(e, MK_EINVAL, "the password is empty");
  if (rc < 0)
    OPENSSL_cleanse(out, cap);
  return rc;
}

/* A CA operator's request: method path with body (may be NULL). */
#define REVIEWER_HINT "CA operator access (run 'mkey ca login --user USER')"

static int reviewer_request(struct cli *ctx, const char *method, const char *path,
                            const json_t *body, mk_client_response *out, mk_err *e) {
  return cli_request(ctx, method, path, body, out, REVIEWER_HINT, e);
}

/* "/v1/ca/applications/<id><suffix>" for a well-formed application id. */
static int review_path(char *out, size_t cap, const char *id, const char *suffix) {
  if (mk_id_check(id, "apl", NULL) < 0)
    return -1;
  int w = snprintf(out, cap, "/v1/ca/applications/%s%s", id, suffix);
  return w > 0 && (size_t)w < cap ? 0 : -1;
}

static int ca_login(int argc, const char **argv, struct cli *ctx) {
  const char *user = NULL, *file = NULL;
  const struct cli_option opts[] = {{"--user", &user, NULL}, {"--password-file", &file, NULL},
                                    {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, opts, NULL, 0, NULL, cmd_ca_usage);
  if (rc != 0)
    return rc;
  if (user == NULL || user[0] == '\0')
    return cli_usage_error(cmd_ca_usage, "login needs --user USER");
  mk_err e = {0};
  mk_client *c = NULL;
  mk_client_response r = {0};
  json_t *body = NULL, *profile = NULL;
  char pw[PASSWORD_MAX];
  rc = CLI_FAIL;
  if (cli_read_password(file, pw, sizeof pw, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  body = json_pack("{s:s,s:s}", "username", user, "password", pw);
  if (body == NULL) {
    cli_error("the username and password must be UTF-8 text");
    goto out;
  }
  if (cli_client_open(ctx, &c, &e) < 0 || mk_client_set_bearer(c, NULL, &e) < 0 ||
      mk_client_request(c, "POST", "/v1/ca-sessions", body, &r, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  const char *token = json_string_value(json_object_get(r.json, "token"));
  const char *ca = json_string_value(json_object_get(r.json, "ca_id"));
  if (token == NULL || ca == NULL) {
    cli_error("the server's answer has no session");
    goto out;
  }
  if (cli_profile_load(ctx->profile, &profile, &e) < 0 ||
      json_object_set_new(profile, "server", json_string(mk_client_base_url(c))) != 0 ||
      json_object_set_new(profile, "token", json_string(token)) != 0 ||
      json_object_set_new(profile, "role", json_string("ca_operator")) != 0 ||
      json_object_set_new(profile, "ca_id", json_string(ca)) != 0 ||
      json_object_set_new(profile, "username", json_string(user)) != 0 ||
      cli_profile_save(ctx->profile, profile, &e) < 0) {
    if (e.msg[0] == '\0')
      mk_err_set(&e, MK_ENOMEM, "out of memory");
    cli_fail(&e);
    goto out;
  }
  if (ctx->json) {
    json_t *doc = json_pack("{s:s,s:s,s:s,s:s,s:s?}", "server", mk_client_base_url(c), "role",
                            "ca_operator", "ca_id", ca, "username", user, "expires_at",
                            json_string_value(json_object_get(r.json, "expires_at")));
    rc = doc != NULL ? cli_print_json(doc) : cli_error("out of memory");
    json_decref(doc);
  } else {
    printf("logged in to %s as %s, operator of %s, until %s (profile %s)\n",
           mk_client_base_url(c), user, ca,
           json_string_value(json_object_get(r.json, "expires_at")), ctx->profile);
    rc = CLI_OK;
  }
out:
  OPENSSL_cleanse(pw, sizeof pw);
  if (body != NULL) {
    json_object_del(body, "password");
    json_decref(body);
  }
  cli_profile_free(profile);
  mk_client_response_clear(&r);
  mk_client_free(c);
  return rc;
}

static int ca_logout(int argc, const char **argv, struct cli *ctx) {
  int rc = cli_parse_options(ctx, argc, argv, NULL, NULL, 0, NULL, cmd_ca_usage);
  if (rc != 0)
    return rc;
  mk_err e = {0};
  mk_client_response r = {0};
  json_t *profile = NULL;
  rc = CLI_FAIL;
  if (cli_profile_load(ctx->profile, &profile, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  const char *role = json_string_value(json_object_get(profile, "role"));
  if (!json_is_string(json_object_get(profile, "token")) || role == NULL ||
      strcmp(role, "ca_operator") != 0) {
    cli_error("profile %s holds no CA operator session", ctx->profile);
    goto out;
  }
  /* An expired or revoked session is gone already: forget it all the same. */
  int sr = reviewer_request(ctx, "DELETE", "/v1/ca-sessions/current", NULL, &r, &e);
  if (sr < 0 && sr != MK_EAUTH) {
    cli_fail(&e);
    goto out;
  }
  json_object_del(profile, "ca_id");
  json_object_del(profile, "username");
  if (json_object_del(profile, "token") != 0 || json_object_del(profile, "role") != 0 ||
      cli_profile_save(ctx->profile, profile, &e) < 0) {
    if (e.msg[0] == '\0')
      mk_err_set(&e, MK_EINTERNAL, "cannot update the profile");
    cli_fail(&e);
    goto out;
  }
  if (ctx->json) {
    json_t *doc = json_pack("{s:b}", "logged_out", 1);
    rc = doc != NULL ? cli_print_json(doc) : cli_error("out of memory");
    json_decref(doc);
  } else {
    printf(sr == 0 ? "logged out\n" : "logged out (the session had ended already)\n");
    rc = CLI_OK;
  }
out:
  cli_profile_free(profile);
  mk_client_response_clear(&r);
  return rc;
}

static int ca_queue(int argc, const char **argv, struct cli *ctx) {
  const char *state = NULL, *status = NULL;
  const struct cli_option opts[] = {{"--state", &state, NULL}, {"--status", &status, NULL},
                                    {NULL, NULL, NULL}};
  int rc = cli_parse_options(ctx, argc, argv, opts, NULL, 0, NULL, cmd_ca_usage);
  if (rc != 0)
    return rc;
  if (state == NULL)
    state = status;
  if (state != NULL && strspn(state, "abcdefghijklmnopqrstuvwxyz_") != strlen(state))
    return cli_usage_error(cmd_ca_usage, "'%.64s' is not a state", state);
  json_t *all = json_array();
  char base[128];
  rc = CLI_FAIL;
  if (all == NULL) {
    cli_error("out of memory");
    goto out;
  }
  snprintf(base, sizeof base, "/v1/ca/applications?limit=100%s%s", state ? "&state=" : "",
           state ? state : "");
  if (cli_get_all(ctx, base, REVIEWER_HINT, CLI_CURSOR_CHARS, 1000, "queue", all) != 0)
    goto out;
  if (ctx->json) {
    rc = cli_print_json(all);
    goto out;
  }
  size_t i;
  json_t *v;
  json_array_foreach(all, i, v) {
    json_t *who = json_object_get(v, "applicant"), *ent = json_object_get(v, "enterprise");
    const char *name = json_string_value(json_object_get(who, "name"));
    json_int_t years = json_integer_value(json_object_get(v, "years"));
    json_int_t natt = json_integer_value(json_object_get(v, "attachments"));
    printf("%s  %s  %s %s %s", json_string_value(json_object_get(v, "id")),
           json_string_value(json_object_get(v, "title")), name ? name : "(not verified)",
           json_string_value(json_object_get(who, "phone")),
           json_is_string(json_object_get(who, "id_number"))
               ? json_string_value(json_object_get(who, "id_number"))
               : "");
    if (years > 0)
      printf("  %lld year%s", (long long)years, years == 1 ? "" : "s");
    printf("  %lld attachment%s  since %s\n", (long long)natt, natt == 1 ? "" : "s",
           json_string_value(json_object_get(v, "updated_at")));
    if (json_is_object(ent))
      printf("    %s %s\n", json_string_value(json_object_get(ent, "name")),
             json_string_value(json_object_get(ent, "uscc")));
  }
  if (json_array_size(all) == 0)
    printf("no applications %s\n", state ? state : "awaiting_ca");
  rc = CLI_OK;
out:
  json_decref(all);
  return rc;
}

/* One application id as the only argument; path gets its URL + suffix. */
static int review_one(struct cli *ctx, int argc, const char **argv,
                      const struct cli_option *opts, const char *suffix, char *path) {
  const char *args[1];
  int nargs = 0;
  int rc = cli_parse_options(ctx, argc, argv, opts, args, 1, &nargs, cmd_ca_usage);
  if (rc != 0)
    return rc;
  if (nargs != 1)
    return cli_usage_error(cmd_ca_usage, "%s needs an application id (apl_…)", argv[0]);
  if (review_path(path, CA_PATH_MAX, args[0], suffix) != 0)
    return cli_usage_error(cmd_ca_usage, "'%.64s' is not an application id", args[0]);
  return 0;
}

/* Each attachment of app into dir as <id>.png or .jpg (0600). */
static int save_attachments(struct cli *ctx, const json_t *app, const char *dir, mk_err *e) {
  mk_client *c = NULL;
  int rc = cli_client_open(ctx, &c, e);
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(app, "attachments"), i, a) {
    const char *id = json_string_value(json_object_get(a, "id"));
    const char *mt = json_string_value(json_object_get(a, "media_type"));
    char path[CA_PATH_MAX], file[CLI_PATH_MAX], suffix[80];
    unsigned char *data = NULL;
    size_t len = 0;
    if (rc < 0)
      break;
    if (id == NULL || mk_id_check(id, "att", NULL) < 0 || mt == NULL) {
      rc = mk_err_set(e, MK_EPROTO, "the server listed an attachment without an id");
      break;
    }
    snprintf(suffix, sizeof suffix, "/attachments/%s", id);
    if (review_path(path, sizeof path, json_string_value(json_object_get(app, "id")), suffix) !=
            0 ||
        snprintf(file, sizeof file, "%s/%s.%s", dir, id,
                 strcmp(mt, "image/png") == 0 ? "png" : "jpg") >= (int)sizeof file) {
      rc = mk_err_set(e, MK_EINVAL, "the attachment path is too long");
      break;
    }
    rc = mk_client_get_bytes(c, path, mt, MK_IMAGE_MAX, &data, &len, e);
    if (rc == 0)
      rc = mk_file_write_private(file, data, len, 0, e);
    free(data);
    if (rc == 0 && !ctx->json)
      printf("saved %s (%s) to %s\n", id, json_string_value(json_object_get(a, "role")), file);
  }
  mk_client_free(c);
  return rc;
}

static int ca_show(int argc, const char **argv, struct cli *ctx) {
  const char *dir = NULL;
  char path[CA_PATH_MAX];
  const struct cli_option opts[] = {{"--save-attachments", &dir, NULL}, {NULL, NULL, NULL}};
  int rc = review_one(ctx, argc, argv, opts, "", path);
  if (rc != 0)
    return rc;
  mk_err e = {0};
  mk_client_response r = {0};
  rc = CLI_FAIL;
  if (reviewer_request(ctx, "GET", path, NULL, &r, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  if (!ctx->json)
    cli_print_application(r.json);
  if (dir != NULL && save_attachments(ctx, r.json, dir, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  rc = ctx->json ? cli_print_json(r.json) : CLI_OK;
out:
  mk_client_response_clear(&r);
  return rc;
}

static int review_decide(struct cli *ctx, const char *path, const json_t *body,
                         const char *verb) {
  mk_err e = {0};
  mk_client_response r = {0};
  int rc;
  if (reviewer_request(ctx, "POST", path, body, &r, &e) < 0) {
    rc = cli_fail(&e);
  } else if (ctx->json) {
    rc = cli_print_json(r.json);
  } else {
    printf("%s %s: now %s\n", verb, json_string_value(json_object_get(r.json, "id")),
           json_string_value(json_object_get(r.json, "state")));
    rc = CLI_OK;
  }
  mk_client_response_clear(&r);
  return rc;
}

static int ca_approve(int argc, const char **argv, struct cli *ctx) {
  char path[CA_PATH_MAX];
  int rc = review_one(ctx, argc, argv, NULL, "/approval", path);
  return rc != 0 ? rc : review_decide(ctx, path, NULL, "approved");
}

static int ca_reject(int argc, const char **argv, struct cli *ctx) {
  const char *reason = NULL;
  char path[CA_PATH_MAX];
  const struct cli_option opts[] = {{"--reason", &reason, NULL}, {NULL, NULL, NULL}};
  int rc = review_one(ctx, argc, argv, opts, "/rejection", path);
  if (rc != 0)
    return rc;
  if (reason == NULL || reason[0] == '\0')
    return cli_usage_error(cmd_ca_usage, "reject needs --reason TEXT");
  json_t *body = json_pack("{s:s}", "reason", reason);
  if (body == NULL)
    return cli_error("--reason is not UTF-8 text");
  rc = review_decide(ctx, path, body, "rejected");
  json_decref(body);
  return rc;
}

int cmd_ca(int argc, const char **argv, struct cli *ctx) {
  static const struct {
    const char *name;
    int (*fn)(int, const char **, struct cli *);
  } subs[] = {{"list", ca_list},   {"chain", ca_chain},   {"crl", ca_crl},
              {"issue", ca_issue}, {"issue-enc", ca_issue_enc},
              {"recover", ca_recover}, {"revoke", ca_revoke},
              {"login", ca_login}, {"logout", ca_logout},
              {"queue", ca_queue}, {"show", ca_show},
              {"approve", ca_approve}, {"reject", ca_reject}};
  if (argc < 2)
    return cli_usage_error(cmd_ca_usage, "ca needs a subcommand");
  for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
    if (strcmp(argv[1], subs[i].name) == 0)
      return subs[i].fn(argc - 1, argv + 1, ctx);
  return cli_usage_error(cmd_ca_usage, "unknown ca subcommand '%.64s'", argv[1]);
}
