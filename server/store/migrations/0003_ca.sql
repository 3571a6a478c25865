-- Certificate authorities and what they issued. A builtin CA keeps its
-- issuing certificate, the chain up to its root, and its private key wrapped
-- by the KEK (never in clear); a cmp CA keeps only what the external CA sent
-- and how to reach it.
CREATE TABLE ca (
  id TEXT PRIMARY KEY,            -- "ca_…", as in /v1/cas/{id}
  name TEXT NOT NULL,             -- shown to users
  adapter TEXT NOT NULL CHECK (adapter IN ('builtin', 'cmp')),
  key_type TEXT NOT NULL CHECK (key_type IN ('sm2', 'rsa')),
  profile TEXT NOT NULL,          -- JSON: validity options and fees, attachments, review
  adapter_config TEXT,            -- JSON, cmp only: server URL, reference, secret file, trusted cert
  origin TEXT NOT NULL CHECK (origin IN ('sandbox', 'config')),
  base_url TEXT NOT NULL,         -- public URL its certificates point at (CRL, OCSP)
  cert_pem TEXT,                  -- issuing CA certificate
  chain_pem TEXT,                 -- issuing CA then root, PEM
  key_wrapped BYTEA,              -- PKCS#8 of the issuing CA key, wrapped by the KEK
  crl_number BIGINT NOT NULL,     -- of the CRL in crl_der, or of the next one when that is NULL
  crl_der BYTEA,                  -- the CRL last published; NULL after a revocation
  crl_next_update BIGINT,         -- its nextUpdate, Unix seconds
  created_at TEXT NOT NULL,       -- RFC 3339 UTC
  updated_at TEXT NOT NULL
);

CREATE TABLE ca_cert (
  ca_id TEXT NOT NULL REFERENCES ca(id),
  serial TEXT NOT NULL,           -- lower-case hex without leading zeros
  profile TEXT NOT NULL,          -- personal-sign, enterprise-enc, ...
  subject TEXT NOT NULL,          -- RFC 2253 text, for operators
  not_before TEXT NOT NULL,
  not_after TEXT NOT NULL,
  der BYTEA NOT NULL,
  issued_at TEXT NOT NULL,
  revoked_at TEXT,                -- NULL while good
  reason TEXT,                    -- RFC 5280 reason name
  PRIMARY KEY (ca_id, serial)
);

-- The CRL lists a CA's revoked certificates: read them without a scan.
CREATE INDEX ca_cert_revoked ON ca_cert(ca_id) WHERE revoked_at IS NOT NULL;
