//! The storage contract: every backend must pass these. Today they run against SQLite; a
//! PostgreSQL backend adds one line to `backends()`.

use std::net::IpAddr;

use jiff::Timestamp;
use schakel_domain::{Date, OrgSlug, Organisation, Role, SectorVocabulary, Status, parse_date};
use schakel_formats::registry::parse_registry_file;
use schakel_store::{
    GENESIS_HASH, NewAuditEntry, OrganisationQuery, SqliteStore, Store, StoreError, TokenRecord,
    entry_hash,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct Backend {
    store: Box<dyn Store>,
    _dir: tempfile::TempDir,
}

fn backends() -> Result<Vec<Backend>, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(&dir.path().join("contract.db"), SectorVocabulary::default())?;
    Ok(vec![Backend {
        store: Box::new(store),
        _dir: dir,
    }])
}

fn date(s: &str) -> Date {
    parse_date(s).unwrap_or_default()
}

fn orgs(json: &str) -> Result<Vec<Organisation>, Box<dyn std::error::Error>> {
    Ok(
        parse_registry_file(json.as_bytes(), &SectorVocabulary::default())
            .map_err(|e| e.to_string())?,
    )
}

const REGISTRY: &str = r#"[
 {"slug": "provider", "name": "Provider", "sectors": ["telecom"], "jurisdiction": "NL",
  "designations": [{"status": "vital_provider", "from": "2018-11-09", "until": "2026-08-14"},
                   {"status": "essential_entity", "from": "2026-08-15", "until": null}],
  "secrecy": {"basis": "nda", "until": null},
  "prefixes": ["192.0.2.0/24", "2001:db8::/32"], "asns": [64496], "domains": ["provider.example"],
  "contacts": [{"name": "NOC", "email": "noc@provider.example"}]},
 {"slug": "customer", "name": "Customer", "sectors": ["health", "research"], "jurisdiction": "NL",
  "designations": [{"status": "important_entity", "from": "2026-08-15", "until": null}],
  "secrecy": null,
  "prefixes": ["192.0.2.128/25", "2001:db8:10::/48"], "contacts": []},
 {"slug": "team", "name": "Team", "sectors": ["health"], "jurisdiction": "NL",
  "designations": [{"status": "crisis_team", "from": "2018-11-09", "until": null}],
  "secrecy": null, "serves": {"sectors": ["health"], "organisations": ["customer"]},
  "prefixes": ["192.0.2.192/26"], "contacts": [], "ended": "2025-01-01"}
]"#;

#[test]
fn organisations_round_trip_exactly() -> TestResult {
    for b in backends()? {
        let input = orgs(REGISTRY)?;
        let mut tx = b.store.write()?;
        // `team` references `customer`: order inside one transaction does not matter.
        for org in input.iter().rev() {
            tx.put_organisation(org)?;
        }
        tx.commit()?;
        let mut tx = b.store.read()?;
        let mut by_slug = input.clone();
        by_slug.sort_by(|a, b| a.slug().cmp(b.slug()));
        assert_eq!(tx.organisations()?, by_slug);
        assert_eq!(
            tx.organisation(&OrgSlug::parse("customer")?)?.as_ref(),
            input.get(1)
        );
        assert_eq!(tx.organisation(&OrgSlug::parse("nobody")?)?, None);
    }
    Ok(())
}

#[test]
fn a_dropped_transaction_writes_nothing() -> TestResult {
    for b in backends()? {
        let input = orgs(REGISTRY)?;
        {
            let mut tx = b.store.write()?;
            tx.put_organisation(&input[0])?;
            tx.append_audit(NewAuditEntry {
                at: Timestamp::now(),
                actor: "test".into(),
                action: "organisation.create".into(),
                subject: "organisation:provider".into(),
                before: None,
                after: None,
            })?;
            // dropped here, not committed
        }
        let mut tx = b.store.read()?;
        assert!(tx.organisations()?.is_empty());
        assert!(tx.audit_log()?.is_empty());
    }
    Ok(())
}

#[test]
fn a_dangling_member_reference_fails_the_commit() -> TestResult {
    for b in backends()? {
        let team = orgs(REGISTRY)?.remove(2);
        let mut tx = b.store.write()?;
        tx.put_organisation(&team)?;
        assert!(matches!(
            tx.commit(),
            Err(StoreError::Constraint(_) | StoreError::Database(_))
        ));
        assert!(b.store.read()?.organisations()?.is_empty());
    }
    Ok(())
}

