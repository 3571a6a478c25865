-- Platform operators' bearer tokens. Only a SHA-256 of each token is kept:
-- tokens are 256-bit random values, so a fast hash is enough and a copy of
-- the database does not yield a usable token. The first one is made at first
-- start and written to DATA/admin.token (0600).
CREATE TABLE operator_token (
  id TEXT PRIMARY KEY,           -- "opt_…"
  token_sha256 TEXT NOT NULL UNIQUE, -- lower-case hex
  created_at TEXT NOT NULL       -- RFC 3339 UTC
);
