#!/usr/bin/env bash
# The CA web console over plain HTTP (curl): its static pages (types, CSP,
# no inline script, nothing outside /console/ reachable), the console
# session (HttpOnly SameSite=Strict cookie, CSRF token required on every
# change, renewal of the CSRF token, logout clearing the cookie, a generic
# answer for a wrong password or an unknown user, requests started by other
# sites refused), the bound on failed logins (429 with Retry-After), and the
# Secure flag once the public URL is https. The browser test
# (tests/browser) drives the same pages in Chromium.
. "$(dirname "$0")/harness.sh"

D=$MK_TMP/console
mkdir -p "$D"
JAR=$D/cookies

mk_start
TOK=$(head -1 "$MK_DATA/admin.token")

# ---- static pages -------------------------------------------------------------
CSP="default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
http GET /console/
expect_eq "GET /console/: 200" "$HTTP_STATUS" "200"
expect_eq "the page is HTML" "$(header Content-Type)" "text/html; charset=utf-8"
expect_eq "the page has the console's CSP" "$(header Content-Security-Policy)" "$CSP"
expect_eq "the page may not be framed" "$(header X-Frame-Options)" "DENY"
expect_eq "no referrer leaves the console" "$(header Referrer-Policy)" "no-referrer"
expect_eq "nosniff" "$(header X-Content-Type-Options)" "nosniff"
expect_eq "not cached" "$(header Cache-Control)" "no-store"
expect_eq "the page is in Chinese: 登录" "$(grep -c '<h2>登录</h2>' "$MK_TMP/body")" "1"
page_checks() {
  python3 - "$MK_TMP/body" <<'EOF'
import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
bad = []
for tag in re.findall(r"<script\b[^>]*>", html):
    if "src=" not in tag:
        bad.append("inline script " + tag)
for s in re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S):
    if s.strip():
        bad.append("script body")
if re.search(r"\son[a-z]+\s*=", html):
    bad.append("event handler attribute")
if re.search(r"\sstyle\s*=", html) or "<style" in html:
    bad.append("inline style")
if re.search(r"(src|href)\s*=\s*\"(https?:)?//", html):
    bad.append("outside URL")
print("; ".join(bad) or "clean")
EOF
}
expect_eq "no inline script or style, no handler attribute, no outside URL" "$(page_checks)" "clean"
for f in app.js:text/javascript app.css:text/css icon.svg:image/svg+xml; do
  http GET "/console/${f%%:*}"
  expect_eq "${f%%:*}: 200" "$HTTP_STATUS" "200"
  expect_eq "${f%%:*}: ${f#*:}" "$(header Content-Type | cut -d';' -f1)" "${f#*:}"
  expect_eq "${f%%:*}: CSP" "$(header Content-Security-Policy)" "$CSP"
done
http GET /console/app.js
expect_eq "app.js is the file in web/console" "$(cmp -s "$MK_TMP/body" \
  "$MKEY_SOURCE_DIR/web/console/app.js" && echo same)" "same"
expect_eq "app.js names no outside URL" "$(grep -cE "https?://" "$MK_TMP/body" || true)" "0"
http HEAD /console/app.css -I
expect_eq "HEAD /console/app.css: 200" "$HTTP_STATUS" "200"
http GET /console
expect_eq "/console redirects to /console/" "$HTTP_STATUS $(header Location)" "308 /console/"
http GET /console/index.htm
expect_problem "an unknown file" 404 /problems/not-found
http GET /console/app.js/
expect_problem "a file name with a slash after it" 404 /problems/not-found
http GET /console/../v1/health --path-as-is
expect_eq "/console/../v1/health is no way out: 404" "$HTTP_STATUS" "404"
http GET /console/..%2f..%2fmkey.db --path-as-is
expect_eq "an escaped traversal: 404" "$HTTP_STATUS" "404"
http GET /console/%2e%2e/admin.token --path-as-is
expect_eq "dot segments escaped: 404" "$HTTP_STATUS" "404"
http GET "/console/.%2e/.%2e/mkey.db" --path-as-is
expect_eq "mixed dot segments: 404" "$HTTP_STATUS" "404"
http POST /console/ -H 'Content-Type: application/json' -d '{}'
expect_problem "POST /console/" 405 /problems/method-not-allowed
http GET /v1/openapi.json
expect_eq "the pages are not API operations" \
  "$(json_get '[p for p in j["paths"] if not p.startswith("/v1/")]')" "[]"
expect_eq "the console session is documented" \
  "$(json_get 'sorted(j["paths"]["/v1/console/session"].keys())')" '["delete", "get", "post"]'

