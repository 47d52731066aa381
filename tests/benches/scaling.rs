//! How throughput grows with replicas: an agent whose every request waits 20 ms on an external call (as one
//! that asks a language model or a remote API does), each replica taking 4 requests at once, at 1, 2, 4 and 8
//! replicas in the agent's queue group, with enough requests in flight to keep all of them busy.
//!
//! Run with `cargo bench -p mneme-system-tests --bench scaling`.

use std::time::{Duration, Instant};

use futures::StreamExt;
use mneme_protocol::{AgentCapability, AgentType, ComponentKind};
use mneme_runtime::settings::TelemetrySettings;
use mneme_runtime::{Agent, HandlerError, Reply, Request, RuntimeSettings};
use mneme_system_tests::{KillOnDrop, NatsServer, wait_for_instances};

/// The allocator every Mneme executable uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const KIND: ComponentKind = ComponentKind::Agent(AgentType::InsightGenerator);
const MESSAGE_TYPE: &str = "lookup";
const EXTERNAL_CALL: Duration = Duration::from_millis(20);
const CONCURRENCY_PER_REPLICA: usize = 4;
const IN_FLIGHT: usize = 64;
const ROUND: Duration = Duration::from_secs(5);
const REPLICAS: [usize; 4] = [1, 2, 4, 8];

/// Waits on its "external call", then answers.
struct Waiting;

impl Agent for Waiting {
    fn description(&self) -> String {
        "an agent that waits on an external call".to_owned()
    }

    fn capabilities(&self) -> Vec<AgentCapability> {
        vec![AgentCapability::new(MESSAGE_TYPE, "waits 20 ms, then answers", &[], &["looked_up"])]
    }

    async fn handle(&self, _request: Request) -> Result<Reply, HandlerError> {
        tokio::time::sleep(EXTERNAL_CALL).await;
        Ok(Reply::new("looked_up", serde_json::json!({})))
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    let arguments: Vec<String> = std::env::args().collect();
    match arguments.iter().position(|argument| argument == "--serve") {
        Some(at) => runtime.block_on(serve(&arguments[at + 1])),
        None => runtime.block_on(run()),
    }
}

async fn serve(url: &str) {
    let telemetry = TelemetrySettings { log_filter: "warn".to_owned(), ..TelemetrySettings::default() };
    let _telemetry = mneme_runtime::telemetry::init("scaling-bench", &telemetry).expect("telemetry");
    let mut settings = RuntimeSettings::default();
    settings.nats.url = url.to_owned();
    settings.service.max_concurrency = CONCURRENCY_PER_REPLICA;
    mneme_runtime::run(
        KIND,
        settings,
        |_| async { Ok::<_, std::convert::Infallible>(Waiting) },
        std::future::pending(),
    )
    .await
    .expect("the replica serves");
}

async fn run() {
    let nats = NatsServer::start();
    let client = nats.connect().await;
    let subject = mneme_protocol::subjects::request(KIND, MESSAGE_TYPE);
    let body: bytes::Bytes = rmp_serde::to_vec_named(&serde_json::json!({"payload": {}})).unwrap().into();
    let mut replicas: Vec<KillOnDrop> = Vec::new();

    println!(
        "an agent waiting {EXTERNAL_CALL:?} per request, {CONCURRENCY_PER_REPLICA} at once per replica, {IN_FLIGHT} \
         requests in flight, {ROUND:?} per row\n"
    );
    println!("| replicas | requests | throughput (req/s) | p50 (ms) | p99 (ms) | speed-up | share of the ideal |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut first = None;
    for count in REPLICAS {
        while replicas.len() < count {
            replicas.push(KillOnDrop::spawn_self(&["--serve", &nats.url]));
        }
        wait_for_instances(&client, KIND, count, Duration::from_secs(30)).await;
        let (mut latencies, elapsed) = drive(&client, &subject, &body).await;
        latencies.sort_unstable();
        let throughput = latencies.len() as f64 / elapsed.as_secs_f64();
        let percentile = |fraction: f64| latencies[((latencies.len() - 1) as f64 * fraction) as usize];
        let base = *first.get_or_insert(throughput);
        // What `count` replicas could do at most: each keeps its slots busy with 20 ms waits.
        let ideal = (count * CONCURRENCY_PER_REPLICA) as f64 / EXTERNAL_CALL.as_secs_f64();
        println!(
            "| {count} | {} | {throughput:.0} | {:.1} | {:.1} | {:.2} | {:.2} |",
            latencies.len(),
            percentile(0.5).as_secs_f64() * 1e3,
            percentile(0.99).as_secs_f64() * 1e3,
            throughput / base,
            throughput / ideal
        );
    }
}

async fn drive(client: &async_nats::Client, subject: &str, body: &bytes::Bytes) -> (Vec<Duration>, Duration) {
    let started = Instant::now();
    let deadline = started + ROUND;
    let mut latencies = Vec::new();
    let mut outstanding = futures::stream::FuturesUnordered::new();
    let send = |client: async_nats::Client, subject: String, body: bytes::Bytes| async move {
        let sent = Instant::now();
        client.request(subject, body).await.expect("the agent answers");
        sent.elapsed()
    };
    for _ in 0..IN_FLIGHT {
        outstanding.push(send(client.clone(), subject.to_owned(), body.clone()));
    }
    while let Some(latency) = outstanding.next().await {
        latencies.push(latency);
        if Instant::now() < deadline {
            outstanding.push(send(client.clone(), subject.to_owned(), body.clone()));
        }
    }
    (latencies, started.elapsed())
}
