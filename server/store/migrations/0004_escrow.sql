-- Escrowed encryption keys of dual certificates (docs/pki.md, "Dual
-- certificates and escrow"). One row per encryption certificate whose key the
-- CA's KMC made: the escrow record (MKES v1, the PKCS#8 wrapped by the KMC's
-- own KEK, DATA/kmc.kek) and the server share of the last delivery (MKWR,
-- wrapped by mkeyd's KEK, DATA/kek). A recovery replaces server_share;
-- revocation deletes the row, which destroys the escrowed key.
CREATE TABLE ca_escrow (
  ca_id TEXT NOT NULL,
  serial TEXT NOT NULL,           -- the encryption certificate's, as in ca_cert
  key_id TEXT NOT NULL UNIQUE,    -- "key_…", authenticated in the escrow and the packages
  escrow BYTEA NOT NULL,          -- MKES v1
  server_share BYTEA NOT NULL,    -- MKWR, the server share of the last delivery
  created_at TEXT NOT NULL,       -- RFC 3339 UTC
  updated_at TEXT NOT NULL,       -- of the last delivery
  PRIMARY KEY (ca_id, serial),
  FOREIGN KEY (ca_id, serial) REFERENCES ca_cert(ca_id, serial)
);
