//! The terms a memory is about, RAKE-style: runs of content words between stop words and punctuation give
//! single words and adjacent pairs; tags count as terms too. Stems (Snowball) group the forms of one term
//! ("run", "runs", "running") across memories.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use rust_stemmers::{Algorithm, Stemmer};

/// The most terms kept of one memory: enough for its subjects, bounded for long texts.
const MAX_TERMS: usize = 24;

/// Words that say little about what a personal note is about, beyond NLTK's list of English stop words.
const DIARY_FILLER: &[&str] = &[
    "today",
    "yesterday",
    "tomorrow",
    "tonight",
    "really",
    "just",
    "also",
    "got",
    "get",
    "getting",
    "went",
    "going",
    "go",
    "goes",
    "gone",
    "come",
    "came",
    "coming",
    "like",
    "lot",
    "lots",
    "bit",
    "much",
    "many",
    "still",
    "even",
    "one",
    "two",
    "three",
    "thing",
    "things",
    "something",
    "anything",
    "everything",
    "nothing",
    "way",
    "day",
    "days",
    "time",
    "times",
    "back",
    "well",
    "good",
    "better",
    "best",
    "great",
    "nice",
    "fine",
    "bad",
    "worse",
    "worst",
    "perfect",
    "lovely",
    "wonderful",
    "amazing",
    "awesome",
    "terrible",
    "awful",
    "hard",
    "harder",
    "easy",
    "easier",
    "tough",
    "difficult",
    // Words of pace: how something went, not what it was ("slow but steady" is about the run).
    "slow",
    "slower",
    "slowly",
    "steady",
    "steadily",
    "quick",
    "quicker",
    "quickly",
    // Words of feeling: how a note felt is its mood, which the analyzer reads on its own; what it is about is
    // the topic ("glad I went" is about going).
    "glad",
    "happy",
    "happier",
    "happiest",
    "sad",
    "sorry",
    "pleased",
    "delighted",
    "thrilled",
    "excited",
    "grateful",
    "thankful",
    "lucky",
    "proud",
    "relieved",
    "little",
    "new",
    "old",
    "first",
    "last",
    "next",
    "make",
    "made",
    "take",
    "took",
    "feel",
    "felt",
    "think",
    "thought",
    "know",
    "want",
    "need",
    "said",
    "say",
    "along",
    "anyone",
    "else",
    "someone",
    "everyone",
    "around",
    "maybe",
    "though",
    "although",
    "another",
    "every",
    "always",
    "never",
    "often",
    "sometimes",
    "usually",
    "almost",
    "quite",
    "pretty",
    "enough",
    "away",
    "later",
    "soon",
    "ago",
];

/// Words for things people do, preferred as the name of a habit among the words its memories share.
pub const ACTIVITIES: &[&str] = &[
    "run",
    "running",
    "jog",
    "walk",
    "hike",
    "swim",
    "cycle",
    "bike",
    "ride",
    "climb",
    "climbing",
    "yoga",
    "gym",
    "workout",
    "lift",
    "stretch",
    "pilates",
    "dance",
    "tennis",
    "football",
    "soccer",
    "basketball",
    "golf",
    "skate",
    "ski",
    "surf",
    "row",
    "box",
    "boxing",
    "train",
    "training",
    "practice",
    "piano",
    "guitar",
    "violin",
    "drums",
    "sing",
    "choir",
    "band",
    "paint",
    "draw",
    "sketch",
    "write",
    "journal",
    "blog",
    "read",
    "reading",
    "book",
    "study",
    "class",
    "lesson",
    "course",
    "homework",
    "meditate",
    "meditation",
    "pray",
    "church",
    "cook",
    "bake",
    "dinner",
    "lunch",
    "breakfast",
    "brunch",
    "coffee",
    "tea",
    "drinks",
    "beer",
    "wine",
    "shop",
    "market",
    "groceries",
    "clean",
    "laundry",
    "garden",
    "gardening",
    "knit",
    "sew",
    "fish",
    "fishing",
    "game",
    "games",
    "chess",
    "movie",
    "film",
    "concert",
    "theatre",
    "museum",
    "podcast",
    "call",
    "volunteer",
    "therapy",
    "massage",
    "sauna",
    "nap",
];
static STOP_WORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    stop_words::lookup("en").unwrap_or_default().iter().copied().chain(DIARY_FILLER.iter().copied()).collect()
});

static STEMMER: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));

/// Whether `word` says little about what a note is about.
pub fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.contains(word)
}

fn is_content(word: &str) -> bool {
    word.chars().count() >= 3 && word.chars().all(char::is_alphabetic) && !is_stop_word(&lower(word))
}

/// Whether `text` holds a capital letter anywhere.
pub fn has_capitals(text: &str) -> bool {
    text.chars().any(char::is_uppercase)
}

/// `text` in lower case, copied only when it has capitals.
pub fn lower(text: &str) -> Cow<'_, str> {
    if has_capitals(text) { Cow::Owned(text.to_lowercase()) } else { Cow::Borrowed(text) }
}

/// A word of a text as runs of content words see it.
struct Word<'t> {
    /// Empty where punctuation stands alone.
    written: &'t str,
    /// Whether it opens a sentence (or a line, or the text): there a capital says nothing of the word;
    /// elsewhere it says the owner writes it so ("Lena", "Lisbon").
    opens_sentence: bool,
    /// Whether punctuation follows it, which ends a run.
    ends_run: bool,
}

impl Word<'_> {
    /// What follows the last word of a text.
    const END: Word<'static> = Word { written: "", opens_sentence: true, ends_run: true };
}

