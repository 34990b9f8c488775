//! De-duplication: within a run (the same host and issue twice counts once) and across
//! runs (a host and issue notified within the window is not notified again).
//!
//! Memory does not grow with the input: each resolved event leaves a 16-byte record
//! (fingerprint, event number, aggregate) in one of 64 partitions by the fingerprint's top
//! bits, spilled to a temporary file when the buffers fill. A run that sends keeps one
//! bit per resolved event besides: whether that event's row is notified (the first of its
//! fingerprint, not notified within the window). At the end each partition is sorted and
//! merged with that partition of the state on disk (`DIR/NN.bin`: sorted fingerprint and
//! the day it was last notified, little-endian).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::FeedError;
use crate::private::{TempDir, create_dir_all, create_file};

const PARTITIONS: usize = 64;
/// Records held in memory before the buffers are spilled (16 bytes each, about 32 MB).
const SPILL_AT: usize = 2 << 20;

/// A fixed-size record of the files here, little-endian: the state and pending files
/// hold a fingerprint and a number (an aggregate, or in the state the day last notified);
/// the spool holds a fingerprint, the event's number in the run and its aggregate.
trait Record: Sized {
    const SIZE: usize;
    fn put(&self, w: &mut impl Write) -> std::io::Result<()>;
    fn get(bytes: &[u8]) -> Self;
}

fn le_u32(bytes: &[u8]) -> u32 {
    u32::from_le_bytes(bytes.try_into().unwrap_or_default())
}

fn le_u64(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.try_into().unwrap_or_default())
}

impl Record for (u64, u32) {
    const SIZE: usize = 12;
    fn put(&self, w: &mut impl Write) -> std::io::Result<()> {
        w.write_all(&self.0.to_le_bytes())?;
        w.write_all(&self.1.to_le_bytes())
    }
    fn get(bytes: &[u8]) -> Self {
        let (f, n) = bytes.split_at(8.min(bytes.len()));
        (le_u64(f), le_u32(n))
    }
}

impl Record for (u64, u32, u32) {
    const SIZE: usize = 16;
    fn put(&self, w: &mut impl Write) -> std::io::Result<()> {
        w.write_all(&self.0.to_le_bytes())?;
        w.write_all(&self.1.to_le_bytes())?;
        w.write_all(&self.2.to_le_bytes())
    }
    fn get(bytes: &[u8]) -> Self {
        (
            le_u64(bytes.get(..8).unwrap_or_default()),
            le_u32(bytes.get(8..12).unwrap_or_default()),
            le_u32(bytes.get(12..).unwrap_or_default()),
        )
    }
}

fn io(what: &str, e: std::io::Error) -> FeedError {
    FeedError::Io(format!("{what}: {e}"))
}

fn partition(fingerprint: u64) -> usize {
    (fingerprint >> 58) as usize
}

/// The fingerprints of one run, partitioned.
pub(crate) struct Spool {
    buffers: Vec<Vec<(u64, u32, u32)>>,
    held: usize,
    spill_at: usize,
    dir: Option<TempDir>,
    files: Vec<Option<BufWriter<File>>>,
}

impl Spool {
    pub(crate) fn new() -> Self {
        Self {
            buffers: (0..PARTITIONS).map(|_| Vec::new()).collect(),
            held: 0,
            spill_at: SPILL_AT,
            dir: None,
            files: (0..PARTITIONS).map(|_| None).collect(),
        }
    }

