//! Audit entries and their hash chain.

use jiff::Timestamp;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, to be appended.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    /// When.
    pub at: Timestamp,
    /// Who (a person and role, a recipient organisation, or `installation` / `delivery-worker`).
    pub actor: String,
    /// What, such as `organisation.create`.
    pub action: String,
    /// About what, such as `organisation:z-cert` or `token:t_1a2b`.
    pub subject: String,
    /// State before (JSON), if any.
    pub before: Option<serde_json::Value>,
    /// State after (JSON), if any.
    pub after: Option<serde_json::Value>,
}

/// An appended entry, chained to the previous one.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Position in the log, from 1.
    pub seq: i64,
    /// The entry.
    pub entry: NewAuditEntry,
    /// Hash of the previous entry ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// `sha256:` + hex SHA-256 over the previous hash and this entry's canonical text.
    pub hash: String,
}

/// The canonical timestamp text used in the database and in the hash.
pub(crate) fn timestamp_text(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Computes an entry's hash: SHA-256 over `prev_hash`, then seq, time, actor, action,
/// subject, before and after (compact JSON or empty), each followed by a newline.
pub fn entry_hash(seq: i64, entry: &NewAuditEntry, prev_hash: &str) -> String {
    let json =
        |v: &Option<serde_json::Value>| v.as_ref().map(ToString::to_string).unwrap_or_default();
    let mut hasher = Sha256::new();
    for part in [
        prev_hash.to_owned(),
        seq.to_string(),
        timestamp_text(entry.at),
        entry.actor.clone(),
        entry.action.clone(),
        entry.subject.clone(),
        json(&entry.before),
        json(&entry.after),
    ] {
        hasher.update(part.as_bytes());
        hasher.update(b"\n");
    }
    let digest = hasher.finalize();
    let mut hex = String::with_capacity(71);
    hex.push_str("sha256:");
    for b in digest.iter() {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}
