-- Organisation (docs/enterprises.md): invitations to join an enterprise,
-- pending changes of enterprise information, and the authorisations an
-- admin grants staff per trading platform. Enterprises and memberships are
-- in 0005_identity.sql.

-- An admin invites a person by name and mobile number (新增人员). The person
-- accepts after logging in with that number and passing real-name
-- verification under that name.
CREATE TABLE invitation (
  id TEXT PRIMARY KEY,            -- "inv_…"
  enterprise_id TEXT NOT NULL REFERENCES enterprise(id),
  name TEXT NOT NULL,             -- the invitee's name as the admin typed it
  phone TEXT NOT NULL,            -- the invitee's mobile number
  permissions TEXT NOT NULL,      -- JSON array of permission names
  invited_by TEXT NOT NULL REFERENCES account(id),
  state TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'withdrawn')),
  account_id TEXT REFERENCES account(id),         -- who accepted
  application_id TEXT REFERENCES application(id), -- the join application it made, if any
  created_at TEXT NOT NULL,
  expires_at BIGINT NOT NULL,     -- Unix seconds
  updated_at TEXT NOT NULL
);
CREATE INDEX invitation_phone ON invitation(phone);
CREATE INDEX invitation_enterprise ON invitation(enterprise_id);

-- The new enterprise information of a change application (变更企业信息),
-- applied when the CA approves. Kept here rather than in application.data,
-- which the applicant and the CA see, so the legal representative's full ID
-- number is not repeated in every answer.
CREATE TABLE enterprise_change (
  id TEXT PRIMARY KEY,            -- "chg_…"
  enterprise_id TEXT NOT NULL REFERENCES enterprise(id),
  application_id TEXT REFERENCES application(id), -- set once the application exists
  name TEXT NOT NULL,
  uscc TEXT NOT NULL,
  legal_name TEXT NOT NULL,
  legal_id_number TEXT NOT NULL,
  license_attachment_id TEXT REFERENCES attachment(id),
  certificates TEXT NOT NULL,     -- JSON array of certificate ids to re-issue
  state TEXT NOT NULL CHECK (state IN ('pending', 'applied', 'dropped')),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX enterprise_change_enterprise ON enterprise_change(enterprise_id, state);

-- A staff member may act for the enterprise on a trading platform with these
-- permissions (授权管理). Revoking keeps the row (revoked_at set), so the
-- history by platform and by person stays complete. The name is not
-- "authorization", a reserved word in PostgreSQL.
CREATE TABLE staff_authorization (
  id TEXT PRIMARY KEY,            -- "auz_…"
  enterprise_id TEXT NOT NULL REFERENCES enterprise(id),
  membership_id TEXT NOT NULL REFERENCES membership(id),
  platform_id TEXT NOT NULL REFERENCES platform(id),
  permissions TEXT NOT NULL,      -- JSON array of permission names
  source TEXT NOT NULL CHECK (source IN ('grant', 'join', 'staff_cert')),
  application_id TEXT REFERENCES application(id), -- for join and staff_cert
  granted_by TEXT NOT NULL,       -- acc_… of the admin, or "system" for an approved application
  granted_at TEXT NOT NULL,
  revoked_by TEXT,
  revoked_at TEXT
);
CREATE INDEX staff_authorization_enterprise ON staff_authorization(enterprise_id);
CREATE INDEX staff_authorization_member ON staff_authorization(membership_id, platform_id);
