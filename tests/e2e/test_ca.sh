#!/usr/bin/env bash
# The CA registry as an operator and a relying party meet it: the sandbox CAs
# and their options, chains, issuance through `mkey ca issue` judged by
# `openssl verify`, CRLs judged by `openssl crl -verify`, the OCSP responder
# judged by `openssl ocsp` (good, then revoked after `mkey ca revoke`), and the
# refusals issue 4 lists.
. "$(dirname "$0")/harness.sh"

ID1=330402199003071237 # INTEROP.md: valid check digits
ID2=320602198506154565
USCC1=91330402MA2B3C4D53
USCC2=91320602MA1X2Y3W4J
D=$MK_TMP/ca
mkdir -p "$D"

mk_start
tok="$MK_DATA/admin.token"
check "mkey admin login" "$MKEY" admin login --token-file "$tok"

# ---- the registry ---------------------------------------------------------
check "mkey --json ca list" "$MKEY" --json ca list
cp "$MK_TMP/out" "$D/list.json"
L() { json_get "$1" - <"$D/list.json"; }
expect_eq "list is an array of four sandbox CAs" \
  "$(L '[c["id"] for c in j]')" '["ca_sbx_ahca", "ca_sbx_csj", "ca_sbx_jsca", "ca_sbx_zjca"]'
expect_eq "SM2 and RSA CAs" "$(L 'sorted({c["key_type"] for c in j})')" '["rsa", "sm2"]'
expect_eq "jsca is RSA for 1 or 3 years" \
  "$(L '[(v["years"], v["days"]) for c in j if c["id"] == "ca_sbx_jsca" for v in c["validity"]]')" \
  '[[1, 365], [3, 1095]]'
expect_eq "fees in fen, CNY" "$(L 'all(isinstance(v["fee_fen"], int) and v["fee_fen"] > 0 and v["currency"] == "CNY" for c in j for v in c["validity"])')" "true"
expect_eq "fees differ between CAs" "$(L 'len({v["fee_fen"] for c in j for v in c["validity"] if v["years"] == 1})')" "4"
expect_eq "jsca asks for the business licence" \
  "$(L '[a["name"] for c in j if c["id"] == "ca_sbx_jsca" for a in c["attachments"]] == ["数字证书申请表", "营业执照副本"]')" true
expect_eq "ahca asks for a power of attorney and reviews automatically" \
  "$(L '[[[a["name"] for a in c["attachments"]], c["review"]] for c in j if c["id"] == "ca_sbx_ahca"] == [[["数字证书申请表", "授权委托书"], "auto"]]')" true
expect_eq "csj is the Yangtze River Delta mutual-recognition CA, SM2 1-3 years" \
  "$(L '[[c["name"], c["key_type"], len(c["validity"])] for c in j if c["id"] == "ca_sbx_csj"] == [["长三角CA互认（沙箱）", "sm2", 3]]')" true
check "mkey ca list (text)" "$MKEY" ca list
case "$(cat "$MK_TMP/out")" in *ca_sbx_jsca*营业执照副本*) pass "text list shows options" ;;
  *) fail "text list shows options: $(head -c 300 "$MK_TMP/out")" ;; esac
http GET /v1/cas
expect_eq "GET /v1/cas is public" "$HTTP_STATUS" "200"
expect_eq "GET /v1/cas has items" "$(json_get 'len(j["items"])')" "4"
http GET "/v1/cas?limit=2"
expect_eq "limit=2 gives a next_cursor" "$(json_get '[len(j["items"]), j["next_cursor"]]')" '[2, "ca_sbx_csj"]'
http GET "/v1/cas?limit=2&cursor=ca_sbx_csj"
expect_eq "the cursor gives the rest" "$(json_get '[c["id"] for c in j["items"]]')" '["ca_sbx_jsca", "ca_sbx_zjca"]'
http GET "/v1/cas?limit=0"
expect_problem "limit=0" 400 /problems/bad-request

