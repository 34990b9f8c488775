//! `schakel feed ingest`: the feed files streamed through the app, a progress bar with
//! rows/s on a terminal (quiet otherwise), and the run summary in sentences or JSON.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use schakel_app::{App, FeedInput, FeedOptions, FeedProgress};
use schakel_domain::Principal;
use schakel_feeds::{Format, parse_mapping};
use schakel_formats::feed::FeedSummaryRecord;

use crate::args::FeedCommand;
use crate::commands::CliError;
use crate::output::{json, out, table};

/// Counts the bytes read, for the progress bar.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Where the de-duplication state lives: beside the database.
pub(crate) fn state_dir(db: &Path) -> PathBuf {
    let name = db
        .file_name()
        .map_or_else(|| "schakel.db".into(), |n| n.to_string_lossy().into_owned());
    db.with_file_name(format!("{name}.feed-seen"))
}

pub(crate) fn feed(app: &App, me: &Principal, command: FeedCommand) -> Result<(), CliError> {
    let (files, format, report, mapping, shadowserver_schema, plan_only, window, as_json) =
        match command {
            FeedCommand::Ingest {
                files,
                format,
                report,
                mapping,
                shadowserver_schema,
                plan_only,
                window,
                json,
            } => (
                files,
                format,
                report,
                mapping,
                shadowserver_schema,
                plan_only,
                window,
                json,
            ),
            FeedCommand::Approve {
                report,
                note,
                json: as_json,
            } => {
                let record = app.approve_feed_report(me, &report, note.as_deref())?;
                if as_json {
                    return json(&record);
                }
                return out(&format!(
                    "Standing approval of `{}` recorded ({} at {}). Its notifications may be sent without another approval, by anyone but {}.\n",
                    record.report, record.approved_by, record.approved_at, record.approved_by
                ));
            }
            FeedCommand::Revoke { report } => {
                app.revoke_feed_report(me, &report)?;
                return out(&format!(
                    "The standing approval of `{report}` is revoked.\n"
                ));
            }
            FeedCommand::Runs {
                limit,
                offset,
                json: as_json,
            } => {
                let (runs, total) = app.feed_runs(me, limit, offset)?;
                if as_json {
                    return json(&serde_json::json!({"runs": runs, "total": total}));
                }
                let rows: Vec<Vec<String>> = runs
                    .iter()
                    .map(|r| {
                        vec![
                            r.id.clone(),
                            r.started_at.clone(),
                            r.run_by.clone(),
                            r.reports.join(", "),
                            r.rows.to_string(),
                            r.sent.to_string(),
                            r.awaiting_approval.to_string(),
                            r.retracted.to_string(),
                            r.undelivered.to_string(),
                        ]
                    })
                    .collect();
                let mut text = table(
                    &[
                        "RUN",
                        "STARTED",
                        "BY",
                        "REPORTS",
                        "ROWS",
                        "SENT",
                        "AWAITING",
                        "WITHDRAWN",
                        "UNDELIVERED",
                    ],
                    &rows,
                );
                text.push_str(&format!("{} of {total} run(s)\n", runs.len()));
                return out(&text);
            }
            FeedCommand::Purge {
                before,
                json: as_json,
            } => {
                let before = schakel_domain::parse_date(&before)
                    .map_err(|e| CliError::user(format!("--before: {}", e.0)))?;
                let record = app.purge_feed_rows(me, before)?;
                if as_json {
                    return json(&record);
                }
                let mut text = format!(
                    "Rows of {} run(s) started before {} deleted ({} rows).\n",
                    record.purged.len(),
                    record.before,
                    record.purged.iter().map(|p| p.rows).sum::<u64>()
                );
                for k in &record.kept {
                    text.push_str(&format!("  kept {}: {}\n", k.run, k.reason));
                }
                return out(&text);
            }
            FeedCommand::Show { run, json: as_json } => {
                let detail = app.feed_run(me, &run)?;
                if as_json {
                    return json(&detail);
                }
                let mut text = summary_text(&detail.summary);
                if let Some(at) = &detail.rows_purged_at {
                    text.push_str(&format!("\nIts rows were deleted at {at} (retention).\n"));
                }
                let rows: Vec<Vec<String>> = detail
                    .messages
                    .iter()
                    .map(|m| {
                        vec![
                            m.recipient.clone(),
                            m.report.clone(),
                            m.item.clone(),
                            m.status.clone(),
                            m.deliveries
                                .iter()
                                .map(|(channel, state)| format!("{channel} {state}"))
                                .collect::<Vec<_>>()
                                .join(", "),
                            m.acknowledged_at.clone().unwrap_or_else(|| "no".into()),
                        ]
                    })
                    .collect();
                text.push_str("\nDid it reach them:\n");
                text.push_str(&table(
                    &[
                        "RECIPIENT",
                        "REPORT",
                        "ITEM",
                        "STATUS",
                        "DELIVERIES",
                        "ACKNOWLEDGED",
                    ],
                    &rows,
                ));
                return out(&text);
            }
            FeedCommand::Approvals { json: as_json } => {
                let list = app.feed_approvals(me)?;
                if as_json {
                    return json(&list);
                }
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|a| {
                        vec![
                            a.report.clone(),
                            a.approved_by.clone(),
                            a.approved_at.clone(),
                            a.revoked_at
                                .clone()
                                .map_or_else(|| "live".into(), |r| format!("revoked {r}")),
                            a.note.clone().unwrap_or_default(),
                        ]
                    })
                    .collect();
                return out(&table(
                    &["REPORT", "APPROVED BY", "AT", "STATE", "NOTE"],
                    &rows,
                ));
            }
        };
    let format = Format::parse(&format).ok_or_else(|| {
        CliError::user(format!(
            "--format: `{format}` is not shadowserver, csv, stix or misp"
        ))
    })?;
    let read_text = |p: &Path, what: &str| {
        std::fs::read_to_string(p)
            .map_err(|e| CliError::user(format!("cannot read {what} `{}`: {e}", p.display())))
    };
    let mapping = match &mapping {
        Some(p) => Some(
            parse_mapping(&read_text(p, "the mapping")?)
                .map_err(|e| CliError::user(format!("`{}`: {e}", p.display())))?,
        ),
        None if format == Format::Csv => {
            return Err(CliError::user(
                "--format csv needs --mapping FILE (TOML: column → field)",
            ));
        }
        None => None,
    };
    let shadowserver_schema = shadowserver_schema
        .as_deref()
        .map(|p| read_text(p, "the Shadowserver schema"))
        .transpose()?;
    let read = Arc::new(AtomicU64::new(0));
    let mut total = 0u64;
    let mut inputs = Vec::new();
    let mut stdin_used = false;
    for path in &files {
        let reader: Box<dyn Read + Send> = if path.as_os_str() == "-" {
            if stdin_used {
                return Err(CliError::user("standard input (`-`) can be read only once"));
            }
            stdin_used = true;
            Box::new(std::io::stdin())
        } else {
            let file = std::fs::File::open(path)
                .map_err(|e| CliError::user(format!("cannot read `{}`: {e}", path.display())))?;
            total += file.metadata().map(|m| m.len()).unwrap_or(0);
            Box::new(file)
        };
        inputs.push(FeedInput {
            path: path.display().to_string(),
            format,
            reader: Box::new(Counting {
                inner: reader,
                read: Arc::clone(&read),
            }),
        });
    }
    let bar = if std::io::stderr().is_terminal() {
        let bar = if stdin_used || total == 0 {
            ProgressBar::new_spinner()
        } else {
            ProgressBar::new(total)
        };
        bar.set_draw_target(ProgressDrawTarget::stderr());
        let style = if stdin_used || total == 0 {
            ProgressStyle::with_template("{spinner} {msg} [{elapsed_precise}]")
        } else {
            ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {msg} [{elapsed_precise}, ETA {eta}]",
            )
        };
        if let Ok(style) = style {
            bar.set_style(style);
        }
        Some(bar)
    } else {
        None
    };
    // Rows per second from the first batch read (not counting the registry load).
    let mut first: Option<(Instant, u64)> = None;
    let mut progress = |step: FeedProgress| {
        let Some(bar) = &bar else {
            return;
        };
        match step {
            FeedProgress::Read(rows) => {
                bar.set_position(read.load(Ordering::Relaxed));
                let (since, base) = *first.get_or_insert((Instant::now(), rows));
                let seconds = since.elapsed().as_secs_f64();
                let rate = if seconds > 0.05 {
                    format!(", {:.0} rows/s", (rows - base) as f64 / seconds)
                } else {
                    String::new()
                };
                bar.set_message(format!("{rows} rows{rate}"));
            }
            FeedProgress::Stored(rows) => {
                bar.set_message(format!("storing the notified rows: {rows}"));
            }
            FeedProgress::Messages { done, total } => {
                bar.set_message(format!("messages: {done} of {total}"));
            }
        }
    };
    let options = FeedOptions {
        report,
        mapping,
        shadowserver_schema,
        plan_only,
        window_days: window,
        state_dir: None,
    };
    let summary = app.ingest_feed(me, inputs, &options, &mut progress);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let summary = summary?;
    if as_json {
        return json(&summary);
    }
    out(&summary_text(&summary))
}

