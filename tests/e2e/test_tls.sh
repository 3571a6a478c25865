#!/usr/bin/env bash
# mkeyd outside sandbox serves HTTPS with the operator's certificate; curl
# (and so any TLS client) verifies it against the issuing CA.
. "$(dirname "$0")/harness.sh"

d="$MK_TMP/tls"
mkdir -p "$d"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=mkey test CA" -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$d/srv.key" -out "$d/srv.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$d/ext"
openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
  -days 2 -extfile "$d/ext" -out "$d/srv.pem" 2>/dev/null
chmod 600 "$d/srv.key"

data="$MK_TMP/tlsdata"
"$MKEYD" --data "$data" --listen 127.0.0.1:0 --tls-cert "$d/srv.pem" --tls-key "$d/srv.key" \
  >>"$MK_TMP/mkeyd.log" 2>&1 &
MKEYD_PID=$!
for i in $(seq 1 200); do [ -s "$data/mkeyd.url" ] && break; sleep 0.05; done
MK_URL=$(cat "$data/mkeyd.url" 2>/dev/null)
case "$MK_URL" in https://127.0.0.1:*) pass "URL file says https ($MK_URL)" ;;
  *) fail "URL file says https: '$MK_URL'" ;; esac
for i in $(seq 1 100); do
  curl -fsS --cacert "$d/ca.pem" -o /dev/null "$MK_URL/v1/health" 2>/dev/null && break
  sleep 0.05
done
http GET /v1/health --cacert "$d/ca.pem"
expect_eq "health over verified HTTPS" "$HTTP_STATUS" "200"
http GET /v1/version --cacert "$d/ca.pem"
expect_eq "not sandbox" "$(json_get 'j["sandbox"]')" "false"
check_fails "certificate from an unknown CA refused by the client" \
  curl -fsS -o /dev/null "$MK_URL/v1/health"
check_fails "plain HTTP on the HTTPS port gets nothing" \
  curl -fsS -o /dev/null --max-time 5 "${MK_URL/https/http}/v1/health"
mk_stop

chmod 644 "$d/srv.key"
if "$MKEYD" --data "$MK_TMP/tls2" --listen 127.0.0.1:0 --tls-cert "$d/srv.pem" \
  --tls-key "$d/srv.key" >"$MK_TMP/o" 2>&1; then
  fail "TLS key readable by others refused"
else
  grep -q "chmod 600" "$MK_TMP/o" && pass "TLS key readable by others refused" \
    || fail "TLS key readable by others refused: $(cat "$MK_TMP/o")"
fi
mk_done
