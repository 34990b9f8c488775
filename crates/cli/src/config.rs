//! The optional TOML settings file (`--config`, env `SCHAKEL_CONFIG`).

use std::path::{Path, PathBuf};

use schakel_domain::{DEFAULT_SECTORS, SectorVocabulary, parse_date};
use schakel_rulebook::{EffectiveDates, RulebookSet, RulebookSource};
use serde::Deserialize;

use crate::commands::CliError;

/// Settings read from the file; everything has a default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    #[serde(default)]
    registry: RegistrySettings,
    #[serde(default)]
    rulebook: RulebookSettings,
    #[serde(default)]
    reporting: ReportingSettings,
    #[serde(default)]
    statistics: StatisticsSettings,
    #[serde(default)]
    feeds: FeedSettings,
    #[serde(default)]
    webhooks: WebhookSettings,
    #[serde(default)]
    api: ApiSettings,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookSettings {
    /// Whether webhooks may go to loopback and private ranges (default false; link-local
    /// and cloud metadata addresses are refused whatever this says).
    allow_private: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedSettings {
    /// Days a sending feed run's rows are kept once it is done with them; `serve` purges
    /// older ones daily (none: only `feed purge` deletes rows).
    retain_days: Option<u32>,
    /// The longest a field of a feed record may be, in bytes (default 65536).
    max_field_bytes: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiSettings {
    /// The most a feed file posted to the API may hold, in MiB (default 1024).
    max_upload_mb: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportingSettings {
    /// A reporting-regime table to use instead of the built-in one.
    regimes: Option<PathBuf>,
    /// Whether sector law with equivalent reporting (DORA) displaces the Cbw's steps
    /// (Cbw art. 31; default true).
    sector_law_displaces_cbw: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatisticsSettings {
    /// Fewest reports a published number holds (default 5).
    threshold: Option<u64>,
    /// Fewest organisations a published number's reports come from (default 3).
    min_organisations: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulebookSettings {
    /// The first day of the Cyberbeveiligingswet (default 2026-08-15); the Wbni ends the day before.
    cbw_start: Option<String>,
    /// A directory holding `schema.cedarschema` and the rulebook files (default: built in).
    directory: Option<PathBuf>,
}

/// The rulebook files a directory must hold: id, file name, and which effective date.
const RULEBOOK_FILES: &[(&str, &str)] = &[
    ("wbni-2018", "wbni-2018.cedar"),
    ("wbni-2022", "wbni-2022.cedar"),
    ("cbw-2026", "cbw-2026.cedar"),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistrySettings {
    /// Replaces the default sector vocabulary.
    sectors: Option<Vec<String>>,
}

impl Settings {
    /// Reads the file, or the defaults when there is none.
    pub(crate) fn load(path: Option<&Path>) -> Result<Self, CliError> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            CliError::user(format!("cannot read settings `{}`: {e}", path.display()))
        })?;
        let settings: Self = toml::from_str(&text)
            .map_err(|e| CliError::user(format!("settings `{}`: {e}", path.display())))?;
        let zero = |name: &str| {
            CliError::user(format!(
                "settings `{}`: `{name}`: give at least 1",
                path.display()
            ))
        };
        if settings.feeds.max_field_bytes == Some(0) {
            return Err(zero("feeds.max_field_bytes"));
        }
        if settings.api.max_upload_mb == Some(0) {
            return Err(zero("api.max_upload_mb"));
        }
        if settings.feeds.retain_days == Some(0) {
            return Err(CliError::user(format!(
                "settings `{}`: `feeds.retain_days`: give at least 1 day (the rows of today's runs are still being delivered)",
                path.display()
            )));
        }
        Ok(settings)
    }

    /// The sector vocabulary in force.
    pub(crate) fn vocabulary(&self) -> Result<SectorVocabulary, CliError> {
        match &self.registry.sectors {
            None => SectorVocabulary::new(DEFAULT_SECTORS),
            Some(sectors) => SectorVocabulary::new(sectors),
        }
        .map_err(|e| CliError::user(format!("settings `registry.sectors`: {e}")))
    }

    /// The reporting-regime table: the settings file's, else the rulebook directory's
    /// `reporting-regimes.toml` when it has one, else the built-in table.
    pub(crate) fn regimes(
        &self,
        vocabulary: &SectorVocabulary,
        directory: Option<&Path>,
    ) -> Result<schakel_domain::RegimeTable, CliError> {
        let from_dir = directory
            .or(self.rulebook.directory.as_deref())
            .map(|d| d.join("reporting-regimes.toml"))
            .filter(|p| p.exists());
        let displacement = self.reporting.sector_law_displaces_cbw.unwrap_or(true);
        let problems = |name: &str, issues: Vec<schakel_domain::FieldIssue>| {
            CliError::user(format!(
                "{name}:\n  {}",
                issues
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n  ")
            ))
        };
        match self.reporting.regimes.clone().or(from_dir) {
            Some(path) => {
                let name = path.display().to_string();
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    CliError::user(format!("cannot read the regime table `{name}`: {e}"))
                })?;
                schakel_formats::regimes::parse_regimes(&text, vocabulary, displacement)
                    .map_err(|issues| problems(&name, issues))
            }
            // The built-in table leaves out sectors a configured vocabulary lacks.
            None => schakel_formats::regimes::builtin_regimes(vocabulary, displacement)
                .map(|(table, _)| table)
                .map_err(|issues| problems("the built-in regime table", issues)),
        }
    }

    /// The longest a field of a feed record may be (`[feeds] max_field_bytes`).
    pub(crate) fn feed_field_limit(&self) -> usize {
        self.feeds
            .max_field_bytes
            .unwrap_or(schakel_feeds::DEFAULT_MAX_FIELD)
    }

    /// What the server accepts (`[api] max_upload_mb`).
    pub(crate) fn server_limits(&self) -> schakel_server::Limits {
        let default = schakel_server::Limits::default();
        schakel_server::Limits {
            upload_bytes: self
                .api
                .max_upload_mb
                .map_or(default.upload_bytes, |mb| mb.saturating_mul(1 << 20)),
        }
    }

    /// Which addresses webhooks may go to (`[webhooks] allow_private`).
    pub(crate) fn webhook_targets(&self) -> schakel_domain::WebhookTargets {
        schakel_domain::WebhookTargets {
            allow_private: self.webhooks.allow_private.unwrap_or(false),
        }
    }

    /// Days `serve` keeps the rows of feed runs done with them (none: kept until `feed
    /// purge`).
    pub(crate) fn feed_retention(&self) -> Option<u32> {
        self.feeds.retain_days
    }

    /// How the published statistics protect reporters (command line first).
    pub(crate) fn stats_options(
        &self,
        threshold: Option<u64>,
        min_organisations: Option<u64>,
    ) -> schakel_app::StatsOptions {
        let default = schakel_app::StatsOptions::default();
        schakel_app::StatsOptions {
            threshold: threshold
                .or(self.statistics.threshold)
                .unwrap_or(default.threshold),
            min_organisations: min_organisations
                .or(self.statistics.min_organisations)
                .unwrap_or(default.min_organisations),
        }
    }

    /// The rulebooks: from `directory` (the command line's `--rulebooks` first, then the
    /// settings file), else the built-in ones. A defect stops here with file, line and reason.
    pub(crate) fn rulebooks(&self, directory: Option<&Path>) -> Result<RulebookSet, CliError> {
        let mut dates = EffectiveDates::default();
        if let Some(start) = &self.rulebook.cbw_start {
            dates.cbw = parse_date(start)
                .map_err(|e| CliError::user(format!("settings `rulebook.cbw_start`: {e}")))?;
        }
        let invalid =
            |e: schakel_rulebook::RulebookError| CliError::user(format!("invalid rulebook: {e}"));
        let Some(dir) = directory.or(self.rulebook.directory.as_deref()) else {
            return RulebookSet::defaults(dates).map_err(invalid);
        };
        let read = |name: &str| -> Result<(String, String), CliError> {
            let path = dir.join(name);
            std::fs::read_to_string(&path)
                .map(|text| (path.display().to_string(), text))
                .map_err(|e| {
                    CliError::user(format!("cannot read rulebook `{}`: {e}", path.display()))
                })
        };
        let (schema_file, schema) = read("schema.cedarschema")?;
        let starts = [dates.wbni_2018, dates.wbni_2022, dates.cbw];
        let mut sources = Vec::new();
        for ((id, name), from) in RULEBOOK_FILES.iter().zip(starts) {
            let (file, text) = read(name)?;
            sources.push(RulebookSource {
                id: (*id).to_owned(),
                file,
                text,
                from,
            });
        }
        RulebookSet::load(&schema_file, &schema, sources, dates).map_err(invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The settings file README.md shows is one schakel reads.
    #[test]
    fn the_readme_example_is_read() -> Result<(), String> {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("```toml\n[registry]")
            .ok_or("README.md shows no settings file")?;
        let text = &readme[start + "```toml\n".len()..];
        let text = &text[..text.find("```").ok_or("unterminated")?];
        let settings: Settings = toml::from_str(text).map_err(|e| e.to_string())?;
        assert_eq!(settings.feed_field_limit(), 65536);
        assert!(!settings.webhook_targets().allow_private);
        assert_eq!(settings.server_limits().upload_bytes, 1024 << 20);
        assert_eq!(settings.feed_retention(), Some(30));
        Ok(())
    }
}
