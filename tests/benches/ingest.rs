//! The durable ingest path end to end against its limit: raw JetStream publish-and-consume of the same
//! messages, measured in the same run on the same server; then each stage's latency on its own.
//!
//! Run with `cargo bench -p mneme-system-tests --bench ingest [-- <inputs>]` (10,000 by default).

use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer, stream};
use futures::StreamExt;

use mneme_protocol::guardian::ApplySecurityRequest;
use mneme_protocol::harvester::{MemoryProcessed, ProcessMemoryRequest};
use mneme_protocol::ingest::{IngestOutcome, IngestReport};
use mneme_protocol::patterns::AnalyzePatternsRequest;
use mneme_protocol::subjects::{self, headers};
use mneme_protocol::{AgentMessage, AgentType, ComponentKind, Encoding};
use mneme_runtime::call::{CallOptions, Caller, Target};
use mneme_system_tests::{MasterKey, NatsServer, Process, seeded_words, wait_for_instances};

const WORDS: [&str; 48] = [
    "river", "lunch", "garden", "letter", "train", "market", "violin", "rain", "bakery", "library", "mountain",
    "coffee", "sister", "project", "meeting", "bicycle", "museum", "harbour", "recipe", "concert", "doctor", "holiday",
    "office", "winter", "summer", "festival", "kitchen", "puzzle", "novel", "lantern", "orchard", "bridge", "island",
    "forest", "painting", "journey", "tennis", "camera", "balcony", "candle", "valley", "desert", "castle", "village",
    "station", "theatre", "picnic", "workshop",
];

/// A note unlike the others: a dozen to twenty words drawn by a seeded generator.
fn note(index: usize) -> String {
    format!("Note {index}: {} with Omar in Lisbon.", seeded_words(index, &WORDS, 12, 9).join(" "))
}

fn input(index: usize) -> ProcessMemoryRequest {
    ProcessMemoryRequest {
        raw_input: note(index),
        owner: Some("bench".to_owned()),
        source: Some(format!("bench/{index}")),
        // Spread over a year, as a person's records are.
        occurred_at: Some(format!("2024-{:02}-{:02}T{:02}:00:00Z", index % 12 + 1, index % 28 + 1, index % 24)),
        ..ProcessMemoryRequest::default()
    }
}

fn envelope(index: usize) -> Vec<u8> {
    AgentMessage::with_payload("process_memory", &input(index)).unwrap().encode(Encoding::MessagePack).unwrap()
}

fn percentile(samples: &mut [Duration], fraction: f64) -> Duration {
    samples.sort_unstable();
    samples[((samples.len() as f64 - 1.0) * fraction).round() as usize]
}

/// Publishes `count` messages into a fresh work-queue stream and consumes and acknowledges them: what
/// JetStream alone does with the ingest path's messages.
async fn raw_jetstream(client: &async_nats::Client, count: usize) -> f64 {
    let jetstream = jetstream::new(client.clone());
    let stream = jetstream
        .create_stream(stream::Config {
            name: "BENCH_RAW".to_owned(),
            subjects: vec!["bench.raw.>".to_owned()],
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .unwrap();
    let consumer = stream
        .create_consumer(consumer::pull::Config { durable_name: Some("raw".to_owned()), ..Default::default() })
        .await
        .unwrap();
    let bodies: Vec<Vec<u8>> = (0..count).map(envelope).collect();
    let started = Instant::now();
    let consuming = tokio::spawn(async move {
        let mut messages = consumer.messages().await.unwrap();
        for _ in 0..count {
            let message = messages.next().await.unwrap().unwrap();
            message.ack().await.unwrap();
        }
    });
    let mut acks = futures::stream::FuturesUnordered::new();
    for (index, body) in bodies.into_iter().enumerate() {
        let mut message_headers = HeaderMap::new();
        message_headers.insert(headers::MSG_ID, format!("raw-{index}").as_str());
        acks.push(
            jetstream.publish_with_headers("bench.raw.x", message_headers, body.into()).await.unwrap().into_future(),
        );
        while acks.len() >= 256 {
            acks.next().await.unwrap().unwrap();
        }
    }
    while let Some(ack) = acks.next().await {
        ack.unwrap();
    }
    consuming.await.unwrap();
    count as f64 / started.elapsed().as_secs_f64()
}

/// Publishes `count` inputs into the ingest stream and waits for every report: memories per second, and each
/// input's time from publish to report.
async fn pipeline(client: &async_nats::Client, count: usize, offset: usize) -> (f64, Vec<Duration>) {
    let jetstream = jetstream::new(client.clone());
    let inbox = client.new_inbox();
    let mut reports = client.subscribe(inbox.clone()).await.unwrap();
    client.flush().await.unwrap();
    let subject = subjects::ingest("bench");
    let mut sent_at = vec![Instant::now(); count];
    let started = Instant::now();
    let publisher = {
        let jetstream = jetstream.clone();
        let inbox = inbox.clone();
        let (times_sender, times) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut acks = futures::stream::FuturesUnordered::new();
            for index in 0..count {
                let mut message_headers = HeaderMap::new();
                message_headers.insert(headers::MSG_ID, format!("in-{}", offset + index).as_str());
                message_headers.insert(headers::REPORT_TO, inbox.as_str());
                let _ = times_sender.send((index, Instant::now()));
                let ack = jetstream
                    .publish_with_headers(subject.clone(), message_headers, envelope(offset + index).into())
                    .await
                    .unwrap();
                acks.push(ack.into_future());
                while acks.len() >= 256 {
                    acks.next().await.unwrap().unwrap();
                }
            }
            while let Some(ack) = acks.next().await {
                ack.unwrap();
            }
        });
        times
    };
    let mut times = publisher;
    let mut latencies = Vec::with_capacity(count);
    let mut stored = 0;
    while latencies.len() < count {
        while let Ok((index, at)) = times.try_recv() {
            sent_at[index] = at;
        }
        let report =
            tokio::time::timeout(Duration::from_secs(60), reports.next()).await.expect("reports keep coming").unwrap();
        let report: IngestReport = rmp_serde::from_slice(&report.payload).unwrap();
        while let Ok((index, at)) = times.try_recv() {
            sent_at[index] = at;
        }
        let index: usize =
            report.source.as_deref().and_then(|source| source.strip_prefix("bench/")).unwrap().parse().unwrap();
        latencies.push(sent_at[index - offset].elapsed());
        if matches!(report.outcome, IngestOutcome::Stored { .. }) {
            stored += 1;
        }
    }
    assert_eq!(stored, count, "every input became a memory");
    (count as f64 / started.elapsed().as_secs_f64(), latencies)
}

