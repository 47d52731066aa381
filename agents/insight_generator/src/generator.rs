//! The insight generator as an agent: `index_memory` keeps each stored memory's terms in its owner's index
//! ledger; `search` answers a question from the owner's index, with snippets read through the guardian for
//! the principal who asks. Each replica keeps the indexes of the owners it was asked about in memory, loaded
//! from the ledger and kept current by following it, so that replicas may come and go.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use jiff::tz::TimeZone;

use mneme_protocol::guardian::{MemoryView, Scope, Sensitivity};
use mneme_protocol::harvester::ProcessedMemory;
use mneme_protocol::insights::{
    Digest, GenerateInsightsRequest, IndexMemoryRequest, Insight, InsightRated, MAX_SEARCH_LIMIT, MemoryIndexed,
    MissingPart, RateInsightRequest, SearchFilters, SearchHit, SearchRequest, SearchResults, message_types,
};
use mneme_protocol::{AgentCapability, AgentType, ErrorCode};
use mneme_runtime::copies::{OwnerCopies, WorkingCopy};
use mneme_runtime::ledger::ShardChange;
use mneme_runtime::{Agent, Event, EventSubscription, HandlerError, Reply, Request};

use crate::colleagues::Colleagues;
use crate::digest::{self, Sources};
use crate::ratings::RatingStore;
use crate::reading::MemoryReading;
use crate::recall::index::{IndexError, Indexed, Narrowing, OwnerIndex, name_tokens};
use crate::recall::{Question, Tuning, recall, snippet, text, when};
use crate::settings::GeneratorSettings;
use crate::store::IndexStore;

impl From<IndexError> for HandlerError {
    fn from(error: IndexError) -> Self {
        HandlerError::internal(error.to_string())
    }
}

/// How long the agents asked for a digest's parts may take, unless the request says.
const DEFAULT_DEADLINE_MS: u64 = 5_000;
const MAX_DEADLINE_MS: u64 = 60_000;

/// How many of a topic's memories are read to name it (in the owner's own word) or to find it only ever done.
const TOPIC_MEMORIES_READ: usize = 3;

/// One owner's index in this replica, with the memories each ledger shard held when last seen (a change
/// replaces a shard whole: what left it is what was removed).
pub struct FollowedIndex {
    index: Arc<OwnerIndex>,
    shards: Mutex<HashMap<String, HashSet<String>>>,
}

impl WorkingCopy<Indexed> for FollowedIndex {
    /// While following, additions are staged (made visible by the next question), so that a stream of
    /// memories costs few commits; a load applies at once.
    fn take(&self, changes: Vec<ShardChange<Indexed>>, loading: bool) -> Result<(), String> {
        let mut shards = self.shards.lock().expect("unpoisoned");
        apply_changes(&self.index, &mut shards, changes, !loading).map_err(|error| error.to_string())
    }
}

pub struct InsightGenerator<S, R, C> {
    settings: GeneratorSettings,
    store: Arc<S>,
    reading: R,
    colleagues: C,
    tuning: Tuning,
    indexes: OwnerCopies<FollowedIndex>,
    ratings: RatingStore,
}

impl<S, R, C> std::fmt::Debug for InsightGenerator<S, R, C> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("InsightGenerator").field("indexes", &self.indexes).finish()
    }
}

/// What the index keeps of a memory: the terms of its title, tags and text, never the text itself.
pub fn indexed(memory: &ProcessedMemory, sensitivity: Sensitivity) -> Indexed {
    let mut terms = Vec::new();
    if let Some(title) = &memory.title {
        terms.extend(text::terms(title));
    }
    for tag in &memory.tags {
        terms.extend(text::terms(tag));
    }
    terms.extend(text::terms(&memory.text));
    let mut people = memory.participants.clone();
    people.extend(memory.author.clone());
    Indexed {
        occurred_at: memory.occurred_at.clone(),
        terms,
        people,
        author: memory.author.clone(),
        source: memory.source.clone(),
        kind: memory.source_kind,
        sensitivity,
        analysis: text::ANALYSIS,
    }
}

