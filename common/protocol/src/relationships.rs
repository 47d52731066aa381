//! Payloads of the relationship mapper: the people in an owner's memories (who they talk with, whom they
//! mention), ranked by strength, with the graph's centrality and communities, and alerts when contact drifts.

use serde::{Deserialize, Serialize};

use crate::harvester::ProcessedMemory;

pub mod message_types {
    /// The pipeline step: take one stored memory's people into its owner's relationships.
    pub const UPDATE_RELATIONSHIPS: &str = "update_relationships";
    pub const RELATIONSHIPS_RECORDED: &str = "relationships_recorded";
    pub const GET_RELATIONSHIPS: &str = "get_relationships";
    pub const RELATIONSHIPS: &str = "relationships";
    pub const GET_PERSON: &str = "get_person";
    pub const PERSON: &str = "person";
    /// The other names the owner goes by in their exports, kept: they are the owner, never a contact.
    pub const SET_IDENTITY: &str = "set_identity";
    pub const GET_IDENTITY: &str = "get_identity";
    pub const IDENTITY: &str = "identity";
}

pub mod event_types {
    /// An owner's relationships took in a memory, with [`super::RelationshipsRecorded`].
    pub const RELATIONSHIPS_UPDATED: &str = "relationships_updated";
}

/// `update_relationships`: one memory as the pipeline stored it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateRelationshipsRequest {
    pub memory: ProcessedMemory,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelationshipsRecorded {
    pub owner: String,
    pub memory_id: String,
    /// False when the memory was taken in before (a redelivery): nothing changed.
    pub recorded: bool,
    /// How the memory names the people in it, as written (the owner left out).
    pub people: Vec<String>,
}

/// `get_relationships`: an owner's people, for a principal the guardian lets read derived results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetRelationshipsRequest {
    pub principal: String,
    pub owner: String,
    /// People to list, strongest first; all when absent.
    #[serde(default)]
    pub limit: Option<usize>,
    /// The day (`YYYY-MM-DD`) strength and drift are reckoned at; the day of the owner's latest memory when
    /// absent, so that an archive reads the same whenever it is asked.
    #[serde(default)]
    pub as_of: Option<String>,
    /// Names, addresses and handles the owner goes by besides their id and those kept by `set_identity`: they
    /// are the owner, never a contact.
    #[serde(default)]
    pub also_me: Vec<String>,
    /// A day (`YYYY-MM-DD`): each person listed comes with the ids of the memories that speak of them from that
    /// day to `as_of`, in `mentioned_in`; with the memories they wrote or took part in, which a digest reads
    /// from the memories themselves, a digest counts whom a period brings.
    #[serde(default)]
    pub mentions_from: Option<String>,
}

/// How a person appears in a memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Wrote it: the speaker of a chat turn, the sender of a mail.
    Author,
    /// Was addressed or present: the other people of a conversation, the recipients of a mail.
    Participant,
    /// Is spoken of in the text.
    Mention,
}

/// One person of the owner's life, with everything known of them merged across the names they go by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonSummary {
    /// The fullest name they go by.
    pub name: String,
    /// Every other form seen: display names, addresses, handles, nicknames, kinship terms.
    pub aliases: Vec<String>,
    /// What they are to the owner, when the memories say (`sister`, `mother`, ...).
    pub relation: Option<String>,
    /// Memories in which they and the owner talk (as author or participant).
    pub interactions: u64,
    /// Memories that speak of them.
    pub mentions: u64,
    /// RFC 3339, UTC.
    pub first_contact: Option<String>,
    pub last_contact: Option<String>,
    /// Median days between the days they appear, when they appear on at least three.
    pub typical_gap_days: Option<f64>,
    /// Mean compound sentiment of the memories they appear in, -1..1.
    pub sentiment: f64,
    /// Interactions and mentions, each weighed down by its age (half-life 90 days), 0..1 relative to the
    /// strongest person.
    pub strength: f64,
    /// People they appear with.
    pub degree: u32,
    /// PageRank in the graph of people appearing together.
    pub pagerank: f64,
    /// The community (Louvain modularity over the same graph) they belong to: an index into
    /// [`Relationships::communities`]; none for people seen with nobody else.
    pub community: Option<usize>,
    /// The memories that speak of them from the request's `mentions_from` to `as_of`, oldest first; empty
    /// when not asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentioned_in: Vec<String>,
}

