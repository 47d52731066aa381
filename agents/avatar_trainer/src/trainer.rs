//! The avatar trainer as an agent: `train_avatar` keeps the style of each memory the owner wrote in their
//! sample ledger and writes model snapshots as it goes; `get_persona` and `list_model_versions` read the
//! model for principals the guardian lets read derived results; `respond` answers in the owner's voice from
//! their own words. Each replica keeps the models of the owners it was asked about in memory, loaded from the
//! latest snapshot and the ledger and kept current by following the ledger.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use mneme_protocol::avatar::{
    AvatarResponse, AvatarTrained, GetPersonaRequest, ListModelVersionsRequest, MAX_RESPOND_SOURCES, ModelVersions,
    Persona, RespondRequest, ResponseBackend, ResponseSource, TrainAvatarRequest, message_types,
};
use mneme_protocol::harvester::written_by_owner;
use mneme_protocol::{AgentCapability, AgentType, ErrorCode};
use mneme_runtime::access::AccessCheck;
use mneme_runtime::copies::{OwnerCopies, WorkingCopy};
use mneme_runtime::ledger::{FollowedLedger, ShardChange};
use mneme_runtime::{Agent, Event, EventSubscription, HandlerError, Reply, Request};

use crate::colleagues::Colleagues;
use crate::compose::compose;
use crate::llm::LlmBackend;
use crate::model::VoiceModel;
use crate::settings::AvatarSettings;
use crate::snapshots::ModelSnapshots;
use crate::style::StyleSample;

/// The sample ledger's bucket.
pub const LEDGER_BUCKET: &str = "mneme_avatar";

const DEFAULT_SOURCES: usize = 5;

/// One owner's model in this replica.
pub struct OwnerModel(Mutex<VoiceModel>);

impl WorkingCopy<StyleSample> for OwnerModel {
    /// Samples of memories the model has not seen are added; the rest are there already.
    fn take(&self, changes: Vec<ShardChange<StyleSample>>, _loading: bool) -> Result<(), String> {
        let mut model = self.0.lock().expect("unpoisoned");
        for (_, entries) in changes {
            for (memory_id, sample) in entries.into_iter().flatten() {
                model.add(&memory_id, &sample);
            }
        }
        Ok(())
    }
}

pub struct AvatarTrainer<L, S, A, C> {
    settings: AvatarSettings,
    ledger: Arc<L>,
    snapshots: Arc<S>,
    access: A,
    colleagues: C,
    llm: Option<LlmBackend>,
    models: OwnerCopies<OwnerModel>,
    /// Memories this replica trained per owner since it last wrote their snapshot.
    unsnapshotted: Arc<Mutex<HashMap<String, usize>>>,
    /// Owners whose next snapshot is already due at a time (see [`AvatarSettings::snapshot_after_ms`]).
    scheduled: Arc<Mutex<HashSet<String>>>,
}

impl<L, S, A, C> std::fmt::Debug for AvatarTrainer<L, S, A, C> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("AvatarTrainer").field("models", &self.models).finish()
    }
}

/// Writes `model` as the owner's next snapshot, and counts what it holds as written.
async fn write_snapshot<S: ModelSnapshots>(
    snapshots: &S,
    owner: &str,
    model: &Mutex<VoiceModel>,
    unsnapshotted: &Mutex<HashMap<String, usize>>,
    kept: usize,
) -> Result<u64, crate::snapshots::SnapshotError> {
    let held = unsnapshotted.lock().expect("unpoisoned").get(owner).copied().unwrap_or_default();
    let copy = model.lock().expect("unpoisoned").clone();
    let written = snapshots.write(owner, &copy, kept).await?;
    let mut counts = unsnapshotted.lock().expect("unpoisoned");
    if let Some(count) = counts.get_mut(owner) {
        *count = count.saturating_sub(held);
        if *count == 0 {
            counts.remove(owner);
        }
    }
    tracing::info!(version = written.version, memories = written.memories, "Wrote a voice model snapshot.");
    Ok(written.version)
}

/// Whether a memory at `occurred_at` falls in `from..until` (days are whole: `until` as a day is included).
fn within(occurred_at: Option<&str>, from: Option<&str>, until: Option<&str>) -> bool {
    let Some(at) = occurred_at else { return from.is_none() && until.is_none() };
    let after_start = from.is_none_or(|from| at >= from);
    let before_end =
        until.is_none_or(|until| if until.len() == 10 { &at[..at.len().min(10)] <= until } else { at < until });
    after_start && before_end
}

