//! Performance analytics with real processes: the orchestrator's health checks keep each instance's stats in
//! the metrics history, and the seed's performance report over a range counts the requests and failures of
//! that range, and grades them, through the endpoint and `mneme report`; `mneme top` shows them live.

use std::time::Duration;

use mneme_protocol::orchestrator::{PerformanceGrade, PerformanceReports, message_types};
use mneme_protocol::{AgentType, ComponentKind};
use mneme_system_tests::{NatsServer, Process, eventually, mneme, msgpack_body, raw_request, wait_for_instances};

async fn reports(client: &async_nats::Client, request: serde_json::Value) -> PerformanceReports {
    let subject = mneme_protocol::subjects::request(ComponentKind::Orchestrator, message_types::PERFORMANCE_REPORT);
    let reply =
        raw_request(client, &subject, Default::default(), msgpack_body(message_types::PERFORMANCE_REPORT, request))
            .await;
    assert!(reply.message.as_error().is_none(), "{:?}", reply.message.as_error());
    reply.message.payload_as().expect("performance reports")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_counts_and_grades_what_happened_in_its_range() {
    let nats = NatsServer::start();
    let client = nats.connect().await;
    let _harvester = Process::start("mneme-memory-harvester", &nats.url, &[]);
    let _orchestrator = Process::start(
        "mneme-orchestrator",
        &nats.url,
        &[
            ("MNEME__INGEST__ENABLED", "false"),
            ("MNEME__HEALTH__INTERVAL_MS", "300"),
            ("MNEME__HEALTH__PROBE_TIMEOUT_MS", "250"),
            ("MNEME__ANALYTICS__SAMPLE_EVERY_SECS", "1"),
        ],
    );
    wait_for_instances(&client, ComponentKind::Agent(AgentType::MemoryHarvester), 1, Duration::from_secs(30)).await;
    wait_for_instances(&client, ComponentKind::Orchestrator, 1, Duration::from_secs(30)).await;
    let harvesters = serde_json::json!({"agent_type": "memory_harvester", "time_range_secs": 600});
    eventually(Duration::from_secs(20), "a first sample of the harvester", async || {
        reports(&client, harvesters.clone()).await.reports.len() == 1
    })
    .await;

    // 40 good requests, 10 the harvester refuses for what they hold, and 10 it fails (its duplicate index is
    // gone): a sixth failed, which is the seed's grade D. Refusals are no errors of the instance.
    let harvester = ComponentKind::Agent(AgentType::MemoryHarvester);
    let validate = mneme_protocol::subjects::request(harvester, "validate_quality");
    for index in 0..50 {
        let payload = if index % 5 == 0 {
            serde_json::json!({"text": 5})
        } else {
            serde_json::json!({"text": format!("Walked to the market with Ana, number {index}.")})
        };
        raw_request(&client, &validate, Default::default(), msgpack_body("validate_quality", payload)).await;
    }
    async_nats::jetstream::new(client.clone()).delete_key_value("mneme_harvester_dedup").await.unwrap();
    let process = mneme_protocol::subjects::request(harvester, "process_memory");
    for index in 0..10 {
        let payload = serde_json::json!({"raw_input": format!("Rain all day, number {index}."), "owner": "ann"});
        let reply = raw_request(&client, &process, Default::default(), msgpack_body("process_memory", payload)).await;
        assert_eq!(reply.message.as_error().map(|error| error.code), Some(503));
    }
    eventually(Duration::from_secs(20), "samples after the requests", async || {
        reports(&client, harvesters.clone()).await.reports[0].total_messages_processed >= 60
    })
    .await;
    let report = reports(&client, harvesters.clone()).await.reports.remove(0);
    assert!(report.agent_id.starts_with("memory_harvester_"));
    // The health checks' own `get_stats` requests count too: a few in the range.
    assert!((60..90).contains(&report.total_messages_processed), "{report:?}");
    assert_eq!(report.total_errors, 10);
    let rate = 10.0 / report.total_messages_processed as f64;
    assert!((report.error_rate - rate).abs() < 1e-9);
    assert!(report.samples >= 2 && report.restarts == 0, "{report:?}");
    assert!(report.avg_response_time > 0.0 && report.avg_response_time < 1.0, "{report:?}");
    assert_eq!(report.performance_grade, PerformanceGrade::D);

    let others = reports(&client, serde_json::json!({"agent_type": "privacy_guardian"})).await;
    assert!(others.reports.is_empty());
    let one = reports(&client, serde_json::json!({"agent_id": report.agent_id})).await;
    assert_eq!(one.reports.len(), 1);

    let (ok, table) = mneme(&["--nats-url", &nats.url, "report", "--agent-type", "memory_harvester"]);
    assert!(ok && table.contains(&report.agent_id) && table.contains(" D "), "{table}");
    let subject = mneme_protocol::subjects::request(ComponentKind::Orchestrator, message_types::PERFORMANCE_REPORT);
    let bad = raw_request(
        &client,
        &subject,
        Default::default(),
        msgpack_body(message_types::PERFORMANCE_REPORT, serde_json::json!({"time_range_secs": 0})),
    )
    .await;
    assert_eq!(bad.message.as_error().map(|error| error.code), Some(400));

    // `mneme top` shows each instance's state, health and what it did in the last interval.
    let (ok, view) = mneme(&["--nats-url", &nats.url, "top", "--frames", "2", "--interval-ms", "300"]);
    assert!(ok && view.contains(&report.agent_id) && view.contains("healthy") && view.contains("req/s"), "{view}");
    assert!(view.contains("orchestrator_"), "{view}");
}
