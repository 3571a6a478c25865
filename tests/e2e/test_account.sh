#!/usr/bin/env bash
# Accounts as users see them (登录, 设置): register and log in by SMS code,
# wrong and burnt codes, the resend throttle, logout, sessions bound to their
# device, passwords (set, login, change, forgotten), phone change, WeChat
# login with phone binding, the operator-only SMS outbox, and rate limits.
. "$(dirname "$0")/harness.sh"

A=13800000001
B=13900000002
NEWA=13700000007
OP_TOKEN=""

# The newest code in the sandbox outbox of a number.
latest_code() {
  curl -fsS -H "Authorization: Bearer $OP_TOKEN" "$MK_URL/v1/admin/sms-outbox?phone=$1" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["items"][0]["code"])'
}
outbox_count() {
  curl -fsS -H "Authorization: Bearer $OP_TOKEN" "$MK_URL/v1/admin/sms-outbox?phone=$1" |
    python3 -c 'import json, sys; print(len(json.load(sys.stdin)["items"]))'
}
profile_get() {
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' \
    "$MKEY_HOME/profiles/$1/profile.json" "$2"
}
post_json() { # post_json PATH JSON [curl args]
  local path=$1 body=$2; shift 2
  http POST "$path" -H 'Content-Type: application/json' -d "$body" "$@"
}
private_file() { # private_file NAME CONTENT
  printf '%s\n' "$2" >"$MK_TMP/$1"
  chmod 600 "$MK_TMP/$1"
}

mk_start
OP_TOKEN=$(head -1 "$MK_DATA/admin.token")

# ---- register with an SMS code ----
check "login without --code sends a code (no terminal)" "$MKEY" --profile alice login --phone $A
case "$(cat "$MK_TMP/out")" in *"SMS code was sent to 138****0001"*) pass "says where the code went, masked" ;;
  *) fail "says where the code went: $(cat "$MK_TMP/out")" ;; esac
expect_eq "one message in the outbox" "$(outbox_count $A)" "1"
code=$(latest_code $A)
case "$code" in [0-9][0-9][0-9][0-9][0-9][0-9]) pass "code has 6 digits" ;; *) fail "code: '$code'" ;; esac
wrong=$(printf '%06d' $(( (10#$code + 1) % 1000000 )))
"$MKEY" --profile alice login --phone $A --code "$wrong" >/dev/null 2>"$MK_TMP/err"
expect_eq "wrong code: exit 1" "$?" "1"
case "$(cat "$MK_TMP/err")" in *"wrong code (4 of 5 tries left)"*) pass "wrong code says tries left" ;;
  *) fail "wrong code message: $(cat "$MK_TMP/err")" ;; esac
check "right code logs in" "$MKEY" --profile alice --json login --phone $A --code "$code"
expect_eq "first login creates the account" "$(json_get 'j["new_account"]' - <"$MK_TMP/out")" "true"
ALICE_ID=$(json_get 'j["account_id"]' - <"$MK_TMP/out")
case "$ALICE_ID" in acc_*) pass "account id" ;; *) fail "account id: $ALICE_ID" ;; esac
if grep -q '"token"' "$MK_TMP/out"; then fail "--json output leaves the token out"; else pass "--json output leaves the token out"; fi
expect_eq "profile role" "$(profile_get alice role)" "account"
expect_eq "profile is private" "$(stat -c %a "$MKEY_HOME/profiles/alice/profile.json")" "600"
ALICE_TOKEN=$(profile_get alice token)
ALICE_DEV=$(profile_get alice device)
post_json /v1/sessions "{\"phone\":\"$A\",\"code\":\"$code\",\"device_id\":\"$ALICE_DEV\"}"
expect_problem "a used code does not log in again" 410 /problems/expired

# Codes stay out of logs and out of the database (only their HMAC is kept).
if grep -q "$code" "$MK_TMP/mkeyd.log"; then fail "code not in mkeyd's log"; else pass "code not in mkeyd's log"; fi
if sqlite3 "$MK_DATA/mkey.db" "SELECT * FROM sms_code" | grep -q "$code"; then
  fail "sms_code keeps no code"; else pass "sms_code keeps no code"; fi

check "mk_login logs in a second account" mk_login bob $B
expect_eq "bob is another account" "$( [ "$(profile_get bob account_id)" != "$ALICE_ID" ] && echo yes)" "yes"

