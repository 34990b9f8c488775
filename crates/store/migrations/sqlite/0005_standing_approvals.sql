-- Standing approvals of feed report types: given once by a second person, instead of
-- four eyes on every run's messages; revoked, never deleted.
CREATE TABLE standing_approvals (
    id          INTEGER PRIMARY KEY,
    report      TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    note        TEXT,
    revoked_at  TEXT,
    revoked_by  TEXT
) STRICT;
CREATE UNIQUE INDEX standing_approvals_live ON standing_approvals (report) WHERE revoked_at IS NULL;
