/*
 * mkey-bench: each benchmark measures mkey and a reference in the same run
 * (e.g. OpenSSL's own single-key operation) and prints both rates and their
 * ratio, so the figure means the same on any machine. Never used by tests.
 */
#ifndef MK_BENCH_H
#define MK_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* Run fn(arg) repeatedly for about seconds; returns operations per second,
 * or a negative value when fn failed (it returns non-zero on failure). */
double bench_rate(double seconds, int (*fn)(void *), void *arg);

/* One result line: name, rate, and the ratio to a reference rate (ref <= 0:
 * no ratio). Also kept for the JSON summary with --json. */
void bench_report(const char *name, double ops, const char *ref_name, double ref_ops);

/* The reference both groups measure against: one OpenSSL signature of msg
 * with key, as OpenSSL's own speed test signs (SM3 + signer ID
 * 1234567812345678 for SM2 keys, SHA-256 PKCS#1 v1.5 for RSA). 0 or -1. */
struct evp_pkey_st;
int bench_openssl_sign(struct evp_pkey_st *key, const void *msg, size_t len);

/* Benchmark groups: return 0 when every measurement ran. */
int bench_crypto(double seconds);
int bench_pki(double seconds);

#endif
