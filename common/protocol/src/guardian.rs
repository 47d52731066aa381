//! Payloads of the privacy guardian: finding and redacting personal information, and the vault of
//! memories it keeps encrypted and answers for (storing, reading under access control, grants, forgetting).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::harvester::ProcessedMemory;

pub mod message_types {
    pub const DETECT_PII: &str = "detect_pii";
    pub const PII_DETECTED: &str = "pii_detected";
    pub const REDACT: &str = "redact";
    pub const REDACTED: &str = "redacted";
    /// The pipeline step: classify a processed memory, encrypt it and store it.
    pub const APPLY_SECURITY: &str = "apply_security";
    pub const SECURITY_APPLIED: &str = "security_applied";
    pub const GET_MEMORY: &str = "get_memory";
    pub const MEMORY: &str = "memory";
    pub const LIST_MEMORIES: &str = "list_memories";
    pub const MEMORIES: &str = "memories";
    pub const COUNT_MEMORIES: &str = "count_memories";
    pub const MEMORY_COUNT: &str = "memory_count";
    pub const GRANT_ACCESS: &str = "grant_access";
    pub const ACCESS_GRANTED: &str = "access_granted";
    pub const REVOKE_ACCESS: &str = "revoke_access";
    pub const ACCESS_REVOKED: &str = "access_revoked";
    pub const FORGET: &str = "forget";
    pub const FORGOTTEN: &str = "forgotten";
    /// For agents that serve results derived from memories: may this principal see them?
    pub const CHECK_ACCESS: &str = "check_access";
    pub const ACCESS_DECISION: &str = "access_decision";
    /// For agents that keep state derived from memories: the owner's key for sealing it.
    pub const DERIVE_KEY: &str = "derive_key";
    pub const KEY_DERIVED: &str = "key_derived";
    /// For operators rotating the master key: wrap every owner's data key under the current master key.
    pub const REWRAP_KEYS: &str = "rewrap_keys";
    pub const KEYS_REWRAPPED: &str = "keys_rewrapped";
}

pub mod event_types {
    /// A memory was stored, with [`super::MemoryStoredEvent`].
    pub const MEMORY_STORED: &str = "memory_stored";
    /// Memories were forgotten, with [`super::Forgotten`]: derived state must drop them.
    pub const MEMORY_FORGOTTEN: &str = "memory_forgotten";
}

/// Kinds of personal information, named as Presidio names them so that tools built for it read ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PiiEntityType {
    EmailAddress,
    PhoneNumber,
    /// A card number that passes the Luhn check.
    CreditCard,
    /// An IBAN whose ISO 7064 mod-97 check holds.
    IbanCode,
    UsSsn,
    IpAddress,
    Url,
    /// A bare domain such as `example.org`, without a scheme.
    DomainName,
    Person,
    /// A country, region or city.
    Location,
    StreetAddress,
    DateTime,
    /// A nationality, religious or political group.
    Nrp,
}

impl PiiEntityType {
    pub const ALL: [PiiEntityType; 13] = [
        PiiEntityType::EmailAddress,
        PiiEntityType::PhoneNumber,
        PiiEntityType::CreditCard,
        PiiEntityType::IbanCode,
        PiiEntityType::UsSsn,
        PiiEntityType::IpAddress,
        PiiEntityType::Url,
        PiiEntityType::DomainName,
        PiiEntityType::Person,
        PiiEntityType::Location,
        PiiEntityType::StreetAddress,
        PiiEntityType::DateTime,
        PiiEntityType::Nrp,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            PiiEntityType::EmailAddress => "EMAIL_ADDRESS",
            PiiEntityType::PhoneNumber => "PHONE_NUMBER",
            PiiEntityType::CreditCard => "CREDIT_CARD",
            PiiEntityType::IbanCode => "IBAN_CODE",
            PiiEntityType::UsSsn => "US_SSN",
            PiiEntityType::IpAddress => "IP_ADDRESS",
            PiiEntityType::Url => "URL",
            PiiEntityType::DomainName => "DOMAIN_NAME",
            PiiEntityType::Person => "PERSON",
            PiiEntityType::Location => "LOCATION",
            PiiEntityType::StreetAddress => "STREET_ADDRESS",
            PiiEntityType::DateTime => "DATE_TIME",
            PiiEntityType::Nrp => "NRP",
        }
    }

    /// Looks a type up by its Presidio name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for PiiEntityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `detect_pii`: find personal information in `text`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectPiiRequest {
    pub text: String,
    /// Only these types; all types when absent.
    #[serde(default)]
    pub entity_types: Option<Vec<PiiEntityType>>,
    /// Only findings scoring at least this; the guardian's configured minimum when absent.
    #[serde(default)]
    pub min_score: Option<f64>,
}

