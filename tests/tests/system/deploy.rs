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

fn deploy_path(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy").join(path)
}

fn deploy_file(path: &str) -> String {
    std::fs::read_to_string(deploy_path(path)).expect("the file")
}

/// Every executable the image must hold: the command line, the orchestrator and one per agent type.
fn executables() -> Vec<String> {
    let mut names = vec!["mneme".to_owned(), "mneme-orchestrator".to_owned()];
    names.extend(AgentType::ALL.iter().map(|agent| agent.binary_name().to_owned()));
    names
}

#[test]
fn the_image_is_built_in_stages_holds_every_executable_and_runs_unprivileged() {
    let dockerfile = deploy_file("docker/Dockerfile");
    let instructions: Vec<&str> =
        dockerfile.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')).collect();
    let stages: Vec<&str> = instructions.iter().filter(|line| line.starts_with("FROM ")).copied().collect();
    assert!(stages.len() >= 2, "a build stage and a runtime stage: {stages:?}");
    for stage in &stages {
        let image = stage.split_whitespace().nth(1).unwrap();
        assert!(image.contains(':') && !image.ends_with(":latest"), "`{image}` is pinned to a version");
    }
    let runtime_stage = dockerfile.rsplit("\nFROM ").next().unwrap();
    let user =
        runtime_stage.lines().find_map(|line| line.strip_prefix("USER ")).expect("the runtime stage sets a user");
    let uid: u32 = user.split(':').next().unwrap().parse().expect("a numeric user, which Kubernetes can check");
    assert_ne!(uid, 0);
    assert!(runtime_stage.contains("COPY --from=build"), "the runtime stage takes only the built executables");
    for name in executables() {
        assert!(
            dockerfile.contains(&format!("target/release/{name}\n"))
                || dockerfile.contains(&format!("target/release/{name} ")),
            "the image holds {name}"
        );
    }
    let ignored = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.dockerignore")).unwrap();
    assert!(ignored.lines().any(|line| line.trim() == "target"), "build output stays out of the context");
}

#[derive(Debug, serde::Deserialize)]
struct Compose {
    services: std::collections::BTreeMap<String, ComposeService>,
    #[serde(default)]
    secrets: std::collections::BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct ComposeService {
    image: Option<String>,
    command: Vec<String>,
    entrypoint: Vec<String>,
    environment: std::collections::BTreeMap<String, String>,
    depends_on: Vec<String>,
    secrets: Vec<String>,
    stop_grace_period: Option<String>,
}

#[test]
fn the_compose_file_runs_nats_with_jetstream_the_orchestrator_and_every_agent() {
    let compose: Compose = serde_saphyr::from_str(&deploy_file("docker/compose.yaml")).expect("the compose file reads");
    let nats = &compose.services["nats"];
    assert!(nats.image.as_deref().is_some_and(|image| image.starts_with("nats:2.1")), "{nats:?}");
    assert!(nats.command.iter().any(|flag| flag == "--jetstream"));
    for name in executables().into_iter().filter(|name| name != "mneme") {
        let (service_name, service) = compose
            .services
            .iter()
            .find(|(_, service)| service.command.first() == Some(&name))
            .unwrap_or_else(|| panic!("a service runs {name}"));
        assert_eq!(service.image.as_deref(), Some("mneme:latest"), "{service_name}");
        assert_eq!(service.environment.get("MNEME__NATS__URL").map(String::as_str), Some("nats://nats:4222"));
        assert_eq!(service.environment.get("MNEME__SERVICE__HTTP_LISTEN").map(String::as_str), Some("0.0.0.0:9090"));
        assert_eq!(service.depends_on, ["nats"], "{service_name}");
        assert!(service.stop_grace_period.is_some(), "{service_name} has time to finish its requests");
    }
    let guardian = &compose.services["privacy-guardian"];
    assert_eq!(guardian.secrets, ["mneme_master_key"]);
    assert_eq!(
        guardian.environment.get("MNEME__GUARDIAN__MASTER_KEY_FILE").map(String::as_str),
        Some("/run/secrets/mneme_master_key")
    );
    assert!(compose.secrets.contains_key("mneme_master_key"));
    assert_eq!(compose.services["cli"].entrypoint, ["mneme"]);
}

/// A certificate authority and a server certificate for 127.0.0.1, as PEM files in `dir`: (CA, cert, key).
fn certificates(dir: &Path) -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut authority = CertificateParams::new(Vec::<String>::new()).unwrap();
    authority.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let authority = CertifiedIssuer::self_signed(authority, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &authority)
        .unwrap();
    let write = |name: &str, pem: String| {
        let path = dir.join(name);
        std::fs::write(&path, pem).unwrap();
        path.display().to_string()
    };
    (write("ca.crt", authority.pem()), write("tls.crt", server.pem()), write("tls.key", key.serialize_pem()))
}

/// The TLS option of `nats/nats-server-secured.conf`, turned on: Mneme talks to the server over TLS with the
/// settings `nats.require_tls` and `nats.tls_ca_file`, and a client without TLS is turned away.
#[tokio::test(flavor = "multi_thread")]
async fn mneme_talks_to_nats_over_tls() {
    let store = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(store.path());
    let shipped = std::fs::read_to_string(deploy_path("nats/nats-server-secured.conf")).unwrap();
    let commented = shipped.split("# tls {").nth(1).expect("the secured configuration shows how to turn TLS on");
    assert!(commented.contains("cert_file") && commented.contains("key_file"));
    let config = format!(
        "jetstream {{ store_dir: {:?} }}\ntls {{\n  cert_file: {cert:?}\n  key_file: {key:?}\n}}\n",
        store.path().join("js").display().to_string()
    );
    let file = store.path().join("nats-server.conf");
    std::fs::write(&file, config).unwrap();
    let nats = NatsServer::start_with_config(&file);
    let url = nats.url.replace("nats://", "tls://");

    let _harvester = Process::start(
        "mneme-memory-harvester",
        &url,
        &[("MNEME__NATS__REQUIRE_TLS", "true"), ("MNEME__NATS__TLS_CA_FILE", ca.as_str())],
    );
    let client = async_nats::ConnectOptions::new()
        .require_tls(true)
        .add_root_certificates(ca.clone().into())
        .connect(&url)
        .await
        .expect("a TLS client connects");
    wait_for_instances(&client, ComponentKind::Agent(AgentType::MemoryHarvester), 1, Duration::from_secs(20)).await;

    // Without the authority's certificate the server is not trusted.
    let untrusting = async_nats::ConnectOptions::new().require_tls(true).connect(&url).await;
    assert!(untrusting.is_err(), "a client trusted a certificate no authority it knows signed");
}
