//! Legal dates: every instant becomes a calendar date in Europe/Amsterdam.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::ValueError;

/// A calendar date (no time, no zone); the unit of every legal period in schakel.
pub type Date = jiff::civil::Date;

/// The zone in which instants become legal dates and in which people are shown times.
pub const AMSTERDAM: &str = "Europe/Amsterdam";

/// The legal date of an instant: its calendar date in Europe/Amsterdam.
pub fn legal_date(instant: Timestamp) -> Date {
    // The bundled tz database always has Europe/Amsterdam; fall back to UTC rather than fail.
    let zone = TimeZone::get(AMSTERDAM).unwrap_or(TimeZone::UTC);
    instant.to_zoned(zone).date()
}

/// The first instant of a legal date: midnight in Europe/Amsterdam (on the days the clocks
/// change, the first instant that exists).
pub fn day_start(date: Date) -> Result<Timestamp, ValueError> {
    let zone = TimeZone::get(AMSTERDAM).unwrap_or(TimeZone::UTC);
    date.to_zoned(zone)
        .map(|z| z.timestamp())
        .map_err(|e| ValueError::new(format!("`{date}` has no start in {AMSTERDAM}: {e}")))
}

/// Parses a `YYYY-MM-DD` date.
pub fn parse_date(text: &str) -> Result<Date, ValueError> {
    let valid_shape = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !valid_shape {
        return Err(ValueError::new(format!(
            "`{text}` is not a date (expected YYYY-MM-DD)"
        )));
    }
    text.parse::<Date>()
        .map_err(|_| ValueError::new(format!("`{text}` is not a calendar date")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instant_late_in_utc_evening_is_next_day_in_amsterdam()
    -> Result<(), Box<dyn std::error::Error>> {
        // 23:30 UTC on 31 Dec is 00:30 on 1 Jan in Amsterdam (CET, UTC+1).
        let t: Timestamp = "2025-12-31T23:30:00Z".parse()?;
        assert_eq!(legal_date(t), parse_date("2026-01-01")?);
        // In summer (CEST, UTC+2) 22:30 UTC is already the next day.
        let t: Timestamp = "2026-08-14T22:30:00Z".parse()?;
        assert_eq!(legal_date(t), parse_date("2026-08-15")?);
        let t: Timestamp = "2026-08-14T21:59:59Z".parse()?;
        assert_eq!(legal_date(t), parse_date("2026-08-14")?);
        Ok(())
    }

    #[test]
    fn a_legal_day_starts_at_midnight_in_amsterdam() -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(
            day_start(parse_date("2026-01-01")?)?.to_string(),
            "2025-12-31T23:00:00Z"
        );
        assert_eq!(
            day_start(parse_date("2026-07-01")?)?.to_string(),
            "2026-06-30T22:00:00Z"
        );
        Ok(())
    }

    #[test]
    fn dates_are_strict() {
        assert!(parse_date("2026-02-29").is_err());
        assert!(parse_date("2026-2-1").is_err());
        assert!(parse_date("2026-02-01T00:00").is_err());
        assert!(parse_date("2024-02-29").is_ok());
    }
}
