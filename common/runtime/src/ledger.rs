//! Per-owner ledgers of what an agent keeps of each memory (an observation, the people it names), shared by
//! every replica: a JetStream key-value bucket with a few keys per owner and day, each sealed under a key the
//! guardian derives from the owner's data key and updated by compare-and-set so that concurrent replicas never
//! lose an entry; or a map, for tests of agent logic.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use async_nats::jetstream::{self, kv};
use serde::Serialize;
use serde::de::DeserializeOwned;

use mneme_protocol::guardian::{DeriveKeyRequest, Forgotten, KeyDerived, event_types::MEMORY_FORGOTTEN, message_types};
use mneme_protocol::subjects::owner_token;
use mneme_protocol::{AgentType, ComponentKind};

use crate::agent::{Event, EventDelivery, EventSubscription, HandlerError};
use crate::call::{CallOptions, Caller, Target};
use crate::kv::KvError;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Kv(#[from] KvError),
    #[error("the ledger of {owner} in `{bucket}` is unreadable: {reason}")]
    Corrupt { bucket: String, owner: String, reason: String },
    #[error("no key to seal or open what is kept of {owner}: {reason}")]
    Keys { owner: String, reason: String },
}

impl From<LedgerError> for HandlerError {
    fn from(error: LedgerError) -> Self {
        match error {
            LedgerError::Kv(_) | LedgerError::Keys { .. } => HandlerError::unavailable(error.to_string()),
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

/// A shard's key in its bucket and its entries after a change; `None` when it was deleted.
pub type ShardChange<T> = (String, Option<BTreeMap<String, T>>);

pub trait Ledger<T: Entry>: Send + Sync + 'static {
    /// Adds the entry of `memory_id` unless it is there; false when it was.
    fn record(&self, owner: &str, memory_id: &str, entry: T) -> impl Future<Output = Result<bool, LedgerError>> + Send;

    /// Every entry of the owner, by memory id.
    fn entries(&self, owner: &str) -> impl Future<Output = Result<BTreeMap<String, T>, LedgerError>> + Send;

    /// Drops one memory's entry, or (with `None`) all of the owner's.
    fn forget(&self, owner: &str, memory_id: Option<&str>) -> impl Future<Output = Result<(), LedgerError>> + Send;
}

/// An owner's ledger as a follower sees it: how many changes make up the current state (they come first), and
/// the changes.
pub type Following<T> = (usize, futures::stream::BoxStream<'static, Result<ShardChange<T>, LedgerError>>);

/// A ledger whose owners' entries can be followed as they change, for replicas that keep a working copy (an
/// index, a model) of what the ledger holds.
pub trait FollowedLedger<T: Entry>: Ledger<T> {
    fn follow(&self, owner: &str) -> impl Future<Output = Result<Following<T>, LedgerError>> + Send;
}

impl<T: Entry, K: OwnerKeys> FollowedLedger<T> for KvLedger<T, K> {
    async fn follow(&self, owner: &str) -> Result<Following<T>, LedgerError> {
        KvLedger::follow(self, owner).await
    }
}

/// In memory, what is there now is one change, and nothing follows: writes in the same process reach the
/// working copy directly.
impl<T: Entry> FollowedLedger<T> for MemoryLedger<T> {
    async fn follow(&self, owner: &str) -> Result<Following<T>, LedgerError> {
        use futures::StreamExt;
        let entries = self.entries(owner).await?;
        let now = futures::stream::iter([Ok(("all".to_owned(), Some(entries)))]);
        Ok((1, now.chain(futures::stream::pending()).boxed()))
    }
}

/// What an agent keeping a ledger subscribes to: `memory_forgotten`, in every replica, since each keeps the
/// owner's key and must drop it (the purge is the same from every replica, and harmless repeated).
pub fn forgetting() -> EventSubscription {
    EventSubscription::new(MEMORY_FORGOTTEN, EventDelivery::EveryInstance)
}

/// Drops from `ledger` what a `memory_forgotten` event names: one memory, or all of its owner's. Returns the
/// event's payload, for agents that forget more than their ledger.
pub async fn forget_on<T: Entry>(ledger: &impl Ledger<T>, event: &Event) -> Result<Forgotten, HandlerError> {
    let forgotten: Forgotten = event.payload()?;
    ledger.forget(&forgotten.owner, forgotten.memory_id.as_deref()).await?;
    Ok(forgotten)
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

/// Where a sealed ledger gets each owner's key.
pub trait OwnerKeys: Send + Sync + 'static {
    fn key(&self, owner: &str) -> impl Future<Output = Result<[u8; 32], LedgerError>> + Send;
    /// Drops what is kept of the owner's key: it was destroyed, or does not open what it should.
    fn forget(&self, owner: &str);
}

/// Keys the privacy guardian derives from each owner's data key (`derive_key`), kept per owner in this
/// process until the owner is forgotten.
#[derive(Debug)]
pub struct GuardianKeys {
    caller: Caller,
    purpose: String,
    cache: Mutex<HashMap<String, [u8; 32]>>,
}

impl GuardianKeys {
    /// Keys for `purpose`: the name of the agent's state, such as its bucket.
    pub fn new(caller: Caller, purpose: &str) -> Self {
        GuardianKeys { caller, purpose: purpose.to_owned(), cache: Mutex::default() }
    }
}

impl OwnerKeys for GuardianKeys {
    async fn key(&self, owner: &str) -> Result<[u8; 32], LedgerError> {
        if let Some(key) = self.cache.lock().expect("unpoisoned").get(owner) {
            return Ok(*key);
        }
        let request = DeriveKeyRequest { owner: owner.to_owned(), purpose: self.purpose.clone() };
        let target = Target::AnyOf(ComponentKind::Agent(AgentType::PrivacyGuardian));
        let unavailable = |reason: String| LedgerError::Keys { owner: owner.to_owned(), reason };
        let reply = self
            .caller
            .call(&target, message_types::DERIVE_KEY, &request, &CallOptions::default())
            .await
            .map_err(|error| unavailable(error.to_string()))?;
        let derived: KeyDerived = reply.payload_as().map_err(|error| unavailable(error.to_string()))?;
        let mut key = [0u8; 32];
        hex::decode_to_slice(&derived.key, &mut key)
            .map_err(|error| unavailable(format!("the key is not 32 bytes of hex: {error}")))?;
        self.cache.lock().expect("unpoisoned").insert(owner.to_owned(), key);
        Ok(key)
    }

    fn forget(&self, owner: &str) {
        self.cache.lock().expect("unpoisoned").remove(owner);
    }
}

/// One key for every owner: for benchmarks and tests that run without a guardian.
#[derive(Debug, Clone, Copy)]
pub struct FixedKey(pub [u8; 32]);

impl OwnerKeys for FixedKey {
    async fn key(&self, _owner: &str) -> Result<[u8; 32], LedgerError> {
        Ok(self.0)
    }

    fn forget(&self, _owner: &str) {}
}

/// A ledger in a JetStream KV bucket, every value sealed under its owner's key (`mneme_runtime::sealing`) and
/// bound to its key in the bucket: whoever reads the bucket without the key reads nothing, and when the owner's
/// data key is destroyed whatever was missed by the purge is unreadable too.
#[derive(Debug)]
pub struct KvLedger<T, K> {
    jetstream: jetstream::Context,
    store: kv::Store,
    keys: Arc<K>,
    /// Writers of this process to one key take turns, so that compare-and-set only settles races between
    /// replicas rather than among this process's own requests.
    key_locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    entries: PhantomData<fn() -> T>,
}

impl<T, K> Clone for KvLedger<T, K> {
    fn clone(&self) -> Self {
        KvLedger {
            jetstream: self.jetstream.clone(),
            store: self.store.clone(),
            keys: self.keys.clone(),
            key_locks: self.key_locks.clone(),
            entries: PhantomData,
        }
    }
}

impl<T: Entry, K: OwnerKeys> KvLedger<T, K> {
    /// Opens (creating on first use) the bucket `name`.
    pub async fn open(
        jetstream: &jetstream::Context,
        name: &str,
        description: &str,
        replicas: usize,
        keys: K,
    ) -> Result<Self, LedgerError> {
        let store = crate::kv::bucket(jetstream, name, description, replicas).await?;
        Ok(KvLedger {
            jetstream: jetstream.clone(),
            store,
            keys: Arc::new(keys),
            key_locks: Arc::default(),
            entries: PhantomData,
        })
    }

    fn bucket(&self) -> &str {
        &self.store.name
    }

    fn context(&self, key: &str) -> Vec<u8> {
        format!("{}/{key}", self.bucket()).into_bytes()
    }

    /// The shard under `key`, or `None` when it does not open with `owner_key`.
    fn decode(
        &self,
        owner: &str,
        owner_key: &[u8; 32],
        key: &str,
        bytes: &[u8],
    ) -> Result<Option<Shard<T>>, LedgerError> {
        let Ok(plain) = crate::sealing::open(owner_key, &self.context(key), bytes) else { return Ok(None) };
        rmp_serde::from_slice(&plain).map(Some).map_err(|error| LedgerError::Corrupt {
            bucket: self.bucket().to_owned(),
            owner: owner.to_owned(),
            reason: error.to_string(),
        })
    }

    fn encode(&self, owner_key: &[u8; 32], key: &str, shard: &Shard<T>) -> Result<Vec<u8>, KvError> {
        let plain = rmp_serde::to_vec_named(shard)
            .map_err(|error| KvError { bucket: self.bucket().to_owned(), reason: error.to_string() })?;
        Ok(crate::sealing::seal(owner_key, &self.context(key), &plain))
    }

    /// Opens the shards of `owner`. A shard that does not open with the kept key is tried with a fresh one (the
    /// owner may have been forgotten and come back with a new key); one that opens with neither was sealed under
    /// a destroyed key, and is skipped: nothing can read it any more.
    async fn open_all(
        &self,
        owner: &str,
        shards: Vec<(String, Vec<u8>)>,
    ) -> Result<Vec<(String, Shard<T>)>, LedgerError> {
        let mut owner_key = self.keys.key(owner).await?;
        let mut refreshed = false;
        let mut opened = Vec::with_capacity(shards.len());
        for (key, bytes) in shards {
            let mut shard = self.decode(owner, &owner_key, &key, &bytes)?;
            if shard.is_none() && !refreshed {
                self.keys.forget(owner);
                owner_key = self.keys.key(owner).await?;
                refreshed = true;
                shard = self.decode(owner, &owner_key, &key, &bytes)?;
            }
            match shard {
                Some(shard) => opened.push((key, shard)),
                None => tracing::warn!(bucket = self.bucket(), key, "A shard sealed under a destroyed key is skipped."),
            }
        }
        Ok(opened)
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
        let owner_key = self.keys.key(owner).await?;
        match self.try_change(owner, &owner_key, key, &change, false).await? {
            Some(written) => Ok(written),
            None => {
                // Sealed under another key: ours is stale (the owner was forgotten and came back), or theirs was
                // destroyed and the shard is unreadable garbage, which the write replaces.
                self.keys.forget(owner);
                let owner_key = self.keys.key(owner).await?;
                Ok(self.try_change(owner, &owner_key, key, &change, true).await?.unwrap_or(false))
            }
        }
    }

    /// One compare-and-set round of [`Self::change_shard`]; `None` when the shard does not open with
    /// `owner_key` and `overwrite` is false.
    async fn try_change(
        &self,
        owner: &str,
        owner_key: &[u8; 32],
        key: &str,
        change: &(impl Fn(&mut Shard<T>) -> bool + Send + Sync),
        overwrite: bool,
    ) -> Result<Option<bool>, LedgerError> {
        let unopened = std::sync::atomic::AtomicBool::new(false);
        let unopened_flag = &unopened;
        let written = crate::kv::update(&self.store, key, |current| async move {
            let mut shard = match current {
                Some(bytes) => {
                    let opened = self
                        .decode(owner, owner_key, key, &bytes)
                        .map_err(|error| KvError { bucket: self.bucket().to_owned(), reason: error.to_string() })?;
                    match opened {
                        Some(shard) => shard,
                        None if overwrite => Shard::new(),
                        None => {
                            unopened_flag.store(true, std::sync::atomic::Ordering::Relaxed);
                            return Ok(None);
                        }
                    }
                }
                None => Shard::new(),
            };
            if !change(&mut shard) {
                return Ok(None);
            }
            self.encode(owner_key, key, &shard).map(Some)
        })
        .await?;
        if unopened.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(None);
        }
        Ok(Some(written.is_some()))
    }

    fn lock_for(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.key_locks.lock().expect("unpoisoned");
        // Locks nobody holds or waits for are dropped, so the map stays as small as the keys in use.
        locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        locks.entry(key.to_owned()).or_default().clone()
    }

    /// The owner's entries now, shard by shard, and then every change to one of their shards: how many changes
    /// make up the current state (they come first), and the changes, each a shard's key and its entries (none
    /// when it was deleted). A shard sealed under a destroyed key reads as deleted.
    pub async fn follow(&self, owner: &str) -> Result<Following<T>, LedgerError> {
        use futures::StreamExt;
        let token = owner_token(owner);
        let (current, changes) = crate::kv::follow(&self.jetstream, self.bucket(), &token).await?;
        let ledger = self.clone();
        let owner = owner.to_owned();
        let changes = changes.then(move |change| {
            let ledger = ledger.clone();
            let owner = owner.clone();
            let token = token.clone();
            async move {
                let (key, bytes) = change?;
                let key = format!("{token}.{key}");
                let Some(bytes) = bytes else { return Ok((key, None)) };
                let opened = ledger.open_all(&owner, vec![(key.clone(), bytes)]).await?;
                Ok((key, opened.into_iter().next().map(|(_, shard)| shard)))
            }
        });
        Ok((current, changes.boxed()))
    }

    async fn shards(&self, token: &str) -> Result<Vec<(String, Vec<u8>)>, LedgerError> {
        let found = crate::kv::scan(&self.jetstream, self.bucket(), token).await?;
        Ok(found.into_iter().map(|(key, bytes)| (format!("{token}.{key}"), bytes)).collect())
    }
}

impl<T: Entry, K: OwnerKeys> Ledger<T> for KvLedger<T, K> {
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
        let shards = self.shards(&owner_token(owner)).await?;
        let mut all = BTreeMap::new();
        // An owner with nothing kept needs no key: asking for one would make them one.
        if shards.is_empty() {
            return Ok(all);
        }
        for (_, shard) in self.open_all(owner, shards).await? {
            all.extend(shard);
        }
        Ok(all)
    }

    async fn forget(&self, owner: &str, memory_id: Option<&str>) -> Result<(), LedgerError> {
        let token = owner_token(owner);
        let Some(memory_id) = memory_id else {
            self.keys.forget(owner);
            return Ok(crate::kv::purge(&self.jetstream, self.bucket(), &token, false).await?);
        };
        let shards = self.shards(&token).await?;
        if shards.is_empty() {
            return Ok(());
        }
        for (key, shard) in self.open_all(owner, shards).await? {
            if shard.contains_key(memory_id) {
                self.change_shard(owner, &key, |shard| shard.remove(memory_id).is_some()).await?;
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
