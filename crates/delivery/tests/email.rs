//! Email end to end: a real SMTP server on loopback (aiosmtpd, from PyPI), messages checked
//! by GnuPG — the centre's signature on every message, decryption with the recipient's
//! key where one is on file — and an SMTP outage that delays, never loses, a delivery.

mod support;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use pgp::composed::{
    ArmorOptions, EncryptionCaps, KeyType, SecretKeyParamsBuilder, SignedPublicKey,
    SubkeyParamsBuilder,
};
use pgp::crypto::ecc_curve::ECCCurve;
use schakel_app::{App, Clock};
use schakel_delivery::{CentreKey, EmailCourier};
use schakel_domain::{Channel, DeliveryState, Principal, Role, SectorVocabulary};
use schakel_formats::registry::OrganisationRecord;
use schakel_rulebook::{EffectiveDates, RulebookSet};
use schakel_store::{DeliveryQuery, SqliteStore};
use serde_json::json;

type TestResult = Result<(), Box<dyn std::error::Error>>;
type Failure = Box<dyn std::error::Error>;

/// aiosmtpd storing every message in a Maildir; stopped when dropped.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16, Failure> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn start_smtp(port: u16, maildir: &Path) -> Result<SmtpServer, Failure> {
    let child = support::aiosmtpd()?
        .args(["-n", "-l"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start aiosmtpd (pip install aiosmtpd): {e}"))?;
    let server = SmtpServer {
        child,
        port,
        maildir: maildir.to_path_buf(),
    };
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(20) {
            return Err("aiosmtpd did not start (is it installed? pip install aiosmtpd)".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(server)
}

fn gpg(home: &Path, args: &[&str], stdin: Option<&[u8]>) -> Result<std::process::Output, Failure> {
    use std::io::Write;
    let mut child = Command::new("gpg")
        .arg("--homedir")
        .arg(home)
        .args([
            "--batch",
            "--no-tty",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run gpg (install the Debian package gnupg): {e}"))?;
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.unwrap_or_default())?;
    }
    Ok(child.wait_with_output()?)
}

fn s(p: &Path) -> Result<&str, Failure> {
    p.to_str().ok_or_else(|| "path".into())
}

/// A recipient's key with an encryption subkey, as a SOC would have: (public, secret).
fn recipient_key() -> Result<(String, String), Failure> {
    let params = SecretKeyParamsBuilder::default()
        .key_type(KeyType::Ed25519Legacy)
        .can_certify(true)
        .can_sign(true)
        .primary_user_id("Hospital South SOC <soc@hospital-south.example>".into())
        .subkeys(vec![
            SubkeyParamsBuilder::default()
                .key_type(KeyType::ECDH(ECCCurve::Curve25519Legacy))
                .can_encrypt(EncryptionCaps::All)
                .build()?,
        ])
        .build()?;
    let secret = params.generate(rand::thread_rng())?;
    let public = SignedPublicKey::from(secret.clone()).to_armored_string(ArmorOptions::default())?;
    let secret = secret.to_armored_string(ArmorOptions::default())?;
    Ok((public, secret))
}

/// The first part of a `multipart/signed` entity and its signature, as RFC 3156 defines
/// them (the part's bytes exclude the CRLF before the next boundary).
fn signed_parts(entity: &str) -> Result<(String, String), Failure> {
    let boundary = entity
        .split("boundary=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .ok_or("no boundary")?;
    let delimiter = format!("--{boundary}\r\n");
    let start = entity.find(&delimiter).ok_or("no first part")? + delimiter.len();
    let end = entity[start..]
        .find(&format!("\r\n--{boundary}\r\n"))
        .ok_or("no second part")?
        + start;
    let part = entity[start..end].to_owned();
    let sig_start = entity
        .find("-----BEGIN PGP SIGNATURE-----")
        .ok_or("no signature")?;
    let sig_end = entity
        .find("-----END PGP SIGNATURE-----")
        .ok_or("no signature end")?
        + "-----END PGP SIGNATURE-----".len();
    Ok((part, entity[sig_start..sig_end].to_owned()))
}

/// The decoded text part of a signed entity.
fn text_of(part: &str) -> Result<String, Failure> {
    part_body(part, "Content-Type: text/plain")
}

/// The base64 body, decoded, of the MIME part whose headers contain `marker`.
fn part_body(entity: &str, marker: &str) -> Result<String, Failure> {
    let start = entity
        .find(marker)
        .ok_or_else(|| format!("no part with {marker}"))?;
    let body_start = entity[start..].find("\r\n\r\n").ok_or("no body")? + start + 4;
    let encoded: String = entity[body_start..]
        .lines()
        .take_while(|l| !l.is_empty() && !l.starts_with("--"))
        .collect();
    use base64::Engine;
    Ok(String::from_utf8(
        base64::engine::general_purpose::STANDARD.decode(encoded)?,
    )?)
}

/// The demo constituency on a SQLite file in `dir`, with the shipped rulebooks.
fn demo_app(dir: &Path, clock: Clock) -> Result<App, Failure> {
    let app = App::new(
        Arc::new(SqliteStore::open(
            &dir.join("t.db"),
            SectorVocabulary::default(),
        )?),
        SectorVocabulary::default(),
        Arc::new(RulebookSet::defaults(EffectiveDates::default())?),
        clock,
    );
    app.load_demo(&App::installation())?;
    Ok(app)
}

fn person(name: &str) -> Principal {
    Principal {
        token_id: format!("tok_{name}"),
        name: name.into(),
        role: Role::Analyst,
        organisation: None,
    }
}

fn set_contact(app: &App, slug: &str, contact: serde_json::Value) -> TestResult {
    let admin = App::installation();
    let org = app.organisation(&admin, slug)?;
    let mut record = serde_json::to_value(OrganisationRecord::from_organisation(&org))?;
    record["contacts"] = json!([contact]);
    app.put_organisation(&admin, slug, record)?;
    Ok(())
}

#[test]
fn mail_is_signed_encrypted_where_a_key_exists_and_survives_an_outage() -> TestResult {
    let dir = tempfile::tempdir()?;
    let now = Arc::new(AtomicI64::new(
        "2026-11-22T10:00:00Z".parse::<Timestamp>()?.as_second(),
    ));
    let clock = Arc::clone(&now);
    let app = demo_app(
        dir.path(),
        Clock::from_fn(move || {
            Timestamp::from_second(clock.load(Ordering::SeqCst)).unwrap_or_default()
        }),
    )?;
    let (hospital_public, hospital_secret) = recipient_key()?;
    set_contact(
        &app,
        "hospital-south",
        json!({"name": "SOC", "email": "soc@hospital-south.example", "pgp_key": hospital_public}),
    )?;
    set_contact(
        &app,
        "z-cert",
        json!({"name": "SOC", "email": "soc@z-cert.example"}),
    )?;

    let (alice, bob) = (person("alice"), person("bob"));
    let item = app.create_item(
        &alice,
        json!({"kind": "vulnerability", "title": "RCE in the patient portal", "tlp": "AMBER",
               "body": "Patch to 4.2.1.", "cves": ["CVE-2026-12345"],
               "concerns": ["hospital-south"], "sectors": ["health"]}),
    )?;
    app.approve_item(&bob, &item.row.id, None)?;
    app.send_item(&alice, &item.row.id, None)?;

    let key = CentreKey::generate("Test Centre <cert@centre.example>")?;
    let port = free_port()?;
    let courier = EmailCourier::new(
        &format!("smtp://127.0.0.1:{port}"),
        "Test Centre <cert@centre.example>",
        key.clone(),
    )?;
    // The SMTP server is down: both emails wait for a retry, none is lost.
    let run = app.deliver_once(&alice, &[&courier], 100)?;
    assert_eq!(run.retried.len(), 2, "{run:?}");
    let maildir = dir.path().join("maildir");
    let server = start_smtp(port, &maildir)?;
    now.fetch_add(3600, Ordering::SeqCst);
    let run = app.deliver_once(&alice, &[&courier], 100)?;
    assert_eq!(run.delivered.len(), 2, "{run:?}");
    let emails = app.outbox(
        &alice,
        &DeliveryQuery {
            channel: Some(Channel::Email),
            limit: 10,
            ..DeliveryQuery::default()
        },
    )?;
    assert!(
        emails
            .deliveries
            .iter()
            .all(|d| d.state == DeliveryState::Delivered && d.attempts == 2)
    );

    // GnuPG with the centre's public key and the hospital's secret key.
    let home = dir.path().join("gnupg");
    std::fs::create_dir(&home)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700))?;
    }
    for armored in [key.public_armored()?, hospital_secret] {
        let out = gpg(&home, &["--import"], Some(armored.as_bytes()))?;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let verify = |entity: &str| -> Result<String, Failure> {
        let (part, signature) = signed_parts(entity)?;
        let (data, sig) = (dir.path().join("part"), dir.path().join("part.asc"));
        std::fs::write(&data, &part)?;
        std::fs::write(&sig, &signature)?;
        let out = gpg(&home, &["--verify", s(&sig)?, s(&data)?], None)?;
        let said = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success() && said.contains("Good signature"),
            "{said}"
        );
        Ok(part)
    };

    let mut files: Vec<PathBuf> = std::fs::read_dir(server.maildir.join("new"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "port {}", server.port);
    let mut seen = 0;
    for file in files {
        let raw = std::fs::read_to_string(&file)?
            .replace("\r\n", "\n")
            .replace('\n', "\r\n");
        let header = |name: &str| -> String {
            raw.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_owned))
                .unwrap_or_default()
        };
        assert!(
            header("Subject").starts_with("[TLP:AMBER]"),
            "{}",
            header("Subject")
        );
        // The right-hand side of a Message-ID is the sender's domain.
        assert!(
            header("Message-ID").starts_with("<dlv_")
                && header("Message-ID").ends_with("@centre.example>"),
            "{}",
            header("Message-ID")
        );
        let signed_entity = if header("To") == "soc@hospital-south.example" {
            // Encrypted to the hospital's key; the title is not in the subject.
            assert!(raw.contains("multipart/encrypted"));
            assert!(!header("Subject").contains("RCE"));
            let start = raw
                .find("-----BEGIN PGP MESSAGE-----")
                .ok_or("no ciphertext")?;
            let end = raw.find("-----END PGP MESSAGE-----").ok_or("no end")?
                + "-----END PGP MESSAGE-----".len();
            let out = gpg(&home, &["--decrypt"], Some(&raw.as_bytes()[start..end]))?;
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let decrypted = String::from_utf8(out.stdout)?;
            // The title travels inside, as the protected subject (RFC 9788).
            assert!(
                decrypted.contains("protected-headers=\"v1\"")
                    && decrypted.contains("Subject: [TLP:AMBER] RCE in the patient portal"),
                "{decrypted}"
            );
            decrypted
        } else {
            assert_eq!(header("To"), "soc@z-cert.example");
            assert!(
                !raw.contains("multipart/encrypted"),
                "no key on file: signed only"
            );
            assert!(header("Subject").contains("RCE in the patient portal"));
            raw.clone()
        };
        let part = verify(&signed_entity)?;
        let text = text_of(&part)?;
        assert!(text.starts_with("TLP:AMBER\n"), "{text}");
        assert!(text.trim_end().ends_with("TLP:AMBER"), "{text}");
        assert!(
            text.contains("Legal basis / Wettelijke grondslag:"),
            "{text}"
        );
        assert!(text.contains("CVE-2026-12345"));
        // The rulebook's doubt about a citation is for the centre's legal officers.
        assert!(
            text.contains("Cbw art. 16 lid 2")
                && !text.contains("(?)")
                && !text.contains("unconfirmed"),
            "{text}"
        );
        // Acknowledgements go to the recipient's inbox copy.
        let inbox = app.outbox(
            &alice,
            &DeliveryQuery {
                channel: Some(Channel::Inbox),
                limit: 10,
                ..DeliveryQuery::default()
            },
        )?;
        let to = header("To");
        let own = inbox
            .deliveries
            .iter()
            .find(|d| to.ends_with(&format!("@{}.example", d.recipient)))
            .ok_or("no inbox copy")?;
        assert!(
            text.contains(&format!("/api/v1/inbox/{}/ack", own.id)),
            "{text}"
        );
        if header("To") == "soc@z-cert.example" {
            assert!(text.contains("C3 — "), "{text}");
            assert!(text.contains("namens: hospital-south"), "{text}");
            // The attachments are what the API answers for the inbox copy, byte for byte.
            let z_cert = Principal {
                token_id: "tok_z_cert".into(),
                name: "z-cert".into(),
                role: Role::Recipient,
                organisation: Some(schakel_domain::OrgSlug::parse("z-cert")?),
            };
            let rows = app.inbox_members(&z_cert, &own.id)?;
            assert_eq!(
                part_body(&part, "filename=\"members.csv\"")?,
                schakel_app::member_rows_csv(&rows)
            );
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(&part_body(
                    &part,
                    "filename=\"members.json\""
                )?)?,
                serde_json::to_value(&rows)?
            );
        } else {
            assert!(text.contains("C1 — "), "{text}");
        }
        seen += 1;
    }
    assert_eq!(seen, 2);
    Ok(())
}

