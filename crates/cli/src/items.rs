//! `schakel item …`, `schakel outbox …`, `schakel webhook …`: distribution from the
//! terminal, in sentences for a duty officer or JSON for programs.

use std::path::Path;

use schakel_app::{App, Plan};
use schakel_domain::{
    Channel, DeliveryState, ItemKind, ItemStatus, OrgSlug, Principal, Tlp, ValueError,
};
use schakel_formats::item::ItemAnswer;
use schakel_store::{DeliveryQuery, ItemQuery};
use serde_json::json;

use crate::args::{
    AuditCommand, ItemCommand, KeyCommand, OutboxCommand, ReviewCommand, WebhookCommand,
};
use crate::commands::{CliError, date_arg, read_json};
use crate::files::write_atomically;
use crate::output::{json, json_text, local_time, out, table, to_file_or_out};

fn option<T: std::str::FromStr<Err = ValueError>>(
    name: &str,
    value: Option<String>,
) -> Result<Option<T>, CliError> {
    value
        .map(|v| {
            v.parse::<T>()
                .map_err(|e| CliError::user(format!("--{name}: {e}")))
        })
        .transpose()
}

fn item_text(a: &ItemAnswer) -> String {
    let mut t = format!(
        "{} (version {}, {}): {}\n  {} · TLP:{} · created by {} at {}\n",
        a.id,
        a.version,
        a.status,
        a.item.title,
        a.item.kind,
        a.item.tlp,
        a.created_by,
        a.created_at
    );
    if !a.item.concerns.is_empty() {
        t.push_str(&format!("  concerns: {}\n", a.item.concerns.join(", ")));
    }
    if a.needs_approval {
        t.push_str("  needs a second person's approval before sending (four eyes)\n");
    }
    t
}

pub(crate) fn plan_text(plan: &Plan) -> String {
    let r = plan.record();
    let mut t = format!(
        "Plan for {} version {} on {} under {} ({})\n",
        r.item, r.version, r.at, r.rulebook, r.plan_hash
    );
    if r.needs_approval {
        t.push_str("Sending needs a second person's approval of this plan (four eyes).\n");
    }
    t.push_str(&format!("\nPermitted ({}):\n", r.permits.len()));
    for p in &r.permits {
        let route = match &p.route {
            Some(route) if !route.on_behalf_of.is_empty() => {
                format!(
                    "via linking organisation, for {}",
                    route.on_behalf_of.join(", ")
                )
            }
            _ => "direct".to_owned(),
        };
        let bases: Vec<&str> = p.bases.iter().map(|b| b.rule.as_str()).collect();
        t.push_str(&format!(
            "  {} — {route}; basis {}{}\n",
            p.recipient,
            bases.join(", "),
            if p.conditions.is_empty() {
                String::new()
            } else {
                format!("; conditions: {}", p.conditions.join(", "))
            }
        ));
        for c in &p.channels {
            let address = c
                .address
                .as_deref()
                .map(|a| format!(" {a}"))
                .unwrap_or_default();
            let encrypted = match c.encrypted {
                Some(true) => " (encrypted)",
                Some(false) => " (not encrypted)",
                None => "",
            };
            let usable = if c.usable { "" } else { " — NOT USED" };
            let note = c
                .note
                .as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default();
            t.push_str(&format!(
                "      {}{address}{encrypted}{usable}{note}\n",
                c.channel
            ));
        }
        if !p.reachable {
            t.push_str("      ! no usable channel: the delivery waits in the inbox until the organisation has a token or a contact\n");
        }
    }
    t.push_str(&format!("\nDenied ({}):\n", r.denies.len()));
    for d in &r.denies {
        t.push_str(&format!("  {}\n", d.recipient));
        for reason in &d.reasons {
            t.push_str(&format!("      {}: {}\n", reason.rule, reason.explanation));
            if let Some(remedy) = &reason.remedy {
                t.push_str(&format!("        remedy: {}\n", remedy.text));
            }
        }
    }
    t
}

