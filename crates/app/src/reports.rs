//! Incident reports: filing, reporting clocks, submissions to authorities, triage with
//! its history, and sanitised items made from a report.

use std::collections::BTreeSet;

use jiff::Timestamp;
use schakel_domain::{
    Clocks, DisruptionNature, Impact, IncidentReport, ItemKind, OrgSlug, Principal, Priority,
    Purpose, RegimeTable, Registry, ReportStatus, ReporterFacts, ReportingClock, Role, Submission,
    Tlp, legal_date,
};
use schakel_formats::item::{ItemRecord, ParsedItem};
use schakel_formats::report::{
    CLOCK_SKEW, ClockRecord, DisplacedRecord, ReportAnswer, ReportEventRecord, ReportRecord,
    ReportSummaryRecord, TriageRecord, TriageRequest, parse_report,
};
use schakel_store::{NewAuditEntry, ReportEventRow, ReportQuery, ReportRow, SubmissionRow, Tx};
use serde_json::json;

use crate::access::{Action, is_own, require};
use crate::items::ItemView;
use crate::redact::{Depth, Redactor, redact_plain};
use crate::tokens::random_hex;
use crate::{App, AppError};

/// A report with everything known about it.
#[derive(Debug, Clone)]
pub struct ReportView {
    /// The stored row.
    pub row: ReportRow,
    /// The report, parsed.
    pub report: IncidentReport,
    /// The centre's assessment.
    pub triage: TriageRecord,
    /// Its reporting clocks.
    pub clocks: Clocks,
    /// Its history, oldest first.
    pub events: Vec<ReportEventRow>,
}

/// A clock as answered.
pub fn clock_record(c: &ReportingClock, now: Timestamp) -> ClockRecord {
    ClockRecord {
        regime: c.regime.clone(),
        step: c.step.clone(),
        due: c.due.map(|d| d.to_string()),
        provisional: c.provisional,
        basis: c.basis.clone(),
        report_to: c.report_to.clone(),
        submitted_at: c.submitted_at.map(|d| d.to_string()),
        overdue: c.overdue(now),
    }
}

impl ReportView {
    /// The report as answered; `staff` adds the triage and the history.
    pub fn answer(&self, staff: bool, now: Timestamp) -> ReportAnswer {
        ReportAnswer {
            id: self.row.id.clone(),
            status: self.row.status.as_str().to_owned(),
            filed_at: self.row.filed_at.to_string(),
            filed_by: self.row.filed_by.clone(),
            report: ReportRecord::from_report(&self.report),
            advice: self.triage.advice.clone(),
            triage: staff.then(|| self.triage.clone()),
            clocks: self
                .clocks
                .clocks
                .iter()
                .map(|c| clock_record(c, now))
                .collect(),
            displaced: self
                .clocks
                .displaced
                .iter()
                .map(|(regime, by)| DisplacedRecord {
                    regime: regime.clone(),
                    by: by.clone(),
                })
                .collect(),
            history: staff.then(|| {
                self.events
                    .iter()
                    .map(|e| ReportEventRecord {
                        at: e.at.to_string(),
                        by: e.actor.clone(),
                        action: e.action.clone(),
                        detail: e.detail.clone(),
                    })
                    .collect()
            }),
        }
    }

    /// The report in a listing.
    pub fn summary(&self, staff: bool, now: Timestamp) -> ReportSummaryRecord {
        ReportSummaryRecord {
            id: self.row.id.clone(),
            reporter: self.row.reporter.to_string(),
            status: self.row.status.as_str().to_owned(),
            category: self.row.category.as_str().to_owned(),
            title: self.row.title.clone(),
            aware_at: self.row.aware_at.to_string(),
            priority: self.triage.priority.clone().filter(|_| staff),
            next_due: self.next_due().map(|d| d.to_string()),
            overdue: self
                .clocks
                .clocks
                .iter()
                .filter(|c| c.overdue(now))
                .map(|c| format!("{}/{}", c.regime, c.step))
                .collect(),
        }
    }

