//! The feed benchmark: `schakel feed ingest --plan-only` end to end on a generated
//! Shadowserver `scan_http` report, against a registry of 10,000 organisations holding
//! 100,000 prefixes taken from real routing tables (IPv4 and IPv6), with the process's
//! peak resident memory; beside it, a bare single-threaded pass over the same file with the
//! `csv` crate's `ByteRecord` reader.
//!
//! With `--send`, the runs send instead (under a standing approval given by another
//! person): rows kept, items, deliveries and the rows of every notified organisation
//! written to the database, the de-duplication state cleared between rounds so that every
//! round does the same work.
//!
//! `cargo bench -p schakel --bench feed -- [--rows N] [--rounds N] [--send]`

#[path = "../tests/support/feedgen.rs"]
mod feedgen;

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

type Error = Box<dyn std::error::Error>;

fn arg(name: &str, default: u64) -> Result<u64, Error> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        Some(i) => Ok(args
            .get(i + 1)
            .ok_or(format!("{name} needs a value"))?
            .parse()?),
        None => Ok(default),
    }
}

/// The peak resident set of a running process (kB), from `/proc/PID/status`.
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn bare_pass(file: &Path) -> Result<(u64, f64), Error> {
    let started = Instant::now();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(std::fs::File::open(file)?);
    let mut record = csv::ByteRecord::new();
    let mut rows = 0u64;
    let mut bytes = 0usize;
    while reader.read_byte_record(&mut record)? {
        rows += 1;
        bytes += record.as_slice().len();
    }
    std::hint::black_box(bytes);
    Ok((rows, started.elapsed().as_secs_f64()))
}

#[expect(clippy::print_stdout, reason = "the benchmark prints its result")]
fn main() -> Result<(), Error> {
    if std::env::args().any(|a| a == "--bench") && std::env::args().count() <= 2 {
        // `cargo bench` passes `--bench`; the defaults apply.
    }
    let rows = arg("--rows", 10_000_000)?;
    let send = std::env::args().any(|a| a == "--send");
    let mode = if send {
        "feed ingest (send)"
    } else {
        "feed ingest --plan-only"
    };
    let rounds = arg("--rounds", 3)?;
    let schakel = env!("CARGO_BIN_EXE_schakel");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/asn");
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("bench.db");
    let started = Instant::now();
    let registry = feedgen::registry(&data, 10_000, 100_000)?;
    let registry_file = dir.path().join("registry.json");
    std::fs::write(&registry_file, &registry.json)?;
    let import = Command::new(schakel)
        .env("SCHAKEL_DB", &db)
        .args(["org", "import"])
        .arg(&registry_file)
        .output()?;
    if !import.status.success() {
        let text = String::from_utf8_lossy(&import.stderr);
        return Err(format!(
            "import failed: {}",
            text.chars().take(600).collect::<String>()
        )
        .into());
    }
    // Who acts: tokens made by the installation (the runs need an analyst; a standing
    // approval a second person, here a legal officer).
    let token = |role: &str, name: &str| -> Result<String, Box<dyn std::error::Error>> {
        let out = Command::new(schakel)
            .env("SCHAKEL_DB", &db)
            .args(["token", "create", "--role", role, "--name", name, "--json"])
            .output()?;
        let made: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|_| {
            format!(
                "token create failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        Ok(made["token"].as_str().ok_or("no token")?.to_owned())
    };
    let analyst = token("analyst", "bench analyst")?;
    if send {
        let approve = Command::new(schakel)
            .env("SCHAKEL_DB", &db)
            .env("SCHAKEL_TOKEN", token("legal", "bench legal")?)
            .args(["feed", "approve", "--report", "scan_http"])
            .output()?;
        if !approve.status.success() {
            return Err("feed approve failed".into());
        }
    }
    eprintln!(
        "registry: 10,000 organisations (+10 linking organisations), {} IPv4 and {} IPv6 prefixes, imported in {:.1} s",
        registry.v4.len(),
        registry.v6.len(),
        started.elapsed().as_secs_f64()
    );
    let file: PathBuf = dir.path().join("2026-11-21-scan_http-nl-asn.csv");
    let started = Instant::now();
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&file)?);
    feedgen::write_rows(&mut out, &registry, rows, 20261122)?;
    drop(out);
    let size = std::fs::metadata(&file)?.len();
    eprintln!(
        "input: {rows} rows, {:.0} MB, generated in {:.1} s",
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    // Warm the page cache, then measure.
    bare_pass(&file)?;
    let mut bare = Vec::new();
    let mut ingest = Vec::new();
    let mut peaks = Vec::new();
    for round in 1..=rounds {
        let (n, seconds) = bare_pass(&file)?;
        bare.push(n as f64 / seconds);
        let started = Instant::now();
        // The summary goes to a file: a pipe nobody reads until the end would fill up.
        let out_path = dir.path().join("summary.json");
        let err_path = dir.path().join("stderr.txt");
        let state = dir.path().join("bench.db.feed-seen");
        if state.exists() {
            std::fs::remove_dir_all(&state)?;
        }
        let mut command = Command::new(schakel);
        command
            .env("SCHAKEL_DB", &db)
            .env("SCHAKEL_TOKEN", &analyst)
            .args(["feed", "ingest", "--format", "shadowserver", "--json"]);
        if !send {
            command.arg("--plan-only");
        }
        let mut child = command
            .arg(&file)
            .stdout(Stdio::from(std::fs::File::create(&out_path)?))
            .stderr(Stdio::from(std::fs::File::create(&err_path)?))
            .spawn()?;
        let pid = child.id();
        let mut peak = 0u64;
        let status = loop {
            if let Some(kb) = peak_rss_kb(pid) {
                peak = peak.max(kb);
            }
            if let Some(status) = child.try_wait()? {
                break status;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let wall = started.elapsed().as_secs_f64();
        if !status.success() {
            let text = std::fs::read_to_string(&err_path).unwrap_or_default();
            return Err(format!(
                "feed ingest failed: {}",
                text.chars().take(600).collect::<String>()
            )
            .into());
        }
        let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(&out_path)?)?;
        let counted = summary["rows"].as_u64().unwrap_or(0);
        if counted != rows {
            return Err(format!("feed ingest counted {counted} rows of {rows}").into());
        }
        ingest.push(rows as f64 / wall);
        let resolved = summary["resolved"].as_u64().unwrap_or(0);
        let deduplicated = summary["deduplicated"].as_u64().unwrap_or(0);
        peaks.push(peak);
        eprintln!(
            "round {round}: bare csv pass {:.0} rows/s; {mode} {:.0} rows/s end to end ({wall:.2} s wall, {:.2} s inside; ratio {:.2}), peak RSS {:.1} MiB; resolved {resolved}, unresolved {}, deduplicated {deduplicated} (notified events {}), notifications {} permitted / {} denied",
            n as f64 / seconds,
            rows as f64 / wall,
            summary["seconds"].as_f64().unwrap_or(0.0),
            (rows as f64 / wall) / (n as f64 / seconds),
            peak as f64 / 1024.0,
            summary["unresolved"],
            resolved.saturating_sub(deduplicated),
            summary["notifications"]["permitted"],
            summary["notifications"]["denied"],
        );
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let (b, i) = (median(&mut bare), median(&mut ingest));
    let peak = peaks.iter().max().copied().unwrap_or(0);
    println!(
        "{mode}: median {:.0} rows/s (bare csv ByteRecord pass {:.0} rows/s; ratio {:.2}); peak RSS {:.1} MiB; {rows} rows, {rounds} rounds",
        i,
        b,
        i / b,
        peak as f64 / 1024.0
    );
    Ok(())
}
