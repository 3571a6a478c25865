#!/usr/bin/env python3
"""Authorisation matrix: every API route x every role, against a live mkeyd.

Usage: authz_matrix.py BASE_URL DATA_DIR MATRIX_FILE TEST_DATA_DIR

Builds the fixtures a real deployment has (accounts in each role, two claimed
enterprises, CA operators of two CAs, applications, messages, authorisations)
through the HTTP API only, then calls every row of MATRIX_FILE as each role
and compares the answer with the expected allow (A) or deny (D):
  deny  = 401, 403 or 404 (the route refused the caller, or hid the object)
  allow = any other status (a 2xx, or 409/422/429: the caller got past the
          authorisation rules and was judged on the request itself)
Every operation of GET /v1/openapi.json must have a row, and every row an
operation: a new route without a rule fails this test.
"""
import json
import random
import sys
import urllib.error
import urllib.request

BASE, DATA, MATRIX, TESTDATA = sys.argv[1:5]
ROLES = ["anon", "unverified", "person", "staff", "admin", "other_admin",
         "ca_own", "ca_other", "operator"]
CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"

passed = failed = 0


def ok(what):
    global passed
    passed += 1
    print("ok   - " + what)


def bad(what):
    global failed
    failed += 1
    print("FAIL - " + what)


def device_id():
    return "dev_" + random.choice("01234567") + "".join(
        random.choice(CROCKFORD) for _ in range(25))


def call(method, path, body=None, auth=None, raw=None, ctype=None):
    """(status, parsed JSON or None). auth: dict of headers."""
    data = None
    headers = {"Accept": "application/json"}
    if raw is not None:
        data, headers["Content-Type"] = raw, ctype
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    headers.update(auth or {})
    req = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            status, text = r.status, r.read()
    except urllib.error.HTTPError as err:
        status, text = err.code, err.read()
    try:
        doc = json.loads(text) if text else None
    except ValueError:
        doc = None
    return status, doc


def must(what, status, doc, want=(200, 201, 202, 204)):
    if status not in want:
        raise SystemExit("fixture step failed: %s: HTTP %d %s" % (what, status, doc))
    return doc


OPERATOR = {"Authorization": "Bearer " + open(DATA + "/admin.token").read().strip()}

# Valid test identities and credit codes, made with their check digits.


def id_number(seq):
    body = "330402199003%02d%03d" % (1 + seq % 28, 100 + seq)
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    s = sum(int(c) * w[i] for i, c in enumerate(body))
    return body + "10X98765432"[s % 11]


def uscc(seq):
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91330402MA2B3C%03d" % seq
    body = body[:17]
    w = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    s = sum(chars.index(c) * w[i] for i, c in enumerate(body))
    return body + chars[(31 - s % 31) % 31]


def login(phone):
    dev = device_id()
    must("sms code " + phone, *call("POST", "/v1/sms-codes", {"phone": phone, "purpose": "login"}))
    out = must("outbox", *call("GET", "/v1/admin/sms-outbox?phone=" + phone, auth=OPERATOR))
    code = out["items"][0]["code"]
    s = must("login " + phone, *call("POST", "/v1/sessions",
                                     {"phone": phone, "code": code, "device_id": dev}))
    return {"Authorization": "Bearer " + s["token"], "Mkey-Device": dev}


def verify(auth, name, idn):
    must("verify " + name, *call("POST", "/v1/me/identity",
                                 {"method": "cfca", "name": name, "id_number": idn}, auth=auth))


def upload(auth, fname, ctype):
    raw = open(TESTDATA + "/" + fname, "rb").read()
    return must("upload", *call("POST", "/v1/attachments", raw=raw, ctype=ctype, auth=auth))["id"]


def ca_login(ca_id, user):
    pw = "review pass 1"
    must("ca operator " + user, *call("POST", "/v1/admin/ca-operators",
                                      {"ca_id": ca_id, "username": user, "password": pw},
                                      auth=OPERATOR))
    s = must("ca login " + user, *call("POST", "/v1/ca-sessions",
                                       {"username": user, "password": pw}))
    return {"Authorization": "Bearer " + s["token"]}


def claim(auth, name, code, legal, legal_id, ca_auth):
    form = upload(auth, "form.png", "image/png")
    lic = upload(auth, "license.jpg", "image/jpeg")
    app = must("claim " + name, *call("POST", "/v1/enterprises/claims", {
        "name": name, "uscc": code, "legal_name": legal, "legal_id_number": legal_id,
        "license": lic, "platform_id": "plt_jiaxing", "ca_id": "ca_sbx_zjca", "years": 1,
        "attachments": [{"role": "application_form", "id": form}]}, auth=auth))
    must("claim approval", *call("POST", "/v1/ca/applications/%s/approval" % app["id"], {},
                                 auth=ca_auth))
    return app["enterprise"]["id"], app["id"]


