//! What analysis costs per memory and as an owner's memories grow, for the pattern analyzer and the
//! relationship mapper side by side:
//! - per-memory work of each agent in one thread (the analyzer's sentiment and terms; the mapper's people
//!   from participants, names, handles and kinship terms), in memories a second;
//! - recording into each agent's ledger (compare-and-set on the owner's keys in JetStream KV, 64 at a time,
//!   as replicas under load do), in memories a second;
//! - building each report (every entry read back and analysed) at 1,000, 10,000 and 100,000 memories;
//! - PageRank over people graphs of growing size: petgraph's `page_rank` beside the mapper's weighted one; and
//!   the circles (Louvain) of the same graphs.
//!
//! The mapper's names come from the privacy guardian in production; here the generated corpus's own names
//! are found by lookup, so its figures leave out the guardian's `detect_pii` (measured in
//! `agents/privacy_guardian/benches/pii_quality.rs`) and the sentiment call.
//!
//! Run with `cargo bench -p mneme-system-tests --bench analysis`.

use std::time::{Duration, Instant};

use futures::StreamExt;

use mneme_pattern_analyzer::patterns::{self, Observation};
use mneme_protocol::harvester::ProcessedMemory;
use mneme_relationship_mapper::references::{self, Contact};
use mneme_relationship_mapper::{graph, people};
use mneme_runtime::ledger::{Entry, FixedKey, KvLedger, Ledger};
use mneme_system_tests::NatsServer;

const FRIENDS: [&str; 12] =
    ["Omar", "Lena", "Priya", "Jakob", "Mei", "Tomasz", "Aisha", "Carlos", "Anna", "Bob", "Chloe", "Raj"];
const DOINGS: [&str; 8] = [
    "went for a run along the river",
    "had lunch at the noodle bar",
    "argued about the thesis chapter",
    "planned the trip to Lisbon",
    "cooked dinner with my sister",
    "practised the Chopin nocturne",
    "fixed the garden hose",
    "called Mom about the weekend",
];
const FEELINGS: [&str; 5] = ["calm", "tired but happy", "restless", "grateful", "a little sad"];

/// Memory `index` of three years, a few a day at varied hours: a chat turn or a note naming friends.
fn memory(index: usize) -> ProcessedMemory {
    let day = index % (3 * 365);
    let date = jiff::civil::date(2022, 1, 1).checked_add(jiff::Span::new().days(day as i64)).unwrap();
    let at = format!("{date}T{:02}:{:02}:00Z", 6 + index % 17, index % 60);
    let friend = FRIENDS[index % FRIENDS.len()];
    let other = FRIENDS[(index / 7) % FRIENDS.len()];
    let text = format!(
        "{} with {friend} and {other}; felt {}. Note {index}.",
        DOINGS[index % DOINGS.len()],
        FEELINGS[(index / 3) % FEELINGS.len()]
    );
    let chat = index.is_multiple_of(3);
    serde_json::from_value(serde_json::json!({
        "id": format!("m{index}"), "owner": "bench", "source": null, "text": text,
        "author": if chat { Some(friend) } else { None }, "participants": if chat { vec!["bench"] } else { vec![] },
        "language": {"code": "eng", "name": "English", "confidence": 1.0, "reliable": true},
        "word_count": 12, "occurred_at": at, "processed_at": at, "content_hash": "00",
        "quality": {"score": 1.0, "acceptable": true, "reasons": []}, "is_duplicate": false, "duplicate_of": null
    }))
    .unwrap()
}

/// The spans of the corpus's names, where the guardian would find them.
fn names(text: &str) -> Vec<(usize, usize)> {
    let mut found: Vec<(usize, usize)> = FRIENDS
        .iter()
        .flat_map(|name| text.match_indices(name).map(|(start, name)| (start, start + name.len())))
        .collect();
    found.sort();
    found
}

fn contact(memory: &ProcessedMemory) -> Contact {
    Contact {
        at: memory.occurred_at.clone(),
        compound: 0.0,
        people: references::references(memory, &names(&memory.text)),
    }
}

/// Memories a second of `work` over `memories`, in this thread.
fn per_second<T>(memories: &[ProcessedMemory], work: impl Fn(&ProcessedMemory) -> T) -> f64 {
    let started = Instant::now();
    for memory in memories {
        std::hint::black_box(work(memory));
    }
    memories.len() as f64 / started.elapsed().as_secs_f64()
}

async fn record<T: Entry>(
    ledger: &KvLedger<T, FixedKey>,
    range: std::ops::Range<usize>,
    entry: impl Fn(usize) -> T,
) -> f64 {
    let started = Instant::now();
    let count = range.len();
    let entries: Vec<(usize, T)> = range.map(|index| (index, entry(index))).collect();
    futures::stream::iter(entries)
        .for_each_concurrent(64, |(index, entry)| async move {
            ledger.record("bench", &format!("m{index}"), entry).await.unwrap();
        })
        .await;
    count as f64 / started.elapsed().as_secs_f64()
}

