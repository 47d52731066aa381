//! The word lists a persona is read with: closed word classes for formality, word categories for the
//! personality indicators, and general English word frequencies (wordfreq) as the reference for both and
//! for what is distinctive in a person's words.

use std::collections::HashMap;
use std::sync::LazyLock;

/// Heylighen and Dewaele's formal classes that are closed (listable): articles and prepositions.
pub const ARTICLES: &[&str] = &["a", "an", "the"];

pub const PREPOSITIONS: &[&str] = &[
    "about",
    "above",
    "across",
    "after",
    "against",
    "along",
    "amid",
    "among",
    "around",
    "at",
    "before",
    "behind",
    "below",
    "beneath",
    "beside",
    "besides",
    "between",
    "beyond",
    "by",
    "concerning",
    "despite",
    "down",
    "during",
    "except",
    "for",
    "from",
    "in",
    "inside",
    "into",
    "near",
    "of",
    "off",
    "on",
    "onto",
    "opposite",
    "outside",
    "over",
    "past",
    "per",
    "regarding",
    "since",
    "through",
    "throughout",
    "till",
    "to",
    "toward",
    "towards",
    "under",
    "underneath",
    "unlike",
    "until",
    "upon",
    "via",
    "with",
    "within",
    "without",
];

/// Their contextual classes that are closed: pronouns and interjections; adverbs are read from a list and
/// the `-ly` ending.
pub const PRONOUNS: &[&str] = &[
    "i",
    "me",
    "my",
    "mine",
    "myself",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "he",
    "him",
    "his",
    "himself",
    "she",
    "her",
    "hers",
    "herself",
    "it",
    "its",
    "itself",
    "we",
    "us",
    "our",
    "ours",
    "ourselves",
    "they",
    "them",
    "their",
    "theirs",
    "themselves",
    "i'm",
    "i've",
    "i'll",
    "i'd",
    "you're",
    "you've",
    "you'll",
    "you'd",
    "he's",
    "she's",
    "it's",
    "we're",
    "we've",
    "we'll",
    "we'd",
    "they're",
    "they've",
    "they'll",
    "they'd",
    "let's",
    "someone",
    "somebody",
    "anyone",
    "anybody",
    "everyone",
    "everybody",
    "something",
    "anything",
    "everything",
];

pub const INTERJECTIONS: &[&str] = &[
    "oh", "ah", "aah", "wow", "yeah", "yep", "yup", "nope", "ok", "okay", "hey", "hi", "hello", "hmm", "hm", "ugh",
    "lol", "haha", "hahaha", "hehe", "oops", "yay", "ouch", "aw", "aww", "wow", "omg", "huh", "meh", "phew", "whoa",
    "bye", "cheers", "thanks", "please", "sorry", "damn",
];

pub const ADVERBS: &[&str] = &[
    "very",
    "really",
    "just",
    "so",
    "too",
    "quite",
    "always",
    "never",
    "often",
    "sometimes",
    "usually",
    "here",
    "there",
    "now",
    "then",
    "still",
    "already",
    "yet",
    "also",
    "even",
    "maybe",
    "perhaps",
    "again",
    "soon",
    "later",
    "today",
    "tomorrow",
    "tonight",
    "yesterday",
    "almost",
    "anyway",
    "though",
    "pretty",
    "rather",
    "instead",
    "away",
    "back",
    "once",
    "ever",
    "else",
    "somewhere",
    "anywhere",
    "everywhere",
];

/// A word category of the personality indicators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    FirstPersonSingular,
    FirstPersonPlural,
    Social,
    PositiveEmotion,
    NegativeEmotion,
    Negations,
    Tentative,
    Certainty,
    Articles,
    Achievement,
    Insight,
    Swearing,
    /// Words of seven letters or more (not a list).
    LongWords,
}

