//! Asking the pattern analyzer for the sentiment of a text of any length, for agents that keep it with what
//! they derive.

use mneme_protocol::patterns::{AnalyzeSentimentRequest, SentimentAnalyzed, message_types};
use mneme_protocol::{AgentType, ComponentKind};

use crate::agent::HandlerError;
use crate::call::{CallOptions, Caller, Target};

/// Well under the pattern analyzer's default limit per text.
const PIECE_BYTES: usize = 32 * 1024;

/// `text` cut at character boundaries into pieces of at most `size` bytes (one piece when it is short).
fn pieces(text: &str, size: usize) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while rest.len() > size {
        let mut cut = size;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        found.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    found.push(rest);
    found
}

/// Compound sentiment of `text`, -1..1. The analyzer takes texts of a bounded size; a long one goes in pieces,
/// weighed by their length.
pub async fn compound(caller: &Caller, text: &str) -> Result<f64, HandlerError> {
    let pieces = pieces(text, PIECE_BYTES);
    let request = AnalyzeSentimentRequest { texts: pieces.iter().map(|piece| (*piece).to_owned()).collect() };
    let target = Target::AnyOf(ComponentKind::Agent(AgentType::PatternAnalyzer));
    let reply = caller
        .call(&target, message_types::ANALYZE_SENTIMENT, &request, &CallOptions::default())
        .await
        .map_err(|error| crate::call::colleague_failed(AgentType::PatternAnalyzer, error))?;
    let analyzed: SentimentAnalyzed = reply.payload_as().map_err(|error| HandlerError::internal(error.to_string()))?;
    let total = pieces.iter().map(|piece| piece.len()).sum::<usize>().max(1) as f64;
    Ok(pieces.iter().zip(&analyzed.scores).map(|(piece, score)| score.compound * piece.len() as f64 / total).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cut_at_character_boundaries() {
        let text = "é".repeat(10);
        let cut = pieces(&text, 5);
        assert!(cut.iter().all(|piece| piece.len() <= 5));
        assert_eq!(cut.concat(), text);
    }
}
