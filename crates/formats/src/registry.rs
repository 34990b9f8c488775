//! The registry file (`schakel org import FILE`, `schakel org export`): a JSON array of
//! organisations, and the record of one organisation used by the HTTP API too.

use std::fmt;

use schakel_domain::{
    Asn, Contact, Designation, DomainName, EmailAddress, FieldIssue, IpPrefix, Jurisdiction,
    OrgSlug, Organisation, OrganisationDraft, PgpPublicKey, SecrecyGuarantee, SectorVocabulary,
    Serves, Status, ValueError, WebhookUrl, parse_date,
};
use serde::{Deserialize, Serialize};

use crate::nullable::{null_as_default, required_nullable};

/// One organisation as it appears in the registry file and in API bodies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OrganisationRecord {
    /// Lowercase letters, digits and `-`; unique; never reused.
    #[cfg_attr(feature = "openapi", schema(example = "hospital-south"))]
    pub slug: String,
    /// Display name.
    #[cfg_attr(feature = "openapi", schema(example = "Hospital South"))]
    pub name: String,
    /// Sectors from the vocabulary; the first is the primary sector.
    pub sectors: Vec<String>,
    /// ISO 3166-1 alpha-2 code.
    #[cfg_attr(feature = "openapi", schema(example = "NL"))]
    pub jurisdiction: String,
    /// Dated legal statuses.
    pub designations: Vec<DesignationRecord>,
    /// The secrecy guarantee on file, or `null` (the field is required).
    #[serde(deserialize_with = "required_nullable")]
    pub secrecy: Option<SecrecyRecord>,
    /// Whom a linking organisation or crisis team serves.
    #[serde(default, deserialize_with = "null_as_default")]
    pub serves: ServesRecord,
    /// Sectors an organisation (a ministry) is responsible for.
    #[serde(default, deserialize_with = "null_as_default")]
    pub oversees: Vec<String>,
    /// IPv4 and IPv6 prefixes in CIDR notation.
    #[serde(default, deserialize_with = "null_as_default")]
    pub prefixes: Vec<String>,
    /// Autonomous system numbers.
    #[serde(default, deserialize_with = "null_as_default")]
    pub asns: Vec<u64>,
    /// Domains; they match on label boundaries.
    #[serde(default, deserialize_with = "null_as_default")]
    pub domains: Vec<String>,
    /// How to reach the organisation.
    pub contacts: Vec<ContactRecord>,
    /// The date from which the organisation is ended, or `null`.
    #[serde(default)]
    pub ended: Option<String>,
}

/// A dated status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DesignationRecord {
    /// One of the statuses of FORMATS.md.
    #[cfg_attr(feature = "openapi", schema(example = "vital_provider"))]
    pub status: String,
    /// First day (inclusive), `YYYY-MM-DD`.
    pub from: String,
    /// Last day (inclusive), or `null` for open-ended.
    #[serde(deserialize_with = "required_nullable")]
    pub until: Option<String>,
}

/// A secrecy guarantee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SecrecyRecord {
    /// What it rests on (an agreement, a legal provision).
    pub basis: String,
    /// First day valid; absent or `null`: always.
    #[serde(default)]
    pub from: Option<String>,
    /// Last day valid (inclusive); `null`: open-ended.
    #[serde(deserialize_with = "required_nullable")]
    pub until: Option<String>,
}

/// Sectors and named organisations served.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ServesRecord {
    /// Every organisation in these sectors is served.
    #[serde(default, deserialize_with = "null_as_default")]
    pub sectors: Vec<String>,
    /// These organisations (slugs) are served by name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub organisations: Vec<String>,
}

/// A contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ContactRecord {
    /// Person or team.
    pub name: String,
    /// Email address.
    pub email: String,
    /// ASCII-armoured OpenPGP public key, or `null`.
    #[serde(default)]
    pub pgp_key: Option<String>,
    /// `https` URL (plain `http` only on loopback), or `null`.
    #[serde(default)]
    pub webhook_url: Option<String>,
}

