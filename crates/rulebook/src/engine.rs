//! Loading, validating and evaluating rulebooks (Cedar policy sets).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use cedar_policy::{
    Authorizer, Context, Effect, Entities, EntityUid, PolicyId, PolicySet, Request, Schema,
    ValidationMode, Validator,
};
use schakel_domain::{Date, OrgSlug, Registry};
use sha2::{Digest, Sha256};

use crate::facts::{self, Facts, Relation};
use crate::{
    DecideError, Decision, DecisionRequest, Permit, Reason, RemedyKind, Route, RouteKind, RuleRef,
    RulebookError, Verdict,
};

/// The dates rulebooks take effect. The Cbw's start is a setting; the Wbni ends the day
/// before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectiveDates {
    /// Wbni in force (first rulebook).
    pub wbni_2018: Date,
    /// Wbni amendment (linking organisations, special cases).
    pub wbni_2022: Date,
    /// Cyberbeveiligingswet in force.
    pub cbw: Date,
}

impl Default for EffectiveDates {
    fn default() -> Self {
        Self {
            wbni_2018: Date::constant(2018, 11, 9),
            wbni_2022: Date::constant(2022, 12, 1),
            cbw: Date::constant(2026, 8, 15),
        }
    }
}

/// One rulebook's text and the first day it is in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulebookSource {
    /// Its id, such as `wbni-2022`.
    pub id: String,
    /// Where the text came from (for error messages).
    pub file: String,
    /// The Cedar policies.
    pub text: String,
    /// First day in force.
    pub from: Date,
}

/// What a policy is for (its `@kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleKind {
    /// A fact defined from other facts.
    Definition,
    /// A permitting rule: a legal basis.
    Basis,
    /// A restriction: denies whatever permits.
    Restriction,
    /// A condition travelling with a permitted delivery.
    Condition,
}

impl RuleKind {
    /// The annotation value.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Definition => "definition",
            RuleKind::Basis => "basis",
            RuleKind::Restriction => "restriction",
            RuleKind::Condition => "condition",
        }
    }
}

/// A policy of a rulebook with its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    /// The policy's `@id` (unique in the rulebook).
    pub policy_id: Arc<str>,
    /// The rule it belongs to (`@rule`, default `@id`), as reported in decisions.
    pub rule: Arc<str>,
    /// Its kind.
    pub kind: RuleKind,
    /// For bases: it routes via the recipient (a linking organisation) when others are concerned.
    pub via: bool,
    /// Legal citation, without the authors' doubt marker `(?)`.
    pub citation: Option<Arc<str>>,
    /// The citation rests on secondary sources (the rulebook marks it `(?)`): a legal
    /// officer should confirm it. Staff and legal views show it; recipients never see it.
    pub citation_uncertain: bool,
    /// Explanation in English.
    pub explanation: Arc<str>,
    /// Explanation in Dutch.
    pub explanation_nl: Arc<str>,
    /// For restrictions: the remedies that may lift it, tried in order.
    pub remedies: Vec<RemedyKind>,
    /// Line of its `@id` in the file.
    pub line: Option<usize>,
}

impl RuleInfo {
    pub(crate) fn reference(&self) -> RuleRef {
        RuleRef {
            rule: Arc::clone(&self.rule),
            citation: self.citation.clone(),
            citation_uncertain: self.citation_uncertain,
            explanation: Arc::clone(&self.explanation),
            explanation_nl: Arc::clone(&self.explanation_nl),
        }
    }
}

/// A citation as its authors wrote it, split into the citation and whether they marked it
/// `(?)` (resting on secondary sources). The marker may stand anywhere, once or more often
/// (`Cbw art. 30 (?); NIS2 art. 23`); the text is returned without it.
pub fn split_citation(text: &str) -> (String, bool) {
    if !text.contains("(?)") {
        return (text.trim().to_owned(), false);
    }
    let clean = text
        .split("(?)")
        .map(str::trim_end)
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (clean, true)
}

const STAGES: usize = 3;
const ANNOTATIONS: &[&str] = &[
    "id",
    "rule",
    "kind",
    "stage",
    "route",
    "citation",
    "explanation",
    "explanation_nl",
    "remedy",
];

/// The result of evaluating a rulebook over one set of facts (indexes into its rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub bases: Vec<usize>,
    pub via: bool,
    pub reasons: Vec<usize>,
    pub conditions: Vec<usize>,
}

