//! Where each owner's index lives: a ledger of what is kept of each memory ([`Indexed`]), sealed in JetStream
//! KV under the owner's derived key, which every replica follows to keep its copy of the index current.

use std::collections::BTreeMap;
use std::future::Future;

use futures::StreamExt;
use futures::stream::BoxStream;

use mneme_runtime::ledger::{KvLedger, Ledger, LedgerError, MemoryLedger, OwnerKeys, ShardChange};

use crate::recall::index::Indexed;

/// The bucket of the index ledger.
pub const BUCKET: &str = "mneme_recall";

/// An owner's changes: how many make up the current state (they come first), and the changes.
pub type Following = (usize, BoxStream<'static, Result<ShardChange<Indexed>, LedgerError>>);

/// A ledger of indexed memories that can be followed.
pub trait IndexStore: Ledger<Indexed> {
    fn follow(&self, owner: &str) -> impl Future<Output = Result<Following, LedgerError>> + Send;
}

impl<K: OwnerKeys> IndexStore for KvLedger<Indexed, K> {
    async fn follow(&self, owner: &str) -> Result<Following, LedgerError> {
        KvLedger::follow(self, owner).await
    }
}

/// In memory, what is there now is one change, and nothing follows: writes in the same process reach the
/// index directly.
impl IndexStore for MemoryLedger<Indexed> {
    async fn follow(&self, owner: &str) -> Result<Following, LedgerError> {
        let entries: BTreeMap<String, Indexed> = self.entries(owner).await?;
        let now = futures::stream::iter([Ok(("all".to_owned(), Some(entries)))]);
        Ok((1, now.chain(futures::stream::pending()).boxed()))
    }
}
