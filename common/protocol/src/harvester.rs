//! Payloads of the memory harvester: `process_memory`, `batch_process`, `validate_quality`.

use serde::{Deserialize, Serialize};

pub mod message_types {
    pub const PROCESS_MEMORY: &str = "process_memory";
    pub const MEMORY_PROCESSED: &str = "memory_processed";
    pub const BATCH_PROCESS: &str = "batch_process";
    pub const BATCH_PROCESSED: &str = "batch_processed";
    pub const VALIDATE_QUALITY: &str = "validate_quality";
    /// A whole file (note, journal, chat, e-mail, CSV) made into memories; answered with `batch_processed`.
    pub const PROCESS_FILE: &str = "process_file";
    pub const QUALITY_ASSESSMENT: &str = "quality_assessment";
}

pub mod event_types {
    /// Published after every memory the harvester processes, with [`super::MemoryProcessedEvent`].
    pub const MEMORY_PROCESSED: &str = "memory_processed";
}

/// What kind of record a memory was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Text sent as it is, with nothing known of its origin.
    #[default]
    Text,
    /// A note file (plain text or Markdown).
    Note,
    /// One dated entry of a journal file.
    Journal,
    /// One turn of a chat conversation.
    Chat,
    /// One e-mail message.
    Email,
    /// One row of a CSV file.
    Csv,
}

impl SourceKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            SourceKind::Text => "text",
            SourceKind::Note => "note",
            SourceKind::Journal => "journal",
            SourceKind::Chat => "chat",
            SourceKind::Email => "email",
            SourceKind::Csv => "csv",
        }
    }
}

/// Whether the owner wrote a memory of `author`: a memory without an author (a note, a journal entry) is the
/// owner's own words, and so is one whose author is the owner's id, starts with it as a first name ("Maya" or
/// "Maya Lind" for owner `maya`), is an address whose local part it is (`maya@example.com`), or is one of
/// `also_me` (the other names the owner goes by); any case.
pub fn written_by_owner(author: Option<&str>, owner: &str, also_me: &[String]) -> bool {
    let Some(author) = author.map(str::trim).filter(|author| !author.is_empty()) else { return true };
    let owner = owner.trim();
    let first_name = author.split_whitespace().next().unwrap_or_default();
    let local_part = author.split_once('@').map(|(local, _)| local);
    author.eq_ignore_ascii_case(owner)
        || first_name.eq_ignore_ascii_case(owner)
        || local_part.is_some_and(|local| local.eq_ignore_ascii_case(owner))
        || also_me.iter().any(|name| name.trim().eq_ignore_ascii_case(author))
}

/// One raw input: the text and what is known of where and when it comes from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ProcessMemoryRequest {
    pub raw_input: String,
    /// Whose memory this is; the harvester's configured default owner when absent.
    #[serde(default)]
    pub owner: Option<String>,
    /// The source locator: where exactly the input came from (`notes/2024-05-01.md`, a chat turn's id, an
    /// e-mail's Message-ID). Part of the memory's identity, and cited with the memory in every result its owner
    /// reads (a grantee reads none: it may name people).
    #[serde(default)]
    pub source: Option<String>,
    /// When it happened: RFC 3339 (`2024-05-01T09:30:00Z`, any offset), a civil date-time
    /// (`2024-05-01 09:30`, read as UTC) or a date (`2024-05-01`).
    #[serde(default)]
    pub occurred_at: Option<String>,
    #[serde(default)]
    pub source_kind: SourceKind,
    /// Who wrote or said it: a chat turn's speaker, an e-mail's sender.
    #[serde(default)]
    pub author: Option<String>,
    /// Everyone taking part besides the author: the other people of a chat session, an e-mail's recipients.
    #[serde(default)]
    pub participants: Vec<String>,
    /// A note's title, an e-mail's subject.
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A batch item: plain text, or a full input whose fields win over the batch's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RawInput {
    Text(String),
    Full(ProcessMemoryRequest),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchProcessRequest {
    pub raw_inputs: Vec<RawInput>,
    /// Owner of the items that name none.
    #[serde(default)]
    pub owner: Option<String>,
    /// Source of the items that name none.
    #[serde(default)]
    pub source: Option<String>,
}

impl BatchProcessRequest {
    /// Each item as a full input, with the batch's owner and source where the item names none.
    pub fn into_inputs(self) -> Vec<ProcessMemoryRequest> {
        let (owner, source) = (self.owner, self.source);
        self.raw_inputs
            .into_iter()
            .map(|item| match item {
                RawInput::Text(raw_input) => ProcessMemoryRequest {
                    raw_input,
                    owner: owner.clone(),
                    source: source.clone(),
                    ..ProcessMemoryRequest::default()
                },
                RawInput::Full(mut input) => {
                    input.owner = input.owner.or_else(|| owner.clone());
                    input.source = input.source.or_else(|| source.clone());
                    input
                }
            })
            .collect()
    }
}

