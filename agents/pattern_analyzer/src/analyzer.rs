//! The pattern analyzer as an agent: `analyze_sentiment` over [`crate::sentiment`].

use mneme_protocol::patterns::{AnalyzeSentimentRequest, SentimentAnalyzed, SentimentScore, message_types};
use mneme_protocol::{AgentCapability, ErrorCode};
use mneme_runtime::{Agent, HandlerError, Reply, Request};

use crate::sentiment::polarity;
use crate::settings::AnalyzerSettings;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AnalyzerError {
    #[error("{count} texts exceed the limit of {limit} per request")]
    TooManyTexts { count: usize, limit: usize },
    #[error("text {index} has {size} bytes, over the limit of {limit}")]
    TextTooLong { index: usize, size: usize, limit: usize },
}

impl From<AnalyzerError> for HandlerError {
    fn from(error: AnalyzerError) -> Self {
        HandlerError::new(ErrorCode::PayloadTooLarge, error.to_string())
    }
}

#[derive(Debug)]
pub struct PatternAnalyzer {
    settings: AnalyzerSettings,
}

impl PatternAnalyzer {
    pub fn new(settings: AnalyzerSettings) -> Self {
        PatternAnalyzer { settings }
    }

    pub fn analyze_sentiment(&self, request: &AnalyzeSentimentRequest) -> Result<SentimentAnalyzed, AnalyzerError> {
        let limit = self.settings.max_texts;
        if request.texts.len() > limit {
            return Err(AnalyzerError::TooManyTexts { count: request.texts.len(), limit });
        }
        let limit = self.settings.max_text_bytes;
        if let Some((index, text)) = request.texts.iter().enumerate().find(|(_, text)| text.len() > limit) {
            return Err(AnalyzerError::TextTooLong { index, size: text.len(), limit });
        }
        let scores = request
            .texts
            .iter()
            .map(|text| {
                let score = polarity(text);
                SentimentScore {
                    compound: score.compound,
                    positive: score.positive,
                    negative: score.negative,
                    neutral: score.neutral,
                }
            })
            .collect();
        Ok(SentimentAnalyzed { scores })
    }
}

pub fn capabilities() -> Vec<AgentCapability> {
    vec![AgentCapability::new(
        message_types::ANALYZE_SENTIMENT,
        "Scores the sentiment of texts: compound in -1..1 and the shares of positive, negative and neutral words",
        &["texts"],
        &[message_types::SENTIMENT_ANALYZED],
    )]
}

impl Agent for PatternAnalyzer {
    fn description(&self) -> String {
        "Mneme pattern analyzer: sentiment of what a person writes".to_owned()
    }

    fn capabilities(&self) -> Vec<AgentCapability> {
        capabilities()
    }

    async fn handle(&self, request: Request) -> Result<Reply, HandlerError> {
        match request.message_type() {
            message_types::ANALYZE_SENTIMENT => {
                let analyzed = self.analyze_sentiment(&request.payload()?)?;
                Ok(Reply::new(message_types::SENTIMENT_ANALYZED, analyzed))
            }
            other => Err(HandlerError::internal(format!("`{other}` is advertised but has no handler"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mneme_protocol::{AgentMessage, Encoding};

    fn request(payload: serde_json::Value) -> Request {
        Request { message: AgentMessage::new("analyze_sentiment", payload), encoding: Encoding::MessagePack }
    }

    #[tokio::test]
    async fn scores_every_text_in_order() {
        let analyzer = PatternAnalyzer::new(AnalyzerSettings::default());
        let reply = analyzer
            .handle(request(serde_json::json!({"texts": ["What a lovely day!", "I hate queues.", ""]})))
            .await
            .unwrap();
        let tree = reply.payload_tree().unwrap();
        assert!(tree["scores"][0]["compound"].as_f64().unwrap() > 0.5);
        assert!(tree["scores"][1]["compound"].as_f64().unwrap() < -0.3);
        assert_eq!(tree["scores"][2]["compound"], 0.0);
    }

    #[tokio::test]
    async fn oversized_requests_are_refused() {
        let analyzer = PatternAnalyzer::new(AnalyzerSettings { max_texts: 2, ..AnalyzerSettings::default() });
        let error = analyzer.handle(request(serde_json::json!({"texts": ["a", "b", "c"]}))).await.unwrap_err();
        assert_eq!(error.code, ErrorCode::PayloadTooLarge);
        let error = analyzer.handle(request(serde_json::json!({"texts": 3}))).await.unwrap_err();
        assert_eq!(error.code, ErrorCode::BadRequest);
    }
}
