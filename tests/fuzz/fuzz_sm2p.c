/*
 * Every decoder of two-party SM2 input, fed through the function that
 * receives it with real state: the JSON message of each protocol step, the
 * share encodings and the GM/T 0009 ciphertext DER. The first byte picks the
 * target (below), the rest is the input.
 *
 * The key is the GM/T 0003.5 example key split into fixed shares, the
 * ciphertext the standard's example, and randomness a deterministic stream
 * (mk_sm2p_insecure_set_test_rng) restarted for every input, so a valid
 * message in the corpus stays valid and reaches the end of its step.
 *
 * Contracts checked: a failure leaves every output NULL and a negative code
 * of the documented set in the error; whatever decodes re-encodes to the
 * same bytes; a finished decryption yields the standard's plaintext.
 *
 * MKEY_SM2P_WRITE_SEEDS=DIR makes the first call write the seed corpus
 * (valid messages of every step plus broken ones) into DIR.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/sm2p.h"
#include "util/enc.h"
#include "util/json.h"

#define T0 INT64_C(1767225600)
#define JSON_CAP 4096

enum target {
  KEYGEN_SERVER, /* "share"     -> mk_sm2p_keygen_server */
  KEYGEN_FINISH, /* "stored"    -> mk_sm2p_keygen_device_finish */
  SIGN_BEGIN,    /* "request"   -> mk_sm2p_sign_server_begin */
  SIGN_RESPOND,  /* "commit"    -> mk_sm2p_sign_device_respond */
  SIGN_FINISH,   /* "response"  -> mk_sm2p_sign_server_finish */
  SIGN_RESULT,   /* "result"    -> mk_sm2p_sign_device_finish */
  DEC_BEGIN,     /* "challenge" -> mk_sm2p_decrypt_device_begin */
  DEC_FINISH,    /* "request"   -> mk_sm2p_decrypt_server_finish */
  DEC_RESULT,    /* "result"    -> mk_sm2p_decrypt_device_finish */
  DEVICE_SHARE,  /* bytes       -> mk_sm2p_device_decode */
  SERVER_SHARE,  /* bytes       -> mk_sm2p_server_decode */
  CIPHERTEXT,    /* bytes       -> mk_sm2p_ct_decode */
  DEC_BEGIN_CT,  /* bytes       -> mk_sm2p_decrypt_device_begin's ciphertext */
  TARGETS
};

/* GM/T 0003.5 example key d = 3945208F..., split with d1 =
 * 0123456789abcdef... and d2 = ((1 + d) d1)^-1 (as in test_sm2p.c). */
static const char device_hex[] =
    "4d4b535501010123456789abcdeffedcba98765432100123456789abcdeffedcba9876543210"
    "0409f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020ccea490ce2"
    "6775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13";
static const char server_hex[] =
    "4d4b535301017cbb5cfe81bf7482f75cc3caa2d19cd70cb7b11a6dd2fb981707a930150c8c2a"
    "04307054eb0d9bf2932421d983e3a6a5b9fab0376a66367d91c2de8e3a9ab71a78ac0d800a90"
    "7fa0ed89be1bcd7a8bcd46f18dcb3889679081ace930836da56a190409f9df311e5421a150dd"
    "7d161e4bc5c672179fad1833fc076bb08ff356f35020ccea490ce26775a52dc6ea718cc1aa60"
    "0aed05fbf35e084a6632f6072da9ad13";
/* GM/T 0003.5 Appendix C: "encryption standard" under that key, as DER. */
static const char ct_hex[] =
    "307c022004ebfc718e8d1798620432268e77feb6415e2ede0e073c0f4f640ecd2e149a73"
    "022100e858f9d81e5430a57b36daab8f950a3c64e6ee6a63094d99283aff767e124df0"
    "042059983c18f809e262923c53aec295d30383b54e39d609d160afcb1908d0bd8766"
    "041321886ca989ca9c7d58087307ca93092d651efa";

