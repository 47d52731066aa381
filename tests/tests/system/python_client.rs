//! A client in another language, as the README shows it: Python with nats-py and msgpack.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use mneme_protocol::{AgentType, ComponentKind};
use mneme_system_tests::{NatsServer, Process, wait_for_instances};

fn example() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/python_client.py")
}

/// Where `scripts/test` installs the Python client libraries, added to whatever the machine has.
fn python_path() -> String {
    let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/python");
    match std::env::var("PYTHONPATH") {
        Ok(existing) if !existing.is_empty() => format!("{}:{existing}", tools.display()),
        _ => tools.display().to_string(),
    }
}

#[test]
fn the_readme_shows_the_example_that_is_tested() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
    let example = std::fs::read_to_string(example()).unwrap();
    assert!(readme.contains(example.trim()), "README.md must quote docs/examples/python_client.py verbatim");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_python_client_gets_replies_in_messagepack_and_json_and_a_typed_error() {
    let nats = NatsServer::start();
    let _harvester = Process::start("mneme-memory-harvester", &nats.url, &[]);
    let client = nats.connect().await;
    wait_for_instances(&client, ComponentKind::Agent(AgentType::MemoryHarvester), 1, Duration::from_secs(20)).await;

    let output = Command::new("python3")
        .arg(example())
        .arg(&nats.url)
        .env("PYTHONPATH", python_path())
        .output()
        .expect("python3 runs; install it to run the system tests");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the Python example failed (scripts/test installs nats-py and msgpack into .tools/python):\n{stderr}"
    );
    let lines: Vec<String> = String::from_utf8_lossy(&output.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("memory_processed "), "{lines:?}");
    assert_eq!(lines[1], "memory_processed");
    assert_eq!(lines[2], "error_response 400 400");
}
