//! Versioned snapshots of each owner's voice model in the JetStream object store, sealed under a key the
//! guardian derives from the owner's data key; or in memory, for tests.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

use async_nats::jetstream::{self, object_store};
use futures::StreamExt;
use tokio::io::AsyncReadExt;

use mneme_protocol::avatar::ModelVersion;
use mneme_protocol::subjects::owner_token;
use mneme_runtime::ledger::OwnerKeys;

use crate::model::VoiceModel;

/// The object store bucket.
pub const BUCKET: &str = "mneme_avatar_models";

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("the model snapshots bucket: {0}")]
    Store(String),
    #[error("snapshot {version} of {owner} is unreadable: {reason}")]
    Unreadable { owner: String, version: u64, reason: String },
    #[error("no key to seal or open {owner}'s snapshots: {reason}")]
    Keys { owner: String, reason: String },
}

impl From<SnapshotError> for mneme_runtime::HandlerError {
    fn from(error: SnapshotError) -> Self {
        match error {
            SnapshotError::Unreadable { .. } => mneme_runtime::HandlerError::internal(error.to_string()),
            _ => mneme_runtime::HandlerError::unavailable(error.to_string()),
        }
    }
}

/// Where models are kept, version after version.
pub trait ModelSnapshots: Send + Sync + 'static {
    /// The owner's snapshots kept, oldest first.
    fn versions(&self, owner: &str) -> impl Future<Output = Result<Vec<ModelVersion>, SnapshotError>> + Send;
    /// The model of one version; `None` when it is not kept.
    fn read(&self, owner: &str, version: u64)
    -> impl Future<Output = Result<Option<VoiceModel>, SnapshotError>> + Send;
    /// Writes `model` as the owner's next version and deletes versions beyond the newest `kept`.
    fn write(
        &self,
        owner: &str,
        model: &VoiceModel,
        kept: usize,
    ) -> impl Future<Output = Result<ModelVersion, SnapshotError>> + Send;
    /// Deletes every snapshot of the owner.
    fn forget(&self, owner: &str) -> impl Future<Output = Result<(), SnapshotError>> + Send;
}

fn object_name(token: &str, version: u64) -> String {
    format!("{token}.{version:010}")
}

fn now() -> String {
    jiff::Timestamp::now().round(jiff::Unit::Second).unwrap_or_else(|_| jiff::Timestamp::now()).to_string()
}

/// Snapshots in a JetStream object store: one object per owner and version, named by the owner's opaque
/// token, its figures (no text) in the object's metadata so that listing opens nothing.
pub struct ObjectSnapshots<K> {
    store: object_store::ObjectStore,
    keys: K,
}

impl<K> std::fmt::Debug for ObjectSnapshots<K> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("ObjectSnapshots").field("bucket", &BUCKET).finish()
    }
}

impl<K: OwnerKeys> ObjectSnapshots<K> {
    /// Opens (creating on first use) the bucket.
    pub async fn open(jetstream: &jetstream::Context, replicas: usize, keys: K) -> Result<Self, SnapshotError> {
        let store = match jetstream.get_object_store(BUCKET).await {
            Ok(store) => store,
            Err(_) => {
                let config = object_store::Config {
                    bucket: BUCKET.to_owned(),
                    description: Some("Mneme: each owner's voice model, version by version, sealed".to_owned()),
                    storage: jetstream::stream::StorageType::File,
                    num_replicas: replicas,
                    ..Default::default()
                };
                match jetstream.create_object_store(config).await {
                    Ok(store) => store,
                    // Another replica created it in between.
                    Err(_) => jetstream
                        .get_object_store(BUCKET)
                        .await
                        .map_err(|error| SnapshotError::Store(error.to_string()))?,
                }
            }
        };
        Ok(ObjectSnapshots { store, keys })
    }

    async fn key(&self, owner: &str) -> Result<[u8; 32], SnapshotError> {
        self.keys
            .key(owner)
            .await
            .map_err(|error| SnapshotError::Keys { owner: owner.to_owned(), reason: error.to_string() })
    }

    fn context(name: &str) -> Vec<u8> {
        format!("{BUCKET}/{name}").into_bytes()
    }
}

fn metadata_number(info: &object_store::ObjectInfo, name: &str) -> u64 {
    info.metadata.get(name).and_then(|value| value.parse().ok()).unwrap_or_default()
}

impl<K: OwnerKeys> ModelSnapshots for ObjectSnapshots<K> {
    async fn versions(&self, owner: &str) -> Result<Vec<ModelVersion>, SnapshotError> {
        let prefix = format!("{}.", owner_token(owner));
        let mut listed = self.store.list().await.map_err(|error| SnapshotError::Store(error.to_string()))?;
        let mut versions = Vec::new();
        while let Some(info) = listed.next().await {
            let info = info.map_err(|error| SnapshotError::Store(error.to_string()))?;
            let Some(version) = info.name.strip_prefix(&prefix).and_then(|version| version.parse().ok()) else {
                continue;
            };
            if info.deleted {
                continue;
            }
            versions.push(ModelVersion {
                version,
                written_at: info.metadata.get("written_at").cloned().unwrap_or_default(),
                memories: metadata_number(&info, "memories"),
                words: metadata_number(&info, "words"),
                bytes: info.size as u64,
            });
        }
        versions.sort_by_key(|version| version.version);
        Ok(versions)
    }

