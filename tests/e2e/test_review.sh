#!/usr/bin/env bash
# CA review and messages as people meet them, each in a profile of their own:
# a person applies; the CA operator (added by the platform operator, logged in
# with `mkey ca login`) rejects with a reason while the person's
# `mkey messages --wait` is waiting, and it returns with 证书申领失败; the person
# resubmits with a new photo; the CA approves. An enterprise admin approves and
# refuses members' requests. Refusals: another CA's operator, approving twice,
# rejecting without a reason, an expired or ended CA session, too many failed
# logins. Last, a stopping mkeyd answers a waiting long-poll at once.
#
# People log in and verify with mk_login and mk_verify; applications come from
# `mkey cert apply personal` when this build has it, else they are written into
# the database the way the application engine stores a submitted one. Join
# requests to an enterprise admin are always written so (their journey is
# e2e_org's).
. "$(dirname "$0")/harness.sh"

D=$MK_TMP/review
mkdir -p "$D"
mk_start
DB="$MK_DATA/mkey.db"
PORT=${MK_URL##*:}
check "mkey admin login" "$MKEY" --profile ops admin login --token-file "$MK_DATA/admin.token"

# ---- images -------------------------------------------------------------------
printf '\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\x00IEND\xaeB`\x82' >"$D/form.png"
printf '\xff\xd8\xff\xe0\x00\x10JFIF\x00\xff\xd9' >"$D/form.jpg"
printf '\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\xff\xd9' >"$D/form2.jpg"
printf 'GIF89a not an image we take' >"$D/form.gif"

# ---- CA operators ----------------------------------------------------------------
pw() { printf '%s\n' "$2" >"$D/$1.pw"; chmod 600 "$D/$1.pw"; }
pw zj 'review pass 1'
pw js 'review pass 2'
pw bad 'wrong pass 3'
check "admin ca-operator add (zjca)" "$MKEY" --profile ops admin ca-operator add --ca ca_sbx_zjca \
  --user zj.review --password-file "$D/zj.pw"
check "admin ca-operator add --json (jsca)" "$MKEY" --profile ops --json admin ca-operator add \
  --ca ca_sbx_jsca --user js.review --password-file "$D/js.pw"
expect_eq "the operator's CA" "$(json_get 'j["ca_id"]' - <"$MK_TMP/out")" "ca_sbx_jsca"
check_fails "a taken username is refused" "$MKEY" --profile ops admin ca-operator add \
  --ca ca_sbx_ahca --user zj.review --password-file "$D/js.pw"
check_fails "an unknown CA is refused" "$MKEY" --profile ops admin ca-operator add \
  --ca ca_nope --user no.review --password-file "$D/js.pw"
check_fails "only the platform operator adds them" "$MKEY" --profile nobody admin ca-operator add \
  --ca ca_sbx_zjca --user x.review --password-file "$D/js.pw"
http POST /v1/admin/ca-operators -H "Authorization: Bearer $(head -1 "$MK_DATA/admin.token")" \
  -H 'Content-Type: application/json' -d '{"ca_id":"ca_sbx_zjca","username":"weak","password":"short"}'
expect_problem "a weak password" 422 /problems/validation-failed
expect_eq "... names the field" "$(json_get 'j["errors"][0]["field"]')" "password"

check "mkey ca login (zjca)" "$MKEY" --profile zj ca login --user zj.review --password-file "$D/zj.pw"
P=$MKEY_HOME/profiles/zj/profile.json
expect_eq "the profile keeps a CA operator session" \
  "$(json_get '[j["role"], j["ca_id"], len(j["token"]) > 20]' - <"$P")" '["ca_operator", "ca_sbx_zjca", true]'
expect_eq "privately" "$(stat -c %a "$P")" "600"
check "mkey ca login (jsca), password on stdin" bash -c \
  "printf 'review pass 2\n' | '$MKEY' --profile js ca login --user js.review --password-file -"
check_fails "a wrong password" "$MKEY" --profile x ca login --user zj.review --password-file "$D/bad.pw"
"$MKEY" --profile x ca login --password-file "$D/zj.pw" >/dev/null 2>&1
expect_eq "login without --user exits 2" "$?" "2"

# ---- applicants ---------------------------------------------------------------------
ID_ALICE=330402199003071237
ID_BOB=320602198506154565
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# mkid PREFIX: a well-formed id: 26 characters of the id alphabet after the
# prefix, the first of them 0-7 (128 random bits in 130).
mkid() { printf '%s_0%s' "$1" "$(openssl rand -hex 13 | cut -c1-25)"; }

# A logged-in, verified person in a profile of its own; ACC_<profile> is the
# account id.
person() { # profile phone name id_number
  if type mk_login >/dev/null 2>&1 && type mk_verify >/dev/null 2>&1; then
    check "$1 logs in" mk_login "$1" "$2"
    check "$1 verifies ($3)" mk_verify "$1" "$3" "$4"
    eval "ACC_$1=$("$MKEY" --profile "$1" --json me | json_get 'j["account_id"]' -)"
  else
    seed_person "$@"
  fi
}

# Without the accounts commands: write the account, identity and session into
# the database, and a profile holding the session.
seed_person() { # profile phone name id_number
  local acc dev tok
  acc=$(mkid acc)
  dev=$(mkid dev)
  tok=$(openssl rand -base64 32 | tr '+/' '-_' | tr -d '=\n')
  sqlite3 "$DB" "INSERT INTO account(id, phone, created_at, updated_at) VALUES ('$acc', '$2', '$NOW', '$NOW');
    INSERT INTO session(id, token_sha256, kind, account_id, device_id, remote, created_at, expires_at)
      VALUES ('$(mkid ses)', '$(printf %s "$tok" | sha256sum | cut -d' ' -f1)',
              'account', '$acc', '$dev', '127.0.0.1', '$NOW', 4102444800);" || return 1
  if [ -n "$3" ]; then
    sqlite3 "$DB" "INSERT INTO identity(account_id, name, id_number, method, verified_at)
      VALUES ('$acc', '$3', '$4', 'cfca', '$NOW')" || return 1
  fi
  mkdir -p "$MKEY_HOME/profiles/$1" && chmod 700 "$MKEY_HOME" "$MKEY_HOME/profiles" "$MKEY_HOME/profiles/$1"
  (umask 077 && printf '{"server":"%s","token":"%s","device":"%s"}\n' "$MK_URL" "$tok" "$dev" \
    >"$MKEY_HOME/profiles/$1/profile.json")
  eval "ACC_$1=$acc"
}

# Upload form as the person of profile, print the attachment id.
upload() { # profile file type
  local t d
  t=$(json_get 'j["token"]' - <"$MKEY_HOME/profiles/$1/profile.json")
  d=$(json_get 'j["device"]' - <"$MKEY_HOME/profiles/$1/profile.json")
  curl -sS -X POST -H "Authorization: Bearer $t" -H "Mkey-Device: $d" -H "Content-Type: $3" \
    --data-binary "@$2" "$MK_URL/v1/attachments" | json_get 'j["id"]' -
}

# An application as the engine stores one that was submitted: awaiting_ca, or
# awaiting_admin for a request to an enterprise's admin; each a second after
# the one before.
seed_application() { # profile ca attachment [enterprise]
  local id acc state first
  id=$(mkid apl)
  eval "acc=\$ACC_$1"
  state=awaiting_ca first=forward_to_ca
  if [ -n "${4:-}" ]; then state=awaiting_admin first=forward_to_admin; fi
  sqlite3 "$DB" "INSERT INTO application(id, kind, state, account_id, enterprise_id, platform_id, ca_id,
      years, data, version, created_at, updated_at)
      VALUES ('$id', '$([ -n "${4:-}" ] && echo enterprise_join || echo personal)', '$state', '$acc',
              $([ -n "${4:-}" ] && echo "'$4'" || echo NULL), NULL, '$2', 1, '{\"note\":\"第一次\"}', 1,
              strftime('%Y-%m-%dT%H:%M:%SZ', 'now', (SELECT COUNT(*) FROM application) || ' seconds'),
              strftime('%Y-%m-%dT%H:%M:%SZ', 'now', (SELECT COUNT(*) FROM application) || ' seconds'));
    INSERT INTO application_attachment(application_id, attachment_id, role) VALUES ('$id', '$3', 'application_form');
    INSERT INTO application_event(id, application_id, seq, event, from_state, to_state, actor, at)
      VALUES ('$(mkid ape)', '$id', 1, 'submit', NULL, 'submitted', '$acc', '$NOW'),
             ('$(mkid ape)', '$id', 2, '$first', 'submitted', '$state', 'system', '$NOW');" || return 1
  echo "$id"
}

