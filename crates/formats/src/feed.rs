//! The feed run summary (FORMATS.md "Feed run summary").

use std::collections::BTreeMap;

use serde::Serialize;

/// One input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationCounts {
    /// Messages the rulebook permits.
    pub permitted: u64,
    /// Messages it denies for every organisation they would be about.
    pub denied: u64,
}

/// Denied notifications of one kind: who, why, and what would permit them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedDenyRecord {
    /// The candidate recipient.
    pub recipient: String,
    /// The report type.
    pub report: String,
    /// The TLP of the events (their source's marking, else the report type's default).
    #[serde(default)]
    pub tlp: String,
    /// The organisations the events are about.
    pub organisations: Vec<String>,
    /// The restrictions that fired (rule ids), or `no_basis`.
    pub reasons: Vec<String>,
    /// The single changes that would permit, in plain English.
    pub remedies: Vec<String>,
}

/// A permitted notification (one message to one recipient).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
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
    /// The item that is this message (a run that sends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// `sent` (deliveries enqueued under the report type's standing approval) or
    /// `awaiting_approval` (a second person approves the item); a run that sends only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Deliveries enqueued for it (inbox, email, webhook).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<u64>,
    /// Earlier runs' messages to the same recipient about the same report type that were
    /// never sent (waiting for approval): withdrawn, this one replaces them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supersedes: Vec<String>,
}

/// A standing approval of a report type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
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
    /// The run's id (`run_…`), when it sent (was not `--plan-only`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// What went wrong after the run was recorded (such as the de-duplication state not
    /// being written), for the operator.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// One message of a run and whether it reached its recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedMessageStateRecord {
    /// The item that is the message.
    pub item: String,
    /// Its status (`sent`, `awaiting_approval`, …).
    pub status: String,
    /// The recipient.
    pub recipient: String,
    /// The report type.
    pub report: String,
    /// The TLP of its rows (empty for messages of runs before rows had their own).
    #[serde(default)]
    pub tlp: String,
    /// The organisations it has a section for.
    pub organisations: Vec<String>,
    /// Their events.
    pub events: u64,
    /// Per channel (`inbox`, `email`, `webhook`), the state of its latest delivery
    /// (`pending`, `delivered`, `held`, `dead`).
    pub deliveries: BTreeMap<String, String>,
    /// When the recipient acknowledged it, if it did.
    pub acknowledged_at: Option<String>,
}

/// One feed run: the listing's figures, each message with whether it reached its
/// recipient, and the summary as recorded when it ran.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedRunDetailRecord {
    /// The run.
    pub run: FeedRunRecord,
    /// When its rows were deleted (retention), if they were.
    pub rows_purged_at: Option<String>,
    /// Its messages, by recipient and report type.
    pub messages: Vec<FeedMessageStateRecord>,
    /// The summary as recorded.
    pub summary: FeedSummaryRecord,
}

/// What a retention purge did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedPurgeRecord {
    /// Runs that started before this date (midnight in Amsterdam) were considered.
    pub before: String,
    /// Runs whose rows were deleted.
    pub purged: Vec<FeedPurgedRunRecord>,
    /// Runs whose rows are still needed, and why.
    pub kept: Vec<FeedKeptRunRecord>,
}

/// A run whose rows a purge deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedPurgedRunRecord {
    /// The run.
    pub run: String,
    /// When it started.
    pub started_at: String,
    /// Rows deleted.
    pub rows: u64,
}

/// A run a purge left alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedKeptRunRecord {
    /// The run.
    pub run: String,
    /// Why its rows are still needed.
    pub reason: String,
}

/// A feed run in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedRunRecord {
    /// `run_…`.
    pub id: String,
    /// The person who ran it.
    pub run_by: String,
    /// When it started (RFC 3339 UTC).
    pub started_at: String,
    /// Its report types.
    pub reports: Vec<String>,
    /// Data records read.
    pub rows: u64,
    /// Messages sent (now: under the standing approval, or approved later).
    pub sent: u64,
    /// Messages not sent yet (waiting for a second person's approval).
    pub awaiting_approval: u64,
    /// Messages withdrawn (retracted, or replaced by a later run before they were sent).
    pub retracted: u64,
    /// Messages with a delivery still pending or held.
    pub undelivered: u64,
}

/// One organisation's rows in a feed message: the columns of its inputs (in order of
/// first appearance) and, per row, a value per column (empty where its input lacks it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedSectionRecord {
    /// The organisation the rows are about.
    pub organisation: String,
    /// The report type.
    pub report: String,
    /// Column names.
    pub columns: Vec<String>,
    /// The rows on this page, each as many values as there are columns.
    pub rows: Vec<Vec<String>>,
    /// Rows in all.
    pub total: u64,
}

impl FeedSectionRecord {
    /// The rows as CSV (RFC 4180, a header line first).
    pub fn csv(&self) -> String {
        std::iter::once(&self.columns)
            .chain(&self.rows)
            .map(|fields| crate::csv_line(fields.iter().map(String::as_str)))
            .collect()
    }

    /// The rows as JSON objects, column name to value (empty values left out).
    pub fn objects(&self) -> Vec<serde_json::Map<String, serde_json::Value>> {
        self.rows
            .iter()
            .map(|row| {
                self.columns
                    .iter()
                    .zip(row)
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(c, v)| (c.clone(), serde_json::Value::String(v.clone())))
                    .collect()
            })
            .collect()
    }
}

/// Whether a standing approval covers a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StandingApprovalUse {
    /// The person who gave it.
    pub approved_by: String,
    /// When.
    pub approved_at: String,
    /// False when the person running the feed gave it: four eyes need two people.
    pub covers_this_run: bool,
}
