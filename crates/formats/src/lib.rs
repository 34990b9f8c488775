//! schakel's own exchange formats (FORMATS.md), as serde records, and their conversion to
//! and from domain values.
//!
//! Records here are the wire shape: strings and numbers exactly as in the files. Turning a
//! record into a domain value parses every field and reports every problem with the path
//! of the field. Unknown fields are rejected: a typo must never silently drop a
//! restriction.

pub mod answers;
pub mod decision;
pub mod feed;
pub mod item;
mod nullable;
pub mod regimes;
pub mod registry;
pub mod report;
pub mod stats;

/// Deserialises a record, reporting a problem with the path of the field at fault.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, Vec<schakel_domain::FieldIssue>> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        vec![schakel_domain::FieldIssue::new(
            if path == "." { String::new() } else { path },
            e.into_inner().to_string(),
        )]
    })
}
