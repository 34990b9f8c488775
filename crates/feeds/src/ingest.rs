//! One streaming pass over feed files: records parsed, each event resolved to the
//! organisation owning it, counted per organisation and report type, its fingerprint
//! spooled for de-duplication. A malformed record is counted and named, never fatal.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr};

use foldhash::fast::FixedState;
use serde::Serialize;

use schakel_domain::Tlp;

use crate::FeedError;
use crate::dedup::{DedupOutcome, SeenState, Spool, deduplicate};
use crate::documents::{Part, read_misp, read_stix};
use crate::marking::{Markings, stix_refs};
use crate::pattern::Named;
use crate::report::{ReportType, Severity};
use crate::resolve::Resolver;
use crate::rows::{KeptRows, RowSpool, encode_values};

/// The columns of a kept STIX row: the indicator's id, name and pattern, the value the
/// pattern compares, its validity and labels.
pub const STIX_COLUMNS: [&str; 6] = ["id", "name", "pattern", "value", "valid_from", "labels"];
/// The columns of a kept MISP row: the attribute's.
pub const MISP_COLUMNS: [&str; 7] = [
    "uuid",
    "category",
    "type",
    "value",
    "comment",
    "to_ids",
    "timestamp",
];

/// The longest a field of a record may be by default (bytes): a longer one makes its
/// record malformed (a feed is not the place for a file; the run goes on).
pub const DEFAULT_MAX_FIELD: usize = 64 * 1024;

/// How many malformed records are named (all are counted).
pub const MALFORMED_NAMED: usize = 100;
/// The progress callback is called every this many records.
pub const PROGRESS_EVERY: u64 = 1 << 16;

/// A feed's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Shadowserver CSV (report type from the file name or `--report`).
    Shadowserver,
    /// A CSV with a mapping file.
    Csv,
    /// A STIX 2.1 bundle.
    Stix,
    /// A MISP event.
    Misp,
}

impl Format {
    /// The identifier on the command line and in the summary.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Shadowserver => "shadowserver",
            Format::Csv => "csv",
            Format::Stix => "stix",
            Format::Misp => "misp",
        }
    }

    /// Parses an identifier.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Format::Shadowserver,
            Format::Csv,
            Format::Stix,
            Format::Misp,
        ]
        .into_iter()
        .find(|f| f.as_str() == text)
    }
}

/// One input file in the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileSummary {
    /// As given (`-` for standard input).
    pub path: String,
    /// Its format.
    pub format: &'static str,
    /// Its report type.
    pub report: String,
    /// Its data records.
    pub rows: u64,
}

/// A malformed record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MalformedLine {
    /// The file.
    pub file: String,
    /// The physical line where the record starts (the header is line 1); for STIX and MISP
    /// the record's number.
    pub line: u64,
    /// What is wrong.
    pub reason: String,
}

/// Events of one report type that one organisation owns, under one marking of their
/// source. (Two aggregates may end with the same organisation, report type and TLP, when
/// their markings settled alike: readers merge by those three.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregate {
    /// The organisation (index into [`Resolver::organisations`]).
    pub organisation: u32,
    /// The report type (index into [`Ingest::reports`]).
    pub report: u16,
    /// The TLP the source gave these events (`None`: it gave none, and the report type's
    /// default applies); settled when the run ends.
    pub tlp: Option<Tlp>,
    /// The marking slot the events were read with.
    marking: u32,
    /// Events before de-duplication.
    pub events: u64,
    /// The highest severity seen.
    pub max_severity: Severity,
}

/// The outcome of a run's streaming pass and de-duplication.
pub struct Ingested {
    /// Each input file.
    pub files: Vec<FileSummary>,
    /// Every report type seen, by index.
    pub reports: Vec<ReportType>,
    /// Data records.
    pub rows: u64,
    /// Records read as events.
    pub parsed: u64,
    /// Records that could not be read.
    pub malformed: u64,
    /// The first [`MALFORMED_NAMED`] of them.
    pub malformed_lines: Vec<MalformedLine>,
    /// Events that resolved to an organisation.
    pub resolved: u64,
    /// Events that did not.
    pub unresolved: u64,
    /// Per organisation × report type.
    pub aggregates: Vec<Aggregate>,
    /// De-duplication: per aggregate the events left, and what to remember.
    pub dedup: DedupOutcome,
    /// Per organisation index: events before de-duplication.
    pub by_organisation: Vec<u64>,
    /// The notified rows, when the run kept them ([`Ingest::keep_rows`]).
    pub rows_kept: Option<KeptRows>,
    /// What the person running the feed must know (such as markings a file names but
    /// never defines).
    pub warnings: Vec<String>,
}

