//! Bulk feeds end to end on the demo constituency: every format, resolution by prefix,
//! domain and ASN, malformed rows, de-duplication across runs, and routing through the
//! planner and rulebook.

use std::io::Cursor;

use schakel_app::{FeedInput, FeedOptions};
use schakel_domain::Role;
use schakel_feeds::{Format, parse_mapping};
use schakel_formats::feed::FeedSummaryRecord;

mod common;

use common::*;

const SCAN_HTTP: &str = "timestamp,ip,protocol,port,hostname,tag,asn,geo,severity,http_code
2026-11-21 03:00:00,198.51.100.7,tcp,443,,,64500,NL,info,200
2026-11-21 03:00:01,198.51.100.7,tcp,443,,,64500,NL,info,200
2026-11-21 03:00:02,198.51.100.70,tcp,80,,,64501,NL,critical,200
2026-11-21 03:00:03,2001:db8:10::5,tcp,8080,,,,NL,high,403
2026-11-21 03:00:04,203.0.113.100,tcp,80,,,,NL,medium,200
2026-11-21 03:00:05,100.64.1.1,tcp,80,,,,NL,info,200
2026-11-21 03:00:06,not-an-address,tcp,80,,,,NL,info,200
2026-11-21 03:00:07,198.51.100.8,tcp,80,,,64500,NL,info,200,one-too-many
";

fn input(path: &str, format: Format, text: &str) -> FeedInput {
    FeedInput {
        path: path.to_owned(),
        format,
        reader: Box::new(Cursor::new(text.as_bytes().to_vec())),
    }
}

/// The sample `scan_http` report, named as Shadowserver names its files.
fn scan_http() -> FeedInput {
    input(
        "2026-11-21-scan_http-nl-asn.csv",
        Format::Shadowserver,
        SCAN_HTTP,
    )
}

fn run(
    t: &TestApp,
    inputs: Vec<FeedInput>,
    options: &FeedOptions,
) -> Result<FeedSummaryRecord, schakel_app::AppError> {
    let analyst = person("ana", Role::Analyst);
    t.app.ingest_feed(&analyst, inputs, options, &mut |_| {})
}

fn options(dir: &std::path::Path, plan_only: bool) -> FeedOptions {
    FeedOptions {
        plan_only,
        window_days: 7,
        state_dir: Some(dir.join("seen")),
        ..FeedOptions::default()
    }
}

#[test]
fn a_shadowserver_report_is_resolved_counted_and_routed() -> TestResult {
    let t = demo_app()?;
    let dir = tempfile::tempdir()?;
    let s = run(
        &t,
        vec![input(
            "2026-11-21-scan_http-nl-asn.csv",
            Format::Shadowserver,
            SCAN_HTTP,
        )],
        &options(dir.path(), true),
    )?;
    assert_eq!(s.files[0].report, "scan_http");
    // The FORMATS.md invariants.
    assert_eq!((s.rows, s.parsed, s.malformed), (8, 6, 2));
    assert_eq!(s.parsed + s.malformed, s.rows);
    assert_eq!(s.resolved + s.unresolved, s.parsed);
    assert_eq!((s.resolved, s.unresolved), (5, 1));
    let lines: Vec<(u64, &str)> = s
        .malformed_lines
        .iter()
        .map(|m| (m.line, m.reason.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            (8, "`ip`: `not-an-address` is not an IP address"),
            (9, "11 fields where the header has only 10")
        ]
    );
    // Hospital South's two identical rows count once after de-duplication (its third
    // event is on its IPv6 prefix).
    assert_eq!(s.by_organisation.get("hospital-south"), Some(&3));
    assert_eq!(s.deduplicated, 1);
    // Hospital South (an important entity) directly, and Z-CERT on its behalf.
    let to = |r: &str| s.permitted.iter().find(|n| n.recipient == r);
    let hs = to("hospital-south").ok_or("no notification to hospital-south")?;
    assert_eq!(
        (hs.route.as_str(), hs.events, hs.tlp.as_str()),
        ("direct", 2, "AMBER")
    );
    let zc = to("z-cert").ok_or("no notification to z-cert")?;
    assert_eq!(zc.route, "via_linking_organisation");
    assert_eq!(zc.organisations, ["hospital-south", "ziekenhuis-noord"]);
    // Ziekenhuis Noord's critical event makes its notification serious.
    let zn = to("ziekenhuis-noord").ok_or("no notification to ziekenhuis-noord")?;
    assert!(zn.serious);
    assert_eq!(s.notifications.permitted, s.permitted.len() as u64);
    Ok(())
}

#[test]
fn a_linking_organisation_gets_only_members_it_may_receive_and_denies_carry_remedies() -> TestResult
{
    let t = demo_app()?;
    let dir = tempfile::tempdir()?;
    // Two political parties: their linking organisation has no secrecy guarantee, so the
    // scan results (specific systems) may not go to it; the parties are not designated
    // and are served, so they get nothing directly either.
    let csv = "timestamp,ip,port,severity\nx,203.0.113.100,80,high\nx,203.0.113.98,80,high\n";
    let s = run(
        &t,
        vec![input(
            "2026-11-21-scan_http-x.csv",
            Format::Shadowserver,
            csv,
        )],
        &options(dir.path(), true),
    )?;
    assert!(
        s.permitted
            .iter()
            .all(|n| n.recipient != "partijen-schakel"),
        "{:?}",
        s.permitted
    );
    let deny = s
        .denied
        .iter()
        .find(|d| d.recipient == "partijen-schakel")
        .ok_or("no deny")?;
    assert_eq!(deny.reasons, ["R1"]);
    assert!(
        deny.remedies
            .iter()
            .any(|r| r.contains("secrecy guarantee")),
        "{deny:?}"
    );
    assert_eq!(s.notifications.denied, 1);
    Ok(())
}