fn check_bound(name: &str, value: Option<&str>) -> Result<(), HandlerError> {
    let Some(value) = value else { return Ok(()) };
    let day = value.len() == 10 && value.parse::<jiff::civil::Date>().is_ok();
    if day || value.parse::<jiff::Timestamp>().is_ok() {
        Ok(())
    } else {
        Err(HandlerError::bad_request(format!(
            "`{name}` must be a day (YYYY-MM-DD) or an RFC 3339 instant, not `{value}`"
        )))
    }
}

impl<L: FollowedLedger<StyleSample>, S: ModelSnapshots, A: AccessCheck, C: Colleagues> AvatarTrainer<L, S, A, C> {
    pub fn new(settings: AvatarSettings, ledger: L, snapshots: S, access: A, colleagues: C) -> Self {
        let llm = match LlmBackend::new(&settings.llm) {
            Some(Ok(backend)) => Some(backend),
            Some(Err(error)) => {
                tracing::warn!(%error, "The language model backend cannot be set up; answers are extractive.");
                None
            }
            None => None,
        };
        let settings_max_loaded = settings.max_loaded_owners;
        AvatarTrainer {
            settings,
            ledger: Arc::new(ledger),
            snapshots: Arc::new(snapshots),
            access,
            colleagues,
            llm,
            models: OwnerCopies::new(settings_max_loaded),
            unsnapshotted: Arc::default(),
            scheduled: Arc::default(),
        }
    }

    /// The owner's model: on first use, the latest snapshot with what the ledger has beyond it; followed from
    /// then on.
    async fn model_of(&self, owner: &str) -> Result<Arc<OwnerModel>, HandlerError> {
        if let Some(model) = self.models.get(owner) {
            return Ok(model);
        }
        let latest = self.snapshots.versions(owner).await?.last().map(|version| version.version);
        let from_snapshot = match latest {
            Some(version) => self.snapshots.read(owner, version).await?,
            None => None,
        };
        self.models
            .load(self.ledger.as_ref(), LEDGER_BUCKET, owner, || {
                Ok(OwnerModel(Mutex::new(from_snapshot.unwrap_or_default())))
            })
            .await
    }

    /// Writes the owner's model as a new snapshot version.
    async fn snapshot(&self, owner: &str) -> Result<u64, HandlerError> {
        let model = self.model_of(owner).await?;
        Ok(write_snapshot(self.snapshots.as_ref(), owner, &model.0, &self.unsnapshotted, self.settings.snapshots_kept)
            .await?)
    }

