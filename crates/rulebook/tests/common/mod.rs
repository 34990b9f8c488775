//! The registry the rulebook tests decide against.

#![allow(dead_code, reason = "each test binary uses part of this module")]

use schakel_domain::{OrgSlug, Registry, SectorVocabulary};
use schakel_formats::registry::parse_registry_file;

pub const REGISTRY: &str = r#"[
 {"slug": "water", "name": "Water", "sectors": ["drinking_water"], "jurisdiction": "NL", "secrecy": null, "contacts": [],
  "designations": [{"status": "vital_provider", "from": "2018-11-09", "until": "2026-08-14"},
                   {"status": "essential_entity", "from": "2026-08-15", "until": null}]},
 {"slug": "energy-co", "name": "Energy", "sectors": ["energy"], "jurisdiction": "NL", "secrecy": null, "contacts": [],
  "designations": [{"status": "vital_provider", "from": "2018-11-09", "until": "2026-08-14"}]},
 {"slug": "ministry", "name": "Ministry of Health", "sectors": ["public_administration"], "jurisdiction": "NL",
  "secrecy": {"basis": "civil service confidentiality", "until": null}, "contacts": [], "oversees": ["health"],
  "designations": [{"status": "central_government", "from": "2018-11-09", "until": null}]},
 {"slug": "hospital-a", "name": "Hospital A", "sectors": ["health"], "jurisdiction": "NL", "secrecy": null, "contacts": [],
  "designations": [{"status": "other_provider", "from": "2018-11-09", "until": "2026-08-14"},
                   {"status": "important_entity", "from": "2026-08-15", "until": null}]},
 {"slug": "hospital-b", "name": "Hospital B", "sectors": ["health"], "jurisdiction": "NL", "secrecy": null, "contacts": [],
  "designations": [{"status": "other_provider", "from": "2018-11-09", "until": null}]},
 {"slug": "zcert", "name": "Z-CERT", "sectors": ["health"], "jurisdiction": "NL", "contacts": [],
  "secrecy": {"basis": "agreement", "from": "2019-01-01", "until": "2026-06-30"},
  "designations": [{"status": "crisis_team", "from": "2018-11-09", "until": null}],
  "serves": {"sectors": ["health"], "organisations": []}},
 {"slug": "party", "name": "Party", "sectors": ["political_parties"], "jurisdiction": "NL", "secrecy": null, "contacts": [],
  "designations": [{"status": "other_provider", "from": "2018-11-09", "until": null}]},
 {"slug": "party-link", "name": "Party link", "sectors": ["political_parties"], "jurisdiction": "NL", "secrecy": null, "contacts": [],
  "designations": [{"status": "linking_organisation", "from": "2022-12-01", "until": null}],
  "serves": {"sectors": ["political_parties"], "organisations": []}},
 {"slug": "soft", "name": "Software", "sectors": ["software"], "jurisdiction": "NL", "secrecy": null, "contacts": [],
  "designations": [{"status": "other_provider", "from": "2018-11-09", "until": null}]},
 {"slug": "soft-isac", "name": "Software ISAC", "sectors": ["software"], "jurisdiction": "NL", "contacts": [],
  "secrecy": {"basis": "nda", "until": null},
  "designations": [{"status": "linking_organisation", "from": "2022-12-01", "until": null}],
  "serves": {"sectors": [], "organisations": ["soft"]}},
 {"slug": "food", "name": "Food", "sectors": ["food"], "jurisdiction": "NL", "secrecy": null, "contacts": [],
  "designations": [{"status": "other_provider", "from": "2018-11-09", "until": null}]},
 {"slug": "old-isac", "name": "Old ISAC", "sectors": ["food"], "jurisdiction": "NL", "secrecy": null, "contacts": [],
  "designations": [{"status": "linking_organisation", "from": "2019-01-01", "until": null}],
  "serves": {"sectors": [], "organisations": ["retailer"]}},
 {"slug": "retailer", "name": "Retailer", "sectors": ["retail"], "jurisdiction": "NL", "secrecy": null, "contacts": [],
  "designations": [{"status": "other_provider", "from": "2018-11-09", "until": null}]},
 {"slug": "cert-nl", "name": "CERT NL", "sectors": ["digital_infrastructure"], "jurisdiction": "NL", "secrecy": null, "contacts": [],
  "designations": [{"status": "csirt", "from": "2018-11-09", "until": null}]},
 {"slug": "cert-gb", "name": "CERT GB", "sectors": ["digital_infrastructure"], "jurisdiction": "GB", "secrecy": null, "contacts": [],
  "designations": [{"status": "csirt", "from": "2018-11-09", "until": null}]},
 {"slug": "cert-us", "name": "CERT US", "sectors": ["digital_infrastructure"], "jurisdiction": "US", "secrecy": null, "contacts": [],
  "designations": [{"status": "csirt", "from": "2018-11-09", "until": null}]},
 {"slug": "aivd", "name": "Intelligence", "sectors": ["defence"], "jurisdiction": "NL", "secrecy": null, "contacts": [],
  "designations": [{"status": "intelligence_service", "from": "2018-11-09", "until": null}]},
 {"slug": "rdi", "name": "Authority", "sectors": ["digital_infrastructure"], "jurisdiction": "NL", "secrecy": null, "contacts": [],
  "designations": [{"status": "authority", "from": "2018-11-09", "until": null}]},
 {"slug": "new-entity", "name": "New entity", "sectors": ["manufacturing"], "jurisdiction": "NL", "secrecy": null, "contacts": [],
  "designations": [{"status": "important_entity", "from": "2026-08-15", "until": null}]},
 {"slug": "gone", "name": "Gone", "sectors": ["energy"], "jurisdiction": "NL", "secrecy": null, "contacts": [], "ended": "2024-01-01",
  "designations": [{"status": "vital_provider", "from": "2018-11-09", "until": null}]},
 {"slug": "waste-co", "name": "Waste company", "sectors": ["waste_management"], "jurisdiction": "NL", "secrecy": null, "contacts": [],
  "designations": [{"status": "other_provider", "from": "2018-11-09", "until": null}]},
 {"slug": "waste-cert", "name": "Waste CERT", "sectors": ["waste_management"], "jurisdiction": "NL", "secrecy": null, "contacts": [],
  "designations": [{"status": "csirt", "from": "2018-11-09", "until": null},
                   {"status": "linking_organisation", "from": "2022-12-01", "until": null}],
  "serves": {"sectors": ["waste_management"], "organisations": []}},
 {"slug": "regulator", "name": "Health regulator", "sectors": ["health"], "jurisdiction": "NL", "secrecy": null, "contacts": [],
  "oversees": ["health"], "designations": [{"status": "authority", "from": "2018-11-09", "until": null}]},
 {"slug": "cert-re", "name": "CERT Réunion", "sectors": ["digital_infrastructure"], "jurisdiction": "RE", "secrecy": null, "contacts": [],
  "designations": [{"status": "csirt", "from": "2018-11-09", "until": null}]},
 {"slug": "cert-cw", "name": "CERT Curaçao", "sectors": ["digital_infrastructure"], "jurisdiction": "CW", "secrecy": null, "contacts": [],
  "designations": [{"status": "csirt", "from": "2018-11-09", "until": null}]}
]"#;

pub fn registry() -> Result<Registry, Box<dyn std::error::Error>> {
    let orgs = parse_registry_file(REGISTRY.as_bytes(), &SectorVocabulary::default())
        .map_err(|e| e.to_string())?;
    Ok(Registry::new(orgs))
}

pub fn slugs(list: &[&str]) -> Vec<OrgSlug> {
    list.iter().filter_map(|s| OrgSlug::parse(s).ok()).collect()
}
