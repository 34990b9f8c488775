//! The embedded SQLite backend: one file, WAL, foreign keys on, migrations embedded and
//! applied on open. One writer connection (SQLite serialises writers anyway) and a few
//! reader connections that see consistent snapshots while a write is under way.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use schakel_domain::{
    Asn, Contact, Date, Designation, DomainName, EmailAddress, IpPrefix, Jurisdiction, OrgSlug,
    Organisation, OrganisationDraft, PgpPublicKey, Role, SecrecyGuarantee, SectorVocabulary,
    Serves, Status, Tlp, WebhookUrl, parse_date,
};

use crate::audit::timestamp_text;
use crate::sqlite_distribution as dist;
use crate::sqlite_feeds as feeds;
use crate::sqlite_reports as rep;
use crate::{
    AdviceRow, ApprovalRow, AuditEntry, DeliveryQuery, DeliveryRow, DeliveryUpdate, FeedInputRow,
    FeedMessageRow, FeedRowRow, FeedRunProgress, FeedRunRow, ForwardingRow, GENESIS_HASH,
    ItemQuery, ItemRow, ItemVersionRow, NewAuditEntry, NewDelivery, OrganisationPage,
    OrganisationQuery, PrefixMatch, ReportEventRow, ReportQuery, ReportRow, StandingApprovalRow,
    Store, StoreError, SubmissionRow, TokenRecord, Tx, entry_hash,
};

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/sqlite/0001_registry.sql"),
    include_str!("../migrations/sqlite/0002_distribution.sql"),
    include_str!("../migrations/sqlite/0003_registry_version.sql"),
    include_str!("../migrations/sqlite/0004_reports.sql"),
    include_str!("../migrations/sqlite/0005_standing_approvals.sql"),
    include_str!("../migrations/sqlite/0006_feed_runs.sql"),
    include_str!("../migrations/sqlite/0007_feed_tlp.sql"),
];

const READERS: usize = 4;

/// The SQLite store.
pub struct SqliteStore {
    path: PathBuf,
    vocabulary: SectorVocabulary,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(f, message)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                StoreError::Constraint(message.clone().unwrap_or_else(|| e.to_string()))
            }
            _ => StoreError::Database(e.to_string()),
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    /// `vocabulary` is the sector vocabulary stored sectors are read against.
    pub fn open(path: &Path, vocabulary: SectorVocabulary) -> Result<Self, StoreError> {
        keep_private(path)?;
        let open = || -> Result<Connection, StoreError> {
            let conn = Connection::open(path).map_err(|e| {
                StoreError::Database(format!("cannot open `{}`: {e}", path.display()))
            })?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            // Many distinct statements (batched inserts, filtered listings): keep them all.
            conn.set_prepared_statement_cache_capacity(256);
            conn.execute_batch(
                "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA trusted_schema = OFF;
                 PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;",
            )?;
            Ok(conn)
        };
        let mut writer = open()?;
        let mode: String = writer.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        // Commits checkpoint only when the WAL has grown large (about 40 MB); the server
        // checkpoints in the background (`Store::checkpoint`), so a send rarely pays for it.
        writer.execute_batch("PRAGMA wal_autocheckpoint = 10000;")?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Database(format!(
                "`{}` cannot use write-ahead logging (journal mode is `{mode}`)",
                path.display()
            )));
        }
        migrate(&mut writer)?;
        let readers = (0..READERS)
            .map(|_| open().map(Mutex::new))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            path: path.to_owned(),
            vocabulary,
            writer: Mutex::new(writer),
            readers,
        })
    }

    fn reader(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        for reader in &self.readers {
            if let Ok(guard) = reader.try_lock() {
                return Ok(guard);
            }
        }
        let first = self
            .readers
            .first()
            .ok_or_else(|| StoreError::Database("no reader connection".into()))?;
        first
            .lock()
            .map_err(|_| StoreError::Database("a reader connection was poisoned".into()))
    }
}

/// The database holds contacts, reports and sealed secrets: it, its write-ahead log and
/// its shared-memory file are readable by their owner only. A new database is created so
/// (SQLite gives the log and shared-memory files the database's permissions); an existing
/// one that others could read is made private.
fn keep_private(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let failed = |e: std::io::Error| {
            StoreError::Database(format!("cannot make `{}` private: {e}", path.display()))
        };
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(failed(e)),
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            if let Ok(meta) = std::fs::metadata(&name)
                && meta.permissions().mode() & 0o077 != 0
            {
                std::fs::set_permissions(&name, std::fs::Permissions::from_mode(0o600))
                    .map_err(failed)?;
            }
        }
    }
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(found).unwrap_or(0))
    {
        tx.execute_batch(sql)
            .map_err(|e| StoreError::Database(format!("migration {} failed: {e}", i + 1)))?;
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(i + 1).unwrap_or(i64::MAX),
        )?;
    }
    tx.commit()?;
    Ok(())
}