fn words(source: &str) -> impl Iterator<Item = Word<'_>> {
    let mut opens_sentence = true;
    source
        .split_inclusive(|character: char| character.is_whitespace() || is_break(character))
        .map(move |piece| {
            // The text's last word ends in no separator.
            let last = piece.chars().next_back().filter(|last| last.is_whitespace() || is_break(*last));
            let written = last.and_then(|last| piece.strip_suffix(last)).unwrap_or(piece);
            let word = Word { written, opens_sentence, ends_run: last.is_some_and(is_break) };
            if last.is_some_and(mneme_protocol::words::ends_sentence) {
                opens_sentence = true;
            } else if !written.is_empty() {
                opens_sentence = false;
            }
            word
        })
        // Runs of spaces end nothing.
        .filter(|word| !word.written.is_empty() || word.ends_run)
}

const WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// A content word as a term keeps it: in lower case where it opens a sentence, else as written; a weekday
/// always with its capital, as English writes it.
fn as_written(word: &str, opens_sentence: bool) -> String {
    if let Some(weekday) = WEEKDAYS.iter().find(|weekday| weekday.eq_ignore_ascii_case(word)) {
        return (*weekday).to_owned();
    }
    if opens_sentence { word.to_lowercase() } else { word.to_owned() }
}

/// Punctuation and symbols: they end a run of content words. (An apostrophe belongs to its word.)
fn is_break(character: char) -> bool {
    !(character.is_alphanumeric() || character.is_whitespace() || character == '\'')
}

/// The terms of a text, its title and tags, each once (by its lower case), in order of first appearance.
/// A word is kept with its capitals where the title or the text writes it so inside a sentence; elsewhere,
/// and in tags, in lower case.
pub fn terms(text: &str, title: Option<&str>, tags: &[String]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    // Each term's lower case, and where it stands in `found`.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut keep = |term: String, found: &mut Vec<String>| {
        let key = lower(&term);
        match seen.get(key.as_ref()) {
            // Written with capitals here after being seen only at the start of a sentence: the capitals are
            // the owner's.
            Some(&at) if has_capitals(&term) && !has_capitals(&found[at]) => found[at] = term,
            Some(_) => {}
            None if found.len() < MAX_TERMS => {
                seen.insert(key.into_owned(), found.len());
                found.push(term);
            }
            None => {}
        }
    };
    for tag in tags {
        let tag = tag.trim().trim_start_matches('#').to_lowercase();
        if !tag.is_empty() {
            keep(tag, &mut found);
        }
    }
    for source in title.into_iter().chain(std::iter::once(text)) {
        // Runs of content words: punctuation and stop words end a run.
        let mut run: Vec<String> = Vec::new();
        for Word { written, opens_sentence, ends_run } in words(source).chain(std::iter::once(Word::END)) {
            let word = written.trim_matches('\'');
            let content = is_content(word);
            if content {
                run.push(as_written(word, opens_sentence));
            }
            if content && !ends_run {
                continue;
            }
            for (index, word) in run.iter().enumerate() {
                if let Some(next) = run.get(index + 1) {
                    keep(format!("{word} {next}"), &mut found);
                }
                keep(word.clone(), &mut found);
            }
            run.clear();
        }
    }
    found
}

/// The key that groups a term's forms: each word in lower case, stemmed.
pub fn stem(term: &str) -> String {
    term.split(' ').map(|word| STEMMER.stem(&lower(word)).into_owned()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_words_and_their_pairs_without_stop_words() {
        let found =
            terms("Went for a long run by the river; marathon training is going well.", None, &["Fitness".into()]);
        assert_eq!(found, ["fitness", "long run", "long", "run", "river", "marathon training", "marathon", "training"]);
        assert_eq!(stem("running"), stem("runs"));
        assert_eq!(stem("marathon trainings"), "marathon train");
    }

    #[test]
    fn words_that_judge_are_no_topic() {
        let found = terms("Best day in ages: the pottery class went better than the worst I feared.", None, &[]);
        assert_eq!(found, ["ages", "pottery class", "pottery", "class", "feared"]);
        assert_eq!(terms("Hard going on the hill, an easy jog home.", None, &[]), ["hill", "jog home", "jog", "home"]);
    }

    #[test]
    fn words_of_feeling_are_no_topic() {
        let found = terms("Glad I went. Happy heart, cold hands; so grateful for the lovely canal path.", None, &[]);
        assert_eq!(found, ["heart", "cold hands", "cold", "hands", "canal path", "canal", "path"]);
    }

    #[test]
    fn words_of_pace_are_no_topic() {
        let found = terms("Slow but steady along the canal, then a quick coffee.", None, &[]);
        assert_eq!(found, ["canal", "coffee"]);
    }

    #[test]
    fn names_keep_the_capitals_the_owner_writes_inside_a_sentence() {
        let found = terms(
            "Lena and I walked to the market. Then Lena bought figs in Lisbon.\nFieldwork  notes for NYC.\n\
             Saturday run.",
            Some("Market day with Lena"),
            &["Travel".into()],
        );
        assert_eq!(
            found,
            [
                "travel",
                "market",
                "Lena",
                "walked",
                "Lena bought",
                "bought figs",
                "bought",
                "figs",
                "Lisbon",
                "fieldwork notes",
                "fieldwork",
                "notes",
                "NYC",
                "Saturday run",
                "Saturday",
                "run"
            ],
            "a capital that opens a sentence, a line or a title is no name's"
        );
        assert_eq!(stem("Lisbon"), stem("lisbon"));
        // Where a sentence ends is read as every agent reads it: after a semicolon or an ellipsis too.
        assert_eq!(terms("Tired; Quiet day… Pottery later", None, &[]), ["tired", "quiet", "pottery"]);
    }
}
