//! Redaction of free text for disclosure (Woo) exports and for items made from reports
//! (RULEBOOK.md "Disclosure (Woo) and statistics").
//!
//! Every registered organisation's name, slug and domains (with any host under them), every
//! email address, telephone number and registered contact name, every IP address or
//! prefix (IPv4 and IPv6) and every host name is replaced by a marker; a Woo export also
//! replaces the systems and products a report names, and CVE ids (they name products).

use std::net::{Ipv4Addr, Ipv6Addr};

use regex::{Regex, RegexBuilder};
use schakel_domain::Registry;

use crate::AppError;

/// What a redaction withholds, and on which ground.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Withheld {
    /// Name, slug or domain of an organisation.
    Organisation,
    /// A characteristic that identifies an organisation (its sector when it has few members).
    Sector,
    /// IP addresses, host names, system and product details.
    System,
    /// Names and contact details of persons.
    Person,
}

impl Withheld {
    /// The marker that replaces the text.
    pub fn marker(self) -> &'static str {
        match self {
            Withheld::Organisation => "[organisation]",
            Withheld::Sector => "[sector]",
            Withheld::System => "[system]",
            Withheld::Person => "[person]",
        }
    }

    /// The ground of the Open Government Act.
    pub fn ground(self) -> &'static str {
        match self {
            Withheld::Organisation => {
                "Woo art. 5.1 lid 1 c (business data supplied to the government in confidence)"
            }
            Withheld::Sector | Withheld::System => {
                "Woo art. 5.1 lid 2 h (security of companies and institutions)"
            }
            Withheld::Person => "Woo art. 5.1 lid 2 e (respect for privacy)",
        }
    }

    /// The identifier in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Withheld::Organisation => "organisation",
            Withheld::Sector => "sector",
            Withheld::System => "system",
            Withheld::Person => "person",
        }
    }
}

/// How far a redaction goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Organisations, persons, addresses and host names: for an item made from a report,
    /// which keeps the products involved so that others can act.
    Identity,
    /// Also systems and products: for a disclosure export.
    Disclosure,
}

/// Replaces what may not be disclosed; built once from the registry.
pub struct Redactor {
    /// Registered names, slugs, domains and contacts, longest first, with what they are.
    registry: Option<(Regex, Vec<Withheld>)>,
    email: Regex,
    ipv6: Regex,
    ipv4: Regex,
    host: Regex,
    phone: Regex,
    cve: Regex,
}

fn build(pattern: &str) -> Result<Regex, AppError> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(1 << 28)
        .dfa_size_limit(1 << 28)
        .build()
        .map_err(|e| AppError::Internal(format!("cannot build the redaction patterns: {e}")))
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A registered term as a pattern: case-insensitive, on word boundaries where the term
/// begins or ends with a word character, any run of white space matching a space.
fn term_pattern(term: &str) -> String {
    let words: Vec<String> = term.split_whitespace().map(regex::escape).collect();
    let body = words.join(r"\s+");
    let start = if term.trim_start().starts_with(is_word) {
        r"\b"
    } else {
        ""
    };
    let end = if term.trim_end().ends_with(is_word) {
        r"\b"
    } else {
        ""
    };
    format!("{start}{body}{end}")
}

impl Redactor {
    /// A redactor for everything the registry names.
    pub fn new(registry: &Registry) -> Result<Self, AppError> {
        let mut terms: Vec<(String, Withheld)> = Vec::new();
        for org in registry.iter() {
            terms.push((term_pattern(org.name()), Withheld::Organisation));
            terms.push((term_pattern(org.slug().as_str()), Withheld::Organisation));
            for domain in org.domains() {
                // The domain and every host under it.
                let d = regex::escape(domain.as_str());
                terms.push((format!(r"\b(?:[a-z0-9-]+\.)*{d}\b"), Withheld::Organisation));
            }
            for contact in org.contacts() {
                if !contact.name.trim().is_empty() {
                    terms.push((term_pattern(&contact.name), Withheld::Person));
                }
            }
        }
        // Leftmost-first alternation: the longest term wins where several start together.
        terms.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        terms.dedup_by(|a, b| a.0 == b.0);
        let registry = if terms.is_empty() {
            None
        } else {
            let alternation: Vec<String> = terms.iter().map(|(p, _)| format!("({p})")).collect();
            Some((
                build(&alternation.join("|"))?,
                terms.iter().map(|(_, w)| *w).collect(),
            ))
        };
        Ok(Self {
            registry,
            email: build(r"[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)+")?,
            // Candidates; each is checked by the standard library's parser.
            ipv6: build(r"[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:%[0-9a-z]+)?(?:/\d{1,3})?")?,
            ipv4: build(r"\b(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?(?::\d{1,5})?\b")?,
            host: build(
                r"\b(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9\-]*[a-z0-9]\b",
            )?,
            phone: build(
                r"(?:\+|\b00)\d{1,3}[\s\-]?(?:\(0\)\s?)?\d(?:[\s\-]?\d){6,12}\b|\b0\d{1,3}[\s\-]?\d(?:[\s\-]?\d){5,8}\b",
            )?,
            cve: build(r"\bCVE-\d{4}-\d{4,}\b")?,
        })
    }

