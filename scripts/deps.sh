#!/usr/bin/env bash
# Installs the Debian packages mkey needs, when any is missing, and the
# browser test's npm packages (tests/browser, pinned by its package-lock.json).
#   scripts/deps.sh          build, run and test
#   scripts/deps.sh fuzz     also clang's libFuzzer runtime
# As root it runs `apt-get update` once and `apt-get install -y`; otherwise it
# prints the exact command to run and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."

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
  chromium fonts-wqy-microhei   # browser test: headless Chromium, CJK glyphs in screenshots
)
# The browser test runs on node; a node already installed (e.g. a newer one
# from another source) is used as it is.
if ! command -v node >/dev/null 2>&1; then
  pkgs+=(nodejs npm)
fi
if [ "${1:-}" = "fuzz" ]; then
  pkgs+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${pkgs[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "mkey needs these Debian packages: ${missing[*]}" >&2
    echo "run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# playwright-core for tests/browser, exactly as its package-lock.json pins
# it; npm's cache is used first. It drives Debian's chromium: no browser is
# downloaded. Skipped while node_modules matches the lock file.
lock=tests/browser/package-lock.json
stamp=tests/browser/node_modules/.mkey-lock
if ! cmp -s "$lock" "$stamp" 2>/dev/null; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "deps: npm is missing (it comes with nodejs): install npm for the browser test" >&2
    exit 1
  fi
  echo "deps: npm ci in tests/browser" >&2
  (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefer-offline --no-audit \
    --no-fund --loglevel=error >&2)
  cp "$lock" "$stamp"
fi
