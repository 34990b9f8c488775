//! Sending a feed run: the run recorded, the notified rows of every organisation some
//! message carries, and one item per message (recipient × report type), pinned to its
//! recipient so that no plan of it ever proposes anyone else. Under the report type's
//! standing approval (given by someone other than the person running the feed) the items
//! are sent in the same transaction, with that run's plan (RULEBOOK.md "Routing");
//! otherwise they wait for a second person's approval like any item. Only what was sent is
//! remembered for de-duplication, after the transaction committed.

use std::collections::{BTreeSet, HashMap};

use schakel_domain::{Date, ItemStatus, OrgSlug, Principal, Tlp, day_start};
use schakel_feeds::{Ingested, PROGRESS_EVERY, ReportType, Resolver, SeenState};
use schakel_formats::feed::{
    FeedKeptRunRecord, FeedMessageStateRecord, FeedPurgeRecord, FeedPurgedRunRecord,
    FeedRunDetailRecord, FeedRunRecord, FeedSectionRecord, FeedSummaryRecord,
};
use schakel_formats::item::{MAX_TITLE, ParsedItem, parse_item};
use schakel_store::{
    DeliveryQuery, FeedInputRow, FeedMessageRow, FeedRowRow, FeedRunRow, NewAuditEntry, Tx,
};
use serde_json::json;

use crate::access::{Action, require, require_recipient};
use crate::feeds::{FeedProgress, Message, Messages, live_approval};
use crate::items::set_status;
use crate::plan::{PlanInput, make_plan};
use crate::tokens::random_hex;
use crate::{App, AppError};

/// At most this many organisations are listed by name in a message's text (all have
/// their section and attachment).
const LISTED: usize = 200;

/// The item kind of a report type: STIX and MISP carry indicators; Shadowserver's
/// `vulnerable` class is about vulnerabilities, `information-gathering` about threats, the
/// rest (compromised hosts, abuse) about incidents.
fn item_kind(report: &ReportType, format: Option<&str>) -> &'static str {
    match (format, report.taxonomy.as_str()) {
        (Some("stix" | "misp"), _) => "indicators",
        (_, "vulnerable") => "vulnerability",
        (_, "information-gathering") => "threat",
        _ => "incident",
    }
}

/// The text of a message: what it is, and each organisation's events.
fn message_body(report: &ReportType, m: &Message, run_id: &str) -> String {
    let mut body = format!(
        "{} (`{}`), feed run {run_id}.\n\nEvents after de-duplication, per organisation / Gebeurtenissen na ontdubbeling, per organisatie:\n\n",
        report.name, report.report
    );
    for (org, n) in m.organisations.iter().take(LISTED) {
        body.push_str(&format!("- {org}: {n}\n"));
    }
    if m.organisations.len() > LISTED {
        body.push_str(&format!(
            "- … and {} more organisations / en nog {} organisaties\n",
            m.organisations.len() - LISTED,
            m.organisations.len() - LISTED
        ));
    }
    body.push_str(
        "\nEach organisation's rows, with every column of the source, are attached as CSV and JSON, and can be fetched from your inbox entry: GET /api/v1/inbox/{id}/rows?member=<organisation>[&format=csv].\n\nDe regels per organisatie, met alle kolommen van de bron, zijn bijgevoegd als CSV en JSON, en op te halen bij uw inbox-bericht.\n",
    );
    body
}

/// The item that is one message.
fn message_item(
    vocabulary: &schakel_domain::SectorVocabulary,
    report: &ReportType,
    format: Option<&str>,
    m: &Message,
    run_id: &str,
) -> Result<ParsedItem, AppError> {
    let title: String = format!(
        "{} ({}): {} event(s) at {} organisation(s)",
        report.name,
        report.report,
        m.events,
        m.organisations.len()
    )
    .chars()
    .take(MAX_TITLE)
    .collect();
    let value = json!({
        "kind": item_kind(report, format),
        "title": title,
        "body": message_body(report, m, run_id),
        "tlp": m.tlp.as_str(),
        "concerns": m.organisations.keys().map(OrgSlug::as_str).collect::<Vec<_>>(),
        "confidentiality_markers": m.markers.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "purpose": m.purpose.as_str(),
        "serious": m.serious,
        "source": format!("feed {run_id}: {}", report.report),
    });
    parse_item(value, vocabulary).map_err(|i| AppError::from_issues("item", i))
}

