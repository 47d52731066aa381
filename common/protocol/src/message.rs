//! The message envelope (the seed's `AgentMessage`) and its one encoding: MessagePack maps with named fields,
//! or JSON when the request says so in `Content-Type`.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, ErrorPayload};

/// Version of this envelope. Fields are only ever added (with defaults), so readers accept any version up to
/// their own; a higher one means the sender expects something this reader does not know.
pub const SCHEMA_VERSION: u32 = 1;

/// The envelope of every request, reply and event. All fields but `type` and `payload` may be omitted by a
/// client; see `docs/protocol.md`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AgentMessage {
    /// Made from the time of receipt when absent (see [`AgentMessage::decode_received`]).
    #[serde(default)]
    pub id: String,
    #[serde(rename = "type", default)]
    pub message_type: String,
    #[serde(default)]
    pub sender_id: String,
    #[serde(default)]
    pub recipient_id: String,
    /// Left as a tree until the handler reads it as its own typed payload. A JSON-shaped tree, so that
    /// structs are always maps with field names in either encoding.
    #[serde(default = "empty_map")]
    pub payload: serde_json::Value,
    /// Seconds since the Unix epoch, as the seed's float timestamps; the time of receipt when absent.
    #[serde(default = "unstamped")]
    pub timestamp: f64,
    #[serde(default)]
    pub priority: i32,
    #[serde(default)]
    pub requires_response: bool,
    /// The `id` of the message this one answers.
    #[serde(default)]
    pub correlation_id: Option<String>,
    #[serde(default = "current_schema")]
    pub schema_version: u32,
}

fn new_message_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Marks a timestamp the sender left out, until decoding stamps it.
fn unstamped() -> f64 {
    f64::NAN
}

/// A version 7 id for the instant `at` (since the Unix epoch), its random bits keeping ids of one instant apart.
pub fn message_id_at(at: std::time::Duration) -> String {
    let timestamp = uuid::Timestamp::from_unix(uuid::NoContext, at.as_secs(), at.subsec_nanos());
    let mut text = uuid::Uuid::encode_buffer();
    uuid::Uuid::new_v7(timestamp).hyphenated().encode_lower(&mut text).to_owned()
}

fn empty_map() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

fn current_schema() -> u32 {
    SCHEMA_VERSION
}

/// The current time in the envelope's unit.
pub fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_secs_f64()).unwrap_or_default()
}

/// How a body is encoded on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    #[default]
    MessagePack,
    Json,
}

impl Encoding {
    pub const JSON_CONTENT_TYPE: &'static str = "application/json";
    pub const MSGPACK_CONTENT_TYPE: &'static str = "application/msgpack";

    /// Reads the `Content-Type` header: JSON when it says so (parameters such as `charset` are ignored),
    /// MessagePack otherwise.
    pub fn from_content_type(content_type: Option<&str>) -> Self {
        let is_json = content_type
            .and_then(|value| value.split(';').next())
            .is_some_and(|media| media.trim().eq_ignore_ascii_case(Self::JSON_CONTENT_TYPE));
        if is_json { Encoding::Json } else { Encoding::MessagePack }
    }

    pub const fn content_type(self) -> &'static str {
        match self {
            Encoding::MessagePack => Self::MSGPACK_CONTENT_TYPE,
            Encoding::Json => Self::JSON_CONTENT_TYPE,
        }
    }
}

/// The envelope's fields other than the payload, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct EnvelopeHead<'a> {
    pub id: &'a str,
    pub message_type: &'a str,
    pub sender_id: &'a str,
    pub recipient_id: &'a str,
    pub timestamp: f64,
    pub priority: i32,
    pub requires_response: bool,
    pub correlation_id: Option<&'a str>,
    pub schema_version: u32,
}

/// The envelope as it goes on the wire, with any serializable payload: the one encoding of every message,
/// whether its payload is a tree or a handler's typed reply (which is then encoded in a single pass).
#[derive(Serialize)]
struct WireEnvelope<'a, P: ?Sized> {
    id: &'a str,
    #[serde(rename = "type")]
    message_type: &'a str,
    sender_id: &'a str,
    recipient_id: &'a str,
    payload: &'a P,
    timestamp: f64,
    priority: i32,
    requires_response: bool,
    correlation_id: Option<&'a str>,
    schema_version: u32,
}