/// Takes ledger changes into `index`: memories new to their shard added, those gone from it removed. Staged
/// additions are made visible by the next question, or once enough have gathered; a removal applies at once.
fn apply_changes(
    index: &OwnerIndex,
    shards: &mut HashMap<String, HashSet<String>>,
    changes: Vec<ShardChange<Indexed>>,
    staging: bool,
) -> Result<(), IndexError> {
    let mut added = Vec::new();
    let mut removed = Vec::new();
    for (key, entries) in changes {
        let now: HashSet<String> =
            entries.as_ref().map(|entries| entries.keys().cloned().collect()).unwrap_or_default();
        let before = shards.remove(&key).unwrap_or_default();
        removed.extend(before.difference(&now).cloned());
        added.extend(entries.into_iter().flatten().filter(|(memory_id, _)| !before.contains(memory_id)));
        shards.insert(key, now);
    }
    if staging && removed.is_empty() {
        for (memory_id, entry) in added {
            index.stage(memory_id, entry)?;
        }
        return Ok(());
    }
    index.apply(added, removed)?;
    Ok(())
}

fn parse_instant(text: &str, end_of_day: bool) -> Option<i64> {
    if let Ok(at) = text.parse::<jiff::Timestamp>() {
        return Some(at.as_second());
    }
    let day = text.parse::<jiff::civil::Date>().ok()?;
    let day = if end_of_day { day.tomorrow().ok()? } else { day };
    Some(day.to_zoned_datetime(TimeZone::UTC).ok()?.timestamp().as_second())
}

/// The request's filters as the index narrows by them, within what the principal may read.
fn narrowing(filters: &SearchFilters, max_sensitivity: Sensitivity) -> Result<Narrowing, HandlerError> {
    let instant = |text: &Option<String>, end_of_day: bool, name: &str| match text {
        Some(text) => parse_instant(text, end_of_day).map(Some).ok_or_else(|| {
            HandlerError::bad_request(format!("filters.{name} `{text}` is not RFC 3339 nor YYYY-MM-DD"))
        }),
        None => Ok(None),
    };
    let people: Vec<Vec<String>> = filters
        .people
        .iter()
        .map(|name| name_tokens(name).collect::<Vec<_>>())
        .filter(|tokens| !tokens.is_empty())
        .collect();
    Ok(Narrowing {
        from: instant(&filters.from, false, "from")?,
        until: instant(&filters.until, true, "until")?,
        people,
        kinds: filters.source_kinds.clone(),
        max_sensitivity: Some(max_sensitivity),
        own_words_only: filters.own_words_only,
    })
}

impl<S: IndexStore, R: MemoryReading, C: Colleagues> InsightGenerator<S, R, C> {
    pub fn new(settings: GeneratorSettings, store: S, reading: R, colleagues: C) -> Self {
        InsightGenerator {
            store: Arc::new(store),
            reading,
            colleagues,
            tuning: Tuning::default(),
            indexes: OwnerCopies::new(settings.max_loaded_owners),
            settings,
            ratings: RatingStore::default(),
        }
    }

    /// Keeps owners' ratings in `ratings` (in this process's memory otherwise).
    pub fn with_ratings(mut self, ratings: RatingStore) -> Self {
        self.ratings = ratings;
        self
    }

    /// `rate_insight`: the owner's rating of a kind of insight moves its weight in their digests.
    pub async fn rate(&self, request: RateInsightRequest) -> Result<InsightRated, HandlerError> {
        if !(1..=5).contains(&request.rating) {
            return Err(HandlerError::bad_request("rating must be 1 to 5"));
        }
        if request.principal != request.owner {
            return Err(HandlerError::new(ErrorCode::Forbidden, "only the owner rates their insights"));
        }
        let weights = self
            .ratings
            .rate(&request.owner, request.kind, request.rating)
            .await
            .map_err(|error| HandlerError::unavailable(error.to_string()))?;
        let weight = weights.get(&request.kind).map_or(1.0, |kind| kind.weight);
        Ok(InsightRated { kind: request.kind, weight, weights })
    }

    fn loaded_index(&self, owner: &str) -> Option<Arc<OwnerIndex>> {
        self.indexes.get(owner).map(|followed| followed.index.clone())
    }

    /// The owner's index, loaded from the ledger on first use and followed from then on.
    async fn index_of(&self, owner: &str) -> Result<Arc<OwnerIndex>, HandlerError> {
        let followed = self
            .indexes
            .load(self.store.as_ref(), crate::store::BUCKET, owner, || {
                Ok(FollowedIndex { index: Arc::new(OwnerIndex::new(owner)?), shards: Mutex::default() })
            })
            .await?;
        Ok(followed.index.clone())
    }

