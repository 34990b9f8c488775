//! Who may do what: the role table, decided once here and enforced by every use case, so
//! that the API and the CLI cannot disagree. Least privilege: each role holds what its
//! work needs and nothing more, each choice with its reason (README.md prints this table;
//! a test keeps the two the same).

use schakel_domain::{OrgSlug, Principal, Role};

use crate::AppError;

/// Something the role table restricts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read the registry: organisations, their history, the export, owner lookup.
    ReadRegistry,
    /// Change the registry (import, add, update, end) and webhook signing secrets.
    ChangeRegistry,
    /// Make, list and revoke tokens.
    ManageTokens,
    /// Load the demo constituency.
    LoadDemo,
    /// Sharing decisions and the rulebooks behind them.
    Decide,
    /// Read items and their plans.
    ReadItems,
    /// Write, correct, retract and send items.
    WorkItems,
    /// Approve a plan (four eyes: never the item's creator).
    ApproveItems,
    /// Read the outbox: where each delivery stands.
    ReadOutbox,
    /// Run the delivery worker, requeue a held or dead delivery, send reminders.
    Deliver,
    /// Read incident reports, their clocks and triage, and written advice.
    ReadReports,
    /// Triage reports, record submissions, make items from reports, give, confirm and
    /// escalate advice.
    WorkReports,
    /// Published statistics.
    Statistics,
    /// Run a feed.
    IngestFeeds,
    /// Read feed runs and standing approvals.
    ReadFeedRuns,
    /// Give and revoke standing approvals of feed report types.
    StandingApprovals,
    /// Delete the rows of old feed runs (retention).
    PurgeFeedRows,
    /// Verify and export the audit trail.
    ReadAudit,
    /// Sign the audit chain's head with the centre's key.
    SignAuditHead,
    /// The legal officer's review list of denies.
    Review,
    /// Disclosure (Woo) exports.
    WooExport,
}

use Role::{Admin, Analyst, Installation, Legal};

/// The role table: each action, the roles that may take it, and why. A recipient
/// organisation's token is in none of these rows: it reads its own inbox, its own
/// organisation, files and reads its own reports and confirms its own advice, each checked
/// where it is used.
pub const ROLE_TABLE: &[(Action, &[Role], &str)] = &[
    (
        Action::ReadRegistry,
        &[Analyst, Legal, Admin, Installation],
        "everyone at the centre works from the registry",
    ),
    (
        Action::ChangeRegistry,
        &[Admin, Installation],
        "who may receive what follows from the registry: those who maintain it change it, each change audited",
    ),
    (
        Action::ManageTokens,
        &[Admin, Installation],
        "identities are issued by those who maintain the installation",
    ),
    (
        Action::LoadDemo,
        &[Admin, Installation],
        "it writes the registry",
    ),
    (
        Action::Decide,
        &[Analyst, Legal, Admin],
        "asking whether a share would be lawful discloses nothing and changes nothing",
    ),
    (
        Action::ReadItems,
        &[Analyst, Legal],
        "items are confidential: analysts write them, legal officers review and approve them; administrators need none",
    ),
    (
        Action::WorkItems,
        &[Analyst],
        "distributing information is the duty analysts' work",
    ),
    (
        Action::ApproveItems,
        &[Analyst, Legal],
        "the second pair of eyes is another analyst or a legal officer, never the creator",
    ),
    (
        Action::ReadOutbox,
        &[Analyst, Legal, Admin],
        "where deliveries stand, without their content: administrators mend the contacts deliveries fail on",
    ),
    (
        Action::Deliver,
        &[Analyst, Installation],
        "the worker delivers only what was permitted and sent; a held delivery is requeued by an analyst who looked at it",
    ),
    (
        Action::ReadReports,
        &[Analyst, Legal, Installation],
        "reports are confidential: analysts handle them, legal officers decide on their disclosure; serve's duty alerts name overdue ones",
    ),
    (
        Action::WorkReports,
        &[Analyst],
        "triage, advice and escalation are the duty analysts' work",
    ),
    (
        Action::Statistics,
        &[Analyst, Legal, Admin],
        "published numbers, with small ones suppressed",
    ),
    (
        Action::IngestFeeds,
        &[Analyst],
        "a feed run sends notifications, as an item does",
    ),
    (
        Action::ReadFeedRuns,
        &[Analyst, Legal],
        "what was notified to whom",
    ),
    (
        Action::StandingApprovals,
        &[Analyst, Legal],
        "a standing approval is a second pair of eyes given once for a report type",
    ),
    (
        Action::PurgeFeedRows,
        &[Legal, Installation],
        "deleting data is a retention decision; serve applies the retention setting",
    ),
    (
        Action::ReadAudit,
        &[Legal],
        "the audit trail says what went to whom: it is for legal officers and, through them, supervisors",
    ),
    (
        Action::SignAuditHead,
        &[Legal, Installation],
        "signing needs the centre's key; serve signs every hour",
    ),
    (
        Action::Review,
        &[Legal],
        "reviewing denies and remedies is the legal officers' work",
    ),
    (
        Action::WooExport,
        &[Legal],
        "disclosure decisions are the legal officers'",
    ),
];

