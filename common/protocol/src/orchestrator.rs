//! Payloads of the orchestrator's own endpoints: system status, health, performance reports, broadcast,
//! collaboration and the local supervisor's scaling.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::agent::AgentType;
use crate::stats::{AgentState, AgentStats};

pub mod message_types {
    pub const SYSTEM_STATUS: &str = "system_status";
    pub const SYSTEM_STATUS_RESPONSE: &str = "system_status_response";
    pub const BROADCAST: &str = "broadcast";
    pub const BROADCAST_SENT: &str = "broadcast_sent";
    pub const COLLABORATE: &str = "collaborate";
    pub const COLLABORATION_RESULT: &str = "collaboration_result";
    pub const GET_HEALTH: &str = "get_health";
    /// The local supervisor's (`mneme up`), on [`crate::subjects::SUPERVISOR_SCALE`] and
    /// [`crate::subjects::SUPERVISOR_REPLICAS`].
    pub const SCALE: &str = "scale";
    pub const SCALED: &str = "scaled";
    pub const LIST_REPLICAS: &str = "list_replicas";
    pub const REPLICAS: &str = "replicas";
    pub const HEALTH: &str = "health";
    /// The seed's `generate_performance_report`: [`super::PerformanceReportRequest`], answered with
    /// [`PERFORMANCE_REPORTS`].
    pub const PERFORMANCE_REPORT: &str = "performance_report";
    pub const PERFORMANCE_REPORTS: &str = "performance_reports";
}

pub mod event_types {
    /// An instance became healthy or unhealthy, or went away, with [`super::HealthChanged`].
    pub const HEALTH_CHANGED: &str = "health_changed";
    /// A supervised process kept dying and is no longer restarted, with [`super::RestartsExhausted`].
    pub const RESTARTS_EXHAUSTED: &str = "restarts_exhausted";
    /// The local supervisor's autoscaler changed an agent type's replicas, with [`super::Autoscaled`].
    pub const AUTOSCALED: &str = "autoscaled";
}

/// `mneme.event.autoscaled`: what was measured, against what, and what changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Autoscaled {
    pub agent_type: AgentType,
    pub before: usize,
    pub after: usize,
    /// `in_flight`, `latency` or `backlog`.
    pub metric: String,
    pub observed: f64,
    pub target: f64,
}

/// One running instance as discovery and its own `get_stats` describe it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceStatus {
    pub agent_id: String,
    /// The service name: an agent type or `orchestrator`.
    pub agent_type: String,
    pub version: String,
    pub state: AgentState,
    /// Absent when the instance answered discovery but not `get_stats` in time.
    pub stats: Option<AgentStats>,
    pub capabilities: Vec<String>,
    /// Why `stats` is absent.
    #[serde(default)]
    pub error: Option<String>,
}

/// The seed's `get_system_status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemStatus {
    pub total_agents: usize,
    pub active_agents: usize,
    /// Instance count per agent type, with zero for the types that have none running.
    pub instances_by_type: BTreeMap<String, usize>,
    pub agents: Vec<InstanceStatus>,
    pub orchestrators: Vec<InstanceStatus>,
}

/// Asks the orchestrator to publish an event; `agent_types` narrows it to those types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BroadcastRequest {
    pub event_type: String,
    #[serde(default)]
    pub payload: Option<serde_json::Value>,
    #[serde(default)]
    pub agent_types: Option<Vec<AgentType>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BroadcastSent {
    pub event_id: String,
    pub subjects: Vec<String>,
}

/// The seed's alert thresholds: an instance is unhealthy when its mean processing time over the last check's
/// window exceeds `response_time_secs`, its share of failed requests in that window exceeds `error_rate`, or
/// more than `queue_size` requests wait in it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthThresholds {
    pub response_time_secs: f64,
    pub error_rate: f64,
    pub queue_size: u64,
}

