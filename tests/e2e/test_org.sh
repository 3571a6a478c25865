#!/usr/bin/env bash
# Enterprises and roles as people meet them, each person in a profile of
# their own: a natural person applies for a personal certificate; an admin
# claims an enterprise and the CA approves; others find it and ask to join
# (wrong admin details refused, the admin agrees or refuses); the admin
# invites by name and mobile number, the invitee accepts; authorisations are
# granted, listed by platform and by person, revoked; a member is removed;
# the admin role is transferred with an uploaded letter; the enterprise's
# information changes. Refusals: anonymous and unverified callers, wrong
# image types and oversized images, a claimed credit code, out-of-state and
# other-enterprise actions.
#
# People log in with mk_login and verify with mk_verify; the CA operator of
# ca_sbx_zjca decides with `mkey ca approve`, the sandbox CA with automatic
# review (ca_sbx_ahca) approves at once; the admin decides join requests with
# `mkey approve` / `mkey refuse`.
. "$(dirname "$0")/harness.sh"

D=$MK_TMP/org
DATA=$MKEY_SOURCE_DIR/tests/data
mkdir -p "$D"
mk_start
DB="$MK_DATA/mkey.db"
check "mkey admin login" "$MKEY" --profile ops admin login --token-file "$MK_DATA/admin.token"

USCC1=91330402MA2B3C4D53 # INTEROP.md: valid GB 32100 check characters
USCC2=91320602MA1X2Y3W4J
USCC3=91110000600037341L
LEGAL_ID=330402199003071210 # valid GB 11643 check digits (tests/unit/server/test_org.c)

# ---- people -----------------------------------------------------------------------
# person PROFILE PHONE [NAME ID_NUMBER]: logged in, verified when NAME is given.
person() {
  mk_login "$1" "$2" || return 1
  if [ -n "${3:-}" ]; then mk_verify "$1" "$3" "$4" || return 1; fi
}

# json PROFILE ARGS...: run mkey --json as PROFILE; the output is in $MK_TMP/out.
J() { json_get "$1" - <"$MK_TMP/out"; }
# Raw HTTP as PROFILE's session.
as_http() { # profile method path [curl args]
  local p=$MKEY_HOME/profiles/$1/profile.json m=$2 path=$3
  shift 3
  http "$m" "$path" -H "Authorization: Bearer $(json_get 'j["token"]' - <"$p")" \
    -H "Mkey-Device: $(json_get 'j["device"]' - <"$p")" "$@"
}

check "alice logs in and verifies" person alice 13800138001 张三 330402199003071237
check "bob logs in and verifies" person bob 13800138002 李四 320602198506154565
check "wang (admin to be) logs in and verifies" person wang 13800138003 王五 341802199209207894
check "li (staff to be) logs in and verifies" person li 13800138004 李六 33040219900307100X
check "zhou logs in and verifies" person zhou 13800138005 周七 330402199003071077
check "zheng logs in, not verified" person zheng 13800138006

# ---- the zjca operator ---------------------------------------------------------------
printf 'review pass 1\n' >"$D/zj.pw" && chmod 600 "$D/zj.pw"
check "a zjca operator is added" "$MKEY" --profile ops admin ca-operator add --ca ca_sbx_zjca \
  --user zj.review --password-file "$D/zj.pw"
check "mkey ca login" "$MKEY" --profile zj ca login --user zj.review --password-file "$D/zj.pw"

# ---- anonymous and unverified --------------------------------------------------------
for route in "POST /v1/applications/personal" "POST /v1/enterprises/claims" "GET /v1/enterprises" \
  "GET /v1/me/enterprises" "GET /v1/invitations"; do
  http ${route% *} "${route#* }" -H 'Content-Type: application/json' -d '{}'
  expect_problem "anonymous ${route}" 401 /problems/unauthenticated
done
check_fails "an unverified person cannot apply" "$MKEY" --profile zheng cert apply personal \
  --platform plt_jiaxing --ca ca_sbx_zjca --years 1 --form "$DATA/form.png"
case "$(cat "$MK_TMP/err")" in *实名认证*) pass "... and is told to verify first" ;;
  *) fail "... told to verify: $(cat "$MK_TMP/err")" ;; esac
