//! The rulebook check (`schakel rulebook check`): every rule that can never fire, and every
//! kind of item that no recipient may receive, found by evaluating a rulebook over the
//! whole finite space of abstract facts.
//!
//! How it stays exhaustive and fast:
//!
//! 1. Each policy is compiled into a table over exactly the facts it reads (found in its
//!    syntax tree), and Cedar itself fills the table. A policy's result depends on nothing
//!    else, so a look-up gives the answer Cedar would give.
//! 2. Values of a fact that no policy tells apart (statuses a rulebook never names, a flag
//!    it never reads, TLP levels it treats alike) form one class, read off the tables.
//!    Swapping two values of a class changes no policy's result, so enumerating one
//!    representative per class covers the whole space.
//! 3. The enumeration evaluates by look-up, step by step as [`Rulebook`] decides
//!    (definitions, bases stage by stage, the route, restrictions, conditions), and a
//!    sample of the combinations is decided again by the Cedar engine; any disagreement is
//!    an error, never a report.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use cedar_policy::{Context, Entities, Policy, PolicyId, PolicySet, Request, RestrictedExpression};
use schakel_domain::{Purpose, SourceRestriction, Status, Tlp};
use serde_json::Value;

use crate::engine::{Outcome, RuleKind, Rulebook};
use crate::facts::{Facts, StatusSet};

/// A fact the check varies: one attribute of the decision context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Attr {
    Statuses,
    Eu,
    Secrecy,
    Served,
    FormerTargetGroup,
    OverseesConcerned,
    ServesOthers,
    Concerned,
    Named,
    Tlp,
    Confidential,
    Markers,
    ConcernsAny,
    ConcernsOnlyRecipient,
    Others,
    OthersConsented,
    Purpose,
    Serious,
    PersonalData,
    NationalSecurity,
    SourceRestriction,
    Derived,
    Bases,
    Route,
}

const N: usize = 24;

/// Every attribute with its record (`recipient`, `item` or none) and name in the schema.
const ATTRS: [(Attr, &str, &str); N] = [
    (Attr::Statuses, "recipient", "statuses"),
    (Attr::Eu, "recipient", "eu"),
    (Attr::Secrecy, "recipient", "secrecy"),
    (Attr::Served, "recipient", "served"),
    (Attr::FormerTargetGroup, "recipient", "former_target_group"),
    (Attr::OverseesConcerned, "recipient", "oversees_concerned"),
    (Attr::ServesOthers, "recipient", "serves_others"),
    (Attr::Concerned, "recipient", "concerned"),
    (Attr::Named, "recipient", "named"),
    (Attr::Tlp, "item", "tlp"),
    (Attr::Confidential, "item", "confidential"),
    (Attr::Markers, "item", "markers"),
    (Attr::ConcernsAny, "item", "concerns_any"),
    (
        Attr::ConcernsOnlyRecipient,
        "item",
        "concerns_only_recipient",
    ),
    (Attr::Others, "item", "others"),
    (Attr::OthersConsented, "item", "others_consented"),
    (Attr::Purpose, "item", "purpose"),
    (Attr::Serious, "item", "serious"),
    (Attr::PersonalData, "item", "personal_data"),
    (Attr::NationalSecurity, "item", "national_security"),
    (Attr::SourceRestriction, "item", "source_restriction"),
    (Attr::Derived, "", "derived"),
    (Attr::Bases, "", "bases"),
    (Attr::Route, "", "route"),
];

impl Attr {
    fn at(self) -> usize {
        self as usize
    }

    fn name(self) -> String {
        ATTRS
            .iter()
            .find(|(a, _, _)| *a == self)
            .map(|(_, record, name)| {
                if record.is_empty() {
                    (*name).to_owned()
                } else {
                    format!("{record}.{name}")
                }
            })
            .unwrap_or_default()
    }
}

/// The item facts, enumerated in the outer loop and used to describe items.
const ITEM_DIMS: [Attr; 9] = [
    Attr::Tlp,
    Attr::Confidential,
    Attr::Markers,
    Attr::Purpose,
    Attr::Serious,
    Attr::PersonalData,
    Attr::NationalSecurity,
    Attr::SourceRestriction,
    Attr::ConcernsAny,
];

/// The recipient facts that vary independently of the item.
const RECIPIENT_DIMS: [Attr; 6] = [
    Attr::Statuses,
    Attr::Eu,
    Attr::Secrecy,
    Attr::Served,
    Attr::FormerTargetGroup,
    Attr::Named,
];

/// How the recipient relates to the organisations the item concerns; these facts constrain
/// each other, so they are enumerated together.
const RELATION: [Attr; 6] = [
    Attr::Concerned,
    Attr::Others,
    Attr::ConcernsOnlyRecipient,
    Attr::OthersConsented,
    Attr::ServesOthers,
    Attr::OverseesConcerned,
];

/// A point of the space: every attribute's value (a bit set for sets, an index otherwise).
type Point = [u32; N];

/// Largest table one policy may need (facts it reads, multiplied out).
const MAX_TABLE: usize = 1 << 18;
/// How many combinations are decided again by the Cedar engine.
const CROSS_CHECKS: u64 = 500;

/// A rulebook the check cannot analyse, or an evaluation that disagrees with the engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rulebook `{rulebook}`: {reason}")]
pub struct CheckError {
    /// Which rulebook.
    pub rulebook: String,
    /// What went wrong.
    pub reason: String,
}

/// How often one policy fired over the space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleCount {
    /// Its `@id`.
    pub policy_id: Arc<str>,
    /// The rule it belongs to.
    pub rule: Arc<str>,
    /// Its kind.
    pub kind: RuleKind,
    /// Line in the file.
    pub line: Option<usize>,
    /// Combinations where it holds (a definition), applies (a basis), denies (a
    /// restriction) or travels with a permit (a condition).
    pub fires: u64,
    /// A basis: combinations where it applies and the decision is a permit.
    pub permits: u64,
    /// A restriction: combinations with a basis where it is the only reason for the deny.
    pub decisive: u64,
}

/// The values of one fact the rulebook does not tell apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactClasses {
    /// The fact, such as `item.tlp`.
    pub fact: String,
    /// How many values it has.
    pub values: usize,
    /// The classes; values in one class lead to the same decision everywhere. For
    /// `recipient.statuses` the values are the single statuses and `(none)`: statuses in
    /// one class are interchangeable, and those with `(none)` count for nothing.
    pub classes: Vec<Vec<String>>,
}

