//! The rows of a run that sends: every resolved event's record, all of its columns (those
//! the report table does not know too), spooled to a temporary file in input order, and
//! read back after de-duplication keeping only the notified ones.
//!
//! Memory does not grow with the rows: they are on disk; what stays in memory is one bit
//! per resolved event (which rows de-duplication kept) and each input's column names.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::PathBuf;

use crate::FeedError;
use crate::private::{TempDir, create_file};

fn io(what: &str, e: std::io::Error) -> FeedError {
    FeedError::Io(format!("{what}: {e}"))
}

/// Rows being written during the pass.
pub(crate) struct RowSpool {
    dir: TempDir,
    out: BufWriter<File>,
    columns: Vec<Vec<String>>,
}

impl RowSpool {
    pub(crate) fn new() -> Result<Self, FeedError> {
        let dir = TempDir::new().map_err(|e| io("cannot make a temporary directory", e))?;
        let file = create_file(&dir.path().join("rows.spool"))
            .map_err(|e| io("cannot write the row spool", e))?;
        Ok(Self {
            dir,
            out: BufWriter::with_capacity(1 << 20, file),
            columns: Vec::new(),
        })
    }

    /// An input begins; its rows have these columns. Returns its number.
    pub(crate) fn begin(&mut self, columns: Vec<String>) -> u32 {
        self.columns.push(columns);
        u32::try_from(self.columns.len() - 1).unwrap_or(u32::MAX)
    }

    /// Spools one row: the event's number among the resolved, its aggregate, its input and
    /// its values (a JSON array of strings, one per column).
    #[inline]
    pub(crate) fn push(
        &mut self,
        event: u32,
        aggregate: u32,
        input: u32,
        values: &[u8],
    ) -> Result<(), FeedError> {
        let len = u32::try_from(values.len())
            .map_err(|_| FeedError::Input("a row of over 4 GiB".into()))?;
        let mut head = [0u8; 16];
        head[..4].copy_from_slice(&event.to_le_bytes());
        head[4..8].copy_from_slice(&aggregate.to_le_bytes());
        head[8..12].copy_from_slice(&input.to_le_bytes());
        head[12..].copy_from_slice(&len.to_le_bytes());
        self.out
            .write_all(&head)
            .and_then(|()| self.out.write_all(values))
            .map_err(|e| io("cannot write the row spool", e))
    }

    /// The pass is over; `kept` has a bit set for every event de-duplication kept.
    pub(crate) fn finish(self, kept: Vec<u64>) -> Result<KeptRows, FeedError> {
        let path = self.dir.path().join("rows.spool");
        self.out
            .into_inner()
            .map_err(|e| io("cannot write the row spool", e.into_error()))?;
        Ok(KeptRows {
            _dir: self.dir,
            path,
            columns: self.columns,
            kept,
        })
    }
}

/// Encodes a record's fields as a JSON array of strings (bytes that are not UTF-8 are
/// replaced).
pub(crate) fn encode_values<'f>(fields: impl Iterator<Item = &'f [u8]>, out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, field) in fields.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let text = String::from_utf8_lossy(field);
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, text.as_ref());
    }
    out.push(b']');
}

/// One notified row.
#[derive(Debug, Clone, Copy)]
pub struct KeptRow<'a> {
    /// Its aggregate (index into [`crate::Ingested::aggregates`]).
    pub aggregate: u32,
    /// Its event's number among the run's resolved events (input order).
    pub event: u32,
    /// Its input (index into [`KeptRows::columns`]).
    pub input: u32,
    /// Its values, a JSON array of strings in the order of the input's columns.
    pub values: &'a str,
}

/// The notified rows of a run, on disk until dropped.
pub struct KeptRows {
    _dir: TempDir,
    path: PathBuf,
    columns: Vec<Vec<String>>,
    kept: Vec<u64>,
}

impl KeptRows {
    /// The column names of each input.
    pub fn columns(&self) -> &[Vec<String>] {
        &self.columns
    }

    /// Calls `f` with every kept row, in input order.
    pub fn for_each<E: From<FeedError>>(
        &self,
        mut f: impl FnMut(KeptRow<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let failed = |e| E::from(io("cannot read the row spool", e));
        let mut r = BufReader::with_capacity(1 << 20, File::open(&self.path).map_err(&failed)?);
        let mut head = [0u8; 16];
        let mut values = Vec::new();
        loop {
            match r.read_exact(&mut head) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(failed(e)),
            }
            let word = |i: usize| {
                u32::from_le_bytes(
                    head.get(i * 4..i * 4 + 4)
                        .and_then(|b| b.try_into().ok())
                        .unwrap_or_default(),
                )
            };
            let (event, aggregate, input, len) = (word(0), word(1), word(2), word(3));
            values.resize(len as usize, 0);
            r.read_exact(&mut values).map_err(&failed)?;
            let kept = self
                .kept
                .get(event as usize / 64)
                .is_some_and(|w| w & (1 << (event % 64)) != 0);
            if !kept {
                continue;
            }
            let values = std::str::from_utf8(&values)
                .map_err(|_| E::from(FeedError::Io("the row spool is damaged".into())))?;
            f(KeptRow {
                aggregate,
                event,
                input,
                values,
            })?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_in_order_and_only_when_kept() -> Result<(), FeedError> {
        let mut spool = RowSpool::new()?;
        let input = spool.begin(vec!["ip".into(), "naïve".into()]);
        let mut buf = Vec::new();
        for event in 0..200u32 {
            buf.clear();
            let n = event.to_string();
            encode_values([n.as_bytes(), &b"a\"b\xff"[..]].into_iter(), &mut buf);
            spool.push(event, event % 3, input, &buf)?;
        }
        let mut kept = vec![0u64; 4];
        for event in [0u32, 63, 64, 150, 199] {
            if let Some(w) = kept.get_mut(event as usize / 64) {
                *w |= 1 << (event % 64);
            }
        }
        let rows = spool.finish(kept)?;
        let mut seen = Vec::new();
        rows.for_each(|row| -> Result<(), FeedError> {
            let values: Vec<String> =
                serde_json::from_str(row.values).map_err(|e| FeedError::Io(e.to_string()))?;
            assert_eq!(values.first(), Some(&row.event.to_string()));
            assert_eq!(values.get(1).map(String::as_str), Some("a\"b\u{fffd}"));
            assert_eq!(row.aggregate, row.event % 3);
            seen.push(row.event);
            Ok(())
        })?;
        assert_eq!(seen, vec![0, 63, 64, 150, 199]);
        assert_eq!(rows.columns().len(), 1);
        Ok(())
    }
}