impl Outcome {
    pub(crate) fn permitted(&self) -> bool {
        !self.bases.is_empty() && self.reasons.is_empty()
    }
}

/// A loaded, validated rulebook.
pub struct Rulebook {
    id: Arc<str>,
    file: String,
    from: Date,
    until: Option<Date>,
    hash: Arc<str>,
    rules: Vec<RuleInfo>,
    pub(crate) definitions: PolicySet,
    pub(crate) stages: Vec<PolicySet>,
    pub(crate) restrictions: PolicySet,
    pub(crate) conditions: PolicySet,
    pub(crate) schema: Arc<Schema>,
    pub(crate) principal: EntityUid,
    pub(crate) action: EntityUid,
    pub(crate) resource: EntityUid,
    pub(crate) authorizer: Authorizer,
    index: HashMap<String, usize>,
    no_basis_en: Arc<str>,
    no_basis_nl: Arc<str>,
    cache: Mutex<foldhash::HashMap<Facts, Arc<Outcome>>>,
}

impl std::fmt::Debug for Rulebook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rulebook")
            .field("id", &self.id)
            .field("from", &self.from)
            .field("until", &self.until)
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len()))
        .map_or(1, |head| head.matches('\n').count() + 1)
}

fn first_offset(diagnostic: &dyn miette::Diagnostic) -> Option<usize> {
    diagnostic
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|l| l.offset())
        .or_else(|| {
            diagnostic
                .related()
                .and_then(|mut related| related.next())
                .and_then(first_offset)
        })
}

fn error(file: &str, line: Option<usize>, reason: impl Into<String>) -> RulebookError {
    RulebookError {
        file: file.to_owned(),
        line,
        reason: reason.into(),
    }
}

