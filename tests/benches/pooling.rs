//! The processing pool pays where CPU-heavy requests share an instance with everything else: a privacy
//! guardian finding personal information in 128 KiB texts, four at a time, while its `ping` is timed. With
//! the pool (`service.cpu_workers` at its default, one per core) against without it (0: detection runs on the
//! async workers), each a guardian process of its own, in alternating rounds.
//!
//! Run with `cargo bench -p mneme-system-tests --bench pooling`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mneme_protocol::{AgentType, ComponentId, ComponentKind};
use mneme_system_tests::{NatsServer, Process, msgpack_body, wait_for_instances};

const ROUNDS: usize = 3;
const ROUND: Duration = Duration::from_secs(4);
const HEAVY_IN_FLIGHT: usize = 4;
const TEXT_BYTES: usize = 128 * 1024;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Default)]
struct Totals {
    pings: Vec<Duration>,
    detections: usize,
    elapsed: Duration,
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    runtime.block_on(run());
}

/// A long note with names, numbers and places in it, as a year of journal pasted at once would be.
fn long_text() -> String {
    let paragraph = "Met Omar Haddad at the Bristol office on Tuesday; he lives at 14 Harbour Road and his number is \
        +44 20 7946 0958. Priya Shah wrote from priya.shah@example.com about the flat in Leeds. ";
    paragraph.repeat(TEXT_BYTES / paragraph.len() + 1)[..TEXT_BYTES].to_owned()
}

async fn round(client: &async_nats::Client, instance: &ComponentId, totals: &mut Totals) {
    let detect = Arc::new(msgpack_body("detect_pii", serde_json::json!({"text": long_text()})));
    let ping = msgpack_body("ping", serde_json::json!({}));
    let stop = Arc::new(AtomicBool::new(false));
    let detections = Arc::new(AtomicUsize::new(0));
    let heavy: Vec<_> = (0..HEAVY_IN_FLIGHT)
        .map(|_| {
            let (client, subject, body) =
                (client.clone(), mneme_protocol::subjects::instance(instance, "detect_pii"), Arc::clone(&detect));
            let (stop, detections) = (Arc::clone(&stop), Arc::clone(&detections));
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let request = async_nats::Request::new()
                        .payload(body.as_ref().clone().into())
                        .timeout(Some(Duration::from_secs(60)));
                    if client.send_request(subject.clone(), request).await.is_ok() {
                        detections.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let started = Instant::now();
    let subject = mneme_protocol::subjects::instance(instance, "ping");
    while started.elapsed() < ROUND {
        let sent = Instant::now();
        let request = async_nats::Request::new().payload(ping.clone().into()).timeout(Some(Duration::from_secs(30)));
        client.send_request(subject.clone(), request).await.expect("a pong");
        totals.pings.push(sent.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for task in heavy {
        task.await.unwrap();
    }
    totals.elapsed += started.elapsed();
    totals.detections += detections.load(Ordering::Relaxed);
}

fn percentile(sorted: &[Duration], share: f64) -> Duration {
    sorted[((sorted.len() as f64 * share) as usize).min(sorted.len() - 1)]
}

async fn run() {
    let nats = NatsServer::start();
    let client = nats.connect().await;
    let quiet = ("MNEME__TELEMETRY__LOG_FILTER", "warn");
    let kind = ComponentKind::Agent(AgentType::PrivacyGuardian);
    let _pooled = Process::start("mneme-privacy-guardian", &nats.url, &[quiet]);
    let pooled_id = wait_for_instances(&client, kind, 1, Duration::from_secs(30)).await.remove(0).id;
    let _inline = Process::start("mneme-privacy-guardian", &nats.url, &[quiet, ("MNEME__SERVICE__CPU_WORKERS", "0")]);
    let both = wait_for_instances(&client, kind, 2, Duration::from_secs(30)).await;
    let inline_id =
        both.into_iter().map(|instance| instance.id).find(|id| *id != pooled_id).expect("the second guardian");
    let (mut pooled, mut inline) = (Totals::default(), Totals::default());
    for index in 0..ROUNDS {
        for use_pool in [index % 2 == 0, index % 2 != 0] {
            if use_pool {
                round(&client, &pooled_id, &mut pooled).await;
            } else {
                round(&client, &inline_id, &mut inline).await;
            }
        }
    }
    println!(
        "{ROUNDS} rounds of {ROUND:?} each way: {HEAVY_IN_FLIGHT} detections of {} KiB texts in flight, a ping every 20 ms\n",
        TEXT_BYTES / 1024
    );
    println!("| way | ping p50 (ms) | ping p99 (ms) | detections/s |");
    println!("| --- | ---: | ---: | ---: |");
    let row = |name: &str, totals: &mut Totals| {
        totals.pings.sort();
        let p50 = percentile(&totals.pings, 0.5).as_secs_f64() * 1e3;
        let p99 = percentile(&totals.pings, 0.99).as_secs_f64() * 1e3;
        let rate = totals.detections as f64 / totals.elapsed.as_secs_f64();
        println!("| {name} | {p50:.2} | {p99:.2} | {rate:.1} |");
        (p50, p99, rate)
    };
    let (inline_p50, inline_p99, inline_rate) = row("inline (cpu_workers = 0)", &mut inline);
    let (pool_p50, pool_p99, pool_rate) = row("pool (one per core)", &mut pooled);
    println!(
        "\npool / inline: ping p50 {:.3}×, p99 {:.3}×, detections/s {:.2}×",
        pool_p50 / inline_p50,
        pool_p99 / inline_p99,
        pool_rate / inline_rate
    );
}
