//! Where the command's "now" comes from: the system clock, or — in test builds only — a
//! clock the tests set with `SCHAKEL_TEST_CLOCK`, so that no test depends on today's date.

use jiff::Timestamp;
use schakel_app::Clock;

use crate::commands::CliError;

/// The variable a test sets: `INSTANT` (the clock reads INSTANT when the process starts)
/// or `INSTANT@REAL` (it read INSTANT at the real instant REAL, so that every process of a
/// test shares one clock and time never runs backwards between them). Either way it runs
/// on in real time, so backoffs and expiries still pass.
pub(crate) const TEST_CLOCK: &str = "SCHAKEL_TEST_CLOCK";

/// The clock this process uses.
///
/// A release build refuses `SCHAKEL_TEST_CLOCK` rather than ignore it: decisions, deadlines
/// and the audit log of an installation run on the real date, and a person who set the
/// variable must not believe otherwise.
pub(crate) fn clock() -> Result<Clock, CliError> {
    let Some(value) = std::env::var_os(TEST_CLOCK) else {
        return Ok(Clock::system());
    };
    if !cfg!(debug_assertions) {
        return Err(CliError::user(format!(
            "{TEST_CLOCK} is honoured only by test builds; unset it (this build runs on the real clock)"
        )));
    }
    let text = value
        .to_str()
        .ok_or_else(|| CliError::user(format!("{TEST_CLOCK} is not text")))?;
    parse(text)
}

/// Reads the value of [`TEST_CLOCK`].
fn parse(text: &str) -> Result<Clock, CliError> {
    let instant = |part: &str| {
        part.parse::<Timestamp>().map_err(|e| {
            CliError::user(format!(
                "{TEST_CLOCK}: `{part}` is not an RFC 3339 instant: {e}"
            ))
        })
    };
    match text.split_once('@') {
        None => Ok(Clock::running_from(instant(text)?)),
        Some((reads, at)) => {
            let offset = instant(reads)?.duration_since(instant(at)?);
            Ok(Clock::from_fn(move || {
                let now = Timestamp::now();
                now.checked_add(offset).unwrap_or(now)
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_test_clock_reads_the_instant_it_was_given_plus_real_time_since() {
        let real = Timestamp::now() - jiff::SignedDuration::from_secs(60);
        let value = format!("2026-11-22T10:00:00Z@{real}");
        let clock = parse(&value).map_err(|e| e.to_string());
        let now = clock.map(|c| c.now().to_string());
        let now = now.as_deref().unwrap_or("");
        assert!(now.starts_with("2026-11-22T10:01:"), "{now}");
        assert!(parse("yesterday").is_err());
        assert!(parse("2026-11-22T10:00:00Z@soon").is_err());
    }
}
