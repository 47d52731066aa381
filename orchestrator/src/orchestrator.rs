//! The seed's `AgentOrchestrator` over NATS: request-reply to any agent, events to all or chosen agent
//! types, and the system's status from discovery plus each instance's own metrics.

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::Client;
use serde::Serialize;

use mneme_protocol::orchestrator::{BroadcastSent, InstanceStatus, SystemStatus};
use mneme_protocol::stats::StatsResponse;
use mneme_protocol::{AgentMessage, AgentState, AgentType, ComponentId, ComponentKind, builtin};
use mneme_runtime::events::{self, Audience, PublishEventError};
use mneme_runtime::{CallError, CallOptions, Caller, Target};

use crate::discovery::{self, DiscoveryError, DiscoveryWindow, ServiceInstance};

/// Talks to the agents as one sender (an orchestrator instance, or the CLI).
#[derive(Debug, Clone)]
pub struct Orchestrator {
    client: Client,
    caller: Caller,
    sender_id: String,
    discovery: DiscoveryWindow,
    stats_timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
}

impl Orchestrator {
    pub fn new(client: Client, sender_id: &str, request_timeout: Duration) -> Self {
        Orchestrator {
            caller: Caller::new(client.clone(), sender_id, request_timeout),
            client,
            sender_id: sender_id.to_owned(),
            discovery: DiscoveryWindow::default(),
            stats_timeout: Duration::from_secs(2),
        }
    }

    pub fn with_discovery_window(mut self, window: DiscoveryWindow) -> Self {
        self.discovery = window;
        self
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Who this orchestrator speaks as: its instance id, or the CLI's name.
    pub fn sender_id(&self) -> &str {
        &self.sender_id
    }

    /// Request-reply with any instance of `agent` (the queue group picks one); retries while no instance
    /// is serving, within the timeout.
    pub async fn send<P: Serialize>(
        &self,
        agent: AgentType,
        message_type: &str,
        payload: &P,
        options: &CallOptions,
    ) -> Result<AgentMessage, CallError> {
        self.caller.call(&Target::AnyOf(ComponentKind::Agent(agent)), message_type, payload, options).await
    }

    /// Request-reply with exactly one instance.
    pub async fn send_to<P: Serialize>(
        &self,
        instance: &ComponentId,
        message_type: &str,
        payload: &P,
        options: &CallOptions,
    ) -> Result<AgentMessage, CallError> {
        self.caller.call(&Target::Instance(instance.clone()), message_type, payload, options).await
    }

    /// Publishes event `event_type` to every listener, or only to instances of `agent_types`.
    pub async fn broadcast<P: Serialize>(
        &self,
        event_type: &str,
        payload: &P,
        agent_types: Option<&[AgentType]>,
    ) -> Result<BroadcastSent, PublishEventError> {
        let audience = match agent_types {
            Some(types) => Audience::AgentTypes(types.to_vec()),
            None => Audience::Everyone,
        };
        let (event_id, subjects) =
            events::publish(&self.client, &self.sender_id, event_type, payload, &audience).await?;
        Ok(BroadcastSent { event_id, subjects })
    }

    /// Every running instance.
    pub async fn discover(&self, kind: Option<ComponentKind>) -> Result<Vec<ServiceInstance>, DiscoveryError> {
        discovery::discover(&self.client, kind, self.discovery).await
    }

    /// The seed's `get_system_status`: who is running, in which state, with which metrics.
    pub async fn system_status(&self) -> Result<SystemStatus, StatusError> {
        let instances = self.discover(None).await?;
        let options =
            CallOptions { timeout: Some(self.stats_timeout), retry_no_responders: false, ..Default::default() };
        let statuses = futures::future::join_all(instances.iter().map(|instance| async {
            let reply = self.send_to(&instance.id, builtin::GET_STATS, &serde_json::json!({}), &options).await;
            let capabilities = instance.capabilities.iter().map(|capability| capability.name.clone()).collect();
            let stats = reply.and_then(|reply| {
                reply.payload_as::<StatsResponse>().map(|response| response.stats).map_err(|error| {
                    CallError::BadReply { subject: instance.id.to_string(), reason: error.to_string() }
                })
            });
            match stats {
                Ok(stats) => InstanceStatus {
                    agent_id: instance.id.to_string(),
                    agent_type: instance.kind.to_string(),
                    version: instance.version.clone(),
                    state: stats.state,
                    stats: Some(stats),
                    capabilities,
                    error: None,
                },
                // It answered discovery but not its own stats: alive, and not serving.
                Err(error) => InstanceStatus {
                    agent_id: instance.id.to_string(),
                    agent_type: instance.kind.to_string(),
                    version: instance.version.clone(),
                    state: AgentState::Error,
                    stats: None,
                    capabilities,
                    error: Some(error.to_string()),
                },
            }
        }))
        .await;

        let (orchestrators, agents): (Vec<InstanceStatus>, Vec<InstanceStatus>) =
            statuses.into_iter().partition(|status| status.agent_type == ComponentKind::Orchestrator.as_str());
        let mut instances_by_type: BTreeMap<String, usize> =
            AgentType::ALL.iter().map(|agent| (agent.as_str().to_owned(), 0)).collect();
        for status in &agents {
            *instances_by_type.entry(status.agent_type.clone()).or_default() += 1;
        }
        let active_agents =
            agents.iter().filter(|status| matches!(status.state, AgentState::Active | AgentState::Busy)).count();
        Ok(SystemStatus { total_agents: agents.len(), active_agents, instances_by_type, agents, orchestrators })
    }
}
