//! Payloads of the orchestrator's own endpoints: system status and broadcast.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::agent::AgentType;
use crate::stats::{AgentState, AgentStats};

pub mod message_types {
    pub const SYSTEM_STATUS: &str = "system_status";
    pub const SYSTEM_STATUS_RESPONSE: &str = "system_status_response";
    pub const BROADCAST: &str = "broadcast";
    pub const BROADCAST_SENT: &str = "broadcast_sent";
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
