#!/usr/bin/env bash
# mkeyd as a client sees it: health, version, OpenAPI, request ids, and
# problem+json for every kind of bad request; restart on the same data
# directory; graceful shutdown.
. "$(dirname "$0")/harness.sh"

mk_start

http GET /v1/health
expect_eq "health answers 200" "$HTTP_STATUS" "200"
expect_eq "health says the store is ok" "$(json_get 'j["store"]')" "ok"
expect_eq "JSON content type" "$(header Content-Type)" "application/json"
rid=$(header X-Request-Id)
case "$rid" in req_??????????????????????????) pass "request id generated ($rid)" ;;
  *) fail "request id generated: '$rid'" ;; esac

http GET /v1/health -H 'X-Request-Id: trace-abc.123'
expect_eq "client request id echoed" "$(header X-Request-Id)" "trace-abc.123"
http GET /v1/health -H 'X-Request-Id: bad id with spaces'
case "$(header X-Request-Id)" in req_*) pass "unsafe client request id replaced" ;;
  *) fail "unsafe client request id replaced: $(header X-Request-Id)" ;; esac

http GET /v1/version
expect_eq "version" "$(json_get 'j["version"]')" "$("$MKEY" version | awk '{print $2}')"
expect_eq "version: store back end" "$(json_get 'j["store"]')" "sqlite"
expect_eq "version: sandbox" "$(json_get 'j["sandbox"]')" "true"
instance=$(json_get 'j["instance"]')
case "$instance" in ins_*) pass "installation id recorded at first start" ;;
  *) fail "installation id: $instance" ;; esac
schema=$(json_get 'j["schema"]')
[ "$schema" -ge 1 ] 2>/dev/null && pass "schema version $schema" || fail "schema version: $schema"

http GET /v1/openapi.json
expect_eq "openapi document served" "$(json_get 'j["openapi"]')" "3.1.0"
expect_eq "openapi lists health" "$(json_get '"get" in j["paths"]["/v1/health"]')" "true"

http HEAD /v1/health -I
expect_eq "HEAD on a GET route" "$HTTP_STATUS" "200"

# ---- negative cases --------------------------------------------------------
http GET /v1/nothing-here
expect_problem "unknown route" 404 /problems/not-found

http DELETE /v1/health
expect_problem "wrong method" 405 /problems/method-not-allowed
expect_eq "405 names the allowed methods" "$(header Allow)" "GET, HEAD"

http POST /v1/validations -H 'Content-Type: application/json' --data-binary '{"id_number": '
expect_problem "malformed JSON" 400 /problems/malformed-json

http POST /v1/validations -H 'Content-Type: application/json' --data-binary '{"mobile":"13800138000"} x'
expect_problem "trailing garbage after JSON" 400 /problems/malformed-json

deep=$(python3 -c 'print("[" * 40 + "]" * 40)')
http POST /v1/validations -H 'Content-Type: application/json' --data-binary "$deep"
expect_problem "JSON nested too deep" 400 /problems/malformed-json

http POST /v1/validations -H 'Content-Type: text/plain' --data-binary '{"mobile":"13800138000"}'
expect_problem "wrong media type" 415 /problems/unsupported-media-type

head -c 2097152 /dev/zero | tr '\0' 'a' >"$MK_TMP/big"
http POST /v1/validations -H 'Content-Type: application/json' --data-binary @"$MK_TMP/big"
expect_problem "body over the cap (declared length)" 413 /problems/too-large

# Chunked upload: no Content-Length, so the cap is enforced while reading.
http POST /v1/validations -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
  --data-binary @"$MK_TMP/big"
expect_problem "body over the cap (chunked)" 413 /problems/too-large

# An endless chunked upload is cut off once it passes the drain limit.
head -c 12582912 /dev/zero | tr '\0' 'a' >"$MK_TMP/huge"
http POST /v1/validations -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
  --data-binary @"$MK_TMP/huge"
expect_eq "oversize chunked upload cut off" "$HTTP_STATUS" "000"
http GET /v1/health
expect_eq "server fine after a cut-off upload" "$HTTP_STATUS" "200"

# Bytes that are not UTF-8 in the path are logged escaped, with the request.
http GET '/v1/%ff%fe'
expect_eq "non-UTF-8 path: 404" "$HTTP_STATUS" "404"

long=$(python3 -c 'print("/v1/" + "a" * 2000)')
http GET "$long"
expect_eq "path too long" "$HTTP_STATUS" "414"

# ---- validations: the first JSON route -------------------------------------
http POST /v1/validations -H 'Content-Type: application/json' \
  --data-binary '{"id_number":"330402199003071237","uscc":"91330402MA2B3C4D53","mobile":"13800138000","bank_card":"6222021000123456781","name":"张三"}'
expect_eq "valid data accepted" "$HTTP_STATUS" "200"
expect_eq "valid data: all five checked" "$(json_get 'len(j["checked"])')" "5"

http POST /v1/validations -H 'Content-Type: application/json' \
  --data-binary '{"id_number":"330402199003071238","uscc":"91330402MA2B3C4D54","mobile":"12800138000","name":"张三"}'
