#!/usr/bin/env python3
"""Test vectors of two-party RSA (lib/crypto/rsap), made independently of the C code.

rsa2048.pem and rsa3072.pem come from `openssl genpkey -algorithm RSA
-pkeyopt rsa_keygen_bits:N`. This script, run from anywhere, writes

  rsa2048.device.bin / rsa2048.server.bin  a split of rsa2048.pem in the share
                                           encoding ("MKRU"/"MKRS", version 1,
                                           alg 1, N, share), d_s uniform in [1, phi)
  rsa2048.oaep.bin                         RSA-OAEP SHA-256 ciphertext by
                                           `openssl pkeyutl` of PLAINTEXT
  ../../fuzz/corpus/rsap/*                 fuzz seeds: the shares and one valid
                                           message of every kind, plus broken ones

The decryption seeds use what fuzz_rsap.c's test RNG gives: the challenge
32 x 0x5a and the blinding factor r = SHA-256("mkey fuzz rsap blind") read as
an integer, so the request carries c' = c * r^e mod N, its proof share is over
challenge || c', and the result is c'^d_s.

Existing .bin files are kept (the split and the ciphertext are random), so
running it again only rewrites the seeds from them. Needs python3 and openssl.
"""
import base64
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "fuzz", "corpus", "rsap")
PLAINTEXT = b"fuzz corpus plaintext"
CHALLENGE = b"\x5a" * 32  # the fixed challenge fuzz_rsap.c answers
BLIND = int.from_bytes(hashlib.sha256(b"mkey fuzz rsap blind").digest(), "big")  # its r
K = 256
E = 65537

DI_SHA256 = bytes.fromhex("3031300d060960864801650304020105000420")  # RFC 8017 §9.2 note 1
DI_SM3 = bytes.fromhex("3030300c06082a811ccf5501831105000420")  # OID 1.2.156.10197.1.401
PROOF_LABEL = b"mkey rsap decrypt proof v1\x00"
KEYGEN_LABEL = b"mkey rsap keygen proof v1\x00"


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, check=True, capture_output=True).stdout


def key_numbers(pem):
    text = openssl("pkey", "-in", pem, "-text", "-noout").decode()
    out = {}
    for name in ("modulus", "privateExponent", "prime1", "prime2"):
        m = re.search(name + r":\s*\n((?:\s+[0-9a-f:]+\n)+)", text)
        out[name] = int(re.sub(r"[\s:]", "", m.group(1)), 16)
    return out


def i2osp(x, n=K):
    return x.to_bytes(n, "big")


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def emsa(di, digest):
    t = di + digest
    return b"\x00\x01" + b"\xff" * (K - len(t) - 3) + b"\x00" + t


def share(magic, n, d):
    return magic + b"\x01\x01" + i2osp(n) + i2osp(d)


def msg(op, step, **fields):
    m = {"v": 1, "alg": "rsa2048", "op": op, "step": step}
    m.update(fields)
    return json.dumps(m, separators=(",", ":")).encode()


