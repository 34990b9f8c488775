//! The SQLite side of feed runs (migration 0006).

use rusqlite::{Connection, OptionalExtension, params};
use schakel_domain::{OrgSlug, Tlp};

use crate::audit::timestamp_text;
use crate::sqlite::{Filter, corrupt, opt_ts, parse, read_timestamp};
use crate::{FeedInputRow, FeedMessageRow, FeedRowRow, FeedRunProgress, FeedRunRow, StoreError};

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn json_text<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| corrupt(format!("cannot write JSON: {e}")))
}

fn read_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(format!("{what}: {e}")))
}

/// A row's or message's TLP as stored (`''`: stored before rows had their own).
fn tlp_text(tlp: Option<Tlp>) -> &'static str {
    tlp.map_or("", Tlp::as_str)
}

fn tlp_of(what: &str, text: &str) -> Result<Option<Tlp>, StoreError> {
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|e: schakel_domain::ValueError| corrupt(format!("{what}: {}", e.0)))
}

fn slugs(what: &str, text: &str) -> Result<Vec<OrgSlug>, StoreError> {
    read_json::<Vec<String>>(what, text)?
        .iter()
        .map(|s| OrgSlug::parse(s).map_err(|e| corrupt(format!("{what}: {}", e.0))))
        .collect()
}

pub(crate) fn insert_feed_run(conn: &Connection, run: &FeedRunRow) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO feed_runs (id, run_by, started_at, reports, rows, summary, rows_purged_at)
         VALUES (?1, ?2, ?3, ?4, ?5, '{}', ?6)",
    )?
    .execute(params![
        run.id,
        run.run_by,
        timestamp_text(run.started_at),
        json_text(&run.reports)?,
        int(run.rows),
        run.rows_purged_at.map(timestamp_text)
    ])?;
    Ok(())
}

pub(crate) fn feed_run_summary(
    conn: &Connection,
    id: &str,
) -> Result<Option<serde_json::Value>, StoreError> {
    conn.prepare_cached("SELECT summary FROM feed_runs WHERE id = ?1")?
        .query_row([id], |r| r.get::<_, String>(0))
        .optional()?
        .map(|text| read_json(&format!("feed run {id}"), &text))
        .transpose()
}

pub(crate) fn feed_run_progress(
    conn: &Connection,
    run_id: &str,
) -> Result<FeedRunProgress, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT i.status, count(*),
                sum(EXISTS (SELECT 1 FROM deliveries d
                            WHERE d.item_id = m.item_id AND d.state IN ('pending', 'held')))
         FROM feed_messages m JOIN items i ON i.id = m.item_id
         WHERE m.run_id = ?1 GROUP BY i.status ORDER BY i.status",
    )?;
    let rows = stmt.query_map([run_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut progress = FeedRunProgress::default();
    for row in rows {
        let (status, n, undelivered) = row?;
        progress.by_status.push((
            parse("item status", &status)?,
            u64::try_from(n).unwrap_or(0),
        ));
        progress.undelivered += u64::try_from(undelivered).unwrap_or(0);
    }
    Ok(progress)
}

pub(crate) fn update_feed_run_summary(
    conn: &Connection,
    id: &str,
    summary: &serde_json::Value,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached("UPDATE feed_runs SET summary = ?2 WHERE id = ?1")?
        .execute(params![id, json_text(summary)?])?;
    Ok(n > 0)
}

type RawRun = (String, String, String, String, i64, Option<String>);

fn raw_run(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRun> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn run_from(
    (id, run_by, started_at, reports, rows, purged): RawRun,
) -> Result<FeedRunRow, StoreError> {
    Ok(FeedRunRow {
        reports: read_json(&format!("feed run {id}"), &reports)?,
        rows: u64::try_from(rows).unwrap_or(0),
        started_at: read_timestamp(&started_at)?,
        rows_purged_at: opt_ts(purged)?,
        id,
        run_by,
    })
}

const RUN_COLUMNS: &str =
    "SELECT id, run_by, started_at, reports, rows, rows_purged_at FROM feed_runs";

pub(crate) fn purge_feed_rows(
    conn: &Connection,
    run_id: &str,
    at: jiff::Timestamp,
) -> Result<u64, StoreError> {
    let rows = conn
        .prepare_cached("DELETE FROM feed_rows WHERE run_id = ?1")?
        .execute([run_id])?;
    conn.prepare_cached("DELETE FROM feed_inputs WHERE run_id = ?1")?
        .execute([run_id])?;
    conn.prepare_cached(
        "UPDATE feed_runs SET rows_purged_at = ?2 WHERE id = ?1 AND rows_purged_at IS NULL",
    )?
    .execute(params![run_id, timestamp_text(at)])?;
    Ok(rows as u64)
}

pub(crate) fn feed_run(conn: &Connection, id: &str) -> Result<Option<FeedRunRow>, StoreError> {
    conn.prepare_cached(&format!("{RUN_COLUMNS} WHERE id = ?1"))?
        .query_row([id], raw_run)
        .optional()?
        .map(run_from)
        .transpose()
}

pub(crate) fn feed_runs(
    conn: &Connection,
    limit: u64,
    offset: u64,
) -> Result<(Vec<FeedRunRow>, u64), StoreError> {
    Filter::default().page(
        conn,
        "feed_runs",
        RUN_COLUMNS,
        "started_at DESC, id DESC",
        (limit, offset),
        raw_run,
        run_from,
    )
}

pub(crate) fn insert_feed_input(conn: &Connection, input: &FeedInputRow) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO feed_inputs (run_id, input, path, columns) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        input.run_id,
        input.input,
        input.path,
        json_text(&input.columns)?
    ])?;
    Ok(())
}

