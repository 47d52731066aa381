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
pub use settings::{GuardianSettings, Settings};

/// Serves the guardian until `shutdown` resolves.
pub async fn run(settings: Settings, shutdown: impl Future<Output = ()> + Send) -> Result<(), ServeError> {
    let guardian_settings = settings.guardian.clone();
    mneme_runtime::run(
        ComponentKind::Agent(AgentType::PrivacyGuardian),
        settings.runtime,
        |_context| async move {
            let master_key = guardian_settings.master_key()?;
            if master_key.is_none() {
                tracing::warn!("No master key configured (guardian.master_key_file): pseudonyms are unavailable.");
            }
            // The word lists load on first use; loading them now keeps that cost off the first request.
            pii::lexicon::lexicon();
            Ok::<_, keys::KeyError>(Guardian::new(guardian_settings, master_key))
        },
        shutdown,
    )
    .await
}
