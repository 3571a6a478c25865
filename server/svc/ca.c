/*
 * The CA registry: which CAs users may choose, what each offers (algorithm,
 * validity options with fees, attachments, review policy), their chains,
 * CRLs and OCSP answers, and the certificates they issued. Builtin CAs sign
 * here with lib/pki (the key unwrapped by the KEK for each use); cmp CAs are
 * external and reached with lib/pki/cmp. Everything is answered from the
 * store, so any mkeyd node sharing it answers the same. docs/api.md lists
 * the routes, docs/operations.md the CA definition file.
 */
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/ca.h"
#include "pki/cmp.h"
#include "pki/crl.h"
#include "pki/csr.h"
#include "pki/issue.h"
#include "pki/kmc.h"
#include "pki/ocsp.h"
#include "svc/svc.h"
#include "util/buf.h"
#include "util/enc.h"
#include "util/file.h"
#include "util/bio.h"
#include "util/guard.h"
#include "util/id.h"
#include "util/json.h"
#include "util/time.h"
#include "util/validate.h"

#define CRL_VALIDITY (7 * 86400) /* nextUpdate after thisUpdate */
#define CRL_REFRESH 86400        /* a CRL older than this is replaced at the next request */
#define CAS_FILE_MAX (256u * 1024)
#define CAS_MAX 256              /* CA definitions in one file */
#define SERIAL_HEX_MAX (2 * MK_PKI_SERIAL_MAX)
#define LIST_LIMIT_MAX 100

/* The sandbox CAs: four choices that differ the way real CAs do (algorithm,
 * validity and fees, an extra document, review policy). The same shape as
 * the cas_file definitions. Fees are in fen. */
static const char sandbox_cas[] =
    "["
    "{\"id\":\"ca_sbx_zjca\",\"name\":\"浙江CA（沙箱）\",\"adapter\":\"builtin\","
    "\"key_type\":\"sm2\",\"validity\":[{\"years\":1,\"fee_fen\":20000},"
    "{\"years\":2,\"fee_fen\":36000},{\"years\":3,\"fee_fen\":50000}],"
    "\"attachments\":[{\"id\":\"application_form\",\"name\":\"数字证书申请表\"}],"
    "\"review\":\"manual\"},"
    "{\"id\":\"ca_sbx_jsca\",\"name\":\"江苏CA（沙箱）\",\"adapter\":\"builtin\","
    "\"key_type\":\"rsa\",\"validity\":[{\"years\":1,\"fee_fen\":30000},"
    "{\"years\":3,\"fee_fen\":78000}],"
    "\"attachments\":[{\"id\":\"application_form\",\"name\":\"数字证书申请表\"},"
    "{\"id\":\"business_license\",\"name\":\"营业执照副本\"}],"
    "\"review\":\"manual\"},"
    "{\"id\":\"ca_sbx_ahca\",\"name\":\"安徽CA（沙箱）\",\"adapter\":\"builtin\","
    "\"key_type\":\"sm2\",\"validity\":[{\"years\":1,\"fee_fen\":25000},"
    "{\"years\":2,\"fee_fen\":45000}],"
    "\"attachments\":[{\"id\":\"application_form\",\"name\":\"数字证书申请表\"},"
    "{\"id\":\"power_of_attorney\",\"name\":\"授权委托书\"}],"
    "\"review\":\"auto\"},"
    "{\"id\":\"ca_sbx_csj\",\"name\":\"长三角CA互认（沙箱）\",\"adapter\":\"builtin\","
    "\"key_type\":\"sm2\",\"validity\":[{\"years\":1,\"fee_fen\":22000},"
    "{\"years\":2,\"fee_fen\":40000},{\"years\":3,\"fee_fen\":56000}],"
    "\"attachments\":[{\"id\":\"application_form\",\"name\":\"数字证书申请表\"}],"
    "\"review\":\"manual\"}"
    "]";

/* ---- small helpers ---------------------------------------------------------- */

static char *dup_text(const char *s) {
  if (s == NULL)
    return NULL;
  size_t n = strlen(s);
  char *d = malloc(n + 1);
  if (d != NULL)
    memcpy(d, s, n + 1);
  return d;
}

