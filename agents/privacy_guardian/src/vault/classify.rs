//! How sensitive a memory is: from the personal information in it and the topics it touches.

use std::sync::LazyLock;

use regex::Regex;

use mneme_protocol::guardian::{PiiEntityType, Sensitivity};

use crate::pii::Finding;

/// Topics whose mention makes a memory sensitive, each with the words that signal it.
const TOPICS: [(&str, &str); 7] = [
    (
        "health",
        r"doctor|dentist|diagnos\w*|therap\w*|therapist|medication|medicine|prescri\w*|hospital|clinic|surgery|symptom\w*|illness|disease|cancer|diabet\w*|depress\w*|anxiety|panic attack|pregnan\w*|miscarriage|blood test|mri|antidepressant|psychiatr\w*|migraine|infection|allerg\w*",
    ),
    (
        "finance",
        r"salary|debt|loan|mortgage|overdraft|bankrupt\w*|tax(?:es)?|invest\w*|savings|credit score|pay ?rise|bonus|rent arrears|bank account|pension|income",
    ),
    ("intimacy", r"sex|sexual|intimate|affair|dating app|breakup|broke up|divorce|cheat\w*"),
    (
        "beliefs",
        r"religio\w*|church|mosque|synagogue|temple|pray\w*|faith|vot(?:e|ed|ing) for|political party|union member\w*",
    ),
    ("legal", r"lawyer|attorney|lawsuit|court|arrest\w*|police|custody|visa|immigration|criminal record"),
    ("conflict", r"argu(?:e|ed|ment)|fight|fought|yell\w*|abus\w*|harass\w*|threat\w*"),
    ("identity", r"gay|lesbian|bisexual|transgender|queer|coming out|ethnicity|disabilit\w*"),
];

static TOPIC_PATTERNS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    TOPICS
        .iter()
        .map(|(topic, words)| (*topic, Regex::new(&format!(r"(?i)\b(?:{words})\b")).expect("valid topic patterns")))
        .collect()
});

/// Credentials written down: `password: hunter2`, `the PIN is 4821`, an API key.
static CREDENTIALS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:password|passcode|passphrase|pin(?: code)?|api[ _-]?key|secret key|access token|private key|recovery (?:code|phrase)|seed phrase)\b\s*(?:is|:|=)")
        .expect("a valid pattern")
});

static FIRST_PERSON: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:i|i'm|i've|me|my|mine|we|our|us)\b").expect("a valid pattern"));

/// The memory's sensitivity and the reasons for it.
pub fn classify(text: &str, findings: &[Finding]) -> (Sensitivity, Vec<String>) {
    let mut reasons: Vec<String> = Vec::new();
    let mut level = Sensitivity::Public;
    let mut raise = |to: Sensitivity, reason: String, reasons: &mut Vec<String>| {
        level = level.max(to);
        if !reasons.contains(&reason) {
            reasons.push(reason);
        }
    };
    for finding in findings {
        let to = match finding.kind {
            PiiEntityType::CreditCard | PiiEntityType::IbanCode | PiiEntityType::UsSsn => Sensitivity::Secret,
            PiiEntityType::EmailAddress
            | PiiEntityType::PhoneNumber
            | PiiEntityType::StreetAddress
            | PiiEntityType::IpAddress => Sensitivity::Sensitive,
            PiiEntityType::Person | PiiEntityType::Location | PiiEntityType::Nrp => Sensitivity::Personal,
            PiiEntityType::DateTime | PiiEntityType::Url | PiiEntityType::DomainName => continue,
        };
        raise(to, finding.kind.as_str().to_owned(), &mut reasons);
    }
    if CREDENTIALS.is_match(text) {
        raise(Sensitivity::Secret, "credentials".to_owned(), &mut reasons);
    }
    for (topic, pattern) in TOPIC_PATTERNS.iter() {
        if pattern.is_match(text) {
            raise(Sensitivity::Sensitive, format!("topic:{topic}"), &mut reasons);
        }
    }
    if FIRST_PERSON.is_match(text) {
        raise(Sensitivity::Personal, "first_person".to_owned(), &mut reasons);
    }
    (level, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pii::{DetectOptions, find};

    fn level(text: &str) -> (Sensitivity, Vec<String>) {
        classify(text, &find(text, &DetectOptions::default()))
    }

    #[test]
    fn levels_rise_with_what_is_at_stake() {
        assert_eq!(level("The library opens at nine on weekdays.").0, Sensitivity::Public);
        assert_eq!(level("Lunch with Omar Haddad was lovely.").0, Sensitivity::Personal);
        assert_eq!(level("I slept badly.").0, Sensitivity::Personal);
        let (sensitivity, reasons) = level("The doctor changed my medication again.");
        assert_eq!(sensitivity, Sensitivity::Sensitive);
        assert!(reasons.contains(&"topic:health".to_owned()), "{reasons:?}");
        assert_eq!(level("Omar's number is +44 20 7946 0958").0, Sensitivity::Sensitive);
        assert_eq!(level("New card 4111 1111 1111 1111 arrived").0, Sensitivity::Secret);
        assert_eq!(level("wifi password: correct-horse").0, Sensitivity::Secret);
    }
}
