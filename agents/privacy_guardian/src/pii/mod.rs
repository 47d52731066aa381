//! Finding personal information in text: every recognizer proposes spans, overlaps are settled by how
//! much each kind of evidence is worth, and offsets are turned into Unicode scalar values for the wire.

mod address;
pub mod lexicon;
mod names;
mod structured;

pub use names::names_of_someone;

use std::collections::BTreeSet;

use mneme_protocol::guardian::{PiiEntity, PiiEntityType};

/// A proposed span, in byte offsets of the text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Finding {
    pub kind: PiiEntityType,
    pub start: usize,
    pub end: usize,
    pub score: f64,
}

/// Up to `max_bytes` of the text before byte `at`, cut at a character boundary: the context a recognizer
/// reads for cue words.
pub(crate) fn before(text: &str, at: usize, max_bytes: usize) -> &str {
    let mut from = at.saturating_sub(max_bytes);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    &text[from..at]
}

/// What to look for.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectOptions {
    /// Only these kinds; all when empty.
    pub entity_types: Vec<PiiEntityType>,
    pub min_score: f64,
}

impl Default for DetectOptions {
    fn default() -> Self {
        DetectOptions { entity_types: Vec::new(), min_score: 0.5 }
    }
}

/// Which finding wins where two overlap: checksummed and structural evidence first, a street address over
/// the names inside it, a date over the digits a phone pattern also takes, names last.
fn precedence(kind: PiiEntityType) -> u8 {
    match kind {
        PiiEntityType::EmailAddress
        | PiiEntityType::Url
        | PiiEntityType::IbanCode
        | PiiEntityType::CreditCard
        | PiiEntityType::IpAddress => 0,
        PiiEntityType::UsSsn => 1,
        PiiEntityType::StreetAddress => 2,
        PiiEntityType::DateTime => 3,
        PiiEntityType::PhoneNumber => 4,
        PiiEntityType::DomainName => 5,
        PiiEntityType::Person | PiiEntityType::Location => 6,
        PiiEntityType::Nrp => 7,
    }
}

/// The spans of personal information in `text`, in byte offsets, in order, never overlapping.
pub fn find(text: &str, options: &DetectOptions) -> Vec<Finding> {
    find_knowing(text, options, &BTreeSet::new())
}

/// As [`find`], knowing `people`: names (as written, `Tom`) that other texts of the same owner showed to be
/// people's, and are people's here too wherever they are capitalized.
pub fn find_knowing(text: &str, options: &DetectOptions, people: &BTreeSet<String>) -> Vec<Finding> {
    let mut candidates = Vec::new();
    structured::recognize(text, &mut candidates);
    address::recognize(text, &mut candidates);
    names::recognize(text, people, &mut candidates);
    candidates.retain(|finding| {
        finding.score >= options.min_score
            && finding.end > finding.start
            && (options.entity_types.is_empty() || options.entity_types.contains(&finding.kind))
    });
    candidates.sort_by(|a, b| {
        precedence(a.kind)
            .cmp(&precedence(b.kind))
            .then((b.end - b.start).cmp(&(a.end - a.start)))
            .then(b.score.total_cmp(&a.score))
    });
    let mut accepted: Vec<Finding> = Vec::new();
    for candidate in candidates {
        if accepted.iter().all(|taken| candidate.end <= taken.start || candidate.start >= taken.end) {
            accepted.push(candidate);
        }
    }
    accepted.sort_by_key(|finding| finding.start);
    accepted
}

/// The capitalized words of `text` that are among `people` (`Tom`, and `Tom` of `Tom's`), as persons: what
/// hides known names in a text redacted before they were known.
pub fn known_people(text: &str, people: &BTreeSet<String>) -> Vec<Finding> {
    names::known(text, people)
}

/// The single names that `findings` in `text` show to be people's with confidence (`Omar` and `Haddad` of
/// `Omar Haddad`): what a text teaches about its owner's people.
pub fn names_of_people(text: &str, findings: &[Finding]) -> BTreeSet<String> {
    findings
        .iter()
        .filter(|finding| finding.kind == PiiEntityType::Person && finding.score >= names::CONFIDENT)
        .flat_map(|finding| names::single_names(&text[finding.start..finding.end]))
        .collect()
}

/// The findings as the wire carries them: offsets in Unicode scalar values, with the text they cover.
pub fn detect(text: &str, options: &DetectOptions) -> Vec<PiiEntity> {
    let findings = find(text, options);
    let offsets = CharOffsets::new(text);
    findings
        .into_iter()
        .map(|finding| PiiEntity {
            entity_type: finding.kind,
            start: offsets.of(finding.start),
            end: offsets.of(finding.end),
            score: finding.score,
            text: text[finding.start..finding.end].to_owned(),
        })
        .collect()
}

/// Byte offsets to offsets in Unicode scalar values.
pub struct CharOffsets {
    /// The byte offset of every character, and the text's length last.
    boundaries: Vec<usize>,
}

