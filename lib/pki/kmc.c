#include "pki/kmc.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rsap.h"
#include "crypto/sm2p.h"
#include "util/guard.h"

static const unsigned char escrow_magic[4] = {'M', 'K', 'E', 'S'};
static const unsigned char package_magic[4] = {'M', 'K', 'D', 'L'};
#define VERSION 1
#define TRANSPORT_SM2 1
#define TRANSPORT_RSA_OAEP 2
#define SPKI_MAX 1024
#define PKCS8_MAX 2048
#define EK_MAX 1024 /* RSA-4096 OAEP output is 512 bytes; SM2 of 32 bytes ~140 */
#define CEK_LEN 32
#define LABEL_MAX 128

/* ---- small helpers ---- */

static int key_id_ok(const char *id, mk_err *e) {
  size_t n = id ? strlen(id) : 0;
  if (n == 0 || n > MK_PKI_KMC_KEY_ID_MAX)
    return mk_err_set(e, MK_EINVAL, "key id must have 1 to %d characters", MK_PKI_KMC_KEY_ID_MAX);
  for (size_t i = 0; i < n; i++) {
    char c = id[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '-' || c == '.'))
      return mk_err_set(e, MK_EINVAL, "key id may hold only letters, digits, '_', '-', '.'");
  }
  return 0;
}

static void put16(unsigned char *p, size_t v) {
  p[0] = (unsigned char)(v >> 8);
  p[1] = (unsigned char)v;
}

static size_t get16(const unsigned char *p) { return ((size_t)p[0] << 8) | p[1]; }

/* A strict reader over one record. */
typedef struct rd {
  const unsigned char *p;
  size_t left;
} rd;

static const unsigned char *take(rd *r, size_t n) {
  if (r->left < n)
    return NULL;
  const unsigned char *q = r->p;
  r->p += n;
  r->left -= n;
  return q;
}

/* Length-prefixed (16-bit) field of 1..max bytes. */
static const unsigned char *take16(rd *r, size_t max, size_t *n) {
  const unsigned char *h = take(r, 2);
  if (h == NULL)
    return NULL;
  *n = get16(h);
  if (*n == 0 || *n > max)
    return NULL;
  return take(r, *n);
}

/* Key id field: one length byte, then the id, copied NUL-terminated. */
static int take_key_id(rd *r, char id[MK_PKI_KMC_KEY_ID_MAX + 1]) {
  const unsigned char *h = take(r, 1);
  if (h == NULL || h[0] == 0 || h[0] > MK_PKI_KMC_KEY_ID_MAX)
    return -1;
  const unsigned char *s = take(r, h[0]);
  if (s == NULL)
    return -1;
  memcpy(id, s, h[0]);
  id[h[0]] = '\0';
  return key_id_ok(id, NULL) == 0 && strlen(id) == h[0] ? 0 : -1;
}

static int spki_der(const EVP_PKEY *pk, mk_buf *out, mk_err *e) {
  int rc = 0;
  unsigned char *der = NULL;
  int n = i2d_PUBKEY((EVP_PKEY *)pk, &der);
  MK_ENSURE(n > 0 && n <= SPKI_MAX, MK_ECRYPTO, e, "cannot encode the public key");
  MK_TRY(mk_buf_append(out, der, (size_t)n, e));
out:
  OPENSSL_free(der);
  return rc;
}

static int key_type_of(const EVP_PKEY *pk, mk_pki_keytype *t) {
  if (EVP_PKEY_is_a(pk, "SM2")) {
    *t = MK_PKI_SM2;
    return 0;
  }
  if (EVP_PKEY_is_a(pk, "RSA") && EVP_PKEY_get_bits(pk) == MK_PKI_KMC_RSA_BITS) {
    *t = MK_PKI_RSA;
    return 0;
  }
  return -1;
}

/* ---- escrow record ---- */

