//! The decision request and answer (`schakel decide`, `POST /api/v1/decisions`).

use jiff::Timestamp;
use schakel_domain::{
    FieldIssue, OrgSlug, Purpose, SourceRestriction, ValueError, legal_date, parse_date,
};
use schakel_rulebook::{Decision, DecisionRequest, ItemFacts, Reason, RuleRef};
use serde::{Deserialize, Serialize};

/// A decision request as written (FORMATS.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DecisionRequestRecord {
    /// A date (`YYYY-MM-DD`) or an RFC 3339 instant (turned into a date in
    /// Europe/Amsterdam); default now.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = "2025-03-01"))]
    pub at: Option<String>,
    /// The candidate recipient's slug.
    #[cfg_attr(feature = "openapi", schema(example = "z-cert"))]
    pub recipient: String,
    /// The item's facts.
    pub item: ItemFactsRecord,
}

/// The facts of an item a decision uses; everything but `tlp` has a default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ItemFactsRecord {
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
    /// Concerned organisations that consented.
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
    /// For TLP:RED: who may receive it.
    #[serde(default)]
    pub named_recipients: Vec<String>,
    /// `none` (default), `victims_only` or `no_onward_sharing`.
    #[serde(default)]
    pub source_restriction: Option<String>,
}

fn take<T>(issues: &mut Vec<FieldIssue>, field: &str, result: Result<T, ValueError>) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            issues.push(FieldIssue::new(field, e.0));
            None
        }
    }
}

fn list<T>(
    issues: &mut Vec<FieldIssue>,
    field: &str,
    values: &[String],
    parse: impl Fn(&str) -> Result<T, ValueError>,
) -> Vec<T> {
    values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| take(issues, &format!("{field}[{i}]"), parse(v)))
        .collect()
}

/// Reads `at`: a date, or an RFC 3339 instant turned into its date in Europe/Amsterdam.
pub fn parse_at(text: &str) -> Result<schakel_domain::Date, ValueError> {
    if text.len() == 10 {
        return parse_date(text);
    }
    text.parse::<Timestamp>().map(legal_date).map_err(|_| {
        ValueError::new(format!(
            "`{text}` is not a date (YYYY-MM-DD) or an RFC 3339 instant"
        ))
    })
}

impl ItemFactsRecord {
    /// Parses every field; `prefix` is prepended to field paths (such as `item.`).
    pub fn to_facts(&self, prefix: &str) -> Result<ItemFacts, Vec<FieldIssue>> {
        let mut issues = Vec::new();
        let f = |name: &str| format!("{prefix}{name}");
        let tlp = take(&mut issues, &f("tlp"), self.tlp.parse());
        let concerns = list(&mut issues, &f("concerns"), &self.concerns, OrgSlug::parse);
        let markers = list(
            &mut issues,
            &f("confidentiality_markers"),
            &self.confidentiality_markers,
            str::parse,
        );
        let consent = list(&mut issues, &f("consent"), &self.consent, OrgSlug::parse);
        let named = list(
            &mut issues,
            &f("named_recipients"),
            &self.named_recipients,
            OrgSlug::parse,
        );
        let purpose = match &self.purpose {
            None => Some(Purpose::PreventDisruption),
            Some(p) => take(&mut issues, &f("purpose"), p.parse()),
        };
        let source = match &self.source_restriction {
            None => Some(SourceRestriction::None),
            Some(s) => take(&mut issues, &f("source_restriction"), s.parse()),
        };
        match (tlp, purpose, source) {
            (Some(tlp), Some(purpose), Some(source_restriction)) if issues.is_empty() => {
                Ok(ItemFacts {
                    tlp,
                    concerns,
                    confidential: self.confidential,
                    confidentiality_markers: markers,
                    consent,
                    purpose,
                    serious: self.serious,
                    personal_data: self.personal_data,
                    national_security: self.national_security,
                    named_recipients: named,
                    source_restriction,
                })
            }
            _ => Err(issues),
        }
    }
}

