//! The relationship mapper as an agent: `update_relationships` keeps each memory's people in the owner's
//! ledger; `get_relationships` and `get_person` build the picture from it, for principals the guardian lets
//! read derived results.

use std::future::Future;

use mneme_protocol::guardian::{DetectPiiRequest, PiiDetected, PiiEntityType};
use mneme_protocol::relationships::{
    GetIdentityRequest, GetPersonRequest, GetRelationshipsRequest, Identity, RelationshipsRecorded, SetIdentityRequest,
    UpdateRelationshipsRequest, event_types, message_types,
};
use mneme_protocol::{AgentCapability, AgentType, ComponentKind, ErrorCode};
use mneme_runtime::access::AccessCheck;
use mneme_runtime::call::{CallOptions, Caller, Target};
use mneme_runtime::events::Audience;
use mneme_runtime::ledger::Ledger;
use mneme_runtime::{Agent, Context, Event, EventSubscription, HandlerError, Reply, Request};

use crate::graph::{self, Analysis, analyze};
use crate::identity::{Identities, MAX_NAME_CHARS, MAX_NAMES};
use crate::people::resolve;
use crate::references::{Contact, references};
use crate::settings::MapperSettings;

/// What the mapper needs read from a text, by the agents whose work that is.
pub trait TextReading: Send + Sync + 'static {
    /// Byte ranges of people's names in `text`.
    fn names_in(&self, text: &str) -> impl Future<Output = Result<Vec<(usize, usize)>, HandlerError>> + Send;
    /// Compound sentiment of `text`, -1..1.
    fn sentiment(&self, text: &str) -> impl Future<Output = Result<f64, HandlerError>> + Send;
}

/// Names from the privacy guardian (the one judge of what is a person's name, so that what it redacts and
/// what the mapper finds agree), sentiment from the pattern analyzer.
#[derive(Debug, Clone)]
/// The other agents over NATS; sentiment questions of concurrent requests go in batches.
pub struct AgentsReading(pub Caller, pub mneme_runtime::sentiment::Sentiment);

impl TextReading for AgentsReading {
    async fn names_in(&self, text: &str) -> Result<Vec<(usize, usize)>, HandlerError> {
        let request = DetectPiiRequest {
            text: text.to_owned(),
            entity_types: Some(vec![PiiEntityType::Person]),
            min_score: None,
        };
        let target = Target::AnyOf(ComponentKind::Agent(AgentType::PrivacyGuardian));
        let reply = self
            .0
            .call(&target, mneme_protocol::guardian::message_types::DETECT_PII, &request, &CallOptions::default())
            .await
            .map_err(|error| mneme_runtime::call::colleague_failed(AgentType::PrivacyGuardian, error))?;
        let detected: PiiDetected = reply.payload_as().map_err(|error| HandlerError::internal(error.to_string()))?;
        // The guardian counts characters; the mapper slices bytes.
        let bytes: Vec<usize> = text.char_indices().map(|(at, _)| at).chain(std::iter::once(text.len())).collect();
        Ok(detected
            .entities
            .iter()
            .filter_map(|entity| Some((*bytes.get(entity.start)?, *bytes.get(entity.end)?)))
            .collect())
    }

    async fn sentiment(&self, text: &str) -> Result<f64, HandlerError> {
        self.1.compound(text).await
    }
}

#[derive(Debug)]
pub struct RelationshipMapper<L, A, T, I> {
    settings: MapperSettings,
    ledger: L,
    access: A,
    reading: T,
    identities: I,
    /// Where events go; none in tests without NATS.
    context: Option<Context>,
}

impl<L: Ledger<Contact>, A: AccessCheck, T: TextReading, I: Identities> RelationshipMapper<L, A, T, I> {
    pub fn new(
        settings: MapperSettings,
        ledger: L,
        access: A,
        reading: T,
        identities: I,
        context: Option<Context>,
    ) -> Self {
        RelationshipMapper { settings, ledger, access, reading, identities, context }
    }

