//! An owner's voice model: the sum of the style samples of every memory they wrote, taken in one at a time,
//! and the persona read from it.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use mneme_protocol::avatar::{
    Formality, Interest, MarkUse, MarkerRate, Persona, Personality, PhraseUse, Punctuation, SentenceLength,
    SentimentBaseline, TraitIndicator, Vocabulary,
};

use crate::style::lexicon::{
    ADVERBS, ARTICLES, CATEGORIES, Category, ENGLISH, INTERJECTIONS, PREPOSITIONS, PRONOUNS, is_past_form,
};
use crate::style::{StyleSample, is_pronoun_i};

/// What a persona shows at most of each list.
const MAX_PHRASES: usize = 12;
/// The longest sequence a signature phrase is followed out to as a window of one sentence written again and
/// again (a repeated word would otherwise go on for ever).
const MAX_SEQUENCE_WORDS: usize = 24;
const MAX_MARKS: usize = 10;
const MAX_INTERESTS: usize = 15;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VoiceModel {
    /// The memories taken in, so that none counts twice.
    pub memory_ids: BTreeSet<String>,
    pub words: u64,
    pub sentences: u64,
    pub sentence_words_squared: u64,
    pub short_sentences: u64,
    pub long_sentences: u64,
    pub exclamations: u64,
    pub questions: u64,
    pub ellipses: u64,
    pub commas: u64,
    pub all_caps: u64,
    pub lowercase_starts: u64,
    pub contractions: u64,
    pub long_words: u64,
    pub word_counts: HashMap<String, u64>,
    /// Of how many memories each word is part.
    pub word_memories: HashMap<String, u64>,
    pub capitalized: HashMap<String, u64>,
    /// The memories each word is part of, by the order they were taken in, for words outside the most common
    /// English ([`SUBJECT_MIN_RANK`]): what tells an interest of its own from a detail of another ("canal" of
    /// running). Absent from models made before it was kept, which then list details as they used to.
    #[serde(default)]
    pub word_memory_order: HashMap<String, Vec<u32>>,
    pub phrase_counts: HashMap<String, u64>,
    pub phrase_memories: HashMap<String, u64>,
    pub marks: HashMap<String, u64>,
    pub sentiment_sum: f64,
    pub sentiment_squares: f64,
    pub scored: u64,
    pub positive: u64,
    pub negative: u64,
}

