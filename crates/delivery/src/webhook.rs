//! Webhooks signed as the Standard Webhooks specification says: headers `webhook-id` (the
//! delivery's stable id, so a receiver drops a re-sent duplicate), `webhook-timestamp`
//! (Unix seconds) and `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of
//! `id.timestamp.body`, keyed with the base64-decoded part of the `whsec_` secret).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use schakel_app::{Courier, CourierError, Outgoing};
use schakel_domain::Channel;
use sha2::Sha256;

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

/// Posts deliveries to the recipient's `webhook_url`.
pub struct WebhookCourier {
    agent: ureq::Agent,
}

impl WebhookCourier {
    /// A courier with a per-request timeout.
    pub fn new(timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .user_agent("schakel")
            .build();
        Self {
            agent: config.into(),
        }
    }
}

impl Default for WebhookCourier {
    fn default() -> Self {
        Self::new(Duration::from_secs(15))
    }
}

impl Courier for WebhookCourier {
    fn channel(&self) -> Channel {
        Channel::Webhook
    }

    fn deliver(&self, out: &Outgoing) -> Result<(), CourierError> {
        let secret = out.webhook_secret.as_deref().ok_or_else(|| {
            CourierError::Permanent(format!(
                "no webhook signing secret for {}: run `schakel webhook secret {}`",
                out.recipient, out.recipient
            ))
        })?;
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
            .map_err(|e| CourierError::Retry(format!("POST {}: {e}", out.address)))?;
        let status = response.status().as_u16();
        match status {
            200..=299 => Ok(()),
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
