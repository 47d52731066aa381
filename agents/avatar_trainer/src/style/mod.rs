//! What one text shows of its writer's style: sentences and their length, words, phrases, emoji, punctuation
//! and capitals, counted so that samples add up into a model ([`crate::model`]).

pub mod lexicon;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use unicode_segmentation::UnicodeSegmentation;

use lexicon::{ENGLISH, LONG_WORD_LETTERS, PREPOSITIONS};

/// What is kept of one memory the owner wrote: counts, never the text in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StyleSample {
    pub occurred_at: Option<String>,
    pub words: u32,
    pub sentences: u32,
    /// Sum of the squares of the sentences' lengths in words, for their spread.
    pub sentence_words_squared: u64,
    pub short_sentences: u32,
    pub long_sentences: u32,
    pub exclamations: u32,
    pub questions: u32,
    pub ellipses: u32,
    pub commas: u32,
    pub all_caps: u32,
    pub lowercase_starts: u32,
    pub contractions: u32,
    pub long_words: u32,
    /// Every word, lower case.
    pub word_counts: BTreeMap<String, u32>,
    /// Words written with a capital inside a sentence: names, mostly.
    pub capitalized: BTreeMap<String, u32>,
    /// Two- and three-word sequences within a sentence that could be a habit of speech (see [`is_phrase`]).
    pub phrases: BTreeMap<String, u32>,
    /// Emoji and emoticons.
    pub marks: BTreeMap<String, u32>,
    /// Compound sentiment, -1..1, when it was scored.
    pub sentiment: Option<f64>,
}

impl mneme_runtime::ledger::Entry for StyleSample {
    fn occurred_at(&self) -> Option<&str> {
        self.occurred_at.as_deref()
    }
}

/// A sentence of at most this many words is short, one of at least [`LONG_SENTENCE_WORDS`] long.
pub const SHORT_SENTENCE_WORDS: u32 = 5;
pub const LONG_SENTENCE_WORDS: u32 = 25;

const EMOTICONS: &[&str] = &[
    ":)", ":-)", ":(", ":-(", ";)", ";-)", ":D", ":-D", ":P", ":p", ":-P", "xD", "XD", "<3", ":/", ":-/", ":'(", "^^",
    "^_^", ":o", ":O", ":|", "=)", "(:",
];

/// Whether `c` is drawn as an emoji (the pictographic blocks and the symbols commonly shown as emoji).
fn is_emoji(c: char) -> bool {
    matches!(c as u32, 0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B50 | 0x2B55 | 0x3030 | 0x303D)
}

/// Emoji as the writer typed them: a sequence joined by zero-width joiners (or with its skin tone or
/// presentation selector) is one mark.
fn emoji_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut current = String::new();
    let mut joining = false;
    for c in text.chars() {
        let modifier = matches!(c as u32, 0xFE0F | 0x1F3FB..=0x1F3FF);
        if c == '\u{200D}' && !current.is_empty() {
            current.push(c);
            joining = true;
        } else if modifier && !current.is_empty() {
            current.push(c);
        } else if is_emoji(c) && !modifier {
            if !joining && !current.is_empty() {
                found.push(std::mem::take(&mut current));
            }
            current.push(c);
            joining = false;
        } else if !current.is_empty() {
            found.push(std::mem::take(&mut current));
            joining = false;
        }
    }
    if !current.is_empty() {
        found.push(current);
    }
    found
}

