/*
 * mkey keytool: both halves of a two-party key in one process, for interop
 * checks and debugging (like `openssl` or `step crypto`). It runs the real
 * protocol code with every message through JSON text (crypto/tp.h) and
 * keeps the server's side as mkeyd does: the server share wrapped by a KEK,
 * a PIN verifier with a retry counter that locks after five failures.
 *
 * Files in the key directory (0600): pub.pem, device.key (sealed by this
 * profile's device keystore), server.key (wrapped by the profile's keytool
 * KEK, standing in for mkeyd's), server.state (PIN state and metadata).
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "crypto/kek.h"
#include "crypto/keystore.h"
#include "crypto/pin.h"
#include "crypto/tp.h"
#include "util/enc.h"
#include "util/file.h"
#include "util/guard.h"
#include "util/id.h"
#include "util/json.h"
#include "util/time.h"

#define INPUT_MAX (64u << 20) /* bytes signed or decrypted from a file */
#define STATE_MAX 4096
#define ACCOUNT "keytool"

const char cmd_keytool_usage[] =
    "usage: mkey keytool split --alg sm2|rsa2048|rsa3072 (--pin PIN | --pin-file F) --out DIR\n"
    "   or: mkey keytool sign --key DIR (--pin PIN | --pin-file F) --in FILE --out SIG.der\n"
    "   or: mkey keytool decrypt --key DIR (--pin PIN | --pin-file F) --in CT --out PT\n"
    "   or: mkey keytool show --key DIR\n"
    "\n"
    "Runs both halves of a two-party key here, through the real protocol messages.\n"
    "split writes DIR/pub.pem (SubjectPublicKeyInfo), DIR/device.key (the device\n"
    "share, sealed by this profile's keystore), DIR/server.key (the server share,\n"
    "wrapped by this profile's keytool KEK) and DIR/server.state (PIN verifier and\n"
    "retry counter). sign makes an SM2 signature (SM3, ID 1234567812345678, DER) or\n"
    "an RSA PKCS#1 v1.5 SHA-256 signature; decrypt opens an SM2 (GM/T 0009 DER) or\n"
    "RSA-OAEP-SHA-256 ciphertext. Five wrong PINs in a row lock the key.\n"
    "Options: --kdf-memory KIB sets the Argon2id memory of the PIN proof at split\n"
    "(default 65536; tests use less). --passphrase-file F protects this profile's\n"
    "device keystore with the passphrase in F (given when the keystore is first\n"
    "made, it is needed every time after).\n";

/* Everything one key directory holds, opened. */
typedef struct keyfiles {
  char dir[CLI_PATH_MAX];
  char key_id[MK_ID_MAX];
  mk_tp_alg alg;
  mk_pin_state pin;
  mk_kek *kek;
  mk_keystore *ks;
  unsigned char pepper[MK_PIN_PEPPER_LEN];
} keyfiles;

static void keyfiles_clear(keyfiles *k) {
  mk_kek_free(k->kek);
  mk_keystore_free(k->ks);
  OPENSSL_cleanse(k, sizeof *k);
}

static int path_in(char *out, size_t cap, const char *dir, const char *name, mk_err *e) {
  int n = snprintf(out, cap, "%s/%s", dir, name);
  if (n < 0 || (size_t)n >= cap)
    return mk_err_set(e, MK_EINVAL, "path '%s/%s' is too long", dir, name);
  return 0;
}

static void label(char *out, size_t cap, const char *what, const keyfiles *k) {
  snprintf(out, cap, "mkey %s share %s %s", what, mk_tp_alg_name(k->alg), k->key_id);
}

/* --passphrase-file: the device keystore's passphrase, read once per run. */
static char passphrase[MK_KEYSTORE_PASSPHRASE_MAX + 2];
static int have_passphrase;

