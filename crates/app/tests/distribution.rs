//! Items, plans, four-eyes approval, sending and the inbox, against a real SQLite file and
//! the demo constituency.

use schakel_app::AppError;
use schakel_domain::{Channel, DeliveryState, ItemStatus, Role};
use schakel_store::DeliveryQuery;
use serde_json::{Value, json};

mod common;

use common::*;

fn vulnerability(extra: Value) -> Value {
    let mut item = json!({
        "kind": "vulnerability",
        "title": "Remote code execution in the patient portal appliance",
        "body": "Patch to 4.2.1 now.",
        "tlp": "AMBER",
        "concerns": ["hospital-south"],
        "cves": ["CVE-2026-12345"],
        "sectors": ["health"],
        "serious": true,
        "source": "a researcher, in confidence"
    });
    if let (Some(item), Some(extra)) = (item.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            item.insert(k.clone(), v.clone());
        }
    }
    item
}

#[test]
fn a_bad_item_is_refused_naming_every_field() -> TestResult {
    let t = demo_app()?;
    let alice = person("alice", Role::Analyst);
    let err = t
        .app
        .create_item(
            &alice,
            vulnerability(json!({
                "tlp": "PURPLE",
                "concerns": ["no-such-org"],
                "consent": ["z-cert"],
                "cves": ["CVE-26-1"],
                "title": " ",
            })),
        )
        .err()
        .ok_or("accepted")?;
    let found = problems(&err).join("\n");
    for field in ["tlp", "cves[0]", "title"] {
        assert!(found.contains(&format!("`{field}`")), "{field}: {found}");
    }
    // Names are checked once the item parses.
    let err = t
        .app
        .create_item(
            &alice,
            vulnerability(json!({"concerns": ["no-such-org"], "consent": ["z-cert"]})),
        )
        .err()
        .ok_or("accepted")?;
    let found = problems(&err).join("\n");
    assert!(
        found.contains("`concerns[0]`") && found.contains("no-such-org"),
        "{found}"
    );
    assert!(found.contains("`consent[0]`"), "{found}");
    // A recipient cannot create items; a legal officer neither.
    let hospital = recipient(&t, "hospital-south")?;
    assert!(matches!(
        t.app.create_item(&hospital, vulnerability(json!({}))),
        Err(AppError::Forbidden(_))
    ));
    assert!(matches!(
        t.app
            .create_item(&person("lena", Role::Legal), vulnerability(json!({}))),
        Err(AppError::Forbidden(_))
    ));
    Ok(())
}

/// Every candidate of a plan, permitted or denied.
fn candidates(plan: &schakel_formats::item::PlanRecord) -> Vec<&str> {
    plan.permits
        .iter()
        .map(|p| p.recipient.as_str())
        .chain(plan.denies.iter().map(|d| d.recipient.as_str()))
        .collect()
}