if type mk_login >/dev/null 2>&1 && type mk_verify >/dev/null 2>&1 &&
  "$MKEY" help cert >/dev/null 2>&1; then
  JOURNEY=real
  person alice 13800138001 张三 "$ID_ALICE"
  check "alice applies for a personal certificate" "$MKEY" --profile alice cert apply personal \
    --platform plt_jiaxing --ca ca_sbx_zjca --years 1 --form "$D/form.jpg"
  check "alice's applications" "$MKEY" --profile alice --json app list
  APP=$(json_get 'j[0]["id"]' - <"$MK_TMP/out")
  person bob 13800138002 李四 "$ID_BOB"
  check "bob applies to another CA" "$MKEY" --profile bob cert apply personal \
    --platform plt_nantong --ca ca_sbx_jsca --years 1 --form "$D/form.png"
  check "bob's applications" "$MKEY" --profile bob --json app list
  APP_B=$(json_get 'j[0]["id"]' - <"$MK_TMP/out")
else
  JOURNEY=seeded
  person alice 13800138001 张三 "$ID_ALICE"
  person bob 13800138002 李四 "$ID_BOB"
  ATT=$(upload alice "$D/form.jpg" image/jpeg)
  APP=$(seed_application alice ca_sbx_zjca "$ATT")
  APP_B=$(seed_application bob ca_sbx_jsca "$(upload bob "$D/form.png" image/png)")
