//! Asking the pattern analyzer for the sentiment of a text of any length, for agents that keep it with what
//! they derive; the texts of concurrent requests go in batches.

use mneme_protocol::patterns::{AnalyzeSentimentRequest, SentimentAnalyzed, message_types};
use mneme_protocol::{AgentType, ComponentKind};

use std::sync::Arc;

use crate::agent::HandlerError;
use crate::batch::{BatchLimits, Batcher};
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

/// Texts asked about at once by concurrent requests go to the analyzer together: one request of up to 64
/// texts (256 KiB) instead of one each, sent at most 5 ms after the first of them came.
const LIMITS: BatchLimits = BatchLimits {
    max_items: 64,
    max_weight: 256 * 1024,
    max_wait: std::time::Duration::from_millis(5),
    max_in_flight: 8,
};

/// Asks the pattern analyzer for sentiment, batching the texts of concurrent requests.
#[derive(Clone)]
pub struct Sentiment {
    batcher: Arc<Batcher<String, f64>>,
}

impl std::fmt::Debug for Sentiment {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Sentiment").finish_non_exhaustive()
    }
}

impl Sentiment {
    /// Starts the batcher; call within a Tokio runtime.
    pub fn new(caller: Caller) -> Self {
        let batcher = Batcher::start(LIMITS, String::len, move |texts: Vec<String>| {
            let caller = caller.clone();
            async move { analyze(&caller, texts).await }
        });
        Sentiment { batcher: Arc::new(batcher) }
    }

    /// Compound sentiment of `text`, -1..1. The analyzer takes texts of a bounded size; a long one goes in
    /// pieces, weighed by their length.
    pub async fn compound(&self, text: &str) -> Result<f64, HandlerError> {
        let pieces = pieces(text, PIECE_BYTES);
        let scores =
            futures::future::try_join_all(pieces.iter().map(|piece| self.batcher.submit((*piece).to_owned()))).await?;
        let total = pieces.iter().map(|piece| piece.len()).sum::<usize>().max(1) as f64;
        Ok(pieces.iter().zip(&scores).map(|(piece, score)| score * piece.len() as f64 / total).sum())
    }
}

/// One request for the compound sentiment of each of `texts`.
pub async fn analyze(caller: &Caller, texts: Vec<String>) -> Result<Vec<f64>, HandlerError> {
    let request = AnalyzeSentimentRequest { texts };
    let target = Target::AnyOf(ComponentKind::Agent(AgentType::PatternAnalyzer));
    let reply = caller
        .call(&target, message_types::ANALYZE_SENTIMENT, &request, &CallOptions::default())
        .await
        .map_err(|error| crate::call::colleague_failed(AgentType::PatternAnalyzer, error))?;
    let analyzed: SentimentAnalyzed = reply.payload_as().map_err(|error| HandlerError::internal(error.to_string()))?;
    Ok(analyzed.scores.iter().map(|score| score.compound).collect())
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