    /// Takes one memory into its owner's index ledger (and this replica's index, when loaded).
    pub async fn index(&self, request: IndexMemoryRequest) -> Result<MemoryIndexed, HandlerError> {
        let memory = request.memory;
        if memory.owner.trim().is_empty() || memory.id.trim().is_empty() {
            return Err(HandlerError::bad_request("the memory needs an owner and an id"));
        }
        if memory.text.len() > self.settings.max_text_bytes {
            return Err(HandlerError::new(
                ErrorCode::PayloadTooLarge,
                format!("the text has {} bytes, over the limit of {}", memory.text.len(), self.settings.max_text_bytes),
            ));
        }
        let entry = indexed(&memory, request.sensitivity);
        let recorded = self.store.record(&memory.owner, &memory.id, entry.clone()).await?;
        // This replica's copy learns of it through the ledger too; staged here, it is found by the next
        // question to this replica even before that, without a commit per memory while memories stream in.
        if recorded && let Some(index) = self.loaded_index(&memory.owner) {
            index.stage(memory.id.clone(), entry)?;
        }
        Ok(MemoryIndexed { owner: memory.owner, memory_id: memory.id, indexed: recorded })
    }

    pub async fn search(&self, request: SearchRequest) -> Result<SearchResults, HandlerError> {
        let query = request.query.trim();
        if query.is_empty() {
            return Err(HandlerError::bad_request("the query is empty"));
        }
        if query.chars().count() > self.settings.max_query_chars {
            return Err(HandlerError::new(
                ErrorCode::PayloadTooLarge,
                format!("the query is over {} characters", self.settings.max_query_chars),
            ));
        }
        if let Some(impossible) = when::impossible_day(query) {
            return Err(HandlerError::bad_request(format!(
                "the question names a day the calendar has not: {impossible}"
            )));
        }
        let limit = request.limit.unwrap_or(10);
        if limit == 0 || limit > MAX_SEARCH_LIMIT {
            return Err(HandlerError::bad_request(format!("limit must be 1 to {MAX_SEARCH_LIMIT}")));
        }
        let today = match &request.filters.now {
            Some(now) => now
                .parse::<jiff::Timestamp>()
                .map_err(|error| HandlerError::bad_request(format!("filters.now `{now}`: {error}")))?,
            None => jiff::Timestamp::now(),
        }
        .to_zoned_datetime(TimeZone::UTC)
        .date();
        let decision = self.reading.decide(&request.principal, &request.owner, Scope::Memories).await?;
        let narrowing = narrowing(&request.filters, decision.max_sensitivity)?;
        let index = self.index_of(&request.owner).await?;
        index.flush()?;
        // A few more than asked for: some may have been forgotten since, or be above what the principal sees.
        let question = Question { text: query, limit: limit + limit / 2 + 2, narrowing, today };
        let mut recalled = recall(&index, &question, &self.tuning)?;
        let terms: HashSet<String> = recalled
            .reading
            .terms
            .iter()
            .cloned()
            .chain(recalled.reading.expansion.iter().map(|weighted| weighted.term.clone()))
            .collect();
        let reads =
            recalled.found.iter().map(|found| self.reading.read(&request.principal, &request.owner, &found.memory_id));
        let views = futures::future::join_all(reads).await;
        let mut results = Vec::with_capacity(limit);
        // Every memory found that the principal may read: beyond the answers asked for, it only lends its words
        // to the reading.
        let mut seen = Vec::new();
        for (found, view) in recalled.found.iter().zip(views) {
            if results.len() == limit {
                seen.extend(view.ok().flatten());
                continue;
            }
            let Some(view) = view? else { continue };
            results.push(SearchHit {
                memory_id: found.memory_id.clone(),
                source: view.memory.source.clone(),
                occurred_at: view.memory.occurred_at.clone(),
                snippet: snippet::snippet(&view.memory.text, &terms),
                score: f64::from(found.score),
                redacted: view.redacted,
            });
            seen.push(view);
        }
        // The added words read as the memories found write them, or else as those they were drawn from do (a
        // question answered in order of date may find none of those), as far as the principal may see them.
        let added: HashSet<&str> = recalled.reading.expansion.iter().map(|weighted| weighted.term.as_str()).collect();
        let mut words = words_as_seen(&added, &seen);
        if added.iter().any(|term| !words.contains_key(*term)) {
            let unread = recalled.lenders.iter().filter(|id| !seen.iter().any(|view| &view.memory.id == *id));
            let reads = unread.map(|id| self.reading.read(&request.principal, &request.owner, id));
            // A lender that cannot be read only leaves its words shown as the index holds them.
            let lent: Vec<MemoryView> =
                futures::future::join_all(reads).await.into_iter().filter_map(|view| view.ok().flatten()).collect();
            words = words_as_seen(&added, seen.iter().chain(&lent));
        }
        for weighted in &mut recalled.reading.expansion {
            weighted.word = words.get(&weighted.term).cloned();
        }
        if decision.redact {
            // A grantee is shown only the added words their memories' shareable form holds: the others are
            // names, or words of memories beyond their grant.
            recalled.reading.expansion.retain(|weighted| weighted.word.is_some());
        }
        Ok(SearchResults { owner: request.owner, query: query.to_owned(), reading: recalled.reading, results })
    }