/// A run in progress.
pub struct Ingest<'a> {
    resolver: &'a Resolver,
    hasher: FixedState,
    files: Vec<FileSummary>,
    reports: Vec<ReportType>,
    /// Per report type, a hash of its name: fingerprints must tell report types apart
    /// across runs, where the same type may have another index.
    report_hashes: Vec<u64>,
    aggregates: Vec<Aggregate>,
    index: HashMap<(u32, u16, u32), u32>,
    markings: Markings,
    max_field: usize,
    warnings: Vec<String>,
    by_organisation: Vec<u64>,
    spool: Spool,
    rows: u64,
    parsed: u64,
    malformed: u64,
    malformed_lines: Vec<MalformedLine>,
    resolved: u64,
    unresolved: u64,
    row_spool: Option<RowSpool>,
}

/// Parses `a.b.c.d` without going through UTF-8 and `str`.
#[inline]
fn ipv4(bytes: &[u8]) -> Option<Ipv4Addr> {
    let mut out = [0u8; 4];
    let mut part = 0usize;
    let mut value: u32 = 0;
    let mut digits = 0;
    for &b in bytes {
        match b {
            b'0'..=b'9' => {
                value = value * 10 + u32::from(b - b'0');
                digits += 1;
                if digits > 3 || value > 255 {
                    return None;
                }
            }
            b'.' => {
                if digits == 0 || part >= 3 {
                    return None;
                }
                *out.get_mut(part)? = u8::try_from(value).ok()?;
                part += 1;
                value = 0;
                digits = 0;
            }
            _ => return None,
        }
    }
    if digits == 0 || part != 3 {
        return None;
    }
    out[3] = u8::try_from(value).ok()?;
    Some(Ipv4Addr::from(out))
}

/// Parses an address: IPv4 fast, anything else through the standard library (a network
/// such as `192.0.2.0/24` gives its first address).
#[inline]
pub(crate) fn address(bytes: &[u8]) -> Option<IpAddr> {
    let bytes = bytes.trim_ascii();
    if let Some(v4) = ipv4(bytes) {
        return Some(IpAddr::V4(v4));
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let text = text.split('/').next().unwrap_or(text);
    text.parse().ok()
}

/// The host of a URL (`http://user@host:port/path` → `host`).
pub(crate) fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        host_port.split(':').next()?
    };
    (!host.is_empty()).then_some(host)
}

/// The domain of an email address (`soc@hospital-south.example` → `hospital-south.example`).
pub(crate) fn email_domain(address: &str) -> Option<&str> {
    let (local, domain) = address.trim().rsplit_once('@')?;
    let domain = domain.trim_end_matches('>');
    (!local.is_empty() && !domain.is_empty()).then_some(domain)
}

/// A host as found: an address literal is an address, anything else a name.
pub(crate) fn host_or_address(host: &str) -> (Option<IpAddr>, Option<&str>) {
    match host.parse::<IpAddr>() {
        Ok(ip) => (Some(ip), None),
        Err(_) => (None, Some(host)),
    }
}

/// What locates an event.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Locator<'r> {
    pub ip: Option<IpAddr>,
    pub host: Option<&'r str>,
    pub asn: Option<u32>,
    /// What distinguishes one issue on a host from another (a hash of a port or an
    /// indicator id).
    pub issue: u64,
    pub severity: Option<Severity>,
    /// The marking slot of the record ([`Markings`]).
    pub marking: u32,
    /// The TLP a CSV's column gave the record (its slot is found when it is counted).
    pub source_tlp: Option<Tlp>,
}

/// The fields of a record that locate and describe its event, in the order the reading
/// stage copies them.
const IP: usize = 0;
const HOST: usize = 1;
const URL: usize = 2;
const EMAIL: usize = 3;
const ASN: usize = 4;
const PORT: usize = 5;
const SEVERITY: usize = 6;
const TLP: usize = 7;
const FIELDS: usize = 8;
/// A field the record does not have (or has empty).
const ABSENT: (u32, u32) = (u32::MAX, u32::MAX);

/// Which columns of a CSV hold what.
struct Layout {
    width: usize,
    /// The column of each of the [`FIELDS`].
    columns: [Option<usize>; FIELDS],
    ip_name: String,
    tlp_name: String,
    /// Each column's name, for messages.
    names: Vec<String>,
    /// The longest a field may be.
    max_field: usize,
}

/// A record as the reading stage hands it on: where it starts, and its fields (byte
/// ranges in the batch's `raw`); its values (when the run keeps rows) in the batch's
/// `values`. Parsing the fields is the resolving stage's work, so that the reading stage
/// does little more than the CSV reader itself.
struct Row {
    line: u64,
    fields: [(u32, u32); FIELDS],
    values: (u32, u32),
}

/// Records read from a run of the input.
#[derive(Default)]
struct Batch {
    rows: Vec<Row>,
    raw: Vec<u8>,
    values: Vec<u8>,
    /// Records read for this batch (events and malformed ones).
    records: u64,
}

impl Batch {
    const ROWS: usize = 4096;

    fn clear(&mut self) {
        self.rows.clear();
        self.raw.clear();
        self.values.clear();
        self.records = 0;
    }
}

