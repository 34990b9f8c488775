//! A generic CSV's mapping file (TOML): which column holds which event field, with the
//! conversions of Shadowserver's schema.
//!
//! ```toml
//! report = "phishing_urls"      # the report type: aggregation and de-duplication key
//! taxonomy = "fraud"            # for the notification facts (optional)
//! default_severity = "high"     # when a row does not say (optional, default medium)
//! delimiter = ","               # optional
//! [columns]
//! "IP address" = "source.ip"
//! "AS" = ["source.asn", "invalidate_zero"]
//! "URL" = "source.url"
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::FeedError;
use crate::report::{Columns, ReportType, Severity};

/// The conversions of Shadowserver's schema that a mapping may name.
pub const CONVERSIONS: &[&str] = &[
    "validate_ip",
    "validate_network",
    "validate_fqdn",
    "validate_to_none",
    "convert_int",
    "convert_float",
    "convert_bool",
    "invalidate_zero",
    "add_UTC_to_timestamp",
    "convert_date",
    "convert_date_utc",
    "convert_http_host_and_url",
    "extract_cve_from_tag",
];

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Target {
    Field(String),
    WithConversion(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    report: String,
    #[serde(default)]
    taxonomy: Option<String>,
    #[serde(default)]
    default_severity: Option<String>,
    #[serde(default)]
    delimiter: Option<String>,
    columns: BTreeMap<String, Target>,
}

/// A parsed mapping: the report type it describes and the delimiter.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// The report type, with its columns.
    pub report: ReportType,
    /// The field delimiter.
    pub delimiter: u8,
}

/// Reads a mapping file; every problem names the column.
pub fn parse_mapping(text: &str) -> Result<Mapping, FeedError> {
    let file: MappingFile =
        toml::from_str(text).map_err(|e| FeedError::Schema(format!("mapping: {e}")))?;
    let bad = |m: String| FeedError::Schema(format!("mapping: {m}"));
    if file.report.trim().is_empty() || file.report.contains(char::is_whitespace) {
        return Err(bad(
            "`report` must be one word, such as phishing_urls".into()
        ));
    }
    let mut report = ReportType::bare(&file.report, file.taxonomy.as_deref().unwrap_or("other"));
    if let Some(s) = &file.default_severity {
        if Severity::parse(s.as_bytes()).is_none() {
            return Err(bad(format!(
                "`default_severity`: `{s}` is not info, low, medium, high or critical"
            )));
        }
        report.default_severity.clone_from(s);
    }
    let delimiter = match file.delimiter.as_deref() {
        None => b',',
        Some(d) if d.len() == 1 => d.as_bytes()[0],
        Some("\\t") | Some("tab") => b'\t',
        Some(d) => return Err(bad(format!("`delimiter`: `{d}` is not one character"))),
    };
    let mut columns = Columns::default();
    for (column, target) in &file.columns {
        let (field, conversion) = match target {
            Target::Field(f) => (f.clone(), None),
            Target::WithConversion(v) => match v.as_slice() {
                [f] => (f.clone(), None),
                [f, c] => (f.clone(), Some(c.clone())),
                _ => {
                    return Err(bad(format!(
                        "column `{column}`: give \"field\" or [\"field\", \"conversion\"]"
                    )));
                }
            },
        };
        if let Some(c) = &conversion
            && !CONVERSIONS.contains(&c.as_str())
        {
            return Err(bad(format!(
                "column `{column}`: `{c}` is not a known conversion ({})",
                CONVERSIONS.join(", ")
            )));
        }
        // Any other field is kept as it is, under its column name.
        let Some(slot) = columns.slot(&field) else {
            continue;
        };
        if let Some(other) = slot.replace(column.clone()) {
            return Err(bad(format!(
                "columns `{other}` and `{column}` both map to `{field}`"
            )));
        }
    }
    if columns.ip.is_none()
        && columns.network.is_none()
        && columns.host.is_none()
        && columns.fqdn.is_none()
        && columns.url.is_none()
        && columns.asn.is_none()
    {
        return Err(bad(
            "no column maps to source.ip, source.network, source.reverse_dns, source.fqdn, source.url or source.asn: nothing could be resolved".into(),
        ));
    }
    report.columns = columns;
    Ok(Mapping { report, delimiter })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_names_its_columns() -> Result<(), FeedError> {
        let m = parse_mapping(
            r#"report = "phishing_urls"
default_severity = "high"
[columns]
"IP address" = "source.ip"
"AS" = ["source.asn", "invalidate_zero"]
"Seen" = ["time.source", "add_UTC_to_timestamp"]
"#,
        )?;
        assert_eq!(m.report.columns.ip.as_deref(), Some("IP address"));
        assert_eq!(m.report.columns.asn.as_deref(), Some("AS"));
        assert_eq!(m.report.severity(), Severity::High);
        for (bad, says) in [
            (
                "report = \"x\"\n[columns]\nip = [\"source.ip\", \"frobnicate\"]",
                "`frobnicate` is not a known conversion",
            ),
            (
                "report = \"x\"\n[columns]\nseen = \"time.source\"",
                "nothing could be resolved",
            ),
            (
                "report = \"x\"\n[columns]\na = \"source.ip\"\nb = \"source.ip\"",
                "both map to `source.ip`",
            ),
            ("[columns]\na = \"source.ip\"", "missing field `report`"),
        ] {
            let err = parse_mapping(bad)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(says), "{err}");
        }
        Ok(())
    }
}
