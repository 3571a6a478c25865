#!/usr/bin/env bash
# Real-name verification, platforms, 我的 and help as users meet them, with
# several profiles (phones): each verification method through `mkey
# realname` (Alipay with the sandbox face result), refusals, one account per
# ID number, re-verification against the stored identity, validators'
# problem+json, the rate limit, platforms list/nearest/use, GET /v1/me's next
# step (去认证 → 去申请 → nothing while the CA reviews → 去下载), shortcuts, `mkey
# cache clear`, and the 智能客服.
. "$(dirname "$0")/harness.sh"

ID1=330402199003071237 # INTEROP.md: valid check digits
ID2=320602198506154565
ID3=341802199209207894
ID4=310115198001011238 # check digit computed per GB 11643
ID_REFUSED=330402199003079992 # sequence code 999: the sandbox refuses it
CARD=6222021000123456781 # INTEROP.md: Luhn-valid
DATA=$MKEY_SOURCE_DIR/tests/data

mk_start

# http as a logged-in profile: its token and device from profile.json.
as_http() {
  local p=$1 method=$2 path=$3; shift 3
  local f="$MKEY_HOME/profiles/$p/profile.json" tok dev
  tok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$f")
  dev=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["device"])' "$f")
  http "$method" "$path" -H "Authorization: Bearer $tok" -H "Mkey-Device: $dev" "$@"
}
OUT() { json_get "$1" - <"$MK_TMP/out"; }
JSON=(-H 'Content-Type: application/json')

# ---- platforms (public) --------------------------------------------------------
check "mkey --json platform list" "$MKEY" --json platform list
expect_eq "the registry has the alliance members and the alliance" \
  "$(OUT 'sorted(p["id"] for p in j if p["id"] in ("plt_jiaxing", "plt_nantong", "plt_xuancheng", "plt_csj_alliance"))')" \
  '["plt_csj_alliance", "plt_jiaxing", "plt_nantong", "plt_xuancheng"]'
expect_eq "four provinces and the alliance" \
  "$(OUT 'sorted({p["province"] for p in j}) == ["上海", "安徽", "江苏", "浙江", "长三角"]')" true
expect_eq "members name 长三角CA互认平台" \
  "$(OUT '[p["alliance"]["name"] for p in j if p["id"] == "plt_nantong"] == ["长三角CA互认平台"]')" true
check "mkey platform list --province 江苏省" "$MKEY" --json platform list --province 江苏省
expect_eq "only 江苏" "$(OUT 'sorted({p["province"] for p in j}) == ["江苏"] and len(j) >= 8')" true
check "mkey platform show plt_csj_alliance" "$MKEY" platform show plt_csj_alliance
case "$(cat "$MK_TMP/out")" in *plt_jiaxing*plt_nantong*plt_xuancheng*) pass "alliance shows its members" ;;
  *) fail "alliance shows its members: $(head -c 300 "$MK_TMP/out")" ;; esac
check "mkey platform nearest (嘉兴)" "$MKEY" --json platform nearest --lat 30.7469 --lon 120.7555
expect_eq "嘉兴 first, with its alliance" \
  "$(OUT '[j[0]["id"], j[0]["distance_km"] < 1, j[0]["alliance"]["id"], len(j)]')" \
  '["plt_jiaxing", true, "plt_csj_alliance", 3]'
check "mkey platform nearest (宣城, text)" "$MKEY" platform nearest --lat 30.94 --lon 118.76 --limit 1
case "$(cat "$MK_TMP/out")" in plt_xuancheng*km*长三角CA互认平台*) pass "text nearest shows distance and alliance" ;;
  *) fail "text nearest: $(cat "$MK_TMP/out")" ;; esac
