//! Recognizers for personal information with a shape: addresses on the internet, numbers with checksums,
//! phone numbers, dates. A pattern proposes; a checksum or the context decides.

use std::net::Ipv6Addr;
use std::sync::LazyLock;

use regex::Regex;

use mneme_protocol::guardian::PiiEntityType;

use super::{Finding, before};

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("the recognizers' patterns are valid")
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?i)\b[\p{L}\p{N}][\p{L}\p{N}._%+\-]*@(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+[a-z]{2,24}\b")
});
static URL: LazyLock<Regex> =
    LazyLock::new(|| regex(r#"(?i)\b(?:https?://|ftp://|www\.)[^\s<>"'()\[\]{}]+[^\s<>"'()\[\]{}.,;:!?]"#));
/// A bare domain: labels and a top-level domain among the common ones, so that `e.g.` and `file.txt` stay out.
static DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)\b(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+(?:com|org|net|edu|gov|io|co|info|biz|me|app|dev|ai|uk|de|fr|it|es|nl|be|ch|at|se|no|dk|fi|pl|cz|hu|ru|cn|jp|br|au|ca|us|eu|in|ie|pt|gr|ro|sk|si|hr|is|ee|lv|lt|cy|nz|za|mx|ar)\b",
    )
});
static IPV4: LazyLock<Regex> = LazyLock::new(|| regex(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"));
static IPV6: LazyLock<Regex> = LazyLock::new(|| regex(r"(?i)\b[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}\b"));
/// 12 to 19 digits, alone or in groups split by single spaces or dashes.
static CARD: LazyLock<Regex> = LazyLock::new(|| regex(r"\b\d(?:[ \-]?\d){11,18}\b"));
static IBAN: LazyLock<Regex> = LazyLock::new(|| regex(r"(?i)\b[a-z]{2}\d{2}(?: ?[a-z0-9]){11,30}\b"));
static SSN: LazyLock<Regex> = LazyLock::new(|| regex(r"\b(\d{3})([- ]?)(\d{2})([- ]?)(\d{4})\b"));
static SSN_CONTEXT: LazyLock<Regex> = LazyLock::new(|| regex(r"(?i)\b(?:ssn|social security|social sec)\b"));
/// Digits with the separators phone numbers are written with, optionally after `+` or an opening bracket.
static PHONE: LazyLock<Regex> = LazyLock::new(|| regex(r"(?:\+|\(\+?)?\d[\d().\- \u{a0}/]{4,22}\d\b"));
static PHONE_CONTEXT: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?i)\b(?:phone|tel|telephone|mobile|cell|call|fax|number|text|reach|whatsapp|sms|dial|ring|contact)\b")
});
static DATE: LazyLock<Regex> = LazyLock::new(|| {
    const MONTH: &str = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?";
    let patterns = [
        // ISO 8601 dates and date-times.
        r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b".to_owned(),
        // 31/12/2024, 12.31.24, 31-12-2024
        r"\b\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})\b".to_owned(),
        // May 4, 2023; May 4th; May 2023
        format!(r"(?i)\b{MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?\b"),
        format!(r"(?i)\b{MONTH},?\s+\d{{4}}\b"),
        // 4 May 2023; 4th of May
        format!(r"(?i)\b\d{{1,2}}(?:st|nd|rd|th)?(?:\s+of)?\s+{MONTH}(?:,?\s+\d{{4}})?\b"),
        // Weekdays, capitalized: `monday` in running text is as often a word as a date.
        r"\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b".to_owned(),
        // Clock times.
        r"(?i)\b\d{1,2}:\d{2}(?::\d{2})?(?:\s?[ap]\.?m\.?)?\b".to_owned(),
        r"(?i)\b\d{1,2}\s?[ap]\.?m\.?(?:\W|$)".to_owned(),
    ];
    regex(&patterns.join("|"))
});
/// A month named alone, capitalized, after a word that makes it a time (`in March`, `since May`).
static MONTH_ALONE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"\b(?:in|since|until|till|by|last|next|early|late|mid|this|of|from|through)\s+(January|February|March|April|May|June|July|August|September|October|November|December)\b",
    )
});

