//! Invariants of every decision, over generated requests against the test registry:
//! adding a restriction's trigger never turns a deny into a permit; TLP:RED never reaches
//! a recipient that is not named; a permit always has a basis and a route.

mod common;

use common::{registry, slugs};
use std::sync::OnceLock;

use proptest::prelude::*;
use schakel_domain::{
    ConfidentialityMarker, Date, OrgSlug, Purpose, Registry, SourceRestriction, Tlp,
};
use schakel_rulebook::{
    DecideError, Decision, DecisionRequest, EffectiveDates, ItemFacts, RulebookSet,
};

const ORGS: &[&str] = &[
    "water",
    "energy-co",
    "ministry",
    "hospital-a",
    "hospital-b",
    "zcert",
    "party",
    "party-link",
    "soft",
    "soft-isac",
    "food",
    "old-isac",
    "retailer",
    "cert-nl",
    "cert-gb",
    "cert-us",
    "aivd",
    "rdi",
    "new-entity",
    "gone",
];
const DATES: &[(i16, i8, i8)] = &[
    (2018, 11, 9),
    (2020, 1, 31),
    (2020, 2, 1),
    (2022, 11, 30),
    (2022, 12, 1),
    (2025, 3, 1),
    (2026, 6, 30),
    (2026, 7, 1),
    (2026, 8, 14),
    (2026, 8, 15),
    (2027, 1, 1),
];

fn org() -> impl Strategy<Value = OrgSlug> {
    prop::sample::select(ORGS).prop_map(|s| slugs(&[s]).remove(0))
}

fn orgs() -> impl Strategy<Value = Vec<OrgSlug>> {
    prop::collection::vec(org(), 0..4)
}

fn request() -> impl Strategy<Value = DecisionRequest> {
    let item = (
        prop::sample::select(Tlp::ALL),
        orgs(),
        any::<bool>(),
        prop::collection::vec(prop::sample::select(ConfidentialityMarker::ALL), 0..2),
        orgs(),
        prop::sample::select(Purpose::ALL),
        (any::<bool>(), any::<bool>(), any::<bool>()),
        orgs(),
        prop::sample::select(SourceRestriction::ALL),
    )
        .prop_map(
            |(
                tlp,
                concerns,
                confidential,
                markers,
                consent,
                purpose,
                (serious, personal_data, national_security),
                named,
                source,
            )| ItemFacts {
                tlp,
                concerns,
                confidential,
                confidentiality_markers: markers,
                consent,
                purpose,
                serious,
                personal_data,
                national_security,
                named_recipients: named,
                source_restriction: source,
            },
        );
    (prop::sample::select(DATES), org(), item).prop_map(|((y, m, d), recipient, item)| {
        DecisionRequest {
            at: Date::constant(y, m, d),
            recipient,
            item,
        }
    })
}

fn fixture() -> Result<&'static (RulebookSet, Registry), TestCaseError> {
    static FIXTURE: OnceLock<Option<(RulebookSet, Registry)>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            Some((
                RulebookSet::defaults(EffectiveDates::default()).ok()?,
                registry().ok()?,
            ))
        })
        .as_ref()
        .ok_or_else(|| TestCaseError::fail("the rulebooks or the test registry did not load"))
}

/// The decision, or `None` for an ended recipient (an error by design: never a candidate).
fn decided(
    set: &RulebookSet,
    registry: &Registry,
    r: &DecisionRequest,
) -> Result<Option<Decision>, TestCaseError> {
    match set.decide(registry, r) {
        Ok(d) => Ok(Some(d)),
        Err(DecideError::EndedRecipient { .. }) => Ok(None),
        Err(e) => Err(TestCaseError::fail(e.to_string())),
    }
}

/// Every way of adding a restriction's trigger to a request.
fn with_triggers(r: &DecisionRequest) -> Vec<(&'static str, DecisionRequest)> {
    let mut out = Vec::new();
    let mut add = |name, change: &dyn Fn(&mut DecisionRequest)| {
        let mut changed = r.clone();
        change(&mut changed);
        out.push((name, changed));
    };
    add("confidential", &|c| c.item.confidential = true);
    add("marker", &|c| {
        c.item
            .confidentiality_markers
            .push(ConfidentialityMarker::UndisclosedVulnerability)
    });
    add("national security", &|c| c.item.national_security = true);
    add("no onward sharing", &|c| {
        c.item.source_restriction = SourceRestriction::NoOnwardSharing
    });
    add("consent withdrawn", &|c| c.item.consent.clear());
    add("named recipients dropped", &|c| {
        c.item.named_recipients.clear()
    });
    add("personal data", &|c| c.item.personal_data = true);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn a_permit_has_a_basis_and_a_route_and_red_reaches_only_the_named(r in request()) {
        let (set, registry) = fixture()?;
        let Some(d) = decided(set, registry, &r)? else { return Ok(()) };
        if d.permitted {
            prop_assert!(!d.bases.is_empty(), "a permit without a basis: {d:?}");
            prop_assert!(d.route.is_some());
            prop_assert!(d.reasons.is_empty());
            if r.item.tlp == Tlp::Red {
                prop_assert!(r.item.named_recipients.contains(&r.recipient), "TLP:RED to someone not named: {d:?}");
            }
        } else {
            prop_assert!(!d.reasons.is_empty(), "a deny without a reason: {d:?}");
        }
    }

    #[test]
    fn adding_a_restrictions_trigger_never_turns_a_deny_into_a_permit(r in request()) {
        let (set, registry) = fixture()?;
        let Some(before) = decided(set, registry, &r)? else { return Ok(()) };
        if !before.permitted {
            for (name, changed) in with_triggers(&r) {
                let after = set.decide(registry, &changed).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert!(!after.permitted, "adding `{name}` turned a deny into a permit: {r:?}");
            }
        }
    }
}