static mk_sm2p_device *dev;
static mk_sm2p_server *srv;
static unsigned char dev_bytes[MK_SM2P_DEVICE_SHARE_LEN];
static unsigned char srv_bytes[MK_SM2P_SERVER_SHARE_LEN];
static unsigned char ct[126];

static unsigned rng_counter;

static int det_rng(void *ctx, const char *what, unsigned char out[32]) {
  (void)ctx;
  char in[64];
  int n = snprintf(in, sizeof in, "mkey fuzz sm2p|%s|%u", what, rng_counter++);
  return mk_sm3(in, (size_t)n, out, NULL) == 0;
}

static void unhex(const char *h, unsigned char *out, size_t n) {
  if (mk_hex_decode(h, strlen(h), out, n, NULL) != (int)n)
    abort();
}

static void setup(void) {
  if (dev != NULL)
    return;
  unhex(device_hex, dev_bytes, sizeof dev_bytes);
  unhex(server_hex, srv_bytes, sizeof srv_bytes);
  unhex(ct_hex, ct, sizeof ct);
  if (mk_sm2p_device_decode(dev_bytes, sizeof dev_bytes, &dev, NULL) != 0 ||
      mk_sm2p_server_decode(srv_bytes, sizeof srv_bytes, &srv, NULL) != 0)
    abort();
  mk_sm2p_insecure_set_test_rng(det_rng, NULL);
}

/* A failed call: outputs untouched-NULL, the error filled in, the code one
 * the API documents for input it did not like. */
static void check_failure(int rc, const mk_err *e, const void *out) {
  if (rc >= 0 || e->code != rc || out != NULL || e->msg[0] == '\0')
    abort();
  if (rc != MK_EINVAL && rc != MK_EAUTH && rc != MK_EEXPIRED && rc != MK_ECRYPTO &&
      rc != MK_EPROTO && rc != MK_ETOOBIG)
    abort();
}

static void must(int rc) {
  if (rc != 0)
    abort();
}

/* ---- the state each step needs, built the same way for the fuzzer and
 * the seed writer ---------------------------------------------------------- */

struct state {
  mk_sm2p_devkeygen *kg;
  mk_sm2p_devop *dop;
  mk_sm2p_srvop *sop;
  json_t *m1, *m2, *m3, *m4; /* messages made on the way */
};

static void state_free(struct state *s) {
  mk_sm2p_devkeygen_free(s->kg);
  mk_sm2p_devop_free(s->dop);
  mk_sm2p_srvop_free(s->sop);
  mk_sm2p_msg_free(s->m1);
  mk_sm2p_msg_free(s->m2);
  mk_sm2p_msg_free(s->m3);
  mk_sm2p_msg_free(s->m4);
  memset(s, 0, sizeof *s);
}

/* Make the state in which target t receives its message. */
static void prepare(enum target t, struct state *s) {
  memset(s, 0, sizeof *s);
  rng_counter = 0;
  switch (t) {
  case KEYGEN_FINISH:
    must(mk_sm2p_keygen_device_begin(&s->kg, &s->m1, NULL));
    break;
  case SIGN_RESPOND:
  case SIGN_FINISH:
  case SIGN_RESULT:
    must(mk_sm2p_sign_device_begin(dev, NULL, 0, "bid", 3, &s->dop, &s->m1, NULL));
    if (t == SIGN_RESPOND)
      break;
    must(mk_sm2p_sign_server_begin(srv, s->m1, T0, &s->sop, &s->m2, NULL));
    if (t == SIGN_FINISH)
      break;
    must(mk_sm2p_sign_device_respond(dev, s->dop, s->m2, &s->m3, NULL));
    break;
  case DEC_FINISH:
  case DEC_RESULT:
    must(mk_sm2p_decrypt_server_challenge(srv, T0, &s->sop, &s->m1, NULL));
    if (t == DEC_FINISH)
      break;
    must(mk_sm2p_decrypt_device_begin(dev, ct, sizeof ct, s->m1, &s->dop, &s->m2, NULL));
    break;
  case DEC_BEGIN:
  case DEC_BEGIN_CT:
    must(mk_sm2p_decrypt_server_challenge(srv, T0, &s->sop, &s->m1, NULL));
    break;
  default:
    break;
  }
}

