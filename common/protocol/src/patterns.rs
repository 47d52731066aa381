//! Payloads of the pattern analyzer: sentiment of texts, and an owner's patterns (rhythms, streaks and gaps,
//! mood, keyphrases, topics and habits) kept up to date as memories are stored.

use serde::{Deserialize, Serialize};

use crate::harvester::ProcessedMemory;

pub mod message_types {
    pub const ANALYZE_SENTIMENT: &str = "analyze_sentiment";
    pub const SENTIMENT_ANALYZED: &str = "sentiment_analyzed";
    /// The pipeline step: take one stored memory into its owner's patterns.
    pub const ANALYZE_PATTERNS: &str = "analyze_patterns";
    pub const PATTERNS_ANALYZED: &str = "patterns_analyzed";
    pub const GET_PATTERNS: &str = "get_patterns";
    pub const PATTERNS: &str = "patterns";
}

pub mod event_types {
    /// An owner's patterns took in new memories, with [`super::PatternsAnalyzed`].
    pub const PATTERNS_UPDATED: &str = "patterns_updated";
}

/// `analyze_sentiment`: texts to score, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyzeSentimentRequest {
    pub texts: Vec<String>,
}

/// One text's sentiment: `compound` in -1..1, and the shares of positive, negative and neutral words.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SentimentScore {
    pub compound: f64,
    pub positive: f64,
    pub negative: f64,
    pub neutral: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentimentAnalyzed {
    /// One per text, in the order of the request.
    pub scores: Vec<SentimentScore>,
}

/// `analyze_patterns`: one memory as the pipeline stored it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyzePatternsRequest {
    pub memory: ProcessedMemory,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatternsAnalyzed {
    pub owner: String,
    pub memory_id: String,
    /// False when the memory was taken in before (a redelivery): nothing changed.
    pub recorded: bool,
}

/// `get_patterns`: an owner's patterns, for a principal the guardian lets read derived results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetPatternsRequest {
    pub principal: String,
    pub owner: String,
}

/// How many memories fall in each hour of the day (UTC; memories known only by their date, whose time is
/// midnight exactly, count in no hour), day of the week (Monday first) and month.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Rhythms {
    pub by_hour: Vec<u64>,
    pub by_weekday: Vec<u64>,
    /// `(YYYY-MM, count)`, oldest first.
    pub by_month: Vec<(String, u64)>,
    /// The busiest hour and weekday, when there are memories.
    pub peak_hour: Option<u8>,
    pub peak_weekday: Option<String>,
}

/// A run of consecutive days with memories, or a stretch without.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayRange {
    /// `YYYY-MM-DD`, inclusive.
    pub from: String,
    pub to: String,
    pub days: u32,
}

impl DayRange {
    /// "3 days, 2024-02-08 to 2024-02-10"; "1 day, 2024-12-31".
    pub fn in_words(&self) -> String {
        let days = crate::relationships::days_in_words(f64::from(self.days));
        if self.from == self.to {
            format!("{days}, {}", self.from)
        } else {
            format!("{days}, {} to {}", self.from, self.to)
        }
    }
}

/// One day of mood: the mean compound sentiment of the day's memories, and the trailing baseline before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoodDay {
    pub date: String,
    pub mean: f64,
    pub memories: u32,
    /// Mean of the preceding days within the baseline window, when there are enough of them.
    pub baseline: Option<f64>,
    /// The day's memory furthest from neutral on the side of the day's mean: the one that tells its mood (none
    /// from analyzers before it was added). One a day, so that years of days stay a small report.
    #[serde(default)]
    pub telling_memory: Option<String>,
}

/// A day whose mood stands well apart from the baseline before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoodShift {
    pub date: String,
    /// `drop` or `rise`.
    pub direction: String,
    pub mean: f64,
    pub baseline: f64,
    /// How many baseline standard deviations apart.
    pub z: f64,
    pub confidence: f64,
    /// The memories of that day.
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Patterns {
    pub owner: String,
    /// Memories taken in (with a date; undated ones count here only).
    pub memories: u64,
    pub undated: u64,
    pub rhythms: Rhythms,
    pub longest_streak: Option<DayRange>,
    pub current_streak: Option<DayRange>,
    /// The longest stretches without a memory, longest first (at most five).
    pub gaps: Vec<DayRange>,
    pub mood: Vec<MoodDay>,
    pub mood_shifts: Vec<MoodShift>,
    /// What the owner writes about most, by TF-IDF over their memories, highest first.
    pub keyphrases: Vec<Keyphrase>,
    /// Keyphrases that go together (their memories overlap), largest first.
    pub topics: Vec<Topic>,
    /// Things done again and again at the same time of the week or day, surest first.
    pub habits: Vec<Habit>,
}

/// How a subject's share of the owner's memories moved: over the last three months of the archive against
/// the months before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    /// Absent before, present lately.
    New,
    Rising,
    Steady,
    Fading,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Keyphrase {
    /// The form the owner writes most.
    pub phrase: String,
    /// Memories it appears in.
    pub memories: u64,
    /// Document frequency times inverse document frequency over the owner's memories.
    pub score: f64,
    pub trend: Trend,
    /// How sure it is a subject of the owner's rather than a chance repetition: grows with its memories, sure
    /// from ten.
    pub confidence: f64,
    /// Its most recent memories.
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Topic {
    /// Its leading keyphrases, joined.
    pub label: String,
    pub keyphrases: Vec<String>,
    pub memories: u64,
    /// `(YYYY-MM, memories)`, oldest first.
    pub by_month: Vec<(String, u64)>,
    pub trend: Trend,
    /// How sure the grouping is: more memories and tighter overlap are surer.
    pub confidence: f64,
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Habit {
    /// The term for what is done, as the owner writes it: `run`, `piano`.
    pub activity: String,
    /// Other terms of the same memories in the same slot: `river`, `nocturne`.
    pub related: Vec<String>,
    /// When, in words: `Saturday mornings`, `Tuesdays`, `evenings`.
    pub when: String,
    /// Monday first; none when the habit is daily.
    pub weekday: Option<String>,
    /// `morning` (05-12 UTC), `afternoon` (12-17), `evening` (17-22), `night`; none when any time of the day.
    pub part_of_day: Option<String>,
    /// Memories of the activity in that slot.
    pub occurrences: u64,
    /// Share of the weeks (or days, for a daily habit) from its first to its last occurrence that have one.
    pub support: f64,
    /// Share of all memories of the activity that fall in that slot.
    pub confidence: f64,
    /// `YYYY-MM-DD`.
    pub first_seen: String,
    pub last_seen: String,
    pub evidence: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_of_days_reads_as_people_say_it() {
        let range = |from: &str, to: &str, days| DayRange { from: from.to_owned(), to: to.to_owned(), days };
        assert_eq!(range("2024-12-31", "2024-12-31", 1).in_words(), "1 day, 2024-12-31");
        assert_eq!(range("2024-02-08", "2024-02-10", 3).in_words(), "3 days, 2024-02-08 to 2024-02-10");
    }
}
