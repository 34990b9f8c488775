//! Items (FORMATS.md "Item"): what an analyst writes, and the distribution plan schakel
//! answers with.

use schakel_domain::{Cve, FieldIssue, ItemKind, Sector, SectorVocabulary, ValueError};
use schakel_rulebook::ItemFacts;
use serde::{Deserialize, Serialize};

use crate::decision::{
    ItemFactsRecord, ReasonRecord, RouteRecord, RuleRecord, reason_record, rule_record,
};

/// Longest title accepted, in characters.
pub const MAX_TITLE: usize = 300;
/// Largest body accepted, in bytes.
pub const MAX_BODY: usize = 1 << 20;

/// An item as written. `kind`, `title` and `tlp` are required; everything else has the
/// default of the decision request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ItemRecord {
    /// `threat`, `vulnerability`, `incident`, `indicators`, `advisory` or `escalation`.
    #[cfg_attr(feature = "openapi", schema(example = "vulnerability"))]
    pub kind: String,
    /// One line for the recipients.
    pub title: String,
    /// Markdown text for the recipients.
    #[serde(default)]
    pub body: String,
    /// `CLEAR`, `GREEN`, `AMBER`, `AMBER+STRICT` or `RED`.
    #[cfg_attr(feature = "openapi", schema(example = "AMBER"))]
    pub tlp: String,
    /// Slugs of the organisations the item can be traced to.
    #[serde(default)]
    pub concerns: Vec<String>,
    /// Marked confidential (for example supplied in confidence).
    #[serde(default)]
    pub confidential: bool,
    /// Any of `undisclosed_vulnerability`, `specific_systems`, `agreements`.
    #[serde(default)]
    pub confidentiality_markers: Vec<String>,
    /// Concerned organisations that consented to sharing.
    #[serde(default)]
    pub consent: Vec<String>,
    /// `prevent_disruption` (default), `escalation` or `other`.
    #[serde(default)]
    pub purpose: Option<String>,
    /// Potentially significant consequences for the continuity of a service.
    #[serde(default)]
    pub serious: bool,
    /// Holds personal data.
    #[serde(default)]
    pub personal_data: bool,
    /// Touches national security.
    #[serde(default)]
    pub national_security: bool,
    /// Recipients the analyst names; for TLP:RED the only ones who may receive it.
    #[serde(default)]
    pub named_recipients: Vec<String>,
    /// `none` (default), `victims_only` or `no_onward_sharing`.
    #[serde(default)]
    pub source_restriction: Option<String>,
    /// Where the information came from (for the centre; not sent).
    #[serde(default)]
    pub source: Option<String>,
    /// CVE ids.
    #[serde(default)]
    pub cves: Vec<String>,
    /// Indicators of compromise, as text.
    #[serde(default)]
    pub indicators: Vec<String>,
    /// The sectors it affects (for items that concern no organisation: who should know).
    #[serde(default)]
    pub sectors: Vec<String>,
}

/// An item, every field parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedItem {
    /// What it is.
    pub kind: ItemKind,
    /// Its title.
    pub title: String,
    /// Its Markdown body.
    pub body: String,
    /// Its source.
    pub source: Option<String>,
    /// CVE ids.
    pub cves: Vec<Cve>,
    /// Indicators.
    pub indicators: Vec<String>,
    /// Affected sectors.
    pub sectors: Vec<Sector>,
    /// What the rulebook decides on.
    pub facts: ItemFacts,
}

fn take<T>(issues: &mut Vec<FieldIssue>, field: &str, result: Result<T, ValueError>) -> Option<T> {
    result
        .map_err(|e| issues.push(FieldIssue::new(field, e.0)))
        .ok()
}

impl ItemRecord {
    /// The facts part, as in a decision request.
    fn facts_record(&self) -> ItemFactsRecord {
        ItemFactsRecord {
            tlp: self.tlp.clone(),
            concerns: self.concerns.clone(),
            confidential: self.confidential,
            confidentiality_markers: self.confidentiality_markers.clone(),
            consent: self.consent.clone(),
            purpose: self.purpose.clone(),
            serious: self.serious,
            personal_data: self.personal_data,
            national_security: self.national_security,
            named_recipients: self.named_recipients.clone(),
            source_restriction: self.source_restriction.clone(),
        }
    }

