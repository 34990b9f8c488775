//! The SQLite side of distribution: items, approvals, deliveries, forwardings, webhook
//! secrets. Called by the `Tx` implementation in `sqlite.rs`.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use schakel_domain::OrgSlug;

use crate::audit::timestamp_text;
use crate::sqlite::{Filter, corrupt, opt_ts, parse, read_timestamp};
use crate::{
    ApprovalRow, DeliveryQuery, DeliveryRow, DeliveryUpdate, ForwardingRow, ItemQuery, ItemRow,
    ItemVersionRow, NewDelivery, StoreError,
};

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn version(n: i64) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|_| corrupt(format!("version {n}")))
}

const ITEM_COLUMNS: &str =
    "id, version, status, kind, title, tlp, created_at, created_by, updated_at, retraction";

type ItemTuple = (
    String,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<i64>,
);

fn item_tuple(r: &rusqlite::Row<'_>) -> rusqlite::Result<ItemTuple> {
    Ok((
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
    ))
}

fn item_from(t: ItemTuple) -> Result<ItemRow, StoreError> {
    Ok(ItemRow {
        id: t.0,
        version: version(t.1)?,
        status: parse("item status", &t.2)?,
        kind: parse("item kind", &t.3)?,
        title: t.4,
        tlp: parse("TLP", &t.5)?,
        created_at: read_timestamp(&t.6)?,
        created_by: t.7,
        updated_at: read_timestamp(&t.8)?,
        retraction: t.9.map(version).transpose()?,
    })
}

pub(crate) fn put_item(conn: &Connection, item: &ItemRow) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "INSERT INTO items ({ITEM_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT(id) DO UPDATE SET version = excluded.version, status = excluded.status,
           kind = excluded.kind, title = excluded.title, tlp = excluded.tlp,
           updated_at = excluded.updated_at, retraction = excluded.retraction"
    ))?
    .execute(params![
        item.id,
        i64::from(item.version),
        item.status.as_str(),
        item.kind.as_str(),
        item.title,
        item.tlp.as_str(),
        timestamp_text(item.created_at),
        item.created_by,
        timestamp_text(item.updated_at),
        item.retraction.map(i64::from),
    ])?;
    Ok(())
}

pub(crate) fn insert_item_version(conn: &Connection, v: &ItemVersionRow) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO item_versions (item_id, version, content, created_at, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        v.item_id,
        i64::from(v.version),
        v.content.to_string(),
        timestamp_text(v.created_at),
        v.created_by,
    ])?;
    Ok(())
}

pub(crate) fn item(conn: &Connection, id: &str) -> Result<Option<ItemRow>, StoreError> {
    conn.prepare_cached(&format!("SELECT {ITEM_COLUMNS} FROM items WHERE id = ?1"))?
        .query_row(params![id], item_tuple)
        .optional()?
        .map(item_from)
        .transpose()
}

pub(crate) fn item_version(
    conn: &Connection,
    id: &str,
    v: u32,
) -> Result<Option<ItemVersionRow>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT content, created_at, created_by FROM item_versions
             WHERE item_id = ?1 AND version = ?2",
        )?
        .query_row(params![id, i64::from(v)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .optional()?;
    row.map(|(content, at, by)| {
        Ok(ItemVersionRow {
            item_id: id.to_owned(),
            version: v,
            content: serde_json::from_str(&content)
                .map_err(|e| corrupt(format!("item {id} version {v}: {e}")))?,
            created_at: read_timestamp(&at)?,
            created_by: by,
        })
    })
    .transpose()
}

pub(crate) fn find_items(
    conn: &Connection,
    q: &ItemQuery,
) -> Result<(Vec<ItemRow>, u64), StoreError> {
    let filter =
        "(?1 IS NULL OR status = ?1) AND (?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR tlp = ?3)";
    let status = q.status.map(|s| s.as_str());
    let kind = q.kind.map(|s| s.as_str());
    let tlp = q.tlp.map(|s| s.as_str());
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM items WHERE {filter}"))?
        .query_row(params![status, kind, tlp], |r| r.get(0))?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ITEM_COLUMNS} FROM items WHERE {filter}
         ORDER BY created_at DESC, id DESC LIMIT ?4 OFFSET ?5"
    ))?;
    let rows = stmt.query_map(
        params![status, kind, tlp, count(q.limit), count(q.offset)],
        item_tuple,
    )?;
    let items = rows.map(|r| item_from(r?)).collect::<Result<Vec<_>, _>>()?;
    Ok((items, u64::try_from(total).unwrap_or(0)))
}