/// One condition on an item fact in a [`Pattern`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactValues {
    /// The item fact, such as `tlp` or `concerns`.
    pub fact: &'static str,
    /// The values it takes in the pattern (any of them).
    pub values: Vec<String>,
}

/// A kind of item no recipient may receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unshareable {
    /// The item facts that describe it; facts not listed may take any value.
    pub pattern: Vec<FactValues>,
    /// No permitting rule applies to any recipient.
    pub no_basis: bool,
    /// Restrictions that deny every recipient that has a basis.
    pub always: Vec<Arc<str>>,
    /// Restrictions that deny some of them (together they deny all).
    pub sometimes: Vec<Arc<str>>,
}

/// What the check found for one rulebook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// Combinations of facts evaluated (one per class of each fact).
    pub combinations: u64,
    /// How many of them were decided again by the Cedar engine, with the same outcome.
    pub cross_checked: u64,
    /// Facts whose values fall into fewer classes than values.
    pub classes: Vec<FactClasses>,
    /// Classes of sets of recipient statuses enumerated (of 2^11 sets).
    pub status_classes: usize,
    /// Every policy, in file order, with its counts.
    pub rules: Vec<RuleCount>,
    /// Kinds of item no recipient may receive.
    pub unshareable: Vec<Unshareable>,
}

impl CheckReport {
    /// Policies that never fire anywhere in the space.
    pub fn never_fire(&self) -> impl Iterator<Item = &RuleCount> {
        self.rules.iter().filter(|r| r.fires == 0)
    }

    /// Bases that apply somewhere but never lead to a permit.
    pub fn never_permit(&self) -> impl Iterator<Item = &RuleCount> {
        self.rules
            .iter()
            .filter(|r| r.kind == RuleKind::Basis && r.fires > 0 && r.permits == 0)
    }

    /// Restrictions that deny somewhere but are never the only reason a recipient with a
    /// basis is denied: removing one would change no decision.
    pub fn never_decisive(&self) -> impl Iterator<Item = &RuleCount> {
        self.rules
            .iter()
            .filter(|r| r.kind == RuleKind::Restriction && r.fires > 0 && r.decisive == 0)
    }

    /// Whether any rule never fires, never permits or never decides.
    pub fn has_findings(&self) -> bool {
        self.never_fire().next().is_some()
            || self.never_permit().next().is_some()
            || self.never_decisive().next().is_some()
    }
}

/// A policy compiled into a table over the facts it reads.
struct Compiled {
    /// Index into the rulebook's rules.
    rule: usize,
    /// The attributes read, with the stride of each in the table.
    deps: Vec<(usize, usize)>,
    table: Vec<bool>,
    /// A basis: its bit in `bases` (by rule name), and whether it routes via the recipient.
    name_bit: u32,
    via: bool,
}

impl Compiled {
    #[inline]
    fn eval(&self, p: &Point) -> bool {
        let mut i = 0;
        for &(a, stride) in &self.deps {
            i += p[a] as usize * stride;
        }
        self.table.get(i).copied().unwrap_or(false)
    }

    fn stride_of(&self, a: usize) -> Option<usize> {
        self.deps.iter().find(|(d, _)| *d == a).map(|(_, s)| *s)
    }
}

/// The attribute paths a policy reads from `context` (conservatively: reading a whole
/// record reads all of it).
fn reads(policy: &Policy) -> Result<BTreeSet<Attr>, String> {
    let json = policy
        .to_json()
        .map_err(|e| format!("policy cannot be inspected: {e}"))?;
    let mut out = BTreeSet::new();
    walk(&json, &mut out)?;
    Ok(out)
}

fn context_path(v: &Value) -> Option<Vec<&str>> {
    if v.get("Var").and_then(Value::as_str) == Some("context") {
        return Some(vec![]);
    }
    let access = v.get(".").or_else(|| v.get("has"))?;
    let mut path = context_path(access.get("left")?)?;
    path.push(access.get("attr")?.as_str()?);
    Some(path)
}

fn walk(v: &Value, out: &mut BTreeSet<Attr>) -> Result<(), String> {
    match v {
        Value::Object(map) => {
            if let Some(path) = context_path(v) {
                return add_path(&path, out);
            }
            map.values().try_for_each(|child| walk(child, out))
        }
        Value::Array(items) => items.iter().try_for_each(|child| walk(child, out)),
        _ => Ok(()),
    }
}

fn add_path(path: &[&str], out: &mut BTreeSet<Attr>) -> Result<(), String> {
    let matching: Vec<Attr> = ATTRS
        .iter()
        .filter(|(_, record, name)| match path {
            [] => true,
            [first] => record == first || (record.is_empty() && name == first),
            [first, second, ..] => record == first && name == second,
        })
        .map(|(a, _, _)| *a)
        .collect();
    if matching.is_empty() {
        return Err(format!(
            "reads `context.{}`, which the check does not know",
            path.join(".")
        ));
    }
    out.extend(matching);
    Ok(())
}

/// The rulebook as the check sees it: compiled policies in evaluation order.
struct Compiler<'a> {
    book: &'a Rulebook,
    /// Definitions by bit of `derived`.
    definitions: Vec<Compiled>,
    /// Bases per stage.
    stages: Vec<Vec<Compiled>>,
    restrictions: Vec<Compiled>,
    conditions: Vec<Compiled>,
    /// Policy id of each bit of `derived`.
    derived_names: Vec<Arc<str>>,
    /// Rule name of each bit of `bases`.
    basis_names: Vec<Arc<str>>,
    /// For each rule index: its bit in `bases` (bases only).
    basis_bit: HashMap<usize, u32>,
    domains: [u32; N],
}

fn bits_needed(count: usize, what: &str) -> Result<u32, String> {
    if count > 16 {
        return Err(format!(
            "has {count} {what}; the check handles at most 16 (split the rulebook or ask for a larger limit)"
        ));
    }
    Ok(1 << count)
}

