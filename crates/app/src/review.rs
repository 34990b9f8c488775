//! The legal officer's review list: every candidate the rulebook denies in the current plan
//! of an item that is still live, with its reasons and the single change that would permit.

use schakel_domain::{Date, ItemStatus, Principal};
use schakel_rulebook::Decision;
use schakel_store::{ItemQuery, ItemRow};

use crate::access::{Action, require};
use crate::items::load_item;
use crate::{App, AppError};

/// One item's denies.
#[derive(Debug, Clone)]
pub struct ReviewEntry {
    /// The item.
    pub item: ItemRow,
    /// Today's denies, each with reasons and remedies.
    pub denies: Vec<Decision>,
}

impl ReviewEntry {
    /// The entry as answered.
    pub fn record(&self) -> schakel_formats::item::ReviewRecord {
        schakel_formats::item::ReviewRecord {
            item: self.item.id.clone(),
            version: self.item.version,
            title: self.item.title.clone(),
            status: self.item.status.as_str().to_owned(),
            tlp: self.item.tlp.as_str().to_owned(),
            created_by: self.item.created_by.clone(),
            denies: self
                .denies
                .iter()
                .map(schakel_formats::item::PlanDenyRecord::from_decision)
                .collect(),
        }
    }
}

impl App {
    /// Items created on or after `since` (every item when `None`) that are not retracted,
    /// with the denies of their plan today; items without denies are left out. Newest
    /// first. Legal officers and administrators.
    pub fn reviews(
        &self,
        principal: &Principal,
        since: Option<Date>,
    ) -> Result<Vec<ReviewEntry>, AppError> {
        require(principal, Action::Review)?;
        let mut tx = self.store.read()?;
        let (items, _) = tx.find_items(&ItemQuery {
            limit: u64::MAX >> 1,
            ..ItemQuery::default()
        })?;
        let mut out = Vec::new();
        for row in items {
            if row.status == ItemStatus::Retracted
                || since.is_some_and(|d| schakel_domain::legal_date(row.created_at) < d)
            {
                continue;
            }
            let view = load_item(&mut *tx, &self.vocabulary, &row.id)?;
            let plan = self.plan_in(&mut *tx, &view)?;
            if !plan.denies.is_empty() {
                out.push(ReviewEntry {
                    item: view.row,
                    denies: plan.denies,
                });
            }
        }
        Ok(out)
    }
}
