//! The orchestrator as a process: a NATS service of its own (`mneme.orchestrator.*`) that answers
//! `system_status`, `get_health`, `collaborate`, `broadcast` and the pipeline endpoints for clients in any
//! language, works the ingest stream, takes pipeline runs and watches the system's health.

use std::future::Future;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mneme_protocol::orchestrator::{
    BroadcastRequest, CollaborateRequest, HealthThresholds, PerformanceReportRequest, message_types,
};
use mneme_protocol::pipelines::{
    self, PipelineRuns, PipelineStarted, PipelineStatusRequest, Pipelines, RunPipelineRequest,
};
use mneme_protocol::{AgentCapability, ComponentId, ComponentKind, ErrorCode};
use mneme_runtime::{Agent, HandlerError, Reply, Request, ServeError};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::analytics::{AnalyticsError, MetricsHistory};
use crate::balancing::Balancer;
use crate::discovery::ServiceInstance;
use crate::health::HealthMonitor;
use crate::ingest::IngestWorker;
use crate::orchestrator::Orchestrator;
use crate::pipelines::{PipelineError, PipelineRunner, RunStore};
use crate::settings::{DeclaredPipelines, Settings};

pub struct OrchestratorService {
    orchestrator: Orchestrator,
    balancer: Arc<Balancer>,
    thresholds: HealthThresholds,
    /// Instances discovery found lately, with when: a stalled instance answers no discovery, and a
    /// collaboration must still count it (and find it silent) rather than forget what it offers.
    seen: std::sync::Mutex<HashMap<ComponentId, (ServiceInstance, Instant)>>,
    declared: DeclaredPipelines,
    /// Absent when the runs' bucket and queue could not be opened; the pipeline endpoints then say so.
    runs: Option<RunStore>,
}

/// How long an instance that stopped answering discovery still counts as offering its capabilities.
const REMEMBERED: Duration = Duration::from_secs(60);

impl OrchestratorService {
    pub fn new(
        orchestrator: Orchestrator,
        thresholds: HealthThresholds,
        declared: DeclaredPipelines,
        runs: Option<RunStore>,
    ) -> Self {
        let balancer = Balancer::new(orchestrator.clone(), Duration::from_secs(2));
        OrchestratorService { orchestrator, balancer, thresholds, seen: std::sync::Mutex::default(), declared, runs }
    }

    fn runs(&self) -> Result<&RunStore, HandlerError> {
        self.runs
            .as_ref()
            .ok_or_else(|| HandlerError::unavailable("pipeline runs cannot be kept: JetStream is not available"))
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
            message_types::PERFORMANCE_REPORT,
            "The seed's performance report of each instance over a time range, graded A to D, from the metrics history",
            &["agent_id", "agent_type", "time_range_secs"],
            &[message_types::PERFORMANCE_REPORTS],
        ),
        AgentCapability::new(
            pipelines::message_types::RUN_PIPELINE,
            "Start a run of a declared pipeline; it survives the orchestrator instance that runs it",
            &["pipeline", "input"],
            &[pipelines::message_types::PIPELINE_STARTED],
        ),
        AgentCapability::new(
            pipelines::message_types::PIPELINE_STATUS,
            "A pipeline run's state with each step's attempts, timings and reply, or the latest runs",
            &["run_id"],
            &[pipelines::message_types::PIPELINE_RUNS],
        ),
        AgentCapability::new(
            pipelines::message_types::LIST_PIPELINES,
            "The pipelines declared in the orchestrator's settings",
            &[],
            &[pipelines::message_types::PIPELINES],
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
        "Mneme orchestrator: discovery, system status, health, broadcast, collaboration and pipelines".to_owned()
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
            message_types::PERFORMANCE_REPORT => {
                let asked: PerformanceReportRequest = request.payload()?;
                let jetstream = async_nats::jetstream::new(self.orchestrator.client().clone());
                let reports = crate::analytics::reports(&jetstream, &asked).await.map_err(|error| match error {
                    AnalyticsError::BadRange(_) => HandlerError::bad_request(error.to_string()),
                    AnalyticsError::NoHistory => HandlerError::new(ErrorCode::NotFound, error.to_string()),
                    AnalyticsError::JetStream(_) => HandlerError::unavailable(error.to_string()),
                })?;
                Ok(Reply::new(message_types::PERFORMANCE_REPORTS, reports))
            }
            pipelines::message_types::RUN_PIPELINE => {
                let start: RunPipelineRequest = request.payload()?;
                let definition = self.declared.0.get(&start.pipeline).ok_or_else(|| {
                    HandlerError::new(ErrorCode::NotFound, PipelineError::Unknown(start.pipeline.clone()).to_string())
                })?;
                if start.deadline_ms == Some(0) {
                    return Err(HandlerError::bad_request("deadline_ms must be positive"));
                }
                let run = self
                    .runs()?
                    .start(&start.pipeline, definition, start.input, start.deadline_ms)
                    .await
                    .map_err(pipeline_failed)?;
                Ok(Reply::new(pipelines::message_types::PIPELINE_STARTED, PipelineStarted { run_id: run.run_id }))
            }
            pipelines::message_types::PIPELINE_STATUS => {
                let asked: PipelineStatusRequest = request.payload()?;
                let runs = match asked.run_id {
                    Some(run_id) => vec![self.runs()?.get(&run_id).await.map_err(pipeline_failed)?],
                    None => self.runs()?.latest(asked.limit.unwrap_or(20).min(1_000)).await.map_err(pipeline_failed)?,
                };
                Ok(Reply::new(pipelines::message_types::PIPELINE_RUNS, PipelineRuns { runs }))
            }
            pipelines::message_types::LIST_PIPELINES => {
                let declared = Pipelines { pipelines: self.declared.0.clone() };
                Ok(Reply::new(pipelines::message_types::PIPELINES, declared))
            }
            other => Err(HandlerError::internal(format!("`{other}` is advertised but has no handler"))),
        }
    }
}

