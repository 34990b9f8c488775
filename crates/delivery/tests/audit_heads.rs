//! Signed heads of the audit chain: signed with the centre's Ed25519 OpenPGP key, checked by
//! GnuPG (an independent OpenPGP implementation), and a truncation after a signed head is
//! found.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use jiff::Timestamp;
use schakel_app::{App, Clock, Signer};
use schakel_delivery::CentreKey;
use schakel_domain::{Principal, Role, SectorVocabulary};
use schakel_rulebook::{EffectiveDates, RulebookSet};
use schakel_store::SqliteStore;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn app_on(path: &Path) -> Result<App, Box<dyn std::error::Error>> {
    Ok(App::new(
        Arc::new(SqliteStore::open(path, SectorVocabulary::default())?),
        SectorVocabulary::default(),
        Arc::new(RulebookSet::defaults(EffectiveDates::default())?),
        Clock::fixed("2026-11-22T10:00:00Z".parse::<Timestamp>()?),
    ))
}

/// Runs GnuPG in its own home directory; the test needs it (Debian package `gnupg`).
fn gpg(home: &Path, args: &[&str]) -> Result<std::process::Output, Box<dyn std::error::Error>> {
    Command::new("gpg")
        .arg("--homedir")
        .arg(home)
        .args(["--batch", "--no-tty"])
        .args(args)
        .output()
        .map_err(|e| format!("cannot run gpg (install the Debian package gnupg): {e}").into())
}

#[test]
fn a_signed_head_verifies_with_gnupg_and_a_later_truncation_is_found() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("t.db");
    let app = app_on(&db)?;
    let admin = App::installation();
    app.load_demo(&admin)?;
    let lena = Principal {
        token_id: "tok_lena".into(),
        name: "lena".into(),
        role: Role::Legal,
        organisation: None,
    };
    let key = CentreKey::generate("Test Centre <cert@centre.example>")?;
    let head = app.sign_audit_head(&lena, &key)?;
    assert_eq!(head.fingerprint, key.fingerprint());
    // The head signed is the last entry before the signing.
    let v = app.verify_audit(&lena, Some(&key), Some(&head))?;
    assert!(v.intact(), "{:?}", v.problems);
    assert_eq!(v.heads_checked, 2);

    // GnuPG checks the signature with the published public key.
    let home = dir.path().join("gnupg");
    std::fs::create_dir(&home)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700))?;
    }
    let public = dir.path().join("centre.asc");
    std::fs::write(&public, key.public_armored()?)?;
    let data = dir.path().join("head.txt");
    std::fs::write(&data, head.text())?;
    let sig = dir.path().join("head.txt.asc");
    std::fs::write(&sig, &head.signature)?;
    let import = gpg(&home, &["--import", path(&public)?])?;
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let check = gpg(&home, &["--verify", path(&sig)?, path(&data)?])?;
    let said = String::from_utf8_lossy(&check.stderr).into_owned();
    assert!(check.status.success(), "{said}");
    assert!(said.contains("Good signature"), "{said}");
    // A changed head does not verify.
    std::fs::write(&data, head.text().replace("seq:", "seq: 1"))?;
    let check = gpg(&home, &["--verify", path(&sig)?, path(&data)?])?;
    assert!(!check.status.success());

    // A different key's head is reported, and so is a signature that does not match.
    let other = CentreKey::generate("Impostor <x@example>")?;
    let v = app.verify_audit(&lena, Some(&other), None)?;
    assert!(
        v.problems
            .iter()
            .any(|p| p.contains("not by the centre's key")),
        "{:?}",
        v.problems
    );
    assert!(key.verify(b"something else", &head.signature).is_err());

    // Someone with the file removes the signed head and everything after the signed
    // entry, and rewrites nothing else: the chain itself still links, but the head kept
    // outside shows the truncation.
    drop(app);
    let conn = rusqlite::Connection::open(&db)?;
    conn.execute_batch(&format!(
        "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq >= {};",
        head.seq
    ))?;
    drop(conn);
    let app = app_on(&db)?;
    let v = app.verify_audit(&lena, Some(&key), None)?;
    assert!(
        v.intact(),
        "without the kept head the truncation cannot show: {:?}",
        v.problems
    );
    let v = app.verify_audit(&lena, Some(&key), Some(&head))?;
    assert!(!v.intact());
    assert!(
        v.problems.iter().any(|p| p.contains("truncated")),
        "{:?}",
        v.problems
    );
    Ok(())
}

fn path(p: &Path) -> Result<&str, Box<dyn std::error::Error>> {
    p.to_str().ok_or_else(|| "path".into())
}
