//! Layered settings: defaults < an optional TOML file < `MNEME__...` environment variables.
//!
//! Each binary has one settings struct made of the sections below plus its own. Sections reject unknown
//! keys, so a typo fails loudly; unknown top-level sections are ignored, because one environment (a
//! Kubernetes ConfigMap, say) often carries the sections of several binaries.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Environment variables that override settings start with this, then `__`, then the path with `__`
/// between levels: `MNEME__NATS__URL`, `MNEME__SERVICE__MAX_CONCURRENCY`.
pub const ENV_PREFIX: &str = "MNEME";
pub const ENV_SEPARATOR: &str = "__";
/// Names a settings file when no `--config` flag does.
pub const CONFIG_FILE_ENV: &str = "MNEME_CONFIG";
pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NatsSettings {
    /// One URL or several separated by commas.
    pub url: String,
    /// A `.creds` file (JWT and nkey seed) for decentralized auth.
    pub credentials_file: Option<PathBuf>,
    pub user: Option<String>,
    pub password: Option<String>,
    /// Where this process's reply subjects begin (`_INBOX` when absent). A secured server lets each user
    /// receive replies on its own prefix only (`_INBOX_<user>`), so that no one reads another's replies.
    pub inbox_prefix: Option<String>,
    /// Refuse to talk to the server without TLS.
    pub require_tls: bool,
    /// PEM certificates the server's certificate must chain to, when it is not signed by a public CA.
    pub tls_ca_file: Option<PathBuf>,
    /// This process's own certificate and key (PEM), for servers that verify their clients.
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    /// How often the client pings the server; two missed pongs mark the connection dead.
    pub ping_interval_secs: u64,
    pub connect_timeout_ms: u64,
    /// Keep trying when the server is not up yet (a pod started before NATS) instead of failing.
    pub retry_on_initial_connect: bool,
    /// Timeout of calls that do not set their own.
    pub request_timeout_ms: u64,
}

impl Default for NatsSettings {
    fn default() -> Self {
        NatsSettings {
            url: DEFAULT_NATS_URL.to_owned(),
            credentials_file: None,
            user: None,
            password: None,
            inbox_prefix: None,
            require_tls: false,
            tls_ca_file: None,
            tls_cert_file: None,
            tls_key_file: None,
            ping_interval_secs: 15,
            connect_timeout_ms: 5_000,
            retry_on_initial_connect: true,
            request_timeout_ms: 10_000,
        }
    }
}

impl NatsSettings {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

/// How an instance serves requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceSettings {
    /// Requests handled at once; more wait in line, highest priority first.
    pub max_concurrency: usize,
    /// Requests that may wait for a slot; beyond that they are turned away with `unavailable` (503).
    pub max_queued: usize,
    /// Bodies larger than this are refused with `payload_too_large` (413).
    pub max_body_bytes: usize,
    /// On SIGTERM, how long in-flight requests may take to finish before the process exits anyway.
    pub shutdown_grace_ms: u64,
    /// How long the start-up round trip through the instance's own endpoint may take.
    pub readiness_timeout_ms: u64,
    /// When above 0, the instance gives itself `feedback` this often: the requests it answered per second
    /// since the last time (skipped when it answered none), so that its concurrency limit follows the
    /// seed's trend rule by the throughput it gets.
    pub adapt_every_ms: u64,
    /// Threads for CPU-heavy work (long texts, large batches), so that the async workers stay free to take
    /// requests; one per core by default, 0 to run such work inline.
    pub cpu_workers: usize,
    /// Where the process serves `/healthz`, `/readyz` and `/metrics` (`0.0.0.0:9090` in a container); none
    /// when absent.
    pub http_listen: Option<String>,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        ServiceSettings {
            max_concurrency: 64,
            max_queued: 4_096,
            max_body_bytes: 1024 * 1024,
            shutdown_grace_ms: 20_000,
            readiness_timeout_ms: 10_000,
            adapt_every_ms: 0,
            cpu_workers: crate::pool::default_workers(),
            http_listen: None,
        }
    }
}

impl ServiceSettings {
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }

    pub fn readiness_timeout(&self) -> Duration {
        Duration::from_millis(self.readiness_timeout_ms)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetrySettings {
    pub log_format: LogFormat,
    /// A `tracing` filter directive, as in `RUST_LOG` (which wins when set).
    pub log_filter: String,
    /// OTLP/gRPC collector endpoint, such as `http://localhost:4317`; no spans are exported when absent.
    pub otlp_endpoint: Option<String>,
    /// Share of new traces recorded, 0..=1; traces started upstream follow the upstream decision.
    pub trace_sample_ratio: f64,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        TelemetrySettings {
            log_format: LogFormat::Text,
            log_filter: "info,async_nats=warn".to_owned(),
            otlp_endpoint: None,
            trace_sample_ratio: 1.0,
        }
    }
}

/// The sections every Mneme process has.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuntimeSettings {
    pub nats: NatsSettings,
    pub service: ServiceSettings,
    pub telemetry: TelemetrySettings,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("settings file `{path}` cannot be read: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("invalid settings: {0}")]
    Invalid(String),
    #[error("invalid settings:\n  - {}", .0.join("\n  - "))]
    Validation(Vec<String>),
}

/// Settings that can say what is wrong with them, all at once.
pub trait Validate {
    fn problems(&self) -> Vec<String>;

    /// Keys whose environment value is a comma-separated list (`MNEME__INGEST__RETRY_BACKOFF_MS=200,500`).
    /// Only these are split, so that other values may hold commas (`info,async_nats=warn`).
    fn list_keys() -> &'static [&'static str]
    where
        Self: Sized,
    {
        &[]
    }
}

