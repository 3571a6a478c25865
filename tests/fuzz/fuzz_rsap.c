/*
 * Two-party RSA decoders on arbitrary bytes: the input is tried as a device
 * share, a server share and (when it parses) as every protocol message, each
 * against the committed split of tests/vectors/rsa/rsa2048.pem. Decoders may
 * only refuse with their documented codes and a message; accepted shares
 * re-encode to exactly the input (one value, one encoding); accepted
 * messages give a well-formed answer.
 *
 * Fixed device state the message seeds were made for (make_vectors.py): the
 * signing operation is over SHA-256("abc"), the decryption answers the
 * challenge 32 x 0x5a for the ciphertext rsa2048.oaep.bin, blinded by the
 * fixed r = SHA-256("mkey fuzz rsap blind") (as a k-byte integer). Both come
 * from mk_rsap_insecure_set_test_rng, which also gives the server's
 * challenges that value, so valid seeds reach the end of their step.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "crypto/rsap.h"
#include "util/enc.h"
#include "util/json.h"

#define FUZZ_MAX 8192
#define NOW 1767225600

static mk_rsap_device *dev;
static mk_rsap_server *srv;
static unsigned char ct[MK_RSAP_MAX_BYTES];
static size_t ct_len;

static void need(int cond) {
  if (!cond)
    abort();
}

static unsigned char *read_vector(const char *name, size_t *len) {
  char path[4096];
  const char *src = getenv("MKEY_SOURCE_DIR");
  if (src != NULL) {
    snprintf(path, sizeof path, "%s/tests/vectors/rsa/%s", src, name);
  } else {
    const char *slash = strrchr(__FILE__, '/');
    int dir = slash ? (int)(slash - __FILE__) : 1;
    snprintf(path, sizeof path, "%.*s/../vectors/rsa/%s", dir, slash ? __FILE__ : ".", name);
  }
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "cannot open '%s'\n", path);
    abort();
  }
  unsigned char *b = malloc(MK_RSAP_SHARE_MAX + 1);
  need(b != NULL);
  *len = fread(b, 1, MK_RSAP_SHARE_MAX + 1, f);
  fclose(f);
  return b;
}

/* Every challenge 32 x 0x5a, every blinding factor the same r. */
static int fixed_rng(void *ctx, const char *what, unsigned char *out, size_t len) {
  (void)ctx;
  if (strcmp(what, "challenge") == 0) {
    memset(out, 0x5a, len);
    return 1;
  }
  if (strcmp(what, "r") != 0 || len < SHA256_DIGEST_LENGTH)
    return 0;
  static const char label[] = "mkey fuzz rsap blind";
  memset(out, 0, len - SHA256_DIGEST_LENGTH);
  return SHA256((const unsigned char *)label, sizeof label - 1,
                out + len - SHA256_DIGEST_LENGTH) != NULL;
}

static void init(void) {
  size_t n = 0;
  mk_rsap_insecure_set_test_rng(fixed_rng, NULL);
  unsigned char *b = read_vector("rsa2048.device.bin", &n);
  need(mk_rsap_device_decode(b, n, &dev, NULL) == 0);
  free(b);
  b = read_vector("rsa2048.server.bin", &n);
  need(mk_rsap_server_decode(b, n, &srv, NULL) == 0);
  free(b);
  b = read_vector("rsa2048.oaep.bin", &ct_len);
  need(ct_len == 256);
  memcpy(ct, b, ct_len);
  free(b);
}

/* rc is 0 or one of the codes allowed (0-terminated list), with a message. */
static void check_rc(int rc, const mk_err *e, const int *allowed) {
  if (rc == 0)
    return;
  for (const int *a = allowed; *a != 0; a++)
    if (rc == *a) {
      need(e->code == rc && e->msg[0] != '\0' && strlen(e->msg) < MK_ERR_MSG_MAX);
      return;
    }
  abort();
}

static const int inval[] = {MK_EINVAL, 0};
static const int inval_auth[] = {MK_EINVAL, MK_EAUTH, 0};
static const int inval_proto[] = {MK_EINVAL, MK_EPROTO, 0};
static const int decrypt_end[] = {MK_EINVAL, MK_EPROTO, MK_ECRYPTO, 0};

static void shares(const uint8_t *data, size_t size) {
  mk_err e;
  mk_buf b;
  mk_rsap_device *d = NULL;
  int rc = mk_rsap_device_decode(data, size, &d, &e);
  check_rc(rc, &e, inval);
  if (rc == 0) {
    mk_buf_init(&b, MK_RSAP_SHARE_MAX);
    need(mk_rsap_device_encode(d, &b, &e) == 0);
    need(b.len == size && memcmp(b.data, data, size) == 0);
    mk_buf_free_secret(&b);
    mk_rsap_device_free(d);
  } else {
    need(d == NULL);
  }
  mk_rsap_server *s = NULL;
  rc = mk_rsap_server_decode(data, size, &s, &e);
  check_rc(rc, &e, inval);
  if (rc == 0) {
    mk_buf_init(&b, MK_RSAP_SHARE_MAX);
    need(mk_rsap_server_encode(s, &b, &e) == 0);
    need(b.len == size && memcmp(b.data, data, size) == 0);
    mk_buf_free_secret(&b);
    mk_rsap_server_free(s);
  } else {
    need(s == NULL);
  }
}