impl OrganisationRecord {
    /// The record of an organisation (what `org export` writes).
    pub fn from_organisation(org: &Organisation) -> Self {
        let strings = |v: &[_]| -> Vec<String> { v.iter().map(ToString::to_string).collect() };
        Self {
            slug: org.slug().to_string(),
            name: org.name().to_owned(),
            sectors: org.sectors().iter().map(ToString::to_string).collect(),
            jurisdiction: org.jurisdiction().to_string(),
            designations: org
                .designations()
                .iter()
                .map(|d| DesignationRecord {
                    status: d.status().to_string(),
                    from: d.from().to_string(),
                    until: d.until().map(|u| u.to_string()),
                })
                .collect(),
            secrecy: org.secrecy().map(|g| SecrecyRecord {
                basis: g.basis().to_owned(),
                from: g.from().map(|d| d.to_string()),
                until: g.until().map(|d| d.to_string()),
            }),
            serves: ServesRecord {
                sectors: org
                    .serves()
                    .sectors
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                organisations: org
                    .serves()
                    .organisations
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
            },
            oversees: org.oversees().iter().map(ToString::to_string).collect(),
            prefixes: strings(org.prefixes()),
            asns: org.asns().iter().map(|a| u64::from(a.get())).collect(),
            domains: org.domains().iter().map(ToString::to_string).collect(),
            contacts: org
                .contacts()
                .iter()
                .map(|c| ContactRecord {
                    name: c.name.clone(),
                    email: c.email.to_string(),
                    pgp_key: c.pgp_key.as_ref().map(|k| k.armored().to_owned()),
                    webhook_url: c.webhook_url.as_ref().map(|u| u.as_str().to_owned()),
                })
                .collect(),
            ended: org.ended().map(|d| d.to_string()),
        }
    }

    /// Parses every field and checks how they fit; returns every issue with its field path.
    pub fn to_organisation(
        &self,
        vocabulary: &SectorVocabulary,
    ) -> Result<Organisation, Vec<FieldIssue>> {
        let mut c = Collector::default();
        let slug = c.take("slug", OrgSlug::parse(&self.slug));
        let jurisdiction = c.take("jurisdiction", Jurisdiction::parse(&self.jurisdiction));
        let sectors = c.list("sectors", &self.sectors, |s| vocabulary.parse(s));
        let designations = c.list("designations", &self.designations, |d| d.to_designation());
        let secrecy = match &self.secrecy {
            None => Some(None),
            Some(g) => c.take("secrecy", g.to_guarantee()).map(Some),
        };
        let serves_sectors = c.list("serves.sectors", &self.serves.sectors, |s| {
            vocabulary.parse(s)
        });
        let serves_orgs = c.list("serves.organisations", &self.serves.organisations, |s| {
            OrgSlug::parse(s)
        });
        let oversees = c.list("oversees", &self.oversees, |s| vocabulary.parse(s));
        let prefixes = c.list("prefixes", &self.prefixes, |s| IpPrefix::parse(s));
        let asns = c.list("asns", &self.asns, |n| Asn::new(*n));
        let domains = c.list("domains", &self.domains, |s| DomainName::parse(s));
        let contacts = c.list("contacts", &self.contacts, ContactRecord::to_contact);
        let ended = c.take("ended", optional_date(self.ended.as_deref()));

        let draft = (|| {
            Some(OrganisationDraft {
                slug: slug?,
                name: self.name.clone(),
                sectors: sectors?,
                jurisdiction: jurisdiction?,
                designations: designations?,
                secrecy: secrecy?,
                serves: Serves {
                    sectors: serves_sectors?,
                    organisations: serves_orgs?,
                },
                oversees: oversees?,
                prefixes: prefixes?,
                asns: asns?,
                domains: domains?,
                contacts: contacts?,
                ended: ended?,
            })
        })();
        match draft {
            Some(draft) if c.issues.is_empty() => Organisation::new(draft),
            _ => Err(c.issues),
        }
    }
}

