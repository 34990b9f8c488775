//! The SQLite side of incident reports and written advice. Called by the `Tx`
//! implementation in `sqlite.rs`.

use jiff::Timestamp;
use rusqlite::types::Value as V;
use rusqlite::{Connection, OptionalExtension, params};
use schakel_domain::{OrgSlug, parse_date};

use crate::audit::timestamp_text;
use crate::sqlite::{Filter, corrupt, opt_ts, parse, read_timestamp};
use crate::{
    AdviceRow, ReportEventRow, ReportQuery, ReportRow, StandingApprovalRow, StoreError,
    SubmissionRow,
};

fn json(what: &str, text: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(format!("{what}: {e}")))
}

fn slug(text: &str) -> Result<OrgSlug, StoreError> {
    OrgSlug::parse(text).map_err(|e| corrupt(format!("organisation slug: {e}")))
}

const REPORT_COLUMNS: &str = "id, reporter, aware_at, category, title, status, content, triage, filed_at, filed_by, updated_at";

type ReportTuple = [String; 11];

fn report_tuple(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReportTuple> {
    Ok([
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
    ])
}

fn report_from(t: ReportTuple) -> Result<ReportRow, StoreError> {
    let [
        id,
        reporter,
        aware_at,
        category,
        title,
        status,
        content,
        triage,
        filed_at,
        filed_by,
        updated_at,
    ] = t;
    Ok(ReportRow {
        reporter: slug(&reporter)?,
        aware_at: read_timestamp(&aware_at)?,
        category: parse("report category", &category)?,
        title,
        status: parse("report status", &status)?,
        content: json(&format!("report {id}"), &content)?,
        triage: json(&format!("report {id} triage"), &triage)?,
        filed_at: read_timestamp(&filed_at)?,
        filed_by,
        updated_at: read_timestamp(&updated_at)?,
        id,
    })
}

pub(crate) fn put_report(conn: &Connection, r: &ReportRow) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "INSERT INTO reports ({REPORT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT(id) DO UPDATE SET title = excluded.title, status = excluded.status,
           content = excluded.content, triage = excluded.triage, updated_at = excluded.updated_at"
    ))?
    .execute(params![
        r.id,
        r.reporter.as_str(),
        timestamp_text(r.aware_at),
        r.category.as_str(),
        r.title,
        r.status.as_str(),
        r.content.to_string(),
        r.triage.to_string(),
        timestamp_text(r.filed_at),
        r.filed_by,
        timestamp_text(r.updated_at),
    ])?;
    Ok(())
}

pub(crate) fn report(conn: &Connection, id: &str) -> Result<Option<ReportRow>, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {REPORT_COLUMNS} FROM reports WHERE id = ?1"
    ))?
    .query_row(params![id], report_tuple)
    .optional()?
    .map(report_from)
    .transpose()
}

pub(crate) fn find_reports(
    conn: &Connection,
    q: &ReportQuery,
) -> Result<(Vec<ReportRow>, u64), StoreError> {
    let mut f = Filter::default();
    if let Some(reporter) = &q.reporter {
        f.add("reporter = ?", V::Text(reporter.as_str().to_owned()));
    }
    if let Some(status) = q.status {
        f.add("status = ?", V::Text(status.as_str().to_owned()));
    }
    if let Some(from) = q.aware_from {
        f.add("aware_at >= ?", V::Text(timestamp_text(from)));
    }
    if let Some(before) = q.aware_before {
        f.add("aware_at < ?", V::Text(timestamp_text(before)));
    }
    f.page(
        conn,
        "reports",
        &format!("SELECT {REPORT_COLUMNS} FROM reports"),
        "aware_at DESC, id DESC",
        (q.limit, q.offset),
        report_tuple,
        report_from,
    )
}

pub(crate) fn insert_report_event(conn: &Connection, e: &ReportEventRow) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO report_events (report_id, seq, at, actor, action, detail)
         VALUES (?1, (SELECT coalesce(max(seq), 0) + 1 FROM report_events WHERE report_id = ?1),
                 ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        e.report_id,
        timestamp_text(e.at),
        e.actor,
        e.action,
        e.detail.to_string(),
    ])?;
    Ok(())
}

pub(crate) fn report_events(
    conn: &Connection,
    report_id: &str,
) -> Result<Vec<ReportEventRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT at, actor, action, detail FROM report_events WHERE report_id = ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map(params![report_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    rows.map(|r| {
        let (at, actor, action, detail) = r?;
        Ok(ReportEventRow {
            report_id: report_id.to_owned(),
            at: read_timestamp(&at)?,
            actor,
            action,
            detail: json(&format!("report {report_id} event"), &detail)?,
        })
    })
    .collect()
}

pub(crate) fn insert_submission(conn: &Connection, s: &SubmissionRow) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO report_submissions
               (report_id, regime, step, submitted_at, recorded_at, recorded_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            s.report_id,
            s.regime,
            s.step,
            timestamp_text(s.submitted_at),
            timestamp_text(s.recorded_at),
            s.recorded_by,
        ])?;
    Ok(n > 0)
}

