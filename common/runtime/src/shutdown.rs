//! The process's stop signal: SIGTERM (Kubernetes, supervisors) or SIGINT (Ctrl-C), and, for a process that
//! `mneme up` started, the supervisor going away without stopping it.

use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

/// Set by a supervisor on the processes it starts: they stop when it is gone, however it went.
pub const STOP_WITH_PARENT: &str = "MNEME_STOP_WITH_PARENT";

/// Resolves on the first SIGTERM or SIGINT, or when the supervisor that started this process is gone.
pub async fn shutdown_signal() {
    let mut terminate = signal(SignalKind::terminate()).expect("installing a SIGTERM handler succeeds on Unix");
    let mut interrupt = signal(SignalKind::interrupt()).expect("installing a SIGINT handler succeeds on Unix");
    let name = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
        () = parent_gone() => "the supervisor is gone",
    };
    tracing::info!(signal = name, "Stop requested.");
}

/// Resolves when the parent process changes (an orphan is adopted by another), if [`STOP_WITH_PARENT`] is
/// set; never otherwise.
async fn parent_gone() {
    if std::env::var_os(STOP_WITH_PARENT).is_none() {
        return std::future::pending().await;
    }
    let parent = nix::unistd::getppid();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if nix::unistd::getppid() != parent {
            return;
        }
    }
}
