//! The process's stop signal: SIGTERM (Kubernetes, supervisors) or SIGINT (Ctrl-C).

use tokio::signal::unix::{SignalKind, signal};

/// Resolves on the first SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let mut terminate = signal(SignalKind::terminate()).expect("installing a SIGTERM handler succeeds on Unix");
    let mut interrupt = signal(SignalKind::interrupt()).expect("installing a SIGINT handler succeeds on Unix");
    let name = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    };
    tracing::info!(signal = name, "Stop requested.");
}