def main():
    pem = os.path.join(HERE, "rsa2048.pem")
    dev_path = os.path.join(HERE, "rsa2048.device.bin")
    srv_path = os.path.join(HERE, "rsa2048.server.bin")
    ct_path = os.path.join(HERE, "rsa2048.oaep.bin")
    key = key_numbers(pem)
    n = key["modulus"]
    if not os.path.exists(dev_path) or not os.path.exists(srv_path):
        phi = (key["prime1"] - 1) * (key["prime2"] - 1)
        d = key["privateExponent"] % phi
        while True:
            d_s = 1 + secrets.randbelow(phi - 1)
            d_u = (d - d_s) % phi
            if d_u != 0:
                break
        open(dev_path, "wb").write(share(b"MKRU", n, d_u))
        open(srv_path, "wb").write(share(b"MKRS", n, d_s))
    if not os.path.exists(ct_path):
        pub = openssl("pkey", "-in", pem, "-pubout")
        tmp = os.path.join(HERE, ".pub.pem")
        open(tmp, "wb").write(pub)
        try:
            ct = openssl("pkeyutl", "-encrypt", "-pubin", "-inkey", tmp, "-pkeyopt",
                         "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256", data=PLAINTEXT)
        finally:
            os.unlink(tmp)
        open(ct_path, "wb").write(ct)

    dev = open(dev_path, "rb").read()
    srv = open(srv_path, "rb").read()
    ct = open(ct_path, "rb").read()
    assert dev[6:6 + K] == i2osp(n) and srv[6:6 + K] == i2osp(n)
    d_u = int.from_bytes(dev[6 + K:], "big")
    d_s = int.from_bytes(srv[6 + K:], "big")
    c = int.from_bytes(ct, "big")

    dg = hashlib.sha256(b"abc").digest()
    m = int.from_bytes(emsa(DI_SHA256, dg), "big")
    s_u = pow(m, d_u, n)
    s = s_u * pow(m, d_s, n) % n
    assert pow(s, E, n) == m
    dg_sm3 = openssl("dgst", "-sm3", "-binary", data=b"abc")
    m_sm3 = int.from_bytes(emsa(DI_SM3, dg_sm3), "big")
    cb = c * pow(BLIND, E, n) % n  # the blinded ciphertext the server sees
    assert cb != c
    proof = hashlib.sha256(PROOF_LABEL + b"rsa2048\x00" + CHALLENGE + i2osp(cb)).digest()
    m_proof = int.from_bytes(emsa(DI_SHA256, proof), "big")
    c_s = pow(cb, d_s, n)
    assert pow(pow(cb, d_u, n) * c_s % n * pow(BLIND, -1, n) % n, E, n) == c
    kg = hashlib.sha256(KEYGEN_LABEL + b"rsa2048\x00" + i2osp(n)).digest()
    kg_s_u = pow(int.from_bytes(emsa(DI_SHA256, kg), "big"), d_u, n)

    seeds = {
        "share_device": dev,
        "share_server": srv,
        "share_device_truncated": dev[:100],
        "share_server_version2": srv[:4] + b"\x02" + srv[5:],
        "share_device_alg3": dev[:5] + b"\x03" + dev[6:],
        "share_device_zero": dev[:6 + K] + b"\x00" * K,
        "share_device_trailing": dev + b"\x00",
        "keygen_share.json": msg("keygen", "share", n=b64(i2osp(n)), d_s=b64(i2osp(d_s)),
                                 s_u=b64(i2osp(kg_s_u))),
        "keygen_share_even.json": msg("keygen", "share", n=b64(i2osp(n - 1)), d_s=b64(i2osp(d_s)),
                                      s_u=b64(i2osp(kg_s_u))),
        "keygen_share_wrong_proof.json": msg("keygen", "share", n=b64(i2osp(n)),
                                             d_s=b64(i2osp(d_s)), s_u=b64(i2osp(kg_s_u ^ 2))),
        "keygen_stored.json": msg("keygen", "stored", n=b64(i2osp(n))),
        "sign_request_sha256.json": msg("sign", "request", hash="sha256", digest=b64(dg),
                                        s_u=b64(i2osp(s_u))),
        "sign_request_sm3.json": msg("sign", "request", hash="sm3", digest=b64(dg_sm3),
                                     s_u=b64(i2osp(pow(m_sm3, d_u, n)))),
        "sign_request_su_zero.json": msg("sign", "request", hash="sha256", digest=b64(dg),
                                         s_u=b64(i2osp(0))),
        "sign_request_su_n.json": msg("sign", "request", hash="sha256", digest=b64(dg),
                                      s_u=b64(i2osp(n))),
        "sign_request_padded.json": msg("sign", "request", hash="sha256", digest=b64(dg) + "=",
                                        s_u=b64(i2osp(s_u))),
        "sign_request_extra.json": msg("sign", "request", hash="sha256", digest=b64(dg),
                                       s_u=b64(i2osp(s_u)), e=3),
        "sign_request_wrong_share.json": msg("sign", "request", hash="sha256", digest=b64(dg),
                                             s_u=b64(i2osp((s_u * 2) % n))),
        "sign_result.json": msg("sign", "result", s=b64(i2osp(s))),
        "sign_result_wrong.json": msg("sign", "result", s=b64(i2osp(s ^ 1))),
        "decrypt_challenge.json": msg("decrypt", "challenge", challenge=b64(CHALLENGE)),
        "decrypt_challenge_short.json": msg("decrypt", "challenge", challenge=b64(CHALLENGE[:31])),
        "decrypt_request.json": msg("decrypt", "request", c=b64(i2osp(cb)),
                                    s_u=b64(i2osp(pow(m_proof, d_u, n)))),
        "decrypt_request_c_short.json": msg("decrypt", "request", c=b64(i2osp(cb)[1:]),
                                            s_u=b64(i2osp(pow(m_proof, d_u, n)))),
        # the proof share bound to c' does not cover the raw c
        "decrypt_request_unblinded.json": msg("decrypt", "request", c=b64(ct),
                                              s_u=b64(i2osp(pow(m_proof, d_u, n)))),
        "decrypt_result.json": msg("decrypt", "result", c_s=b64(i2osp(c_s))),
        # an answer for the raw c does not combine with c'^d_u
        "decrypt_result_unblinded.json": msg("decrypt", "result",
                                             c_s=b64(i2osp(pow(c, d_s, n)))),
        "decrypt_result_wrong.json": msg("decrypt", "result", c_s=b64(i2osp(2))),
        "wrong_version.json": msg("sign", "result", s=b64(i2osp(s))).replace(b'"v":1', b'"v":2'),
        "wrong_alg.json": msg("sign", "result", s=b64(i2osp(s))).replace(b"rsa2048", b"rsa3072"),
        "not_object.json": b'[{"v":1}]',
        "empty": b"",
    }
    os.makedirs(CORPUS, exist_ok=True)
    for name, data in seeds.items():
        open(os.path.join(CORPUS, name), "wb").write(data)
    print(f"wrote {len(seeds)} seeds to {os.path.normpath(CORPUS)}")


if __name__ == "__main__":
    sys.exit(main())
