//! The agents a digest asks for their part (the seed's collaboration pattern): the pattern analyzer for mood
//! and habits, the relationship mapper for people and drift, the avatar trainer for the owner's voice. Each
//! is asked at once, with one deadline; what is not there by then is a missing part, not a failure.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use mneme_protocol::avatar::{GetPersonaRequest, Persona};
use mneme_protocol::patterns::{GetPatternsRequest, Patterns};
use mneme_protocol::relationships::{GetRelationshipsRequest, Relationships};
use mneme_protocol::{AgentType, ComponentKind};
use mneme_runtime::call::{CallOptions, Caller, Target};

pub trait Colleagues: Send + Sync + 'static {
    /// The owner's patterns, or why they could not be had within `deadline`.
    fn patterns(
        &self,
        principal: &str,
        owner: &str,
        deadline: Duration,
    ) -> impl Future<Output = Result<Patterns, String>> + Send;
    /// The owner's people reckoned at `as_of` (`YYYY-MM-DD`), each with the memories that speak of them from
    /// `mentions_from` on, or why they could not be had within `deadline`.
    fn relationships(
        &self,
        principal: &str,
        owner: &str,
        as_of: &str,
        mentions_from: &str,
        deadline: Duration,
    ) -> impl Future<Output = Result<Relationships, String>> + Send;
    /// The owner's persona over the days `from..=to` (`YYYY-MM-DD`) and over everything, or why they could not
    /// be had within `deadline`.
    fn voice(
        &self,
        principal: &str,
        owner: &str,
        from: &str,
        to: &str,
        deadline: Duration,
    ) -> impl Future<Output = Result<Voice, String>> + Send;
}

/// The owner's persona in a period, and overall.
#[derive(Debug, Clone)]
pub struct Voice {
    pub period: Persona,
    pub usual: Persona,
}

/// The running agents, over NATS.
#[derive(Debug, Clone)]
pub struct AgentColleagues(pub Caller);

impl AgentColleagues {
    async fn ask<P: Serialize + Sync, R: DeserializeOwned>(
        &self,
        agent: AgentType,
        message_type: &str,
        payload: &P,
        deadline: Duration,
    ) -> Result<R, String> {
        let options = CallOptions { timeout: Some(deadline), ..CallOptions::default() };
        let reply = self
            .0
            .call(&Target::AnyOf(ComponentKind::Agent(agent)), message_type, payload, &options)
            .await
            .map_err(|error| error.to_string())?;
        reply.payload_as().map_err(|error| error.to_string())
    }
}

impl Colleagues for AgentColleagues {
    async fn patterns(&self, principal: &str, owner: &str, deadline: Duration) -> Result<Patterns, String> {
        let request = GetPatternsRequest { principal: principal.to_owned(), owner: owner.to_owned() };
        self.ask(AgentType::PatternAnalyzer, mneme_protocol::patterns::message_types::GET_PATTERNS, &request, deadline)
            .await
    }

    async fn relationships(
        &self,
        principal: &str,
        owner: &str,
        as_of: &str,
        mentions_from: &str,
        deadline: Duration,
    ) -> Result<Relationships, String> {
        let request = GetRelationshipsRequest {
            principal: principal.to_owned(),
            owner: owner.to_owned(),
            limit: None,
            as_of: Some(as_of.to_owned()),
            also_me: Vec::new(),
            mentions_from: Some(mentions_from.to_owned()),
        };
        let message_type = mneme_protocol::relationships::message_types::GET_RELATIONSHIPS;
        self.ask(AgentType::RelationshipMapper, message_type, &request, deadline).await
    }

    async fn voice(
        &self,
        principal: &str,
        owner: &str,
        from: &str,
        to: &str,
        deadline: Duration,
    ) -> Result<Voice, String> {
        let request = |from: Option<&str>, until: Option<&str>| GetPersonaRequest {
            principal: principal.to_owned(),
            owner: owner.to_owned(),
            from: from.map(str::to_owned),
            until: until.map(str::to_owned),
            version: None,
        };
        let message_type = mneme_protocol::avatar::message_types::GET_PERSONA;
        let (in_period, overall) = (request(Some(from), Some(to)), request(None, None));
        let (period, usual) = tokio::try_join!(
            self.ask(AgentType::AvatarTrainer, message_type, &in_period, deadline),
            self.ask(AgentType::AvatarTrainer, message_type, &overall, deadline),
        )?;
        Ok(Voice { period, usual })
    }
}

/// Nobody to ask: every part is missing. For tests of the agent's logic without NATS.
#[derive(Debug, Clone, Copy)]
pub struct NoColleagues;

impl Colleagues for NoColleagues {
    async fn patterns(&self, _principal: &str, _owner: &str, _deadline: Duration) -> Result<Patterns, String> {
        Err("no pattern analyzer in this process".to_owned())
    }

    async fn relationships(
        &self,
        _principal: &str,
        _owner: &str,
        _as_of: &str,
        _mentions_from: &str,
        _deadline: Duration,
    ) -> Result<Relationships, String> {
        Err("no relationship mapper in this process".to_owned())
    }

    async fn voice(&self, _: &str, _: &str, _: &str, _: &str, _deadline: Duration) -> Result<Voice, String> {
        Err("no avatar trainer in this process".to_owned())
    }
}