impl Store for SqliteStore {
    fn read(&self) -> Result<Box<dyn Tx + '_>, StoreError> {
        let conn = self.reader()?;
        conn.execute_batch("BEGIN DEFERRED")?;
        Ok(Box::new(SqliteTx {
            conn,
            vocabulary: &self.vocabulary,
            open: true,
        }))
    }

    fn write(&self) -> Result<Box<dyn Tx + '_>, StoreError> {
        let conn = self
            .writer
            .lock()
            .map_err(|_| StoreError::Database("the writer connection was poisoned".into()))?;
        conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(Box::new(SqliteTx {
            conn,
            vocabulary: &self.vocabulary,
            open: true,
        }))
    }

    fn describe(&self) -> String {
        format!("SQLite database `{}`", self.path.display())
    }

    fn checkpoint(&self) -> Result<(), StoreError> {
        let conn = self
            .writer
            .lock()
            .map_err(|_| StoreError::Database("the writer connection was poisoned".into()))?;
        // PASSIVE: copies what no reader still needs, never waits for readers.
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(())
    }
}

struct SqliteTx<'a> {
    conn: MutexGuard<'a, Connection>,
    vocabulary: &'a SectorVocabulary,
    open: bool,
}

impl Drop for SqliteTx<'_> {
    fn drop(&mut self) {
        if self.open {
            // Nothing committed: undo everything. An error here leaves nothing to undo.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// A `WHERE` clause of only the filters given, so that SQLite can use the indexes (a
/// `?n IS NULL OR column = ?n` clause defeats them), and a page of what it matches.
#[derive(Default)]
pub(crate) struct Filter {
    clauses: Vec<&'static str>,
    values: Vec<rusqlite::types::Value>,
}

impl Filter {
    /// Adds a condition with one `?` and its value.
    pub(crate) fn add(&mut self, clause: &'static str, value: rusqlite::types::Value) {
        self.clauses.push(clause);
        self.values.push(value);
    }

    /// How many rows of `from` match, and the page `limit`/`offset` of `select` (a
    /// `SELECT … FROM …` without `WHERE`) in the `order` given, each row read by `raw`
    /// and converted by `convert`.
    #[expect(
        clippy::too_many_arguments,
        reason = "one call per listing; each part differs"
    )]
    pub(crate) fn page<R, T>(
        mut self,
        conn: &Connection,
        from: &str,
        select: &str,
        order: &str,
        (limit, offset): (u64, u64),
        raw: fn(&rusqlite::Row<'_>) -> rusqlite::Result<R>,
        convert: fn(R) -> Result<T, StoreError>,
    ) -> Result<(Vec<T>, u64), StoreError> {
        use rusqlite::types::Value as V;
        let filter = if self.clauses.is_empty() {
            "1".to_owned()
        } else {
            self.clauses.join(" AND ")
        };
        let total: i64 = conn
            .prepare_cached(&format!("SELECT count(*) FROM {from} WHERE {filter}"))?
            .query_row(rusqlite::params_from_iter(self.values.iter()), |r| r.get(0))?;
        let n = |v: u64| V::Integer(i64::try_from(v).unwrap_or(i64::MAX));
        self.values.push(n(limit));
        self.values.push(n(offset));
        let mut stmt = conn.prepare_cached(&format!(
            "{select} WHERE {filter} ORDER BY {order} LIMIT ? OFFSET ?"
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(self.values.iter()), raw)?;
        let found = rows.map(|r| convert(r?)).collect::<Result<Vec<_>, _>>()?;
        Ok((found, u64::try_from(total).unwrap_or(0)))
    }
}

pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn date_text(d: Date) -> String {
    d.to_string()
}

fn read_date(slug: &str, text: &str) -> Result<Date, StoreError> {
    parse_date(text).map_err(|e| corrupt(format!("organisation `{slug}`: {e}")))
}

/// An optional stored timestamp.
pub(crate) fn opt_ts(text: Option<String>) -> Result<Option<Timestamp>, StoreError> {
    text.as_deref().map(read_timestamp).transpose()
}

/// A stored value of a vocabulary (`what` names it in the error).
pub(crate) fn parse<T: std::str::FromStr>(what: &str, text: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e| corrupt(format!("{what} `{text}`: {e}")))
}

pub(crate) fn read_timestamp(text: &str) -> Result<Timestamp, StoreError> {
    text.parse()
        .map_err(|e| corrupt(format!("`{text}` is not a timestamp: {e}")))
}

fn strings<T: ToString>(values: &[T]) -> Vec<String> {
    values.iter().map(ToString::to_string).collect()
}

fn addr_bytes(addr: IpAddr) -> (i64, Vec<u8>) {
    match addr {
        IpAddr::V4(a) => (4, a.octets().to_vec()),
        IpAddr::V6(a) => (6, a.octets().to_vec()),
    }
}

/// An organisation's own row: name, jurisdiction, ended, secrecy basis, from, until.
type Head = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// An organisation's rows in the other tables, each in position order.
#[derive(Default)]
struct Parts {
    sectors: Vec<String>,
    serves_sectors: Vec<String>,
    serves_members: Vec<String>,
    oversees: Vec<String>,
    prefixes: Vec<String>,
    domains: Vec<String>,
    asns: Vec<i64>,
    designations: Vec<(String, String, Option<String>)>,
    contacts: Vec<(String, String, Option<String>, Option<String>)>,
}

/// Where a list of texts goes in [`Parts`].
type Slot = fn(&mut Parts) -> &mut Vec<String>;

/// Every organisation's own row by slug (in slug order), and its other rows.
type Fetched = (Vec<(String, Head)>, HashMap<String, Parts>);

/// Lists of one text per row: (table, column, where it goes).
const TEXT_PARTS: &[(&str, &str, Slot)] = &[
    ("org_sectors", "sector", |p| &mut p.sectors),
    ("org_serves_sectors", "sector", |p| &mut p.serves_sectors),
    ("org_serves_members", "member", |p| &mut p.serves_members),
    ("org_oversees", "sector", |p| &mut p.oversees),
    ("org_prefixes", "prefix", |p| &mut p.prefixes),
    ("org_domains", "domain", |p| &mut p.domains),
];

impl SqliteTx<'_> {
    /// The organisations' rows, of one organisation or of all. Reading every table once
    /// for the whole registry is what keeps loading 10,000 organisations fast: one query
    /// per table, not per organisation.
    fn fetch(&self, slug: Option<&str>) -> Result<Fetched, StoreError> {
        let c = &*self.conn;
        let filter = if slug.is_some() {
            "WHERE slug = ?1"
        } else {
            ""
        };
        let bind: Vec<&dyn rusqlite::ToSql> = match &slug {
            Some(s) => vec![s],
            None => vec![],
        };
        let mut heads = Vec::new();
        {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT slug, name, jurisdiction, ended, secrecy_basis, secrecy_from, secrecy_until
                 FROM organisations {filter} ORDER BY slug"
            ))?;
            let rows = stmt.query_map(bind.as_slice(), |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    (
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ),
                ))
            })?;
            for row in rows {
                heads.push(row?);
            }
        }
        let mut parts: HashMap<String, Parts> = HashMap::with_capacity(heads.len());
        for (table, column, slot) in TEXT_PARTS {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT slug, {column} FROM {table} {filter} ORDER BY slug, position"
            ))?;
            let rows = stmt.query_map(bind.as_slice(), |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            for row in rows {
                let (owner, value) = row?;
                slot(parts.entry(owner).or_default()).push(value);
            }
        }
        {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT slug, asn FROM org_asns {filter} ORDER BY slug, position"
            ))?;
            let rows = stmt.query_map(bind.as_slice(), |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?;
            for row in rows {
                let (owner, asn) = row?;
                parts.entry(owner).or_default().asns.push(asn);
            }
        }
        {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT slug, status, valid_from, valid_until FROM org_designations {filter}
                 ORDER BY slug, position"
            ))?;
            let rows = stmt.query_map(bind.as_slice(), |r| {
                Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
            })?;
            for row in rows {
                let (owner, d) = row?;
                parts.entry(owner).or_default().designations.push(d);
            }
        }
        {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT slug, name, email, pgp_key, webhook_url FROM org_contacts {filter}
                 ORDER BY slug, position"
            ))?;
            let rows = stmt.query_map(bind.as_slice(), |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?),
                ))
            })?;
            for row in rows {
                let (owner, contact) = row?;
                parts.entry(owner).or_default().contacts.push(contact);
            }
        }
        Ok((heads, parts))
    }

    /// Builds an organisation from its rows.
    fn assemble(&self, slug: &str, head: Head, parts: Parts) -> Result<Organisation, StoreError> {
        let (name, jurisdiction, ended, basis, s_from, s_until) = head;
        let bad = |e: schakel_domain::ValueError| corrupt(format!("organisation `{slug}`: {e}"));
        let sectors_of = |list: &[String]| -> Result<Vec<_>, StoreError> {
            list.iter()
                .map(|s| self.vocabulary.parse(s).map_err(bad))
                .collect()
        };
        let mut designations = Vec::new();
        for (status, from, until) in parts.designations {
            let status: Status = status.parse().map_err(bad)?;
            let from = read_date(slug, &from)?;
            let until = until.map(|u| read_date(slug, &u)).transpose()?;
            designations.push(Designation::new(status, from, until).map_err(bad)?);
        }
        let mut contacts = Vec::new();
        for (name, email, key, hook) in parts.contacts {
            contacts.push(Contact {
                name,
                email: EmailAddress::parse(&email).map_err(bad)?,
                pgp_key: key
                    .map(|k| PgpPublicKey::parse(&k))
                    .transpose()
                    .map_err(bad)?,
                webhook_url: hook
                    .map(|u| WebhookUrl::parse(&u))
                    .transpose()
                    .map_err(bad)?,
            });
        }
        let secrecy = match basis {
            None => None,
            Some(basis) => Some(
                SecrecyGuarantee::new(
                    &basis,
                    s_from.map(|d| read_date(slug, &d)).transpose()?,
                    s_until.map(|d| read_date(slug, &d)).transpose()?,
                )
                .map_err(bad)?,
            ),
        };
        let draft = OrganisationDraft {
            slug: OrgSlug::parse(slug).map_err(bad)?,
            name,
            sectors: sectors_of(&parts.sectors)?,
            jurisdiction: Jurisdiction::parse(&jurisdiction).map_err(bad)?,
            designations,
            secrecy,
            serves: Serves {
                sectors: sectors_of(&parts.serves_sectors)?,
                organisations: parts
                    .serves_members
                    .iter()
                    .map(|s| OrgSlug::parse(s).map_err(bad))
                    .collect::<Result<_, _>>()?,
            },
            oversees: sectors_of(&parts.oversees)?,
            prefixes: parts
                .prefixes
                .iter()
                .map(|s| IpPrefix::parse(s).map_err(bad))
                .collect::<Result<_, _>>()?,
            asns: parts
                .asns
                .iter()
                .map(|n| Asn::new(u64::try_from(*n).unwrap_or(0)).map_err(bad))
                .collect::<Result<_, _>>()?,
            domains: parts
                .domains
                .iter()
                .map(|s| DomainName::parse(s).map_err(bad))
                .collect::<Result<_, _>>()?,
            contacts,
            ended: ended.map(|d| read_date(slug, &d)).transpose()?,
        };
        Organisation::new(draft).map_err(|issues| {
            let text: Vec<String> = issues.iter().map(ToString::to_string).collect();
            corrupt(format!("organisation `{slug}`: {}", text.join("; ")))
        })
    }

    fn load(&self, slug: &str) -> Result<Option<Organisation>, StoreError> {
        let (heads, mut parts) = self.fetch(Some(slug))?;
        heads
            .into_iter()
            .next()
            .map(|(slug, head)| {
                let p = parts.remove(&slug).unwrap_or_default();
                self.assemble(&slug, head, p)
            })
            .transpose()
    }

    fn slugs(&self, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params, |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Organisations by slug, in the order given: one by one for a short list, else every
    /// table read once.
    fn load_all(&self, slugs: Vec<String>) -> Result<Vec<Organisation>, StoreError> {
        let vanished = |s: &str| corrupt(format!("organisation `{s}` vanished while reading"));
        if slugs.len() <= 64 {
            return slugs
                .iter()
                .map(|s| self.load(s)?.ok_or_else(|| vanished(s)))
                .collect();
        }
        let (heads, mut parts) = self.fetch(None)?;
        let mut heads: HashMap<String, Head> = heads.into_iter().collect();
        slugs
            .iter()
            .map(|s| {
                let head = heads.remove(s).ok_or_else(|| vanished(s))?;
                self.assemble(s, head, parts.remove(s).unwrap_or_default())
            })
            .collect()
    }
}