# ---- resend throttle and burnt codes ----
post_json /v1/sms-codes "{\"phone\":\"$B\",\"purpose\":\"login\"}"
expect_eq "code request: 202" "$HTTP_STATUS" "202"
expect_eq "answer masks the number" "$(json_get 'j["phone"]')" "139****0002"
post_json /v1/sms-codes "{\"phone\":\"$B\",\"purpose\":\"login\"}"
expect_problem "resend within 60 s" 429 /problems/rate-limited
bcode=$(latest_code $B)
bwrong=$(printf '%06d' $(( (10#$bcode + 7) % 1000000 )))
BOB_DEV=$(profile_get bob device)
for i in 1 2 3 4; do
  post_json /v1/sessions "{\"phone\":\"$B\",\"code\":\"$bwrong\",\"device_id\":\"$BOB_DEV\"}"
done
expect_problem "4th wrong code" 401 /problems/unauthenticated
expect_eq "wrong code names the field" "$(json_get 'j["errors"][0]["field"]')" "code"
post_json /v1/sessions "{\"phone\":\"$B\",\"code\":\"$bwrong\",\"device_id\":\"$BOB_DEV\"}"
expect_problem "5th wrong code" 401 /problems/unauthenticated
case "$(json_get 'j["detail"]')" in *void*) pass "5th wrong try voids the code" ;; *) fail "5th: $HTTP_BODY" ;; esac
post_json /v1/sessions "{\"phone\":\"$B\",\"code\":\"$bcode\",\"device_id\":\"$BOB_DEV\"}"
expect_problem "the right code after 5 wrong tries" 410 /problems/expired
check_fails "CLI with the burnt code fails" "$MKEY" --profile bob2 login --phone $B --code "$bcode"

# ---- bad input ----
post_json /v1/sms-codes '{"phone":"12345","purpose":"login"}'
expect_problem "bad phone" 422 /problems/validation-failed
expect_eq "bad phone names the field" "$(json_get 'j["errors"][0]["field"]')" "phone"
post_json /v1/sms-codes "{\"phone\":\"$A\",\"purpose\":\"spam\"}"
expect_problem "bad purpose" 422 /problems/validation-failed
expect_eq "bad purpose names the field" "$(json_get 'j["errors"][0]["field"]')" "purpose"
post_json /v1/sms-codes "{\"phone\":\"$A\",\"purpose\":\"login\",\"extra\":1}"
expect_problem "unknown key" 422 /problems/validation-failed
post_json /v1/sessions "{\"phone\":\"$A\",\"code\":\"12ab56\",\"device_id\":\"$ALICE_DEV\"}"
expect_problem "malformed code" 422 /problems/validation-failed
post_json /v1/sessions "{\"phone\":\"$A\",\"code\":\"123456\",\"device_id\":\"laptop\"}"
expect_problem "bad device id" 422 /problems/validation-failed
expect_eq "bad device names the field" "$(json_get 'j["errors"][0]["field"]')" "device_id"
post_json /v1/sms-codes "{\"phone\":\"$NEWA\",\"purpose\":\"change_phone\"}"
expect_problem "change_phone code without a session" 401 /problems/unauthenticated
"$MKEY" --profile x login --phone 123 >/dev/null 2>&1
expect_eq "CLI: bad --phone is a usage error" "$?" "2"
"$MKEY" --profile x login >/dev/null 2>&1
expect_eq "CLI: no --phone is a usage error" "$?" "2"

# ---- the outbox is the operator's ----
http GET "/v1/admin/sms-outbox?phone=$A"
expect_problem "outbox without a token" 401 /problems/unauthenticated
http GET "/v1/admin/sms-outbox?phone=$A" -H "Authorization: Bearer $ALICE_TOKEN" -H "Mkey-Device: $ALICE_DEV"
expect_problem "outbox with an account token" 401 /problems/unauthenticated
check_fails "mkey admin sms-outbox as an account" "$MKEY" --profile alice admin sms-outbox --phone $A
check "mkey admin login" "$MKEY" --profile ops admin login --token-file "$MK_DATA/admin.token"
check "mkey admin sms-outbox --json" "$MKEY" --profile ops --json admin sms-outbox --phone $A
expect_eq "outbox lists alice's code" "$(json_get 'j[0]["code"]' - <"$MK_TMP/out")" "$code"
check "mkey admin sms-outbox" "$MKEY" --profile ops admin sms-outbox --phone $A
case "$(cat "$MK_TMP/out")" in *"$code"*"验证码"*) pass "outbox text lists the code and message" ;;
  *) fail "outbox text: $(cat "$MK_TMP/out")" ;; esac