fi
echo "# applicants: $JOURNEY ($APP, $APP_B)"
case "$APP" in apl_*) pass "alice has an application" ;; *) fail "alice has an application: '$APP'" ;; esac

# ---- the CA's queue -------------------------------------------------------------------
check "zjca's queue" "$MKEY" --profile zj --json ca queue
Q=$(cat "$MK_TMP/out")
expect_eq "alice's application is in it, and bob's is not" \
  "$(json_get '[a["id"] for a in j]' - <<<"$Q")" "[\"$APP\"]"
expect_eq "name, masked phone and ID number, a form" \
  "$(json_get '" ".join([j[0]["applicant"][k] for k in ("name", "phone", "id_number")] + [str(j[0]["attachments"]), j[0]["title"]])' - <<<"$Q")" \
  '张三 138****8001 330402********1237 1 自然人证书申领'
case "$Q" in *"$ID_ALICE"*) fail "the full ID number never leaves" ;; *) pass "the full ID number never leaves" ;; esac
check "jsca's queue" "$MKEY" --profile js --json ca queue
expect_eq "jsca sees bob's only" "$(json_get '[a["id"] for a in j]' - <"$MK_TMP/out")" "[\"$APP_B\"]"
check "queue as text" "$MKEY" --profile zj ca queue --status awaiting_ca
case "$(cat "$MK_TMP/out")" in *"$APP"*张三*"138****8001"*) pass "text queue" ;;
  *) fail "text queue: $(head -c 300 "$MK_TMP/out")" ;; esac
check "an empty state" "$MKEY" --profile zj ca queue --state ca_rejected
expect_eq "... says so" "$(cat "$MK_TMP/out")" "no applications ca_rejected"
ZJ=$(json_get 'j["token"]' - <"$MKEY_HOME/profiles/zj/profile.json")
JS=$(json_get 'j["token"]' - <"$MKEY_HOME/profiles/js/profile.json")
http GET "/v1/ca/applications?state=awaiting_admin" -H "Authorization: Bearer $ZJ"
expect_problem "a state before the CA's" 400 /problems/bad-request
http GET /v1/ca/applications
expect_problem "the queue without a session" 401 /problems/unauthenticated
ALICE_T=$(json_get 'j["token"]' - <"$MKEY_HOME/profiles/alice/profile.json")
ALICE_D=$(json_get 'j["device"]' - <"$MKEY_HOME/profiles/alice/profile.json")
http GET /v1/ca/applications -H "Authorization: Bearer $ALICE_T" -H "Mkey-Device: $ALICE_D"
expect_problem "an account is not a CA operator" 401 /problems/unauthenticated