    /// The earliest deadline of a step not yet submitted.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.clocks
            .clocks
            .iter()
            .filter(|c| c.submitted_at.is_none())
            .filter_map(|c| c.due)
            .min()
    }

    /// Whether any step is past its deadline and not submitted.
    pub fn overdue(&self, now: Timestamp) -> bool {
        self.clocks.clocks.iter().any(|c| c.overdue(now))
    }
}

/// A page of reports.
#[derive(Debug, Clone)]
pub struct ReportPage {
    /// This page.
    pub reports: Vec<ReportView>,
    /// Matches over all pages.
    pub total: u64,
}

/// Options for an item made from a report.
#[derive(Debug, Clone, Default)]
pub struct ItemFromReport {
    /// Its TLP (default AMBER).
    pub tlp: Option<Tlp>,
    /// Its title (default: the report's, sanitised).
    pub title: Option<String>,
}

fn report_not_found(id: &str) -> AppError {
    AppError::NotFound(format!("no report `{id}`"))
}

fn internal(what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("{what}: {e}"))
}

/// Whoever reads reports at the centre, or the reporting organisation's own token.
fn may_read(principal: &Principal, reporter: &OrgSlug) -> bool {
    Action::ReadReports.allows(principal.role) || is_own(principal, reporter)
}

impl App {
    /// The reporting regimes in force.
    pub fn regimes(&self) -> &RegimeTable {
        &self.regimes
    }

    /// The clocks of a report as `registry` stands (designations on the awareness date).
    fn clocks_in(
        &self,
        tx: &mut dyn Tx,
        registry: &Registry,
        report: &IncidentReport,
        report_id: Option<&str>,
    ) -> Result<Clocks, AppError> {
        let reporter = registry
            .get(&report.reporter)
            .map(|org| ReporterFacts {
                statuses: org.statuses_on(legal_date(report.aware_at)),
                sectors: org.sectors().to_vec(),
            })
            .unwrap_or_default();
        let submissions: Vec<Submission> = match report_id {
            Some(id) => tx
                .submissions(id)?
                .into_iter()
                .map(|s| Submission {
                    regime: s.regime,
                    step: s.step,
                    at: s.submitted_at,
                })
                .collect(),
            None => vec![],
        };
        Ok(self.regimes.clocks(report, &reporter, &submissions))
    }

    fn load_report(&self, tx: &mut dyn Tx, id: &str) -> Result<ReportView, AppError> {
        let row = tx.report(id)?.ok_or_else(|| report_not_found(id))?;
        let registry = self.registry_in(tx)?;
        self.view_of(tx, &registry, row, true)
    }

