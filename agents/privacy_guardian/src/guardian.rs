//! The privacy guardian as an agent: finding and redacting personal information ([`crate::pii`],
//! [`crate::redact`]), and the vault of memories ([`crate::vault`]).

use std::collections::BTreeSet;

use mneme_protocol::guardian::{
    ApplySecurityRequest, CheckAccessRequest, CountMemoriesRequest, DeriveKeyRequest, DetectPiiRequest, ForgetRequest,
    GetMemoryRequest, GrantAccessRequest, KeyDerived, ListMemoriesRequest, MemoriesReply, MemoryCount, MemoryReply,
    MemoryStoredEvent, PiiDetected, PiiEntityType, RedactRequest, Redacted, RedactionMode, RevokeAccessRequest,
    event_types, message_types,
};
use mneme_protocol::{AgentCapability, ErrorCode};
use mneme_runtime::events::Audience;
use mneme_runtime::pool::CpuPool;
use mneme_runtime::{Agent, Context, HandlerError, Reply, Request};

use crate::keys::MasterKey;
use crate::pii::{self, DetectOptions};
use crate::redact::{PSEUDONYM_PURPOSE, Redaction, redact};
use crate::settings::GuardianSettings;
use crate::vault::store::VaultStore;
use crate::vault::{AuditSink, Vault, VaultError};

/// The most memories one `list_memories` answers with.
const MAX_LIST: usize = 1_000;