impl CharOffsets {
    pub fn new(text: &str) -> Self {
        let mut boundaries: Vec<usize> = text.char_indices().map(|(at, _)| at).collect();
        boundaries.push(text.len());
        CharOffsets { boundaries }
    }

    /// The character offset of a byte offset on a character boundary.
    pub fn of(&self, byte: usize) -> usize {
        self.boundaries.partition_point(|&boundary| boundary < byte)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_count_characters_and_spans_do_not_overlap() {
        let text = "Írja Zoltán Kovács: zoltan.kovacs@example.hu, 06 30 123 4567.";
        let entities = detect(text, &DetectOptions::default());
        let email = entities.iter().find(|entity| entity.entity_type == PiiEntityType::EmailAddress).unwrap();
        let characters: Vec<char> = text.chars().collect();
        assert_eq!(characters[email.start..email.end].iter().collect::<String>(), email.text);
        for pair in entities.windows(2) {
            assert!(pair[0].end <= pair[1].start, "{entities:?}");
        }
    }

    #[test]
    fn an_address_wins_over_the_names_inside_it() {
        let text = "Her flat is at 12 Anna Keller Street, Boston, MA 02118.";
        let entities = detect(text, &DetectOptions::default());
        assert_eq!(entities.len(), 1, "{entities:?}");
        assert_eq!(entities[0].entity_type, PiiEntityType::StreetAddress);
    }

    /// Notes of the kind Mneme ingests, written for this test and never used to tune the recognizers.
    #[test]
    fn everyday_notes() {
        let cases: [(&str, &[(PiiEntityType, &str)]); 6] = [
            (
                "Had coffee with Priya Raman downtown. She's moving to Lisbon in March.",
                &[
                    (PiiEntityType::Person, "Priya Raman"),
                    (PiiEntityType::Location, "Lisbon"),
                    (PiiEntityType::DateTime, "March"),
                ],
            ),
            (
                "Dentist moved to 14:30 on 12/03/2024. Dr. Feldman's office: (415) 555-0134.",
                &[
                    (PiiEntityType::DateTime, "14:30"),
                    (PiiEntityType::DateTime, "12/03/2024"),
                    (PiiEntityType::Person, "Feldman"),
                    (PiiEntityType::PhoneNumber, "(415) 555-0134"),
                ],
            ),
            (
                "Paid the deposit from NL91 ABNA 0417 1643 00 to Mr. Henrik Olsen, Bredgade 24, 1260 København K.",
                &[
                    (PiiEntityType::IbanCode, "NL91 ABNA 0417 1643 00"),
                    (PiiEntityType::Person, "Henrik Olsen"),
                    (PiiEntityType::StreetAddress, "Bredgade 24, 1260 København K"),
                ],
            ),
            (
                "Sent the slides to j.okafor@westbridge.io this morning.",
                &[(PiiEntityType::EmailAddress, "j.okafor@westbridge.io")],
            ),
            (
                "Lena: are we still on for tonight?\nMe: yes! 8pm at the usual place",
                &[(PiiEntityType::Person, "Lena"), (PiiEntityType::DateTime, "8pm")],
            ),
            (
                "My new address is 221B Baker Street, London NW1 6XE. The NAS is at 192.168.1.20.",
                &[
                    (PiiEntityType::StreetAddress, "221B Baker Street, London NW1 6XE"),
                    (PiiEntityType::IpAddress, "192.168.1.20"),
                ],
            ),
        ];
        for (text, expected) in cases {
            let found: Vec<(PiiEntityType, String)> = detect(text, &DetectOptions::default())
                .into_iter()
                .map(|entity| (entity.entity_type, entity.text))
                .collect();
            let expected: Vec<(PiiEntityType, String)> =
                expected.iter().map(|(kind, text)| (*kind, (*text).to_owned())).collect();
            assert_eq!(found, expected, "in {text:?}");
        }
        let quiet = "Ran 10k along the river this morning and felt great. The kids loved the new park.";
        assert!(detect(quiet, &DetectOptions::default()).is_empty());
    }

    #[test]
    fn holidays_are_times_not_people() {
        for text in ["Spent Christmas Eve at Grandma's with Lena.", "Easter Sunday lunch with Lena"] {
            let people: Vec<String> = detect(text, &DetectOptions::default())
                .into_iter()
                .filter(|entity| entity.entity_type == PiiEntityType::Person)
                .map(|entity| entity.text)
                .collect();
            assert_eq!(people, ["Lena"], "in {text:?}");
        }
    }

    #[test]
    fn options_filter_types_and_scores() {
        let text = "Mail anna@example.org or call +1 415 555 0100.";
        let only_email = DetectOptions { entity_types: vec![PiiEntityType::EmailAddress], ..DetectOptions::default() };
        let entities = detect(text, &only_email);
        assert_eq!(entities.len(), 1);
        assert_eq!(entities[0].entity_type, PiiEntityType::EmailAddress);
        assert!(detect(text, &DetectOptions { entity_types: vec![], min_score: 1.1 }).is_empty());
    }
}
