//! Written advice to an organisation about a serious vulnerability, its follow-up, and
//! the escalation to the ministry overseeing the organisation's sector when the measures
//! are not confirmed in time (an item of kind `escalation`, purpose `escalation`, decided
//! by the rulebook like any share: rule W7).

use std::fmt::Write as _;

use schakel_domain::{Cve, Date, ItemKind, OrgSlug, Principal, Purpose, Role, Tlp, parse_date};
use schakel_formats::item::ItemRecord;
use schakel_formats::report::{AdviceRecord, AdviceRequest};
use schakel_store::{AdviceRow, NewAuditEntry, Tx};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::access::{Action, require};
use crate::items::ItemView;
use crate::tokens::random_hex;
use crate::{App, AppError};

/// Where a piece of advice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdviceState {
    /// Waiting for the organisation's confirmation; the follow-up date has not passed.
    Open,
    /// The organisation confirmed the measures.
    Confirmed,
    /// The follow-up date passed without confirmation: to be escalated.
    Flagged,
    /// Escalated to the overseeing ministry.
    Escalated,
}

impl AdviceState {
    /// The identifier in files and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            AdviceState::Open => "open",
            AdviceState::Confirmed => "confirmed",
            AdviceState::Flagged => "flagged",
            AdviceState::Escalated => "escalated",
        }
    }
}

/// What advice says (stored as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct AdviceContent {
    title: String,
    measures: Vec<String>,
    #[serde(default)]
    cves: Vec<String>,
}

/// A piece of written advice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    /// The stored row.
    pub row: AdviceRow,
    /// Where it stands today.
    pub state: AdviceState,
}

impl Advice {
    fn content(&self) -> AdviceContent {
        serde_json::from_value(self.row.content.clone()).unwrap_or(AdviceContent {
            title: String::new(),
            measures: vec![],
            cves: vec![],
        })
    }

    /// The advice as answered.
    pub fn record(&self) -> AdviceRecord {
        let c = self.content();
        AdviceRecord {
            id: self.row.id.clone(),
            organisation: self.row.organisation.to_string(),
            title: c.title,
            measures: c.measures,
            follow_up: self.row.follow_up.to_string(),
            report: self.row.report_id.clone(),
            cves: c.cves,
            state: self.state.as_str().to_owned(),
            given_at: self.row.given_at.to_string(),
            given_by: self.row.given_by.clone(),
            confirmed_at: self.row.confirmed_at.map(|t| t.to_string()),
            confirmation: self.row.confirmation.clone(),
            escalation_item: self.row.escalation_item.clone(),
        }
    }
}

fn state_of(row: &AdviceRow, today: Date) -> AdviceState {
    if row.escalation_item.is_some() {
        AdviceState::Escalated
    } else if row.confirmed_at.is_some() {
        AdviceState::Confirmed
    } else if today > row.follow_up {
        AdviceState::Flagged
    } else {
        AdviceState::Open
    }
}

fn not_found(id: &str) -> AppError {
    AppError::NotFound(format!("no advice `{id}`"))
}

impl App {
    fn load_advice(&self, tx: &mut dyn Tx, id: &str) -> Result<Advice, AppError> {
        let row = tx.advice(id)?.ok_or_else(|| not_found(id))?;
        let state = state_of(&row, self.clock.today());
        Ok(Advice { row, state })
    }

    fn audit_advice(
        &self,
        tx: &mut dyn Tx,
        principal: &Principal,
        id: &str,
        action: &str,
        after: serde_json::Value,
    ) -> Result<(), AppError> {
        tx.append_audit(NewAuditEntry {
            at: self.clock.now(),
            actor: principal.actor(),
            action: format!("advice.{action}"),
            subject: format!("advice:{id}"),
            before: None,
            after: Some(after),
        })?;
        Ok(())
    }