impl From<VaultError> for HandlerError {
    fn from(error: VaultError) -> Self {
        let code = match &error {
            VaultError::Forbidden { .. } => ErrorCode::Forbidden,
            VaultError::NotFound { .. } => ErrorCode::NotFound,
            VaultError::NoPrincipal | VaultError::NoOwner | VaultError::InvalidPurpose(_) => ErrorCode::BadRequest,
            VaultError::Corrupt(_) | VaultError::Undecodable(_) => ErrorCode::Internal,
            VaultError::TooLarge { .. } => ErrorCode::PayloadTooLarge,
            VaultError::Store(_) => ErrorCode::Unavailable,
        };
        HandlerError::new(code, error.to_string())
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GuardianError {
    #[error("text of {size} bytes exceeds the limit of {limit} bytes")]
    TextTooLong { size: usize, limit: usize },
    #[error("min_score must lie in 0..=1, not {0}")]
    InvalidMinScore(f64),
    #[error("pseudonym mode needs an `owner`: pseudonyms are per owner")]
    OwnerRequired,
    #[error("pseudonym mode needs a master key, and none is configured (guardian.master_key_file)")]
    NoMasterKey,
    #[error("the vault needs a master key, and none is configured (guardian.master_key_file)")]
    NoVault,
}

impl From<GuardianError> for HandlerError {
    fn from(error: GuardianError) -> Self {
        let code = match &error {
            GuardianError::TextTooLong { .. } => ErrorCode::PayloadTooLarge,
            GuardianError::InvalidMinScore(_) | GuardianError::OwnerRequired => ErrorCode::BadRequest,
            GuardianError::NoMasterKey | GuardianError::NoVault => ErrorCode::Unavailable,
        };
        HandlerError::new(code, error.to_string())
    }
}

/// The guardian's logic, its keys, and its vault (present when a master key is configured).
#[derive(Debug)]
pub struct Guardian<S, A> {
    settings: GuardianSettings,
    master_key: Option<MasterKey>,
    vault: Option<Vault<S, A>>,
    /// Where events go; none in tests without NATS.
    context: Option<Context>,
    /// Where detection in long texts runs, off the async workers.
    pool: CpuPool,
}

impl<S: VaultStore, A: AuditSink> Guardian<S, A> {
    pub fn new(
        settings: GuardianSettings,
        master_key: Option<MasterKey>,
        vault: Option<Vault<S, A>>,
        context: Option<Context>,
    ) -> Self {
        let pool = context.as_ref().map_or_else(CpuPool::default, Context::cpu_pool);
        Guardian { settings, master_key, vault, context, pool }
    }

    fn vault(&self) -> Result<&Vault<S, A>, GuardianError> {
        self.vault.as_ref().ok_or(GuardianError::NoVault)
    }

    async fn announce<P: serde::Serialize>(&self, event_type: &str, payload: &P) {
        if let Some(context) = &self.context
            && let Err(error) = context.publish_event(event_type, payload, &Audience::Everyone).await
        {
            tracing::warn!(%error, event_type, "Event not published.");
        }
    }

    fn options(
        &self,
        text: &str,
        entity_types: Option<Vec<PiiEntityType>>,
        min_score: Option<f64>,
    ) -> Result<DetectOptions, GuardianError> {
        if text.len() > self.settings.max_text_bytes {
            return Err(GuardianError::TextTooLong { size: text.len(), limit: self.settings.max_text_bytes });
        }
        let min_score = min_score.unwrap_or(self.settings.min_score);
        if !(0.0..=1.0).contains(&min_score) {
            return Err(GuardianError::InvalidMinScore(min_score));
        }
        Ok(DetectOptions { entity_types: entity_types.unwrap_or_default(), min_score })
    }

    pub async fn detect(&self, request: DetectPiiRequest) -> Result<PiiDetected, HandlerError> {
        let options = self.options(&request.text, request.entity_types.clone(), request.min_score)?;
        let text = request.text;
        let entities = self.pool.run(text.len(), move || pii::detect(&text, &options)).await?;
        Ok(PiiDetected { entities })
    }

    pub async fn redact(&self, request: RedactRequest) -> Result<Redacted, HandlerError> {
        let options = self.options(&request.text, request.entity_types.clone(), request.min_score)?;
        let owner = request.owner.as_deref().map(str::trim).filter(|owner| !owner.is_empty());
        let redaction = match request.mode {
            RedactionMode::Mask => Redaction::Mask,
            RedactionMode::Placeholder => Redaction::Placeholder,
            RedactionMode::Pseudonym => {
                let owner = owner.ok_or(GuardianError::OwnerRequired)?;
                let key = self.master_key.as_ref().ok_or(GuardianError::NoMasterKey)?;
                Redaction::Pseudonym(key.derive(PSEUDONYM_PURPOSE, owner))
            }
        };
        let mode = redaction.mode();
        // Text of an owner's is redacted as their stored memories are: with the people they are known to name.
        let known = match (&self.vault, owner) {
            (Some(vault), Some(owner)) => vault.known_people(owner).await?,
            _ => BTreeSet::new(),
        };
        let original = request.text;
        let (text, replacements) = self
            .pool
            .run(original.len(), move || {
                let findings = pii::find_knowing(&original, &options, &known);
                redact(&original, &findings, &redaction)
            })
            .await?;
        Ok(Redacted { text, mode, replacements })
    }
}

pub fn capabilities() -> Vec<AgentCapability> {
    let vault = |name: &str, description: &str, output: &str| {
        AgentCapability::new(name, description, &["principal", "owner"], &[output])
    };
    vec![
        AgentCapability::new(
            message_types::APPLY_SECURITY,
            "Classifies a processed memory's sensitivity, prepares its shareable form, and stores it encrypted",
            &["processed_memory"],
            &[message_types::SECURITY_APPLIED],
        )
        .with_dependencies(&["memory_harvester"]),
        vault(message_types::GET_MEMORY, "One memory, as the principal may see it", message_types::MEMORY),
        vault(
            message_types::LIST_MEMORIES,
            "An owner's memories, as the principal may see them",
            message_types::MEMORIES,
        ),
        vault(message_types::COUNT_MEMORIES, "How many memories the principal may see", message_types::MEMORY_COUNT),
        vault(
            message_types::GRANT_ACCESS,
            "The owner lets a grantee read up to a sensitivity",
            message_types::ACCESS_GRANTED,
        ),
        vault(message_types::REVOKE_ACCESS, "The owner takes a grant back", message_types::ACCESS_REVOKED),
        vault(
            message_types::FORGET,
            "Forgets one memory, or everything of an owner (crypto-shredding)",
            message_types::FORGOTTEN,
        ),
        vault(
            message_types::REWRAP_KEYS,
            "Wraps every owner's data key under the current master key, after a rotation",
            message_types::KEYS_REWRAPPED,
        ),
        vault(
            message_types::CHECK_ACCESS,
            "Whether a principal may read an owner's memories or results derived from them, and up to which sensitivity",
            message_types::ACCESS_DECISION,
        ),
        AgentCapability::new(
            message_types::DERIVE_KEY,
            "The key an agent seals what it derives from an owner's memories with; it dies when the owner is forgotten",
            &["owner", "purpose"],
            &[message_types::KEY_DERIVED],
        ),
        AgentCapability::new(
            message_types::DETECT_PII,
            "Finds personal information (names, places, addresses, contact details, card and account numbers, \
             identity numbers, dates) with character offsets and a confidence",
            &["text"],
            &[message_types::PII_DETECTED],
        ),
        AgentCapability::new(
            message_types::REDACT,
            "Replaces personal information with masks, type placeholders or per-owner pseudonyms",
            &["text"],
            &[message_types::REDACTED],
        ),
    ]
}

impl<S: VaultStore, A: AuditSink> Agent for Guardian<S, A> {
    fn description(&self) -> String {
        "Mneme privacy guardian: finds and redacts personal information; keeps memories sealed, read as their owners grant".to_owned()
    }

    fn capabilities(&self) -> Vec<AgentCapability> {
        capabilities()
    }

    async fn handle(&self, request: Request) -> Result<Reply, HandlerError> {
        match request.message_type() {
            message_types::DETECT_PII => {
                let detected = self.detect(request.payload()?).await?;
                Ok(Reply::new(message_types::PII_DETECTED, detected))
            }
            message_types::REDACT => {
                let redacted = self.redact(request.payload()?).await?;
                Ok(Reply::new(message_types::REDACTED, redacted))
            }
            message_types::APPLY_SECURITY => {
                let input: ApplySecurityRequest = request.payload()?;
                let occurred_at = input.memory.occurred_at.clone();
                let applied = self.vault()?.apply_security(input.memory).await?;
                if applied.stored {
                    let event = MemoryStoredEvent {
                        memory_id: applied.memory_id.clone(),
                        owner: applied.owner.clone(),
                        sensitivity: applied.sensitivity,
                        occurred_at,
                    };
                    self.announce(event_types::MEMORY_STORED, &event).await;
                }
                Ok(Reply::new(message_types::SECURITY_APPLIED, applied))
            }
            message_types::GET_MEMORY => {
                let input: GetMemoryRequest = request.payload()?;
                let memory = self.vault()?.get(&input.principal, &input.owner, &input.memory_id).await?;
                Ok(Reply::new(message_types::MEMORY, MemoryReply { memory }))
            }
            message_types::LIST_MEMORIES => {
                let input: ListMemoriesRequest = request.payload()?;
                let limit = input.limit.unwrap_or(100).min(MAX_LIST);
                let (memories, total) = self.vault()?.list(&input.principal, &input.owner, limit).await?;
                Ok(Reply::new(message_types::MEMORIES, MemoriesReply { memories, total }))
            }
            message_types::COUNT_MEMORIES => {
                let input: CountMemoriesRequest = request.payload()?;
                let count = self.vault()?.count(&input.principal, &input.owner).await?;
                Ok(Reply::new(message_types::MEMORY_COUNT, MemoryCount { owner: input.owner, count }))
            }
            message_types::GRANT_ACCESS => {
                let input: GrantAccessRequest = request.payload()?;
                Ok(Reply::new(message_types::ACCESS_GRANTED, self.vault()?.grant(&input).await?))
            }
            message_types::REVOKE_ACCESS => {
                let input: RevokeAccessRequest = request.payload()?;
                let revoked = self.vault()?.revoke(&input.principal, &input.owner, &input.grantee).await?;
                Ok(Reply::new(message_types::ACCESS_REVOKED, revoked))
            }
            message_types::CHECK_ACCESS => {
                let input: CheckAccessRequest = request.payload()?;
                let decision = self.vault()?.check_access(&input.principal, &input.owner, input.scope).await?;
                Ok(Reply::new(message_types::ACCESS_DECISION, decision))
            }
            message_types::DERIVE_KEY => {
                let input: DeriveKeyRequest = request.payload()?;
                let requester = request.message.sender_id.clone();
                let key = self.vault()?.derive_key(&requester, &input.owner, &input.purpose).await?;
                let derived = KeyDerived { owner: input.owner, purpose: input.purpose, key: hex::encode(key) };
                Ok(Reply::new(message_types::KEY_DERIVED, derived))
            }
            message_types::REWRAP_KEYS => {
                let rewrapped = self.vault()?.rewrap_keys().await?;
                Ok(Reply::new(message_types::KEYS_REWRAPPED, rewrapped))
            }
            message_types::FORGET => {
                let input: ForgetRequest = request.payload()?;
                let forgotten =
                    self.vault()?.forget(&input.principal, &input.owner, input.memory_id.as_deref()).await?;
                self.announce(event_types::MEMORY_FORGOTTEN, &forgotten).await;
                Ok(Reply::new(message_types::FORGOTTEN, forgotten))
            }
            other => Err(HandlerError::unhandled(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::MemoryAudit;
    use crate::vault::store::MemoryVaultStore;
    use mneme_protocol::{AgentMessage, Encoding};

    type TestGuardian = Guardian<MemoryVaultStore, MemoryAudit>;

    fn guardian(with_key: bool) -> TestGuardian {
        let key = with_key.then(|| MasterKey::from_hex(&"11".repeat(32)).unwrap());
        let vault = key.clone().map(|key| {
            Vault::new(MemoryVaultStore::default(), MemoryAudit::default(), key, "privacy_guardian_0000abcd")
        });
        Guardian::new(GuardianSettings::default(), key, vault, None)
    }

    fn request(message_type: &str, payload: serde_json::Value) -> Request {
        let mut message = AgentMessage::new(message_type, payload);
        message.message_type = message_type.to_owned();
        Request { message, encoding: Encoding::MessagePack }
    }

    #[tokio::test]
    async fn detect_pii_answers_with_entities() {
        let reply = guardian(false)
            .handle(request("detect_pii", serde_json::json!({"text": "Write to sam@example.com"})))
            .await
            .unwrap();
        assert_eq!(reply.message_type, "pii_detected");
        let tree = reply.payload_tree().unwrap();
        assert_eq!(tree["entities"][0]["entity_type"], "EMAIL_ADDRESS");
        assert_eq!(tree["entities"][0]["start"], 9);
    }

    #[tokio::test]
    async fn bad_requests_are_typed_errors() {
        let guardian = guardian(false);
        let wrong_type = guardian.handle(request("detect_pii", serde_json::json!({"text": 5}))).await.unwrap_err();
        assert_eq!(wrong_type.code, ErrorCode::BadRequest);
        let score =
            guardian.handle(request("redact", serde_json::json!({"text": "x", "min_score": 3.0}))).await.unwrap_err();
        assert_eq!(score.code, ErrorCode::BadRequest);
        let no_owner = guardian
            .handle(request("redact", serde_json::json!({"text": "x", "mode": "pseudonym"})))
            .await
            .unwrap_err();
        assert_eq!(no_owner.code, ErrorCode::BadRequest);
        let no_key = guardian
            .handle(request("redact", serde_json::json!({"text": "x", "mode": "pseudonym", "owner": "ann"})))
            .await
            .unwrap_err();
        assert_eq!(no_key.code, ErrorCode::Unavailable);
        let huge = "a".repeat(GuardianSettings::default().max_text_bytes + 1);
        let too_long = guardian.handle(request("detect_pii", serde_json::json!({"text": huge}))).await.unwrap_err();
        assert_eq!(too_long.code, ErrorCode::PayloadTooLarge);
    }

    #[tokio::test]
    async fn pseudonyms_with_a_key() {
        let reply = guardian(true)
            .redact(RedactRequest {
                text: "Call Omar Haddad on +44 20 7946 0958".into(),
                mode: RedactionMode::Pseudonym,
                owner: Some("ann".into()),
                entity_types: None,
                min_score: None,
            })
            .await
            .unwrap();
        assert!(!reply.text.contains("Omar") && !reply.text.contains("7946"), "{}", reply.text);
        assert!(reply.text.contains("PHONE_NUMBER_"), "{}", reply.text);
        assert_eq!(reply.replacements.len(), 2);
    }

    #[tokio::test]
    async fn an_owners_text_is_redacted_with_the_people_their_memories_name() {
        let guardian = guardian(true);
        let memory = serde_json::json!({
            "id": "m1", "owner": "ann", "source": null, "text": "Lunch with Tom at the canal cafe.",
            "author": null, "participants": [], "word_count": 7, "occurred_at": "2024-05-06T12:00:00Z",
            "language": {"code": "eng", "name": "English", "confidence": 1.0, "reliable": true},
            "processed_at": "2024-05-06T12:00:00Z", "content_hash": "00",
            "quality": {"score": 1.0, "acceptable": true, "reasons": []}, "is_duplicate": false, "duplicate_of": null
        });
        guardian.handle(request("apply_security", serde_json::json!({"memory": memory}))).await.unwrap();
        let redacted = |owner: Option<&str>| {
            guardian.redact(RedactRequest {
                text: "Tom, finally.".into(),
                mode: RedactionMode::Placeholder,
                owner: owner.map(str::to_owned),
                entity_types: None,
                min_score: None,
            })
        };
        assert_eq!(redacted(Some("ann")).await.unwrap().text, "<PERSON>, finally.");
        assert_eq!(redacted(None).await.unwrap().text, "Tom, finally.", "nothing says Tom is anyone");
        assert_eq!(redacted(Some("bob")).await.unwrap().text, "Tom, finally.", "Tom is ann's, not bob's");
    }
}
