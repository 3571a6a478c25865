#!/usr/bin/env bash
# The cmp CA adapter against a real CMP server: OpenSSL's own mock CA
# (`openssl cmp -port`), configured through --cas-file, issuing and revoking
# through `mkey ca issue/revoke`. The mock answers every request with the
# one certificate given by -rsp_cert, and the client refuses a certificate
# for another key (INTEROP.md), so the script makes the key, the CSR and the
# mock's certificate for that key itself.
. "$(dirname "$0")/harness.sh"

D=$MK_TMP/cmp
mkdir -p "$D"
MOCK_PID=""
stop_mock() {
  if [ -n "$MOCK_PID" ] && kill -0 "$MOCK_PID" 2>/dev/null; then
    kill "$MOCK_PID" 2>/dev/null
    wait "$MOCK_PID" 2>/dev/null
  fi
  MOCK_PID=""
}
trap 'stop_mock; mk_cleanup' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_mock SECRET RSP_CERT: the mock CA on a free port, protected by the
# shared secret (PBM, RFC 4210 §5.1.3.1), answering with RSP_CERT.
start_mock() {
  MOCK_PORT=$(free_port)
  openssl cmp -port "$MOCK_PORT" -srv_ref mock -srv_secret "pass:$1" -srv_cert "$D/ca.crt" \
    -srv_key "$D/ca.key" -rsp_cert "$2" -max_msgs 100 >>"$D/mock.log" 2>&1 &
  MOCK_PID=$!
  local i
  for i in $(seq 1 100); do
    grep -q ACCEPT "$D/mock.log" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "the CMP mock did not start:"; cat "$D/mock.log"; exit 1
}

# The external CA: its certificate and key, a key and CSR of ours, and the
# certificate the CA will answer with, for that key.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/ca.key" -out "$D/ca.crt" -days 30 \
  -subj "/C=CN/O=Mock External CA/CN=Mock External CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$D/leaf.key" 2>/dev/null
openssl req -new -key "$D/leaf.key" -subj "/C=CN/CN=张三" -out "$D/leaf.csr"
openssl x509 -req -in "$D/leaf.csr" -CA "$D/ca.crt" -CAkey "$D/ca.key" -CAcreateserial -days 365 \
  -out "$D/issued.crt" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$D/other.key" 2>/dev/null
openssl req -new -key "$D/other.key" -subj /CN=other -out "$D/other.csr"
printf 'mock-shared-secret\n' >"$D/secret"
chmod 600 "$D/secret"
printf 'not-the-secret\n' >"$D/wrong"
chmod 600 "$D/wrong"
start_mock mock-shared-secret "$D/issued.crt"

cat >"$D/cas.json" <<EOF
[
  {"id": "ca_ext_mock", "name": "Mock External CA", "adapter": "cmp", "key_type": "rsa",
   "validity": [{"years": 1, "fee_fen": 15000}], "review": "manual",
   "attachments": [{"id": "application_form", "name": "数字证书申请表"}],
   "cmp": {"server": "http://127.0.0.1:$MOCK_PORT/pkix/", "ref": "mock",
           "secret_file": "$D/secret", "trusted_cert": "$D/ca.crt"}},
  {"id": "ca_ext_wrong", "name": "Mock External CA, wrong secret", "adapter": "cmp",
   "key_type": "rsa", "validity": [{"years": 1, "fee_fen": 15000}],
   "cmp": {"server": "http://127.0.0.1:$MOCK_PORT/pkix/", "ref": "mock",
           "secret_file": "$D/wrong", "trusted_cert": "$D/ca.crt"}},
  {"id": "ca_ext_down", "name": "Mock External CA, not answering", "adapter": "cmp",
   "key_type": "rsa", "validity": [{"years": 1, "fee_fen": 15000}],
   "cmp": {"server": "http://127.0.0.1:$(free_port)/pkix/", "ref": "mock",
           "secret_file": "$D/secret", "trusted_cert": "$D/ca.crt", "timeout": 2}}
]
EOF

mk_start --cas-file "$D/cas.json"
check "mkey admin login" "$MKEY" admin login --token-file "$MK_DATA/admin.token"
check "mkey --json ca list" "$MKEY" --json ca list
expect_eq "the cmp CAs are listed beside the sandbox CAs" \
  "$(json_get '[[c["id"], c["adapter"], c["key_type"]] for c in j if c["adapter"] == "cmp"]' - <"$MK_TMP/out")" \
  '[["ca_ext_down", "cmp", "rsa"], ["ca_ext_mock", "cmp", "rsa"], ["ca_ext_wrong", "cmp", "rsa"]]'
expect_eq "seven CAs in all" "$(json_get 'len(j)' - <"$MK_TMP/out")" "7"
expect_eq "no CMP settings in the public list" "$(json_get 'any("cmp" in c for c in j)' - <"$MK_TMP/out")" "false"
check "mkey ca chain of the cmp CA" "$MKEY" ca chain ca_ext_mock --out "$D/chain.pem"
expect_eq "its chain is the trusted certificate" "$(openssl x509 -in "$D/chain.pem" -noout -fingerprint)" \
  "$(openssl x509 -in "$D/ca.crt" -noout -fingerprint)"

# ---- issue and revoke through the mock ------------------------------------------
check "mkey ca issue through CMP (p10cr)" "$MKEY" --json ca issue --ca ca_ext_mock \
  --profile personal-sign --csr "$D/leaf.csr" --name 张三 --id-number 330402199003071237 \
  --out "$D/got.pem"
