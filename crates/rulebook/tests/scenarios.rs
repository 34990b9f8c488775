//! The rulebook scenario suite: one table of cases through one `check` helper, covering
//! every rule and restriction, the boundary dates, combined restrictions, and linking
//! organisations serving by sector and by membership.

mod common;

use common::{registry, slugs};
use schakel_domain::{
    ConfidentialityMarker, Date, OrgSlug, Purpose, Registry, SourceRestriction, Tlp, parse_date,
};
use schakel_rulebook::{
    DecideError, Decision, DecisionRequest, EffectiveDates, ItemFacts, RulebookSet,
};

/// An item: TLP, then what it concerns, then changes to the defaults.
fn item(tlp: Tlp, concerns: &[&str], change: impl FnOnce(&mut ItemFacts)) -> ItemFacts {
    let mut item = ItemFacts::with_tlp(tlp);
    item.concerns = slugs(concerns);
    change(&mut item);
    item
}

fn plain(_: &mut ItemFacts) {}

/// A decision in one line: `permit W4 via [secrecy]` or `deny R1(secrecy_guarantee) R2`.
fn summary(d: &Decision) -> String {
    if d.permitted {
        let bases: Vec<&str> = d.bases.iter().map(|b| &*b.rule).collect();
        let mut s = format!("permit {}", bases.join("+"));
        if d.route.as_ref().is_some_and(|r| r.via.is_some()) {
            s.push_str(" via");
        }
        if !d.conditions.is_empty() {
            s.push_str(&format!(" [{}]", d.conditions.join(" ")));
        }
        s
    } else {
        let reasons: Vec<String> = d
            .reasons
            .iter()
            .map(|r| match &r.remedy {
                Some(m) => format!("{}({})", r.rule.rule, m.kind),
                None => r.rule.rule.to_string(),
            })
            .collect();
        format!("deny {}", reasons.join(" "))
    }
}

fn date(s: &str) -> Date {
    parse_date(s).unwrap_or_default()
}

const WBNI18: &str = "2020-06-01";
const WBNI22: &str = "2025-03-01";
const CBW: &str = "2026-09-01";

struct Case {
    name: &'static str,
    at: &'static str,
    recipient: &'static str,
    item: ItemFacts,
    expect: &'static str,
}

fn case(
    name: &'static str,
    at: &'static str,
    recipient: &'static str,
    item: ItemFacts,
    expect: &'static str,
) -> Case {
    Case {
        name,
        at,
        recipient,
        item,
        expect,
    }
}

fn check(set: &RulebookSet, registry: &Registry, c: &Case) -> Result<(), String> {
    let request = DecisionRequest {
        at: date(c.at),
        recipient: OrgSlug::parse(c.recipient).map_err(|e| e.to_string())?,
        item: c.item.clone(),
    };
    let decision = set
        .decide(registry, &request)
        .map_err(|e| format!("{}: {e}", c.name))?;
    let got = summary(&decision);
    // Invariants of every decision.
    if decision.permitted
        && (decision.bases.is_empty() || decision.route.is_none() || !decision.reasons.is_empty())
    {
        return Err(format!(
            "{}: a permit needs a basis and a route and has no reasons: {decision:?}",
            c.name
        ));
    }
    if !decision.permitted && (decision.reasons.is_empty() || decision.route.is_some()) {
        return Err(format!(
            "{}: a deny has reasons and no route: {decision:?}",
            c.name
        ));
    }
    if got == c.expect {
        Ok(())
    } else {
        Err(format!(
            "{} ({} → {}): expected `{}`, got `{got}`",
            c.name, c.at, c.recipient, c.expect
        ))
    }
}