/// A year standing alone: a date when a preposition or a bracket says so.
static YEAR: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)(?:\b(?:in|since|from|until|till|by|of|during|around|circa|year|born|before|after|early|late|mid|summer|winter|spring|autumn|fall)\s+|\()((?:19|20)\d{2})s?\b",
    )
});

fn found(kind: PiiEntityType, start: usize, end: usize, score: f64) -> Finding {
    Finding { kind, start, end, score }
}

pub fn recognize(text: &str, findings: &mut Vec<Finding>) {
    for hit in EMAIL.find_iter(text) {
        findings.push(found(PiiEntityType::EmailAddress, hit.start(), hit.end(), 1.0));
    }
    for hit in URL.find_iter(text) {
        findings.push(found(PiiEntityType::Url, hit.start(), hit.end(), 0.95));
    }
    for hit in DOMAIN.find_iter(text) {
        // Part of an e-mail address, which is found as such.
        if text[..hit.start()].ends_with('@') {
            continue;
        }
        findings.push(found(PiiEntityType::DomainName, hit.start(), hit.end(), 0.6));
    }
    ip_addresses(text, findings);
    for hit in CARD.find_iter(text) {
        let digits: Vec<u8> = digits_of(hit.as_str());
        if luhn_valid(&digits) && !is_repetitive(&digits) {
            findings.push(found(PiiEntityType::CreditCard, hit.start(), hit.end(), 1.0));
        }
    }
    for hit in IBAN.find_iter(text) {
        // Written in groups, the pattern may run on into the words after it: the longest prefix that ends
        // at a group and passes the check is the IBAN.
        let candidate = hit.as_str();
        let ends = candidate.match_indices(' ').map(|(at, _)| at).chain([candidate.len()]);
        if let Some(end) = ends.filter(|&end| iban_valid(&candidate[..end])).max() {
            findings.push(found(PiiEntityType::IbanCode, hit.start(), hit.start() + end, 1.0));
        }
    }
    for captures in SSN.captures_iter(text) {
        let whole = captures.get(0).expect("group 0 is the match");
        let (area, group, serial) = (&captures[1], &captures[3], &captures[5]);
        let consistent = captures[2] == captures[4];
        if !consistent || !ssn_valid(area, group, serial) {
            continue;
        }
        let with_context = SSN_CONTEXT.is_match(before(text, whole.start(), 40));
        let separated = !captures[2].is_empty();
        match (separated, with_context) {
            (true, true) | (false, true) => {
                findings.push(found(PiiEntityType::UsSsn, whole.start(), whole.end(), 0.95));
            }
            (true, false) if &captures[2] == "-" => {
                findings.push(found(PiiEntityType::UsSsn, whole.start(), whole.end(), 0.7));
            }
            _ => {}
        }
    }
    phone_numbers(text, findings);
    for hit in DATE.find_iter(text) {
        let matched = hit.as_str().trim_end_matches(|c: char| !c.is_alphanumeric() && c != '.');
        findings.push(found(PiiEntityType::DateTime, hit.start(), hit.start() + matched.len(), 0.85));
    }
    for captures in MONTH_ALONE.captures_iter(text) {
        let month = captures.get(1).expect("the pattern has a month group");
        findings.push(found(PiiEntityType::DateTime, month.start(), month.end(), 0.7));
    }
    for captures in YEAR.captures_iter(text) {
        let year = captures.get(1).expect("the pattern has a year group");
        findings.push(found(PiiEntityType::DateTime, year.start(), year.end(), 0.6));
    }
}