pub(crate) fn feed_inputs(
    conn: &Connection,
    run_id: &str,
) -> Result<Vec<FeedInputRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT input, path, columns FROM feed_inputs WHERE run_id = ?1 ORDER BY input",
    )?;
    let rows = stmt.query_map([run_id], |r| {
        Ok((
            r.get::<_, u32>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    rows.map(|r| {
        let (input, path, columns) = r?;
        Ok(FeedInputRow {
            run_id: run_id.to_owned(),
            input,
            path,
            columns: read_json(&format!("feed run {run_id} input {input}"), &columns)?,
        })
    })
    .collect()
}

pub(crate) fn insert_feed_row(conn: &Connection, row: &FeedRowRow) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO feed_rows (run_id, report, tlp, organisation, event, input, vals)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        row.run_id,
        row.report,
        tlp_text(row.tlp),
        row.organisation.as_str(),
        row.event,
        row.input,
        row.values
    ])?;
    Ok(())
}

pub(crate) fn feed_rows(
    conn: &Connection,
    run_id: &str,
    report: &str,
    tlp: Option<Tlp>,
    organisation: &OrgSlug,
    limit: u64,
    offset: u64,
) -> Result<(Vec<FeedRowRow>, u64), StoreError> {
    let total: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM feed_rows
             WHERE run_id = ?1 AND report = ?2 AND tlp = ?3 AND organisation = ?4",
        )?
        .query_row(
            params![run_id, report, tlp_text(tlp), organisation.as_str()],
            |r| r.get(0),
        )?;
    let mut stmt = conn.prepare_cached(
        "SELECT event, input, vals FROM feed_rows
         WHERE run_id = ?1 AND report = ?2 AND tlp = ?3 AND organisation = ?4
         ORDER BY event LIMIT ?5 OFFSET ?6",
    )?;
    let rows = stmt.query_map(
        params![
            run_id,
            report,
            tlp_text(tlp),
            organisation.as_str(),
            int(limit),
            int(offset)
        ],
        |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, u32>(1)?,
                r.get::<_, String>(2)?,
            ))
        },
    )?;
    let found = rows
        .map(|r| {
            let (event, input, values) = r?;
            Ok(FeedRowRow {
                run_id: run_id.to_owned(),
                report: report.to_owned(),
                tlp,
                organisation: organisation.clone(),
                event,
                input,
                values,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((found, u64::try_from(total).unwrap_or(0)))
}

pub(crate) fn insert_feed_message(conn: &Connection, m: &FeedMessageRow) -> Result<(), StoreError> {
    let organisations: Vec<&str> = m.organisations.iter().map(OrgSlug::as_str).collect();
    conn.prepare_cached(
        "INSERT INTO feed_messages (item_id, run_id, recipient, report, tlp, organisations, events)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        m.item_id,
        m.run_id,
        m.recipient.as_str(),
        m.report,
        tlp_text(m.tlp),
        json_text(&organisations)?,
        int(m.events)
    ])?;
    Ok(())
}

type RawMessage = (String, String, String, String, String, String, i64);

fn message_from(
    (item_id, run_id, recipient, report, tlp, organisations, events): RawMessage,
) -> Result<FeedMessageRow, StoreError> {
    let what = format!("feed message {item_id}");
    Ok(FeedMessageRow {
        tlp: tlp_of(&what, &tlp)?,
        recipient: OrgSlug::parse(&recipient).map_err(|e| corrupt(format!("{what}: {}", e.0)))?,
        organisations: slugs(&what, &organisations)?,
        events: u64::try_from(events).unwrap_or(0),
        item_id,
        run_id,
        report,
    })
}

const MESSAGE_COLUMNS: &str =
    "SELECT item_id, run_id, recipient, report, tlp, organisations, events FROM feed_messages";

fn raw_message(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawMessage> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

pub(crate) fn feed_message(
    conn: &Connection,
    item_id: &str,
) -> Result<Option<FeedMessageRow>, StoreError> {
    conn.prepare_cached(&format!("{MESSAGE_COLUMNS} WHERE item_id = ?1"))?
        .query_row([item_id], raw_message)
        .optional()?
        .map(message_from)
        .transpose()
}

pub(crate) fn feed_messages(
    conn: &Connection,
    run_id: &str,
) -> Result<Vec<FeedMessageRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "{MESSAGE_COLUMNS} WHERE run_id = ?1 ORDER BY recipient, report"
    ))?;
    let rows = stmt.query_map([run_id], raw_message)?;
    rows.map(|r| message_from(r?)).collect()
}

pub(crate) fn feed_messages_to(
    conn: &Connection,
    recipient: &OrgSlug,
    report: &str,
    tlp: Option<Tlp>,
) -> Result<Vec<FeedMessageRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "{MESSAGE_COLUMNS} WHERE recipient = ?1 AND report = ?2 AND tlp = ?3 ORDER BY rowid"
    ))?;
    let rows = stmt.query_map(
        params![recipient.as_str(), report, tlp_text(tlp)],
        raw_message,
    )?;
    rows.map(|r| message_from(r?)).collect()
}
