#!/usr/bin/env bash
# ctest browser_console: the CA web console in headless Chromium. This script
# starts a sandbox mkeyd (tests/e2e/harness.sh), creates a CA operator of
# ca_sbx_zjca and a personal application to that CA from a logged-in,
# verified applicant, and runs test_console.mjs (Node + playwright-core,
# Debian's chromium) twice: `reject` (login, queue, detail with the
# attachment image, CSRF refusal, HttpOnly cookie, rejection with a reason),
# then, after the applicant resubmits, `approve` (approval to
# awaiting_payment, a second tab, logout).
#
# Chromium, node and playwright-core are required: scripts/deps.sh installs
# them (make test runs it). When one is missing this test fails and says
# which; it never skips.
HERE=$(cd "$(dirname "$0")" && pwd)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

missing() {
  echo "FAIL - browser_console: $1"
  echo "       scripts/deps.sh installs Debian's chromium and nodejs and runs npm ci in tests/browser"
  echo "0 passed, 1 failed"
  exit 1
}
[ -x "$CHROMIUM" ] || missing "no Chromium at $CHROMIUM (Debian package chromium)"
command -v node >/dev/null 2>&1 || missing "node is not installed (Debian package nodejs)"
[ -f "$HERE/node_modules/playwright-core/package.json" ] ||
  missing "playwright-core is not installed in tests/browser/node_modules (npm ci)"

. "$HERE/../e2e/harness.sh"

D=$MK_TMP/browser
mkdir -p "$D"
ARTIFACTS=${MKEY_BUILD_DIR:-$MK_TMP}/browser-artifacts
rm -f "$ARTIFACTS"/console-*-failed.png 2>/dev/null

# A real PNG (w x h, RGB, a frame and a diagonal band of colour c) that
# Chromium decodes: the console must render the attachment, not just load it.
png() {
  python3 - "$1" "$2" "$3" "$4" <<'EOF'
import struct, sys, zlib
out, w, h, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4], 16)
rgb = ((c >> 16) & 255, (c >> 8) & 255, c & 255)
rows = b""
for y in range(h):
    row = bytearray(b"\x00")
    for x in range(w):
        edge = x < 3 or y < 3 or x >= w - 3 or y >= h - 3
        band = abs(x * h - y * w) < 4 * w
        row += bytes((40, 40, 40) if edge else rgb if band else (250, 248, 240))
    rows += bytes(row)
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))
open(out, "wb").write(data)
EOF
}
png "$D/form.png" 240 160 c0392b
png "$D/form2.png" 240 160 1d4ed8

mk_start
TOK=$(head -1 "$MK_DATA/admin.token")

# ---- the CA operator ------------------------------------------------------
CONSOLE_USER=zj.reviewer
CONSOLE_PASSWORD="Console pass 2026"
printf '{"ca_id":"ca_sbx_zjca","username":"%s","password":"%s"}' "$CONSOLE_USER" \
  "$CONSOLE_PASSWORD" >"$D/op.json"
http POST /v1/admin/ca-operators -H "Authorization: Bearer $TOK" \
  -H 'Content-Type: application/json' --data-binary @"$D/op.json"
expect_eq "the operator adds a CA operator of ca_sbx_zjca" "$HTTP_STATUS" "201"

# ---- the applicant: logged in, verified, applies ----------------------------
APPLICANT_NAME=张三
mk_login alice 13800138001
mk_verify alice "$APPLICANT_NAME" 330402199003071237
check "alice applies for a personal certificate at ca_sbx_zjca" \
  "$MKEY" --profile alice --json cert apply personal --platform plt_jiaxing --ca ca_sbx_zjca \
  --years 1 --form "$D/form.png"
APP_ID=$(json_get 'j["id"]' - <"$MK_TMP/out")
expect_eq "the application awaits the CA" "$(json_get 'j["state"]' - <"$MK_TMP/out")" \
  "awaiting_ca"

# ---- the browser ------------------------------------------------------------
# Runs one phase of test_console.mjs with its output shown, and adds its
# counts to this script's.
browser_phase() {
  local phase=$1 out="$MK_TMP/node-$1.out" rc=0
  (cd "$HERE" && MKEY_URL="$MK_URL" CONSOLE_USER="$CONSOLE_USER" \
    CONSOLE_PASSWORD="$CONSOLE_PASSWORD" APP_ID="$APP_ID" APPLICANT_NAME="$APPLICANT_NAME" \
    CHROMIUM="$CHROMIUM" ARTIFACTS="$ARTIFACTS" ASAN_OPTIONS= UBSAN_OPTIONS= \
    node test_console.mjs "$phase") >"$out" 2>&1 || rc=$?
  grep -v '^[0-9]* passed, [0-9]* failed$' "$out"
  local p f
  p=$(grep -c '^ok   - ' "$out")
  f=$(grep -c '^FAIL - ' "$out")
  MK_PASSED=$((MK_PASSED + p))
  MK_FAILED=$((MK_FAILED + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then fail "node test_console.mjs $phase exited $rc"; fi
  [ "$rc" -eq 0 ]
}

if [ "$MK_FAILED" -ne 0 ] || [ -z "$APP_ID" ]; then
  fail "the browser phases need the operator and the application above"
elif browser_phase reject; then
  check "alice resubmits with a new form" \
    "$MKEY" --profile alice --json app resubmit "$APP_ID" --form "$D/form2.png"
  expect_eq "the resubmitted application awaits the CA again" \
    "$(json_get 'j["state"]' - <"$MK_TMP/out")" "awaiting_ca"
  browser_phase approve
fi

# ---- what the applicant sees --------------------------------------------------
check "alice reads her application" "$MKEY" --profile alice --json app show "$APP_ID"
expect_eq "alice's application awaits payment" "$(json_get 'j["state"]' - <"$MK_TMP/out")" \
  "awaiting_payment"

mk_stop
mk_done
