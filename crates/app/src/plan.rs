//! The distribution planner (RULEBOOK.md "Routing"): who should receive an item, each
//! candidate through the rulebook, and the channels each permit will travel by.

use std::collections::BTreeSet;

use schakel_domain::{Date, OrgSlug, Organisation, Purpose, Registry, Status, Tlp};
use schakel_formats::item::{ChannelRecord, PlanDenyRecord, PlanPermitRecord, PlanRecord};
use schakel_rulebook::{Decision, DecisionRequest, ItemFacts, Permit, RulebookSet, Verdict};
use serde_json::json;

use crate::AppError;
use crate::decide::decide_error;

/// A channel a permit will travel by, or could not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelPlan {
    /// The channel.
    pub channel: schakel_domain::Channel,
    /// Email address or webhook URL.
    pub address: Option<String>,
    /// Email: encrypted to the contact's key.
    pub encrypted: Option<bool>,
    /// Whether it will be used.
    pub usable: bool,
    /// Why not, or what to know.
    pub note: Option<String>,
}

impl ChannelPlan {
    /// The state a delivery on this channel starts in when sent, or `None` when nothing is
    /// enqueued on it: the inbox always keeps a copy (read once a token exists); email and
    /// webhooks only where usable.
    pub fn enqueued(&self) -> Option<schakel_domain::DeliveryState> {
        use schakel_domain::{Channel, DeliveryState};
        match self.channel {
            Channel::Inbox => Some(DeliveryState::Delivered),
            _ if self.usable => Some(DeliveryState::Pending),
            _ => None,
        }
    }

    fn record(&self) -> ChannelRecord {
        ChannelRecord {
            channel: self.channel.as_str().to_owned(),
            address: self.address.clone(),
            encrypted: self.encrypted,
            usable: self.usable,
            note: self.note.clone(),
        }
    }
}

/// A permitted recipient and its channels.
#[derive(Debug, Clone)]
pub struct PlannedPermit {
    /// The rulebook's permit.
    pub permit: Permit,
    /// The channels.
    pub channels: Vec<ChannelPlan>,
}

impl PlannedPermit {
    /// Whether some channel will carry it.
    pub fn reachable(&self) -> bool {
        self.channels.iter().any(|c| c.usable)
    }
}

/// A plan for one version of an item on one date.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The item.
    pub item_id: String,
    /// Its version.
    pub version: u32,
    /// The legal date decided on.
    pub at: Date,
    /// The rulebook in force.
    pub rulebook: String,
    /// The plan hash (see [`plan_hash`]).
    pub hash: String,
    /// Whether sending needs a second person's approval.
    pub needs_approval: bool,
    /// Permitted recipients, by slug.
    pub permits: Vec<PlannedPermit>,
    /// Denied candidates, by slug.
    pub denies: Vec<Decision>,
}

impl Plan {
    /// The plan as answered.
    pub fn record(&self) -> PlanRecord {
        PlanRecord {
            item: self.item_id.clone(),
            version: self.version,
            at: self.at.to_string(),
            rulebook: self.rulebook.clone(),
            plan_hash: self.hash.clone(),
            needs_approval: self.needs_approval,
            permits: self
                .permits
                .iter()
                .map(|p| {
                    PlanPermitRecord::from_permit(
                        &p.permit,
                        p.channels.iter().map(ChannelPlan::record).collect(),
                    )
                })
                .collect(),
            denies: self
                .denies
                .iter()
                .map(PlanDenyRecord::from_decision)
                .collect(),
        }
    }
}

/// Four eyes: confidential items, items traceable to an organisation that did not consent,
/// and TLP:RED need a second person's approval before sending.
pub fn needs_approval(facts: &ItemFacts) -> bool {
    let traceable_without_consent = facts.concerns.iter().any(|c| !facts.consent.contains(c));
    facts.confidential
        || facts.tlp == Tlp::Red
        || traceable_without_consent
        || (!facts.confidentiality_markers.is_empty() && !facts.concerns.is_empty())
}

