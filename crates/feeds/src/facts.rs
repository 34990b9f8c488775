//! The notification facts of each report type, as data (`feeds/notification-facts.toml`):
//! TLP, confidentiality markers, purpose, and which severities make it serious.

use serde::Deserialize;

use crate::FeedError;
use crate::report::{ReportType, Severity};

/// The built-in table.
pub const NOTIFICATION_FACTS: &str = include_str!("../../../feeds/notification-facts.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Defaults {
    tlp: String,
    purpose: String,
    confidentiality_markers: Vec<String>,
    serious_severities: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    #[serde(default)]
    reports: Vec<String>,
    #[serde(default)]
    taxonomies: Vec<String>,
    tlp: Option<String>,
    purpose: Option<String>,
    confidentiality_markers: Option<Vec<String>>,
    serious_severities: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    default: Defaults,
    #[serde(default)]
    rule: Vec<Rule>,
}

/// What a notification of one report type says about itself (the item facts schakel's
/// rulebook decides on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationFacts {
    /// `CLEAR`, `GREEN`, `AMBER`, `AMBER+STRICT` or `RED`.
    pub tlp: String,
    /// `prevent_disruption` unless a rule says otherwise.
    pub purpose: String,
    /// Such as `specific_systems`.
    pub confidentiality_markers: Vec<String>,
    /// Event severities that make the notification serious.
    pub serious: Vec<Severity>,
}

/// The facts table.
#[derive(Debug, Clone)]
pub struct FactsTable {
    file: File,
}

fn glob(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

impl FactsTable {
    /// The built-in table.
    pub fn builtin() -> Result<Self, FeedError> {
        Self::from_toml(NOTIFICATION_FACTS)
    }

    /// Reads a table.
    pub fn from_toml(text: &str) -> Result<Self, FeedError> {
        let file: File = toml::from_str(text)
            .map_err(|e| FeedError::Schema(format!("notification facts: {e}")))?;
        let severities = file.default.serious_severities.iter().chain(
            file.rule
                .iter()
                .flat_map(|r| r.serious_severities.iter().flatten()),
        );
        for s in severities {
            if Severity::parse(s.as_bytes()).is_none() {
                return Err(FeedError::Schema(format!(
                    "notification facts: `{s}` is not info, low, medium, high or critical"
                )));
            }
        }
        Ok(Self { file })
    }

    /// The facts of a report type: the default, then each matching rule's fields (the first
    /// rule setting a field wins).
    pub fn facts(&self, report: &ReportType) -> NotificationFacts {
        let d = &self.file.default;
        let mut tlp = None;
        let mut purpose = None;
        let mut markers = None;
        let mut serious = None;
        for rule in &self.file.rule {
            let matches = rule.reports.iter().any(|p| glob(p, &report.report))
                || rule.taxonomies.iter().any(|t| t == &report.taxonomy);
            if matches {
                tlp = tlp.or(rule.tlp.clone());
                purpose = purpose.or(rule.purpose.clone());
                markers = markers.or(rule.confidentiality_markers.clone());
                serious = serious.or(rule.serious_severities.clone());
            }
        }
        NotificationFacts {
            tlp: tlp.unwrap_or_else(|| d.tlp.clone()),
            purpose: purpose.unwrap_or_else(|| d.purpose.clone()),
            confidentiality_markers: markers.unwrap_or_else(|| d.confidentiality_markers.clone()),
            serious: serious
                .unwrap_or_else(|| d.serious_severities.clone())
                .iter()
                .filter_map(|s| Severity::parse(s.as_bytes()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ReportTable;

    #[test]
    fn scans_describe_specific_systems_and_default_to_amber() -> Result<(), FeedError> {
        let reports = ReportTable::shadowserver()?;
        let facts = FactsTable::builtin()?;
        let get = |r: &str| reports.get(r).map(|t| facts.facts(t));
        let http = get("scan_http").ok_or(FeedError::Schema("none".into()))?;
        assert_eq!(http.tlp, "AMBER");
        assert_eq!(http.purpose, "prevent_disruption");
        assert_eq!(http.confidentiality_markers, ["specific_systems"]);
        assert_eq!(http.serious, [Severity::High, Severity::Critical]);
        let blocklist = get("blocklist").ok_or(FeedError::Schema("none".into()))?;
        assert!(blocklist.confidentiality_markers.is_empty());
        Ok(())
    }
}
