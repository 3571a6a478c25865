#include "crypto/pin.h"
#include "util/guard.h"
#include "util/json.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#define PIN_SALT_DOMAIN "mkey-pin-v1"
#define STATE_MAGIC "MKPS"
#define STATE_VERSION 1
#define STATE_FLAG_LOCKED 0x01u

int mk_pin_params_check(const mk_pin_params *p, mk_err *e) {
  if (p == NULL)
    return mk_err_set(e, MK_EINVAL, "no Argon2id parameters given");
  if (p->t_cost < 1 || p->t_cost > MK_PIN_T_MAX)
    return mk_err_set(e, MK_EINVAL, "Argon2id passes %u out of range 1..%u", p->t_cost,
                      MK_PIN_T_MAX);
  if (p->lanes < 1 || p->lanes > MK_PIN_LANES_MAX)
    return mk_err_set(e, MK_EINVAL, "Argon2id lanes %u out of range 1..%u", p->lanes,
                      MK_PIN_LANES_MAX);
  /* RFC 9106 §3.1: m >= 8p KiB. */
  if (p->m_cost_kib < 8 * p->lanes || p->m_cost_kib > MK_PIN_M_MAX_KIB)
    return mk_err_set(e, MK_EINVAL, "Argon2id memory %u KiB out of range %u..%u", p->m_cost_kib,
                      8 * p->lanes, MK_PIN_M_MAX_KIB);
  return 0;
}

int mk_pin_argon2id(const mk_pin_params *p, const void *pwd, size_t pwdlen, const void *salt,
                    size_t saltlen, const void *secret, size_t secretlen, const void *ad,
                    size_t adlen, unsigned char *out, size_t outlen, mk_err *e) {
  int rc = 0;
  MK_TRY(mk_pin_params_check(p, e));
  MK_ENSURE(outlen >= 4 && outlen <= 1024, MK_EINVAL, e, "Argon2id output length %zu", outlen);
  MK_ENSURE(pwdlen <= UINT32_MAX && saltlen <= UINT32_MAX && secretlen <= UINT32_MAX &&
                adlen <= UINT32_MAX,
            MK_ETOOBIG, e, "Argon2id input too long");
  MK_ENSURE(saltlen >= ARGON2_MIN_SALT_LENGTH, MK_EINVAL, e, "Argon2id salt under %d bytes",
            ARGON2_MIN_SALT_LENGTH);
  /* argon2_context takes non-const pointers but only reads the inputs;
   * ARGON2_DEFAULT_FLAGS leaves them as they are (no clearing). */
  argon2_context ctx = {
      .out = out,
      .outlen = (uint32_t)outlen,
      .pwd = (uint8_t *)(uintptr_t)pwd,
      .pwdlen = (uint32_t)pwdlen,
      .salt = (uint8_t *)(uintptr_t)salt,
      .saltlen = (uint32_t)saltlen,
      .secret = (uint8_t *)(uintptr_t)secret,
      .secretlen = (uint32_t)secretlen,
      .ad = (uint8_t *)(uintptr_t)ad,
      .adlen = (uint32_t)adlen,
      .t_cost = p->t_cost,
      .m_cost = p->m_cost_kib,
      .lanes = p->lanes,
      .threads = p->lanes,
      .version = ARGON2_VERSION_13,
      .allocate_cbk = NULL,
      .free_cbk = NULL,
      .flags = ARGON2_DEFAULT_FLAGS,
  };
  int ar = argon2id_ctx(&ctx);
  MK_ENSURE(ar != ARGON2_MEMORY_ALLOCATION_ERROR, MK_ENOMEM, e,
            "Argon2id: cannot allocate %u KiB", p->m_cost_kib);
  MK_ENSURE(ar == ARGON2_OK, MK_ECRYPTO, e, "Argon2id: %s", argon2_error_message(ar));
out:
  if (rc < 0 && out != NULL && outlen > 0)
    OPENSSL_cleanse(out, outlen);
  return rc;
}