impl Default for HealthThresholds {
    fn default() -> Self {
        HealthThresholds { response_time_secs: 5.0, error_rate: 0.05, queue_size: 100 }
    }
}

/// One instance's stats as a health check read them, kept in the metrics history (`MNEME_METRICS`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsSample {
    /// Unix seconds.
    pub recorded_at: f64,
    pub stats: AgentStats,
}

/// Reports on the instances whose samples fall in the last `time_range_secs` (3600 by default), narrowed to
/// one instance or one agent type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PerformanceReportRequest {
    #[serde(default)]
    pub agent_id: Option<String>,
    #[serde(default)]
    pub agent_type: Option<String>,
    #[serde(default)]
    pub time_range_secs: Option<u64>,
}

/// The seed's performance grades: `A` below 1% errors and 1 s, `B` below 5% and 2 s, `C` below 10% and 5 s,
/// `D` otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PerformanceGrade {
    A,
    B,
    C,
    D,
}

impl PerformanceGrade {
    /// The seed's `_calculate_performance_grade`, with the response time in seconds.
    pub fn of(error_rate: f64, response_time_secs: f64) -> Self {
        if error_rate < 0.01 && response_time_secs < 1.0 {
            PerformanceGrade::A
        } else if error_rate < 0.05 && response_time_secs < 2.0 {
            PerformanceGrade::B
        } else if error_rate < 0.10 && response_time_secs < 5.0 {
            PerformanceGrade::C
        } else {
            PerformanceGrade::D
        }
    }
}

/// The seed's performance report of one instance over a time range, from its recorded samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerformanceReport {
    pub agent_id: String,
    pub agent_type: String,
    pub time_range_hours: f64,
    /// The first and last samples in the range, Unix seconds.
    pub from: f64,
    pub until: f64,
    pub samples: usize,
    /// Requests answered, and failed, between the first and the last sample (across restarts).
    pub total_messages_processed: u64,
    pub total_errors: u64,
    pub error_rate: f64,
    /// Mean handling time of those requests, in seconds.
    pub avg_response_time: f64,
    /// Mean of the requests waiting at each sample.
    pub avg_queue_size: f64,
    pub restarts: usize,
    pub performance_grade: PerformanceGrade,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerformanceReports {
    pub time_range_secs: u64,
    pub reports: Vec<PerformanceReport>,
}

/// One instance as the last health check found it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceHealth {
    pub agent_id: String,
    pub agent_type: String,
    pub healthy: bool,
    /// What is wrong, in words; empty when healthy.
    pub issues: Vec<String>,
    /// As the instance reported it; `error` when it did not answer.
    pub state: AgentState,
    /// Requests answered, and failed, since the check before (or since the instance started, at the first).
    pub requests: u64,
    pub errors: u64,
    /// Mean processing time of those requests, in seconds.
    pub mean_processing_time: Option<f64>,
    pub queue_size: Option<u64>,
    /// RFC 3339.
    pub checked_at: String,
}

/// `get_health`: every instance's latest health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemHealth {
    pub healthy: bool,
    pub thresholds: HealthThresholds,
    pub instances: Vec<InstanceHealth>,
}

/// `mneme.event.health_changed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthChanged {
    pub instance: InstanceHealth,
    /// Its health before; absent for an instance seen for the first time.
    pub previously_healthy: Option<bool>,
    /// The instance went away: it no longer has a subscription (stopped, or killed).
    pub gone: bool,
}

/// `collaborate`: the seed's collaboration protocol. A task in parts, each given to an agent that advertises the
/// capability it needs, all at once, under one deadline; the answers synthesized by `strategy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollaborateRequest {
    /// What the collaboration is for, in words.
    pub task: String,
    pub subtasks: Vec<Subtask>,
    #[serde(default)]
    pub strategy: CoordinationStrategy,
    /// For `consensus`: how many answers must agree; a majority of the subtasks when absent.
    #[serde(default)]
    pub quorum: Option<usize>,
    /// Time for the whole collaboration in milliseconds (5000 when absent, at most 60000); what is not answered
    /// by then is missing.
    #[serde(default)]
    pub deadline_ms: Option<u64>,
}

