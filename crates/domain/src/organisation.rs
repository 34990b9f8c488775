//! Organisations: who an organisation is in law, on which dates, whom it serves, what it
//! owns on the network and how to reach it.

use std::collections::BTreeSet;

use crate::{
    Asn, Contact, Date, Designation, DomainName, FieldIssue, IpPrefix, Jurisdiction, OrgSlug,
    SecrecyGuarantee, Sector, Status,
};

/// Whom a linking organisation or crisis team serves: whole sectors and named members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Serves {
    /// Every organisation with one of these sectors is served.
    pub sectors: Vec<Sector>,
    /// These organisations are served by name (their constituency, "achterban").
    pub organisations: Vec<OrgSlug>,
}

impl Serves {
    /// Whether nobody is served.
    pub fn is_empty(&self) -> bool {
        self.sectors.is_empty() && self.organisations.is_empty()
    }
}

/// The parts of an organisation, each already a valid value; [`Organisation::new`] checks
/// how they fit together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganisationDraft {
    /// Stable key.
    pub slug: OrgSlug,
    /// Display name.
    pub name: String,
    /// Sectors; the first is the primary sector.
    pub sectors: Vec<Sector>,
    /// Whose law applies.
    pub jurisdiction: Jurisdiction,
    /// Dated legal statuses.
    pub designations: Vec<Designation>,
    /// Secrecy guarantee on file, if any.
    pub secrecy: Option<SecrecyGuarantee>,
    /// Whom it serves (linking organisations and crisis teams only).
    pub serves: Serves,
    /// Sectors it is responsible for (ministries).
    pub oversees: Vec<Sector>,
    /// Networks it owns.
    pub prefixes: Vec<IpPrefix>,
    /// Autonomous systems it operates.
    pub asns: Vec<Asn>,
    /// Domains it owns.
    pub domains: Vec<DomainName>,
    /// Who to reach.
    pub contacts: Vec<Contact>,
    /// The date from which it is ended, if any.
    pub ended: Option<Date>,
}

/// A registered organisation whose parts fit together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation(OrganisationDraft);

impl Organisation {
    /// Longest name accepted.
    pub const MAX_NAME_LEN: usize = 200;

    /// Checks how the parts fit together and returns every issue found.
    pub fn new(draft: OrganisationDraft) -> Result<Self, Vec<FieldIssue>> {
        let mut issues = Vec::new();
        let name = draft.name.trim();
        if name.is_empty() {
            issues.push(FieldIssue::new("name", "may not be empty"));
        } else if name.chars().count() > Self::MAX_NAME_LEN {
            issues.push(FieldIssue::new(
                "name",
                format!("is longer than {} characters", Self::MAX_NAME_LEN),
            ));
        } else if name != draft.name {
            issues.push(FieldIssue::new(
                "name",
                "may not start or end with white space",
            ));
        }
        if draft.sectors.is_empty() {
            issues.push(FieldIssue::new(
                "sectors",
                "needs at least one sector (the first is the primary sector)",
            ));
        }
        duplicates("sectors", &draft.sectors, &mut issues);
        duplicates("oversees", &draft.oversees, &mut issues);
        duplicates("serves.sectors", &draft.serves.sectors, &mut issues);
        duplicates(
            "serves.organisations",
            &draft.serves.organisations,
            &mut issues,
        );
        duplicates("prefixes", &draft.prefixes, &mut issues);
        duplicates("asns", &draft.asns, &mut issues);
        duplicates("domains", &draft.domains, &mut issues);

        for (i, a) in draft.designations.iter().enumerate() {
            for (j, b) in draft.designations.iter().enumerate().skip(i + 1) {
                if a.status() == b.status() && a.overlaps(b) {
                    issues.push(FieldIssue::new(
                        format!("designations[{j}]"),
                        format!(
                            "`{}` overlaps designations[{i}] with the same status; merge the periods",
                            a.status()
                        ),
                    ));
                }
            }
        }
        if !draft.serves.is_empty() && !draft.designations.iter().any(|d| d.status().may_serve()) {
            issues.push(FieldIssue::new(
                "serves",
                "only an organisation with a `linking_organisation` or `crisis_team` designation serves others",
            ));
        }
        if let Some(i) = draft
            .serves
            .organisations
            .iter()
            .position(|s| *s == draft.slug)
        {
            issues.push(FieldIssue::new(
                format!("serves.organisations[{i}]"),
                format!("`{}` cannot serve itself", draft.slug),
            ));
        }
        for (i, contact) in draft.contacts.iter().enumerate() {
            if contact.name.trim().is_empty() {
                issues.push(FieldIssue::new(
                    format!("contacts[{i}].name"),
                    "may not be empty",
                ));
            }
        }
        if issues.is_empty() {
            Ok(Self(draft))
        } else {
            Err(issues)
        }
    }

