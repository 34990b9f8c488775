//! Sharing decisions and the rulebooks behind them.

use schakel_domain::{Principal, Registry};
use schakel_formats::decision::parse_decision_request;
use schakel_rulebook::{DecideError, Decision, DecisionRequest};
use std::sync::Arc;

use schakel_store::{NewAuditEntry, Tx};

use crate::access::{Action, require};
use crate::{App, AppError};

pub(crate) fn decide_error(e: DecideError) -> AppError {
    match e {
        DecideError::UnknownOrganisation {
            ref field,
            ref slug,
        } => AppError::field(field, format!("no organisation `{slug}` in the registry")),
        DecideError::EndedRecipient { .. } => AppError::field("recipient", e.to_string()),
        DecideError::BeforeFirstRulebook { .. } => AppError::field("at", e.to_string()),
        DecideError::Engine { .. } => AppError::Internal(e.to_string()),
    }
}

impl App {
    /// The rulebooks, for staff.
    pub fn rulebooks_for(
        &self,
        principal: &Principal,
    ) -> Result<&schakel_rulebook::RulebookSet, AppError> {
        require(principal, Action::Decide)?;
        Ok(&self.rulebooks)
    }

    /// The registry as it stands, in memory (for decisions and plans). It is read from the
    /// store only when it changed since it was last read (in any process).
    pub fn registry(&self) -> Result<Arc<Registry>, AppError> {
        let mut tx = self.store.read()?;
        self.registry_in(&mut *tx)
    }

    /// The registry as `tx` sees it, from the cache when its version is unchanged.
    pub(crate) fn registry_in(&self, tx: &mut dyn Tx) -> Result<Arc<Registry>, AppError> {
        let version = tx.registry_version()?;
        if let Ok(cache) = self.registry_cache.lock()
            && let Some((cached, registry)) = cache.as_ref()
            && *cached == version
        {
            return Ok(Arc::clone(registry));
        }
        let registry = Arc::new(Registry::new(tx.organisations()?));
        if let Ok(mut cache) = self.registry_cache.lock() {
            *cache = Some((version, Arc::clone(&registry)));
        }
        Ok(registry)
    }

    /// Decides a request given as JSON (FORMATS.md "Decision request"). A malformed request
    /// or an unknown organisation is an error naming the field, never a deny.
    pub fn decide_json(
        &self,
        principal: &Principal,
        request: serde_json::Value,
    ) -> Result<Decision, AppError> {
        require(principal, Action::Decide)?;
        let request = parse_decision_request(request, self.clock.now())
            .map_err(|issues| AppError::from_issues("decision request", issues))?;
        self.decide(principal, &request)
    }

    /// Decides a parsed request against the current registry.
    pub fn decide(
        &self,
        principal: &Principal,
        request: &DecisionRequest,
    ) -> Result<Decision, AppError> {
        require(principal, Action::Decide)?;
        let mut tx = self.store.write()?;
        let registry = self.registry_in(&mut *tx)?;
        let decision = self
            .rulebooks
            .decide(&registry, request)
            .map_err(decide_error)?;
        // Every decision asked for is recorded: references only (slugs, rule ids, hashes).
        tx.append_audit(NewAuditEntry {
            at: self.clock.now(),
            actor: principal.actor(),
            action: "decision".into(),
            subject: format!("decision:{}", decision.recipient),
            before: None,
            after: Some(serde_json::json!({
                "at": decision.at.to_string(),
                "decision": if decision.permitted { "permit" } else { "deny" },
                "rulebook": decision.rulebook.as_ref(),
                "rulebook_hash": decision.rulebook_hash.as_ref(),
                "bases": decision.bases.iter().map(|b| b.rule.as_ref()).collect::<Vec<_>>(),
                "reasons": decision.reasons.iter().map(|r| r.rule.rule.as_ref()).collect::<Vec<_>>(),
                "concerns": request.item.concerns.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                "tlp": request.item.tlp.as_str(),
            })),
        })?;
        tx.commit()?;
        Ok(decision)
    }

    /// Records in the audit log every rulebook whose text differs from the one last recorded
    /// (who, when, old and new hash). Returns the ids of the rulebooks recorded.
    pub fn record_rulebooks(&self, principal: &Principal) -> Result<Vec<String>, AppError> {
        let mut tx = self.store.write()?;
        let mut recorded = Vec::new();
        for book in self.rulebooks.rulebooks() {
            let subject = format!("rulebook:{}", book.id());
            let last = tx.audit_entries(&subject)?.pop();
            let last_hash = last
                .as_ref()
                .and_then(|e| e.entry.after.as_ref())
                .and_then(|a| a.get("hash"))
                .and_then(|h| h.as_str())
                .map(str::to_owned);
            if last_hash.as_deref() == Some(book.hash()) {
                continue;
            }
            let state = |hash: &str| {
                serde_json::json!({
                    "hash": hash,
                    "file": book.file(),
                    "from": book.from().to_string(),
                    "until": book.until().map(|d| d.to_string()),
                })
            };
            tx.append_audit(NewAuditEntry {
                at: self.clock.now(),
                actor: principal.actor(),
                action: if last.is_some() {
                    "rulebook.amend"
                } else {
                    "rulebook.adopt"
                }
                .into(),
                subject,
                before: last.and_then(|e| e.entry.after),
                after: Some(state(book.hash())),
            })?;
            recorded.push(book.id().to_owned());
        }
        tx.commit()?;
        Ok(recorded)
    }
}
