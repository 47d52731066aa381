//! The health monitor with real processes: an instance refusing every request of a window for what its client
//! sent stays healthy; one failing them (a store it needs gone) is reported unhealthy, and healthy again once a
//! window passes without failures; a stalled instance (SIGSTOP) is reported
//! unhealthy, by event and by `mneme health`, and healthy again when it resumes; a killed one is reported gone.

use std::time::{Duration, Instant};

use futures::StreamExt;
use nix::sys::signal::Signal;

use mneme_protocol::orchestrator::{HealthChanged, SystemHealth, event_types};
use mneme_protocol::{AgentMessage, AgentType, ComponentKind, Encoding};
use mneme_system_tests::{NatsServer, Process, eventually, mneme, msgpack_body, raw_request, wait_for_instances};

/// The next `health_changed` event about `agent_id` that `accept` takes.
async fn next_change(
    events: &mut async_nats::Subscriber,
    agent_id: &str,
    accept: impl Fn(&HealthChanged) -> bool,
) -> HealthChanged {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = tokio::time::timeout(left, events.next())
            .await
            .unwrap_or_else(|_| panic!("no matching health_changed event about {agent_id} within 30 s"))
            .expect("the subscription stays open");
        let envelope = AgentMessage::decode(&message.payload, Encoding::MessagePack).expect("an envelope");
        let change: HealthChanged = envelope.payload_as().expect("a health_changed payload");
        if change.instance.agent_id == agent_id && accept(&change) {
            return change;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_stalled_and_killed_instances_are_reported() {
    let nats = NatsServer::start();
    let client = nats.connect().await;
    let mut events = client.subscribe(mneme_protocol::subjects::event(event_types::HEALTH_CHANGED)).await.unwrap();
    let monitor = [
        ("MNEME__INGEST__ENABLED", "false"),
        ("MNEME__HEALTH__INTERVAL_MS", "1000"),
        ("MNEME__HEALTH__PROBE_TIMEOUT_MS", "700"),
    ];
    // A duplicate index of its own, so that taking it away fails this instance alone.
    const FAILING_DEDUP: &str = "mneme_failing_harvester_dedup";
    // Started one after the other, so that each process's instance is known.
    let harvesters = ComponentKind::Agent(AgentType::MemoryHarvester);
    let mut failing =
        Process::start("mneme-memory-harvester", &nats.url, &[("MNEME__HARVESTER__DEDUP_BUCKET", FAILING_DEDUP)]);
    let failing_id = wait_for_instances(&client, harvesters, 1, Duration::from_secs(30)).await[0].id.to_string();
    let stalling = Process::start("mneme-memory-harvester", &nats.url, &[]);
    let both = wait_for_instances(&client, harvesters, 2, Duration::from_secs(30)).await;
    let stalling_id = both.iter().map(|instance| instance.id.to_string()).find(|id| *id != failing_id).unwrap();
    let _orchestrator = Process::start("mneme-orchestrator", &nats.url, &monitor);
    wait_for_instances(&client, ComponentKind::Orchestrator, 1, Duration::from_secs(30)).await;
    let url = nats.url.clone();
    eventually(Duration::from_secs(30), "three healthy instances in `mneme health`", async || {
        let (ok, out) = mneme(&["--nats-url", &url, "health", "--format", "json"]);
        let health: Option<SystemHealth> = serde_json::from_str(&out).ok();
        ok && health.is_some_and(|health| health.instances.len() == 3 && health.healthy)
    })
    .await;

    // Every request in a window is refused for what the client sent: no mark against the instance.
    let ask = async |message_type: &str, payload: serde_json::Value| {
        let subject = format!("mneme.instance.memory_harvester.{failing_id}.{message_type}");
        let reply = raw_request(&client, &subject, Default::default(), msgpack_body(message_type, payload)).await;
        reply.message.as_error().expect("an error_response").code
    };
    for _ in 0..20 {
        assert_eq!(ask("validate_quality", serde_json::json!({"text": 5})).await, 400);
    }
    // Two checks of the instance later, every window holding a refusal has been judged.
    let checked_at = || {
        let (_, out) = mneme(&["--nats-url", &url, "health", "--format", "json"]);
        let health: Option<SystemHealth> = serde_json::from_str(&out).ok();
        health.and_then(|health| health.instances.into_iter().find(|instance| instance.agent_id == failing_id))
    };
    let mut last_check = checked_at().map(|instance| instance.checked_at);
    let mut checks = 0;
    eventually(Duration::from_secs(30), "two health checks after the refusals", async || {
        let now = checked_at().map(|instance| instance.checked_at);
        if now != last_check {
            last_check = now;
            checks += 1;
        }
        checks >= 2
    })
    .await;
    while let Ok(Some(message)) = tokio::time::timeout(Duration::from_millis(200), events.next()).await {
        let change: HealthChanged = AgentMessage::decode(&message.payload, Encoding::MessagePack)
            .and_then(|envelope| envelope.payload_as())
            .expect("a health_changed envelope");
        assert!(change.instance.agent_id != failing_id || change.instance.healthy, "{change:?}");
    }
    assert!(checked_at().is_some_and(|instance| instance.healthy && instance.errors == 0));

    // Every request in a window fails (its duplicate index is gone): the instance is unhealthy, and healthy
    // again after a quiet window.
    let jetstream = async_nats::jetstream::new(client.clone());
    jetstream.delete_key_value(FAILING_DEDUP).await.unwrap();
    for index in 0..20 {
        let memory =
            serde_json::json!({"raw_input": format!("A long walk by the river, number {index}."), "owner": "ann"});
        assert_eq!(ask("process_memory", memory).await, 503);
    }
    let unhealthy = next_change(&mut events, &failing_id, |change| !change.instance.healthy).await;
    assert!(unhealthy.instance.issues[0].starts_with("High error rate: 20 of "), "{unhealthy:?}");
    assert_eq!(unhealthy.previously_healthy, Some(true));
    next_change(&mut events, &failing_id, |change| change.instance.healthy).await;

    // A stalled process answers nothing: unhealthy until it resumes.
    stalling.signal(Signal::SIGSTOP);
    let silent = next_change(&mut events, &stalling_id, |change| !change.instance.healthy).await;
    assert!(silent.instance.issues[0].starts_with("Not responding"), "{silent:?}");
    let (ok, out) = mneme(&["--nats-url", &url, "health"]);
    assert!(!ok && out.contains("UNHEALTHY") && out.contains(&stalling_id), "{out}");
    stalling.signal(Signal::SIGCONT);
    next_change(&mut events, &stalling_id, |change| change.instance.healthy).await;

    // A killed process is gone.
    failing.signal(Signal::SIGKILL);
    let _ = failing.wait_exit(Duration::from_secs(10));
    let gone = next_change(&mut events, &failing_id, |change| change.gone).await;
    assert!(!gone.instance.healthy, "{gone:?}");
    eventually(Duration::from_secs(10), "the killed instance out of `mneme health`", async || {
        let (_, out) = mneme(&["--nats-url", &url, "health", "--format", "json"]);
        serde_json::from_str::<SystemHealth>(&out).is_ok_and(|health| {
            health.instances.len() == 2 && health.instances.iter().all(|instance| instance.agent_id != failing_id)
        })
    })
    .await;
}