#[test]
fn scenarios() -> Result<(), Box<dyn std::error::Error>> {
    use ConfidentialityMarker::SpecificSystems;
    use Tlp::{Amber, AmberStrict, Clear, Green, Red};
    let set = RulebookSet::defaults(EffectiveDates::default())?;
    let registry = registry()?;
    let cases = vec![
        // Target group (W1) and public information (W0).
        case(
            "vital provider about itself",
            WBNI22,
            "water",
            item(Amber, &["water"], plain),
            "permit W1",
        ),
        case(
            "central government, general item",
            WBNI22,
            "ministry",
            item(Green, &[], plain),
            "permit W1",
        ),
        case(
            "public advice to anyone",
            WBNI22,
            "food",
            item(Clear, &[], plain),
            "permit W0",
        ),
        case(
            "public advice with personal data is not public",
            WBNI22,
            "food",
            item(Clear, &[], |i| i.personal_data = true),
            "deny no_basis",
        ),
        // Special case (W5) and its boundary.
        case(
            "unserved provider, not serious",
            WBNI22,
            "food",
            item(Amber, &["food"], plain),
            "deny no_basis",
        ),
        case(
            "unserved provider, serious: special case",
            WBNI22,
            "food",
            item(Amber, &["food"], |i| i.serious = true),
            "permit W5",
        ),
        case(
            "special case not before the amendment",
            "2022-11-30",
            "food",
            item(Amber, &["food"], |i| i.serious = true),
            "deny no_basis",
        ),
        case(
            "special case from 1 Dec 2022",
            "2022-12-01",
            "food",
            item(Amber, &["food"], |i| i.serious = true),
            "permit W5",
        ),
        case(
            "served provider: route via its crisis team",
            WBNI22,
            "hospital-a",
            item(Amber, &["hospital-a"], |i| i.serious = true),
            "deny no_basis(route_via)",
        ),
        // Crisis teams (W4) serving by sector.
        case(
            "crisis team for a hospital it serves",
            WBNI22,
            "zcert",
            item(Amber, &["hospital-a"], plain),
            "permit W4 via",
        ),
        case(
            "crisis team for two hospitals",
            WBNI22,
            "zcert",
            item(Amber, &["hospital-a", "hospital-b"], plain),
            "permit W4 via",
        ),
        case(
            "crisis team, one concerned it does not serve",
            WBNI22,
            "zcert",
            item(Amber, &["hospital-a", "food"], plain),
            "deny no_basis(split_item) R2(split_item)",
        ),
        case(
            "crisis team, purpose other",
            WBNI22,
            "zcert",
            item(Amber, &["hospital-a"], |i| i.purpose = Purpose::Other),
            "deny no_basis(change_purpose) R2(change_purpose)",
        ),
        // Linking organisations (W2) by sector and by membership, and the 2022 amendment.
        case(
            "linking organisation by sector",
            WBNI22,
            "party-link",
            item(Amber, &["party"], plain),
            "permit W2 via",
        ),
        case(
            "linking organisation by membership",
            WBNI22,
            "soft-isac",
            item(Amber, &["soft"], plain),
            "permit W2 via",
        ),
        case(
            "linking organisation, not its member",
            WBNI22,
            "soft-isac",
            item(Amber, &["party"], plain),
            "deny no_basis(split_item) R2(split_item)",
        ),
        case(
            "before the amendment: only about nobody else",
            "2022-11-30",
            "old-isac",
            item(Amber, &["retailer"], plain),
            "deny no_basis R2",
        ),
        case(
            "before the amendment: a general item",
            "2022-11-30",
            "old-isac",
            item(Amber, &[], plain),
            "permit W2",
        ),
        case(
            "from the amendment: on behalf of its member",
            "2022-12-01",
            "old-isac",
            item(Amber, &["retailer"], plain),
            "permit W2 via",
        ),
        case(
            "wbni-2018 has no special case",
            WBNI18,
            "food",
            item(Amber, &["food"], |i| i.serious = true),
            "deny no_basis",
        ),
        // CSIRTs (W3) and third countries (R3), with the Brexit boundary.
        case(
            "CSIRT in the EU about a provider",
            WBNI22,
            "cert-nl",
            item(Amber, &["water"], plain),
            "permit W3",
        ),
        case(
            "CSIRT outside the EU, general item",
            WBNI22,
            "cert-us",
            item(Amber, &[], plain),
            "permit W3",
        ),
        case(
            "CSIRT outside the EU, traceable: split off what is traceable",
            WBNI22,
            "cert-us",
            item(Amber, &["water"], plain),
            "deny R3(split_item)",
        ),
        case(
            "CSIRT outside the EU, personal data",
            WBNI22,
            "cert-us",
            item(Amber, &[], |i| i.personal_data = true),
            "deny R3",
        ),
        case(
            "UK CSIRT on 31 Jan 2020 (EU)",
            "2020-01-31",
            "cert-gb",
            item(Amber, &["water"], plain),
            "permit W3",
        ),
        case(
            "UK CSIRT on 1 Feb 2020 (third country)",
            "2020-02-01",
            "cert-gb",
            item(Amber, &["water"], plain),
            "deny R3(split_item)",
        ),
        case(
            "CSIRT, purpose other",
            WBNI22,
            "cert-nl",
            item(Amber, &[], |i| i.purpose = Purpose::Other),
            "deny no_basis(change_purpose)",
        ),
        // Intelligence (W6) and national security (R5).
        case(
            "intelligence service",
            WBNI22,
            "aivd",
            item(Amber, &["water"], plain),
            "permit W6",
        ),
        case(
            "national security to a provider",
            WBNI22,
            "water",
            item(Amber, &["water"], |i| i.national_security = true),
            "deny R5",
        ),
        case(
            "national security to the intelligence service",
            WBNI22,
            "aivd",
            item(Amber, &[], |i| i.national_security = true),
            "permit W6",
        ),
        // Escalation (W7).
        case(
            "escalation to the overseeing ministry",
            WBNI22,
            "ministry",
            item(Amber, &["hospital-a"], |i| i.purpose = Purpose::Escalation),
            "permit W1+W7",
        ),
        case(
            "escalation to a ministry that does not oversee",
            WBNI22,
            "ministry",
            item(Amber, &["food"], |i| i.purpose = Purpose::Escalation),
            "deny R2(consent)",
        ),
        // Confidentiality (R1) and the secrecy guarantee's last day.
        case(
            "confidential, no guarantee",
            WBNI22,
            "water",
            item(Amber, &["water"], |i| i.confidential = true),
            "deny R1(secrecy_guarantee)",
        ),
        case(
            "confidential, guarantee",
            WBNI22,
            "ministry",
            item(Amber, &[], |i| i.confidential = true),
            "permit W1 [secrecy purpose_limitation]",
        ),
        case(
            "markers about itself only are not confidential",
            WBNI22,
            "water",
            item(Amber, &["water"], |i| {
                i.confidentiality_markers = vec![SpecificSystems]
            }),
            "permit W1",
        ),
        case(
            "markers about others, guarantee's last day",
            "2026-06-30",
            "zcert",
            item(Amber, &["hospital-a"], |i| {
                i.confidentiality_markers = vec![SpecificSystems]
            }),
            "permit W4 via [secrecy purpose_limitation]",
        ),
        case(
            "markers about others, guarantee lapsed",
            "2026-07-01",
            "zcert",
            item(Amber, &["hospital-a"], |i| {
                i.confidentiality_markers = vec![SpecificSystems]
            }),
            "deny R1(secrecy_guarantee)",
        ),
        // Traceable data (R2) and consent.
        case(
            "traceable to another without consent",
            WBNI22,
            "water",
            item(Amber, &["water", "hospital-a"], plain),
            "deny R2(consent)",
        ),
        case(
            "traceable to another with consent",
            WBNI22,
            "water",
            item(Amber, &["water", "hospital-a"], |i| {
                i.consent = slugs(&["hospital-a"])
            }),
            "permit W1",
        ),
        // TLP and source restrictions (R4).
        case(
            "RED, not named",
            WBNI22,
            "water",
            item(Red, &["water"], plain),
            "deny R4(named_recipient)",
        ),
        case(
            "RED, named",
            WBNI22,
            "water",
            item(Red, &["water"], |i| i.named_recipients = slugs(&["water"])),
            "permit W1",
        ),
        case(
            "AMBER+STRICT direct",
            WBNI22,
            "water",
            item(AmberStrict, &["water"], plain),
            "permit W1",
        ),
        case(
            "AMBER+STRICT via a crisis team",
            WBNI22,
            "zcert",
            item(AmberStrict, &["hospital-a"], plain),
            "deny R4",
        ),
        case(
            "RED named, via a crisis team",
            WBNI22,
            "zcert",
            item(Red, &["hospital-a"], |i| {
                i.named_recipients = slugs(&["zcert"])
            }),
            "deny R4",
        ),
        case(
            "no onward sharing",
            WBNI22,
            "water",
            item(Amber, &["water"], |i| {
                i.source_restriction = SourceRestriction::NoOnwardSharing
            }),
            "deny R4(source_permission)",
        ),
        case(
            "victims only, the victim directly",
            WBNI22,
            "water",
            item(Amber, &["water"], |i| {
                i.source_restriction = SourceRestriction::VictimsOnly
            }),
            "permit W1",
        ),
        case(
            "victims only, via a crisis team",
            WBNI22,
            "zcert",
            item(Amber, &["hospital-a"], |i| {
                i.source_restriction = SourceRestriction::VictimsOnly
            }),
            "deny R4(source_permission)",
        ),
        case(
            "victims only and traceable: two reasons, no single remedy",
            WBNI22,
            "ministry",
            item(Amber, &["water"], |i| {
                i.source_restriction = SourceRestriction::VictimsOnly
            }),
            "deny R2 R4",
        ),
        case(
            "RED, not named, national security: both reasons",
            WBNI22,
            "water",
            item(Red, &[], |i| i.national_security = true),
            "deny R4 R5",
        ),
        // Cyberbeveiligingswet (C1–C6) and its start.
        case(
            "last day of the Wbni",
            "2026-08-14",
            "water",
            item(Amber, &["water"], plain),
            "permit W1",
        ),
        case(
            "first day of the Cbw",
            "2026-08-15",
            "water",
            item(Amber, &["water"], plain),
            "permit C1",
        ),
        case(
            "important entity",
            CBW,
            "hospital-a",
            item(Amber, &["hospital-a"], plain),
            "permit C1",
        ),
        case(
            "designation's first day",
            "2026-08-15",
            "new-entity",
            item(Amber, &["new-entity"], plain),
            "permit C1",
        ),
        case(
            "day before the designation",
            "2026-08-14",
            "new-entity",
            item(Amber, &["new-entity"], plain),
            "deny no_basis",
        ),
        case(
            "former target group",
            CBW,
            "energy-co",
            item(Amber, &["energy-co"], plain),
            "permit C2",
        ),
        case(
            "former target group, central government",
            CBW,
            "ministry",
            item(Amber, &[], plain),
            "permit C2",
        ),
        case(
            "crisis team as relevant party",
            CBW,
            "zcert",
            item(Amber, &["hospital-a"], plain),
            "permit C3 via",
        ),
        case(
            "linking organisation, confidential, guarantee",
            CBW,
            "soft-isac",
            item(Amber, &["soft"], |i| {
                i.confidentiality_markers = vec![SpecificSystems]
            }),
            "permit C3 via [secrecy purpose_limitation proportionality]",
        ),
        case(
            "CSIRT in the EU",
            CBW,
            "cert-nl",
            item(Amber, &["water"], plain),
            "permit C4",
        ),
        case(
            "authority",
            CBW,
            "rdi",
            item(Amber, &["water"], plain),
            "permit C4",
        ),
        case(
            "CSIRT outside the EU with personal data",
            CBW,
            "cert-us",
            item(Amber, &["water"], |i| i.personal_data = true),
            "permit C5 [personal_data_necessity]",
        ),
        case(
            "concerned party",
            CBW,
            "food",
            item(Amber, &["food"], plain),
            "permit C6",
        ),
        case(
            "concerned party, purpose other",
            CBW,
            "food",
            item(Amber, &["food"], |i| i.purpose = Purpose::Other),
            "deny no_basis(change_purpose)",
        ),
        case(
            "public advice under the Cbw",
            CBW,
            "food",
            item(Clear, &[], plain),
            "permit W0",
        ),
        case(
            "traceable under the Cbw",
            CBW,
            "hospital-a",
            item(Amber, &["hospital-a", "hospital-b"], plain),
            "deny R2(consent)",
        ),
        case(
            "escalation under the Cbw",
            CBW,
            "ministry",
            item(Amber, &["hospital-b"], |i| i.purpose = Purpose::Escalation),
            "permit C2+W7",
        ),
        // RULEBOOK.md, as amended: a remedy for every reason, whichever rule fired.
        case(
            "CSIRT outside the EU, personal data: no single change permits",
            WBNI22,
            "cert-us",
            item(Amber, &[], |i| i.personal_data = true),
            "deny R3",
        ),
        case(
            "CSIRT outside the EU, confidential and traceable",
            WBNI22,
            "cert-us",
            item(Amber, &["water"], |i| {
                i.confidentiality_markers = vec![SpecificSystems];
            }),
            "deny R1(split_item) R3(split_item)",
        ),
        // "Route via O" only when O would receive it on the recipient's behalf: Waste CERT
        // serves the sector but would take this item (which also concerns `soft`) as a
        // CSIRT in its own right.
        case(
            "no route via a server that would receive it in its own right",
            WBNI22,
            "waste-co",
            item(Amber, &["waste-co", "soft"], plain),
            "deny no_basis R2",
        ),
        case(
            "route via the server that receives it on the recipient's behalf",
            WBNI22,
            "waste-co",
            item(Amber, &["waste-co"], plain),
            "deny no_basis(route_via)",
        ),
        // W7 needs a concerned organisation.
        case(
            "escalation to the overseer",
            WBNI22,
            "regulator",
            item(Amber, &["hospital-a"], |i| i.purpose = Purpose::Escalation),
            "permit W7",
        ),
        case(
            "escalation that concerns nobody",
            WBNI22,
            "regulator",
            item(Amber, &[], |i| i.purpose = Purpose::Escalation),
            "deny no_basis",
        ),
        // An ended organisation is still concerned: its consent is still needed.
        case(
            "an item about an ended organisation",
            WBNI22,
            "water",
            item(Amber, &["water", "gone"], plain),
            "deny R2(consent)",
        ),
        // Jurisdictions: an outermost region is its member state; Curaçao is not in the EU.
        case(
            "CSIRT on Réunion (France, EU)",
            WBNI22,
            "cert-re",
            item(Amber, &["water"], plain),
            "permit W3",
        ),
        case(
            "CSIRT on Curaçao (not in the EU)",
            WBNI22,
            "cert-cw",
            item(Amber, &["water"], plain),
            "deny R3(split_item)",
        ),
    ];
    assert!(cases.len() >= 40);
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| check(&set, &registry, c).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} scenarios failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    Ok(())
}