impl<'a> Compiler<'a> {
    fn new(book: &'a Rulebook) -> Result<Self, String> {
        if book.rules().len() > 128 {
            return Err(format!(
                "has {} policies; the check handles at most 128",
                book.rules().len()
            ));
        }
        let mut derived_names = Vec::new();
        let mut basis_names: Vec<Arc<str>> = Vec::new();
        let mut basis_bit = HashMap::new();
        for (i, rule) in book.rules().iter().enumerate() {
            match rule.kind {
                RuleKind::Definition => derived_names.push(Arc::clone(&rule.policy_id)),
                RuleKind::Basis => {
                    let bit = match basis_names.iter().position(|n| *n == rule.rule) {
                        Some(bit) => bit,
                        None => {
                            basis_names.push(Arc::clone(&rule.rule));
                            basis_names.len() - 1
                        }
                    };
                    basis_bit.insert(i, u32::try_from(bit).unwrap_or(u32::MAX));
                }
                RuleKind::Restriction | RuleKind::Condition => {}
            }
        }
        let mut domains = [2u32; N];
        domains[Attr::Statuses.at()] = 1 << Status::ALL.len();
        domains[Attr::Tlp.at()] = u32::try_from(Tlp::ALL.len()).unwrap_or(1);
        domains[Attr::Purpose.at()] = u32::try_from(Purpose::ALL.len()).unwrap_or(1);
        domains[Attr::SourceRestriction.at()] =
            u32::try_from(SourceRestriction::ALL.len()).unwrap_or(1);
        domains[Attr::Derived.at()] = bits_needed(derived_names.len(), "definitions")?;
        domains[Attr::Bases.at()] = bits_needed(basis_names.len(), "permitting rules")?;
        let mut compiler = Self {
            book,
            definitions: vec![],
            stages: vec![],
            restrictions: vec![],
            conditions: vec![],
            derived_names,
            basis_names,
            basis_bit,
            domains,
        };
        // The contexts built below skip Cedar's per-request schema check for speed; this
        // one check proves their shape fits the schema.
        Request::new(
            book.principal.clone(),
            book.action.clone(),
            book.resource.clone(),
            compiler.context(&[0; N])?,
            Some(&book.schema),
        )
        .map_err(|e| format!("the check's facts do not fit the schema: {e}"))?;

        // Every policy with the set it belongs to (0 definitions, 1..=stages bases,
        // then restrictions, then conditions), compiled in parallel.
        let mut sets: Vec<&PolicySet> = vec![&book.definitions];
        sets.extend(&book.stages);
        sets.push(&book.restrictions);
        sets.push(&book.conditions);
        let mut jobs: Vec<(usize, usize, &Policy)> = Vec::new();
        for (i, rule) in book.rules().iter().enumerate() {
            let id = PolicyId::new(rule.policy_id.as_ref());
            for (group, set) in sets.iter().enumerate() {
                if let Some(policy) = set.policy(&id) {
                    jobs.push((group, i, policy));
                }
            }
        }
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, 8);
        let compiled: Vec<Result<(usize, Compiled), String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (compiler, jobs) = (&compiler, &jobs);
                    scope.spawn(move || {
                        jobs.iter()
                            .skip(t)
                            .step_by(threads)
                            .map(|(group, i, policy)| {
                                let id = book.rules().get(*i).map(|r| &*r.policy_id);
                                compiler
                                    .compile(*i, policy)
                                    .map(|c| (*group, c))
                                    .map_err(|e| format!("`{}`: {e}", id.unwrap_or("?")))
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| {
                    h.join()
                        .unwrap_or_else(|_| vec![Err("a thread of the check failed".to_owned())])
                })
                .collect()
        });
        let mut groups: Vec<Vec<Compiled>> = (0..sets.len()).map(|_| Vec::new()).collect();
        for result in compiled {
            let (group, c) = result?;
            if let Some(g) = groups.get_mut(group) {
                g.push(c);
            }
        }
        for g in &mut groups {
            g.sort_by_key(|c| c.rule);
        }
        compiler.conditions = groups.pop().unwrap_or_default();
        compiler.restrictions = groups.pop().unwrap_or_default();
        let mut groups = groups.into_iter();
        compiler.definitions = groups.next().unwrap_or_default();
        compiler.stages = groups.collect();
        Ok(compiler)
    }

    fn compile(&self, rule: usize, policy: &Policy) -> Result<Compiled, String> {
        let attrs = reads(policy)?;
        let mut deps = Vec::with_capacity(attrs.len());
        let mut size: usize = 1;
        for a in &attrs {
            deps.push((a.at(), size));
            size = size.saturating_mul(self.domains[a.at()] as usize);
        }
        if size > MAX_TABLE {
            let names: Vec<String> = attrs.iter().map(|a| a.name()).collect();
            return Err(format!(
                "reads {} facts at once ({}), {size} combinations; the check handles up to {MAX_TABLE} per policy — split the policy",
                attrs.len(),
                names.join(", ")
            ));
        }
        let single = PolicySet::from_policies([policy.clone()])
            .map_err(|e| format!("cannot be evaluated alone: {e}"))?;
        let mut table = Vec::with_capacity(size);
        let mut p: Point = [0; N];
        for i in 0..size {
            for &(a, stride) in &deps {
                p[a] = u32::try_from((i / stride) % self.domains[a] as usize).unwrap_or(0);
            }
            table.push(self.satisfied(&single, &p)?);
        }
        let name_bit = self.basis_bit.get(&rule).map_or(0, |b| 1 << b);
        let via = self.book.rules().get(rule).is_some_and(|r| r.via);
        Ok(Compiled {
            rule,
            deps,
            table,
            name_bit,
            via,
        })
    }

    /// Whether the (single) policy in `set` holds at `p`, by Cedar.
    fn satisfied(&self, set: &PolicySet, p: &Point) -> Result<bool, String> {
        let book = self.book;
        let request = Request::new(
            book.principal.clone(),
            book.action.clone(),
            book.resource.clone(),
            self.context(p)?,
            None,
        )
        .map_err(|e| e.to_string())?;
        let response = book
            .authorizer
            .is_authorized(&request, set, &Entities::empty());
        if let Some(e) = response.diagnostics().errors().next() {
            return Err(e.to_string());
        }
        Ok(response.diagnostics().reason().next().is_some())
    }

