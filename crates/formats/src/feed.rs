//! The feed run summary (FORMATS.md "Feed run summary").

use std::collections::BTreeMap;

use serde::Serialize;

/// One input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedFileRecord {
    /// As given (`-` for standard input).
    pub path: String,
    /// `shadowserver`, `csv`, `stix` or `misp`.
    pub format: String,
    /// The report type.
    pub report: String,
    /// Its data records.
    pub rows: u64,
}

/// A record that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MalformedLineRecord {
    /// The file.
    pub file: String,
    /// The physical line where the record starts (header = line 1).
    pub line: u64,
    /// What is wrong.
    pub reason: String,
}

/// Notifications: one message to one recipient.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationCounts {
    /// Messages the rulebook permits.
    pub permitted: u64,
    /// Messages it denies for every organisation they would be about.
    pub denied: u64,
}

/// Denied notifications of one kind: who, why, and what would permit them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedDenyRecord {
    /// The candidate recipient.
    pub recipient: String,
    /// The report type.
    pub report: String,
    /// The organisations the events are about.
    pub organisations: Vec<String>,
    /// The restrictions that fired (rule ids), or `no_basis`.
    pub reasons: Vec<String>,
    /// The single changes that would permit, in plain English.
    pub remedies: Vec<String>,
}

/// A permitted notification (one message to one recipient).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedNotificationRecord {
    /// The recipient.
    pub recipient: String,
    /// The report type.
    pub report: String,
    /// `direct` or `via_linking_organisation`.
    pub route: String,
    /// The organisations it has a section for (the recipient itself when direct).
    pub organisations: Vec<String>,
    /// Events in it, after de-duplication.
    pub events: u64,
    /// The legal bases.
    pub bases: Vec<String>,
    /// Conditions that travel with it.
    pub conditions: Vec<String>,
    /// Potentially significant consequences (a high or critical event).
    pub serious: bool,
    /// Its TLP.
    pub tlp: String,
}

/// A standing approval of a report type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StandingApprovalRecord {
    /// The report type.
    pub report: String,
    /// The person who gave it.
    pub approved_by: String,
    /// When (RFC 3339 UTC).
    pub approved_at: String,
    /// Why, or under which conditions.
    pub note: Option<String>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
    /// By whom.
    pub revoked_by: Option<String>,
}

/// The summary of one feed run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedSummaryRecord {
    /// Each input.
    pub files: Vec<FeedFileRecord>,
    /// Data records (a CSV header is not one; for STIX and MISP an indicator or attribute).
    pub rows: u64,
    /// Records read as events.
    pub parsed: u64,
    /// Records that could not be read.
    pub malformed: u64,
    /// At least the first 100 of them.
    pub malformed_lines: Vec<MalformedLineRecord>,
    /// Events resolved to an organisation.
    pub resolved: u64,
    /// Events that were not.
    pub unresolved: u64,
    /// Events removed as repeats (within the run, or notified within the window).
    pub deduplicated: u64,
    /// Resolved events per organisation, before de-duplication.
    pub by_organisation: BTreeMap<String, u64>,
    /// Messages permitted and denied.
    pub notifications: NotificationCounts,
    /// Whether nothing was changed (`--plan-only`).
    pub plan_only: bool,
    /// The permitted messages.
    pub permitted: Vec<FeedNotificationRecord>,
    /// The denied ones, grouped by recipient, report and reasons.
    pub denied: Vec<FeedDenyRecord>,
    /// Per report type of the run: its live standing approval, if any, and whether it
    /// covers this run (it does not when the approver is the person running the feed).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub standing_approvals: BTreeMap<String, Option<StandingApprovalUse>>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Whether a standing approval covers a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StandingApprovalUse {
    /// The person who gave it.
    pub approved_by: String,
    /// When.
    pub approved_at: String,
    /// False when the person running the feed gave it: four eyes need two people.
    pub covers_this_run: bool,
}
