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
}

impl Role {
    /// The identifier used in files and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Analyst => "analyst",
            Role::Legal => "legal",
            Role::Admin => "admin",
            Role::Recipient => "recipient",
        }
    }

    /// Whether this is a role of the centre's own staff.
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
        match &self.organisation {
            Some(org) => format!("{} (recipient {org})", self.name),
            None => format!("{} ({})", self.name, self.role),
        }
    }
}
