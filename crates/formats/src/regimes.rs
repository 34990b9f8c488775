//! The reporting-regime table (`rulebooks/reporting-regimes.toml`): read into
//! [`RegimeTable`], every problem named by regime and field.

use schakel_domain::{
    Anchor, Applies, Deadline, Due, FieldIssue, Period, Regime, RegimeTable, ReportFact,
    SectorVocabulary, Status, Step,
};
use serde::Deserialize;

/// A regime as `schakel report regimes --json` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RegimeRecord {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Where the duty is written.
    pub citation: String,
    /// The citation rests on secondary sources (marked `(?)` in the table).
    pub citation_uncertain: bool,
    /// Whom to report to.
    pub report_to: String,
    /// Designations, any of which makes it apply (empty: no condition).
    pub designations_any: Vec<String>,
    /// Sectors, any of which makes it apply (empty: no condition).
    pub sectors_any: Vec<String>,
    /// Report facts that must all be true.
    pub facts_all: Vec<String>,
    /// Regimes it displaces (empty when displacement is off).
    pub displaces: Vec<String>,
    /// Its steps, in order.
    pub steps: Vec<String>,
}

impl RegimeRecord {
    /// Every regime of a table.
    pub fn all(table: &RegimeTable) -> Vec<Self> {
        table
            .regimes
            .iter()
            .map(|r| Self {
                id: r.id.clone(),
                name: r.name.clone(),
                citation: r.citation.clone(),
                citation_uncertain: r.citation_uncertain,
                report_to: r.report_to.clone(),
                designations_any: r
                    .applies
                    .designations_any
                    .iter()
                    .map(|s| s.as_str().to_owned())
                    .collect(),
                sectors_any: r
                    .applies
                    .sectors_any
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                facts_all: r
                    .applies
                    .facts_all
                    .iter()
                    .map(|f| f.as_str().to_owned())
                    .collect(),
                displaces: if table.displacement {
                    r.displaces.clone()
                } else {
                    vec![]
                },
                steps: r.steps.iter().map(|s| s.id.clone()).collect(),
            })
            .collect()
    }
}