const TOKEN_COLUMNS: &str =
    "id, secret_hash, role, name, organisation, created_at, created_by, expires_at, revoked_at";

fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<[Option<String>; 9]> {
    let hash: Vec<u8> = r.get(1)?;
    Ok([
        Some(r.get(0)?),
        Some(hash.iter().map(|b| format!("{b:02x}")).collect()),
        Some(r.get(2)?),
        Some(r.get(3)?),
        r.get(4)?,
        Some(r.get(5)?),
        Some(r.get(6)?),
        r.get(7)?,
        r.get(8)?,
    ])
}

fn token_from_row(row: [Option<String>; 9]) -> Result<TokenRecord, StoreError> {
    let [
        id,
        hash,
        role,
        name,
        organisation,
        created_at,
        created_by,
        expires_at,
        revoked_at,
    ] = row;
    let text = |v: Option<String>| v.ok_or_else(|| corrupt("a token row misses a column"));
    let hash = text(hash)?;
    let mut secret_hash = [0u8; 32];
    if hash.len() != 64 {
        return Err(corrupt("a token hash is not 32 bytes"));
    }
    for (i, byte) in secret_hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hash[2 * i..2 * i + 2], 16).map_err(corrupt)?;
    }
    Ok(TokenRecord {
        id: text(id)?,
        secret_hash,
        role: text(role)?.parse::<Role>().map_err(corrupt)?,
        name: text(name)?,
        organisation: organisation
            .map(|o| OrgSlug::parse(&o))
            .transpose()
            .map_err(corrupt)?,
        created_at: read_timestamp(&text(created_at)?)?,
        created_by: text(created_by)?,
        expires_at: expires_at.map(|t| read_timestamp(&t)).transpose()?,
        revoked_at: revoked_at.map(|t| read_timestamp(&t)).transpose()?,
    })
}