/// What the reading stage counted.
struct Parsed {
    rows: u64,
    malformed: u64,
    /// The first [`MALFORMED_NAMED`] of them.
    malformed_lines: Vec<(u64, String)>,
}

fn asn_of(bytes: &[u8]) -> Option<u32> {
    let a = bytes.trim_ascii();
    let a = a
        .strip_prefix(b"AS")
        .or_else(|| a.strip_prefix(b"as"))
        .unwrap_or(a);
    std::str::from_utf8(a)
        .ok()?
        .parse::<u32>()
        .ok()
        .filter(|n| *n != 0)
}

/// The reading stage: records into batches; records that do not have the header's width
/// (or that the CSV reader refuses) counted and the first [`MALFORMED_NAMED`] named.
fn parse_csv<R: Read>(
    mut reader: csv::Reader<R>,
    layout: &Layout,
    keep: bool,
    path: &str,
    full: &std::sync::mpsc::SyncSender<Batch>,
    empty: &std::sync::mpsc::Receiver<Batch>,
) -> Result<Parsed, FeedError> {
    let mut parsed = Parsed {
        rows: 0,
        malformed: 0,
        malformed_lines: Vec::new(),
    };
    let bad = |parsed: &mut Parsed, line: u64, reason: &dyn Fn() -> String| {
        parsed.malformed += 1;
        if parsed.malformed_lines.len() < MALFORMED_NAMED {
            parsed.malformed_lines.push((line, reason()));
        }
    };
    let mut record = csv::ByteRecord::new();
    let mut batch = Batch::default();
    loop {
        let line = reader.position().line();
        let more = match reader.read_byte_record(&mut record) {
            Ok(more) => more,
            Err(e) => {
                if let csv::ErrorKind::Io(io) = e.kind() {
                    return Err(FeedError::Input(format!("`{path}`: {io}")));
                }
                parsed.rows += 1;
                batch.records += 1;
                bad(&mut parsed, line, &|| e.to_string());
                continue;
            }
        };
        // The field at `c`, without the `\r` of a CRLF line end when it is the last.
        let last = record.len().saturating_sub(1);
        let field = |c: usize| {
            record.get(c).map(|f| match f {
                [head @ .., b'\r'] if c == last => head,
                f => f,
            })
        };
        // A blank line (a CRLF one too) is no record.
        if more && record.len() == 1 && field(0).is_some_and(<[u8]>::is_empty) {
            continue;
        }
        if more {
            parsed.rows += 1;
            batch.records += 1;
            let line = record.position().map_or(line, csv::Position::line);
            // Only a record longer than one field may be can hold a field too long.
            let too_long = (record.as_slice().len() > layout.max_field)
                .then(|| record.iter().position(|f| f.len() > layout.max_field))
                .flatten();
            if let Some(c) = too_long {
                let (len, max) = (record.get(c).map_or(0, <[u8]>::len), layout.max_field);
                let name = layout
                    .names
                    .get(c)
                    .cloned()
                    .unwrap_or_else(|| format!("column {}", c + 1));
                bad(&mut parsed, line, &|| {
                    format!(
                        "`{name}` holds {len} bytes, more than the limit of {max} for one field"
                    )
                });
            } else if record.len() <= layout.width {
                // Real reports leave out trailing empty fields: what is missing is empty.
                let mut row = Row {
                    line,
                    fields: [ABSENT; FIELDS],
                    values: (0, 0),
                };
                for (slot, column) in row.fields.iter_mut().zip(&layout.columns) {
                    if let Some(value) = column.and_then(field).filter(|f| !f.is_empty()) {
                        *slot = appended(&mut batch.raw, |b| b.extend_from_slice(value));
                    }
                }
                if keep {
                    let missing = layout.width - record.len();
                    row.values = appended(&mut batch.values, |b| {
                        encode_values(
                            (0..record.len())
                                .filter_map(field)
                                .chain(std::iter::repeat_n(&b""[..], missing)),
                            b,
                        );
                    });
                }
                batch.rows.push(row);
            } else {
                let (got, want) = (record.len(), layout.width);
                bad(&mut parsed, line, &|| {
                    format!("{got} fields where the header has only {want}")
                });
            }
        }
        if batch.rows.len() >= Batch::ROWS || (!more && batch.records > 0) {
            let next = empty.try_recv().unwrap_or_default();
            if full.send(std::mem::replace(&mut batch, next)).is_err() {
                // The resolving stage stopped (it failed); its error is reported.
                break;
            }
        }
        if !more {
            break;
        }
    }
    Ok(parsed)
}

/// Appends to a batch's bytes; the byte range written.
fn appended(buf: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) -> (u32, u32) {
    let start = buf.len();
    write(buf);
    let at = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    (at(start), at(buf.len()))
}

