//! Declared pipelines with real processes: a run survives its orchestrator being killed (`kill -9`) in the
//! middle of a step, another orchestrator goes on from the last finished step, and the run completes, and is
//! announced, once; a step that fails for good ends its run at once with the reason; `mneme pipeline` shows it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use nix::sys::signal::Signal;

use mneme_protocol::pipelines::{PipelineRun, PipelineRuns, RunStatus, StepStatus, event_types, message_types};
use mneme_protocol::stats::StatsResponse;
use mneme_protocol::{AgentType, ComponentKind, builtin};
use mneme_system_tests::{
    MasterKey, NatsServer, Process, eventually, mneme, msgpack_body, raw_request, wait_for_instances,
};

const SETTINGS: &str = r#"
[pipelines.keep_note]
description = "A note harvested, sealed and stored, then checked again"
deadline_ms = 60000

[[pipelines.keep_note.stages]]
agent = "memory_harvester"
message = "process_memory"

[[pipelines.keep_note.stages]]
agent = "privacy_guardian"
message = "apply_security"
input = { memory = "/steps/process_memory/processed_memory" }
timeout_ms = 20000

[[pipelines.keep_note.stages]]
name = "quality"
agent = "memory_harvester"
message = "validate_quality"
input = { text = "/input/raw_input" }

[[pipelines.wrong_shape.stages]]
agent = "memory_harvester"
message = "process_memory"
retry = { maximum_attempts = 5, initial_interval_ms = 50 }
"#;

async fn orchestrator_request(
    client: &async_nats::Client,
    message_type: &str,
    payload: serde_json::Value,
) -> mneme_system_tests::RawReply {
    let subject = mneme_protocol::subjects::request(ComponentKind::Orchestrator, message_type);
    raw_request(client, &subject, Default::default(), msgpack_body(message_type, payload)).await
}

async fn run_state(client: &async_nats::Client, run_id: &str) -> PipelineRun {
    let reply =
        orchestrator_request(client, message_types::PIPELINE_STATUS, serde_json::json!({"run_id": run_id})).await;
    let mut runs: PipelineRuns = reply.message.payload_as().expect("pipeline runs");
    runs.runs.pop().expect("the run")
}

async fn start(client: &async_nats::Client, pipeline: &str, input: serde_json::Value) -> String {
    let reply = orchestrator_request(
        client,
        message_types::RUN_PIPELINE,
        serde_json::json!({"pipeline": pipeline, "input": input}),
    )
    .await;
    assert!(reply.message.as_error().is_none(), "{:?}", reply.message.as_error());
    reply.message.payload["run_id"].as_str().expect("a run id").to_owned()
}