impl DesignationRecord {
    fn to_designation(&self) -> Result<Designation, Vec<FieldIssue>> {
        let mut c = Collector::default();
        let status = c.take("status", self.status.parse::<Status>());
        let from = c.take("from", parse_date(&self.from));
        let until = c.take("until", optional_date(self.until.as_deref()));
        match (status, from, until) {
            (Some(s), Some(f), Some(u)) => {
                Designation::new(s, f, u).map_err(|e| vec![FieldIssue::new("", e.0)])
            }
            _ => Err(c.issues),
        }
    }
}

impl SecrecyRecord {
    fn to_guarantee(&self) -> Result<SecrecyGuarantee, Vec<FieldIssue>> {
        let mut c = Collector::default();
        let from = c.take("from", optional_date(self.from.as_deref()));
        let until = c.take("until", optional_date(self.until.as_deref()));
        match (from, until) {
            (Some(f), Some(u)) => {
                SecrecyGuarantee::new(&self.basis, f, u).map_err(|e| vec![FieldIssue::new("", e.0)])
            }
            _ => Err(c.issues),
        }
    }
}

impl ContactRecord {
    fn to_contact(&self) -> Result<Contact, Vec<FieldIssue>> {
        let mut c = Collector::default();
        let email = c.take("email", EmailAddress::parse(&self.email));
        let pgp_key = c.take(
            "pgp_key",
            self.pgp_key.as_deref().map(PgpPublicKey::parse).transpose(),
        );
        let webhook_url = c.take(
            "webhook_url",
            self.webhook_url
                .as_deref()
                .map(WebhookUrl::parse)
                .transpose(),
        );
        match (email, pgp_key, webhook_url) {
            (Some(email), Some(pgp_key), Some(webhook_url)) => Ok(Contact {
                name: self.name.clone(),
                email,
                pgp_key,
                webhook_url,
            }),
            _ => Err(c.issues),
        }
    }
}

fn optional_date(text: Option<&str>) -> Result<Option<schakel_domain::Date>, ValueError> {
    text.map(parse_date).transpose()
}

/// Gathers the issues of every field while parsing a record.
#[derive(Default)]
struct Collector {
    issues: Vec<FieldIssue>,
}

/// What a field parser can fail with: one message, or issues of nested fields.
trait IntoIssues {
    fn into_issues(self, path: &str) -> Vec<FieldIssue>;
}

impl IntoIssues for ValueError {
    fn into_issues(self, path: &str) -> Vec<FieldIssue> {
        vec![FieldIssue::new(path, self.0)]
    }
}

impl IntoIssues for Vec<FieldIssue> {
    fn into_issues(self, path: &str) -> Vec<FieldIssue> {
        self.into_iter()
            .map(|i| {
                let field = match (path.is_empty(), i.field.is_empty()) {
                    (_, true) => path.to_owned(),
                    (true, false) => i.field,
                    (false, false) => format!("{path}.{}", i.field),
                };
                FieldIssue::new(field, i.reason)
            })
            .collect()
    }
}

impl Collector {
    fn take<T, E: IntoIssues>(&mut self, path: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                self.issues.extend(e.into_issues(path));
                None
            }
        }
    }

    /// Parses every element, recording issues as `name[i]`; `None` if any failed.
    fn list<S, T, E: IntoIssues>(
        &mut self,
        name: &str,
        values: &[S],
        parse: impl Fn(&S) -> Result<T, E>,
    ) -> Option<Vec<T>> {
        let parsed: Vec<Option<T>> = values
            .iter()
            .enumerate()
            .map(|(i, v)| self.take(&format!("{name}[{i}]"), parse(v)))
            .collect();
        parsed.into_iter().collect()
    }
}