static int read_passphrase(const char *file, mk_err *e) {
  mk_buf b;
  int rc = mk_file_read_capped(file, MK_KEYSTORE_PASSPHRASE_MAX + 1, 0, &b, e);
  if (rc < 0)
    return rc;
  size_t n = b.len;
  while (n > 0 && (b.data[n - 1] == '\n' || b.data[n - 1] == '\r'))
    n--;
  if (n == 0 || n > MK_KEYSTORE_PASSPHRASE_MAX || memchr(b.data, '\0', n) != NULL)
    rc = mk_err_set(e, MK_EINVAL, "'%s' does not hold a passphrase of 1 to %d bytes", file,
                    MK_KEYSTORE_PASSPHRASE_MAX);
  else {
    memcpy(passphrase, b.data, n);
    passphrase[n] = '\0';
    have_passphrase = 1;
  }
  mk_buf_free_secret(&b);
  return rc;
}

/* The profile's device keystore and keytool KEK, created on first use (the
 * keystore under the passphrase, when one was given). */
static int open_profile_keys(struct cli *ctx, keyfiles *k, int create, mk_err *e) {
  int rc = 0;
  char pdir[CLI_PATH_MAX], ksp[CLI_PATH_MAX + 32], kekp[CLI_PATH_MAX + 32];
  MK_TRY(cli_profile_dir(ctx->profile, 1, pdir, sizeof pdir, e));
  MK_TRY(path_in(ksp, sizeof ksp, pdir, "keystore.key", e));
  MK_TRY(path_in(kekp, sizeof kekp, pdir, "keytool-server.kek", e));
  struct stat st;
  if (create && stat(ksp, &st) != 0) {
    int c = mk_keystore_create(ksp, have_passphrase ? passphrase : NULL, NULL, e);
    if (c < 0 && c != MK_ECONFLICT) /* another process may have just made it */
      MK_TRY(c);
  }
  MK_TRY(mk_keystore_open(ksp, have_passphrase ? passphrase : NULL, &k->ks, e));
  MK_TRY(mk_kek_file_open(kekp, create, &k->kek, e));
  MK_TRY(mk_kek_derive(k->kek, MK_KEK_LABEL_PIN_PEPPER, k->pepper, e));
out:
  return rc;
}

/* server.state: {"v":1,"key_id","alg","account","pin_state":base64url(MKPS)} */
static int state_save(const keyfiles *k, mk_err *e) {
  int rc = 0;
  unsigned char raw[MK_PIN_STATE_LEN];
  char b64[2 * MK_PIN_STATE_LEN], path[CLI_PATH_MAX + 32];
  json_t *j = NULL;
  char *text = NULL;
  MK_TRY(mk_pin_state_encode(&k->pin, raw, e));
  MK_TRY(mk_base64url_encode(raw, sizeof raw, b64, sizeof b64, e));
  j = json_pack("{s:i,s:s,s:s,s:s,s:s}", "v", 1, "key_id", k->key_id, "alg",
                mk_tp_alg_name(k->alg), "account", ACCOUNT, "pin_state", b64);
  MK_ENSURE_ALLOC(j, e);
  text = mk_json_dump(j);
  MK_ENSURE_ALLOC(text, e);
  MK_TRY(path_in(path, sizeof path, k->dir, "server.state", e));
  MK_TRY(mk_file_write_private(path, text, strlen(text), 0, e));
out:
  json_decref(j);
  free(text);
  return rc;
}

