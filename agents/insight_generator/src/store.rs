//! Where each owner's index lives: a ledger of what is kept of each memory ([`Indexed`]), sealed in JetStream
//! KV under the owner's derived key, which every replica follows to keep its copy of the index current.

use mneme_runtime::ledger::FollowedLedger;

use crate::recall::index::Indexed;

/// The bucket of the index ledger.
pub const BUCKET: &str = "mneme_recall";

/// A ledger of indexed memories that can be followed.
pub trait IndexStore: FollowedLedger<Indexed> {}

impl<L: FollowedLedger<Indexed>> IndexStore for L {}