    /// The parts, for building a changed organisation.
    pub fn into_draft(self) -> OrganisationDraft {
        self.0
    }

    /// Stable key.
    pub fn slug(&self) -> &OrgSlug {
        &self.0.slug
    }
    /// Display name.
    pub fn name(&self) -> &str {
        &self.0.name
    }
    /// Sectors; the first is the primary sector.
    pub fn sectors(&self) -> &[Sector] {
        &self.0.sectors
    }
    /// The primary sector (used by statistics).
    pub fn primary_sector(&self) -> Option<&Sector> {
        self.0.sectors.first()
    }
    /// Whose law applies.
    pub fn jurisdiction(&self) -> Jurisdiction {
        self.0.jurisdiction
    }
    /// Dated legal statuses.
    pub fn designations(&self) -> &[Designation] {
        &self.0.designations
    }
    /// Secrecy guarantee on file, whatever its validity.
    pub fn secrecy(&self) -> Option<&SecrecyGuarantee> {
        self.0.secrecy.as_ref()
    }
    /// Whom it serves as recorded.
    pub fn serves(&self) -> &Serves {
        &self.0.serves
    }
    /// Sectors it oversees.
    pub fn oversees(&self) -> &[Sector] {
        &self.0.oversees
    }
    /// Networks it owns.
    pub fn prefixes(&self) -> &[IpPrefix] {
        &self.0.prefixes
    }
    /// Autonomous systems it operates.
    pub fn asns(&self) -> &[Asn] {
        &self.0.asns
    }
    /// Domains it owns.
    pub fn domains(&self) -> &[DomainName] {
        &self.0.domains
    }
    /// Who to reach.
    pub fn contacts(&self) -> &[Contact] {
        &self.0.contacts
    }
    /// The date from which it is ended.
    pub fn ended(&self) -> Option<Date> {
        self.0.ended
    }

    /// Whether it is ended on `date` (then it holds nothing and owns nothing).
    pub fn is_ended_on(&self, date: Date) -> bool {
        self.0.ended.is_some_and(|ended| ended <= date)
    }

    /// Whether it holds `status` on `date` (never when ended).
    pub fn holds_on(&self, status: Status, date: Date) -> bool {
        !self.is_ended_on(date)
            && self
                .0
                .designations
                .iter()
                .any(|d| d.status() == status && d.valid_on(date))
    }

    /// The statuses it holds on `date`, without repeats, in the order of [`Status::ALL`].
    pub fn statuses_on(&self, date: Date) -> Vec<Status> {
        Status::ALL
            .into_iter()
            .filter(|s| self.holds_on(*s, date))
            .collect()
    }

    /// Whether this organisation serves `other` on `date` (RULEBOOK.md "serves"): it holds a
    /// `linking_organisation` or `crisis_team` designation on that date and `other` is among
    /// its named members or shares a sector with its served sectors. Nobody serves itself.
    pub fn serves_on(&self, other: &Organisation, date: Date) -> bool {
        let serving = self.holds_on(Status::LinkingOrganisation, date)
            || self.holds_on(Status::CrisisTeam, date);
        serving
            && self.slug() != other.slug()
            && (self.0.serves.organisations.contains(other.slug())
                || other
                    .sectors()
                    .iter()
                    .any(|s| self.0.serves.sectors.contains(s)))
    }

    /// Its secrecy guarantee if valid on `date` (never when ended).
    pub fn secrecy_on(&self, date: Date) -> Option<&SecrecyGuarantee> {
        self.0
            .secrecy
            .as_ref()
            .filter(|g| !self.is_ended_on(date) && g.valid_on(date))
    }
}

