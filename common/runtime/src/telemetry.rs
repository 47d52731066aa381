//! Logs through `tracing` (text or JSON) and traces through OpenTelemetry, exported over OTLP when an
//! endpoint is configured.

use std::io::IsTerminal;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, filter::LevelFilter};

use crate::settings::{LogFormat, TelemetrySettings};

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("log filter `{filter}` is invalid: {reason}")]
    Filter { filter: String, reason: String },
    #[error("OTLP exporter for `{endpoint}` cannot be built: {reason}")]
    Exporter { endpoint: String, reason: String },
    #[error("a global logger is already installed")]
    AlreadyInstalled,
}

/// Keeps the tracer provider alive; dropping it flushes spans still waiting for export.
#[must_use = "dropping the guard stops trace export"]
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Err(error) = self.provider.shutdown() {
            eprintln!("flushing traces on exit failed: {error}");
        }
    }
}

/// Installs the global logger and tracer for a process called `service_name`.
///
/// Spans always carry OpenTelemetry context, so that a trace started upstream continues through this
/// process even when it exports nothing itself; only sampled traces reach an exporter.
pub fn init(service_name: &str, settings: &TelemetrySettings) -> Result<Telemetry, TelemetryError> {
    let filter_text = std::env::var("RUST_LOG").unwrap_or_else(|_| settings.log_filter.clone());
    let filter = EnvFilter::builder()
        .parse(&filter_text)
        .map_err(|error| TelemetryError::Filter { filter: filter_text.clone(), reason: error.to_string() })?;

    let resource = Resource::builder().with_service_name(service_name.to_owned()).build();
    let mut provider = SdkTracerProvider::builder().with_resource(resource);
    provider = match &settings.otlp_endpoint {
        Some(endpoint) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint.clone())
                .build()
                .map_err(|error| TelemetryError::Exporter { endpoint: endpoint.clone(), reason: error.to_string() })?;
            provider
                .with_batch_exporter(exporter)
                .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(settings.trace_sample_ratio))))
        }
        // Nothing would receive new traces, so none are started here; traces from upstream keep their flag.
        None => provider.with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOff))),
    };
    let provider = provider.build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());

    let traces = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer(service_name.to_owned()))
        .with_filter(LevelFilter::INFO);
    let logs = match settings.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(traces)
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInstalled)?;
    Ok(Telemetry { provider })
}