#[test]
fn listing_filters_by_sector_status_date_and_ended() -> TestResult {
    for b in backends()? {
        let mut tx = b.store.write()?;
        for org in orgs(REGISTRY)? {
            tx.put_organisation(&org)?;
        }
        tx.commit()?;
        let query = OrganisationQuery {
            sector: None,
            status: None,
            only: None,
            on: date("2026-11-22"),
            include_ended: false,
            offset: 0,
            limit: 100,
        };
        let slugs = |q: &OrganisationQuery| -> Result<(Vec<String>, u64), StoreError> {
            let page = b.store.read()?.find_organisations(q)?;
            Ok((
                page.organisations
                    .iter()
                    .map(|o| o.slug().to_string())
                    .collect(),
                page.total,
            ))
        };
        assert_eq!(
            slugs(&query)?,
            (vec!["customer".into(), "provider".into()], 2)
        );
        let all = OrganisationQuery {
            include_ended: true,
            ..query.clone()
        };
        assert_eq!(slugs(&all)?.1, 3);
        let health = OrganisationQuery {
            sector: Some("research".into()),
            ..query.clone()
        };
        assert_eq!(slugs(&health)?.0, ["customer"]);
        let vital_now = OrganisationQuery {
            status: Some(Status::VitalProvider),
            ..query.clone()
        };
        assert_eq!(slugs(&vital_now)?.1, 0);
        let vital_then = OrganisationQuery {
            on: date("2026-08-14"),
            ..vital_now
        };
        assert_eq!(slugs(&vital_then)?.0, ["provider"]);
        let team_then = OrganisationQuery {
            status: Some(Status::CrisisTeam),
            on: date("2024-12-31"),
            ..query.clone()
        };
        assert_eq!(slugs(&team_then)?.0, ["team"]);
        let team_after_end = OrganisationQuery {
            on: date("2025-01-01"),
            include_ended: true,
            ..team_then
        };
        assert_eq!(
            slugs(&team_after_end)?.1,
            0,
            "an ended organisation holds no designation"
        );
        let page = OrganisationQuery {
            limit: 1,
            offset: 1,
            ..query.clone()
        };
        assert_eq!(slugs(&page)?, (vec!["provider".into()], 2));
        let only = OrganisationQuery {
            only: Some(OrgSlug::parse("customer")?),
            ..query
        };
        assert_eq!(slugs(&only)?, (vec!["customer".into()], 1));
    }
    Ok(())
}

#[test]
fn prefix_matches_are_most_specific_first_in_both_families() -> TestResult {
    for b in backends()? {
        let mut tx = b.store.write()?;
        for org in orgs(REGISTRY)? {
            tx.put_organisation(&org)?;
        }
        tx.commit()?;
        let matches = |ip: &str, on: &str| -> Result<Vec<String>, Box<dyn std::error::Error>> {
            let addr: IpAddr = ip.parse()?;
            Ok(b.store
                .read()?
                .prefix_matches(addr, date(on))?
                .iter()
                .map(|m| format!("{} {}", m.organisation, m.prefix))
                .collect())
        };
        assert_eq!(
            matches("192.0.2.1", "2026-11-22")?,
            ["provider 192.0.2.0/24"]
        );
        assert_eq!(
            matches("192.0.2.130", "2026-11-22")?,
            ["customer 192.0.2.128/25", "provider 192.0.2.0/24"]
        );
        // `team` is ended from 2025-01-01: its /26 counts before, not after.
        assert_eq!(
            matches("192.0.2.200", "2024-12-31")?[0],
            "team 192.0.2.192/26"
        );
        assert_eq!(
            matches("192.0.2.200", "2025-01-01")?[0],
            "customer 192.0.2.128/25"
        );
        assert_eq!(
            matches("2001:db8:10::1", "2026-11-22")?,
            ["customer 2001:db8:10::/48", "provider 2001:db8::/32"]
        );
        assert_eq!(
            matches("2001:db8:ffff::1", "2026-11-22")?,
            ["provider 2001:db8::/32"]
        );
        assert!(matches("198.51.100.1", "2026-11-22")?.is_empty());
        assert!(matches("2001:db9::1", "2026-11-22")?.is_empty());
        // An IPv4 address never matches an IPv6 prefix with the same leading bytes.
        assert!(matches("32.1.13.184", "2026-11-22")?.is_empty());
    }
    Ok(())
}

