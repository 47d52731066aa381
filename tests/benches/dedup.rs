//! What duplicate detection costs per memory as an owner's memories grow: the harvester's JetStream-backed
//! index timed for 1,000 new memories after 10,000 and after 100,000 are recorded, on one nats-server.
//!
//! Run with `cargo bench -p mneme-system-tests --bench dedup`.

use std::time::{Duration, Instant};

use futures::StreamExt;

use mneme_memory_harvester::dedup::{DedupIndex, KvDedupIndex};
use mneme_memory_harvester::fingerprint::Fingerprint;
use mneme_system_tests::{NatsServer, seeded_words};

/// A vocabulary large enough that generated notes are distinct, as real notes are.
fn vocabulary() -> Vec<String> {
    let syllables =
        ["ka", "lo", "mi", "ren", "tu", "sa", "vel", "or", "in", "da", "pe", "shu", "gri", "no", "bel", "fa"];
    let mut words = Vec::new();
    for first in syllables {
        for second in syllables {
            for third in ["", "n", "t", "s"] {
                words.push(format!("{first}{second}{third}"));
            }
        }
    }
    words
}

fn note(index: usize, words: &[String]) -> String {
    seeded_words(index, words, 15, 15).join(" ")
}

/// Records memories `range` with `in_flight` at a time, as replicas under load do.
async fn record(index: &KvDedupIndex, range: std::ops::Range<usize>, words: &[String], in_flight: usize) {
    futures::stream::iter(range)
        .for_each_concurrent(in_flight, |number| async move {
            let fingerprint = Fingerprint::of(&note(number, words));
            index.check_and_record("bench", &format!("m{number}"), &fingerprint).await.unwrap();
        })
        .await;
}

/// Times `count` more memories one at a time, after `from` are recorded.
async fn measure(index: &KvDedupIndex, from: usize, count: usize, words: &[String]) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(count);
    for number in from..from + count {
        let fingerprint = Fingerprint::of(&note(number, words));
        let started = Instant::now();
        index.check_and_record("bench", &format!("m{number}"), &fingerprint).await.unwrap();
        samples.push(started.elapsed());
    }
    samples
}

fn summary(samples: &mut [Duration]) -> (f64, f64, f64) {
    samples.sort_unstable();
    let at = |fraction: f64| samples[((samples.len() as f64 - 1.0) * fraction).round() as usize].as_secs_f64() * 1e3;
    let mean = samples.iter().sum::<Duration>().as_secs_f64() * 1e3 / samples.len() as f64;
    (at(0.5), at(0.99), mean)
}

#[tokio::main]
async fn main() {
    let nats = NatsServer::start();
    let client = nats.connect().await;
    let jetstream = async_nats::jetstream::new(client);
    let index = KvDedupIndex::open(&jetstream, "bench_dedup", 1, 0.7).await.unwrap();
    let words = vocabulary();

    let mut rows = Vec::new();
    let mut recorded = 0;
    for target in [10_000, 100_000] {
        let started = Instant::now();
        record(&index, recorded..target, &words, 64).await;
        eprintln!("recorded {target} memories ({:.0}/s)", (target - recorded) as f64 / started.elapsed().as_secs_f64());
        recorded = target;
        let mut samples = measure(&index, recorded, 1_000, &words).await;
        recorded += 1_000;
        rows.push((target, summary(&mut samples)));
    }
    println!("duplicate check and record, one memory at a time, JetStream KV on one nats-server\n");
    println!("| memories of the owner | p50 (ms) | p99 (ms) | mean (ms) |");
    println!("| ---: | ---: | ---: | ---: |");
    for (size, (p50, p99, mean)) in &rows {
        println!("| {size} | {p50:.2} | {p99:.2} | {mean:.2} |");
    }
    let (small, large) = (rows[0].1, rows[1].1);
    println!("\nratio 100k / 10k: p50 {:.2}, mean {:.2}", large.0 / small.0, large.2 / small.2);
}