    /// Makes sure what this replica trained of the owner is in a snapshot within `snapshot_after_ms`, however
    /// few memories it was.
    fn schedule_snapshot(&self, owner: &str, model: Arc<OwnerModel>) {
        if !self.scheduled.lock().expect("unpoisoned").insert(owner.to_owned()) {
            return;
        }
        let (snapshots, counts, scheduled) =
            (self.snapshots.clone(), self.unsnapshotted.clone(), self.scheduled.clone());
        let (owner, kept) = (owner.to_owned(), self.settings.snapshots_kept);
        let after = std::time::Duration::from_millis(self.settings.snapshot_after_ms);
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            scheduled.lock().expect("unpoisoned").remove(&owner);
            let waiting = counts.lock().expect("unpoisoned").get(&owner).copied().unwrap_or_default();
            if waiting > 0
                && let Err(error) = write_snapshot(snapshots.as_ref(), &owner, &model.0, &counts, kept).await
            {
                tracing::warn!(%error, "A voice model snapshot was not written; the next one will hold its memories.");
            }
        });
    }

    /// Takes one memory into its owner's voice if the owner wrote it; a memory taken in before changes nothing.
    pub async fn train(&self, request: TrainAvatarRequest) -> Result<AvatarTrained, HandlerError> {
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
        let own_words = written_by_owner(memory.author.as_deref(), &memory.owner, &[]);
        let untrained = |own_words| AvatarTrained {
            owner: memory.owner.clone(),
            memory_id: memory.id.clone(),
            own_words,
            trained: false,
            snapshot: None,
        };
        if !own_words {
            return Ok(untrained(false));
        }
        let sentiment = self.colleagues.sentiment(&memory.text).await?;
        let sample = StyleSample::read(&memory.text, memory.occurred_at.clone(), Some(sentiment));
        if !self.ledger.record(&memory.owner, &memory.id, sample.clone()).await? {
            return Ok(untrained(true));
        }
        // This replica's copy learns of it through the ledger too; taken in here, the next request sees it.
        // Training loads an owner's model only into a free place: a stream of many owners' memories must not
        // keep evicting and reloading models.
        let model = match self.models.get(&memory.owner) {
            Some(model) => Some(model),
            None if self.models.has_room() => Some(self.model_of(&memory.owner).await?),
            None => None,
        };
        if let Some(model) = &model {
            model.0.lock().expect("unpoisoned").add(&memory.id, &sample);
        }
        let due = {
            let mut counts = self.unsnapshotted.lock().expect("unpoisoned");
            let count = counts.entry(memory.owner.clone()).or_default();
            *count += 1;
            *count >= self.settings.snapshot_every
        };
        let snapshot = if due {
            Some(self.snapshot(&memory.owner).await?)
        } else {
            if let Some(model) = model {
                self.schedule_snapshot(&memory.owner, model);
            }
            None
        };
        Ok(AvatarTrained { owner: memory.owner, memory_id: memory.id, own_words: true, trained: true, snapshot })
    }

    pub async fn persona(&self, request: GetPersonaRequest) -> Result<Persona, HandlerError> {
        self.access.check_derived(&request.principal, &request.owner).await?;
        check_bound("from", request.from.as_deref())?;
        check_bound("until", request.until.as_deref())?;
        if let Some(version) = request.version {
            if request.from.is_some() || request.until.is_some() {
                return Err(HandlerError::bad_request("a persona is of a version or of a span, not both"));
            }
            let Some(model) = self.snapshots.read(&request.owner, version).await? else {
                return Err(HandlerError::new(
                    ErrorCode::NotFound,
                    format!("{} has no model snapshot {version}", request.owner),
                ));
            };
            return Ok(Persona { model_version: Some(version), ..model.persona(&request.owner) });
        }
        if request.from.is_none() && request.until.is_none() {
            let model = self.model_of(&request.owner).await?;
            let persona = model.0.lock().expect("unpoisoned").persona(&request.owner);
            return Ok(persona);
        }
        let mut model = VoiceModel::default();
        for (memory_id, sample) in self.ledger.entries(&request.owner).await? {
            if within(sample.occurred_at.as_deref(), request.from.as_deref(), request.until.as_deref()) {
                model.add(&memory_id, &sample);
            }
        }
        Ok(Persona { from: request.from, until: request.until, ..model.persona(&request.owner) })
    }

    pub async fn versions(&self, request: ListModelVersionsRequest) -> Result<ModelVersions, HandlerError> {
        self.access.check_derived(&request.principal, &request.owner).await?;
        let versions = self.snapshots.versions(&request.owner).await?;
        Ok(ModelVersions { owner: request.owner, versions })
    }

    /// An answer to the prompt in the owner's voice, from what `principal` may read of their own words.
    pub async fn respond(&self, request: RespondRequest) -> Result<AvatarResponse, HandlerError> {
        let prompt = request.prompt.trim();
        if prompt.is_empty() {
            return Err(HandlerError::bad_request("the prompt is empty"));
        }
        if prompt.chars().count() > self.settings.max_prompt_chars {
            return Err(HandlerError::new(
                ErrorCode::PayloadTooLarge,
                format!("the prompt is longer than {} characters", self.settings.max_prompt_chars),
            ));
        }
        let limit = request.limit.unwrap_or(DEFAULT_SOURCES);
        if limit == 0 || limit > MAX_RESPOND_SOURCES {
            return Err(HandlerError::bad_request(format!("`limit` must be within 1..={MAX_RESPOND_SOURCES}")));
        }
        self.access.check_derived(&request.principal, &request.owner).await?;
        let hits = self.colleagues.own_words(&request.principal, &request.owner, prompt, limit).await?;
        let model = self.model_of(&request.owner).await?;
        let persona = model.0.lock().expect("unpoisoned").persona(&request.owner);
        let sources: Vec<ResponseSource> = hits
            .iter()
            .map(|hit| ResponseSource {
                memory_id: hit.memory_id.clone(),
                occurred_at: hit.occurred_at.clone(),
                snippet: hit.snippet.clone(),
                redacted: hit.redacted,
            })
            .collect();
        let mut notes = Vec::new();
        if let Some(llm) = &self.llm
            && !hits.is_empty()
        {
            // Whatever leaves for the model is in shareable form, whoever asks.
            let mut shareable = Vec::with_capacity(hits.len());
            for hit in &hits {
                shareable.push(self.colleagues.shareable(&request.owner, &hit.snippet).await?);
            }
            let for_owner = request.principal == request.owner;
            match llm.respond(&persona, prompt, &shareable, for_owner).await {
                Ok(text) => {
                    return Ok(AvatarResponse {
                        owner: request.owner,
                        prompt: prompt.to_owned(),
                        text,
                        answered: true,
                        backend: ResponseBackend::Llm,
                        sources,
                        notes,
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, "The language model failed; answering from the owner's sentences.");
                    notes.push(format!("{error}; answered from the owner's own sentences instead"));
                }
            }
        }
        let text = compose(prompt, &hits, &persona);
        if text.is_none() {
            notes.push(format!("nothing {} wrote answers this", request.owner));
        }
        Ok(AvatarResponse {
            owner: request.owner,
            prompt: prompt.to_owned(),
            answered: text.is_some(),
            text: text.unwrap_or_default(),
            backend: ResponseBackend::Extractive,
            sources,
            notes,
        })
    }

    /// Forgets one memory, or everything of an owner: the ledger drops it, and since every snapshot holds it,
    /// they all go; this replica's model is rebuilt from the ledger when next needed.
    async fn forget(&self, event: &Event) -> Result<(), HandlerError> {
        let forgotten = mneme_runtime::ledger::forget_on(self.ledger.as_ref(), event).await?;
        self.models.drop_owner(&forgotten.owner);
        self.unsnapshotted.lock().expect("unpoisoned").remove(&forgotten.owner);
        self.snapshots.forget(&forgotten.owner).await?;
        Ok(())
    }
}