/// Whether the organisation holds a designation that gives it its own relation with the
/// centre (anything but "other provider").
fn designated(org: &Organisation, date: Date) -> bool {
    org.statuses_on(date)
        .into_iter()
        .any(|s| s != Status::OtherProvider)
}

/// The candidates of RULEBOOK.md "Routing", in a stable order (by slug), each once:
/// - for each concerned organisation X: X itself when it is designated or nobody serves
///   it, and every linking organisation or crisis team serving X;
/// - for an item that concerns nobody: every designated organisation in the affected
///   sectors (all sectors when none is given) and those serving them;
/// - every recipient the analyst named;
/// - for an escalation (purpose `escalation`), instead of the above: every organisation
///   overseeing a sector of a concerned organisation, and the named recipients.
///
/// Organisations ended on the date are never candidates.
pub fn candidates<'a>(
    registry: &'a Registry,
    facts: &ItemFacts,
    sectors: &[schakel_domain::Sector],
    date: Date,
) -> Vec<OrgSlug> {
    let mut out: BTreeSet<&OrgSlug> = BTreeSet::new();
    if facts.purpose == Purpose::Escalation {
        // An escalation goes to the ministries overseeing the concerned organisations'
        // sectors (rule W7), not to the organisations or those serving them.
        for org in facts.concerns.iter().filter_map(|slug| registry.get(slug)) {
            out.extend(
                registry
                    .iter()
                    .filter(|o| {
                        !o.is_ended_on(date)
                            && o.oversees().iter().any(|s| org.sectors().contains(s))
                    })
                    .map(Organisation::slug),
            );
        }
    } else {
        // An organisation's servers; the organisation itself too when `with_self` or none
        // serves it, unless it is ended (never a candidate, still concerned).
        let mut add_with_servers = |org: &'a Organisation, with_self: bool| {
            let mut served = false;
            for server in registry.servers_of(org, date) {
                if !server.is_ended_on(date) {
                    out.insert(server.slug());
                    served = true;
                }
            }
            if (with_self || !served) && !org.is_ended_on(date) {
                out.insert(org.slug());
            }
        };
        for slug in &facts.concerns {
            if let Some(org) = registry.get(slug) {
                add_with_servers(org, designated(org, date));
            }
        }
        if facts.concerns.is_empty() {
            for org in registry.iter().filter(|o| !o.is_ended_on(date)) {
                let affected =
                    sectors.is_empty() || org.sectors().iter().any(|s| sectors.contains(s));
                if affected && designated(org, date) {
                    add_with_servers(org, true);
                }
            }
        }
    }
    let mut candidates: BTreeSet<OrgSlug> = out.into_iter().cloned().collect();
    for slug in &facts.named_recipients {
        if registry.get(slug).is_some_and(|o| !o.is_ended_on(date)) {
            candidates.insert(slug.clone());
        }
    }
    candidates.into_iter().collect()
}

/// The channels a permit travels by. TLP:RED, AMBER+STRICT and deliveries confidential
/// for their recipient never go by unencrypted email; TLP:AMBER and stricter are encrypted
/// when a key is on file. Webhooks need a signing secret; the inbox needs a recipient token
/// to be read.
pub fn channels(
    org: &Organisation,
    permit: &Permit,
    tlp: Tlp,
    has_token: bool,
    has_webhook_secret: bool,
) -> Vec<ChannelPlan> {
    use schakel_domain::Channel;
    let confidential = permit
        .decision()
        .conditions
        .iter()
        .any(|c| &**c == "secrecy");
    let must_encrypt = matches!(tlp, Tlp::Red | Tlp::AmberStrict) || confidential;
    let encrypt_if_possible = !matches!(tlp, Tlp::Clear | Tlp::Green);
    let mut out = vec![ChannelPlan {
        channel: Channel::Inbox,
        address: None,
        encrypted: None,
        usable: has_token,
        note: (!has_token).then(|| {
            "no recipient token: the inbox keeps it until the organisation has one".to_owned()
        }),
    }];
    for contact in org.contacts() {
        let key = contact.pgp_key.is_some();
        let (usable, note) = if must_encrypt && !key {
            (
                false,
                Some(format!(
                    "no OpenPGP key on file: {} is never sent by unencrypted email",
                    if confidential {
                        "information confidential for this recipient".to_owned()
                    } else {
                        format!("TLP:{tlp}")
                    }
                )),
            )
        } else {
            (true, None)
        };
        out.push(ChannelPlan {
            channel: Channel::Email,
            address: Some(contact.email.as_str().to_owned()),
            encrypted: Some(key && encrypt_if_possible),
            usable,
            note,
        });
        if let Some(url) = &contact.webhook_url {
            out.push(ChannelPlan {
                channel: Channel::Webhook,
                address: Some(url.as_str().to_owned()),
                encrypted: None,
                usable: has_webhook_secret,
                note: (!has_webhook_secret).then(|| {
                    format!(
                        "no signing secret: run `schakel webhook secret {}` and give it to them",
                        org.slug()
                    )
                }),
            });
        }
    }
    out
}