static int id_ok(const char *id) {
  size_t n = strlen(id);
  if (n < 4 || n >= MK_PKI_CA_ID_MAX || strncmp(id, "ca_", 3) != 0)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = id[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

/* Serial text as stored: lower-case hex without leading zeros. in is hex
 * of any case, optionally with colons (as `openssl x509 -text` prints). */
static int serial_normalise(const char *in, char out[SERIAL_HEX_MAX + 1], mk_err *e) {
  size_t k = 0;
  int started = 0;
  if (in == NULL)
    return mk_err_set(e, MK_EINVAL, "serial is required");
  for (const char *p = in; *p != '\0'; p++) {
    char c = *p;
    if (c == ':')
      continue;
    if (c >= 'A' && c <= 'F')
      c = (char)(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return mk_err_set(e, MK_EINVAL, "serial must be hexadecimal");
    if (!started && c == '0')
      continue;
    started = 1;
    if (k == SERIAL_HEX_MAX)
      return mk_err_set(e, MK_EINVAL, "serial is longer than %d octets", MK_PKI_SERIAL_MAX);
    out[k++] = c;
  }
  if (k == 0)
    return mk_err_set(e, MK_EINVAL, "serial must be a positive hexadecimal number");
  out[k] = '\0';
  return 0;
}

/* Stored serial text to big-endian bytes. */
static int serial_bytes(const char *hex, unsigned char out[MK_PKI_SERIAL_MAX], size_t *len,
                        mk_err *e) {
  char even[SERIAL_HEX_MAX + 2];
  size_t n = strlen(hex);
  if (n == 0 || n > SERIAL_HEX_MAX)
    return mk_err_set(e, MK_EINVAL, "bad stored serial");
  size_t off = n % 2;
  even[0] = '0';
  memcpy(even + off, hex, n + 1);
  *len = (n + off) / 2;
  return mk_hex_decode(even, n + off, out, MK_PKI_SERIAL_MAX, e);
}

/* A certificate's serial in the stored form. */
static int serial_of(const X509 *x, char out[SERIAL_HEX_MAX + 1], mk_err *e) {
  int rc = 0;
  BIGNUM *bn = NULL;
  char *hex = NULL;
  MK_TRY_PTR_OSSL(bn, ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL), e, "serial");
  MK_ENSURE(!BN_is_negative(bn) && !BN_is_zero(bn), MK_EINVAL, e, "serial is not positive");
  MK_TRY_PTR_OSSL(hex, BN_bn2hex(bn), e, "serial");
  MK_TRY(serial_normalise(hex, out, e));
out:
  OPENSSL_free(hex);
  BN_free(bn);
  return rc;
}

static int asn1_time_text(const ASN1_TIME *t, char out[MK_TIME_TEXT_MAX], mk_err *e) {
  int rc = 0;
  int64_t u = 0;
  MK_TRY(mk_pki_time_unix(t, &u, e));
  MK_TRY(mk_time_format(u, out, e));
out:
  return rc;
}

/* ---- definitions ------------------------------------------------------------ */

/* A definition checked and reduced to what is stored: the public profile
 * (validity with fees, attachments, review) and the adapter settings. */
typedef struct ca_def {
  const char *id, *name, *adapter, *key_type;
  json_t *profile;        /* owned */
  json_t *adapter_config; /* owned; cmp only */
} ca_def;

static void def_clear(ca_def *d) {
  json_decref(d->profile);
  json_decref(d->adapter_config);
  memset(d, 0, sizeof *d);
}

static int def_parse(const json_t *j, ca_def *d, mk_err *e) {
  static const char *const keys[] = {"id", "name", "adapter", "key_type", "validity",
                                     "attachments", "review", "cmp", NULL};
  static const char *const cmp_keys[] = {"server",       "ref",     "secret_file",
                                         "trusted_cert", "timeout", NULL};
  int rc = 0;
  char field[MK_JSON_FIELD_MAX] = "";
  json_t *validity = NULL, *attachments = NULL, *cmp = NULL, *v;
  const char *review = "manual";
  size_t i;
  memset(d, 0, sizeof *d);
  MK_ENSURE(json_is_object(j), MK_EINVAL, e, "a CA definition must be an object");
  MK_TRY(mk_json_only_keys(j, keys, field, e));
  MK_TRY(mk_json_get_str(j, "id", 1, MK_PKI_CA_ID_MAX - 1, &d->id, field, e));
  MK_ENSURE(id_ok(d->id), MK_EINVAL, e,
            "id must be ca_ followed by 1 to 60 of a-z, 0-9, _ and -");
  MK_TRY(mk_json_get_str(j, "name", 1, 200, &d->name, field, e));
  rc = mk_valid_person_name(d->name, e);
  if (rc < 0) {
    mk_err_wrap(e, "%s: CA name", d->id);
    goto out;
  }
  MK_TRY(mk_json_get_str(j, "adapter", 1, 16, &d->adapter, field, e));
  MK_ENSURE(strcmp(d->adapter, "builtin") == 0 || strcmp(d->adapter, "cmp") == 0, MK_EINVAL, e,
            "%s: adapter must be builtin or cmp", d->id);
  MK_TRY(mk_json_get_str(j, "key_type", 1, 8, &d->key_type, field, e));
  MK_ENSURE(strcmp(d->key_type, "sm2") == 0 || strcmp(d->key_type, "rsa") == 0, MK_EINVAL, e,
            "%s: key_type must be sm2 or rsa", d->id);
  MK_TRY(mk_json_get_str(j, "review", 0, 16, &review, field, e));
  MK_ENSURE(strcmp(review, "manual") == 0 || strcmp(review, "auto") == 0, MK_EINVAL, e,
            "%s: review must be manual or auto", d->id);

  MK_TRY(mk_json_get_array(j, "validity", 1, 3, &validity, field, e));
  MK_ENSURE(json_array_size(validity) > 0, MK_EINVAL, e, "%s: validity needs an option", d->id);
  d->profile = json_pack("{s:[],s:[],s:s}", "validity", "attachments", "review", review);
  MK_ENSURE_ALLOC(d->profile, e);
  int seen[4] = {0};
  json_array_foreach(validity, i, v) {
    static const char *const vkeys[] = {"years", "fee_fen", NULL};
    int64_t years = 0, fee = 0;
    MK_ENSURE(json_is_object(v), MK_EINVAL, e, "%s: validity options are objects", d->id);
    MK_TRY(mk_json_only_keys(v, vkeys, field, e));
    /* lib/pki issues for 365..1095 days: 1 to 3 years (issue 4). */
    MK_TRY(mk_json_get_int(v, "years", 1, 1, 3, &years, field, e));
    MK_TRY(mk_json_get_int(v, "fee_fen", 1, 0, 100000000, &fee, field, e));
    MK_ENSURE(!seen[years], MK_EINVAL, e, "%s: %lld years is offered twice", d->id,
              (long long)years);
    seen[years] = 1;
    MK_ENSURE(json_array_append_new(json_object_get(d->profile, "validity"),
                                    json_pack("{s:I,s:I}", "years", (json_int_t)years, "fee_fen",
                                              (json_int_t)fee)) == 0,
              MK_ENOMEM, e, "out of memory");
  }

  MK_TRY(mk_json_get_array(j, "attachments", 0, 16, &attachments, field, e));
  if (attachments == NULL) {
    MK_ENSURE(json_array_append_new(json_object_get(d->profile, "attachments"),
                                    json_pack("{s:s,s:s}", "id", "application_form", "name",
                                              "数字证书申请表")) == 0,
              MK_ENOMEM, e, "out of memory");
  }
  json_array_foreach(attachments, i, v) {
    static const char *const akeys[] = {"id", "name", NULL};
    const char *aid = NULL, *aname = NULL;
    MK_ENSURE(json_is_object(v), MK_EINVAL, e, "%s: attachments are objects {id, name}", d->id);
    MK_TRY(mk_json_only_keys(v, akeys, field, e));
    MK_TRY(mk_json_get_str(v, "id", 1, 64, &aid, field, e));
    MK_TRY(mk_json_get_str(v, "name", 1, 200, &aname, field, e));
    MK_ENSURE(strspn(aid, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(aid), MK_EINVAL, e,
              "%s: attachment ids are a-z, 0-9 and _", d->id);
    MK_ENSURE(json_array_append_new(json_object_get(d->profile, "attachments"),
                                    json_pack("{s:s,s:s}", "id", aid, "name", aname)) == 0,
              MK_ENOMEM, e, "out of memory");
  }

  MK_TRY(mk_json_get_object(j, "cmp", strcmp(d->adapter, "cmp") == 0, &cmp, field, e));
  if (strcmp(d->adapter, "cmp") == 0) {
    const char *server = NULL, *ref = NULL, *secret_file = NULL, *trusted = NULL;
    MK_TRY(mk_json_only_keys(cmp, cmp_keys, field, e));
    MK_TRY(mk_json_get_str(cmp, "server", 1, 512, &server, field, e));
    MK_ENSURE(strncmp(server, "http://", 7) == 0 || strncmp(server, "https://", 8) == 0,
              MK_EINVAL, e, "%s: cmp.server must be an http:// or https:// URL", d->id);
    MK_TRY(mk_json_get_str(cmp, "ref", 1, 128, &ref, field, e));
    MK_TRY(mk_json_get_str(cmp, "secret_file", 1, 4000, &secret_file, field, e));
    MK_TRY(mk_json_get_str(cmp, "trusted_cert", 1, 4000, &trusted, field, e));
    int64_t timeout = 0; /* lib/pki's default */
    MK_TRY(mk_json_get_int(cmp, "timeout", 0, 1, MK_PKI_CMP_TIMEOUT_MAX, &timeout, field, e));
    d->adapter_config = json_pack("{s:s,s:s,s:s,s:s,s:I}", "server", server, "ref", ref,
                                  "secret_file", secret_file, "trusted_cert", trusted,
                                  "timeout", (json_int_t)timeout);
    MK_ENSURE_ALLOC(d->adapter_config, e);
  } else {
    MK_ENSURE(cmp == NULL, MK_EINVAL, e, "%s: cmp settings belong to adapter cmp", d->id);
  }
out:
  if (rc < 0) {
    if (field[0] != '\0' && d->id != NULL && strstr(e ? e->msg : "", d->id) == NULL)
      mk_err_wrap(e, "%s", d->id);
    def_clear(d);
  }
  return rc;
}

/* The CMP shared secret of CA id from its file: a credential, so only a
 * private (0600) file will do; one trailing line break is not part of it.
 * out is the caller's, started here (mk_buf_free_secret). */
static int read_secret(const char *id, const char *path, mk_buf *out, mk_err *e) {
  int rc = mk_file_read_capped(path, MK_PKI_CMP_SECRET_MAX + 2, MK_FILE_PRIVATE, out, e);
  if (rc < 0)
    return mk_err_wrap(e, "%s: CMP secret", id);
  if (out->len > 0 && out->data[out->len - 1] == '\n')
    out->len--;
  if (out->len > 0 && out->data[out->len - 1] == '\r')
    out->len--;
  if (out->len == 0 || out->len > MK_PKI_CMP_SECRET_MAX) {
    mk_buf_free_secret(out);
    return mk_err_set(e, MK_EINVAL, "%s: the CMP secret file holds no secret of 1 to %d bytes",
                      id, MK_PKI_CMP_SECRET_MAX);
  }
  return 0;
}

/* The PEM of a cmp CA's trusted certificate file, whose first certificate
 * must be a CA certificate (the external CA's); served as its chain. */
static int read_trusted_cert(const char *path, char **pem, mk_err *e) {
  int rc = 0;
  mk_buf b;
  BIO *bio = NULL;
  X509 *x = NULL;
  *pem = NULL;
  MK_TRY(mk_file_read_capped(path, MK_PKI_PEM_MAX, 0, &b, e));
  MK_TRY_PTR_OSSL(bio, BIO_new_mem_buf(b.data, (int)b.len), e, "BIO");
  MK_TRY_PTR_OSSL(x, PEM_read_bio_X509(bio, NULL, NULL, NULL), e, "cmp trusted_cert");
  MK_ENSURE(X509_check_ca(x) > 0, MK_EINVAL, e, "cmp trusted_cert '%s' is not a CA certificate",
            path);
  *pem = dup_text((const char *)b.data);
  MK_ENSURE_ALLOC(*pem, e);
out:
  X509_free(x);
  BIO_free(bio);
  mk_buf_free(&b);
  return rc;
}

/* Create the CA of d, or update the one that exists (name, options,
 * adapter settings, base URL; the key and certificates stay). */
static int define(mk_svc_ctx *ctx, const ca_def *d, const char *origin, const char *base_url,
                  mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  mk_pki_ca issuing = {0};
  char *cert_pem = NULL, *chain_pem = NULL, *profile = NULL, *adapter_config = NULL;
  unsigned char *wrapped = NULL;
  size_t wrapped_len = 0;
  char ts[MK_TIME_TEXT_MAX];
  int64_t now = ctx->now();
  MK_TRY(mk_time_format(now, ts, e));
  profile = mk_json_dump(d->profile);
  MK_ENSURE_ALLOC(profile, e);
  if (d->adapter_config != NULL) {
    adapter_config = mk_json_dump(d->adapter_config);
    MK_ENSURE_ALLOC(adapter_config, e);
  }

  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_prepare(db, "SELECT adapter, key_type FROM ca WHERE id = $1", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, d->id, e));
  int exists = 0;
  MK_TRY(exists = mk_stmt_step(st, e));
  if (exists) {
    MK_ENSURE(strcmp(mk_stmt_text(st, 0), d->adapter) == 0 &&
                  strcmp(mk_stmt_text(st, 1), d->key_type) == 0,
              MK_ECONFLICT, e, "%s exists with adapter %s and key type %s, which cannot change",
              d->id, mk_stmt_text(st, 0), mk_stmt_text(st, 1));
  }
  mk_stmt_finish(st);
  st = NULL;

  if (strcmp(d->adapter, "cmp") == 0) {
    /* A secret that cannot be read stops the start, not the first request. */
    mk_buf secret;
    MK_TRY(read_secret(d->id, json_string_value(json_object_get(d->adapter_config, "secret_file")),
                       &secret, e));
    mk_buf_free_secret(&secret);
    MK_TRY(read_trusted_cert(json_string_value(json_object_get(d->adapter_config, "trusted_cert")),
                             &cert_pem, e));
  } else if (!exists) {
    /* The slow part (key generation) runs outside any transaction. */
    mk_store_release(ctx->store, db);
    db = NULL;
    mk_pki_keytype kt = strcmp(d->key_type, "sm2") == 0 ? MK_PKI_SM2 : MK_PKI_RSA;
    MK_TRY(mk_pki_ca_create_hierarchy(kt, d->id, d->name, base_url, now, NULL, &issuing, e));
    MK_TRY(mk_pki_ca_export(&issuing, ctx->kek, &cert_pem, &chain_pem, &wrapped, &wrapped_len, e));
    MK_TRY(mk_store_acquire(ctx->store, &db, e));
  }

  MK_TRY(mk_db_begin(db, e));
  if (cert_pem != NULL) {
    /* A second mkeyd starting at once may have inserted it meanwhile: its
     * row wins and ours is dropped. */
    MK_TRY(mk_db_prepare(db,
                         "INSERT INTO ca(id, name, adapter, key_type, profile, adapter_config, "
                         "origin, base_url, cert_pem, chain_pem, key_wrapped, crl_number, "
                         "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                         "$10, $11, 1, $12, $12) ON CONFLICT (id) DO NOTHING",
                         &st, e));
    MK_TRY(mk_stmt_bind_text(st, 1, d->id, e));
    MK_TRY(mk_stmt_bind_text(st, 2, d->name, e));
    MK_TRY(mk_stmt_bind_text(st, 3, d->adapter, e));
    MK_TRY(mk_stmt_bind_text(st, 4, d->key_type, e));
    MK_TRY(mk_stmt_bind_text(st, 5, profile, e));
    MK_TRY(mk_stmt_bind_text(st, 6, adapter_config, e));
    MK_TRY(mk_stmt_bind_text(st, 7, origin, e));
    MK_TRY(mk_stmt_bind_text(st, 8, base_url, e));
    MK_TRY(mk_stmt_bind_text(st, 9, cert_pem, e));
    MK_TRY(mk_stmt_bind_text(st, 10, chain_pem != NULL ? chain_pem : cert_pem, e));
    if (wrapped != NULL)
      MK_TRY(mk_stmt_bind_blob(st, 11, wrapped, wrapped_len, e));
    else
      MK_TRY(mk_stmt_bind_null(st, 11, e));
    MK_TRY(mk_stmt_bind_text(st, 12, ts, e));
    MK_TRY(mk_stmt_step(st, e));
    mk_stmt_finish(st);
    st = NULL;
  }
  if (exists) {
    MK_TRY(mk_db_prepare(db,
                         "UPDATE ca SET name = $2, profile = $3, adapter_config = $4, "
                         "base_url = $5, updated_at = $6 WHERE id = $1",
                         &st, e));
    MK_TRY(mk_stmt_bind_text(st, 1, d->id, e));
    MK_TRY(mk_stmt_bind_text(st, 2, d->name, e));
    MK_TRY(mk_stmt_bind_text(st, 3, profile, e));
    MK_TRY(mk_stmt_bind_text(st, 4, adapter_config, e));
    MK_TRY(mk_stmt_bind_text(st, 5, base_url, e));
    MK_TRY(mk_stmt_bind_text(st, 6, ts, e));
    MK_TRY(mk_stmt_step(st, e));
    mk_stmt_finish(st);
    st = NULL;
    if (cert_pem != NULL) {
      /* cmp: the trusted certificate may have been replaced in the file. */
      MK_TRY(mk_db_prepare(db, "UPDATE ca SET cert_pem = $2, chain_pem = $2 WHERE id = $1", &st,
                           e));
      MK_TRY(mk_stmt_bind_text(st, 1, d->id, e));
      MK_TRY(mk_stmt_bind_text(st, 2, cert_pem, e));
      MK_TRY(mk_stmt_step(st, e));
      mk_stmt_finish(st);
      st = NULL;
    }
  }
  MK_TRY(mk_db_commit(db, e));
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  mk_pki_ca_clear(&issuing);
  free(cert_pem);
  free(chain_pem);
  free(wrapped);
  free(profile);
  free(adapter_config);
  return rc;
}

int mk_svc_ca_define(mk_svc_ctx *ctx, const json_t *def, const char *origin, const char *base_url,
                     mk_err *e) {
  int rc = 0;
  ca_def d = {0};
  MK_ENSURE(strcmp(origin, "sandbox") == 0 || strcmp(origin, "config") == 0, MK_EINTERNAL, e,
            "unknown CA origin");
  MK_TRY(def_parse(def, &d, e));
  MK_TRY(define(ctx, &d, origin, base_url, e));
out:
  def_clear(&d);
  return rc;
}

static int define_all(mk_svc_ctx *ctx, const json_t *list, const char *origin,
                      const char *base_url, mk_err *e) {
  int rc = 0;
  size_t i;
  json_t *v;
  MK_ENSURE(json_is_array(list), MK_EINVAL, e, "CA definitions must be a JSON array");
  MK_ENSURE(json_array_size(list) <= CAS_MAX, MK_EINVAL, e, "more than %d CA definitions",
            CAS_MAX);
  json_array_foreach(list, i, v) {
    /* The same id twice in one file is a mistake, not an update. */
    for (size_t k = 0; k < i; k++)
      MK_ENSURE(!json_equal(json_object_get(v, "id"), json_object_get(json_array_get(list, k), "id")),
                MK_EINVAL, e, "CA %zu repeats the id of CA %zu", i + 1, k + 1);
    rc = mk_svc_ca_define(ctx, v, origin, base_url, e);
    if (rc < 0) {
      mk_err_wrap(e, "CA %zu", i + 1);
      goto out;
    }
  }
out:
  return rc;
}

/* Every CA's certificates point at where this mkeyd answers now. */
static int set_base_url(mk_svc_ctx *ctx, const char *url, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_prepare(db, "UPDATE ca SET base_url = $1 WHERE base_url <> $1", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, url, e));
  MK_TRY(mk_stmt_step(st, e));
  rc = 0;
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  return rc;
}

