//! The memory harvester as a process, reached the way any client reaches it: plain NATS requests.

use std::time::Duration;

use async_nats::HeaderMap;
use mneme_protocol::harvester::MemoryProcessed;
use mneme_protocol::{AgentType, ComponentKind, ErrorPayload};
use mneme_system_tests::{NatsServer, Process, msgpack_body, raw_request, wait_for_instances};

const HARVESTER: ComponentKind = ComponentKind::Agent(AgentType::MemoryHarvester);
const PROCESS_MEMORY: &str = "mneme.agent.memory_harvester.process_memory";

async fn system() -> (NatsServer, Process, async_nats::Client) {
    let nats = NatsServer::start();
    let harvester = Process::start("mneme-memory-harvester", &nats.url, &[("MNEME__SERVICE__MAX_BODY_BYTES", "65536")]);
    let client = nats.connect().await;
    wait_for_instances(&client, HARVESTER, 1, Duration::from_secs(20)).await;
    (nats, harvester, client)
}

fn json_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("Content-Type", "application/json");
    headers
}

fn error_of(reply: &mneme_system_tests::RawReply) -> ErrorPayload {
    assert_eq!(reply.message.message_type, "error_response", "{:?}", reply.message);
    reply.message.payload_as().expect("error payload")
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_messagepack_and_json_with_the_same_memory() {
    let (_nats, _harvester, client) = system().await;
    let payload = serde_json::json!({
        "raw_input": "  Coffee with  Lena at the corner bakery; she starts her PhD in Leeds next month. ",
        "owner": "ann",
        "occurred_at": "2024-03-02T10:15:00+01:00"
    });

    let reply =
        raw_request(&client, PROCESS_MEMORY, HeaderMap::new(), msgpack_body("process_memory", payload.clone())).await;
    assert_eq!(reply.message.message_type, "memory_processed");
    assert!(reply.message.sender_id.starts_with("memory_harvester_"));
    assert!(reply.message.correlation_id.is_some());
    let memory = reply.message.payload_as::<MemoryProcessed>().unwrap().processed_memory;
    assert_eq!(memory.text, "Coffee with Lena at the corner bakery; she starts her PhD in Leeds next month.");
    assert_eq!(memory.occurred_at.as_deref(), Some("2024-03-02T09:15:00Z"));
    assert_eq!(memory.language.code, "eng");

    let body = serde_json::to_vec(&serde_json::json!({"type": "process_memory", "payload": payload})).unwrap();
    let reply = raw_request(&client, PROCESS_MEMORY, json_headers(), body).await;
    assert_eq!(reply.header("Content-Type").as_deref(), Some("application/json"));
    let again = reply.message.payload_as::<MemoryProcessed>().unwrap().processed_memory;
    assert_eq!(again.id, memory.id, "the same input is the same memory");
    assert!(!again.is_duplicate);

    let batch = serde_json::json!({"raw_inputs": ["Ran 5 km before breakfast today", {"raw_input": "Read two chapters of Middlemarch", "owner": "bob"}], "owner": "ann"});
    let reply = raw_request(
        &client,
        "mneme.agent.memory_harvester.batch_process",
        HeaderMap::new(),
        msgpack_body("batch_process", batch),
    )
    .await;
    assert_eq!(reply.message.message_type, "batch_processed");
    assert_eq!(reply.message.payload["processed_memories"].as_array().unwrap().len(), 2);
    assert_eq!(reply.message.payload["processed_memories"][1]["owner"], "bob");

    let reply = raw_request(
        &client,
        "mneme.agent.memory_harvester.validate_quality",
        HeaderMap::new(),
        msgpack_body("validate_quality", serde_json::json!({"text": "asdfgh qwrtzp sdfghjk xcvbnm"})),
    )
    .await;
    assert_eq!(reply.message.message_type, "quality_assessment");
    assert_eq!(reply.message.payload["reasons"][0]["kind"], "garbage");
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_requests_get_typed_errors_and_the_agent_keeps_serving() {
    let (_nats, mut harvester, client) = system().await;
    let cases: Vec<(&str, HeaderMap, Vec<u8>, u16)> = vec![
        (
            "mneme.agent.memory_harvester.no_such_type",
            HeaderMap::new(),
            msgpack_body("no_such_type", serde_json::json!({})),
            404,
        ),
        (PROCESS_MEMORY, HeaderMap::new(), vec![0xc1, 0xff, 0x00, 0x13, 0x37], 400),
        (PROCESS_MEMORY, json_headers(), b"{\"type\": \"process_memory\", \"payload\": ".to_vec(), 400),
        (PROCESS_MEMORY, HeaderMap::new(), msgpack_body("process_memory", serde_json::json!({"raw_input": 42})), 400),
        (PROCESS_MEMORY, HeaderMap::new(), msgpack_body("process_memory", serde_json::json!({"owner": "ann"})), 400),
        (PROCESS_MEMORY, HeaderMap::new(), msgpack_body("batch_process", serde_json::json!({})), 400),
        (
            PROCESS_MEMORY,
            HeaderMap::new(),
            msgpack_body("process_memory", serde_json::json!({"raw_input": "x", "occurred_at": "soon"})),
            400,
        ),
        (PROCESS_MEMORY, HeaderMap::new(), vec![0x42; 100_000], 413),
    ];
    for (subject, headers, body, code) in cases {
        let reply = raw_request(&client, subject, headers, body).await;
        let error = error_of(&reply);
        assert_eq!(error.code, code, "{subject}: {error:?}");
        assert!(!error.recoverable);
        assert_eq!(reply.header("Nats-Service-Error-Code"), Some(code.to_string()));
        assert!(reply.header("Nats-Service-Error").is_some());
    }
    let reply = raw_request(
        &client,
        PROCESS_MEMORY,
        HeaderMap::new(),
        msgpack_body("process_memory", serde_json::json!({"raw_input": "Still here after all that."})),
    )
    .await;
    assert_eq!(reply.message.message_type, "memory_processed");
    assert!(harvester.child_is_running());
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_whole_files_sent_over_nats() {
    let (_nats, _harvester, client) = system().await;
    let export =
        "1/2/24, 8:05 AM - Omar: Brunch at 11 at the usual place?\n1/2/24, 8:06 AM - Ann: Perfect, see you there\n";
    let body = serde_json::to_vec(&serde_json::json!({
        "type": "process_file",
        "payload": {"name": "whatsapp/omar.txt", "content": export, "owner": "ann"}
    }))
    .unwrap();
    let reply = raw_request(&client, "mneme.agent.memory_harvester.process_file", json_headers(), body).await;
    assert_eq!(reply.message.message_type, "batch_processed");
    let batch: mneme_protocol::harvester::BatchProcessed = reply.message.payload_as().unwrap();
    assert_eq!(batch.processed_memories.len(), 2);
    assert_eq!(batch.processed_memories[0].author.as_deref(), Some("Omar"));
    assert_eq!(batch.processed_memories[0].source.as_deref(), Some("whatsapp/omar.txt#L1"));

    let body = msgpack_body("process_file", serde_json::json!({"name": "x.csv", "content": "a,b\n1,2\n"}));
    let reply = raw_request(&client, "mneme.agent.memory_harvester.process_file", HeaderMap::new(), body).await;
    assert_eq!(error_of(&reply).code, 400, "a CSV without a text column is the client's to fix");
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_lists_the_harvester_with_its_capabilities_and_stats() {
    let (_nats, _harvester, client) = system().await;
    let instances = wait_for_instances(&client, HARVESTER, 1, Duration::from_secs(5)).await;
    let names: Vec<&str> = instances[0].capabilities.iter().map(|capability| capability.name.as_str()).collect();
    assert_eq!(names, ["process_memory", "batch_process", "validate_quality", "process_file"]);

    let ping = client.request("$SRV.PING.memory_harvester", "".into()).await.unwrap();
    let ping: serde_json::Value = serde_json::from_slice(&ping.payload).unwrap();
    assert_eq!(ping["name"], "memory_harvester");
    assert_eq!(ping["metadata"]["agent_id"], instances[0].id.as_str());

    let info = client.request("$SRV.INFO.memory_harvester", "".into()).await.unwrap();
    let info: serde_json::Value = serde_json::from_slice(&info.payload).unwrap();
    let subjects: Vec<&str> =
        info["endpoints"].as_array().unwrap().iter().map(|endpoint| endpoint["subject"].as_str().unwrap()).collect();
    assert!(subjects.contains(&"mneme.agent.memory_harvester.*"), "{subjects:?}");
    assert!(
        subjects.contains(&format!("mneme.instance.memory_harvester.{}.*", instances[0].id).as_str()),
        "{subjects:?}"
    );

    let direct = format!("mneme.instance.memory_harvester.{}.get_stats", instances[0].id);
    let reply = raw_request(&client, &direct, HeaderMap::new(), Vec::new()).await;
    assert_eq!(reply.message.message_type, "stats_response");
    let stats = &reply.message.payload["stats"];
    assert_eq!(stats["agent_id"], instances[0].id.as_str());
    assert_eq!(stats["state"], "active");
    for field in
        ["messages_processed", "errors_count", "avg_processing_time", "last_activity", "queue_size", "uptime_secs"]
    {
        assert!(stats.get(field).is_some(), "stats lack {field}");
    }
    let reply =
        raw_request(&client, "mneme.agent.memory_harvester.get_capabilities", HeaderMap::new(), Vec::new()).await;
    assert_eq!(reply.message.payload["capabilities"][0]["input_types"][0], "raw_memory_input");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trace_sent_in_is_continued_across_the_hop() {
    let (_nats, _harvester, client) = system().await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent_span = "00f067aa0ba902b7";
    let mut headers = HeaderMap::new();
    headers.insert("traceparent", format!("00-{trace_id}-{parent_span}-01").as_str());
    let reply = raw_request(
        &client,
        PROCESS_MEMORY,
        headers,
        msgpack_body("process_memory", serde_json::json!({"raw_input": "Traced note about the garden"})),
    )
    .await;
    let response = reply.header("traceresponse").expect("the reply names the server span");
    let parts: Vec<&str> = response.split('-').collect();
    assert_eq!(parts.len(), 4, "{response}");
    assert_eq!(parts[1], trace_id, "same trace");
    assert_ne!(parts[2], parent_span, "a child span of its own");
    assert_eq!(parts[3], "01", "the sampling decision is kept");
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_state_is_shared_by_replicas_and_survives_restarts() {
    let nats = NatsServer::start();
    let client = nats.connect().await;
    let first = Process::start("mneme-memory-harvester", &nats.url, &[]);
    let instances = wait_for_instances(&client, HARVESTER, 1, Duration::from_secs(20)).await;
    let note =
        "Long walk on the beach with Grandpa Joe; he told the story of the 1962 storm again and we laughed a lot.";
    let subject = format!("mneme.instance.memory_harvester.{}.process_memory", instances[0].id);
    let reply = raw_request(
        &client,
        &subject,
        HeaderMap::new(),
        msgpack_body("process_memory", serde_json::json!({"raw_input": note, "owner": "ann", "source": "journal"})),
    )
    .await;
    let original = reply.message.payload_as::<MemoryProcessed>().unwrap().processed_memory;
    drop(first);

    let _second = Process::start("mneme-memory-harvester", &nats.url, &[]);
    let _third = Process::start("mneme-memory-harvester", &nats.url, &[]);
    let replicas = wait_for_instances(&client, HARVESTER, 2, Duration::from_secs(20)).await;
    for (replica, text) in replicas.iter().zip([note.to_owned(), note.replace("a lot", "so much")]) {
        let subject = format!("mneme.instance.memory_harvester.{}.process_memory", replica.id);
        let reply = raw_request(
            &client,
            &subject,
            HeaderMap::new(),
            msgpack_body("process_memory", serde_json::json!({"raw_input": text, "owner": "ann", "source": "chat"})),
        )
        .await;
        let memory = reply.message.payload_as::<MemoryProcessed>().unwrap().processed_memory;
        let duplicate = memory.duplicate_of.expect("recognized as a repeat");
        assert_eq!(duplicate.memory_id, original.id);
    }
    let reply = raw_request(
        &client,
        PROCESS_MEMORY,
        HeaderMap::new(),
        msgpack_body("process_memory", serde_json::json!({"raw_input": note, "owner": "bob"})),
    )
    .await;
    assert!(
        !reply.message.payload_as::<MemoryProcessed>().unwrap().processed_memory.is_duplicate,
        "owners are separate"
    );
}

/// One HTTP/1.1 GET on loopback: the status code and the body.
async fn http_get(port: u16, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("the HTTP port answers");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response.split_whitespace().nth(1).and_then(|code| code.parse().ok()).expect("a status line");
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    (status, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_http_port_reports_liveness_readiness_and_prometheus_metrics() {
    let nats = NatsServer::start();
    let port = mneme_system_tests::free_port();
    let listen = format!("127.0.0.1:{port}");
    let _harvester = Process::start("mneme-memory-harvester", &nats.url, &[("MNEME__SERVICE__HTTP_LISTEN", &listen)]);
    let client = nats.connect().await;
    wait_for_instances(&client, ComponentKind::Agent(AgentType::MemoryHarvester), 1, Duration::from_secs(20)).await;
    mneme_system_tests::eventually(Duration::from_secs(10), "ready", async || http_get(port, "/readyz").await.0 == 200)
        .await;
    assert_eq!(http_get(port, "/healthz").await.0, 200);
    let subject =
        mneme_protocol::subjects::request(ComponentKind::Agent(AgentType::MemoryHarvester), "validate_quality");
    for text in ["Lunch with Omar at the noodle bar.", "Walked the canal path home."] {
        let body = msgpack_body("validate_quality", serde_json::json!({"text": text}));
        raw_request(&client, &subject, Default::default(), body).await;
    }
    let (status, metrics) = http_get(port, "/metrics").await;
    assert_eq!(status, 200);
    let line = r#"mneme_requests_total{agent_type="memory_harvester",message_type="validate_quality"} 2"#;
    assert!(metrics.contains(line), "{metrics}");
    assert!(metrics.contains("# TYPE mneme_request_duration_seconds histogram"), "{metrics}");
    assert!(metrics.contains(r#"mneme_concurrency_limit{agent_type="memory_harvester"} 64"#), "{metrics}");

    // Without NATS the process is alive and not ready.
    drop(nats);
    mneme_system_tests::eventually(Duration::from_secs(30), "not ready without NATS", async || {
        http_get(port, "/readyz").await.0 == 503
    })
    .await;
    assert_eq!(http_get(port, "/healthz").await.0, 200);
}