    fn context(&self, p: &Point) -> Result<Context, String> {
        let flag = |a: Attr| RestrictedExpression::new_bool(p[a.at()] != 0);
        let text = |t: &str| RestrictedExpression::new_string(t.to_owned());
        let set_of = |bits: u32, names: &[&str]| {
            RestrictedExpression::new_set(
                names
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| bits >> i & 1 == 1)
                    .map(|(_, n)| text(n)),
            )
        };
        let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
        let pick = |a: Attr, all: &[&'static str]| {
            text(all.get(p[a.at()] as usize).copied().unwrap_or_default())
        };
        let tlps: Vec<&str> = Tlp::ALL.iter().map(|v| v.as_str()).collect();
        let purposes: Vec<&str> = Purpose::ALL.iter().map(|v| v.as_str()).collect();
        let sources: Vec<&str> = SourceRestriction::ALL.iter().map(|v| v.as_str()).collect();
        let record = |fields: Vec<(&str, RestrictedExpression)>| {
            RestrictedExpression::new_record(fields.into_iter().map(|(k, v)| (k.to_owned(), v)))
                .map_err(|e| e.to_string())
        };
        let mut recipient = vec![("statuses", set_of(p[Attr::Statuses.at()], &statuses))];
        let mut item = vec![
            ("tlp", pick(Attr::Tlp, &tlps)),
            ("purpose", pick(Attr::Purpose, &purposes)),
            (
                "source_restriction",
                pick(Attr::SourceRestriction, &sources),
            ),
        ];
        for (a, record_name, name) in ATTRS {
            if self.domains[a.at()] != 2 || record_name.is_empty() {
                continue;
            }
            match record_name {
                "recipient" => recipient.push((name, flag(a))),
                _ => item.push((name, flag(a))),
            }
        }
        let derived: Vec<&str> = self.derived_names.iter().map(AsRef::as_ref).collect();
        let bases: Vec<&str> = self.basis_names.iter().map(AsRef::as_ref).collect();
        let route = if p[Attr::Route.at()] == 0 {
            "direct"
        } else {
            "via_linking_organisation"
        };
        Context::from_pairs([
            ("recipient".to_owned(), record(recipient)?),
            ("item".to_owned(), record(item)?),
            (
                "derived".to_owned(),
                set_of(p[Attr::Derived.at()], &derived),
            ),
            ("bases".to_owned(), set_of(p[Attr::Bases.at()], &bases)),
            ("route".to_owned(), text(route)),
        ])
        .map_err(|e| e.to_string())
    }

    fn all(&self) -> impl Iterator<Item = &Compiled> {
        self.definitions
            .iter()
            .chain(self.stages.iter().flatten())
            .chain(&self.restrictions)
            .chain(&self.conditions)
    }

    /// The classes of values of `a` that no policy tells apart, each sorted, in order of
    /// their smallest value.
    fn classes(&self, a: Attr) -> Vec<Vec<u32>> {
        let dom = self.domains[a.at()];
        let readers: Vec<(&Compiled, usize, Vec<usize>)> = self
            .all()
            .filter_map(|c| {
                let stride = c.stride_of(a.at())?;
                // Offsets of every table entry where `a` is 0.
                let offsets = (0..c.table.len())
                    .filter(|i| (i / stride) % dom as usize == 0)
                    .collect();
                Some((c, stride, offsets))
            })
            .collect();
        let mut groups: Vec<Vec<u32>> = Vec::new();
        let mut by_signature: HashMap<Vec<bool>, usize> = HashMap::new();
        for v in 0..dom {
            let signature: Vec<bool> = readers
                .iter()
                .flat_map(|(c, stride, offsets)| {
                    offsets.iter().map(move |o| {
                        c.table
                            .get(o + v as usize * stride)
                            .copied()
                            .unwrap_or(false)
                    })
                })
                .collect();
            match by_signature.get(&signature) {
                Some(&g) => {
                    if let Some(group) = groups.get_mut(g) {
                        group.push(v);
                    }
                }
                None => {
                    by_signature.insert(signature, groups.len());
                    groups.push(vec![v]);
                }
            }
        }
        groups
    }
}

/// The outcome of one point, as rule-index bit sets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Eval {
    bases: u128,
    via: bool,
    reasons: u128,
    conditions: u128,
    definitions: u128,
}

impl Eval {
    fn permitted(self) -> bool {
        self.bases != 0 && self.reasons == 0
    }
}

fn bit(rule: usize) -> u128 {
    1u128
        .checked_shl(u32::try_from(rule).unwrap_or(u32::MAX))
        .unwrap_or(0)
}

impl Compiler<'_> {
    /// Mirrors `Rulebook::outcome` by table look-up.
    fn evaluate(&self, p: &mut Point) -> Eval {
        let mut e = Eval::default();
        p[Attr::Derived.at()] = 0;
        p[Attr::Bases.at()] = 0;
        p[Attr::Route.at()] = 0;
        let mut derived = 0u32;
        for (k, c) in self.definitions.iter().enumerate() {
            if c.eval(p) {
                derived |= 1 << k;
                e.definitions |= bit(c.rule);
            }
        }
        p[Attr::Derived.at()] = derived;
        let mut names = 0u32;
        let mut via_basis = false;
        for stage in &self.stages {
            p[Attr::Bases.at()] = names;
            let mut new = 0u32;
            for c in stage {
                if c.eval(p) {
                    e.bases |= bit(c.rule);
                    new |= c.name_bit;
                    via_basis |= c.via;
                }
            }
            names |= new;
        }
        e.via = p[Attr::Others.at()] != 0 && via_basis;
        p[Attr::Bases.at()] = names;
        p[Attr::Route.at()] = u32::from(e.via);
        for c in &self.restrictions {
            if c.eval(p) {
                e.reasons |= bit(c.rule);
            }
        }
        if e.permitted() {
            for c in &self.conditions {
                if c.eval(p) {
                    e.conditions |= bit(c.rule);
                }
            }
        }
        e
    }
}

fn mask_of(indexes: &[usize]) -> u128 {
    indexes.iter().fold(0, |m, i| m | bit(*i))
}

fn facts_of(p: &Point) -> Facts {
    let mut statuses = StatusSet::default();
    for (i, s) in Status::ALL.iter().enumerate() {
        if p[Attr::Statuses.at()] >> i & 1 == 1 {
            statuses.insert(*s);
        }
    }
    let flag = |a: Attr| p[a.at()] != 0;
    Facts {
        statuses,
        eu: flag(Attr::Eu),
        secrecy: flag(Attr::Secrecy),
        served: flag(Attr::Served),
        former_target_group: flag(Attr::FormerTargetGroup),
        oversees_concerned: flag(Attr::OverseesConcerned),
        serves_others: flag(Attr::ServesOthers),
        concerned: flag(Attr::Concerned),
        named: flag(Attr::Named),
        tlp: Tlp::ALL
            .get(p[Attr::Tlp.at()] as usize)
            .copied()
            .unwrap_or(Tlp::Clear),
        confidential: flag(Attr::Confidential),
        markers: flag(Attr::Markers),
        concerns_any: flag(Attr::ConcernsAny),
        concerns_only_recipient: flag(Attr::ConcernsOnlyRecipient),
        others: flag(Attr::Others),
        others_consented: flag(Attr::OthersConsented),
        purpose: Purpose::ALL
            .get(p[Attr::Purpose.at()] as usize)
            .copied()
            .unwrap_or(Purpose::PreventDisruption),
        serious: flag(Attr::Serious),
        personal_data: flag(Attr::PersonalData),
        national_security: flag(Attr::NationalSecurity),
        source_restriction: SourceRestriction::ALL
            .get(p[Attr::SourceRestriction.at()] as usize)
            .copied()
            .unwrap_or(SourceRestriction::None),
    }
}

