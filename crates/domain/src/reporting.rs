//! Reporting clocks: which legal reporting regimes apply to an incident report, and when
//! each step is due (RULEBOOK.md "Reporting regimes").
//!
//! The regimes are data ([`RegimeTable`], read from `rulebooks/reporting-regimes.toml` by
//! `schakel-formats`); this module only evaluates them. Hours are elapsed hours; months
//! are calendar months in Europe/Amsterdam, clamped to the month's last day.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};

use crate::{AMSTERDAM, IncidentReport, Sector, Status};

/// What a deadline runs from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    /// The report's `aware_at`.
    AwareAt,
    /// The report's `classified_at`.
    ClassifiedAt,
    /// The report's `reportable_at`.
    ReportableAt,
    /// The recorded submission of an earlier step of the same regime (until one is
    /// recorded: that step's deadline, provisionally).
    Submitted(String),
}

impl Anchor {
    /// How the anchor is written in the regime table.
    pub fn as_text(&self) -> String {
        match self {
            Anchor::AwareAt => "aware_at".into(),
            Anchor::ClassifiedAt => "classified_at".into(),
            Anchor::ReportableAt => "reportable_at".into(),
            Anchor::Submitted(step) => format!("submitted:{step}"),
        }
    }

    fn describe(&self) -> String {
        match self {
            Anchor::AwareAt => "awareness".into(),
            Anchor::ClassifiedAt => "classification".into(),
            Anchor::ReportableAt => "the moment it became reportable".into(),
            Anchor::Submitted(step) => format!("the `{step}` submission"),
        }
    }
}

/// A length of time after an anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// Elapsed hours.
    Hours(u32),
    /// Calendar months in Europe/Amsterdam (same local time, day clamped to the month).
    Months(u32),
}

impl Period {
    fn describe(self) -> String {
        match self {
            Period::Hours(h) => format!("{h} h"),
            Period::Months(1) => "1 month".into(),
            Period::Months(m) => format!("{m} months"),
        }
    }

    /// `at` plus this period.
    pub fn after(self, at: Timestamp) -> Option<Timestamp> {
        match self {
            Period::Hours(h) => at
                .checked_add(SignedDuration::from_hours(i64::from(h)))
                .ok(),
            Period::Months(m) => {
                let zone = TimeZone::get(AMSTERDAM).unwrap_or(TimeZone::UTC);
                at.to_zoned(zone)
                    .checked_add(i64::from(m).months())
                    .ok()
                    .map(|z| z.timestamp())
            }
        }
    }
}

/// A deadline: a period after an anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    /// What it runs from.
    pub from: Anchor,
    /// How long after.
    pub period: Period,
}

/// When a step is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// Without delay: no fixed deadline.
    WithoutDelay,
    /// Only when the authority asks.
    OnRequest,
    /// A deadline.
    After {
        /// The deadline.
        deadline: Deadline,
        /// A latest deadline it may not pass (the earlier of the two counts).
        at_most: Option<Deadline>,
        /// The deadline while the anchor is unknown, and whether it is then provisional.
        while_missing: Option<(Deadline, bool)>,
    },
}

/// One step of a regime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Its id (`early_warning`, `notification`…).
    pub id: String,
    /// When it is due.
    pub due: Due,
}

/// A fact of the report a regime can depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFact {
    /// `significant`.
    Significant,
    /// `personal_data`.
    PersonalData,
    /// `cross_border`.
    CrossBorder,
    /// `malicious`.
    Malicious,
}

impl ReportFact {
    /// Every fact, with its field name.
    pub const ALL: [(ReportFact, &'static str); 4] = [
        (ReportFact::Significant, "significant"),
        (ReportFact::PersonalData, "personal_data"),
        (ReportFact::CrossBorder, "cross_border"),
        (ReportFact::Malicious, "malicious"),
    ];

    /// The field name (`significant`, …).
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(f, _)| *f == self)
            .map_or("?", |(_, name)| name)
    }

    fn holds(self, report: &IncidentReport) -> bool {
        match self {
            ReportFact::Significant => report.significant,
            ReportFact::PersonalData => report.personal_data,
            ReportFact::CrossBorder => report.cross_border,
            ReportFact::Malicious => report.malicious,
        }
    }
}

