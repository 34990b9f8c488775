//! What each command does: parse the arguments, call one use case, print the answer.

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use schakel_app::{App, AppError, ImportOptions, ImportReport, TokenKind, TokenRequest};
use schakel_domain::{Date, Organisation, Principal, Role, Status, parse_date};
use schakel_formats::registry::OrganisationRecord;
use schakel_store::{OrganisationQuery, SqliteStore, TokenRecord};
use serde_json::json;

use crate::args::{AuditCommand, Cli, Command, OrgCommand, TokenCommand, TokenCreate};
use crate::config::Settings;
use crate::files::write_atomically;
use crate::output::{json, local_time, out, table};

/// A command's failure: a message for the person and an exit status (1: user error).
#[derive(Debug)]
pub(crate) struct CliError {
    message: String,
}

impl CliError {
    pub(crate) fn user(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    pub(crate) fn exit_code(&self) -> u8 {
        1
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<AppError> for CliError {
    fn from(e: AppError) -> Self {
        CliError::user(e.to_string())
    }
}

pub(crate) fn read_input(path: &Path) -> Result<Vec<u8>, CliError> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| CliError::user(format!("cannot read standard input: {e}")))?;
        Ok(bytes)
    } else {
        std::fs::read(path)
            .map_err(|e| CliError::user(format!("cannot read `{}`: {e}", path.display())))
    }
}

pub(crate) fn read_json(path: &Path) -> Result<serde_json::Value, CliError> {
    let bytes = read_input(path)?;
    schakel_formats::json::from_slice(&bytes)
        .map_err(|e| CliError::user(format!("`{}` is not valid JSON: {e}", path.display())))
}

pub(crate) fn date_arg(name: &str, value: Option<&str>) -> Result<Option<Date>, CliError> {
    value
        .map(|v| parse_date(v).map_err(|e| CliError::user(format!("--{name}: {e}"))))
        .transpose()
}

fn open_app(cli: &Cli, settings: &Settings) -> Result<App, CliError> {
    let vocabulary = settings.vocabulary()?;
    let rulebooks = settings.rulebooks(cli.rulebooks.as_deref())?;
    let store = SqliteStore::open(&cli.db, vocabulary.clone()).map_err(|e| {
        CliError::user(format!(
            "cannot open the database `{}`: {e}",
            cli.db.display()
        ))
    })?;
    let regimes = settings.regimes(&vocabulary, cli.rulebooks.as_deref())?;
    let mut targets = settings.webhook_targets();
    // The demo is tried on one machine: its webhooks go to receivers on loopback.
    if let Command::Serve { demo: true, .. } = cli.command {
        targets.allow_private = true;
    }
    let app = App::new(
        Arc::new(store),
        vocabulary,
        Arc::new(rulebooks),
        crate::clock::clock()?,
    )
    .with_regimes(regimes)
    .with_webhook_targets(targets)
    .with_feed_field_limit(settings.feed_field_limit())
    .with_feed_state(crate::feeds::state_dir(&cli.db));
    // The secrets key: made by the first `webhook secret`, read by whatever signs.
    let secrets =
        crate::files::beside_db(cli.secrets_key.as_deref(), &cli.db, "schakel-secrets.key");
    let app = match crate::files::secrets_key(&secrets, matches!(cli.command, Command::Webhook(_)))?
    {
        Some(key) => app.with_secrets_key(key),
        None => app,
    };
    // Secrets an earlier version stored in clear are sealed as soon as there is a key.
    app.seal_stored_secrets(&App::installation())?;
    // A rulebook whose text changed since it was last used is recorded as an amendment.
    app.record_rulebooks(&App::installation())?;
    Ok(app)
}

/// Whether a command works with the installation's files alone, so that whoever can run
/// the binary on them may run it without a token, acting as the installation: tokens (the
/// way in), the demo, `serve` (its duties), `org import` (by whoever runs the
/// installation), and what needs the centre's secret key (`deliver --once`, `audit sign`).
/// Everything else the role table restricts acts as the person whose token it is given.
fn runs_as_installation(command: &Command) -> bool {
    matches!(
        command,
        Command::Token(_)
            | Command::Demo { .. }
            | Command::Serve { .. }
            | Command::Org(OrgCommand::Import { .. })
            | Command::Deliver { .. }
            | Command::Audit(AuditCommand::Sign { .. })
    )
}