/// The plan hash: SHA-256 over every recipient's decision, bases, reasons, route,
/// conditions and channels, in slug order — not the date or the rulebook hash, so a plan
/// stays the same across days and amendments that change no decision. Each recipient is
/// one line of `|`-separated fields (slugs, rule ids and addresses contain no `|` or
/// newline).
pub fn plan_hash(permits: &[PlannedPermit], denies: &[Decision]) -> String {
    use std::fmt::Write as _;
    let mut lines: Vec<(&str, String)> = Vec::with_capacity(permits.len() + denies.len());
    let join = |out: &mut String, items: &mut dyn Iterator<Item = &str>| {
        for (i, item) in items.enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(item);
        }
        out.push('|');
    };
    for p in permits {
        let d = p.permit.decision();
        let mut line = String::with_capacity(160);
        line.push_str(d.recipient.as_str());
        line.push_str("|permit|");
        join(&mut line, &mut d.bases.iter().map(|b| b.rule.as_ref()));
        if let Some(r) = &d.route {
            line.push_str(r.kind.as_str());
            line.push('|');
            line.push_str(r.via.as_ref().map_or("", OrgSlug::as_str));
            line.push('|');
            join(&mut line, &mut r.on_behalf_of.iter().map(OrgSlug::as_str));
        }
        join(&mut line, &mut d.conditions.iter().map(AsRef::as_ref));
        for c in &p.channels {
            let _ = write!(
                line,
                "{}:{}:{:?}:{};",
                c.channel.as_str(),
                c.address.as_deref().unwrap_or(""),
                c.encrypted,
                c.usable
            );
        }
        lines.push((d.recipient.as_str(), line));
    }
    for d in denies {
        let mut line = String::with_capacity(80);
        line.push_str(d.recipient.as_str());
        line.push_str("|deny|");
        join(&mut line, &mut d.bases.iter().map(|b| b.rule.as_ref()));
        for r in &d.reasons {
            line.push_str(&r.rule.rule);
            line.push(':');
            line.push_str(r.remedy.as_ref().map_or("", |m| m.kind.as_str()));
            line.push(';');
        }
        lines.push((d.recipient.as_str(), line));
    }
    lines.sort_by(|a, b| a.0.cmp(b.0));
    let mut text = String::new();
    for (_, line) in &lines {
        text.push_str(line);
        text.push('\n');
    }
    format!("sha256:{}", crate::sha256_hex(text.as_bytes()))
}

/// What the planner needs to know besides the registry and the rulebooks.
pub struct PlanInput<'a> {
    /// The item.
    pub item_id: &'a str,
    /// Its version.
    pub version: u32,
    /// Its facts.
    pub facts: &'a ItemFacts,
    /// Its affected sectors.
    pub sectors: &'a [schakel_domain::Sector],
    /// The date.
    pub at: Date,
    /// Organisations with an active recipient token.
    pub with_token: &'a BTreeSet<OrgSlug>,
    /// Organisations with a webhook signing secret.
    pub with_webhook_secret: &'a BTreeSet<OrgSlug>,
    /// A correction or retraction goes to exactly the recipients of the version sent
    /// before: these, instead of the candidates of RULEBOOK.md "Routing".
    pub only: Option<&'a BTreeSet<OrgSlug>>,
}

