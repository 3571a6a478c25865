#!/usr/bin/env bash
# Installs the Debian packages mkey needs, when any is missing.
#   scripts/deps.sh          build, run and test
#   scripts/deps.sh fuzz     also clang's libFuzzer runtime
# As root it runs `apt-get update` once and `apt-get install -y`; otherwise it
# prints the exact command to run and exits non-zero.
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config git
  libssl-dev openssl            # crypto, PKI (OpenSSL 3.0)
  libargon2-dev                 # PIN proofs (Argon2id)
  libjansson-dev                # JSON
  libsqlite3-dev sqlite3        # embedded store
  libmicrohttpd-dev             # mkeyd's HTTP server
  libcurl4-openssl-dev curl     # mkey's HTTP client; e2e tests send raw requests
  libcmocka-dev                 # unit tests
  python3                       # e2e tests read JSON with it
)
if [ "${1:-}" = "fuzz" ]; then
  pkgs+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${pkgs[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "mkey needs these Debian packages: ${missing[*]}" >&2
  echo "run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
