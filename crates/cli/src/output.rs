//! Writing answers: JSON for programs, aligned text for people, times in Europe/Amsterdam.

use std::io::Write;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use schakel_domain::AMSTERDAM;
use serde::Serialize;

use crate::commands::CliError;

/// Writes text to standard output; a closed pipe (`| head`) ends quietly.
pub(crate) fn out(text: &str) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::user(format!(
            "cannot write to standard output: {e}"
        ))),
    }
}

/// A value as pretty JSON with a final newline.
pub(crate) fn json_text<T: Serialize>(value: &T) -> Result<String, CliError> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::user(format!("cannot write JSON: {e}")))?;
    text.push('\n');
    Ok(text)
}

/// Writes a value as pretty JSON with a final newline.
pub(crate) fn json<T: Serialize>(value: &T) -> Result<(), CliError> {
    out(&json_text(value)?)
}

/// Writes text to FILE (whole or not at all) when one is given, else to standard output.
pub(crate) fn to_file_or_out(target: Option<&std::path::Path>, text: &str) -> Result<(), CliError> {
    match target {
        Some(path) => crate::files::write_atomically(path, text),
        None => out(text),
    }
}

/// An instant as people read it: `2026-11-22 07:15 CET`.
pub(crate) fn local_time(at: Timestamp) -> String {
    let zone = TimeZone::get(AMSTERDAM).unwrap_or(TimeZone::UTC);
    at.to_zoned(zone).strftime("%Y-%m-%d %H:%M %Z").to_string()
}

/// Rows as aligned columns under a header.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut text = String::new();
        let last = cells.len().saturating_sub(1);
        for (i, cell) in cells.iter().enumerate() {
            text.push_str(cell);
            if i < last {
                let pad = widths.get(i).copied().unwrap_or(0) - cell.chars().count() + 2;
                text.push_str(&" ".repeat(pad));
            }
        }
        text.trim_end().to_owned() + "\n"
    };
    let mut text = line(header.to_vec());
    for row in rows {
        text.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    text
}
