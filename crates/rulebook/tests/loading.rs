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
