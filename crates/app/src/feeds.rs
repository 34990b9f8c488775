//! Bulk feeds: one streaming pass over scan and abuse reports, every event resolved to the
//! organisation owning it, and the notifications this gives — planned by the same
//! candidates (RULEBOOK.md "Routing") and decided by the same rulebook as any item. A
//! linking organisation or crisis team gets one message per report type, with a section
//! for each member it serves whose events it may receive, and nothing about the others.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

use schakel_domain::{ConfidentialityMarker, OrgSlug, Principal, Purpose, SourceRestriction, Tlp};
use schakel_feeds::{
    FactsTable, FeedError, Format, Ingest, Ingested, Mapping, ReportTable, ReportType, Resolver,
    SeenState, report_from_file_name,
};
use schakel_formats::feed::{
    FeedDenyRecord, FeedFileRecord, FeedNotificationRecord, FeedSummaryRecord, MalformedLineRecord,
    NotificationCounts, StandingApprovalRecord, StandingApprovalUse,
};
use schakel_rulebook::{DecisionRequest, ItemFacts, Verdict};
use schakel_store::{NewAuditEntry, StandingApprovalRow};
use serde_json::json;

use crate::access::{Action, require};
use crate::plan::candidates;
use crate::{App, AppError};

/// One input.
pub struct FeedInput {
    /// As given (`-` for standard input); a Shadowserver file's name gives its report type.
    pub path: String,
    /// Its format.
    pub format: Format,
    /// The bytes.
    pub reader: Box<dyn Read + Send>,
}

/// How a run goes.
#[derive(Debug, Clone, Default)]
pub struct FeedOptions {
    /// The report type of every input (overrides the file name).
    pub report: Option<String>,
    /// A generic CSV's mapping.
    pub mapping: Option<Mapping>,
    /// Shadowserver's schema (`intelmq.json` format) updating the built-in table.
    pub shadowserver_schema: Option<String>,
    /// Read and plan, change nothing.
    pub plan_only: bool,
    /// Days a notified host and issue is not notified again.
    pub window_days: u32,
    /// Where the de-duplication state lives (default: the application's, beside the
    /// database; none at all: no state across runs).
    pub state_dir: Option<PathBuf>,
}

/// How far a run is, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedProgress {
    /// Records read so far.
    Read(u64),
    /// Rows of notified organisations written to the store so far (a run that sends).
    Stored(u64),
    /// Messages made into items and sent or queued for approval, of all.
    Messages {
        /// Done.
        done: u64,
        /// In all.
        total: u64,
    },
}

/// The default de-duplication window, in days.
pub const DEFAULT_WINDOW_DAYS: u32 = 7;

impl From<FeedError> for AppError {
    fn from(e: FeedError) -> Self {
        match e {
            FeedError::Schema(m) | FeedError::Input(m) => AppError::field("input", m),
            FeedError::Io(m) => AppError::Internal(m),
        }
    }
}

/// Messages by recipient, report type (index into the run's report types) and TLP: rows
/// under different TLPs never travel in one message, so that none leaves under a laxer
/// TLP than its source gave.
pub(crate) type Messages = BTreeMap<(OrgSlug, usize, Tlp), Message>;
/// Denied notifications by recipient, report type, TLP and reasons: the organisations
/// they were about and the remedies.
type Denied = BTreeMap<(OrgSlug, usize, Tlp, Vec<String>), (BTreeSet<OrgSlug>, BTreeSet<String>)>;

/// One message being put together: to one recipient, about one report type, under one
/// TLP.
pub(crate) struct Message {
    pub(crate) route_via: bool,
    /// The organisations it has a section for, with their events after de-duplication.
    pub(crate) organisations: BTreeMap<OrgSlug, u64>,
    pub(crate) events: u64,
    pub(crate) bases: BTreeSet<String>,
    pub(crate) conditions: BTreeSet<String>,
    pub(crate) serious: bool,
    pub(crate) tlp: Tlp,
    pub(crate) markers: Vec<ConfidentialityMarker>,
    pub(crate) purpose: Purpose,
}

