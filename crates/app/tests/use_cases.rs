//! The registry and token use cases against a real SQLite file.

use std::sync::Arc;

use jiff::Timestamp;
use schakel_app::{App, AppError, Clock, DEMO_REGISTRY, ImportOptions, TokenKind, TokenRequest};
use schakel_domain::{Principal, Role, SectorVocabulary, parse_date};
use schakel_rulebook::{EffectiveDates, RulebookSet};
use schakel_store::{OrganisationQuery, SqliteStore};

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct TestApp {
    app: App,
    admin: Principal,
    _dir: tempfile::TempDir,
}

fn app_at(now: &str) -> Result<TestApp, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(&dir.path().join("t.db"), SectorVocabulary::default())?;
    let app = App::new(
        Arc::new(store),
        SectorVocabulary::default(),
        Arc::new(RulebookSet::defaults(EffectiveDates::default())?),
        Clock::fixed(now.parse::<Timestamp>()?),
    );
    Ok(TestApp {
        app,
        admin: App::installation(),
        _dir: dir,
    })
}

fn problems(e: &AppError) -> Vec<String> {
    match e {
        AppError::Invalid { problems, .. } => problems.iter().map(ToString::to_string).collect(),
        other => vec![format!("not invalid: {other}")],
    }
}

fn entry(slug: &str, extra: &str) -> String {
    format!(
        r#"{{"slug": "{slug}", "name": "Org {slug}", "sectors": ["health"], "jurisdiction": "NL",
            "designations": [{{"status": "other_provider", "from": "2018-11-09", "until": null}}],
            "secrecy": null, "contacts": []{extra}}}"#
    )
}

#[test]
fn the_demo_constituency_loads_and_loading_it_again_changes_nothing() -> TestResult {
    let t = app_at("2026-11-22T10:00:00Z")?;
    let first = t.app.load_demo(&t.admin)?;
    assert!(first.created.len() >= 20, "{first:?}");
    let audit_after_first = t.app.history(&t.admin, "z-cert")?.len();
    let second = t.app.load_demo(&t.admin)?;
    assert!(
        second.created.is_empty() && second.updated.is_empty(),
        "{second:?}"
    );
    assert_eq!(second.unchanged.len(), first.created.len());
    assert_eq!(t.app.history(&t.admin, "z-cert")?.len(), audit_after_first);
    // The export round-trips exactly: a fresh registry imported from it exports the same.
    let exported = t.app.export_registry(&t.admin)?;
    let u = app_at("2026-11-22T10:00:00Z")?;
    u.app
        .import_registry(&u.admin, exported.as_bytes(), ImportOptions::default())?;
    assert_eq!(u.app.export_registry(&u.admin)?, exported);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&exported)?,
        serde_json::from_str::<serde_json::Value>(DEMO_REGISTRY)?
    );
    Ok(())
}