pub(crate) fn submissions(
    conn: &Connection,
    report_id: &str,
) -> Result<Vec<SubmissionRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT regime, step, submitted_at, recorded_at, recorded_by FROM report_submissions
         WHERE report_id = ?1 ORDER BY submitted_at, regime, step",
    )?;
    let rows = stmt.query_map(params![report_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    rows.map(|r| {
        let (regime, step, submitted, recorded, by) = r?;
        Ok(SubmissionRow {
            report_id: report_id.to_owned(),
            regime,
            step,
            submitted_at: read_timestamp(&submitted)?,
            recorded_at: read_timestamp(&recorded)?,
            recorded_by: by,
        })
    })
    .collect()
}

const ADVICE_COLUMNS: &str = "id, organisation, report_id, content, follow_up, given_at, given_by,
    confirmed_at, confirmed_by, confirmation, escalated_at, escalation_item";

type AdviceTuple = (
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    [Option<String>; 5],
);

fn advice_tuple(r: &rusqlite::Row<'_>) -> rusqlite::Result<AdviceTuple> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        [r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?, r.get(11)?],
    ))
}

fn advice_from(t: AdviceTuple) -> Result<AdviceRow, StoreError> {
    let (id, organisation, report_id, content, follow_up, given_at, given_by, rest) = t;
    let [
        confirmed_at,
        confirmed_by,
        confirmation,
        escalated_at,
        escalation_item,
    ] = rest;
    Ok(AdviceRow {
        organisation: slug(&organisation)?,
        report_id,
        content: json(&format!("advice {id}"), &content)?,
        follow_up: parse_date(&follow_up).map_err(|e| corrupt(format!("advice {id}: {e}")))?,
        given_at: read_timestamp(&given_at)?,
        given_by,
        confirmed_at: opt_ts(confirmed_at)?,
        confirmed_by,
        confirmation,
        escalated_at: opt_ts(escalated_at)?,
        escalation_item,
        id,
    })
}

pub(crate) fn put_advice(conn: &Connection, a: &AdviceRow) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "INSERT INTO advice ({ADVICE_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT(id) DO UPDATE SET content = excluded.content,
           follow_up = excluded.follow_up, confirmed_at = excluded.confirmed_at,
           confirmed_by = excluded.confirmed_by, confirmation = excluded.confirmation,
           escalated_at = excluded.escalated_at, escalation_item = excluded.escalation_item"
    ))?
    .execute(params![
        a.id,
        a.organisation.as_str(),
        a.report_id,
        a.content.to_string(),
        a.follow_up.to_string(),
        timestamp_text(a.given_at),
        a.given_by,
        a.confirmed_at.map(timestamp_text),
        a.confirmed_by,
        a.confirmation,
        a.escalated_at.map(timestamp_text),
        a.escalation_item,
    ])?;
    Ok(())
}

pub(crate) fn advice(conn: &Connection, id: &str) -> Result<Option<AdviceRow>, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {ADVICE_COLUMNS} FROM advice WHERE id = ?1"
    ))?
    .query_row(params![id], advice_tuple)
    .optional()?
    .map(advice_from)
    .transpose()
}

pub(crate) fn all_advice(conn: &Connection) -> Result<Vec<AdviceRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ADVICE_COLUMNS} FROM advice ORDER BY follow_up, id"
    ))?;
    let rows = stmt.query_map([], advice_tuple)?;
    rows.map(|r| advice_from(r?)).collect()
}

pub(crate) fn insert_standing_approval(
    conn: &Connection,
    a: &StandingApprovalRow,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO standing_approvals (report, approved_by, approved_at, note)
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        a.report,
        a.approved_by,
        timestamp_text(a.approved_at),
        a.note
    ])?;
    Ok(())
}

pub(crate) fn revoke_standing_approval(
    conn: &Connection,
    report: &str,
    at: Timestamp,
    by: &str,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE standing_approvals SET revoked_at = ?2, revoked_by = ?3
             WHERE report = ?1 AND revoked_at IS NULL",
        )?
        .execute(params![report, timestamp_text(at), by])?;
    Ok(n > 0)
}

pub(crate) fn standing_approvals(
    conn: &Connection,
) -> Result<Vec<StandingApprovalRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT report, approved_by, approved_at, note, revoked_at, revoked_by
         FROM standing_approvals ORDER BY report, id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    rows.map(|r| {
        let (report, approved_by, approved_at, note, revoked_at, revoked_by) = r?;
        Ok(StandingApprovalRow {
            report,
            approved_by,
            approved_at: read_timestamp(&approved_at)?,
            note,
            revoked_at: opt_ts(revoked_at)?,
            revoked_by,
        })
    })
    .collect()
}