#[test]
fn repeats_within_the_window_are_left_out_and_planning_changes_nothing() -> TestResult {
    let t = demo_app()?;
    let dir = tempfile::tempdir()?;
    // Planning twice: nothing remembered.
    let first = run(&t, vec![scan_http()], &options(dir.path(), true))?;
    let again = run(&t, vec![scan_http()], &options(dir.path(), true))?;
    assert_eq!(first.deduplicated, again.deduplicated);
    assert!(!dir.path().join("seen").exists());
    // What an earlier run notified (here: Hospital South's events, remembered yesterday) is
    // left out while the window lasts.
    let registry = t.app.registry()?;
    let today = schakel_domain::parse_date("2026-11-22")?;
    let resolver = schakel_feeds::Resolver::new(&registry, today);
    let table = schakel_feeds::ReportTable::shadowserver()?;
    let report = table.get("scan_http").ok_or("no scan_http")?;
    let mut ingest = schakel_feeds::Ingest::new(&resolver);
    ingest.csv(
        "earlier.csv",
        Format::Shadowserver,
        report,
        b',',
        Cursor::new(SCAN_HTTP),
        &mut |_| {},
    )?;
    let day = u32::try_from((today - jiff::civil::date(1970, 1, 1)).get_days())?;
    let state = schakel_feeds::SeenState::new(dir.path().join("seen"));
    let earlier = ingest.finish(Some(&state), day - 1, 7, true)?;
    let hospital = resolver
        .organisations()
        .iter()
        .position(|o| o.as_str() == "hospital-south")
        .ok_or("no hospital")?;
    let notified: Vec<bool> = earlier
        .aggregates
        .iter()
        .map(|a| a.organisation as usize == hospital)
        .collect();
    earlier.dedup.remember(&state, &notified, day - 1, 7)?;
    let next = run(&t, vec![scan_http()], &options(dir.path(), true))?;
    assert_eq!(next.deduplicated, first.deduplicated + 2, "{next:?}");
    assert!(
        next.permitted
            .iter()
            .all(|n| !n.organisations.contains(&"hospital-south".to_owned())),
        "{next:?}"
    );
    assert!(
        next.permitted
            .iter()
            .any(|n| n.recipient == "ziekenhuis-noord")
    );
    // A window of one day has let it go again.
    let mut short = options(dir.path(), true);
    short.window_days = 1;
    let later = run(&t, vec![scan_http()], &short)?;
    assert_eq!(later.notifications, first.notifications);
    Ok(())
}

#[test]
fn stix_misp_and_a_mapped_csv_resolve_by_address_domain_and_asn() -> TestResult {
    let t = demo_app()?;
    let dir = tempfile::tempdir()?;
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    // The OASIS samples: one indicator with an address outside the registry, one with a
    // file hash (not resolvable), email patterns (not resolvable).
    let mut inputs = Vec::new();
    for name in [
        "indicator-for-c2-ip-address.json",
        "indicators-for-C2-with-COA.json",
        "malicious-email-indicator-with-attachment.json",
    ] {
        inputs.push(input(
            name,
            Format::Stix,
            &std::fs::read_to_string(data.join("stix").join(name))?,
        ));
    }
    let s = run(&t, inputs, &options(dir.path(), true))?;
    assert_eq!((s.rows, s.parsed, s.resolved, s.unresolved), (5, 5, 0, 5));
    // A STIX bundle of our own, and MISP events: the samples and one about our hosts.
    let bundle = r#"{"type": "bundle", "id": "bundle--1", "objects": [
        {"type": "indicator", "id": "indicator--1", "pattern": "[ipv4-addr:value = '198.51.100.9']"},
        {"type": "indicator", "id": "indicator--2", "pattern": "[domain-name:value = 'portal.z-cert.example']"},
        {"type": "indicator", "id": "indicator--3", "pattern": "[url:value = 'https://mail.ziekenhuis-noord.example/owa']"},
        {"type": "malware", "id": "malware--1"}]}"#;
    let misp = r#"{"Event": {"info": "ours", "Tag": [{"name": "tlp:red"}], "Attribute": [
        {"type": "ip-dst|port", "value": "192.0.2.10|443", "uuid": "a1"},
        {"type": "hostname", "value": "vpn.bank-oranje.example", "uuid": "a2"},
        {"type": "md5", "value": "d41d8cd98f00b204e9800998ecf8427e", "uuid": "a3"},
        {"type": "ip-src", "value": "999.1.1.1", "uuid": "a4"}]}}"#;
    let mut inputs = vec![
        input("ours.json", Format::Stix, bundle),
        input("ours-misp.json", Format::Misp, misp),
    ];
    for name in [
        "57c4445b-c548-4654-af0b-4be3950d210f.json",
        "misp_event.json",
    ] {
        inputs.push(input(
            name,
            Format::Misp,
            &std::fs::read_to_string(data.join("misp").join(name))?,
        ));
    }
    let s = run(&t, inputs, &options(dir.path(), true))?;
    assert_eq!(
        s.files.iter().map(|f| f.rows).collect::<Vec<_>>(),
        [3, 4, 9, 2]
    );
    assert_eq!(s.malformed, 1, "{:?}", s.malformed_lines);
    assert_eq!(s.resolved, 5, "{s:?}");
    for org in [
        "hospital-south",
        "z-cert",
        "ziekenhuis-noord",
        "waterbedrijf-delta",
        "bank-oranje",
    ] {
        assert!(
            s.by_organisation.contains_key(org),
            "{org}: {:?}",
            s.by_organisation
        );
    }
    // The MISP event's TLP:RED travels with its rows: nobody not named may receive them.
    assert!(
        s.permitted.iter().all(|n| n.tlp != "RED"),
        "{:?}",
        s.permitted
    );
    assert!(
        s.denied
            .iter()
            .any(|d| d.report == "misp" && d.tlp == "RED" && d.reasons.contains(&"R4".to_owned())),
        "{:?}",
        s.denied
    );
    // A mapped CSV, resolving by ASN when there is no address.
    let mapping = parse_mapping(
        "report = \"phishing_urls\"\ndefault_severity = \"high\"\ndelimiter = \";\"\n[columns]\n\"Adres\" = \"source.ip\"\n\"URL\" = \"source.url\"\n\"AS\" = [\"source.asn\", \"invalidate_zero\"]\n",
    )?;
    let csv = "Adres;URL;AS;Opmerking\n198.51.100.20;;0;x\n;https://login.hospital-south.example/x;;y\n;;64500;z\n";
    let s = run(
        &t,
        vec![input("phish.csv", Format::Csv, csv)],
        &FeedOptions {
            mapping: Some(mapping),
            ..options(dir.path(), true)
        },
    )?;
    assert_eq!((s.rows, s.resolved), (3, 3), "{s:?}");
    assert_eq!(s.files[0].report, "phishing_urls");
    Ok(())
}