impl Category {
    pub const ALL: [Category; 13] = [
        Category::FirstPersonSingular,
        Category::FirstPersonPlural,
        Category::Social,
        Category::PositiveEmotion,
        Category::NegativeEmotion,
        Category::Negations,
        Category::Tentative,
        Category::Certainty,
        Category::Articles,
        Category::Achievement,
        Category::Insight,
        Category::Swearing,
        Category::LongWords,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Category::FirstPersonSingular => "first_person_singular",
            Category::FirstPersonPlural => "first_person_plural",
            Category::Social => "social",
            Category::PositiveEmotion => "positive_emotion",
            Category::NegativeEmotion => "negative_emotion",
            Category::Negations => "negations",
            Category::Tentative => "tentative",
            Category::Certainty => "certainty",
            Category::Articles => "articles",
            Category::Achievement => "achievement",
            Category::Insight => "insight",
            Category::Swearing => "swearing",
            Category::LongWords => "long_words",
        }
    }

    /// The category's words (none for [`Category::LongWords`]).
    pub fn words(self) -> &'static [&'static str] {
        match self {
            Category::FirstPersonSingular => &["i", "me", "my", "mine", "myself", "i'm", "i've", "i'll", "i'd"],
            Category::FirstPersonPlural => {
                &["we", "us", "our", "ours", "ourselves", "we're", "we've", "we'll", "we'd", "let's"]
            }
            Category::Social => &[
                "friend",
                "friends",
                "family",
                "mum",
                "mom",
                "dad",
                "mother",
                "father",
                "sister",
                "brother",
                "talk",
                "talked",
                "talking",
                "call",
                "called",
                "party",
                "together",
                "meet",
                "met",
                "visit",
                "visited",
                "people",
                "guys",
                "team",
                "mate",
                "mates",
                "dinner",
                "chat",
                "chatted",
                "invite",
                "invited",
                "share",
                "shared",
                "said",
                "told",
                "tell",
                "ask",
                "asked",
                "kids",
                "wife",
                "husband",
                "partner",
                "girlfriend",
                "boyfriend",
                "neighbour",
                "neighbor",
                "colleague",
                "colleagues",
                "everyone",
            ],
            Category::PositiveEmotion => &[
                "happy",
                "glad",
                "love",
                "loved",
                "lovely",
                "great",
                "good",
                "nice",
                "fun",
                "enjoy",
                "enjoyed",
                "excited",
                "wonderful",
                "amazing",
                "awesome",
                "beautiful",
                "best",
                "thanks",
                "thank",
                "grateful",
                "proud",
                "laugh",
                "laughed",
                "smile",
                "hope",
                "calm",
                "relaxed",
                "fantastic",
                "brilliant",
                "perfect",
                "cool",
                "yay",
                "delighted",
                "joy",
            ],
            Category::NegativeEmotion => &[
                "sad",
                "angry",
                "upset",
                "worried",
                "worry",
                "anxious",
                "afraid",
                "scared",
                "fear",
                "hate",
                "hated",
                "awful",
                "terrible",
                "horrible",
                "bad",
                "worse",
                "worst",
                "annoyed",
                "annoying",
                "frustrated",
                "stressed",
                "stress",
                "tired",
                "lonely",
                "hurt",
                "cry",
                "cried",
                "miss",
                "missed",
                "disappointed",
                "guilty",
                "nervous",
                "ugh",
                "mad",
                "pain",
            ],
            Category::Negations => &[
                "no",
                "not",
                "never",
                "none",
                "nothing",
                "nobody",
                "nowhere",
                "neither",
                "nor",
                "don't",
                "didn't",
                "doesn't",
                "can't",
                "couldn't",
                "won't",
                "wouldn't",
                "isn't",
                "wasn't",
                "aren't",
                "weren't",
                "haven't",
                "hasn't",
                "hadn't",
                "shouldn't",
                "cannot",
            ],
            Category::Tentative => &[
                "maybe",
                "perhaps",
                "probably",
                "possibly",
                "might",
                "guess",
                "seems",
                "seem",
                "seemed",
                "somewhat",
                "unsure",
                "wonder",
                "wondering",
                "apparently",
                "almost",
                "hopefully",
                "depends",
                "suppose",
                "unclear",
            ],
            Category::Certainty => &[
                "always",
                "definitely",
                "certainly",
                "absolutely",
                "sure",
                "clearly",
                "totally",
                "completely",
                "exactly",
                "obviously",
                "truly",
                "must",
                "undoubtedly",
                "fact",
            ],
            Category::Articles => ARTICLES,
            Category::Achievement => &[
                "achieve",
                "achieved",
                "goal",
                "goals",
                "win",
                "won",
                "success",
                "successful",
                "finish",
                "finished",
                "done",
                "plan",
                "planned",
                "progress",
                "work",
                "worked",
                "working",
                "effort",
                "deadline",
                "complete",
                "completed",
                "accomplish",
                "improve",
                "improved",
                "challenge",
                "task",
                "tasks",
                "project",
                "promotion",
                "learn",
                "learned",
            ],
            Category::Insight => &[
                "think",
                "thought",
                "know",
                "knew",
                "realize",
                "realized",
                "realise",
                "realised",
                "understand",
                "understood",
                "because",
                "reason",
                "mean",
                "meant",
                "idea",
                "figure",
                "figured",
                "decide",
                "decided",
                "believe",
                "consider",
            ],
            Category::Swearing => &[
                "damn", "hell", "shit", "fuck", "fucking", "crap", "bloody", "bastard", "ass", "piss", "dammit", "wtf",
            ],
            Category::LongWords => &[],
        }
    }
}

