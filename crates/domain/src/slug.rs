//! Organisation slugs: the stable, never-reused key of an organisation.

use std::fmt;
use std::sync::Arc;

use crate::ValueError;

/// The stable identifier of an organisation: lowercase letters, digits and single hyphens
/// between them, at most 64 characters. Unique and never reused.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrgSlug(Arc<str>);

impl OrgSlug {
    /// Longest slug accepted.
    pub const MAX_LEN: usize = 64;

    /// Parses a slug.
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        let shape_ok = !text.is_empty()
            && text.len() <= Self::MAX_LEN
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !text.starts_with('-')
            && !text.ends_with('-')
            && !text.contains("--");
        if shape_ok {
            Ok(Self(Arc::from(text)))
        } else {
            Err(ValueError::new(format!(
                "`{text}` is not a slug (lowercase letters, digits and single hyphens between them, 1 to {} characters)",
                Self::MAX_LEN
            )))
        }
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for good in ["z-cert", "hospital-south", "a", "org-000001", "3"] {
            assert!(OrgSlug::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Z-cert",
            "-a",
            "a-",
            "a--b",
            "a_b",
            "a b",
            "ä",
            &"x".repeat(65),
        ] {
            assert!(OrgSlug::parse(bad).is_err(), "{bad}");
        }
    }
}