fn pipeline_failed(error: PipelineError) -> HandlerError {
    match error {
        PipelineError::Unknown(_) | PipelineError::NoSuchRun(_) => {
            HandlerError::new(ErrorCode::NotFound, error.to_string())
        }
        PipelineError::BadRunId(_) => HandlerError::bad_request(error.to_string()),
        PipelineError::Encode(_) => HandlerError::new(ErrorCode::PayloadTooLarge, error.to_string()),
        PipelineError::Kv(_) | PipelineError::JetStream(_) => HandlerError::unavailable(error.to_string()),
    }
}

/// Serves the orchestrator, and works the ingest stream when `ingest.enabled`, until `shutdown` resolves.
pub async fn run(settings: Settings, shutdown: impl Future<Output = ()> + Send) -> Result<(), ServeError> {
    let request_timeout = settings.runtime.nats.request_timeout();
    let window = settings.orchestrator.discovery_window();
    let ingest = settings.ingest.clone();
    let health = settings.health.clone();
    let declared = settings.pipelines.clone();
    let analytics = settings.analytics.clone();
    let pipeline_runs = settings.pipeline_runs.clone();
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
                            let monitor = if analytics.enabled {
                                let jetstream = async_nats::jetstream::new(orchestrator.client().clone());
                                match MetricsHistory::open(jetstream, analytics.clone()).await {
                                    Ok(history) => monitor.recording(history),
                                    Err(error) => {
                                        tracing::error!(%error, "The metrics history cannot be kept.");
                                        monitor
                                    }
                                }
                            } else {
                                monitor
                            };
                            worker.spawn(monitor.run(stop.clone()));
                        }
                        Err(error) => tracing::error!(%error, "The health monitor cannot start."),
                    }
                }
                let runs = match RunStore::open(context.client.clone(), &pipeline_runs).await {
                    Ok(runs) => Some(runs),
                    Err(error) => {
                        tracing::error!(%error, "Pipeline runs cannot be kept.");
                        None
                    }
                };
                if let Some(runs) = runs.clone().filter(|_| pipeline_runs.enabled) {
                    // A connection of its own, as for ingest: steps' requests never queue behind replies.
                    let name = format!("{}-pipelines", context.id);
                    let (client, _) = mneme_runtime::connection::connect(&nats, &name).await?;
                    let runner_orchestrator = Orchestrator::new(client.clone(), context.id.as_str(), request_timeout)
                        .with_discovery_window(window);
                    let runner = PipelineRunner::new(runs, runner_orchestrator, pipeline_runs.clone());
                    let stop = stop.clone();
                    worker.spawn(async move {
                        if let Err(error) = runner.run(stop).await {
                            tracing::error!(%error, "Taking pipeline runs stopped.");
                        }
                        let _ = client.flush().await;
                        let _ = client.drain().await;
                    });
                }
                Ok::<_, mneme_runtime::connection::ConnectError>(OrchestratorService::new(
                    orchestrator,
                    health.thresholds(),
                    declared,
                    runs,
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