#[test]
fn requests_that_cannot_be_decided_are_errors_not_denies() -> Result<(), Box<dyn std::error::Error>>
{
    let set = RulebookSet::defaults(EffectiveDates::default())?;
    let registry = registry()?;
    let request = |at: &str, recipient: &str, concerns: &[&str]| DecisionRequest {
        at: date(at),
        recipient: OrgSlug::parse(recipient).unwrap_or_else(|_| slugs(&["water"]).remove(0)),
        item: item(Tlp::Amber, concerns, plain),
    };
    assert!(matches!(
        set.decide(&registry, &request("2018-11-08", "water", &[])),
        Err(DecideError::BeforeFirstRulebook { .. })
    ));
    assert!(
        set.decide(&registry, &request("2018-11-09", "water", &[]))
            .is_ok()
    );
    assert!(matches!(
        set.decide(&registry, &request(WBNI22, "nobody", &[])),
        Err(DecideError::UnknownOrganisation { field, .. }) if field == "recipient"
    ));
    // An ended organisation is never a candidate: deciding for it is an error, before and
    // after the Cbw (where it would otherwise be the former target group or a concerned party).
    for at in ["2024-01-01", CBW] {
        assert!(matches!(
            set.decide(&registry, &request(at, "gone", &["gone"])),
            Err(DecideError::EndedRecipient { .. })
        ));
    }
    assert!(
        set.decide(&registry, &request("2023-12-31", "gone", &["gone"]))?
            .permitted
    );
    assert!(matches!(
        set.decide(&registry, &request(WBNI22, "water", &["water", "ghost"])),
        Err(DecideError::UnknownOrganisation { field, .. }) if field == "item.concerns[1]"
    ));
    Ok(())
}