/// The consistent ways a recipient can relate to an item's concerned organisations, as
/// values of [`RELATION`].
fn relations(concerns_any: bool) -> Vec<[u32; 6]> {
    let mut out = Vec::new();
    for concerned in [false, true] {
        for others in [false, true] {
            if concerns_any != (concerned || others) {
                continue;
            }
            let free = |yes: bool| if yes { vec![false, true] } else { vec![true] };
            for consented in free(others) {
                for serves in free(others) {
                    let oversees = if concerns_any {
                        vec![false, true]
                    } else {
                        vec![false]
                    };
                    for oversees in oversees {
                        out.push([
                            u32::from(concerned),
                            u32::from(others),
                            u32::from(concerned && !others),
                            u32::from(consented),
                            u32::from(serves),
                            u32::from(oversees),
                        ]);
                    }
                }
            }
        }
    }
    out
}

/// The values of one item dimension, for patterns.
fn item_fact(a: Attr) -> &'static str {
    match a {
        Attr::ConcernsAny => "concerns",
        Attr::Confidential => "confidential",
        Attr::Markers => "confidentiality_markers",
        Attr::Purpose => "purpose",
        Attr::Serious => "serious",
        Attr::PersonalData => "personal_data",
        Attr::NationalSecurity => "national_security",
        Attr::SourceRestriction => "source_restriction",
        _ => "tlp",
    }
}

fn value_text(a: Attr, v: u32) -> String {
    let i = v as usize;
    match a {
        Attr::Tlp => Tlp::ALL
            .get(i)
            .map(|t| t.as_str())
            .unwrap_or_default()
            .to_owned(),
        Attr::Purpose => Purpose::ALL
            .get(i)
            .map(|t| t.as_str())
            .unwrap_or_default()
            .to_owned(),
        Attr::SourceRestriction => SourceRestriction::ALL
            .get(i)
            .map(|t| t.as_str())
            .unwrap_or_default()
            .to_owned(),
        Attr::ConcernsAny => if v == 0 { "nobody" } else { "somebody" }.to_owned(),
        Attr::Markers => if v == 0 { "none" } else { "some" }.to_owned(),
        Attr::Statuses => {
            let held: Vec<&str> = Status::ALL
                .iter()
                .enumerate()
                .filter(|(k, _)| v >> k & 1 == 1)
                .map(|(_, s)| s.as_str())
                .collect();
            format!("{{{}}}", held.join(", "))
        }
        _ => (v != 0).to_string(),
    }
}

/// Per item combination, over the recipients.
#[derive(Debug, Clone, Copy)]
struct ItemSummary {
    has_basis: bool,
    permitted: bool,
    always: u128,
    sometimes: u128,
}