/// One part of a task: the capability (message type) it needs and its payload; `agent_type` pins it to one
/// agent type when several advertise the capability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subtask {
    pub capability: String,
    #[serde(default)]
    pub payload: Option<serde_json::Value>,
    #[serde(default)]
    pub agent_type: Option<AgentType>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoordinationStrategy {
    /// Every answer, part by part.
    #[default]
    Merge,
    /// The answer enough parts agree on (identical payloads).
    Consensus,
    /// The first part to answer well; the others are abandoned.
    FirstGood,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollaborationResult {
    pub task: String,
    pub strategy: CoordinationStrategy,
    /// True when the strategy got what it needs: every part (merge), a quorum (consensus), one good answer
    /// (first good).
    pub complete: bool,
    /// The answers, in the order of the subtasks.
    pub results: Vec<SubtaskResult>,
    /// The parts without an answer, and why.
    pub missing: Vec<SubtaskMissing>,
    /// For `consensus` the agreed answer, for `first_good` the first good one.
    pub outcome: Option<serde_json::Value>,
    /// For `consensus`: how many answers agree on `outcome`, and how many were needed.
    pub agreed: Option<usize>,
    pub quorum: Option<usize>,
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubtaskResult {
    /// The subtask's place in the request.
    pub index: usize,
    pub capability: String,
    pub agent_id: String,
    /// The reply's message type.
    pub reply_type: String,
    pub payload: serde_json::Value,
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubtaskMissing {
    pub index: usize,
    pub capability: String,
    /// The agent type it was given to, when one advertises the capability.
    pub agent_type: Option<String>,
    pub reason: String,
}

/// `scale`: run `replicas` instances of `agent_type` on this machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScaleRequest {
    pub agent_type: AgentType,
    pub replicas: usize,
}

/// What scaling did: replicas started, or stopped after finishing the work they had.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaled {
    pub agent_type: AgentType,
    pub before: usize,
    pub after: usize,
}

/// `list_replicas`: how many instances of each agent type the supervisor runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replicas {
    pub replicas: BTreeMap<String, usize>,
}

/// `mneme.event.restarts_exhausted`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestartsExhausted {
    /// The process, as the supervisor names it (`mneme-memory-harvester#2`).
    pub process: String,
    pub restarts: usize,
    pub window_secs: u64,
}

/// How the instance that takes a request is chosen: the seed's load-balancing strategies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// NATS picks a member of the agent type's queue group.
    #[default]
    QueueGroup,
    /// Each instance in turn.
    RoundRobin,
    /// The instance with the fewest requests waiting or in flight: this sender's, counted live, plus what
    /// the instance last reported of everyone else's.
    LeastLoaded,
    /// The instance with the shortest expected wait: its recent latency as this sender saw it, times its
    /// requests in flight plus one; instances not yet measured are tried first.
    ResponseTime,
}

impl Strategy {
    pub const ALL: [Strategy; 4] =
        [Strategy::QueueGroup, Strategy::RoundRobin, Strategy::LeastLoaded, Strategy::ResponseTime];

    pub const fn as_str(self) -> &'static str {
        match self {
            Strategy::QueueGroup => "queue_group",
            Strategy::RoundRobin => "round_robin",
            Strategy::LeastLoaded => "least_loaded",
            Strategy::ResponseTime => "response_time",
        }
    }
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a strategy; expected queue_group, round_robin, least_loaded or response_time")]
pub struct ParseStrategyError(String);

impl std::str::FromStr for Strategy {
    type Err = ParseStrategyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Strategy::ALL
            .into_iter()
            .find(|strategy| strategy.as_str() == text)
            .ok_or_else(|| ParseStrategyError(text.to_owned()))
    }
}