impl App {
    /// Runs a feed: reads every input in one streaming pass, resolves, de-duplicates
    /// (against the state of earlier runs) and plans the notifications. Unless `plan_only`,
    /// it then sends them: one item per message, pinned to its recipient and carrying the
    /// rows of the organisations it has a section for; sent under the report type's
    /// standing approval, else left for a second person's approval. What was sent is
    /// remembered for de-duplication. Analysts only.
    pub fn ingest_feed(
        &self,
        principal: &Principal,
        inputs: Vec<FeedInput>,
        options: &FeedOptions,
        progress: &mut dyn FnMut(FeedProgress),
    ) -> Result<FeedSummaryRecord, AppError> {
        require(principal, Action::IngestFeeds)?;
        let started = Instant::now();
        let today = self.clock.today();
        let registry = self.registry()?;
        let resolver = Resolver::new(&registry, today);
        let mut table = ReportTable::shadowserver()?;
        if let Some(schema) = &options.shadowserver_schema {
            table.merge_intelmq(schema)?;
        }
        let facts_table = FactsTable::builtin()?;
        let mut ingest = Ingest::new(&resolver);
        ingest.max_field(self.feed_max_field);
        let sends = !options.plan_only;
        if sends {
            ingest.keep_rows()?;
        }
        let mut read = |n: u64| progress(FeedProgress::Read(n));
        for input in inputs {
            let report = self.report_type(&table, &input, options)?;
            match input.format {
                Format::Shadowserver => ingest.csv(
                    &input.path,
                    input.format,
                    &report,
                    b',',
                    input.reader,
                    &mut read,
                ),
                Format::Csv => {
                    let delimiter = options.mapping.as_ref().map_or(b',', |m| m.delimiter);
                    ingest.csv(
                        &input.path,
                        input.format,
                        &report,
                        delimiter,
                        input.reader,
                        &mut read,
                    )
                }
                Format::Stix => ingest.stix(&input.path, &report, input.reader),
                Format::Misp => ingest.misp(&input.path, &report, input.reader),
            }?;
        }
        let epoch_day = |d: schakel_domain::Date| {
            u32::try_from((d - jiff::civil::date(1970, 1, 1)).get_days()).unwrap_or(0)
        };
        let state = options
            .state_dir
            .as_deref()
            .or(self.feed_state.as_deref())
            .map(SeenState::new);
        // A run that sends holds the state from reading it to remembering what it sent.
        let _held = match (&state, sends) {
            (Some(state), true) => Some(state.lock()?),
            _ => None,
        };
        let ingested =
            ingest.finish(state.as_ref(), epoch_day(today), options.window_days, sends)?;
        let (messages, denied, tlps) =
            self.plan_notifications(&registry, &resolver, &ingested, &facts_table, today)?;
        let approvals = {
            let mut tx = self.store.read()?;
            tx.standing_approvals()?
        };
        let mut summary = summary(
            &ingested,
            &resolver,
            &messages,
            &denied,
            options.plan_only,
            started,
        );
        summary.standing_approvals = ingested
            .reports
            .iter()
            .map(|r| {
                let live = live_approval(&approvals, &r.report).map(|a| StandingApprovalUse {
                    approved_by: a.approved_by.clone(),
                    approved_at: a.approved_at.to_string(),
                    covers_this_run: a.approved_by != principal.name,
                });
                (r.report.clone(), live)
            })
            .collect();
        if sends {
            self.send_feed(
                principal,
                ingested,
                &messages,
                &tlps,
                &resolver,
                state.as_ref(),
                (epoch_day(today), options.window_days),
                &mut summary,
                progress,
            )?;
            summary.seconds = started.elapsed().as_secs_f64();
        }
        Ok(summary)
    }

