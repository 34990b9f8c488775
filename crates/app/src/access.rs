//! Who may do what (the role table of FORMATS.md, wave 1).

use schakel_domain::{OrgSlug, Principal, Role};

use crate::AppError;

/// Staff only (analyst, legal, admin).
pub(crate) fn require_staff(p: &Principal) -> Result<(), AppError> {
    if p.role.is_staff() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "this needs a staff token (analyst, legal or admin)".into(),
        ))
    }
}

/// Administrators only.
pub(crate) fn require_admin(p: &Principal) -> Result<(), AppError> {
    if p.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "changing the registry needs an admin token; this token's role is `{}`",
            p.role
        )))
    }
}

/// Staff, or a recipient asking about its own organisation.
pub(crate) fn require_staff_or_own(p: &Principal, slug: &OrgSlug) -> Result<(), AppError> {
    if p.role.is_staff() || p.organisation.as_ref() == Some(slug) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "a recipient token reads only its own organisation".into(),
        ))
    }
}
