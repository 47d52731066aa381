//! What a careless or hostile client sends, against every endpoint of every agent and the orchestrator, with
//! real processes: random bytes, wrong types, a body over the limit, invalid UTF-8, deep nesting, the wrong
//! content type. Each gets an answer (a typed `error_response` wherever the request cannot be read), and every
//! process is still up and answering afterwards.

use std::time::Duration;

use async_nats::HeaderMap;

use mneme_protocol::{AgentType, ComponentKind, subjects};
use mneme_system_tests::{MasterKey, NatsServer, Process, msgpack_body, raw_request, wait_for_instances};

/// The processes' `service.max_body_bytes` here: below NATS's own limit on a message, so that the runtime's
/// answer to a larger body is what is seen.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// A MessagePack envelope map `{type, payload: {text: <bytes that are not UTF-8>}}`.
fn invalid_utf8(message_type: &str) -> Vec<u8> {
    let mut body = vec![0x82, 0xa4];
    body.extend_from_slice(b"type");
    body.push(0xa0 | u8::try_from(message_type.len()).expect("short type"));
    body.extend_from_slice(message_type.as_bytes());
    body.push(0xa7);
    body.extend_from_slice(b"payload");
    body.extend_from_slice(&[0x81, 0xa4]);
    body.extend_from_slice(b"text");
    body.extend_from_slice(&[0xa4, 0xff, 0xfe, 0xc3, 0x28]);
    body
}

/// An envelope whose payload nests `depth` arrays in MessagePack.
fn deep_msgpack(message_type: &str, depth: usize) -> Vec<u8> {
    let mut body = msgpack_body(message_type, serde_json::json!(null));
    // The payload is the envelope's last value written as nil: replace it with the nesting.
    let nil = body.iter().rposition(|byte| *byte == 0xc0).expect("a nil payload");
    body.truncate(nil);
    body.extend(std::iter::repeat_n(0x91, depth));
    body.push(0xc0);
    body
}

fn json_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("Content-Type", "application/json");
    headers
}

/// Bytes from a fixed seed, so that a failure repeats.
fn noise(seed: u64, length: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

struct Case {
    name: &'static str,
    headers: HeaderMap,
    body: Vec<u8>,
    /// Whether the request cannot be read at all, so that only a 4xx answer is right.
    unreadable: bool,
}

fn cases(message_type: &str, seed: u64) -> Vec<Case> {
    let json = |text: String| text.into_bytes();
    vec![
        Case { name: "random bytes", headers: HeaderMap::new(), body: noise(seed, 64), unreadable: true },
        Case {
            name: "a payload of the wrong type",
            headers: HeaderMap::new(),
            body: msgpack_body(message_type, serde_json::json!(42)),
            unreadable: false,
        },
        Case {
            name: "fields of the wrong types",
            headers: HeaderMap::new(),
            body: msgpack_body(
                message_type,
                serde_json::json!({"raw_input": 1, "text": [], "owner": {}, "principal": 7, "query": false,
                    "memory": "x", "raw_inputs": "x", "limit": "many"}),
            ),
            unreadable: false,
        },
        Case {
            name: "a body over the limit",
            headers: HeaderMap::new(),
            body: vec![0xa0; MAX_BODY_BYTES + 1],
            unreadable: true,
        },
        Case { name: "invalid UTF-8", headers: HeaderMap::new(), body: invalid_utf8(message_type), unreadable: true },
        Case {
            name: "deep MessagePack",
            headers: HeaderMap::new(),
            body: deep_msgpack(message_type, 100_000),
            unreadable: true,
        },
        Case {
            name: "deep JSON",
            headers: json_headers(),
            body: json(format!(
                "{{\"type\":\"{message_type}\",\"payload\":{}{}}}",
                "[".repeat(100_000),
                "]".repeat(100_000)
            )),
            unreadable: true,
        },
        Case {
            name: "MessagePack sent as JSON",
            headers: json_headers(),
            body: msgpack_body(message_type, serde_json::json!({})),
            unreadable: true,
        },
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn every_endpoint_answers_bad_input_with_typed_errors_and_every_process_stays_up() {
    let nats = NatsServer::start();
    let client = nats.connect().await;
    let master_key = MasterKey::new("7d");
    let key = master_key.file.clone();
    let limit = MAX_BODY_BYTES.to_string();
    let mut processes: Vec<Process> = AgentType::ALL
        .iter()
        .map(|agent| {
            let mut environment = vec![("MNEME__SERVICE__MAX_BODY_BYTES", limit.as_str())];
            if *agent == AgentType::PrivacyGuardian {
                environment.push(("MNEME__GUARDIAN__MASTER_KEY_FILE", key.as_str()));
            }
            Process::start(&agent.binary_name(), &nats.url, &environment)
        })
        .collect();
    processes.push(Process::start(
        "mneme-orchestrator",
        &nats.url,
        &[("MNEME__SERVICE__MAX_BODY_BYTES", limit.as_str())],
    ));
    let kinds: Vec<ComponentKind> =
        AgentType::ALL.iter().map(|agent| ComponentKind::Agent(*agent)).chain([ComponentKind::Orchestrator]).collect();

    let mut asked = 0;
    for (index, kind) in kinds.iter().enumerate() {
        let instance = wait_for_instances(&client, *kind, 1, Duration::from_secs(30)).await.remove(0);
        let mut message_types: Vec<String> =
            instance.capabilities.iter().map(|capability| capability.name.clone()).collect();
        message_types.extend(["get_stats", "ping", "feedback"].map(str::to_owned));
        for message_type in &message_types {
            let subject = subjects::request(*kind, message_type);
            for case in cases(message_type, index as u64 * 1000 + asked) {
                asked += 1;
                let reply = tokio::time::timeout(
                    Duration::from_secs(30),
                    raw_request(&client, &subject, case.headers.clone(), case.body.clone()),
                )
                .await
                .unwrap_or_else(|_| panic!("{kind} {message_type}: no answer to {}", case.name));
                let code = reply.message.as_error().map(|error| error.code);
                if case.unreadable {
                    assert!(
                        code.is_some_and(|code| (400..500).contains(&code)),
                        "{kind} {message_type}, {}: {code:?} {:?}",
                        case.name,
                        reply.message.payload
                    );
                } else {
                    assert!(code.is_none_or(|code| code < 500), "{kind} {message_type}, {}: {code:?}", case.name);
                }
            }
        }
    }
    assert!(asked > 200, "only {asked} requests");

    // Everyone is still there, and answers.
    for process in &mut processes {
        assert!(process.child_is_running(), "{} stopped", process.label);
    }
    for kind in kinds {
        let reply = raw_request(&client, &subjects::request(kind, "ping"), HeaderMap::new(), Vec::new()).await;
        assert_eq!(reply.message.message_type, "pong", "{kind}");
    }
}
