//! Payloads of the pattern analyzer: `analyze_sentiment`.

use serde::{Deserialize, Serialize};

pub mod message_types {
    pub const ANALYZE_SENTIMENT: &str = "analyze_sentiment";
    pub const SENTIMENT_ANALYZED: &str = "sentiment_analyzed";
}

/// `analyze_sentiment`: texts to score, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyzeSentimentRequest {
    pub texts: Vec<String>,
}

/// One text's sentiment: `compound` in -1..1, and the shares of positive, negative and neutral words.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SentimentScore {
    pub compound: f64,
    pub positive: f64,
    pub negative: f64,
    pub neutral: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentimentAnalyzed {
    /// One per text, in the order of the request.
    pub scores: Vec<SentimentScore>,
}
