#include "crypto/tp.h"

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/msg.h"
#include "crypto/rsap.h"
#include "crypto/sm2p.h"
#include "util/bio.h"
#include "util/guard.h"
#include "util/json.h"

#define SM2_DEFAULT_ID "1234567812345678"

struct mk_tp_device {
  mk_tp_alg alg;
  mk_sm2p_device *sm2;
  mk_rsap_device *rsa;
};

struct mk_tp_server {
  mk_tp_alg alg;
  mk_sm2p_server *sm2;
  mk_rsap_server *rsa;
};

static int rsa_bits(mk_tp_alg alg) { return alg == MK_TP_RSA3072 ? 3072 : 2048; }

int mk_tp_alg_parse(const char *name, mk_tp_alg *out, mk_err *e) {
  if (name != NULL && strcmp(name, "sm2") == 0)
    *out = MK_TP_SM2;
  else if (name != NULL && strcmp(name, "rsa2048") == 0)
    *out = MK_TP_RSA2048;
  else if (name != NULL && strcmp(name, "rsa3072") == 0)
    *out = MK_TP_RSA3072;
  else
    return mk_err_set(e, MK_EINVAL, "unknown algorithm '%s' (sm2, rsa2048, rsa3072)",
                      name ? name : "");
  return 0;
}

const char *mk_tp_alg_name(mk_tp_alg alg) {
  switch (alg) {
  case MK_TP_SM2: return "sm2";
  case MK_TP_RSA2048: return "rsa2048";
  case MK_TP_RSA3072: return "rsa3072";
  }
  return "unknown";
}

mk_tp_alg mk_tp_device_alg(const mk_tp_device *d) { return d->alg; }
mk_tp_alg mk_tp_server_alg(const mk_tp_server *s) { return s->alg; }

void mk_tp_device_free(mk_tp_device *d) {
  if (d == NULL)
    return;
  mk_sm2p_device_free(d->sm2);
  mk_rsap_device_free(d->rsa);
  free(d);
}

void mk_tp_server_free(mk_tp_server *s) {
  if (s == NULL)
    return;
  mk_sm2p_server_free(s->sm2);
  mk_rsap_server_free(s->rsa);
  free(s);
}

/* ---- encodings: tag byte + the algorithm's own encoding ---- */

static int tag_ok(unsigned char t) { return t >= MK_TP_SM2 && t <= MK_TP_RSA3072; }

/* out = tag byte || inner; inner is wiped whatever happens. */
static int frame(mk_tp_alg alg, int rc, mk_buf *inner, mk_buf *out, mk_err *e) {
  unsigned char tag = (unsigned char)alg;
  mk_buf_init_secret(out, MK_TP_SHARE_MAX + 1);
  if (rc == 0)
    rc = mk_buf_append(out, &tag, 1, e);
  if (rc == 0)
    rc = mk_buf_append(out, inner->data, inner->len, e);
  mk_buf_free_secret(inner);
  if (rc < 0)
    mk_buf_free(out);
  return rc;
}

int mk_tp_device_encode(const mk_tp_device *d, mk_buf *out, mk_err *e) {
  mk_buf inner;
  mk_buf_init_secret(&inner, MK_TP_SHARE_MAX);
  int rc = d->alg == MK_TP_SM2 ? mk_sm2p_device_encode(d->sm2, &inner, e)
                               : mk_rsap_device_encode(d->rsa, &inner, e);
  return frame(d->alg, rc, &inner, out, e);
}

int mk_tp_server_encode(const mk_tp_server *s, mk_buf *out, mk_err *e) {
  mk_buf inner;
  mk_buf_init_secret(&inner, MK_TP_SHARE_MAX);
  int rc = s->alg == MK_TP_SM2 ? mk_sm2p_server_encode(s->sm2, &inner, e)
                               : mk_rsap_server_encode(s->rsa, &inner, e);
  return frame(s->alg, rc, &inner, out, e);
}