static void fuzz_message(enum target t, const json_t *msg) {
  struct state s;
  mk_err e;
  json_t *out = NULL;
  mk_sm2p_server *sv = NULL;
  mk_sm2p_device *dv = NULL;
  mk_sm2p_srvop *sop = NULL;
  mk_sm2p_devop *dop = NULL;
  unsigned char buf[MK_SM2P_SIG_MAX];
  size_t len = 0;
  int rc;
  prepare(t, &s);
  mk_err_clear(&e);
  switch (t) {
  case KEYGEN_SERVER:
    rc = mk_sm2p_keygen_server(msg, &sv, &out, &e);
    if (rc != 0) {
      check_failure(rc, &e, sv);
      check_failure(rc, &e, out);
    } else {
      /* a server share that was made must survive its own encoding */
      mk_buf b;
      mk_sm2p_server *again = NULL;
      mk_buf_init(&b, 1024);
      must(mk_sm2p_server_encode(sv, &b, NULL));
      must(mk_sm2p_server_decode(b.data, b.len, &again, NULL));
      mk_sm2p_server_free(again);
      mk_buf_free_secret(&b);
    }
    break;
  case KEYGEN_FINISH:
    rc = mk_sm2p_keygen_device_finish(s.kg, msg, &dv, &e);
    if (rc != 0)
      check_failure(rc, &e, dv);
    break;
  case SIGN_BEGIN:
    rc = mk_sm2p_sign_server_begin(srv, msg, T0, &sop, &out, &e);
    if (rc != 0) {
      check_failure(rc, &e, sop);
      check_failure(rc, &e, out);
    }
    break;
  case SIGN_RESPOND:
    rc = mk_sm2p_sign_device_respond(dev, s.dop, msg, &out, &e);
    if (rc != 0)
      check_failure(rc, &e, out);
    mk_sm2p_msg_free(out);
    out = NULL;
    /* one answer per nonce, whatever the first answer was */
    if (mk_sm2p_sign_device_respond(dev, s.dop, msg, &out, &e) == 0 || out != NULL)
      abort();
    break;
  case SIGN_FINISH:
    rc = mk_sm2p_sign_server_finish(srv, s.sop, msg, T0 + 1, &out, &e);
    if (rc != 0)
      check_failure(rc, &e, out);
    mk_sm2p_msg_free(out);
    out = NULL;
    if (mk_sm2p_sign_server_finish(srv, s.sop, msg, T0 + 1, &out, &e) != MK_EEXPIRED)
      abort();
    break;
  case SIGN_RESULT:
    rc = mk_sm2p_sign_device_finish(dev, s.dop, msg, buf, sizeof buf, &len, &e);
    if (rc != 0)
      check_failure(rc, &e, NULL);
    else if (len < 8 || len > MK_SM2P_SIG_MAX)
      abort();
    break;
  case DEC_BEGIN:
    rc = mk_sm2p_decrypt_device_begin(dev, ct, sizeof ct, msg, &dop, &out, &e);
    if (rc != 0) {
      check_failure(rc, &e, dop);
      check_failure(rc, &e, out);
    }
    break;
  case DEC_FINISH:
    rc = mk_sm2p_decrypt_server_finish(srv, s.sop, msg, T0 + 1, &out, &e);
    if (rc != 0)
      check_failure(rc, &e, out);
    break;
  case DEC_RESULT: {
    unsigned char pt[32];
    memset(pt, 0x5A, sizeof pt);
    rc = mk_sm2p_decrypt_device_finish(dev, s.dop, msg, pt, sizeof pt, &len, &e);
    if (rc != 0) {
      check_failure(rc, &e, NULL);
      /* no partial plaintext is left behind */
      for (size_t i = 0; i < 19; i++)
        if (pt[i] != 0 && pt[i] != 0x5A)
          abort();
    } else if (len != 19 || memcmp(pt, "encryption standard", 19) != 0) {
      abort();
    }
    break;
  }
  default:
    abort();
  }
  mk_sm2p_msg_free(out);
  mk_sm2p_server_free(sv);
  mk_sm2p_device_free(dv);
  mk_sm2p_srvop_free(sop);
  mk_sm2p_devop_free(dop);
  state_free(&s);
}

