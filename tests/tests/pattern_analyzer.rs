//! The pattern analyzer as a process: `analyze_sentiment` over plain NATS requests.

use std::time::Duration;

use async_nats::HeaderMap;
use mneme_protocol::patterns::SentimentAnalyzed;
use mneme_protocol::{AgentType, ComponentKind, ErrorPayload};
use mneme_system_tests::{NatsServer, Process, msgpack_body, raw_request, wait_for_instances};

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
