//! The agent contract (the seed's `BaseAgent`): what an agent can do, how it handles a request, what it
//! listens to, and how it stops. The runtime does everything else the same way for every agent.

use std::future::Future;

use async_nats::Client;
use serde::Serialize;
use serde::de::DeserializeOwned;

use mneme_protocol::{
    AgentCapability, AgentMessage, ComponentId, ComponentKind, EncodeError, Encoding, EnvelopeHead, ErrorCode,
    ErrorPayload,
};

use crate::call::Caller;
use crate::connection::ConnectionHealth;
use crate::settings::RuntimeSettings;

/// An agent's logic. Implementations are plain structs that tests can drive without NATS.
pub trait Agent: Send + Sync + 'static {
    /// One line for `$SRV.INFO`.
    fn description(&self) -> String;

    /// The message types the agent handles; requests for any other type are refused before [`Agent::handle`].
    fn capabilities(&self) -> Vec<AgentCapability>;

    /// Events the agent reacts to with [`Agent::on_event`].
    fn event_subscriptions(&self) -> Vec<EventSubscription> {
        Vec::new()
    }

    /// Answers one request whose type is among the capabilities.
    fn handle(&self, request: Request) -> impl Future<Output = Result<Reply, HandlerError>> + Send;

    /// Reacts to one event of a subscribed type. Only called for [`Agent::event_subscriptions`].
    fn on_event(&self, event: Event) -> impl Future<Output = Result<(), HandlerError>> + Send {
        async move {
            Err(HandlerError::internal(format!(
                "event `{}` arrived, but this agent subscribes to no events",
                event.message.message_type
            )))
        }
    }

    /// Releases what the agent holds, after its last request is answered.
    fn shutdown(&self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// What an agent gets to build itself: its identity and its connection.
#[derive(Debug, Clone)]
pub struct Context {
    pub id: ComponentId,
    pub kind: ComponentKind,
    pub client: Client,
    pub connection: ConnectionHealth,
    pub settings: RuntimeSettings,
}

impl Context {
    pub fn jetstream(&self) -> async_nats::jetstream::Context {
        async_nats::jetstream::new(self.client.clone())
    }

    /// The processing pool this process's settings call for (`service.cpu_workers`).
    pub fn cpu_pool(&self) -> crate::pool::CpuPool {
        crate::pool::CpuPool::new(self.settings.service.cpu_workers)
    }

    /// Calls other components as this instance.
    pub fn caller(&self) -> Caller {
        Caller::new(self.client.clone(), self.id.as_str(), self.settings.nats.request_timeout())
    }
}

/// A request as the agent sees it: the decoded envelope, its `message_type` already checked.
#[derive(Debug, Clone)]
pub struct Request {
    pub message: AgentMessage,
    /// How the request was encoded; the reply is encoded the same way.
    pub encoding: Encoding,
}

impl Request {
    /// The payload as the message type's typed payload; a mismatch is the client's error (400).
    pub fn payload<P: DeserializeOwned>(&self) -> Result<P, HandlerError> {
        self.message.payload_as().map_err(|error| HandlerError::bad_request(error.to_string()))
    }

    pub fn message_type(&self) -> &str {
        &self.message.message_type
    }
}

/// A reply payload of any serializable type, encoded straight into the reply envelope.
pub trait ReplyPayload: Send + Sync {
    fn encode(&self, head: &EnvelopeHead<'_>, encoding: Encoding) -> Result<Vec<u8>, EncodeError>;
    fn tree(&self) -> Result<serde_json::Value, EncodeError>;
}

impl<P: Serialize + Send + Sync> ReplyPayload for P {
    fn encode(&self, head: &EnvelopeHead<'_>, encoding: Encoding) -> Result<Vec<u8>, EncodeError> {
        mneme_protocol::encode_envelope(head, self, encoding)
    }

    fn tree(&self) -> Result<serde_json::Value, EncodeError> {
        mneme_protocol::message::payload_tree(self)
    }
}

/// A successful answer: its message type and typed payload. The payload is encoded once, into the reply
/// envelope, in the encoding the request came in.
pub struct Reply {
    pub message_type: String,
    pub payload: Box<dyn ReplyPayload>,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("message_type", &self.message_type)
            .field("payload", &self.payload.tree().ok())
            .finish()
    }
}

impl Reply {
    pub fn new<P: Serialize + Send + Sync + 'static>(message_type: &str, payload: P) -> Self {
        Reply { message_type: message_type.to_owned(), payload: Box::new(payload) }
    }

    /// The payload as a tree, for code that inspects replies in-process.
    pub fn payload_tree(&self) -> Result<serde_json::Value, HandlerError> {
        self.payload.tree().map_err(|error| HandlerError::internal(error.to_string()))
    }
}

/// Why a request failed; becomes an `error_response`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct HandlerError {
    pub code: ErrorCode,
    pub message: String,
}

impl HandlerError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        HandlerError { code, message: message.into() }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, message)
    }

    /// A message type the agent advertises but has no arm for: the agent's own fault, since the runtime turns
    /// away the types an agent does not advertise before they reach [`Agent::handle`].
    pub fn unhandled(message_type: &str) -> Self {
        Self::internal(format!("`{message_type}` is advertised but has no handler"))
    }

    pub fn payload(&self) -> ErrorPayload {
        ErrorPayload::new(self.code, self.message.clone())
    }
}

/// Who receives an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventDelivery {
    /// Every instance: notifications that change each instance's state.
    EveryInstance,
    /// One instance of the agent type, balanced by queue group: work to be done once.
    OneInstance,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSubscription {
    pub event_type: String,
    pub delivery: EventDelivery,
}

impl EventSubscription {
    pub fn new(event_type: &str, delivery: EventDelivery) -> Self {
        EventSubscription { event_type: event_type.to_owned(), delivery }
    }
}

/// An event as the agent sees it.
#[derive(Debug, Clone)]
pub struct Event {
    pub subject: String,
    pub message: AgentMessage,
}

impl Event {
    pub fn payload<P: DeserializeOwned>(&self) -> Result<P, HandlerError> {
        self.message.payload_as().map_err(|error| HandlerError::bad_request(error.to_string()))
    }
}

impl Context {
    /// Publishes an event from this instance.
    pub async fn publish_event<P: Serialize>(
        &self,
        event_type: &str,
        payload: &P,
        audience: &crate::events::Audience,
    ) -> Result<String, crate::events::PublishEventError> {
        crate::events::publish(&self.client, self.id.as_str(), event_type, payload, audience).await.map(|(id, _)| id)
    }
}
