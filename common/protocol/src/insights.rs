//! The insight generator's messages: recall (`search`) over an owner's memories, and the pipeline step that
//! keeps its index.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::guardian::Sensitivity;
use crate::harvester::{ProcessedMemory, SourceKind};

pub mod message_types {
    /// A pipeline step: take a stored memory into the owner's index.
    pub const INDEX_MEMORY: &str = "index_memory";
    pub const MEMORY_INDEXED: &str = "memory_indexed";
    /// Recall: the owner's memories that answer a question, best first.
    pub const SEARCH: &str = "search";
    pub const SEARCH_RESULTS: &str = "search_results";
    /// A digest of a period of the owner's life, from what the analysis agents and recall know.
    pub const GENERATE_INSIGHTS: &str = "generate_insights";
    pub const INSIGHTS: &str = "insights";
    /// The owner's rating of a kind of insight, which moves that kind's weight in their digests.
    pub const RATE_INSIGHT: &str = "rate_insight";
    pub const INSIGHT_RATED: &str = "insight_rated";
}

/// `index_memory`: one memory as the pipeline stored it, with the sensitivity the guardian gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexMemoryRequest {
    pub memory: ProcessedMemory,
    pub sensitivity: Sensitivity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryIndexed {
    pub owner: String,
    pub memory_id: String,
    /// False when the memory was indexed before (a redelivery): nothing changed.
    pub indexed: bool,
}

/// `search`: what of `owner`'s memories answers `query`, for `principal` (the owner, or a grantee the guardian
/// lets read memories: they see only what their grant reaches, in shareable form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchRequest {
    pub principal: String,
    pub owner: String,
    /// Words, names and time expressions ("what did Omar say about the studio last summer").
    pub query: String,
    /// How many results; 10 when absent, at most [`MAX_SEARCH_LIMIT`].
    #[serde(default)]
    pub limit: Option<usize>,
    #[serde(default)]
    pub filters: SearchFilters,
}

pub const MAX_SEARCH_LIMIT: usize = 100;

/// Hard limits on what may be returned, beside what the query itself says.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchFilters {
    /// Only memories from this instant on (RFC 3339, or a `YYYY-MM-DD` day).
    #[serde(default)]
    pub from: Option<String>,
    /// Only memories before this instant (RFC 3339, or a `YYYY-MM-DD` day, which is included).
    #[serde(default)]
    pub until: Option<String>,
    /// Only memories written by or with one of these people (names or addresses, any case).
    #[serde(default)]
    pub people: Vec<String>,
    /// Only memories from these kinds of source.
    #[serde(default)]
    pub source_kinds: Vec<SourceKind>,
    /// The instant relative expressions ("yesterday", "last summer") count from (RFC 3339); now when absent.
    #[serde(default)]
    pub now: Option<String>,
    /// Only what the owner wrote: memories without an author (notes, journals) and those whose author is the
    /// owner (see [`crate::harvester::written_by_owner`]).
    #[serde(default)]
    pub own_words_only: bool,
}

/// How the query was read: what was matched, and what narrowed or widened it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueryReading {
    /// The query's words as the index holds them (lower case, stemmed, without stop words).
    pub terms: Vec<String>,
    /// The same words as the query writes them, one for each of `terms` in their order (a word opening the
    /// query lower-cased): what to show a person of what was searched for.
    #[serde(default)]
    pub words: Vec<String>,
    /// Words the owner's own memories add to the query, with their weight relative to a query word.
    pub expansion: Vec<WeightedTerm>,
    /// The time the query speaks of, if it speaks of one.
    pub period: Option<Period>,
    /// People of the owner's memories the query names, as it writes them.
    pub people: Vec<String>,
    /// Whether the query asks for the first or the last time of something: its best matches then come in order
    /// of date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<RecallOrder>,
    /// Whether the query asks how often something happened: the memories that say it are counted, and come
    /// first, in order of date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tally: Option<RecallTally>,
}

/// A query's "how often ...", "how many times ...": how many of the owner's memories (in its period, when it
/// names one) say what it asks about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecallTally {
    /// The words it was read from ("how often").
    pub expression: String,
    pub memories: u64,
    /// The days they fall on: a conversation of many turns, or a day written of twice, is one time.
    #[serde(default)]
    pub days: u64,
}