int mk_tp_device_decode(const unsigned char *in, size_t len, mk_tp_device **out, mk_err *e) {
  int rc = 0;
  mk_tp_device *d = NULL;
  MK_ENSURE(len >= 2 && len <= MK_TP_SHARE_MAX + 1 && tag_ok(in[0]), MK_EINVAL, e,
            "not a device share");
  d = calloc(1, sizeof *d);
  MK_ENSURE_ALLOC(d, e);
  d->alg = (mk_tp_alg)in[0];
  if (d->alg == MK_TP_SM2) {
    MK_TRY(mk_sm2p_device_decode(in + 1, len - 1, &d->sm2, e));
  } else {
    MK_TRY(mk_rsap_device_decode(in + 1, len - 1, &d->rsa, e));
    MK_ENSURE(mk_rsap_device_bits(d->rsa) == rsa_bits(d->alg), MK_EINVAL, e,
              "device share size does not match its algorithm");
  }
  *out = d;
  d = NULL;
out:
  mk_tp_device_free(d);
  return rc;
}

int mk_tp_server_decode(const unsigned char *in, size_t len, mk_tp_server **out, mk_err *e) {
  int rc = 0;
  mk_tp_server *s = NULL;
  MK_ENSURE(len >= 2 && len <= MK_TP_SHARE_MAX + 1 && tag_ok(in[0]), MK_EINVAL, e,
            "not a server share");
  s = calloc(1, sizeof *s);
  MK_ENSURE_ALLOC(s, e);
  s->alg = (mk_tp_alg)in[0];
  if (s->alg == MK_TP_SM2) {
    MK_TRY(mk_sm2p_server_decode(in + 1, len - 1, &s->sm2, e));
  } else {
    MK_TRY(mk_rsap_server_decode(in + 1, len - 1, &s->rsa, e));
    MK_ENSURE(mk_rsap_server_bits(s->rsa) == rsa_bits(s->alg), MK_EINVAL, e,
              "server share size does not match its algorithm");
  }
  *out = s;
  s = NULL;
out:
  mk_tp_server_free(s);
  return rc;
}

/* ---- public key ---- */

static int device_pkey(const mk_tp_device *d, EVP_PKEY **pk, mk_err *e) {
  return d->alg == MK_TP_SM2 ? mk_sm2p_device_public_key(d->sm2, pk, e)
                             : mk_rsap_device_public_key(d->rsa, pk, e);
}

int mk_tp_public_pem(const mk_tp_device *d, char **pem, mk_err *e) {
  int rc = 0;
  EVP_PKEY *pk = NULL;
  BIO *bio = NULL;
  MK_TRY(device_pkey(d, &pk, e));
  MK_TRY_PTR_OSSL(bio, BIO_new(BIO_s_mem()), e, "BIO_new");
  MK_TRY_OSSL(PEM_write_bio_PUBKEY(bio, pk), e, "writing the public key");
  MK_TRY(mk_bio_text(bio, 0, "the public key PEM", pem, e));
out:
  BIO_free(bio);
  EVP_PKEY_free(pk);
  return rc;
}

int mk_tp_same_key(const mk_tp_device *d, const mk_tp_server *s) {
  if (d->alg != s->alg)
    return 0;
  if (d->alg == MK_TP_SM2) {
    unsigned char a[MK_EC_POINT_LEN], b[MK_EC_POINT_LEN];
    mk_sm2p_device_public(d->sm2, a);
    mk_sm2p_server_public(s->sm2, b);
    return memcmp(a, b, sizeof a) == 0;
  }
  EVP_PKEY *pa = NULL, *pb = NULL;
  int same = 0;
  if (mk_rsap_device_public_key(d->rsa, &pa, NULL) == 0 &&
      mk_rsap_server_public_key(s->rsa, &pb, NULL) == 0)
    same = EVP_PKEY_eq(pa, pb) == 1;
  EVP_PKEY_free(pa);
  EVP_PKEY_free(pb);
  return same;
}

/* ---- the wire between the halves ---- */

/* Send msg across: serialise, drop it (wiping its strings), parse the text
 * back as the other side would receive it. */
