//! What the runtime costs per request: `get_stats` through a Mneme agent against a bare async-nats service
//! that echoes, both in this process on their own connections, one nats-server, one client connection.
//!
//! Run with `cargo bench -p mneme-system-tests --bench request_reply`. Rounds alternate between the two
//! targets so that drift on a shared machine falls on both alike.

use std::time::{Duration, Instant};

use async_nats::service::ServiceExt;
use futures::StreamExt;
use mneme_protocol::{AgentCapability, AgentType, ComponentKind};
use mneme_runtime::settings::TelemetrySettings;
use mneme_runtime::{Agent, HandlerError, Reply, Request, RuntimeSettings};
use mneme_system_tests::NatsServer;

const ROUNDS: usize = 2;
const ROUND_DURATION: Duration = Duration::from_secs(2);
const WARM_UP: usize = 2_000;

/// An agent with nothing of its own: every request it gets is a built-in, so what is measured is the runtime.
struct Idle;

impl Agent for Idle {
    fn description(&self) -> String {
        "benchmark agent".to_owned()
    }

    fn capabilities(&self) -> Vec<AgentCapability> {
        Vec::new()
    }

    async fn handle(&self, request: Request) -> Result<Reply, HandlerError> {
        Err(HandlerError::internal(format!("no handler for {}", request.message_type())))
    }
}

#[derive(Default)]
struct Samples {
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Samples {
    fn percentile(&mut self, fraction: f64) -> Duration {
        self.latencies.sort_unstable();
        let index = ((self.latencies.len() as f64 - 1.0) * fraction).round() as usize;
        self.latencies[index]
    }

    fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// Sends requests to `subject` with `in_flight` outstanding for `duration`; records each one's latency.
async fn drive(
    client: &async_nats::Client,
    subject: &str,
    body: &bytes::Bytes,
    in_flight: usize,
    duration: Duration,
    samples: &mut Samples,
) {
    let started = Instant::now();
    let deadline = started + duration;
    let mut outstanding = futures::stream::FuturesUnordered::new();
    let send = |client: async_nats::Client, subject: String, body: bytes::Bytes| async move {
        let sent = Instant::now();
        let reply = client.request(subject, body).await.expect("the target answers");
        assert!(!reply.payload.is_empty());
        sent.elapsed()
    };
    for _ in 0..in_flight {
        outstanding.push(send(client.clone(), subject.to_owned(), body.clone()));
    }
    while let Some(latency) = outstanding.next().await {
        samples.latencies.push(latency);
        if Instant::now() < deadline {
            outstanding.push(send(client.clone(), subject.to_owned(), body.clone()));
        }
    }
    samples.elapsed += started.elapsed();
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    runtime.block_on(run());
}

async fn run() {
    // The agent runs with the telemetry every Mneme process has: OpenTelemetry context on every request.
    let telemetry = TelemetrySettings { log_filter: "warn".to_owned(), ..TelemetrySettings::default() };
    let _telemetry = mneme_runtime::telemetry::init("request-reply-bench", &telemetry).expect("telemetry");
    let nats = NatsServer::start();

    let mut settings = RuntimeSettings::default();
    settings.nats.url = nats.url.clone();
    let kind = ComponentKind::Agent(AgentType::InsightGenerator);
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(mneme_runtime::run(kind, settings, |_| async { Ok::<_, std::convert::Infallible>(Idle) }, async {
        let _ = stopped.await;
    }));

    let bare_client = nats.connect().await;
    let bare = bare_client.service_builder().start("bare_echo", "1.0.0").await.expect("a bare service");
    let mut echo = bare.endpoint("bench.echo").await.expect("an endpoint");
    tokio::spawn(async move {
        while let Some(request) = echo.next().await {
            let payload = request.message.payload.clone();
            let _ = request.respond(Ok(payload)).await;
        }
    });
    // The same bare service answering with a body as large as a stats reply: what the reply's size costs.
    let client = nats.connect().await;
    let body: bytes::Bytes =
        rmp_serde::to_vec_named(&serde_json::json!({"type": "get_stats", "payload": {}})).unwrap().into();
    let runtime_subject = mneme_protocol::subjects::request(kind, "get_stats");
    let stats_reply = loop {
        match client.request(runtime_subject.clone(), body.clone()).await {
            Ok(reply) => break reply.payload,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let mut sized = bare.endpoint("bench.sized").await.expect("an endpoint");
    tokio::spawn(async move {
        while let Some(request) = sized.next().await {
            let _ = request.respond(Ok(stats_reply.clone())).await;
        }
    });

    let targets = [
        ("bare async-nats service (echo)", "bench.echo".to_owned()),
        ("Mneme runtime (get_stats)", runtime_subject),
        ("bare service, stats-sized reply", "bench.sized".to_owned()),
    ];
    for (_, subject) in &targets {
        let deadline = Instant::now() + Duration::from_secs(10);
        while client.request(subject.clone(), body.clone()).await.is_err() {
            assert!(Instant::now() < deadline, "{subject} never answered");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut warm = Samples::default();
        drive(&client, subject, &body, 16, Duration::from_millis(1), &mut warm).await;
        for _ in 0..WARM_UP / 16 {
            let _ = client.request(subject.clone(), body.clone()).await;
        }
    }

    println!("request-reply, {} rounds of {:?} per cell, rounds alternating between targets\n", ROUNDS, ROUND_DURATION);
    println!("| target | in flight | requests | throughput (req/s) | p50 (us) | p99 (us) |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for in_flight in [1, 64] {
        let mut results: Vec<Samples> = targets.iter().map(|_| Samples::default()).collect();
        for _ in 0..ROUNDS {
            for ((_, subject), samples) in targets.iter().zip(results.iter_mut()) {
                drive(&client, subject, &body, in_flight, ROUND_DURATION, samples).await;
            }
        }
        let mut summary: Vec<(Duration, Duration, f64)> = Vec::new();
        for ((name, _), samples) in targets.iter().zip(results.iter_mut()) {
            let (p50, p99, throughput) = (samples.percentile(0.50), samples.percentile(0.99), samples.throughput());
            println!(
                "| {name} | {in_flight} | {} | {:.0} | {:.0} | {:.0} |",
                samples.latencies.len(),
                throughput,
                p50.as_secs_f64() * 1e6,
                p99.as_secs_f64() * 1e6
            );
            summary.push((p50, p99, throughput));
        }
        let (bare, mneme) = (summary[0], summary[1]);
        println!(
            "| runtime / bare | {in_flight} | | {:.3} | {:.3} | {:.3} |",
            mneme.2 / bare.2,
            mneme.0.as_secs_f64() / bare.0.as_secs_f64(),
            mneme.1.as_secs_f64() / bare.1.as_secs_f64()
        );
    }
}
