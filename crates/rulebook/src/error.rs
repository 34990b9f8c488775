//! Errors of loading a rulebook and of asking for a decision.

use std::fmt;

/// A rulebook that cannot be used, located by file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulebookError {
    /// The file (as named by the caller).
    pub file: String,
    /// The line (1-based), when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for RulebookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

impl std::error::Error for RulebookError {}

/// A decision that could not be taken (never a deny: a deny is an answer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    /// An organisation named in the request is not in the registry.
    #[error("`{field}`: no organisation `{slug}` in the registry")]
    UnknownOrganisation {
        /// Where it was named, such as `recipient` or `item.concerns[1]`.
        field: String,
        /// The slug.
        slug: String,
    },
    /// The recipient is ended on the date: it holds nothing and is never a candidate.
    #[error("`recipient`: `{slug}` is ended from {ended}; an ended organisation receives nothing")]
    EndedRecipient {
        /// The recipient.
        slug: String,
        /// Its first day ended.
        ended: String,
    },
    /// The date lies before the first rulebook.
    #[error(
        "`at`: {date} lies before {first}, when the first rulebook (the Wbni) took effect; there is no rulebook for it"
    )]
    BeforeFirstRulebook {
        /// The date asked.
        date: String,
        /// The first day of the first rulebook.
        first: String,
    },
    /// The policy engine failed on a policy (a rulebook defect, not a deny).
    #[error("the rulebook `{rulebook}` could not be evaluated: {reason}")]
    Engine {
        /// Which rulebook.
        rulebook: String,
        /// What failed.
        reason: String,
    },
}