static void fuzz_bytes(enum target t, const uint8_t *p, size_t n) {
  mk_err e;
  mk_buf b;
  int rc;
  mk_err_clear(&e);
  mk_buf_init(&b, MK_SM2P_CT_MAX + 16);
  switch (t) {
  case DEVICE_SHARE: {
    mk_sm2p_device *d = NULL;
    rc = mk_sm2p_device_decode(p, n, &d, &e);
    if (rc != 0) {
      check_failure(rc, &e, d);
      break;
    }
    must(mk_sm2p_device_encode(d, &b, NULL));
    if (b.len != n || memcmp(b.data, p, n) != 0)
      abort();
    mk_sm2p_device_free(d);
    break;
  }
  case SERVER_SHARE: {
    mk_sm2p_server *s = NULL;
    rc = mk_sm2p_server_decode(p, n, &s, &e);
    if (rc != 0) {
      check_failure(rc, &e, s);
      break;
    }
    must(mk_sm2p_server_encode(s, &b, NULL));
    if (b.len != n || memcmp(b.data, p, n) != 0)
      abort();
    mk_sm2p_server_free(s);
    break;
  }
  case CIPHERTEXT: {
    mk_sm2p_ct c;
    rc = mk_sm2p_ct_decode(p, n, &c, &e);
    if (rc != 0) {
      check_failure(rc, &e, c.c2);
      break;
    }
    if (c.c2 < p || c.c2 + c.c2_len != p + n || c.c2_len == 0)
      abort();
    must(mk_sm2p_ct_encode(&c, &b, NULL));
    if (b.len != n || memcmp(b.data, p, n) != 0)
      abort();
    break;
  }
  case DEC_BEGIN_CT: {
    struct state s;
    mk_sm2p_devop *dop = NULL;
    json_t *out = NULL;
    prepare(t, &s);
    rc = mk_sm2p_decrypt_device_begin(dev, p, n, s.m1, &dop, &out, &e);
    if (rc != 0) {
      check_failure(rc, &e, dop);
      check_failure(rc, &e, out);
    } else if (mk_sm2p_decrypt_plaintext_len(dop) == 0) {
      abort();
    }
    mk_sm2p_devop_free(dop);
    mk_sm2p_msg_free(out);
    state_free(&s);
    break;
  }
  default:
    abort();
  }
  mk_buf_free_secret(&b);
}

/* ---- seed corpus -------------------------------------------------------- */

static void write_seed(const char *dir, const char *name, enum target t, const void *p,
                       size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL)
    abort();
  unsigned char tag = (unsigned char)t;
  if (fwrite(&tag, 1, 1, f) != 1 || (n > 0 && fwrite(p, 1, n, f) != n) || fclose(f) != 0)
    abort();
}

static void write_msg(const char *dir, const char *name, enum target t, const json_t *m) {
  char *text = mk_json_dump(m);
  if (text == NULL)
    abort();
  write_seed(dir, name, t, text, strlen(text));
  free(text);
}

