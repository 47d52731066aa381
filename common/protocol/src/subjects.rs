//! Every NATS subject, queue group and header name Mneme uses. No subject is spelled anywhere else.

use crate::agent::{AgentType, ComponentId, ComponentKind};

pub const ROOT: &str = "mneme";

/// Headers Mneme reads or writes.
pub mod headers {
    pub const CONTENT_TYPE: &str = "Content-Type";
    /// W3C Trace Context, carried into a request.
    pub const TRACEPARENT: &str = "traceparent";
    pub const TRACESTATE: &str = "tracestate";
    /// W3C Trace Context Level 2: the server's span, carried back in the reply.
    pub const TRACERESPONSE: &str = "traceresponse";
    /// ADR-32 service errors, set on every `error_response`.
    pub const SERVICE_ERROR: &str = "Nats-Service-Error";
    pub const SERVICE_ERROR_CODE: &str = "Nats-Service-Error-Code";
    /// JetStream's de-duplication id: publishing the same input twice within the window stores it once.
    pub const MSG_ID: &str = "Nats-Msg-Id";
    /// On an ingest message: an inbox where the pipeline reports what became of the input.
    pub const REPORT_TO: &str = "Mneme-Report-To";
    /// On a dead letter: why it died, where it came from, and how often it was tried.
    pub const DEAD_REASON: &str = "Mneme-Dead-Reason";
    pub const DEAD_SUBJECT: &str = "Mneme-Dead-Subject";
    pub const DEAD_SEQUENCE: &str = "Mneme-Dead-Sequence";
    pub const DEAD_DELIVERIES: &str = "Mneme-Dead-Deliveries";
}

/// JetStream streams, consumers and buckets.
pub mod jetstream {
    /// Inputs waiting to become memories: a work queue over [`super::INGEST_WILDCARD`].
    pub const INGEST_STREAM: &str = "MNEME_INGEST";
    /// The durable consumer every orchestrator instance pulls the ingest stream through.
    pub const INGEST_CONSUMER: &str = "mneme_ingest";
    /// Inputs that could not become memories, with the reason, kept for inspection and replay.
    pub const DEAD_LETTER_STREAM: &str = "MNEME_DEAD_LETTERS";
    /// Every access decision and every forget.
    pub const AUDIT_STREAM: &str = "MNEME_AUDIT";
    /// The guardian's encrypted memories.
    pub const MEMORY_BUCKET: &str = "mneme_memories";
    /// Owners' data keys, wrapped by the master key.
    pub const KEY_BUCKET: &str = "mneme_keys";
    /// Grants of access, per owner and grantee.
    pub const GRANT_BUCKET: &str = "mneme_grants";
    /// The names each owner's memories show to be people's, sealed under the owner's data key.
    pub const PEOPLE_BUCKET: &str = "mneme_people";

    /// Pipeline runs waiting for, or held by, an orchestrator instance: a work queue over
    /// [`super::PIPELINE_RUN_WILDCARD`], one message per run.
    pub const PIPELINE_STREAM: &str = "MNEME_PIPELINES";
    /// The durable consumer every orchestrator instance takes runs from.
    pub const PIPELINE_CONSUMER: &str = "mneme_pipeline_runners";
    /// Each run's state and its finished steps' replies, by run id.
    pub const PIPELINE_RUN_BUCKET: &str = "mneme_pipeline_runs";

    /// Every instance's stats as the health checks read them, kept for performance reports.
    pub const METRICS_STREAM: &str = "MNEME_METRICS";

    /// What JetStream publishes when an ingest message used up its deliveries without being settled.
    pub fn ingest_exhausted_advisory() -> String {
        format!("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{INGEST_STREAM}.{INGEST_CONSUMER}")
    }
}

/// The local supervisor (`mneme up`): requests to change and list the replicas it runs, served in the queue
/// group [`SUPERVISOR_QUEUE_GROUP`].
pub const SUPERVISOR_SCALE: &str = "mneme.supervisor.scale";
pub const SUPERVISOR_REPLICAS: &str = "mneme.supervisor.replicas";
pub const SUPERVISOR_QUEUE_GROUP: &str = "mneme_supervisor";

/// Where clients publish inputs: `mneme.ingest.<token>`; see [`ingest`].
pub const INGEST_WILDCARD: &str = "mneme.ingest.>";
pub const METRICS_WILDCARD: &str = "mneme.metrics.>";
pub const PIPELINE_RUN_WILDCARD: &str = "mneme.pipeline.run.*";
pub const DEAD_LETTER_WILDCARD: &str = "mneme.dead.>";
pub const AUDIT_WILDCARD: &str = "mneme.audit.>";

/// The subject an owner's inputs are published on: `mneme.ingest.<owner token>`. The owner is read from the
/// payload; the token only spreads owners over subjects, so that user text never becomes part of a subject.
pub fn ingest(owner: &str) -> String {
    format!("{ROOT}.ingest.{}", owner_token(owner))
}

/// Where an instance's recorded stats go: `mneme.metrics.<agent_id>`.
pub fn metrics(agent_id: &ComponentId) -> String {
    format!("{ROOT}.metrics.{agent_id}")
}

/// Where a started run waits for an orchestrator instance: `mneme.pipeline.run.<run id>`.
pub fn pipeline_run(run_id: &uuid::Uuid) -> String {
    format!("{ROOT}.pipeline.run.{}", run_id.simple())
}

/// The dead letter of an input that came on `ingest_subject`'s owner token.
pub fn dead_letter(ingest_subject: &str) -> String {
    let token = ingest_subject.rsplit('.').next().filter(|token| is_key_token(token)).unwrap_or("unknown");
    format!("{ROOT}.dead.{token}")
}

