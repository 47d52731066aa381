//! Serving an [`Agent`] as a NATS service: discovery through `$SRV`, requests in the kind's queue group and on
//! the instance's own subjects, bounded concurrency, typed errors, metrics, and an orderly stop.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_nats::service::{self, ServiceExt};
use async_nats::{HeaderMap, Subscriber};
use futures::{FutureExt, StreamExt};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use mneme_protocol::polls::RequestHead;
use mneme_protocol::stats::{
    AdaptationState, Adjustment, CapabilitiesResponse, Feedback, FeedbackReceived, StatsRequest, StatsResponse,
};
use mneme_protocol::subjects::{self, headers};
use mneme_protocol::{
    AgentCapability, AgentMessage, AgentState, AgentStats, ComponentId, ComponentKind, Encoding, ErrorCode, ReplyTo,
    SCHEMA_VERSION, builtin,
};

use crate::adaptation::{Learner, adjusted_concurrency};
use crate::admission::AdmissionGate;
use crate::agent::{Agent, Context, Event, EventDelivery, HandlerError, Reply, Request};
use crate::connection::{self, ConnectError, ConnectionHealth};
use crate::contention::Preemptions;
use crate::metrics::{Metrics, Outcome};
use crate::settings::{RuntimeSettings, ServiceSettings};
use crate::trace_context;

/// The version every Mneme service reports in `$SRV.INFO`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("initialization failed: {0}")]
    Initialize(Box<dyn std::error::Error + Send + Sync>),
    #[error("cannot start the NATS service: {0}")]
    Service(String),
    #[error("cannot subscribe to `{subject}`: {reason}")]
    Subscribe { subject: String, reason: String },
    #[error("the instance did not answer its own readiness probe: {0}")]
    NotReady(String),
    #[error("the NATS connection closed while serving")]
    ConnectionClosed,
    #[error("the intake loop failed: {0}")]
    Intake(String),
}

/// Connects, builds the agent with `initialize` (the seed's `initialize`), serves it until `shutdown`
/// resolves, then stops in order.
pub async fn run<A, F, Fut, E>(
    kind: ComponentKind,
    settings: RuntimeSettings,
    initialize: F,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError>
where
    A: Agent,
    F: FnOnce(Context) -> Fut,
    Fut: Future<Output = Result<A, E>>,
    E: std::error::Error + Send + Sync + 'static,
{
    let id = ComponentId::generate(kind);
    let (client, connection) = connection::connect(&settings.nats, id.as_str()).await?;
    let context = Context { id: id.clone(), kind, client, connection, settings };
    tracing::info!(agent_id = %id, "Initializing.");
    let agent = initialize(context.clone()).await.map_err(|error| ServeError::Initialize(Box::new(error)))?;
    serve(context, agent, shutdown).await
}

/// What the request path shares: identity, limits, counters and lifecycle flags.
struct Instance {
    id: ComponentId,
    kind: ComponentKind,
    settings: ServiceSettings,
    started_at: f64,
    started: Instant,
    metrics: Metrics,
    gate: Arc<AdmissionGate>,
    connection: ConnectionHealth,
    capabilities: Vec<AgentCapability>,
    message_types: BTreeSet<String>,
    ready: AtomicBool,
    stopping: AtomicBool,
    /// Whether spans are exported, so that every request is worth a recorded span.
    record_spans: bool,
    /// What `feedback` taught this instance.
    learner: std::sync::Mutex<Learner>,
}

impl Instance {
    fn state(&self) -> AgentState {
        if self.stopping.load(Ordering::Relaxed) {
            AgentState::Shutdown
        } else if !self.connection.is_connected() {
            AgentState::Error
        } else if !self.ready.load(Ordering::Relaxed) {
            AgentState::Initializing
        } else if self.gate.in_use() >= self.gate.capacity() {
            AgentState::Busy
        } else {
            AgentState::Active
        }
    }

    /// The instance's stats, its names as `Text` (owned, or borrowed from the instance); `detail` adds the
    /// counters of each message type and the adaptation state.
    fn stats<'a, Text: From<&'a str>>(&'a self, detail: bool) -> AgentStats<Text> {
        let summary = self.metrics.summary();
        AgentStats {
            agent_id: self.id.as_str().into(),
            agent_type: self.kind.as_str().into(),
            version: VERSION.into(),
            state: self.state(),
            messages_processed: summary.overall.processed,
            errors_count: summary.overall.errors,
            failures_count: summary.overall.failures,
            avg_processing_time: summary.overall.avg_processing_time,
            last_activity: summary.last_activity,
            queue_size: summary.queued,
            in_flight: self.gate.in_use() as u64,
            max_concurrency: self.gate.capacity() as u64,
            shed_count: summary.shed,
            events_received: summary.events,
            started_at: self.started_at,
            uptime_secs: self.started.elapsed().as_secs_f64(),
            by_message_type: detail.then(|| self.metrics.by_message_type()),
            adaptation: detail.then(|| self.adaptation()),
        }
    }

    fn adaptation(&self) -> AdaptationState {
        let learner = self.learner.lock().expect("unpoisoned");
        learner.state([("max_concurrency", self.gate.capacity() as f64)])
    }

    /// The seed's `learn_from_feedback`: keeps the score and, when the trend calls for it, moves the
    /// concurrency limit.
    fn learn(&self, score: f64, source: Option<&str>) -> Option<Adjustment> {
        let adjustment = self.learner.lock().expect("unpoisoned").learn(score)?;
        let before = self.gate.capacity();
        let after = adjusted_concurrency(before, self.settings.max_concurrency, adjustment);
        self.gate.set_capacity(after);
        tracing::info!(agent_id = %self.id, ?adjustment, before, after, source, "Adapted the concurrency limit.");
        Some(adjustment)
    }

    /// What `$SRV.STATS` shows as each endpoint's `data`: the instance's own view, which counts errors that
    /// the service library does not see because they are answered with a body.
    fn service_stats_data(&self) -> serde_json::Value {
        let stats = self.stats::<&str>(false);
        serde_json::json!({
            "agent_id": stats.agent_id,
            "state": stats.state,
            "messages_processed": stats.messages_processed,
            "errors_count": stats.errors_count,
            "failures_count": stats.failures_count,
            "avg_processing_time": stats.avg_processing_time,
            "queue_size": stats.queue_size,
            "in_flight": stats.in_flight,
        })
    }
}

impl crate::http::Observed for Instance {
    fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed) && !self.stopping.load(Ordering::Relaxed) && self.connection.is_connected()
    }

    fn render_metrics(&self) -> String {
        let occupancy = crate::metrics::Occupancy {
            in_flight: self.gate.in_use() as u64,
            concurrency_limit: self.gate.capacity() as u64,
        };
        self.metrics.render_prometheus(occupancy)
    }
}