    /// A digest of a period: what recall keeps of the period's memories, with the parts the pattern analyzer,
    /// the relationship mapper and the avatar trainer give within the deadline; a partial digest names what it
    /// lacks.
    pub async fn digest(&self, request: GenerateInsightsRequest) -> Result<Digest, HandlerError> {
        let deadline_ms = request.deadline_ms.unwrap_or(DEFAULT_DEADLINE_MS);
        if deadline_ms == 0 || deadline_ms > MAX_DEADLINE_MS {
            return Err(HandlerError::bad_request(format!("deadline_ms must be 1 to {MAX_DEADLINE_MS}")));
        }
        let deadline = std::time::Duration::from_millis(deadline_ms);
        let decision = self.reading.decide(&request.principal, &request.owner, Scope::Derived).await?;
        let index = self.index_of(&request.owner).await?;
        index.flush()?;
        let mut entries = index.entries();
        entries.retain(|(_, entry)| entry.sensitivity <= decision.max_sensitivity);
        let ending = match &request.ending {
            Some(day) => day
                .parse::<jiff::civil::Date>()
                .map_err(|error| HandlerError::bad_request(format!("ending `{day}` is not YYYY-MM-DD: {error}")))?,
            None => entries
                .iter()
                .filter_map(|(_, entry)| entry.timestamp())
                .max()
                .and_then(|at| jiff::Timestamp::from_second(at).ok())
                .unwrap_or_else(jiff::Timestamp::now)
                .to_zoned_datetime(TimeZone::UTC)
                .date(),
        };
        let (from, to) = digest::span(request.period, ending);
        let as_of = to.to_string();
        let from_day = from.to_string();
        // Whom the period and the one before bring, mentions included, comes with the people.
        let previous_from = digest::previous(request.period, from).0.to_string();
        let (patterns, relationships, voice) = tokio::join!(
            self.colleagues.patterns(&request.principal, &request.owner, deadline),
            self.colleagues.relationships(&request.principal, &request.owner, &as_of, &previous_from, deadline),
            self.colleagues.voice(&request.principal, &request.owner, &from_day, &as_of, deadline),
        );
        let mut missing = Vec::new();
        if let Err(reason) = &patterns {
            missing.push(MissingPart {
                agent: AgentType::PatternAnalyzer.as_str().to_owned(),
                part: "mood and habits".to_owned(),
                reason: reason.clone(),
            });
        }
        if let Err(reason) = &relationships {
            missing.push(MissingPart {
                agent: AgentType::RelationshipMapper.as_str().to_owned(),
                part: "people's names merged across aliases, and drifting contact".to_owned(),
                reason: reason.clone(),
            });
        }
        if let Err(reason) = &voice {
            missing.push(MissingPart {
                agent: AgentType::AvatarTrainer.as_str().to_owned(),
                part: "how the owner wrote against how they usually write".to_owned(),
                reason: reason.clone(),
            });
        }
        let sources = Sources {
            owner: &request.owner,
            entries: &entries,
            patterns: patterns.as_ref().ok(),
            relationships: relationships.as_ref().ok(),
            voice: voice.as_ref().ok(),
        };
        let digest::Findings { memories, mut insights, unnamed } = digest::insights(request.period, from, to, &sources);
        self.name_topics(&request.principal, &request.owner, &mut insights, &unnamed).await;
        // Ratings order the digest; a digest without them is still a digest.
        let weights = self.ratings.weights(&request.owner).await.unwrap_or_else(|error| {
            tracing::warn!(%error, "The owner's insight ratings cannot be read; kinds weigh the same.");
            Default::default()
        });
        crate::ratings::weigh(&mut insights, &weights);
        Ok(Digest {
            owner: request.owner,
            period: request.period,
            from: from.to_string(),
            to: to.to_string(),
            memories,
            insights,
            complete: missing.is_empty(),
            missing,
        })
    }