#[test]
fn the_plan_routes_through_the_linking_organisation_and_shows_denies_with_remedies() -> TestResult {
    let t = demo_app()?;
    let alice = person("alice", Role::Analyst);
    let view = t.app.create_item(&alice, vulnerability(json!({})))?;
    let plan = t.app.plan(&alice, &view.row.id)?.record();
    let permitted: Vec<&str> = plan.permits.iter().map(|p| p.recipient.as_str()).collect();
    assert_eq!(permitted, ["hospital-south", "z-cert"], "{plan:?}");
    let zcert = &plan.permits[1];
    let route = zcert.route.as_ref().ok_or("route")?;
    assert_eq!(route.kind, "via_linking_organisation");
    assert_eq!(route.on_behalf_of, ["hospital-south"]);
    assert_eq!(zcert.bases[0].rule, "C3");
    assert!(
        plan.needs_approval,
        "traceable to hospital-south without consent"
    );

    // A political party served by a linking organisation: the party itself is not a
    // candidate, the linking organisation is; a confidential item is denied to it without
    // a secrecy guarantee, with the remedy.
    let party = t.app.create_item(
        &alice,
        vulnerability(json!({
            "concerns": ["partij-voor-de-dijk"],
            "sectors": ["political_parties"],
            "confidential": true,
            "tlp": "RED",
            "named_recipients": ["partijen-schakel"],
        })),
    )?;
    let plan = t.app.plan(&alice, &party.row.id)?.record();
    let all = candidates(&plan);
    assert!(!all.contains(&"partij-voor-de-dijk"), "{all:?}");
    assert!(all.contains(&"partijen-schakel"), "{all:?}");
    // TLP:RED never goes by unencrypted email: a contact without a key is shown unused.
    for p in &plan.permits {
        for c in p.channels.iter().filter(|c| c.channel == "email") {
            assert!(c.usable == (c.encrypted == Some(true)), "{c:?}");
        }
    }
    for d in &plan.denies {
        assert!(!d.reasons.is_empty(), "{d:?}");
    }

    // An ended organisation is never a candidate, but it is still concerned: the crisis
    // team serving it is proposed, for it.
    t.app
        .end_organisation(&t.admin, "ziekenhuis-noord", Some(t.app.clock().today()))?;
    let ended = t.app.create_item(
        &alice,
        vulnerability(json!({"concerns": ["ziekenhuis-noord"]})),
    )?;
    let plan = t.app.plan(&alice, &ended.row.id)?.record();
    assert_eq!(candidates(&plan), ["z-cert"], "{plan:?}");
    assert_eq!(
        plan.permits[0]
            .route
            .as_ref()
            .map(|r| r.on_behalf_of.clone()),
        Some(vec!["ziekenhuis-noord".to_owned()])
    );
    Ok(())
}

#[test]
fn four_eyes_then_send_enqueues_only_permits_and_the_inbox_shows_only_ones_own() -> TestResult {
    let t = demo_app()?;
    let alice = person("alice", Role::Analyst);
    let bob = person("bob", Role::Analyst);
    let hospital = recipient(&t, "hospital-south")?;
    let zcert = recipient(&t, "z-cert")?;
    let view = t.app.create_item(&alice, vulnerability(json!({})))?;
    let id = view.row.id.clone();

    // Sending without approval sends nothing and puts the item up for approval.
    let err = t.app.send_item(&alice, &id, None).err().ok_or("sent")?;
    assert!(matches!(err, AppError::Conflict(_)), "{err}");
    assert_eq!(
        t.app.item(&alice, &id)?.row.status,
        ItemStatus::AwaitingApproval
    );
    // The creator cannot approve; a recipient cannot either.
    assert!(matches!(
        t.app.approve_item(&alice, &id, None),
        Err(AppError::Forbidden(_))
    ));
    assert!(matches!(
        t.app.approve_item(&hospital, &id, None),
        Err(AppError::Forbidden(_))
    ));
    // An approval of a plan that is not today's is refused.
    assert!(matches!(
        t.app.approve_item(&bob, &id, Some("sha256:old")),
        Err(AppError::Conflict(_))
    ));
    let (plan, approval) = t.app.approve_item(&bob, &id, None)?;
    assert_eq!(approval.approved_by, "bob");

    let report = t.app.send_item(&alice, &id, None)?;
    assert_eq!(report.plan.hash, plan.hash);
    assert_eq!(t.app.item(&alice, &id)?.row.status, ItemStatus::Sent);
    // One inbox copy per permitted recipient, email where a contact exists; nothing else.
    let outbox = t.app.outbox(
        &alice,
        &DeliveryQuery {
            item_id: Some(id.clone()),
            limit: 100,
            ..DeliveryQuery::default()
        },
    )?;
    let mut seen: Vec<(String, Channel, DeliveryState)> = outbox
        .deliveries
        .iter()
        .map(|d| (d.recipient.to_string(), d.channel, d.state))
        .collect();
    seen.sort_by(|a, b| (a.0.as_str(), a.1.as_str()).cmp(&(b.0.as_str(), b.1.as_str())));
    assert_eq!(
        seen,
        [
            (
                "hospital-south".into(),
                Channel::Email,
                DeliveryState::Pending
            ),
            (
                "hospital-south".into(),
                Channel::Inbox,
                DeliveryState::Delivered
            ),
            ("z-cert".into(), Channel::Email, DeliveryState::Pending),
            ("z-cert".into(), Channel::Inbox, DeliveryState::Delivered),
        ]
    );
    // Sending twice is refused.
    assert!(matches!(
        t.app.send_item(&alice, &id, None),
        Err(AppError::Conflict(_))
    ));

    // Each recipient sees exactly its own delivery, without the centre's source.
    let (mine, total) = t.app.inbox(&hospital, 0, 50)?;
    assert_eq!(total, 1);
    assert!(mine[0].concerns_you && mine[0].on_behalf_of.is_empty());
    let (theirs, _) = t.app.inbox(&zcert, 0, 50)?;
    assert_eq!(theirs.len(), 1);
    assert!(!theirs[0].concerns_you);
    assert_eq!(theirs[0].on_behalf_of, ["hospital-south"]);
    let shown = serde_json::to_string(&theirs[0])?;
    assert!(
        !shown.contains("in confidence"),
        "the source leaked: {shown}"
    );
    // Another organisation's delivery is "not found", never acknowledged.
    assert!(matches!(
        t.app.acknowledge(&hospital, &theirs[0].id),
        Err(AppError::NotFound(_))
    ));
    let acked = t.app.acknowledge(&zcert, &theirs[0].id)?;
    assert!(acked.acknowledged_at.is_some());
    // Forwarding: only for a member it received the item for.
    assert!(matches!(
        t.app
            .confirm_forwarded(&zcert, &theirs[0].id, "ziekenhuis-noord"),
        Err(AppError::Invalid { .. })
    ));
    let forwarded = t
        .app
        .confirm_forwarded(&zcert, &theirs[0].id, "hospital-south")?;
    assert_eq!(forwarded.forwarded.len(), 1);
    assert_eq!(forwarded.forwarded[0].member, "hospital-south");
    // Staff have no inbox.
    assert!(matches!(
        t.app.inbox(&alice, 0, 10),
        Err(AppError::Forbidden(_))
    ));

    // The audit log holds the approval, the plan sent, every delivery and the receipts; a
    // decision asked for directly is recorded too.
    t.app.decide_json(
        &alice,
        json!({"recipient": "z-cert", "item": {"tlp": "AMBER", "concerns": ["hospital-south"]}}),
    )?;
    let log: Vec<String> = t
        .app
        .audit_log(&person("lex", Role::Legal))?
        .into_iter()
        .map(|e| e.entry.action)
        .collect();
    for action in [
        "decision",
        "item.create",
        "item.await_approval",
        "item.approve",
        "item.send",
        "delivery.acknowledge",
        "delivery.forwarded",
    ] {
        assert!(log.iter().any(|a| a == action), "{action}: {log:?}");
    }
    Ok(())
}