impl DecisionRequestRecord {
    /// Parses the request; `now` fills a missing `at`.
    pub fn to_request(&self, now: Timestamp) -> Result<DecisionRequest, Vec<FieldIssue>> {
        let mut issues = Vec::new();
        let at = match &self.at {
            None => Some(legal_date(now)),
            Some(at) => take(&mut issues, "at", parse_at(at)),
        };
        let recipient = take(&mut issues, "recipient", OrgSlug::parse(&self.recipient));
        let item = self
            .item
            .to_facts("item.")
            .map_err(|mut e| issues.append(&mut e))
            .ok();
        match (at, recipient, item) {
            (Some(at), Some(recipient), Some(item)) if issues.is_empty() => Ok(DecisionRequest {
                at,
                recipient,
                item,
            }),
            _ => Err(issues),
        }
    }
}

/// Reads a decision request from JSON, naming the field of every problem (unknown fields
/// included).
pub fn parse_decision_request(
    value: serde_json::Value,
    now: Timestamp,
) -> Result<DecisionRequest, Vec<FieldIssue>> {
    let record: DecisionRequestRecord = crate::from_json(value)?;
    record.to_request(now)
}

/// A rule as reported (basis).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleRecord {
    /// Rule id (`W4`, `C1`, `R1`, `no_basis`…).
    pub rule: String,
    /// Legal citation (`null` for `no_basis`).
    pub citation: Option<String>,
    /// The rulebook marks the citation as resting on secondary sources, for a legal
    /// officer to confirm (never shown to recipients).
    pub citation_uncertain: bool,
    /// Explanation in English.
    pub explanation: String,
    /// Explanation in Dutch.
    pub explanation_nl: String,
}

/// The route of a permit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RouteRecord {
    /// `direct` or `via_linking_organisation`.
    pub kind: String,
    /// The linking organisation, for a `via` route.
    pub via: Option<String>,
    /// The organisations it receives for.
    pub on_behalf_of: Vec<String>,
}

impl RouteRecord {
    /// The record of a route.
    pub fn from_route(r: &schakel_rulebook::Route) -> Self {
        Self {
            kind: r.kind.as_str().to_owned(),
            via: r.via.as_ref().map(ToString::to_string),
            on_behalf_of: r.on_behalf_of.iter().map(ToString::to_string).collect(),
        }
    }
}

/// A remedy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemedyRecord {
    /// `secrecy_guarantee`, `consent`, `route_via`, `split_item`, `change_purpose`,
    /// `named_recipient` or `source_permission`.
    pub kind: String,
    /// The organisations involved.
    pub organisations: Vec<String>,
    /// What to do.
    pub text: String,
}

/// A reason of a deny.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReasonRecord {
    /// Rule id (`R1`…`R5`, `no_basis`).
    pub rule: String,
    /// Legal citation (`null` for `no_basis`).
    pub citation: Option<String>,
    /// The rulebook marks the citation as resting on secondary sources, for a legal
    /// officer to confirm (never shown to recipients).
    pub citation_uncertain: bool,
    /// Explanation in English.
    pub explanation: String,
    /// Explanation in Dutch.
    pub explanation_nl: String,
    /// A single change that would permit, or `null`.
    pub remedy: Option<RemedyRecord>,
}

/// The decision (FORMATS.md "Decision request and answer").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionRecord {
    /// The legal date decided on.
    pub at: String,
    /// The candidate recipient.
    pub recipient: String,
    /// `permit` or `deny`.
    pub decision: String,
    /// The rulebook in force on the date.
    pub rulebook: String,
    /// `sha256:` of the rulebook's text.
    pub rulebook_hash: String,
    /// The route (`null` on a deny).
    pub route: Option<RouteRecord>,
    /// Every permitting rule that applies (also on a deny).
    pub bases: Vec<RuleRecord>,
    /// Conditions travelling with the delivery.
    pub conditions: Vec<String>,
    /// Every reason of a deny.
    pub reasons: Vec<ReasonRecord>,
}