typedef struct escrow_view {
  mk_pki_keytype type;
  char key_id[MK_PKI_KMC_KEY_ID_MAX + 1];
  const unsigned char *spki;
  size_t spki_len;
  const unsigned char *wrapped;
  size_t wrapped_len;
} escrow_view;

/* MKES | 1 | type | id_len | id | spki_len(2) | spki | wrapped_len(2) | MKWR blob */
static int escrow_parse(const unsigned char *in, size_t len, escrow_view *v, mk_err *e) {
  int rc = 0;
  rd r = {in, len};
  const unsigned char *h;
  memset(v, 0, sizeof *v);
  MK_ENSURE(in != NULL && len <= MK_PKI_KMC_ESCROW_MAX, MK_EINVAL, e, "not an escrow record");
  h = take(&r, 6);
  MK_ENSURE(h != NULL && memcmp(h, escrow_magic, 4) == 0, MK_EINVAL, e, "not an escrow record");
  MK_ENSURE(h[4] == VERSION, MK_EINVAL, e, "escrow record version %u is not supported", h[4]);
  MK_ENSURE(h[5] == MK_PKI_SM2 || h[5] == MK_PKI_RSA, MK_EINVAL, e,
            "escrow record names an unknown key type");
  v->type = (mk_pki_keytype)h[5];
  MK_ENSURE(take_key_id(&r, v->key_id) == 0, MK_EINVAL, e, "escrow record: bad key id");
  v->spki = take16(&r, SPKI_MAX, &v->spki_len);
  MK_ENSURE(v->spki != NULL, MK_EINVAL, e, "escrow record: bad public key field");
  v->wrapped = take16(&r, MK_PKI_KMC_ESCROW_MAX, &v->wrapped_len);
  MK_ENSURE(v->wrapped != NULL, MK_EINVAL, e, "escrow record: bad wrapped key field");
  MK_ENSURE(r.left == 0, MK_EINVAL, e, "escrow record: trailing bytes");
out:
  return rc;
}

static int spki_parse(const unsigned char *der, size_t len, mk_pki_keytype type, EVP_PKEY **out,
                      mk_err *e) {
  int rc = 0;
  const unsigned char *p = der;
  mk_pki_keytype t;
  EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)len);
  if (pk == NULL) {
    rc = mk_err_ossl(e, MK_EINVAL, "escrow record: public key");
    goto out;
  }
  MK_ENSURE(p == der + len, MK_EINVAL, e, "escrow record: bytes after the public key");
  MK_ENSURE(key_type_of(pk, &t) == 0 && t == type, MK_EINVAL, e,
            "escrow record: public key is not of the type it names");
  *out = pk;
  pk = NULL;
out:
  EVP_PKEY_free(pk);
  return rc;
}

int mk_pki_kmc_escrow_info(const unsigned char *escrow, size_t len, mk_pki_keytype *type,
                           char key_id[MK_PKI_KMC_KEY_ID_MAX + 1], EVP_PKEY **pub, mk_err *e) {
  int rc = 0;
  escrow_view v;
  EVP_PKEY *pk = NULL;
  MK_TRY(escrow_parse(escrow, len, &v, e));
  MK_TRY(spki_parse(v.spki, v.spki_len, v.type, &pk, e));
  *type = v.type;
  memcpy(key_id, v.key_id, sizeof v.key_id);
  if (pub != NULL) {
    *pub = pk;
    pk = NULL;
  }
out:
  EVP_PKEY_free(pk);
  return rc;
}

static void escrow_label(char *out, size_t cap, const char *key_id) {
  snprintf(out, cap, "mkey escrow %s", key_id);
}

