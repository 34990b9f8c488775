//! Decisions per second against a generated constituency of 10,000 organisations.
//!
//! `cargo bench -p schakel-rulebook --bench decisions [-- --organisations N --requests N]`
//!
//! The request mix, like a distribution planner's: 20 % of items concern nobody, 50 % one
//! organisation, 30 % two or three organisations of one sector; the recipient is the first concerned organisation (45 %), the linking
//! organisation or crisis team serving it (30 %), a member of the target group, an entity or
//! a CSIRT (15 % — all of them for items that concern nobody) or anyone (10 %); TLP mostly
//! AMBER/GREEN, markers on 20 %, consent of every concerned organisation on 70 %, serious on half, 10 % escalation or other purposes, and
//! flags and source restrictions at low rates; dates spread over all three rulebooks. Remedies are computed for every deny. The figure printed
//! is one core (a single thread), the permit/deny split is printed with it.

#![allow(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::time::Instant;

use schakel_domain::{
    ConfidentialityMarker, Date, Designation, Jurisdiction, OrgSlug, Organisation,
    OrganisationDraft, Purpose, Registry, SecrecyGuarantee, SectorVocabulary, Serves,
    SourceRestriction, Status, Tlp,
};
use schakel_rulebook::{DecisionRequest, EffectiveDates, ItemFacts, RulebookSet};

/// A small deterministic generator (xorshift64*), so every run decides the same requests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n as u64).max(1)).unwrap_or(0)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

type Failure = Box<dyn std::error::Error>;

fn date(y: i16, m: i8, d: i8) -> Date {
    Date::constant(y, m, d)
}

fn constituency(n: usize, rng: &mut Rng) -> Result<Registry, Failure> {
    let vocabulary = SectorVocabulary::default();
    let sectors: Vec<_> = [
        "energy",
        "health",
        "drinking_water",
        "banking",
        "public_administration",
        "software",
        "food",
        "political_parties",
        "telecom",
        "transport",
    ]
    .iter()
    .map(|s| vocabulary.parse(s))
    .collect::<Result<_, _>>()?;
    let nl = Jurisdiction::parse("NL")?;
    let abroad = [
        Jurisdiction::parse("BE")?,
        Jurisdiction::parse("GB")?,
        Jurisdiction::parse("US")?,
    ];
    let (wbni, cbw) = (date(2018, 11, 9), date(2026, 8, 15));
    let mut orgs = Vec::with_capacity(n);
    for i in 0..n {
        let sector = sectors[rng.below(sectors.len())].clone();
        let roll = rng.below(1000);
        let (designations, jurisdiction, serves) = match roll {
            0..=19 => (
                vec![
                    Designation::new(Status::VitalProvider, wbni, cbw.yesterday().ok())?,
                    Designation::new(Status::EssentialEntity, cbw, None)?,
                ],
                nl,
                Serves::default(),
            ),
            20..=29 => (
                vec![Designation::new(Status::CentralGovernment, wbni, None)?],
                nl,
                Serves::default(),
            ),
            30..=39 => {
                let members = (0..5)
                    .map(|_| OrgSlug::parse(&format!("org-{:05}", rng.below(n))))
                    .collect::<Result<Vec<_>, _>>()?;
                let status = if roll < 35 {
                    Status::LinkingOrganisation
                } else {
                    Status::CrisisTeam
                };
                let by_sector = if roll.is_multiple_of(2) {
                    vec![sector.clone()]
                } else {
                    vec![]
                };
                (
                    vec![Designation::new(status, date(2019, 1, 1), None)?],
                    nl,
                    Serves {
                        sectors: by_sector,
                        organisations: members,
                    },
                )
            }
            40..=44 => (
                vec![Designation::new(Status::Csirt, wbni, None)?],
                abroad[rng.below(3)],
                Serves::default(),
            ),
            45 => (
                vec![Designation::new(Status::IntelligenceService, wbni, None)?],
                nl,
                Serves::default(),
            ),
            46 => (
                vec![Designation::new(Status::Authority, wbni, None)?],
                nl,
                Serves::default(),
            ),
            47..=399 => (
                vec![
                    Designation::new(Status::OtherProvider, wbni, cbw.yesterday().ok())?,
                    Designation::new(
                        if roll < 150 {
                            Status::EssentialEntity
                        } else {
                            Status::ImportantEntity
                        },
                        cbw,
                        None,
                    )?,
                ],
                nl,
                Serves::default(),
            ),
            _ => (
                vec![Designation::new(Status::OtherProvider, wbni, None)?],
                nl,
                Serves::default(),
            ),
        };
        let secrecy = if rng.chance(40) {
            Some(SecrecyGuarantee::new("agreement", None, None)?)
        } else {
            None
        };
        let oversees = if (20..=22).contains(&roll) {
            vec![sector.clone()]
        } else {
            vec![]
        };
        let mut serves = serves;
        serves
            .organisations
            .retain(|m| m.as_str() != format!("org-{i:05}"));
        serves.organisations.sort();
        serves.organisations.dedup();
        orgs.push(
            Organisation::new(OrganisationDraft {
                slug: OrgSlug::parse(&format!("org-{i:05}"))?,
                name: format!("Organisation {i}"),
                sectors: vec![sector],
                jurisdiction,
                designations,
                secrecy,
                serves,
                oversees,
                prefixes: vec![],
                asns: vec![],
                domains: vec![],
                contacts: vec![],
                ended: None,
            })
            .map_err(|e| format!("{e:?}"))?,
        );
    }
    Ok(Registry::new(orgs))
}