static int state_load(keyfiles *k, mk_err *e) {
  int rc = 0;
  char path[CLI_PATH_MAX + 32];
  mk_buf b;
  json_t *j = NULL;
  const char *id = NULL, *alg = NULL, *account = NULL, *pin = NULL;
  int64_t v = 0;
  unsigned char raw[MK_PIN_STATE_LEN + 8];
  static const char *const keys[] = {"v", "key_id", "alg", "account", "pin_state", NULL};
  mk_buf_init(&b, 0);
  MK_TRY(path_in(path, sizeof path, k->dir, "server.state", e));
  MK_TRY(mk_file_read_capped(path, STATE_MAX, MK_FILE_PRIVATE, &b, e));
  rc = mk_json_parse_object(b.data, b.len, STATE_MAX, &j, e);
  if (rc < 0) {
    mk_err_wrap(e, "'%s'", path);
    goto out;
  }
  MK_TRY(mk_json_only_keys(j, keys, NULL, e));
  MK_TRY(mk_json_get_int(j, "v", 1, 1, 1, &v, NULL, e));
  MK_TRY(mk_json_get_str(j, "key_id", 1, MK_ID_MAX - 1, &id, NULL, e));
  MK_TRY(mk_id_check(id, "key", e));
  MK_TRY(mk_json_get_str(j, "alg", 1, 16, &alg, NULL, e));
  MK_TRY(mk_tp_alg_parse(alg, &k->alg, e));
  MK_TRY(mk_json_get_str(j, "account", 1, 64, &account, NULL, e));
  MK_ENSURE(strcmp(account, ACCOUNT) == 0, MK_EINVAL, e, "'%s' is not a keytool key", path);
  MK_TRY(mk_json_get_str(j, "pin_state", 1, 2 * MK_PIN_STATE_LEN, &pin, NULL, e));
  int n = mk_base64url_decode(pin, strlen(pin), raw, sizeof raw, e);
  MK_TRY(n);
  MK_TRY(mk_pin_state_decode(raw, (size_t)n, &k->pin, e));
  memcpy(k->key_id, id, strlen(id) + 1);
out:
  json_decref(j);
  mk_buf_free(&b);
  return rc;
}

static int read_pin(const char *pin, const char *pin_file, char *out, size_t cap, mk_err *e) {
  if ((pin == NULL) == (pin_file == NULL))
    return mk_err_set(e, MK_EINVAL, "give the PIN with --pin or --pin-file");
  if (pin != NULL) {
    size_t n = strlen(pin);
    if (n >= cap)
      return mk_err_set(e, MK_EINVAL, "the PIN is too long");
    memcpy(out, pin, n + 1);
    return mk_pin_valid(out, e);
  }
  mk_buf b;
  int rc = mk_file_read_capped(pin_file, cap, 0, &b, e);
  if (rc < 0)
    return rc;
  size_t n = b.len;
  while (n > 0 && (b.data[n - 1] == '\n' || b.data[n - 1] == '\r'))
    n--;
  if (n >= cap) {
    mk_buf_free_secret(&b);
    return mk_err_set(e, MK_EINVAL, "the PIN is too long");
  }
  memcpy(out, b.data, n);
  out[n] = '\0';
  mk_buf_free_secret(&b);
  return mk_pin_valid(out, e);
}

/* Check the PIN the way mkeyd does: proof, counter, and the state written
 * back before anything is released. */
static int pin_gate(keyfiles *k, const char *pin, mk_err *e) {
  unsigned char proof[MK_PIN_PROOF_LEN];
  int rc = mk_pin_proof(&k->pin.params, pin, ACCOUNT, k->key_id, proof, e);
  if (rc == 0) {
    rc = mk_pin_check(&k->pin, k->pepper, proof, mk_time_now(), e);
    mk_err werr;
    int wrc = state_save(k, &werr); /* counts the failure, or resets the counter */
    if (wrc < 0) {
      if (e != NULL)
        *e = werr;
      rc = wrc;
    }
  }
  OPENSSL_cleanse(proof, sizeof proof);
  return rc;
}

/* A wrong device share counts against the PIN like a wrong PIN. */
static void count_share_failure(keyfiles *k) {
  mk_err ignored;
  if (mk_pin_record_failure(&k->pin, mk_time_now(), &ignored) == 0)
    (void)!state_save(k, &ignored);
}