/// One finding. Offsets count Unicode scalar values (Python's `str` indices), end exclusive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PiiEntity {
    pub entity_type: PiiEntityType,
    pub start: usize,
    pub end: usize,
    /// Confidence in 0..=1: checksummed and structural matches score high, guesses from capitalization low.
    pub score: f64,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PiiDetected {
    /// In order of `start`; spans never overlap.
    pub entities: Vec<PiiEntity>,
}

/// How `redact` replaces what it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedactionMode {
    /// Every character of the finding becomes `*` (white space is kept, so the text keeps its shape).
    Mask,
    /// The finding becomes its type in angle brackets: `<PERSON>`.
    #[default]
    Placeholder,
    /// The finding becomes a stand-in that is the same every time for the same owner and value (the same
    /// person gets the same made-up name throughout an owner's memories), and cannot be reversed without
    /// the guardian's key.
    Pseudonym,
}

/// `redact`: the text with its personal information replaced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedactRequest {
    pub text: String,
    #[serde(default)]
    pub mode: RedactionMode,
    /// Whose text this is: required for `pseudonym`, whose stand-ins are per owner.
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub entity_types: Option<Vec<PiiEntityType>>,
    #[serde(default)]
    pub min_score: Option<f64>,
}

/// One replacement; `start` and `end` are offsets in the original text, in Unicode scalar values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replacement {
    pub entity_type: PiiEntityType,
    pub start: usize,
    pub end: usize,
    pub score: f64,
    pub replacement: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Redacted {
    pub text: String,
    pub mode: RedactionMode,
    pub replacements: Vec<Replacement>,
}

/// How much harm a memory could do in the wrong hands, in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    /// Nothing about a person: could be published.
    Public,
    /// About people, or naming them: for the owner and those they trust.
    Personal,
    /// Health, money, intimacy, beliefs, conflict, or contact details: for the owner and close grantees.
    Sensitive,
    /// Credentials, card and account numbers, identity numbers: the owner only.
    Secret,
}

/// `apply_security`: a memory as the harvester made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplySecurityRequest {
    pub memory: ProcessedMemory,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityApplied {
    pub memory_id: String,
    pub owner: String,
    pub sensitivity: Sensitivity,
    /// Why: the kinds of personal information and the sensitive topics found.
    pub reasons: Vec<String>,
    /// False when the memory was already stored (a redelivery): nothing changed.
    pub stored: bool,
    /// The text as it may leave the owner's trust boundary (to grantees, to public answers, to an external
    /// model): personal information replaced by placeholders.
    pub shareable_text: String,
}

/// `mneme.event.memory_stored`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryStoredEvent {
    pub memory_id: String,
    pub owner: String,
    pub sensitivity: Sensitivity,
    pub occurred_at: Option<String>,
}

