//! Checks that span organisations: unique slugs, references that resolve, and networks and
//! domains owned by one organisation at a time.

use std::collections::{BTreeMap, BTreeSet};

use foldhash::HashMap;
use std::fmt;

use crate::{Date, OrgSlug, Organisation, Sector};

/// An issue with one organisation that only shows when the whole registry is considered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryIssue {
    /// The organisation at fault.
    pub slug: OrgSlug,
    /// The field, such as `prefixes[0]`.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for RegistryIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}: {}", self.slug, self.field, self.reason)
    }
}

/// Checks a whole registry as it would stand on `today`: slugs are unique; every
/// organisation named in `serves` exists; a prefix or domain belongs to at most one
/// organisation that is not ended on `today` (nesting is fine: the longest match wins).
/// An ASN may repeat (it then resolves to nobody). Issues are reported on every
/// organisation involved.
pub fn check_registry<'a, I>(organisations: I, today: Date) -> Vec<RegistryIssue>
where
    I: IntoIterator<Item = &'a Organisation>,
{
    let organisations: Vec<&Organisation> = organisations.into_iter().collect();
    let mut issues = Vec::new();
    let mut slugs = BTreeSet::new();
    for org in &organisations {
        if !slugs.insert(org.slug()) {
            issues.push(RegistryIssue {
                slug: org.slug().clone(),
                field: "slug".into(),
                reason: format!("`{}` appears more than once", org.slug()),
            });
        }
    }
    for org in &organisations {
        for (i, member) in org.serves().organisations.iter().enumerate() {
            if !slugs.contains(member) {
                issues.push(RegistryIssue {
                    slug: org.slug().clone(),
                    field: format!("serves.organisations[{i}]"),
                    reason: format!("`{member}` is not a registered organisation"),
                });
            }
        }
    }
    let active = || organisations.iter().filter(|o| !o.is_ended_on(today));
    let mut prefixes: BTreeMap<String, Vec<(&OrgSlug, usize)>> = BTreeMap::new();
    let mut domains: BTreeMap<String, Vec<(&OrgSlug, usize)>> = BTreeMap::new();
    for org in active() {
        for (i, p) in org.prefixes().iter().enumerate() {
            prefixes
                .entry(p.to_string())
                .or_default()
                .push((org.slug(), i));
        }
        for (i, d) in org.domains().iter().enumerate() {
            domains
                .entry(d.to_string())
                .or_default()
                .push((org.slug(), i));
        }
    }
    for (kind, map) in [("prefixes", prefixes), ("domains", domains)] {
        for (value, holders) in map.into_iter().filter(|(_, h)| h.len() > 1) {
            for (slug, index) in &holders {
                let others: Vec<String> = holders
                    .iter()
                    .filter(|(s, _)| s != slug)
                    .map(|(s, _)| format!("`{s}`"))
                    .collect();
                issues.push(RegistryIssue {
                    slug: (*slug).clone(),
                    field: format!("{kind}[{index}]"),
                    reason: format!("`{value}` is also held by {}", others.join(", ")),
                });
            }
        }
    }
    issues
}

/// The registry in memory, for questions that span organisations (who serves whom), with
/// indexes so that a decision costs a few hash look-ups whatever the registry's size.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    organisations: HashMap<OrgSlug, Organisation>,
    /// Slugs in order.
    order: Vec<OrgSlug>,
    /// Organisations that ever hold a serving designation, by the sector they serve.
    servers_by_sector: HashMap<Sector, Vec<OrgSlug>>,
    /// Organisations that ever hold a serving designation, by the member they name.
    servers_by_member: HashMap<OrgSlug, Vec<OrgSlug>>,
}

