//! What the store keeps of incident reports: the reports, their history, the steps
//! submitted to authorities, and written advice.

use jiff::Timestamp;
use schakel_domain::{Date, IncidentCategory, OrgSlug, ReportStatus};

/// A report's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    /// `rpt_…`.
    pub id: String,
    /// The reporting organisation.
    pub reporter: OrgSlug,
    /// When the reporter became aware.
    pub aware_at: Timestamp,
    /// Its taxonomy class.
    pub category: IncidentCategory,
    /// Its title.
    pub title: String,
    /// Where it stands.
    pub status: ReportStatus,
    /// The report as filed (FORMATS.md "Incident report").
    pub content: serde_json::Value,
    /// The centre's assessment.
    pub triage: serde_json::Value,
    /// When it was filed.
    pub filed_at: Timestamp,
    /// By whom.
    pub filed_by: String,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// Which reports a listing wants (newest awareness first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportQuery {
    /// Only this organisation's.
    pub reporter: Option<OrgSlug>,
    /// Only in this state.
    pub status: Option<ReportStatus>,
    /// Only those with `aware_at` at or after this instant.
    pub aware_from: Option<Timestamp>,
    /// Only those with `aware_at` before this instant.
    pub aware_before: Option<Timestamp>,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return at most.
    pub limit: u64,
}

/// One entry of a report's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportEventRow {
    /// The report.
    pub report_id: String,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: String,
    /// What kind of change.
    pub action: String,
    /// What changed.
    pub detail: serde_json::Value,
}

/// A reporting step submitted to an authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionRow {
    /// The report.
    pub report_id: String,
    /// The regime.
    pub regime: String,
    /// The step.
    pub step: String,
    /// When it was submitted.
    pub submitted_at: Timestamp,
    /// When that was recorded.
    pub recorded_at: Timestamp,
    /// By whom.
    pub recorded_by: String,
}

/// Written advice to an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdviceRow {
    /// `adv_…`.
    pub id: String,
    /// The organisation advised.
    pub organisation: OrgSlug,
    /// The report it follows from.
    pub report_id: Option<String>,
    /// Title, measures and CVEs (JSON).
    pub content: serde_json::Value,
    /// When the measures must be confirmed.
    pub follow_up: Date,
    /// When it was given.
    pub given_at: Timestamp,
    /// By whom.
    pub given_by: String,
    /// When the measures were confirmed.
    pub confirmed_at: Option<Timestamp>,
    /// Who recorded the confirmation.
    pub confirmed_by: Option<String>,
    /// What the organisation said.
    pub confirmation: Option<String>,
    /// When it was escalated.
    pub escalated_at: Option<Timestamp>,
    /// The escalation item.
    pub escalation_item: Option<String>,
}

/// A standing approval of a feed report type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandingApprovalRow {
    /// The report type (`scan_http`).
    pub report: String,
    /// The person who gave it.
    pub approved_by: String,
    /// When.
    pub approved_at: Timestamp,
    /// Why, or under which conditions.
    pub note: Option<String>,
    /// When it was revoked.
    pub revoked_at: Option<Timestamp>,
    /// By whom.
    pub revoked_by: Option<String>,
}
