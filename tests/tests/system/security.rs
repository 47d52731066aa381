//! The locked-down NATS of `deploy/nats`, with real processes: nats-server runs `nats-server-secured.conf`
//! with the accounts `mneme nats-config` makes; every agent and the orchestrator connect as their own users
//! and carry an input from a client through the whole pipeline; no one gets in anonymously; the pattern
//! analyzer's user cannot listen on the ingest subjects or the privacy guardian's; a client acts only as
//! itself, whatever its payload or headers claim.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::{ConnectOptions, Event, HeaderMap};
use futures::StreamExt;

use mneme_orchestrator::security::{self, password_variable};
use mneme_protocol::insights::{SearchResults, message_types};
use mneme_protocol::{AgentType, ComponentKind, subjects};
use mneme_system_tests::{MasterKey, NatsServer, Process, eventually, msgpack_body, wait_for_instances};

const CLIENTS: [&str; 2] = ["alice", "bob"];

fn password(user: &str) -> String {
    format!("secret-of-{user}")
}

/// Every user's password, as the server reads them from its environment.
fn passwords() -> Vec<(String, String)> {
    AgentType::ALL
        .iter()
        .map(|agent| agent.as_str())
        .chain(["orchestrator", security::ADMIN_USER])
        .chain(CLIENTS)
        .map(|user| (password_variable(user), password(user)))
        .collect()
}

/// `deploy/nats/nats-server-secured.conf` as shipped, with auth.conf made for two clients and a log file.
fn start_secured_server() -> (NatsServer, std::path::PathBuf) {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/nats");
    let shipped = std::fs::read_to_string(deploy.join("auth.conf")).expect("deploy/nats/auth.conf");
    assert_eq!(shipped, security::server_config(&[]).unwrap(), "deploy/nats/auth.conf is `mneme nats-config`'s");

    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = dir.path().join("nats.log");
    let mut config = std::fs::read_to_string(deploy.join("nats-server-secured.conf")).expect("the secured config");
    config.push_str(&format!("\nlog_file: {:?}\n", log.display().to_string()));
    std::fs::write(dir.path().join("nats-server.conf"), config).unwrap();
    let clients: Vec<String> = CLIENTS.map(str::to_owned).to_vec();
    std::fs::write(dir.path().join("auth.conf"), security::server_config(&clients).unwrap()).unwrap();
    (NatsServer::start_in(dir, "nats-server.conf", &passwords()), log)
}

/// Connects as `user`, gathering the errors the server sends (permission violations arrive that way).
async fn connect_as(url: &str, user: &str) -> (async_nats::Client, Arc<Mutex<Vec<String>>>) {
    let errors = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&errors);
    let client = ConnectOptions::with_user_and_password(user.to_owned(), password(user))
        .custom_inbox_prefix(security::inbox_prefix(user))
        .event_callback(move |event| {
            let seen = Arc::clone(&seen);
            async move {
                if let Event::ServerError(error) = event {
                    seen.lock().unwrap().push(error.to_string());
                }
            }
        })
        .connect(url)
        .await
        .unwrap_or_else(|error| panic!("{user} connects: {error}"));
    (client, errors)
}

fn environment_of(user: &str) -> Vec<(String, String)> {
    vec![
        ("MNEME__NATS__USER".to_owned(), user.to_owned()),
        ("MNEME__NATS__PASSWORD".to_owned(), password(user)),
        ("MNEME__NATS__INBOX_PREFIX".to_owned(), security::inbox_prefix(user)),
    ]
}

fn start_as(binary: &str, user: &str, url: &str, extra: &[(&str, &str)]) -> Process {
    let environment = environment_of(user);
    let mut pairs: Vec<(&str, &str)> = environment.iter().map(|(key, value)| (key.as_str(), value.as_str())).collect();
    pairs.extend_from_slice(extra);
    Process::start(binary, url, &pairs)
}

