//! Pipelines: named lists of `(agent type, message type)` stages, like the seed's `pipeline_stages`, the
//! runs the orchestrator keeps of them, and the payloads of its `run_pipeline`, `pipeline_status` and
//! `list_pipelines` endpoints.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::agent::AgentType;
use crate::error::ErrorCode;
use crate::orchestrator::Strategy;

pub mod message_types {
    /// Starts a run of a declared pipeline: [`super::RunPipelineRequest`], answered with [`PIPELINE_STARTED`].
    pub const RUN_PIPELINE: &str = "run_pipeline";
    pub const PIPELINE_STARTED: &str = "pipeline_started";
    /// One run ([`super::PipelineStatusRequest`] with a `run_id`) or the latest runs; answered with
    /// [`PIPELINE_RUNS`].
    pub const PIPELINE_STATUS: &str = "pipeline_status";
    pub const PIPELINE_RUNS: &str = "pipeline_runs";
    /// The pipelines the orchestrator's settings declare; answered with [`PIPELINES`].
    pub const LIST_PIPELINES: &str = "list_pipelines";
    pub const PIPELINES: &str = "pipelines";
}

pub mod event_types {
    /// A run ended, done or failed, with [`super::PipelineFinished`]; announced once per run.
    pub const PIPELINE_FINISHED: &str = "pipeline_finished";
}

/// A pipeline as declared under `[pipelines.<name>]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineDefinition {
    #[serde(default)]
    pub description: String,
    /// Time for the whole run, from when it is started; every step's time comes out of it.
    #[serde(default = "default_deadline_ms")]
    pub deadline_ms: u64,
    pub stages: Vec<StageDefinition>,
}

fn default_deadline_ms() -> u64 {
    300_000
}

/// One stage: which agent type gets which message, with what, and how patiently.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageDefinition {
    /// How later stages refer to this one's reply; the message type when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub agent: AgentType,
    pub message: String,
    /// The request's payload, field by field, each a JSON pointer (RFC 6901) into
    /// `{"input": <the run's input>, "steps": {<stage name>: <its reply's payload>}}`. When empty, the first
    /// stage gets the run's input and every other stage the previous stage's reply, as in the seed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub input: BTreeMap<String, String>,
    /// Time for one attempt; the run's remaining time when shorter.
    #[serde(default = "default_stage_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default)]
    pub retry: RetryPolicy,
    /// How the instance that takes each attempt is chosen.
    #[serde(default)]
    pub strategy: Strategy,
}

fn default_stage_timeout_ms() -> u64 {
    30_000
}

impl StageDefinition {
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.message)
    }
}

/// When and how often a failed attempt is tried again: after `initial_interval_ms`, then each pause
/// `backoff_coefficient` times the last, at most `maximum_interval_ms`, for at most `maximum_attempts`
/// attempts in all. Errors whose kind is in `non_retryable` (and every error the agent calls not
/// recoverable: a client's mistake) end the run at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    pub initial_interval_ms: u64,
    pub backoff_coefficient: f64,
    pub maximum_interval_ms: u64,
    pub maximum_attempts: u32,
    pub non_retryable: Vec<String>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial_interval_ms: 1_000,
            backoff_coefficient: 2.0,
            maximum_interval_ms: 30_000,
            maximum_attempts: 3,
            non_retryable: Vec::new(),
        }
    }
}

impl RetryPolicy {
    /// The pause after failed attempt number `attempt` (counted from 1).
    pub fn pause_after(&self, attempt: u32) -> std::time::Duration {
        let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let millis = self.initial_interval_ms as f64 * self.backoff_coefficient.powi(exponent);
        let millis = millis.min(self.maximum_interval_ms as f64);
        std::time::Duration::from_millis(millis as u64)
    }