impl Validate for RuntimeSettings {
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.nats.url.trim().is_empty() {
            problems.push("nats.url is empty".to_owned());
        }
        if self.nats.tls_cert_file.is_some() != self.nats.tls_key_file.is_some() {
            problems.push("nats.tls_cert_file and nats.tls_key_file go together".to_owned());
        }
        if let Some(prefix) = &self.nats.inbox_prefix
            && (prefix.is_empty() || prefix.contains(['*', '>', ' ']) || prefix.ends_with('.'))
        {
            problems.push(format!("nats.inbox_prefix `{prefix}` must be a plain subject without wildcards"));
        }
        if self.nats.ping_interval_secs == 0 {
            problems.push("nats.ping_interval_secs must be at least 1".to_owned());
        }
        if self.service.max_concurrency == 0 {
            problems.push("service.max_concurrency must be at least 1".to_owned());
        }
        if self.service.max_body_bytes == 0 {
            problems.push("service.max_body_bytes must be at least 1".to_owned());
        }
        if !(0.0..=1.0).contains(&self.telemetry.trace_sample_ratio) {
            problems.push("telemetry.trace_sample_ratio must lie in 0..=1".to_owned());
        }
        problems
    }
}

/// Loads `T` from its defaults, then `file` (or the file named by `MNEME_CONFIG`), then the environment.
pub fn load<T>(file: Option<&Path>) -> Result<T, SettingsError>
where
    T: Default + Serialize + DeserializeOwned + Validate,
{
    let from_env = std::env::var_os(CONFIG_FILE_ENV).map(PathBuf::from);
    let file = file.map(Path::to_path_buf).or(from_env);
    load_from(file.as_deref(), std::env::vars())
}

/// [`load`] with the environment given, so that tests do not touch the process's own.
pub fn load_from<T>(
    file: Option<&Path>,
    environment: impl IntoIterator<Item = (String, String)>,
) -> Result<T, SettingsError>
where
    T: Default + Serialize + DeserializeOwned + Validate,
{
    let defaults =
        config::Config::try_from(&T::default()).map_err(|error| SettingsError::Invalid(error.to_string()))?;
    let mut builder = config::Config::builder().add_source(defaults);
    if let Some(path) = file {
        if !path.is_file() {
            return Err(SettingsError::File { path: path.to_owned(), reason: "no such file".to_owned() });
        }
        builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
    }
    let environment: config::Map<String, String> =
        environment.into_iter().filter(|(key, _)| key.starts_with(&format!("{ENV_PREFIX}{ENV_SEPARATOR}"))).collect();
    let mut environment_source = config::Environment::with_prefix(ENV_PREFIX)
        .prefix_separator(ENV_SEPARATOR)
        .separator(ENV_SEPARATOR)
        .try_parsing(true)
        .source(Some(environment));
    if !T::list_keys().is_empty() {
        environment_source = environment_source.list_separator(",");
        for key in T::list_keys() {
            environment_source = environment_source.with_list_parse_key(key);
        }
    }
    builder = builder.add_source(environment_source);
    let settings: T = builder.build().and_then(config::Config::try_deserialize).map_err(|error| match file {
        Some(path) if error.to_string().contains(&path.display().to_string()) => {
            SettingsError::File { path: path.to_owned(), reason: error.to_string() }
        }
        _ => SettingsError::Invalid(error.to_string()),
    })?;
    let problems = settings.problems();
    if problems.is_empty() { Ok(settings) } else { Err(SettingsError::Validation(problems)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect()
    }

    #[test]
    fn environment_overrides_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mneme.toml");
        std::fs::write(&file, "[nats]\nurl = \"nats://file:4222\"\nping_interval_secs = 5\n").unwrap();
        let settings: RuntimeSettings = load_from(
            Some(&file),
            env(&[("MNEME__NATS__URL", "nats://env:4222"), ("MNEME__SERVICE__MAX_CONCURRENCY", "8")]),
        )
        .unwrap();
        assert_eq!(settings.nats.url, "nats://env:4222");
        assert_eq!(settings.nats.ping_interval_secs, 5);
        assert_eq!(settings.service.max_concurrency, 8);
        assert_eq!(settings.service.max_queued, ServiceSettings::default().max_queued);
    }

    #[test]
    fn typos_inside_a_section_are_rejected() {
        let error = load_from::<RuntimeSettings>(None, env(&[("MNEME__NATS__URLL", "x")])).unwrap_err();
        assert!(matches!(error, SettingsError::Invalid(ref text) if text.contains("urll")), "{error}");
    }

    #[test]
    fn other_binaries_sections_are_ignored() {
        assert!(load_from::<RuntimeSettings>(None, env(&[("MNEME__SOMEONE_ELSE__KEY", "1")])).is_ok());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let error = load_from::<RuntimeSettings>(
            None,
            env(&[("MNEME__SERVICE__MAX_CONCURRENCY", "0"), ("MNEME__NATS__PING_INTERVAL_SECS", "0")]),
        )
        .unwrap_err();
        let SettingsError::Validation(problems) = error else { panic!("expected validation errors") };
        assert_eq!(problems.len(), 2);
    }

    #[test]
    fn a_missing_file_is_named() {
        let error = load_from::<RuntimeSettings>(Some(Path::new("/nonexistent/mneme.toml")), env(&[])).unwrap_err();
        assert!(matches!(error, SettingsError::File { .. }));
    }
}
