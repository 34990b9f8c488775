//! `schakel rulebook check`: what it reports for the shipped rulebooks, and that it finds
//! the defects an amendment can bring.

use schakel_domain::Date;
use schakel_rulebook::defaults::{CBW_2026, SCHEMA};
use schakel_rulebook::{
    CheckReport, EffectiveDates, RulebookSet, RulebookSource, Unshareable, check,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn one(text: &str) -> Result<RulebookSet, Box<dyn std::error::Error>> {
    Ok(RulebookSet::load(
        "schema.cedarschema",
        SCHEMA,
        vec![RulebookSource {
            id: "amended".into(),
            file: "amended.cedar".into(),
            text: text.into(),
            from: Date::constant(2018, 11, 9),
        }],
        EffectiveDates::default(),
    )?)
}

fn check_one(text: &str) -> Result<CheckReport, Box<dyn std::error::Error>> {
    let set = one(text)?;
    let book = set.rulebooks().first().ok_or("no rulebook")?;
    Ok(check(book)?)
}

/// A policy with the metadata every policy needs.
fn policy(id: &str, kind: &str, effect: &str, condition: &str) -> String {
    format!(
        "\n@id(\"{id}\")\n@kind(\"{kind}\")\n@citation(\"test\")\n@explanation(\"{id}\")\n@explanation_nl(\"{id}\")\n{effect} (principal, action, resource)\nwhen {{ {condition} }};\n"
    )
}

fn pattern(u: &Unshareable) -> Vec<(String, Vec<String>)> {
    u.pattern
        .iter()
        .map(|f| (f.fact.to_owned(), f.values.clone()))
        .collect()
}

fn owned(pairs: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    pairs
        .iter()
        .map(|(f, vs)| {
            (
                (*f).to_owned(),
                vs.iter().map(|v| (*v).to_owned()).collect(),
            )
        })
        .collect()
}

fn ids<'a>(it: impl Iterator<Item = &'a schakel_rulebook::RuleCount>) -> Vec<String> {
    it.map(|r| r.policy_id.to_string()).collect()
}

#[test]
fn the_shipped_rulebooks_have_no_dead_rules_and_two_kinds_of_unshareable_item() -> TestResult {
    let set = RulebookSet::defaults(EffectiveDates::default())?;
    for book in set.rulebooks() {
        let report = check(book)?;
        assert!(!report.has_findings(), "{}: {report:?}", book.id());
        assert!(report.combinations > 1_000_000, "{}", report.combinations);
        assert!(report.cross_checked >= 400, "{}", report.cross_checked);
        let found: Vec<_> = report
            .unshareable
            .iter()
            .map(|u| {
                (
                    pattern(u),
                    u.always.iter().map(ToString::to_string).collect::<Vec<_>>(),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                (
                    owned(&[("source_restriction", &["no_onward_sharing"])]),
                    vec!["R4-no-onward-sharing".to_owned()]
                ),
                (
                    owned(&[
                        ("source_restriction", &["victims_only"]),
                        ("concerns", &["nobody"])
                    ]),
                    vec!["R4-victims-only".to_owned()]
                ),
            ],
            "{}",
            book.id()
        );
        // TLP:GREEN and AMBER are alike in every rulebook; RED is not.
        let tlp = report.classes.iter().find(|c| c.fact == "item.tlp");
        assert_eq!(
            tlp.map(|c| c.classes.clone()),
            Some(vec![
                vec!["CLEAR".to_owned()],
                vec!["GREEN".to_owned(), "AMBER".to_owned()],
                vec!["AMBER+STRICT".to_owned()],
                vec!["RED".to_owned()]
            ])
        );
    }
    // Under the Cbw, entities are alike and so are linking organisations and crisis teams.
    let cbw = set.rulebooks().last().ok_or("cbw")?;
    let report = check(cbw)?;
    let statuses = report
        .classes
        .iter()
        .find(|c| c.fact == "recipient.statuses")
        .ok_or("statuses")?;
    for group in [
        vec!["linking_organisation", "crisis_team"],
        vec!["essential_entity", "important_entity"],
    ] {
        assert!(
            statuses.classes.iter().any(|c| *c == group),
            "{:?}",
            statuses.classes
        );
    }
    Ok(())
}

#[test]
fn an_amendment_with_dead_blocked_and_redundant_rules_is_reported() -> TestResult {
    let mut text = CBW_2026.to_owned();
    text.push_str(&policy(
        "X-dead",
        "basis",
        "permit",
        r#"context.item.tlp == "RED" && context.item.tlp == "CLEAR""#,
    ));
    text.push_str(&policy(
        "X-blocked",
        "basis",
        "permit",
        r#"context.item.source_restriction == "no_onward_sharing""#,
    ));
    text.push_str(&policy(
        "X-shadowed",
        "restriction",
        "forbid",
        r#"context.item.national_security && context.item.personal_data && !context.recipient.statuses.contains("intelligence_service")"#,
    ));
    text.push_str(&policy(
        "X-serious",
        "restriction",
        "forbid",
        "context.item.serious",
    ));
    let report = check_one(&text)?;
    assert_eq!(ids(report.never_fire()), ["X-dead"]);
    assert_eq!(ids(report.never_permit()), ["X-blocked"]);
    assert_eq!(ids(report.never_decisive()), ["X-shadowed"]);
    assert!(report.has_findings());
    let serious = report
        .unshareable
        .iter()
        .find(|u| pattern(u) == owned(&[("serious", &["true"])]))
        .ok_or_else(|| format!("{:?}", report.unshareable))?;
    assert_eq!(serious.always.len(), 1);
    assert_eq!(&*serious.always[0], "X-serious");
    Ok(())
}

#[test]
fn items_no_basis_covers_are_reported_as_such() -> TestResult {
    let text = policy(
        "only-prevention",
        "basis",
        "permit",
        r#"context.item.purpose == "prevent_disruption""#,
    );
    let report = check_one(&text)?;
    assert!(!report.has_findings(), "{report:?}");
    assert_eq!(report.unshareable.len(), 1, "{:?}", report.unshareable);
    let u = &report.unshareable[0];
    assert!(u.no_basis && u.always.is_empty());
    assert_eq!(pattern(u), owned(&[("purpose", &["escalation", "other"])]));
    // It tells apart only prevention from the rest, so the space is that fact's two
    // classes times the ways a recipient can relate to an item: concerning nobody (one),
    // or somebody with or without others (the route depends on it).
    assert_eq!(report.combinations, 6);
    Ok(())
}

#[test]
fn a_policy_reading_too_many_facts_at_once_is_named() -> TestResult {
    let text = policy(
        "wide",
        "basis",
        "permit",
        "context.recipient == context.recipient && context.item.serious",
    );
    let set = one(&text)?;
    let book = set.rulebooks().first().ok_or("no rulebook")?;
    let err = check(book).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        err.contains("`wide`") && err.contains("split the policy"),
        "{err}"
    );
    Ok(())
}