check_fails "nearest refuses latitude 91" "$MKEY" platform nearest --lat 91 --lon 120
http GET "/v1/platforms/nearest?lat=30.7"
expect_problem "nearest without lon" 400 /problems/bad-request
expect_eq "nearest names lon" "$(json_get 'j["errors"][0]["field"]')" "lon"
http GET "/v1/platforms/nearest?lat=1e1&lon=120"
expect_problem "nearest with an exponent" 400 /problems/bad-request
http GET "/v1/platforms/nearest?lat=30&lon=180.5"
expect_problem "nearest out of range" 400 /problems/bad-request
http GET "/v1/platforms/plt_nowhere"
expect_problem "unknown platform" 404 /problems/not-found
http GET "/v1/platforms?limit=2"
expect_eq "pages of 2 with a cursor" "$(json_get '[len(j["items"]), j["next_cursor"] is not None]')" '[2, true]'

# ---- help and 智能客服 (public) ----------------------------------------------------
check "mkey help-center (list)" "$MKEY" --json help-center
expect_eq "at least 25 articles" "$(OUT 'len(j) >= 25')" "true"
check "search 证书过期了怎么办" "$MKEY" --json help-center search 证书过期了怎么办
expect_eq "re-apply article in the top 3" "$(OUT '"hlp_reapply" in [i["id"] for i in j["items"][:3]]')" "true"
expect_eq "answer carries the service phone" "$(OUT 'j["service_phone"]')" "0512-58188000"
check "search 忘记密码 (text)" "$MKEY" help-center search 忘记密码
case "$(cat "$MK_TMP/out")" in 1.*hlp_change_password*客服电话\ 0512-58188000*) pass "text answer: article then phone" ;;
  *) fail "text answer: $(head -c 400 "$MK_TMP/out")" ;; esac
check "search 怎么加入企业" "$MKEY" --json help-center search 怎么加入企业
expect_eq "join article in the top 3" "$(OUT '"hlp_join" in [i["id"] for i in j["items"][:3]]')" true
check "help-center show hlp_recover" "$MKEY" help-center show hlp_recover
case "$(cat "$MK_TMP/out")" in *换了新手机*首次实名信息*) pass "article shown" ;;
  *) fail "article shown: $(head -c 300 "$MK_TMP/out")" ;; esac
check_fails "show an unknown article" "$MKEY" help-center show hlp_nope
http GET "/v1/help/search"
expect_problem "search without q" 400 /problems/bad-request
long=$(python3 -c 'print("证" * 101)')
http GET "/v1/help/search" -G --data-urlencode "q=$long"
expect_problem "q over 100 characters" 400 /problems/bad-request
expect_eq "q is named" "$(json_get 'j["errors"][0]["field"]')" "q"
http GET "/v1/help/search" -G --data-urlencode 'q=注销" OR body:* NEAR(a b)'
expect_eq "FTS syntax in q is text" "$HTTP_STATUS" "200"
expect_eq "and still finds the article" "$(json_get 'j["items"][0]["id"]')" "hlp_revoke"

# ---- accounts and 我的 ----------------------------------------------------------------
for p in alice:13800000001 bob:13800000002 carol:13800000003 dave:13800000004 erin:13800000005; do
  check "login ${p%%:*}" mk_login "${p%%:*}" "${p#*:}"
done
http GET /v1/me
expect_problem "GET /v1/me without a session" 401 /problems/unauthenticated
check "alice: mkey me (new account)" "$MKEY" --profile alice --json me
expect_eq "new account: 去认证, no identity, full phone" \
  "$(OUT '[j["next_step"], j["next_step_label"] == "去认证", j["identity"], j["phone"], j["roles"]]')" \
  '["verify", true, null, "13800000001", ["person"]]'
check "alice: mkey me (text)" "$MKEY" --profile alice me
case "$(cat "$MK_TMP/out")" in *"not verified"*去认证*0512-58188000*) pass "me text shows the next step" ;;
  *) fail "me text: $(cat "$MK_TMP/out")" ;; esac

# ---- CFCA ----------------------------------------------------------------------------
check "alice: mk_verify (CFCA)" mk_verify alice 张三 "$ID1"
check "alice: mkey realname show" "$MKEY" --profile alice --json realname show
expect_eq "identity stored, ID masked" "$(OUT '[j["name"] == "张三", j["id_number"], j["method"]]')" \
  '[true, "330402********1237", "cfca"]'
