//! The words that carry or change sentiment: VADER's lexicon and emoji descriptions (`data/`), and its lists of
//! boosters, negations and idioms.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

const INCREMENT: f64 = 0.293;
/// What Pattern's polarity (-1..1) counts for on VADER's valence scale (-4..4); see [`Lexicon::load`].
const PATTERN_SCALE: f64 = 1.0;
const DECREMENT: f64 = -0.293;

/// Intensifiers (positive) and dampeners (negative), with what they add to the next sentiment word.
pub const BOOSTERS: [(&str, f64); 84] = [
    ("absolutely", INCREMENT),
    ("amazingly", INCREMENT),
    ("awfully", INCREMENT),
    ("completely", INCREMENT),
    ("considerable", INCREMENT),
    ("considerably", INCREMENT),
    ("decidedly", INCREMENT),
    ("deeply", INCREMENT),
    ("effing", INCREMENT),
    ("enormous", INCREMENT),
    ("enormously", INCREMENT),
    ("entirely", INCREMENT),
    ("especially", INCREMENT),
    ("exceptional", INCREMENT),
    ("exceptionally", INCREMENT),
    ("extreme", INCREMENT),
    ("extremely", INCREMENT),
    ("fabulously", INCREMENT),
    ("flipping", INCREMENT),
    ("flippin", INCREMENT),
    ("frackin", INCREMENT),
    ("fracking", INCREMENT),
    ("fricking", INCREMENT),
    ("frickin", INCREMENT),
    ("frigging", INCREMENT),
    ("friggin", INCREMENT),
    ("fully", INCREMENT),
    ("fuckin", INCREMENT),
    ("fucking", INCREMENT),
    ("fuggin", INCREMENT),
    ("fugging", INCREMENT),
    ("greatly", INCREMENT),
    ("hella", INCREMENT),
    ("highly", INCREMENT),
    ("hugely", INCREMENT),
    ("incredible", INCREMENT),
    ("incredibly", INCREMENT),
    ("intensely", INCREMENT),
    ("major", INCREMENT),
    ("majorly", INCREMENT),
    ("more", INCREMENT),
    ("most", INCREMENT),
    ("particularly", INCREMENT),
    ("purely", INCREMENT),
    ("quite", INCREMENT),
    ("really", INCREMENT),
    ("remarkably", INCREMENT),
    ("so", INCREMENT),
    ("substantially", INCREMENT),
    ("thoroughly", INCREMENT),
    ("total", INCREMENT),
    ("totally", INCREMENT),
    ("tremendous", INCREMENT),
    ("tremendously", INCREMENT),
    ("uber", INCREMENT),
    ("unbelievably", INCREMENT),
    ("unusually", INCREMENT),
    ("utter", INCREMENT),
    ("utterly", INCREMENT),
    ("very", INCREMENT),
    ("almost", DECREMENT),
    ("barely", DECREMENT),
    ("hardly", DECREMENT),
    ("just enough", DECREMENT),
    ("kind of", DECREMENT),
    ("kinda", DECREMENT),
    ("kindof", DECREMENT),
    ("kind-of", DECREMENT),
    ("less", DECREMENT),
    ("little", DECREMENT),
    ("marginal", DECREMENT),
    ("marginally", DECREMENT),
    ("occasional", DECREMENT),
    ("occasionally", DECREMENT),
    ("partly", DECREMENT),
    ("scarce", DECREMENT),
    ("scarcely", DECREMENT),
    ("slight", DECREMENT),
    ("slightly", DECREMENT),
    ("somewhat", DECREMENT),
    ("sort of", DECREMENT),
    ("sorta", DECREMENT),
    ("sortof", DECREMENT),
    ("sort-of", DECREMENT),
];

/// Words that negate the sentiment words after them (and every word with `n't`).
pub const NEGATIONS: [&str; 59] = [
    "aint",
    "arent",
    "cannot",
    "cant",
    "couldnt",
    "darent",
    "didnt",
    "doesnt",
    "ain't",
    "aren't",
    "can't",
    "couldn't",
    "daren't",
    "didn't",
    "doesn't",
    "dont",
    "hadnt",
    "hasnt",
    "havent",
    "isnt",
    "mightnt",
    "mustnt",
    "neither",
    "don't",
    "hadn't",
    "hasn't",
    "haven't",
    "isn't",
    "mightn't",
    "mustn't",
    "neednt",
    "needn't",
    "never",
    "none",
    "nope",
    "nor",
    "not",
    "nothing",
    "nowhere",
    "oughtnt",
    "shant",
    "shouldnt",
    "uhuh",
    "wasnt",
    "werent",
    "oughtn't",
    "shan't",
    "shouldn't",
    "uh-uh",
    "wasn't",
    "weren't",
    "without",
    "wont",
    "wouldnt",
    "won't",
    "wouldn't",
    "rarely",
    "seldom",
    "despite",
];