check "zjca shows it, saving its images" "$MKEY" --profile zj ca show "$APP" --save-attachments "$D"
case "$(cat "$MK_TMP/out")" in *"330402********1237"*application_form*saved*) pass "detail with identity and form" ;;
  *) fail "detail with identity and form: $(head -c 400 "$MK_TMP/out")" ;; esac
FORM_ID=$(json_get '[a["id"] for a in j["attachments"]][0]' - < <("$MKEY" --profile zj --json ca show "$APP"))
check "the saved form is the uploaded one" cmp "$D/form.jpg" "$D/$FORM_ID.jpg"
http GET "/v1/ca/applications/$APP/attachments/$FORM_ID" -H "Authorization: Bearer $ZJ"
expect_eq "the image itself" "$HTTP_STATUS $(header Content-Type)" "200 image/jpeg"
http GET "/v1/ca/applications/$APP/attachments/$FORM_ID" -H "Authorization: Bearer $JS"
expect_problem "another CA's operator gets no image" 404 /problems/not-found
B_FORM=$(json_get '[a["id"] for a in j["attachments"]][0]' - < <("$MKEY" --profile js --json ca show "$APP_B"))
http GET "/v1/ca/applications/$APP/attachments/$B_FORM" -H "Authorization: Bearer $ZJ"
expect_problem "an image of another application through this one" 404 /problems/not-found
check_fails "another CA's operator cannot see it" "$MKEY" --profile js ca show "$APP"
http POST "/v1/ca/applications/$APP/approval" -H "Authorization: Bearer $JS"
expect_problem "nor approve it" 404 /problems/not-found
check_fails "mkey ca approve of another CA's application" "$MKEY" --profile js ca approve "$APP"

# ---- rejection while the applicant waits ---------------------------------------------------
check "alice's inbox" "$MKEY" --profile alice --json messages
LAST=$(json_get 'max([m["seq"] for m in j] + [0])' - <"$MK_TMP/out")
"$MKEY" --profile alice --json messages --wait 45 --after "$LAST" >"$D/wait1.out" 2>"$D/wait1.err" &
WAIT1=$!
"$MKEY" --profile zj ca reject "$APP" >/dev/null 2>&1
expect_eq "reject without --reason exits 2" "$?" "2"
http POST "/v1/ca/applications/$APP/rejection" -H "Authorization: Bearer $ZJ" \
  -H 'Content-Type: application/json' -d '{}'
expect_problem "a rejection without a reason" 422 /problems/validation-failed
expect_eq "... names the field" "$(json_get 'j["errors"][0]["field"]')" "reason"
LONG=$(python3 -c 'print("拒" * 501)')
http POST "/v1/ca/applications/$APP/rejection" -H "Authorization: Bearer $ZJ" \
  -H 'Content-Type: application/json' -d "{\"reason\":\"$LONG\"}"
expect_problem "a reason of 501 characters" 422 /problems/validation-failed
check "zjca rejects with a reason" "$MKEY" --profile zj ca reject "$APP" --reason "申请表照片不清晰，请重新拍照"
expect_eq "... now ca_rejected" "$(cat "$MK_TMP/out")" "rejected $APP: now ca_rejected"
wait "$WAIT1"
expect_eq "the waiting mkey messages --wait returned" "$?" "0"
expect_eq "with 证书申领失败 and the reason" \
  "$(json_get '"|".join(m[k] for m in j for k in ("type", "title", "body", "action", "application_id"))' - <"$D/wait1.out")" \
  "ca_rejected|证书申领失败|申请表照片不清晰，请重新拍照|resubmit|$APP"
check_fails "rejecting twice" "$MKEY" --profile zj ca reject "$APP" --reason again

check "alice's unread messages" "$MKEY" --profile alice messages --unread
case "$(cat "$MK_TMP/out")" in *证书申领失败*"[resubmit $APP]"*"1 unread"*) pass "text inbox" ;;
  *) fail "text inbox: $(head -c 300 "$MK_TMP/out")" ;; esac