#[test]
fn unknown_report_types_and_missing_locators_are_named() -> TestResult {
    let t = demo_app()?;
    let dir = tempfile::tempdir()?;
    let err = run(
        &t,
        vec![input(
            "2026-11-21-scan_nothing-x.csv",
            Format::Shadowserver,
            "ip\n",
        )],
        &options(dir.path(), true),
    )
    .err()
    .ok_or("accepted")?;
    assert!(
        problems(&err)[0].contains("`scan_nothing` is not a known Shadowserver report type"),
        "{err}"
    );
    let err = run(
        &t,
        vec![input("-", Format::Shadowserver, "ip\n")],
        &options(dir.path(), true),
    )
    .err()
    .ok_or("accepted")?;
    assert!(problems(&err)[0].contains("--report"), "{err}");
    // A file whose header has none of its report type's locating columns is read, its
    // rows counted as not resolvable, and the summary says why; the run goes on.
    let s = run(
        &t,
        vec![
            input(
                "2026-11-21-scan_http-x.csv",
                Format::Shadowserver,
                "when,what\n1,2\n",
            ),
            scan_http(),
        ],
        &options(dir.path(), true),
    )?;
    assert_eq!((s.files[0].rows, s.unresolved), (1, 2), "{s:?}");
    assert!(
        s.warnings[0].contains("none of the columns that locate an event")
            && s.warnings[0].contains("`ip`"),
        "{:?}",
        s.warnings
    );
    // The full Shadowserver schema updates the table: a report type it adds is known.
    let schema = r#"{"brand_new": {"file_name": "brand_new", "feed_name": "Brand-New", "constant_fields": {"classification.taxonomy": "vulnerable"},
        "required_fields": [["source.ip", "addr", "validate_ip"]], "optional_fields": []}}"#;
    let s = run(
        &t,
        vec![input(
            "2026-11-21-brand_new-x.csv",
            Format::Shadowserver,
            "addr\n198.51.100.9\n",
        )],
        &FeedOptions {
            shadowserver_schema: Some(schema.into()),
            ..options(dir.path(), true)
        },
    )?;
    assert_eq!((s.rows, s.resolved), (1, 1));
    Ok(())
}

#[test]
fn a_standing_approval_is_given_by_a_second_person_audited_and_revocable() -> TestResult {
    let t = demo_app()?;
    let dir = tempfile::tempdir()?;
    let legal = person("lea", Role::Legal);
    let analyst = person("ana", Role::Analyst);
    // None yet: the summary says so.
    let s = run(&t, vec![scan_http()], &options(dir.path(), true))?;
    assert_eq!(s.standing_approvals.get("scan_http"), Some(&None));
    // A legal officer approves the report type; it covers the analyst's runs.
    let given = t
        .app
        .approve_feed_report(&legal, "scan_http", Some("daily scans, AMBER"))?;
    assert_eq!(given.approved_by, "lea");
    assert!(matches!(
        t.app.approve_feed_report(&analyst, "scan_http", None),
        Err(schakel_app::AppError::Conflict(_))
    ));
    let s = run(&t, vec![scan_http()], &options(dir.path(), true))?;
    let live = s
        .standing_approvals
        .get("scan_http")
        .cloned()
        .flatten()
        .ok_or("no approval")?;
    assert!(live.covers_this_run);
    // Not the approver's own runs: four eyes need two people.
    let own = t.app.ingest_feed(
        &person("lea", Role::Analyst),
        vec![scan_http()],
        &options(dir.path(), true),
        &mut |_| {},
    )?;
    assert_eq!(
        own.standing_approvals
            .get("scan_http")
            .cloned()
            .flatten()
            .map(|a| a.covers_this_run),
        Some(false)
    );
    // Revoked, never deleted; both steps audited.
    t.app.revoke_feed_report(&analyst, "scan_http")?;
    assert!(t.app.revoke_feed_report(&analyst, "scan_http").is_err());
    let list = t.app.feed_approvals(&analyst)?;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].revoked_by.as_deref(), Some("ana"));
    let actions: Vec<String> = t
        .app
        .audit_log(&legal)?
        .into_iter()
        .filter(|e| e.entry.subject == "feed-report:scan_http")
        .map(|e| e.entry.action)
        .collect();
    assert_eq!(actions, ["feed.approve", "feed.revoke"]);
    // A recipient may neither give one nor run feeds.
    let z = recipient(&t, "z-cert")?;
    assert!(t.app.approve_feed_report(&z, "scan_http", None).is_err());
    Ok(())
}

/// A recipient and its inbox: (delivery, item) each.
type Inbox = (schakel_domain::Principal, Vec<(String, String)>);

/// The inbox deliveries of `org`, with their items.
fn inbox_of(t: &TestApp, org: &str) -> Result<Inbox, Box<dyn std::error::Error>> {
    let me = recipient(t, org)?;
    let (entries, _) = t.app.inbox(&me, 0, 100)?;
    Ok((me, entries.into_iter().map(|e| (e.id, e.item)).collect()))
}

