//! The polls every instance gets, `get_stats` and `ping`, which health checks, balancers and autoscalers send
//! every instance every few seconds, answered without the general reader and writer: what the reply needs of
//! the request's envelope, read in place, and the summary's reply written straight. [`AgentMessage::decode`]
//! and [`encode_envelope`] stay the reader and writer of record: [`RequestHead::read`] reads only envelopes of
//! the usual shape and gives up on anything else, leaving it to that reader to read or to reject, and
//! [`encode_stats_response`] writes what [`encode_envelope`] writes, byte for byte (tested).
//!
//! [`AgentMessage::decode`]: crate::AgentMessage::decode

use crate::message::{EnvelopeHead, SCHEMA_VERSION, encode_envelope};
use crate::stats::{AgentStats, StatsResponse};
use crate::{EncodeError, Encoding};

/// The payload of an envelope that has none: an empty map, as [`crate::AgentMessage`] reads it.
const EMPTY_MAP: &[u8] = &[EMPTY_MAP_MARKER];
const EMPTY_MAP_MARKER: u8 = 0x80;

/// The fields of a request's envelope that its reply needs, borrowed from the body.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RequestHead<'a> {
    /// Empty when the sender left it out (the envelope reader then makes one).
    pub id: &'a str,
    /// Empty when the sender left it out (the subject's then applies).
    pub message_type: &'a str,
    pub sender_id: &'a str,
    pub priority: i32,
    pub schema_version: u32,
    /// The payload's MessagePack bytes, as they came (an empty map when the sender left it out).
    pub payload: &'a [u8],
}

/// Which fields an envelope has given so far: a field given twice makes it no envelope.
#[derive(Default)]
struct Seen(u16);

impl Seen {
    /// Marks field `bit`; false when it was already there.
    fn first_time(&mut self, bit: u16) -> bool {
        let fresh = self.0 & (1 << bit) == 0;
        self.0 |= 1 << bit;
        fresh
    }
}

impl<'a> RequestHead<'a> {
    /// Reads `body` when it is one MessagePack map whose keys are strings and whose envelope fields have their
    /// usual types (text as `str`, the timestamp as a float, `correlation_id` nil or `str`), each at most once;
    /// other keys are skipped, as the envelope reader skips them. `None` for any other body, which only the
    /// envelope reader may then read or reject.
    pub fn read(body: &'a [u8]) -> Option<Self> {
        let mut rest = body;
        let fields = read(&mut rest, rmp::decode::read_map_len)?;
        let mut head = RequestHead {
            id: "",
            message_type: "",
            sender_id: "",
            priority: 0,
            schema_version: SCHEMA_VERSION,
            payload: EMPTY_MAP,
        };
        let mut seen = Seen::default();
        for _ in 0..fields {
            // Keys are matched as bytes: the envelope reader, too, skips a key that is no UTF-8.
            let key = read_str_bytes(&mut rest)?;
            let bit = match key {
                b"id" => {
                    head.id = read_str(&mut rest)?;
                    0
                }
                b"type" => {
                    head.message_type = read_str(&mut rest)?;
                    1
                }
                b"sender_id" => {
                    head.sender_id = read_str(&mut rest)?;
                    2
                }
                b"recipient_id" => {
                    read_str(&mut rest)?;
                    3
                }
                b"payload" => {
                    // Polls come with an empty payload (one byte) as a rule: not worth a reader of their own.
                    head.payload = match rest.split_first() {
                        Some((&EMPTY_MAP_MARKER, after)) => std::mem::replace(&mut rest, after).get(..1)?,
                        _ => pass_over::<serde_json::Value>(&mut rest)?,
                    };
                    4
                }
                b"timestamp" => {
                    read_float(&mut rest)?;
                    5
                }
                b"priority" => {
                    head.priority = read(&mut rest, rmp::decode::read_int)?;
                    6
                }
                b"requires_response" => {
                    read(&mut rest, rmp::decode::read_bool)?;
                    7
                }
                b"correlation_id" => {
                    if rest.first() == Some(&0xc0) {
                        rest = &rest[1..];
                    } else {
                        read_str(&mut rest)?;
                    }
                    8
                }
                b"schema_version" => {
                    head.schema_version = read(&mut rest, rmp::decode::read_int)?;
                    9
                }
                _ => {
                    pass_over::<serde::de::IgnoredAny>(&mut rest)?;
                    continue;
                }
            };
            if !seen.first_time(bit) {
                return None;
            }
        }
        rest.is_empty().then_some(head)
    }

