//! Command-line arguments.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// schakel — who may receive this, by which route, on which legal basis, under which
/// conditions, and did it reach them.
#[derive(Debug, Parser)]
#[command(name = "schakel", version, about, max_term_width = 100)]
pub(crate) struct Cli {
    /// The SQLite database file (created when absent).
    #[arg(
        long,
        global = true,
        env = "SCHAKEL_DB",
        default_value = "schakel.db",
        value_name = "PATH"
    )]
    pub db: PathBuf,
    /// A TOML settings file (for example the sector vocabulary).
    #[arg(long, global = true, env = "SCHAKEL_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A directory with the rulebook files (`schema.cedarschema`, `wbni-2018.cedar`,
    /// `wbni-2022.cedar`, `cbw-2026.cedar`) to use instead of the built-in ones.
    #[arg(long, global = true, env = "SCHAKEL_RULEBOOKS", value_name = "DIR")]
    pub rulebooks: Option<PathBuf>,
    /// The centre's OpenPGP secret key (default: `schakel-centre.asc` beside the database).
    #[arg(long, global = true, env = "SCHAKEL_KEY", value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Your token (`skl_…`): every command acts as the person or organisation it belongs
    /// to, checked as an API call is. Prefer the environment variable: a command line is
    /// visible to other users. Without one, only the installation's own commands run
    /// (`token`, `key`, `demo`, `serve`, `org import`, `rulebook`, `deliver --once`,
    /// `audit sign`).
    #[arg(
        long,
        global = true,
        env = "SCHAKEL_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// The key that seals webhook secrets in the database (default: `schakel-secrets.key`
    /// beside the database; made by the first `webhook secret`). Keep it apart from
    /// database backups: without it no webhook can be signed.
    #[arg(long, global = true, env = "SCHAKEL_SECRETS_KEY", value_name = "FILE")]
    pub secrets_key: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// The constituency registry.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Which organisation owns an IP address (the longest registered prefix).
    Owner {
        /// An IPv4 or IPv6 address.
        ip: String,
        /// The date to look on (YYYY-MM-DD, default today in Europe/Amsterdam).
        #[arg(long, value_name = "DATE")]
        at: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// May the centre provide this item to this recipient on this date? Reads a decision
    /// request (FORMATS.md) from FILE, or from standard input with `-` or no FILE.
    Decide {
        /// The request (`-` or absent: standard input).
        file: Option<PathBuf>,
        /// Print the decision as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The sharing rulebooks.
    #[command(subcommand)]
    Rulebook(RulebookCommand),
    /// Items: write, plan, approve (four eyes) and send.
    #[command(subcommand)]
    Item(ItemCommand),
    /// The outbox of deliveries.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Webhook signing secrets.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// The audit trail: verify the hash chain, sign its head, export a period.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The centre's OpenPGP key (signs email and audit heads).
    #[command(subcommand)]
    Key(KeyCommand),
    /// The legal officer's review list: denies with reasons and remedies.
    #[command(subcommand)]
    Review(ReviewCommand),
    /// Incident reports: file, reporting clocks, submissions, triage, items from reports.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Written advice to an organisation, its follow-up and escalation.
    #[command(subcommand)]
    Advice(AdviceCommand),
    /// Bulk feeds: scan and abuse reports to the organisations they are about, lawfully.
    #[command(subcommand)]
    Feed(FeedCommand),
    /// Disclosure (Woo) requests.
    #[command(subcommand)]
    Woo(WooCommand),
    /// Published statistics of incident reports for a quarter, with small numbers
    /// suppressed so that no organisation can be identified.
    Stats {
        /// The quarter, such as 2026-Q3.
        #[arg(long, value_name = "YYYY-Qn")]
        period: String,
        /// Print JSON (FORMATS.md "Statistics").
        #[arg(long, conflicts_with_all = ["csv", "svg"])]
        json: bool,
        /// Print a CSV matrix (a suppressed number is an empty field).
        #[arg(long, conflicts_with = "svg")]
        csv: bool,
        /// Print an SVG chart.
        #[arg(long)]
        svg: bool,
        /// Fewest reports a published number holds (default 5, or the settings file's).
        #[arg(long)]
        threshold: Option<u64>,
        /// Fewest organisations a published number's reports come from (default 3).
        #[arg(long)]
        min_organisations: Option<u64>,
        /// Write to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Deliver what is due in the outbox, deciding each again just before it goes out:
    /// signed webhooks, and signed (where a key is on file, encrypted) PGP/MIME email
    /// through --smtp-url; without one, email waits.
    Deliver {
        /// One pass, then exit (the server runs passes continuously).
        #[arg(long)]
        once: bool,
        #[command(flatten)]
        mail: MailArgs,
        /// At most this many deliveries.
        #[arg(long, default_value_t = 1000)]
        limit: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Load the demo constituency (running it again changes nothing).
    Demo {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run the HTTP API.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
        listen: SocketAddr,
        /// Load the demo constituency if absent and print a fresh analyst token.
        #[arg(long)]
        demo: bool,
        #[command(flatten)]
        mail: MailArgs,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum OrgCommand {
    /// Import a registry file: create or update by slug, all or nothing.
    Import {
        /// The registry file (`-` for standard input).
        file: PathBuf,
        /// End (as of today) every organisation absent from the file.
        #[arg(long)]
        prune: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write the registry file of every organisation (it imports back identically).
    Export {
        /// Write to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// List organisations.
    List {
        /// Only this sector.
        #[arg(long)]
        sector: Option<String>,
        /// Only organisations holding this status on the date.
        #[arg(long)]
        status: Option<String>,
        /// The date (YYYY-MM-DD, default today).
        #[arg(long, value_name = "DATE")]
        at: Option<String>,
        /// Include ended organisations.
        #[arg(long)]
        all: bool,
        /// Print a JSON array of registry records.
        #[arg(long)]
        json: bool,
    },
    /// Show one organisation.
    Show {
        /// The organisation's slug.
        slug: String,
        /// The date statuses and guarantees are shown for (default today).
        #[arg(long, value_name = "DATE")]
        at: Option<String>,
        /// Print its registry record as JSON.
        #[arg(long)]
        json: bool,
    },
    /// What changed in an organisation's record, when, and by whom.
    History {
        /// The organisation's slug.
        slug: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Register one organisation from a JSON record (`-` for standard input).
    Add {
        /// The record.
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Replace one organisation's record (the slug identifies it and never changes).
    Update {
        /// The record (`-` for standard input).
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// End an organisation; it stays in the registry and its slug is never reused.
    End {
        /// The organisation's slug.
        slug: String,
        /// First day ended (YYYY-MM-DD, default today).
        #[arg(long, value_name = "DATE")]
        on: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Make a token for a person (`--role`, `--name`) or a recipient organisation (`--org`).
    /// The secret is printed once.
    Create(TokenCreate),
    /// List tokens (never their secrets).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token; it stops working at once.
    Revoke {
        /// The token's id (`tok_…`).
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct TokenCreate {
    /// Staff role.
    #[arg(long, value_parser = ["analyst", "legal", "admin"], conflicts_with = "org", required_unless_present = "org", requires = "name")]
    pub role: Option<String>,
    /// A recipient organisation's slug.
    #[arg(long, value_name = "SLUG")]
    pub org: Option<String>,
    /// The person the token belongs to (for `--org`: a label, default the slug).
    #[arg(long, value_name = "PERSON")]
    pub name: Option<String>,
    /// Last day the token works (YYYY-MM-DD, inclusive).
    #[arg(long, value_name = "DATE")]
    pub expires: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RulebookCommand {
    /// Validates every rulebook, then evaluates each over every combination of facts and
    /// reports rules that never fire and items no recipient may receive. Reads only the
    /// rulebook files (`--rulebooks DIR` to check an amendment before it goes live).
    Check {
        /// Exit with status 1 when a rule never fires, a basis never permits or a
        /// restriction never decides a case on its own.
        #[arg(long)]
        strict: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The rules in force on a date, with citations and explanations.
    Show {
        /// The date (YYYY-MM-DD, default today).
        #[arg(long, value_name = "DATE")]
        at: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ItemCommand {
    /// Create an item (FORMATS.md "Item") from FILE, or standard input with `-` or no FILE.
    Create {
        /// The item (`-` or absent: standard input).
        file: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one item.
    Show {
        /// The item's id.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List items, newest first.
    List {
        /// Only this status (draft, awaiting_approval, approved, sent, retracted).
        #[arg(long)]
        status: Option<String>,
        /// Only this kind.
        #[arg(long)]
        kind: Option<String>,
        /// Only this TLP.
        #[arg(long)]
        tlp: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u64,
        /// Skip this many.
        #[arg(long, default_value_t = 0)]
        offset: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Correct an item: a new version from FILE (or standard input). Once sent, the
    /// correction goes to exactly the organisations that received it.
    Correct {
        /// The item's id.
        id: String,
        /// The new version (`-` or absent: standard input).
        file: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Retract an item: withdrawn if never sent, else a retraction notice to exactly the
    /// organisations that received it (after four eyes where needed).
    Retract {
        /// The item's id.
        id: String,
        /// Why, for the recipients.
        #[arg(long)]
        reason: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Who would receive it today, by which route and channels, and who not and why.
    Plan {
        /// The item's id.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Approve today's plan (four eyes: not by the item's creator).
    Approve {
        /// The item's id.
        id: String,
        /// The plan hash you looked at; nothing is approved if the plan changed.
        #[arg(long, value_name = "HASH")]
        plan_hash: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Send: plan again, check it against the approved (or given) plan, enqueue deliveries.
    Send {
        /// The item's id.
        id: String,
        /// The plan hash you looked at; nothing is sent if the plan changed.
        #[arg(long, value_name = "HASH")]
        plan_hash: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum OutboxCommand {
    /// Put a dead or held delivery back in the queue, due now (after fixing a contact or
    /// approving the item again).
    Requeue {
        /// The delivery's id.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List deliveries, oldest first.
    List {
        /// Only this item's.
        #[arg(long)]
        item: Option<String>,
        /// Only this recipient's.
        #[arg(long)]
        recipient: Option<String>,
        /// Only this state (pending, delivered, held, dead).
        #[arg(long)]
        state: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum WebhookCommand {
    /// Make a new signing secret for an organisation's webhooks; it is printed once.
    Secret {
        /// The organisation's slug.
        slug: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Recompute the hash chain: any edited, inserted or deleted entry is named. Exit
    /// status 1 when the chain is broken.
    Verify {
        /// A signed head kept outside schakel (`audit sign --out`): the chain must still
        /// hold it.
        #[arg(long, value_name = "FILE")]
        head: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Sign the chain's current head with the centre's key and record it; `--out` writes
    /// the signed head to keep elsewhere.
    Sign {
        /// Write the signed head (JSON) to FILE.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Every entry of a period and every delivery made in it (to whom, when, on which
    /// basis, under which rulebook version), as JSON.
    Export {
        /// First day (YYYY-MM-DD, Europe/Amsterdam).
        #[arg(long, value_name = "DATE")]
        from: String,
        /// Last day, inclusive.
        #[arg(long, value_name = "DATE")]
        to: String,
        /// Write to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Generate the centre's Ed25519 key into the key file (never overwrites one).
    Init {
        /// The key's user id.
        #[arg(long, default_value = "schakel centre <cert@centre.example>")]
        user_id: String,
    },
    /// The key's fingerprint and ASCII-armoured public key, to publish.
    Show,
}

/// How email goes out.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct MailArgs {
    /// The SMTP server: `smtp://[user:pass@]host[:port]` (STARTTLS required unless the host
    /// is a loopback address) or `smtps://…`. Without it, email deliveries wait. It may hold
    /// a password: help never shows its value, messages and logs show it without.
    #[arg(
        long,
        env = "SCHAKEL_SMTP_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub smtp_url: Option<String>,
    /// The sender, `Name <address>`.
    #[arg(
        long,
        env = "SCHAKEL_SMTP_FROM",
        value_name = "FROM",
        default_value = "schakel <cert@centre.example>"
    )]
    pub smtp_from: String,
    /// A CA certificate (PEM) to trust for the SMTP server, such as an internal relay's;
    /// with it, TLS is required even on loopback.
    #[arg(long, env = "SCHAKEL_SMTP_CA", value_name = "FILE")]
    pub smtp_ca: Option<PathBuf>,
    /// Remind the alternate contact of an inbox delivery not acknowledged within this many
    /// hours (0: never).
    #[arg(
        long,
        env = "SCHAKEL_REMIND_AFTER",
        value_name = "HOURS",
        default_value_t = 24
    )]
    pub remind_after: u64,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ReviewCommand {
    /// Items not retracted whose plan today denies someone, newest first.
    List {
        /// Only items created on or after this day (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ReportCommand {
    /// File an incident report (FORMATS.md "Incident report") from FILE or standard input.
    File {
        /// The report (`-` or absent: standard input).
        file: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a report with its clocks, triage and history.
    Show {
        /// `rpt_…`.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List reports, newest awareness first.
    List {
        /// Only reports with a reporting step past its deadline and not submitted.
        #[arg(long)]
        overdue: bool,
        /// Only in this state (`new`, `triaged`, `coordinating`, `closed`).
        #[arg(long)]
        status: Option<String>,
        /// Only this organisation's.
        #[arg(long, value_name = "SLUG")]
        reporter: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u64,
        /// Skip this many.
        #[arg(long, default_value_t = 0)]
        offset: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every reporting clock of a report: regime, step, deadline, authority, time left.
    Clocks {
        /// `rpt_…`.
        id: String,
        /// Print JSON (`[{"regime", "step", "due", "provisional", "basis", "report_to", …}]`).
        #[arg(long)]
        json: bool,
    },
    /// Record that a step was submitted to its authority.
    Submit {
        /// `rpt_…`.
        id: String,
        /// The regime (`cbw`, `dora`, `gdpr`, `nccs`, `wbni`).
        #[arg(long)]
        regime: String,
        /// The step (`early_warning`, `notification`, …).
        #[arg(long)]
        step: String,
        /// When it was submitted (RFC 3339; default now).
        #[arg(long, value_name = "INSTANT")]
        at: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Triage: nature, impact, priority, assignee, advice, status.
    Triage {
        /// `rpt_…`.
        id: String,
        /// The next status (`triaged`, `coordinating`, `closed`).
        #[arg(long)]
        status: Option<String>,
        /// Estimated societal impact (`negligible`, `limited`, `considerable`, `serious`,
        /// `critical`; see docs/triage.md).
        #[arg(long)]
        impact: Option<String>,
        /// `low`, `medium`, `high`, `critical` (default: from the impact).
        #[arg(long)]
        priority: Option<String>,
        /// What it disrupts, comma-separated (`availability`, `integrity`, `confidentiality`).
        #[arg(long, value_delimiter = ',')]
        nature: Option<Vec<String>>,
        /// The analyst handling it (`""` clears).
        #[arg(long)]
        assignee: Option<String>,
        /// The advice given to the reporter.
        #[arg(long)]
        advice: Option<String>,
        /// Why (kept in the history).
        #[arg(long)]
        note: Option<String>,
        /// The reporter consented to being named in items made from the report.
        #[arg(long, value_name = "yes|no")]
        consent: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make a draft item for the distribution planner from a report (the reporter's
    /// identity removed unless it consented).
    Item {
        /// `rpt_…`.
        id: String,
        /// Its TLP (default AMBER).
        #[arg(long)]
        tlp: Option<String>,
        /// Its title (default: the report's, sanitised).
        #[arg(long)]
        title: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The reporting regimes in force, as read from the regime table.
    Regimes {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AdviceCommand {
    /// Record written advice to an organisation.
    Give {
        /// The organisation advised.
        #[arg(long = "org", value_name = "SLUG")]
        organisation: String,
        /// What it is about (one line).
        #[arg(long)]
        title: String,
        /// A measure advised (repeat for several).
        #[arg(long = "measure", required = true)]
        measures: Vec<String>,
        /// When the organisation must have confirmed the measures (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        follow_up: String,
        /// The report it follows from.
        #[arg(long)]
        report: Option<String>,
        /// A CVE concerned (repeat for several).
        #[arg(long = "cve")]
        cves: Vec<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List advice, earliest follow-up first.
    List {
        /// Only advice whose follow-up date passed without confirmation (to escalate).
        #[arg(long)]
        flagged: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Record that the organisation confirmed the measures.
    Confirm {
        /// `adv_…`.
        id: String,
        /// What the organisation said it did.
        #[arg(long)]
        note: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Escalate flagged advice to the ministry overseeing the organisation's sector: makes
    /// a draft escalation item and shows its plan.
    Escalate {
        /// `adv_…`.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum WooCommand {
    /// Export the reports of a period for a disclosure request, redacted, with an index of
    /// every redaction and its ground.
    Export {
        /// First awareness date (YYYY-MM-DD, Europe/Amsterdam).
        #[arg(long, value_name = "DATE")]
        from: String,
        /// Last awareness date (inclusive).
        #[arg(long, value_name = "DATE")]
        to: String,
        /// Write to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// JSON instead of Markdown.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum FeedCommand {
    /// Read feed files in one streaming pass: resolve every event to the organisation that
    /// owns it, de-duplicate, plan the notifications through the rulebook, and send them
    /// (one item per recipient and report type, under the report type's standing approval;
    /// without one, each waits for a second person's `item approve`).
    Ingest {
        /// The files (`-` reads standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// `shadowserver`, `csv` (with --mapping), `stix` or `misp`.
        #[arg(long, value_name = "FORMAT")]
        format: String,
        /// The report type (Shadowserver: default from the file name `YYYY-MM-DD-<report>-….csv`).
        #[arg(long, value_name = "TYPE")]
        report: Option<String>,
        /// A generic CSV's mapping file (TOML: column → field).
        #[arg(long, value_name = "FILE")]
        mapping: Option<PathBuf>,
        /// Shadowserver's machine-readable schema (the `intelmq.json` format), to update the
        /// built-in report types without a release.
        #[arg(long, value_name = "FILE")]
        shadowserver_schema: Option<PathBuf>,
        /// Read and plan; change nothing (not even the de-duplication state).
        #[arg(long)]
        plan_only: bool,
        /// Days within which a notified host and issue is not notified again.
        #[arg(long, default_value_t = 7, value_name = "DAYS")]
        window: u32,
        /// Print the run summary as JSON (FORMATS.md "Feed run summary").
        #[arg(long)]
        json: bool,
    },
    /// Give a standing approval of a report type: its notifications may be sent without a
    /// second person approving each run (by anyone but you). Recorded in the audit log.
    Approve {
        /// The report type (`scan_http`).
        #[arg(long, value_name = "TYPE")]
        report: String,
        /// Why, or under which conditions.
        #[arg(long)]
        note: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a report type's standing approval.
    Revoke {
        /// The report type.
        #[arg(long, value_name = "TYPE")]
        report: String,
    },
    /// Standing approvals, revoked ones too.
    Approvals {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Feed runs that sent, newest first.
    Runs {
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u64,
        /// Skip this many.
        #[arg(long, default_value_t = 0)]
        offset: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Retention: delete the rows of feed runs that started before DATE and are done with
    /// them (every message sent or retracted, nothing pending or held). Runs, messages
    /// and items stay. Legal officers; audited.
    Purge {
        /// Runs that started before this date (midnight in Amsterdam).
        #[arg(long, value_name = "DATE")]
        before: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One feed run: its summary as recorded, each message with its item and status.
    Show {
        /// The run (`run_…`).
        run: String,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
}
