//! schakel's sharing rulebooks: the law as policy files a legal officer can read and amend,
//! and the decisions taken with them.
//!
//! A decision is taken in three steps. [`facts`] reduces the registry, the item and the
//! date to a small set of abstract facts (RULEBOOK.md "Facts a decision uses" and its
//! definitions of "serves", "others"…). The [`Rulebook`] in force on the date evaluates
//! its Cedar policies over those facts: definitions, then permitting rules (bases) stage by
//! stage, then the route, then restrictions, then conditions. Outcomes are memoised by the
//! facts, so a constituency-wide plan costs a few hash look-ups per recipient. Finally a
//! deny looks for remedies: single changes that would turn it into a permit, each checked
//! by deciding again.
//!
//! This crate does no IO: rulebook texts come in as strings, the registry as values.

mod check;
mod decision;
mod engine;
mod error;
pub mod facts;
mod remedy;

pub use check::{CheckError, CheckReport, FactClasses, FactValues, RuleCount, Unshareable, check};
pub use decision::{
    Decision, DecisionRequest, ItemFacts, Permit, Reason, Remedy, RemedyKind, Route, RouteKind,
    RuleRef, Verdict,
};
pub use engine::{
    EffectiveDates, RuleInfo, RuleKind, Rulebook, RulebookSet, RulebookSource, split_citation,
};
pub use error::{DecideError, RulebookError};

/// The embedded default rulebooks (the files under `rulebooks/` in the repository).
pub mod defaults {
    /// The schema every rulebook is validated against.
    pub const SCHEMA: &str = include_str!("../../../rulebooks/schema.cedarschema");
    /// Wbni from 9 Nov 2018 to 30 Nov 2022.
    pub const WBNI_2018: &str = include_str!("../../../rulebooks/wbni-2018.cedar");
    /// Wbni as amended 1 Dec 2022, until the Cbw starts.
    pub const WBNI_2022: &str = include_str!("../../../rulebooks/wbni-2022.cedar");
    /// Cyberbeveiligingswet.
    pub const CBW_2026: &str = include_str!("../../../rulebooks/cbw-2026.cedar");
}