pub fn capabilities() -> Vec<AgentCapability> {
    vec![
        AgentCapability::new(
            message_types::TRAIN_AVATAR,
            "Takes a stored memory the owner wrote into their voice model; snapshots are versioned in the object store",
            &["processed_memory", "sensitivity"],
            &[message_types::AVATAR_TRAINED],
        )
        .with_dependencies(&[AgentType::PatternAnalyzer.as_str(), AgentType::PrivacyGuardian.as_str()]),
        AgentCapability::new(
            message_types::GET_PERSONA,
            "An owner's style from their own words: vocabulary, signature phrases, sentence length, emoji and punctuation, formality, sentiment baseline, interests, personality indicators",
            &["principal", "owner"],
            &[message_types::PERSONA],
        )
        .with_dependencies(&[AgentType::PrivacyGuardian.as_str()]),
        AgentCapability::new(
            message_types::LIST_MODEL_VERSIONS,
            "The versions of an owner's voice model kept in the object store",
            &["principal", "owner"],
            &[message_types::MODEL_VERSIONS],
        )
        .with_dependencies(&[AgentType::PrivacyGuardian.as_str()]),
        AgentCapability::new(
            message_types::RESPOND,
            "Answers a prompt in the owner's voice from their own most relevant words, as the principal may see them",
            &["principal", "owner", "prompt"],
            &[message_types::AVATAR_RESPONSE],
        )
        .with_dependencies(&[AgentType::InsightGenerator.as_str(), AgentType::PrivacyGuardian.as_str()]),
    ]
}