int mk_pki_kmc_generate(mk_pki_keytype type, mk_kek *kmc_kek, const char *key_id,
                        unsigned char **escrow, size_t *escrow_len, EVP_PKEY **pub, mk_err *e) {
  int rc = 0;
  EVP_PKEY *pk = NULL, *pubk = NULL;
  PKCS8_PRIV_KEY_INFO *p8 = NULL;
  unsigned char *der = NULL;
  int der_len = 0;
  mk_buf spki, wrapped, rec;
  char label[LABEL_MAX];
  unsigned char hdr[7];
  unsigned char len2[2];
  mk_buf_init(&spki, SPKI_MAX);
  mk_buf_init(&wrapped, MK_PKI_KMC_ESCROW_MAX);
  mk_buf_init(&rec, MK_PKI_KMC_ESCROW_MAX);
  *escrow = NULL;
  *escrow_len = 0;
  *pub = NULL;
  MK_TRY(key_id_ok(key_id, e));
  MK_ENSURE(type == MK_PKI_SM2 || type == MK_PKI_RSA, MK_EINVAL, e,
            "encryption keys are SM2 or RSA");
  if (type == MK_PKI_SM2)
    MK_TRY_PTR_OSSL(pk, EVP_PKEY_Q_keygen(NULL, NULL, "SM2"), e, "generating the SM2 key");
  else
    MK_TRY_PTR_OSSL(pk, EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)MK_PKI_KMC_RSA_BITS), e,
                    "generating the RSA key");

  MK_TRY_PTR_OSSL(p8, EVP_PKEY2PKCS8(pk), e, "encoding the private key");
  der_len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
  MK_ENSURE(der_len > 0 && der_len <= PKCS8_MAX, MK_ECRYPTO, e, "encoding the private key");
  escrow_label(label, sizeof label, key_id);
  MK_TRY(mk_kek_wrap(kmc_kek, label, der, (size_t)der_len, &wrapped, e));
  MK_TRY(spki_der(pk, &spki, e));

  memcpy(hdr, escrow_magic, 4);
  hdr[4] = VERSION;
  hdr[5] = (unsigned char)type;
  hdr[6] = (unsigned char)strlen(key_id);
  MK_TRY(mk_buf_append(&rec, hdr, sizeof hdr, e));
  MK_TRY(mk_buf_append_str(&rec, key_id, e));
  put16(len2, spki.len);
  MK_TRY(mk_buf_append(&rec, len2, 2, e));
  MK_TRY(mk_buf_append(&rec, spki.data, spki.len, e));
  put16(len2, wrapped.len);
  MK_TRY(mk_buf_append(&rec, len2, 2, e));
  MK_TRY(mk_buf_append(&rec, wrapped.data, wrapped.len, e));

  MK_TRY(spki_parse(spki.data, spki.len, type, &pubk, e));
  *escrow = mk_buf_detach(&rec, escrow_len);
  MK_ENSURE_ALLOC(*escrow, e);
  *pub = pubk;
  pubk = NULL;
out:
  if (der != NULL) {
    OPENSSL_cleanse(der, (size_t)der_len);
    OPENSSL_free(der);
  }
  PKCS8_PRIV_KEY_INFO_free(p8);
  EVP_PKEY_free(pk);
  EVP_PKEY_free(pubk);
  mk_buf_free(&spki);
  mk_buf_free(&wrapped);
  mk_buf_free(&rec);
  return rc;
}

void mk_pki_kmc_destroy(unsigned char *buf, size_t len) {
  if (buf == NULL)
    return;
  OPENSSL_cleanse(buf, len);
  free(buf);
}

/* ---- splitting ---- */