check_fails "nor look enterprises up" "$MKEY" --profile zheng enterprise query --name 某公司 --uscc "$USCC1"

# ---- images ----------------------------------------------------------------------------
check_fails "a GIF is not an application form" "$MKEY" --profile alice cert apply personal \
  --platform plt_jiaxing --ca ca_sbx_zjca --years 1 --form "$DATA/wrong-type.gif"
case "$(cat "$MK_TMP/err")" in *"not a PNG or JPEG"*) pass "... the CLI says why" ;;
  *) fail "... the CLI says why: $(cat "$MK_TMP/err")" ;; esac
as_http alice POST /v1/attachments -H 'Content-Type: image/png' --data-binary "@$DATA/wrong-type.gif"
expect_problem "the server refuses a GIF sent as PNG" 422 /problems/validation-failed
as_http alice POST /v1/attachments -H 'Content-Type: image/png' --data-binary "@$DATA/license.jpg"
expect_problem "the server refuses a JPEG declared as PNG" 422 /problems/validation-failed
# Oversized: a PNG signature and header, then more than 2 MiB.
{ head -c 33 "$DATA/form.png"; head -c $((2 * 1024 * 1024)) /dev/zero; } >"$D/big.png"
check_fails "an image over 2 MiB is refused before upload" "$MKEY" --profile alice cert apply \
  personal --platform plt_jiaxing --ca ca_sbx_zjca --years 1 --form "$D/big.png"
as_http alice POST /v1/attachments -H 'Content-Type: image/png' --data-binary "@$D/big.png"
expect_problem "the server refuses an image over 2 MiB" 413 /problems/too-large

# ---- personal certificate (自然人) ----------------------------------------------------
check "alice applies for a personal certificate (zjca)" "$MKEY" --profile alice --json cert apply \
  personal --platform plt_jiaxing --ca ca_sbx_zjca --years 2 --form "$DATA/form.png"
expect_eq "awaiting the CA, subject from the verified identity, ID masked" \
  "$(J '[j["kind"], j["state"], j["data"]["name"], j["data"]["id_number"], j["years"]] == ["personal", "awaiting_ca", "张三", "330402********1237", 2]')" true
APP_PERSONAL=$(J 'j["id"]')
check_fails "a second live application to the same CA" "$MKEY" --profile alice cert apply personal \
  --platform plt_jiaxing --ca ca_sbx_zjca --years 1 --form "$DATA/form.png"
check "the automatic CA approves at once, an extra document attached" "$MKEY" --profile alice \
  --json cert apply personal --platform plt_csj_alliance --ca ca_sbx_ahca --years 1 \
  --form "$DATA/form.png" --attach power_of_attorney="$DATA/license.jpg"
expect_eq "... awaiting payment, two attachments" "$(J '[j["state"], sorted(a["role"] for a in j["attachments"])]')" \
  '["awaiting_payment", ["application_form", "power_of_attorney"]]'
check_fails "years the CA does not offer" "$MKEY" --profile alice cert apply personal \
  --platform plt_jiaxing --ca ca_sbx_jsca --years 2 --form "$DATA/form.png"
check "mkey cert apply personal (text)" "$MKEY" --profile bob cert apply personal \
  --platform plt_nantong --ca ca_sbx_zjca --years 1 --form "$DATA/form2.png"
case "$(cat "$MK_TMP/out")" in *自然人证书申领*awaiting_ca*) pass "... prints the application" ;;
  *) fail "... prints the application: $(cat "$MK_TMP/out")" ;; esac
check "the zjca operator approves alice's application" "$MKEY" --profile zj ca approve "$APP_PERSONAL"
check "alice's application" "$MKEY" --profile alice --json app show "$APP_PERSONAL"
expect_eq "... approved, waiting for payment" "$(J 'j["state"]')" "awaiting_payment"

# ---- claim (认领企业) ----------------------------------------------------------------------
CLAIM_CA=ca_sbx_zjca
CLAIM_EXTRA=()
check_fails "a wrong credit code is refused" "$MKEY" --profile wang enterprise claim \
  --name 嘉兴某某科技有限公司 --uscc 91330402MA2B3C4D54 --legal-name 王五 --legal-id "$LEGAL_ID" \
  --license "$DATA/license.jpg" --platform plt_jiaxing --ca "$CLAIM_CA" --years 1 \
  --form "$DATA/form.png" "${CLAIM_EXTRA[@]}"
