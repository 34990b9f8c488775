//! Incident reports end to end on a real SQLite file and the demo constituency: filing,
//! reporting clocks, submissions, triage, sanitised items, written advice with
//! escalation, the Woo export and the published statistics.

use schakel_app::{AppError, ItemFromReport};
use schakel_domain::Role;
use schakel_formats::report::{AdviceRequest, TriageRequest};
use schakel_store::ReportQuery;
use serde_json::{Value, json};

mod common;

use common::*;

fn report(reporter: &str, aware_at: &str, extra: Value) -> Value {
    let mut r = json!({
        "reporter": reporter,
        "aware_at": aware_at,
        "occurred_at": null,
        "category": "intrusions",
        "type": "system-compromise",
        "title": "Ransomware on the patient records servers",
        "description": "Encrypted file servers; the SOC isolated the network.",
        "significant": true,
        "personal_data": false,
        "cross_border": false,
        "malicious": true
    });
    if let (Some(r), Some(extra)) = (r.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            r.insert(k.clone(), v.clone());
        }
    }
    r
}

fn steps(view: &schakel_app::ReportView) -> Vec<String> {
    view.clocks
        .clocks
        .iter()
        .map(|c| format!("{}/{}", c.regime, c.step))
        .collect()
}

#[test]
fn filing_starts_every_clock_and_bad_input_names_fields_and_writes_nothing() -> TestResult {
    let t = demo_app()?;
    let analyst = person("ana", Role::Analyst);
    // Hospital South is an important entity: a significant incident starts the Cbw's steps;
    // personal data add the GDPR's 72 hours.
    let view = t.app.file_report(
        &analyst,
        report(
            "hospital-south",
            "2026-11-21T09:00:00Z",
            json!({"personal_data": true}),
        ),
    )?;
    assert_eq!(
        steps(&view),
        [
            "cbw/early_warning",
            "cbw/notification",
            "cbw/intermediate",
            "cbw/final",
            "gdpr/notification"
        ]
    );
    let early = &view.clocks.clocks[0];
    assert_eq!(
        early.due.map(|d| d.to_string()).as_deref(),
        Some("2026-11-22T09:00:00Z")
    );
    assert!(early.overdue("2026-11-22T10:00:00Z".parse()?));
    // A bank: DORA, and the Cbw displaced by it.
    let bank = t.app.file_report(
        &analyst,
        report("bank-oranje", "2026-11-22T08:00:00Z", json!({})),
    )?;
    // Its Wbni designation ended when the Cbw began.
    assert_eq!(
        steps(&bank),
        ["dora/initial", "dora/intermediate", "dora/final"]
    );
    assert_eq!(
        bank.clocks.displaced,
        [("cbw".to_owned(), "dora".to_owned())]
    );

    // Every problem is named, and nothing is written.
    let before = t
        .app
        .reports(
            &analyst,
            &ReportQuery {
                limit: 100,
                ..ReportQuery::default()
            },
            false,
        )?
        .total;
    let bad = report(
        "hospital-south",
        "2026-11-21T09:00:00+01:00",
        json!({"category": "hacking", "title": "", "occurred_at": "2026-11-21T10:00:00Z"}),
    );
    let err = t.app.file_report(&analyst, bad).err().ok_or("accepted")?;
    assert_eq!(
        problems(&err),
        [
            "field `occurred_at`: lies after `aware_at`: awareness cannot precede the incident",
            "field `category`: `hacking` is not one of abusive-content, malicious-code, information-gathering, intrusion-attempts, intrusions, availability, information-content-security, fraud, vulnerable, other, test",
            "field `title`: must not be empty",
        ]
    );
    let err = t
        .app
        .file_report(
            &analyst,
            report("no-such-org", "2026-11-21T09:00:00Z", json!({})),
        )
        .err()
        .ok_or("accepted")?;
    assert_eq!(
        problems(&err),
        ["field `reporter`: no organisation `no-such-org` in the registry"]
    );
    let after = t
        .app
        .reports(
            &analyst,
            &ReportQuery {
                limit: 100,
                ..ReportQuery::default()
            },
            false,
        )?
        .total;
    assert_eq!(before, after);
    Ok(())
}

