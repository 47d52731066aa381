//! The privacy guardian as a process: `detect_pii` and `redact` over plain NATS requests, in MessagePack and
//! JSON, with typed errors for what a client gets wrong; the master key rotated under stored memories; an
//! owner's people shared by replicas and hidden from a grantee.

use std::time::Duration;

use async_nats::HeaderMap;
use mneme_protocol::guardian::{KeysRewrapped, MemoryReply, PiiDetected, PiiEntityType, Redacted, SecurityApplied};
use mneme_protocol::harvester::MemoryProcessed;
use mneme_protocol::{AgentType, ComponentKind, ErrorPayload};
use mneme_system_tests::{MasterKey, NatsServer, Process, mneme, msgpack_body, raw_request, wait_for_instances};

const GUARDIAN: ComponentKind = ComponentKind::Agent(AgentType::PrivacyGuardian);
const DETECT: &str = "mneme.agent.privacy_guardian.detect_pii";
const REDACT: &str = "mneme.agent.privacy_guardian.redact";

async fn system(environment: &[(&str, &str)]) -> (NatsServer, Process, async_nats::Client) {
    let nats = NatsServer::start();
    let guardian = Process::start("mneme-privacy-guardian", &nats.url, environment);
    let client = nats.connect().await;
    wait_for_instances(&client, GUARDIAN, 1, Duration::from_secs(20)).await;
    (nats, guardian, client)
}

fn json_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("Content-Type", "application/json");
    headers
}