/// Who a command acts as: the person (or organisation) whose token it was given, proven
/// by the token; without one, the installation, for the commands that need only its
/// files.
fn acting_as(app: &App, cli: &Cli) -> Result<Principal, CliError> {
    // `serve` answers for itself; a token in its environment does not make it a person.
    if let (Some(token), false) = (&cli.token, matches!(cli.command, Command::Serve { .. })) {
        return app.authenticate(token.trim()).map_err(|e| {
            CliError::user(format!(
                "--token (or SCHAKEL_TOKEN): {e}; `schakel token create` makes one"
            ))
        });
    }
    if runs_as_installation(&cli.command) {
        return Ok(match cli.command {
            Command::Deliver { .. } => App::delivery_worker(),
            _ => App::installation(),
        });
    }
    Err(CliError::user(
        "this command acts as a person: give your token with SCHAKEL_TOKEN (or --token); `schakel token create --role … --name …` makes one",
    ))
}

/// The centre's key file: `--key`, else `schakel-centre.asc` beside the database.
pub(crate) fn key_path(key: &Option<std::path::PathBuf>, db: &Path) -> std::path::PathBuf {
    crate::files::beside_db(key.as_deref(), db, "schakel-centre.asc")
}

pub(crate) fn run(cli: Cli) -> Result<(), CliError> {
    let (cli_key, cli_db) = (cli.key.clone(), cli.db.clone());
    if let Command::Key(command) = cli.command {
        return crate::items::key(&key_path(&cli_key, &cli_db), command);
    }
    let settings = Settings::load(cli.config.as_deref())?;
    if let Command::Rulebook(command) = cli.command {
        let rulebooks = settings.rulebooks(cli.rulebooks.as_deref())?;
        return crate::rulebook::rulebook(&rulebooks, crate::clock::clock()?.today(), command);
    }
    let app = open_app(&cli, &settings)?;
    let me = acting_as(&app, &cli)?;
    match cli.command {
        Command::Org(command) => org(&app, &me, command),
        Command::Owner {
            ip,
            at,
            json: as_json,
        } => owner(&app, &me, &ip, at.as_deref(), as_json),
        Command::Token(command) => token(&app, &me, command),
        Command::Decide {
            file,
            json: as_json,
        } => crate::decide::decide(&app, &me, file.as_deref(), as_json),
        Command::Rulebook(command) => {
            crate::rulebook::rulebook(app.rulebooks(), app.clock().today(), command)
        }
        Command::Key(command) => crate::items::key(&key_path(&cli_key, &cli_db), command),
        Command::Item(command) => crate::items::item(&app, &me, command),
        Command::Outbox(command) => crate::items::outbox(&app, &me, command),
        Command::Webhook(command) => crate::items::webhook(&app, &me, command),
        Command::Review(command) => crate::items::review(&app, &me, command),
        Command::Report(command) => crate::reports::report(&app, &me, command),
        Command::Advice(command) => crate::reports::advice(&app, &me, command),
        Command::Woo(command) => crate::reports::woo(&app, &me, command),
        Command::Feed(command) => crate::feeds::feed(&app, &me, command),
        Command::Stats {
            period,
            json: as_json,
            csv,
            svg,
            threshold,
            min_organisations,
            out: target,
        } => crate::reports::stats(
            &app,
            &me,
            crate::reports::StatsArgs {
                period,
                json: as_json,
                csv,
                svg,
                options: settings.stats_options(threshold, min_organisations),
                out: target,
            },
        ),
        Command::Audit(command) => {
            crate::items::audit(&app, &me, &key_path(&cli_key, &cli_db), command)
        }
        Command::Deliver {
            once,
            mail,
            limit,
            json: as_json,
        } => crate::items::deliver(
            &app,
            &me,
            once,
            &mail,
            &key_path(&cli_key, &cli_db),
            limit,
            as_json,
        ),
        Command::Demo { json: as_json } => {
            let report = app.load_demo(&me)?;
            print_import(&report, as_json)
        }
        Command::Serve { listen, demo, mail } => serve(
            app,
            &me,
            &mail,
            &key_path(&cli_key, &cli_db),
            ServeOptions {
                listen,
                demo,
                retain_days: settings.feed_retention(),
                limits: settings.server_limits(),
            },
        ),
    }
}

