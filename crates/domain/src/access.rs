//! Who is asking: staff roles and recipient organisations.

use std::fmt;
use std::str::FromStr;

use crate::{OrgSlug, ValueError};

/// The role a token grants (FORMATS.md "Commands and endpoints").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Duty analyst: reads the registry, works items and reports.
    Analyst,
    /// Legal or privacy officer: rulebook, reviews, disclosure.
    Legal,
    /// Administrator: maintains the registry and tokens.
    Admin,
    /// A recipient organisation: sees only what concerns itself.
    Recipient,
    /// The installation itself: commands that work with its files (tokens, keys, the demo,
    /// `serve`, `org import` without a token) and the server's own duties (delivering,
    /// signing audit heads, retention). No token carries it: it is whoever can run the
    /// binary on the installation's files.
    Installation,
}

impl Role {
    /// The identifier used in files and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Analyst => "analyst",
            Role::Legal => "legal",
            Role::Admin => "admin",
            Role::Recipient => "recipient",
            Role::Installation => "installation",
        }
    }

    /// Whether this is the centre's own (staff, or the installation), not a recipient.
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Recipient)
    }
}

impl FromStr for Role {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "analyst" => Ok(Role::Analyst),
            "legal" => Ok(Role::Legal),
            "admin" => Ok(Role::Admin),
            "recipient" => Ok(Role::Recipient),
            // `installation` is not read: no token carries it.
            _ => Err(ValueError::new(format!(
                "`{text}` is not a role (analyst, legal, admin or recipient)"
            ))),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authenticated caller: a person (staff) or a recipient organisation's token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's public id.
    pub token_id: String,
    /// The person (or, for a recipient token, its label).
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// For a recipient: its organisation.
    pub organisation: Option<OrgSlug>,
}

impl Principal {
    /// How the caller appears in history and the audit log, e.g. `alice (admin)`.
    pub fn actor(&self) -> String {
        match (&self.organisation, self.role) {
            (Some(org), _) => format!("{} (recipient {org})", self.name),
            // `installation`, `delivery-worker`: not a person.
            (None, Role::Installation) => self.name.clone(),
            (None, role) => format!("{} ({role})", self.name),
        }
    }
}
