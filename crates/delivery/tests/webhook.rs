//! Webhook delivery end to end: a real HTTP receiver on loopback that checks every
//! signature with its own HMAC, answers 503 at first (the worker retries with backoff),
//! then 200; a re-sent delivery carries the same `webhook-id`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use schakel_app::{App, Clock, SecretsKey};
use schakel_delivery::WebhookCourier;
use schakel_domain::{
    DeliveryState, ItemStatus, Principal, Role, SectorVocabulary, WebhookTargets,
};
use schakel_formats::registry::OrganisationRecord;
use schakel_rulebook::{EffectiveDates, RulebookSet};
use schakel_store::{DeliveryQuery, SqliteStore};
use serde_json::{Value, json};
use sha2::Sha256;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The receivers of these tests listen on loopback: a private target, allowed here as an
/// installation allows it with `[webhooks] allow_private = true`.
const LOOPBACK_ALLOWED: WebhookTargets = WebhookTargets {
    allow_private: true,
};

/// What the receiver saw of one request.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

/// Requests as the receiver saw them.
type Log = Arc<Mutex<Vec<Received>>>;

/// A one-thread HTTP receiver: records each request, answers 503 while `failing`.
fn receiver(failing: Arc<AtomicBool>) -> Result<(String, Log), std::io::Error> {
    answering(move || {
        if failing.load(Ordering::SeqCst) {
            "503 Service Unavailable".into()
        } else {
            "200 OK".into()
        }
    })
}

/// A one-thread HTTP receiver: records each request and answers with the status line
/// (and headers) `answer` gives.
fn answering(
    answer: impl Fn() -> String + Send + 'static,
) -> Result<(String, Log), std::io::Error> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut headers = std::collections::HashMap::new();
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                if line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                }
                line.clear();
            }
            let length: usize = headers
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0u8; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let header = |k: &str| headers.get(k).cloned().unwrap_or_default();
            if let Ok(mut seen) = log.lock() {
                seen.push(Received {
                    id: header("webhook-id"),
                    timestamp: header("webhook-timestamp"),
                    signature: header("webhook-signature"),
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
            }
            let status = answer();
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    Ok((url, seen))
}

/// The receiver's own check of a signature (not schakel's code).
fn valid(secret: &str, r: &Received) -> bool {
    let Ok(key) = STANDARD.decode(secret.trim_start_matches("whsec_")) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
        return false;
    };
    mac.update(format!("{}.{}.{}", r.id, r.timestamp, r.body).as_bytes());
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    r.signature
        .split(' ')
        .any(|s| s == format!("v1,{expected}"))
}

fn person(name: &str) -> Principal {
    Principal {
        token_id: format!("tok_{name}"),
        name: name.into(),
        role: Role::Analyst,
        organisation: None,
    }
}