/* The same message with one field replaced (value NULL: removed). */
static void write_variant(const char *dir, const char *name, enum target t, const json_t *m,
                          const char *key, json_t *value) {
  json_t *c = json_deep_copy(m);
  if (value == NULL)
    json_object_del(c, key);
  else
    json_object_set_new(c, key, value);
  write_msg(dir, name, t, c);
  json_decref(c);
}

static json_t *b64(const unsigned char *p, size_t n) {
  char text[128];
  int len = mk_base64url_encode(p, n, text, sizeof text, NULL);
  if (len < 0)
    abort();
  return json_stringn(text, (size_t)len);
}

static void write_seeds(const char *dir) {
  struct state s;
  json_t *m = NULL;
  mk_sm2p_server *sv = NULL;
  unsigned char zero[32] = {0}, off[65];

  /* keygen */
  prepare(KEYGEN_FINISH, &s);
  write_msg(dir, "keygen_share", KEYGEN_SERVER, s.m1);
  write_variant(dir, "keygen_share_v2", KEYGEN_SERVER, s.m1, "v", json_integer(2));
  write_variant(dir, "keygen_share_extra", KEYGEN_SERVER, s.m1, "d2", json_string("AA"));
  must(mk_sm2p_keygen_server(s.m1, &sv, &m, NULL));
  write_msg(dir, "keygen_stored", KEYGEN_FINISH, m);
  write_variant(dir, "keygen_stored_no_p", KEYGEN_FINISH, m, "p", NULL);
  /* the earlier format, P alone: refused */
  write_variant(dir, "keygen_stored_no_proof", KEYGEN_FINISH, m, "proof_r", NULL);
  /* a well-formed proof that does not check: MK_EPROTO */
  write_variant(dir, "keygen_stored_bad_proof", KEYGEN_FINISH, m, "proof_z",
                b64(dev_bytes + 6, 32));
  write_variant(dir, "keygen_stored_other_p", KEYGEN_FINISH, m, "p", b64(dev_bytes + 38, 65));
  mk_sm2p_server_free(sv);
  mk_sm2p_msg_free(m);
  state_free(&s);

  /* sign */
  prepare(SIGN_RESPOND, &s);
  write_msg(dir, "sign_request", SIGN_BEGIN, s.m1);
  write_variant(dir, "sign_request_alg", SIGN_BEGIN, s.m1, "alg", json_string("rsa2048"));
  write_variant(dir, "sign_request_short_e", SIGN_BEGIN, s.m1, "e", b64(zero, 31));
  memcpy(off, dev_bytes + 38, 65);
  off[64] ^= 1;
  /* the earlier format sent Q1 with e: an unknown field now */
  write_variant(dir, "sign_request_q1", SIGN_BEGIN, s.m1, "q1", b64(dev_bytes + 38, 65));
  state_free(&s);
  prepare(SIGN_FINISH, &s);
  write_msg(dir, "sign_commit", SIGN_RESPOND, s.m2);
  write_variant(dir, "sign_commit_off_curve", SIGN_RESPOND, s.m2, "q2", b64(off, 65));
  write_variant(dir, "sign_commit_r", SIGN_RESPOND, s.m2, "r", b64(dev_bytes + 6, 32));
  state_free(&s);
  prepare(SIGN_RESULT, &s);
  write_msg(dir, "sign_response", SIGN_FINISH, s.m3);
  write_variant(dir, "sign_response_s1_0", SIGN_FINISH, s.m3, "s1", b64(zero, 32));
  write_variant(dir, "sign_response_step", SIGN_FINISH, s.m3, "step", json_string("result"));
  /* a wrong s1 in range: the device share check */
  write_variant(dir, "sign_response_wrong_s1", SIGN_FINISH, s.m3, "s1", b64(dev_bytes + 6, 32));
  /* another valid Q1: r changes, so the share check fails */
  write_variant(dir, "sign_response_other_q1", SIGN_FINISH, s.m3, "q1", b64(dev_bytes + 38, 65));
  write_variant(dir, "sign_response_q1_off_curve", SIGN_FINISH, s.m3, "q1", b64(off, 65));
  must(mk_sm2p_sign_server_finish(srv, s.sop, s.m3, T0 + 1, &m, NULL));
  write_msg(dir, "sign_result", SIGN_RESULT, m);
  write_variant(dir, "sign_result_garbage", SIGN_RESULT, m, "sig", b64(zero, 8));
  mk_sm2p_msg_free(m);
  state_free(&s);

  /* decrypt */
  prepare(DEC_BEGIN, &s);
  write_msg(dir, "decrypt_challenge", DEC_BEGIN, s.m1);
  write_variant(dir, "decrypt_challenge_padded", DEC_BEGIN, s.m1, "challenge",
                json_string("AAAA="));
  state_free(&s);
  prepare(DEC_RESULT, &s);
  write_msg(dir, "decrypt_request", DEC_FINISH, s.m2);
  write_variant(dir, "decrypt_request_bad_proof", DEC_FINISH, s.m2, "proof_z",
                b64(dev_bytes + 6, 32));
  write_variant(dir, "decrypt_request_t1_off_curve", DEC_FINISH, s.m2, "t1", b64(off, 65));
  must(mk_sm2p_decrypt_server_finish(srv, s.sop, s.m2, T0 + 1, &m, NULL));
  write_msg(dir, "decrypt_result", DEC_RESULT, m);
  write_variant(dir, "decrypt_result_wrong_t2", DEC_RESULT, m, "t2", b64(dev_bytes + 38, 65));
  mk_sm2p_msg_free(m);
  state_free(&s);

  /* bytes */
  write_seed(dir, "device_share", DEVICE_SHARE, dev_bytes, sizeof dev_bytes);
  write_seed(dir, "device_share_short", DEVICE_SHARE, dev_bytes, sizeof dev_bytes - 1);
  write_seed(dir, "server_share", SERVER_SHARE, srv_bytes, sizeof srv_bytes);
  unsigned char t[sizeof srv_bytes];
  memcpy(t, srv_bytes, sizeof t);
  t[6 + 31] ^= 1;
  write_seed(dir, "server_share_tampered", SERVER_SHARE, t, sizeof t);
  write_seed(dir, "ciphertext", CIPHERTEXT, ct, sizeof ct);
  write_seed(dir, "ciphertext_truncated", CIPHERTEXT, ct, sizeof ct - 1);
  unsigned char c[sizeof ct];
  memcpy(c, ct, sizeof c);
  c[1] = 0x80; /* BER indefinite length */
  write_seed(dir, "ciphertext_indefinite", CIPHERTEXT, c, sizeof c);
  write_seed(dir, "decrypt_ciphertext", DEC_BEGIN_CT, ct, sizeof ct);
  memcpy(c, ct, sizeof c);
  c[4 + 31] ^= 1; /* C1 off the curve */
  write_seed(dir, "decrypt_ciphertext_c1_off_curve", DEC_BEGIN_CT, c, sizeof c);
  write_seed(dir, "json_truncated", SIGN_BEGIN, "{\"v\":1,", 7);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int seeded;
  setup();
  if (!seeded) {
    seeded = 1;
    const char *dir = getenv("MKEY_SM2P_WRITE_SEEDS");
    if (dir != NULL)
      write_seeds(dir);
  }
  if (size < 1 || data[0] >= TARGETS)
    return 0;
  enum target t = (enum target)data[0];
  if (t >= DEVICE_SHARE) {
    fuzz_bytes(t, data + 1, size - 1);
    return 0;
  }
  json_t *msg = NULL;
  mk_err e;
  if (mk_json_parse_object(data + 1, size - 1, JSON_CAP, &msg, &e) != 0)
    return 0;
  fuzz_message(t, msg);
  mk_sm2p_msg_free(msg);
  return 0;
}