/// A query's "when did I last ...", "the first time ...": the memories that match it about as well as the best
/// come first, latest or earliest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecallOrder {
    /// The words it was read from ("last", "the first time").
    pub expression: String,
    /// Latest first ("last", "most recently"); otherwise earliest first ("first").
    pub latest_first: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightedTerm {
    /// As the index holds it (stemmed: `alreadi`).
    pub term: String,
    pub weight: f64,
    /// The word as the memories found write it (`already`), when one the caller may read does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub word: Option<String>,
}

/// A span of time a query speaks of: memories inside it rank before the others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Period {
    /// The words it was read from ("last summer", "the week after the wedding").
    pub expression: String,
    /// RFC 3339, inclusive.
    pub from: String,
    /// RFC 3339, exclusive.
    pub until: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    pub owner: String,
    pub query: String,
    pub reading: QueryReading,
    pub results: Vec<SearchHit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    pub memory_id: String,
    /// Where the memory came from (a file and line, a chat turn's id, a message id).
    pub source: Option<String>,
    pub occurred_at: Option<String>,
    /// The part of the memory that best matches, as the principal may see it.
    pub snippet: String,
    /// The ranking score: higher is better; comparable within one answer only.
    pub score: f64,
    /// Whether the snippet is in shareable (redacted) form.
    pub redacted: bool,
}

/// The span a digest covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DigestPeriod {
    Day,
    Week,
    Month,
    Year,
}

impl DigestPeriod {
    pub const fn as_str(self) -> &'static str {
        match self {
            DigestPeriod::Day => "day",
            DigestPeriod::Week => "week",
            DigestPeriod::Month => "month",
            DigestPeriod::Year => "year",
        }
    }
}

/// `generate_insights`: a digest of the `period` ending on `ending`, for a principal the guardian lets read
/// results derived from `owner`'s memories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateInsightsRequest {
    pub principal: String,
    pub owner: String,
    pub period: DigestPeriod,
    /// `YYYY-MM-DD`, the period's last day (a week is the seven days ending on it, a month and a year the
    /// calendar ones holding it); the day of the owner's latest memory when absent.
    #[serde(default)]
    pub ending: Option<String>,
    /// How long the agents asked for their part may take, in milliseconds (5000 when absent, at most 60000);
    /// what is not there by then is left out and named in `missing`.
    #[serde(default)]
    pub deadline_ms: Option<u64>,
}

/// `rate_insight`: how useful the owner found a kind of insight, 1 (not at all) to 5 (very).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateInsightRequest {
    /// Who rates: only the owner may.
    pub principal: String,
    pub owner: String,
    pub kind: InsightKind,
    pub rating: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InsightRated {
    pub kind: InsightKind,
    /// The kind's weight after the rating.
    pub weight: f64,
    /// Every kind the owner has rated, with its weight and how many ratings it has had.
    pub weights: BTreeMap<InsightKind, KindWeight>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KindWeight {
    pub weight: f64,
    pub ratings: u32,
}

/// What kind of finding an insight is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InsightKind {
    Activity,
    Mood,
    Topic,
    People,
    Habit,
    OnThisDay,
    /// How the owner wrote in the period against how they usually write (the avatar trainer's persona).
    Voice,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Insight {
    pub kind: InsightKind,
    /// One line.
    pub title: String,
    /// The figures behind it.
    pub detail: String,
    /// 0..1: how sure it is.
    pub confidence: f64,
    /// The memories it rests on.
    pub evidence: Vec<String>,
    /// How the owner's ratings weigh this kind (1 until rated); a digest lists heavier kinds first.
    #[serde(default = "unrated")]
    pub weight: f64,
}

fn unrated() -> f64 {
    1.0
}

/// A part of a digest that could not be had.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissingPart {
    /// The agent type asked.
    pub agent: String,
    /// What it would have given.
    pub part: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    pub owner: String,
    pub period: DigestPeriod,
    /// `YYYY-MM-DD`, inclusive.
    pub from: String,
    /// `YYYY-MM-DD`, inclusive.
    pub to: String,
    /// Memories in the period (that the principal may see).
    pub memories: u64,
    pub insights: Vec<Insight>,
    /// False when a part is missing: the digest is partial, and `missing` says what it lacks.
    pub complete: bool,
    pub missing: Vec<MissingPart>,
}