    /// The head of the reply `id` of type `message_type`, sent by `sender_id` at `timestamp` (seconds since
    /// the Unix epoch): addressed back to the request's sender, with its priority, and correlated with its id,
    /// as [`crate::ReplyTo::head`] makes it.
    pub fn reply_head(
        &self,
        id: &'a str,
        message_type: &'a str,
        sender_id: &'a str,
        timestamp: f64,
    ) -> EnvelopeHead<'a> {
        EnvelopeHead::of_reply(id, message_type, sender_id, timestamp, (self.id, self.sender_id, self.priority))
    }
}

/// The `stats_response` with the summary `stats` under `head`, in MessagePack, as [`encode_envelope`] writes
/// it, written field by field. Stats with their detail are written by [`encode_envelope`] itself.
pub fn encode_stats_response(head: &EnvelopeHead<'_>, stats: &AgentStats<&str>) -> Result<Vec<u8>, EncodeError> {
    if stats.by_message_type.is_some() || stats.adaptation.is_some() {
        return encode_envelope(head, &StatsResponse { stats: stats.clone() }, Encoding::MessagePack);
    }
    let mut body = Vec::with_capacity(640);
    let out = &mut body;
    write_map_len(out, 10);
    write_key(out, "id");
    write_str(out, head.id);
    write_key(out, "type");
    write_str(out, head.message_type);
    write_key(out, "sender_id");
    write_str(out, head.sender_id);
    write_key(out, "recipient_id");
    write_str(out, head.recipient_id);
    write_key(out, "payload");
    write_map_len(out, 1);
    write_key(out, "stats");
    write_map_len(out, 15);
    write_key(out, "agent_id");
    write_str(out, stats.agent_id);
    write_key(out, "agent_type");
    write_str(out, stats.agent_type);
    write_key(out, "version");
    write_str(out, stats.version);
    write_key(out, "state");
    write_str(out, stats.state.as_str());
    write_key(out, "messages_processed");
    write_uint(out, stats.messages_processed);
    write_key(out, "errors_count");
    write_uint(out, stats.errors_count);
    write_key(out, "avg_processing_time");
    write_f64(out, stats.avg_processing_time);
    write_key(out, "last_activity");
    match stats.last_activity {
        Some(at) => write_f64(out, at),
        None => write_nil(out),
    }
    write_key(out, "queue_size");
    write_uint(out, stats.queue_size);
    write_key(out, "in_flight");
    write_uint(out, stats.in_flight);
    write_key(out, "max_concurrency");
    write_uint(out, stats.max_concurrency);
    write_key(out, "shed_count");
    write_uint(out, stats.shed_count);
    write_key(out, "events_received");
    write_uint(out, stats.events_received);
    write_key(out, "started_at");
    write_f64(out, stats.started_at);
    write_key(out, "uptime_secs");
    write_f64(out, stats.uptime_secs);
    write_key(out, "timestamp");
    write_f64(out, head.timestamp);
    write_key(out, "priority");
    let _ = rmp::encode::write_sint(out, i64::from(head.priority));
    write_key(out, "requires_response");
    let _ = rmp::encode::write_bool(out, head.requires_response);
    write_key(out, "correlation_id");
    match head.correlation_id {
        Some(id) => write_str(out, id),
        None => write_nil(out),
    }
    write_key(out, "schema_version");
    write_uint(out, u64::from(head.schema_version));
    Ok(body)
}