static void messages(const json_t *msg) {
  mk_err e;
  int rc;

  /* keygen: server takes a share; device reads the server's reply. */
  mk_rsap_server *s = NULL;
  json_t *reply = NULL;
  rc = mk_rsap_keygen_server(msg, &s, &reply, &e);
  check_rc(rc, &e, inval_auth);
  need((rc == 0) == (s != NULL && reply != NULL));
  if (rc == 0)
    need(mk_rsap_keygen_device_finish(dev, reply, &e) == 0 ||
         e.code == MK_EPROTO); /* its n is the input's, maybe not dev's */
  mk_rsap_server_free(s);
  mk_rsap_msg_free(reply);
  check_rc(mk_rsap_keygen_device_finish(dev, msg, &e), &e, inval_proto);

  /* sign: server half, then device finish of SHA-256("abc"). */
  json_t *resp = NULL;
  rc = mk_rsap_sign_server(srv, msg, &resp, &e);
  check_rc(rc, &e, inval_auth);
  need((rc == 0) == (resp != NULL));
  mk_rsap_msg_free(resp);

  unsigned char dg[32], sig[MK_RSAP_MAX_BYTES];
  size_t sig_len = 0;
  unsigned int dl = 0;
  need(EVP_Digest("abc", 3, dg, &dl, EVP_sha256(), NULL) == 1);
  mk_rsap_devop *op = NULL;
  json_t *req = NULL;
  need(mk_rsap_sign_device(dev, MK_RSAP_HASH_SHA256, dg, 32, &op, &req, &e) == 0);
  rc = mk_rsap_sign_device_finish(dev, op, msg, sig, sizeof sig, &sig_len, &e);
  check_rc(rc, &e, inval_proto);
  need(rc != 0 || sig_len == 256);
  mk_rsap_devop_free(op);
  mk_rsap_msg_free(req);

  /* decrypt: device answers msg as a challenge; server checks msg as a
   * request on a fresh operation; device finishes with msg as the result. */
  op = NULL;
  req = NULL;
  rc = mk_rsap_decrypt_device(dev, msg, ct, ct_len, &op, &req, &e);
  check_rc(rc, &e, inval);
  need((rc == 0) == (op != NULL && req != NULL));
  mk_rsap_devop_free(op);
  mk_rsap_msg_free(req);

  mk_rsap_srvop *sop = NULL;
  json_t *ch = NULL;
  need(mk_rsap_decrypt_challenge(srv, NOW, &sop, &ch, &e) == 0);
  resp = NULL;
  rc = mk_rsap_decrypt_server(srv, sop, NOW, msg, &resp, &e);
  check_rc(rc, &e, inval_auth);
  need((rc == 0) == (resp != NULL));
  mk_rsap_msg_free(resp);
  mk_rsap_msg_free(ch);
  mk_rsap_srvop_free(sop);

  unsigned char fixed[MK_RSAP_CHALLENGE_BYTES];
  char text[64];
  memset(fixed, 0x5a, sizeof fixed);
  need(mk_base64url_encode(fixed, sizeof fixed, text, sizeof text, NULL) == 43);
  ch = json_pack("{s:i, s:s, s:s, s:s, s:s}", "v", 1, "alg", "rsa2048", "op", "decrypt", "step",
                 "challenge", "challenge", text);
  need(ch != NULL);
  op = NULL;
  req = NULL;
  need(mk_rsap_decrypt_device(dev, ch, ct, ct_len, &op, &req, &e) == 0);
  unsigned char pt[MK_RSAP_PLAINTEXT_MAX];
  size_t pt_len = 0;
  rc = mk_rsap_decrypt_device_finish(dev, op, msg, pt, sizeof pt, &pt_len, &e);
  check_rc(rc, &e, decrypt_end);
  if (rc == MK_ECRYPTO)
    need(strcmp(e.msg, "decryption failed") == 0);
  mk_rsap_devop_free(op);
  mk_rsap_msg_free(req);
  mk_rsap_msg_free(ch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > FUZZ_MAX)
    return 0;
  if (dev == NULL)
    init();
  shares(data, size);
  json_t *msg = NULL;
  mk_err e;
  if (mk_json_parse(data, size, FUZZ_MAX, &msg, &e) == 0) {
    messages(msg);
    mk_rsap_msg_free(msg);
  }
  return 0;
}
