//! The runtime's guarantees, shown with a small agent served in this process over a real nats-server.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_nats::HeaderMap;
use mneme_protocol::stats::StatsResponse;
use mneme_protocol::{AgentCapability, AgentType, ComponentId, ComponentKind, ErrorPayload};
use mneme_runtime::{
    Agent, Context, Event, EventDelivery, EventSubscription, HandlerError, Reply, Request, RuntimeSettings,
};
use mneme_system_tests::{NatsServer, eventually, msgpack_body, raw_request, wait_for_instances};
use tokio_util_shim::Stop;

/// A stop signal a test can fire.
mod tokio_util_shim {
    pub struct Stop(tokio::sync::watch::Sender<bool>);

    impl Stop {
        pub fn new() -> (Self, impl std::future::Future<Output = ()> + Send + 'static) {
            let (sender, mut receiver) = tokio::sync::watch::channel(false);
            (Stop(sender), async move {
                let _ = receiver.wait_for(|stopped| *stopped).await;
            })
        }

        pub fn fire(&self) {
            let _ = self.0.send(true);
        }
    }
}

/// Echoes, sleeps, panics on demand, and counts the events it gets.
struct Probe {
    events: Arc<AtomicUsize>,
}

impl Agent for Probe {
    fn description(&self) -> String {
        "runtime probe".to_owned()
    }

    fn capabilities(&self) -> Vec<AgentCapability> {
        ["echo", "sleep", "explode"].iter().map(|name| AgentCapability::new(name, "probe", &[], &[])).collect()
    }

    fn event_subscriptions(&self) -> Vec<EventSubscription> {
        vec![EventSubscription::new("probe_event", EventDelivery::EveryInstance)]
    }

    async fn handle(&self, request: Request) -> Result<Reply, HandlerError> {
        match request.message_type() {
            "echo" => Ok(Reply::new("echoed", request.message.payload.clone())),
            "sleep" => {
                let millis: u64 = request.payload::<serde_json::Value>()?["ms"].as_u64().unwrap_or(100);
                tokio::time::sleep(Duration::from_millis(millis)).await;
                Ok(Reply::new("slept", serde_json::json!({})))
            }
            "explode" => panic!("the probe exploded on purpose"),
            other => Err(HandlerError::internal(format!("no handler for {other}"))),
        }
    }

