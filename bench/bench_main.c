#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "bench.h"

static int json_out;
static int first_line = 1;

double bench_rate(double seconds, int (*fn)(void *), void *arg) {
  struct timespec t0, t;
  long n = 0;
  /* one untimed call warms caches and lazily built tables */
  if (fn(arg) != 0)
    return -1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  double el = 0;
  do {
    for (int i = 0; i < 4; i++, n++)
      if (fn(arg) != 0)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &t);
    el = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
  } while (el < seconds);
  return (double)n / el;
}

int bench_openssl_sign(EVP_PKEY *key, const void *msg, size_t len) {
  unsigned char sig[512];
  size_t siglen = sizeof sig;
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  EVP_PKEY_CTX *pctx = NULL;
  int ok = md != NULL;
  if (ok && EVP_PKEY_is_a(key, "SM2")) {
    pctx = EVP_PKEY_CTX_new(key, NULL);
    ok = pctx != NULL && EVP_PKEY_CTX_set1_id(pctx, "1234567812345678", 16) == 1;
    if (ok)
      EVP_MD_CTX_set_pkey_ctx(md, pctx);
    ok = ok && EVP_DigestSignInit(md, NULL, EVP_sm3(), NULL, key) == 1;
  } else if (ok) {
    ok = EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1;
  }
  ok = ok && EVP_DigestSign(md, sig, &siglen, msg, len) == 1;
  EVP_MD_CTX_free(md);
  EVP_PKEY_CTX_free(pctx);
  return ok ? 0 : -1;
}

void bench_report(const char *name, double ops, const char *ref_name, double ref_ops) {
  if (json_out) {
    printf("%s{\"name\":\"%s\",\"ops_per_s\":%.1f", first_line ? "[" : ",\n ", name, ops);
    if (ref_ops > 0)
      printf(",\"reference\":\"%s\",\"reference_ops_per_s\":%.1f,\"ratio\":%.3f", ref_name,
             ref_ops, ops / ref_ops);
    printf("}");
  } else if (ref_ops > 0) {
    printf("%-34s %10.1f ops/s   %-30s %10.1f ops/s   ratio %.3f\n", name, ops, ref_name, ref_ops,
           ops / ref_ops);
  } else {
    printf("%-34s %10.1f ops/s\n", name, ops);
  }
  first_line = 0;
  fflush(stdout);
}

static const struct {
  const char *name;
  int (*fn)(double);
  const char *help;
} groups[] = {
    {"crypto", bench_crypto, "two-party SM2 and RSA against OpenSSL's single-key operations"},
    {"pki", bench_pki, "certificates issued and OCSP responses per second against the CA's signature"},
};

static void usage(FILE *f) {
  fprintf(f, "usage: mkey-bench [--seconds S] [--json] <group>|all\ngroups:\n");
  for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
    fprintf(f, "  %-8s %s\n", groups[i].name, groups[i].help);
}

int main(int argc, char **argv) {
  double seconds = 2.0;
  const char *which = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) {
      json_out = 1;
    } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      seconds = strtod(argv[++i], NULL);
      if (!(seconds > 0 && seconds <= 600)) {
        fprintf(stderr, "mkey-bench: --seconds must be in (0, 600]\n");
        return 2;
      }
    } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (which == NULL && argv[i][0] != '-') {
      which = argv[i];
    } else {
      fprintf(stderr, "mkey-bench: unknown argument '%s'\n", argv[i]);
      return 2;
    }
  }
  if (which == NULL) {
    usage(stderr);
    return 2;
  }
  int rc = 0, found = 0;
  for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
    if (strcmp(which, "all") == 0 || strcmp(which, groups[i].name) == 0) {
      found = 1;
      if (groups[i].fn(seconds) != 0)
        rc = 1;
    }
  }
  if (json_out && !first_line)
    printf("]\n");
  if (!found) {
    fprintf(stderr, "mkey-bench: no benchmark group '%s'\n", which);
    return 2;
  }
  return rc;
}
