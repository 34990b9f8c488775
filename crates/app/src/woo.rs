//! Disclosure (Woo) exports: the reports of a period, every withheld part marked in the
//! text and listed in an index with its ground (RULEBOOK.md "Disclosure (Woo) and
//! statistics").

use std::collections::BTreeMap;
use std::fmt::Write as _;

use schakel_domain::{Date, Principal, day_start, legal_date};
use schakel_store::{NewAuditEntry, ReportQuery};
use serde::Serialize;
use serde_json::json;

use crate::access::{Action, require};
use crate::redact::{Depth, Redactor, Withheld};
use crate::{App, AppError};

/// Sectors with fewer registered organisations than this are withheld as `[sector]`.
pub const MIN_SECTOR_MEMBERS: usize = 10;

/// One withheld part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedactionEntry {
    /// Its number, as marked in the text (`[organisation][^3]`).
    pub n: usize,
    /// The report it is in.
    pub report: String,
    /// The field it is in.
    pub field: String,
    /// `organisation`, `sector`, `system` or `person`.
    pub withheld: &'static str,
    /// The marker that replaced it.
    pub replaced_by: &'static str,
    /// The ground of the Open Government Act.
    pub ground: &'static str,
}

/// One report as disclosed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisclosedReport {
    /// Its id.
    pub id: String,
    /// The awareness date (Europe/Amsterdam).
    pub aware_on: String,
    /// Where it stands.
    pub status: String,
    /// Its taxonomy class and type.
    pub category: String,
    /// The taxonomy type.
    pub incident_type: Option<String>,
    /// The reporter's sector, or `[sector]`.
    pub sector: String,
    /// Its facts.
    pub significant: bool,
    /// Personal data involved.
    pub personal_data: bool,
    /// Cross-border.
    pub cross_border: bool,
    /// Malicious.
    pub malicious: bool,
    /// Every field below, redacted.
    pub reporter: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Affected services.
    pub affected_services: Vec<String>,
    /// Systems.
    pub systems: Vec<String>,
    /// Advice the centre gave.
    pub advice: Option<String>,
}

/// A disclosure export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WooExport {
    /// First date (inclusive).
    pub from: String,
    /// Last date (inclusive).
    pub to: String,
    /// When it was made.
    pub made_at: String,
    /// The reports, oldest awareness first.
    pub reports: Vec<DisclosedReport>,
    /// Every redaction.
    pub redactions: Vec<RedactionEntry>,
}

/// Numbers redactions in reading order: a field is redacted with placeholders first (the
/// redactor works in passes, not from left to right), then numbered as they appear.
struct Index {
    entries: Vec<RedactionEntry>,
}

const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';

impl Index {
    /// Redacts one field with `redact`, which is handed the function that marks a part.
    fn field(
        &mut self,
        report: &str,
        field: &str,
        redact: impl FnOnce(&mut dyn FnMut(Withheld) -> String) -> String,
    ) -> String {
        let mut pending: Vec<Withheld> = Vec::new();
        let text = redact(&mut |w| {
            pending.push(w);
            format!("{OPEN}{}{CLOSE}", pending.len() - 1)
        });
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(start) = rest.find(OPEN) {
            out.push_str(&rest[..start]);
            let after = &rest[start + OPEN.len_utf8()..];
            let Some(end) = after.find(CLOSE) else {
                rest = after;
                continue;
            };
            let kind = after[..end]
                .parse::<usize>()
                .ok()
                .and_then(|k| pending.get(k))
                .copied()
                .unwrap_or(Withheld::System);
            let n = self.entries.len() + 1;
            self.entries.push(RedactionEntry {
                n,
                report: report.to_owned(),
                field: field.to_owned(),
                withheld: kind.as_str(),
                replaced_by: kind.marker(),
                ground: kind.ground(),
            });
            out.push_str(&format!("{}[^{n}]", kind.marker()));
            rest = &after[end + CLOSE.len_utf8()..];
        }
        out.push_str(rest);
        out
    }
}

