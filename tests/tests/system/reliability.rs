//! Failures survived, with real processes: nats-server killed and started again on its file store in the
//! middle of an ingest loses no input it acknowledged, and stores none twice; instances killed again and again
//! while inputs flow lose nothing either; a stalled replica's share goes to the others. Sizes are small for
//! CI; `MNEME_RELIABILITY_SIZE` sets larger ones.

use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use nix::sys::signal::Signal;

use mneme_protocol::guardian::MemoryCount;
use mneme_protocol::stats::StatsResponse;
use mneme_protocol::{AgentType, ComponentKind, subjects};
use mneme_system_tests::{MasterKey, NatsServer, Process, mneme, msgpack_body, raw_request, wait_for_instances};

/// Only the steps that store a memory (harvester, guardian), patient with a server that goes away.
const INGEST_ENV: [(&str, &str); 8] = [
    ("MNEME__INGEST__TRAIN_AVATAR", "false"),
    ("MNEME__INGEST__ANALYZE_PATTERNS", "false"),
    ("MNEME__INGEST__MAP_RELATIONSHIPS", "false"),
    ("MNEME__INGEST__INDEX_MEMORIES", "false"),
    ("MNEME__INGEST__ACK_WAIT_MS", "10000"),
    ("MNEME__INGEST__STEP_TIMEOUT_MS", "4000"),
    ("MNEME__INGEST__RETRY_BACKOFF_MS", "200,500,1000"),
    ("MNEME__INGEST__MAX_DELIVER", "50"),
];

fn size(default: usize) -> usize {
    std::env::var("MNEME_RELIABILITY_SIZE").ok().and_then(|size| size.parse().ok()).unwrap_or(default)
}

fn input(index: usize) -> (String, Vec<u8>) {
    let text = format!(
        "Reliability note {index}: the {} walk, {} minutes by the river.",
        ["early", "late"][index % 2],
        index % 97
    );
    let body = msgpack_body(
        "process_memory",
        serde_json::json!({"raw_input": text, "owner": "rel", "source": format!("note-{index}")}),
    );
    (format!("reliability-{index}"), body)
}

