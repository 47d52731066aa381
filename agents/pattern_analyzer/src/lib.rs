//! Mneme's pattern analyzer: how a person feels in what they write, and the rhythms, streaks and mood of their
//! memories. The logic is plain Rust ([`sentiment`], [`patterns`]); [`run`] serves it over NATS.

pub mod analyzer;
pub mod patterns;
pub mod sentiment;
pub mod settings;

use std::future::Future;

use mneme_protocol::{AgentType, ComponentKind};
use mneme_runtime::ServeError;

pub use analyzer::PatternAnalyzer;
use mneme_runtime::access::GuardianAccess;
use mneme_runtime::ledger::{GuardianKeys, KvLedger, LedgerError};
pub use settings::{AnalyzerSettings, Settings};

/// Serves the pattern analyzer until `shutdown` resolves.
pub async fn run(settings: Settings, shutdown: impl Future<Output = ()> + Send) -> Result<(), ServeError> {
    let analyzer_settings = settings.analyzer.clone();
    mneme_runtime::run(
        ComponentKind::Agent(AgentType::PatternAnalyzer),
        settings.runtime,
        |context| async move {
            let store = KvLedger::open(
                &context.jetstream(),
                patterns::BUCKET,
                "Mneme: observations behind each owner's patterns",
                analyzer_settings.store_replicas,
                GuardianKeys::new(context.caller(), patterns::BUCKET),
            )
            .await?;
            let access = GuardianAccess(context.caller());
            // The lexicon loads on first use; loading it now keeps that cost off the first request.
            sentiment::polarity("");
            Ok::<_, LedgerError>(PatternAnalyzer::new(analyzer_settings, store, access, Some(context)))
        },
        shutdown,
    )
    .await
}
