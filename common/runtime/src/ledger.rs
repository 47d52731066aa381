//! Per-owner ledgers of what an agent keeps of each memory (an observation, the people it names), shared by
//! every replica: a JetStream key-value bucket with a few keys per owner and day, each updated by
//! compare-and-set so that concurrent replicas never lose an entry; or a map, for tests of agent logic.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use async_nats::jetstream::{self, kv};
use serde::Serialize;
use serde::de::DeserializeOwned;

use mneme_protocol::guardian::{Forgotten, event_types::MEMORY_FORGOTTEN};
use mneme_protocol::subjects::owner_token;

use crate::agent::{Event, EventDelivery, EventSubscription, HandlerError};
use crate::kv::KvError;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Kv(#[from] KvError),
    #[error("the ledger of {owner} in `{bucket}` is unreadable: {reason}")]
    Corrupt { bucket: String, owner: String, reason: String },
}

impl From<LedgerError> for HandlerError {
    fn from(error: LedgerError) -> Self {
        match error {
            LedgerError::Kv(_) => HandlerError::unavailable(error.to_string()),
            LedgerError::Corrupt { .. } => HandlerError::internal(error.to_string()),
        }
    }
}

/// What a ledger entry needs to be stored: any serde type, and the day it belongs to.
pub trait Entry: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// RFC 3339, UTC; none for undated memories.
    fn occurred_at(&self) -> Option<&str>;
}

/// The entries of one owner and day (or of the undated memories), by memory id.
type Shard<T> = BTreeMap<String, T>;

pub trait Ledger<T: Entry>: Send + Sync + 'static {
    /// Adds the entry of `memory_id` unless it is there; false when it was.
    fn record(&self, owner: &str, memory_id: &str, entry: T) -> impl Future<Output = Result<bool, LedgerError>> + Send;

    /// Every entry of the owner, by memory id.
    fn entries(&self, owner: &str) -> impl Future<Output = Result<BTreeMap<String, T>, LedgerError>> + Send;

    /// Drops one memory's entry, or (with `None`) all of the owner's.
    fn forget(&self, owner: &str, memory_id: Option<&str>) -> impl Future<Output = Result<(), LedgerError>> + Send;
}

/// What an agent keeping a ledger subscribes to: `memory_forgotten`, once for all its replicas, since they
/// share the ledger.
pub fn forgetting() -> EventSubscription {
    EventSubscription::new(MEMORY_FORGOTTEN, EventDelivery::OneInstance)
}

/// Drops from `ledger` what a `memory_forgotten` event names: one memory, or all of its owner's.
pub async fn forget_on<T: Entry>(ledger: &impl Ledger<T>, event: &Event) -> Result<(), HandlerError> {
    let forgotten: Forgotten = event.payload()?;
    Ok(ledger.forget(&forgotten.owner, forgotten.memory_id.as_deref()).await?)
}

/// The shard an entry belongs to: `YYYY-MM-DD`, or `undated`.
pub fn day_of(occurred_at: Option<&str>) -> String {
    occurred_at
        .and_then(|at| at.get(..10))
        .filter(|day| day.len() == 10 && day.bytes().all(|byte| byte.is_ascii_digit() || byte == b'-'))
        .map(str::to_owned)
        .unwrap_or_else(|| "undated".to_owned())
}

/// Keys per owner and day: a day's entries are spread over this many by memory id, so that a day with thousands
/// of memories (a long chat, an import without dates) is many small values rather than one large value
/// rewritten on every update.
const SPREAD: u64 = 16;

fn spread(memory_id: &str) -> u64 {
    // FNV-1a: stable across processes and versions, unlike the standard library's hasher.
    let hash = memory_id
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3));
    hash % SPREAD
}

#[derive(Debug)]
pub struct KvLedger<T> {
    jetstream: jetstream::Context,
    store: kv::Store,
    /// Writers of this process to one key take turns, so that compare-and-set only settles races between
    /// replicas rather than among this process's own requests.
    key_locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    entries: PhantomData<fn() -> T>,
}

impl<T> Clone for KvLedger<T> {
    fn clone(&self) -> Self {
        KvLedger {
            jetstream: self.jetstream.clone(),
            store: self.store.clone(),
            key_locks: self.key_locks.clone(),
            entries: PhantomData,
        }
    }
}

impl<T: Entry> KvLedger<T> {
    /// Opens (creating on first use) the bucket `name`.
    pub async fn open(
        jetstream: &jetstream::Context,
        name: &str,
        description: &str,
        replicas: usize,
    ) -> Result<Self, LedgerError> {
        let store = crate::kv::bucket(jetstream, name, description, replicas).await?;
        Ok(KvLedger { jetstream: jetstream.clone(), store, key_locks: Arc::default(), entries: PhantomData })
    }

    fn bucket(&self) -> &str {
        &self.store.name
    }