pub(crate) fn insert_approval(conn: &Connection, a: &ApprovalRow) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO approvals (item_id, version, plan_hash, approved_by, approved_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        a.item_id,
        i64::from(a.version),
        a.plan_hash,
        a.approved_by,
        timestamp_text(a.approved_at),
    ])?;
    Ok(())
}

pub(crate) fn approvals(conn: &Connection, item_id: &str) -> Result<Vec<ApprovalRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT version, plan_hash, approved_by, approved_at FROM approvals
         WHERE item_id = ?1 ORDER BY approved_at",
    )?;
    let rows = stmt.query_map(params![item_id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    rows.map(|r| {
        let (v, hash, by, at) = r?;
        Ok(ApprovalRow {
            item_id: item_id.to_owned(),
            version: version(v)?,
            plan_hash: hash,
            approved_by: by,
            approved_at: read_timestamp(&at)?,
        })
    })
    .collect()
}

/// The columns read, in `RawDelivery` order; the decision's text comes from `decisions`.
const DELIVERY_COLUMNS: &str = "d.id, d.item_id, d.version, d.recipient, d.channel, d.address, d.plan_hash, x.decision, d.state, d.attempts, d.next_attempt_at, d.last_error, d.created_at, d.delivered_at, d.acknowledged_at, d.acknowledged_by, d.reminded_at";
const DELIVERY_FROM: &str = "deliveries d JOIN decisions x ON x.id = d.decision";

const INSERT_DELIVERIES: &str = "INSERT INTO deliveries (id, item_id, version, recipient,
    channel, address, plan_hash, decision, state, attempts, next_attempt_at, last_error,
    created_at, delivered_at, acknowledged_at, acknowledged_by) VALUES ";
const DELIVERY_VALUES: &str = "(?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, NULL, NULL)";
/// Rows per INSERT statement: SQLite's per-statement cost dominates single-row inserts.
const BATCH: usize = 64;

