//! What the pattern analyzer's state costs as an owner's memories grow: recording observations (compare-and-set
//! on the owner's keys, 64 at a time, as replicas under load do) and building the report (reading every
//! observation and computing rhythms, streaks, gaps and mood), at 1,000, 10,000 and 100,000 memories.
//!
//! Run with `cargo bench -p mneme-system-tests --bench patterns`.

use std::time::{Duration, Instant};

use futures::StreamExt;

use mneme_pattern_analyzer::patterns::{BUCKET, Observation, report};
use mneme_runtime::ledger::{KvLedger, Ledger};
use mneme_system_tests::NatsServer;

/// A memory's observation: three years of memories, a few a day at varied hours, moods drifting.
fn observation(index: usize) -> Observation {
    let day = index % (3 * 365);
    let date = jiff::civil::date(2022, 1, 1).checked_add(jiff::Span::new().days(day as i64)).unwrap();
    let at = format!("{date}T{:02}:{:02}:00Z", 6 + index % 17, index % 60);
    let compound = ((index as f64 * 0.37).sin() * 0.6).clamp(-1.0, 1.0);
    Observation { at: Some(at), compound }
}

async fn record(store: &KvLedger<Observation>, range: std::ops::Range<usize>) -> f64 {
    let started = Instant::now();
    let count = range.len();
    futures::stream::iter(range)
        .for_each_concurrent(64, |index| async move {
            store.record("bench", &format!("m{index}"), observation(index)).await.unwrap();
        })
        .await;
    count as f64 / started.elapsed().as_secs_f64()
}

/// Median time to read every observation and build the report, over five tries.
async fn report_time(store: &KvLedger<Observation>) -> (Duration, u64) {
    let mut times = Vec::new();
    let mut memories = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let observations = store.entries("bench").await.unwrap();
        let patterns = report("bench", &observations);
        times.push(started.elapsed());
        memories = patterns.memories;
    }
    times.sort();
    (times[2], memories)
}

#[tokio::main]
async fn main() {
    let nats = NatsServer::start();
    let jetstream = async_nats::jetstream::new(nats.connect().await);
    let store = KvLedger::open(&jetstream, BUCKET, "bench", 1).await.unwrap();
    println!("pattern analyzer state on one nats-server: recording (64 at a time) and reporting\n");
    println!("| memories of the owner | recorded/s on the way there | report (ms, median of 5) |");
    println!("| ---: | ---: | ---: |");
    let mut recorded = 0;
    for size in [1_000, 10_000, 100_000] {
        let rate = record(&store, recorded..size).await;
        recorded = size;
        let (time, memories) = report_time(&store).await;
        assert_eq!(memories, size as u64);
        println!("| {size} | {rate:.0} | {:.1} |", time.as_secs_f64() * 1e3);
    }
}
