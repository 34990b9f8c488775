//! A rulebook that fails validation is refused with file, line and reason.

use schakel_domain::Date;
use schakel_rulebook::defaults::{SCHEMA, WBNI_2022};
use schakel_rulebook::{EffectiveDates, RulebookError, RulebookSet, RulebookSource};

fn load(text: &str) -> Result<RulebookSet, RulebookError> {
    RulebookSet::load(
        "schema.cedarschema",
        SCHEMA,
        vec![RulebookSource {
            id: "amended".into(),
            file: "amended.cedar".into(),
            text: text.into(),
            from: Date::constant(2018, 11, 9),
        }],
        EffectiveDates::default(),
    )
}

fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.find(needle)
        .map(|o| text[..o].matches('\n').count() + 1)
}

#[test]
fn the_shipped_rulebooks_load() -> Result<(), RulebookError> {
    let set = RulebookSet::defaults(EffectiveDates::default())?;
    let ids: Vec<&str> = set.rulebooks().iter().map(|b| b.id()).collect();
    assert_eq!(ids, ["wbni-2018", "wbni-2022", "cbw-2026"]);
    assert_eq!(
        set.rulebooks()[1].until(),
        Some(Date::constant(2026, 8, 14))
    );
    assert_eq!(
        set.rulebooks()[0].until(),
        Some(Date::constant(2022, 11, 30))
    );
    Ok(())
}

#[test]
fn a_misspelt_fact_is_refused_at_its_line() {
    let text = WBNI_2022.replace(
        "context.recipient.serves_others\n};",
        "context.recipient.serve_others\n};",
    );
    let err = load(&text).err();
    let err = err.as_ref().map(ToString::to_string).unwrap_or_default();
    assert!(err.starts_with("amended.cedar:"), "{err}");
    assert!(err.contains("serve_others"), "{err}");
    let line = line_of(&text, "serve_others").unwrap_or(0);
    assert!(
        err.starts_with(&format!("amended.cedar:{line}:")),
        "expected line {line}: {err}"
    );
}

#[test]
fn syntax_errors_and_missing_metadata_are_refused_with_a_line() {
    let text = WBNI_2022.replace(
        "when { context.item.source_restriction == \"no_onward_sharing\" };",
        "when { context.item.source_restriction == };",
    );
    let err = load(&text).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        err.starts_with("amended.cedar:") && err.contains("not a valid Cedar policy file"),
        "{err}"
    );
    assert!(load(&text).err().and_then(|e| e.line).is_some());

    let text = WBNI_2022.replace("@citation(\"Wbni art. 3 lid 1\")\n", "");
    let err = load(&text).err().map(|e| e.to_string()).unwrap_or_default();
    let line = line_of(&text, "@id(\"W1\")").unwrap_or(0);
    assert_eq!(
        err,
        format!("amended.cedar:{line}: `W1` is a basis and needs a @citation")
    );

    let text = WBNI_2022.replace(
        "@remedy(\"secrecy_guarantee\")",
        "@remedy(\"secrecy_guarante\")",
    );
    assert!(
        load(&text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
            .contains("unknown remedy `secrecy_guarante`")
    );
    let text = WBNI_2022.replace(
        "@kind(\"basis\")\n@citation(\"Wbni art. 3 lid 1\")",
        "@kind(\"basis\")\n@citaton(\"Wbni art. 3 lid 1\")",
    );
    assert!(
        load(&text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
            .contains("unknown annotation @citaton")
    );
    let text = WBNI_2022.replace(
        "@id(\"R5\")\n@kind(\"restriction\")",
        "@id(\"R5\")\n@kind(\"basis\")",
    );
    assert!(
        load(&text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
            .contains("must be written as `permit`")
    );
    let text = WBNI_2022.replace("@id(\"W3\")", "@id(\"W2\")");
    assert!(
        load(&text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
            .contains("used twice")
    );
}

#[test]
fn an_amendment_changes_the_hash() -> Result<(), RulebookError> {
    let original = load(WBNI_2022)?;
    let amended = load(&WBNI_2022.replace("(?)\")", "(to be confirmed)\")"))?;
    assert_ne!(
        original.rulebooks()[0].hash(),
        amended.rulebooks()[0].hash()
    );
    assert_eq!(
        original.rulebooks()[0].hash(),
        load(WBNI_2022)?.rulebooks()[0].hash()
    );
    Ok(())
}

#[test]
fn a_doubtful_citation_is_a_flag_on_the_rule_not_text() -> Result<(), RulebookError> {
    let set = RulebookSet::defaults(EffectiveDates::default())?;
    let cbw = &set.rulebooks()[2];
    let rule = |id: &str| cbw.rules().iter().find(|r| &*r.policy_id == id);
    let c1 = rule("C1").map(|r| (r.citation.as_deref(), r.citation_uncertain));
    assert_eq!(c1, Some((Some("Cbw art. 16 lid 2"), true)));
    // No rule of any shipped rulebook carries the marker as text.
    for book in set.rulebooks() {
        for r in book.rules() {
            assert!(
                !r.citation.as_deref().unwrap_or("").contains("(?)"),
                "{} {}",
                book.id(),
                r.policy_id
            );
        }
    }
    // A legal officer who confirms a citation removes the marker, and the flag goes.
    let confirmed = load(&WBNI_2022.replace(" (?)\")", "\")"))?;
    assert!(
        confirmed.rulebooks()[0]
            .rules()
            .iter()
            .all(|r| !r.citation_uncertain)
    );
    let doubtful = load(WBNI_2022)?;
    assert!(
        doubtful.rulebooks()[0]
            .rules()
            .iter()
            .any(|r| r.citation_uncertain)
    );
    Ok(())
}

#[test]
fn the_doubt_marker_is_taken_out_wherever_it_stands() {
    use schakel_rulebook::split_citation;
    assert_eq!(
        split_citation("Cbw art. 30 (?); NIS2 art. 23"),
        ("Cbw art. 30; NIS2 art. 23".to_owned(), true)
    );
    assert_eq!(
        split_citation("Cbw art. 16 lid 2, \"other relevant parties\" (?)"),
        (
            "Cbw art. 16 lid 2, \"other relevant parties\"".to_owned(),
            true
        )
    );
    assert_eq!(
        split_citation(" Wbni art. 20 "),
        ("Wbni art. 20".to_owned(), false)
    );
}

#[test]
fn a_citation_that_is_only_doubt_is_refused() {
    let text = WBNI_2022.replacen("@citation(\"Wbni art. 20 (?)\")", "@citation(\" (?) \")", 1);
    assert_ne!(text, WBNI_2022);
    let err = load(&text).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        err.starts_with(&format!(
            "amended.cedar:{}:",
            line_of(&text, "@id(\"W6\")").unwrap_or_default()
        )) && err.contains("`W6` has an empty @citation"),
        "{err}"
    );
}