fn requests(registry: &Registry, count: usize, rng: &mut Rng) -> Vec<DecisionRequest> {
    let orgs: Vec<&Organisation> = registry.iter().collect();
    let dates = [
        date(2020, 6, 1),
        date(2024, 3, 1),
        date(2025, 10, 1),
        date(2026, 9, 1),
        date(2026, 11, 22),
        date(2027, 3, 1),
    ];
    let tlps = [
        Tlp::Amber,
        Tlp::Amber,
        Tlp::Amber,
        Tlp::Green,
        Tlp::Green,
        Tlp::Clear,
        Tlp::AmberStrict,
        Tlp::Red,
    ];
    // Who a distribution planner proposes: the target group, CSIRTs, entities.
    let target: Vec<&Organisation> = orgs
        .iter()
        .copied()
        .filter(|o| {
            o.designations().iter().any(|d| {
                matches!(
                    d.status(),
                    Status::VitalProvider
                        | Status::CentralGovernment
                        | Status::Csirt
                        | Status::EssentialEntity
                )
            })
        })
        .collect();
    (0..count)
        .map(|_| {
            let at = dates[rng.below(dates.len())];
            let mut item = ItemFacts::with_tlp(tlps[rng.below(tlps.len())]);
            // 20 % concern nobody, 50 % one organisation, 30 % two or three in the same sector.
            let n = match rng.below(10) {
                0 | 1 => 0,
                2..=6 => 1,
                7 | 8 => 2,
                _ => 3,
            };
            if n > 0 {
                let first = orgs[rng.below(orgs.len())];
                item.concerns.push(first.slug().clone());
                let mut tries = 0;
                while item.concerns.len() < n && tries < 50 {
                    tries += 1;
                    let other = orgs[rng.below(orgs.len())];
                    if other.sectors().first() == first.sectors().first()
                        && !item.concerns.contains(other.slug())
                    {
                        item.concerns.push(other.slug().clone());
                    }
                }
            }
            let first = item.concerns.first().and_then(|s| registry.get(s));
            let recipient = match (rng.below(20), first) {
                (0..=8, Some(first)) => first,
                (9..=14, Some(first)) => registry.servers_of(first, at).next().unwrap_or(first),
                (15..=17, _) | (0..=14, None) => target[rng.below(target.len())],
                _ => orgs[rng.below(orgs.len())],
            };
            if rng.chance(20) {
                item.confidentiality_markers
                    .push(ConfidentialityMarker::SpecificSystems);
            }
            item.confidential = rng.chance(5);
            if rng.chance(70) {
                item.consent = item.concerns.clone();
            }
            item.purpose = match rng.below(20) {
                0 => Purpose::Escalation,
                1 => Purpose::Other,
                _ => Purpose::PreventDisruption,
            };
            item.serious = rng.chance(50);
            item.personal_data = rng.chance(5);
            item.national_security = rng.chance(1);
            if item.tlp == Tlp::Red && rng.chance(70) {
                item.named_recipients.push(recipient.slug().clone());
            }
            item.source_restriction = match rng.below(50) {
                0 => SourceRestriction::NoOnwardSharing,
                1 => SourceRestriction::VictimsOnly,
                _ => SourceRestriction::None,
            };
            DecisionRequest {
                at,
                recipient: recipient.slug().clone(),
                item,
            }
        })
        .collect()
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Failure> {
    let organisations = arg("--organisations", 10_000);
    let count = arg("--requests", 1_000_000);
    let mut rng = Rng(0x5EED_CAFE_F00D_1234);
    let registry = constituency(organisations, &mut rng)?;
    let set = RulebookSet::defaults(EffectiveDates::default())?;
    let requests = requests(&registry, count, &mut rng);

    // First pass: fills the per-facts cache, as a running server's would be.
    let warm = Instant::now();
    let (mut permits, mut remedies) = (0usize, 0usize);
    let mut reasons: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for r in &requests {
        let d = set.decide(&registry, r)?;
        permits += usize::from(d.permitted);
        remedies += d.reasons.iter().filter(|x| x.remedy.is_some()).count();
        for reason in &d.reasons {
            *reasons.entry(reason.rule.rule.to_string()).or_default() += 1;
        }
    }
    let warm = warm.elapsed();

    let rounds = arg("--rounds", 1).max(1);
    let start = Instant::now();
    let mut checksum = 0usize;
    for _ in 0..rounds {
        for r in &requests {
            checksum += usize::from(set.decide(&registry, r)?.permitted);
        }
    }
    let elapsed = start.elapsed();
    let rate = (count * rounds) as f64 / elapsed.as_secs_f64();
    let cold_rate = count as f64 / warm.as_secs_f64();
    println!("registry: {organisations} organisations; {count} requests");
    println!(
        "mix: {:.1} % permit, {:.1} % deny; {remedies} remedies found",
        100.0 * permits as f64 / count as f64,
        100.0 * (count - permits) as f64 / count as f64
    );
    let reasons: Vec<String> = reasons.iter().map(|(r, n)| format!("{r} {n}")).collect();
    println!("deny reasons: {}", reasons.join(", "));
    println!("first pass (cache filling): {:.0} decisions/s", cold_rate);
    println!(
        "steady state (one thread): {:.0} decisions/s ({:.2} µs per decision)",
        rate,
        1e6 / rate
    );
    assert_eq!(checksum, permits * rounds);
    Ok(())
}
