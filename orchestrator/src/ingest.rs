//! The durable ingest pipeline. Clients publish inputs on `mneme.ingest.<owner>` into a JetStream work queue;
//! every orchestrator instance pulls from one shared durable consumer and takes each input through the
//! harvester, the guardian (which stores it encrypted and announces it) and the pattern analyzer. A message is
//! acknowledged only after every input in it is settled, so a process that dies mid-way leaves it to be
//! redelivered; memory ids are deterministic and every step takes each memory once, so a redelivery never makes
//! a second memory. What cannot be read, or keeps failing until its deliveries run out, goes to the dead-letter
//! stream with its reason and original headers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, AckKind, consumer, stream};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use mneme_protocol::avatar::TrainAvatarRequest;
use mneme_protocol::guardian::{ApplySecurityRequest, SecurityApplied};
use mneme_protocol::harvester::{
    BatchProcessRequest, DuplicateKind, MemoryProcessed, ProcessMemoryRequest, message_types,
};
use mneme_protocol::ingest::{IngestOutcome, IngestReport};
use mneme_protocol::insights::IndexMemoryRequest;
use mneme_protocol::patterns::AnalyzePatternsRequest;
use mneme_protocol::relationships::UpdateRelationshipsRequest;
use mneme_protocol::subjects::{self, headers, jetstream as names};
use mneme_protocol::{AgentMessage, AgentType, Encoding};
use mneme_runtime::call::{CallError, CallOptions, Caller};

use crate::balancing::{Balancer, Strategy};
use crate::orchestrator::Orchestrator;

/// How the pipeline runs: its streams, its consumer, and its patience.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestSettings {
    /// Whether this orchestrator instance works the ingest stream.
    pub enabled: bool,
    /// Messages worked on at once by one instance.
    pub concurrency: usize,
    /// Deliveries of a message before it goes to the dead-letter stream.
    pub max_deliver: i64,
    /// How long a delivery may stay unacknowledged before JetStream gives it to another instance.
    pub ack_wait_ms: u64,
    /// Pauses before the 1st, 2nd, ... retry of a message whose step failed; the last repeats.
    #[serde(deserialize_with = "one_or_many")]
    pub retry_backoff_ms: Vec<u64>,
    /// Time for each step (harvester, guardian, analysis agents) of one input.
    pub step_timeout_ms: u64,
    /// A message published again with the same `Nats-Msg-Id` within this window is stored once.
    pub duplicate_window_secs: u64,
    /// Replicas of the streams in a clustered JetStream.
    pub stream_replicas: usize,
    /// Whether each stored memory also goes to the pattern analyzer (`analyze_patterns`).
    pub analyze_patterns: bool,
    /// Whether each stored memory also goes to the relationship mapper (`update_relationships`).
    pub map_relationships: bool,
    /// Whether each stored memory also goes to the insight generator's recall index (`index_memory`).
    pub index_memories: bool,
    /// How each step's instance is chosen, by agent type (`[ingest.balancing] memory_harvester =
    /// "least_loaded"`); the queue group's choice for the others.
    pub balancing: BTreeMap<AgentType, Strategy>,
    /// Whether each stored memory also goes to the avatar trainer (`train_avatar`), which learns the owner's
    /// own words.
    pub train_avatar: bool,
    /// Refuse inputs that do not name their owner (the harvester's default owner would take them). On a
    /// secured server, where each client may publish on its own ingest subject only, this makes every
    /// input belong to whoever published it.
    pub require_owner: bool,
}

impl Default for IngestSettings {
    fn default() -> Self {
        IngestSettings {
            enabled: true,
            concurrency: 16,
            max_deliver: 5,
            ack_wait_ms: 30_000,
            retry_backoff_ms: vec![1_000, 5_000, 15_000],
            step_timeout_ms: 10_000,
            duplicate_window_secs: 600,
            stream_replicas: 1,
            analyze_patterns: true,
            map_relationships: true,
            index_memories: true,
            train_avatar: true,
            require_owner: false,
            balancing: BTreeMap::new(),
        }
    }
}

