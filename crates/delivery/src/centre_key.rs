//! The centre's own OpenPGP key (Ed25519): it signs outgoing email and the heads of the
//! audit chain, so that recipients and supervisors can check with any OpenPGP tool that
//! they came from the centre. The secret key lives in one ASCII-armoured file, readable
//! only by its owner.

use std::io::Write;
use std::path::Path;

use pgp::composed::{
    ArmorOptions, Deserializable, DetachedSignature, KeyType, SecretKeyParamsBuilder,
    SignedPublicKey, SignedSecretKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::types::{KeyDetails, Password};

/// The centre's signing key.
#[derive(Debug, Clone)]
pub struct CentreKey {
    secret: SignedSecretKey,
}

fn failed(what: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

impl CentreKey {
    /// Generates a new Ed25519 key for `user_id` (such as `NCSC <cert@ncsc.example>`).
    pub fn generate(user_id: &str) -> Result<Self, String> {
        let params = SecretKeyParamsBuilder::default()
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(true)
            .primary_user_id(user_id.to_owned())
            .build()
            .map_err(|e| failed("cannot set up the key", e))?;
        let secret = params
            .generate(rand::thread_rng())
            .map_err(|e| failed("cannot generate the key", e))?;
        Ok(Self { secret })
    }

    /// Reads an ASCII-armoured secret key.
    pub fn from_armored(text: &str) -> Result<Self, String> {
        let (secret, _) = SignedSecretKey::from_string(text)
            .map_err(|e| failed("not an ASCII-armoured OpenPGP secret key", e))?;
        secret
            .verify_bindings()
            .map_err(|e| failed("the key's self-signatures do not verify", e))?;
        Ok(Self { secret })
    }

    /// Reads the key file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            failed(
                &format!("cannot read the centre's key `{}`", path.display()),
                e,
            )
        })?;
        Self::from_armored(&text).map_err(|e| format!("`{}`: {e}", path.display()))
    }

    /// Writes the key file, readable only by its owner; refuses to overwrite one.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let text = self
            .secret
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| failed("cannot armour the key", e))?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(path)
            .map_err(|e| failed(&format!("cannot create `{}`", path.display()), e))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| failed(&format!("cannot write `{}`", path.display()), e))
    }

    /// The fingerprint, uppercase hex.
    pub fn fingerprint(&self) -> String {
        format!("{:X}", self.secret.fingerprint())
    }

    /// The public key, ASCII-armoured, to publish.
    pub fn public_armored(&self) -> Result<String, String> {
        SignedPublicKey::from(self.secret.clone())
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| failed("cannot armour the public key", e))
    }

    /// The public key.
    pub fn public(&self) -> SignedPublicKey {
        SignedPublicKey::from(self.secret.clone())
    }

    /// A detached, ASCII-armoured signature over `data` (binary, SHA-256).
    pub fn sign(&self, data: &[u8]) -> Result<String, String> {
        DetachedSignature::sign_binary_data(
            rand::thread_rng(),
            &self.secret.primary_key,
            &Password::empty(),
            HashAlgorithm::Sha256,
            data,
        )
        .and_then(|s| s.to_armored_string(ArmorOptions::default()))
        .map_err(|e| failed("cannot sign", e))
    }
}

/// Checks an ASCII-armoured detached signature over `data` with a public key.
pub fn verify_signature(
    public: &SignedPublicKey,
    data: &[u8],
    armored: &str,
) -> Result<(), String> {
    let (signature, _) = DetachedSignature::from_string(armored)
        .map_err(|e| failed("not an ASCII-armoured OpenPGP signature", e))?;
    signature
        .verify(public, data)
        .map_err(|e| failed("the signature does not verify", e))
}

impl schakel_app::Signer for CentreKey {
    fn fingerprint(&self) -> String {
        CentreKey::fingerprint(self)
    }

    fn sign(&self, data: &[u8]) -> Result<String, String> {
        CentreKey::sign(self, data)
    }

    fn verify(&self, data: &[u8], signature: &str) -> Result<(), String> {
        verify_signature(&self.public(), data, signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_signs_and_verifies_and_round_trips() -> Result<(), String> {
        let key = CentreKey::generate("Test Centre <cert@centre.example>")?;
        let signature = key.sign(b"head 12 sha256:abc")?;
        verify_signature(&key.public(), b"head 12 sha256:abc", &signature)?;
        assert!(verify_signature(&key.public(), b"head 12 sha256:abd", &signature).is_err());
        let armored = key
            .secret
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| e.to_string())?;
        let again = CentreKey::from_armored(&armored)?;
        assert_eq!(again.fingerprint(), key.fingerprint());
        assert_eq!(key.fingerprint().len(), 40);
        Ok(())
    }
}
