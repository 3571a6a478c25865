#!/usr/bin/env bash
# Dual certificates, the encryption half: `mkey ca issue-enc` has the CA's KMC
# make and escrow a key pair, certifies it (judged by `openssl verify`) and
# delivers it to the device's transport key (SM2 or RSA); `mkey ca recover`
# delivers it again afresh; revocation destroys the escrow, after which
# recovery is refused.
. "$(dirname "$0")/harness.sh"

ID1=330402199003071237 # INTEROP.md: valid check digits
ID2=320602198506154565
USCC1=91330402MA2B3C4D53
D=$MK_TMP/escrow
mkdir -p "$D"


mk_start
DB=$MK_DATA/mkey.db
tok="$MK_DATA/admin.token"
check "mkey admin login" "$MKEY" admin login --token-file "$tok"
kmc_mode=$(stat -c %a "$MK_DATA/kmc.kek" 2>/dev/null)
expect_eq "DATA/kmc.kek made at first start, 0600" "$kmc_mode" "600"
expect_eq "the KMC KEK is not mkeyd's KEK" \
  "$(cmp -s "$MK_DATA/kmc.kek" "$MK_DATA/kek" && echo same || echo different)" "different"

# The device's transport keys.
check "SM2 transport key" bash -c "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 \
  -out '$D/tsm2.key' 2>/dev/null && openssl pkey -in '$D/tsm2.key' -pubout -out '$D/tsm2.pub'"
check "RSA transport key" bash -c "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
  -out '$D/trsa.key' 2>/dev/null && openssl pkey -in '$D/trsa.key' -pubout -out '$D/trsa.pub'"
for ca in ca_sbx_zjca ca_sbx_jsca; do
  check "mkey ca chain $ca" "$MKEY" ca chain "$ca" --out "$D/$ca.chain.pem"
done

# ---- SM2: personal-enc on zjca, delivered to an SM2 transport key ------------
check "issue-enc personal-enc (SM2, zjca)" "$MKEY" --json ca issue-enc --ca ca_sbx_zjca \
  --profile personal-enc --name 张三 --id-number $ID1 --transport-key "$D/tsm2.pub" \
  --out "$D/e1.pem" --package-out "$D/e1.pkg"
S1=$(json_get 'j["serial"]' - <"$MK_TMP/out")
K1=$(json_get 'j["key_id"]' - <"$MK_TMP/out")
expect_eq "--json: serial, key id, no PEM or package on stdout" \
  "$(json_get '[j["profile"], j["key_id"].startswith("key_"), "certificate" in j, "device_package" in j, j["package_out"]]' - <"$MK_TMP/out")" \
  "[\"personal-enc\", true, false, false, \"$D/e1.pkg\"]"
check "openssl verify: SM2 encryption certificate (signer ID)" openssl verify -partial_chain \
  -vfyopt distid:1234567812345678 -CAfile "$D/ca_sbx_zjca.chain.pem" "$D/e1.pem"
openssl x509 -in "$D/e1.pem" -noout -text >"$D/e1.txt"
grep -q "Key Encipherment\|Data Encipherment\|Key Agreement" "$D/e1.txt" && pass "an encryption key usage" \
  || fail "an encryption key usage: $(grep -A1 'Key Usage' "$D/e1.txt")"
grep -q "SM2" "$D/e1.txt" && pass "an SM2 key (the CA's type)" || fail "an SM2 key"
expect_eq "package is MKDL, 0600" "$(head -c 4 "$D/e1.pkg")/$(stat -c %a "$D/e1.pkg")" "MKDL/600"
expect_eq "escrow row: key id, MKES record, MKWR server share" \
  "$(sqlite3 "$DB" "SELECT key_id, substr(CAST(escrow AS TEXT),1,4), substr(CAST(server_share AS TEXT),1,4) FROM ca_escrow WHERE ca_id='ca_sbx_zjca' AND serial='$S1'")" \
  "$K1|MKES|MKWR"
share1=$(sqlite3 "$DB" "SELECT hex(server_share) FROM ca_escrow WHERE serial='$S1'")

# ---- recovery: a fresh delivery ------------------------------------------------
check "mkey ca recover (SM2 transport key)" "$MKEY" ca recover --ca ca_sbx_zjca --serial "$S1" \
  --transport-key "$D/tsm2.pub" --package-out "$D/e1b.pkg"
expect_eq "recovery package is MKDL" "$(head -c 4 "$D/e1b.pkg")" "MKDL"
cmp -s "$D/e1.pkg" "$D/e1b.pkg" && fail "recovery gives a different package" \
  || pass "recovery gives a different package"
share2=$(sqlite3 "$DB" "SELECT hex(server_share) FROM ca_escrow WHERE serial='$S1'")
[ -n "$share2" ] && [ "$share1" != "$share2" ] && pass "recovery replaces the server share" \
  || fail "recovery replaces the server share"
