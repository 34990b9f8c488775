//! `schakel rulebook show` and `schakel rulebook check`: what the rulebooks say, and what
//! a legal officer should know about them before they go live.

use std::io::IsTerminal;

use schakel_domain::Date;
use schakel_rulebook::{CheckReport, RuleCount, RuleKind, Rulebook, RulebookSet};
use serde_json::{Value, json};

use crate::args::RulebookCommand;
use crate::commands::{CliError, date_arg};
use crate::output::{json, out};

/// `schakel rulebook …`: reads the rulebook files only, never the database, so checking or
/// showing an amendment does not record it as adopted.
pub(crate) fn rulebook(
    rulebooks: &RulebookSet,
    today: Date,
    command: RulebookCommand,
) -> Result<(), CliError> {
    match command {
        RulebookCommand::Check {
            strict,
            json: as_json,
        } => check(rulebooks, strict, as_json),
        RulebookCommand::Show { at, json: as_json } => {
            let on = date_arg("at", at.as_deref())?.unwrap_or(today);
            let book = rulebooks
                .for_date(on)
                .map_err(|e| CliError::user(e.to_string()))?;
            if as_json {
                return json(&json!({
                    "rulebook": book.id(),
                    "hash": book.hash(),
                    "file": book.file(),
                    "from": book.from().to_string(),
                    "until": book.until().map(|d| d.to_string()),
                    "rules": book.rules().iter().map(|r| json!({
                        "id": r.policy_id,
                        "rule": r.rule,
                        "kind": r.kind.as_str(),
                        "line": r.line,
                        "citation": r.citation,
                        "citation_uncertain": r.citation_uncertain,
                        "explanation": r.explanation,
                        "explanation_nl": r.explanation_nl,
                    })).collect::<Vec<_>>(),
                }));
            }
            let until = book
                .until()
                .map_or("until further notice".to_owned(), |d| format!("until {d}"));
            let mut t = format!(
                "Rulebook {} in force on {on}: from {} {until}\n{}\n{}\n",
                book.id(),
                book.from(),
                book.file(),
                book.hash()
            );
            for (kind, title) in [
                (RuleKind::Basis, "Permitting rules"),
                (RuleKind::Restriction, "Restrictions"),
                (RuleKind::Condition, "Conditions of use"),
                (RuleKind::Definition, "Definitions"),
            ] {
                t.push_str(&format!("\n{title}\n"));
                for r in book.rules().iter().filter(|r| r.kind == kind) {
                    let citation = r
                        .citation
                        .as_deref()
                        .map(|c| format!(" — {}", crate::decide::cited(c, r.citation_uncertain)))
                        .unwrap_or_default();
                    t.push_str(&format!(
                        "  {}{citation}{}\n    {}\n    {}\n",
                        r.rule,
                        r.line
                            .map(|l| format!(" ({}:{l})", book.file()))
                            .unwrap_or_default(),
                        r.explanation,
                        r.explanation_nl
                    ));
                }
            }
            out(&t)
        }
    }
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn check(rulebooks: &RulebookSet, strict: bool, as_json: bool) -> Result<(), CliError> {
    let progress = std::io::stderr().is_terminal();
    let mut reports = Vec::new();
    for book in rulebooks.rulebooks() {
        if progress {
            eprintln!("checking {} ({})…", book.id(), book.file());
        }
        let report = schakel_rulebook::check(book).map_err(|e| CliError::user(e.to_string()))?;
        reports.push((book, report));
    }
    let findings: usize = reports.iter().map(|(_, r)| findings(r).len()).sum();
    if as_json {
        json(&json!({
            "rulebooks": reports.iter().map(|(b, r)| report_json(b, r)).collect::<Vec<_>>(),
            "findings": findings,
        }))?;
    } else {
        let mut t = String::new();
        for (book, report) in &reports {
            t.push_str(&report_text(book, report));
            t.push('\n');
        }
        t.push_str(&match findings {
            0 => format!(
                "{} rulebooks valid; every rule fires, permits or decides as its kind should.\n",
                reports.len()
            ),
            n => format!(
                "{} rulebooks valid; {n} finding{} to review before they go live.\n",
                reports.len(),
                if n == 1 { "" } else { "s" }
            ),
        });
        out(&t)?;
    }
    if strict && findings > 0 {
        return Err(CliError::user(format!(
            "--strict: {findings} finding{} (see above)",
            if findings == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

/// Rules to review, with what is wrong with each.
fn findings(report: &CheckReport) -> Vec<(&RuleCount, &'static str)> {
    let mut out: Vec<(&RuleCount, &'static str)> = Vec::new();
    out.extend(report.never_fire().map(|r| {
        (
            r,
            match r.kind {
                RuleKind::Definition => "never holds",
                RuleKind::Basis => "never applies",
                RuleKind::Restriction => "never denies",
                RuleKind::Condition => "never travels with a permit",
            },
        )
    }));
    out.extend(report.never_permit().map(|r| {
        (
            r,
            "applies, but a restriction denies every time: it never permits",
        )
    }));
    out.extend(report.never_decisive().map(|r| {
        (
            r,
            "denies only where another restriction or the lack of a basis denies anyway: removing it would change no decision",
        )
    }));
    out
}

fn report_json(book: &Rulebook, r: &CheckReport) -> Value {
    let ids = |it: &mut dyn Iterator<Item = &RuleCount>| -> Vec<String> {
        it.map(|c| c.policy_id.to_string()).collect()
    };
    json!({
        "rulebook": book.id(),
        "file": book.file(),
        "hash": book.hash(),
        "from": book.from().to_string(),
        "until": book.until().map(|d| d.to_string()),
        "policies": book.rules().len(),
        "combinations": r.combinations,
        "cross_checked": r.cross_checked,
        "status_classes": r.status_classes,
        "never_fire": ids(&mut r.never_fire()),
        "never_permit": ids(&mut r.never_permit()),
        "never_decisive": ids(&mut r.never_decisive()),
        "unshareable": r.unshareable.iter().map(|u| json!({
            "pattern": u.pattern.iter().map(|f| (f.fact.to_owned(), json!(f.values))).collect::<serde_json::Map<_, _>>(),
            "no_basis": u.no_basis,
            "always": u.always,
            "sometimes": u.sometimes,
        })).collect::<Vec<_>>(),
        "equivalent": r.classes.iter().map(|c| json!({
            "fact": c.fact,
            "classes": c.classes,
        })).collect::<Vec<_>>(),
        "rules": r.rules.iter().map(|c| json!({
            "id": c.policy_id,
            "rule": c.rule,
            "kind": c.kind.as_str(),
            "line": c.line,
            "fires": c.fires,
            "permits": c.permits,
            "decisive": c.decisive,
        })).collect::<Vec<_>>(),
    })
}

fn report_text(book: &Rulebook, r: &CheckReport) -> String {
    let until = book
        .until()
        .map_or("until further notice".to_owned(), |d| format!("until {d}"));
    let count = |kind: RuleKind| book.rules().iter().filter(|x| x.kind == kind).count();
    let mut t = format!(
        "Rulebook {} — {}\n  in force from {} {until}; {}\n",
        book.id(),
        book.file(),
        book.from(),
        book.hash()
    );
    let counted = |kind: RuleKind, one: &str, many: &str| {
        let n = count(kind);
        format!("{n} {}", if n == 1 { one } else { many })
    };
    t.push_str(&format!(
        "  Valid: {} policies fit the schema ({}, {}, {}, {}).\n",
        book.rules().len(),
        counted(RuleKind::Definition, "definition", "definitions"),
        counted(RuleKind::Basis, "basis", "bases"),
        counted(RuleKind::Restriction, "restriction", "restrictions"),
        counted(RuleKind::Condition, "condition", "conditions"),
    ));
    t.push_str(&format!(
        "  Checked {} combinations of facts; {} of them decided again by the policy engine, with the same outcome.\n",
        thousands(r.combinations),
        thousands(r.cross_checked)
    ));
    let findings = findings(r);
    if findings.is_empty() {
        t.push_str(
            "\n  Every rule fires in some case, every basis permits in some case, and every\n  restriction is in some case the only reason for a deny.\n",
        );
    } else {
        t.push_str("\n  Review before this goes live:\n");
        for (rule, what) in findings {
            let line = rule.line.map(|l| format!(", line {l}")).unwrap_or_default();
            t.push_str(&format!(
                "    {} ({}{line}) {what}.\n",
                rule.policy_id,
                rule.kind.as_str()
            ));
        }
    }
    if r.unshareable.is_empty() {
        t.push_str("\n  Every kind of item may reach some recipient.\n");
    } else {
        t.push_str("\n  Items no recipient may receive:\n");
        for u in &r.unshareable {
            let pattern = if u.pattern.is_empty() {
                "every item".to_owned()
            } else {
                u.pattern
                    .iter()
                    .map(|f| format!("{} = {}", f.fact, f.values.join(" or ")))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            t.push_str(&format!("    - {pattern}\n"));
            let why = if u.no_basis {
                "no permitting rule applies to any recipient".to_owned()
            } else if u.always.is_empty() {
                format!(
                    "each recipient with a basis is denied by one of {}",
                    u.sometimes.join(", ")
                )
            } else {
                format!(
                    "{} denies every recipient that has a basis",
                    u.always.join(" and ")
                )
            };
            t.push_str(&format!("        {why}.\n"));
        }
    }
    if !r.classes.is_empty() {
        t.push_str("\n  Facts this rulebook does not tell apart:\n");
        for c in &r.classes {
            let text = if c.classes.len() == 1 {
                "never read".to_owned()
            } else if c.fact == "recipient.statuses" {
                c.classes
                    .iter()
                    .filter(|g| g.len() > 1)
                    .map(|g| match g.iter().position(|s| s == "(none)") {
                        Some(_) => format!(
                            "count as no status: {}",
                            g.iter()
                                .filter(|s| *s != "(none)")
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        None => g.join(" = "),
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            } else {
                c.classes
                    .iter()
                    .filter(|g| g.len() > 1)
                    .map(|g| g.join(" = "))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            t.push_str(&format!("    {}: {text}\n", c.fact));
        }
    }
    t
}
