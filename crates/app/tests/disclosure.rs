//! What leaves the centre about incident reports without being a share: the Woo
//! disclosure export (nothing from the registry may survive it) and the published
//! statistics (no suppressed number may be recomputable).

use std::collections::{BTreeMap, BTreeSet};

use microlp::{ComparisonOp, OptimizationDirection, Problem, SolveOutcome, Variable};
use regex::RegexBuilder;
use schakel_app::StatsOptions;
use schakel_domain::{Role, parse_date};
use schakel_formats::report::{StatsRecord, TriageRequest};
use serde_json::json;

mod common;

use common::*;

/// Every text from the registry that identifies an organisation or a person.
fn registry_terms(t: &TestApp) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let registry = t.app.registry()?;
    let mut terms = BTreeSet::new();
    for org in registry.iter() {
        terms.insert(org.name().to_owned());
        terms.insert(org.slug().to_string());
        for d in org.domains() {
            terms.insert(d.to_string());
        }
        for p in org.prefixes() {
            let text = p.to_string();
            terms.insert(text.clone());
            if let Some((addr, _)) = text.split_once('/') {
                terms.insert(addr.to_owned());
            }
        }
        for c in org.contacts() {
            terms.insert(c.email.as_str().to_owned());
            terms.insert(c.name.clone());
        }
    }
    Ok(terms.into_iter().filter(|t| !t.trim().is_empty()).collect())
}

/// Case-insensitive, on word boundaries where the term has them.
fn survives(term: &str, text: &str) -> Result<bool, regex::Error> {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let start = if term.starts_with(word) { r"\b" } else { "" };
    let end = if term.ends_with(word) { r"\b" } else { "" };
    let re = RegexBuilder::new(&format!("{start}{}{end}", regex::escape(term)))
        .case_insensitive(true)
        .build()?;
    Ok(re.is_match(text))
}

