//! The pattern analyzer as a process: `analyze_sentiment` over plain NATS requests, and patterns kept exact
//! by replicas updating them at once.

use std::time::Duration;

use async_nats::HeaderMap;
use futures::StreamExt;
use mneme_protocol::patterns::Patterns;
use mneme_protocol::patterns::SentimentAnalyzed;
use mneme_protocol::{AgentType, ComponentKind, ErrorPayload};
use mneme_system_tests::{MasterKey, NatsServer, Process, msgpack_body, raw_request, wait_for_instances};

const SUBJECT: &str = "mneme.agent.pattern_analyzer.analyze_sentiment";

#[tokio::test(flavor = "multi_thread")]
async fn scores_sentiment_in_json_and_messagepack() {
    let nats = NatsServer::start();
    let _analyzer = Process::start("mneme-pattern-analyzer", &nats.url, &[]);
    let client = nats.connect().await;
    wait_for_instances(&client, ComponentKind::Agent(AgentType::PatternAnalyzer), 1, Duration::from_secs(20)).await;

    let mut json = HeaderMap::new();
    json.insert("Content-Type", "application/json");
    let body = serde_json::to_vec(&serde_json::json!({
        "type": "analyze_sentiment",
        "payload": {"texts": ["Best day in ages, the kids were SO happy :)", "Lost my keys and missed the train. Awful."]}
    }))
    .unwrap();
    let reply = raw_request(&client, SUBJECT, json, body).await;
    assert_eq!(reply.message.message_type, "sentiment_analyzed");
    let scores = reply.message.payload_as::<SentimentAnalyzed>().unwrap().scores;
    assert!(scores[0].compound > 0.5 && scores[1].compound < -0.4, "{scores:?}");

    let reply = raw_request(
        &client,
        SUBJECT,
        HeaderMap::new(),
        msgpack_body("analyze_sentiment", serde_json::json!({"texts": "not a list"})),
    )
    .await;
    assert_eq!(reply.message.payload_as::<ErrorPayload>().unwrap().code, 400);
    let reply = raw_request(
        &client,
        SUBJECT,
        HeaderMap::new(),
        msgpack_body("analyze_sentiment", serde_json::json!({"texts": ["Fine."]})),
    )
    .await;
    assert_eq!(reply.message.message_type, "sentiment_analyzed", "still serving");
}

fn memory(index: usize) -> serde_json::Value {
    let at = format!("2024-06-{:02}T{:02}:15:00Z", index % 28 + 1, index % 24);
    serde_json::json!({"memory": {
        "id": format!("m{index}"), "owner": "ann", "source": format!("note/{index}"),
        "text": format!("Note {index}: a good walk and a calm evening."),
        "language": {"code": "eng", "name": "English", "confidence": 1.0, "reliable": true},
        "word_count": 8, "occurred_at": at, "processed_at": at, "content_hash": "00",
        "quality": {"score": 1.0, "acceptable": true, "reasons": []}, "is_duplicate": false, "duplicate_of": null
    }})
}

#[tokio::test(flavor = "multi_thread")]
async fn two_replicas_updating_at_once_lose_nothing() {
    let nats = NatsServer::start();
    let master_key = MasterKey::new("6a");
    let key = master_key.file.clone();
    let _replicas = [
        Process::start("mneme-pattern-analyzer", &nats.url, &[]),
        Process::start("mneme-pattern-analyzer", &nats.url, &[]),
        Process::start("mneme-privacy-guardian", &nats.url, &[("MNEME__GUARDIAN__MASTER_KEY_FILE", &key)]),
    ];
    let client = nats.connect().await;
    wait_for_instances(&client, ComponentKind::Agent(AgentType::PatternAnalyzer), 2, Duration::from_secs(20)).await;
    wait_for_instances(&client, ComponentKind::Agent(AgentType::PrivacyGuardian), 1, Duration::from_secs(20)).await;

    // 1,000 memories at once, most of them in the same month (the same key), and 200 of them sent twice.
    let sends: Vec<usize> = (0..1_000).chain(0..200).collect();
    let subject = "mneme.agent.pattern_analyzer.analyze_patterns";
    let replies: Vec<String> = futures::stream::iter(sends)
        .map(|index| {
            let client = client.clone();
            async move {
                raw_request(&client, subject, HeaderMap::new(), msgpack_body("analyze_patterns", memory(index)))
                    .await
                    .message
                    .message_type
            }
        })
        .buffer_unordered(256)
        .collect()
        .await;
    assert!(
        replies.iter().all(|kind| kind == "patterns_analyzed"),
        "{:?}",
        replies.iter().find(|kind| *kind != "patterns_analyzed")
    );

    let body = msgpack_body("get_patterns", serde_json::json!({"principal": "ann", "owner": "ann"}));
    let reply = raw_request(&client, "mneme.agent.pattern_analyzer.get_patterns", HeaderMap::new(), body).await;
    assert_eq!(reply.message.message_type, "patterns", "{:?}", reply.message.as_error());
    let patterns: Patterns = reply.message.payload_as().unwrap();
    assert_eq!(patterns.memories, 1_000, "every update kept, none twice");
    assert_eq!(patterns.rhythms.by_hour.iter().sum::<u64>(), 1_000);

    let body = msgpack_body("get_patterns", serde_json::json!({"principal": "bob", "owner": "ann"}));
    let reply = raw_request(&client, "mneme.agent.pattern_analyzer.get_patterns", HeaderMap::new(), body).await;
    assert_eq!(reply.message.payload_as::<ErrorPayload>().unwrap().code, 403, "the guardian says no");
    // A request that names nobody is the caller's mistake, passed on as the guardian found it, not a failure.
    for (principal, owner, error) in [("", "ann", "the principal is empty"), ("ann", " ", "the owner is empty")] {
        let body = msgpack_body("get_patterns", serde_json::json!({"principal": principal, "owner": owner}));
        let reply = raw_request(&client, "mneme.agent.pattern_analyzer.get_patterns", HeaderMap::new(), body).await;
        let refused = reply.message.payload_as::<ErrorPayload>().unwrap();
        assert_eq!((refused.code, refused.error.as_str(), refused.recoverable), (400, error, false));
    }
}