/// People who appear together more than with others: a family, a team, a circle of friends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Community {
    /// Names, most central first.
    pub members: Vec<String>,
}

/// Two people who appear in the same memories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub between: (String, String),
    /// Memories they both appear in.
    pub memories: u64,
}

/// Contact with someone has fallen well below its usual rhythm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftAlert {
    pub person: String,
    /// `YYYY-MM-DD`.
    pub last_contact: String,
    pub typical_gap_days: f64,
    pub days_since: f64,
    pub confidence: f64,
    /// Their most recent memories.
    pub evidence: Vec<String>,
}

impl DriftAlert {
    /// "17 days ago; usually every 9 days", as people say it.
    pub fn in_words(&self) -> String {
        format!("{} ago; usually {}", days_in_words(self.days_since), rhythm_in_words(self.typical_gap_days))
    }
}

/// A usual gap between contacts as people say it: "daily", "every 9 days" (whole days).
pub fn rhythm_in_words(gap_days: f64) -> String {
    match gap_days.round() as i64 {
        ..=1 => "daily".to_owned(),
        days => format!("every {days} days"),
    }
}

/// A count of days as people say it: "1 day", "12 days" (whole days).
pub fn days_in_words(days: f64) -> String {
    crate::words::counted(days.round() as i64, "day", "days")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relationships {
    pub owner: String,
    /// `YYYY-MM-DD`: the day strength and drift were reckoned at; none when no memory is dated.
    pub as_of: Option<String>,
    /// Everyone known, before `limit`.
    pub total_people: usize,
    /// Strongest first.
    pub people: Vec<PersonSummary>,
    /// Largest first; singletons left out.
    pub communities: Vec<Community>,
    /// Who appears with whom, among `people`: the edges of the graph behind degree, PageRank and communities.
    pub links: Vec<Link>,
    /// Longest overdue first.
    pub drift: Vec<DriftAlert>,
}

/// `set_identity`: replaces the names, addresses and handles the owner goes by (empty clears them); only the
/// owner sets them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetIdentityRequest {
    pub principal: String,
    pub owner: String,
    pub names: Vec<String>,
}

/// `get_identity`, for a principal the guardian lets read derived results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetIdentityRequest {
    pub principal: String,
    pub owner: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub owner: String,
    pub names: Vec<String>,
}

/// `get_person`: one person by any name they go by (case does not matter).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetPersonRequest {
    pub principal: String,
    pub owner: String,
    pub person: String,
    #[serde(default)]
    pub as_of: Option<String>,
    /// As in [`GetRelationshipsRequest::also_me`].
    #[serde(default)]
    pub also_me: Vec<String>,
}

/// One memory a person appears in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Appearance {
    pub memory_id: String,
    /// RFC 3339, UTC.
    pub occurred_at: Option<String>,
    pub role: Role,
    pub sentiment: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonReport {
    pub owner: String,
    pub person: PersonSummary,
    /// Oldest first; undated memories last.
    pub timeline: Vec<Appearance>,
    /// The people they appear with, most often first: `(name, memories together)`.
    pub appears_with: Vec<(String, u64)>,
    /// Whether contact with them has drifted, as in [`Relationships::drift`].
    pub drift: Option<DriftAlert>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_and_counts_of_days_read_as_people_say_them() {
        assert_eq!(rhythm_in_words(0.4), "daily");
        assert_eq!(rhythm_in_words(1.4), "daily");
        assert_eq!(rhythm_in_words(1.6), "every 2 days");
        assert_eq!(days_in_words(1.2), "1 day");
        assert_eq!(days_in_words(0.3), "0 days");
        let alert = DriftAlert {
            person: "Priya".to_owned(),
            last_contact: "2024-12-14".to_owned(),
            typical_gap_days: 1.0,
            days_since: 17.0,
            confidence: 0.4,
            evidence: Vec::new(),
        };
        assert_eq!(alert.in_words(), "17 days ago; usually daily");
    }
}