    /// `read` of the analysis of `owner`'s people at `as_of`, once the guardian lets `principal` see it.
    async fn with_analysis<R>(
        &self,
        principal: &str,
        owner: &str,
        as_of: Option<&str>,
        also_me: &[String],
        read: impl FnOnce(&Analysis<'_>, Option<jiff::civil::Date>) -> R,
    ) -> Result<R, HandlerError> {
        self.access.check_derived(principal, owner).await?;
        let contacts = self.ledger.entries(owner).await?;
        let day = graph::as_of(as_of, &contacts);
        let also_me = self.own_names(owner, also_me).await?;
        Ok(read(&analyze(resolve(owner, &also_me, &contacts), day), day))
    }

    /// Every name the owner goes by: kept ones and those of the request.
    async fn own_names(&self, owner: &str, also_me: &[String]) -> Result<Vec<String>, HandlerError> {
        let mut names = self.identities.names(owner).await?;
        names.extend(also_me.iter().cloned());
        Ok(names)
    }

    pub async fn set_identity(&self, request: SetIdentityRequest) -> Result<Identity, HandlerError> {
        if request.principal != request.owner {
            return Err(HandlerError::new(
                ErrorCode::Forbidden,
                format!("only {} sets the names {} goes by", request.owner, request.owner),
            ));
        }
        let mut names: Vec<String> =
            request.names.iter().map(|name| name.trim().to_owned()).filter(|name| !name.is_empty()).collect();
        names.sort();
        names.dedup();
        if names.len() > MAX_NAMES || names.iter().any(|name| name.chars().count() > MAX_NAME_CHARS) {
            return Err(HandlerError::new(
                ErrorCode::PayloadTooLarge,
                format!("at most {MAX_NAMES} names of at most {MAX_NAME_CHARS} characters"),
            ));
        }
        self.identities.set(&request.owner, names.clone()).await?;
        Ok(Identity { owner: request.owner, names })
    }

    /// Takes one memory's people into its owner's ledger; a memory taken in before changes nothing.
    pub async fn update(&self, request: UpdateRelationshipsRequest) -> Result<RelationshipsRecorded, HandlerError> {
        let memory = request.memory;
        if memory.owner.trim().is_empty() || memory.id.trim().is_empty() {
            return Err(HandlerError::bad_request("the memory needs an owner and an id"));
        }
        if memory.text.len() > self.settings.max_text_bytes {
            return Err(HandlerError::new(
                ErrorCode::PayloadTooLarge,
                format!("the text has {} bytes, over the limit of {}", memory.text.len(), self.settings.max_text_bytes),
            ));
        }
        let (names, compound) =
            tokio::try_join!(self.reading.names_in(&memory.text), self.reading.sentiment(&memory.text))?;
        let people = references(&memory, &names);
        let names = people.iter().map(|reference| reference.name.clone()).collect();
        let contact = Contact { at: memory.occurred_at.clone(), compound, people };
        let recorded = self.ledger.record(&memory.owner, &memory.id, contact).await?;
        Ok(RelationshipsRecorded { owner: memory.owner, memory_id: memory.id, recorded, people: names })
    }
}

pub fn capabilities() -> Vec<AgentCapability> {
    vec![
        AgentCapability::new(
            message_types::UPDATE_RELATIONSHIPS,
            "Takes a stored memory's people (authors, participants, names, handles and kinship terms in the text) into its owner's relationships",
            &["processed_memory"],
            &[message_types::RELATIONSHIPS_RECORDED],
        )
        .with_dependencies(&[AgentType::PrivacyGuardian.as_str(), AgentType::PatternAnalyzer.as_str()]),
        AgentCapability::new(
            message_types::GET_RELATIONSHIPS,
            "An owner's people ranked by strength, with aliases, rhythm, sentiment, centrality, communities and drift alerts",
            &["principal", "owner"],
            &[message_types::RELATIONSHIPS],
        )
        .with_dependencies(&[AgentType::PrivacyGuardian.as_str()]),
        AgentCapability::new(
            message_types::SET_IDENTITY,
            "Keeps the other names, addresses and handles an owner goes by, so that they are never their own contact",
            &["principal", "owner", "names"],
            &[message_types::IDENTITY],
        ),
        AgentCapability::new(
            message_types::GET_IDENTITY,
            "The names an owner is kept as going by",
            &["principal", "owner"],
            &[message_types::IDENTITY],
        )
        .with_dependencies(&[AgentType::PrivacyGuardian.as_str()]),
        AgentCapability::new(
            message_types::GET_PERSON,
            "One person of an owner's life: their timeline, the memories they appear in, and whom they appear with",
            &["principal", "owner", "person"],
            &[message_types::PERSON],
        )
        .with_dependencies(&[AgentType::PrivacyGuardian.as_str()]),
    ]
}

impl<L: Ledger<Contact>, A: AccessCheck, T: TextReading, I: Identities> Agent for RelationshipMapper<L, A, T, I> {
    fn description(&self) -> String {
        "Mneme relationship mapper: the people in a person's memories and how they matter".to_owned()
    }

