//! The delivery worker: takes due deliveries from the outbox, decides each again just before
//! it goes out, hands it to the courier of its channel, and records the outcome. A
//! delivery whose decision changed is held (never dropped) and its item returns for
//! approval; a failed attempt is retried with exponential backoff and jitter, and after
//! [`MAX_ATTEMPTS`] the delivery is dead until requeued.
//!
//! Delivery is at-least-once: a courier is called outside any transaction, so a crash
//! between a successful hand-over and its recording sends it again, with the same id.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use schakel_domain::{Channel, DeliveryState, ItemStatus, OrgSlug, Principal, Registry, Tlp};
use schakel_formats::item::ItemRecord;
use schakel_rulebook::{DecisionRequest, Verdict};
use schakel_store::{DeliveryQuery, DeliveryRow, DeliveryUpdate, NewAuditEntry, NewDelivery};
use serde_json::json;

use crate::access::{Action, require};
use crate::decide::decide_error;
use crate::{App, AppError};

/// Attempts before a delivery is dead.
pub const MAX_ATTEMPTS: u32 = 8;
/// The first retry's delay; each further retry doubles it (up to [`MAX_BACKOFF`]).
pub const FIRST_BACKOFF: SignedDuration = SignedDuration::from_secs(30);
/// The id of a reminder is the unacknowledged inbox delivery's id and this suffix.
pub const REMINDER_SUFFIX: &str = "-reminder";

/// Hand-overs running at once in one pass.
pub const CONCURRENCY: usize = 32;
/// Outcomes recorded per transaction.
const RECORD_BATCH: usize = 256;

/// The longest delay between attempts.
pub const MAX_BACKOFF: SignedDuration = SignedDuration::from_secs(6 * 3600);

/// One delivery handed to a courier.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The stable id (webhook `webhook-id`, email `Message-ID`).
    pub id: String,
    /// The channel.
    pub channel: Channel,
    /// Email address or webhook URL.
    pub address: String,
    /// The recipient.
    pub recipient: OrgSlug,
    /// What the recipient receives (the inbox entry of FORMATS.md's item, for this
    /// recipient), as JSON.
    pub payload: serde_json::Value,
    /// The recipient's webhook signing secret, opened; or why there is none to sign with.
    pub webhook_secret: Result<String, String>,
    /// Email: the ASCII-armoured OpenPGP key to encrypt to (`None`: signed, not encrypted;
    /// the worker never hands over mail that must be encrypted without one).
    pub encrypt_to: Option<String>,
    /// When the attempt is made.
    pub at: Timestamp,
}

/// What a webhook secret is sealed to: the organisation it signs for.
pub(crate) fn webhook_secret_label(slug: &OrgSlug) -> String {
    format!("webhook-secret:{slug}")
}

/// Why a hand-over failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CourierError {
    /// Worth trying again later (a timeout, a 5xx, a refused connection).
    Retry(String),
    /// Trying again will not help until someone changes something (a 4xx, a bad address).
    Permanent(String),
}

/// Carries deliveries of one channel.
pub trait Courier: Send + Sync {
    /// The channel it carries.
    fn channel(&self) -> Channel;
    /// Hands one delivery over; `Ok` when the other side accepted it.
    fn deliver(&self, outgoing: &Outgoing) -> Result<(), CourierError>;
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryRun {
    /// Delivered now.
    pub delivered: Vec<String>,
    /// Failed, to be retried.
    pub retried: Vec<String>,
    /// Failed for the last time, or permanently.
    pub dead: Vec<String>,
    /// Held because their decision changed.
    pub held: Vec<String>,
    /// Left pending: no courier for their channel in this process.
    pub skipped: Vec<String>,
}

/// The delay before attempt `attempts + 1`: doubling from [`FIRST_BACKOFF`], capped, with
/// up to a quarter of jitter either way (`jitter` in 0..1).
pub fn backoff(attempts: u32, jitter: f64) -> SignedDuration {
    let base = FIRST_BACKOFF.as_secs_f64() * 2f64.powi(i32::try_from(attempts).unwrap_or(30));
    let capped = base.min(MAX_BACKOFF.as_secs_f64());
    let spread = capped * 0.25 * (jitter.clamp(0.0, 1.0) * 2.0 - 1.0);
    SignedDuration::from_secs_f64((capped + spread).max(1.0))
}

fn jitter() -> f64 {
    let mut b = [0u8; 2];
    if getrandom::fill(&mut b).is_err() {
        return 0.5;
    }
    f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX)
}

