//! Incident reports (FORMATS.md "Incident report"), their reporting clocks, triage,
//! written advice and the published statistics (FORMATS.md "Statistics").

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use schakel_domain::{FieldIssue, IncidentCategory, IncidentReport, OrgSlug, ValueError};
use serde::{Deserialize, Serialize};

use crate::nullable::null_as_default;

/// Longest title accepted, in characters.
pub const MAX_TITLE: usize = 300;
/// Largest description accepted, in bytes.
pub const MAX_DESCRIPTION: usize = 1 << 20;
/// How far in the future `aware_at` may lie (clock skew of the reporter).
pub const CLOCK_SKEW: SignedDuration = SignedDuration::from_mins(5);

/// An incident report as filed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReportRecord {
    /// The reporting organisation's slug.
    #[cfg_attr(feature = "openapi", schema(example = "hospital-south"))]
    pub reporter: String,
    /// When the reporter became aware (RFC 3339); the reporting clocks run from here.
    #[cfg_attr(feature = "openapi", schema(example = "2026-09-01T10:00:00Z"))]
    pub aware_at: String,
    /// When the incident began, if known.
    #[serde(default)]
    pub occurred_at: Option<String>,
    /// When the reporter classified it as major (DORA).
    #[serde(default)]
    pub classified_at: Option<String>,
    /// When it became reportable under sector law (electricity network code).
    #[serde(default)]
    pub reportable_at: Option<String>,
    /// The Reference Security Incident Taxonomy class, as a slug.
    #[cfg_attr(feature = "openapi", schema(example = "intrusions"))]
    pub category: String,
    /// The taxonomy type within the class.
    #[serde(default, rename = "type")]
    pub incident_type: Option<String>,
    /// One line.
    pub title: String,
    /// What happened.
    #[serde(default)]
    pub description: String,
    /// Significant (Cbw) or major (DORA).
    pub significant: bool,
    /// Personal data are involved.
    pub personal_data: bool,
    /// It affects other EU member states.
    #[serde(default)]
    pub cross_border: bool,
    /// Caused by malicious action.
    pub malicious: bool,
    /// The services affected.
    #[serde(default, deserialize_with = "null_as_default")]
    pub affected_services: Vec<String>,
    /// The systems and products involved.
    #[serde(default, deserialize_with = "null_as_default")]
    pub systems: Vec<String>,
    /// The reporter agrees that items made from this report may name it (default false).
    #[serde(default)]
    pub identity_consent: bool,
}

fn instant(
    issues: &mut Vec<FieldIssue>,
    field: &str,
    text: Option<&str>,
) -> Option<Option<Timestamp>> {
    match text {
        None => Some(None),
        Some(t) => match t.parse::<Timestamp>() {
            Ok(at) => Some(Some(at)),
            Err(_) => {
                issues.push(FieldIssue::new(
                    field,
                    format!("`{t}` is not an RFC 3339 instant (such as 2026-09-01T10:00:00Z)"),
                ));
                None
            }
        },
    }
}

fn one_line(issues: &mut Vec<FieldIssue>, field: &str, text: &str, max: usize) -> String {
    let text = text.trim();
    if text.is_empty() {
        issues.push(FieldIssue::new(field, "must not be empty"));
    } else if text.chars().count() > max {
        issues.push(FieldIssue::new(
            field,
            format!("longer than {max} characters"),
        ));
    } else if text.contains(['\n', '\r']) {
        issues.push(FieldIssue::new(field, "must be one line"));
    }
    text.to_owned()
}

fn lines(issues: &mut Vec<FieldIssue>, field: &str, list: &[String]) -> Vec<String> {
    for (i, s) in list.iter().enumerate() {
        one_line(issues, &format!("{field}[{i}]"), s, MAX_TITLE);
    }
    list.iter().map(|s| s.trim().to_owned()).collect()
}