#[test]
fn webhooks_are_signed_retried_with_backoff_and_resent_with_the_same_id() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(&dir.path().join("t.db"), SectorVocabulary::default())?;
    let now = Arc::new(AtomicI64::new(
        "2026-11-22T10:00:00Z".parse::<Timestamp>()?.as_second(),
    ));
    let clock_now = Arc::clone(&now);
    let app = App::new(
        Arc::new(store),
        SectorVocabulary::default(),
        Arc::new(RulebookSet::defaults(EffectiveDates::default())?),
        Clock::from_fn(move || {
            Timestamp::from_second(clock_now.load(Ordering::SeqCst)).unwrap_or_default()
        }),
    )
    .with_webhook_targets(LOOPBACK_ALLOWED)
    .with_secrets_key(SecretsKey::generate()?);
    let admin = App::installation();
    app.load_demo(&admin)?;

    // Z-CERT gets a webhook on the receiver and a signing secret.
    let failing = Arc::new(AtomicBool::new(true));
    let (url, seen) = receiver(Arc::clone(&failing))?;
    let zcert = app.organisation(&admin, "z-cert")?;
    let mut record = serde_json::to_value(OrganisationRecord::from_organisation(&zcert))?;
    record["contacts"] =
        json!([{"name": "SOC", "email": "soc@z-cert.example", "webhook_url": url}]);
    app.put_organisation(&admin, "z-cert", record)?;
    let secret = app.new_webhook_secret(&admin, "z-cert")?;
    assert!(secret.starts_with("whsec_"));

    let (alice, bob) = (person("alice"), person("bob"));
    let item = app.create_item(
        &alice,
        json!({"kind": "vulnerability", "title": "RCE in the patient portal", "tlp": "AMBER",
               "concerns": ["hospital-south"], "sectors": ["health"]}),
    )?;
    let id = item.row.id.clone();
    app.approve_item(&bob, &id, None)?;
    app.send_item(&alice, &id, None)?;
    let webhook = |app: &App| -> Result<schakel_store::DeliveryRow, Box<dyn std::error::Error>> {
        let page = app.outbox(
            &alice,
            &DeliveryQuery {
                item_id: Some(id.clone()),
                channel: Some(schakel_domain::Channel::Webhook),
                limit: 10,
                ..DeliveryQuery::default()
            },
        )?;
        Ok(page
            .deliveries
            .into_iter()
            .next()
            .ok_or("no webhook delivery")?)
    };
    let first = webhook(&app)?;
    assert_eq!(first.state, DeliveryState::Pending);

    let courier = WebhookCourier::new(LOOPBACK_ALLOWED);
    // The receiver is down: retried, not lost, due again only after the backoff.
    let run = app.deliver_once(&alice, &[&courier], 100)?;
    assert_eq!(run.retried, std::slice::from_ref(&first.id), "{run:?}");
    let after = webhook(&app)?;
    assert_eq!((after.state, after.attempts), (DeliveryState::Pending, 1));
    let due = after.next_attempt_at.ok_or("no next attempt")?;
    assert!(due.as_second() - now.load(Ordering::SeqCst) >= 22, "{due}");
    let run = app.deliver_once(&alice, &[&courier], 100)?;
    assert!(
        run.retried.is_empty() && run.delivered.is_empty(),
        "not due yet: {run:?}"
    );

    // An hour later the receiver is up: delivered.
    failing.store(false, Ordering::SeqCst);
    now.fetch_add(3600, Ordering::SeqCst);
    let run = app.deliver_once(&alice, &[&courier], 100)?;
    assert_eq!(run.delivered, std::slice::from_ref(&first.id), "{run:?}");
    assert_eq!(webhook(&app)?.state, DeliveryState::Delivered);

    let seen = seen.lock().map_err(|_| "poisoned")?.clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    for r in &seen {
        assert_eq!(r.id, first.id, "every attempt carries the delivery's id");
        assert!(valid(&secret, r), "bad signature: {r:?}");
        let body: Value = serde_json::from_str(&r.body)?;
        // The Standard Webhooks payload shape, the same in every attempt.
        assert_eq!(body["type"], "schakel.delivery");
        assert!(
            body["timestamp"]
                .as_str()
                .is_some_and(|t| t.parse::<Timestamp>().is_ok()),
            "{body}"
        );
        assert_eq!(body["data"]["item"], id.as_str());
        assert_eq!(body["data"]["on_behalf_of"], json!(["hospital-south"]));
        assert_eq!(body["data"]["title"], "RCE in the patient portal");
    }
    // A wrong secret does not verify.
    assert!(!valid("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &seen[0]));
    Ok(())
}

#[test]
fn a_delivery_whose_decision_changed_is_held_and_its_item_returns_for_approval() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(&dir.path().join("t.db"), SectorVocabulary::default())?;
    let app = App::new(
        Arc::new(store),
        SectorVocabulary::default(),
        Arc::new(RulebookSet::defaults(EffectiveDates::default())?),
        Clock::fixed("2026-11-22T10:00:00Z".parse::<Timestamp>()?),
    )
    .with_webhook_targets(LOOPBACK_ALLOWED)
    .with_secrets_key(SecretsKey::generate()?);
    let admin = App::installation();
    app.load_demo(&admin)?;
    let zcert = app.organisation(&admin, "z-cert")?;
    let mut record = serde_json::to_value(OrganisationRecord::from_organisation(&zcert))?;
    record["contacts"] = json!([{"name": "SOC", "email": "soc@z-cert.example",
                                 "webhook_url": "http://127.0.0.1:9/hook"}]);
    app.put_organisation(&admin, "z-cert", record.clone())?;
    app.new_webhook_secret(&admin, "z-cert")?;
    let (alice, bob) = (person("alice"), person("bob"));
    let item = app.create_item(
        &alice,
        json!({"kind": "vulnerability", "title": "RCE", "tlp": "AMBER",
               "concerns": ["hospital-south"], "sectors": ["health"]}),
    )?;
    app.approve_item(&bob, &item.row.id, None)?;
    app.send_item(&alice, &item.row.id, None)?;
    // Z-CERT stops serving the health sector: it may no longer receive for Hospital South.
    record["serves"] = json!({"sectors": [], "organisations": []});
    app.put_organisation(&admin, "z-cert", record)?;
    let courier = WebhookCourier::new(LOOPBACK_ALLOWED);
    let run = app.deliver_once(&alice, &[&courier], 100)?;
    assert_eq!(run.held.len(), 1, "{run:?}");
    assert!(run.delivered.is_empty() && run.retried.is_empty());
    assert_eq!(
        app.item(&alice, &item.row.id)?.row.status,
        ItemStatus::AwaitingApproval
    );
    let held = app.outbox(
        &alice,
        &DeliveryQuery {
            state: Some(DeliveryState::Held),
            limit: 10,
            ..DeliveryQuery::default()
        },
    )?;
    assert_eq!(held.total, 1);
    assert!(
        held.deliveries[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("no longer permits"))
    );
    Ok(())
}