/// Serves `agent` on an established connection until `shutdown` resolves.
pub async fn serve<A: Agent>(
    context: Context,
    agent: A,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let agent = Arc::new(agent);
    let capabilities = agent.capabilities();
    let instance = Arc::new(Instance {
        id: context.id.clone(),
        kind: context.kind,
        settings: context.settings.service.clone(),
        started_at: mneme_protocol::message::unix_now(),
        started: Instant::now(),
        // Prometheus's histograms cost a little per request: kept only when something scrapes them.
        metrics: match &context.settings.service.http_listen {
            Some(_) => Metrics::with_prometheus(context.kind.as_str()),
            None => Metrics::default(),
        },
        gate: AdmissionGate::new(context.settings.service.max_concurrency),
        connection: context.connection.clone(),
        message_types: capabilities.iter().map(|capability| capability.name.clone()).collect(),
        capabilities,
        ready: AtomicBool::new(false),
        stopping: AtomicBool::new(false),
        record_spans: context.settings.telemetry.otlp_endpoint.is_some(),
        learner: std::sync::Mutex::default(),
    });

    let tracker = TaskTracker::new();
    let stop = CancellationToken::new();
    // The HTTP port outlives intake: while the instance drains it is alive and not ready.
    let stop_http = CancellationToken::new();
    let _stop_http_on_return = stop_http.clone().drop_guard();
    if let Some(address) = &instance.settings.http_listen {
        let observed: Arc<dyn crate::http::Observed> = Arc::clone(&instance) as Arc<dyn crate::http::Observed>;
        let bound = crate::http::serve(address, observed, stop_http.clone())
            .await
            .map_err(|error| ServeError::Service(error.to_string()))?;
        tracing::info!(agent_id = %instance.id, %bound, "Serving /healthz, /readyz and /metrics.");
    }
    let mut intake = start_intake(&context, &instance, &agent, tracker.clone(), stop.clone()).await?;
    if instance.settings.adapt_every_ms > 0 {
        tokio::spawn(adapt_by_throughput(Arc::clone(&instance), stop.clone()));
    }
    tokio::pin!(shutdown);
    let joined = tokio::select! {
        joined = &mut intake => joined,
        () = &mut shutdown => {
            stop.cancel();
            intake.await
        }
    };
    let outcome = joined.unwrap_or_else(|_| {
        Err(ServeError::Intake("the intake thread stopped short (it panicked: see the log)".to_owned()))
    });

    instance.stopping.store(true, Ordering::Relaxed);
    tracker.close();
    let grace = instance.settings.shutdown_grace();
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        tracing::warn!(agent_id = %instance.id, unfinished = tracker.len(), ?grace, "Grace period over; abandoning unfinished work.");
    }
    agent.shutdown().await;
    // Replies are only queued in the client until flushed; drain closes the connection, so it comes last.
    if let Err(error) = context.client.flush().await {
        tracing::warn!(%error, "Flushing replies failed.");
    }
    if let Err(error) = context.client.drain().await {
        tracing::warn!(%error, "Draining the connection failed.");
    }
    tracing::info!(agent_id = %instance.id, answered = instance.metrics.summary().overall.processed, "Stopped.");
    outcome
}

