//! Feed report types: which columns of a report hold the address, host name, URL, ASN, port
//! and severity, and what the report is. Shadowserver's types come from a table
//! (`feeds/shadowserver-reports.toml`, derived from its published schema) that a schema
//! file in the `intelmq.json` format updates at run time; a generic CSV brings its own
//! mapping.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::FeedError;

/// How serious Shadowserver rates an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Informational.
    Info,
    /// Deviation from best practice.
    Low,
    /// Can escalate over time.
    Medium,
    /// Can be logged into, leaks data, sinkholed.
    High,
    /// Actively exploited.
    Critical,
}

impl Severity {
    /// Parses `info`, `low`, `medium`, `high`, `critical` (any case).
    pub fn parse(text: &[u8]) -> Option<Self> {
        let t = text.trim_ascii();
        let eq = |w: &str| t.eq_ignore_ascii_case(w.as_bytes());
        if eq("critical") {
            Some(Self::Critical)
        } else if eq("high") {
            Some(Self::High)
        } else if eq("medium") {
            Some(Self::Medium)
        } else if eq("low") {
            Some(Self::Low)
        } else if eq("info") {
            Some(Self::Info)
        } else {
            None
        }
    }

    /// The identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

/// Which column holds what (by header name).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    /// The source address (`source.ip`).
    pub ip: Option<String>,
    /// A source network (`source.network`), when there is no address.
    pub network: Option<String>,
    /// The reverse DNS name (`source.reverse_dns`).
    pub host: Option<String>,
    /// A fully qualified domain name (`source.fqdn`).
    pub fqdn: Option<String>,
    /// A URL (`source.url`): its host is used.
    pub url: Option<String>,
    /// An email address whose domain locates the event (Shadowserver's `email` of a
    /// compromised account).
    pub email: Option<String>,
    /// The autonomous system (`source.asn`).
    pub asn: Option<String>,
    /// The source port (`source.port`), part of what identifies an issue on a host.
    pub port: Option<String>,
    /// The event's severity.
    pub severity: Option<String>,
    /// The TLP its source gave the row (IntelMQ's `tlp`), when a column holds one.
    pub tlp: Option<String>,
}

impl Columns {
    /// Where the column of an event field (`source.ip`, `source.asn`, `severity`…) goes;
    /// `None` for a field schakel does not locate events by (such columns are kept).
    pub fn slot(&mut self, field: &str) -> Option<&mut Option<String>> {
        Some(match field {
            "source.ip" => &mut self.ip,
            "source.network" => &mut self.network,
            "source.reverse_dns" => &mut self.host,
            "source.fqdn" => &mut self.fqdn,
            "source.url" => &mut self.url,
            "source.email" => &mut self.email,
            "source.asn" => &mut self.asn,
            "source.port" => &mut self.port,
            "severity" => &mut self.severity,
            "tlp" => &mut self.tlp,
            _ => return None,
        })
    }
}

/// A report type.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportType {
    /// Its name in file names (`scan_http`); filled from the table key.
    #[serde(skip)]
    pub report: String,
    /// Its title (`Accessible-HTTP`).
    pub name: String,
    /// Its classification identifier (`accessible-http`).
    pub identifier: String,
    /// The taxonomy class (RSIT slug).
    pub taxonomy: String,
    /// The taxonomy type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The severity of an event that does not say.
    pub default_severity: String,
    /// The columns.
    #[serde(flatten)]
    pub columns: Columns,
}

impl ReportType {
    /// The default severity, parsed (medium when unreadable).
    pub fn severity(&self) -> Severity {
        Severity::parse(self.default_severity.as_bytes()).unwrap_or(Severity::Medium)
    }

    /// A report type with only a name (STIX, MISP, a generic CSV without a table entry).
    pub fn bare(report: &str, taxonomy: &str) -> Self {
        Self {
            report: report.to_owned(),
            name: report.to_owned(),
            identifier: report.to_owned(),
            taxonomy: taxonomy.to_owned(),
            kind: "other".to_owned(),
            default_severity: "medium".to_owned(),
            columns: Columns::default(),
        }
    }
}

/// The built-in Shadowserver table.
pub const SHADOWSERVER_REPORTS: &str = include_str!("../../../feeds/shadowserver-reports.toml");

/// Every known report type, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportTable {
    reports: BTreeMap<String, ReportType>,
}

impl ReportTable {
    /// The built-in Shadowserver report types.
    pub fn shadowserver() -> Result<Self, FeedError> {
        Self::from_toml(SHADOWSERVER_REPORTS, "the built-in Shadowserver table")
    }

    /// Reads a table in the format of `feeds/shadowserver-reports.toml`.
    pub fn from_toml(text: &str, what: &str) -> Result<Self, FeedError> {
        let raw: BTreeMap<String, ReportType> =
            toml::from_str(text).map_err(|e| FeedError::Schema(format!("{what}: {e}")))?;
        let reports = raw
            .into_iter()
            .map(|(name, mut r)| {
                r.report.clone_from(&name);
                (name, r)
            })
            .collect();
        Ok(Self { reports })
    }

