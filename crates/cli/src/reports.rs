//! `schakel report …`, `schakel advice …`, `schakel woo export`, `schakel stats`: incident
//! reports from the terminal, in sentences for a duty officer or JSON for programs.

use std::path::Path;

use jiff::{SignedDuration, Timestamp};
use schakel_app::{App, ItemFromReport, ReportView, StatsOptions, clock_record};
use schakel_domain::{OrgSlug, Principal, ReportStatus, Tlp, parse_date};
use schakel_formats::report::{AdviceRecord, AdviceRequest, TriageRequest};
use schakel_formats::stats::{stats_csv, stats_svg};
use schakel_store::ReportQuery;
use serde_json::json;

use crate::args::{AdviceCommand, ReportCommand, WooCommand};
use crate::commands::{CliError, read_json};
use crate::files::write_atomically;
use crate::output::{json, json_text, local_time, out, table, to_file_or_out};

/// How long until (or since) a deadline, for people: `in 3 h 20 min`, `overdue by 2 d 4 h`.
fn time_left(due: Timestamp, now: Timestamp) -> String {
    let span = due.duration_since(now);
    let minutes = span.as_secs().unsigned_abs() / 60;
    let (d, h, m) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    let text = match (d, h) {
        (0, 0) => format!("{m} min"),
        (0, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h"),
    };
    if span >= SignedDuration::ZERO {
        format!("in {text}")
    } else {
        format!("OVERDUE by {text}")
    }
}

fn clocks_text(view: &ReportView, now: Timestamp) -> String {
    let mut rows = Vec::new();
    for c in &view.clocks.clocks {
        let due = match c.due {
            Some(d) => format!(
                "{}{}",
                local_time(d),
                if c.provisional { " (provisional)" } else { "" }
            ),
            None => "—".to_owned(),
        };
        let state = match (c.submitted_at, c.due) {
            (Some(at), Some(d)) if at > d => format!("submitted {} (late)", local_time(at)),
            (Some(at), _) => format!("submitted {}", local_time(at)),
            (None, Some(d)) => time_left(d, now),
            (None, None) => c.basis.clone(),
        };
        rows.push(vec![
            format!("{}/{}", c.regime, c.step),
            due,
            state,
            c.report_to.clone(),
        ]);
    }
    let mut text = if rows.is_empty() {
        "No legal reporting duty applies to this report.\n".to_owned()
    } else {
        table(
            &["STEP", "DUE (Europe/Amsterdam)", "STATE", "REPORT TO"],
            &rows,
        )
    };
    for c in view
        .clocks
        .clocks
        .iter()
        .filter(|c| c.due.is_some() || c.submitted_at.is_some())
    {
        text.push_str(&format!("  {}/{}: {}\n", c.regime, c.step, c.basis));
    }
    for (regime, by) in &view.clocks.displaced {
        text.push_str(&format!(
            "  {regime}: displaced by {by} (sector law with equivalent reporting, Cbw art. 31)\n"
        ));
    }
    text
}

fn report_text(view: &ReportView, now: Timestamp, staff: bool) -> String {
    let r = &view.report;
    let mut t = format!(
        "{} ({}): {}\n  {} · {}{} · aware {} · filed by {} at {}\n",
        view.row.id,
        view.row.status,
        r.title,
        r.reporter,
        r.category,
        r.incident_type
            .as_deref()
            .map(|t| format!(" / {t}"))
            .unwrap_or_default(),
        local_time(r.aware_at),
        view.row.filed_by,
        local_time(view.row.filed_at),
    );
    let facts: Vec<&str> = [
        (r.significant, "significant"),
        (r.personal_data, "personal data"),
        (r.cross_border, "cross-border"),
        (r.malicious, "malicious"),
        (r.identity_consent, "may be named"),
    ]
    .iter()
    .filter(|(b, _)| *b)
    .map(|(_, s)| *s)
    .collect();
    if !facts.is_empty() {
        t.push_str(&format!("  {}\n", facts.join(" · ")));
    }
    if !r.description.is_empty() {
        t.push_str(&format!("\n{}\n", r.description));
    }
    t.push_str("\nReporting clocks:\n");
    t.push_str(&clocks_text(view, now));
    let tr = &view.triage;
    if staff {
        t.push_str(&format!(
            "\nTriage: impact {} · priority {} · assignee {} · nature {}\n",
            tr.impact.as_deref().unwrap_or("—"),
            tr.priority.as_deref().unwrap_or("—"),
            tr.assignee.as_deref().unwrap_or("—"),
            if tr.nature.is_empty() {
                "—".to_owned()
            } else {
                tr.nature.join(", ")
            },
        ));
    }
    if let Some(advice) = &tr.advice {
        t.push_str(&format!("Advice given: {advice}\n"));
    }
    if staff && !view.events.is_empty() {
        t.push_str("\nHistory:\n");
        for e in &view.events {
            t.push_str(&format!(
                "  {}  {}  {}  {}\n",
                local_time(e.at),
                e.actor,
                e.action,
                e.detail
            ));
        }
    }
    t
}

fn show(view: &ReportView, as_json: bool, now: Timestamp) -> Result<(), CliError> {
    if as_json {
        json(&view.answer(true, now))
    } else {
        out(&report_text(view, now, true))
    }
}

fn parse_consent(value: Option<String>) -> Result<Option<bool>, CliError> {
    match value.as_deref() {
        None => Ok(None),
        Some("yes") => Ok(Some(true)),
        Some("no") => Ok(Some(false)),
        Some(other) => Err(CliError::user(format!(
            "--consent: `{other}` is not yes or no"
        ))),
    }
}

fn instant(name: &str, value: Option<String>) -> Result<Option<Timestamp>, CliError> {
    value
        .map(|v| {
            v.parse::<Timestamp>().map_err(|_| {
                CliError::user(format!(
                    "--{name}: `{v}` is not an RFC 3339 instant (such as 2026-09-01T10:00:00Z)"
                ))
            })
        })
        .transpose()
}

pub(crate) fn report(app: &App, me: &Principal, command: ReportCommand) -> Result<(), CliError> {
    let now = app.clock().now();
    match command {
        ReportCommand::File {
            file,
            json: as_json,
        } => {
            let value = read_json(file.as_deref().unwrap_or(Path::new("-")))?;
            let view = app.file_report(me, value)?;
            if as_json {
                return show(&view, true, now);
            }
            out(&format!(
                "Filed {}.\n\n{}",
                view.row.id,
                report_text(&view, now, true)
            ))
        }
        ReportCommand::Show { id, json: as_json } => show(&app.report(me, &id)?, as_json, now),
        ReportCommand::List {
            overdue,
            status,
            reporter,
            limit,
            offset,
            json: as_json,
        } => {
            let query = ReportQuery {
                reporter: reporter
                    .map(|r| {
                        OrgSlug::parse(&r).map_err(|e| CliError::user(format!("--reporter: {e}")))
                    })
                    .transpose()?,
                status: status
                    .map(|s| {
                        s.parse::<ReportStatus>()
                            .map_err(|e| CliError::user(format!("--status: {e}")))
                    })
                    .transpose()?,
                offset,
                limit: limit.clamp(1, 10_000),
                ..ReportQuery::default()
            };
            let page = app.reports(me, &query, overdue)?;
            if as_json {
                return json(&json!({
                    "reports": page.reports.iter().map(|r| r.summary(true, now)).collect::<Vec<_>>(),
                    "total": page.total,
                }));
            }
            let rows: Vec<Vec<String>> = page
                .reports
                .iter()
                .map(|r| {
                    let s = r.summary(true, now);
                    vec![
                        s.id,
                        s.status,
                        s.priority.unwrap_or_else(|| "—".into()),
                        s.reporter,
                        local_time(r.row.aware_at),
                        if s.overdue.is_empty() {
                            r.next_due().map_or_else(
                                || "—".into(),
                                |d| format!("next {}", time_left(d, now)),
                            )
                        } else {
                            format!("OVERDUE {}", s.overdue.join(", "))
                        },
                        s.title,
                    ]
                })
                .collect();
            out(&format!(
                "{}{} of {} reports\n",
                table(
                    &[
                        "ID", "STATUS", "PRIORITY", "REPORTER", "AWARE", "CLOCKS", "TITLE"
                    ],
                    &rows
                ),
                rows.len(),
                page.total
            ))
        }
        ReportCommand::Clocks { id, json: as_json } => {
            let view = app.report(me, &id)?;
            if as_json {
                return json(
                    &view
                        .clocks
                        .clocks
                        .iter()
                        .map(|c| clock_record(c, now))
                        .collect::<Vec<_>>(),
                );
            }
            out(&format!(
                "Reporting clocks of {} ({}):\n{}",
                view.row.id,
                view.report.reporter,
                clocks_text(&view, now)
            ))
        }
        ReportCommand::Submit {
            id,
            regime,
            step,
            at,
            json: as_json,
        } => {
            let at = instant("at", at)?;
            let view = app.submit_step(me, &id, &regime, &step, at)?;
            if as_json {
                return show(&view, true, now);
            }
            out(&format!(
                "Recorded {regime}/{step} as submitted.\n{}",
                clocks_text(&view, now)
            ))
        }
        ReportCommand::Triage {
            id,
            status,
            impact,
            priority,
            nature,
            assignee,
            advice,
            note,
            consent,
            json: as_json,
        } => {
            let request = TriageRequest {
                nature,
                impact,
                priority,
                assignee,
                advice,
                status,
                note,
                identity_consent: parse_consent(consent)?,
            };
            let view = app.triage(me, &id, &request)?;
            show(&view, as_json, now)
        }
        ReportCommand::Item {
            id,
            tlp,
            title,
            json: as_json,
        } => {
            let tlp = tlp
                .map(|t| {
                    t.parse::<Tlp>()
                        .map_err(|e| CliError::user(format!("--tlp: {e}")))
                })
                .transpose()?;
            let item = app.item_from_report(me, &id, &ItemFromReport { tlp, title })?;
            if as_json {
                return json(&item.answer());
            }
            out(&format!(
                "Made draft item {} from {id} ({}).\nReview it with `schakel item show {}`, then plan it with `schakel item plan {}`.\n",
                item.row.id,
                if item.item.facts.concerns.is_empty() {
                    "the reporter's identity removed"
                } else {
                    "naming the reporter, who consented"
                },
                item.row.id,
                item.row.id
            ))
        }
        ReportCommand::Regimes { json: as_json } => {
            let regimes = schakel_formats::regimes::RegimeRecord::all(app.regimes());
            if as_json {
                return json(&regimes);
            }
            let list = |items: &[String], joiner: &str| {
                if items.is_empty() {
                    "any".to_owned()
                } else {
                    items.join(joiner)
                }
            };
            let mut t = String::new();
            for r in &regimes {
                t.push_str(&format!(
                    "{} — {} ({})\n  report to: {}\n  applies to: designations {}; sectors {}; when {}\n  steps: {}\n",
                    r.id,
                    r.name,
                    crate::decide::cited(&r.citation, r.citation_uncertain),
                    r.report_to,
                    list(&r.designations_any, " or "),
                    list(&r.sectors_any, " or "),
                    list(&r.facts_all, " and "),
                    r.steps.join(", "),
                ));
                if !r.displaces.is_empty() {
                    t.push_str(&format!("  displaces: {}\n", r.displaces.join(", ")));
                }
            }
            out(&t)
        }
    }
}

fn advice_text(a: &AdviceRecord) -> String {
    format!(
        "{} [{}] {} — {}\n  follow-up {} · given by {} · measures: {}\n",
        a.id,
        a.state,
        a.organisation,
        a.title,
        a.follow_up,
        a.given_by,
        a.measures.join("; ")
    )
}

pub(crate) fn advice(app: &App, me: &Principal, command: AdviceCommand) -> Result<(), CliError> {
    match command {
        AdviceCommand::Give {
            organisation,
            title,
            measures,
            follow_up,
            report,
            cves,
            json: as_json,
        } => {
            let advice = app.give_advice(
                me,
                &AdviceRequest {
                    organisation,
                    title,
                    measures,
                    follow_up,
                    report,
                    cves,
                },
            )?;
            let record = advice.record();
            if as_json {
                return json(&record);
            }
            out(&format!("Recorded advice.\n{}", advice_text(&record)))
        }
        AdviceCommand::List {
            flagged,
            json: as_json,
        } => {
            let list: Vec<AdviceRecord> = app
                .advice_list(me, flagged)?
                .iter()
                .map(|a| a.record())
                .collect();
            if as_json {
                return json(&list);
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|a| {
                    vec![
                        a.id.clone(),
                        a.state.clone(),
                        a.follow_up.clone(),
                        a.organisation.clone(),
                        a.title.clone(),
                    ]
                })
                .collect();
            out(&format!(
                "{}{} piece(s) of advice\n",
                table(
                    &["ID", "STATE", "FOLLOW-UP", "ORGANISATION", "TITLE"],
                    &rows
                ),
                rows.len()
            ))
        }
        AdviceCommand::Confirm {
            id,
            note,
            json: as_json,
        } => {
            let record = app.confirm_advice(me, &id, &note)?.record();
            if as_json {
                return json(&record);
            }
            out(&format!(
                "Recorded the confirmation.\n{}",
                advice_text(&record)
            ))
        }
        AdviceCommand::Escalate { id, json: as_json } => {
            let (advice, item) = app.escalate_advice(me, &id)?;
            let plan = app.plan(me, &item.row.id)?;
            if as_json {
                return json(
                    &json!({"advice": advice.record(), "item": item.answer(), "plan": plan.record()}),
                );
            }
            out(&format!(
                "Escalated {id}: draft item {}.\n{}\nNext: a second person approves (`schakel item approve {}`), then `schakel item send {}`.\n",
                item.row.id,
                crate::items::plan_text(&plan),
                item.row.id,
                item.row.id
            ))
        }
    }
}

pub(crate) fn woo(app: &App, me: &Principal, command: WooCommand) -> Result<(), CliError> {
    let WooCommand::Export {
        from,
        to,
        out: target,
        json: as_json,
    } = command;
    let from = parse_date(&from).map_err(|e| CliError::user(format!("--from: {e}")))?;
    let to = parse_date(&to).map_err(|e| CliError::user(format!("--to: {e}")))?;
    let export = app.woo_export(me, from, to)?;
    let text = if as_json {
        json_text(&export)?
    } else {
        export.markdown()
    };
    match target {
        Some(path) => {
            write_atomically(&path, &text)?;
            eprintln!(
                "Wrote {} report(s) with {} redaction(s) to {}.",
                export.reports.len(),
                export.redactions.len(),
                path.display()
            );
            Ok(())
        }
        None => out(&text),
    }
}

/// The arguments of `schakel stats`.
pub(crate) struct StatsArgs {
    pub period: String,
    pub json: bool,
    pub csv: bool,
    pub svg: bool,
    pub options: StatsOptions,
    pub out: Option<std::path::PathBuf>,
}

pub(crate) fn stats(app: &App, me: &Principal, args: StatsArgs) -> Result<(), CliError> {
    let stats = app.statistics(me, &args.period, args.options)?;
    let text = if args.json {
        json_text(&stats)?
    } else if args.csv {
        stats_csv(&stats)
    } else if args.svg {
        stats_svg(&stats)
    } else {
        let mut t = format!(
            "Incident reports {} by the reporter's first sector and category\n(a number is shown only when it holds at least {} reports from at least {} organisations and reveals no withheld one; · = withheld)\n\n",
            stats.period, stats.threshold, stats.min_organisations
        );
        let csv = stats_csv(&stats);
        let rows: Vec<Vec<String>> = csv
            .lines()
            .map(|l| {
                l.split(',')
                    .map(|c| {
                        if c.is_empty() {
                            "·".to_owned()
                        } else {
                            c.to_owned()
                        }
                    })
                    .collect()
            })
            .collect();
        if let Some((header, body)) = rows.split_first() {
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            t.push_str(&table(&header, body));
        }
        t
    };
    to_file_or_out(args.out.as_deref(), &text)
}
