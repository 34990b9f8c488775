//! An organisation's history: what changed, when, by whom — read from the audit log.

use jiff::Timestamp;
use schakel_domain::Principal;
use schakel_formats::answers::{FieldChangeRecord, HistoryRecord};

use crate::access::{Action, require};
use crate::registry::{not_found, parse_slug, subject};
use crate::{App, AppError};

/// One field that changed, with its value before and after (JSON of the registry file;
/// `null` when absent).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    /// Top-level field of the registry record, such as `designations`.
    pub field: String,
    /// Value before.
    pub before: serde_json::Value,
    /// Value after.
    pub after: serde_json::Value,
}

/// One recorded change of an organisation.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// Position in the audit log.
    pub seq: i64,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: String,
    /// What kind of change (`organisation.create`, `organisation.update`, `organisation.end`).
    pub action: String,
    /// The fields that changed.
    pub changes: Vec<FieldChange>,
}

impl HistoryEntry {
    /// The JSON answer shared by the API and the CLI.
    pub fn to_record(&self) -> HistoryRecord {
        HistoryRecord {
            seq: self.seq,
            at: self.at.to_string(),
            actor: self.actor.clone(),
            action: self.action.clone(),
            changes: self
                .changes
                .iter()
                .map(|c| FieldChangeRecord {
                    field: c.field.clone(),
                    before: c.before.clone(),
                    after: c.after.clone(),
                })
                .collect(),
        }
    }
}

fn field_changes(
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> Vec<FieldChange> {
    let empty = serde_json::Map::new();
    let object =
        |v: Option<&serde_json::Value>| v.and_then(|v| v.as_object()).unwrap_or(&empty).clone();
    let (before, after) = (object(before), object(after));
    let mut fields: Vec<&String> = before.keys().chain(after.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter_map(|field| {
            let b = before.get(field).cloned().unwrap_or_default();
            let a = after.get(field).cloned().unwrap_or_default();
            (a != b).then(|| FieldChange {
                field: field.clone(),
                before: b,
                after: a,
            })
        })
        .collect()
}

impl App {
    /// Every recorded change of an organisation, oldest first.
    pub fn history(
        &self,
        principal: &Principal,
        slug: &str,
    ) -> Result<Vec<HistoryEntry>, AppError> {
        require(principal, Action::ReadRegistry)?;
        let slug = parse_slug(slug)?;
        let mut tx = self.store.read()?;
        if tx.organisation(&slug)?.is_none() {
            return Err(not_found(&slug));
        }
        Ok(tx
            .audit_entries(&subject(&slug))?
            .into_iter()
            .map(|e| HistoryEntry {
                seq: e.seq,
                at: e.entry.at,
                changes: field_changes(e.entry.before.as_ref(), e.entry.after.as_ref()),
                actor: e.entry.actor,
                action: e.entry.action,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_changed_fields_are_listed() {
        let before = json!({"slug": "a", "name": "A", "prefixes": ["192.0.2.0/24"]});
        let after = json!({"slug": "a", "name": "A", "prefixes": [], "ended": "2026-01-01"});
        let changes = field_changes(Some(&before), Some(&after));
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["ended", "prefixes"]);
        assert_eq!(field_changes(None, Some(&after)).len(), 4);
    }
}