int mk_svc_ca_init(mk_svc_ctx *ctx, const char *base_url, mk_err *e) {
  int rc = 0;
  json_t *list = NULL;
  mk_buf b;
  mk_buf_init(&b, 0);
  char url[MK_PKI_URL_MAX];
  size_t n = strlen(base_url);
  while (n > 0 && base_url[n - 1] == '/')
    n--;
  MK_ENSURE(n > 0 && n < sizeof url, MK_EINVAL, e, "public URL is empty or too long");
  memcpy(url, base_url, n);
  url[n] = '\0';
  if (ctx->cfg->sandbox) {
    MK_TRY(mk_json_parse(sandbox_cas, sizeof sandbox_cas - 1, sizeof sandbox_cas, &list, e));
    MK_TRY(define_all(ctx, list, "sandbox", url, e));
    json_decref(list);
    list = NULL;
  }
  if (ctx->cfg->cas_file[0] != '\0') {
    rc = mk_file_read_capped(ctx->cfg->cas_file, CAS_FILE_MAX, 0, &b, e);
    if (rc == 0)
      rc = mk_json_parse(b.data, b.len, CAS_FILE_MAX, &list, e);
    if (rc == 0)
      rc = define_all(ctx, list, "config", url, e);
    if (rc < 0) {
      mk_err_wrap(e, "cas_file '%s'", ctx->cfg->cas_file);
      goto out;
    }
  }
  MK_TRY(set_base_url(ctx, url, e));
out:
  json_decref(list);
  mk_buf_free(&b);
  return rc;
}

/* ---- reading ---------------------------------------------------------------- */

/* One ca row, copied out of the statement. */
typedef struct ca_row {
  char id[MK_PKI_CA_ID_MAX];
  char adapter[16];
  char key_type[8];
  char base_url[MK_PKI_URL_MAX];
  char *name, *profile, *adapter_config, *cert_pem, *chain_pem;
  unsigned char *key_wrapped;
  size_t key_wrapped_len;
  int64_t crl_number;
  unsigned char *crl_der;
  size_t crl_der_len;
  int64_t crl_next_update;
} ca_row;

static void row_clear(ca_row *r) {
  free(r->name);
  free(r->profile);
  free(r->adapter_config);
  free(r->cert_pem);
  free(r->chain_pem);
  free(r->key_wrapped);
  free(r->crl_der);
  memset(r, 0, sizeof *r);
}

static int copy_blob(mk_stmt *st, int col, unsigned char **out, size_t *len) {
  size_t n = 0;
  const void *p = mk_stmt_blob(st, col, &n);
  *out = NULL;
  *len = 0;
  if (p == NULL)
    return 0;
  *out = malloc(n ? n : 1);
  if (*out == NULL)
    return -1;
  memcpy(*out, p, n);
  *len = n;
  return 0;
}