fn add_counts(
    into: &mut HashMap<String, u64>,
    memories: &mut Option<&mut HashMap<String, u64>>,
    from: &std::collections::BTreeMap<String, u32>,
) {
    for (key, count) in from {
        *into.entry(key.clone()).or_default() += u64::from(*count);
        if let Some(memories) = memories {
            *memories.entry(key.clone()).or_default() += 1;
        }
    }
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

impl VoiceModel {
    pub fn memories(&self) -> u64 {
        self.memory_ids.len() as u64
    }

    /// Takes in one memory's sample; false when it was taken in before.
    pub fn add(&mut self, memory_id: &str, sample: &StyleSample) -> bool {
        if !self.memory_ids.insert(memory_id.to_owned()) {
            return false;
        }
        let order = u32::try_from(self.memory_ids.len() - 1).unwrap_or(u32::MAX);
        for word in sample.word_counts.keys().filter(|word| may_be_a_subject(word)) {
            self.word_memory_order.entry(word.clone()).or_default().push(order);
        }
        self.words += u64::from(sample.words);
        self.sentences += u64::from(sample.sentences);
        self.sentence_words_squared += sample.sentence_words_squared;
        self.short_sentences += u64::from(sample.short_sentences);
        self.long_sentences += u64::from(sample.long_sentences);
        self.exclamations += u64::from(sample.exclamations);
        self.questions += u64::from(sample.questions);
        self.ellipses += u64::from(sample.ellipses);
        self.commas += u64::from(sample.commas);
        self.all_caps += u64::from(sample.all_caps);
        self.lowercase_starts += u64::from(sample.lowercase_starts);
        self.contractions += u64::from(sample.contractions);
        self.long_words += u64::from(sample.long_words);
        add_counts(&mut self.word_counts, &mut Some(&mut self.word_memories), &sample.word_counts);
        add_counts(&mut self.capitalized, &mut None, &sample.capitalized);
        add_counts(&mut self.phrase_counts, &mut Some(&mut self.phrase_memories), &sample.phrases);
        add_counts(&mut self.marks, &mut None, &sample.marks);
        if let Some(sentiment) = sample.sentiment {
            self.scored += 1;
            self.sentiment_sum += sentiment;
            self.sentiment_squares += sentiment * sentiment;
            self.positive += u64::from(sentiment > 0.05);
            self.negative += u64::from(sentiment < -0.05);
        }
        true
    }

    fn per_1000(&self, count: u64) -> f64 {
        round(share(count, self.words) * 1000.0, 2)
    }

    /// Whether the owner writes `word` often with a capital inside sentences (a quarter of its uses or more,
    /// counting those that open a sentence): a name, not a word.
    fn is_name(&self, word: &str) -> bool {
        let capitalized = self.capitalized.get(word).copied().unwrap_or_default();
        capitalized > 0 && capitalized * 4 >= self.word_counts.get(word).copied().unwrap_or_default()
    }

    /// Whether `word` is written almost only where the owner writes of something broader: in at least three
    /// memories, four fifths of which hold one word that is in more of them ("canal" in the memories of
    /// "run", "kiln" in those of "pottery"). A word in more than half of all memories says nothing of what
    /// one is about, so nothing is a detail of it.
    fn is_detail(&self, word: &str) -> bool {
        let Some(within) = self.word_memory_order.get(word).filter(|within| within.len() >= 3) else {
            return false;
        };
        let memories = self.memory_ids.len();
        self.word_memory_order.iter().any(|(broader, around)| {
            around.len() > within.len()
                && around.len() * 2 <= memories
                && broader != word
                && mostly_within(within, around)
        })
    }

    fn count_of(&self, words: &[&str]) -> u64 {
        words.iter().filter_map(|word| self.word_counts.get(*word)).sum()
    }

    fn vocabulary(&self) -> Vocabulary {
        let distinct = self.word_counts.len() as u64;
        let hapax = self.word_counts.values().filter(|count| **count == 1).count() as u64;
        Vocabulary {
            distinct_words: distinct,
            guiraud: if self.words == 0 { 0.0 } else { round(distinct as f64 / (self.words as f64).sqrt(), 2) },
            hapax_share: round(share(hapax, distinct), 3),
            long_word_share: round(share(self.long_words, self.words), 3),
        }
    }

    fn sentence_length(&self) -> SentenceLength {
        let sentences = self.sentences.max(1) as f64;
        let mean = self.words as f64 / sentences;
        let variance = (self.sentence_words_squared as f64 / sentences - mean * mean).max(0.0);
        SentenceLength {
            mean_words: round(mean, 1),
            stdev_words: round(variance.sqrt(), 1),
            short_share: round(share(self.short_sentences, self.sentences), 3),
            long_share: round(share(self.long_sentences, self.sentences), 3),
        }
    }

    /// Word sequences the owner uses far more than general English would make them by chance: ranked by how
    /// many times more (the ratio of the owner's rate to the product of the words' English frequencies, in
    /// logs) and by how many memories use them; a phrase sharing two words in a row with a better one, or with
    /// the longer sequence that one is a window of (phrases used exactly as often, each going on from the one
    /// before in a single way), is part of the same habit and left out.
    fn signature_phrases(&self) -> Vec<PhraseUse> {
        let memories = self.memories();
        let least = if memories < 50 { 2 } else { 3 };
        let words = self.words.max(1) as f64;
        let mut scored: Vec<(f64, &String, u64, u64)> = self
            .phrase_counts
            .iter()
            .filter_map(|(phrase, uses)| {
                let in_memories = self.phrase_memories.get(phrase).copied().unwrap_or_default();
                if in_memories < least || phrase.split(' ').any(|word| self.is_name(word)) {
                    return None;
                }
                let expected: f64 = phrase.split(' ').map(|word| ENGLISH.per_million(word) / 1e6).product();
                let observed = *uses as f64 / words;
                let lift = (observed / expected).ln();
                (lift > 0.0).then(|| (lift * (1.0 + in_memories as f64).ln(), phrase, *uses, in_memories))
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        let pairs = |text: &str| -> Vec<String> {
            let words: Vec<&str> = text.split(' ').collect();
            words.windows(2).map(|pair| pair.join(" ")).collect()
        };
        // The three-word phrases by their first two words and by their last two, with their uses: how a
        // sequence written again and again is followed window by window.
        let mut after: HashMap<String, Vec<(&str, u64)>> = HashMap::new();
        let mut before: HashMap<String, Vec<(&str, u64)>> = HashMap::new();
        for (phrase, uses) in &self.phrase_counts {
            if let [first, second, third] = phrase.split(' ').collect::<Vec<_>>()[..] {
                after.entry(format!("{first} {second}")).or_default().push((third, *uses));
                before.entry(format!("{second} {third}")).or_default().push((first, *uses));
            }
        }
        // The one word that goes on from `pair` in phrases used exactly `uses` times, if there is just one.
        let only = |next: Option<&Vec<(&str, u64)>>, uses: u64| -> Option<String> {
            let mut found = next?.iter().filter(|(_, other_uses)| *other_uses == uses);
            let (word, _) = found.next()?;
            found.next().is_none().then(|| (*word).to_owned())
        };
        // Word pairs of the habits chosen so far, and of the longer sequences each is a window of.
        let mut covered: HashSet<String> = HashSet::new();
        let mut chosen: Vec<PhraseUse> = Vec::new();
        for (_, phrase, uses, in_memories) in scored {
            // A phrase sharing two words in a row with a better one is part of the same habit.
            if pairs(phrase).iter().any(|pair| covered.contains(pair)) {
                continue;
            }
            chosen.push(PhraseUse { phrase: phrase.clone(), uses, memories: in_memories });
            if chosen.len() == MAX_PHRASES {
                break;
            }
            // The windows of one sentence written again and again ("centred the clay first try for once") are
            // used exactly as often, and each goes on from the one before in a single way: the whole sequence
            // is one habit, its other windows no more.
            let mut sequence: Vec<String> = phrase.split(' ').map(str::to_owned).collect();
            while sequence.len() < MAX_SEQUENCE_WORDS {
                let tail = sequence[sequence.len() - 2..].join(" ");
                let Some(word) = only(after.get(&tail), uses) else { break };
                sequence.push(word);
            }
            while sequence.len() < MAX_SEQUENCE_WORDS {
                let head = sequence[..2].join(" ");
                let Some(word) = only(before.get(&head), uses) else { break };
                sequence.insert(0, word);
            }
            covered.extend(pairs(&sequence.join(" ")));
        }
        chosen
    }

    fn emoji(&self) -> Vec<MarkUse> {
        let mut marks: Vec<(&String, &u64)> = self.marks.iter().collect();
        marks.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        marks
            .into_iter()
            .take(MAX_MARKS)
            .map(|(mark, uses)| MarkUse { mark: mark.clone(), uses: *uses, per_1000_words: self.per_1000(*uses) })
            .collect()
    }

    fn punctuation(&self) -> Punctuation {
        Punctuation {
            exclamation_share: round(share(self.exclamations, self.sentences), 3),
            question_share: round(share(self.questions, self.sentences), 3),
            ellipses_per_1000_words: self.per_1000(self.ellipses),
            commas_per_sentence: round(self.commas as f64 / self.sentences.max(1) as f64, 2),
            all_caps_per_1000_words: self.per_1000(self.all_caps),
            lowercase_start_share: round(share(self.lowercase_starts, self.sentences), 3),
            emoji_per_1000_words: self.per_1000(self.marks.values().sum()),
        }
    }

    /// Heylighen and Dewaele's F = (formal classes % - contextual classes % + 100) / 2, from the classes a
    /// list can hold: articles and prepositions against pronouns, adverbs (listed, or ending in `-ly`) and
    /// interjections.
    fn formality(&self) -> Formality {
        let percent = |count: u64| share(count, self.words) * 100.0;
        let ly_adverbs: u64 = self
            .word_counts
            .iter()
            .filter(|(word, _)| word.len() > 4 && word.ends_with("ly") && !ADVERBS.contains(&word.as_str()))
            .map(|(_, count)| count)
            .sum();
        let formal = percent(self.count_of(ARTICLES)) + percent(self.count_of(PREPOSITIONS));
        let contextual = percent(self.count_of(PRONOUNS))
            + percent(self.count_of(ADVERBS) + ly_adverbs)
            + percent(self.count_of(INTERJECTIONS));
        let score = ((formal - contextual + 100.0) / 2.0).clamp(0.0, 100.0);
        let label = if score >= FORMAL_FROM {
            "formal"
        } else if score <= CASUAL_UNTIL {
            "casual"
        } else {
            "neutral"
        };
        Formality {
            score: round(score, 1),
            label: label.to_owned(),
            contractions_per_100_words: round(percent(self.contractions), 2),
        }
    }

    fn sentiment(&self) -> Option<SentimentBaseline> {
        if self.scored == 0 {
            return None;
        }
        let scored = self.scored as f64;
        let mean = self.sentiment_sum / scored;
        Some(SentimentBaseline {
            mean: round(mean, 3),
            stdev: round((self.sentiment_squares / scored - mean * mean).max(0.0).sqrt(), 3),
            positive_share: round(share(self.positive, self.scored), 3),
            negative_share: round(share(self.negative, self.scored), 3),
            scored_memories: self.scored,
        })
    }

    /// Words the owner writes about in many memories and that are rare in general English (document
    /// frequency times the word's English information), grouped by stem; names are the relationship
    /// mapper's, and left out, as are verbs' past forms ("cracked", "chose"): what was done, not a subject.
    /// A common word is a subject too when the owner writes it far more often than English would by chance
    /// ("run" in half of a runner's memories).
    fn interests(&self, stemmer: &rust_stemmers::Stemmer, phrases: &[PhraseUse]) -> Vec<Interest> {
        let memories = self.memories();
        let min_memories = interest_min_memories(memories);
        let words_per_memory = share(self.words, memories);
        // A word the owner uses mostly as part of a habit of speech ("to be honest") is style, not a subject;
        // but a phrase with a weekday names a routine ("Saturday run"), which is what they write about.
        let in_phrases: std::collections::HashSet<&str> = phrases
            .iter()
            .filter(|phrase| !phrase.phrase.split(' ').any(is_weekday))
            .flat_map(|phrase| phrase.phrase.split(' '))
            .collect();
        let mut by_stem: HashMap<String, (f64, u64, &String, u64)> = HashMap::new();
        for (word, in_memories) in &self.word_memories {
            let common = ENGLISH.rank(word).is_some_and(|rank| rank <= INTEREST_MIN_RANK);
            let written_for_itself = !common
                || (*in_memories >= COMMON_INTEREST_MIN_MEMORIES
                    && lift_over_english(word, share(*in_memories, memories), words_per_memory)
                        >= COMMON_INTEREST_MIN_LIFT);
            let letters = is_plain_word(word);
            let excluded = self.is_name(word)
                || is_weekday(word)
                || CATEGORIES.contains_key(word.as_str())
                || in_phrases.contains(word.as_str())
                || is_past_form(word);
            if *in_memories < min_memories || !written_for_itself || !letters || excluded {
                continue;
            }
            let information = (1e6 / ENGLISH.per_million(word)).ln();
            let uses = self.word_counts.get(word).copied().unwrap_or_default();
            let entry = by_stem.entry(stemmer.stem(word).into_owned()).or_insert((0.0, 0, word, 0));
            entry.0 = entry.0.max(*in_memories as f64 * information);
            entry.1 = entry.1.max(*in_memories);
            if uses > entry.3 {
                entry.2 = word;
                entry.3 = uses;
            }
        }
        let mut ranked: Vec<(f64, u64, &String)> =
            by_stem.into_values().map(|(score, m, word, _)| (score, m, word)).collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.2.cmp(b.2)));
        ranked
            .into_iter()
            .filter(|(_, _, word)| !self.is_detail(word))
            .take(MAX_INTERESTS)
            .map(|(_, in_memories, word)| Interest {
                term: word.clone(),
                memories: in_memories,
                share: round(share(in_memories, memories), 3),
            })
            .collect()
    }

    fn rate_per_1000(&self, category: Category) -> f64 {
        if category == Category::LongWords {
            return share(self.long_words, self.words) * 1000.0;
        }
        share(self.count_of(category.words()), self.words) * 1000.0
    }

    /// The personality indicators: for each trait, the categories whose use goes with it in studies of
    /// language and personality, each compared with general English (the log of the ratio of rates, smoothed
    /// and bounded), signed by the direction of the finding and averaged.
    fn personality(&self) -> Personality {
        let traits = TRAITS
            .iter()
            .map(|(name, markers)| {
                let markers: Vec<MarkerRate> = markers
                    .iter()
                    .map(|(category, direction)| MarkerRate {
                        category: category.name().to_owned(),
                        direction: *direction,
                        per_1000_words: round(self.rate_per_1000(*category), 2),
                        reference_per_1000_words: round(ENGLISH.reference_per_1000(*category), 2),
                    })
                    .collect();
                let score = markers
                    .iter()
                    .map(|marker| {
                        let ratio = (marker.per_1000_words + SMOOTHING_PER_1000)
                            / (marker.reference_per_1000_words + SMOOTHING_PER_1000);
                        f64::from(marker.direction) * ratio.log2().clamp(-2.0, 2.0) / 2.0
                    })
                    .sum::<f64>()
                    / markers.len() as f64;
                let level = if score >= TRAIT_LEVEL {
                    "higher"
                } else if score <= -TRAIT_LEVEL {
                    "lower"
                } else {
                    "typical"
                };
                TraitIndicator { name: (*name).to_owned(), score: round(score, 2), level: level.to_owned(), markers }
            })
            .collect();
        Personality {
            method: PERSONALITY_METHOD.to_owned(),
            confidence: round((self.words as f64 / WORDS_FOR_CONFIDENCE).min(1.0), 2),
            traits,
        }
    }

    /// The persona this model shows.
    pub fn persona(&self, owner: &str) -> Persona {
        let stemmer = rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English);
        let mut signature_phrases = self.signature_phrases();
        let interests = self.interests(&stemmer, &signature_phrases);
        // Only now: interests match the phrases' words against the lower-case words they were counted as.
        for phrase in &mut signature_phrases {
            phrase.phrase = as_english_writes_it(&phrase.phrase);
        }
        Persona {
            owner: owner.to_owned(),
            model_version: None,
            from: None,
            until: None,
            memories: self.memories(),
            words: self.words,
            sentences: self.sentences,
            vocabulary: self.vocabulary(),
            sentence_length: self.sentence_length(),
            signature_phrases,
            emoji: self.emoji(),
            punctuation: self.punctuation(),
            formality: self.formality(),
            sentiment: self.sentiment(),
            interests,
            personality: self.personality(),
        }
    }
}

