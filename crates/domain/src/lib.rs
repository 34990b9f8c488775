//! schakel's vocabulary: the pure types every other crate speaks.
//!
//! Values are parsed at the edge: a [`OrgSlug`], [`Sector`], [`IpPrefix`], [`DomainName`]
//! or [`Organisation`] that exists is valid. Nothing in this crate does IO, knows SQL, HTTP,
//! JSON or the policy engine; functions take the date they reason about instead of reading
//! a clock.

#[macro_use]
mod vocabulary;

mod access;
mod contact;
mod designation;
mod error;
mod item;
mod jurisdiction;
mod network;
mod organisation;
mod reach;
mod registry;
mod report;
mod reporting;
mod sector;
mod slug;
mod time;

pub use access::{Principal, Role};
pub use contact::{Contact, EmailAddress, PgpPublicKey, WebhookUrl};
pub use designation::{Designation, SecrecyGuarantee, Status};
pub use error::{FieldIssue, ValueError};
pub use item::{
    Channel, ConfidentialityMarker, Cve, DeliveryState, ItemKind, ItemStatus, Purpose,
    SourceRestriction, Tlp,
};
pub use jurisdiction::Jurisdiction;
pub use network::{Asn, DomainName, IpPrefix};
pub use organisation::{Organisation, OrganisationDraft, Serves};
pub use reach::{AddressScope, WebhookTargets, address_scope};
pub use registry::{Registry, RegistryIssue, check_registry};
pub use report::{
    DisruptionNature, Impact, IncidentCategory, IncidentReport, Priority, ReportStatus,
};
pub use reporting::{
    Anchor, Applies, Clocks, Deadline, Due, Period, Regime, RegimeTable, ReportFact, ReporterFacts,
    ReportingClock, Step, Submission,
};
pub use sector::{DEFAULT_SECTORS, Sector, SectorVocabulary};
pub use slug::OrgSlug;
pub use time::{AMSTERDAM, Date, day_start, legal_date, parse_date};