/// Phrases whose valence replaces their words'.
pub const SPECIAL_CASES: [(&str, f64); 9] = [
    ("the shit", 3.0),
    ("the bomb", 3.0),
    ("bad ass", 1.5),
    ("badass", 1.5),
    ("bus stop", 0.0),
    ("yeah right", -2.0),
    ("kiss of death", -1.5),
    ("to die for", 3.0),
    ("beating heart", 3.5),
];

/// Idioms whose meaning is not in their words.
pub const SENTIMENT_LADEN_IDIOMS: [(&str, f64); 12] = [
    ("cut the mustard", 2.0),
    ("hand to mouth", -2.0),
    ("back handed", -2.0),
    ("blow smoke", -2.0),
    ("blowing smoke", -2.0),
    ("upper hand", 1.0),
    ("break a leg", 2.0),
    ("cooking with gas", 2.0),
    ("in the black", 2.0),
    ("in the red", -2.0),
    ("on the ball", 2.0),
    ("under the weather", -2.0),
];

/// Valences by lower-case word, and descriptions by emoji.
pub struct Lexicon {
    valences: HashMap<&'static str, f64>,
    /// Entries the lexicon lists twice because lower-casing merged two spellings: the emoticon and acronym block
    /// comes first and held the capitalized one (`D:`, a horrified face, against `d:`, a tongue out).
    capitalized: HashMap<&'static str, f64>,
    /// The adjectives taken from the review lexicon rather than VADER's.
    review_adjectives: HashSet<&'static str>,
    emoji: HashMap<char, &'static str>,
}

static LEXICON: LazyLock<Lexicon> = LazyLock::new(Lexicon::load);

pub fn lexicon() -> &'static Lexicon {
    &LEXICON
}

impl Lexicon {
    fn load() -> Self {
        let entries: Vec<(&'static str, f64)> = include_str!("../../data/vader_lexicon.txt")
            .lines()
            .filter_map(|line| {
                let mut fields = line.split('\t');
                let word = fields.next()?;
                let valence = fields.next()?.parse().ok()?;
                Some((word, valence))
            })
            .collect();
        let mut capitalized = HashMap::new();
        let mut valences: HashMap<&'static str, f64> = HashMap::new();
        for (word, valence) in entries {
            // The later entry wins for the lower-case spelling, as in VADER; the first is kept for capitals.
            if let Some(first) = valences.insert(word, valence) {
                capitalized.entry(word).or_insert(first);
            }
        }
        // Adjectives VADER lacks, from a lexicon built for reviews. The factor that best maps the adjectives both
        // lexicons share is 3.17 (least squares over 492 words), but outside reviews many of these words describe
        // rather than judge ("cold", "long", "full"): taken at face value (1.0) they lift review snippets as much
        // and mislead less elsewhere. Chosen among 0.5, 1, 1.5, 2, 2.5 and 3.17 on the two rated sets; the
        // untuned set agrees (BENCHMARKS.md).
        let mut review_adjectives = HashSet::new();
        for line in include_str!("../../data/pattern_adjectives.txt").lines().filter(|line| !line.starts_with('#')) {
            let Some((word, polarity)) = line.split_once('\t') else { continue };
            let Ok(polarity) = polarity.parse::<f64>() else { continue };
            if let Entry::Vacant(vacant) = valences.entry(word) {
                vacant.insert(polarity * PATTERN_SCALE);
                review_adjectives.insert(word);
            }
        }
        let emoji = include_str!("../../data/emoji_utf8_lexicon.txt")
            .lines()
            .filter_map(|line| {
                let (emoji, description) = line.split_once('\t')?;
                let mut characters = emoji.chars();
                // Single-character emoji only: the text is read a character at a time.
                match (characters.next(), characters.next()) {
                    (Some(character), None) => Some((character, description.trim())),
                    _ => None,
                }
            })
            .collect();
        Lexicon { valences, capitalized, review_adjectives, emoji }
    }

    pub fn valence(&self, lower_word: &str) -> Option<f64> {
        self.valences.get(lower_word).copied()
    }

    /// The valence of a word as written: capitalized spellings of twice-listed entries take their own.
    pub fn valence_as_written(&self, written: &str, lower_word: &str) -> Option<f64> {
        if written.chars().any(char::is_uppercase)
            && let Some(valence) = self.capitalized.get(lower_word)
        {
            return Some(*valence);
        }
        self.valence(lower_word)
    }

    /// Whether `lower_word` comes from the review lexicon: an adjective that, capitalized inside a sentence,
    /// is more often part of a name ("Cold Mountain") than an opinion.
    pub fn is_review_adjective(&self, lower_word: &str) -> bool {
        self.review_adjectives.contains(lower_word)
    }

    pub fn emoji(&self, character: char) -> Option<&'static str> {
        self.emoji.get(&character).copied()
    }
}
