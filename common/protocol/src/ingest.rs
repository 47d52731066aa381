//! The durable ingest path: what clients publish on `mneme.ingest.<owner>` and what the pipeline reports back.
//!
//! An ingest message is an envelope of type `process_memory` (payload [`ProcessMemoryRequest`]) or
//! `batch_process` (payload [`BatchProcessRequest`]), MessagePack or JSON with the JSON content type, published
//! into the ingest stream with a `Nats-Msg-Id` so that a publish repeated within the stream's duplicate window is
//! stored once. With a `Mneme-Report-To` header naming an inbox, the pipeline publishes one [`IngestReport`]
//! there for each input once it is settled.
//!
//! [`ProcessMemoryRequest`]: crate::harvester::ProcessMemoryRequest
//! [`BatchProcessRequest`]: crate::harvester::BatchProcessRequest

use serde::{Deserialize, Serialize};

use crate::guardian::Sensitivity;

/// What became of one input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum IngestOutcome {
    /// A new memory, stored encrypted.
    Stored { memory_id: String, sensitivity: Sensitivity },
    /// The memory was stored before (a redelivery, or the same record ingested again): nothing changed.
    AlreadyStored { memory_id: String },
    /// The same text as a memory the owner already has, from another source: not stored again.
    Duplicate { memory_id: String, duplicate_of: String },
    /// Not fit to be a memory (empty, garbage, undecodable, invalid); sent to the dead-letter stream when it
    /// could not even be read.
    Rejected { reason: String },
}

/// Published to the `Mneme-Report-To` inbox of an ingest message, once per input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestReport {
    /// The ingest message's `Nats-Msg-Id`, when it had one.
    pub message_id: Option<String>,
    /// The input's position in its message (0 for `process_memory`).
    pub index: usize,
    /// The input's source locator, when it had one.
    pub source: Option<String>,
    #[serde(flatten)]
    pub outcome: IngestOutcome,
}

/// One message of the dead-letter stream, as `mneme dlq list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Sequence in the dead-letter stream.
    pub sequence: u64,
    pub reason: String,
    /// The subject the input was published on.
    pub subject: String,
    pub deliveries: u64,
    /// When it died, RFC 3339.
    pub at: String,
    pub size: usize,
}