fn summary_text(s: &FeedSummaryRecord) -> String {
    let mut t = format!(
        "{} {} rows in {:.2} s ({:.0} rows/s): {} parsed, {} malformed; {} resolved to {} organisation(s), {} unresolved; {} repeats left out.\n",
        if s.plan_only {
            "Planned (nothing changed):"
        } else {
            "Ingested"
        },
        s.rows,
        s.seconds,
        s.rows as f64 / s.seconds.max(1e-9),
        s.parsed,
        s.malformed,
        s.resolved,
        s.by_organisation.len(),
        s.unresolved,
        s.deduplicated
    );
    for f in &s.files {
        t.push_str(&format!(
            "  {} ({}, report {}): {} rows\n",
            f.path, f.format, f.report, f.rows
        ));
    }
    for m in s.malformed_lines.iter().take(10) {
        t.push_str(&format!(
            "  malformed: {} line {}: {}\n",
            m.file, m.line, m.reason
        ));
    }
    if s.malformed > 10 {
        t.push_str(&format!(
            "  … {} more malformed (all of the first 100 are in --json)\n",
            s.malformed - 10
        ));
    }
    t.push_str(&format!(
        "\nNotifications: {} permitted, {} denied.\n",
        s.notifications.permitted, s.notifications.denied
    ));
    if let Some(run) = &s.run {
        let count = |status: &str| {
            s.permitted
                .iter()
                .filter(|p| p.status.as_deref() == Some(status))
                .count()
        };
        t.push_str(&format!(
            "Run {run}: {} message(s) sent, {} awaiting a second person's approval (`schakel item approve ITEM`, then `schakel item send ITEM`).\n",
            count("sent"),
            count("awaiting_approval")
        ));
        let superseded: usize = s.permitted.iter().map(|p| p.supersedes.len()).sum();
        if superseded > 0 {
            t.push_str(&format!(
                "{superseded} message(s) of earlier runs that were never sent are withdrawn: these replace them.\n"
            ));
        }
    }
    for w in &s.warnings {
        t.push_str(&format!("  warning: {w}\n"));
    }
    for (report, approval) in &s.standing_approvals {
        t.push_str(&match approval {
            Some(a) if a.covers_this_run => format!(
                "  {report}: standing approval by {} ({}) covers this run\n",
                a.approved_by, a.approved_at
            ),
            Some(a) => format!(
                "  {report}: the standing approval is yours ({}); another person must run the feed or approve\n",
                a.approved_by
            ),
            None => format!(
                "  {report}: no standing approval; a second person gives one with `schakel feed approve --report {report}`\n"
            ),
        });
    }
    let rows: Vec<Vec<String>> = s
        .permitted
        .iter()
        .take(40)
        .map(|n| {
            vec![
                n.recipient.clone(),
                n.report.clone(),
                if n.route == "direct" {
                    "direct".into()
                } else {
                    format!("for {} member(s)", n.organisations.len())
                },
                n.events.to_string(),
                n.bases.join(", "),
                format!("TLP:{}{}", n.tlp, if n.serious { ", serious" } else { "" }),
                match (&n.item, &n.status) {
                    (Some(item), Some(status)) => format!("{item} {status}"),
                    (None, Some(status)) => status.clone(),
                    _ => "planned".into(),
                },
            ]
        })
        .collect();
    if !rows.is_empty() {
        t.push_str(&table(
            &[
                "RECIPIENT",
                "REPORT",
                "ROUTE",
                "EVENTS",
                "BASIS",
                "FACTS",
                "ITEM",
            ],
            &rows,
        ));
        if s.permitted.len() > 40 {
            t.push_str(&format!(
                "… and {} more (see --json)\n",
                s.permitted.len() - 40
            ));
        }
    }
    if !s.denied.is_empty() {
        t.push_str("\nDenied:\n");
        for d in s.denied.iter().take(40) {
            t.push_str(&format!(
                "  {} ({}) about {}: {}{}\n",
                d.recipient,
                d.report,
                d.organisations.join(", "),
                d.reasons.join(", "),
                if d.remedies.is_empty() {
                    String::new()
                } else {
                    format!(" — {}", d.remedies.join("; "))
                }
            ));
        }
    }
    t
}