# ---- sessions are bound to their device ----
http GET /v1/attachments/att_00000000000000000000000000 -H "Authorization: Bearer $ALICE_TOKEN" -H "Mkey-Device: $BOB_DEV"
expect_problem "alice's token from bob's device" 401 /problems/unauthenticated
http GET /v1/attachments/att_00000000000000000000000000 -H "Authorization: Bearer $ALICE_TOKEN"
expect_problem "alice's token without a device" 401 /problems/unauthenticated
http GET /v1/attachments/att_00000000000000000000000000 -H "Authorization: Bearer $ALICE_TOKEN" -H "Mkey-Device: $ALICE_DEV"
expect_eq "alice's token on her device passes authentication" "$HTTP_STATUS" "404"
# A copy of alice's token in another profile (another device) is refused.
mkdir -p "$MKEY_HOME/profiles/mallory"
python3 - "$MKEY_HOME/profiles/bob/profile.json" "$MKEY_HOME/profiles/mallory/profile.json" "$ALICE_TOKEN" <<'EOF'
import json, os, sys
p = json.load(open(sys.argv[1]))
p["token"] = sys.argv[3]
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps(p).encode())
os.close(fd)
EOF
chmod 700 "$MKEY_HOME/profiles/mallory"
private_file pw_mallory "mallory2024pass"
"$MKEY" --profile mallory password set --password-file "$MK_TMP/pw_mallory" >/dev/null 2>"$MK_TMP/err"
expect_eq "alice's token copied to another profile: refused" "$?" "1"
case "$(cat "$MK_TMP/err")" in *"another device"*) pass "refusal names the device" ;;
  *) fail "refusal: $(cat "$MK_TMP/err")" ;; esac

# ---- passwords ----
private_file pw1 "alice2024pass"
private_file pw2 "newSecret99"
private_file pw3 "reset4you2"
private_file weak "short1"
check_fails "a weak password is refused" "$MKEY" --profile alice password set --password-file "$MK_TMP/weak"
cp "$MK_TMP/pw1" "$MK_TMP/pw_open"; chmod 644 "$MK_TMP/pw_open"
check_fails "a password file others can read is refused" "$MKEY" --profile alice password set --password-file "$MK_TMP/pw_open"
check_fails "password set without a file or terminal fails" "$MKEY" --profile alice password set
check "alice sets a password" "$MKEY" --profile alice password set --password-file "$MK_TMP/pw1"
check "password login on a second device" "$MKEY" --profile alice2 --json login --phone $A --password-file "$MK_TMP/pw1"
expect_eq "password login: existing account" "$(json_get 'j["new_account"]' - <"$MK_TMP/out")" "false"
expect_eq "same account on both devices" "$(profile_get alice2 account_id)" "$ALICE_ID"
A2_DEV=$(profile_get alice2 device)
post_json /v1/sessions "{\"phone\":\"$A\",\"password\":\"wrongpass1\",\"device_id\":\"$A2_DEV\"}"
expect_problem "wrong password" 401 /problems/unauthenticated
wrong_detail=$(json_get 'j["detail"]')
post_json /v1/sessions "{\"phone\":\"13600000009\",\"password\":\"wrongpass1\",\"device_id\":\"$A2_DEV\"}"
expect_problem "unknown phone" 401 /problems/unauthenticated
expect_eq "unknown phone and wrong password read the same" "$(json_get 'j["detail"]')" "$wrong_detail"
post_json /v1/sessions "{\"phone\":\"$B\",\"password\":\"wrongpass1\",\"device_id\":\"$A2_DEV\"}"
expect_eq "account without a password reads the same" "$(json_get 'j["detail"]')" "$wrong_detail"
post_json /v1/sessions "{\"phone\":\"$A\",\"code\":\"123456\",\"password\":\"x\",\"device_id\":\"$A2_DEV\"}"
expect_problem "code and password together" 422 /problems/validation-failed
check_fails "set when one is set needs the old one" "$MKEY" --profile alice password set --password-file "$MK_TMP/pw2"
"$MKEY" --profile alice password change --old-password-file "$MK_TMP/pw2" --new-password-file "$MK_TMP/pw2" >/dev/null 2>"$MK_TMP/err"
expect_eq "change with a wrong old password: exit 1" "$?" "1"
case "$(cat "$MK_TMP/err")" in *"old password is wrong"*"403"*) pass "wrong old password: 403" ;;
  *) fail "wrong old password: $(cat "$MK_TMP/err")" ;; esac