fn print_import(report: &ImportReport, as_json: bool) -> Result<(), CliError> {
    if as_json {
        return json(&json!({
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "ended": report.ended,
        }));
    }
    let mut text = format!(
        "created {}, updated {}, unchanged {}, ended {}\n",
        report.created.len(),
        report.updated.len(),
        report.unchanged.len(),
        report.ended.len()
    );
    for (label, slugs) in [
        ("created", &report.created),
        ("updated", &report.updated),
        ("ended", &report.ended),
    ] {
        if !slugs.is_empty() {
            text.push_str(&format!("  {label}: {}\n", slugs.join(", ")));
        }
    }
    out(&text)
}

fn org(app: &App, me: &Principal, command: OrgCommand) -> Result<(), CliError> {
    match command {
        OrgCommand::Import {
            file,
            prune,
            json: as_json,
        } => {
            let bytes = read_input(&file)?;
            let report = app.import_registry(me, &bytes, ImportOptions { prune })?;
            print_import(&report, as_json)
        }
        OrgCommand::Export { out: target } => {
            let text = app.export_registry(me)?;
            match target {
                None => out(&text),
                Some(path) => write_atomically(&path, &text),
            }
        }
        OrgCommand::List {
            sector,
            status,
            at,
            all,
            json: as_json,
        } => {
            let on = date_arg("at", at.as_deref())?.unwrap_or_else(|| app.clock().today());
            let sector = sector
                .map(|s| app.vocabulary().parse(&s).map(|s| s.to_string()))
                .transpose()
                .map_err(|e| CliError::user(format!("--sector: {e}")))?;
            let status = status
                .map(|s| s.parse::<Status>())
                .transpose()
                .map_err(|e| CliError::user(format!("--status: {e}")))?;
            let page = app.list_organisations(
                me,
                OrganisationQuery {
                    sector,
                    status,
                    only: None,
                    on,
                    include_ended: all,
                    offset: 0,
                    limit: u64::MAX,
                },
            )?;
            if as_json {
                let records: Vec<OrganisationRecord> = page
                    .organisations
                    .iter()
                    .map(OrganisationRecord::from_organisation)
                    .collect();
                return json(&records);
            }
            let rows: Vec<Vec<String>> = page
                .organisations
                .iter()
                .map(|o| {
                    vec![
                        o.slug().to_string(),
                        o.name().to_owned(),
                        statuses(o, on),
                        o.sectors()
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(","),
                        o.jurisdiction().to_string(),
                        o.ended().map(|d| format!("ended {d}")).unwrap_or_default(),
                    ]
                })
                .collect();
            let mut text = table(
                &[
                    "SLUG",
                    "NAME",
                    &format!("STATUS ON {on}"),
                    "SECTORS",
                    "JUR",
                    "",
                ],
                &rows,
            );
            text.push_str(&format!("{} organisation(s)\n", page.total));
            out(&text)
        }
        OrgCommand::Show {
            slug,
            at,
            json: as_json,
        } => {
            let org = app.organisation(me, &slug)?;
            if as_json {
                return json(&OrganisationRecord::from_organisation(&org));
            }
            let on = date_arg("at", at.as_deref())?.unwrap_or_else(|| app.clock().today());
            out(&describe(&org, on))
        }
        OrgCommand::History {
            slug,
            json: as_json,
        } => {
            let history = app.history(me, &slug)?;
            if as_json {
                return json(&history.iter().map(|h| h.to_record()).collect::<Vec<_>>());
            }
            let mut text = String::new();
            for h in &history {
                text.push_str(&format!(
                    "{}  {}  {}\n",
                    local_time(h.at),
                    h.action,
                    h.actor
                ));
                for c in &h.changes {
                    text.push_str(&format!(
                        "    {}: {} -> {}\n",
                        c.field,
                        compact(&c.before),
                        compact(&c.after)
                    ));
                }
            }
            out(&text)
        }
        OrgCommand::Add {
            file,
            json: as_json,
        } => {
            let org = app.create_organisation(me, read_json(&file)?)?;
            done(&org, "registered", as_json)
        }
        OrgCommand::Update {
            file,
            json: as_json,
        } => {
            let org = app.update_organisation(me, None, read_json(&file)?)?;
            done(&org, "updated", as_json)
        }
        OrgCommand::End {
            slug,
            on,
            json: as_json,
        } => {
            let on = date_arg("on", on.as_deref())?;
            let org = app.end_organisation(me, &slug, on)?;
            done(&org, "ended", as_json)
        }
    }
}

