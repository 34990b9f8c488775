//! Incident reports: what a reporting organisation tells the centre, and how the centre
//! triages it (RULEBOOK.md "Reporting regimes", FORMATS.md "Incident report").

use jiff::Timestamp;

use crate::{OrgSlug, ValueError};

vocabulary! {
    /// The class of the Reference Security Incident Taxonomy (RSIT), as a slug.
    IncidentCategory {
        /// Spam, harmful speech, violence.
        AbusiveContent = "abusive-content",
        /// Infected systems, C2 servers, malware distribution.
        MaliciousCode = "malicious-code",
        /// Scanning, sniffing, social engineering.
        InformationGathering = "information-gathering",
        /// Attempts to exploit or brute-force.
        IntrusionAttempts = "intrusion-attempts",
        /// Compromised accounts, applications or systems.
        Intrusions = "intrusions",
        /// Denial of service, outages, sabotage.
        Availability = "availability",
        /// Unauthorised access to, change of, loss or leak of information.
        InformationContentSecurity = "information-content-security",
        /// Masquerade, phishing, unauthorised use of resources.
        Fraud = "fraud",
        /// Vulnerable systems and services.
        Vulnerable = "vulnerable",
        /// Anything else.
        Other = "other",
        /// A test report.
        Test = "test",
    }
}

impl IncidentCategory {
    /// The incident types of this class in the taxonomy.
    pub fn types(self) -> &'static [&'static str] {
        match self {
            Self::AbusiveContent => &["spam", "harmful-speech", "violence"],
            Self::MaliciousCode => &[
                "infected-system",
                "c2-server",
                "malware-distribution",
                "malware-configuration",
            ],
            Self::InformationGathering => &["scanner", "sniffing", "social-engineering"],
            Self::IntrusionAttempts => &["ids-alert", "brute-force", "exploit"],
            Self::Intrusions => &[
                "privileged-account-compromise",
                "unprivileged-account-compromise",
                "application-compromise",
                "system-compromise",
                "burglary",
            ],
            Self::Availability => &["dos", "ddos", "misconfiguration", "sabotage", "outage"],
            Self::InformationContentSecurity => &[
                "unauthorised-information-access",
                "unauthorised-information-modification",
                "data-loss",
                "data-leak",
            ],
            Self::Fraud => &[
                "unauthorised-use-of-resources",
                "copyright",
                "masquerade",
                "phishing",
            ],
            Self::Vulnerable => &[
                "weak-crypto",
                "ddos-amplifier",
                "potentially-unwanted-accessible",
                "information-disclosure",
                "vulnerable-system",
            ],
            Self::Other => &["other", "undetermined"],
            Self::Test => &["test"],
        }
    }

    /// Checks that `incident_type` belongs to this class.
    pub fn check_type(self, incident_type: &str) -> Result<(), ValueError> {
        if self.types().contains(&incident_type) {
            Ok(())
        } else {
            Err(ValueError::new(format!(
                "`{incident_type}` is not a type of `{self}`; it has {}",
                self.types().join(", ")
            )))
        }
    }
}

vocabulary! {
    /// Where a report stands in triage.
    ReportStatus {
        /// Filed, nobody has looked at it yet.
        New = "new",
        /// Assessed: nature, impact and priority recorded.
        Triaged = "triaged",
        /// The centre is coordinating the response (informing others, following up).
        Coordinating = "coordinating",
        /// Nothing more to do.
        Closed = "closed",
    }
}

impl ReportStatus {
    /// Whether a report may move from this status to `next`. The workflow runs new →
    /// triaged → coordinating → closed; a triaged report may close without coordination,
    /// and a closed report may be reopened for coordination when something new comes up.
    pub fn may_become(self, next: ReportStatus) -> bool {
        use ReportStatus::{Closed, Coordinating, New, Triaged};
        matches!(
            (self, next),
            (New, Triaged)
                | (Triaged, Coordinating)
                | (Triaged, Closed)
                | (Coordinating, Closed)
                | (Closed, Coordinating)
        )
    }
}

