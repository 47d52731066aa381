//! Pipelines declared in settings, run durably: a started run is a record in the `mneme_pipeline_runs`
//! bucket and a message in the `MNEME_PIPELINES` work queue. One orchestrator instance at a time holds the
//! message and takes the run step by step, keeping each finished step's reply in the record; if it dies,
//! JetStream hands the message to another instance, which goes on from the first step not done. Every change
//! to a record is a compare-and-set, so a run finishes, and is announced, once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, AckKind, consumer, kv, stream};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use mneme_protocol::message::unix_now;
use mneme_protocol::pipelines::{
    PipelineDefinition, PipelineFinished, PipelineRun, RunStatus, StageDefinition, StepRecord, StepStatus, event_types,
};
use mneme_protocol::subjects::{self, headers, jetstream as names};
use mneme_protocol::{AgentType, ErrorCode};
use mneme_runtime::kv::KvError;
use mneme_runtime::{CallError, CallOptions};

use crate::balancing::{Balancer, Strategy};
use crate::orchestrator::Orchestrator;

/// How this instance takes part in running pipelines (`[pipeline_runs]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineRunSettings {
    /// Whether this instance takes runs from the queue (it answers `run_pipeline` and `pipeline_status`
    /// either way).
    pub enabled: bool,
    /// Runs worked on at once by one instance.
    pub concurrency: usize,
    /// How long a run's holder may go silent before JetStream hands the run to another instance; a live
    /// holder reports progress three times within it.
    pub ack_wait_ms: u64,
    /// How long a run's record (its input and its steps' replies) is kept.
    pub keep_runs_secs: u64,
    /// Replicas of the stream and the bucket in a clustered JetStream.
    pub stream_replicas: usize,
}

impl Default for PipelineRunSettings {
    fn default() -> Self {
        PipelineRunSettings {
            enabled: true,
            concurrency: 8,
            ack_wait_ms: 30_000,
            keep_runs_secs: 7 * 24 * 3600,
            stream_replicas: 1,
        }
    }
}

impl PipelineRunSettings {
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.concurrency == 0 {
            problems.push("pipeline_runs.concurrency must be at least 1".to_owned());
        }
        if self.ack_wait_ms < 1_000 {
            problems.push("pipeline_runs.ack_wait_ms must be at least 1000".to_owned());
        }
        if self.keep_runs_secs < 60 {
            problems.push("pipeline_runs.keep_runs_secs must be at least 60".to_owned());
        }
        if self.stream_replicas == 0 {
            problems.push("pipeline_runs.stream_replicas must be at least 1".to_owned());
        }
        problems
    }
}

/// The pipelines a fresh installation declares: the seed's `pipeline_stages`, in the order that keeps
/// privacy right (the guardian seals a memory before any analysis keeps anything of it).
pub fn default_pipelines() -> BTreeMap<String, PipelineDefinition> {
    let memory = "/steps/process_memory/processed_memory";
    let sensitivity = "/steps/apply_security/sensitivity";
    let stage = |agent: AgentType, message: &str, input: &[(&str, &str)]| StageDefinition {
        name: None,
        agent,
        message: message.to_owned(),
        input: input.iter().map(|(field, pointer)| ((*field).to_owned(), (*pointer).to_owned())).collect(),
        timeout_ms: 30_000,
        retry: Default::default(),
        strategy: Strategy::default(),
    };
    let remember = PipelineDefinition {
        description: "One input through every agent: harvest, seal and store, then each analysis".to_owned(),
        deadline_ms: 300_000,
        stages: vec![
            stage(AgentType::MemoryHarvester, "process_memory", &[]),
            stage(AgentType::PrivacyGuardian, "apply_security", &[("memory", memory)]),
            stage(AgentType::PatternAnalyzer, "analyze_patterns", &[("memory", memory)]),
            stage(AgentType::RelationshipMapper, "update_relationships", &[("memory", memory)]),
            stage(AgentType::AvatarTrainer, "train_avatar", &[("memory", memory), ("sensitivity", sensitivity)]),
            stage(AgentType::InsightGenerator, "index_memory", &[("memory", memory), ("sensitivity", sensitivity)]),
        ],
    };
    BTreeMap::from([("remember".to_owned(), remember)])
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("no pipeline is declared as `{0}`; declare it under [pipelines.{0}]")]
    Unknown(String),
    #[error("no run `{0}` is kept")]
    NoSuchRun(String),
    #[error("`{0}` is not a run id")]
    BadRunId(String),
    #[error("the run cannot be kept: {0}")]
    Encode(String),
    #[error(transparent)]
    Kv(#[from] KvError),
    #[error("JetStream: {0}")]
    JetStream(String),
}