/// When a regime applies: every given condition must hold (an empty list is no condition).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applies {
    /// The reporter holds one of these designations on the awareness date.
    pub designations_any: Vec<Status>,
    /// The reporter's sectors include one of these.
    pub sectors_any: Vec<Sector>,
    /// All of these facts of the report are true.
    pub facts_all: Vec<ReportFact>,
}

/// A legal reporting regime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Regime {
    /// Its id (`wbni`, `cbw`, `dora`, `gdpr`, `nccs`).
    pub id: String,
    /// Its name for people.
    pub name: String,
    /// Where the duty is written (without the authors' doubt marker `(?)`).
    pub citation: String,
    /// The table marks the citation `(?)`: it rests on secondary sources.
    pub citation_uncertain: bool,
    /// Whom to report to.
    pub report_to: String,
    /// When it applies.
    pub applies: Applies,
    /// Regimes whose steps this one displaces when it applies (sector law with equivalent
    /// reporting, Cbw art. 31), if displacement is switched on.
    pub displaces: Vec<String>,
    /// Its steps, in order.
    pub steps: Vec<Step>,
}

/// Every regime, and whether sector law displaces the Cbw's steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegimeTable {
    /// The regimes.
    pub regimes: Vec<Regime>,
    /// Whether `displaces` takes effect (a setting, on by default).
    pub displacement: bool,
}

/// What the reporter is, as the registry says on the awareness date.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReporterFacts {
    /// Designations held on the awareness date.
    pub statuses: Vec<Status>,
    /// Its sectors.
    pub sectors: Vec<Sector>,
}

/// A step submitted to the authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// The regime.
    pub regime: String,
    /// The step.
    pub step: String,
    /// When it was submitted.
    pub at: Timestamp,
}

/// One step's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportingClock {
    /// The regime.
    pub regime: String,
    /// The step.
    pub step: String,
    /// The deadline; `None` when the step has none (then `basis` says why).
    pub due: Option<Timestamp>,
    /// The deadline rests on something not yet known (an earlier step's deadline instead
    /// of its submission, or awareness instead of classification).
    pub provisional: bool,
    /// How the deadline was reckoned.
    pub basis: String,
    /// Whom to report to.
    pub report_to: String,
    /// When it was submitted, once recorded.
    pub submitted_at: Option<Timestamp>,
}

impl ReportingClock {
    /// Not submitted and past its deadline at `now`.
    pub fn overdue(&self, now: Timestamp) -> bool {
        self.submitted_at.is_none() && self.due.is_some_and(|d| d < now)
    }
}

/// Every applicable regime's clocks for a report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Clocks {
    /// Each step of each regime that applies, in table order.
    pub clocks: Vec<ReportingClock>,
    /// Regimes that apply but whose steps another regime displaces: (displaced, by).
    pub displaced: Vec<(String, String)>,
}

impl Applies {
    fn holds(&self, report: &IncidentReport, reporter: &ReporterFacts) -> bool {
        (self.designations_any.is_empty()
            || self
                .designations_any
                .iter()
                .any(|s| reporter.statuses.contains(s)))
            && (self.sectors_any.is_empty()
                || self
                    .sectors_any
                    .iter()
                    .any(|s| reporter.sectors.contains(s)))
            && self.facts_all.iter().all(|f| f.holds(report))
    }
}

/// Where an anchor's instant comes from.
struct Resolved {
    at: Timestamp,
    provisional: bool,
    note: Option<String>,
}

