//! Recall through the running system, as one owner's memories grow: a privacy guardian and an insight
//! generator, each its own process, on one nats-server. Memories are stored (`apply_security`) and indexed
//! (`index_memory`) 64 at a time; then the insight generator is restarted, so that the first question loads
//! the owner's index from its sealed ledger (timed apart), and 400 questions of eight kinds are asked one
//! after another through `search`, snippets read through the guardian included.
//!
//! Run with `cargo bench -p mneme-system-tests --bench recall`; `MNEME_RECALL_BENCH_SIZES=10000` for fewer.

use std::time::{Duration, Instant};

use futures::StreamExt;

use mneme_protocol::guardian::{ApplySecurityRequest, SecurityApplied};
use mneme_protocol::harvester::ProcessedMemory;
use mneme_protocol::insights::{IndexMemoryRequest, SearchFilters, SearchRequest, SearchResults, message_types};
use mneme_protocol::{AgentType, ComponentKind};
use mneme_runtime::call::{CallOptions, Caller, Target};
use mneme_system_tests::recall_corpus::{PEOPLE, QUESTIONS, WORDS};
use mneme_system_tests::{MasterKey, NatsServer, Process, wait_for_instances};

const OWNER: &str = "bench";

/// Memory `index` of five years: a journal entry or a chat turn of a dozen to thirty words.
fn memory(index: usize) -> ProcessedMemory {
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let pick = |salt: usize| words[(index.wrapping_mul(2_654_435_761).wrapping_add(salt * 40_503)) % words.len()];
    let length = 12 + index % 19;
    let text: Vec<&str> = (0..length).map(pick).collect();
    let person = PEOPLE[index % PEOPLE.len()];
    let day = jiff::civil::date(2020, 1, 1).checked_add(jiff::Span::new().days((index % 1_826) as i64)).unwrap();
    let at = format!("{day}T{:02}:{:02}:00Z", 6 + index % 16, index % 60);
    let chat = index.is_multiple_of(3);
    serde_json::from_value(serde_json::json!({
        "id": format!("memory-{index}"), "owner": OWNER, "source": format!("journal.md:{index}"),
        "text": format!("{person} {}.", text.join(" ")),
        "author": if chat { Some(person) } else { None }, "participants": if chat { vec![OWNER] } else { vec![] },
        "source_kind": if chat { "chat" } else { "journal" },
        "language": {"code": "eng", "name": "English", "confidence": 1.0, "reliable": true},
        "word_count": length, "occurred_at": at, "processed_at": at, "content_hash": "00",
        "quality": {"score": 1.0, "acceptable": true, "reasons": []}, "is_duplicate": false, "duplicate_of": null
    }))
    .unwrap()
}

/// Stores and indexes memories `range`, 64 at a time, as the ingest pipeline does.
async fn fill(caller: &Caller, range: std::ops::Range<usize>) {
    let options = CallOptions { timeout: Some(Duration::from_secs(60)), ..CallOptions::default() };
    let guardian = Target::AnyOf(ComponentKind::Agent(AgentType::PrivacyGuardian));
    let generator = Target::AnyOf(ComponentKind::Agent(AgentType::InsightGenerator));
    futures::stream::iter(range)
        .for_each_concurrent(64, |index| {
            let (caller, options, guardian, generator) = (caller, &options, &guardian, &generator);
            async move {
                let memory = memory(index);
                let stored = ApplySecurityRequest { memory: memory.clone() };
                let reply = caller
                    .call(guardian, mneme_protocol::guardian::message_types::APPLY_SECURITY, &stored, options)
                    .await
                    .expect("stored");
                let applied: SecurityApplied = reply.payload_as().unwrap();
                let indexed = IndexMemoryRequest { memory, sensitivity: applied.sensitivity };
                caller.call(generator, message_types::INDEX_MEMORY, &indexed, options).await.expect("indexed");
            }
        })
        .await;
}

async fn search(caller: &Caller, question: &str) -> SearchResults {
    let request = SearchRequest {
        principal: OWNER.to_owned(),
        owner: OWNER.to_owned(),
        query: question.to_owned(),
        limit: Some(10),
        filters: SearchFilters { now: Some("2024-12-31T12:00:00Z".to_owned()), ..SearchFilters::default() },
    };
    let options = CallOptions { timeout: Some(Duration::from_secs(120)), ..CallOptions::default() };
    let target = Target::AnyOf(ComponentKind::Agent(AgentType::InsightGenerator));
    caller.call(&target, message_types::SEARCH, &request, &options).await.expect("answered").payload_as().unwrap()
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * fraction).round() as usize]
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = std::env::var("MNEME_RECALL_BENCH_SIZES")
        .ok()
        .map(|sizes| sizes.split(',').filter_map(|size| size.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000]);
    let nats = NatsServer::start();
    let client = nats.connect().await;
    let master_key = MasterKey::new("6e");
    let key = master_key.file.clone();
    let quiet = ("MNEME__TELEMETRY__LOG_FILTER", "warn");
    let _guardian =
        Process::start("mneme-privacy-guardian", &nats.url, &[("MNEME__GUARDIAN__MASTER_KEY_FILE", &key), quiet]);
    let mut generator = Process::start("mneme-insight-generator", &nats.url, &[quiet]);
    for kind in [AgentType::PrivacyGuardian, AgentType::InsightGenerator] {
        wait_for_instances(&client, ComponentKind::Agent(kind), 1, Duration::from_secs(30)).await;
    }
    let caller = Caller::new(client.clone(), "recall-bench", Duration::from_secs(60));

    println!(
        "| memories | stored and indexed (per s) | first question, loading the index (s) | questions | p50 (ms) | p99 (ms) | slowest (ms) |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut held = 0;
    for size in sizes {
        let filling = Instant::now();
        fill(&caller, held..size).await;
        let rate = (size - held) as f64 / filling.elapsed().as_secs_f64();
        held = size;
        // A fresh replica: its first question loads the owner's index from the ledger.
        drop(generator);
        generator = Process::start("mneme-insight-generator", &nats.url, &[quiet]);
        wait_for_instances(&client, ComponentKind::Agent(AgentType::InsightGenerator), 1, Duration::from_secs(30))
            .await;
        let loading = Instant::now();
        let first = search(&caller, QUESTIONS[0]).await;
        let load = loading.elapsed();
        assert!(!first.results.is_empty(), "the first question finds something");
        let mut latencies = Vec::new();
        for _ in 0..50 {
            for question in QUESTIONS {
                let started = Instant::now();
                search(&caller, question).await;
                latencies.push(started.elapsed());
            }
        }
        latencies.sort_unstable();
        let ms = |duration: Duration| duration.as_secs_f64() * 1e3;
        println!(
            "| {size} | {rate:.0} | {:.1} | {} | {:.1} | {:.1} | {:.1} |",
            load.as_secs_f64(),
            latencies.len(),
            ms(percentile(&latencies, 0.5)),
            ms(percentile(&latencies, 0.99)),
            ms(*latencies.last().unwrap())
        );
    }
}