#[test]
fn decisions_name_the_rulebook_its_hash_route_and_explanations()
-> Result<(), Box<dyn std::error::Error>> {
    let set = RulebookSet::defaults(EffectiveDates::default())?;
    let registry = registry()?;
    let d = set.decide(
        &registry,
        &DecisionRequest {
            at: date(WBNI22),
            recipient: slugs(&["zcert"]).remove(0),
            item: item(Tlp::Amber, &["hospital-a", "hospital-b"], plain),
        },
    )?;
    assert_eq!(&*d.rulebook, "wbni-2022");
    assert!(d.rulebook_hash.starts_with("sha256:") && d.rulebook_hash.len() == 71);
    let route = d.route.ok_or("no route")?;
    assert_eq!(route.via, Some(slugs(&["zcert"]).remove(0)));
    assert_eq!(route.on_behalf_of, slugs(&["hospital-a", "hospital-b"]));
    assert_eq!(
        d.bases[0].citation.as_deref(),
        Some("Wbni art. 3 lid 2; Regeling aanwijzing computercrisisteams")
    );
    assert!(d.bases[0].explanation_nl.contains("computercrisisteam"));
    // The Cbw start is a setting: moved a year, the same request on 2026-09-01 is decided under the Wbni.
    let later = RulebookSet::defaults(EffectiveDates {
        cbw: date("2027-08-15"),
        ..EffectiveDates::default()
    })?;
    let r = DecisionRequest {
        at: date(CBW),
        recipient: slugs(&["water"]).remove(0),
        item: item(Tlp::Amber, &["water"], plain),
    };
    assert_eq!(&*later.decide(&registry, &r)?.rulebook, "wbni-2022");
    assert_eq!(&*set.decide(&registry, &r)?.rulebook, "cbw-2026");
    let deny = set.decide(
        &registry,
        &DecisionRequest {
            at: date(WBNI22),
            recipient: slugs(&["water"]).remove(0),
            item: item(Tlp::Amber, &["water"], |i| i.confidential = true),
        },
    )?;
    let remedy = deny.reasons[0].remedy.as_ref().ok_or("no remedy")?;
    assert_eq!(remedy.organisations, slugs(&["water"]));
    assert!(remedy.text.contains("secrecy guarantee"));
    assert_eq!(
        deny.bases.len(),
        1,
        "a deny still lists the bases that applied"
    );
    Ok(())
}