    /// Gives each topic known only by its stem the owner's own word for it, read (as `principal` may see it)
    /// from the first of its memories that shows it, and leaves out a topic that its first memories write only
    /// as a verb ("I broke up") or anywhere as a feeling ("Everything feels grey"); where none of them can be
    /// read, the stem stays.
    async fn name_topics(
        &self,
        principal: &str,
        owner: &str,
        insights: &mut Vec<Insight>,
        unnamed: &[digest::UnnamedTopic],
    ) {
        let reads = unnamed.iter().map(|topic| {
            let first: Vec<String> =
                insights[topic.insight].evidence.iter().take(TOPIC_MEMORIES_READ).cloned().collect();
            async move {
                let reads = first.iter().map(|memory_id| async move {
                    let view = self.reading.read(principal, owner, memory_id).await.ok()??;
                    digest::written(&view.memory.text, &topic.term)
                });
                let found: Vec<digest::Written> =
                    futures::future::join_all(reads).await.into_iter().flatten().collect();
                // A word the owner writes as a feeling is one wherever it stands; else the first other use names it.
                let feeling = found.contains(&digest::Written::Feeling).then_some(digest::Written::Feeling);
                let named = found.iter().find(|written| matches!(written, digest::Written::Word(_))).cloned();
                feeling.or(named).or_else(|| found.into_iter().next())
            }
        });
        let words = futures::future::join_all(reads).await;
        let mut left_out = Vec::new();
        for (topic, written) in unnamed.iter().zip(words) {
            match written {
                Some(digest::Written::Word(word)) => insights[topic.insight].title = digest::topic_title(&word),
                Some(digest::Written::Verb | digest::Written::Feeling) => left_out.push(topic.insight),
                None => {}
            }
        }
        // Highest first, so that each removal leaves the places of the others as they were.
        left_out.sort_unstable_by(|a, b| b.cmp(a));
        for at in left_out {
            insights.remove(at);
        }
    }

    /// Forgets one memory, or everything of an owner, in the ledger and in this replica.
    async fn forget(&self, event: &Event) -> Result<(), HandlerError> {
        let forgotten = mneme_runtime::ledger::forget_on(self.store.as_ref(), event).await?;
        match &forgotten.memory_id {
            Some(memory_id) => {
                if let Some(index) = self.loaded_index(&forgotten.owner) {
                    index.apply([], [memory_id.clone()])?;
                }
            }
            None => {
                self.indexes.drop_owner(&forgotten.owner);
                self.ratings
                    .forget(&forgotten.owner)
                    .await
                    .map_err(|error| HandlerError::unavailable(error.to_string()))?;
            }
        }
        Ok(())
    }
}

pub fn capabilities() -> Vec<AgentCapability> {
    vec![
        AgentCapability::new(
            message_types::INDEX_MEMORY,
            "Takes a stored memory's terms, people, time and source into its owner's recall index",
            &["processed_memory", "sensitivity"],
            &[message_types::MEMORY_INDEXED],
        ),
        AgentCapability::new(
            message_types::SEARCH,
            "Recall: an owner's memories that answer a question, best first, with time expressions, people and the owner's own vocabulary read",
            &["principal", "owner", "query"],
            &[message_types::SEARCH_RESULTS],
        )
        .with_dependencies(&[AgentType::PrivacyGuardian.as_str()]),
        AgentCapability::new(
            message_types::GENERATE_INSIGHTS,
            "A digest of a day, week, month or year: activity, mood, topics, people seen more or less, habits formed or paused, and this day in earlier years, each with evidence and confidence",
            &["principal", "owner", "period"],
            &[message_types::INSIGHTS],
        )
        .with_dependencies(&[
            AgentType::PrivacyGuardian.as_str(),
            AgentType::PatternAnalyzer.as_str(),
            AgentType::RelationshipMapper.as_str(),
        ]),
        AgentCapability::new(
            message_types::RATE_INSIGHT,
            "The owner's rating (1 to 5) of a kind of insight, which raises or lowers that kind in their digests",
            &["principal", "owner", "kind", "rating"],
            &[message_types::INSIGHT_RATED],
        ),
    ]
}