fn ip_addresses(text: &str, findings: &mut Vec<Finding>) {
    for hit in IPV4.find_iter(text) {
        let octets_valid = hit.as_str().split('.').all(|octet| octet.parse::<u8>().is_ok() && octet.len() <= 3);
        // `1.2.3.4.5` is a version or a list, not an address.
        let followed_by_more =
            text[hit.end()..].starts_with('.') && text[hit.end() + 1..].starts_with(|c: char| c.is_ascii_digit());
        if octets_valid && !followed_by_more {
            findings.push(found(PiiEntityType::IpAddress, hit.start(), hit.end(), 0.95));
        }
    }
    for hit in IPV6.find_iter(text) {
        let candidate = hit.as_str();
        if candidate.matches(':').count() >= 2
            && candidate.chars().any(|c| c.is_ascii_hexdigit())
            && candidate.parse::<Ipv6Addr>().is_ok()
            // `10:30:00` is a time.
            && !candidate.split(':').all(|part| part.len() <= 2 && part.chars().all(|c| c.is_ascii_digit()))
        {
            findings.push(found(PiiEntityType::IpAddress, hit.start(), hit.end(), 0.95));
        }
    }
}

fn phone_numbers(text: &str, findings: &mut Vec<Finding>) {
    for hit in PHONE.find_iter(text) {
        let candidate = hit.as_str().trim_end();
        let digits = digits_of(candidate);
        if !(7..=15).contains(&digits.len()) || is_repetitive(&digits) {
            continue;
        }
        let has_plus = candidate.starts_with('+') || candidate.starts_with("(+");
        let groups = candidate.split(|c: char| !c.is_ascii_digit()).filter(|group| !group.is_empty()).count();
        // A run of digits split by one kind of separator in two to five groups, as people write numbers.
        let shaped = (2..=6).contains(&groups);
        // Amounts and versions (`3.14`, `1,000`) are not numbers to dial.
        let dotted_decimal = candidate.contains('.') && groups == 2;
        if dotted_decimal || candidate.contains("  ") {
            continue;
        }
        let context = PHONE_CONTEXT.is_match(before(text, hit.start(), 48));
        let score = match (has_plus, shaped, context) {
            (true, _, _) => 0.85,
            (false, true, true) => 0.85,
            (false, true, false) if digits.len() >= 9 => 0.6,
            (false, true, false) => 0.4,
            (false, false, true) if digits.len() >= 9 => 0.6,
            _ => continue,
        };
        findings.push(found(PiiEntityType::PhoneNumber, hit.start(), hit.start() + candidate.len(), score));
    }
}

fn digits_of(text: &str) -> Vec<u8> {
    text.bytes().filter(u8::is_ascii_digit).map(|digit| digit - b'0').collect()
}

/// `0000 0000 0000` and `1111111111` pass checksums and mean nothing.
fn is_repetitive(digits: &[u8]) -> bool {
    digits.windows(2).all(|pair| pair[0] == pair[1])
}