/* The row of CA id, MK_ENOTFOUND "no CA <id>" when there is none. */
static int row_load(mk_db *db, const char *id, ca_row *r, mk_err *e) {
  int rc = 0;
  mk_stmt *st = NULL;
  memset(r, 0, sizeof *r);
  MK_ENSURE(strlen(id) < sizeof r->id, MK_ENOTFOUND, e, "no such CA");
  MK_TRY(mk_db_prepare(db,
                       "SELECT adapter, key_type, base_url, name, profile, adapter_config, "
                       "cert_pem, chain_pem, key_wrapped, crl_number, crl_der, crl_next_update "
                       "FROM ca WHERE id = $1",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  int found = 0;
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found == 1, MK_ENOTFOUND, e, "no CA %s", id);
  snprintf(r->id, sizeof r->id, "%s", id);
  snprintf(r->adapter, sizeof r->adapter, "%s", mk_stmt_text(st, 0));
  snprintf(r->key_type, sizeof r->key_type, "%s", mk_stmt_text(st, 1));
  snprintf(r->base_url, sizeof r->base_url, "%s", mk_stmt_text(st, 2));
  r->name = dup_text(mk_stmt_text(st, 3));
  r->profile = dup_text(mk_stmt_text(st, 4));
  r->adapter_config = dup_text(mk_stmt_text(st, 5));
  r->cert_pem = dup_text(mk_stmt_text(st, 6));
  r->chain_pem = dup_text(mk_stmt_text(st, 7));
  MK_ENSURE(r->name && r->profile && (r->adapter_config || mk_stmt_is_null(st, 5)) &&
                (r->cert_pem || mk_stmt_is_null(st, 6)) &&
                (r->chain_pem || mk_stmt_is_null(st, 7)),
            MK_ENOMEM, e, "out of memory");
  MK_ENSURE(copy_blob(st, 8, &r->key_wrapped, &r->key_wrapped_len) == 0 &&
                copy_blob(st, 10, &r->crl_der, &r->crl_der_len) == 0,
            MK_ENOMEM, e, "out of memory");
  r->crl_number = mk_stmt_int(st, 9);
  r->crl_next_update = mk_stmt_int(st, 11);
out:
  mk_stmt_finish(st);
  if (rc < 0)
    row_clear(r);
  return rc;
}

/* The signing CA of a builtin row: key unwrapped by the KEK. */
static int row_import(mk_svc_ctx *ctx, const ca_row *r, mk_pki_ca *ca, mk_err *e) {
  if (strcmp(r->adapter, "builtin") != 0 || r->key_wrapped == NULL)
    return mk_err_set(e, MK_ECONFLICT,
                      "%s is an external CA reached over CMP: it signs its own CRLs and OCSP "
                      "responses",
                      r->id);
  return mk_pki_ca_import(r->id, r->base_url, r->cert_pem, r->chain_pem, ctx->kek, r->key_wrapped,
                          r->key_wrapped_len, ca, e);
}

/* The public view of a CA. */
static json_t *ca_public(const char *id, const char *name, const char *adapter,
                         const char *key_type, const char *profile_text) {
  json_t *profile = NULL, *validity = NULL, *out = NULL, *v;
  size_t i;
  mk_err e;
  if (mk_json_parse(profile_text, strlen(profile_text), 1u << 20, &profile, &e) < 0)
    return NULL;
  validity = json_array();
  json_array_foreach(json_object_get(profile, "validity"), i, v) {
    json_int_t years = json_integer_value(json_object_get(v, "years"));
    if (validity == NULL ||
        json_array_append_new(validity, json_pack("{s:I,s:I,s:I,s:s}", "years", years, "days",
                                                  years * 365, "fee_fen",
                                                  json_integer_value(json_object_get(v, "fee_fen")),
                                                  "currency", "CNY")) != 0)
      goto out;
  }
  out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:O,s:O,s:O}", "id", id, "name", name, "adapter", adapter,
                  "key_type", key_type, "signature",
                  strcmp(key_type, "sm2") == 0 ? "SM2-with-SM3" : "RSA-with-SHA256", "validity",
                  validity, "attachments", json_object_get(profile, "attachments"), "review",
                  json_object_get(profile, "review"));
out:
  json_decref(validity);
  json_decref(profile);
  return out;
}

int mk_svc_ca_list(mk_svc_ctx *ctx, const char *cursor, int64_t limit, json_t **out, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  json_t *items = NULL;
  const char *last = NULL;
  *out = NULL;
  MK_ENSURE(limit >= 1 && limit <= LIST_LIMIT_MAX, MK_EINVAL, e, "limit must be 1 to %d",
            LIST_LIMIT_MAX);
  items = json_array();
  MK_ENSURE_ALLOC(items, e);
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_prepare(db,
                       "SELECT id, name, adapter, key_type, profile FROM ca WHERE id > $1 "
                       "ORDER BY id LIMIT $2",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, cursor != NULL ? cursor : "", e));
  MK_TRY(mk_stmt_bind_int(st, 2, limit + 1, e));
  int more = 0;
  for (;;) {
    int row = 0;
    MK_TRY(row = mk_stmt_step(st, e));
    if (row == 0)
      break;
    if ((int64_t)json_array_size(items) == limit) {
      more = 1;
      break;
    }
    json_t *ca = ca_public(mk_stmt_text(st, 0), mk_stmt_text(st, 1), mk_stmt_text(st, 2),
                           mk_stmt_text(st, 3), mk_stmt_text(st, 4));
    MK_ENSURE(ca != NULL && json_array_append_new(items, ca) == 0, MK_ENOMEM, e,
              "cannot list CA %s", mk_stmt_text(st, 0));
  }
  if (more)
    last = json_string_value(json_object_get(json_array_get(items, json_array_size(items) - 1), "id"));
  *out = json_pack("{s:O,s:s?}", "items", items, "next_cursor", last);
  MK_ENSURE_ALLOC(*out, e);
out:
  json_decref(items);
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  return rc;
}

int mk_svc_ca_chain(mk_svc_ctx *ctx, const char *id, char **pem, size_t *len, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  ca_row r = {0};
  *pem = NULL;
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(row_load(db, id, &r, e));
  MK_ENSURE(r.chain_pem != NULL, MK_ENOTFOUND, e, "CA %s has no chain", id);
  *len = strlen(r.chain_pem);
  *pem = r.chain_pem;
  r.chain_pem = NULL;
out:
  row_clear(&r);
  mk_store_release(ctx->store, db);
  return rc;
}

/* ---- CRL -------------------------------------------------------------------- */

