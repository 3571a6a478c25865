#!/usr/bin/env bash
# mkey keytool against the stock openssl command: signatures made by the two
# halves verify with OpenSSL's ordinary single-key code, and ciphertexts made
# by OpenSSL for pub.pem decrypt through the two halves. Wrong PINs count and
# lock; tampered or swapped files are refused.
. "$(dirname "$0")/harness.sh"

K="$MK_TMP/keys"
mkdir -p "$K"
printf '投标文件 bid file for keytool %s\n' "$(date +%s%N)" >"$MK_TMP/doc"
head -c 32 /dev/urandom >"$MK_TMP/filekey"
kt() { "$MKEY" --profile kt keytool "$@"; }
ktj() { "$MKEY" --profile kt --json keytool "$@"; }
KDF="--kdf-memory 256" # small Argon2id memory keeps the test quick; the default is 64 MiB

for alg in sm2 rsa2048 rsa3072; do
  d="$K/$alg"
  check "$alg: split" kt split --alg "$alg" --pin 123456 $KDF --out "$d"
  for f in pub.pem device.key server.key server.state; do
    expect_eq "$alg: $f is 0600" "$(stat -c %a "$d/$f")" "600"
  done
  check "$alg: pub.pem is a public key" openssl pkey -pubin -in "$d/pub.pem" -noout

  check "$alg: sign" kt sign --key "$d" --pin 123456 --in "$MK_TMP/doc" --out "$d/sig.der"
  if [ "$alg" = sm2 ]; then
    verify() { openssl pkeyutl -verify -pubin -inkey "$d/pub.pem" -rawin -digest sm3 \
      -pkeyopt distid:1234567812345678 -in "$1" -sigfile "$d/sig.der"; }
  else
    verify() { openssl dgst -sha256 -verify "$d/pub.pem" -signature "$d/sig.der" "$1"; }
  fi
  check "$alg: openssl verifies the signature" verify "$MK_TMP/doc"
  printf 'x' | cat "$MK_TMP/doc" - >"$MK_TMP/doc2"
  check_fails "$alg: openssl rejects it for another file" verify "$MK_TMP/doc2"

  if [ "$alg" = sm2 ]; then
    openssl pkeyutl -encrypt -pubin -inkey "$d/pub.pem" -in "$MK_TMP/filekey" -out "$d/ct"
  else
    openssl pkeyutl -encrypt -pubin -inkey "$d/pub.pem" -pkeyopt rsa_padding_mode:oaep \
      -pkeyopt rsa_oaep_md:sha256 -in "$MK_TMP/filekey" -out "$d/ct"
  fi
  check "$alg: decrypt what openssl encrypted" kt decrypt --key "$d" --pin 123456 \
    --in "$d/ct" --out "$d/pt"
  check "$alg: plaintext matches" cmp "$d/pt" "$MK_TMP/filekey"
  expect_eq "$alg: plaintext file is 0600" "$(stat -c %a "$d/pt")" "600"

  "$MKEY" --profile kt keytool sign --key "$d" --pin 654321 --in "$MK_TMP/doc" \
    --out "$d/bad.der" >"$MK_TMP/out" 2>"$MK_TMP/err"
  expect_eq "$alg: wrong PIN exits 1" "$?" "1"
  expect_eq "$alg: wrong PIN message" "$(cat "$MK_TMP/err")" "mkey: wrong PIN (4 attempts left)"
  check "$alg: right PIN resets the counter" kt sign --key "$d" --pin 123456 \
    --in "$MK_TMP/doc" --out "$d/sig2.der"
  check "$alg: show" ktj show --key "$d"
  expect_eq "$alg: counter reset" "$(json_get 'j["attempts_left"]' - <"$MK_TMP/out")" "5"
done

# ---- five wrong PINs lock the key; the sixth attempt reports the lock -------
d="$K/sm2"
for i in 1 2 3 4 5; do
  "$MKEY" --profile kt keytool sign --key "$d" --pin 000000 --in "$MK_TMP/doc" \
    --out "$d/x.der" >/dev/null 2>"$MK_TMP/err"
