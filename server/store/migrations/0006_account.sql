-- Accounts (issue 5, 登录 and 设置): SMS codes, the sandbox SMS outbox, rate
-- limits, and WeChat logins. docs/accounts.md describes the flows.

-- One SMS code. The code itself is never stored: code_mac is
-- HMAC-SHA256(key derived from the KEK, id | phone | purpose | code). A code
-- is live until it expires, is used, is burnt by 5 wrong tries, is replaced
-- by a newer code for the same phone and purpose, or its sending failed.
CREATE TABLE sms_code (
  id TEXT PRIMARY KEY,            -- "smc_…"
  phone TEXT NOT NULL,            -- where it was sent
  purpose TEXT NOT NULL CHECK (purpose IN ('login', 'reset_password', 'change_phone')),
  account_id TEXT REFERENCES account(id), -- change_phone: the account that asked
  code_mac TEXT NOT NULL,         -- hex
  attempts BIGINT NOT NULL,       -- wrong tries so far
  state TEXT NOT NULL CHECK (state IN ('live', 'used', 'burnt', 'replaced', 'failed')),
  remote TEXT NOT NULL,           -- address that asked for it
  created_at BIGINT NOT NULL,     -- Unix seconds
  expires_at BIGINT NOT NULL,
  closed_at BIGINT                -- when it stopped being live
);
CREATE INDEX sms_code_phone ON sms_code(phone, purpose, created_at);

-- What the sandbox SMS provider "sent": readable only by the platform
-- operator (GET /v1/admin/sms-outbox). The http provider never writes here.
CREATE TABLE sms_outbox (
  seq BIGINT PRIMARY KEY,         -- 1, 2, 3, ...: newest first is seq DESC
  id TEXT NOT NULL UNIQUE,        -- "sms_…"
  phone TEXT NOT NULL,
  purpose TEXT NOT NULL,          -- login, reset_password, change_phone, or notice
  code TEXT,                      -- the code the text carries (sandbox only)
  text TEXT NOT NULL,             -- the message as a gateway would deliver it
  created_at TEXT NOT NULL
);
CREATE INDEX sms_outbox_phone ON sms_outbox(phone, seq);

-- Sliding-window rate limits: one row per counted event. bucket names the
-- limit and its subject ("sms.phone:13800000000", "login.ip:127.0.0.1");
-- rows older than the longest window are deleted as new ones come.
CREATE TABLE rate_event (
  bucket TEXT NOT NULL,
  at BIGINT NOT NULL              -- Unix seconds
);
CREATE INDEX rate_event_bucket ON rate_event(bucket, at);

-- Sandbox WeChat: authorization codes handed out by the simulated consent
-- page, single use, kept as SHA-256.
CREATE TABLE wechat_sandbox_code (
  code_sha256 TEXT PRIMARY KEY,
  user_name TEXT NOT NULL,        -- the simulated WeChat user who consented
  expires_at BIGINT NOT NULL,
  used_at BIGINT
);

-- A WeChat identity not yet bound to an account: the ticket lets the client
-- bind it to a phone with an SMS code. Kept as SHA-256; short-lived, single use.
CREATE TABLE wechat_ticket (
  ticket_sha256 TEXT PRIMARY KEY,
  openid TEXT NOT NULL,
  remote TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT
);
