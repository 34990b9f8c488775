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

/// The binary on `db`, on the shared test clock, with no settings file and no token: it
/// acts as the installation.
pub fn schakel(db: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_schakel"));
    c.env("SCHAKEL_TEST_CLOCK", test_clock())
        .env("SCHAKEL_DB", db)
        .env_remove("SCHAKEL_CONFIG")
        .env_remove("SCHAKEL_TOKEN");
    c
}

/// A token for `name` with `role` (`analyst`, `legal`, `admin`), made by the installation.
pub fn token(
    db: &std::path::Path,
    role: &str,
    name: &str,
) -> Result<String, Box<dyn std::error::Error>> {
    let out = schakel(db)
        .args(["token", "create", "--role", role, "--name", name, "--json"])
        .output()?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
    }
    let made: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    Ok(made["token"].as_str().ok_or("no token")?.to_owned())
}
