//! Payloads of the privacy guardian: `detect_pii` and `redact`.

use std::fmt;

use serde::{Deserialize, Serialize};

pub mod message_types {
    pub const DETECT_PII: &str = "detect_pii";
    pub const PII_DETECTED: &str = "pii_detected";
    pub const REDACT: &str = "redact";
    pub const REDACTED: &str = "redacted";
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