/// Starts the intake: a thread of its own with a single-threaded tokio runtime, on which the intake connection,
/// the `$SRV` service and the intake loop live. Built-ins are answered there, next to the connection's reader
/// and writer, so that a burst of requests is read, answered and written back without waking another thread;
/// the agent's own work goes to the caller's runtime. Returns once the service is up, with what
/// the intake loop ends with.
async fn start_intake<A: Agent>(
    context: &Context,
    instance: &Arc<Instance>,
    agent: &Arc<A>,
    tracker: TaskTracker,
    stop: CancellationToken,
) -> Result<tokio::sync::oneshot::Receiver<Result<(), ServeError>>, ServeError> {
    let (started_sender, started) = tokio::sync::oneshot::channel();
    let (ended_sender, ended) = tokio::sync::oneshot::channel();
    let runtime_of_workers = tokio::runtime::Handle::current();
    let (context, instance, agent) = (context.clone(), Arc::clone(instance), Arc::clone(agent));
    let intake_thread = move || {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(error) => {
                let _ = started_sender.send(Err(ServeError::Intake(format!("cannot start its runtime: {error}"))));
                return;
            }
        };
        runtime.block_on(async move {
            let opened = open_intake(&context, &instance, agent.as_ref()).await;
            let (intake, requests, events) = match opened {
                Ok(opened) => opened,
                Err(error) => {
                    let _ = started_sender.send(Err(error));
                    return;
                }
            };
            let _ = started_sender.send(Ok(()));
            let readiness =
                probe_readiness(context.caller(), context.id.clone(), instance.settings.readiness_timeout());
            // A task rather than the future the thread blocks on: woken by the connection's reader, a task runs
            // next, where the blocked-on future would first cost the runtime a look for I/O (an `epoll_wait`
            // for every burst of requests).
            let served = tokio::spawn(take_requests(
                instance,
                agent,
                intake,
                requests,
                events,
                readiness,
                Workers { tracker, runtime: runtime_of_workers },
                stop,
            ))
            .await
            .unwrap_or_else(|_| Err(ServeError::Intake("the intake loop panicked (see the log)".to_owned())));
            let _ = ended_sender.send(served);
        });
    };
    std::thread::Builder::new()
        .name("mneme-intake".to_owned())
        .spawn(intake_thread)
        .map_err(|error| ServeError::Intake(format!("cannot start its thread: {error}")))?;
    match started.await {
        Ok(Ok(())) => Ok(ended),
        Ok(Err(error)) => Err(error),
        Err(_) => {
            Err(ServeError::Intake("the intake thread stopped while starting (it panicked: see the log)".to_owned()))
        }
    }
}

/// The intake connection, its `$SRV` service with the request endpoints, and the event subscriptions.
///
/// Requests and events come in on a connection of their own, so that stopping can drain it (the server stops
/// routing to this instance and everything it already routed is still read) while the agent's own calls, its
/// state and the replies to what it is finishing go on over `context.client`.
async fn open_intake<A: Agent>(
    context: &Context,
    instance: &Arc<Instance>,
    agent: &A,
) -> Result<
    (Intake, impl futures::Stream<Item = service::Request> + Unpin + use<A>, futures::stream::SelectAll<Subscriber>),
    ServeError,
> {
    let (intake_client, _) = connection::connect(&context.settings.nats, &format!("{}-intake", context.id)).await?;
    let service = start_service(&intake_client, context, instance, agent.description()).await?;
    let requests = service
        .endpoint_builder()
        .name("requests")
        .metadata(HashMap::from([("delivery".to_owned(), "queue_group".to_owned())]))
        .queue_group(subjects::queue_group(context.kind))
        .add(subjects::request_wildcard(context.kind))
        .await
        .map_err(|error| ServeError::Service(error.to_string()))?;
    let direct = service
        .endpoint_builder()
        .name("direct")
        .metadata(HashMap::from([("delivery".to_owned(), "instance".to_owned())]))
        .queue_group(context.id.as_str())
        .add(subjects::instance_wildcard(&context.id))
        .await
        .map_err(|error| ServeError::Service(error.to_string()))?;
    let events =
        futures::stream::select_all(subscribe_events(&intake_client, context, agent.event_subscriptions()).await?);
    let intake = Intake { service, client: intake_client, replies: context.client.clone() };
    Ok((intake, futures::stream::select(requests, direct), events))
}

/// Where the agent's own work runs: tasks on the caller's runtime, tracked so that stopping can wait for them.
struct Workers {
    tracker: TaskTracker,
    runtime: tokio::runtime::Handle,
}

impl Workers {
    fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        self.tracker.spawn_on(work, &self.runtime);
    }
}

/// Gives the instance `feedback` of its own throughput every `service.adapt_every_ms` until `stop`.
async fn adapt_by_throughput(instance: Arc<Instance>, stop: CancellationToken) {
    let every = Duration::from_millis(instance.settings.adapt_every_ms);
    let mut last = (Instant::now(), instance.metrics.summary().overall.processed);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        let now = (Instant::now(), instance.metrics.summary().overall.processed);
        let answered = now.1.saturating_sub(last.1);
        let elapsed = now.0.duration_since(last.0).as_secs_f64();
        last = now;
        if answered > 0 && elapsed > 0.0 {
            instance.learn(answered as f64 / elapsed, Some("throughput"));
        }
    }
}