# ---- chains -----------------------------------------------------------------
for ca in ca_sbx_zjca ca_sbx_jsca ca_sbx_ahca ca_sbx_csj; do
  check "mkey ca chain $ca" "$MKEY" ca chain "$ca" --out "$D/$ca.chain.pem"
  expect_eq "$ca chain: issuing CA and root" "$(grep -c 'BEGIN CERTIFICATE' "$D/$ca.chain.pem")" "2"
  awk -v d="$D/$ca" '/BEGIN CERT/{n++} {print > (d "." n ".pem")}' "$D/$ca.chain.pem"
  # .1.pem issuing, .2.pem root
done
check "mkey ca chain to stdout" "$MKEY" ca chain ca_sbx_zjca
expect_eq "stdout chain is the same" "$(cat "$MK_TMP/out")" "$(cat "$D/ca_sbx_zjca.chain.pem")"
http GET /v1/cas/ca_sbx_zjca/chain
expect_eq "chain content type" "$(header Content-Type)" "application/pem-certificate-chain"
http GET /v1/cas/ca_nope/chain
expect_problem "chain of an unknown CA" 404 /problems/not-found
check "SM2 issuing CA verifies under its root (signer ID)" openssl verify \
  -vfyopt distid:1234567812345678 -CAfile "$D/ca_sbx_zjca.2.pem" "$D/ca_sbx_zjca.1.pem"
check_fails "... and not with the empty ID" openssl verify \
  -CAfile "$D/ca_sbx_zjca.2.pem" "$D/ca_sbx_zjca.1.pem"
check "RSA issuing CA verifies under its root" openssl verify \
  -CAfile "$D/ca_sbx_jsca.2.pem" "$D/ca_sbx_jsca.1.pem"

# ---- keys and CSRs ------------------------------------------------------------
sm2_csr() { # name: SM2 key and CSR signed with the standard signer ID
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out "$D/$1.key" 2>/dev/null &&
    openssl req -new -key "$D/$1.key" -sm3 -sigopt distid:1234567812345678 -subj /CN=x \
      -out "$D/$1.csr"
}
check "SM2 CSR (openssl req -sigopt distid)" sm2_csr s1
check "second SM2 CSR" sm2_csr s2
check "third SM2 CSR" sm2_csr s3
check "RSA CSR" bash -c "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
  -out '$D/r1.key' 2>/dev/null && openssl req -new -key '$D/r1.key' -subj /CN=x -out '$D/r1.csr'"

# ---- issuance -------------------------------------------------------------------
check "issue personal-sign (SM2, zjca, 2 years)" "$MKEY" --json ca issue --ca ca_sbx_zjca \
  --profile personal-sign --csr "$D/s1.csr" --name 张三 --id-number $ID1 --days 730 \
  --out "$D/s1.pem"
S1=$(json_get 'j["serial"]' - <"$MK_TMP/out")
expect_eq "--json issue: serial, no PEM on stdout" \
  "$(json_get '[len(j["serial"]) > 0, "certificate" in j, j["out"]]' - <"$MK_TMP/out")" \
  "[true, false, \"$D/s1.pem\"]"
expect_eq "serial as openssl prints it" "$(openssl x509 -in "$D/s1.pem" -noout -serial | cut -d= -f2 | tr A-F a-f | sed 's/^0*//')" "$S1"
# OpenSSL 3.0 attaches -vfyopt's signer ID to the target certificate only, so
# a chain check of an SM2 leaf stops at the issuing CA (-partial_chain); the
# issuing CA's own link was verified above.
check "openssl verify: SM2 leaf (signer ID)" openssl verify -partial_chain \
  -vfyopt distid:1234567812345678 -CAfile "$D/ca_sbx_zjca.chain.pem" "$D/s1.pem"
check_fails "openssl verify: SM2 leaf fails with the empty ID" openssl verify -partial_chain \
  -CAfile "$D/ca_sbx_zjca.chain.pem" "$D/s1.pem"