SERIAL=$(json_get 'j["serial"]' - <"$MK_TMP/out")
expect_eq "the certificate is the CA's answer" "$(openssl x509 -in "$D/got.pem" -noout -fingerprint)" \
  "$(openssl x509 -in "$D/issued.crt" -noout -fingerprint)"
expect_eq "serial recorded as openssl prints it" "$SERIAL" \
  "$(openssl x509 -in "$D/issued.crt" -noout -serial | cut -d= -f2 | tr A-F a-f | sed 's/^0*//')"
check "openssl verify: the issued certificate chains to the external CA" \
  openssl verify -CAfile "$D/ca.crt" "$D/got.pem"
grep -q "POST /pkix/" "$D/mock.log" && pass "the mock saw our requests" || fail "the mock saw our requests"
check "mkey ca revoke through CMP (rr)" "$MKEY" --json ca revoke --ca ca_ext_mock --serial "$SERIAL" \
  --reason keyCompromise
expect_eq "revocation recorded" "$(json_get '[j["serial"], j["reason"]]' - <"$MK_TMP/out")" \
  "[\"$SERIAL\", \"keyCompromise\"]"
"$MKEY" ca revoke --ca ca_ext_mock --serial "$SERIAL" --reason keyCompromise 2>"$MK_TMP/err"
expect_eq "revoking twice exits 1" "$?" "1"
case "$(cat "$MK_TMP/err")" in *"(HTTP 409)") pass "... with 409, without asking the CA again" ;;
  *) fail "... with 409: $(cat "$MK_TMP/err")" ;; esac
"$MKEY" ca revoke --ca ca_ext_mock --serial 0badc0de --reason keyCompromise 2>"$MK_TMP/err"
case "$(cat "$MK_TMP/err")" in *"(HTTP 404)") pass "revoking a serial the CA did not issue: 404" ;;
  *) fail "revoking a serial the CA did not issue: $(cat "$MK_TMP/err")" ;; esac

# ---- what the external CA serves itself ----------------------------------------------
http GET /v1/cas/ca_ext_mock/crl
expect_problem "a cmp CA's CRL is its own" 409 /problems/conflict
openssl ocsp -issuer "$D/ca.crt" -cert "$D/got.pem" -url "$MK_URL/v1/cas/ca_ext_mock/ocsp" \
  -noverify >"$D/ocsp.out" 2>&1
grep -qi "unauthorized" "$D/ocsp.out" && pass "OCSP for a cmp CA: unauthorized (RFC 6960 §2.3)" \
  || fail "OCSP for a cmp CA: unauthorized: $(cat "$D/ocsp.out")"

# ---- refusals --------------------------------------------------------------------------
http_issue() { # CA CSR
  python3 -c 'import json,sys; print(json.dumps({"profile":"personal-sign","name":"张三",
    "id_number":"330402199003071237","csr":open(sys.argv[1]).read()}))' "$2" >"$D/body.json"
  http POST "/v1/cas/$1/certificates" -H "Content-Type: application/json" \
    -H "Authorization: Bearer $(head -1 "$MK_DATA/admin.token")" --data-binary @"$D/body.json"
}
http_issue ca_ext_mock "$D/other.csr"
expect_problem "a certificate for another key is refused" 502 /problems/upstream-failed
http_issue ca_ext_wrong "$D/leaf.csr"
expect_problem "a wrong shared secret" 502 /problems/upstream-failed
http_issue ca_ext_down "$D/leaf.csr"
expect_problem "a CA that does not answer" 502 /problems/upstream-failed
http_issue ca_ext_mock "$D/ca.crt"
expect_problem "a CSR that is not one" 422 /problems/validation-failed
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out "$D/sm2.key" 2>/dev/null
openssl req -new -key "$D/sm2.key" -sm3 -sigopt distid:1234567812345678 -subj /CN=x -out "$D/sm2.csr"
http_issue ca_ext_mock "$D/sm2.csr"
expect_problem "an SM2 key for an RSA CA, before anything is sent" 422 /problems/validation-failed
expect_eq "only the one good issuance was recorded" \
  "$(sqlite3 "$MK_DATA/mkey.db" "SELECT COUNT(*) FROM ca_cert WHERE ca_id LIKE 'ca_ext_%'")" "1"
mk_stop

# ---- a configuration that cannot work stops mkeyd at start ---------------------------------
chmod 644 "$D/secret"
"$MKEYD" --data "$MK_TMP/data2" --listen 127.0.0.1:0 --sandbox --cas-file "$D/cas.json" \
  >"$D/start.log" 2>&1
expect_eq "a secret file others can read stops the start" "$?" "1"
grep -q "ca_ext_mock: CMP secret" "$D/start.log" && pass "... and says which CA" \
  || fail "... and says which CA: $(tail -2 "$D/start.log")"
chmod 600 "$D/secret"
printf '[{"id": "ca_ext_mock", "name": "x", "adapter": "cmp", "key_type": "rsa",' >"$D/bad.json"
"$MKEYD" --data "$MK_TMP/data2" --listen 127.0.0.1:0 --sandbox --cas-file "$D/bad.json" \
  >"$D/start.log" 2>&1
expect_eq "a broken cas_file stops the start" "$?" "1"
MKEYD_CAS_FILE="$D/nonexistent.json" "$MKEYD" --data "$MK_TMP/data2" --listen 127.0.0.1:0 \
  --sandbox >"$D/start.log" 2>&1
expect_eq "MKEYD_CAS_FILE is read too" "$?" "1"
grep -q "nonexistent.json" "$D/start.log" && pass "... and the message names the file" \
  || fail "... and the message names the file: $(tail -2 "$D/start.log")"
stop_mock
mk_done