/// Encodes an envelope made of `head` and `payload`.
pub fn encode_envelope<P: Serialize + ?Sized>(
    head: &EnvelopeHead<'_>,
    payload: &P,
    encoding: Encoding,
) -> Result<Vec<u8>, EncodeError> {
    let wire = WireEnvelope {
        id: head.id,
        message_type: head.message_type,
        sender_id: head.sender_id,
        recipient_id: head.recipient_id,
        payload,
        timestamp: head.timestamp,
        priority: head.priority,
        requires_response: head.requires_response,
        correlation_id: head.correlation_id,
        schema_version: head.schema_version,
    };
    // Most envelopes fit; growing a small buffer step by step showed up in profiles.
    let mut body = Vec::with_capacity(1024);
    match encoding {
        Encoding::MessagePack => wire.serialize(&mut rmp_serde::Serializer::new(&mut body).with_struct_map())?,
        Encoding::Json => serde_json::to_writer(&mut body, &wire)?,
    }
    Ok(body)
}

/// Any serializable payload as a tree, for code that holds payloads as one.
pub fn payload_tree<P: Serialize + ?Sized>(payload: &P) -> Result<serde_json::Value, EncodeError> {
    serde_json::to_value(payload).map_err(|error| EncodeError::Payload(error.to_string()))
}

/// What a reply needs of the request it answers; kept apart so that the request itself can move on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTo {
    pub id: String,
    pub sender_id: String,
    pub priority: i32,
}

impl ReplyTo {
    /// The head of the reply `id`, sent by `sender_id` at `timestamp` (seconds since the Unix epoch): addressed
    /// back to the request's sender, with its priority, and correlated with its id.
    pub fn head<'a>(
        &'a self,
        id: &'a str,
        message_type: &'a str,
        sender_id: &'a str,
        timestamp: f64,
    ) -> EnvelopeHead<'a> {
        EnvelopeHead::of_reply(id, message_type, sender_id, timestamp, (&self.id, &self.sender_id, self.priority))
    }
}

impl<'a> EnvelopeHead<'a> {
    /// The head of the reply `id`, sent by `sender_id` at `timestamp`, to the request `answered` (its id,
    /// sender and priority): addressed back to its sender, with its priority, and correlated with its id.
    pub(crate) fn of_reply(
        id: &'a str,
        message_type: &'a str,
        sender_id: &'a str,
        timestamp: f64,
        answered: (&'a str, &'a str, i32),
    ) -> Self {
        let (request_id, request_sender_id, priority) = answered;
        EnvelopeHead {
            id,
            message_type,
            sender_id,
            recipient_id: request_sender_id,
            timestamp,
            priority,
            requires_response: false,
            correlation_id: Some(request_id),
            schema_version: SCHEMA_VERSION,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("body is not a MessagePack envelope: {0}")]
    MessagePack(#[from] rmp_serde::decode::Error),
    #[error("body is not a JSON envelope: {0}")]
    Json(#[from] serde_json::Error),
    #[error("body is not a MessagePack envelope: {bytes} bytes follow the envelope")]
    Trailing { bytes: u64 },
    #[error("payload does not fit `{message_type}`: {reason}")]
    Payload { message_type: String, reason: String },
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("cannot encode as MessagePack: {0}")]
    MessagePack(#[from] rmp_serde::encode::Error),
    #[error("cannot encode as JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot represent payload: {0}")]
    Payload(String),
}

/// Whether `deserializer` has read all of its input: reading one more value fails at the end of it.
fn at_end<'de>(deserializer: &mut rmp_serde::Deserializer<rmp_serde::decode::ReadRefReader<'de, [u8]>>) -> bool {
    match serde::de::IgnoredAny::deserialize(deserializer) {
        Err(rmp_serde::decode::Error::InvalidMarkerRead(error)) => error.kind() == std::io::ErrorKind::UnexpectedEof,
        _ => false,
    }
}

/// How many bytes follow the first MessagePack value in `body`, for the error that says so.
fn trailing_bytes(body: &[u8]) -> u64 {
    let mut deserializer = rmp_serde::Deserializer::new(std::io::Cursor::new(body));
    let _ = serde::de::IgnoredAny::deserialize(&mut deserializer);
    body.len() as u64 - deserializer.position()
}

impl Serialize for AgentMessage {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let head = self.head();
        WireEnvelope {
            id: head.id,
            message_type: head.message_type,
            sender_id: head.sender_id,
            recipient_id: head.recipient_id,
            payload: &self.payload,
            timestamp: head.timestamp,
            priority: head.priority,
            requires_response: head.requires_response,
            correlation_id: head.correlation_id,
            schema_version: head.schema_version,
        }
        .serialize(serializer)
    }
}

impl AgentMessage {
    /// A new message with a fresh id and the current time.
    pub fn new(message_type: impl Into<String>, payload: serde_json::Value) -> Self {
        AgentMessage {
            id: new_message_id(),
            message_type: message_type.into(),
            sender_id: String::new(),
            recipient_id: String::new(),
            payload,
            timestamp: unix_now(),
            priority: 0,
            requires_response: false,
            correlation_id: None,
            schema_version: SCHEMA_VERSION,
        }
    }