#[test]
fn the_audit_log_is_a_hash_chain_and_append_only() -> TestResult {
    for b in backends()? {
        let mut tx = b.store.write()?;
        for n in 0..3 {
            tx.append_audit(NewAuditEntry {
                at: Timestamp::now(),
                actor: "alice (admin)".into(),
                action: "organisation.update".into(),
                subject: format!("organisation:o{n}"),
                before: Some(serde_json::json!({"n": n})),
                after: None,
            })?;
        }
        tx.commit()?;
        let log = b.store.read()?.audit_log()?;
        assert_eq!(log.len(), 3);
        let mut prev = GENESIS_HASH.to_owned();
        for e in &log {
            assert_eq!(e.prev_hash, prev);
            assert_eq!(e.hash, entry_hash(e.seq, &e.entry, &e.prev_hash));
            prev = e.hash.clone();
        }
        assert_eq!(b.store.read()?.audit_entries("organisation:o1")?.len(), 1);
    }
    // The SQLite schema refuses to change history.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("a.db");
    let store = SqliteStore::open(&path, SectorVocabulary::default())?;
    let mut tx = store.write()?;
    tx.append_audit(NewAuditEntry {
        at: Timestamp::now(),
        actor: "a".into(),
        action: "x".into(),
        subject: "y".into(),
        before: None,
        after: None,
    })?;
    tx.commit()?;
    let conn = rusqlite::Connection::open(&path)?;
    assert!(
        conn.execute("UPDATE audit_log SET actor = 'mallory'", [])
            .is_err()
    );
    assert!(conn.execute("DELETE FROM audit_log", []).is_err());
    Ok(())
}

#[test]
fn tokens_are_stored_by_hash_and_revocable() -> TestResult {
    for b in backends()? {
        let token = TokenRecord {
            id: "t_0001".into(),
            secret_hash: [7; 32],
            role: Role::Analyst,
            name: "alice".into(),
            organisation: None,
            created_at: Timestamp::now(),
            created_by: "cli:root".into(),
            expires_at: None,
            revoked_at: None,
        };
        let mut tx = b.store.write()?;
        tx.insert_token(&token)?;
        tx.commit()?;
        let mut tx = b.store.read()?;
        assert_eq!(
            tx.token_by_secret_hash(&[7; 32])?.map(|t| t.name),
            Some("alice".into())
        );
        assert!(tx.token_by_secret_hash(&[8; 32])?.is_none());
        drop(tx);
        let mut tx = b.store.write()?;
        tx.revoke_token("t_0001", Timestamp::now())?;
        assert!(matches!(
            tx.insert_token(&token),
            Err(StoreError::Constraint(_))
        ));
        tx.commit()?;
        let t = b.store.read()?.token("t_0001")?;
        assert!(t.and_then(|t| t.revoked_at).is_some());
        assert_eq!(b.store.read()?.tokens()?.len(), 1);
    }
    Ok(())
}

#[test]
fn reopening_keeps_data_and_a_newer_schema_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("reopen.db");
    {
        let store = SqliteStore::open(&path, SectorVocabulary::default())?;
        let mut tx = store.write()?;
        for org in orgs(REGISTRY)? {
            tx.put_organisation(&org)?;
        }
        tx.commit()?;
    }
    let store = SqliteStore::open(&path, SectorVocabulary::default())?;
    assert_eq!(store.read()?.organisations()?.len(), 3);
    drop(store);
    let conn = rusqlite::Connection::open(&path)?;
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    assert_eq!(mode, "wal");
    conn.pragma_update(None, "user_version", 99)?;
    drop(conn);
    match SqliteStore::open(&path, SectorVocabulary::default()) {
        Err(StoreError::SchemaTooNew { found: 99, .. }) => Ok(()),
        Err(e) => Err(format!("unexpected error {e}").into()),
        Ok(_) => Err("a newer schema was accepted".into()),
    }
}

