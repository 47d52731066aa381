//! Replicas share the load through the queue group, and a stopping instance answers everything it took.

use std::time::Duration;

use async_nats::HeaderMap;
use futures::StreamExt;
use mneme_protocol::stats::StatsResponse;
use mneme_protocol::{AgentType, ComponentKind};
use mneme_system_tests::{NatsServer, Process, eventually, msgpack_body, raw_request, wait_for_instances};
use nix::sys::signal::Signal;

const HARVESTER: ComponentKind = ComponentKind::Agent(AgentType::MemoryHarvester);

/// An instance's stats: the summary, asked for with an empty body, or with `detail` its counters by message type.
async fn stats_of(
    client: &async_nats::Client,
    id: &mneme_protocol::ComponentId,
    detail: bool,
) -> mneme_protocol::AgentStats {
    let body = if detail { msgpack_body("get_stats", serde_json::json!({"detail": true})) } else { Vec::new() };
    let reply =
        raw_request(client, &format!("mneme.instance.memory_harvester.{id}.get_stats"), HeaderMap::new(), body).await;
    reply.message.payload_as::<StatsResponse>().expect("stats").stats
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_share_a_thousand_requests() {
    let nats = NatsServer::start();
    let _first = Process::start("mneme-memory-harvester", &nats.url, &[]);
    let _second = Process::start("mneme-memory-harvester", &nats.url, &[]);
    let client = nats.connect().await;
    let instances = wait_for_instances(&client, HARVESTER, 2, Duration::from_secs(20)).await;

    let replies: Vec<String> = futures::stream::iter(0..1_000)
        .map(|index| {
            let client = client.clone();
            async move {
                let payload = serde_json::json!({"raw_input": format!("Note number {index}: watered the tomatoes and fixed the fence"), "owner": "ann"});
                let reply = raw_request(&client, "mneme.agent.memory_harvester.process_memory", HeaderMap::new(), msgpack_body("process_memory", payload)).await;
                assert_eq!(reply.message.message_type, "memory_processed", "{:?}", reply.message.payload);
                reply.message.sender_id
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    assert_eq!(replies.len(), 1_000);

    let mut total = 0;
    for instance in &instances {
        let answered = replies.iter().filter(|sender| **sender == instance.id.as_str()).count();
        let stats = stats_of(&client, &instance.id, true).await;
        let counted = stats.by_message_type.expect("the detail asked for")["process_memory"].processed as usize;
        assert_eq!(counted, answered, "{}: its own count agrees with what clients saw", instance.id);
        assert!(answered >= 200, "{} answered only {answered} of 1000: the queue group did not balance", instance.id);
        total += counted;
    }
    assert_eq!(total, 1_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_with_a_hundred_requests_in_flight_answers_all_of_them() {
    let nats = NatsServer::start();
    let mut harvester = Process::start(
        "mneme-memory-harvester",
        &nats.url,
        &[
            ("MNEME__SERVICE__MAX_CONCURRENCY", "16"),
            // The drain is what is tested, not its speed on a shared machine.
            ("MNEME__SERVICE__SHUTDOWN_GRACE_MS", "180000"),
        ],
    );
    let client = nats.connect().await;
    let instance = wait_for_instances(&client, HARVESTER, 1, Duration::from_secs(20)).await.remove(0);

    // Batches of 10 distinct notes each take a while (every note is checked against the shared index),
    // so a hundred of them are still in flight or waiting when the signal arrives.
    let requests: Vec<_> = (0..100)
        .map(|batch| {
            let client = client.clone();
            tokio::spawn(async move {
                let raw_inputs: Vec<String> = (0..10)
                    .map(|note| format!("Batch {batch}, note {note}: a day of small things worth keeping"))
                    .collect();
                let payload = serde_json::json!({"raw_inputs": raw_inputs, "owner": format!("owner-{batch}")});
                let request = async_nats::Request::new()
                    .payload(msgpack_body("batch_process", payload).into())
                    .timeout(Some(Duration::from_secs(200)));
                client.send_request("mneme.agent.memory_harvester.batch_process", request).await
            })
        })
        .collect();
    eventually(Duration::from_secs(20), "a hundred requests taken in", async || {
        stats_of(&client, &instance.id, false).await.queue_size >= 100
    })
    .await;
    harvester.signal(Signal::SIGTERM);

    let mut answered = 0;
    for request in requests {
        let reply = request.await.unwrap().expect("every request taken in is answered");
        let message = mneme_protocol::AgentMessage::decode(&reply.payload, Default::default()).unwrap();
        assert_eq!(message.message_type, "batch_processed", "{:?}", message.payload);
        assert_eq!(message.payload["processed_memories"].as_array().unwrap().len(), 10);
        answered += 1;
    }
    assert_eq!(answered, 100);
    assert!(harvester.wait_exit(Duration::from_secs(60)).success());
}
