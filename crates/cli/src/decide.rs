//! `schakel decide`: decisions in plain sentences for a duty officer,
//! JSON for programs.

use std::path::Path;

use schakel_app::App;
use schakel_domain::{OrgSlug, Principal, Registry};
use schakel_formats::decision::DecisionRecord;
use schakel_rulebook::{Decision, RouteKind, RuleKind};

use crate::commands::{CliError, read_input};
use crate::output::{json, out};

/// Decides a request from a file or standard input.
pub(crate) fn decide(
    app: &App,
    me: &Principal,
    file: Option<&Path>,
    as_json: bool,
) -> Result<(), CliError> {
    let bytes = read_input(file.unwrap_or(Path::new("-")))?;
    let value = schakel_formats::json::from_slice(&bytes)
        .map_err(|e| CliError::user(format!("the decision request is not valid JSON: {e}")))?;
    let decision = app.decide_json(me, value)?;
    if as_json {
        json(&DecisionRecord::from_decision(&decision))
    } else {
        out(&sentences(app, &decision)?)
    }
}

/// `Name (slug)` from the registry, or the slug alone.
fn name(registry: &Registry, slug: &OrgSlug) -> String {
    registry
        .get(slug)
        .map_or_else(|| slug.to_string(), |o| format!("{} ({slug})", o.name()))
}

/// The decision as a duty officer reads it.
fn sentences(app: &App, d: &Decision) -> Result<String, CliError> {
    let registry = app.registry()?;
    let recipient = name(&registry, &d.recipient);
    let mut t = if d.permitted {
        format!(
            "PERMIT: the centre may provide this item to {recipient} on {}.\n",
            d.at
        )
    } else {
        format!(
            "DENY: the centre may not provide this item to {recipient} on {}.\n",
            d.at
        )
    };
    t.push_str(&format!("Rulebook {} ({}).\n", d.rulebook, d.rulebook_hash));
    if let Some(route) = &d.route {
        match route.kind {
            RouteKind::Direct => t.push_str("Route: directly to the recipient, for itself.\n"),
            RouteKind::ViaLinkingOrganisation => {
                let on_behalf: Vec<String> = route
                    .on_behalf_of
                    .iter()
                    .map(|s| name(&registry, s))
                    .collect();
                t.push_str(&format!(
                    "Route: to {recipient} as linking organisation, on behalf of {}.\n",
                    on_behalf.join(", ")
                ));
            }
        }
    }
    if !d.bases.is_empty() {
        t.push_str(if d.permitted {
            "Legal basis:\n"
        } else {
            "Rules that would have permitted it:\n"
        });
        for b in &d.bases {
            t.push_str(&format!(
                "  {} ({}): {}\n",
                b.rule,
                cited(b.citation.as_deref().unwrap_or("-"), b.citation_uncertain),
                b.explanation
            ));
        }
    }
    if !d.conditions.is_empty() {
        t.push_str("Conditions of use:\n");
        let book = app
            .rulebooks()
            .rulebooks()
            .iter()
            .find(|b| b.id() == &*d.rulebook);
        for c in &d.conditions {
            let text = book
                .and_then(|b| {
                    b.rules()
                        .iter()
                        .find(|r| r.kind == RuleKind::Condition && &r.policy_id == c)
                })
                .map(|r| &*r.explanation)
                .unwrap_or("");
            t.push_str(&format!("  {c}: {text}\n"));
        }
    }
    if !d.reasons.is_empty() {
        t.push_str("Why not:\n");
        for r in &d.reasons {
            match &r.rule.citation {
                Some(c) => t.push_str(&format!(
                    "  {} ({}): {}\n",
                    r.rule.rule,
                    cited(c, r.rule.citation_uncertain),
                    r.rule.explanation
                )),
                None => t.push_str(&format!("  {}: {}\n", r.rule.rule, r.rule.explanation)),
            }
            match &r.remedy {
                Some(m) => t.push_str(&format!("    What would permit it: {}.\n", m.text)),
                None => t.push_str("    No single change would permit it.\n"),
            }
        }
    }
    Ok(t)
}

/// A citation as staff read it: one the rulebook marks as resting on secondary sources says
/// so, for a legal officer to confirm.
pub(crate) fn cited(citation: &str, uncertain: bool) -> String {
    if uncertain {
        format!("{citation} [unconfirmed]")
    } else {
        citation.to_owned()
    }
}