int mk_pin_valid(const char *pin, mk_err *e) {
  if (pin == NULL)
    return mk_err_set(e, MK_EINVAL, "no PIN given");
  size_t n = strnlen(pin, MK_PIN_MAX_LEN + 1);
  if (n < MK_PIN_MIN_LEN)
    return mk_err_set(e, MK_EINVAL, "PIN is shorter than %d characters", MK_PIN_MIN_LEN);
  if (n > MK_PIN_MAX_LEN)
    return mk_err_set(e, MK_EINVAL, "PIN is longer than %d bytes", MK_PIN_MAX_LEN);
  if (!mk_utf8_valid_text(pin, n, 0))
    return mk_err_set(e, MK_EINVAL, "PIN is not valid UTF-8 text");
  return 0;
}

static int check_id(const char *id, const char *what, mk_err *e) {
  if (id == NULL || id[0] == '\0')
    return mk_err_set(e, MK_EINVAL, "no %s given", what);
  size_t n = strnlen(id, MK_PIN_ID_MAX + 1);
  if (n > MK_PIN_ID_MAX)
    return mk_err_set(e, MK_EINVAL, "%s is longer than %d bytes", what, MK_PIN_ID_MAX);
  if (!mk_utf8_valid_text(id, n, 0))
    return mk_err_set(e, MK_EINVAL, "%s is not valid UTF-8 text", what);
  return 0;
}

int mk_pin_proof(const mk_pin_params *p, const char *pin, const char *account_id,
                 const char *device_id, unsigned char proof[MK_PIN_PROOF_LEN], mk_err *e) {
  int rc = 0;
  unsigned char salt[32];
  EVP_MD_CTX *md = NULL;

  MK_TRY(mk_pin_valid(pin, e));
  MK_TRY(check_id(account_id, "account id", e));
  MK_TRY(check_id(device_id, "device id", e));
  /* The NUL between the ids keeps ("ab","c") and ("a","bc") apart; ids are
   * text, so they contain no NUL themselves. */
  static const unsigned char zero = 0;
  MK_TRY_PTR_OSSL(md, EVP_MD_CTX_new(), e, "SHA-256");
  MK_TRY_OSSL(EVP_DigestInit_ex(md, EVP_sha256(), NULL), e, "SHA-256 init");
  MK_TRY_OSSL(EVP_DigestUpdate(md, PIN_SALT_DOMAIN, strlen(PIN_SALT_DOMAIN)), e, "SHA-256");
  MK_TRY_OSSL(EVP_DigestUpdate(md, account_id, strlen(account_id)), e, "SHA-256");
  MK_TRY_OSSL(EVP_DigestUpdate(md, &zero, 1), e, "SHA-256");
  MK_TRY_OSSL(EVP_DigestUpdate(md, device_id, strlen(device_id)), e, "SHA-256");
  MK_TRY_OSSL(EVP_DigestFinal_ex(md, salt, NULL), e, "SHA-256");
  MK_TRY(mk_pin_argon2id(p, pin, strlen(pin), salt, sizeof salt, NULL, 0, NULL, 0, proof,
                         MK_PIN_PROOF_LEN, e));
out:
  EVP_MD_CTX_free(md);
  if (rc < 0)
    OPENSSL_cleanse(proof, MK_PIN_PROOF_LEN);
  return rc;
}

/* verifier = HMAC-SHA256(pepper, proof) */
static int verifier_of(const unsigned char pepper[MK_PIN_PEPPER_LEN],
                       const unsigned char proof[MK_PIN_PROOF_LEN],
                       unsigned char out[MK_PIN_VERIFIER_LEN], mk_err *e) {
  unsigned int n = 0;
  if (pepper == NULL || proof == NULL)
    return mk_err_set(e, MK_EINVAL, "no PIN pepper or proof given");
  if (HMAC(EVP_sha256(), pepper, MK_PIN_PEPPER_LEN, proof, MK_PIN_PROOF_LEN, out, &n) == NULL ||
      n != MK_PIN_VERIFIER_LEN) {
    OPENSSL_cleanse(out, MK_PIN_VERIFIER_LEN);
    return mk_err_ossl(e, MK_ECRYPTO, "HMAC-SHA256 of the PIN proof");
  }
  return 0;
}

