//! The avatar trainer end to end, with real processes: Sam's year ingested through the pipeline, only Sam's
//! own words learned, a persona with Sam's habits, answers from Sam's sentences for Sam and in shareable
//! form for a grantee, nothing for a stranger, model snapshots versioned in the object store and picked up
//! by a new replica, and the voice part of a digest.

use std::time::Duration;

use nix::sys::signal::Signal;

use mneme_protocol::avatar::{AvatarResponse, ModelVersions, Persona, ResponseBackend, message_types};
use mneme_protocol::insights::{Digest, InsightKind, SearchResults};
use mneme_protocol::{AgentType, ComponentKind};
use mneme_system_tests::{
    MasterKey, NatsServer, Process, eventually, mneme, msgpack_body, raw_request, wait_for_instances,
};

const AVATAR: ComponentKind = ComponentKind::Agent(AgentType::AvatarTrainer);

async fn ask<T: serde::de::DeserializeOwned>(
    client: &async_nats::Client,
    message_type: &str,
    payload: serde_json::Value,
) -> Result<T, String> {
    let subject = mneme_protocol::subjects::request(AVATAR, message_type);
    let reply = raw_request(client, &subject, Default::default(), msgpack_body(message_type, payload)).await;
    match reply.message.as_error() {
        Some(error) => Err(format!("{} {}", error.code, error.error)),
        None => Ok(reply.message.payload_as().expect("the advertised reply")),
    }
}

