//! A soak: the harvester, the guardian and the pattern analyzer answer a steady stream of requests at half of
//! what they can take, and none of them grows: resident memory at the end within 10% of what it was after
//! warming up. The stream uses their stateless endpoints (`validate_quality`, `detect_pii`,
//! `analyze_sentiment`), so that growth would be a leak rather than what they rightly keep. 20 s in CI;
//! `MNEME_SOAK_SECS=600` for the full ten minutes.

use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use futures::StreamExt;

use mneme_protocol::{AgentType, ComponentKind, subjects};
use mneme_system_tests::{MasterKey, NatsServer, Process, msgpack_body, resident_kib, wait_for_instances};

const IN_FLIGHT: usize = 16;

fn soak_duration() -> Duration {
    Duration::from_secs(std::env::var("MNEME_SOAK_SECS").ok().and_then(|secs| secs.parse().ok()).unwrap_or(20))
}

/// The `index`th request: a text of its own for one of the three agents, in turn.
fn request(index: usize) -> (String, Vec<u8>) {
    let text = format!(
        "Note {index}: met Anna Keller (anna{index}@example.org) at the {} market; felt {} about the move.",
        ["flower", "fish", "book"][index % 3],
        ["great", "uneasy", "fine", "sad"][index % 4]
    );
    let (agent, message_type, payload) = match index % 3 {
        0 => (AgentType::MemoryHarvester, "validate_quality", serde_json::json!({"text": text})),
        1 => (AgentType::PrivacyGuardian, "detect_pii", serde_json::json!({"text": text})),
        _ => (AgentType::PatternAnalyzer, "analyze_sentiment", serde_json::json!({"texts": [text]})),
    };
    (subjects::request(ComponentKind::Agent(agent), message_type), msgpack_body(message_type, payload))
}

/// Sends requests for `duration`, `IN_FLIGHT` at once, at most `rate` a second when given; returns how many
/// were answered.
async fn drive(client: &async_nats::Client, duration: Duration, rate: Option<f64>, first: usize) -> usize {
    let started = Instant::now();
    let mut sent = 0;
    let mut answered = 0;
    let mut outstanding = futures::stream::FuturesUnordered::new();
    loop {
        while outstanding.len() < IN_FLIGHT && started.elapsed() < duration {
            if let Some(rate) = rate {
                let due = started + Duration::from_secs_f64(sent as f64 / rate);
                if Instant::now() < due {
                    break;
                }
            }
            let (subject, body) = request(first + sent);
            let client = client.clone();
            outstanding.push(async move {
                let reply =
                    client.request_with_headers(subject, HeaderMap::new(), body.into()).await.expect("an answer");
                let message =
                    mneme_protocol::AgentMessage::decode(&reply.payload, mneme_protocol::Encoding::MessagePack)
                        .expect("an envelope");
                assert!(message.as_error().is_none(), "{:?}", message.payload);
            });
            sent += 1;
        }
        if outstanding.is_empty() && started.elapsed() >= duration {
            return answered;
        }
        if let Ok(Some(())) = tokio::time::timeout(Duration::from_millis(5), outstanding.next()).await {
            answered += 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn half_capacity_for_a_while_grows_no_process() {
    let nats = NatsServer::start();
    let client = nats.connect().await;
    let master_key = MasterKey::new("4e");
    let agents = [AgentType::MemoryHarvester, AgentType::PrivacyGuardian, AgentType::PatternAnalyzer];
    let processes: Vec<Process> = agents
        .iter()
        .map(|agent| {
            Process::start(&agent.binary_name(), &nats.url, &[("MNEME__GUARDIAN__MASTER_KEY_FILE", &master_key.file)])
        })
        .collect();
    for agent in agents {
        wait_for_instances(&client, ComponentKind::Agent(agent), 1, Duration::from_secs(30)).await;
    }

    // What they take at full speed, which also warms them up.
    let probe = Duration::from_secs(3);
    let capacity = drive(&client, probe, None, 0).await as f64 / probe.as_secs_f64();
    let rate = capacity / 2.0;
    let warm = drive(&client, Duration::from_secs(3), Some(rate), 1_000_000).await;
    assert!(warm > 0);
    let before: Vec<u64> = processes.iter().map(|process| resident_kib(process.pid())).collect();

    let duration = soak_duration();
    let answered = drive(&client, duration, Some(rate), 2_000_000).await;
    let after: Vec<u64> = processes.iter().map(|process| resident_kib(process.pid())).collect();
    assert!(before.iter().chain(&after).all(|kib| *kib > 0), "a process is gone: {before:?} {after:?}");
    eprintln!(
        "soak: {answered} requests in {duration:?} at {rate:.0}/s (capacity {capacity:.0}/s); RSS KiB before {before:?}, after {after:?}"
    );
    assert!(answered as f64 >= rate * duration.as_secs_f64() * 0.8, "the rate was not held: {answered}");
    for ((agent, before), after) in agents.iter().zip(&before).zip(&after) {
        assert!(*after as f64 <= *before as f64 * 1.10, "{agent:?} grew from {before} KiB to {after} KiB");
    }
}