check "alice: mkey me (verified)" "$MKEY" --profile alice --json me
expect_eq "verified: 去申请" "$(OUT '[j["next_step"], j["identity"]["id_number"]]')" \
  '["apply", "330402********1237"]'
expect_eq "no full ID number in /v1/me" "$(grep -c "$ID1" "$MK_TMP/out")" "0"
check "alice: apply to a CA that reviews by hand" "$MKEY" --profile alice cert apply personal \
  --platform plt_jiaxing --ca ca_sbx_zjca --years 1 --form "$DATA/form.png"
check "alice: mkey me (under review)" "$MKEY" --profile alice --json me
expect_eq "under review: nothing to do" "$(OUT '[j["next_step"], j["next_step_label"]]')" '[null, null]'
check "alice: apply to the CA that approves at once" "$MKEY" --profile alice --json cert apply \
  personal --platform plt_csj_alliance --ca ca_sbx_ahca --years 1 --form "$DATA/form.png" \
  --attach power_of_attorney="$DATA/license.jpg"
ready=$(OUT 'j["id"]')
check "alice: mkey me (approved)" "$MKEY" --profile alice --json me
expect_eq "approved: 去下载 names the application" \
  "$(OUT '[j["next_step"], j["next_step_label"] == "去下载", j["next_step_application_id"]]')" \
  "[\"download\", true, \"$ready\"]"
expect_eq "messages about the applications are counted" "$(OUT 'j["unread_messages"] > 0')" "true"
check_fails "alice: a second verification is refused" "$MKEY" --profile alice realname --method cfca --name 张三 --id-number "$ID1"
grep -q "verified already" "$MK_TMP/err" && pass "says it is verified already" || fail "second verify: $(cat "$MK_TMP/err")"

# ---- refusals and duplicates -------------------------------------------------------------
check_fails "bob: the sandbox refuses 王不符" "$MKEY" --profile bob realname --method cfca --name 王不符 --id-number "$ID2"
expect_eq "one line on stderr" "$(wc -l <"$MK_TMP/err")" "1"
as_http bob POST /v1/me/identity "${JSON[@]}" -d "{\"method\":\"cfca\",\"name\":\"李四\",\"id_number\":\"$ID_REFUSED\"}"
expect_problem "ID number the sandbox does not find" 403 /problems/identity-refused
as_http bob POST /v1/me/identity "${JSON[@]}" -d "{\"method\":\"cfca\",\"name\":\"李四\",\"id_number\":\"$ID1\"}"
expect_problem "alice's ID number on bob" 409 /problems/conflict
expect_eq "names id_number" "$(json_get 'j["errors"][0]["field"]')" "id_number"
as_http bob POST /v1/me/identity "${JSON[@]}" -d '{"method":"cfca","name":"李四","id_number":"330402199003071238"}'
expect_problem "bad check digit" 422 /problems/validation-failed
expect_eq "names id_number" "$(json_get 'j["errors"][0]["field"]')" "id_number"
as_http bob POST /v1/me/identity "${JSON[@]}" -d "{\"method\":\"bankcard\",\"name\":\"李四\",\"id_number\":\"$ID2\",\"card_number\":\"6222021000123456782\",\"card_phone\":\"13812345678\"}"
expect_problem "card failing Luhn" 422 /problems/validation-failed
expect_eq "names card_number" "$(json_get 'j["errors"][0]["field"]')" "card_number"
as_http bob POST /v1/me/identity "${JSON[@]}" -d "{\"method\":\"bankcard\",\"name\":\"李四\",\"id_number\":\"$ID2\",\"card_number\":\"$CARD\",\"card_phone\":\"1381234567\"}"
expect_eq "names card_phone" "$(json_get 'j["errors"][0]["field"]')" "card_phone"

