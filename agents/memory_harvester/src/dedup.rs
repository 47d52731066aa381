//! The duplicate index: which memories of an owner a new one repeats, exactly or nearly.
//!
//! Verdicts are recorded with the memory, so processing the same input again (a retry, a re-import) gets
//! the same answer. The JetStream KV implementation is shared by every replica and survives restarts; the
//! in-memory one serves tests and tools.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use async_nats::jetstream::{self, kv};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use mneme_protocol::harvester::{DuplicateKind, DuplicateOf};

use crate::fingerprint::{self, Fingerprint, Signature};

#[derive(Debug, thiserror::Error)]
pub enum DedupError {
    #[error("duplicate index unavailable: {0}")]
    Store(String),
    #[error("duplicate index entry `{key}` is unreadable: {reason}")]
    Corrupt { key: String, reason: String },
}

/// Finds what a memory duplicates and remembers it for the memories after it.
pub trait DedupIndex: Send + Sync + 'static {
    /// Records `memory_id` with `fingerprint` under `owner` and returns the earlier memory it repeats.
    fn check_and_record(
        &self,
        owner: &str,
        memory_id: &str,
        fingerprint: &Fingerprint,
    ) -> impl Future<Output = Result<Option<DuplicateOf>, DedupError>> + Send;

    /// Drops what the index holds of one memory, so that nothing of it remains and the same text may be
    /// ingested again as new.
    fn forget_memory(&self, owner: &str, memory_id: &str) -> impl Future<Output = Result<(), DedupError>> + Send;

    /// Drops everything the index holds of an owner.
    fn forget_owner(&self, owner: &str) -> impl Future<Output = Result<(), DedupError>> + Send;
}

/// What is stored under a memory's content hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ExactEntry {
    memory_id: String,
    verdict: Option<DuplicateOf>,
}

/// The most similar earlier memory at or above `min_similarity`, if any; ties go to the smaller id so that
/// every replica decides alike.
fn nearest<'a>(
    candidates: impl IntoIterator<Item = (&'a str, &'a Signature)>,
    memory_id: &str,
    signature: &Signature,
    min_similarity: f64,
) -> Option<DuplicateOf> {
    candidates
        .into_iter()
        .filter(|(candidate, _)| *candidate != memory_id)
        .map(|(candidate, candidate_signature)| (fingerprint::similarity(candidate_signature, signature), candidate))
        .filter(|(similarity, _)| *similarity >= min_similarity)
        .max_by(|(left, left_id), (right, right_id)| left.total_cmp(right).then_with(|| right_id.cmp(left_id)))
        .map(|(similarity, candidate)| DuplicateOf {
            memory_id: candidate.to_owned(),
            kind: DuplicateKind::Near,
            similarity,
        })
}

/// The verdict for a memory whose content hash is already taken by `entry`.
fn verdict_for_taken_hash(entry: ExactEntry, memory_id: &str) -> Option<DuplicateOf> {
    if entry.memory_id == memory_id {
        entry.verdict
    } else {
        Some(DuplicateOf { memory_id: entry.memory_id, kind: DuplicateKind::Exact, similarity: 1.0 })
    }
}

/// An index held in this process only.
#[derive(Debug, Default)]
pub struct MemoryDedupIndex {
    min_similarity: f64,
    state: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    exact: HashMap<(String, String), ExactEntry>,
    bands: HashMap<(String, usize, u64), Vec<String>>,
    signatures: HashMap<(String, String), Signature>,
}

impl MemoryDedupIndex {
    pub fn new(min_similarity: f64) -> Self {
        MemoryDedupIndex { min_similarity, state: Mutex::default() }
    }
}