    fn decode(&self, owner: &str, bytes: &[u8]) -> Result<Shard<T>, LedgerError> {
        rmp_serde::from_slice(bytes).map_err(|error| LedgerError::Corrupt {
            bucket: self.bucket().to_owned(),
            owner: owner.to_owned(),
            reason: error.to_string(),
        })
    }

    fn encode(&self, shard: &Shard<T>) -> Result<Vec<u8>, KvError> {
        rmp_serde::to_vec_named(shard)
            .map_err(|error| KvError { bucket: self.bucket().to_owned(), reason: error.to_string() })
    }

    /// Applies `change` to the shard under `key` by compare-and-set; `change` returning false writes nothing.
    async fn change_shard(
        &self,
        owner: &str,
        key: &str,
        change: impl Fn(&mut Shard<T>) -> bool + Send + Sync,
    ) -> Result<bool, LedgerError> {
        let lock = self.lock_for(key);
        let _turn = lock.lock().await;
        let change = &change;
        let written = crate::kv::update(&self.store, key, |current| async move {
            let mut shard = match current {
                Some(bytes) => self
                    .decode(owner, &bytes)
                    .map_err(|error| KvError { bucket: self.bucket().to_owned(), reason: error.to_string() })?,
                None => Shard::new(),
            };
            if !change(&mut shard) {
                return Ok(None);
            }
            self.encode(&shard).map(Some)
        })
        .await?;
        Ok(written.is_some())
    }

    fn lock_for(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.key_locks.lock().expect("unpoisoned");
        // Locks nobody holds or waits for are dropped, so the map stays as small as the keys in use.
        locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        locks.entry(key.to_owned()).or_default().clone()
    }
}

impl<T: Entry> Ledger<T> for KvLedger<T> {
    async fn record(&self, owner: &str, memory_id: &str, entry: T) -> Result<bool, LedgerError> {
        let key = format!("{}.{}.{:x}", owner_token(owner), day_of(entry.occurred_at()), spread(memory_id));
        self.change_shard(owner, &key, |shard| {
            if shard.contains_key(memory_id) {
                return false;
            }
            shard.insert(memory_id.to_owned(), entry.clone());
            true
        })
        .await
    }

    async fn entries(&self, owner: &str) -> Result<BTreeMap<String, T>, LedgerError> {
        let mut all = BTreeMap::new();
        for (_, bytes) in crate::kv::scan(&self.jetstream, self.bucket(), &owner_token(owner)).await? {
            all.extend(self.decode(owner, &bytes)?);
        }
        Ok(all)
    }

    async fn forget(&self, owner: &str, memory_id: Option<&str>) -> Result<(), LedgerError> {
        let token = owner_token(owner);
        let Some(memory_id) = memory_id else {
            return Ok(crate::kv::purge(&self.jetstream, self.bucket(), &token, false).await?);
        };
        for (shard_key, bytes) in crate::kv::scan(&self.jetstream, self.bucket(), &token).await? {
            if self.decode(owner, &bytes)?.contains_key(memory_id) {
                self.change_shard(owner, &format!("{token}.{shard_key}"), |shard| shard.remove(memory_id).is_some())
                    .await?;
            }
        }
        Ok(())
    }
}

/// A ledger in memory, for tests of agent logic.
#[derive(Debug)]
pub struct MemoryLedger<T>(Mutex<BTreeMap<String, BTreeMap<String, T>>>);

impl<T> Default for MemoryLedger<T> {
    fn default() -> Self {
        MemoryLedger(Mutex::default())
    }
}

impl<T: Entry> Ledger<T> for MemoryLedger<T> {
    async fn record(&self, owner: &str, memory_id: &str, entry: T) -> Result<bool, LedgerError> {
        let mut owners = self.0.lock().expect("unpoisoned");
        let entries = owners.entry(owner.to_owned()).or_default();
        if entries.contains_key(memory_id) {
            return Ok(false);
        }
        entries.insert(memory_id.to_owned(), entry);
        Ok(true)
    }

    async fn entries(&self, owner: &str) -> Result<BTreeMap<String, T>, LedgerError> {
        Ok(self.0.lock().expect("unpoisoned").get(owner).cloned().unwrap_or_default())
    }

    async fn forget(&self, owner: &str, memory_id: Option<&str>) -> Result<(), LedgerError> {
        let mut owners = self.0.lock().expect("unpoisoned");
        match memory_id {
            Some(id) => {
                if let Some(entries) = owners.get_mut(owner) {
                    entries.remove(id);
                }
            }
            None => {
                owners.remove(owner);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_fall_on_their_day() {
        assert_eq!(day_of(Some("2024-05-21T08:00:00Z")), "2024-05-21");
        assert_eq!(day_of(None), "undated");
        assert_eq!(day_of(Some("garbage")), "undated");
    }
}
