//! Outbox throughput: signed email deliveries per second through the worker to an SMTP
//! server on loopback.
//!
//! `cargo bench -p schakel-delivery --bench outbox [-- --organisations N --rounds N]`
//!
//! N organisations (essential entities, each with one email contact, no OpenPGP key) are
//! sent one TLP:AMBER item each round; the worker then hands every email over: deciding
//! each again, writing the message, signing it with the centre's Ed25519 key, SMTP to the
//! server, and recording the outcome. The server is a minimal SMTP sink in this process
//! (it accepts every message and counts it), so the figure is schakel's side.

#![allow(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use schakel_app::{App, Clock, ImportOptions};
use schakel_delivery::{CentreKey, EmailCourier};
use schakel_domain::{Principal, Role, SectorVocabulary};
use schakel_rulebook::{EffectiveDates, RulebookSet};
use schakel_store::SqliteStore;
use serde_json::json;

type Failure = Box<dyn std::error::Error>;

/// An SMTP sink: every message is accepted and counted.
fn sink(count: Arc<AtomicU64>) -> Result<u16, Failure> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let count = Arc::clone(&count);
            std::thread::spawn(move || {
                let Ok(mut writer) = stream.try_clone() else {
                    return;
                };
                let mut reader = BufReader::new(stream);
                let _ = writer.write_all(b"220 sink ESMTP\r\n");
                let mut line = String::new();
                let mut in_data = false;
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                    let reply: &[u8] = if in_data {
                        if line == ".\r\n" {
                            in_data = false;
                            count.fetch_add(1, Ordering::SeqCst);
                            b"250 queued\r\n"
                        } else {
                            b""
                        }
                    } else {
                        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                        match verb.as_str() {
                            "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                            "DATA" => {
                                in_data = true;
                                b"354 go on\r\n"
                            }
                            "QUIT" => {
                                let _ = writer.write_all(b"221 bye\r\n");
                                break;
                            }
                            _ => b"250 ok\r\n",
                        }
                    };
                    if !reply.is_empty() && writer.write_all(reply).is_err() {
                        break;
                    }
                    line.clear();
                }
            });
        }
    });
    Ok(port)
}

fn main() -> Result<(), Failure> {
    let mut organisations = 2_000usize;
    let mut rounds = 3usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--organisations" => organisations = args.next().ok_or("a number")?.parse()?,
            "--rounds" => rounds = args.next().ok_or("a number")?.parse()?,
            _ => {}
        }
    }
    let dir = tempfile::tempdir()?;
    let app = App::new(
        Arc::new(SqliteStore::open(
            &dir.path().join("bench.db"),
            SectorVocabulary::default(),
        )?),
        SectorVocabulary::default(),
        Arc::new(RulebookSet::defaults(EffectiveDates::default())?),
        Clock::system(),
    );
    let registry: Vec<serde_json::Value> = (0..organisations)
        .map(|i| {
            json!({
                "slug": format!("org-{i:05}"),
                "name": format!("Organisation {i}"),
                "sectors": ["energy"],
                "jurisdiction": "NL",
                "designations": [{"status": "essential_entity", "from": "2026-08-15", "until": null}],
                "secrecy": null,
                "contacts": [{"name": "SOC", "email": format!("soc@org-{i:05}.example")}]
            })
        })
        .collect();
    let admin = App::installation();
    app.import_registry(
        &admin,
        json!(registry).to_string().as_bytes(),
        ImportOptions::default(),
    )?;
    let analyst = Principal {
        token_id: "bench".into(),
        name: "bench analyst".into(),
        role: Role::Analyst,
        organisation: None,
    };
    let count = Arc::new(AtomicU64::new(0));
    let port = sink(Arc::clone(&count))?;
    let key = CentreKey::generate("Bench Centre <cert@centre.example>")?;
    let courier = EmailCourier::new(
        &format!("smtp://127.0.0.1:{port}"),
        "Bench Centre <cert@centre.example>",
        key,
    )?;
    let mut rates = Vec::new();
    for round in 0..rounds.max(1) {
        let item = app.create_item(
            &analyst,
            json!({"kind": "advisory", "title": format!("Advisory {round}"), "tlp": "AMBER",
                   "body": "Patch the appliance to 4.2.1.", "sectors": ["energy"]}),
        )?;
        app.send_item(&analyst, &item.row.id, None)?;
        let before = count.load(Ordering::SeqCst);
        let started = Instant::now();
        let run = app.deliver_once(&analyst, &[&courier], u64::MAX >> 1)?;
        let took = started.elapsed();
        let sent = count.load(Ordering::SeqCst) - before;
        if run.delivered.len() != organisations || sent != organisations as u64 {
            return Err(format!(
                "round {round}: {} delivered, {sent} received, of {organisations}: {:?}",
                run.delivered.len(),
                run.retried.first()
            )
            .into());
        }
        rates.push(organisations as f64 / took.as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "{organisations} signed emails per round, {rounds} rounds: {:.0}–{:.0} messages/s (median {:.0})",
        rates.first().copied().unwrap_or_default(),
        rates.last().copied().unwrap_or_default(),
        rates.get(rates.len() / 2).copied().unwrap_or_default()
    );
    Ok(())
}