#[test]
fn items_versions_and_deliveries_round_trip_and_filter() -> TestResult {
    use schakel_domain::{Channel, DeliveryState, ItemKind, ItemStatus, Registry, Tlp};
    use schakel_rulebook::{DecisionRequest, EffectiveDates, ItemFacts, RulebookSet, Verdict};
    use schakel_store::{
        ApprovalRow, DeliveryQuery, DeliveryUpdate, ForwardingRow, ItemQuery, ItemRow,
        ItemVersionRow, NewDelivery,
    };
    let at: Timestamp = "2026-11-22T10:00:00Z".parse()?;
    let rulebooks = RulebookSet::defaults(EffectiveDates::default())?;
    for b in backends()? {
        let organisations = orgs(REGISTRY)?;
        let mut tx = b.store.write()?;
        for org in &organisations {
            tx.put_organisation(org)?;
        }
        let version_before = tx.registry_version()?;
        let row = ItemRow {
            id: "itm_1".into(),
            version: 1,
            status: ItemStatus::Draft,
            kind: ItemKind::Advisory,
            title: "Patch".into(),
            tlp: Tlp::Amber,
            created_at: at,
            created_by: "alice".into(),
            updated_at: at,
            retraction: None,
        };
        tx.put_item(&row)?;
        tx.insert_item_version(&ItemVersionRow {
            item_id: "itm_1".into(),
            version: 1,
            content: serde_json::json!({"kind": "advisory", "title": "Patch", "tlp": "AMBER"}),
            created_at: at,
            created_by: "alice".into(),
        })?;
        tx.insert_approval(&ApprovalRow {
            item_id: "itm_1".into(),
            version: 1,
            plan_hash: "sha256:x".into(),
            approved_by: "bob".into(),
            approved_at: at,
        })?;
        // A delivery can only be made from a permit.
        let registry = Registry::new(organisations.clone());
        let Verdict::Permit(permit) = rulebooks.verdict(
            &registry,
            &DecisionRequest {
                at: date("2026-11-22"),
                recipient: OrgSlug::parse("provider")?,
                item: ItemFacts::with_tlp(Tlp::Amber),
            },
        )?
        else {
            return Err("the provider should be permitted".into());
        };
        let decision = r#"{"decision":"permit"}"#;
        let new = |id: &str, channel: Channel, state: DeliveryState| NewDelivery {
            permit: &permit,
            id: id.into(),
            item_id: "itm_1",
            version: 1,
            channel,
            address: None,
            plan_hash: "sha256:x",
            decision,
            state,
            next_attempt_at: (state == DeliveryState::Pending).then_some(at),
            note: None,
            created_at: at,
        };
        tx.insert_deliveries(&[
            new("dlv_a", Channel::Inbox, DeliveryState::Delivered),
            new("dlv_b", Channel::Email, DeliveryState::Pending),
        ])?;
        tx.commit()?;

        let mut tx = b.store.write()?;
        assert!(
            tx.registry_version()? == version_before,
            "no registry write since"
        );
        assert_eq!(tx.item("itm_1")?.map(|i| i.title), Some("Patch".to_owned()));
        assert_eq!(
            tx.find_items(&ItemQuery {
                limit: 10,
                ..ItemQuery::default()
            })?
            .1,
            1
        );
        assert_eq!(tx.approvals("itm_1")?.len(), 1);
        let due = tx.find_deliveries(&DeliveryQuery {
            due_by: Some(at),
            limit: 10,
            ..DeliveryQuery::default()
        })?;
        assert_eq!(
            due.0.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
            ["dlv_b"]
        );
        assert_eq!(due.0[0].decision["decision"], "permit");
        let inbox = tx.find_deliveries(&DeliveryQuery {
            recipient: Some(OrgSlug::parse("provider")?),
            channel: Some(Channel::Inbox),
            limit: 10,
            ..DeliveryQuery::default()
        })?;
        assert_eq!(inbox.1, 1);
        assert!(tx.update_delivery(
            "dlv_b",
            &DeliveryUpdate {
                state: DeliveryState::Delivered,
                attempts: 1,
                next_attempt_at: None,
                last_error: None,
                delivered_at: Some(at),
            },
        )?);
        assert!(tx.acknowledge("dlv_a", at, "noc")?);
        assert!(!tx.acknowledge("dlv_a", at, "noc")?, "acknowledged once");
        assert!(tx.insert_forwarding(&ForwardingRow {
            delivery_id: "dlv_a".into(),
            member: OrgSlug::parse("customer")?,
            confirmed_at: at,
            confirmed_by: "noc".into(),
        })?);
        assert_eq!(tx.forwardings("dlv_a")?.len(), 1);
        assert!(tx.mark_reminded("dlv_a", at)?);
        assert!(!tx.mark_reminded("dlv_a", at)?);
        let unacknowledged = tx.find_deliveries(&DeliveryQuery {
            unacknowledged_before: Some(at),
            limit: 10,
            ..DeliveryQuery::default()
        })?;
        assert_eq!(unacknowledged.1, 0);
        tx.put_webhook_secret(&OrgSlug::parse("provider")?, "whsec_x", at)?;
        assert_eq!(
            tx.webhook_secret(&OrgSlug::parse("provider")?)?.as_deref(),
            Some("whsec_x")
        );
        assert_eq!(tx.webhook_secret_holders()?, [OrgSlug::parse("provider")?]);
        tx.commit()?;
    }
    Ok(())
}

