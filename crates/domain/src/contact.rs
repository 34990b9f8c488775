//! How to reach an organisation: contacts with email, an optional OpenPGP key and webhook.

use std::fmt;
use std::net::IpAddr;

use pgp::composed::{Deserializable, SignedPublicKey};
use pgp::types::KeyDetails;

use crate::ValueError;

/// An email address (RFC 5322 `addr-spec`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses an address such as `soc@hospital-south.example`.
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        let plain = !text.contains('<') && !text.contains(' ');
        if plain && email_address::EmailAddress::is_valid(text) {
            Ok(Self(text.to_owned()))
        } else {
            Err(ValueError::new(format!(
                "`{text}` is not an email address (for example `soc@hospital-south.example`)"
            )))
        }
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An ASCII-armoured OpenPGP public key that parsed and whose self-signatures verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgpPublicKey {
    armored: String,
    fingerprint: String,
}

impl PgpPublicKey {
    /// Parses an armoured public key (`-----BEGIN PGP PUBLIC KEY BLOCK-----`).
    pub fn parse(armored: &str) -> Result<Self, ValueError> {
        if armored.contains("PRIVATE KEY BLOCK") {
            return Err(ValueError::new(
                "this is an OpenPGP private key; only the public key belongs in the registry",
            ));
        }
        let (key, _headers) = SignedPublicKey::from_string(armored).map_err(|e| {
            ValueError::new(format!(
                "not an ASCII-armoured OpenPGP public key ({})",
                first_line(&e.to_string())
            ))
        })?;
        key.verify_bindings().map_err(|e| {
            ValueError::new(format!(
                "the OpenPGP key's self-signatures do not verify ({})",
                first_line(&e.to_string())
            ))
        })?;
        let fingerprint = format!("{:X}", key.fingerprint());
        Ok(Self {
            armored: armored.to_owned(),
            fingerprint,
        })
    }

    /// The key as it was given.
    pub fn armored(&self) -> &str {
        &self.armored
    }

    /// The primary key's fingerprint, uppercase hex.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

/// A webhook endpoint: an `https` URL, or plain `http` on a loopback address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    /// Parses and checks a webhook URL.
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        let url = url::Url::parse(text)
            .map_err(|e| ValueError::new(format!("`{text}` is not a URL ({e})")))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ValueError::new(format!(
                "`{text}` carries credentials; put secrets in the webhook secret, not the URL"
            )));
        }
        // Link-local, metadata and the like are refused whatever the settings allow;
        // private ranges are the installation's choice (`WebhookTargets`).
        if let Some(host) = url.host() {
            crate::WebhookTargets {
                allow_private: true,
            }
            .check_host(&host)
            .map_err(|e| ValueError::new(format!("`{text}`: {}", e.0)))?;
        }
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
            None => false,
        };
        match url.scheme() {
            "https" if url.host().is_some() => Ok(Self(url)),
            "http" if loopback => Ok(Self(url)),
            "http" => Err(ValueError::new(format!(
                "`{text}` uses plain http; webhooks need https (plain http only on a loopback address)"
            ))),
            _ => Err(ValueError::new(format!("`{text}` is not an https URL"))),
        }
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Checks the URL's host against an installation's allowed targets (as far as it can
    /// be known without a lookup: see [`crate::WebhookTargets::check_host`]).
    pub fn check(&self, targets: crate::WebhookTargets) -> Result<(), ValueError> {
        match self.0.host() {
            Some(host) => targets.check_host(&host),
            None => Err(ValueError::new(format!("`{}` has no host", self.0))),
        }
    }
}

/// A person or team at an organisation, and how to reach them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Name of the person or team (for example `SOC`).
    pub name: String,
    /// Where email goes.
    pub email: EmailAddress,
    /// The key mail is encrypted to, when one is on file.
    pub pgp_key: Option<PgpPublicKey>,
    /// Where webhooks go, when configured.
    pub webhook_url: Option<WebhookUrl>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(EmailAddress::parse("soc@hospital-south.example").is_ok());
        assert!(EmailAddress::parse("soc").is_err());
        assert!(EmailAddress::parse("SOC <soc@a.example>").is_err());
        assert!(EmailAddress::parse("").is_err());
    }

    #[test]
    fn webhooks() {
        assert!(WebhookUrl::parse("https://hooks.z-cert.example/schakel").is_ok());
        assert!(WebhookUrl::parse("http://127.0.0.1:9000/hook").is_ok());
        assert!(WebhookUrl::parse("http://[::1]:9000/hook").is_ok());
        assert!(WebhookUrl::parse("http://localhost/hook").is_ok());
        assert!(WebhookUrl::parse("http://hooks.example/hook").is_err());
        assert!(WebhookUrl::parse("ftp://hooks.example/hook").is_err());
        assert!(WebhookUrl::parse("https://user:pw@hooks.example/").is_err());
        assert!(WebhookUrl::parse("not a url").is_err());
        assert!(WebhookUrl::parse("https://169.254.169.254/latest/meta-data/").is_err());
        assert!(WebhookUrl::parse("https://[fe80::1]/hook").is_err());
        assert!(WebhookUrl::parse("https://0.0.0.0/hook").is_err());
    }

    #[test]
    fn pgp_keys() {
        assert!(PgpPublicKey::parse("not a key").is_err());
        let garbage =
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n";
        assert!(PgpPublicKey::parse(garbage).is_err());
    }
}
