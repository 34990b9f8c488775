//! Dated designations (what an organisation is in law) and secrecy guarantees.

use std::fmt;
use std::str::FromStr;

use crate::{Date, ValueError};

/// A legal status an organisation can hold for a period (FORMATS.md "designations").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// Designated provider of a service of vital importance (Wbni).
    VitalProvider,
    /// A ministry or central government body.
    CentralGovernment,
    /// Cloud, search engine or online marketplace (Wbni).
    DigitalServiceProvider,
    /// An OKTT: informs its constituency about threats and incidents.
    LinkingOrganisation,
    /// A computer crisis team designated by ministerial regulation.
    CrisisTeam,
    /// A computer security incident response team.
    Csirt,
    /// A Dutch intelligence and security service.
    IntelligenceService,
    /// A competent (supervisory) authority.
    Authority,
    /// Essential entity (Cbw).
    EssentialEntity,
    /// Important entity (Cbw).
    ImportantEntity,
    /// Any other provider.
    OtherProvider,
}

impl Status {
    /// Every status, in the order of FORMATS.md.
    pub const ALL: [Status; 11] = [
        Status::VitalProvider,
        Status::CentralGovernment,
        Status::DigitalServiceProvider,
        Status::LinkingOrganisation,
        Status::CrisisTeam,
        Status::Csirt,
        Status::IntelligenceService,
        Status::Authority,
        Status::EssentialEntity,
        Status::ImportantEntity,
        Status::OtherProvider,
    ];

    /// The identifier used in files and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::VitalProvider => "vital_provider",
            Status::CentralGovernment => "central_government",
            Status::DigitalServiceProvider => "digital_service_provider",
            Status::LinkingOrganisation => "linking_organisation",
            Status::CrisisTeam => "crisis_team",
            Status::Csirt => "csirt",
            Status::IntelligenceService => "intelligence_service",
            Status::Authority => "authority",
            Status::EssentialEntity => "essential_entity",
            Status::ImportantEntity => "important_entity",
            Status::OtherProvider => "other_provider",
        }
    }

    /// Whether holding this status lets an organisation serve others (linking
    /// organisations and crisis teams).
    pub fn may_serve(self) -> bool {
        matches!(self, Status::LinkingOrganisation | Status::CrisisTeam)
    }
}

impl FromStr for Status {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| {
                ValueError::new(format!(
                    "`{text}` is not a status (one of {})",
                    Status::ALL.map(Status::as_str).join(", ")
                ))
            })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status held from `from` up to and including `until` (open-ended when `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Designation {
    status: Status,
    from: Date,
    until: Option<Date>,
}

impl Designation {
    /// A designation; `until` may not lie before `from`.
    pub fn new(status: Status, from: Date, until: Option<Date>) -> Result<Self, ValueError> {
        if let Some(until) = until
            && until < from
        {
            return Err(ValueError::new(format!(
                "`until` {until} lies before `from` {from}"
            )));
        }
        Ok(Self {
            status,
            from,
            until,
        })
    }

    /// The status held.
    pub fn status(&self) -> Status {
        self.status
    }

    /// First day held.
    pub fn from(&self) -> Date {
        self.from
    }

    /// Last day held (inclusive), `None` when open-ended.
    pub fn until(&self) -> Option<Date> {
        self.until
    }

    /// Whether the designation is valid on `date`.
    pub fn valid_on(&self, date: Date) -> bool {
        date >= self.from && self.until.is_none_or(|until| date <= until)
    }

    /// Whether two designations share at least one day.
    pub fn overlaps(&self, other: &Designation) -> bool {
        let starts_before_other_ends = other.until.is_none_or(|u| self.from <= u);
        let other_starts_before_self_ends = self.until.is_none_or(|u| other.from <= u);
        starts_before_other_ends && other_starts_before_self_ends
    }
}

/// A guarantee that the recipient keeps confidential data secret (e.g. a confidentiality
/// agreement), valid from `from` (always when `None`) up to and including `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecrecyGuarantee {
    basis: String,
    from: Option<Date>,
    until: Option<Date>,
}

impl SecrecyGuarantee {
    /// A guarantee resting on `basis` (the agreement or legal provision; not empty).
    pub fn new(basis: &str, from: Option<Date>, until: Option<Date>) -> Result<Self, ValueError> {
        let basis = basis.trim();
        if basis.is_empty() {
            return Err(ValueError::new(
                "the basis of a secrecy guarantee may not be empty",
            ));
        }
        if let (Some(from), Some(until)) = (from, until)
            && until < from
        {
            return Err(ValueError::new(format!(
                "`until` {until} lies before `from` {from}"
            )));
        }
        Ok(Self {
            basis: basis.to_owned(),
            from,
            until,
        })
    }

    /// What the guarantee rests on.
    pub fn basis(&self) -> &str {
        &self.basis
    }

    /// First day valid, `None` for always.
    pub fn from(&self) -> Option<Date> {
        self.from
    }

    /// Last day valid (inclusive), `None` when open-ended.
    pub fn until(&self) -> Option<Date> {
        self.until
    }

    /// Whether the guarantee is valid on `date`.
    pub fn valid_on(&self, date: Date) -> bool {
        self.from.is_none_or(|from| date >= from) && self.until.is_none_or(|until| date <= until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_date;

    fn d(s: &str) -> Date {
        parse_date(s).unwrap_or_default()
    }

    #[test]
    fn validity_is_inclusive() -> Result<(), ValueError> {
        let des = Designation::new(
            Status::VitalProvider,
            d("2018-11-09"),
            Some(d("2026-08-14")),
        )?;
        assert!(!des.valid_on(d("2018-11-08")));
        assert!(des.valid_on(d("2018-11-09")));
        assert!(des.valid_on(d("2026-08-14")));
        assert!(!des.valid_on(d("2026-08-15")));
        let open = Designation::new(Status::EssentialEntity, d("2026-08-15"), None)?;
        assert!(open.valid_on(d("2099-01-01")));
        assert!(!des.overlaps(&open));
        let g = SecrecyGuarantee::new("nda", None, Some(d("2027-12-31")))?;
        assert!(g.valid_on(d("2000-01-01")));
        assert!(g.valid_on(d("2027-12-31")));
        assert!(!g.valid_on(d("2028-01-01")));
        Ok(())
    }

    #[test]
    fn bad_periods_and_statuses() {
        assert!(Designation::new(Status::Csirt, d("2020-01-02"), Some(d("2020-01-01"))).is_err());
        assert!(SecrecyGuarantee::new("  ", None, None).is_err());
        assert!("vital".parse::<Status>().is_err());
        assert_eq!("crisis_team".parse::<Status>(), Ok(Status::CrisisTeam));
    }
}