/// What rows a delivery of an item carries.
pub(crate) enum Carried {
    /// None: the item is not a feed message, or was retracted (the notice withdraws the
    /// rows: it does not send them again, and the inbox no longer serves them).
    Nothing,
    /// The rows of this message.
    Rows(FeedMessageRow),
    /// The message's rows were deleted under the retention policy, at this time.
    Purged(jiff::Timestamp),
}

/// What rows a delivery of `item_id` carries.
pub(crate) fn carried_message(tx: &mut dyn Tx, item_id: &str) -> Result<Carried, AppError> {
    let Some(message) = tx.feed_message(item_id)? else {
        return Ok(Carried::Nothing);
    };
    if tx
        .item(item_id)?
        .is_some_and(|row| row.retraction.is_some())
    {
        return Ok(Carried::Nothing);
    }
    Ok(
        match tx.feed_run(&message.run_id)?.and_then(|r| r.rows_purged_at) {
            Some(at) => Carried::Purged(at),
            None => Carried::Rows(message),
        },
    )
}

/// The organisations whose rows a delivery of a feed message carries: those the message
/// was made with that the delivered version still concerns (a correction may drop some,
/// never add).
pub(crate) fn carried_organisations<'m>(
    message: &'m FeedMessageRow,
    concerns: &[OrgSlug],
) -> Vec<&'m OrgSlug> {
    message
        .organisations
        .iter()
        .filter(|o| concerns.contains(o))
        .collect()
}