#[test]
fn an_approved_plan_that_changed_is_not_sent_and_returns_for_approval() -> TestResult {
    let t = demo_app()?;
    let alice = person("alice", Role::Analyst);
    let bob = person("bob", Role::Analyst);
    let view = t.app.create_item(&alice, vulnerability(json!({})))?;
    let id = view.row.id.clone();
    t.app.approve_item(&bob, &id, None)?;
    // Hospital South gets a recipient token: its inbox channel becomes usable, so the plan
    // (which covers channels) changes.
    recipient(&t, "hospital-south")?;
    let err = t.app.send_item(&alice, &id, None).err().ok_or("sent")?;
    assert!(
        matches!(&err, AppError::Conflict(m) if m.contains("differs from the approved")),
        "{err}"
    );
    assert_eq!(
        t.app.item(&alice, &id)?.row.status,
        ItemStatus::AwaitingApproval
    );
    let outbox = t.app.outbox(
        &alice,
        &DeliveryQuery {
            item_id: Some(id.clone()),
            limit: 10,
            ..DeliveryQuery::default()
        },
    )?;
    assert_eq!(outbox.total, 0, "nothing was sent");
    // Approving today's plan lets it go.
    t.app.approve_item(&bob, &id, None)?;
    t.app.send_item(&alice, &id, None)?;
    Ok(())
}