impl DedupIndex for MemoryDedupIndex {
    async fn check_and_record(
        &self,
        owner: &str,
        memory_id: &str,
        fingerprint: &Fingerprint,
    ) -> Result<Option<DuplicateOf>, DedupError> {
        let mut state = self.state.lock().expect("dedup lock is never poisoned");
        let exact_key = (owner.to_owned(), fingerprint.exact_key.clone());
        if let Some(entry) = state.exact.get(&exact_key) {
            return Ok(verdict_for_taken_hash(entry.clone(), memory_id));
        }
        let bands = fingerprint.bands();
        let mut candidate_ids: Vec<&String> = bands
            .iter()
            .enumerate()
            .filter_map(|(band, value)| state.bands.get(&(owner.to_owned(), band, *value)))
            .flatten()
            .collect();
        candidate_ids.sort_unstable();
        candidate_ids.dedup();
        let candidates = candidate_ids.into_iter().filter_map(|id| {
            state.signatures.get(&(owner.to_owned(), id.clone())).map(|signature| (id.as_str(), signature))
        });
        let verdict = nearest(candidates, memory_id, &fingerprint.signature, self.min_similarity);
        state.exact.insert(exact_key, ExactEntry { memory_id: memory_id.to_owned(), verdict: verdict.clone() });
        state.signatures.insert((owner.to_owned(), memory_id.to_owned()), fingerprint.signature);
        if verdict.is_none() {
            for (band, value) in bands.iter().enumerate() {
                let members = state.bands.entry((owner.to_owned(), band, *value)).or_default();
                if members.len() < MAX_BUCKET_MEMBERS {
                    members.push(memory_id.to_owned());
                }
            }
        }
        Ok(verdict)
    }

    async fn forget_memory(&self, owner: &str, memory_id: &str) -> Result<(), DedupError> {
        let mut state = self.state.lock().expect("dedup lock is never poisoned");
        state.exact.retain(|(entry_owner, _), entry| !(entry_owner == owner && entry.memory_id == memory_id));
        state.signatures.remove(&(owner.to_owned(), memory_id.to_owned()));
        for ((bucket_owner, _, _), members) in state.bands.iter_mut() {
            if bucket_owner == owner {
                members.retain(|member| member != memory_id);
            }
        }
        Ok(())
    }

    async fn forget_owner(&self, owner: &str) -> Result<(), DedupError> {
        let mut state = self.state.lock().expect("dedup lock is never poisoned");
        state.exact.retain(|(entry_owner, _), _| entry_owner != owner);
        state.signatures.retain(|(entry_owner, _), _| entry_owner != owner);
        state.bands.retain(|(entry_owner, _, _), _| entry_owner != owner);
        Ok(())
    }
}

/// The index in a JetStream key-value bucket, shared by every harvester replica.
///
/// Keys, with owners hashed so that any owner name is safe in a key:
/// - `e.<owner>.<exact key>`: the [`ExactEntry`], written with `create`, so that of two replicas racing
///   on the same text (at the same time) exactly one wins;
/// - `s.<owner>.<memory id>`: the memory's MinHash signature;
/// - `b.<owner>.<band>.<band key>`: ids of the memories in that LSH bucket, updated by compare-and-set.
///
/// A memory costs one exact-key write, one signature write and at most sixteen bucket updates, whatever the
/// number of memories the owner has. Buckets stay small because unrelated notes rarely share one; a memory
/// judged a near-duplicate is not added (the memory it repeats stands for it), and a bucket stops growing at
/// [`MAX_BUCKET_MEMBERS`]: its members are all alike, and enough of them to recognize the next alike note.
#[derive(Debug, Clone)]
pub struct KvDedupIndex {
    store: kv::Store,
    jetstream: jetstream::Context,
    bucket: String,
    min_similarity: f64,
}

/// How often a bucket update is retried when another writer changed the bucket in between.
const MAX_CAS_ATTEMPTS: u32 = 64;
/// Members a bucket keeps; see [`KvDedupIndex`].
pub const MAX_BUCKET_MEMBERS: usize = 64;

impl KvDedupIndex {
    /// Opens the bucket, creating it on first use.
    pub async fn open(
        jetstream: &jetstream::Context,
        bucket: &str,
        replicas: usize,
        min_similarity: f64,
    ) -> Result<Self, DedupError> {
        let description = "Mneme memory harvester: content hashes and MinHash buckets per owner";
        let store = mneme_runtime::kv::bucket(jetstream, bucket, description, replicas)
            .await
            .map_err(|error| DedupError::Store(error.to_string()))?;
        Ok(KvDedupIndex { store, jetstream: jetstream.clone(), bucket: bucket.to_owned(), min_similarity })
    }

    fn owner_key(owner: &str) -> String {
        hex::encode(&Sha256::digest(owner.as_bytes())[..16])
    }

    async fn read_raw(&self, key: &str) -> Result<Option<(bytes::Bytes, u64)>, DedupError> {
        let entry = self.store.entry(key).await.map_err(|error| DedupError::Store(error.to_string()))?;
        Ok(entry.filter(|entry| entry.operation == kv::Operation::Put).map(|entry| (entry.value, entry.revision)))
    }