done
case "$(cat "$MK_TMP/err")" in *locked*) pass "fifth wrong PIN locks the key" ;;
  *) fail "fifth wrong PIN locks the key: $(cat "$MK_TMP/err")" ;; esac
"$MKEY" --profile kt keytool sign --key "$d" --pin 123456 --in "$MK_TMP/doc" \
  --out "$d/x.der" >/dev/null 2>"$MK_TMP/err"
case "$(cat "$MK_TMP/err")" in *locked*) pass "sixth attempt with the right PIN reports the lock" ;;
  *) fail "sixth attempt with the right PIN reports the lock: $(cat "$MK_TMP/err")" ;; esac
[ -e "$d/x.der" ] && fail "no signature written while locked" || pass "no signature written while locked"
check "show says locked" ktj show --key "$d"
expect_eq "locked flag" "$(json_get 'j["locked"]' - <"$MK_TMP/out")" "true"

# ---- tampered and swapped files ---------------------------------------------------
d="$K/rsa2048"
cp "$d/server.key" "$MK_TMP/server.key.orig"
python3 - "$d/server.key" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 1
open(p, "wb").write(bytes(b))
PY
check_fails "tampered server share refused" kt sign --key "$d" --pin 123456 \
  --in "$MK_TMP/doc" --out "$d/t.der"
grep -q "server share is corrupt" "$MK_TMP/err" && pass "tamper message is clear" \
  || fail "tamper message is clear: $(cat "$MK_TMP/err")"
cp "$MK_TMP/server.key.orig" "$d/server.key"
chmod 600 "$d/server.key"

cp "$d/device.key" "$MK_TMP/device.key.orig"
cp "$K/rsa3072/device.key" "$d/device.key"
check_fails "device share of another key refused" kt sign --key "$d" --pin 123456 \
  --in "$MK_TMP/doc" --out "$d/t.der"
cp "$MK_TMP/device.key.orig" "$d/device.key"
check "restored key works again" kt sign --key "$d" --pin 123456 --in "$MK_TMP/doc" \
  --out "$d/t.der"

# The keys are tied to this profile's keystore: another profile cannot use them.
check_fails "another profile's keystore cannot open the device share" \
  "$MKEY" --profile other keytool sign --key "$d" --pin 123456 --in "$MK_TMP/doc" --out "$d/o.der"

# A keystore under a passphrase: needed for every use after.
printf 'correct horse battery staple\n' >"$MK_TMP/pass"
printf 'wrong horse\n' >"$MK_TMP/wrongpass"
check "split with a passphrase-protected keystore" "$MKEY" --profile pp keytool split --alg sm2 \
  --pin 123456 $KDF --passphrase-file "$MK_TMP/pass" --out "$K/pp"
check "sign with the passphrase" "$MKEY" --profile pp keytool sign --key "$K/pp" --pin 123456 \
  --passphrase-file "$MK_TMP/pass" --in "$MK_TMP/doc" --out "$K/pp/sig.der"
check_fails "sign without the passphrase refused" "$MKEY" --profile pp keytool sign --key "$K/pp" \
  --pin 123456 --in "$MK_TMP/doc" --out "$K/pp/sig2.der"
check_fails "sign with a wrong passphrase refused" "$MKEY" --profile pp keytool sign \
  --key "$K/pp" --pin 123456 --passphrase-file "$MK_TMP/wrongpass" --in "$MK_TMP/doc" \
  --out "$K/pp/sig3.der"

# Usage errors: one line and exit 2.
"$MKEY" keytool split --alg dsa --pin 123456 --out "$K/dsa" >/dev/null 2>"$MK_TMP/err"
expect_eq "unknown algorithm exits 1" "$?" "1"
"$MKEY" keytool sign --key "$d" >/dev/null 2>"$MK_TMP/err"
expect_eq "missing options exit 2" "$?" "2"
check_fails "short PIN refused" kt split --alg sm2 --pin 12 --out "$K/short"
check_fails "split refuses an existing key directory" kt split --alg sm2 --pin 123456 $KDF \
  --out "$K/sm2"

mk_done
