//! STIX bundles and MISP events are read object by object: the heap a run needs does not
//! grow with the document. Before they were streamed, a 400 MB bundle took 6.7 GB.

use std::io::Read;

use peak_alloc::PeakAlloc;
use schakel_domain::{Registry, SectorVocabulary};
use schakel_feeds::{Ingest, ReportType, Resolver};

#[global_allocator]
static PEAK: PeakAlloc = PeakAlloc;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A document made as it is read: `head`, then `count` elements from `element`, then
/// `tail`; never held whole.
struct Generated<F: FnMut(usize) -> String> {
    head: Vec<u8>,
    element: F,
    count: usize,
    next: usize,
    tail: Vec<u8>,
    buffer: Vec<u8>,
    at: usize,
    bytes: u64,
}

impl<F: FnMut(usize) -> String> Generated<F> {
    fn new(head: &str, element: F, count: usize, tail: &str) -> Self {
        Self {
            head: head.as_bytes().to_vec(),
            element,
            count,
            next: 0,
            tail: tail.as_bytes().to_vec(),
            buffer: Vec::new(),
            at: 0,
            bytes: 0,
        }
    }
}

impl<F: FnMut(usize) -> String> Read for Generated<F> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.buffer.len() {
            self.buffer.clear();
            self.at = 0;
            if !self.head.is_empty() {
                self.buffer = std::mem::take(&mut self.head);
            } else if self.next < self.count {
                if self.next > 0 {
                    self.buffer.push(b',');
                }
                self.buffer.extend((self.element)(self.next).into_bytes());
                self.next += 1;
            } else if !self.tail.is_empty() {
                self.buffer = std::mem::take(&mut self.tail);
            } else {
                return Ok(0);
            }
        }
        let n = out.len().min(self.buffer.len() - self.at);
        out[..n].copy_from_slice(&self.buffer[self.at..self.at + n]);
        self.at += n;
        self.bytes += n as u64;
        Ok(n)
    }
}

fn registry() -> Result<Registry, Box<dyn std::error::Error>> {
    let text = r#"[{"slug": "hospital-south", "name": "Hospital South", "sectors": ["health"],
        "jurisdiction": "NL", "designations": [], "secrecy": null, "contacts": [],
        "prefixes": ["198.51.100.0/24"]}]"#;
    let organisations = schakel_formats::registry::parse_registry_file(
        text.as_bytes(),
        &SectorVocabulary::default(),
    )
    .map_err(|e| format!("{e:?}"))?;
    Ok(Registry::new(organisations))
}

/// The heap a run's reading needed above what was in use before it, in MiB.
fn peak_while(read: impl FnOnce() -> TestResult) -> Result<f32, Box<dyn std::error::Error>> {
    let before = PEAK.current_usage_as_mb();
    PEAK.reset_peak_usage();
    read()?;
    Ok(PEAK.peak_usage_as_mb() - before)
}

#[test]
fn a_large_stix_bundle_and_misp_event_are_read_in_flat_memory() -> TestResult {
    let registry = registry()?;
    let resolver = Resolver::new(&registry, jiff::civil::date(2026, 11, 22));
    const OBJECTS: usize = 60_000;
    // About 30 MB of STIX: indicators in the registry's prefix, a long description each.
    let padding = "lorem ipsum ".repeat(16);
    let mut stix = Generated::new(
        r#"{"type": "bundle", "id": "bundle--big", "objects": ["#,
        |i| {
            format!(
                r#"{{"type": "indicator", "spec_version": "2.1", "id": "indicator--{i:08}", "description": "{padding}",
                    "pattern": "[ipv4-addr:value = '198.51.100.{}']", "pattern_type": "stix", "valid_from": "2026-11-21T00:00:00Z",
                    "object_marking_refs": ["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"]}}"#,
                i % 250
            )
        },
        OBJECTS,
        "]}",
    );
    let mut ingest = Ingest::new(&resolver);
    let stix_peak = peak_while(|| {
        ingest.stix(
            "big.json",
            &ReportType::bare("stix", "malicious-code"),
            &mut stix,
        )?;
        Ok(())
    })?;
    let stix_bytes = stix.bytes;
    // About as much in one MISP event's attributes, its tags at the end.
    let mut misp = Generated::new(
        r#"{"Event": {"info": "big", "Attribute": ["#,
        |i| {
            format!(
                r#"{{"type": "ip-dst", "category": "Network activity", "value": "198.51.100.{}", "uuid": "{i:08}", "comment": "{padding}"}}"#,
                i % 250
            )
        },
        OBJECTS,
        r#"], "Tag": [{"name": "tlp:amber"}]}}"#,
    );
    let misp_peak = peak_while(|| {
        ingest.misp(
            "big-misp.json",
            &ReportType::bare("misp", "malicious-code"),
            &mut misp,
        )?;
        Ok(())
    })?;
    let misp_bytes = misp.bytes;
    let done = ingest.finish(None, 20_000, 7, false)?;
    assert_eq!(done.rows, 2 * OBJECTS as u64);
    assert_eq!(done.resolved, 2 * OBJECTS as u64);
    eprintln!(
        "STIX {:.0} MB read with {stix_peak:.1} MiB more heap at its peak; MISP {:.0} MB with {misp_peak:.1} MiB",
        stix_bytes as f64 / 1e6,
        misp_bytes as f64 / 1e6
    );
    assert!(stix_bytes > 15_000_000 && misp_bytes > 15_000_000);
    // Read whole, either document took more than ten times its size.
    assert!(stix_peak < 12.0, "STIX: {stix_peak:.1} MiB at the peak");
    assert!(misp_peak < 12.0, "MISP: {misp_peak:.1} MiB at the peak");
    Ok(())
}