fn mixed_case(text: &str, n: usize) -> String {
    match n % 3 {
        0 => text.to_uppercase(),
        1 => text.to_lowercase(),
        _ => text
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i % 2 == 0 {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect(),
    }
}

#[test]
fn the_woo_export_leaves_nothing_from_the_registry_and_indexes_every_redaction() -> TestResult {
    let t = demo_app()?;
    let analyst = person("ana", Role::Analyst);
    let legal = person("lea", Role::Legal);
    let terms = registry_terms(&t)?;
    assert!(terms.len() > 150, "{}", terms.len());
    // Reports by many organisations, their texts full of every registry term in every
    // case, with hosts and addresses outside the registry as well.
    let reporters = [
        "hospital-south",
        "netbeheer-noord",
        "gemeente-havenstad",
        "softwarehuis-kade",
        "bank-oranje",
    ];
    let mut ids = Vec::new();
    for (n, reporter) in reporters.iter().enumerate() {
        let mentions: Vec<String> = terms
            .iter()
            .enumerate()
            .map(|(i, t)| mixed_case(t, i + n))
            .collect();
        let description = format!(
            "We saw {}. The attacker used c2.evil-example.net and 45.33.32.156, and \
             2a00:1450:4001:80b::200e. Call +31 70 123 4567. Host vpn01.{} was hit.",
            mentions.join(", then "),
            terms
                .iter()
                .find(|t| t.ends_with(".example"))
                .map_or("x.example", String::as_str),
        );
        let report = json!({
            "reporter": reporter,
            "aware_at": format!("2026-10-0{}T10:00:00Z", n + 1),
            "category": "intrusions",
            "title": format!("Intrusion at {} via {}", mixed_case(reporter, n), terms[n * 7 % terms.len()]),
            "description": description,
            "significant": true,
            "personal_data": true,
            "malicious": true,
            "affected_services": [format!("portal of {}", terms[n * 11 % terms.len()])],
            "systems": ["FortiGate 7.2.4", format!("mail server {}", terms[n * 13 % terms.len()])]
        });
        let view = t.app.file_report(&analyst, report)?;
        t.app.triage(
            &analyst,
            &view.row.id,
            &TriageRequest {
                status: Some("triaged".into()),
                impact: Some("considerable".into()),
                advice: Some(format!(
                    "Ask {} to patch FortiGate 7.2.4; see CVE-2024-21762.",
                    terms[n * 5 % terms.len()]
                )),
                ..TriageRequest::default()
            },
        )?;
        ids.push(view.row.id);
    }
    // Outside the period: not exported.
    t.app.file_report(&analyst, json!({
        "reporter": "hospital-south", "aware_at": "2026-09-30T21:30:00Z", "category": "other",
        "title": "late September", "significant": false, "personal_data": false, "malicious": false
    }))?;
    let export = t
        .app
        .woo_export(&legal, parse_date("2026-10-01")?, parse_date("2026-10-31")?)?;
    assert_eq!(export.reports.len(), 5);
    let markdown = export.markdown();
    let json = serde_json::to_string(&export)?;
    for term in &terms {
        assert!(
            !survives(term, &markdown)?,
            "`{term}` survives in the Markdown export"
        );
        assert!(
            !survives(term, &json)?,
            "`{term}` survives in the JSON export"
        );
    }
    for outside in [
        "evil-example",
        "45.33.32.156",
        "2a00:1450",
        "123 4567",
        "FortiGate",
        "CVE-2024-21762",
    ] {
        assert!(!markdown.contains(outside), "`{outside}` survives");
    }
    // Every marker in the text is in the index, with its ground, and the other way round.
    let marked = markdown.matches("][^").count();
    assert_eq!(marked, export.redactions.len());
    for kind in ["[organisation]", "[system]", "[person]"] {
        assert!(
            export.redactions.iter().any(|r| r.replaced_by == kind),
            "{kind}"
        );
    }
    assert!(
        export
            .redactions
            .iter()
            .all(|r| r.ground.starts_with("Woo art. 5.1"))
    );
    // Small sectors are generalised.
    assert!(
        export
            .reports
            .iter()
            .all(|r| r.sector.starts_with("[sector]"))
    );
    // Only legal officers export, and the export is audited.
    assert!(
        t.app
            .woo_export(
                &analyst,
                parse_date("2026-10-01")?,
                parse_date("2026-10-31")?
            )
            .is_err()
    );
    assert!(
        t.app
            .audit_log(&legal)?
            .iter()
            .any(|e| e.entry.action == "woo.export")
    );
    Ok(())
}

/// The true counts of one quarter: (sector, category) -> (reports, organisations).
type Truth = BTreeMap<(String, String), (u64, BTreeSet<String>)>;

/// A small deterministic generator (no dependency needed for a test's randomness).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

/// The range of values a suppressed cell can take given everything published, by a
/// linear program over the published JSON alone: every suppressed cell an integer of at
/// least 1 (it is listed, so it holds a report), every published total an equation.
fn consistent_range(
    stats: &StatsRecord,
    target: usize,
) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let mut bounds = [0.0; 2];
    for (k, direction) in [
        OptimizationDirection::Minimize,
        OptimizationDirection::Maximize,
    ]
    .into_iter()
    .enumerate()
    {
        let mut problem = Problem::new(direction);
        let vars: Vec<Option<Variable>> = stats
            .cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                c.count.is_none().then(|| {
                    problem.add_integer_var(if i == target { 1.0 } else { 0.0 }, (1, 1_000_000))
                })
            })
            .collect();
        let mut equation = |select: &dyn Fn(&schakel_formats::report::CellRecord) -> bool,
                            total: u64| {
            let mut known = 0.0;
            let mut terms = Vec::new();
            for (c, v) in stats.cells.iter().zip(&vars) {
                if select(c) {
                    match (c.count, v) {
                        (Some(n), _) => known += n as f64,
                        (None, Some(v)) => terms.push((*v, 1.0)),
                        (None, None) => {}
                    }
                }
            }
            problem.add_constraint(terms, ComparisonOp::Eq, total as f64 - known);
        };
        for (sector, total) in &stats.sector_totals {
            if let Some(total) = total {
                equation(&|c| &c.sector == sector, *total);
            }
        }
        for (category, total) in &stats.category_totals {
            if let Some(total) = total {
                equation(&|c| &c.category == category, *total);
            }
        }
        if let Some(total) = stats.total {
            equation(&|_| true, total);
        }
        bounds[k] = match problem.solve() {
            Ok(SolveOutcome::Solution(s)) => s.objective(),
            other => return Err(format!("the linear program failed: {other:?}").into()),
        };
    }
    Ok((bounds[0], bounds[1]))
}

