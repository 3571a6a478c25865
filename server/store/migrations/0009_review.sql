-- CA review and messages (docs/review.md, docs/messages.md). Failed CA
-- operator logins are counted in rate_event (0006) under the buckets
-- ca_login.user:<username> and ca_login.ip:<address>.

-- A CA's queue: one state of one CA, oldest first (GET /v1/ca/applications).
CREATE INDEX application_ca_queue ON application(ca_id, state, updated_at, id);
-- An account's own applications, newest first (GET /v1/applications).
CREATE INDEX application_account_created ON application(account_id, created_at, id);
