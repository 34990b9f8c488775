//! schakel's HTTP API (axum): the routes under `/api/v1`, bearer-token authentication on
//! every route but `/healthz`, errors as `application/problem+json`, and the OpenAPI 3.1
//! document generated from the handlers at `/api/v1/openapi.json`.
//!
//! Handlers hold no business logic: they parse the request, call one [`App`] use case on
//! the blocking pool (the store is synchronous), and shape the answer.

mod auth;
mod feeds;
mod items;
mod problem;
mod reports;
mod routes;
mod wire;

use std::future::Future;

use axum::Router;
use schakel_app::App;
use tokio::net::TcpListener;

pub use problem::{ApiError, Problem, ProblemField};

/// The most a JSON request body may hold (axum's default); a larger one is a 413.
pub const JSON_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// How much the server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most a feed file posted to `/api/v1/feeds` may hold; past it the answer is a
    /// 413 and nothing of the run is kept.
    pub upload_bytes: u64,
}

impl Default for Limits {
    /// 1 GiB uploads.
    fn default() -> Self {
        Self {
            upload_bytes: 1 << 30,
        }
    }
}

/// Builds the complete router (API, health check, OpenAPI document, fallbacks).
pub fn router(app: App) -> Router {
    routes::router(app, Limits::default())
}

/// The router, accepting what `limits` allow.
pub fn router_with(app: App, limits: Limits) -> Router {
    routes::router(app, limits)
}

/// Serves `app` on `listener` until `shutdown` completes, then finishes the requests in
/// flight.
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, app, Limits::default(), shutdown).await
}

/// As [`serve`], accepting what `limits` allow.
pub async fn serve_with(
    listener: TcpListener,
    app: App,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router_with(app, limits))
        .with_graceful_shutdown(shutdown)
        .await
}