check "change with the old password" "$MKEY" --profile alice password change --old-password-file "$MK_TMP/pw1" --new-password-file "$MK_TMP/pw2"
case "$(cat "$MK_TMP/out")" in *"1 other session ended"*) pass "change ends the other session" ;;
  *) fail "change: $(cat "$MK_TMP/out")" ;; esac
check_fails "alice2's session ended by the change" "$MKEY" --profile alice2 password set --password-file "$MK_TMP/pw1"
check_fails "old password no longer logs in" "$MKEY" --profile alice3 login --phone $A --password-file "$MK_TMP/pw1"
check "new password logs in" "$MKEY" --profile alice3 login --phone $A --password-file "$MK_TMP/pw2"

# forgotten password
before=$(outbox_count 13600000009)
post_json /v1/sms-codes '{"phone":"13600000009","purpose":"reset_password"}'
expect_eq "reset code for an unknown number: same 202" "$HTTP_STATUS" "202"
expect_eq "but nothing is sent" "$(outbox_count 13600000009)" "$before"
check "password reset sends a code" "$MKEY" --profile alice password reset --phone $A
rcode=$(latest_code $A)
check_fails "reset with a wrong code" "$MKEY" --profile alice password reset --phone $A \
  --code "$(printf '%06d' $(( (10#$rcode + 3) % 1000000 )))" --new-password-file "$MK_TMP/pw3"
check "reset with the code" "$MKEY" --profile alice password reset --phone $A --code "$rcode" --new-password-file "$MK_TMP/pw3"
expect_eq "reset forgets the profile's ended session" "$(profile_get alice token)" ""
check_fails "alice3's session ended by the reset" "$MKEY" --profile alice3 password set --password-file "$MK_TMP/pw1"
check_fails "the previous password is gone" "$MKEY" --profile alice login --phone $A --password-file "$MK_TMP/pw2"
check "the reset password logs in" "$MKEY" --profile alice login --phone $A --password-file "$MK_TMP/pw3"

# ---- logout ----
check "alice3 logs in again" "$MKEY" --profile alice3 login --phone $A --password-file "$MK_TMP/pw3"
A3_TOKEN=$(profile_get alice3 token); A3_DEV=$(profile_get alice3 device)
check "mkey logout" "$MKEY" --profile alice3 logout
expect_eq "logout forgets the token" "$(profile_get alice3 token)" ""
http DELETE /v1/sessions/current -H "Authorization: Bearer $A3_TOKEN" -H "Mkey-Device: $A3_DEV"
expect_problem "the ended session is refused" 401 /problems/unauthenticated
check_fails "commands after logout fail" "$MKEY" --profile alice3 password set --password-file "$MK_TMP/pw1"
check "logout again says not logged in" "$MKEY" --profile alice3 logout
case "$(cat "$MK_TMP/out")" in "not logged in"*) pass "second logout" ;; *) fail "second logout: $(cat "$MK_TMP/out")" ;; esac

# ---- phone change ----
# Asking for a code to a taken number answers as for a free one, so nobody
# learns which numbers have accounts; no code is sent to it and none works.
nb=$(outbox_count $B)
check "asking to change to a number that has an account answers alike" "$MKEY" --profile alice \
  phone change --phone $B
expect_eq "no code is sent to the taken number" "$(outbox_count $B)" "$nb"
check_fails "and no code changes to it" "$MKEY" --profile alice phone change --phone $B --code 000000
check "phone change sends a code to the new number" "$MKEY" --profile alice phone change --phone $NEWA
ncode=$(latest_code $NEWA)
check_fails "phone change with a wrong code" "$MKEY" --profile alice phone change --phone $NEWA \
  --code "$(printf '%06d' $(( (10#$ncode + 5) % 1000000 )))"
check_fails "bob cannot use alice's change code" "$MKEY" --profile bob phone change --phone $NEWA --code "$ncode"
check "alice2 logs in again before the change" "$MKEY" --profile alice2 login --phone $A --password-file "$MK_TMP/pw3"
check "phone change with the code" "$MKEY" --profile alice phone change --phone $NEWA --code "$ncode"
case "$(cat "$MK_TMP/out")" in *"137****0007; 1 other session ended"*) pass "phone change ends the other session" ;;
  *) fail "phone change: $(cat "$MK_TMP/out")" ;; esac