#[test]
fn a_run_sends_under_a_standing_approval_and_each_recipient_gets_only_its_rows() -> TestResult {
    let t = demo_app()?;
    let dir = tempfile::tempdir()?;
    let legal = person("lea", Role::Legal);
    t.app.approve_feed_report(&legal, "scan_http", None)?;
    let s = run(&t, vec![scan_http()], &options(dir.path(), false))?;
    let run_id = s.run.clone().ok_or("no run id")?;
    assert!(!s.plan_only && s.warnings.is_empty(), "{s:?}");
    assert!(!s.permitted.is_empty());
    for n in &s.permitted {
        assert_eq!(n.status.as_deref(), Some("sent"), "{n:?}");
        assert!(n.item.is_some() && n.deliveries.unwrap_or(0) >= 1, "{n:?}");
    }
    // Z-CERT receives one message with a section per member it serves, and each section
    // holds that member's rows only, with every column of the source.
    let (zcert, inbox) = inbox_of(&t, "z-cert")?;
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    let delivery = &inbox[0].0;
    let sections = t.app.inbox_rows(&zcert, delivery, None, 100, 0)?;
    let by_org: Vec<(&str, u64)> = sections
        .iter()
        .map(|s| (s.organisation.as_str(), s.total))
        .collect();
    assert_eq!(by_org, [("hospital-south", 2), ("ziekenhuis-noord", 1)]);
    let hs = &sections[0];
    assert_eq!(hs.columns.len(), 10, "{:?}", hs.columns);
    assert!(
        hs.columns.contains(&"http_code".to_owned()),
        "unknown columns are kept"
    );
    let ips: Vec<&str> = hs.rows.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(
        ips,
        ["198.51.100.7", "2001:db8:10::5"],
        "input order, repeats once"
    );
    assert!(hs.csv().starts_with("timestamp,ip,protocol,port"));
    // Paging, one member, and members it did not receive for.
    let page = t
        .app
        .inbox_rows(&zcert, delivery, Some("hospital-south"), 1, 1)?;
    assert_eq!((page.len(), page[0].rows.len(), page[0].total), (1, 1, 2));
    let err = t
        .app
        .inbox_rows(&zcert, delivery, Some("bank-oranje"), 10, 0)
        .err()
        .ok_or("rows of a member not in the message")?;
    assert!(
        problems(&err)[0].contains("no rows of `bank-oranje`"),
        "{err}"
    );
    // Hospital South, directly: its own rows only; Z-CERT's delivery is not its to read.
    let (hospital, own) = inbox_of(&t, "hospital-south")?;
    assert_eq!(own.len(), 1);
    let mine = t.app.inbox_rows(&hospital, &own[0].0, None, 100, 0)?;
    assert_eq!(
        mine.iter()
            .map(|s| s.organisation.as_str())
            .collect::<Vec<_>>(),
        ["hospital-south"]
    );
    assert!(matches!(
        t.app.inbox_rows(&hospital, delivery, None, 100, 0),
        Err(schakel_app::AppError::NotFound(_))
    ));
    // Every message is an item pinned to its recipient: its plan decides nobody else.
    let staff = person("ana", Role::Analyst);
    for n in &s.permitted {
        let item = n.item.as_deref().ok_or("no item")?;
        let plan = t.app.plan(&staff, item)?;
        let recipients: Vec<String> = plan
            .permits
            .iter()
            .map(|p| p.permit.recipient().to_string())
            .chain(plan.denies.iter().map(|d| d.recipient.to_string()))
            .collect();
        assert_eq!(recipients, std::slice::from_ref(&n.recipient));
    }
    // The run is listed, audited, and what it sent is remembered: the same report again
    // notifies nobody.
    let (runs, total) = t.app.feed_runs(&staff, 10, 0)?;
    assert_eq!((total, runs[0].id.as_str()), (1, run_id.as_str()));
    assert_eq!(runs[0].sent, s.permitted.len() as u64);
    // Did it reach them: every inbox copy delivered, the emails waiting for the worker,
    // and Z-CERT's acknowledgement shown.
    t.app.acknowledge(&zcert, delivery)?;
    let detail = t.app.feed_run(&staff, &run_id)?;
    assert_eq!(detail.messages.len(), s.permitted.len());
    for m in &detail.messages {
        assert_eq!(
            m.deliveries.get("inbox").map(String::as_str),
            Some("delivered")
        );
        assert_eq!(
            m.deliveries.get("email").map(String::as_str),
            Some("pending"),
            "{m:?}"
        );
        assert_eq!(
            m.acknowledged_at.is_some(),
            m.recipient == "z-cert",
            "{m:?}"
        );
    }
    let day = schakel_domain::parse_date("2026-11-22")?;
    let audit = t.app.export_audit(&legal, day, day)?;
    let text = serde_json::to_string(&audit)?;
    assert!(
        text.contains("feed.ingest") && text.contains(&run_id),
        "no feed.ingest entry"
    );
    assert!(text.contains("standing_approval"));
    // Retracting a message withdraws its rows: the notice goes to the recipient without
    // them, and the inbox no longer serves them.
    let to_zcert = s
        .permitted
        .iter()
        .find(|n| n.recipient == "z-cert")
        .and_then(|n| n.item.clone())
        .ok_or("no message to z-cert")?;
    let retraction = t
        .app
        .retract_item(&staff, &to_zcert, Some("wrong scan date"))?;
    assert!(matches!(
        retraction,
        schakel_app::Retraction::AwaitingApproval(_)
    ));
    t.app.approve_item(&legal, &to_zcert, None)?;
    t.app.send_item(&staff, &to_zcert, None)?;
    let (_, inbox) = inbox_of(&t, "z-cert")?;
    assert_eq!(inbox.len(), 2, "the item and its retraction notice");
    for (delivery, _) in &inbox {
        assert!(matches!(
            t.app.inbox_rows(&zcert, delivery, None, 100, 0),
            Err(schakel_app::AppError::NotFound(_))
        ));
    }
    let again = run(&t, vec![scan_http()], &options(dir.path(), false))?;
    assert!(again.permitted.is_empty(), "{:?}", again.permitted);
    // All but the political party's event, which nobody could be sent (denied), so it is
    // not remembered.
    assert_eq!(again.deduplicated, again.resolved - 1);
    Ok(())
}