    /// A new message whose payload is any serializable value.
    pub fn with_payload<P: Serialize>(message_type: impl Into<String>, payload: &P) -> Result<Self, EncodeError> {
        Ok(Self::new(message_type, payload_tree(payload)?))
    }

    /// Who a reply to `self` goes back to.
    pub fn reply_to(&self) -> ReplyTo {
        ReplyTo { id: self.id.clone(), sender_id: self.sender_id.clone(), priority: self.priority }
    }

    /// Reads the payload as the typed payload of `self.message_type`.
    pub fn payload_as<P: DeserializeOwned>(&self) -> Result<P, DecodeError> {
        // An absent payload reads as an empty map, so that payloads made only of optional fields decode.
        let read = match &self.payload {
            serde_json::Value::Null => P::deserialize(&empty_map()),
            other => P::deserialize(other),
        };
        read.map_err(|error| DecodeError::Payload {
            message_type: self.message_type.clone(),
            reason: error.to_string(),
        })
    }

    /// If this is an `error_response`, its payload.
    pub fn as_error(&self) -> Option<ErrorPayload> {
        if self.message_type != crate::builtin::ERROR_RESPONSE {
            return None;
        }
        Some(
            self.payload_as().unwrap_or_else(|_| {
                ErrorPayload::new(ErrorCode::Internal, "error_response with an unreadable payload")
            }),
        )
    }

    pub fn encode(&self, encoding: Encoding) -> Result<Vec<u8>, EncodeError> {
        encode_envelope(&self.head(), &self.payload, encoding)
    }

    /// Everything but the payload, for [`encode_envelope`].
    pub fn head(&self) -> EnvelopeHead<'_> {
        EnvelopeHead {
            id: &self.id,
            message_type: &self.message_type,
            sender_id: &self.sender_id,
            recipient_id: &self.recipient_id,
            timestamp: self.timestamp,
            priority: self.priority,
            requires_response: self.requires_response,
            correlation_id: self.correlation_id.as_deref(),
            schema_version: self.schema_version,
        }
    }

    pub fn decode(body: &[u8], encoding: Encoding) -> Result<Self, DecodeError> {
        Self::decode_received(body, encoding, || SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default())
    }

