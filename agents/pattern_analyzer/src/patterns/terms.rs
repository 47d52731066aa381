//! The terms a memory is about, RAKE-style: runs of content words between stop words and punctuation give
//! single words and adjacent pairs; tags count as terms too. Stems (Snowball) group the forms of one term
//! ("run", "runs", "running") across memories.

use std::collections::HashSet;
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
    word.chars().count() >= 3 && word.chars().all(char::is_alphabetic) && !is_stop_word(word)
}

/// The terms of a text, its title and tags: lower-cased, each once, in order of first appearance.
pub fn terms(text: &str, title: Option<&str>, tags: &[String]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    let mut keep = |term: String, found: &mut Vec<String>| {
        if found.len() < MAX_TERMS && seen.insert(term.clone()) {
            found.push(term);
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
        for clause in source
            .split(|character: char| !(character.is_alphanumeric() || character.is_whitespace() || character == '\''))
        {
            let mut run: Vec<String> = Vec::new();
            let words = clause.split_whitespace().map(|word| word.trim_matches('\'').to_lowercase());
            for word in words.chain(std::iter::once(String::new())) {
                if is_content(&word) {
                    run.push(word);
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
    }
    found
}

/// The key that groups a term's forms: each word stemmed.
pub fn stem(term: &str) -> String {
    term.split(' ').map(|word| STEMMER.stem(word).into_owned()).collect::<Vec<_>>().join(" ")
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
}