#[test]
fn without_a_standing_approval_each_message_waits_for_a_second_person() -> TestResult {
    let t = demo_app()?;
    let dir = tempfile::tempdir()?;
    let analyst = person("ana", Role::Analyst);
    let legal = person("lea", Role::Legal);
    // The analyst's own standing approval does not cover her runs.
    t.app.approve_feed_report(&analyst, "scan_http", None)?;
    let s = run(&t, vec![scan_http()], &options(dir.path(), false))?;
    assert!(
        s.permitted
            .iter()
            .all(|n| n.status.as_deref() == Some("awaiting_approval") && n.deliveries == Some(0)),
        "{:?}",
        s.permitted
    );
    let (zcert, inbox) = inbox_of(&t, "z-cert")?;
    assert!(inbox.is_empty());
    // Not sent, so not remembered: the next run proposes the same messages again, and
    // withdraws the waiting ones it replaces (a late approval cannot send them).
    let stale = s
        .permitted
        .iter()
        .find(|n| n.recipient == "hospital-south")
        .and_then(|n| n.item.clone())
        .ok_or("no message to hospital-south")?;
    let again = run(&t, vec![scan_http()], &options(dir.path(), false))?;
    assert_eq!(again.notifications.permitted, s.notifications.permitted);
    assert!(
        again
            .permitted
            .iter()
            .any(|n| n.supersedes.contains(&stale)),
        "{again:?}"
    );
    assert!(matches!(
        t.app.approve_item(&legal, &stale, None),
        Err(schakel_app::AppError::Conflict(_))
    ));
    let s = again;
    // A second person approves Z-CERT's message; sending goes to Z-CERT alone.
    let to_zcert = s
        .permitted
        .iter()
        .find(|n| n.recipient == "z-cert")
        .and_then(|n| n.item.clone())
        .ok_or("no message to z-cert")?;
    assert!(matches!(
        t.app.approve_item(&analyst, &to_zcert, None),
        Err(schakel_app::AppError::Forbidden(_))
    ));
    // A correction that drops a member drops its rows too.
    let mut corrected = serde_json::to_value(t.app.item(&analyst, &to_zcert)?.answer().item)?;
    corrected["concerns"] = serde_json::json!(["hospital-south"]);
    t.app.correct_item(&analyst, &to_zcert, corrected)?;
    t.app.approve_item(&legal, &to_zcert, None)?;
    let sent = t.app.send_item(&analyst, &to_zcert, None)?;
    let recipients: std::collections::BTreeSet<String> = sent
        .deliveries
        .iter()
        .map(|(_, r, _, _)| r.to_string())
        .collect();
    assert_eq!(recipients.into_iter().collect::<Vec<_>>(), ["z-cert"]);
    // The listing shows where the messages stand now, not when the runs ran: the
    // second run's Z-CERT message sent (its email still to go), the rest waiting; the
    // first run's messages all replaced.
    let (runs, _) = t.app.feed_runs(&analyst, 10, 0)?;
    let counts = |r: &schakel_formats::feed::FeedRunRecord| {
        (r.sent, r.awaiting_approval, r.retracted, r.undelivered)
    };
    let n = s.permitted.len() as u64;
    let (second, first): (Vec<_>, Vec<_>) =
        runs.iter().partition(|r| Some(&r.id) == s.run.as_ref());
    assert_eq!(counts(second[0]), (1, n - 1, 0, 1), "{runs:?}");
    assert_eq!(counts(first[0]), (0, 0, n, 0), "{runs:?}");
    let (_, inbox) = inbox_of(&t, "z-cert")?;
    let sections = t.app.inbox_rows(&zcert, &inbox[0].0, None, 100, 0)?;
    assert_eq!(
        sections
            .iter()
            .map(|s| s.organisation.as_str())
            .collect::<Vec<_>>(),
        ["hospital-south"]
    );
    let err = t
        .app
        .inbox_rows(&zcert, &inbox[0].0, Some("ziekenhuis-noord"), 10, 0)
        .err()
        .ok_or("rows of a member the correction dropped")?;
    assert!(problems(&err)[0].contains("no rows of"), "{err}");
    Ok(())
}

#[test]
fn a_purge_deletes_rows_only_of_runs_that_are_done_with_them() -> TestResult {
    let t = demo_app()?;
    let dir = tempfile::tempdir()?;
    let legal = person("lea", Role::Legal);
    let analyst = person("ana", Role::Analyst);
    t.app.approve_feed_report(&legal, "scan_http", None)?;
    let feed = |report: &str| {
        input(
            &format!("2026-11-21-{report}-nl.csv"),
            Format::Shadowserver,
            SCAN_HTTP,
        )
    };
    // One run sent (its emails still pending), one waiting for approval.
    let sent = run(&t, vec![feed("scan_http")], &options(dir.path(), false))?;
    let waiting = run(&t, vec![feed("scan_ftp")], &options(dir.path(), false))?;
    // The same hosts under another report type are not repeats.
    assert_eq!(
        waiting.notifications.permitted, sent.notifications.permitted,
        "{waiting:?}"
    );
    assert!(
        matches!(
            t.app
                .purge_feed_rows(&analyst, schakel_domain::parse_date("2026-11-23")?),
            Err(schakel_app::AppError::Forbidden(_))
        ),
        "retention is the legal officer's"
    );
    // Runs from before the date only.
    let none = t
        .app
        .purge_feed_rows(&legal, schakel_domain::parse_date("2026-11-22")?)?;
    assert!(none.purged.is_empty() && none.kept.is_empty(), "{none:?}");
    let r = t
        .app
        .purge_feed_rows(&legal, schakel_domain::parse_date("2026-11-23")?)?;
    assert!(r.purged.is_empty(), "{r:?}");
    let reason = |run: &Option<String>| {
        r.kept
            .iter()
            .find(|k| Some(&k.run) == run.as_ref())
            .map(|k| k.reason.clone())
            .unwrap_or_default()
    };
    assert!(reason(&sent.run).contains("pending"), "{r:?}");
    assert!(reason(&waiting.run).contains("awaiting_approval"), "{r:?}");
    // The rows are still served.
    let (zcert, inbox) = inbox_of(&t, "z-cert")?;
    assert_eq!(t.app.inbox_rows(&zcert, &inbox[0].0, None, 10, 0)?.len(), 2);
    Ok(())
}

