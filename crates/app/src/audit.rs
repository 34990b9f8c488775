//! The audit trail a supervisor accepts: verifying the hash chain (any edit, insertion or
//! deletion shows), and exporting a period — every entry, and what went to whom, when, on
//! which basis, under which rulebook version.

use jiff::Timestamp;
use schakel_domain::{Date, Principal, legal_date};
use schakel_store::{AuditEntry, DeliveryQuery, GENESIS_HASH, NewAuditEntry, entry_hash};
use serde_json::json;

use crate::access::{Action, require};
use crate::{App, AppError};

/// Signs and checks with the centre's key (implemented with OpenPGP in
/// `schakel-delivery`).
pub trait Signer: Send + Sync {
    /// The key's fingerprint.
    fn fingerprint(&self) -> String;
    /// A detached, ASCII-armoured signature over `data`.
    fn sign(&self, data: &[u8]) -> Result<String, String>;
    /// Checks a signature made by [`Signer::sign`].
    fn verify(&self, data: &[u8], signature: &str) -> Result<(), String>;
}

/// A signed head of the audit chain: keep it outside schakel, and a later truncation or
/// rewrite of the chain up to it shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SignedHead {
    /// The head entry's sequence number.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
    /// When it was signed (RFC 3339).
    pub signed_at: String,
    /// The signing key's fingerprint.
    pub fingerprint: String,
    /// The detached OpenPGP signature over [`SignedHead::text`].
    pub signature: String,
}

impl SignedHead {
    /// The text the signature covers.
    pub fn text(&self) -> String {
        head_text(self.seq, &self.hash, &self.signed_at)
    }
}

fn head_text(seq: i64, hash: &str, signed_at: &str) -> String {
    format!("schakel audit head\nseq: {seq}\nhash: {hash}\nsigned_at: {signed_at}\n")
}

/// What verifying the chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Entries read.
    pub entries: u64,
    /// Signed heads checked (recorded in the chain, and the one given from outside).
    pub heads_checked: u64,
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
        heads_checked: 0,
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

/// Checks one signed head against the chain: the entry exists with that hash, and the
/// signature verifies with the centre's key.
fn check_head(
    entries: &[AuditEntry],
    head: &SignedHead,
    signer: Option<&dyn Signer>,
    origin: &str,
    problems: &mut Vec<String>,
) {
    match entries.iter().find(|e| e.seq == head.seq) {
        None => problems.push(format!(
            "{origin}: the chain has no entry {} — it was truncated after a head was signed",
            head.seq
        )),
        Some(e) if e.hash != head.hash => problems.push(format!(
            "{origin}: entry {} no longer has the hash signed at {} — the chain was rewritten",
            head.seq, head.signed_at
        )),
        Some(_) => {}
    }
    if let Some(signer) = signer {
        if signer.fingerprint() != head.fingerprint {
            problems.push(format!(
                "{origin}: signed by key {}, not by the centre's key {}",
                head.fingerprint,
                signer.fingerprint()
            ));
        } else if let Err(e) = signer.verify(head.text().as_bytes(), &head.signature) {
            problems.push(format!("{origin}: {e}"));
        }
    }
}

impl App {
    /// Verifies the whole chain, every signed head recorded in it (with `signer`, the
    /// centre's key), and a head kept outside (`known`). Legal officers and administrators.
    pub fn verify_audit(
        &self,
        principal: &Principal,
        signer: Option<&dyn Signer>,
        known: Option<&SignedHead>,
    ) -> Result<Verification, AppError> {
        require(principal, Action::ReadAudit)?;
        let entries = self.store.read()?.audit_log()?;
        let mut v = verify_chain(&entries);
        for e in entries.iter().filter(|e| e.entry.action == "audit.head") {
            let head = e
                .entry
                .after
                .clone()
                .and_then(|a| serde_json::from_value::<SignedHead>(a).ok());
            match head {
                Some(head) => {
                    check_head(
                        &entries,
                        &head,
                        signer,
                        &format!("signed head in entry {}", e.seq),
                        &mut v.problems,
                    );
                    v.heads_checked += 1;
                }
                None => v
                    .problems
                    .push(format!("entry {}: an unreadable signed head", e.seq)),
            }
        }
        if let Some(head) = known {
            check_head(&entries, head, signer, "the head given", &mut v.problems);
            v.heads_checked += 1;
        }
        Ok(v)
    }

    /// Signs the current head of the chain with the centre's key and records the signed
    /// head in the chain. Legal officers and administrators (the server signs as one).
    pub fn sign_audit_head(
        &self,
        principal: &Principal,
        signer: &dyn Signer,
    ) -> Result<SignedHead, AppError> {
        require(principal, Action::SignAuditHead)?;
        let mut tx = self.store.write()?;
        let last = tx
            .audit_log()?
            .pop()
            .ok_or_else(|| AppError::Conflict("the audit log is empty: nothing to sign".into()))?;
        let signed_at = self.clock.now().to_string();
        let text = head_text(last.seq, &last.hash, &signed_at);
        let signature = signer
            .sign(text.as_bytes())
            .map_err(|e| AppError::Internal(format!("cannot sign the audit head: {e}")))?;
        let head = SignedHead {
            seq: last.seq,
            hash: last.hash,
            signed_at,
            fingerprint: signer.fingerprint(),
            signature,
        };
        tx.append_audit(NewAuditEntry {
            at: self.clock.now(),
            actor: principal.actor(),
            action: "audit.head".into(),
            subject: "audit:head".into(),
            before: None,
            after: Some(
                serde_json::to_value(&head).map_err(|e| AppError::Internal(e.to_string()))?,
            ),
        })?;
        tx.commit()?;
        Ok(head)
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
        require(principal, Action::ReadAudit)?;
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