static int open_shares(keyfiles *k, mk_tp_device **dev, mk_tp_server **srv, mk_err *e) {
  int rc = 0;
  char path[CLI_PATH_MAX + 32], lab[128];
  mk_buf d, s, w;
  mk_buf_init_secret(&d, MK_TP_SHARE_MAX + 1); /* the shares are appended here */
  mk_buf_init_secret(&s, MK_TP_SHARE_MAX + 1);
  mk_buf_init(&w, 0); /* mk_file_read_capped sets it up */
  MK_TRY(path_in(path, sizeof path, k->dir, "device.key", e));
  label(lab, sizeof lab, "device", k);
  MK_TRY(mk_keystore_read_share(k->ks, lab, path, &d, e));
  MK_TRY(mk_tp_device_decode(d.data, d.len, dev, e));
  MK_TRY(path_in(path, sizeof path, k->dir, "server.key", e));
  MK_TRY(mk_file_read_capped(path, MK_FILE_MAX, MK_FILE_PRIVATE, &w, e));
  label(lab, sizeof lab, "server", k);
  MK_TRY(mk_kek_unwrap(k->kek, lab, w.data, w.len, &s, e));
  MK_TRY(mk_tp_server_decode(s.data, s.len, srv, e));
  MK_ENSURE(mk_tp_device_alg(*dev) == k->alg && mk_tp_server_alg(*srv) == k->alg, MK_EINVAL, e,
            "the shares in '%s' are not of the algorithm server.state names", k->dir);
out:
  mk_buf_free_secret(&d);
  mk_buf_free_secret(&s);
  mk_buf_free_secret(&w);
  return rc;
}

static int split(struct cli *ctx, const char *alg, const char *pin, const char *dir,
                 const char *kdf_memory, mk_err *e) {
  int rc = 0;
  keyfiles k = {0};
  mk_tp_device *dev = NULL;
  mk_tp_server *srv = NULL;
  mk_buf d, s, w;
  char *pem = NULL;
  char path[CLI_PATH_MAX + 32], lab[128];
  unsigned char proof[MK_PIN_PROOF_LEN];
  mk_pin_params params = MK_PIN_PARAMS_DEFAULT;
  mk_buf_init(&d, 0); /* set up by the encoders */
  mk_buf_init(&s, 0);
  mk_buf_init_secret(&w, MK_FILE_MAX); /* the wrapped share is appended here */
  if (kdf_memory != NULL) {
    char *end = NULL;
    unsigned long m = strtoul(kdf_memory, &end, 10);
    MK_ENSURE(end != kdf_memory && *end == '\0' && m >= 8 && m <= MK_PIN_M_MAX_KIB, MK_EINVAL, e,
              "--kdf-memory must be KiB from 8 to %u", MK_PIN_M_MAX_KIB);
    params.m_cost_kib = (uint32_t)m;
  }
  MK_TRY(mk_pin_params_check(&params, e));
  MK_TRY(mk_tp_alg_parse(alg, &k.alg, e));
  MK_ENSURE(strlen(dir) < sizeof k.dir, MK_EINVAL, e, "--out path is too long");
  memcpy(k.dir, dir, strlen(dir) + 1);
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    MK_FAIL(MK_EIO, e, "cannot create '%s': %s", dir, strerror(errno));
  MK_TRY(path_in(path, sizeof path, dir, "server.state", e));
  struct stat st;
  MK_ENSURE(stat(path, &st) != 0, MK_ECONFLICT, e,
            "'%s' holds a key already; choose another --out", dir);
  MK_TRY(open_profile_keys(ctx, &k, 1, e));
  MK_TRY(mk_id_new(k.key_id, "key", e));

  MK_TRY(mk_tp_loop_keygen(k.alg, &dev, &srv, e));
  MK_TRY(mk_pin_proof(&params, pin, ACCOUNT, k.key_id, proof, e));
  MK_TRY(mk_pin_enroll(&k.pin, &params, k.pepper, proof, e));

  MK_TRY(mk_tp_public_pem(dev, &pem, e));
  MK_TRY(path_in(path, sizeof path, dir, "pub.pem", e));
  MK_TRY(mk_file_write_private(path, pem, strlen(pem), 0, e));
  MK_TRY(mk_tp_device_encode(dev, &d, e));
  label(lab, sizeof lab, "device", &k);
  MK_TRY(path_in(path, sizeof path, dir, "device.key", e));
  MK_TRY(mk_keystore_write_share(k.ks, lab, d.data, d.len, path, e));
  MK_TRY(mk_tp_server_encode(srv, &s, e));
  label(lab, sizeof lab, "server", &k);
  MK_TRY(mk_kek_wrap(k.kek, lab, s.data, s.len, &w, e));
  MK_TRY(path_in(path, sizeof path, dir, "server.key", e));
  MK_TRY(mk_file_write_private(path, w.data, w.len, 0, e));
  MK_TRY(state_save(&k, e)); /* last: its presence marks a complete key */

  if (ctx->json) {
    json_t *j = json_pack("{s:s,s:s,s:s}", "id", k.key_id, "alg", mk_tp_alg_name(k.alg), "dir",
                          dir);
    MK_ENSURE_ALLOC(j, e);
    cli_print_json(j);
    json_decref(j);
  } else {
    printf("%s key %s split into %s (pub.pem, device.key, server.key, server.state)\n",
           mk_tp_alg_name(k.alg), k.key_id, dir);
  }
out:
  OPENSSL_cleanse(proof, sizeof proof);
  free(pem);
  mk_buf_free_secret(&d);
  mk_buf_free_secret(&s);
  mk_buf_free_secret(&w);
  mk_tp_device_free(dev);
  mk_tp_server_free(srv);
  keyfiles_clear(&k);
  return rc;
}

