//! What an item says about itself that a sharing decision uses: its TLP, confidentiality
//! markers, purpose and the restriction its source set.

use std::fmt;

use crate::ValueError;

vocabulary! {
    /// Traffic Light Protocol 2.0 (FIRST).
    Tlp {
        /// No limit on disclosure.
        Clear = "CLEAR",
        /// The recipient's community, not public channels.
        Green = "GREEN",
        /// The recipient organisation and its clients, need-to-know.
        Amber = "AMBER",
        /// The recipient organisation only.
        AmberStrict = "AMBER+STRICT",
        /// Named recipients only.
        Red = "RED",
    }
}

impl Tlp {
    /// A TLP label as sources write it: `TLP:RED`, `tlp:amber+strict`, `Green`, and TLP
    /// 1.0's WHITE (TLP 2.0's CLEAR). `None` for anything else.
    pub fn from_label(text: &str) -> Option<Tlp> {
        let text = text.trim().to_ascii_uppercase();
        let name = text.strip_prefix("TLP:").unwrap_or(&text).trim();
        match name {
            "WHITE" | "CLEAR" => Some(Tlp::Clear),
            "GREEN" => Some(Tlp::Green),
            "AMBER" => Some(Tlp::Amber),
            "AMBER+STRICT" => Some(Tlp::AmberStrict),
            "RED" => Some(Tlp::Red),
            _ => None,
        }
    }
}

vocabulary! {
    /// Why data traceable to an organisation is confidential (RULEBOOK.md "What makes data
    /// confidential").
    ConfidentialityMarker {
        /// A vulnerability without a public CVE.
        UndisclosedVulnerability = "undisclosed_vulnerability",
        /// The specific systems an organisation uses.
        SpecificSystems = "specific_systems",
        /// Agreements made with an organisation.
        Agreements = "agreements",
    }
}

vocabulary! {
    /// What sharing is for.
    Purpose {
        /// Preventing or limiting societal disruption.
        PreventDisruption = "prevent_disruption",
        /// Escalation to the overseeing ministry after written advice went unheeded.
        Escalation = "escalation",
        /// Anything else.
        Other = "other",
    }
}

vocabulary! {
    /// A restriction set by the item's source.
    SourceRestriction {
        /// None.
        None = "none",
        /// Only the victims themselves, directly.
        VictimsOnly = "victims_only",
        /// Not to be shared onward at all.
        NoOnwardSharing = "no_onward_sharing",
    }
}

vocabulary! {
    /// What an item is (FORMATS.md "Item").
    ItemKind {
        /// A threat.
        Threat = "threat",
        /// A vulnerability.
        Vulnerability = "vulnerability",
        /// An incident.
        Incident = "incident",
        /// Indicators of compromise.
        Indicators = "indicators",
        /// An advisory.
        Advisory = "advisory",
        /// An escalation to the overseeing ministry (with the written advice).
        Escalation = "escalation",
    }
}

vocabulary! {
    /// Where an item stands.
    ItemStatus {
        /// Written, not sent.
        Draft = "draft",
        /// Needs a second person's approval of its plan before it can be sent.
        AwaitingApproval = "awaiting_approval",
        /// A second person approved its current plan.
        Approved = "approved",
        /// Sent: deliveries are in the outbox.
        Sent = "sent",
        /// Withdrawn after sending; the recipients were told.
        Retracted = "retracted",
    }
}

vocabulary! {
    /// How a delivery reaches its recipient.
    Channel {
        /// The recipient's inbox (`GET /api/v1/inbox`).
        Inbox = "inbox",
        /// Email (PGP/MIME).
        Email = "email",
        /// A signed webhook.
        Webhook = "webhook",
    }
}

vocabulary! {
    /// Where a delivery stands.
    DeliveryState {
        /// Waiting for (another) attempt.
        Pending = "pending",
        /// Arrived.
        Delivered = "delivered",
        /// Stopped: its decision changed, or it has no usable channel; never dropped.
        Held = "held",
        /// Gave up after the last attempt; `outbox requeue` tries again.
        Dead = "dead",
    }
}

/// A CVE identifier, `CVE-YYYY-NNNN` with four or more digits after the year.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cve(String);

impl Cve {
    /// Parses `CVE-2026-12345` (upper case, as MITRE writes them).
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        let bad = || ValueError::new(format!("`{text}` is not a CVE id (CVE-YYYY-NNNN)"));
        let rest = text.strip_prefix("CVE-").ok_or_else(bad)?;
        let (year, number) = rest.split_once('-').ok_or_else(bad)?;
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if year.len() == 4 && digits(year) && number.len() >= 4 && digits(number) {
            Ok(Self(text.to_owned()))
        } else {
            Err(bad())
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Cve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabularies_parse_exactly() {
        assert_eq!("AMBER+STRICT".parse::<Tlp>(), Ok(Tlp::AmberStrict));
        assert!("amber".parse::<Tlp>().is_err());
        assert!("WHITE".parse::<Tlp>().is_err());
        assert_eq!(Tlp::from_label("tlp:white"), Some(Tlp::Clear));
        assert_eq!(Tlp::from_label(" TLP:AMBER+STRICT"), Some(Tlp::AmberStrict));
        assert_eq!(Tlp::from_label("red"), Some(Tlp::Red));
        assert_eq!(Tlp::from_label("tlp:ex:chr"), None);
        // The strictest of several is the greatest.
        assert_eq!(
            [Tlp::Green, Tlp::Red, Tlp::Amber].into_iter().max(),
            Some(Tlp::Red)
        );
        assert_eq!(
            "victims_only".parse::<SourceRestriction>(),
            Ok(SourceRestriction::VictimsOnly)
        );
        assert!("prevent".parse::<Purpose>().is_err());
        assert_eq!(ConfidentialityMarker::ALL.len(), 3);
        assert_eq!("escalation".parse::<ItemKind>(), Ok(ItemKind::Escalation));
    }

    #[test]
    fn cve_ids() {
        assert!(Cve::parse("CVE-2026-12345").is_ok());
        assert!(Cve::parse("CVE-2021-4428").is_ok());
        for bad in [
            "cve-2026-1234",
            "CVE-26-1234",
            "CVE-2026-123",
            "CVE-2026-12a4",
            "2026-1234",
        ] {
            assert!(Cve::parse(bad).is_err(), "{bad}");
        }
    }
}