/// Who asks. Reads name the principal: the owner sees everything of theirs; anyone else sees what the owner
/// granted them and nothing more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetMemoryRequest {
    pub principal: String,
    pub owner: String,
    pub memory_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListMemoriesRequest {
    pub principal: String,
    pub owner: String,
    /// At most this many, newest first; 100 when absent.
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountMemoriesRequest {
    pub principal: String,
    pub owner: String,
}

/// A stored memory as a principal may see it. For anyone but the owner, `text` and `title` are the
/// shareable (redacted) forms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryView {
    pub memory: ProcessedMemory,
    pub sensitivity: Sensitivity,
    pub redacted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryReply {
    pub memory: MemoryView,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoriesReply {
    pub memories: Vec<MemoryView>,
    /// How many the principal may see in all.
    pub total: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryCount {
    pub owner: String,
    pub count: usize,
}

/// What a grant lets a grantee read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Memories themselves.
    Memories,
    /// Results derived from memories (patterns, people, insights).
    Derived,
}

/// `grant_access`: only the owner may grant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantAccessRequest {
    pub principal: String,
    pub owner: String,
    pub grantee: String,
    pub max_sensitivity: Sensitivity,
    pub scopes: Vec<Scope>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessGranted {
    pub owner: String,
    pub grantee: String,
    pub max_sensitivity: Sensitivity,
    pub scopes: Vec<Scope>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevokeAccessRequest {
    pub principal: String,
    pub owner: String,
    pub grantee: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessRevoked {
    pub owner: String,
    pub grantee: String,
    /// False when there was no grant to revoke.
    pub revoked: bool,
}

/// `keys_rewrapped`: how the owners' data keys stand after `rewrap_keys` (payload `{}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysRewrapped {
    /// Wrapped anew under the current master key: they were under the previous one.
    pub rewrapped: u64,
    /// Already under the current master key.
    pub current: u64,
    /// Under neither key: their owners' memories cannot be read until the key they were wrapped with is
    /// configured again.
    pub unreadable: u64,
}

/// `forget`: one memory, or (without `memory_id`) everything of the owner. Only the owner may forget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForgetRequest {
    pub principal: String,
    pub owner: String,
    #[serde(default)]
    pub memory_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forgotten {
    pub owner: String,
    /// The memory forgotten, or none when the whole owner was.
    pub memory_id: Option<String>,
    pub memories_deleted: usize,
    /// Whether the owner's data key was destroyed, so that no copy of their memories can be read again.
    pub key_destroyed: bool,
}

/// `check_access`: whether `principal` may read `owner`'s memories or results derived from them (`scope`).
/// The decision is audited like every read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckAccessRequest {
    pub principal: String,
    pub owner: String,
    pub scope: Scope,
}

/// Allowed; denials are answered with a 403 `error_response`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessDecision {
    pub owner: String,
    pub principal: String,
    /// What the principal may see: everything for the owner, else the grant's level.
    pub max_sensitivity: Sensitivity,
    /// Whether what leaves for this principal must be in shareable (redacted) form.
    pub redact: bool,
}

/// `derive_key`: the key an agent seals what it derives from `owner`'s memories with, for `purpose` (the
/// name of its state, e.g. its bucket). Derived from the owner's data key, it is the same for every replica and
/// every call, and dies with the data key when the owner is forgotten.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeriveKeyRequest {
    pub owner: String,
    pub purpose: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyDerived {
    pub owner: String,
    pub purpose: String,
    /// 32 bytes, hex.
    pub key: String,
}

/// One entry of the audit stream (`mneme.audit.<action>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// RFC 3339.
    pub at: String,
    pub principal: String,
    pub owner: String,
    pub action: String,
    #[serde(default)]
    pub memory_id: Option<String>,
    pub allowed: bool,
    pub reason: String,
    /// The instance that decided.
    pub agent_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AgentMessage, Encoding};

    #[test]
    fn entity_types_use_presidio_names_both_ways() {
        for kind in PiiEntityType::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(PiiEntityType::from_name(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn a_redact_request_needs_only_text() {
        let message = AgentMessage::decode(br#"{"payload":{"text":"hi"}}"#, Encoding::Json).unwrap();
        let request: RedactRequest = message.payload_as().unwrap();
        assert_eq!(request.mode, RedactionMode::Placeholder);
        let unknown =
            AgentMessage::decode(br#"{"payload":{"text":"hi","entity_types":["SHOE_SIZE"]}}"#, Encoding::Json)
                .unwrap()
                .payload_as::<RedactRequest>();
        assert!(unknown.is_err());
    }
}
