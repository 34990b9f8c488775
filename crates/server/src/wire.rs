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