/// Checks one rulebook over the whole space of abstract facts.
pub fn check(book: &Rulebook) -> Result<CheckReport, CheckError> {
    let fail = |reason: String| CheckError {
        rulebook: book.id().to_owned(),
        reason,
    };
    let compiler = Compiler::new(book).map_err(fail)?;

    // Classes of every independently varying fact.
    let mut classes_of: HashMap<Attr, Vec<Vec<u32>>> = HashMap::new();
    for a in ITEM_DIMS.iter().chain(&RECIPIENT_DIMS).chain(&RELATION) {
        let classes = if *a == Attr::ConcernsAny || *a == Attr::Others {
            // They also decide the route and which relations exist.
            vec![vec![0], vec![1]]
        } else {
            compiler.classes(*a)
        };
        classes_of.insert(*a, classes);
    }
    let reps = |a: &Attr| -> Vec<u32> {
        classes_of
            .get(a)
            .map(|cs| cs.iter().filter_map(|c| c.first().copied()).collect())
            .unwrap_or_default()
    };
    let item_reps: Vec<Vec<u32>> = ITEM_DIMS.iter().map(reps).collect();
    let recipient_reps: Vec<Vec<u32>> = RECIPIENT_DIMS.iter().map(reps).collect();
    // Relations, deduplicated by the values the rulebook tells apart.
    let relation_sets: Vec<Vec<[u32; 6]>> = [false, true]
        .into_iter()
        .map(|concerns_any| {
            let mut seen = HashSet::new();
            relations(concerns_any)
                .into_iter()
                .filter(|r| {
                    let key: Vec<u32> = RELATION
                        .iter()
                        .zip(r)
                        .map(|(a, v)| {
                            classes_of
                                .get(a)
                                .and_then(|cs| cs.iter().position(|c| c.contains(v)))
                                .map_or(0, |k| u32::try_from(k).unwrap_or(0))
                        })
                        .collect();
                    seen.insert(key)
                })
                .collect()
        })
        .collect();

    let radix = |dims: &[Vec<u32>]| dims.iter().map(Vec::len).product::<usize>();
    let item_count = radix(&item_reps);
    let recipient_count = radix(&recipient_reps);
    let concerns_dim = ITEM_DIMS
        .iter()
        .position(|a| *a == Attr::ConcernsAny)
        .unwrap_or(0);
    let total: u64 = (0..item_count)
        .map(|i| {
            let concerns = decode(i, &item_reps)
                .get(concerns_dim)
                .copied()
                .unwrap_or(0);
            let relations = relation_sets.get(concerns as usize).map_or(0, Vec::len);
            (recipient_count * relations) as u64
        })
        .sum();
    let sample_every = (total / CROSS_CHECKS).max(1);

    let rules = book.rules();
    let space = Space {
        item_reps: &item_reps,
        recipient_reps: &recipient_reps,
        relation_sets: &relation_sets,
        concerns_dim,
        sample_every,
    };
    // The item combinations are split over the cores; each thread sweeps a contiguous range.
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 8)
        .min(item_count.max(1));
    let chunk = item_count.div_ceil(threads);
    let partials: Vec<Result<Partial, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let range = (t * chunk)..((t + 1) * chunk).min(item_count);
                let (compiler, space) = (&compiler, &space);
                scope.spawn(move || sweep(compiler, space, range))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a thread of the check failed".to_owned()))
            })
            .collect()
    });
    let mut fires = vec![0u64; rules.len()];
    let mut permits = vec![0u64; rules.len()];
    let mut decisive = vec![0u64; rules.len()];
    let mut summaries = Vec::with_capacity(item_count);
    let mut cross_checked: u64 = 0;
    for partial in partials {
        let partial = partial.map_err(fail)?;
        let add = |into: &mut Vec<u64>, from: &[u64]| {
            for (a, b) in into.iter_mut().zip(from) {
                *a += b;
            }
        };
        add(&mut fires, &partial.fires);
        add(&mut permits, &partial.permits);
        add(&mut decisive, &partial.decisive);
        summaries.extend(partial.summaries);
        cross_checked += partial.cross_checked;
    }

    let rule_counts = rules
        .iter()
        .enumerate()
        .map(|(k, r)| RuleCount {
            policy_id: Arc::clone(&r.policy_id),
            rule: Arc::clone(&r.rule),
            kind: r.kind,
            line: r.line,
            fires: fires.get(k).copied().unwrap_or(0),
            permits: permits.get(k).copied().unwrap_or(0),
            decisive: decisive.get(k).copied().unwrap_or(0),
        })
        .collect();

    let mut classes: Vec<FactClasses> = ITEM_DIMS
        .iter()
        .chain(&RECIPIENT_DIMS)
        .chain(&RELATION)
        .filter(|a| **a != Attr::Statuses)
        .filter_map(|a| {
            let cs = classes_of.get(a)?;
            let values = compiler.domains[a.at()] as usize;
            (cs.len() < values).then(|| FactClasses {
                fact: a.name(),
                values,
                classes: cs
                    .iter()
                    .map(|c| c.iter().map(|v| value_text(*a, *v)).collect())
                    .collect(),
            })
        })
        .collect();
    let status_classes = classes_of.get(&Attr::Statuses).map_or(0, Vec::len);
    if let Some(cs) = classes_of.get(&Attr::Statuses) {
        // Single statuses grouped by the class of the set holding only them; "(none)" is
        // the empty set, so a status in its group is treated as holding no status at all.
        let mut groups: Vec<(usize, Vec<String>)> = Vec::new();
        let singles = std::iter::once((0u32, "(none)")).chain(
            Status::ALL
                .iter()
                .enumerate()
                .map(|(k, s)| (1u32 << k, s.as_str())),
        );
        for (set, name) in singles {
            let class = cs
                .iter()
                .position(|c| c.contains(&set))
                .unwrap_or(usize::MAX);
            match groups.iter_mut().find(|(c, _)| *c == class) {
                Some((_, names)) => names.push(name.to_owned()),
                None => groups.push((class, vec![name.to_owned()])),
            }
        }
        if groups.len() < Status::ALL.len() + 1 {
            classes.push(FactClasses {
                fact: Attr::Statuses.name(),
                values: Status::ALL.len() + 1,
                classes: groups.into_iter().map(|(_, names)| names).collect(),
            });
        }
    }

    let unshareable = unshareable_patterns(&summaries, &item_reps, &classes_of, rules);
    Ok(CheckReport {
        combinations: total,
        cross_checked,
        classes,
        status_classes,
        rules: rule_counts,
        unshareable,
    })
}

/// The enumerated space: one representative per class of every fact.
struct Space<'a> {
    item_reps: &'a [Vec<u32>],
    recipient_reps: &'a [Vec<u32>],
    /// The relations possible for an item that concerns nobody (0) or somebody (1).
    relation_sets: &'a [Vec<[u32; 6]>],
    concerns_dim: usize,
    sample_every: u64,
}

/// What one thread found over a range of item combinations.
struct Partial {
    fires: Vec<u64>,
    permits: Vec<u64>,
    decisive: Vec<u64>,
    summaries: Vec<ItemSummary>,
    cross_checked: u64,
}

/// Evaluates every recipient for the item combinations in `items`.
fn sweep(
    compiler: &Compiler<'_>,
    space: &Space<'_>,
    items: std::ops::Range<usize>,
) -> Result<Partial, String> {
    let rules = compiler.book.rules();
    let recipient_count: usize = space.recipient_reps.iter().map(Vec::len).product();
    let mut out = Partial {
        fires: vec![0; rules.len()],
        permits: vec![0; rules.len()],
        decisive: vec![0; rules.len()],
        summaries: Vec::with_capacity(items.len()),
        cross_checked: 0,
    };
    let mut counter: u64 = 0;
    let mut p: Point = [0; N];
    for i in items {
        let item = decode(i, space.item_reps);
        for (a, v) in ITEM_DIMS.iter().zip(&item) {
            p[a.at()] = *v;
        }
        let concerns = item.get(space.concerns_dim).copied().unwrap_or(0);
        let mut summary = ItemSummary {
            has_basis: false,
            permitted: false,
            always: u128::MAX,
            sometimes: 0,
        };
        let relations = space
            .relation_sets
            .get(concerns as usize)
            .map_or(&[][..], Vec::as_slice);
        for r in 0..recipient_count {
            for (a, v) in RECIPIENT_DIMS.iter().zip(decode(r, space.recipient_reps)) {
                p[a.at()] = v;
            }
            for relation in relations {
                for (a, v) in RELATION.iter().zip(relation) {
                    p[a.at()] = *v;
                }
                let e = compiler.evaluate(&mut p);
                counter += 1;
                if counter.is_multiple_of(space.sample_every) {
                    cross_check(compiler.book, &p, e)?;
                    out.cross_checked += 1;
                }
                let mut fired = e.definitions | e.bases | e.reasons | e.conditions;
                while fired != 0 {
                    let k = fired.trailing_zeros() as usize;
                    fired &= fired - 1;
                    let Some(rule) = rules.get(k) else { break };
                    if let Some(n) = out.fires.get_mut(k) {
                        *n += 1;
                    }
                    if rule.kind == RuleKind::Basis
                        && e.permitted()
                        && let Some(n) = out.permits.get_mut(k)
                    {
                        *n += 1;
                    }
                    if rule.kind == RuleKind::Restriction
                        && e.bases != 0
                        && e.reasons == bit(k)
                        && let Some(n) = out.decisive.get_mut(k)
                    {
                        *n += 1;
                    }
                }
                if e.bases != 0 {
                    summary.has_basis = true;
                    summary.permitted |= e.reasons == 0;
                    summary.always &= e.reasons;
                    summary.sometimes |= e.reasons;
                }
            }
        }
        out.summaries.push(summary);
    }
    Ok(out)
}

