-- mkey schema, version 1. Written once for SQLite and PostgreSQL: see the
-- dialect rules in docs/store.md before adding a migration.

-- This installation: exactly one row, inserted by mkeyd at its first start
-- (mk_svc_system_init), never by a migration, so every installation gets an
-- id of its own ("ins_…") and a restored backup keeps it.
CREATE TABLE instance (
  id TEXT PRIMARY KEY,
  created_at TEXT NOT NULL -- RFC 3339 UTC
);