    /// Parses every field, reporting every problem with its field.
    pub fn parse(&self, vocabulary: &SectorVocabulary) -> Result<ParsedItem, Vec<FieldIssue>> {
        let mut issues = Vec::new();
        let kind = take(&mut issues, "kind", self.kind.parse());
        let title = self.title.trim();
        if title.is_empty() {
            issues.push(FieldIssue::new("title", "must not be empty"));
        } else if title.chars().count() > MAX_TITLE {
            issues.push(FieldIssue::new(
                "title",
                format!("longer than {MAX_TITLE} characters"),
            ));
        } else if title.contains(['\n', '\r']) {
            issues.push(FieldIssue::new("title", "must be one line"));
        }
        if self.body.len() > MAX_BODY {
            issues.push(FieldIssue::new(
                "body",
                format!("larger than {MAX_BODY} bytes"),
            ));
        }
        let cves: Vec<Cve> = self
            .cves
            .iter()
            .enumerate()
            .filter_map(|(i, c)| take(&mut issues, &format!("cves[{i}]"), Cve::parse(c)))
            .collect();
        let sectors: Vec<Sector> = self
            .sectors
            .iter()
            .enumerate()
            .filter_map(|(i, s)| take(&mut issues, &format!("sectors[{i}]"), vocabulary.parse(s)))
            .collect();
        for (i, indicator) in self.indicators.iter().enumerate() {
            if indicator.trim().is_empty() {
                issues.push(FieldIssue::new(
                    format!("indicators[{i}]"),
                    "must not be empty",
                ));
            }
        }
        let facts = self
            .facts_record()
            .to_facts("")
            .map_err(|mut e| issues.append(&mut e))
            .ok();
        match (kind, facts) {
            (Some(kind), Some(facts)) if issues.is_empty() => Ok(ParsedItem {
                kind,
                title: title.to_owned(),
                body: self.body.clone(),
                source: self.source.clone().filter(|s| !s.trim().is_empty()),
                cves,
                indicators: self.indicators.clone(),
                sectors,
                facts,
            }),
            _ => Err(issues),
        }
    }

    /// The record of a parsed item, every default written out (as stored and shown).
    pub fn from_item(item: &ParsedItem) -> Self {
        let f = &item.facts;
        let slugs = |v: &[schakel_domain::OrgSlug]| v.iter().map(ToString::to_string).collect();
        Self {
            kind: item.kind.as_str().to_owned(),
            title: item.title.clone(),
            body: item.body.clone(),
            tlp: f.tlp.as_str().to_owned(),
            concerns: slugs(&f.concerns),
            confidential: f.confidential,
            confidentiality_markers: f
                .confidentiality_markers
                .iter()
                .map(|m| m.as_str().to_owned())
                .collect(),
            consent: slugs(&f.consent),
            purpose: Some(f.purpose.as_str().to_owned()),
            serious: f.serious,
            personal_data: f.personal_data,
            national_security: f.national_security,
            named_recipients: slugs(&f.named_recipients),
            source_restriction: Some(f.source_restriction.as_str().to_owned()),
            source: item.source.clone(),
            cves: item.cves.iter().map(ToString::to_string).collect(),
            indicators: item.indicators.clone(),
            sectors: item.sectors.iter().map(ToString::to_string).collect(),
        }
    }
}

/// Reads an item from JSON, naming the field of every problem (unknown fields included).
pub fn parse_item(
    value: serde_json::Value,
    vocabulary: &SectorVocabulary,
) -> Result<ParsedItem, Vec<FieldIssue>> {
    let record: ItemRecord = crate::from_json(value)?;
    record.parse(vocabulary)
}

/// An item as answered: its id, version, state and who made it, then the item itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ItemAnswer {
    /// `itm_…`.
    pub id: String,
    /// The current version, from 1 (a correction makes a new one).
    pub version: u32,
    /// `draft`, `awaiting_approval`, `approved`, `sent` or `retracted`.
    pub status: String,
    /// Whether sending needs a second person's approval (four eyes).
    pub needs_approval: bool,
    /// The person who created it.
    pub created_by: String,
    /// When (RFC 3339, UTC).
    pub created_at: String,
    /// When the current version was made.
    pub updated_at: String,
    /// The item.
    #[serde(flatten)]
    pub item: ItemRecord,
}

/// A way a delivery reaches its recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelRecord {
    /// `inbox`, `email` or `webhook`.
    pub channel: String,
    /// The address: an email address or a webhook URL (`null` for the inbox).
    pub address: Option<String>,
    /// Email only: encrypted to the contact's OpenPGP key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<bool>,
    /// Whether anything will go out this way.
    pub usable: bool,
    /// Why not, or what to know.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A permitted recipient in a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanPermitRecord {
    /// The recipient's slug.
    pub recipient: String,
    /// How it travels.
    pub route: Option<RouteRecord>,
    /// The bases.
    pub bases: Vec<RuleRecord>,
    /// Conditions of use.
    pub conditions: Vec<String>,
    /// The channels that will carry it.
    pub channels: Vec<ChannelRecord>,
    /// False when no channel is usable: the delivery is held until a contact or token
    /// exists.
    pub reachable: bool,
}

/// A denied candidate in a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanDenyRecord {
    /// The candidate's slug.
    pub recipient: String,
    /// Bases that apply (a deny may have some).
    pub bases: Vec<RuleRecord>,
    /// Why not, each with a remedy where one change would permit.
    pub reasons: Vec<ReasonRecord>,
}