#[test]
fn reports_history_submissions_and_advice_round_trip() -> TestResult {
    use schakel_domain::{IncidentCategory, ReportStatus};
    use schakel_store::{AdviceRow, ReportEventRow, ReportQuery, ReportRow, SubmissionRow};
    for b in backends()? {
        let t = |s: &str| s.parse::<Timestamp>();
        let report = |id: &str,
                      reporter: &str,
                      aware: &str|
         -> Result<ReportRow, Box<dyn std::error::Error>> {
            Ok(ReportRow {
                id: id.into(),
                reporter: OrgSlug::parse(reporter)?,
                aware_at: t(aware)?,
                category: IncidentCategory::Availability,
                title: format!("report {id}"),
                status: ReportStatus::New,
                content: serde_json::json!({"id": id}),
                triage: serde_json::json!({}),
                filed_at: t(aware)?,
                filed_by: "someone".into(),
                updated_at: t(aware)?,
            })
        };
        let mut tx = b.store.write()?;
        tx.put_report(&report("rpt_1", "hospital-a", "2026-07-01T10:00:00Z")?)?;
        tx.put_report(&report("rpt_2", "hospital-b", "2026-10-01T10:00:00Z")?)?;
        let mut third = report("rpt_3", "hospital-a", "2026-09-30T21:59:59Z")?;
        tx.put_report(&third)?;
        third.status = ReportStatus::Triaged;
        third.triage = serde_json::json!({"impact": "limited"});
        tx.put_report(&third)?;
        for action in ["filed", "triage"] {
            tx.insert_report_event(&ReportEventRow {
                report_id: "rpt_3".into(),
                at: t("2026-10-01T00:00:00Z")?,
                actor: "x".into(),
                action: action.into(),
                detail: serde_json::json!({}),
            })?;
        }
        let sub = SubmissionRow {
            report_id: "rpt_3".into(),
            regime: "cbw".into(),
            step: "early_warning".into(),
            submitted_at: t("2026-10-01T08:00:00Z")?,
            recorded_at: t("2026-10-01T09:00:00Z")?,
            recorded_by: "x".into(),
        };
        assert!(tx.insert_submission(&sub)?);
        assert!(!tx.insert_submission(&sub)?, "recorded twice");
        let advice = AdviceRow {
            id: "adv_1".into(),
            organisation: OrgSlug::parse("hospital-a")?,
            report_id: Some("rpt_3".into()),
            content: serde_json::json!({"title": "patch"}),
            follow_up: date("2026-10-15"),
            given_at: t("2026-10-01T09:00:00Z")?,
            given_by: "x".into(),
            confirmed_at: None,
            confirmed_by: None,
            confirmation: None,
            escalated_at: Some(t("2026-10-16T09:00:00Z")?),
            escalation_item: Some("itm_1".into()),
        };
        tx.put_advice(&advice)?;
        tx.commit()?;

        let mut tx = b.store.read()?;
        assert_eq!(tx.report("rpt_3")?, Some(third));
        assert_eq!(tx.report("rpt_9")?, None);
        let q3 = ReportQuery {
            aware_from: Some(t("2026-06-30T22:00:00Z")?),
            aware_before: Some(t("2026-09-30T22:00:00Z")?),
            limit: 10,
            ..ReportQuery::default()
        };
        let (found, total) = tx.find_reports(&q3)?;
        let ids: Vec<&str> = found.iter().map(|r| r.id.as_str()).collect();
        assert_eq!((ids, total), (vec!["rpt_3", "rpt_1"], 2));
        let (found, _) = tx.find_reports(&ReportQuery {
            reporter: Some(OrgSlug::parse("hospital-b")?),
            limit: 10,
            ..ReportQuery::default()
        })?;
        assert_eq!(found.len(), 1);
        let (found, _) = tx.find_reports(&ReportQuery {
            status: Some(ReportStatus::Triaged),
            limit: 10,
            ..ReportQuery::default()
        })?;
        assert_eq!(found.len(), 1);
        let actions: Vec<String> = tx
            .report_events("rpt_3")?
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(actions, ["filed", "triage"]);
        assert_eq!(tx.submissions("rpt_3")?, vec![sub]);
        assert_eq!(tx.advice("adv_1")?, Some(advice.clone()));
        assert_eq!(tx.all_advice()?, vec![advice]);
    }
    Ok(())
}