impl Action {
    /// Who may take this action.
    pub fn roles(self) -> &'static [Role] {
        ROLE_TABLE
            .iter()
            .find(|(a, _, _)| *a == self)
            .map_or(&[], |(_, roles, _)| *roles)
    }

    /// Whether `role` may take this action.
    pub fn allows(self, role: Role) -> bool {
        self.roles().contains(&role)
    }

    /// What it is, for messages and the README.
    pub fn describe(self) -> &'static str {
        match self {
            Action::ReadRegistry => "read the registry",
            Action::ChangeRegistry => "change the registry and webhook secrets",
            Action::ManageTokens => "make, list and revoke tokens",
            Action::LoadDemo => "load the demo constituency",
            Action::Decide => "ask for a sharing decision, read the rulebooks",
            Action::ReadItems => "read items and their plans",
            Action::WorkItems => "write, correct, retract and send items",
            Action::ApproveItems => "approve a plan (four eyes)",
            Action::ReadOutbox => "read the outbox",
            Action::Deliver => "deliver, requeue, remind",
            Action::ReadReports => "read incident reports and advice",
            Action::WorkReports => "triage reports, record submissions, give and escalate advice",
            Action::Statistics => "read published statistics",
            Action::IngestFeeds => "run a feed",
            Action::ReadFeedRuns => "read feed runs and standing approvals",
            Action::StandingApprovals => "give and revoke standing approvals",
            Action::PurgeFeedRows => "purge old feed rows (retention)",
            Action::ReadAudit => "verify and export the audit trail",
            Action::SignAuditHead => "sign the audit head",
            Action::Review => "read the review list",
            Action::WooExport => "make disclosure (Woo) exports",
        }
    }
}

/// Checks that `p` may take `action`.
pub(crate) fn require(p: &Principal, action: Action) -> Result<(), AppError> {
    if action.allows(p.role) {
        return Ok(());
    }
    let roles: Vec<&str> = action
        .roles()
        .iter()
        .filter(|r| **r != Installation)
        .map(|r| r.as_str())
        .collect();
    Err(AppError::Forbidden(format!(
        "to {} needs the role {}; this token's role is `{}`",
        action.describe(),
        roles.join(" or "),
        p.role
    )))
}

/// Whether `p` is the recipient organisation `slug` acting for itself.
pub(crate) fn is_own(p: &Principal, slug: &OrgSlug) -> bool {
    p.role == Role::Recipient && p.organisation.as_ref() == Some(slug)
}

/// `action`, or a recipient organisation asking about itself.
pub(crate) fn require_or_own(
    p: &Principal,
    action: Action,
    slug: &OrgSlug,
) -> Result<(), AppError> {
    if is_own(p, slug) {
        Ok(())
    } else {
        require(p, action)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The role table as README.md shows it.
    fn markdown() -> String {
        let columns = [Analyst, Legal, Admin, Installation];
        let mut text = String::from(
            "| what | analyst | legal | admin | installation | why |\n| --- | --- | --- | --- | --- | --- |\n",
        );
        for (action, roles, reason) in ROLE_TABLE {
            text.push_str(&format!("| {} |", action.describe()));
            for role in columns {
                text.push_str(if roles.contains(&role) {
                    " ✓ |"
                } else {
                    "  |"
                });
            }
            text.push_str(&format!(" {reason} |\n"));
        }
        text
    }

    #[test]
    fn the_readme_shows_this_role_table() {
        let readme = include_str!("../../../README.md");
        let table = markdown();
        assert!(
            readme.contains(&table),
            "README.md's role table differs from the code; it should read:\n{table}"
        );
    }

    #[test]
    fn the_table_names_every_action_once_and_gives_every_role_a_reason() {
        for (i, (action, roles, reason)) in ROLE_TABLE.iter().enumerate() {
            assert!(!roles.is_empty() && !reason.is_empty(), "{action:?}");
            assert!(
                ROLE_TABLE.iter().skip(i + 1).all(|(a, _, _)| a != action),
                "{action:?} twice"
            );
            assert!(!roles.contains(&Role::Recipient), "{action:?}");
        }
        // Four eyes need two people who may approve; administrators hold no content.
        assert!(!Action::WorkItems.allows(Admin));
        assert!(!Action::ApproveItems.allows(Admin));
        assert!(!Action::ReadAudit.allows(Admin));
        assert!(!Action::WooExport.allows(Admin));
        assert!(!Action::StandingApprovals.allows(Admin));
        assert!(!Action::ReadItems.allows(Admin));
        // The installation does nothing a person must answer for.
        for action in [
            Action::WorkItems,
            Action::ApproveItems,
            Action::StandingApprovals,
            Action::ReadAudit,
            Action::WooExport,
            Action::IngestFeeds,
            Action::ReadItems,
        ] {
            assert!(!action.allows(Installation), "{action:?}");
        }
    }
}