/// How many requests already delivered the intake loop takes in one go before it looks at events and the stop
/// signal again.
const INTAKE_BURST: usize = 64;

/// How many requests of a burst the intake loop answers before it lets the connection write their replies out.
/// Answering a whole burst first stalls a client that keeps many requests in flight: all its replies come back
/// at once and only then does it send more, so the two sides take turns instead of working side by side (see
/// BENCHMARKS.md). Letting go after every request costs a write call each.
const REPLIES_PER_WRITE: usize = 16;

/// Whether the intake loop, having answered `taken` requests of a burst, lets the connection write their
/// replies out now: every 16 replies; but after the first 16, every 32 while the intake thread has `lately`
/// been preempted. On a core shared with busy processes, every write, with the broker's wake-up and read it
/// brings, takes CPU that the broker and the client need; on a core of its own, the sooner replies go out,
/// the sooner the client sends more (see BENCHMARKS.md). `lately` is asked only where the two differ.
fn time_to_write(taken: usize, lately: impl FnOnce() -> bool) -> bool {
    if taken == 0 || !taken.is_multiple_of(REPLIES_PER_WRITE) {
        return false;
    }
    let also_when_contended = (taken - REPLIES_PER_WRITE).is_multiple_of(2 * REPLIES_PER_WRITE);
    also_when_contended || !lately()
}

/// Where requests come from, and where their replies go once the intake connection is drained.
struct Intake {
    /// Kept for `$SRV` while serving; its subscriptions go with the intake connection's drain.
    service: service::Service,
    client: async_nats::Client,
    replies: async_nats::Client,
}

/// Takes requests and events off the wire until `stop` is cancelled (then until the drained intake connection
/// has yielded everything already routed here) or the connection closes.
#[allow(clippy::too_many_arguments)]
async fn take_requests<A: Agent>(
    instance: Arc<Instance>,
    agent: Arc<A>,
    intake_connection: Intake,
    mut intake: impl futures::Stream<Item = service::Request> + Unpin,
    mut events: futures::stream::SelectAll<Subscriber>,
    readiness: impl Future<Output = Result<(), String>>,
    workers: Workers,
    stop: CancellationToken,
) -> Result<(), ServeError> {
    // The service lives as long as the intake loop: `$SRV` answers until the drain ends it.
    let Intake { service: _service, client: intake_client, replies } = intake_connection;
    let mut draining = false;
    tokio::pin!(readiness);
    let mut awaiting_readiness = true;
    // Made once: each call registers a waiter with the token, which per request shows in profiles.
    let cancelled = stop.cancelled();
    tokio::pin!(cancelled);
    let mut preemptions = Preemptions::default();
    loop {
        tokio::select! {
            () = &mut cancelled, if !draining => {
                tracing::info!(agent_id = %instance.id, in_queue = instance.metrics.queued(), "Stopping intake.");
                instance.stopping.store(true, Ordering::Relaxed);
                draining = true;
                // The drain unsubscribes everything on the intake connection and still delivers what the server
                // routed here before it took that in, so the loop below keeps answering until both request
                // streams end. (An endpoint's own stop forgets its subscription at once, and requests already
                // on their way to it are lost.)
                intake_client.drain().await.map_err(|error| ServeError::Service(error.to_string()))?;
                events = futures::stream::select_all(Vec::new());
            }
            result = &mut readiness, if awaiting_readiness => {
                awaiting_readiness = false;
                match result {
                    Ok(()) => {
                        instance.ready.store(true, Ordering::Relaxed);
                        tracing::info!(
                            agent_id = %instance.id,
                            subject = %subjects::request_wildcard(instance.kind),
                            max_concurrency = instance.gate.capacity(),
                            "Ready."
                        );
                    }
                    Err(reason) => return Err(ServeError::NotReady(reason)),
                }
            }
            request = intake.next() => {
                // Requests that arrived together are taken together, up to a burst: a pass through this
                // `select!` polls every branch, which at tens of thousands of requests a second costs more than
                // answering a built-in.
                let mut next = request;
                let mut taken = 0;
                loop {
                    taken += 1;
                    match next {
                        // Built-ins are cheap and never wait: answered here, they skip a task spawn, which on
                        // a busy instance measurably costs more than the answer itself (see BENCHMARKS.md).
                        Some(request) if is_builtin(subjects::message_type_of(&request.message.subject)) => {
                            match answer_builtin_in_place(&instance, &request) {
                                Some(body) => send_reply(&instance, &replies, &request, body, HeaderMap::new()).await,
                                None => answer_builtin(&instance, &replies, request).await,
                            }
                        }
                        Some(request) => admit(&workers, &instance, &agent, &replies, request),
                        None if instance.stopping.load(Ordering::Relaxed) => return Ok(()),
                        None => return Err(ServeError::ConnectionClosed),
                    }
                    if taken == INTAKE_BURST {
                        break;
                    }
                    if time_to_write(taken, || preemptions.lately()) {
                        tokio::task::yield_now().await;
                    }
                    match intake.next().now_or_never() {
                        Some(request) => next = request,
                        None => break,
                    }
                }
            }
            Some(event) = events.next(), if !instance.stopping.load(Ordering::Relaxed) => {
                instance.metrics.event_received();
                let instance = Arc::clone(&instance);
                let agent = Arc::clone(&agent);
                workers.spawn(async move { deliver_event(&instance, agent.as_ref(), event).await });
            }
        }
    }
}