/// The mixed-radix digits of `n` over dimensions of the given sizes (values, not digits).
fn decode(mut n: usize, dims: &[Vec<u32>]) -> Vec<u32> {
    dims.iter()
        .map(|values| {
            let len = values.len().max(1);
            let digit = n % len;
            n /= len;
            values.get(digit).copied().unwrap_or(0)
        })
        .collect()
}

fn cross_check(book: &Rulebook, p: &Point, e: Eval) -> Result<(), String> {
    let facts = facts_of(p);
    let outcome: Arc<Outcome> = book
        .outcome(&facts)
        .map_err(|err| format!("the engine failed on {facts:?}: {err}"))?;
    let same = mask_of(&outcome.bases) == e.bases
        && mask_of(&outcome.reasons) == e.reasons
        && mask_of(&outcome.conditions) == e.conditions
        && outcome.via == e.via;
    if same {
        Ok(())
    } else {
        Err(format!(
            "internal error: the check's evaluation disagrees with the engine on {facts:?}; please report this"
        ))
    }
}

/// Whether no basis applies, the restriction denying every recipient with a basis, and
/// those denying some.
type GroupKey = (bool, u128, u128);

/// Groups the item combinations nobody may receive by the restrictions responsible and
/// describes each group by as few patterns as a greedy widening finds.
fn unshareable_patterns(
    summaries: &[ItemSummary],
    item_reps: &[Vec<u32>],
    classes_of: &HashMap<Attr, Vec<Vec<u32>>>,
    rules: &[crate::RuleInfo],
) -> Vec<Unshareable> {
    // Digits (class indexes) of each item combination.
    let digits = |mut n: usize| -> Vec<usize> {
        item_reps
            .iter()
            .map(|values| {
                let len = values.len().max(1);
                let d = n % len;
                n /= len;
                d
            })
            .collect()
    };
    // One group per restriction that alone denies every recipient with a basis (groups may
    // overlap), then items where no basis applies, then items denied by a mix.
    let mut groups: Vec<(GroupKey, HashSet<Vec<usize>>)> = Vec::new();
    let mut add = |key: GroupKey, i: usize| match groups.iter_mut().find(|(k, _)| *k == key) {
        Some((_, set)) => {
            set.insert(digits(i));
        }
        None => groups.push((key, HashSet::from([digits(i)]))),
    };
    for (i, s) in summaries.iter().enumerate() {
        if !s.has_basis {
            add((true, 0, 0), i);
        } else if s.permitted {
            continue;
        } else if s.always == 0 {
            add((false, 0, s.sometimes), i);
        } else {
            let mut always = s.always;
            while always != 0 {
                let k = always.trailing_zeros();
                always &= always - 1;
                add((false, 1u128 << k, 0), i);
            }
        }
    }
    groups.sort_by_key(|((no_basis, always, _), _)| {
        (!*no_basis, *always == 0, always.trailing_zeros())
    });
    let names = |mask: u128| -> Vec<Arc<str>> {
        rules
            .iter()
            .enumerate()
            .filter(|(k, _)| mask & bit(*k) != 0)
            .map(|(_, r)| Arc::clone(&r.policy_id))
            .collect()
    };
    let mut out = Vec::new();
    for ((no_basis, always, sometimes), members) in groups {
        for pattern in cover(&members, item_reps) {
            let facts = ITEM_DIMS
                .iter()
                .zip(&pattern)
                .zip(item_reps)
                .filter(|((_, chosen), all)| chosen.len() < all.len())
                .map(|((a, chosen), _)| {
                    let classes = classes_of.get(a);
                    let values = chosen
                        .iter()
                        .flat_map(|d| {
                            classes
                                .and_then(|cs| cs.get(*d))
                                .cloned()
                                .unwrap_or_default()
                        })
                        .map(|v| value_text(*a, v))
                        .collect();
                    FactValues {
                        fact: item_fact(*a),
                        values,
                    }
                })
                .collect();
            out.push(Unshareable {
                pattern: facts,
                no_basis,
                always: names(always),
                sometimes: names(sometimes),
            });
        }
    }
    out
}

/// Covers a set of points (digit vectors) by patterns: each a set of digits per dimension,
/// every point of which is in the set. Greedy: start from an uncovered point and widen each
/// dimension value by value while the pattern stays inside the set.
fn cover(members: &HashSet<Vec<usize>>, dims: &[Vec<u32>]) -> Vec<Vec<Vec<usize>>> {
    let mut ordered: Vec<&Vec<usize>> = members.iter().collect();
    ordered.sort();
    let mut covered: HashSet<Vec<usize>> = HashSet::new();
    let mut patterns = Vec::new();
    for point in ordered {
        if covered.contains(point) {
            continue;
        }
        let mut pattern: Vec<Vec<usize>> = point.iter().map(|d| vec![*d]).collect();
        for dim in 0..dims.len() {
            let len = dims.get(dim).map_or(0, Vec::len);
            for value in 0..len {
                if pattern.get(dim).is_some_and(|vs| vs.contains(&value)) {
                    continue;
                }
                let mut trial = pattern.clone();
                if let Some(vs) = trial.get_mut(dim) {
                    *vs = vec![value];
                }
                if expand(&trial).iter().all(|p| members.contains(p))
                    && let Some(vs) = pattern.get_mut(dim)
                {
                    vs.push(value);
                    vs.sort_unstable();
                }
            }
        }
        covered.extend(expand(&pattern));
        patterns.push(pattern);
    }
    patterns
}

