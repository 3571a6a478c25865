/*
 * Login passwords (accounts, CA operators): a policy, and Argon2id hashes in
 * the PHC string format that libargon2 writes and checks. The parameters are
 * OWASP's for interactive logins on a shared server (m=19 MiB, t=2, p=1):
 * lighter than the PIN proof's (which runs on the phone) so that a burst of
 * logins cannot exhaust mkeyd's memory; docs/accounts.md says more.
 */
#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

#include "svc/svc.h"
#include "util/enc.h"
#include "util/guard.h"
#include "util/utf8.h"

#define PW_T 2
#define PW_M (19 * 1024) /* KiB */
#define PW_P 1
#define PW_SALT 16
#define PW_HASH 32
#define PW_MIN 8
#define PW_MAX 64

int mk_svc_password_check_policy(const char *pw, mk_err *e) {
  size_t n = pw ? strlen(pw) : 0;
  int letter = 0, digit = 0;
  if (n < PW_MIN || n > PW_MAX)
    return mk_err_set(e, MK_EINVAL, "a password has %d to %d characters", PW_MIN, PW_MAX);
  if (!mk_utf8_valid_text(pw, n, 0))
    return mk_err_set(e, MK_EINVAL, "a password is UTF-8 text without control characters");
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)pw[i];
    letter |= (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    digit |= c >= '0' && c <= '9';
  }
  if (!letter || !digit)
    return mk_err_set(e, MK_EINVAL, "a password needs at least one letter and one digit");
  return 0;
}

int mk_svc_password_hash(const char *pw, char out[MK_PASSWORD_HASH_MAX], mk_err *e) {
  int rc = 0;
  unsigned char salt[PW_SALT];
  MK_TRY(mk_svc_password_check_policy(pw, e));
  MK_TRY_OSSL(RAND_bytes(salt, sizeof salt), e, "password salt");
  int r = argon2id_hash_encoded(PW_T, PW_M, PW_P, pw, strlen(pw), salt, sizeof salt, PW_HASH,
                                out, MK_PASSWORD_HASH_MAX);
  MK_ENSURE(r == ARGON2_OK, r == ARGON2_MEMORY_ALLOCATION_ERROR ? MK_ENOMEM : MK_ECRYPTO, e,
            "argon2id: %s", argon2_error_message(r));
out:
  OPENSSL_cleanse(salt, sizeof salt);
  return rc;
}

int mk_svc_password_verify(const char *encoded, const char *pw, mk_err *e) {
  if (encoded == NULL || pw == NULL || strlen(pw) > PW_MAX ||
      strncmp(encoded, "$argon2id$", 10) != 0)
    return mk_err_set(e, MK_EAUTH, "wrong password");
  int r = argon2id_verify(encoded, pw, strlen(pw)); /* compares in constant time */
  if (r == ARGON2_OK)
    return 0;
  if (r == ARGON2_MEMORY_ALLOCATION_ERROR)
    return mk_err_set(e, MK_ENOMEM, "argon2id: out of memory");
  return mk_err_set(e, MK_EAUTH, "wrong password");
}

/* A hash of a random password nobody knows, made once per process. */
static char decoy_hash[MK_PASSWORD_HASH_MAX];
static pthread_once_t decoy_once = PTHREAD_ONCE_INIT;

static void decoy_make(void) {
  unsigned char raw[18];
  char pw[32];
  mk_err e;
  if (RAND_bytes(raw, sizeof raw) == 1 &&
      mk_base64url_encode(raw, sizeof raw, pw + 2, sizeof pw - 2, &e) == 0) {
    pw[0] = 'a'; /* a letter and a digit: the policy holds */
    pw[1] = '1';
    if (mk_svc_password_hash(pw, decoy_hash, &e) < 0)
      decoy_hash[0] = '\0';
  }
  /* Without it decoy_hash stays empty: verifying against it fails the same
   * way, only faster. */
  OPENSSL_cleanse(pw, sizeof pw);
  OPENSSL_cleanse(raw, sizeof raw);
}

const char *mk_svc_password_decoy(void) {
  pthread_once(&decoy_once, decoy_make);
  return decoy_hash;
}