async fn search(
    client: &async_nats::Client,
    principal: &str,
    owner: &str,
    headers: HeaderMap,
) -> Result<SearchResults, String> {
    let payload = serde_json::json!({"principal": principal, "owner": owner, "query": "lighthouse keeper", "limit": 5});
    let subject = subjects::request(ComponentKind::Agent(AgentType::InsightGenerator), message_types::SEARCH);
    let reply = client
        .request_with_headers(subject, headers, msgpack_body(message_types::SEARCH, payload).into())
        .await
        .map_err(|error| error.to_string())?;
    let message = mneme_protocol::AgentMessage::decode(&reply.payload, mneme_protocol::Encoding::MessagePack)
        .map_err(|error| error.to_string())?;
    match message.as_error() {
        Some(error) => Err(format!("{} {}", error.code, error.error)),
        None => Ok(message.payload_as().expect("search_results")),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_user_does_only_what_it_is_allowed() {
    let (nats, log) = start_secured_server();

    // Nobody gets in without a user.
    let anonymous = ConnectOptions::new().connect(&nats.url).await;
    assert!(anonymous.is_err(), "an anonymous client connected");
    let wrong =
        ConnectOptions::with_user_and_password("pattern_analyzer".into(), "guess".into()).connect(&nats.url).await;
    assert!(wrong.is_err(), "a wrong password was accepted");

    // The whole system, each process as its own user.
    let master_key = MasterKey::new("3c");
    let key = master_key.file.clone();
    let url = nats.url.clone();
    let _processes = [
        start_as("mneme-memory-harvester", "memory_harvester", &url, &[]),
        start_as("mneme-privacy-guardian", "privacy_guardian", &url, &[("MNEME__GUARDIAN__MASTER_KEY_FILE", &key)]),
        start_as("mneme-pattern-analyzer", "pattern_analyzer", &url, &[]),
        start_as("mneme-relationship-mapper", "relationship_mapper", &url, &[]),
        start_as("mneme-avatar-trainer", "avatar_trainer", &url, &[]),
        start_as("mneme-insight-generator", "insight_generator", &url, &[]),
        start_as("mneme-orchestrator", "orchestrator", &url, &[("MNEME__INGEST__REQUIRE_OWNER", "true")]),
    ];
    let (admin, _) = connect_as(&url, security::ADMIN_USER).await;
    for kind in AgentType::ALL.map(ComponentKind::Agent).into_iter().chain([ComponentKind::Orchestrator]) {
        wait_for_instances(&admin, kind, 1, Duration::from_secs(30)).await;
    }

    // Alice publishes an input on her own ingest subject; it goes through every agent.
    let (alice, alice_errors) = connect_as(&url, "alice").await;
    let input = serde_json::json!({
        "raw_input": "Met the old lighthouse keeper on the cliff walk today; he told stories about the storm of 1987.",
        "owner": "alice", "source": "journal/2026-11-20.md", "occurred_at": "2026-11-20"
    });
    let body = msgpack_body("process_memory", input);
    let ack = async_nats::jetstream::new(alice.clone()).publish(subjects::ingest("alice"), body.clone().into()).await;
    ack.expect("published").await.expect("stored in the ingest stream");
    eventually(Duration::from_secs(60), "alice finds her memory", async || {
        search(&alice, "alice", "alice", HeaderMap::new()).await.is_ok_and(|found| !found.results.is_empty())
    })
    .await;
    let server_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!server_log.contains("Violation"), "Mneme's own users needed more than they are allowed:\n{server_log}");

    // Alice acts as herself only: not as bob's principal, not through a header she writes herself.
    let refused = search(&alice, "bob", "bob", HeaderMap::new()).await.unwrap_err();
    assert!(refused.starts_with("403"), "{refused}");
    let mut forged = HeaderMap::new();
    forged.insert("Nats-Request-Info", r#"{"acc":"CLIENTS","user":"bob"}"#);
    let refused = search(&alice, "bob", "bob", forged).await.unwrap_err();
    assert!(refused.starts_with("403"), "{refused}");
    // Bob, who holds no grant, may not read alice's memories.
    let (bob, _) = connect_as(&url, "bob").await;
    let refused = search(&bob, "bob", "alice", HeaderMap::new()).await.unwrap_err();
    assert!(refused.starts_with("403"), "{refused}");
    // Nor may alice publish inputs as bob.
    let as_bob = async_nats::jetstream::new(alice.clone()).publish(subjects::ingest("bob"), body.into()).await;
    let stored = match as_bob {
        Ok(ack) => tokio::time::timeout(Duration::from_secs(2), ack).await.is_ok_and(|ack| ack.is_ok()),
        Err(_) => false,
    };
    assert!(!stored, "alice stored an input on bob's subject");
    eventually(Duration::from_secs(5), "the server refuses alice's publish on bob's subject", async || {
        alice_errors.lock().unwrap().iter().any(|error| error.contains("Publish") && error.contains("mneme.ingest"))
    })
    .await;

    // Running the system is the operators' business: a client may not rewrap the vault's keys.
    alice.publish("mneme.agent.privacy_guardian.rewrap_keys", "{}".into()).await.unwrap();
    eventually(Duration::from_secs(5), "the server refuses alice's rewrap_keys", async || {
        alice_errors.lock().unwrap().iter().any(|error| error.contains("rewrap_keys"))
    })
    .await;

    // The pattern analyzer's user may not listen on the ingest subjects or on the privacy guardian's.
    let (analyzer, analyzer_errors) = connect_as(&url, "pattern_analyzer").await;
    let forbidden = [
        subjects::INGEST_WILDCARD.to_owned(),
        subjects::request_wildcard(ComponentKind::Agent(AgentType::PrivacyGuardian)),
        subjects::instances_of(ComponentKind::Agent(AgentType::PrivacyGuardian)),
    ];
    let mut listeners = Vec::new();
    for subject in &forbidden {
        listeners.push(analyzer.subscribe(subject.clone()).await.expect("the client sends the subscription"));
    }
    eventually(Duration::from_secs(5), "the server refuses each subscription", async || {
        let errors = analyzer_errors.lock().unwrap();
        forbidden.iter().all(|subject| {
            errors.iter().any(|error| error.contains("Subscription") && error.contains(subject.as_str()))
        })
    })
    .await;
    // And indeed nothing reaches it: the admin publishes on each subject.
    for subject in [
        subjects::ingest("alice"),
        subjects::request(ComponentKind::Agent(AgentType::PrivacyGuardian), "get_stats"),
        "mneme.instance.privacy_guardian.privacy_guardian_0badcafe.get_stats".to_owned(),
    ] {
        admin.publish(subject, "probe".into()).await.unwrap();
    }
    admin.flush().await.unwrap();
    for mut listener in listeners {
        let heard = tokio::time::timeout(Duration::from_millis(500), listener.next()).await;
        assert!(!matches!(heard, Ok(Some(_))), "the analyzer heard a message it may not");
    }
}