/// Every point of a pattern.
fn expand(pattern: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut points = vec![vec![]];
    for values in pattern {
        points = points
            .into_iter()
            .flat_map(|p: Vec<usize>| {
                values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.push(*v);
                    q
                })
            })
            .collect();
    }
    points
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::{EffectiveDates, RulebookSet};

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn reads_of(text: &str) -> Result<BTreeSet<Attr>, Box<dyn std::error::Error>> {
        let set = PolicySet::from_str(text)?;
        let policy = set.policies().next().ok_or("no policy")?;
        Ok(reads(policy)?)
    }

    #[test]
    fn reads_finds_every_way_of_naming_a_fact() -> TestResult {
        let attrs = reads_of(
            r#"permit (principal, action, resource) when {
                context.item.tlp == "RED" && context["recipient"]["eu"] &&
                context.bases.contains("W1") && (context.item has serious)
            };"#,
        )?;
        assert_eq!(
            attrs.into_iter().collect::<Vec<_>>(),
            [Attr::Eu, Attr::Tlp, Attr::Serious, Attr::Bases]
        );
        // Reading a whole record, or the whole context, reads every fact in it.
        let attrs = reads_of(
            r#"permit (principal, action, resource) when { context.recipient == context.recipient };"#,
        )?;
        assert_eq!(attrs.len(), 9);
        assert!(attrs.contains(&Attr::Statuses) && attrs.contains(&Attr::Named));
        let attrs =
            reads_of(r#"permit (principal, action, resource) when { context has route };"#)?;
        assert_eq!(attrs.into_iter().collect::<Vec<_>>(), [Attr::Route]);
        Ok(())
    }

    #[test]
    fn cover_describes_a_set_by_few_patterns() {
        let dims = vec![vec![0, 1, 2], vec![0, 1]];
        // Everything with the first digit 2, and (0, 1).
        let members: HashSet<Vec<usize>> = [vec![2, 0], vec![2, 1], vec![0, 1]].into();
        let patterns = cover(&members, &dims);
        let covered: HashSet<Vec<usize>> = patterns.iter().flat_map(|p| expand(p)).collect();
        assert_eq!(covered, members);
        assert_eq!(patterns.len(), 2, "{patterns:?}");
        assert!(
            patterns.contains(&vec![vec![2], vec![0, 1]]),
            "{patterns:?}"
        );
    }

    /// A small deterministic generator, so a failure can be replayed.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u32) -> u32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            u32::try_from(self.0 % u64::from(n.max(1))).unwrap_or(0)
        }
    }

    fn random_point(rng: &mut Rng, domains: &[u32; N]) -> Point {
        let mut p: Point = [0; N];
        for a in ITEM_DIMS.iter().chain(&RECIPIENT_DIMS) {
            p[a.at()] = rng.below(domains[a.at()]);
        }
        let relations = relations(p[Attr::ConcernsAny.at()] != 0);
        let k = rng.below(u32::try_from(relations.len()).unwrap_or(1)) as usize;
        if let Some(relation) = relations.get(k) {
            for (a, v) in RELATION.iter().zip(relation) {
                p[a.at()] = *v;
            }
        }
        p
    }

    /// The tables give the engine's outcome on any point, not only on representatives, and
    /// replacing every fact by its class representative changes nothing.
    #[test]
    fn tables_and_classes_agree_with_the_engine_everywhere() -> TestResult {
        let set = RulebookSet::defaults(EffectiveDates::default())?;
        let mut rng = Rng(0x5eed_cafe);
        for book in set.rulebooks() {
            let compiler = Compiler::new(book)?;
            let classes: Vec<(Attr, Vec<Vec<u32>>)> = ITEM_DIMS
                .iter()
                .chain(&RECIPIENT_DIMS)
                .map(|a| (*a, compiler.classes(*a)))
                .collect();
            for _ in 0..500 {
                let mut p = random_point(&mut rng, &compiler.domains);
                let facts = facts_of(&p);
                let e = compiler.evaluate(&mut p);
                let outcome = book.outcome(&facts)?;
                assert_eq!(mask_of(&outcome.bases), e.bases, "{} {facts:?}", book.id());
                assert_eq!(mask_of(&outcome.reasons), e.reasons, "{facts:?}");
                assert_eq!(mask_of(&outcome.conditions), e.conditions, "{facts:?}");
                assert_eq!(outcome.via, e.via, "{facts:?}");
                let mut q = p;
                for (a, cs) in &classes {
                    if let Some(rep) = cs
                        .iter()
                        .find(|c| c.contains(&q[a.at()]))
                        .and_then(|c| c.first())
                    {
                        q[a.at()] = *rep;
                    }
                }
                assert_eq!(compiler.evaluate(&mut q), e, "{facts:?}");
            }
        }
        Ok(())
    }

    /// A policy's result does not change when a fact it does not read changes — checked
    /// by Cedar at points where the policy holds and where it does not — so the tables
    /// miss nothing a policy reads.
    #[test]
    fn facts_a_policy_does_not_read_never_change_its_result() -> TestResult {
        let set = RulebookSet::defaults(EffectiveDates::default())?;
        let mut rng = Rng(0x00de_c1de);
        for book in set.rulebooks() {
            let compiler = Compiler::new(book)?;
            let mut sets: Vec<&PolicySet> = vec![&book.definitions];
            sets.extend(&book.stages);
            sets.extend([&book.restrictions, &book.conditions]);
            for c in compiler.all() {
                let id = book
                    .rules()
                    .get(c.rule)
                    .map(|r| r.policy_id.clone())
                    .ok_or("rule")?;
                let policy = sets
                    .iter()
                    .find_map(|s| s.policy(&PolicyId::new(id.as_ref())))
                    .ok_or("policy")?;
                let single = PolicySet::from_policies([policy.clone()])?;
                for wanted in [true, false] {
                    let entries: Vec<usize> = (0..c.table.len())
                        .filter(|i| c.table.get(*i) == Some(&wanted))
                        .collect();
                    let step = (entries.len() / 12).max(1);
                    for i in entries.into_iter().step_by(step) {
                        let mut p = random_point(&mut rng, &compiler.domains);
                        for &(a, stride) in &c.deps {
                            p[a] = u32::try_from((i / stride) % compiler.domains[a] as usize)?;
                        }
                        assert_eq!(compiler.satisfied(&single, &p)?, wanted, "{id}");
                        for other in (0..N).filter(|a| c.stride_of(*a).is_none()) {
                            let dom = compiler.domains[other];
                            let values: Vec<u32> = if dom <= 16 {
                                (0..dom).collect()
                            } else {
                                (0..16).map(|_| rng.below(dom)).collect()
                            };
                            for v in values {
                                let mut q = p;
                                q[other] = v;
                                assert_eq!(
                                    compiler.satisfied(&single, &q)?,
                                    wanted,
                                    "{} `{id}` changes with {:?}",
                                    book.id(),
                                    ATTRS.get(other)
                                );
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
