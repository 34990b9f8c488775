//! Other people's software that schakel's tests check it against: validators (the OpenAPI
//! spec validator), client generators (openapi-python-client), the libraries other tools
//! are built on (stix2, PyMISP). Each is installed from PyPI, at test time, into a Python
//! virtual environment under the test's `target/` directory, pinned, and reused by later
//! runs; nothing is vendored in the repository.
//!
//! A tool that cannot be installed fails the test that needs it, with the reason: a test
//! that quietly skips what it was meant to check proves nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A virtual environment with some packages, ready to run.
#[derive(Debug, Clone)]
pub struct Python {
    dir: PathBuf,
}

impl Python {
    /// The environment `name` under `target_tmp` (a test's `CARGO_TARGET_TMPDIR`) with
    /// `packages` (pip requirements, pinned: `stix2==3.0.2`); made and filled the first
    /// time, reused after. Several tests (and test binaries) asking at once wait for each
    /// other.
    pub fn with(target_tmp: &str, name: &str, packages: &[&str]) -> Result<Self, String> {
        let dir = Path::new(target_tmp).join(format!("py-{name}"));
        std::fs::create_dir_all(target_tmp)
            .map_err(|e| format!("cannot create `{target_tmp}`: {e}"))?;
        let lock_path = Path::new(target_tmp).join(format!("py-{name}.lock"));
        let lock = std::fs::File::create(&lock_path)
            .map_err(|e| format!("cannot create `{}`: {e}", lock_path.display()))?;
        lock.lock()
            .map_err(|e| format!("cannot lock `{}`: {e}", lock_path.display()))?;
        let done = dir.join("schakel-installed.txt");
        let wanted = packages.join("\n");
        if std::fs::read_to_string(&done).ok().as_deref() == Some(wanted.as_str()) {
            return Ok(Self { dir });
        }
        let run = |command: &mut Command, what: &str| -> Result<(), String> {
            let out = command.output().map_err(|e| {
                format!("cannot run {what} (install Python 3 with venv and pip): {e}")
            })?;
            if out.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "{what} failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                        .chars()
                        .take(800)
                        .collect::<String>()
                ))
            }
        };
        let _ = std::fs::remove_dir_all(&dir);
        run(
            Command::new("python3").args(["-m", "venv"]).arg(&dir),
            "python3 -m venv",
        )?;
        let python = Self { dir };
        run(
            python
                .command("pip")
                .args(["install", "--quiet", "--disable-pip-version-check"])
                .args(packages),
            &format!("pip install {}", packages.join(" ")),
        )?;
        std::fs::write(&done, wanted)
            .map_err(|e| format!("cannot write `{}`: {e}", done.display()))?;
        Ok(python)
    }

    /// A program of the environment (`python`, `pip`, or a package's command such as
    /// `openapi-spec-validator`).
    pub fn command(&self, program: &str) -> Command {
        Command::new(self.dir.join("bin").join(program))
    }

    /// `python -c SCRIPT`, its arguments to follow.
    pub fn script(&self, script: &str) -> Command {
        let mut c = self.command("python");
        c.args(["-c", script]);
        c
    }
}
