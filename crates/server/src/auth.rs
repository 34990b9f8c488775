//! Bearer-token authentication: the [`Caller`] extractor.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use schakel_app::{App, AppError};
use schakel_domain::Principal;

use crate::ApiError;
use crate::routes::blocking;

/// The authenticated caller of a request. Extracting it fails with 401 when the request
/// carries no valid `Authorization: Bearer …` token.
pub(crate) struct Caller(pub Principal);

impl FromRequestParts<App> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        // No credentials at all: the challenge carries no error code (RFC 6750 §3.1).
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or(ApiError::MissingToken)?;
        let value = header
            .to_str()
            .map_err(|_| unauthenticated("the Authorization header is not text"))?;
        let secret = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| unauthenticated("the Authorization header must use the Bearer scheme"))?
            .trim()
            .to_owned();
        let principal = blocking(app, move |app| app.authenticate(&secret)).await?;
        Ok(Caller(principal))
    }
}

fn unauthenticated(message: &str) -> ApiError {
    ApiError::App(AppError::Unauthenticated(message.to_owned()))
}