    /// Decodes, giving a message without an `id` or a `timestamp` ones made from `received` (the time since
    /// the Unix epoch it came), which is read only when one is missing: a receiver that already knows the time
    /// reads the clock once per message.
    pub fn decode_received(
        body: &[u8],
        encoding: Encoding,
        received: impl FnOnce() -> std::time::Duration,
    ) -> Result<Self, DecodeError> {
        let mut message: AgentMessage = match encoding {
            Encoding::MessagePack => {
                // Read in place: strings are copied once, into the message, rather than through a buffer.
                let mut deserializer = rmp_serde::Deserializer::from_read_ref(body);
                let message = AgentMessage::deserialize(&mut deserializer)?;
                // An envelope followed by anything else is not an envelope (as JSON's reader also holds).
                if !at_end(&mut deserializer) {
                    return Err(DecodeError::Trailing { bytes: trailing_bytes(body) });
                }
                message
            }
            Encoding::Json => serde_json::from_slice(body)?,
        };
        if message.id.is_empty() || message.timestamp.is_nan() {
            let at = received();
            if message.id.is_empty() {
                message.id = message_id_at(at);
            }
            if message.timestamp.is_nan() {
                message.timestamp = at.as_secs_f64();
            }
        }
        Ok(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        text: String,
        #[serde(default)]
        count: u32,
    }

    #[test]
    fn bytes_after_an_envelope_make_it_no_envelope() {
        let mut body = rmp_serde::to_vec_named(&serde_json::json!({"type": "ping", "payload": {}})).unwrap();
        assert!(AgentMessage::decode(&body, Encoding::MessagePack).is_ok());
        body.extend_from_slice(&[0x00, 0xff]);
        let error = AgentMessage::decode(&body, Encoding::MessagePack).unwrap_err();
        assert!(matches!(error, DecodeError::Trailing { bytes: 2 }), "{error}");
    }

    #[test]
    fn messagepack_uses_maps_with_field_names() {
        let message = AgentMessage::with_payload("process_memory", &Sample { text: "hi".into(), count: 2 }).unwrap();
        let bytes = message.encode(Encoding::MessagePack).unwrap();
        let tree: rmpv::Value = rmp_serde::from_slice(&bytes).unwrap();
        let keys: Vec<&str> = tree.as_map().unwrap().iter().map(|(key, _)| key.as_str().unwrap()).collect();
        assert_eq!(
            keys,
            [
                "id",
                "type",
                "sender_id",
                "recipient_id",
                "payload",
                "timestamp",
                "priority",
                "requires_response",
                "correlation_id",
                "schema_version"
            ]
        );
        assert_eq!(AgentMessage::decode(&bytes, Encoding::MessagePack).unwrap(), message);
        let payload = tree.as_map().unwrap().iter().find(|(key, _)| key.as_str() == Some("payload")).unwrap().1.clone();
        let payload_keys: Vec<&str> = payload.as_map().unwrap().iter().map(|(key, _)| key.as_str().unwrap()).collect();
        assert_eq!(payload_keys, ["text", "count"]);
    }

    #[test]
    fn a_client_may_send_only_type_and_payload() {
        let json = br#"{"type": "process_memory", "payload": {"text": "hello"}}"#;
        let message = AgentMessage::decode(json, Encoding::Json).unwrap();
        assert_eq!(message.message_type, "process_memory");
        assert_eq!(message.priority, 0);
        assert_eq!(message.schema_version, SCHEMA_VERSION);
        assert!(uuid::Uuid::parse_str(&message.id).is_ok());
        assert_eq!(message.payload_as::<Sample>().unwrap(), Sample { text: "hello".into(), count: 0 });

        let mut packed = Vec::new();
        rmpv::encode::write_value(
            &mut packed,
            &rmpv::Value::Map(vec![("payload".into(), rmpv::Value::Map(vec![("text".into(), "hey".into())]))]),
        )
        .unwrap();
        let message = AgentMessage::decode(&packed, Encoding::MessagePack).unwrap();
        assert_eq!(message.message_type, "");
        assert_eq!(message.payload_as::<Sample>().unwrap().text, "hey");
    }

    #[test]
    fn json_and_messagepack_carry_the_same_envelope() {
        let message = AgentMessage::with_payload("x", &Sample { text: "é ✓".into(), count: 7 }).unwrap();
        let from_json = AgentMessage::decode(&message.encode(Encoding::Json).unwrap(), Encoding::Json).unwrap();
        assert_eq!(from_json.payload_as::<Sample>().unwrap(), message.payload_as::<Sample>().unwrap());
        assert_eq!(from_json.id, message.id);
    }

    #[test]
    fn garbage_and_wrong_payloads_are_typed_errors() {
        assert!(matches!(
            AgentMessage::decode(b"\xc1\xff\x00", Encoding::MessagePack),
            Err(DecodeError::MessagePack(_))
        ));
        assert!(matches!(AgentMessage::decode(b"{not json", Encoding::Json), Err(DecodeError::Json(_))));
        let message = AgentMessage::decode(br#"{"type":"x","payload":{"text": 5}}"#, Encoding::Json).unwrap();
        assert!(matches!(message.payload_as::<Sample>(), Err(DecodeError::Payload { .. })));
    }

    #[test]
    fn replies_correlate_and_errors_read_back() {
        let mut request = AgentMessage::new("get_stats", serde_json::Value::Null);
        request.sender_id = "cli".into();
        let error = ErrorPayload::new(ErrorCode::UnknownMessageType, "no such type");
        let reply_to = request.reply_to();
        let head = reply_to.head("reply-id", crate::builtin::ERROR_RESPONSE, "memory_harvester_0000abcd", unix_now());
        let bytes = encode_envelope(&head, &error, Encoding::MessagePack).unwrap();
        let reply = AgentMessage::decode(&bytes, Encoding::MessagePack).unwrap();
        assert_eq!(reply.correlation_id.as_deref(), Some(request.id.as_str()));
        assert_eq!(reply.recipient_id, "cli");
        assert_eq!(reply.as_error(), Some(error));
    }

    #[test]
    fn content_type_selects_json_only_when_it_says_so() {
        assert_eq!(Encoding::from_content_type(Some("application/json; charset=utf-8")), Encoding::Json);
        assert_eq!(Encoding::from_content_type(Some("APPLICATION/JSON")), Encoding::Json);
        assert_eq!(Encoding::from_content_type(Some("application/msgpack")), Encoding::MessagePack);
        assert_eq!(Encoding::from_content_type(None), Encoding::MessagePack);
    }
}
