//! schakel's persistence: the [`Store`] trait every backend implements, and the embedded
//! SQLite backend ([`SqliteStore`]).
//!
//! The store keeps what it is given and answers queries; it holds no business rules (what
//! makes a registry valid lives in `schakel-domain` and `schakel-app`). It does own the
//! audit chain: every appended entry is hashed together with the previous entry's hash.

mod audit;
mod distribution;
mod feeds;
mod reports;
mod sqlite;
mod sqlite_distribution;
mod sqlite_feeds;
mod sqlite_reports;

use std::net::IpAddr;

use jiff::Timestamp;
use schakel_domain::{Date, IpPrefix, OrgSlug, Organisation, Role, Status, Tlp};

pub use audit::{AuditEntry, GENESIS_HASH, NewAuditEntry, entry_hash};
pub use distribution::{
    ApprovalRow, DeliveryQuery, DeliveryRow, DeliveryUpdate, ForwardingRow, ItemQuery, ItemRow,
    ItemVersionRow, NewDelivery,
};
pub use feeds::{FeedInputRow, FeedMessageRow, FeedRowRow, FeedRunProgress, FeedRunRow};
pub use reports::{
    AdviceRow, ReportEventRow, ReportQuery, ReportRow, StandingApprovalRow, SubmissionRow,
};
pub use sqlite::SqliteStore;

/// Failures of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or queried.
    #[error("database error: {0}")]
    Database(String),
    /// The database holds something this version of schakel cannot read.
    #[error("the database holds an unreadable value: {0}")]
    Corrupt(String),
    /// The database was written by a newer schakel.
    #[error("the database schema is version {found}; this schakel knows up to {known}")]
    SchemaTooNew {
        /// Version in the file.
        found: i64,
        /// Latest version this build knows.
        known: i64,
    },
    /// A uniqueness or reference constraint failed.
    #[error("constraint violated: {0}")]
    Constraint(String),
}

/// A storage backend. Work happens in transactions: [`Store::read`] for a consistent
/// snapshot, [`Store::write`] for changes (writers are serialised). A transaction that is
/// dropped without [`Tx::commit`] is rolled back, so nothing is ever half-written.
pub trait Store: Send + Sync {
    /// Starts a read-only transaction.
    fn read(&self) -> Result<Box<dyn Tx + '_>, StoreError>;
    /// Starts a write transaction.
    fn write(&self) -> Result<Box<dyn Tx + '_>, StoreError>;
    /// A short name of the backend and where it keeps data, for start-up messages.
    fn describe(&self) -> String;
    /// Background housekeeping between requests (SQLite: a passive WAL checkpoint, so that
    /// commits rarely pay for one).
    fn checkpoint(&self) -> Result<(), StoreError>;
}

/// Which organisations a listing wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganisationQuery {
    /// Only organisations with this sector (any position).
    pub sector: Option<String>,
    /// Only organisations holding this status on `on`.
    pub status: Option<Status>,
    /// Only this organisation (a recipient sees only itself).
    pub only: Option<OrgSlug>,
    /// The date designations and `ended` are taken on.
    pub on: Date,
    /// Also list organisations ended on `on`.
    pub include_ended: bool,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return at most.
    pub limit: u64,
}

/// A page of organisations, ordered by slug, and how many matched in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganisationPage {
    /// This page.
    pub organisations: Vec<Organisation>,
    /// Matches over all pages.
    pub total: u64,
}

/// A registered prefix that covers an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixMatch {
    /// The organisation holding it.
    pub organisation: OrgSlug,
    /// The prefix.
    pub prefix: IpPrefix,
}

/// A stored API token. The secret is never stored, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Public id, used to list and revoke.
    pub id: String,
    /// SHA-256 of the secret.
    pub secret_hash: [u8; 32],
    /// What it may do.
    pub role: Role,
    /// The person it belongs to (or a recipient token's label).
    pub name: String,
    /// A recipient token's organisation.
    pub organisation: Option<OrgSlug>,
    /// When it was made.
    pub created_at: Timestamp,
    /// Who made it.
    pub created_by: String,
    /// When it stops working.
    pub expires_at: Option<Timestamp>,
    /// When it was revoked.
    pub revoked_at: Option<Timestamp>,
}

/// One transaction. Registry, tokens and audit entries written in one transaction become
/// visible together or not at all.
pub trait Tx {
    /// Every organisation, ordered by slug.
    fn organisations(&mut self) -> Result<Vec<Organisation>, StoreError>;
    /// One organisation.
    fn organisation(&mut self, slug: &OrgSlug) -> Result<Option<Organisation>, StoreError>;
    /// A filtered page of organisations.
    fn find_organisations(
        &mut self,
        query: &OrganisationQuery,
    ) -> Result<OrganisationPage, StoreError>;
    /// A number that changes whenever the registry changes (in any process).
    fn registry_version(&mut self) -> Result<i64, StoreError>;
    /// Creates or replaces an organisation by slug.
    fn put_organisation(&mut self, organisation: &Organisation) -> Result<(), StoreError>;
    /// Every prefix covering `addr` held by an organisation not ended on `on`, most
    /// specific first.
    fn prefix_matches(&mut self, addr: IpAddr, on: Date) -> Result<Vec<PrefixMatch>, StoreError>;