case "$(cat "$MK_TMP/err")" in *"check character"*) pass "... saying what is wrong" ;;
  *) fail "... saying what is wrong: $(cat "$MK_TMP/err")" ;; esac
check "wang claims 嘉兴某某科技有限公司" "$MKEY" --profile wang --json enterprise claim \
  --name 嘉兴某某科技有限公司 --uscc "$USCC1" --legal-name 王五 --legal-id "$LEGAL_ID" \
  --license "$DATA/license.jpg" --platform plt_jiaxing --ca "$CLAIM_CA" --years 1 \
  --form "$DATA/form.png" "${CLAIM_EXTRA[@]}"
CLAIM=$(J 'j["id"]')
ENT=$(J 'j["enterprise"]["id"]')
expect_eq "a claim carries the licence as business_license" \
  "$(J 'sorted(a["role"] for a in j["attachments"])[:2]')" '["application_form", "business_license"]'
check_fails "a second claim of the same credit code" "$MKEY" --profile bob enterprise claim \
  --name 嘉兴某某科技有限公司 --uscc "$USCC1" --legal-name 王五 --legal-id "$LEGAL_ID" \
  --license "$DATA/license.jpg" --platform plt_jiaxing --ca "$CLAIM_CA" --years 1 \
  --form "$DATA/form.png" "${CLAIM_EXTRA[@]}"
check_fails "not admin before the CA approves" "$MKEY" --profile wang enterprise show --enterprise "$ENT"
check "the zjca operator approves the claim" "$MKEY" --profile zj ca approve "$CLAIM"
check_fails "approving it twice" "$MKEY" --profile zj ca approve "$CLAIM"
check_fails "withdrawing an approved claim" "$MKEY" --profile wang app cancel "$CLAIM"
check "wang's enterprises" "$MKEY" --profile wang --json enterprise list
expect_eq "wang is the admin with every permission" "$(J '[[e["id"], e["role"], e["permissions"]] for e in j]')" \
  "[[\"$ENT\", \"admin\", [\"login\", \"sign\", \"seal\", \"encrypt\", \"decrypt\"]]]"
check "mkey enterprise show" "$MKEY" --profile wang enterprise show
case "$(cat "$MK_TMP/out")" in *嘉兴某某科技有限公司*"330402********1210"*admin*) pass "... shows it, legal ID masked" ;;
  *) fail "... shows it: $(cat "$MK_TMP/out")" ;; esac
check_fails "a claimed credit code cannot be claimed again" "$MKEY" --profile bob enterprise claim \
  --name 嘉兴某某科技有限公司 --uscc "$USCC1" --legal-name 王五 --legal-id "$LEGAL_ID" \
  --license "$DATA/license.jpg" --platform plt_jiaxing --ca "$CLAIM_CA" --years 1 \
  --form "$DATA/form.png" "${CLAIM_EXTRA[@]}"
case "$(cat "$MK_TMP/err")" in *"claimed already"*) pass "... 409, claimed already" ;;
  *) fail "... claimed already: $(cat "$MK_TMP/err")" ;; esac
# bob claims another enterprise: another enterprise's admin below.
check "bob claims 南通某某建设有限公司 (automatic CA)" "$MKEY" --profile bob --json enterprise claim \
  --name 南通某某建设有限公司 --uscc "$USCC2" --legal-name 李四 --legal-id "$LEGAL_ID" \
  --license "$DATA/license.jpg" --platform plt_nantong --ca ca_sbx_ahca --years 1 \
  --form "$DATA/form.png" --attach power_of_attorney="$DATA/form2.png"
ENT_B=$(J 'j["enterprise"]["id"]')
expect_eq "... claimed at once" "$(J 'j["enterprise"]["state"]')" "claimed"

# ---- query and join (加入企业) ----------------------------------------------------------------
check "li finds the enterprise" "$MKEY" --profile li --json enterprise query --name 嘉兴某某科技有限公司 \
  --uscc "$USCC1"
expect_eq "... by name and credit code, code masked" "$(J '[[e["id"], e["uscc"]] for e in j]')" \
  "[[\"$ENT\", \"9133**********4D53\"]]"