openssl x509 -in "$D/s1.pem" -noout -text -nameopt utf8,sep_comma_plus_space >"$D/s1.txt"
case "$(cat "$D/s1.txt")" in *"CN=张三"*"serialNumber=$ID1"*) pass "subject from the vetted data" ;;
  *) fail "subject from the vetted data: $(grep Subject: "$D/s1.txt")" ;; esac
grep -q "URI:$MK_URL/v1/cas/ca_sbx_zjca/crl" "$D/s1.txt" && pass "CRL DP points at mkeyd" || fail "CRL DP points at mkeyd"
grep -q "OCSP - URI:$MK_URL/v1/cas/ca_sbx_zjca/ocsp" "$D/s1.txt" && pass "AIA OCSP points at mkeyd" || fail "AIA OCSP points at mkeyd"

check "issue enterprise-sign (SM2, ahca)" "$MKEY" ca issue --ca ca_sbx_ahca \
  --profile enterprise-sign --csr "$D/s2.csr" --enterprise 杭州某某科技有限公司 --uscc $USCC1 \
  --out "$D/s2.pem"
check "openssl verify: enterprise certificate" openssl verify -partial_chain \
  -vfyopt distid:1234567812345678 -CAfile "$D/ca_sbx_ahca.chain.pem" "$D/s2.pem"
check "issue staff-enc (SM2, csj, 3 years)" "$MKEY" ca issue --ca ca_sbx_csj --profile staff-enc \
  --csr "$D/s3.csr" --enterprise 南通某某建设有限公司 --uscc $USCC2 --name 李四 --id-number $ID2 \
  --days 1095 --out "$D/s3.pem"
check "openssl verify: staff certificate" openssl verify -partial_chain \
  -vfyopt distid:1234567812345678 -CAfile "$D/ca_sbx_csj.chain.pem" "$D/s3.pem"
check "issue staff-sign (RSA, jsca, 3 years)" "$MKEY" --json ca issue --ca ca_sbx_jsca \
  --profile staff-sign --csr "$D/r1.csr" --enterprise 杭州某某科技有限公司 --uscc $USCC1 \
  --name 张三 --id-number $ID1 --days 1095 --out "$D/r1.pem"
R1=$(json_get 'j["serial"]' - <"$MK_TMP/out")
check "openssl verify: RSA chain to the root" openssl verify -CAfile "$D/ca_sbx_jsca.chain.pem" "$D/r1.pem"

# ---- refusals of issuance ----------------------------------------------------------
post_issue() { # CA JSON-without-csr CSR-file [curl args]
  local ca=$1 fields=$2 csr=$3; shift 3
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["csr"]=open(sys.argv[2]).read(); print(json.dumps(d))' \
    "$fields" "$csr" >"$D/body.json"
  http POST "/v1/cas/$ca/certificates" -H "Content-Type: application/json" \
    -H "Authorization: Bearer $(head -1 "$tok")" --data-binary @"$D/body.json" "$@"
}
# An SM2 CSR signed with OpenSSL's default empty signer ID, and one whose
# signature was changed: neither proves possession.
openssl req -new -key "$D/s1.key" -sm3 -subj /CN=x -out "$D/empty-id.csr"
post_issue ca_sbx_zjca '{"profile":"personal-sign","name":"张三","id_number":"'$ID1'"}' "$D/empty-id.csr"
expect_problem "CSR signed with the empty SM2 ID" 422 /problems/validation-failed
expect_eq "... names the csr field" "$(json_get 'j["errors"][0]["field"]')" "csr"
openssl req -in "$D/r1.csr" -outform DER -out "$D/r1.der"
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[-5]^=1; open(sys.argv[2],"wb").write(b)' "$D/r1.der" "$D/bad.der"
openssl req -inform DER -in "$D/bad.der" -out "$D/bad.csr" 2>/dev/null
post_issue ca_sbx_jsca '{"profile":"personal-sign","name":"张三","id_number":"'$ID1'"}' "$D/bad.csr"
expect_problem "CSR with a bad signature" 422 /problems/validation-failed
"$MKEY" ca issue --ca ca_sbx_jsca --profile personal-sign --csr "$D/bad.csr" --name 张三 \
  --id-number $ID1 --out "$D/x.pem" 2>"$MK_TMP/err"