/// Median over five tries of reading every entry and building the report.
async fn report_time<T: Entry>(
    ledger: &KvLedger<T, FixedKey>,
    mut report: impl FnMut(&std::collections::BTreeMap<String, T>),
) -> Duration {
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let entries = ledger.entries("bench").await.unwrap();
        report(&entries);
        times.push(started.elapsed());
    }
    times.sort();
    times[2]
}

/// `people` people, each linked to about five others; as in the mapper's graph, one link for each pair,
/// weighing what the pair shares, and none from a person to themselves.
fn people_graph(people: usize) -> petgraph::graph::UnGraph<usize, u64> {
    let mut shared: std::collections::BTreeMap<(usize, usize), u64> = std::collections::BTreeMap::new();
    for index in 0..people {
        for step in 1..=5 {
            let other = (index * 7 + step * 13) % people;
            if other != index {
                *shared.entry((index.min(other), index.max(other))).or_default() += 1 + (index % 4) as u64;
            }
        }
    }
    let mut graph = petgraph::graph::UnGraph::default();
    let nodes: Vec<_> = (0..people).map(|index| graph.add_node(index)).collect();
    for ((a, b), weight) in shared {
        graph.add_edge(nodes[a], nodes[b], weight);
    }
    graph
}

fn page_rank_table() {
    println!("\nPageRank of the people graph, 30 rounds, and its circles, one thread\n");
    println!(
        "| people | links | petgraph `page_rank` (ms) | mapper `weighted_page_rank` (ms) | ratio | circles (Louvain) (ms) | circles |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for people in [200, 1_000, 2_000, 5_000] {
        let graph = people_graph(people);
        let started = Instant::now();
        std::hint::black_box(petgraph::algo::page_rank(&graph, 0.85, 30));
        let theirs = started.elapsed().as_secs_f64() * 1e3;
        let started = Instant::now();
        std::hint::black_box(graph::weighted_page_rank(&graph, 0.85, 30));
        let ours = started.elapsed().as_secs_f64() * 1e3;
        let started = Instant::now();
        let circles = graph::communities(&graph).len();
        let circles_time = started.elapsed().as_secs_f64() * 1e3;
        println!(
            "| {people} | {} | {theirs:.1} | {ours:.2} | {:.0}x | {circles_time:.1} | {circles} |",
            graph.edge_count(),
            theirs / ours
        );
    }
}

#[tokio::main]
async fn main() {
    let sample: Vec<ProcessedMemory> = (0..20_000).map(memory).collect();
    // A warm-up pass loads the lexicons and word lists.
    per_second(&sample[..1_000], patterns::observe);
    println!("per-memory work in one thread ({} memories)\n", sample.len());
    println!("| agent | work | memories/s |");
    println!("| --- | --- | ---: |");
    println!("| pattern analyzer | sentiment and terms (`observe`) | {:.0} |", per_second(&sample, patterns::observe));
    println!("| relationship mapper | people of a memory (`references`) | {:.0} |", per_second(&sample, contact));

    let nats = NatsServer::start();
    let jetstream = async_nats::jetstream::new(nats.connect().await);
    // Sealed as in production, under a fixed key rather than one from a guardian.
    let key = FixedKey([7; 32]);
    let observations: KvLedger<Observation, FixedKey> =
        KvLedger::open(&jetstream, patterns::BUCKET, "bench", 1, key).await.unwrap();
    let contacts: KvLedger<Contact, FixedKey> =
        KvLedger::open(&jetstream, references::BUCKET, "bench", 1, key).await.unwrap();
    println!("\nstate and reports as the owner grows, on one nats-server\n");
    println!(
        "| memories of the owner | analyzer recorded/s | analyzer report (ms) | mapper recorded/s | mapper report (ms) | people |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut recorded = 0;
    for size in [1_000, 10_000, 100_000] {
        let analyzer_rate = record(&observations, recorded..size, |index| patterns::observe(&memory(index))).await;
        let mapper_rate = record(&contacts, recorded..size, |index| contact(&memory(index))).await;
        recorded = size;
        let analyzer_report = report_time(&observations, |entries| {
            assert_eq!(patterns::report("bench", entries).memories, size as u64);
        })
        .await;
        let mut people_count = 0;
        let mapper_report = report_time(&contacts, |entries| {
            let day = graph::as_of(None, entries);
            let analysis = graph::analyze(people::resolve("bench", &[], entries), day);
            people_count = analysis.relationships("bench", day, Some(50), None).total_people;
        })
        .await;
        println!(
            "| {size} | {analyzer_rate:.0} | {:.1} | {mapper_rate:.0} | {:.1} | {people_count} |",
            analyzer_report.as_secs_f64() * 1e3,
            mapper_report.as_secs_f64() * 1e3
        );
    }
    page_rank_table();
}
