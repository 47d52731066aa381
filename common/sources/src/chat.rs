//! Chat conversations in Mneme's JSON format (`docs/sources.md`): conversations of sessions, a session with a
//! date-time and turns, a turn with `speaker`, `text`, and optionally `id` and `timestamp`. One memory per
//! turn, with the session's people.

use serde::Deserialize;

use mneme_protocol::harvester::{ProcessMemoryRequest, SourceKind};

use crate::SourceError;
use crate::dates::{parse_timestamp, rfc3339};

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Document {
    Wrapped { conversations: Vec<Conversation> },
    List(Vec<Conversation>),
    One(Conversation),
}

#[derive(Debug, Deserialize)]
struct Conversation {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    title: Option<String>,
    /// Everyone in the conversation, when the export names them beyond the speakers.
    #[serde(default)]
    participants: Vec<String>,
    sessions: Vec<Session>,
}

#[derive(Debug, Deserialize)]
struct Session {
    #[serde(default)]
    id: Option<String>,
    #[serde(default, alias = "date", alias = "datetime")]
    date_time: Option<String>,
    turns: Vec<Turn>,
}

#[derive(Debug, Deserialize)]
struct Turn {
    speaker: String,
    text: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
}

/// Whether `bytes` hold a document of this format.
pub fn is_chat_json(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Document>(bytes).is_ok()
}

pub fn parse(bytes: &[u8], locator: &str) -> Result<Vec<ProcessMemoryRequest>, SourceError> {
    let document: Document =
        serde_json::from_slice(bytes).map_err(|error| SourceError::Malformed { reason: error.to_string() })?;
    let conversations = match document {
        Document::Wrapped { conversations } | Document::List(conversations) => conversations,
        Document::One(conversation) => vec![conversation],
    };
    let mut inputs = Vec::new();
    for (conversation_index, conversation) in conversations.into_iter().enumerate() {
        let conversation_id = conversation.id.clone().unwrap_or_else(|| format!("c{}", conversation_index + 1));
        for (session_index, session) in conversation.sessions.into_iter().enumerate() {
            let session_id = session.id.clone().unwrap_or_else(|| format!("s{}", session_index + 1));
            let session_time = match &session.date_time {
                Some(text) => Some(parse_timestamp(text).ok_or_else(|| SourceError::Malformed {
                    reason: format!("session {session_id} of {conversation_id}: unreadable date_time `{text}`"),
                })?),
                None => None,
            };
            let mut people: Vec<String> = conversation.participants.clone();
            for turn in &session.turns {
                if !people.iter().any(|person| person.eq_ignore_ascii_case(turn.speaker.trim())) {
                    people.push(turn.speaker.trim().to_owned());
                }
            }
            for (turn_index, turn) in session.turns.into_iter().enumerate() {
                if turn.text.trim().is_empty() {
                    continue;
                }
                let occurred_at = turn.timestamp.as_deref().and_then(parse_timestamp).or(session_time);
                let source = turn
                    .id
                    .clone()
                    .unwrap_or_else(|| format!("{locator}#{conversation_id}/{session_id}/{}", turn_index + 1));
                let speaker = turn.speaker.trim().to_owned();
                inputs.push(ProcessMemoryRequest {
                    raw_input: turn.text,
                    source: Some(source),
                    occurred_at: occurred_at.map(rfc3339),
                    source_kind: SourceKind::Chat,
                    participants: people.iter().filter(|person| **person != speaker).cloned().collect(),
                    author: Some(speaker),
                    title: conversation.title.clone(),
                    ..ProcessMemoryRequest::default()
                });
            }
        }
    }
    Ok(inputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
      "conversations": [{
        "id": "ann-omar",
        "sessions": [
          {"id": "s1", "date_time": "1:56 pm on 8 May, 2023", "turns": [
            {"speaker": "Ann", "text": "Did you hear back from the studio?", "id": "D1:1"},
            {"speaker": "Omar", "text": "Yes! I start in June.", "id": "D1:2"},
            {"speaker": "Ann", "text": "  "}
          ]},
          {"date_time": "2023-06-02T18:00:00Z", "turns": [
            {"speaker": "Omar", "text": "First week done.", "timestamp": "2023-06-02T18:05:00+01:00"}
          ]}
        ]
      }]
    }"#;

    #[test]
    fn one_memory_per_turn_with_the_people_of_the_session() {
        let inputs = parse(SAMPLE.as_bytes(), "chats/omar.json").unwrap();
        assert_eq!(inputs.len(), 3);
        assert_eq!(inputs[0].source.as_deref(), Some("D1:1"));
        assert_eq!(inputs[0].author.as_deref(), Some("Ann"));
        assert_eq!(inputs[0].participants, ["Omar"]);
        assert_eq!(inputs[0].occurred_at.as_deref(), Some("2023-05-08T13:56:00Z"));
        assert_eq!(inputs[2].source.as_deref(), Some("chats/omar.json#ann-omar/s2/1"));
        assert_eq!(inputs[2].occurred_at.as_deref(), Some("2023-06-02T17:05:00Z"));
        assert!(inputs.iter().all(|input| input.source_kind == SourceKind::Chat));
    }

    #[test]
    fn malformed_documents_are_errors() {
        assert!(matches!(parse(b"{\"conversations\": 3}", "x.json"), Err(SourceError::Malformed { .. })));
        let bad_date = r#"[{"sessions": [{"date_time": "someday", "turns": []}]}]"#;
        assert!(matches!(parse(bad_date.as_bytes(), "x.json"), Err(SourceError::Malformed { .. })));
        assert!(is_chat_json(SAMPLE.as_bytes()) && !is_chat_json(b"[1, 2]"));
    }
}
