//! A decision request and the decision: permit or deny, with rulebook, route, bases,
//! conditions, reasons and remedies (FORMATS.md "Decision request and answer").

use std::fmt;
use std::sync::Arc;

use schakel_domain::{ConfidentialityMarker, Date, OrgSlug, Purpose, SourceRestriction, Tlp};

/// What the item says about itself that the decision uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFacts {
    /// Traffic Light Protocol label.
    pub tlp: Tlp,
    /// Organisations the item can be traced to.
    pub concerns: Vec<OrgSlug>,
    /// Marked confidential by the analyst.
    pub confidential: bool,
    /// What makes traceable data confidential.
    pub confidentiality_markers: Vec<ConfidentialityMarker>,
    /// Concerned organisations that consented to sharing.
    pub consent: Vec<OrgSlug>,
    /// What sharing is for.
    pub purpose: Purpose,
    /// Potentially significant consequences for the continuity of a service.
    pub serious: bool,
    /// Holds personal data.
    pub personal_data: bool,
    /// Touches national security.
    pub national_security: bool,
    /// For TLP:RED: who may receive it.
    pub named_recipients: Vec<OrgSlug>,
    /// The restriction the source set.
    pub source_restriction: SourceRestriction,
}

impl ItemFacts {
    /// An item with the defaults of FORMATS.md and the given TLP.
    pub fn with_tlp(tlp: Tlp) -> Self {
        Self {
            tlp,
            concerns: vec![],
            confidential: false,
            confidentiality_markers: vec![],
            consent: vec![],
            purpose: Purpose::PreventDisruption,
            serious: false,
            personal_data: false,
            national_security: false,
            named_recipients: vec![],
            source_restriction: SourceRestriction::None,
        }
    }
}

/// May the centre provide this item to this recipient on this date?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRequest {
    /// The legal date (Europe/Amsterdam) the decision is taken on.
    pub at: Date,
    /// The candidate recipient.
    pub recipient: OrgSlug,
    /// The item.
    pub item: ItemFacts,
}

/// How a delivery travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteKind {
    /// To the recipient, for itself.
    Direct,
    /// To a linking organisation or crisis team, on behalf of the organisations it serves.
    ViaLinkingOrganisation,
}

impl RouteKind {
    /// The identifier used in files and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteKind::Direct => "direct",
            RouteKind::ViaLinkingOrganisation => "via_linking_organisation",
        }
    }
}

/// The route of a permitted delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Direct or via a linking organisation.
    pub kind: RouteKind,
    /// The linking organisation (the recipient) for a `via` route.
    pub via: Option<OrgSlug>,
    /// The organisations the linking organisation receives for.
    pub on_behalf_of: Vec<OrgSlug>,
}

/// A rule as reported with a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRef {
    /// The rule's id (`W1`, `C3`, `R4`, `no_basis`…).
    pub rule: Arc<str>,
    /// Its legal citation; `None` for `no_basis`.
    pub citation: Option<Arc<str>>,
    /// The rulebook marks the citation as resting on secondary sources (`(?)`).
    pub citation_uncertain: bool,
    /// Why, in English.
    pub explanation: Arc<str>,
    /// Why, in Dutch.
    pub explanation_nl: Arc<str>,
}

/// The kind of single change that would turn a deny into a permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RemedyKind {
    /// The recipient obtains a valid secrecy guarantee.
    SecrecyGuarantee,
    /// The named organisations consent.
    Consent,
    /// Send it through the named linking organisations or crisis teams instead.
    RouteVia,
    /// Split the item: leave out what concerns the named organisations.
    SplitItem,
    /// Share it to prevent or limit disruption (the purpose `prevent_disruption`).
    ChangePurpose,
    /// Name the recipient among the TLP:RED recipients.
    NamedRecipient,
    /// Ask the source's permission.
    SourcePermission,
}

impl RemedyKind {
    /// Every kind.
    pub const ALL: [RemedyKind; 7] = [
        RemedyKind::SecrecyGuarantee,
        RemedyKind::Consent,
        RemedyKind::RouteVia,
        RemedyKind::SplitItem,
        RemedyKind::ChangePurpose,
        RemedyKind::NamedRecipient,
        RemedyKind::SourcePermission,
    ];

    /// The identifier used in files and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            RemedyKind::SecrecyGuarantee => "secrecy_guarantee",
            RemedyKind::Consent => "consent",
            RemedyKind::RouteVia => "route_via",
            RemedyKind::SplitItem => "split_item",
            RemedyKind::ChangePurpose => "change_purpose",
            RemedyKind::NamedRecipient => "named_recipient",
            RemedyKind::SourcePermission => "source_permission",
        }
    }

    /// Parses an identifier.
    pub fn parse(text: &str) -> Option<Self> {
        RemedyKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

impl fmt::Display for RemedyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A single change that would turn this deny into a permit (checked by deciding again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remedy {
    /// What kind of change.
    pub kind: RemedyKind,
    /// The organisations it involves.
    pub organisations: Vec<OrgSlug>,
    /// What to do, in plain English.
    pub text: String,
}

/// A restriction that fired (or `no_basis`), with a remedy when one change would permit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// The rule.
    pub rule: RuleRef,
    /// The remedy, if any.
    pub remedy: Option<Remedy>,
}

/// The answer to a [`DecisionRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The legal date of the decision.
    pub at: Date,
    /// The candidate recipient.
    pub recipient: OrgSlug,
    /// Whether providing is permitted.
    pub permitted: bool,
    /// The rulebook in force on the date.
    pub rulebook: Arc<str>,
    /// `sha256:` hash of that rulebook's text (schema and policies).
    pub rulebook_hash: Arc<str>,
    /// The route (permits only).
    pub route: Option<Route>,
    /// Every permitting rule that applies, also on a deny.
    pub bases: Vec<RuleRef>,
    /// Conditions travelling with a permitted delivery (`secrecy`, `purpose_limitation`…).
    pub conditions: Vec<Arc<str>>,
    /// Every restriction that fired, or `no_basis` (denies only).
    pub reasons: Vec<Reason>,
}

/// Proof that the rulebook permitted providing an item to a recipient on a date. Only the
/// rulebook makes one ([`crate::RulebookSet::verdict`]): its field is private and it has no
/// public constructor, so whatever is built from a `Permit` — a delivery — was permitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permit {
    decision: Decision,
}

impl Permit {
    /// A permit for a permitted decision; a deny stays a deny.
    pub(crate) fn verdict(decision: Decision) -> Verdict {
        if decision.permitted {
            Verdict::Permit(Self { decision })
        } else {
            Verdict::Deny(decision)
        }
    }

    /// The permitting decision (bases, route, conditions, rulebook and its hash).
    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    /// The recipient.
    pub fn recipient(&self) -> &OrgSlug {
        &self.decision.recipient
    }
}

/// A decision as something to act on: a [`Permit`], or the deny with its reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Providing is permitted.
    Permit(Permit),
    /// Providing is not permitted.
    Deny(Decision),
}