/// A distribution plan (FORMATS.md: `GET /api/v1/items/{id}/plan`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanRecord {
    /// The item's id.
    pub item: String,
    /// Its version.
    pub version: u32,
    /// The legal date decided on.
    pub at: String,
    /// The rulebook in force.
    pub rulebook: String,
    /// `sha256:` over every recipient's decision, bases, reasons, route, conditions and
    /// channels (not the date or the rulebook hash).
    pub plan_hash: String,
    /// Sending needs a second person's approval of exactly this plan.
    pub needs_approval: bool,
    /// Permitted recipients.
    pub permits: Vec<PlanPermitRecord>,
    /// Denied candidates.
    pub denies: Vec<PlanDenyRecord>,
}

impl PlanDenyRecord {
    /// The record of a deny.
    pub fn from_decision(d: &schakel_rulebook::Decision) -> Self {
        Self {
            recipient: d.recipient.to_string(),
            bases: d.bases.iter().map(rule_record).collect(),
            reasons: d.reasons.iter().map(reason_record).collect(),
        }
    }
}

impl PlanPermitRecord {
    /// The record of a permit with its channels.
    pub fn from_permit(p: &schakel_rulebook::Permit, channels: Vec<ChannelRecord>) -> Self {
        let d = p.decision();
        Self {
            recipient: d.recipient.to_string(),
            route: d.route.as_ref().map(RouteRecord::from_route),
            bases: d.bases.iter().map(rule_record).collect(),
            conditions: d.conditions.iter().map(ToString::to_string).collect(),
            reachable: channels.iter().any(|c| c.usable),
            channels,
        }
    }
}

/// A forwarding confirmation, as answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForwardedRecord {
    /// The member the linking organisation passed the item to.
    pub member: String,
    /// When it confirmed.
    pub confirmed_at: String,
}

/// What a recipient sees of one delivery in its inbox: the item as sent, minus everything
/// about other organisations and the centre's sources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboxEntryRecord {
    /// The delivery's id (`dlv_…`), for acknowledging.
    pub id: String,
    /// The item's id.
    pub item: String,
    /// The item's version.
    pub version: u32,
    /// Its kind.
    pub kind: String,
    /// Its title.
    pub title: String,
    /// Its Markdown body.
    pub body: String,
    /// TLP: binds the recipient.
    pub tlp: String,
    /// CVE ids.
    pub cves: Vec<String>,
    /// Indicators.
    pub indicators: Vec<String>,
    /// Affected sectors.
    pub sectors: Vec<String>,
    /// The item concerns the recipient itself.
    pub concerns_you: bool,
    /// The organisations the recipient received it for (a linking organisation's members).
    pub on_behalf_of: Vec<String>,
    /// The legal bases of the centre's provision.
    pub bases: Vec<serde_json::Value>,
    /// Conditions of use that bind the recipient.
    pub conditions: Vec<String>,
    /// When it was delivered (RFC 3339).
    pub delivered_at: Option<String>,
    /// When the recipient acknowledged it.
    pub acknowledged_at: Option<String>,
    /// Forwarding confirmations so far.
    pub forwarded: Vec<ForwardedRecord>,
}

/// An item on the legal officer's review list, with the denies of its plan today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewRecord {
    /// The item's id.
    pub item: String,
    /// Its current version.
    pub version: u32,
    /// Its title.
    pub title: String,
    /// Where it stands.
    pub status: String,
    /// Its TLP.
    pub tlp: String,
    /// Who created it.
    pub created_by: String,
    /// Every denied candidate, with reasons and remedies.
    pub denies: Vec<PlanDenyRecord>,
}

/// An item in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ItemSummaryRecord {
    /// `itm_…`.
    pub id: String,
    /// Current version.
    pub version: u32,
    /// Where it stands.
    pub status: String,
    /// Its kind.
    pub kind: String,
    /// Its title.
    pub title: String,
    /// Its TLP.
    pub tlp: String,
    /// Who created it.
    pub created_by: String,
    /// When (RFC 3339).
    pub created_at: String,
}

/// A delivery in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryRecord {
    /// `dlv_…`: the stable id every attempt carries.
    pub id: String,
    /// The item.
    pub item: String,
    /// The item's version.
    pub version: u32,
    /// The recipient.
    pub recipient: String,
    /// `inbox`, `email` or `webhook`.
    pub channel: String,
    /// Email address or webhook URL.
    pub address: Option<String>,
    /// `pending`, `delivered`, `held` or `dead`.
    pub state: String,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_attempt_at: Option<String>,
    /// The last failure, or why it is held.
    pub last_error: Option<String>,
    /// When it was enqueued.
    pub created_at: String,
    /// When it arrived.
    pub delivered_at: Option<String>,
    /// When the recipient acknowledged it.
    pub acknowledged_at: Option<String>,
}

/// A delivery just enqueued by sending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SentDeliveryRecord {
    /// `dlv_…`.
    pub id: String,
    /// The recipient.
    pub recipient: String,
    /// `inbox`, `email` or `webhook`.
    pub channel: String,
    /// The first state: `delivered` (inbox) or `pending`.
    pub state: String,
}

/// What sending did: the plan sent and the deliveries enqueued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SendRecord {
    /// The plan that was sent.
    pub plan: PlanRecord,
    /// The deliveries enqueued.
    pub deliveries: Vec<SentDeliveryRecord>,
}
