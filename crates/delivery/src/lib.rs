//! schakel's couriers: what hands a delivery to the outside world. Each implements
//! [`schakel_app::Courier`] for one channel; the worker in `schakel-app` decides what goes
//! and records what happened.

mod centre_key;
mod email;
mod webhook;

pub use centre_key::{CentreKey, verify_signature};
pub use email::EmailCourier;
pub use webhook::{WebhookCourier, sign};
