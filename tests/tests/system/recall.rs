//! Recall and digests end to end, with real processes: chats ingested through the pipeline into the insight
//! generator's index, questions answered by either of two replicas, a replica killed and replaced (its
//! successor loads the index from the ledger), a memory added later found by every replica, strangers kept
//! out; a digest partial while the analysis agents are down, and whole once they are up.

use std::time::Duration;

use nix::sys::signal::Signal;

use mneme_protocol::insights::{Digest, SearchResults, message_types};
use mneme_protocol::{AgentType, ComponentKind};
use mneme_system_tests::{
    MasterKey, NatsServer, Process, eventually, mneme, msgpack_body, raw_request, wait_for_instances,
};

const INGEST_ENV: [(&str, &str); 4] = [
    ("MNEME__INGEST__TRAIN_AVATAR", "false"),
    ("MNEME__INGEST__ANALYZE_PATTERNS", "false"),
    ("MNEME__INGEST__MAP_RELATIONSHIPS", "false"),
    ("MNEME__INGEST__STEP_TIMEOUT_MS", "5000"),
];

fn conversations() -> String {
    format!("{}/../agents/insight_generator/eval/conversations.json", env!("CARGO_MANIFEST_DIR"))
}

async fn search(client: &async_nats::Client, principal: &str, query: &str) -> Result<SearchResults, String> {
    let payload = serde_json::json!({
        "principal": principal, "owner": "maya", "query": query, "limit": 5,
        "filters": {"now": "2023-12-31T12:00:00Z"}
    });
    let subject =
        mneme_protocol::subjects::request(ComponentKind::Agent(AgentType::InsightGenerator), message_types::SEARCH);
    let reply = raw_request(client, &subject, Default::default(), msgpack_body(message_types::SEARCH, payload)).await;
    match reply.message.as_error() {
        Some(error) => Err(format!("{} {}", error.code, error.error)),
        None => Ok(reply.message.payload_as().expect("search_results")),
    }
}