impl IngestSettings {
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.concurrency == 0 {
            problems.push("ingest.concurrency must be at least 1".to_owned());
        }
        if self.max_deliver < 1 {
            problems.push("ingest.max_deliver must be at least 1".to_owned());
        }
        if self.ack_wait_ms < 1_000 {
            problems.push("ingest.ack_wait_ms must be at least 1000".to_owned());
        }
        if self.step_timeout_ms == 0 || self.step_timeout_ms * 2 >= self.ack_wait_ms {
            problems
                .push("ingest.step_timeout_ms must be positive and less than half of ingest.ack_wait_ms".to_owned());
        }
        if self.duplicate_window_secs == 0 {
            problems.push("ingest.duplicate_window_secs must be at least 1".to_owned());
        }
        if self.stream_replicas == 0 {
            problems.push("ingest.stream_replicas must be at least 1".to_owned());
        }
        problems
    }

    fn retry_pause(&self, delivered: i64) -> Duration {
        let index = usize::try_from(delivered.saturating_sub(1)).unwrap_or(0);
        let millis = self.retry_backoff_ms.get(index).or(self.retry_backoff_ms.last()).copied().unwrap_or(1_000);
        Duration::from_millis(millis)
    }
}

/// A list, or one value standing for a list of one (`MNEME__INGEST__RETRY_BACKOFF_MS=500`); from the
/// environment the numbers arrive as text.
fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Value(u64),
        Text(String),
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(Number),
        Many(Vec<Number>),
    }
    let numbers = match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(number) => vec![number],
        OneOrMany::Many(numbers) => numbers,
    };
    numbers
        .into_iter()
        .map(|number| match number {
            Number::Value(value) => Ok(value),
            Number::Text(text) => {
                text.trim().parse().map_err(|_| serde::de::Error::custom(format!("`{text}` is not a number")))
            }
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("JetStream: {0}")]
    JetStream(String),
}

fn jetstream_error(error: impl std::fmt::Display) -> IngestError {
    IngestError::JetStream(error.to_string())
}

/// Creates the ingest and dead-letter streams and the shared consumer, or checks they exist.
pub async fn ensure_streams(
    jetstream: &jetstream::Context,
    settings: &IngestSettings,
) -> Result<consumer::Consumer<consumer::pull::Config>, IngestError> {
    let ingest = jetstream
        .get_or_create_stream(stream::Config {
            name: names::INGEST_STREAM.to_owned(),
            description: Some("Mneme: inputs waiting to become memories".to_owned()),
            subjects: vec![subjects::INGEST_WILDCARD.to_owned()],
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            duplicate_window: Duration::from_secs(settings.duplicate_window_secs),
            num_replicas: settings.stream_replicas,
            ..Default::default()
        })
        .await
        .map_err(jetstream_error)?;
    jetstream
        .get_or_create_stream(stream::Config {
            name: names::DEAD_LETTER_STREAM.to_owned(),
            description: Some("Mneme: inputs that could not become memories, with the reason".to_owned()),
            subjects: vec![subjects::DEAD_LETTER_WILDCARD.to_owned()],
            storage: stream::StorageType::File,
            num_replicas: settings.stream_replicas,
            ..Default::default()
        })
        .await
        .map_err(jetstream_error)?;
    ingest
        .get_or_create_consumer(
            names::INGEST_CONSUMER,
            consumer::pull::Config {
                durable_name: Some(names::INGEST_CONSUMER.to_owned()),
                description: Some("Mneme: every orchestrator instance pulls inputs here".to_owned()),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_millis(settings.ack_wait_ms),
                max_deliver: settings.max_deliver,
                max_ack_pending: 10_000,
                ..Default::default()
            },
        )
        .await
        .map_err(jetstream_error)
}

/// Why a message or an input failed.
#[derive(Debug)]
enum Failure {
    /// It will fail the same way every time: dead-letter it now.
    Permanent(String),
    /// A step was unavailable or slow: try again later.
    Transient(String),
}

impl From<CallError> for Failure {
    fn from(error: CallError) -> Self {
        match &error {
            CallError::Remote { error: payload, .. } if !payload.recoverable => Failure::Permanent(error.to_string()),
            CallError::Encode { .. } | CallError::BadReply { .. } => Failure::Permanent(error.to_string()),
            _ => Failure::Transient(error.to_string()),
        }
    }
}