/// Publishes an input until the stream acknowledges it, across a server that is away for a while.
async fn publish_until_acknowledged(jetstream: &async_nats::jetstream::Context, index: usize) {
    let (id, body) = input(index);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", id.as_str());
        let acknowledged =
            match jetstream.publish_with_headers(subjects::ingest("rel"), headers, body.clone().into()).await {
                Ok(ack) => ack.await.is_ok(),
                Err(_) => false,
            };
        if acknowledged {
            return;
        }
        assert!(Instant::now() < deadline, "input {index} was never acknowledged");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn count(url: &str) -> Option<usize> {
    let (ok, out) =
        mneme(&["--nats-url", url, "memories", "count", "--owner", "rel", "--as", "rel", "--format", "json"]);
    ok.then(|| serde_json::from_str::<MemoryCount>(&out).ok()).flatten().map(|count| count.count)
}

async fn wait_for_count(url: &str, expected: usize, limit: Duration) {
    let deadline = Instant::now() + limit;
    let mut last = None;
    while Instant::now() < deadline {
        last = count(url);
        if last == Some(expected) {
            return;
        }
        assert!(last.is_none_or(|count| count <= expected), "more memories than inputs: {last:?} > {expected}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("{last:?} memories stored, {expected} expected");
}

fn start(kind: ComponentKind, url: &str, key: &str) -> Process {
    match kind {
        ComponentKind::Orchestrator => Process::start("mneme-orchestrator", url, &INGEST_ENV),
        ComponentKind::Agent(agent) => {
            Process::start(&agent.binary_name(), url, &[("MNEME__GUARDIAN__MASTER_KEY_FILE", key)])
        }
    }
}

const KINDS: [ComponentKind; 3] = [
    ComponentKind::Agent(AgentType::MemoryHarvester),
    ComponentKind::Agent(AgentType::PrivacyGuardian),
    ComponentKind::Orchestrator,
];

#[tokio::test(flavor = "multi_thread")]
async fn a_nats_server_restarted_mid_ingest_loses_no_acknowledged_input() {
    let mut nats = NatsServer::start();
    let url = nats.url.clone();
    let master_key = MasterKey::new("8e");
    let _processes: Vec<Process> = KINDS.iter().map(|kind| start(*kind, &url, &master_key.file)).collect();
    let client = nats.connect().await;
    for kind in KINDS {
        wait_for_instances(&client, kind, 1, Duration::from_secs(30)).await;
    }

    let total = size(400);
    let jetstream = async_nats::jetstream::new(client.clone());
    for index in 0..total {
        if index == total / 2 {
            // Killed as a crash would; back on the same port and store, while everyone reconnects.
            nats.restart();
        }
        publish_until_acknowledged(&jetstream, index).await;
    }
    wait_for_count(&url, total, Duration::from_secs(240)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn instances_killed_again_and_again_lose_and_double_nothing() {
    let nats = NatsServer::start();
    let url = nats.url.clone();
    let master_key = MasterKey::new("8f");
    // Two of each, so that one is always there while the other is killed and replaced.
    let mut processes: Vec<(ComponentKind, Process)> = KINDS
        .iter()
        .flat_map(|kind| [(*kind, start(*kind, &url, &master_key.file)), (*kind, start(*kind, &url, &master_key.file))])
        .collect();
    let client = nats.connect().await;
    for kind in KINDS {
        wait_for_instances(&client, kind, 2, Duration::from_secs(30)).await;
    }

    let total = size(1_000);
    let jetstream = async_nats::jetstream::new(client.clone());
    let publisher = tokio::spawn(async move {
        for index in 0..total {
            publish_until_acknowledged(&jetstream, index).await;
        }
    });
    // Every two seconds, until everything is stored: kill -9 one instance, chosen in turn over the kinds and
    // replicas, and start its replacement.
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut kills = 0;
    while count(&url) != Some(total) {
        assert!(Instant::now() < deadline, "{:?} of {total} stored within 300 s", count(&url));
        tokio::time::sleep(Duration::from_secs(2)).await;
        let victim = (kills * 7 + 3) % processes.len();
        let (kind, process) = processes.remove(victim);
        process.signal(Signal::SIGKILL);
        drop(process);
        processes.push((kind, start(kind, &url, &master_key.file)));
        kills += 1;
    }
    publisher.await.expect("every input acknowledged");
    eprintln!("{total} inputs stored once each while {kills} instances were killed");
    assert!(kills >= 3, "only {kills} kills before the end: make the run larger");
    // Settled: still exactly one memory per input.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(count(&url), Some(total));
}

/// One harvester of three stalls (SIGSTOP, as a starved node does) in the middle of an ingest whose harvester
/// step is balanced by `least_loaded`: the other two take its share, and every input is stored once. Stalled,
/// it answers no discovery, so the orchestrator's pool drops it at its next refresh; what it held times out
/// and is delivered again, to the others.
#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_replicas_share_is_taken_by_the_others() {
    let nats = NatsServer::start();
    let url = nats.url.clone();
    let master_key = MasterKey::new("90");
    let client = nats.connect().await;
    let harvester = ComponentKind::Agent(AgentType::MemoryHarvester);
    let _guardian = start(ComponentKind::Agent(AgentType::PrivacyGuardian), &url, &master_key.file);
    let mut harvesters = Vec::new();
    let mut ids = Vec::new();
    for running in 1..=3 {
        harvesters.push(start(harvester, &url, &master_key.file));
        let found = wait_for_instances(&client, harvester, running, Duration::from_secs(30)).await;
        let started = found.into_iter().map(|instance| instance.id).find(|id| !ids.contains(id));
        ids.push(started.expect("the harvester just started"));
    }
    let environment: Vec<(&str, &str)> =
        INGEST_ENV.into_iter().chain([("MNEME__INGEST__BALANCING__MEMORY_HARVESTER", "least_loaded")]).collect();
    let _orchestrator = Process::start("mneme-orchestrator", &url, &environment);
    wait_for_instances(&client, ComponentKind::Orchestrator, 1, Duration::from_secs(30)).await;

    let total = size(300);
    let jetstream = async_nats::jetstream::new(client.clone());
    for index in 0..total {
        publish_until_acknowledged(&jetstream, index).await;
    }
    let stalled = &harvesters[2];
    let deadline = Instant::now() + Duration::from_secs(120);
    while count(&url).is_none_or(|stored| stored < total / 4) {
        assert!(Instant::now() < deadline, "a quarter of the inputs not stored within 120 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stalled.signal(Signal::SIGSTOP);
    wait_for_count(&url, total, Duration::from_secs(240)).await;
    stalled.signal(Signal::SIGCONT);

    let mut processed = Vec::new();
    for id in &ids {
        let subject = subjects::instance(id, "get_stats");
        let body = msgpack_body("get_stats", serde_json::json!({"detail": true}));
        let reply = raw_request(&client, &subject, HeaderMap::new(), body).await;
        let stats = reply.message.payload_as::<StatsResponse>().expect("stats").stats;
        let by_message_type = stats.by_message_type.expect("the detail asked for");
        processed.push(by_message_type.get("process_memory").map_or(0, |stats| stats.processed));
    }
    eprintln!("process_memory handled by the three harvesters, the last stalled: {processed:?}");
    // An even share would be a third; the stalled one took some before it stalled and what it held.
    assert!(processed[2] < total as u64 / 3, "the stalled harvester kept its share: {processed:?}");
    for share in &processed[..2] {
        assert!(*share > total as u64 / 3, "the others did not take the stalled one's share: {processed:?}");
    }
    // What it held, answered late to callers long gone, stores nothing twice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(count(&url), Some(total));
}
