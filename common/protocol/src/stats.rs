//! An instance's lifecycle state and metrics: the seed's `AgentState` and `performance_metrics`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The seed's lifecycle states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    /// Connecting, loading state, or not yet confirmed reachable through its own endpoint.
    Initializing,
    /// Serving, with room for more concurrent work.
    Active,
    /// Serving, with every concurrency slot taken: new requests wait.
    Busy,
    /// Cannot serve: its connection to NATS is down or a dependency failed.
    Error,
    /// Stopping: no new requests are taken, in-flight ones finish.
    Shutdown,
}

impl AgentState {
    pub const fn as_str(self) -> &'static str {
        match self {
            AgentState::Initializing => "initializing",
            AgentState::Active => "active",
            AgentState::Busy => "busy",
            AgentState::Error => "error",
            AgentState::Shutdown => "shutdown",
        }
    }
}

impl fmt::Display for AgentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Counters for one message type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageTypeStats {
    pub processed: u64,
    /// Answered with `error_response`: refused (4xx) or failed (5xx).
    pub errors: u64,
    /// Answered with a 5xx `error_response`: what the instance, or what it depends on, failed to do. Unlike a
    /// refusal of what a client sent, a failure is the instance's own.
    #[serde(default)]
    pub failures: u64,
    /// Mean handling time in seconds.
    pub avg_processing_time: f64,
}

/// The payload of `stats_response` (under the key `stats`, as the seed's `_get_processing_stats`). Its text is
/// owned as read, and may be borrowed where it is written (`AgentStats<&str>`), which saves an instance
/// answering `get_stats` a copy of its names each time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentStats<Text = String> {
    pub agent_id: Text,
    pub agent_type: Text,
    pub version: Text,
    pub state: AgentState,
    /// Requests answered, successfully or not.
    pub messages_processed: u64,
    /// Requests answered with `error_response`.
    pub errors_count: u64,
    /// Of those, the ones answered with a 5xx code: failed by the instance or what it depends on, not refused
    /// for what the client sent. What health checks and performance grades judge.
    #[serde(default)]
    pub failures_count: u64,
    /// Mean handling time in seconds.
    pub avg_processing_time: f64,
    /// When the last request was answered, in seconds since the Unix epoch.
    pub last_activity: Option<f64>,
    /// Requests taken off the wire and not yet answered: waiting for a slot or in flight (built-ins such as
    /// `get_stats` are answered at once and not counted).
    pub queue_size: u64,
    /// Requests being handled right now.
    pub in_flight: u64,
    /// How many requests this instance handles at once.
    pub max_concurrency: u64,
    /// Requests turned away because the waiting line was full.
    pub shed_count: u64,
    /// Events received on the instance's event subscriptions.
    pub events_received: u64,
    pub started_at: f64,
    pub uptime_secs: f64,
    /// The counters of each message type, when the request asked for the detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_message_type: Option<BTreeMap<String, MessageTypeStats>>,
    /// What `feedback` taught the instance, and its parameters as they stand, when the request asked for the
    /// detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adaptation: Option<AdaptationState>,
}

/// The payload of `get_stats`. Without `detail` the reply is the summary that health checks, balancers and
/// autoscalers poll every few seconds of every instance; the detail adds the counters of each message type and
/// the adaptation state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsRequest {
    #[serde(default)]
    pub detail: bool,
}

/// The seed's `AdaptiveAgent`: feedback received, the trend of its scores, and the parameters adapted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AdaptationState {
    pub feedback_count: u64,
    /// The last trend computed: the mean of the last 10 scores against the 10 before, relative.
    #[serde(default)]
    pub trend: Option<f64>,
    #[serde(default)]
    pub last_adjustment: Option<Adjustment>,
    pub adjustments: u64,
    /// Each adaptive parameter's current value (`max_concurrency`, ...).
    pub parameters: BTreeMap<String, f64>,
}

/// Which way parameters moved: the seed's `_adjust_parameters('conservative' | 'aggressive')`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Adjustment {
    /// Performance declined: fewer requests at once.
    Conservative,
    /// Performance improved: more requests at once.
    Aggressive,
}

/// The payload of `feedback`: how well the instance did, higher is better, in any unit the sender keeps to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    pub performance_score: f64,
    /// Who judged, for the logs.
    #[serde(default)]
    pub source: Option<String>,
}

/// The payload of `feedback_received`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackReceived {
    /// Set when this score completed a window and the trend crossed the threshold.
    #[serde(default)]
    pub adjusted: Option<Adjustment>,
    pub adaptation: AdaptationState,
}

/// The payload of a `stats_response` reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsResponse<Text = String> {
    pub stats: AgentStats<Text>,
}

/// The payload of a `capabilities_response` reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapabilitiesResponse {
    pub agent_id: String,
    pub agent_type: String,
    pub capabilities: Vec<crate::AgentCapability>,
}
