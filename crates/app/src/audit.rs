//! The audit trail a supervisor accepts: verifying the hash chain (any edit, insertion or
//! deletion shows), and exporting a period — every entry, and what went to whom, when, on
//! which basis, under which rulebook version.

use jiff::Timestamp;
use schakel_domain::{Date, Principal, legal_date};
use schakel_store::{AuditEntry, DeliveryQuery, GENESIS_HASH, NewAuditEntry, entry_hash};
use serde_json::json;

use crate::access::require_legal;
use crate::{App, AppError};

/// What verifying the chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Entries read.
    pub entries: u64,
    /// The last entry's sequence number and hash.
    pub head: Option<(i64, String)>,
    /// Every break found: an entry whose hash does not match its content (edited), whose
    /// `prev_hash` does not match the entry before (inserted or reordered), or a gap in
    /// the sequence (deleted).
    pub problems: Vec<String>,
}

impl Verification {
    /// Whether the chain is intact.
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks a chain of entries, oldest first.
pub fn verify_chain(entries: &[AuditEntry]) -> Verification {
    let mut problems = Vec::new();
    let mut prev_hash = GENESIS_HASH.to_owned();
    let mut expected_seq = 1;
    for e in entries {
        if e.seq != expected_seq {
            problems.push(format!(
                "entry {}: expected sequence number {expected_seq}; entries {expected_seq}–{} are missing",
                e.seq,
                e.seq - 1
            ));
        }
        if e.prev_hash != prev_hash {
            problems.push(format!(
                "entry {}: its prev_hash does not match the hash of the entry before it",
                e.seq
            ));
        }
        let recomputed = entry_hash(e.seq, &e.entry, &e.prev_hash);
        if recomputed != e.hash {
            problems.push(format!(
                "entry {} ({} on {}): its content does not match its hash — it was edited",
                e.seq, e.entry.action, e.entry.subject
            ));
        }
        prev_hash = e.hash.clone();
        expected_seq = e.seq + 1;
    }
    Verification {
        entries: u64::try_from(entries.len()).unwrap_or(u64::MAX),
        head: entries.last().map(|e| (e.seq, e.hash.clone())),
        problems,
    }
}

fn entry_json(e: &AuditEntry) -> serde_json::Value {
    json!({
        "seq": e.seq,
        "at": e.entry.at.to_string(),
        "actor": e.entry.actor,
        "action": e.entry.action,
        "subject": e.entry.subject,
        "before": e.entry.before,
        "after": e.entry.after,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    })
}

impl App {
    /// Verifies the whole chain. Legal officers and administrators.
    pub fn verify_audit(&self, principal: &Principal) -> Result<Verification, AppError> {
        require_legal(principal)?;
        let entries = self.store.read()?.audit_log()?;
        Ok(verify_chain(&entries))
    }

    /// The audit export of a period (legal dates, inclusive): the chain's state, every
    /// entry in the period, and every delivery made in it with recipient, channel, state,
    /// basis, route and rulebook version. The export itself is recorded.
    pub fn export_audit(
        &self,
        principal: &Principal,
        from: Date,
        to: Date,
    ) -> Result<serde_json::Value, AppError> {
        require_legal(principal)?;
        if to < from {
            return Err(AppError::field(
                "to",
                format!("{to} lies before `from` ({from})"),
            ));
        }
        let in_period = |at: Timestamp| {
            let day = legal_date(at);
            from <= day && day <= to
        };
        let mut tx = self.store.write()?;
        let all = tx.audit_log()?;
        let verification = verify_chain(&all);
        let entries: Vec<serde_json::Value> = all
            .iter()
            .filter(|e| in_period(e.entry.at))
            .map(entry_json)
            .collect();
        let (deliveries, _) = tx.find_deliveries(&DeliveryQuery {
            limit: u64::MAX >> 1,
            ..DeliveryQuery::default()
        })?;
        let mut rows = Vec::new();
        for d in deliveries.iter().filter(|d| in_period(d.created_at)) {
            // Forwarding is confirmed on the inbox copy of a delivery via a linking
            // organisation.
            let via = d
                .decision
                .get("route")
                .and_then(|r| r.get("on_behalf_of"))
                .and_then(|o| o.as_array())
                .is_some_and(|o| !o.is_empty());
            let forwarded: Vec<serde_json::Value> = if via
                && d.channel == schakel_domain::Channel::Inbox
            {
                tx.forwardings(&d.id)?
                        .iter()
                        .map(|f| json!({"member": f.member.as_str(), "confirmed_at": f.confirmed_at.to_string()}))
                        .collect()
            } else {
                vec![]
            };
            rows.push(json!({
                "delivery": d.id,
                "item": d.item_id,
                "version": d.version,
                "recipient": d.recipient.as_str(),
                "channel": d.channel.as_str(),
                "state": d.state.as_str(),
                "attempts": d.attempts,
                "enqueued_at": d.created_at.to_string(),
                "delivered_at": d.delivered_at.map(|t| t.to_string()),
                "acknowledged_at": d.acknowledged_at.map(|t| t.to_string()),
                "plan_hash": d.plan_hash,
                "decision": d.decision,
                "forwarded": forwarded,
            }));
        }
        let deliveries = rows;
        let now = self.clock.now();
        let count = entries.len();
        let record = tx.append_audit(NewAuditEntry {
            at: now,
            actor: principal.actor(),
            action: "audit.export".into(),
            subject: format!("audit:{from}..{to}"),
            before: None,
            after: Some(json!({"entries": count, "deliveries": deliveries.len()})),
        })?;
        tx.commit()?;
        Ok(json!({
            "from": from.to_string(),
            "to": to.to_string(),
            "exported_at": now.to_string(),
            "exported_by": principal.actor(),
            "chain": {
                "entries": verification.entries,
                "intact": verification.intact(),
                "problems": verification.problems,
                "head": verification.head.map(|(seq, hash)| json!({"seq": seq, "hash": hash})),
                "export_entry": {"seq": record.seq, "hash": record.hash},
            },
            "entries": entries,
            "deliveries": deliveries,
        }))
    }
}