    async fn read<T: for<'de> Deserialize<'de>>(&self, key: &str) -> Result<Option<(T, u64)>, DedupError> {
        match self.read_raw(key).await? {
            Some((bytes, revision)) => rmp_serde::from_slice(&bytes)
                .map(|value| Some((value, revision)))
                .map_err(|error| DedupError::Corrupt { key: key.to_owned(), reason: error.to_string() }),
            None => Ok(None),
        }
    }

    async fn read_signature(&self, key: &str) -> Result<Option<Signature>, DedupError> {
        Ok(self.read_signature_entry(key).await?.map(|(signature, _)| signature))
    }

    /// A signature entry: the signature, then (since forgetting was added) the content hash in hex.
    async fn read_signature_entry(&self, key: &str) -> Result<Option<(Signature, Option<String>)>, DedupError> {
        let Some((bytes, _)) = self.read_raw(key).await? else { return Ok(None) };
        let signature_bytes = fingerprint::SIGNATURE_LEN * 4;
        if bytes.len() != signature_bytes && bytes.len() != signature_bytes + 64 {
            return Err(DedupError::Corrupt { key: key.to_owned(), reason: format!("{} bytes", bytes.len()) });
        }
        let signature = std::array::from_fn(|slot| {
            u32::from_le_bytes(bytes[slot * 4..slot * 4 + 4].try_into().expect("four bytes"))
        });
        let exact_key =
            (bytes.len() > signature_bytes).then(|| String::from_utf8_lossy(&bytes[signature_bytes..]).into_owned());
        Ok(Some((signature, exact_key)))
    }

    async fn remove_from_bucket(&self, key: &str, memory_id: &str) -> Result<(), DedupError> {
        mneme_runtime::kv::update(&self.store, key, |current| async move {
            let Some(bytes) = current else { return Ok(None) };
            let mut members: Vec<String> = rmp_serde::from_slice(&bytes).map_err(|error| {
                mneme_runtime::kv::KvError { bucket: self.bucket.clone(), reason: error.to_string() }
            })?;
            if !members.iter().any(|member| member == memory_id) {
                return Ok(None);
            }
            members.retain(|member| member != memory_id);
            rmp_serde::to_vec(&members)
                .map(Some)
                .map_err(|error| mneme_runtime::kv::KvError { bucket: self.bucket.clone(), reason: error.to_string() })
        })
        .await
        .map(|_| ())
        .map_err(|error| DedupError::Store(error.to_string()))
    }

    async fn purge(&self, key: &str) -> Result<(), DedupError> {
        self.store.purge(key).await.map_err(|error| DedupError::Store(error.to_string()))
    }

    async fn add_to_bucket(&self, key: &str, memory_id: &str) -> Result<(), DedupError> {
        for attempt in 0..MAX_CAS_ATTEMPTS {
            if attempt > 0 {
                // Writers that collided spread out, so that one of them wins the next round.
                let ceiling_ms = 1u64 << attempt.min(6);
                tokio::time::sleep(std::time::Duration::from_micros(rand::random_range(0..ceiling_ms * 1_000))).await;
            }
            let (mut members, revision) = self.read::<Vec<String>>(key).await?.unwrap_or_default();
            if members.len() >= MAX_BUCKET_MEMBERS || members.iter().any(|member| member == memory_id) {
                return Ok(());
            }
            members.push(memory_id.to_owned());
            let bytes: bytes::Bytes =
                rmp_serde::to_vec(&members).map_err(|error| DedupError::Store(error.to_string()))?.into();
            let written = if revision == 0 {
                self.store.create(key, bytes).await.is_ok()
            } else {
                self.store.update(key, bytes, revision).await.is_ok()
            };
            if written {
                return Ok(());
            }
        }
        Err(DedupError::Store(format!("bucket `{key}` kept changing under {MAX_CAS_ATTEMPTS} attempts")))
    }
}