#[test]
fn two_runs_at_once_notify_each_host_once() -> TestResult {
    let t = demo_app()?;
    let dir = tempfile::tempdir()?;
    t.app
        .approve_feed_report(&person("lea", Role::Legal), "scan_http", None)?;
    let options = options(dir.path(), false);
    let summaries = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| run(&t, vec![scan_http()], &options)))
            .collect();
        runs.into_iter()
            .map(|r| r.join().map_err(|_| "a run panicked"))
            .collect::<Result<Vec<_>, _>>()
    })?;
    let sent: Vec<usize> = summaries
        .into_iter()
        .map(|s| s.map(|s| s.permitted.len()))
        .collect::<Result<_, _>>()?;
    // One run sent every message; the other, holding back until the first had
    // remembered them, found only repeats.
    assert!(sent.contains(&0) && sent.iter().any(|n| *n > 0), "{sent:?}");
    Ok(())
}

/// Issue 12, item 2: an indicator marked TLP:RED was planned as TLP:AMBER (the report
/// type's default), and MISP's tag was kept per report type (the last file's won). Every
/// row takes its source's marking; messages are split by TLP; none leaves under a laxer
/// one.
#[test]
fn every_row_travels_under_the_tlp_its_source_gave_it() -> TestResult {
    let t = demo_app()?;
    let dir = tempfile::tempdir()?;
    let legal = person("lea", Role::Legal);
    t.app.approve_feed_report(&legal, "stix", None)?;
    let indicator = |n: u32, ip: &str, markings: &str| {
        format!(
            r#"{{"type": "indicator", "id": "indicator--{n}", "pattern": "[ipv4-addr:value = '{ip}']"{markings}}}"#
        )
    };
    let bundle = format!(
        r#"{{"type": "bundle", "id": "bundle--tlp", "objects": [{}, {}, {}, {}, {},
            {{"type": "marking-definition", "id": "marking-definition--local-strict",
              "name": "TLP:AMBER+STRICT",
              "extensions": {{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":
                             {{"extension_type": "property-extension", "tlp_2_0": "amber+strict"}}}}}}]}}"#,
        // TLP 2.0 RED, TLP 1.0 GREEN, unmarked (the default, AMBER).
        indicator(
            1,
            "198.51.100.10",
            r#", "object_marking_refs": ["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"]"#
        ),
        indicator(
            2,
            "198.51.100.11",
            r#", "object_marking_refs": ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]"#
        ),
        indicator(3, "198.51.100.12", ""),
        // A granular marking defined later in the bundle, and one defined nowhere.
        indicator(
            4,
            "192.0.2.10",
            r#", "granular_markings": [{"marking_ref": "marking-definition--local-strict", "selectors": ["pattern"]}]"#
        ),
        indicator(
            5,
            "192.0.2.11",
            r#", "object_marking_refs": ["marking-definition--nowhere"]"#
        ),
    );
    let s = run(
        &t,
        vec![input("tlp.json", Format::Stix, &bundle)],
        &options(dir.path(), false),
    )?;
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("marking-definition--nowhere")),
        "{:?}",
        s.warnings
    );
    let permitted = |recipient: &str| -> Vec<(String, Vec<String>)> {
        s.permitted
            .iter()
            .filter(|n| n.recipient == recipient)
            .map(|n| (n.tlp.clone(), n.organisations.clone()))
            .collect()
    };
    assert!(
        s.permitted.iter().all(|n| n.tlp != "RED"),
        "{:?}",
        s.permitted
    );
    assert_eq!(
        permitted("hospital-south"),
        [
            ("GREEN".to_owned(), vec!["hospital-south".to_owned()]),
            ("AMBER".to_owned(), vec!["hospital-south".to_owned()]),
        ]
    );
    assert_eq!(
        permitted("waterbedrijf-delta"),
        [(
            "AMBER+STRICT".to_owned(),
            vec!["waterbedrijf-delta".to_owned()]
        )]
    );
    for org in ["hospital-south", "waterbedrijf-delta"] {
        assert!(
            s.denied.iter().any(|d| d.recipient == org
                && d.tlp == "RED"
                && d.reasons.contains(&"R4".to_owned())),
            "{org}: {:?}",
            s.denied
        );
    }
    // Sent: one item per TLP, each carrying only the rows of its TLP.
    let (hospital, inbox) = inbox_of(&t, "hospital-south")?;
    let (entries, _) = t.app.inbox(&hospital, 0, 100)?;
    let mut seen = Vec::new();
    for (entry, (delivery, _)) in entries.iter().zip(&inbox) {
        let sections = t.app.inbox_rows(&hospital, delivery, None, 100, 0)?;
        let values: Vec<String> = sections
            .iter()
            .flat_map(|s| s.rows.iter().map(|r| r[3].clone()))
            .collect();
        seen.push((entry.tlp.clone(), values));
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            ("AMBER".to_owned(), vec!["198.51.100.12".to_owned()]),
            ("GREEN".to_owned(), vec!["198.51.100.11".to_owned()]),
        ]
    );

    // MISP: each event's tags for its own attributes (two files in one run, the second's
    // tags after its attributes), an attribute's own tag when stricter.
    let first = r#"{"Event": {"info": "green", "Tag": [{"name": "tlp:green"}], "Attribute": [
        {"type": "ip-dst", "value": "198.51.100.20", "uuid": "g1"},
        {"type": "ip-dst", "value": "198.51.100.21", "uuid": "g2", "Tag": [{"name": "tlp:amber+strict"}]}]}}"#;
    let second = r#"{"Event": {"info": "red", "Attribute": [
        {"type": "ip-dst", "value": "198.51.100.22", "uuid": "r1"}], "Tag": [{"name": "tlp:red"}]}}"#;
    let s = run(
        &t,
        vec![
            input("green.json", Format::Misp, first),
            input("red.json", Format::Misp, second),
        ],
        &options(dir.path(), true),
    )?;
    let tlps: Vec<&str> = s
        .permitted
        .iter()
        .filter(|n| n.recipient == "hospital-south")
        .map(|n| n.tlp.as_str())
        .collect();
    assert_eq!(tlps, ["GREEN", "AMBER+STRICT"], "{:?}", s.permitted);
    assert!(
        s.denied
            .iter()
            .any(|d| d.recipient == "hospital-south" && d.tlp == "RED"),
        "{:?}",
        s.denied
    );
    Ok(())
}

