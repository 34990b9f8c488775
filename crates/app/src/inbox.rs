//! The recipient's side: its inbox (exactly what was delivered to its organisation),
//! acknowledgements and forwarding confirmations; and the outbox for staff.

use schakel_domain::{Channel, OrgSlug, Principal};
use schakel_formats::item::{ForwardedRecord, InboxEntryRecord, ItemRecord};
use schakel_rulebook::RulebookSet;
use schakel_store::{DeliveryQuery, DeliveryRow, ForwardingRow, NewAuditEntry, Tx};
use serde_json::json;

use crate::access::{Action, require, require_recipient};
use crate::registry::{not_found, parse_slug};
use crate::{App, AppError};

/// A delivery in the outbox, as answered.
pub fn delivery_record(d: &DeliveryRow) -> schakel_formats::item::DeliveryRecord {
    schakel_formats::item::DeliveryRecord {
        id: d.id.clone(),
        item: d.item_id.clone(),
        version: d.version,
        recipient: d.recipient.to_string(),
        channel: d.channel.as_str().to_owned(),
        address: d.address.clone(),
        state: d.state.as_str().to_owned(),
        attempts: d.attempts,
        next_attempt_at: d.next_attempt_at.map(|t| t.to_string()),
        last_error: d.last_error.clone(),
        created_at: d.created_at.to_string(),
        delivered_at: d.delivered_at.map(|t| t.to_string()),
        acknowledged_at: d.acknowledged_at.map(|t| t.to_string()),
    }
}

/// A page of deliveries.
#[derive(Debug, Clone)]
pub struct DeliveryPage {
    /// This page, oldest first.
    pub deliveries: Vec<DeliveryRow>,
    /// Matches over all pages.
    pub total: u64,
}