expect_problem "invalid data" 422 /problems/validation-failed
expect_eq "every failing field listed" "$(json_get '[e["field"] for e in j["errors"]]')" \
  '["id_number", "uscc", "mobile"]'
case "$HTTP_BODY" in *330402199003071238*) fail "ID number echoed in the error" ;;
  *) pass "ID number not echoed in the error" ;; esac

http POST /v1/validations -H 'Content-Type: application/json' --data-binary '{"nickname":"x"}'
expect_problem "unknown field" 422 /problems/validation-failed
expect_eq "unknown field named" "$(json_get 'j["errors"][0]["field"]')" "nickname"

http POST /v1/validations -H 'Content-Type: application/json' --data-binary '{"mobile":13800138000}'
expect_problem "wrong JSON type" 422 /problems/validation-failed
expect_eq "wrong type field named" "$(json_get 'j["errors"][0]["field"]')" "mobile"

http POST /v1/validations -H 'Content-Type: application/json' --data-binary '{}'
expect_problem "empty object" 422 /problems/validation-failed

# ---- access log: one JSON line per request, no secrets ----------------------
if grep -q '"event":"http.access"' "$MK_TMP/mkeyd.log"; then pass "access log lines written"
else fail "access log lines written"; fi
if grep '"event":"http.access"' "$MK_TMP/mkeyd.log" | grep -q '"req":"trace-abc.123"'; then
  pass "access log line carries the request id"
else fail "access log line carries the request id"; fi
if grep '"event":"http.access"' "$MK_TMP/mkeyd.log" | grep -q '"path":"/v1/%FF%FE"'; then
  pass "non-UTF-8 path logged escaped"
else fail "non-UTF-8 path logged escaped"; fi
if grep -q 'log_error' "$MK_TMP/mkeyd.log"; then fail "no log line lost its fields"
else pass "no log line lost its fields"; fi
if grep -q 'standard MHD logger' "$MK_TMP/mkeyd.log"; then fail "libmicrohttpd messages go to our log"
else pass "libmicrohttpd messages go to our log"; fi
if python3 - "$MK_TMP/mkeyd.log" <<'PY'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    if line.startswith("{"):
        json.loads(line)
PY
then pass "log lines are JSON"; else fail "log lines are JSON"; fi
if grep -q 330402199003071237 "$MK_TMP/mkeyd.log"; then fail "ID number kept out of the log"
else pass "ID number kept out of the log"; fi

# ---- restart on the same data directory --------------------------------------
kek_sum=$(sha256sum "$MK_DATA/kek")
mk_stop
mk_start
http GET /v1/version
expect_eq "restart keeps the installation id" "$(json_get 'j["instance"]')" "$instance"
expect_eq "restart: schema unchanged" "$(json_get 'j["schema"]')" "$schema"
expect_eq "data directory is private" "$(stat -c %a "$MK_DATA")" "700"
expect_eq "database file is private" "$(stat -c %a "$MK_DATA/mkey.db")" "600"
expect_eq "key-encryption key made at first start, private" "$(stat -c %a "$MK_DATA/kek")" "600"
expect_eq "key-encryption key is 32 bytes" "$(stat -c %s "$MK_DATA/kek")" "32"
expect_eq "restart keeps the key-encryption key" "$(sha256sum "$MK_DATA/kek")" "$kek_sum"

# A request still uploading when SIGTERM arrives is finished, not cut off.
python3 -c 'import json; print(json.dumps({"name": "a" * 12000}))' >"$MK_TMP/slow.json"
curl -sS -o "$MK_TMP/slow.out" -w '%{http_code}' --limit-rate 4K -X POST \
  -H 'Content-Type: application/json' --data-binary @"$MK_TMP/slow.json" \
  "$MK_URL/v1/validations" >"$MK_TMP/slow.status" 2>&1 &
slow=$!
sleep 1
mk_stop
wait "$slow"
expect_eq "in-flight request answered during shutdown" "$(cat "$MK_TMP/slow.status")" "422"
if grep -q '"event":"server.stopped"' "$MK_TMP/mkeyd.log"; then pass "shutdown logged"
else fail "shutdown logged"; fi

# ---- start-up refusals ----------------------------------------------------------
if "$MKEYD" --data "$MK_TMP/d2" --listen 127.0.0.1:0 >"$MK_TMP/o" 2>&1; then
  fail "no TLS outside sandbox refused"
else
  grep -q -- "--tls-cert" "$MK_TMP/o" && pass "no TLS outside sandbox refused" \
    || fail "no TLS outside sandbox refused: $(cat "$MK_TMP/o")"
fi
check_fails "unknown flag refused" "$MKEYD" --sandbox --bogus
check "mkeyd --help" "$MKEYD" --help
grep -q -- "--listen" "$MK_TMP/out" && pass "help lists --listen" || fail "help lists --listen"
mkdir -p "$MK_TMP/open" && chmod 777 "$MK_TMP/open"
check_fails "world-writable data directory refused" "$MKEYD" --data "$MK_TMP/open" --listen 127.0.0.1:0 --sandbox

mk_done
