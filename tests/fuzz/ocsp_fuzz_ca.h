/*
 * The fixed SM2 CA of the OCSP fuzz target and its seeds
 * (tests/fuzz/corpus/ocsp/), shared with unit_pki_ocsp, which checks that
 * every seed still gets the answer it was made for. The certificate was made
 * by `openssl req -x509 -new -key ca.key -subj "/C=CN/O=mkey fuzz/CN=mkey
 * fuzz SM2 CA" -days 36500 -sm3` with basicConstraints CA:TRUE and keyUsage
 * keyCertSign, cRLSign. The seeds' serials select the lookup's answer
 * (ocsp_fuzz_status).
 */
#ifndef MK_FUZZ_OCSP_CA_H
#define MK_FUZZ_OCSP_CA_H

#include "pki/ocsp.h"

/* 2027-01-01T00:00:00Z, inside the CA's validity */
#define OCSP_FUZZ_NOW INT64_C(1798761600)

static const char ocsp_fuzz_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqBHM9VAYItBG0wawIBAQQguUpApA1XxFCiP3fQ\n"
    "JLRuQ1bfo+YbAh0tqvx1ke8+wdOhRANCAARRMitp6hzxUGKa4hVLMcBbgl7ICJ7s\n"
    "/8+DvtUWfc9cc0M8fFvkzTluP766BoR9GOjr74PomRfjJrcEREfhFVdJ\n"
    "-----END PRIVATE KEY-----\n";

static const char ocsp_fuzz_cert_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBzDCCAXKgAwIBAgIBATAKBggqgRzPVQGDdTA8MQswCQYDVQQGEwJDTjESMBAG\n"
    "A1UECgwJbWtleSBmdXp6MRkwFwYDVQQDDBBta2V5IGZ1enogU00yIENBMCAXDTI2\n"
    "MTEyOTA2MzEwM1oYDzIxMjYxMTA1MDYzMTAzWjA8MQswCQYDVQQGEwJDTjESMBAG\n"
    "A1UECgwJbWtleSBmdXp6MRkwFwYDVQQDDBBta2V5IGZ1enogU00yIENBMFkwEwYH\n"
    "KoZIzj0CAQYIKoEcz1UBgi0DQgAEUTIraeoc8VBimuIVSzHAW4JeyAie7P/Pg77V\n"
    "Fn3PXHNDPHxb5M05bj++ugaEfRjo6++D6JkX4ya3BERH4RVXSaNjMGEwHQYDVR0O\n"
    "BBYEFDIO90tfNNFnpZ/huPZu2BVPXUyJMB8GA1UdIwQYMBaAFDIO90tfNNFnpZ/h\n"
    "uPZu2BVPXUyJMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMAoGCCqB\n"
    "HM9VAYN1A0gAMEUCIQCyQUa4VOwkugSdhA5OdyTiLEOTZW3JkK2wmSjzPXLv5gIg\n"
    "X7hynjiQcIzaqxehUmgCTrQitWZ0F63G9cx7eChxl9s=\n"
    "-----END CERTIFICATE-----\n";

/* The lookup of the fuzz target: a serial starting 0xEE is a store
 * failure; otherwise its last octet decides: ..0 good, ..1 revoked
 * (keyCompromise when bit 2 is set, else unspecified), ..2 unknown, ..3
 * not found. Seeds use 4D4B00..A0, ..A5, ..A2, ..A3 and EE4B00..A0. */
static inline int ocsp_fuzz_status(void *ctx, const unsigned char *serial, size_t n,
                                   mk_pki_cert_status *st) {
  (void)ctx;
  if (serial[0] == 0xEE)
    return MK_ESTORE;
  switch (serial[n - 1] & 3) {
  case 0:
    st->state = MK_PKI_CERT_GOOD;
    return 0;
  case 1:
    st->state = MK_PKI_CERT_REVOKED;
    st->revoked_at = OCSP_FUZZ_NOW - 86400;
    st->reason = serial[n - 1] >> 2 & 1 ? MK_PKI_REASON_KEY_COMPROMISE : MK_PKI_REASON_UNSPECIFIED;
    return 0;
  case 2:
    return 0;
  default:
    return MK_ENOTFOUND;
  }
}

#endif