fn done(org: &Organisation, what: &str, as_json: bool) -> Result<(), CliError> {
    if as_json {
        json(&OrganisationRecord::from_organisation(org))
    } else {
        out(&format!("{what} `{}` ({})\n", org.slug(), org.name()))
    }
}

fn compact(value: &serde_json::Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 120 {
        format!("{}…", text.chars().take(119).collect::<String>())
    } else {
        text
    }
}

fn statuses(org: &Organisation, on: Date) -> String {
    let held: Vec<&str> = org
        .statuses_on(on)
        .into_iter()
        .map(Status::as_str)
        .collect();
    if held.is_empty() {
        "-".into()
    } else {
        held.join(",")
    }
}

fn describe(org: &Organisation, on: Date) -> String {
    let mut t = format!("{} ({})\n", org.name(), org.slug());
    let eu = if org.jurisdiction().is_eu_on(on) {
        "EU member state"
    } else {
        "outside the EU"
    };
    t.push_str(&format!(
        "  jurisdiction  {} ({eu} on {on})\n",
        org.jurisdiction()
    ));
    let sectors: Vec<String> = org.sectors().iter().map(ToString::to_string).collect();
    t.push_str(&format!(
        "  sectors       {} (primary: {})\n",
        sectors.join(", "),
        sectors.first().map_or("-", String::as_str)
    ));
    if let Some(ended) = org.ended() {
        let state = if org.is_ended_on(on) {
            "holds nothing, owns nothing"
        } else {
            "scheduled"
        };
        t.push_str(&format!("  ended         from {ended} ({state})\n"));
    }
    t.push_str(&format!("  holds on {on}  {}\n", statuses(org, on)));
    t.push_str("  designations\n");
    for d in org.designations() {
        let until = d.until().map_or("open-ended".to_owned(), |u| u.to_string());
        let mark = if d.valid_on(on) && !org.is_ended_on(on) {
            "  *"
        } else {
            ""
        };
        t.push_str(&format!(
            "    {:<26} {} .. {until}{mark}\n",
            d.status().as_str(),
            d.from()
        ));
    }
    match org.secrecy() {
        None => t.push_str("  secrecy       no guarantee on file\n"),
        Some(g) => {
            let from = g.from().map_or("always".to_owned(), |d| d.to_string());
            let until = g.until().map_or("open-ended".to_owned(), |d| d.to_string());
            let valid = if org.secrecy_on(on).is_some() {
                "valid"
            } else {
                "NOT valid"
            };
            t.push_str(&format!(
                "  secrecy       {} ({from} .. {until}; {valid} on {on})\n",
                g.basis()
            ));
        }
    }
    let serves = org.serves();
    if !serves.is_empty() {
        let sectors: Vec<String> = serves
            .sectors
            .iter()
            .map(|s| format!("sector {s}"))
            .collect();
        let members: Vec<String> = serves
            .organisations
            .iter()
            .map(ToString::to_string)
            .collect();
        t.push_str(&format!(
            "  serves        {}\n",
            [sectors, members].concat().join(", ")
        ));
    }
    if !org.oversees().is_empty() {
        let o: Vec<String> = org.oversees().iter().map(ToString::to_string).collect();
        t.push_str(&format!("  oversees      {}\n", o.join(", ")));
    }
    let list = |label: &str, items: Vec<String>, t: &mut String| {
        if !items.is_empty() {
            t.push_str(&format!("  {label:<13} {}\n", items.join(", ")));
        }
    };
    list(
        "prefixes",
        org.prefixes().iter().map(ToString::to_string).collect(),
        &mut t,
    );
    list(
        "asns",
        org.asns().iter().map(ToString::to_string).collect(),
        &mut t,
    );
    list(
        "domains",
        org.domains().iter().map(ToString::to_string).collect(),
        &mut t,
    );
    if org.contacts().is_empty() {
        t.push_str("  contacts      none\n");
    }
    for c in org.contacts() {
        let mut line = format!("  contact       {} <{}>", c.name, c.email);
        if let Some(k) = &c.pgp_key {
            line.push_str(&format!(", OpenPGP {}", k.fingerprint()));
        }
        if let Some(u) = &c.webhook_url {
            line.push_str(&format!(", webhook {}", u.as_str()));
        }
        t.push_str(&line);
        t.push('\n');
    }
    t
}