/// One record's event, or why it is malformed.
#[inline]
fn locate<'b>(
    row: &Row,
    raw: &'b [u8],
    (ip_name, tlp_name): (&str, &str),
    hasher: &FixedState,
) -> Result<Locator<'b>, String> {
    let field = |k: usize| {
        let (a, b) = row.fields.get(k).copied().unwrap_or(ABSENT);
        if a == u32::MAX {
            None
        } else {
            raw.get(a as usize..b as usize)
        }
    };
    let ip = match field(IP) {
        None => None,
        Some(bytes) => match address(bytes) {
            Some(ip) => Some(ip),
            None => {
                return Err(format!(
                    "`{ip_name}`: `{}` is not an IP address",
                    String::from_utf8_lossy(bytes)
                ));
            }
        },
    };
    let host = field(HOST)
        .and_then(|h| std::str::from_utf8(h).ok())
        .or_else(|| {
            field(URL)
                .and_then(|u| std::str::from_utf8(u).ok())
                .and_then(url_host)
        })
        .or_else(|| {
            field(EMAIL)
                .and_then(|e| std::str::from_utf8(e).ok())
                .and_then(email_domain)
        });
    // A host that is an address literal (`http://198.51.100.20/a`) is that address.
    let (ip, host) = match (ip, host.map(host_or_address)) {
        (None, Some((Some(literal), _))) => (Some(literal), None),
        (ip, Some((_, host))) => (ip, host),
        (ip, None) => (ip, None),
    };
    let source_tlp = match field(TLP) {
        None => None,
        Some(bytes) => match std::str::from_utf8(bytes).ok().and_then(Tlp::from_label) {
            Some(tlp) => Some(tlp),
            None => {
                return Err(format!(
                    "`{tlp_name}`: `{}` is not a TLP (CLEAR, GREEN, AMBER, AMBER+STRICT, RED; TLP 1.0's WHITE is CLEAR)",
                    String::from_utf8_lossy(bytes)
                ));
            }
        },
    };
    Ok(Locator {
        ip,
        host,
        asn: field(ASN).and_then(asn_of),
        issue: field(PORT).map_or(0, |p| hasher.hash_one(p)),
        severity: field(SEVERITY).and_then(Severity::parse),
        marking: Markings::UNMARKED,
        source_tlp,
    })
}

impl<'a> Ingest<'a> {
    /// A run that resolves against `resolver`.
    pub fn new(resolver: &'a Resolver) -> Self {
        Self {
            resolver,
            hasher: FixedState::with_seed(0x5c4a_6b65_6c00_0001),
            files: Vec::new(),
            reports: Vec::new(),
            report_hashes: Vec::new(),
            aggregates: Vec::new(),
            index: HashMap::new(),
            markings: Markings::new(),
            max_field: DEFAULT_MAX_FIELD,
            warnings: Vec::new(),
            by_organisation: vec![0; resolver.organisations().len()],
            spool: Spool::new(),
            rows: 0,
            parsed: 0,
            malformed: 0,
            malformed_lines: Vec::new(),
            resolved: 0,
            unresolved: 0,
            row_spool: None,
        }
    }

    /// The longest a field may be (bytes); a record with a longer one is malformed.
    pub fn max_field(&mut self, bytes: usize) {
        self.max_field = bytes.max(1);
    }

    /// Keeps every resolved event's row (all its columns), so that the notified ones can
    /// be sent: [`Ingested::rows_kept`]. Call before reading.
    pub fn keep_rows(&mut self) -> Result<(), FeedError> {
        if self.row_spool.is_none() {
            self.row_spool = Some(RowSpool::new()?);
        }
        Ok(())
    }

    /// An input begins: its number among the kept rows' inputs, when rows are kept.
    fn begin_input(&mut self, columns: impl FnOnce() -> Vec<String>) -> u32 {
        self.row_spool
            .as_mut()
            .map_or(0, |spool| spool.begin(columns()))
    }

