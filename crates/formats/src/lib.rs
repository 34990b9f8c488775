//! schakel's own exchange formats (FORMATS.md), as serde records, and their conversion to
//! and from domain values.
//!
//! Records here are the wire shape: strings and numbers exactly as in the files. Turning a
//! record into a domain value parses every field and reports every problem with the path
//! of the field. Unknown fields are rejected: a typo must never silently drop a
//! restriction.

pub mod answers;
pub mod decision;
mod nullable;
pub mod registry;