#[test]
fn a_bad_import_writes_nothing_and_names_every_problem() -> TestResult {
    let t = app_at("2026-11-22T10:00:00Z")?;
    let good = entry("good-one", r#", "prefixes": ["192.0.2.0/24"]"#);
    let clash = entry("clash", r#", "prefixes": ["192.0.2.0/24"]"#);
    let dangling = entry("dangling", "")
        .replace(
            r#""secrecy": null"#,
            r#""secrecy": null, "serves": {"organisations": ["ghost"]}"#,
        )
        .replace(
            r#""status": "other_provider""#,
            r#""status": "linking_organisation""#,
        );
    let typo = entry("typo", r#", "sectorz": ["health"]"#);
    let file = format!("[{good}, {clash}, {dangling}, {typo}, {good}]");
    let err = t
        .app
        .import_registry(&t.admin, file.as_bytes(), ImportOptions::default())
        .err()
        .ok_or("a bad file was accepted")?;
    let p = problems(&err);
    assert!(
        p.iter()
            .any(|m| m.starts_with("entry 3 (`typo`)") && m.contains("unknown field `sectorz`")),
        "{p:#?}"
    );
    assert_eq!(
        p.len(),
        1,
        "entry errors stop before registry checks: {p:#?}"
    );

    let file = format!("[{good}, {clash}, {dangling}, {good}]");
    let err = t
        .app
        .import_registry(&t.admin, file.as_bytes(), ImportOptions::default())
        .err()
        .ok_or("a bad file was accepted")?;
    let p = problems(&err);
    assert!(
        p.iter().any(|m| m.starts_with(
            "entry 0 (`good-one`), field `prefixes[0]`: `192.0.2.0/24` is also held by `clash`"
        )),
        "{p:#?}"
    );
    assert!(
        p.iter()
            .any(|m| m.starts_with("entry 1 (`clash`), field `prefixes[0]`")),
        "{p:#?}"
    );
    assert!(
        p.iter()
            .any(|m| m.contains("entry 2 (`dangling`)") && m.contains("serves")),
        "{p:#?}"
    );
    assert!(
        p.iter()
            .any(|m| m.starts_with("entry 3 (`good-one`), field `slug`")
                && m.contains("more than once")),
        "{p:#?}"
    );
    // Nothing was written: no organisation, no history.
    let page = t
        .app
        .list_organisations(&t.admin, query("2026-11-22", true)?)?;
    assert_eq!(page.total, 0);
    assert!(matches!(
        t.app.history(&t.admin, "good-one"),
        Err(AppError::NotFound(_))
    ));
    Ok(())
}

fn query(on: &str, include_ended: bool) -> Result<OrganisationQuery, Box<dyn std::error::Error>> {
    Ok(OrganisationQuery {
        sector: None,
        status: None,
        only: None,
        on: parse_date(on)?,
        include_ended,
        offset: 0,
        limit: 1000,
    })
}

#[test]
fn prune_ends_the_absent_and_an_ended_slug_is_never_revived() -> TestResult {
    let t = app_at("2026-11-22T10:00:00Z")?;
    let both = format!("[{}, {}]", entry("stays", ""), entry("goes", ""));
    t.app
        .import_registry(&t.admin, both.as_bytes(), ImportOptions::default())?;
    let one = format!("[{}]", entry("stays", ""));
    let report = t
        .app
        .import_registry(&t.admin, one.as_bytes(), ImportOptions { prune: true })?;
    assert_eq!(report.ended, ["goes"]);
    assert_eq!(report.unchanged, ["stays"]);
    let goes = t.app.organisation(&t.admin, "goes")?;
    assert_eq!(goes.ended(), Some(parse_date("2026-11-22")?));
    // Still in the registry and its export, not among the active.
    assert_eq!(
        t.app
            .list_organisations(&t.admin, query("2026-11-22", false)?)?
            .total,
        1
    );
    assert_eq!(
        t.app
            .list_organisations(&t.admin, query("2026-11-22", true)?)?
            .total,
        2
    );
    assert!(t.app.export_registry(&t.admin)?.contains("\"goes\""));
    let history = t.app.history(&t.admin, "goes")?;
    assert_eq!(
        history.last().map(|h| h.action.as_str()),
        Some("organisation.end")
    );
    assert_eq!(
        history.last().map(|h| h.actor.as_str()),
        Some("installation")
    );
    // Importing it again without `ended` would reuse the slug: refused.
    let revive = format!("[{}]", entry("goes", ""));
    let err = t
        .app
        .import_registry(&t.admin, revive.as_bytes(), ImportOptions::default())
        .err()
        .ok_or("revived")?;
    assert!(
        problems(&err)[0].contains("never reused"),
        "{:?}",
        problems(&err)
    );
    Ok(())
}

#[test]
fn single_organisation_create_update_end() -> TestResult {
    let t = app_at("2026-11-22T10:00:00Z")?;
    let record: serde_json::Value = serde_json::from_str(&entry("solo", ""))?;
    t.app.create_organisation(&t.admin, record.clone())?;
    assert!(matches!(
        t.app.create_organisation(&t.admin, record.clone()),
        Err(AppError::Conflict(_))
    ));
    let mut changed = record.clone();
    changed["name"] = "Solo B.V.".into();
    t.app
        .update_organisation(&t.admin, Some("solo"), changed.clone())?;
    let err = t
        .app
        .update_organisation(&t.admin, Some("other"), changed)
        .err()
        .ok_or("accepted")?;
    assert!(
        problems(&err)[0].contains("field `slug`"),
        "{:?}",
        problems(&err)
    );
    let ended = t
        .app
        .end_organisation(&t.admin, "solo", Some(parse_date("2026-12-01")?))?;
    assert_eq!(ended.ended(), Some(parse_date("2026-12-01")?));
    let actions: Vec<String> = t
        .app
        .history(&t.admin, "solo")?
        .into_iter()
        .map(|h| h.action)
        .collect();
    assert_eq!(
        actions,
        [
            "organisation.create",
            "organisation.update",
            "organisation.end"
        ]
    );
    let fields: Vec<String> = t.app.history(&t.admin, "solo")?[1]
        .changes
        .iter()
        .map(|c| c.field.clone())
        .collect();
    assert_eq!(fields, ["name"]);
    Ok(())
}

#[test]
fn owner_is_the_longest_prefix_of_an_organisation_not_ended() -> TestResult {
    let t = app_at("2026-11-22T10:00:00Z")?;
    t.app.load_demo(&t.admin)?;
    let owner = |ip: &str, on: Option<&str>| -> Result<String, Box<dyn std::error::Error>> {
        let on = on.map(parse_date).transpose()?;
        Ok(t.app
            .owner(&t.admin, ip, on)?
            .organisation
            .slug()
            .to_string())
    };
    assert_eq!(owner("192.0.2.70", None)?, "netbeheer-noord");
    assert_eq!(owner("192.0.2.100", None)?, "slimme-meters-noord");
    assert_eq!(owner("2001:db8:200:f123::1", None)?, "slimme-meters-noord");
    assert_eq!(owner("2001:db8:200:1::1", None)?, "netbeheer-noord");
    // An ended organisation owns nothing from its end date; before it, its nested /28 wins.
    assert_eq!(
        owner("192.0.2.113", Some("2023-12-31"))?,
        "oude-netbeheerder"
    );
    assert_eq!(owner("192.0.2.113", Some("2024-01-01"))?, "netbeheer-noord");
    assert!(matches!(
        t.app.owner(&t.admin, "192.0.2.300", None),
        Err(AppError::Invalid { .. })
    ));
    assert!(matches!(
        t.app.owner(&t.admin, "10.0.0.1", None),
        Err(AppError::NotFound(_))
    ));
    Ok(())
}

#[test]
fn tokens_authenticate_until_revoked_or_expired() -> TestResult {
    let t = app_at("2026-11-22T10:00:00Z")?;
    t.app.load_demo(&t.admin)?;
    let staff = t.app.create_token(
        &t.admin,
        TokenRequest {
            kind: TokenKind::Staff {
                role: Role::Analyst,
                name: "Alice".into(),
            },
            expires: Some(parse_date("2026-11-30")?),
        },
    )?;
    assert!(staff.secret.starts_with("skl_"));
    let who = t.app.authenticate(&staff.secret)?;
    assert_eq!((who.name.as_str(), who.role), ("Alice", Role::Analyst));
    assert!(t.app.authenticate("skl_0000").is_err());
    assert!(t.app.authenticate("Bearer nonsense").is_err());

    // The token works through 30 Nov in Amsterdam, not a second longer.
    let later = App::new(
        Arc::new(SqliteStore::open(
            &t._dir.path().join("t.db"),
            SectorVocabulary::default(),
        )?),
        SectorVocabulary::default(),
        Arc::new(RulebookSet::defaults(EffectiveDates::default())?),
        Clock::fixed("2026-11-30T22:59:59Z".parse()?),
    );
    assert!(later.authenticate(&staff.secret).is_ok());
    let expired = App::new(
        Arc::new(SqliteStore::open(
            &t._dir.path().join("t.db"),
            SectorVocabulary::default(),
        )?),
        SectorVocabulary::default(),
        Arc::new(RulebookSet::defaults(EffectiveDates::default())?),
        Clock::fixed("2026-11-30T23:00:00Z".parse()?),
    );
    assert!(
        matches!(expired.authenticate(&staff.secret), Err(AppError::Unauthenticated(m)) if m.contains("expired"))
    );

    let recipient = t.app.create_token(
        &t.admin,
        TokenRequest {
            kind: TokenKind::Recipient {
                organisation: "z-cert".into(),
                label: None,
            },
            expires: None,
        },
    )?;
    let z = t.app.authenticate(&recipient.secret)?;
    assert_eq!(z.organisation.as_ref().map(|o| o.as_str()), Some("z-cert"));
    // A recipient sees only its own organisation.
    assert!(t.app.organisation(&z, "z-cert").is_ok());
    assert!(matches!(
        t.app.organisation(&z, "hospital-south"),
        Err(AppError::Forbidden(_))
    ));
    let page = t.app.list_organisations(&z, query("2026-11-22", true)?)?;
    assert_eq!(page.total, 1);
    assert!(matches!(
        t.app.owner(&z, "192.0.2.1", None),
        Err(AppError::Forbidden(_))
    ));
    assert!(matches!(
        t.app.history(&z, "z-cert"),
        Err(AppError::Forbidden(_))
    ));
    // An analyst reads but does not write the registry.
    assert!(matches!(
        t.app.end_organisation(&who, "z-cert", None),
        Err(AppError::Forbidden(_))
    ));

    t.app.revoke_token(&t.admin, &staff.record.id)?;
    assert!(
        matches!(t.app.authenticate(&staff.secret), Err(AppError::Unauthenticated(m)) if m.contains("revoked"))
    );
    // Secrets are never stored: the database file does not contain one.
    let bytes = std::fs::read(t._dir.path().join("t.db"))?;
    let wal = std::fs::read(t._dir.path().join("t.db-wal")).unwrap_or_default();
    for secret in [&staff.secret, &recipient.secret] {
        let needle = secret.as_bytes();
        assert!(!bytes.windows(needle.len()).any(|w| w == needle));
        assert!(!wal.windows(needle.len()).any(|w| w == needle));
    }
    // Bad requests name the field.
    let err = t.app.create_token(
        &t.admin,
        TokenRequest {
            kind: TokenKind::Staff {
                role: Role::Legal,
                name: " ".into(),
            },
            expires: None,
        },
    );
    assert!(matches!(err, Err(AppError::Invalid { .. })));
    let err = t.app.create_token(
        &t.admin,
        TokenRequest {
            kind: TokenKind::Recipient {
                organisation: "oude-netbeheerder".into(),
                label: None,
            },
            expires: None,
        },
    );
    assert!(matches!(err, Err(AppError::Conflict(_))));
    Ok(())
}

#[test]
fn adopting_and_amending_rulebooks_is_recorded_once() -> TestResult {
    let t = app_at("2026-11-22T10:00:00Z")?;
    assert_eq!(
        t.app.record_rulebooks(&t.admin)?,
        ["wbni-2018", "wbni-2022", "cbw-2026"]
    );
    assert!(
        t.app.record_rulebooks(&t.admin)?.is_empty(),
        "an unchanged rulebook is not recorded again"
    );
    // The same database opened with an amended cbw-2026 records the amendment with both hashes.
    use schakel_rulebook::RulebookSource;
    use schakel_rulebook::defaults::{CBW_2026, SCHEMA, WBNI_2018, WBNI_2022};
    let dates = EffectiveDates::default();
    let source = |id: &str, text: String, from| RulebookSource {
        id: id.into(),
        file: format!("{id}.cedar"),
        text,
        from,
    };
    let amended = RulebookSet::load(
        "schema.cedarschema",
        SCHEMA,
        vec![
            source("wbni-2018", WBNI_2018.into(), dates.wbni_2018),
            source("wbni-2022", WBNI_2022.into(), dates.wbni_2022),
            source(
                "cbw-2026",
                CBW_2026.replace("Cbw art. 96 (?)", "Cbw art. 96"),
                dates.cbw,
            ),
        ],
        dates,
    )?;
    let old_hash = t.app.rulebooks().rulebooks()[2].hash().to_owned();
    let new_hash = amended.rulebooks()[2].hash().to_owned();
    let reopened = App::new(
        Arc::new(SqliteStore::open(
            &t._dir.path().join("t.db"),
            SectorVocabulary::default(),
        )?),
        SectorVocabulary::default(),
        Arc::new(amended),
        Clock::fixed("2026-11-23T10:00:00Z".parse()?),
    );
    let legal = App::installation();
    assert_eq!(reopened.record_rulebooks(&legal)?, ["cbw-2026"]);
    let store = SqliteStore::open(&t._dir.path().join("t.db"), SectorVocabulary::default())?;
    let log = schakel_store::Store::read(&store)?.audit_entries("rulebook:cbw-2026")?;
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].entry.action, "rulebook.amend");
    assert_eq!(log[1].entry.actor, "installation");
    assert_eq!(
        log[1]
            .entry
            .before
            .as_ref()
            .and_then(|b| b["hash"].as_str()),
        Some(old_hash.as_str())
    );
    assert_eq!(
        log[1].entry.after.as_ref().and_then(|a| a["hash"].as_str()),
        Some(new_hash.as_str())
    );
    Ok(())
}