    /// Spools an event: its fingerprint, its number among the run's resolved events, and
    /// its aggregate.
    #[inline]
    pub(crate) fn push(
        &mut self,
        fingerprint: u64,
        event: u32,
        aggregate: u32,
    ) -> Result<(), FeedError> {
        if let Some(b) = self.buffers.get_mut(partition(fingerprint)) {
            b.push((fingerprint, event, aggregate));
        }
        self.held += 1;
        if self.held >= self.spill_at {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> Result<(), FeedError> {
        if self.dir.is_none() {
            self.dir =
                Some(TempDir::new().map_err(|e| io("cannot make a temporary directory", e))?);
        }
        let dir: PathBuf = self
            .dir
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default();
        for (p, buffer) in self.buffers.iter_mut().enumerate() {
            if buffer.is_empty() {
                continue;
            }
            let Some(slot) = self.files.get_mut(p) else {
                continue;
            };
            if slot.is_none() {
                let file = create_file(&dir.join(format!("{p:02}.spool")))
                    .map_err(|e| io("cannot write the de-duplication spool", e))?;
                *slot = Some(BufWriter::with_capacity(1 << 16, file));
            }
            if let Some(w) = slot.as_mut() {
                put(w, buffer.drain(..))
                    .map_err(|e| io("cannot write the de-duplication spool", e))?;
            }
        }
        self.held = 0;
        Ok(())
    }

    /// Every partition's records: the file it spilled to (flushed), and those still in
    /// memory; the directory of the files lives as long as the returned guard.
    fn into_sources(mut self) -> Result<(Option<TempDir>, Vec<Source>), FeedError> {
        let mut sources = Vec::with_capacity(PARTITIONS);
        for p in 0..PARTITIONS {
            let spilled = match self.files.get_mut(p).and_then(Option::take) {
                Some(mut w) => {
                    w.flush()
                        .map_err(|e| io("cannot write the de-duplication spool", e))?;
                    self.dir
                        .as_ref()
                        .map(|d| d.path().join(format!("{p:02}.spool")))
                }
                None => None,
            };
            let held = self
                .buffers
                .get_mut(p)
                .map(std::mem::take)
                .unwrap_or_default();
            sources.push(Source { spilled, held });
        }
        Ok((self.dir.take(), sources))
    }
}

/// One partition's records, before they are read together.
struct Source {
    spilled: Option<PathBuf>,
    held: Vec<(u64, u32, u32)>,
}

impl Source {
    /// Every record: spilled ones, then those that were still in memory.
    fn records(self) -> Result<Vec<(u64, u32, u32)>, FeedError> {
        let Some(path) = self.spilled else {
            return Ok(self.held);
        };
        let mut out = read_records(&path)?;
        let _ = std::fs::remove_file(path);
        out.extend(self.held);
        Ok(out)
    }
}

/// The de-duplication state on disk.
#[derive(Debug, Clone)]
pub struct SeenState {
    dir: PathBuf,
}

impl SeenState {
    /// The state kept in `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn file(&self, p: usize) -> PathBuf {
        self.dir.join(format!("{p:02}.bin"))
    }

    /// Waits for, then holds, the state for a run that will remember what it notified:
    /// another such run (in this process or another) waits until this one has remembered,
    /// so that it sees what this one notified, and neither overwrites the other. Released
    /// when dropped.
    pub fn lock(&self) -> Result<StateLock, FeedError> {
        create_dir_all(&self.dir)
            .map_err(|e| io(&format!("cannot create `{}`", self.dir.display()), e))?;
        let path = self.dir.join("lock");
        let failed = |e| io(&format!("cannot lock `{}`", path.display()), e);
        // Empty: truncating it under another run's lock changes nothing.
        let file = create_file(&path).map_err(failed)?;
        file.lock().map_err(failed)?;
        Ok(StateLock { _file: file })
    }
}

/// The de-duplication state held by one run ([`SeenState::lock`]).
pub struct StateLock {
    _file: File,
}

/// What de-duplication found, and what to remember once the run's notifications are known.
pub struct DedupOutcome {
    /// Per aggregate: events left after de-duplication.
    pub unique: Vec<u64>,
    /// Events removed (duplicates in the run, and hosts notified within the window).
    pub deduplicated: u64,
    /// The run's distinct fingerprints and their aggregate, one file per partition, kept
    /// on disk (not in memory) until [`DedupOutcome::remember`].
    pending: Option<TempDir>,
}

fn put<R: Record>(w: &mut impl Write, records: impl Iterator<Item = R>) -> std::io::Result<()> {
    for r in records {
        r.put(w)?;
    }
    Ok(())
}

/// The records of a file; none when it does not exist. Its length must be a multiple of
/// the record's size.
fn read_records<R: Record>(path: &Path) -> Result<Vec<R>, FeedError> {
    let record = R::SIZE;
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(f) => BufReader::new(f)
            .read_to_end(&mut bytes)
            .map_err(|e| io(&format!("cannot read `{}`", path.display()), e))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(io(&format!("cannot read `{}`", path.display()), e)),
    };
    if bytes.len() % record != 0 {
        return Err(FeedError::Io(format!(
            "`{}` is damaged (its length is not a multiple of {record}); remove it to start the window afresh",
            path.display()
        )));
    }
    Ok(bytes.chunks_exact(record).map(R::get).collect())
}

