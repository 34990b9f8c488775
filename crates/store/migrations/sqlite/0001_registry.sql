-- The constituency registry, tokens and the append-only, hash-chained audit log.
-- Organisations are never deleted: ending one sets `ended`.

CREATE TABLE organisations (
    slug          TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    jurisdiction  TEXT NOT NULL,
    ended         TEXT,            -- YYYY-MM-DD, first day ended
    secrecy_basis TEXT,            -- NULL: no guarantee on file
    secrecy_from  TEXT,
    secrecy_until TEXT
) STRICT;

CREATE TABLE org_sectors (
    slug     TEXT NOT NULL REFERENCES organisations(slug),
    position INTEGER NOT NULL,     -- 0 is the primary sector
    sector   TEXT NOT NULL,
    PRIMARY KEY (slug, position)
) STRICT;
CREATE INDEX org_sectors_by_sector ON org_sectors(sector);

CREATE TABLE org_designations (
    slug        TEXT NOT NULL REFERENCES organisations(slug),
    position    INTEGER NOT NULL,
    status      TEXT NOT NULL,
    valid_from  TEXT NOT NULL,
    valid_until TEXT,              -- inclusive; NULL: open-ended
    PRIMARY KEY (slug, position)
) STRICT;
CREATE INDEX org_designations_by_status ON org_designations(status);

CREATE TABLE org_serves_sectors (
    slug     TEXT NOT NULL REFERENCES organisations(slug),
    position INTEGER NOT NULL,
    sector   TEXT NOT NULL,
    PRIMARY KEY (slug, position)
) STRICT;

CREATE TABLE org_serves_members (
    slug     TEXT NOT NULL REFERENCES organisations(slug),
    position INTEGER NOT NULL,
    member   TEXT NOT NULL REFERENCES organisations(slug) DEFERRABLE INITIALLY DEFERRED,
    PRIMARY KEY (slug, position)
) STRICT;
CREATE INDEX org_serves_members_by_member ON org_serves_members(member);

CREATE TABLE org_oversees (
    slug     TEXT NOT NULL REFERENCES organisations(slug),
    position INTEGER NOT NULL,
    sector   TEXT NOT NULL,
    PRIMARY KEY (slug, position)
) STRICT;

CREATE TABLE org_prefixes (
    slug     TEXT NOT NULL REFERENCES organisations(slug),
    position INTEGER NOT NULL,
    prefix   TEXT NOT NULL,        -- CIDR as written
    family   INTEGER NOT NULL,     -- 4 or 6
    first    BLOB NOT NULL,        -- network address, big-endian (4 or 16 bytes)
    last     BLOB NOT NULL,        -- last address, big-endian
    bits     INTEGER NOT NULL,
    PRIMARY KEY (slug, position)
) STRICT;
CREATE INDEX org_prefixes_by_range ON org_prefixes(family, first, last);

CREATE TABLE org_asns (
    slug     TEXT NOT NULL REFERENCES organisations(slug),
    position INTEGER NOT NULL,
    asn      INTEGER NOT NULL,
    PRIMARY KEY (slug, position)
) STRICT;
CREATE INDEX org_asns_by_asn ON org_asns(asn);

CREATE TABLE org_domains (
    slug     TEXT NOT NULL REFERENCES organisations(slug),
    position INTEGER NOT NULL,
    domain   TEXT NOT NULL,
    PRIMARY KEY (slug, position)
) STRICT;
CREATE INDEX org_domains_by_domain ON org_domains(domain);

CREATE TABLE org_contacts (
    slug        TEXT NOT NULL REFERENCES organisations(slug),
    position    INTEGER NOT NULL,
    name        TEXT NOT NULL,
    email       TEXT NOT NULL,
    pgp_key     TEXT,
    webhook_url TEXT,
    PRIMARY KEY (slug, position)
) STRICT;

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,     -- public id, shown in listings
    secret_hash  BLOB NOT NULL UNIQUE, -- SHA-256 of the secret; the secret itself is never stored
    role         TEXT NOT NULL,
    name         TEXT NOT NULL,        -- the person (or a recipient token's label)
    organisation TEXT REFERENCES organisations(slug),
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    expires_at   TEXT,
    revoked_at   TEXT
) STRICT;

CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,           -- RFC 3339 UTC, microseconds
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    before    TEXT,                    -- JSON
    after     TEXT,                    -- JSON
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL UNIQUE
) STRICT;
CREATE INDEX audit_log_by_subject ON audit_log(subject, seq);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