/// What a category's words are: looked up once per word read.
pub static CATEGORIES: LazyLock<HashMap<&'static str, Vec<Category>>> = LazyLock::new(|| {
    let mut categories: HashMap<&'static str, Vec<Category>> = HashMap::new();
    for category in Category::ALL {
        for word in category.words() {
            categories.entry(word).or_default().push(category);
        }
    }
    categories
});

/// A word is long from this many letters on (LIWC's "six letters or more" counts letters beyond six).
pub const LONG_WORD_LETTERS: usize = 7;

/// General English: the 12,000 most frequent words of wordfreq (Speer et al.; its data is CC BY-SA 4.0), per
/// million words. `data/README.md` says how the file was made.
pub struct Frequencies {
    per_million: HashMap<&'static str, f64>,
    /// Words by rank: the 1st is the most frequent.
    rank: HashMap<&'static str, usize>,
    /// The share of running English the table covers; the rest are rarer words.
    covered: f64,
}

const FREQUENCIES_TSV: &str = include_str!("../../data/english_frequencies.tsv");

pub static ENGLISH: LazyLock<Frequencies> = LazyLock::new(|| {
    let mut per_million = HashMap::new();
    let mut rank = HashMap::new();
    for line in FREQUENCIES_TSV.lines().filter(|line| !line.starts_with('#')) {
        let Some((word, frequency)) = line.split_once('\t') else { continue };
        let Ok(frequency) = frequency.trim().parse::<f64>() else { continue };
        rank.insert(word, rank.len() + 1);
        per_million.insert(word, frequency);
    }
    let covered = per_million.values().sum::<f64>() / 1e6;
    Frequencies { per_million, rank, covered }
});

impl Frequencies {
    /// Per million words; words rarer than the table's last one count as half as frequent as it.
    pub fn per_million(&self, word: &str) -> f64 {
        self.per_million.get(word).copied().unwrap_or(RARE_PER_MILLION)
    }

    /// 1 for the most frequent word; `None` beyond the table.
    pub fn rank(&self, word: &str) -> Option<usize> {
        self.rank.get(word).copied()
    }

    /// A category's rate in general English, per 1000 words.
    pub fn reference_per_1000(&self, category: Category) -> f64 {
        if category == Category::LongWords {
            return self.long_word_share() * 1000.0;
        }
        category.words().iter().filter_map(|word| self.per_million.get(word)).sum::<f64>() / 1000.0
    }

    /// The share of long words in running English: those of the table, and the part of the rarer rest that
    /// is long in the same proportion as the table's rarest thousand words.
    fn long_word_share(&self) -> f64 {
        let long = |word: &str| word.chars().filter(char::is_ascii_alphabetic).count() >= LONG_WORD_LETTERS;
        let in_table: f64 =
            self.per_million.iter().filter(|(word, _)| long(word)).map(|(_, frequency)| frequency).sum::<f64>() / 1e6;
        let rarest: Vec<&&str> =
            self.rank.iter().filter(|(_, rank)| **rank + 1000 > self.rank.len()).map(|(word, _)| word).collect();
        let rarest_long = rarest.iter().filter(|word| long(word)).count() as f64 / rarest.len().max(1) as f64;
        in_table + (1.0 - self.covered).max(0.0) * rarest_long
    }
}

const RARE_PER_MILLION: f64 = 2.0;

