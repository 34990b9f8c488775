-- Incident reports, their history and submissions to authorities, and written advice.
CREATE TABLE reports (
    id         TEXT PRIMARY KEY,
    reporter   TEXT NOT NULL,
    aware_at   TEXT NOT NULL,
    category   TEXT NOT NULL,
    title      TEXT NOT NULL,
    status     TEXT NOT NULL,
    content    TEXT NOT NULL,   -- the report as filed (FORMATS.md "Incident report")
    triage     TEXT NOT NULL,   -- the centre's assessment (JSON)
    filed_at   TEXT NOT NULL,
    filed_by   TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX reports_by_aware ON reports (aware_at);
CREATE INDEX reports_by_reporter ON reports (reporter, aware_at);

CREATE TABLE report_events (
    report_id TEXT NOT NULL REFERENCES reports (id),
    seq       INTEGER NOT NULL,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    PRIMARY KEY (report_id, seq)
) STRICT;

CREATE TABLE report_submissions (
    report_id    TEXT NOT NULL REFERENCES reports (id),
    regime       TEXT NOT NULL,
    step         TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    recorded_by  TEXT NOT NULL,
    PRIMARY KEY (report_id, regime, step)
) STRICT;

CREATE TABLE advice (
    id              TEXT PRIMARY KEY,
    organisation    TEXT NOT NULL,
    report_id       TEXT REFERENCES reports (id),
    content         TEXT NOT NULL,   -- title, measures, cves (JSON)
    follow_up       TEXT NOT NULL,   -- YYYY-MM-DD
    given_at        TEXT NOT NULL,
    given_by        TEXT NOT NULL,
    confirmed_at    TEXT,
    confirmed_by    TEXT,
    confirmation    TEXT,
    escalated_at    TEXT,
    escalation_item TEXT
) STRICT;
CREATE INDEX advice_by_follow_up ON advice (follow_up);
