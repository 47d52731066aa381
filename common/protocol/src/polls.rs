//! The polls every instance gets, `get_stats` and `ping`, which health checks, balancers and autoscalers send
//! every instance every few seconds: what their reply needs of the request's envelope, read in place.
//! [`AgentMessage::decode`] stays the reader of record: [`RequestHead::read`] reads only envelopes of the
//! usual shape and gives up on anything else, leaving it to that reader to read or to reject.
//!
//! [`AgentMessage::decode`]: crate::AgentMessage::decode

use crate::message::{EnvelopeHead, SCHEMA_VERSION};

/// The payload of an envelope that has none: an empty map, as [`crate::AgentMessage`] reads it.
const EMPTY_MAP: &[u8] = &[EMPTY_MAP_MARKER];
const EMPTY_MAP_MARKER: u8 = rmp::Marker::FixMap(0).to_u8();
const NIL_MARKER: u8 = rmp::Marker::Null.to_u8();

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
                        Some((&EMPTY_MAP_MARKER, after)) => {
                            rest = after;
                            EMPTY_MAP
                        }
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
                    match rest.split_first() {
                        Some((&NIL_MARKER, after)) => rest = after,
                        _ => {
                            read_str(&mut rest)?;
                        }
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

/// `get_stats`'s payload asking for the summary as orchestrators send it: the default [`StatsRequest`],
/// `{detail: false}`, or none at all.
///
/// [`StatsRequest`]: crate::stats::StatsRequest
const SUMMARY_REQUEST: &[u8] = b"\x81\xa6detail\xc2";

impl RequestHead<'_> {
    /// Whether the payload is empty (`{}`, or left out).
    pub fn has_empty_payload(&self) -> bool {
        self.payload == EMPTY_MAP
    }

    /// Whether the payload is `get_stats`'s asking for the summary: empty, or `{detail: false}`.
    pub fn asks_for_the_summary(&self) -> bool {
        self.has_empty_payload() || self.payload == SUMMARY_REQUEST
    }
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

/// The bytes of a MessagePack `str`. Keys and most values are short (`fixstr`, the length in the marker), and
/// are read straight from their marker.
fn read_str_bytes<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (&marker, after) = rest.split_first()?;
    let length = match rmp::Marker::from_u8(marker) {
        rmp::Marker::FixStr(length) => {
            *rest = after;
            usize::from(length)
        }
        _ => read(rest, rmp::decode::read_str_len)? as usize,
    };
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
    fn the_summary_is_asked_for_as_an_orchestrator_asks_for_it() {
        // (asks for the summary, has an empty payload) of a `get_stats` with `payload`.
        let read_with = |payload: serde_json::Value| {
            let body = named(serde_json::json!({"type": "get_stats", "payload": payload}));
            let head = RequestHead::read(&body).unwrap();
            (head.asks_for_the_summary(), head.has_empty_payload())
        };
        let default_request = serde_json::to_value(crate::stats::StatsRequest::default()).unwrap();
        assert_eq!(read_with(default_request), (true, false));
        assert_eq!(read_with(serde_json::json!({})), (true, true));
        assert_eq!(read_with(serde_json::json!({"detail": true})), (false, false));
        assert_eq!(read_with(serde_json::json!({"detail": false, "other": 1})), (false, false));
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
