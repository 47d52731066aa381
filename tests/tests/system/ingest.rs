//! The durable ingest path end to end, with real processes: `mneme ingest` of a mixed corpus through the
//! orchestrators, harvesters and guardians, with instances of each killed on the way; dead letters and their
//! replay; owners kept apart; encryption at rest; forgetting.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use async_nats::HeaderMap;
use nix::sys::signal::Signal;

use mneme_protocol::guardian::{MemoriesReply, MemoryCount};
use mneme_protocol::ingest::DeadLetter;
use mneme_protocol::relationships::Relationships;
use mneme_protocol::{AgentType, ComponentKind};
use mneme_system_tests::{MasterKey, NatsServer, Process, binary, eventually, mneme, msgpack_body, wait_for_instances};

const PEOPLE: [&str; 8] = ["Omar", "Lena", "Priya", "Jakob", "Mei", "Tomasz", "Aisha", "Carlos"];
const PLACES: [&str; 6] =
    ["the canal", "the market", "the old library", "the ridge trail", "the harbour", "the bakery"];
const DOINGS: [&str; 6] =
    ["walked", "had lunch", "argued about books", "planned the trip", "cooked dinner", "went swimming"];
const FEELINGS: [&str; 5] = ["calm", "tired but happy", "restless", "grateful", "a little sad"];
/// A phrase that must never appear in the NATS store as plain text.
const CANARY: &str = "zanzibar-periwinkle";

/// A text that differs from every other generated one.
fn line(index: usize) -> String {
    format!(
        "Entry {index}: {} with {} near {}; felt {}. Remember number {} and the {CANARY} tin.",
        DOINGS[index % DOINGS.len()],
        PEOPLE[index % PEOPLE.len()],
        PLACES[(index / 7) % PLACES.len()],
        FEELINGS[(index / 3) % FEELINGS.len()],
        index * 7919
    )
}

/// Writes a corpus of every kind Mneme reads, and returns how many memories it holds and how many of them
/// repeat an earlier text exactly.
fn write_corpus(dir: &Path, size: usize) -> (usize, usize) {
    let per_kind = size / 6;
    let mut next = 0;
    let mut take = || {
        next += 1;
        line(next)
    };
    std::fs::create_dir_all(dir.join("notes")).unwrap();
    for index in 0..per_kind {
        std::fs::write(dir.join(format!("notes/2024-01-{:02} note {index}.md", index % 28 + 1)), take()).unwrap();
    }
    let mut journal = String::from("My journal\n\n");
    for index in 0..per_kind {
        let date = jiff::civil::date(2023, 1, 1).checked_add(jiff::Span::new().days(index as i64)).unwrap();
        writeln!(journal, "# {date}\n{}\n", take()).unwrap();
    }
    std::fs::write(dir.join("journal.md"), journal).unwrap();
    let turns: Vec<serde_json::Value> = (0..per_kind)
        .map(|index| serde_json::json!({"speaker": if index % 2 == 0 { "Ann" } else { "Omar" }, "text": take(), "id": format!("D1:{index}")}))
        .collect();
    let chat = serde_json::json!({"conversations": [{"id": "ann-omar", "sessions": [{"date_time": "2023-05-08T13:56:00Z", "turns": turns}]}]});
    std::fs::write(dir.join("chat.json"), serde_json::to_vec(&chat).unwrap()).unwrap();
    let mut whatsapp = String::new();
    for index in 0..per_kind {
        writeln!(whatsapp, "3/{}/24, 9:{:02} PM - {}: {}", index % 28 + 1, index % 60, PEOPLE[index % 8], take())
            .unwrap();
    }
    std::fs::write(dir.join("whatsapp.txt"), whatsapp).unwrap();
    let mut mbox = String::new();
    for index in 0..per_kind {
        write!(
            mbox,
            "From ann@example.org Mon Mar  4 10:00:00 2024\nFrom: Ann <ann@example.org>\nTo: omar@example.net\nSubject: note {index}\nDate: Mon, 04 Mar 2024 10:00:00 +0000\nMessage-ID: <m{index}@example.org>\n\n{}\n\n",
            take()
        )
        .unwrap();
    }
    std::fs::write(dir.join("mail.mbox"), mbox).unwrap();
    let mut csv = String::from("id,date,text\n");
    let rows = size - 5 * per_kind;
    let duplicates = rows / 10;
    for index in 0..rows {
        // Every tenth row repeats an earlier note, text and date, from another source: an exact duplicate.
        let (date, text) = if index < duplicates {
            (format!("2024-01-{:02}", index % 28 + 1), line(index + 1))
        } else {
            ("2024-02-01".to_owned(), take())
        };
        writeln!(csv, "r{index},{date},\"{text}\"").unwrap();
    }
    std::fs::write(dir.join("log.csv"), csv).unwrap();
    (size, duplicates)
}