/// The table that ships with schakel.
pub const DEFAULT_REGIMES: &str = include_str!("../../../rulebooks/reporting-regimes.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    regime: Vec<RegimeEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegimeEntry {
    id: String,
    name: String,
    citation: String,
    report_to: String,
    #[serde(default)]
    applies: AppliesEntry,
    #[serde(default)]
    displaces: Vec<String>,
    steps: Vec<StepEntry>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppliesEntry {
    #[serde(default)]
    designations_any: Vec<String>,
    #[serde(default)]
    sectors_any: Vec<String>,
    #[serde(default)]
    facts_all: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepEntry {
    id: String,
    due: DueEntry,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DueEntry {
    Word(String),
    Deadline(DeadlineEntry),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeadlineEntry {
    hours: Option<u32>,
    months: Option<u32>,
    from: String,
    at_most: Option<Box<DeadlineEntry>>,
    while_missing: Option<Box<DeadlineEntry>>,
    provisional: Option<bool>,
}

struct Reader<'a> {
    issues: Vec<FieldIssue>,
    vocabulary: &'a SectorVocabulary,
    /// Sectors the vocabulary lacks are left out (with a note) instead of refused.
    lenient: bool,
    notes: Vec<String>,
}

impl Reader<'_> {
    fn issue(&mut self, field: String, reason: impl Into<String>) {
        self.issues.push(FieldIssue::new(field, reason));
    }

    fn anchor(&mut self, field: &str, text: &str, earlier: &[String]) -> Option<Anchor> {
        let anchor = match text {
            "aware_at" => Anchor::AwareAt,
            "classified_at" => Anchor::ClassifiedAt,
            "reportable_at" => Anchor::ReportableAt,
            other => match other.strip_prefix("submitted:") {
                Some(step) if earlier.iter().any(|s| s == step) => Anchor::Submitted(step.into()),
                Some(step) => {
                    self.issue(
                        format!("{field}.from"),
                        format!("`{step}` is not an earlier step of this regime"),
                    );
                    return None;
                }
                None => {
                    self.issue(
                        format!("{field}.from"),
                        format!(
                            "`{other}` is not aware_at, classified_at, reportable_at or submitted:<step>"
                        ),
                    );
                    return None;
                }
            },
        };
        Some(anchor)
    }

    fn deadline(&mut self, field: &str, d: &DeadlineEntry, earlier: &[String]) -> Option<Deadline> {
        let period = match (d.hours, d.months) {
            (Some(h), None) if h > 0 => Some(Period::Hours(h)),
            (None, Some(m)) if m > 0 => Some(Period::Months(m)),
            (Some(0), None) | (None, Some(0)) => {
                self.issue(field.to_owned(), "a period must be longer than zero");
                None
            }
            _ => {
                self.issue(field.to_owned(), "give exactly one of `hours` and `months`");
                None
            }
        };
        let from = self.anchor(field, &d.from, earlier);
        Some(Deadline {
            from: from?,
            period: period?,
        })
    }

    fn due(&mut self, field: &str, due: &DueEntry, earlier: &[String]) -> Option<Due> {
        match due {
            DueEntry::Word(w) if w == "without_delay" => Some(Due::WithoutDelay),
            DueEntry::Word(w) if w == "on_request" => Some(Due::OnRequest),
            DueEntry::Word(w) => {
                self.issue(
                    field.to_owned(),
                    format!("`{w}` is not without_delay, on_request or a deadline"),
                );
                None
            }
            DueEntry::Deadline(d) => {
                if d.provisional.is_some() {
                    self.issue(
                        format!("{field}.provisional"),
                        "only a `while_missing` deadline can be provisional",
                    );
                }
                let deadline = self.deadline(field, d, earlier);
                let at_most = d
                    .at_most
                    .as_ref()
                    .map(|a| self.deadline(&format!("{field}.at_most"), a, earlier));
                let while_missing = d.while_missing.as_ref().map(|w| {
                    self.deadline(&format!("{field}.while_missing"), w, earlier)
                        .map(|dl| (dl, w.provisional.unwrap_or(true)))
                });
                Some(Due::After {
                    deadline: deadline?,
                    at_most: at_most.map_or(Some(None), |a| a.map(Some))?,
                    while_missing: while_missing.map_or(Some(None), |w| w.map(Some))?,
                })
            }
        }
    }

    fn regime(&mut self, i: usize, r: &RegimeEntry) -> Option<Regime> {
        let at = |f: &str| format!("regime[{i}] `{}`.{f}", r.id);
        let mut statuses = Vec::new();
        for (j, s) in r.applies.designations_any.iter().enumerate() {
            match s.parse::<Status>() {
                Ok(s) => statuses.push(s),
                Err(e) => self.issue(at(&format!("applies.designations_any[{j}]")), e.0),
            }
        }
        let mut sectors = Vec::new();
        for (j, s) in r.applies.sectors_any.iter().enumerate() {
            match self.vocabulary.parse(s) {
                Ok(s) => sectors.push(s),
                Err(_) if self.lenient => self.notes.push(format!(
                    "regime `{}`: the sector vocabulary has no `{s}`",
                    r.id
                )),
                Err(e) => self.issue(at(&format!("applies.sectors_any[{j}]")), e.0),
            }
        }
        if self.lenient && sectors.is_empty() && !r.applies.sectors_any.is_empty() {
            self.notes.push(format!(
                "regime `{}` left out: none of its sectors is in the vocabulary",
                r.id
            ));
            return None;
        }
        let mut facts = Vec::new();
        for (j, f) in r.applies.facts_all.iter().enumerate() {
            match ReportFact::ALL.iter().find(|(_, name)| name == f) {
                Some((fact, _)) => facts.push(*fact),
                None => self.issue(
                    at(&format!("applies.facts_all[{j}]")),
                    format!("`{f}` is not significant, personal_data, cross_border or malicious"),
                ),
            }
        }
        if r.steps.is_empty() {
            self.issue(at("steps"), "a regime needs at least one step");
        }
        let mut earlier: Vec<String> = Vec::new();
        let mut steps = Vec::new();
        for (j, s) in r.steps.iter().enumerate() {
            if earlier.contains(&s.id) {
                self.issue(
                    at(&format!("steps[{j}].id")),
                    format!("`{}` appears twice", s.id),
                );
            }
            if let Some(due) = self.due(&at(&format!("steps[{j}].due")), &s.due, &earlier) {
                steps.push(Step {
                    id: s.id.clone(),
                    due,
                });
            }
            earlier.push(s.id.clone());
        }
        let (citation, citation_uncertain) = schakel_rulebook::split_citation(&r.citation);
        Some(Regime {
            id: r.id.clone(),
            name: r.name.clone(),
            citation,
            citation_uncertain,
            report_to: r.report_to.clone(),
            applies: Applies {
                designations_any: statuses,
                sectors_any: sectors,
                facts_all: facts,
            },
            displaces: r.displaces.clone(),
            steps,
        })
    }
}

/// Reads a regime table. `displacement` is the setting that lets sector law displace the
/// Cbw's steps. Every problem is reported with the regime and field.
pub fn parse_regimes(
    text: &str,
    vocabulary: &SectorVocabulary,
    displacement: bool,
) -> Result<RegimeTable, Vec<FieldIssue>> {
    read(text, vocabulary, displacement, false).map(|(table, _)| table)
}

/// The built-in table fitted to a sector vocabulary: a sector the vocabulary lacks is left
/// out, and a regime none of whose sectors exists is left out; the notes say what was.
pub fn builtin_regimes(
    vocabulary: &SectorVocabulary,
    displacement: bool,
) -> Result<(RegimeTable, Vec<String>), Vec<FieldIssue>> {
    read(DEFAULT_REGIMES, vocabulary, displacement, true)
}

fn read(
    text: &str,
    vocabulary: &SectorVocabulary,
    displacement: bool,
    lenient: bool,
) -> Result<(RegimeTable, Vec<String>), Vec<FieldIssue>> {
    let file: TableFile =
        toml::from_str(text).map_err(|e| vec![FieldIssue::new("", e.to_string())])?;
    let mut reader = Reader {
        issues: Vec::new(),
        vocabulary,
        lenient,
        notes: Vec::new(),
    };
    let mut regimes: Vec<Regime> = Vec::new();
    for (i, entry) in file.regime.iter().enumerate() {
        if regimes.iter().any(|r| r.id == entry.id) {
            reader.issue(
                format!("regime[{i}].id"),
                format!("`{}` appears twice", entry.id),
            );
        }
        if let Some(r) = reader.regime(i, entry) {
            regimes.push(r);
        }
    }
    for (i, r) in regimes.iter_mut().enumerate() {
        let known: Vec<String> = r
            .displaces
            .iter()
            .filter(|d| file.regime.iter().any(|o| &&o.id == d) && **d != r.id)
            .cloned()
            .collect();
        for d in r.displaces.iter().filter(|d| !known.contains(d)) {
            reader.issues.push(FieldIssue::new(
                format!("regime[{i}] `{}`.displaces", r.id),
                format!("`{d}` is not another regime in the table"),
            ));
        }
        r.displaces = known;
    }
    if reader.issues.is_empty() {
        Ok((
            RegimeTable {
                regimes,
                displacement,
            },
            reader.notes,
        ))
    } else {
        Err(reader.issues)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use schakel_domain::{
        DEFAULT_SECTORS, IncidentCategory, IncidentReport, OrgSlug, ReporterFacts, ReportingClock,
        Submission,
    };

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn table(displacement: bool) -> Result<RegimeTable, Box<dyn std::error::Error>> {
        let vocabulary = SectorVocabulary::new(DEFAULT_SECTORS)?;
        parse_regimes(DEFAULT_REGIMES, &vocabulary, displacement)
            .map_err(|e| format!("{e:?}").into())
    }

    fn report(aware_at: &str) -> Result<IncidentReport, Box<dyn std::error::Error>> {
        Ok(IncidentReport {
            reporter: OrgSlug::parse("bank-a")?,
            aware_at: aware_at.parse()?,
            occurred_at: None,
            classified_at: None,
            reportable_at: None,
            category: IncidentCategory::Intrusions,
            incident_type: None,
            title: "t".into(),
            description: String::new(),
            significant: true,
            personal_data: false,
            cross_border: false,
            malicious: true,
            affected_services: vec![],
            systems: vec![],
            identity_consent: false,
        })
    }

    fn facts(
        statuses: &[&str],
        sectors: &[&str],
    ) -> Result<ReporterFacts, Box<dyn std::error::Error>> {
        let vocabulary = SectorVocabulary::new(DEFAULT_SECTORS)?;
        Ok(ReporterFacts {
            statuses: statuses
                .iter()
                .map(|s| s.parse())
                .collect::<Result<_, _>>()?,
            sectors: sectors
                .iter()
                .map(|s| vocabulary.parse(s))
                .collect::<Result<_, _>>()?,
        })
    }

    fn clock<'a>(
        clocks: &'a [ReportingClock],
        regime: &str,
        step: &str,
    ) -> Option<&'a ReportingClock> {
        clocks.iter().find(|c| c.regime == regime && c.step == step)
    }

    fn due(clocks: &[ReportingClock], regime: &str, step: &str) -> Option<String> {
        clock(clocks, regime, step)
            .and_then(|c| c.due)
            .map(|t| t.to_string())
    }

    fn submitted(regime: &str, step: &str, at: &str) -> Result<Submission, jiff::Error> {
        Ok(Submission {
            regime: regime.into(),
            step: step.into(),
            at: at.parse::<Timestamp>()?,
        })
    }

    #[test]
    fn the_shipped_table_reads() -> TestResult {
        let t = table(true)?;
        let ids: Vec<&str> = t.regimes.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["wbni", "cbw", "dora", "gdpr", "nccs"]);
        Ok(())
    }

    #[test]
    fn the_builtin_table_fits_a_smaller_vocabulary() -> TestResult {
        let vocabulary = SectorVocabulary::new(["health", "energy", "banking"])?;
        let (t, notes) = builtin_regimes(&vocabulary, true).map_err(|e| format!("{e:?}"))?;
        let dora = t.regimes.iter().find(|r| r.id == "dora").ok_or("no dora")?;
        assert_eq!(dora.applies.sectors_any.len(), 1);
        assert_eq!(notes.len(), 2, "{notes:?}");
        let vocabulary = SectorVocabulary::new(["health"])?;
        let (t, notes) = builtin_regimes(&vocabulary, true).map_err(|e| format!("{e:?}"))?;
        let ids: Vec<&str> = t.regimes.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["wbni", "cbw", "gdpr"]);
        assert!(
            notes.iter().any(|n| n.contains("`dora` left out")),
            "{notes:?}"
        );
        assert!(parse_regimes(DEFAULT_REGIMES, &vocabulary, true).is_err());
        Ok(())
    }

    #[test]
    fn which_regimes_apply() -> TestResult {
        let t = table(true)?;
        let ids = |c: &schakel_domain::Clocks| {
            let mut v: Vec<String> = c.clocks.iter().map(|c| c.regime.clone()).collect();
            v.dedup();
            v
        };
        let mut r = report("2026-09-01T10:00:00Z")?;
        // A vital provider: the Wbni duty, without delay.
        let c = t.clocks(&r, &facts(&["vital_provider"], &["health"])?, &[]);
        assert_eq!(ids(&c), ["wbni"]);
        let wbni = clock(&c.clocks, "wbni", "report").ok_or("no wbni clock")?;
        assert_eq!((wbni.due, wbni.basis.as_str()), (None, "without delay"));
        // An essential entity with a significant incident: the Cbw's four steps.
        let c = t.clocks(&r, &facts(&["essential_entity"], &["health"])?, &[]);
        assert_eq!(ids(&c), ["cbw"]);
        assert_eq!(c.clocks.len(), 4);
        // Not significant: no Cbw duty.
        r.significant = false;
        let c = t.clocks(&r, &facts(&["essential_entity"], &["health"])?, &[]);
        assert!(c.clocks.is_empty());
        // Personal data: the GDPR, whoever reports.
        r.personal_data = true;
        let c = t.clocks(&r, &facts(&[], &["education"])?, &[]);
        assert_eq!(ids(&c), ["gdpr"]);
        // A bank: DORA displaces the Cbw by default, not when the setting is off.
        r.significant = true;
        r.personal_data = false;
        let bank = facts(&["essential_entity"], &["banking"])?;
        let c = t.clocks(&r, &bank, &[]);
        assert_eq!(ids(&c), ["dora"]);
        assert_eq!(c.displaced, [("cbw".to_owned(), "dora".to_owned())]);
        let c = table(false)?.clocks(&r, &bank, &[]);
        assert_eq!(ids(&c), ["cbw", "dora"]);
        // Energy and malicious: the network code's 4 hours, from `reportable_at`.
        let energy = facts(&["essential_entity"], &["energy"])?;
        let c = t.clocks(&r, &energy, &[]);
        assert_eq!(ids(&c), ["cbw", "nccs"]);
        assert_eq!(
            due(&c.clocks, "nccs", "report").as_deref(),
            Some("2026-09-01T14:00:00Z")
        );
        r.reportable_at = Some("2026-09-01T12:00:00Z".parse()?);
        let c = t.clocks(&r, &energy, &[]);
        assert_eq!(
            due(&c.clocks, "nccs", "report").as_deref(),
            Some("2026-09-01T16:00:00Z")
        );
        Ok(())
    }

    #[test]
    fn hours_are_elapsed_across_the_autumn_change() -> TestResult {
        // 00:30 CEST on Sunday 25 Oct 2026; the clocks go back at 03:00. 24 elapsed hours
        // later it is 23:30 CET the same day, not 00:30 the next.
        let t = table(true)?;
        let r = report("2026-10-24T22:30:00Z")?;
        let c = t.clocks(&r, &facts(&["important_entity"], &["health"])?, &[]);
        assert_eq!(
            due(&c.clocks, "cbw", "early_warning").as_deref(),
            Some("2026-10-25T22:30:00Z")
        );
        assert_eq!(
            due(&c.clocks, "cbw", "notification").as_deref(),
            Some("2026-10-27T22:30:00Z")
        );
        let intermediate = clock(&c.clocks, "cbw", "intermediate").ok_or("none")?;
        assert_eq!(intermediate.due, None);
        Ok(())
    }

    #[test]
    fn a_month_is_a_local_calendar_month() -> TestResult {
        let t = table(true)?;
        let entity = facts(&["essential_entity"], &["health"])?;
        let r = report("2026-01-28T08:00:00Z")?;
        // Until the notification is submitted, the final report runs from its deadline,
        // provisionally: 31 Jan 09:00 CET + 1 month = 28 Feb 09:00 CET (clamped).
        let c = t.clocks(&r, &entity, &[]);
        let fin = clock(&c.clocks, "cbw", "final").ok_or("none")?;
        assert!(fin.provisional, "{fin:?}");
        assert_eq!(
            fin.due.map(|d| d.to_string()).as_deref(),
            Some("2026-02-28T08:00:00Z")
        );
        // Submitted at 23:30 CET on 1 Feb (22:30 UTC on the 1st): 1 Mar 23:30 CET.
        let c = t.clocks(
            &r,
            &entity,
            &[submitted("cbw", "notification", "2026-02-01T22:30:00Z")?],
        );
        let fin = clock(&c.clocks, "cbw", "final").ok_or("none")?;
        assert!(!fin.provisional);
        assert_eq!(
            fin.due.map(|d| d.to_string()).as_deref(),
            Some("2026-03-01T22:30:00Z")
        );
        // Submitted at 00:30 CET on 31 Jan, which is still 30 Jan in UTC: the month is
        // counted in Amsterdam, so 28 Feb 00:30 CET.
        let c = t.clocks(
            &r,
            &entity,
            &[submitted("cbw", "notification", "2026-01-30T23:30:00Z")?],
        );
        assert_eq!(
            due(&c.clocks, "cbw", "final").as_deref(),
            Some("2026-02-27T23:30:00Z")
        );
        // Across the spring change: 12:00 CET on 15 Mar + 1 month = 12:00 CEST on 15 Apr.
        let c = t.clocks(
            &r,
            &entity,
            &[submitted("cbw", "notification", "2026-03-15T11:00:00Z")?],
        );
        assert_eq!(
            due(&c.clocks, "cbw", "final").as_deref(),
            Some("2026-04-15T10:00:00Z")
        );
        // Into the hour that does not exist (02:30 on 28 Mar 2027): the wall clock moves on
        // to 03:30 CEST.
        let c = t.clocks(
            &r,
            &entity,
            &[submitted("cbw", "notification", "2027-02-28T01:30:00Z")?],
        );
        assert_eq!(
            due(&c.clocks, "cbw", "final").as_deref(),
            Some("2027-03-28T01:30:00Z")
        );
        // Leap year: 31 Jan 2028 + 1 month = 29 Feb 2028.
        let c = t.clocks(
            &r,
            &entity,
            &[submitted("cbw", "notification", "2028-01-31T11:00:00Z")?],
        );
        assert_eq!(
            due(&c.clocks, "cbw", "final").as_deref(),
            Some("2028-02-29T11:00:00Z")
        );
        Ok(())
    }

    #[test]
    fn dora_initial_report() -> TestResult {
        let t = table(true)?;
        let bank = facts(&[], &["banking"])?;
        let mut r = report("2026-09-01T10:00:00Z")?;
        let c = t.clocks(&r, &bank, &[]);
        let initial = clock(&c.clocks, "dora", "initial").ok_or("none")?;
        assert!(initial.provisional);
        assert_eq!(
            initial.due.map(|d| d.to_string()).as_deref(),
            Some("2026-09-02T10:00:00Z")
        );
        // Classified two hours in: four hours after classification.
        r.classified_at = Some("2026-09-01T12:00:00Z".parse()?);
        let c = t.clocks(&r, &bank, &[]);
        let initial = clock(&c.clocks, "dora", "initial").ok_or("none")?;
        assert!(!initial.provisional);
        assert_eq!(
            initial.due.map(|d| d.to_string()).as_deref(),
            Some("2026-09-01T16:00:00Z")
        );
        // Classified late: never more than 24 hours after awareness.
        r.classified_at = Some("2026-09-02T08:00:00Z".parse()?);
        let c = t.clocks(&r, &bank, &[]);
        assert_eq!(
            due(&c.clocks, "dora", "initial").as_deref(),
            Some("2026-09-02T10:00:00Z")
        );
        // The intermediate report runs 72 hours from the initial submission.
        let c = t.clocks(
            &r,
            &bank,
            &[submitted("dora", "initial", "2026-09-02T09:00:00Z")?],
        );
        assert_eq!(
            due(&c.clocks, "dora", "intermediate").as_deref(),
            Some("2026-09-05T09:00:00Z")
        );
        let fin = clock(&c.clocks, "dora", "final").ok_or("none")?;
        assert!(fin.provisional);
        assert_eq!(
            fin.due.map(|d| d.to_string()).as_deref(),
            Some("2026-10-05T09:00:00Z")
        );
        Ok(())
    }

    #[test]
    fn a_bad_table_names_regime_and_field() -> TestResult {
        let vocabulary = SectorVocabulary::new(DEFAULT_SECTORS)?;
        let text = r#"
[[regime]]
id = "x"
name = "x"
citation = "x"
report_to = "x"
applies = { sectors_any = ["moon_base"], facts_all = ["serious"] }
steps = [
  { id = "a", due = { hours = 4, months = 1, from = "aware_at" } },
  { id = "b", due = { hours = 4, from = "submitted:c" } },
  { id = "c", due = "soon" },
]
"#;
        let issues = parse_regimes(text, &vocabulary, true)
            .err()
            .ok_or("accepted")?;
        let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "regime[0] `x`.applies.sectors_any[0]",
                "regime[0] `x`.applies.facts_all[0]",
                "regime[0] `x`.steps[0].due",
                "regime[0] `x`.steps[1].due.from",
                "regime[0] `x`.steps[2].due",
            ]
        );
        Ok(())
    }
}