/// Past forms of irregular English verbs, those that are not also a noun or an adjective as often ("wound",
/// "ground" and "bore" are left out).
const IRREGULAR_PAST_FORMS: &[&str] = &[
    "arose",
    "arisen",
    "awoke",
    "awoken",
    "beaten",
    "became",
    "began",
    "begun",
    "bent",
    "bitten",
    "bled",
    "blew",
    "blown",
    "bought",
    "bred",
    "broke",
    "broken",
    "brought",
    "built",
    "burnt",
    "caught",
    "chose",
    "chosen",
    "clung",
    "crept",
    "dealt",
    "drank",
    "drawn",
    "drew",
    "driven",
    "drove",
    "dug",
    "eaten",
    "fallen",
    "fed",
    "fled",
    "flew",
    "flown",
    "flung",
    "forbade",
    "forgave",
    "forgiven",
    "forgot",
    "forgotten",
    "fought",
    "froze",
    "frozen",
    "gave",
    "given",
    "gotten",
    "grew",
    "grown",
    "hid",
    "hidden",
    "hung",
    "knelt",
    "knew",
    "known",
    "leant",
    "leapt",
    "learnt",
    "lent",
    "meant",
    "overcame",
    "overtook",
    "paid",
    "rang",
    "ridden",
    "risen",
    "rode",
    "rose",
    "sang",
    "sank",
    "shaken",
    "shone",
    "shook",
    "shrank",
    "shrunk",
    "slept",
    "slid",
    "slung",
    "sought",
    "sped",
    "spent",
    "spilt",
    "spoke",
    "spoken",
    "sprang",
    "sprung",
    "spun",
    "stank",
    "stole",
    "stolen",
    "strode",
    "struck",
    "strove",
    "stuck",
    "stung",
    "sung",
    "sunk",
    "swam",
    "swept",
    "swore",
    "sworn",
    "swum",
    "swung",
    "taught",
    "thrown",
    "threw",
    "tore",
    "torn",
    "trod",
    "undertook",
    "understood",
    "wept",
    "woke",
    "woken",
    "wore",
    "worn",
    "wove",
    "woven",
    "written",
    "wrote",
    "wrung",
];

/// Whether `word` (lower case) is a verb's past form: an irregular one, or one in -ed whose stem is an English
/// word ("cracked", "centred", "planned", "tried"). What someone did, not what they write about.
pub fn is_past_form(word: &str) -> bool {
    if IRREGULAR_PAST_FORMS.contains(&word) {
        return true;
    }
    let Some(stem) = word.strip_suffix("ed") else { return false };
    // "speed", "weed" and "tweed" are no one's past; "red" and "bed" are too short to tell.
    if stem.ends_with('e') || stem.chars().count() < 3 {
        return false;
    }
    let mut letters = stem.chars().rev();
    let undoubled = match (letters.next(), letters.next()) {
        (Some(last), Some(before)) if last == before && !"aeiou".contains(last) => {
            Some(&stem[..stem.len() - last.len_utf8()])
        }
        _ => None,
    };
    let from_y = stem.strip_suffix('i').map(|base| format!("{base}y"));
    let known = |base: &str| base.chars().count() >= 3 && ENGLISH.rank(base).is_some();
    known(stem) || known(&format!("{stem}e")) || undoubled.is_some_and(known) || from_y.as_deref().is_some_and(known)
}

#[cfg(test)]
mod tests {
    #[test]
    fn past_forms_are_told_from_the_things_written_about() {
        for word in ["cracked", "centred", "planned", "tried", "chose", "threw"] {
            assert!(super::is_past_form(word), "{word}");
        }
        for word in ["pottery", "kiln", "reservoir", "glazing", "speed", "weed", "bed", "hundred", "sacred", "cafééed"]
        {
            assert!(!super::is_past_form(word), "{word}");
        }
    }

    use super::*;

    #[test]
    fn the_table_reads_and_references_are_plausible() {
        assert_eq!(ENGLISH.rank("the"), Some(1));
        assert!(ENGLISH.per_million("the") > 50_000.0);
        assert_eq!(ENGLISH.per_million("zzyzzx"), RARE_PER_MILLION);
        // Articles are about 7 to 8% of running English; "I" and its forms about 2%.
        let articles = ENGLISH.reference_per_1000(Category::Articles);
        assert!((60.0..90.0).contains(&articles), "{articles}");
        let singular = ENGLISH.reference_per_1000(Category::FirstPersonSingular);
        assert!((15.0..30.0).contains(&singular), "{singular}");
        let long = ENGLISH.reference_per_1000(Category::LongWords);
        assert!((120.0..260.0).contains(&long), "{long}");
    }
}