# ---- CA operators ---------------------------------------------------------------
add_operator() { # username password [ca]
  printf '{"ca_id":"%s","username":"%s","password":"%s"}' "${3:-ca_sbx_zjca}" "$1" "$2" \
    >"$D/op.json"
  http POST /v1/admin/ca-operators -H "Authorization: Bearer $TOK" \
    -H 'Content-Type: application/json' --data-binary @"$D/op.json"
  expect_eq "the operator adds CA operator $1" "$HTTP_STATUS" "201"
}
PW="Console pass 2026"
add_operator zj.reviewer "$PW"
add_operator zj.locked "$PW"
add_operator js.reviewer "$PW" ca_sbx_jsca

login() { # username password [curl args]
  local u=$1 p=$2; shift 2
  printf '{"username":"%s","password":"%s"}' "$u" "$p" >"$D/login.json"
  http POST /v1/console/session -H 'Content-Type: application/json' \
    --data-binary @"$D/login.json" "$@"
}

# ---- login refusals ----------------------------------------------------------------
login zj.reviewer "wrong password 9"
expect_problem "a wrong password" 401 /problems/unauthenticated
expect_eq "a wrong password: generic detail" "$(json_get 'j["detail"]')" "wrong username or password"
expect_eq "a wrong password sets no cookie" "$(header Set-Cookie)" ""
login no.such.user "$PW"
expect_problem "an unknown user" 401 /problems/unauthenticated
expect_eq "an unknown user: the same detail" "$(json_get 'j["detail"]')" "wrong username or password"
http POST /v1/console/session -H 'Content-Type: application/json' -d '{"username":"zj.reviewer"}'
expect_problem "no password" 422 /problems/validation-failed
expect_eq "no password: field" "$(json_get 'j["errors"][0]["field"]')" "password"
http POST /v1/console/session -H 'Content-Type: application/json' \
  -d '{"username":"zj.reviewer","password":"x","remember":true}'
expect_problem "an unknown key" 422 /problems/validation-failed
http POST /v1/console/session -H 'Content-Type: text/plain' -d 'username=zj.reviewer'
expect_problem "a form post" 415 /problems/unsupported-media-type
login zj.reviewer "$PW" -H 'Sec-Fetch-Site: cross-site'
expect_problem "a login another site started" 403 /problems/forbidden
expect_eq "a refused login sets no cookie" "$(header Set-Cookie)" ""

# ---- login, the cookie, the CSRF token ----------------------------------------------
login zj.reviewer "$PW" -c "$JAR" -H 'Sec-Fetch-Site: same-origin'
expect_eq "login: 201" "$HTTP_STATUS" "201"
COOKIE=$(header Set-Cookie)
case "$COOKIE" in
  "mkey_console="?*"; Path=/; HttpOnly; SameSite=Strict") pass "the cookie: HttpOnly, SameSite=Strict, Path=/, not Secure over http" ;;
  *) fail "the cookie: $COOKIE" ;;