/// `phrase` (lower-cased words) as English writes it: the pronoun I and weekdays with their capitals ("glad I
/// went", "I'm in", "Saturday run").
fn as_english_writes_it(phrase: &str) -> String {
    let words: Vec<String> = phrase
        .split(' ')
        .map(|word| match WEEKDAYS.iter().find(|weekday| weekday.eq_ignore_ascii_case(word)) {
            Some(weekday) => (*weekday).to_owned(),
            None if is_pronoun_i(word) => format!("I{}", &word[1..]),
            None => word.to_owned(),
        })
        .collect();
    words.join(" ")
}

const WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// Where the formality labels change (see [`VoiceModel::formality`]).
const FORMAL_FROM: f64 = 55.0;
const CASUAL_UNTIL: f64 = 47.0;

/// Words of general English more frequent than this rank (articles, pronouns, "went") say nothing of what a
/// memory is about: no interest is a detail of them.
const SUBJECT_MIN_RANK: usize = 300;

/// A word of three letters or more and nothing else: what an interest, or a subject, can be.
fn is_plain_word(word: &str) -> bool {
    word.chars().all(char::is_alphabetic) && word.chars().count() >= 3
}

/// Whether `word` may be what a memory is about, as a subject that other words are details of.
fn may_be_a_subject(word: &str) -> bool {
    is_plain_word(word) && ENGLISH.rank(word).is_none_or(|rank| rank > SUBJECT_MIN_RANK)
}

