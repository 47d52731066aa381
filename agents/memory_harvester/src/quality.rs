//! Quality assessment: does a text read as something a person wrote, whole and correctly decoded?
//!
//! The score starts at 1 and loses a fixed share per issue, so that its reasons explain it:
//! too short 0.4, garbage 0.5, encoding damage 0.3. Empty text scores 0.

use unicode_segmentation::UnicodeSegmentation;

use mneme_protocol::harvester::{QualityAssessment, QualityIssue, QualityIssueKind};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityRules {
    /// Fewer words than this is `too_short`.
    pub min_words: usize,
    /// A score at or above this is acceptable.
    pub acceptance_threshold: f64,
}

impl Default for QualityRules {
    fn default() -> Self {
        QualityRules { min_words: 3, acceptance_threshold: 0.5 }
    }
}

const TOO_SHORT_PENALTY: f64 = 0.4;
const GARBAGE_PENALTY: f64 = 0.5;
const ENCODING_PENALTY: f64 = 0.3;

/// Sequences that UTF-8 text takes on when it is decoded as Latin-1 or Windows-1252 and encoded again.
const MOJIBAKE_MARKERS: [&str; 12] = ["Ã©", "Ã¨", "Ã¤", "Ã¶", "Ã¼", "Ã±", "Ã§", "Ã ", "â€™", "â€œ", "â€", "Â "];

/// Assesses `raw` (as received, so that control characters are still visible) and its normalized form.
pub fn assess(raw: &str, normalized: &str, rules: &QualityRules) -> QualityAssessment {
    let mut reasons = Vec::new();
    if normalized.is_empty() {
        reasons
            .push(QualityIssue { kind: QualityIssueKind::Empty, detail: "the input has no visible text".to_owned() });
        return QualityAssessment { score: 0.0, acceptable: false, reasons };
    }
    let mut score: f64 = 1.0;

    let words: Vec<&str> = normalized.unicode_words().collect();
    if words.len() < rules.min_words {
        score -= TOO_SHORT_PENALTY;
        reasons.push(QualityIssue {
            kind: QualityIssueKind::TooShort,
            detail: format!("{} word(s); at least {} are expected", words.len(), rules.min_words),
        });
    }

    if let Some(detail) = garbage(normalized, &words) {
        score -= GARBAGE_PENALTY;
        reasons.push(QualityIssue { kind: QualityIssueKind::Garbage, detail });
    }

    if let Some(detail) = encoding_damage(raw) {
        score -= ENCODING_PENALTY;
        reasons.push(QualityIssue { kind: QualityIssueKind::Encoding, detail });
    }

    let score = score.clamp(0.0, 1.0);
    QualityAssessment { score, acceptable: score >= rules.acceptance_threshold, reasons }
}

fn garbage(text: &str, words: &[&str]) -> Option<String> {
    let visible: Vec<char> = text.chars().filter(|character| !character.is_whitespace()).collect();
    let letters = visible.iter().filter(|character| character.is_alphabetic()).count();
    // Emoji carry meaning in chats, so they count with letters.
    let emoji = visible.iter().filter(|character| is_pictograph(**character)).count();
    let meaningful = (letters + emoji) as f64 / visible.len().max(1) as f64;
    if visible.len() >= 4 && meaningful < 0.5 {
        return Some(format!("only {:.0}% of the visible characters are letters", meaningful * 100.0));
    }

    let longest_repeat = longest_run_of_one_character(&visible);
    if longest_repeat >= 10 {
        return Some(format!("one character repeats {longest_repeat} times in a row"));
    }

    // Keyboard mashing: long Latin words without a vowel, which no European language writes.
    let latin: Vec<&&str> = words
        .iter()
        .filter(|word| word.chars().count() >= 5 && word.chars().all(|character| character.is_ascii_alphabetic()))
        .collect();
    let vowelless =
        latin.iter().filter(|word| !word.chars().any(|character| "aeiouyAEIOUY".contains(character))).count();
    if latin.len() >= 2 && vowelless * 2 > latin.len() {
        return Some(format!("{vowelless} of {} long words have no vowel", latin.len()));
    }
    None
}

fn is_pictograph(character: char) -> bool {
    matches!(character as u32, 0x1F300..=0x1FAFF | 0x2600..=0x27BF)
}

fn longest_run_of_one_character(characters: &[char]) -> usize {
    let mut longest = 0;
    let mut current = 0;
    let mut previous = None;
    for character in characters {
        current = if Some(character) == previous { current + 1 } else { 1 };
        previous = Some(character);
        longest = longest.max(current);
    }
    longest
}

fn encoding_damage(raw: &str) -> Option<String> {
    let replacements = raw.chars().filter(|character| *character == '\u{fffd}').count();
    if replacements > 0 {
        return Some(format!("{replacements} replacement character(s) (U+FFFD): bytes were lost in decoding"));
    }
    if let Some(marker) = MOJIBAKE_MARKERS.iter().find(|marker| raw.contains(**marker)) {
        return Some(format!("`{marker}` looks like UTF-8 read as Latin-1 (mojibake)"));
    }
    let controls =
        raw.chars().filter(|character| character.is_control() && !matches!(character, '\n' | '\r' | '\t')).count();
    if controls > 0 {
        return Some(format!("{controls} control character(s) removed"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::normalize;

    fn check(raw: &str) -> QualityAssessment {
        assess(raw, &normalize(raw), &QualityRules::default())
    }

    fn kinds(assessment: &QualityAssessment) -> Vec<QualityIssueKind> {
        assessment.reasons.iter().map(|reason| reason.kind).collect()
    }

    #[test]
    fn ordinary_writing_is_clean_in_any_script() {
        for text in [
            "Walked along the river with Anna after work; the light was beautiful.",
            "Heute war ein langer Tag, aber das Abendessen mit Oma war schön.",
            "今日は友達と公園で散歩しました。とても楽しかったです。",
            "Finally finished the book 🎉🎉 so good!",
        ] {
            let assessment = check(text);
            assert_eq!(assessment.score, 1.0, "{text}: {:?}", assessment.reasons);
            assert!(assessment.acceptable);
        }
    }

    #[test]
    fn empty_input_scores_zero() {
        let assessment = check("   \n ");
        assert_eq!(assessment.score, 0.0);
        assert_eq!(kinds(&assessment), [QualityIssueKind::Empty]);
    }

    #[test]
    fn a_word_or_two_is_too_short_but_still_acceptable() {
        let assessment = check("Dentist tomorrow");
        assert_eq!(kinds(&assessment), [QualityIssueKind::TooShort]);
        assert!((assessment.score - 0.6).abs() < 1e-9);
        assert!(assessment.acceptable);
    }

    #[test]
    fn garbage_is_recognized() {
        for text in ["#### $$$$ %%%% &&&& ****", "aaaaaaaaaaaaaaaaaaaa", "asdfgh qwrtzp sdfghjk xcvbnm lkjhg"] {
            assert!(kinds(&check(text)).contains(&QualityIssueKind::Garbage), "{text}");
        }
        assert!(!check("#### $$$$ %%%% &&&& ****").acceptable);
    }

    #[test]
    fn encoding_damage_is_recognized() {
        for text in [
            "We met at the cafÃ© near the station today",
            "Lost bytes \u{fffd}\u{fffd} in the middle of this note",
            "bell\u{0007} inside a normal sentence here",
        ] {
            assert_eq!(kinds(&check(text)), [QualityIssueKind::Encoding], "{text}");
        }
    }
}