async fn persona(client: &async_nats::Client) -> Persona {
    ask(client, message_types::GET_PERSONA, serde_json::json!({"principal": "sam", "owner": "sam"})).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn sams_voice_is_learned_from_sams_words_and_answers_within_each_callers_reach() {
    let nats = NatsServer::start_encrypted();
    let client = nats.connect().await;
    let master_key = MasterKey::new("6e");
    let key = master_key.file.clone();
    let with_key = [("MNEME__GUARDIAN__MASTER_KEY_FILE", key.as_str())];
    let avatar_env = [("MNEME__AVATAR__SNAPSHOT_AFTER_MS", "500")];
    let mut processes = vec![
        Process::start("mneme-memory-harvester", &nats.url, &[]),
        Process::start("mneme-privacy-guardian", &nats.url, &with_key),
        Process::start("mneme-pattern-analyzer", &nats.url, &[]),
        Process::start("mneme-insight-generator", &nats.url, &[]),
        Process::start("mneme-avatar-trainer", &nats.url, &avatar_env),
        Process::start("mneme-avatar-trainer", &nats.url, &avatar_env),
        Process::start("mneme-orchestrator", &nats.url, &[("MNEME__INGEST__MAP_RELATIONSHIPS", "false")]),
    ];
    for kind in [
        AgentType::MemoryHarvester,
        AgentType::PrivacyGuardian,
        AgentType::PatternAnalyzer,
        AgentType::InsightGenerator,
    ] {
        wait_for_instances(&client, ComponentKind::Agent(kind), 1, Duration::from_secs(30)).await;
    }
    wait_for_instances(&client, AVATAR, 2, Duration::from_secs(30)).await;
    wait_for_instances(&client, ComponentKind::Orchestrator, 1, Duration::from_secs(30)).await;

    let url = nats.url.clone();
    let corpus = format!("{}/../orchestrator/demo", env!("CARGO_MANIFEST_DIR"));
    let (ok, summary) = mneme(&["--nats-url", &url, "ingest", &corpus, "--owner", "sam", "--format", "json"]);
    assert!(ok, "{summary}");
    let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(summary["unsettled"], 0, "{summary}");

    // Only Sam's own words: the journal, Sam's side of the chats, and the mail Sam sent.
    let learned = persona(&client).await;
    assert!((100..138).contains(&learned.memories), "{learned:?}");
    let phrases: Vec<&str> = learned.signature_phrases.iter().map(|phrase| phrase.phrase.as_str()).collect();
    assert!(phrases.contains(&"Saturday run"), "{phrases:?}");
    let interests: Vec<&str> = learned.interests.iter().map(|interest| interest.term.as_str()).collect();
    assert!(interests.contains(&"pottery"), "{interests:?}");
    assert!(
        !interests.iter().any(|term| ["omar", "lena", "jonas"].contains(term)),
        "names are people, not interests: {interests:?}"
    );
    assert_eq!(learned.personality.traits.len(), 5);
    assert!(learned.sentiment.is_some_and(|sentiment| sentiment.scored_memories == learned.memories));
    // Both replicas follow the same ledger.
    for _ in 0..4 {
        assert_eq!(persona(&client).await.memories, learned.memories);
    }

    // Sam's answer is made of Sam's sentences.
    let prompt = serde_json::json!({"principal": "sam", "owner": "sam", "prompt": "How was Lisbon?"});
    let answer: AvatarResponse = ask(&client, message_types::RESPOND, prompt.clone()).await.unwrap();
    assert!(answer.answered && answer.backend == ResponseBackend::Extractive, "{answer:?}");
    assert!(answer.text.contains("Lisbon"), "{answer:?}");
    let sources: String = answer.sources.iter().map(|source| source.snippet.as_str()).collect::<Vec<_>>().join(" ");
    for sentence in answer.text.split_inclusive(['.', '!', '?']) {
        assert!(sources.contains(sentence.trim()), "`{sentence}` is not Sam's: {answer:?}");
    }
    // A stranger gets nothing; a grantee of personal memories gets them in shareable form.
    let stranger = ask::<AvatarResponse>(
        &client,
        message_types::RESPOND,
        serde_json::json!({"principal": "eve", "owner": "sam", "prompt": "How was Lisbon?"}),
    )
    .await;
    assert!(stranger.is_err_and(|error| error.starts_with("403")));
    let grant = serde_json::json!({
        "principal": "sam", "owner": "sam", "grantee": "lena", "max_sensitivity": "personal",
        "scopes": ["memories", "derived"]
    });
    let subject = mneme_protocol::subjects::request(ComponentKind::Agent(AgentType::PrivacyGuardian), "grant_access");
    let granted = raw_request(&client, &subject, Default::default(), msgpack_body("grant_access", grant)).await;
    assert!(granted.message.as_error().is_none(), "{:?}", granted.message.as_error());
    let for_lena: AvatarResponse = ask(
        &client,
        message_types::RESPOND,
        serde_json::json!({"principal": "lena", "owner": "sam", "prompt": "How was Lisbon?"}),
    )
    .await
    .unwrap();
    assert!(!for_lena.sources.is_empty() && for_lena.sources.iter().all(|source| source.redacted), "{for_lena:?}");
    // Tom is written `with Tom` in one memory and `Tom got the job` in another, where nothing around him says
    // he is someone: each of his names is found.
    let names = ["Lena", "Tom", "Omar", "Priya"];
    assert!(!names.iter().any(|name| for_lena.text.contains(name)), "a grantee reads names as stand-ins: {for_lena:?}");
    let subject = mneme_protocol::subjects::request(ComponentKind::Agent(AgentType::InsightGenerator), "search");
    let question = serde_json::json!({"principal": "lena", "owner": "sam", "query": "what did we do in Lisbon?"});
    let searched = raw_request(&client, &subject, Default::default(), msgpack_body("search", question)).await;
    let searched: SearchResults = searched.message.payload_as().expect("search_results");
    let added: Vec<&str> = searched.reading.expansion.iter().filter_map(|weighted| weighted.word.as_deref()).collect();
    assert_eq!(added.len(), searched.reading.expansion.len(), "{:?}", searched.reading);
    assert!(
        !added.iter().any(|word| names.iter().any(|name| word.eq_ignore_ascii_case(name))),
        "a name the grantee reads as a stand-in is no word a question gains: {added:?}"
    );

    // Snapshots are written as training goes, and a new replica starts from them.
    let versions = async || -> ModelVersions {
        ask(&client, message_types::LIST_MODEL_VERSIONS, serde_json::json!({"principal": "sam", "owner": "sam"}))
            .await
            .unwrap()
    };
    eventually(Duration::from_secs(20), "a model snapshot", async || {
        versions().await.versions.last().is_some_and(|version| version.memories == learned.memories)
    })
    .await;
    let latest = versions().await.versions.last().unwrap().version;
    let versioned: Persona = ask(
        &client,
        message_types::GET_PERSONA,
        serde_json::json!({"principal": "sam", "owner": "sam", "version": latest}),
    )
    .await
    .unwrap();
    assert_eq!(versioned.memories, learned.memories);
    while let Some(at) = processes.iter().position(|process| process.label == "mneme-avatar-trainer") {
        processes.remove(at).signal(Signal::SIGKILL);
    }
    processes.push(Process::start("mneme-avatar-trainer", &nats.url, &avatar_env));
    wait_for_instances(&client, AVATAR, 1, Duration::from_secs(30)).await;
    assert_eq!(persona(&client).await.signature_phrases, learned.signature_phrases);

    // The CLI shows the same, and a digest has Sam's voice in it.
    let (ok, out) = mneme(&["--nats-url", &url, "avatar", "persona", "--owner", "sam", "--format", "json"]);
    assert!(ok, "{out}");
    assert_eq!(serde_json::from_str::<Persona>(&out).unwrap().memories, learned.memories);
    let (ok, out) = mneme(&["--nats-url", &url, "avatar", "say", "How was Lisbon?", "--owner", "sam"]);
    assert!(ok && out.contains("Lisbon"), "{out}");
    let (ok, out) = mneme(&[
        "--nats-url",
        &url,
        "insights",
        "--owner",
        "sam",
        "--period",
        "month",
        "--ending",
        "2024-09-30",
        "--format",
        "json",
    ]);
    assert!(ok, "{out}");
    let digest: Digest = serde_json::from_str(&out).unwrap();
    assert!(!digest.missing.iter().any(|part| part.agent == "avatar_trainer"), "{digest:?}");
    let voice = digest.insights.iter().find(|insight| insight.kind == InsightKind::Voice);
    assert!(voice.is_some_and(|insight| insight.title.starts_with("You wrote ")), "{digest:?}");
    assert!(voice.is_some_and(|insight| insight.detail.contains(" own memories, ")), "{digest:?}");
}