    /// Records written advice to an organisation. Analysts only.
    pub fn give_advice(
        &self,
        principal: &Principal,
        request: &AdviceRequest,
    ) -> Result<Advice, AppError> {
        require(principal, Action::WorkReports)?;
        let organisation = OrgSlug::parse(&request.organisation)
            .map_err(|e| AppError::field("organisation", e.0))?;
        let title = request.title.trim();
        if title.is_empty() || title.contains(['\n', '\r']) {
            return Err(AppError::field("title", "must be one non-empty line"));
        }
        let measures: Vec<String> = request
            .measures
            .iter()
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty())
            .collect();
        if measures.is_empty() {
            return Err(AppError::field(
                "measures",
                "name at least one measure advised",
            ));
        }
        let follow_up =
            parse_date(&request.follow_up).map_err(|e| AppError::field("follow_up", e.0))?;
        if follow_up < self.clock.today() {
            return Err(AppError::field(
                "follow_up",
                format!("`{follow_up}` has passed"),
            ));
        }
        for (i, c) in request.cves.iter().enumerate() {
            Cve::parse(c).map_err(|e| AppError::field(&format!("cves[{i}]"), e.0))?;
        }
        let mut tx = self.store.write()?;
        let registry = self.registry_in(&mut *tx)?;
        if registry.get(&organisation).is_none() {
            return Err(AppError::field(
                "organisation",
                format!("no organisation `{organisation}` in the registry"),
            ));
        }
        if let Some(report) = &request.report
            && tx.report(report)?.is_none()
        {
            return Err(AppError::field("report", format!("no report `{report}`")));
        }
        let id = format!("adv_{}", random_hex(8)?);
        let row = AdviceRow {
            id: id.clone(),
            organisation: organisation.clone(),
            report_id: request.report.clone(),
            content: json!(AdviceContent {
                title: title.to_owned(),
                measures,
                cves: request.cves.clone(),
            }),
            follow_up,
            given_at: self.clock.now(),
            given_by: principal.actor(),
            confirmed_at: None,
            confirmed_by: None,
            confirmation: None,
            escalated_at: None,
            escalation_item: None,
        };
        tx.put_advice(&row)?;
        self.audit_advice(
            &mut *tx,
            principal,
            &id,
            "give",
            json!({"organisation": organisation.as_str(), "follow_up": follow_up.to_string(), "report": request.report}),
        )?;
        tx.commit()?;
        Ok(Advice {
            state: state_of(&row, self.clock.today()),
            row,
        })
    }

    /// Every piece of advice (a recipient sees only its own), earliest follow-up first;
    /// with `flagged_only`, only advice due for escalation.
    pub fn advice_list(
        &self,
        principal: &Principal,
        flagged_only: bool,
    ) -> Result<Vec<Advice>, AppError> {
        let own = match principal.role {
            Role::Recipient => principal.organisation.clone(),
            _ => {
                require(principal, Action::ReadReports)?;
                None
            }
        };
        let mut tx = self.store.read()?;
        let today = self.clock.today();
        Ok(tx
            .all_advice()?
            .into_iter()
            .filter(|r| own.as_ref().is_none_or(|o| &r.organisation == o))
            .map(|row| Advice {
                state: state_of(&row, today),
                row,
            })
            .filter(|a| !flagged_only || a.state == AdviceState::Flagged)
            .collect())
    }

    /// Records that the organisation confirmed the measures (an analyst, or the
    /// organisation's own token).
    pub fn confirm_advice(
        &self,
        principal: &Principal,
        id: &str,
        confirmation: &str,
    ) -> Result<Advice, AppError> {
        let mut tx = self.store.write()?;
        let mut advice = self.load_advice(&mut *tx, id)?;
        let own = principal.role == Role::Recipient
            && principal.organisation.as_ref() == Some(&advice.row.organisation);
        if !own {
            if principal.role == Role::Recipient {
                return Err(not_found(id));
            }
            require(principal, Action::WorkReports)?;
        }
        match advice.state {
            AdviceState::Confirmed => {
                return Err(AppError::Conflict(format!(
                    "advice `{id}` was already confirmed"
                )));
            }
            AdviceState::Escalated => {
                return Err(AppError::Conflict(format!(
                    "advice `{id}` was escalated already (item {})",
                    advice.row.escalation_item.as_deref().unwrap_or("?")
                )));
            }
            AdviceState::Open | AdviceState::Flagged => {}
        }
        let text = confirmation.trim();
        if text.is_empty() {
            return Err(AppError::field(
                "confirmation",
                "say which measures were taken",
            ));
        }
        advice.row.confirmed_at = Some(self.clock.now());
        advice.row.confirmed_by = Some(principal.actor());
        advice.row.confirmation = Some(text.to_owned());
        tx.put_advice(&advice.row)?;
        self.audit_advice(
            &mut *tx,
            principal,
            id,
            "confirm",
            json!({"late": advice.state == AdviceState::Flagged}),
        )?;
        tx.commit()?;
        advice.state = AdviceState::Confirmed;
        Ok(advice)
    }

    /// Escalates flagged advice: makes a draft item of kind and purpose `escalation` that
    /// concerns the organisation and carries the advice; the planner proposes the
    /// ministries overseeing its sectors and the rulebook decides (W7). It is sent like any
    /// item (four eyes, audit). Analysts only.
    pub fn escalate_advice(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<(Advice, ItemView), AppError> {
        require(principal, Action::WorkReports)?;
        let mut tx = self.store.write()?;
        let mut advice = self.load_advice(&mut *tx, id)?;
        match advice.state {
            AdviceState::Flagged => {}
            AdviceState::Open => {
                return Err(AppError::Conflict(format!(
                    "advice `{id}` is not due for escalation: its follow-up date is {}",
                    advice.row.follow_up
                )));
            }
            AdviceState::Confirmed => {
                return Err(AppError::Conflict(format!(
                    "advice `{id}` was followed: the measures were confirmed"
                )));
            }
            AdviceState::Escalated => {
                return Err(AppError::Conflict(format!(
                    "advice `{id}` was escalated already (item {})",
                    advice.row.escalation_item.as_deref().unwrap_or("?")
                )));
            }
        }
        let registry = self.registry_in(&mut *tx)?;
        let org = registry.get(&advice.row.organisation).ok_or_else(|| {
            AppError::Conflict(format!(
                "`{}` is no longer in the registry",
                advice.row.organisation
            ))
        })?;
        let content = advice.content();
        let mut body = String::new();
        let _ = writeln!(
            body,
            "On {} the centre gave {} written advice: {}.\n",
            schakel_domain::legal_date(advice.row.given_at),
            org.name(),
            content.title
        );
        let _ = writeln!(body, "Measures advised:\n");
        for m in &content.measures {
            let _ = writeln!(body, "- {m}");
        }
        let _ = writeln!(
            body,
            "\nThe organisation was asked to confirm the measures by {}. It has not. The \
             centre therefore informs the ministry that oversees its sector.",
            advice.row.follow_up
        );
        if let Some(report) = &advice.row.report_id {
            let _ = writeln!(body, "\nThe advice followed incident report {report}.");
        }
        let record = ItemRecord {
            kind: ItemKind::Escalation.as_str().to_owned(),
            title: format!(
                "Escalation: written advice to {} not followed — {}",
                org.name(),
                content.title
            ),
            body,
            tlp: Tlp::Amber.as_str().to_owned(),
            concerns: vec![org.slug().to_string()],
            confidential: false,
            confidentiality_markers: vec!["specific_systems".into(), "agreements".into()],
            consent: vec![],
            purpose: Some(Purpose::Escalation.as_str().to_owned()),
            serious: true,
            personal_data: false,
            national_security: false,
            named_recipients: vec![],
            source_restriction: None,
            source: Some(format!("written advice {id}")),
            cves: content.cves.clone(),
            indicators: vec![],
            sectors: org.sectors().iter().map(ToString::to_string).collect(),
        };
        let value = serde_json::to_value(&record)
            .map_err(|e| AppError::Internal(format!("cannot write the item: {e}")))?;
        let item = self.parse_checked(&mut *tx, value)?;
        let view = self.insert_item(&mut *tx, principal, item)?;
        advice.row.escalated_at = Some(self.clock.now());
        advice.row.escalation_item = Some(view.row.id.clone());
        tx.put_advice(&advice.row)?;
        self.audit_advice(
            &mut *tx,
            principal,
            id,
            "escalate",
            json!({"item": view.row.id}),
        )?;
        tx.commit()?;
        advice.state = AdviceState::Escalated;
        Ok((advice, view))
    }
}