fn jetstream_error(error: impl std::fmt::Display) -> PipelineError {
    PipelineError::JetStream(error.to_string())
}

/// The runs: starting them, reading them, and changing them by compare-and-set.
#[derive(Clone)]
pub struct RunStore {
    jetstream: jetstream::Context,
    runs: kv::Store,
}

impl RunStore {
    /// Opens the bucket and the work queue, creating them on first use.
    pub async fn open(client: async_nats::Client, settings: &PipelineRunSettings) -> Result<Self, PipelineError> {
        let jetstream = jetstream::new(client);
        let runs = match jetstream.get_key_value(names::PIPELINE_RUN_BUCKET).await {
            Ok(runs) => runs,
            Err(_) => {
                let config = kv::Config {
                    bucket: names::PIPELINE_RUN_BUCKET.to_owned(),
                    description: "Mneme: pipeline runs, their steps and the replies of those finished".to_owned(),
                    history: 1,
                    max_age: Duration::from_secs(settings.keep_runs_secs),
                    num_replicas: settings.stream_replicas,
                    storage: stream::StorageType::File,
                    ..Default::default()
                };
                match jetstream.create_key_value(config).await {
                    Ok(runs) => runs,
                    Err(_) => jetstream.get_key_value(names::PIPELINE_RUN_BUCKET).await.map_err(jetstream_error)?,
                }
            }
        };
        jetstream
            .get_or_create_stream(stream::Config {
                name: names::PIPELINE_STREAM.to_owned(),
                description: Some("Mneme: pipeline runs waiting for, or held by, an orchestrator".to_owned()),
                subjects: vec![subjects::PIPELINE_RUN_WILDCARD.to_owned()],
                retention: stream::RetentionPolicy::WorkQueue,
                storage: stream::StorageType::File,
                max_age: Duration::from_secs(settings.keep_runs_secs),
                num_replicas: settings.stream_replicas,
                ..Default::default()
            })
            .await
            .map_err(jetstream_error)?;
        Ok(RunStore { jetstream, runs })
    }

    /// Keeps a new run of `definition` and queues it for an orchestrator instance.
    pub async fn start(
        &self,
        pipeline: &str,
        definition: &PipelineDefinition,
        input: serde_json::Value,
        deadline_ms: Option<u64>,
    ) -> Result<PipelineRun, PipelineError> {
        let id = uuid::Uuid::now_v7();
        let run_id = id.simple().to_string();
        let created_at = unix_now();
        let deadline_ms = deadline_ms.unwrap_or(definition.deadline_ms);
        let run = PipelineRun {
            run_id: run_id.clone(),
            pipeline: pipeline.to_owned(),
            definition: definition.clone(),
            input,
            status: RunStatus::Pending,
            steps: definition.stages.iter().map(StepRecord::pending).collect(),
            created_at,
            deadline_at: created_at + deadline_ms as f64 / 1_000.0,
            finished_at: None,
            output: None,
            error: None,
            runners: Vec::new(),
        };
        self.runs.create(&run_id, encode(&run)?.into()).await.map_err(jetstream_error)?;
        let mut message_headers = HeaderMap::new();
        message_headers.insert(headers::MSG_ID, run_id.as_str());
        let queued = async {
            self.jetstream
                .publish_with_headers(subjects::pipeline_run(&id), message_headers, bytes::Bytes::new())
                .await?
                .await
        };
        if let Err(error) = queued.await {
            let reason = format!("it could not be queued: {error}");
            self.finish(&run_id, RunStatus::Failed, None, Some(reason)).await?;
            return Err(jetstream_error(error));
        }
        Ok(run)
    }