expect_eq "mkey ca issue with a bad CSR exits 1" "$?" "1"
case "$(cat "$MK_TMP/err")" in "mkey: "*"(HTTP 422)") pass "one line naming the HTTP status" ;;
  *) fail "one line naming the HTTP status: $(cat "$MK_TMP/err")" ;; esac
[ ! -e "$D/x.pem" ] && pass "nothing written on refusal" || fail "nothing written on refusal"
post_issue ca_sbx_zjca '{"profile":"personal-sign","name":"张三","id_number":"'$ID1'"}' "$D/r1.csr"
expect_problem "RSA key for an SM2 CA" 422 /problems/validation-failed
expect_eq "... names the csr field" "$(json_get 'j["errors"][0]["field"]')" "csr"
post_issue ca_sbx_jsca '{"profile":"personal-sign","name":"张三","id_number":"'$ID1'"}' "$D/s1.csr"
expect_problem "SM2 key for an RSA CA" 422 /problems/validation-failed
post_issue ca_sbx_zjca '{"profile":"server-tls","name":"张三","id_number":"'$ID1'"}' "$D/s1.csr"
expect_problem "unknown profile" 422 /problems/validation-failed
expect_eq "... names the profile field" "$(json_get 'j["errors"][0]["field"]')" "profile"
post_issue ca_sbx_zjca '{"profile":"personal-sign","name":"张三","id_number":"330402199003071238"}' "$D/s1.csr"
expect_problem "ID number with a wrong check digit" 422 /problems/validation-failed
expect_eq "... names id_number" "$(json_get 'j["errors"][0]["field"]')" "id_number"
post_issue ca_sbx_zjca '{"profile":"enterprise-sign","enterprise":"杭州某某科技有限公司","uscc":"91330402MA2B3C4D54"}' "$D/s1.csr"
expect_problem "USCC with a wrong check digit" 422 /problems/validation-failed
expect_eq "... names uscc" "$(json_get 'j["errors"][0]["field"]')" "uscc"
post_issue ca_sbx_zjca '{"profile":"personal-sign","name":"\u200b张三","id_number":"'$ID1'"}' "$D/s1.csr"
expect_problem "name with an invisible character" 422 /problems/validation-failed
expect_eq "... names name" "$(json_get 'j["errors"][0]["field"]')" "name"
post_issue ca_sbx_ahca '{"profile":"personal-sign","name":"张三","id_number":"'$ID1'","days":1095}' "$D/s1.csr"
expect_problem "days the CA does not offer" 422 /problems/validation-failed
expect_eq "... names days" "$(json_get 'j["errors"][0]["field"]')" "days"
post_issue ca_nope '{"profile":"personal-sign","name":"张三","id_number":"'$ID1'"}' "$D/s1.csr"
expect_problem "issue at an unknown CA" 404 /problems/not-found
http POST /v1/cas/ca_sbx_zjca/certificates -H "Content-Type: application/json" --data-binary @"$D/body.json"
expect_problem "issue without the operator token" 401 /problems/unauthenticated
http POST /v1/cas/ca_sbx_zjca/certificates -H "Content-Type: application/json" \
  -H "Authorization: Bearer $(head -1 "$tok")x" --data-binary @"$D/body.json"
expect_problem "issue with a wrong token" 401 /problems/unauthenticated
"$MKEY" --profile nobody ca issue --ca ca_sbx_zjca --profile personal-sign --csr "$D/s1.csr" \
  --name 张三 --id-number $ID1 --out "$D/x.pem" 2>"$MK_TMP/err"