#[test]
fn an_item_needing_no_approval_is_sent_against_the_plan_shown() -> TestResult {
    let t = demo_app()?;
    let alice = person("alice", Role::Analyst);
    let view = t.app.create_item(
        &alice,
        json!({"kind": "advisory", "title": "Patch your VPN appliances", "tlp": "CLEAR", "sectors": ["health"]}),
    )?;
    assert!(!view.needs_approval());
    let plan = t.app.plan(&alice, &view.row.id)?;
    assert!(!plan.permits.is_empty());
    assert!(matches!(
        t.app
            .send_item(&alice, &view.row.id, Some("sha256:something-else")),
        Err(AppError::Conflict(_))
    ));
    let report = t.app.send_item(&alice, &view.row.id, Some(&plan.hash))?;
    assert_eq!(report.plan.permits.len(), plan.permits.len());
    Ok(())
}

#[test]
fn the_audit_chain_verifies_exports_what_went_to_whom_and_shows_tampering() -> TestResult {
    let TestApp {
        app,
        admin: _,
        _dir: dir,
    } = demo_app()?;
    let path = dir.path().join("t.db");
    let (alice, bob) = (person("alice", Role::Analyst), person("bob", Role::Analyst));
    let lena = person("lena", Role::Legal);
    let item = app.create_item(&alice, vulnerability(json!({})))?;
    app.approve_item(&bob, &item.row.id, None)?;
    app.send_item(&alice, &item.row.id, None)?;

    let v = app.verify_audit(&lena, None, None)?;
    assert!(v.intact(), "{:?}", v.problems);
    assert!(matches!(
        app.verify_audit(&alice, None, None),
        Err(AppError::Forbidden(_))
    ));
    let from = schakel_domain::parse_date("2026-11-22")?;
    let export = app.export_audit(&lena, from, from)?;
    assert_eq!(export["chain"]["intact"], true);
    let to_whom: Vec<(&str, &str)> = export["deliveries"]
        .as_array()
        .ok_or("deliveries")?
        .iter()
        .filter_map(|d| {
            Some((
                d["recipient"].as_str()?,
                d["decision"]["bases"][0]["rule"].as_str()?,
            ))
        })
        .collect();
    assert!(to_whom.contains(&("z-cert", "C3")), "{to_whom:?}");
    assert!(to_whom.contains(&("hospital-south", "C1")), "{to_whom:?}");
    assert!(export["entries"].as_array().is_some_and(|e| e.len() > 30));
    // References, not personal data: no contact's address is in the log.
    assert!(
        !export.to_string().contains("soc@"),
        "a contact address is in the audit log"
    );
    // The export was itself recorded, and the chain still verifies.
    assert!(app.verify_audit(&lena, None, None)?.intact());
    assert!(matches!(
        app.export_audit(&lena, from, schakel_domain::parse_date("2026-11-01")?),
        Err(AppError::Invalid { .. })
    ));

    // Someone with the file edits one entry and deletes another (after removing the
    // triggers that forbid it): both are found.
    drop(app);
    let conn = rusqlite::Connection::open(&path)?;
    conn.execute_batch(
        "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;
         UPDATE audit_log SET actor = 'someone else' WHERE seq = 5;
         DELETE FROM audit_log WHERE seq = 9;",
    )?;
    drop(conn);
    let app = app_on(&path, fixed_clock()?)?;
    let v = app.verify_audit(&lena, None, None)?;
    assert!(!v.intact());
    let problems = v.problems.join("\n");
    assert!(
        problems.contains("entry 5") && problems.contains("edited"),
        "{problems}"
    );
    assert!(
        problems.contains("entry 10") && problems.contains("missing"),
        "{problems}"
    );
    Ok(())
}