impl ReportRecord {
    /// Parses every field; `now` bounds `aware_at` (it may not lie in the future).
    pub fn parse(&self, now: Timestamp) -> Result<IncidentReport, Vec<FieldIssue>> {
        let mut issues = Vec::new();
        let reporter = OrgSlug::parse(&self.reporter)
            .map_err(|e: ValueError| issues.push(FieldIssue::new("reporter", e.0)))
            .ok();
        let aware_at = instant(&mut issues, "aware_at", Some(&self.aware_at)).flatten();
        let occurred_at = instant(&mut issues, "occurred_at", self.occurred_at.as_deref());
        let classified_at = instant(&mut issues, "classified_at", self.classified_at.as_deref());
        let reportable_at = instant(&mut issues, "reportable_at", self.reportable_at.as_deref());
        if let Some(aware) = aware_at {
            if now.checked_add(CLOCK_SKEW).is_ok_and(|limit| aware > limit) {
                issues.push(FieldIssue::new(
                    "aware_at",
                    format!("`{}` lies in the future", self.aware_at),
                ));
            }
            if let Some(Some(o)) = occurred_at
                && o > aware
            {
                issues.push(FieldIssue::new(
                    "occurred_at",
                    "lies after `aware_at`: awareness cannot precede the incident",
                ));
            }
            for (field, at) in [
                ("classified_at", classified_at),
                ("reportable_at", reportable_at),
            ] {
                if let Some(Some(at)) = at
                    && at < aware
                {
                    issues.push(FieldIssue::new(field, "lies before `aware_at`"));
                }
            }
        }
        let category = self
            .category
            .parse::<IncidentCategory>()
            .map_err(|e| issues.push(FieldIssue::new("category", e.0)))
            .ok();
        if let (Some(c), Some(t)) = (category, &self.incident_type)
            && let Err(e) = c.check_type(t)
        {
            issues.push(FieldIssue::new("type", e.0));
        }
        let title = one_line(&mut issues, "title", &self.title, MAX_TITLE);
        if self.description.len() > MAX_DESCRIPTION {
            issues.push(FieldIssue::new(
                "description",
                format!("larger than {MAX_DESCRIPTION} bytes"),
            ));
        }
        let affected_services = lines(&mut issues, "affected_services", &self.affected_services);
        let systems = lines(&mut issues, "systems", &self.systems);
        match (
            reporter,
            aware_at,
            occurred_at,
            classified_at,
            reportable_at,
            category,
        ) {
            (
                Some(reporter),
                Some(aware_at),
                Some(occurred_at),
                Some(classified_at),
                Some(reportable_at),
                Some(category),
            ) if issues.is_empty() => Ok(IncidentReport {
                reporter,
                aware_at,
                occurred_at,
                classified_at,
                reportable_at,
                category,
                incident_type: self.incident_type.clone(),
                title,
                description: self.description.clone(),
                significant: self.significant,
                personal_data: self.personal_data,
                cross_border: self.cross_border,
                malicious: self.malicious,
                affected_services,
                systems,
                identity_consent: self.identity_consent,
            }),
            _ => Err(issues),
        }
    }

    /// The record of a parsed report (as stored and shown).
    pub fn from_report(r: &IncidentReport) -> Self {
        let ts = |t: Option<Timestamp>| t.map(|t| t.to_string());
        Self {
            reporter: r.reporter.to_string(),
            aware_at: r.aware_at.to_string(),
            occurred_at: ts(r.occurred_at),
            classified_at: ts(r.classified_at),
            reportable_at: ts(r.reportable_at),
            category: r.category.as_str().to_owned(),
            incident_type: r.incident_type.clone(),
            title: r.title.clone(),
            description: r.description.clone(),
            significant: r.significant,
            personal_data: r.personal_data,
            cross_border: r.cross_border,
            malicious: r.malicious,
            affected_services: r.affected_services.clone(),
            systems: r.systems.clone(),
            identity_consent: r.identity_consent,
        }
    }
}

/// Reads a report from JSON, naming the field of every problem (unknown fields included).
pub fn parse_report(
    value: serde_json::Value,
    now: Timestamp,
) -> Result<IncidentReport, Vec<FieldIssue>> {
    let record: ReportRecord = crate::from_json(value)?;
    record.parse(now)
}

/// The centre's assessment of a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TriageRecord {
    /// What the incident disrupts: `availability`, `integrity`, `confidentiality`.
    #[serde(default)]
    pub nature: Vec<String>,
    /// Estimated societal impact: `negligible`, `limited`, `considerable`, `serious`,
    /// `critical` (criteria in docs/triage.md).
    #[serde(default)]
    pub impact: Option<String>,
    /// `low`, `medium`, `high`, `critical`.
    #[serde(default)]
    pub priority: Option<String>,
    /// The analyst handling it.
    #[serde(default)]
    pub assignee: Option<String>,
    /// The advice given to the reporter.
    #[serde(default)]
    pub advice: Option<String>,
}