/* Every revoked certificate of a CA, in serial order. */
static int revoked_list(mk_db *db, const char *id, mk_pki_revoked **list, size_t *n,
                        unsigned char (**serials)[MK_PKI_SERIAL_MAX], mk_err *e) {
  int rc = 0;
  mk_stmt *st = NULL;
  size_t cap = 0;
  *list = NULL;
  *serials = NULL;
  *n = 0;
  /* Serials have no leading zeros, so shorter is smaller and equal lengths
   * compare as text. */
  MK_TRY(mk_db_prepare(db,
                       "SELECT serial, revoked_at, reason FROM ca_cert WHERE ca_id = $1 AND "
                       "revoked_at IS NOT NULL ORDER BY LENGTH(serial), serial",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  for (;;) {
    int row = 0;
    MK_TRY(row = mk_stmt_step(st, e));
    if (row == 0)
      break;
    if (*n == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      mk_pki_revoked *l = realloc(*list, ncap * sizeof **list);
      MK_ENSURE_ALLOC(l, e);
      *list = l;
      unsigned char(*s)[MK_PKI_SERIAL_MAX] = realloc(*serials, ncap * sizeof **serials);
      MK_ENSURE_ALLOC(s, e);
      *serials = s;
      cap = ncap;
    }
    mk_pki_revoked *it = &(*list)[*n];
    size_t slen = 0;
    mk_pki_reason reason = MK_PKI_REASON_UNSPECIFIED;
    MK_TRY(serial_bytes(mk_stmt_text(st, 0), (*serials)[*n], &slen, e));
    MK_TRY(mk_time_parse(mk_stmt_text(st, 1), &it->revoked_at, e));
    MK_TRY(mk_pki_reason_parse(mk_stmt_text(st, 2), &reason, e));
    it->reason = reason;
    it->serial_len = slen;
    (*n)++;
  }
  /* The serial buffers may have moved while growing: point at them last. */
  for (size_t i = 0; i < *n; i++)
    (*list)[i].serial = (*serials)[i];
out:
  mk_stmt_finish(st);
  return rc;
}

int mk_svc_ca_crl(mk_svc_ctx *ctx, const char *id, unsigned char **der, size_t *len, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  ca_row r = {0};
  mk_pki_ca ca = {0};
  mk_pki_revoked *list = NULL;
  unsigned char(*serials)[MK_PKI_SERIAL_MAX] = NULL;
  size_t n = 0;
  int64_t now = ctx->now();
  *der = NULL;
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  /* The write lock first: two requests for a stale CRL make one CRL, and
   * each CRL number names one CRL (RFC 5280 §5.2.3). */
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(row_load(db, id, &r, e));
  MK_ENSURE(strcmp(r.adapter, "builtin") == 0, MK_ECONFLICT, e,
            "%s is an external CA reached over CMP: it publishes its own CRL", id);
  if (r.crl_der != NULL && now < r.crl_next_update - (CRL_VALIDITY - CRL_REFRESH)) {
    mk_db_rollback(db);
    *der = r.crl_der;
    *len = r.crl_der_len;
    r.crl_der = NULL;
    goto out;
  }
  int64_t number = r.crl_der != NULL ? r.crl_number + 1 : r.crl_number;
  MK_TRY(row_import(ctx, &r, &ca, e));
  MK_TRY(revoked_list(db, id, &list, &n, &serials, e));
  MK_TRY(mk_pki_crl_build(&ca, list, n, (uint64_t)number, now, now + CRL_VALIDITY, der, len, e));
  MK_TRY(mk_db_prepare(db,
                       "UPDATE ca SET crl_number = $2, crl_der = $3, crl_next_update = $4 "
                       "WHERE id = $1",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_int(st, 2, number, e));
  MK_TRY(mk_stmt_bind_blob(st, 3, *der, *len, e));
  MK_TRY(mk_stmt_bind_int(st, 4, now + CRL_VALIDITY, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  MK_TRY(mk_db_commit(db, e));
out:
  if (rc < 0) {
    free(*der);
    *der = NULL;
  }
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  mk_pki_ca_clear(&ca);
  row_clear(&r);
  free(list);
  free(serials);
  return rc;
}

/* ---- OCSP ------------------------------------------------------------------- */

typedef struct ocsp_lookup_ctx {
  mk_db *db;
  const char *ca_id;
} ocsp_lookup_ctx;

static int ocsp_lookup(void *arg, const unsigned char *serial, size_t serial_len,
                       mk_pki_cert_status *out) {
  ocsp_lookup_ctx *c = arg;
  int rc = 0;
  mk_stmt *st = NULL;
  char hex[SERIAL_HEX_MAX + 1], norm[SERIAL_HEX_MAX + 1];
  mk_err e;
  if (serial_len == 0 || serial_len > MK_PKI_SERIAL_MAX)
    return MK_ENOTFOUND;
  MK_TRY(mk_hex_encode(serial, serial_len, hex, sizeof hex, &e));
  if (serial_normalise(hex, norm, &e) < 0)
    return MK_ENOTFOUND;
  MK_TRY(mk_db_prepare(c->db,
                       "SELECT revoked_at, reason FROM ca_cert WHERE ca_id = $1 AND serial = $2",
                       &st, &e));
  MK_TRY(mk_stmt_bind_text(st, 1, c->ca_id, &e));
  MK_TRY(mk_stmt_bind_text(st, 2, norm, &e));
  int found = 0;
  MK_TRY(found = mk_stmt_step(st, &e));
  if (found == 0) {
    rc = MK_ENOTFOUND;
    goto out;
  }
  if (mk_stmt_is_null(st, 0)) {
    out->state = MK_PKI_CERT_GOOD;
  } else {
    mk_pki_reason reason = MK_PKI_REASON_UNSPECIFIED;
    out->state = MK_PKI_CERT_REVOKED;
    MK_TRY(mk_time_parse(mk_stmt_text(st, 0), &out->revoked_at, &e));
    MK_TRY(mk_pki_reason_parse(mk_stmt_text(st, 1), &reason, &e));
    out->reason = reason;
  }
out:
  mk_stmt_finish(st);
  return rc;
}

int mk_svc_ca_ocsp(mk_svc_ctx *ctx, const char *id, const unsigned char *req, size_t req_len,
                   unsigned char **der, size_t *len, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  ca_row r = {0};
  mk_pki_ca ca = {0};
  *der = NULL;
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(row_load(db, id, &r, e));
  if (strcmp(r.adapter, "builtin") != 0) {
    /* RFC 6960 §2.3: this responder is not authoritative for that CA. */
    MK_TRY(mk_pki_ocsp_error_response(MK_PKI_OCSP_UNAUTHORIZED, der, len, e));
    goto out;
  }
  MK_TRY(row_import(ctx, &r, &ca, e));
  ocsp_lookup_ctx lc = {.db = db, .ca_id = id};
  /* A non-successful OCSPResponse (malformedRequest, ...) is still the
   * answer to send: its status is the result, the reason stays in e. */
  rc = mk_pki_ocsp_respond(&ca, NULL, req, req_len, ocsp_lookup, &lc, ctx->now(), der, len, e);
out:
  mk_pki_ca_clear(&ca);
  row_clear(&r);
  mk_store_release(ctx->store, db);
  return rc;
}

/* ---- cmp adapter ---------------------------------------------------------------- */

/* Everything one CMP exchange needs, from a cmp row's adapter settings:
 * the shared secret (read from its 0600 file per use, wiped after) and the
 * CA certificate that new certificates must chain to. */
typedef struct cmp_conn {
  mk_pki_cmp_config cfg;
  json_t *settings;
  mk_buf secret;
  X509_STORE *issuer_trust;
} cmp_conn;

static void cmp_close(cmp_conn *c) {
  json_decref(c->settings);
  mk_buf_free_secret(&c->secret);
  X509_STORE_free(c->issuer_trust);
  memset(c, 0, sizeof *c);
}

static int cmp_open(const ca_row *r, cmp_conn *c, mk_err *e) {
  int rc = 0;
  BIO *bio = NULL;
  X509 *x = NULL;
  memset(c, 0, sizeof *c);
  mk_buf_init_secret(&c->secret, 0);
  MK_ENSURE(r->adapter_config != NULL && r->cert_pem != NULL, MK_EINTERNAL, e,
            "%s has no CMP settings", r->id);
  MK_TRY(mk_json_parse(r->adapter_config, strlen(r->adapter_config), 1u << 16, &c->settings, e));
  const char *secret_file = json_string_value(json_object_get(c->settings, "secret_file"));
  MK_ENSURE(secret_file != NULL, MK_EINTERNAL, e, "%s has no CMP secret file", r->id);
  rc = read_secret(r->id, secret_file, &c->secret, e);
  if (rc < 0) {
    /* It was fine at start: the operator's file changed since. */
    mk_err_wrap(e, "CA %s is misconfigured", r->id);
    if (e != NULL)
      e->code = MK_EINTERNAL;
    rc = MK_EINTERNAL;
    goto out;
  }
  MK_TRY_PTR_OSSL(bio, BIO_new_mem_buf(r->cert_pem, -1), e, "BIO");
  MK_TRY_PTR_OSSL(x, PEM_read_bio_X509(bio, NULL, NULL, NULL), e, "CMP CA certificate");
  MK_TRY_PTR_OSSL(c->issuer_trust, X509_STORE_new(), e, "X509_STORE_new");
  MK_TRY_OSSL(X509_STORE_add_cert(c->issuer_trust, x), e, "CMP CA certificate");
  c->cfg.url = json_string_value(json_object_get(c->settings, "server"));
  c->cfg.ref = json_string_value(json_object_get(c->settings, "ref"));
  c->cfg.secret = c->secret.data;
  c->cfg.secret_len = c->secret.len;
  c->cfg.issuer_trust = c->issuer_trust;
  /* One exchange; a whole transaction (request and confirmation) gets two. */
  c->cfg.msg_timeout = (unsigned)json_integer_value(json_object_get(c->settings, "timeout"));
  c->cfg.total_timeout = 2 * c->cfg.msg_timeout;
out:
  X509_free(x);
  BIO_free(bio);
  if (rc < 0)
    cmp_close(c);
  return rc;
}

/* The external CA's refusals reach the operator as an upstream failure
 * (502), never as their own authentication problem (401). */
static int cmp_upstream(int rc, const char *id, mk_err *e) {
  if (rc == MK_EAUTH || rc == MK_ENET || rc == MK_EPROTO || rc == MK_ETOOBIG) {
    mk_err_wrap(e, "CMP server of %s", id);
    if (e != NULL)
      e->code = rc == MK_ENET ? MK_ENET : MK_EPROTO;
    return rc == MK_ENET ? MK_ENET : MK_EPROTO;
  }
  return rc;
}

static int cmp_issue(const ca_row *r, X509_REQ *csr, X509 **out, mk_err *e) {
  int rc = 0;
  cmp_conn c;
  *out = NULL;
  MK_TRY(cmp_open(r, &c, e));
  /* p10cr: the CSR goes as it is; the external CA vets and names the
   * subject itself (docs/api.md). */
  rc = cmp_upstream(mk_pki_cmp_issue(&c.cfg, csr, NULL, out, NULL, e), r->id, e);
  cmp_close(&c);
out:
  return rc;
}

static int cmp_revoke(const ca_row *r, X509 *cert, mk_pki_reason reason, mk_err *e) {
  int rc = 0;
  cmp_conn c;
  MK_TRY(cmp_open(r, &c, e));
  rc = cmp_upstream(mk_pki_cmp_revoke(&c.cfg, cert, (int)reason, e), r->id, e);
  cmp_close(&c);
out:
  return rc;
}

/* ---- issuance ---------------------------------------------------------------- */

static int set_field(char *field, const char *name) {
  if (field != NULL)
    snprintf(field, MK_JSON_FIELD_MAX, "%s", name);
  return 0;
}

/* The days asked for, checked against the CA's validity options; 0 asks
 * for the first option. */
static int pick_days(const char *profile_text, int64_t asked, int *days, mk_err *e) {
  int rc = 0;
  json_t *profile = NULL, *v;
  size_t i;
  char offered[64] = "";
  size_t used = 0;
  MK_TRY(mk_json_parse(profile_text, strlen(profile_text), 1u << 20, &profile, e));
  json_array_foreach(json_object_get(profile, "validity"), i, v) {
    int d = (int)json_integer_value(json_object_get(v, "years")) * 365;
    if (asked == 0 || asked == d) {
      *days = d;
      goto out;
    }
    int w = snprintf(offered + used, sizeof offered - used, "%s%d", i ? ", " : "", d);
    if (w > 0 && (size_t)w < sizeof offered - used)
      used += (size_t)w;
  }
  MK_FAIL(MK_EINVAL, e, "days must be one of this CA's validity options (%s)", offered);
out:
  json_decref(profile);
  return rc;
}

/* Which subject fields a profile takes: person (name, id_number),
 * enterprise (enterprise, uscc), or both for staff. */
static int check_subject(mk_pki_profile p, const char *name, const char *idn,
                         const char *enterprise, const char *uscc, int64_t now, char *field,
                         mk_err *e) {
  int person = p == MK_PKI_PERSONAL_SIGN || p == MK_PKI_PERSONAL_ENC || p == MK_PKI_STAFF_SIGN ||
               p == MK_PKI_STAFF_ENC;
  int ent = p != MK_PKI_PERSONAL_SIGN && p != MK_PKI_PERSONAL_ENC;
  const struct {
    const char *field, *value;
    int wanted;
  } f[] = {{"name", name, person},
           {"id_number", idn, person},
           {"enterprise", enterprise, ent},
           {"uscc", uscc, ent}};
  for (size_t i = 0; i < 4; i++) {
    set_field(field, f[i].field);
    if (f[i].wanted && f[i].value == NULL)
      return mk_err_set(e, MK_EINVAL, "%s is required for profile %s", f[i].field,
                        mk_pki_profile_name(p));
    if (!f[i].wanted && f[i].value != NULL)
      return mk_err_set(e, MK_EINVAL, "%s does not belong in a %s certificate", f[i].field,
                        mk_pki_profile_name(p));
  }
  int rc = 0;
  set_field(field, "name");
  if (name != NULL)
    MK_TRY(mk_valid_person_name(name, e));
  set_field(field, "id_number");
  if (idn != NULL)
    MK_TRY(mk_valid_id_number_at(idn, now, e));
  set_field(field, "enterprise");
  if (enterprise != NULL && (rc = mk_valid_person_name(enterprise, e)) < 0) {
    mk_err_wrap(e, "enterprise");
    goto out;
  }
  set_field(field, "uscc");
  if (uscc != NULL)
    MK_TRY(mk_valid_uscc(uscc, e));
  set_field(field, "");
out:
  return rc;
}

static int cert_pem_text(X509 *x, char **out, mk_err *e) {
  int rc = 0;
  BIO *bio = NULL;
  *out = NULL;
  MK_TRY_PTR_OSSL(bio, BIO_new(BIO_s_mem()), e, "BIO");
  MK_TRY_OSSL(PEM_write_bio_X509(bio, x), e, "certificate PEM");
  MK_TRY(mk_bio_text(bio, 0, "certificate PEM", out, e));
out:
  BIO_free(bio);
  return rc;
}

static int subject_text(X509 *x, char **out, mk_err *e) {
  int rc = 0;
  BIO *bio = NULL;
  *out = NULL;
  MK_TRY_PTR_OSSL(bio, BIO_new(BIO_s_mem()), e, "BIO");
  /* RFC 2253 order and escaping, UTF-8 kept readable for operators. */
  MK_ENSURE(X509_NAME_print_ex(bio, X509_get_subject_name(x), 0,
                               XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0,
            MK_ECRYPTO, e, "subject text");
  MK_TRY(mk_bio_text(bio, 1, "subject", out, e));
out:
  BIO_free(bio);
  return rc;
}

/* Record an issued certificate and describe it for the caller. */
static int record_cert(mk_svc_ctx *ctx, mk_db *db, const char *ca_id, const char *profile,
                       X509 *x, json_t **out, mk_err *e) {
  int rc = 0;
  mk_stmt *st = NULL;
  unsigned char *der = NULL;
  char *pem = NULL, *subject = NULL;
  char serial[SERIAL_HEX_MAX + 1], nb[MK_TIME_TEXT_MAX], na[MK_TIME_TEXT_MAX],
      ts[MK_TIME_TEXT_MAX];
  int dlen = i2d_X509(x, &der);
  MK_ENSURE(dlen > 0, MK_ECRYPTO, e, "encoding the certificate");
  MK_TRY(serial_of(x, serial, e));
  MK_TRY(asn1_time_text(X509_get0_notBefore(x), nb, e));
  MK_TRY(asn1_time_text(X509_get0_notAfter(x), na, e));
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(cert_pem_text(x, &pem, e));
  MK_TRY(subject_text(x, &subject, e));
  MK_TRY(mk_db_prepare(db,
                       "INSERT INTO ca_cert(ca_id, serial, profile, subject, not_before, "
                       "not_after, der, issued_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, ca_id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, serial, e));
  MK_TRY(mk_stmt_bind_text(st, 3, profile, e));
  MK_TRY(mk_stmt_bind_text(st, 4, subject, e));
  MK_TRY(mk_stmt_bind_text(st, 5, nb, e));
  MK_TRY(mk_stmt_bind_text(st, 6, na, e));
  MK_TRY(mk_stmt_bind_blob(st, 7, der, (size_t)dlen, e));
  MK_TRY(mk_stmt_bind_text(st, 8, ts, e));
  rc = mk_stmt_step(st, e);
  if (rc == MK_ECONFLICT)
    mk_err_set(e, MK_ECONFLICT, "CA %s already issued a certificate with serial %s", ca_id,
               serial);
  MK_TRY(rc);
  rc = 0;
  *out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ca_id", ca_id, "serial", serial, "profile",
                   profile, "subject", subject, "not_before", nb, "not_after", na, "certificate",
                   pem);
  MK_ENSURE_ALLOC(*out, e);
out:
  mk_stmt_finish(st);
  OPENSSL_free(der);
  free(pem);
  free(subject);
  return rc;
}

/* The subject of an issuance request: every issuance path reads the same
 * fields and vets them the same way, from vetted data, never from a CSR. */
typedef struct subject_req {
  const char *profile, *name, *idn, *enterprise, *uscc;
  int64_t asked_days; /* 0: the CA's shortest option */
  mk_pki_profile prof;
  int days;
} subject_req;

static int subject_read(const json_t *body, subject_req *q, char *field, mk_err *e) {
  int rc = 0;
  MK_TRY(mk_json_get_str(body, "profile", 1, 32, &q->profile, field, e));
  MK_TRY(mk_json_get_str(body, "name", 0, 200, &q->name, field, e));
  MK_TRY(mk_json_get_str(body, "id_number", 0, 18, &q->idn, field, e));
  MK_TRY(mk_json_get_str(body, "enterprise", 0, 200, &q->enterprise, field, e));
  MK_TRY(mk_json_get_str(body, "uscc", 0, 18, &q->uscc, field, e));
  MK_TRY(mk_json_get_int(body, "days", 0, MK_PKI_DAYS_MIN, MK_PKI_DAYS_MAX, &q->asked_days,
                         field, e));
out:
  return rc;
}

/* Profile, subject fields and days against the CA's options (row r). */
static int subject_vet(const ca_row *r, subject_req *q, int64_t now, char *field, mk_err *e) {
  int rc = 0;
  set_field(field, "profile");
  MK_TRY(mk_pki_profile_parse(q->profile, &q->prof, e));
  MK_TRY(check_subject(q->prof, q->name, q->idn, q->enterprise, q->uscc, now, field, e));
  set_field(field, "days");
  MK_TRY(pick_days(r->profile, q->asked_days, &q->days, e));
  set_field(field, "");
out:
  return rc;
}

static mk_pki_issue_req issue_req_of(const subject_req *q, EVP_PKEY *key) {
  mk_pki_issue_req ir = {.profile = q->profile,
                         .subject_key = key,
                         .person_name = q->name,
                         .id_number = q->idn,
                         .enterprise_name = q->enterprise,
                         .uscc = q->uscc,
                         .days = q->days};
  return ir;
}

int mk_svc_ca_issue(mk_svc_ctx *ctx, const char *id, const json_t *body, json_t **out,
                    char *field, mk_err *e) {
  static const char *const keys[] = {"profile", "csr", "name", "id_number", "enterprise",
                                     "uscc", "days", NULL};
  int rc = 0;
  mk_db *db = NULL;
  ca_row r = {0};
  mk_pki_ca ca = {0};
  X509_REQ *csr = NULL;
  X509 *cert = NULL;
  const char *csr_text = NULL;
  subject_req q = {0};
  mk_pki_keytype kt;
  int64_t now = ctx->now();
  *out = NULL;
  MK_TRY(mk_json_only_keys(body, keys, field, e));
  MK_TRY(subject_read(body, &q, field, e));
  /* PEM has line breaks, which mk_json_get_str refuses in text fields; the
   * CSR parser is the judge of its content. */
  json_t *jcsr = json_object_get(body, "csr");
  set_field(field, "csr");
  MK_ENSURE(jcsr != NULL && !json_is_null(jcsr), MK_EINVAL, e, "field 'csr' is required");
  MK_ENSURE(json_is_string(jcsr), MK_EINVAL, e, "csr must be PEM text");
  MK_ENSURE(json_string_length(jcsr) >= 1 && json_string_length(jcsr) <= MK_PKI_CSR_MAX,
            MK_EINVAL, e, "csr must be 1 to %u bytes", MK_PKI_CSR_MAX);
  csr_text = json_string_value(jcsr);
  set_field(field, "");

  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(row_load(db, id, &r, e));
  MK_TRY(subject_vet(&r, &q, now, field, e));
  set_field(field, "csr");
  MK_TRY(mk_pki_csr_parse((const unsigned char *)csr_text, strlen(csr_text), &csr, e));
  MK_TRY(mk_pki_csr_key_type(csr, &kt, e));
  MK_ENSURE(strcmp(r.key_type, kt == MK_PKI_SM2 ? "sm2" : "rsa") == 0, MK_EINVAL, e,
            "the CSR has an %s key; %s certifies %s keys only", kt == MK_PKI_SM2 ? "SM2" : "RSA",
            id, strcmp(r.key_type, "sm2") == 0 ? "SM2" : "RSA");
  set_field(field, "");
  if (strcmp(r.adapter, "cmp") == 0) {
    /* The external CA decides the certificate; no transaction is held
     * while it answers. */
    MK_TRY(cmp_issue(&r, csr, &cert, e));
  } else {
    EVP_PKEY *key = X509_REQ_get0_pubkey(csr);
    MK_ENSURE(key != NULL, MK_EINVAL, e, "the CSR has no usable public key");
    mk_pki_issue_req ir = issue_req_of(&q, key);
    MK_TRY(row_import(ctx, &r, &ca, e));
    MK_TRY(mk_pki_issue(&ca, &ir, now, &cert, e));
  }
  MK_TRY(record_cert(ctx, db, id, q.profile, cert, out, e));
out:
  X509_free(cert);
  X509_REQ_free(csr);
  mk_pki_ca_clear(&ca);
  row_clear(&r);
  mk_store_release(ctx->store, db);
  return rc;
}

/* ---- escrowed encryption certificates ----------------------------------------- */

#define TRANSPORT_PEM_MAX 8192

static int is_enc_profile(mk_pki_profile p) {
  return p == MK_PKI_PERSONAL_ENC || p == MK_PKI_ENTERPRISE_ENC || p == MK_PKI_STAFF_ENC;
}

/* The KMC's KEK, DATA/kmc.kek: made by mkeyd at first start, separate from
 * mkeyd's KEK because the KMC is the CA's service and that KEK the
 * platform's (docs/pki.md). */
static int kmc_kek_open(mk_svc_ctx *ctx, mk_kek **out, mk_err *e) {
  char path[PATH_MAX + 16];
  *out = NULL;
  if (ctx->cfg == NULL || ctx->cfg->data_dir[0] == '\0')
    return mk_err_set(e, MK_EINTERNAL, "no data directory for the KMC KEK");
  snprintf(path, sizeof path, "%.*s/kmc.kek", PATH_MAX - 1, ctx->cfg->data_dir);
  int rc = mk_kek_file_open(path, 0, out, e);
  if (rc < 0)
    return mk_err_wrap(e, "KMC KEK");
  return 0;
}

/* The device's transport key from body: PEM SubjectPublicKeyInfo, SM2 or
 * RSA (lib/pki/kmc judges the size and kind). */
static int transport_key(const json_t *body, EVP_PKEY **out, char *field, mk_err *e) {
  int rc = 0;
  BIO *bio = NULL;
  *out = NULL;
  json_t *j = json_object_get(body, "transport_key");
  set_field(field, "transport_key");
  MK_ENSURE(j != NULL && !json_is_null(j), MK_EINVAL, e, "field 'transport_key' is required");
  MK_ENSURE(json_is_string(j), MK_EINVAL, e, "transport_key must be PEM text");
  MK_ENSURE(json_string_length(j) >= 1 && json_string_length(j) <= TRANSPORT_PEM_MAX, MK_EINVAL,
            e, "transport_key must be 1 to %u bytes", TRANSPORT_PEM_MAX);
  MK_TRY_PTR_OSSL(bio, BIO_new_mem_buf(json_string_value(j), (int)json_string_length(j)), e,
                  "BIO");
  *out = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
  ERR_clear_error();
  MK_ENSURE(*out != NULL, MK_EINVAL, e,
            "transport_key must be a PEM public key (SubjectPublicKeyInfo)");
  set_field(field, "");
out:
  if (rc < 0) {
    EVP_PKEY_free(*out);
    *out = NULL;
  }
  BIO_free(bio);
  return rc;
}

static int package_text(const unsigned char *pkg, size_t len, char **out, mk_err *e) {
  size_t cap = mk_base64url_enc_len(len);
  *out = malloc(cap);
  if (*out == NULL)
    return mk_err_set(e, MK_ENOMEM, "out of memory");
  int rc = mk_base64url_encode(pkg, len, *out, cap, e);
  if (rc < 0) {
    free(*out);
    *out = NULL;
  }
  return rc;
}

int mk_svc_ca_issue_enc(mk_svc_ctx *ctx, const char *id, const json_t *body, json_t **out,
                        char *field, mk_err *e) {
  static const char *const keys[] = {"profile", "name", "id_number", "enterprise", "uscc",
                                     "days", "transport_key", NULL};
  int rc = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  ca_row r = {0};
  mk_pki_ca ca = {0};
  mk_kek *kmc = NULL;
  EVP_PKEY *tpub = NULL, *pub = NULL;
  X509 *cert = NULL;
  unsigned char *escrow = NULL, *pkg = NULL, *share = NULL;
  size_t escrow_len = 0, pkg_len = 0, share_len = 0;
  char *pkg_text = NULL;
  subject_req q = {0};
  char key_id[MK_ID_MAX], serial[SERIAL_HEX_MAX + 1], ts[MK_TIME_TEXT_MAX];
  int64_t now = ctx->now();
  *out = NULL;
  MK_TRY(mk_json_only_keys(body, keys, field, e));
  MK_TRY(subject_read(body, &q, field, e));
  MK_TRY(transport_key(body, &tpub, field, e));

  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(row_load(db, id, &r, e));
  set_field(field, "profile");
  MK_TRY(mk_pki_profile_parse(q.profile, &q.prof, e));
  MK_ENSURE(is_enc_profile(q.prof), MK_EINVAL, e,
            "an escrowed key takes an encryption profile (personal-enc, enterprise-enc, "
            "staff-enc), not %s",
            q.profile);
  MK_TRY(subject_vet(&r, &q, now, field, e));
  MK_ENSURE(strcmp(r.adapter, "builtin") == 0, MK_ECONFLICT, e,
            "%s is an external CA; its KMC is not this server's", id);

  MK_TRY(kmc_kek_open(ctx, &kmc, e));
  MK_TRY(mk_id_new(key_id, "key", e));
  MK_TRY(mk_pki_kmc_generate(strcmp(r.key_type, "sm2") == 0 ? MK_PKI_SM2 : MK_PKI_RSA, kmc,
                             key_id, &escrow, &escrow_len, &pub, e));
  mk_pki_issue_req ir = issue_req_of(&q, pub);
  MK_TRY(row_import(ctx, &r, &ca, e));
  MK_TRY(mk_pki_issue(&ca, &ir, now, &cert, e));
  set_field(field, "transport_key");
  MK_TRY(mk_pki_kmc_deliver(escrow, escrow_len, kmc, key_id, tpub, ctx->kek, &pkg, &pkg_len,
                            &share, &share_len, e));
  set_field(field, "");
  MK_TRY(package_text(pkg, pkg_len, &pkg_text, e));
  MK_TRY(serial_of(cert, serial, e));
  MK_TRY(mk_time_format(ctx->now(), ts, e));

  MK_TRY(mk_db_begin(db, e));
  MK_TRY(record_cert(ctx, db, id, q.profile, cert, out, e));
  MK_TRY(mk_db_prepare(db,
                       "INSERT INTO ca_escrow(ca_id, serial, key_id, escrow, server_share, "
                       "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, serial, e));
  MK_TRY(mk_stmt_bind_text(st, 3, key_id, e));
  MK_TRY(mk_stmt_bind_blob(st, 4, escrow, escrow_len, e));
  MK_TRY(mk_stmt_bind_blob(st, 5, share, share_len, e));
  MK_TRY(mk_stmt_bind_text(st, 6, ts, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  MK_TRY(mk_db_commit(db, e));
  MK_ENSURE(json_object_set_new(*out, "key_id", json_string(key_id)) == 0 &&
                json_object_set_new(*out, "device_package", json_string(pkg_text)) == 0,
            MK_ENOMEM, e, "out of memory");
out:
  if (rc < 0) {
    json_decref(*out);
    *out = NULL;
    if (db != NULL)
      mk_db_rollback(db);
  }
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  free(pkg_text);
  free(pkg);
  mk_pki_kmc_destroy(share, share_len);
  mk_pki_kmc_destroy(escrow, escrow_len);
  X509_free(cert);
  EVP_PKEY_free(pub);
  EVP_PKEY_free(tpub);
  mk_kek_free(kmc);
  mk_pki_ca_clear(&ca);
  row_clear(&r);
  return rc;
}

int mk_svc_ca_recover(mk_svc_ctx *ctx, const char *id, const char *serial, const json_t *body,
                      json_t **out, char *field, mk_err *e) {
  static const char *const keys[] = {"transport_key", NULL};
  int rc = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  ca_row r = {0};
  mk_kek *kmc = NULL;
  EVP_PKEY *tpub = NULL;
  unsigned char *escrow = NULL, *pkg = NULL, *share = NULL;
  size_t escrow_len = 0, pkg_len = 0, share_len = 0;
  char *pkg_text = NULL;
  char norm[SERIAL_HEX_MAX + 1], key_id[MK_PKI_KMC_KEY_ID_MAX + 1], ts[MK_TIME_TEXT_MAX];
  *out = NULL;
  set_field(field, "serial");
  MK_TRY(serial_normalise(serial, norm, e));
  set_field(field, "");
  MK_TRY(mk_json_only_keys(body, keys, field, e));
  MK_TRY(transport_key(body, &tpub, field, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(row_load(db, id, &r, e));
  MK_TRY(mk_db_prepare(db,
                       "SELECT c.revoked_at, x.key_id, x.escrow FROM ca_cert c LEFT JOIN "
                       "ca_escrow x ON x.ca_id = c.ca_id AND x.serial = c.serial "
                       "WHERE c.ca_id = $1 AND c.serial = $2",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, norm, e));
  int found = 0;
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found == 1, MK_ENOTFOUND, e, "CA %s issued no certificate with serial %s", id, norm);
  MK_ENSURE(mk_stmt_is_null(st, 0), MK_ECONFLICT, e,
            "serial %s was revoked at %s; its escrowed key was destroyed", norm,
            mk_stmt_text(st, 0));
  MK_ENSURE(!mk_stmt_is_null(st, 1), MK_ENOTFOUND, e,
            "serial %s of CA %s has no escrowed key (not an escrowed encryption certificate)",
            norm, id);
  snprintf(key_id, sizeof key_id, "%s", mk_stmt_text(st, 1));
  MK_ENSURE(copy_blob(st, 2, &escrow, &escrow_len) == 0 && escrow != NULL, MK_EINTERNAL, e,
            "stored escrow");
  mk_stmt_finish(st);
  st = NULL;

  MK_TRY(kmc_kek_open(ctx, &kmc, e));
  set_field(field, "transport_key");
  MK_TRY(mk_pki_kmc_deliver(escrow, escrow_len, kmc, key_id, tpub, ctx->kek, &pkg, &pkg_len,
                            &share, &share_len, e));
  set_field(field, "");
  MK_TRY(package_text(pkg, pkg_len, &pkg_text, e));
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  /* The new server share replaces the old one; a revocation that came
   * in between leaves no row, and nothing is delivered. */
  MK_TRY(mk_db_prepare(db,
                       "UPDATE ca_escrow SET server_share = $3, updated_at = $4 WHERE ca_id = $1 "
                       "AND serial = $2 RETURNING key_id",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, norm, e));
  MK_TRY(mk_stmt_bind_blob(st, 3, share, share_len, e));
  MK_TRY(mk_stmt_bind_text(st, 4, ts, e));
  int updated = 0;
  MK_TRY(updated = mk_stmt_step(st, e));
  MK_ENSURE(updated == 1, MK_ECONFLICT, e, "serial %s was revoked; its escrowed key was destroyed",
            norm);
  mk_stmt_finish(st);
  st = NULL;
  *out = json_pack("{s:s,s:s,s:s,s:s}", "ca_id", id, "serial", norm, "key_id", key_id,
                   "device_package", pkg_text);
  MK_ENSURE_ALLOC(*out, e);
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  free(pkg_text);
  free(pkg);
  mk_pki_kmc_destroy(share, share_len);
  mk_pki_kmc_destroy(escrow, escrow_len);
  EVP_PKEY_free(tpub);
  mk_kek_free(kmc);
  row_clear(&r);
  return rc;
}

/* ---- revocation -------------------------------------------------------------- */

int mk_svc_ca_revoke(mk_svc_ctx *ctx, const char *id, const char *serial, const char *reason,
                     json_t **out, char *field, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  ca_row r = {0};
  X509 *cert = NULL;
  char norm[SERIAL_HEX_MAX + 1], ts[MK_TIME_TEXT_MAX];
  mk_pki_reason code;
  *out = NULL;
  rc = serial_normalise(serial, norm, e);
  if (rc < 0) {
    if (field != NULL)
      snprintf(field, MK_JSON_FIELD_MAX, "serial");
    goto out;
  }
  rc = mk_pki_reason_parse(reason, &code, e);
  if (rc < 0) {
    if (field != NULL)
      snprintf(field, MK_JSON_FIELD_MAX, "reason");
    goto out;
  }
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(row_load(db, id, &r, e));
  if (strcmp(r.adapter, "cmp") == 0) {
    /* The external CA revokes first, and the store records what it
     * accepted; no transaction is held while it answers. */
    MK_TRY(mk_db_prepare(db, "SELECT revoked_at, der FROM ca_cert WHERE ca_id = $1 AND serial = $2",
                         &st, e));
    MK_TRY(mk_stmt_bind_text(st, 1, id, e));
    MK_TRY(mk_stmt_bind_text(st, 2, norm, e));
    int known = 0;
    MK_TRY(known = mk_stmt_step(st, e));
    MK_ENSURE(known == 1, MK_ENOTFOUND, e, "CA %s issued no certificate with serial %s", id, norm);
    MK_ENSURE(mk_stmt_is_null(st, 0), MK_ECONFLICT, e, "serial %s was already revoked at %s",
              norm, mk_stmt_text(st, 0));
    size_t dlen = 0;
    const unsigned char *d = mk_stmt_blob(st, 1, &dlen);
    MK_ENSURE(d != NULL && dlen > 0 && dlen < 1u << 20, MK_EINTERNAL, e, "stored certificate");
    MK_TRY_PTR_OSSL(cert, d2i_X509(NULL, &d, (long)dlen), e, "stored certificate");
    mk_stmt_finish(st);
    st = NULL;
    MK_TRY(cmp_revoke(&r, cert, code, e));
  }
  /* The time of the revocation is when it took effect, after the CA said yes. */
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_db_begin(db, e));
  MK_TRY(mk_db_prepare(db, "SELECT revoked_at FROM ca_cert WHERE ca_id = $1 AND serial = $2", &st,
                       e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, norm, e));
  int found = 0;
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found == 1, MK_ENOTFOUND, e, "CA %s issued no certificate with serial %s", id, norm);
  MK_ENSURE(mk_stmt_is_null(st, 0), MK_ECONFLICT, e, "serial %s was already revoked at %s", norm,
            mk_stmt_text(st, 0));
  mk_stmt_finish(st);
  st = NULL;
  MK_TRY(mk_db_prepare(db,
                       "UPDATE ca_cert SET revoked_at = $3, reason = $4 WHERE ca_id = $1 AND "
                       "serial = $2 AND revoked_at IS NULL",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, norm, e));
  MK_TRY(mk_stmt_bind_text(st, 3, ts, e));
  MK_TRY(mk_stmt_bind_text(st, 4, mk_pki_reason_name(code), e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  /* An escrowed encryption key dies with its certificate: the escrow record
   * and the server share go in the same transaction (copies in backups are
   * the deployer's policy, docs/pki.md). */
  MK_TRY(mk_db_prepare(db, "DELETE FROM ca_escrow WHERE ca_id = $1 AND serial = $2 RETURNING key_id",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, norm, e));
  int destroyed = 0;
  MK_TRY(destroyed = mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  /* The next CRL lists it under a new number. */
  MK_TRY(mk_db_prepare(db,
                       "UPDATE ca SET crl_number = crl_number + 1, crl_der = NULL, "
                       "crl_next_update = NULL WHERE id = $1 RETURNING crl_number",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_step(st, e));
  int64_t number = mk_stmt_int(st, 0);
  mk_stmt_finish(st);
  st = NULL;
  MK_TRY(mk_db_commit(db, e));
  *out = json_pack("{s:s,s:s,s:s,s:s,s:I,s:b}", "ca_id", id, "serial", norm, "reason",
                   mk_pki_reason_name(code), "revoked_at", ts, "crl_number", (json_int_t)number,
                   "escrow_destroyed", destroyed == 1);
  MK_ENSURE_ALLOC(*out, e);
out:
  X509_free(cert);
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  row_clear(&r);
  return rc;
}
