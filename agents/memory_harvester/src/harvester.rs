//! Turning raw inputs into memories, and the agent that serves it.

use unicode_segmentation::UnicodeSegmentation;
use uuid::Uuid;

use mneme_protocol::guardian::{Forgotten, event_types as guardian_events};
use mneme_protocol::harvester::{
    BatchItemError, BatchProcessRequest, BatchProcessed, MemoryProcessed, MemoryProcessedEvent, ProcessFileRequest,
    ProcessMemoryRequest, ProcessedMemory, QualityAssessment, RawInput, ValidateQualityRequest, event_types,
    message_types,
};
use mneme_protocol::{AgentCapability, AgentType, ErrorCode};
use mneme_runtime::events::Audience;
use mneme_runtime::{Agent, Context, Event, EventDelivery, EventSubscription, HandlerError, Reply, Request};

use crate::dedup::{DedupError, DedupIndex};
use crate::fingerprint::Fingerprint;
use crate::quality::{self, QualityRules};
use crate::settings::HarvesterSettings;
use crate::{language, normalize};

/// Namespace of memory ids (UUID v5): fixed forever, or re-imports would stop being idempotent.
pub const MEMORY_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6d6e_656d_652d_6d65_6d6f_7279_2d69_6431);

const MAX_OWNER_CHARS: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum HarvestError {
    #[error("owner is empty")]
    EmptyOwner,
    #[error("owner is longer than {MAX_OWNER_CHARS} characters")]
    OwnerTooLong,
    #[error("occurred_at `{0}` is neither RFC 3339, a date-time nor a date")]
    InvalidOccurredAt(String),
    #[error("batch of {size} inputs exceeds the limit of {limit}")]
    BatchTooLarge { size: usize, limit: usize },
    #[error("the input is {bytes} bytes, over the {limit} bytes of text a memory may hold; split it into parts")]
    TextTooLong { bytes: usize, limit: usize },
    #[error("file `{name}`: {reason}")]
    Source { name: String, reason: String },
    #[error(transparent)]
    Dedup(#[from] DedupError),
}

impl From<HarvestError> for HandlerError {
    fn from(error: HarvestError) -> Self {
        let code = match &error {
            HarvestError::EmptyOwner
            | HarvestError::OwnerTooLong
            | HarvestError::InvalidOccurredAt(_)
            | HarvestError::Source { .. } => ErrorCode::BadRequest,
            HarvestError::BatchTooLarge { .. } | HarvestError::TextTooLong { .. } => ErrorCode::PayloadTooLarge,
            HarvestError::Dedup(_) => ErrorCode::Unavailable,
        };
        HandlerError::new(code, error.to_string())
    }
}

/// The harvester's logic, over any duplicate index.
#[derive(Debug)]
pub struct Harvester<D> {
    settings: HarvesterSettings,
    rules: QualityRules,
    dedup: D,
}

impl<D: DedupIndex> Harvester<D> {
    pub fn new(settings: HarvesterSettings, dedup: D) -> Self {
        let rules = QualityRules { min_words: settings.min_words, acceptance_threshold: settings.acceptance_threshold };
        Harvester { settings, rules, dedup }
    }

    pub fn assess(&self, text: &str) -> QualityAssessment {
        quality::assess(text, &normalize::normalize(text), &self.rules)
    }

    /// Makes one memory of `input`.
    pub async fn process(&self, input: ProcessMemoryRequest) -> Result<ProcessedMemory, HarvestError> {
        let owner = match input.owner.as_deref().map(str::trim) {
            None => self.settings.default_owner.clone(),
            Some("") => return Err(HarvestError::EmptyOwner),
            Some(owner) if owner.chars().count() > MAX_OWNER_CHARS => return Err(HarvestError::OwnerTooLong),
            Some(owner) => owner.to_owned(),
        };
        if input.raw_input.len() > self.settings.max_text_bytes {
            return Err(HarvestError::TextTooLong {
                bytes: input.raw_input.len(),
                limit: self.settings.max_text_bytes,
            });
        }
        let occurred_at = input.occurred_at.as_deref().map(parse_occurred_at).transpose()?;
        let text = normalize::normalize(&input.raw_input);
        let quality = quality::assess(&input.raw_input, &text, &self.rules);
        let fingerprint = Fingerprint::of(&text).at(occurred_at.as_deref());
        let id = memory_id(&owner, input.source.as_deref(), &text);
        let duplicate_of =
            if text.is_empty() { None } else { self.dedup.check_and_record(&owner, &id, &fingerprint).await? };
        let author = input.author.map(|author| author.trim().to_owned()).filter(|author| !author.is_empty());
        let participants = people(input.participants, author.as_deref());
        let tags = tags(&input.tags, &text);
        Ok(ProcessedMemory {
            id,
            owner,
            source: input.source,
            source_kind: input.source_kind,
            author,
            participants,
            title: input.title.map(|title| normalize::normalize(&title)).filter(|title| !title.is_empty()),
            tags,
            language: language::detect(&text),
            word_count: u32::try_from(text.unicode_words().count()).unwrap_or(u32::MAX),
            text,
            occurred_at,
            processed_at: jiff::Timestamp::now().to_string(),
            content_hash: fingerprint.content_hash,
            quality,
            is_duplicate: duplicate_of.is_some(),
            duplicate_of,
        })
    }

    /// Makes memories of a batch in order, so that later items are checked against earlier ones. Items
    /// that fail are reported by index; the rest are processed.
    pub async fn process_batch(&self, batch: BatchProcessRequest) -> Result<BatchProcessed, HarvestError> {
        if batch.raw_inputs.len() > self.settings.max_batch_size {
            return Err(HarvestError::BatchTooLarge {
                size: batch.raw_inputs.len(),
                limit: self.settings.max_batch_size,
            });
        }
        let mut processed_memories = Vec::with_capacity(batch.raw_inputs.len());
        let mut errors = Vec::new();
        for (index, input) in batch.into_inputs().into_iter().enumerate() {
            match self.process(input).await {
                Ok(memory) => processed_memories.push(memory),
                Err(HarvestError::Dedup(error)) => return Err(HarvestError::Dedup(error)),
                Err(error) => errors.push(BatchItemError { index, error: error.to_string() }),
            }
        }
        Ok(BatchProcessed { processed_memories, errors })
    }
}

/// The inputs a file holds, each with the request's owner.
pub fn file_inputs(request: ProcessFileRequest) -> Result<Vec<ProcessMemoryRequest>, HarvestError> {
    let source_error = |reason: String| HarvestError::Source { name: request.name.clone(), reason };
    let mut options = mneme_sources::ReadOptions::default();
    if let Some(mapping) = &request.csv_mapping {
        options.csv = mapping.parse().map_err(|error: mneme_sources::SourceError| source_error(error.to_string()))?;
    }
    let bytes = request.content.as_bytes();
    let format = match &request.format {
        Some(format) => format.parse().map_err(source_error)?,
        None => mneme_sources::detect(&request.name, bytes)
            .ok_or_else(|| source_error("its format cannot be told; name it with `format`".to_owned()))?,
    };
    let mut inputs = mneme_sources::parse(format, bytes, &request.name, None, &options)
        .map_err(|error| source_error(error.to_string()))?;
    for input in &mut inputs {
        input.owner = request.owner.clone();
    }
    Ok(inputs)
}

/// The people taking part, each once (case aside), without the author, in the order given.
fn people(participants: Vec<String>, author: Option<&str>) -> Vec<String> {
    let mut seen: Vec<String> = author.map(str::to_lowercase).into_iter().collect();
    let mut people = Vec::new();
    for person in participants {
        let person = person.trim();
        if !person.is_empty() && !seen.contains(&person.to_lowercase()) {
            seen.push(person.to_lowercase());
            people.push(person.to_owned());
        }
    }
    people
}

/// The tags given and the `#hashtags` of the text, lower-cased, each once, sorted.
fn tags(given: &[String], text: &str) -> Vec<String> {
    let hashtags = text.split(|c: char| c.is_whitespace() || ",;()[]".contains(c)).filter_map(|word| {
        let tag = word.strip_prefix('#')?.trim_end_matches(|c: char| !c.is_alphanumeric());
        // `#1` and `#` are not tags.
        (tag.chars().next()?.is_alphabetic() && tag.chars().all(|c| c.is_alphanumeric() || "_-/".contains(c)))
            .then_some(tag)
    });
    let mut tags: Vec<String> = given
        .iter()
        .map(|tag| tag.trim().trim_start_matches('#'))
        .chain(hashtags)
        .filter(|tag| !tag.is_empty())
        .map(str::to_lowercase)
        .collect();
    tags.sort();
    tags.dedup();
    tags
}

/// UUID v5 of owner, source and text: stable across runs, machines and replicas.
pub fn memory_id(owner: &str, source: Option<&str>, text: &str) -> String {
    let name = format!("{owner}\u{0}{}\u{0}{text}", source.unwrap_or_default());
    Uuid::new_v5(&MEMORY_ID_NAMESPACE, name.as_bytes()).to_string()
}

/// Reads RFC 3339 with any offset, a civil date-time or a date (both read as UTC); returns RFC 3339 UTC.
pub fn parse_occurred_at(text: &str) -> Result<String, HarvestError> {
    let trimmed = text.trim();
    if let Ok(timestamp) = trimmed.parse::<jiff::Timestamp>() {
        return Ok(timestamp.to_string());
    }
    let civil = trimmed
        .parse::<jiff::civil::DateTime>()
        .or_else(|_| trimmed.parse::<jiff::civil::Date>().map(|date| date.to_datetime(jiff::civil::Time::midnight())));
    civil
        .ok()
        .and_then(|datetime| jiff::tz::TimeZone::UTC.to_timestamp(datetime).ok())
        .map(|timestamp| timestamp.to_string())
        .ok_or_else(|| HarvestError::InvalidOccurredAt(text.to_owned()))
}

/// The capabilities the harvester advertises, with the seed's names and types.
pub fn capabilities() -> Vec<AgentCapability> {
    vec![
        AgentCapability::new(
            message_types::PROCESS_MEMORY,
            "Process raw memory input from various sources",
            &["raw_memory_input"],
            &["processed_memory"],
        )
        .with_dependencies(&[AgentType::PatternAnalyzer.as_str(), AgentType::PrivacyGuardian.as_str()]),
        AgentCapability::new(
            message_types::BATCH_PROCESS,
            "Process multiple memories in batch",
            &["raw_memory_batch"],
            &["processed_memory_batch"],
        ),
        AgentCapability::new(
            message_types::VALIDATE_QUALITY,
            "Validate memory content quality",
            &["memory_content"],
            &["quality_assessment"],
        ),
        AgentCapability::new(
            message_types::PROCESS_FILE,
            "Process a note, journal, chat export, e-mail or CSV file into memories",
            &["source_file"],
            &["processed_memory_batch"],
        ),
    ]
}

/// The memory harvester agent: [`Harvester`] behind the runtime, announcing each memory it processes.
#[derive(Debug)]
pub struct MemoryHarvester<D> {
    harvester: Harvester<D>,
    /// Where `memory_processed` events go; none when driven without NATS.
    events: Option<Context>,
}

impl<D: DedupIndex> MemoryHarvester<D> {
    pub fn new(harvester: Harvester<D>, events: Option<Context>) -> Self {
        MemoryHarvester { harvester, events }
    }

    /// Forgets what the index holds of a forgotten memory or owner.
    pub async fn forget(&self, forgotten: &Forgotten) -> Result<(), DedupError> {
        match &forgotten.memory_id {
            Some(memory_id) => self.harvester.dedup.forget_memory(&forgotten.owner, memory_id).await,
            None => self.harvester.dedup.forget_owner(&forgotten.owner).await,
        }
    }

    async fn announce(&self, memory: &ProcessedMemory) {
        let Some(context) = self.events.as_ref().filter(|_| self.harvester.settings.publish_events) else { return };
        let event = MemoryProcessedEvent {
            memory_id: memory.id.clone(),
            owner: memory.owner.clone(),
            quality_score: memory.quality.score,
            duplicate_of: memory.duplicate_of.as_ref().map(|duplicate| duplicate.memory_id.clone()),
        };
        if let Err(error) = context.publish_event(event_types::MEMORY_PROCESSED, &event, &Audience::Everyone).await {
            tracing::warn!(%error, memory_id = %memory.id, "Announcing a processed memory failed.");
        }
    }
}

impl<D: DedupIndex> Agent for MemoryHarvester<D> {
    fn description(&self) -> String {
        "Mneme memory harvester: normalizes raw inputs, judges their quality, detects language and duplicates"
            .to_owned()
    }

    fn capabilities(&self) -> Vec<AgentCapability> {
        capabilities()
    }

    fn event_subscriptions(&self) -> Vec<EventSubscription> {
        // The index is shared by every replica: one of them forgets for all.
        vec![EventSubscription::new(guardian_events::MEMORY_FORGOTTEN, EventDelivery::OneInstance)]
    }

    async fn on_event(&self, event: Event) -> Result<(), HandlerError> {
        let forgotten: Forgotten = event.payload()?;
        self.forget(&forgotten).await.map_err(|error| HandlerError::unavailable(error.to_string()))?;
        tracing::info!(memory_id = ?forgotten.memory_id, "Forgot what the duplicate index held.");
        Ok(())
    }

    async fn handle(&self, request: Request) -> Result<Reply, HandlerError> {
        match request.message_type() {
            message_types::PROCESS_MEMORY => {
                let memory = self.harvester.process(request.payload()?).await?;
                self.announce(&memory).await;
                tracing::debug!(memory_id = %memory.id, duplicate = memory.is_duplicate, "Memory processed.");
                Ok(Reply::new(message_types::MEMORY_PROCESSED, MemoryProcessed { processed_memory: memory }))
            }
            message_types::BATCH_PROCESS => {
                let batch = self.harvester.process_batch(request.payload()?).await?;
                for memory in &batch.processed_memories {
                    self.announce(memory).await;
                }
                Ok(Reply::new(message_types::BATCH_PROCESSED, batch))
            }
            message_types::PROCESS_FILE => {
                let inputs = file_inputs(request.payload()?)?;
                let batch = BatchProcessRequest {
                    raw_inputs: inputs.into_iter().map(RawInput::Full).collect(),
                    owner: None,
                    source: None,
                };
                let batch = self.harvester.process_batch(batch).await?;
                for memory in &batch.processed_memories {
                    self.announce(memory).await;
                }
                Ok(Reply::new(message_types::BATCH_PROCESSED, batch))
            }
            message_types::VALIDATE_QUALITY => {
                let input: ValidateQualityRequest = request.payload()?;
                Ok(Reply::new(message_types::QUALITY_ASSESSMENT, self.harvester.assess(&input.text)))
            }
            other => Err(HandlerError::unhandled(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::MemoryDedupIndex;
    use mneme_protocol::harvester::DuplicateKind;
    use mneme_protocol::{AgentMessage, Encoding};

    fn harvester() -> Harvester<MemoryDedupIndex> {
        let settings = HarvesterSettings::default();
        let dedup = MemoryDedupIndex::new(settings.near_duplicate_min_similarity);
        Harvester::new(settings, dedup)
    }

    fn input(text: &str) -> ProcessMemoryRequest {
        ProcessMemoryRequest {
            raw_input: text.to_owned(),
            owner: Some("ann".into()),
            ..ProcessMemoryRequest::default()
        }
    }

    #[tokio::test]
    async fn a_raw_note_becomes_a_clean_memory() {
        let mut request = input("  Went  hiking with Sam on the Ridge trail.\r\nSaw two deer!  ");
        request.occurred_at = Some("2024-05-01T09:30:00+02:00".into());
        request.source = Some("notes/2024-05-01.md".into());
        let memory = harvester().process(request).await.unwrap();
        assert_eq!(memory.text, "Went hiking with Sam on the Ridge trail.\nSaw two deer!");
        assert_eq!(memory.owner, "ann");
        assert_eq!(memory.occurred_at.as_deref(), Some("2024-05-01T07:30:00Z"));
        assert_eq!(memory.language.code, "eng");
        assert_eq!(memory.word_count, 11);
        assert_eq!(memory.quality.score, 1.0);
        assert!(!memory.is_duplicate);
        assert_eq!(memory.id, memory_id("ann", Some("notes/2024-05-01.md"), &memory.text));
    }

    #[tokio::test]
    async fn processing_again_is_idempotent_and_repeats_are_flagged() {
        let harvester = harvester();
        let text = "Dinner at Mario's with the whole team to celebrate the launch; Priya gave a lovely speech.";
        let first = harvester.process(input(text)).await.unwrap();
        let again = harvester.process(input(text)).await.unwrap();
        assert_eq!(again.id, first.id);
        assert!(!again.is_duplicate);

        let mut elsewhere = input(text);
        elsewhere.source = Some("chat-export.json".into());
        let copy = harvester.process(elsewhere).await.unwrap();
        assert_ne!(copy.id, first.id);
        assert_eq!(
            copy.duplicate_of.as_ref().map(|duplicate| (duplicate.memory_id.as_str(), duplicate.kind)),
            Some((first.id.as_str(), DuplicateKind::Exact))
        );

        let edited = harvester.process(input(&text.replace("lovely", "wonderful"))).await.unwrap();
        assert_eq!(edited.duplicate_of.map(|duplicate| duplicate.kind), Some(DuplicateKind::Near));
    }

    #[tokio::test]
    async fn dates_are_read_in_the_documented_forms_and_others_are_refused() {
        assert_eq!(parse_occurred_at("2023-12-24").unwrap(), "2023-12-24T00:00:00Z");
        assert_eq!(parse_occurred_at("2023-12-24 18:05").unwrap(), "2023-12-24T18:05:00Z");
        assert_eq!(parse_occurred_at("2023-12-24T18:05:00-05:00").unwrap(), "2023-12-24T23:05:00Z");
        let mut request = input("Some words to remember today");
        request.occurred_at = Some("last tuesday".into());
        assert!(matches!(harvester().process(request).await, Err(HarvestError::InvalidOccurredAt(_))));
    }

    #[tokio::test]
    async fn a_text_longer_than_a_memory_may_hold_is_refused_for_good() {
        let limit = HarvesterSettings::default().max_text_bytes;
        let long = "word ".repeat(limit / 5 + 1);
        let error = harvester().process(input(&long)).await.unwrap_err();
        assert!(matches!(error, HarvestError::TextTooLong { bytes, .. } if bytes == long.len()), "{error}");
        let refused = HandlerError::from(error);
        assert_eq!(refused.code, ErrorCode::PayloadTooLarge);
        assert!(!refused.payload().recoverable, "it fails the same way every time");
        assert!(harvester().process(input(&"word ".repeat(limit / 5))).await.is_ok());
    }

    #[tokio::test]
    async fn owners_are_checked() {
        let mut request = input("words words words");
        request.owner = Some("  ".into());
        assert!(matches!(harvester().process(request).await, Err(HarvestError::EmptyOwner)));
        let mut request = input("words words words");
        request.owner = None;
        assert_eq!(harvester().process(request).await.unwrap().owner, HarvesterSettings::default().default_owner);
    }

    #[tokio::test]
    async fn files_become_memories_of_their_owner() {
        let export = "1/2/24, 8:05 AM - Omar: Brunch at 11?\n1/2/24, 8:06 AM - Ann: Perfect, see you there\n";
        let request = ProcessFileRequest {
            name: "whatsapp/omar.txt".into(),
            content: export.into(),
            format: None,
            csv_mapping: None,
            owner: Some("ann".into()),
        };
        let inputs = file_inputs(request.clone()).unwrap();
        assert_eq!(inputs.len(), 2);
        assert!(inputs.iter().all(|input| input.owner.as_deref() == Some("ann")));
        let memory = harvester().process(inputs[0].clone()).await.unwrap();
        assert_eq!(memory.source.as_deref(), Some("whatsapp/omar.txt#L1"));
        assert_eq!(memory.author.as_deref(), Some("Omar"));

        let unknown = ProcessFileRequest { format: Some("pdf".into()), ..request.clone() };
        assert!(matches!(file_inputs(unknown), Err(HarvestError::Source { .. })));
        let bad_mapping = ProcessFileRequest { csv_mapping: Some("colour=x".into()), ..request };
        assert!(matches!(file_inputs(bad_mapping), Err(HarvestError::Source { .. })));
    }

    #[tokio::test]
    async fn keeps_who_took_part_and_collects_tags() {
        let mut request = input("Planning the #Lisbon trip with Omar. #travel #2024 #travel");
        request.source_kind = mneme_protocol::harvester::SourceKind::Chat;
        request.author = Some(" Ann ".into());
        request.participants = vec!["Omar".into(), "ann".into(), "omar".into(), " ".into(), "Lena".into()];
        request.tags = vec!["#Trips".into()];
        let memory = harvester().process(request).await.unwrap();
        assert_eq!(memory.author.as_deref(), Some("Ann"));
        assert_eq!(memory.participants, ["Omar", "Lena"]);
        assert_eq!(memory.tags, ["lisbon", "travel", "trips"]);
        assert_eq!(memory.source_kind, mneme_protocol::harvester::SourceKind::Chat);
    }

    #[tokio::test]
    async fn batches_check_items_against_each_other_and_report_bad_items() {
        let batch = BatchProcessRequest {
            raw_inputs: vec![
                RawInput::Text("Morning run along the canal, eight kilometres in the rain.".into()),
                RawInput::Full(ProcessMemoryRequest {
                    raw_input: "Bad date here".into(),
                    occurred_at: Some("yesterday-ish".into()),
                    ..ProcessMemoryRequest::default()
                }),
                RawInput::Text("Morning run along the canal, eight kilometres in the rain.".into()),
            ],
            owner: Some("ann".into()),
            source: None,
        };
        let result = harvester().process_batch(batch).await.unwrap();
        assert_eq!(result.processed_memories.len(), 2);
        assert_eq!(result.errors.len(), 1);
        assert_eq!(result.errors[0].index, 1);
        // The same text from the same source is the same memory, not a duplicate of itself.
        assert_eq!(result.processed_memories[0].id, result.processed_memories[1].id);
    }

    #[tokio::test]
    async fn oversized_batches_are_refused() {
        let settings = HarvesterSettings { max_batch_size: 2, ..HarvesterSettings::default() };
        let harvester = Harvester::new(settings, MemoryDedupIndex::new(0.7));
        let batch = BatchProcessRequest { raw_inputs: vec![RawInput::Text("a".into()); 3], owner: None, source: None };
        let error = HandlerError::from(harvester.process_batch(batch).await.unwrap_err());
        assert_eq!(error.code, ErrorCode::PayloadTooLarge);
    }

    #[tokio::test]
    async fn the_agent_answers_each_capability_and_refuses_bad_payloads() {
        let agent = MemoryHarvester::new(harvester(), None);
        let request = |message_type: &str, payload: serde_json::Value| Request {
            message: AgentMessage::new(message_type, payload),
            encoding: Encoding::MessagePack,
        };
        let reply = agent
            .handle(request("process_memory", serde_json::json!({"raw_input": "Lunch with Omar at the noodle bar"})))
            .await
            .unwrap();
        assert_eq!(reply.message_type, "memory_processed");
        let reply = agent.handle(request("validate_quality", serde_json::json!({"text": "ok"}))).await.unwrap();
        assert_eq!(reply.message_type, "quality_assessment");
        let reply =
            agent.handle(request("batch_process", serde_json::json!({"raw_inputs": ["one two three"]}))).await.unwrap();
        assert_eq!(reply.message_type, "batch_processed");
        let error = agent.handle(request("process_memory", serde_json::json!({"raw_input": 42}))).await.unwrap_err();
        assert_eq!(error.code, ErrorCode::BadRequest);
        let error = agent.handle(request("process_memory", serde_json::json!({}))).await.unwrap_err();
        assert_eq!(error.code, ErrorCode::BadRequest);
    }
}