    /// Records read so far (for progress).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    fn report_index(&mut self, report: &ReportType) -> Result<u16, FeedError> {
        if let Some(i) = self.reports.iter().position(|r| r.report == report.report) {
            return u16::try_from(i).map_err(|_| FeedError::Schema("too many report types".into()));
        }
        self.reports.push(report.clone());
        self.report_hashes
            .push(self.hasher.hash_one(report.report.as_bytes()));
        u16::try_from(self.reports.len() - 1)
            .map_err(|_| FeedError::Schema("too many report types in one run".into()))
    }

    fn malformed(&mut self, file: &str, line: u64, reason: impl FnOnce() -> String) {
        self.malformed += 1;
        if self.malformed_lines.len() < MALFORMED_NAMED {
            self.malformed_lines.push(MalformedLine {
                file: file.to_owned(),
                line,
                reason: reason(),
            });
        }
    }

    /// Resolves and counts one event; `slots` caches the aggregate of each organisation
    /// for the current report type. `row` is its input and values, kept when the run
    /// keeps rows.
    #[inline]
    fn event(
        &mut self,
        report: u16,
        slots: &mut [(u32, u32)],
        default: Severity,
        l: Locator<'_>,
        row: (u32, &[u8]),
    ) -> Result<(), FeedError> {
        self.parsed += 1;
        let mut l = l;
        if let Some(tlp) = l.source_tlp {
            l.marking = self.markings.known(Some(tlp));
        }
        let r = self.resolver;
        let org =
            l.ip.and_then(|ip| r.address(ip))
                .or_else(|| l.host.and_then(|h| r.host(h)))
                .or_else(|| l.asn.and_then(|a| r.asn(a)));
        let Some(org) = org else {
            self.unresolved += 1;
            return Ok(());
        };
        self.resolved += 1;
        if let Some(n) = self.by_organisation.get_mut(org as usize) {
            *n += 1;
        }
        let severity = l.severity.unwrap_or(default);
        let aggregate = match slots.get(org as usize).copied() {
            Some((marking, a)) if a != u32::MAX && marking == l.marking => a,
            _ => {
                let a = *self
                    .index
                    .entry((org, report, l.marking))
                    .or_insert_with(|| {
                        self.aggregates.push(Aggregate {
                            organisation: org,
                            report,
                            tlp: None,
                            marking: l.marking,
                            events: 0,
                            max_severity: Severity::Info,
                        });
                        u32::try_from(self.aggregates.len() - 1).unwrap_or(u32::MAX)
                    });
                if let Some(s) = slots.get_mut(org as usize) {
                    *s = (l.marking, a);
                }
                a
            }
        };
        if let Some(agg) = self.aggregates.get_mut(aggregate as usize) {
            agg.events += 1;
            agg.max_severity = agg.max_severity.max(severity);
        }
        let mut h = self.hasher.build_hasher();
        use std::hash::Hasher;
        h.write_u64(
            self.report_hashes
                .get(usize::from(report))
                .copied()
                .unwrap_or_default(),
        );
        match (l.ip, l.host) {
            (Some(IpAddr::V4(a)), _) => h.write_u32(u32::from(a)),
            (Some(IpAddr::V6(a)), _) => h.write_u128(u128::from(a)),
            (None, Some(host)) => h.write(host.as_bytes()),
            (None, None) => h.write_u32(l.asn.unwrap_or(0)),
        }
        h.write_u64(l.issue);
        let event = u32::try_from(self.resolved - 1).unwrap_or(u32::MAX);
        if let Some(spool) = self.row_spool.as_mut() {
            if event == u32::MAX {
                return Err(FeedError::Input(
                    "a run that sends holds at most 4,294,967,294 resolved events; split the input"
                        .into(),
                ));
            }
            spool.push(event, aggregate, row.0, row.1)?;
        }
        self.spool.push(h.finish(), event, aggregate)
    }

    fn slots(&self) -> Vec<(u32, u32)> {
        vec![(Markings::UNMARKED, u32::MAX); self.resolver.organisations().len()]
    }

    /// Reads a CSV feed (Shadowserver or mapped) of report type `report`; the header names
    /// the columns. Calls `progress` with the records read every [`PROGRESS_EVERY`].
    pub fn csv(
        &mut self,
        path: &str,
        format: Format,
        report: &ReportType,
        delimiter: u8,
        input: impl Read + Send,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), FeedError> {
        let index = self.report_index(report)?;
        let mut slots = self.slots();
        let default = report.severity();
        // Records end at `\n` only: a lone `\r` (binary garbage) is data, not a line break,
        // so every record's line is the physical line it starts on, in CRLF files too; the
        // `\r` of a CRLF line end is taken off the last field.
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .terminator(csv::Terminator::Any(b'\n'))
            .flexible(true)
            .buffer_capacity(1 << 20)
            .from_reader(input);
        let headers = reader
            .byte_headers()
            .map_err(|e| FeedError::Input(format!("`{path}`: cannot read the header: {e}")))?
            .clone();
        let column = |name: &Option<String>| {
            name.as_ref().and_then(|n| {
                headers
                    .iter()
                    .position(|h| h.trim_ascii().eq_ignore_ascii_case(n.as_bytes()))
            })
        };
        let c = &report.columns;
        let layout = Layout {
            width: headers.len(),
            columns: [
                column(&c.ip).or_else(|| column(&c.network)),
                column(&c.host).or_else(|| column(&c.fqdn)),
                column(&c.url),
                column(&c.email),
                column(&c.asn),
                column(&c.port),
                column(&c.severity),
                column(&c.tlp),
            ],
            ip_name: c
                .ip
                .clone()
                .or_else(|| c.network.clone())
                .unwrap_or_default(),
            tlp_name: c.tlp.clone().unwrap_or_default(),
            names: headers
                .iter()
                .map(|h| String::from_utf8_lossy(h).trim().to_owned())
                .collect(),
            max_field: self.max_field,
        };
        // Rows that name no address, host or ASN of a constituent are read and counted
        // (as not resolvable); the run goes on, and says so.
        if layout.columns[..=ASN].iter().all(Option::is_none) {
            let expected: Vec<String> = [
                &c.ip, &c.network, &c.host, &c.fqdn, &c.url, &c.email, &c.asn,
            ]
            .iter()
            .filter_map(|x| x.as_deref())
            .map(|x| format!("`{x}`"))
            .collect();
            self.warnings.push(if expected.is_empty() {
                format!(
                    "`{path}`: report `{}` locates no constituent (its rows carry no address, host, URL, email or ASN of one): its rows were read and counted as not resolvable",
                    report.report
                )
            } else {
                format!(
                    "`{path}`: the header has none of the columns that locate an event for report `{}` ({}): its rows were read and counted as not resolvable",
                    report.report,
                    expected.join(", ")
                )
            });
        }
        // Two stages on two threads: one reads and splits records into batches of events,
        // the other resolves and counts them; batches travel back to be reused.
        let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Batch>(4);
        let (empty_tx, empty_rx) = std::sync::mpsc::sync_channel::<Batch>(8);
        let hasher = self.hasher.clone();
        let names = (layout.ip_name.clone(), layout.tlp_name.clone());
        let keep = self.row_spool.is_some();
        let input = self.begin_input(|| {
            headers
                .iter()
                .map(|h| String::from_utf8_lossy(h).trim().to_owned())
                .collect()
        });
        // Records whose fields do not parse (found by this stage).
        let mut unreadable = 0u64;
        let mut unreadable_lines: Vec<(u64, String)> = Vec::new();
        let outcome = std::thread::scope(|scope| -> Result<Parsed, FeedError> {
            let parser =
                scope.spawn(move || parse_csv(reader, &layout, keep, path, &full_tx, &empty_rx));
            let mut seen = self.rows;
            for mut batch in full_rx {
                for row in &batch.rows {
                    match locate(row, &batch.raw, (&names.0, &names.1), &hasher) {
                        Ok(locator) => {
                            let values = batch
                                .values
                                .get(row.values.0 as usize..row.values.1 as usize)
                                .unwrap_or_default();
                            self.event(index, &mut slots, default, locator, (input, values))?;
                        }
                        Err(reason) => {
                            unreadable += 1;
                            if unreadable_lines.len() < MALFORMED_NAMED {
                                unreadable_lines.push((row.line, reason));
                            }
                        }
                    }
                }
                seen += batch.records;
                progress(seen);
                batch.clear();
                // The parser may have finished; a batch it does not take back is dropped.
                let _ = empty_tx.send(batch);
            }
            parser.join().map_err(|_| {
                FeedError::Input(format!("`{path}`: the reader stopped unexpectedly"))
            })?
        })?;
        self.rows += outcome.rows;
        // Each stage named its first malformed records; together, in line order, they
        // hold the first of the file.
        let mut named = outcome.malformed_lines;
        named.append(&mut unreadable_lines);
        named.sort_by_key(|(line, _)| *line);
        let total = outcome.malformed + unreadable;
        let named_count = named.len() as u64;
        for (line, reason) in named {
            let reason = std::cell::Cell::new(Some(reason));
            self.malformed(path, line, || reason.take().unwrap_or_default());
        }
        self.malformed += total - named_count;
        progress(self.rows);
        self.files.push(FileSummary {
            path: path.to_owned(),
            format: format.as_str(),
            report: report.report.clone(),
            rows: outcome.rows,
        });
        Ok(())
    }

    /// Reads a STIX 2.x bundle, one object at a time (memory stays flat): each indicator
    /// is a record; one whose pattern compares an `ipv4-addr`, `ipv6-addr`, `domain-name`
    /// or `url` value is an event, any other is counted as not resolvable. Each record
    /// takes the strictest TLP its object and granular markings give (TLP 1.0 and 2.0,
    /// the standard definitions or the bundle's own, wherever in the bundle they stand).
    pub fn stix(
        &mut self,
        path: &str,
        report: &ReportType,
        input: impl Read,
    ) -> Result<(), FeedError> {
        let index = self.report_index(report)?;
        let mut slots = self.slots();
        let columns = self.begin_input(|| STIX_COLUMNS.iter().map(|c| (*c).to_owned()).collect());
        let mut rows = 0u64;
        let mut values = Vec::new();
        let max_field = self.max_field;
        self.markings.begin_stix();
        read_stix(path, input, max_field, &mut |part| {
            let object = match part {
                Part::StixObject(object) => object,
                Part::Malformed(reason) => {
                    rows += 1;
                    self.rows += 1;
                    self.malformed(path, rows, || reason);
                    return Ok(());
                }
                _ => return Ok(()),
            };
            match object.get("type").and_then(|t| t.as_str()) {
                Some("marking-definition") => {
                    self.markings.learn_stix(&object);
                    return Ok(());
                }
                Some("indicator") => {}
                _ => return Ok(()),
            }
            let Some(pattern) = object.get("pattern").and_then(|p| p.as_str()) else {
                rows += 1;
                self.rows += 1;
                self.malformed(path, rows, || "an indicator without a `pattern`".into());
                return Ok(());
            };
            // Each value the pattern names is a record; an indicator naming none (or in
            // another pattern language, such as Snort or YARA) is one, not resolvable.
            let stix = object
                .get("pattern_type")
                .and_then(|t| t.as_str())
                .is_none_or(|t| t == "stix");
            let named = if stix {
                match crate::pattern::named_values(pattern) {
                    Ok(named) => named,
                    Err(e) => {
                        rows += 1;
                        self.rows += 1;
                        self.malformed(path, rows, || format!("pattern: {e}"));
                        return Ok(());
                    }
                }
            } else {
                Vec::new()
            };
            let id = object.get("id").and_then(|i| i.as_str()).unwrap_or("");
            let marking = self.markings.stix(stix_refs(&object));
            let labels = object
                .get("labels")
                .map_or_else(String::new, |l| l.to_string());
            let located: Vec<Option<Named>> = if named.is_empty() {
                vec![None]
            } else {
                named.into_iter().map(Some).collect()
            };
            for value in located {
                rows += 1;
                self.rows += 1;
                let text = value.as_ref().map(Named::text).unwrap_or_default();
                let (ip, host, asn) = match &value {
                    Some(Named::Address(v)) => match address(v.as_bytes()) {
                        Some(ip) => (Some(ip), None, None),
                        None => {
                            self.malformed(path, rows, || {
                                format!("pattern: `{text}` is not an IP address or network")
                            });
                            continue;
                        }
                    },
                    Some(Named::Host(h)) => {
                        let (ip, host) = host_or_address(h);
                        (ip, host, None)
                    }
                    Some(Named::Url(u)) => match url_host(u).map(host_or_address) {
                        Some((ip, host)) => (ip, host, None),
                        None => (None, None, None),
                    },
                    Some(Named::Email(e)) => (None, email_domain(e), None),
                    Some(Named::Asn(n)) => (None, None, Some(*n)),
                    None => (None, None, None),
                };
                values.clear();
                if self.row_spool.is_some() {
                    let field = |k: &str| object.get(k).and_then(|v| v.as_str()).unwrap_or("");
                    encode_values(
                        [
                            id,
                            field("name"),
                            pattern,
                            text.as_str(),
                            field("valid_from"),
                            labels.as_str(),
                        ]
                        .into_iter()
                        .map(str::as_bytes),
                        &mut values,
                    );
                }
                self.event(
                    index,
                    &mut slots,
                    report.severity(),
                    Locator {
                        ip,
                        host,
                        asn,
                        issue: self.hasher.hash_one(id.as_bytes()),
                        severity: None,
                        marking,
                        source_tlp: None,
                    },
                    (columns, &values),
                )?;
            }
            Ok(())
        })?;
        self.markings.end_stix(path);
        self.files.push(FileSummary {
            path: path.to_owned(),
            format: Format::Stix.as_str(),
            report: report.report.clone(),
            rows,
        });
        Ok(())
    }

    /// Reads MISP events (every shape MISP exports: `{"Event": …}`, a bare event, the
    /// search answer `{"response": […]}`, a list; several events per file), one attribute
    /// at a time: each attribute, also those of the event's objects, is a record. Each
    /// takes the strictest TLP of its own tags and its event's (`tlp:white` is
    /// TLP:CLEAR).
    pub fn misp(
        &mut self,
        path: &str,
        report: &ReportType,
        input: impl Read,
    ) -> Result<(), FeedError> {
        let index = self.report_index(report)?;
        let mut slots = self.slots();
        let columns = self.begin_input(|| MISP_COLUMNS.iter().map(|c| (*c).to_owned()).collect());
        let mut rows = 0u64;
        let mut values = Vec::new();
        let max_field = self.max_field;
        // The TLP of each event whose tags have been read.
        let mut event_tlp: HashMap<u64, Option<Tlp>> = HashMap::new();
        read_misp(path, input, max_field, &mut |part| {
            let (event, attribute) = match part {
                Part::MispAttribute { event, attribute } => (event, attribute),
                Part::MispEventTags { event, tlp } => {
                    event_tlp.insert(event, tlp);
                    return Ok(());
                }
                Part::MispEventEnd { event } => {
                    let tlp = event_tlp.remove(&event).flatten();
                    self.markings.end_misp_event(event, tlp);
                    return Ok(());
                }
                Part::Malformed(reason) => {
                    rows += 1;
                    self.rows += 1;
                    self.malformed(path, rows, || reason);
                    return Ok(());
                }
                Part::StixObject(_) => return Ok(()),
            };
            rows += 1;
            self.rows += 1;
            let (Some(kind), Some(value)) = (
                attribute.get("type").and_then(|t| t.as_str()),
                attribute.get("value").and_then(|v| v.as_str()),
            ) else {
                self.malformed(path, rows, || {
                    "an attribute without `type` or `value`".into()
                });
                return Ok(());
            };
            let first = value.split('|').next().unwrap_or(value);
            let second = value.split('|').nth(1).unwrap_or("");
            let (ip, host, asn) = match kind {
                "ip-src" | "ip-dst" | "ip-src|port" | "ip-dst|port" => {
                    match address(first.as_bytes()) {
                        Some(ip) => (Some(ip), None, None),
                        None => {
                            let v = value.to_owned();
                            self.malformed(path, rows, || {
                                format!("`{kind}`: `{v}` is not an IP address")
                            });
                            return Ok(());
                        }
                    }
                }
                "domain|ip" => (address(second.as_bytes()), Some(first), None),
                "domain" | "hostname" | "hostname|port" => {
                    let (ip, host) = host_or_address(first);
                    (ip, host, None)
                }
                "url" | "link" => match url_host(value).map(host_or_address) {
                    Some((ip, host)) => (ip, host, None),
                    None => (None, None, None),
                },
                "AS" => (
                    None,
                    None,
                    value
                        .trim_start_matches(['A', 'S', 'a', 's'])
                        .parse::<u32>()
                        .ok(),
                ),
                _ => (None, None, None),
            };
            let uuid = attribute
                .get("uuid")
                .and_then(|u| u.as_str())
                .unwrap_or(value);
            values.clear();
            if self.row_spool.is_some() {
                let text = |k: &str| match attribute.get(k) {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(serde_json::Value::Null) | None => String::new(),
                    Some(other) => other.to_string(),
                };
                encode_values(
                    [
                        uuid.to_owned(),
                        text("category"),
                        kind.to_owned(),
                        value.to_owned(),
                        text("comment"),
                        text("to_ids"),
                        text("timestamp"),
                    ]
                    .iter()
                    .map(|v| v.as_bytes()),
                    &mut values,
                );
            }
            let own = crate::marking::misp_tags_tlp(attribute.get("Tag"));
            let marking = self
                .markings
                .misp(event, own, event_tlp.get(&event).copied());
            self.event(
                index,
                &mut slots,
                report.severity(),
                Locator {
                    ip,
                    host,
                    asn,
                    issue: self.hasher.hash_one(uuid.as_bytes()),
                    severity: None,
                    marking,
                    source_tlp: None,
                },
                (columns, &values),
            )
        })?;
        self.files.push(FileSummary {
            path: path.to_owned(),
            format: Format::Misp.as_str(),
            report: report.report.clone(),
            rows,
        });
        Ok(())
    }

    /// Ends the run: de-duplicates within it and against `state` (days since the epoch;
    /// `window` in days). With `keep`, the run's fingerprints are kept (on disk) so that
    /// [`DedupOutcome::remember`] can record what was notified.
    pub fn finish(
        self,
        state: Option<&SeenState>,
        today: u32,
        window: u32,
        keep: bool,
    ) -> Result<Ingested, FeedError> {
        let mut kept = self
            .row_spool
            .as_ref()
            .map(|_| vec![0u64; usize::try_from(self.resolved.div_ceil(64)).unwrap_or(0)]);
        let dedup = deduplicate(
            self.spool,
            self.aggregates.len(),
            state,
            today,
            window,
            keep,
            kept.as_deref_mut(),
        )?;
        let rows_kept = match (self.row_spool, kept) {
            (Some(spool), Some(kept)) => Some(spool.finish(kept)?),
            _ => None,
        };
        let mut aggregates = self.aggregates;
        for a in &mut aggregates {
            a.tlp = self.markings.tlp(a.marking);
        }
        Ok(Ingested {
            files: self.files,
            reports: self.reports,
            rows: self.rows,
            parsed: self.parsed,
            malformed: self.malformed,
            malformed_lines: self.malformed_lines,
            resolved: self.resolved,
            unresolved: self.unresolved,
            aggregates,
            dedup,
            by_organisation: self.by_organisation,
            rows_kept,
            warnings: self
                .warnings
                .into_iter()
                .chain(self.markings.warnings)
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_hosts_and_patterns() {
        assert_eq!(address(b"192.0.2.7"), "192.0.2.7".parse().ok());
        assert_eq!(address(b" 2001:db8::1 "), "2001:db8::1".parse().ok());
        assert_eq!(address(b"192.0.2.0/24"), "192.0.2.0".parse().ok());
        for bad in [
            &b"256.0.0.1"[..],
            b"1.2.3",
            b"1.2.3.4.5",
            b"01234.1.1.1",
            b"x",
            b"",
        ] {
            assert_eq!(address(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(
            url_host("https://user@Host.example:8443/a?b"),
            Some("Host.example")
        );
        assert_eq!(url_host("http://[2001:db8::1]:80/"), Some("2001:db8::1"));
        assert_eq!(url_host("host.example/x"), Some("host.example"));
    }
}
