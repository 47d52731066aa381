//! What each Mneme process costs to run: the time from starting it to its `/readyz` answering 200
//! (connected, endpoints confirmed by a round trip), its resident memory idle, and its peak while the whole
//! system takes a stream of memories through every agent (harvester, guardian, analyzer, mapper, avatar
//! trainer, recall index).
//!
//! Run with `cargo bench -p mneme-system-tests --bench footprint`.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use mneme_protocol::{AgentType, ComponentKind, subjects};
use mneme_system_tests::{MasterKey, NatsServer, Process, free_port, mneme, msgpack_body, resident_kib};

/// The allocator every Mneme executable uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const MEMORIES: usize = 2_000;

/// Whether `GET /readyz` answers 200.
fn ready(port: u16) -> bool {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}

/// Raises each process's recorded peak to its resident memory now.
fn sample(processes: &[(&str, Process)], peak: &mut [u64]) {
    for ((_, process), highest) in processes.iter().zip(peak.iter_mut()) {
        *highest = (*highest).max(resident_kib(process.pid()));
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn note(index: usize) -> Vec<u8> {
    let people = ["Omar", "Anna", "Leo", "Priya", "Mei"];
    let text = format!(
        "Day {index}: coffee with {} by the river, then {} minutes on the project; a {} evening.",
        people[index % people.len()],
        20 + index % 40,
        ["quiet", "happy", "tiring", "lovely"][index % 4]
    );
    msgpack_body(
        "process_memory",
        serde_json::json!({"raw_input": text, "owner": "fp", "source": format!("note-{index}"),
            "occurred_at": format!("2025-{:02}-{:02}", 1 + index % 12, 1 + index % 28)}),
    )
}

fn main() {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime").block_on(run());
}

async fn run() {
    let nats = NatsServer::start();
    let master_key = MasterKey::new("9a");
    let kinds: Vec<ComponentKind> =
        AgentType::ALL.iter().map(|agent| ComponentKind::Agent(*agent)).chain([ComponentKind::Orchestrator]).collect();

    // Built before any clock starts: the first start would otherwise time the build.
    mneme_system_tests::binary("mneme");
    // One at a time, so that each start is timed on a quiet machine.
    let mut processes = Vec::new();
    let mut started = Vec::new();
    for kind in &kinds {
        let name = match kind {
            ComponentKind::Agent(agent) => agent.binary_name(),
            ComponentKind::Orchestrator => "mneme-orchestrator".to_owned(),
        };
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let environment =
            [("MNEME__SERVICE__HTTP_LISTEN", listen.as_str()), ("MNEME__GUARDIAN__MASTER_KEY_FILE", &master_key.file)];
        let clock = Instant::now();
        let process = Process::start(&name, &nats.url, &environment);
        while !ready(port) {
            assert!(clock.elapsed() < Duration::from_secs(60), "{name} was not ready within 60 s");
            std::thread::sleep(Duration::from_millis(2));
        }
        started.push(clock.elapsed());
        processes.push((kind.as_str(), process));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle: Vec<u64> = processes.iter().map(|(_, process)| resident_kib(process.pid())).collect();

    // Load: memories through every agent, as fast as the system takes them.
    let client = nats.connect().await;
    let jetstream = async_nats::jetstream::new(client);
    let clock = Instant::now();
    // Sampled while the system works (the kernel's own high-water mark lags).
    let mut peak = idle.clone();
    for index in 0..MEMORIES {
        if index % 100 == 0 {
            sample(&processes, &mut peak);
        }
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", format!("footprint-{index}").as_str());
        jetstream
            .publish_with_headers(subjects::ingest("fp"), headers, note(index).into())
            .await
            .expect("published")
            .await
            .expect("stored in the ingest stream");
    }
    let count = || {
        let (ok, out) = mneme(&["--nats-url", &nats.url, "memories", "count", "--owner", "fp", "--format", "json"]);
        if !ok {
            return 0;
        }
        serde_json::from_str::<serde_json::Value>(&out).ok().and_then(|count| count["count"].as_u64()).unwrap_or(0)
    };
    while count() < MEMORIES as u64 {
        assert!(clock.elapsed() < Duration::from_secs(600), "the memories were not stored within 600 s");
        for _ in 0..5 {
            sample(&processes, &mut peak);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let elapsed = clock.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;

    println!(
        "each process started alone, then {MEMORIES} memories through every agent ({:.0} memories/s)\n",
        MEMORIES as f64 / elapsed.as_secs_f64()
    );
    println!("| process | start to ready (ms) | RSS idle (MiB) | RSS peak under load (MiB) | RSS after load (MiB) |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for ((((name, process), ready_after), idle), peak) in processes.iter().zip(&started).zip(&idle).zip(&peak) {
        let now = resident_kib(process.pid());
        println!(
            "| {name} | {:.0} | {:.1} | {:.1} | {:.1} |",
            ready_after.as_secs_f64() * 1e3,
            mib(*idle),
            mib(*peak),
            mib(now)
        );
    }
}