/* The escrowed private key of v, checked against the record's public key. */
static int escrow_open(const escrow_view *v, mk_kek *kmc_kek, EVP_PKEY **out, mk_err *e) {
  int rc = 0;
  mk_buf plain;
  char label[LABEL_MAX];
  PKCS8_PRIV_KEY_INFO *p8 = NULL;
  EVP_PKEY *pk = NULL, *pub = NULL;
  mk_pki_keytype t;
  mk_buf_init_secret(&plain, PKCS8_MAX);
  escrow_label(label, sizeof label, v->key_id);
  /* MKWR: the KEK id at bytes 6..14 tells another KMC key from damage */
  MK_ENSURE(v->wrapped_len >= 6 + MK_KEK_ID_LEN, MK_EINVAL, e,
            "escrow record: wrapped key too short");
  MK_ENSURE(CRYPTO_memcmp(v->wrapped + 6, kmc_kek->id, MK_KEK_ID_LEN) == 0, MK_ECRYPTO, e,
            "escrow record was wrapped by another KMC key");
  rc = mk_kek_unwrap(kmc_kek, label, v->wrapped, v->wrapped_len, &plain, e);
  if (rc == MK_ECRYPTO)
    mk_err_set(e, rc, "escrowed key is damaged or belongs to another key id");
  else if (rc < 0)
    mk_err_wrap(e, "escrow record");
  if (rc < 0)
    goto out;
  const unsigned char *p = plain.data;
  p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)plain.len);
  if (p8 == NULL) {
    rc = mk_err_ossl(e, MK_ECRYPTO, "escrowed key does not decode");
    goto out;
  }
  MK_ENSURE(p == plain.data + plain.len, MK_ECRYPTO, e, "escrowed key: trailing bytes");
  MK_TRY_PTR_OSSL(pk, EVP_PKCS82PKEY(p8), e, "escrowed key");
  MK_ENSURE(key_type_of(pk, &t) == 0 && t == v->type, MK_ECRYPTO, e,
            "escrowed key is not of the type its record names");
  MK_TRY(spki_parse(v->spki, v->spki_len, v->type, &pub, e));
  MK_ENSURE(EVP_PKEY_eq(pk, pub) == 1, MK_ECRYPTO, e,
            "escrowed key does not match the record's public key");
  *out = pk;
  pk = NULL;
out:
  PKCS8_PRIV_KEY_INFO_free(p8);
  EVP_PKEY_free(pk);
  EVP_PKEY_free(pub);
  mk_buf_free_secret(&plain);
  return rc;
}

/* tp encodings (crypto/tp.h): the algorithm tag byte, then the share. */
static int split(EVP_PKEY *pk, mk_pki_keytype type, mk_tp_alg *alg, mk_buf *dev_enc,
                 mk_buf *srv_enc, mk_err *e) {
  int rc = 0;
  BIGNUM *d = NULL;
  mk_rsap_device *rd_ = NULL;
  mk_rsap_server *rs_ = NULL;
  mk_sm2p_device *sd = NULL;
  mk_sm2p_server *ss = NULL;
  unsigned char tag;
  if (type == MK_PKI_SM2) {
    *alg = MK_TP_SM2;
    tag = (unsigned char)*alg;
    MK_TRY_OSSL(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &d), e, "escrowed SM2 key");
    BN_set_flags(d, BN_FLG_CONSTTIME);
    MK_TRY(mk_sm2p_split_existing(d, &sd, &ss, e));
    MK_TRY(mk_buf_append(dev_enc, &tag, 1, e));
    MK_TRY(mk_sm2p_device_encode(sd, dev_enc, e));
    MK_TRY(mk_buf_append(srv_enc, &tag, 1, e));
    MK_TRY(mk_sm2p_server_encode(ss, srv_enc, e));
  } else {
    *alg = MK_TP_RSA2048;
    tag = (unsigned char)*alg;
    MK_TRY(mk_rsap_split(pk, 0, &rd_, &rs_, e));
    MK_TRY(mk_buf_append(dev_enc, &tag, 1, e));
    MK_TRY(mk_rsap_device_encode(rd_, dev_enc, e));
    MK_TRY(mk_buf_append(srv_enc, &tag, 1, e));
    MK_TRY(mk_rsap_server_encode(rs_, srv_enc, e));
  }
out:
  BN_clear_free(d);
  mk_sm2p_device_free(sd);
  mk_sm2p_server_free(ss);
  mk_rsap_device_free(rd_);
  mk_rsap_server_free(rs_);
  return rc;
}

/* ---- device package ---- */