    pub async fn get(&self, run_id: &str) -> Result<PipelineRun, PipelineError> {
        if uuid::Uuid::try_parse(run_id).is_err() {
            return Err(PipelineError::BadRunId(run_id.to_owned()));
        }
        let entry = self.runs.get(run_id).await.map_err(jetstream_error)?;
        let bytes = entry.ok_or_else(|| PipelineError::NoSuchRun(run_id.to_owned()))?;
        decode(&bytes)
    }

    /// The newest `limit` runs kept; run ids are time-ordered.
    pub async fn latest(&self, limit: usize) -> Result<Vec<PipelineRun>, PipelineError> {
        let mut keys: Vec<String> =
            self.runs.keys().await.map_err(jetstream_error)?.filter_map(async |key| key.ok()).collect().await;
        keys.sort_unstable_by(|left, right| right.cmp(left));
        let mut runs = Vec::with_capacity(limit.min(keys.len()));
        for key in keys.into_iter().take(limit) {
            match self.get(&key).await {
                Ok(run) => runs.push(run),
                // Expired between listing and reading.
                Err(PipelineError::NoSuchRun(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(runs)
    }

    /// Changes run `run_id` by `change` (which returns `false` to leave it), compare-and-set; returns the run
    /// as written, or `None` when `change` declined.
    async fn change(
        &self,
        run_id: &str,
        mut change: impl FnMut(&mut PipelineRun) -> bool,
    ) -> Result<Option<PipelineRun>, PipelineError> {
        let written = mneme_runtime::kv::update(&self.runs, run_id, |current| {
            let next = current.map(|bytes| decode(&bytes)).transpose().and_then(|run| {
                let Some(mut run) = run else { return Ok(None) };
                if !change(&mut run) {
                    return Ok(None);
                }
                encode(&run).map(Some)
            });
            async move {
                next.map_err(|error| KvError {
                    bucket: names::PIPELINE_RUN_BUCKET.to_owned(),
                    reason: error.to_string(),
                })
            }
        })
        .await?;
        written.map(|bytes| decode(&bytes)).transpose()
    }

    /// Ends a run that has not ended; `Some` only for the caller whose write ended it.
    async fn finish(
        &self,
        run_id: &str,
        status: RunStatus,
        output: Option<serde_json::Value>,
        error: Option<String>,
    ) -> Result<Option<PipelineRun>, PipelineError> {
        self.change(run_id, |run| {
            if run.status.is_final() {
                return false;
            }
            run.status = status;
            run.finished_at = Some(unix_now());
            run.output.clone_from(&output);
            run.error.clone_from(&error);
            true
        })
        .await
    }
}

fn encode(run: &PipelineRun) -> Result<Vec<u8>, PipelineError> {
    rmp_serde::to_vec_named(run).map_err(|error| PipelineError::Encode(error.to_string()))
}

fn decode(bytes: &[u8]) -> Result<PipelineRun, PipelineError> {
    rmp_serde::from_slice(bytes).map_err(|error| PipelineError::Encode(format!("a kept run is unreadable: {error}")))
}

/// The payload of stage `index`: its `input` pointers resolved against the run's input and the replies of
/// the steps before it, or the seed's chaining when it has none.
fn stage_payload(run: &PipelineRun, index: usize) -> Result<serde_json::Value, String> {
    let stage = &run.definition.stages[index];
    if stage.input.is_empty() {
        return Ok(match index.checked_sub(1) {
            None => run.input.clone(),
            Some(previous) => run.steps[previous].result.clone().unwrap_or_default(),
        });
    }
    let steps: serde_json::Map<String, serde_json::Value> =
        run.steps[..index].iter().map(|step| (step.name.clone(), step.result.clone().unwrap_or_default())).collect();
    let context = serde_json::json!({"input": run.input, "steps": steps});
    let mut payload = serde_json::Map::new();
    for (field, pointer) in &stage.input {
        let value = context
            .pointer(pointer)
            .ok_or_else(|| format!("stage `{}`: `{pointer}` (for `{field}`) names nothing", stage.name()))?;
        payload.insert(field.clone(), value.clone());
    }
    Ok(serde_json::Value::Object(payload))
}

/// What a failed attempt means under the stage's retry policy.
fn retryable(error: &CallError, stage: &StageDefinition) -> bool {
    let kind = match error {
        CallError::Remote { error, .. } if !error.recoverable => return false,
        CallError::Remote { error, .. } => error.kind.clone(),
        CallError::Encode { .. } | CallError::BadReply { .. } => return false,
        CallError::TimedOut { .. } => ErrorCode::Timeout.as_str().to_owned(),
        CallError::NoResponders { .. } | CallError::Transport { .. } => ErrorCode::Unavailable.as_str().to_owned(),
    };
    !stage.retry.non_retryable.contains(&kind)
}

/// Takes runs from the queue and works them until `stop` is cancelled.
pub struct PipelineRunner {
    store: RunStore,
    orchestrator: Orchestrator,
    balancer: Arc<Balancer>,
    runner_id: String,
    settings: PipelineRunSettings,
}

/// How a run's holder ended its turn with it.
enum Turn {
    /// The run ended (here or before); the message goes.
    Ended,
    /// This instance is stopping between steps: another takes the run on at once.
    HandedOver,
}

impl PipelineRunner {
    pub fn new(store: RunStore, orchestrator: Orchestrator, settings: PipelineRunSettings) -> Self {
        let balancer = Balancer::new(orchestrator.clone(), Duration::from_secs(2));
        let runner_id = orchestrator.sender_id().to_owned();
        PipelineRunner { store, orchestrator, balancer, runner_id, settings }
    }

    pub async fn run(self, stop: CancellationToken) -> Result<(), PipelineError> {
        let stream = self.store.jetstream.get_stream(names::PIPELINE_STREAM).await.map_err(jetstream_error)?;
        let consumer = stream
            .get_or_create_consumer(
                names::PIPELINE_CONSUMER,
                consumer::pull::Config {
                    durable_name: Some(names::PIPELINE_CONSUMER.to_owned()),
                    description: Some("Mneme: every orchestrator instance takes pipeline runs here".to_owned()),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait: Duration::from_millis(self.settings.ack_wait_ms),
                    // A run ends by its own deadline and retry policy, never by running out of deliveries.
                    max_deliver: -1,
                    ..Default::default()
                },
            )
            .await
            .map_err(jetstream_error)?;
        tracing::info!(concurrency = self.settings.concurrency, "Taking pipeline runs.");
        crate::pull::work(&consumer, self.settings.concurrency, &stop, "pipeline runs", |message| {
            self.hold(message, &stop)
        })
        .await;
        tracing::info!("Stopped taking pipeline runs.");
        Ok(())
    }

    /// Works the run of `message`, telling JetStream it is in progress until the turn ends.
    async fn hold(&self, message: jetstream::Message, stop: &CancellationToken) {
        let Some(run_id) = message.subject.rsplit('.').next().map(str::to_owned) else { return };
        let mut progress = tokio::time::interval(Duration::from_millis(self.settings.ack_wait_ms / 3));
        progress.tick().await;
        let work = self.work(&run_id, stop);
        tokio::pin!(work);
        let turn = loop {
            tokio::select! {
                turn = &mut work => break turn,
                _ = progress.tick() => {
                    if let Err(error) = message.ack_with(AckKind::Progress).await {
                        tracing::debug!(%error, run_id, "Progress not reported.");
                    }
                }
            }
        };
        let settled = match turn {
            Ok(Turn::Ended) => message.double_ack().await,
            Ok(Turn::HandedOver) => message.ack_with(AckKind::Nak(None)).await,
            Err(error) => {
                // The record could not be read or written: leave the run to the next delivery.
                tracing::warn!(%error, run_id, "A pipeline run could not go on here.");
                message.ack_with(AckKind::Nak(Some(Duration::from_secs(1)))).await
            }
        };
        if let Err(error) = settled {
            tracing::warn!(%error, run_id, "A pipeline run's message was not settled; it comes again.");
        }
    }

    /// Takes the run from its first step not done to its end, or until this instance stops.
    async fn work(&self, run_id: &str, stop: &CancellationToken) -> Result<Turn, PipelineError> {
        let me = self.runner_id.clone();
        let taken = self
            .store
            .change(run_id, |run| {
                if run.status.is_final() || run.runners.last() == Some(&me) {
                    return false;
                }
                run.status = RunStatus::Running;
                run.runners.push(me.clone());
                true
            })
            .await;
        let mut run = match taken {
            Ok(Some(run)) => run,
            Ok(None) => match self.store.get(run_id).await {
                Ok(run) => run,
                // Expired or never kept: nothing to do.
                Err(PipelineError::NoSuchRun(_) | PipelineError::BadRunId(_)) => return Ok(Turn::Ended),
                Err(error) => return Err(error),
            },
            Err(error) => return Err(error),
        };
        if run.runners.len() > 1 && run.runners.last() == Some(&self.runner_id) {
            tracing::info!(run_id, pipeline = run.pipeline, from_step = ?run.next_step(), "Taking over a pipeline run.");
        }
        loop {
            if run.status.is_final() {
                return Ok(Turn::Ended);
            }
            let Some(index) = run.next_step() else {
                let output = run.steps.last().and_then(|step| step.result.clone());
                self.end(run_id, RunStatus::Done, output, None).await?;
                return Ok(Turn::Ended);
            };
            if stop.is_cancelled() {
                return Ok(Turn::HandedOver);
            }
            run = match self.step(&run, index).await? {
                Some(run) => run,
                None => return Ok(Turn::Ended),
            };
        }
    }

    /// Attempts step `index` under its retry policy and the run's deadline; the run as it stands after, or
    /// `None` when the run ended.
    async fn step(&self, run: &PipelineRun, index: usize) -> Result<Option<PipelineRun>, PipelineError> {
        let run_id = run.run_id.as_str();
        let stage = &run.definition.stages[index];
        let payload = match stage_payload(run, index) {
            Ok(payload) => payload,
            Err(reason) => {
                self.fail_step(run_id, index, &reason).await?;
                return Ok(None);
            }
        };
        let mut attempts = run.steps[index].attempts;
        loop {
            let remaining = run.deadline_at - unix_now();
            if remaining <= 0.0 {
                let reason = format!("the run's deadline passed before step `{}` was done", stage.name());
                self.fail_step(run_id, index, &reason).await?;
                return Ok(None);
            }
            attempts += 1;
            self.store
                .change(run_id, |run| {
                    let step = &mut run.steps[index];
                    step.status = StepStatus::Running;
                    step.attempts = attempts;
                    step.started_at.get_or_insert_with(unix_now);
                    true
                })
                .await?;
            let timeout = Duration::from_millis(stage.timeout_ms).min(Duration::from_secs_f64(remaining));
            let options = CallOptions { timeout: Some(timeout), ..Default::default() };
            let reply = self.balancer.send(stage.agent, &stage.message, &payload, &options, stage.strategy).await;
            match reply {
                Ok(reply) => {
                    let written = self
                        .store
                        .change(run_id, |run| {
                            if run.status.is_final() {
                                return false;
                            }
                            let step = &mut run.steps[index];
                            step.status = StepStatus::Done;
                            step.finished_at = Some(unix_now());
                            step.agent_id = Some(reply.sender_id.clone());
                            step.result = Some(reply.payload.clone());
                            step.error = None;
                            true
                        })
                        .await?;
                    return Ok(written);
                }
                Err(error) => {
                    let pause = stage.retry.pause_after(attempts);
                    let again = retryable(&error, stage)
                        && attempts < stage.retry.maximum_attempts
                        && run.deadline_at - unix_now() > pause.as_secs_f64();
                    let reason = error.to_string();
                    if !again {
                        self.fail_step(run_id, index, &reason).await?;
                        return Ok(None);
                    }
                    tracing::info!(run_id, step = stage.name(), attempts, ?pause, %reason, "A pipeline step will be retried.");
                    self.store
                        .change(run_id, |run| {
                            let step = &mut run.steps[index];
                            step.status = StepStatus::Retrying;
                            step.error = Some(reason.clone());
                            true
                        })
                        .await?;
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }

    async fn fail_step(&self, run_id: &str, index: usize, reason: &str) -> Result<(), PipelineError> {
        self.store
            .change(run_id, |run| {
                let step = &mut run.steps[index];
                step.status = StepStatus::Failed;
                step.finished_at = Some(unix_now());
                step.error = Some(reason.to_owned());
                true
            })
            .await?;
        self.end(run_id, RunStatus::Failed, None, Some(reason.to_owned())).await
    }

    /// Ends the run and, when this write is the one that ended it, announces it.
    async fn end(
        &self,
        run_id: &str,
        status: RunStatus,
        output: Option<serde_json::Value>,
        error: Option<String>,
    ) -> Result<(), PipelineError> {
        let Some(run) = self.store.finish(run_id, status, output, error).await? else { return Ok(()) };
        tracing::info!(run_id, pipeline = run.pipeline, status = status.as_str(), "A pipeline run ended.");
        let finished =
            PipelineFinished { run_id: run.run_id, pipeline: run.pipeline, status: run.status, error: run.error };
        if let Err(error) = self.orchestrator.broadcast(event_types::PIPELINE_FINISHED, &finished, None).await {
            tracing::warn!(%error, run_id, "The end of a pipeline run was not announced.");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declared_default_is_valid_and_chains_by_pointers() {
        for (name, definition) in default_pipelines() {
            assert!(definition.problems(&name).is_empty(), "{:?}", definition.problems(&name));
        }
    }

    fn run_of(definition: PipelineDefinition, input: serde_json::Value) -> PipelineRun {
        PipelineRun {
            run_id: "r".to_owned(),
            pipeline: "p".to_owned(),
            steps: definition.stages.iter().map(StepRecord::pending).collect(),
            definition,
            input,
            status: RunStatus::Pending,
            created_at: 0.0,
            deadline_at: 1.0,
            finished_at: None,
            output: None,
            error: None,
            runners: Vec::new(),
        }
    }

    #[test]
    fn stages_take_the_input_the_previous_reply_or_what_their_pointers_name() {
        let mut definition = default_pipelines().remove("remember").unwrap();
        definition.stages[2].input.clear();
        let mut run = run_of(definition, serde_json::json!({"raw_input": "hello"}));
        assert_eq!(stage_payload(&run, 0).unwrap(), serde_json::json!({"raw_input": "hello"}));
        run.steps[0].result = Some(serde_json::json!({"processed_memory": {"id": "m1"}}));
        run.steps[1].result = Some(serde_json::json!({"sensitivity": "private"}));
        assert_eq!(stage_payload(&run, 1).unwrap(), serde_json::json!({"memory": {"id": "m1"}}));
        assert_eq!(stage_payload(&run, 2).unwrap(), serde_json::json!({"sensitivity": "private"}));
        assert_eq!(
            stage_payload(&run, 4).unwrap(),
            serde_json::json!({"memory": {"id": "m1"}, "sensitivity": "private"})
        );
        run.steps[0].result = Some(serde_json::json!({}));
        assert!(stage_payload(&run, 1).unwrap_err().contains("names nothing"));
    }

    #[test]
    fn client_mistakes_and_listed_kinds_are_not_retried() {
        let mut stage = default_pipelines().remove("remember").unwrap().stages.remove(0);
        let remote = |kind: ErrorCode| CallError::Remote {
            subject: "s".to_owned(),
            error: mneme_protocol::ErrorPayload {
                error: "e".to_owned(),
                code: kind.status(),
                recoverable: kind.recoverable(),
                kind: kind.as_str().to_owned(),
            },
        };
        let timed_out = CallError::TimedOut { subject: "s".to_owned(), timeout: Duration::from_secs(1) };
        assert!(!retryable(&remote(ErrorCode::BadRequest), &stage));
        assert!(retryable(&remote(ErrorCode::Unavailable), &stage));
        assert!(retryable(&timed_out, &stage));
        stage.retry.non_retryable = vec!["timeout".to_owned()];
        assert!(!retryable(&timed_out, &stage));
    }
}