/// `schakel item …`.
pub(crate) fn item(app: &App, me: &Principal, command: ItemCommand) -> Result<(), CliError> {
    match command {
        ItemCommand::Create {
            file,
            json: as_json,
        } => {
            let value = read_json(file.as_deref().unwrap_or(Path::new("-")))?;
            let view = app.create_item(me, value)?;
            if as_json {
                json(&view.answer())
            } else {
                out(&format!("Created {}", item_text(&view.answer())))
            }
        }
        ItemCommand::Show { id, json: as_json } => {
            let view = app.item(me, &id)?;
            if as_json {
                json(&view.answer())
            } else {
                out(&item_text(&view.answer()))
            }
        }
        ItemCommand::List {
            status,
            kind,
            tlp,
            limit,
            offset,
            json: as_json,
        } => {
            let query = ItemQuery {
                status: option::<ItemStatus>("status", status)?,
                kind: option::<ItemKind>("kind", kind)?,
                tlp: option::<Tlp>("tlp", tlp)?,
                offset,
                limit: limit.clamp(1, 10_000),
            };
            let page = app.items(me, &query)?;
            if as_json {
                return json(&json!({
                    "items": page.items.iter().map(schakel_app::item_summary).collect::<Vec<_>>(),
                    "total": page.total,
                }));
            }
            let rows: Vec<Vec<String>> = page
                .items
                .iter()
                .map(|i| {
                    vec![
                        i.id.clone(),
                        i.status.as_str().to_owned(),
                        format!("TLP:{}", i.tlp),
                        i.kind.as_str().to_owned(),
                        local_time(i.created_at),
                        i.title.clone(),
                    ]
                })
                .collect();
            out(&format!(
                "{}{} of {} items\n",
                table(&["ID", "STATUS", "TLP", "KIND", "CREATED", "TITLE"], &rows),
                rows.len(),
                page.total
            ))
        }
        ItemCommand::Correct {
            id,
            file,
            json: as_json,
        } => {
            let value = read_json(file.as_deref().unwrap_or(Path::new("-")))?;
            let view = app.correct_item(me, &id, value)?;
            if as_json {
                json(&view.answer())
            } else {
                out(&format!(
                    "Corrected {}; `schakel item plan {id}` shows who receives version {}.\n",
                    item_text(&view.answer()).trim_end(),
                    view.row.version
                ))
            }
        }
        ItemCommand::Retract {
            id,
            reason,
            json: as_json,
        } => {
            let outcome = app.retract_item(me, &id, reason.as_deref())?;
            let (word, text) = match &outcome {
                schakel_app::Retraction::Withdrawn => (
                    "withdrawn",
                    format!("{id} was never sent; it is withdrawn.\n"),
                ),
                schakel_app::Retraction::Sent(report) => (
                    "sent",
                    format!(
                        "Retraction notice of {id} sent: {} deliveries to {} recipients.\n",
                        report.deliveries.len(),
                        report.plan.permits.len()
                    ),
                ),
                schakel_app::Retraction::AwaitingApproval(why) => (
                    "awaiting_approval",
                    format!("The retraction notice of {id} waits: {why}\n"),
                ),
            };
            if as_json {
                json(&json!({"item": id, "outcome": word}))
            } else {
                out(&text)
            }
        }
        ItemCommand::Plan { id, json: as_json } => {
            let plan = app.plan(me, &id)?;
            if as_json {
                json(&plan.record())
            } else {
                out(&plan_text(&plan))
            }
        }
        ItemCommand::Approve {
            id,
            plan_hash,
            json: as_json,
        } => {
            let (plan, approval) = app.approve_item(me, &id, plan_hash.as_deref())?;
            if as_json {
                json(&plan.record())
            } else {
                out(&format!(
                    "Approved plan {} of {} version {} (by {}).\n",
                    approval.plan_hash, id, approval.version, approval.approved_by
                ))
            }
        }
        ItemCommand::Send {
            id,
            plan_hash,
            json: as_json,
        } => {
            let report = app.send_item(me, &id, plan_hash.as_deref())?;
            if as_json {
                return json(&report.record());
            }
            let count = |c: Channel| report.deliveries.iter().filter(|d| d.2 == c).count();
            out(&format!(
                "Sent {id}: {} deliveries to {} recipients (inbox {}, email {}, webhook {}); {} candidates denied.\n",
                report.deliveries.len(),
                report.plan.permits.len(),
                count(Channel::Inbox),
                count(Channel::Email),
                count(Channel::Webhook),
                report.plan.denies.len()
            ))
        }
    }
}