static int transport_kind(const EVP_PKEY *pk, int *kind, mk_err *e) {
  if (EVP_PKEY_is_a(pk, "SM2")) {
    *kind = TRANSPORT_SM2;
    return 0;
  }
  if (EVP_PKEY_is_a(pk, "RSA")) {
    int bits = EVP_PKEY_get_bits(pk);
    if (bits < MK_PKI_KMC_TRANSPORT_RSA_MIN || bits > MK_PKI_KMC_TRANSPORT_RSA_MAX)
      return mk_err_set(e, MK_EINVAL, "device transport key: RSA of %d bits (%d to %d)", bits,
                        MK_PKI_KMC_TRANSPORT_RSA_MIN, MK_PKI_KMC_TRANSPORT_RSA_MAX);
    *kind = TRANSPORT_RSA_OAEP;
    return 0;
  }
  return mk_err_set(e, MK_EINVAL, "device transport key must be SM2 or RSA");
}

static int oaep_params(EVP_PKEY_CTX *c) {
  return EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) > 0 &&
                 EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) > 0 &&
                 EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()) > 0
             ? 1
             : 0;
}

/* Encrypt the content key to the transport key: SM2 encryption (GM/T 0003.4,
 * SM3) or RSA-OAEP with SHA-256 and MGF1-SHA-256 (RFC 8017 §7.1). */
static int ek_seal(EVP_PKEY *pub, int kind, const unsigned char cek[CEK_LEN], mk_buf *out,
                   mk_err *e) {
  int rc = 0;
  EVP_PKEY_CTX *c = NULL;
  unsigned char ek[EK_MAX];
  size_t n = sizeof ek;
  MK_TRY_PTR_OSSL(c, EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL), e, "transport key");
  MK_TRY_OSSL(EVP_PKEY_encrypt_init(c), e, "encrypting to the transport key");
  if (kind == TRANSPORT_RSA_OAEP)
    MK_TRY_OSSL(oaep_params(c), e, "RSA-OAEP parameters");
  MK_TRY_OSSL(EVP_PKEY_encrypt(c, NULL, &n, cek, CEK_LEN), e, "encrypting to the transport key");
  MK_ENSURE(n <= sizeof ek, MK_ETOOBIG, e, "transport key too large");
  MK_TRY_OSSL(EVP_PKEY_encrypt(c, ek, &n, cek, CEK_LEN), e, "encrypting to the transport key");
  MK_ENSURE(n > 0 && n <= EK_MAX, MK_ECRYPTO, e, "encrypting to the transport key");
  unsigned char len2[2];
  put16(len2, n);
  MK_TRY(mk_buf_append(out, len2, 2, e));
  MK_TRY(mk_buf_append(out, ek, n, e));
out:
  EVP_PKEY_CTX_free(c);
  return rc;
}

static int ek_open(EVP_PKEY *priv, int kind, const unsigned char *ek, size_t n,
                   unsigned char cek[CEK_LEN], mk_err *e) {
  int rc = 0;
  EVP_PKEY_CTX *c = NULL;
  unsigned char pt[EK_MAX];
  size_t ptlen = sizeof pt;
  int ok;
  MK_TRY_PTR_OSSL(c, EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL), e, "transport key");
  MK_TRY_OSSL(EVP_PKEY_decrypt_init(c), e, "decrypting with the transport key");
  if (kind == TRANSPORT_RSA_OAEP)
    MK_TRY_OSSL(oaep_params(c), e, "RSA-OAEP parameters");
  ok = EVP_PKEY_decrypt(c, pt, &ptlen, ek, n) == 1 && ptlen == CEK_LEN;
  if (!ok) {
    ERR_clear_error();
    MK_FAIL(MK_ECRYPTO, e, "delivery package is not for this device key");
  }
  memcpy(cek, pt, CEK_LEN);
out:
  OPENSSL_cleanse(pt, sizeof pt);
  EVP_PKEY_CTX_free(c);
  return rc;
}

