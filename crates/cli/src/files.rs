//! The files the command writes beside the database or where it is told: each readable by
//! its owner only (0600), written whole or not at all.

use std::io::Write;
use std::path::{Path, PathBuf};

use schakel_app::SecretsKey;

use crate::commands::CliError;

/// Creates `path` (never overwriting one) readable by its owner only, and writes `bytes`.
fn create_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Writes a file through a temporary file and a rename, so a reader never sees half; the
/// file is readable by its owner only (exports hold contacts, deliveries and reports).
pub(crate) fn write_atomically(path: &Path, text: &str) -> Result<(), CliError> {
    let tmp = path.with_extension("tmp-schakel");
    let _ = std::fs::remove_file(&tmp);
    create_private(&tmp, text.as_bytes())
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| CliError::user(format!("cannot write `{}`: {e}", path.display())))
}

/// A file beside the database, unless given: the centre's key, the secrets key.
pub(crate) fn beside_db(given: Option<&Path>, db: &Path, name: &str) -> PathBuf {
    given.map_or_else(
        || {
            db.parent()
                .map_or_else(|| Path::new(".").to_path_buf(), Path::to_path_buf)
                .join(name)
        },
        Path::to_path_buf,
    )
}

/// The secrets key from its file; with `create`, a new one is made when there is none.
/// `None`: there is no file (and `create` was not asked).
pub(crate) fn secrets_key(path: &Path, create: bool) -> Result<Option<SecretsKey>, CliError> {
    match std::fs::read_to_string(path) {
        Ok(text) => SecretsKey::from_file_text(&text)
            .map(Some)
            .map_err(|e| CliError::user(format!("the secrets key `{}`: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            let key = SecretsKey::generate()?;
            create_private(path, key.to_file_text().as_bytes()).map_err(|e| {
                CliError::user(format!(
                    "cannot create the secrets key `{}`: {e}",
                    path.display()
                ))
            })?;
            Ok(Some(key))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CliError::user(format!(
            "cannot read the secrets key `{}`: {e}",
            path.display()
        ))),
    }
}