#[tokio::test(flavor = "multi_thread")]
async fn detects_and_redacts_over_nats() {
    let master_key = MasterKey::new("5a");
    let key_path = master_key.file.clone();
    let (_nats, _guardian, client) = system(&[("MNEME__GUARDIAN__MASTER_KEY_FILE", &key_path)]).await;
    let text = "Zoë Brandt (zoe.brandt@example.org) paid with 4111 1111 1111 1111.";

    let reply =
        raw_request(&client, DETECT, HeaderMap::new(), msgpack_body("detect_pii", serde_json::json!({"text": text})))
            .await;
    assert_eq!(reply.message.message_type, "pii_detected");
    assert!(reply.message.sender_id.starts_with("privacy_guardian_"));
    let entities = reply.message.payload_as::<PiiDetected>().unwrap().entities;
    let kinds: Vec<PiiEntityType> = entities.iter().map(|entity| entity.entity_type).collect();
    assert_eq!(kinds, [PiiEntityType::Person, PiiEntityType::EmailAddress, PiiEntityType::CreditCard]);
    // Offsets count characters: `ë` is one.
    let email = &entities[1];
    assert_eq!((email.start, email.end), (12, 34));
    assert_eq!(text.chars().skip(email.start).take(email.end - email.start).collect::<String>(), email.text);

    let body = serde_json::to_vec(&serde_json::json!({
        "type": "redact",
        "payload": {"text": text, "mode": "pseudonym", "owner": "ann"}
    }))
    .unwrap();
    let reply = raw_request(&client, REDACT, json_headers(), body.clone()).await;
    assert_eq!(reply.header("Content-Type").as_deref(), Some("application/json"));
    let redacted = reply.message.payload_as::<Redacted>().unwrap();
    assert!(!redacted.text.contains("Brandt") && !redacted.text.contains("4111"), "{}", redacted.text);
    let again = raw_request(&client, REDACT, json_headers(), body).await.message.payload_as::<Redacted>().unwrap();
    assert_eq!(again.text, redacted.text, "pseudonyms are stable for an owner");

    let placeholder = raw_request(
        &client,
        REDACT,
        HeaderMap::new(),
        msgpack_body("redact", serde_json::json!({"text": text, "mode": "placeholder"})),
    )
    .await;
    assert_eq!(
        placeholder.message.payload_as::<Redacted>().unwrap().text,
        "<PERSON> (<EMAIL_ADDRESS>) paid with <CREDIT_CARD>."
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn client_mistakes_are_typed_errors_and_the_guardian_keeps_serving() {
    let (_nats, _guardian, client) = system(&[]).await;
    let cases: [(&str, Vec<u8>, u16); 4] = [
        (DETECT, msgpack_body("detect_pii", serde_json::json!({"text": 42})), 400),
        (DETECT, msgpack_body("detect_pii", serde_json::json!({"text": "x", "entity_types": ["SHOE_SIZE"]})), 400),
        (REDACT, msgpack_body("redact", serde_json::json!({"text": "Ann", "mode": "pseudonym"})), 400),
        // No master key is configured here: pseudonyms cannot be made, and the caller is told why.
        (REDACT, msgpack_body("redact", serde_json::json!({"text": "Ann", "mode": "pseudonym", "owner": "ann"})), 503),
    ];
    for (subject, body, status) in cases {
        let reply = raw_request(&client, subject, HeaderMap::new(), body).await;
        assert_eq!(reply.message.message_type, "error_response");
        let error: ErrorPayload = reply.message.payload_as().unwrap();
        assert_eq!(error.code, status, "{error:?}");
        assert_eq!(reply.header("Nats-Service-Error-Code"), Some(status.to_string()));
    }
    let reply = raw_request(&client, DETECT, HeaderMap::new(), b"\xc1garbage".to_vec()).await;
    assert_eq!(reply.message.message_type, "error_response");
    let reply = raw_request(
        &client,
        DETECT,
        HeaderMap::new(),
        msgpack_body("detect_pii", serde_json::json!({"text": "Call +44 20 7946 0958"})),
    )
    .await;
    assert_eq!(reply.message.payload_as::<PiiDetected>().unwrap().entities[0].entity_type, PiiEntityType::PhoneNumber);
}

/// A memory stored under one master key, read back after the key was rotated: the guardian restarted with
/// the new key and the old one as `previous_master_key_file`, `mneme rewrap-keys`, then the new key alone.
#[tokio::test(flavor = "multi_thread")]
async fn the_master_key_rotates_without_losing_a_memory() {
    let nats = NatsServer::start();
    let client = nats.connect().await;
    let (old, new) = (MasterKey::new("6b"), MasterKey::new("6c"));
    let harvester = ComponentKind::Agent(AgentType::MemoryHarvester);
    let _harvester = Process::start("mneme-memory-harvester", &nats.url, &[]);
    wait_for_instances(&client, harvester, 1, Duration::from_secs(20)).await;
    let processed = raw_request(
        &client,
        "mneme.agent.memory_harvester.process_memory",
        HeaderMap::new(),
        msgpack_body(
            "process_memory",
            serde_json::json!({"raw_input": "Rotated keys keep this sentence.", "owner": "ann"}),
        ),
    )
    .await
    .message
    .payload_as::<MemoryProcessed>()
    .unwrap()
    .processed_memory;

    let guardian_with = |environment: &[(&str, &str)]| Process::start("mneme-privacy-guardian", &nats.url, environment);
    let read = async |client: &async_nats::Client| {
        let request = serde_json::json!({"principal": "ann", "owner": "ann", "memory_id": processed.id});
        raw_request(
            client,
            "mneme.agent.privacy_guardian.get_memory",
            HeaderMap::new(),
            msgpack_body("get_memory", request),
        )
        .await
        .message
    };

    let mut guardian = guardian_with(&[("MNEME__GUARDIAN__MASTER_KEY_FILE", &old.file)]);
    wait_for_instances(&client, GUARDIAN, 1, Duration::from_secs(20)).await;
    let store = msgpack_body("apply_security", serde_json::json!({"memory": processed}));
    let stored = raw_request(&client, "mneme.agent.privacy_guardian.apply_security", HeaderMap::new(), store).await;
    assert!(stored.message.payload_as::<SecurityApplied>().unwrap().stored);
    guardian.signal(nix::sys::signal::Signal::SIGTERM);
    guardian.wait_exit(Duration::from_secs(20));

    // The new key alone cannot open what the old one sealed.
    let mut guardian = guardian_with(&[("MNEME__GUARDIAN__MASTER_KEY_FILE", &new.file)]);
    wait_for_instances(&client, GUARDIAN, 1, Duration::from_secs(20)).await;
    assert!(read(&client).await.as_error().is_some(), "the new key opened the old key's memory");
    guardian.signal(nix::sys::signal::Signal::SIGTERM);
    guardian.wait_exit(Duration::from_secs(20));

    let mut guardian = guardian_with(&[
        ("MNEME__GUARDIAN__MASTER_KEY_FILE", &new.file),
        ("MNEME__GUARDIAN__PREVIOUS_MASTER_KEY_FILE", &old.file),
    ]);
    wait_for_instances(&client, GUARDIAN, 1, Duration::from_secs(20)).await;
    let (ok, out) = mneme(&["--nats-url", &nats.url, "rewrap-keys", "--format", "json"]);
    assert!(ok, "{out}");
    let report: KeysRewrapped = serde_json::from_str(&out).unwrap();
    assert_eq!(report, KeysRewrapped { rewrapped: 1, current: 0, unreadable: 0 });
    guardian.signal(nix::sys::signal::Signal::SIGTERM);
    guardian.wait_exit(Duration::from_secs(20));

    let _guardian = guardian_with(&[("MNEME__GUARDIAN__MASTER_KEY_FILE", &new.file)]);
    wait_for_instances(&client, GUARDIAN, 1, Duration::from_secs(20)).await;
    let memory = read(&client).await.payload_as::<MemoryReply>().expect("the memory opens under the new key alone");
    assert_eq!(memory.memory.memory.text, "Rotated keys keep this sentence.");
}

/// A name one memory shows to be someone's is hidden in the others a grantee reads, stored before or after,
/// whichever of two replicas stored them: the owner's people live in JetStream.
#[tokio::test(flavor = "multi_thread")]
async fn a_name_learned_from_one_memory_is_hidden_in_every_memory_a_grantee_reads() {
    let nats = NatsServer::start();
    let client = nats.connect().await;
    let key = MasterKey::new("6d");
    let environment = [("MNEME__GUARDIAN__MASTER_KEY_FILE", key.file.as_str())];
    let _guardians = [
        Process::start("mneme-privacy-guardian", &nats.url, &environment),
        Process::start("mneme-privacy-guardian", &nats.url, &environment),
    ];
    let _harvester = Process::start("mneme-memory-harvester", &nats.url, &[]);
    wait_for_instances(&client, GUARDIAN, 2, Duration::from_secs(20)).await;
    wait_for_instances(&client, ComponentKind::Agent(AgentType::MemoryHarvester), 1, Duration::from_secs(20)).await;
    let request = async |subject: &str, message_type: &str, payload: serde_json::Value| {
        let reply = raw_request(&client, subject, HeaderMap::new(), msgpack_body(message_type, payload)).await;
        assert!(reply.message.as_error().is_none(), "{message_type}: {:?}", reply.message.as_error());
        reply.message
    };

    let mut ids = Vec::new();
    for text in ["Tom, finally. Home by nine.", "Lunch with Tom at the market.", "Tom, again. Home by ten."] {
        let processed = request(
            "mneme.agent.memory_harvester.process_memory",
            "process_memory",
            serde_json::json!({"raw_input": text, "owner": "ann"}),
        )
        .await
        .payload_as::<MemoryProcessed>()
        .unwrap()
        .processed_memory;
        let applied = request(
            "mneme.agent.privacy_guardian.apply_security",
            "apply_security",
            serde_json::json!({"memory": processed}),
        )
        .await
        .payload_as::<SecurityApplied>()
        .unwrap();
        ids.push((processed.id, applied.shareable_text));
    }
    assert_eq!(ids[0].1, "Tom, finally. Home by nine.", "nothing in it says Tom is someone");
    assert_eq!(ids[2].1, "<PERSON>, again. Home by ten.", "known by then");

    let grant = serde_json::json!({
        "principal": "ann", "owner": "ann", "grantee": "bob", "max_sensitivity": "personal", "scopes": ["memories"]
    });
    request("mneme.agent.privacy_guardian.grant_access", "grant_access", grant).await;
    for (id, _) in &ids {
        let read = serde_json::json!({"principal": "bob", "owner": "ann", "memory_id": id});
        let memory = request("mneme.agent.privacy_guardian.get_memory", "get_memory", read).await;
        let text = memory.payload_as::<MemoryReply>().unwrap().memory.memory.text;
        assert!(text.contains("<PERSON>") && !text.contains("Tom"), "{text}");
    }
    let read = serde_json::json!({"principal": "ann", "owner": "ann", "memory_id": ids[0].0});
    let memory = request("mneme.agent.privacy_guardian.get_memory", "get_memory", read).await;
    assert_eq!(memory.payload_as::<MemoryReply>().unwrap().memory.memory.text, "Tom, finally. Home by nine.");
}