#[test]
fn a_recipient_files_and_reads_only_its_own_reports() -> TestResult {
    let t = demo_app()?;
    let hospital = recipient(&t, "hospital-south")?;
    let other = recipient(&t, "ziekenhuis-noord")?;
    let own = t.app.file_report(
        &hospital,
        report("hospital-south", "2026-11-22T08:00:00Z", json!({})),
    )?;
    let err = t
        .app
        .file_report(
            &hospital,
            report("ziekenhuis-noord", "2026-11-22T08:00:00Z", json!({})),
        )
        .err()
        .ok_or("filed for another")?;
    assert!(matches!(err, AppError::Forbidden(_)), "{err:?}");
    // Another organisation's report does not exist for it.
    assert!(matches!(
        t.app.report(&other, &own.row.id),
        Err(AppError::NotFound(_))
    ));
    let mine = t.app.report(&hospital, &own.row.id)?;
    let answer = serde_json::to_value(mine.answer(false, "2026-11-22T10:00:00Z".parse()?))?;
    assert!(
        answer.get("triage").is_none() && answer.get("history").is_none(),
        "{answer}"
    );
    let listed = t.app.reports(
        &other,
        &ReportQuery {
            limit: 10,
            ..ReportQuery::default()
        },
        false,
    )?;
    assert_eq!(listed.total, 0);
    // The reporter records its own submission; another organisation cannot.
    t.app
        .submit_step(&hospital, &own.row.id, "cbw", "early_warning", None)?;
    assert!(
        t.app
            .submit_step(&other, &own.row.id, "cbw", "notification", None)
            .is_err()
    );
    Ok(())
}

#[test]
fn submissions_move_the_clocks_and_overdue_reports_are_listed() -> TestResult {
    let clock = TestClock::at("2027-03-26T09:00:00Z")?;
    let t = demo_app_with(clock.clock())?;
    let analyst = person("ana", Role::Analyst);
    let view = t.app.file_report(
        &analyst,
        report("hospital-south", "2027-03-26T08:00:00Z", json!({})),
    )?;
    let id = view.row.id.clone();
    let fin = view
        .clocks
        .clocks
        .iter()
        .find(|c| c.step == "final")
        .ok_or("no final")?;
    assert!(fin.provisional);
    // Nothing is overdue yet; a day and a half later the early warning is.
    let overdue = |t: &TestApp| -> Result<u64, AppError> {
        Ok(t.app
            .reports(
                &analyst,
                &ReportQuery {
                    limit: 10,
                    ..ReportQuery::default()
                },
                true,
            )?
            .total)
    };
    assert_eq!(overdue(&t)?, 0);
    clock.set("2027-03-27T20:00:00Z")?;
    assert_eq!(overdue(&t)?, 1);
    let v = t.app.submit_step(
        &analyst,
        &id,
        "cbw",
        "early_warning",
        Some("2027-03-27T07:00:00Z".parse()?),
    )?;
    assert_eq!(overdue(&t)?, 0);
    assert!(v.events.iter().any(|e| e.action == "submitted"));
    // The notification goes in on Sunday 29 March, the day the clocks go forward; the final
    // report is due a calendar month later at the same local time (CEST), 13:00 UTC.
    let v = t.app.submit_step(
        &analyst,
        &id,
        "cbw",
        "notification",
        Some("2027-03-27T14:00:00Z".parse()?),
    )?;
    let fin = v
        .clocks
        .clocks
        .iter()
        .find(|c| c.step == "final")
        .ok_or("no final")?;
    assert!(!fin.provisional);
    assert_eq!(
        fin.due.map(|d| d.to_string()).as_deref(),
        Some("2027-04-27T13:00:00Z")
    );
    // Twice is a conflict; an unknown step or regime is named.
    assert!(matches!(
        t.app
            .submit_step(&analyst, &id, "cbw", "notification", None),
        Err(AppError::Conflict(_))
    ));
    let err = t
        .app
        .submit_step(&analyst, &id, "dora", "initial", None)
        .err()
        .ok_or("accepted")?;
    assert!(
        problems(&err)[0].starts_with("field `regime`: `dora` does not apply"),
        "{err}"
    );
    let err = t
        .app
        .submit_step(&analyst, &id, "cbw", "early", None)
        .err()
        .ok_or("accepted")?;
    assert!(
        problems(&err)[0].starts_with("field `step`: `early` is not a step of `cbw`"),
        "{err}"
    );
    Ok(())
}