/// The Luhn checksum of payment card numbers.
pub fn luhn_valid(digits: &[u8]) -> bool {
    if digits.len() < 12 {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(position, &digit)| {
            let digit = u32::from(digit);
            if position % 2 == 1 {
                let doubled = digit * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                digit
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// ISO 13616: the country code and check digits move to the end, letters become numbers, and the whole
/// number modulo 97 is 1.
pub fn iban_valid(candidate: &str) -> bool {
    let compact: Vec<char> = candidate.chars().filter(|c| !c.is_whitespace()).collect();
    if !(15..=34).contains(&compact.len()) || !compact.iter().all(char::is_ascii_alphanumeric) {
        return false;
    }
    let rearranged = compact[4..].iter().chain(&compact[..4]);
    let mut remainder: u32 = 0;
    for character in rearranged {
        let value = match character.to_digit(36) {
            Some(value) => value,
            None => return false,
        };
        for digit in if value >= 10 { vec![value / 10, value % 10] } else { vec![value] } {
            remainder = (remainder * 10 + digit) % 97;
        }
    }
    remainder == 1
}

/// Numbers the Social Security Administration never issues.
fn ssn_valid(area: &str, group: &str, serial: &str) -> bool {
    area != "000" && area != "666" && !area.starts_with('9') && group != "00" && serial != "0000"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(PiiEntityType, String)> {
        let mut findings = Vec::new();
        recognize(text, &mut findings);
        findings.sort_by_key(|finding| finding.start);
        findings.into_iter().map(|finding| (finding.kind, text[finding.start..finding.end].to_owned())).collect()
    }

    #[test]
    fn checksums_decide_cards_and_ibans() {
        assert!(luhn_valid(&digits_of("4111 1111 1111 1111")));
        assert!(!luhn_valid(&digits_of("4111 1111 1111 1112")));
        assert!(iban_valid("GB82 WEST 1234 5698 7654 32"));
        assert!(iban_valid("de89370400440532013000"));
        let spaced = kinds("Paid from NL91 ABNA 0417 1643 00 to Mr. Olsen");
        assert!(spaced.contains(&(PiiEntityType::IbanCode, "NL91 ABNA 0417 1643 00".into())), "{spaced:?}");
        assert!(!iban_valid("GB82 WEST 1234 5698 7654 33"));
        let found = kinds("Card 4111-1111-1111-1111, not 4111-1111-1111-1112; IBAN GB82WEST12345698765432.");
        assert!(found.contains(&(PiiEntityType::CreditCard, "4111-1111-1111-1111".into())));
        assert!(!found.iter().any(|(kind, text)| *kind == PiiEntityType::CreditCard && text.ends_with("1112")));
        assert!(found.contains(&(PiiEntityType::IbanCode, "GB82WEST12345698765432".into())));
    }

    #[test]
    fn internet_addresses() {
        let found = kinds(
            "Mail ana.k@example.co.uk or see https://example.org/a?b=1. Server 10.0.0.12, fe80::1ff:fe23:4567:890a.",
        );
        assert!(found.contains(&(PiiEntityType::EmailAddress, "ana.k@example.co.uk".into())));
        assert!(found.contains(&(PiiEntityType::Url, "https://example.org/a?b=1".into())));
        assert!(found.contains(&(PiiEntityType::IpAddress, "10.0.0.12".into())));
        assert!(found.contains(&(PiiEntityType::IpAddress, "fe80::1ff:fe23:4567:890a".into())));
        assert!(!kinds("at 10:30:00 we met").iter().any(|(kind, _)| *kind == PiiEntityType::IpAddress));
        assert!(!kinds("version 1.2.3.4.5").iter().any(|(kind, _)| *kind == PiiEntityType::IpAddress));
    }

    #[test]
    fn ssns_need_a_valid_shape() {
        assert!(kinds("SSN 123-45-6789").contains(&(PiiEntityType::UsSsn, "123-45-6789".into())));
        assert!(kinds("my social security number is 123456789").iter().any(|(kind, _)| *kind == PiiEntityType::UsSsn));
        assert!(!kinds("ticket 666-12-3456").iter().any(|(kind, _)| *kind == PiiEntityType::UsSsn));
    }

    #[test]
    fn phones_and_dates() {
        let found = kinds("Call me on +44 20 7946 0958 or (602) 272-9781 after 5pm on Thursday, May 4th 2023.");
        assert!(found.contains(&(PiiEntityType::PhoneNumber, "+44 20 7946 0958".into())));
        assert!(found.contains(&(PiiEntityType::PhoneNumber, "(602) 272-9781".into())));
        assert!(found.contains(&(PiiEntityType::DateTime, "Thursday".into())));
        assert!(found.contains(&(PiiEntityType::DateTime, "May 4th 2023".into())));
        assert!(kinds("She moves to Lisbon in March.").contains(&(PiiEntityType::DateTime, "March".into())));
        let text = "It was founded in 1977 and costs 3.50 today; see 2018-01-14 03:07:43.";
        let found = kinds(text);
        assert!(found.contains(&(PiiEntityType::DateTime, "1977".into())));
        assert!(found.contains(&(PiiEntityType::DateTime, "2018-01-14 03:07:43".into())));
        // The phone pattern also takes the date's digits; the date wins.
        let settled = crate::pii::find(text, &crate::pii::DetectOptions::default());
        assert!(!settled.iter().any(|finding| finding.kind == PiiEntityType::PhoneNumber), "{settled:?}");
    }
}