check "a near miss finds nothing" "$MKEY" --profile li --json enterprise query --name 嘉兴某某科技公司 \
  --uscc "$USCC1"
expect_eq "... an empty list" "$(cat "$MK_TMP/out" | tr -d ' \n')" "[]"
check_fails "join with the wrong admin phone" "$MKEY" --profile li enterprise join \
  --name 嘉兴某某科技有限公司 --uscc "$USCC1" --admin-name 王五 --admin-phone 13800138009 \
  --permissions login,seal --platform plt_jiaxing --ca ca_sbx_ahca --years 1 --form "$DATA/form.png" \
  --attach power_of_attorney="$DATA/form2.png"
WRONG_PHONE=$(cat "$MK_TMP/err")
check_fails "join with the wrong admin name" "$MKEY" --profile li enterprise join \
  --name 嘉兴某某科技有限公司 --uscc "$USCC1" --admin-name 王六 --admin-phone 13800138003 \
  --permissions login,seal --platform plt_jiaxing --ca ca_sbx_ahca --years 1 --form "$DATA/form.png" \
  --attach power_of_attorney="$DATA/form2.png"
expect_eq "... one answer for both, naming nobody" "$(cat "$MK_TMP/err")" "$WRONG_PHONE"
as_http li POST "/v1/enterprises/$ENT/join-requests" -H 'Content-Type: application/json' \
  -d '{"admin_name":"王五","admin_phone":"13800138000","permissions":["login"],"platform_id":"plt_jiaxing","ca_id":"ca_sbx_zjca","years":1}'
expect_problem "wrong admin details over HTTP" 422 /problems/validation-failed
expect_eq "... the field is admin" "$(json_get 'j["errors"][0]["field"]')" "admin"
check_fails "unknown permissions" "$MKEY" --profile li enterprise join --name 嘉兴某某科技有限公司 \
  --uscc "$USCC1" --admin-name 王五 --admin-phone 13800138003 --permissions login,fly \
  --platform plt_jiaxing --ca ca_sbx_ahca --years 1 --form "$DATA/form.png"
check "li asks to join with the admin's details" "$MKEY" --profile li --json enterprise join \
  --name 嘉兴某某科技有限公司 --uscc "$USCC1" --admin-name 王五 --admin-phone 13800138003 \
  --permissions login,seal --platform plt_jiaxing --ca ca_sbx_ahca --years 1 --form "$DATA/form.png" \
  --attach power_of_attorney="$DATA/form2.png"
JOIN_LI=$(J 'j["id"]')
expect_eq "... waiting for the admin, the letter to be signed by the admin's certificate" \
  "$(J '[j["state"], j["data"]["permissions"], j["data"]["authorization_letter"]]')" \
  '["awaiting_admin", ["login", "seal"], {"signed": false, "signer": "admin_enterprise_certificate"}]'
check_fails "asking twice" "$MKEY" --profile li enterprise join --name 嘉兴某某科技有限公司 \
  --uscc "$USCC1" --admin-name 王五 --admin-phone 13800138003 --permissions login \
  --platform plt_jiaxing --ca ca_sbx_ahca --years 1 --form "$DATA/form.png"
check "the admin's messages" "$MKEY" --profile wang --json messages
expect_eq "the admin is asked to decide" \
  "$(J "[m['action'] for m in j if m['type'] == 'admin_review' and m['application_id'] == '$JOIN_LI']")" '["approve"]'
check_fails "the applicant cannot agree for the admin" "$MKEY" --profile li approve "$JOIN_LI"
check "the admin agrees" "$MKEY" --profile wang approve "$JOIN_LI"
check "li's enterprises" "$MKEY" --profile li --json enterprise list
expect_eq "li is staff (the automatic CA approved)" "$(J '[[e["id"], e["role"], e["permissions"]] for e in j]')" \
  "[[\"$ENT\", \"staff\", [\"login\", \"seal\"]]]"
check "zhou asks to join" "$MKEY" --profile zhou --json enterprise join --name 嘉兴某某科技有限公司 \
  --uscc "$USCC1" --admin-name 王五 --admin-phone 13800138003 --permissions decrypt \
  --platform plt_nantong --ca ca_sbx_ahca --years 1 --form "$DATA/form.png" \
  --attach power_of_attorney="$DATA/form2.png"
