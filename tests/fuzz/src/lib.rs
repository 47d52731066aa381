//! What every fuzz target checks, beyond not panicking: kept here so that each target is one line.

use mneme_protocol::harvester::ProcessMemoryRequest;
use mneme_protocol::insights::SearchRequest;
use mneme_protocol::orchestrator::CollaborateRequest;
use mneme_protocol::{AgentMessage, Encoding};
use mneme_sources::{Format, ReadOptions};

/// Decodes `bytes` as an envelope in both encodings. One that decodes must encode again, decode to the same
/// envelope, and have its payload read as a typed request (or refused with an error).
pub fn decode_envelope(bytes: &[u8]) {
    for encoding in [Encoding::MessagePack, Encoding::Json] {
        let Ok(message) = AgentMessage::decode(bytes, encoding) else { continue };
        let encoded = message.encode(Encoding::MessagePack).expect("a decoded envelope encodes");
        let again = AgentMessage::decode(&encoded, Encoding::MessagePack).expect("an encoded envelope decodes");
        assert_eq!(message, again, "an envelope changed on its way through MessagePack");
        let _ = message.payload_as::<ProcessMemoryRequest>();
        let _ = message.payload_as::<SearchRequest>();
        let _ = message.payload_as::<CollaborateRequest>();
        let _ = message.as_error();
    }
}

/// Reads `bytes` as a file in `format`: inputs or a typed error. Inputs must be valid JSON payloads, as the
/// harvester will be sent them.
pub fn parse_as(format: Format, bytes: &[u8]) {
    let options = ReadOptions::default();
    if let Ok(inputs) = mneme_sources::parse(format, bytes, "fuzz/input", None, &options) {
        for input in inputs {
            serde_json::to_vec(&input).expect("a parsed input serializes");
        }
    }
}

/// Detects the format of `bytes` under a few names, and reads them as what was detected.
pub fn detect_and_parse(bytes: &[u8]) {
    for name in ["input", "input.txt", "input.md", "input.json", "input.eml", "input.mbox", "input.csv"] {
        if let Some(format) = mneme_sources::detect(name, bytes) {
            parse_as(format, bytes);
        }
    }
}
