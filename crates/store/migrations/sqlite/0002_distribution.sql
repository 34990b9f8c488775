-- Items (every version kept), approvals of their plans, the outbox of deliveries,
-- forwarding confirmations and per-recipient webhook secrets.

CREATE TABLE items (
    id         TEXT PRIMARY KEY,       -- itm_…
    version    INTEGER NOT NULL,       -- the current version, from 1
    status     TEXT NOT NULL,          -- draft | awaiting_approval | approved | sent | retracted
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    tlp        TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,          -- the person
    updated_at TEXT NOT NULL,
    retraction INTEGER                 -- the version that is a retraction notice, if any
) STRICT;
CREATE INDEX items_by_created ON items(created_at, id);

CREATE TABLE item_versions (
    item_id    TEXT NOT NULL REFERENCES items(id),
    version    INTEGER NOT NULL,
    content    TEXT NOT NULL,          -- the item as written (FORMATS.md "Item"), JSON
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (item_id, version)
) STRICT;

CREATE TABLE approvals (
    item_id     TEXT NOT NULL REFERENCES items(id),
    version     INTEGER NOT NULL,
    plan_hash   TEXT NOT NULL,
    approved_by TEXT NOT NULL,         -- the person, never the item's creator
    approved_at TEXT NOT NULL,
    PRIMARY KEY (item_id, version, plan_hash)
) STRICT;

-- Permitting decisions as kept with deliveries, stored once however many deliveries share
-- one (a general item to 10,000 entities has a handful).
CREATE TABLE decisions (
    id       INTEGER PRIMARY KEY,
    hash     TEXT NOT NULL UNIQUE, -- sha256: of the text
    decision TEXT NOT NULL         -- JSON: rulebook and hash, date, route, bases, conditions
) STRICT;

CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,  -- dlv_…: the stable id (Message-ID, webhook-id)
    item_id         TEXT NOT NULL REFERENCES items(id),
    version         INTEGER NOT NULL,
    recipient       TEXT NOT NULL REFERENCES organisations(slug),
    channel         TEXT NOT NULL,     -- inbox | email | webhook
    address         TEXT,              -- email address or webhook URL
    plan_hash       TEXT NOT NULL,
    decision        INTEGER NOT NULL REFERENCES decisions(id),  -- the decision at sending
    state           TEXT NOT NULL,     -- pending | delivered | held | dead
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    delivered_at    TEXT,
    acknowledged_at TEXT,
    acknowledged_by TEXT,
    reminded_at     TEXT               -- inbox: when a reminder went to the alternate contact
) STRICT;
-- Only pending deliveries are ever looked up by due time; inbox copies never enter it.
CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_by_recipient ON deliveries(recipient, channel, created_at);
CREATE INDEX deliveries_by_item ON deliveries(item_id, version, recipient, channel);
-- Inbox copies waiting for an acknowledgement, for reminders.
CREATE INDEX deliveries_unacknowledged ON deliveries(delivered_at)
    WHERE channel = 'inbox' AND acknowledged_at IS NULL AND reminded_at IS NULL;

CREATE TABLE forwardings (
    delivery_id  TEXT NOT NULL REFERENCES deliveries(id),
    member       TEXT NOT NULL REFERENCES organisations(slug),
    confirmed_at TEXT NOT NULL,
    confirmed_by TEXT NOT NULL,
    PRIMARY KEY (delivery_id, member)
) STRICT;

CREATE TABLE webhook_secrets (
    slug       TEXT PRIMARY KEY REFERENCES organisations(slug),
    secret     TEXT NOT NULL,          -- whsec_…, needed in clear to sign
    created_at TEXT NOT NULL
) STRICT;