#[test]
fn no_suppressed_statistic_can_be_worked_out_and_no_more_is_suppressed_than_needed() -> TestResult {
    let t = demo_app()?;
    let analyst = person("ana", Role::Analyst);
    let registry = t.app.registry()?;
    let today = parse_date("2026-11-22")?;
    let reporters: Vec<_> = registry
        .iter()
        .filter(|o| o.ended().is_none_or(|e| e > today) && !o.sectors().is_empty())
        .collect();
    let categories = [
        "intrusions",
        "availability",
        "malicious-code",
        "fraud",
        "vulnerable",
        "information-content-security",
    ];
    let mut rng = Lcg(20261122);
    let quarters = [
        "2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4",
        "2026-Q1", "2026-Q2", "2026-Q3",
    ];
    // The truth, per quarter: (sector, category) -> (reports, organisations).
    let mut truth: BTreeMap<&str, Truth> = BTreeMap::new();
    for (qi, quarter) in quarters.iter().enumerate() {
        let year = &quarter[..4];
        let first_month = (u64::from(quarter.as_bytes()[6] - b'0') - 1) * 3 + 1;
        // Sparse quarters and rich ones; some favour a few sectors heavily.
        let n = [6, 25, 60, 90][qi % 4] + rng.next(20);
        let crowd = 3 + rng.next(reporters.len() as u64 - 3);
        for _ in 0..n {
            let org = reporters[rng.next(crowd) as usize];
            let category = categories[rng.next(if qi % 2 == 0 { 3 } else { 6 }) as usize];
            let aware = format!(
                "{year}-{:02}-{:02}T{:02}:15:00Z",
                first_month + rng.next(3),
                1 + rng.next(28),
                rng.next(24)
            );
            let filed = t.app.file_report(&analyst, json!({
                "reporter": org.slug().as_str(), "aware_at": aware, "category": category,
                "title": "incident", "significant": false, "personal_data": false, "malicious": true
            }));
            let Ok(view) = filed else { continue };
            // Counted in the quarter of the Amsterdam date.
            let local = schakel_domain::legal_date(view.report.aware_at);
            let q = format!("{}-Q{}", local.year(), (local.month() - 1) / 3 + 1);
            let Some(q) = quarters.iter().find(|x| **x == q) else {
                continue;
            };
            let sector = org.sectors()[0].to_string();
            let cell = truth
                .entry(q)
                .or_default()
                .entry((sector, category.to_owned()))
                .or_default();
            cell.0 += 1;
            cell.1.insert(org.slug().to_string());
        }
    }
    // A test report is never counted.
    t.app.file_report(
        &analyst,
        json!({
            "reporter": "hospital-south", "aware_at": "2026-08-01T10:00:00Z", "category": "test",
            "title": "test", "significant": false, "personal_data": false, "malicious": false
        }),
    )?;
    let options = StatsOptions::default();
    let mut suppressed_seen = 0;
    let mut published_seen = 0;
    for quarter in quarters {
        let stats = t.app.statistics(&analyst, quarter, options)?;
        let truth = truth.remove(quarter).unwrap_or_default();
        assert_eq!(stats.cells.len(), truth.len(), "{quarter}");
        assert!(!stats.category_totals.contains_key("test"));
        for (i, cell) in stats.cells.iter().enumerate() {
            let (count, orgs) = &truth[&(cell.sector.clone(), cell.category.clone())];
            match cell.count {
                Some(n) => {
                    published_seen += 1;
                    assert_eq!(n, *count, "{quarter} {cell:?}");
                    assert!(
                        n >= options.threshold && orgs.len() as u64 >= options.min_organisations
                    );
                }
                None => {
                    suppressed_seen += 1;
                    let (low, high) = consistent_range(&stats, i)?;
                    assert!(
                        high - low >= 0.999,
                        "{quarter}: {cell:?} is determined: {low}..{high}\n{stats:#?}"
                    );
                    assert!(
                        low <= *count as f64 + 1e-6 && *count as f64 <= high + 1e-6,
                        "{quarter} {cell:?}"
                    );
                }
            }
        }
        // No more than needed: publishing any one complementary-suppressed cell would let
        // some suppressed cell be worked out.
        for (i, cell) in stats.cells.iter().enumerate() {
            let (count, orgs) = &truth[&(cell.sector.clone(), cell.category.clone())];
            let passes =
                *count >= options.threshold && orgs.len() as u64 >= options.min_organisations;
            if cell.count.is_none() && passes {
                let mut more = stats.clone();
                more.cells[i].count = Some(*count);
                let mut exposed = false;
                for (j, c) in more.cells.iter().enumerate() {
                    if c.count.is_none() {
                        let (low, high) = consistent_range(&more, j)?;
                        exposed |= high - low < 0.999;
                    }
                }
                assert!(exposed, "{quarter}: {cell:?} was suppressed without need");
            }
        }
    }
    assert!(
        suppressed_seen > 10 && published_seen > 10,
        "{suppressed_seen} suppressed, {published_seen} published"
    );
    Ok(())
}