expect_eq "mkey ca issue without admin login exits 1" "$?" "1"
case "$(cat "$MK_TMP/err")" in *"admin login"*"(HTTP 401)") pass "... and says to log in" ;;
  *) fail "... and says to log in: $(cat "$MK_TMP/err")" ;; esac
head -c 40000 /dev/zero | tr '\0' a >"$D/big.json"
http POST /v1/cas/ca_sbx_zjca/certificates -H "Content-Type: application/json" \
  -H "Authorization: Bearer $(head -1 "$tok")" --data-binary @"$D/big.json"
expect_problem "oversized issue request" 413 /problems/too-large
"$MKEY" ca issue --ca ca_sbx_zjca --profile personal-sign --csr "$D/s1.csr" --name 张三 --out x 2>/dev/null
expect_eq "--name without --id-number is a usage error" "$?" "2"

# ---- CRL ------------------------------------------------------------------------
check "mkey ca crl (RSA CA)" "$MKEY" ca crl ca_sbx_jsca --out "$D/j1.crl"
check "openssl crl -verify accepts it" openssl crl -inform DER -in "$D/j1.crl" -noout -verify \
  -CAfile "$D/ca_sbx_jsca.chain.pem"
crl_number() { openssl crl -inform DER -in "$1" -noout -crlnumber | cut -d= -f2; }
expect_eq "first CRL number" "$(crl_number "$D/j1.crl")" "0x01"
http GET /v1/cas/ca_sbx_jsca/crl
expect_eq "CRL content type" "$(header Content-Type)" "application/pkix-crl"
check "mkey ca crl (SM2 CA)" "$MKEY" ca crl ca_sbx_zjca --out "$D/z1.crl"
check "SM2 CRL parses" openssl crl -inform DER -in "$D/z1.crl" -noout -text

# ---- OCSP ---------------------------------------------------------------------------
J=ca_sbx_jsca
ocsp_rsa() { openssl ocsp -issuer "$D/$J.1.pem" -cert "$D/r1.pem" -url "$MK_URL/v1/cas/$J/ocsp" \
  -CAfile "$D/$J.chain.pem" "$@" >"$D/ocsp.out" 2>&1; }
ocsp_rsa
grep -q "Response verify OK" "$D/ocsp.out" && pass "openssl ocsp verifies the RSA CA's response" \
  || fail "openssl ocsp verifies the RSA CA's response: $(cat "$D/ocsp.out")"
grep -q "r1.pem: good" "$D/ocsp.out" && pass "OCSP: good" || fail "OCSP: good: $(cat "$D/ocsp.out")"
openssl ocsp -issuer "$D/ca_sbx_zjca.1.pem" -cert "$D/s1.pem" -url "$MK_URL/v1/cas/ca_sbx_zjca/ocsp" \
  -noverify >"$D/ocsp.out" 2>&1
grep -q "s1.pem: good" "$D/ocsp.out" && pass "OCSP (SM2 CA): good" || fail "OCSP (SM2 CA): good: $(cat "$D/ocsp.out")"

# GET form (RFC 6960 appendix A.1): base64 of the DER request, URL-encoded.
openssl ocsp -issuer "$D/$J.1.pem" -cert "$D/r1.pem" -reqout "$D/req.der" -no_nonce >/dev/null 2>&1
b64=$(base64 -w0 "$D/req.der")
enc=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$b64")
http GET "/v1/cas/$J/ocsp/$enc"
expect_eq "GET form: 200" "$HTTP_STATUS" "200"
expect_eq "GET form: ocsp-response" "$(header Content-Type)" "application/ocsp-response"
cp "$MK_TMP/body" "$D/get.der"
openssl ocsp -respin "$D/get.der" -issuer "$D/$J.1.pem" -cert "$D/r1.pem" -CAfile "$D/$J.chain.pem" \
  >"$D/ocsp.out" 2>&1