/// A change of triage (`POST /api/v1/reports/{id}/triage`); absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TriageRequest {
    /// Replaces the nature of the disruption.
    #[serde(default)]
    pub nature: Option<Vec<String>>,
    /// The estimated societal impact.
    #[serde(default)]
    pub impact: Option<String>,
    /// The priority (default: from the impact).
    #[serde(default)]
    pub priority: Option<String>,
    /// The analyst handling it (`""` clears).
    #[serde(default)]
    pub assignee: Option<String>,
    /// Advice given to the reporter.
    #[serde(default)]
    pub advice: Option<String>,
    /// The next status: `triaged`, `coordinating` or `closed`.
    #[serde(default)]
    pub status: Option<String>,
    /// Why (kept in the history).
    #[serde(default)]
    pub note: Option<String>,
    /// The reporter consented to being named in items made from the report.
    #[serde(default)]
    pub identity_consent: Option<bool>,
}

/// One step's reporting clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClockRecord {
    /// `wbni`, `cbw`, `dora`, `gdpr` or `nccs`.
    pub regime: String,
    /// The step (`early_warning`, `notification`, …).
    pub step: String,
    /// The deadline (RFC 3339 UTC), or `null` when the step has none.
    pub due: Option<String>,
    /// Reckoned from something not yet known (see `basis`).
    pub provisional: bool,
    /// How the deadline was reckoned, or why there is none.
    pub basis: String,
    /// Whom to report to.
    pub report_to: String,
    /// When the step was submitted, once recorded.
    pub submitted_at: Option<String>,
    /// Past its deadline and not submitted.
    pub overdue: bool,
}

/// A regime that applies but whose steps another regime displaces (Cbw art. 31).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DisplacedRecord {
    /// The displaced regime.
    pub regime: String,
    /// The regime that displaces it.
    pub by: String,
}

/// One entry of a report's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportEventRecord {
    /// When (RFC 3339 UTC).
    pub at: String,
    /// Who.
    pub by: String,
    /// `filed`, `triage`, `status`, `submitted`, `item`, `advice`.
    pub action: String,
    /// What changed.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: serde_json::Value,
}

/// A report as answered. A recipient sees its report, status, advice and clocks; staff
/// also see the triage and the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportAnswer {
    /// `rpt_…`.
    pub id: String,
    /// `new`, `triaged`, `coordinating` or `closed`.
    pub status: String,
    /// When it was filed.
    pub filed_at: String,
    /// Who filed it.
    pub filed_by: String,
    /// The report.
    #[serde(flatten)]
    pub report: ReportRecord,
    /// The advice the centre gave the reporter.
    pub advice: Option<String>,
    /// Staff only: the centre's assessment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub triage: Option<TriageRecord>,
    /// Every reporting clock the report started.
    pub clocks: Vec<ClockRecord>,
    /// Regimes displaced by sector law.
    pub displaced: Vec<DisplacedRecord>,
    /// Staff only: what happened to the report, oldest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<ReportEventRecord>>,
}

/// A report in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportSummaryRecord {
    /// `rpt_…`.
    pub id: String,
    /// The reporting organisation.
    pub reporter: String,
    /// Where it stands.
    pub status: String,
    /// The taxonomy class.
    pub category: String,
    /// Its title.
    pub title: String,
    /// When the reporter became aware.
    pub aware_at: String,
    /// The priority, once triaged (staff only).
    pub priority: Option<String>,
    /// The earliest deadline not yet submitted.
    pub next_due: Option<String>,
    /// Steps past their deadline and not submitted.
    pub overdue: Vec<String>,
}

/// A step submitted to an authority (`POST /api/v1/reports/{id}/submissions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SubmissionRequest {
    /// The regime.
    pub regime: String,
    /// The step.
    pub step: String,
    /// When it was submitted (RFC 3339; default now).
    #[serde(default)]
    pub at: Option<String>,
}