    /// Gives a standing approval of a feed report type: its notifications may then be
    /// sent without a second person approving each run, provided the person running the
    /// feed is not the one who approved. An analyst or legal officer; recorded in the
    /// audit log. A report type has at most one live standing approval.
    pub fn approve_feed_report(
        &self,
        principal: &Principal,
        report: &str,
        note: Option<&str>,
    ) -> Result<StandingApprovalRecord, AppError> {
        require(principal, Action::StandingApprovals)?;
        let report = report.trim();
        if report.is_empty() || report.contains(char::is_whitespace) {
            return Err(AppError::field(
                "report",
                "give one report type, such as scan_http",
            ));
        }
        let mut tx = self.store.write()?;
        if let Some(live) = live_approval(&tx.standing_approvals()?, report) {
            return Err(AppError::Conflict(format!(
                "`{report}` has a standing approval already, by {} at {}; revoke it first",
                live.approved_by, live.approved_at
            )));
        }
        let row = StandingApprovalRow {
            report: report.to_owned(),
            approved_by: principal.name.clone(),
            approved_at: self.clock.now(),
            note: note
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned),
            revoked_at: None,
            revoked_by: None,
        };
        tx.insert_standing_approval(&row)?;
        tx.append_audit(NewAuditEntry {
            at: row.approved_at,
            actor: principal.actor(),
            action: "feed.approve".into(),
            subject: format!("feed-report:{report}"),
            before: None,
            after: Some(json!({"report": report, "note": row.note})),
        })?;
        tx.commit()?;
        Ok(approval_record(&row))
    }

    /// Revokes a report type's standing approval. An analyst or legal officer; audited.
    pub fn revoke_feed_report(&self, principal: &Principal, report: &str) -> Result<(), AppError> {
        require(principal, Action::StandingApprovals)?;
        let mut tx = self.store.write()?;
        let now = self.clock.now();
        if !tx.revoke_standing_approval(report, now, &principal.name)? {
            return Err(AppError::NotFound(format!(
                "`{report}` has no standing approval"
            )));
        }
        tx.append_audit(NewAuditEntry {
            at: now,
            actor: principal.actor(),
            action: "feed.revoke".into(),
            subject: format!("feed-report:{report}"),
            before: None,
            after: Some(json!({"report": report})),
        })?;
        tx.commit()?;
        Ok(())
    }

    /// Every standing approval, revoked ones too. Staff only.
    pub fn feed_approvals(
        &self,
        principal: &Principal,
    ) -> Result<Vec<StandingApprovalRecord>, AppError> {
        require(principal, Action::ReadFeedRuns)?;
        let mut tx = self.store.read()?;
        Ok(tx
            .standing_approvals()?
            .iter()
            .map(approval_record)
            .collect())
    }

    fn report_type(
        &self,
        table: &ReportTable,
        input: &FeedInput,
        options: &FeedOptions,
    ) -> Result<ReportType, AppError> {
        match input.format {
            Format::Shadowserver => {
                let name = match (&options.report, report_from_file_name(&input.path)) {
                    (Some(r), _) => r.clone(),
                    (None, Some(r)) => r.to_owned(),
                    (None, None) => {
                        return Err(AppError::field(
                            "report",
                            format!(
                                "`{}` is not named YYYY-MM-DD-<report>-….csv; give the report type with --report",
                                input.path
                            ),
                        ));
                    }
                };
                table.get(&name).cloned().ok_or_else(|| {
                    AppError::field(
                        "report",
                        format!("`{name}` is not a known Shadowserver report type; --shadowserver-schema FILE loads newer ones"),
                    )
                })
            }
            Format::Csv => {
                let mapping = options.mapping.as_ref().ok_or_else(|| {
                    AppError::field("mapping", "a generic CSV needs --mapping FILE")
                })?;
                let mut report = mapping.report.clone();
                if let Some(r) = &options.report {
                    report.report.clone_from(r);
                }
                Ok(report)
            }
            Format::Stix => Ok(ReportType::bare(
                options.report.as_deref().unwrap_or("stix"),
                "malicious-code",
            )),
            Format::Misp => Ok(ReportType::bare(
                options.report.as_deref().unwrap_or("misp"),
                "malicious-code",
            )),
        }
    }

    /// Every organisation's events of a report type become candidates' messages: the
    /// planner's candidates for an item concerning that organisation, each decided by the
    /// rulebook.
    fn plan_notifications(
        &self,
        registry: &schakel_domain::Registry,
        resolver: &Resolver,
        ingested: &Ingested,
        facts_table: &FactsTable,
        today: schakel_domain::Date,
    ) -> Result<(Messages, Denied, Vec<Tlp>), AppError> {
        let mut messages = Messages::new();
        let mut denied = Denied::new();
        // Per aggregate, the TLP its events travel under.
        let mut tlps = Vec::with_capacity(ingested.aggregates.len());
        let facts_of: Vec<_> = ingested
            .reports
            .iter()
            .map(|r| facts_table.facts(r))
            .collect();
        for (i, agg) in ingested.aggregates.iter().enumerate() {
            let facts = facts_of.get(usize::from(agg.report));
            // The source's marking wins; the report type's default is for rows it did not
            // mark.
            let tlp = match (agg.tlp, facts) {
                (Some(tlp), _) => tlp,
                (None, Some(facts)) => {
                    facts.tlp.parse().map_err(|e: schakel_domain::ValueError| {
                        AppError::Internal(format!("notification facts: {e}"))
                    })?
                }
                (None, None) => Tlp::Red,
            };
            tlps.push(tlp);
            let unique = ingested.dedup.unique.get(i).copied().unwrap_or(0);
            if unique == 0 {
                continue;
            }
            let (Some(org), Some(facts)) = (
                resolver.organisations().get(agg.organisation as usize),
                facts,
            ) else {
                continue;
            };
            let item = ItemFacts {
                tlp,
                concerns: vec![org.clone()],
                confidential: false,
                confidentiality_markers: facts
                    .confidentiality_markers
                    .iter()
                    .filter_map(|m| m.parse::<ConfidentialityMarker>().ok())
                    .collect(),
                consent: vec![],
                purpose: facts
                    .purpose
                    .parse::<Purpose>()
                    .unwrap_or(Purpose::PreventDisruption),
                serious: facts.serious.contains(&agg.max_severity),
                personal_data: false,
                national_security: false,
                named_recipients: vec![],
                source_restriction: SourceRestriction::None,
            };
            for recipient in candidates(registry, &item, &[], today) {
                let request = DecisionRequest {
                    at: today,
                    recipient: recipient.clone(),
                    item: item.clone(),
                };
                let verdict = self
                    .rulebooks
                    .verdict(registry, &request)
                    .map_err(|e| AppError::Internal(format!("the rulebook cannot decide: {e}")))?;
                let key = (recipient.clone(), usize::from(agg.report), tlp);
                match verdict {
                    Verdict::Permit(permit) => {
                        let d = permit.decision();
                        let m = messages.entry(key).or_insert_with(|| Message {
                            route_via: false,
                            organisations: BTreeMap::new(),
                            events: 0,
                            bases: BTreeSet::new(),
                            conditions: BTreeSet::new(),
                            serious: false,
                            tlp,
                            markers: item.confidentiality_markers.clone(),
                            purpose: item.purpose,
                        });
                        m.route_via |= d.route.as_ref().is_some_and(|r| !r.on_behalf_of.is_empty());
                        // Another aggregate of this organisation may have settled to the
                        // same TLP: their events add up.
                        *m.organisations.entry(org.clone()).or_default() += unique;
                        m.events += unique;
                        m.bases.extend(d.bases.iter().map(|b| b.rule.to_string()));
                        m.conditions
                            .extend(d.conditions.iter().map(ToString::to_string));
                        m.serious |= item.serious;
                    }
                    Verdict::Deny(d) => {
                        let reasons: Vec<String> =
                            d.reasons.iter().map(|r| r.rule.rule.to_string()).collect();
                        let entry = denied
                            .entry((recipient, usize::from(agg.report), tlp, reasons))
                            .or_default();
                        entry.0.insert(org.clone());
                        entry.1.extend(
                            d.reasons
                                .iter()
                                .filter_map(|r| r.remedy.as_ref().map(|m| m.text.clone())),
                        );
                    }
                }
            }
        }
        Ok((messages, denied, tlps))
    }
}

