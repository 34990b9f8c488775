//! The errors a use case ends with; the server and CLI map them to HTTP statuses and exit
//! codes.

use schakel_formats::registry::EntryError;
use schakel_store::StoreError;

/// Why a use case did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input is wrong; `problems` lists every problem (entry, field, reason).
    #[error("{message}")]
    Invalid {
        /// A summary.
        message: String,
        /// Every problem found.
        problems: Vec<EntryError>,
    },
    /// Something asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request contradicts the current state (e.g. creating what exists).
    #[error("{0}")]
    Conflict(String),
    /// No valid credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// Valid credentials that do not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// A defect inside schakel (such as a rulebook the engine cannot evaluate); logged.
    #[error("{0}")]
    Internal(String),
    /// The store failed; the cause is logged, never shown to callers.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AppError {
    /// An invalid-input error about one field.
    pub fn field(field: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        AppError::Invalid {
            message: format!("`{field}`: {reason}"),
            problems: vec![EntryError {
                index: None,
                slug: None,
                field: field.to_owned(),
                reason,
            }],
        }
    }

    /// An invalid-input error from the field issues of parsing a document (`what`).
    pub fn from_issues(what: &str, issues: Vec<schakel_domain::FieldIssue>) -> Self {
        let problems: Vec<EntryError> = issues
            .into_iter()
            .map(|i| EntryError {
                index: None,
                slug: None,
                field: i.field,
                reason: i.reason,
            })
            .collect();
        AppError::invalid(
            format!("{} problem(s) in the {what}", problems.len()),
            problems,
        )
    }

    /// An invalid-input error listing problems.
    pub fn invalid(message: impl Into<String>, problems: Vec<EntryError>) -> Self {
        let mut message = message.into();
        // A person reads at most this many; programs get every problem in `problems`.
        const SHOWN: usize = 50;
        for p in problems.iter().take(SHOWN) {
            message.push_str("\n  ");
            message.push_str(&p.to_string());
        }
        if problems.len() > SHOWN {
            message.push_str(&format!("\n  … and {} more", problems.len() - SHOWN));
        }
        AppError::Invalid { message, problems }
    }
}