#[test]
fn triage_follows_the_workflow_and_keeps_its_history() -> TestResult {
    let t = demo_app()?;
    let analyst = person("ana", Role::Analyst);
    let legal = person("lea", Role::Legal);
    let view = t.app.file_report(
        &analyst,
        report("hospital-south", "2026-11-22T08:00:00Z", json!({})),
    )?;
    let id = view.row.id.clone();
    let to = |status: &str| TriageRequest {
        status: Some(status.into()),
        ..TriageRequest::default()
    };
    // Not straight to closed; not triaged without an impact estimate; not by legal.
    assert!(
        !problems(
            &t.app
                .triage(&analyst, &id, &to("closed"))
                .err()
                .ok_or("closed")?
        )
        .is_empty()
    );
    let err = t
        .app
        .triage(&analyst, &id, &to("triaged"))
        .err()
        .ok_or("triaged")?;
    assert!(problems(&err)[0].starts_with("field `impact`:"), "{err}");
    assert!(matches!(
        t.app.triage(&legal, &id, &to("triaged")),
        Err(AppError::Forbidden(_))
    ));
    let v = t.app.triage(
        &analyst,
        &id,
        &TriageRequest {
            status: Some("triaged".into()),
            impact: Some("serious".into()),
            nature: Some(vec!["availability".into(), "confidentiality".into()]),
            assignee: Some("ana".into()),
            advice: Some("Isolate the file servers; restore from offline backups.".into()),
            note: Some("called the CISO".into()),
            ..TriageRequest::default()
        },
    )?;
    assert_eq!(v.row.status.as_str(), "triaged");
    assert_eq!(v.triage.priority.as_deref(), Some("high"));
    t.app.triage(&analyst, &id, &to("coordinating"))?;
    let v = t.app.triage(&analyst, &id, &to("closed"))?;
    let history: Vec<&str> = v.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(history, ["filed", "triage", "triage", "triage"]);
    assert_eq!(
        v.events[1].detail["status"],
        json!({"from": "new", "to": "triaged"})
    );
    assert_eq!(v.events[1].detail["note"], json!("called the CISO"));
    // The recipient sees the advice, not the triage.
    let hospital = recipient(&t, "hospital-south")?;
    let answer = t
        .app
        .report(&hospital, &id)?
        .answer(false, "2026-11-22T10:00:00Z".parse()?);
    assert_eq!(
        answer.advice.as_deref(),
        Some("Isolate the file servers; restore from offline backups.")
    );
    // Every step is in the audit log.
    let audit = t.app.audit_log(&legal)?;
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.entry.subject == format!("report:{id}"))
            .count(),
        4
    );
    Ok(())
}

#[test]
fn an_item_from_a_report_names_the_reporter_only_with_consent() -> TestResult {
    let t = demo_app()?;
    let analyst = person("ana", Role::Analyst);
    let text = json!({
        "title": "Hospital South: ransomware via vpn.hospital-south.example",
        "description": "Attackers from 203.0.113.99 used the Citrix gateway of HOSPITAL-SOUTH; contact soc@hospital-south.example.",
        "systems": ["Citrix NetScaler ADC 13.1"],
    });
    let view = t.app.file_report(
        &analyst,
        report("hospital-south", "2026-11-22T08:00:00Z", text.clone()),
    )?;
    t.app.triage(
        &analyst,
        &view.row.id,
        &TriageRequest {
            status: Some("triaged".into()),
            impact: Some("serious".into()),
            ..TriageRequest::default()
        },
    )?;
    let item = t
        .app
        .item_from_report(&analyst, &view.row.id, &ItemFromReport::default())?;
    assert!(item.item.facts.concerns.is_empty());
    assert!(item.item.facts.serious);
    let all = format!("{} {}", item.item.title, item.item.body).to_lowercase();
    for gone in ["hospital", "203.0.113.99", "soc@"] {
        assert!(!all.contains(gone), "{gone} in {all}");
    }
    assert!(
        all.contains("citrix netscaler adc 13.1"),
        "the product stays: {all}"
    );
    assert_eq!(
        item.item
            .sectors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["health"]
    );
    // With consent the item concerns the reporter, which consented.
    let mut consented = text;
    consented["identity_consent"] = json!(true);
    let view = t.app.file_report(
        &analyst,
        report("hospital-south", "2026-11-22T08:00:00Z", consented),
    )?;
    let item = t
        .app
        .item_from_report(&analyst, &view.row.id, &ItemFromReport::default())?;
    assert_eq!(item.item.facts.concerns.len(), 1);
    assert_eq!(item.item.facts.consent, item.item.facts.concerns);
    assert!(item.item.body.contains("Hospital South"));
    let plan = t.app.plan(&analyst, &item.row.id)?;
    assert!(!plan.permits.is_empty());
    Ok(())
}