impl<S: IndexStore, R: MemoryReading, C: Colleagues> Agent for InsightGenerator<S, R, C> {
    fn description(&self) -> String {
        "Mneme insight generator: digests of a person's memories and recall over them".to_owned()
    }

    fn capabilities(&self) -> Vec<AgentCapability> {
        capabilities()
    }

    fn event_subscriptions(&self) -> Vec<EventSubscription> {
        vec![mneme_runtime::ledger::forgetting()]
    }

    async fn on_event(&self, event: Event) -> Result<(), HandlerError> {
        self.forget(&event).await
    }

    async fn handle(&self, request: Request) -> Result<Reply, HandlerError> {
        match request.message_type() {
            message_types::INDEX_MEMORY => {
                Ok(Reply::new(message_types::MEMORY_INDEXED, self.index(request.payload()?).await?))
            }
            message_types::SEARCH => {
                Ok(Reply::new(message_types::SEARCH_RESULTS, self.search(request.payload()?).await?))
            }
            message_types::RATE_INSIGHT => {
                Ok(Reply::new(message_types::INSIGHT_RATED, self.rate(request.payload()?).await?))
            }
            message_types::GENERATE_INSIGHTS => {
                Ok(Reply::new(message_types::INSIGHTS, self.digest(request.payload()?).await?))
            }
            other => Err(HandlerError::unhandled(other)),
        }
    }
}

/// Each of `terms` as the memories `seen` write it. A grantee reads names as stand-ins: a redacted memory
/// lends none of its people's names.
fn words_as_seen<'a>(
    terms: &HashSet<&str>,
    seen: impl IntoIterator<Item = &'a MemoryView> + Clone,
) -> HashMap<String, String> {
    snippet::words_of(
        terms,
        seen.clone().into_iter().map(|view| view.memory.text.as_str()),
        seen.into_iter()
            .filter(|view| !view.redacted)
            .flat_map(|view| view.memory.author.iter().chain(&view.memory.participants).map(String::as_str)),
    )
}

#[cfg(test)]
mod tests {
    use mneme_protocol::guardian::MemoryView;
    use mneme_runtime::ledger::MemoryLedger;

    use super::*;
    use crate::colleagues::NoColleagues;
    use crate::reading::OwnersOnly;

    fn memory(id: &str, owner: &str, at: &str, text: &str) -> ProcessedMemory {
        serde_json::from_value(serde_json::json!({
            "id": id, "owner": owner, "source": format!("notes.md:{id}"), "text": text, "author": null,
            "participants": [], "source_kind": "journal",
            "language": {"code": "eng", "name": "English", "confidence": 1.0, "reliable": true},
            "word_count": 3, "occurred_at": at, "processed_at": "2024-01-01T00:00:00Z", "content_hash": "00",
            "quality": {"score": 1.0, "acceptable": true, "reasons": []}, "is_duplicate": false, "duplicate_of": null
        }))
        .expect("a valid memory")
    }

    fn request(principal: &str, query: &str) -> SearchRequest {
        SearchRequest {
            principal: principal.to_owned(),
            owner: "maya".to_owned(),
            query: query.to_owned(),
            limit: None,
            filters: SearchFilters { now: Some("2024-03-01T12:00:00Z".to_owned()), ..SearchFilters::default() },
        }
    }

    async fn generator() -> InsightGenerator<MemoryLedger<Indexed>, OwnersOnly, NoColleagues> {
        generator_of(vec![
            memory("m1", "maya", "2023-07-02T09:00:00Z", "Kayaked across the bay at dawn with my sister"),
            memory("m2", "maya", "2023-11-20T09:00:00Z", "Fixed the bike's back wheel, finally"),
            memory("m3", "maya", "2024-02-10T09:00:00Z", "Kayak club meeting, planning the spring trips"),
        ])
        .await
    }

    /// A generator that has indexed `memories`, each readable by its owner.
    async fn generator_of(
        memories: Vec<ProcessedMemory>,
    ) -> InsightGenerator<MemoryLedger<Indexed>, OwnersOnly, NoColleagues> {
        let reading = OwnersOnly::default();
        for memory in &memories {
            reading.keep(MemoryView { memory: memory.clone(), sensitivity: Sensitivity::Personal, redacted: false });
        }
        let generator =
            InsightGenerator::new(GeneratorSettings::default(), MemoryLedger::default(), reading, NoColleagues);
        for memory in memories {
            generator.index(IndexMemoryRequest { memory, sensitivity: Sensitivity::Personal }).await.unwrap();
        }
        generator
    }