/// An input as it goes to the dead-letter stream.
struct Letter<'a> {
    subject: &'a str,
    headers: Option<&'a HeaderMap>,
    payload: &'a bytes::Bytes,
}

/// The fields of JetStream's max-deliveries advisory that matter here.
#[derive(Debug, Deserialize)]
struct ExhaustedAdvisory {
    stream_seq: u64,
    #[serde(default)]
    deliveries: i64,
}

/// Works the ingest stream until `stop` is cancelled.
/// How often the ingest worker rediscovers the instances it balances over.
const BALANCING_REFRESH: Duration = Duration::from_secs(2);

pub struct IngestWorker {
    jetstream: jetstream::Context,
    caller: Caller,
    /// Chooses the instance for the steps whose agent type has a strategy in `ingest.balancing`.
    balancer: Arc<Balancer>,
    settings: IngestSettings,
}

impl IngestWorker {
    pub fn new(client: async_nats::Client, sender_id: &str, settings: IngestSettings) -> Self {
        let step_timeout = Duration::from_millis(settings.step_timeout_ms);
        let caller = Caller::new(client.clone(), sender_id, step_timeout);
        let balancer = Balancer::new(Orchestrator::new(client.clone(), sender_id, step_timeout), BALANCING_REFRESH);
        IngestWorker { jetstream: jetstream::new(client), caller, balancer, settings }
    }

    /// One step of an input: request-reply with an instance of `agent`, chosen as `ingest.balancing` says.
    async fn step<P: Serialize + Sync>(
        &self,
        agent: AgentType,
        message_type: &str,
        payload: &P,
    ) -> Result<AgentMessage, CallError> {
        let strategy = self.settings.balancing.get(&agent).copied().unwrap_or_default();
        self.balancer.send(agent, message_type, payload, &CallOptions::default(), strategy).await
    }

    pub async fn run(self, stop: CancellationToken) -> Result<(), IngestError> {
        let consumer = ensure_streams(&self.jetstream, &self.settings).await?;
        let (worked, watched) = tokio::join!(self.work_stream(consumer, stop.clone()), self.watch_exhausted(stop));
        worked.and(watched)
    }

    async fn work_stream(
        &self,
        consumer: consumer::Consumer<consumer::pull::Config>,
        stop: CancellationToken,
    ) -> Result<(), IngestError> {
        tracing::info!(
            consumer = names::INGEST_CONSUMER,
            concurrency = self.settings.concurrency,
            "Working the ingest stream."
        );
        crate::pull::work(&consumer, self.settings.concurrency, &stop, "ingest", |message| self.settle(message)).await;
        tracing::info!("Stopped working the ingest stream.");
        Ok(())
    }

    /// Takes one message to its end: acknowledged, retried later, or dead-lettered.
    async fn settle(&self, message: jetstream::Message) {
        let (delivered, sequence) = match message.info() {
            Ok(info) => (info.delivered, info.stream_sequence),
            Err(_) => (1, 0),
        };
        let outcome = self.work(&message).await;
        let result = match outcome {
            Ok(()) => message.double_ack().await,
            Err(Failure::Transient(reason)) if delivered < self.settings.max_deliver => {
                let pause = self.settings.retry_pause(delivered);
                tracing::info!(sequence, delivered, ?pause, %reason, "Input will be retried.");
                message.ack_with(AckKind::Nak(Some(pause))).await
            }
            Err(Failure::Transient(reason)) => {
                let reason = format!("gave up after {delivered} deliveries: {reason}");
                self.dead_letter(&message, &reason, delivered).await
            }
            Err(Failure::Permanent(reason)) => self.dead_letter(&message, &reason, delivered).await,
        };
        if let Err(error) = result {
            // JetStream redelivers it after ack_wait; its memories are stored once however often that happens.
            tracing::warn!(sequence, %error, "Could not settle an ingest message.");
        }
    }

    async fn dead_letter(
        &self,
        message: &jetstream::Message,
        reason: &str,
        delivered: i64,
    ) -> Result<(), async_nats::Error> {
        let sequence = message.info().map(|info| info.stream_sequence).unwrap_or_default();
        let letter = Letter { subject: &message.subject, headers: message.headers.as_ref(), payload: &message.payload };
        self.publish_dead(letter, reason, delivered, sequence).await?;
        message.ack_with(AckKind::Term).await
    }

