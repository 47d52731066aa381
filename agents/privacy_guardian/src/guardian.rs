//! The privacy guardian as an agent: `detect_pii` and `redact` over the logic in [`crate::pii`] and
//! [`crate::redact`].

use mneme_protocol::guardian::{
    DetectPiiRequest, PiiDetected, PiiEntityType, RedactRequest, Redacted, RedactionMode, message_types,
};
use mneme_protocol::{AgentCapability, ErrorCode};
use mneme_runtime::{Agent, HandlerError, Reply, Request};

use crate::keys::MasterKey;
use crate::pii::{self, DetectOptions};
use crate::redact::{PSEUDONYM_PURPOSE, Redaction, redact};
use crate::settings::GuardianSettings;

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
}

impl From<GuardianError> for HandlerError {
    fn from(error: GuardianError) -> Self {
        let code = match &error {
            GuardianError::TextTooLong { .. } => ErrorCode::PayloadTooLarge,
            GuardianError::InvalidMinScore(_) | GuardianError::OwnerRequired => ErrorCode::BadRequest,
            GuardianError::NoMasterKey => ErrorCode::Unavailable,
        };
        HandlerError::new(code, error.to_string())
    }
}

/// The guardian's logic and its keys.
#[derive(Debug)]
pub struct Guardian {
    settings: GuardianSettings,
    master_key: Option<MasterKey>,
}

impl Guardian {
    pub fn new(settings: GuardianSettings, master_key: Option<MasterKey>) -> Self {
        Guardian { settings, master_key }
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

    pub fn detect(&self, request: &DetectPiiRequest) -> Result<PiiDetected, GuardianError> {
        let options = self.options(&request.text, request.entity_types.clone(), request.min_score)?;
        Ok(PiiDetected { entities: pii::detect(&request.text, &options) })
    }

    pub fn redact(&self, request: &RedactRequest) -> Result<Redacted, GuardianError> {
        let options = self.options(&request.text, request.entity_types.clone(), request.min_score)?;
        let redaction = match request.mode {
            RedactionMode::Mask => Redaction::Mask,
            RedactionMode::Placeholder => Redaction::Placeholder,
            RedactionMode::Pseudonym => {
                let owner = request.owner.as_deref().map(str::trim).filter(|owner| !owner.is_empty());
                let owner = owner.ok_or(GuardianError::OwnerRequired)?;
                let key = self.master_key.as_ref().ok_or(GuardianError::NoMasterKey)?;
                Redaction::Pseudonym(key.derive(PSEUDONYM_PURPOSE, owner))
            }
        };
        let findings = pii::find(&request.text, &options);
        let (text, replacements) = redact(&request.text, &findings, &redaction);
        Ok(Redacted { text, mode: redaction.mode(), replacements })
    }
}

pub fn capabilities() -> Vec<AgentCapability> {
    vec![
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

impl Agent for Guardian {
    fn description(&self) -> String {
        "Mneme privacy guardian: finds and redacts personal information".to_owned()
    }

    fn capabilities(&self) -> Vec<AgentCapability> {
        capabilities()
    }

    async fn handle(&self, request: Request) -> Result<Reply, HandlerError> {
        match request.message_type() {
            message_types::DETECT_PII => {
                let detected = self.detect(&request.payload()?)?;
                Ok(Reply::new(message_types::PII_DETECTED, detected))
            }
            message_types::REDACT => {
                let redacted = self.redact(&request.payload()?)?;
                Ok(Reply::new(message_types::REDACTED, redacted))
            }
            other => Err(HandlerError::internal(format!("`{other}` is advertised but has no handler"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mneme_protocol::{AgentMessage, Encoding};

    fn guardian(with_key: bool) -> Guardian {
        let key = with_key.then(|| MasterKey::from_hex(&"11".repeat(32)).unwrap());
        Guardian::new(GuardianSettings::default(), key)
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
            .redact(&RedactRequest {
                text: "Call Omar Haddad on +44 20 7946 0958".into(),
                mode: RedactionMode::Pseudonym,
                owner: Some("ann".into()),
                entity_types: None,
                min_score: None,
            })
            .unwrap();
        assert!(!reply.text.contains("Omar") && !reply.text.contains("7946"), "{}", reply.text);
        assert!(reply.text.contains("PHONE_NUMBER_"), "{}", reply.text);
        assert_eq!(reply.replacements.len(), 2);
    }
}
