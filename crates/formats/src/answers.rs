//! JSON answers shared by the HTTP API and the CLI's `--json` output, so that both speak
//! exactly the same shape.

use serde::Serialize;

/// Who owns an address (`schakel owner IP --json`, `GET /api/v1/owner/{ip}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OwnerRecord {
    /// The address asked about.
    pub ip: String,
    /// The date ownership was taken on (YYYY-MM-DD, Europe/Amsterdam).
    pub at: String,
    /// The owner's slug.
    pub organisation: String,
    /// The owner's name.
    pub name: String,
    /// The owner's prefix: the longest registered prefix covering the address.
    pub prefix: String,
    /// Every covering prefix of an organisation not ended on the date, most specific first.
    pub matches: Vec<PrefixMatchRecord>,
}

/// A registered prefix covering an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrefixMatchRecord {
    /// Holder's slug.
    pub organisation: String,
    /// The prefix.
    pub prefix: String,
}

/// One recorded change of an organisation (`schakel org history SLUG --json`,
/// `GET /api/v1/organisations/{slug}/history`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryRecord {
    /// Position in the audit log.
    pub seq: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Who.
    pub actor: String,
    /// `organisation.create`, `organisation.update` or `organisation.end`.
    pub action: String,
    /// The fields that changed.
    pub changes: Vec<FieldChangeRecord>,
}

/// A changed field of the registry record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldChangeRecord {
    /// The field.
    pub field: String,
    /// Value before (`null` when absent).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub before: serde_json::Value,
    /// Value after (`null` when absent).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub after: serde_json::Value,
}