JOIN_ZHOU=$(J 'j["id"]')
check "the admin refuses" "$MKEY" --profile wang refuse "$JOIN_ZHOU" --reason 不认识此人
check_fails "staff cannot invite" "$MKEY" --profile li staff invite --name 赵九 --phone 13800138008
check "zhou's enterprises" "$MKEY" --profile zhou --json enterprise list
expect_eq "zhou is not a member" "$(cat "$MK_TMP/out" | tr -d ' \n')" "[]"

# ---- invitations (新增人员) --------------------------------------------------------------------
check "the admin invites 赵八" "$MKEY" --profile wang --json staff invite --name 赵八 --phone 13800138007
expect_eq "... phone masked, default permissions" "$(J '[j["phone"], j["permissions"], j["state"]]')" \
  '["138****8007", ["login", "sign", "seal"], "pending"]'
INV=$(J 'j["id"]')
check_fails "twice is refused" "$MKEY" --profile wang staff invite --name 赵八 --phone 13800138007
check_fails "a bad mobile number" "$MKEY" --profile wang staff invite --name 赵八 --phone 1380013
check "赵八 logs in and verifies" person zhao 13800138007 赵八 330402199003071149
check "赵八 sees the invitation" "$MKEY" --profile zhao --json enterprise invitations
expect_eq "... from the enterprise" "$(J "[[i['id'], i['enterprise']['name']] for i in j] == [['$INV', '嘉兴某某科技有限公司']]")" true
check_fails "someone else cannot accept it" "$MKEY" --profile alice enterprise accept "$INV"
check "赵八 accepts" "$MKEY" --profile zhao --json enterprise accept "$INV"
ZHAO=$(J 'j["member_id"]')
expect_eq "... staff at once" "$(J 'j["invitation"]["state"]')" "accepted"
check_fails "accepting twice" "$MKEY" --profile zhao enterprise accept "$INV"
check "the admin invites zhou, who has an account" "$MKEY" --profile wang staff invite \
  --name 周七 --phone 13800138005 --permissions decrypt
check "zhou's messages" "$MKEY" --profile zhou --json messages
expect_eq "... the invitation is in zhou's inbox" \
  "$(J '[m["action"] for m in j if m["type"] == "enterprise_invitation"]')" '["accept_invitation"]'

# ---- members (人员管理) -------------------------------------------------------------------------
check "the admin lists the members" "$MKEY" --profile wang --json staff list
expect_eq "names, roles, masked phones" "$(J 'sorted([m["role"], m["name"], m["phone"]] for m in j) == [["admin", "王五", "138****8003"], ["staff", "李六", "138****8004"], ["staff", "赵八", "138****8007"]]')" true
LI=$(J '[m["member_id"] for m in j if m["name"] == "李六"][0]')
WANG=$(J '[m["member_id"] for m in j if m["name"] == "王五"][0]')
check "staff list the members" "$MKEY" --profile li --json staff list
expect_eq "... names and roles only" "$(J '[sorted(m) for m in j][0]')" '["member_id", "name", "role"]'
check "mkey staff list (text)" "$MKEY" --profile wang staff list
case "$(cat "$MK_TMP/out")" in *李六*138****8004*) pass "... shows members" ;;
  *) fail "... shows members: $(cat "$MK_TMP/out")" ;; esac
check_fails "another enterprise's admin cannot list them" "$MKEY" --profile bob staff list --enterprise "$ENT"
as_http bob GET "/v1/enterprises/$ENT/members"
expect_problem "... 404 over HTTP" 404 /problems/not-found

# ---- authorisations (授权管理) -------------------------------------------------------------------
check "grant li 南通 with login and seal" "$MKEY" --profile wang --json auth grant --person "$LI" \
  --platform plt_nantong --permissions login,seal
AUZ=$(J 'j["id"]')
expect_eq "... active" "$(J '[j["platform"]["id"], j["permissions"], j["active"]]')" \
  '["plt_nantong", ["login", "seal"], true]'
check_fails "the same platform twice" "$MKEY" --profile wang auth grant --person "$LI" \
  --platform plt_nantong --permissions login
