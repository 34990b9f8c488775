//! Maintaining the registry: import, export, list, show, create, update, end; and the
//! owner of an address.

use std::collections::BTreeMap;
use std::net::IpAddr;

use schakel_domain::{Date, OrgSlug, Organisation, Principal, RegistryIssue, Role, check_registry};
use schakel_formats::answers::{OwnerRecord, PrefixMatchRecord};
use schakel_formats::registry::{
    EntryError, OrganisationRecord, RegistryFileError, parse_entry, parse_registry_file,
    write_registry_file,
};
use schakel_store::{NewAuditEntry, OrganisationPage, OrganisationQuery, PrefixMatch, Tx};

use crate::access::{Action, require, require_or_own};
use crate::{App, AppError};

/// How an import treats organisations absent from the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// End (as of today) every organisation that is not in the file.
    pub prune: bool,
}

/// What an import changed, by slug.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// New organisations.
    pub created: Vec<String>,
    /// Organisations whose record changed.
    pub updated: Vec<String>,
    /// Organisations in the file that were already exactly so.
    pub unchanged: Vec<String>,
    /// Organisations ended because they were absent (`--prune`).
    pub ended: Vec<String>,
}

/// Who owns an address on a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerAnswer {
    /// The address asked about.
    pub ip: IpAddr,
    /// The date ownership is taken on.
    pub on: Date,
    /// The owner (the most specific prefix).
    pub organisation: Organisation,
    /// Every covering prefix, most specific first (the first is the owner's).
    pub matches: Vec<PrefixMatch>,
}

/// How a single-organisation write treats an existing organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriteMode {
    Create,
    Update,
    Upsert,
}

pub(crate) fn subject(slug: &OrgSlug) -> String {
    format!("organisation:{slug}")
}

/// An organisation as the audit log keeps it: the registry record with its contacts
/// (names, addresses and keys of people) replaced by their number and a SHA-256 digest, so
/// the log commits to them and shows that they changed without holding personal data.
fn record_json(org: &Organisation) -> serde_json::Value {
    let mut record =
        serde_json::to_value(OrganisationRecord::from_organisation(org)).unwrap_or_default();
    if let Some(contacts) = record.get_mut("contacts") {
        let count = contacts.as_array().map_or(0, Vec::len);
        let hex = crate::sha256_hex(contacts.to_string().as_bytes());
        *contacts = serde_json::json!({"count": count, "sha256": hex});
    }
    record
}

/// Records an organisation change in the same transaction as the change.
fn audit_change(
    tx: &mut dyn Tx,
    app: &App,
    actor: &str,
    before: Option<&Organisation>,
    after: &Organisation,
) -> Result<(), AppError> {
    let action = match before {
        None => "organisation.create",
        Some(b) if b.ended().is_none() && after.ended().is_some() => "organisation.end",
        Some(_) => "organisation.update",
    };
    tx.append_audit(NewAuditEntry {
        at: app.clock.now(),
        actor: actor.to_owned(),
        action: action.into(),
        subject: subject(after.slug()),
        before: before.map(record_json),
        after: Some(record_json(after)),
    })?;
    Ok(())
}

/// An ended organisation's slug is never reused: it may not be revived.
fn revival(before: &Organisation, after: &Organisation, today: Date) -> Option<String> {
    let ended = before.ended().filter(|d| *d <= today)?;
    let still_ended = after.ended().is_some_and(|d| d <= today);
    (!still_ended).then(|| {
        format!(
            "`{}` was ended on {ended}; an ended organisation's slug is never reused",
            before.slug()
        )
    })
}

/// An issue found across the registry, as an error of the entry at `index` (if any).
impl App {
    /// An organisation's webhook URLs that this installation would never post to
    /// (`[webhooks] allow_private`), each named by its contact.
    fn webhook_errors(&self, org: &Organisation, index: Option<usize>) -> Vec<EntryError> {
        org.contacts()
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let url = c.webhook_url.as_ref()?;
                let e = url.check(self.webhook_targets).err()?;
                Some(EntryError {
                    index,
                    slug: Some(org.slug().to_string()),
                    field: format!("contacts[{i}].webhook_url"),
                    reason: e.0,
                })
            })
            .collect()
    }
}

