//! The delivery worker as a process. It survives being killed: `schakel deliver --once` is
//! SIGKILLed at many points of a batch of webhooks; after restarts every delivery has
//! arrived at least once, and every duplicate carries the same `webhook-id` and body. And
//! `schakel serve` runs it, and signs the audit head.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod support;
use support::{schakel, token};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// (webhook-id, body) of every request, in arrival order.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A receiver that answers each webhook after `delay`, so a kill lands mid-batch.
fn receiver(delay: Duration) -> Result<(String, Seen), std::io::Error> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                let (mut id, mut length, mut line) = (String::new(), 0usize, String::new());
                let mut complete = false;
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                    if line == "\r\n" {
                        complete = true;
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        match k.trim().to_ascii_lowercase().as_str() {
                            "webhook-id" => id = v.trim().to_owned(),
                            "content-length" => length = v.trim().parse().unwrap_or(0),
                            _ => {}
                        }
                    }
                    line.clear();
                }
                // A request cut off by the kill never arrived.
                let mut body = vec![0u8; length];
                if !complete || reader.read_exact(&mut body).is_err() {
                    return;
                }
                if let Ok(mut log) = log.lock() {
                    log.push((id, String::from_utf8_lossy(&body).into_owned()));
                }
                std::thread::sleep(delay);
                let _ = reader.into_inner().write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            });
        }
    });
    Ok((url, seen))
}

/// The settings beside `db`: the receivers of these tests listen on loopback, a private
/// webhook target that an installation must allow.
fn settings(db: &Path) -> Result<std::path::PathBuf, std::io::Error> {
    let path = db.with_file_name("settings.toml");
    if !path.exists() {
        std::fs::write(&path, "[webhooks]\nallow_private = true\n")?;
    }
    Ok(path)
}

/// Runs `schakel` on `db` as the installation (no token), or as the holder of `token`.
fn run(
    db: &Path,
    token: Option<&str>,
    args: &[&str],
) -> Result<std::process::Output, std::io::Error> {
    let mut command = schakel(db);
    command.env("SCHAKEL_CONFIG", settings(db)?);
    if let Some(token) = token {
        command.env("SCHAKEL_TOKEN", token);
    }
    command.args(args).output()
}

/// The analyst's token on `db` (made the first time).
fn analyst(db: &Path) -> Result<String, Box<dyn std::error::Error>> {
    let file = db.with_file_name("analyst.token");
    if let Ok(token) = std::fs::read_to_string(&file) {
        return Ok(token);
    }
    let made = token(db, "analyst", "Anna Analyst")?;
    std::fs::write(&file, &made)?;
    Ok(made)
}

/// `n` entities with a webhook on `url` and a signing secret, and a GREEN advisory sent to
/// them all; returns the item's id.
fn sent_to_entities(
    dir: &Path,
    db: &Path,
    n: usize,
    url: &str,
) -> Result<String, Box<dyn std::error::Error>> {
    let organisations: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "slug": format!("entity-{i:02}"), "name": format!("Entity {i}"),
                "sectors": ["energy"], "jurisdiction": "NL",
                "designations": [{"status": "essential_entity", "from": "2026-08-15", "until": null}],
                "secrecy": null,
                "contacts": [{"name": "SOC", "email": format!("soc@entity-{i:02}.example"), "webhook_url": url}]
            })
        })
        .collect();
    let registry = dir.join("registry.json");
    std::fs::write(&registry, json!(organisations).to_string())?;
    let out = run(
        db,
        None,
        &["org", "import", registry.to_str().ok_or("path")?],
    )?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let admin = token(db, "admin", "Ada Admin")?;
    for i in 0..n {
        let out = run(
            db,
            Some(&admin),
            &["webhook", "secret", &format!("entity-{i:02}")],
        )?;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let item = dir.join("item.json");
    std::fs::write(
        &item,
        json!({"kind": "advisory", "title": "Patch now", "tlp": "GREEN", "sectors": ["energy"]})
            .to_string(),
    )?;
    let created: Value = serde_json::from_slice(
        &run(
            db,
            Some(&analyst(db)?),
            &["item", "create", item.to_str().ok_or("path")?, "--json"],
        )?
        .stdout,
    )?;
    let id = created["id"].as_str().ok_or("item id")?.to_owned();
    let out = run(db, Some(&analyst(db)?), &["item", "send", &id])?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(id)
}

