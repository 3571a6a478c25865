#!/usr/bin/env bash
# The mkey CLI against a real mkeyd: version, status (text and --json),
# profiles, help, --json lists as top-level arrays, and one-line errors with
# non-zero exits.
. "$(dirname "$0")/harness.sh"

check "mkey version" "$MKEY" version
version=$(awk '{print $2}' "$MK_TMP/out")
expect_eq "mkey version prints the version" "$(cat "$MK_TMP/out")" "mkey $version"
check "mkey --json version" "$MKEY" --json version
expect_eq "--json version" "$(json_get 'j["version"]' - <"$MK_TMP/out")" "$version"

# No server yet: status fails with one line and exit 1.
export MKEY_SERVER=http://127.0.0.1:9
"$MKEY" status >"$MK_TMP/out" 2>"$MK_TMP/err"
expect_eq "status without a server exits 1" "$?" "1"
expect_eq "status without a server: one line on stderr" "$(wc -l <"$MK_TMP/err")" "1"
case "$(cat "$MK_TMP/err")" in "mkey: cannot reach http://127.0.0.1:9"*) pass "error names the server" ;;
  *) fail "error names the server: $(cat "$MK_TMP/err")" ;; esac
expect_eq "nothing on stdout on error" "$(wc -c <"$MK_TMP/out")" "0"

mk_start

check "mkey status" "$MKEY" status
case "$(cat "$MK_TMP/out")" in *"$MK_URL"*ok*) pass "status text names server and ok" ;;
  *) fail "status text: $(cat "$MK_TMP/out")" ;; esac

check "mkey --json status" "$MKEY" --json status
out=$(cat "$MK_TMP/out")
expect_eq "--json status: version" "$(json_get 'j["version"]' - <<<"$out")" "$version"
expect_eq "--json status: status ok" "$(json_get 'j["status"]' - <<<"$out")" "ok"
expect_eq "--json status: store ok" "$(json_get 'j["store"]' - <<<"$out")" "ok"
expect_eq "--json status: server" "$(json_get 'j["server"]' - <<<"$out")" "$MK_URL"

# --server beats MKEY_SERVER.
check "--server flag" "$MKEY" --server "$MK_URL" --json status
check_fails "--server flag wins over the environment" env MKEY_SERVER="$MK_URL" \
  "$MKEY" --server http://127.0.0.1:9 status

# Profiles: one phone each, private files.
unset MKEY_SERVER
check "profile alice remembers a server" "$MKEY" --profile alice profile set-server "$MK_URL"
check "alice reaches the server from her profile" "$MKEY" --profile alice --json status
check_fails "bob has no server configured (default 127.0.0.1:8080 is not ours)" \
  "$MKEY" --profile bob --server http://127.0.0.1:9 status
check "profile list" "$MKEY" --json profile list
out=$(cat "$MK_TMP/out")
expect_eq "--json profile list is an array" "$(json_get 'type(j).__name__' - <<<"$out")" "list"
expect_eq "profile list names alice" \
  "$(json_get '[p["name"] for p in j if p["server"] == "'"$MK_URL"'"]' - <<<"$out")" '["alice"]'
expect_eq "profile directory 0700" "$(stat -c %a "$MKEY_HOME/profiles/alice")" "700"
bad=$(find "$MKEY_HOME" -type f ! -perm 600 | head -1)
expect_eq "every profile file 0600" "$bad" ""
check_fails "bad profile name refused" "$MKEY" --profile '../evil' status
export MKEY_SERVER="$MK_URL"

# Unknown commands and options: one line, exit 2.
"$MKEY" frobnicate >"$MK_TMP/out" 2>"$MK_TMP/err"
expect_eq "unknown command exits 2" "$?" "2"
expect_eq "unknown command: one line" "$(wc -l <"$MK_TMP/err")" "1"
"$MKEY" status --bogus >"$MK_TMP/out" 2>"$MK_TMP/err"
expect_eq "unknown option exits 2" "$?" "2"
check "mkey help" "$MKEY" help
case "$(cat "$MK_TMP/out")" in *status*version*|*version*status*) pass "help lists commands" ;;
  *) fail "help lists commands: $(cat "$MK_TMP/out")" ;; esac
check "mkey help status" "$MKEY" help status
check "mkey --json help" "$MKEY" --json help
out=$(cat "$MK_TMP/out")
expect_eq "--json help is an array of commands" \
  "$(json_get 'isinstance(j, list) and all(set(c) == {"name", "summary"} for c in j) and {"help", "keytool", "profile", "status", "version"} <= {c["name"] for c in j}' - <<<"$out")" \
  'true'
check "mkey --json help status" "$MKEY" --json help status
out=$(cat "$MK_TMP/out")
expect_eq "--json help status is one object" "$(json_get 'sorted(j)' - <<<"$out")" \
  '["name", "summary", "usage"]'
expect_eq "--json help status: name" "$(json_get 'j["name"]' - <<<"$out")" "status"

mk_stop
mk_done