    async fn read(&self, owner: &str, version: u64) -> Result<Option<VoiceModel>, SnapshotError> {
        let name = object_name(&owner_token(owner), version);
        let mut object = match self.store.get(&name).await {
            Ok(object) => object,
            Err(error) if error.kind() == object_store::GetErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(SnapshotError::Store(error.to_string())),
        };
        let mut sealed = Vec::new();
        object.read_to_end(&mut sealed).await.map_err(|error| SnapshotError::Store(error.to_string()))?;
        let unreadable = |reason: String| SnapshotError::Unreadable { owner: owner.to_owned(), version, reason };
        let mut key = self.key(owner).await?;
        let plain = match mneme_runtime::sealing::open(&key, &Self::context(&name), &sealed) {
            Ok(plain) => plain,
            Err(_) => {
                // The kept key may be stale: the owner was forgotten and came back with a new one.
                self.keys.forget(owner);
                key = self.key(owner).await?;
                match mneme_runtime::sealing::open(&key, &Self::context(&name), &sealed) {
                    Ok(plain) => plain,
                    // Sealed under a destroyed key: nothing can read it any more.
                    Err(_) => return Ok(None),
                }
            }
        };
        rmp_serde::from_slice(&plain).map(Some).map_err(|error| unreadable(error.to_string()))
    }

    async fn write(&self, owner: &str, model: &VoiceModel, kept: usize) -> Result<ModelVersion, SnapshotError> {
        let existing = self.versions(owner).await?;
        let version = existing.last().map_or(1, |last| last.version + 1);
        let name = object_name(&owner_token(owner), version);
        let plain = rmp_serde::to_vec_named(model).map_err(|error| SnapshotError::Store(error.to_string()))?;
        let sealed = mneme_runtime::sealing::seal(&self.key(owner).await?, &Self::context(&name), &plain);
        let written = ModelVersion {
            version,
            written_at: now(),
            memories: model.memories(),
            words: model.words,
            bytes: sealed.len() as u64,
        };
        let metadata = object_store::ObjectMetadata {
            name: name.clone(),
            metadata: [
                ("written_at".to_owned(), written.written_at.clone()),
                ("memories".to_owned(), written.memories.to_string()),
                ("words".to_owned(), written.words.to_string()),
            ]
            .into(),
            ..Default::default()
        };
        self.store
            .put(metadata, &mut sealed.as_slice())
            .await
            .map_err(|error| SnapshotError::Store(error.to_string()))?;
        let stale = existing.len().saturating_add(1).saturating_sub(kept);
        for old in existing.iter().take(stale) {
            if let Err(error) = self.store.delete(object_name(&owner_token(owner), old.version)).await {
                tracing::warn!(%error, version = old.version, "An old model snapshot stays.");
            }
        }
        Ok(written)
    }

    async fn forget(&self, owner: &str) -> Result<(), SnapshotError> {
        for version in self.versions(owner).await? {
            self.store
                .delete(object_name(&owner_token(owner), version.version))
                .await
                .map_err(|error| SnapshotError::Store(error.to_string()))?;
        }
        self.keys.forget(owner);
        Ok(())
    }
}

/// Snapshots in memory, for tests of agent logic.
#[derive(Debug, Default)]
pub struct MemorySnapshots(Mutex<BTreeMap<String, Versions>>);

/// One owner's snapshots in memory, by version.
type Versions = BTreeMap<u64, (ModelVersion, VoiceModel)>;

impl ModelSnapshots for MemorySnapshots {
    async fn versions(&self, owner: &str) -> Result<Vec<ModelVersion>, SnapshotError> {
        let all = self.0.lock().expect("unpoisoned");
        Ok(all.get(owner).map(|kept| kept.values().map(|(version, _)| version.clone()).collect()).unwrap_or_default())
    }

    async fn read(&self, owner: &str, version: u64) -> Result<Option<VoiceModel>, SnapshotError> {
        let all = self.0.lock().expect("unpoisoned");
        Ok(all.get(owner).and_then(|kept| kept.get(&version)).map(|(_, model)| model.clone()))
    }

    async fn write(&self, owner: &str, model: &VoiceModel, kept: usize) -> Result<ModelVersion, SnapshotError> {
        let mut all = self.0.lock().expect("unpoisoned");
        let versions = all.entry(owner.to_owned()).or_default();
        let version = versions.keys().next_back().map_or(1, |last| last + 1);
        let written =
            ModelVersion { version, written_at: now(), memories: model.memories(), words: model.words, bytes: 0 };
        versions.insert(version, (written.clone(), model.clone()));
        while versions.len() > kept {
            versions.pop_first();
        }
        Ok(written)
    }

    async fn forget(&self, owner: &str) -> Result<(), SnapshotError> {
        self.0.lock().expect("unpoisoned").remove(owner);
        Ok(())
    }
}
