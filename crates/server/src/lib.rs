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

/// Builds the complete router (API, health check, OpenAPI document, fallbacks).
pub fn router(app: App) -> Router {
    routes::router(app)
}

/// Serves `app` on `listener` until `shutdown` completes, then finishes the requests in
/// flight.
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown)
        .await
}
