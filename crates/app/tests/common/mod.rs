//! Shared set-up of the application tests: the real SQLite store in a temporary
//! directory, the shipped rulebooks and the demo constituency.
#![allow(dead_code, reason = "each test binary uses a different part")]

use std::sync::Arc;

use jiff::Timestamp;
use schakel_app::{App, AppError, Clock, TokenKind, TokenRequest};
use schakel_domain::{Principal, Role, SectorVocabulary};
use schakel_rulebook::{EffectiveDates, RulebookSet};
use schakel_store::SqliteStore;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

pub struct TestApp {
    pub app: App,
    pub admin: Principal,
    pub _dir: tempfile::TempDir,
}

/// The application on the SQLite file `path`, with the shipped rulebooks.
pub fn app_on(path: &std::path::Path, clock: Clock) -> Result<App, Box<dyn std::error::Error>> {
    Ok(App::new(
        Arc::new(SqliteStore::open(path, SectorVocabulary::default())?),
        SectorVocabulary::default(),
        Arc::new(RulebookSet::defaults(EffectiveDates::default())?),
        clock,
    ))
}

pub fn fixed_clock() -> Result<Clock, Box<dyn std::error::Error>> {
    Ok(Clock::fixed("2026-11-22T10:00:00Z".parse::<Timestamp>()?))
}

/// The demo constituency in a fresh database (`t.db` in the test's directory).
pub fn demo_app_with(clock: Clock) -> Result<TestApp, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let app = app_on(&dir.path().join("t.db"), clock)?;
    let admin = App::installation();
    app.load_demo(&admin)?;
    Ok(TestApp {
        app,
        admin,
        _dir: dir,
    })
}

pub fn demo_app() -> Result<TestApp, Box<dyn std::error::Error>> {
    demo_app_with(fixed_clock()?)
}

pub fn person(name: &str, role: Role) -> Principal {
    Principal {
        token_id: format!("tok_{name}"),
        name: name.into(),
        role,
        organisation: None,
    }
}

pub fn recipient(t: &TestApp, slug: &str) -> Result<Principal, Box<dyn std::error::Error>> {
    let issued = t.app.create_token(
        &t.admin,
        TokenRequest {
            kind: TokenKind::Recipient {
                organisation: slug.into(),
                label: None,
            },
            expires: None,
        },
    )?;
    Ok(t.app.authenticate(&issued.secret)?)
}

pub fn problems(e: &AppError) -> Vec<String> {
    match e {
        AppError::Invalid { problems, .. } => problems.iter().map(ToString::to_string).collect(),
        other => vec![format!("not invalid: {other}")],
    }
}

/// A clock the test moves.
#[derive(Clone)]
pub struct TestClock(Arc<std::sync::Mutex<Timestamp>>);

impl TestClock {
    pub fn at(instant: &str) -> Result<Self, Box<dyn std::error::Error>> {
        Ok(Self(Arc::new(std::sync::Mutex::new(instant.parse()?))))
    }

    pub fn clock(&self) -> Clock {
        let now = Arc::clone(&self.0);
        Clock::from_fn(move || now.lock().map(|t| *t).unwrap_or(Timestamp::UNIX_EPOCH))
    }

    pub fn set(&self, instant: &str) -> Result<(), Box<dyn std::error::Error>> {
        let at: Timestamp = instant.parse()?;
        if let Ok(mut now) = self.0.lock() {
            *now = at;
        }
        Ok(())
    }

    pub fn advance_hours(&self, hours: i64) -> Result<(), Box<dyn std::error::Error>> {
        if let Ok(mut now) = self.0.lock() {
            *now = now.checked_add(jiff::SignedDuration::from_hours(hours))?;
        }
        Ok(())
    }
}