    /// `text` with every withheld part replaced by its marker; `on_redaction` is called
    /// once per replacement, in order, with what was withheld. `extra` are further terms
    /// of this document to withhold as systems (a Woo export passes the report's systems).
    pub fn redact(
        &self,
        text: &str,
        depth: Depth,
        extra: &[String],
        on_redaction: &mut dyn FnMut(Withheld) -> String,
    ) -> String {
        let mut out =
            self.replace_with(&self.email, text, |_| Some(Withheld::Person), on_redaction);
        if let Some((re, kinds)) = &self.registry {
            out = replace_groups(re, kinds, &out, on_redaction);
        }
        if depth == Depth::Disclosure {
            for term in extra.iter().filter(|t| !t.trim().is_empty()) {
                if let Ok(re) = build(&term_pattern(term)) {
                    out = self.replace_with(&re, &out, |_| Some(Withheld::System), on_redaction);
                }
            }
            out = self.replace_with(&self.cve, &out, |_| Some(Withheld::System), on_redaction);
        }
        out = self.replace_with(
            &self.ipv6,
            &out,
            |m| {
                let addr = m.split(['/', '%']).next().unwrap_or(m);
                (addr.matches(':').count() >= 2 && addr.parse::<Ipv6Addr>().is_ok())
                    .then_some(Withheld::System)
            },
            on_redaction,
        );
        out = self.replace_with(
            &self.ipv4,
            &out,
            |m| {
                let addr = m.split(['/', ':']).next().unwrap_or(m);
                addr.parse::<Ipv4Addr>().is_ok().then_some(Withheld::System)
            },
            on_redaction,
        );
        out = self.replace_with(&self.phone, &out, |_| Some(Withheld::Person), on_redaction);
        self.replace_with(&self.host, &out, |_| Some(Withheld::System), on_redaction)
    }

    fn replace_with(
        &self,
        re: &Regex,
        text: &str,
        classify: impl Fn(&str) -> Option<Withheld>,
        on_redaction: &mut dyn FnMut(Withheld) -> String,
    ) -> String {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for m in re.find_iter(text) {
            if let Some(kind) = classify(m.as_str()) {
                out.push_str(&text[last..m.start()]);
                out.push_str(&on_redaction(kind));
                last = m.end();
            }
        }
        out.push_str(&text[last..]);
        out
    }
}

fn replace_groups(
    re: &Regex,
    kinds: &[Withheld],
    text: &str,
    on_redaction: &mut dyn FnMut(Withheld) -> String,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for caps in re.captures_iter(text) {
        let Some(whole) = caps.get(0) else { continue };
        let kind = (1..caps.len())
            .find(|i| caps.get(*i).is_some())
            .and_then(|i| kinds.get(i - 1))
            .copied()
            .unwrap_or(Withheld::Organisation);
        out.push_str(&text[last..whole.start()]);
        out.push_str(&on_redaction(kind));
        last = whole.end();
    }
    out.push_str(&text[last..]);
    out
}

/// Redacts with plain markers and no index.
pub fn redact_plain(redactor: &Redactor, text: &str, depth: Depth) -> String {
    redactor.redact(text, depth, &[], &mut |w| w.marker().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Result<Redactor, Box<dyn std::error::Error>> {
        let organisations = schakel_formats::registry::parse_registry_file(
            crate::DEMO_REGISTRY.as_bytes(),
            &schakel_domain::SectorVocabulary::default(),
        )
        .map_err(|e| e.to_string())?;
        Ok(Redactor::new(&Registry::new(organisations))?)
    }

    #[test]
    fn withholds_what_identifies() -> Result<(), Box<dyn std::error::Error>> {
        let r = redactor()?;
        let cases = [
            ("HOSPITAL SOUTH saw it", "[organisation] saw it"),
            ("hospital-south's VPN", "[organisation]'s VPN"),
            (
                "vpn.Hospital-South.example was hit",
                "[organisation] was hit",
            ),
            ("mail soc@hospital-south.example now", "mail [person] now"),
            (
                "from 198.51.100.7:443 and 2001:db8:10::5",
                "from [system] and [system]",
            ),
            (
                "prefix 2001:db8:10::/48 and 198.51.100.0/26",
                "prefix [system] and [system]",
            ),
            (
                "call +31 20 123 4567 or 020-1234567",
                "call [person] or [person]",
            ),
            ("c2 at evil-domain.top", "c2 at [system]"),
            (
                "at 10:30 on 2026-09-01, 3 of 12 servers",
                "at 10:30 on 2026-09-01, 3 of 12 servers",
            ),
            (
                "Ministerie van Volksgezondheid, Welzijn en Sport (demo) knows",
                "[organisation] knows",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(redact_plain(&r, text, Depth::Identity), want, "{text}");
        }
        assert_eq!(
            r.redact(
                "Citrix ADC 13.1 via CVE-2023-3519",
                Depth::Disclosure,
                &["Citrix ADC".into()],
                &mut |w| w.marker().into()
            ),
            "[system] 13.1 via [system]"
        );
        assert_eq!(
            redact_plain(&r, "Citrix ADC via CVE-2023-3519", Depth::Identity),
            "Citrix ADC via CVE-2023-3519"
        );
        Ok(())
    }
}