    /// Appends to the audit chain and returns the entry with its sequence number and hash.
    fn append_audit(&mut self, entry: NewAuditEntry) -> Result<AuditEntry, StoreError>;
    /// Audit entries about one subject (such as `organisation:z-cert`), oldest first.
    fn audit_entries(&mut self, subject: &str) -> Result<Vec<AuditEntry>, StoreError>;
    /// Every audit entry, oldest first.
    fn audit_log(&mut self) -> Result<Vec<AuditEntry>, StoreError>;

    /// Stores a new token.
    fn insert_token(&mut self, token: &TokenRecord) -> Result<(), StoreError>;
    /// The token whose secret hashes to `secret_hash`.
    fn token_by_secret_hash(
        &mut self,
        secret_hash: &[u8; 32],
    ) -> Result<Option<TokenRecord>, StoreError>;
    /// One token by id.
    fn token(&mut self, id: &str) -> Result<Option<TokenRecord>, StoreError>;
    /// Every token, oldest first.
    fn tokens(&mut self) -> Result<Vec<TokenRecord>, StoreError>;
    /// Marks a token revoked.
    fn revoke_token(&mut self, id: &str, at: Timestamp) -> Result<(), StoreError>;

    /// Creates or updates an item's row.
    fn put_item(&mut self, item: &ItemRow) -> Result<(), StoreError>;
    /// Stores a version of an item (versions are never changed).
    fn insert_item_version(&mut self, version: &ItemVersionRow) -> Result<(), StoreError>;
    /// One item.
    fn item(&mut self, id: &str) -> Result<Option<ItemRow>, StoreError>;
    /// One version of an item.
    fn item_version(
        &mut self,
        id: &str,
        version: u32,
    ) -> Result<Option<ItemVersionRow>, StoreError>;
    /// A filtered page of items, newest first, and how many matched in all.
    fn find_items(&mut self, query: &ItemQuery) -> Result<(Vec<ItemRow>, u64), StoreError>;
    /// Records an approval (recording the same one twice changes nothing).
    fn insert_approval(&mut self, approval: &ApprovalRow) -> Result<(), StoreError>;
    /// Every approval of an item, oldest first.
    fn approvals(&mut self, item_id: &str) -> Result<Vec<ApprovalRow>, StoreError>;