MSG=$(json_get 'j[0]["id"]' - <"$D/wait1.out")
check "show the message" "$MKEY" --profile alice messages show "$MSG"
case "$(cat "$MK_TMP/out")" in 证书申领失败*"next:"*resubmit*) pass "message detail" ;;
  *) fail "message detail: $(head -c 300 "$MK_TMP/out")" ;; esac
check "now read" "$MKEY" --profile alice --json messages --unread
expect_eq "no unread left" "$(cat "$MK_TMP/out")" "[]"
check_fails "bob cannot read alice's message" "$MKEY" --profile bob messages show "$MSG"

# ---- resubmission and approval ----------------------------------------------------------
check "alice's list offers resubmission" "$MKEY" --profile alice app list
case "$(cat "$MK_TMP/out")" in *"$APP"*ca_rejected*"[resubmit]"*) pass "list action" ;;
  *) fail "list action: $(head -c 300 "$MK_TMP/out")" ;; esac
check_fails "a GIF is not uploaded" "$MKEY" --profile alice app resubmit "$APP" --form "$D/form.gif"
check_fails "bob cannot resubmit alice's" "$MKEY" --profile bob app resubmit "$APP"
# --attach is ROLE=FILE, at most 8 times (cli_take_repeated + org_cli_take_attach)
"$MKEY" --profile alice app resubmit "$APP" --attach form.png >/dev/null 2>"$MK_TMP/err"
expect_eq "--attach without ROLE= is a usage error" "$?" "2"
case "$(head -1 "$MK_TMP/err")" in *"ROLE=FILE"*) pass "... which says ROLE=FILE" ;;
  *) fail "... says: $(head -1 "$MK_TMP/err")" ;; esac
"$MKEY" --profile alice app resubmit "$APP" --attach >/dev/null 2>&1
expect_eq "--attach without a value is a usage error" "$?" "2"
many=(); for i in 1 2 3 4 5 6 7 8 9; do many+=(--attach "r$i=$D/form.png"); done
"$MKEY" --profile alice app resubmit "$APP" "${many[@]}" >/dev/null 2>&1
expect_eq "nine --attach are a usage error" "$?" "2"
"$MKEY" --profile alice app resubmit "$APP" --change >/dev/null 2>&1
expect_eq "--change without a value is a usage error" "$?" "2"
if [ "$JOURNEY" = seeded ]; then # the seeded application's data has a note
  check_fails "a change of a field the application lacks" "$MKEY" --profile alice app resubmit \
    "$APP" --change nothere=x
  check "alice resubmits with a new photo" "$MKEY" --profile alice --json app resubmit "$APP" \
    --form "$D/form2.jpg" --change note=已重新拍照
  expect_eq "back to the CA, with the change" \
    "$(json_get '"|".join([j["state"], j["data"]["note"], j["history"][-2]["event"]])' - <"$MK_TMP/out")" \
    'awaiting_ca|已重新拍照|resubmit'
else
  check "alice resubmits with a new photo" "$MKEY" --profile alice --json app resubmit "$APP" \
    --form "$D/form2.jpg"
  expect_eq "back to the CA" "$(json_get '[j["state"], j["history"][-2]["event"]]' - <"$MK_TMP/out")" \
    '["awaiting_ca", "resubmit"]'
fi
check_fails "resubmitting twice" "$MKEY" --profile alice app resubmit "$APP"
FORM2=$(json_get '[a["id"] for a in j["attachments"]][0]' - < <("$MKEY" --profile zj --json ca show "$APP"))
http GET "/v1/ca/applications/$APP/attachments/$FORM2" -H "Authorization: Bearer $ZJ"
expect_eq "the CA sees the new photo" "$HTTP_STATUS" "200"
cmp -s "$MK_TMP/body" "$D/form2.jpg" && pass "... byte for byte" || fail "... byte for byte"