static int relay(json_t *msg, json_t **out, mk_err *e) {
  int rc = 0;
  json_t *got = NULL;
  char *text = mk_json_dump(msg);
  mk_pmsg_free(msg);
  *out = NULL; /* out may be the variable that held msg */
  MK_ENSURE_ALLOC(text, e);
  MK_TRY(mk_json_parse_object(text, strlen(text), MK_TP_MSG_MAX, &got, e));
  *out = got;
out:
  if (text != NULL) {
    OPENSSL_cleanse(text, strlen(text));
    free(text);
  }
  return rc;
}

int mk_tp_loop_keygen(mk_tp_alg alg, mk_tp_device **dev, mk_tp_server **srv, mk_err *e) {
  int rc = 0;
  json_t *m = NULL, *r = NULL;
  mk_sm2p_devkeygen *st = NULL;
  mk_tp_device *d = calloc(1, sizeof *d);
  mk_tp_server *s = calloc(1, sizeof *s);
  MK_ENSURE(d != NULL && s != NULL, MK_ENOMEM, e, "out of memory");
  d->alg = s->alg = alg;
  if (alg == MK_TP_SM2) {
    MK_TRY(mk_sm2p_keygen_device_begin(&st, &m, e));
    MK_TRY(relay(m, &m, e));
    MK_TRY(mk_sm2p_keygen_server(m, &s->sm2, &r, e));
    MK_TRY(relay(r, &r, e));
    MK_TRY(mk_sm2p_keygen_device_finish(st, r, &d->sm2, e));
  } else {
    MK_TRY(mk_rsap_keygen_device(rsa_bits(alg), &d->rsa, &m, e));
    MK_TRY(relay(m, &m, e));
    MK_TRY(mk_rsap_keygen_server(m, &s->rsa, &r, e));
    MK_TRY(relay(r, &r, e));
    MK_TRY(mk_rsap_keygen_device_finish(d->rsa, r, e));
  }
  *dev = d;
  *srv = s;
  d = NULL;
  s = NULL;
out:
  mk_sm2p_devkeygen_free(st);
  mk_pmsg_free(m);
  mk_pmsg_free(r);
  mk_tp_device_free(d);
  mk_tp_server_free(s);
  return rc;
}

static int sm2_sign(const mk_tp_device *dev, const mk_tp_server *srv, const void *msg, size_t len,
                    int64_t now, unsigned char *sig, size_t *siglen, mk_err *e) {
  int rc = 0;
  json_t *m = NULL, *r = NULL;
  mk_sm2p_devop *dop = NULL;
  mk_sm2p_srvop *sop = NULL;
  MK_TRY(mk_sm2p_sign_device_begin(dev->sm2, (const unsigned char *)SM2_DEFAULT_ID,
                                   strlen(SM2_DEFAULT_ID), msg, len, &dop, &m, e));
  MK_TRY(relay(m, &m, e));
  MK_TRY(mk_sm2p_sign_server_begin(srv->sm2, m, now, &sop, &r, e));
  mk_pmsg_free(m);
  m = NULL;
  MK_TRY(relay(r, &r, e));
  MK_TRY(mk_sm2p_sign_device_respond(dev->sm2, dop, r, &m, e));
  mk_pmsg_free(r);
  r = NULL;
  MK_TRY(relay(m, &m, e));
  MK_TRY(mk_sm2p_sign_server_finish(srv->sm2, sop, m, now, &r, e));
  MK_TRY(relay(r, &r, e));
  MK_TRY(mk_sm2p_sign_device_finish(dev->sm2, dop, r, sig, MK_TP_SIG_MAX, siglen, e));
out:
  mk_pmsg_free(m);
  mk_pmsg_free(r);
  mk_sm2p_devop_free(dop);
  mk_sm2p_srvop_free(sop);
  return rc;
}

