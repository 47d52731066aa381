//! Load balancing when one replica is slow: three replicas of an agent, each its own process taking four
//! requests at a time, two answering in 2 ms and one in 20 ms (a replica on a starved node), under 32
//! requests in flight from one sender. The queue group's random choice against the seed's strategies over
//! the instance subjects, side by side, rounds alternating.
//!
//! Run with `cargo bench -p mneme-system-tests --bench balancing`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use mneme_orchestrator::Orchestrator;
use mneme_orchestrator::balancing::{Balancer, Strategy};
use mneme_protocol::{AgentCapability, AgentType, ComponentKind};
use mneme_runtime::settings::TelemetrySettings;
use mneme_runtime::{Agent, CallOptions, HandlerError, Reply, Request, RuntimeSettings};
use mneme_system_tests::{KillOnDrop, NatsServer, wait_for_instances};

const ROUNDS: usize = 3;
const ROUND_DURATION: Duration = Duration::from_secs(3);
const IN_FLIGHT: usize = 32;
const FAST: Duration = Duration::from_millis(2);
const SLOW: Duration = Duration::from_millis(20);
const AGENT: AgentType = AgentType::AvatarTrainer;

/// Work that takes its time without using the CPU, as a call to something else would.
struct Waiting(Duration);

impl Agent for Waiting {
    fn description(&self) -> String {
        "benchmark agent that waits".to_owned()
    }

    fn capabilities(&self) -> Vec<AgentCapability> {
        vec![AgentCapability::new("work", "Waits, then answers", &[], &["worked"])]
    }

    async fn handle(&self, _request: Request) -> Result<Reply, HandlerError> {
        tokio::time::sleep(self.0).await;
        Ok(Reply::new("worked", serde_json::json!({})))
    }
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    let arguments: Vec<String> = std::env::args().collect();
    match arguments.iter().position(|argument| argument == "--serve") {
        Some(at) => {
            let delay = Duration::from_millis(arguments[at + 1].parse().expect("a delay in ms"));
            let url = arguments[at + 2].clone();
            runtime.block_on(serve(delay, &url));
        }
        None => runtime.block_on(run()),
    }
}

async fn serve(delay: Duration, url: &str) {
    let telemetry = TelemetrySettings { log_filter: "warn".to_owned(), ..TelemetrySettings::default() };
    let _telemetry = mneme_runtime::telemetry::init("balancing-bench", &telemetry).expect("telemetry");
    let mut settings = RuntimeSettings::default();
    settings.nats.url = url.to_owned();
    settings.service.max_concurrency = 4;
    mneme_runtime::run(
        ComponentKind::Agent(AGENT),
        settings,
        move |_| async move { Ok::<_, std::convert::Infallible>(Waiting(delay)) },
        std::future::pending(),
    )
    .await
    .expect("the agent serves");
}

fn start(delay: Duration, url: &str) -> KillOnDrop {
    let delay = delay.as_millis().to_string();
    KillOnDrop::spawn_self(&["--serve", &delay, url])
}

#[derive(Default)]
struct Samples {
    latencies: Vec<Duration>,
    elapsed: Duration,
    by_instance: HashMap<String, usize>,
}

impl Samples {
    fn percentile(&mut self, fraction: f64) -> Duration {
        self.latencies.sort_unstable();
        self.latencies[((self.latencies.len() as f64 - 1.0) * fraction).round() as usize]
    }
}

async fn drive(balancer: &Arc<Balancer>, strategy: Strategy, samples: &mut Samples) {
    let started = Instant::now();
    let deadline = started + ROUND_DURATION;
    let options = CallOptions { timeout: Some(Duration::from_secs(30)), ..CallOptions::default() };
    let send = || async {
        let sent = Instant::now();
        let reply = balancer.send(AGENT, "work", &serde_json::json!({}), &options, strategy).await.expect("an answer");
        (sent.elapsed(), reply.sender_id)
    };
    let mut outstanding = futures::stream::FuturesUnordered::new();
    for _ in 0..IN_FLIGHT {
        outstanding.push(send());
    }
    while let Some((latency, instance)) = outstanding.next().await {
        samples.latencies.push(latency);
        *samples.by_instance.entry(instance).or_default() += 1;
        if Instant::now() < deadline {
            outstanding.push(send());
        }
    }
    samples.elapsed += started.elapsed();
}

async fn run() {
    let nats = NatsServer::start();
    let client = nats.connect().await;
    let slow = start(SLOW, &nats.url);
    let slow_id =
        wait_for_instances(&client, ComponentKind::Agent(AGENT), 1, Duration::from_secs(30)).await[0].id.to_string();
    let _replicas = [slow, start(FAST, &nats.url), start(FAST, &nats.url)];
    wait_for_instances(&client, ComponentKind::Agent(AGENT), 3, Duration::from_secs(30)).await;
    let orchestrator = Orchestrator::new(client.clone(), "balancing-bench", Duration::from_secs(30));
    let balancer = Balancer::new(orchestrator, Duration::from_secs(1));
    // Every strategy's pool is known before measuring.
    for strategy in Strategy::ALL {
        balancer
            .send(AGENT, "work", &serde_json::json!({}), &CallOptions::default(), strategy)
            .await
            .expect("an answer");
    }

    println!(
        "load balancing, 3 replicas taking 4 requests at a time ({} ms, {} ms, and one slow at {} ms), {IN_FLIGHT} in flight, {ROUNDS} rounds of {:?}\n",
        FAST.as_millis(),
        FAST.as_millis(),
        SLOW.as_millis(),
        ROUND_DURATION
    );
    let mut results: Vec<Samples> = Strategy::ALL.iter().map(|_| Samples::default()).collect();
    for _ in 0..ROUNDS {
        for (strategy, samples) in Strategy::ALL.iter().zip(results.iter_mut()) {
            drive(&balancer, *strategy, samples).await;
        }
    }
    println!("| strategy | requests | throughput (req/s) | p50 (ms) | p99 (ms) | share to the slow replica |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let mut rows = Vec::new();
    for (strategy, samples) in Strategy::ALL.iter().zip(results.iter_mut()) {
        let count = samples.latencies.len();
        let throughput = count as f64 / samples.elapsed.as_secs_f64();
        let (p50, p99) = (samples.percentile(0.50), samples.percentile(0.99));
        let slow_share = samples.by_instance.get(&slow_id).copied().unwrap_or_default() as f64 / count as f64;
        println!(
            "| {strategy} | {count} | {throughput:.0} | {:.1} | {:.1} | {:.1}% |",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            slow_share * 100.0
        );
        rows.push((*strategy, throughput, p50, p99));
    }
    let (_, base_throughput, base_p50, base_p99) = rows[0];
    println!("\nRatios to the queue group:\n");
    println!("| strategy | throughput | p50 | p99 |");
    println!("| --- | ---: | ---: | ---: |");
    for (strategy, throughput, p50, p99) in rows.iter().skip(1) {
        println!(
            "| {strategy} | {:.2} | {:.2} | {:.2} |",
            throughput / base_throughput,
            p50.as_secs_f64() / base_p50.as_secs_f64(),
            p99.as_secs_f64() / base_p99.as_secs_f64()
        );
    }
}
