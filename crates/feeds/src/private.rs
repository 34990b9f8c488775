//! The files a run writes: de-duplication state beside the database, spools in the
//! temporary directory. They hold every column of the source, so each is readable by its
//! owner only (files 0600, directories 0700), and a spool directory left behind by a run
//! that crashed is removed by the next run (or `serve` starting).

use std::fs::File;
use std::path::{Path, PathBuf};

/// What every spool directory's name starts with.
const SPOOL_PREFIX: &str = "schakel-feed-";
/// The file in a spool directory that its run holds locked while it lives.
const OWNER_LOCK: &str = "owner.lock";

/// Creates `path` (or truncates it) for writing, readable by its owner only.
pub(crate) fn create_file(path: &Path) -> std::io::Result<File> {
    let mut options = File::options();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Creates `path` and its parents, the last readable by its owner only.
pub(crate) fn create_dir_all(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Removes the spool directories in the temporary directory whose run is gone (a crash,
/// a kill): nobody holds their lock. Returns how many it removed.
pub fn remove_orphaned_spools() -> usize {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if !name.starts_with(SPOOL_PREFIX) || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = entry.path();
        let orphaned = match File::open(path.join(OWNER_LOCK)) {
            // The lock can be taken: its run no longer holds it.
            Ok(lock) => lock.try_lock().is_ok(),
            // Made by a version without the lock: orphaned when its process is gone.
            Err(_) => name
                .strip_prefix(SPOOL_PREFIX)
                .and_then(|rest| rest.split('-').next())
                .and_then(|pid| pid.parse::<u32>().ok())
                .is_some_and(|pid| {
                    Path::new("/proc").is_dir()
                        && !Path::new("/proc").join(pid.to_string()).exists()
                }),
        };
        if orphaned && std::fs::remove_dir_all(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// A spool directory, removed when dropped; its lock held while it lives.
pub(crate) struct TempDir {
    path: PathBuf,
    _lock: File,
}

impl TempDir {
    /// Makes one in the temporary directory, after removing orphaned ones.
    pub(crate) fn new() -> std::io::Result<Self> {
        remove_orphaned_spools();
        let base = std::env::temp_dir();
        let pid = std::process::id();
        for attempt in 0..100u32 {
            // Made under a name the sweep ignores, locked, then given its name: no other
            // run ever sees it unlocked.
            let making = base.join(format!(".{SPOOL_PREFIX}{pid}-{attempt}"));
            let path = base.join(format!("{SPOOL_PREFIX}{pid}-{attempt}"));
            if path.exists() {
                continue;
            }
            let mut builder = std::fs::DirBuilder::new();
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                builder.mode(0o700);
            }
            match builder.create(&making) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
            let lock = create_file(&making.join(OWNER_LOCK))?;
            lock.lock()?;
            match std::fs::rename(&making, &path) {
                Ok(()) => return Ok(Self { path, _lock: lock }),
                Err(_) => {
                    let _ = std::fs::remove_dir_all(&making);
                    continue;
                }
            }
        }
        Err(std::io::Error::other("no free temporary directory name"))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).map_or(0, |m| m.permissions().mode() & 0o777)
    }

    #[test]
    #[cfg(unix)]
    fn spools_are_private_and_orphans_are_swept() -> std::io::Result<()> {
        let live = TempDir::new()?;
        assert_eq!(mode(live.path()), 0o700);
        let file = live.path().join("rows.spool");
        drop(create_file(&file)?);
        assert_eq!(mode(&file), 0o600);
        // A run that died: its directory and lock file remain, nobody holds the lock.
        let dead = std::env::temp_dir().join(format!("{SPOOL_PREFIX}test-{}", std::process::id()));
        create_dir_all(&dead)?;
        drop(create_file(&dead.join(OWNER_LOCK))?);
        drop(create_file(&dead.join("rows.spool"))?);
        remove_orphaned_spools();
        assert!(!dead.exists(), "the orphan was left");
        assert!(live.path().exists(), "a live run's spool was removed");
        let path = live.path().to_path_buf();
        drop(live);
        assert!(!path.exists());
        Ok(())
    }
}