    /// Adds or replaces report types from Shadowserver's machine-readable schema (the
    /// `intelmq.json` format): per report its `file_name`, `feed_name`, `constant_fields`
    /// and the column of each event field. Default severities of known types are kept.
    pub fn merge_intelmq(&mut self, json: &str) -> Result<usize, FeedError> {
        let bad = |e: &dyn std::fmt::Display| {
            FeedError::Schema(format!(
                "the schema is not JSON of the intelmq.json format: {e}"
            ))
        };
        let schema: BTreeMap<String, serde_json::Value> =
            serde_json::from_value(schakel_formats::json::from_str(json).map_err(|e| bad(&e))?)
                .map_err(|e| bad(&e))?;
        let mut merged = 0;
        for (key, entry) in schema {
            if key.starts_with('_') {
                continue;
            }
            let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
            let Some(file_name) = entry.get("file_name").and_then(text) else {
                return Err(FeedError::Schema(format!(
                    "report `{key}` has no `file_name`"
                )));
            };
            let constant = |f: &str| {
                entry
                    .get("constant_fields")
                    .and_then(|c| c.get(f))
                    .and_then(text)
            };
            let mut columns = Columns::default();
            for list in ["required_fields", "optional_fields"] {
                for field in entry
                    .get(list)
                    .and_then(|v| v.as_array())
                    .into_iter()
                    .flatten()
                {
                    let (Some(target), Some(column)) = (
                        field.get(0).and_then(|v| v.as_str()),
                        field.get(1).and_then(|v| v.as_str()),
                    ) else {
                        return Err(FeedError::Schema(format!(
                            "report `{key}`: `{list}` holds an entry that is not [field, column, …]"
                        )));
                    };
                    // Columns IntelMQ keeps as `extra.` that still locate a constituent:
                    // a compromised account's email, a ransomware victim's website.
                    let target = match (target, column) {
                        ("extra.", "email") => "source.email",
                        ("extra.", "website") => "source.url",
                        (target, _) => target,
                    };
                    let Some(slot) = columns.slot(target) else {
                        continue;
                    };
                    if slot.is_none() {
                        *slot = Some(column.to_owned());
                    }
                }
            }
            let default_severity = self
                .reports
                .get(&file_name)
                .map_or_else(|| "medium".to_owned(), |r| r.default_severity.clone());
            self.reports.insert(
                file_name.clone(),
                ReportType {
                    report: file_name.clone(),
                    name: entry
                        .get("feed_name")
                        .and_then(text)
                        .unwrap_or_else(|| key.clone()),
                    identifier: constant("classification.identifier")
                        .unwrap_or_else(|| file_name.clone()),
                    taxonomy: constant("classification.taxonomy").unwrap_or_else(|| "other".into()),
                    kind: constant("classification.type").unwrap_or_else(|| "other".into()),
                    default_severity,
                    columns,
                },
            );
            merged += 1;
        }
        Ok(merged)
    }

    /// One report type.
    pub fn get(&self, report: &str) -> Option<&ReportType> {
        self.reports.get(report)
    }

    /// How many types.
    pub fn len(&self) -> usize {
        self.reports.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.reports.is_empty()
    }
}

/// The report type in a Shadowserver file name, `YYYY-MM-DD-<report>-….csv`.
pub fn report_from_file_name(file_name: &str) -> Option<&str> {
    let name = file_name.rsplit(['/', '\\']).next()?;
    let rest = name.strip_suffix(".csv")?;
    let (date, rest) = rest.split_at_checked(11)?;
    let b = date.as_bytes();
    let shaped = b.len() == 11
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 | 10 => *c == b'-',
            _ => c.is_ascii_digit(),
        });
    if !shaped {
        return None;
    }
    let (report, tail) = rest.split_once('-')?;
    (!report.is_empty() && !tail.is_empty()).then_some(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_give_the_report_type() {
        for (name, want) in [
            (
                "2015-01-01-dns_openresolver-sample-asn.csv",
                Some("dns_openresolver"),
            ),
            (
                "/in/2020-04-03-scan_ics-sample-asn-delayed.csv",
                Some("scan_ics"),
            ),
            (
                "2024-07-04-dns_openresolver-123-sample-asn.csv",
                Some("dns_openresolver"),
            ),
            ("2024-07-04-scan_http.csv", None),
            ("scan_http-2024.csv", None),
            ("2024-7-04-scan_http-x.csv", None),
        ] {
            assert_eq!(report_from_file_name(name), want, "{name}");
        }
    }

    #[test]
    fn the_builtin_table_knows_every_shadowserver_report() -> Result<(), FeedError> {
        let t = ReportTable::shadowserver()?;
        assert_eq!(t.len(), 170);
        let http = t
            .get("scan_http")
            .ok_or(FeedError::Schema("no scan_http".into()))?;
        assert_eq!(http.columns.ip.as_deref(), Some("ip"));
        assert_eq!(http.columns.port.as_deref(), Some("port"));
        assert_eq!(http.severity(), Severity::Info);
        // A ransomware victim is located by its website, a compromised account by its
        // email address's domain.
        let rv = t
            .get("ransomware_victim")
            .ok_or(FeedError::Schema("none".into()))?;
        assert!(rv.columns.ip.is_none() && rv.columns.url.as_deref() == Some("website"));
        let account = t
            .get("compromised_account")
            .ok_or(FeedError::Schema("none".into()))?;
        assert_eq!(account.columns.email.as_deref(), Some("email"));
        Ok(())
    }

    /// Every report type but those README.md names locates a constituent by a column.
    #[test]
    fn every_report_type_but_one_names_a_column_that_locates_a_constituent() -> Result<(), FeedError>
    {
        let t = ReportTable::shadowserver()?;
        let none: Vec<&str> = t
            .reports
            .values()
            .filter(|r| {
                let c = &r.columns;
                [
                    &c.ip, &c.network, &c.host, &c.fqdn, &c.url, &c.email, &c.asn,
                ]
                .iter()
                .all(|x| x.is_none())
            })
            .map(|r| r.report.as_str())
            .collect();
        assert_eq!(none, ["sandbox_dns"]);
        Ok(())
    }
}
