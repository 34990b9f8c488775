//! schakel's bulk feeds: scan and abuse reports (Shadowserver CSV, a mapped CSV, STIX 2.1,
//! MISP) read in one streaming pass, every event resolved to the organisation that owns
//! it (longest registered prefix, then domain, then ASN), counted per organisation and
//! report type, and de-duplicated within the run and against earlier runs.
//!
//! This crate decides nothing about sharing: it says whose events these are. The
//! application turns each organisation's events into notifications and asks the rulebook.
//! It reads the streams it is given and keeps the de-duplication state in files; it knows
//! no database, no HTTP and no terminal.

mod dedup;
mod documents;
mod facts;
mod ingest;
mod mapping;
mod marking;
mod pattern;
mod private;
mod report;
mod resolve;
mod rows;

pub use dedup::{DedupOutcome, SeenState, StateLock};
pub use facts::{FactsTable, NOTIFICATION_FACTS, NotificationFacts};
pub use ingest::{
    Aggregate, DEFAULT_MAX_FIELD, FileSummary, Format, Ingest, Ingested, MALFORMED_NAMED,
    MISP_COLUMNS, MalformedLine, PROGRESS_EVERY, STIX_COLUMNS,
};
pub use mapping::{CONVERSIONS, Mapping, parse_mapping};
pub use marking::STIX_TLP_MARKINGS;
pub use private::remove_orphaned_spools;
pub use report::{
    Columns, ReportTable, ReportType, SHADOWSERVER_REPORTS, Severity, report_from_file_name,
};
pub use resolve::Resolver;
pub use rows::{KeptRow, KeptRows};

/// Why a feed run could not go on (a malformed record is not one: it is counted).
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// A report table, schema, mapping or facts file is wrong.
    #[error("{0}")]
    Schema(String),
    /// An input cannot be read at all (not a single record's problem).
    #[error("{0}")]
    Input(String),
    /// The de-duplication state or spool failed.
    #[error("{0}")]
    Io(String),
}