async fn start_service(
    client: &async_nats::Client,
    context: &Context,
    instance: &Arc<Instance>,
    description: String,
) -> Result<service::Service, ServeError> {
    let capabilities_json =
        serde_json::to_string(&instance.capabilities).map_err(|error| ServeError::Service(error.to_string()))?;
    let message_types: Vec<&str> = instance.message_types.iter().map(String::as_str).collect();
    let metadata = HashMap::from([
        ("agent_id".to_owned(), instance.id.to_string()),
        ("agent_type".to_owned(), instance.kind.to_string()),
        ("message_types".to_owned(), message_types.join(",")),
        ("capabilities".to_owned(), capabilities_json),
        ("schema_version".to_owned(), SCHEMA_VERSION.to_string()),
    ]);
    let stats_source = Arc::clone(instance);
    client
        .service_builder()
        .description(description)
        .metadata(metadata)
        .queue_group(subjects::queue_group(context.kind))
        .stats_handler(move |_endpoint, _stats| stats_source.service_stats_data())
        .start(context.kind.as_str(), VERSION)
        .await
        .map_err(|error| ServeError::Service(error.to_string()))
}

/// A round trip through the instance's own direct endpoint: once it answers, the server has every
/// subscription made before it, and the instance is reachable.
async fn probe_readiness(caller: crate::call::Caller, id: ComponentId, timeout: Duration) -> Result<(), String> {
    let options = crate::call::CallOptions { timeout: Some(timeout), ..Default::default() };
    caller
        .call(&crate::call::Target::Instance(id), builtin::PING, &serde_json::json!({}), &options)
        .await
        .map(|_| ())
        .map_err(|error| error.to_string())
}

async fn subscribe_events(
    client: &async_nats::Client,
    context: &Context,
    subscriptions: Vec<crate::agent::EventSubscription>,
) -> Result<Vec<Subscriber>, ServeError> {
    let mut subscribers = Vec::new();
    for subscription in subscriptions {
        let mut subjects = vec![subjects::event(&subscription.event_type)];
        if let Some(agent) = context.kind.agent_type() {
            subjects.push(subjects::event_for(&subscription.event_type, agent));
        }
        for subject in subjects {
            let subscribed = match subscription.delivery {
                EventDelivery::EveryInstance => client.subscribe(subject.clone()).await,
                EventDelivery::OneInstance => {
                    client.queue_subscribe(subject.clone(), subjects::queue_group(context.kind).to_owned()).await
                }
            };
            subscribers.push(subscribed.map_err(|error| ServeError::Subscribe { subject, reason: error.to_string() })?);
        }
    }
    Ok(subscribers)
}

/// Takes a request for the agent off the wire: answered right away when the line is full, otherwise handled
/// in its own task so that a slow request never holds up the next. (Built-ins never come here: they neither
/// take a place in the line nor get turned away, so a saturated instance still reports on itself.)
fn admit<A: Agent>(
    workers: &Workers,
    instance: &Arc<Instance>,
    agent: &Arc<A>,
    replies: &async_nats::Client,
    request: service::Request,
) {
    let instance = Arc::clone(instance);
    let agent = Arc::clone(agent);
    let replies = replies.clone();
    let waiting = instance.metrics.enqueued();
    let limit = (instance.gate.capacity() + instance.settings.max_queued) as u64;
    let overloaded = waiting > limit;
    if overloaded {
        instance.metrics.shed();
        tracing::warn!(agent_id = %instance.id, waiting, limit, "Overloaded; turning a request away.");
    }
    workers.spawn(async move {
        answer(&instance, agent.as_ref(), &replies, request, overloaded).await;
        instance.metrics.dequeued();
    });
}

fn is_builtin(message_type: &str) -> bool {
    matches!(message_type, builtin::GET_STATS | builtin::GET_CAPABILITIES | builtin::PING | builtin::FEEDBACK)
}

/// Answers a request for the agent: its handler runs behind the admission gate, or it is turned away when
/// `overloaded`.
async fn answer<A: Agent>(
    instance: &Instance,
    agent: &A,
    replies: &async_nats::Client,
    request: service::Request,
    overloaded: bool,
) {
    answer_with(instance, replies, request, |message, encoding| async move {
        if overloaded {
            return Err(HandlerError::unavailable("the instance is overloaded; try again shortly"));
        }
        dispatch(instance, agent, message, encoding).await
    })
    .await
}

