//! The seed's event broadcast with real processes: an event sent through the orchestrator process's
//! `broadcast` endpoint, or by `mneme broadcast`, to chosen agent types reaches exactly those, and without a
//! choice reaches every agent that listens for it.

use std::time::Duration;

use mneme_protocol::orchestrator::{BroadcastSent, message_types};
use mneme_protocol::stats::StatsResponse;
use mneme_protocol::{AgentType, ComponentKind, builtin};
use mneme_system_tests::{NatsServer, Process, eventually, mneme, msgpack_body, raw_request, wait_for_instances};

async fn events_received(client: &async_nats::Client, agent: AgentType) -> u64 {
    let subject = mneme_protocol::subjects::request(ComponentKind::Agent(agent), builtin::GET_STATS);
    let reply =
        raw_request(client, &subject, Default::default(), msgpack_body(builtin::GET_STATS, serde_json::json!({})))
            .await;
    let stats: StatsResponse = reply.message.payload_as().expect("stats");
    stats.stats.events_received
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broadcast_reaches_exactly_the_chosen_agent_types() {
    let nats = NatsServer::start();
    let client = nats.connect().await;
    let _harvester = Process::start("mneme-memory-harvester", &nats.url, &[]);
    let _analyzer = Process::start("mneme-pattern-analyzer", &nats.url, &[]);
    let quiet = [("MNEME__INGEST__ENABLED", "false"), ("MNEME__HEALTH__ENABLED", "false")];
    let _orchestrator = Process::start("mneme-orchestrator", &nats.url, &quiet);
    for kind in [
        ComponentKind::Agent(AgentType::MemoryHarvester),
        ComponentKind::Agent(AgentType::PatternAnalyzer),
        ComponentKind::Orchestrator,
    ] {
        wait_for_instances(&client, kind, 1, Duration::from_secs(30)).await;
    }
    // Both listen for `memory_forgotten`; forgetting an owner who has nothing changes nothing.
    let forgotten =
        serde_json::json!({"owner": "nobody", "memory_id": null, "memories_deleted": 0, "key_destroyed": true});

    let subject = mneme_protocol::subjects::request(ComponentKind::Orchestrator, message_types::BROADCAST);
    let request = serde_json::json!({"event_type": "memory_forgotten", "payload": forgotten, "agent_types": ["pattern_analyzer"]});
    let reply =
        raw_request(&client, &subject, Default::default(), msgpack_body(message_types::BROADCAST, request)).await;
    let sent: BroadcastSent = reply.message.payload_as().expect("broadcast_sent");
    assert_eq!(sent.subjects, ["mneme.event.memory_forgotten.pattern_analyzer"]);
    eventually(Duration::from_secs(10), "the analyzer got it", async || {
        events_received(&client, AgentType::PatternAnalyzer).await == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(events_received(&client, AgentType::MemoryHarvester).await, 0, "the harvester was not chosen");

    let payload = forgotten.to_string();
    let (ok, out) =
        mneme(&["--nats-url", &nats.url, "broadcast", "memory_forgotten", &payload, "--to", "memory_harvester"]);
    assert!(ok, "{out}");
    eventually(Duration::from_secs(10), "the harvester got the second", async || {
        events_received(&client, AgentType::MemoryHarvester).await == 1
    })
    .await;
    assert_eq!(events_received(&client, AgentType::PatternAnalyzer).await, 1);

    let (ok, out) = mneme(&["--nats-url", &nats.url, "broadcast", "memory_forgotten", &payload]);
    assert!(ok, "{out}");
    eventually(Duration::from_secs(10), "both got the third", async || {
        events_received(&client, AgentType::MemoryHarvester).await == 2
            && events_received(&client, AgentType::PatternAnalyzer).await == 2
    })
    .await;
}
