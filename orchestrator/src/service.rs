//! The orchestrator as a process: a NATS service of its own (`mneme.orchestrator.*`) that answers
//! `system_status`, `get_health`, `collaborate` and `broadcast` for clients in any language, works the ingest stream and
//! watches the system's health.

use std::future::Future;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mneme_protocol::orchestrator::{BroadcastRequest, CollaborateRequest, HealthThresholds, message_types};
use mneme_protocol::{AgentCapability, ComponentId, ComponentKind, ErrorCode};
use mneme_runtime::{Agent, HandlerError, Reply, Request, ServeError};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::balancing::Balancer;
use crate::discovery::ServiceInstance;
use crate::health::HealthMonitor;
use crate::ingest::IngestWorker;
use crate::orchestrator::Orchestrator;
use crate::settings::Settings;

pub struct OrchestratorService {
    orchestrator: Orchestrator,
    balancer: Arc<Balancer>,
    thresholds: HealthThresholds,
    /// Instances discovery found lately, with when: a stalled instance answers no discovery, and a
    /// collaboration must still count it (and find it silent) rather than forget what it offers.
    seen: std::sync::Mutex<HashMap<ComponentId, (ServiceInstance, Instant)>>,
}

/// How long an instance that stopped answering discovery still counts as offering its capabilities.
const REMEMBERED: Duration = Duration::from_secs(60);

impl OrchestratorService {
    pub fn new(orchestrator: Orchestrator, thresholds: HealthThresholds) -> Self {
        let balancer = Balancer::new(orchestrator.clone(), Duration::from_secs(2));
        OrchestratorService { orchestrator, balancer, thresholds, seen: std::sync::Mutex::default() }
    }

    /// What discovery finds now, and what it found within [`REMEMBERED`].
    async fn instances(&self) -> Result<Vec<ServiceInstance>, HandlerError> {
        let found =
            self.orchestrator.discover(None).await.map_err(|error| HandlerError::unavailable(error.to_string()))?;
        let now = Instant::now();
        let mut seen = self.seen.lock().expect("unpoisoned");
        for instance in found {
            seen.insert(instance.id.clone(), (instance, now));
        }
        seen.retain(|_, (_, at)| now.duration_since(*at) < REMEMBERED);
        Ok(seen.values().map(|(instance, _)| instance.clone()).collect())
    }
}

pub fn capabilities() -> Vec<AgentCapability> {
    vec![
        AgentCapability::new(
            message_types::SYSTEM_STATUS,
            "Report every running instance with its state, metrics and capabilities",
            &["system_status_request"],
            &[message_types::SYSTEM_STATUS_RESPONSE],
        ),
        AgentCapability::new(
            message_types::COLLABORATE,
            "Run a task in parts on the agents that advertise each part's capability, in parallel under one deadline, and synthesize the answers (merge, consensus, first good)",
            &["task", "subtasks"],
            &[message_types::COLLABORATION_RESULT],
        ),
        AgentCapability::new(
            message_types::GET_HEALTH,
            "Every instance's latest health against the alert thresholds (response time, error rate, queue size)",
            &[],
            &[message_types::HEALTH],
        ),
        AgentCapability::new(
            message_types::BROADCAST,
            "Publish an event to every agent or to chosen agent types",
            &["broadcast_request"],
            &[message_types::BROADCAST_SENT],
        ),
    ]
}

impl Agent for OrchestratorService {
    fn description(&self) -> String {
        "Mneme orchestrator: discovery, system status and broadcast".to_owned()
    }

    fn capabilities(&self) -> Vec<AgentCapability> {
        capabilities()
    }