/* MKDL | 1 | transport | id_len | id | ek_len(2) | ek | nonce(12) ct tag(16)
 * AAD of the GCM seal: every byte before the nonce (so the key id). */
static int package_make(EVP_PKEY *pub, const char *key_id, const mk_buf *share, mk_buf *out,
                        mk_err *e) {
  int rc = 0;
  int kind = 0;
  unsigned char cek[CEK_LEN];
  unsigned char hdr[7];
  unsigned char *sealed = NULL;
  size_t sealed_len = share->len + MK_GCM_NONCE_LEN + MK_GCM_TAG_LEN;
  MK_TRY(transport_kind(pub, &kind, e));
  MK_TRY_OSSL(RAND_priv_bytes(cek, sizeof cek), e, "random content key");
  memcpy(hdr, package_magic, 4);
  hdr[4] = VERSION;
  hdr[5] = (unsigned char)kind;
  hdr[6] = (unsigned char)strlen(key_id);
  MK_TRY(mk_buf_append(out, hdr, sizeof hdr, e));
  MK_TRY(mk_buf_append_str(out, key_id, e));
  MK_TRY(ek_seal(pub, kind, cek, out, e));
  sealed = malloc(sealed_len);
  MK_ENSURE_ALLOC(sealed, e);
  MK_TRY(mk_kek_gcm_seal(cek, out->data, out->len, share->data, share->len, sealed, e));
  MK_TRY(mk_buf_append(out, sealed, sealed_len, e));
out:
  OPENSSL_cleanse(cek, sizeof cek);
  free(sealed);
  return rc;
}

static void server_label(char *out, size_t cap, mk_tp_alg alg, const char *key_id) {
  snprintf(out, cap, "mkey server share %s %s", mk_tp_alg_name(alg), key_id);
}

int mk_pki_kmc_deliver(const unsigned char *escrow, size_t len, mk_kek *kmc_kek,
                       const char *key_id, EVP_PKEY *device_transport_pub, mk_kek *server_kek,
                       unsigned char **device_package, size_t *dlen,
                       unsigned char **server_share_wrapped, size_t *slen, mk_err *e) {
  int rc = 0;
  escrow_view v;
  EVP_PKEY *pk = NULL;
  mk_tp_alg alg = MK_TP_SM2;
  int kind = 0;
  mk_buf dev, srv, pkg, wrapped;
  char label[LABEL_MAX];
  mk_buf_init_secret(&dev, MK_TP_SHARE_MAX + 1);
  mk_buf_init_secret(&srv, MK_TP_SHARE_MAX + 1);
  mk_buf_init(&pkg, MK_PKI_KMC_PACKAGE_MAX);
  mk_buf_init(&wrapped, MK_TP_SHARE_MAX + 1 + MK_KEK_WRAP_OVERHEAD);
  *device_package = NULL;
  *server_share_wrapped = NULL;
  *dlen = *slen = 0;
  MK_TRY(key_id_ok(key_id, e));
  MK_TRY(transport_kind(device_transport_pub, &kind, e));
  MK_TRY(escrow_parse(escrow, len, &v, e));
  MK_ENSURE(strcmp(v.key_id, key_id) == 0, MK_EINVAL, e,
            "escrow record is for key '%s', not '%s'", v.key_id, key_id);
  MK_TRY(escrow_open(&v, kmc_kek, &pk, e));
  MK_TRY(split(pk, v.type, &alg, &dev, &srv, e));
  EVP_PKEY_free(pk); /* the clear key is not needed past the split */
  pk = NULL;
  MK_TRY(package_make(device_transport_pub, key_id, &dev, &pkg, e));
  server_label(label, sizeof label, alg, key_id);
  MK_TRY(mk_kek_wrap(server_kek, label, srv.data, srv.len, &wrapped, e));
  *device_package = mk_buf_detach(&pkg, dlen);
  MK_ENSURE_ALLOC(*device_package, e);
  *server_share_wrapped = mk_buf_detach(&wrapped, slen);
  if (*server_share_wrapped == NULL) {
    free(*device_package);
    *device_package = NULL;
    *dlen = 0;
    MK_FAIL(MK_ENOMEM, e, "out of memory");
  }
out:
  EVP_PKEY_free(pk);
  mk_buf_free_secret(&dev);
  mk_buf_free_secret(&srv);
  mk_buf_free(&pkg);
  mk_buf_free(&wrapped);
  return rc;
}

