//! How text becomes index terms, the same for memories and for queries: words split on anything not a letter
//! or digit, folded to lower-case ASCII, stop words and question words dropped, and the rest stemmed (Snowball
//! English), so that "hiking", "hikes" and "hiked" meet.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::LazyLock;

use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
    TokenStream,
};

/// Words that carry no subject in a question or a chat line: NLTK's English stop words, with the question
/// words, the fillers of conversation and the indefinite pronouns.
static STOP_WORDS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    const CONVERSATION: [&str; 56] = [
        "would",
        "could",
        "should",
        "might",
        "must",
        "shall",
        "may",
        "also",
        "yeah",
        "yes",
        "ok",
        "okay",
        "oh",
        "hey",
        "hi",
        "hello",
        "lol",
        "haha",
        "really",
        "just",
        "like",
        "get",
        "got",
        "go",
        "going",
        "went",
        "one",
        "know",
        "think",
        "thing",
        "things",
        "much",
        "many",
        "ever",
        "happen",
        "happened",
        "happens",
        "say",
        "said",
        "tell",
        "told",
        "mention",
        "mentioned",
        "remember",
        "recall",
        "everything",
        "anything",
        "something",
        "nothing",
        "everyone",
        "anyone",
        "someone",
        "everybody",
        "anybody",
        "somebody",
        "nobody",
    ];
    stop_words::lookup("en").unwrap_or_default().iter().copied().chain(CONVERSATION).map(str::to_owned).collect()
});

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(StopWordFilter::remove(STOP_WORDS.iter().cloned()))
        .filter(Stemmer::new(Language::English))
        .build()
}

thread_local! {
    static ANALYZER: RefCell<TextAnalyzer> = RefCell::new(analyzer());
}

/// The index terms of `text`, in order, repeats kept.
pub fn terms(text: &str) -> Vec<String> {
    ANALYZER.with(|analyzer| {
        let mut analyzer = analyzer.borrow_mut();
        let mut stream = analyzer.token_stream(text);
        let mut terms = Vec::new();
        while stream.advance() {
            terms.push(stream.token().text.clone());
        }
        terms
    })
}

/// Whether an index term says nothing of what a memory is about: words that say when ("week", "monday",
/// "tonight", "already"; a question's time is read from its wording, by `when`) or how much ("bit", "lot"),
/// and numbers ("2024", "11th"). Such words are kept in the index, where a question may name them, but make no
/// topic of a period and no word to widen a question with.
pub fn says_no_subject(term: &str) -> bool {
    static TERMS: LazyLock<HashSet<String>> = LazyLock::new(|| {
        const AMOUNTS: [&str; 6] = ["bit", "bits", "lot", "lots", "plenty", "bunch"];
        super::when::words_of_time().chain(AMOUNTS).flat_map(terms).collect()
    });
    let number = ["st", "nd", "rd", "th"].iter().find_map(|suffix| term.strip_suffix(suffix)).unwrap_or(term);
    TERMS.contains(term) || (!number.is_empty() && number.chars().all(|c| c.is_ascii_digit()))
}

/// Whether `word` (any case) is a stop word.
pub fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.contains(&word.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflections_meet_and_questions_lose_their_question_words() {
        assert_eq!(terms("Hiking, hikes; HIKED!"), ["hike", "hike", "hike"]);
        assert_eq!(terms("What did I say about the café?"), ["cafe"]);
        assert!(terms("").is_empty());
        assert!(is_stop_word("What"));
    }

    #[test]
    fn words_of_time_and_amount_say_no_subject() {
        for word in ["week", "weeks", "Monday", "tonight", "already", "lately", "bit", "lots", "2024", "11th", "3rd"] {
            let term = &terms(word)[0];
            assert!(says_no_subject(term), "{word} ({term})");
        }
        for word in ["kiln", "pottery", "Lisbon", "dinner", "10k", "north"] {
            assert!(!says_no_subject(&terms(word)[0]), "{word}");
        }
    }
}