static int rsa_sign(const mk_tp_device *dev, const mk_tp_server *srv, const void *msg, size_t len,
                    unsigned char *sig, size_t *siglen, mk_err *e) {
  int rc = 0;
  json_t *m = NULL, *r = NULL;
  mk_rsap_devop *dop = NULL;
  unsigned char digest[32];
  unsigned int dlen = 0;
  MK_TRY_OSSL(EVP_Digest(msg, len, digest, &dlen, EVP_sha256(), NULL), e, "SHA-256");
  MK_TRY(mk_rsap_sign_device(dev->rsa, MK_RSAP_HASH_SHA256, digest, dlen, &dop, &m, e));
  MK_TRY(relay(m, &m, e));
  MK_TRY(mk_rsap_sign_server(srv->rsa, m, &r, e));
  MK_TRY(relay(r, &r, e));
  MK_TRY(mk_rsap_sign_device_finish(dev->rsa, dop, r, sig, MK_TP_SIG_MAX, siglen, e));
out:
  mk_pmsg_free(m);
  mk_pmsg_free(r);
  mk_rsap_devop_free(dop);
  return rc;
}

int mk_tp_loop_sign(const mk_tp_device *dev, const mk_tp_server *srv, const void *msg, size_t len,
                    int64_t now, unsigned char sig[MK_TP_SIG_MAX], size_t *siglen, mk_err *e) {
  if (!mk_tp_same_key(dev, srv))
    return mk_err_set(e, MK_EINVAL, "device and server shares are of different keys");
  return dev->alg == MK_TP_SM2 ? sm2_sign(dev, srv, msg, len, now, sig, siglen, e)
                               : rsa_sign(dev, srv, msg, len, sig, siglen, e);
}

int mk_tp_loop_decrypt(const mk_tp_device *dev, const mk_tp_server *srv, const unsigned char *ct,
                       size_t len, int64_t now, mk_buf *pt, mk_err *e) {
  int rc = 0;
  json_t *c = NULL, *m = NULL, *r = NULL;
  mk_sm2p_devop *sdop = NULL;
  mk_sm2p_srvop *ssop = NULL;
  mk_rsap_devop *rdop = NULL;
  mk_rsap_srvop *rsop = NULL;
  unsigned char *plain = NULL;
  size_t cap = len, n = 0;
  mk_buf_init_secret(pt, len);
  MK_ENSURE(mk_tp_same_key(dev, srv), MK_EINVAL, e,
            "device and server shares are of different keys");
  plain = malloc(cap ? cap : 1);
  MK_ENSURE_ALLOC(plain, e);
  if (dev->alg == MK_TP_SM2) {
    MK_TRY(mk_sm2p_decrypt_server_challenge(srv->sm2, now, &ssop, &c, e));
    MK_TRY(relay(c, &c, e));
    MK_TRY(mk_sm2p_decrypt_device_begin(dev->sm2, ct, len, c, &sdop, &m, e));
    MK_TRY(relay(m, &m, e));
    MK_TRY(mk_sm2p_decrypt_server_finish(srv->sm2, ssop, m, now, &r, e));
    MK_TRY(relay(r, &r, e));
    MK_TRY(mk_sm2p_decrypt_device_finish(dev->sm2, sdop, r, plain, cap, &n, e));
  } else {
    MK_TRY(mk_rsap_decrypt_challenge(srv->rsa, now, &rsop, &c, e));
    MK_TRY(relay(c, &c, e));
    MK_TRY(mk_rsap_decrypt_device(dev->rsa, c, ct, len, &rdop, &m, e));
    MK_TRY(relay(m, &m, e));
    MK_TRY(mk_rsap_decrypt_server(srv->rsa, rsop, now, m, &r, e));
    MK_TRY(relay(r, &r, e));
    MK_TRY(mk_rsap_decrypt_device_finish(dev->rsa, rdop, r, plain, cap, &n, e));
  }
  MK_TRY(mk_buf_append(pt, plain, n, e));
out:
  if (plain != NULL) {
    OPENSSL_cleanse(plain, cap);
    free(plain);
  }
  if (rc < 0)
    mk_buf_free(pt);
  mk_pmsg_free(c);
  mk_pmsg_free(m);
  mk_pmsg_free(r);
  mk_sm2p_devop_free(sdop);
  mk_sm2p_srvop_free(ssop);
  mk_rsap_devop_free(rdop);
  mk_rsap_srvop_free(rsop);
  return rc;
}
