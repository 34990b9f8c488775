//! Items: create, show, list, plan, approve (four eyes) and send. Sending re-plans, and
//! only the rulebook's permits become deliveries, in the same transaction as their audit
//! entries.

use std::collections::BTreeSet;

use schakel_domain::{Channel, DeliveryState, ItemStatus, OrgSlug, Principal, Registry, Role};
use schakel_formats::item::{ItemAnswer, ItemRecord, ParsedItem, parse_item};
use schakel_formats::registry::EntryError;
use schakel_store::{
    ApprovalRow, DeliveryQuery, ItemQuery, ItemRow, ItemVersionRow, NewAuditEntry, NewDelivery, Tx,
};
use serde_json::json;

use crate::access::{Action, require};
use crate::plan::{Plan, PlanInput, make_plan, needs_approval};
use crate::tokens::random_hex;
use crate::{App, AppError};

/// An item with its current version parsed.
#[derive(Debug, Clone)]
pub struct ItemView {
    /// The stored row.
    pub row: ItemRow,
    /// The current version.
    pub item: ParsedItem,
    /// Every approval recorded.
    pub approvals: Vec<ApprovalRow>,
}

impl ItemView {
    /// Whether sending needs four eyes.
    pub fn needs_approval(&self) -> bool {
        needs_approval(&self.item.facts)
    }

    /// The item as answered.
    pub fn answer(&self) -> ItemAnswer {
        ItemAnswer {
            id: self.row.id.clone(),
            version: self.row.version,
            status: self.row.status.as_str().to_owned(),
            needs_approval: self.needs_approval(),
            created_by: self.row.created_by.clone(),
            created_at: self.row.created_at.to_string(),
            updated_at: self.row.updated_at.to_string(),
            item: ItemRecord::from_item(&self.item),
        }
    }
}

/// What sending did.
#[derive(Debug, Clone)]
pub struct SendReport {
    /// The plan sent.
    pub plan: Plan,
    /// The deliveries enqueued: (delivery id, recipient, channel, state).
    pub deliveries: Vec<(String, OrgSlug, Channel, DeliveryState)>,
}

/// What retracting did.
#[derive(Debug, Clone)]
pub enum Retraction {
    /// It was never sent: withdrawn, nobody to tell.
    Withdrawn,
    /// The notice went to everyone who received the item.
    Sent(SendReport),
    /// The notice waits for a second person's approval, then `send`.
    AwaitingApproval(String),
}

impl SendReport {
    /// What sending did, as answered.
    pub fn record(&self) -> schakel_formats::item::SendRecord {
        schakel_formats::item::SendRecord {
            plan: self.plan.record(),
            deliveries: self
                .deliveries
                .iter()
                .map(
                    |(id, recipient, channel, state)| schakel_formats::item::SentDeliveryRecord {
                        id: id.clone(),
                        recipient: recipient.to_string(),
                        channel: channel.as_str().to_owned(),
                        state: state.as_str().to_owned(),
                    },
                )
                .collect(),
        }
    }
}

/// An item in a listing, as answered.
pub fn item_summary(row: &ItemRow) -> schakel_formats::item::ItemSummaryRecord {
    schakel_formats::item::ItemSummaryRecord {
        id: row.id.clone(),
        version: row.version,
        status: row.status.as_str().to_owned(),
        kind: row.kind.as_str().to_owned(),
        title: row.title.clone(),
        tlp: row.tlp.as_str().to_owned(),
        created_by: row.created_by.clone(),
        created_at: row.created_at.to_string(),
    }
}

/// A page of items.
#[derive(Debug, Clone)]
pub struct ItemPage {
    /// This page, newest first.
    pub items: Vec<ItemRow>,
    /// Matches over all pages.
    pub total: u64,
}

