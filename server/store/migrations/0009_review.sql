-- CA review and messages (docs/review.md, docs/messages.md).

-- Failed CA operator logins, kept for the rate limit of POST /v1/ca-sessions:
-- one row per failure under each scope (the username tried, the address it
-- came from). Rows older than the window are pruned as new ones arrive.
CREATE TABLE ca_login_failure (
  scope TEXT NOT NULL CHECK (scope IN ('username', 'remote')),
  subject TEXT NOT NULL,          -- the username (as typed, bounded) or the client address
  at BIGINT NOT NULL              -- Unix seconds
);
CREATE INDEX ca_login_failure_subject ON ca_login_failure(scope, subject, at);

-- A CA's queue: one state of one CA, oldest first (GET /v1/ca/applications).
CREATE INDEX application_ca_queue ON application(ca_id, state, updated_at, id);
-- An account's own applications, newest first (GET /v1/applications).
CREATE INDEX application_account_created ON application(account_id, created_at, id);