grep -q "r1.pem: good" "$D/ocsp.out" && grep -q "Response verify OK" "$D/ocsp.out" \
  && pass "GET form: verified, good" || fail "GET form: verified, good: $(cat "$D/ocsp.out")"
# '/' of the base64 left unescaped reaches the same answer (the router's catch-all).
http GET "/v1/cas/$J/ocsp/$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe="/"))' "$b64")"
expect_eq "GET form with raw '/': 200" "$HTTP_STATUS" "200"
http GET "/v1/cas/$J/ocsp/not-base64"
cp "$MK_TMP/body" "$D/mal.der"
openssl ocsp -respin "$D/mal.der" -resp_text -noverify >"$D/ocsp.out" 2>&1
grep -q "malformedrequest\|malformedRequest" "$D/ocsp.out" && pass "GET form: bad base64 is malformedRequest" \
  || fail "GET form: bad base64 is malformedRequest: $(cat "$D/ocsp.out")"

# ---- revocation ------------------------------------------------------------------------
check "mkey ca revoke (RSA)" "$MKEY" ca revoke --ca $J --serial "$R1" --reason keyCompromise
ocsp_rsa
grep -q "r1.pem: revoked" "$D/ocsp.out" && grep -q "Reason: keyCompromise" "$D/ocsp.out" \
  && grep -q "Response verify OK" "$D/ocsp.out" && pass "OCSP after revoke: revoked, keyCompromise" \
  || fail "OCSP after revoke: revoked, keyCompromise: $(cat "$D/ocsp.out")"
check "mkey ca crl after revoke" "$MKEY" ca crl $J --out "$D/j2.crl"
check "openssl crl -verify accepts the new CRL" openssl crl -inform DER -in "$D/j2.crl" -noout \
  -verify -CAfile "$D/ca_sbx_jsca.chain.pem"
expect_eq "CRL number bumped" "$(crl_number "$D/j2.crl")" "0x02"
openssl crl -inform DER -in "$D/j2.crl" -noout -text >"$D/j2.txt"
grep -qi "Serial Number: 0*$R1" "$D/j2.txt" && grep -q "Key Compromise" "$D/j2.txt" \
  && pass "CRL lists the serial with its reason" || fail "CRL lists the serial: $(cat "$D/j2.txt")"
check "openssl verify -crl_check sees it revoked" bash -c "openssl crl -inform DER -in '$D/j2.crl' \
  -out '$D/j2.pem' && ! openssl verify -crl_check -CAfile '$D/ca_sbx_jsca.chain.pem' \
  -CRLfile '$D/j2.pem' '$D/r1.pem'"
"$MKEY" ca revoke --ca $J --serial "$R1" --reason keyCompromise 2>"$MK_TMP/err"
expect_eq "revoking twice exits 1" "$?" "1"
case "$(cat "$MK_TMP/err")" in *"already revoked"*"(HTTP 409)") pass "... with 409 conflict" ;;
  *) fail "... with 409 conflict: $(cat "$MK_TMP/err")" ;; esac
http POST /v1/cas/$J/revocations -H "Content-Type: application/json" \
  -H "Authorization: Bearer $(head -1 "$tok")" -d "{\"serial\":\"$R1\",\"reason\":\"superseded\"}"
expect_problem "revoking twice over HTTP" 409 /problems/conflict
http POST /v1/cas/$J/revocations -H "Content-Type: application/json" \
  -H "Authorization: Bearer $(head -1 "$tok")" -d '{"serial":"abcdef0123","reason":"superseded"}'
expect_problem "revoking an unknown serial" 404 /problems/not-found
http POST /v1/cas/$J/revocations -H "Content-Type: application/json" \
  -H "Authorization: Bearer $(head -1 "$tok")" -d "{\"serial\":\"$S1\",\"reason\":\"certificateHold\"}"
