//! What the store keeps of feed runs that send: the run, its inputs' columns, the rows it
//! notified per organisation, and one message (an item) per recipient and report type.

use jiff::Timestamp;
use schakel_domain::{ItemStatus, OrgSlug, Tlp};

/// A feed run's row (its summary is read on its own: [`crate::Tx::feed_run_summary`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedRunRow {
    /// `run_…`.
    pub id: String,
    /// The person who ran it.
    pub run_by: String,
    /// When it started.
    pub started_at: Timestamp,
    /// Its report types.
    pub reports: Vec<String>,
    /// Data records read.
    pub rows: u64,
    /// When its rows were deleted (retention), if they were.
    pub rows_purged_at: Option<Timestamp>,
}

/// Where a run's messages stand now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedRunProgress {
    /// Messages per status of their items.
    pub by_status: Vec<(ItemStatus, u64)>,
    /// Messages with a delivery still pending or held.
    pub undelivered: u64,
}

impl FeedRunProgress {
    /// Messages whose items have this status.
    pub fn count(&self, status: ItemStatus) -> u64 {
        self.by_status
            .iter()
            .filter(|(s, _)| *s == status)
            .map(|(_, n)| n)
            .sum()
    }
}

/// The columns of one input of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedInputRow {
    /// The run.
    pub run_id: String,
    /// The input's number in the run.
    pub input: u32,
    /// As given (`-` for standard input).
    pub path: String,
    /// Its column names.
    pub columns: Vec<String>,
}

/// One notified row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedRowRow {
    /// The run.
    pub run_id: String,
    /// Its report type.
    pub report: String,
    /// The organisation it resolved to.
    pub organisation: OrgSlug,
    /// The TLP it travels under (its source's, else the report type's default); `None`
    /// for rows stored before rows had their own.
    pub tlp: Option<Tlp>,
    /// The event's number in the run (input order).
    pub event: u32,
    /// Its input (whose columns name the values).
    pub input: u32,
    /// A JSON array of strings, in the input's column order.
    pub values: String,
}

/// A message of a run: one item, to one recipient, about one report type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedMessageRow {
    /// Its item.
    pub item_id: String,
    /// The run.
    pub run_id: String,
    /// The only recipient its plans decide.
    pub recipient: OrgSlug,
    /// The report type.
    pub report: String,
    /// The TLP of its rows (`None`: stored before rows had their own; all the item's).
    pub tlp: Option<Tlp>,
    /// The organisations whose rows it carries.
    pub organisations: Vec<OrgSlug>,
    /// Their events.
    pub events: u64,
}