    /// Publishes a dead letter and reports the input as rejected to whoever waits for it.
    async fn publish_dead(
        &self,
        letter: Letter<'_>,
        reason: &str,
        delivered: i64,
        sequence: u64,
    ) -> Result<(), async_nats::Error> {
        self.keep_dead(&letter, reason, delivered, sequence).await?;
        let report = IngestReport {
            message_id: header(letter.headers, headers::MSG_ID),
            index: 0,
            source: None,
            outcome: IngestOutcome::Rejected { reason: reason.to_owned() },
        };
        self.report(letter.headers, &report).await;
        Ok(())
    }

    /// Keeps a dead letter: the input's body and headers, and why and where it died.
    async fn keep_dead(
        &self,
        letter: &Letter<'_>,
        reason: &str,
        delivered: i64,
        sequence: u64,
    ) -> Result<(), async_nats::Error> {
        tracing::warn!(subject = %letter.subject, %reason, "Input sent to the dead-letter stream.");
        let mut dead_headers = letter.headers.cloned().unwrap_or_default();
        dead_headers.insert(headers::DEAD_REASON, reason);
        dead_headers.insert(headers::DEAD_SUBJECT, letter.subject);
        dead_headers.insert(headers::DEAD_DELIVERIES, delivered.to_string().as_str());
        dead_headers.insert(headers::DEAD_SEQUENCE, sequence.to_string().as_str());
        // The dead letter is a new message: its id must not collide with the input's in the duplicate window.
        dead_headers.insert(headers::MSG_ID, format!("dead-{}", uuid::Uuid::now_v7()).as_str());
        let ack = self
            .jetstream
            .publish_with_headers(subjects::dead_letter(letter.subject), dead_headers, letter.payload.clone())
            .await?;
        ack.await?;
        Ok(())
    }

    /// Dead-letters one input of `message` that can never be taken in: the message itself when it holds only
    /// that input, else the input alone as a `process_memory` of its own, so that a replay brings back only it.
    async fn dead_letter_input(
        &self,
        message: &jetstream::Message,
        input: &ProcessMemoryRequest,
        alone: bool,
        reason: &str,
    ) -> Result<(), async_nats::Error> {
        let (delivered, sequence) = message.info().map(|info| (info.delivered, info.stream_sequence)).unwrap_or((1, 0));
        if alone {
            let letter =
                Letter { subject: &message.subject, headers: message.headers.as_ref(), payload: &message.payload };
            return self.keep_dead(&letter, reason, delivered, sequence).await;
        }
        // In the message's own encoding, so that its headers go with it unchanged.
        let encoding = Encoding::from_content_type(header(message.headers.as_ref(), headers::CONTENT_TYPE).as_deref());
        let envelope = AgentMessage::new(message_types::PROCESS_MEMORY, serde_json::to_value(input)?);
        let payload = bytes::Bytes::from(envelope.encode(encoding)?);
        let letter = Letter { subject: &message.subject, headers: message.headers.as_ref(), payload: &payload };
        self.keep_dead(&letter, reason, delivered, sequence).await
    }

    /// Takes out of the work queue, and dead-letters, the messages whose deliveries ran out while no instance
    /// settled them (their last holder died): JetStream no longer delivers them, but keeps them.
    async fn watch_exhausted(&self, stop: CancellationToken) -> Result<(), IngestError> {
        let client = self.caller.client();
        let mut advisories = client
            .queue_subscribe(names::ingest_exhausted_advisory(), names::INGEST_CONSUMER.to_owned())
            .await
            .map_err(jetstream_error)?;
        let stream = self.jetstream.get_stream(names::INGEST_STREAM).await.map_err(jetstream_error)?;
        loop {
            let advisory = tokio::select! {
                advisory = advisories.next() => advisory,
                () = stop.cancelled() => return Ok(()),
            };
            let Some(advisory) = advisory else { return Ok(()) };
            let Ok(advisory) = serde_json::from_slice::<ExhaustedAdvisory>(&advisory.payload) else { continue };
            let Ok(message) = stream.get_raw_message(advisory.stream_seq).await else { continue };
            let letter =
                Letter { subject: &message.subject, headers: Some(&message.headers), payload: &message.payload };
            let reason = "its deliveries ran out while no instance settled it (each holder stopped before finishing)";
            match self.publish_dead(letter, reason, advisory.deliveries, advisory.stream_seq).await {
                Ok(()) => {
                    if let Err(error) = stream.delete_message(advisory.stream_seq).await {
                        tracing::warn!(sequence = advisory.stream_seq, %error, "A dead-lettered input stays in the queue.");
                    }
                }
                Err(error) => {
                    tracing::warn!(sequence = advisory.stream_seq, %error, "Could not dead-letter an exhausted input.")
                }
            }
        }
    }