/// An app on a fresh database with the demo constituency, allowing `targets` in the
/// registry.
fn demo_app(
    dir: &std::path::Path,
    targets: WebhookTargets,
) -> Result<App, Box<dyn std::error::Error>> {
    let store = SqliteStore::open(&dir.join("t.db"), SectorVocabulary::default())?;
    let app = App::new(
        Arc::new(store),
        SectorVocabulary::default(),
        Arc::new(RulebookSet::defaults(EffectiveDates::default())?),
        Clock::fixed("2026-11-22T10:00:00Z".parse::<Timestamp>()?),
    )
    .with_webhook_targets(targets)
    .with_secrets_key(SecretsKey::generate()?);
    app.load_demo(&App::installation())?;
    Ok(app)
}

/// Gives Z-CERT a webhook at `url` and a signing secret.
fn set_webhook(app: &App, url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let admin = App::installation();
    let zcert = app.organisation(&admin, "z-cert")?;
    let mut record = serde_json::to_value(OrganisationRecord::from_organisation(&zcert))?;
    record["contacts"] =
        json!([{"name": "SOC", "email": "soc@z-cert.example", "webhook_url": url}]);
    app.put_organisation(&admin, "z-cert", record)?;
    app.new_webhook_secret(&admin, "z-cert")?;
    Ok(())
}

/// Sends an item Z-CERT receives (for Hospital South), approved by a second person.
fn send_to_zcert(app: &App) -> Result<(), Box<dyn std::error::Error>> {
    let item = app.create_item(
        &person("alice"),
        json!({"kind": "vulnerability", "title": "RCE", "tlp": "AMBER",
               "concerns": ["hospital-south"], "sectors": ["health"]}),
    )?;
    app.approve_item(&person("bob"), &item.row.id, None)?;
    app.send_item(&person("alice"), &item.row.id, None)?;
    Ok(())
}

/// The webhook deliveries that went dead, with their errors.
fn dead_webhooks(app: &App) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    Ok(app
        .outbox(
            &person("alice"),
            &DeliveryQuery {
                state: Some(DeliveryState::Dead),
                channel: Some(schakel_domain::Channel::Webhook),
                limit: 10,
                ..DeliveryQuery::default()
            },
        )?
        .deliveries
        .into_iter()
        .map(|d| d.last_error.unwrap_or_default())
        .collect())
}

#[test]
fn webhooks_go_only_to_allowed_addresses_and_follow_no_redirect() -> TestResult {
    // Cloud metadata and link-local addresses are refused in the registry, whatever the
    // settings allow; loopback and private ranges unless the settings allow them.
    let dir = tempfile::tempdir()?;
    let open = demo_app(dir.path(), LOOPBACK_ALLOWED)?;
    for url in [
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/",
        "https://[::ffff:169.254.169.254]/",
    ] {
        let e = set_webhook(&open, url)
            .err()
            .ok_or(format!("{url} accepted"))?;
        assert!(
            e.to_string().contains("contacts[0].webhook_url") && e.to_string().contains("never"),
            "{url}: {e}"
        );
    }
    let closed_dir = tempfile::tempdir()?;
    let closed = demo_app(closed_dir.path(), WebhookTargets::default())?;
    for url in [
        "http://127.0.0.1:9/hook",
        "https://10.1.2.3/hook",
        "http://localhost:9/h",
    ] {
        let e = set_webhook(&closed, url)
            .err()
            .ok_or(format!("{url} accepted"))?;
        assert!(e.to_string().contains("allow_private"), "{url}: {e}");
    }

    // A name is checked against what it resolves to, when the webhook is sent: `localhost`
    // registered where private targets were allowed, sent by a courier that allows none.
    let (url, seen) = answering(|| "200 OK".into())?;
    set_webhook(&open, &url.replace("127.0.0.1", "localhost"))?;
    send_to_zcert(&open)?;
    let run = open.deliver_once(
        &person("alice"),
        &[&WebhookCourier::new(WebhookTargets::default())],
        100,
    )?;
    assert_eq!(run.dead.len(), 1, "{run:?}");
    let errors = dead_webhooks(&open)?;
    assert!(errors[0].contains("loopback"), "{errors:?}");
    assert!(seen.lock().map_err(|_| "poisoned")?.is_empty());

    // A redirect is not followed: the delivery fails, the second receiver sees nothing.
    let redirect_dir = tempfile::tempdir()?;
    let app = demo_app(redirect_dir.path(), LOOPBACK_ALLOWED)?;
    let (target, target_seen) = answering(|| "200 OK".into())?;
    let (url, first_seen) =
        answering(move || format!("307 Temporary Redirect\r\nlocation: {target}"))?;
    set_webhook(&app, &url)?;
    send_to_zcert(&app)?;
    let run = app.deliver_once(
        &person("alice"),
        &[&WebhookCourier::new(LOOPBACK_ALLOWED)],
        100,
    )?;
    assert_eq!(run.dead.len(), 1, "{run:?}");
    assert!(dead_webhooks(&app)?[0].contains("redirect"));
    assert_eq!(first_seen.lock().map_err(|_| "poisoned")?.len(), 1);
    assert!(target_seen.lock().map_err(|_| "poisoned")?.is_empty());
    Ok(())
}
