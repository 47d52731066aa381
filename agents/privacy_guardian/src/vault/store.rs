//! Where the vault keeps its bytes: JetStream key-value buckets in production, a map in tests. Everything
//! stored is already sealed; keys hold only opaque tokens.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

use async_nats::jetstream::{self, kv};

use mneme_protocol::subjects::jetstream::{GRANT_BUCKET, KEY_BUCKET, MEMORY_BUCKET, PEOPLE_BUCKET};

#[derive(Debug, thiserror::Error)]
#[error("the vault's store failed: {0}")]
pub struct StoreError(pub String);

fn failed(error: impl std::fmt::Display) -> StoreError {
    StoreError(error.to_string())
}

/// What a record's key and headers may take of a NATS message, beside the record.
const RECORD_HEADROOM_BYTES: usize = 4 * 1024;

/// The largest record a store over NATS keeps at NATS's default limit on a message (1 MiB).
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1024 * 1024 - RECORD_HEADROOM_BYTES;

/// The operations the vault needs of its store.
pub trait VaultStore: Send + Sync + 'static {
    /// The largest sealed record it keeps.
    fn max_record_bytes(&self) -> usize;
    fn wrapped_key(&self, owner: &str) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
    /// Stores a wrapped key unless the owner has one; false when another writer was first.
    fn create_wrapped_key(
        &self,
        owner: &str,
        wrapped: Vec<u8>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Destroys the owner's key; true when there was one.
    fn destroy_key(&self, owner: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Replaces the owner's wrapped key if it still is `expected`: false when it changed or was destroyed
    /// meanwhile, so that a rewrap never brings back a key that `forget` destroyed.
    fn replace_wrapped_key(
        &self,
        owner: &str,
        expected: &[u8],
        wrapped: Vec<u8>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Every owner (token) that has a data key.
    fn key_owners(&self) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// Stores a memory unless it is there already; false when it was.
    fn create_memory(
        &self,
        owner: &str,
        id: &str,
        sealed: Vec<u8>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn memory(&self, owner: &str, id: &str) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
    /// Every memory of the owner, by id.
    fn memories(&self, owner: &str) -> impl Future<Output = Result<Vec<(String, Vec<u8>)>, StoreError>> + Send;
    fn delete_memory(&self, owner: &str, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Removes every memory of the owner, leaving nothing behind; returns how many there were.
    fn purge_memories(&self, owner: &str) -> impl Future<Output = Result<usize, StoreError>> + Send;
    fn grant(&self, owner: &str, grantee: &str) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
    fn put_grant(
        &self,
        owner: &str,
        grantee: &str,
        grant: Vec<u8>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn delete_grant(&self, owner: &str, grantee: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn purge_grants(&self, owner: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The owner's sealed record of their people's names.
    fn people(&self, owner: &str) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
    /// Lets `change` make the owner's people record from the current one, and writes it unless another writer
    /// wrote in between (then `change` is asked again); `change` returning `None` leaves the record as it is.
    fn update_people<F>(&self, owner: &str, change: F) -> impl Future<Output = Result<(), StoreError>> + Send
    where
        F: FnMut(Option<Vec<u8>>) -> Result<Option<Vec<u8>>, StoreError> + Send;
    fn purge_people(&self, owner: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The store in four JetStream key-value buckets, shared by every guardian replica. Keys are
/// `<owner token>` (data keys and people), `<owner token>.<memory id>` (memories) and
/// `<owner token>.<grantee token>` (grants).
#[derive(Debug, Clone)]
pub struct KvVaultStore {
    jetstream: jetstream::Context,
    memories: kv::Store,
    keys: kv::Store,
    grants: kv::Store,
    people: kv::Store,
}

async fn bucket(
    jetstream: &jetstream::Context,
    name: &str,
    description: &str,
    replicas: usize,
) -> Result<kv::Store, StoreError> {
    mneme_runtime::kv::bucket(jetstream, name, description, replicas).await.map_err(failed)
}

impl KvVaultStore {
    pub async fn open(jetstream: &jetstream::Context, replicas: usize) -> Result<Self, StoreError> {
        Ok(KvVaultStore {
            jetstream: jetstream.clone(),
            memories: bucket(
                jetstream,
                MEMORY_BUCKET,
                "Mneme: memories, sealed under their owner's data key",
                replicas,
            )
            .await?,
            keys: bucket(jetstream, KEY_BUCKET, "Mneme: owners' data keys, wrapped by the master key", replicas)
                .await?,
            grants: bucket(jetstream, GRANT_BUCKET, "Mneme: grants of access", replicas).await?,
            people: bucket(
                jetstream,
                PEOPLE_BUCKET,
                "Mneme: the names each owner's memories show to be people's, sealed under the owner's data key",
                replicas,
            )
            .await?,
        })
    }

    async fn scan(&self, bucket: &str, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        mneme_runtime::kv::scan(&self.jetstream, bucket, prefix).await.map_err(failed)
    }

    async fn purge_prefix(&self, bucket: &str, prefix: &str) -> Result<usize, StoreError> {
        let live = self.scan(bucket, prefix).await?.len();
        mneme_runtime::kv::purge(&self.jetstream, bucket, prefix, false).await.map_err(failed)?;
        Ok(live)
    }
}

async fn create(store: &kv::Store, key: &str, value: Vec<u8>) -> Result<bool, StoreError> {
    match store.create(key, value.into()).await {
        Ok(_) => Ok(true),
        Err(error) if error.kind() == kv::CreateErrorKind::AlreadyExists => Ok(false),
        Err(error) => Err(failed(error)),
    }
}

async fn get(store: &kv::Store, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
    store.get(key).await.map(|value| value.map(|bytes| bytes.to_vec())).map_err(failed)
}

async fn remove(store: &kv::Store, key: &str) -> Result<bool, StoreError> {
    let existed = get(store, key).await?.is_some();
    if existed {
        store.purge(key).await.map_err(failed)?;
    }
    Ok(existed)
}

impl VaultStore for KvVaultStore {
    /// What the server takes in one message, less the headroom: asked each time, as it is known only once
    /// the connection is up, and may change with the server it reconnects to.
    fn max_record_bytes(&self) -> usize {
        self.jetstream.client().max_payload().saturating_sub(RECORD_HEADROOM_BYTES)
    }

    async fn wrapped_key(&self, owner: &str) -> Result<Option<Vec<u8>>, StoreError> {
        get(&self.keys, owner).await
    }

    async fn create_wrapped_key(&self, owner: &str, wrapped: Vec<u8>) -> Result<bool, StoreError> {
        create(&self.keys, owner, wrapped).await
    }

    async fn destroy_key(&self, owner: &str) -> Result<bool, StoreError> {
        let existed = get(&self.keys, owner).await?.is_some();
        mneme_runtime::kv::purge(&self.jetstream, KEY_BUCKET, owner, true).await.map_err(failed)?;
        Ok(existed)
    }

    async fn replace_wrapped_key(&self, owner: &str, expected: &[u8], wrapped: Vec<u8>) -> Result<bool, StoreError> {
        let written = mneme_runtime::kv::update(&self.keys, owner, |current| {
            let next = (current.as_deref() == Some(expected)).then(|| wrapped.clone());
            async move { Ok(next) }
        })
        .await
        .map_err(failed)?;
        Ok(written.is_some())
    }

    async fn key_owners(&self) -> Result<Vec<String>, StoreError> {
        use futures::TryStreamExt;
        self.keys.keys().await.map_err(failed)?.try_collect().await.map_err(failed)
    }

    async fn create_memory(&self, owner: &str, id: &str, sealed: Vec<u8>) -> Result<bool, StoreError> {
        create(&self.memories, &format!("{owner}.{id}"), sealed).await
    }

    async fn memory(&self, owner: &str, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        get(&self.memories, &format!("{owner}.{id}")).await
    }

    async fn memories(&self, owner: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.scan(MEMORY_BUCKET, owner).await
    }

    async fn delete_memory(&self, owner: &str, id: &str) -> Result<bool, StoreError> {
        remove(&self.memories, &format!("{owner}.{id}")).await
    }

    async fn purge_memories(&self, owner: &str) -> Result<usize, StoreError> {
        self.purge_prefix(MEMORY_BUCKET, owner).await
    }

    async fn grant(&self, owner: &str, grantee: &str) -> Result<Option<Vec<u8>>, StoreError> {
        get(&self.grants, &format!("{owner}.{grantee}")).await
    }

    async fn put_grant(&self, owner: &str, grantee: &str, grant: Vec<u8>) -> Result<(), StoreError> {
        self.grants.put(format!("{owner}.{grantee}"), grant.into()).await.map(|_| ()).map_err(failed)
    }

    async fn delete_grant(&self, owner: &str, grantee: &str) -> Result<bool, StoreError> {
        remove(&self.grants, &format!("{owner}.{grantee}")).await
    }

    async fn purge_grants(&self, owner: &str) -> Result<(), StoreError> {
        self.purge_prefix(GRANT_BUCKET, owner).await.map(|_| ())
    }

    async fn people(&self, owner: &str) -> Result<Option<Vec<u8>>, StoreError> {
        get(&self.people, owner).await
    }

    async fn update_people<F>(&self, owner: &str, mut change: F) -> Result<(), StoreError>
    where
        F: FnMut(Option<Vec<u8>>) -> Result<Option<Vec<u8>>, StoreError> + Send,
    {
        let mut refused = None;
        mneme_runtime::kv::update(&self.people, owner, |current| {
            let next = change(current).unwrap_or_else(|error| {
                refused = Some(error);
                None
            });
            async move { Ok(next) }
        })
        .await
        .map_err(failed)?;
        refused.map_or(Ok(()), Err)
    }

    async fn purge_people(&self, owner: &str) -> Result<(), StoreError> {
        mneme_runtime::kv::purge(&self.jetstream, PEOPLE_BUCKET, owner, true).await.map_err(failed)
    }
}

/// The store in memory, for tests of the vault's logic.
#[derive(Debug, Default)]
pub struct MemoryVaultStore {
    keys: Mutex<BTreeMap<String, Vec<u8>>>,
    memories: Mutex<BTreeMap<(String, String), Vec<u8>>>,
    grants: Mutex<BTreeMap<(String, String), Vec<u8>>>,
    people: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl VaultStore for MemoryVaultStore {
    /// As a store over a NATS server at its default limit.
    fn max_record_bytes(&self) -> usize {
        DEFAULT_MAX_RECORD_BYTES
    }

    async fn wrapped_key(&self, owner: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.keys.lock().expect("unpoisoned").get(owner).cloned())
    }

    async fn create_wrapped_key(&self, owner: &str, wrapped: Vec<u8>) -> Result<bool, StoreError> {
        let mut keys = self.keys.lock().expect("unpoisoned");
        if keys.contains_key(owner) {
            return Ok(false);
        }
        keys.insert(owner.to_owned(), wrapped);
        Ok(true)
    }

    async fn destroy_key(&self, owner: &str) -> Result<bool, StoreError> {
        Ok(self.keys.lock().expect("unpoisoned").remove(owner).is_some())
    }

    async fn replace_wrapped_key(&self, owner: &str, expected: &[u8], wrapped: Vec<u8>) -> Result<bool, StoreError> {
        let mut keys = self.keys.lock().expect("unpoisoned");
        match keys.get_mut(owner) {
            Some(current) if current.as_slice() == expected => {
                *current = wrapped;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn key_owners(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.keys.lock().expect("unpoisoned").keys().cloned().collect())
    }

    async fn create_memory(&self, owner: &str, id: &str, sealed: Vec<u8>) -> Result<bool, StoreError> {
        let mut memories = self.memories.lock().expect("unpoisoned");
        let key = (owner.to_owned(), id.to_owned());
        if memories.contains_key(&key) {
            return Ok(false);
        }
        memories.insert(key, sealed);
        Ok(true)
    }

    async fn memory(&self, owner: &str, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.memories.lock().expect("unpoisoned").get(&(owner.to_owned(), id.to_owned())).cloned())
    }

    async fn memories(&self, owner: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let memories = self.memories.lock().expect("unpoisoned");
        Ok(memories
            .iter()
            .filter(|((o, _), _)| o == owner)
            .map(|((_, id), value)| (id.clone(), value.clone()))
            .collect())
    }

    async fn delete_memory(&self, owner: &str, id: &str) -> Result<bool, StoreError> {
        Ok(self.memories.lock().expect("unpoisoned").remove(&(owner.to_owned(), id.to_owned())).is_some())
    }

    async fn purge_memories(&self, owner: &str) -> Result<usize, StoreError> {
        let mut memories = self.memories.lock().expect("unpoisoned");
        let before = memories.len();
        memories.retain(|(o, _), _| o != owner);
        Ok(before - memories.len())
    }

    async fn grant(&self, owner: &str, grantee: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.grants.lock().expect("unpoisoned").get(&(owner.to_owned(), grantee.to_owned())).cloned())
    }

    async fn put_grant(&self, owner: &str, grantee: &str, grant: Vec<u8>) -> Result<(), StoreError> {
        self.grants.lock().expect("unpoisoned").insert((owner.to_owned(), grantee.to_owned()), grant);
        Ok(())
    }

    async fn delete_grant(&self, owner: &str, grantee: &str) -> Result<bool, StoreError> {
        Ok(self.grants.lock().expect("unpoisoned").remove(&(owner.to_owned(), grantee.to_owned())).is_some())
    }

    async fn purge_grants(&self, owner: &str) -> Result<(), StoreError> {
        self.grants.lock().expect("unpoisoned").retain(|(o, _), _| o != owner);
        Ok(())
    }

    async fn people(&self, owner: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.people.lock().expect("unpoisoned").get(owner).cloned())
    }

    async fn update_people<F>(&self, owner: &str, mut change: F) -> Result<(), StoreError>
    where
        F: FnMut(Option<Vec<u8>>) -> Result<Option<Vec<u8>>, StoreError> + Send,
    {
        let mut people = self.people.lock().expect("unpoisoned");
        if let Some(next) = change(people.get(owner).cloned())? {
            people.insert(owner.to_owned(), next);
        }
        Ok(())
    }

    async fn purge_people(&self, owner: &str) -> Result<(), StoreError> {
        self.people.lock().expect("unpoisoned").remove(owner);
        Ok(())
    }
}