check_fails "the admin needs no grant" "$MKEY" --profile wang auth grant --person "$WANG" \
  --platform plt_nantong --permissions login
check_fails "staff cannot grant" "$MKEY" --profile li auth grant --enterprise "$ENT" --person "$LI" \
  --platform plt_csj_alliance --permissions login
check_fails "another enterprise's admin cannot grant" "$MKEY" --profile bob auth grant \
  --enterprise "$ENT" --person "$LI" --platform plt_csj_alliance --permissions login
check "revoke it" "$MKEY" --profile wang auth revoke "$AUZ"
check_fails "revoking twice" "$MKEY" --profile wang auth revoke "$AUZ"
check "grant li 南通 again with decrypt" "$MKEY" --profile wang auth grant --person "$LI" \
  --platform plt_nantong --permissions decrypt
check "list by platform" "$MKEY" --profile wang --json auth list --by platform
expect_eq "南通 has the history of two grants, newest first" \
  "$(J '[[i["permissions"], i["active"]] for g in j if g["platform"]["id"] == "plt_nantong" for i in g["items"]]')" \
  '[[["decrypt"], true], [["login", "seal"], false]]'
check "list by person" "$MKEY" --profile wang --json auth list --by person
expect_eq "li's history by person" \
  "$(J '[len(g["items"]) for g in j if g["member"]["name"] == "李六"]')" \
  '[3]'
check "mkey auth list (text)" "$MKEY" --profile wang auth list
case "$(cat "$MK_TMP/out")" in *南通*revoked*) pass "... shows revoked grants" ;;
  *) fail "... shows revoked grants: $(cat "$MK_TMP/out")" ;; esac
check_fails "staff cannot list them" "$MKEY" --profile li auth list --enterprise "$ENT"

# ---- removal (删除人员) ----------------------------------------------------------------------
check_fails "the admin cannot remove itself" "$MKEY" --profile wang staff remove "$WANG"
check_fails "staff cannot remove" "$MKEY" --profile li staff remove "$ZHAO"
check "the admin removes 赵八" "$MKEY" --profile wang staff remove "$ZHAO"
check_fails "removed means gone" "$MKEY" --profile zhao enterprise show --enterprise "$ENT"
check_fails "removing twice" "$MKEY" --profile wang staff remove "$ZHAO"
check "赵八's messages" "$MKEY" --profile zhao --json messages
expect_eq "赵八 (invited before having an account) is told of the removal" \
  "$(J '[m["type"] for m in j if m["type"] in ("enterprise_invitation", "member_removed")]')" \
  '["member_removed"]'

# ---- change of enterprise information (变更企业信息) ---------------------------------------------
check_fails "a change needs --yes after the warning" "$MKEY" --profile wang enterprise change \
  --name 嘉兴某某数字科技有限公司 --uscc "$USCC3" --legal-name 王五 --legal-id "$LEGAL_ID" \
  --license "$DATA/license.jpg" --ca ca_sbx_ahca --form "$DATA/form.png"
case "$(cat "$MK_TMP/err")" in *无法解密原有文件*) pass "... which it prints" ;;
  *) fail "... prints the warning: $(cat "$MK_TMP/err")" ;; esac
check_fails "staff cannot change it" "$MKEY" --profile li enterprise change --enterprise "$ENT" \
  --name 嘉兴某某数字科技有限公司 --uscc "$USCC3" --legal-name 王五 --legal-id "$LEGAL_ID" \
  --license "$DATA/license.jpg" --ca ca_sbx_ahca --form "$DATA/form.png" --yes
check_fails "another enterprise's credit code" "$MKEY" --profile wang enterprise change \
  --name 嘉兴某某数字科技有限公司 --uscc "$USCC2" --legal-name 王五 --legal-id "$LEGAL_ID" \
  --license "$DATA/license.jpg" --ca ca_sbx_ahca --form "$DATA/form.png" \
  --attach power_of_attorney="$DATA/form2.png" --yes
check_fails "another CA cannot review it: the one that certified the claim does" "$MKEY" \
  --profile wang enterprise change \
  --name 嘉兴某某数字科技有限公司 --uscc "$USCC3" --legal-name 王五 --legal-id "$LEGAL_ID" \
  --license "$DATA/license.jpg" --ca ca_sbx_ahca --form "$DATA/form.png" \
  --attach power_of_attorney="$DATA/form2.png" --certs crt_0000000000000000000000000a --yes
