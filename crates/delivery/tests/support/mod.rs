//! The SMTP server the email tests deliver to: aiosmtpd from PyPI. When the system's
//! Python lacks it, it is installed once into the test's target directory (pip's
//! `--target`, which leaves the system's packages alone), so `cargo test` works on a fresh
//! machine that has Python and pip.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Where aiosmtpd was installed, when the system's Python did not have it.
fn installed() -> &'static Result<Option<PathBuf>, String> {
    static DIR: OnceLock<Result<Option<PathBuf>, String>> = OnceLock::new();
    DIR.get_or_init(|| {
        let present = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("cannot run python3 (install Python 3): {e}"))?;
        if present.success() {
            return Ok(None);
        }
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("aiosmtpd");
        let already = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .env("PYTHONPATH", &dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if already {
            return Ok(Some(dir));
        }
        let out = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--target"])
            .arg(&dir)
            .arg("aiosmtpd")
            .output()
            .map_err(|e| format!("cannot run pip: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "aiosmtpd is missing and pip could not install it (pip install aiosmtpd): {}",
                String::from_utf8_lossy(&out.stderr)
                    .chars()
                    .take(400)
                    .collect::<String>()
            ));
        }
        Ok(Some(dir))
    })
}

/// `python3 -m aiosmtpd`, ready for its arguments.
pub fn aiosmtpd() -> Result<Command, String> {
    let mut command = Command::new("python3");
    if let Some(dir) = installed().clone()? {
        command.env("PYTHONPATH", dir);
    }
    command.args(["-m", "aiosmtpd"]);
    Ok(command)
}