    async fn report(&self, message_headers: Option<&HeaderMap>, report: &IngestReport) {
        let Some(inbox) = header(message_headers, headers::REPORT_TO) else { return };
        // Reports go to reply subjects only (`_INBOX.`, or a user's own prefix on a secured server).
        if !inbox.starts_with("_INBOX") {
            return;
        }
        match rmp_serde::to_vec_named(report) {
            Ok(body) => {
                if let Err(error) = self.caller.client().publish(inbox, body.into()).await {
                    tracing::debug!(%error, "Ingest report not published.");
                }
            }
            Err(error) => tracing::warn!(%error, "Ingest report cannot be encoded."),
        }
    }

    /// Every input of the message, in order. Inputs already settled on an earlier delivery are settled again
    /// the same way, without effect.
    async fn work(&self, message: &jetstream::Message) -> Result<(), Failure> {
        let inputs = decode(message)?;
        let message_id = header(message.headers.as_ref(), headers::MSG_ID);
        let alone = inputs.len() == 1;
        for (index, input) in inputs.iter().enumerate() {
            let source = input.source.clone();
            let result = match check_owner(&message.subject, input, self.settings.require_owner) {
                Ok(()) => self.input(input).await,
                Err(failure) => Err(failure),
            };
            let outcome = match result {
                Ok(outcome) => outcome,
                // One input that can never be taken in is kept as a dead letter and reported; the others go
                // on. Until it is kept, the message is not settled.
                Err(Failure::Permanent(reason)) => {
                    self.dead_letter_input(message, input, alone, &reason).await.map_err(|error| {
                        Failure::Transient(format!("a refused input could not be dead-lettered: {error}"))
                    })?;
                    IngestOutcome::Rejected { reason }
                }
                Err(transient) => return Err(transient),
            };
            let report = IngestReport { message_id: message_id.clone(), index, source, outcome };
            self.report(message.headers.as_ref(), &report).await;
        }
        Ok(())
    }

    async fn input(&self, input: &ProcessMemoryRequest) -> Result<IngestOutcome, Failure> {
        let reply = self.step(AgentType::MemoryHarvester, message_types::PROCESS_MEMORY, input).await?;
        let memory = reply
            .payload_as::<MemoryProcessed>()
            .map_err(|error| Failure::Permanent(format!("harvester reply: {error}")))?
            .processed_memory;
        if !memory.quality.acceptable {
            let reasons: Vec<String> = memory.quality.reasons.iter().map(|reason| reason.detail.clone()).collect();
            return Ok(IngestOutcome::Rejected {
                reason: format!("quality {:.2}: {}", memory.quality.score, reasons.join("; ")),
            });
        }
        if let Some(original) = &memory.duplicate_of
            && original.kind == DuplicateKind::Exact
        {
            return Ok(IngestOutcome::Duplicate { memory_id: memory.id, duplicate_of: original.memory_id.clone() });
        }
        let reply = self
            .step(
                AgentType::PrivacyGuardian,
                mneme_protocol::guardian::message_types::APPLY_SECURITY,
                &ApplySecurityRequest { memory: memory.clone() },
            )
            .await?;
        let applied: SecurityApplied =
            reply.payload_as().map_err(|error| Failure::Permanent(format!("guardian reply: {error}")))?;
        // Also after a redelivery: the previous attempt may have died between steps, and the analysis agents
        // take each memory once however often it is sent. They are independent, so they run side by side.
        let patterns = AnalyzePatternsRequest { memory: memory.clone() };
        let relationships = UpdateRelationshipsRequest { memory: memory.clone() };
        let avatar = TrainAvatarRequest { memory: memory.clone(), sensitivity: applied.sensitivity };
        let index = IndexMemoryRequest { memory, sensitivity: applied.sensitivity };
        tokio::try_join!(
            self.analysis_step(
                self.settings.analyze_patterns,
                AgentType::PatternAnalyzer,
                mneme_protocol::patterns::message_types::ANALYZE_PATTERNS,
                &patterns,
            ),
            self.analysis_step(
                self.settings.map_relationships,
                AgentType::RelationshipMapper,
                mneme_protocol::relationships::message_types::UPDATE_RELATIONSHIPS,
                &relationships,
            ),
            self.analysis_step(
                self.settings.train_avatar,
                AgentType::AvatarTrainer,
                mneme_protocol::avatar::message_types::TRAIN_AVATAR,
                &avatar,
            ),
            self.analysis_step(
                self.settings.index_memories,
                AgentType::InsightGenerator,
                mneme_protocol::insights::message_types::INDEX_MEMORY,
                &index,
            ),
        )?;
        Ok(if applied.stored {
            IngestOutcome::Stored { memory_id: applied.memory_id, sensitivity: applied.sensitivity }
        } else {
            IngestOutcome::AlreadyStored { memory_id: applied.memory_id }
        })
    }
}

