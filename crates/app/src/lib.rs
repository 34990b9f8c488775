//! schakel's use cases, independent of how they are reached (HTTP or terminal).
//!
//! [`App`] holds a [`Store`] and the settings; every method is one use case, takes the
//! [`Principal`] asking, enforces who may do it, runs in one store transaction and records
//! every change in the audit log. Nothing here knows about HTTP, terminals or JSON bodies
//! beyond the documented exchange formats.

mod access;
mod advice;
mod audit;
mod decide;
mod deliver;
mod demo;
mod error;
mod feed_send;
mod feeds;
mod history;
mod inbox;
mod items;
mod plan;
mod redact;
mod registry;
mod reports;
mod review;
mod secrets;
mod stats;
mod suppress;
mod tokens;
mod woo;

use std::sync::Arc;

use jiff::Timestamp;
use schakel_domain::{
    Date, Principal, RegimeTable, Role, SectorVocabulary, WebhookTargets, legal_date,
};
use schakel_rulebook::RulebookSet;
use schakel_store::Store;

pub use advice::{Advice, AdviceState};
pub use audit::{SignedHead, Signer, Verification};
pub use deliver::{CONCURRENCY, Courier, CourierError, DeliveryRun, Outgoing, REMINDER_SUFFIX};
pub use demo::DEMO_REGISTRY;
pub use error::AppError;
pub use feeds::{DEFAULT_WINDOW_DAYS, FeedInput, FeedOptions, FeedProgress};
pub use history::{FieldChange, HistoryEntry};
pub use inbox::{DeliveryPage, MemberRow, delivery_record, member_rows_csv};
pub use items::{ItemPage, ItemView, Retraction, SendReport, item_summary};
pub use plan::{ChannelPlan, Plan, PlannedPermit};
pub use registry::{ImportOptions, ImportReport, OwnerAnswer};
pub use reports::{ItemFromReport, ReportPage, ReportView, clock_record};
pub use review::ReviewEntry;
pub use schakel_formats::registry::EntryError;
pub use secrets::SecretsKey;
pub use stats::{Quarter, StatsOptions, UNKNOWN_SECTOR};
pub use tokens::{IssuedToken, TokenKind, TokenRequest};
pub use woo::{DisclosedReport, MIN_SECTOR_MEMBERS, RedactionEntry, WooExport};

/// SHA-256 of `bytes`, as lowercase hex (digests in the audit log and the plan hash).
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where "now" comes from: the system clock, or a fixed instant in tests.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> Timestamp + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Arc::new(Timestamp::now))
    }

    /// A clock that asks `now` (tests that let time pass).
    pub fn from_fn(now: impl Fn() -> Timestamp + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    /// A clock that reads `start` now and runs on in real time from there (tests that need
    /// a known date but let backoffs and expiries pass).
    pub fn running_from(start: Timestamp) -> Self {
        let began = std::time::Instant::now();
        Self(Arc::new(move || {
            let elapsed = jiff::SignedDuration::try_from(began.elapsed()).unwrap_or_default();
            start.checked_add(elapsed).unwrap_or(start)
        }))
    }

    /// A clock stopped at `at`.
    pub fn fixed(at: Timestamp) -> Self {
        Self(Arc::new(move || at))
    }

    /// The current instant.
    pub fn now(&self) -> Timestamp {
        (self.0)()
    }

    /// Today's legal date (in Europe/Amsterdam).
    pub fn today(&self) -> Date {
        legal_date(self.now())
    }
}

/// The registry in memory and the store's registry version it was read at.
type CachedRegistry = (i64, Arc<schakel_domain::Registry>);

/// The application: a store, the sector vocabulary, the rulebooks and a clock.
///
/// Cloning one is cheap (reference counts only, no allocation): the server clones it for
/// every request and every task it runs on the blocking pool.
#[derive(Clone)]
pub struct App {
    store: Arc<dyn Store>,
    vocabulary: Arc<SectorVocabulary>,
    rulebooks: Arc<RulebookSet>,
    regimes: Arc<RegimeTable>,
    clock: Clock,
    /// The registry in memory, with the store's registry version it was read at.
    registry_cache: Arc<std::sync::Mutex<Option<CachedRegistry>>>,
    /// Where feed de-duplication state lives (beside the database).
    feed_state: Option<Arc<std::path::Path>>,
    /// Which webhook targets registry entries may name.
    webhook_targets: WebhookTargets,
    /// The key secrets are sealed with in the store (kept outside it).
    secrets_key: Option<Arc<SecretsKey>>,
    /// The longest a field of a feed record may be, in bytes.
    feed_max_field: usize,
}

