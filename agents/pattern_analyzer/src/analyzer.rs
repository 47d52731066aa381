//! The pattern analyzer as an agent: `analyze_sentiment` over [`crate::sentiment`]; `analyze_patterns` and
//! `get_patterns` over [`crate::patterns`], with reads of derived results decided by the privacy guardian.

use mneme_protocol::patterns::{
    AnalyzePatternsRequest, AnalyzeSentimentRequest, GetPatternsRequest, PatternsAnalyzed, SentimentAnalyzed,
    SentimentScore, event_types, message_types,
};
use mneme_protocol::{AgentCapability, AgentType, ErrorCode};
use mneme_runtime::access::AccessCheck;
use mneme_runtime::events::Audience;
use mneme_runtime::pool::CpuPool;
use mneme_runtime::{Agent, Context, Event, EventSubscription, HandlerError, Reply, Request};

use mneme_runtime::ledger::Ledger;

use crate::patterns::{Observation, observe, report};
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
pub struct PatternAnalyzer<S, A> {
    settings: AnalyzerSettings,
    store: S,
    access: A,
    /// Where events go; none in tests without NATS.
    context: Option<Context>,
    /// Where large batches are scored, off the async workers.
    pool: CpuPool,
}

impl<S: Ledger<Observation>, A: AccessCheck> PatternAnalyzer<S, A> {
    pub fn new(settings: AnalyzerSettings, store: S, access: A, context: Option<Context>) -> Self {
        let pool = context.as_ref().map_or_else(CpuPool::default, Context::cpu_pool);
        PatternAnalyzer { settings, store, access, context, pool }
    }

    /// Takes one memory into its owner's patterns; a memory taken in before changes nothing.
    pub async fn analyze_patterns(&self, request: AnalyzePatternsRequest) -> Result<PatternsAnalyzed, HandlerError> {
        let memory = request.memory;
        if memory.owner.trim().is_empty() || memory.id.trim().is_empty() {
            return Err(HandlerError::bad_request("the memory needs an owner and an id"));
        }
        let recorded = self.store.record(&memory.owner, &memory.id, observe(&memory)).await?;
        Ok(PatternsAnalyzed { owner: memory.owner, memory_id: memory.id, recorded })
    }

    pub async fn analyze_sentiment(&self, request: AnalyzeSentimentRequest) -> Result<SentimentAnalyzed, HandlerError> {
        let limit = self.settings.max_texts;
        if request.texts.len() > limit {
            return Err(AnalyzerError::TooManyTexts { count: request.texts.len(), limit }.into());
        }
        let limit = self.settings.max_text_bytes;
        if let Some((index, text)) = request.texts.iter().enumerate().find(|(_, text)| text.len() > limit) {
            return Err(AnalyzerError::TextTooLong { index, size: text.len(), limit }.into());
        }
        let size = request.texts.iter().map(String::len).sum();
        let texts = request.texts;
        let scores = self
            .pool
            .run(size, move || {
                texts
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
                    .collect()
            })
            .await?;
        Ok(SentimentAnalyzed { scores })
    }
}

pub fn capabilities() -> Vec<AgentCapability> {
    vec![
        AgentCapability::new(
            message_types::ANALYZE_SENTIMENT,
            "Scores the sentiment of texts: compound in -1..1 and the shares of positive, negative and neutral words",
            &["texts"],
            &[message_types::SENTIMENT_ANALYZED],
        ),
        AgentCapability::new(
            message_types::ANALYZE_PATTERNS,
            "Takes a stored memory into its owner's patterns (rhythms, streaks and gaps, mood)",
            &["processed_memory"],
            &[message_types::PATTERNS_ANALYZED],
        )
        .with_dependencies(&[AgentType::MemoryHarvester.as_str()]),
        AgentCapability::new(
            message_types::GET_PATTERNS,
            "An owner's patterns: activity by hour, weekday and month, streaks and gaps, daily mood with its baseline and shifts",
            &["principal", "owner"],
            &[message_types::PATTERNS],
        )
        .with_dependencies(&[AgentType::PrivacyGuardian.as_str()]),
    ]
}

impl<S: Ledger<Observation>, A: AccessCheck> Agent for PatternAnalyzer<S, A> {
    fn description(&self) -> String {
        "Mneme pattern analyzer: sentiment, rhythms, mood, topics and habits of what a person writes".to_owned()
    }

    fn capabilities(&self) -> Vec<AgentCapability> {
        capabilities()
    }

    fn event_subscriptions(&self) -> Vec<EventSubscription> {
        vec![mneme_runtime::ledger::forgetting()]
    }