/// The sections of a feed message for `organisations`: each one's rows, with the union of
/// its inputs' columns; `page` is (limit, offset) per organisation.
pub(crate) fn message_sections(
    tx: &mut dyn Tx,
    message: &FeedMessageRow,
    organisations: &[&OrgSlug],
    (limit, offset): (u64, u64),
) -> Result<Vec<FeedSectionRecord>, AppError> {
    let inputs = tx.feed_inputs(&message.run_id)?;
    let mut sections = Vec::new();
    for &org in organisations {
        let (rows, total) = tx.feed_rows(
            &message.run_id,
            &message.report,
            message.tlp,
            org,
            limit,
            offset,
        )?;
        let used: BTreeSet<u32> = rows.iter().map(|r| r.input).collect();
        let mut columns: Vec<String> = Vec::new();
        let mut place: HashMap<(u32, usize), usize> = HashMap::new();
        for input in inputs.iter().filter(|i| used.contains(&i.input)) {
            for (c, name) in input.columns.iter().enumerate() {
                let at = columns.iter().position(|x| x == name).unwrap_or_else(|| {
                    columns.push(name.clone());
                    columns.len() - 1
                });
                place.insert((input.input, c), at);
            }
        }
        let rows = rows
            .iter()
            .map(|r| {
                let values: Vec<String> = serde_json::from_str(&r.values).map_err(|e| {
                    AppError::Internal(format!(
                        "feed run {} row {} is stored unreadably: {e}",
                        r.run_id, r.event
                    ))
                })?;
                let mut out = vec![String::new(); columns.len()];
                for (c, v) in values.into_iter().enumerate() {
                    if let Some(slot) = place.get(&(r.input, c)).and_then(|i| out.get_mut(*i)) {
                        *slot = v;
                    }
                }
                Ok(out)
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        sections.push(FeedSectionRecord {
            organisation: org.to_string(),
            report: message.report.clone(),
            columns,
            rows,
            total,
        });
    }
    Ok(sections)
}

/// A run as listed: where its messages stand now (not when it ran).
fn run_record(tx: &mut dyn Tx, run: &FeedRunRow) -> Result<FeedRunRecord, AppError> {
    let progress = tx.feed_run_progress(&run.id)?;
    Ok(FeedRunRecord {
        id: run.id.clone(),
        run_by: run.run_by.clone(),
        started_at: run.started_at.to_string(),
        reports: run.reports.clone(),
        rows: run.rows,
        sent: progress.count(ItemStatus::Sent),
        awaiting_approval: progress.count(ItemStatus::Draft)
            + progress.count(ItemStatus::AwaitingApproval)
            + progress.count(ItemStatus::Approved),
        retracted: progress.count(ItemStatus::Retracted),
        undelivered: progress.undelivered,
    })
}

impl App {
    /// Records and sends a run (see the module's text); fills in the summary's run, each
    /// message's item, status and deliveries, and warnings.
    #[expect(
        clippy::too_many_arguments,
        reason = "the run's parts, each from a different stage"
    )]
    pub(crate) fn send_feed(
        &self,
        principal: &Principal,
        ingested: Ingested,
        messages: &Messages,
        tlps: &[Tlp],
        resolver: &Resolver,
        state: Option<&SeenState>,
        (day, window): (u32, u32),
        summary: &mut FeedSummaryRecord,
        progress: &mut dyn FnMut(FeedProgress),
    ) -> Result<(), AppError> {
        let now = self.clock.now();
        let today = self.clock.today();
        let run_id = format!("run_{}", random_hex(8)?);
        let Ingested {
            files,
            reports,
            aggregates,
            dedup,
            rows_kept,
            ..
        } = ingested;
        let orgs = resolver.organisations();
        let mut tx = self.store.write()?;
        let registry = self.registry_in(&mut *tx)?;
        let (with_token, with_webhook_secret) = self.channel_holders(&mut *tx)?;
        // Read in this transaction: an approval revoked since planning does not send.
        let approvals = tx.standing_approvals()?;
        let mut report_names: Vec<String> = reports.iter().map(|r| r.report.clone()).collect();
        report_names.sort();
        tx.insert_feed_run(&FeedRunRow {
            id: run_id.clone(),
            run_by: principal.name.clone(),
            started_at: now,
            reports: report_names,
            rows: summary.rows,
            rows_purged_at: None,
        })?;

        // The rows of every organisation some message carries, each under the TLP its
        // message travels under; no others are kept.
        let carried: BTreeSet<(&OrgSlug, usize, Tlp)> = messages
            .iter()
            .flat_map(|((_, report, tlp), m)| {
                m.organisations.keys().map(move |o| (o, *report, *tlp))
            })
            .collect();
        let wanted: Vec<Option<(&OrgSlug, &ReportType, Tlp)>> = aggregates
            .iter()
            .zip(tlps)
            .map(|(a, tlp)| {
                let org = orgs.get(a.organisation as usize)?;
                let report = reports.get(usize::from(a.report))?;
                carried
                    .contains(&(org, usize::from(a.report), *tlp))
                    .then_some((org, report, *tlp))
            })
            .collect();
        if let Some(kept) = &rows_kept {
            for (i, columns) in kept.columns().iter().enumerate() {
                tx.insert_feed_input(&FeedInputRow {
                    run_id: run_id.clone(),
                    input: u32::try_from(i).unwrap_or(u32::MAX),
                    path: files.get(i).map(|f| f.path.clone()).unwrap_or_default(),
                    columns: columns.clone(),
                })?;
            }
            let mut stored = 0u64;
            kept.for_each(|row| -> Result<(), AppError> {
                if let Some(Some((org, report, tlp))) = wanted.get(row.aggregate as usize) {
                    stored += 1;
                    if stored.is_multiple_of(PROGRESS_EVERY) {
                        progress(FeedProgress::Stored(stored));
                    }
                    tx.insert_feed_row(&FeedRowRow {
                        run_id: run_id.clone(),
                        report: report.report.clone(),
                        tlp: Some(*tlp),
                        organisation: (*org).clone(),
                        event: row.event,
                        input: row.input,
                        values: row.values.to_owned(),
                    })?;
                }
                Ok(())
            })?;
        }

        let mut notified: BTreeSet<(OrgSlug, usize, Tlp)> = BTreeSet::new();
        let (mut sent, mut awaiting) = (0u64, 0u64);
        let total = messages.len() as u64;
        for (done, (((recipient, report_index, tlp), m), record)) in messages
            .iter()
            .zip(summary.permitted.iter_mut())
            .enumerate()
        {
            if done.is_multiple_of(64) {
                progress(FeedProgress::Messages {
                    done: done as u64,
                    total,
                });
            }
            let Some(report) = reports.get(*report_index) else {
                continue;
            };
            let format = files
                .iter()
                .find(|f| f.report == report.report)
                .map(|f| f.format);
            let item = message_item(&self.vocabulary, report, format, m, &run_id)?;
            let only = BTreeSet::from([recipient.clone()]);
            let mut plan = make_plan(
                &self.rulebooks,
                &registry,
                &PlanInput {
                    item_id: "",
                    version: 1,
                    facts: &item.facts,
                    sectors: &item.sectors,
                    at: today,
                    with_token: &with_token,
                    with_webhook_secret: &with_webhook_secret,
                    only: Some(&only),
                },
            )?;
            if plan.permits.is_empty() {
                // Each section was permitted on its own; the message as a whole is not.
                record.status = Some("refused".into());
                summary.warnings.push(format!(
                    "the message to {recipient} about {} was permitted per organisation but not as a whole; nothing was made of it (`schakel decide` with all its organisations shows why)",
                    report.report
                ));
                continue;
            }
            // An earlier run's message to this recipient about this report that was never
            // sent is stale now: withdrawn, so that a late approval cannot send it.
            for older in tx.feed_messages_to(recipient, &report.report, Some(*tlp))? {
                let Some(mut row) = tx.item(&older.item_id)? else {
                    continue;
                };
                if matches!(
                    row.status,
                    ItemStatus::Draft | ItemStatus::AwaitingApproval | ItemStatus::Approved
                ) {
                    set_status(
                        &mut *tx,
                        principal,
                        &mut row,
                        ItemStatus::Retracted,
                        now,
                        "item.retract",
                        json!({
                            "notices": false,
                            "reason": format!("superseded by feed run {run_id}, never sent"),
                        }),
                    )?;
                    record.supersedes.push(older.item_id);
                }
            }
            let mut view = self.insert_item(&mut *tx, principal, item)?;
            plan.item_id.clone_from(&view.row.id);
            tx.insert_feed_message(&FeedMessageRow {
                item_id: view.row.id.clone(),
                run_id: run_id.clone(),
                recipient: recipient.clone(),
                report: report.report.clone(),
                tlp: Some(*tlp),
                organisations: m.organisations.keys().cloned().collect(),
                events: m.events,
            })?;
            record.item = Some(view.row.id.clone());
            let standing = live_approval(&approvals, &report.report)
                .filter(|a| a.approved_by != principal.name);
            match standing {
                Some(a) => {
                    let deliveries = self.enqueue(
                        &mut *tx,
                        principal,
                        &mut view,
                        &plan,
                        now,
                        json!({
                            "feed_run": run_id,
                            "standing_approval": {
                                "report": a.report,
                                "approved_by": a.approved_by,
                                "approved_at": a.approved_at.to_string(),
                            },
                        })
                        .as_object()
                        .cloned(),
                    )?;
                    record.status = Some("sent".into());
                    record.deliveries = Some(deliveries.len() as u64);
                    sent += 1;
                    notified.extend(
                        m.organisations
                            .keys()
                            .map(|o| (o.clone(), *report_index, *tlp)),
                    );
                }
                None => {
                    set_status(
                        &mut *tx,
                        principal,
                        &mut view.row,
                        ItemStatus::AwaitingApproval,
                        now,
                        "item.await_approval",
                        json!({
                            "plan_hash": plan.hash,
                            "feed_run": run_id,
                            "reason": "no standing approval of this report type by someone other than the person running the feed",
                        }),
                    )?;
                    record.status = Some("awaiting_approval".into());
                    record.deliveries = Some(0);
                    awaiting += 1;
                }
            }
        }
        summary.run = Some(run_id.clone());
        tx.append_audit(NewAuditEntry {
            at: now,
            actor: principal.actor(),
            action: "feed.ingest".into(),
            subject: format!("feed-run:{run_id}"),
            before: None,
            after: Some(json!({
                "files": summary.files,
                "rows": summary.rows,
                "malformed": summary.malformed,
                "resolved": summary.resolved,
                "unresolved": summary.unresolved,
                "deduplicated": summary.deduplicated,
                "window_days": window,
                "messages": {
                    "sent": sent,
                    "awaiting_approval": awaiting,
                    "denied": summary.notifications.denied,
                },
            })),
        })?;
        let stored = serde_json::to_value(&*summary)
            .map_err(|e| AppError::Internal(format!("cannot write the run's summary: {e}")))?;
        tx.update_feed_run_summary(&run_id, &stored)?;
        tx.commit()?;

        // Remembered only once the deliveries are durable: a crash before this notifies
        // again (never loses a notification).
        match state {
            Some(state) => {
                let flags: Vec<bool> = aggregates
                    .iter()
                    .zip(tlps)
                    .map(|(a, tlp)| {
                        orgs.get(a.organisation as usize).is_some_and(|o| {
                            notified.contains(&(o.clone(), usize::from(a.report), *tlp))
                        })
                    })
                    .collect();
                if let Err(e) = dedup.remember(state, &flags, day, window) {
                    summary.warnings.push(format!(
                        "the run was sent, but the de-duplication state was not updated ({e}); a run within the window may notify these hosts again"
                    ));
                }
            }
            None => summary.warnings.push(
                "no de-duplication state is kept (no state directory): every run notifies every host again".into(),
            ),
        }
        Ok(())
    }

    /// Retention: deletes the rows (and inputs' columns) of every feed run that started
    /// before `before` (midnight in Amsterdam) and is done with them: every message sent
    /// or retracted, no delivery pending or held. The runs, their messages and items stay;
    /// the inbox then answers that the rows were deleted, and a delivery requeued later is
    /// held rather than sent without them. Legal officers (and admins); audited.
    pub fn purge_feed_rows(
        &self,
        principal: &Principal,
        before: Date,
    ) -> Result<FeedPurgeRecord, AppError> {
        require(principal, Action::PurgeFeedRows)?;
        let cutoff = day_start(before).map_err(|e| AppError::field("before", e.0))?;
        let now = self.clock.now();
        let mut tx = self.store.write()?;
        let (runs, _) = tx.feed_runs(u64::MAX >> 1, 0)?;
        let mut record = FeedPurgeRecord {
            before: before.to_string(),
            purged: Vec::new(),
            kept: Vec::new(),
        };
        for run in runs
            .iter()
            .filter(|r| r.started_at < cutoff && r.rows_purged_at.is_none())
        {
            let progress = tx.feed_run_progress(&run.id)?;
            let unsent: Vec<String> = progress
                .by_status
                .iter()
                .filter(|(s, _)| !matches!(s, ItemStatus::Sent | ItemStatus::Retracted))
                .map(|(s, n)| format!("{n} message(s) {s}"))
                .collect();
            let mut reasons = unsent;
            if progress.undelivered > 0 {
                reasons.push(format!(
                    "{} message(s) with a delivery pending or held",
                    progress.undelivered
                ));
            }
            if !reasons.is_empty() {
                record.kept.push(FeedKeptRunRecord {
                    run: run.id.clone(),
                    reason: reasons.join("; "),
                });
            } else {
                let rows = tx.purge_feed_rows(&run.id, now)?;
                record.purged.push(FeedPurgedRunRecord {
                    run: run.id.clone(),
                    started_at: run.started_at.to_string(),
                    rows,
                });
            }
        }
        tx.append_audit(NewAuditEntry {
            at: now,
            actor: principal.actor(),
            action: "feed.purge".into(),
            subject: "feed-runs".into(),
            before: None,
            after: Some(json!(record)),
        })?;
        tx.commit()?;
        Ok(record)
    }

    /// Feed runs, newest first. Staff only.
    pub fn feed_runs(
        &self,
        principal: &Principal,
        limit: u64,
        offset: u64,
    ) -> Result<(Vec<FeedRunRecord>, u64), AppError> {
        require(principal, Action::ReadFeedRuns)?;
        let mut tx = self.store.read()?;
        let (runs, total) = tx.feed_runs(limit, offset)?;
        let records = runs
            .iter()
            .map(|run| run_record(&mut *tx, run))
            .collect::<Result<_, _>>()?;
        Ok((records, total))
    }

    /// One feed run: each message with its item's status and whether its deliveries went
    /// out and were acknowledged, and the summary as recorded. Staff only.
    pub fn feed_run(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<FeedRunDetailRecord, AppError> {
        require(principal, Action::ReadFeedRuns)?;
        let mut tx = self.store.read()?;
        let run = tx
            .feed_run(id)?
            .ok_or_else(|| AppError::NotFound(format!("no feed run `{id}`")))?;
        let mut messages = Vec::new();
        for m in tx.feed_messages(id)? {
            let status = tx
                .item(&m.item_id)?
                .map_or_else(|| "missing".to_owned(), |i| i.status.as_str().to_owned());
            let (deliveries, _) = tx.find_deliveries(&DeliveryQuery {
                item_id: Some(m.item_id.clone()),
                limit: u64::MAX >> 1,
                ..DeliveryQuery::default()
            })?;
            let latest = deliveries.iter().map(|d| d.version).max();
            let current: Vec<_> = deliveries
                .iter()
                .filter(|d| {
                    Some(d.version) == latest && !d.id.ends_with(crate::deliver::REMINDER_SUFFIX)
                })
                .collect();
            messages.push(FeedMessageStateRecord {
                item: m.item_id.clone(),
                status,
                recipient: m.recipient.to_string(),
                report: m.report.clone(),
                tlp: m.tlp.map(|t| t.as_str().to_owned()).unwrap_or_default(),
                organisations: m.organisations.iter().map(ToString::to_string).collect(),
                events: m.events,
                deliveries: current
                    .iter()
                    .map(|d| (d.channel.as_str().to_owned(), d.state.as_str().to_owned()))
                    .collect(),
                acknowledged_at: current
                    .iter()
                    .find_map(|d| d.acknowledged_at)
                    .map(|t| t.to_string()),
            });
        }
        let summary: FeedSummaryRecord =
            serde_json::from_value(tx.feed_run_summary(id)?.unwrap_or_default()).map_err(|e| {
                AppError::Internal(format!("feed run {id}: its summary is unreadable: {e}"))
            })?;
        Ok(FeedRunDetailRecord {
            run: run_record(&mut *tx, &run)?,
            rows_purged_at: run.rows_purged_at.map(|t| t.to_string()),
            messages,
            summary,
        })
    }

    /// The rows a feed message in the caller's inbox carries: per organisation it has a
    /// section for (or only `member`), a page of rows. Recipient tokens only; another
    /// organisation's delivery answers 404.
    pub fn inbox_rows(
        &self,
        principal: &Principal,
        delivery: &str,
        member: Option<&str>,
        limit: u64,
        offset: u64,
    ) -> Result<Vec<FeedSectionRecord>, AppError> {
        let org = require_recipient(principal)?;
        let member = member
            .map(|m| OrgSlug::parse(m).map_err(|e| AppError::field("member", e.0)))
            .transpose()?;
        let mut tx = self.store.read()?;
        let d = crate::inbox::own_delivery(&mut *tx, org, delivery)?;
        let message = match carried_message(&mut *tx, &d.item_id)? {
            Carried::Rows(message) => message,
            Carried::Nothing => {
                return Err(AppError::NotFound(format!(
                    "delivery `{delivery}` carries no feed rows"
                )));
            }
            Carried::Purged(at) => {
                return Err(AppError::NotFound(format!(
                    "the rows of delivery `{delivery}` were deleted at {at} under the centre's retention policy"
                )));
            }
        };
        let concerns = self.delivered_item(&mut *tx, &d)?.facts.concerns;
        let mut carried = carried_organisations(&message, &concerns);
        if let Some(m) = &member {
            if !carried.contains(&m) {
                return Err(AppError::field(
                    "member",
                    format!(
                        "this delivery has no rows of `{m}`; it has rows of: {}",
                        carried
                            .iter()
                            .map(|o| o.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            carried.retain(|o| *o == m);
        }
        message_sections(&mut *tx, &message, &carried, (limit, offset))
    }
}