#[test]
fn corrections_and_retractions_go_to_exactly_the_earlier_recipients() -> TestResult {
    let t = demo_app()?;
    let alice = person("alice", Role::Analyst);
    let bob = person("bob", Role::Analyst);
    let zcert = recipient(&t, "z-cert")?;
    let id = t.app.create_item(&alice, vulnerability(json!({})))?.row.id;
    t.app.approve_item(&bob, &id, None)?;
    t.app.send_item(&alice, &id, None)?;

    // A correction: version 2, planned for exactly the earlier recipients, even though the
    // item now also concerns Ziekenhuis Noord.
    let corrected = t.app.correct_item(
        &alice,
        &id,
        vulnerability(
            json!({"title": "RCE in the patient portal (corrected: 4.2.2)",
                             "concerns": ["hospital-south", "ziekenhuis-noord"]}),
        ),
    )?;
    assert_eq!(corrected.row.version, 2);
    assert_eq!(corrected.row.status, ItemStatus::Draft);
    let plan = t.app.plan(&alice, &id)?.record();
    let mut all: Vec<&str> = plan
        .permits
        .iter()
        .map(|p| p.recipient.as_str())
        .chain(plan.denies.iter().map(|d| d.recipient.as_str()))
        .collect();
    all.sort_unstable();
    assert_eq!(all, ["hospital-south", "z-cert"], "{plan:?}");
    // The approval of version 1 does not cover version 2.
    assert!(matches!(
        t.app.send_item(&alice, &id, None),
        Err(AppError::Conflict(_))
    ));
    t.app.approve_item(&bob, &id, None)?;
    t.app.send_item(&alice, &id, None)?;
    let (inbox, _) = t.app.inbox(&zcert, 0, 10)?;
    assert_eq!(inbox.len(), 2);
    assert_eq!(inbox[1].version, 2);
    assert!(inbox[1].title.contains("corrected"));

    // A retraction: a notice to the same recipients, after four eyes, then retracted.
    let outcome = t
        .app
        .retract_item(&alice, &id, Some("The vendor withdrew the advisory."))?;
    assert!(
        matches!(outcome, schakel_app::Retraction::AwaitingApproval(_)),
        "{outcome:?}"
    );
    t.app.approve_item(&bob, &id, None)?;
    t.app.send_item(&alice, &id, None)?;
    assert_eq!(t.app.item(&alice, &id)?.row.status, ItemStatus::Retracted);
    let (inbox, _) = t.app.inbox(&zcert, 0, 10)?;
    assert_eq!(inbox.len(), 3);
    assert!(
        inbox[2].title.starts_with("Retracted: "),
        "{}",
        inbox[2].title
    );
    assert!(
        inbox[2].body.contains("vendor withdrew"),
        "{}",
        inbox[2].body
    );
    assert!(inbox[2].indicators.is_empty());
    assert!(matches!(
        t.app.correct_item(&alice, &id, vulnerability(json!({}))),
        Err(AppError::Conflict(_))
    ));
    assert!(matches!(
        t.app.retract_item(&alice, &id, None),
        Err(AppError::Conflict(_))
    ));

    // An item never sent is simply withdrawn.
    let draft = t.app.create_item(&alice, vulnerability(json!({})))?.row.id;
    assert!(matches!(
        t.app.retract_item(&alice, &draft, None)?,
        schakel_app::Retraction::Withdrawn
    ));
    assert_eq!(
        t.app.item(&alice, &draft)?.row.status,
        ItemStatus::Retracted
    );
    Ok(())
}

#[test]
fn the_review_list_shows_denies_with_remedies_to_legal_officers_only() -> TestResult {
    let t = demo_app()?;
    let alice = person("alice", Role::Analyst);
    let lena = person("lena", Role::Legal);
    // A confidential item about a hospital: CSIRTs abroad and the like are denied.
    let item = t.app.create_item(
        &alice,
        vulnerability(json!({"confidential": true,
                             "named_recipients": ["cert-us", "hospital-south"]})),
    )?;
    let reviews = t.app.reviews(&lena, None)?;
    let entry = reviews
        .iter()
        .find(|e| e.item.id == item.row.id)
        .ok_or("the item is not on the review list")?;
    let record = entry.record();
    let us = record
        .denies
        .iter()
        .find(|d| d.recipient == "cert-us")
        .ok_or("cert-us not denied")?;
    assert!(!us.reasons.is_empty());
    assert!(
        record
            .denies
            .iter()
            .any(|d| d.reasons.iter().any(|r| r.remedy.is_some())),
        "{record:?}"
    );
    assert!(matches!(
        t.app.reviews(&alice, None),
        Err(AppError::Forbidden(_))
    ));
    // Retracted items leave the list; `since` filters by creation day.
    t.app.retract_item(&alice, &item.row.id, None)?;
    assert!(
        t.app
            .reviews(&lena, None)?
            .iter()
            .all(|e| e.item.id != item.row.id)
    );
    assert!(
        t.app
            .reviews(&lena, Some(schakel_domain::parse_date("2026-11-23")?))?
            .is_empty()
    );
    Ok(())
}