fn owner(
    app: &App,
    me: &Principal,
    ip: &str,
    at: Option<&str>,
    as_json: bool,
) -> Result<(), CliError> {
    let on = date_arg("at", at)?;
    let answer = app.owner(me, ip, on)?;
    if as_json {
        return json(&answer.to_record());
    }
    let prefix = answer
        .matches
        .first()
        .map(|m| m.prefix.to_string())
        .unwrap_or_default();
    let mut text = format!(
        "{} belongs to {} ({}) through {prefix} on {}\n",
        answer.ip,
        answer.organisation.slug(),
        answer.organisation.name(),
        answer.on
    );
    for m in answer.matches.iter().skip(1) {
        text.push_str(&format!(
            "  also inside {} of {}\n",
            m.prefix, m.organisation
        ));
    }
    out(&text)
}

fn token_json(t: &TokenRecord, now: jiff::Timestamp) -> serde_json::Value {
    json!({
        "id": t.id,
        "role": t.role.as_str(),
        "name": t.name,
        "organisation": t.organisation.as_ref().map(ToString::to_string),
        "created_at": t.created_at.to_string(),
        "created_by": t.created_by,
        "expires_at": t.expires_at.map(|e| e.to_string()),
        "revoked_at": t.revoked_at.map(|e| e.to_string()),
        "state": token_state(t, now),
    })
}

fn token_state(t: &TokenRecord, now: jiff::Timestamp) -> &'static str {
    if t.revoked_at.is_some() {
        "revoked"
    } else if t.expires_at.is_some_and(|e| e <= now) {
        "expired"
    } else {
        "active"
    }
}

fn token(app: &App, me: &Principal, command: TokenCommand) -> Result<(), CliError> {
    let now = app.clock().now();
    match command {
        TokenCommand::Create(TokenCreate {
            role,
            org,
            name,
            expires,
            json: as_json,
        }) => {
            let kind = match (role, org) {
                (Some(role), None) => TokenKind::Staff {
                    role: role
                        .parse::<Role>()
                        .map_err(|e| CliError::user(format!("--role: {e}")))?,
                    name: name
                        .ok_or_else(|| CliError::user("--name PERSON is required with --role"))?,
                },
                (None, Some(organisation)) => TokenKind::Recipient {
                    organisation,
                    label: name,
                },
                _ => return Err(CliError::user("give either --role and --name, or --org")),
            };
            let expires = date_arg("expires", expires.as_deref())?;
            let issued = app.create_token(me, TokenRequest { kind, expires })?;
            if as_json {
                let mut value = token_json(&issued.record, now);
                if let Some(map) = value.as_object_mut() {
                    map.insert("token".into(), issued.secret.clone().into());
                }
                return json(&value);
            }
            let holder = match &issued.record.organisation {
                Some(org) => format!("recipient organisation {org} ({})", issued.record.name),
                None => format!("{} ({})", issued.record.name, issued.record.role),
            };
            let expiry = issued
                .record
                .expires_at
                .map_or("until revoked".to_owned(), |e| {
                    format!("until {}", local_time(e))
                });
            out(&format!(
                "token {} for {holder}, valid {expiry}:\n\n    {}\n\nIt is shown only now; schakel keeps only its hash. Send it as `Authorization: Bearer <token>`.\n",
                issued.record.id, issued.secret
            ))
        }
        TokenCommand::List { json: as_json } => {
            let tokens = app.tokens(me)?;
            if as_json {
                return json(
                    &tokens
                        .iter()
                        .map(|t| token_json(t, now))
                        .collect::<Vec<_>>(),
                );
            }
            let rows: Vec<Vec<String>> = tokens
                .iter()
                .map(|t| {
                    vec![
                        t.id.clone(),
                        t.role.to_string(),
                        t.name.clone(),
                        t.organisation
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default(),
                        local_time(t.created_at),
                        t.expires_at.map(local_time).unwrap_or_else(|| "-".into()),
                        token_state(t, now).into(),
                    ]
                })
                .collect();
            out(&table(
                &[
                    "ID",
                    "ROLE",
                    "NAME",
                    "ORGANISATION",
                    "CREATED",
                    "EXPIRES",
                    "STATE",
                ],
                &rows,
            ))
        }
        TokenCommand::Revoke { id, json: as_json } => {
            let t = app.revoke_token(me, &id)?;
            if as_json {
                json(&token_json(&t, now))
            } else {
                out(&format!("revoked {} ({})\n", t.id, t.name))
            }
        }
    }
}

