//! Where observations live: a JetStream key-value bucket shared by every replica (a few keys per owner and day,
//! updated by compare-and-set so that concurrent replicas never lose an observation), or a map in tests.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};

use async_nats::jetstream::{self, kv};

use mneme_protocol::subjects::owner_token;
use mneme_runtime::kv::KvError;

use super::{Observation, Shard, shard_of};

/// The bucket of observations.
pub const BUCKET: &str = "mneme_patterns";

/// Keys per owner and day: a day's observations are spread over this many by memory id, so that a day with
/// thousands of memories (a long chat, an import without dates) is many small values rather than one large
/// value rewritten on every update.
const SPREAD: u64 = 16;

fn spread(memory_id: &str) -> u64 {
    // FNV-1a: stable across processes and versions, unlike the standard library's hasher.
    let hash = memory_id
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3));
    hash % SPREAD
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Kv(#[from] KvError),
    #[error("observations of {owner} are unreadable: {reason}")]
    Corrupt { owner: String, reason: String },
}

pub trait PatternStore: Send + Sync + 'static {
    /// Adds the observation of `memory_id` to its owner's shard unless it is there; false when it was.
    fn record(
        &self,
        owner: &str,
        memory_id: &str,
        observation: Observation,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Every observation of the owner, by memory id.
    fn observations(
        &self,
        owner: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, Observation>, StoreError>> + Send;

    /// Drops one memory's observation, or (with `None`) all of the owner's.
    fn forget(&self, owner: &str, memory_id: Option<&str>) -> impl Future<Output = Result<(), StoreError>> + Send;
}

#[derive(Debug, Clone)]
pub struct KvPatternStore {
    jetstream: jetstream::Context,
    store: kv::Store,
    /// Writers of this process to one key take turns, so that compare-and-set only settles races between
    /// replicas rather than among this process's own requests.
    key_locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl KvPatternStore {
    pub async fn open(jetstream: &jetstream::Context, replicas: usize) -> Result<Self, StoreError> {
        let store =
            mneme_runtime::kv::bucket(jetstream, BUCKET, "Mneme: observations behind each owner's patterns", replicas)
                .await?;
        Ok(KvPatternStore { jetstream: jetstream.clone(), store, key_locks: Arc::default() })
    }
}

fn decode(owner: &str, bytes: &[u8]) -> Result<Shard, StoreError> {
    rmp_serde::from_slice(bytes)
        .map_err(|error| StoreError::Corrupt { owner: owner.to_owned(), reason: error.to_string() })
}

fn encode(shard: &Shard) -> Result<Vec<u8>, KvError> {
    rmp_serde::to_vec_named(shard).map_err(|error| KvError { bucket: BUCKET.to_owned(), reason: error.to_string() })
}

impl KvPatternStore {
    fn lock_for(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.key_locks.lock().expect("unpoisoned");
        // Locks nobody holds or waits for are dropped, so the map stays as small as the keys in use.
        locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        locks.entry(key.to_owned()).or_default().clone()
    }
}

impl PatternStore for KvPatternStore {
    async fn record(&self, owner: &str, memory_id: &str, observation: Observation) -> Result<bool, StoreError> {
        let key = format!("{}.{}.{:x}", owner_token(owner), shard_of(&observation), spread(memory_id));
        let lock = self.lock_for(&key);
        let _turn = lock.lock().await;
        let written = mneme_runtime::kv::update(&self.store, &key, |current| {
            let observation = observation.clone();
            async move {
                let mut shard: Shard = match current {
                    Some(bytes) => rmp_serde::from_slice(&bytes)
                        .map_err(|error| KvError { bucket: BUCKET.to_owned(), reason: error.to_string() })?,
                    None => Shard::new(),
                };
                if shard.contains_key(memory_id) {
                    return Ok(None);
                }
                shard.insert(memory_id.to_owned(), observation);
                encode(&shard).map(Some)
            }
        })
        .await?;
        Ok(written.is_some())
    }

    async fn observations(&self, owner: &str) -> Result<BTreeMap<String, Observation>, StoreError> {
        let mut all = BTreeMap::new();
        for (_, bytes) in mneme_runtime::kv::scan(&self.jetstream, BUCKET, &owner_token(owner)).await? {
            all.extend(decode(owner, &bytes)?);
        }
        Ok(all)
    }

    async fn forget(&self, owner: &str, memory_id: Option<&str>) -> Result<(), StoreError> {
        let token = owner_token(owner);
        let Some(memory_id) = memory_id else {
            return Ok(mneme_runtime::kv::purge(&self.jetstream, BUCKET, &token, false).await?);
        };
        for (shard_key, bytes) in mneme_runtime::kv::scan(&self.jetstream, BUCKET, &token).await? {
            if !decode(owner, &bytes)?.contains_key(memory_id) {
                continue;
            }
            mneme_runtime::kv::update(&self.store, &format!("{token}.{shard_key}"), |current| async move {
                let Some(bytes) = current else { return Ok(None) };
                let mut shard: Shard = rmp_serde::from_slice(&bytes)
                    .map_err(|error| KvError { bucket: BUCKET.to_owned(), reason: error.to_string() })?;
                if shard.remove(memory_id).is_none() {
                    return Ok(None);
                }
                encode(&shard).map(Some)
            })
            .await?;
        }
        Ok(())
    }
}

/// Observations in memory, for tests of the analyzer's logic.
#[derive(Debug, Default)]
pub struct MemoryPatternStore(Mutex<BTreeMap<String, BTreeMap<String, Observation>>>);

impl PatternStore for MemoryPatternStore {
    async fn record(&self, owner: &str, memory_id: &str, observation: Observation) -> Result<bool, StoreError> {
        let mut owners = self.0.lock().expect("unpoisoned");
        let observations = owners.entry(owner.to_owned()).or_default();
        if observations.contains_key(memory_id) {
            return Ok(false);
        }
        observations.insert(memory_id.to_owned(), observation);
        Ok(true)
    }

    async fn observations(&self, owner: &str) -> Result<BTreeMap<String, Observation>, StoreError> {
        Ok(self.0.lock().expect("unpoisoned").get(owner).cloned().unwrap_or_default())
    }

    async fn forget(&self, owner: &str, memory_id: Option<&str>) -> Result<(), StoreError> {
        let mut owners = self.0.lock().expect("unpoisoned");
        match memory_id {
            Some(id) => {
                if let Some(observations) = owners.get_mut(owner) {
                    observations.remove(id);
                }
            }
            None => {
                owners.remove(owner);
            }
        }
        Ok(())
    }
}
