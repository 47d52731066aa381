//! Connecting to NATS with the settings every process shares: ping interval, retry on first connect,
//! credentials, TLS, the inbox prefix, and a watch on the connection's health.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::{Client, ConnectOptions, Event};

use crate::settings::NatsSettings;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot read NATS credentials `{path}`: {reason}")]
    Credentials { path: String, reason: String },
    #[error("cannot connect to NATS at {url}: {reason}")]
    Connect { url: String, reason: String },
}

/// Whether the connection to the server is up right now; flips with the client's events.
#[derive(Debug, Clone)]
pub struct ConnectionHealth(Arc<AtomicBool>);

impl ConnectionHealth {
    pub fn is_connected(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Connects as `name` (shown in the server's connection list).
pub async fn connect(settings: &NatsSettings, name: &str) -> Result<(Client, ConnectionHealth), ConnectError> {
    let health = ConnectionHealth(Arc::new(AtomicBool::new(false)));
    let mut options = match &settings.credentials_file {
        Some(path) => ConnectOptions::with_credentials_file(path.clone()).await.map_err(|error| {
            ConnectError::Credentials { path: path.display().to_string(), reason: error.to_string() }
        })?,
        None => ConnectOptions::new(),
    };
    if let (Some(user), Some(password)) = (&settings.user, &settings.password) {
        options = options.user_and_password(user.clone(), password.clone());
    }
    if let Some(prefix) = &settings.inbox_prefix {
        options = options.custom_inbox_prefix(prefix);
    }
    if let Some(path) = &settings.tls_ca_file {
        options = options.add_root_certificates(path.clone());
    }
    if let (Some(cert), Some(key)) = (&settings.tls_cert_file, &settings.tls_key_file) {
        options = options.add_client_certificate(cert.clone(), key.clone());
    }
    options = options
        .require_tls(settings.require_tls)
        .name(name)
        .ping_interval(Duration::from_secs(settings.ping_interval_secs))
        .connection_timeout(Duration::from_millis(settings.connect_timeout_ms))
        .request_timeout(Some(settings.request_timeout()))
        .event_callback({
            let health = health.clone();
            move |event| {
                let health = health.clone();
                async move { observe(&health, event) }
            }
        });
    if settings.retry_on_initial_connect {
        options = options.retry_on_initial_connect();
    }
    let client = options
        .connect(settings.url.as_str())
        .await
        .map_err(|error| ConnectError::Connect { url: settings.url.clone(), reason: error.to_string() })?;
    if client.connection_state() == async_nats::connection::State::Connected {
        health.0.store(true, Ordering::Relaxed);
    }
    Ok((client, health))
}

fn observe(health: &ConnectionHealth, event: Event) {
    match event {
        Event::Connected => {
            health.0.store(true, Ordering::Relaxed);
            tracing::info!("Connected to NATS.");
        }
        Event::Disconnected => {
            health.0.store(false, Ordering::Relaxed);
            tracing::warn!("Disconnected from NATS; reconnecting.");
        }
        Event::LameDuckMode => {
            tracing::warn!("NATS server entered lame-duck mode; it will close this connection soon.")
        }
        Event::SlowConsumer(sid) => {
            tracing::error!(
                subscription = sid,
                "Slow consumer: NATS dropped messages that this process did not read in time."
            )
        }
        other => tracing::info!(event = %other, "NATS client event."),
    }
}