impl<L: FollowedLedger<StyleSample>, S: ModelSnapshots, A: AccessCheck, C: Colleagues> Agent
    for AvatarTrainer<L, S, A, C>
{
    fn description(&self) -> String {
        "Mneme avatar trainer: a person's voice from their own words, their style, and answers in it".to_owned()
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
            message_types::TRAIN_AVATAR => {
                Ok(Reply::new(message_types::AVATAR_TRAINED, self.train(request.payload()?).await?))
            }
            message_types::GET_PERSONA => {
                Ok(Reply::new(message_types::PERSONA, self.persona(request.payload()?).await?))
            }
            message_types::LIST_MODEL_VERSIONS => {
                Ok(Reply::new(message_types::MODEL_VERSIONS, self.versions(request.payload()?).await?))
            }
            message_types::RESPOND => {
                Ok(Reply::new(message_types::AVATAR_RESPONSE, self.respond(request.payload()?).await?))
            }
            other => Err(HandlerError::unhandled(other)),
        }
    }

    /// What this replica trained since its last snapshots is written as new snapshots before it goes.
    async fn shutdown(&self) {
        let owners: Vec<String> = self.unsnapshotted.lock().expect("unpoisoned").keys().cloned().collect();
        for owner in owners {
            if let Err(error) = self.snapshot(&owner).await {
                tracing::info!(
                    error = %error.message,
                    "No voice model snapshot on the way out; the ledger keeps every sample, and the next replica builds the model from it."
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mneme_protocol::guardian::Sensitivity;
    use mneme_protocol::harvester::ProcessedMemory;
    use mneme_protocol::insights::SearchHit;
    use mneme_runtime::access::OwnerOnly;
    use mneme_runtime::ledger::MemoryLedger;

    use crate::snapshots::MemorySnapshots;

    /// Colleagues that score every text as mildly positive and recall what the test wrote, whoever asks.
    struct Desk(Vec<SearchHit>);

    impl Colleagues for Desk {
        async fn sentiment(&self, _text: &str) -> Result<f64, HandlerError> {
            Ok(0.3)
        }

        async fn own_words(&self, _: &str, _: &str, _: &str, limit: usize) -> Result<Vec<SearchHit>, HandlerError> {
            Ok(self.0.iter().take(limit).cloned().collect())
        }

        async fn shareable(&self, _owner: &str, text: &str) -> Result<String, HandlerError> {
            Ok(text.to_owned())
        }
    }

    fn memory(id: &str, author: Option<&str>, at: &str, text: &str) -> TrainAvatarRequest {
        let memory: ProcessedMemory = serde_json::from_value(serde_json::json!({
            "id": id, "owner": "sam", "source": null, "text": text, "author": author,
            "language": {"code": "eng", "name": "English", "confidence": 1.0, "reliable": true},
            "word_count": 3, "occurred_at": at, "processed_at": at, "content_hash": "00",
            "quality": {"score": 1.0, "acceptable": true, "reasons": []}, "is_duplicate": false, "duplicate_of": null
        }))
        .expect("a valid memory");
        TrainAvatarRequest { memory, sensitivity: Sensitivity::Personal }
    }

    type Trainer = AvatarTrainer<MemoryLedger<StyleSample>, MemorySnapshots, OwnerOnly, Desk>;

    fn trainer(snapshot_every: usize, hits: Vec<SearchHit>) -> Trainer {
        trainer_with(AvatarSettings { snapshot_every, ..AvatarSettings::default() }, hits)
    }

    fn trainer_with(settings: AvatarSettings, hits: Vec<SearchHit>) -> Trainer {
        AvatarTrainer::new(settings, MemoryLedger::default(), MemorySnapshots::default(), OwnerOnly, Desk(hits))
    }

    fn persona_request(principal: &str) -> GetPersonaRequest {
        GetPersonaRequest {
            principal: principal.to_owned(),
            owner: "sam".to_owned(),
            from: None,
            until: None,
            version: None,
        }
    }

    #[tokio::test]
    async fn learns_only_the_owners_words_once_and_snapshots_as_it_goes() {
        let trainer = trainer(2, Vec::new());
        let first = trainer
            .train(memory("m1", None, "2024-03-01T08:00:00Z", "To be honest the bread was flat."))
            .await
            .unwrap();
        assert!(first.trained && first.snapshot.is_none());
        let again = trainer
            .train(memory("m1", None, "2024-03-01T08:00:00Z", "To be honest the bread was flat."))
            .await
            .unwrap();
        assert!(!again.trained, "a redelivery changes nothing");
        let theirs = trainer.train(memory("m2", Some("Omar"), "2024-03-02T08:00:00Z", "Fancy a climb?")).await.unwrap();
        assert!(!theirs.own_words && !theirs.trained);
        let second =
            trainer.train(memory("m3", Some("Sam"), "2024-04-02T08:00:00Z", "To be honest I loved it!")).await.unwrap();
        assert_eq!(second.snapshot, Some(1));

        let persona = trainer.persona(persona_request("sam")).await.unwrap();
        assert_eq!(persona.memories, 2);
        assert_eq!(persona.sentiment.unwrap().scored_memories, 2);
        let march = trainer
            .persona(GetPersonaRequest { until: Some("2024-03-31".to_owned()), ..persona_request("sam") })
            .await
            .unwrap();
        assert_eq!(march.memories, 1);
        let versioned =
            trainer.persona(GetPersonaRequest { version: Some(1), ..persona_request("sam") }).await.unwrap();
        assert_eq!(versioned.model_version, Some(1));
        let missing =
            trainer.persona(GetPersonaRequest { version: Some(9), ..persona_request("sam") }).await.unwrap_err();
        assert_eq!(missing.code, ErrorCode::NotFound);
        let denied = trainer.persona(persona_request("bob")).await.unwrap_err();
        assert_eq!(denied.code, ErrorCode::Forbidden);
        let bad = trainer
            .persona(GetPersonaRequest { from: Some("last year".to_owned()), ..persona_request("sam") })
            .await
            .unwrap_err();
        assert_eq!(bad.code, ErrorCode::BadRequest);
    }

    #[tokio::test]
    async fn a_restarted_replica_starts_from_the_snapshot_and_the_ledger() {
        let trainer = trainer(1, Vec::new());
        trainer.train(memory("m1", None, "2024-03-01T08:00:00Z", "Lovely walk by the canal.")).await.unwrap();
        let AvatarTrainer { ledger, snapshots, .. } = trainer;
        assert_eq!(snapshots.versions("sam").await.unwrap().len(), 1);
        let ledger = Arc::try_unwrap(ledger).expect("the only holder of the ledger");
        let snapshots = Arc::try_unwrap(snapshots).expect("the only holder of the snapshots");
        let fresh = AvatarTrainer::new(AvatarSettings::default(), ledger, snapshots, OwnerOnly, Desk(Vec::new()));
        assert_eq!(fresh.persona(persona_request("sam")).await.unwrap().memories, 1);
    }

    #[tokio::test]
    async fn answers_from_the_owners_words_or_says_it_cannot() {
        let hits = vec![SearchHit {
            memory_id: "m1".to_owned(),
            source: None,
            occurred_at: None,
            snippet: "The sourdough finally rose. Took me three tries.".to_owned(),
            score: 1.0,
            redacted: false,
        }];
        let trainer = trainer(100, hits);
        let request = RespondRequest {
            principal: "sam".to_owned(),
            owner: "sam".to_owned(),
            prompt: "How did the sourdough go?".to_owned(),
            limit: None,
        };
        let answer = trainer.respond(request.clone()).await.unwrap();
        assert!(answer.answered && answer.text.contains("The sourdough finally rose."), "{answer:?}");
        assert_eq!(answer.backend, ResponseBackend::Extractive);
        assert_eq!(answer.sources.len(), 1);
        let silent = self::trainer(100, Vec::new()).respond(request.clone()).await.unwrap();
        assert!(!silent.answered && silent.text.is_empty());
        let empty = trainer.respond(RespondRequest { prompt: " ".to_owned(), ..request.clone() }).await.unwrap_err();
        assert_eq!(empty.code, ErrorCode::BadRequest);
        let denied = trainer.respond(RespondRequest { principal: "bob".to_owned(), ..request }).await.unwrap_err();
        assert_eq!(denied.code, ErrorCode::Forbidden);
    }

    #[tokio::test]
    async fn a_configured_language_model_answers_and_its_failure_falls_back_to_the_owners_sentences() {
        let hits = vec![SearchHit {
            memory_id: "m1".to_owned(),
            source: None,
            occurred_at: None,
            snippet: "Lisbon was all light and pasteis.".to_owned(),
            score: 1.0,
            redacted: false,
        }];
        let request = RespondRequest {
            principal: "sam".to_owned(),
            owner: "sam".to_owned(),
            prompt: "How was Lisbon?".to_owned(),
            limit: None,
        };
        let with_model = |url: String| {
            let mut settings = AvatarSettings::default();
            settings.llm.url = Some(url);
            settings.llm.model = Some("local".to_owned());
            settings
        };
        let (url, _requests) =
            crate::llm::tests::endpoint(200, r#"{"choices":[{"message":{"content":"All light and pasteis."}}]}"#).await;
        let answer = trainer_with(with_model(url), hits.clone()).respond(request.clone()).await.unwrap();
        assert_eq!((answer.backend, answer.text.as_str()), (ResponseBackend::Llm, "All light and pasteis."));
        let (url, _requests) = crate::llm::tests::endpoint(503, "{}").await;
        let answer = trainer_with(with_model(url), hits).respond(request).await.unwrap();
        assert_eq!(answer.backend, ResponseBackend::Extractive);
        assert_eq!(answer.text, "Lisbon was all light and pasteis.");
        assert!(answer.notes[0].contains("503"), "{:?}", answer.notes);
    }
}