/// One problem with one entry of a registry file or API body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryError {
    /// Position in the file's array (`None` for a single organisation).
    pub index: Option<usize>,
    /// The entry's slug, when it has a readable one.
    pub slug: Option<String>,
    /// The field path, such as `designations[0].status` (`""` for the entry as a whole).
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for EntryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.index, &self.slug) {
            (Some(i), Some(s)) => write!(f, "entry {i} (`{s}`)")?,
            (Some(i), None) => write!(f, "entry {i}")?,
            (None, Some(s)) => write!(f, "`{s}`")?,
            (None, None) => {}
        }
        let located = self.index.is_some() || self.slug.is_some();
        match (self.field.is_empty(), located) {
            (false, true) => write!(f, ", field `{}`", self.field)?,
            (false, false) => write!(f, "field `{}`", self.field)?,
            (true, true) => {}
            (true, false) => f.write_str("input")?,
        }
        write!(f, ": {}", self.reason)
    }
}

/// Why a registry file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryFileError {
    /// The text is not JSON, or not an array.
    Syntax(String),
    /// One or more entries are bad; every one is listed.
    Entries(Vec<EntryError>),
}

impl fmt::Display for RegistryFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryFileError::Syntax(m) => f.write_str(m),
            RegistryFileError::Entries(errors) => {
                write!(f, "{} problem(s) in the registry file", errors.len())?;
                for e in errors {
                    write!(f, "\n  {e}")?;
                }
                Ok(())
            }
        }
    }
}

/// Reads a registry file: every entry is parsed, and every problem of every entry is
/// reported (index, slug, field, reason) — nothing is returned unless all are good.
pub fn parse_registry_file(
    text: &[u8],
    vocabulary: &SectorVocabulary,
) -> Result<Vec<Organisation>, RegistryFileError> {
    let values: Vec<serde_json::Value> = match crate::json::from_slice(text) {
        Ok(serde_json::Value::Array(values)) => values,
        Ok(_) => {
            return Err(RegistryFileError::Syntax(
                "the registry file must be a JSON array of organisations".into(),
            ));
        }
        Err(e) => {
            return Err(RegistryFileError::Syntax(format!(
                "the registry file is not valid JSON: {e}"
            )));
        }
    };
    let mut organisations = Vec::with_capacity(values.len());
    let mut errors = Vec::new();
    for (index, value) in values.into_iter().enumerate() {
        match parse_entry(value, Some(index), vocabulary) {
            Ok(org) => organisations.push(org),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(organisations)
    } else {
        Err(RegistryFileError::Entries(errors))
    }
}

/// Reads one organisation from a JSON value (an API body or one file entry).
pub fn parse_entry(
    value: serde_json::Value,
    index: Option<usize>,
    vocabulary: &SectorVocabulary,
) -> Result<Organisation, Vec<EntryError>> {
    let slug = value
        .get("slug")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    let entry_error = |field: String, reason: String| EntryError {
        index,
        slug: slug.clone(),
        field,
        reason,
    };
    if !value.is_object() {
        return Err(vec![entry_error(
            String::new(),
            "an organisation must be a JSON object".into(),
        )]);
    }
    let record: OrganisationRecord = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { String::new() } else { path };
        vec![entry_error(field, e.into_inner().to_string())]
    })?;
    record.to_organisation(vocabulary).map_err(|issues| {
        issues
            .into_iter()
            .map(|i| entry_error(i.field, i.reason))
            .collect()
    })
}

