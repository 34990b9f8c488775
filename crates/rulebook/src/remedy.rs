//! Remedies: for each reason of a deny, a single change that would turn it into a permit,
//! each checked by deciding again. Every reason gets one when one change would permit,
//! whichever rule fired (RULEBOOK.md "How a decision is made"): the kinds its rule names
//! are tried first, then every other kind.

use schakel_domain::{OrgSlug, Purpose, Registry, SourceRestriction};

use crate::engine::Outcome;
use crate::facts::Relation;
use crate::{DecideError, Decision, DecisionRequest, Remedy, RemedyKind, RulebookSet};

/// The remedies tried for `no_basis` first, in order.
const NO_BASIS_REMEDIES: &[RemedyKind] = &[
    RemedyKind::RouteVia,
    RemedyKind::SplitItem,
    RemedyKind::ChangePurpose,
];

/// Every kind of remedy, in the order tried after a rule's own.
const EVERY_REMEDY: &[RemedyKind] = &[
    RemedyKind::SecrecyGuarantee,
    RemedyKind::Consent,
    RemedyKind::NamedRecipient,
    RemedyKind::SourcePermission,
    RemedyKind::SplitItem,
    RemedyKind::RouteVia,
    RemedyKind::ChangePurpose,
];

fn list(slugs: &[OrgSlug]) -> String {
    slugs
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Tries one kind of change; returns the remedy if it turns the whole deny into a permit.
fn try_remedy(
    set: &RulebookSet,
    registry: &Registry,
    request: &DecisionRequest,
    relation: &Relation<'_>,
    kind: RemedyKind,
) -> Result<Option<Remedy>, DecideError> {
    let book = set.for_date(request.at)?;
    let recipient = request.recipient.clone();
    let permits = |changed: &DecisionRequest| -> Result<bool, DecideError> {
        set.permits_request(registry, changed)
    };
    let remedy = |organisations: Vec<OrgSlug>, text: String| {
        Some(Remedy {
            kind,
            organisations,
            text,
        })
    };
    Ok(match kind {
        RemedyKind::SecrecyGuarantee => {
            let mut facts = relation.facts;
            if facts.secrecy {
                return Ok(None);
            }
            facts.secrecy = true;
            if book.permits(&facts)? {
                remedy(
                    vec![recipient.clone()],
                    format!(
                        "record a secrecy guarantee for `{recipient}` valid on {}",
                        request.at
                    ),
                )
            } else {
                None
            }
        }
        RemedyKind::Consent => {
            if relation.not_consented.is_empty() {
                return Ok(None);
            }
            let mut changed = request.clone();
            changed
                .item
                .consent
                .extend(relation.not_consented.iter().cloned());
            if permits(&changed)? {
                remedy(
                    relation.not_consented.clone(),
                    format!("obtain the consent of {}", list(&relation.not_consented)),
                )
            } else {
                None
            }
        }
        RemedyKind::SplitItem => {
            let date = request.at;
            let keep = |slug: &OrgSlug| {
                *slug == recipient
                    || registry
                        .get(slug)
                        .is_some_and(|o| relation.recipient.serves_on(o, date))
            };
            let left_out: Vec<OrgSlug> = relation
                .others
                .iter()
                .filter(|s| !keep(s))
                .cloned()
                .collect();
            if left_out.is_empty() {
                return Ok(None);
            }
            let mut changed = request.clone();
            changed.item.concerns.retain(|s| !left_out.contains(s));
            if permits(&changed)? {
                remedy(
                    left_out.clone(),
                    format!(
                        "split the item: leave out what concerns {} and send that part separately",
                        list(&left_out)
                    ),
                )
            } else {
                None
            }
        }
        RemedyKind::RouteVia => {
            // Only where the server would receive it for the recipient: as a linking
            // organisation or crisis team with the recipient among those it receives for,
            // not in its own right (a CSIRT that also serves the recipient's sector).
            let mut via = Vec::new();
            for server in registry.servers_of(relation.recipient, request.at) {
                let mut changed = request.clone();
                changed.recipient = server.slug().clone();
                if set.receives_on_behalf_of(registry, &changed, &recipient)? {
                    via.push(server.slug().clone());
                }
            }
            if via.is_empty() {
                None
            } else {
                let text = format!("send it through {}, which serves `{recipient}`", list(&via));
                remedy(via, text)
            }
        }
        RemedyKind::ChangePurpose => {
            if request.item.purpose == Purpose::PreventDisruption {
                return Ok(None);
            }
            let mut changed = request.clone();
            changed.item.purpose = Purpose::PreventDisruption;
            if permits(&changed)? {
                remedy(vec![], "share it to prevent or limit societal disruption (purpose `prevent_disruption`)".into())
            } else {
                None
            }
        }
        RemedyKind::NamedRecipient => {
            if request.item.named_recipients.contains(&recipient) {
                return Ok(None);
            }
            let mut changed = request.clone();
            changed.item.named_recipients.push(recipient.clone());
            if permits(&changed)? {
                remedy(
                    vec![recipient.clone()],
                    format!("name `{recipient}` among the TLP:RED recipients"),
                )
            } else {
                None
            }
        }
        RemedyKind::SourcePermission => {
            if request.item.source_restriction == SourceRestriction::None {
                return Ok(None);
            }
            let mut changed = request.clone();
            changed.item.source_restriction = SourceRestriction::None;
            if permits(&changed)? {
                remedy(
                    vec![],
                    "ask the source's permission to share it with this recipient".into(),
                )
            } else {
                None
            }
        }
    })
}

/// Attaches a remedy to every reason of a deny where one change would permit. The
/// reasons are those `assemble` made from `outcome`: `no_basis` first when no basis
/// applied, then one per restriction that fired, in the same order.
pub(crate) fn attach(
    set: &RulebookSet,
    registry: &Registry,
    request: &DecisionRequest,
    relation: &Relation<'_>,
    outcome: &Outcome,
    decision: &mut Decision,
) -> Result<(), DecideError> {
    let book = set.for_date(request.at)?;
    let no_basis = outcome.bases.is_empty().then_some(None);
    let sources = no_basis
        .into_iter()
        .chain(outcome.reasons.iter().map(|i| Some(*i)));
    for (reason, source) in decision.reasons.iter_mut().zip(sources) {
        let first: &[RemedyKind] = match source {
            None => NO_BASIS_REMEDIES,
            Some(i) => book.rules().get(i).map_or(&[], |r| r.remedies.as_slice()),
        };
        let mut tried = Vec::with_capacity(EVERY_REMEDY.len());
        for kind in first.iter().chain(EVERY_REMEDY) {
            if tried.contains(kind) {
                continue;
            }
            tried.push(*kind);
            if let Some(remedy) = try_remedy(set, registry, request, relation, *kind)? {
                reason.remedy = Some(remedy);
                break;
            }
        }
    }
    Ok(())
}