/// Answers a built-in where it was taken in. Its future holds no handler's, so answering one moves little.
async fn answer_builtin(instance: &Instance, replies: &async_nats::Client, request: service::Request) {
    answer_with(instance, replies, request, |message, encoding| {
        std::future::ready(builtin(instance, message, encoding))
    })
    .await
}

/// Reads a request's envelope, has `handle` answer it, counts it, and replies in the request's encoding (an
/// `error_response` with the ADR-32 headers when it failed).
async fn answer_with<F, Fut>(instance: &Instance, replies: &async_nats::Client, request: service::Request, handle: F)
where
    F: FnOnce(AgentMessage, Encoding) -> Fut,
    Fut: Future<Output = Result<Reply, HandlerError>>,
{
    let message_type = subjects::message_type_of(&request.message.subject);
    let request_headers = request.message.headers.as_ref();
    let traced = request_headers.is_some_and(|map| map.get(headers::TRACEPARENT).is_some());
    // A span backed by OpenTelemetry costs more than the rest of a small request; it is made when it has
    // somewhere to go: a trace to continue, or an exporter to record new ones.
    let span = if traced || instance.record_spans {
        tracing::info_span!("handle", agent_id = %instance.id, message_type = %message_type)
    } else {
        tracing::debug_span!("handle", agent_id = %instance.id, message_type = %message_type)
    };
    let traced = traced && trace_context::continue_trace(&span, request_headers);
    let work = async {
        // Two readings of the wall clock per request, one as it is taken and one as it is answered, serve
        // everything that needs the time: at tens of thousands of requests a second, each reading shows in
        // profiles.
        let received = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let encoding = Encoding::from_content_type(
            request_headers.and_then(|map| map.get(headers::CONTENT_TYPE)).map(|value| value.as_str()),
        );
        let envelope = decode_request(instance, &request.message.payload, message_type, encoding, received);
        // What the reply needs of the request, kept before the request moves into its handler.
        let reply_to = match &envelope {
            Ok(message) => message.reply_to(),
            Err(_) => {
                ReplyTo { id: mneme_protocol::message::message_id_at(received), sender_id: String::new(), priority: 0 }
            }
        };
        let outcome = match envelope.and_then(|message| bind_requester(request_headers, message)) {
            Ok(message) => handle(message, encoding).await,
            Err(error) => Err(error),
        };
        let finished_at = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        // The wall clock can step back; a request then counts as instant rather than as negative.
        instance.metrics.record(
            message_type,
            finished_at.saturating_sub(received),
            Outcome::of(&outcome),
            finished_at.as_secs_f64(),
        );
        if request.message.reply.is_none() {
            tracing::debug!("Request carried no reply subject; nothing to answer.");
            return;
        }
        let (body, reply_headers) =
            reply_body(instance, message_type, &reply_to, outcome, encoding, traced, finished_at);
        send_reply(instance, replies, &request, body, reply_headers).await;
    };
    // Wrapping the work in a span that records nothing would only move it once more.
    if span.is_disabled() { work.await } else { work.instrument(span).await }
}

/// Sends the reply to `request`: over the intake connection, or while stopping (when that connection closes
/// once drained) over the agent's own.
async fn send_reply(
    instance: &Instance,
    replies: &async_nats::Client,
    request: &service::Request,
    body: bytes::Bytes,
    reply_headers: HeaderMap,
) {
    let Some(reply_subject) = request.message.reply.clone() else { return };
    if !instance.stopping.load(Ordering::Relaxed) {
        match request.respond_with_headers(Ok(body.clone()), reply_headers.clone()).await {
            Ok(()) => return,
            Err(error) => {
                tracing::debug!(%error, "Replying over the intake connection failed; replying over the other.")
            }
        }
    }
    if let Err(error) = replies.publish_with_headers(reply_subject, reply_headers, body).await {
        tracing::warn!(%error, "Reply could not be sent.");
    }
}

