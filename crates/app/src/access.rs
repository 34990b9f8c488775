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

/// Working items: analysts (and administrators, who run the server's command line).
pub(crate) fn require_analyst(p: &Principal) -> Result<(), AppError> {
    if matches!(p.role, Role::Analyst | Role::Admin) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "working items needs an analyst token; this token's role is `{}`",
            p.role
        )))
    }
}

/// Approving a plan: an analyst or legal officer (or an administrator at the server).
pub(crate) fn require_approver(p: &Principal) -> Result<(), AppError> {
    if p.role.is_staff() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "approving needs an analyst or legal officer's token".into(),
        ))
    }
}

/// A recipient organisation's token: the organisation it acts for.
pub(crate) fn require_recipient(p: &Principal) -> Result<&OrgSlug, AppError> {
    match (&p.organisation, p.role) {
        (Some(org), Role::Recipient) => Ok(org),
        _ => Err(AppError::Forbidden(
            "the inbox is read with a recipient organisation's token".into(),
        )),
    }
}

/// The audit log: legal officers and administrators.
pub(crate) fn require_legal(p: &Principal) -> Result<(), AppError> {
    if matches!(p.role, Role::Legal | Role::Admin) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "the audit log needs a legal officer's token".into(),
        ))
    }
}