/// A report type's live standing approval, if it has one.
pub(crate) fn live_approval<'a>(
    approvals: &'a [StandingApprovalRow],
    report: &str,
) -> Option<&'a StandingApprovalRow> {
    approvals
        .iter()
        .find(|a| a.report == report && a.revoked_at.is_none())
}

fn approval_record(a: &StandingApprovalRow) -> StandingApprovalRecord {
    StandingApprovalRecord {
        report: a.report.clone(),
        approved_by: a.approved_by.clone(),
        approved_at: a.approved_at.to_string(),
        note: a.note.clone(),
        revoked_at: a.revoked_at.map(|t| t.to_string()),
        revoked_by: a.revoked_by.clone(),
    }
}

fn summary(
    ingested: &Ingested,
    resolver: &Resolver,
    messages: &Messages,
    denied: &Denied,
    plan_only: bool,
    started: Instant,
) -> FeedSummaryRecord {
    let report_name = |i: usize| {
        ingested
            .reports
            .get(i)
            .map(|r| r.report.clone())
            .unwrap_or_default()
    };
    // A denied message: a recipient, report type and TLP with no permitted section at all.
    let denied_messages: BTreeSet<(&OrgSlug, usize, Tlp)> = denied
        .keys()
        .filter(|(r, rep, tlp, _)| !messages.contains_key(&(r.clone(), *rep, *tlp)))
        .map(|(r, rep, tlp, _)| (r, *rep, *tlp))
        .collect();
    FeedSummaryRecord {
        files: ingested
            .files
            .iter()
            .map(|f| FeedFileRecord {
                path: f.path.clone(),
                format: f.format.to_owned(),
                report: f.report.clone(),
                rows: f.rows,
            })
            .collect(),
        rows: ingested.rows,
        parsed: ingested.parsed,
        malformed: ingested.malformed,
        malformed_lines: ingested
            .malformed_lines
            .iter()
            .map(|m| MalformedLineRecord {
                file: m.file.clone(),
                line: m.line,
                reason: m.reason.clone(),
            })
            .collect(),
        resolved: ingested.resolved,
        unresolved: ingested.unresolved,
        deduplicated: ingested.dedup.deduplicated,
        by_organisation: resolver
            .organisations()
            .iter()
            .zip(&ingested.by_organisation)
            .filter(|(_, n)| **n > 0)
            .map(|(o, n)| (o.to_string(), *n))
            .collect(),
        notifications: NotificationCounts {
            permitted: messages.len() as u64,
            denied: denied_messages.len() as u64,
        },
        plan_only,
        permitted: messages
            .iter()
            .map(|((recipient, report, _), m)| FeedNotificationRecord {
                recipient: recipient.to_string(),
                report: report_name(*report),
                route: if m.route_via {
                    "via_linking_organisation"
                } else {
                    "direct"
                }
                .to_owned(),
                organisations: m.organisations.keys().map(ToString::to_string).collect(),
                events: m.events,
                bases: m.bases.iter().cloned().collect(),
                conditions: m.conditions.iter().cloned().collect(),
                serious: m.serious,
                tlp: m.tlp.as_str().to_owned(),
                item: None,
                status: None,
                deliveries: None,
                supersedes: Vec::new(),
            })
            .collect(),
        denied: denied
            .iter()
            .map(
                |((recipient, report, tlp, reasons), (orgs, remedies))| FeedDenyRecord {
                    recipient: recipient.to_string(),
                    report: report_name(*report),
                    tlp: tlp.as_str().to_owned(),
                    organisations: orgs.iter().map(ToString::to_string).collect(),
                    reasons: reasons.clone(),
                    remedies: remedies.iter().cloned().collect(),
                },
            )
            .collect(),
        standing_approvals: BTreeMap::new(),
        run: None,
        warnings: ingested.warnings.clone(),
        seconds: started.elapsed().as_secs_f64(),
    }
}
