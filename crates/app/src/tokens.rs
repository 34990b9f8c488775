//! API tokens: random secrets that belong to a person (or a recipient organisation), stored
//! only as SHA-256 hashes, listable and revocable.

use schakel_domain::{Date, OrgSlug, Principal, Role, day_start};
use schakel_store::{NewAuditEntry, TokenRecord};
use sha2::{Digest, Sha256};

use crate::access::{Action, require};
use crate::registry::{not_found, parse_slug};
use crate::{App, AppError};

/// Prefix of every secret, so that secret scanners and people recognise one.
const SECRET_PREFIX: &str = "skl_";

/// Whom a new token is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// A member of staff, by name.
    Staff {
        /// analyst, legal or admin.
        role: Role,
        /// The person.
        name: String,
    },
    /// A recipient organisation.
    Recipient {
        /// Its slug.
        organisation: String,
        /// A label (who holds it there); defaults to the organisation's slug.
        label: Option<String>,
    },
}

/// A request for a new token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// Whom it is for.
    pub kind: TokenKind,
    /// Last day it works (inclusive, Europe/Amsterdam); `None`: until revoked.
    pub expires: Option<Date>,
}

/// A token just made. The secret is shown once and never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The secret, to give to its holder.
    pub secret: String,
    /// What was stored.
    pub record: TokenRecord,
}

pub(crate) fn random_hex(bytes: usize) -> Result<String, AppError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| {
        AppError::Conflict(format!("the operating system's random source failed: {e}"))
    })?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn check_name(field: &str, name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::field(
            field,
            format!("`{name}` is not a usable name (1 to 100 characters, no control characters)"),
        ));
    }
    Ok(name.to_owned())
}

fn token_json(t: &TokenRecord) -> serde_json::Value {
    serde_json::json!({
        "id": t.id,
        "role": t.role.as_str(),
        "name": t.name,
        "organisation": t.organisation.as_ref().map(OrgSlug::as_str),
        "expires_at": t.expires_at.map(|e| e.to_string()),
        "revoked_at": t.revoked_at.map(|e| e.to_string()),
    })
}

impl App {
    /// Makes a token (administrators only). The secret is returned once.
    pub fn create_token(
        &self,
        principal: &Principal,
        request: TokenRequest,
    ) -> Result<IssuedToken, AppError> {
        require(principal, Action::ManageTokens)?;
        let now = self.clock.now();
        let today = self.clock.today();
        let expires_at = match request.expires {
            None => None,
            Some(last_day) if last_day < today => {
                return Err(AppError::field(
                    "expires",
                    format!("{last_day} lies in the past"),
                ));
            }
            Some(last_day) => {
                // Works through `last_day` in Amsterdam: expires at the next midnight there.
                let next = last_day
                    .tomorrow()
                    .map_err(|e| AppError::field("expires", e.to_string()))?;
                Some(day_start(next).map_err(|e| AppError::field("expires", e.0))?)
            }
        };
        let mut tx = self.store.write()?;
        let (role, name, organisation) = match &request.kind {
            TokenKind::Staff {
                role: Role::Recipient,
                ..
            } => {
                return Err(AppError::field(
                    "role",
                    "a recipient token is made for an organisation (`--org SLUG`)",
                ));
            }
            TokenKind::Staff { role, name } => (*role, check_name("name", name)?, None),
            TokenKind::Recipient {
                organisation,
                label,
            } => {
                let slug = parse_slug(organisation)?;
                let org = tx.organisation(&slug)?.ok_or_else(|| not_found(&slug))?;
                if org.is_ended_on(today) {
                    return Err(AppError::Conflict(format!(
                        "`{slug}` is ended; an ended organisation receives nothing"
                    )));
                }
                let label = match label {
                    Some(l) => check_name("name", l)?,
                    None => slug.to_string(),
                };
                (Role::Recipient, label, Some(slug))
            }
        };
        let secret = format!("{SECRET_PREFIX}{}", random_hex(32)?);
        let mut id = format!("tok_{}", random_hex(6)?);
        while tx.token(&id)?.is_some() {
            id = format!("tok_{}", random_hex(6)?);
        }
        let record = TokenRecord {
            id,
            secret_hash: hash_secret(&secret),
            role,
            name,
            organisation,
            created_at: now,
            created_by: principal.actor(),
            expires_at,
            revoked_at: None,
        };
        tx.insert_token(&record)?;
        tx.append_audit(NewAuditEntry {
            at: now,
            actor: principal.actor(),
            action: "token.create".into(),
            subject: format!("token:{}", record.id),
            before: None,
            after: Some(token_json(&record)),
        })?;
        tx.commit()?;
        Ok(IssuedToken { secret, record })
    }

    /// Every token (never their secrets), oldest first.
    pub fn tokens(&self, principal: &Principal) -> Result<Vec<TokenRecord>, AppError> {
        require(principal, Action::ManageTokens)?;
        Ok(self.store.read()?.tokens()?)
    }

    /// Revokes a token; it stops working at once. Revoking twice changes nothing.
    pub fn revoke_token(&self, principal: &Principal, id: &str) -> Result<TokenRecord, AppError> {
        require(principal, Action::ManageTokens)?;
        let now = self.clock.now();
        let mut tx = self.store.write()?;
        let before = tx
            .token(id)?
            .ok_or_else(|| AppError::NotFound(format!("no token `{id}`")))?;
        if before.revoked_at.is_some() {
            return Ok(before);
        }
        tx.revoke_token(id, now)?;
        let after = tx
            .token(id)?
            .ok_or_else(|| AppError::NotFound(format!("no token `{id}`")))?;
        tx.append_audit(NewAuditEntry {
            at: now,
            actor: principal.actor(),
            action: "token.revoke".into(),
            subject: format!("token:{id}"),
            before: Some(token_json(&before)),
            after: Some(token_json(&after)),
        })?;
        tx.commit()?;
        Ok(after)
    }

    /// Checks a bearer secret and returns who holds it.
    pub fn authenticate(&self, secret: &str) -> Result<Principal, AppError> {
        let unauthenticated = |m: &str| AppError::Unauthenticated(m.to_owned());
        if !secret.starts_with(SECRET_PREFIX) {
            return Err(unauthenticated("the bearer token is not a schakel token"));
        }
        let mut tx = self.store.read()?;
        let token = tx
            .token_by_secret_hash(&hash_secret(secret))?
            .ok_or_else(|| unauthenticated("the bearer token is not valid"))?;
        let now = self.clock.now();
        if token.revoked_at.is_some() {
            return Err(unauthenticated("the bearer token was revoked"));
        }
        if token.expires_at.is_some_and(|e| e <= now) {
            return Err(unauthenticated("the bearer token has expired"));
        }
        if let Some(slug) = &token.organisation {
            let ended = tx
                .organisation(slug)?
                .is_none_or(|o| o.is_ended_on(self.clock.today()));
            if ended {
                return Err(unauthenticated("the bearer token's organisation is ended"));
            }
        }
        Ok(Principal {
            token_id: token.id,
            name: token.name,
            role: token.role,
            organisation: token.organisation,
        })
    }
}