/// An audit record of `action` (`read`, `list`, `grant`, `forget`, ...).
pub fn audit(action: &str) -> String {
    let action = if is_valid_type_token(action) { action } else { "other" };
    format!("{ROOT}.audit.{action}")
}

/// A stable, opaque token for an owner, valid in subjects and key-value keys: the simple form of the UUID v5
/// of the owner's name.
pub fn owner_token(owner: &str) -> String {
    const OWNERS: uuid::Uuid = uuid::Uuid::from_u128(0x6d6e_656d_652d_6f77_6e65_722d_746f_6b6e);
    uuid::Uuid::new_v5(&OWNERS, owner.as_bytes()).simple().to_string()
}

/// Whether `token` is a valid key-value key token: letters, digits, `-` and `_`.
pub fn is_key_token(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// Whether `token` may stand as one subject token for a message or event type: lower-case ASCII letters,
/// digits and underscores, so that user text can never widen a subject.
pub fn is_valid_type_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 64
        && token.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
}

/// The request subject served by every instance of `kind` in its queue group: `mneme.agent.<type>.<message>`,
/// or `mneme.orchestrator.<message>` for the orchestrator.
pub fn request(kind: ComponentKind, message_type: &str) -> String {
    format!("{}.{message_type}", request_prefix(kind))
}

/// The wildcard an instance subscribes to for the requests of its kind.
pub fn request_wildcard(kind: ComponentKind) -> String {
    format!("{}.*", request_prefix(kind))
}

fn request_prefix(kind: ComponentKind) -> String {
    match kind {
        ComponentKind::Agent(agent) => format!("{ROOT}.agent.{}", agent.as_str()),
        ComponentKind::Orchestrator => format!("{ROOT}.orchestrator"),
    }
}

/// The queue group that balances requests across instances of one kind.
pub fn queue_group(kind: ComponentKind) -> &'static str {
    kind.as_str()
}

/// The subject that reaches exactly one instance: `mneme.instance.<type>.<id>.<message>`. The type has a
/// token of its own so that a secured server can let each kind subscribe to its own instances' subjects
/// only (NATS wildcards match whole tokens).
pub fn instance(id: &ComponentId, message_type: &str) -> String {
    format!("{ROOT}.instance.{}.{id}.{message_type}", id.kind().as_str())
}

pub fn instance_wildcard(id: &ComponentId) -> String {
    format!("{ROOT}.instance.{}.{id}.*", id.kind().as_str())
}

/// Every instance subject of one kind: `mneme.instance.<type>.>`.
pub fn instances_of(kind: ComponentKind) -> String {
    format!("{ROOT}.instance.{}.>", kind.as_str())
}

/// The message type a request subject asks for: its last token.
pub fn message_type_of(subject: &str) -> &str {
    subject.rsplit('.').next().unwrap_or_default()
}

/// An event for everyone who listens: `mneme.event.<event_type>`.
pub fn event(event_type: &str) -> String {
    format!("{ROOT}.event.{event_type}")
}

/// An event for the instances of one agent type only: `mneme.event.<event_type>.<agent_type>`.
pub fn event_for(event_type: &str, agent: AgentType) -> String {
    format!("{ROOT}.event.{event_type}.{}", agent.as_str())
}

/// The event type of an event subject, whether broadcast to all or to one agent type.
pub fn event_type_of(subject: &str) -> Option<&str> {
    let mut tokens = subject.strip_prefix(ROOT)?.strip_prefix(".event.")?.split('.');
    tokens.next().filter(|token| is_valid_type_token(token))
}

/// Service discovery (ADR-32): `$SRV.<verb>` for all services, `$SRV.<verb>.<name>` for one kind.
pub fn discovery(verb: &str, kind: Option<ComponentKind>) -> String {
    match kind {
        Some(kind) => format!("$SRV.{verb}.{}", kind.as_str()),
        None => format!("$SRV.{verb}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HARVESTER: ComponentKind = ComponentKind::Agent(AgentType::MemoryHarvester);

    #[test]
    fn subjects_follow_the_contract() {
        assert_eq!(request(HARVESTER, "process_memory"), "mneme.agent.memory_harvester.process_memory");
        assert_eq!(request_wildcard(HARVESTER), "mneme.agent.memory_harvester.*");
        assert_eq!(request(ComponentKind::Orchestrator, "system_status"), "mneme.orchestrator.system_status");
        assert_eq!(queue_group(HARVESTER), "memory_harvester");
        let id = ComponentId::parse("memory_harvester_0badcafe").unwrap();
        assert_eq!(instance(&id, "get_stats"), "mneme.instance.memory_harvester.memory_harvester_0badcafe.get_stats");
        assert_eq!(event("memory_processed"), "mneme.event.memory_processed");
        assert_eq!(
            event_for("settings_changed", AgentType::PatternAnalyzer),
            "mneme.event.settings_changed.pattern_analyzer"
        );
        assert_eq!(discovery("INFO", Some(HARVESTER)), "$SRV.INFO.memory_harvester");
    }

    #[test]
    fn types_are_read_back_from_subjects() {
        assert_eq!(message_type_of("mneme.agent.memory_harvester.batch_process"), "batch_process");
        assert_eq!(event_type_of("mneme.event.memory_processed"), Some("memory_processed"));
        assert_eq!(event_type_of("mneme.event.memory_processed.pattern_analyzer"), Some("memory_processed"));
        assert_eq!(event_type_of("mneme.agent.x.y"), None);
    }

    #[test]
    fn only_plain_tokens_are_types() {
        assert!(is_valid_type_token("process_memory"));
        for bad in ["", "a.b", "*", ">", "Upper", "with space", &"x".repeat(65)] {
            assert!(!is_valid_type_token(bad), "{bad}");
        }
    }
}
