#!/usr/bin/env bash
# `make run`: mkeyd with an embedded SQLite database under ./var and sandbox
# providers on 127.0.0.1:8080. Plain HTTP: for trying mkey on this machine only.
set -euo pipefail
cd "$(dirname "$0")/.."
listen=${MKEYD_LISTEN:-127.0.0.1:8080}
mkdir -p var
chmod 700 var
cat <<MSG
mkeyd: data in ./var, listening on http://$listen (sandbox mode)
try, in another terminal:
  build/bin/mkey status
  build/bin/mkey --json status
  curl -s http://$listen/v1/health
MSG
exec build/bin/mkeyd --data var --listen "$listen" --sandbox
