//! Where the vault keeps its bytes: JetStream key-value buckets in production, a map in tests. Everything
//! stored is already sealed; keys hold only opaque tokens.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

use async_nats::jetstream::{self, consumer, kv};
use futures::StreamExt;

use mneme_protocol::subjects::jetstream::{GRANT_BUCKET, KEY_BUCKET, MEMORY_BUCKET};

#[derive(Debug, thiserror::Error)]
#[error("the vault's store failed: {0}")]
pub struct StoreError(pub String);

fn failed(error: impl std::fmt::Display) -> StoreError {
    StoreError(error.to_string())
}

/// The operations the vault needs of its store.
pub trait VaultStore: Send + Sync + 'static {
    fn wrapped_key(&self, owner: &str) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
    /// Stores a wrapped key unless the owner has one; false when another writer was first.
    fn create_wrapped_key(
        &self,
        owner: &str,
        wrapped: Vec<u8>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Destroys the owner's key; true when there was one.
    fn destroy_key(&self, owner: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
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
}

/// The store in three JetStream key-value buckets, shared by every guardian replica. Keys are
/// `<owner token>` (data keys), `<owner token>.<memory id>` (memories) and `<owner token>.<grantee token>`
/// (grants).
#[derive(Debug, Clone)]
pub struct KvVaultStore {
    jetstream: jetstream::Context,
    memories: kv::Store,
    keys: kv::Store,
    grants: kv::Store,
}

async fn bucket(
    jetstream: &jetstream::Context,
    name: &str,
    description: &str,
    replicas: usize,
) -> Result<kv::Store, StoreError> {
    if let Ok(store) = jetstream.get_key_value(name).await {
        return Ok(store);
    }
    let config = kv::Config {
        bucket: name.to_owned(),
        description: description.to_owned(),
        history: 1,
        num_replicas: replicas,
        storage: jetstream::stream::StorageType::File,
        ..Default::default()
    };
    match jetstream.create_key_value(config).await {
        Ok(store) => Ok(store),
        // Another replica created it in between.
        Err(_) => jetstream.get_key_value(name).await.map_err(failed),
    }
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
        })
    }

    fn stream_name(bucket: &str) -> String {
        format!("KV_{bucket}")
    }

    /// The latest value of every live key under `prefix.` in `bucket`, read through an ordered consumer on
    /// the bucket's stream so that other owners' keys are never touched.
    async fn scan(&self, bucket: &str, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let stream = self.jetstream.get_stream(Self::stream_name(bucket)).await.map_err(failed)?;
        let filter = format!("$KV.{bucket}.{prefix}.>");
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: filter,
                deliver_policy: consumer::DeliverPolicy::LastPerSubject,
                ..Default::default()
            })
            .await
            .map_err(failed)?;
        let mut consumer = consumer;
        let pending = consumer.info().await.map_err(failed)?.num_pending as usize;
        let mut found = Vec::with_capacity(pending);
        if pending == 0 {
            return Ok(found);
        }
        let mut messages = consumer.messages().await.map_err(failed)?;
        for _ in 0..pending {
            let Some(message) = messages.next().await else { break };
            let message = message.map_err(failed)?;
            let deleted = message
                .headers
                .as_ref()
                .and_then(|headers| headers.get("KV-Operation"))
                .is_some_and(|operation| matches!(operation.as_str(), "DEL" | "PURGE"));
            if deleted {
                continue;
            }
            let key = message.subject.as_str().strip_prefix(&format!("$KV.{bucket}.{prefix}.")).unwrap_or_default();
            found.push((key.to_owned(), message.payload.to_vec()));
        }
        Ok(found)
    }

    async fn purge_prefix(&self, bucket: &str, prefix: &str) -> Result<usize, StoreError> {
        let mut stream = self.jetstream.get_stream(Self::stream_name(bucket)).await.map_err(failed)?;
        let filter = format!("$KV.{bucket}.{prefix}.>");
        let live = self.scan(bucket, prefix).await?.len();
        // Purging by subject removes the messages themselves, markers included: nothing of them stays.
        stream.purge().filter(filter).await.map_err(failed)?;
        let _ = stream.info().await;
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
    async fn wrapped_key(&self, owner: &str) -> Result<Option<Vec<u8>>, StoreError> {
        get(&self.keys, owner).await
    }

    async fn create_wrapped_key(&self, owner: &str, wrapped: Vec<u8>) -> Result<bool, StoreError> {
        create(&self.keys, owner, wrapped).await
    }

    async fn destroy_key(&self, owner: &str) -> Result<bool, StoreError> {
        let existed = get(&self.keys, owner).await?.is_some();
        let mut stream = self.jetstream.get_stream(Self::stream_name(KEY_BUCKET)).await.map_err(failed)?;
        stream.purge().filter(format!("$KV.{KEY_BUCKET}.{owner}")).await.map_err(failed)?;
        let _ = stream.info().await;
        Ok(existed)
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
}

/// The store in memory, for tests of the vault's logic.
#[derive(Debug, Default)]
pub struct MemoryVaultStore {
    keys: Mutex<BTreeMap<String, Vec<u8>>>,
    memories: Mutex<BTreeMap<(String, String), Vec<u8>>>,
    grants: Mutex<BTreeMap<(String, String), Vec<u8>>>,
}

impl VaultStore for MemoryVaultStore {
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
}