/// Written advice to an organisation (`POST /api/v1/advice`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AdviceRequest {
    /// The organisation advised.
    pub organisation: String,
    /// What the advice is about (one line).
    pub title: String,
    /// The measures advised.
    pub measures: Vec<String>,
    /// When the organisation must have confirmed the measures (YYYY-MM-DD).
    pub follow_up: String,
    /// The report it follows from, if any.
    #[serde(default)]
    pub report: Option<String>,
    /// The vulnerabilities concerned.
    #[serde(default)]
    pub cves: Vec<String>,
}

/// Written advice as answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdviceRecord {
    /// `adv_…`.
    pub id: String,
    /// The organisation advised.
    pub organisation: String,
    /// What it is about.
    pub title: String,
    /// The measures advised.
    pub measures: Vec<String>,
    /// The follow-up date.
    pub follow_up: String,
    /// The report it follows from.
    pub report: Option<String>,
    /// The vulnerabilities concerned.
    pub cves: Vec<String>,
    /// `open`, `confirmed`, `flagged` (follow-up date passed, measures not confirmed:
    /// escalate) or `escalated`.
    pub state: String,
    /// When and by whom it was given.
    pub given_at: String,
    /// The person who gave it.
    pub given_by: String,
    /// When the measures were confirmed.
    pub confirmed_at: Option<String>,
    /// What the organisation said.
    pub confirmation: Option<String>,
    /// The escalation item, once escalated.
    pub escalation_item: Option<String>,
}

/// One cell of the statistics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CellRecord {
    /// The reporter's first sector.
    pub sector: String,
    /// The incident category.
    pub category: String,
    /// The number of reports, `null` when suppressed.
    pub count: Option<u64>,
}

/// Published statistics for one quarter (FORMATS.md "Statistics").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatsRecord {
    /// `YYYY-Qn`.
    pub period: String,
    /// Fewest reports a published cell holds.
    pub threshold: u64,
    /// Fewest distinct organisations a published cell's reports come from.
    pub min_organisations: u64,
    /// Every sector × category with at least one report.
    pub cells: Vec<CellRecord>,
    /// Reports per sector (`null` when it would reveal a suppressed cell).
    pub sector_totals: BTreeMap<String, Option<u64>>,
    /// Reports per category.
    pub category_totals: BTreeMap<String, Option<u64>>,
    /// All reports of the quarter.
    pub total: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        "2026-09-02T00:00:00Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn sample() -> serde_json::Value {
        json!({
            "reporter": "hospital-south", "aware_at": "2026-09-01T10:00:00Z",
            "occurred_at": "2026-09-01T08:30:00Z", "classified_at": null, "reportable_at": null,
            "category": "intrusions", "type": "system-compromise", "title": "Ransomware",
            "description": "…", "significant": true, "personal_data": false,
            "cross_border": false, "malicious": true, "affected_services": [], "systems": []
        })
    }

    #[test]
    fn the_documented_example_parses() {
        let r = parse_report(sample(), now());
        assert!(r.is_ok(), "{r:?}");
    }

    #[test]
    fn every_problem_is_named() {
        let mut v = sample();
        v["aware_at"] = json!("yesterday");
        v["category"] = json!("hacking");
        v["title"] = json!("");
        let issues = parse_report(v, now()).err().unwrap_or_default();
        let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, ["aware_at", "category", "title"]);

        let mut v = sample();
        v["type"] = json!("phishing");
        v["occurred_at"] = json!("2026-09-01T11:00:00Z");
        let issues = parse_report(v, now()).err().unwrap_or_default();
        let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, ["occurred_at", "type"]);

        let mut v = sample();
        v["aware_at"] = json!("2026-09-03T00:00:00Z");
        let issues = parse_report(v, now()).err().unwrap_or_default();
        assert!(issues[0].reason.contains("future"), "{issues:?}");

        let mut v = sample();
        v["signficant"] = json!(true);
        let issues = parse_report(v, now()).err().unwrap_or_default();
        assert!(issues[0].reason.contains("signficant"), "{issues:?}");

        let mut v = sample();
        if let Some(o) = v.as_object_mut() {
            o.remove("malicious");
        }
        let issues = parse_report(v, now()).err().unwrap_or_default();
        assert!(issues[0].reason.contains("malicious"), "{issues:?}");
    }
}
