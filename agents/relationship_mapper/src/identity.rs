//! The other names an owner goes by in their exports ("Ann Lee", ann@example.com, @annlee), kept so that the
//! owner is never their own contact however their chats and mail name them: sealed in a KV bucket under a key
//! the guardian derives for it, or in a map for tests.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

use async_nats::jetstream::{self, kv};

use mneme_protocol::subjects::owner_token;
use mneme_runtime::kv::KvError;
use mneme_runtime::ledger::{LedgerError, OwnerKeys};

/// The bucket of identities.
pub const BUCKET: &str = "mneme_identities";

/// How many names an owner may keep, and how long each may be.
pub const MAX_NAMES: usize = 64;
pub const MAX_NAME_CHARS: usize = 256;

pub trait Identities: Send + Sync + 'static {
    fn names(&self, owner: &str) -> impl Future<Output = Result<Vec<String>, LedgerError>> + Send;
    fn set(&self, owner: &str, names: Vec<String>) -> impl Future<Output = Result<(), LedgerError>> + Send;
    fn forget(&self, owner: &str) -> impl Future<Output = Result<(), LedgerError>> + Send;
}

#[derive(Debug)]
pub struct KvIdentities<K> {
    store: kv::Store,
    keys: K,
}

impl<K: OwnerKeys> KvIdentities<K> {
    pub async fn open(jetstream: &jetstream::Context, replicas: usize, keys: K) -> Result<Self, LedgerError> {
        let store =
            mneme_runtime::kv::bucket(jetstream, BUCKET, "Mneme: the other names each owner goes by", replicas).await?;
        Ok(KvIdentities { store, keys })
    }

    fn failed(&self, error: impl std::fmt::Display) -> LedgerError {
        LedgerError::Kv(KvError { bucket: BUCKET.to_owned(), reason: error.to_string() })
    }

    fn context(token: &str) -> Vec<u8> {
        format!("{BUCKET}/{token}").into_bytes()
    }
}

impl<K: OwnerKeys> Identities for KvIdentities<K> {
    async fn names(&self, owner: &str) -> Result<Vec<String>, LedgerError> {
        let token = owner_token(owner);
        let Some(sealed) = self.store.get(&token).await.map_err(|error| self.failed(error))? else {
            return Ok(Vec::new());
        };
        let context = Self::context(&token);
        let mut opened = mneme_runtime::sealing::open(&self.keys.key(owner).await?, &context, &sealed);
        if opened.is_err() {
            // The kept key may be stale (the owner was forgotten and came back); a fresh one decides.
            self.keys.forget(owner);
            opened = mneme_runtime::sealing::open(&self.keys.key(owner).await?, &context, &sealed);
        }
        // Sealed under a key since destroyed: nothing is known of them any more.
        let Ok(plain) = opened else { return Ok(Vec::new()) };
        rmp_serde::from_slice(&plain).map_err(|error| LedgerError::Corrupt {
            bucket: BUCKET.to_owned(),
            owner: owner.to_owned(),
            reason: error.to_string(),
        })
    }

    async fn set(&self, owner: &str, names: Vec<String>) -> Result<(), LedgerError> {
        let token = owner_token(owner);
        let key = self.keys.key(owner).await?;
        let plain = rmp_serde::to_vec(&names).map_err(|error| self.failed(error))?;
        let sealed = mneme_runtime::sealing::seal(&key, &Self::context(&token), &plain);
        self.store.put(&token, sealed.into()).await.map_err(|error| self.failed(error))?;
        Ok(())
    }

    async fn forget(&self, owner: &str) -> Result<(), LedgerError> {
        self.keys.forget(owner);
        self.store.purge(owner_token(owner)).await.map_err(|error| self.failed(error))
    }
}

/// Identities in memory, for tests of the mapper's logic.
#[derive(Debug, Default)]
pub struct MemoryIdentities(Mutex<BTreeMap<String, Vec<String>>>);

impl Identities for MemoryIdentities {
    async fn names(&self, owner: &str) -> Result<Vec<String>, LedgerError> {
        Ok(self.0.lock().expect("unpoisoned").get(owner).cloned().unwrap_or_default())
    }

    async fn set(&self, owner: &str, names: Vec<String>) -> Result<(), LedgerError> {
        self.0.lock().expect("unpoisoned").insert(owner.to_owned(), names);
        Ok(())
    }

    async fn forget(&self, owner: &str) -> Result<(), LedgerError> {
        self.0.lock().expect("unpoisoned").remove(owner);
        Ok(())
    }
}
