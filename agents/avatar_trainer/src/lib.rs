//! Mneme's avatar trainer: a person's voice learned from their own words. The logic is plain Rust ([`style`],
//! [`model`], [`compose`]); [`trainer`] is the agent, and [`run`] serves it over NATS.

pub mod colleagues;
pub mod compose;
pub mod llm;
pub mod model;
pub mod settings;
pub mod snapshots;
pub mod style;
pub mod trainer;

use std::future::Future;

use mneme_protocol::{AgentType, ComponentKind};
use mneme_runtime::ServeError;
use mneme_runtime::access::GuardianAccess;
use mneme_runtime::ledger::{GuardianKeys, KvLedger};

pub use settings::{AvatarSettings, Settings};
pub use trainer::AvatarTrainer;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Ledger(#[from] mneme_runtime::ledger::LedgerError),
    #[error(transparent)]
    Snapshots(#[from] snapshots::SnapshotError),
}

/// Serves the avatar trainer until `shutdown` resolves.
pub async fn run(settings: Settings, shutdown: impl Future<Output = ()> + Send) -> Result<(), ServeError> {
    let avatar_settings = settings.avatar.clone();
    mneme_runtime::run(
        ComponentKind::Agent(AgentType::AvatarTrainer),
        settings.runtime,
        |context| async move {
            let jetstream = context.jetstream();
            let ledger = KvLedger::open(
                &jetstream,
                trainer::LEDGER_BUCKET,
                "Mneme: the style of each memory an owner wrote (counts, no text in order), sealed",
                avatar_settings.store_replicas,
                GuardianKeys::new(context.caller(), trainer::LEDGER_BUCKET),
            )
            .await?;
            let snapshots = snapshots::ObjectSnapshots::open(
                &jetstream,
                avatar_settings.store_replicas,
                GuardianKeys::new(context.caller(), snapshots::BUCKET),
            )
            .await?;
            Ok::<_, StartError>(AvatarTrainer::new(
                avatar_settings,
                ledger,
                snapshots,
                GuardianAccess(context.caller()),
                colleagues::AgentColleagues(
                    context.caller(),
                    mneme_runtime::sentiment::Sentiment::new(context.caller()),
                ),
            ))
        },
        shutdown,
    )
    .await
}