/// How `serve` runs.
struct ServeOptions {
    listen: std::net::SocketAddr,
    demo: bool,
    /// `[feeds] retain_days`.
    retain_days: Option<u32>,
    /// What the API accepts.
    limits: schakel_server::Limits,
}

fn serve(
    app: App,
    me: &Principal,
    mail: &crate::args::MailArgs,
    key_file: &Path,
    options: ServeOptions,
) -> Result<(), CliError> {
    let ServeOptions {
        listen,
        demo,
        retain_days,
        limits,
    } = options;
    let email = crate::items::email_courier(mail, key_file)?;
    // The centre's key, when there is one: the server signs the audit head with it.
    let key = key_file
        .exists()
        .then(|| schakel_delivery::CentreKey::load(key_file))
        .transpose()
        .map_err(CliError::user)?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let mut banner = String::new();
    if demo {
        let report = app.load_demo(me)?;
        if !report.created.is_empty() {
            banner.push_str(&format!(
                "loaded the demo constituency ({} organisations)\n",
                report.created.len()
            ));
        }
        let issued = app.create_token(
            me,
            TokenRequest {
                kind: TokenKind::Staff {
                    role: Role::Analyst,
                    name: "demo analyst".into(),
                },
                expires: None,
            },
        )?;
        banner.push_str(&format!("analyst token: {}\n", issued.secret));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::user(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| CliError::user(format!("cannot listen on {listen}: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| CliError::user(format!("cannot read the listening address: {e}")))?;
        tracing::info!(store = %app.describe_store(), %addr, "schakel is serving");
        let orphans = schakel_feeds::remove_orphaned_spools();
        if orphans > 0 {
            tracing::info!(
                orphans,
                "removed the spools of feed runs that did not finish (a crash or a kill)"
            );
        }
        out(&format!(
            "schakel is serving http://{addr}/ (API under http://{addr}/api/v1, description at http://{addr}/api/v1/openapi.json)\n{banner}"
        ))?;
        // The delivery worker runs beside the server and stops with it.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let worker = {
            let (app, stop) = (app.clone(), Arc::clone(&stop));
            let mail = mail.clone();
            std::thread::spawn(move || {
                delivery_loop(
                    &app,
                    &stop,
                    key.as_ref(),
                    email.as_ref(),
                    &mail,
                    retain_days,
                )
            })
        };
        let served = schakel_server::serve_with(listener, app, limits, shutdown_signal())
            .await
            .map_err(|e| CliError::user(format!("the server stopped: {e}")));
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = worker.join();
        served
    })
}

/// How often the worker inside `serve` looks for due deliveries.
const DELIVERY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// How often the server signs the head of the audit chain (when it has the centre's key).
const HEAD_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// Delivers what is due, every [`DELIVERY_INTERVAL`], and signs the audit head every
/// [`HEAD_INTERVAL`], until `stop`.
fn delivery_loop(
    app: &App,
    stop: &std::sync::atomic::AtomicBool,
    key: Option<&schakel_delivery::CentreKey>,
    email: Option<&schakel_delivery::EmailCourier>,
    mail: &crate::args::MailArgs,
    retain_days: Option<u32>,
) {
    let worker = App::delivery_worker();
    let server = App::installation();
    let webhooks = schakel_delivery::WebhookCourier::new(app.webhook_targets());
    let mut couriers: Vec<&dyn schakel_app::Courier> = vec![&webhooks];
    if let Some(email) = email {
        couriers.push(email);
    }
    let mut last_head: Option<std::time::Instant> = None;
    let mut last_duties: Option<std::time::Instant> = None;
    let mut last_purge: Option<std::time::Instant> = None;
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        if let Some(days) = retain_days
            && last_purge.is_none_or(|t| t.elapsed() >= PURGE_INTERVAL)
        {
            retention(app, &server, days);
            last_purge = Some(std::time::Instant::now());
        }
        if last_duties.is_none_or(|t| t.elapsed() >= DUTIES_INTERVAL) {
            duties(app, &worker);
            last_duties = Some(std::time::Instant::now());
        }
        if let Some(key) = key
            && last_head.is_none_or(|t| t.elapsed() >= HEAD_INTERVAL)
        {
            match app.sign_audit_head(&server, key) {
                Ok(head) => {
                    tracing::info!(seq = head.seq, hash = %head.hash, "signed the audit head")
                }
                Err(e) => tracing::warn!(error = %e, "cannot sign the audit head"),
            }
            last_head = Some(std::time::Instant::now());
        }
        if let Err(e) = app.housekeeping() {
            tracing::warn!(error = %e, "store housekeeping failed");
        }
        if let Err(e) = crate::items::reminders(app, &worker, mail) {
            tracing::warn!(error = %e, "reminders failed; trying again");
        }
        match app.deliver_once(&worker, &couriers, 500) {
            Ok(run) => {
                if !(run.delivered.is_empty()
                    && run.retried.is_empty()
                    && run.dead.is_empty()
                    && run.held.is_empty())
                {
                    tracing::info!(
                        delivered = run.delivered.len(),
                        retried = run.retried.len(),
                        dead = run.dead.len(),
                        held = run.held.len(),
                        "delivery pass"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "delivery pass failed; trying again"),
        }
        let mut waited = std::time::Duration::ZERO;
        while waited < DELIVERY_INTERVAL && !stop.load(std::sync::atomic::Ordering::SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(200));
            waited += std::time::Duration::from_millis(200);
        }
    }
}

/// How often `serve` applies the feed retention setting.
const PURGE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Deletes the rows of feed runs older than `days` that are done with them
/// (`[feeds] retain_days`), and logs what it did and what it kept.
fn retention(app: &App, server: &Principal, days: u32) {
    let before = app.clock().today() - jiff::Span::new().days(i64::from(days));
    match app.purge_feed_rows(server, before) {
        Ok(record) => {
            if !record.purged.is_empty() {
                tracing::info!(
                    runs = record.purged.len(),
                    rows = record.purged.iter().map(|p| p.rows).sum::<u64>(),
                    %before,
                    "feed retention: rows deleted"
                );
            }
            for kept in &record.kept {
                tracing::info!(run = %kept.run, reason = %kept.reason, "feed retention: rows kept");
            }
        }
        Err(e) => tracing::warn!(error = %e, "feed retention failed; trying again tomorrow"),
    }
}

/// How often `serve` tells the duty officer about overdue reporting steps and unheeded
/// advice (in its log).
const DUTIES_INTERVAL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Logs what needs a person now: reports with a legal reporting step past its deadline,
/// and written advice whose follow-up date passed without the measures confirmed.
fn duties(app: &App, staff: &Principal) {
    let query = schakel_store::ReportQuery {
        limit: 1000,
        ..schakel_store::ReportQuery::default()
    };
    match app.reports(staff, &query, true) {
        Ok(page) if page.total > 0 => {
            let now = app.clock().now();
            let ids: Vec<String> = page
                .reports
                .iter()
                .take(20)
                .map(|r| format!("{} ({})", r.row.id, r.summary(true, now).overdue.join(", ")))
                .collect();
            tracing::warn!(
                count = page.total,
                reports = %ids.join("; "),
                "reports with a reporting step past its deadline (schakel report list --overdue)"
            );
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot check reporting deadlines"),
    }
    match app.advice_list(staff, true) {
        Ok(flagged) if !flagged.is_empty() => {
            let ids: Vec<String> = flagged
                .iter()
                .take(20)
                .map(|a| format!("{} ({})", a.row.id, a.row.organisation))
                .collect();
            tracing::warn!(
                count = flagged.len(),
                advice = %ids.join("; "),
                "written advice due for escalation (schakel advice list --flagged)"
            );
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot check written advice"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