#[test]
fn standing_approvals_are_revoked_never_deleted_and_one_is_live_per_report() -> TestResult {
    use schakel_store::StandingApprovalRow;
    for b in backends()? {
        let at: Timestamp = "2026-11-22T10:00:00Z".parse()?;
        let approval = |by: &str| StandingApprovalRow {
            report: "scan_http".into(),
            approved_by: by.into(),
            approved_at: at,
            note: None,
            revoked_at: None,
            revoked_by: None,
        };
        let mut tx = b.store.write()?;
        tx.insert_standing_approval(&approval("lea"))?;
        assert!(matches!(
            tx.insert_standing_approval(&approval("ann")),
            Err(StoreError::Constraint(_))
        ));
        assert!(tx.revoke_standing_approval("scan_http", at, "lea")?);
        assert!(!tx.revoke_standing_approval("scan_http", at, "lea")?);
        tx.insert_standing_approval(&approval("ann"))?;
        tx.commit()?;
        let all = b.store.read()?.standing_approvals()?;
        let live: Vec<&str> = all
            .iter()
            .filter(|a| a.revoked_at.is_none())
            .map(|a| a.approved_by.as_str())
            .collect();
        assert_eq!((all.len(), live), (2, vec!["ann"]));
    }
    Ok(())
}