/// Each stage called on its own, one input at a time: the harvester, the guardian, the pattern analyzer.
async fn stages(client: &async_nats::Client, count: usize, offset: usize) -> [Vec<Duration>; 3] {
    let caller = Caller::new(client.clone(), "bench", Duration::from_secs(10));
    let options = CallOptions::default();
    let (mut harvest, mut secure, mut analyze) =
        (Vec::with_capacity(count), Vec::with_capacity(count), Vec::with_capacity(count));
    for index in offset..offset + count {
        let started = Instant::now();
        let reply = caller
            .call(
                &Target::AnyOf(ComponentKind::Agent(AgentType::MemoryHarvester)),
                "process_memory",
                &input(index),
                &options,
            )
            .await
            .unwrap();
        harvest.push(started.elapsed());
        let memory = reply.payload_as::<MemoryProcessed>().unwrap().processed_memory;
        let started = Instant::now();
        caller
            .call(
                &Target::AnyOf(ComponentKind::Agent(AgentType::PrivacyGuardian)),
                "apply_security",
                &ApplySecurityRequest { memory: memory.clone() },
                &options,
            )
            .await
            .unwrap();
        secure.push(started.elapsed());
        let started = Instant::now();
        caller
            .call(
                &Target::AnyOf(ComponentKind::Agent(AgentType::PatternAnalyzer)),
                "analyze_patterns",
                &AnalyzePatternsRequest { memory },
                &options,
            )
            .await
            .unwrap();
        analyze.push(started.elapsed());
    }
    [harvest, secure, analyze]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let count: usize = std::env::args().skip(1).find_map(|argument| argument.parse().ok()).unwrap_or(10_000);
    let nats = NatsServer::start_encrypted();
    let client = nats.connect().await;
    let master_key = MasterKey::new("5d");
    let key = master_key.file.clone();
    // The stages measured: the harvester, the guardian and the pattern analyzer.
    let environment = [
        ("MNEME__GUARDIAN__MASTER_KEY_FILE", key.as_str()),
        ("MNEME__INGEST__MAP_RELATIONSHIPS", "false"),
        ("MNEME__INGEST__INDEX_MEMORIES", "false"),
        ("MNEME__INGEST__TRAIN_AVATAR", "false"),
    ];
    let _processes = [
        Process::start("mneme-memory-harvester", &nats.url, &environment),
        Process::start("mneme-privacy-guardian", &nats.url, &environment),
        Process::start("mneme-pattern-analyzer", &nats.url, &environment),
        Process::start("mneme-orchestrator", &nats.url, &environment),
    ];
    for kind in [AgentType::MemoryHarvester, AgentType::PrivacyGuardian, AgentType::PatternAnalyzer] {
        wait_for_instances(&client, ComponentKind::Agent(kind), 1, Duration::from_secs(30)).await;
    }
    wait_for_instances(&client, ComponentKind::Orchestrator, 1, Duration::from_secs(30)).await;
    // Warm up every path once.
    pipeline(&client, 200, 1_000_000).await;

    let raw = raw_jetstream(&client, count).await;
    let (rate, mut latencies) = pipeline(&client, count, 0).await;
    let [mut harvest, mut secure, mut analyze] = stages(&client, 1_000, 2_000_000).await;

    println!(
        "ingest of {count} inputs, one instance each of harvester, guardian, pattern analyzer and orchestrator, encrypted file store\n"
    );
    println!("| path | inputs/s | ratio to raw JetStream |");
    println!("| --- | ---: | ---: |");
    println!("| raw JetStream publish + pull + ack (the limit) | {raw:.0} | 1.000 |");
    println!(
        "| Mneme ingest: harvester, guardian, encrypted store, pattern analyzer, report | {rate:.0} | {:.3} |",
        rate / raw
    );
    println!("\n| latency | p50 (ms) | p99 (ms) |");
    println!("| --- | ---: | ---: |");
    println!(
        "| publish to report, under full load | {:.1} | {:.1} |",
        ms(percentile(&mut latencies, 0.5)),
        ms(percentile(&mut latencies, 0.99))
    );
    println!(
        "| harvester `process_memory`, one at a time | {:.2} | {:.2} |",
        ms(percentile(&mut harvest, 0.5)),
        ms(percentile(&mut harvest, 0.99))
    );
    println!(
        "| guardian `apply_security`, one at a time | {:.2} | {:.2} |",
        ms(percentile(&mut secure, 0.5)),
        ms(percentile(&mut secure, 0.99))
    );
    println!(
        "| pattern analyzer `analyze_patterns`, one at a time | {:.2} | {:.2} |",
        ms(percentile(&mut analyze, 0.5)),
        ms(percentile(&mut analyze, 0.99))
    );
}
