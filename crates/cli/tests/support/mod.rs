//! Helpers shared by the CLI tests.
#![allow(dead_code, reason = "each test binary uses its own part")]
pub mod feedgen;

use std::sync::OnceLock;

/// The instant every test's clock reads when the test binary starts, so that no test
/// depends on today's date: deadlines, the validity of designations and guarantees, and
/// expiries are reckoned from here.
pub const TEST_CLOCK: &str = "2026-11-22T10:00:00Z";

/// The value of `SCHAKEL_TEST_CLOCK` for every `schakel` a test starts: one clock shared
/// by all of them (it read [`TEST_CLOCK`] when this test binary first asked), so that what
/// one process records is never in another's future.
pub fn test_clock() -> &'static str {
    static VALUE: OnceLock<String> = OnceLock::new();
    VALUE.get_or_init(|| format!("{TEST_CLOCK}@{}", jiff::Timestamp::now()))
}