# ---- bank card four elements -----------------------------------------------------------
check_fails "bob: reserved phone the bank does not have" "$MKEY" --profile bob realname --method bankcard --name 李四 --id-number "$ID2" --card "$CARD" --card-phone 13900000000
grep -q "银行预留手机号不一致" "$MK_TMP/err" && pass "says why" || fail "bankcard refusal: $(cat "$MK_TMP/err")"
check "bob: bank card four elements" "$MKEY" --profile bob --json realname --method bankcard --name 李四 --id-number "$ID2" --card "$CARD" --card-phone 13812345678
expect_eq "bankcard verified, masked" "$(OUT '[j["method"], j["id_number"]]')" '["bankcard", "320602********4565"]'
expect_eq "no card number in the answer" "$(grep -c "$CARD" "$MK_TMP/out")" "0"

# ---- Alipay face --------------------------------------------------------------------------
check_fails "carol: face check fails" "$MKEY" --profile carol realname --method alipay --name 赵六 --id-number "$ID3" --face-result fail
grep -q "人脸比对不通过" "$MK_TMP/err" && pass "says the face did not match" || fail "face fail: $(cat "$MK_TMP/err")"
check "carol: face check passes" "$MKEY" --profile carol --json realname --method alipay --name 赵六 --id-number "$ID3" --face-result pass
expect_eq "alipay verified" "$(OUT '[j["method"], j["name"] == "赵六"]')" '["alipay", true]'
as_http dave POST /v1/me/identity/face-sessions "${JSON[@]}" -d "{\"name\":\"孙八\",\"id_number\":\"$ID4\"}"
expect_eq "face session started" "$HTTP_STATUS" "201"
fid=$(json_get 'j["face_session_id"]')
as_http dave POST /v1/me/identity "${JSON[@]}" -d "{\"method\":\"alipay\",\"face_session_id\":\"$fid\"}"
expect_problem "face check not finished" 409 /problems/conflict
check_fails "dave: --wait 0 gives up on a pending face check" "$MKEY" --profile dave realname --method alipay --name 孙八 --id-number "$ID4" --wait 0
as_http carol GET "/v1/me/identity/face-sessions/$fid"
expect_problem "another account's face session" 404 /problems/not-found
http POST "/v1/sandbox/face-sessions/$fid/result" "${JSON[@]}" -d '{"outcome":"pass"}'
expect_eq "sandbox face result recorded" "$HTTP_STATUS" "200"
as_http dave POST /v1/me/identity "${JSON[@]}" -d "{\"method\":\"alipay\",\"face_session_id\":\"$fid\",\"name\":\"孙八\"}"
expect_eq "dave verified with the face session" "$HTTP_STATUS" "201"
as_http dave POST /v1/me/identity/verifications "${JSON[@]}" -d "{\"method\":\"alipay\",\"face_session_id\":\"$fid\"}"
expect_problem "a used face session" 410 /problems/expired

# ---- re-verification (证书找回) ------------------------------------------------------------
check "alice: re-verify with the same identity" "$MKEY" --profile alice --json realname --again --method cfca --name 张三 --id-number "$ID1"
expect_eq "matches, with a verification id" "$(OUT '[j["match"], j["verification_id"][:4]]')" '[true, "idv_"]'
check "alice: re-verify by bank card" "$MKEY" --profile alice realname --again --method bankcard --name 张三 --id-number "$ID1" --card "$CARD" --card-phone 13812345678
case "$(cat "$MK_TMP/out")" in re-verified*idv_*) pass "text re-verification" ;; *) fail "text re-verification: $(cat "$MK_TMP/out")" ;; esac
check_fails "alice: re-verify as someone else" "$MKEY" --profile alice realname --again --method cfca --name 李四 --id-number "$ID2"
as_http alice POST /v1/me/identity/verifications "${JSON[@]}" -d "{\"method\":\"cfca\",\"name\":\"张叁\",\"id_number\":\"$ID1\"}"
expect_problem "re-verification mismatch" 403 /problems/identity-mismatch
as_http erin POST /v1/me/identity/verifications "${JSON[@]}" -d "{\"method\":\"cfca\",\"name\":\"周九\",\"id_number\":\"$ID4\"}"
expect_problem "re-verification before any verification" 409 /problems/conflict