int mk_pki_kmc_open_delivery(const unsigned char *device_package, size_t len, const char *key_id,
                             EVP_PKEY *device_transport_priv, mk_tp_device **out, mk_err *e) {
  int rc = 0;
  rd r = {device_package, len};
  const unsigned char *h, *ek, *sealed;
  size_t ek_len = 0, sealed_len, aad_len;
  char id[MK_PKI_KMC_KEY_ID_MAX + 1];
  int kind = 0;
  unsigned char cek[CEK_LEN];
  mk_buf share;
  mk_buf_init_secret(&share, MK_TP_SHARE_MAX + 1);
  *out = NULL;
  MK_TRY(key_id_ok(key_id, e));
  MK_ENSURE(device_package != NULL && len <= MK_PKI_KMC_PACKAGE_MAX, MK_EINVAL, e,
            "not a delivery package");
  h = take(&r, 6);
  MK_ENSURE(h != NULL && memcmp(h, package_magic, 4) == 0, MK_EINVAL, e,
            "not a delivery package");
  MK_ENSURE(h[4] == VERSION, MK_EINVAL, e, "delivery package version %u is not supported", h[4]);
  MK_ENSURE(h[5] == TRANSPORT_SM2 || h[5] == TRANSPORT_RSA_OAEP, MK_EINVAL, e,
            "delivery package names an unknown transport");
  MK_ENSURE(take_key_id(&r, id) == 0, MK_EINVAL, e, "delivery package: bad key id");
  ek = take16(&r, EK_MAX, &ek_len);
  MK_ENSURE(ek != NULL, MK_EINVAL, e, "delivery package: bad key field");
  aad_len = len - r.left;
  sealed = r.p;
  sealed_len = r.left;
  MK_ENSURE(sealed_len > MK_GCM_NONCE_LEN + MK_GCM_TAG_LEN + 1 &&
                sealed_len <= MK_GCM_NONCE_LEN + MK_GCM_TAG_LEN + MK_TP_SHARE_MAX + 1,
            MK_EINVAL, e, "delivery package: bad share field");
  MK_ENSURE(strcmp(id, key_id) == 0, MK_EINVAL, e, "delivery package is for key '%s', not '%s'",
            id, key_id);
  MK_TRY(transport_kind(device_transport_priv, &kind, e));
  MK_ENSURE(kind == h[5], MK_ECRYPTO, e, "delivery package is not for this device key");
  MK_TRY(ek_open(device_transport_priv, kind, ek, ek_len, cek, e));
  {
    size_t n = sealed_len - MK_GCM_NONCE_LEN - MK_GCM_TAG_LEN;
    unsigned char *pt = malloc(n);
    MK_ENSURE_ALLOC(pt, e);
    rc = mk_kek_gcm_open(cek, device_package, aad_len, sealed, sealed_len, pt, e);
    if (rc == 0)
      rc = mk_buf_append(&share, pt, n, e);
    OPENSSL_cleanse(pt, n);
    free(pt);
    if (rc < 0) {
      if (e != NULL && e->code == MK_ECRYPTO)
        mk_err_set(e, MK_ECRYPTO, "delivery package is damaged");
      goto out;
    }
  }
  rc = mk_tp_device_decode(share.data, share.len, out, e);
  if (rc < 0)
    mk_err_wrap(e, "delivery package");
out:
  OPENSSL_cleanse(cek, sizeof cek);
  mk_buf_free_secret(&share);
  return rc;
}
