//! Mneme's privacy guardian: finds personal information in text and redacts it. The logic is plain Rust
//! ([`pii`], [`redact`]); [`run`] serves it over NATS.

pub mod guardian;
pub mod keys;
pub mod pii;
pub mod redact;
pub mod settings;
pub mod vault;

use std::future::Future;

use mneme_protocol::{AgentType, ComponentKind};
use mneme_runtime::ServeError;

pub use guardian::Guardian;
use vault::store::{KvVaultStore, StoreError};
use vault::{JetStreamAudit, Vault};

/// Why the guardian could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
pub use settings::{GuardianSettings, Settings};

/// Serves the guardian until `shutdown` resolves.
pub async fn run(settings: Settings, shutdown: impl Future<Output = ()> + Send) -> Result<(), ServeError> {
    let guardian_settings = settings.guardian.clone();
    mneme_runtime::run(
        ComponentKind::Agent(AgentType::PrivacyGuardian),
        settings.runtime,
        |context| async move {
            let master_key = guardian_settings.master_key()?;
            let vault = match &master_key {
                Some(key) => {
                    let jetstream = context.jetstream();
                    let replicas = guardian_settings.store_replicas;
                    let store = KvVaultStore::open(&jetstream, replicas).await?;
                    let audit = JetStreamAudit::open(&jetstream, replicas).await?;
                    let previous = guardian_settings.previous_master_key()?;
                    Some(Vault::new(store, audit, key.clone(), context.id.as_str()).with_previous_master(previous))
                }
                None => {
                    tracing::warn!(
                        "No master key configured (guardian.master_key_file): pseudonyms and the vault are unavailable."
                    );
                    None
                }
            };
            // The word lists load on first use; loading them now keeps that cost off the first request.
            pii::lexicon::lexicon();
            Ok::<_, StartError>(Guardian::new(guardian_settings, master_key, vault, Some(context)))
        },
        shutdown,
    )
    .await
}