#[test]
fn killing_the_worker_at_many_points_loses_nothing_and_resends_with_the_same_id() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("schakel.db");
    let (url, seen) = receiver(Duration::from_millis(150))?;
    let id = sent_to_entities(dir.path(), &db, 12, &url)?;
    let outbox: Value = serde_json::from_slice(
        &run(
            &db,
            Some(&analyst(&db)?),
            &["outbox", "list", "--item", &id, "--json"],
        )?
        .stdout,
    )?;
    let webhooks: Vec<String> = outbox["items"]
        .as_array()
        .ok_or("outbox")?
        .iter()
        .filter(|d| d["channel"] == "webhook")
        .filter_map(|d| d["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(webhooks.len(), 12);

    // Kill the worker after 1, 4, 7 and 10 requests have arrived, then let it finish.
    let mut kills = 0;
    for after in [1usize, 4, 7, 10] {
        let before = seen.lock().map_err(|_| "poisoned")?.len();
        let mut child = schakel(&db)
            .env("SCHAKEL_CONFIG", settings(&db)?)
            .args(["deliver", "--once"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let started = Instant::now();
        loop {
            let now_seen = seen.lock().map_err(|_| "poisoned")?.len();
            if now_seen >= before + after || child.try_wait()?.is_some() {
                break;
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err("the worker sent nothing for 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if child.try_wait()?.is_none() {
            child.kill()?; // SIGKILL
            kills += 1;
        }
        child.wait()?;
    }
    assert!(kills >= 3, "the worker finished before it could be killed");
    let out = run(&db, None, &["deliver", "--once"])?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Everything delivered, nothing pending; every id arrived; duplicates are identical.
    let pending: Value = serde_json::from_slice(
        &run(
            &db,
            Some(&analyst(&db)?),
            &["outbox", "list", "--state", "pending", "--json"],
        )?
        .stdout,
    )?;
    // (Email waits: this test configures no SMTP server.)
    let pending_webhooks = pending["items"]
        .as_array()
        .ok_or("items")?
        .iter()
        .filter(|d| d["channel"] == "webhook")
        .count();
    assert_eq!(pending_webhooks, 0, "{pending:#}");
    let seen = seen.lock().map_err(|_| "poisoned")?.clone();
    let mut by_id: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (id, body) in &seen {
        by_id.entry(id.as_str()).or_default().push(body.as_str());
    }
    for id in &webhooks {
        let bodies = by_id
            .get(id.as_str())
            .ok_or(format!("{id} never arrived"))?;
        assert!(
            bodies.windows(2).all(|w| w[0] == w[1]),
            "{id}: bodies differ"
        );
    }
    let unknown: Vec<&&str> = by_id
        .keys()
        .filter(|id| !webhooks.iter().any(|w| w == *id))
        .collect();
    assert!(
        unknown.is_empty(),
        "unknown ids arrived: {unknown:?} (known: {webhooks:?})"
    );
    assert!(
        seen.len() > webhooks.len(),
        "no duplicates: the kills landed nowhere"
    );
    Ok(())
}

#[test]
fn serve_runs_the_worker_and_signs_the_audit_head() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("schakel.db");
    let (url, seen) = receiver(Duration::from_millis(1))?;
    sent_to_entities(dir.path(), &db, 2, &url)?;
    let out = run(&db, None, &["key", "init"])?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut server = schakel(&db)
        .env("SCHAKEL_CONFIG", settings(&db)?)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let started = Instant::now();
    let arrived = loop {
        let n = seen.lock().map_err(|_| "poisoned")?.len();
        if n >= 2 || started.elapsed() > Duration::from_secs(30) {
            break n;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // The outcome is recorded right after the hand-over; give the pass a moment to finish.
    let recorded = loop {
        let delivered: Value = serde_json::from_slice(
            &run(
                &db,
                Some(&analyst(&db)?),
                &["outbox", "list", "--state", "delivered", "--json"],
            )?
            .stdout,
        )?;
        let webhooks = delivered["items"].as_array().map_or(0, |a| {
            a.iter().filter(|d| d["channel"] == "webhook").count()
        });
        if webhooks == 2 || started.elapsed() > Duration::from_secs(30) {
            break webhooks;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    server.kill()?;
    server.wait()?;
    assert_eq!(arrived, 2, "the worker inside serve delivered nothing");
    assert_eq!(recorded, 2);
    // The server signed the audit head at start; verify checks it with the key.
    let out = run(
        &db,
        Some(&token(&db, "legal", "Lex Legal")?),
        &["audit", "verify", "--json"],
    )?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verified: Value = serde_json::from_slice(&out.stdout)?;
    assert!(
        verified["signed_heads_checked"].as_u64().unwrap_or(0) >= 1,
        "{verified}"
    );
    assert_eq!(verified["signatures_checked"], true);
    Ok(())
}