/// Answers the built-ins that every instance is polled with, `get_stats` for the summary and `ping`, straight
/// from the request's bytes: its envelope read in place, no envelope tree, no span, no future. At tens of
/// thousands of requests a second, that is most of what answering one costs (see BENCHMARKS.md). `None` for
/// any other request (a header, JSON, another payload, an envelope of another shape, spans being recorded),
/// which the general path answers, errors included, with the same reply.
fn answer_builtin_in_place(instance: &Instance, request: &service::Request) -> Option<bytes::Bytes> {
    if instance.record_spans || request.message.headers.is_some() || request.message.reply.is_none() {
        return None;
    }
    let received = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let body = &request.message.payload;
    if body.len() > instance.settings.max_body_bytes {
        return None;
    }
    let message_type = subjects::message_type_of(&request.message.subject);
    let head = RequestHead::read(body)?;
    let agrees = head.message_type.is_empty() || head.message_type == message_type;
    if head.id.is_empty() || !agrees || head.schema_version > SCHEMA_VERSION {
        return None;
    }
    let stats = match message_type {
        builtin::GET_STATS if head.asks_for_the_summary() => Some(instance.stats::<&str>(false)),
        builtin::PING if head.has_empty_payload() => None,
        _ => return None,
    };
    let finished_at = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let elapsed = finished_at.saturating_sub(received);
    instance.metrics.record(message_type, elapsed, Outcome::Answered, finished_at.as_secs_f64());
    let mut reply_id_text = uuid::Uuid::encode_buffer();
    let reply_id = reply_id_at(finished_at, &mut reply_id_text);
    let sender_id = instance.id.as_str();
    let body = match stats {
        Some(stats) => {
            let head = head.reply_head(reply_id, builtin::STATS_RESPONSE, sender_id, finished_at.as_secs_f64());
            mneme_protocol::encode_envelope(&head, &StatsResponse { stats }, Encoding::MessagePack)
        }
        None => {
            let head = head.reply_head(reply_id, builtin::PONG, sender_id, finished_at.as_secs_f64());
            mneme_protocol::encode_envelope(&head, &Pong { agent_id: sender_id }, Encoding::MessagePack)
        }
    };
    body.ok().map(bytes::Bytes::from)
}

/// The id of a reply made at `finished_at` (since the Unix epoch), written into `text`.
fn reply_id_at(finished_at: Duration, text: &mut [u8]) -> &str {
    let id = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        finished_at.as_secs(),
        finished_at.subsec_nanos(),
    ));
    id.hyphenated().encode_lower(text)
}

/// The reply envelope to `reply_to` and its headers: `outcome` as its own message type, or an `error_response`.
fn reply_body(
    instance: &Instance,
    message_type: &str,
    reply_to: &ReplyTo,
    outcome: Result<Reply, HandlerError>,
    encoding: Encoding,
    traced: bool,
    finished_at: Duration,
) -> (bytes::Bytes, HeaderMap) {
    let finished_at_secs = finished_at.as_secs_f64();
    let mut reply_headers = HeaderMap::new();
    if encoding == Encoding::Json {
        reply_headers.insert(headers::CONTENT_TYPE, Encoding::JSON_CONTENT_TYPE);
    }
    if traced && let Some(value) = trace_context::trace_response(&tracing::Span::current()) {
        reply_headers.insert(headers::TRACERESPONSE, value.as_str());
    }
    let mut reply_id_text = uuid::Uuid::encode_buffer();
    let reply_id = reply_id_at(finished_at, &mut reply_id_text);
    let body = outcome.and_then(|reply| {
        let head = reply_to.head(reply_id, &reply.message_type, instance.id.as_str(), finished_at_secs);
        reply.payload.encode(&head, encoding).map_err(|error| {
            tracing::error!(%error, "Reply cannot be encoded.");
            HandlerError::internal(format!("reply cannot be encoded: {error}"))
        })
    });
    let body = body.unwrap_or_else(|error| {
        tracing::info!(agent_id = %instance.id, %message_type, code = error.code.status(), error = %error.message, "Request failed.");
        reply_headers.insert(headers::SERVICE_ERROR, error.message.as_str());
        reply_headers.insert(headers::SERVICE_ERROR_CODE, error.code.status().to_string().as_str());
        let head = reply_to.head(reply_id, builtin::ERROR_RESPONSE, instance.id.as_str(), finished_at_secs);
        mneme_protocol::encode_envelope(&head, &error.payload(), encoding).expect("an error_response always encodes")
    });
    (bytes::Bytes::from(body), reply_headers)
}

/// The payload of `pong`: the instance's id, owned or borrowed.
#[derive(serde::Serialize)]
struct Pong<S> {
    agent_id: S,
}

/// A request from outside Mneme's account acts only as the NATS user the server says sent it.
fn bind_requester(headers: Option<&HeaderMap>, message: AgentMessage) -> Result<AgentMessage, HandlerError> {
    let Some(info) = headers.and_then(|map| map.get(crate::requester::REQUEST_INFO)) else { return Ok(message) };
    crate::requester::Requester::parse(info.as_str())?.check(&message.payload)?;
    Ok(message)
}

/// Reads the envelope and checks it against the subject it came on.
fn decode_request(
    instance: &Instance,
    body: &[u8],
    message_type: &str,
    encoding: Encoding,
    received: Duration,
) -> Result<AgentMessage, HandlerError> {
    if body.len() > instance.settings.max_body_bytes {
        return Err(HandlerError::new(
            ErrorCode::PayloadTooLarge,
            format!("body of {} bytes exceeds the limit of {} bytes", body.len(), instance.settings.max_body_bytes),
        ));
    }
    let mut message = if body.is_empty() {
        AgentMessage::new(message_type, serde_json::Value::Null)
    } else {
        AgentMessage::decode_received(body, encoding, || received)
            .map_err(|error| HandlerError::bad_request(error.to_string()))?
    };
    if message.message_type.is_empty() {
        message.message_type = message_type.to_owned();
    } else if message.message_type != message_type {
        return Err(HandlerError::bad_request(format!(
            "envelope type `{}` disagrees with the subject's message type `{message_type}`",
            message.message_type
        )));
    }
    if message.schema_version > SCHEMA_VERSION {
        return Err(HandlerError::new(
            ErrorCode::UnsupportedSchema,
            format!("schema_version {} is newer than this agent's {SCHEMA_VERSION}", message.schema_version),
        ));
    }
    Ok(message)
}