fn duplicates<T: Ord + std::fmt::Display>(field: &str, values: &[T], issues: &mut Vec<FieldIssue>) {
    let mut seen = BTreeSet::new();
    for (i, value) in values.iter().enumerate() {
        if !seen.insert(value) {
            issues.push(FieldIssue::new(
                format!("{field}[{i}]"),
                format!("`{value}` is listed twice"),
            ));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{SectorVocabulary, parse_date};

    pub(crate) fn draft(slug: &str) -> Result<OrganisationDraft, crate::ValueError> {
        let v = SectorVocabulary::default();
        Ok(OrganisationDraft {
            slug: OrgSlug::parse(slug)?,
            name: format!("Org {slug}"),
            sectors: vec![v.parse("health")?],
            jurisdiction: Jurisdiction::parse("NL")?,
            designations: vec![Designation::new(
                Status::VitalProvider,
                parse_date("2018-11-09")?,
                Some(parse_date("2026-08-14")?),
            )?],
            secrecy: None,
            serves: Serves::default(),
            oversees: vec![],
            prefixes: vec![],
            asns: vec![],
            domains: vec![],
            contacts: vec![],
            ended: None,
        })
    }

    #[test]
    fn a_good_organisation() -> Result<(), Box<dyn std::error::Error>> {
        let org = Organisation::new(draft("hospital-south")?).map_err(|e| format!("{e:?}"))?;
        assert!(org.holds_on(Status::VitalProvider, parse_date("2026-08-14")?));
        assert!(!org.holds_on(Status::VitalProvider, parse_date("2026-08-15")?));
        assert_eq!(
            org.statuses_on(parse_date("2020-01-01")?),
            vec![Status::VitalProvider]
        );
        Ok(())
    }

    #[test]
    fn serving_by_sector_and_by_membership_on_a_date() -> Result<(), Box<dyn std::error::Error>> {
        let v = SectorVocabulary::default();
        let hospital = Organisation::new(draft("hospital")?).map_err(|e| format!("{e:?}"))?;
        let mut team = draft("team")?;
        team.designations = vec![Designation::new(
            Status::CrisisTeam,
            parse_date("2019-01-01")?,
            Some(parse_date("2025-12-31")?),
        )?];
        team.serves.sectors = vec![v.parse("health")?];
        let team = Organisation::new(team).map_err(|e| format!("{e:?}"))?;
        assert!(!team.serves_on(&hospital, parse_date("2018-12-31")?));
        assert!(team.serves_on(&hospital, parse_date("2019-01-01")?));
        assert!(!team.serves_on(&hospital, parse_date("2026-01-01")?));
        assert!(
            !team.serves_on(&team, parse_date("2020-01-01")?),
            "nobody serves itself"
        );
        let mut isac = draft("isac")?;
        isac.sectors = vec![v.parse("software")?];
        isac.designations = vec![Designation::new(
            Status::LinkingOrganisation,
            parse_date("2022-12-01")?,
            None,
        )?];
        isac.serves.organisations = vec![OrgSlug::parse("hospital")?];
        let isac = Organisation::new(isac).map_err(|e| format!("{e:?}"))?;
        assert!(isac.serves_on(&hospital, parse_date("2022-12-01")?));
        assert!(!isac.serves_on(&team, parse_date("2022-12-01")?));
        Ok(())
    }

    #[test]
    fn ended_organisations_hold_nothing() -> Result<(), Box<dyn std::error::Error>> {
        let mut d = draft("gone")?;
        d.ended = Some(parse_date("2020-01-01")?);
        d.secrecy = Some(SecrecyGuarantee::new("nda", None, None)?);
        let org = Organisation::new(d).map_err(|e| format!("{e:?}"))?;
        assert!(org.holds_on(Status::VitalProvider, parse_date("2019-12-31")?));
        assert!(!org.holds_on(Status::VitalProvider, parse_date("2020-01-01")?));
        assert!(org.secrecy_on(parse_date("2020-01-01")?).is_none());
        assert!(org.secrecy_on(parse_date("2019-01-01")?).is_some());
        Ok(())
    }

    #[test]
    fn parts_that_do_not_fit_are_all_reported() -> Result<(), Box<dyn std::error::Error>> {
        let v = SectorVocabulary::default();
        let mut d = draft("x")?;
        d.name = " ".into();
        d.sectors = vec![];
        d.serves.sectors = vec![v.parse("health")?];
        d.serves.organisations = vec![OrgSlug::parse("x")?];
        d.prefixes = vec![
            IpPrefix::parse("192.0.2.0/24")?,
            IpPrefix::parse("192.0.2.0/24")?,
        ];
        d.designations.push(Designation::new(
            Status::VitalProvider,
            parse_date("2026-01-01")?,
            None,
        )?);
        let issues = Organisation::new(d).err().unwrap_or_default();
        let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "sectors",
                "prefixes[1]",
                "designations[1]",
                "serves",
                "serves.organisations[0]"
            ]
        );
        Ok(())
    }
}
