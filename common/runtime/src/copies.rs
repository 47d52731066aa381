//! Working copies of owners' ledgers that a replica keeps in memory (an index, a model): loaded from the
//! ledger on first use, kept current by a task following it, at most so many at once (the least recently used
//! dropped first). Every replica follows the same ledger, so a change made through one reaches all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::{FutureExt, StreamExt};

use crate::agent::HandlerError;
use crate::ledger::{Entry, FollowedLedger, LedgerError, ShardChange};

/// What a working copy does with the ledger's changes.
pub trait WorkingCopy<T: Entry>: Send + Sync + 'static {
    /// Takes in `changes`: the owner's whole ledger when `loading`, then what changed, a batch of whatever
    /// arrived at a time.
    fn take(&self, changes: Vec<ShardChange<T>>, loading: bool) -> Result<(), String>;
}

struct Loaded<C> {
    copy: Arc<C>,
    follower: tokio::task::AbortHandle,
    last_used: Mutex<Instant>,
}

impl<C> Drop for Loaded<C> {
    fn drop(&mut self) {
        self.follower.abort();
    }
}

/// The working copies of one replica.
pub struct OwnerCopies<C> {
    loaded: Mutex<HashMap<String, Arc<Loaded<C>>>>,
    /// Loads take turns, so that concurrent first requests about an owner wait for one load of it.
    loading: tokio::sync::Mutex<()>,
    max_loaded: usize,
}

impl<C> std::fmt::Debug for OwnerCopies<C> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let loaded = self.loaded.lock().map(|loaded| loaded.len()).unwrap_or_default();
        formatter.debug_struct("OwnerCopies").field("loaded", &loaded).field("max_loaded", &self.max_loaded).finish()
    }
}

impl<C: Send + Sync + 'static> OwnerCopies<C> {
    pub fn new(max_loaded: usize) -> Self {
        OwnerCopies { loaded: Mutex::default(), loading: tokio::sync::Mutex::new(()), max_loaded }
    }

    pub fn len(&self) -> usize {
        self.loaded.lock().expect("unpoisoned").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether another owner's copy can be loaded without dropping one.
    pub fn has_room(&self) -> bool {
        self.len() < self.max_loaded
    }

    /// The owner's copy, if this replica has it loaded.
    pub fn get(&self, owner: &str) -> Option<Arc<C>> {
        let loaded = self.loaded.lock().expect("unpoisoned").get(owner).cloned()?;
        *loaded.last_used.lock().expect("unpoisoned") = Instant::now();
        Some(loaded.copy.clone())
    }

    /// Drops the owner's copy (it is loaded afresh when next needed).
    pub fn drop_owner(&self, owner: &str) {
        self.loaded.lock().expect("unpoisoned").remove(owner);
    }

    /// The owner's copy: on first use, `make` gives an empty one, which takes in the owner's whole ledger
    /// and then follows it.
    pub async fn load<T, L>(
        &self,
        ledger: &L,
        bucket: &str,
        owner: &str,
        make: impl FnOnce() -> Result<C, HandlerError>,
    ) -> Result<Arc<C>, HandlerError>
    where
        T: Entry,
        L: FollowedLedger<T>,
        C: WorkingCopy<T>,
    {
        if let Some(copy) = self.get(owner) {
            return Ok(copy);
        }
        let _turn = self.loading.lock().await;
        if let Some(copy) = self.get(owner) {
            return Ok(copy);
        }
        let started = Instant::now();
        let copy = Arc::new(make()?);
        let (current, mut changes) = ledger.follow(owner).await?;
        let mut batch = Vec::with_capacity(current);
        for _ in 0..current {
            match changes.next().await {
                Some(change) => batch.push(change?),
                None => {
                    return Err(LedgerError::Corrupt {
                        bucket: bucket.to_owned(),
                        owner: owner.to_owned(),
                        reason: "the ledger ended while it was read".to_owned(),
                    }
                    .into());
                }
            }
        }
        copy.take(batch, true).map_err(HandlerError::internal)?;
        tracing::info!(bucket, shards = current, elapsed = ?started.elapsed(), "Loaded an owner's working copy.");
        let follower = tokio::spawn(follow(copy.clone(), changes));
        let loaded = Arc::new(Loaded {
            copy: copy.clone(),
            follower: follower.abort_handle(),
            last_used: Mutex::new(Instant::now()),
        });
        let mut all = self.loaded.lock().expect("unpoisoned");
        all.insert(owner.to_owned(), loaded);
        while all.len() > self.max_loaded {
            let stalest = all
                .iter()
                .filter(|(name, _)| name.as_str() != owner)
                .min_by_key(|(_, loaded)| *loaded.last_used.lock().expect("unpoisoned"))
                .map(|(name, _)| name.clone());
            match stalest {
                Some(name) => all.remove(&name),
                None => break,
            };
        }
        Ok(copy)
    }
}

/// Keeps `copy` current with the ledger's changes, a batch of whatever has arrived at a time.
async fn follow<T: Entry, C: WorkingCopy<T>>(
    copy: Arc<C>,
    mut changes: futures::stream::BoxStream<'static, Result<ShardChange<T>, LedgerError>>,
) {
    while let Some(first) = changes.next().await {
        let mut batch = vec![first];
        while let Some(Some(more)) = changes.next().now_or_never() {
            batch.push(more);
        }
        let taken = batch
            .into_iter()
            .collect::<Result<Vec<_>, LedgerError>>()
            .map_err(|error| error.to_string())
            .and_then(|batch| copy.take(batch, false));
        if let Err(reason) = taken {
            tracing::warn!(%reason, "Following an owner's ledger failed; the working copy stays as it was.");
        }
    }
}