impl RegimeTable {
    /// The regimes that apply to a report.
    pub fn applicable<'a>(
        &'a self,
        report: &IncidentReport,
        reporter: &ReporterFacts,
    ) -> Vec<&'a Regime> {
        self.regimes
            .iter()
            .filter(|r| r.applies.holds(report, reporter))
            .collect()
    }

    /// Every clock of a report, given the submissions recorded.
    pub fn clocks(
        &self,
        report: &IncidentReport,
        reporter: &ReporterFacts,
        submissions: &[Submission],
    ) -> Clocks {
        let applicable = self.applicable(report, reporter);
        let mut out = Clocks::default();
        for regime in &applicable {
            let displaced_by = applicable
                .iter()
                .find(|other| self.displacement && other.displaces.contains(&regime.id));
            if let Some(by) = displaced_by {
                out.displaced.push((regime.id.clone(), by.id.clone()));
                continue;
            }
            let mut done: Vec<ReportingClock> = Vec::new();
            for step in &regime.steps {
                let submitted_at = submissions
                    .iter()
                    .filter(|s| s.regime == regime.id && s.step == step.id)
                    .map(|s| s.at)
                    .min();
                let (due, provisional, basis) = step_due(step, report, &done);
                done.push(ReportingClock {
                    regime: regime.id.clone(),
                    step: step.id.clone(),
                    due,
                    provisional,
                    basis,
                    report_to: regime.report_to.clone(),
                    submitted_at,
                });
            }
            out.clocks.extend(done);
        }
        out
    }
}

fn resolve(
    anchor: &Anchor,
    report: &IncidentReport,
    earlier: &[ReportingClock],
) -> Option<Resolved> {
    let exact = |at: Option<Timestamp>| {
        at.map(|at| Resolved {
            at,
            provisional: false,
            note: None,
        })
    };
    match anchor {
        Anchor::AwareAt => exact(Some(report.aware_at)),
        Anchor::ClassifiedAt => exact(report.classified_at),
        Anchor::ReportableAt => exact(report.reportable_at),
        Anchor::Submitted(step) => {
            let clock = earlier.iter().find(|c| &c.step == step)?;
            match (clock.submitted_at, clock.due) {
                (Some(at), _) => exact(Some(at)),
                (None, Some(due)) => Some(Resolved {
                    at: due,
                    provisional: true,
                    note: Some(format!(
                        "`{step}` not submitted yet: reckoned from its deadline"
                    )),
                }),
                (None, None) => None,
            }
        }
    }
}

fn step_due(
    step: &Step,
    report: &IncidentReport,
    earlier: &[ReportingClock],
) -> (Option<Timestamp>, bool, String) {
    match &step.due {
        Due::WithoutDelay => (None, false, "without delay".into()),
        Due::OnRequest => (None, false, "on request of the authority".into()),
        Due::After {
            deadline,
            at_most,
            while_missing,
        } => {
            let describe =
                |d: &Deadline| format!("{} after {}", d.period.describe(), d.from.describe());
            let (used, resolved, provisional_if_missing) =
                match resolve(&deadline.from, report, earlier) {
                    Some(r) => (deadline, r, false),
                    None => match while_missing {
                        Some((fallback, provisional)) => {
                            match resolve(&fallback.from, report, earlier) {
                                Some(r) => (fallback, r, *provisional),
                                None => {
                                    return (
                                        None,
                                        false,
                                        format!(
                                            "{}: waits for {}",
                                            describe(deadline),
                                            deadline.from.describe()
                                        ),
                                    );
                                }
                            }
                        }
                        None => {
                            return (
                                None,
                                false,
                                format!(
                                    "{}: waits for {}",
                                    describe(deadline),
                                    deadline.from.describe()
                                ),
                            );
                        }
                    },
                };
            let mut basis = describe(used);
            if !std::ptr::eq(used, deadline) {
                basis = format!("{basis} while {} is unknown", deadline.from.describe());
            }
            let mut due = used.period.after(resolved.at);
            let mut provisional = resolved.provisional || provisional_if_missing;
            if let Some(note) = resolved.note {
                basis = format!("{basis} ({note})");
            }
            let cap = at_most
                .as_ref()
                .filter(|_| std::ptr::eq(used, deadline))
                .and_then(|cap| Some((cap, resolve(&cap.from, report, earlier)?)));
            if let Some((cap, r)) = cap {
                if let (Some(d), Some(c)) = (due, cap.period.after(r.at))
                    && c < d
                {
                    due = Some(c);
                    provisional = provisional || r.provisional;
                }
                basis = format!("{basis}, at most {}", describe(cap));
            }
            (due, provisional, basis)
        }
    }
}