#[test]
fn a_tlp_red_item_is_never_sent_unencrypted() -> TestResult {
    let dir = tempfile::tempdir()?;
    let app = demo_app(
        dir.path(),
        Clock::fixed("2026-11-22T10:00:00Z".parse::<Timestamp>()?),
    )?;
    set_contact(
        &app,
        "hospital-south",
        json!({"name": "SOC", "email": "soc@hospital-south.example"}),
    )?;
    let (alice, bob) = (person("alice"), person("bob"));
    let item = app.create_item(
        &alice,
        json!({"kind": "incident", "title": "Red", "tlp": "RED",
               "concerns": ["hospital-south"], "named_recipients": ["hospital-south"]}),
    )?;
    let plan = app.plan(&alice, &item.row.id)?.record();
    let hospital = plan
        .permits
        .iter()
        .find(|p| p.recipient == "hospital-south")
        .ok_or("hospital-south not permitted")?;
    let email = hospital
        .channels
        .iter()
        .find(|c| c.channel == "email")
        .ok_or("no email")?;
    assert!(!email.usable, "{email:?}");
    assert!(
        email
            .note
            .as_deref()
            .is_some_and(|n| n.contains("never sent by unencrypted email"))
    );
    app.approve_item(&bob, &item.row.id, None)?;
    let report = app.send_item(&alice, &item.row.id, None)?;
    assert!(
        report.deliveries.iter().all(|d| d.2 != Channel::Email),
        "{:?}",
        report.deliveries
    );
    Ok(())
}

