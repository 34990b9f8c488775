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

/// A rulebook and its rules.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RulebookView {
    /// Its id (`wbni-2018`, `wbni-2022`, `cbw-2026`).
    pub id: String,
    /// First day in force.
    pub from: String,
    /// Last day in force (`null`: until further notice).
    pub until: Option<String>,
    /// `sha256:` of its text and the schema; recorded with every decision.
    pub hash: String,
    /// Its rules in file order.
    pub rules: Vec<RuleView>,
}

/// A rule of a rulebook.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RuleView {
    /// The policy's id.
    pub id: String,
    /// The rule it belongs to, as reported in decisions.
    pub rule: String,
    /// `definition`, `basis`, `restriction` or `condition`.
    pub kind: String,
    /// Legal citation.
    pub citation: Option<String>,
    /// The rulebook marks the citation as resting on secondary sources: a legal officer
    /// should confirm it.
    pub citation_uncertain: bool,
    /// Explanation in English.
    pub explanation: String,
    /// Explanation in Dutch.
    pub explanation_nl: String,
}

/// The page a listing asks for (`page` from 1, `per_page` up to 1,000, default 50).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paging {
    /// Page number, from 1.
    pub page: u64,
    /// Page size.
    pub per_page: u64,
}

impl Paging {
    /// The query's `page` and `per_page`.
    pub(crate) fn from_params(
        params: &std::collections::HashMap<String, String>,
    ) -> Result<Self, crate::ApiError> {
        Ok(Self {
            page: crate::routes::number_param(params, "page", 1, u64::from(u32::MAX))?,
            per_page: crate::routes::number_param(params, "per_page", 50, 1000)?,
        })
    }

    /// How many to skip.
    pub(crate) fn offset(self) -> u64 {
        (self.page - 1).saturating_mul(self.per_page)
    }

    /// This page of a listing.
    pub(crate) fn of<T: ToSchema>(self, items: Vec<T>, total: u64) -> Page<T> {
        Page {
            items,
            page: self.page,
            per_page: self.per_page,
            total,
        }
    }
}

/// A page of a listing, and how many match over all pages.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Page<T: ToSchema> {
    /// This page.
    pub items: Vec<T>,
    /// Page number, from 1.
    pub page: u64,
    /// Page size.
    pub per_page: u64,
    /// Matches over all pages.
    pub total: u64,
}