impl App {
    /// Builds the application on a store.
    pub fn new(
        store: Arc<dyn Store>,
        vocabulary: SectorVocabulary,
        rulebooks: Arc<RulebookSet>,
        clock: Clock,
    ) -> Self {
        // The shipped table, fitted to the vocabulary (`with_regimes` replaces it).
        let regimes = schakel_formats::regimes::builtin_regimes(&vocabulary, true)
            .map(|(table, _)| table)
            .unwrap_or(RegimeTable {
                regimes: vec![],
                displacement: true,
            });
        Self {
            store,
            vocabulary: Arc::new(vocabulary),
            rulebooks,
            regimes: Arc::new(regimes),
            clock,
            registry_cache: Arc::default(),
            feed_state: None,
            webhook_targets: WebhookTargets::default(),
            secrets_key: None,
            feed_max_field: schakel_feeds::DEFAULT_MAX_FIELD,
        }
    }

    /// The same application refusing feed records with a field longer than `bytes` (each
    /// such record is malformed, named by its line; the run goes on).
    pub fn with_feed_field_limit(mut self, bytes: usize) -> Self {
        self.feed_max_field = bytes.max(1);
        self
    }

    /// The same application sealing secrets in the store with `key` (webhook signing
    /// secrets; without a key none can be made).
    pub fn with_secrets_key(mut self, key: SecretsKey) -> Self {
        self.secrets_key = Some(Arc::new(key));
        self
    }

    /// The same application accepting webhook URLs to `targets` in the registry (by
    /// default only public ones; the couriers check again at every delivery).
    pub fn with_webhook_targets(mut self, targets: WebhookTargets) -> Self {
        self.webhook_targets = targets;
        self
    }

    /// The same application keeping feed de-duplication state in `dir`.
    pub fn with_feed_state(mut self, dir: std::path::PathBuf) -> Self {
        self.feed_state = Some(Arc::from(dir));
        self
    }

    /// The same application with another reporting-regime table.
    pub fn with_regimes(mut self, regimes: RegimeTable) -> Self {
        self.regimes = Arc::new(regimes);
        self
    }

    /// The rulebooks in force.
    pub fn rulebooks(&self) -> &RulebookSet {
        &self.rulebooks
    }

    /// The sector vocabulary in force.
    pub fn vocabulary(&self) -> &SectorVocabulary {
        &self.vocabulary
    }

    /// Which webhook targets this installation allows.
    pub fn webhook_targets(&self) -> WebhookTargets {
        self.webhook_targets
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// A description of the store, for start-up messages.
    pub fn describe_store(&self) -> String {
        self.store.describe()
    }

    /// Background housekeeping of the store (the server calls it between delivery passes).
    pub fn housekeeping(&self) -> Result<(), AppError> {
        Ok(self.store.checkpoint()?)
    }

    /// Checks the store answers (for `/healthz`).
    pub fn health(&self) -> Result<(), AppError> {
        let tx = self.store.read()?;
        drop(tx);
        Ok(())
    }

    /// The delivery worker (inside `schakel serve`, or `deliver --once`), as recorded in
    /// the audit log.
    pub fn delivery_worker() -> Principal {
        Principal {
            token_id: "worker".into(),
            name: "delivery-worker".into(),
            role: Role::Installation,
            organisation: None,
        }
    }

    /// The installation itself: whoever runs the binary on its files, for the commands
    /// that need only those (tokens, keys, the demo, `serve`, `org import` without a token)
    /// and the server's own duties. It is not a person: what needs one (approving,
    /// sending, reading the audit trail) it may not do.
    pub fn installation() -> Principal {
        Principal {
            token_id: "installation".into(),
            name: "installation".into(),
            role: Role::Installation,
            organisation: None,
        }
    }
}