LAST=$(json_get 'j["last_seq"]' - < <(curl -sS -H "Authorization: Bearer $ALICE_T" -H "Mkey-Device: $ALICE_D" "$MK_URL/v1/messages?limit=1"))
"$MKEY" --profile alice --json messages --wait 45 --after "$LAST" >"$D/wait2.out" 2>&1 &
WAIT2=$!
check "zjca approves" "$MKEY" --profile zj ca approve "$APP"
expect_eq "... awaiting payment" "$(cat "$MK_TMP/out")" "approved $APP: now awaiting_payment"
wait "$WAIT2"
expect_eq "the second wait returned" "$?" "0"
expect_eq "with the approval" "$(json_get '[[m["type"], m["action"]] for m in j]' - <"$D/wait2.out")" \
  '[["ca_approved", "download"]]'
http POST "/v1/ca/applications/$APP/approval" -H "Authorization: Bearer $ZJ"
expect_problem "approving twice" 409 /problems/conflict
check_fails "mkey ca approve twice" "$MKEY" --profile zj ca approve "$APP"
check_fails "nor cancelled now" "$MKEY" --profile alice app cancel "$APP"
check "alice shows it" "$MKEY" --profile alice app show "$APP"
case "$(cat "$MK_TMP/out")" in *awaiting_payment*"CA review:"*approved*ca_reject*resubmit*ca_approve*) pass "history" ;;
  *) fail "history: $(head -c 600 "$MK_TMP/out")" ;; esac

# ---- a wait that ends empty, and bad long-polls ----------------------------------------------
check "a short wait with nothing new" "$MKEY" --profile alice --json messages --wait 1
expect_eq "... an empty list" "$(cat "$MK_TMP/out")" "[]"
http GET "/v1/messages?wait=5" -H "Authorization: Bearer $ALICE_T" -H "Mkey-Device: $ALICE_D"
expect_problem "wait without after" 400 /problems/bad-request
http GET "/v1/messages?after=0&wait=61" -H "Authorization: Bearer $ALICE_T" -H "Mkey-Device: $ALICE_D"
expect_problem "wait over 60" 400 /problems/bad-request

# ---- withdrawal -----------------------------------------------------------------------------
if [ "$JOURNEY" = real ]; then
  "$MKEY" --profile alice cert apply personal --platform plt_jiaxing --ca ca_sbx_csj --years 1 \
    --form "$D/form.jpg" >/dev/null 2>&1
  APP2=$(json_get '[a["id"] for a in j if a["ca_id"] == "ca_sbx_csj"][0]' - < <("$MKEY" --profile alice --json app list))
else
  APP2=$(seed_application alice ca_sbx_csj "$(upload alice "$D/form.jpg" image/jpeg)")
fi
check_fails "bob cannot withdraw alice's" "$MKEY" --profile bob app cancel "$APP2"
check "alice withdraws another" "$MKEY" --profile alice app cancel "$APP2"
check_fails "... once" "$MKEY" --profile alice app cancel "$APP2"
check "the cancelled list" "$MKEY" --profile alice --json app list --state cancelled
expect_eq "has it" "$(json_get '[a["id"] for a in j]' - <"$MK_TMP/out")" "[\"$APP2\"]"

# ---- an enterprise admin decides ---------------------------------------------------------------
person carol 13800138003 王五 110101199001011237
person dave 13800138004 赵六 110101198801011230
sqlite3 "$DB" "INSERT INTO enterprise(id, name, uscc, legal_name, legal_id_number, state, admin_account_id,
    created_at, updated_at) VALUES ('ent_aaaaaaaaaaaaaaaaaaaaaaaaaa', '嘉兴测试有限公司', '91330402MA2B3C4D53',
    '王五', '110101199001011237', 'claimed', '$ACC_carol', '$NOW', '$NOW');
  INSERT INTO membership(id, enterprise_id, account_id, role, permissions, state, created_at, updated_at)
    VALUES ('mbr_aaaaaaaaaaaaaaaaaaaaaaaaaa', 'ent_aaaaaaaaaaaaaaaaaaaaaaaaaa', '$ACC_carol', 'admin', '[]',
    'active', '$NOW', '$NOW');"