/// A field's name: always a short string (at most 31 bytes, MessagePack's `fixstr`), so known in advance.
fn write_key(out: &mut Vec<u8>, name: &'static str) {
    debug_assert!(name.len() < 32);
    out.push(0xa0 | name.len() as u8);
    out.extend_from_slice(name.as_bytes());
}

// Writing into a `Vec` cannot fail, so what rmp's writers return is left aside.
fn write_nil(out: &mut Vec<u8>) {
    let _ = rmp::encode::write_nil(out);
}

fn write_map_len(out: &mut Vec<u8>, length: u32) {
    let _ = rmp::encode::write_map_len(out, length);
}

fn write_str(out: &mut Vec<u8>, text: &str) {
    let _ = rmp::encode::write_str(out, text);
}

fn write_uint(out: &mut Vec<u8>, value: u64) {
    let _ = rmp::encode::write_uint(out, value);
}

fn write_f64(out: &mut Vec<u8>, value: f64) {
    let _ = rmp::encode::write_f64(out, value);
}

/// Runs one of rmp's readers on `rest` and moves `rest` past what it read. (`rmp::decode::Bytes` reads a slice
/// without going through `std::io`, which per field showed in profiles.)
fn read<'a, T, E>(rest: &mut &'a [u8], reader: impl FnOnce(&mut rmp::decode::Bytes<'a>) -> Result<T, E>) -> Option<T> {
    let mut bytes = rmp::decode::Bytes::new(rest);
    let value = reader(&mut bytes).ok()?;
    *rest = bytes.remaining_slice();
    Some(value)
}

/// A MessagePack `str` as text, which must be UTF-8 as the envelope reader requires of a field's value.
fn read_str<'a>(rest: &mut &'a [u8]) -> Option<&'a str> {
    std::str::from_utf8(read_str_bytes(rest)?).ok()
}

/// The bytes of a MessagePack `str`.
fn read_str_bytes<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let length = read(rest, rmp::decode::read_str_len)? as usize;
    let (text, after) = rest.split_at_checked(length)?;
    *rest = after;
    Some(text)
}

fn read_float(rest: &mut &[u8]) -> Option<f64> {
    match rest.first()? {
        0xca => read(rest, rmp::decode::read_f32).map(f64::from),
        0xcb => read(rest, rmp::decode::read_f64),
        _ => None,
    }
}