check_fails "alice2's session ended by the phone change" "$MKEY" --profile alice2 password set --password-file "$MK_TMP/pw1"
expect_eq "profile keeps the new number" "$(profile_get alice phone)" "$NEWA"
check "alice's session survives her change" "$MKEY" --profile alice password change --old-password-file "$MK_TMP/pw3" --new-password-file "$MK_TMP/pw1"
check "the new number logs in with the password" "$MKEY" --profile alice4 --json login --phone $NEWA --password-file "$MK_TMP/pw1"
expect_eq "same account under the new number" "$(profile_get alice4 account_id)" "$ALICE_ID"
check_fails "the old number no longer logs in with the password" "$MKEY" --profile alice5 login --phone $A --password-file "$MK_TMP/pw1"
check "the old number is free: a new account" mk_login carol $A
expect_eq "carol is not alice" "$( [ "$(profile_get carol account_id)" != "$ALICE_ID" ] && echo yes)" "yes"

# ---- WeChat login ----
W=13500000011
wopenid=$(printf 'mkey sandbox wechat openid v1:%s' wxuser | sha256sum | cut -c1-24)
http GET "/v1/sandbox/wechat/consent?user=wxuser&state=s1"
expect_eq "sandbox consent page" "$HTTP_STATUS" "200"
expect_eq "consent echoes state" "$(json_get 'j["state"]')" "s1"
wcode=$(json_get 'j["code"]')
WX_DEV=dev_000000000000000000000000wx
post_json /v1/wechat/sessions "{\"code\":\"$wcode\",\"device_id\":\"$WX_DEV\"}"
expect_eq "unbound WeChat user: 200 with a ticket" "$HTTP_STATUS" "200"
ticket=$(json_get 'j["binding_ticket"]')
expect_eq "ticket is 43 characters" "${#ticket}" "43"
post_json /v1/wechat/sessions "{\"code\":\"$wcode\",\"device_id\":\"$WX_DEV\"}"
expect_problem "an authorization code is single use" 401 /problems/unauthenticated
http GET "/v1/sandbox/wechat/consent?user=bad%20name"
expect_problem "bad sandbox user" 422 /problems/validation-failed
post_json /v1/sms-codes "{\"phone\":\"$W\",\"purpose\":\"login\"}"
post_json /v1/wechat/bindings "{\"binding_ticket\":\"$ticket\",\"phone\":\"$W\",\"code\":\"$(printf '%06d' $(( (10#$(latest_code $W) + 1) % 1000000 )))\",\"device_id\":\"$WX_DEV\"}"
expect_problem "binding with a wrong code" 401 /problems/unauthenticated
post_json /v1/wechat/bindings "{\"binding_ticket\":\"$ticket\",\"phone\":\"$W\",\"code\":\"$(latest_code $W)\",\"device_id\":\"$WX_DEV\"}"
expect_eq "binding with the code: 201" "$HTTP_STATUS" "201"
expect_eq "binding a new number creates its account" "$(json_get 'j["new_account"]')" "true"
post_json /v1/wechat/bindings "{\"binding_ticket\":\"$ticket\",\"phone\":\"$W\",\"code\":\"123456\",\"device_id\":\"$WX_DEV\"}"
expect_problem "a ticket binds once" 410 /problems/expired
expect_eq "the sandbox openid is documented" "$(sqlite3 "$MK_DATA/mkey.db" "SELECT wechat_openid FROM account WHERE phone = '$W'")" "osbx_$wopenid"
check "mkey wechat login: a bound user logs straight in" "$MKEY" --profile wx --json wechat login --user wxuser
expect_eq "same account as the binding" "$(json_get 'j["account_id"]' - <"$MK_TMP/out")" \
  "$(sqlite3 "$MK_DATA/mkey.db" "SELECT id FROM account WHERE phone = '$W'")"