    #[tokio::test]
    async fn finds_memories_reads_time_and_keeps_to_the_owner() {
        let generator = generator().await;
        let found = generator.search(request("maya", "kayaking last summer")).await.unwrap();
        let ids: Vec<&str> = found.results.iter().map(|hit| hit.memory_id.as_str()).collect();
        assert_eq!(ids, ["m1", "m3"]);
        assert_eq!(found.results[0].source.as_deref(), Some("notes.md:m1"));
        assert!(found.results[0].snippet.contains("Kayaked"));
        assert_eq!(found.reading.period.as_ref().map(|period| period.expression.as_str()), Some("last summer"));

        let refused = generator.search(request("omar", "kayaking")).await.unwrap_err();
        assert_eq!(refused.code, ErrorCode::Forbidden);
        let empty = generator.search(request("maya", "   ")).await.unwrap_err();
        assert_eq!(empty.code, ErrorCode::BadRequest);
        let impossible = generator.search(request("maya", "kayaking on 2023-02-30")).await.unwrap_err();
        assert_eq!(impossible.code, ErrorCode::BadRequest);
        assert!(impossible.message.contains("`2023-02-30`"), "{}", impossible.message);
        let mut bad_filter = request("maya", "bike");
        bad_filter.filters.from = Some("last tuesday".to_owned());
        assert_eq!(generator.search(bad_filter).await.unwrap_err().code, ErrorCode::BadRequest);
    }

    #[tokio::test]
    async fn an_index_loads_from_the_ledger_and_forgets() {
        let generator = generator().await;
        // Indexed before the owner was first asked about: the index is loaded from the ledger.
        let found = generator.search(request("maya", "bike wheel")).await.unwrap();
        assert_eq!(found.results.len(), 1);
        let again = generator
            .index(IndexMemoryRequest {
                memory: memory("m2", "maya", "2023-11-20T09:00:00Z", "Fixed the bike's back wheel, finally"),
                sensitivity: Sensitivity::Personal,
            })
            .await
            .unwrap();
        assert!(!again.indexed, "a redelivery changes nothing");
        let index = generator.index_of("maya").await.unwrap();
        index.apply([], ["m2".to_owned()]).unwrap();
        assert!(generator.search(request("maya", "bike wheel")).await.unwrap().results.is_empty());
    }

    #[tokio::test]
    async fn a_question_answered_in_order_of_date_shows_its_people_and_added_words_as_the_owner_writes_them() {
        let with_omar = [
            ("o1", "2024-01-05", "Drinks with Omar, told him about the Fieldwork interview"),
            ("o2", "2024-01-12", "Omar thinks Fieldwork will call back this week"),
            ("o3", "2024-01-19", "Fieldwork called! Omar opened the fizz"),
            ("o4", "2024-01-26", "Lunch near Fieldwork with Omar on my first Friday"),
            ("o5", "2024-02-06", "Omar helped carry the sofa up three floors"),
            ("o6", "2024-02-13", "Pancakes at Omar's on Sunday morning"),
            ("o7", "2024-02-18", "Board games round at Omar's, lost every one"),
            ("o8", "2024-02-22", "Walked the dog with Omar along the canal"),
            ("o9", "2024-02-27", "Omar's birthday curry, far too spicy"),
        ];
        let mut memories: Vec<ProcessedMemory> = with_omar
            .iter()
            .map(|(id, day, text)| {
                let mut memory = memory(id, "maya", &format!("{day}T09:00:00Z"), text);
                memory.participants = vec!["Omar".to_owned()];
                memory
            })
            .collect();
        memories.extend((1..=20).map(|day| {
            memory(&format!("t{day}"), "maya", &format!("2023-12-{day:02}T09:00:00Z"), "Tea in the garden")
        }));
        let generator = generator_of(memories).await;
        let mut asked = request("maya", "when did I last see Omar?");
        asked.limit = Some(2);
        let found = generator.search(asked).await.unwrap();
        let ids: Vec<&str> = found.results.iter().map(|hit| hit.memory_id.as_str()).collect();
        assert_eq!(ids, ["o9", "o8"]);
        assert_eq!(found.reading.people, ["Omar"]);
        let added: Vec<&str> =
            found.reading.expansion.iter().map(|weighted| weighted.word.as_deref().unwrap_or(&weighted.term)).collect();
        // None of the memories found holds "Fieldwork": those it was drawn from say how the owner writes it.
        assert!(added.contains(&"Fieldwork"), "{added:?}");
    }