/// Passes over one MessagePack value that reads as a `T`, as the envelope reader reads that field; its bytes.
fn pass_over<'a, T: serde::de::DeserializeOwned>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let mut deserializer = rmp_serde::Deserializer::new(std::io::Cursor::new(*rest));
    T::deserialize(&mut deserializer).ok()?;
    let (value, after) = rest.split_at_checked(usize::try_from(deserializer.position()).ok()?)?;
    *rest = after;
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AgentMessage, Encoding};

    fn named(value: serde_json::Value) -> Vec<u8> {
        rmp_serde::to_vec_named(&value).unwrap()
    }

    /// What the envelope reader makes of `body`, as far as a reply needs it.
    fn read_by_the_envelope_reader(body: &[u8]) -> Option<(String, String, String, i32, u32, serde_json::Value)> {
        let message = AgentMessage::decode(body, Encoding::MessagePack).ok()?;
        Some((
            message.id,
            message.message_type,
            message.sender_id,
            message.priority,
            message.schema_version,
            message.payload,
        ))
    }

    fn agrees_with_the_envelope_reader(body: &[u8]) {
        let Some(head) = RequestHead::read(body) else { return };
        let (id, message_type, sender_id, priority, schema_version, payload) = read_by_the_envelope_reader(body)
            .unwrap_or_else(|| panic!("the envelope reader rejects what the quick reader read: {body:02x?}"));
        if !head.id.is_empty() {
            assert_eq!(head.id, id);
        }
        assert_eq!(
            (head.message_type, head.sender_id, head.priority, head.schema_version),
            (message_type.as_str(), sender_id.as_str(), priority, schema_version)
        );
        let head_payload: serde_json::Value = rmp_serde::from_slice(head.payload).unwrap();
        assert_eq!(head_payload, payload);
    }

    #[test]
    fn an_orchestrators_request_is_read_in_place() {
        let mut message = AgentMessage::new("get_stats", serde_json::json!({"detail": false}));
        message.sender_id = "orchestrator_0a1b2c3d".to_owned();
        message.priority = 3;
        message.requires_response = true;
        let body = message.encode(Encoding::MessagePack).unwrap();
        let head = RequestHead::read(&body).expect("the usual shape");
        assert_eq!(head.id, message.id);
        assert_eq!(head.message_type, "get_stats");
        assert_eq!(head.sender_id, "orchestrator_0a1b2c3d");
        assert_eq!(head.priority, 3);
        assert_eq!(head.schema_version, SCHEMA_VERSION);
        assert_eq!(head.payload, named(serde_json::json!({"detail": false})));
        agrees_with_the_envelope_reader(&body);
    }

    #[test]
    fn fields_left_out_take_the_envelopes_defaults() {
        let body = named(serde_json::json!({"type": "ping"}));
        let head = RequestHead::read(&body).unwrap();
        assert_eq!((head.id, head.sender_id, head.priority), ("", "", 0));
        assert_eq!(head.payload, EMPTY_MAP);
        let reply = head.reply_head("reply", "pong", "agent", 1.0);
        assert_eq!((reply.recipient_id, reply.correlation_id, reply.requires_response), ("", Some(""), false));
    }

    #[test]
    fn other_fields_are_skipped_and_every_field_may_come_in_any_order() {
        let body = named(serde_json::json!({
            "extra": {"nested": [1, 2.5, "three", null, {"four": true}]},
            "payload": {"text": "hello", "tags": ["a", "b"]},
            "schema_version": 1, "correlation_id": null, "timestamp": 1.5, "priority": -2,
            "requires_response": true, "recipient_id": "someone", "sender_id": "me", "type": "ping", "id": "x",
        }));
        let head = RequestHead::read(&body).expect("the usual shape");
        assert_eq!((head.id, head.priority), ("x", -2));
        agrees_with_the_envelope_reader(&body);
    }

    #[test]
    fn any_other_shape_is_left_to_the_envelope_reader() {
        let duplicate = [0x82, 0xa2, b'i', b'd', 0xa1, b'a', 0xa2, b'i', b'd', 0xa1, b'b'];
        let mut trailing = named(serde_json::json!({"type": "ping"}));
        trailing.push(0x00);
        let cases: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"{\"type\": \"ping\"}".to_vec(),
            named(serde_json::json!(["ping"])),
            duplicate.to_vec(),
            trailing,
            named(serde_json::json!({"type": 7})),
            named(serde_json::json!({"priority": 1.5})),
            named(serde_json::json!({"priority": 4_000_000_000_u64})),
            named(serde_json::json!({"timestamp": 17})),
            named(serde_json::json!({"correlation_id": 1})),
            named(serde_json::json!({"schema_version": -1})),
            vec![0x81, 0xa2, b'i', b'd', 0xa2, 0xff, 0xfe],
            vec![0x81, 0xa2, 0xff, 0xfe, 0xc0, 0x00],
            vec![0x81, 0x01, 0xa1, b'x'],
            vec![0x81, 0xa7, b'p', b'a', b'y', b'l', b'o', b'a', b'd', 0xdc, 0x00],
        ];
        for body in cases {
            assert_eq!(RequestHead::read(&body), None, "{body:02x?}");
        }
    }

    #[test]
    fn a_key_that_is_no_utf8_is_skipped_as_the_envelope_reader_skips_it() {
        let body = [0x82, 0xa2, 0xff, 0xfe, 0x01, 0xa4, b't', b'y', b'p', b'e', 0xa4, b'p', b'i', b'n', b'g'];
        assert_eq!(RequestHead::read(&body).map(|head| head.message_type), Some("ping"));
        agrees_with_the_envelope_reader(&body);
    }

    fn summary(last_activity: Option<f64>, processed: u64) -> AgentStats<&'static str> {
        AgentStats {
            agent_id: "insight_generator_0a1b2c3d",
            agent_type: "insight_generator",
            version: "0.1.0",
            state: crate::AgentState::Busy,
            messages_processed: processed,
            errors_count: processed / 7,
            avg_processing_time: 0.000_012_5,
            last_activity,
            queue_size: 3,
            in_flight: 300,
            max_concurrency: 70_000,
            shed_count: u64::MAX,
            events_received: 1 << 33,
            started_at: 1_764_000_000.25,
            uptime_secs: 86_400.5,
            by_message_type: None,
            adaptation: None,
        }
    }

    #[test]
    fn the_summary_is_written_as_the_envelope_writer_writes_it() {
        for (stats, priority, correlation_id) in [
            (summary(None, 0), 0, None),
            (summary(Some(1_764_000_100.5), 127), -1, Some("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")),
            (summary(Some(0.0), 1 << 40), i32::MIN, Some("")),
            (summary(Some(-1.0), 65_536), i32::MAX, Some("ünïcode")),
        ] {
            let head = EnvelopeHead {
                id: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c",
                message_type: crate::builtin::STATS_RESPONSE,
                sender_id: stats.agent_id,
                recipient_id: "orchestrator_01234567",
                timestamp: 1_764_000_101.125,
                priority,
                requires_response: false,
                correlation_id,
                schema_version: SCHEMA_VERSION,
            };
            let written = encode_stats_response(&head, &stats).unwrap();
            let by_the_envelope_writer =
                encode_envelope(&head, &StatsResponse { stats: stats.clone() }, Encoding::MessagePack).unwrap();
            assert_eq!(written, by_the_envelope_writer);
        }
        let mut detailed = summary(None, 5);
        detailed.by_message_type = Some(Default::default());
        let head = summary_head();
        let by_the_envelope_writer =
            encode_envelope(&head, &StatsResponse { stats: detailed.clone() }, Encoding::MessagePack).unwrap();
        assert_eq!(encode_stats_response(&head, &detailed).unwrap(), by_the_envelope_writer);
    }

    fn summary_head() -> EnvelopeHead<'static> {
        EnvelopeHead {
            id: "reply",
            message_type: crate::builtin::STATS_RESPONSE,
            sender_id: "insight_generator_0a1b2c3d",
            recipient_id: "",
            timestamp: 1.0,
            priority: 0,
            requires_response: false,
            correlation_id: Some("request"),
            schema_version: SCHEMA_VERSION,
        }
    }

    #[test]
    fn whatever_it_reads_the_envelope_reader_reads_alike() {
        // Every prefix and every one-byte change of an envelope: the quick reader never reads what the reader
        // of record rejects, nor reads it otherwise.
        let mut message = AgentMessage::new("get_stats", serde_json::json!({"detail": true, "note": [1, "two"]}));
        message.sender_id = "orchestrator_0a1b2c3d".to_owned();
        message.correlation_id = Some("earlier".to_owned());
        let body = message.encode(Encoding::MessagePack).unwrap();
        for end in 0..body.len() {
            agrees_with_the_envelope_reader(&body[..end]);
        }
        for at in 0..body.len() {
            for byte in [0x00, 0x01, 0x7f, 0x80, 0x90, 0xa0, 0xc0, 0xc2, 0xca, 0xcb, 0xcc, 0xd9, 0xdc, 0xde, 0xff] {
                let mut changed = body.clone();
                changed[at] = byte;
                agrees_with_the_envelope_reader(&changed);
            }
        }
    }
}
