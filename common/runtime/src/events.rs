//! Publishing events: the seed's event broadcast, as envelopes on `mneme.event.<type>` subjects.

use async_nats::{Client, HeaderMap};
use serde::Serialize;

use mneme_protocol::{AgentMessage, AgentType, subjects};

use crate::trace_context;

#[derive(Debug, thiserror::Error)]
pub enum PublishEventError {
    #[error("`{0}` is not a valid event type (lower-case letters, digits and `_`)")]
    InvalidEventType(String),
    #[error("event `{event_type}` cannot be encoded: {reason}")]
    Encode { event_type: String, reason: String },
    #[error("event `{event_type}` could not be published: {reason}")]
    Publish { event_type: String, reason: String },
}

/// Who an event is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Everyone listening to the event type.
    Everyone,
    /// Only instances of these agent types.
    AgentTypes(Vec<AgentType>),
}

/// Publishes `payload` as event `event_type` from `sender_id`; returns the event's id and the subjects used.
pub async fn publish<P: Serialize>(
    client: &Client,
    sender_id: &str,
    event_type: &str,
    payload: &P,
    audience: &Audience,
) -> Result<(String, Vec<String>), PublishEventError> {
    if !subjects::is_valid_type_token(event_type) {
        return Err(PublishEventError::InvalidEventType(event_type.to_owned()));
    }
    let encode_error = |reason: String| PublishEventError::Encode { event_type: event_type.to_owned(), reason };
    let mut message =
        AgentMessage::with_payload(event_type, payload).map_err(|error| encode_error(error.to_string()))?;
    message.sender_id = sender_id.to_owned();
    message.recipient_id = "broadcast".to_owned();
    let body = bytes::Bytes::from(message.encode(Default::default()).map_err(|error| encode_error(error.to_string()))?);
    let targets = match audience {
        Audience::Everyone => vec![subjects::event(event_type)],
        Audience::AgentTypes(types) => types.iter().map(|agent| subjects::event_for(event_type, *agent)).collect(),
    };
    let mut headers = HeaderMap::new();
    trace_context::inject(&tracing::Span::current(), &mut headers);
    for subject in &targets {
        client.publish_with_headers(subject.clone(), headers.clone(), body.clone()).await.map_err(|error| {
            PublishEventError::Publish { event_type: event_type.to_owned(), reason: error.to_string() }
        })?;
    }
    Ok((message.id, targets))
}