/// Every organisation an item names must exist; consent is only given by concerned ones.
fn check_names(item: &ParsedItem, registry: &Registry) -> Result<(), AppError> {
    let f = &item.facts;
    let mut problems = Vec::new();
    let mut unknown = |field: &str, list: &[OrgSlug]| {
        for (i, slug) in list.iter().enumerate() {
            if registry.get(slug).is_none() {
                problems.push(EntryError {
                    index: None,
                    slug: None,
                    field: format!("{field}[{i}]"),
                    reason: format!("no organisation `{slug}` in the registry"),
                });
            }
        }
    };
    unknown("concerns", &f.concerns);
    unknown("consent", &f.consent);
    unknown("named_recipients", &f.named_recipients);
    for (i, slug) in f.consent.iter().enumerate() {
        if !f.concerns.contains(slug) {
            problems.push(EntryError {
                index: None,
                slug: None,
                field: format!("consent[{i}]"),
                reason: format!("`{slug}` is not among the organisations the item concerns"),
            });
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(AppError::invalid(
            format!("{} problem(s) in the item", problems.len()),
            problems,
        ))
    }
}

fn item_not_found(id: &str) -> AppError {
    AppError::NotFound(format!("no item `{id}`"))
}

/// Loads an item and its current version.
pub(crate) fn load_item(
    tx: &mut dyn Tx,
    vocabulary: &schakel_domain::SectorVocabulary,
    id: &str,
) -> Result<ItemView, AppError> {
    let row = tx.item(id)?.ok_or_else(|| item_not_found(id))?;
    let version = tx
        .item_version(id, row.version)?
        .ok_or_else(|| AppError::Internal(format!("item {id} has no version {}", row.version)))?;
    let record: ItemRecord = serde_json::from_value(version.content)
        .map_err(|e| AppError::Internal(format!("item {id} is stored unreadably: {e}")))?;
    let item = record.parse(vocabulary).map_err(|issues| {
        AppError::Internal(format!(
            "item {id} version {} no longer parses: {}",
            row.version,
            issues
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ))
    })?;
    let approvals = tx.approvals(id)?;
    Ok(ItemView {
        row,
        item,
        approvals,
    })
}

impl App {
    /// Creates an item from JSON (FORMATS.md "Item"); every organisation it names must
    /// exist. Analysts only.
    pub fn create_item(
        &self,
        principal: &Principal,
        value: serde_json::Value,
    ) -> Result<ItemView, AppError> {
        require(principal, Action::WorkItems)?;
        let mut tx = self.store.write()?;
        let item = self.parse_checked(&mut *tx, value)?;
        let view = self.insert_item(&mut *tx, principal, item)?;
        tx.commit()?;
        Ok(view)
    }

    /// Stores a new item (version 1, draft) and its audit entry in `tx`.
    pub(crate) fn insert_item(
        &self,
        tx: &mut dyn Tx,
        principal: &Principal,
        item: ParsedItem,
    ) -> Result<ItemView, AppError> {
        let now = self.clock.now();
        let id = format!("itm_{}", random_hex(8)?);
        let row = ItemRow {
            id: id.clone(),
            version: 1,
            status: ItemStatus::Draft,
            kind: item.kind,
            title: item.title.clone(),
            tlp: item.facts.tlp,
            created_at: now,
            created_by: principal.name.clone(),
            updated_at: now,
            retraction: None,
        };
        let record = ItemRecord::from_item(&item);
        let content = serde_json::to_value(&record)
            .map_err(|e| AppError::Internal(format!("cannot write the item: {e}")))?;
        tx.put_item(&row)?;
        tx.insert_item_version(&ItemVersionRow {
            item_id: id.clone(),
            version: 1,
            content,
            created_at: now,
            created_by: principal.name.clone(),
        })?;
        tx.append_audit(NewAuditEntry {
            at: now,
            actor: principal.actor(),
            action: "item.create".into(),
            subject: format!("item:{id}"),
            before: None,
            after: Some(json!({
                "version": 1,
                "kind": item.kind.as_str(),
                "tlp": item.facts.tlp.as_str(),
                "concerns": item.facts.concerns.iter().map(OrgSlug::as_str).collect::<Vec<_>>(),
            })),
        })?;
        Ok(ItemView {
            row,
            item,
            approvals: vec![],
        })
    }

    /// Parses an item and checks that every organisation it names exists.
    pub(crate) fn parse_checked(
        &self,
        tx: &mut dyn Tx,
        value: serde_json::Value,
    ) -> Result<ParsedItem, AppError> {
        let item =
            parse_item(value, &self.vocabulary).map_err(|i| AppError::from_issues("item", i))?;
        check_names(&item, &*self.registry_in(tx)?)?;
        Ok(item)
    }

    /// One item. Staff only.
    pub fn item(&self, principal: &Principal, id: &str) -> Result<ItemView, AppError> {
        require(principal, Action::ReadItems)?;
        let mut tx = self.store.read()?;
        load_item(&mut *tx, &self.vocabulary, id)
    }

    /// Items, newest first. Staff only.
    pub fn items(&self, principal: &Principal, query: &ItemQuery) -> Result<ItemPage, AppError> {
        require(principal, Action::ReadItems)?;
        let mut tx = self.store.read()?;
        let (items, total) = tx.find_items(query)?;
        Ok(ItemPage { items, total })
    }

    /// The plan for an item's current version today. Staff only.
    pub fn plan(&self, principal: &Principal, id: &str) -> Result<Plan, AppError> {
        require(principal, Action::ReadItems)?;
        let mut tx = self.store.read()?;
        let view = load_item(&mut *tx, &self.vocabulary, id)?;
        self.plan_in(&mut *tx, &view)
    }

    /// The organisations with an active recipient token, and those with a webhook signing
    /// secret: what the planner needs to know of channels.
    pub(crate) fn channel_holders(
        &self,
        tx: &mut dyn Tx,
    ) -> Result<(BTreeSet<OrgSlug>, BTreeSet<OrgSlug>), AppError> {
        let now = self.clock.now();
        let with_token: BTreeSet<OrgSlug> = tx
            .tokens()?
            .into_iter()
            .filter(|t| {
                t.role == Role::Recipient
                    && t.revoked_at.is_none()
                    && t.expires_at.is_none_or(|e| e > now)
            })
            .filter_map(|t| t.organisation)
            .collect();
        let with_webhook_secret: BTreeSet<OrgSlug> =
            tx.webhook_secret_holders()?.into_iter().collect();
        Ok((with_token, with_webhook_secret))
    }

    pub(crate) fn plan_in(&self, tx: &mut dyn Tx, view: &ItemView) -> Result<Plan, AppError> {
        let registry = self.registry_in(tx)?;
        let (with_token, with_webhook_secret) = self.channel_holders(tx)?;
        // A feed message goes to its one recipient; a later version to exactly those who
        // received an earlier one.
        let pinned: Option<BTreeSet<OrgSlug>> = match tx.feed_message(&view.row.id)? {
            Some(message) => Some(BTreeSet::from([message.recipient])),
            None if view.row.version > 1 => {
                let (earlier, _) = tx.find_deliveries(&DeliveryQuery {
                    item_id: Some(view.row.id.clone()),
                    limit: u64::MAX >> 1,
                    ..DeliveryQuery::default()
                })?;
                let received: BTreeSet<OrgSlug> = earlier
                    .into_iter()
                    .filter(|d| d.version < view.row.version)
                    .map(|d| d.recipient)
                    .collect();
                (!received.is_empty()).then_some(received)
            }
            None => None,
        };
        make_plan(
            &self.rulebooks,
            &registry,
            &PlanInput {
                item_id: &view.row.id,
                version: view.row.version,
                facts: &view.item.facts,
                sectors: &view.item.sectors,
                at: self.clock.today(),
                with_token: &with_token,
                with_webhook_secret: &with_webhook_secret,
                only: pinned.as_ref(),
            },
        )
    }

    /// Stores a new version of an item and puts it back to draft.
    fn new_version(
        &self,
        principal: &Principal,
        tx: &mut dyn Tx,
        view: &mut ItemView,
        item: ParsedItem,
        action: &str,
    ) -> Result<(), AppError> {
        let now = self.clock.now();
        let previous = view.row.version;
        let version = previous + 1;
        let content = serde_json::to_value(ItemRecord::from_item(&item))
            .map_err(|e| AppError::Internal(format!("cannot write the item: {e}")))?;
        tx.insert_item_version(&ItemVersionRow {
            item_id: view.row.id.clone(),
            version,
            content,
            created_at: now,
            created_by: principal.name.clone(),
        })?;
        let before = view.row.status;
        view.row.version = version;
        view.row.status = ItemStatus::Draft;
        view.row.kind = item.kind;
        view.row.title = item.title.clone();
        view.row.tlp = item.facts.tlp;
        view.row.updated_at = now;
        tx.put_item(&view.row)?;
        tx.append_audit(NewAuditEntry {
            at: now,
            actor: principal.actor(),
            action: action.into(),
            subject: format!("item:{}", view.row.id),
            before: Some(json!({"version": previous, "status": before.as_str()})),
            after: Some(json!({"version": version, "status": ItemStatus::Draft.as_str()})),
        })?;
        view.item = item;
        Ok(())
    }

    /// Corrects an item: a new version (FORMATS.md "Item"). Once an earlier version was
    /// sent, sending the correction goes to exactly the organisations that received an
    /// earlier version, each decided again by the rulebook. Analysts.
    pub fn correct_item(
        &self,
        principal: &Principal,
        id: &str,
        value: serde_json::Value,
    ) -> Result<ItemView, AppError> {
        require(principal, Action::WorkItems)?;
        let mut tx = self.store.write()?;
        let item = self.parse_checked(&mut *tx, value)?;
        let mut view = load_item(&mut *tx, &self.vocabulary, id)?;
        if view.row.status == ItemStatus::Retracted || view.row.retraction.is_some() {
            return Err(AppError::Conflict(format!("item {id} is retracted")));
        }
        self.new_version(principal, &mut *tx, &mut view, item, "item.correct")?;
        tx.commit()?;
        Ok(view)
    }

    /// Retracts an item. Never sent: it is withdrawn. Sent: a retraction notice (a new
    /// version) goes to exactly the organisations that received it, through the rulebook;
    /// when four eyes are needed it waits for approval like any item, then `send`.
    /// Analysts.
    pub fn retract_item(
        &self,
        principal: &Principal,
        id: &str,
        reason: Option<&str>,
    ) -> Result<Retraction, AppError> {
        require(principal, Action::WorkItems)?;
        let mut tx = self.store.write()?;
        let mut view = load_item(&mut *tx, &self.vocabulary, id)?;
        if view.row.status == ItemStatus::Retracted || view.row.retraction.is_some() {
            return Err(AppError::Conflict(format!(
                "item {id} is already retracted"
            )));
        }
        let (sent, _) = tx.find_deliveries(&DeliveryQuery {
            item_id: Some(id.to_owned()),
            limit: 1,
            ..DeliveryQuery::default()
        })?;
        let now = self.clock.now();
        if sent.is_empty() {
            set_status(
                &mut *tx,
                principal,
                &mut view.row,
                ItemStatus::Retracted,
                now,
                "item.retract",
                json!({"notices": false, "reason": reason}),
            )?;
            tx.commit()?;
            return Ok(Retraction::Withdrawn);
        }
        let mut notice = view.item.clone();
        let title: String = format!("Retracted: {}", view.item.title)
            .chars()
            .take(schakel_formats::item::MAX_TITLE)
            .collect();
        notice.title = title;
        notice.body = format!(
            "The centre withdraws this information ({id}, version {}). Do not act on it any further, and delete copies where your procedures allow.\n\nHet centrum trekt deze informatie in ({id}, versie {}). Handel er niet verder naar, en verwijder kopieën waar uw procedures dat toestaan.{}",
            view.row.version,
            view.row.version,
            reason.map(|r| format!("\n\n{r}")).unwrap_or_default()
        );
        notice.indicators.clear();
        self.new_version(principal, &mut *tx, &mut view, notice, "item.retract")?;
        view.row.retraction = Some(view.row.version);
        tx.put_item(&view.row)?;
        tx.commit()?;
        match self.send_item(principal, id, None) {
            Ok(report) => Ok(Retraction::Sent(report)),
            Err(AppError::Conflict(why)) => Ok(Retraction::AwaitingApproval(why)),
            Err(e) => Err(e),
        }
    }

    /// Approves the current plan of an item (four eyes): the approver is a person other
    /// than the creator; `expected` (the hash the approver saw) must match today's plan.
    pub fn approve_item(
        &self,
        principal: &Principal,
        id: &str,
        expected: Option<&str>,
    ) -> Result<(Plan, ApprovalRow), AppError> {
        require(principal, Action::ApproveItems)?;
        let mut tx = self.store.write()?;
        let mut view = load_item(&mut *tx, &self.vocabulary, id)?;
        if view.row.created_by == principal.name {
            return Err(AppError::Forbidden(format!(
                "four eyes: `{}` created this item and cannot approve it; another analyst or legal officer must",
                principal.name
            )));
        }
        if matches!(view.row.status, ItemStatus::Sent | ItemStatus::Retracted) {
            return Err(AppError::Conflict(format!(
                "item {id} is {}; correct it to make a new version",
                view.row.status
            )));
        }
        let plan = self.plan_in(&mut *tx, &view)?;
        if let Some(expected) = expected.filter(|e| *e != plan.hash) {
            return Err(AppError::Conflict(format!(
                "the plan changed since you saw it ({expected}); it is now {}: look at it again",
                plan.hash
            )));
        }
        let now = self.clock.now();
        let approval = ApprovalRow {
            item_id: id.to_owned(),
            version: view.row.version,
            plan_hash: plan.hash.clone(),
            approved_by: principal.name.clone(),
            approved_at: now,
        };
        tx.insert_approval(&approval)?;
        let after = json!({
            "version": view.row.version,
            "plan_hash": plan.hash,
            "plan": plan_summary(&plan),
        });
        set_status(
            &mut *tx,
            principal,
            &mut view.row,
            ItemStatus::Approved,
            now,
            "item.approve",
            after,
        )?;
        tx.commit()?;
        Ok((plan, approval))
    }

    /// Sends an item: plans again; when approval is needed the plan must be the one
    /// approved, otherwise the one the sender saw (`expected`, when given). If it differs,
    /// nothing is sent and an approved item returns for approval. Every permit becomes
    /// deliveries (inbox, and email and webhook where usable), with audit entries, in one
    /// transaction.
    pub fn send_item(
        &self,
        principal: &Principal,
        id: &str,
        expected: Option<&str>,
    ) -> Result<SendReport, AppError> {
        require(principal, Action::WorkItems)?;
        let mut tx = self.store.write()?;
        let mut view = load_item(&mut *tx, &self.vocabulary, id)?;
        match view.row.status {
            ItemStatus::Sent => {
                return Err(AppError::Conflict(format!(
                    "item {id} was already sent; `item correct` makes a new version to send"
                )));
            }
            ItemStatus::Retracted => {
                return Err(AppError::Conflict(format!("item {id} was retracted")));
            }
            _ => {}
        }
        let plan = self.plan_in(&mut *tx, &view)?;
        if plan.permits.is_empty() {
            return Err(AppError::Conflict(format!(
                "the plan of {id} permits nobody ({} candidates denied): nothing was sent; `schakel item plan {id}` shows the reasons and remedies",
                plan.denies.len()
            )));
        }
        let now = self.clock.now();
        if plan.needs_approval {
            let approved: Vec<&ApprovalRow> = view
                .approvals
                .iter()
                .filter(|a| a.version == view.row.version)
                .collect();
            if !approved.iter().any(|a| a.plan_hash == plan.hash) {
                if view.row.status != ItemStatus::AwaitingApproval {
                    let after = json!({
                        "plan_hash": plan.hash,
                        "approved_hashes": approved.iter().map(|a| a.plan_hash.as_str()).collect::<Vec<_>>(),
                    });
                    set_status(
                        &mut *tx,
                        principal,
                        &mut view.row,
                        ItemStatus::AwaitingApproval,
                        now,
                        "item.await_approval",
                        after,
                    )?;
                    tx.commit()?;
                }
                return Err(AppError::Conflict(if approved.is_empty() {
                    format!(
                        "item {id} needs a second person's approval before sending (four eyes): `schakel item approve {id}` by an analyst or legal officer other than {}",
                        view.row.created_by
                    )
                } else {
                    format!(
                        "the plan ({}) differs from the approved one; nothing was sent and the item returns for approval",
                        plan.hash
                    )
                }));
            }
        } else if let Some(expected) = expected.filter(|e| *e != plan.hash) {
            return Err(AppError::Conflict(format!(
                "the plan changed since it was shown ({expected}); it is now {}; nothing was sent",
                plan.hash
            )));
        }

        let deliveries = self.enqueue(&mut *tx, principal, &mut view, &plan, now, None)?;
        tx.commit()?;
        Ok(SendReport { plan, deliveries })
    }

    /// Makes every permit of `plan` deliveries (inbox, and email and webhook where usable)
    /// and marks the item sent (or retracted, for a retraction notice), with its audit
    /// entry, in `tx`. `extra` adds to the audit entry.
    pub(crate) fn enqueue(
        &self,
        tx: &mut dyn Tx,
        principal: &Principal,
        view: &mut ItemView,
        plan: &Plan,
        now: jiff::Timestamp,
        extra: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> Result<Vec<(String, OrgSlug, Channel, DeliveryState)>, AppError> {
        let id = view.row.id.clone();
        let id = id.as_str();
        // Delivery ids: one random prefix per sending and a sequence number, so that ids are
        // unique and stable without a system call per delivery.
        let prefix = random_hex(8)?;
        // Most permits of one plan share their decision's text; write each text once.
        let mut texts: std::collections::HashMap<String, std::rc::Rc<str>> =
            std::collections::HashMap::new();
        let decisions: Vec<std::rc::Rc<str>> = plan
            .permits
            .iter()
            .map(|p| {
                let key = crate::plan::decision_key(p.permit.decision());
                std::rc::Rc::clone(texts.entry(key).or_insert_with(|| {
                    crate::plan::stored_decision(p.permit.decision())
                        .to_string()
                        .into()
                }))
            })
            .collect();
        let mut queued: Vec<NewDelivery<'_>> = Vec::new();
        for (planned, decision) in plan.permits.iter().zip(&decisions) {
            for channel in &planned.channels {
                let Some(state) = channel.enqueued() else {
                    continue;
                };
                queued.push(NewDelivery {
                    permit: &planned.permit,
                    id: format!("dlv_{prefix}{:06}", queued.len()),
                    item_id: id,
                    version: view.row.version,
                    channel: channel.channel,
                    address: channel.address.as_deref(),
                    plan_hash: &plan.hash,
                    decision,
                    state,
                    next_attempt_at: (state == DeliveryState::Pending).then_some(now),
                    note: channel.note.as_deref(),
                    created_at: now,
                });
            }
        }
        tx.insert_deliveries(&queued)?;
        let deliveries: Vec<(String, OrgSlug, Channel, DeliveryState)> = queued
            .into_iter()
            .map(|d| (d.id, d.permit.recipient().clone(), d.channel, d.state))
            .collect();
        let status = if view.row.retraction == Some(view.row.version) {
            ItemStatus::Retracted
        } else {
            ItemStatus::Sent
        };
        let mut after = json!({
            "version": view.row.version,
            "plan_hash": plan.hash,
            "at": plan.at.to_string(),
            "rulebook": plan.rulebook,
            "plan": plan_summary(plan),
            // The deliveries are `dlv_` + this prefix + a six-digit sequence number, in the
            // order of the plan's permits and each permit's enqueued channels.
            "deliveries": {"prefix": prefix, "count": deliveries.len()},
        });
        if let (Some(obj), Some(more)) = (after.as_object_mut(), extra) {
            obj.extend(more);
        }
        set_status(
            &mut *tx,
            principal,
            &mut view.row,
            status,
            now,
            "item.send",
            after,
        )?;
        Ok(deliveries)
    }
}

/// Changes an item's status and records it, with `after` (a JSON object) completed by the
/// new status.
pub(crate) fn set_status(
    tx: &mut dyn Tx,
    principal: &Principal,
    row: &mut ItemRow,
    status: ItemStatus,
    at: jiff::Timestamp,
    action: &str,
    mut after: serde_json::Value,
) -> Result<(), AppError> {
    let before = row.status;
    row.status = status;
    row.updated_at = at;
    tx.put_item(row)?;
    if let Some(obj) = after.as_object_mut() {
        obj.insert("status".into(), json!(status.as_str()));
    }
    tx.append_audit(NewAuditEntry {
        at,
        actor: principal.actor(),
        action: action.into(),
        subject: format!("item:{}", row.id),
        before: Some(json!({"status": before.as_str()})),
        after: Some(after),
    })?;
    Ok(())
}

/// A plan as recorded in the audit log: references only (slugs and rule ids). Recipients
/// with the same bases, route, conditions and channels are listed together (a general
/// item to 10,000 entities makes a few groups, not 10,000 entries); denies are grouped by
/// their reasons. Recipients are in slug order, the order deliveries were numbered in.
fn plan_summary(plan: &Plan) -> serde_json::Value {
    let mut permits: Vec<(serde_json::Value, Vec<&str>)> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for p in &plan.permits {
        let d = p.permit.decision();
        let key = json!({
            "bases": d.bases.iter().map(|b| b.rule.as_ref()).collect::<Vec<_>>(),
            "route": d.route.as_ref().map(|r| r.kind.as_str()),
            "on_behalf_of": d.route.as_ref().map(|r| r.on_behalf_of.iter().map(OrgSlug::as_str).collect::<Vec<_>>()),
            "conditions": d.conditions.iter().map(AsRef::as_ref).collect::<Vec<&str>>(),
            "channels": p.channels.iter().filter(|c| c.enqueued().is_some()).map(|c| c.channel.as_str()).collect::<Vec<_>>(),
        });
        match index
            .get(&key.to_string())
            .and_then(|i| permits.get_mut(*i))
        {
            Some((_, recipients)) => recipients.push(d.recipient.as_str()),
            None => {
                index.insert(key.to_string(), permits.len());
                permits.push((key, vec![d.recipient.as_str()]));
            }
        }
    }
    let mut denies: Vec<(serde_json::Value, Vec<&str>)> = Vec::new();
    index.clear();
    for d in &plan.denies {
        let key = json!(
            d.reasons
                .iter()
                .map(|r| r.rule.rule.as_ref())
                .collect::<Vec<_>>()
        );
        match index.get(&key.to_string()).and_then(|i| denies.get_mut(*i)) {
            Some((_, recipients)) => recipients.push(d.recipient.as_str()),
            None => {
                index.insert(key.to_string(), denies.len());
                denies.push((key, vec![d.recipient.as_str()]));
            }
        }
    }
    let permits: Vec<serde_json::Value> = permits
        .into_iter()
        .map(|(mut key, recipients)| {
            if let Some(obj) = key.as_object_mut() {
                obj.insert("recipients".into(), json!(recipients));
            }
            key
        })
        .collect();
    let denies: Vec<serde_json::Value> = denies
        .into_iter()
        .map(|(reasons, recipients)| json!({"reasons": reasons, "recipients": recipients}))
        .collect();
    json!({"permits": permits, "denies": denies})
}