    pub fn problems(&self, at: &str) -> Vec<String> {
        let mut problems = Vec::new();
        if self.maximum_attempts == 0 {
            problems.push(format!("{at}.retry.maximum_attempts must be at least 1"));
        }
        if !(self.backoff_coefficient >= 1.0 && self.backoff_coefficient.is_finite()) {
            problems.push(format!("{at}.retry.backoff_coefficient must be at least 1"));
        }
        if self.initial_interval_ms > self.maximum_interval_ms {
            problems.push(format!("{at}.retry.initial_interval_ms exceeds maximum_interval_ms"));
        }
        for kind in &self.non_retryable {
            if ErrorCode::from_kind(kind).is_none() {
                problems.push(format!("{at}.retry.non_retryable: `{kind}` is not an error kind"));
            }
        }
        problems
    }
}

impl PipelineDefinition {
    /// What is wrong with the definition of pipeline `name`, all at once.
    pub fn problems(&self, name: &str) -> Vec<String> {
        let at = format!("pipelines.{name}");
        let mut problems = Vec::new();
        if !crate::subjects::is_valid_type_token(name) {
            problems.push(format!("{at}: a pipeline's name is lowercase letters, digits and underscores"));
        }
        if self.stages.is_empty() {
            problems.push(format!("{at} has no stages"));
        }
        if self.deadline_ms == 0 {
            problems.push(format!("{at}.deadline_ms must be positive"));
        }
        let mut earlier: Vec<&str> = Vec::new();
        for (index, stage) in self.stages.iter().enumerate() {
            let at = format!("{at}.stages[{index}]");
            if !crate::subjects::is_valid_type_token(&stage.message) {
                problems.push(format!("{at}.message `{}` is not a message type", stage.message));
            }
            if earlier.contains(&stage.name()) {
                problems.push(format!("{at}: another stage is already named `{}`", stage.name()));
            }
            if stage.timeout_ms == 0 {
                problems.push(format!("{at}.timeout_ms must be positive"));
            }
            for (field, pointer) in &stage.input {
                match pointer_source(pointer) {
                    Some(PointerSource::Input) => {}
                    Some(PointerSource::Step(step)) if earlier.contains(&step) => {}
                    Some(PointerSource::Step(step)) => {
                        problems.push(format!("{at}.input.{field}: no earlier stage is named `{step}`"));
                    }
                    None => problems.push(format!(
                        "{at}.input.{field}: `{pointer}` is not a pointer into /input or /steps/<earlier stage>"
                    )),
                }
            }
            problems.extend(stage.retry.problems(&at));
            earlier.push(stage.name());
        }
        problems
    }
}

enum PointerSource<'a> {
    Input,
    Step(&'a str),
}

fn pointer_source(pointer: &str) -> Option<PointerSource<'_>> {
    let mut tokens = pointer.strip_prefix('/')?.split('/');
    match tokens.next()? {
        "input" => Some(PointerSource::Input),
        "steps" => tokens.next().filter(|step| !step.is_empty()).map(PointerSource::Step),
        _ => None,
    }
}

/// Starts a run of the declared pipeline `pipeline` with `input`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunPipelineRequest {
    pub pipeline: String,
    #[serde(default)]
    pub input: serde_json::Value,
    /// Time for the whole run; the pipeline's `deadline_ms` when absent.
    #[serde(default)]
    pub deadline_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineStarted {
    pub run_id: String,
}

/// One run by id, or the latest `limit` runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PipelineStatusRequest {
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineRuns {
    /// Newest first.
    pub runs: Vec<PipelineRun>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipelines {
    pub pipelines: BTreeMap<String, PipelineDefinition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Started, and waiting for an orchestrator instance to take it.
    Pending,
    Running,
    Done,
    Failed,
}

impl RunStatus {
    pub const fn is_final(self) -> bool {
        matches!(self, RunStatus::Done | RunStatus::Failed)
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            RunStatus::Pending => "pending",
            RunStatus::Running => "running",
            RunStatus::Done => "done",
            RunStatus::Failed => "failed",
        }
    }
}