    async fn handle(&self, request: Request) -> Result<Reply, HandlerError> {
        match request.message_type() {
            message_types::SYSTEM_STATUS => {
                let status = self
                    .orchestrator
                    .system_status()
                    .await
                    .map_err(|error| HandlerError::unavailable(error.to_string()))?;
                Ok(Reply::new(message_types::SYSTEM_STATUS_RESPONSE, status))
            }
            message_types::COLLABORATE => {
                let task: CollaborateRequest = request.payload()?;
                let instances = self.instances().await?;
                let result = crate::collaboration::collaborate(&self.balancer, &instances, task)
                    .await
                    .map_err(|error| HandlerError::bad_request(error.to_string()))?;
                Ok(Reply::new(message_types::COLLABORATION_RESULT, result))
            }
            message_types::GET_HEALTH => {
                let jetstream = async_nats::jetstream::new(self.orchestrator.client().clone());
                let health = crate::health::recorded(&jetstream, self.thresholds)
                    .await
                    .map_err(|error| HandlerError::unavailable(error.to_string()))?;
                Ok(Reply::new(message_types::HEALTH, health))
            }
            message_types::BROADCAST => {
                let broadcast: BroadcastRequest = request.payload()?;
                let payload = broadcast.payload.unwrap_or_else(|| serde_json::json!({}));
                let sent = self
                    .orchestrator
                    .broadcast(&broadcast.event_type, &payload, broadcast.agent_types.as_deref())
                    .await
                    .map_err(|error| match error {
                        mneme_runtime::events::PublishEventError::InvalidEventType(_) => {
                            HandlerError::new(ErrorCode::BadRequest, error.to_string())
                        }
                        other => HandlerError::unavailable(other.to_string()),
                    })?;
                Ok(Reply::new(message_types::BROADCAST_SENT, sent))
            }
            other => Err(HandlerError::internal(format!("`{other}` is advertised but has no handler"))),
        }
    }
}

/// Serves the orchestrator, and works the ingest stream when `ingest.enabled`, until `shutdown` resolves.
pub async fn run(settings: Settings, shutdown: impl Future<Output = ()> + Send) -> Result<(), ServeError> {
    let request_timeout = settings.runtime.nats.request_timeout();
    let window = settings.orchestrator.discovery_window();
    let ingest = settings.ingest.clone();
    let health = settings.health.clone();
    let nats = settings.runtime.nats.clone();
    let stop_ingest = CancellationToken::new();
    let worker = TaskTracker::new();
    let serving = mneme_runtime::run(
        ComponentKind::Orchestrator,
        settings.runtime,
        |context| {
            let stop = stop_ingest.clone();
            let worker = worker.clone();
            async move {
                if ingest.enabled {
                    // A connection of its own, so that ingest traffic never queues behind the service's replies.
                    let name = format!("{}-ingest", context.id);
                    let (client, _) = mneme_runtime::connection::connect(&nats, &name).await?;
                    let ingest_worker = IngestWorker::new(client.clone(), context.id.as_str(), ingest);
                    let stop = stop.clone();
                    worker.spawn(async move {
                        if let Err(error) = ingest_worker.run(stop).await {
                            tracing::error!(%error, "The ingest pipeline stopped.");
                        }
                        // Acknowledgements are queued in the client; flushing sends them before it closes.
                        let _ = client.flush().await;
                        let _ = client.drain().await;
                    });
                }
                let orchestrator = Orchestrator::new(context.client.clone(), context.id.as_str(), request_timeout)
                    .with_discovery_window(window);
                if health.enabled {
                    match HealthMonitor::open(orchestrator.clone(), health.clone()).await {
                        Ok(monitor) => {
                            worker.spawn(monitor.run(stop.clone()));
                        }
                        Err(error) => tracing::error!(%error, "The health monitor cannot start."),
                    }
                }
                Ok::<_, mneme_runtime::connection::ConnectError>(OrchestratorService::new(
                    orchestrator,
                    health.thresholds(),
                ))
            }
        },
        async {
            shutdown.await;
            // Intake of inputs (and health checks) stops with intake of requests; in-flight inputs finish first.
            stop_ingest.cancel();
        },
    );
    let outcome = serving.await;
    stop_ingest.cancel();
    worker.close();
    worker.wait().await;
    outcome
}
