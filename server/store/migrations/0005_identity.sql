-- Identity and organisation (issue 5): the records every later workflow
-- refers to. Tables that belong to one service alone (SMS codes, rate
-- limits, invitations, help articles, ...) come in their own migrations.

-- Trading platforms and the alliance they belong to (平台选择). The seed rows
-- come with the platform service's migration.
CREATE TABLE platform (
  id TEXT PRIMARY KEY,            -- "plt_…"
  name TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('platform', 'alliance')),
  province TEXT NOT NULL,
  city TEXT NOT NULL,
  lat_e6 BIGINT NOT NULL,         -- latitude in millionths of a degree
  lon_e6 BIGINT NOT NULL,
  alliance_id TEXT REFERENCES platform(id), -- the alliance this platform is a member of
  created_at TEXT NOT NULL
);

-- A user of the phone client. Logged in by phone + SMS code, password or
-- WeChat; the phone number is the account's name.
CREATE TABLE account (
  id TEXT PRIMARY KEY,            -- "acc_…"
  phone TEXT NOT NULL UNIQUE,     -- 11-digit mainland mobile number
  password_hash TEXT,             -- Argon2id encoded string; NULL until set
  wechat_openid TEXT UNIQUE,      -- bound WeChat identity, if any
  platform_id TEXT REFERENCES platform(id), -- the user's current platform
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- The verified identity of an account (实名认证), stored once. A person has
-- one account: the ID number is unique.
CREATE TABLE identity (
  account_id TEXT PRIMARY KEY REFERENCES account(id),
  name TEXT NOT NULL,
  id_number TEXT NOT NULL UNIQUE, -- GB 11643, upper-case X
  method TEXT NOT NULL CHECK (method IN ('cfca', 'alipay', 'bankcard')),
  verified_at TEXT NOT NULL
);

-- A CA operator reviews the applications of one CA (web console, mkey ca).
CREATE TABLE ca_operator (
  id TEXT PRIMARY KEY,            -- "cop_…"
  ca_id TEXT NOT NULL REFERENCES ca(id),
  username TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,    -- Argon2id encoded string
  created_at TEXT NOT NULL,
  disabled_at TEXT
);

-- Sessions: opaque random tokens, kept only as SHA-256. An account session
-- is bound to the device (client profile) that logged in; a console session
-- (cookie) also keeps the hash of its CSRF token.
CREATE TABLE session (
  id TEXT PRIMARY KEY,            -- "ses_…"
  token_sha256 TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('account', 'ca_operator', 'console')),
  account_id TEXT REFERENCES account(id),
  ca_operator_id TEXT REFERENCES ca_operator(id),
  device_id TEXT NOT NULL,        -- "dev_…" of the client; "" for console sessions
  csrf_sha256 TEXT,               -- console sessions only
  remote TEXT NOT NULL,           -- address that logged in
  created_at TEXT NOT NULL,
  expires_at BIGINT NOT NULL,     -- Unix seconds
  revoked_at TEXT,
  CHECK ((kind = 'account') = (account_id IS NOT NULL)),
  CHECK ((kind <> 'account') = (ca_operator_id IS NOT NULL))
);
CREATE INDEX session_account ON session(account_id);