/// Has the agent handle `message`, one of its own message types. (Built-ins never come here: the intake loop
/// answers them, and an envelope's type is its subject's.)
async fn dispatch<A: Agent>(
    instance: &Instance,
    agent: &A,
    message: AgentMessage,
    encoding: Encoding,
) -> Result<Reply, HandlerError> {
    match message.message_type.as_str() {
        known if instance.message_types.contains(known) => {}
        unknown => {
            let known: Vec<&str> = instance.message_types.iter().map(String::as_str).collect();
            return Err(HandlerError::new(
                ErrorCode::UnknownMessageType,
                format!(
                    "{} does not handle `{unknown}`; it handles {}, {}, {}, {} and {}",
                    instance.kind,
                    known.join(", "),
                    builtin::GET_STATS,
                    builtin::GET_CAPABILITIES,
                    builtin::PING,
                    builtin::FEEDBACK
                ),
            ));
        }
    }
    let _permit = instance.gate.acquire(message.priority).await;
    let request = Request { message, encoding };
    match AssertUnwindSafe(agent.handle(request)).catch_unwind().await {
        Ok(outcome) => outcome,
        Err(panic) => {
            let reason = panic
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            tracing::error!(%reason, "Handler panicked.");
            Err(HandlerError::internal(format!("handler failed: {reason}")))
        }
    }
}

/// What every instance answers of itself: `get_stats`, `get_capabilities`, `ping` and `feedback`.
fn builtin(instance: &Instance, message: AgentMessage, encoding: Encoding) -> Result<Reply, HandlerError> {
    match message.message_type.as_str() {
        builtin::GET_STATS => {
            let request: StatsRequest = Request { message, encoding }.payload()?;
            Ok(Reply::new(builtin::STATS_RESPONSE, StatsResponse::<String> { stats: instance.stats(request.detail) }))
        }
        builtin::GET_CAPABILITIES => {
            let response = CapabilitiesResponse {
                agent_id: instance.id.to_string(),
                agent_type: instance.kind.to_string(),
                capabilities: instance.capabilities.clone(),
            };
            Ok(Reply::new(builtin::CAPABILITIES_RESPONSE, response))
        }
        builtin::PING => Ok(Reply::new(builtin::PONG, Pong { agent_id: instance.id.to_string() })),
        builtin::FEEDBACK => {
            let feedback: Feedback = Request { message, encoding }.payload()?;
            if !feedback.performance_score.is_finite() {
                return Err(HandlerError::bad_request("performance_score must be a finite number"));
            }
            let adjusted = instance.learn(feedback.performance_score, feedback.source.as_deref());
            let received = FeedbackReceived { adjusted, adaptation: instance.adaptation() };
            Ok(Reply::new(builtin::FEEDBACK_RECEIVED, received))
        }
        other => Err(HandlerError::internal(format!("`{other}` is not a built-in"))),
    }
}

async fn deliver_event<A: Agent>(instance: &Instance, agent: &A, message: async_nats::Message) {
    let encoding = Encoding::from_content_type(
        message.headers.as_ref().and_then(|map| map.get(headers::CONTENT_TYPE)).map(|value| value.as_str()),
    );
    let span = tracing::info_span!("event", agent_id = %instance.id, subject = %message.subject);
    trace_context::continue_trace(&span, message.headers.as_ref());
    async {
        let envelope = match AgentMessage::decode(&message.payload, encoding) {
            Ok(envelope) => envelope,
            Err(error) => {
                tracing::warn!(%error, "Event is not an envelope; ignored.");
                return;
            }
        };
        let _permit = instance.gate.acquire(envelope.priority).await;
        let event = Event { subject: message.subject.to_string(), message: envelope };
        match AssertUnwindSafe(agent.on_event(event)).catch_unwind().await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(error = %error, "Event handler failed."),
            Err(_) => tracing::error!("Event handler panicked."),
        }
    }
    .instrument(span)
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writes_in_a_burst(contended: bool) -> (Vec<usize>, usize) {
        let mut asked = 0;
        let writes = (0..INTAKE_BURST)
            .filter(|taken| {
                time_to_write(*taken, || {
                    asked += 1;
                    contended
                })
            })
            .collect();
        (writes, asked)
    }

    #[test]
    fn replies_go_out_every_16_and_on_a_contended_core_every_32_after_the_first_16() {
        assert_eq!(writes_in_a_burst(false), (vec![16, 32, 48], 1));
        assert_eq!(writes_in_a_burst(true), (vec![16, 48], 1));
    }
}