impl IngestWorker {
    /// One analysis agent's step, when the settings turn it on.
    async fn analysis_step<P: Serialize + Sync>(
        &self,
        enabled: bool,
        agent: AgentType,
        message_type: &str,
        payload: &P,
    ) -> Result<(), CallError> {
        if enabled {
            self.step(agent, message_type, payload).await?;
        }
        Ok(())
    }
}

fn header(map: Option<&HeaderMap>, name: &str) -> Option<String> {
    map.and_then(|map| map.get(name)).map(|value| value.as_str().to_owned())
}

/// The inputs an ingest message holds; anything unreadable is a permanent failure.
/// An input belongs to the owner whose subject it came on (`mneme.ingest.<owner token>`): on a secured
/// server the subject is what the publisher's NATS user may use, so the owner named must agree with it.
fn check_owner(subject: &str, input: &ProcessMemoryRequest, require_owner: bool) -> Result<(), Failure> {
    match &input.owner {
        Some(owner) => {
            let token = subject.rsplit('.').next().unwrap_or_default();
            if token == subjects::owner_token(owner) {
                Ok(())
            } else {
                Err(Failure::Permanent(format!(
                    "the input names owner {owner} but was published on another owner's subject ({subject})"
                )))
            }
        }
        None if require_owner => Err(Failure::Permanent("the input does not name its owner".to_owned())),
        None => Ok(()),
    }
}

fn decode(message: &jetstream::Message) -> Result<Vec<ProcessMemoryRequest>, Failure> {
    let encoding = Encoding::from_content_type(header(message.headers.as_ref(), headers::CONTENT_TYPE).as_deref());
    let envelope = AgentMessage::decode(&message.payload, encoding)
        .map_err(|error| Failure::Permanent(format!("undecodable: {error}")))?;
    let invalid = |error: mneme_protocol::DecodeError| Failure::Permanent(format!("invalid payload: {error}"));
    match envelope.message_type.as_str() {
        message_types::PROCESS_MEMORY => Ok(vec![envelope.payload_as::<ProcessMemoryRequest>().map_err(invalid)?]),
        message_types::BATCH_PROCESS => {
            let batch: BatchProcessRequest = envelope.payload_as().map_err(invalid)?;
            Ok(batch.into_inputs())
        }
        other => Err(Failure::Permanent(format!(
            "`{other}` is not an ingest message type; send process_memory or batch_process"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_and_pauses_grow() {
        assert!(IngestSettings::default().problems().is_empty());
        let settings = IngestSettings { step_timeout_ms: 20_000, ack_wait_ms: 30_000, ..Default::default() };
        assert_eq!(settings.problems().len(), 1);
        let settings = IngestSettings::default();
        assert_eq!(settings.retry_pause(1), Duration::from_secs(1));
        assert_eq!(settings.retry_pause(3), Duration::from_secs(15));
        assert_eq!(settings.retry_pause(9), Duration::from_secs(15));
    }
}