-- Enterprises (认领企业). An enterprise row exists from its first claim
-- application; it is 'claimed' once a claim is approved, and then has an
-- admin.
CREATE TABLE enterprise (
  id TEXT PRIMARY KEY,            -- "ent_…"
  name TEXT NOT NULL,
  uscc TEXT NOT NULL UNIQUE,      -- GB 32100 unified social credit code
  legal_name TEXT NOT NULL,
  legal_id_number TEXT NOT NULL,
  license_attachment_id TEXT,     -- the business licence image
  state TEXT NOT NULL CHECK (state IN ('claiming', 'claimed')),
  admin_account_id TEXT REFERENCES account(id),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- Who belongs to an enterprise, as admin or staff, with which permissions.
CREATE TABLE membership (
  id TEXT PRIMARY KEY,            -- "mbr_…"
  enterprise_id TEXT NOT NULL REFERENCES enterprise(id),
  account_id TEXT NOT NULL REFERENCES account(id),
  role TEXT NOT NULL CHECK (role IN ('admin', 'staff')),
  permissions TEXT NOT NULL,      -- JSON array of permission names
  state TEXT NOT NULL CHECK (state IN ('active', 'removed')),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (enterprise_id, account_id)
);
CREATE INDEX membership_account ON membership(account_id);

-- Uploaded files (licence photos, application forms, extra attachments):
-- PNG or JPEG, size-capped, type sniffed from the bytes.
CREATE TABLE attachment (
  id TEXT PRIMARY KEY,            -- "att_…"
  account_id TEXT NOT NULL REFERENCES account(id), -- who uploaded it
  media_type TEXT NOT NULL CHECK (media_type IN ('image/png', 'image/jpeg')),
  size BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  data BYTEA NOT NULL,
  created_at TEXT NOT NULL
);

-- Every request is an application with a state machine (DESIGN.md,
-- docs/applications.md).
CREATE TABLE application (
  id TEXT PRIMARY KEY,            -- "apl_…"
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  account_id TEXT NOT NULL REFERENCES account(id), -- the applicant
  enterprise_id TEXT REFERENCES enterprise(id),
  platform_id TEXT REFERENCES platform(id),
  ca_id TEXT REFERENCES ca(id),
  years BIGINT,
  data TEXT NOT NULL,             -- JSON: what the kind needs
  admin_decision TEXT,            -- JSON {decision, by, at, reason}
  ca_decision TEXT,               -- JSON {decision, by, at, reason}
  version BIGINT NOT NULL,        -- bumped by every transition
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX application_account ON application(account_id);
CREATE INDEX application_ca_state ON application(ca_id, state);
CREATE INDEX application_enterprise ON application(enterprise_id);

-- Which attachments an application carries, in what role.
CREATE TABLE application_attachment (
  application_id TEXT NOT NULL REFERENCES application(id),
  attachment_id TEXT NOT NULL REFERENCES attachment(id),
  role TEXT NOT NULL,             -- "license", "form", "extra", ...
  PRIMARY KEY (application_id, attachment_id)
);

-- The history of an application: one row per transition.
CREATE TABLE application_event (
  id TEXT PRIMARY KEY,            -- "ape_…"
  application_id TEXT NOT NULL REFERENCES application(id),
  seq BIGINT NOT NULL,
  event TEXT NOT NULL,
  from_state TEXT,
  to_state TEXT NOT NULL,
  actor TEXT NOT NULL,            -- acc_…, cop_…, "system"
  reason TEXT,
  at TEXT NOT NULL,
  UNIQUE (application_id, seq)
);

-- Inbox of an account (消息).
CREATE TABLE message (
  id TEXT PRIMARY KEY,            -- "msg_…"
  account_id TEXT NOT NULL REFERENCES account(id),
  seq BIGINT NOT NULL,            -- per account, increasing: long-polls wait for a higher one
  type TEXT NOT NULL,             -- docs/messages.md lists them
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  application_id TEXT REFERENCES application(id),
  action TEXT,                    -- what the reader may do: "approve", "resubmit", ...
  read_at TEXT,
  created_at TEXT NOT NULL,
  UNIQUE (account_id, seq)
);

-- Audit events in a hash chain: hash = SHA-256 over the previous hash and
-- this event's fields (docs/audit.md).
CREATE TABLE audit_event (
  seq BIGINT PRIMARY KEY,         -- 1, 2, 3, ... without gaps
  id TEXT NOT NULL UNIQUE,        -- "aud_…"
  at TEXT NOT NULL,
  actor TEXT NOT NULL,            -- acc_…, cop_…, "operator", "system"
  action TEXT NOT NULL,           -- "application.submit", "account.login", ...
  object_type TEXT NOT NULL,
  object_id TEXT NOT NULL,
  account_id TEXT,                -- the account concerned, for queries
  enterprise_id TEXT,             -- the enterprise concerned, for queries
  remote TEXT NOT NULL,
  request_id TEXT NOT NULL,
  detail TEXT NOT NULL,           -- JSON object
  prev_hash TEXT NOT NULL,        -- hex; 64 zeros for the first
  hash TEXT NOT NULL
);
CREATE INDEX audit_account ON audit_event(account_id);
CREATE INDEX audit_enterprise ON audit_event(enterprise_id);
CREATE INDEX audit_object ON audit_event(object_id);
