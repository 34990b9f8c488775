//! Published statistics: reports per quarter by the reporter's first sector and incident
//! category, with small cells suppressed so that no organisation can be identified
//! (RULEBOOK.md "Disclosure (Woo) and statistics").

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use schakel_domain::{IncidentCategory, OrgSlug, Principal, day_start};
use schakel_formats::report::{CellRecord, StatsRecord};
use schakel_store::ReportQuery;

use crate::access::{Action, require};
use crate::suppress::{Table, Tally, suppress};
use crate::{App, AppError};

/// The sector of a reporter that is no longer in the registry, or has no sector.
pub const UNKNOWN_SECTOR: &str = "unknown";

/// How the statistics protect reporters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsOptions {
    /// Fewest reports a published number holds.
    pub threshold: u64,
    /// Fewest distinct organisations a published number's reports come from.
    pub min_organisations: u64,
}

impl Default for StatsOptions {
    fn default() -> Self {
        Self {
            threshold: 5,
            min_organisations: 3,
        }
    }
}

/// A quarter, `YYYY-Qn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quarter {
    /// The year.
    pub year: i16,
    /// 1 to 4.
    pub quarter: i8,
}

impl Quarter {
    /// Parses `2026-Q3`.
    pub fn parse(text: &str) -> Result<Self, AppError> {
        let bad = || {
            AppError::field(
                "period",
                format!("`{text}` is not a quarter such as 2026-Q3"),
            )
        };
        let (year, q) = text.split_once("-Q").ok_or_else(bad)?;
        let year: i16 = year.parse().map_err(|_| bad())?;
        let quarter: i8 = q.parse().map_err(|_| bad())?;
        if !(1..=4).contains(&quarter)
            || !(1900..=9999).contains(&year)
            || year.to_string().len() != 4
        {
            return Err(bad());
        }
        Ok(Self { year, quarter })
    }

    /// Its first day, and the first day after it.
    pub fn dates(self) -> Result<(Date, Date), AppError> {
        let month = (self.quarter - 1) * 3 + 1;
        let first = Date::new(self.year, month, 1)
            .map_err(|e| AppError::Internal(format!("quarter start: {e}")))?;
        let next = first
            .checked_add(jiff::Span::new().months(3))
            .map_err(|e| AppError::Internal(format!("quarter end: {e}")))?;
        Ok((first, next))
    }
}

impl std::fmt::Display for Quarter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-Q{}", self.year, self.quarter)
    }
}

impl App {
    /// The statistics of a quarter (by `aware_at` in Europe/Amsterdam). Reports of the
    /// category `test` are not counted. Staff only.
    pub fn statistics(
        &self,
        principal: &Principal,
        period: &str,
        options: StatsOptions,
    ) -> Result<StatsRecord, AppError> {
        require(principal, Action::Statistics)?;
        if options.threshold == 0 || options.min_organisations == 0 {
            return Err(AppError::field(
                "threshold",
                "the threshold and the number of organisations must be at least 1",
            ));
        }
        let quarter = Quarter::parse(period)?;
        let (first, next) = quarter.dates()?;
        let mut tx = self.store.read()?;
        let registry = self.registry_in(&mut *tx)?;
        let (rows, _) = tx.find_reports(&ReportQuery {
            aware_from: Some(day_start(first).map_err(|e| AppError::Internal(e.0))?),
            aware_before: Some(day_start(next).map_err(|e| AppError::Internal(e.0))?),
            limit: u64::MAX >> 1,
            ..ReportQuery::default()
        })?;
        type Counts = BTreeMap<(String, IncidentCategory), (u64, BTreeSet<OrgSlug>)>;
        let mut counts: Counts = BTreeMap::new();
        for row in rows
            .into_iter()
            .filter(|r| r.category != IncidentCategory::Test)
        {
            let sector = registry
                .get(&row.reporter)
                .and_then(|o| o.primary_sector())
                .map_or_else(|| UNKNOWN_SECTOR.to_owned(), ToString::to_string);
            let entry = counts.entry((sector, row.category)).or_default();
            entry.0 += 1;
            entry.1.insert(row.reporter);
        }
        let sectors: Vec<String> = counts
            .keys()
            .map(|(s, _)| s.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let categories: Vec<IncidentCategory> = counts
            .keys()
            .map(|(_, c)| *c)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut row_orgs = vec![BTreeSet::new(); sectors.len()];
        let mut col_orgs = vec![BTreeSet::new(); categories.len()];
        let mut all_orgs = BTreeSet::new();
        let mut table = Table {
            rows: sectors.len(),
            cols: categories.len(),
            row_totals: vec![Tally::default(); sectors.len()],
            col_totals: vec![Tally::default(); categories.len()],
            ..Table::default()
        };
        for ((sector, category), (n, orgs)) in &counts {
            let r = sectors.binary_search(sector).unwrap_or_default();
            let c = categories.binary_search(category).unwrap_or_default();
            table.cells.push((
                r,
                c,
                Tally {
                    reports: *n,
                    organisations: orgs.len() as u64,
                },
            ));
            for (tally, set) in [
                (table.row_totals.get_mut(r), row_orgs.get_mut(r)),
                (table.col_totals.get_mut(c), col_orgs.get_mut(c)),
                (Some(&mut table.total), Some(&mut all_orgs)),
            ] {
                if let (Some(tally), Some(set)) = (tally, set) {
                    tally.reports += n;
                    set.extend(orgs.iter().cloned());
                    tally.organisations = set.len() as u64;
                }
            }
        }
        let publication = suppress(&table, options.threshold, options.min_organisations);
        let shown = |published: bool, n: u64| published.then_some(n);
        let cells = table
            .cells
            .iter()
            .zip(&publication.cells)
            .map(|((r, c, t), p)| CellRecord {
                sector: sectors.get(*r).cloned().unwrap_or_default(),
                category: categories
                    .get(*c)
                    .map(|c| c.as_str().to_owned())
                    .unwrap_or_default(),
                count: shown(*p, t.reports),
            })
            .collect();
        Ok(StatsRecord {
            period: quarter.to_string(),
            threshold: options.threshold,
            min_organisations: options.min_organisations,
            cells,
            sector_totals: sectors
                .iter()
                .zip(table.row_totals.iter().zip(&publication.rows))
                .map(|(s, (t, p))| (s.clone(), shown(*p, t.reports)))
                .collect(),
            category_totals: categories
                .iter()
                .zip(table.col_totals.iter().zip(&publication.cols))
                .map(|(c, (t, p))| (c.as_str().to_owned(), shown(*p, t.reports)))
                .collect(),
            total: shown(publication.total, table.total.reports),
        })
    }
}
