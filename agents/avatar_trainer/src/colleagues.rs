//! What the avatar trainer asks of other agents: sentiment from the pattern analyzer, the owner's own words
//! from the insight generator's recall (which the guardian's decisions already shape), and the shareable form
//! of a text from the guardian before anything leaves for a language model.

use std::future::Future;

use mneme_protocol::guardian::{RedactRequest, Redacted, RedactionMode};
use mneme_protocol::insights::{SearchFilters, SearchHit, SearchRequest, SearchResults};
use mneme_protocol::{AgentType, ComponentKind};
use mneme_runtime::HandlerError;
use mneme_runtime::call::{CallError, CallOptions, Caller, Target, colleague_failed};

pub trait Colleagues: Send + Sync + 'static {
    /// Compound sentiment of `text`, -1..1.
    fn sentiment(&self, text: &str) -> impl Future<Output = Result<f64, HandlerError>> + Send;
    /// The owner's own memories that best answer `prompt`, as `principal` may see them.
    fn own_words(
        &self,
        principal: &str,
        owner: &str,
        prompt: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<SearchHit>, HandlerError>> + Send;
    /// `text` with personal information replaced by the owner's stand-ins, as it may leave their trust boundary.
    fn shareable(&self, owner: &str, text: &str) -> impl Future<Output = Result<String, HandlerError>> + Send;
}

#[derive(Debug, Clone)]
/// The other agents over NATS; sentiment questions of concurrent requests go in batches.
pub struct AgentColleagues(pub Caller, pub mneme_runtime::sentiment::Sentiment);

/// A refusal passes through as it is (the principal may not read the owner's memories); anything else is the
/// colleague's failure.
fn failed(agent: AgentType, error: CallError) -> HandlerError {
    match error {
        CallError::Remote { error, .. } if !error.recoverable => {
            let code =
                mneme_protocol::ErrorCode::from_kind(&error.kind).unwrap_or(mneme_protocol::ErrorCode::BadRequest);
            HandlerError::new(code, error.error)
        }
        error => colleague_failed(agent, error),
    }
}

impl Colleagues for AgentColleagues {
    async fn sentiment(&self, text: &str) -> Result<f64, HandlerError> {
        self.1.compound(text).await
    }

    async fn own_words(
        &self,
        principal: &str,
        owner: &str,
        prompt: &str,
        limit: usize,
    ) -> Result<Vec<SearchHit>, HandlerError> {
        let request = SearchRequest {
            principal: principal.to_owned(),
            owner: owner.to_owned(),
            query: prompt.to_owned(),
            limit: Some(limit),
            filters: SearchFilters { own_words_only: true, ..SearchFilters::default() },
        };
        let target = Target::AnyOf(ComponentKind::Agent(AgentType::InsightGenerator));
        let reply = self
            .0
            .call(&target, mneme_protocol::insights::message_types::SEARCH, &request, &CallOptions::default())
            .await
            .map_err(|error| failed(AgentType::InsightGenerator, error))?;
        let results: SearchResults = reply.payload_as().map_err(|error| HandlerError::internal(error.to_string()))?;
        Ok(results.results)
    }

    async fn shareable(&self, owner: &str, text: &str) -> Result<String, HandlerError> {
        let request = RedactRequest {
            text: text.to_owned(),
            mode: RedactionMode::Pseudonym,
            owner: Some(owner.to_owned()),
            entity_types: None,
            min_score: None,
        };
        let target = Target::AnyOf(ComponentKind::Agent(AgentType::PrivacyGuardian));
        let reply = self
            .0
            .call(&target, mneme_protocol::guardian::message_types::REDACT, &request, &CallOptions::default())
            .await
            .map_err(|error| failed(AgentType::PrivacyGuardian, error))?;
        let redacted: Redacted = reply.payload_as().map_err(|error| HandlerError::internal(error.to_string()))?;
        Ok(redacted.text)
    }
}