SER_COLON=$(openssl x509 -in "$D/e1.pem" -noout -serial | cut -d= -f2 | sed 's/../&:/g; s/:$//')
check "recover to an RSA transport key, serial as openssl prints it" "$MKEY" --json ca recover \
  --ca ca_sbx_zjca --serial "$SER_COLON" --transport-key "$D/trsa.pub" --package-out "$D/e1c.pkg"
expect_eq "... the same key id" "$(json_get 'j["key_id"]' - <"$MK_TMP/out")" "$K1"

# ---- RSA: enterprise-enc on jsca, delivered to an RSA transport key ----------
check "issue-enc enterprise-enc (RSA, jsca, 3 years)" "$MKEY" --json ca issue-enc \
  --ca ca_sbx_jsca --profile enterprise-enc --enterprise 杭州某某科技有限公司 --uscc $USCC1 \
  --days 1095 --transport-key "$D/trsa.pub" --out "$D/e2.pem" --package-out "$D/e2.pkg"
S2=$(json_get 'j["serial"]' - <"$MK_TMP/out")
check "openssl verify: RSA encryption certificate" openssl verify \
  -CAfile "$D/ca_sbx_jsca.chain.pem" "$D/e2.pem"
openssl x509 -in "$D/e2.pem" -noout -text | grep -q "rsaEncryption" && pass "an RSA key" \
  || fail "an RSA key"
expect_eq "escrow row for the RSA certificate" \
  "$(sqlite3 "$DB" "SELECT count(*) FROM ca_escrow WHERE ca_id='ca_sbx_jsca' AND serial='$S2'")" "1"

# ---- refusals -------------------------------------------------------------------------
check_fails "a signing profile cannot be escrowed" "$MKEY" ca issue-enc --ca ca_sbx_zjca \
  --profile personal-sign --name 张三 --id-number $ID2 --transport-key "$D/tsm2.pub" \
  --out "$D/x.pem" --package-out "$D/x.pkg"
grep -q "encryption profile" "$MK_TMP/err" && pass "... says why" || fail "... says why: $(cat "$MK_TMP/err")"
echo "not a key" >"$D/junk.pub"
check_fails "a transport key that is not one" "$MKEY" ca issue-enc --ca ca_sbx_zjca \
  --profile personal-enc --name 张三 --id-number $ID2 --transport-key "$D/junk.pub" \
  --out "$D/x.pem" --package-out "$D/x.pkg"
expect_eq "refused issuance leaves no certificate or escrow" \
  "$(sqlite3 "$DB" "SELECT (SELECT count(*) FROM ca_escrow), (SELECT count(*) FROM ca_cert WHERE profile LIKE '%-enc')")" \
  "2|2"
python3 -c 'import json,sys; print(json.dumps({"transport_key": open(sys.argv[1]).read()}))' \
  "$D/tsm2.pub" >"$D/body.json"
http POST "/v1/cas/ca_sbx_zjca/escrowed-certificates/$S1/recovery" \
  -H "Content-Type: application/json" --data-binary @"$D/body.json"
expect_eq "recovery needs the operator" "$HTTP_STATUS" "401"
http POST "/v1/cas/ca_sbx_zjca/escrowed-certificates/abc123/recovery" \
  -H "Content-Type: application/json" -H "Authorization: Bearer $(head -1 "$tok")" \
  --data-binary @"$D/body.json"
expect_problem "recovery of an unknown serial" 404 /problems/not-found

# ---- revocation destroys the escrow ----------------------------------------------
check "revoke the SM2 encryption certificate" "$MKEY" --json ca revoke --ca ca_sbx_zjca \
  --serial "$S1" --reason keyCompromise
expect_eq "revocation says the escrow was destroyed" \
  "$(json_get 'j["escrow_destroyed"]' - <"$MK_TMP/out")" "true"
expect_eq "escrow row deleted" \
  "$(sqlite3 "$DB" "SELECT count(*) FROM ca_escrow WHERE serial='$S1'")" "0"
check_fails "recovery after revocation" "$MKEY" ca recover --ca ca_sbx_zjca --serial "$S1" \
  --transport-key "$D/tsm2.pub" --package-out "$D/e1d.pkg"
grep -q "destroyed" "$MK_TMP/err" && pass "... says the key was destroyed" \
  || fail "... says the key was destroyed: $(cat "$MK_TMP/err")"
http POST "/v1/cas/ca_sbx_zjca/escrowed-certificates/$S1/recovery" \
  -H "Content-Type: application/json" -H "Authorization: Bearer $(head -1 "$tok")" \
  --data-binary @"$D/body.json"
expect_problem "recovery after revocation (HTTP)" 409 /problems/conflict
expect_eq "the RSA escrow stays" \
  "$(sqlite3 "$DB" "SELECT count(*) FROM ca_escrow WHERE serial='$S2'")" "1"
mk_stop
mk_done
