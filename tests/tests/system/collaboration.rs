//! The seed's collaboration protocol with real processes, through the orchestrator's `collaborate` endpoint:
//! parts assigned by advertised capability, answers merged, agreed on and taken first; with the privacy
//! guardian stalled (SIGSTOP), a merge returns a partial result at its deadline naming what is missing.

use std::time::Duration;

use nix::sys::signal::Signal;

use mneme_protocol::orchestrator::{CollaborationResult, message_types};
use mneme_protocol::{AgentType, ComponentKind};
use mneme_system_tests::{MasterKey, NatsServer, Process, msgpack_body, raw_request, wait_for_instances};

async fn collaborate(client: &async_nats::Client, task: serde_json::Value) -> CollaborationResult {
    let subject = mneme_protocol::subjects::request(ComponentKind::Orchestrator, message_types::COLLABORATE);
    let reply = raw_request(client, &subject, Default::default(), msgpack_body(message_types::COLLABORATE, task)).await;
    assert!(reply.message.as_error().is_none(), "{:?}", reply.message.as_error());
    reply.message.payload_as().expect("a collaboration result")
}

fn quality(text: &str) -> serde_json::Value {
    serde_json::json!({"capability": "validate_quality", "payload": {"text": text}})
}

fn pii(text: &str) -> serde_json::Value {
    serde_json::json!({"capability": "detect_pii", "payload": {"text": text}})
}

#[tokio::test(flavor = "multi_thread")]
async fn parts_go_to_capable_agents_and_a_stalled_one_leaves_a_partial_result_at_the_deadline() {
    let nats = NatsServer::start();
    let client = nats.connect().await;
    let master_key = MasterKey::new("7f");
    let key = master_key.file.clone();
    let _harvesters = [
        Process::start("mneme-memory-harvester", &nats.url, &[]),
        Process::start("mneme-memory-harvester", &nats.url, &[]),
    ];
    let guardian = Process::start("mneme-privacy-guardian", &nats.url, &[("MNEME__GUARDIAN__MASTER_KEY_FILE", &key)]);
    let quiet = [("MNEME__INGEST__ENABLED", "false"), ("MNEME__HEALTH__ENABLED", "false")];
    let _orchestrator = Process::start("mneme-orchestrator", &nats.url, &quiet);
    wait_for_instances(&client, ComponentKind::Agent(AgentType::MemoryHarvester), 2, Duration::from_secs(30)).await;
    wait_for_instances(&client, ComponentKind::Agent(AgentType::PrivacyGuardian), 1, Duration::from_secs(30)).await;
    wait_for_instances(&client, ComponentKind::Orchestrator, 1, Duration::from_secs(30)).await;

    let text = "Dinner with Omar Haddad on Friday, call him on +44 20 7946 0958.";
    let agreed = collaborate(
        &client,
        serde_json::json!({"task": "is it worth keeping", "subtasks": [quality(text), quality(text), quality(text)], "strategy": "consensus"}),
    )
    .await;
    assert!(agreed.complete, "{agreed:?}");
    assert_eq!((agreed.agreed, agreed.quorum), (Some(3), Some(2)));
    assert!(agreed.outcome.as_ref().is_some_and(|outcome| outcome["acceptable"] == true), "{agreed:?}");

    let merged = collaborate(
        &client,
        serde_json::json!({"task": "read a note", "subtasks": [quality(text), pii(text), {"capability": "no_such_thing"}]}),
    )
    .await;
    assert!(!merged.complete);
    assert_eq!(merged.results.len(), 2, "{merged:?}");
    assert!(merged.results[0].agent_id.starts_with("memory_harvester_"));
    assert!(merged.results[1].agent_id.starts_with("privacy_guardian_"));
    assert!(merged.missing[0].reason.contains("no running agent advertises `no_such_thing`"), "{merged:?}");

    // The guardian stalls: its part is missing at the deadline, the rest is there.
    guardian.signal(Signal::SIGSTOP);
    let partial = collaborate(
        &client,
        serde_json::json!({"task": "read a note", "subtasks": [quality(text), pii(text)], "deadline_ms": 1000}),
    )
    .await;
    assert!(!partial.complete, "{partial:?}");
    assert_eq!(partial.results.len(), 1);
    assert_eq!(partial.missing.len(), 1);
    assert_eq!(partial.missing[0].agent_type.as_deref(), Some("privacy_guardian"));
    // Not a measure of speed: the result comes at the deadline, not when the stalled part would have.
    assert!(partial.elapsed_ms < 5_000, "{partial:?}");
    let first = collaborate(
        &client,
        serde_json::json!({"task": "anyone", "subtasks": [pii(text), quality(text)], "strategy": "first_good", "deadline_ms": 3000}),
    )
    .await;
    assert!(
        first.complete && first.results.len() == 1 && first.results[0].capability == "validate_quality",
        "{first:?}"
    );
    guardian.signal(Signal::SIGCONT);
}
