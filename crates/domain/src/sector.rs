//! Sectors and the configurable vocabulary they come from.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use crate::ValueError;

/// The default sector vocabulary of FORMATS.md.
pub const DEFAULT_SECTORS: &[&str] = &[
    "energy",
    "transport",
    "air_transport",
    "rail_transport",
    "maritime_transport",
    "road_transport",
    "banking",
    "insurance",
    "financial_market_infrastructure",
    "health",
    "drinking_water",
    "waste_water",
    "water_management",
    "digital_infrastructure",
    "telecom",
    "ict_service_management",
    "public_administration",
    "space",
    "postal_courier",
    "waste_management",
    "chemicals",
    "food",
    "manufacturing",
    "digital_providers",
    "software",
    "research",
    "education",
    "nuclear",
    "defence",
    "political_parties",
    "retail",
    "other",
];

/// A sector from the vocabulary in force (for example `health` or `drinking_water`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sector(Arc<str>);

impl Sector {
    /// The sector's identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The set of sectors an installation recognises; an unknown sector is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectorVocabulary {
    sectors: BTreeSet<Arc<str>>,
}

impl SectorVocabulary {
    /// Builds a vocabulary; every entry must be lowercase letters, digits and `_`.
    pub fn new<I, S>(sectors: I) -> Result<Self, ValueError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut set = BTreeSet::new();
        for sector in sectors {
            let sector = sector.as_ref();
            let ok = !sector.is_empty()
                && sector
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !ok {
                return Err(ValueError::new(format!(
                    "`{sector}` is not a sector identifier (lowercase letters, digits and `_`)"
                )));
            }
            set.insert(Arc::from(sector));
        }
        if set.is_empty() {
            return Err(ValueError::new("the sector vocabulary is empty"));
        }
        Ok(Self { sectors: set })
    }

    /// Parses a sector against this vocabulary.
    pub fn parse(&self, text: &str) -> Result<Sector, ValueError> {
        self.sectors
            .get(text)
            .map(|s| Sector(Arc::clone(s)))
            .ok_or_else(|| ValueError::new(format!("`{text}` is not a sector of the vocabulary")))
    }

    /// Every sector, in alphabetical order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.sectors.iter().map(|s| &**s)
    }
}

impl Default for SectorVocabulary {
    fn default() -> Self {
        Self {
            sectors: DEFAULT_SECTORS.iter().map(|s| Arc::from(*s)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_vocabulary_has_every_sector_of_the_spec() {
        let v = SectorVocabulary::default();
        assert_eq!(v.iter().count(), DEFAULT_SECTORS.len());
        assert!(v.parse("political_parties").is_ok());
        assert!(v.parse("Health").is_err());
        assert!(v.parse("healthcare").is_err());
    }

    #[test]
    fn custom_vocabulary() -> Result<(), ValueError> {
        let v = SectorVocabulary::new(["health", "space_weather"])?;
        assert!(v.parse("space_weather").is_ok());
        assert!(v.parse("energy").is_err());
        assert!(SectorVocabulary::new(["Bad Sector"]).is_err());
        assert!(SectorVocabulary::new(Vec::<String>::new()).is_err());
        Ok(())
    }
}