/// Issue 12, item 9: a field over the limit makes its record malformed, named by line,
/// and the run goes on.
#[test]
fn a_field_over_the_limit_makes_its_record_malformed_and_the_run_goes_on() -> TestResult {
    let t = demo_app()?;
    let small = TestApp {
        app: t.app.clone().with_feed_field_limit(64),
        admin: t.admin.clone(),
        _dir: tempfile::tempdir()?,
    };
    let dir = tempfile::tempdir()?;
    let big = "x".repeat(65);
    let csv = format!(
        "timestamp,ip,protocol,port,hostname,tag,asn,geo,severity,http_code\n\
         2026-11-21 03:00:00,198.51.100.7,tcp,443,{big},,64500,NL,info,200\n\
         2026-11-21 03:00:01,198.51.100.8,tcp,443,,,64500,NL,info,200\n"
    );
    let s = run(
        &small,
        vec![input(
            "2026-11-21-scan_http-nl.csv",
            Format::Shadowserver,
            &csv,
        )],
        &options(dir.path(), true),
    )?;
    assert_eq!((s.rows, s.parsed, s.malformed), (2, 1, 1));
    assert_eq!(s.malformed_lines[0].line, 2);
    assert!(
        s.malformed_lines[0]
            .reason
            .contains("`hostname` holds 65 bytes"),
        "{:?}",
        s.malformed_lines
    );
    let bundle = format!(
        r#"{{"type": "bundle", "objects": [
            {{"type": "indicator", "id": "indicator--1", "name": "{big}", "pattern": "[ipv4-addr:value = '198.51.100.7']"}},
            {{"type": "indicator", "id": "indicator--2", "pattern": "[ipv4-addr:value = '198.51.100.8']"}}]}}"#
    );
    let s = run(
        &small,
        vec![input("big.json", Format::Stix, &bundle)],
        &options(dir.path(), true),
    )?;
    assert_eq!((s.rows, s.parsed, s.malformed), (2, 1, 1));
    assert!(
        s.malformed_lines[0].reason.contains("objects[0].name"),
        "{:?}",
        s.malformed_lines
    );
    Ok(())
}

/// Issue 13, items 1 and 4: real Shadowserver reports leave out trailing empty fields;
/// some report types locate nobody; CRLF files; URLs whose host is an address.
#[test]
fn real_shadowserver_shapes_are_read_and_named_by_their_lines() -> TestResult {
    let t = demo_app()?;
    let dir = tempfile::tempdir()?;
    // As `scan_rdp` is delivered: a header of 6 columns, rows of 6, 5 (no trailing
    // `tlsv13_support`) and 7 (one too many), with CRLF line ends and a blank line.
    let rdp = "\"timestamp\",\"ip\",\"port\",\"hostname\",\"tag\",\"tlsv13_support\"\r\n\
               \"2026-11-21 03:00:00\",\"198.51.100.7\",3389,,\"rdp\",\"Y\"\r\n\
               \"2026-11-21 03:00:01\",\"198.51.100.8\",3389,,\"rdp\"\r\n\
               \r\n\
               \"2026-11-21 03:00:02\",\"198.51.100.9\",3389,,\"rdp\",\"Y\",\"extra\"\r\n\
               \"2026-11-21 03:00:03\",\"not-an-address\",3389,,\"rdp\"\r\n";
    // `sandbox_dns` names the lookups of malware in a sandbox: no constituent.
    let dns = "\"timestamp\",\"md5hash\",\"request\",\"type\",\"response\",\"family\",\"tag\",\"source\"\n\
               \"2026-11-21 00:00:02\",\"b575ce6dcce6502a8431db5610135c25\",\"time.windows.com\",\"A\",\"40.119.6.228\",,,\n";
    // A compromised account, located by its email's domain; a ransomware victim, by its
    // website; a phishing URL whose host is an address literal.
    let accounts =
        "timestamp,username,email,tag\n2026-11-21 00:00:00,jan,jan@hospital-south.example,leak\n";
    let victims = "timestamp,entity_name,website,sector\n2026-11-21 00:00:00,Delta,https://www.waterbedrijf-delta.example/,water\n";
    let phish = "timestamp,url,host\n2026-11-21 00:00:00,http://198.51.100.20/login,\n2026-11-21 00:00:01,http://[2001:db8:10::5]/a,\n";
    let s = run(
        &t,
        vec![
            input("2026-11-21-scan_rdp-nl.csv", Format::Shadowserver, rdp),
            input("2026-11-21-sandbox_dns-nl.csv", Format::Shadowserver, dns),
            input(
                "2026-11-21-compromised_account-nl.csv",
                Format::Shadowserver,
                accounts,
            ),
            input(
                "2026-11-21-ransomware_victim-nl.csv",
                Format::Shadowserver,
                victims,
            ),
            input("2026-11-21-malware_url-nl.csv", Format::Shadowserver, phish),
        ],
        &options(dir.path(), true),
    )?;
    let rows: Vec<u64> = s.files.iter().map(|f| f.rows).collect();
    assert_eq!(rows, [4, 1, 1, 1, 2], "a blank line is no record");
    let lines: Vec<(u64, &str)> = s
        .malformed_lines
        .iter()
        .map(|m| (m.line, m.reason.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            (5, "7 fields where the header has only 6"),
            (6, "`ip`: `not-an-address` is not an IP address"),
        ],
        "the physical lines, CRLF or not"
    );
    assert_eq!(s.malformed, 2);
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("sandbox_dns") && w.contains("locates no constituent")),
        "{:?}",
        s.warnings
    );
    assert_eq!(s.resolved, 6, "{s:?}");
    assert_eq!(s.unresolved, 1, "the sandbox lookup");
    for (org, events) in [
        ("hospital-south", 5),
        ("waterbedrijf-delta", 1),
        ("ziekenhuis-noord", 0),
    ] {
        assert_eq!(
            s.by_organisation.get(org).copied().unwrap_or(0),
            events,
            "{org}: {:?}",
            s.by_organisation
        );
    }
    Ok(())
}