int mk_pin_enroll(mk_pin_state *st, const mk_pin_params *p,
                  const unsigned char pepper[MK_PIN_PEPPER_LEN],
                  const unsigned char proof[MK_PIN_PROOF_LEN], mk_err *e) {
  int rc = 0;
  mk_pin_state s;
  memset(&s, 0, sizeof s);
  MK_ENSURE(st != NULL, MK_EINVAL, e, "no PIN state given");
  MK_TRY(mk_pin_params_check(p, e));
  s.params = *p;
  MK_TRY(verifier_of(pepper, proof, s.verifier, e));
  *st = s;
out:
  OPENSSL_cleanse(&s, sizeof s);
  return rc;
}

unsigned mk_pin_attempts_left(const mk_pin_state *st) {
  if (st == NULL || st->locked || st->failures >= MK_PIN_MAX_FAILURES)
    return 0;
  return MK_PIN_MAX_FAILURES - st->failures;
}

static int locked_error(mk_err *e) {
  return mk_err_set(e, MK_ELOCKED, "key locked after %d failed PIN attempts",
                    MK_PIN_MAX_FAILURES);
}

int mk_pin_record_failure(mk_pin_state *st, int64_t now, mk_err *e) {
  if (st == NULL)
    return mk_err_set(e, MK_EINVAL, "no PIN state given");
  if (st->locked)
    return locked_error(e);
  if (st->failures < MK_PIN_MAX_FAILURES)
    st->failures++;
  st->last_failure = now;
  if (st->failures >= MK_PIN_MAX_FAILURES) {
    st->locked = 1;
    st->locked_at = now;
    return locked_error(e);
  }
  unsigned left = mk_pin_attempts_left(st);
  return mk_err_set(e, MK_EAUTH, "wrong PIN (%u attempt%s left)", left, left == 1 ? "" : "s");
}

int mk_pin_check(mk_pin_state *st, const unsigned char pepper[MK_PIN_PEPPER_LEN],
                 const unsigned char proof[MK_PIN_PROOF_LEN], int64_t now, mk_err *e) {
  int rc = 0;
  unsigned char v[MK_PIN_VERIFIER_LEN];
  MK_ENSURE(st != NULL, MK_EINVAL, e, "no PIN state given");
  /* Locked: refuse before touching the proof, so a locked key answers the
   * same whatever is sent and no guess is ever evaluated. */
  if (st->locked) {
    rc = locked_error(e);
    goto out;
  }
  MK_TRY(verifier_of(pepper, proof, v, e));
  if (CRYPTO_memcmp(v, st->verifier, sizeof v) != 0) {
    rc = mk_pin_record_failure(st, now, e);
    goto out;
  }
  st->failures = 0;
out:
  OPENSSL_cleanse(v, sizeof v);
  return rc;
}

int mk_pin_unlock(mk_pin_state *st, const unsigned char pepper[MK_PIN_PEPPER_LEN],
                  const unsigned char *new_proof, mk_err *e) {
  int rc = 0;
  unsigned char v[MK_PIN_VERIFIER_LEN];
  MK_ENSURE(st != NULL, MK_EINVAL, e, "no PIN state given");
  if (new_proof != NULL) {
    MK_TRY(verifier_of(pepper, new_proof, v, e));
    memcpy(st->verifier, v, sizeof v);
  }
  st->failures = 0;
  st->locked = 0;
  st->locked_at = 0;
out:
  OPENSSL_cleanse(v, sizeof v);
  return rc;
}

int mk_pin_change(mk_pin_state *st, const unsigned char pepper[MK_PIN_PEPPER_LEN],
                  const unsigned char old_proof[MK_PIN_PROOF_LEN],
                  const unsigned char new_proof[MK_PIN_PROOF_LEN], int64_t now, mk_err *e) {
  int rc = 0;
  unsigned char v[MK_PIN_VERIFIER_LEN];
  MK_ENSURE(new_proof != NULL, MK_EINVAL, e, "no new PIN proof given");
  /* Compute the new verifier first: a failure here must not count against
   * the user after a successful check. */
  MK_TRY(verifier_of(pepper, new_proof, v, e));
  MK_TRY(mk_pin_check(st, pepper, old_proof, now, e));
  memcpy(st->verifier, v, sizeof v);
out:
  OPENSSL_cleanse(v, sizeof v);
  return rc;
}

/* ---- MKPS v1 encoding ------------------------------------------------------
 *  0  4  "MKPS"            19  8  last_failure (BE, two's complement)
 *  4  1  version 1          27  8  locked_at (BE)
 *  5  1  flags (bit 0: locked)  35 32  verifier
 *  6  1  failures
 *  7 12  t_cost, m_cost_kib, lanes (BE32 each)
 */