# ---- rate limit ----------------------------------------------------------------------------
for i in 1 2 3 4 5 6 7 8 9 10; do
  as_http erin POST /v1/me/identity "${JSON[@]}" -d "{\"method\":\"cfca\",\"name\":\"王不符\",\"id_number\":\"$ID4\"}"
done
expect_eq "the 10th check is still answered" "$HTTP_STATUS" "403"
as_http erin POST /v1/me/identity "${JSON[@]}" -d "{\"method\":\"cfca\",\"name\":\"周九\",\"id_number\":\"$ID4\"}"
expect_problem "the 11th check in an hour" 429 /problems/rate-limited
check "alice is not limited by erin" "$MKEY" --profile alice realname --again --method cfca --name 张三 --id-number "$ID1"

# ---- platform choice, shortcuts ------------------------------------------------------------
check "alice: platform use plt_csj_alliance" "$MKEY" --profile alice platform use plt_csj_alliance
case "$(cat "$MK_TMP/out")" in *长三角CA互认平台*) pass "says the platform" ;; *) fail "platform use: $(cat "$MK_TMP/out")" ;; esac
check_fails "alice: an unknown platform" "$MKEY" --profile alice platform use plt_nowhere
check_fails "anonymous platform use" "$MKEY" --profile nobody platform use plt_jiaxing
check "alice: shortcuts set" "$MKEY" --profile alice me shortcuts set zone seal service
check_fails "alice: an unknown shortcut" "$MKEY" --profile alice me shortcuts set zone teleport
check "alice: mkey me" "$MKEY" --profile alice --json me
expect_eq "platform and shortcuts in /v1/me" \
  "$(OUT '[j["platform"]["id"], [s["id"] for s in j["shortcuts"]]]')" \
  '["plt_csj_alliance", ["zone", "seal", "service"]]'

# ---- cache clear -------------------------------------------------------------------------------
check "alice: list platforms (cached)" "$MKEY" --profile alice platform list
check "alice: list help articles (cached)" "$MKEY" --profile alice help-center
check "alice: cache clear" "$MKEY" --profile alice cache clear
case "$(cat "$MK_TMP/out")" in "removed 2 cached files"*help-articles.json*platforms.json*kept*) pass "says what was removed" ;;
  *) fail "cache clear: $(cat "$MK_TMP/out")" ;; esac
expect_eq "the cache is empty" "$(ls -A "$MKEY_HOME/profiles/alice/cache" | wc -l)" "0"
expect_eq "profile.json (token, device) kept" "$(test -s "$MKEY_HOME/profiles/alice/profile.json" && echo yes)" "yes"
check "alice still logged in" "$MKEY" --profile alice me
check "cache clear again" "$MKEY" --profile alice --json cache clear
expect_eq "nothing left" "$(OUT '[j["files"], j["removed"]]')" '[0, []]'

# ---- audit -----------------------------------------------------------------------------------
expect_eq "audit events for verifications, refusals, platform and shortcuts" \
  "$(python3 -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
acts = {r[0] for r in c.execute("SELECT action FROM audit_event")}
want = {"identity.verify", "identity.refused", "identity.duplicate", "identity.reverify",
        "identity.reverify_mismatch", "identity.face_start", "account.platform", "account.shortcuts"}
print(sorted(want - acts))
full = c.execute("SELECT COUNT(*) FROM audit_event WHERE detail LIKE ? OR detail LIKE ?",
                 ("%" + sys.argv[2] + "%", "%" + sys.argv[3] + "%")).fetchone()[0]
print(full)' "$MK_DATA/mkey.db" "$ID1" "$CARD" | tr '\n' ' ')" "[] 0 "

mk_stop
mk_done
