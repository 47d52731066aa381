//! Mneme's pattern analyzer: how a person feels in what they write. The logic is plain Rust ([`sentiment`]);
//! [`run`] serves it over NATS.

pub mod analyzer;
pub mod sentiment;
pub mod settings;

use std::future::Future;

use mneme_protocol::{AgentType, ComponentKind};
use mneme_runtime::ServeError;

pub use analyzer::PatternAnalyzer;
pub use settings::{AnalyzerSettings, Settings};

/// Serves the pattern analyzer until `shutdown` resolves.
pub async fn run(settings: Settings, shutdown: impl Future<Output = ()> + Send) -> Result<(), ServeError> {
    let analyzer_settings = settings.analyzer.clone();
    mneme_runtime::run(
        ComponentKind::Agent(AgentType::PatternAnalyzer),
        settings.runtime,
        |_context| async move {
            // The lexicon loads on first use; loading it now keeps that cost off the first request.
            sentiment::polarity("");
            Ok::<_, std::convert::Infallible>(PatternAnalyzer::new(analyzer_settings))
        },
        shutdown,
    )
    .await
}