/// The strings of a JSON array (empty when absent).
fn strings(value: Option<&serde_json::Value>) -> Vec<String> {
    value
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn on_behalf_of(d: &DeliveryRow) -> Vec<String> {
    strings(d.decision.get("route").and_then(|r| r.get("on_behalf_of")))
}

/// The bases of a stored decision, each with its explanation from the rulebook the decision
/// was taken under (found by its hash; without it, rule and citation only). This is what a
/// recipient reads: the citation without the authors' doubt (`(?)`, or the flag that
/// replaced it), which is a note for the centre's legal officers, not for recipients.
fn bases_explained(
    rulebooks: &RulebookSet,
    decision: &serde_json::Value,
) -> Vec<serde_json::Value> {
    let hash = decision.get("rulebook_hash").and_then(|h| h.as_str());
    let book = rulebooks
        .rulebooks()
        .iter()
        .find(|b| Some(b.hash()) == hash);
    decision
        .get("bases")
        .and_then(|v| v.as_array())
        .map(|bases| {
            bases
                .iter()
                .map(|b| {
                    let mut b = b.clone();
                    if let Some(obj) = b.as_object_mut() {
                        obj.remove("citation_uncertain");
                        // Decisions stored before the flag carry the marker in the text.
                        if let Some(text) = obj.get("citation").and_then(|c| c.as_str()) {
                            let (clean, _) = schakel_rulebook::split_citation(text);
                            obj.insert("citation".into(), json!(clean));
                        }
                    }
                    let rule = b.get("rule").and_then(|r| r.as_str()).map(str::to_owned);
                    if let (Some(book), Some(rule), Some(obj)) = (book, rule, b.as_object_mut())
                        && let Some(info) = book.rules().iter().find(|r| *r.rule == *rule)
                    {
                        obj.insert("explanation".into(), json!(info.explanation.as_ref()));
                        obj.insert("explanation_nl".into(), json!(info.explanation_nl.as_ref()));
                    }
                    b
                })
                .collect()
        })
        .unwrap_or_default()
}

impl App {
    fn inbox_entry(&self, tx: &mut dyn Tx, d: &DeliveryRow) -> Result<InboxEntryRecord, AppError> {
        entry_record(&self.rulebooks, tx, d)
    }

    /// What the recipient of a delivery receives, as JSON (for couriers).
    pub(crate) fn entry_for(
        &self,
        tx: &mut dyn Tx,
        d: &DeliveryRow,
    ) -> Result<serde_json::Value, AppError> {
        serde_json::to_value(entry_record(&self.rulebooks, tx, d)?)
            .map_err(|e| AppError::Internal(e.to_string()))
    }
}

fn entry_record(
    rulebooks: &RulebookSet,
    tx: &mut dyn Tx,
    d: &DeliveryRow,
) -> Result<InboxEntryRecord, AppError> {
    let version = tx
        .item_version(&d.item_id, d.version)?
        .ok_or_else(|| AppError::Internal(format!("delivery {} has no item version", d.id)))?;
    let item: ItemRecord = serde_json::from_value(version.content)
        .map_err(|e| AppError::Internal(format!("item {} is stored unreadably: {e}", d.item_id)))?;
    let forwarded = tx
        .forwardings(&d.id)?
        .into_iter()
        .map(|f| ForwardedRecord {
            member: f.member.to_string(),
            confirmed_at: f.confirmed_at.to_string(),
        })
        .collect();
    Ok(InboxEntryRecord {
        id: d.id.clone(),
        item: d.item_id.clone(),
        version: d.version,
        kind: item.kind,
        title: item.title,
        body: item.body,
        tlp: item.tlp,
        cves: item.cves,
        indicators: item.indicators,
        sectors: item.sectors,
        concerns_you: item.concerns.iter().any(|c| c == d.recipient.as_str()),
        on_behalf_of: on_behalf_of(d),
        bases: bases_explained(rulebooks, &d.decision),
        conditions: strings(d.decision.get("conditions")),
        delivered_at: d.delivered_at.map(|t| t.to_string()),
        acknowledged_at: d.acknowledged_at.map(|t| t.to_string()),
        forwarded,
    })
}

/// The recipient's own inbox delivery `id`, or not found (never "forbidden", which would
/// reveal that someone else's exists).
pub(crate) fn own_delivery(
    tx: &mut dyn Tx,
    org: &OrgSlug,
    id: &str,
) -> Result<DeliveryRow, AppError> {
    tx.delivery(id)?
        .filter(|d| &d.recipient == org && d.channel == Channel::Inbox)
        .ok_or_else(|| AppError::NotFound(format!("no delivery `{id}` in your inbox")))
}

impl App {
    /// What was delivered to the caller's organisation, newest last. Recipient tokens only.
    pub fn inbox(
        &self,
        principal: &Principal,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<InboxEntryRecord>, u64), AppError> {
        let org = require_recipient(principal)?;
        let mut tx = self.store.read()?;
        let (rows, total) = tx.find_deliveries(&DeliveryQuery {
            recipient: Some(org.clone()),
            channel: Some(Channel::Inbox),
            state: Some(schakel_domain::DeliveryState::Delivered),
            offset,
            limit,
            ..DeliveryQuery::default()
        })?;
        let entries = rows
            .iter()
            .map(|d| self.inbox_entry(&mut *tx, d))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((entries, total))
    }

    /// Acknowledges receipt of a delivery in the caller's inbox (again: no change).
    pub fn acknowledge(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<InboxEntryRecord, AppError> {
        let org = require_recipient(principal)?;
        let mut tx = self.store.write()?;
        own_delivery(&mut *tx, org, id)?;
        let now = self.clock.now();
        if tx.acknowledge(id, now, &principal.name)? {
            tx.append_audit(NewAuditEntry {
                at: now,
                actor: principal.actor(),
                action: "delivery.acknowledge".into(),
                subject: format!("delivery:{id}"),
                before: None,
                after: Some(json!({"recipient": org.as_str()})),
            })?;
        }
        let d = own_delivery(&mut *tx, org, id)?;
        let entry = self.inbox_entry(&mut *tx, &d)?;
        tx.commit()?;
        Ok(entry)
    }

    /// Confirms that the caller (a linking organisation) passed a delivery on to `member`,
    /// one of the organisations it received it for.
    pub fn confirm_forwarded(
        &self,
        principal: &Principal,
        id: &str,
        member: &str,
    ) -> Result<InboxEntryRecord, AppError> {
        let org = require_recipient(principal)?;
        let member = OrgSlug::parse(member).map_err(|e| AppError::field("member", e.0))?;
        let mut tx = self.store.write()?;
        let d = own_delivery(&mut *tx, org, id)?;
        let members = on_behalf_of(&d);
        if !members.iter().any(|m| m == member.as_str()) {
            return Err(AppError::field(
                "member",
                format!(
                    "you did not receive this for `{member}`; you received it for: {}",
                    if members.is_empty() {
                        "nobody (it was for yourself)".to_owned()
                    } else {
                        members.join(", ")
                    }
                ),
            ));
        }
        let now = self.clock.now();
        let recorded = tx.insert_forwarding(&ForwardingRow {
            delivery_id: id.to_owned(),
            member: member.clone(),
            confirmed_at: now,
            confirmed_by: principal.name.clone(),
        })?;
        if recorded {
            tx.append_audit(NewAuditEntry {
                at: now,
                actor: principal.actor(),
                action: "delivery.forwarded".into(),
                subject: format!("delivery:{id}"),
                before: None,
                after: Some(json!({"recipient": org.as_str(), "member": member.as_str()})),
            })?;
        }
        let entry = self.inbox_entry(&mut *tx, &d)?;
        tx.commit()?;
        Ok(entry)
    }

    /// The outbox: deliveries, filtered. Staff only.
    pub fn outbox(
        &self,
        principal: &Principal,
        query: &DeliveryQuery,
    ) -> Result<DeliveryPage, AppError> {
        require(principal, Action::ReadOutbox)?;
        let mut tx = self.store.read()?;
        let (deliveries, total) = tx.find_deliveries(query)?;
        Ok(DeliveryPage { deliveries, total })
    }

    /// Makes a new webhook signing secret for an organisation and returns it; it is shown
    /// this once. Administrators only.
    pub fn new_webhook_secret(
        &self,
        principal: &Principal,
        slug: &str,
    ) -> Result<String, AppError> {
        require(principal, Action::ChangeRegistry)?;
        let slug = parse_slug(slug)?;
        let mut tx = self.store.write()?;
        if tx.organisation(&slug)?.is_none() {
            return Err(not_found(&slug));
        }
        let key = self.secrets_key.as_deref().ok_or_else(|| {
            AppError::Conflict(
                "webhook secrets are kept sealed with the secrets key, and this installation has none (--secrets-key)".into(),
            )
        })?;
        let secret = new_secret()?;
        let sealed = key.seal(&crate::deliver::webhook_secret_label(&slug), &secret)?;
        let now = self.clock.now();
        tx.put_webhook_secret(&slug, &sealed, now)?;
        tx.append_audit(NewAuditEntry {
            at: now,
            actor: principal.actor(),
            action: "webhook.secret".into(),
            subject: format!("organisation:{slug}"),
            before: None,
            after: Some(json!({"rotated": true})),
        })?;
        tx.commit()?;
        Ok(secret)
    }
}

impl App {
    /// Seals every webhook secret an earlier version stored in clear (with the secrets
    /// key; nothing to do without one). Each is recorded in the audit log. Returns the
    /// organisations whose secret was sealed.
    pub fn seal_stored_secrets(&self, principal: &Principal) -> Result<Vec<OrgSlug>, AppError> {
        let Some(key) = self.secrets_key.as_deref() else {
            return Ok(vec![]);
        };
        // Most days there is nothing to seal: look without taking the write lock.
        let mut reader = self.store.read()?;
        let mut in_clear = false;
        for slug in reader.webhook_secret_holders()? {
            in_clear |= reader
                .webhook_secret(&slug)?
                .is_some_and(|s| !crate::secrets::is_sealed(&s));
        }
        drop(reader);
        if !in_clear {
            return Ok(vec![]);
        }
        let mut sealed = Vec::new();
        let mut tx = self.store.write()?;
        let now = self.clock.now();
        for slug in tx.webhook_secret_holders()? {
            let Some(stored) = tx.webhook_secret(&slug)? else {
                continue;
            };
            if crate::secrets::is_sealed(&stored) {
                continue;
            }
            let value = key.seal(&crate::deliver::webhook_secret_label(&slug), &stored)?;
            tx.put_webhook_secret(&slug, &value, now)?;
            tx.append_audit(NewAuditEntry {
                at: now,
                actor: principal.actor(),
                action: "webhook.secret.seal".into(),
                subject: format!("organisation:{slug}"),
                before: None,
                after: Some(json!({"sealed": true})),
            })?;
            sealed.push(slug);
        }
        if !sealed.is_empty() {
            tx.commit()?;
        }
        Ok(sealed)
    }
}

impl App {
    /// The whole audit log, oldest first. Legal officers and administrators.
    pub fn audit_log(
        &self,
        principal: &Principal,
    ) -> Result<Vec<schakel_store::AuditEntry>, AppError> {
        require(principal, Action::ReadAudit)?;
        Ok(self.store.read()?.audit_log()?)
    }
}

/// A Standard Webhooks secret: `whsec_` and 32 random bytes in base64.
fn new_secret() -> Result<String, AppError> {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| {
        AppError::Conflict(format!("the operating system's random source failed: {e}"))
    })?;
    Ok(format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// One row per member a linking organisation received a delivery for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MemberRow {
    /// The member.
    pub member: String,
    /// The delivery (to the linking organisation).
    pub delivery: String,
    /// The item.
    pub item: String,
    /// Its version.
    pub version: u32,
    /// Its title.
    pub title: String,
    /// Its TLP.
    pub tlp: String,
    /// When the linking organisation confirmed passing it on, if it did.
    pub forwarded_at: Option<String>,
}

impl App {
    /// The rows per member of a delivery in the caller's inbox (a linking organisation's
    /// machine-readable attachment). Recipient tokens only.
    pub fn inbox_members(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<Vec<MemberRow>, AppError> {
        let org = require_recipient(principal)?;
        let mut tx = self.store.read()?;
        let d = own_delivery(&mut *tx, org, id)?;
        let entry = self.inbox_entry(&mut *tx, &d)?;
        Ok(entry
            .on_behalf_of
            .iter()
            .map(|member| MemberRow {
                member: member.clone(),
                delivery: entry.id.clone(),
                item: entry.item.clone(),
                version: entry.version,
                title: entry.title.clone(),
                tlp: entry.tlp.clone(),
                forwarded_at: entry
                    .forwarded
                    .iter()
                    .find(|f| &f.member == member)
                    .map(|f| f.confirmed_at.clone()),
            })
            .collect())
    }
}

/// Member rows as CSV (RFC 4180: fields with a comma, quote or line break are quoted).
pub fn member_rows_csv(rows: &[MemberRow]) -> String {
    let mut out = String::from("member,delivery,item,version,title,tlp,forwarded_at\r\n");
    for r in rows {
        let version = r.version.to_string();
        out.push_str(&schakel_formats::csv_line([
            r.member.as_str(),
            &r.delivery,
            &r.item,
            &version,
            &r.title,
            &r.tlp,
            r.forwarded_at.as_deref().unwrap_or(""),
        ]));
    }
    out
}

#[cfg(test)]
mod tests {
    use schakel_rulebook::{EffectiveDates, RulebookSet};
    use serde_json::json;

    #[test]
    fn recipients_never_read_the_doubt_about_a_citation() -> Result<(), Box<dyn std::error::Error>>
    {
        let books = RulebookSet::defaults(EffectiveDates::default())?;
        let cbw = &books.rulebooks()[2];
        // One decision as stored now (flag), one as stored before the flag (marker in text).
        for basis in [
            json!({"rule": "C1", "citation": "Cbw art. 16 lid 2", "citation_uncertain": true}),
            json!({"rule": "C1", "citation": "Cbw art. 16 lid 2 (?)"}),
        ] {
            let decision = json!({"rulebook_hash": cbw.hash(), "bases": [basis]});
            let bases = super::bases_explained(&books, &decision);
            assert_eq!(bases.len(), 1);
            assert_eq!(bases[0]["citation"], "Cbw art. 16 lid 2", "{bases:?}");
            assert!(bases[0].get("citation_uncertain").is_none(), "{bases:?}");
            assert!(bases[0]["explanation"].is_string(), "{bases:?}");
        }
        Ok(())
    }
}