impl DedupIndex for KvDedupIndex {
    async fn check_and_record(
        &self,
        owner: &str,
        memory_id: &str,
        fingerprint: &Fingerprint,
    ) -> Result<Option<DuplicateOf>, DedupError> {
        let owner_key = Self::owner_key(owner);
        let exact_key = format!("e.{owner_key}.{}", fingerprint.exact_key);
        if let Some((entry, _)) = self.read::<ExactEntry>(&exact_key).await? {
            return Ok(verdict_for_taken_hash(entry, memory_id));
        }
        let bucket_keys: Vec<String> = fingerprint
            .bands()
            .iter()
            .enumerate()
            .map(|(band, value)| format!("b.{owner_key}.{band}.{value:016x}"))
            .collect();
        let buckets =
            futures::future::try_join_all(bucket_keys.iter().map(|key| self.read::<Vec<String>>(key))).await?;
        let mut candidate_ids: Vec<String> = buckets.into_iter().flatten().flat_map(|(members, _)| members).collect();
        candidate_ids.sort_unstable();
        candidate_ids.dedup();
        candidate_ids.retain(|candidate| candidate != memory_id);
        let signatures = futures::future::try_join_all(
            candidate_ids.iter().map(|candidate| self.read_signature_of(&owner_key, candidate)),
        )
        .await?;
        let candidates = candidate_ids
            .iter()
            .zip(&signatures)
            .filter_map(|(candidate, signature)| signature.as_ref().map(|signature| (candidate.as_str(), signature)));
        let verdict = nearest(candidates, memory_id, &fingerprint.signature, self.min_similarity);

        let entry = ExactEntry { memory_id: memory_id.to_owned(), verdict: verdict.clone() };
        let bytes: bytes::Bytes =
            rmp_serde::to_vec(&entry).map_err(|error| DedupError::Store(error.to_string()))?.into();
        if self.store.create(&exact_key, bytes).await.is_err() {
            // Another replica recorded the same text first: its entry decides.
            return match self.read::<ExactEntry>(&exact_key).await? {
                Some((winner, _)) => Ok(verdict_for_taken_hash(winner, memory_id)),
                None => Err(DedupError::Store(format!("`{exact_key}` could neither be created nor read"))),
            };
        }
        // The content hash rides along, so that forgetting the memory can find its exact entry.
        let mut signature: Vec<u8> = fingerprint.signature.iter().flat_map(|value| value.to_le_bytes()).collect();
        signature.extend_from_slice(fingerprint.exact_key.as_bytes());
        self.store
            .put(format!("s.{owner_key}.{memory_id}"), signature.into())
            .await
            .map_err(|error| DedupError::Store(error.to_string()))?;
        if verdict.is_none() {
            futures::future::try_join_all(bucket_keys.iter().map(|key| self.add_to_bucket(key, memory_id))).await?;
        }
        Ok(verdict)
    }

    async fn forget_memory(&self, owner: &str, memory_id: &str) -> Result<(), DedupError> {
        self.forget_one(owner, memory_id).await
    }

    async fn forget_owner(&self, owner: &str) -> Result<(), DedupError> {
        self.forget_all(owner).await
    }
}

impl KvDedupIndex {
    /// Forgetting, for [`DedupIndex`]: kept apart from `check_and_record` so that the latter reads as the
    /// algorithm it is.
    async fn forget_one(&self, owner: &str, memory_id: &str) -> Result<(), DedupError> {
        let owner_key = Self::owner_key(owner);
        let signature_key = format!("s.{owner_key}.{memory_id}");
        let Some((signature, exact_key)) = self.read_signature_entry(&signature_key).await? else { return Ok(()) };
        for (band, value) in fingerprint::bands_of(&signature).iter().enumerate() {
            self.remove_from_bucket(&format!("b.{owner_key}.{band}.{value:016x}"), memory_id).await?;
        }
        if let Some(exact_key) = exact_key {
            let exact_key = format!("e.{owner_key}.{exact_key}");
            if let Some((entry, _)) = self.read::<ExactEntry>(&exact_key).await?
                && entry.memory_id == memory_id
            {
                self.purge(&exact_key).await?;
            }
        }
        self.purge(&signature_key).await
    }

    /// Removes every entry of the owner from the bucket's stream, markers included.
    async fn forget_all(&self, owner: &str) -> Result<(), DedupError> {
        let owner_key = Self::owner_key(owner);
        for kind in ["e", "s", "b"] {
            mneme_runtime::kv::purge(&self.jetstream, &self.bucket, &format!("{kind}.{owner_key}"), false)
                .await
                .map_err(|error| DedupError::Store(error.to_string()))?;
        }
        Ok(())
    }