impl Registry {
    /// Builds the registry from its organisations.
    pub fn new(organisations: impl IntoIterator<Item = Organisation>) -> Self {
        let mut registry = Self {
            organisations: HashMap::default(),
            order: Vec::new(),
            servers_by_sector: HashMap::default(),
            servers_by_member: HashMap::default(),
        };
        for org in organisations {
            if org.designations().iter().any(|d| d.status().may_serve()) {
                for sector in &org.serves().sectors {
                    registry
                        .servers_by_sector
                        .entry(sector.clone())
                        .or_default()
                        .push(org.slug().clone());
                }
                for member in &org.serves().organisations {
                    registry
                        .servers_by_member
                        .entry(member.clone())
                        .or_default()
                        .push(org.slug().clone());
                }
            }
            registry.order.push(org.slug().clone());
            registry.organisations.insert(org.slug().clone(), org);
        }
        registry.order.sort();
        registry.order.dedup();
        for list in registry
            .servers_by_sector
            .values_mut()
            .chain(registry.servers_by_member.values_mut())
        {
            list.sort();
            list.dedup();
        }
        registry
    }

    /// One organisation.
    pub fn get(&self, slug: &OrgSlug) -> Option<&Organisation> {
        self.organisations.get(slug)
    }

    /// Every organisation, by slug.
    pub fn iter(&self) -> impl Iterator<Item = &Organisation> {
        self.order.iter().filter_map(|s| self.organisations.get(s))
    }

    /// Number of organisations.
    pub fn len(&self) -> usize {
        self.organisations.len()
    }

    /// Whether the registry is empty.
    pub fn is_empty(&self) -> bool {
        self.organisations.is_empty()
    }

    /// The linking organisations and crisis teams that serve `org` on `date`, by slug,
    /// each once.
    pub fn servers_of<'a>(
        &'a self,
        org: &'a Organisation,
        date: Date,
    ) -> impl Iterator<Item = &'a Organisation> + 'a {
        let by_member = self.servers_by_member.get(org.slug()).into_iter().flatten();
        let by_sector = org
            .sectors()
            .iter()
            .filter_map(|s| self.servers_by_sector.get(s))
            .flatten();
        let mut candidates: Vec<&OrgSlug> = by_member.chain(by_sector).collect();
        candidates.sort();
        candidates.dedup();
        candidates
            .into_iter()
            .filter_map(|s| self.organisations.get(s))
            .filter(move |server| server.serves_on(org, date))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::organisation::tests::draft;
    use crate::{DomainName, IpPrefix, Status, parse_date};

    #[test]
    fn conflicts_and_dangling_references() -> Result<(), Box<dyn std::error::Error>> {
        let today = parse_date("2026-11-22")?;
        let mut a = draft("a")?;
        a.prefixes = vec![IpPrefix::parse("192.0.2.0/24")?];
        a.domains = vec![DomainName::parse("a.example")?];
        let mut b = draft("b")?;
        b.prefixes = vec![
            IpPrefix::parse("192.0.2.128/25")?,
            IpPrefix::parse("192.0.2.0/24")?,
        ];
        b.domains = vec![DomainName::parse("a.example")?];
        let mut c = draft("c")?;
        c.designations.push(crate::Designation::new(
            Status::LinkingOrganisation,
            parse_date("2022-12-01")?,
            None,
        )?);
        c.serves.organisations = vec![OrgSlug::parse("nobody")?];
        c.prefixes = vec![IpPrefix::parse("192.0.2.0/24")?];
        c.ended = Some(parse_date("2025-01-01")?);
        let orgs: Vec<Organisation> = [a, b, c]
            .into_iter()
            .map(Organisation::new)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{e:?}"))?;
        let issues: Vec<String> = check_registry(&orgs, today)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            issues,
            [
                "`c` serves.organisations[0]: `nobody` is not a registered organisation",
                "`a` prefixes[0]: `192.0.2.0/24` is also held by `b`",
                "`b` prefixes[1]: `192.0.2.0/24` is also held by `a`",
                "`a` domains[0]: `a.example` is also held by `b`",
                "`b` domains[0]: `a.example` is also held by `a`",
            ]
        );
        Ok(())
    }
}
