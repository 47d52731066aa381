//! The vault: memories stored encrypted under their owner's data key, read only by the owner and by the
//! grantees the owner names (each up to a sensitivity), forgotten by destroying keys, with every decision
//! appended to the audit stream.

pub mod classify;
pub mod crypto;
pub mod store;

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use mneme_protocol::guardian::{
    AccessDecision, AccessGranted, AccessRevoked, AuditRecord, Forgotten, GrantAccessRequest, KeysRewrapped,
    MemoryView, PiiEntityType, Scope, SecurityApplied, Sensitivity,
};
use mneme_protocol::harvester::ProcessedMemory;
use mneme_protocol::subjects::{self, owner_token};

use crate::keys::MasterKey;
use crate::pii::{self, DetectOptions};
use crate::redact::{Redaction, redact};
use crypto::{CryptoError, DataKey};
use store::{StoreError, VaultStore};

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("{principal} may not {action} memories of {owner}")]
    Forbidden { principal: String, owner: String, action: String },
    #[error("no memory {memory_id} of {owner}")]
    NotFound { owner: String, memory_id: String },
    #[error("the principal is empty")]
    NoPrincipal,
    #[error("the owner is empty")]
    NoOwner,
    #[error("`{0}` is not a key purpose: 1 to 64 of a-z, 0-9, `_`, `-`, `.`, `/`")]
    InvalidPurpose(String),
    #[error("a stored memory does not open: {0}")]
    Corrupt(#[from] CryptoError),
    #[error("a stored record cannot be read: {0}")]
    Undecodable(String),
    #[error("the memory is {bytes} bytes sealed, over the {limit} the store keeps in one record; split it into parts")]
    TooLarge { bytes: usize, limit: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where access decisions and forgets are recorded.
pub trait AuditSink: Send + Sync + 'static {
    fn record(&self, record: AuditRecord) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The audit trail in the `MNEME_AUDIT` stream, acknowledged by JetStream before the decision takes effect.
#[derive(Debug, Clone)]
pub struct JetStreamAudit {
    jetstream: async_nats::jetstream::Context,
}

impl JetStreamAudit {
    pub async fn open(jetstream: &async_nats::jetstream::Context, replicas: usize) -> Result<Self, StoreError> {
        let config = async_nats::jetstream::stream::Config {
            name: subjects::jetstream::AUDIT_STREAM.to_owned(),
            description: Some("Mneme: every access decision and forget".to_owned()),
            subjects: vec![subjects::AUDIT_WILDCARD.to_owned()],
            storage: async_nats::jetstream::stream::StorageType::File,
            num_replicas: replicas,
            ..Default::default()
        };
        jetstream.get_or_create_stream(config).await.map_err(|error| StoreError(error.to_string()))?;
        Ok(JetStreamAudit { jetstream: jetstream.clone() })
    }
}

impl AuditSink for JetStreamAudit {
    async fn record(&self, record: AuditRecord) -> Result<(), StoreError> {
        let body = rmp_serde::to_vec_named(&record).map_err(|error| StoreError(error.to_string()))?;
        let ack = self
            .jetstream
            .publish(subjects::audit(&record.action), body.into())
            .await
            .map_err(|error| StoreError(error.to_string()))?;
        ack.await.map(|_| ()).map_err(|error| StoreError(error.to_string()))
    }
}

/// The audit trail in memory, for tests.
#[derive(Debug, Default)]
pub struct MemoryAudit(pub Mutex<Vec<AuditRecord>>);

impl AuditSink for MemoryAudit {
    async fn record(&self, record: AuditRecord) -> Result<(), StoreError> {
        self.0.lock().expect("unpoisoned").push(record);
        Ok(())
    }
}

/// The refusal of `action` on `owner`'s memories, in words: `check_access` asks to read them, or what is
/// derived from them.
fn refused(principal: &str, owner: &str, action: &str, scope: Scope) -> VaultError {
    let action = match (action, scope) {
        ("check_access", Scope::Memories) => "read",
        ("check_access", Scope::Derived) => "read what is derived from",
        (action, _) => action,
    };
    VaultError::Forbidden { principal: principal.to_owned(), owner: owner.to_owned(), action: action.to_owned() }
}

/// Whether a request names both who asks and whose memories it is about: an empty name names nobody.
fn named(principal: &str, owner: &str) -> Result<(), VaultError> {
    if principal.trim().is_empty() {
        return Err(VaultError::NoPrincipal);
    }
    names_an_owner(owner)
}

fn names_an_owner(owner: &str) -> Result<(), VaultError> {
    if owner.trim().is_empty() { Err(VaultError::NoOwner) } else { Ok(()) }
}

/// `text` with every capitalized word that is one of `people` as a placeholder.
fn hide_people(text: &str, people: &BTreeSet<String>) -> String {
    redact(text, &pii::known_people(text, people), &Redaction::Placeholder).0
}

/// What is sealed for each memory.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SealedMemory {
    memory: ProcessedMemory,
    sensitivity: Sensitivity,
    shareable_text: String,
    shareable_title: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Grant {
    max_sensitivity: Sensitivity,
    scopes: Vec<Scope>,
}

/// The stored form of a memory: a version byte, then the sealed [`SealedMemory`].
const RECORD_VERSION: u8 = 1;

/// Who may see what of an owner's memories.
#[derive(Debug, Clone, PartialEq)]
enum Access {
    Owner,
    Grantee { max_sensitivity: Sensitivity },
}

#[derive(Debug)]
pub struct Vault<S, A> {
    store: S,
    audit: A,
    master: MasterKey,
    /// The master key before the last rotation: keys still wrapped by it open, and are wrapped anew.
    previous: Option<MasterKey>,
    agent_id: String,
}

impl<S: VaultStore, A: AuditSink> Vault<S, A> {
    pub fn new(store: S, audit: A, master: MasterKey, agent_id: impl Into<String>) -> Self {
        Vault { store, audit, master, previous: None, agent_id: agent_id.into() }
    }

    /// During a rotation of the master key: the key it replaces.
    pub fn with_previous_master(mut self, previous: Option<MasterKey>) -> Self {
        self.previous = previous;
        self
    }

    /// Opens a wrapped data key. One still wrapped by the previous master key is wrapped anew under the
    /// current one on the way.
    async fn open_key(&self, token: &str, wrapped: Vec<u8>) -> Result<DataKey, VaultError> {
        let error = match DataKey::unwrap(&self.master, token, &wrapped) {
            Ok(key) => return Ok(key),
            Err(error) => error,
        };
        let Some(previous) = &self.previous else { return Err(error.into()) };
        let key = DataKey::unwrap(previous, token, &wrapped).map_err(|_| error)?;
        self.store.replace_wrapped_key(token, &wrapped, key.wrap(&self.master, token)).await?;
        Ok(key)
    }

    /// Wraps every data key still under the previous master key under the current one, so that the
    /// previous key can be retired.
    pub async fn rewrap_keys(&self) -> Result<KeysRewrapped, VaultError> {
        let mut report = KeysRewrapped::default();
        for token in self.store.key_owners().await? {
            let Some(wrapped) = self.store.wrapped_key(&token).await? else { continue };
            if DataKey::unwrap(&self.master, &token, &wrapped).is_ok() {
                report.current += 1;
                continue;
            }
            let key = self.previous.as_ref().and_then(|previous| DataKey::unwrap(previous, &token, &wrapped).ok());
            match key {
                Some(key) => {
                    // Lost only to a concurrent rewrap (then it is current) or to `forget` (then it is gone).
                    if self.store.replace_wrapped_key(&token, &wrapped, key.wrap(&self.master, &token)).await? {
                        report.rewrapped += 1;
                    }
                }
                None => report.unreadable += 1,
            }
        }
        tracing::info!(?report, "Wrapped the owners' data keys under the current master key.");
        Ok(report)
    }

    /// The owner's data key, made on first use. Of two replicas making one at once, one wins and both use it.
    async fn data_key(&self, owner: &str, create: bool) -> Result<Option<DataKey>, VaultError> {
        let token = owner_token(owner);
        if let Some(wrapped) = self.store.wrapped_key(&token).await? {
            return Ok(Some(self.open_key(&token, wrapped).await?));
        }
        if !create {
            return Ok(None);
        }
        let key = DataKey::generate();
        if self.store.create_wrapped_key(&token, key.wrap(&self.master, &token)).await? {
            return Ok(Some(key));
        }
        let wrapped = self.store.wrapped_key(&token).await?.ok_or_else(|| StoreError("data key vanished".into()))?;
        Ok(Some(self.open_key(&token, wrapped).await?))
    }

    fn context(owner: &str, memory_id: &str) -> Vec<u8> {
        format!("memory:{}:{memory_id}", owner_token(owner)).into_bytes()
    }

    fn people_context(owner: &str) -> Vec<u8> {
        format!("people:{}", owner_token(owner)).into_bytes()
    }

    /// The names the owner's memories have shown to be people's.
    async fn people(&self, key: &DataKey, owner: &str) -> Result<BTreeSet<String>, VaultError> {
        Ok(self
            .store
            .people(&owner_token(owner))
            .await?
            .map(|record| Self::open_people(key, owner, &record))
            .unwrap_or_default())
    }

    /// The names `owner`'s memories have shown to be people's; none for an owner with nothing stored.
    pub async fn known_people(&self, owner: &str) -> Result<BTreeSet<String>, VaultError> {
        match self.data_key(owner, false).await? {
            Some(key) => self.people(&key, owner).await,
            None => Ok(BTreeSet::new()),
        }
    }

    /// A record that does not open under the owner's key is what an interrupted `forget` left of the key it
    /// destroyed: unreadable by anyone, it counts as empty and is written over.
    fn open_people(key: &DataKey, owner: &str, record: &[u8]) -> BTreeSet<String> {
        let opened = key.open(&Self::people_context(owner), record).map_err(VaultError::from).and_then(|plaintext| {
            rmp_serde::from_slice(&plaintext).map_err(|error| VaultError::Undecodable(error.to_string()))
        });
        opened.unwrap_or_else(|error| {
            tracing::warn!(%error, "An owner's people record does not open under their key; starting it anew.");
            BTreeSet::new()
        })
    }

    /// Adds `names` to the owner's people. Names only ever join (until the owner forgets everything), so
    /// most memories, naming people already known, write nothing.
    async fn learn_people(
        &self,
        key: &DataKey,
        owner: &str,
        known: &BTreeSet<String>,
        names: BTreeSet<String>,
    ) -> Result<(), VaultError> {
        if names.is_subset(known) {
            return Ok(());
        }
        self.store
            .update_people(&owner_token(owner), |current| {
                let mut people = current.map(|record| Self::open_people(key, owner, &record)).unwrap_or_default();
                let before = people.len();
                people.extend(names.iter().cloned());
                if people.len() == before {
                    return Ok(None);
                }
                let plaintext = rmp_serde::to_vec(&people).map_err(|error| StoreError(error.to_string()))?;
                Ok(Some(key.seal(&Self::people_context(owner), &plaintext)))
            })
            .await?;
        Ok(())
    }

    /// The pipeline step: classifies the memory, prepares its shareable form, and stores it sealed. Storing
    /// the same memory again changes nothing (`stored` is false), so redeliveries are harmless.
    ///
    /// The names it shows to be people's (and its author's and participants') join the owner's people
    /// first, so that a name found here is hidden in every other memory a grantee reads, though nothing
    /// around it there says it is one; and the names known already are hidden in this one.
    pub async fn apply_security(&self, memory: ProcessedMemory) -> Result<SecurityApplied, VaultError> {
        let key = self.data_key(&memory.owner, true).await?.expect("made when missing");
        let known = self.people(&key, &memory.owner).await?;
        let options = DetectOptions::default();
        let findings = pii::find_knowing(&memory.text, &options, &known);
        let (sensitivity, reasons) = classify::classify(&memory.text, &findings);
        let (shareable_text, _) = redact(&memory.text, &findings, &Redaction::Placeholder);
        let mut names = pii::names_of_people(&memory.text, &findings);
        let shareable_title = memory.title.as_ref().map(|title| {
            let findings = pii::find_knowing(title, &options, &known);
            names.extend(pii::names_of_people(title, &findings));
            redact(title, &findings, &Redaction::Placeholder).0
        });
        names.extend(memory.author.iter().chain(&memory.participants).flat_map(|person| pii::names_of_someone(person)));
        let sealed = SealedMemory {
            memory: memory.clone(),
            sensitivity,
            shareable_text: shareable_text.clone(),
            shareable_title,
        };
        let plaintext = rmp_serde::to_vec_named(&sealed).map_err(|error| VaultError::Undecodable(error.to_string()))?;
        let mut record = vec![RECORD_VERSION];
        record.extend(key.seal(&Self::context(&memory.owner, &memory.id), &plaintext));
        // Refused before anything is kept: a memory too large to store teaches no names either.
        let limit = self.store.max_record_bytes();
        if record.len() > limit {
            return Err(VaultError::TooLarge { bytes: record.len(), limit });
        }
        self.learn_people(&key, &memory.owner, &known, names).await?;
        let stored = self.store.create_memory(&owner_token(&memory.owner), &memory.id, record).await?;
        Ok(SecurityApplied { memory_id: memory.id, owner: memory.owner, sensitivity, reasons, stored, shareable_text })
    }

    fn open(key: &DataKey, owner: &str, memory_id: &str, record: &[u8]) -> Result<SealedMemory, VaultError> {
        let (version, sealed) = record.split_first().ok_or(VaultError::Corrupt(CryptoError::Truncated))?;
        if *version != RECORD_VERSION {
            return Err(VaultError::Undecodable(format!("record version {version}")));
        }
        let plaintext = key.open(&Self::context(owner, memory_id), sealed)?;
        rmp_serde::from_slice(&plaintext).map_err(|error| VaultError::Undecodable(error.to_string()))
    }

    async fn audit(
        &self,
        principal: &str,
        owner: &str,
        action: &str,
        memory_id: Option<&str>,
        allowed: bool,
        reason: &str,
    ) -> Result<(), VaultError> {
        let record = AuditRecord {
            at: jiff::Timestamp::now().to_string(),
            principal: principal.to_owned(),
            owner: owner.to_owned(),
            action: action.to_owned(),
            memory_id: memory_id.map(str::to_owned),
            allowed,
            reason: reason.to_owned(),
            agent_id: self.agent_id.clone(),
        };
        self.audit.record(record).await.map_err(VaultError::from)
    }

    /// Decides whether `principal` may read `owner`'s memories (or results derived from them, for `scope`
    /// `derived`), and records the decision.
    async fn authorize(
        &self,
        principal: &str,
        owner: &str,
        scope: Scope,
        action: &str,
        memory_id: Option<&str>,
    ) -> Result<Access, VaultError> {
        named(principal, owner)?;
        if principal == owner {
            self.audit(principal, owner, action, memory_id, true, "owner").await?;
            return Ok(Access::Owner);
        }
        let grant = self.store.grant(&owner_token(owner), &owner_token(principal)).await?;
        let grant: Option<Grant> = grant.and_then(|bytes| rmp_serde::from_slice(&bytes).ok());
        match grant {
            Some(grant) if grant.scopes.contains(&scope) => {
                let reason = format!("grant up to {:?}", grant.max_sensitivity).to_lowercase();
                self.audit(principal, owner, action, memory_id, true, &reason).await?;
                Ok(Access::Grantee { max_sensitivity: grant.max_sensitivity })
            }
            Some(_) => {
                self.audit(principal, owner, action, memory_id, false, "grant does not cover this scope").await?;
                Err(refused(principal, owner, action, scope))
            }
            None => {
                self.audit(principal, owner, action, memory_id, false, "no grant").await?;
                Err(refused(principal, owner, action, scope))
            }
        }
    }

    /// Whether `principal` may read `owner`'s memories or what is derived from them (`scope`), and up to
    /// which sensitivity; recorded like every read.
    pub async fn check_access(&self, principal: &str, owner: &str, scope: Scope) -> Result<AccessDecision, VaultError> {
        let access = self.authorize(principal, owner, scope, "check_access", None).await?;
        let (max_sensitivity, redact) = match access {
            Access::Owner => (Sensitivity::Secret, false),
            Access::Grantee { max_sensitivity } => (max_sensitivity, true),
        };
        Ok(AccessDecision { owner: owner.to_owned(), principal: principal.to_owned(), max_sensitivity, redact })
    }

    /// What `access` sees of a memory. A grantee's view also hides the owner's `people` wherever its
    /// shareable text still names them: it was made before they were known.
    fn view(sealed: SealedMemory, access: &Access, people: &BTreeSet<String>) -> Option<MemoryView> {
        match access {
            Access::Owner => {
                Some(MemoryView { memory: sealed.memory, sensitivity: sealed.sensitivity, redacted: false })
            }
            Access::Grantee { max_sensitivity } if sealed.sensitivity <= *max_sensitivity => {
                let mut memory = sealed.memory;
                memory.text = hide_people(&sealed.shareable_text, people);
                memory.title = sealed.shareable_title.as_deref().map(|title| hide_people(title, people));
                // Its people are personal information as much as the names in its text, and where it came from
                // may name them too (a file's name, a chat's id).
                let stand_in = |name: &String| Redaction::Placeholder.replacement(PiiEntityType::Person, name);
                memory.author = memory.author.as_ref().map(stand_in);
                memory.participants = memory.participants.iter().map(stand_in).collect();
                memory.source = None;
                Some(MemoryView { memory, sensitivity: sealed.sensitivity, redacted: true })
            }
            Access::Grantee { .. } => None,
        }
    }

    pub async fn get(&self, principal: &str, owner: &str, memory_id: &str) -> Result<MemoryView, VaultError> {
        let access = self.authorize(principal, owner, Scope::Memories, "read", Some(memory_id)).await?;
        let not_found = || VaultError::NotFound { owner: owner.to_owned(), memory_id: memory_id.to_owned() };
        let key = self.data_key(owner, false).await?.ok_or_else(not_found)?;
        let record = self.store.memory(&owner_token(owner), memory_id).await?.ok_or_else(not_found)?;
        let people = self.people_for(&key, owner, &access).await?;
        // Above a grantee's level, the memory is as good as absent: its existence is not confirmed.
        Self::view(Self::open(&key, owner, memory_id, &record)?, &access, &people).ok_or_else(not_found)
    }

    /// The memories `principal` may see, newest first, at most `limit`, and how many there are in all.
    pub async fn list(
        &self,
        principal: &str,
        owner: &str,
        limit: usize,
    ) -> Result<(Vec<MemoryView>, usize), VaultError> {
        let access = self.authorize(principal, owner, Scope::Memories, "list", None).await?;
        let mut views = self.visible(owner, &access).await?;
        views.sort_by(|a, b| {
            b.memory.occurred_at.cmp(&a.memory.occurred_at).then_with(|| a.memory.id.cmp(&b.memory.id))
        });
        let total = views.len();
        views.truncate(limit);
        Ok((views, total))
    }

    pub async fn count(&self, principal: &str, owner: &str) -> Result<usize, VaultError> {
        let access = self.authorize(principal, owner, Scope::Memories, "count", None).await?;
        if access == Access::Owner {
            // The owner sees everything: nothing needs opening to be counted.
            return Ok(self.store.memories(&owner_token(owner)).await?.len());
        }
        Ok(self.visible(owner, &access).await?.len())
    }

    /// The owner's people, where `access` needs them hidden.
    async fn people_for(&self, key: &DataKey, owner: &str, access: &Access) -> Result<BTreeSet<String>, VaultError> {
        match access {
            Access::Owner => Ok(BTreeSet::new()),
            Access::Grantee { .. } => self.people(key, owner).await,
        }
    }

    /// Every memory of `owner` that `access` lets through, opened.
    async fn visible(&self, owner: &str, access: &Access) -> Result<Vec<MemoryView>, VaultError> {
        let Some(key) = self.data_key(owner, false).await? else { return Ok(Vec::new()) };
        let people = self.people_for(&key, owner, access).await?;
        let mut views = Vec::new();
        for (id, record) in self.store.memories(&owner_token(owner)).await? {
            if let Some(view) = Self::view(Self::open(&key, owner, &id, &record)?, access, &people) {
                views.push(view);
            }
        }
        Ok(views)
    }

    /// Only the owner grants.
    pub async fn grant(&self, request: &GrantAccessRequest) -> Result<AccessGranted, VaultError> {
        self.owner_only(&request.principal, &request.owner, "grant", None).await?;
        let grant = Grant { max_sensitivity: request.max_sensitivity, scopes: request.scopes.clone() };
        let bytes = rmp_serde::to_vec_named(&grant).map_err(|error| VaultError::Undecodable(error.to_string()))?;
        self.store.put_grant(&owner_token(&request.owner), &owner_token(&request.grantee), bytes).await?;
        Ok(AccessGranted {
            owner: request.owner.clone(),
            grantee: request.grantee.clone(),
            max_sensitivity: request.max_sensitivity,
            scopes: request.scopes.clone(),
        })
    }

    pub async fn revoke(&self, principal: &str, owner: &str, grantee: &str) -> Result<AccessRevoked, VaultError> {
        self.owner_only(principal, owner, "revoke", None).await?;
        let revoked = self.store.delete_grant(&owner_token(owner), &owner_token(grantee)).await?;
        Ok(AccessRevoked { owner: owner.to_owned(), grantee: grantee.to_owned(), revoked })
    }

    async fn owner_only(
        &self,
        principal: &str,
        owner: &str,
        action: &str,
        memory_id: Option<&str>,
    ) -> Result<(), VaultError> {
        named(principal, owner)?;
        let allowed = principal == owner;
        self.audit(principal, owner, action, memory_id, allowed, if allowed { "owner" } else { "only the owner may" })
            .await?;
        if allowed { Ok(()) } else { Err(refused(principal, owner, action, Scope::Memories)) }
    }

    /// The key `requester` (an agent) seals what it derives from `owner`'s memories with, for `purpose`; the
    /// owner's data key is made if they have none yet. Audited like every key handed out.
    pub async fn derive_key(&self, requester: &str, owner: &str, purpose: &str) -> Result<[u8; 32], VaultError> {
        let valid = !purpose.is_empty()
            && purpose.len() <= 64
            && purpose
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || b"_-./".contains(&byte));
        if !valid {
            return Err(VaultError::InvalidPurpose(purpose.to_owned()));
        }
        names_an_owner(owner)?;
        let key = self.data_key(owner, true).await?.ok_or_else(|| StoreError("data key vanished".into()))?;
        self.audit(requester, owner, "derive_key", None, true, purpose).await?;
        Ok(key.derive(purpose, &owner_token(owner)))
    }

    /// Forgets one memory, or everything of the owner: first the data key is destroyed (so that any copy of
    /// their memories, in a backup or a stream not yet compacted, can no longer be read), then the memories
    /// and grants are purged.
    pub async fn forget(&self, principal: &str, owner: &str, memory_id: Option<&str>) -> Result<Forgotten, VaultError> {
        self.owner_only(principal, owner, "forget", memory_id).await?;
        let token = owner_token(owner);
        match memory_id {
            Some(id) => {
                let deleted = self.store.delete_memory(&token, id).await?;
                Ok(Forgotten {
                    owner: owner.to_owned(),
                    memory_id: Some(id.to_owned()),
                    memories_deleted: usize::from(deleted),
                    key_destroyed: false,
                })
            }
            None => {
                let key_destroyed = self.store.destroy_key(&token).await?;
                let memories_deleted = self.store.purge_memories(&token).await?;
                self.store.purge_grants(&token).await?;
                self.store.purge_people(&token).await?;
                Ok(Forgotten { owner: owner.to_owned(), memory_id: None, memories_deleted, key_destroyed })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mneme_protocol::harvester::{DetectedLanguage, QualityAssessment, SourceKind};
    use store::MemoryVaultStore;

    fn vault() -> Vault<MemoryVaultStore, MemoryAudit> {
        let master = MasterKey::from_hex(&"42".repeat(32)).unwrap();
        Vault::new(MemoryVaultStore::default(), MemoryAudit::default(), master, "privacy_guardian_0000abcd")
    }

    fn memory(owner: &str, id: &str, text: &str) -> ProcessedMemory {
        ProcessedMemory {
            id: id.into(),
            owner: owner.into(),
            source: Some("notes/x.md".into()),
            source_kind: SourceKind::Note,
            author: None,
            participants: Vec::new(),
            title: None,
            tags: Vec::new(),
            text: text.into(),
            language: DetectedLanguage { code: "eng".into(), name: "English".into(), confidence: 1.0, reliable: true },
            word_count: 3,
            occurred_at: Some(format!("2024-05-0{}T00:00:00Z", id.len() % 9)),
            processed_at: "2024-05-01T00:00:00Z".into(),
            content_hash: "00".into(),
            quality: QualityAssessment { score: 1.0, acceptable: true, reasons: Vec::new() },
            is_duplicate: false,
            duplicate_of: None,
        }
    }

    #[tokio::test]
    async fn a_rotated_master_key_takes_over_every_data_key_and_forgotten_keys_stay_gone() {
        let old = vault();
        for owner in ["ann", "bob", "cy"] {
            old.apply_security(memory(owner, "m1", "Lunch with Omar Haddad at noon")).await.unwrap();
        }
        old.forget("cy", "cy", None).await.unwrap();
        let Vault { store, audit, master: previous, .. } = old;
        let new_master = MasterKey::from_hex(&"43".repeat(32)).unwrap();

        // Without the previous key the memories stay sealed; with it they open, and open wraps anew.
        let unrotated = Vault::new(store, audit, new_master.clone(), "privacy_guardian_0000abcd");
        assert!(matches!(unrotated.get("ann", "ann", "m1").await, Err(VaultError::Corrupt(_))));
        let Vault { store, audit, .. } = unrotated;
        let rotating = Vault::new(store, audit, new_master.clone(), "privacy_guardian_0000abcd")
            .with_previous_master(Some(previous));
        assert_eq!(rotating.get("ann", "ann", "m1").await.unwrap().memory.text, "Lunch with Omar Haddad at noon");
        let report = rotating.rewrap_keys().await.unwrap();
        assert_eq!(report, KeysRewrapped { rewrapped: 1, current: 1, unreadable: 0 }, "bob's by rewrap, ann's on read");
        assert_eq!(rotating.rewrap_keys().await.unwrap(), KeysRewrapped { rewrapped: 0, current: 2, unreadable: 0 });

        // The previous key retired: everything opens under the new one alone; cy's key did not come back.
        let Vault { store, audit, .. } = rotating;
        let rotated = Vault::new(store, audit, new_master, "privacy_guardian_0000abcd");
        for owner in ["ann", "bob"] {
            assert_eq!(rotated.get(owner, owner, "m1").await.unwrap().memory.text, "Lunch with Omar Haddad at noon");
        }
        assert!(rotated.store.wrapped_key(&owner_token("cy")).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_memory_too_large_to_store_is_refused_and_leaves_nothing() {
        let vault = vault();
        let text = format!("Lunch with Omar Haddad at noon. {}", "Long notes. ".repeat(50_000));
        let refused = vault.apply_security(memory("ann", "m1", &text)).await.unwrap_err();
        assert!(matches!(refused, VaultError::TooLarge { limit, .. } if limit == store::DEFAULT_MAX_RECORD_BYTES));
        assert_eq!(vault.count("ann", "ann").await.unwrap(), 0);
        let key = vault.data_key("ann", false).await.unwrap().unwrap();
        assert!(vault.people(&key, "ann").await.unwrap().is_empty(), "its names are not learned either");
    }

    #[tokio::test]
    async fn stores_once_and_the_owner_reads_it_back() {
        let vault = vault();
        let applied = vault.apply_security(memory("ann", "m1", "Lunch with Omar Haddad at noon")).await.unwrap();
        assert!(applied.stored);
        assert_eq!(applied.sensitivity, Sensitivity::Personal);
        assert_eq!(applied.shareable_text, "Lunch with <PERSON> at noon");
        assert!(!vault.apply_security(memory("ann", "m1", "Lunch with Omar Haddad at noon")).await.unwrap().stored);
        let view = vault.get("ann", "ann", "m1").await.unwrap();
        assert_eq!(view.memory.text, "Lunch with Omar Haddad at noon");
        assert!(!view.redacted);
        assert_eq!(vault.count("ann", "ann").await.unwrap(), 1);
        let stored = vault.store.memory(&owner_token("ann"), "m1").await.unwrap().unwrap();
        assert!(!stored.windows(4).any(|window| window == b"Omar"), "stored sealed");
    }

    #[tokio::test]
    async fn other_owners_are_denied_and_grantees_see_up_to_their_level_redacted() {
        let vault = vault();
        let chat = ProcessedMemory {
            author: Some("Omar Haddad".into()),
            participants: vec!["ann".into(), "lena@example.com".into()],
            ..memory("ann", "m1", "Lunch with Omar Haddad at noon")
        };
        vault.apply_security(chat).await.unwrap();
        vault.apply_security(memory("ann", "m22", "The doctor changed my medication")).await.unwrap();
        vault.apply_security(memory("bob", "m333", "Bob's own note about the garden")).await.unwrap();

        assert!(matches!(vault.get("bob", "ann", "m1").await, Err(VaultError::Forbidden { .. })));
        assert!(matches!(vault.list("bob", "ann", 10).await, Err(VaultError::Forbidden { .. })));
        assert!(matches!(vault.count("bob", "ann").await, Err(VaultError::Forbidden { .. })));
        assert_eq!(vault.list("bob", "bob", 10).await.unwrap().1, 1, "bob sees only his own");

        let grant = GrantAccessRequest {
            principal: "bob".into(),
            owner: "ann".into(),
            grantee: "bob".into(),
            max_sensitivity: Sensitivity::Secret,
            scopes: vec![Scope::Memories],
        };
        assert!(matches!(vault.grant(&grant).await, Err(VaultError::Forbidden { .. })), "only the owner grants");
        vault
            .grant(&GrantAccessRequest { principal: "ann".into(), max_sensitivity: Sensitivity::Personal, ..grant })
            .await
            .unwrap();
        let (views, total) = vault.list("bob", "ann", 10).await.unwrap();
        assert_eq!(total, 1);
        assert_eq!(views[0].memory.text, "Lunch with <PERSON> at noon");
        assert!(views[0].redacted);
        assert_eq!(views[0].memory.author.as_deref(), Some("<PERSON>"));
        assert_eq!(views[0].memory.participants, ["<PERSON>", "<PERSON>"], "its people are no plainer than its text");
        assert_eq!(views[0].memory.source, None, "a locator may name people too");
        assert_eq!(vault.get("ann", "ann", "m1").await.unwrap().memory.author.as_deref(), Some("Omar Haddad"));
        assert!(matches!(vault.get("bob", "ann", "m22").await, Err(VaultError::NotFound { .. })), "above the grant");
        let decision = vault.check_access("bob", "ann", Scope::Memories).await.unwrap();
        assert_eq!((decision.max_sensitivity, decision.redact), (Sensitivity::Personal, true));
        assert!(matches!(vault.check_access("bob", "ann", Scope::Derived).await, Err(VaultError::Forbidden { .. })));
        assert!(!vault.check_access("ann", "ann", Scope::Derived).await.unwrap().redact);
        assert!(vault.revoke("ann", "ann", "bob").await.unwrap().revoked);
        assert!(matches!(vault.list("bob", "ann", 10).await, Err(VaultError::Forbidden { .. })));

        let audit = vault.audit.0.lock().unwrap();
        assert!(audit.iter().any(|record| record.principal == "bob" && record.owner == "ann" && !record.allowed));
        assert!(audit.iter().any(|record| record.action == "grant" && record.allowed));
    }

    #[tokio::test]
    async fn a_request_that_names_nobody_is_a_bad_request_and_a_refusal_says_what_was_refused() {
        let vault = vault();
        assert!(matches!(vault.check_access("", "ann", Scope::Derived).await, Err(VaultError::NoPrincipal)));
        assert!(matches!(vault.check_access("ann", " ", Scope::Derived).await, Err(VaultError::NoOwner)));
        assert!(matches!(vault.forget("ann", "", None).await, Err(VaultError::NoOwner)));
        assert!(matches!(
            vault.derive_key("pattern_analyzer_0a1b2c3d", "", "patterns").await,
            Err(VaultError::NoOwner)
        ));
        assert!(vault.audit.0.lock().unwrap().is_empty(), "nothing was decided, so nothing is recorded");

        let refused = vault.check_access("bob", "ann", Scope::Derived).await.unwrap_err();
        assert_eq!(refused.to_string(), "bob may not read what is derived from memories of ann");
        let refused = vault.check_access("bob", "ann", Scope::Memories).await.unwrap_err();
        assert_eq!(refused.to_string(), "bob may not read memories of ann");
        let refused = vault.list("bob", "ann", 10).await.unwrap_err();
        assert_eq!(refused.to_string(), "bob may not list memories of ann");
    }

    #[tokio::test]
    async fn a_name_found_in_one_memory_is_hidden_in_every_memory_a_grantee_reads() {
        let vault = vault();
        // Nothing in this one says that Tom is someone: alone, his name stays in its shareable form.
        let early = vault.apply_security(memory("ann", "m1", "Tom, finally.")).await.unwrap();
        assert_eq!(early.shareable_text, "Tom, finally.");
        vault.apply_security(memory("ann", "m22", "Lunch with Tom.")).await.unwrap();
        let chat = ProcessedMemory {
            author: Some("Maria Dobos <maria@example.com>".into()),
            ..memory("ann", "m4444", "Dobos here.")
        };
        assert_eq!(vault.apply_security(chat).await.unwrap().shareable_text, "Dobos here.");
        let later = vault.apply_security(memory("ann", "m333", "Tom, again. Maria too.")).await.unwrap();
        assert_eq!(later.shareable_text, "<PERSON>, again. <PERSON> too.");

        let grant = GrantAccessRequest {
            principal: "ann".into(),
            owner: "ann".into(),
            grantee: "bob".into(),
            max_sensitivity: Sensitivity::Personal,
            scopes: vec![Scope::Memories],
        };
        vault.grant(&grant).await.unwrap();
        assert_eq!(vault.get("bob", "ann", "m1").await.unwrap().memory.text, "<PERSON>, finally.");
        assert_eq!(vault.get("bob", "ann", "m4444").await.unwrap().memory.text, "<PERSON> here.");
        let (views, _) = vault.list("bob", "ann", 10).await.unwrap();
        assert!(views.iter().all(|view| !view.memory.text.contains("Tom")), "{views:?}");
        assert_eq!(vault.get("ann", "ann", "m1").await.unwrap().memory.text, "Tom, finally.", "the owner reads all");

        let record = vault.store.people(&owner_token("ann")).await.unwrap().expect("learned");
        vault
            .store
            .update_people(&owner_token("cy"), |_| Ok(Some(b"sealed under a forgotten key".to_vec())))
            .await
            .unwrap();
        let applied = vault.apply_security(memory("cy", "m1", "Lunch with Tom.")).await.unwrap();
        assert_eq!(applied.shareable_text, "Lunch with <PERSON>.", "a record that does not open is started anew");
        assert_eq!(
            vault.apply_security(memory("cy", "m22", "Tom, finally.")).await.unwrap().shareable_text,
            "<PERSON>, finally."
        );
        assert!(!record.windows(3).any(|window| window == b"Tom"), "sealed");
        vault.forget("ann", "ann", None).await.unwrap();
        assert!(vault.store.people(&owner_token("ann")).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn forgetting_destroys_the_key_and_the_memories() {
        let vault = vault();
        vault.apply_security(memory("ann", "m1", "Lunch with Omar Haddad at noon")).await.unwrap();
        vault.apply_security(memory("ann", "m22", "Swam forty lengths")).await.unwrap();
        vault.apply_security(memory("bob", "m333", "Bob's garden")).await.unwrap();

        let one = vault.forget("ann", "ann", Some("m22")).await.unwrap();
        assert_eq!(one.memories_deleted, 1);
        assert_eq!(vault.count("ann", "ann").await.unwrap(), 1);
        assert!(matches!(vault.forget("bob", "ann", None).await, Err(VaultError::Forbidden { .. })));

        let record = vault.store.memory(&owner_token("ann"), "m1").await.unwrap().unwrap();
        let all = vault.forget("ann", "ann", None).await.unwrap();
        assert_eq!((all.memories_deleted, all.key_destroyed), (1, true));
        assert_eq!(vault.count("ann", "ann").await.unwrap(), 0);
        assert!(matches!(vault.get("ann", "ann", "m1").await, Err(VaultError::NotFound { .. })));
        // A copy kept elsewhere no longer opens: the key that sealed it is gone, and a new one differs.
        vault.apply_security(memory("ann", "m4444", "A new start")).await.unwrap();
        let new_key = vault.data_key("ann", false).await.unwrap().unwrap();
        assert!(Vault::<MemoryVaultStore, MemoryAudit>::open(&new_key, "ann", "m1", &record).is_err());
        assert_eq!(vault.count("bob", "bob").await.unwrap(), 1, "other owners untouched");
    }
}