expect_problem "certificateHold is refused" 422 /problems/validation-failed
expect_eq "... names reason" "$(json_get 'j["errors"][0]["field"]')" "reason"
http POST /v1/cas/$J/revocations -H "Content-Type: application/json" -d "{\"serial\":\"$R1\",\"reason\":\"superseded\"}"
expect_problem "revoke without the operator token" 401 /problems/unauthenticated
check "mkey --json ca revoke (SM2)" "$MKEY" --json ca revoke --ca ca_sbx_zjca --serial "$S1" --reason superseded
expect_eq "--json revoke" "$(json_get '[j["serial"], j["reason"], j["crl_number"]]' - <"$MK_TMP/out")" \
  "[\"$S1\", \"superseded\", 2]"
openssl ocsp -issuer "$D/ca_sbx_zjca.1.pem" -cert "$D/s1.pem" -url "$MK_URL/v1/cas/ca_sbx_zjca/ocsp" \
  -noverify >"$D/ocsp.out" 2>&1
grep -q "s1.pem: revoked" "$D/ocsp.out" && pass "OCSP (SM2 CA) after revoke: revoked" \
  || fail "OCSP (SM2 CA) after revoke: revoked: $(cat "$D/ocsp.out")"

# ---- OCSP refusals -----------------------------------------------------------------------
openssl ocsp -issuer "$D/$J.1.pem" -serial 0x1234abcd -url "$MK_URL/v1/cas/$J/ocsp" \
  -CAfile "$D/$J.chain.pem" >"$D/ocsp.out" 2>&1
grep -q "0x1234abcd: unknown" "$D/ocsp.out" && grep -q "Response verify OK" "$D/ocsp.out" \
  && pass "OCSP for an unknown serial: unknown" || fail "OCSP for an unknown serial: $(cat "$D/ocsp.out")"
printf 'this is not DER' >"$D/junk.der"
http POST /v1/cas/$J/ocsp -H "Content-Type: application/ocsp-request" --data-binary @"$D/junk.der"
expect_eq "malformed OCSP request: 200" "$HTTP_STATUS" "200"
expect_eq "malformed OCSP request: an OCSP response" "$(header Content-Type)" "application/ocsp-response"
cp "$MK_TMP/body" "$D/mal.der"
openssl ocsp -respin "$D/mal.der" -resp_text -noverify >"$D/ocsp.out" 2>&1
grep -q "malformedrequest\|malformedRequest" "$D/ocsp.out" && pass "malformed OCSP request: malformedRequest" \
  || fail "malformed OCSP request: malformedRequest: $(cat "$D/ocsp.out")"
head -c 20000 /dev/urandom >"$D/big.der"
http POST /v1/cas/$J/ocsp -H "Content-Type: application/ocsp-request" --data-binary @"$D/big.der"
expect_problem "oversized OCSP request" 413 /problems/too-large
http POST /v1/cas/$J/ocsp -H "Content-Type: application/json" --data-binary @"$D/req.der"
expect_problem "OCSP request of the wrong media type" 415 /problems/unsupported-media-type
http POST /v1/cas/ca_nope/ocsp -H "Content-Type: application/ocsp-request" --data-binary @"$D/req.der"
expect_problem "OCSP at an unknown CA" 404 /problems/not-found
http GET /v1/cas/$J/ocsp
expect_problem "GET without a request" 405 /problems/method-not-allowed

# ---- restart: same CAs, same keys -------------------------------------------------------------
first=$(cat "$D/ca_sbx_jsca.chain.pem")
mk_stop
mk_start
check "chain after restart" "$MKEY" ca chain ca_sbx_jsca --out "$D/again.pem"
expect_eq "restart keeps the CA" "$(cat "$D/again.pem")" "$first"
ocsp_rsa
grep -q "r1.pem: revoked" "$D/ocsp.out" && grep -q "Response verify OK" "$D/ocsp.out" \
  && pass "revocation survives restart" || fail "revocation survives restart: $(cat "$D/ocsp.out")"
mk_stop
mk_done