#[test]
fn feed_runs_keep_their_rows_per_organisation_and_their_messages() -> TestResult {
    use schakel_domain::{ItemKind, ItemStatus, Tlp};
    use schakel_store::{FeedInputRow, FeedMessageRow, FeedRowRow, FeedRunRow, ItemRow};
    for b in backends()? {
        let at: Timestamp = "2026-12-01T03:00:00Z".parse()?;
        let org = |s: &str| OrgSlug::parse(s).map_err(|e| e.0);
        let mut tx = b.store.write()?;
        // A message needs its run and its item.
        let message = FeedMessageRow {
            item_id: "itm_f".into(),
            run_id: "run_1".into(),
            recipient: org("z-cert")?,
            report: "scan_http".into(),
            tlp: Some(Tlp::Amber),
            organisations: vec![org("ziekenhuis-a")?, org("ziekenhuis-b")?],
            events: 3,
        };
        assert!(matches!(
            tx.insert_feed_message(&message),
            Err(StoreError::Constraint(_))
        ));
        tx.insert_feed_run(&FeedRunRow {
            id: "run_1".into(),
            run_by: "alice".into(),
            started_at: at,
            reports: vec!["scan_http".into()],
            rows: 4,
            rows_purged_at: None,
        })?;
        tx.insert_feed_input(&FeedInputRow {
            run_id: "run_1".into(),
            input: 0,
            path: "2026-12-01-scan_http-nl.csv".into(),
            columns: vec!["ip".into(), "port".into(), "x_unknown".into()],
        })?;
        for (event, who, tlp) in [
            (2, "ziekenhuis-a", Tlp::Amber),
            (0, "ziekenhuis-a", Tlp::Amber),
            (1, "ziekenhuis-b", Tlp::Amber),
            (3, "ziekenhuis-a", Tlp::Red),
        ] {
            tx.insert_feed_row(&FeedRowRow {
                run_id: "run_1".into(),
                report: "scan_http".into(),
                tlp: Some(tlp),
                organisation: org(who)?,
                event,
                input: 0,
                values: format!(r#"["192.0.2.{event}","80","kept"]"#),
            })?;
        }
        tx.put_item(&ItemRow {
            id: "itm_f".into(),
            version: 1,
            status: ItemStatus::Draft,
            kind: ItemKind::Vulnerability,
            title: "scan_http".into(),
            tlp: Tlp::Amber,
            created_at: at,
            created_by: "alice".into(),
            updated_at: at,
            retraction: None,
        })?;
        tx.insert_feed_message(&message)?;
        assert!(tx.update_feed_run_summary("run_1", &serde_json::json!({"rows": 5}))?);
        assert!(!tx.update_feed_run_summary("run_2", &serde_json::json!({}))?);
        tx.commit()?;

        let mut tx = b.store.read()?;
        let amber = Some(Tlp::Amber);
        let (rows, total) =
            tx.feed_rows("run_1", "scan_http", amber, &org("ziekenhuis-a")?, 1, 1)?;
        assert_eq!(total, 2);
        assert_eq!(
            rows.iter().map(|r| r.event).collect::<Vec<_>>(),
            vec![2],
            "input order, paged"
        );
        // Rows under another TLP are another message's.
        let (red, one) = tx.feed_rows(
            "run_1",
            "scan_http",
            Some(Tlp::Red),
            &org("ziekenhuis-a")?,
            10,
            0,
        )?;
        assert_eq!((red.len(), one), (1, 1));
        assert_eq!(red[0].tlp, Some(Tlp::Red));
        let (none, zero) =
            tx.feed_rows("run_1", "scan_ftp", amber, &org("ziekenhuis-a")?, 10, 0)?;
        assert!(none.is_empty() && zero == 0);
        assert_eq!(
            tx.feed_inputs("run_1")?.first().map(|i| i.columns.len()),
            Some(3)
        );
        assert_eq!(tx.feed_message("itm_f")?, Some(message.clone()));
        assert_eq!(tx.feed_message("itm_x")?, None);
        assert_eq!(tx.feed_messages("run_1")?, vec![message.clone()]);
        assert_eq!(
            tx.feed_messages_to(&org("z-cert")?, "scan_http", amber)?,
            vec![message]
        );
        assert!(
            tx.feed_messages_to(&org("z-cert")?, "scan_ftp", amber)?
                .is_empty()
        );
        assert!(
            tx.feed_messages_to(&org("z-cert")?, "scan_http", Some(Tlp::Red))?
                .is_empty()
        );
        let (runs, n) = tx.feed_runs(10, 0)?;
        assert_eq!(
            (n, runs.first().map(|r| (r.reports.clone(), r.rows))),
            (1, Some((vec!["scan_http".to_owned()], 4)))
        );
        assert_eq!(
            tx.feed_run_summary("run_1")?,
            Some(serde_json::json!({"rows": 5}))
        );
        // Where its messages stand: the item is a draft, nothing is being delivered.
        let progress = tx.feed_run_progress("run_1")?;
        assert_eq!(progress.by_status, vec![(ItemStatus::Draft, 1)]);
        assert_eq!(progress.undelivered, 0);
        assert_eq!(tx.feed_run_progress("run_9")?, Default::default());
        assert!(tx.feed_run("run_1")?.is_some() && tx.feed_run("run_9")?.is_none());
        drop(tx);
        // Retention: the rows and columns go, the run and its messages stay.
        let mut tx = b.store.write()?;
        assert_eq!(tx.purge_feed_rows("run_1", at)?, 4);
        tx.commit()?;
        let mut tx = b.store.read()?;
        assert_eq!(
            tx.feed_rows(
                "run_1",
                "scan_http",
                Some(Tlp::Amber),
                &org("ziekenhuis-a")?,
                10,
                0
            )?
            .1,
            0
        );
        assert!(tx.feed_inputs("run_1")?.is_empty());
        assert_eq!(
            tx.feed_run("run_1")?.and_then(|r| r.rows_purged_at),
            Some(at)
        );
        assert_eq!(tx.feed_messages("run_1")?.len(), 1);
    }
    Ok(())
}