/// The rule ids, route and conditions of a decision record: what must not change between
/// sending and delivering.
fn essence(decision: &serde_json::Value) -> serde_json::Value {
    let rules = |key: &str| -> Vec<serde_json::Value> {
        decision
            .get(key)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .map(|r| r.get("rule").cloned().unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default()
    };
    json!({
        "decision": decision.get("decision"),
        "bases": rules("bases"),
        "route": decision.get("route"),
        "conditions": decision.get("conditions"),
    })
}

impl App {
    /// One pass of the worker over the deliveries due now (at most `limit`).
    pub fn deliver_once(
        &self,
        principal: &Principal,
        couriers: &[&dyn Courier],
        limit: u64,
    ) -> Result<DeliveryRun, AppError> {
        require(principal, Action::Deliver)?;
        let now = self.clock.now();
        let (due, registry) = {
            let mut tx = self.store.read()?;
            let (due, _) = tx.find_deliveries(&DeliveryQuery {
                due_by: Some(now),
                limit,
                ..DeliveryQuery::default()
            })?;
            (due, self.registry_in(&mut *tx)?)
        };
        let mut run = DeliveryRun::default();
        let mut ready: Vec<(DeliveryRow, Outgoing, &dyn Courier)> = Vec::new();
        // Items parsed once per pass: a plan's deliveries share one version.
        let mut items: ItemCache = HashMap::new();
        for delivery in due {
            let Some(courier) = couriers.iter().find(|c| c.channel() == delivery.channel) else {
                run.skipped.push(delivery.id);
                continue;
            };
            match self.prepare(&registry, &mut items, &delivery, now)? {
                Prepared::Held(reason) => {
                    self.hold(principal, &delivery, &reason, now)?;
                    run.held.push(delivery.id);
                }
                Prepared::Ready(outgoing) => ready.push((delivery, outgoing, *courier)),
            }
        }
        // Hand-overs run on several connections at once (a slow receiver or an SMTP
        // round trip does not hold up the rest); outcomes are recorded in batches.
        for batch in ready.chunks(RECORD_BATCH) {
            let next = std::sync::atomic::AtomicUsize::new(0);
            let results: std::sync::Mutex<Vec<(usize, Result<(), CourierError>)>> =
                std::sync::Mutex::new(Vec::with_capacity(batch.len()));
            std::thread::scope(|scope| {
                for _ in 0..CONCURRENCY.min(batch.len()) {
                    scope.spawn(|| {
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            let Some((_, outgoing, courier)) = batch.get(i) else {
                                break;
                            };
                            let result = courier.deliver(outgoing);
                            if let Ok(mut results) = results.lock() {
                                results.push((i, result));
                            }
                        }
                    });
                }
            });
            let mut results = results.into_inner().unwrap_or_default();
            results.sort_by_key(|(i, _)| *i);
            let outcomes = results
                .into_iter()
                .filter_map(|(i, result)| batch.get(i).map(|(d, _, _)| (d.clone(), result)))
                .collect();
            self.record_attempts(principal, outcomes, now, &mut run)?;
        }
        Ok(run)
    }

    /// The item version a delivery carries, parsed.
    pub(crate) fn delivered_item(
        &self,
        tx: &mut dyn schakel_store::Tx,
        d: &DeliveryRow,
    ) -> Result<schakel_formats::item::ParsedItem, AppError> {
        let version = tx
            .item_version(&d.item_id, d.version)?
            .ok_or_else(|| AppError::Internal(format!("delivery {} has no item version", d.id)))?;
        let record: ItemRecord = serde_json::from_value(version.content)
            .map_err(|e| AppError::Internal(format!("item {} is unreadable: {e}", d.item_id)))?;
        record
            .parse(&self.vocabulary)
            .map_err(|_| AppError::Internal(format!("item {} no longer parses", d.item_id)))
    }

    /// Decides the delivery again and builds what goes out.
    fn prepare(
        &self,
        registry: &Registry,
        items: &mut ItemCache,
        d: &DeliveryRow,
        now: Timestamp,
    ) -> Result<Prepared, AppError> {
        let mut tx = self.store.read()?;
        let key = (d.item_id.clone(), d.version);
        let facts = match items.get(&key) {
            Some(item) => item.facts.clone(),
            None => {
                let item = self.delivered_item(&mut *tx, d)?;
                let facts = item.facts.clone();
                items.insert(key, item);
                facts
            }
        };
        let request = DecisionRequest {
            at: self.clock.today(),
            recipient: d.recipient.clone(),
            item: facts,
        };
        let request = &request;
        let verdict = match self.rulebooks.verdict(registry, request) {
            Ok(v) => v,
            // The recipient ended, or the date left every rulebook: hold, never send.
            Err(e) => return Ok(Prepared::Held(decide_error(e).to_string())),
        };
        let Verdict::Permit(permit) = verdict else {
            return Ok(Prepared::Held(
                "the rulebook no longer permits this delivery".into(),
            ));
        };
        let now_record = crate::plan::stored_decision(permit.decision());
        if essence(&now_record) != essence(&d.decision) {
            return Ok(Prepared::Held(
                "its decision changed since sending (basis, route or conditions)".into(),
            ));
        }
        let payload = self.entry_for(&mut *tx, d)?;
        // A feed message carries its rows, per organisation it has a section for.
        let feed = match crate::feed_send::carried_message(&mut *tx, &d.item_id)? {
            crate::feed_send::Carried::Rows(message) => Some(crate::feed_send::message_sections(
                &mut *tx,
                &message,
                &crate::feed_send::carried_organisations(&message, &request.item.concerns),
                (u64::MAX >> 1, 0),
            )?),
            crate::feed_send::Carried::Nothing => None,
            crate::feed_send::Carried::Purged(at) => {
                return Ok(Prepared::Held(format!(
                    "its feed rows were deleted at {at} under the retention policy; it is not sent without them"
                )));
            }
        };
        // Recipients acknowledge and confirm forwarding on their inbox copy.
        let (inbox, _) = tx.find_deliveries(&DeliveryQuery {
            item_id: Some(d.item_id.clone()),
            recipient: Some(d.recipient.clone()),
            channel: Some(Channel::Inbox),
            version: Some(d.version),
            limit: 1,
            ..DeliveryQuery::default()
        })?;
        let inbox_id = inbox.first().map(|i| i.id.clone());
        let reminder_of = d.id.strip_suffix(REMINDER_SUFFIX).map(str::to_owned);
        let webhook_secret = match (d.channel, tx.webhook_secret(&d.recipient)?) {
            (Channel::Webhook, Some(stored)) => crate::secrets::open(
                self.secrets_key.as_deref(),
                &webhook_secret_label(&d.recipient),
                &stored,
            ),
            (Channel::Webhook, None) => Err(format!(
                "no webhook signing secret for {0}: run `schakel webhook secret {0}`",
                d.recipient
            )),
            _ => Err("not a webhook".to_owned()),
        };
        // Email: the recipient's key on file now, and whether the law and TLP demand it.
        let mut encrypt_to = None;
        if d.channel == Channel::Email {
            let contact = registry.get(&d.recipient).and_then(|o| {
                o.contacts()
                    .iter()
                    .find(|c| Some(c.email.as_str()) == d.address.as_deref())
            });
            let Some(contact) = contact else {
                return Ok(Prepared::Held(
                    "the email address is no longer a contact of the recipient".into(),
                ));
            };
            let confidential = permit
                .decision()
                .conditions
                .iter()
                .any(|c| &**c == "secrecy");
            let must = matches!(request.item.tlp, Tlp::Red | Tlp::AmberStrict) || confidential;
            let prefer = !matches!(request.item.tlp, Tlp::Clear | Tlp::Green);
            match &contact.pgp_key {
                Some(key) if must || prefer => encrypt_to = Some(key.armored().to_owned()),
                None if must => {
                    return Ok(Prepared::Held(
                        "the contact's OpenPGP key is gone: this is never sent by unencrypted email"
                            .into(),
                    ));
                }
                _ => {}
            }
        }
        // The conditions of use, explained, for couriers that write them out.
        let book = self.rulebooks.for_date(request.at).ok();
        let conditions: Vec<serde_json::Value> = permit
            .decision()
            .conditions
            .iter()
            .map(|c| {
                let info = book.and_then(|b| b.rules().iter().find(|r| *r.policy_id == **c));
                json!({
                    "id": c.as_ref(),
                    "explanation": info.map(|i| i.explanation.as_ref()),
                    "explanation_nl": info.map(|i| i.explanation_nl.as_ref()),
                })
            })
            .collect();
        // The Standard Webhooks payload shape: `type`, `timestamp` (when the delivery was
        // made: the same in every attempt, so a re-sent body is identical), `data`.
        let mut payload = json!({
            "type": if reminder_of.is_some() { "schakel.reminder" } else { "schakel.delivery" },
            "timestamp": d.created_at.to_string(),
            "id": d.id,
            "inbox_id": inbox_id,
            "reminder_of": reminder_of,
            "data": payload,
            "conditions_explained": conditions,
        });
        if let (Some(feed), Some(obj)) = (feed, payload.as_object_mut()) {
            obj.insert("feed".into(), json!(feed));
        }
        Ok(Prepared::Ready(Outgoing {
            id: d.id.clone(),
            channel: d.channel,
            address: d.address.clone().unwrap_or_default(),
            recipient: d.recipient.clone(),
            payload,
            webhook_secret,
            encrypt_to,
            at: now,
        }))
    }

    fn hold(
        &self,
        principal: &Principal,
        d: &DeliveryRow,
        reason: &str,
        now: Timestamp,
    ) -> Result<(), AppError> {
        let mut tx = self.store.write()?;
        tx.update_delivery(
            &d.id,
            &DeliveryUpdate {
                state: DeliveryState::Held,
                attempts: d.attempts,
                next_attempt_at: None,
                last_error: Some(reason.to_owned()),
                delivered_at: None,
            },
        )?;
        if let Some(mut item) = tx.item(&d.item_id)? {
            item.status = ItemStatus::AwaitingApproval;
            item.updated_at = now;
            tx.put_item(&item)?;
        }
        tx.append_audit(NewAuditEntry {
            at: now,
            actor: principal.actor(),
            action: "delivery.hold".into(),
            subject: format!("delivery:{}", d.id),
            before: Some(json!({"state": d.state.as_str()})),
            after: Some(json!({"state": "held", "reason": reason, "item": d.item_id})),
        })?;
        tx.commit()?;
        Ok(())
    }

    /// Records the outcomes of a batch of hand-overs in one transaction.
    fn record_attempts(
        &self,
        principal: &Principal,
        outcomes: Vec<(DeliveryRow, Result<(), CourierError>)>,
        now: Timestamp,
        run: &mut DeliveryRun,
    ) -> Result<(), AppError> {
        let mut tx = self.store.write()?;
        let mut recorded = Vec::with_capacity(outcomes.len());
        for (d, result) in outcomes {
            let attempts = d.attempts.saturating_add(1);
            let (update, action, error) = match result {
                Ok(()) => (
                    DeliveryUpdate {
                        state: DeliveryState::Delivered,
                        attempts,
                        next_attempt_at: None,
                        last_error: None,
                        delivered_at: Some(now),
                    },
                    "delivery.deliver",
                    None,
                ),
                Err(CourierError::Retry(e)) if attempts < MAX_ATTEMPTS => (
                    DeliveryUpdate {
                        state: DeliveryState::Pending,
                        attempts,
                        next_attempt_at: now.checked_add(backoff(attempts - 1, jitter())).ok(),
                        last_error: Some(e.clone()),
                        delivered_at: None,
                    },
                    "delivery.attempt",
                    Some(e),
                ),
                Err(CourierError::Retry(e) | CourierError::Permanent(e)) => (
                    DeliveryUpdate {
                        state: DeliveryState::Dead,
                        attempts,
                        next_attempt_at: None,
                        last_error: Some(e.clone()),
                        delivered_at: None,
                    },
                    "delivery.dead",
                    Some(e),
                ),
            };
            tx.update_delivery(&d.id, &update)?;
            tx.append_audit(NewAuditEntry {
                at: now,
                actor: principal.actor(),
                action: action.into(),
                subject: format!("delivery:{}", d.id),
                before: Some(json!({"state": d.state.as_str(), "attempts": d.attempts})),
                after: Some(json!({
                    "state": update.state.as_str(),
                    "attempts": attempts,
                    "channel": d.channel.as_str(),
                    "error": error,
                })),
            })?;
            recorded.push((d.id, update.state));
        }
        tx.commit()?;
        for (id, state) in recorded {
            match state {
                DeliveryState::Delivered => run.delivered.push(id),
                DeliveryState::Pending => run.retried.push(id),
                _ => run.dead.push(id),
            }
        }
        Ok(())
    }

    /// Reminds the alternate contact (the second contact, else the first) of every inbox
    /// delivery not acknowledged within `after`: an email delivery, decided again by the
    /// rulebook like any other, enqueued once per inbox delivery. Returns the reminders
    /// enqueued. Analysts (and the worker).
    pub fn send_reminders(
        &self,
        principal: &Principal,
        after: SignedDuration,
    ) -> Result<Vec<String>, AppError> {
        require(principal, Action::Deliver)?;
        let now = self.clock.now();
        let Ok(cutoff) = now.checked_sub(after) else {
            return Ok(vec![]);
        };
        let mut tx = self.store.write()?;
        let (late, _) = tx.find_deliveries(&DeliveryQuery {
            unacknowledged_before: Some(cutoff),
            limit: 10_000,
            ..DeliveryQuery::default()
        })?;
        if late.is_empty() {
            return Ok(vec![]);
        }
        let registry = self.registry_in(&mut *tx)?;
        let mut permits = Vec::new();
        let mut notes: Vec<(DeliveryRow, Option<String>)> = Vec::new();
        for d in late {
            let why_not = match self.reminder_permit(&mut *tx, &registry, &d)? {
                Ok(found) => {
                    permits.push((d.clone(), found));
                    None
                }
                Err(why) => Some(why),
            };
            notes.push((d, why_not));
        }
        let decisions: Vec<String> = permits
            .iter()
            .map(|(_, (permit, _))| crate::plan::stored_decision(permit.decision()).to_string())
            .collect();
        let queued: Vec<NewDelivery<'_>> = permits
            .iter()
            .zip(&decisions)
            .map(|((d, (permit, address)), decision)| NewDelivery {
                permit,
                id: format!("{}{REMINDER_SUFFIX}", d.id),
                item_id: &d.item_id,
                version: d.version,
                channel: Channel::Email,
                address: Some(address.as_str()),
                plan_hash: &d.plan_hash,
                decision,
                state: DeliveryState::Pending,
                next_attempt_at: Some(now),
                note: None,
                created_at: now,
            })
            .collect();
        tx.insert_deliveries(&queued)?;
        let sent: Vec<String> = queued.iter().map(|q| q.id.clone()).collect();
        for (d, why_not) in &notes {
            tx.mark_reminded(&d.id, now)?;
            tx.append_audit(NewAuditEntry {
                at: now,
                actor: principal.actor(),
                action: "delivery.remind".into(),
                subject: format!("delivery:{}", d.id),
                before: None,
                after: Some(json!({
                    "recipient": d.recipient.as_str(),
                    "reminder": why_not.is_none().then(|| format!("{}{REMINDER_SUFFIX}", d.id)),
                    "not_reminded": why_not,
                })),
            })?;
        }
        tx.commit()?;
        Ok(sent)
    }

    /// The permit and alternate address for a reminder, or why there is none.
    fn reminder_permit(
        &self,
        tx: &mut dyn schakel_store::Tx,
        registry: &Registry,
        d: &DeliveryRow,
    ) -> Result<Result<(schakel_rulebook::Permit, String), String>, AppError> {
        // Nobody is reminded of what was corrected or withdrawn since.
        match tx.item(&d.item_id)? {
            Some(item) if item.status == ItemStatus::Retracted || item.retraction.is_some() => {
                return Ok(Err("the item was retracted".into()));
            }
            Some(item) if item.version > d.version => {
                return Ok(Err(format!(
                    "version {} was corrected since (now version {})",
                    d.version, item.version
                )));
            }
            Some(_) => {}
            None => return Ok(Err("the item is gone".into())),
        }
        let Some(org) = registry.get(&d.recipient) else {
            return Ok(Err("the recipient is no longer in the registry".into()));
        };
        let Some(contact) = org.contacts().get(1).or_else(|| org.contacts().first()) else {
            return Ok(Err("the recipient has no contact to remind".into()));
        };
        let item = self.delivered_item(tx, d)?;
        let tlp = item.facts.tlp;
        let request = DecisionRequest {
            at: self.clock.today(),
            recipient: d.recipient.clone(),
            item: item.facts,
        };
        let Ok(Verdict::Permit(permit)) = self.rulebooks.verdict(registry, &request) else {
            return Ok(Err("the rulebook no longer permits it".into()));
        };
        let usable = crate::plan::channels(org, &permit, tlp, false, false)
            .into_iter()
            .find(|c| {
                c.channel == Channel::Email && c.address.as_deref() == Some(contact.email.as_str())
            })
            .is_some_and(|c| c.usable);
        if !usable {
            return Ok(Err(
                "the alternate contact cannot receive it by email (no OpenPGP key on file)".into(),
            ));
        }
        Ok(Ok((permit, contact.email.as_str().to_owned())))
    }

    /// Puts a dead or held delivery back in the queue (after a contact was fixed or the
    /// item approved again), due now. Analysts.
    pub fn requeue(&self, principal: &Principal, id: &str) -> Result<DeliveryRow, AppError> {
        require(principal, Action::Deliver)?;
        let mut tx = self.store.write()?;
        let d = tx
            .delivery(id)?
            .ok_or_else(|| AppError::NotFound(format!("no delivery `{id}`")))?;
        if !matches!(d.state, DeliveryState::Dead | DeliveryState::Held) {
            return Err(AppError::Conflict(format!(
                "delivery {id} is {}; only dead or held deliveries are requeued",
                d.state
            )));
        }
        let now = self.clock.now();
        tx.update_delivery(
            id,
            &DeliveryUpdate {
                state: DeliveryState::Pending,
                attempts: 0,
                next_attempt_at: Some(now),
                last_error: None,
                delivered_at: None,
            },
        )?;
        tx.append_audit(NewAuditEntry {
            at: now,
            actor: principal.actor(),
            action: "delivery.requeue".into(),
            subject: format!("delivery:{id}"),
            before: Some(json!({"state": d.state.as_str(), "attempts": d.attempts})),
            after: Some(json!({"state": "pending"})),
        })?;
        let requeued = tx
            .delivery(id)?
            .ok_or_else(|| AppError::NotFound(format!("no delivery `{id}`")))?;
        tx.commit()?;
        Ok(requeued)
    }
}

/// Parsed item versions by (item, version), for one pass.
type ItemCache = HashMap<(String, u32), schakel_formats::item::ParsedItem>;

enum Prepared {
    Ready(Outgoing),
    Held(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_bounded_jitter_and_a_cap() {
        let mid = |n| backoff(n, 0.5).as_secs();
        assert_eq!(mid(0), 30);
        assert_eq!(mid(1), 60);
        assert_eq!(mid(3), 240);
        assert_eq!(mid(20), MAX_BACKOFF.as_secs());
        assert!(backoff(2, 0.0).as_secs() >= 90 && backoff(2, 1.0).as_secs() <= 150);
    }
}