    /// Maya's digest of 2023, asked by Maya.
    fn maya_2023() -> GenerateInsightsRequest {
        GenerateInsightsRequest {
            principal: "maya".to_owned(),
            owner: "maya".to_owned(),
            period: mneme_protocol::insights::DigestPeriod::Year,
            ending: Some("2023-12-31".to_owned()),
            deadline_ms: None,
        }
    }

    #[tokio::test]
    async fn a_digest_without_colleagues_is_partial_and_says_so() {
        let generator = generator().await;
        let request = maya_2023();
        let digest = generator.digest(request.clone()).await.unwrap();
        assert_eq!((digest.from.as_str(), digest.to.as_str(), digest.memories), ("2023-01-01", "2023-12-31", 2));
        assert!(!digest.complete);
        let missing: Vec<&str> = digest.missing.iter().map(|part| part.agent.as_str()).collect();
        assert_eq!(missing, ["pattern_analyzer", "relationship_mapper", "avatar_trainer"]);
        assert_eq!(digest.insights[0].title, "2 memories this year, across 2 days");
        let stranger = GenerateInsightsRequest { principal: "omar".to_owned(), ..request.clone() };
        assert_eq!(generator.digest(stranger).await.unwrap_err().code, ErrorCode::Forbidden);
        let too_long = GenerateInsightsRequest { deadline_ms: Some(600_000), ..request };
        assert_eq!(generator.digest(too_long).await.unwrap_err().code, ErrorCode::BadRequest);
    }

    #[tokio::test]
    async fn a_topic_known_by_its_stem_takes_the_owners_word_and_a_feeling_is_none() {
        let generator = generator().await;
        for (id, at, text) in [
            ("p1", "2023-05-03T19:00:00Z", "Pottery class, glazed two bowls"),
            ("p2", "2023-05-10T19:00:00Z", "More pottery; the kiln cracked a bowl"),
            ("p3", "2023-05-17T19:00:00Z", "Everything feels grey tonight"),
            ("p4", "2023-05-24T19:00:00Z", "Grey. Stayed in with tea"),
        ] {
            let memory = memory(id, "maya", at, text);
            let view = MemoryView { memory: memory.clone(), sensitivity: Sensitivity::Personal, redacted: false };
            generator.reading.keep(view);
            generator.index(IndexMemoryRequest { memory, sensitivity: Sensitivity::Personal }).await.unwrap();
        }
        let may = GenerateInsightsRequest {
            period: mneme_protocol::insights::DigestPeriod::Month,
            ending: Some("2023-05-31".to_owned()),
            ..maya_2023()
        };
        let digest = generator.digest(may).await.unwrap();
        let titles: Vec<&str> = digest.insights.iter().map(|insight| insight.title.as_str()).collect();
        assert!(titles.contains(&"On your mind: pottery"), "{titles:?}");
        assert!(!titles.iter().any(|title| title.contains("grey")), "a feeling is the mood's, not a topic: {titles:?}");
    }

    #[tokio::test]
    async fn the_owners_ratings_weigh_the_kinds_of_a_digest() {
        use mneme_protocol::insights::{InsightKind, RateInsightRequest};

        let generator = generator().await;
        let request = maya_2023();
        let before = generator.digest(request.clone()).await.unwrap();
        assert!(before.insights.iter().all(|insight| insight.weight == 1.0));
        let rate = |rating, principal: &str| RateInsightRequest {
            principal: principal.to_owned(),
            owner: "maya".to_owned(),
            kind: InsightKind::Activity,
            rating,
        };
        let rated = generator.rate(rate(1, "maya")).await.unwrap();
        assert!((rated.weight - 0.7).abs() < 1e-9);
        let after = generator.digest(request).await.unwrap();
        let activity = after.insights.iter().find(|insight| insight.kind == InsightKind::Activity).unwrap();
        assert!((activity.weight - 0.7).abs() < 1e-9);
        assert_eq!(generator.rate(rate(5, "omar")).await.unwrap_err().code, ErrorCode::Forbidden);
        assert_eq!(generator.rate(rate(6, "maya")).await.unwrap_err().code, ErrorCode::BadRequest);
    }
}