/// Sentences of `text`: ended by `.`, `!`, `?` or `…` before white space or the end, or by a line break.
/// Each comes with its closing punctuation.
pub(crate) fn sentences(text: &str) -> Vec<(&str, &str)> {
    let mut found = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let closing = matches!(c, '.' | '!' | '?' | '…');
        if c == '\n' {
            found.push((&text[start..at], ""));
            start = at + 1;
        } else if closing {
            let mut end = at + c.len_utf8();
            while let Some(&(next_at, next)) = chars.peek() {
                if matches!(next, '.' | '!' | '?' | '…' | '"' | '\'' | ')' | '”' | '’') {
                    end = next_at + next.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            let at_boundary = chars.peek().is_none_or(|(_, next)| next.is_whitespace());
            if at_boundary {
                found.push((&text[start..at], &text[at..end]));
                start = end;
            }
        }
    }
    if start < text.len() {
        found.push((&text[start..], ""));
    }
    found.into_iter().filter(|(body, _)| body.chars().any(char::is_alphanumeric)).collect()
}

/// Whether `word` (in lower case) is the pronoun I or a contraction of it ("i'm", "i've"): English writes it
/// with a capital, which says nothing of a name.
pub fn is_pronoun_i(word: &str) -> bool {
    word.strip_prefix('i').is_some_and(|rest| rest.is_empty() || rest.starts_with(['\'', '\u{2019}']))
}

/// Contractions that mark speech, whatever the word (`n't`, `'m`, `'re`, `'ll`, `'ve`, `'d`; not the
/// possessive `'s`).
fn is_contraction(word: &str) -> bool {
    ["n't", "'m", "'re", "'ll", "'ve", "'d"].iter().any(|ending| word.ends_with(ending))
}

/// Words that open a noun phrase: "the studio", "at my desk" name things, and are left to interests.
const DETERMINERS: &[&str] =
    &["the", "a", "an", "my", "our", "your", "his", "her", "their", "this", "that", "these", "those"];

/// Determiners that are nothing else ("that" and "her" are pronouns too): a noun phrase follows them.
const DETERMINERS_ONLY: &[&str] = &["the", "a", "an", "my", "our", "your", "their"];

/// Numbers that count what follows: "two small bowls" is one noun phrase, as "the small bowls" is. ("One" is
/// left out: it stands alone as often, as in "one collapsed".)
const QUANTITIES: &[&str] =
    &["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "twenty"];

/// Whether a word sequence, after `previous` and followed by `next` in its clause, could be a habit of speech
/// rather than a subject: made of everyday words (each among the 8,000 commonest of English: "fingers crossed",
/// "to be honest", not "the kiln cracked"), not only the commonest ones ("of the"), not shaped like a noun
/// phrase ("the studio", "at the allotment", "threw two small"), not starting inside one ("clay first try" of
/// "the clay first try") and not stopping short of one it opens ("run in" of "run in a week", "went to the").
pub fn is_phrase(words: &[&str], previous: Option<&str>, next: Option<&str>) -> bool {
    let ranks: Vec<Option<usize>> = words.iter().map(|word| ENGLISH.rank(word)).collect();
    let everyday = ranks.iter().all(|rank| rank.is_some_and(|rank| rank <= 8_000));
    let all_commonest = ranks.iter().all(|rank| rank.is_some_and(|rank| rank <= 60));
    let opens_a_noun = |word: &&str| DETERMINERS.contains(word) || QUANTITIES.contains(word);
    let noun_phrase = DETERMINERS.contains(&words[0]) || (words.len() > 2 && opens_a_noun(&words[words.len() - 2]));
    let inside_a_noun_phrase =
        previous.is_some_and(|previous| DETERMINERS_ONLY.contains(&previous) || QUANTITIES.contains(&previous));
    let last = words[words.len() - 1];
    let cut_short = DETERMINERS_ONLY.contains(&last)
        || (QUANTITIES.contains(&last) && next.is_some())
        || (PREPOSITIONS.contains(&last) && next.is_some_and(|next| DETERMINERS_ONLY.contains(&next)));
    everyday && !all_commonest && !noun_phrase && !inside_a_noun_phrase && !cut_short
}

/// The clauses of a sentence: phrases do not run across a comma, a colon or a dash.
fn clauses(sentence: &str) -> impl Iterator<Item = &str> {
    sentence.split([',', ';', ':', '—', '–', '(', ')', '"', '“', '”'])
}

impl StyleSample {
    /// Reads the style of `text`, written at `occurred_at`, with its sentiment if scored.
    pub fn read(text: &str, occurred_at: Option<String>, sentiment: Option<f64>) -> StyleSample {
        let text = text.replace('’', "'");
        let mut sample = StyleSample { occurred_at, sentiment, ..StyleSample::default() };
        sample.ellipses = (text.matches("...").count() + text.matches('…').count()) as u32;
        for mark in emoji_in(&text) {
            *sample.marks.entry(mark).or_default() += 1;
        }
        for token in text.split_whitespace() {
            let token = token.trim_end_matches([',', '.', '!', '?']);
            if EMOTICONS.contains(&token) {
                *sample.marks.entry(token.to_owned()).or_default() += 1;
            }
        }
        for (body, closing) in sentences(&text) {
            let words: Vec<&str> = body.unicode_words().collect();
            if words.is_empty() {
                continue;
            }
            let length = words.len() as u32;
            sample.sentences += 1;
            sample.words += length;
            sample.sentence_words_squared += u64::from(length) * u64::from(length);
            sample.short_sentences += u32::from(length <= SHORT_SENTENCE_WORDS);
            sample.long_sentences += u32::from(length >= LONG_SENTENCE_WORDS);
            sample.exclamations += u32::from(closing.contains('!'));
            sample.questions += u32::from(closing.contains('?'));
            sample.commas += body.matches(',').count() as u32;
            if body.chars().find(|c| c.is_alphabetic()).is_some_and(char::is_lowercase) {
                sample.lowercase_starts += 1;
            }
            for (position, word) in words.iter().enumerate() {
                let letters = word.chars().filter(|c| c.is_alphabetic()).count();
                if letters >= 2 && word.chars().all(|c| !c.is_alphabetic() || c.is_uppercase()) {
                    sample.all_caps += 1;
                }
                let lower = word.to_lowercase();
                let capital_first =
                    word.chars().next().is_some_and(char::is_uppercase) && word.chars().any(char::is_lowercase);
                if position > 0 && capital_first && !is_pronoun_i(&lower) {
                    *sample.capitalized.entry(lower.clone()).or_default() += 1;
                }
                sample.contractions += u32::from(is_contraction(&lower));
                sample.long_words += u32::from(letters >= LONG_WORD_LETTERS);
                *sample.word_counts.entry(lower).or_default() += 1;
            }
            for clause in clauses(body) {
                let lowered: Vec<String> = clause.unicode_words().map(str::to_lowercase).collect();
                let lowered: Vec<&str> = lowered.iter().map(String::as_str).collect();
                for size in [2, 3] {
                    for (start, window) in lowered.windows(size).enumerate() {
                        let previous = start.checked_sub(1).map(|at| lowered[at]);
                        if is_phrase(window, previous, lowered.get(start + size).copied()) {
                            *sample.phrases.entry(window.join(" ")).or_default() += 1;
                        }
                    }
                }
            }
        }
        sample
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_sentences_words_and_habits() {
        let sample = StyleSample::read(
            "Honestly, to be honest I LOVE it!! Don't you? anyway... see you soon 😂😂 :)\nCheers, Sam",
            None,
            Some(0.5),
        );
        assert_eq!(sample.sentences, 5, "{sample:?}");
        assert_eq!(sample.exclamations, 1);
        assert_eq!(sample.questions, 1);
        assert_eq!(sample.lowercase_starts, 2);
        assert_eq!(sample.all_caps, 1);
        assert_eq!(sample.contractions, 1);
        assert_eq!(sample.ellipses, 1);
        assert_eq!(sample.marks["😂"], 2);
        assert_eq!(sample.marks[":)"], 1);
        assert_eq!(sample.capitalized.keys().collect::<Vec<_>>(), ["sam"], "shouting is not a name");
        assert_eq!(sample.phrases["to be honest"], 1);
        assert!(!sample.phrases.contains_key("to be"), "only the commonest words: {:?}", sample.phrases);
        assert!(!sample.phrases.contains_key("honestly to"), "not across a comma: {:?}", sample.phrases);
        assert_eq!(sample.word_counts["honest"], 1);
    }

    #[test]
    fn the_pronoun_i_is_no_name() {
        let sample = StyleSample::read("Then I'm off, and I\u{2019}ve told Omar I'd call.", None, None);
        assert_eq!(sample.capitalized.keys().collect::<Vec<_>>(), ["omar"]);
    }

    #[test]
    fn phrases_do_not_stop_short_of_the_noun_phrase_they_open() {
        let sample = StyleSample::read("I haven't run in a week. We went to the park.", None, None);
        assert!(!sample.phrases.contains_key("run in"), "{:?}", sample.phrases);
        assert!(!sample.phrases.contains_key("went to the"), "{:?}", sample.phrases);
        let sample = StyleSample::read("Threw two small bowls, one collapsed. Centred the clay first try.", None, None);
        for fragment in ["threw two small", "threw two", "clay first try", "clay first"] {
            assert!(!sample.phrases.contains_key(fragment), "{fragment}: {:?}", sample.phrases);
        }
        assert!(sample.phrases.contains_key("first try"), "{:?}", sample.phrases);
        let sample = StyleSample::read("Jonas and I broke up last night. Fingers crossed.", None, None);
        assert!(sample.phrases.contains_key("i broke up"), "{:?}", sample.phrases);
        assert!(sample.phrases.contains_key("fingers crossed"), "{:?}", sample.phrases);
    }

    #[test]
    fn joined_emoji_are_one_mark() {
        assert_eq!(emoji_in("a 👩‍💻 b 👍🏽 ❤️"), ["👩‍💻", "👍🏽", "❤️"]);
    }

    #[test]
    fn decimals_and_abbreviations_inside_a_sentence_do_not_end_it() {
        let found = sentences("It cost 3.50 today. Next one");
        assert_eq!(found.len(), 2);
    }
}
