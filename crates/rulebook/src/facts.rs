//! The abstract facts a decision depends on, computed from the registry, the item and the
//! date exactly as RULEBOOK.md defines them. A decision depends on nothing else, which is
//! what makes it replayable and memoisable.

use std::collections::BTreeSet;

use schakel_domain::{
    Date, OrgSlug, Organisation, Purpose, Registry, SourceRestriction, Status, Tlp,
};

use crate::{DecideError, DecisionRequest};

/// A set of statuses, as bits in the order of [`Status::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct StatusSet(u16);

impl StatusSet {
    /// Adds a status.
    pub fn insert(&mut self, status: Status) {
        if let Some(i) = Status::ALL.iter().position(|s| *s == status) {
            self.0 |= 1 << i;
        }
    }

    /// Whether it holds a status.
    pub fn contains(self, status: Status) -> bool {
        Status::ALL
            .iter()
            .position(|s| *s == status)
            .is_some_and(|i| self.0 & (1 << i) != 0)
    }

    /// The statuses held.
    pub fn iter(self) -> impl Iterator<Item = Status> {
        Status::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

/// Everything a rulebook may look at, for one recipient, one item and one date. Field names
/// follow `rulebooks/schema.cedarschema`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "these are the independent yes/no facts of RULEBOOK.md"
)]
pub struct Facts {
    /// Statuses the recipient holds on the date.
    pub statuses: StatusSet,
    /// The recipient's jurisdiction is in the EU on the date.
    pub eu: bool,
    /// The recipient has a valid secrecy guarantee on the date.
    pub secrecy: bool,
    /// Some linking organisation or crisis team serves the recipient on the date.
    pub served: bool,
    /// The recipient held a vital-provider or central-government designation before the Cbw.
    pub former_target_group: bool,
    /// The item concerns someone, and the recipient oversees a sector of every concerned organisation.
    pub oversees_concerned: bool,
    /// The recipient serves every one of the others (true without others).
    pub serves_others: bool,
    /// The recipient is a concerned organisation.
    pub concerned: bool,
    /// The recipient is a named recipient.
    pub named: bool,
    /// TLP.
    pub tlp: Tlp,
    /// Marked confidential.
    pub confidential: bool,
    /// Has confidentiality markers.
    pub markers: bool,
    /// Concerns at least one organisation.
    pub concerns_any: bool,
    /// Concerns exactly the recipient.
    pub concerns_only_recipient: bool,
    /// Concerns others than the recipient.
    pub others: bool,
    /// Every one of the others consented.
    pub others_consented: bool,
    /// Purpose.
    pub purpose: Purpose,
    /// Serious.
    pub serious: bool,
    /// Personal data.
    pub personal_data: bool,
    /// National security.
    pub national_security: bool,
    /// Source restriction.
    pub source_restriction: SourceRestriction,
}

/// The facts and the concrete organisations behind them.
#[derive(Debug, Clone)]
pub struct Relation<'a> {
    /// The recipient.
    pub recipient: &'a Organisation,
    /// The concerned organisations other than the recipient, in the order given.
    pub others: Vec<OrgSlug>,
    /// Others that did not consent.
    pub not_consented: Vec<OrgSlug>,
    /// The abstract facts.
    pub facts: Facts,
}

fn known<'a>(
    registry: &'a Registry,
    field: impl FnOnce() -> String,
    slug: &OrgSlug,
) -> Result<&'a Organisation, DecideError> {
    registry
        .get(slug)
        .ok_or_else(|| DecideError::UnknownOrganisation {
            field: field(),
            slug: slug.to_string(),
        })
}

/// Computes the facts of a request. `cbw_start` is the first day of the Cyberbeveiligingswet
/// (for the former target group). Every organisation named in the request must exist.
pub fn relate<'a>(
    registry: &'a Registry,
    request: &DecisionRequest,
    cbw_start: Date,
) -> Result<Relation<'a>, DecideError> {
    let date = request.at;
    let item = &request.item;
    let recipient = known(registry, || "recipient".into(), &request.recipient)?;
    if let Some(ended) = recipient.ended().filter(|_| recipient.is_ended_on(date)) {
        return Err(DecideError::EndedRecipient {
            slug: recipient.slug().to_string(),
            ended: ended.to_string(),
        });
    }
    let mut concerned_orgs = Vec::with_capacity(item.concerns.len());
    for (i, slug) in item.concerns.iter().enumerate() {
        concerned_orgs.push(known(registry, || format!("item.concerns[{i}]"), slug)?);
    }
    for (i, slug) in item.consent.iter().enumerate() {
        known(registry, || format!("item.consent[{i}]"), slug)?;
    }
    for (i, slug) in item.named_recipients.iter().enumerate() {
        known(registry, || format!("item.named_recipients[{i}]"), slug)?;
    }

    let mut statuses = StatusSet::default();
    for status in recipient.statuses_on(date) {
        statuses.insert(status);
    }
    let mut seen = BTreeSet::new();
    let others: Vec<&Organisation> = concerned_orgs
        .iter()
        .copied()
        .filter(|o| o.slug() != recipient.slug() && seen.insert(o.slug()))
        .collect();
    let consent: BTreeSet<&OrgSlug> = item.consent.iter().collect();
    let not_consented: Vec<OrgSlug> = others
        .iter()
        .filter(|o| !consent.contains(o.slug()))
        .map(|o| o.slug().clone())
        .collect();
    let concerned = concerned_orgs.iter().any(|o| o.slug() == recipient.slug());
    let oversees_concerned = !concerned_orgs.is_empty()
        && !recipient.is_ended_on(date)
        && concerned_orgs
            .iter()
            .all(|o| o.sectors().iter().any(|s| recipient.oversees().contains(s)));
    // An ended organisation holds nothing, its former designations included.
    let former_target_group = !recipient.is_ended_on(date)
        && recipient.designations().iter().any(|d| {
            matches!(
                d.status(),
                Status::VitalProvider | Status::CentralGovernment
            ) && d.from() < cbw_start
        });
    let facts = Facts {
        statuses,
        eu: recipient.jurisdiction().is_eu_on(date),
        secrecy: recipient.secrecy_on(date).is_some(),
        served: registry.servers_of(recipient, date).next().is_some(),
        former_target_group,
        oversees_concerned,
        serves_others: others.iter().all(|o| recipient.serves_on(o, date)),
        concerned,
        named: item.named_recipients.contains(recipient.slug()),
        tlp: item.tlp,
        confidential: item.confidential,
        markers: !item.confidentiality_markers.is_empty(),
        concerns_any: !concerned_orgs.is_empty(),
        concerns_only_recipient: concerned && others.is_empty(),
        others: !others.is_empty(),
        others_consented: not_consented.is_empty(),
        purpose: item.purpose,
        serious: item.serious,
        personal_data: item.personal_data,
        national_security: item.national_security,
        source_restriction: item.source_restriction,
    };
    Ok(Relation {
        recipient,
        others: others.iter().map(|o| o.slug().clone()).collect(),
        not_consented,
        facts,
    })
}