/// Fields drop in order: the processes stop before the server they talk to.
struct System {
    agents: Vec<Process>,
    client: async_nats::Client,
    nats: NatsServer,
    master_key: MasterKey,
}

/// Patient enough for a loaded machine (a debug build, tests in parallel): no input may run out of deliveries.
/// The avatar trainer has a test of its own (`avatar.rs`); these leave it out to spare the machine.
const INGEST_ENV: [(&str, &str); 5] = [
    ("MNEME__INGEST__TRAIN_AVATAR", "false"),
    ("MNEME__INGEST__ACK_WAIT_MS", "15000"),
    ("MNEME__INGEST__STEP_TIMEOUT_MS", "5000"),
    ("MNEME__INGEST__RETRY_BACKOFF_MS", "200,500,1000"),
    ("MNEME__INGEST__MAX_DELIVER", "20"),
];

impl System {
    async fn start(replicas: usize) -> Self {
        let nats = NatsServer::start_encrypted();
        let master_key = MasterKey::new("3c");
        let mut system = System { agents: Vec::new(), client: nats.connect().await, nats, master_key };
        for _ in 0..replicas {
            system.start_agent(AgentType::MemoryHarvester);
            system.start_agent(AgentType::PrivacyGuardian);
            system.start_agent(AgentType::PatternAnalyzer);
            system.start_agent(AgentType::RelationshipMapper);
            system.start_agent(AgentType::InsightGenerator);
            system.agents.push(Process::start("mneme-orchestrator", &system.nats.url, &INGEST_ENV));
        }
        for kind in [
            AgentType::MemoryHarvester,
            AgentType::PrivacyGuardian,
            AgentType::PatternAnalyzer,
            AgentType::RelationshipMapper,
            AgentType::InsightGenerator,
        ] {
            wait_for_instances(&system.client, ComponentKind::Agent(kind), replicas, Duration::from_secs(30)).await;
        }
        wait_for_instances(&system.client, ComponentKind::Orchestrator, replicas, Duration::from_secs(30)).await;
        system
    }

    fn start_agent(&mut self, kind: AgentType) {
        let key = self.master_key.file.clone();
        let process =
            Process::start(&kind.binary_name(), &self.nats.url, &[("MNEME__GUARDIAN__MASTER_KEY_FILE", &key)]);
        self.agents.push(process);
    }

    fn mneme(&self, args: &[&str]) -> (bool, String) {
        let mut all = vec!["--nats-url", &self.nats.url];
        all.extend_from_slice(args);
        mneme(&all)
    }

    fn count(&self, owner: &str, principal: &str) -> Option<usize> {
        let (ok, out) = self.mneme(&["memories", "count", "--owner", owner, "--as", principal, "--format", "json"]);
        ok.then(|| serde_json::from_str::<MemoryCount>(&out).unwrap().count)
    }
}

