-- Feed runs that send: the run, the column names of each input, the notified rows of each
-- organisation (every column, kept as given), and the message (an item) to each recipient
-- about one report type. A message's item is pinned to its recipient: plans of that item
-- decide that recipient only.
CREATE TABLE feed_runs (
    id         TEXT PRIMARY KEY,       -- run_…
    run_by     TEXT NOT NULL,          -- the person
    started_at TEXT NOT NULL,
    reports    TEXT NOT NULL,          -- JSON array of its report types
    rows       INTEGER NOT NULL,       -- data records read
    summary    TEXT NOT NULL,          -- the run's summary (FORMATS.md "Feed run summary")
    rows_purged_at TEXT                -- when its rows and inputs were deleted (retention)
) STRICT;
CREATE INDEX feed_runs_by_start ON feed_runs(started_at, id);

CREATE TABLE feed_inputs (
    run_id  TEXT NOT NULL REFERENCES feed_runs(id),
    input   INTEGER NOT NULL,          -- the input's number in the run
    path    TEXT NOT NULL,
    columns TEXT NOT NULL,             -- JSON array of the column names
    PRIMARY KEY (run_id, input)
) STRICT, WITHOUT ROWID;

-- Keyed in the order rows are written (input order), so that writing a run appends;
-- read per organisation through the index.
CREATE TABLE feed_rows (
    run_id       TEXT NOT NULL REFERENCES feed_runs(id),
    event        INTEGER NOT NULL,     -- the event's number in the run (input order)
    report       TEXT NOT NULL,
    organisation TEXT NOT NULL,        -- the owner the row resolved to
    input        INTEGER NOT NULL,
    vals         TEXT NOT NULL,        -- JSON array of strings, in the input's column order
    PRIMARY KEY (run_id, event)
) STRICT, WITHOUT ROWID;
CREATE INDEX feed_rows_by_organisation ON feed_rows(run_id, report, organisation, event);

CREATE TABLE feed_messages (
    item_id       TEXT PRIMARY KEY REFERENCES items(id),
    run_id        TEXT NOT NULL REFERENCES feed_runs(id),
    recipient     TEXT NOT NULL,
    report        TEXT NOT NULL,
    organisations TEXT NOT NULL,       -- JSON array of the slugs whose rows it carries
    events        INTEGER NOT NULL
) STRICT;
CREATE INDEX feed_messages_by_run ON feed_messages(run_id, recipient);
CREATE INDEX feed_messages_by_recipient ON feed_messages(recipient, report);