async fn processed(client: &async_nats::Client, message_type: &str) -> u64 {
    let subject =
        mneme_protocol::subjects::request(ComponentKind::Agent(AgentType::MemoryHarvester), builtin::GET_STATS);
    let reply = raw_request(
        client,
        &subject,
        Default::default(),
        msgpack_body(builtin::GET_STATS, serde_json::json!({"detail": true})),
    )
    .await;
    let stats: StatsResponse = reply.message.payload_as().expect("stats");
    let by_message_type = stats.stats.by_message_type.expect("the detail asked for");
    by_message_type.get(message_type).map_or(0, |counts| counts.processed)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_survives_its_orchestrator_and_completes_once() {
    let nats = NatsServer::start();
    let client = nats.connect().await;
    let master_key = MasterKey::new("5c");
    let settings = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(settings.path(), SETTINGS).unwrap();
    let settings_path = settings.path().to_str().unwrap().to_owned();
    let _harvester = Process::start("mneme-memory-harvester", &nats.url, &[]);
    let guardian =
        Process::start("mneme-privacy-guardian", &nats.url, &[("MNEME__GUARDIAN__MASTER_KEY_FILE", &master_key.file)]);
    let environment = [
        ("MNEME__INGEST__ENABLED", "false"),
        ("MNEME__HEALTH__ENABLED", "false"),
        ("MNEME__PIPELINE_RUNS__ACK_WAIT_MS", "2000"),
    ];
    let arguments = ["--config", settings_path.as_str()];
    let mut first = Process::start_with_args("mneme-orchestrator", &arguments, &nats.url, &environment);
    wait_for_instances(&client, ComponentKind::Agent(AgentType::MemoryHarvester), 1, Duration::from_secs(30)).await;
    wait_for_instances(&client, ComponentKind::Agent(AgentType::PrivacyGuardian), 1, Duration::from_secs(30)).await;
    wait_for_instances(&client, ComponentKind::Orchestrator, 1, Duration::from_secs(30)).await;

    let finished = Arc::new(AtomicUsize::new(0));
    let mut announcements =
        client.subscribe(mneme_protocol::subjects::event(event_types::PIPELINE_FINISHED)).await.unwrap();
    let counter = finished.clone();
    tokio::spawn(async move {
        while announcements.next().await.is_some() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });

    // The guardian stalls, so the run is caught in its second step when its orchestrator dies.
    guardian.signal(Signal::SIGSTOP);
    let input = serde_json::json!({
        "raw_input": "Walked along the canal with Priya after work; we talked about her new job in Leeds.",
        "owner": "sam",
        "source": "notes/canal.md",
        "occurred_at": "2024-05-01",
    });
    let run_id = start(&client, "keep_note", input).await;
    eventually(Duration::from_secs(20), "the run is in its second step", async || {
        let run = run_state(&client, &run_id).await;
        run.steps[0].status == StepStatus::Done && run.steps[1].status == StepStatus::Running
    })
    .await;
    first.signal(Signal::SIGKILL);
    first.wait_exit(Duration::from_secs(10));
    guardian.signal(Signal::SIGCONT);

    let _second = Process::start_with_args("mneme-orchestrator", &arguments, &nats.url, &environment);
    eventually(Duration::from_secs(60), "the run is done", async || {
        wait_for_instances(&client, ComponentKind::Orchestrator, 1, Duration::from_secs(30)).await;
        run_state(&client, &run_id).await.status.is_final()
    })
    .await;
    let run = run_state(&client, &run_id).await;
    assert_eq!(run.status, RunStatus::Done, "{run:#?}");
    assert_eq!(run.runners.len(), 2, "a second orchestrator took the run over: {run:#?}");
    // The finished step was kept, not done again; the interrupted one was attempted again.
    assert_eq!(run.steps[0].attempts, 1);
    assert_eq!(processed(&client, "process_memory").await, 1);
    assert!(run.steps[1].attempts >= 2, "{run:#?}");
    assert!(run.steps.iter().all(|step| step.status == StepStatus::Done && step.agent_id.is_some()));
    assert_eq!(run.output.as_ref().and_then(|output| output["acceptable"].as_bool()), Some(true), "{run:#?}");
    let stored = run.steps[1].result.as_ref().unwrap();
    assert!(stored["memory_id"].is_string(), "{stored}");

    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(finished.load(Ordering::SeqCst), 1, "the run is announced once");

    // A step that fails for good ends its run at once, with the reason, however many attempts it may have.
    let failing = start(&client, "wrong_shape", serde_json::json!({"no_raw_input": true})).await;
    eventually(Duration::from_secs(30), "the failing run ends", async || {
        run_state(&client, &failing).await.status.is_final()
    })
    .await;
    let run = run_state(&client, &failing).await;
    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(run.steps[0].attempts, 1, "a client's mistake is not retried: {run:#?}");
    assert!(run.error.as_deref().is_some_and(|error| error.contains("400")), "{run:#?}");

    let unknown =
        orchestrator_request(&client, message_types::RUN_PIPELINE, serde_json::json!({"pipeline": "nope"})).await;
    assert_eq!(unknown.message.as_error().map(|error| error.code), Some(404));
    let bad =
        orchestrator_request(&client, message_types::PIPELINE_STATUS, serde_json::json!({"run_id": "../x"})).await;
    assert_eq!(bad.message.as_error().map(|error| error.code), Some(400));

    let url = nats.url.clone();
    let (ok, listing) = mneme(&["--nats-url", &url, "pipeline", "list"]);
    assert!(ok && listing.contains("keep_note") && listing.contains("remember"), "{listing}");
    let (ok, status) = mneme(&["--nats-url", &url, "pipeline", "status", &run_id]);
    assert!(ok && status.contains("done") && status.contains("apply_security"), "{status}");
    let (ok, output) = mneme(&[
        "--nats-url",
        &url,
        "pipeline",
        "run",
        "keep_note",
        "--input",
        r#"{"raw_input": "Lunch with Priya.", "owner": "sam"}"#,
    ]);
    assert!(ok && output.contains("of `keep_note`: done"), "{output}");
    let (ok, output) = mneme(&["--nats-url", &url, "pipeline", "run", "wrong_shape"]);
    assert!(!ok && output.contains("failed"), "{output}");
}