/// Writes a file of records whole: to a temporary name, synced, then renamed over `path`.
fn write_records<R: Record + Copy>(path: &Path, records: &[R]) -> Result<(), FeedError> {
    let tmp = path.with_extension("tmp");
    let failed = |e| io(&format!("cannot write `{}`", tmp.display()), e);
    let mut w = BufWriter::with_capacity(1 << 16, create_file(&tmp).map_err(failed)?);
    put(&mut w, records.iter().copied()).map_err(failed)?;
    w.into_inner()
        .map_err(|e| failed(e.into_error()))?
        .sync_all()
        .map_err(failed)?;
    std::fs::rename(&tmp, path).map_err(|e| io(&format!("cannot replace `{}`", path.display()), e))
}

/// Sorts and merges every partition (on two threads, a partition at a time each, so
/// that memory holds two partitions at most): counts, per aggregate, the events that
/// remain. `today` and `window` are days (since the epoch); a fingerprint notified on a
/// day later than `today - window` is a repeat. With `kept` (one bit per resolved event,
/// all clear), the bit of each event that remains is set: the first of its fingerprint.
pub(crate) fn deduplicate(
    spool: Spool,
    aggregates: usize,
    state: Option<&SeenState>,
    today: u32,
    window: u32,
    keep: bool,
    kept: Option<&mut [u64]>,
) -> Result<DedupOutcome, FeedError> {
    // Only a run that will be remembered needs its fingerprints kept.
    let pending = if keep {
        Some(TempDir::new().map_err(|e| io("cannot make a temporary directory", e))?)
    } else {
        None
    };
    let since = today.saturating_sub(window);
    let (_spilled, sources) = spool.into_sources()?;
    let mut shares: [Vec<(usize, Source)>; 2] = [Vec::new(), Vec::new()];
    for (p, source) in sources.into_iter().enumerate() {
        if let Some(share) = shares.get_mut(p % 2) {
            share.push((p, source));
        }
    }
    let kept = std::sync::Mutex::new(kept);
    let pending_dir = pending.as_ref().map(|d| d.path().to_path_buf());
    let outcomes = std::thread::scope(|scope| {
        let workers: Vec<_> = shares
            .into_iter()
            .map(|share| {
                let (kept, pending_dir) = (&kept, &pending_dir);
                scope.spawn(move || -> Result<(Vec<u64>, u64), FeedError> {
                    let mut unique = vec![0u64; aggregates];
                    let mut deduplicated = 0u64;
                    for (p, source) in share {
                        let mut first = Vec::new();
                        deduplicated += merge_partition(
                            p,
                            source,
                            state,
                            since,
                            &mut unique,
                            &mut first,
                            pending_dir.as_deref(),
                        )?;
                        if let Ok(mut guard) = kept.lock()
                            && let Some(bits) = guard.as_deref_mut()
                        {
                            for event in first {
                                if let Some(word) = bits.get_mut(event as usize / 64) {
                                    *word |= 1 << (event % 64);
                                }
                            }
                        }
                    }
                    Ok((unique, deduplicated))
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .map_err(|_| FeedError::Io("de-duplication stopped unexpectedly".into()))?
            })
            .collect::<Result<Vec<_>, FeedError>>()
    })?;
    let mut unique = vec![0u64; aggregates];
    let mut deduplicated = 0u64;
    for (counts, removed) in outcomes {
        for (total, n) in unique.iter_mut().zip(counts) {
            *total += n;
        }
        deduplicated += removed;
    }
    Ok(DedupOutcome {
        unique,
        deduplicated,
        pending,
    })
}

/// Sorts one partition and merges it with its state: adds to `unique` per aggregate,
/// pushes the event number of each remaining fingerprint's first event to `first`, writes
/// the partition's distinct fingerprints to `pending` (when given); returns how many
/// events were removed.
fn merge_partition(
    p: usize,
    source: Source,
    state: Option<&SeenState>,
    since: u32,
    unique: &mut [u64],
    first: &mut Vec<u32>,
    pending: Option<&Path>,
) -> Result<u64, FeedError> {
    let mut records = source.records()?;
    records.sort_unstable();
    let seen = match state {
        Some(s) => read_records::<(u64, u32)>(&s.file(p))?,
        None => vec![],
    };
    let mut deduplicated = 0u64;
    let mut s = 0usize;
    let mut distinct: Vec<(u64, u32)> = Vec::new();
    let mut i = 0usize;
    // Sorted by fingerprint, then event number: the first of each is the earliest.
    while let Some(&(fingerprint, event, aggregate)) = records.get(i) {
        let mut n = 0u64;
        while records.get(i).is_some_and(|r| r.0 == fingerprint) {
            n += 1;
            i += 1;
        }
        while seen.get(s).is_some_and(|r| r.0 < fingerprint) {
            s += 1;
        }
        let recent = seen
            .get(s)
            .is_some_and(|r| r.0 == fingerprint && r.1 > since);
        if recent {
            deduplicated += n;
        } else {
            deduplicated += n - 1;
            if let Some(u) = unique.get_mut(aggregate as usize) {
                *u += 1;
            }
            first.push(event);
            if pending.is_some() {
                distinct.push((fingerprint, aggregate));
            }
        }
    }
    if let Some(dir) = pending {
        write_records(&dir.join(format!("{p:02}.pending")), &distinct)?;
    }
    Ok(deduplicated)
}

impl DedupOutcome {
    /// Remembers, as notified today, the events of the aggregates `notified` says were,
    /// and forgets what fell out of the window. Each partition is written whole or not at
    /// all (a temporary file renamed over the old one).
    pub fn remember(
        self,
        state: &SeenState,
        notified: &[bool],
        today: u32,
        window: u32,
    ) -> Result<(), FeedError> {
        create_dir_all(&state.dir)
            .map_err(|e| io(&format!("cannot create `{}`", state.dir.display()), e))?;
        let since = today.saturating_sub(window);
        let Some(pending) = &self.pending else {
            return Err(FeedError::Io(
                "this run was read without keeping its fingerprints (plan only): nothing to remember".into(),
            ));
        };
        for p in 0..PARTITIONS {
            let run: Vec<(u64, u32)> =
                read_records(&pending.path().join(format!("{p:02}.pending")))?;
            let old: Vec<(u64, u32)> = read_records(&state.file(p))?;
            let mut merged: Vec<(u64, u32)> = old.into_iter().filter(|r| r.1 > since).collect();
            merged.extend(
                run.into_iter()
                    .filter(|(_, a)| notified.get(*a as usize).copied().unwrap_or(false))
                    .map(|(f, _)| (f, today)),
            );
            merged.sort_unstable();
            // The latest day per fingerprint.
            merged.dedup_by(|later, earlier| {
                if later.0 == earlier.0 {
                    earlier.1 = earlier.1.max(later.1);
                    true
                } else {
                    false
                }
            });
            write_records(&state.file(p), &merged)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fingerprints spread over every partition.
    fn fingerprint(i: u64) -> u64 {
        i.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    #[test]
    fn repeats_are_found_across_spills_and_remembered_runs() -> Result<(), FeedError> {
        let dir = TempDir::new().map_err(|e| io("temp", e))?;
        let state = SeenState::new(dir.path().join("seen"));
        // 1,000 hosts of aggregate 0 and 500 of aggregate 1, each twice, spilled every 300.
        let run = |state: Option<&SeenState>, today: u32, keep: bool| {
            let mut spool = Spool::new();
            spool.spill_at = 300;
            for _ in 0..2 {
                for i in 0..1500u64 {
                    spool.push(fingerprint(i), i as u32, u32::from(i >= 1000))?;
                }
            }
            deduplicate(spool, 2, state, today, 7, keep, None)
        };
        let first = run(Some(&state), 100, true)?;
        assert_eq!(first.unique, [1000, 500]);
        assert_eq!(first.deduplicated, 1500);
        // Only aggregate 0 was notified: its hosts are left out next time, aggregate 1's not.
        first.remember(&state, &[true, false], 100, 7)?;
        let next = run(Some(&state), 103, false)?;
        assert_eq!(next.unique, [0, 500]);
        assert_eq!(next.deduplicated, 2000 + 500);
        // Past the window they come back.
        let later = run(Some(&state), 108, false)?;
        assert_eq!(later.unique, [1000, 500]);
        // A plan-only outcome has nothing to remember.
        assert!(later.remember(&state, &[true, true], 108, 7).is_err());
        Ok(())
    }

    #[test]
    fn a_damaged_state_file_is_named() -> Result<(), FeedError> {
        let dir = TempDir::new().map_err(|e| io("temp", e))?;
        let path = dir.path().join("00.bin");
        std::fs::write(&path, [0u8; 13]).map_err(|e| io("write", e))?;
        let err = read_records::<(u64, u32)>(&path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("damaged"), "{err}");
        Ok(())
    }
}
