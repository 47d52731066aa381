//! Each process's small HTTP port (`service.http_listen`), for orchestrators and scrapers: `/healthz` (the
//! process is alive), `/readyz` (connected to NATS, its endpoints confirmed by a round trip, not stopping) and
//! `/metrics` (Prometheus text).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio_util::sync::CancellationToken;

/// What the port reports on.
pub trait Observed: Send + Sync + 'static {
    /// Connected, reachable through its own endpoints, and not stopping.
    fn is_ready(&self) -> bool;
    /// Every metric in Prometheus's text format.
    fn render_metrics(&self) -> String;
}

#[derive(Debug, thiserror::Error)]
#[error("cannot serve HTTP on `{address}`: {reason}")]
pub struct HttpError {
    pub address: String,
    pub reason: String,
}

/// Binds `address` and serves the probes and metrics of `observed` until `stop`; returns the address bound
/// (the port chosen when it was 0).
pub async fn serve(
    address: &str,
    observed: Arc<dyn Observed>,
    stop: CancellationToken,
) -> Result<SocketAddr, HttpError> {
    let failed = |error: &dyn std::fmt::Display| HttpError { address: address.to_owned(), reason: error.to_string() };
    let listener = tokio::net::TcpListener::bind(address).await.map_err(|error| failed(&error))?;
    let bound = listener.local_addr().map_err(|error| failed(&error))?;
    let router = Router::new()
        .route("/healthz", get(|| async { "alive\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .with_state(observed);
    tokio::spawn(async move {
        let served = axum::serve(listener, router).with_graceful_shutdown(stop.cancelled_owned()).await;
        if let Err(error) = served {
            tracing::warn!(%error, "The HTTP port stopped.");
        }
    });
    Ok(bound)
}

async fn ready(State(observed): State<Arc<dyn Observed>>) -> impl IntoResponse {
    if observed.is_ready() { (StatusCode::OK, "ready\n") } else { (StatusCode::SERVICE_UNAVAILABLE, "not ready\n") }
}

async fn metrics(State(observed): State<Arc<dyn Observed>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], observed.render_metrics())
}