#[test]
fn an_unacknowledged_delivery_is_reminded_once_to_the_alternate_contact() -> TestResult {
    let clock = TestClock::at("2026-11-22T10:00:00Z")?;
    let t = demo_app_with(clock.clock())?;
    let (app, admin) = (&t.app, &t.admin);
    // Z-CERT has a SOC and, second, a duty officer.
    let org = app.organisation(admin, "z-cert")?;
    let mut record = serde_json::to_value(
        schakel_formats::registry::OrganisationRecord::from_organisation(&org),
    )?;
    record["contacts"] = json!([
        {"name": "SOC", "email": "soc@z-cert.example"},
        {"name": "Duty officer", "email": "duty@z-cert.example"}
    ]);
    app.put_organisation(admin, "z-cert", record)?;
    let hospital = recipient(&t, "hospital-south")?;
    let (alice, bob) = (person("alice", Role::Analyst), person("bob", Role::Analyst));
    let id = t.app.create_item(&alice, vulnerability(json!({})))?.row.id;
    t.app.approve_item(&bob, &id, None)?;
    t.app.send_item(&alice, &id, None)?;
    let day = jiff::SignedDuration::from_hours(24);
    // Too early: nothing.
    assert!(t.app.send_reminders(&alice, day)?.is_empty());
    // Hospital South acknowledges; Z-CERT does not.
    let (mine, _) = t.app.inbox(&hospital, 0, 10)?;
    t.app.acknowledge(&hospital, &mine[0].id)?;
    clock.advance_hours(25)?;
    let reminders = t.app.send_reminders(&alice, day)?;
    assert_eq!(reminders.len(), 1, "{reminders:?}");
    let reminder = t
        .app
        .outbox(
            &alice,
            &DeliveryQuery {
                item_id: Some(id.clone()),
                limit: 100,
                ..DeliveryQuery::default()
            },
        )?
        .deliveries
        .into_iter()
        .find(|d| d.id == reminders[0])
        .ok_or("the reminder is not in the outbox")?;
    assert_eq!(reminder.recipient.as_str(), "z-cert");
    assert_eq!(reminder.channel, Channel::Email);
    assert_eq!(reminder.address.as_deref(), Some("duty@z-cert.example"));
    assert!(reminder.id.ends_with(schakel_app::REMINDER_SUFFIX));
    assert_eq!(reminder.state, DeliveryState::Pending);
    // Once only.
    clock.advance_hours(25)?;
    assert!(t.app.send_reminders(&alice, day)?.is_empty());

    // Nobody is reminded of a version that was corrected since.
    t.app
        .correct_item(&alice, &id, vulnerability(json!({"title": "Corrected"})))?;
    t.app.approve_item(&bob, &id, None)?;
    t.app.send_item(&alice, &id, None)?;
    clock.advance_hours(25)?;
    let reminders = t.app.send_reminders(&alice, day)?;
    assert_eq!(
        reminders.len(),
        2,
        "both version-2 copies, not version 1: {reminders:?}"
    );
    t.app.correct_item(
        &alice,
        &id,
        vulnerability(json!({"title": "Corrected again"})),
    )?;
    clock.advance_hours(25)?;
    assert!(
        t.app.send_reminders(&alice, day)?.is_empty(),
        "version 2 was corrected"
    );
    Ok(())
}

#[test]
fn an_item_nobody_may_receive_is_not_sent() -> TestResult {
    let t = demo_app()?;
    let alice = person("alice", Role::Analyst);
    let bob = person("bob", Role::Analyst);
    // National security: only intelligence services may receive it, and none is a
    // candidate for an item about a hospital.
    let id = t
        .app
        .create_item(&alice, vulnerability(json!({"national_security": true})))?
        .row
        .id;
    let plan = t.app.plan(&alice, &id)?;
    assert!(plan.permits.is_empty() && !plan.denies.is_empty());
    t.app.approve_item(&bob, &id, None)?;
    let err = t.app.send_item(&alice, &id, None).err().ok_or("sent")?;
    assert!(
        matches!(&err, AppError::Conflict(m) if m.contains("permits nobody")),
        "{err}"
    );
    Ok(())
}