#[test]
fn unheeded_written_advice_is_escalated_to_the_overseeing_ministry_under_w7() -> TestResult {
    let clock = TestClock::at("2026-11-02T09:00:00Z")?;
    let t = demo_app_with(clock.clock())?;
    let analyst = person("ana", Role::Analyst);
    let advice = t.app.give_advice(
        &analyst,
        &AdviceRequest {
            organisation: "hospital-south".into(),
            title: "Critical vulnerability in the patient portal appliance".into(),
            measures: vec![
                "Install firmware 4.2.1".into(),
                "Rotate the admin credentials".into(),
            ],
            follow_up: "2026-11-16".into(),
            report: None,
            cves: vec!["CVE-2026-12345".into()],
        },
    )?;
    let id = advice.row.id.clone();
    assert_eq!(advice.state.as_str(), "open");
    assert!(matches!(
        t.app.escalate_advice(&analyst, &id),
        Err(AppError::Conflict(_))
    ));
    assert!(t.app.advice_list(&analyst, true)?.is_empty());
    // The follow-up date passes without confirmation: flagged.
    clock.set("2026-11-17T09:00:00Z")?;
    let flagged = t.app.advice_list(&analyst, true)?;
    assert_eq!(flagged.len(), 1);
    let (advice, item) = t.app.escalate_advice(&analyst, &id)?;
    assert_eq!(advice.state.as_str(), "escalated");
    assert_eq!(item.item.kind.as_str(), "escalation");
    assert!(item.item.body.contains("Install firmware 4.2.1"));
    // The plan proposes the ministry overseeing health, and the rulebook permits it on W7.
    let plan = t.app.plan(&analyst, &item.row.id)?;
    let permits: Vec<(String, Vec<String>)> = plan
        .permits
        .iter()
        .map(|p| {
            let d = p.permit.decision();
            (
                d.recipient.to_string(),
                d.bases.iter().map(|b| b.rule.to_string()).collect(),
            )
        })
        .collect();
    assert_eq!(permits.len(), 1, "{permits:?}");
    assert_eq!(permits[0].0, "ministerie-vws");
    assert!(permits[0].1.contains(&"W7".to_owned()), "{permits:?}");
    assert!(plan.denies.is_empty());
    // Four eyes, then sent like any item; the audit log has the advice and the escalation.
    let legal = person("lea", Role::Legal);
    t.app.approve_item(&legal, &item.row.id, Some(&plan.hash))?;
    let sent = t.app.send_item(&analyst, &item.row.id, None)?;
    assert!(
        sent.deliveries
            .iter()
            .all(|(_, r, _, _)| r.as_str() == "ministerie-vws")
    );
    let actions: Vec<String> = t
        .app
        .audit_log(&legal)?
        .into_iter()
        .filter(|e| e.entry.subject == format!("advice:{id}"))
        .map(|e| e.entry.action)
        .collect();
    assert_eq!(actions, ["advice.give", "advice.escalate"]);
    // Confirmed advice is never escalated.
    let other = t.app.give_advice(
        &analyst,
        &AdviceRequest {
            organisation: "ziekenhuis-noord".into(),
            title: "Same appliance".into(),
            measures: vec!["Install firmware 4.2.1".into()],
            follow_up: "2026-11-20".into(),
            report: None,
            cves: vec![],
        },
    )?;
    let zn = recipient(&t, "ziekenhuis-noord")?;
    t.app
        .confirm_advice(&zn, &other.row.id, "installed on 18 November")?;
    clock.set("2026-11-21T09:00:00Z")?;
    assert!(matches!(
        t.app.escalate_advice(&analyst, &other.row.id),
        Err(AppError::Conflict(_))
    ));
    Ok(())
}