fn memory_saying(index: usize, text: &str) -> serde_json::Value {
    let mut memory = memory(index);
    memory["memory"]["text"] = serde_json::Value::String(text.to_owned());
    memory
}

/// Every value of `bucket` as it lies in JetStream.
async fn raw_values(jetstream: &async_nats::jetstream::Context, bucket: &str) -> Vec<Vec<u8>> {
    let store = jetstream.get_key_value(bucket).await.unwrap();
    let mut keys = store.keys().await.unwrap();
    let mut values = Vec::new();
    while let Some(key) = keys.next().await {
        if let Some(value) = store.get(key.unwrap()).await.unwrap() {
            values.push(value.to_vec());
        }
    }
    values
}

#[tokio::test(flavor = "multi_thread")]
async fn what_the_analyzer_keeps_is_sealed_and_dies_with_the_owners_key() {
    let nats = NatsServer::start();
    let master_key = MasterKey::new("5d");
    let key = master_key.file.clone();
    let _processes = [
        Process::start("mneme-pattern-analyzer", &nats.url, &[]),
        Process::start("mneme-privacy-guardian", &nats.url, &[("MNEME__GUARDIAN__MASTER_KEY_FILE", &key)]),
    ];
    let client = nats.connect().await;
    wait_for_instances(&client, ComponentKind::Agent(AgentType::PatternAnalyzer), 1, Duration::from_secs(20)).await;
    wait_for_instances(&client, ComponentKind::Agent(AgentType::PrivacyGuardian), 1, Duration::from_secs(20)).await;
    let analyze = async |index: usize, text: &str| {
        let body = msgpack_body("analyze_patterns", memory_saying(index, text));
        let reply = raw_request(&client, "mneme.agent.pattern_analyzer.analyze_patterns", HeaderMap::new(), body).await;
        assert_eq!(reply.message.message_type, "patterns_analyzed", "{:?}", reply.message.as_error());
    };
    analyze(1, "Walked past the zanzibar periwinkle stall again.").await;
    analyze(2, "Bought tea at the zanzibar periwinkle stall.").await;

    let jetstream = async_nats::jetstream::new(client.clone());
    let sealed = raw_values(&jetstream, "mneme_patterns").await;
    assert!(!sealed.is_empty());
    for value in &sealed {
        assert!(!value.windows(8).any(|window| window == b"zanzibar"), "terms are sealed in the bucket");
    }
    let body = msgpack_body("get_patterns", serde_json::json!({"principal": "ann", "owner": "ann"}));
    let reply = raw_request(&client, "mneme.agent.pattern_analyzer.get_patterns", HeaderMap::new(), body).await;
    let patterns: Patterns = reply.message.payload_as().unwrap();
    assert!(
        patterns.keyphrases.iter().any(|keyphrase| keyphrase.phrase == "zanzibar periwinkle"),
        "the analyzer opens what it sealed: {:?}",
        patterns.keyphrases
    );

    // Forgetting ann destroys her data key; what the analyzer kept is purged, and a copy of it never opens again.
    let body = msgpack_body("forget", serde_json::json!({"principal": "ann", "owner": "ann"}));
    let reply = raw_request(&client, "mneme.agent.privacy_guardian.forget", HeaderMap::new(), body).await;
    assert_eq!(reply.message.message_type, "forgotten", "{:?}", reply.message.as_error());
    mneme_system_tests::eventually(Duration::from_secs(20), "the bucket forgets ann", async || {
        raw_values(&jetstream, "mneme_patterns").await.is_empty()
    })
    .await;
    let body = msgpack_body("derive_key", serde_json::json!({"owner": "ann", "purpose": "mneme_patterns"}));
    let reply = raw_request(&client, "mneme.agent.privacy_guardian.derive_key", HeaderMap::new(), body).await;
    let derived: mneme_protocol::guardian::KeyDerived = reply.message.payload_as().unwrap();
    let new_key: [u8; 32] = hex::decode(&derived.key).unwrap().try_into().unwrap();
    let token = mneme_protocol::subjects::owner_token("ann");
    for value in &sealed {
        for day in ["2024-06-02", "2024-06-03"] {
            for shard in 0..16 {
                let context = format!("mneme_patterns/{token}.{day}.{shard:x}");
                assert!(mneme_runtime::sealing::open(&new_key, context.as_bytes(), value).is_err());
            }
        }
    }

    // Ann comes back: her new memories are kept under her new key.
    analyze(3, "A fresh start at the market.").await;
    let body = msgpack_body("get_patterns", serde_json::json!({"principal": "ann", "owner": "ann"}));
    let reply = raw_request(&client, "mneme.agent.pattern_analyzer.get_patterns", HeaderMap::new(), body).await;
    assert_eq!(reply.message.payload_as::<Patterns>().unwrap().memories, 1);
}
