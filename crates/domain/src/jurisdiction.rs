//! Jurisdictions (ISO 3166-1 alpha-2) and EU membership on a date.

use std::fmt;

use crate::{Date, ValueError};

/// Officially assigned ISO 3166-1 alpha-2 codes, plus the exceptionally reserved `EU`
/// (for EU bodies such as CERT-EU).
const CODES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR \
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP \
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT \
MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW \
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG \
UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW EU";

/// EU membership periods: code, first day of membership, last day (inclusive) or `None`.
/// The United Kingdom was a member up to and including 31 January 2020.
/// A calendar date as (year, month, day) in a constant table.
type Ymd = (i16, i8, i8);

const EU_MEMBERSHIP: &[(&str, Ymd, Option<Ymd>)] = &[
    ("BE", (1958, 1, 1), None),
    ("DE", (1958, 1, 1), None),
    ("FR", (1958, 1, 1), None),
    ("IT", (1958, 1, 1), None),
    ("LU", (1958, 1, 1), None),
    ("NL", (1958, 1, 1), None),
    ("DK", (1973, 1, 1), None),
    ("IE", (1973, 1, 1), None),
    ("GB", (1973, 1, 1), Some((2020, 1, 31))),
    ("GR", (1981, 1, 1), None),
    ("ES", (1986, 1, 1), None),
    ("PT", (1986, 1, 1), None),
    ("AT", (1995, 1, 1), None),
    ("FI", (1995, 1, 1), None),
    ("SE", (1995, 1, 1), None),
    ("CY", (2004, 5, 1), None),
    ("CZ", (2004, 5, 1), None),
    ("EE", (2004, 5, 1), None),
    ("HU", (2004, 5, 1), None),
    ("LV", (2004, 5, 1), None),
    ("LT", (2004, 5, 1), None),
    ("MT", (2004, 5, 1), None),
    ("PL", (2004, 5, 1), None),
    ("SK", (2004, 5, 1), None),
    ("SI", (2004, 5, 1), None),
    ("BG", (2007, 1, 1), None),
    ("RO", (2007, 1, 1), None),
    ("HR", (2013, 7, 1), None),
    ("EU", (1958, 1, 1), None),
];

/// Territories with a code of their own that are part of a member state's EU territory:
/// code, state, and when (within the state's membership) they were. The French outermost
/// regions; Saint-Barthélemy until it left on 1 January 2012; Mayotte from 1 January 2014;
/// the Åland Islands; Gibraltar, with the United Kingdom, up to and including 31 January
/// 2020. The Kingdom of the Netherlands' Caribbean countries and the Caribbean Netherlands
/// (AW, CW, SX, BQ), Greenland, the Faroe Islands, the other overseas countries and
/// territories and the Crown dependencies have no entry: they are not in the EU.
const EU_TERRITORIES: &[(&str, &str, Ymd, Option<Ymd>)] = &[
    ("GP", "FR", (1958, 1, 1), None),
    ("MQ", "FR", (1958, 1, 1), None),
    ("GF", "FR", (1958, 1, 1), None),
    ("RE", "FR", (1958, 1, 1), None),
    ("MF", "FR", (1958, 1, 1), None),
    ("BL", "FR", (1958, 1, 1), Some((2011, 12, 31))),
    ("YT", "FR", (2014, 1, 1), None),
    ("AX", "FI", (1995, 1, 1), None),
    ("GI", "GB", (1973, 1, 1), Some((2020, 1, 31))),
];

/// The country (or `EU` for EU bodies) whose law an organisation is under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Jurisdiction([u8; 2]);

impl Jurisdiction {
    /// Parses an ISO 3166-1 alpha-2 code (uppercase).
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        let bytes = text.as_bytes();
        if bytes.len() == 2
            && bytes.iter().all(u8::is_ascii_uppercase)
            && CODES.split(' ').any(|c| c == text)
        {
            Ok(Self([bytes[0], bytes[1]]))
        } else {
            Err(ValueError::new(format!(
                "`{text}` is not an ISO 3166-1 alpha-2 country code (for example `NL`)"
            )))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII uppercase by construction.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// Whether this jurisdiction is in the EU on `date`: a member state (or `EU` for a
    /// body of the Union), or a territory of a member state's EU territory that has a
    /// code of its own (RULEBOOK.md "EU").
    pub fn is_eu_on(&self, date: Date) -> bool {
        let within = |from: Ymd, until: Option<Ymd>| {
            date >= civil(from) && until.is_none_or(|until| date <= civil(until))
        };
        let member = |state: &str| {
            EU_MEMBERSHIP
                .iter()
                .any(|(code, from, until)| *code == state && within(*from, *until))
        };
        member(self.as_str())
            || EU_TERRITORIES.iter().any(|(code, state, from, until)| {
                *code == self.as_str() && within(*from, *until) && member(state)
            })
    }
}

fn civil((y, m, d): Ymd) -> Date {
    // The table holds valid dates only; `constant` cannot fail for them.
    Date::constant(y, m, d)
}

impl fmt::Display for Jurisdiction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_date;

    #[test]
    fn codes() {
        assert!(Jurisdiction::parse("NL").is_ok());
        assert!(Jurisdiction::parse("nl").is_err());
        assert!(Jurisdiction::parse("XX").is_err());
        assert!(Jurisdiction::parse("NLD").is_err());
        assert!(Jurisdiction::parse("EU").is_ok());
    }

    #[test]
    fn united_kingdom_leaves_after_31_january_2020() -> Result<(), ValueError> {
        let gb = Jurisdiction::parse("GB")?;
        assert!(gb.is_eu_on(parse_date("2020-01-31")?));
        assert!(!gb.is_eu_on(parse_date("2020-02-01")?));
        let nl = Jurisdiction::parse("NL")?;
        assert!(nl.is_eu_on(parse_date("2018-11-09")?));
        let us = Jurisdiction::parse("US")?;
        assert!(!us.is_eu_on(parse_date("2025-01-01")?));
        let hr = Jurisdiction::parse("HR")?;
        assert!(!hr.is_eu_on(parse_date("2013-06-30")?));
        assert!(hr.is_eu_on(parse_date("2013-07-01")?));
        Ok(())
    }

    #[test]
    fn territories_count_as_their_state_where_they_are_eu_territory() -> Result<(), ValueError> {
        let on = parse_date("2026-09-01")?;
        let eu = |code: &str| Jurisdiction::parse(code).map(|j| j.is_eu_on(on));
        // The Kingdom's Caribbean countries and the Caribbean Netherlands are not.
        for code in [
            "AW", "CW", "SX", "BQ", "GL", "FO", "NC", "PF", "PM", "WF", "BL", "JE", "IM",
        ] {
            assert!(!eu(code)?, "{code}");
        }
        // The French outermost regions, Åland: as their state.
        for code in ["RE", "GP", "MQ", "GF", "YT", "MF", "AX"] {
            assert!(eu(code)?, "{code}");
        }
        // With their dates: Saint-Barthélemy left, Mayotte joined, Gibraltar left with GB.
        let at = |code: &str, day: &str| -> Result<bool, ValueError> {
            Ok(Jurisdiction::parse(code)?.is_eu_on(parse_date(day)?))
        };
        assert!(at("BL", "2011-12-31")? && !at("BL", "2012-01-01")?);
        assert!(!at("YT", "2013-12-31")? && at("YT", "2014-01-01")?);
        assert!(at("GI", "2020-01-31")? && !at("GI", "2020-02-01")?);
        Ok(())
    }
}
