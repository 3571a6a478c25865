/*
 * The CA's key-management service (KMC) for encryption keys: the second key
 * of a dual-certificate credential. The signing key is the phone's split key
 * and never passes through here (no function takes a signing key); the
 * encryption key pair is made here, escrowed, and delivered as the two
 * shares of a two-party key (crypto/tp.h):
 *
 *   generate  key pair -> public key (for an -enc certificate, pki/issue.h)
 *             + escrow record "MKES" v1: PKCS#8 wrapped by the KMC's KEK
 *             under "mkey escrow <key_id>"
 *   deliver   escrow -> fresh split -> device package "MKDL" v1 (the device
 *             share sealed to the device's transport key) + the server share
 *             wrapped by mkeyd's KEK under "mkey server share <alg> <key_id>"
 *   open      device package + transport private key -> device share
 *
 * Recovery is another delivery to a new transport key: every delivery splits
 * afresh, so shares of different deliveries do not combine. Destruction on
 * revocation is mk_pki_kmc_destroy on the buffer plus deleting the stored
 * record (the caller's). Byte layouts and the reasons: docs/pki.md, "Dual
 * certificates and escrow".
 */
#ifndef MK_PKI_KMC_H
#define MK_PKI_KMC_H

#include <openssl/evp.h>

#include "crypto/kek.h"
#include "crypto/tp.h"
#include "pki/pki.h"

#define MK_PKI_KMC_KEY_ID_MAX 64      /* bytes; letters, digits, '_', '-', '.' */
#define MK_PKI_KMC_ESCROW_MAX 4096    /* an escrow record, any algorithm */
#define MK_PKI_KMC_PACKAGE_MAX 4096   /* a device package, any transport key */
#define MK_PKI_KMC_RSA_BITS 2048      /* RSA encryption keys the KMC makes */
#define MK_PKI_KMC_TRANSPORT_RSA_MIN 2048
#define MK_PKI_KMC_TRANSPORT_RSA_MAX 4096

/*
 * Make an encryption key pair of type (MK_PKI_SM2, or MK_PKI_RSA for
 * RSA-2048) for key_id and escrow it under kmc_kek. On success the caller
 * owns *escrow (malloc'd, *escrow_len bytes; store it, release it with
 * mk_pki_kmc_destroy) and *pub (the public key, EVP_PKEY_free). The private
 * key exists only inside this call and is wiped before it returns. On
 * failure *escrow and *pub are NULL.
 */
int mk_pki_kmc_generate(mk_pki_keytype type, mk_kek *kmc_kek, const char *key_id,
                        unsigned char **escrow, size_t *escrow_len, EVP_PKEY **pub,
                        mk_err *e) MK_MUST_CHECK;

/*
 * Read an escrow record's clear part without any key: its type, key id
 * (key_id gets at most MK_PKI_KMC_KEY_ID_MAX bytes and a NUL) and public key
 * (*pub, caller frees; may be passed NULL). Strict: MK_EINVAL for anything
 * that is not exactly one MKES v1 record.
 */
int mk_pki_kmc_escrow_info(const unsigned char *escrow, size_t len, mk_pki_keytype *type,
                           char key_id[MK_PKI_KMC_KEY_ID_MAX + 1], EVP_PKEY **pub,
                           mk_err *e) MK_MUST_CHECK;

/*
 * Deliver the escrowed key of key_id as a fresh pair of shares: unwrap it
 * with kmc_kek, split it (mk_rsap_split / mk_sm2p_split_existing), seal the
 * device share to device_transport_pub (SM2, or RSA of 2048..4096 bits for
 * RSA-OAEP-SHA-256; borrowed) as an MKDL v1 package, and wrap the server
 * share with server_kek. The unwrapped key and the shares are wiped before
 * this returns. The caller owns *device_package and *server_share_wrapped
 * (malloc'd; free, the wrapped share with mk_pki_kmc_destroy once stored);
 * both NULL on failure.
 * Errors: a record for another key id, or damaged, MK_EINVAL; another KMC
 * KEK or a changed wrapped key, MK_ECRYPTO; a transport key of another kind,
 * MK_EINVAL.
 */
int mk_pki_kmc_deliver(const unsigned char *escrow, size_t len, mk_kek *kmc_kek,
                       const char *key_id, EVP_PKEY *device_transport_pub, mk_kek *server_kek,
                       unsigned char **device_package, size_t *dlen,
                       unsigned char **server_share_wrapped, size_t *slen,
                       mk_err *e) MK_MUST_CHECK;

/*
 * Device side: open an MKDL v1 package for key_id with the transport private
 * key (borrowed) and give the caller a new *out (mk_tp_device_free; NULL on
 * failure), ready to be sealed by the device keystore.
 * Errors: not a package, MK_EINVAL; a package for another key id, MK_EINVAL
 * naming both; a package for another transport key or a changed package,
 * MK_ECRYPTO.
 */
int mk_pki_kmc_open_delivery(const unsigned char *device_package, size_t len, const char *key_id,
                             EVP_PKEY *device_transport_priv, mk_tp_device **out,
                             mk_err *e) MK_MUST_CHECK;

/* Wipe and free a buffer this module returned (an escrow record on
 * revocation, a wrapped share once stored); NULL does nothing. Deleting the
 * stored copy is the caller's. */
void mk_pki_kmc_destroy(unsigned char *buf, size_t len);

#endif