    /// A stored report with its clocks (the registry is read once by the caller, not once
    /// per report of a listing).
    fn view_of(
        &self,
        tx: &mut dyn Tx,
        registry: &Registry,
        row: ReportRow,
        with_events: bool,
    ) -> Result<ReportView, AppError> {
        let id = row.id.clone();
        let record: ReportRecord = serde_json::from_value(row.content.clone())
            .map_err(|e| internal(&format!("report {id} is stored unreadably"), e))?;
        // Stored reports were valid when filed; time has only moved on since.
        let report = record.parse(Timestamp::MAX).map_err(|issues| {
            internal(
                &format!("report {id} no longer parses"),
                issues
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        let triage: TriageRecord = serde_json::from_value(row.triage.clone())
            .map_err(|e| internal(&format!("report {id} triage is stored unreadably"), e))?;
        let clocks = self.clocks_in(tx, registry, &report, Some(&id))?;
        let events = if with_events {
            tx.report_events(&id)?
        } else {
            vec![]
        };
        Ok(ReportView {
            row,
            report,
            triage,
            clocks,
            events,
        })
    }

    fn record_event(
        &self,
        tx: &mut dyn Tx,
        principal: &Principal,
        report_id: &str,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<(), AppError> {
        let now = self.clock.now();
        tx.insert_report_event(&ReportEventRow {
            report_id: report_id.to_owned(),
            at: now,
            actor: principal.actor(),
            action: action.to_owned(),
            detail: detail.clone(),
        })?;
        tx.append_audit(NewAuditEntry {
            at: now,
            actor: principal.actor(),
            action: format!("report.{action}"),
            subject: format!("report:{report_id}"),
            before: None,
            after: Some(detail),
        })?;
        Ok(())
    }

    /// Files an incident report (FORMATS.md "Incident report"). An analyst files for any
    /// organisation; a recipient organisation's token files only its own.
    pub fn file_report(
        &self,
        principal: &Principal,
        value: serde_json::Value,
    ) -> Result<ReportView, AppError> {
        if principal.role != Role::Recipient {
            require(principal, Action::WorkReports)?;
        }
        let now = self.clock.now();
        let report = parse_report(value, now).map_err(|i| AppError::from_issues("report", i))?;
        if principal.role == Role::Recipient
            && principal.organisation.as_ref() != Some(&report.reporter)
        {
            return Err(AppError::Forbidden(format!(
                "a recipient token files reports only for its own organisation, not `{}`",
                report.reporter
            )));
        }
        let mut tx = self.store.write()?;
        let registry = self.registry_in(&mut *tx)?;
        match registry.get(&report.reporter) {
            None => {
                return Err(AppError::field(
                    "reporter",
                    format!("no organisation `{}` in the registry", report.reporter),
                ));
            }
            Some(org) if org.is_ended_on(legal_date(report.aware_at)) => {
                return Err(AppError::field(
                    "reporter",
                    format!("`{}` had ended on the awareness date", report.reporter),
                ));
            }
            Some(_) => {}
        }
        let id = format!("rpt_{}", random_hex(8)?);
        let content = serde_json::to_value(ReportRecord::from_report(&report))
            .map_err(|e| internal("cannot write the report", e))?;
        let row = ReportRow {
            id: id.clone(),
            reporter: report.reporter.clone(),
            aware_at: report.aware_at,
            category: report.category,
            title: report.title.clone(),
            status: ReportStatus::New,
            triage: json!({}),
            filed_at: now,
            filed_by: principal.actor(),
            updated_at: now,
            content: content.clone(),
        };
        tx.put_report(&row)?;
        let clocks = self.clocks_in(&mut *tx, &registry, &report, Some(&id))?;
        // The audit log keeps what a supervisor needs, not the confidential content: a
        // digest proves later which text was filed.
        self.record_event(
            &mut *tx,
            principal,
            &id,
            "filed",
            json!({
                "reporter": report.reporter.as_str(),
                "category": report.category.as_str(),
                "regimes": clocks.clocks.iter().map(|c| c.regime.as_str()).collect::<BTreeSet<_>>(),
                "content_sha256": crate::sha256_hex(content.to_string().as_bytes()),
            }),
        )?;
        let events = tx.report_events(&id)?;
        tx.commit()?;
        Ok(ReportView {
            row,
            report,
            triage: TriageRecord::default(),
            clocks,
            events,
        })
    }

    /// One report: staff, or the reporting organisation.
    pub fn report(&self, principal: &Principal, id: &str) -> Result<ReportView, AppError> {
        if principal.role != Role::Recipient {
            require(principal, Action::ReadReports)?;
        }
        let mut tx = self.store.read()?;
        let view = self.load_report(&mut *tx, id)?;
        if !may_read(principal, &view.row.reporter) {
            // Another organisation's report does not exist for this token.
            return Err(report_not_found(id));
        }
        Ok(view)
    }

    /// Reports, newest awareness first; a recipient sees only its own. With
    /// `overdue_only`, only reports with a step past its deadline and not submitted.
    pub fn reports(
        &self,
        principal: &Principal,
        query: &ReportQuery,
        overdue_only: bool,
    ) -> Result<ReportPage, AppError> {
        let mut query = query.clone();
        match (&principal.organisation, principal.role) {
            (Some(org), Role::Recipient) => query.reporter = Some(org.clone()),
            _ => require(principal, Action::ReadReports)?,
        }
        let mut tx = self.store.read()?;
        let registry = self.registry_in(&mut *tx)?;
        if !overdue_only {
            let (rows, total) = tx.find_reports(&query)?;
            let reports = rows
                .into_iter()
                .map(|r| self.view_of(&mut *tx, &registry, r, false))
                .collect::<Result<_, _>>()?;
            return Ok(ReportPage { reports, total });
        }
        let (rows, _) = tx.find_reports(&ReportQuery {
            offset: 0,
            limit: u64::MAX >> 1,
            ..query.clone()
        })?;
        let now = self.clock.now();
        let mut overdue = Vec::new();
        for row in rows {
            let view = self.view_of(&mut *tx, &registry, row, false)?;
            if view.overdue(now) {
                overdue.push(view);
            }
        }
        let total = overdue.len() as u64;
        let reports = overdue
            .into_iter()
            .skip(usize::try_from(query.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(query.limit).unwrap_or(usize::MAX))
            .collect();
        Ok(ReportPage { reports, total })
    }

    /// Records that a step was submitted to its authority (at `at`, default now). The
    /// regime and step must be among the report's clocks. Analysts, or the reporter.
    pub fn submit_step(
        &self,
        principal: &Principal,
        id: &str,
        regime: &str,
        step: &str,
        at: Option<Timestamp>,
    ) -> Result<ReportView, AppError> {
        let mut tx = self.store.write()?;
        let view = self.load_report(&mut *tx, id)?;
        let allowed =
            Action::WorkReports.allows(principal.role) || is_own(principal, &view.row.reporter);
        if !allowed {
            return if may_read(principal, &view.row.reporter) {
                Err(AppError::Forbidden(
                    "recording a submission needs an analyst's or the reporter's token".into(),
                ))
            } else {
                Err(report_not_found(id))
            };
        }
        let Some(clock) = view
            .clocks
            .clocks
            .iter()
            .find(|c| c.regime == regime && c.step == step)
        else {
            let known: Vec<String> = view
                .clocks
                .clocks
                .iter()
                .map(|c| format!("{}/{}", c.regime, c.step))
                .collect();
            let (field, reason) = if view.clocks.clocks.iter().any(|c| c.regime == regime) {
                ("step", format!("`{step}` is not a step of `{regime}`"))
            } else if let Some((_, by)) = view.clocks.displaced.iter().find(|(r, _)| r == regime) {
                (
                    "regime",
                    format!("`{regime}` is displaced by `{by}` for this report"),
                )
            } else {
                (
                    "regime",
                    format!("`{regime}` does not apply to this report"),
                )
            };
            return Err(AppError::field(
                field,
                format!(
                    "{reason}; its clocks are {}",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        };
        if let Some(earlier) = clock.submitted_at {
            return Err(AppError::Conflict(format!(
                "`{regime}/{step}` was already recorded as submitted at {earlier}"
            )));
        }
        let now = self.clock.now();
        let at = at.unwrap_or(now);
        if now.checked_add(CLOCK_SKEW).is_ok_and(|limit| at > limit) {
            return Err(AppError::field("at", format!("`{at}` lies in the future")));
        }
        if at < view.report.aware_at {
            return Err(AppError::field("at", "lies before the report's `aware_at`"));
        }
        tx.insert_submission(&SubmissionRow {
            report_id: id.to_owned(),
            regime: regime.to_owned(),
            step: step.to_owned(),
            submitted_at: at,
            recorded_at: now,
            recorded_by: principal.actor(),
        })?;
        let late = clock.due.is_some_and(|d| at > d);
        self.record_event(
            &mut *tx,
            principal,
            id,
            "submitted",
            json!({"regime": regime, "step": step, "at": at.to_string(), "late": late}),
        )?;
        let view = self.load_report(&mut *tx, id)?;
        tx.commit()?;
        Ok(view)
    }

    /// Changes a report's triage and status; every change is kept in its history.
    /// Analysts only. A report becomes `triaged` only with an impact estimate.
    pub fn triage(
        &self,
        principal: &Principal,
        id: &str,
        request: &TriageRequest,
    ) -> Result<ReportView, AppError> {
        require(principal, Action::WorkReports)?;
        let mut tx = self.store.write()?;
        let mut view = self.load_report(&mut *tx, id)?;
        let before = view.triage.clone();
        let mut triage = view.triage.clone();
        let mut problems = Vec::new();
        let mut field = |name: &str, reason: String| {
            problems.push(schakel_formats::registry::EntryError {
                index: None,
                slug: None,
                field: name.to_owned(),
                reason,
            });
        };
        if let Some(nature) = &request.nature {
            let mut parsed = BTreeSet::new();
            for (i, n) in nature.iter().enumerate() {
                match n.parse::<DisruptionNature>() {
                    Ok(n) => {
                        parsed.insert(n);
                    }
                    Err(e) => field(&format!("nature[{i}]"), e.0),
                }
            }
            triage.nature = parsed.iter().map(|n| n.as_str().to_owned()).collect();
        }
        let mut impact = triage
            .impact
            .as_deref()
            .and_then(|i| i.parse::<Impact>().ok());
        if let Some(text) = &request.impact {
            match text.parse::<Impact>() {
                Ok(i) => {
                    impact = Some(i);
                    triage.impact = Some(i.as_str().to_owned());
                }
                Err(e) => field("impact", e.0),
            }
        }
        match &request.priority {
            Some(text) => match text.parse::<Priority>() {
                Ok(p) => triage.priority = Some(p.as_str().to_owned()),
                Err(e) => field("priority", e.0),
            },
            None if request.impact.is_some() && before.priority.is_none() => {
                triage.priority = impact.map(|i| i.default_priority().as_str().to_owned());
            }
            None => {}
        }
        if let Some(assignee) = &request.assignee {
            let a = assignee.trim();
            triage.assignee = (!a.is_empty()).then(|| a.to_owned());
        }
        if let Some(advice) = &request.advice {
            let a = advice.trim();
            triage.advice = (!a.is_empty()).then(|| a.to_owned());
        }
        let mut status = view.row.status;
        if let Some(text) = &request.status {
            match text.parse::<ReportStatus>() {
                Ok(next) if next == status => {}
                Ok(next) if status.may_become(next) => status = next,
                Ok(next) => field(
                    "status",
                    format!(
                        "a `{status}` report cannot become `{next}` (new → triaged → coordinating → closed)"
                    ),
                ),
                Err(e) => field("status", e.0),
            }
        }
        if status != ReportStatus::New && impact.is_none() {
            field(
                "impact",
                "a report is triaged only with an estimate of its societal impact".into(),
            );
        }
        if !problems.is_empty() {
            return Err(AppError::invalid(
                format!("{} problem(s) in the triage", problems.len()),
                problems,
            ));
        }
        let mut consent_changed = None;
        if let Some(consent) = request.identity_consent
            && consent != view.report.identity_consent
        {
            view.report.identity_consent = consent;
            view.row.content = serde_json::to_value(ReportRecord::from_report(&view.report))
                .map_err(|e| internal("cannot write the report", e))?;
            consent_changed = Some(consent);
        }
        let mut changes = serde_json::Map::new();
        let b = serde_json::to_value(&before).unwrap_or_default();
        let a = serde_json::to_value(&triage).unwrap_or_default();
        if let (Some(b), Some(a)) = (b.as_object(), a.as_object()) {
            for (k, v) in a {
                let old = b.get(k).cloned().unwrap_or(serde_json::Value::Null);
                if &old != v {
                    changes.insert(k.clone(), json!({"from": old, "to": v}));
                }
            }
        }
        if status != view.row.status {
            changes.insert(
                "status".into(),
                json!({"from": view.row.status.as_str(), "to": status.as_str()}),
            );
        }
        if let Some(consent) = consent_changed {
            changes.insert("identity_consent".into(), json!({"to": consent}));
        }
        if let Some(note) = request
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            changes.insert("note".into(), json!(note));
        }
        if changes.is_empty() {
            return Ok(view);
        }
        view.row.status = status;
        view.row.triage =
            serde_json::to_value(&triage).map_err(|e| internal("cannot write the triage", e))?;
        view.row.updated_at = self.clock.now();
        tx.put_report(&view.row)?;
        self.record_event(
            &mut *tx,
            principal,
            id,
            "triage",
            serde_json::Value::Object(changes),
        )?;
        let view = self.load_report(&mut *tx, id)?;
        tx.commit()?;
        Ok(view)
    }

    /// Makes a draft item for the distribution planner from a report. Unless the reporter
    /// consented to being named, the item concerns nobody and its text names no
    /// organisation, person, address or host; the products involved stay, so that others
    /// can act. Analysts only; the analyst reviews the draft before planning it.
    pub fn item_from_report(
        &self,
        principal: &Principal,
        id: &str,
        options: &ItemFromReport,
    ) -> Result<ItemView, AppError> {
        require(principal, Action::WorkReports)?;
        let mut tx = self.store.write()?;
        let view = self.load_report(&mut *tx, id)?;
        let registry = self.registry_in(&mut *tx)?;
        let r = &view.report;
        let consent = r.identity_consent;
        let redactor = Redactor::new(&registry)?;
        let clean = |text: &str| {
            if consent {
                text.to_owned()
            } else {
                redact_plain(&redactor, text, Depth::Identity)
            }
        };
        let title = match &options.title {
            Some(t) => clean(t),
            None => clean(&r.title),
        };
        let mut body = String::new();
        body.push_str(&format!(
            "Incident ({}{}), reported to the centre on {}.\n\n",
            r.category,
            r.incident_type
                .as_deref()
                .map(|t| format!(" / {t}"))
                .unwrap_or_default(),
            legal_date(r.aware_at)
        ));
        if consent {
            let name = registry
                .get(&r.reporter)
                .map(|o| o.name().to_owned())
                .unwrap_or_else(|| r.reporter.to_string());
            body.push_str(&format!("Reported by {name}, who agreed to be named.\n\n"));
        }
        body.push_str(&clean(&r.description));
        if !r.systems.is_empty() {
            body.push_str("\n\nSystems and products involved:\n");
            for s in &r.systems {
                body.push_str(&format!("- {}\n", clean(s)));
            }
        }
        if let Some(advice) = &view.triage.advice {
            body.push_str(&format!("\n\nAdvice: {}\n", clean(advice)));
        }
        let sectors = registry
            .get(&r.reporter)
            .map(|o| o.sectors().iter().map(ToString::to_string).collect())
            .unwrap_or_default();
        let serious = view
            .triage
            .impact
            .as_deref()
            .and_then(|i| i.parse::<Impact>().ok())
            .is_some_and(Impact::threatens_continuity);
        let concerns: Vec<String> = if consent {
            vec![r.reporter.to_string()]
        } else {
            vec![]
        };
        let record = ItemRecord {
            kind: ItemKind::Incident.as_str().to_owned(),
            title,
            body,
            tlp: options.tlp.unwrap_or(Tlp::Amber).as_str().to_owned(),
            consent: concerns.clone(),
            confidentiality_markers: if consent && !r.systems.is_empty() {
                vec!["specific_systems".into()]
            } else {
                vec![]
            },
            concerns,
            confidential: false,
            purpose: Some(Purpose::PreventDisruption.as_str().to_owned()),
            serious,
            personal_data: false,
            national_security: false,
            named_recipients: vec![],
            source_restriction: None,
            source: Some(format!("incident report {id}")),
            cves: vec![],
            indicators: vec![],
            sectors,
        };
        let value =
            serde_json::to_value(&record).map_err(|e| internal("cannot write the item", e))?;
        let item: ParsedItem = self.parse_checked(&mut *tx, value)?;
        let item_view = self.insert_item(&mut *tx, principal, item)?;
        self.record_event(
            &mut *tx,
            principal,
            id,
            "item",
            json!({"item": item_view.row.id, "identity": if consent { "named (consented)" } else { "removed" }}),
        )?;
        tx.commit()?;
        Ok(item_view)
    }
}