pub(crate) fn rule_record(r: &RuleRef) -> RuleRecord {
    RuleRecord {
        rule: r.rule.to_string(),
        citation: r.citation.as_deref().map(str::to_owned),
        citation_uncertain: r.citation_uncertain,
        explanation: r.explanation.to_string(),
        explanation_nl: r.explanation_nl.to_string(),
    }
}

pub(crate) fn reason_record(r: &Reason) -> ReasonRecord {
    ReasonRecord {
        rule: r.rule.rule.to_string(),
        citation: r.rule.citation.as_deref().map(str::to_owned),
        citation_uncertain: r.rule.citation_uncertain,
        explanation: r.rule.explanation.to_string(),
        explanation_nl: r.rule.explanation_nl.to_string(),
        remedy: r.remedy.as_ref().map(|m| RemedyRecord {
            kind: m.kind.as_str().to_owned(),
            organisations: m.organisations.iter().map(ToString::to_string).collect(),
            text: m.text.clone(),
        }),
    }
}

impl DecisionRecord {
    /// The answer for a decision.
    pub fn from_decision(d: &Decision) -> Self {
        Self {
            at: d.at.to_string(),
            recipient: d.recipient.to_string(),
            decision: if d.permitted { "permit" } else { "deny" }.to_owned(),
            rulebook: d.rulebook.to_string(),
            rulebook_hash: d.rulebook_hash.to_string(),
            route: d.route.as_ref().map(RouteRecord::from_route),
            bases: d.bases.iter().map(rule_record).collect(),
            conditions: d.conditions.iter().map(ToString::to_string).collect(),
            reasons: d.reasons.iter().map(reason_record).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<DecisionRequest, String> {
        let record: DecisionRequestRecord =
            serde_json::from_str(json).map_err(|e| e.to_string())?;
        record
            .to_request("2026-11-22T10:00:00Z".parse().map_err(|_| "now")?)
            .map_err(|issues| {
                issues
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
    }

    #[test]
    fn the_example_of_formats_md_parses_with_defaults() -> Result<(), String> {
        let r = parse(
            r#"{"at": "2025-03-01", "recipient": "z-cert", "item": {"tlp": "AMBER", "concerns": ["hospital-south"]}}"#,
        )?;
        assert_eq!(r.at.to_string(), "2025-03-01");
        assert_eq!(r.item.purpose, Purpose::PreventDisruption);
        let r = parse(r#"{"recipient": "z-cert", "item": {"tlp": "RED"}}"#)?;
        assert_eq!(r.at.to_string(), "2026-11-22");
        // An instant late on 14 Aug UTC is already 15 Aug in Amsterdam.
        let r = parse(
            r#"{"at": "2026-08-14T22:30:00Z", "recipient": "z-cert", "item": {"tlp": "RED"}}"#,
        )?;
        assert_eq!(r.at.to_string(), "2026-08-15");
        Ok(())
    }

    #[test]
    fn every_bad_field_is_named() {
        let e = parse(r#"{"at": "2025-13-01", "recipient": "Z", "item": {"tlp": "WHITE", "purpose": "fun", "concerns": ["ok", "Not Ok"]}}"#)
            .err()
            .unwrap_or_default();
        for field in [
            "at:",
            "recipient:",
            "item.tlp:",
            "item.concerns[1]:",
            "item.purpose:",
        ] {
            assert!(e.contains(field), "{field} missing in {e}");
        }
        let e = parse(r#"{"recipient": "z", "item": {"tlp": "RED", "secret": true}}"#)
            .err()
            .unwrap_or_default();
        assert!(e.contains("unknown field `secret`"), "{e}");
    }
}