/// The hash recorded with every decision: SHA-256 over the schema and the policies.
fn rulebook_hash(schema_text: &str, policy_text: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(schema_text.as_bytes());
    hasher.update(b"\n\0\n");
    hasher.update(policy_text.as_bytes());
    let digest = hasher.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Parses the schema every rulebook is validated against.
fn parse_schema(file: &str, text: &str) -> Result<Schema, RulebookError> {
    Schema::from_cedarschema_str(text)
        .map(|(schema, _warnings)| schema)
        .map_err(|e| {
            let line = first_offset(&e).map(|o| line_of(text, o));
            error(file, line, format!("invalid schema: {e}"))
        })
}

fn uid(text: &str) -> Result<EntityUid, RulebookError> {
    EntityUid::from_str(text).map_err(|e| error("(built in)", None, e.to_string()))
}

impl Rulebook {
    fn load(
        schema: Arc<Schema>,
        schema_text: &str,
        source: &RulebookSource,
        until: Option<Date>,
    ) -> Result<Self, RulebookError> {
        let file = source.file.as_str();
        let text = source.text.as_str();
        let parsed = PolicySet::from_str(text).map_err(|e| {
            let line = first_offset(&e).map(|o| line_of(text, o));
            error(file, line, format!("not a valid Cedar policy file: {e}"))
        })?;
        let validation =
            Validator::new((*schema).clone()).validate(&parsed, ValidationMode::Strict);
        if let Some(e) = validation.validation_errors().next() {
            let line = first_offset(e).map(|o| line_of(text, o));
            return Err(error(file, line, format!("does not fit the schema: {e}")));
        }
        // Cedar names policies `policy0`, `policy1`… in file order; keep that order.
        let mut policies: Vec<_> = parsed.policies().cloned().collect();
        policies.sort_by_key(|p| {
            AsRef::<str>::as_ref(p.id())
                .trim_start_matches("policy")
                .parse::<usize>()
                .unwrap_or(usize::MAX)
        });

        let mut rules = Vec::new();
        let mut index = HashMap::new();
        let mut definitions = PolicySet::new();
        let mut stages: Vec<PolicySet> = (0..STAGES).map(|_| PolicySet::new()).collect();
        let mut restrictions = PolicySet::new();
        let mut conditions = PolicySet::new();
        for (n, policy) in policies.iter().enumerate() {
            let id = policy.annotation("id").map(str::to_owned);
            let line = id
                .as_ref()
                .and_then(|id| text.find(&format!("@id(\"{id}\")")))
                .map(|o| line_of(text, o));
            let at = |reason: String| error(file, line, reason);
            let id = id.ok_or_else(|| at(format!("policy {} has no @id", n + 1)))?;
            if let Some((key, _)) = policy.annotations().find(|(k, _)| !ANNOTATIONS.contains(k)) {
                return Err(at(format!(
                    "`{id}` has an unknown annotation @{key} (known: {})",
                    ANNOTATIONS.join(", ")
                )));
            }
            let kind = match policy.annotation("kind") {
                Some("definition") => RuleKind::Definition,
                Some("basis") => RuleKind::Basis,
                Some("restriction") => RuleKind::Restriction,
                Some("condition") => RuleKind::Condition,
                Some(other) => {
                    return Err(at(format!(
                        "`{id}` has @kind(\"{other}\"); use definition, basis, restriction or condition"
                    )));
                }
                None => return Err(at(format!("`{id}` has no @kind"))),
            };
            let expected = if kind == RuleKind::Restriction {
                Effect::Forbid
            } else {
                Effect::Permit
            };
            if policy.effect() != expected {
                return Err(at(format!(
                    "`{id}` is a {} and must be written as `{}`",
                    kind.as_str(),
                    if expected == Effect::Forbid {
                        "forbid"
                    } else {
                        "permit"
                    }
                )));
            }
            let explanation = policy
                .annotation("explanation")
                .ok_or_else(|| at(format!("`{id}` has no @explanation")))?;
            let explanation_nl = policy
                .annotation("explanation_nl")
                .ok_or_else(|| at(format!("`{id}` has no @explanation_nl (Dutch)")))?;
            let (citation, citation_uncertain) = match policy.annotation("citation") {
                Some(text) => {
                    let (clean, uncertain) = split_citation(text);
                    if clean.is_empty() {
                        return Err(at(format!("`{id}` has an empty @citation")));
                    }
                    (Some(clean), uncertain)
                }
                None => (None, false),
            };
            if matches!(kind, RuleKind::Basis | RuleKind::Restriction) && citation.is_none() {
                return Err(at(format!(
                    "`{id}` is a {} and needs a @citation",
                    kind.as_str()
                )));
            }
            let stage = match (kind, policy.annotation("stage")) {
                (_, None) => 1,
                (RuleKind::Basis, Some(s)) => match s.parse::<u8>() {
                    Ok(n) if (1..=3).contains(&n) => n,
                    _ => return Err(at(format!("`{id}` has @stage(\"{s}\"); use 1, 2 or 3"))),
                },
                (_, Some(_)) => return Err(at(format!("`{id}`: only a basis has a @stage"))),
            };
            let via = match (kind, policy.annotation("route")) {
                (_, None) => false,
                (RuleKind::Basis, Some("via_linking_organisation")) => true,
                (_, Some(r)) => {
                    return Err(at(format!(
                        "`{id}` has @route(\"{r}\"); only a basis may have @route(\"via_linking_organisation\")"
                    )));
                }
            };
            let remedies = match (kind, policy.annotation("remedy")) {
                (_, None) => vec![],
                (RuleKind::Restriction, Some(list)) => list
                    .split_whitespace()
                    .map(|r| {
                        RemedyKind::parse(r).ok_or_else(|| {
                            at(format!(
                                "`{id}` names an unknown remedy `{r}` (known: {})",
                                RemedyKind::ALL.map(RemedyKind::as_str).join(", ")
                            ))
                        })
                    })
                    .collect::<Result<_, _>>()?,
                (_, Some(_)) => {
                    return Err(at(format!("`{id}`: only a restriction has a @remedy")));
                }
            };
            let rule = policy.annotation("rule").unwrap_or(&id).to_owned();
            if index.contains_key(&id) {
                return Err(at(format!("the @id `{id}` is used twice")));
            }
            let keyed = policy.new_id(PolicyId::new(&id));
            let target = match kind {
                RuleKind::Definition => &mut definitions,
                RuleKind::Basis => stages
                    .get_mut(usize::from(stage - 1))
                    .ok_or_else(|| at(format!("`{id}`: no stage {stage}")))?,
                RuleKind::Restriction => &mut restrictions,
                RuleKind::Condition => &mut conditions,
            };
            target
                .add(keyed)
                .map_err(|e| at(format!("`{id}` cannot be added: {e}")))?;
            index.insert(id.clone(), rules.len());
            rules.push(RuleInfo {
                policy_id: Arc::from(id),
                rule: Arc::from(rule),
                kind,
                via,
                citation: citation.map(Arc::from),
                citation_uncertain,
                explanation: Arc::from(explanation),
                explanation_nl: Arc::from(explanation_nl),
                remedies,
                line,
            });
        }
        if !rules.iter().any(|r| r.kind == RuleKind::Basis) {
            return Err(error(
                file,
                None,
                "the rulebook has no permitting rule (@kind(\"basis\"))",
            ));
        }
        Ok(Self {
            id: Arc::from(source.id.as_str()),
            file: file.to_owned(),
            from: source.from,
            until,
            hash: Arc::from(rulebook_hash(schema_text, text)),
            rules,
            definitions,
            stages,
            restrictions,
            conditions,
            schema,
            principal: uid(r#"Centre::"centre""#)?,
            action: uid(r#"Action::"provide""#)?,
            resource: uid(r#"Recipient::"recipient""#)?,
            authorizer: Authorizer::new(),
            index,
            no_basis_en: Arc::from(format!(
                "No permitting rule of rulebook `{}` applies to this recipient for this item.",
                source.id
            )),
            no_basis_nl: Arc::from(format!(
                "Geen enkele grondslag van regelboek `{}` is van toepassing op deze ontvanger voor dit item.",
                source.id
            )),
            cache: Mutex::new(foldhash::HashMap::default()),
        })
    }

    /// Its id, such as `wbni-2022`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The file it was read from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// First day in force.
    pub fn from(&self) -> Date {
        self.from
    }

    /// Last day in force, `None` when it is the latest.
    pub fn until(&self) -> Option<Date> {
        self.until
    }

    /// `sha256:` hash of its text and the schema.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// Its rules in file order.
    pub fn rules(&self) -> &[RuleInfo] {
        &self.rules
    }

    fn engine_error(&self, reason: impl Into<String>) -> DecideError {
        DecideError::Engine {
            rulebook: self.id.to_string(),
            reason: reason.into(),
        }
    }

    fn context(
        &self,
        f: &Facts,
        derived: &[&str],
        bases: &[&str],
        route: RouteKind,
    ) -> Result<Context, DecideError> {
        let statuses: Vec<&str> = f.statuses.iter().map(|s| s.as_str()).collect();
        let json = serde_json::json!({
            "recipient": {
                "statuses": statuses,
                "eu": f.eu,
                "secrecy": f.secrecy,
                "served": f.served,
                "former_target_group": f.former_target_group,
                "oversees_concerned": f.oversees_concerned,
                "serves_others": f.serves_others,
                "concerned": f.concerned,
                "named": f.named,
            },
            "item": {
                "tlp": f.tlp.as_str(),
                "confidential": f.confidential,
                "markers": f.markers,
                "concerns_any": f.concerns_any,
                "concerns_only_recipient": f.concerns_only_recipient,
                "others": f.others,
                "others_consented": f.others_consented,
                "purpose": f.purpose.as_str(),
                "serious": f.serious,
                "personal_data": f.personal_data,
                "national_security": f.national_security,
                "source_restriction": f.source_restriction.as_str(),
            },
            "derived": derived,
            "bases": bases,
            "route": route.as_str(),
        });
        Context::from_json_value(json, Some((&self.schema, &self.action)))
            .map_err(|e| self.engine_error(format!("the facts do not fit the schema: {e}")))
    }

    /// The rules of `set` whose conditions hold in `context`, in file order.
    fn satisfied(&self, set: &PolicySet, context: Context) -> Result<Vec<usize>, DecideError> {
        let request = Request::new(
            self.principal.clone(),
            self.action.clone(),
            self.resource.clone(),
            context,
            Some(&self.schema),
        )
        .map_err(|e| self.engine_error(e.to_string()))?;
        let response = self
            .authorizer
            .is_authorized(&request, set, &Entities::empty());
        if let Some(e) = response.diagnostics().errors().next() {
            return Err(self.engine_error(e.to_string()));
        }
        // A set of permits allows with every satisfied permit as reason; a set of forbids
        // denies with every satisfied forbid as reason.
        let fired = response.diagnostics().reason();
        let mut indexes: Vec<usize> = fired
            .filter_map(|id| self.index.get(AsRef::<str>::as_ref(id)).copied())
            .collect();
        indexes.sort_unstable();
        Ok(indexes)
    }

    fn names(&self, indexes: &[usize], by_rule: bool) -> Vec<&str> {
        indexes
            .iter()
            .filter_map(|i| self.rules.get(*i))
            .map(|r| if by_rule { &*r.rule } else { &*r.policy_id })
            .collect()
    }

    /// Evaluates the rulebook over the facts (memoised).
    pub(crate) fn outcome(&self, facts: &Facts) -> Result<Arc<Outcome>, DecideError> {
        if let Ok(cache) = self.cache.lock()
            && let Some(hit) = cache.get(facts)
        {
            return Ok(Arc::clone(hit));
        }
        let derived_idx = self.satisfied(
            &self.definitions,
            self.context(facts, &[], &[], RouteKind::Direct)?,
        )?;
        let derived = self.names(&derived_idx, false);
        let mut bases: Vec<usize> = Vec::new();
        for stage in &self.stages {
            if stage.is_empty() {
                continue;
            }
            let earlier = self.names(&bases, true);
            let ctx = self.context(facts, &derived, &earlier, RouteKind::Direct)?;
            bases.extend(self.satisfied(stage, ctx)?);
        }
        bases.sort_unstable();
        let via = facts.others
            && bases
                .iter()
                .any(|i| self.rules.get(*i).is_some_and(|r| r.via));
        let route = if via {
            RouteKind::ViaLinkingOrganisation
        } else {
            RouteKind::Direct
        };
        let all_bases = self.names(&bases, true);
        let reasons = self.satisfied(
            &self.restrictions,
            self.context(facts, &derived, &all_bases, route)?,
        )?;
        let conditions = if !bases.is_empty() && reasons.is_empty() {
            self.satisfied(
                &self.conditions,
                self.context(facts, &derived, &all_bases, route)?,
            )?
        } else {
            vec![]
        };
        let outcome = Arc::new(Outcome {
            bases,
            via,
            reasons,
            conditions,
        });
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(*facts, Arc::clone(&outcome));
        }
        Ok(outcome)
    }

    /// Whether these facts would be permitted (for remedies, property tests and the
    /// rulebook check).
    pub fn permits(&self, facts: &Facts) -> Result<bool, DecideError> {
        Ok(self.outcome(facts)?.permitted())
    }

    /// The `no_basis` reason of this rulebook.
    pub(crate) fn no_basis(&self) -> RuleRef {
        RuleRef {
            rule: Arc::from("no_basis"),
            citation: None,
            citation_uncertain: false,
            explanation: Arc::clone(&self.no_basis_en),
            explanation_nl: Arc::clone(&self.no_basis_nl),
        }
    }

    /// The decision for a request whose facts are known, without remedies.
    pub(crate) fn assemble(
        &self,
        request: &DecisionRequest,
        relation: &Relation<'_>,
        outcome: &Outcome,
    ) -> Decision {
        let references = |indexes: &[usize]| -> Vec<RuleRef> {
            indexes
                .iter()
                .filter_map(|i| self.rules.get(*i))
                .map(RuleInfo::reference)
                .collect()
        };
        let permitted = outcome.permitted();
        let mut reasons: Vec<Reason> = references(&outcome.reasons)
            .into_iter()
            .map(|rule| Reason { rule, remedy: None })
            .collect();
        if outcome.bases.is_empty() {
            reasons.insert(
                0,
                Reason {
                    rule: self.no_basis(),
                    remedy: None,
                },
            );
        }
        let mut conditions: Vec<Arc<str>> = Vec::new();
        for rule in outcome.conditions.iter().filter_map(|i| self.rules.get(*i)) {
            if !conditions.contains(&rule.policy_id) {
                conditions.push(Arc::clone(&rule.policy_id));
            }
        }
        let route = permitted.then(|| {
            if outcome.via {
                Route {
                    kind: RouteKind::ViaLinkingOrganisation,
                    via: Some(request.recipient.clone()),
                    on_behalf_of: relation.others.clone(),
                }
            } else {
                Route {
                    kind: RouteKind::Direct,
                    via: None,
                    on_behalf_of: vec![],
                }
            }
        });
        Decision {
            at: request.at,
            recipient: request.recipient.clone(),
            permitted,
            rulebook: Arc::clone(&self.id),
            rulebook_hash: Arc::clone(&self.hash),
            route,
            bases: references(&outcome.bases),
            conditions,
            reasons: if permitted { vec![] } else { reasons },
        }
    }
}

/// Every rulebook, each in force from its date until the next one starts.
#[derive(Debug)]
pub struct RulebookSet {
    dates: EffectiveDates,
    books: Vec<Rulebook>,
}

impl RulebookSet {
    /// Loads and validates rulebooks against the schema. Any defect stops here with file,
    /// line and reason — there is no silent default.
    pub fn load(
        schema_file: &str,
        schema_text: &str,
        mut sources: Vec<RulebookSource>,
        dates: EffectiveDates,
    ) -> Result<Self, RulebookError> {
        let schema = Arc::new(parse_schema(schema_file, schema_text)?);
        sources.sort_by_key(|s| s.from);
        let mut books = Vec::with_capacity(sources.len());
        for (i, source) in sources.iter().enumerate() {
            let until = sources
                .get(i + 1)
                .and_then(|next| next.from.yesterday().ok());
            books.push(Rulebook::load(
                Arc::clone(&schema),
                schema_text,
                source,
                until,
            )?);
        }
        if books.is_empty() {
            return Err(error(schema_file, None, "no rulebook was given"));
        }
        Ok(Self { dates, books })
    }

    /// The embedded default rulebooks with the given effective dates.
    pub fn defaults(dates: EffectiveDates) -> Result<Self, RulebookError> {
        use crate::defaults::{CBW_2026, SCHEMA, WBNI_2018, WBNI_2022};
        let source = |id: &str, text: &str, from: Date| RulebookSource {
            id: id.to_owned(),
            file: format!("rulebooks/{id}.cedar"),
            text: text.to_owned(),
            from,
        };
        Self::load(
            "rulebooks/schema.cedarschema",
            SCHEMA,
            vec![
                source("wbni-2018", WBNI_2018, dates.wbni_2018),
                source("wbni-2022", WBNI_2022, dates.wbni_2022),
                source("cbw-2026", CBW_2026, dates.cbw),
            ],
            dates,
        )
    }

    /// The effective dates.
    pub fn dates(&self) -> EffectiveDates {
        self.dates
    }

    /// Every rulebook, oldest first.
    pub fn rulebooks(&self) -> &[Rulebook] {
        &self.books
    }

    /// The rulebook in force on `date`.
    pub fn for_date(&self, date: Date) -> Result<&Rulebook, DecideError> {
        self.books
            .iter()
            .rev()
            .find(|b| b.from <= date)
            .ok_or_else(|| DecideError::BeforeFirstRulebook {
                date: date.to_string(),
                first: self
                    .books
                    .first()
                    .map(|b| b.from.to_string())
                    .unwrap_or_default(),
            })
    }

    /// Decides a request against the registry, with remedies for a deny.
    pub fn decide(
        &self,
        registry: &Registry,
        request: &DecisionRequest,
    ) -> Result<Decision, DecideError> {
        let book = self.for_date(request.at)?;
        let relation = facts::relate(registry, request, self.dates.cbw)?;
        let outcome = book.outcome(&relation.facts)?;
        let mut decision = book.assemble(request, &relation, &outcome);
        if !decision.permitted {
            crate::remedy::attach(self, registry, request, &relation, &outcome, &mut decision)?;
        }
        Ok(decision)
    }

    /// Decides a request and hands back a [`Permit`] when it is permitted: the only way a
    /// `Permit` comes into being.
    pub fn verdict(
        &self,
        registry: &Registry,
        request: &DecisionRequest,
    ) -> Result<Verdict, DecideError> {
        Ok(Permit::verdict(self.decide(registry, request)?))
    }

    /// Whether a request would be permitted with the recipient receiving it as a linking
    /// organisation or crisis team on behalf of `member` (for the route-via remedy).
    pub(crate) fn receives_on_behalf_of(
        &self,
        registry: &Registry,
        request: &DecisionRequest,
        member: &OrgSlug,
    ) -> Result<bool, DecideError> {
        let book = self.for_date(request.at)?;
        let relation = facts::relate(registry, request, self.dates.cbw)?;
        let outcome = book.outcome(&relation.facts)?;
        Ok(outcome.permitted() && outcome.via && relation.others.contains(member))
    }

    /// Whether a request would be permitted (no decision is assembled; for remedies).
    pub(crate) fn permits_request(
        &self,
        registry: &Registry,
        request: &DecisionRequest,
    ) -> Result<bool, DecideError> {
        let book = self.for_date(request.at)?;
        let relation = facts::relate(registry, request, self.dates.cbw)?;
        Ok(book.outcome(&relation.facts)?.permitted())
    }
}