/* sign and decrypt: PIN gate, shares, one operation, output file. */
static int operate(struct cli *ctx, int decrypt, const char *dir, const char *pin,
                   const char *in, const char *outp, mk_err *e) {
  int rc = 0;
  keyfiles k = {0};
  mk_tp_device *dev = NULL;
  mk_tp_server *srv = NULL;
  mk_buf input, pt;
  mk_buf_init(&input, 0);
  mk_buf_init(&pt, 0);
  MK_ENSURE(strlen(dir) < sizeof k.dir, MK_EINVAL, e, "--key path is too long");
  memcpy(k.dir, dir, strlen(dir) + 1);
  MK_TRY(state_load(&k, e));
  MK_TRY(open_profile_keys(ctx, &k, 0, e));
  MK_TRY(pin_gate(&k, pin, e));
  MK_TRY(open_shares(&k, &dev, &srv, e));
  MK_TRY(mk_file_read_capped(in, INPUT_MAX, 0, &input, e));
  if (decrypt) {
    rc = mk_tp_loop_decrypt(dev, srv, input.data, input.len, mk_time_now(), &pt, e);
    if (rc == MK_EAUTH)
      count_share_failure(&k);
    MK_TRY(rc);
    MK_TRY(mk_file_write_private(outp, pt.data, pt.len, 0, e));
  } else {
    unsigned char sig[MK_TP_SIG_MAX];
    size_t siglen = 0;
    rc = mk_tp_loop_sign(dev, srv, input.data, input.len, mk_time_now(), sig, &siglen, e);
    if (rc == MK_EAUTH)
      count_share_failure(&k);
    MK_TRY(rc);
    MK_TRY(mk_file_write_private(outp, sig, siglen, 0, e));
  }
  if (ctx->json) {
    json_t *j = json_pack("{s:s,s:s,s:s,s:s}", "id", k.key_id, "alg", mk_tp_alg_name(k.alg),
                          "operation", decrypt ? "decrypt" : "sign", "out", outp);
    MK_ENSURE_ALLOC(j, e);
    cli_print_json(j);
    json_decref(j);
  } else {
    printf("%s with %s key %s: wrote %s\n", decrypt ? "decrypted" : "signed",
           mk_tp_alg_name(k.alg), k.key_id, outp);
  }
out:
  mk_buf_free_secret(&input);
  mk_buf_free_secret(&pt);
  mk_tp_device_free(dev);
  mk_tp_server_free(srv);
  keyfiles_clear(&k);
  return rc;
}