/// The Python libraries other tools build STIX and MISP with, pinned.
const STIX_MISP: &[&str] = &["stix2==3.0.2", "pymisp==2.5.34.4"];

/// Runs a Python script with stix2 and PyMISP; its standard output.
fn generated(script: &str) -> Result<String, Box<dyn std::error::Error>> {
    let python =
        schakel_outside::Python::with(env!("CARGO_TARGET_TMPDIR"), "stix-misp", STIX_MISP)?;
    let out = python.script(script).output()?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// Issue 13, items 2 and 3: a pattern named one value; `[a OR b]` reached one owner; URLs
/// whose host is an address, and `ISSUBSET`, did not resolve; MISP's REST answer and
/// lists were refused. Built by stix2 and PyMISP, as other tools build them.
#[test]
fn every_value_a_pattern_names_and_every_misp_shape_is_read() -> TestResult {
    let t = demo_app()?;
    let dir = tempfile::tempdir()?;
    let bundle = generated(
        r#"
import stix2
patterns = [
    "[ipv4-addr:value = '198.51.100.10' OR ipv4-addr:value = '192.0.2.10']",
    "[domain-name:value = 'portal.z-cert.example'] AND [url:value = 'http://198.51.100.20/a']",
    "[ipv4-addr:value ISSUBSET '198.51.100.64/26']",
    "[url:value = 'http://[2001:db8:10::5]/a']",
    "[network-traffic:dst_ref.value = '203.0.113.5'] FOLLOWEDBY [domain-name:value = 'mail.ziekenhuis-noord.example'] WITHIN 300 SECONDS",
    "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
]
indicators = [
    stix2.Indicator(pattern=p, pattern_type="stix", valid_from="2026-11-21T00:00:00Z",
                    object_marking_refs=[stix2.TLP_GREEN])
    for p in patterns
]
print(stix2.Bundle(*indicators, stix2.TLP_GREEN).serialize())
"#,
    )?;
    let s = run(
        &t,
        vec![input("generated.json", Format::Stix, &bundle)],
        &options(dir.path(), true),
    )?;
    assert_eq!((s.rows, s.malformed), (9, 0), "{:?}", s.malformed_lines);
    assert_eq!((s.resolved, s.unresolved), (8, 1), "the hash names nobody");
    for (org, events) in [
        ("hospital-south", 3),
        ("waterbedrijf-delta", 1),
        ("z-cert", 1),
        ("ziekenhuis-noord", 2),
        ("ministerie-bzk", 1),
    ] {
        assert_eq!(
            s.by_organisation.get(org).copied(),
            Some(events),
            "{org}: {:?}",
            s.by_organisation
        );
    }
    assert!(
        s.permitted.iter().all(|n| n.tlp == "GREEN"),
        "{:?}",
        s.permitted
    );

    // PyMISP's events, in every shape MISP exports them.
    let shapes = generated(
        r#"
import json
from pymisp import MISPEvent
def event(n, ip):
    e = MISPEvent()
    e.info = f"event {n}"
    e.add_tag("tlp:amber")
    e.add_attribute("ip-dst", ip)
    e.add_attribute("url", "http://198.51.100.21/x")
    return json.loads(e.to_json())
one, two = event(1, "198.51.100.30"), event(2, "192.0.2.30")
print(json.dumps({
    "wrapped": {"Event": one},
    "bare": one,
    "response": {"response": [{"Event": one}, {"Event": two}]},
    "list": [{"Event": one}, {"Event": two}],
}))
"#,
    )?;
    let shapes: serde_json::Value = serde_json::from_str(&shapes)?;
    for (shape, events) in [("wrapped", 1), ("bare", 1), ("response", 2), ("list", 2)] {
        let s = run(
            &t,
            vec![input(
                &format!("{shape}.json"),
                Format::Misp,
                &shapes[shape].to_string(),
            )],
            &options(dir.path(), true),
        )?;
        assert_eq!(s.rows, 2 * events, "{shape}: {s:?}");
        assert_eq!(s.resolved, 2 * events, "{shape}: {s:?}");
        assert!(s.permitted.iter().all(|n| n.tlp == "AMBER"), "{shape}");
    }
    Ok(())
}
