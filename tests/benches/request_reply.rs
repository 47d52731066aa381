//! What the runtime costs per request: `get_stats` (and `ping`) through a Mneme agent against a bare async-nats
//! service that echoes, and against the same bare service sending the runtime's own replies byte for byte (so
//! that what a reply's size costs the broker and the client is told apart from what the runtime costs). Each
//! server is a process of its own as in production, with one nats-server and one client connection in this
//! process. At 64 in flight it runs twice: on the machine's cores as they come, and with the servers confined
//! to a core of their own, away from the client and nats-server.
//!
//! Every target is sent the envelope the orchestrator sends it (the echo the `get_stats` one), so that the echo
//! moves as many bytes in as the runtime reads; the echo of the smallest envelope a client may send is measured
//! too, as the floor of any request-reply.
//!
//! When Python has FastStream, the same echo agent written with it (`faststream_echo.py`) is measured too.
//!
//! Run with `cargo bench -p mneme-system-tests --bench request_reply` (or `scripts/bench`, which installs
//! FastStream). Rounds alternate between the targets, each round starting one target further on, so that drift
//! on a shared machine falls on all alike; each target is also set against the others round by round.

use std::time::{Duration, Instant};

use async_nats::service::ServiceExt;
use futures::StreamExt;
use mneme_protocol::{AgentCapability, AgentType, ComponentKind};
use mneme_runtime::settings::TelemetrySettings;
use mneme_runtime::{Agent, HandlerError, Reply, Request, RuntimeSettings};
use mneme_system_tests::{KernelActivity, KillOnDrop, NatsServer, confine, cpu_time};

const ROUNDS: usize = 10;
const ROUND_DURATION: Duration = Duration::from_millis(1_500);
const WARM_UP: usize = 2_000;
/// Each runtime target and the bare service sending its replies, by their places in the targets.
const RUNTIME_AND_SAME_REPLY: [(usize, usize); 2] = [(1, 2), (3, 4)];

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
    /// Each round's throughput and p50, to be set against the other targets' in the same round.
    rounds: Vec<(f64, Duration)>,
    /// CPU time the server process spent during the rounds: the cost that a loaded machine does not blur.
    server_cpu: Duration,
    /// The same of nats-server and of this (the client's) process: where the rest of a request's cost goes.
    broker_cpu: Duration,
    client_cpu: Duration,
    /// The server process's write calls and context switches: how well it batches its replies.
    server_kernel: KernelActivity,
}

impl Samples {
    fn percentile(&mut self, fraction: f64) -> Duration {
        percentile(&mut self.latencies, fraction)
    }

    fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn cpu_per_request(&self) -> Duration {
        self.per_request(self.server_cpu)
    }

    fn per_request(&self, cpu: Duration) -> Duration {
        cpu / u32::try_from(self.latencies.len()).unwrap_or(u32::MAX).max(1)
    }

    fn per_thousand_requests(&self, count: u64) -> f64 {
        count as f64 * 1000.0 / self.latencies.len().max(1) as f64
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
    let first = samples.latencies.len();
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
    let elapsed = started.elapsed();
    samples.elapsed += elapsed;
    let mut this_round = samples.latencies[first..].to_vec();
    let p50 = percentile(&mut this_round, 0.50);
    samples.rounds.push((this_round.len() as f64 / elapsed.as_secs_f64(), p50));
}

/// The latency below which `fraction` of `latencies` fall (sorting them).
fn percentile(latencies: &mut [Duration], fraction: f64) -> Duration {
    latencies.sort_unstable();
    let index = ((latencies.len() as f64 - 1.0) * fraction).round() as usize;
    latencies[index]
}

/// The median, lowest and highest of `values`.
fn spread(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_unstable_by(f64::total_cmp);
    let middle = values.len() / 2;
    let median =
        if values.len().is_multiple_of(2) { (values[middle - 1] + values[middle]) / 2.0 } else { values[middle] };
    (median, values[0], values[values.len() - 1])
}

/// `row`'s throughput and p50 over `base`'s, round by round: the median and range of those ratios. Pairing
/// the targets' rounds takes out the machine's drift between rounds, which pooled totals carry.
fn paired_ratios(row: &Samples, base: &Samples) -> String {
    let pairs = row.rounds.iter().zip(&base.rounds);
    let throughput = spread(pairs.clone().map(|(row, base)| row.0 / base.0).collect());
    let p50 = spread(pairs.map(|(row, base)| row.1.as_secs_f64() / base.1.as_secs_f64()).collect());
    format!(
        "{:.3} ({:.3} to {:.3}) | {:.3} ({:.3} to {:.3})",
        throughput.0, throughput.1, throughput.2, p50.0, p50.1, p50.2
    )
}

/// The allocator every Mneme executable uses, for both servers alike.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const KIND: ComponentKind = ComponentKind::Agent(AgentType::InsightGenerator);

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    let arguments: Vec<String> = std::env::args().collect();
    match arguments.iter().position(|argument| argument == "--serve") {
        // Each server works in a task on a worker thread of a multi-threaded runtime, as an async-nats service
        // is usually written (the Mneme runtime takes its requests in on a thread of its own).
        Some(at) => {
            let (which, url) = (arguments[at + 1].clone(), arguments[at + 2].clone());
            runtime
                .block_on(async move { tokio::spawn(async move { serve(&which, &url).await }).await })
                .expect("the server runs");
        }
        None => runtime.block_on(run()),
    }
}