/// Whether four fifths of `within` are in `around` (both ascending). Looked up rather than merged: `within`
/// is a handful of memories, `around` may be thousands.
fn mostly_within(within: &[u32], around: &[u32]) -> bool {
    let allowed_misses = within.len() / 5;
    let mut misses = 0;
    for memory in within {
        if around.binary_search(memory).is_err() {
            misses += 1;
            if misses > allowed_misses {
                return false;
            }
        }
    }
    true
}

/// Words of general English more frequent than this rank are interests only when the owner writes them far
/// more often than English does (`COMMON_INTEREST_MIN_LIFT`).
const INTEREST_MIN_RANK: usize = 1500;

/// How many times more of the owner's memories than chance must hold a common word for it to be a subject:
/// a runner writes "run" in a hundred times the memories English would put it in, a diarist "happy" or
/// "hard" in a few dozen times.
const COMMON_INTEREST_MIN_LIFT: f64 = 50.0;
const COMMON_INTEREST_MIN_MEMORIES: u64 = 3;

/// The memories an interest must be written in: two, and in a larger collection one in fifty, up to five; a
/// word in two memories of hundreds is a passing mention ("everything feels grey").
fn interest_min_memories(memories: u64) -> u64 {
    memories.div_ceil(50).clamp(2, 5)
}

