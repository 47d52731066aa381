//! Replacing personal information: masks, type placeholders, or pseudonyms that stay the same for an owner.

use mneme_protocol::guardian::{PiiEntityType, RedactionMode, Replacement};

use crate::keys::DerivedKey;
use crate::pii::{CharOffsets, Finding, lexicon::lexicon};

/// The purpose under which per-owner pseudonym keys are derived from the master key. Changing it changes
/// every pseudonym ever given.
pub const PSEUDONYM_PURPOSE: &str = "mneme/guardian/pseudonym/v1";

/// How to replace: the mode, and for pseudonyms the owner's key.
#[derive(Debug, Clone)]
pub enum Redaction {
    Mask,
    Placeholder,
    Pseudonym(DerivedKey),
}

impl Redaction {
    pub fn mode(&self) -> RedactionMode {
        match self {
            Redaction::Mask => RedactionMode::Mask,
            Redaction::Placeholder => RedactionMode::Placeholder,
            Redaction::Pseudonym(_) => RedactionMode::Pseudonym,
        }
    }

    pub fn replacement(&self, kind: PiiEntityType, original: &str) -> String {
        match self {
            Redaction::Mask => original.chars().map(|c| if c.is_whitespace() { c } else { '*' }).collect(),
            Redaction::Placeholder => format!("<{kind}>"),
            Redaction::Pseudonym(key) => pseudonym(key, kind, original),
        }
    }
}

/// The same value of the same kind always gets the same stand-in under one key, whatever its case and
/// spacing: `Omar Haddad` and `omar  haddad` are one person.
fn pseudonym(key: &DerivedKey, kind: PiiEntityType, original: &str) -> String {
    let normalized = original.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    let mut message = kind.as_str().as_bytes().to_vec();
    message.push(0);
    message.extend_from_slice(normalized.as_bytes());
    let digest = key.prf(&message);
    let first = u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"));
    let second = u64::from_le_bytes(digest[8..].try_into().expect("8 bytes"));
    match kind {
        // People keep looking like people, so that redacted text still reads naturally.
        PiiEntityType::Person => {
            let lexicon = lexicon();
            if original.split_whitespace().count() > 1 {
                format!("{} {}", lexicon.given_name_at(first), lexicon.surname_at(second))
            } else {
                lexicon.given_name_at(first).to_owned()
            }
        }
        PiiEntityType::EmailAddress => format!("user-{}@example.invalid", hex::encode(&digest[..4])),
        other => format!("{other}_{}", hex::encode(&digest[..4])),
    }
}

/// `text` with each finding replaced, and what was replaced where (offsets in the original text, in
/// Unicode scalar values). `findings` are in byte offsets, in order, not overlapping, as [`crate::pii::find`]
/// returns them.
pub fn redact(text: &str, findings: &[Finding], redaction: &Redaction) -> (String, Vec<Replacement>) {
    let offsets = CharOffsets::new(text);
    let mut redacted = String::with_capacity(text.len());
    let mut replacements = Vec::with_capacity(findings.len());
    let mut copied_up_to = 0;
    for finding in findings {
        let original = &text[finding.start..finding.end];
        let replacement = redaction.replacement(finding.kind, original);
        redacted.push_str(&text[copied_up_to..finding.start]);
        redacted.push_str(&replacement);
        copied_up_to = finding.end;
        replacements.push(Replacement {
            entity_type: finding.kind,
            start: offsets.of(finding.start),
            end: offsets.of(finding.end),
            score: finding.score,
            replacement,
        });
    }
    redacted.push_str(&text[copied_up_to..]);
    (redacted, replacements)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::MasterKey;
    use crate::pii::{DetectOptions, find};

    fn redacted(text: &str, redaction: &Redaction) -> String {
        redact(text, &find(text, &DetectOptions::default()), redaction).0
    }

    fn key(owner: &str) -> Redaction {
        let master = MasterKey::from_hex(&"ab".repeat(32)).unwrap();
        Redaction::Pseudonym(master.derive(PSEUDONYM_PURPOSE, owner))
    }

    #[test]
    fn placeholders_and_masks() {
        let text = "Mail ana@example.org or call +1 415 555 0100.";
        assert_eq!(redacted(text, &Redaction::Placeholder), "Mail <EMAIL_ADDRESS> or call <PHONE_NUMBER>.");
        assert_eq!(redacted(text, &Redaction::Mask), "Mail *************** or call ** *** *** ****.");
    }

    #[test]
    fn pseudonyms_are_consistent_per_owner_and_differ_between_owners() {
        let first = redacted("Dinner with Omar Haddad, then Omar Haddad drove home.", &key("ann"));
        let words: Vec<&str> = first.split(", then ").collect();
        let stand_in = words[0].trim_start_matches("Dinner with ");
        assert!(!first.contains("Omar") && !first.contains("Haddad"), "{first}");
        assert!(words[1].starts_with(stand_in), "{first}");
        assert_eq!(redacted("I met omar haddad.", &key("ann")), format!("I met {stand_in}."));
        assert_ne!(redacted("Dinner with Omar Haddad, then", &key("bob")), format!("Dinner with {stand_in}, then"));
    }

    #[test]
    fn replacements_report_character_offsets() {
        let text = "Zoë mailed zoë@example.org";
        let (_, replacements) = redact(text, &find(text, &DetectOptions::default()), &Redaction::Placeholder);
        let email = replacements.iter().find(|r| r.entity_type == PiiEntityType::EmailAddress).unwrap();
        assert_eq!((email.start, email.end), (11, 26));
    }
}
