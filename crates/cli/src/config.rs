//! The optional TOML settings file (`--config`, env `SCHAKEL_CONFIG`).

use std::path::Path;

use schakel_domain::{DEFAULT_SECTORS, SectorVocabulary};
use serde::Deserialize;

use crate::commands::CliError;

/// Settings read from the file; everything has a default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    #[serde(default)]
    registry: RegistrySettings,
}

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
        toml::from_str(&text)
            .map_err(|e| CliError::user(format!("settings `{}`: {e}", path.display())))
    }

    /// The sector vocabulary in force.
    pub(crate) fn vocabulary(&self) -> Result<SectorVocabulary, CliError> {
        match &self.registry.sectors {
            None => SectorVocabulary::new(DEFAULT_SECTORS),
            Some(sectors) => SectorVocabulary::new(sectors),
        }
        .map_err(|e| CliError::user(format!("settings `registry.sectors`: {e}")))
    }
}