    /// Enqueues deliveries (only ever from permits).
    fn insert_deliveries(&mut self, deliveries: &[NewDelivery<'_>]) -> Result<(), StoreError>;
    /// One delivery.
    fn delivery(&mut self, id: &str) -> Result<Option<DeliveryRow>, StoreError>;
    /// A filtered page of deliveries, oldest first, and how many matched in all.
    fn find_deliveries(
        &mut self,
        query: &DeliveryQuery,
    ) -> Result<(Vec<DeliveryRow>, u64), StoreError>;
    /// Changes a delivery's state; false when there is no such delivery.
    fn update_delivery(&mut self, id: &str, update: &DeliveryUpdate) -> Result<bool, StoreError>;
    /// Marks a delivery acknowledged; false when it already was (or does not exist).
    fn acknowledge(&mut self, id: &str, at: Timestamp, by: &str) -> Result<bool, StoreError>;
    /// Marks an inbox delivery reminded; false when it already was.
    fn mark_reminded(&mut self, id: &str, at: Timestamp) -> Result<bool, StoreError>;
    /// Records a forwarding confirmation; false when it was already recorded.
    fn insert_forwarding(&mut self, forwarding: &ForwardingRow) -> Result<bool, StoreError>;
    /// The forwarding confirmations of a delivery.
    fn forwardings(&mut self, delivery_id: &str) -> Result<Vec<ForwardingRow>, StoreError>;
    /// An organisation's webhook signing secret.
    fn webhook_secret(&mut self, slug: &OrgSlug) -> Result<Option<String>, StoreError>;
    /// Every organisation with a webhook signing secret.
    fn webhook_secret_holders(&mut self) -> Result<Vec<OrgSlug>, StoreError>;
    /// Sets an organisation's webhook signing secret.
    fn put_webhook_secret(
        &mut self,
        slug: &OrgSlug,
        secret: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// Creates or updates a report's row.
    fn put_report(&mut self, report: &ReportRow) -> Result<(), StoreError>;
    /// One report.
    fn report(&mut self, id: &str) -> Result<Option<ReportRow>, StoreError>;
    /// A filtered page of reports, newest awareness first, and how many matched in all.
    fn find_reports(&mut self, query: &ReportQuery) -> Result<(Vec<ReportRow>, u64), StoreError>;
    /// Appends to a report's history.
    fn insert_report_event(&mut self, event: &ReportEventRow) -> Result<(), StoreError>;
    /// A report's history, oldest first.
    fn report_events(&mut self, report_id: &str) -> Result<Vec<ReportEventRow>, StoreError>;
    /// Records a submission; false when that step was already recorded.
    fn insert_submission(&mut self, submission: &SubmissionRow) -> Result<bool, StoreError>;
    /// A report's recorded submissions.
    fn submissions(&mut self, report_id: &str) -> Result<Vec<SubmissionRow>, StoreError>;
    /// Creates or updates written advice.
    fn put_advice(&mut self, advice: &AdviceRow) -> Result<(), StoreError>;
    /// One piece of written advice.
    fn advice(&mut self, id: &str) -> Result<Option<AdviceRow>, StoreError>;
    /// All written advice, earliest follow-up first.
    fn all_advice(&mut self) -> Result<Vec<AdviceRow>, StoreError>;

    /// Records a standing approval of a feed report type (at most one live per type).
    fn insert_standing_approval(
        &mut self,
        approval: &StandingApprovalRow,
    ) -> Result<(), StoreError>;
    /// Revokes the live standing approval of a report type; false when there is none.
    fn revoke_standing_approval(
        &mut self,
        report: &str,
        at: Timestamp,
        by: &str,
    ) -> Result<bool, StoreError>;
    /// Every standing approval, revoked ones too, by report type then age.
    fn standing_approvals(&mut self) -> Result<Vec<StandingApprovalRow>, StoreError>;

    /// Records a feed run.
    fn insert_feed_run(&mut self, run: &FeedRunRow) -> Result<(), StoreError>;
    /// Replaces a feed run's summary; false when there is no such run.
    fn update_feed_run_summary(
        &mut self,
        id: &str,
        summary: &serde_json::Value,
    ) -> Result<bool, StoreError>;
    /// One feed run.
    fn feed_run(&mut self, id: &str) -> Result<Option<FeedRunRow>, StoreError>;
    /// A feed run's summary as recorded.
    fn feed_run_summary(&mut self, id: &str) -> Result<Option<serde_json::Value>, StoreError>;
    /// Where a run's messages stand now: their items' statuses, and how many still have
    /// a delivery pending or held.
    fn feed_run_progress(&mut self, run_id: &str) -> Result<FeedRunProgress, StoreError>;
    /// A page of feed runs, newest first, and how many there are.
    fn feed_runs(&mut self, limit: u64, offset: u64) -> Result<(Vec<FeedRunRow>, u64), StoreError>;
    /// Deletes a run's rows and inputs' columns and marks it purged; how many rows went.
    fn purge_feed_rows(&mut self, run_id: &str, at: Timestamp) -> Result<u64, StoreError>;
    /// Records the columns of a run's input.
    fn insert_feed_input(&mut self, input: &FeedInputRow) -> Result<(), StoreError>;
    /// The inputs of a run, by number.
    fn feed_inputs(&mut self, run_id: &str) -> Result<Vec<FeedInputRow>, StoreError>;
    /// Records a notified row.
    fn insert_feed_row(&mut self, row: &FeedRowRow) -> Result<(), StoreError>;
    /// A page of one organisation's rows of a report type under a TLP in a run, in input
    /// order, and how many there are (`None`: rows stored before rows had their own TLP).
    fn feed_rows(
        &mut self,
        run_id: &str,
        report: &str,
        tlp: Option<Tlp>,
        organisation: &OrgSlug,
        limit: u64,
        offset: u64,
    ) -> Result<(Vec<FeedRowRow>, u64), StoreError>;
    /// Records a run's message (its item must exist).
    fn insert_feed_message(&mut self, message: &FeedMessageRow) -> Result<(), StoreError>;
    /// The feed message an item is, if it is one.
    fn feed_message(&mut self, item_id: &str) -> Result<Option<FeedMessageRow>, StoreError>;
    /// A run's messages, by recipient and report type.
    fn feed_messages(&mut self, run_id: &str) -> Result<Vec<FeedMessageRow>, StoreError>;
    /// Every message to a recipient about a report type under a TLP, over all runs, oldest
    /// first.
    fn feed_messages_to(
        &mut self,
        recipient: &OrgSlug,
        report: &str,
        tlp: Option<Tlp>,
    ) -> Result<Vec<FeedMessageRow>, StoreError>;

    /// Makes the transaction's changes durable.
    fn commit(self: Box<Self>) -> Result<(), StoreError>;
}