static int show(struct cli *ctx, const char *dir, mk_err *e) {
  int rc = 0;
  keyfiles k = {0};
  MK_ENSURE(strlen(dir) < sizeof k.dir, MK_EINVAL, e, "--key path is too long");
  memcpy(k.dir, dir, strlen(dir) + 1);
  MK_TRY(state_load(&k, e));
  unsigned left = mk_pin_attempts_left(&k.pin);
  if (ctx->json) {
    json_t *j = json_pack("{s:s,s:s,s:b,s:i}", "id", k.key_id, "alg", mk_tp_alg_name(k.alg),
                          "locked", k.pin.locked, "attempts_left", (int)left);
    MK_ENSURE_ALLOC(j, e);
    cli_print_json(j);
    json_decref(j);
  } else {
    printf("key %s: %s, %s (%u PIN attempts left)\n", k.key_id, mk_tp_alg_name(k.alg),
           k.pin.locked ? "locked" : "usable", left);
  }
out:
  keyfiles_clear(&k);
  return rc;
}

int cmd_keytool(int argc, const char **argv, struct cli *ctx) {
  if (argc < 2)
    return cli_usage_error(cmd_keytool_usage, "keytool needs a subcommand");
  const char *sub = argv[1];
  const char *alg = NULL, *pin = NULL, *pin_file = NULL, *out = NULL, *key = NULL, *in = NULL,
             *kdf = NULL, *pass_file = NULL;
  const struct cli_option opts[] = {
      {"--alg", &alg, NULL},   {"--pin", &pin, NULL}, {"--pin-file", &pin_file, NULL},
      {"--out", &out, NULL},   {"--key", &key, NULL}, {"--in", &in, NULL},
      {"--kdf-memory", &kdf, NULL}, {"--passphrase-file", &pass_file, NULL},
      {NULL, NULL, NULL},
  };
  int rc = cli_parse_options(ctx, argc - 1, argv + 1, opts, NULL, 0, NULL, cmd_keytool_usage);
  if (rc != 0)
    return rc;
  mk_err e;
  mk_err_clear(&e);
  if (pass_file != NULL && read_passphrase(pass_file, &e) < 0)
    return cli_fail(&e);
  char pinbuf[MK_PIN_MAX_LEN + 2];
  if (strcmp(sub, "show") == 0) {
    if (key == NULL)
      return cli_usage_error(cmd_keytool_usage, "show needs --key DIR");
    rc = show(ctx, key, &e);
  } else if (strcmp(sub, "split") == 0 || strcmp(sub, "sign") == 0 ||
             strcmp(sub, "decrypt") == 0) {
    int is_split = sub[1] == 'p';
    if (is_split && (alg == NULL || out == NULL))
      return cli_usage_error(cmd_keytool_usage, "split needs --alg and --out");
    if (!is_split && (key == NULL || in == NULL || out == NULL))
      return cli_usage_error(cmd_keytool_usage, "%s needs --key, --in and --out", sub);
    rc = read_pin(pin, pin_file, pinbuf, sizeof pinbuf, &e);
    if (rc == 0)
      rc = is_split ? split(ctx, alg, pinbuf, out, kdf, &e)
                    : operate(ctx, sub[0] == 'd', key, pinbuf, in, out, &e);
    OPENSSL_cleanse(pinbuf, sizeof pinbuf);
    OPENSSL_cleanse(passphrase, sizeof passphrase);
  } else {
    return cli_usage_error(cmd_keytool_usage, "unknown keytool subcommand '%s'", sub);
  }
  return rc < 0 ? cli_fail(&e) : CLI_OK;
}
