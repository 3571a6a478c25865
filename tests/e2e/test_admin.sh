#!/usr/bin/env bash
# The platform operator: mkeyd writes an operator token at first start, keeps
# only its hash, and operator routes need it; `mkey admin login` keeps it in
# a profile after the server confirms it.
. "$(dirname "$0")/harness.sh"

mk_start
tok="$MK_DATA/admin.token"
expect_eq "admin.token written at first start, private" "$(stat -c %a "$tok")" "600"
expect_eq "token is 43 base64url characters" "$(head -1 "$tok" | tr -d '\n' | wc -c)" "43"
if sqlite3 "$MK_DATA/mkey.db" "SELECT token_sha256 FROM operator_token" | grep -q "$(head -1 "$tok")"; then
  fail "database keeps only a hash of the token"
else pass "database keeps only a hash of the token"; fi

http GET /v1/admin/session
expect_problem "operator route without a token" 401 /problems/unauthenticated
expect_eq "401 says Bearer" "$(header WWW-Authenticate)" "Bearer"
http GET /v1/admin/session -H "Authorization: Bearer not-the-token"
expect_problem "operator route with a wrong token" 401 /problems/unauthenticated
http GET /v1/admin/session -H "Authorization: Bearer $(head -1 "$tok")"
expect_eq "operator route with the token" "$HTTP_STATUS" "200"
expect_eq "role operator" "$(json_get 'j["role"]')" "operator"

check "mkey admin login" "$MKEY" --profile ops admin login --token-file "$tok"
check "--json admin login" "$MKEY" --profile ops2 --json admin login --token-file "$tok"
expect_eq "login says operator" "$(json_get 'j["role"]' - <"$MK_TMP/out")" "operator"
expect_eq "profile keeps the token privately" "$(stat -c %a "$MKEY_HOME/profiles/ops/profile.json")" "600"

printf 'wrong-token\n' >"$MK_TMP/bad.token"
chmod 600 "$MK_TMP/bad.token"
"$MKEY" --profile bad admin login --token-file "$MK_TMP/bad.token" >/dev/null 2>"$MK_TMP/err"
expect_eq "wrong token refused, exit 1" "$?" "1"
case "$(cat "$MK_TMP/err")" in "mkey: the operator token is not valid"*) pass "refusal names the problem" ;;
  *) fail "refusal names the problem: $(cat "$MK_TMP/err")" ;; esac
cp "$tok" "$MK_TMP/open.token" && chmod 644 "$MK_TMP/open.token"
check_fails "token file readable by others refused" "$MKEY" --profile bad admin login \
  --token-file "$MK_TMP/open.token"
"$MKEY" admin login >/dev/null 2>&1
expect_eq "login without --token-file exits 2" "$?" "2"

first=$(cat "$tok")
mk_stop
mk_start
expect_eq "restart keeps the token" "$(cat "$tok")" "$first"
http GET /v1/admin/session -H "Authorization: Bearer $first"
expect_eq "token still valid after restart" "$HTTP_STATUS" "200"
mk_stop
mk_done