/// A server process: the Mneme runtime with the telemetry every Mneme process has, or the bare service.
async fn serve(which: &str, url: &str) {
    match which {
        "runtime" => {
            let telemetry = TelemetrySettings { log_filter: "warn".to_owned(), ..TelemetrySettings::default() };
            let _telemetry = mneme_runtime::telemetry::init("request-reply-bench", &telemetry).expect("telemetry");
            let mut settings = RuntimeSettings::default();
            settings.nats.url = url.to_owned();
            mneme_runtime::run(
                KIND,
                settings,
                |_| async { Ok::<_, std::convert::Infallible>(Idle) },
                std::future::pending(),
            )
            .await
            .expect("the runtime serves");
        }
        "bare" => {
            let client = async_nats::connect(url).await.expect("a connection");
            let bare = client.service_builder().start("bare_echo", "1.0.0").await.expect("a bare service");
            let mut echo = bare.endpoint("bench.echo").await.expect("an endpoint");
            // The same bare service answering with the runtime's own replies to `get_stats` and `ping`, byte for
            // byte: what their size costs, apart from what making them costs.
            let mut stats_sized = bare.endpoint("bench.stats_sized").await.expect("an endpoint");
            let mut pong_sized = bare.endpoint("bench.pong_sized").await.expect("an endpoint");
            let stats_reply = runtime_reply(&client, "get_stats").await;
            let pong_reply = runtime_reply(&client, "ping").await;
            loop {
                tokio::select! {
                    Some(request) = echo.next() => {
                        let payload = request.message.payload.clone();
                        let _ = request.respond(Ok(payload)).await;
                    }
                    Some(request) = stats_sized.next() => {
                        let _ = request.respond(Ok(stats_reply.clone())).await;
                    }
                    Some(request) = pong_sized.next() => {
                        let _ = request.respond(Ok(pong_reply.clone())).await;
                    }
                }
            }
        }
        other => panic!("no server called {other}"),
    }
}

/// The CPUs this process may run on.
fn allowed_cpus() -> Vec<usize> {
    let set = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).expect("this process's CPUs");
    (0..nix::sched::CpuSet::count()).filter(|cpu| set.is_set(*cpu).unwrap_or(false)).collect()
}

