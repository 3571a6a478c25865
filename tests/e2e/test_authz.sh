#!/usr/bin/env bash
# The authorisation matrix: every route of the API called as every role
# (anonymous, logged in but unverified, verified person, staff, admin,
# another enterprise's admin, an operator of the application's CA, an
# operator of another CA, the platform operator) against the expected allow
# or deny of tests/e2e/authz_matrix.txt. A route missing from the matrix
# fails the test.
. "$(dirname "$0")/harness.sh"
mk_start
python3 "$MKEY_SOURCE_DIR/tests/e2e/authz_matrix.py" "$MK_URL" "$MK_DATA" \
  "$MKEY_SOURCE_DIR/tests/e2e/authz_matrix.txt" "$MKEY_SOURCE_DIR/tests/data"
rc=$?
mk_stop
exit $rc
