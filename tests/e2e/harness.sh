# e2e harness: sourced by tests/e2e/test_*.sh (ctest runs them with MKEYD,
# MKEY, MKEY_SOURCE_DIR set). It starts the real mkeyd on a free port with a
# temporary data directory, gives each scenario `mkey` with its own
# MKEY_HOME, and always stops the server, whatever happens.
#
#   mk_start [extra mkeyd flags]   start a sandbox mkeyd, wait for health
#   mk_stop                        SIGTERM, wait, require a clean exit
#   check "what" cmd...            cmd must succeed
#   check_fails "what" cmd...      cmd must fail
#   http METHOD PATH [curl args]   sets HTTP_STATUS, HTTP_BODY, HTTP_HEADERS
#   json_get EXPR                  reads HTTP_BODY (or stdin with -) as JSON: python expr on `j`
#   mk_login PROFILE PHONE         log PROFILE in as PHONE (account made at first login)
#   mk_verify PROFILE NAME ID      verify PROFILE's real name (sandbox CFCA accepts valid data)
#   mk_done                        prints "N passed, M failed", exits non-zero on failure
set -u

: "${MKEYD:?MKEYD must name the mkeyd binary}"
: "${MKEY:?MKEY must name the mkey binary}"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

MK_TMP=$(mktemp -d /tmp/mkey-e2e.XXXXXX)
MK_PASSED=0
MK_FAILED=0
MKEYD_PID=""
export MKEY_HOME="$MK_TMP/home"
unset MKEY_SERVER XDG_DATA_HOME

mk_cleanup() {
  if [ -n "$MKEYD_PID" ] && kill -0 "$MKEYD_PID" 2>/dev/null; then
    kill -KILL "$MKEYD_PID" 2>/dev/null
    wait "$MKEYD_PID" 2>/dev/null
  fi
  if [ "$MK_FAILED" -ne 0 ] && [ -f "$MK_TMP/mkeyd.log" ]; then
    echo "---- mkeyd log (last 40 lines) ----"
    tail -n 40 "$MK_TMP/mkeyd.log"
  fi
  rm -rf "$MK_TMP"
}
trap mk_cleanup EXIT

pass() { MK_PASSED=$((MK_PASSED + 1)); echo "ok   - $1"; }
fail() { MK_FAILED=$((MK_FAILED + 1)); echo "FAIL - $1"; }

check() {
  local what=$1; shift
  if "$@" >"$MK_TMP/out" 2>"$MK_TMP/err"; then pass "$what"
  else fail "$what: exit $? ($(head -c 300 "$MK_TMP/err"))"; fi
}

check_fails() {
  local what=$1; shift
  if "$@" >"$MK_TMP/out" 2>"$MK_TMP/err"; then fail "$what: succeeded, should have failed"
  else pass "$what"; fi
}

# Assert that $1 equals $2.
expect_eq() {
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi
}

# Start mkeyd in sandbox mode on a port the kernel picks.
mk_start() {
  MK_DATA="$MK_TMP/data"
  rm -f "$MK_DATA/mkeyd.url"
  "$MKEYD" --data "$MK_DATA" --listen 127.0.0.1:0 --sandbox "$@" >>"$MK_TMP/mkeyd.log" 2>&1 &
  MKEYD_PID=$!
  local i
  # First start makes the sandbox CAs (RSA-3072 keys): allow a minute on a
  # loaded machine under sanitizers.
  for i in $(seq 1 1200); do
    if [ -s "$MK_DATA/mkeyd.url" ]; then break; fi
    if ! kill -0 "$MKEYD_PID" 2>/dev/null; then
      echo "mkeyd exited during start:"; cat "$MK_TMP/mkeyd.log"; exit 1
    fi
    sleep 0.05
  done
  MK_URL=$(cat "$MK_DATA/mkeyd.url")
  for i in $(seq 1 200); do
    if curl -fsS -o /dev/null "$MK_URL/v1/health" 2>/dev/null; then
      export MKEY_SERVER="$MK_URL"
      return 0
    fi
    sleep 0.05
  done
  echo "mkeyd did not become healthy at $MK_URL"; cat "$MK_TMP/mkeyd.log"; exit 1
}

# Graceful stop: SIGTERM must end mkeyd with status 0 within 15 s.
mk_stop() {
  [ -n "$MKEYD_PID" ] || return 0
  kill -TERM "$MKEYD_PID"
  local i
  for i in $(seq 1 300); do
    kill -0 "$MKEYD_PID" 2>/dev/null || break
    sleep 0.05
  done
  local rc=0
  wait "$MKEYD_PID" || rc=$?
  MKEYD_PID=""
  expect_eq "mkeyd stops cleanly on SIGTERM" "$rc" "0"
}

# http METHOD PATH [curl args...]
http() {
  local method=$1 path=$2; shift 2
  HTTP_STATUS=$(curl -sS -X "$method" -o "$MK_TMP/body" -D "$MK_TMP/headers" \
    -w '%{http_code}' "$@" "$MK_URL$path") || HTTP_STATUS=000
  HTTP_BODY=$(cat "$MK_TMP/body")
  HTTP_HEADERS=$(tr -d '\r' <"$MK_TMP/headers")
}

header() { printf '%s\n' "$HTTP_HEADERS" | awk -v h="$(echo "$1" | tr 'A-Z' 'a-z')" \
  -F': ' 'tolower($1) == h { sub(/^[^:]*: /, ""); print; exit }'; }

# json_get EXPR: evaluate a Python expression over the parsed body `j`.
json_get() {
  local src="${HTTP_BODY:-}"
  if [ "${2:-}" = "-" ]; then src=$(cat); fi
  printf '%s' "$src" | python3 -c '
import json, sys
j = json.load(sys.stdin)
v = eval(sys.argv[1])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$1" 2>/dev/null \
    || echo "<not json>"
}

# A problem+json answer with the given status and type.
expect_problem() {
  local what=$1 status=$2 type=$3
  expect_eq "$what: status" "$HTTP_STATUS" "$status"
  expect_eq "$what: problem+json" "$(header Content-Type)" "application/problem+json"
  expect_eq "$what: type" "$(json_get 'j["type"]')" "$type"
  expect_eq "$what: status in body" "$(json_get 'j["status"]')" "$status"
}

# mk_login PROFILE PHONE: request a login code, read it from the sandbox SMS
# outbox as the platform operator, and log in with it. Fails (non-zero) when
# any step does.
mk_login() {
  local profile=$1 phone=$2 code
  "$MKEY" --profile "$profile" login --phone "$phone" </dev/null >/dev/null || return 1
  code=$(curl -fsS -H "Authorization: Bearer $(head -1 "$MK_DATA/admin.token")" \
    "$MK_URL/v1/admin/sms-outbox?phone=$phone" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["items"][0]["code"])') || return 1
  "$MKEY" --profile "$profile" login --phone "$phone" --code "$code" </dev/null >/dev/null
}

# mk_verify PROFILE NAME ID_NUMBER: real-name verification of a logged-in
# profile by CFCA (docs/identity.md lists what the sandbox refuses).
mk_verify() {
  "$MKEY" --profile "$1" realname --method cfca --name "$2" --id-number "$3" </dev/null >/dev/null
}

mk_done() {
  echo "$MK_PASSED passed, $MK_FAILED failed"
  [ "$MK_FAILED" -eq 0 ]
}