/// `process_file`: one file's content, read as `docs/sources.md` describes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessFileRequest {
    /// The file's name or path as it should be cited (`notes/2024-05-01.md`); its extension helps detection.
    pub name: String,
    /// The file's content, as text.
    pub content: String,
    /// `note`, `journal`, `chat-json`, `whatsapp`, `eml`, `mbox` or `csv`; detected when absent.
    #[serde(default)]
    pub format: Option<String>,
    /// For CSV: `field=column` pairs such as `text=body,date=created_at`.
    #[serde(default)]
    pub csv_mapping: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidateQualityRequest {
    #[serde(alias = "raw_input")]
    pub text: String,
}

/// Why a text falls short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualityIssueKind {
    /// Nothing but white space.
    Empty,
    /// Too few words to mean anything on its own.
    TooShort,
    /// Mostly symbols, repeated characters or letter soup rather than language.
    Garbage,
    /// Replacement characters or mis-decoded text (mojibake), or control characters.
    Encoding,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityIssue {
    pub kind: QualityIssueKind,
    pub detail: String,
}

/// A text's fitness as a memory: a score in 0..=1 and the reasons it lost points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityAssessment {
    pub score: f64,
    /// Whether the score reaches the harvester's acceptance threshold.
    pub acceptable: bool,
    pub reasons: Vec<QualityIssue>,
}

/// The language a memory is written in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectedLanguage {
    /// ISO 639-3 code, `und` when it cannot be told.
    pub code: String,
    pub name: String,
    pub confidence: f64,
    pub reliable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateKind {
    /// The same normalized text.
    Exact,
    /// Text that differs only in small edits.
    Near,
}

/// The earlier memory a new one repeats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuplicateOf {
    pub memory_id: String,
    pub kind: DuplicateKind,
    /// Estimated similarity of the two texts, 1.0 for exact duplicates.
    pub similarity: f64,
}

/// A raw input made into a memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessedMemory {
    /// UUID v5 of owner, source and normalized text: processing the same input again gives the same id.
    pub id: String,
    pub owner: String,
    /// The source locator (see [`ProcessMemoryRequest::source`]).
    pub source: Option<String>,
    #[serde(default)]
    pub source_kind: SourceKind,
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub participants: Vec<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The text, Unicode-normalized (NFC) with line endings and white space tidied.
    pub text: String,
    pub language: DetectedLanguage,
    pub word_count: u32,
    /// RFC 3339, UTC.
    pub occurred_at: Option<String>,
    /// When the harvester processed it; RFC 3339, UTC.
    pub processed_at: String,
    /// SHA-256 of the normalized text, hex.
    pub content_hash: String,
    pub quality: QualityAssessment,
    pub is_duplicate: bool,
    pub duplicate_of: Option<DuplicateOf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryProcessed {
    pub processed_memory: ProcessedMemory,
}

/// An item of a batch that could not be processed; the others are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchItemError {
    pub index: usize,
    pub error: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchProcessed {
    pub processed_memories: Vec<ProcessedMemory>,
    #[serde(default)]
    pub errors: Vec<BatchItemError>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryProcessedEvent {
    pub memory_id: String,
    pub owner: String,
    pub quality_score: f64,
    pub duplicate_of: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AgentMessage, Encoding};

    #[test]
    fn the_owner_writes_what_has_no_author_and_what_bears_their_name() {
        assert!(written_by_owner(None, "maya", &[]));
        assert!(written_by_owner(Some("Maya"), "maya", &[]));
        assert!(written_by_owner(Some("Maya Lind"), "maya", &[]));
        assert!(written_by_owner(Some("maya@example.com"), "maya", &[]));
        assert!(written_by_owner(Some("M. Lind"), "maya", &["m. lind".to_owned()]));
        assert!(!written_by_owner(Some("Omar"), "maya", &[]));
        assert!(!written_by_owner(Some("Mayan Ruins Tours"), "maya", &[]));
    }

    #[test]
    fn batch_items_are_text_or_full_inputs() {
        let json = br#"{"type":"batch_process","payload":{"raw_inputs":["plain",{"raw_input":"full","owner":"ann"}]}}"#;
        let message = AgentMessage::decode(json, Encoding::Json).unwrap();
        let batch: BatchProcessRequest = message.payload_as().unwrap();
        assert_eq!(batch.raw_inputs[0], RawInput::Text("plain".into()));
        assert!(matches!(&batch.raw_inputs[1], RawInput::Full(input) if input.owner.as_deref() == Some("ann")));
        let again =
            AgentMessage::decode(&message.encode(Encoding::MessagePack).unwrap(), Encoding::MessagePack).unwrap();
        assert_eq!(again.payload_as::<BatchProcessRequest>().unwrap(), batch);
    }

    #[test]
    fn validate_quality_accepts_raw_input_as_the_text() {
        let message = AgentMessage::decode(br#"{"payload":{"raw_input":"x"}}"#, Encoding::Json).unwrap();
        assert_eq!(message.payload_as::<ValidateQualityRequest>().unwrap().text, "x");
    }
}