/// `schakel outbox …`.
pub(crate) fn outbox(app: &App, me: &Principal, command: OutboxCommand) -> Result<(), CliError> {
    match command {
        OutboxCommand::Requeue { id, json: as_json } => {
            let d = app.requeue(me, &id)?;
            if as_json {
                json(&json!({"id": d.id, "state": d.state.as_str()}))
            } else {
                out(&format!("{} is pending again, due now.\n", d.id))
            }
        }
        OutboxCommand::List {
            item,
            recipient,
            state,
            limit,
            json: as_json,
        } => {
            let query = DeliveryQuery {
                item_id: item,
                recipient: recipient
                    .map(|r| OrgSlug::parse(&r))
                    .transpose()
                    .map_err(|e| CliError::user(format!("--recipient: {e}")))?,
                state: option::<DeliveryState>("state", state)?,
                limit: limit.clamp(1, 100_000),
                ..DeliveryQuery::default()
            };
            let page = app.outbox(me, &query)?;
            if as_json {
                return json(&json!({
                    "items": page.deliveries.iter().map(schakel_app::delivery_record).collect::<Vec<_>>(),
                    "total": page.total,
                }));
            }
            let rows: Vec<Vec<String>> = page
                .deliveries
                .iter()
                .map(|d| {
                    vec![
                        d.id.clone(),
                        d.item_id.clone(),
                        d.recipient.to_string(),
                        d.channel.as_str().to_owned(),
                        d.state.as_str().to_owned(),
                        d.attempts.to_string(),
                        d.last_error.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            out(&format!(
                "{}{} of {} deliveries\n",
                table(
                    &[
                        "ID",
                        "ITEM",
                        "RECIPIENT",
                        "CHANNEL",
                        "STATE",
                        "ATTEMPTS",
                        "NOTE"
                    ],
                    &rows
                ),
                rows.len(),
                page.total
            ))
        }
    }
}

/// `schakel webhook …`.
pub(crate) fn webhook(app: &App, me: &Principal, command: WebhookCommand) -> Result<(), CliError> {
    match command {
        WebhookCommand::Secret {
            slug,
            json: as_json,
        } => {
            let secret = app.new_webhook_secret(me, &slug)?;
            if as_json {
                json(&json!({"organisation": slug, "secret": secret}))
            } else {
                out(&format!(
                    "{secret}\nGive this to {slug} once, over a channel you trust: it verifies the `webhook-signature` of every webhook schakel sends it. It is not shown again.\n"
                ))
            }
        }
    }
}

/// The email courier, when an SMTP server is configured (it needs the centre's key to sign).
pub(crate) fn email_courier(
    mail: &crate::args::MailArgs,
    key: &Path,
) -> Result<Option<schakel_delivery::EmailCourier>, CliError> {
    let Some(url) = &mail.smtp_url else {
        return Ok(None);
    };
    let centre = load_key(key)?;
    let ca = mail
        .smtp_ca
        .as_ref()
        .map(|path| {
            std::fs::read(path).map_err(|e| {
                CliError::user(format!("--smtp-ca: cannot read `{}`: {e}", path.display()))
            })
        })
        .transpose()?;
    schakel_delivery::EmailCourier::with_ca(url, &mail.smtp_from, centre, ca.as_deref())
        .map(Some)
        .map_err(CliError::user)
}

/// Enqueues reminders for inbox deliveries not acknowledged in time (`--remind-after`).
pub(crate) fn reminders(
    app: &App,
    me: &Principal,
    mail: &crate::args::MailArgs,
) -> Result<Vec<String>, CliError> {
    if mail.remind_after == 0 {
        return Ok(vec![]);
    }
    let hours = i64::try_from(mail.remind_after).unwrap_or(i64::MAX / 3600);
    Ok(app.send_reminders(me, jiff::SignedDuration::from_hours(hours))?)
}

/// `schakel deliver --once`.
pub(crate) fn deliver(
    app: &App,
    me: &Principal,
    once: bool,
    mail: &crate::args::MailArgs,
    key: &Path,
    limit: u64,
    as_json: bool,
) -> Result<(), CliError> {
    if !once {
        return Err(CliError::user(
            "`schakel deliver` runs one pass with `--once`; `schakel serve` delivers continuously",
        ));
    }
    let webhooks = schakel_delivery::WebhookCourier::new(app.webhook_targets());
    let email = email_courier(mail, key)?;
    let mut couriers: Vec<&dyn schakel_app::Courier> = vec![&webhooks];
    if let Some(email) = &email {
        couriers.push(email);
    }
    let reminders = reminders(app, me, mail)?;
    let run = app.deliver_once(me, &couriers, limit.max(1))?;
    if as_json {
        return json(&json!({
            "reminders": reminders,
            "delivered": run.delivered,
            "retried": run.retried,
            "dead": run.dead,
            "held": run.held,
            "skipped": run.skipped,
        }));
    }
    out(&format!(
        "delivered {}, to retry {}, dead {}, held {}, waiting for a courier {} (email needs --smtp-url)\n",
        run.delivered.len(),
        run.retried.len(),
        run.dead.len(),
        run.held.len(),
        run.skipped.len()
    ))
}

/// `schakel audit …`.
pub(crate) fn audit(
    app: &App,
    me: &Principal,
    key: &Path,
    command: AuditCommand,
) -> Result<(), CliError> {
    match command {
        AuditCommand::Sign { out: target } => {
            let centre = load_key(key)?;
            let head = app.sign_audit_head(me, &centre)?;
            let text = json_text(&head)?;
            match target {
                None => out(&text),
                Some(path) => {
                    write_atomically(&path, &text)?;
                    out(&format!(
                        "Signed head {} {} with key {}; kept in {}.\n",
                        head.seq,
                        head.hash,
                        head.fingerprint,
                        path.display()
                    ))
                }
            }
        }
        AuditCommand::Verify {
            head,
            json: as_json,
        } => {
            let known = head
                .map(|path| -> Result<schakel_app::SignedHead, CliError> {
                    let text = std::fs::read_to_string(&path).map_err(|e| {
                        CliError::user(format!("cannot read `{}`: {e}", path.display()))
                    })?;
                    serde_json::from_str(&text).map_err(|e| {
                        CliError::user(format!("`{}` is not a signed head: {e}", path.display()))
                    })
                })
                .transpose()?;
            let centre = key.exists().then(|| load_key(key)).transpose()?;
            let v = app.verify_audit(
                me,
                centre.as_ref().map(|k| k as &dyn schakel_app::Signer),
                known.as_ref(),
            )?;
            if as_json {
                json(&json!({
                    "entries": v.entries,
                    "intact": v.intact(),
                    "head": v.head.as_ref().map(|(seq, hash)| json!({"seq": seq, "hash": hash})),
                    "signed_heads_checked": v.heads_checked,
                    "signatures_checked": centre.is_some(),
                    "problems": v.problems,
                }))?;
            } else if v.intact() {
                out(&format!(
                    "The audit chain is intact: {} entries{}; {} signed head(s) checked{}.\n",
                    v.entries,
                    v.head
                        .as_ref()
                        .map(|(seq, hash)| format!(", head {seq} {hash}"))
                        .unwrap_or_default(),
                    v.heads_checked,
                    if centre.is_some() {
                        ", signatures verified with the centre's key"
                    } else {
                        " (no centre key here: signatures not verified)"
                    }
                ))?;
            } else {
                let mut t = format!("The audit chain is BROKEN ({} entries read):\n", v.entries);
                for p in &v.problems {
                    t.push_str(&format!("  {p}\n"));
                }
                out(&t)?;
            }
            if v.intact() {
                Ok(())
            } else {
                Err(CliError::user(format!(
                    "{} break(s) in the audit chain",
                    v.problems.len()
                )))
            }
        }
        AuditCommand::Export {
            from,
            to,
            out: target,
        } => {
            let from = date_arg("from", Some(&from))?.ok_or_else(|| CliError::user("--from"))?;
            let to = date_arg("to", Some(&to))?.ok_or_else(|| CliError::user("--to"))?;
            let export = app.export_audit(me, from, to)?;
            to_file_or_out(target.as_deref(), &json_text(&export)?)
        }
    }
}

fn load_key(path: &Path) -> Result<schakel_delivery::CentreKey, CliError> {
    schakel_delivery::CentreKey::load(path).map_err(|e| {
        CliError::user(format!(
            "{e}\n(create the centre's key with `schakel key init`, or point --key at it)"
        ))
    })
}

/// `schakel key …`.
pub(crate) fn key(path: &Path, command: KeyCommand) -> Result<(), CliError> {
    match command {
        KeyCommand::Init { user_id } => {
            if path.exists() {
                return Err(CliError::user(format!(
                    "`{}` exists; a key is never overwritten",
                    path.display()
                )));
            }
            let key = schakel_delivery::CentreKey::generate(&user_id).map_err(CliError::user)?;
            key.save(path).map_err(CliError::user)?;
            out(&format!(
                "Created the centre's key {} in {} (readable only by you). Publish `schakel key show`.\n",
                key.fingerprint(),
                path.display()
            ))
        }
        KeyCommand::Show => {
            let key = load_key(path)?;
            out(&format!(
                "fingerprint {}\n{}",
                key.fingerprint(),
                key.public_armored().map_err(CliError::user)?
            ))
        }
    }
}

/// `schakel review …`.
pub(crate) fn review(app: &App, me: &Principal, command: ReviewCommand) -> Result<(), CliError> {
    match command {
        ReviewCommand::List {
            since,
            json: as_json,
        } => {
            let since = date_arg("since", since.as_deref())?;
            let entries = app.reviews(me, since)?;
            let records: Vec<_> = entries.iter().map(|e| e.record()).collect();
            if as_json {
                return json(&records);
            }
            let mut t = String::new();
            for r in &records {
                t.push_str(&format!(
                    "{} (version {}, {}, TLP:{}): {}\n",
                    r.item, r.version, r.status, r.tlp, r.title
                ));
                for d in &r.denies {
                    t.push_str(&format!("  {}\n", d.recipient));
                    for reason in &d.reasons {
                        t.push_str(&format!("      {}: {}\n", reason.rule, reason.explanation));
                        if let Some(remedy) = &reason.remedy {
                            t.push_str(&format!("        remedy: {}\n", remedy.text));
                        }
                    }
                }
            }
            t.push_str(&format!("{} item(s) with denies\n", records.len()));
            out(&t)
        }
    }
}
