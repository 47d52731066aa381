//! Batching pays where many small requests meet one colleague: the relationship mapper and the avatar trainer
//! ask the pattern analyzer for the sentiment of every memory they take. With 64 such questions in flight,
//! one request per text against the runtime's batcher (up to 64 texts, or 256 KiB, or 5 ms), side by side
//! in alternating rounds, through a real pattern analyzer process.
//!
//! Run with `cargo bench -p mneme-system-tests --bench sentiment_batching`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use mneme_protocol::{AgentType, ComponentKind};
use mneme_runtime::Caller;
use mneme_runtime::sentiment::{Sentiment, analyze};
use mneme_system_tests::{NatsServer, Process, cpu_time, seeded_words, wait_for_instances};

const ROUNDS: usize = 3;
const TEXTS: usize = 4_000;
const IN_FLIGHT: usize = 64;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Default)]
struct Totals {
    elapsed: Duration,
    analyzer_cpu: Duration,
    texts: usize,
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    runtime.block_on(run());
}

async fn run() {
    let nats = NatsServer::start();
    let analyzer = Process::start("mneme-pattern-analyzer", &nats.url, &[("MNEME__TELEMETRY__LOG_FILTER", "warn")]);
    let client = nats.connect().await;
    wait_for_instances(&client, ComponentKind::Agent(AgentType::PatternAnalyzer), 1, Duration::from_secs(30)).await;
    let vocabulary = [
        "lovely", "walk", "along", "the", "canal", "with", "Priya", "tired", "after", "work", "but", "happy", "rain",
        "again", "terrible", "traffic", "great", "dinner", "missed", "the", "train", "so", "annoyed", "fine", "day",
    ];
    let texts: Arc<Vec<String>> =
        Arc::new((0..TEXTS).map(|seed| seeded_words(seed, &vocabulary, 12, 30).join(" ")).collect());
    let caller = Caller::new(client.clone(), "bench", Duration::from_secs(30));
    let sentiment = Sentiment::new(caller.clone());
    let (mut one_by_one, mut batched) = (Totals::default(), Totals::default());
    for round in 0..ROUNDS {
        for batching in [round % 2 == 0, round % 2 != 0] {
            let cpu_before = cpu_time(analyzer.pid() as u32);
            let started = Instant::now();
            let answered = futures::stream::iter(0..TEXTS)
                .map(|index| {
                    let (caller, sentiment, texts) = (caller.clone(), sentiment.clone(), Arc::clone(&texts));
                    async move {
                        if batching {
                            sentiment.compound(&texts[index]).await.map(|_| ())
                        } else {
                            analyze(&caller, vec![texts[index].clone()]).await.map(|_| ())
                        }
                    }
                })
                .buffer_unordered(IN_FLIGHT)
                .filter(|outcome| std::future::ready(outcome.is_ok()))
                .count()
                .await;
            assert_eq!(answered, TEXTS, "every text answered");
            let totals = if batching { &mut batched } else { &mut one_by_one };
            totals.elapsed += started.elapsed();
            totals.analyzer_cpu += cpu_time(analyzer.pid() as u32).saturating_sub(cpu_before);
            totals.texts += TEXTS;
        }
    }
    println!("{ROUNDS} rounds of {TEXTS} texts each way, {IN_FLIGHT} in flight\n");
    println!("| way | texts/s | analyzer CPU per text (µs) |");
    println!("| --- | ---: | ---: |");
    let row = |name: &str, totals: &Totals| {
        let rate = totals.texts as f64 / totals.elapsed.as_secs_f64();
        let cpu = totals.analyzer_cpu.as_secs_f64() * 1e6 / totals.texts as f64;
        println!("| {name} | {rate:.0} | {cpu:.1} |");
        (rate, cpu)
    };
    let (single_rate, single_cpu) = row("one request per text", &one_by_one);
    let (batch_rate, batch_cpu) = row("batched", &batched);
    println!(
        "\nbatched / one by one: throughput {:.2}×, analyzer CPU per text {:.2}×",
        batch_rate / single_rate,
        batch_cpu / single_cpu
    );
}