def main():
    random.seed()
    fx = {}
    roles = {"anon": {}, "operator": OPERATOR}
    roles["ca_own"] = ca_login("ca_sbx_zjca", "zj.matrix")
    roles["ca_other"] = ca_login("ca_sbx_jsca", "js.matrix")

    roles["unverified"] = login("13900000001")
    roles["person"] = login("13900000002")
    roles["staff"] = login("13900000003")
    roles["admin"] = login("13900000004")
    roles["other_admin"] = login("13900000005")
    verify(roles["person"], "钱一", id_number(1))
    verify(roles["staff"], "孙二", id_number(2))
    verify(roles["admin"], "李三", id_number(3))
    verify(roles["other_admin"], "周四", id_number(4))

    # two claimed enterprises, each with its admin
    fx["ENT_A"], fx["APP_CLAIM"] = claim(roles["admin"], "嘉兴矩阵测试有限公司", uscc(1), "李三",
                                         id_number(3), roles["ca_own"])
    fx["ENT_B"], _ = claim(roles["other_admin"], "南通矩阵测试有限公司", uscc(2), "周四",
                           id_number(4), roles["ca_own"])
    # staff joins A: the admin agrees, the CA approves
    form = upload(roles["staff"], "form.png", "image/png")
    join = must("join", *call("POST", "/v1/enterprises/%s/join-requests" % fx["ENT_A"], {
        "admin_name": "李三", "admin_phone": "13900000004", "permissions": ["login", "sign"],
        "platform_id": "plt_jiaxing", "ca_id": "ca_sbx_zjca", "years": 1,
        "attachments": [{"role": "application_form", "id": form}]}, auth=roles["staff"]))
    fx["APP_JOIN"] = join["id"]
    must("admin agrees", *call("POST", "/v1/applications/%s/admin-approval" % join["id"], {},
                               auth=roles["admin"]))
    must("ca approves join", *call("POST", "/v1/ca/applications/%s/approval" % join["id"], {},
                                   auth=roles["ca_own"]))
    members = must("members", *call("GET", "/v1/enterprises/%s/members" % fx["ENT_A"],
                                    auth=roles["admin"]))["items"]
    fx["MEMBER_STAFF"] = [m for m in members if m.get("role") == "staff"][0]["member_id"]
    fx["MEMBER_ADMIN"] = [m for m in members if m.get("role") == "admin"][0]["member_id"]
    auth_row = must("grant", *call("POST", "/v1/enterprises/%s/authorizations" % fx["ENT_A"], {
        "member_id": fx["MEMBER_STAFF"], "platform_id": "plt_nantong",
        "permissions": ["login"]}, auth=roles["admin"]))
    fx["AUTH"] = auth_row["id"]
    # the person's personal application, waiting for the CA, with its form
    fx["ATT_PERSON"] = upload(roles["person"], "form.png", "image/png")
    app = must("personal", *call("POST", "/v1/applications/personal", {
        "platform_id": "plt_jiaxing", "ca_id": "ca_sbx_zjca", "years": 1,
        "attachments": [{"role": "application_form", "id": fx["ATT_PERSON"]}]},
        auth=roles["person"]))
    fx["APP_PERSON"] = app["id"]
    # a pending invitation of A to the unverified account's phone
    inv = must("invite", *call("POST", "/v1/enterprises/%s/invitations" % fx["ENT_A"],
                               {"name": "钱一", "phone": "13900000002"}, auth=roles["admin"]))
    fx["INVITATION"] = inv["id"]
    # the admin's message about the join request
    msgs = must("messages", *call("GET", "/v1/messages", auth=roles["admin"]))["items"]
    fx["MSG_ADMIN"] = msgs[0]["id"]
    # a face session of the unverified account
    face = must("face session", *call("POST", "/v1/me/identity/face-sessions",
                                      {"name": "吴五", "id_number": id_number(5)},
                                      auth=roles["unverified"]))
    fx["FACE"] = face.get("face_session_id") or face.get("id")
    fx["PLATFORM"] = "plt_jiaxing"
    fx["CA"] = "ca_sbx_zjca"

    # the rows
    rows = []
    for n, line in enumerate(open(MATRIX, encoding="utf-8"), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line == "!relogin-ca":  # fresh CA operator sessions for the rows below
            rows.append(("!relogin-ca", None, None, None))
            continue
        parts = line.split()
        if len(parts) != 3 + len(ROLES) or any(c not in "AD" for c in parts[3:]):
            raise SystemExit("%s:%d: want METHOD PATTERN PATH and %d of A/D" % (MATRIX, n, len(ROLES)))
        rows.append((parts[0], parts[1], parts[2], parts[3:]))

    status, doc = call("GET", "/v1/openapi.json")
    ops = {(m.upper(), p) for p, item in doc["paths"].items() for m in item
           if m in ("get", "post", "put", "delete", "patch")}
    have = {(r[0], r[1]) for r in rows if r[1] is not None}
    for op in sorted(ops - have):
        bad("route %s %s has no row in the matrix" % op)
    for op in sorted(have - ops):
        if op[1].startswith("/v1/"):
            bad("matrix row %s %s is not a route" % op)
    if not ops - have:
        ok("every one of %d API operations has a row" % len(ops))

    for method, pattern, path, want in rows:
        if method == "!relogin-ca":
            for role, user in (("ca_own", "zj.matrix"), ("ca_other", "js.matrix")):
                s = must("ca relogin", *call("POST", "/v1/ca-sessions",
                                             {"username": user, "password": "review pass 1"}))
                roles[role] = {"Authorization": "Bearer " + s["token"]}
            continue
        concrete = path
        for k, v in fx.items():
            concrete = concrete.replace("$" + k, v)
        for role, w in zip(ROLES, want):
            body = None if method in ("GET", "DELETE") else {}
            status, doc = call(method, concrete, body, auth=roles[role])
            got = "D" if status in (401, 403, 404) else "A"
            what = "%s %s as %s: %s (HTTP %d)" % (method, pattern, role,
                                                   "allowed" if got == "A" else "denied", status)
            if status >= 500:
                bad(what + " — a server error")
            elif got == w:
                ok(what)
            else:
                bad(what + ", expected " + ("allowed" if w == "A" else "denied"))

    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


main()