/// A run as kept in the `mneme_pipeline_runs` bucket: the definition it started with, and each step's state.
/// A finished step's reply is kept (memoized), so an instance that takes over a run goes on from there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineRun {
    pub run_id: String,
    pub pipeline: String,
    pub definition: PipelineDefinition,
    pub input: serde_json::Value,
    pub status: RunStatus,
    pub steps: Vec<StepRecord>,
    /// Unix seconds.
    pub created_at: f64,
    pub deadline_at: f64,
    #[serde(default)]
    pub finished_at: Option<f64>,
    /// The last step's reply, once done.
    #[serde(default)]
    pub output: Option<serde_json::Value>,
    #[serde(default)]
    pub error: Option<String>,
    /// The orchestrator instance working the run, and every instance that took it up before.
    #[serde(default)]
    pub runners: Vec<String>,
}

impl PipelineRun {
    /// The step that runs next: the first not done.
    pub fn next_step(&self) -> Option<usize> {
        self.steps.iter().position(|step| step.status != StepStatus::Done)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    Running,
    /// An attempt failed and another follows after a pause.
    Retrying,
    Done,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub name: String,
    pub agent: AgentType,
    pub message: String,
    pub status: StepStatus,
    pub attempts: u32,
    #[serde(default)]
    pub started_at: Option<f64>,
    #[serde(default)]
    pub finished_at: Option<f64>,
    /// The instance that gave the reply kept.
    #[serde(default)]
    pub agent_id: Option<String>,
    #[serde(default)]
    pub result: Option<serde_json::Value>,
    /// The last attempt's error.
    #[serde(default)]
    pub error: Option<String>,
}

impl StepRecord {
    /// Stage `stage` before its first attempt.
    pub fn pending(stage: &StageDefinition) -> Self {
        StepRecord {
            name: stage.name().to_owned(),
            agent: stage.agent,
            message: stage.message.clone(),
            status: StepStatus::Pending,
            attempts: 0,
            started_at: None,
            finished_at: None,
            agent_id: None,
            result: None,
            error: None,
        }
    }
}

/// The payload of [`event_types::PIPELINE_FINISHED`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineFinished {
    pub run_id: String,
    pub pipeline: String,
    pub status: RunStatus,
    #[serde(default)]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(agent: AgentType, message: &str, input: &[(&str, &str)]) -> StageDefinition {
        StageDefinition {
            name: None,
            agent,
            message: message.to_owned(),
            input: input.iter().map(|(field, pointer)| ((*field).to_owned(), (*pointer).to_owned())).collect(),
            timeout_ms: 1_000,
            retry: RetryPolicy::default(),
            strategy: Strategy::default(),
        }
    }

    #[test]
    fn pointers_name_the_input_or_an_earlier_stage() {
        let good = PipelineDefinition {
            description: String::new(),
            deadline_ms: 1_000,
            stages: vec![
                stage(AgentType::MemoryHarvester, "process_memory", &[]),
                stage(
                    AgentType::PrivacyGuardian,
                    "apply_security",
                    &[("memory", "/steps/process_memory/processed_memory"), ("owner", "/input/owner")],
                ),
            ],
        };
        assert!(good.problems("remember").is_empty(), "{:?}", good.problems("remember"));
        let mut bad = good.clone();
        bad.stages[1].input.insert("later".to_owned(), "/steps/apply_security".to_owned());
        bad.stages[1].input.insert("odd".to_owned(), "steps".to_owned());
        bad.stages[1].retry.non_retryable.push("teapot".to_owned());
        bad.stages.push(bad.stages[0].clone());
        let problems = bad.problems("Remember");
        assert_eq!(problems.len(), 5, "{problems:?}");
    }

    #[test]
    fn pauses_grow_by_the_coefficient_up_to_the_maximum() {
        let policy = RetryPolicy { initial_interval_ms: 100, maximum_interval_ms: 350, ..Default::default() };
        let pauses: Vec<u128> = (1..=4).map(|attempt| policy.pause_after(attempt).as_millis()).collect();
        assert_eq!(pauses, [100, 200, 350, 350]);
    }
}