fn sources(results: &SearchResults) -> Vec<String> {
    results.results.iter().filter_map(|hit| hit.source.clone()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn questions_find_their_turns_across_replicas_and_restarts() {
    let nats = NatsServer::start_encrypted();
    let client = nats.connect().await;
    let master_key = MasterKey::new("5d");
    let key = master_key.file.clone();
    let with_key = [("MNEME__GUARDIAN__MASTER_KEY_FILE", key.as_str())];
    let mut processes = vec![
        Process::start("mneme-memory-harvester", &nats.url, &[]),
        Process::start("mneme-privacy-guardian", &nats.url, &with_key),
        Process::start("mneme-insight-generator", &nats.url, &[]),
        Process::start("mneme-insight-generator", &nats.url, &[]),
        Process::start("mneme-orchestrator", &nats.url, &INGEST_ENV),
    ];
    for kind in [AgentType::MemoryHarvester, AgentType::PrivacyGuardian] {
        wait_for_instances(&client, ComponentKind::Agent(kind), 1, Duration::from_secs(30)).await;
    }
    wait_for_instances(&client, ComponentKind::Agent(AgentType::InsightGenerator), 2, Duration::from_secs(30)).await;
    wait_for_instances(&client, ComponentKind::Orchestrator, 1, Duration::from_secs(30)).await;

    let url = nats.url.clone();
    let path = conversations();
    let (ok, summary) = mneme(&["--nats-url", &url, "ingest", &path, "--owner", "maya", "--format", "json"]);
    assert!(ok, "{summary}");
    let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(summary["unsettled"], 0, "{summary}");

    // Asked several times, so that both replicas answer.
    for _ in 0..4 {
        let found = search(&client, "maya", "When does Omar start at Fieldwork?").await.unwrap();
        assert_eq!(sources(&found).first().map(String::as_str), Some("omar:D3:1"), "{found:?}");
        assert!(found.results[0].snippet.contains("Fieldwork"), "{found:?}");
    }
    let berlin = search(&client, "maya", "What happened at the conference in September 2023?").await.unwrap();
    assert!(berlin.reading.period.is_some(), "{berlin:?}");
    assert!(sources(&berlin).iter().take(3).any(|source| source == "leo:D4:1"), "{berlin:?}");
    let refused = search(&client, "omar", "Fieldwork").await.unwrap_err();
    assert!(refused.starts_with("403"), "{refused}");

    // A replica dies and another takes its place: the newcomer loads the index from the ledger.
    let generator = processes.iter().position(|process| process.label == "mneme-insight-generator").unwrap();
    processes.remove(generator).signal(Signal::SIGKILL);
    processes.push(Process::start("mneme-insight-generator", &nats.url, &[]));
    wait_for_instances(&client, ComponentKind::Agent(AgentType::InsightGenerator), 2, Duration::from_secs(30)).await;

    // A memory added now reaches every replica's index.
    let note_dir = tempfile::tempdir().unwrap();
    let note = note_dir.path().join("bakery.md");
    std::fs::write(&note, "Signed the lease for the bakery on Mill Lane today. Opening in spring!").unwrap();
    let note = note.display().to_string();
    let (ok, out) = mneme(&["--nats-url", &url, "ingest", &note, "--owner", "maya", "--format", "json"]);
    assert!(ok, "{out}");
    eventually(Duration::from_secs(10), "the new note in both replicas' indexes", async || {
        let mut found_by_all = true;
        for _ in 0..6 {
            found_by_all &= search(&client, "maya", "bakery lease").await.is_ok_and(|found| found.results.len() == 1);
        }
        found_by_all
    })
    .await;
    for _ in 0..4 {
        let found = search(&client, "maya", "When does Omar start at Fieldwork?").await.unwrap();
        assert_eq!(sources(&found).first().map(String::as_str), Some("omar:D3:1"));
    }

    // The CLI asks the same way.
    let (ok, out) = mneme(&[
        "--nats-url",
        &url,
        "ask",
        "Which trip did we take last summer?",
        "--owner",
        "maya",
        "--now",
        "2024-01-10T12:00:00Z",
        "--format",
        "json",
    ]);
    assert!(ok, "{out}");
    let answer: SearchResults = serde_json::from_str(&out).unwrap();
    assert!(sources(&answer).iter().take(5).any(|source| source.starts_with("omar:D5:")), "{answer:?}");

    // A digest while the pattern analyzer, the relationship mapper and the avatar trainer are down is partial,
    // and says so.
    let year = ["--nats-url", &url, "insights", "--owner", "maya", "--period", "year", "--ending", "2023-12-31"];
    let mut partial_args = year.to_vec();
    partial_args.extend(["--deadline-ms", "1500", "--format", "json"]);
    let (ok, out) = mneme(&partial_args);
    assert!(ok, "{out}");
    let partial: Digest = serde_json::from_str(&out).unwrap();
    assert!(!partial.complete && partial.missing.len() == 3, "{partial:?}");
    assert_eq!(partial.memories, 172, "{partial:?}");
    assert!(partial.insights.iter().any(|insight| insight.title.starts_with("172 memories this year")), "{partial:?}");

    processes.push(Process::start("mneme-pattern-analyzer", &nats.url, &[]));
    processes.push(Process::start("mneme-relationship-mapper", &nats.url, &[]));
    processes.push(Process::start("mneme-avatar-trainer", &nats.url, &[]));
    for kind in [AgentType::PatternAnalyzer, AgentType::RelationshipMapper, AgentType::AvatarTrainer] {
        wait_for_instances(&client, ComponentKind::Agent(kind), 1, Duration::from_secs(30)).await;
    }
    let mut whole_args = year.to_vec();
    whole_args.extend(["--format", "json"]);
    let (ok, out) = mneme(&whole_args);
    assert!(ok, "{out}");
    let whole: Digest = serde_json::from_str(&out).unwrap();
    assert!(whole.complete, "{whole:?}");

    // The owner finds the activity summary of little use: its weight falls, for whichever replica answers.
    for rating in ["1", "2"] {
        let (ok, out) = mneme(&["--nats-url", &url, "insights", "rate", "activity", rating, "--owner", "maya"]);
        assert!(ok, "{out}");
    }
    let (ok, out) = mneme(&whole_args);
    assert!(ok, "{out}");
    let rated: Digest = serde_json::from_str(&out).unwrap();
    let activity =
        rated.insights.iter().find(|insight| insight.kind == mneme_protocol::insights::InsightKind::Activity).unwrap();
    assert!((activity.weight - 0.7 * 0.85).abs() < 1e-9, "{rated:?}");
    let (ok, _) = mneme(&["--nats-url", &url, "insights", "rate", "mood", "5", "--owner", "maya", "--as", "omar"]);
    assert!(!ok, "only the owner rates");
}