vocabulary! {
    /// The estimated impact of an incident on society (the criteria are in
    /// `docs/triage.md`; the scale is ordered).
    Impact {
        /// No effect noticeable outside the reporter.
        Negligible = "negligible",
        /// The reporter's own service is affected; contained, no effect on others.
        Limited = "limited",
        /// Noticeable to the reporter's clients or users, or to one other organisation;
        /// the continuity of a vital or essential service is not threatened.
        Considerable = "considerable",
        /// The continuity of a vital or essential service is threatened or disrupted,
        /// regionally or in one sector, or many people's personal data are affected.
        Serious = "serious",
        /// Societal disruption across sectors or nationwide: chain effects, danger to
        /// health or safety, or to national security.
        Critical = "critical",
    }
}

impl Impact {
    /// The priority this impact suggests when the analyst gives none.
    pub fn default_priority(self) -> Priority {
        match self {
            Impact::Negligible | Impact::Limited => Priority::Low,
            Impact::Considerable => Priority::Medium,
            Impact::Serious => Priority::High,
            Impact::Critical => Priority::Critical,
        }
    }

    /// Whether the incident threatens the continuity of a service (an item made from the
    /// report is `serious`).
    pub fn threatens_continuity(self) -> bool {
        self >= Impact::Serious
    }
}

vocabulary! {
    /// How urgently the centre works on a report.
    Priority {
        /// When time allows.
        Low = "low",
        /// Within the working day.
        Medium = "medium",
        /// Now, within office hours; the duty officer is told.
        High = "high",
        /// Now, day and night.
        Critical = "critical",
    }
}

vocabulary! {
    /// What the incident disrupts.
    DisruptionNature {
        /// Systems or services are unavailable or degraded.
        Availability = "availability",
        /// Data or systems were changed without authorisation.
        Integrity = "integrity",
        /// Data were accessed or leaked without authorisation.
        Confidentiality = "confidentiality",
    }
}

/// An incident report, every field parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentReport {
    /// The reporting organisation.
    pub reporter: OrgSlug,
    /// When the reporter became aware of the incident (the clocks run from here).
    pub aware_at: Timestamp,
    /// When the incident began, if known.
    pub occurred_at: Option<Timestamp>,
    /// When the reporter classified it as major (DORA).
    pub classified_at: Option<Timestamp>,
    /// When it became reportable under sector law (the electricity network code).
    pub reportable_at: Option<Timestamp>,
    /// Its taxonomy class.
    pub category: IncidentCategory,
    /// Its taxonomy type, if given.
    pub incident_type: Option<String>,
    /// One line.
    pub title: String,
    /// What happened.
    pub description: String,
    /// Significant (Cbw) or major (DORA).
    pub significant: bool,
    /// Personal data are involved.
    pub personal_data: bool,
    /// It affects other EU member states.
    pub cross_border: bool,
    /// It was caused by malicious action.
    pub malicious: bool,
    /// The services affected.
    pub affected_services: Vec<String>,
    /// The systems and products involved.
    pub systems: Vec<String>,
    /// The reporter agrees that items made from the report may name it.
    pub identity_consent: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_and_types() {
        assert_eq!(IncidentCategory::ALL.len(), 11);
        let c: IncidentCategory = "intrusions".parse().unwrap_or(IncidentCategory::Other);
        assert_eq!(c, IncidentCategory::Intrusions);
        assert!(c.check_type("system-compromise").is_ok());
        assert!(c.check_type("phishing").is_err());
        assert!("Intrusions".parse::<IncidentCategory>().is_err());
    }

    #[test]
    fn workflow() {
        use ReportStatus::*;
        assert!(New.may_become(Triaged));
        assert!(!New.may_become(Closed));
        assert!(!New.may_become(Coordinating));
        assert!(Triaged.may_become(Closed));
        assert!(Closed.may_become(Coordinating));
        assert!(!Closed.may_become(New));
        assert!(!Coordinating.may_become(Triaged));
    }

    #[test]
    fn impact_scale_is_ordered() {
        assert!(Impact::Critical > Impact::Serious);
        assert!(Impact::Serious.threatens_continuity());
        assert!(!Impact::Considerable.threatens_continuity());
        assert_eq!(Impact::Critical.default_priority(), Priority::Critical);
    }
}
