//! Mneme's relationship mapper: who the people in a person's memories are, how strongly each matters, who
//! belongs together, and whose contact is drifting. The logic is plain Rust ([`references`], [`people`],
//! [`graph`]); [`run`] serves it over NATS.

pub mod graph;
pub mod identity;
pub mod mapper;
pub mod people;
pub mod references;
pub mod settings;

use std::future::Future;

use mneme_protocol::{AgentType, ComponentKind};
use mneme_runtime::ServeError;
use mneme_runtime::access::GuardianAccess;
use mneme_runtime::ledger::{GuardianKeys, KvLedger, LedgerError};

pub use mapper::{AgentsReading, RelationshipMapper};
pub use settings::{MapperSettings, Settings};

/// Serves the relationship mapper until `shutdown` resolves.
pub async fn run(settings: Settings, shutdown: impl Future<Output = ()> + Send) -> Result<(), ServeError> {
    let mapper_settings = settings.mapper.clone();
    mneme_runtime::run(
        ComponentKind::Agent(AgentType::RelationshipMapper),
        settings.runtime,
        |context| async move {
            let ledger = KvLedger::open(
                &context.jetstream(),
                references::BUCKET,
                "Mneme: the people each owner's memories name",
                mapper_settings.store_replicas,
                GuardianKeys::new(context.caller(), references::BUCKET),
            )
            .await?;
            let caller = context.caller();
            let identities = identity::KvIdentities::open(
                &context.jetstream(),
                mapper_settings.store_replicas,
                GuardianKeys::new(caller.clone(), identity::BUCKET),
            )
            .await?;
            Ok::<_, LedgerError>(RelationshipMapper::new(
                mapper_settings,
                ledger,
                GuardianAccess(caller.clone()),
                AgentsReading(caller.clone(), mneme_runtime::sentiment::Sentiment::new(caller)),
                identities,
                Some(context),
            ))
        },
        shutdown,
    )
    .await
}

#[cfg(test)]
pub(crate) mod tests {
    use mneme_protocol::harvester::ProcessedMemory;

    /// A processed memory as the pipeline hands it on.
    pub fn memory(
        id: &str,
        owner: &str,
        at: Option<&str>,
        text: &str,
        author: Option<&str>,
        participants: &[&str],
    ) -> ProcessedMemory {
        serde_json::from_value(serde_json::json!({
            "id": id, "owner": owner, "source": null, "text": text, "author": author,
            "participants": participants,
            "language": {"code": "eng", "name": "English", "confidence": 1.0, "reliable": true},
            "word_count": 3, "occurred_at": at, "processed_at": "2024-01-01T00:00:00Z", "content_hash": "00",
            "quality": {"score": 1.0, "acceptable": true, "reasons": []}, "is_duplicate": false, "duplicate_of": null
        }))
        .expect("a valid memory")
    }
}