J1=$(seed_application dave ca_sbx_zjca "$(upload dave "$D/form.png" image/png)" ent_aaaaaaaaaaaaaaaaaaaaaaaaaa)
J2=$(seed_application dave ca_sbx_zjca "$(upload dave "$D/form.png" image/png)" ent_aaaaaaaaaaaaaaaaaaaaaaaaaa)
check "carol's requests to decide" "$MKEY" --profile carol --json app list --role admin --state awaiting_admin
expect_eq "both, newest first, to approve" "$(json_get '[[a["id"], a["action"]] for a in j]' - <"$MK_TMP/out")" \
  "[[\"$J2\", \"approve\"], [\"$J1\", \"approve\"]]"
check_fails "zjca does not see them yet" "$MKEY" --profile zj ca show "$J1"
check_fails "dave cannot approve his own" "$MKEY" --profile dave approve "$J1"
check "carol approves one" "$MKEY" --profile carol approve "$J1"
expect_eq "... on to the CA" "$(cat "$MK_TMP/out")" "approved $J1: now awaiting_ca"
check "zjca now has it" "$MKEY" --profile zj --json ca queue
expect_eq "with the enterprise" "$(json_get "[a['enterprise']['uscc'] for a in j if a['id'] == '$J1']" - <"$MK_TMP/out")" \
  '["91330402MA2B3C4D53"]'
"$MKEY" --profile carol refuse "$J2" >/dev/null 2>&1
expect_eq "refuse without --reason exits 2" "$?" "2"
check "carol refuses the other" "$MKEY" --profile carol refuse "$J2" --reason 非本公司员工
check_fails "... once" "$MKEY" --profile carol refuse "$J2" --reason again
check "dave's messages" "$MKEY" --profile dave --json messages
expect_eq "dave is told why" "$(json_get '"|".join(m["type"] + ":" + m["body"] for m in j)' - <"$MK_TMP/out")" \
  'admin_rejected:非本公司员工'

# ---- CA sessions end ------------------------------------------------------------------------
check "js logs out" "$MKEY" --profile js ca logout
check_fails "then its queue is refused" "$MKEY" --profile js ca queue
http GET /v1/ca/applications -H "Authorization: Bearer $JS"
expect_problem "the ended token" 401 /problems/unauthenticated
sqlite3 "$DB" "UPDATE session SET expires_at = 0 WHERE kind = 'ca_operator' AND revoked_at IS NULL"
check_fails "an expired CA session is refused" "$MKEY" --profile zj ca approve "$J1"
case "$(cat "$MK_TMP/err")" in *"mkey ca login"*"has expired"*) pass "... saying how to go on" ;;
  *) fail "... saying how to go on: $(cat "$MK_TMP/err")" ;; esac
check "logout of an expired session still forgets it" "$MKEY" --profile zj ca logout
check "zj logs in again" "$MKEY" --profile zj ca login --user zj.review --password-file "$D/zj.pw"
check "and approves" "$MKEY" --profile zj ca approve "$J1"

# ---- too many failed logins -------------------------------------------------------------------
for i in 1 2 3 4 5; do
  http POST /v1/ca-sessions -H 'Content-Type: application/json' \
    -d '{"username":"js.review","password":"wrong pass 4"}'
done
expect_problem "the fifth wrong password" 401 /problems/unauthenticated
http POST /v1/ca-sessions -H 'Content-Type: application/json' \
  -d '{"username":"js.review","password":"review pass 2"}'
expect_problem "then even the right one waits" 429 /problems/rate-limited
check_fails "mkey ca login too" "$MKEY" --profile js ca login --user js.review --password-file "$D/js.pw"

# ---- a stopping server answers a waiting poll ---------------------------------------------------
"$MKEY" --profile alice --json messages --wait 60 >"$D/wait3.out" 2>"$D/wait3.err" &
WAIT3=$!
for i in $(seq 1 200); do # until its request is on the wire
  [ "$(ss -Htn state established "( dport = :$PORT )" 2>/dev/null | wc -l)" -ge 1 ] && break
  sleep 0.05
done
check "the server still answers others" "$MKEY" --profile alice app list
mk_stop
wait "$WAIT3"
expect_eq "the waiting mkey got its answer" "$?" "0"
expect_eq "an empty one" "$(cat "$D/wait3.out")" "[]"

mk_done