static void put32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put64(unsigned char *p, int64_t v) {
  uint64_t u = (uint64_t)v;
  put32(p, (uint32_t)(u >> 32));
  put32(p + 4, (uint32_t)u);
}

static int64_t get64(const unsigned char *p) {
  uint64_t u = (uint64_t)get32(p) << 32 | get32(p + 4);
  /* Two's complement back to int64 without implementation-defined casts. */
  return u <= INT64_MAX ? (int64_t)u : -(int64_t)(~u) - 1;
}

/* The invariants both directions enforce. */
static int state_check(const mk_pin_state *st, mk_err *e) {
  int rc = mk_pin_params_check(&st->params, e);
  if (rc < 0)
    return rc;
  if (st->locked != 0 && st->locked != 1)
    return mk_err_set(e, MK_EINVAL, "PIN state: bad lock flag");
  if (st->failures > MK_PIN_MAX_FAILURES)
    return mk_err_set(e, MK_EINVAL, "PIN state: %u failures is over %d", st->failures,
                      MK_PIN_MAX_FAILURES);
  if (st->failures == MK_PIN_MAX_FAILURES && !st->locked)
    return mk_err_set(e, MK_EINVAL, "PIN state: %d failures but not locked",
                      MK_PIN_MAX_FAILURES);
  if (!st->locked && st->locked_at != 0)
    return mk_err_set(e, MK_EINVAL, "PIN state: lock time without a lock");
  if (st->last_failure < 0 || st->locked_at < 0)
    return mk_err_set(e, MK_EINVAL, "PIN state: negative time");
  return 0;
}

int mk_pin_state_encode(const mk_pin_state *st, unsigned char out[MK_PIN_STATE_LEN], mk_err *e) {
  if (st == NULL || out == NULL)
    return mk_err_set(e, MK_EINVAL, "no PIN state given");
  int rc = state_check(st, e);
  if (rc < 0)
    return rc;
  memcpy(out, STATE_MAGIC, 4);
  out[4] = STATE_VERSION;
  out[5] = st->locked ? STATE_FLAG_LOCKED : 0;
  out[6] = (unsigned char)st->failures;
  put32(out + 7, st->params.t_cost);
  put32(out + 11, st->params.m_cost_kib);
  put32(out + 15, st->params.lanes);
  put64(out + 19, st->last_failure);
  put64(out + 27, st->locked_at);
  memcpy(out + 35, st->verifier, MK_PIN_VERIFIER_LEN);
  return 0;
}

int mk_pin_state_decode(const void *in, size_t len, mk_pin_state *st, mk_err *e) {
  const unsigned char *p = in;
  mk_pin_state s;
  if (st == NULL || (p == NULL && len > 0))
    return mk_err_set(e, MK_EINVAL, "no PIN state given");
  if (len < 5 || memcmp(p, STATE_MAGIC, 4) != 0)
    return mk_err_set(e, MK_EINVAL, "not a PIN state record (no MKPS header)");
  if (p[4] != STATE_VERSION)
    return mk_err_set(e, MK_EINVAL, "PIN state version %u is not supported (want %d)", p[4],
                      STATE_VERSION);
  if (len != MK_PIN_STATE_LEN)
    return mk_err_set(e, MK_EINVAL, "PIN state is %zu bytes, want %d", len, MK_PIN_STATE_LEN);
  if (p[5] & ~STATE_FLAG_LOCKED)
    return mk_err_set(e, MK_EINVAL, "PIN state: unknown flags 0x%02x", p[5]);
  memset(&s, 0, sizeof s);
  s.locked = (p[5] & STATE_FLAG_LOCKED) ? 1 : 0;
  s.failures = p[6];
  s.params.t_cost = get32(p + 7);
  s.params.m_cost_kib = get32(p + 11);
  s.params.lanes = get32(p + 15);
  s.last_failure = get64(p + 19);
  s.locked_at = get64(p + 27);
  memcpy(s.verifier, p + 35, MK_PIN_VERIFIER_LEN);
  int rc = state_check(&s, e);
  if (rc == 0)
    *st = s;
  OPENSSL_cleanse(&s, sizeof s);
  return rc;
}