impl App {
    /// The reports whose awareness date (Europe/Amsterdam) lies in `from..=to`, redacted
    /// for disclosure. Legal officers only; the export is recorded in the audit log.
    pub fn woo_export(
        &self,
        principal: &Principal,
        from: Date,
        to: Date,
    ) -> Result<WooExport, AppError> {
        require(principal, Action::WooExport)?;
        if to < from {
            return Err(AppError::field(
                "to",
                format!("`{to}` lies before `{from}`"),
            ));
        }
        let after = to
            .tomorrow()
            .map_err(|e| AppError::field("to", format!("`{to}`: {e}")))?;
        let mut tx = self.store.write()?;
        let registry = self.registry_in(&mut *tx)?;
        let redactor = Redactor::new(&registry)?;
        let (mut rows, _) = tx.find_reports(&ReportQuery {
            aware_from: Some(day_start(from).map_err(|e| AppError::field("from", e.0))?),
            aware_before: Some(day_start(after).map_err(|e| AppError::field("to", e.0))?),
            limit: u64::MAX >> 1,
            ..ReportQuery::default()
        })?;
        rows.reverse();
        let mut members: BTreeMap<String, usize> = BTreeMap::new();
        for org in registry.iter() {
            for s in org.sectors() {
                *members.entry(s.to_string()).or_default() += 1;
            }
        }
        let mut index = Index {
            entries: Vec::new(),
        };
        let mut reports = Vec::new();
        for row in rows {
            let record: schakel_formats::report::ReportRecord =
                serde_json::from_value(row.content.clone()).map_err(|e| {
                    AppError::Internal(format!("report {} is stored unreadably: {e}", row.id))
                })?;
            let triage: schakel_formats::report::TriageRecord =
                serde_json::from_value(row.triage.clone()).unwrap_or_default();
            let id = row.id.clone();
            let reporter = index.field(&id, "reporter", |mark| mark(Withheld::Organisation));
            let sector = registry
                .get(&row.reporter)
                .and_then(|o| o.primary_sector())
                .map(ToString::to_string);
            let sector = match sector {
                Some(s) if members.get(&s).copied().unwrap_or(0) >= MIN_SECTOR_MEMBERS => s,
                _ => index.field(&id, "sector", |mark| mark(Withheld::Sector)),
            };
            let mut redact = |field: &str, text: &str| {
                index.field(&id, field, |mark| {
                    redactor.redact(text, Depth::Disclosure, &record.systems, mark)
                })
            };
            let title = redact("title", &record.title);
            let description = redact("description", &record.description);
            let affected_services = record
                .affected_services
                .iter()
                .enumerate()
                .map(|(i, s)| redact(&format!("affected_services[{i}]"), s))
                .collect();
            let systems = record
                .systems
                .iter()
                .enumerate()
                .map(|(i, s)| redact(&format!("systems[{i}]"), s))
                .collect();
            let advice = triage.advice.as_deref().map(|a| redact("advice", a));
            reports.push(DisclosedReport {
                aware_on: legal_date(row.aware_at).to_string(),
                status: row.status.as_str().to_owned(),
                category: record.category.clone(),
                incident_type: record.incident_type.clone(),
                sector,
                significant: record.significant,
                personal_data: record.personal_data,
                cross_border: record.cross_border,
                malicious: record.malicious,
                reporter,
                title,
                description,
                affected_services,
                systems,
                advice,
                id,
            });
        }
        let now = self.clock.now();
        tx.append_audit(NewAuditEntry {
            at: now,
            actor: principal.actor(),
            action: "woo.export".into(),
            subject: format!("woo:{from}..{to}"),
            before: None,
            after: Some(json!({
                "reports": reports.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
                "redactions": index.entries.len(),
            })),
        })?;
        tx.commit()?;
        Ok(WooExport {
            from: from.to_string(),
            to: to.to_string(),
            made_at: now.to_string(),
            reports,
            redactions: index.entries,
        })
    }
}

impl WooExport {
    /// The export as a Markdown document: the reports with their redactions marked as
    /// footnotes, then the index of every redaction with its ground.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Incident reports {} to {} — disclosure under the Open Government Act (Woo)\n",
            self.from, self.to
        );
        let _ = writeln!(
            out,
            "Made {}. {} report(s), {} redaction(s). Each withheld part is replaced by a \
             marker (`[organisation]`, `[sector]`, `[system]`, `[person]`) with a numbered \
             note; the index at the end gives the ground of each.\n",
            self.made_at,
            self.reports.len(),
            self.redactions.len()
        );
        for r in &self.reports {
            let _ = writeln!(out, "## Report {}\n", r.id);
            let yes = |b: bool| if b { "yes" } else { "no" };
            let rows = [
                ("Reporter", r.reporter.clone()),
                ("Sector", r.sector.clone()),
                ("Aware on", r.aware_on.clone()),
                (
                    "Category",
                    match &r.incident_type {
                        Some(t) => format!("{} / {t}", r.category),
                        None => r.category.clone(),
                    },
                ),
                ("Status", r.status.clone()),
                ("Significant", yes(r.significant).into()),
                ("Personal data", yes(r.personal_data).into()),
                ("Cross-border", yes(r.cross_border).into()),
                ("Malicious", yes(r.malicious).into()),
                ("Title", r.title.clone()),
            ];
            let _ = writeln!(out, "| field | value |\n| --- | --- |");
            for (k, v) in rows {
                let _ = writeln!(
                    out,
                    "| {k} | {} |",
                    v.replace('|', "\\|").replace('\n', " ")
                );
            }
            let _ = writeln!(out, "\n### Description\n\n{}\n", r.description);
            if !r.affected_services.is_empty() {
                let _ = writeln!(out, "### Affected services\n");
                for s in &r.affected_services {
                    let _ = writeln!(out, "- {s}");
                }
                out.push('\n');
            }
            if !r.systems.is_empty() {
                let _ = writeln!(out, "### Systems\n");
                for s in &r.systems {
                    let _ = writeln!(out, "- {s}");
                }
                out.push('\n');
            }
            if let Some(a) = &r.advice {
                let _ = writeln!(out, "### Advice given by the centre\n\n{a}\n");
            }
        }
        let _ = writeln!(out, "## Index of redactions\n");
        let _ = writeln!(
            out,
            "| # | report | field | withheld | ground |\n| --- | --- | --- | --- | --- |"
        );
        for e in &self.redactions {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                e.n, e.report, e.field, e.replaced_by, e.ground
            );
        }
        out.push('\n');
        for e in &self.redactions {
            let _ = writeln!(out, "[^{}]: {} — {}", e.n, e.replaced_by, e.ground);
        }
        out
    }
}