#[test]
fn the_smtp_url_must_use_tls_except_on_loopback() -> TestResult {
    let key = CentreKey::generate("Test <t@example>")?;
    assert!(EmailCourier::new("smtp://127.0.0.1:2525", "t@example", key.clone()).is_ok());
    assert!(EmailCourier::new("smtps://mail.example", "t@example", key.clone()).is_ok());
    assert!(EmailCourier::new("http://mail.example", "t@example", key.clone()).is_err());
    assert!(EmailCourier::new("smtp://127.0.0.1:2525", "not an address", key).is_err());
    Ok(())
}

/// The decoded body of the attachment `name` in a MIME entity.
fn attachment(entity: &str, name: &str) -> Result<String, Failure> {
    part_body(entity, &format!("filename=\"{name}\""))
}

#[test]
fn a_feed_message_carries_each_members_rows_as_attachments() -> TestResult {
    let dir = tempfile::tempdir()?;
    let app = demo_app(
        dir.path(),
        Clock::fixed("2026-11-22T10:00:00Z".parse::<Timestamp>()?),
    )?;
    let (zcert_public, zcert_secret) = recipient_key()?;
    set_contact(
        &app,
        "z-cert",
        json!({"name": "SOC", "email": "soc@z-cert.example", "pgp_key": zcert_public}),
    )?;
    let legal = Principal {
        role: Role::Legal,
        ..person("lea")
    };
    app.approve_feed_report(&legal, "scan_http", None)?;
    // Two hospitals Z-CERT serves, and a political party it does not.
    let csv = "timestamp,ip,port,severity,x_extra\nx,198.51.100.7,443,high,a\nx,198.51.100.70,80,critical,b\nx,203.0.113.100,80,high,c\n";
    let alice = person("alice");
    let summary = app.ingest_feed(
        &alice,
        vec![schakel_app::FeedInput {
            path: "2026-11-22-scan_http-nl.csv".into(),
            format: schakel_feeds::Format::Shadowserver,
            reader: Box::new(std::io::Cursor::new(csv.as_bytes().to_vec())),
        }],
        &schakel_app::FeedOptions {
            window_days: 7,
            state_dir: Some(dir.path().join("seen")),
            ..schakel_app::FeedOptions::default()
        },
        &mut |_| {},
    )?;
    assert!(summary.run.is_some(), "{summary:?}");

    let port = free_port()?;
    let server = start_smtp(port, &dir.path().join("maildir"))?;
    let key = CentreKey::generate("Test Centre <cert@centre.example>")?;
    let courier = EmailCourier::new(
        &format!("smtp://127.0.0.1:{port}"),
        "Test Centre <cert@centre.example>",
        key,
    )?;
    let run = app.deliver_once(&alice, &[&courier], 100)?;
    assert!(!run.delivered.is_empty(), "{run:?}");
    let home = dir.path().join("gnupg");
    std::fs::create_dir(&home)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700))?;
    }
    let out = gpg(&home, &["--import"], Some(zcert_secret.as_bytes()))?;
    assert!(out.status.success());
    let mut to_zcert = None;
    for entry in std::fs::read_dir(server.maildir.join("new"))? {
        let raw = std::fs::read_to_string(entry?.path())?
            .replace("\r\n", "\n")
            .replace('\n', "\r\n");
        if raw.contains("\r\nTo: soc@z-cert.example\r\n") {
            to_zcert = Some(raw);
        }
    }
    let raw = to_zcert.ok_or("no email to Z-CERT")?;
    // Scan results about its members are confidential for Z-CERT: encrypted to its key.
    let start = raw
        .find("-----BEGIN PGP MESSAGE-----")
        .ok_or("not encrypted")?;
    let end =
        raw.find("-----END PGP MESSAGE-----").ok_or("no end")? + "-----END PGP MESSAGE-----".len();
    let out = gpg(&home, &["--decrypt"], Some(&raw.as_bytes()[start..end]))?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let entity = String::from_utf8(out.stdout)?;
    let text = text_of(&entity)?;
    assert!(text.contains("hospital-south: 1 row(s)"), "{text}");
    assert!(text.trim_end().ends_with("TLP:AMBER"), "{text}");
    let south = attachment(&entity, "scan_http-hospital-south.csv")?;
    assert_eq!(
        south,
        "timestamp,ip,port,severity,x_extra\r\nx,198.51.100.7,443,high,a\r\n"
    );
    let north = attachment(&entity, "scan_http-ziekenhuis-noord.json")?;
    let north: serde_json::Value = serde_json::from_str(&north)?;
    assert_eq!(north[0]["ip"], "198.51.100.70");
    assert_eq!(north[0]["x_extra"], "b", "unknown columns travel");
    assert!(
        !entity.contains("partijen") && !text.contains("203.0.113.100"),
        "nothing about organisations Z-CERT does not serve"
    );
    // Every email went out: a retention purge may now delete the run's rows, and the
    // inbox says so.
    let purge = app.purge_feed_rows(&legal, schakel_domain::parse_date("2026-11-23")?)?;
    assert_eq!((purge.purged.len(), purge.kept.len()), (1, 0), "{purge:?}");
    // The two hospitals' rows: the party's row, which nobody could receive, was never kept.
    assert_eq!(purge.purged[0].rows, 2);
    let zcert = app.authenticate(
        &app.create_token(
            &App::installation(),
            schakel_app::TokenRequest {
                kind: schakel_app::TokenKind::Recipient {
                    organisation: "z-cert".into(),
                    label: None,
                },
                expires: None,
            },
        )?
        .secret,
    )?;
    let (entries, _) = app.inbox(&zcert, 0, 10)?;
    let err = app
        .inbox_rows(&zcert, &entries[0].id, None, 10, 0)
        .err()
        .ok_or("rows served after the purge")?;
    assert!(err.to_string().contains("retention"), "{err}");
    Ok(())
}
