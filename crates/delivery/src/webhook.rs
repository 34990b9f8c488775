//! Webhooks signed as the Standard Webhooks specification says: headers `webhook-id` (the
//! delivery's stable id, so a receiver drops a re-sent duplicate), `webhook-timestamp`
//! (Unix seconds) and `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of
//! `id.timestamp.body`, keyed with the base64-decoded part of the `whsec_` secret).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use schakel_app::{Courier, CourierError, Outgoing};
use schakel_domain::{Channel, WebhookTargets};
use sha2::Sha256;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};

/// Signs `body` for message `id` at Unix time `timestamp` with a `whsec_` secret: the
/// value of the `webhook-signature` header.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String, String> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|e| format!("the webhook secret is not base64: {e}"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key)
        .map_err(|e| format!("the webhook secret cannot key HMAC: {e}"))?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Posts deliveries to the recipient's `webhook_url`, only to addresses the installation
/// allows ([`WebhookTargets`]): the name is resolved and every address checked when the
/// connection is made, and the connection goes to exactly the addresses checked (a name
/// that resolves elsewhere a second later gains nothing). Redirects are not followed and
/// no proxy from the environment is used.
pub struct WebhookCourier {
    agent: ureq::Agent,
}

impl WebhookCourier {
    /// A courier posting only to `targets`, 15 seconds a request.
    pub fn new(targets: WebhookTargets) -> Self {
        Self::with_timeout(Duration::from_secs(15), targets)
    }

    /// A courier with a per-request timeout, posting only to `targets`.
    pub fn with_timeout(timeout: Duration, targets: WebhookTargets) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .user_agent("schakel")
            .build();
        Self {
            agent: ureq::Agent::with_parts(
                config,
                ureq::unversioned::transport::DefaultConnector::default(),
                CheckedResolver { targets },
            ),
        }
    }
}

impl Default for WebhookCourier {
    /// Public targets only, 15 seconds a request.
    fn default() -> Self {
        Self::new(WebhookTargets::default())
    }
}

/// Why a webhook target was refused (carried through ureq's error).
#[derive(Debug)]
struct RefusedTarget(String);

impl std::fmt::Display for RefusedTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RefusedTarget {}

/// Resolves as ureq does, then refuses unless every address is an allowed target.
#[derive(Debug)]
struct CheckedResolver {
    targets: WebhookTargets,
}

impl Resolver for CheckedResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let addresses = DefaultResolver::default().resolve(uri, config, timeout)?;
        let host = uri.host().unwrap_or_default();
        for address in addresses.iter() {
            self.targets.check(address.ip()).map_err(|e| {
                ureq::Error::Other(Box::new(RefusedTarget(format!(
                    "webhook host `{host}` resolves to {}",
                    e.0
                ))))
            })?;
        }
        Ok(addresses)
    }
}

impl Courier for WebhookCourier {
    fn channel(&self) -> Channel {
        Channel::Webhook
    }

    fn deliver(&self, out: &Outgoing) -> Result<(), CourierError> {
        let secret = out
            .webhook_secret
            .as_deref()
            .map_err(|why| CourierError::Permanent(why.to_owned()))?;
        let body = out.payload.to_string();
        let timestamp = out.at.as_second();
        let signature = sign(secret, &out.id, timestamp, &body).map_err(CourierError::Permanent)?;
        let response = self
            .agent
            .post(&out.address)
            .header("content-type", "application/json")
            .header("webhook-id", &out.id)
            .header("webhook-timestamp", &timestamp.to_string())
            .header("webhook-signature", &signature)
            .send(&body)
            .map_err(|e| match &e {
                // A target the installation does not allow stays refused: fix the contact.
                ureq::Error::Other(inner) if inner.is::<RefusedTarget>() => {
                    CourierError::Permanent(format!(
                        "POST {}: {inner}; change the contact's webhook_url and requeue",
                        out.address
                    ))
                }
                _ => CourierError::Retry(format!("POST {}: {e}", out.address)),
            })?;
        let status = response.status().as_u16();
        match status {
            200..=299 => Ok(()),
            300..=399 => Err(CourierError::Permanent(format!(
                "POST {} answered {status} (a redirect); schakel follows none: register the final URL and requeue",
                out.address
            ))),
            // Throttled, timed out or broken on their side: try again later.
            408 | 429 | 500..=599 => Err(CourierError::Retry(format!(
                "POST {} answered {status}",
                out.address
            ))),
            _ => Err(CourierError::Permanent(format!(
                "POST {} answered {status}; fix the webhook and requeue",
                out.address
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn signs_like_the_reference_implementation() -> Result<(), String> {
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )?;
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        Ok(())
    }
}