type AuditRow = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
);

fn audit_from_row(row: AuditRow) -> Result<AuditEntry, StoreError> {
    let (seq, at, actor, action, subject, before, after, prev_hash, hash) = row;
    let json = |t: Option<String>| -> Result<Option<serde_json::Value>, StoreError> {
        t.map(|t| serde_json::from_str(&t).map_err(|e| corrupt(format!("audit entry {seq}: {e}"))))
            .transpose()
    };
    Ok(AuditEntry {
        seq,
        entry: NewAuditEntry {
            at: read_timestamp(&at)?,
            actor,
            action,
            subject,
            before: json(before)?,
            after: json(after)?,
        },
        prev_hash,
        hash,
    })
}

const AUDIT_COLUMNS: &str = "seq, at, actor, action, subject, before, after, prev_hash, hash";

fn audit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
    ))
}

impl Tx for SqliteTx<'_> {
    fn organisations(&mut self) -> Result<Vec<Organisation>, StoreError> {
        let slugs = self.slugs("SELECT slug FROM organisations ORDER BY slug", &[])?;
        self.load_all(slugs)
    }

    fn organisation(&mut self, slug: &OrgSlug) -> Result<Option<Organisation>, StoreError> {
        self.load(slug.as_str())
    }

    fn find_organisations(
        &mut self,
        q: &OrganisationQuery,
    ) -> Result<OrganisationPage, StoreError> {
        let on = date_text(q.on);
        let status = q.status.map(Status::as_str);
        let only = q.only.as_ref().map(OrgSlug::as_str);
        let filter = "FROM organisations o
             WHERE (?1 IS NULL OR EXISTS (SELECT 1 FROM org_sectors s WHERE s.slug = o.slug AND s.sector = ?1))
               AND (?2 IS NULL OR EXISTS (SELECT 1 FROM org_designations d WHERE d.slug = o.slug AND d.status = ?2
                                          AND d.valid_from <= ?3 AND (d.valid_until IS NULL OR d.valid_until >= ?3)))
               AND (?2 IS NULL OR o.ended IS NULL OR o.ended > ?3)
               AND (?4 OR o.ended IS NULL OR o.ended > ?3)
               AND (?5 IS NULL OR o.slug = ?5)";
        let total: i64 = self
            .conn
            .prepare_cached(&format!("SELECT count(*) {filter}"))?
            .query_row(params![q.sector, status, on, q.include_ended, only], |r| {
                r.get(0)
            })?;
        let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(q.offset).unwrap_or(i64::MAX);
        let slugs = self.slugs(
            &format!("SELECT o.slug {filter} ORDER BY o.slug LIMIT ?6 OFFSET ?7"),
            &[
                &q.sector,
                &status,
                &on,
                &q.include_ended,
                &only,
                &limit,
                &offset,
            ],
        )?;
        Ok(OrganisationPage {
            organisations: self.load_all(slugs)?,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    fn registry_version(&mut self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT version FROM registry_version WHERE id = 1")?
            .query_row([], |r| r.get(0))?)
    }

    fn put_organisation(&mut self, org: &Organisation) -> Result<(), StoreError> {
        let c = &*self.conn;
        c.prepare_cached("UPDATE registry_version SET version = version + 1 WHERE id = 1")?
            .execute([])?;
        let slug = org.slug().as_str();
        let secrecy = org.secrecy();
        c.prepare_cached(
            "INSERT INTO organisations (slug, name, jurisdiction, ended, secrecy_basis, secrecy_from, secrecy_until)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (slug) DO UPDATE SET name = excluded.name, jurisdiction = excluded.jurisdiction,
               ended = excluded.ended, secrecy_basis = excluded.secrecy_basis,
               secrecy_from = excluded.secrecy_from, secrecy_until = excluded.secrecy_until",
        )?
        .execute(params![
            slug,
            org.name(),
            org.jurisdiction().as_str(),
            org.ended().map(date_text),
            secrecy.map(SecrecyGuarantee::basis),
            secrecy.and_then(SecrecyGuarantee::from).map(date_text),
            secrecy.and_then(SecrecyGuarantee::until).map(date_text),
        ])?;
        for table in [
            "org_sectors",
            "org_designations",
            "org_serves_sectors",
            "org_serves_members",
            "org_oversees",
            "org_prefixes",
            "org_asns",
            "org_domains",
            "org_contacts",
        ] {
            c.prepare_cached(&format!("DELETE FROM {table} WHERE slug = ?1"))?
                .execute(params![slug])?;
        }
        let texts = |table: &str, column: &str, values: Vec<String>| -> Result<(), StoreError> {
            let mut stmt = c.prepare_cached(&format!(
                "INSERT INTO {table} (slug, position, {column}) VALUES (?1, ?2, ?3)"
            ))?;
            for (i, v) in values.iter().enumerate() {
                stmt.execute(params![slug, i64::try_from(i).unwrap_or(i64::MAX), v])?;
            }
            Ok(())
        };
        texts("org_sectors", "sector", strings(org.sectors()))?;
        texts(
            "org_serves_sectors",
            "sector",
            strings(&org.serves().sectors),
        )?;
        texts(
            "org_serves_members",
            "member",
            strings(&org.serves().organisations),
        )?;
        texts("org_oversees", "sector", strings(org.oversees()))?;
        texts("org_domains", "domain", strings(org.domains()))?;
        {
            let mut stmt =
                c.prepare_cached("INSERT INTO org_asns (slug, position, asn) VALUES (?1, ?2, ?3)")?;
            for (i, asn) in org.asns().iter().enumerate() {
                stmt.execute(params![slug, i as i64, i64::from(asn.get())])?;
            }
        }
        {
            let mut stmt = c.prepare_cached(
                "INSERT INTO org_designations (slug, position, status, valid_from, valid_until)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (i, d) in org.designations().iter().enumerate() {
                stmt.execute(params![
                    slug,
                    i as i64,
                    d.status().as_str(),
                    date_text(d.from()),
                    d.until().map(date_text)
                ])?;
            }
        }
        {
            let mut stmt = c.prepare_cached(
                "INSERT INTO org_prefixes (slug, position, prefix, family, first, last, bits)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for (i, p) in org.prefixes().iter().enumerate() {
                let (family, first) = addr_bytes(p.network());
                let (_, last) = addr_bytes(p.last());
                stmt.execute(params![
                    slug,
                    i as i64,
                    p.to_string(),
                    family,
                    first,
                    last,
                    i64::from(p.bits())
                ])?;
            }
        }
        {
            let mut stmt = c.prepare_cached(
                "INSERT INTO org_contacts (slug, position, name, email, pgp_key, webhook_url)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for (i, contact) in org.contacts().iter().enumerate() {
                stmt.execute(params![
                    slug,
                    i as i64,
                    contact.name,
                    contact.email.as_str(),
                    contact.pgp_key.as_ref().map(PgpPublicKey::armored),
                    contact.webhook_url.as_ref().map(WebhookUrl::as_str),
                ])?;
            }
        }
        Ok(())
    }

    fn prefix_matches(&mut self, addr: IpAddr, on: Date) -> Result<Vec<PrefixMatch>, StoreError> {
        let (family, bytes) = addr_bytes(addr);
        let mut stmt = self.conn.prepare_cached(
            "SELECT p.slug, p.prefix FROM org_prefixes p JOIN organisations o ON o.slug = p.slug
             WHERE p.family = ?1 AND p.first <= ?2 AND p.last >= ?2
               AND (o.ended IS NULL OR o.ended > ?3)
             ORDER BY p.bits DESC, p.slug",
        )?;
        let rows = stmt.query_map(params![family, bytes, date_text(on)], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (slug, prefix) = row?;
            out.push(PrefixMatch {
                organisation: OrgSlug::parse(&slug).map_err(corrupt)?,
                prefix: IpPrefix::parse(&prefix).map_err(corrupt)?,
            });
        }
        Ok(out)
    }

    fn append_audit(&mut self, entry: NewAuditEntry) -> Result<AuditEntry, StoreError> {
        let last: Option<(i64, String)> = self
            .conn
            .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let (seq, prev_hash) = match last {
            Some((seq, hash)) => (seq + 1, hash),
            None => (1, GENESIS_HASH.to_owned()),
        };
        let hash = entry_hash(seq, &entry, &prev_hash);
        self.conn
            .prepare_cached(
                "INSERT INTO audit_log (seq, at, actor, action, subject, before, after, prev_hash, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                seq,
                timestamp_text(entry.at),
                entry.actor,
                entry.action,
                entry.subject,
                entry.before.as_ref().map(ToString::to_string),
                entry.after.as_ref().map(ToString::to_string),
                prev_hash,
                hash
            ])?;
        Ok(AuditEntry {
            seq,
            entry,
            prev_hash,
            hash,
        })
    }

    fn audit_entries(&mut self, subject: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE subject = ?1 ORDER BY seq"
        ))?;
        let rows = stmt.query_map(params![subject], audit_row)?;
        rows.map(|r| audit_from_row(r?)).collect()
    }

    fn audit_log(&mut self) -> Result<Vec<AuditEntry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY seq"
        ))?;
        let rows = stmt.query_map([], audit_row)?;
        rows.map(|r| audit_from_row(r?)).collect()
    }

    fn insert_token(&mut self, t: &TokenRecord) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(&format!(
                "INSERT INTO tokens ({TOKEN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            ))?
            .execute(params![
                t.id,
                t.secret_hash.as_slice(),
                t.role.as_str(),
                t.name,
                t.organisation.as_ref().map(OrgSlug::as_str),
                timestamp_text(t.created_at),
                t.created_by,
                t.expires_at.map(timestamp_text),
                t.revoked_at.map(timestamp_text),
            ])?;
        Ok(())
    }

    fn token_by_secret_hash(
        &mut self,
        secret_hash: &[u8; 32],
    ) -> Result<Option<TokenRecord>, StoreError> {
        let row = self
            .conn
            .prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens WHERE secret_hash = ?1"
            ))?
            .query_row(params![secret_hash.as_slice()], token_row)
            .optional()?;
        row.map(token_from_row).transpose()
    }

    fn token(&mut self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row = self
            .conn
            .prepare_cached(&format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?1"))?
            .query_row(params![id], token_row)
            .optional()?;
        row.map(token_from_row).transpose()
    }

    fn tokens(&mut self) -> Result<Vec<TokenRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map([], token_row)?;
        rows.map(|r| token_from_row(r?)).collect()
    }

    fn revoke_token(&mut self, id: &str, at: Timestamp) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            )?
            .execute(params![id, timestamp_text(at)])?;
        Ok(())
    }

    fn put_item(&mut self, item: &ItemRow) -> Result<(), StoreError> {
        dist::put_item(&self.conn, item)
    }

    fn insert_item_version(&mut self, version: &ItemVersionRow) -> Result<(), StoreError> {
        dist::insert_item_version(&self.conn, version)
    }

    fn item(&mut self, id: &str) -> Result<Option<ItemRow>, StoreError> {
        dist::item(&self.conn, id)
    }

    fn item_version(
        &mut self,
        id: &str,
        version: u32,
    ) -> Result<Option<ItemVersionRow>, StoreError> {
        dist::item_version(&self.conn, id, version)
    }

    fn find_items(&mut self, query: &ItemQuery) -> Result<(Vec<ItemRow>, u64), StoreError> {
        dist::find_items(&self.conn, query)
    }

    fn insert_approval(&mut self, approval: &ApprovalRow) -> Result<(), StoreError> {
        dist::insert_approval(&self.conn, approval)
    }

    fn approvals(&mut self, item_id: &str) -> Result<Vec<ApprovalRow>, StoreError> {
        dist::approvals(&self.conn, item_id)
    }

    fn insert_deliveries(&mut self, deliveries: &[NewDelivery<'_>]) -> Result<(), StoreError> {
        dist::insert_deliveries(&self.conn, deliveries)
    }

    fn delivery(&mut self, id: &str) -> Result<Option<DeliveryRow>, StoreError> {
        dist::delivery(&self.conn, id)
    }

    fn find_deliveries(
        &mut self,
        query: &DeliveryQuery,
    ) -> Result<(Vec<DeliveryRow>, u64), StoreError> {
        dist::find_deliveries(&self.conn, query)
    }

    fn update_delivery(&mut self, id: &str, update: &DeliveryUpdate) -> Result<bool, StoreError> {
        dist::update_delivery(&self.conn, id, update)
    }

    fn acknowledge(&mut self, id: &str, at: Timestamp, by: &str) -> Result<bool, StoreError> {
        dist::acknowledge(&self.conn, id, at, by)
    }

    fn mark_reminded(&mut self, id: &str, at: Timestamp) -> Result<bool, StoreError> {
        dist::mark_reminded(&self.conn, id, at)
    }

    fn insert_forwarding(&mut self, forwarding: &ForwardingRow) -> Result<bool, StoreError> {
        dist::insert_forwarding(&self.conn, forwarding)
    }

    fn forwardings(&mut self, delivery_id: &str) -> Result<Vec<ForwardingRow>, StoreError> {
        dist::forwardings(&self.conn, delivery_id)
    }

    fn webhook_secret(&mut self, slug: &OrgSlug) -> Result<Option<String>, StoreError> {
        dist::webhook_secret(&self.conn, slug)
    }

    fn webhook_secret_holders(&mut self) -> Result<Vec<OrgSlug>, StoreError> {
        dist::webhook_secret_holders(&self.conn)
    }

    fn put_webhook_secret(
        &mut self,
        slug: &OrgSlug,
        secret: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        dist::put_webhook_secret(&self.conn, slug, secret, at)
    }

    fn put_report(&mut self, report: &ReportRow) -> Result<(), StoreError> {
        rep::put_report(&self.conn, report)
    }

    fn report(&mut self, id: &str) -> Result<Option<ReportRow>, StoreError> {
        rep::report(&self.conn, id)
    }

    fn find_reports(&mut self, query: &ReportQuery) -> Result<(Vec<ReportRow>, u64), StoreError> {
        rep::find_reports(&self.conn, query)
    }

    fn insert_report_event(&mut self, event: &ReportEventRow) -> Result<(), StoreError> {
        rep::insert_report_event(&self.conn, event)
    }

    fn report_events(&mut self, report_id: &str) -> Result<Vec<ReportEventRow>, StoreError> {
        rep::report_events(&self.conn, report_id)
    }

    fn insert_submission(&mut self, submission: &SubmissionRow) -> Result<bool, StoreError> {
        rep::insert_submission(&self.conn, submission)
    }

    fn submissions(&mut self, report_id: &str) -> Result<Vec<SubmissionRow>, StoreError> {
        rep::submissions(&self.conn, report_id)
    }

    fn put_advice(&mut self, advice: &AdviceRow) -> Result<(), StoreError> {
        rep::put_advice(&self.conn, advice)
    }

    fn advice(&mut self, id: &str) -> Result<Option<AdviceRow>, StoreError> {
        rep::advice(&self.conn, id)
    }

    fn all_advice(&mut self) -> Result<Vec<AdviceRow>, StoreError> {
        rep::all_advice(&self.conn)
    }

    fn insert_standing_approval(
        &mut self,
        approval: &StandingApprovalRow,
    ) -> Result<(), StoreError> {
        rep::insert_standing_approval(&self.conn, approval)
    }

    fn revoke_standing_approval(
        &mut self,
        report: &str,
        at: Timestamp,
        by: &str,
    ) -> Result<bool, StoreError> {
        rep::revoke_standing_approval(&self.conn, report, at, by)
    }

    fn standing_approvals(&mut self) -> Result<Vec<StandingApprovalRow>, StoreError> {
        rep::standing_approvals(&self.conn)
    }

    fn insert_feed_run(&mut self, run: &FeedRunRow) -> Result<(), StoreError> {
        feeds::insert_feed_run(&self.conn, run)
    }

    fn update_feed_run_summary(
        &mut self,
        id: &str,
        summary: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        feeds::update_feed_run_summary(&self.conn, id, summary)
    }

    fn feed_run(&mut self, id: &str) -> Result<Option<FeedRunRow>, StoreError> {
        feeds::feed_run(&self.conn, id)
    }

    fn feed_run_summary(&mut self, id: &str) -> Result<Option<serde_json::Value>, StoreError> {
        feeds::feed_run_summary(&self.conn, id)
    }

    fn feed_run_progress(&mut self, run_id: &str) -> Result<FeedRunProgress, StoreError> {
        feeds::feed_run_progress(&self.conn, run_id)
    }

    fn feed_runs(&mut self, limit: u64, offset: u64) -> Result<(Vec<FeedRunRow>, u64), StoreError> {
        feeds::feed_runs(&self.conn, limit, offset)
    }

    fn purge_feed_rows(&mut self, run_id: &str, at: Timestamp) -> Result<u64, StoreError> {
        feeds::purge_feed_rows(&self.conn, run_id, at)
    }

    fn insert_feed_input(&mut self, input: &FeedInputRow) -> Result<(), StoreError> {
        feeds::insert_feed_input(&self.conn, input)
    }

    fn feed_inputs(&mut self, run_id: &str) -> Result<Vec<FeedInputRow>, StoreError> {
        feeds::feed_inputs(&self.conn, run_id)
    }

    fn insert_feed_row(&mut self, row: &FeedRowRow) -> Result<(), StoreError> {
        feeds::insert_feed_row(&self.conn, row)
    }

    fn feed_rows(
        &mut self,
        run_id: &str,
        report: &str,
        tlp: Option<Tlp>,
        organisation: &OrgSlug,
        limit: u64,
        offset: u64,
    ) -> Result<(Vec<FeedRowRow>, u64), StoreError> {
        feeds::feed_rows(&self.conn, run_id, report, tlp, organisation, limit, offset)
    }

    fn insert_feed_message(&mut self, message: &FeedMessageRow) -> Result<(), StoreError> {
        feeds::insert_feed_message(&self.conn, message)
    }

    fn feed_message(&mut self, item_id: &str) -> Result<Option<FeedMessageRow>, StoreError> {
        feeds::feed_message(&self.conn, item_id)
    }

    fn feed_messages(&mut self, run_id: &str) -> Result<Vec<FeedMessageRow>, StoreError> {
        feeds::feed_messages(&self.conn, run_id)
    }

    fn feed_messages_to(
        &mut self,
        recipient: &OrgSlug,
        report: &str,
        tlp: Option<Tlp>,
    ) -> Result<Vec<FeedMessageRow>, StoreError> {
        feeds::feed_messages_to(&self.conn, recipient, report, tlp)
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        // On failure `open` stays true and dropping the transaction rolls it back.
        self.conn.execute_batch("COMMIT")?;
        self.open = false;
        Ok(())
    }
}