fn entry_error(issue: RegistryIssue, index: Option<usize>) -> EntryError {
    EntryError {
        index,
        slug: Some(issue.slug.to_string()),
        field: issue.field,
        reason: issue.reason,
    }
}

impl OwnerAnswer {
    /// The JSON answer shared by the API and the CLI.
    pub fn to_record(&self) -> OwnerRecord {
        OwnerRecord {
            ip: self.ip.to_string(),
            at: self.on.to_string(),
            organisation: self.organisation.slug().to_string(),
            name: self.organisation.name().to_owned(),
            prefix: self
                .matches
                .first()
                .map(|m| m.prefix.to_string())
                .unwrap_or_default(),
            matches: self
                .matches
                .iter()
                .map(|m| PrefixMatchRecord {
                    organisation: m.organisation.to_string(),
                    prefix: m.prefix.to_string(),
                })
                .collect(),
        }
    }
}

impl App {
    /// Imports a registry file: creates or updates by slug, all or nothing. With
    /// `prune`, organisations absent from the file are ended as of today. Unchanged
    /// organisations are not touched (importing the same file twice changes nothing).
    pub fn import_registry(
        &self,
        principal: &Principal,
        text: &[u8],
        options: ImportOptions,
    ) -> Result<ImportReport, AppError> {
        require(principal, Action::ChangeRegistry)?;
        let incoming = parse_registry_file(text, &self.vocabulary).map_err(|e| match e {
            RegistryFileError::Syntax(m) => AppError::invalid(m, vec![]),
            RegistryFileError::Entries(errors) => AppError::invalid(
                format!(
                    "{} problem(s) in the registry file; nothing was imported",
                    errors.len()
                ),
                errors,
            ),
        })?;
        let today = self.clock.today();
        let mut tx = self.store.write()?;
        let existing: BTreeMap<String, Organisation> = tx
            .organisations()?
            .into_iter()
            .map(|o| (o.slug().to_string(), o))
            .collect();

        let mut errors = Vec::new();
        let mut index_of = BTreeMap::new();
        for (index, org) in incoming.iter().enumerate() {
            let slug = org.slug().to_string();
            if let Some(first) = index_of.get(&slug).copied() {
                errors.push(EntryError {
                    index: Some(index),
                    slug: Some(slug.clone()),
                    field: "slug".into(),
                    reason: format!("`{slug}` appears more than once (first at entry {first})"),
                });
            } else {
                index_of.insert(slug.clone(), index);
            }
            if let Some(reason) = existing.get(&slug).and_then(|b| revival(b, org, today)) {
                errors.push(EntryError {
                    index: Some(index),
                    slug: Some(slug),
                    field: "ended".into(),
                    reason,
                });
            }
            errors.extend(self.webhook_errors(org, Some(index)));
        }

        let mut merged = existing.clone();
        for org in &incoming {
            merged.insert(org.slug().to_string(), org.clone());
        }
        let mut pruned = Vec::new();
        if options.prune {
            for (slug, org) in merged.iter_mut() {
                if !index_of.contains_key(slug) && org.ended().is_none() {
                    let mut draft = org.clone().into_draft();
                    draft.ended = Some(today);
                    *org = Organisation::new(draft).map_err(|issues| {
                        AppError::Conflict(format!("cannot end `{slug}`: {issues:?}"))
                    })?;
                    pruned.push(slug.clone());
                }
            }
        }
        // Issues of organisations not in the file cannot arise from it: they were checked
        // when they were written.
        errors.extend(
            check_registry(merged.values(), today)
                .into_iter()
                .filter_map(|i| {
                    let index = index_of.get(i.slug.as_str()).copied()?;
                    Some(entry_error(i, Some(index)))
                }),
        );
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.index);
            return Err(AppError::invalid(
                format!(
                    "{} problem(s) in the registry file; nothing was imported",
                    errors.len()
                ),
                errors,
            ));
        }

        let actor = principal.actor();
        let mut report = ImportReport::default();
        for org in incoming.iter() {
            let slug = org.slug().to_string();
            match existing.get(&slug) {
                Some(before) if before == org => report.unchanged.push(slug),
                before => {
                    tx.put_organisation(org)?;
                    audit_change(&mut *tx, self, &actor, before, org)?;
                    if before.is_some() {
                        report.updated.push(slug);
                    } else {
                        report.created.push(slug);
                    }
                }
            }
        }
        for slug in &pruned {
            if let (Some(before), Some(after)) = (existing.get(slug), merged.get(slug)) {
                tx.put_organisation(after)?;
                audit_change(&mut *tx, self, &actor, Some(before), after)?;
            }
        }
        report.ended = pruned;
        tx.commit()?;
        Ok(report)
    }

    /// The registry file of every organisation (ended ones included), sorted by slug.
    pub fn export_registry(&self, principal: &Principal) -> Result<String, AppError> {
        require(principal, Action::ReadRegistry)?;
        let orgs = self.store.read()?.organisations()?;
        write_registry_file(&orgs)
            .map_err(|e| AppError::Conflict(format!("cannot write the registry file: {e}")))
    }

    /// A filtered page of organisations; a recipient sees only its own organisation.
    pub fn list_organisations(
        &self,
        principal: &Principal,
        mut query: OrganisationQuery,
    ) -> Result<OrganisationPage, AppError> {
        match (&principal.organisation, principal.role) {
            (Some(own), Role::Recipient) => query.only = Some(own.clone()),
            _ => require(principal, Action::ReadRegistry)?,
        }
        Ok(self.store.read()?.find_organisations(&query)?)
    }

    /// One organisation.
    pub fn organisation(
        &self,
        principal: &Principal,
        slug: &str,
    ) -> Result<Organisation, AppError> {
        let slug = parse_slug(slug)?;
        require_or_own(principal, Action::ReadRegistry, &slug)?;
        self.store
            .read()?
            .organisation(&slug)?
            .ok_or_else(|| not_found(&slug))
    }

    /// Creates one organisation from its record (JSON); an existing slug is a conflict.
    pub fn create_organisation(
        &self,
        principal: &Principal,
        record: serde_json::Value,
    ) -> Result<Organisation, AppError> {
        self.write_one(principal, record, None, WriteMode::Create)
            .map(|(o, _)| o)
    }

    /// Replaces one existing organisation's record; `slug` (from a path) must match the
    /// record's when given.
    pub fn update_organisation(
        &self,
        principal: &Principal,
        slug: Option<&str>,
        record: serde_json::Value,
    ) -> Result<Organisation, AppError> {
        self.write_one(principal, record, slug, WriteMode::Update)
            .map(|(o, _)| o)
    }

    /// Creates or replaces one organisation; returns it and whether it was created.
    pub fn put_organisation(
        &self,
        principal: &Principal,
        slug: &str,
        record: serde_json::Value,
    ) -> Result<(Organisation, bool), AppError> {
        self.write_one(principal, record, Some(slug), WriteMode::Upsert)
    }

    /// Ends an organisation from `on` (default today). It is never deleted.
    pub fn end_organisation(
        &self,
        principal: &Principal,
        slug: &str,
        on: Option<Date>,
    ) -> Result<Organisation, AppError> {
        require(principal, Action::ChangeRegistry)?;
        let slug = parse_slug(slug)?;
        let on = on.unwrap_or_else(|| self.clock.today());
        let mut tx = self.store.write()?;
        let before = tx.organisation(&slug)?.ok_or_else(|| not_found(&slug))?;
        if let Some(ended) = before.ended() {
            return Err(AppError::Conflict(format!(
                "`{slug}` is already ended from {ended}"
            )));
        }
        let mut draft = before.clone().into_draft();
        draft.ended = Some(on);
        let after = Organisation::new(draft)
            .map_err(|issues| AppError::Conflict(format!("cannot end `{slug}`: {issues:?}")))?;
        tx.put_organisation(&after)?;
        audit_change(&mut *tx, self, &principal.actor(), Some(&before), &after)?;
        tx.commit()?;
        Ok(after)
    }

    fn write_one(
        &self,
        principal: &Principal,
        record: serde_json::Value,
        path_slug: Option<&str>,
        mode: WriteMode,
    ) -> Result<(Organisation, bool), AppError> {
        require(principal, Action::ChangeRegistry)?;
        let org = parse_entry(record, None, &self.vocabulary).map_err(|errors| {
            AppError::invalid(
                format!("{} problem(s) in the organisation", errors.len()),
                errors,
            )
        })?;
        if let Some(path_slug) = path_slug
            && path_slug != org.slug().as_str()
        {
            return Err(AppError::field(
                "slug",
                format!(
                    "`{}` does not match `{path_slug}` in the path; a slug never changes",
                    org.slug()
                ),
            ));
        }
        let today = self.clock.today();
        let mut tx = self.store.write()?;
        let before = tx.organisation(org.slug())?;
        match (mode, &before) {
            (WriteMode::Create, Some(_)) => {
                return Err(AppError::Conflict(format!(
                    "`{}` already exists (slugs are never reused); change it with an update",
                    org.slug()
                )));
            }
            (WriteMode::Update, None) => return Err(not_found(org.slug())),
            _ => {}
        }
        if let Some(reason) = before.as_ref().and_then(|b| revival(b, &org, today)) {
            return Err(AppError::field("ended", reason));
        }
        let errors = self.webhook_errors(&org, None);
        if !errors.is_empty() {
            return Err(AppError::invalid(
                format!("{} problem(s) in the organisation", errors.len()),
                errors,
            ));
        }
        if before.as_ref() == Some(&org) {
            return Ok((org, false));
        }
        let mut registry: BTreeMap<String, Organisation> = tx
            .organisations()?
            .into_iter()
            .map(|o| (o.slug().to_string(), o))
            .collect();
        registry.insert(org.slug().to_string(), org.clone());
        let errors: Vec<EntryError> = check_registry(registry.values(), today)
            .into_iter()
            .filter(|i| i.slug == *org.slug())
            .map(|i| entry_error(i, None))
            .collect();
        if !errors.is_empty() {
            return Err(AppError::invalid(
                format!("{} problem(s) in the organisation", errors.len()),
                errors,
            ));
        }
        tx.put_organisation(&org)?;
        audit_change(&mut *tx, self, &principal.actor(), before.as_ref(), &org)?;
        tx.commit()?;
        Ok((org, before.is_none()))
    }

    /// Which organisation owns `ip` on `on` (default today): the longest registered prefix
    /// of an organisation that is not ended.
    pub fn owner(
        &self,
        principal: &Principal,
        ip: &str,
        on: Option<Date>,
    ) -> Result<OwnerAnswer, AppError> {
        require(principal, Action::ReadRegistry)?;
        let addr: IpAddr = ip
            .trim()
            .parse()
            .map_err(|_| AppError::field("ip", format!("`{ip}` is not an IPv4 or IPv6 address")))?;
        let on = on.unwrap_or_else(|| self.clock.today());
        let mut tx = self.store.read()?;
        let matches = tx.prefix_matches(addr, on)?;
        let owner = matches.first().ok_or_else(|| {
            AppError::NotFound(format!("no registered organisation owns `{addr}` on {on}"))
        })?;
        let organisation = tx
            .organisation(&owner.organisation)?
            .ok_or_else(|| not_found(&owner.organisation))?;
        Ok(OwnerAnswer {
            ip: addr,
            on,
            organisation,
            matches,
        })
    }
}

pub(crate) fn parse_slug(slug: &str) -> Result<OrgSlug, AppError> {
    OrgSlug::parse(slug).map_err(|e| AppError::field("slug", e.0))
}

pub(crate) fn not_found(slug: &OrgSlug) -> AppError {
    AppError::NotFound(format!("no organisation `{slug}` in the registry"))
}
