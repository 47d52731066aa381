//! Calling a component over NATS request-reply: trace context in, typed errors out, and a patient retry
//! while no instance is serving (a rollout, a restart).

use std::time::Duration;

use async_nats::{Client, HeaderMap, client::RequestErrorKind};
use serde::Serialize;
use tokio::time::Instant;

use mneme_protocol::subjects::{self, headers};
use mneme_protocol::{AgentMessage, ComponentId, ComponentKind, Encoding, ErrorPayload};

use crate::trace_context;

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("no instance is serving `{subject}`")]
    NoResponders { subject: String },
    #[error("`{subject}` did not answer within {timeout:?}")]
    TimedOut { subject: String, timeout: Duration },
    #[error("`{subject}` answered with error {}: {}", .error.code, .error.error)]
    Remote { subject: String, error: ErrorPayload },
    #[error("`{subject}` answered with a body that is not an envelope: {reason}")]
    BadReply { subject: String, reason: String },
    #[error("request to `{subject}` cannot be encoded: {reason}")]
    Encode { subject: String, reason: String },
    #[error("request to `{subject}` failed: {reason}")]
    Transport { subject: String, reason: String },
}

/// Where a call goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Any instance of the kind, chosen by the queue group.
    AnyOf(ComponentKind),
    /// Exactly this instance.
    Instance(ComponentId),
}

impl Target {
    pub fn subject(&self, message_type: &str) -> String {
        match self {
            Target::AnyOf(kind) => subjects::request(*kind, message_type),
            Target::Instance(id) => subjects::instance(id, message_type),
        }
    }
}

#[derive(Debug, Clone)]
pub struct CallOptions {
    /// Time for the whole call, retries included.
    pub timeout: Option<Duration>,
    /// Keep retrying while nobody serves the subject, within the timeout.
    pub retry_no_responders: bool,
    pub encoding: Encoding,
    pub priority: i32,
}

impl Default for CallOptions {
    fn default() -> Self {
        CallOptions { timeout: None, retry_no_responders: true, encoding: Encoding::MessagePack, priority: 0 }
    }
}

/// Makes calls as one sender.
#[derive(Debug, Clone)]
pub struct Caller {
    client: Client,
    sender_id: String,
    default_timeout: Duration,
}

const FIRST_BACKOFF: Duration = Duration::from_millis(25);
const MAX_BACKOFF: Duration = Duration::from_millis(1_000);

impl Caller {
    pub fn new(client: Client, sender_id: &str, default_timeout: Duration) -> Self {
        Caller { client, sender_id: sender_id.to_owned(), default_timeout }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Sends `message_type` with `payload` to `target` and waits for the reply.
    pub async fn call<P: Serialize>(
        &self,
        target: &Target,
        message_type: &str,
        payload: &P,
        options: &CallOptions,
    ) -> Result<AgentMessage, CallError> {
        let subject = target.subject(message_type);
        let mut message = AgentMessage::with_payload(message_type, payload)
            .map_err(|error| CallError::Encode { subject: subject.clone(), reason: error.to_string() })?;
        message.priority = options.priority;
        self.send(subject, message, options).await
    }

    /// Sends a ready envelope to `subject` and waits for the reply; an `error_response` comes back as
    /// [`CallError::Remote`].
    pub async fn send(
        &self,
        subject: String,
        mut message: AgentMessage,
        options: &CallOptions,
    ) -> Result<AgentMessage, CallError> {
        message.sender_id.clone_from(&self.sender_id);
        message.requires_response = true;
        let body = message
            .encode(options.encoding)
            .map_err(|error| CallError::Encode { subject: subject.clone(), reason: error.to_string() })?;
        let timeout = options.timeout.unwrap_or(self.default_timeout);
        let deadline = Instant::now() + timeout;
        let mut backoff = FIRST_BACKOFF;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                // Only reached after retrying "no responders": that is what the caller needs to hear.
                return Err(CallError::NoResponders { subject });
            }
            let mut request_headers = HeaderMap::new();
            trace_context::inject(&tracing::Span::current(), &mut request_headers);
            if options.encoding == Encoding::Json {
                request_headers.insert(headers::CONTENT_TYPE, Encoding::JSON_CONTENT_TYPE);
            }
            let request = async_nats::Request::new()
                .payload(body.clone().into())
                .headers(request_headers)
                .timeout(Some(remaining));
            match self.client.send_request(subject.clone(), request).await {
                Ok(reply) => return read_reply(&subject, &reply),
                Err(error) => match error.kind() {
                    RequestErrorKind::NoResponders if options.retry_no_responders => {
                        let pause = backoff.min(deadline.saturating_duration_since(Instant::now()));
                        if pause.is_zero() {
                            return Err(CallError::NoResponders { subject });
                        }
                        tracing::debug!(%subject, ?pause, "No responders yet; retrying.");
                        tokio::time::sleep(pause).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                    RequestErrorKind::NoResponders => return Err(CallError::NoResponders { subject }),
                    RequestErrorKind::TimedOut => return Err(CallError::TimedOut { subject, timeout }),
                    RequestErrorKind::MaxPayloadExceeded => {
                        return Err(CallError::Encode { subject, reason: error.to_string() });
                    }
                    RequestErrorKind::Other | RequestErrorKind::InvalidSubject => {
                        return Err(CallError::Transport { subject, reason: error.to_string() });
                    }
                },
            }
        }
    }
}

fn read_reply(subject: &str, reply: &async_nats::Message) -> Result<AgentMessage, CallError> {
    let reply_headers = reply.headers.as_ref();
    let encoding = Encoding::from_content_type(
        reply_headers.and_then(|map| map.get(headers::CONTENT_TYPE)).map(|value| value.as_str()),
    );
    if reply.payload.is_empty() {
        // A service that follows ADR-32 but not Mneme's envelope says what failed only in headers.
        if let Some(status) = reply_headers.and_then(|map| map.get(headers::SERVICE_ERROR)) {
            let code = reply_headers
                .and_then(|map| map.get(headers::SERVICE_ERROR_CODE))
                .and_then(|value| value.as_str().parse().ok())
                .unwrap_or(500);
            let error = ErrorPayload { error: status.to_string(), code, recoverable: code >= 500, kind: String::new() };
            return Err(CallError::Remote { subject: subject.to_owned(), error });
        }
    }
    let message = AgentMessage::decode(&reply.payload, encoding)
        .map_err(|error| CallError::BadReply { subject: subject.to_owned(), reason: error.to_string() })?;
    match message.as_error() {
        Some(error) => Err(CallError::Remote { subject: subject.to_owned(), error }),
        None => Ok(message),
    }
}

/// What a colleague's failure means to the agent that asked: too large stays too large; anything else is the
/// colleague being unavailable, which a retry may mend.
pub fn colleague_failed(agent: mneme_protocol::AgentType, error: CallError) -> crate::agent::HandlerError {
    match error {
        CallError::Remote { error, .. } if error.code == mneme_protocol::ErrorCode::PayloadTooLarge.status() => {
            crate::agent::HandlerError::new(mneme_protocol::ErrorCode::PayloadTooLarge, error.error)
        }
        error => crate::agent::HandlerError::unavailable(format!("the {} cannot answer: {error}", agent.as_str())),
    }
}
