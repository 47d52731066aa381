//! The privacy guardian as a process: `detect_pii` and `redact` over plain NATS requests, in MessagePack and
//! JSON, with typed errors for what a client gets wrong.

use std::time::Duration;

use async_nats::HeaderMap;
use mneme_protocol::guardian::{PiiDetected, PiiEntityType, Redacted};
use mneme_protocol::{AgentType, ComponentKind, ErrorPayload};
use mneme_system_tests::{MasterKey, NatsServer, Process, msgpack_body, raw_request, wait_for_instances};

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