    fn capabilities(&self) -> Vec<AgentCapability> {
        capabilities()
    }

    fn event_subscriptions(&self) -> Vec<EventSubscription> {
        vec![mneme_runtime::ledger::forgetting()]
    }

    async fn on_event(&self, event: Event) -> Result<(), HandlerError> {
        let forgotten = mneme_runtime::ledger::forget_on(&self.ledger, &event).await?;
        if forgotten.memory_id.is_none() {
            self.identities.forget(&forgotten.owner).await?;
        }
        Ok(())
    }

    async fn handle(&self, request: Request) -> Result<Reply, HandlerError> {
        match request.message_type() {
            message_types::UPDATE_RELATIONSHIPS => {
                let recorded = self.update(request.payload()?).await?;
                if recorded.recorded
                    && let Some(context) = &self.context
                    && let Err(error) =
                        context.publish_event(event_types::RELATIONSHIPS_UPDATED, &recorded, &Audience::Everyone).await
                {
                    tracing::warn!(%error, "Announcing updated relationships failed.");
                }
                Ok(Reply::new(message_types::RELATIONSHIPS_RECORDED, recorded))
            }
            message_types::GET_RELATIONSHIPS => {
                let input: GetRelationshipsRequest = request.payload()?;
                let mentions_from =
                    input.mentions_from.as_deref().map(str::parse::<jiff::civil::Date>).transpose().map_err(
                        |error| HandlerError::bad_request(format!("mentions_from must be a day (YYYY-MM-DD): {error}")),
                    )?;
                let relationships = self
                    .with_analysis(
                        &input.principal,
                        &input.owner,
                        input.as_of.as_deref(),
                        &input.also_me,
                        |analysis, day| analysis.relationships(&input.owner, day, input.limit, mentions_from),
                    )
                    .await?;
                Ok(Reply::new(message_types::RELATIONSHIPS, relationships))
            }
            message_types::GET_PERSON => {
                let input: GetPersonRequest = request.payload()?;
                let person = self
                    .with_analysis(
                        &input.principal,
                        &input.owner,
                        input.as_of.as_deref(),
                        &input.also_me,
                        |analysis, _| analysis.person(&input.owner, &input.person),
                    )
                    .await?
                    .ok_or_else(|| {
                        HandlerError::new(
                            ErrorCode::NotFound,
                            format!("nobody called `{}` appears in {}'s memories", input.person, input.owner),
                        )
                    })?;
                Ok(Reply::new(message_types::PERSON, person))
            }
            message_types::SET_IDENTITY => {
                let identity = self.set_identity(request.payload()?).await?;
                Ok(Reply::new(message_types::IDENTITY, identity))
            }
            message_types::GET_IDENTITY => {
                let input: GetIdentityRequest = request.payload()?;
                self.access.check_derived(&input.principal, &input.owner).await?;
                let names = self.identities.names(&input.owner).await?;
                Ok(Reply::new(message_types::IDENTITY, Identity { owner: input.owner, names }))
            }
            other => Err(HandlerError::unhandled(other)),
        }
    }
}
