//! `mneme up` runs the whole system on one machine and keeps it running.

use std::time::{Duration, Instant};

use mneme_protocol::{AgentType, ComponentKind};
use mneme_system_tests::{
    NatsServer, Process, children_named, free_port, mneme, nats_server_binary, wait_for_instances,
};
use nix::sys::signal::Signal;

const HARVESTER: ComponentKind = ComponentKind::Agent(AgentType::MemoryHarvester);

#[tokio::test(flavor = "multi_thread")]
async fn starts_its_own_nats_and_every_agent_restarts_the_dead_and_stops_cleanly() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let server_binary = nats_server_binary();
    let mut up = Process::spawn(
        "mneme",
        &["up"],
        &[
            ("MNEME__SUPERVISOR__LOCAL_NATS_PORT", &port.to_string()),
            ("MNEME__SUPERVISOR__NATS_SERVER_BINARY", server_binary.to_str().unwrap()),
            ("MNEME__SUPERVISOR__DATA_DIR", data.path().to_str().unwrap()),
        ],
    );
    let url = format!("nats://127.0.0.1:{port}");
    let client = {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(client) = async_nats::connect(&url).await {
                break client;
            }
            assert!(Instant::now() < deadline, "mneme up did not start a NATS server on {url}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    assert!(data.path().join("nats").is_dir(), "the local server keeps its store under the data dir");
    let harvester = wait_for_instances(&client, HARVESTER, 1, Duration::from_secs(20)).await.remove(0);
    wait_for_instances(&client, ComponentKind::Orchestrator, 1, Duration::from_secs(20)).await;

    let pong = client.request("$SRV.PING.memory_harvester", "".into()).await.unwrap();
    assert!(String::from_utf8_lossy(&pong.payload).contains(harvester.id.as_str()));

    let (ok, status) = mneme(&["--nats-url", &url, "status"]);
    assert!(ok);
    assert!(status.contains(harvester.id.as_str()) && status.contains("active"), "{status}");
    assert!(status.contains("orchestrator_"), "{status}");
    let (ok, json) = mneme(&["--nats-url", &url, "status", "--format", "json"]);
    assert!(ok);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["instances_by_type"]["memory_harvester"], 1);

    let (ok, reply) = mneme(&[
        "--nats-url",
        &url,
        "send",
        "memory_harvester",
        "process_memory",
        r#"{"raw_input": "Picked up the new glasses; everything is sharp again."}"#,
        "--payload-only",
    ]);
    assert!(ok);
    let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(reply["processed_memory"]["word_count"], 9);
    let (ok, _) = mneme(&["--nats-url", &url, "send", "memory_harvester", "no_such_thing"]);
    assert!(!ok, "an error_response makes mneme send fail");

    // The guardian runs too, with the master key `mneme up` made for it: pseudonyms work out of the box.
    wait_for_instances(&client, ComponentKind::Agent(AgentType::PrivacyGuardian), 1, Duration::from_secs(20)).await;
    assert_eq!(std::fs::read_to_string(data.path().join("master.key")).unwrap().len(), 64);
    let (ok, reply) = mneme(&[
        "--nats-url",
        &url,
        "send",
        "privacy_guardian",
        "redact",
        r#"{"text": "Lunch with Omar Haddad", "mode": "pseudonym", "owner": "ann"}"#,
        "--payload-only",
    ]);
    assert!(ok, "{reply}");
    let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
    assert!(!reply["text"].as_str().unwrap().contains("Omar"), "{reply}");

    let pids = children_named(up.pid(), "mneme-memory-harvester");
    assert_eq!(pids.len(), 1, "one harvester process under mneme up");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pids[0]), Signal::SIGKILL).unwrap();
    let killed_at = Instant::now();
    loop {
        let instances =
            mneme_orchestrator::discovery::discover(&client, Some(HARVESTER), Default::default()).await.unwrap();
        if instances.len() == 1 && instances[0].id != harvester.id {
            break;
        }
        assert!(killed_at.elapsed() < Duration::from_secs(5), "no new harvester within 5 s of kill -9");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    up.signal(Signal::SIGINT);
    assert!(up.wait_exit(Duration::from_secs(30)).success());
    assert!(children_named(up.pid(), "mneme-memory-harvester").is_empty());
    assert!(
        async_nats::connect(&url).await.is_err() || tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "the local NATS server stopped with mneme"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn uses_the_configured_server_and_runs_replicas() {
    let nats = NatsServer::start();
    let data = tempfile::tempdir().unwrap();
    let mut up = Process::spawn(
        "mneme",
        &["--nats-url", &nats.url, "up", "--replicas", "2"],
        &[("MNEME__SUPERVISOR__DATA_DIR", data.path().to_str().unwrap())],
    );
    let client = nats.connect().await;
    let replicas = wait_for_instances(&client, HARVESTER, 2, Duration::from_secs(20)).await;
    assert_ne!(replicas[0].id, replicas[1].id);
    up.signal(Signal::SIGTERM);
    assert!(up.wait_exit(Duration::from_secs(30)).success());
    let remaining =
        mneme_orchestrator::discovery::discover(&client, Some(HARVESTER), Default::default()).await.unwrap();
    assert!(remaining.is_empty(), "every replica stopped with mneme up");
}

#[tokio::test(flavor = "multi_thread")]
async fn scale_starts_replicas_that_share_the_load_and_drains_them_without_losing_a_request() {
    let nats = NatsServer::start();
    let data = tempfile::tempdir().unwrap();
    let mut up = harvester_only(&nats, &data);
    let client = nats.connect().await;
    wait_for_instances(&client, HARVESTER, 1, Duration::from_secs(20)).await;
    let url = nats.url.clone();
    let (ok, out) = mneme(&["--nats-url", &url, "scale", "memory_harvester", "3"]);
    assert!(ok && out.contains("memory_harvester: 1 -> 3 replicas"), "{out}");
    wait_for_instances(&client, HARVESTER, 3, Duration::from_secs(20)).await;
    let (ok, _) = mneme(&["--nats-url", &url, "scale", "privacy_guardian", "2"]);
    assert!(!ok, "only what this supervisor runs can be scaled");

    // Requests, 32 at a time, through the queue group; after 500, two replicas are drained.
    let body = mneme_system_tests::msgpack_body(
        "process_memory",
        serde_json::json!({"raw_input": "Walked the long way home along the canal.", "owner": "ann"}),
    );
    let subject = mneme_protocol::subjects::request(HARVESTER, "process_memory");
    let mut answered_by = std::collections::HashMap::<String, usize>::new();
    let mut failures = Vec::new();
    let mut scaling = None;
    let mut in_flight = futures::stream::FuturesUnordered::new();
    // Core NATS request-reply is at most once: a request the server routed to a replica in the instant it
    // unsubscribed can go unanswered (async-nats forgets a drained subscription without waiting for the
    // server's confirmation). A caller that times out sends it again, as callers of an idempotent request do;
    // what must not happen is a request that never gets an answer.
    let send = |client: async_nats::Client| {
        let (subject, body) = (subject.clone(), body.clone());
        async move {
            let mut attempt = 0;
            loop {
                attempt += 1;
                let request =
                    async_nats::Request::new().payload(body.clone().into()).timeout(Some(Duration::from_secs(5)));
                match client.send_request(subject.clone(), request).await {
                    Err(error) if attempt < 3 && error.kind() == async_nats::RequestErrorKind::TimedOut => continue,
                    answer => break answer,
                }
            }
        }
    };
    // Requests keep going until the drain is over, so that it happens under load.
    let mut sent = 0;
    while sent < 1_000
        || scaling.as_ref().is_some_and(|scaling: &tokio::task::JoinHandle<(bool, String)>| !scaling.is_finished())
    {
        if sent == 500 {
            let url = url.clone();
            scaling = Some(tokio::task::spawn_blocking(move || {
                mneme(&["--nats-url", &url, "scale", "memory_harvester", "1"])
            }));
        }
        in_flight.push(send(client.clone()));
        sent += 1;
        if in_flight.len() >= 32 {
            record(futures::StreamExt::next(&mut in_flight).await.unwrap(), &mut answered_by, &mut failures);
        }
    }
    while let Some(reply) = futures::StreamExt::next(&mut in_flight).await {
        record(reply, &mut answered_by, &mut failures);
    }
    assert!(failures.is_empty(), "lost requests: {failures:?}");
    assert_eq!(answered_by.values().sum::<usize>(), sent);
    assert_eq!(answered_by.len(), 3, "three replicas shared the load: {answered_by:?}");
    let (ok, out) = scaling.unwrap().await.unwrap();
    assert!(ok && out.lines().any(|line| line == "memory_harvester: 3 -> 1 replica"), "{out}");
    wait_for_instances(&client, HARVESTER, 1, Duration::from_secs(20)).await;
    up.signal(Signal::SIGTERM);
    assert!(up.wait_exit(Duration::from_secs(30)).success());
}

fn record(
    reply: Result<async_nats::Message, async_nats::RequestError>,
    answered_by: &mut std::collections::HashMap<String, usize>,
    failures: &mut Vec<String>,
) {
    match reply {
        Ok(message) => {
            let envelope =
                mneme_protocol::AgentMessage::decode(&message.payload, mneme_protocol::Encoding::MessagePack)
                    .expect("an envelope");
            match envelope.as_error() {
                None => *answered_by.entry(envelope.sender_id).or_default() += 1,
                Some(error) => failures.push(error.error.clone()),
            }
        }
        Err(error) => failures.push(error.to_string()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_supervisor_takes_its_processes_with_it() {
    let nats = NatsServer::start();
    let data = tempfile::tempdir().unwrap();
    let mut up = harvester_only(&nats, &data);
    let client = nats.connect().await;
    wait_for_instances(&client, HARVESTER, 1, Duration::from_secs(20)).await;
    wait_for_instances(&client, ComponentKind::Orchestrator, 1, Duration::from_secs(20)).await;
    up.signal(Signal::SIGKILL);
    let _ = up.wait_exit(Duration::from_secs(10));
    wait_for_instances(&client, HARVESTER, 0, Duration::from_secs(20)).await;
    wait_for_instances(&client, ComponentKind::Orchestrator, 0, Duration::from_secs(20)).await;
}

/// `mneme up` on `nats` running the harvester (and the orchestrator) only.
fn harvester_only(nats: &NatsServer, data: &tempfile::TempDir) -> Process {
    Process::spawn(
        "mneme",
        &["--nats-url", &nats.url, "up"],
        &[
            ("MNEME__SUPERVISOR__DATA_DIR", data.path().to_str().unwrap()),
            ("MNEME__SUPERVISOR__AGENTS", "memory_harvester"),
        ],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_autoscaler_adds_replicas_under_load_and_removes_them_after_it() {
    let nats = NatsServer::start();
    let data = tempfile::tempdir().unwrap();
    let client = nats.connect().await;
    let mut announcements = client
        .subscribe(mneme_protocol::subjects::event(mneme_protocol::orchestrator::event_types::AUTOSCALED))
        .await
        .unwrap();
    // One request at a time per harvester, so that a steady 48 in flight is a queue to measure.
    let mut up = Process::spawn(
        "mneme",
        &["--nats-url", &nats.url, "up"],
        &[
            ("MNEME__SUPERVISOR__DATA_DIR", data.path().to_str().unwrap()),
            ("MNEME__SUPERVISOR__AGENTS", "memory_harvester"),
            ("MNEME__SERVICE__MAX_CONCURRENCY", "1"),
            ("MNEME__AUTOSCALE__ENABLED", "true"),
            ("MNEME__AUTOSCALE__INTERVAL_MS", "300"),
            ("MNEME__AUTOSCALE__POLICIES__MEMORY_HARVESTER__METRIC", "in_flight"),
            ("MNEME__AUTOSCALE__POLICIES__MEMORY_HARVESTER__TARGET", "4"),
            ("MNEME__AUTOSCALE__POLICIES__MEMORY_HARVESTER__MIN", "1"),
            ("MNEME__AUTOSCALE__POLICIES__MEMORY_HARVESTER__MAX", "3"),
            ("MNEME__AUTOSCALE__POLICIES__MEMORY_HARVESTER__COOLDOWN_SECS", "1"),
        ],
    );
    wait_for_instances(&client, HARVESTER, 1, Duration::from_secs(20)).await;

    let load = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let subject = mneme_protocol::subjects::request(HARVESTER, "process_memory");
    let senders: Vec<_> = (0..48)
        .map(|sender| {
            let (client, subject, load) = (client.clone(), subject.clone(), load.clone());
            tokio::spawn(async move {
                let mut sent = 0u64;
                while !load.load(std::sync::atomic::Ordering::Relaxed) {
                    let body = mneme_system_tests::msgpack_body(
                        "process_memory",
                        serde_json::json!({"raw_input": format!("Walked the canal path, note {sender}-{sent}."), "owner": "ann"}),
                    );
                    let request = async_nats::Request::new().payload(body.into()).timeout(Some(Duration::from_secs(10)));
                    let _ = client.send_request(subject.clone(), request).await;
                    sent += 1;
                }
            })
        })
        .collect();
    wait_for_instances(&client, HARVESTER, 3, Duration::from_secs(60)).await;
    load.store(true, std::sync::atomic::Ordering::Relaxed);
    for sender in senders {
        sender.await.unwrap();
    }
    wait_for_instances(&client, HARVESTER, 1, Duration::from_secs(60)).await;

    let mut changes = Vec::new();
    while let Ok(Some(message)) =
        tokio::time::timeout(Duration::from_millis(500), futures::StreamExt::next(&mut announcements)).await
    {
        let envelope =
            mneme_protocol::AgentMessage::decode(&message.payload, mneme_protocol::Encoding::MessagePack).unwrap();
        let change: mneme_protocol::orchestrator::Autoscaled = envelope.payload_as().unwrap();
        assert_eq!(change.metric, "in_flight");
        changes.push((change.before, change.after));
    }
    assert!(changes.first().is_some_and(|(before, after)| *before == 1 && *after > 1), "{changes:?}");
    assert_eq!(changes.last().map(|(_, after)| *after), Some(1), "{changes:?}");
    let (ok, out) = mneme(&["--nats-url", &nats.url, "status"]);
    assert!(ok, "{out}");
    up.signal(Signal::SIGTERM);
    assert!(up.wait_exit(Duration::from_secs(30)).success());
}