    async fn read_signature_of(&self, owner_key: &str, memory_id: &str) -> Result<Option<Signature>, DedupError> {
        self.read_signature(&format!("s.{owner_key}.{memory_id}")).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint(text: &str) -> Fingerprint {
        Fingerprint::of(text)
    }

    const NOTE: &str = "Spent the afternoon at the lake with Anna and Tom. We swam twice, ate cherries on the pier, \
                        and talked about moving to Lisbon next spring. Tom finally told us about the new job.";

    #[tokio::test]
    async fn exact_near_and_distinct_texts_get_their_verdicts() {
        let index = MemoryDedupIndex::new(0.7);
        assert_eq!(index.check_and_record("ann", "m1", &fingerprint(NOTE)).await.unwrap(), None);
        let exact = index.check_and_record("ann", "m2", &fingerprint(NOTE)).await.unwrap().unwrap();
        assert_eq!((exact.memory_id.as_str(), exact.kind), ("m1", DuplicateKind::Exact));
        let near = index
            .check_and_record("ann", "m3", &fingerprint(&NOTE.replace("twice", "three times")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((near.memory_id.as_str(), near.kind), ("m1", DuplicateKind::Near));
        assert!(near.similarity >= 0.7 && near.similarity < 1.0, "{}", near.similarity);
        let other = "Quarterly budget review: marketing overspent by twelve percent; hiring frozen until March.";
        assert_eq!(index.check_and_record("ann", "m4", &fingerprint(other)).await.unwrap(), None);
    }

    #[tokio::test]
    async fn the_same_words_at_another_time_are_another_memory() {
        let index = MemoryDedupIndex::new(0.7);
        let monday = Fingerprint::of("On my way, see you soon").at(Some("2024-05-06T08:00:00Z"));
        let tuesday = Fingerprint::of("On my way, see you soon").at(Some("2024-05-07T08:00:00Z"));
        assert_eq!(index.check_and_record("ann", "m1", &monday).await.unwrap(), None);
        let again = index.check_and_record("ann", "m2", &tuesday).await.unwrap().unwrap();
        assert_eq!(again.kind, DuplicateKind::Near, "alike, but not the same memory");
        let copy = index.check_and_record("ann", "m3", &monday).await.unwrap().unwrap();
        assert_eq!((copy.memory_id.as_str(), copy.kind), ("m1", DuplicateKind::Exact));
    }

    #[tokio::test]
    async fn forgotten_memories_leave_nothing_behind() {
        let index = MemoryDedupIndex::new(0.7);
        index.check_and_record("ann", "m1", &fingerprint(NOTE)).await.unwrap();
        index.forget_memory("ann", "m1").await.unwrap();
        assert_eq!(index.check_and_record("ann", "m2", &fingerprint(NOTE)).await.unwrap(), None, "new again");
        index.check_and_record("bob", "m9", &fingerprint(NOTE)).await.unwrap();
        index.forget_owner("ann").await.unwrap();
        assert_eq!(index.check_and_record("ann", "m3", &fingerprint(NOTE)).await.unwrap(), None);
        let bob = index.check_and_record("bob", "m10", &fingerprint(NOTE)).await.unwrap().unwrap();
        assert_eq!(bob.memory_id, "m9", "other owners keep theirs");
    }

    #[tokio::test]
    async fn owners_never_see_each_others_memories() {
        let index = MemoryDedupIndex::new(0.7);
        index.check_and_record("ann", "m1", &fingerprint(NOTE)).await.unwrap();
        assert_eq!(index.check_and_record("bob", "m2", &fingerprint(NOTE)).await.unwrap(), None);
    }

    #[tokio::test]
    async fn the_same_memory_again_gets_the_same_verdict() {
        let index = MemoryDedupIndex::new(0.7);
        index.check_and_record("ann", "m1", &fingerprint(NOTE)).await.unwrap();
        let edited = fingerprint(&NOTE.replace("twice", "three times"));
        let first = index.check_and_record("ann", "m2", &edited).await.unwrap();
        assert!(first.is_some());
        assert_eq!(index.check_and_record("ann", "m2", &edited).await.unwrap(), first);
        assert_eq!(index.check_and_record("ann", "m1", &fingerprint(NOTE)).await.unwrap(), None);
    }
}