pub(crate) fn insert_deliveries(
    conn: &Connection,
    deliveries: &[NewDelivery<'_>],
) -> Result<(), StoreError> {
    use rusqlite::ToSql;
    // Each distinct decision once (found again by its hash), referred to by its row id.
    let mut hashes: std::collections::HashMap<&str, i64> = std::collections::HashMap::new();
    for d in deliveries {
        if !hashes.contains_key(d.decision) {
            let hash = decision_hash(d.decision);
            conn.prepare_cached(
                "INSERT OR IGNORE INTO decisions (hash, decision) VALUES (?1, ?2)",
            )?
            .execute(params![hash, d.decision])?;
            let id: i64 = conn
                .prepare_cached("SELECT id FROM decisions WHERE hash = ?1")?
                .query_row(params![hash], |r| r.get(0))?;
            hashes.insert(d.decision, id);
        }
    }
    // Times as text, each distinct instant formatted once.
    let mut times: std::collections::HashMap<Timestamp, String> = std::collections::HashMap::new();
    for d in deliveries {
        for t in std::iter::once(d.created_at).chain(d.next_attempt_at) {
            times.entry(t).or_insert_with(|| timestamp_text(t));
        }
    }
    let sql = |rows: usize| {
        let mut sql = String::from(INSERT_DELIVERIES);
        sql.push_str(&vec![DELIVERY_VALUES; rows].join(", "));
        sql
    };
    let full = sql(BATCH);
    let versions: Vec<i64> = deliveries.iter().map(|d| i64::from(d.version)).collect();
    let none: Option<&str> = None;
    for (chunk, versions) in deliveries.chunks(BATCH).zip(versions.chunks(BATCH)) {
        let text;
        let mut stmt = if chunk.len() == BATCH {
            conn.prepare_cached(&full)?
        } else {
            text = sql(chunk.len());
            conn.prepare_cached(&text)?
        };
        let words: Vec<[&str; 3]> = chunk
            .iter()
            .map(|d| {
                [
                    d.permit.recipient().as_str(),
                    d.channel.as_str(),
                    d.state.as_str(),
                ]
            })
            .collect();
        let mut values: Vec<&dyn ToSql> = Vec::with_capacity(chunk.len() * 13);
        for ((d, version), [recipient, channel, state]) in chunk.iter().zip(versions).zip(&words) {
            let created = times.get(&d.created_at);
            values.extend::<[&dyn ToSql; 13]>([
                &d.id,
                &d.item_id,
                version,
                recipient,
                channel,
                &d.address,
                &d.plan_hash,
                hashes
                    .get(d.decision)
                    .map_or(&none as &dyn ToSql, |h| h as &dyn ToSql),
                state,
                d.next_attempt_at
                    .and_then(|t| times.get(&t))
                    .map_or(&none as &dyn ToSql, |t| t as &dyn ToSql),
                &d.note,
                created.map_or(&none as &dyn ToSql, |t| t as &dyn ToSql),
                if d.state == schakel_domain::DeliveryState::Delivered {
                    created.map_or(&none as &dyn ToSql, |t| t as &dyn ToSql)
                } else {
                    &none
                },
            ]);
        }
        stmt.execute(values.as_slice())?;
    }
    Ok(())
}

fn decision_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

struct RawDelivery {
    text: [Option<String>; 17],
    attempts: i64,
    version: i64,
}

fn delivery_raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawDelivery> {
    let mut text: [Option<String>; 17] = Default::default();
    for (i, slot) in text.iter_mut().enumerate() {
        if i != 2 && i != 9 {
            *slot = r.get(i)?;
        }
    }
    Ok(RawDelivery {
        text,
        attempts: r.get(9)?,
        version: r.get(2)?,
    })
}

fn delivery_from(raw: RawDelivery) -> Result<DeliveryRow, StoreError> {
    let [
        id,
        item_id,
        _,
        recipient,
        channel,
        address,
        plan_hash,
        decision,
        state,
        _,
        next_attempt_at,
        last_error,
        created_at,
        delivered_at,
        acknowledged_at,
        acknowledged_by,
        reminded_at,
    ] = raw.text;
    let need = |v: Option<String>, what: &str| {
        v.ok_or_else(|| corrupt(format!("delivery without {what}")))
    };
    let id = need(id, "id")?;
    let decision = need(decision, "decision")?;
    Ok(DeliveryRow {
        item_id: need(item_id, "item")?,
        version: version(raw.version)?,
        recipient: OrgSlug::parse(&need(recipient, "recipient")?)
            .map_err(|e| corrupt(format!("delivery {id}: {e}")))?,
        channel: parse("channel", &need(channel, "channel")?)?,
        address,
        plan_hash: need(plan_hash, "plan hash")?,
        decision: serde_json::from_str(&decision)
            .map_err(|e| corrupt(format!("delivery {id}: {e}")))?,
        state: parse("delivery state", &need(state, "state")?)?,
        attempts: u32::try_from(raw.attempts).unwrap_or(u32::MAX),
        next_attempt_at: opt_ts(next_attempt_at)?,
        last_error,
        created_at: read_timestamp(&need(created_at, "created_at")?)?,
        delivered_at: opt_ts(delivered_at)?,
        acknowledged_at: opt_ts(acknowledged_at)?,
        reminded_at: opt_ts(reminded_at)?,
        acknowledged_by,
        id,
    })
}

pub(crate) fn delivery(conn: &Connection, id: &str) -> Result<Option<DeliveryRow>, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM {DELIVERY_FROM} WHERE d.id = ?1"
    ))?
    .query_row(params![id], delivery_raw)
    .optional()?
    .map(delivery_from)
    .transpose()
}

