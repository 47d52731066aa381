//! Payloads of the avatar trainer: a person's voice learned from their own words, the style profile read from
//! it, and answers in that voice.

use serde::{Deserialize, Serialize};

use crate::guardian::Sensitivity;
use crate::harvester::ProcessedMemory;

pub mod message_types {
    /// The pipeline step: take one stored memory into its owner's voice, if the owner wrote it.
    pub const TRAIN_AVATAR: &str = "train_avatar";
    pub const AVATAR_TRAINED: &str = "avatar_trained";
    pub const GET_PERSONA: &str = "get_persona";
    pub const PERSONA: &str = "persona";
    pub const LIST_MODEL_VERSIONS: &str = "list_model_versions";
    pub const MODEL_VERSIONS: &str = "model_versions";
    pub const RESPOND: &str = "respond";
    pub const AVATAR_RESPONSE: &str = "avatar_response";
}

/// `train_avatar`: one memory as the pipeline stored it, with the sensitivity the guardian gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainAvatarRequest {
    pub memory: ProcessedMemory,
    pub sensitivity: Sensitivity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AvatarTrained {
    pub owner: String,
    pub memory_id: String,
    /// Whether the owner wrote it (see [`crate::harvester::written_by_owner`]); only their own words are learned.
    pub own_words: bool,
    /// False when nothing changed: the memory was taken in before (a redelivery), or it is not the owner's.
    pub trained: bool,
    /// The model snapshot this step wrote, when it wrote one.
    pub snapshot: Option<u64>,
}

/// `get_persona`: the owner's style profile, for a principal the guardian lets read derived results. With
/// `from`/`until`, only memories of that span (`YYYY-MM-DD` or RFC 3339; `until` is exclusive for an instant,
/// inclusive for a day); with `version`, as the model snapshot of that version had it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetPersonaRequest {
    pub principal: String,
    pub owner: String,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub until: Option<String>,
    #[serde(default)]
    pub version: Option<u64>,
}

/// How a person writes, from their own words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Persona {
    pub owner: String,
    /// The model snapshot read, when the persona comes from one.
    pub model_version: Option<u64>,
    pub from: Option<String>,
    pub until: Option<String>,
    /// The owner's own memories it rests on.
    pub memories: u64,
    pub words: u64,
    pub sentences: u64,
    pub vocabulary: Vocabulary,
    pub sentence_length: SentenceLength,
    /// Word sequences the owner returns to, most characteristic first.
    pub signature_phrases: Vec<PhraseUse>,
    /// Emoji and emoticons, most used first.
    pub emoji: Vec<MarkUse>,
    pub punctuation: Punctuation,
    pub formality: Formality,
    /// Over the memories the pattern analyzer scored; absent when it scored none.
    pub sentiment: Option<SentimentBaseline>,
    /// What the owner writes about, by the share of their memories that mention it.
    pub interests: Vec<Interest>,
    pub personality: Personality,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Vocabulary {
    pub distinct_words: u64,
    /// Distinct words per square root of words (Guiraud's index), which unlike the plain type-token ratio
    /// does not fall as the owner writes more.
    pub guiraud: f64,
    /// Share of distinct words used once only.
    pub hapax_share: f64,
    /// Share of words of seven letters or more.
    pub long_word_share: f64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SentenceLength {
    pub mean_words: f64,
    pub stdev_words: f64,
    /// Share of sentences of at most five words.
    pub short_share: f64,
    /// Share of sentences of 25 words or more.
    pub long_share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhraseUse {
    pub phrase: String,
    pub uses: u64,
    /// Of the owner's memories, how many use it.
    pub memories: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarkUse {
    pub mark: String,
    pub uses: u64,
    pub per_1000_words: f64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Punctuation {
    /// Shares of sentences that end so.
    pub exclamation_share: f64,
    pub question_share: f64,
    pub ellipses_per_1000_words: f64,
    pub commas_per_sentence: f64,
    /// Words written in capitals for emphasis (two letters or more, acronyms included).
    pub all_caps_per_1000_words: f64,
    /// Share of sentences that start with a lower-case letter.
    pub lowercase_start_share: f64,
    pub emoji_per_1000_words: f64,
}

/// Heylighen and Dewaele's F-score read from closed word classes (see `docs/protocol.md`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Formality {
    /// 0..100; higher is more formal: `formal` from 55, `casual` up to 47, `neutral` between.
    pub score: f64,
    /// `formal`, `neutral` or `casual`.
    pub label: String,
    pub contractions_per_100_words: f64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SentimentBaseline {
    /// Mean compound sentiment, -1..1.
    pub mean: f64,
    pub stdev: f64,
    /// Shares of memories above 0.05 and below -0.05.
    pub positive_share: f64,
    pub negative_share: f64,
    pub scored_memories: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interest {
    pub term: String,
    pub memories: u64,
    /// Of the owner's memories.
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Personality {
    /// How the indicators are read, in a sentence.
    pub method: String,
    /// 0..1: grows with the words read; below 0.5 the indicators are weak.
    pub confidence: f64,
    pub traits: Vec<TraitIndicator>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraitIndicator {
    /// `openness`, `conscientiousness`, `extraversion`, `agreeableness` or `neuroticism`.
    pub name: String,
    /// -1..1: how far the owner's use of the trait's markers lies from general English, in its direction.
    pub score: f64,
    /// `higher`, `typical` or `lower`.
    pub level: String,
    pub markers: Vec<MarkerRate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarkerRate {
    /// The word category (`first_person_singular`, `social`, ...).
    pub category: String,
    /// +1 when more of it points to the trait, -1 when less does.
    pub direction: i8,
    pub per_1000_words: f64,
    /// The category's rate in general English.
    pub reference_per_1000_words: f64,
}

/// `list_model_versions`: the owner's model snapshots kept, for a principal the guardian lets read derived
/// results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListModelVersionsRequest {
    pub principal: String,
    pub owner: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersions {
    pub owner: String,
    /// Oldest first.
    pub versions: Vec<ModelVersion>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersion {
    pub version: u64,
    /// RFC 3339.
    pub written_at: String,
    pub memories: u64,
    pub words: u64,
    pub bytes: u64,
}

/// `respond`: an answer to `prompt` in the owner's voice, composed from what the owner wrote, as `principal`
/// may see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RespondRequest {
    pub principal: String,
    pub owner: String,
    pub prompt: String,
    /// How many of the owner's memories to draw on; 5 when absent, at most [`MAX_RESPOND_SOURCES`].
    #[serde(default)]
    pub limit: Option<usize>,
}

pub const MAX_RESPOND_SOURCES: usize = 20;

/// How an answer was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseBackend {
    /// Sentences of the owner's own memories, chosen and joined in their style.
    Extractive,
    /// A language model given the persona and the memories, redacted as the guardian requires.
    Llm,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AvatarResponse {
    pub owner: String,
    pub prompt: String,
    /// Empty when nothing the owner wrote answers the prompt.
    pub text: String,
    pub answered: bool,
    pub backend: ResponseBackend,
    /// The memories drawn on, as the principal may see them.
    pub sources: Vec<ResponseSource>,
    /// Why the language model was not used when it is configured, or other notes on how this was made.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseSource {
    pub memory_id: String,
    pub occurred_at: Option<String>,
    pub snippet: String,
    pub redacted: bool,
}