case "$(cat "$MK_TMP/err")" in *"ca_sbx_zjca certified this enterprise"*) pass "... names the CA" ;;
  *) fail "... names the CA: $(cat "$MK_TMP/err")" ;; esac
check "the admin changes it (reviewed by the claim's CA)" "$MKEY" --profile wang --json \
  enterprise change \
  --name 嘉兴某某数字科技有限公司 --uscc "$USCC3" --legal-name 王五 --legal-id "$LEGAL_ID" \
  --license "$DATA/license.jpg" --form "$DATA/form.png" \
  --certs crt_0000000000000000000000000a --yes
CHANGE=$(J 'j["id"]')
expect_eq "... waits for zjca, with the warning and the certificates to re-issue" \
  "$(J '[j["kind"], j["state"], j["ca_id"], j["data"]["warning"], j["data"]["certificates"]] == ["enterprise_change", "awaiting_ca", "ca_sbx_zjca", "CA证书一经变更，不能恢复，无法解密原有文件！", ["crt_0000000000000000000000000a"]]')" true
check "the zjca operator approves the change" "$MKEY" --profile zj ca approve "$CHANGE"
check "the new information shows" "$MKEY" --profile li --json enterprise show --enterprise "$ENT"
expect_eq "... name and credit code" "$(J "[j['name'], j['uscc']] == ['嘉兴某某数字科技有限公司', '$USCC3']")" true

# ---- transfer of the admin role (转授管理员) ------------------------------------------------------
check_fails "with the enterprise certificate: not yet" "$MKEY" --profile wang staff transfer-admin "$LI"
case "$(cat "$MK_TMP/err")" in *"signed authorisation letter"*) pass "... 409, the letter needs the certificate" ;;
  *) fail "... explains: $(cat "$MK_TMP/err")" ;; esac
check_fails "staff cannot transfer" "$MKEY" --profile li staff transfer-admin "$LI" \
  --enterprise "$ENT" --form "$DATA/form.png"
check "with the stamped letter (reviewed by the claim's CA)" "$MKEY" --profile wang --json \
  staff transfer-admin "$LI" --form "$DATA/form.png"
TRANSFER=$(J 'j["id"]')
expect_eq "... waits for zjca" "$(J '[j["kind"], j["state"], j["data"]["to_name"]] == ["admin_transfer", "awaiting_ca", "李六"]')" true
check "the zjca operator approves the transfer" "$MKEY" --profile zj ca approve "$TRANSFER"
check "li's enterprises" "$MKEY" --profile li --json enterprise list
expect_eq "li is the admin now" "$(J '[e["role"] for e in j]')" '["admin"]'
check "wang's enterprises" "$MKEY" --profile wang --json enterprise list
expect_eq "wang is staff now" "$(J '[e["role"] for e in j]')" '["staff"]'
check_fails "wang can no longer remove anyone" "$MKEY" --profile wang staff remove "$LI" --enterprise "$ENT"

# ---- usage errors -------------------------------------------------------------------------------
"$MKEY" enterprise claim --name x >/dev/null 2>&1
expect_eq "a claim without its fields exits 2" "$?" "2"
"$MKEY" auth list --by team >/dev/null 2>&1
expect_eq "--by team exits 2" "$?" "2"
"$MKEY" staff remove not-an-id >/dev/null 2>&1
expect_eq "a malformed member id exits 2" "$?" "2"
"$MKEY" cert apply enterprise >/dev/null 2>&1
expect_eq "cert apply enterprise exits 2" "$?" "2"

# ---- the record -----------------------------------------------------------------------------------
expect_eq "every step was audited" \
  "$(sqlite3 "$DB" "SELECT COUNT(DISTINCT action) FROM audit_event WHERE action IN ('enterprise.claimed', 'enterprise.join_mismatch', 'invitation.create', 'invitation.accept', 'authorization.grant', 'authorization.revoke', 'member.remove', 'enterprise.changed', 'enterprise.admin_transferred')")" "9"
mk_stop
mk_done
