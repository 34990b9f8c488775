//! Planning and sending one item to 10,000 candidate recipients, on a real SQLite file.
//!
//! `cargo bench -p schakel-app --bench distribution [-- --organisations N --rounds N]`
//!
//! The registry: N organisations, all essential or important entities (so all are
//! candidates for a general item and all are permitted under the Cbw), spread over ten
//! sectors, each with one email contact; every tenth with a recipient token. The item is
//! TLP:AMBER and concerns nobody, so the planner proposes every designated organisation.
//! Timed, per round, on a fresh item: `plan` (candidates, one decision each, channels,
//! plan hash) and `send` (plan again, then every delivery row — inbox and email — and its
//! audit entry, in one transaction). The first round also fills the decision cache.
//! Between rounds the benchmark checkpoints the WAL, as `serve` does between passes.

#![allow(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use schakel_app::{App, Clock, ImportOptions, TokenKind, TokenRequest};
use schakel_domain::{Principal, Role, SectorVocabulary};
use schakel_rulebook::{EffectiveDates, RulebookSet};
use schakel_store::SqliteStore;
use serde_json::json;

type Failure = Box<dyn std::error::Error>;

fn registry(n: usize) -> serde_json::Value {
    let sectors = [
        "energy",
        "health",
        "drinking_water",
        "banking",
        "public_administration",
        "software",
        "food",
        "telecom",
        "transport",
        "research",
    ];
    let orgs: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            json!({
                "slug": format!("org-{i:05}"),
                "name": format!("Organisation {i}"),
                "sectors": [sectors[i % sectors.len()]],
                "jurisdiction": "NL",
                "designations": [{
                    "status": if i % 3 == 0 { "essential_entity" } else { "important_entity" },
                    "from": "2026-08-15",
                    "until": null
                }],
                "secrecy": null,
                "contacts": [{"name": "SOC", "email": format!("soc@org-{i:05}.example")}]
            })
        })
        .collect();
    json!(orgs)
}

fn main() -> Result<(), Failure> {
    let mut organisations = 10_000usize;
    let mut rounds = 5usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--organisations" => organisations = args.next().ok_or("a number")?.parse()?,
            "--rounds" => rounds = args.next().ok_or("a number")?.parse()?,
            _ => {}
        }
    }
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(&dir.path().join("bench.db"), SectorVocabulary::default())?;
    let app = App::new(
        Arc::new(store),
        SectorVocabulary::default(),
        Arc::new(RulebookSet::defaults(EffectiveDates::default())?),
        Clock::fixed("2026-11-22T10:00:00Z".parse()?),
    );
    let admin = App::installation();
    app.import_registry(
        &admin,
        registry(organisations).to_string().as_bytes(),
        ImportOptions::default(),
    )?;
    for i in (0..organisations).step_by(10) {
        app.create_token(
            &admin,
            TokenRequest {
                kind: TokenKind::Recipient {
                    organisation: format!("org-{i:05}"),
                    label: None,
                },
                expires: None,
            },
        )?;
    }
    let analyst = Principal {
        token_id: "bench".into(),
        name: "bench analyst".into(),
        role: Role::Analyst,
        organisation: None,
    };
    let mut plans: Vec<Duration> = Vec::new();
    let mut sends: Vec<Duration> = Vec::new();
    let mut deliveries = 0;
    let mut permits = 0;
    for round in 0..rounds.max(1) {
        let item = app.create_item(
            &analyst,
            json!({"kind": "advisory", "title": format!("Advisory {round}"), "tlp": "AMBER"}),
        )?;
        let started = Instant::now();
        let plan = app.plan(&analyst, &item.row.id)?;
        plans.push(started.elapsed());
        permits = plan.permits.len();
        let started = Instant::now();
        let report = app.send_item(&analyst, &item.row.id, Some(&plan.hash))?;
        sends.push(started.elapsed());
        deliveries = report.deliveries.len();
        // What `schakel serve` does between delivery passes (not timed).
        app.housekeeping()?;
    }
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    let show = |name: &str, t: &[Duration]| {
        let first = t.first().map(ms).unwrap_or_default();
        let mut rest: Vec<f64> = t.iter().skip(1).map(ms).collect();
        rest.sort_by(f64::total_cmp);
        let at = |q: f64| {
            rest.get(((rest.len().saturating_sub(1)) as f64 * q).round() as usize)
                .copied()
                .unwrap_or_default()
        };
        println!(
            "{name:>5}: first {first:.0} ms; then best {:.0}, median {:.0}, worst {:.0} ms",
            at(0.0),
            at(0.5),
            at(1.0)
        );
    };
    println!(
        "{organisations} organisations, {permits} permitted, {deliveries} deliveries (inbox and email) per send, {rounds} rounds"
    );
    show("plan", &plans);
    show("send", &sends);
    Ok(())
}