/// The runtime's reply to `message_type`, once it answers.
async fn runtime_reply(client: &async_nats::Client, message_type: &str) -> bytes::Bytes {
    let body = system_request(message_type);
    loop {
        match client.request(mneme_protocol::subjects::request(KIND, message_type), body.clone().into()).await {
            Ok(reply) => return reply.payload,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// The request the orchestrator sends for `message_type`: a whole envelope, as its health checks, balancer and
/// autoscaler poll every instance.
fn system_request(message_type: &str) -> Vec<u8> {
    let mut message = mneme_protocol::AgentMessage::new(message_type, serde_json::json!({}));
    message.sender_id = mneme_protocol::ComponentId::generate(ComponentKind::Orchestrator).to_string();
    message.requires_response = true;
    message.encode(mneme_protocol::Encoding::MessagePack).expect("an envelope encodes")
}

const FASTSTREAM_SUBJECT: &str = "bench.faststream.ping";

/// Starts the FastStream echo agent (`faststream_echo.py`) when Python has FastStream (in `.tools/python`, or
/// wherever Python finds it).
fn start_faststream(url: &str) -> Option<KillOnDrop> {
    let tools = concat!(env!("CARGO_MANIFEST_DIR"), "/../.tools/python");
    let python_path = match std::env::var("PYTHONPATH") {
        Ok(path) if !path.is_empty() => format!("{tools}:{path}"),
        _ => tools.to_owned(),
    };
    let installed = std::process::Command::new("python3")
        .args(["-c", "import faststream.nats, msgpack"])
        .env("PYTHONPATH", &python_path)
        .status()
        .is_ok_and(|status| status.success());
    if !installed {
        println!("(FastStream is not installed, so its row is left out: `scripts/bench` installs it.)\n");
        return None;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/faststream_echo.py");
    let child = std::process::Command::new("python3")
        .args([script, url])
        .env("PYTHONPATH", python_path)
        .spawn()
        .expect("python3 runs");
    Some(KillOnDrop(child))
}

async fn run() {
    let nats = NatsServer::start();
    let runtime_server = KillOnDrop::spawn_self(&["--serve", "runtime", &nats.url]);
    let bare_server = KillOnDrop::spawn_self(&["--serve", "bare", &nats.url]);
    let client = nats.connect().await;
    let stats_request: bytes::Bytes = system_request("get_stats").into();
    let ping_request: bytes::Bytes = system_request("ping").into();
    let smallest_request: bytes::Bytes = rmp_serde::to_vec_named(&serde_json::json!({"payload": {}})).unwrap().into();
    let runtime_subject = mneme_protocol::subjects::request(KIND, "get_stats");

    let mut targets = vec![
        ("bare async-nats service (echo)", "bench.echo".to_owned(), bare_server.pid(), stats_request.clone()),
        ("Mneme runtime (get_stats)", runtime_subject, runtime_server.pid(), stats_request.clone()),
        ("bare service, get_stats's reply", "bench.stats_sized".to_owned(), bare_server.pid(), stats_request.clone()),
        (
            "Mneme runtime (ping)",
            mneme_protocol::subjects::request(KIND, "ping"),
            runtime_server.pid(),
            ping_request.clone(),
        ),
        ("bare service, ping's reply", "bench.pong_sized".to_owned(), bare_server.pid(), ping_request.clone()),
        // The least a client may send (no `type`: the subject's applies), echoed: the floor of any request-reply.
        ("bare echo, smallest request", "bench.echo".to_owned(), bare_server.pid(), smallest_request.clone()),
    ];
    // The same echo agent in Python with FastStream, when it is installed (scripts/bench installs it).
    let faststream = start_faststream(&nats.url);
    if let Some(server) = &faststream {
        targets.push(("FastStream, Python (ping)", FASTSTREAM_SUBJECT.to_owned(), server.pid(), ping_request.clone()));
    }
    for (_, subject, _, body) in &targets {
        let deadline = Instant::now() + Duration::from_secs(20);
        while client.request(subject.clone(), body.clone()).await.is_err() {
            assert!(Instant::now() < deadline, "{subject} never answered");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for _ in 0..WARM_UP / 16 {
            let _ = client.request(subject.clone(), body.clone()).await;
        }
    }

    // The last cell keeps the servers off the cores of the client and nats-server, as in a deployment where an
    // agent has its own pod: what the runtime costs when it does not take its CPU from the load generator.
    let cpus = allowed_cpus();
    let own_core = (cpus.len() >= 2).then(|| cpus.split_last().expect("two CPUs or more"));
    if own_core.is_none() {
        println!("(One CPU only: the cell with the servers on a core of their own is left out.)\n");
    }
    println!(
        "request-reply, each server its own process, {} rounds of {:?} per cell, rounds alternating between \
         targets, each starting one target further on; requests of {} bytes (get_stats) and {} bytes (ping) as \
         the orchestrator sends them, the smallest of {} bytes; the runtime's replies of {} bytes (get_stats) \
         and {} bytes (ping)\n",
        ROUNDS,
        ROUND_DURATION,
        stats_request.len(),
        ping_request.len(),
        smallest_request.len(),
        runtime_reply(&client, "get_stats").await.len(),
        runtime_reply(&client, "ping").await.len(),
    );
    println!(
        "| target | in flight | requests | throughput (req/s) | p50 (us) | p99 (us) | server CPU per request (us) | \
         nats-server CPU per request (us) | client CPU per request (us) |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut batching = Vec::new();
    let mut paired = Vec::new();
    let cells = [(1, false), (64, false)].into_iter().chain(own_core.map(|_| (64, true)));
    for (in_flight, apart) in cells {
        if let (true, Some((server_core, others))) = (apart, own_core) {
            let mut servers = targets.iter().map(|(_, _, pid, _)| *pid);
            let placed = servers.all(|pid| confine(pid, &[*server_core]))
                && confine(nats.pid(), others)
                && confine(std::process::id(), others);
            assert!(placed, "the processes could not be confined to their cores");
        }
        let in_flight_label =
            if apart { format!("{in_flight}, servers on a core of their own") } else { in_flight.to_string() };
        let mut results: Vec<Samples> = targets.iter().map(|_| Samples::default()).collect();
        for round in 0..ROUNDS {
            // Each round starts one target further on, so that none always follows the same one: whatever a
            // server leaves running after its turn falls on every target alike.
            let mut order: Vec<_> = targets.iter().zip(results.iter_mut()).collect();
            order.rotate_left(round % targets.len());
            for ((_, subject, pid, body), samples) in order {
                let before = (cpu_time(*pid), cpu_time(nats.pid()), cpu_time(std::process::id()));
                let kernel_before = KernelActivity::of(*pid);
                drive(&client, subject, body, in_flight, ROUND_DURATION, samples).await;
                samples.server_cpu += cpu_time(*pid).saturating_sub(before.0);
                samples.broker_cpu += cpu_time(nats.pid()).saturating_sub(before.1);
                samples.client_cpu += cpu_time(std::process::id()).saturating_sub(before.2);
                samples.server_kernel += KernelActivity::of(*pid) - kernel_before;
            }
        }
        let mut summary: Vec<(Duration, Duration, f64, Duration)> = Vec::new();
        for ((name, _, _, _), samples) in targets.iter().zip(results.iter_mut()) {
            let row =
                (samples.percentile(0.50), samples.percentile(0.99), samples.throughput(), samples.cpu_per_request());
            println!(
                "| {name} | {in_flight_label} | {} | {:.0} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} |",
                samples.latencies.len(),
                row.2,
                row.0.as_secs_f64() * 1e6,
                row.1.as_secs_f64() * 1e6,
                row.3.as_secs_f64() * 1e6,
                samples.per_request(samples.broker_cpu).as_secs_f64() * 1e6,
                samples.per_request(samples.client_cpu).as_secs_f64() * 1e6
            );
            summary.push(row);
            // Python's asyncio writes with `send`, which the count does not see.
            if name.starts_with("FastStream") {
                continue;
            }
            batching.push(format!(
                "| {name} | {in_flight_label} | {:.1} | {:.1} |",
                samples.per_thousand_requests(samples.server_kernel.write_calls),
                samples.per_thousand_requests(samples.server_kernel.context_switches)
            ));
        }
        for ((name, _, _, _), row) in targets.iter().zip(&summary).skip(1) {
            let bare = summary[0];
            println!(
                "| ratio: {name} / bare echo | {in_flight_label} | | {:.3} | {:.3} | {:.3} | {:.3} |",
                row.2 / bare.2,
                row.0.as_secs_f64() / bare.0.as_secs_f64(),
                row.1.as_secs_f64() / bare.1.as_secs_f64(),
                row.3.as_secs_f64() / bare.3.as_secs_f64()
            );
        }
        let pairs = (1..targets.len()).map(|row| (row, 0)).chain(RUNTIME_AND_SAME_REPLY);
        for (row, base) in pairs.filter(|(row, _)| !targets[*row].0.starts_with("FastStream")) {
            paired.push(format!(
                "| {} / {} | {in_flight_label} | {} |",
                targets[row].0,
                targets[base].0,
                paired_ratios(&results[row], &results[base])
            ));
        }
        // Each runtime row against the bare service sending the same reply (what the runtime costs apart from what
        // its reply's size costs the broker and the client), and against the echo of the smallest request.
        for (runtime, bare) in RUNTIME_AND_SAME_REPLY.into_iter().chain([(1, 5), (3, 5)]) {
            let (row, bare_row) = (summary[runtime], summary[bare]);
            println!(
                "| ratio: {} / {} | {in_flight_label} | | {:.3} | {:.3} | {:.3} | {:.3} |",
                targets[runtime].0,
                targets[bare].0,
                row.2 / bare_row.2,
                row.0.as_secs_f64() / bare_row.0.as_secs_f64(),
                row.1.as_secs_f64() / bare_row.1.as_secs_f64(),
                row.3.as_secs_f64() / bare_row.3.as_secs_f64()
            );
        }
    }
    println!(
        "\nRound by round: each target's throughput and p50 over the other's in the same round, the median of the \
         {ROUNDS} rounds and their range\n"
    );
    println!("| target / against | in flight | throughput ratio | p50 ratio |");
    println!("| --- | ---: | ---: | ---: |");
    for row in paired {
        println!("{row}");
    }
    println!(
        "\nHow the server processes batch: write calls and context switches (of all their threads) per 1,000 requests\n"
    );
    println!("| target | in flight | write calls | context switches |");
    println!("| --- | ---: | ---: | ---: |");
    for row in batching {
        println!("{row}");
    }
}
