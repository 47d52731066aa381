//! Every type and subject that crosses NATS in Mneme, and the one encoding; no async, no I/O.
//!
//! A process written in any language talks to Mneme by publishing an [`AgentMessage`] on a subject built
//! here. `docs/protocol.md` is the same contract in prose.

pub mod agent;
pub mod avatar;
pub mod capability;
pub mod error;
pub mod guardian;
pub mod harvester;
pub mod ingest;
pub mod insights;
pub mod message;
pub mod orchestrator;
pub mod patterns;
pub mod permissions;
pub mod pipelines;
pub mod polls;
pub mod relationships;
pub mod stats;
pub mod subjects;
pub mod words;

pub use agent::{AgentType, ComponentId, ComponentKind, ParseAgentTypeError};
pub use capability::AgentCapability;
pub use error::{ErrorCode, ErrorPayload};
pub use message::{
    AgentMessage, DecodeError, EncodeError, Encoding, EnvelopeHead, ReplyTo, SCHEMA_VERSION, encode_envelope,
};
pub use stats::{AgentState, AgentStats, MessageTypeStats};

/// Message types every component answers, whatever its kind.
pub mod builtin {
    /// Request for the instance's metrics; answered with [`STATS_RESPONSE`].
    pub const GET_STATS: &str = "get_stats";
    pub const STATS_RESPONSE: &str = "stats_response";
    /// Request for what the instance can do; answered with [`CAPABILITIES_RESPONSE`].
    pub const GET_CAPABILITIES: &str = "get_capabilities";
    pub const CAPABILITIES_RESPONSE: &str = "capabilities_response";
    /// Cheapest round trip through an instance's own request path; answered with [`PONG`].
    pub const PING: &str = "ping";
    pub const PONG: &str = "pong";
    /// The seed's `learn_from_feedback`: a [`crate::stats::Feedback`], answered with [`FEEDBACK_RECEIVED`].
    pub const FEEDBACK: &str = "feedback";
    pub const FEEDBACK_RECEIVED: &str = "feedback_received";
    /// The reply type of every failure.
    pub const ERROR_RESPONSE: &str = "error_response";
}
