//! Mneme's insight generator: recall over a person's memories, and digests of their life. The logic is plain
//! Rust ([`recall`], [`digest`]); [`generator`] is the agent, and [`run`] serves it over NATS.

pub mod colleagues;
pub mod digest;
pub mod generator;
pub mod ratings;
pub mod reading;
pub mod recall;
pub mod settings;
pub mod store;

use std::future::Future;

use mneme_protocol::{AgentType, ComponentKind};
use mneme_runtime::ServeError;
use mneme_runtime::ledger::{GuardianKeys, KvLedger, LedgerError};

pub use generator::InsightGenerator;
pub use settings::{GeneratorSettings, Settings};

/// Serves the insight generator until `shutdown` resolves.
pub async fn run(settings: Settings, shutdown: impl Future<Output = ()> + Send) -> Result<(), ServeError> {
    let generator_settings = settings.generator.clone();
    mneme_runtime::run(
        ComponentKind::Agent(AgentType::InsightGenerator),
        settings.runtime,
        |context| async move {
            let store = KvLedger::open(
                &context.jetstream(),
                store::BUCKET,
                "Mneme: what recall keeps of each owner's memories (terms, people, time), sealed",
                generator_settings.store_replicas,
                GuardianKeys::new(context.caller(), store::BUCKET),
            )
            .await?;
            let ratings = ratings::RatingStore::open(&context.jetstream(), generator_settings.store_replicas)
                .await
                .map_err(LedgerError::from)?;
            Ok::<_, LedgerError>(
                InsightGenerator::new(
                    generator_settings,
                    store,
                    reading::GuardianReading(context.caller()),
                    colleagues::AgentColleagues(context.caller()),
                )
                .with_ratings(ratings),
            )
        },
        shutdown,
    )
    .await
}
