//! What an item says about itself that a sharing decision uses: its TLP, confidentiality
//! markers, purpose and the restriction its source set.

use std::fmt;
use std::str::FromStr;

use crate::ValueError;

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in the order of FORMATS.md.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The identifier used in files and APIs.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl FromStr for $name {
            type Err = ValueError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == text)
                    .ok_or_else(|| {
                        let all: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                        ValueError::new(format!("`{text}` is not one of {}", all.join(", ")))
                    })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabularies_parse_exactly() {
        assert_eq!("AMBER+STRICT".parse::<Tlp>(), Ok(Tlp::AmberStrict));
        assert!("amber".parse::<Tlp>().is_err());
        assert!("WHITE".parse::<Tlp>().is_err());
        assert_eq!(
            "victims_only".parse::<SourceRestriction>(),
            Ok(SourceRestriction::VictimsOnly)
        );
        assert!("prevent".parse::<Purpose>().is_err());
        assert_eq!(ConfidentialityMarker::ALL.len(), 3);
    }
}