/// How many times more memories hold `word` (`in_share` of them) than would by chance in general English,
/// with memories of `words_per_memory` words.
fn lift_over_english(word: &str, in_share: f64, words_per_memory: f64) -> f64 {
    let per_word = ENGLISH.per_million(word) / 1e6;
    let by_chance = 1.0 - (1.0 - per_word).powf(words_per_memory.max(1.0));
    in_share / by_chance
}

/// A weekday tells when something was done, not what it was about.
fn is_weekday(word: &str) -> bool {
    WEEKDAYS.iter().any(|weekday| weekday.eq_ignore_ascii_case(word))
}

/// Added to both rates so that a category rare in both does not swing a trait.
const SMOOTHING_PER_1000: f64 = 1.0;
const TRAIT_LEVEL: f64 = 0.2;
/// Words after which the indicators are as steady as they get (confidence 1).
const WORDS_FOR_CONFIDENCE: f64 = 5_000.0;

const PERSONALITY_METHOD: &str = "Rates of word categories (per 1000 words) against the same lists in general English \
(wordfreq), signed by the direction reported in language-and-personality studies (Pennebaker & King 1999; \
Yarkoni 2010) and averaged per trait; an indication from word use, not a personality test.";

/// Each trait's markers and the direction in which they point to it.
const TRAITS: &[(&str, &[(Category, i8)])] = &[
    (
        "openness",
        &[
            (Category::Articles, 1),
            (Category::LongWords, 1),
            (Category::Insight, 1),
            (Category::FirstPersonSingular, -1),
        ],
    ),
    (
        "conscientiousness",
        &[
            (Category::Achievement, 1),
            (Category::Negations, -1),
            (Category::NegativeEmotion, -1),
            (Category::Swearing, -1),
        ],
    ),
    (
        "extraversion",
        &[
            (Category::Social, 1),
            (Category::PositiveEmotion, 1),
            (Category::FirstPersonPlural, 1),
            (Category::Tentative, -1),
        ],
    ),
    (
        "agreeableness",
        &[
            (Category::PositiveEmotion, 1),
            (Category::FirstPersonPlural, 1),
            (Category::NegativeEmotion, -1),
            (Category::Swearing, -1),
        ],
    ),
    (
        "neuroticism",
        &[
            (Category::NegativeEmotion, 1),
            (Category::FirstPersonSingular, 1),
            (Category::PositiveEmotion, -1),
            (Category::Certainty, -1),
        ],
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn model_of(texts: &[&str]) -> VoiceModel {
        let mut model = VoiceModel::default();
        for (index, text) in texts.iter().enumerate() {
            model.add(&format!("m{index}"), &StyleSample::read(text, None, Some(0.4)));
        }
        model
    }

    #[test]
    fn a_memory_counts_once() {
        let sample = StyleSample::read("Lovely day at the allotment.", None, None);
        let mut model = VoiceModel::default();
        assert!(model.add("m1", &sample));
        assert!(!model.add("m1", &sample));
        assert_eq!(model.words, 5);
    }

    #[test]
    fn habits_of_speech_and_interests_stand_out() {
        let persona = model_of(&[
            "To be honest the sourdough was flat again. No worries, I'll try tomorrow!",
            "To be honest I love the allotment in spring. The tomatoes are coming on :)",
            "Baked sourdough with Omar. To be honest, it was the best loaf yet!",
            "No worries about the allotment, the rain did the watering. Sourdough tonight.",
            "Omar says the tomatoes need feeding. To be honest I forgot :)",
        ])
        .persona("sam");
        let phrases: Vec<&str> = persona.signature_phrases.iter().map(|phrase| phrase.phrase.as_str()).collect();
        assert_eq!(phrases.first(), Some(&"to be honest"), "{phrases:?}");
        assert!(phrases.contains(&"no worries"), "{phrases:?}");
        let interests: Vec<&str> = persona.interests.iter().map(|interest| interest.term.as_str()).collect();
        assert!(interests.contains(&"sourdough") && interests.contains(&"allotment"), "{interests:?}");
        assert!(!interests.contains(&"omar"), "names are not interests: {interests:?}");
        assert_eq!(persona.emoji[0].mark, ":)");
        assert_eq!(persona.sentiment.unwrap().scored_memories, 5);
    }

    #[test]
    fn a_word_written_almost_only_within_a_broader_subject_is_no_interest_of_its_own() {
        let mut texts = vec![
            "Pottery class: the kiln was full.",
            "Pottery again, trimmed a bowl before the kiln.",
            "Pottery: the kiln cracked my vase.",
            "Pottery night, glazing by the kiln.",
            "Pottery: centred the clay at last.",
            "Pottery class, pulled handles.",
            "Pottery: finished the teapot.",
            "The museum had a Hepworth room; the kiln there is enormous.",
            "Back at the museum for the prints.",
            "The museum cafe again.",
        ];
        texts.extend(std::iter::repeat_n("Quiet evening, read a book.", 10));
        let persona = model_of(&texts).persona("sam");
        let interests: Vec<&str> = persona.interests.iter().map(|interest| interest.term.as_str()).collect();
        assert!(interests.contains(&"pottery") && interests.contains(&"museum"), "{interests:?}");
        // Four of the kiln's five memories are pottery's: a detail of it.
        assert!(!interests.contains(&"kiln"), "{interests:?}");

        // A word in more than half the memories says nothing of what one is about: nothing is a detail of it.
        let persona = model_of(&texts[..7]).persona("sam");
        let interests: Vec<&str> = persona.interests.iter().map(|interest| interest.term.as_str()).collect();
        assert!(interests.contains(&"kiln"), "{interests:?}");

        // A model made before memories were kept per word lists what it used to.
        let mut model = model_of(&texts);
        model.word_memory_order.clear();
        let interests: Vec<String> = model.persona("sam").interests.into_iter().map(|interest| interest.term).collect();
        assert!(interests.iter().any(|term| term == "kiln"), "{interests:?}");
    }

    #[test]
    fn a_common_word_written_far_beyond_chance_is_a_subject_and_a_passing_mention_is_none() {
        let routes = ["along the river", "around the park", "up to the reservoir", "by the canal"];
        let feelings = ["Legs felt strong.", "Slow but steady.", "Cold hands, happy heart.", "Hard going."];
        let waters = ["Choppy water on the lake", "Flat calm at the harbour", "A gusty afternoon out at sea"];
        let days = [
            "Long day at work, glad to be home.",
            "Cooked a curry and watched a film.",
            "Phoned Mum about the holidays.",
            "Tidied the kitchen, then an early night.",
            "Meetings all morning, emails all afternoon.",
        ];
        let mut texts = Vec::new();
        for week in 0..40 {
            texts.push(format!("Saturday run, {}k {}. {}", 5 + week % 6, routes[week % 4], feelings[week / 4 % 4]));
            texts.push(format!("{}, the sailing club's dinghy again; tacking is getting better.", waters[week % 3]));
            if week < 38 {
                texts.push(days[week % 5].to_owned());
            }
        }
        texts.push("Everything feels grey today.".to_owned());
        texts.push("Grey sky over the office.".to_owned());
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let persona = model_of(&texts).persona("sam");
        let interests: Vec<&str> = persona.interests.iter().map(|interest| interest.term.as_str()).collect();
        // "Saturday run" is a phrase of theirs, and a routine rather than a habit of speech.
        assert!(interests.contains(&"run") && interests.contains(&"sailing"), "{interests:?}");
        assert!(!interests.contains(&"saturday"), "a weekday is when, not what: {interests:?}");
        assert!(!interests.contains(&"grey"), "two memories of 120 are a passing mention: {interests:?}");
        assert!(!interests.contains(&"day") && !interests.contains(&"home"), "{interests:?}");
    }

    #[test]
    fn an_interest_is_in_two_memories_and_in_a_larger_collection_one_in_fifty_up_to_five() {
        assert_eq!(interest_min_memories(5), 2);
        assert_eq!(interest_min_memories(120), 3);
        assert_eq!(interest_min_memories(10_000), 5);
    }

    #[test]
    fn four_fifths_within_is_mostly_within() {
        let around = [1, 4, 6, 9, 12, 30];
        assert!(mostly_within(&[1, 4, 6, 9, 13], &around), "four of five");
        assert!(!mostly_within(&[1, 4, 6, 13], &around), "three of four");
        assert!(!mostly_within(&[2, 4, 6, 9, 13], &around), "three of five");
    }

    #[test]
    fn phrases_write_i_and_weekdays_as_english_does() {
        let persona = model_of(&["Glad I went, again.", "So glad I went.", "Rainy but glad I went."]).persona("sam");
        let phrases: Vec<&str> = persona.signature_phrases.iter().map(|phrase| phrase.phrase.as_str()).collect();
        assert!(phrases.contains(&"glad I went"), "{phrases:?}");
        assert_eq!(as_english_writes_it("i'm in if it's on"), "I'm in if it's on");
        assert_eq!(as_english_writes_it("it is"), "it is");
        assert_eq!(as_english_writes_it("saturday run"), "Saturday run");
    }

    #[test]
    fn a_sentence_written_again_and_again_is_one_habit() {
        let mut texts = vec!["Centred the clay first try for once."; 5];
        texts.extend(["To be honest, fine.", "To be honest it rained.", "Fine, to be honest."]);
        let persona = model_of(&texts).persona("sam");
        let phrases: Vec<&str> = persona.signature_phrases.iter().map(|phrase| phrase.phrase.as_str()).collect();
        let windows =
            ["clay first try", "first try for", "try for once", "clay first", "first try", "try for", "for once"];
        assert_eq!(phrases.iter().filter(|phrase| windows.contains(phrase)).count(), 1, "{phrases:?}");
        assert!(phrases.contains(&"to be honest"), "{phrases:?}");
    }

    #[test]
    fn chat_reads_as_more_casual_than_prose() {
        let chat = model_of(&[
            "haha yeah i know right",
            "omg we should totally go, you coming?",
            "lol ok see you there then",
            "yeah me too, really tired tbh",
        ])
        .persona("a");
        let prose = model_of(&[
            "The committee reviewed the proposal for the renovation of the library in the spring.",
            "A summary of the findings was sent to the members of the board at the end of the month.",
            "The cost of the work depends on the price of materials in the region.",
        ])
        .persona("b");
        assert!(chat.formality.score < prose.formality.score, "{} vs {}", chat.formality.score, prose.formality.score);
        assert_eq!(chat.formality.label, "casual");
        assert_eq!(prose.formality.label, "formal");
        let openness = |persona: &Persona| persona.personality.traits[0].score;
        assert!(openness(&prose) > openness(&chat));
    }
}