fn store_holds(dir: &Path, needle: &[u8]) -> bool {
    walk(dir)
        .iter()
        .any(|file| std::fs::read(file).is_ok_and(|bytes| bytes.windows(needle.len()).any(|window| window == needle)))
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Corpus size: 10,000 memories, as the ingest path promises to take without loss or duplicates while its
/// instances are killed; `MNEME_INGEST_TEST_SIZE` sets another for a quicker run.
fn corpus_size() -> usize {
    std::env::var("MNEME_INGEST_TEST_SIZE").ok().and_then(|size| size.parse().ok()).unwrap_or(10_000)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mixed_corpus_is_stored_exactly_once_while_instances_are_killed() {
    let mut system = System::start(2).await;
    let corpus = tempfile::tempdir().unwrap();
    let (size, duplicates) = write_corpus(corpus.path(), corpus_size());

    let ingest = Command::new(binary("mneme"))
        .args(["--nats-url", &system.nats.url, "ingest"])
        .arg(corpus.path())
        .args(["--owner", "ann", "--format", "json", "--wait-secs", "60"])
        .env("MNEME__TELEMETRY__LOG_FILTER", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();

    // Mid-ingest, kill -9 a harvester and a guardian (and start replacements, as a supervisor would).
    // Counting scans the owner's memories, so it is asked once a second rather than as often as `eventually` asks.
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    while system.count("ann", "ann").is_none_or(|count| count < size / 10) {
        assert!(std::time::Instant::now() < deadline, "no memories stored within 300 s");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let harvester = system.agents.iter().position(|process| process.label == "mneme-memory-harvester").unwrap();
    system.agents.remove(harvester).signal(Signal::SIGKILL);
    let guardian = system.agents.iter().position(|process| process.label == "mneme-privacy-guardian").unwrap();
    system.agents.remove(guardian).signal(Signal::SIGKILL);
    let orchestrator = system.agents.iter().position(|process| process.label == "mneme-orchestrator").unwrap();
    system.agents.remove(orchestrator).signal(Signal::SIGKILL);
    system.start_agent(AgentType::MemoryHarvester);
    system.start_agent(AgentType::PrivacyGuardian);
    system.agents.push(Process::start("mneme-orchestrator", &system.nats.url, &INGEST_ENV));

    let output = ingest.wait_with_output_timeout();
    let summary: serde_json::Value = serde_json::from_slice(&output).unwrap();
    assert_eq!(summary["inputs"], size, "{summary}");
    assert_eq!(summary["unsettled"], 0, "{summary}");
    assert_eq!(summary["rejected"], 0, "{summary}");
    assert_eq!(summary["duplicates"], duplicates, "{summary}");
    let stored = size - duplicates;
    assert_eq!(
        summary["ingested"].as_u64().unwrap() + summary["already_stored"].as_u64().unwrap(),
        stored as u64,
        "{summary}"
    );
    assert_eq!(system.count("ann", "ann"), Some(stored), "no loss and no duplicates in the store");
    let (ok, out) = system.mneme(&["patterns", "--owner", "ann", "--format", "json"]);
    assert!(ok);
    let patterns: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(patterns["memories"], stored, "the patterns took in every stored memory exactly once");
    let (ok, out) = system.mneme(&["people", "--owner", "ann", "--format", "json"]);
    assert!(ok, "{out}");
    let people: Relationships = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = people.people.iter().map(|person| person.name.as_str()).collect();
    for person in PEOPLE {
        assert!(names.contains(&person), "{person} is among ann's people: {names:?}");
    }
    assert!(!names.iter().any(|name| name.starts_with("Ann")), "ann is not her own contact: {names:?}");
    let omar = people.people.iter().find(|person| person.name == "Omar").unwrap();
    assert!(omar.interactions > 0 && omar.aliases.contains(&"omar@example.net".to_owned()), "{omar:?}");

    // Ingesting the same corpus again changes nothing.
    let (ok, again) = system.mneme(&["ingest", corpus.path().to_str().unwrap(), "--owner", "ann", "--format", "json"]);
    assert!(ok);
    let again: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["ingested"], 0, "{again}");
    assert_eq!(system.count("ann", "ann"), Some(stored));

    // An undecodable input goes to the dead-letter stream with its reason; the rest flows.
    let jetstream = async_nats::jetstream::new(system.client.clone());
    publish_to_anns_ingest(&jetstream, "poison-1", "\u{1}not an envelope".as_bytes().to_vec()).await;
    let body = msgpack_body(
        "process_memory",
        serde_json::json!({"raw_input": "After the poison pill, a quiet walk by the sea.", "owner": "ann", "source": "after-poison"}),
    );
    publish_to_anns_ingest(&jetstream, "after-poison-1", body).await;
    eventually(Duration::from_secs(30), "the poison pill is dead-lettered", async || {
        let (ok, out) = system.mneme(&["dlq", "list", "--format", "json"]);
        ok && serde_json::from_str::<Vec<DeadLetter>>(&out)
            .unwrap()
            .iter()
            .any(|letter| letter.reason.contains("undecodable"))
    })
    .await;
    eventually(Duration::from_secs(30), "the input after it is stored", async || {
        system.count("ann", "ann") == Some(stored + 1)
    })
    .await;

    // A note longer than a memory may hold is refused at once, and kept as a dead letter.
    let long = tempfile::tempdir().unwrap();
    std::fs::write(long.path().join("manuscript.md"), "All the words of a novel. ".repeat(12_000)).unwrap();
    let (ok, out) = system.mneme(&["ingest", long.path().to_str().unwrap(), "--owner", "ann", "--format", "json"]);
    assert!(ok);
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["rejected"], 1, "{summary}");
    let (ok, out) = system.mneme(&["dlq", "list", "--format", "json"]);
    assert!(ok);
    let letters: Vec<DeadLetter> = serde_json::from_str(&out).unwrap();
    let refused = letters.iter().find(|letter| letter.reason.contains("a memory may hold"));
    let refused = refused.unwrap_or_else(|| panic!("the long note's dead letter: {letters:?}"));
    assert_eq!(refused.deliveries, 1, "it fails the same way every time: {refused:?}");

    // One input of a batch that can never be taken in is kept alone as a dead letter; the others go on.
    let body = msgpack_body(
        "batch_process",
        serde_json::json!({"raw_inputs": [
            {"raw_input": "Bob's note, published on Ann's subject by mistake.", "owner": "bob", "source": "stray"},
            {"raw_input": "Swam in the cold lake before breakfast.", "owner": "ann", "source": "lake"},
        ]}),
    );
    publish_to_anns_ingest(&jetstream, "batch-with-a-stray-1", body).await;
    eventually(Duration::from_secs(30), "the batch's good input is stored", async || {
        system.count("ann", "ann") == Some(stored + 2)
    })
    .await;
    let (_, out) = system.mneme(&["dlq", "list", "--format", "json"]);
    let letters: Vec<DeadLetter> = serde_json::from_str(&out).unwrap();
    let stray = letters.iter().find(|letter| letter.reason.contains("another owner's subject"));
    let stray = stray.unwrap_or_else(|| panic!("the stray input's dead letter: {letters:?}"));
    let dead = jetstream.get_stream(mneme_protocol::subjects::jetstream::DEAD_LETTER_STREAM).await.unwrap();
    let kept = dead.get_raw_message(stray.sequence).await.unwrap();
    let kept = mneme_protocol::AgentMessage::decode(&kept.payload, mneme_protocol::Encoding::MessagePack).unwrap();
    assert_eq!(kept.message_type, "process_memory", "the stray input alone: {kept:?}");
    assert_eq!(kept.payload["owner"], "bob", "{kept:?}");

    // Neither the memories nor the inputs are in the NATS store as plain text.
    assert!(!store_holds(system.nats.store_dir(), CANARY.as_bytes()), "plaintext found in the NATS store");
}

/// Publishes `body` to Ann's ingest subject with the message id `id`, once JetStream has stored it.
async fn publish_to_anns_ingest(jetstream: &async_nats::jetstream::Context, id: &str, body: Vec<u8>) {
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Msg-Id", id);
    let ack = jetstream.publish_with_headers(mneme_protocol::subjects::ingest("ann"), headers, body.into()).await;
    ack.unwrap().await.unwrap();
}

trait WaitWithTimeout {
    fn wait_with_output_timeout(self) -> Vec<u8>;
}

impl WaitWithTimeout for std::process::Child {
    fn wait_with_output_timeout(self) -> Vec<u8> {
        let output = self.wait_with_output().unwrap();
        assert!(output.status.success(), "mneme ingest failed: {}", String::from_utf8_lossy(&output.stdout));
        output.stdout
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn owners_are_kept_apart_grants_hold_and_forgetting_leaves_nothing() {
    let system = System::start(1).await;
    let notes = tempfile::tempdir().unwrap();
    std::fs::write(notes.path().join("lunch.md"), "Lunch with Omar Haddad at the noodle bar.").unwrap();
    std::fs::write(notes.path().join("doctor.md"), "The doctor changed my medication again; feeling foggy.").unwrap();
    std::fs::write(notes.path().join("card.md"), "New card 4111 1111 1111 1111 arrived today for the trip.").unwrap();
    let (ok, _) = system.mneme(&["ingest", notes.path().to_str().unwrap(), "--owner", "ann"]);
    assert!(ok);
    let bob_notes = tempfile::tempdir().unwrap();
    std::fs::write(bob_notes.path().join("garden.md"), "Planted tomatoes along the south fence today.").unwrap();
    let (ok, _) = system.mneme(&["ingest", bob_notes.path().to_str().unwrap(), "--owner", "bob"]);
    assert!(ok);

    assert_eq!(system.count("ann", "ann"), Some(3));
    assert_eq!(system.count("bob", "bob"), Some(1));
    assert_eq!(system.count("ann", "bob"), None, "bob never reads ann's memories");
    let (ok, _) = system.mneme(&["memories", "list", "--owner", "ann", "--as", "bob"]);
    assert!(!ok);

    // Ann lets Carol read personal memories: she sees the lunch, redacted, and nothing more sensitive.
    let grant = r#"{"principal": "ann", "owner": "ann", "grantee": "carol", "max_sensitivity": "personal", "scopes": ["memories"]}"#;
    let (ok, _) = system.mneme(&["send", "privacy_guardian", "grant_access", grant]);
    assert!(ok);
    let (ok, out) = system.mneme(&["memories", "list", "--owner", "ann", "--as", "carol", "--format", "json"]);
    assert!(ok);
    let seen: MemoriesReply = serde_json::from_str(&out).unwrap();
    assert_eq!(seen.total, 1);
    assert_eq!(seen.memories[0].memory.text, "Lunch with <PERSON> at the noodle bar.");
    let (ok, _) = system.mneme(&[
        "send",
        "privacy_guardian",
        "grant_access",
        &grant.replace("\"ann\", \"owner\"", "\"bob\", \"owner\""),
    ]);
    assert!(!ok, "only the owner grants");

    let (ok, out) = system.mneme(&["memories", "list", "--owner", "ann", "--format", "json"]);
    assert!(ok);
    let own: MemoriesReply = serde_json::from_str(&out).unwrap();
    assert_eq!(own.total, 3);
    let card = own.memories.iter().find(|view| view.memory.text.contains("4111")).unwrap();
    assert_eq!(serde_json::to_value(card.sensitivity).unwrap(), "secret");

    // Forgetting one memory frees its text: the same words from another note are a new memory, not a
    // duplicate of something that no longer exists.
    let lunch = own.memories.iter().find(|view| view.memory.text.starts_with("Lunch")).unwrap();
    let (ok, _) = system.mneme(&["forget", "--owner", "ann", "--memory", &lunch.memory.id]);
    assert!(ok);
    assert_eq!(system.count("ann", "ann"), Some(2));
    let mut attempt = 0;
    eventually(Duration::from_secs(20), "the forgotten text is new again", async || {
        // The harvester forgets on an event; until it has, the text is a duplicate, so each try is a new note.
        attempt += 1;
        let again = tempfile::tempdir().unwrap();
        let note = again.path().join(format!("lunch again {attempt}.md"));
        std::fs::write(&note, "Lunch with Omar Haddad at the noodle bar.").unwrap();
        let (ok, out) = system.mneme(&["ingest", note.to_str().unwrap(), "--owner", "ann", "--format", "json"]);
        ok && serde_json::from_str::<serde_json::Value>(&out).unwrap()["ingested"] == 1
    })
    .await;
    assert_eq!(system.count("ann", "ann"), Some(3));

    let (ok, out) = system.mneme(&["people", "--owner", "ann", "--format", "json"]);
    assert!(ok, "{out}");
    let people: Relationships = serde_json::from_str(&out).unwrap();
    assert!(people.people.iter().any(|person| person.name == "Omar Haddad"), "{people:?}");
    let (ok, _) = system.mneme(&["people", "--owner", "ann", "--as", "bob"]);
    assert!(!ok, "bob never reads who ann knows");
    let (ok, out) = system.mneme(&["person", "omar haddad", "--owner", "ann"]);
    assert!(ok && out.contains("Omar Haddad"), "{out}");
    assert!(out.contains("Lunch with Omar Haddad at the noodle bar."), "what each memory says, from the vault: {out}");
    let pictures = tempfile::tempdir().unwrap();
    let (graph, chart) = (pictures.path().join("people.svg"), pictures.path().join("mood.svg"));
    let (ok, _) = system.mneme(&["people", "--owner", "ann", "--graph", graph.to_str().unwrap()]);
    assert!(ok);
    let svg = std::fs::read_to_string(&graph).unwrap();
    assert!(svg.contains("<svg") && svg.contains("Omar Haddad"), "the graph shows ann's people");
    let (ok, _) = system.mneme(&["patterns", "--owner", "ann", "--chart", chart.to_str().unwrap()]);
    assert!(ok);
    assert!(std::fs::read_to_string(&chart).unwrap().contains("mood by day"), "the mood chart is drawn");
    // Were Omar Haddad one of ann's own names, he would be no contact of hers; the mapper keeps that, sealed.
    let (ok, _) = system.mneme(&["identity", "--owner", "ann", "Omar Haddad"]);
    assert!(ok);
    let (ok, out) = system.mneme(&["people", "--owner", "ann", "--format", "json"]);
    assert!(ok);
    let people: Relationships = serde_json::from_str(&out).unwrap();
    assert!(!people.people.iter().any(|person| person.name == "Omar Haddad"), "{people:?}");
    let (ok, out) = system.mneme(&["identity", "--owner", "ann", "--format", "json"]);
    assert!(ok && out.contains("Omar Haddad"), "{out}");

    let (ok, _) = system.mneme(&["forget", "--owner", "ann"]);
    assert!(!ok, "forgetting everything needs --yes");
    let (ok, out) = system.mneme(&["forget", "--owner", "ann", "--yes", "--format", "json"]);
    assert!(ok);
    let forgotten: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(forgotten["memories_deleted"], 3);
    assert_eq!(forgotten["key_destroyed"], true);
    assert_eq!(system.count("ann", "ann"), Some(0));
    let (ok, _) = system.mneme(&["memories", "show", "--owner", "ann", &card.memory.id]);
    assert!(!ok, "nothing of ann can be read after forget");
    assert_eq!(system.count("bob", "bob"), Some(1), "bob is untouched");
    eventually(Duration::from_secs(20), "the patterns forget ann too", async || {
        let (ok, out) = system.mneme(&["patterns", "--owner", "ann", "--format", "json"]);
        ok && serde_json::from_str::<serde_json::Value>(&out).unwrap()["memories"] == 0
    })
    .await;
    eventually(Duration::from_secs(20), "the relationships forget ann too", async || {
        let (ok, out) = system.mneme(&["people", "--owner", "ann", "--format", "json"]);
        ok && serde_json::from_str::<Relationships>(&out).unwrap().total_people == 0
    })
    .await;
    eventually(Duration::from_secs(20), "the names ann goes by are forgotten too", async || {
        let (ok, out) = system.mneme(&["identity", "--owner", "ann", "--format", "json"]);
        ok && !out.contains("Omar Haddad")
    })
    .await;

    let (ok, out) = system.mneme(&["audit", "--owner", "ann", "--limit", "200", "--format", "json"]);
    assert!(ok);
    let audit: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert!(audit.iter().any(|record| record["principal"] == "bob" && record["allowed"] == false), "{audit:?}");
    assert!(audit.iter().any(|record| record["action"] == "forget" && record["allowed"] == true), "{audit:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn inputs_that_keep_failing_are_dead_lettered_and_replayed_once_fixed() {
    // No guardian runs: every input fails its second step until its deliveries run out.
    let nats = NatsServer::start();
    let client = nats.connect().await;
    let master_key = MasterKey::new("4b");
    let key = master_key.file.clone();
    // Steps get time enough for a loaded machine: a step that times out may still have done its work.
    let patience = [
        ("MNEME__INGEST__ACK_WAIT_MS", "10000"),
        ("MNEME__INGEST__STEP_TIMEOUT_MS", "3000"),
        ("MNEME__INGEST__RETRY_BACKOFF_MS", "100"),
        ("MNEME__INGEST__MAX_DELIVER", "2"),
        ("MNEME__INGEST__ANALYZE_PATTERNS", "false"),
        ("MNEME__INGEST__MAP_RELATIONSHIPS", "false"),
        ("MNEME__INGEST__INDEX_MEMORIES", "false"),
        ("MNEME__INGEST__TRAIN_AVATAR", "false"),
    ];
    let _harvester = Process::start("mneme-memory-harvester", &nats.url, &[]);
    let _orchestrator = Process::start("mneme-orchestrator", &nats.url, &patience);
    wait_for_instances(&client, ComponentKind::Orchestrator, 1, Duration::from_secs(30)).await;
    let mneme_at = |args: &[&str]| {
        let mut all = vec!["--nats-url", nats.url.as_str()];
        all.extend_from_slice(args);
        mneme(&all)
    };

    let notes = tempfile::tempdir().unwrap();
    std::fs::write(notes.path().join("kite.md"), "Flew the red kite on the dunes until the string snapped.").unwrap();
    let (ok, out) = mneme_at(&["ingest", notes.path().to_str().unwrap(), "--owner", "ann", "--format", "json"]);
    assert!(ok);
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["rejected"], 1, "{summary}");
    let (ok, out) = mneme_at(&["dlq", "list", "--format", "json"]);
    assert!(ok);
    let letters: Vec<DeadLetter> = serde_json::from_str(&out).unwrap();
    assert_eq!(letters.len(), 1);
    assert!(letters[0].reason.contains("gave up after 2 deliveries"), "{:?}", letters[0]);
    assert_eq!(letters[0].deliveries, 2);

    // The cause is fixed: a guardian starts. The replay goes through and the dead letter is gone.
    let _guardian = Process::start("mneme-privacy-guardian", &nats.url, &[("MNEME__GUARDIAN__MASTER_KEY_FILE", &key)]);
    wait_for_instances(&client, ComponentKind::Agent(AgentType::PrivacyGuardian), 1, Duration::from_secs(30)).await;
    let (ok, _) = mneme_at(&["dlq", "replay"]);
    assert!(ok);
    eventually(Duration::from_secs(30), "the replayed input is stored", async || {
        let (ok, out) = mneme_at(&["memories", "count", "--owner", "ann", "--format", "json"]);
        ok && serde_json::from_str::<MemoryCount>(&out).unwrap().count == 1
    })
    .await;
    let (_, out) = mneme_at(&["dlq", "list", "--format", "json"]);
    assert!(serde_json::from_str::<Vec<DeadLetter>>(&out).unwrap().is_empty());
}
