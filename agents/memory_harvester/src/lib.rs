//! Mneme's memory harvester: turns raw inputs into clean, dated memories with a quality assessment, a
//! language and a duplicate verdict. The logic is plain Rust over a [`dedup::DedupIndex`]; [`run`] serves
//! it over NATS.

pub mod dedup;
pub mod fingerprint;
pub mod harvester;
pub mod language;
pub mod normalize;
pub mod quality;
pub mod settings;

use std::future::Future;

use mneme_protocol::{AgentType, ComponentKind};
use mneme_runtime::ServeError;

pub use harvester::{Harvester, MemoryHarvester};
pub use settings::{HarvesterSettings, Settings};

/// Serves the harvester until `shutdown` resolves.
pub async fn run(settings: Settings, shutdown: impl Future<Output = ()> + Send) -> Result<(), ServeError> {
    let harvester_settings = settings.harvester.clone();
    mneme_runtime::run(
        ComponentKind::Agent(AgentType::MemoryHarvester),
        settings.runtime,
        |context| async move {
            let dedup = dedup::KvDedupIndex::open(
                &context.jetstream(),
                &harvester_settings.dedup_bucket,
                harvester_settings.dedup_replicas,
                harvester_settings.near_duplicate_min_similarity,
            )
            .await?;
            Ok::<_, dedup::DedupError>(MemoryHarvester::new(Harvester::new(harvester_settings, dedup), Some(context)))
        },
        shutdown,
    )
    .await
}
