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
pub mod json;
mod nullable;
pub mod regimes;
pub mod registry;
pub mod report;
pub mod stats;

/// A CSV field as RFC 4180 writes it: quoted (quotes doubled) when it holds a comma, a
/// quote or a line break.
pub fn csv_field(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\"")).into()
    } else {
        text.into()
    }
}

/// A CSV line (RFC 4180, CRLF-terminated) of these fields.
pub fn csv_line<'a>(fields: impl IntoIterator<Item = &'a str>) -> String {
    let mut line = fields
        .into_iter()
        .map(csv_field)
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

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

#[cfg(test)]
mod tests {
    #[test]
    fn csv_fields_are_quoted_only_when_they_must_be() {
        assert_eq!(
            super::csv_line(["plain", "a,b", "say \"hi\"", "two\nlines", ""]),
            "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\r\n"
        );
    }
}