/// Plans an item: every candidate decided, permits with channels, denies with reasons and
/// remedies.
pub fn make_plan(
    rulebooks: &RulebookSet,
    registry: &Registry,
    input: &PlanInput<'_>,
) -> Result<Plan, AppError> {
    let book = rulebooks.for_date(input.at).map_err(decide_error)?;
    let mut permits = Vec::new();
    let mut denies = Vec::new();
    let proposed = match input.only {
        Some(only) => only
            .iter()
            .filter(|s| registry.get(s).is_some_and(|o| !o.is_ended_on(input.at)))
            .cloned()
            .collect(),
        None => candidates(registry, input.facts, input.sectors, input.at),
    };
    for recipient in proposed {
        let request = DecisionRequest {
            at: input.at,
            recipient,
            item: input.facts.clone(),
        };
        match rulebooks
            .verdict(registry, &request)
            .map_err(decide_error)?
        {
            Verdict::Permit(permit) => {
                let Some(org) = registry.get(permit.recipient()) else {
                    continue;
                };
                let channels = channels(
                    org,
                    &permit,
                    input.facts.tlp,
                    input.with_token.contains(org.slug()),
                    input.with_webhook_secret.contains(org.slug()),
                );
                permits.push(PlannedPermit { permit, channels });
            }
            Verdict::Deny(decision) => denies.push(decision),
        }
    }
    let hash = plan_hash(&permits, &denies);
    Ok(Plan {
        item_id: input.item_id.to_owned(),
        version: input.version,
        at: input.at,
        rulebook: book.id().to_owned(),
        hash,
        needs_approval: needs_approval(input.facts),
        permits,
        denies,
    })
}

/// A permitting decision as kept with its deliveries: the rulebook and its hash, the date,
/// the route, each basis by rule id and citation, and the conditions. Explanations are in
/// the rulebook the hash names.
pub fn stored_decision(d: &Decision) -> serde_json::Value {
    json!({
        "decision": if d.permitted { "permit" } else { "deny" },
        "at": d.at.to_string(),
        "rulebook": d.rulebook.as_ref(),
        "rulebook_hash": d.rulebook_hash.as_ref(),
        "route": d.route.as_ref().map(|r| json!({
            "kind": r.kind.as_str(),
            "via": r.via.as_ref().map(OrgSlug::as_str),
            "on_behalf_of": r.on_behalf_of.iter().map(OrgSlug::as_str).collect::<Vec<_>>(),
        })),
        "bases": d.bases.iter().map(|b| json!({
            "rule": b.rule.as_ref(),
            "citation": b.citation.as_deref(),
            "citation_uncertain": b.citation_uncertain,
        })).collect::<Vec<_>>(),
        "conditions": d.conditions.iter().map(AsRef::as_ref).collect::<Vec<&str>>(),
    })
}

/// Everything [`stored_decision`] writes, as one string: equal keys, equal texts.
pub fn decision_key(d: &Decision) -> String {
    let mut key = String::with_capacity(128);
    key.push_str(if d.permitted { "permit|" } else { "deny|" });
    key.push_str(&d.at.to_string());
    key.push('|');
    key.push_str(&d.rulebook_hash);
    key.push('|');
    for b in &d.bases {
        key.push_str(&b.rule);
        key.push(',');
    }
    key.push('|');
    if let Some(r) = &d.route {
        key.push_str(r.kind.as_str());
        key.push('|');
        key.push_str(r.via.as_ref().map_or("", OrgSlug::as_str));
        key.push('|');
        for o in &r.on_behalf_of {
            key.push_str(o.as_str());
            key.push(',');
        }
    }
    key.push('|');
    for c in &d.conditions {
        key.push_str(c);
        key.push(',');
    }
    key
}