    async fn on_event(&self, event: Event) -> Result<(), HandlerError> {
        mneme_runtime::ledger::forget_on(&self.store, &event).await.map(|_| ())
    }

    async fn handle(&self, request: Request) -> Result<Reply, HandlerError> {
        match request.message_type() {
            message_types::ANALYZE_SENTIMENT => {
                let analyzed = self.analyze_sentiment(request.payload()?).await?;
                Ok(Reply::new(message_types::SENTIMENT_ANALYZED, analyzed))
            }
            message_types::ANALYZE_PATTERNS => {
                let analyzed = self.analyze_patterns(request.payload()?).await?;
                if analyzed.recorded
                    && let Some(context) = &self.context
                    && let Err(error) =
                        context.publish_event(event_types::PATTERNS_UPDATED, &analyzed, &Audience::Everyone).await
                {
                    tracing::warn!(%error, "Announcing updated patterns failed.");
                }
                Ok(Reply::new(message_types::PATTERNS_ANALYZED, analyzed))
            }
            message_types::GET_PATTERNS => {
                let input: GetPatternsRequest = request.payload()?;
                self.access.check_derived(&input.principal, &input.owner).await?;
                let observations = self.store.entries(&input.owner).await?;
                Ok(Reply::new(message_types::PATTERNS, report(&input.owner, &observations)))
            }
            other => Err(HandlerError::unhandled(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mneme_protocol::{AgentMessage, Encoding};
    use mneme_runtime::access::OwnerOnly;
    use mneme_runtime::ledger::MemoryLedger;

    fn request(payload: serde_json::Value) -> Request {
        Request { message: AgentMessage::new("analyze_sentiment", payload), encoding: Encoding::MessagePack }
    }

    fn analyzer(settings: AnalyzerSettings) -> PatternAnalyzer<MemoryLedger<Observation>, OwnerOnly> {
        PatternAnalyzer::new(settings, MemoryLedger::default(), OwnerOnly, None)
    }

    fn memory(id: &str, at: &str, text: &str) -> serde_json::Value {
        serde_json::json!({"memory": {
            "id": id, "owner": "ann", "source": null, "text": text,
            "language": {"code": "eng", "name": "English", "confidence": 1.0, "reliable": true},
            "word_count": 3, "occurred_at": at, "processed_at": at, "content_hash": "00",
            "quality": {"score": 1.0, "acceptable": true, "reasons": []}, "is_duplicate": false, "duplicate_of": null
        }})
    }

    #[tokio::test]
    async fn patterns_take_each_memory_once_and_only_the_owner_reads_them() {
        let analyzer = analyzer(AnalyzerSettings::default());
        for (id, at, text) in [
            ("m1", "2024-05-06T07:10:00Z", "A lovely run by the river"),
            ("m2", "2024-05-07T07:20:00Z", "Tired, but the run was good"),
            ("m1", "2024-05-06T07:10:00Z", "A lovely run by the river"),
        ] {
            analyzer.handle(request_of("analyze_patterns", memory(id, at, text))).await.unwrap();
        }
        let reply = analyzer
            .handle(request_of("get_patterns", serde_json::json!({"principal": "ann", "owner": "ann"})))
            .await
            .unwrap();
        let tree = reply.payload_tree().unwrap();
        assert_eq!(tree["memories"], 2, "a redelivered memory counts once");
        assert_eq!(tree["rhythms"]["peak_hour"], 7);
        let denied = analyzer
            .handle(request_of("get_patterns", serde_json::json!({"principal": "bob", "owner": "ann"})))
            .await
            .unwrap_err();
        assert_eq!(denied.code, ErrorCode::Forbidden);
    }

    fn request_of(message_type: &str, payload: serde_json::Value) -> Request {
        let mut message = AgentMessage::new(message_type, payload);
        message.message_type = message_type.to_owned();
        Request { message, encoding: Encoding::MessagePack }
    }

    #[tokio::test]
    async fn scores_every_text_in_order() {
        let analyzer = analyzer(AnalyzerSettings::default());
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
        let analyzer = analyzer(AnalyzerSettings { max_texts: 2, ..AnalyzerSettings::default() });
        let error = analyzer.handle(request(serde_json::json!({"texts": ["a", "b", "c"]}))).await.unwrap_err();
        assert_eq!(error.code, ErrorCode::PayloadTooLarge);
        let error = analyzer.handle(request(serde_json::json!({"texts": 3}))).await.unwrap_err();
        assert_eq!(error.code, ErrorCode::BadRequest);
    }
}