    async fn on_event(&self, _event: Event) -> Result<(), HandlerError> {
        self.events.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Serves a probe as `agent` in this process; returns its event counter and its stop switch.
async fn serve_probe(
    nats: &NatsServer,
    agent: AgentType,
    tune: impl FnOnce(&mut RuntimeSettings),
) -> (Arc<AtomicUsize>, Stop, tokio::task::JoinHandle<()>) {
    let mut settings = RuntimeSettings::default();
    settings.nats.url = nats.url.clone();
    tune(&mut settings);
    let events = Arc::new(AtomicUsize::new(0));
    let (stop, stopped) = Stop::new();
    let counter = Arc::clone(&events);
    let handle = tokio::spawn(async move {
        mneme_runtime::run(
            ComponentKind::Agent(agent),
            settings,
            |_context: Context| async move { Ok::<_, std::convert::Infallible>(Probe { events: counter }) },
            stopped,
        )
        .await
        .expect("the probe serves and stops cleanly");
    });
    (events, stop, handle)
}

fn subject(message_type: &str) -> String {
    format!("mneme.agent.pattern_analyzer.{message_type}")
}

fn error_of(reply: &mneme_system_tests::RawReply) -> ErrorPayload {
    assert_eq!(reply.message.message_type, "error_response", "{:?}", reply.message.payload);
    reply.message.payload_as().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panicking_handler_is_a_500_and_the_agent_keeps_serving() {
    let nats = NatsServer::start();
    let (_, stop, handle) = serve_probe(&nats, AgentType::PatternAnalyzer, |_| {}).await;
    let client = nats.connect().await;
    wait_for_instances(&client, ComponentKind::Agent(AgentType::PatternAnalyzer), 1, Duration::from_secs(10)).await;

    let reply =
        raw_request(&client, &subject("explode"), HeaderMap::new(), msgpack_body("explode", serde_json::json!({})))
            .await;
    let error = error_of(&reply);
    assert_eq!(error.code, 500);
    assert!(error.recoverable);
    assert!(error.error.contains("exploded on purpose"));
    let reply =
        raw_request(&client, &subject("echo"), HeaderMap::new(), msgpack_body("echo", serde_json::json!({"n": 1})))
            .await;
    assert_eq!(reply.message.payload["n"], 1);
    // A refusal of what the client sent counts as an error, but only the failure as the instance's own.
    let reply = raw_request(&client, &subject("echo"), HeaderMap::new(), b"\xc1 not an envelope".to_vec()).await;
    assert_eq!(error_of(&reply).code, 400);
    let reply = raw_request(&client, &subject("get_stats"), HeaderMap::new(), Vec::new()).await;
    let stats = reply.message.payload_as::<StatsResponse>().unwrap().stats;
    assert_eq!((stats.errors_count, stats.failures_count), (2, 1), "{stats:?}");
    stop.fire();
    handle.await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn envelopes_that_disagree_with_their_subject_or_come_from_the_future_are_refused() {
    let nats = NatsServer::start();
    let (_, stop, handle) = serve_probe(&nats, AgentType::PatternAnalyzer, |_| {}).await;
    let client = nats.connect().await;
    wait_for_instances(&client, ComponentKind::Agent(AgentType::PatternAnalyzer), 1, Duration::from_secs(10)).await;

    let reply =
        raw_request(&client, &subject("echo"), HeaderMap::new(), msgpack_body("sleep", serde_json::json!({}))).await;
    assert_eq!(error_of(&reply).code, 400);
    let future =
        rmp_serde::to_vec_named(&serde_json::json!({"type": "echo", "payload": {}, "schema_version": 99})).unwrap();
    let reply = raw_request(&client, &subject("echo"), HeaderMap::new(), future).await;
    assert_eq!(error_of(&reply).code, 422);
    // An empty body is a request with an empty payload, typed by its subject.
    let reply = raw_request(&client, &subject("echo"), HeaderMap::new(), Vec::new()).await;
    assert_eq!(reply.message.message_type, "echoed");
    stop.fire();
    handle.await.unwrap();
}

/// The envelope an orchestrator sends for `message_type`, whole.
fn orchestrators_envelope(message_type: &str, payload: serde_json::Value) -> mneme_protocol::AgentMessage {
    let mut message = mneme_protocol::AgentMessage::new(message_type, payload);
    message.sender_id = ComponentId::generate(ComponentKind::Orchestrator).to_string();
    message.priority = 2;
    message.requires_response = true;
    message
}

/// A reply envelope as a tree, without what differs between any two replies (ids, times, counts).
fn reply_shape(reply: &mneme_system_tests::RawReply) -> serde_json::Value {
    let mut tree = serde_json::to_value(&reply.message.payload).unwrap();
    if let Some(stats) = tree.get_mut("stats").and_then(serde_json::Value::as_object_mut) {
        for changing in ["messages_processed", "avg_processing_time", "last_activity", "uptime_secs", "queue_size"] {
            stats.insert(changing.to_owned(), serde_json::Value::Null);
        }
    }
    let message = &reply.message;
    serde_json::json!({
        "type": message.message_type, "sender_id": message.sender_id, "recipient_id": message.recipient_id,
        "priority": message.priority, "requires_response": message.requires_response,
        "correlation_id": message.correlation_id, "schema_version": message.schema_version, "payload": tree,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn polls_answered_in_place_get_the_general_answer() {
    // `get_stats` and `ping` as orchestrators send them are answered from the request's bytes; a header sends
    // the same request the general way. Both answers agree, and both are counted.
    let nats = NatsServer::start();
    let (_, stop, handle) = serve_probe(&nats, AgentType::PatternAnalyzer, |_| {}).await;
    let client = nats.connect().await;
    wait_for_instances(&client, ComponentKind::Agent(AgentType::PatternAnalyzer), 1, Duration::from_secs(10)).await;
    let general_way = || {
        let mut headers = HeaderMap::new();
        headers.insert("Content-Type", "application/msgpack");
        headers
    };
    let processed = async || {
        let message = orchestrators_envelope("get_stats", serde_json::json!({"detail": true}));
        let body = message.encode(mneme_protocol::Encoding::MessagePack).unwrap();
        let reply = raw_request(&client, &subject("get_stats"), HeaderMap::new(), body).await;
        reply.message.payload_as::<StatsResponse>().unwrap().stats.messages_processed
    };
    for (message_type, payload) in [
        ("get_stats", serde_json::json!({})),
        ("get_stats", serde_json::json!({"detail": false})),
        ("ping", serde_json::json!({})),
    ] {
        let message = orchestrators_envelope(message_type, payload);
        let body = message.encode(mneme_protocol::Encoding::MessagePack).unwrap();
        let before = processed().await;
        let in_place = raw_request(&client, &subject(message_type), HeaderMap::new(), body.clone()).await;
        let general = raw_request(&client, &subject(message_type), general_way(), body).await;
        assert_eq!(processed().await, before + 3, "each answer is counted");
        assert_eq!(in_place.message.correlation_id.as_deref(), Some(message.id.as_str()));
        assert_ne!(in_place.message.id, general.message.id);
        assert_eq!(reply_shape(&in_place), reply_shape(&general), "{message_type}");
    }
    stop.fire();
    handle.await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_line_is_shed_with_503_and_concurrency_is_bounded() {
    let nats = NatsServer::start();
    let (_, stop, handle) = serve_probe(&nats, AgentType::PatternAnalyzer, |settings| {
        settings.service.max_concurrency = 2;
        settings.service.max_queued = 3;
    })
    .await;
    let client = nats.connect().await;
    let instance =
        wait_for_instances(&client, ComponentKind::Agent(AgentType::PatternAnalyzer), 1, Duration::from_secs(10))
            .await
            .remove(0);

    let started = std::time::Instant::now();
    let requests: Vec<_> = (0..10)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                raw_request(
                    &client,
                    &subject("sleep"),
                    HeaderMap::new(),
                    msgpack_body("sleep", serde_json::json!({"ms": 300})),
                )
                .await
            })
        })
        .collect();
    let stats_subject = format!("mneme.instance.pattern_analyzer.{}.get_stats", instance.id);
    eventually(Duration::from_secs(5), "two in flight", async || {
        let stats = raw_request(&client, &stats_subject, HeaderMap::new(), Vec::new()).await;
        stats.message.payload["stats"]["in_flight"] == 2 && stats.message.payload["stats"]["state"] == "busy"
    })
    .await;
    let mut slept = 0;
    let mut shed = 0;
    for request in requests {
        let reply = request.await.unwrap();
        match reply.message.message_type.as_str() {
            "slept" => slept += 1,
            "error_response" => {
                let error = error_of(&reply);
                assert_eq!((error.code, error.recoverable), (503, true));
                shed += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    // Two run and three wait; the other five are turned away at once.
    assert_eq!((slept, shed), (5, 5));
    assert!(started.elapsed() >= Duration::from_millis(850), "never more than two at a time");
    let stats = raw_request(&client, &stats_subject, HeaderMap::new(), Vec::new()).await;
    assert_eq!(stats.message.payload["stats"]["shed_count"], 5);
    stop.fire();
    handle.await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn broadcast_reaches_everyone_or_exactly_the_chosen_types() {
    let nats = NatsServer::start();
    let (analyzer_events, stop_analyzer, analyzer) = serve_probe(&nats, AgentType::PatternAnalyzer, |_| {}).await;
    let (mapper_events, stop_mapper, mapper) = serve_probe(&nats, AgentType::RelationshipMapper, |_| {}).await;
    let client = nats.connect().await;
    wait_for_instances(&client, ComponentKind::Agent(AgentType::PatternAnalyzer), 1, Duration::from_secs(10)).await;
    wait_for_instances(&client, ComponentKind::Agent(AgentType::RelationshipMapper), 1, Duration::from_secs(10)).await;

    let orchestrator = mneme_orchestrator::Orchestrator::new(client.clone(), "test", Duration::from_secs(5));
    orchestrator.broadcast("probe_event", &serde_json::json!({}), None).await.unwrap();
    eventually(Duration::from_secs(5), "both got the broadcast", async || {
        analyzer_events.load(Ordering::SeqCst) == 1 && mapper_events.load(Ordering::SeqCst) == 1
    })
    .await;
    let sent = orchestrator
        .broadcast("probe_event", &serde_json::json!({}), Some(&[AgentType::RelationshipMapper]))
        .await
        .unwrap();
    assert_eq!(sent.subjects, ["mneme.event.probe_event.relationship_mapper"]);
    eventually(Duration::from_secs(5), "the mapper got the targeted event", async || {
        mapper_events.load(Ordering::SeqCst) == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(analyzer_events.load(Ordering::SeqCst), 1, "the analyzer was not chosen");
    assert!(orchestrator.broadcast("bad.type", &serde_json::json!({}), None).await.is_err());

    let status = orchestrator.system_status().await.unwrap();
    assert_eq!(status.total_agents, 2);
    assert_eq!(status.instances_by_type["pattern_analyzer"], 1);
    assert_eq!(status.instances_by_type["privacy_guardian"], 0);
    let analyzer_status = status.agents.iter().find(|agent| agent.agent_type == "pattern_analyzer").unwrap();
    assert_eq!(analyzer_status.stats.as_ref().unwrap().events_received, 1);

    stop_analyzer.fire();
    stop_mapper.fire();
    analyzer.await.unwrap();
    mapper.await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn send_retries_while_nobody_serves_and_reports_typed_errors() {
    let nats = NatsServer::start();
    let client = nats.connect().await;
    let orchestrator = mneme_orchestrator::Orchestrator::new(client.clone(), "test", Duration::from_secs(5));
    let options = mneme_runtime::CallOptions { timeout: Some(Duration::from_millis(300)), ..Default::default() };
    let error =
        orchestrator.send(AgentType::AvatarTrainer, "echo", &serde_json::json!({}), &options).await.unwrap_err();
    assert!(matches!(error, mneme_runtime::CallError::NoResponders { .. }), "{error}");

    // A call made before the agent exists succeeds once it comes up.
    let patient = mneme_runtime::CallOptions { timeout: Some(Duration::from_secs(10)), ..Default::default() };
    let pending = {
        let orchestrator = orchestrator.clone();
        let patient = patient.clone();
        tokio::spawn(async move {
            orchestrator.send(AgentType::AvatarTrainer, "echo", &serde_json::json!({"x": 1}), &patient).await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, stop, handle) = serve_probe(&nats, AgentType::AvatarTrainer, |_| {}).await;
    let reply = pending.await.unwrap().unwrap();
    assert_eq!(reply.payload["x"], 1);

    let error =
        orchestrator.send(AgentType::AvatarTrainer, "nope", &serde_json::json!({}), &patient).await.unwrap_err();
    assert!(matches!(&error, mneme_runtime::CallError::Remote { error, .. } if error.code == 404), "{error}");
    let nobody = ComponentId::generate(ComponentKind::Agent(AgentType::AvatarTrainer));
    let error = orchestrator.send_to(&nobody, "echo", &serde_json::json!({}), &options).await.unwrap_err();
    assert!(matches!(error, mneme_runtime::CallError::NoResponders { .. }));
    stop.fire();
    handle.await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn feedback_moves_the_concurrency_limit_by_the_seeds_trend_rule() {
    use mneme_protocol::stats::{Adjustment, FeedbackReceived};

    let nats = NatsServer::start();
    let (_, stop, handle) = serve_probe(&nats, AgentType::PatternAnalyzer, |settings| {
        settings.service.max_concurrency = 8;
    })
    .await;
    let client = nats.connect().await;
    wait_for_instances(&client, ComponentKind::Agent(AgentType::PatternAnalyzer), 1, Duration::from_secs(10)).await;
    let feedback = async |score: serde_json::Value| {
        let body = msgpack_body("feedback", serde_json::json!({"performance_score": score, "source": "test"}));
        raw_request(&client, &subject("feedback"), HeaderMap::new(), body).await
    };
    let mut adjusted = Vec::new();
    for score in [1.0; 10].into_iter().chain([1.5; 10]).chain([1.0; 10]) {
        let reply = feedback(serde_json::json!(score)).await;
        let received: FeedbackReceived = reply.message.payload_as().expect("feedback_received");
        adjusted.extend(
            received.adjusted.map(|adjustment| (adjustment, received.adaptation.parameters["max_concurrency"])),
        );
    }
    // Better by half: 8 → 10 at once; then worse by a third: 10 → 8.
    assert_eq!(adjusted, [(Adjustment::Aggressive, 10.0), (Adjustment::Conservative, 8.0)]);
    let get_stats = async |detail: serde_json::Value| {
        let body = msgpack_body("get_stats", serde_json::json!({"detail": detail}));
        raw_request(&client, &subject("get_stats"), HeaderMap::new(), body).await
    };
    let stats_in = |reply: mneme_system_tests::RawReply| reply.message.payload_as::<StatsResponse>().unwrap().stats;
    let detailed = stats_in(get_stats(serde_json::json!(true)).await);
    let adaptation = detailed.adaptation.expect("the detail asked for");
    assert_eq!(adaptation.feedback_count, 30);
    assert_eq!(adaptation.last_adjustment, Some(Adjustment::Conservative));
    assert_eq!(detailed.max_concurrency, 8);
    assert_eq!(detailed.by_message_type.expect("the detail asked for")["feedback"].processed, 30);
    // The summary, which health checks and balancers poll, leaves the detail out.
    let summary = stats_in(get_stats(serde_json::json!(false)).await);
    assert_eq!((summary.adaptation, summary.by_message_type), (None, None));
    assert_eq!(summary.max_concurrency, 8);
    assert_eq!(error_of(&get_stats(serde_json::json!("yes")).await).code, 400);
    assert_eq!(error_of(&feedback(serde_json::json!("good")).await).code, 400);
    stop.fire();
    handle.await.unwrap();
}