/// Writes a registry file: organisations sorted by slug, pretty-printed, ending in a newline.
/// Importing it back yields the identical registry.
pub fn write_registry_file(organisations: &[Organisation]) -> Result<String, serde_json::Error> {
    let mut records: Vec<OrganisationRecord> = organisations
        .iter()
        .map(OrganisationRecord::from_organisation)
        .collect();
    records.sort_by(|a, b| a.slug.cmp(&b.slug));
    let mut text = serde_json::to_string_pretty(&records)?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"[
      {
        "slug": "hospital-south",
        "name": "Hospital South",
        "sectors": ["health"],
        "jurisdiction": "NL",
        "designations": [
          {"status": "other_provider",   "from": "2018-11-09", "until": "2026-08-14"},
          {"status": "important_entity", "from": "2026-08-15", "until": null}
        ],
        "secrecy": {"basis": "confidentiality agreement 2024-031", "from": "2024-03-01", "until": "2027-12-31"},
        "serves": {"sectors": [], "organisations": []},
        "oversees": [],
        "prefixes": ["192.0.2.0/24", "2001:db8:10::/48"],
        "asns": [64500],
        "domains": ["hospital-south.example"],
        "contacts": [{"name": "SOC", "email": "soc@hospital-south.example", "pgp_key": null, "webhook_url": null}],
        "ended": null
      },
      {
        "slug": "z-cert",
        "name": "Z-CERT",
        "sectors": ["health"],
        "jurisdiction": "NL",
        "designations": [{"status": "crisis_team", "from": "2018-11-09", "until": null}],
        "secrecy": null,
        "serves": {"sectors": ["health"]},
        "contacts": []
      }
    ]"#;

    fn errors(text: &str) -> Vec<String> {
        match parse_registry_file(text.as_bytes(), &SectorVocabulary::default()) {
            Ok(_) => vec![],
            Err(RegistryFileError::Syntax(m)) => vec![m],
            Err(RegistryFileError::Entries(e)) => e.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn the_example_of_formats_md_parses_and_round_trips() -> Result<(), Box<dyn std::error::Error>>
    {
        let v = SectorVocabulary::default();
        let orgs = parse_registry_file(GOOD.as_bytes(), &v).map_err(|e| e.to_string())?;
        assert_eq!(orgs.len(), 2);
        let written = write_registry_file(&orgs)?;
        let again = parse_registry_file(written.as_bytes(), &v).map_err(|e| e.to_string())?;
        assert_eq!(orgs, again);
        assert_eq!(written, write_registry_file(&again)?);
        Ok(())
    }

    #[test]
    fn unknown_fields_are_rejected_by_name() {
        let text = GOOD.replace(
            r#""oversees": [],"#,
            r#""oversees": [], "tlp_override": "RED","#,
        );
        let e = errors(&text);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("entry 0 (`hospital-south`)"), "{}", e[0]);
        assert!(e[0].contains("unknown field `tlp_override`"), "{}", e[0]);
        let text = GOOD.replace(r#""name": "SOC","#, r#""name": "SOC", "phone": "112","#);
        let e = errors(&text);
        assert!(
            e[0].contains("contacts[0]") && e[0].contains("unknown field `phone`"),
            "{}",
            e[0]
        );
    }

    #[test]
    fn every_bad_entry_is_named_with_index_slug_field_and_reason() {
        let text = GOOD
            .replace(r#""status": "other_provider""#, r#""status": "vital""#)
            .replace(r#""192.0.2.0/24""#, r#""192.0.2.1/24""#)
            .replace(
                r#""jurisdiction": "NL",
        "designations": [{"status": "crisis_team""#,
                r#""jurisdiction": "Netherlands",
        "designations": [{"status": "crisis_team""#,
            );
        let e = errors(&text);
        assert_eq!(e.len(), 3, "{e:#?}");
        assert!(e[0].starts_with("entry 0 (`hospital-south`), field `designations[0].status`: `vital` is not a status"), "{}", e[0]);
        assert!(e[1].starts_with("entry 0 (`hospital-south`), field `prefixes[0]`: `192.0.2.1/24` has bits set beyond its mask"), "{}", e[1]);
        assert!(
            e[2].starts_with("entry 1 (`z-cert`), field `jurisdiction`"),
            "{}",
            e[2]
        );
    }

    #[test]
    fn required_fields_and_shapes() {
        let e = errors(&GOOD.replace(r#""secrecy": null,"#, ""));
        assert!(e[0].contains("missing field `secrecy`"), "{e:?}");
        assert!(errors("{}")[0].contains("JSON array"));
        assert!(errors("[1]")[0].contains("entry 0: an organisation must be a JSON object"));
        assert!(
            errors("[")
                .first()
                .is_some_and(|m| m.contains("not valid JSON"))
        );
        let e = errors(&GOOD.replace(r#""asns": [64500]"#, r#""asns": ["AS64500"]"#));
        assert!(e[0].contains("field `asns[0]`"), "{e:?}");
    }
}
