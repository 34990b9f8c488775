//! The small version of the feed benchmark, run in CI: a generated registry on real
//! routing-table prefixes, generated Shadowserver rows streamed through standard input,
//! and the summary's invariants. (The throughput and memory figures come from
//! `cargo bench -p schakel --bench feed`.)

mod support;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use support::{feedgen, schakel, token};

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[test]
fn generated_rows_stream_through_standard_input_and_the_summary_adds_up() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("feed.db");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/asn");
    let registry = feedgen::registry(&data, 300, 3_000)?;
    let file = dir.path().join("registry.json");
    std::fs::write(&file, &registry.json)?;
    let import = schakel(&db).args(["org", "import"]).arg(&file).output()?;
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let analyst = token(&db, "analyst", "Anna Analyst")?;
    let mut child = schakel(&db)
        .env("SCHAKEL_TOKEN", &analyst)
        .args([
            "feed",
            "ingest",
            "-",
            "--format",
            "shadowserver",
            "--report",
            "scan_http",
            "--plan-only",
            "--json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let rows = 50_000;
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        feedgen::write_rows(&mut stdin, &registry, rows, 7)?;
        stdin.write_all(b"2026-11-21 03:00:00,not-an-ip,tcp,80\n")
    });
    let output = child.wait_with_output()?;
    writer.join().map_err(|_| "the generator panicked")??;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Quiet when standard error is not a terminal.
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let n = |k: &str| s[k].as_u64().unwrap_or(u64::MAX);
    assert_eq!(n("rows"), rows + 1);
    assert_eq!(n("parsed") + n("malformed"), n("rows"));
    assert_eq!(n("resolved") + n("unresolved"), n("parsed"));
    assert_eq!(n("malformed"), 1);
    assert_eq!(s["malformed_lines"][0]["line"], rows + 2);
    // About 90 % of the generated addresses are registered, about 5 % repeats.
    let resolved = n("resolved") as f64 / n("parsed") as f64;
    assert!((0.85..0.95).contains(&resolved), "{resolved}");
    assert!(n("deduplicated") > rows / 40, "{}", n("deduplicated"));
    let by_org: u64 = s["by_organisation"]
        .as_object()
        .ok_or("no by_organisation")?
        .values()
        .filter_map(|v| v.as_u64())
        .sum();
    assert_eq!(by_org, n("resolved"));
    assert!(
        s["notifications"]["permitted"].as_u64().unwrap_or(0) > 100,
        "{}",
        s["notifications"]
    );
    // Every linking organisation gets one message about the members of its sector.
    let isacs = s["permitted"]
        .as_array()
        .ok_or("no permitted")?
        .iter()
        .filter(|p| {
            p["recipient"]
                .as_str()
                .is_some_and(|r| r.starts_with("isac-"))
        })
        .count();
    assert_eq!(isacs, 10);
    // Nothing was changed: no de-duplication state beside the database.
    assert!(!dir.path().join("feed.db.feed-seen").exists());
    Ok(())
}

#[test]
fn a_run_sends_under_a_standing_approval_given_by_another_person() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("feed.db");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/asn");
    let registry = feedgen::registry(&data, 100, 1_000)?;
    let file = dir.path().join("registry.json");
    std::fs::write(&file, &registry.json)?;
    let rows_file = dir.path().join("2026-11-21-scan_http-nl.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&rows_file)?);
    feedgen::write_rows(&mut out, &registry, 5_000, 11)?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    let (lea, ana) = (
        token(&db, "legal", "Lea Legal")?,
        token(&db, "analyst", "Ana Analyst")?,
    );
    let run = |token: Option<&str>, args: &[&str]| {
        let mut command = schakel(&db);
        if let Some(token) = token {
            command.env("SCHAKEL_TOKEN", token);
        }
        command.args(args).output()
    };
    let ok = |out: &std::process::Output| -> TestResult {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    };
    ok(&run(
        None,
        &["org", "import", file.to_str().ok_or("path")?],
    )?)?;
    ok(&run(
        Some(&lea),
        &["feed", "approve", "--report", "scan_http"],
    )?)?;
    let rows_path = rows_file.to_str().ok_or("path")?;
    let ingest = [
        "feed",
        "ingest",
        rows_path,
        "--format",
        "shadowserver",
        "--json",
    ];
    let out = run(Some(&ana), &ingest)?;
    ok(&out)?;
    let s: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let run_id = s["run"].as_str().ok_or("no run id")?.to_owned();
    let permitted = s["permitted"].as_array().ok_or("no permitted")?;
    assert!(permitted.len() > 50, "{}", permitted.len());
    assert!(
        permitted
            .iter()
            .all(|p| p["status"] == "sent" && p["item"].as_str().is_some()),
        "{s}"
    );
    // Remembered beside the database: the same file again notifies nobody.
    assert!(dir.path().join("feed.db.feed-seen").is_dir());
    let out = run(Some(&ana), &ingest)?;
    ok(&out)?;
    let again: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(
        again["permitted"].as_array().map(Vec::len),
        Some(0),
        "{again}"
    );
    // The runs are listed; the first shows its messages.
    let out = run(Some(&ana), &["feed", "runs", "--json"])?;
    ok(&out)?;
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(runs["total"], 2);
    let out = run(Some(&ana), &["feed", "show", &run_id])?;
    ok(&out)?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("Run {run_id}:")) && text.contains(" sent"),
        "{text}"
    );
    assert!(
        text.contains("Did it reach them:") && text.contains("inbox delivered"),
        "{text}"
    );
    Ok(())
}

#[test]
fn a_retention_of_zero_days_is_refused_naming_the_setting() -> TestResult {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("schakel.toml");
    std::fs::write(&config, "[feeds]\nretain_days = 0\n")?;
    // Refused when the settings are read, whatever the command.
    for command in [&["serve", "--listen", "127.0.0.1:0"][..], &["feed", "runs"]] {
        let out = schakel(&dir.path().join("x.db"))
            .arg("--config")
            .arg(&config)
            .args(command)
            .output()?;
        assert_eq!(out.status.code(), Some(1), "{command:?}");
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(text.contains("feeds.retain_days"), "{text}");
    }
    Ok(())
}