expect_eq "WeChat session kept in the profile" "$(profile_get wx role)" "account"
check "the WeChat session works" "$MKEY" --profile wx password set --password-file "$MK_TMP/pw1"
# CLI binding of an existing account (bob) by SMS
"$MKEY" --profile wxbob wechat login --user bobwx >/dev/null 2>"$MK_TMP/err"
expect_eq "unbound without --phone: exit 1" "$?" "1"
case "$(cat "$MK_TMP/err")" in *"--phone"*) pass "says to bind with --phone" ;; *) fail "unbound: $(cat "$MK_TMP/err")" ;; esac
check "wechat login --phone sends a code" "$MKEY" --profile wxbob wechat login --user bobwx --phone $B
check "wechat login --phone --code binds" "$MKEY" --profile wxbob wechat login --user bobwx --phone $B --code "$(latest_code $B)"
case "$(cat "$MK_TMP/out")" in "WeChat bound to 139****0002; logged in"*) pass "binding message" ;; *) fail "binding: $(cat "$MK_TMP/out")" ;; esac
expect_eq "bound to bob's account" "$(profile_get wxbob account_id)" "$(profile_get bob account_id)"
check "bob's WeChat logs in afterwards" "$MKEY" --profile wxbob2 wechat login --user bobwx
expect_eq "as bob" "$(profile_get wxbob2 account_id)" "$(profile_get bob account_id)"
http GET "/v1/sandbox/wechat/consent?user=other&state=s2"
ocode=$(json_get 'j["code"]')
post_json /v1/wechat/sessions "{\"code\":\"$ocode\",\"device_id\":\"$WX_DEV\"}"
oticket=$(json_get 'j["binding_ticket"]')
post_json /v1/sms-codes "{\"phone\":\"$B\",\"purpose\":\"login\"}"
post_json /v1/wechat/bindings "{\"binding_ticket\":\"$oticket\",\"phone\":\"$B\",\"code\":\"$(latest_code $B)\",\"device_id\":\"$WX_DEV\"}"
expect_problem "an account bound to another WeChat user refuses a second" 409 /problems/conflict

# ---- audit ----
n=$(sqlite3 "$MK_DATA/mkey.db" "SELECT COUNT(*) FROM audit_event WHERE account_id = '$ALICE_ID' AND action IN ('account.create','account.login','session.end','account.password_set','account.password_change','account.password_reset','account.phone_change')")
if [ "$n" -ge 10 ]; then pass "account events are audited ($n)"; else fail "audited account events: $n"; fi
expect_eq "audit detail masks numbers" "$(sqlite3 "$MK_DATA/mkey.db" "SELECT detail FROM audit_event WHERE action = 'account.phone_change'")" \
  '{"from":"138****0001","sessions_ended":1,"to":"137****0007"}'

mk_stop

# ---- outside sandbox mode the simulated WeChat does not exist ----
mk_start --no-sandbox --insecure-http
http GET "/v1/sandbox/wechat/consent?user=wxuser&state=s1"
expect_problem "no consent page outside sandbox" 404 /problems/not-found
post_json /v1/wechat/sessions "{\"code\":\"abc\",\"device_id\":\"$WX_DEV\"}"
expect_problem "no WeChat provider configured" 502 /problems/upstream-failed
post_json /v1/sms-codes "{\"phone\":\"$A\",\"purpose\":\"login\"}"
expect_problem "no SMS provider configured" 502 /problems/upstream-failed
mk_stop

# ---- rate limits (fresh client addresses; small limits) ----
mk_start --sms-ip-limit 3 --sms-phone-limit 2
for i in 1 2 3; do
  post_json /v1/sms-codes "{\"phone\":\"1500000000$i\",\"purpose\":\"login\"}" --interface 127.0.0.3
  expect_eq "code $i from 127.0.0.3" "$HTTP_STATUS" "202"
done
post_json /v1/sms-codes '{"phone":"15000000004","purpose":"login"}' --interface 127.0.0.3
expect_problem "4th code from one address in an hour" 429 /problems/rate-limited
post_json /v1/sms-codes '{"phone":"15000000004","purpose":"login"}' --interface 127.0.0.4
expect_eq "another address may ask" "$HTTP_STATUS" "202"
DAVE_DEV=dev_0000000000000000000000dave
for i in 6 7; do
  post_json /v1/sms-codes '{"phone":"15000000005","purpose":"login"}' --interface 127.0.0.$i
  expect_eq "code $((i - 5)) to one number" "$HTTP_STATUS" "202"
  post_json /v1/sessions "{\"phone\":\"15000000005\",\"code\":\"$(latest_code 15000000005)\",\"device_id\":\"$DAVE_DEV\"}" --interface 127.0.0.$i
  expect_eq "login $((i - 5)) with it" "$HTTP_STATUS" "201"
done
post_json /v1/sms-codes '{"phone":"15000000005","purpose":"login"}' --interface 127.0.0.8
expect_problem "3rd code to one number in an hour, from a fresh address" 429 /problems/rate-limited
mk_stop
mk_done
