//! Secrets the centre must keep usable (webhook signing secrets: HMAC needs them in clear)
//! are stored sealed, with AES-256-GCM under a key kept outside the database (the secrets
//! key file, made and read by the binary). A copy of the database — a backup, a dump, a
//! stolen file — holds no usable secret without that file.
//!
//! A sealed value is `sealed:v1:` and the base64 of a random 96-bit nonce followed by the
//! ciphertext and its tag; the associated data names what it is (such as
//! `webhook-secret:z-cert`), so a sealed value moved to another row does not open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::AppError;

/// What a sealed value starts with.
const SEALED: &str = "sealed:v1:";
/// What a secrets key file holds, before the key's base64.
const KEY_FILE_PREFIX: &str = "schakel-secrets-key-v1:";

/// The key secrets are sealed with. Never printed: its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct SecretsKey([u8; 32]);

impl std::fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretsKey(…)")
    }
}

impl SecretsKey {
    /// A new random key from the operating system.
    pub fn generate() -> Result<Self, AppError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| {
            AppError::Internal(format!("the operating system's random source failed: {e}"))
        })?;
        Ok(Self(key))
    }

    /// The key file's text (one line).
    pub fn to_file_text(&self) -> String {
        format!("{KEY_FILE_PREFIX}{}\n", STANDARD.encode(self.0))
    }

    /// Reads a key file's text.
    pub fn from_file_text(text: &str) -> Result<Self, String> {
        let encoded = text
            .trim()
            .strip_prefix(KEY_FILE_PREFIX)
            .ok_or("it is not a schakel secrets key file")?;
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| "its key is not base64".to_owned())?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "its key is not 32 bytes".to_owned())?;
        Ok(Self(key))
    }

    fn cipher(&self) -> Result<Aes256Gcm, AppError> {
        Aes256Gcm::new_from_slice(&self.0)
            .map_err(|e| AppError::Internal(format!("the secrets key cannot key AES-256-GCM: {e}")))
    }

    /// Seals `secret`, bound to `label` (what it is and whose).
    pub(crate) fn seal(&self, label: &str, secret: &str) -> Result<String, AppError> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| {
            AppError::Internal(format!("the operating system's random source failed: {e}"))
        })?;
        let sealed = self
            .cipher()?
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: label.as_bytes(),
                },
            )
            .map_err(|_| AppError::Internal("sealing a secret failed".into()))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!("{SEALED}{}", STANDARD.encode(bytes)))
    }
}

/// Whether a stored value is sealed (else it was stored in clear by an earlier version).
pub(crate) fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED)
}

/// Opens a stored value bound to `label`; a value stored in clear by an earlier version
/// is returned as it is.
pub(crate) fn open(key: Option<&SecretsKey>, label: &str, stored: &str) -> Result<String, String> {
    let Some(encoded) = stored.strip_prefix(SEALED) else {
        return Ok(stored.to_owned());
    };
    let key =
        key.ok_or("the secret is sealed and this installation has no secrets key (--secrets-key)")?;
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|_| "the sealed secret is damaged (not base64)".to_owned())?;
    if bytes.len() < 12 {
        return Err("the sealed secret is damaged (too short)".into());
    }
    let (nonce, sealed) = bytes.split_at(12);
    let clear = key
        .cipher()
        .map_err(|e| e.to_string())?
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: label.as_bytes(),
            },
        )
        .map_err(|_| {
            "the secret does not open with this secrets key (another installation's key, or a damaged value)".to_owned()
        })?;
    String::from_utf8(clear).map_err(|_| "the opened secret is not text".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_label() -> Result<(), AppError> {
        let key = SecretsKey::generate()?;
        let sealed = key.seal("webhook-secret:z-cert", "whsec_abc")?;
        assert!(is_sealed(&sealed) && !sealed.contains("whsec_abc"));
        assert_eq!(
            open(Some(&key), "webhook-secret:z-cert", &sealed).as_deref(),
            Ok("whsec_abc")
        );
        // Another row's label, another key, no key: it does not open.
        assert!(open(Some(&key), "webhook-secret:ibd", &sealed).is_err());
        assert!(
            open(
                Some(&SecretsKey::generate()?),
                "webhook-secret:z-cert",
                &sealed
            )
            .is_err()
        );
        assert!(open(None, "webhook-secret:z-cert", &sealed).is_err());
        // Two seals of one secret differ (a fresh nonce each time).
        assert_ne!(sealed, key.seal("webhook-secret:z-cert", "whsec_abc")?);
        // A value stored in clear by an earlier version reads as it is.
        assert_eq!(open(None, "x", "whsec_old").as_deref(), Ok("whsec_old"));
        // The key file round-trips, and its Debug shows nothing.
        let text = key.to_file_text();
        let again = SecretsKey::from_file_text(&text).map_err(AppError::Internal)?;
        assert_eq!(
            open(Some(&again), "webhook-secret:z-cert", &sealed).as_deref(),
            Ok("whsec_abc")
        );
        assert_eq!(format!("{key:?}"), "SecretsKey(…)");
        assert!(SecretsKey::from_file_text("nonsense").is_err());
        Ok(())
    }
}