pub(crate) fn find_deliveries(
    conn: &Connection,
    q: &DeliveryQuery,
) -> Result<(Vec<DeliveryRow>, u64), StoreError> {
    use rusqlite::types::Value as V;
    let mut f = Filter::default();
    if let Some(item) = &q.item_id {
        f.add("d.item_id = ?", V::Text(item.clone()));
    }
    if let Some(recipient) = &q.recipient {
        f.add("d.recipient = ?", V::Text(recipient.as_str().to_owned()));
    }
    if let Some(channel) = q.channel {
        f.add("d.channel = ?", V::Text(channel.as_str().to_owned()));
    }
    if let Some(state) = q.state {
        f.add("d.state = ?", V::Text(state.as_str().to_owned()));
    }
    if let Some(version) = q.version {
        f.add("d.version = ?", V::Integer(i64::from(version)));
    }
    if let Some(due) = q.due_by {
        f.add(
            "d.state = 'pending' AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?)",
            V::Text(timestamp_text(due)),
        );
    }
    if let Some(before) = q.unacknowledged_before {
        f.add(
            "d.channel = 'inbox' AND d.state = 'delivered' AND d.acknowledged_at IS NULL
             AND d.reminded_at IS NULL AND d.delivered_at <= ?",
            V::Text(timestamp_text(before)),
        );
    }
    f.page(
        conn,
        "deliveries d",
        &format!("SELECT {DELIVERY_COLUMNS} FROM {DELIVERY_FROM}"),
        "d.created_at, d.item_id, d.version, d.id",
        (q.limit, q.offset),
        delivery_raw,
        delivery_from,
    )
}

pub(crate) fn update_delivery(
    conn: &Connection,
    id: &str,
    u: &DeliveryUpdate,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE deliveries SET state = ?2, attempts = ?3, next_attempt_at = ?4,
             last_error = ?5, delivered_at = ?6 WHERE id = ?1",
        )?
        .execute(params![
            id,
            u.state.as_str(),
            i64::from(u.attempts),
            u.next_attempt_at.map(timestamp_text),
            u.last_error,
            u.delivered_at.map(timestamp_text),
        ])?;
    Ok(n == 1)
}

pub(crate) fn acknowledge(
    conn: &Connection,
    id: &str,
    at: Timestamp,
    by: &str,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE deliveries SET acknowledged_at = ?2, acknowledged_by = ?3
             WHERE id = ?1 AND acknowledged_at IS NULL",
        )?
        .execute(params![id, timestamp_text(at), by])?;
    Ok(n == 1)
}

pub(crate) fn insert_forwarding(conn: &Connection, f: &ForwardingRow) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO forwardings (delivery_id, member, confirmed_at, confirmed_by)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            f.delivery_id,
            f.member.as_str(),
            timestamp_text(f.confirmed_at),
            f.confirmed_by,
        ])?;
    Ok(n == 1)
}

pub(crate) fn forwardings(
    conn: &Connection,
    delivery_id: &str,
) -> Result<Vec<ForwardingRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT member, confirmed_at, confirmed_by FROM forwardings
         WHERE delivery_id = ?1 ORDER BY confirmed_at, member",
    )?;
    let rows = stmt.query_map(params![delivery_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    rows.map(|r| {
        let (member, at, by) = r?;
        Ok(ForwardingRow {
            delivery_id: delivery_id.to_owned(),
            member: OrgSlug::parse(&member).map_err(|e| corrupt(e.0))?,
            confirmed_at: read_timestamp(&at)?,
            confirmed_by: by,
        })
    })
    .collect()
}

pub(crate) fn webhook_secret(
    conn: &Connection,
    slug: &OrgSlug,
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT secret FROM webhook_secrets WHERE slug = ?1")?
        .query_row(params![slug.as_str()], |r| r.get(0))
        .optional()?)
}

pub(crate) fn webhook_secret_holders(conn: &Connection) -> Result<Vec<OrgSlug>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT slug FROM webhook_secrets ORDER BY slug")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    rows.map(|r| OrgSlug::parse(&r?).map_err(|e| corrupt(e.0)))
        .collect()
}

pub(crate) fn put_webhook_secret(
    conn: &Connection,
    slug: &OrgSlug,
    secret: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO webhook_secrets (slug, secret, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(slug) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at",
    )?
    .execute(params![slug.as_str(), secret, timestamp_text(at)])?;
    Ok(())
}

pub(crate) fn mark_reminded(
    conn: &Connection,
    id: &str,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE deliveries SET reminded_at = ?2 WHERE id = ?1 AND reminded_at IS NULL",
        )?
        .execute(params![id, timestamp_text(at)])?;
    Ok(n == 1)
}