esac
SESSION=${COOKIE%%;*}
SESSION=${SESSION#mkey_console=}
CSRF=$(json_get 'j["csrf_token"]')
expect_eq "login answers who and the CSRF token" \
  "$(json_get '[j["username"], j["ca_id"], len(j["csrf_token"]) >= 43, j["expires_at"] > ""]')" \
  '["zj.reviewer", "ca_sbx_zjca", true, true]'
expect_eq "the CSRF token is another secret than the cookie's" \
  "$([ "$CSRF" != "$SESSION" ] && echo yes)" "yes"
expect_eq "the session token is only in the cookie, not in the body" \
  "$(grep -c -- "$SESSION" "$MK_TMP/body" || true)" "0"

http GET /v1/console/session -b "$JAR"
expect_eq "GET /v1/console/session with the cookie" \
  "$HTTP_STATUS $(json_get '[j["username"], j["ca_id"], j["kind"]]')" \
  '200 ["zj.reviewer", "ca_sbx_zjca", "console"]'
expect_eq "the session names the CA" "$(json_get 'j["ca_name"]')" "浙江CA（沙箱）"
http GET /v1/console/session
expect_problem "GET /v1/console/session without the cookie" 401 /problems/unauthenticated
http GET /v1/console/session -H 'Cookie: mkey_console=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
expect_problem "a made-up cookie" 401 /problems/unauthenticated

http GET /v1/ca/applications -b "$JAR"
expect_eq "the queue reads with the cookie alone" "$HTTP_STATUS" "200"
http POST /v1/ca/applications/app_00000000000000000000000000/approval -b "$JAR" \
  -H 'Content-Type: application/json' -d '{}'
expect_problem "a change with the cookie but no X-CSRF-Token" 403 /problems/forbidden
http POST /v1/ca/applications/app_00000000000000000000000000/approval -b "$JAR" \
  -H 'Content-Type: application/json' -H 'X-CSRF-Token: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' -d '{}'
expect_problem "a change with a wrong X-CSRF-Token" 403 /problems/forbidden
http POST /v1/ca/applications/app_00000000000000000000000000/approval -b "$JAR" \
  -H 'Content-Type: application/json' -H "X-CSRF-Token: $CSRF" -d '{}'
expect_eq "with the CSRF token the change reaches the service (no such application)" \
  "$HTTP_STATUS" "404"
http DELETE /v1/console/session -b "$JAR"
expect_problem "logout without X-CSRF-Token" 403 /problems/forbidden

# ---- a new CSRF token for a page that lost its own ----------------------------------
http POST /v1/console/session/csrf-token
expect_problem "a CSRF token without the cookie" 401 /problems/unauthenticated
http POST /v1/console/session/csrf-token -b "$JAR" -H 'Sec-Fetch-Site: same-site'
expect_problem "a CSRF token for a request another site started" 403 /problems/forbidden
http POST /v1/console/session/csrf-token -b "$JAR" -H 'Sec-Fetch-Site: same-origin'
expect_eq "a new CSRF token" "$HTTP_STATUS" "200"
CSRF2=$(json_get 'j["csrf_token"]')
expect_eq "it differs from the first" "$([ -n "$CSRF2" ] && [ "$CSRF2" != "$CSRF" ] && echo yes)" "yes"
http DELETE /v1/console/session -b "$JAR" -H "X-CSRF-Token: $CSRF"
expect_problem "the replaced token no longer works" 403 /problems/forbidden

# ---- logout ---------------------------------------------------------------------------
http DELETE /v1/console/session -b "$JAR" -c "$JAR" -H "X-CSRF-Token: $CSRF2"
expect_eq "logout: 204" "$HTTP_STATUS" "204"
expect_eq "logout clears the cookie" "$(header Set-Cookie)" \
  "mkey_console=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
http GET /v1/console/session -H "Cookie: mkey_console=$SESSION"
expect_problem "the old cookie after logout" 401 /problems/unauthenticated
http POST /v1/console/session/csrf-token -H "Cookie: mkey_console=$SESSION"
expect_problem "no CSRF token for an ended session" 401 /problems/unauthenticated

# ---- an operator of another CA, and a bearer token of mkey ca --------------------------
login js.reviewer "$PW" -c "$D/js"
expect_eq "js.reviewer logs in to ca_sbx_jsca" "$HTTP_STATUS $(json_get 'j["ca_id"]')" \
  "201 ca_sbx_jsca"
printf '{"username":"zj.reviewer","password":"%s"}' "$PW" >"$D/ca.json"
http POST /v1/ca-sessions -H 'Content-Type: application/json' --data-binary @"$D/ca.json"
BEARER=$(json_get 'j["token"]')
http GET /v1/console/session -H "Authorization: Bearer $BEARER"
expect_eq "a mkey ca token is a CA operator session too" "$HTTP_STATUS $(json_get 'j["kind"]')" \
  "200 ca_operator"
http POST /v1/console/session/csrf-token -H "Cookie: mkey_console=$BEARER"
expect_problem "a mkey ca token is no console cookie" 401 /problems/unauthenticated

# ---- failed logins are bounded -----------------------------------------------------------
# So far this address failed 2 logins (a wrong password, an unknown user).
for i in 1 2 3 4 5; do login zj.locked "wrong password $i"; done
expect_problem "the fifth wrong password for zj.locked" 401 /problems/unauthenticated
login zj.locked "$PW"
expect_problem "then even the right password" 429 /problems/rate-limited
RA=$(header Retry-After)
expect_eq "Retry-After says when, within 15 minutes" \
  "$([ "$RA" -gt 0 ] 2>/dev/null && [ "$RA" -le 900 ] && echo yes)" "yes"
login zj.reviewer "$PW"
expect_eq "another username still logs in" "$HTTP_STATUS" "201"
# 7 failures from this address: 13 more reach its bound of 20.
for i in $(seq 1 13); do login "guess.$i" "wrong password $i"; done
expect_problem "the 20th failure" 401 /problems/unauthenticated
login zj.reviewer "$PW"
expect_problem "then this address may not log in at all" 429 /problems/rate-limited

# ---- Secure once the browser reaches mkeyd over https ---------------------------------------
mk_stop
mk_start --public-url https://console.mkey.test
login js.reviewer "$PW"
case "$(header Set-Cookie)" in
  "mkey_console="?*"; Path=/; HttpOnly; SameSite=Strict; Secure") pass "the cookie is Secure behind an https public URL" ;;
  *) fail "the cookie behind https: $(header Set-Cookie)" ;;
esac
mk_stop
mk_done
