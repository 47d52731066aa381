//! Recall latency as one owner's memories grow: an index of 10,000 and of 100,000 generated journal entries
//! and chat turns (five years of them, twelve people), and questions of four kinds (plain words, a named
//! person, a time expression, an event-anchored period) asked one after another. Prints p50, p99 and the
//! slowest per size, and how long loading the index took.
//!
//! Run with `cargo bench -p mneme-system-tests --bench recall_latency`.

use std::time::{Duration, Instant};

use mneme_insight_generator::recall::index::{Indexed, Narrowing, OwnerIndex};
use mneme_insight_generator::recall::{Question, Tuning, recall, text};
use mneme_protocol::guardian::Sensitivity;
use mneme_protocol::harvester::SourceKind;
use mneme_system_tests::recall_corpus::{PEOPLE, QUESTIONS, WORDS};

/// A small deterministic generator, so that every run indexes the same memories.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % below
    }
}

fn memories(count: usize) -> Vec<(String, Indexed)> {
    let vocabulary: Vec<&str> = WORDS.split_whitespace().collect();
    let mut random = Lcg(7);
    let start = jiff::Timestamp::from_second(1_577_836_800).expect("2020-01-01"); // five years from here
    let span = 5 * 365 * 86_400;
    (0..count)
        .map(|number| {
            let words: Vec<&str> =
                (0..8 + random.next(24)).map(|_| vocabulary[random.next(vocabulary.len())]).collect();
            let person = PEOPLE[random.next(PEOPLE.len())];
            let chat = random.next(3) == 0;
            let at = start.checked_add(jiff::SignedDuration::from_secs(random.next(span) as i64)).expect("in range");
            let entry = Indexed {
                occurred_at: Some(at.to_string()),
                terms: text::terms(&format!("{person} {}", words.join(" "))),
                people: if chat { vec![person.to_owned(), "Maya".to_owned()] } else { Vec::new() },
                author: chat.then(|| person.to_owned()),
                source: Some(format!("journal.md:{number}")),
                kind: if chat { SourceKind::Chat } else { SourceKind::Journal },
                sensitivity: Sensitivity::Personal,
                analysis: text::ANALYSIS,
            };
            (format!("memory-{number}"), entry)
        })
        .collect()
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * fraction).round() as usize]
}

fn main() {
    println!("| memories | load (s) | questions | p50 (ms) | p99 (ms) | slowest (ms) |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    for count in [10_000, 100_000] {
        let entries = memories(count);
        let loading = Instant::now();
        let index = OwnerIndex::new("maya").expect("an index");
        index.apply(entries, []).expect("indexed");
        let load = loading.elapsed();
        let today = jiff::civil::date(2024, 12, 31);
        let mut latencies = Vec::new();
        for round in 0..50 {
            for question in QUESTIONS {
                let asked = Question { text: question, limit: 10, narrowing: Narrowing::default(), today };
                let started = Instant::now();
                let found = recall(&index, &asked, &Tuning::default()).expect("a search");
                latencies.push(started.elapsed());
                assert!(round > 0 || !found.found.is_empty() || question.contains("two weeks ago"), "{question}");
            }
        }
        latencies.sort_unstable();
        let ms = |duration: Duration| duration.as_secs_f64() * 1e3;
        println!(
            "| {count} | {:.1} | {} | {:.2} | {:.2} | {:.2} |",
            load.as_secs_f64(),
            latencies.len(),
            ms(percentile(&latencies, 0.5)),
            ms(percentile(&latencies, 0.99)),
            ms(*latencies.last().expect("some questions"))
        );
    }
}
