//! The files under `deploy/` work as they say.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use mneme_protocol::{AgentType, ComponentKind};
use mneme_system_tests::{NatsServer, Process, nats_server_binary, wait_for_instances};

fn config() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/nats/nats-server.conf")
}

#[test]
fn the_nats_configuration_is_valid() {
    let output =
        Command::new(nats_server_binary()).args(["-t", "-c"]).arg(config()).output().expect("nats-server runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn mneme_runs_on_a_server_with_that_configuration() {
    let store = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(config()).unwrap().replace("./mneme-data/nats", store.path().to_str().unwrap());
    let file = store.path().join("nats-server.conf");
    std::fs::write(&file, text).unwrap();
    // The test server's own flags pick a free port; the rest of the configuration applies as shipped.
    let nats = NatsServer::start_with_config(&file);
    let _harvester = Process::start("mneme-memory-harvester", &nats.url, &[]);
    let client = nats.connect().await;
    wait_for_instances(&client, ComponentKind::Agent(AgentType::MemoryHarvester), 1, Duration::from_secs(20)).await;
    let jetstream = async_nats::jetstream::new(client);
    assert!(jetstream.get_key_value("mneme_harvester_dedup").await.is_ok(), "the harvester's index lives in JetStream");
}
