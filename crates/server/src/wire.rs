//! Response bodies of the API that are not documented exchange formats of their own
//! (the organisation body is the registry file's record, from `schakel-formats`).

use schakel_formats::registry::OrganisationRecord;
use serde::Serialize;
use utoipa::ToSchema;

/// A page of organisations.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OrganisationList {
    /// This page, ordered by slug.
    pub items: Vec<OrganisationRecord>,
    /// Page number, from 1.
    pub page: u64,
    /// Page size.
    pub per_page: u64,
    /// Matches over all pages.
    pub total: u64,
}

/// Who owns an address.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OwnerView {
    /// The address asked about.
    pub ip: String,
    /// The date ownership was taken on (YYYY-MM-DD, Europe/Amsterdam).
    pub at: String,
    /// The owner's slug.
    pub organisation: String,
    /// The owner's name.
    pub name: String,
    /// The owner's prefix (the longest that covers the address).
    pub prefix: String,
    /// Every covering prefix, most specific first.
    pub matches: Vec<PrefixMatchView>,
}

/// A registered prefix covering an address.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PrefixMatchView {
    /// Holder's slug.
    pub organisation: String,
    /// The prefix.
    pub prefix: String,
}

/// One recorded change.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HistoryEntryView {
    /// Position in the audit log.
    pub seq: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Who.
    pub actor: String,
    /// `organisation.create`, `organisation.update` or `organisation.end`.
    pub action: String,
    /// The fields that changed.
    pub changes: Vec<FieldChangeView>,
}

/// A changed field.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FieldChangeView {
    /// Field of the registry record.
    pub field: String,
    /// Value before (`null` when absent).
    #[schema(value_type = Object)]
    pub before: serde_json::Value,
    /// Value after (`null` when absent).
    #[schema(value_type = Object)]
    pub after: serde_json::Value,
}

/// The caller.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Me {
    /// The token's public id.
    pub token_id: String,
    /// The person (or a recipient token's label).
    pub name: String,
    /// `analyst`, `legal`, `admin` or `recipient`.
    pub role: String,
    /// A recipient token's organisation.
    pub organisation: Option<String>,
}

/// The answer of `/healthz`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    /// `ok` when the store answers.
    pub status: String,
}
